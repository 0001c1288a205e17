#!/usr/bin/env python3
"""A loopback SciCat for the sftp benchmark case, and the files that case needs.

Usage:
  scicat.py prepare CORPUS-DIR PID RUNDIR
      writes RUNDIR/catalogue.json (one dataset PID whose sourceFolder is CORPUS-DIR/files and
      whose one origdatablock lists every file of CORPUS-DIR/manifest.tsv with its sha256),
      RUNDIR/sftp-batch.txt (an `sftp -b` batch fetching the same files into the working
      folder) and RUNDIR/expected.txt (files, bytes)
  scicat.py serve RUNDIR/catalogue.json URL-FILE
      answers SciCat's v3 GET /api/v3/datasets/{pid} and /api/v3/datasets/{pid}/origdatablocks
      (the PID one percent-encoded path segment) and v4's anonymous
      /api/v4/datasets/public/{pid}?include=origdatablocks on 127.0.0.1, and writes its base URL
      (http://127.0.0.1:PORT) to URL-FILE once listening; runs until killed.
"""

import argparse
import http.server
import json
import os
import shlex
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from corpus import read_manifest  # noqa: E402


def prepare(args):
    files_root = os.path.join(os.path.abspath(args.corpus), "files")
    entries = list(read_manifest(args.corpus))
    files = [{"path": f"{dataset}/{name}", "size": size, "time": "2026-01-01T00:00:00.000Z", "chk": sha256}
             for dataset, name, size, sha256 in entries]
    total = sum(size for _, _, size, _ in entries)
    dataset = {"pid": args.pid, "datasetName": "sftp benchmark", "sourceFolder": files_root, "size": total,
               "numberOfFiles": len(files), "ownerGroup": "bench", "accessGroups": [], "isPublished": True,
               "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z", "type": "raw"}
    block = {"_id": "bench-block-1", "datasetId": args.pid, "size": total, "chkAlg": "sha256", "dataFileList": files,
             "ownerGroup": "bench", "accessGroups": [], "isPublished": True,
             "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z"}
    os.makedirs(args.rundir, exist_ok=True)
    with open(os.path.join(args.rundir, "catalogue.json"), "w") as handle:
        json.dump({"dataset": dataset, "blocks": [block]}, handle)
    with open(os.path.join(args.rundir, "sftp-batch.txt"), "w") as batch:
        for folder in sorted({dataset for dataset, _, _, _ in entries}):
            batch.write(f"-lmkdir {shlex.quote(folder)}\n")
        for dataset_name, name, _, _ in entries:
            remote = f"{files_root}/{dataset_name}/{name}"
            batch.write(f"get {shlex.quote(remote)} {shlex.quote(dataset_name + '/' + name)}\n")
    with open(os.path.join(args.rundir, "expected.txt"), "w") as handle:
        handle.write(f"{len(entries)} {total}\n")


def serve(args):
    with open(args.catalogue) as handle:
        catalogue = json.load(handle)
    dataset, blocks = catalogue["dataset"], catalogue["blocks"]
    pid = dataset["pid"]

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            parsed = urllib.parse.urlsplit(self.path)
            segments = [urllib.parse.unquote(part) for part in parsed.path.split("/") if part]
            lowered = [part.lower() for part in segments]
            if lowered[:3] == ["api", "v3", "datasets"] and len(segments) >= 4 and segments[3] == pid:
                if len(segments) == 4:
                    return self.answer(200, dict(dataset, _id=pid))
                if len(segments) == 5 and lowered[4] == "origdatablocks":
                    return self.answer(200, [dict(block, id=block["_id"]) for block in blocks])
            if lowered[:4] == ["api", "v4", "datasets", "public"] and len(segments) == 5 and segments[4] == pid:
                return self.answer(200, dict(dataset, origdatablocks=blocks))
            return self.answer(404, {"message": f"dataset: {'/'.join(segments[3:4])} not found"})

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    temporary = args.url_file + ".tmp"
    with open(temporary, "w") as handle:
        handle.write(f"http://127.0.0.1:{server.server_address[1]}\n")
    os.replace(temporary, args.url_file)
    server.serve_forever()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    command = commands.add_parser("prepare")
    command.add_argument("corpus")
    command.add_argument("pid")
    command.add_argument("rundir")
    command = commands.add_parser("serve")
    command.add_argument("catalogue")
    command.add_argument("url_file")
    args = parser.parse_args()
    {"prepare": prepare, "serve": serve}[args.command](args)


if __name__ == "__main__":
    main()
