#!/usr/bin/env python3
"""What pyvo and astroquery.eso answer, as JSON, when pointed at the loopback ESO.

Run by Tests/EndToEndTests/ESOClientsTests.swift against Tests/TestSupport/FakeESO.swift,
through scripts/check-fake-eso. Usage:
  eso_check.py --base http://127.0.0.1:<port> --frame <dp_id> --twin <dp_id>
               --product <ADP dp_id> --proprietary <dp_id> --username <name> --destination <dir>
The password comes from $ESO_CHECK_PASSWORD and is never printed.

astroquery.eso reads its TAP address when it is imported, from the [eso] section of
$XDG_CONFIG_HOME/astropy/astroquery.cfg (`tap_obs_url = <base>/tap_obs`); the caller writes that
file. Its calSelector, data portal and token URLs are class attributes that no configuration
sets (EsoClass.CALSELECTOR_URL, DOWNLOAD_URL, AUTH_URL): this script sets them on the instance.
Its login() asks the keyring or a terminal for the password; this script calls the method
login() ends in, _authenticate(username=, password=), instead. Prints one JSON object:

  versions          {pyvo, astroquery}
  sync              pyvo TAPService.search of dbo.raw for the two frames: rows {dp_id,
                    access_url, datalink_url, access_estsize}, and access_estsize's unit
  async             pyvo run_async of the same query ORDER BY dp_id DESC: the dp_ids in order
  overflow          pyvo search of all dbo.raw rows, more than the service's default MAXREC
                    (service_limit) and with maxrec=1 (asked_limit): rows, warnings raised
  error             pyvo search of a query the service does not know: the exception's class
  datalink          pyvo DatalinkResults.from_result_url(datalink_url) of the frame: rows
                    {semantics, access_url, content_length, eso_origfile, last_mod_date}
  obscore_links     pyvo iter_datalinks() over ivoa.ObsCore rows (batched POST): per
                    obs_publisher_did, the #this eso_origfile and content_length
  calselector       pyvo DatalinkResults of the frame's Raw2Raw calSelector row: the #this
                    description, and the number of rows per semantics
  eso_tap           astroquery Eso().query_tap(...) of the frame: dp_ids
  eso_bad_password  astroquery _authenticate with a wrong password: its result
  eso_login         astroquery _authenticate with the password: its result
  eso_associated    astroquery get_associated_files([frame, twin]): how many
  eso_files         astroquery retrieve_data(frame, with_calib='raw'): the file names it returns
  eso_anonymous     astroquery retrieve_data(proprietary) before login: the file names
  eso_proprietary   astroquery retrieve_data(proprietary) after login: the file names

With --benchmark, it only times astroquery.eso doing what a user of it does for every dbo.raw
frame: query_tap of the dp_ids, then retrieve_data(dp_ids, with_calib='raw', unzip=False), and
prints {frames, files, seconds_query, seconds_retrieve}.
"""

import argparse
import json
import os
import time
import warnings

import astroquery
import pyvo
from astroquery import log
from astroquery.eso import Eso
from pyvo.dal.adhoc import DatalinkResults


def cell(value):
    """A table cell as plain JSON: masked and empty cells are None, numpy scalars their Python value."""
    if value is None or getattr(value, "mask", False) is True:
        return None
    value = value.item() if hasattr(value, "item") else value
    value = value.decode() if isinstance(value, bytes) else value
    return None if value == "" else value


def first(results, semantics):
    """The first row with `semantics` (pyvo's bysemantics would fetch IVOA's vocabulary from the network)."""
    return next(row for row in results if cell(row["semantics"]) == semantics)


def names(files):
    return sorted(os.path.basename(name) for name in files)


def benchmark(args):
    eso = Eso()
    eso.ROW_LIMIT = None
    eso.CALSELECTOR_URL = args.base + "/calselector/v1/associations"
    eso.DOWNLOAD_URL = args.base + "/dataPortal/file/"
    start = time.monotonic()
    frames = [cell(row["dp_id"]) for row in eso.query_tap("SELECT dp_id FROM dbo.raw")]
    queried = time.monotonic()
    files = eso.retrieve_data(frames, with_calib="raw", unzip=False, destination=args.destination)
    done = time.monotonic()
    print(json.dumps({"frames": len(frames), "files": len(files), "seconds_query": round(queried - start, 2),
                      "seconds_retrieve": round(done - queried, 2)}, sort_keys=True))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--benchmark", action="store_true")
    parser.add_argument("--base", required=True)
    parser.add_argument("--destination", required=True)
    for name in ("frame", "twin", "product", "proprietary", "username"):
        parser.add_argument("--" + name)
    args = parser.parse_args()
    log.setLevel("ERROR")
    if args.benchmark:
        benchmark(args)
        return
    password = os.environ["ESO_CHECK_PASSWORD"]
    tap = pyvo.dal.TAPService(args.base + "/tap_obs")
    frames = f"SELECT * FROM dbo.raw WHERE dp_id IN ('{args.frame}', '{args.twin}')"
    answer = {"versions": {"pyvo": pyvo.__version__, "astroquery": astroquery.__version__}}

    sync = tap.search(frames, maxrec=100)
    answer["sync"] = {
        "rows": [{key: cell(row[key]) for key in ("dp_id", "access_url", "datalink_url", "access_estsize")} for row in sync],
        "estsize_unit": str(sync.getdesc("access_estsize").unit),
    }
    answer["async"] = [cell(row["dp_id"]) for row in tap.run_async(frames + " ORDER BY dp_id DESC", maxrec=100)]
    overflow = {}
    for label, maxrec in (("service_limit", None), ("asked_limit", 1)):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            rows = tap.search("SELECT dp_id FROM dbo.raw", maxrec=maxrec)
        overflow[label] = {"rows": len(rows), "warnings": sorted({type(w.message).__name__ for w in caught})}
    answer["overflow"] = overflow
    try:
        tap.search("SELECT everything FROM somewhere")
        answer["error"] = None
    except Exception as error:  # the class is what the check compares
        answer["error"] = type(error).__name__

    links = DatalinkResults.from_result_url(cell(sync[0]["datalink_url"]))
    answer["datalink"] = [{key: cell(row[key]) for key in ("semantics", "access_url", "content_length", "eso_origfile", "last_mod_date")} for row in links]

    products = tap.search("SELECT * FROM ivoa.ObsCore")
    obscore_links = {}
    for result in products.iter_datalinks():
        this = first(result, "#this")
        obscore_links[cell(this["ID"])] = {"eso_origfile": cell(this["eso_origfile"]), "content_length": cell(this["content_length"])}
    answer["obscore_links"] = obscore_links

    raw2raw = first(links, "http://archive.eso.org/rdf/datalink/eso#calSelector_raw2raw")
    calselector = DatalinkResults.from_result_url(cell(raw2raw["access_url"]))
    counts = {}
    for row in calselector:
        counts[cell(row["semantics"])] = counts.get(cell(row["semantics"]), 0) + 1
    answer["calselector"] = {"this": cell(first(calselector, "#this")["description"]), "semantics": counts}

    eso = Eso()
    eso.CALSELECTOR_URL = args.base + "/calselector/v1/associations"
    eso.DOWNLOAD_URL = args.base + "/dataPortal/file/"
    eso.AUTH_URL = args.base + "/sso/oidc/token"
    answer["eso_tap"] = [cell(row["dp_id"]) for row in eso.query_tap(f"SELECT * FROM dbo.raw WHERE dp_id = '{args.frame}'")]
    answer["eso_associated"] = len(eso.get_associated_files([args.frame, args.twin]))
    answer["eso_files"] = names(eso.retrieve_data(args.frame, with_calib="raw", destination=os.path.join(args.destination, "raw")))
    answer["eso_anonymous"] = names(eso.retrieve_data([args.proprietary], destination=os.path.join(args.destination, "anonymous")))
    answer["eso_bad_password"] = eso._authenticate(username=args.username, password=password + "-wrong")
    answer["eso_login"] = eso._authenticate(username=args.username, password=password)
    answer["eso_proprietary"] = names(eso.retrieve_data([args.proprietary], destination=os.path.join(args.destination, "proprietary")))
    print(json.dumps(answer, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
