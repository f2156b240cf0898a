#!/usr/bin/env bats
# tests/bigendian.bats - logs move between byte orders (issue 13, section
# 4).  The host's tools (x86-64, little-endian) and the same tools built
# for s390x (big-endian) and run under qemu, side by side: a log written
# by either reads identically with the other, and the s390x writer writes
# the same bytes as the host's under the deterministic test source.
# tests/bigendian.sh (make check-bigendian) runs this file with
#   EVLOG_BIGENDIAN_HOST   the top of the host's tree (its cmd/, examples/)
#   EVLOG_BIGENDIAN_S390X  build-s390x/run (wrappers that run qemu)
# and without them (make check) every test skips, saying so.

load helper

local_setup() {
	if [ -z "${EVLOG_BIGENDIAN_S390X:-}" ]; then
		skip "runs in 'make check-bigendian' (which make check runs first), with the s390x build under qemu: README.md, Big-endian"
	fi
	H=$EVLOG_BIGENDIAN_HOST/cmd
	S=$EVLOG_BIGENDIAN_S390X/cmd
	DATA=$EVLOG_BIGENDIAN_HOST/tests/data
	GEN=$EVLOG_BIGENDIAN_HOST/examples/evgen
	# the s390x tools really are s390x, behind qemu
	grep -q qemu "$S/evtail"
}

# same TOOL ARGS...: the host's TOOL and the s390x one exit 0 (or
# $SAME_STATUS) and print the same bytes on stdout and on stderr
same() {
	local tool=$1 hs=0 ss=0
	shift
	"$H/$tool" "$@" >h.out 2>h.err || hs=$?
	"$S/$tool" "$@" >s.out 2>s.err || ss=$?
	if [ "$hs" -ne "${SAME_STATUS:-0}" ] || [ "$ss" -ne "$hs" ]; then
		echo "$tool $*: host exit $hs, s390x exit $ss" \
			"(want ${SAME_STATUS:-0})"
		cat h.err s.err
		return 1
	fi
	diff h.out s.out || { echo "$tool $*: stdout differs"; return 1; }
	diff h.err s.err || { echo "$tool $*: stderr differs"; return 1; }
}

# cmp_logs A B: the same files with the same bytes (the state/ directory
# apart: its epoch and locks are per machine)
cmp_logs() {
	local a=$1 b=$2 f rc=0
	diff <(cd "$a" && ls -A) <(cd "$b" && ls -A) || return 1
	for f in $(cd "$a" && ls -A); do
		[ -f "$a/$f" ] || continue
		if ! cmp "$a/$f" "$b/$f"; then
			cmp -l "$a/$f" "$b/$f" | head -n 8
			rc=1
		fi
	done
	return $rc
}

# what a reader shows of log L: every event as JSON, the info, a verify,
# the last events, a time and an offset start, one stream by its index
reads_same() {
	local l=$1 t s
	same evtail -o json "$l"
	[ -s h.out ]
	cp h.out all.json
	same evctl verify "$l"
	same evctl info --json --types "$l"
	same evctl streams --json "$l"
	same evtail -n 7 "$l"
	same evtail -r -o pretty --color always "$l"
	same evtail -o msgpack "$l"
	t=$(jq -r 'select(.offset == 25) | .time' all.json)
	same evtail --from "@$t" --count 20 "$l"
	same evtail --from 30 --count 20 -o cloudevents "$l"
	s=$(jq -r 'select(.stream != null) | .stream' all.json | tail -n 1)
	if [ -n "$s" ]; then
		same evtail --stream "$s" "$l"
		[ -s h.out ]
	fi
	for s in "$l"/*.seg; do
		same evtail "$s"
	done
}

@test "bigendian: the golden logs written on x86-64 read the same on s390x" {
	local l
	# copies: readers may leave caches (typecounts) in a log
	cp -R "$DATA"/golden*.evlog .
	for l in golden golden-multi; do
		reads_same "$l.evlog"
		"$S/evtail" "$l.evlog" | cmp - "$DATA/$l-expected.ndjson"
	done
	same evtail golden-gap.evlog
	grep -q 'offsets 16 to 31 lost to damage' s.err
	cmp s.out "$DATA/golden-gap-expected.ndjson"
	same evctl verify golden-gap.evlog
}

@test "bigendian: fresh x86-64 logs read the same on s390x" {
	"$GEN" 3000 --seed 11 >in.ndjson
	"$H/evctl" init Z >/dev/null
	"$H/evpub" --batch-events 50 Z <in.ndjson
	"$H/evctl" init --level 0 --segment-bytes 64K M >/dev/null
	"$H/evpub" --batch-events 33 M <in.ndjson
	[ "$(ls M/*.seg | wc -l)" -ge 3 ]
	reads_same Z
	reads_same M
	# the golden input's edge cases too: floats, escapes, big integers
	"$H/evpub" -c E <"$DATA/golden-input.ndjson"
	reads_same E
	same evtail --template '{offset} {type} {data}' E
}

@test "bigendian: examples/evgen gives the same events for a seed on s390x" {
	"$GEN" 5000 --seed 13 --streams 40 >h.ndjson
	"$EVLOG_BIGENDIAN_S390X/examples/evgen" 5000 --seed 13 --streams 40 >s.ndjson
	cmp h.ndjson s.ndjson
}

@test "bigendian: s390x writes the bytes x86-64 writes, under the test seed" {
	local w
	"$GEN" 2000 --seed 12 | sed '1~3s/^{"id":"[^"]*",/{/' >in.ndjson
	for w in H S; do
		local bin=$H
		[ "$w" = S ] && bin=$S
		SOURCE_DATE_EPOCH=1700000000 EVLOG_TEST_SEED=42 \
			"$bin/evctl" init --level 0 --segment-bytes 64K "$w-multi" >/dev/null
		SOURCE_DATE_EPOCH=1700000000 EVLOG_TEST_SEED=42 \
			"$bin/evpub" --batch-events 16 "$w-multi" <in.ndjson
		SOURCE_DATE_EPOCH=1700000000 EVLOG_TEST_SEED=42 \
			"$bin/evctl" init "$w-zstd" >/dev/null
		SOURCE_DATE_EPOCH=1700000000 EVLOG_TEST_SEED=42 \
			"$bin/evpub" --batch-events 7 "$w-zstd" \
			<"$DATA/golden-input.ndjson"
	done
	[ "$(ls S-multi/*.seg | wc -l)" -ge 3 ]
	cmp_logs H-multi S-multi
	cmp_logs H-zstd S-zstd
	# and the host reads what s390x wrote as s390x reads it
	reads_same S-multi
	reads_same S-zstd
}

@test "bigendian: a log appended to by turns on x86-64 and s390x stays whole" {
	"$GEN" 900 --seed 13 >in.ndjson
	"$S/evctl" init --level 3 --segment-bytes 64K L >/dev/null
	sed -n '1,300p' in.ndjson | "$S/evpub" --batch-events 20 L
	sed -n '301,600p' in.ndjson | "$H/evpub" --batch-events 20 L
	sed -n '601,900p' in.ndjson | "$S/evpub" --batch-events 20 L
	# the dedupe window is kept across: a resent event is not appended
	sed -n '450p' in.ndjson | "$S/evpub" L
	sed -n '800p' in.ndjson | "$H/evpub" L
	same evctl verify L
	same evtail -o count L
	[ "$(cat h.out)" = 900 ]
	reads_same L
}

@test "bigendian: a consumer group's position moves between x86-64 and s390x" {
	"$GEN" 500 --seed 14 >in.ndjson
	"$H/evpub" -c L <in.ndjson
	"$S/evtail" --group g --count 120 L >s1.json
	"$H/evtail" --group g --count 130 L >h1.json
	"$S/evtail" --group g L >s2.json
	cat s1.json h1.json s2.json | cmp - <("$H/evtail" L)
	same evctl groups --json L
	grep -q '"g"' h.out
	SAME_STATUS=0 same evctl lag --group g --warn 10 --crit 20 L
}
