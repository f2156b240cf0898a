#!/usr/bin/env python3
"""mkevil.py LOGDIR OUTDIR SENTINEL - build hostile archives for
tests/archive-hostile.bats.

Each archive starts with the real files of the log LOGDIR (meta, head,
its first segment) under "x.evlog/", so that an importer reads a sound
beginning, and then carries one hostile entry.  SENTINEL is the absolute
path of a file outside any import target: the hostile entries aim at it
or at its directory, and the tests check that it never changes.
"""
import io
import os
import sys
import tarfile
import zipfile

logdir, out, sentinel = sys.argv[1], sys.argv[2], sys.argv[3]
top = "x.evlog"


def log_files():
    names = ["meta", "head"]
    names += sorted(n for n in os.listdir(logdir) if n.endswith(".seg"))
    return [(n, open(os.path.join(logdir, n), "rb").read()) for n in names]


def add_file(t, name, data):
    ti = tarfile.TarInfo(name)
    ti.size = len(data)
    ti.mode = 0o644
    t.addfile(ti, io.BytesIO(data))


def add_special(t, name, kind, target=""):
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.linkname = target
    ti.mode = 0o777 if kind == tarfile.SYMTYPE else 0o644
    if kind in (tarfile.CHRTYPE, tarfile.BLKTYPE):
        ti.devmajor, ti.devminor = 1, 3
    t.addfile(ti)


def tar(name, extra, fmt=tarfile.PAX_FORMAT, first=True):
    """A tar of the log's files, with extra(t) called after them (or
    before them when first is False)."""
    with tarfile.open(os.path.join(out, name), "w", format=fmt) as t:
        if not first:
            extra(t)
        d = tarfile.TarInfo(top)
        d.type = tarfile.DIRTYPE
        d.mode = 0o755
        t.addfile(d)
        for n, data in log_files():
            add_file(t, top + "/" + n, data)
        if first:
            extra(t)


sdir = os.path.dirname(sentinel)
rel = os.path.relpath(sentinel, os.path.join(sdir, "target"))

# ../evil: out of the target, at the sentinel's directory
tar("dotdot.tar", lambda t: add_file(t, "../evil", b"evil\n"))
tar("dotdot-deep.tar",
    lambda t: add_file(t, top + "/../../" + os.path.basename(sentinel),
                       b"evil\n"))
# /abs: the sentinel itself, by its absolute name
tar("abs.tar", lambda t: add_file(t, sentinel, b"evil\n"))
# a symbolic link to the sentinel's directory, then a file through it
def symdir(t):
    add_special(t, top + "/sub", tarfile.SYMTYPE, sdir)
    add_file(t, top + "/sub/" + os.path.basename(sentinel), b"evil\n")
tar("symdir.tar", symdir)
# the log's directory itself a link, first of all
def symtop(t):
    add_special(t, top, tarfile.SYMTYPE, sdir)
    add_file(t, top + "/" + os.path.basename(sentinel), b"evil\n")
with tarfile.open(os.path.join(out, "symtop.tar"), "w",
                  format=tarfile.PAX_FORMAT) as t:
    symtop(t)
# a symbolic link named as a log file, pointing at the sentinel
tar("symfile.tar",
    lambda t: add_special(t, top + "/00000000000000009999.idx",
                          tarfile.SYMTYPE, sentinel))
# a hard link to /etc/passwd, named as a log's file
tar("hardlink.tar",
    lambda t: add_special(t, top + "/typecounts", tarfile.LNKTYPE,
                          "/etc/passwd"))
# a hard link to the sentinel
tar("hardlink-sentinel.tar",
    lambda t: add_special(t, top + "/lock", tarfile.LNKTYPE, sentinel))
# a 10,000-deep path
tar("deep.tar", lambda t: add_file(t, "/".join(["d"] * 10000) + "/meta",
                                   b"evil\n"))
# a device and a FIFO
tar("device.tar",
    lambda t: add_special(t, top + "/typecounts", tarfile.CHRTYPE))
tar("fifo.tar", lambda t: add_special(t, top + "/typecounts",
                                      tarfile.FIFOTYPE))
# the same entry twice: the second would replace the first
tar("dup.tar", lambda t: add_file(t, top + "/meta", b"evlog 1\n"))
# a name a log does not hold
tar("other.tar", lambda t: add_file(t, top + "/groups/g.group", b"x\n"))
# files of two logs
tar("twologs.tar", lambda t: add_file(t, "y.evlog/typecounts", b"x\n"))

# zip bombs: zeros compress about a thousandfold
zeros = b"\0" * (64 << 20)
with zipfile.ZipFile(os.path.join(out, "bomb.zip"), "w",
                     zipfile.ZIP_DEFLATED) as z:
    for n, data in log_files():
        z.writestr(top + "/" + n, data)
    z.writestr(top + "/00000000000000009999.seg", zeros)
with zipfile.ZipFile(os.path.join(out, "bomb-meta.zip"), "w",
                     zipfile.ZIP_DEFLATED) as z:
    z.writestr(top + "/meta", zeros[: 8 << 20])
# a zip whose entries are plain but which is truncated
with zipfile.ZipFile(os.path.join(out, "dotdot.zip"), "w") as z:
    for n, data in log_files():
        z.writestr(top + "/" + n, data)
    z.writestr("../evil", b"evil\n")
