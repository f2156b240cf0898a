#!/usr/bin/env bats
# Hostile archives (evctl(1) IMPORT): tests/mkevil.py builds them, each a
# sound log's files followed by one hostile entry: '../evil', an absolute
# path, symbolic links (to a directory, as the log's directory, as a
# log's file), hard links (to /etc/passwd and to the sentinel), a
# 10,000-deep path, devices, a name twice, two logs, a zip bomb, and a
# truncated archive.  Every import must be refused with exit status 65
# and a message naming the entry, leave neither the target nor its
# temporary directory, and leave the sentinel beside the target - a file
# the hostile entries aim at - exactly as it was.  Reading the same
# archives in place (evtail) writes nothing at all.
load helper

setup_file() {
	E=$(mktemp -d "${BATS_TMPDIR:-/tmp}/evlog-evil.XXXXXX")
	export E
	mkdir "$E/src" "$E/out"
	evctl init --segment-bytes 65536 "$E/src/l.evlog" >/dev/null
	evgen 200 --seed 4 | evpub "$E/src/l.evlog"
	python3 "$TOP/tests/mkevil.py" "$E/src/l.evlog" "$E/out" \
		"$E/parent/sentinel"
}

teardown_file() {
	rm -rf "$E"
}

local_setup() {
	rm -rf "$E/parent"
	mkdir "$E/parent"
	echo "the sentinel" >"$E/parent/sentinel"
	SUM=$(md5sum /etc/passwd)
}

# import ARCHIVE into $E/parent/target: refused, exit 65, the message
# given, and nothing changed beside it
refused() {
	local arc=$1 msg=$2
	run --separate-stderr evctl import "$E/out/$arc" "$E/parent/target"
	assert_status 65
	assert_stdout ""
	assert_stderr "$msg"
	untouched
}

untouched() {
	[ "$(cat "$E/parent/sentinel")" = "the sentinel" ]
	[ "$(ls -A "$E/parent")" = sentinel ]
	[ ! -e "$E/evil" ] && [ ! -e "$E/out/evil" ] && [ ! -e "$T/evil" ]
	[ "$(md5sum /etc/passwd)" = "$SUM" ]
	[ "$(stat -c %h "$E/parent/sentinel")" = 1 ]
}

@test "hostile: ../evil" {
	refused dotdot.tar "evctl: archive '$E/out/dotdot.tar': entry '../evil' refused: a path with '..'"
	refused dotdot.zip "evctl: archive '$E/out/dotdot.zip': entry '../evil' refused: a path with '..'"
	refused dotdot-deep.tar "evctl: archive '$E/out/dotdot-deep.tar': entry 'x.evlog/../../sentinel' refused: a path with '..'"
}

@test "hostile: an absolute path (the sentinel's own)" {
	refused abs.tar "evctl: archive '$E/out/abs.tar': entry '$E/parent/sentinel' refused: an absolute path"
}

@test "hostile: symbolic links - to a directory, as the log's directory, as a log's file" {
	refused symdir.tar "evctl: archive '$E/out/symdir.tar': entry 'x.evlog/sub' refused: a symbolic link to '$E/parent'"
	refused symtop.tar "evctl: archive '$E/out/symtop.tar': entry 'x.evlog' refused: a symbolic link to '$E/parent'"
	refused symfile.tar "evctl: archive '$E/out/symfile.tar': entry 'x.evlog/00000000000000009999.idx' refused: a symbolic link to '$E/parent/sentinel'"
}

@test "hostile: hard links to /etc/passwd and to the sentinel" {
	refused hardlink.tar "evctl: archive '$E/out/hardlink.tar': entry 'x.evlog/typecounts' refused: a hard link to '/etc/passwd'"
	refused hardlink-sentinel.tar "evctl: archive '$E/out/hardlink-sentinel.tar': entry 'x.evlog/lock' refused: a hard link to '$E/parent/sentinel'"
}

@test "hostile: a 10,000-deep path" {
	run --separate-stderr evctl import "$E/out/deep.tar" "$E/parent/target"
	assert_status 65
	assert_stdout ""
	# the name is cut short in the message
	[[ $stderr == "evctl: archive '$E/out/deep.tar': entry 'd/d/d/"*"d/...' refused: its name is too long" ]]
	[ "${#stderr}" -lt 400 ]
	untouched
}

@test "hostile: device files and FIFOs" {
	refused device.tar "evctl: archive '$E/out/device.tar': entry 'x.evlog/typecounts' refused: not a regular file"
	refused fifo.tar "evctl: archive '$E/out/fifo.tar': entry 'x.evlog/typecounts' refused: not a regular file"
}

@test "hostile: an entry twice, names a log does not hold, two logs" {
	refused dup.tar "evctl: archive '$E/out/dup.tar': entry 'x.evlog/meta' refused: it appears twice in the archive"
	refused other.tar "evctl: archive '$E/out/other.tar': entry 'x.evlog/groups/g.group' refused: not a file of a log (meta, head, lock, evdlq.lock, typecounts, segments and their indexes)"
	refused twologs.tar "evctl: archive '$E/out/twologs.tar': entry 'y.evlog/typecounts' refused: it is not in the log's directory 'x.evlog/'"
}

@test "hostile: zip bombs are refused past a size limit, before they are unpacked" {
	# 64 MiB of zeros named as a segment of a log of 64 KiB segments
	[ "$(stat -c %s "$E/out/bomb.zip")" -lt 1000000 ]
	refused bomb.zip "evctl: archive '$E/out/bomb.zip': entry 'x.evlog/00000000000000009999.seg' refused: it is larger than the 16977984 bytes such a file may hold"
	refused bomb-meta.zip "evctl: archive '$E/out/bomb-meta.zip': entry 'x.evlog/meta' refused: it is larger than the 4095 bytes such a file may hold"
	# and with --max-bytes, the total
	refused bomb.zip "evctl: archive '$E/out/bomb.zip': entry 'x.evlog/00000000000000009999.seg' refused: it is larger than the 16977984 bytes such a file may hold"
	run --separate-stderr evctl import --max-bytes 4K "$E/out/bomb.zip" "$E/parent/target"
	assert_status 65
	assert_stderr "evctl: archive '$E/out/bomb.zip' unpacks to more than 4096 bytes (at entry '00000000000000000000.seg'): refused
evctl: --max-bytes SIZE raises the limit"
	untouched
}

@test "hostile: a bomb in a gzip'd tar is refused by the size its header gives" {
	python3 - "$E/src/l.evlog" "$T/lie.tar.gz" <<'EOF'
import io, os, sys, tarfile
src, out = sys.argv[1], sys.argv[2]
with tarfile.open(out, "w:gz") as t:
    for n in ("meta", "head"):
        t.add(os.path.join(src, n), "x.evlog/" + n)
    ti = tarfile.TarInfo("x.evlog/00000000000000000000.seg")
    ti.size = 40 << 20
    t.addfile(ti, io.BytesIO(b"\0" * ti.size))
EOF
	run --separate-stderr evctl import "$T/lie.tar.gz" "$E/parent/target"
	assert_status 65
	assert_stderr "evctl: archive '$T/lie.tar.gz': entry 'x.evlog/00000000000000000000.seg' refused: it is larger than the 16977984 bytes such a file may hold"
	untouched
}

@test "hostile: a truncated archive" {
	evctl export -q "$E/src/l.evlog" -o "$T/ok.tar.zst"
	evctl export -q "$E/src/l.evlog" -o "$T/ok.tar"
	for f in ok.tar.zst ok.tar; do
		size=$(stat -c %s "$T/$f")
		head -c $((size / 2)) "$T/$f" >"$T/cut-$f"
		run --separate-stderr evctl import "$T/cut-$f" "$E/parent/target"
		assert_status 65
		assert_stdout ""
		# the message names the entry where it broke off, if any
		[[ $stderr == "evctl: cannot read archive '$T/cut-$f': "* ||
			$stderr == "evctl: archive '$T/cut-$f' is damaged at entry 'l.evlog/"*"': "* ||
			$stderr == "evctl: archive '$T/cut-$f' is damaged after entry 'l.evlog/"*"': "* ]]
		untouched
	done
}

@test "hostile archives read in place write nothing" {
	for a in "$E"/out/*; do
		(cd "$E/parent" && evtail -o count "$a" >/dev/null 2>&1) || true
		untouched
	done
	# the files a log holds are read; the rest is ignored
	run --separate-stderr evtail -o count "$E/out/dotdot.tar"
	assert_status 0
	assert_stdout 200
	run --separate-stderr evtail "$E/out/dup.tar"
	assert_status 65
	assert_stderr "evtail: archive '$E/out/dup.tar': entry 'x.evlog/meta' appears twice"
	run --separate-stderr evtail "$E/out/twologs.tar"
	assert_status 65
	assert_stderr "evtail: archive '$E/out/twologs.tar' holds more than one log: 'y.evlog/typecounts' is not in 'x.evlog/'"
}

# mkbomb OUT META SEGSIZE: a tar.gz of META, then a segment entry of
# SEGSIZE bytes: the log's real segment header, then zeros.  The gzip is
# one member per MiB of zeros, all the same, so it is quick to make and
# small (about 1 KiB a MiB).
mkbomb() {
	python3 - "$E/src/l.evlog" "$1" "$2" "$3" <<'EOF'
import gzip, io, os, sys, tarfile
src, out, meta, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def hdr(name, n):
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode = n, 0o644
    return ti.tobuf(format=tarfile.USTAR_FORMAT)
def pad(n):
    return b"\0" * (-n % 512)
m = open(meta, "rb").read()
seg = open(os.path.join(src, "00000000000000000000.seg"), "rb").read()[:64]
mib = 1 << 20
assert (size - 64) % mib == 0
head = hdr("x.evlog/meta", len(m)) + m + pad(len(m))
head += hdr("x.evlog/00000000000000000000.seg", size) + seg
zeros = gzip.compress(b"\0" * mib, 9)
with open(out, "wb") as f:
    f.write(gzip.compress(head, 1))
    for _ in range((size - 64) // mib):
        f.write(zeros)
    f.write(gzip.compress(pad(size) + b"\0" * 1024, 1))
EOF
}

@test "hostile: a segment read in place takes at most 256 MiB of memory, whatever the meta allows" {
	sed 's/^segment-bytes .*/segment-bytes 4294967295/' \
		"$E/src/l.evlog/meta" >"$T/meta"
	mkbomb "$T/bomb.tar.gz" "$T/meta" $(((257 << 20) + 64))
	[ "$(stat -c %s "$T/bomb.tar.gz")" -lt 1000000 ]
	for cmd in evtail evreplay; do
		run --separate-stderr $cmd "$T/bomb.tar.gz"
		assert_status 65
		assert_stdout ""
		assert_stderr "$cmd: archive '$T/bomb.tar.gz': segment '00000000000000000000.seg' is larger than 268435456 bytes, more than reading in place holds in memory
$cmd: import it with 'evctl import' to read it"
	done
}

@test "hostile: a zip entry that holds more than its header declares, read in place" {
	python3 - "$E/src/l.evlog" "$T/lie.zip" <<'EOF'
import os, struct, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
seg = open(os.path.join(src, "00000000000000000000.seg"), "rb").read()
big = seg + b"\0" * (8 << 20)
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for n in ("meta", "head"):
        z.write(os.path.join(src, n), "x.evlog/" + n)
    z.writestr("x.evlog/00000000000000000000.seg", big)
b = open(out, "rb").read()
old, new = struct.pack("<I", len(big)), struct.pack("<I", len(seg))
assert b.count(old) == 2
open(out, "wb").write(b.replace(old, new))
EOF
	run --separate-stderr evtail "$T/lie.zip"
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: archive '$T/lie.zip': entry '00000000000000000000.seg' holds more than the $(stat -c %s "$E/src/l.evlog/00000000000000000000.seg") bytes its header declares"
}

@test "hostile: a lock with bytes is imported empty; too many bytes are refused" {
	for n in 5 4097; do
		python3 - "$E/src/l.evlog" "$T/lock$n.tar" "$n" <<'EOF'
import io, os, sys, tarfile
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with tarfile.open(out, "w") as t:
    for f in ("meta", "head", "00000000000000000000.seg"):
        t.add(os.path.join(src, f), "x.evlog/" + f)
    for f in ("lock", "evdlq.lock"):
        ti = tarfile.TarInfo("x.evlog/" + f)
        ti.size = n
        t.addfile(ti, io.BytesIO(b"L" * n))
EOF
	done
	run --separate-stderr evctl import -q "$T/lock5.tar" "$E/parent/target"
	assert_status 0
	assert_stderr ""
	[ "$(stat -c %s "$E/parent/target/lock")" = 0 ]
	[ "$(stat -c %s "$E/parent/target/evdlq.lock")" = 0 ]
	rm -r "$E/parent/target"
	run --separate-stderr evctl import "$T/lock4097.tar" "$E/parent/target"
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: archive '$T/lock4097.tar': entry 'x.evlog/lock' refused: it is larger than the 4096 bytes such a file may hold"
	untouched
}

@test "hostile: a zip entry that holds more than its header declares, imported" {
	python3 - "$E/src/l.evlog" "$T/lie.zip" <<'EOF'
import os, struct, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
seg = open(os.path.join(src, "00000000000000000000.seg"), "rb").read()
big = seg + b"\0" * (8 << 20)
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    for n in ("meta", "head"):
        z.write(os.path.join(src, n), "x.evlog/" + n)
    z.writestr("x.evlog/00000000000000000000.seg", big)
b = open(out, "rb").read()
old, new = struct.pack("<I", len(big)), struct.pack("<I", len(seg))
assert b.count(old) == 2
open(out, "wb").write(b.replace(old, new))
EOF
	run --separate-stderr evctl import "$T/lie.zip" "$E/parent/target"
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: archive '$T/lie.zip': entry 'x.evlog/00000000000000000000.seg' refused: it holds more than the $(stat -c %s "$E/src/l.evlog/00000000000000000000.seg") bytes its header declares"
	untouched
}

@test "hostile: a forged typecounts is not imported: evctl info counts the events" {
	python3 - "$E/src/l.evlog" "$T/counts.tar" <<'EOF'
import io, os, sys, tarfile
src, out = sys.argv[1], sys.argv[2]
lid = [l.split()[1] for l in open(os.path.join(src, "meta")) if l.startswith("id ")][0]
forged = ("evlog-typecounts 1 log=%s from=0 to=200\n999999\tForged\n" % lid).encode()
with tarfile.open(out, "w") as t:
    for f in ("meta", "head", "00000000000000000000.seg"):
        t.add(os.path.join(src, f), "x.evlog/" + f)
    ti = tarfile.TarInfo("x.evlog/typecounts")
    ti.size = len(forged)
    t.addfile(ti, io.BytesIO(forged))
EOF
	run --separate-stderr evctl import -q "$T/counts.tar" "$E/parent/target"
	assert_status 0
	assert_stderr ""
	[ ! -e "$E/parent/target/typecounts" ]
	run --separate-stderr evctl info --types "$E/parent/target"
	assert_status 0
	[[ $output != *Forged* ]]
	[ "$output" = "$(evctl info --types "$E/src/l.evlog" | sed "s|$E/src/l.evlog|$E/parent/target|")" ]
}

@test "hostile: a sparse tar entry declaring 2 GiB is refused by its declared size" {
	mkdir -p "$T/sp/x.evlog"
	cp "$E/src/l.evlog/meta" "$E/src/l.evlog/head" \
		"$E/src/l.evlog/00000000000000000000.seg" "$T/sp/x.evlog/"
	truncate -s 2G "$T/sp/x.evlog/00000000000000000000.seg"
	tar -C "$T/sp" --sparse --format=posix -cf "$T/sparse.tar" x.evlog
	[ "$(stat -c %s "$T/sparse.tar")" -lt 100000 ]
	run --separate-stderr evctl import "$T/sparse.tar" "$E/parent/target"
	assert_status 65
	assert_stderr "evctl: archive '$T/sparse.tar': entry 'x.evlog/00000000000000000000.seg' refused: it is larger than the 16977984 bytes such a file may hold"
	untouched
	run --separate-stderr evtail "$T/sparse.tar"
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: archive '$T/sparse.tar': segment '00000000000000000000.seg' is larger than the log's segments may be (16977984 bytes)"
}

@test "hostile: a file that starts as lrzip or lzop runs no external program" {
	{ printf 'LRZI\0\6'; head -c 100 /dev/zero; } >"$T/x.lrz"
	{ printf '\211LZO\0\r\n\032\n'; head -c 100 /dev/zero; } >"$T/x.lzo"
	for f in x.lrz x.lzo; do
		run --separate-stderr evctl import "$T/$f" "$E/parent/target"
		assert_status 65
		assert_stdout ""
		assert_stderr "evctl: cannot read archive '$T/$f': Unrecognized archive format"
		untouched
	done
	# the filters libarchive runs in-process still read
	python3 - "$E/src/l.evlog" "$T/l" <<'EOF'
import os, sys, tarfile
src, out = sys.argv[1], sys.argv[2]
for m in ("xz", "bz2"):
    with tarfile.open(out + ".tar." + m, "w:" + m) as t:
        for f in ("meta", "head", "00000000000000000000.seg"):
            t.add(os.path.join(src, f), "x.evlog/" + f)
EOF
	for f in l.tar.xz l.tar.bz2; do
		run --separate-stderr evtail -o count "$T/$f"
		assert_status 0
		assert_stdout 200
	done
}

@test "hostile: a bomb of many entries, each under its limit, stops early" {
	# 40 segments of 16 MiB (a real header, then zeros), each within
	# what a log of 64 KiB segments may hold, in a zip of about 1 MiB
	python3 - "$E/src/l.evlog" "$T/many.zip" <<'EOF'
import os, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
hdr = open(os.path.join(src, "00000000000000000000.seg"), "rb").read()[:64]
data = hdr + b"\0" * ((16 << 20) - 64)
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
    z.write(os.path.join(src, "meta"), "x.evlog/meta")
    for i in range(40):
        z.writestr("x.evlog/%020d.seg" % (i << 24), data)
EOF
	[ "$(stat -c %s "$T/many.zip")" -lt 2000000 ]
	run --separate-stderr evctl import "$T/many.zip" "$E/parent/target"
	assert_status 65
	assert_stdout ""
	[[ $stderr == "evctl: archive '$T/many.zip' unpacks to more than 100 times its size (at entry 'x.evlog/"*".seg'): refused
evctl: --max-bytes SIZE sets the limit instead" ]]
	untouched
}
