#!/usr/bin/env bats
# tests/gaps.bats - a repair loses only the damaged batch: it replaces it
# with a gap marker (evlog(5) Gaps) and keeps the valid batches after it
# readable in the log; readers, groups, cursors, verify and the stream
# state pass over the gap.

load helper
load robust

setup_file() {
	robust_setup_file
}

local_setup() {
	SEG=00000000000000000000
	evgen 300 --seed 5 >"$T/three.ndjson"
	evpub -c --batch-events 100 a.evlog <"$T/three.ndjson"
	cp -a a.evlog orig.evlog
}

# byte position of batch K (0-based) of segment file F
batch_pos() {
	"$EVTEST" batches "$1" | sed -n "$(($2 + 1))p" | cut -d' ' -f1
}

# damage batch 1 (offsets 100 to 199) of a.evlog, and repair it
damage_and_repair() {
	B1=$(batch_pos a.evlog/$SEG.seg 1)
	B2=$(batch_pos a.evlog/$SEG.seg 2)
	"$EVTEST" flip a.evlog/$SEG.seg $((B1 + 64 + 10)) 0x10 >/dev/null
	cp a.evlog/$SEG.seg damaged.seg
	run --separate-stderr evctl repair --truncate-damaged a.evlog
	assert_status 0
	assert_stderr ""
}

GAPWARN="warning: 'a.evlog': offsets 100 to 199 lost to damage and repaired as a gap (100 events); reading on after them"

@test "gaps: repair replaces a damaged batch with a gap and keeps the batches after it" {
	damage_and_repair
	assert_stdout "replaced the damaged bytes $B1 to $((B2 - 1)) of segment $SEG with a gap: offsets 100 to 199 lost (100 events); the raw bytes are in lost+found/$SEG.seg.damaged-offsets-100-199 (evtail reads what is left of them)
rebuilt the indexes of segment $SEG
a.evlog: repaired"
	# the damaged bytes are kept, byte for byte
	cmp <(head -c "$B2" damaged.seg | tail -c +$((B1 + 1))) \
		a.evlog/lost+found/$SEG.seg.damaged-offsets-100-199
	# the batches after the gap are where they were, unchanged
	cmp <(tail -c +$((B2 + 1)) orig.evlog/$SEG.seg) \
		<(tail -c +$((B2 + 1)) a.evlog/$SEG.seg)
	# the segment says it holds gaps (incompatible feature 0x1), beside
	# packed (0x2), which its writer set
	[ "$(od -An -tu4 -j16 -N4 a.evlog/$SEG.seg | tr -d ' ')" = 3 ]
	# readers lose only the damaged batch, say so, and succeed
	run --separate-stderr evtail --template '{id}' a.evlog
	assert_status 0
	assert_stderr "evtail: $GAPWARN"
	assert_stdout "$({ head -n 100 "$T/three.ndjson"; tail -n 100 "$T/three.ndjson"; } | jq -r .id)"
	# the segment read alone too
	run --separate-stderr evtail --template '{offset}' a.evlog/$SEG.seg
	assert_status 0
	assert_stderr "evtail: warning: 'a.evlog/$SEG.seg': offsets 100 to 199 lost to damage and repaired as a gap (100 events); reading on after them"
	[ "${#lines[@]}" -eq 200 ] && [ "${lines[100]}" = 200 ]
	# a position inside the gap reads on after it, naming what it lost
	run --separate-stderr evtail --from 150 -n 1 --template '{offset}' a.evlog
	assert_status 64
	run --separate-stderr evtail --from 150 --count 1 --template '{offset}' a.evlog
	assert_status 0
	assert_stdout 200
	assert_stderr "evtail: warning: 'a.evlog': offsets 150 to 199 lost to damage and repaired as a gap (50 events); reading on after them"
	# reading after the gap does not mention it
	run --separate-stderr evtail --from 200 --count 1 --template '{offset}' a.evlog
	assert_status 0
	assert_stdout 200
	assert_stderr ""
	# and writers append after it
	run --separate-stderr evpub --ack a.evlog T --id after
	assert_status 0
	assert_stdout "300 after"
}

@test "gaps: verify lists gaps and says ok; info counts the events left" {
	damage_and_repair
	run --separate-stderr evctl verify a.evlog
	assert_status 0
	assert_stdout "a.evlog: ok, 200 events in 2 batches, 1 segment, 1 gap (100 events lost)"
	assert_stderr "evctl: gap: offsets 100 to 199 (100 events) lost to damage and repaired, at byte $B1 of segment $SEG"
	run --separate-stderr evctl info --json a.evlog
	assert_status 0
	[ "$(jq .events <<<"$output")" = 200 ]
	[ "$(jq .next_offset <<<"$output")" = 300 ]
	[ "$(jq .gaps <<<"$output")" = 1 ]
	[ "$(jq .gap_events <<<"$output")" = 100 ]
	run --separate-stderr evctl info a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout_line 4 "events:       200"
	assert_stdout_line 5 "offsets:      0 to 299"
	assert_stdout_line 6 "gaps:         1 (100 events lost to damage)"
	# a log without gaps says nothing of them, and 0 in JSON
	run --separate-stderr evctl info orig.evlog
	assert_status 0
	refute grep -q '^gaps:' <<<"$output"
	[ "$(evctl info --json orig.evlog | jq -c '[.gaps, .gap_events]')" = "[0,0]" ]
	# repairing again finds nothing to do
	run --separate-stderr evctl repair --truncate-damaged a.evlog
	assert_status 0
	assert_stdout "a.evlog: repaired"
}

@test "gaps: without --truncate-damaged, repair refuses and says the batches after are kept" {
	local b1
	b1=$(batch_pos a.evlog/$SEG.seg 1)
	"$EVTEST" flip a.evlog/$SEG.seg $((b1 + 64 + 10)) 0x10 >/dev/null
	cp a.evlog/$SEG.seg before.seg
	run --separate-stderr evctl repair a.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: cannot repair 'a.evlog': segment $SEG, offset 100, byte $b1: batch payload checksum mismatch
evctl: data after this point is intact; rerun with --truncate-damaged to replace the damaged batch with a gap, keeping the batches after it (its bytes go to lost+found/)"
	cmp before.seg a.evlog/$SEG.seg
	[ ! -e a.evlog/lost+found ]
	# a dry run says what it would do, and does nothing
	run --separate-stderr evctl repair --dry-run --truncate-damaged a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout_line 0 "would replace the damaged bytes $b1 to $(($(batch_pos a.evlog/$SEG.seg 2) - 1)) of segment $SEG with a gap: offsets 100 to 199 (batch payload checksum mismatch)"
	cmp before.seg a.evlog/$SEG.seg
	[ ! -e a.evlog/lost+found ]
}

@test "gaps: a reader that does not know gaps refuses the segment rather than misread it" {
	damage_and_repair
	# a feature bit this version does not know stands for a newer
	# reader's gaps: the segment is refused, naming the bit
	"$EVTEST" seghdr-flags a.evlog/$SEG.seg 0 4
	run --separate-stderr evtail a.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr_contains "uses incompatible features 0x00000004 unknown to this version of evlog"
}

@test "gaps: groups and cursors pass over a gap" {
	damage_and_repair
	run --separate-stderr evtail --group g --template '{offset}' a.evlog
	assert_status 0
	assert_stderr "evtail: $GAPWARN"
	[ "${#lines[@]}" -eq 200 ]
	[ "$(next_of a.evlog g)" = 300 ]
	run --separate-stderr evctl lag --group g --warn 1 --crit 5 a.evlog
	assert_status 0
	# a group that stopped inside the gap resumes after it
	run --separate-stderr evctl groups --reset g --to 150 --execute a.evlog
	assert_status 0
	run --separate-stderr evtail --group g --count 1 --template '{offset}' a.evlog
	assert_status 0
	assert_stdout 200
	# a cursor likewise
	echo "evlog-cursor 1 log=$(evctl info --json a.evlog | jq -r .id) next=120" >cur
	run --separate-stderr evtail --cursor-file cur --count 2 --template '{offset}' a.evlog
	assert_status 0
	assert_stdout "200
201"
	[ "$(sed 's/.* next=//' cur)" = 202 ]
}

@test "gaps: a gap at the end of a segment covers the offsets up to the next one" {
	evctl init --level 0 --segment-bytes 64K m.evlog >/dev/null
	evgen 3000 --seed 8 | evpub --batch-events 100 m.evlog
	local segs last b n
	segs=$(ls m.evlog/*.seg | wc -l)
	[ "$segs" -ge 3 ]
	# the last batch of the first segment
	last=$("$EVTEST" batches m.evlog/$SEG.seg | tail -n 1)
	read -r b n _ _ <<<"$last"
	"$EVTEST" flip m.evlog/$SEG.seg $((b + 30)) 0x01 >/dev/null
	run --separate-stderr evctl repair --truncate-damaged m.evlog
	assert_status 0
	assert_stdout_contains "offsets $n to $((n + 99)) lost (100 events)"
	run --separate-stderr evtail --template '{offset}' m.evlog
	assert_status 0
	[ "${#lines[@]}" -eq 2900 ]
	[ "$(ls m.evlog/*.seg | wc -l)" -eq "$segs" ]
	run --separate-stderr evctl verify m.evlog
	assert_status 0
}

@test "gaps: a single bit flip anywhere in a batch, then repair, loses at most that batch" {
	# batches over several segments, stored and zstd; the flips fall in
	# batch headers and payloads (a segment header is out of scope)
	local level n=$((16 * ${EVLOG_SOAK_SCALE:-1})) flip k s pos base count len
	local off bit nb
	robust_seed
	for level in 0 1; do
		rm -rf f.evlog
		evctl init --level $level --segment-bytes 64K f.evlog >/dev/null
		evgen 1200 --seed 3 | evpub --batch-events 40 f.evlog
		evtail --template '{offset} {id}' f.evlog >all.txt
		for s in f.evlog/*.seg; do
			"$EVTEST" batches "$s" | sed "s|^|$s |"
		done >batches.txt
		nb=$(wc -l <batches.txt)
		# not i: bats' run sets it
		for ((flip = 0; flip < n; flip++)); do
			rand_below k "$nb"
			read -r s pos base count len < <(sed -n "$((k + 1))p" batches.txt)
			rand_below off $((64 + len))
			rand_below bit 8
			pos=$((pos + off))
			rm -rf c.evlog
			cp -a f.evlog c.evlog
			"$EVTEST" flip "${s/f.evlog/c.evlog}" $pos $((1 << bit)) >/dev/null
			run --separate-stderr evctl repair --truncate-damaged c.evlog
			if [ "$status" -ne 0 ]; then
				echo "level $level, bit $bit of byte $pos of $s: repair exits $status: $stderr"
				return 1
			fi
			# what is left is everything but that batch's events
			if ! evtail --template '{offset} {id}' c.evlog >left.txt 2>err.txt; then
				echo "level $level, bit $bit of byte $pos of $s: evtail: $(cat err.txt)"
				return 1
			fi
			if ! awk -v b="$base" -v c="$count" '$1 < b || $1 >= b + c' all.txt |
				cmp -s - left.txt; then
				echo "level $level, bit $bit of byte $pos of $s: lost more than the batch at offset $base"
				return 1
			fi
			if ! evctl verify -q c.evlog 2>err.txt; then
				echo "level $level, bit $bit of byte $pos of $s: verify: $(cat err.txt)"
				return 1
			fi
		done
	done
}

@test "gaps: a stream keeps counting after versions lost in a gap; evctl streams shows them" {
	local i
	for ((i = 0; i < 30; i++)); do
		echo "{\"type\":\"T\",\"stream\":\"s$((i % 3))\",\"data\":{\"i\":$i}}"
	done >in.ndjson
	evctl init --level 0 s.evlog >/dev/null
	evpub --batch-events 10 s.evlog <in.ndjson
	b1=$(batch_pos s.evlog/$SEG.seg 1)
	"$EVTEST" flip s.evlog/$SEG.seg $((b1 + 64 + 10)) 0x10 >/dev/null
	run --separate-stderr evctl repair --truncate-damaged s.evlog
	assert_status 0
	# offsets 10 to 19 held versions 4 to 7 of s1, 4 to 6 of s0 and s2
	run --separate-stderr evctl streams s.evlog
	assert_status 0
	assert_stdout "STREAM    VERSION     EVENTS        FIRST         LAST      MISSING
s0             10          7            0           27            3
s1             10          6            1           28            4
s2             10          7            2           29            3"
	run --separate-stderr evctl streams --json s.evlog
	assert_status 0
	assert_stdout_line 1 '{"stream":"s1","version":10,"events":6,"first_offset":1,"last_offset":28,"missing_versions":4}'
	assert_stdout_line 0 '{"stream":"s0","version":10,"events":7,"first_offset":0,"last_offset":27,"missing_versions":3}'
	# the next event of s1 follows its last version
	run --separate-stderr evpub --ack s.evlog T --stream s1 --id next
	assert_status 0
	run --separate-stderr evtail --from 30 --template '{stream} {version}' s.evlog
	assert_status 0
	assert_stdout "s1 11"
}

@test "gaps: evdlq reads over a gap in a dead-letter log" {
	evgen 3 --seed 7 | evpub -c l.evlog
	evtail --group g --exec false --retries 0 --dlq dlq l.evlog 2>/dev/null || true
	# one letter per batch: damage the second
	b1=$(batch_pos dlq/$SEG.seg 1)
	"$EVTEST" flip dlq/$SEG.seg $((b1 + 80)) 0x04 >/dev/null
	run --separate-stderr evctl repair --truncate-damaged dlq
	assert_status 0
	assert_stdout_contains "with a gap: offset 1 lost (1 event)"
	run --separate-stderr evdlq ls --json dlq
	assert_status 0
	assert_stderr "evdlq: warning: 'dlq': offset 1 lost to damage and repaired as a gap (1 event); reading on after them"
	[ "$(jq -r .offset <<<"$output" | tr '\n' ' ')" = "0 2 " ]
	run --separate-stderr evdlq stats dlq
	assert_status 0
	assert_stdout_line 0 "open:       2"
}

@test "gaps: evctl streams counts the versions lost in a gap that a snapshot covered" {
	local i
	# enough events that the writer leaves a snapshot covering them all
	for ((i = 0; i < 4500; i++)); do
		echo "{\"type\":\"T\",\"stream\":\"s$((i % 3))\",\"data\":{\"i\":$i}}"
	done >in.ndjson
	evctl init --level 0 s.evlog >/dev/null
	evpub --batch-events 10 s.evlog <in.ndjson
	[ -f s.evlog/state/streams ]
	[ "$(od -An -tu8 -j32 -N8 s.evlog/state/streams | tr -d ' ')" = 4500 ]
	b1=$(batch_pos s.evlog/$SEG.seg 1)
	"$EVTEST" flip s.evlog/$SEG.seg $((b1 + 64 + 10)) 0x10 >/dev/null
	run --separate-stderr evctl repair --truncate-damaged s.evlog
	assert_status 0
	assert_stdout_contains "with a gap: offsets 10 to 19 lost (10 events)"
	assert_stdout_contains "rebuilt the stream and dedupe state: 3 streams"
	assert_stderr ""
	# offsets 10 to 19 held 4 versions of s1, 3 of s0 and s2
	run --separate-stderr evctl streams s.evlog
	assert_status 0
	assert_stdout "STREAM    VERSION     EVENTS        FIRST         LAST      MISSING
s0           1500      1,497            0        4,497            3
s1           1500      1,496            1        4,498            4
s2           1500      1,497            2        4,499            3"
	run --separate-stderr evctl streams --json s.evlog
	assert_status 0
	assert_stdout_line 1 '{"stream":"s1","version":1500,"events":1496,"first_offset":1,"last_offset":4498,"missing_versions":4}'
	# a writer that appends later keeps the count
	evpub --ack s.evlog T --stream s1 --id next >/dev/null
	run --separate-stderr evctl streams --stream-exact s1 --json s.evlog
	assert_status 0
	assert_stdout '{"stream":"s1","version":1501,"events":1497,"first_offset":1,"last_offset":4500,"missing_versions":4}'
}

@test "gaps: a writer that ran through the repair does not bring back the count of the lost events" {
	local i pid
	for ((i = 0; i < 4500; i++)); do
		echo "{\"type\":\"T\",\"stream\":\"s$((i % 3))\",\"data\":{\"i\":$i}}"
	done >in.ndjson
	evctl init --level 0 s.evlog >/dev/null
	mkfifo in.fifo
	evpub --ack --batch-events 10 s.evlog <in.fifo >acks 2>err &
	pid=$!
	exec 5>in.fifo
	cat in.ndjson >&5
	wait_for_lines acks 4500 30
	b1=$(batch_pos s.evlog/$SEG.seg 1)
	"$EVTEST" flip s.evlog/$SEG.seg $((b1 + 64 + 10)) 0x10 >/dev/null
	run --separate-stderr evctl repair --truncate-damaged s.evlog
	assert_status 0
	assert_stdout_contains "with a gap: offsets 10 to 19 lost (10 events)"
	# the writer snapshots its state as it exits: the state as it is
	# now, without the events lost
	exec 5>&-
	wait "$pid"
	# it read the log again for that, over the gap
	[ "$(cat err)" = "evpub: warning: 's.evlog': offsets 10 to 19 lost to damage and repaired as a gap (10 events); reading on after them" ]
	[ "$(od -An -tu8 -j32 -N8 s.evlog/state/streams | tr -d ' ')" = 4500 ]
	run --separate-stderr evctl streams --json s.evlog
	assert_status 0
	assert_stdout_line 1 '{"stream":"s1","version":1500,"events":1496,"first_offset":1,"last_offset":4498,"missing_versions":4}'
}

@test "gaps: evpub says once that it passed over gaps as it rebuilt its stream state" {
	local b1 b2
	evctl init --level 0 g.evlog >/dev/null
	evgen 500 --seed 5 | evpub --batch-events 100 g.evlog
	b1=$(batch_pos g.evlog/$SEG.seg 1)
	b2=$(batch_pos g.evlog/$SEG.seg 3)
	"$EVTEST" flip g.evlog/$SEG.seg $((b1 + 80)) 0x10 >/dev/null
	"$EVTEST" flip g.evlog/$SEG.seg $((b2 + 80)) 0x10 >/dev/null
	repair_out=$(evctl repair --truncate-damaged g.evlog)
	[ "$(grep -c 'with a gap' <<<"$repair_out")" -eq 2 ]
	# no snapshot: the writer replays the log, over both gaps
	[ ! -e g.evlog/state/streams ]
	run --separate-stderr evpub --ack g.evlog T --id one --stream s1
	assert_status 0
	assert_stdout "500 one"
	assert_stderr "evpub: warning: 'g.evlog': offsets 100 to 199 lost to damage and repaired as a gap (100 events); reading on after them"
	# with a snapshot past the gaps, nothing to replay, nothing to say
	evgen 4200 --seed 6 | sed 's/"version":[0-9]*,//' | evpub --batch-events 100 g.evlog 2>/dev/null
	[ -f g.evlog/state/streams ]
	run --separate-stderr evpub --ack g.evlog T --id two --stream s1
	assert_status 0
	assert_stderr ""
}
