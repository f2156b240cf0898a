#!/usr/bin/env bats
# tests/recovery.bats - the head's recovery point (issue 8, section 5): a
# writer opening a log checks the head segment only from how far writers
# have checked and synced it, and keeps that point right through appends,
# rolls, --sync none, repair and trim.  What a bad recovery point does to
# a damaged log is in tests/corruption.bats.  No test here times anything:
# the bytes a writer reads are counted with strace.

load helper
load robust

setup_file() {
	robust_setup_file
	cd "$BATS_FILE_TMPDIR" || return 1
	# one segment of 5000 events (about 490 KB), with the snapshot its
	# writer leaves at close
	evgen 5000 --seed 42 | evpub -c --batch-events 100 one
	[ -f one/state/streams ] && [ "$(ls one/*.seg | wc -l)" -eq 1 ]
}

local_setup() {
	cp -a "$BATS_FILE_TMPDIR/one" L
	SEG=L/00000000000000000000.seg
}

# "END RECOVERY_POINT" of log $1's head
head_rp() {
	local end rp
	read -r _ end _ rp < <("$EVTEST" head "$1/head")
	echo "$end $rp"
}

# seg_read CMD...: run CMD under strace, one trace file per thread (so no
# call is split), and set READ to the bytes it read from segment files.
# (In a sanitizer build, LeakSanitizer cannot run under ptrace.)
seg_read() {
	rm -f trace.*
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -ff -y -o trace \
		-e trace=read,pread64,readv,preadv,preadv2 "$@" >/dev/null
	READ=$(cat trace.* | awk '/\.seg>/ && $NF ~ /^[0-9]+$/ { n += $NF }
		END { print n + 0 }')
	echo "# $*: $READ bytes read from segments" >&3
}

@test "recovery: a writer opening a big head segment reads only past its recovery point" {
	local size end rp
	size=$(stat -c %s $SEG)
	[ "$(head_rp L)" = "$size $size" ]
	seg_read evpub L T --id one-more
	# the segment header, and no batch: the state comes from the snapshot
	[ "$READ" -lt 4096 ]
	# the control: without a recovery point, the whole segment is read
	"$EVTEST" head-rp L/head 0
	seg_read evpub L T --id and-another
	[ "$READ" -ge "$size" ]
	run --separate-stderr evtail --from 4999 --template '{offset} {id}' L
	assert_status 0
	assert_stdout "4999 $(evtail --from 4999 --template '{id}' "$BATS_FILE_TMPDIR/one")
5000 one-more
5001 and-another"
}

@test "recovery: a log from before recovery points is checked whole once, then from its recovery point" {
	local size end rp
	# what an earlier evpub wrote: 0 in the field, then reserved
	"$EVTEST" head-rp L/head 0
	size=$(stat -c %s $SEG)
	seg_read evpub L T --id first
	[ "$READ" -ge "$size" ]
	read -r end rp < <(head_rp L)
	[ "$rp" -eq "$end" ] && [ "$end" -gt "$size" ]
	seg_read evpub L T --id second
	[ "$READ" -lt 4096 ]
	run --separate-stderr evctl verify L
	assert_status 0
}

@test "recovery: with --sync none the recovery point stays; the next writer checks from there" {
	local end0 rp0 end rp size
	read -r end0 rp0 < <(head_rp L)
	evpub --sync none L <<<'{"type":"A","id":"unsynced"}'
	read -r end rp < <(head_rp L)
	[ "$end" -gt "$end0" ] && [ "$rp" -eq "$rp0" ]
	# the next writer reads the unsynced batch (and the header), not the
	# segment, and records the point past its own synced batch
	seg_read evpub L B --id synced
	[ "$READ" -ge $((end - end0)) ] && [ "$READ" -lt 8192 ]
	read -r end rp < <(head_rp L)
	[ "$rp" -eq "$end" ]
}

@test "recovery: a roll starts the new segment's recovery point at its header" {
	evctl init --segment-bytes 64K S >/dev/null
	evgen 1500 --seed 41 | evpub --batch-events 20 S
	[ "$(ls S/*.seg | wc -l)" -ge 3 ]
	local last end rp
	last=$(ls S/*.seg | tail -n 1)
	read -r end rp < <(head_rp S)
	[ "$rp" -eq "$end" ] && [ "$end" -eq "$(stat -c %s "$last")" ]
	# --sync none after a roll: only the new segment's header is synced
	rm -rf N
	evctl init --segment-bytes 64K --sync none N >/dev/null
	evgen 1500 --seed 41 | evpub --batch-events 20 N
	read -r end rp < <(head_rp N)
	[ "$rp" -eq 64 ] && [ "$end" -gt 64 ]
	run --separate-stderr evpub --sync batch N T
	assert_status 0
	read -r end rp < <(head_rp N)
	[ "$rp" -eq "$end" ]
}

@test "recovery: a torn tail adopted or cut by the next writer moves the recovery point with the end" {
	local size end rp
	size=$(stat -c %s $SEG)
	cp -a L M
	evpub M T --id torn-source
	# half of the next batch: an interrupted write
	tail -c +$((size + 1)) M/00000000000000000000.seg | head -c 30 >>$SEG
	run --separate-stderr evpub L T --id after-torn
	assert_status 0
	assert_stderr "evpub: truncated a torn tail of 30 bytes at byte $size of segment 00000000000000000000 (incomplete batch header)"
	read -r end rp < <(head_rp L)
	[ "$rp" -eq "$end" ]
	run --separate-stderr evctl verify L
	assert_status 0
}

@test "recovery: evctl repair records the end it checked; a cut lowers the recovery point" {
	local end rp b3
	# a bad recovery point in a sound log: repair fixes it, and only it:
	# no event changed, so no head rewrite is reported
	"$EVTEST" head-rp L/head 4000000000
	run --separate-stderr evctl repair L
	assert_status 0
	assert_stderr ""
	assert_stdout "L: repaired"
	read -r end rp < <(head_rp L)
	[ "$rp" -eq "$end" ] && [ "$end" -eq "$(stat -c %s $SEG)" ]
	# damage in the last batch, which no valid batch follows, cut by
	# repair: the end and the recovery point both move back to the cut
	# (damage with valid batches after it becomes a gap: tests/gaps.bats)
	read -r b3 _ _ _ < <("$EVTEST" batches $SEG | tail -n 1)
	"$EVTEST" flip $SEG $((b3 + 100)) 0x08 >/dev/null
	run --separate-stderr evctl repair --truncate-damaged L
	assert_status 0
	[ "$(head_rp L)" = "$b3 $b3" ]
	run --separate-stderr evpub --ack L T --id after-cut
	assert_status 0
	assert_stdout "4900 after-cut"
	read -r end rp < <(head_rp L)
	[ "$rp" -eq "$end" ]
	run --separate-stderr evctl verify L
	assert_status 0
}

@test "recovery: evctl trim leaves the head segment and its recovery point alone" {
	local before
	evctl init --segment-bytes 64K S >/dev/null
	evgen 1500 --seed 41 | evpub --batch-events 20 S
	before=$(head_rp S)
	run --separate-stderr evctl trim --keep-events 100 S
	assert_status 0
	assert_stdout_contains "removed segment 00000000000000000000: "
	[ "$(ls S/*.seg | wc -l)" -eq 1 ]
	[ "$(head_rp S)" = "$before" ]
	seg_read evpub S T --id after-trim
	[ "$READ" -lt 4096 ]
	run --separate-stderr evctl verify S
	assert_status 0
}
