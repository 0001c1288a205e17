#!/usr/bin/env python3
"""Runs one command and prints "<wall seconds> <peak RSS KiB> <exit code>".

Usage: measure.py --cwd DIR --log FILE -- COMMAND [ARG...]

Start a fresh measure.py for every run: the peak RSS is getrusage(RUSAGE_CHILDREN).ru_maxrss,
the largest resident set of any process this wrapper waited for (directly or through its
children), so a fresh wrapper sees only the one command's process tree. The command's output
goes to the log file, not the terminal.
"""

import argparse
import resource
import subprocess
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cwd", required=True)
    parser.add_argument("--log", required=True)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    with open(args.log, "ab") as log:
        started = time.monotonic()
        status = subprocess.run(command, cwd=args.cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=log).returncode
        elapsed = time.monotonic() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"{elapsed:.4f} {peak_kib} {status}")


if __name__ == "__main__":
    main()
