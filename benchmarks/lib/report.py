#!/usr/bin/env python3
"""Turns benchmarks/run's results.tsv into the Markdown table and the targets lines.

Usage: report.py RESULTS.tsv [--describe CASE=TEXT ...] [--listing-delay-ms MS] [--listing-jobs N]

results.tsv has one line per timed run: case, tool, run, seconds, peak RSS KiB, status, and for
the listing and eso cases the number of requests the loopback MAST or ESO answered.
status is "ok", "n/a <reason>" (the tool could not run; seconds and RSS are "-") or any other
text, which is a warning about that run (wrong file count or bytes, non-zero exit).
"""

import argparse
import statistics

CASES = ["small", "large", "noop", "listing", "eso", "sftp"]
BASELINE = {"small": "curl --parallel", "large": "curl --parallel", "noop": "find | wc -l",
            "listing": "astroquery, one dataset at a time", "eso": "astroquery.eso query_tap + retrieve_data(with_calib='raw')",
            "sftp": "sftp -b"}
DATAPIN = {"small": "datapin sync", "large": "datapin sync", "noop": "datapin sync (no-op)",
           "listing": "datapin lock, one entry per dataset", "eso": "datapin sync", "sftp": "datapin sync"}
RSS_LIMIT_MB = 100.0


class Row:
    def __init__(self):
        self.seconds = []
        self.rss_kib = []
        self.not_available = None
        self.warnings = []
        self.requests = []


def load(path):
    rows = {}
    with open(path) as handle:
        for line in handle:
            fields = line.rstrip("\n").split("\t")
            case, tool, run, seconds, rss, status = fields[:6]
            row = rows.setdefault((case, tool), Row())
            if len(fields) > 6 and fields[6].isdigit():
                row.requests.append(int(fields[6]))
            if status.startswith("n/a"):
                row.not_available = status
                continue
            row.seconds.append(float(seconds))
            row.rss_kib.append(int(rss))
            if status != "ok":
                row.warnings.append(f"run {run}: {status}")
    return rows


def median(rows, case, tool):
    row = rows.get((case, tool))
    if row is None or not row.seconds:
        return None
    return statistics.median(row.seconds)


def cell(text):
    return text.replace("|", "\\|")


def table(rows, descriptions):
    lines = ["| case | tool | median s | ratio | peak RSS MB | requests |", "|---|---|---:|---:|---:|---:|"]
    for case in CASES:
        label = f"{case} ({descriptions[case]})" if case in descriptions else case
        baseline = median(rows, case, BASELINE[case])
        for (row_case, name), row in rows.items():
            if row_case != case:
                continue
            tool = cell(name)
            if row.not_available:
                lines.append(f"| {label} | {tool} | {row.not_available} | | | |")
                continue
            seconds = statistics.median(row.seconds)
            share = seconds / baseline if baseline else None
            digits = 3 if share is not None and share < 0.1 else 2
            ratio = f"{share:.{digits}f}× {cell(BASELINE[case])}" if share is not None else "-"
            peak_mb = max(row.rss_kib) * 1024 / 1e6
            requests = str(int(statistics.median(row.requests))) if row.requests else "-"
            lines.append(f"| {label} | {tool} | {seconds:.3f} | {ratio} | {peak_mb:.1f} | {requests} |")
            for warning in row.warnings:
                lines.append(f"| {label} | ⚠ {tool} | WARNING {cell(warning)} | | | |")
    return lines


def verdict(met, observed, datapin_row):
    if met is None:
        return "n/a"
    if datapin_row is not None and datapin_row.warnings:
        return f"{observed} — unverified (datapin's runs had warnings: see the table)"
    return f"{observed} — {'met' if met else 'missed'}"


def targets(rows, listing_delay_ms, listing_jobs):
    lines = []

    def ratio(case, numerator, denominator):
        top, bottom = median(rows, case, numerator), median(rows, case, denominator)
        return top / bottom if top is not None and bottom else None

    def line(case, text, value, met_when, shown):
        if not any(row_case == case for row_case, _ in rows):
            return
        met = None if value is None else met_when(value)
        observed = None if value is None else shown(value)
        lines.append(f"- {case}: {text}: {verdict(met, observed, rows.get((case, DATAPIN[case])))}")

    for case, limit in (("small", 1.2), ("large", 1.3)):
        line(case, f"datapin ≤ {limit}× curl --parallel", ratio(case, DATAPIN[case], "curl --parallel"),
             lambda value, limit=limit: value <= limit, lambda value: f"{value:.2f}×")
    for case, factor in (("small", 2), ("large", 3)):
        line(case, f"datapin ≥ {factor}× faster than aria2c", ratio(case, "aria2c -j16", DATAPIN[case]),
             lambda value, factor=factor: value >= factor, lambda value: f"{value:.2f}× faster")
    line("small", "datapin ≥ 10× faster than the curl script", ratio("small", "curl script", DATAPIN["small"]),
         lambda value: value >= 10, lambda value: f"{value:.2f}× faster")
    line("noop", "datapin no-op ≤ 1 s", median(rows, "noop", DATAPIN["noop"]),
         lambda value: value <= 1.0, lambda value: f"{value:.3f} s")
    listing = rows.get(("listing", DATAPIN["listing"]))
    if listing is not None and listing.requests:
        requests = statistics.median(listing.requests)
        limit = 1.5 * requests / listing_jobs * listing_delay_ms / 1000
        line("listing", f"datapin lock ≤ 1.5 × ({int(requests)} requests ÷ {listing_jobs}) × {listing_delay_ms} ms = {limit:.1f} s",
             median(rows, "listing", DATAPIN["listing"]), lambda value: value <= limit, lambda value: f"{value:.2f} s")
    elif listing is not None:
        lines.append(f"- listing: datapin lock ≤ 1.5 × (requests ÷ {listing_jobs}) × {listing_delay_ms} ms: n/a")
    peaks = [max(row.rss_kib) for (case, tool), row in rows.items() if tool == DATAPIN[case] and row.rss_kib]
    peak = max(peaks) * 1024 / 1e6 if peaks else None
    met = None if peak is None else peak <= RSS_LIMIT_MB
    lines.append(f"- all: datapin peak RSS ≤ {RSS_LIMIT_MB:.0f} MB: "
                 f"{verdict(met, None if peak is None else f'{peak:.1f} MB', None)}")
    return lines


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("results")
    parser.add_argument("--describe", action="append", default=[], metavar="CASE=TEXT")
    parser.add_argument("--listing-delay-ms", type=int, default=200)
    parser.add_argument("--listing-jobs", type=int, default=6)
    args = parser.parse_args()
    descriptions = dict(item.split("=", 1) for item in args.describe)
    rows = load(args.results)
    print("\n".join(table(rows, descriptions)))
    print()
    print("Targets:")
    print("\n".join(targets(rows, args.listing_delay_ms, args.listing_jobs)))


if __name__ == "__main__":
    main()
