#!/usr/bin/env python3
"""Fault harness: kills writers, bundle importers, syncing clients and the relay at random
points, fills a disk, and checks afterwards that nothing acknowledged was lost and no store or
relay database is corrupt. Prints one line per fault kind and exits 1 on any loss or corruption.

    scripts/faults.py BINARY STORE_CHECK [--long] [--seed N]

BINARY is the `carebank` command line; STORE_CHECK the `store_check` example of
carebank-scenarios, which reads the encrypted device stores. The short run kills 100 processes in all (what the test
command runs); --long kills 1,000. Every loop is bounded in count; every process is killed or
waited for with a timeout; the relay listens on 127.0.0.1 only.

"Acknowledged" means the command exited 0 (and, for a write, printed its record id) before it
was killed; a killed command may or may not have stored its record, which is allowed. "Lost"
counts acknowledged records missing afterwards; "corrupt" counts stores or databases that fail
SQLite's integrity check or that the command line cannot open.
"""

from contextlib import closing
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time

NOW = "2026-11-05T08:00"
TIMEOUT = 60


class Harness:
    def __init__(self, binary, store_checker, seed):
        self.binary = binary
        self.store_checker = store_checker
        self.rng = random.Random(seed)
        self.root = tempfile.mkdtemp(prefix="carebank-faults-")
        self.env = dict(os.environ, CAREBANK_NOW=NOW)
        self.failed = False

    def path(self, name):
        return os.path.join(self.root, name)

    def run(self, *args, check=True):
        out = subprocess.run(
            [self.binary, *args], env=self.env, capture_output=True, text=True, timeout=TIMEOUT
        )
        if check and out.returncode != 0:
            raise SystemExit(f"faults: {' '.join(args)} failed: {out.stderr.strip()}")
        return out

    def field(self, out, label):
        for line in out.stdout.splitlines():
            if line.startswith(label):
                return line[len(label):].strip()
        raise SystemExit(f"faults: no {label!r} in {out.stdout!r}")

    def killed_run(self, args, within_s):
        """Starts a command and SIGKILLs it after a random part of `within_s`; returns
        (acknowledged, stdout)."""
        proc = subprocess.Popen(
            [self.binary, *args], env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True,
        )
        time.sleep(self.rng.uniform(0, within_s))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        out, _ = proc.communicate(timeout=TIMEOUT)
        return proc.returncode == 0, out

    def timed(self, args):
        started = time.monotonic()
        out = self.run(*args)
        return out, time.monotonic() - started

    def circle(self):
        """A centre, a coordinator and a caregiver holding an elder, set up through bundles."""
        centre, coordinator, caregiver = self.path("centre"), self.path("coordinator"), self.path("caregiver")
        out = self.run("init", "--store", centre, "--new-circle", "龙泉镇养老服务中心")
        circle, key, site = (self.field(out, "circle:"), self.field(out, "centre key:"),
                             self.field(out, "centre site:"))
        self.circle_id, self.centre_key = circle, key
        join = lambda store: self.field(
            self.run("init", "--store", store, "--circle", circle, "--centre-key", key), "device key:")
        self.run("enrol", "--store", centre, "--name", "李站长", "--role", "coordinator",
                 "--site", site, "--device-key", join(coordinator))
        self.carry(centre, coordinator)
        self.run("enrol", "--store", coordinator, "--name", "王芳", "--role", "caregiver",
                 "--site", site, "--device-key", join(caregiver))
        # A second phone that will receive a bundle while its importer is killed.
        self.run("enrol", "--store", coordinator, "--name", "赵敏", "--role", "caregiver",
                 "--site", site, "--device-key", join(self.path("importer")))
        self.elder = self.run("elder", "--store", coordinator, "--name", "刘奶奶", "--site", site,
                              "--birth-year", "1936", "--cadence", "7", "--consent-by", "本人").stdout.strip()
        self.carry(coordinator, caregiver)
        return centre, coordinator, caregiver

    def carry(self, source, target):
        bundle = self.path("carry.cbundle")
        self.run("sync", "--store", source, "--export-bundle", bundle)
        self.run("sync", "--store", target, "--import-bundle", bundle)

    def copy(self, source, target):
        """Replaces folder `target` by a copy of `source`; returns `target`."""
        subprocess.run(["rm", "-rf", target], check=True)
        subprocess.run(["cp", "-r", source, target], check=True)
        return target

    def visit_args(self, store):
        return ["visit", "--store", store, "--elder", self.elder, "--at", "2026-11-03T09:00",
                "--minutes", "30"]

    def store_check(self, store):
        """The store's integrity check and its record ids, read by the store_check example
        (the store is encrypted: Python's sqlite3 cannot read it); None if it cannot be read."""
        done = subprocess.run([self.store_checker, store], capture_output=True, text=True)
        if done.returncode != 0:
            return None
        lines = done.stdout.splitlines()
        return lines[0], set(lines[1:])

    def record_ids(self, store):
        checked = self.store_check(store)
        if checked is None:
            raise RuntimeError(f"cannot read the store in {store}")
        return checked[1]

    def corrupt(self, *stores):
        bad = 0
        for store in stores:
            checked = self.store_check(store)
            ok = checked is not None and checked[0] == "ok"
            opens = self.run("whoami", "--store", store, check=False).returncode == 0
            bad += 0 if ok and opens else 1
        return bad

    def say(self, kind, **counts):
        line = f"{kind}: " + ", ".join(f"{k}: {v}" for k, v in counts.items())
        print(line, flush=True)
        if counts.get("lost", 0) or counts.get("corrupt", 0):
            self.failed = True

    def free_port(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def relay(self, port):
        proc = subprocess.Popen(
            [self.binary, "serve", "--listen", f"127.0.0.1:{port}", "--data", self.path("relay"),
             "--circle", f"{self.circle_id}:{self.centre_key}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        proc.stdout.readline()  # the start-up line: listening
        return proc


def writers(h, caregiver, kills):
    """Visits recorded while the writer is killed at random."""
    _, duration = h.timed(h.visit_args(caregiver))
    acked = set()
    for _ in range(kills):
        ok, out = h.killed_run(h.visit_args(caregiver), duration * 1.2)
        if ok:
            acked.add(out.strip())
    held = h.record_ids(caregiver)
    h.say("writers", kills=kills, acknowledged=len(acked), lost=len(acked - held),
          corrupt=h.corrupt(caregiver))
    return acked


def importers(h, caregiver, kills):
    """A bundle imported into a phone while the importer is killed at random: each kill on a
    fresh copy of the phone, which must then open, pass SQLite's check and complete the import
    when it is run again."""
    bundle = h.path("year.cbundle")
    h.run("sync", "--store", caregiver, "--export-bundle", bundle)
    pristine, phone = h.path("importer"), h.path("importer-copy")
    expected = h.record_ids(caregiver)
    _, duration = h.timed(["sync", "--store", h.copy(pristine, phone), "--import-bundle", bundle])
    acked = lost = corrupt = 0
    for _ in range(kills):
        ok, _ = h.killed_run(["sync", "--store", h.copy(pristine, phone), "--import-bundle", bundle],
                             duration * 1.2)
        acked += ok
        bad = h.corrupt(phone)
        corrupt += bad
        if not bad:
            h.run("sync", "--store", phone, "--import-bundle", bundle)
            lost += len(expected - h.record_ids(phone))
    h.say("importers", kills=kills, acknowledged=acked, lost=lost, corrupt=corrupt)


def sync_clients(h, caregiver, coordinator, kills):
    """Syncs with a relay killed at random on the client's side, then on the relay's."""
    port = h.free_port()
    url = f"http://127.0.0.1:{port}"
    relay = h.relay(port)
    for store in (h.path("centre"), coordinator):
        h.run("sync", "--store", store, "--relay", url)
    _, duration = h.timed(["sync", "--store", caregiver, "--relay", url])
    acked_visits = set()
    client_kills = kills // 2
    for _ in range(client_kills):
        # A new visit, then a sync killed at random.
        acked_visits.add(h.run(*h.visit_args(caregiver)).stdout.strip())
        h.killed_run(["sync", "--store", caregiver, "--relay", url], duration * 1.2)
    relay_kills = kills - client_kills
    syncs_acked = 0
    for _ in range(relay_kills):
        acked_visits.add(h.run(*h.visit_args(caregiver)).stdout.strip())
        client = subprocess.Popen(
            [h.binary, "sync", "--store", caregiver, "--relay", url], env=h.env,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(h.rng.uniform(0, duration * 1.2))
        relay.send_signal(signal.SIGKILL)
        relay.wait(timeout=TIMEOUT)
        syncs_acked += client.wait(timeout=TIMEOUT) == 0
        relay = h.relay(port)
    # With the relay up, the caregiver and then the coordinator sync: everything acknowledged
    # on the phone reaches the coordinator.
    h.run("sync", "--store", caregiver, "--relay", url)
    h.run("sync", "--store", coordinator, "--relay", url)
    relay.send_signal(signal.SIGTERM)
    relay.wait(timeout=TIMEOUT)
    lost = len(acked_visits - h.record_ids(coordinator))
    db = h.path("relay/relay.sqlite3")
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
        relay_ok = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    h.say("sync clients", kills=client_kills, acknowledged=len(acked_visits), lost=lost,
          corrupt=h.corrupt(caregiver, coordinator))
    h.say("relay", kills=relay_kills, acknowledged=syncs_acked, lost=lost,
          corrupt=0 if relay_ok else 1)


def full_disk(h, caregiver, writes):
    """Visits with long notes written onto a tmpfs with half a megabyte to spare until it is
    full: a write that reports an error stored nothing, one that succeeded is kept."""
    mount = h.path("small-disk")
    os.makedirs(mount)
    used = int(subprocess.run(["du", "-sk", caregiver], capture_output=True, text=True,
                              check=True).stdout.split()[0])
    size = f"{used + 512}k"
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", mount],
                             capture_output=True).returncode == 0
    if not mounted:
        print("full disk: skipped (cannot mount a tmpfs here; run as root)", flush=True)
        return
    note = "联系村医上门看诊，复查血压并记录用药情况。" * 90  # ~1,900 characters
    try:
        phone = h.copy(caregiver, os.path.join(mount, "caregiver"))
        before = h.record_ids(phone)
        acked, refused = set(), 0
        for _ in range(writes):
            out = h.run(*h.visit_args(phone), "--follow-up", note, check=False)
            if out.returncode == 0:
                acked.add(out.stdout.strip())
            else:
                refused += 1
        added = h.record_ids(phone) - before
        h.say("full disk", tmpfs=size, writes=writes, acknowledged=len(acked), refused=refused,
              lost=len(acked - added), stored_though_refused=len(added - acked),
              corrupt=h.corrupt(phone))
        if added - acked:
            h.failed = True
        if refused == 0:
            print("faults: the disk never filled; make the tmpfs smaller", file=sys.stderr)
            h.failed = True
    finally:
        subprocess.run(["umount", mount], capture_output=True)


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        raise SystemExit(__doc__)
    binary, store_checker, long_run = args[0], args[1], "--long" in args
    seed = int(args[args.index("--seed") + 1]) if "--seed" in args else 1
    kills = 1000 if long_run else 100
    h = Harness(binary, store_checker, seed)
    started = time.monotonic()
    _, coordinator, caregiver = h.circle()
    writers(h, caregiver, kills * 4 // 10)
    importers(h, caregiver, kills * 2 // 10)
    sync_clients(h, caregiver, coordinator, kills * 4 // 10)
    full_disk(h, caregiver, 400 if long_run else 200)
    print(f"faults: {'long' if long_run else 'short'} run, seed {seed}, "
          f"{time.monotonic() - started:.0f} s", flush=True)
    subprocess.run(["rm", "-rf", h.root])
    sys.exit(1 if h.failed else 0)


if __name__ == "__main__":
    main()
