#!/usr/bin/env bats
# tests/bskip.bats - skipping batches by their summaries (evlog(5)
# Summaries): the summary index NNNN.six says which types and stream
# categories each batch holds, so a read with --type, --category or a
# --stream glob passes by the batches that cannot match without reading
# their payloads.  Results never depend on it: the same output with and
# without skipping (EVLOG_NO_SKIP=1), on logs where types cluster and
# where they do not, on old-form logs and with damaged summaries.

load helper
load robust

setup_file() {
	robust_setup_file
}

local_setup() {
	SEG=00000000000000000000
	DATA=$TOP/tests/data
}

# a log where RefundIssued sits in bursts of 30 events every 2000: about
# 1 batch of 20 holds it (clustered); and one where types do not cluster
clustered_log() {
	evgen 6000 --seed 3 | python3 "$TOP/bench/skipgen.py" --every 2000 \
		--burst 30 >"$T/c.ndjson"
	evpub -c --batch-events 100 c.evlog <"$T/c.ndjson"
}

# same_both LOG ARGS...: evtail ARGS LOG prints the same, and exits the
# same, with skipping and without
same_both() {
	local log=$1 a b
	shift
	# each from the same start: the first may leave a cache of the
	# type counts, which changes when a notice about them comes
	rm -f "$log/typecounts"
	run --separate-stderr evtail "$@" "$log"
	a="$status|$output|$stderr"
	rm -f "$log/typecounts"
	run --separate-stderr env EVLOG_NO_SKIP=1 evtail "$@" "$log"
	b="$status|$output|$stderr"
	if [ "$a" != "$b" ]; then
		echo "evtail $* $log differs with and without skipping" >&2
		diff <(echo "$a") <(echo "$b") | head -n 20 >&2
		return 1
	fi
}

# the filters every log is read with
all_filters() {
	local log=$1 t
	for t in RefundIssued OrderPlaced Rare Steady Mixed03 Mixed11 \
		AccountOpened NoSuchType; do
		same_both "$log" --type "$t" || return 1
		same_both "$log" --type "$t" -o count || return 1
		same_both "$log" --type "$t" --type OrderShipped || return 1
	done
	same_both "$log" --type 'Refund*' || return 1
	for t in order account steady cat1 cart nosuch; do
		same_both "$log" --category "$t" || return 1
		same_both "$log" --stream "$t-*" -o count || return 1
	done
	same_both "$log" --stream 'order-1*' --type RefundIssued || return 1
	same_both "$log" --stream 'o*' -o count || return 1
	same_both "$log" --type RefundIssued --where 'data.amount > 100' ||
		return 1
	same_both "$log" --type RefundIssued -n 3 || return 1
	same_both "$log" --type RefundIssued --from 1500 --to 4500 || return 1
}

# the position of batch K (from 0) of a segment file, from its summary
six_pos() {
	od -An -tu4 -j$((16 + 64 * $2 + 4)) -N4 "$1" | tr -d ' '
}

@test "bskip: the same output with and without skipping, clustered or not, on the golden logs" {
	clustered_log
	# the rare type is in a few batches of 60: clustered
	[ "$(evtail --type RefundIssued -o count c.evlog)" = 90 ]
	evgen 3000 --seed 4 | evpub -c --batch-events 50 u.evlog
	# copies: a read may leave a cache (typecounts) in the log
	for l in golden-six golden-multi golden golden-gap golden-oldform; do
		cp -R "$DATA/$l.evlog" .
	done
	for l in c u golden-six golden-multi golden golden-gap golden-oldform; do
		all_filters $l.evlog
	done
}

@test "bskip: a batch its summary rules out is passed by unread; EVLOG_NO_SKIP=1 reads it" {
	cp -R "$DATA/golden-six.evlog" a.evlog
	# damage the payload of the third batch (Steady events only)
	pos=$(six_pos a.evlog/$SEG.six 2)
	"$EVTEST" flip a.evlog/$SEG.seg $((pos + 64 + 100)) 0x10 >/dev/null
	run --separate-stderr evtail --type Rare -o count a.evlog
	assert_status 0
	assert_stdout 1
	assert_stderr ""
	for v in 1 yes; do
		run --separate-stderr env EVLOG_NO_SKIP=$v evtail --type Rare a.evlog
		assert_status 65
		assert_stdout ""
		assert_stderr_contains "evtail: damaged data in 'a.evlog': segment $SEG, offset 40, byte $pos: batch payload checksum mismatch"
	done
	# EVLOG_NO_SKIP empty or 0 leaves skipping on
	for v in "" 0; do
		run --separate-stderr env EVLOG_NO_SKIP=$v evtail --type Rare -o count a.evlog
		assert_status 0
		assert_stdout 1
	done
	# a category and a stream glob skip as well; a type glob cannot
	run --separate-stderr evtail --category cat0 -o count a.evlog
	assert_status 0
	assert_stdout 7
	run --separate-stderr evtail --stream 'cat2-1*' -o count a.evlog
	assert_status 0
	assert_stdout 3
	run --separate-stderr evtail --type 'Rar*' a.evlog
	assert_status 65
	# a batch that can match is read, and its damage seen
	run --separate-stderr evtail --type Steady a.evlog
	assert_status 65
	# verify reads everything
	run --separate-stderr evctl verify a.evlog
	assert_status 65
}

# payload_reads TRACE POS: the reads of the payload of the batch at POS
payload_reads() {
	grep -c "pread64(.*, $(($2 + 64)))" "$1" || true
}

@test "bskip: the batch where the type probe found the type is read and decompressed once" {
	command -v strace >/dev/null || skip "strace is not installed"
	cp -R "$DATA/golden-six.evlog" a.evlog
	# Rare is in the fourth batch; no type counts, so evtail first looks
	# for one Rare event (it explains a type the log lacks), then reads
	pos=$(six_pos a.evlog/$SEG.six 3)
	want=$(evtail --type Rare a.evlog)
	[ -n "$want" ]
	for v in 0 1; do
		rm -f a.evlog/typecounts
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
			EVLOG_NO_SKIP=$v strace -f -o trace -e trace=pread64 \
			evtail --type Rare a.evlog >out
		[ "$(cat out)" = "$want" ]
		n=$(payload_reads trace "$pos")
		[ "$n" = 1 ] || {
			echo "EVLOG_NO_SKIP=$v: its payload read $n times" >&2
			return 1
		}
	done
}

@test "bskip: EVLOG_NO_SKIP=1 turns the summaries off for the type probe too" {
	command -v strace >/dev/null || skip "strace is not installed"
	cp -R "$DATA/golden-six.evlog" a.evlog
	# -n 0 reads no event, so what is read is the probe's: it looks for
	# one Rare event (in the fourth batch) past the third (Steady only)
	pos=$(six_pos a.evlog/$SEG.six 2)
	for v in 0 1; do
		rm -f a.evlog/typecounts
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
			EVLOG_NO_SKIP=$v strace -f -o trace -e trace=pread64 \
			evtail -n 0 --type Rare a.evlog >out
		[ ! -s out ]
		n=$(payload_reads trace "$pos")
		[ "$n" = "$v" ] || {
			echo "EVLOG_NO_SKIP=$v: the third batch read $n times" >&2
			return 1
		}
	done
}

@test "bskip: old-form logs read the same; a writer adds summaries for what it appends" {
	cp -R "$DATA/golden-oldform.evlog" a.evlog
	[ ! -e a.evlog/$SEG.six ]
	# no compatible feature in the segment header
	[ "$(od -An -tu4 -j12 -N4 a.evlog/$SEG.seg | tr -d ' ')" = 0 ]
	all_filters a.evlog
	run --separate-stderr evctl verify a.evlog
	assert_status 0
	# the head segment gets a summary index for the batches appended
	seg2=00000000000000000192
	evgen 200 --seed 9 | sed 's/"version":[0-9]*,//' |
		evpub --batch-events 50 a.evlog
	[ -s a.evlog/$seg2.six ]
	[ "$(od -An -tu4 -j12 -N4 a.evlog/$seg2.seg | tr -d ' ')" = 0 ]
	run --separate-stderr evctl verify a.evlog
	assert_status 0
	all_filters a.evlog
}

@test "bskip: damaged summaries are not trusted: the same output; verify names them, repair rebuilds them" {
	clustered_log
	cp c.evlog/$SEG.six good.six
	damage() { # damage NAME: a fresh copy of the summary, damaged
		cp good.six c.evlog/$SEG.six
		case $1 in
		flip) "$EVTEST" flip c.evlog/$SEG.six $((16 + 64 * 3 + 20)) 0x01 >/dev/null ;;
		torn) head -c $((16 + 64 * 5 + 30)) good.six >c.evlog/$SEG.six ;;
		zeros) dd if=/dev/zero of=c.evlog/$SEG.six bs=64 seek=3 count=2 conv=notrunc 2>/dev/null ;;
		header) printf 'EVSY' | dd of=c.evlog/$SEG.six conv=notrunc 2>/dev/null ;;
		order) # entries 2 and 3 swapped
			{ head -c $((16 + 64 * 2)) good.six
			  tail -c +$((16 + 64 * 3 + 1)) good.six | head -c 64
			  tail -c +$((16 + 64 * 2 + 1)) good.six | head -c 64
			  tail -c +$((16 + 64 * 4 + 1)) good.six; } >c.evlog/$SEG.six ;;
		other) # another segment's (salt)
			evgen 2000 --seed 3 | evpub -c --batch-events 100 o.evlog
			cp o.evlog/$SEG.six c.evlog/$SEG.six ;;
		missing) rm c.evlog/$SEG.six ;;
		big) { cat good.six; head -c $((64 * 2000)) /dev/zero; } >c.evlog/$SEG.six ;;
		esac
	}
	for d in flip torn zeros header order other; do
		damage $d
		same_both c.evlog --type RefundIssued
		same_both c.evlog --category account -o count
		run --separate-stderr evctl verify c.evlog
		assert_status 65
		assert_stdout ""
		case $d in
		flip) assert_stderr_contains "summary index '$SEG.six': entry 3 has a bad checksum or form" ;;
		torn) assert_stderr_contains "summary index '$SEG.six' ends in a partial entry" ;;
		zeros) assert_stderr_contains "summary index '$SEG.six': entry 2 has a bad checksum or form" ;;
		header | other) assert_stderr_contains "summary index '$SEG.six' has a bad header" ;;
		order) assert_stderr_contains "summary index '$SEG.six': entry 3 does not ascend" ;;
		esac
		assert_stderr_contains "run 'evctl repair c.evlog' to rebuild the indexes"
		run --separate-stderr evctl repair c.evlog
		assert_status 0
		cmp c.evlog/$SEG.six good.six
		run --separate-stderr evctl verify c.evlog
		assert_status 0
	done
	# a missing one is a cache not made: no skipping, nothing wrong
	damage missing
	same_both c.evlog --type RefundIssued
	run --separate-stderr evctl verify c.evlog
	assert_status 0
	damage big
	same_both c.evlog --type RefundIssued
	run --separate-stderr evctl verify c.evlog
	assert_status 65
	assert_stderr_contains "summary index '$SEG.six' has more entries than its segment can need"
}

@test "bskip: a summary that checks out but leaves a type out: verify finds it, repair puts it right" {
	clustered_log
	want=$(EVLOG_NO_SKIP=1 evtail --type RefundIssued c.evlog)
	# make every summary exact and empty, with the right checksum
	python3 - c.evlog/$SEG.six <<'EOF'
import struct, sys
def crc32c(data):
    crc = 0xFFFFFFFF
    for x in data:
        crc ^= x
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
salt = b[8:16]
for at in range(16, len(b), 64):
    b[at + 16:at + 60] = bytes(44)
    struct.pack_into("<I", b, at + 60, crc32c(bytes(b[at:at + 60]) + salt))
open(p, "wb").write(b)
EOF
	# a reader trusts it (a summary that checks out is believed)...
	run --separate-stderr evtail --type RefundIssued -o count c.evlog
	assert_status 0
	assert_stdout 0
	# ...verify does not
	run --separate-stderr evctl verify c.evlog
	assert_status 65
	assert_stderr_contains "summary index '$SEG.six': entry 0 does not match the types and streams of its batch"
	run --separate-stderr evctl repair c.evlog
	assert_status 0
	run --separate-stderr evtail --type RefundIssued c.evlog
	assert_status 0
	[ "$output" = "$want" ]
}

@test "bskip: --upcast maps the wanted types back through retypes; a Lua step turns skipping by type off" {
	{
		echo '{"id":"o1","type":"OldRefund","stream":"pay-1","time":"2026-01-01T00:00:00Z","data":{"a":1}}'
		evgen 1000 --seed 6
		echo '{"id":"o2","type":"Rebate","stream":"pay-2","time":"2026-01-01T00:00:01Z","data":{"a":2}}'
		evgen 1000 --seed 7
	} | sed 's/"version":[0-9]*,//' >in.ndjson
	evpub -c --batch-events 100 a.evlog <in.ndjson
	mkdir up
	cat >up/r.upcast <<'EOF'
type OldRefund
from 1
  retype Rebate
type Rebate
from 1
  default data.b 1
from 2
  retype RefundIssued
EOF
	same_both a.evlog --upcast up --type RefundIssued
	run --separate-stderr evtail --upcast up --type RefundIssued -o count a.evlog
	assert_status 0
	assert_stdout 2
	same_both a.evlog --upcast up --type Rebate
	same_both a.evlog --upcast up --type OldRefund -o count
	same_both a.evlog --upcast up --type OrderPlaced -o count
	same_both a.evlog --upcast up --category pay
	# a Lua step may make anything of its events
	cat >up/r.upcast <<'EOF'
type OldRefund
from 1
EOF
	cat >up/OldRefund.1.lua <<'EOF'
return function(ev) ev.type = "Zed" return ev end
EOF
	if evtail --upcast up --type Zed -o count a.evlog >lua.out 2>lua.err; then
		[ "$(cat lua.out)" = 1 ]
		same_both a.evlog --upcast up --type Zed
	else
		grep -q -i lua lua.err # built without Lua
	fi
	# evreplay reads with skipping too
	run --separate-stderr evreplay --upcast up --type RefundIssued -o json a.evlog
	a=$output
	run --separate-stderr env EVLOG_NO_SKIP=1 evreplay --upcast up --type RefundIssued -o json a.evlog
	[ "$a" = "$output" ]
}

@test "bskip: every writer keeps summaries: evpub, evreplay --to-log, --rewrite, import, repair" {
	clustered_log
	n6() { echo $((($(stat -c %s "$1") - 16) / 64)); }
	[ "$(n6 c.evlog/$SEG.six)" -ge 50 ]
	run --separate-stderr evreplay --to-log r.evlog -c --batch-events 100 c.evlog
	if [ "$status" -ne 0 ]; then # no --batch-events there
		run --separate-stderr evreplay --to-log r.evlog -c c.evlog
		assert_status 0
	fi
	run --separate-stderr evreplay --rewrite c.evlog --rewrite-to w.evlog
	assert_status 0
	run --separate-stderr evctl export -o c.tar c.evlog
	assert_status 0
	run --separate-stderr evctl import c.tar i.evlog
	assert_status 0
	for l in r.evlog w.evlog i.evlog; do
		[ "$(n6 $l/$SEG.six)" -ge 1 ]
		run --separate-stderr evctl verify $l
		assert_status 0
		[ "$(evtail --type RefundIssued -o count $l)" = 90 ]
		same_both $l --type RefundIssued
	done
	# repair writes them from the batches
	rm c.evlog/$SEG.six
	run --separate-stderr evctl repair c.evlog
	assert_status 0
	[ "$(n6 c.evlog/$SEG.six)" -ge 50 ]
	run --separate-stderr evctl verify c.evlog
	assert_status 0
}

@test "bskip: a follower, a group and a seek read the same with skipping" {
	clustered_log
	for g in g1 g2; do
		run --separate-stderr evtail --type RefundIssued -o count --group $g --to 2999 c.evlog
		assert_status 0
		assert_stdout 60
		run --separate-stderr env EVLOG_NO_SKIP=$((g == g2)) evtail --type RefundIssued -o count --group $g c.evlog
		assert_status 0
		assert_stdout 30
	done
	run --separate-stderr evtail --type RefundIssued -o count --from 3000 c.evlog
	a=$output
	run --separate-stderr env EVLOG_NO_SKIP=1 evtail --type RefundIssued -o count --from 3000 c.evlog
	[ "$a" = "$output" ]
	same_both c.evlog --type RefundIssued --from @2024-01-01T00:01:00Z
	# one stream, read through its links, then the log after it
	s=$(evtail --type RefundIssued -n 1 c.evlog | jq -r .stream)
	same_both c.evlog --stream "$s" --type RefundIssued
	same_both c.evlog --stream "$s"
	same_both c.evlog --type RefundIssued --to @2024-01-01T00:02:00Z
}

@test "bskip: a follower skips in what is appended while it follows, and misses nothing" {
	clustered_log
	evtail -f --from 0 --type RefundIssued --template '{offset}' c.evlog >f.out 2>f.err 3>&- &
	BG=$!
	wait_for_lines f.out 90 5
	# 3000 more events, RefundIssued in bursts, in batches of 100
	evgen 3000 --seed 11 | sed 's/"version":[0-9]*,//' |
		python3 "$TOP/bench/skipgen.py" --every 1000 --burst 20 |
		evpub --batch-events 100 c.evlog
	wait_for_lines f.out 150 5
	kill $BG
	wait $BG || true
	run --separate-stderr env EVLOG_NO_SKIP=1 evtail --type RefundIssued --template '{offset}' c.evlog
	assert_status 0
	[ "$output" = "$(cat f.out)" ]
	run cat f.err
	assert_stdout ""
}
