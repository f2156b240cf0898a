#!/usr/bin/env bats
# tests/golden.bats - golden logs (issue 2, section 2.10).  tests/data
# holds logs written by tests/data/regen.sh from fixed input under the
# deterministic test source.  The writer must reproduce them byte for
# byte, and the reader must read them back to the expected JSON.

load helper
load robust

setup_file() {
	robust_setup_file
}

local_setup() {
	DATA=$TOP/tests/data
}

# cmp_logs A B: same files, same bytes; on a difference, say where
cmp_logs() {
	local a=$1 b=$2 f rc=0
	diff <(cd "$a" && ls -A) <(cd "$b" && ls -A) || return 1
	for f in $(cd "$a" && ls -A); do
		if ! cmp "$a/$f" "$b/$f"; then
			echo "$f: first differing bytes (offset, octal a, octal b):"
			cmp -l "$a/$f" "$b/$f" | head -n 8
			rc=1
		fi
	done
	return $rc
}

@test "golden: regenerating under SOURCE_DATE_EPOCH and EVLOG_TEST_SEED reproduces every byte" {
	local have want
	sh "$DATA/regen.sh" "$T"
	cmp_logs "$DATA/golden-multi.evlog" "$T/golden-multi.evlog"
	cmp_logs "$DATA/golden-gap.evlog" "$T/golden-gap.evlog"
	cmp_logs "$DATA/golden-six.evlog" "$T/golden-six.evlog"
	have=$(pkg-config --modversion libzstd 2>/dev/null || echo unknown)
	want=$(cat "$DATA/golden-zstd-version")
	if ! { cmp_logs "$DATA/golden.evlog" "$T/golden.evlog" &&
		cmp_logs "$DATA/golden-packed.evlog" "$T/golden-packed.evlog"; }; then
		[ "$have" = "$want" ] ||
			echo "golden.evlog was compressed by libzstd $want;" \
				"this is $have, whose output may differ"
		return 1
	fi
}

@test "golden: the reader reads the golden logs back to the expected JSON" {
	local l s
	for l in golden golden-multi golden-six golden-packed; do
		run --separate-stderr evtail "$DATA/$l.evlog"
		assert_status 0
		assert_stderr ""
		cmp <(printf '%s\n' "$output") "$DATA/$l-expected.ndjson"
		# segment by segment, as lone files, too
		for s in "$DATA/$l.evlog"/*.seg; do
			evtail "$s"
		done | cmp - "$DATA/$l-expected.ndjson"
		run --separate-stderr evctl verify "$DATA/$l.evlog"
		assert_status 0
		# and the round trip: evtail A | evpub B makes B hold the same
		evtail "$DATA/$l.evlog" | evpub -c "$l.copy"
		evtail "$l.copy" | cmp - "$DATA/$l-expected.ndjson"
	done
	[ "$(wc -l <"$DATA/golden-expected.ndjson")" -eq 63 ]
	[ "$(wc -l <"$DATA/golden-multi-expected.ndjson")" -eq 200 ]
	[ "$(ls "$DATA/golden-multi.evlog"/*.seg | wc -l)" -ge 2 ]
}

@test "golden: a repaired log's gap is read over, with a warning, as evlog(5) Gaps says" {
	local l=$DATA/golden-gap.evlog s=00000000000000000000.seg
	run --separate-stderr evtail "$l"
	assert_status 0
	assert_stderr "evtail: warning: '$l': offsets 16 to 31 lost to damage and repaired as a gap (16 events); reading on after them"
	cmp <(printf '%s\n' "$output") "$DATA/golden-gap-expected.ndjson"
	# the same events as golden-multi.evlog, but for the gap's
	cmp <(jq -c 'select(.offset < 16 or .offset > 31)' \
		"$DATA/golden-multi-expected.ndjson") \
		<(jq -c . "$DATA/golden-gap-expected.ndjson")
	# the segment has the 'gaps' incompatible feature (bit 0)...
	[ "$(od -An -tu4 -j16 -N4 "$l/$s" | tr -d ' ')" = 1 ]
	# ...and the gap marker is laid out as the page says: flags 1, base
	# 16, count 16, no length, codec or CRC, no time
	local g
	g=$(($(od -An -tu4 -j64 -N4 "$l/$s" | tr -d ' ') + 128))
	[ "$(od -An -tu2 -j$((g + 46)) -N2 "$l/$s" | tr -d ' ')" = 1 ]
	[ "$(od -An -tu4 -j$((g + 4)) -N4 "$l/$s" | tr -d ' ')" = 16 ]
	[ "$(od -An -tu8 -j$((g + 8)) -N8 "$l/$s" | tr -d ' ')" = 16 ]
	[ "$(od -An -tu4 -j$((g + 40)) -N4 "$l/$s" | tr -d ' ')" = 0 ]
	[ "$(od -An -tu1 -j$((g + 44)) -N1 "$l/$s" | tr -d ' ')" = 0 ]
	[ "$(od -An -tu4 -j$((g + 56)) -N4 "$l/$s" | tr -d ' ')" = 0 ]
	[ "$(od -An -td8 -j$((g + 16)) -N8 "$l/$s" | tr -d ' ')" = -9223372036854775808 ]
	# the filler is zero bytes up to the next batch
	local len
	len=$(od -An -tu4 -j$g -N4 "$l/$s" | tr -d ' ')
	[ -z "$(od -v -An -tx1 -j$((g + 64)) -N"$len" "$l/$s" | tr -d ' 0\n')" ]
	run --separate-stderr evctl verify "$l"
	assert_status 0
	assert_stdout "$l: ok, 184 events in 12 batches, 2 segments, 1 gap (16 events lost)"
}

# the codec byte of each batch of segment $1
codecs() {
	local f=$1 pos=64 size len out=""
	size=$(stat -c %s "$f")
	while [ $pos -lt "$size" ]; do
		len=$(od -An -tu4 -j$pos -N4 "$f" | tr -d ' ')
		out="$out$(od -An -tu1 -j$((pos + 44)) -N1 "$f" | tr -d ' ')"
		pos=$((pos + 64 + len))
	done
	echo "$out"
}

@test "golden: packed batches (evlog(5) Batches, codec 2): the feature bit, the codec, the edge cases; the unpacked form reads the same" {
	local s=00000000000000000000.seg l
	# incompatible feature 0x2 in the segments of compressed logs...
	[ "$(od -An -tu4 -j16 -N4 "$DATA/golden.evlog/$s" | tr -d ' ')" = 2 ]
	[ "$(od -An -tu4 -j16 -N4 "$DATA/golden-packed.evlog/$s" | tr -d ' ')" = 2 ]
	# ...not in those of a log at level 0, whose batches stay codec 0
	[ "$(od -An -tu4 -j16 -N4 "$DATA/golden-multi.evlog/$s" | tr -d ' ')" = 0 ]
	[ "$(od -An -tu4 -j16 -N4 "$DATA/golden-six.evlog/$s" | tr -d ' ')" = 0 ]
	# codec 2 where a batch has a pattern, 1 where none (golden.evlog's
	# fifth batch has neither a UUID nor a timestamp 64)
	[ "$(codecs "$DATA/golden-packed.evlog/$s")" = 222222 ]
	[ "$(codecs "$DATA/golden.evlog/$s")" = 222212222 ]
	[ "$(codecs "$DATA/golden-unpacked.evlog/$s")" = 111111111 ]
	# the same events as unpacked: golden.evlog as written before codec
	# 2 (kept as it is, not regenerated), and golden-packed's input in a
	# log at level 0
	[ "$(od -An -tu4 -j16 -N4 "$DATA/golden-unpacked.evlog/$s" | tr -d ' ')" = 0 ]
	run --separate-stderr evtail "$DATA/golden-unpacked.evlog"
	assert_status 0
	assert_stderr ""
	cmp <(printf '%s\n' "$output") "$DATA/golden-expected.ndjson"
	run --separate-stderr evctl verify "$DATA/golden-unpacked.evlog"
	assert_status 0
	evctl init --level 0 plain >/dev/null
	evpub --batch-events 5 plain <"$DATA/golden-packed-input.ndjson"
	evtail plain | cmp - "$DATA/golden-packed-expected.ndjson"
	# lookalikes come back as they were
	l=$DATA/golden-packed-expected.ndjson
	grep -qF '"correlationId":"7ZZZZZZZZZZZZZZZZZZZZZZZZZ"' "$l"
	grep -qF '"correlationId":"00000000000000000000000000"' "$l"
	grep -qF '"id":"ffffffff-ffff-ffff-ffff-ffffffffffff"' "$l"
	grep -qF '"time":"1969-12-31T23:59:59.500Z"' "$l"
	grep -qF '"time":"2024-01-01T00:00:00.000000001Z"' "$l"
	grep -qE '"correlationId":"8[0-9A-Z]{25}"' "$l"
	grep -qE '"id":"[0-9A-F]{8}-[0-9A-F]{4}-' "$l"
	grep -qF '"data_base64":"1/8BAgMEBQYHCNkk' "$l"
}

@test "golden: the expected output keeps the edge cases of the input" {
	local e=$DATA/golden-expected.ndjson
	# spot checks, so regenerating the expected output cannot quietly
	# bless a transcoder bug
	grep -qF '"max_u64":18446744073709551615,"min_i64":-9223372036854775808,"max_i64":9223372036854775807' "$e"
	grep -qF '"data_base64":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g/w=="' "$e"
	grep -qF '"a":0.1,"b":-0.0,"c":1e+300,' "$e"
	grep -qF '"i":123456789.12345679,"j":0.30000000000000004' "$e"
	grep -qF '"text":"héllo wörld — 日本語 — 🎉 — é — 😀"' "$e"
	grep -qF 'nul \u0000 ctl \u001f' "$e"
	grep -qF '"data":{"a":1,"a":2,"b":{"c":3,"c":4}}' "$e"
	grep -qF '{"offset":31,"id":"edge-offset-time","type":"OffsetTime","time":"2024-01-01T00:00:00.000Z"' "$e"
	grep -qF '"meta":{"correlationId":"c-1","causationId":"c-0","userId":"u-1","source":"golden","x-custom":{"k":[1,2]}}' "$e"
	# no id and no time: both from the deterministic source
	grep -qF '{"offset":38,"id":"018bcfe5-6800-7434-ae2a-3650dd62f05a","type":"Generated","time":"2023-11-14T22:13:20.000Z"' "$e"
	# the offset on input is ignored
	grep -qF '{"offset":40,"id":"edge-offset-ignored"' "$e"
}

@test "golden: subnormal floats print in the shortest form that round-trips" {
	# kept out of the golden input until this passes: 5e-324 (the
	# smallest subnormal) prints as 4.94065645841247e-324, which reads
	# back to the same double but is not the shortest form
	run --separate-stderr evpub -c L <<<'{"type":"F","data":[5e-324,1e-310,2.2250738585072014e-308]}'
	assert_status 0
	run --separate-stderr evtail --template '{data}' L
	assert_status 0
	assert_stdout '[5e-324,1e-310,2.2250738585072014e-308]'
}

@test "golden: the writer is deterministic when a segment roll meets generated ids" {
	# Events without an id take UUIDv7 random bits from the same source
	# as a new segment's salt.  The parser thread draws the former, the
	# writer thread the latter, so under the test source their order must
	# not depend on timing.
	local r
	evgen 1500 --seed 44 | sed 's/^{"id":"[^"]*",/{/' >noid.ndjson
	for r in 1 2 3 4; do
		SOURCE_DATE_EPOCH=1700000000 EVLOG_TEST_SEED=42 \
			evctl init --level 0 --segment-bytes 64K "R$r" >/dev/null
		SOURCE_DATE_EPOCH=1700000000 EVLOG_TEST_SEED=42 \
			evpub --batch-events 7 "R$r" <noid.ndjson
	done
	[ "$(ls R1/*.seg | wc -l)" -ge 5 ]
	for r in 2 3 4; do
		cmp_logs R1 "R$r"
	done
}

@test "golden: summaries (evlog(5) Summaries): the feature bit, exact and Bloom entries; the old form reads the same" {
	local l=$DATA/golden-six.evlog s=00000000000000000000
	# compatible feature 0x1 in every segment header a writer creates
	[ "$(od -An -tu4 -j12 -N4 "$l/$s.seg" | tr -d ' ')" = 1 ]
	[ "$(od -An -tu4 -j12 -N4 "$DATA/golden-multi.evlog/$s.seg" | tr -d ' ')" = 1 ]
	# header EVSX, version 1, entries of 64, the segment's salt
	[ "$(head -c 8 "$l/$s.six" | od -An -tx1 | tr -d ' ')" = 4556535801004000 ]
	cmp <(tail -c +9 "$l/$s.six" | head -c 8) <(tail -c +33 "$l/$s.seg" | head -c 8)
	# five batches of at least 4 KiB: five entries; the last batch none
	[ "$(stat -c %s "$l/$s.six")" -eq $((16 + 5 * 64)) ]
	# the first a Bloom filter (kind 1), the others exact with two keys
	# (Steady and steady), the fourth three (and Rare)
	[ "$(od -An -tu1 -j$((16 + 16)) -N2 "$l/$s.six" | tr -s ' ')" = " 1 0" ]
	[ "$(od -An -tu1 -j$((16 + 64 + 16)) -N2 "$l/$s.six" | tr -s ' ')" = " 0 2" ]
	[ "$(od -An -tu1 -j$((16 + 3 * 64 + 16)) -N2 "$l/$s.six" | tr -s ' ')" = " 0 3" ]
	# golden-oldform.evlog, written before summaries, reads as golden-multi
	[ ! -e "$DATA/golden-oldform.evlog/$s.six" ]
	[ "$(od -An -tu4 -j12 -N4 "$DATA/golden-oldform.evlog/$s.seg" | tr -d ' ')" = 0 ]
	run --separate-stderr evtail "$DATA/golden-oldform.evlog"
	assert_status 0
	assert_stderr ""
	cmp <(printf '%s\n' "$output") "$DATA/golden-multi-expected.ndjson"
	run --separate-stderr evctl verify "$DATA/golden-oldform.evlog"
	assert_status 0
	# its segments hold the same batches as golden-multi's, but for the
	# header's feature bit and CRC and the append times
	[ "$(stat -c %s "$DATA/golden-oldform.evlog/$s.seg")" -eq \
		"$(stat -c %s "$DATA/golden-multi.evlog/$s.seg")" ]
}
