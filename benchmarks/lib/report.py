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

# Table order. A case here is a group of rows with one baseline; benchmarks/run's --case names
# select them (verify gives verify-noop and verify-large).
CASES = ["small", "durability", "shard", "large", "huge", "noop", "verify-noop", "verify-large", "lock",
         "listing", "eso", "sftp"]
CURL_PARALLEL = "curl --parallel"
SHA256SUM = "find | xargs sha256sum"
BASELINE = {"small": CURL_PARALLEL, "durability": CURL_PARALLEL, "shard": CURL_PARALLEL,
            "large": CURL_PARALLEL, "huge": CURL_PARALLEL, "noop": "find | wc -l",
            "verify-noop": SHA256SUM, "verify-large": SHA256SUM, "lock": None,
            "listing": "astroquery, one dataset at a time",
            "eso": "astroquery.eso query_tap + retrieve_data(with_calib='raw')", "sftp": "sftp -b"}
DATAPIN_SYNC = "datapin sync"
NOOP_SYNC = "datapin sync (no-op)"
STATUS = "datapin status --check"
VERIFY = "datapin verify"
LOCK = "datapin lock (no lock)"
RELOCK = "datapin lock (unchanged re-lock)"
LOCK_CHECK = "datapin lock --check"
SHARDS = "datapin sync --shard K/4 --jobs 4, 4 at once"
LISTING = "datapin lock, one entry per dataset"
SYNC_RSS_LIMIT_MB = 64.0


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


def peak_mb(rows, case, tool):
    row = rows.get((case, tool))
    if row is None or not row.rss_kib:
        return None
    return max(row.rss_kib) * 1024 / 1e6


def cell(text):
    return text.replace("|", "\\|")


def table(rows, descriptions):
    lines = ["| case | tool | median s | ratio | peak RSS MB | requests |", "|---|---|---:|---:|---:|---:|"]
    for case in CASES:
        label = f"{case} ({descriptions[case]})" if case in descriptions else case
        baseline = median(rows, case, BASELINE[case]) if BASELINE[case] else None
        for (row_case, name), row in rows.items():
            if row_case != case:
                continue
            tool = cell(name)
            if row.not_available:
                lines.append(f"| {label} | {tool} | {cell(row.not_available)} | | | |")
                continue
            seconds = statistics.median(row.seconds)
            share = seconds / baseline if baseline else None
            digits = 3 if share is not None and share < 0.1 else 2
            ratio = f"{share:.{digits}f}× {cell(BASELINE[case])}" if share is not None else "-"
            peak = max(row.rss_kib) * 1024 / 1e6
            requests = str(int(statistics.median(row.requests))) if row.requests else "-"
            lines.append(f"| {label} | {tool} | {seconds:.3f} | {ratio} | {peak:.1f} | {requests} |")
            for warning in row.warnings:
                lines.append(f"| {label} | ⚠ {tool} | WARNING {cell(warning)} | | | |")
    return lines


def verdict(met, observed, judged_row):
    if met is None:
        return "n/a"
    if judged_row is not None and judged_row.warnings:
        return f"{observed} — unverified (its runs had warnings: see the table)"
    return f"{observed} — {'met' if met else 'missed'}"


def targets(rows, listing_delay_ms, listing_jobs):
    """The target lines, grouped by case in table order."""
    lines = []

    def present(case, tool):
        return (case, tool) in rows

    def ratio(case, numerator, denominator):
        top, bottom = median(rows, case, numerator), median(rows, case, denominator)
        return top / bottom if top is not None and bottom else None

    def line(case, tool, text, value, met_when, shown):
        """One target of the row (case, tool); nothing when the run had no such row."""
        if not present(case, tool):
            return
        met = None if value is None else met_when(value)
        observed = None if value is None else shown(value)
        lines.append((case, f"- {case}: {text}: {verdict(met, observed, rows.get((case, tool)))}"))

    def at_most_ratio(case, tool, limit, baseline):
        line(case, tool, f"{tool} ≤ {limit}× {baseline}", ratio(case, tool, baseline),
             lambda value: value <= limit, lambda value: f"{value:.2f}×")

    def at_most_seconds(case, tool, limit):
        line(case, tool, f"{tool} ≤ {limit:g} s", median(rows, case, tool),
             lambda value: value <= limit, lambda value: f"{value:.3f} s")

    def at_most_mb(case, tool, limit):
        line(case, tool, f"{tool} peak RSS ≤ {limit:.0f} MB", peak_mb(rows, case, tool),
             lambda value: value <= limit, lambda value: f"{value:.1f} MB")

    for case, limit in (("small", 1.05), ("large", 1.1), ("huge", 1.1)):
        at_most_ratio(case, DATAPIN_SYNC, limit, CURL_PARALLEL)
    for case, factor in (("small", 2), ("large", 3)):
        line(case, DATAPIN_SYNC, f"datapin sync ≥ {factor}× faster than aria2c", ratio(case, "aria2c -j16", DATAPIN_SYNC),
             lambda value, factor=factor: value >= factor, lambda value: f"{value:.2f}× faster")
    line("small", DATAPIN_SYNC, "datapin sync ≥ 10× faster than the curl script", ratio("small", "curl script", DATAPIN_SYNC),
         lambda value: value >= 10, lambda value: f"{value:.2f}× faster")
    if present("shard", SHARDS):
        row = rows[("shard", SHARDS)]
        text = "- shard: 4 shards at once place every file once, all exit 0, then status --check exits 0: "
        if row.not_available or not row.seconds:
            lines.append(("shard", text + "n/a"))
        else:
            runs, failed = len(row.seconds), len(row.warnings)
            lines.append(("shard", text + (f"right in {runs} of {runs} runs — met" if not failed
                                           else f"wrong in {failed} of {runs} runs (see the table) — missed")))
    for case in ("noop",):
        at_most_seconds(case, NOOP_SYNC, 0.3)
        at_most_seconds(case, STATUS, 0.3)
        at_most_mb(case, STATUS, 64)
    for case in ("verify-noop", "verify-large"):
        at_most_ratio(case, VERIFY, 1.2, SHA256SUM)
    for tool in (LOCK, RELOCK):
        at_most_seconds("lock", tool, 1.5)
        at_most_mb("lock", tool, 150)
    at_most_seconds("lock", LOCK_CHECK, 0.05)
    at_most_mb("lock", LOCK_CHECK, 16)
    listing = rows.get(("listing", LISTING))
    if listing is not None and listing.requests:
        requests = statistics.median(listing.requests)
        limit = 1.5 * requests / listing_jobs * listing_delay_ms / 1000
        line("listing", LISTING, f"datapin lock ≤ 1.5 × ({int(requests)} requests ÷ {listing_jobs}) × {listing_delay_ms} ms = {limit:.1f} s",
             median(rows, "listing", LISTING), lambda value: value <= limit, lambda value: f"{value:.2f} s")
    elif listing is not None:
        lines.append(("listing", f"- listing: datapin lock ≤ 1.5 × (requests ÷ {listing_jobs}) × {listing_delay_ms} ms: n/a"))
    # Every datapin sync row of every case (the no-op, each durability and the shards too).
    for case in CASES:
        for row_case, tool in list(rows):
            if row_case == case and tool.startswith(DATAPIN_SYNC):
                at_most_mb(case, tool, SYNC_RSS_LIMIT_MB)
    return [text for _, text in sorted(lines, key=lambda item: CASES.index(item[0]))]


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
