#!/usr/bin/env python3
"""What pyvo answers, as JSON, when pointed at the loopback TAP service.

Run by Tests/EndToEndTests/VOClientsTests.swift against Tests/TestSupport/FakeTAP.swift (with
FakeObsCore's ObsCore answers), through scripts/check-fake-vo. Usage:
  vo_check.py --tap http://127.0.0.1:<port>/tap --query <ADQL> --destination <dir>
Prints one JSON object:

  version    pyvo's version
  sync       TAPService.run_sync(query): rows {obs_publisher_did, obs_id, access_url,
             access_format, access_estsize, calib_level}, and access_estsize's unit
  async      TAPService.run_async(query): the obs_publisher_dids in order
  this       for each DataLink row (Record.getdatalink(), a GET of its access_url): the #this
             row's access_url and content_length, by obs_publisher_did
  batched    DALResults.iter_datalinks() over the rows: the #this access_url per ID
  cached     Record.cachedataset() of every row that is not DataLink, into destination: the
             bytes each file has, by obs_publisher_did
"""

import argparse
import json
import os
import warnings

import pyvo


def cell(value):
    """A table cell as plain JSON: masked and empty cells are None, numpy scalars their Python value."""
    if value is None or getattr(value, "mask", False) is True:
        return None
    value = value.item() if hasattr(value, "item") else value
    return value.decode() if isinstance(value, bytes) else value


def is_datalink(row):
    return "content=datalink" in (cell(row["access_format"]) or "")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--tap", required=True)
    parser.add_argument("--query", required=True)
    parser.add_argument("--destination", required=True)
    arguments = parser.parse_args()
    warnings.simplefilter("ignore")
    service = pyvo.dal.TAPService(arguments.tap)

    result = service.run_sync(arguments.query)
    columns = ["obs_publisher_did", "obs_id", "access_url", "access_format", "access_estsize", "calib_level"]
    sync = [{name: cell(row[name]) for name in columns} for row in result]
    unit = str(result.getdesc("access_estsize").unit)

    async_result = service.run_async(arguments.query)
    async_ids = [cell(row["obs_publisher_did"]) for row in async_result]

    this = {}
    for row in result:
        if not is_datalink(row):
            continue
        links = row.getdatalink()
        first = next(iter(links.bysemantics("#this", include_narrower=False)))
        this[cell(row["obs_publisher_did"])] = {"access_url": cell(first["access_url"]), "content_length": cell(first["content_length"])}

    batched = {}
    for links in result.iter_datalinks():
        for link in links.bysemantics("#this", include_narrower=False):
            batched[cell(link["ID"])] = cell(link["access_url"])

    cached = {}
    os.makedirs(arguments.destination, exist_ok=True)
    for row in result:
        if is_datalink(row):
            continue
        path = row.make_dataset_filename(dir=arguments.destination)
        row.cachedataset(filename=path)
        cached[cell(row["obs_publisher_did"])] = os.path.getsize(path)

    print(json.dumps({"version": pyvo.__version__, "sync": sync, "estsize_unit": unit, "async": async_ids,
                      "this": this, "batched": batched, "cached": cached}, sort_keys=True))


if __name__ == "__main__":
    main()
