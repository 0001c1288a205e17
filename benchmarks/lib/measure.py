#!/usr/bin/env python3
"""Runs one command and prints "<wall seconds> <peak RSS KiB> <exit code>".

Usage: measure.py --cwd DIR --log FILE [--gnu-time PATH] -- COMMAND [ARG...]

Start a fresh measure.py for every run: the peak RSS is getrusage(RUSAGE_CHILDREN).ru_maxrss,
the largest resident set of any process this wrapper waited for (directly or through its
children), so a fresh wrapper sees only the one command's process tree. Linux keeps a
process's peak across exec, so a command started from Python inherits Python's own resident
set (about 10-14 MB) as a floor. With --gnu-time (GNU time's binary), the command runs under
`time -f %M`, a small C process whose floor is about 1 MB, and that figure is reported instead.
The command's output goes to the log file, not the terminal.
"""

import argparse
import os
import resource
import subprocess
import tempfile
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cwd", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("--gnu-time")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    peak_file = None
    if args.gnu_time:
        handle, peak_file = tempfile.mkstemp(prefix="measure-", suffix=".rss")
        os.close(handle)
        command = [args.gnu_time, "-f", "%M", "-o", peak_file, "--"] + command
    with open(args.log, "ab") as log:
        started = time.monotonic()
        status = subprocess.run(command, cwd=args.cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=log).returncode
        elapsed = time.monotonic() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if peak_file:
        with open(peak_file) as handle:
            lines = handle.read().split()
        os.unlink(peak_file)
        peak_kib = int(lines[-1]) if lines and lines[-1].isdigit() else peak_kib
    print(f"{elapsed:.4f} {peak_kib} {status}")


if __name__ == "__main__":
    main()
