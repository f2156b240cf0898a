#!/usr/bin/env bats
# Archives (evctl(1) EXPORT and IMPORT): round trips in each format,
# export to standard output, a snapshot taken while a writer appends,
# reading a log in place with evtail, evreplay and evproject and their
# options, and every error message and exit status.  Hostile archives
# are in archive-hostile.bats.
load helper

IMPORT_USAGE="Usage: evctl import [--max-bytes SIZE] [--quiet] FILE LOG
Try 'evctl --help' for more information."
EXPORT_USAGE="Usage: evctl export [--format FORMAT] [--quiet] -o FILE LOG
Try 'evctl --help' for more information."
SEG=00000000000000000000

# A log of three segments (64 KiB each), 3000 events.
three_segments() {
	evctl init --segment-bytes 65536 "$1" >/dev/null
	evgen 3000 --seed 11 | evpub "$1"
}

@test "export and import round trip in each format" {
	three_segments l.evlog
	evtail l.evlog >want.json
	id=$(evctl info --json l.evlog | jq -r .id)
	nseg=$(ls l.evlog/*.seg | wc -l)
	[ "$nseg" -ge 3 ]
	for f in tar tar.zst tar.gz zip tgz tzst; do
		run --separate-stderr evctl export l.evlog -o "b.$f"
		assert_status 0
		assert_stderr ""
		assert_stdout "l.evlog: 3,000 events (offsets 0 to 2999) in $nseg segments to 'b.$f'"
		run --separate-stderr evctl import "b.$f" "n-$f.evlog"
		assert_status 0
		assert_stderr ""
		assert_stdout "n-$f.evlog: 3,000 events in $nseg segments from 'b.$f'"
		evctl verify -q "n-$f.evlog"
		evtail "n-$f.evlog" | cmp - want.json
		[ "$(evctl info --json "n-$f.evlog" | jq -r .id)" = "$id" ]
		# the new log takes appends
		evgen 5 --seed 3 | sed 's/"version":[0-9]*,//' | evpub "n-$f.evlog"
		[ "$(evtail -o count "n-$f.evlog")" = 3005 ]
	done
	# each file is what its name says
	[ "$(head -c 2 b.zip)" = PK ]
	[ "$(od -An -tx1 -N4 b.tar.zst | tr -d ' ')" = 28b52ffd ]
	[ "$(od -An -tx1 -N2 b.tar.gz | tr -d ' ')" = 1f8b ]
	tar tf b.tar >/dev/null
}

@test "export: the archive holds meta, head, segments, then indexes, under the log's name" {
	three_segments l.evlog
	evtail --group g l.evlog >/dev/null
	evctl streams l.evlog >/dev/null
	evctl export -q l.evlog -o b.tar
	run tar tf b.tar
	assert_status 0
	segs=$(cd l.evlog && ls ./*.seg | sed 's|^\./|l.evlog/|')
	idx=$(cd l.evlog && ls ./*.idx ./*.tix | sed 's|^\./||' |
		sort -t. -k1,1 -k2,2 | sed 's|^|l.evlog/|')
	assert_stdout "l.evlog/
l.evlog/meta
l.evlog/head
$segs
$idx"
	# no lock, groups, state, typecounts: they are not the log's events
	! tar tf b.tar | grep -E 'lock|groups|state|typecounts'
	# --quiet prints nothing; the files are stored as they are
	tar xf b.tar -O l.evlog/$SEG.seg | cmp - l.evlog/$SEG.seg
	tar xf b.tar -O l.evlog/meta | cmp - l.evlog/meta
}

@test "export --format names the format whatever the file's name" {
	make_log l.evlog
	evctl export -q --format zip l.evlog -o out.tar
	[ "$(head -c 2 out.tar)" = PK ]
	evctl export -q --format tar.zst l.evlog -o out.bin
	[ "$(od -An -tx1 -N4 out.bin | tr -d ' ')" = 28b52ffd ]
	evtail out.bin | cmp - <(evtail l.evlog)
	evtail out.tar | cmp - <(evtail l.evlog)
}

@test "export -o - writes the archive to stdout (tar, or --format), and import - reads stdin" {
	make_log l.evlog 40
	run --separate-stderr sh -c 'evctl export l.evlog -o - >s.tar'
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	tar tf s.tar | grep -qx 'l.evlog/meta'
	evctl export --format tar.gz l.evlog -o - | evctl import -q - n.evlog
	evtail n.evlog | cmp - <(evtail l.evlog)
	evctl export --format zip l.evlog -o - >s.zip
	[ "$(head -c 2 s.zip)" = PK ]
	evtail s.zip | cmp - <(evtail l.evlog)
	run --separate-stderr sh -c 'evctl import - m.evlog <s.tar'
	assert_status 0
	assert_stdout "m.evlog: 40 events in 1 segment from '-'"
	# and its errors name it as its report does
	run --separate-stderr sh -c 'printf garbage | evctl import - g.evlog'
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: cannot read archive '-': Unrecognized archive format"
	run --separate-stderr sh -c 'tar cf - l.evlog/meta | evctl import - g.evlog'
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: archive '-' holds no segment of its log"
}

@test "export: of the head segment only the bytes up to the durable end" {
	make_log l.evlog 30
	size=$(stat -c %s l.evlog/$SEG.seg)
	# bytes a writer is writing: past the head's durable end
	head -c 1000 /dev/urandom >>l.evlog/$SEG.seg
	evctl export -q l.evlog -o b.tar
	run sh -c "tar tvf b.tar l.evlog/$SEG.seg | awk '{print \$3}'"
	assert_stdout "$size"
	evctl import -q b.tar n.evlog
	evctl verify -q n.evlog
}

@test "export while a writer appends and segments roll: a consistent snapshot" {
	evctl init --segment-bytes 65536 l.evlog >/dev/null
	evgen 500 --seed 1 | evpub l.evlog
	evgen 20000 --seed 2 | sed 's/"version":[0-9]*,//' >more.ndjson
	split -l 500 more.ndjson part.
	(for p in part.*; do evpub l.evlog <"$p" || exit 1; done) &
	writer=$!
	for k in 1 2 3 4 5; do
		before=$(evtail -o count l.evlog)
		evctl export -q l.evlog -o "s$k.tar.zst"
		evtail "s$k.tar.zst" >"s$k.json"
		n=$(wc -l <"s$k.json")
		# at least what was durable before the export began
		[ "$n" -ge "$before" ]
		evctl import -q "s$k.tar.zst" "n$k.evlog"
		evctl verify -q "n$k.evlog"
	done
	wait "$writer"
	evtail l.evlog >all.json
	# each snapshot is a prefix of the log, event for event
	for k in 1 2 3 4 5; do
		n=$(wc -l <"s$k.json")
		head -n "$n" all.json | cmp - "s$k.json"
	done
	# and the writer was appending meanwhile
	[ "$(wc -l <all.json)" -eq 20500 ]
	[ "$(wc -l <s1.json)" -lt 20500 ]
}

@test "export: a log without a head is exported to where its valid batches end" {
	make_log l.evlog 25
	rm l.evlog/head
	run --separate-stderr evctl export l.evlog -o b.tar
	assert_status 0
	assert_stdout "l.evlog: 25 events (offsets 0 to 24) in 1 segment to 'b.tar'"
	! tar tf b.tar | grep -q head
	evtail b.tar | cmp - <(evtail l.evlog)
}

# ------------------------------------------------------------ reading in place

@test "evtail reads an archive in place, with its selection and position options" {
	three_segments l.evlog
	evctl export -q l.evlog -o b.tar.zst
	evctl export -q l.evlog -o b.zip
	t=$(evtail --from 1500 --count 1 l.evlog | jq -r .time)
	for opts in "" "-n 5" "-n 2500" "--from 2000 --count 3" \
		"--from @$t --count 4" "--since $t -o count" "--type 'Order*' -o count" \
		"--where 'data.amount>50' -o count" "--stream-exact order-5" \
		"-r -n 3" "--until $t -o count" "-o pretty --count 7" "--fields id,type"; do
		eval "evtail $opts l.evlog" >want
		eval "evtail $opts b.tar.zst" | cmp - want
		eval "evtail $opts b.zip" | cmp - want
	done
	# the same events decoded from a memory copy of each segment: nothing
	# was written beside the archive
	[ "$(ls)" = "$(printf '%s\n' b.tar.zst b.zip l.evlog want)" ]
}

@test "evreplay and evproject read an archive in place" {
	three_segments l.evlog
	evctl export -q l.evlog -o b.tar.gz
	evreplay l.evlog >want
	evreplay b.tar.gz | cmp - want
	evreplay --from 1000 --type 'Order*' b.tar.gz | cmp - <(evreplay --from 1000 --type 'Order*' l.evlog)
	evreplay -c --to-log copy.evlog b.tar.gz
	evreplay -c --to-log copy2.evlog l.evlog
	evtail copy.evlog | jq -c 'del(.meta.replayedAt, .meta.replay)' >got
	evtail copy2.evlog | jq -c 'del(.meta.replayedAt, .meta.replay)' | cmp - got
	[ "$(wc -l <got)" = 3000 ]
	evproject --count --by type l.evlog >want
	evproject --count --by type b.tar.gz | cmp - want
	evproject --sum data.amount --by stream --from 100 b.tar.gz |
		cmp - <(evproject --sum data.amount --by stream --from 100 l.evlog)
}

@test "reading an archive whose entries are out of order (tar of a directory)" {
	three_segments l.evlog
	(cd l.evlog && tar cf ../r.tar $(ls ./*.seg | sort -r) head ./*.idx meta)
	evtail r.tar | cmp - <(evtail l.evlog)
	evtail -n 2 r.tar | cmp - <(evtail -n 2 l.evlog)
	evctl import -q r.tar n.evlog
	evtail n.evlog | cmp - <(evtail l.evlog)
}

@test "reading in place: -f and --group are refused, exit 64" {
	make_log l.evlog
	evctl export -q l.evlog -o b.tar
	for f in -f --follow; do
		run --separate-stderr evtail "$f" b.tar
		assert_status 64
		assert_stdout ""
		assert_stderr "evtail: --follow: 'b.tar' is an archive, which does not grow; import it with 'evctl import' to follow the log
$EVTAIL_USAGE"
	done
	run --separate-stderr evtail --group g b.tar
	assert_status 64
	assert_stderr "evtail: --group needs a log directory, not an archive
$EVTAIL_USAGE"
	run --separate-stderr evproject -f --count b.tar
	assert_status 64
	assert_stderr_contains "evproject: --follow: 'b.tar' is an archive, which does not grow"
	run --separate-stderr evproject --count --name p b.tar
	assert_status 64
	assert_stderr_contains "evproject: --name needs a log directory, not an archive"
	run --separate-stderr evproject --status b.tar
	assert_status 64
	assert_stderr_contains "evproject: --status needs a log directory, not an archive"
	# and a segment file, which crashed evproject before
	run --separate-stderr evproject --count --name p l.evlog/$SEG.seg
	assert_status 64
	assert_stderr_contains "evproject: --name needs a log directory, not a segment file"
}

@test "reading in place: damage in an archived segment is reported as in a directory, exit 65" {
	make_log l.evlog 30
	cp -r l.evlog d.evlog
	printf '\377' | dd of=d.evlog/$SEG.seg bs=1 seek=200 conv=notrunc 2>/dev/null
	run --separate-stderr evtail d.evlog
	want=${stderr//d.evlog/b.tar}
	(cd d.evlog && tar cf ../b.tar meta head $SEG.seg)
	run --separate-stderr evtail b.tar
	assert_status 65
	assert_stderr_contains "evtail: damaged data in 'b.tar': segment $SEG, offset 0, byte 64:"
	[ "${stderr%%$'\n'*}" = "${want%%$'\n'*}" ]
}

@test "reading in place: an archive with no log, or damaged, exit 65" {
	echo hello >f.txt
	tar cf nolog.tar f.txt
	run --separate-stderr evtail nolog.tar
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: archive 'nolog.tar' holds no evlog log (no meta file)"
	make_log l.evlog 30
	evctl export -q l.evlog -o b.tar
	head -c 2000 b.tar >cut.tar
	run --separate-stderr evtail cut.tar
	assert_status 65
	assert_stderr_contains "evtail: cannot read archive 'cut.tar': "
	# a segment entry larger than the log's segments may be
	evctl init --segment-bytes 65536 s.evlog >/dev/null
	evgen 10 | evpub s.evlog
	head -c 20000000 /dev/zero >>s.evlog/$SEG.seg
	(cd s.evlog && tar cf ../big.tar meta $SEG.seg)
	run --separate-stderr evtail big.tar
	assert_status 65
	assert_stderr "evtail: archive 'big.tar': segment '$SEG.seg' is larger than the log's segments may be (16977984 bytes)"
	# a file that is neither: as before
	run --separate-stderr evtail f.txt
	assert_status 66
	assert_stderr "evtail: 'f.txt' is not an evlog log or segment"
}

# ------------------------------------------------------------ errors

@test "export: usage errors exit 64" {
	make_log l.evlog
	run --separate-stderr evctl export l.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "evctl: export: -o FILE is required ('-o -' writes to standard output)
$EXPORT_USAGE"
	run --separate-stderr evctl export -o b.tar
	assert_status 64
	assert_stderr "evctl: export: expected one LOG operand
$EXPORT_USAGE"
	run --separate-stderr evctl export -o b.tar l.evlog extra
	assert_status 64
	assert_stderr "evctl: export: expected one LOG operand
$EXPORT_USAGE"
	run --separate-stderr evctl export -o b.rar l.evlog
	assert_status 64
	assert_stderr "evctl: cannot tell the format from the name 'b.rar' (.tar, .tar.zst, .tar.gz or .zip); use --format
$EXPORT_USAGE"
	run --separate-stderr evctl export --format rar -o b.tar l.evlog
	assert_status 64
	assert_stderr "evctl: --format: 'rar' is not tar, tar.zst, tar.gz or zip
$EXPORT_USAGE"
	run --separate-stderr evctl export --bogus -o b.tar l.evlog
	assert_status 64
	assert_stderr "evctl: unrecognized option '--bogus'
$EXPORT_USAGE"
	[ ! -e b.tar ] && [ ! -e b.rar ]
}

@test "export: a missing log exits 66, an unwritable file 74, a damaged log 65" {
	run --separate-stderr evctl export nope.evlog -o b.tar
	assert_status 66
	assert_stdout ""
	assert_stderr "evctl: log 'nope.evlog' does not exist"
	make_log l.evlog
	run --separate-stderr evctl export l.evlog -o no/such/dir/b.tar
	assert_status 74
	assert_stderr "evctl: cannot export 'l.evlog': cannot create 'no/such/dir/b.tar': No such file or directory"
	rm l.evlog/$SEG.seg
	run --separate-stderr evctl export l.evlog -o b.tar
	assert_status 65
	assert_stderr "evctl: cannot export 'l.evlog': damaged data in 'l.evlog': the segment the head names is missing"
	[ -z "$(ls | grep b.tar)" ]
}

@test "export replaces an existing file only once the new archive is complete" {
	make_log l.evlog 10
	echo old >b.tar
	evctl export -q l.evlog -o b.tar
	tar tf b.tar | grep -q meta
	rm l.evlog/$SEG.seg
	run --separate-stderr evctl export l.evlog -o b.tar
	assert_status 65
	tar tf b.tar | grep -q meta
	[ "$(ls)" = "$(printf '%s\n' b.tar gen.ndjson l.evlog)" ]
}

@test "import: usage errors exit 64" {
	run --separate-stderr evctl import b.tar
	assert_status 64
	assert_stdout ""
	assert_stderr "evctl: import: expected FILE and LOG operands
$IMPORT_USAGE"
	run --separate-stderr evctl import --max-bytes lots b.tar n.evlog
	assert_status 64
	assert_stderr "evctl: --max-bytes: 'lots' is not a size (such as 512M or 10G)
$IMPORT_USAGE"
	run --separate-stderr evctl import b.tar n.evlog/
	assert_status 64
	assert_stderr "evctl: 'n.evlog/': name the new log, not a directory"
}

@test "import: an existing LOG exits 73, a missing archive 66, a file that is no archive 65" {
	make_log l.evlog
	evctl export -q l.evlog -o b.tar
	run --separate-stderr evctl import b.tar l.evlog
	assert_status 73
	assert_stdout ""
	assert_stderr "evctl: 'l.evlog' already exists"
	mkdir empty
	run --separate-stderr evctl import b.tar empty
	assert_status 73
	assert_stderr "evctl: 'empty' already exists"
	run --separate-stderr evctl import nope.tar n.evlog
	assert_status 66
	assert_stderr "evctl: cannot open 'nope.tar': No such file or directory"
	echo hello >f.txt
	run --separate-stderr evctl import f.txt n.evlog
	assert_status 65
	assert_stderr "evctl: cannot read archive 'f.txt': Unrecognized archive format"
	tar cf nolog.tar f.txt
	run --separate-stderr evctl import nolog.tar n.evlog
	assert_status 65
	assert_stderr "evctl: archive 'nolog.tar': entry 'f.txt' refused: not a file of a log (meta, head, lock, evdlq.lock, typecounts, segments and their indexes)"
	run --separate-stderr evctl import b.tar no/such/n.evlog
	assert_status 66
	assert_stderr "evctl: cannot open directory 'no/such': No such file or directory"
	[ ! -e n.evlog ]
	[ -z "$(ls -A | grep import)" ]
}

@test "import: a log that does not verify is refused, exit 65, and nothing is left" {
	make_log l.evlog 30
	cp -r l.evlog d.evlog
	printf '\377' | dd of=d.evlog/$SEG.seg bs=1 seek=200 conv=notrunc 2>/dev/null
	(cd d.evlog && tar cf ../d.tar meta head $SEG.seg)
	run --separate-stderr evctl import d.tar n.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: archive 'd.tar' does not hold a sound log: segment $SEG, offset 0, byte 64: batch payload checksum mismatch"
	[ ! -e n.evlog ]
	[ -z "$(ls -A | grep import)" ]
	# no meta
	(cd l.evlog && tar cf ../nometa.tar head $SEG.seg)
	run --separate-stderr evctl import nometa.tar n.evlog
	assert_status 65
	assert_stderr "evctl: archive 'nometa.tar' holds no evlog log (no meta file)"
	# no segment
	(cd l.evlog && tar cf ../noseg.tar meta head)
	run --separate-stderr evctl import noseg.tar n.evlog
	assert_status 65
	assert_stderr "evctl: archive 'noseg.tar' holds no segment of its log"
	[ -z "$(ls -A | grep -e import -e n.evlog)" ]
}

@test "import: indexes missing from the archive are made again; plain files at the top work" {
	three_segments l.evlog
	(cd l.evlog && tar cf ../plain.tar meta head ./*.seg)
	evctl import -q plain.tar n.evlog
	for f in l.evlog/*.idx l.evlog/*.tix; do
		cmp "$f" "n.evlog/${f#l.evlog/}"
	done
	evctl verify -q n.evlog
}

@test "import --max-bytes: an archive that unpacks to more is refused, exit 65" {
	three_segments l.evlog
	evctl export -q l.evlog -o b.tar.zst
	second=$(ls l.evlog/*.seg | sed -n 2p)
	run --separate-stderr evctl import --max-bytes 100K b.tar.zst n.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: archive 'b.tar.zst' unpacks to more than 102400 bytes (at entry '${second#l.evlog/}'): refused
evctl: --max-bytes SIZE raises the limit"
	[ -z "$(ls -A | grep -e import -e n.evlog)" ]
	evctl import -q --max-bytes 1M b.tar.zst n.evlog
}

@test "evctl --help and --version name export, import and libarchive" {
	run --separate-stderr evctl --help
	assert_stdout_contains "evctl export [--format FORMAT] [--quiet] -o FILE LOG"
	assert_stdout_contains "--max-bytes SIZE"
	run --separate-stderr evctl --version
	assert_stdout_contains "libarchive 3."
	for c in export import; do
		run --separate-stderr evctl "$c" --help
		assert_status 0
		assert_stderr ""
		# as every command's --help: evctl's whole help
		assert_stdout_contains "       evctl import [--max-bytes SIZE] [--quiet] FILE LOG"
		assert_stdout_contains "  export LOG    write a snapshot of the log as one archive file"
	done
}

@test "export to a terminal and import from one are refused, exit 64" {
	make_log l.evlog
	# script(1) gives the command a terminal
	run script -qec "evctl export l.evlog -o -" /dev/null
	assert_status 64
	[[ ${output//$'\r'/} == "evctl: will not write an archive to a terminal; redirect standard output
$EXPORT_USAGE"* ]]
	run script -qec "evctl import - n.evlog" /dev/null
	assert_status 64
	[[ ${output//$'\r'/} == "evctl: will not read an archive from a terminal; redirect standard input
$IMPORT_USAGE"* ]]
	[ ! -e n.evlog ]
}

@test "import takes an archive made with tar(1) of a log directory: its summary indexes are made again" {
	make_log a.evlog 40
	[ -f a.evlog/$SEG.six ]
	tar cf u.tar a.evlog
	run --separate-stderr evctl import u.tar u.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "u.evlog: 40 events in 1 segment from 'u.tar'"
	cmp a.evlog/$SEG.six u.evlog/$SEG.six
	run --separate-stderr evctl verify u.evlog
	assert_status 0
	assert_stdout "u.evlog: ok, 40 events in 1 batch, 1 segment"
	evtail u.evlog | cmp - <(evtail a.evlog)
}

@test "export checks the checksums of what it copies: a damaged log exits 65, naming the segment and byte, and leaves no archive" {
	make_log l.evlog 40
	local b
	b=$(od -An -tu4 -j64 -N4 l.evlog/$SEG.seg | tr -d ' ')
	# a payload byte of the first batch
	printf '\001' | dd of=l.evlog/$SEG.seg bs=1 seek=$((64 + 64 + b / 2)) conv=notrunc 2>/dev/null
	run --separate-stderr evctl export l.evlog -o d.tar
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: cannot export 'l.evlog': damaged data in 'l.evlog': segment $SEG.seg, byte 64: batch payload checksum mismatch"
	[ ! -e d.tar ]
}

@test "export counts the events of a log with a gap, not its offsets" {
	evctl init a.evlog
	evgen 300 --seed 8 | evpub --batch-events 100 a.evlog
	local b1
	b1=$((64 + 64 + $(od -An -tu4 -j64 -N4 a.evlog/$SEG.seg | tr -d ' ')))
	printf '\377' | dd of=a.evlog/$SEG.seg bs=1 seek=$((b1 + 64 + 10)) conv=notrunc 2>/dev/null
	evctl repair --truncate-damaged a.evlog >/dev/null
	run --separate-stderr evctl export a.evlog -o g.tar
	assert_status 0
	assert_stderr ""
	assert_stdout "a.evlog: 200 events (offsets 0 to 299) in 1 segment to 'g.tar'"
}
