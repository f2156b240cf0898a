#!/usr/bin/env bats
# tests/packed.bats - packed batches (evlog(5) Batches, codec 2, and the
# incompatible feature 'packed' of evlog(5) Segments; issue 15 section
# 5): which segments and batches writers pack, and what verify, repair
# and salvage make of a damaged or torn packed batch.

load helper
load robust

setup_file() {
	robust_setup_file
}

local_setup() {
	SEG=00000000000000000000
	evgen 300 --seed 5 >"$T/three.ndjson"
}

# the incompatible features of segment file $1, in decimal
incompat() {
	od -An -tu4 -j16 -N4 "$1" | tr -d ' '
}

# the codec byte of each batch of segment file $1
codecs() {
	local f=$1 pos len size out=""
	size=$(stat -c %s "$f")
	pos=64
	while [ "$pos" -lt "$size" ]; do
		len=$(od -An -tu4 -j"$pos" -N4 "$f" | tr -d ' ')
		out="$out$(od -An -tu1 -j$((pos + 44)) -N1 "$f" | tr -d ' ')"
		pos=$((pos + 64 + len))
	done
	echo "$out"
}

# byte position of batch K (0-based) of segment file F
batch_pos() {
	"$EVTEST" batches "$1" | sed -n "$(($2 + 1))p" | cut -d' ' -f1
}

@test "packed: every segment a writer creates at a level above 0 has the feature, and its batches are codec 2" {
	evctl init --segment-bytes 64K L >/dev/null
	evgen 2000 --seed 9 | evpub --batch-events 50 L
	[ "$(ls L/*.seg | wc -l)" -ge 3 ]
	for s in L/*.seg; do
		[ "$(incompat "$s")" = 2 ]
		[[ "$(codecs "$s")" =~ ^2+$ ]]
	done
	evgen 2000 --seed 9 | evtail --template '{id}' L >/dev/null
	run --separate-stderr evctl verify L
	assert_status 0
	assert_stderr ""
	# the same events as a log at level 0, which packs nothing
	evctl init --level 0 Z >/dev/null
	evgen 2000 --seed 9 | evpub --batch-events 50 Z
	[ "$(incompat Z/$SEG.seg)" = 0 ]
	[[ "$(codecs Z/$SEG.seg)" =~ ^0+$ ]]
	cmp <(evtail L) <(evtail Z)
	# and -n 10 and a seek read one batch each, as before
	cmp <(evtail -n 10 L) <(evtail -n 10 Z)
	cmp <(evtail --from 1234 --to 1240 L) <(evtail --from 1234 --to 1240 Z)
}

@test "packed: a log written before codec 2 gets codec 1 batches in its old head segment, which keeps its header" {
	local i
	cp -R "$TOP/tests/data/golden-unpacked.evlog" old
	chmod -R u+w old
	[ "$(incompat old/$SEG.seg)" = 0 ]
	# generated ids: UUIDs, which codec 2 would pack
	for i in $(seq 300); do
		echo "{\"type\":\"T\",\"time\":\"2024-01-01T00:00:00.${i}Z\"}"
	done | evpub --batch-events 100 old
	[ "$(incompat old/$SEG.seg)" = 0 ]
	[[ "$(codecs old/$SEG.seg)" =~ ^1+$ ]]
	run --separate-stderr evctl verify old
	assert_status 0
	assert_stdout "old: ok, 363 events in 12 batches, 1 segment"
}

@test "packed: a flipped bit in a packed batch: readers and verify stop at it, exit 65; repair makes it a gap; salvage gives all its events or none" {
	local b1 b2 at n
	for at in 70 500 3000 -20; do
		rm -rf a.evlog
		evctl init a.evlog >/dev/null
		evpub --batch-events 100 a.evlog <"$T/three.ndjson"
		[ "$(codecs a.evlog/$SEG.seg)" = 222 ]
		b1=$(batch_pos a.evlog/$SEG.seg 1)
		b2=$(batch_pos a.evlog/$SEG.seg 2)
		if [ "$at" -lt 0 ]; then
			at=$((b2 - b1 + at))
		fi
		"$EVTEST" flip a.evlog/$SEG.seg $((b1 + at)) 0x10 >/dev/null
		run --separate-stderr evtail a.evlog
		assert_status 65
		assert_stderr_line 0 "evtail: damaged data in 'a.evlog': segment $SEG, offset 100, byte $b1: batch payload checksum mismatch"
		[ "$(printf '%s\n' "$output" | wc -l)" -eq 100 ]
		run --separate-stderr evctl verify a.evlog
		assert_status 65
		run --separate-stderr evctl repair --truncate-damaged a.evlog
		assert_status 0
		run --separate-stderr evtail --template '{offset}' a.evlog
		assert_status 0
		[ "$(printf '%s\n' "$output" | wc -l)" -eq 200 ]
		run --separate-stderr evtail --template '{offset}' \
			a.evlog/lost+found/$SEG.seg.damaged-offsets-100-199
		n=$(printf '%s' "$output" | grep -c . || true)
		if [ "$n" -eq 100 ]; then
			assert_status 0
			assert_stdout "$(seq 100 199)"
			assert_stderr "evtail: warning: 'a.evlog/lost+found/$SEG.seg.damaged-offsets-100-199': bytes 0 to $((b2 - b1 - 1)): batch payload checksum mismatch; recovered offsets 100 to 199 (100 events), unverified: the damage may have changed them"
		else
			[ "$n" -eq 0 ]
			assert_status 65
			assert_stderr_line 0 "evtail: warning: 'a.evlog/lost+found/$SEG.seg.damaged-offsets-100-199': bytes 0 to $((b2 - b1 - 1)): batch payload checksum mismatch; lost offsets 100 to 199 (100 events)"
		fi
	done
}

@test "packed: a torn packed batch at the end: the writer cuts it; salvaged, its bytes give no event, since its frame is not whole" {
	local b2 size
	evctl init a.evlog >/dev/null
	evpub --batch-events 100 a.evlog <"$T/three.ndjson"
	b2=$(batch_pos a.evlog/$SEG.seg 2)
	size=$(stat -c %s a.evlog/$SEG.seg)
	mkdir -p x/lost+found
	head -c $((size - 100)) a.evlog/$SEG.seg >x/lost+found/$SEG.seg
	truncate -s $((size - 100)) a.evlog/$SEG.seg
	run --separate-stderr evctl repair a.evlog
	assert_status 0
	assert_stdout_line 0 "truncated a torn tail of $((size - 100 - b2)) bytes at byte $b2 of segment $SEG"
	run --separate-stderr evtail --template '{offset}' a.evlog
	assert_status 0
	assert_stdout "$(seq 0 199)"
	# a codec 1 frame cut short gives the records of its whole blocks;
	# a packed one keeps its literals last, so none
	run --separate-stderr evtail --template '{offset}' x/lost+found/$SEG.seg
	assert_status 0
	assert_stdout "$(seq 0 199)"
	assert_stderr "evtail: warning: 'x/lost+found/$SEG.seg': bytes $b2 to $((size - 101)): batch cut short by the end of the file; lost offsets 200 to 299 (100 events)"
	# the log goes on, packed
	echo '{"type":"T","data":1}' | evpub a.evlog
	# (one small event does not compress: codec 0)
	[ "$(codecs a.evlog/$SEG.seg)" = 220 ]
	run --separate-stderr evctl verify a.evlog
	assert_status 0
}
