#!/usr/bin/env python3
"""Fault injection for `datapin sync`: SIGKILL at random moments, then recovery, with counts.

Driven by scripts/faults (which installs nginx and builds datapin). Usage:
  faults.py --datapin PATH --nginx PATH --work DIR [--runs N] [--seed S]

Sets up, in WORK: a corpus of random files served by nginx on 127.0.0.1 (throttled with
limit_rate so that kills land mid-transfer), an index catalog listing them in three datasets
(half with sha256, half with size only, so sync has to pin them; some listed by two datasets,
so duplicates are copied), a project (manifest on) locked once with `datapin lock`, and files
beside the destination that no sync may touch. Then, RUNS times:

  1. prepares a scenario: a fresh tree, the tree kept with the unpinned lock restored, or
     damaged files (bytes changed where the lock has a sha256, truncated, deleted), with or
     without --prune (and extra files for it to remove); every run starts from the lock as
     `datapin lock` wrote it, unpinned files and all;
  2. starts `datapin sync` and SIGKILLs it 1-3 times (each time started again), at a random
     moment: a random delay, after a random progress event (--json), the instant a
     temporary file of the lock, the sync state or the manifest appears, or the instant
     --prune has removed its first extra file;
  3. after every kill, compares every file at a final path with the corpus: a final path may
     be missing but never hold wrong bytes;
  4. runs `datapin sync` to completion and `datapin verify`, then checks every file again,
     every unpinned file's pin in datapin.lock, and the files outside the destination.

Prints the counts and exits 1 unless wrong bytes, pins lost, verify failures, failed recoveries
and changes outside the destination are all zero.
"""

import argparse
import collections
import hashlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time

CHUNK = 1 << 20
DATASETS = ("ds-a", "ds-b", "ds-c")
FILES_PER_DATASET = 14
DUPLICATES = 4  # files of ds-a that ds-c lists too (the same URL)
RATE = "3m"  # nginx limit_rate per connection
BOOKKEEPING = {"MANIFEST.html", "manifest.json", ".datapin-partial"}


def log(message):
    print(message, file=sys.stderr, flush=True)


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while True:
            block = handle.read(CHUNK)
            if not block:
                return digest.hexdigest()
            digest.update(block)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- corpus, nginx, project ------------------------------------------------------------------

def generate_corpus(root, rng):
    """Random files under root/files/<dataset>/; returns {url path: (size, sha256)}."""
    files = {}
    for dataset in DATASETS:
        directory = os.path.join(root, "files", dataset)
        os.makedirs(directory, exist_ok=True)
        for index in range(FILES_PER_DATASET):
            size = 3 << 20 if index == 0 else rng.randint(4 << 10, 640 << 10)
            name = f"f{index:03d}.bin"
            data = rng.randbytes(size)
            with open(os.path.join(directory, name), "wb") as handle:
                handle.write(data)
            files[f"files/{dataset}/{name}"] = (size, hashlib.sha256(data).hexdigest())
    return files


def write_catalog(root, files):
    """A JSON catalog: even-numbered files with sha256 (pinned), odd ones with size only."""
    datasets = []
    for dataset in DATASETS:
        listed = []
        for index in range(FILES_PER_DATASET):
            url = f"files/{dataset}/f{index:03d}.bin"
            size, sha256 = files[url]
            entry = {"name": f"f{index:03d}.bin", "url": url, "size": size}
            if index % 2 == 0:
                entry["sha256"] = sha256
            listed.append(entry)
        if dataset == "ds-c":
            for index in range(1, DUPLICATES + 1):
                url = f"files/ds-a/f{index:03d}.bin"
                size, sha256 = files[url]
                entry = {"name": f"dup-f{index:03d}.bin", "url": url, "size": size}
                if index % 2 == 0:
                    entry["sha256"] = sha256
                listed.append(entry)
        datasets.append({"id": dataset, "files": listed})
    with open(os.path.join(root, "catalog.json"), "w") as handle:
        json.dump({"datasets": datasets}, handle, indent=1)


class Nginx:
    def __init__(self, binary, directory, root, port):
        self.directory = directory
        os.makedirs(os.path.join(directory, "logs"), exist_ok=True)
        os.makedirs(os.path.join(directory, "temp"), exist_ok=True)
        user = ""
        if os.getuid() == 0:
            import grp
            import pwd
            user = f"user {pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name};"
        temp = os.path.join(directory, "temp")
        config = os.path.join(directory, "nginx.conf")
        with open(config, "w") as handle:
            handle.write(f"""{user}
daemon off;
worker_processes 2;
pid {directory}/nginx.pid;
error_log {directory}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    keepalive_timeout 65;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        location /files/ {{ limit_rate {RATE}; }}
    }}
}}
""")
        self.process = subprocess.Popen([binary, "-p", directory, "-c", config, "-e", os.path.join(directory, "logs/error.log")])
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                return
            except OSError:
                if self.process.poll() is not None:
                    break
                time.sleep(0.1)
        self.stop()
        with open(os.path.join(directory, "logs/error.log")) as handle:
            log(handle.read())
        raise SystemExit("scripts/faults: nginx did not start")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def read_lock(path):
    """{path: {"url": ..., "sha256": ... or None, "also": [also_paths]}} from datapin.lock (plain values)."""
    entries = {}
    current = None
    with open(path) as handle:
        for line in handle:
            line = line.rstrip("\n")
            if line.startswith("- path: "):
                current = {"url": None, "sha256": None, "also": []}
                entries[unquote(line[len("- path: "):])] = current
            elif current is not None and line.startswith("  ") and ": " in line:
                key, value = line.strip().split(": ", 1)
                if key == "url":
                    current["url"] = unquote(value)
                elif key == "sha256":
                    current["sha256"] = unquote(value)
                elif key == "also_paths":
                    current["also"] = [unquote(item.strip()) for item in value.strip("[]").split(",") if item.strip()]
            elif not line.startswith(" "):
                current = None
    return entries


def unquote(value):
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


# --- one fault run ---------------------------------------------------------------------------

class Suite:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.work = os.path.abspath(args.work)
        self.datapin = os.path.abspath(args.datapin)
        self.counts = collections.Counter()
        self.kill_moments = collections.Counter()
        self.retry_reasons = collections.Counter()  # retries the killed syncs reported, by reason
        self.problems = collections.defaultdict(list)  # kind -> the first messages
        self.durations = collections.defaultdict(lambda: 3.0)
        self.event_counts = collections.defaultdict(lambda: 40)

    # setup

    def setup(self):
        shutil.rmtree(self.work, ignore_errors=True)
        self.corpus = os.path.join(self.work, "corpus")
        self.project = os.path.join(self.work, "project")
        self.destination = os.path.join(self.project, "data")
        os.makedirs(self.project)
        self.files = generate_corpus(self.corpus, random.Random(self.args.seed))
        write_catalog(self.corpus, self.files)
        self.corpus_digest = self.tree_digest(self.corpus)
        port = free_port()
        self.nginx = Nginx(self.args.nginx, os.path.join(self.work, "nginx"), self.corpus, port)
        with open(os.path.join(self.project, "datapin.yaml"), "w") as handle:
            handle.write("version: 1\n"
                         "destination: data\n"
                         "layout: nested\n"
                         "duplicates: copy\n"
                         "manifest: true\n"
                         "archives:\n"
                         "  faults:\n"
                         "    type: index\n"
                         f"    url: http://127.0.0.1:{port}/catalog.json\n"
                         "datasets:\n"
                         "  - archive: faults\n")
        # Beside the destination: what no sync may change.
        os.makedirs(os.path.join(self.project, "outside"))
        for name in ("outside/notes.txt", "outside/f001.bin", "README.txt"):
            with open(os.path.join(self.project, name), "wb") as handle:
                handle.write(os.urandom(1000))
        self.outside = {name: sha256_of(os.path.join(self.project, name)) for name in ("outside/notes.txt", "outside/f001.bin", "README.txt", "datapin.yaml")}
        status = subprocess.run([self.datapin, "-C", self.project, "lock", "--quiet"], capture_output=True, text=True)
        if status.returncode != 0:
            raise SystemExit(f"scripts/faults: datapin lock failed ({status.returncode}):\n{status.stderr}")
        self.lock_path = os.path.join(self.project, "datapin.lock")
        self.original_lock = os.path.join(self.work, "datapin.lock.original")
        shutil.copyfile(self.lock_path, self.original_lock)
        lock = read_lock(self.lock_path)
        self.expected = {}  # final path -> sha256 of its bytes
        self.unpinned = set()
        self.also_of = {}  # locked path -> the paths of its duplicates
        prefix = f"http://127.0.0.1:{port}/"
        for path, entry in lock.items():
            url = entry["url"]
            if not url.startswith(prefix) or url[len(prefix):] not in self.files:
                raise SystemExit(f"scripts/faults: the lock's url {url} for {path} is not a corpus file")
            sha256 = self.files[url[len(prefix):]][1]
            for final in [path] + entry["also"]:
                self.expected[final] = sha256
            self.also_of[path] = entry["also"]
            if entry["sha256"] is None:
                self.unpinned.add(path)
        if not self.unpinned:
            raise SystemExit("scripts/faults: the lock has no unpinned files; pinning would not be exercised")
        log(f"corpus: {len(self.files)} files ({sum(s for s, _ in self.files.values()) >> 20} MiB) served at {prefix} "
            f"(limit_rate {RATE}); lock: {len(lock)} files, {len(self.unpinned)} unpinned, "
            f"{len(self.expected) - len(lock)} duplicate paths")

    @staticmethod
    def tree_digest(root):
        digest = hashlib.sha256()
        for directory, subdirectories, names in os.walk(root):
            subdirectories.sort()
            for name in sorted(names):
                path = os.path.join(directory, name)
                digest.update(os.path.relpath(path, root).encode() + b"\0" + sha256_of(path).encode())
        return digest.hexdigest()

    # scenarios

    def prepare(self, run):
        """Sets the tree up for this run; returns (scenario name, prune?)."""
        scenario = self.rng.choice(["fresh", "fresh", "kept", "damaged"])
        shutil.copyfile(self.original_lock, self.lock_path)
        self.ours = set()  # digests of the bytes this script wrote at final paths
        if scenario == "fresh":
            shutil.rmtree(self.destination, ignore_errors=True)
            shutil.rmtree(os.path.join(self.project, ".datapin"), ignore_errors=True)
        elif scenario == "damaged":
            present = sorted(p for p in self.expected if os.path.isfile(os.path.join(self.destination, p)))
            for path in self.rng.sample(present, min(len(present), self.rng.randint(1, 6))):
                full = os.path.join(self.destination, path)
                # Bytes changed at the same size are detectable only where the lock has a sha256.
                pinned = path not in self.unpinned and not any(path in self.also_of.get(u, ()) for u in self.unpinned)
                action = self.rng.choice(["change", "truncate", "delete"] if pinned else ["truncate", "delete"])
                if action == "delete":
                    os.unlink(full)
                    continue
                with open(full, "r+b") as handle:
                    if action == "change":
                        handle.seek(self.rng.randrange(os.path.getsize(full)))
                        handle.write(os.urandom(16))
                    else:
                        handle.truncate(self.rng.randrange(os.path.getsize(full)))
                self.ours.add(sha256_of(full))
        prune = self.rng.random() < 0.5
        self.extras = []
        if prune:
            for index in range(self.rng.randint(1, 6)):
                folder = self.rng.choice(list(DATASETS) + ["stray"])
                os.makedirs(os.path.join(self.destination, folder), exist_ok=True)
                extra = os.path.join(self.destination, folder, f"extra-{run}-{index}.tmp")
                with open(extra, "wb") as handle:
                    handle.write(os.urandom(self.rng.randint(1, 5000)))
                self.extras.append(extra)
        return scenario, prune

    # killing

    def sync_command(self, prune, json_events=True):
        command = [self.datapin, "-C", self.project, "sync", "--no-progress"]
        if json_events:
            command.append("--json")
        if prune:
            command.append("--prune")
        return command

    def watched_temporary(self, where):
        """True when a temporary file of an atomic write is present in `where`."""
        try:
            names = os.listdir(where)
        except FileNotFoundError:
            return False
        return any(name.startswith(".") and name.endswith(".tmp") for name in names)

    @staticmethod
    def identity(path):
        """(inode, mtime) of `path`, or None: an atomic write replaces the inode."""
        try:
            status = os.stat(path)
        except FileNotFoundError:
            return None
        return (status.st_ino, status.st_mtime_ns)

    def killed_sync(self, scenario, prune):
        """Starts a sync and SIGKILLs it; returns True when it was killed before it exited."""
        modes = ["delay", "delay", "event", "lock write", "state write", "manifest write"]
        if prune and any(os.path.exists(extra) for extra in self.extras):
            modes.append("prune")
        mode = self.rng.choice(modes)
        key = (scenario, prune)
        started = time.monotonic()
        process = subprocess.Popen(self.sync_command(prune), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0)
        os.set_blocking(process.stdout.fileno(), False)
        events, buffer, last_event = 0, b"", "none"
        deadline_delay = self.rng.uniform(0, 1.2 * self.durations[key])
        target_event = self.rng.randint(1, max(1, self.event_counts[key]))
        extra_delay = self.rng.uniform(0, 0.03)
        watched = {"lock write": self.project, "state write": os.path.join(self.project, ".datapin"),
                   "manifest write": self.destination}.get(mode)
        # Atomic writes go through an unnamed temporary on Linux, named only for the instant
        # before the rename, so a write is also caught the moment its file is replaced: the
        # kill then lands between that write and the next step (clearing the pin journal,
        # writing the state, the manifests, the summary).
        replaced = {"lock write": self.lock_path, "state write": os.path.join(self.project, ".datapin", "sync-state"),
                    "manifest write": os.path.join(self.destination, "manifest.json")}.get(mode)
        replaced_before = self.identity(replaced) if replaced else None
        fire_at = None
        while process.poll() is None:
            try:
                chunk = os.read(process.stdout.fileno(), 65536)
            except BlockingIOError:
                chunk = b""
            if chunk:
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    events += 1
                    try:
                        record = json.loads(line)
                    except ValueError:
                        record = {}
                    last_event = record.get("event", "other")
                    if last_event == "retrying":
                        self.retry_reasons[str(record.get("reason"))[:80]] += 1
            now = time.monotonic()
            if fire_at is None:
                if mode == "delay" and now - started >= deadline_delay:
                    fire_at = now
                elif mode == "event" and events >= target_event:
                    fire_at = now + extra_delay
                elif watched and (self.watched_temporary(watched) or self.identity(replaced) != replaced_before):
                    fire_at = now
                elif mode == "prune" and not all(os.path.exists(extra) for extra in self.extras):
                    fire_at = now
            if fire_at is not None and now >= fire_at:
                process.kill()
                process.wait()
                self.counts["kills"] += 1
                moment = f"{mode}, last event {last_event}" if mode in ("delay", "event") else mode
                self.kill_moments[f"{scenario}{' --prune' if prune else ''}: {moment}"] += 1
                process.stdout.close()
                return True
            time.sleep(0.0005)
        process.stdout.close()
        # It finished before the kill: learn how long this scenario takes and how many events it has.
        self.durations[key] = max(0.2, time.monotonic() - started)
        self.event_counts[key] = max(1, events)
        self.counts["syncs that finished before the kill"] += 1
        return False

    # checks

    def check_final_paths(self, when, require_all=False):
        for path, sha256 in self.expected.items():
            full = os.path.join(self.destination, path)
            if os.path.islink(full) or not os.path.exists(full):
                if require_all:
                    self.problem("missing after recovery", f"{path} is missing after the recovery sync ({when})")
                continue
            self.counts["files checked"] += 1
            actual = sha256_of(full)
            if actual != sha256 and actual not in self.ours:
                self.problem("wrong bytes at final paths", f"{path} holds {actual}, the corpus has {sha256} ({when})")
            elif actual != sha256 and require_all:
                self.problem("missing after recovery", f"{path} still holds the damaged bytes after the recovery sync ({when})")

    def check_pins(self, when):
        lock = read_lock(self.lock_path)
        for path in sorted(self.unpinned):
            pinned = lock.get(path, {}).get("sha256")
            if pinned is None:
                self.problem("pins lost", f"{path} is still unpinned in datapin.lock ({when})")
            elif pinned != self.expected[path]:
                self.problem("wrong pins", f"{path} is pinned as {pinned}, the corpus has {self.expected[path]} ({when})")
            else:
                self.counts["pins checked"] += 1

    def check_outside(self, when):
        for name, sha256 in self.outside.items():
            full = os.path.join(self.project, name)
            if not os.path.isfile(full) or sha256_of(full) != sha256:
                self.problem("changes outside the destination", f"{name} changed ({when})")
        allowed = {"datapin.yaml", "datapin.lock", ".datapin", "data", "outside", "README.txt"}
        for name in os.listdir(self.project):
            if name in allowed:
                continue
            if name.startswith(".datapin.lock.") and name.endswith(".tmp"):
                self.counts["temporary lock files left beside the lock"] += 1
                os.unlink(os.path.join(self.project, name))
                continue
            self.problem("changes outside the destination", f"{name} appeared beside the destination ({when})")
        if sorted(os.listdir(os.path.join(self.project, "outside"))) != ["f001.bin", "notes.txt"]:
            self.problem("changes outside the destination", f"the outside/ folder changed ({when})")

    def problem(self, kind, message):
        self.counts[kind] += 1
        if len(self.problems[kind]) < 10:
            self.problems[kind].append(message)

    # the suite

    def run(self):
        self.setup()
        try:
            for run in range(1, self.args.runs + 1):
                scenario, prune = self.prepare(run)
                self.counts["runs"] += 1
                kills = self.rng.randint(1, 3)
                for attempt in range(kills):
                    self.killed_sync(scenario, prune)
                    self.check_final_paths(f"run {run}, after kill {attempt + 1}")
                    self.check_outside(f"run {run}, after kill {attempt + 1}")
                recovery = subprocess.run(self.sync_command(prune, json_events=False), capture_output=True, text=True, timeout=600)
                if recovery.returncode != 0:
                    self.problem("failed recovery syncs", f"run {run}: the recovery sync exited {recovery.returncode}: {recovery.stderr.strip()[-500:]}")
                verify = subprocess.run([self.datapin, "-C", self.project, "verify"], capture_output=True, text=True, timeout=600)
                if verify.returncode != 0:
                    self.problem("verify failures", f"run {run}: verify exited {verify.returncode}: {verify.stderr.strip()[-500:]}")
                self.check_final_paths(f"run {run}, after recovery", require_all=recovery.returncode == 0)
                self.check_pins(f"run {run}, after recovery")
                self.check_outside(f"run {run}, after recovery")
                if run % 10 == 0 or run == self.args.runs:
                    log(f"run {run}/{self.args.runs}: {self.counts['kills']} kills, "
                        f"{self.counts['wrong bytes at final paths']} wrong bytes, {self.counts['pins lost']} pins lost, "
                        f"{self.counts['verify failures']} verify failures")
        finally:
            self.nginx.stop()
        if self.tree_digest(self.corpus) != self.corpus_digest:
            self.problem("changes outside the destination", "the served corpus changed")
        return self.report()

    def report(self):
        for kind, messages in self.problems.items():
            more = self.counts[kind] - len(messages)
            for message in messages:
                log(f"{kind}: {message}")
            if more > 0:
                log(f"{kind}: … and {more} more")
        print("fault injection: datapin sync killed with SIGKILL, then sync and verify")
        print(f"  seed {self.args.seed}; {len(self.expected)} final paths per tree, {len(self.unpinned)} unpinned in the lock")
        print("  kills by scenario and moment (the last progress event seen before a timed kill):")
        for moment, count in sorted(self.kill_moments.items()):
            print(f"    {moment:60} {count}")
        rows = ["runs", "kills", "syncs that finished before the kill", "files checked", "pins checked",
                "wrong bytes at final paths", "pins lost", "wrong pins", "verify failures", "failed recovery syncs",
                "missing after recovery", "changes outside the destination", "temporary lock files left beside the lock"]
        if self.retry_reasons:
            print("  retries reported by the killed syncs: " + "; ".join(f"{reason} ×{count}" for reason, count in self.retry_reasons.most_common(3)))
        for row in rows:
            print(f"  {row:42} {self.counts[row]}")
        failures = ["wrong bytes at final paths", "pins lost", "wrong pins", "verify failures", "failed recovery syncs",
                    "missing after recovery", "changes outside the destination"]
        failed = [name for name in failures if self.counts[name]]
        print("result: " + ("FAILED (" + ", ".join(failed) + ")" if failed else "ok"))
        return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datapin", required=True)
    parser.add_argument("--nginx", required=True)
    parser.add_argument("--work", required=True)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    if args.seed is None:
        args.seed = random.randrange(1 << 32)
    sys.exit(Suite(args).run())


if __name__ == "__main__":
    main()
