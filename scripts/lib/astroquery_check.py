#!/usr/bin/env python3
"""What astroquery's MAST classes answer, as JSON, for comparing with datapin's selection.

Run by Tests/EndToEndTests/MASTAstroqueryTests.swift against the loopback MAST
(Tests/TestSupport/FakeMAST.swift), through scripts/check-fake-mast. Usage:
  astroquery_check.py --mission jwst --program 02734 --obsid 87602100

astroquery reads MAST's address when it is imported, from the [mast] section of
$XDG_CONFIG_HOME/astropy/astroquery.cfg (`server = http://127.0.0.1:<port>`); the caller
writes that file. Prints one JSON object:

  astroquery    astroquery's version
  datasets      MastMissions.query_criteria(program=...): the dataset ids, sorted
  products      MastMissions.get_product_list(datasets): every row, as
                {dataset, filename, category, type, file_suffix}
  levels        {category: file names} from MastMissions.filter_products(category=...)
  types         {type: file names} from MastMissions.filter_products(type=...)
  portal        Observations.get_product_list(obsid): every row, as
                {obs_id, filename, calib_level, productType, recommended}
  recommended   file names of Observations.filter_products(mrp_only=True)
  download      MastMissions.get_unique_product_list(datasets): {filename: dataset}, the
                folder astroquery's download_products nests each file in
"""

import argparse
import json
import warnings

import astroquery
from astroquery import log
from astroquery.mast import MastMissions, Observations


def text(value):
    """A table cell as plain JSON: masked cells are None, numpy scalars their Python value."""
    if value is None or getattr(value, "mask", False) is True:
        return None
    return value.item() if hasattr(value, "item") else value


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mission", required=True)
    parser.add_argument("--program", required=True)
    parser.add_argument("--obsid", required=True)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    log.setLevel("WARNING")

    missions = MastMissions(mission=args.mission)
    found = missions.query_criteria(program=args.program)
    datasets = sorted(str(value) for value in found[missions.get_dataset_kwd()])

    products = missions.get_product_list(datasets)
    rows = [{key: text(row[key]) for key in ("dataset", "filename", "category", "type", "file_suffix")} for row in products]
    levels = {}
    for category in sorted({row["category"] for row in rows if row["category"]}):
        levels[category] = sorted({str(name) for name in missions.filter_products(products, category=category)["filename"]})
    types = {}
    for kind in sorted({row["type"] for row in rows if row["type"]}):
        types[kind] = sorted({str(name) for name in missions.filter_products(products, type=kind)["filename"]})
    unique = missions.get_unique_product_list(datasets)
    download = {str(row["filename"]): str(row["dataset"]) for row in unique}

    portal = Observations.get_product_list(args.obsid)
    portal_rows = [{
        "obs_id": text(row["obs_id"]),
        "filename": text(row["productFilename"]),
        "calib_level": text(row["calib_level"]),
        "productType": text(row["productType"]),
        "recommended": text(row["productGroupDescription"]) == "Minimum Recommended Products",
    } for row in portal]
    recommended = sorted({str(name) for name in Observations.filter_products(portal, mrp_only=True)["productFilename"]})

    print(json.dumps({
        "astroquery": astroquery.__version__,
        "datasets": datasets,
        "products": rows,
        "levels": levels,
        "types": types,
        "portal": portal_rows,
        "recommended": recommended,
        "download": download,
    }, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
