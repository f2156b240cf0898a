#!/usr/bin/env bats
# tests/powerloss.bats - what a power cut leaves, not just SIGKILL.
#
# SIGKILL keeps the page cache; a power cut loses what was not synced:
# the head file, which writers update in place without a sync, may come
# back older than the synced segments, and the sectors of unsynced writes
# may reach the disk in any order.
#
# tests/faultinject.so records every write, truncate, create, rename,
# unlink, mkdir, fsync and directory fsync of an evpub run, with its acks;
# tests/powerloss.py builds crash states from the record (unsynced writes
# dropped, reordered, torn at a sector; directory changes lost until the
# directory is synced) and checks each one.
#
#   EVLOG_POWERLOSS_STATES  crash states checked (default 300)
#   EVLOG_ROBUST_SEED       replay a run's random choices

load helper
load robust

setup_file() {
	robust_setup_file
}

@test "powerloss: every crash state keeps acked events, shows no garbage and recovers" {
	local states=${EVLOG_POWERLOSS_STATES:-300}
	robust_seed
	run --separate-stderr python3 "$TOP/tests/powerloss.py" "$T" \
		"$states" "$ROBUST_SEED" "$FAULTINJECT"
	echo "$output"
	echo "${stderr:-}"
	assert_status 0
	assert_stderr ""
	[[ $output == "powerloss.py: "*" crash states checked: "* ]]
	# most draws are distinct states; a run that checked few would say
	# little
	local n=${output#powerloss.py: }
	n=${n%% *}
	[ "$n" -ge $((states * 9 / 10)) ]
	echo "# $output" >&3
}

@test "powerloss: the recorder logs each call that changes the log, and the acks" {
	evgen 60 --seed 4 >in.ndjson
	evctl init L >/dev/null
	EVFI_RECORD=$T/rec EVFI_ROOT=$T/L LD_PRELOAD=$FAULTINJECT \
		evpub --ack --batch-events 20 L <in.ndjson >acks
	[ "$(wc -l <acks)" -eq 60 ]
	cut -f1 rec | sort | uniq -c
	# three batches, written a group at a time (those queued together
	# go in one write), each group synced, then its head update and its
	# acks
	local n seg=$T/L/00000000000000000000.seg
	n=$(grep -c "^write	$seg	" rec)
	[ "$n" -ge 1 ] && [ "$n" -le 3 ]
	# the writes follow each other from the header to the end
	[ "$(awk -F'\t' -v p="$seg" '$1 == "write" && $2 == p {
		if ($3 != (e ? e : 64)) gap = 1; e = $3 + $4 }
		END { print gap ? "gap" : e }' rec)" = "$(stat -c %s "$seg")" ]
	grep -q "^fsync	$T/L/00000000000000000000.seg$" rec
	grep -q "^write	$T/L/head	0	64	" rec
	[ "$(cut -f1 rec | grep -c '^out$')" -ge 1 ]
	# the bytes recorded are the bytes written
	local off len at
	IFS=$'\t' read -r _ _ off len at < <(grep "^write	$T/L/0.*seg" rec |
		head -n 1)
	cmp <(tail -c +$((at + 1)) rec.data | head -c "$len") \
		<(tail -c +$((off + 1)) L/00000000000000000000.seg |
			head -c "$len")
	# the first ack follows the first segment sync
	local sync ack
	sync=$(grep -n '^fsync' rec | head -n 1 | cut -d: -f1)
	ack=$(grep -n '^out' rec | head -n 1 | cut -d: -f1)
	[ "$sync" -lt "$ack" ]
	# a consumer group's directory, its state file replaced by a rename,
	# and the directory sync that makes the rename durable
	EVFI_RECORD=$T/rec2 EVFI_ROOT=$T/L LD_PRELOAD=$FAULTINJECT \
		evtail --group g --count 5 L >/dev/null
	cut -f1,2 rec2
	grep -q "^mkdir	$T/L/groups$" rec2
	grep -q "^creat	$T/L/groups/g.group.tmp" rec2
	grep -q "^rename	$T/L/groups/g.group.tmp.*	$T/L/groups/g.group$" rec2
	[ "$(tail -n 1 rec2)" = "dirsync	$T/L/groups" ]
	# nothing outside the root (the acks are stdout's)
	refute grep -v -e "	$T/L" -e '^out	' rec
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
	# the sector holding the end of the first batch and the start of the
	# second lost: however few of the first's bytes it held
	unsynced_fixture
	size=$(stat -c %s L/00000000000000000000.seg)
	dd if=/dev/zero of=L/00000000000000000000.seg bs=512 \
		seek=$((P2 / 512)) count=1 conv=notrunc status=none
	run --separate-stderr evpub L </dev/null
	assert_status 0
	assert_stderr_contains "evpub: truncated a torn tail of $((size - P)) bytes at byte $P of segment"
	evtail L | cmp - before.json
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
