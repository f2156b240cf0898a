#!/usr/bin/env bats
# tests/powerloss.bats - what a power cut leaves, not just SIGKILL.
#
# SIGKILL keeps the page cache; a power cut loses what was not synced:
# the head file, which writers update in place without a sync, may come
# back older than the synced segments, and the sectors of unsynced writes
# may reach the disk in any order.

load helper
load robust

setup_file() {
	robust_setup_file
}

@test "powerloss: a head older than several rolls: the next writer adopts every segment" {
	evgen 1100 --seed 7 >in.ndjson
	evctl init --segment-bytes 64K L >/dev/null
	head -n 100 in.ndjson | evpub --batch-events 7 L
	cp L/head head.old
	tail -n +101 in.ndjson | evpub --batch-events 7 L
	[ "$(ls L/*.seg | wc -l)" -ge 3 ]
	evtail L >all.json
	# the head is written, never synced: a power cut may keep an old one
	cp head.old L/head
	run --separate-stderr evpub L </dev/null
	assert_status 0
	assert_stderr ""
	run --separate-stderr evctl verify L
	assert_status 0
	evtail L | cmp - all.json
	[ "$(wc -l <all.json)" -eq 1100 ]
}

# A log of 300 events whose last three batches (P..E) were written but
# never published; the head is from before them.  Sets P, P2 (the second
# of those batches) and S, a 512-byte sector inside the first's payload.
unsynced_fixture() {
	rm -rf L
	evgen 360 --seed 9 >in.ndjson
	evctl init L >/dev/null
	head -n 300 in.ndjson | evpub --batch-events 20 L
	cp L/head head.old
	evtail L >before.json
	P=$(stat -c %s L/00000000000000000000.seg)
	tail -n 60 in.ndjson | evpub --batch-events 20 L
	cp head.old L/head
	P2=$("$EVTEST" batches L/00000000000000000000.seg |
		awk -v p="$P" '$1 > p { print $1; exit }')
	S=$(((P + 64 + 511) / 512 * 512))
	echo "batches at $P, $P2; sector at $S"
	[ $((S + 512)) -le "$P2" ]
}

@test "powerloss: a lost sector before later unsynced batches is a torn tail, not damage" {
	unsynced_fixture
	local size
	size=$(stat -c %s L/00000000000000000000.seg)
	# the sector never reached the disk, the later batches did
	dd if=/dev/zero of=L/00000000000000000000.seg bs=512 seek=$((S / 512)) \
		count=1 conv=notrunc status=none
	run --separate-stderr evtail L
	assert_status 0
	cmp <(printf '%s\n' "$output") before.json
	run --separate-stderr evpub L </dev/null
	assert_status 0
	assert_stderr "evpub: truncated a torn tail of $((size - P)) bytes at byte $P of segment 00000000000000000000 (batch payload checksum mismatch)"
	[ "$(stat -c %s L/00000000000000000000.seg)" -eq "$P" ]
	run --separate-stderr evctl verify L
	assert_status 0
	evtail L | cmp - before.json
	# and appends go on from there
	run --separate-stderr evpub --ack L < <(tail -n 60 in.ndjson)
	assert_status 0
	[ "${lines[0]%% *}" = 300 ]
	[ "$(evtail L | wc -l)" -eq 360 ]
}

@test "powerloss: a flipped byte before later batches is still damage" {
	unsynced_fixture
	# one byte changed, not a lost sector: refuse, as before
	printf '\377' | dd of=L/00000000000000000000.seg bs=1 seek=$((S + 100)) \
		conv=notrunc status=none
	run --separate-stderr evpub L </dev/null
	assert_status 65
	assert_stderr_contains "is damaged: segment 00000000000000000000, byte $P: batch payload checksum mismatch; refusing to append"
	# nor are 15 zeros at a sector boundary: too few to be a lost sector
	unsynced_fixture
	dd if=/dev/zero of=L/00000000000000000000.seg bs=1 seek="$S" count=15 \
		conv=notrunc status=none
	run --separate-stderr evpub L </dev/null
	assert_status 65
	assert_stderr_contains "refusing to append"
}

@test "powerloss: index entries a power cut lost are rebuilt by the next writer" {
	evgen 2000 --seed 8 >in.ndjson
	evctl init L >/dev/null
	evpub --batch-events 20 L <in.ndjson
	evtail L >all.json
	# the time index is appended without a sync: an entry in the middle
	# came back as zeros
	[ "$(stat -c %s L/00000000000000000000.tix)" -ge 128 ]
	dd if=/dev/zero of=L/00000000000000000000.tix bs=16 seek=4 count=1 \
		conv=notrunc status=none
	run --separate-stderr evctl verify L
	assert_status 65
	run --separate-stderr evpub L </dev/null
	assert_status 0
	assert_stderr ""
	run --separate-stderr evctl verify L
	assert_status 0
	evtail L | cmp - all.json
	# and the indexes lead readers right
	run --separate-stderr evtail --from 1500 L
	assert_status 0
	cmp <(printf '%s\n' "$output") <(tail -n 500 all.json)
}
