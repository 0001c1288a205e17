#!/usr/bin/env python3
"""The listing case of benchmarks/run: specs for `datapin lock`, and astroquery doing the same.

Usage:
  listing.py spec PROJECT URL IDS --entries per-dataset|one
      writes PROJECT/datapin.yaml: archive `mast` at URL, the JWST datasets of IDS (one id per
      line) either as one `datasets:` entry each (one product request each) or as one entry
      with every id (asked in batches).
  listing.py astroquery URL IDS --mode loop|batch --out FILE
      points astroquery's MAST at URL (the [mast] server of astroquery.cfg in a fresh
      XDG_CONFIG_HOME, read when astroquery is imported) and lists the products of IDS with
      MastMissions(mission="jwst").get_product_list: one call per dataset (loop, as a
      hand-written script does) or one call with every id (batch); writes the number of
      product rows to FILE. Run it with a Python that has astroquery.
"""

import argparse
import os
import tempfile


def read_ids(path):
    with open(path) as handle:
        return [line.strip() for line in handle if line.strip()]


def write_spec(project, url, ids, entries):
    os.makedirs(project, exist_ok=True)
    lines = ["version: 1", "destination: data", "archives:", f'  mast: {{url: "{url}"}}', "datasets:"]
    if entries == "one":
        lines += ["  - archive: mast", "    mission: jwst", "    ids: [" + ", ".join(ids) + "]"]
    else:
        lines += [f"  - {{archive: mast, mission: jwst, ids: [{dataset}]}}" for dataset in ids]
    with open(os.path.join(project, "datapin.yaml"), "w") as handle:
        handle.write("\n".join(lines) + "\n")


def run_astroquery(url, ids, mode, out):
    config = tempfile.mkdtemp(prefix="astroquery-config-")
    os.makedirs(os.path.join(config, "astropy"))
    with open(os.path.join(config, "astropy", "astroquery.cfg"), "w") as handle:
        handle.write(f"[mast]\nserver = {url}\n")
    os.environ["XDG_CONFIG_HOME"] = config
    import warnings
    warnings.simplefilter("ignore")
    from astroquery import log
    from astroquery.mast import MastMissions
    log.setLevel("WARNING")
    missions = MastMissions(mission="jwst")
    if mode == "batch":
        rows = len(missions.get_product_list(ids))
    else:
        rows = sum(len(missions.get_product_list(dataset)) for dataset in ids)
    with open(out, "w") as handle:
        handle.write(f"{rows}\n")


def main():
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    spec = commands.add_parser("spec")
    spec.add_argument("project")
    spec.add_argument("url")
    spec.add_argument("ids")
    spec.add_argument("--entries", choices=["per-dataset", "one"], required=True)
    query = commands.add_parser("astroquery")
    query.add_argument("url")
    query.add_argument("ids")
    query.add_argument("--mode", choices=["loop", "batch"], required=True)
    query.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.command == "spec":
        write_spec(args.project, args.url, read_ids(args.ids), args.entries)
    else:
        run_astroquery(args.url, read_ids(args.ids), args.mode, args.out)


if __name__ == "__main__":
    main()
