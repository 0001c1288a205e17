#!/usr/bin/env python3
"""Benchmark corpus for benchmarks/run: random files, catalogs, specs and download scripts.

Subcommands:
  generate ROOT NAME --files N --datasets D --size BYTES [--sparse]
      Writes N random files of BYTES each, spread evenly over D datasets, under ROOT/NAME/files/,
      then ROOT/NAME/manifest.tsv (dataset, file, size, sha256). The manifest is written last,
      so a corpus with a manifest whose files all have the listed size is complete and reused.
      With --sparse the files are holes (`truncate -s`: all zeros, no disk used) and their
      SHA-256 is that of BYTES zeros, computed once and kept in the manifest.
  prepare ROOT NAME PORT RUNDIR
      Per run (the port changes): writes ROOT/NAME/catalog.json (served by nginx) and, in RUNDIR,
      project/datapin.yaml, curl-script.sh, curl-parallel.cfg, aria2c.txt and expected.txt.
  check DIR COUNT BYTES
      Compares the regular files under DIR (datapin's own bookkeeping left out) with the
      expected count and total bytes; prints "ok" or what differs, exits 0 or 1.
  check-sums SUMS CORPUS
      Compares sha256sum's output SUMS ("digest  path" lines) with CORPUS/manifest.tsv: every
      listed digest once, nothing else (paths are not compared: datapin lays files out its own
      way); prints "ok" or what differs, exits 0 or 1.
  check-fetches ACCESS-LOG CORPUS
      Reads nginx's access log ("METHOD URI STATUS" lines) and checks that every file of CORPUS
      was fetched exactly once with a 2xx answer; prints "ok" or what differs, exits 0 or 1.
"""

import argparse
import collections
import hashlib
import json
import os
import shlex
import sys

MANIFEST = "manifest.tsv"
CHUNK = 1 << 20
# What datapin writes into its destination besides the locked files.
DATAPIN_BOOKKEEPING_FILES = {"MANIFEST.html", "manifest.json"}
DATAPIN_BOOKKEEPING_DIRS = {".datapin", ".datapin-partial"}


def read_manifest(corpus):
    with open(os.path.join(corpus, MANIFEST)) as handle:
        for line in handle:
            dataset, name, size, sha256 = line.rstrip("\n").split("\t")
            yield dataset, name, int(size), sha256


def corpus_is_complete(corpus, files):
    try:
        entries = list(read_manifest(corpus))
    except (FileNotFoundError, ValueError):
        return False
    if len(entries) != files:
        return False
    for dataset, name, size, _ in entries:
        try:
            if os.stat(os.path.join(corpus, "files", dataset, name)).st_size != size:
                return False
        except FileNotFoundError:
            return False
    return True


def write_random_file(path, size):
    digest = hashlib.sha256()
    with open(path, "wb") as handle:
        remaining = size
        while remaining > 0:
            block = os.urandom(min(CHUNK, remaining))
            digest.update(block)
            handle.write(block)
            remaining -= len(block)
    return digest.hexdigest()


def write_sparse_file(path, size, zeros_digest):
    with open(path, "wb") as handle:
        handle.truncate(size)
    if zeros_digest is None:
        digest = hashlib.sha256()
        block = bytes(16 * CHUNK)
        remaining = size
        while remaining > 0:
            digest.update(block if remaining >= len(block) else block[:remaining])
            remaining -= len(block)
        zeros_digest = digest.hexdigest()
    return zeros_digest


def generate(args):
    corpus = os.path.join(args.root, args.name)
    if corpus_is_complete(corpus, args.files):
        print(f"corpus {args.name}: reusing {args.files} files")
        return
    kind = "sparse (all-zero)" if args.sparse else "random"
    print(f"corpus {args.name}: generating {args.files} {kind} files of {args.size} bytes in {args.datasets} datasets")
    zeros_digest = None
    per_dataset = -(-args.files // args.datasets)
    lines = []
    for index in range(args.files):
        dataset = f"ds{index // per_dataset:04d}"
        name = f"f{index:06d}.bin"
        directory = os.path.join(corpus, "files", dataset)
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, name)
        if args.sparse:
            sha256 = zeros_digest = write_sparse_file(path, args.size, zeros_digest)
        else:
            sha256 = write_random_file(path, args.size)
        lines.append(f"{dataset}\t{name}\t{args.size}\t{sha256}\n")
    temporary = os.path.join(corpus, MANIFEST + ".tmp")
    with open(temporary, "w") as handle:
        handle.writelines(lines)
    os.replace(temporary, os.path.join(corpus, MANIFEST))


def prepare(args):
    corpus = os.path.join(args.root, args.name)
    entries = list(read_manifest(corpus))
    base = f"http://127.0.0.1:{args.port}/{args.name}"

    datasets = {}
    for dataset, name, size, sha256 in entries:
        datasets.setdefault(dataset, []).append(
            {"name": name, "url": f"files/{dataset}/{name}", "size": size, "sha256": sha256})
    catalog = {"datasets": [{"id": dataset, "files": files} for dataset, files in datasets.items()]}
    temporary = os.path.join(corpus, "catalog.json.tmp")
    with open(temporary, "w") as handle:
        json.dump(catalog, handle, separators=(",", ":"))
    os.replace(temporary, os.path.join(corpus, "catalog.json"))

    project = os.path.join(args.rundir, "project")
    os.makedirs(project, exist_ok=True)
    with open(os.path.join(project, "datapin.yaml"), "w") as handle:
        handle.write("version: 1\n"
                     "destination: data\n"
                     "archives:\n"
                     "  bench:\n"
                     "    type: index\n"
                     f"    url: {base}/catalog.json\n"
                     "datasets:\n"
                     "  - archive: bench\n")

    # Every path below is relative to the destination, which is the tools' working directory.
    with open(os.path.join(args.rundir, "curl-script.sh"), "w") as script, \
            open(os.path.join(args.rundir, "curl-parallel.cfg"), "w") as config, \
            open(os.path.join(args.rundir, "aria2c.txt"), "w") as aria:
        script.write("#!/bin/sh\n# One sequential curl per file, as MAST's download scripts do.\n")
        for dataset, name, _, sha256 in entries:
            url = f"{base}/files/{dataset}/{name}"
            path = f"{dataset}/{name}"
            script.write(f"curl --globoff -f -sS --create-dirs -o {shlex.quote(path)} {shlex.quote(url)}\n")
            config.write(f'url = "{url}"\noutput = "{path}"\n')
            aria.write(f"{url}\n  dir={dataset}\n  out={name}\n  checksum=sha-256={sha256}\n")

    with open(os.path.join(args.rundir, "expected.txt"), "w") as handle:
        handle.write(f"{len(entries)} {sum(size for _, _, size, _ in entries)}\n")


def check(args):
    count = 0
    total = 0
    for directory, subdirectories, files in os.walk(args.dir):
        subdirectories[:] = [d for d in subdirectories if d not in DATAPIN_BOOKKEEPING_DIRS]
        top = os.path.samefile(directory, args.dir)
        for name in files:
            if top and name in DATAPIN_BOOKKEEPING_FILES:
                continue
            path = os.path.join(directory, name)
            if os.path.isfile(path) and not os.path.islink(path):
                count += 1
                total += os.path.getsize(path)
    if count == args.count and total == args.bytes:
        print("ok")
        return 0
    print(f"{count} files, {total} bytes in the destination; expected {args.count} files, {args.bytes} bytes")
    return 1


def check_sums(args):
    expected = collections.Counter(sha256 for _, _, _, sha256 in read_manifest(args.corpus))
    with open(args.sums) as handle:
        found = collections.Counter(line.split()[0] for line in handle if line.strip())
    missing = sum((expected - found).values())
    extra = sum((found - expected).values())
    if not missing and not extra:
        print("ok")
        return 0
    print(f"sha256sum: {sum(found.values())} digests, {missing} of the manifest's {sum(expected.values())} missing, {extra} not in it")
    return 1


def check_fetches(args):
    name = os.path.basename(os.path.normpath(args.corpus))
    prefix = f"/{name}/files/"
    fetched = collections.Counter()
    with open(args.log) as handle:
        for line in handle:
            fields = line.split()
            if len(fields) == 3 and fields[0] == "GET" and fields[1].startswith(prefix) and fields[2].startswith("2"):
                fetched[fields[1][len(prefix):]] += 1
    expected = [f"{dataset}/{file}" for dataset, file, _, _ in read_manifest(args.corpus)]
    never = sum(1 for path in expected if fetched[path] == 0)
    twice = sum(1 for path in expected if fetched[path] > 1)
    unknown = len(set(fetched) - set(expected))
    if not never and not twice and not unknown:
        print("ok")
        return 0
    print(f"of {len(expected)} files {never} never fetched, {twice} fetched more than once; {unknown} unknown paths")
    return 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("generate")
    command.add_argument("root")
    command.add_argument("name")
    command.add_argument("--files", type=int, required=True)
    command.add_argument("--datasets", type=int, required=True)
    command.add_argument("--size", type=int, required=True)
    command.add_argument("--sparse", action="store_true")
    command = commands.add_parser("prepare")
    command.add_argument("root")
    command.add_argument("name")
    command.add_argument("port", type=int)
    command.add_argument("rundir")
    command = commands.add_parser("check")
    command.add_argument("dir")
    command.add_argument("count", type=int)
    command.add_argument("bytes", type=int)
    command = commands.add_parser("check-sums")
    command.add_argument("sums")
    command.add_argument("corpus")
    command = commands.add_parser("check-fetches")
    command.add_argument("log")
    command.add_argument("corpus")
    args = parser.parse_args()
    if args.command == "generate":
        generate(args)
    elif args.command == "prepare":
        prepare(args)
    elif args.command == "check-sums":
        sys.exit(check_sums(args))
    elif args.command == "check-fetches":
        sys.exit(check_fetches(args))
    else:
        sys.exit(check(args))


if __name__ == "__main__":
    main()
