#!/usr/bin/env python3
"""tests/powerloss.py - power-loss crash states for evpub, run by
tests/powerloss.bats.

    powerloss.py WORKDIR STATES SEED FAULTINJECT_SO

SIGKILL keeps the page cache; a power cut does not.  evpub appends
events to a log under tests/faultinject.so in recording mode (EVFI_RECORD:
every write, truncate, create, rename, unlink, mkdir, fsync and directory
fsync under the log, and the acks evpub prints).  From that record, crash
states are built the way ALICE and CrashMonkey do, on a copy of the log as
it was before the run:

  - a file's content is what its last fsync made durable, plus any subset
    of the writes made since (a dropped suffix, or writes of one fsync
    interval reordered), at 512-byte sector granularity, so the last
    write may also be torn at a sector boundary;
  - a create, rename, unlink or mkdir is durable only once its directory
    is fsynced; before that, any prefix of a directory's changes may have
    reached the disk.

Each distinct state is then checked:

  - evtail reads it and exits 0, and prints a line prefix of what the run
    wrote: nothing that was not written, in order;
  - a fresh writer (evpub LOG </dev/null) recovers it, printing at most a
    one-line notice, and evctl verify exits 0;
  - every event acknowledged before the crash point (its ack printed, so
    its fsync had returned) is still there, and so is every event a
    reader saw before the recovery;
  - the writer then appends the rest of the input, and readers see exactly
    what the run without a crash wrote.

The first failure stops the run with the state's description and keeps
its directory (WORKDIR/failed); rerun with the same SEED to reproduce.
"""

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys

SECTOR = 512


def die(msg):
    print("powerloss.py: " + msg, file=sys.stderr)
    sys.exit(1)


def run(args, stdin=None, check=True):
    with open(stdin or os.devnull, "rb") as f:
        p = subprocess.run(args, stdin=f, capture_output=True)
    if check and p.returncode != 0:
        die("%s failed (%d): %s" % (" ".join(args), p.returncode,
                                    p.stderr.decode(errors="replace")))
    return p


class Record:
    """The operations of a recorded run, with paths relative to the log."""

    def __init__(self, path, root):
        with open(path + ".data", "rb") as f:
            data = f.read()
        self.ops = []
        with open(path) as f:
            for line in f:
                w = line.rstrip("\n").split("\t")
                if any(p.endswith(" (deleted)") for p in w[1:3]):
                    continue  # a file already unlinked: it is gone
                if w[0] == "out":
                    n, at = int(w[1]), int(w[2])
                    self.ops.append(("out", data[at:at + n]))
                    continue
                paths = []
                for p in w[1:3] if w[0] == "rename" else w[1:2]:
                    p = os.path.normpath(p)
                    if p != root and not p.startswith(root + "/"):
                        die("record names a path outside the log: " + p)
                    paths.append(os.path.relpath(p, root))
                if w[0] == "write":
                    off, n, at = int(w[2]), int(w[3]), int(w[4])
                    self.ops.append(("write", paths[0], off,
                                     data[at:at + n]))
                elif w[0] == "trunc":
                    self.ops.append(("trunc", paths[0], int(w[2])))
                elif w[0] in ("creat", "mkdir", "unlink", "fsync",
                              "dirsync"):
                    self.ops.append((w[0], paths[0]))
                elif w[0] == "rename":
                    self.ops.append(("rename", paths[0], paths[1]))
                else:
                    die("unknown record line: " + line)


def parent(p):
    d = os.path.dirname(p)
    return d if d else "."


def pieces(op):
    """A write as its sector pieces: the unit that persists or not."""
    _, path, off, data = op
    out = []
    i = 0
    while i < len(data):
        end = min(len(data), (off + i) // SECTOR * SECTOR + SECTOR - off)
        out.append(("write", path, off + i, data[i:end]))
        i = end
    return out


class Model:
    """The file system after a prefix of the record: what is durable, and
    what is pending since the last fsync of each file and directory."""

    def __init__(self, initial):
        self.next_ino = 0
        self.durable = {}   # ino -> bytes
        self.pending = {}   # ino -> [content ops]
        self.vol = {}       # ino -> bytearray (what the run sees)
        self.dirs = set()   # inos that are directories
        self.ns = {}        # path -> ino, as the run sees it
        self.dns = {}       # dir path -> {name: ino}, durable
        self.dpend = {}     # dir path -> [namespace ops]
        self.dns["."] = {}
        self.dpend["."] = []
        self.ns["."] = self.new_ino(dir=True)
        for top, dnames, fnames in os.walk(initial):
            rel = os.path.relpath(top, initial)
            for d in sorted(dnames):
                p = os.path.normpath(os.path.join(rel, d))
                ino = self.new_ino(dir=True)
                self.ns[p] = ino
                self.dns[parent(p)][d] = ino
                self.dns[p] = {}
                self.dpend[p] = []
            for fn in sorted(fnames):
                p = os.path.normpath(os.path.join(rel, fn))
                with open(os.path.join(top, fn), "rb") as f:
                    b = f.read()
                ino = self.new_ino()
                self.durable[ino] = b
                self.vol[ino] = bytearray(b)
                self.ns[p] = ino
                self.dns[parent(p)][fn] = ino

    def new_ino(self, dir=False):
        ino = self.next_ino
        self.next_ino += 1
        if dir:
            self.dirs.add(ino)
        else:
            self.durable[ino] = b""
            self.pending[ino] = []
            self.vol[ino] = bytearray()
        return ino

    def apply(self, op):
        kind = op[0]
        if kind == "out":
            return
        if kind in ("write", "trunc"):
            ino = self.ns.get(op[1])
            if ino is None:
                die("a write to a file the record never made: " + op[1])
            content_op(self.vol[ino], op)
            self.pending.setdefault(ino, []).extend(
                pieces(op) if kind == "write" else [op])
        elif kind == "fsync":
            ino = self.ns[op[1]]
            self.durable[ino] = bytes(self.vol[ino])
            self.pending[ino] = []
        elif kind == "dirsync":
            d = op[1]
            for nop in self.dpend.get(d, []):
                ns_op(self.dns, nop)
            self.dpend[d] = []
        elif kind in ("creat", "mkdir"):
            ino = self.new_ino(dir=kind == "mkdir")
            self.ns[op[1]] = ino
            if kind == "mkdir":
                self.dns.setdefault(op[1], {})
                self.dpend.setdefault(op[1], [])
            self.dpend[parent(op[1])].append(("link", op[1], ino))
        elif kind == "unlink":
            self.ns.pop(op[1], None)
            self.dpend[parent(op[1])].append(("unlink", op[1]))
        elif kind == "rename":
            ino = self.ns.pop(op[1])
            self.ns[op[2]] = ino
            # durable with the new name's directory
            self.dpend[parent(op[2])].append(("rename", op[1], op[2], ino))

    def state(self, rng, mode):
        """A crash state: {path: bytes} and a set of directories."""
        dns = {d: dict(e) for d, e in self.dns.items()}
        for d in sorted(self.dpend):
            ops = self.dpend[d]
            k = {"none": 0, "all": len(ops)}.get(
                mode, rng.randint(0, len(ops)) if ops else 0)
            for nop in ops[:k]:
                ns_op(dns, nop)
        files, dirs = {}, set()

        def walk(d, ino_path):
            for name, ino in sorted(dns.get(d, {}).items()):
                p = os.path.normpath(os.path.join(d, name))
                if ino in self.dirs:
                    dirs.add(p)
                    walk(p, ino_path)
                else:
                    files[p] = self.content(ino, rng, mode)
        walk(".", None)
        return files, dirs

    def content(self, ino, rng, mode):
        ops = self.pending.get(ino, [])
        b = bytearray(self.durable[ino])
        if mode == "none" or not ops:
            return bytes(b)
        if mode == "all":
            keep = ops
        elif mode == "prefix":
            # a dropped suffix; the last write kept may be torn, since it
            # is made of sector pieces
            keep = ops[:rng.randint(0, len(ops))]
        else:
            # reordered within the fsync interval: any subset of the
            # sectors persists, each as it was at some moment (a prefix
            # of the writes to it), since a sector is written whole
            p = rng.choice((0.2, 0.5, 0.8))
            lost, keep = set(), []
            for o in ops:
                sector = o[2] // SECTOR if o[0] == "write" else None
                if sector in lost:
                    continue
                if rng.random() < p:
                    keep.append(o)
                elif sector is not None:
                    lost.add(sector)
        for o in keep:
            content_op(b, o)
        return bytes(b)


def content_op(b, op):
    if op[0] == "trunc":
        n = op[2]
        if n < len(b):
            del b[n:]
        else:
            b.extend(bytes(n - len(b)))
    else:
        off, data = op[2], op[3]
        if off > len(b):
            b.extend(bytes(off - len(b)))
        b[off:off + len(data)] = data


def ns_op(dns, nop):
    if nop[0] == "link":
        dns.setdefault(parent(nop[1]), {})[os.path.basename(nop[1])] = nop[2]
    elif nop[0] == "unlink":
        dns.get(parent(nop[1]), {}).pop(os.path.basename(nop[1]), None)
    else:
        dns.get(parent(nop[1]), {}).pop(os.path.basename(nop[1]), None)
        dns.setdefault(parent(nop[2]), {})[os.path.basename(nop[2])] = nop[3]


def materialize(files, dirs, dest):
    shutil.rmtree(dest, ignore_errors=True)
    os.mkdir(dest)
    for d in sorted(dirs):
        os.makedirs(os.path.join(dest, d), exist_ok=True)
    for p, b in files.items():
        with open(os.path.join(dest, p), "wb") as f:
            f.write(b)


def is_prefix(out, ref):
    return ref.startswith(out) and (out == b"" or out.endswith(b"\n"))


NOTICES = (b"evpub: truncated a torn tail of ",
           b"evpub: removed an incomplete segment ",
           b"evpub: head file of ")


def check(log, acked, ref, inp):
    """Check one crash state in directory LOG; '' or what went wrong."""
    p = run(["evtail", log], check=False)
    if p.returncode != 0:
        return "evtail before recovery exited %d: %s" % (
            p.returncode, p.stderr.decode(errors="replace").strip())
    if not is_prefix(p.stdout, ref):
        return "evtail before recovery printed what was not written"
    seen = p.stdout.count(b"\n")
    p = run(["evpub", log], check=False)
    if p.returncode != 0:
        return "the next writer exited %d: %s" % (
            p.returncode, p.stderr.decode(errors="replace").strip())
    err = p.stderr.splitlines()
    if len(err) > 1 or any(not e.startswith(NOTICES) for e in err):
        return "the next writer said: " + p.stderr.decode(errors="replace")
    p = run(["evctl", "verify", log], check=False)
    if p.returncode != 0:
        return "evctl verify after recovery exited %d: %s" % (
            p.returncode, (p.stdout + p.stderr).decode(errors="replace"))
    p = run(["evtail", log], check=False)
    if p.returncode != 0 or not is_prefix(p.stdout, ref):
        return "evtail after recovery: exit %d, or not a prefix" % (
            p.returncode)
    k = p.stdout.count(b"\n")
    if k < seen:
        return "recovery lost events readers saw (%d, then %d)" % (seen, k)
    if acked > k:
        return "acknowledged events lost: %d acked, %d in the log" % (
            acked, k)
    with open(log + ".rest", "wb") as f:
        f.write(b"".join(inp[k:]))
    p = run(["evpub", log], stdin=log + ".rest", check=False)
    if p.returncode != 0:
        return "appending after recovery exited %d: %s" % (
            p.returncode, p.stderr.decode(errors="replace").strip())
    p = run(["evtail", log], check=False)
    if p.returncode != 0 or p.stdout != ref:
        return "after appending the rest, readers do not see the run's log"
    return ""


def scenario(work, name, seed, budget, so, prep):
    """Record one evpub run on the log PREP made, then check up to BUDGET
    distinct crash states of it.  PREP returns the input in log order, how
    many of its events were acknowledged before the run, and what the run
    reads.  Returns (states, crash points)."""
    d = os.path.join(work, name)
    os.mkdir(d)
    log = os.path.join(d, "L")
    inp, base, feed = prep(d, log)
    shutil.copytree(log, os.path.join(d, "initial"))
    env = dict(os.environ, EVFI_RECORD=os.path.join(d, "rec"),
               EVFI_ROOT=log, LD_PRELOAD=so)
    with open(os.path.join(d, "feed"), "wb") as f:
        f.write(b"".join(feed))
    with open(os.path.join(d, "feed"), "rb") as f:
        p = subprocess.run(["evpub", "--ack", "--batch-events", "7", log],
                           stdin=f, capture_output=True, env=env)
    if p.returncode != 0:
        die("%s: the recorded run failed: %s" % (name, p.stderr.decode()))
    # the truth: the run's log with the rest of the input appended
    k = run(["evtail", log]).stdout.count(b"\n")
    shutil.copytree(log, os.path.join(d, "full"))
    with open(os.path.join(d, "rest"), "wb") as f:
        f.write(b"".join(inp[k:]))
    run(["evpub", os.path.join(d, "full")], stdin=os.path.join(d, "rest"))
    ref = run(["evtail", os.path.join(d, "full")]).stdout
    if ref.count(b"\n") != len(inp):
        die("%s: %d events read back of %d" % (
            name, ref.count(b"\n"), len(inp)))
    ops = Record(os.path.join(d, "rec"), log).ops
    # the acks up to each crash point
    acked_at = [base]
    for op in ops:
        a = acked_at[-1]
        if op[0] == "out":
            for line in op[1].splitlines():
                a = max(a, int(line.split()[0]) + 1)
        acked_at.append(a)
    if acked_at[-1] != len(run(["evtail", log]).stdout.splitlines()):
        die("%s: %d events acked of %d" % (
            name, acked_at[-1] - base, len(feed)))
    # crash points: before and after each call that changes the disk
    points = [i for i in range(len(ops) + 1)
              if i == len(ops) or ops[i][0] != "out"]
    # candidates: each crash point with nothing pending kept and with
    # everything kept, and random ones (a dropped suffix, a reordered
    # interval); the distinct states among them are found first, then
    # BUDGET of those are drawn and checked
    rng = random.Random("%s-%s" % (seed, name))
    cands = []
    for i in points:
        cands.append((i, "none", 0))
        cands.append((i, "all", 0))
    while len(cands) < 4 * budget:
        cands.append((rng.choice(points),
                      rng.choice(("prefix", "reorder")), len(cands)))
    cands.sort(key=lambda c: c[0])

    def sweep(chosen, visit):
        model = Model(os.path.join(d, "initial"))
        at = 0
        for c in chosen:
            i, mode, sub = c
            while at < i:
                model.apply(ops[at])
                at += 1
            files, dirs = model.state(
                random.Random("%s-%s-%d" % (seed, name, sub)), mode)
            if visit(c, files, dirs) is False:
                break

    distinct = {}

    def note(c, files, dirs):
        h = hashlib.sha256()
        for p in sorted(files):
            h.update(p.encode() + b"\0" + files[p] + b"\0")
        for p in sorted(dirs):
            h.update(p.encode() + b"/\0")
        distinct.setdefault((h.digest(), acked_at[c[0]]), c)
    sweep(cands, note)
    chosen = sorted(distinct.values())
    if len(chosen) > budget:
        chosen = sorted(rng.sample(chosen, budget))
    state_dir = os.path.join(d, "state")

    def test(c, files, dirs):
        i, mode, _ = c
        materialize(files, dirs, state_dir)
        why = check(state_dir, acked_at[i], ref, inp)
        if why:
            failed = os.path.join(work, "failed")
            materialize(files, dirs, failed)
            last = ops[i - 1] if i > 0 else ("start",)
            die("%s: crash point %d of %d (%s state; after %s): %s; "
                "the state is in %s" % (
                    name, i, len(ops), mode,
                    " ".join(str(x) for x in last[:3]) if last[0] != "out"
                    else "an ack", why, failed))
    sweep(chosen, test)
    shutil.rmtree(state_dir, ignore_errors=True)
    return len(chosen), len(points)


def main():
    if len(sys.argv) != 5:
        print("usage: powerloss.py WORKDIR STATES SEED FAULTINJECT_SO",
              file=sys.stderr)
        sys.exit(64)
    work, states, seed, so = sys.argv[1], int(sys.argv[2]), sys.argv[3], \
        os.path.abspath(sys.argv[4])
    work = os.path.abspath(work)
    gen = run(["evgen", "1200", "--seed", str(seed)]).stdout
    lines = gen.splitlines(keepends=True)

    def fresh(first):
        def prep(d, log):
            run(["evctl", "init", "--segment-bytes", "64K", log])
            with open(os.path.join(d, "first"), "wb") as f:
                f.write(b"".join(lines[:first]))
            run(["evpub", "--batch-events", "7", log],
                stdin=os.path.join(d, "first"))
            return lines, first, lines[first:]
        return prep

    # a writer that first recovers what a killed writer left (a torn tail
    # past a stale head, and a segment rolled but not published), then
    # appends
    def torn(d, log):
        fresh(1000)(d, log)
        head = open(os.path.join(log, "head"), "rb").read()
        with open(os.path.join(d, "more"), "wb") as f:
            f.write(b"".join(lines[1000:1100]))
        run(["evpub", "--batch-events", "7", log],
            stdin=os.path.join(d, "more"))
        segs = sorted(x for x in os.listdir(log) if x.endswith(".seg"))
        seg = os.path.join(log, segs[-1])
        with open(os.path.join(log, "head"), "wb") as f:
            f.write(head)
        os.truncate(seg, os.path.getsize(seg) - 100)
        # what the recovery keeps, then what the run appends
        shutil.copytree(log, os.path.join(d, "probe"))
        run(["evpub", os.path.join(d, "probe")])
        k = run(["evtail", os.path.join(d, "probe")]).stdout.count(b"\n")
        # the torn events never happened: a later event of one of their
        # streams would not follow its stream's version, and evpub
        # rightly refuses it, so those streams go no further
        lost = set(json.loads(x).get("stream") for x in lines[k:1100])
        later = [x for x in lines[1100:]
                 if json.loads(x).get("stream") not in lost]
        return lines[:k] + later, 1000, later[:50]
    r, rpts = scenario(work, "recover", seed, max(1, states // 5), so,
                       torn)
    # appends that roll segments, the writer's pipeline doing group
    # commits of several batches per fsync
    a, apts = scenario(work, "append", seed, states - r, so, fresh(100))


    print("powerloss.py: %d crash states checked: %d of an append "
          "(%d crash points), %d of a recovery (%d crash points)" % (
              a + r, a, apts, r, rpts))


if __name__ == "__main__":
    main()
