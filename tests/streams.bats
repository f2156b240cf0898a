#!/usr/bin/env bats
# streams: versions and conflicts (evpub), --renumber, --expect-version
# and its race, idempotent appends (dedupe window), evtail --stream,
# --from-version and --category, evctl streams, and the stream state
# across evctl repair and trim.  Exit status, stdout and stderr are
# checked separately.
load helper
load robust

setup_file() {
	robust_setup_file
}

# ev ID STREAM [VERSION]: one event line
ev() {
	printf '{"id":"%s","type":"T","stream":"%s"%s}\n' "$1" "$2" \
		"${3:+,\"version\":$3}"
}

# offset, id, stream and version of each event of LOG
evs() {
	evtail --template '{offset} {id} {stream} {version}' "$1"
}

# L: 1500 generated events in 3 streams of order-* and account-* each,
# in 64 KiB segments (three of them), after the events of stdin, if any
segmented_log() {
	evctl init --segment-bytes 64K L >/dev/null
	evgen 1500 --seed 41 --streams 3 >>gen.ndjson
	evpub --batch-events 20 L <gen.ndjson
	[ "$(evctl info --json L | jq '.segment_list | length')" -eq 3 ]
}

# cut the last 100 bytes off LOG's last segment: a torn tail
tear_tail() {
	local seg
	seg=$(ls "$1"/*.seg | tail -n 1)
	truncate -s $(($(stat -c %s "$seg") - 100)) "$seg"
}

# ------------------------------------------------------------ versions

@test "versions are 1-based and per stream; an event without a version gets the stream's last + 1" {
	{ ev a1 s; ev b1 t; ev a2 s 2; ev a3 s; ev b2 t; } >in.ndjson
	run --separate-stderr evpub -c --ack L -i in.ndjson
	assert_status 0
	assert_stderr ""
	assert_stdout "$(printf '%s\n' '0 a1' '1 b1' '2 a2' '3 a3' '4 b2')"
	run --separate-stderr evs L
	assert_status 0
	assert_stdout "$(printf '%s\n' '0 a1 s 1' '1 b1 t 1' '2 a2 s 2' '3 a3 s 3' '4 b2 t 2')"
	# and a later evpub goes on from there
	ev a4 s | evpub L
	run --separate-stderr evtail --stream s -n 1 --template '{id} {version}' L
	assert_stdout "a4 4"
}

@test "an event without a stream has no version" {
	printf '{"id":"x","type":"T"}\n' | evpub -c L
	run --separate-stderr evtail --template '{id}|{stream}|{version}' L
	assert_status 0
	assert_stdout "x||"
}

@test "evpub: a version other than last + 1 is a conflict: exit 75, nothing from that event on is appended" {
	{ ev a1 s; ev a2 s; } | evpub -c L
	{ ev a3 s; ev b1 t; ev a4 s 7; ev a5 s; ev b2 t; } >in.ndjson
	run --separate-stderr evpub --ack L <in.ndjson
	assert_status 75
	assert_stdout "$(printf '%s\n' '2 a3' '3 b1')"
	assert_stderr "evpub: stdin:3: stream 's' is at version 3, event has version 7
evpub: 2 events appended; stopped at line 3"
	run --separate-stderr evs L
	assert_stdout "$(printf '%s\n' '0 a1 s 1' '1 a2 s 2' '2 a3 s 3' '3 b1 t 1')"
}

@test "evpub: a version of an existing stream's past is a conflict too; a new stream must start at 1" {
	{ ev a1 s; ev a2 s; } | evpub -c L
	run --separate-stderr evpub L -i <(ev a9 s 2)
	assert_status 75
	assert_stdout ""
	assert_stderr_line 0 "evpub: /dev/fd/63:1: stream 's' is at version 2, event has version 2"
	assert_stderr_line 1 "evpub: 0 events appended; stopped at line 1"
	run --separate-stderr evpub L <<<"$(ev n1 new 2)"
	assert_status 75
	assert_stderr "evpub: stdin:1: stream 'new' is at version 0, event has version 2
evpub: 0 events appended; stopped at line 1"
	[ "$(event_count L)" -eq 2 ]
}

@test "evpub: a conflict in the argument form (--expect-version) exits 75 without a line number" {
	evpub -c L T --stream s --id a1
	run --separate-stderr evpub --expect-version 5 --ack L T --stream s --id a2
	assert_status 75
	assert_stdout ""
	assert_stderr "evpub: stream 's' is at version 1, expected 5"
	run --separate-stderr evpub --expect-version 1 --ack L T --stream s --id a2
	assert_status 0
	assert_stdout "1 a2"
	run --separate-stderr evtail --stream s --template '{id} {version}' L
	assert_stdout "$(printf '%s\n' 'a1 1' 'a2 2')"
}

# ------------------------------------------------------------ --renumber

@test "evpub --renumber copies a filtered subset of one log into another with versions from 1, linked afresh" {
	evgen 30 --seed 7 --streams 2 >gen.ndjson
	evpub -c A <gen.ndjson
	# the order-1 events after its first, as evtail prints them
	evtail --stream order-1 --from-version 2 A >sub.ndjson
	local n
	n=$(wc -l <sub.ndjson)
	[ "$n" -ge 3 ]
	# as they are, their versions (2, ...) conflict with a new stream
	run --separate-stderr evpub -c B <sub.ndjson
	assert_status 75
	assert_stderr_line 0 "evpub: stdin:1: stream 'order-1' is at version 0, event has version 2"
	[ "$(event_count B)" -eq 0 ]
	run --separate-stderr evpub --renumber --ack B <sub.ndjson
	assert_status 0
	assert_stderr ""
	assert_stdout "$(jq -r '"\(input_line_number - 1) \(.id)"' sub.ndjson)"
	run --separate-stderr evtail --template '{id} {stream} {version}' B
	assert_stdout "$(jq -r '"\(.id) \(.stream) \(.version - 1)"' sub.ndjson)"
	# read through the stream's links, version by version
	run --separate-stderr evtail --stream order-1 --from-version 2 --template '{version}' B
	assert_status 0
	assert_stdout "$(seq 2 "$n")"
	run --separate-stderr evctl streams --json B
	assert_stdout "{\"stream\":\"order-1\",\"version\":$n,\"events\":$n,\"first_offset\":0,\"last_offset\":$((n - 1)),\"missing_versions\":0}"
}

@test "evpub --renumber numbers after the stream's last version in the target log" {
	{ ev a1 s; ev a2 s; } | evpub -c L
	run --separate-stderr evpub --renumber L <<<"$(ev a3 s 1; ev a4 s 99)"
	assert_status 0
	assert_stderr ""
	run --separate-stderr evs L
	assert_stdout "$(printf '%s\n' '0 a1 s 1' '1 a2 s 2' '2 a3 s 3' '3 a4 s 4')"
}

# ------------------------------------------------------------ --expect-version

@test "--expect-version N: appends when the stream is at N, else exit 75 and nothing" {
	{ ev a1 s; ev a2 s; ev b1 t; } | evpub -c L
	run --separate-stderr evpub --expect-version 2 --ack L <<<"$(ev a3 s; ev a4 s)"
	assert_status 0
	assert_stderr ""
	assert_stdout "$(printf '%s\n' '3 a3' '4 a4')"
	# the stream is at 4 now, not 2
	run --separate-stderr evpub --expect-version 2 --ack L <<<"$(ev a5 s; ev a6 s)"
	assert_status 75
	assert_stdout ""
	assert_stderr "evpub: stdin:1: stream 's' is at version 4, expected 2
evpub: 0 events appended; stopped at line 1"
	run --separate-stderr evs L
	assert_stdout "$(printf '%s\n' '0 a1 s 1' '1 a2 s 2' '2 b1 t 1' '3 a3 s 3' '4 a4 s 4')"
}

@test "--expect-version 0 is a stream that does not exist yet" {
	ev a1 s | evpub -c L
	run --separate-stderr evpub --expect-version 0 --ack L <<<"$(ev n1 new)"
	assert_status 0
	assert_stdout "1 n1"
	run --separate-stderr evpub --expect-version 0 L <<<"$(ev a2 s)"
	assert_status 75
	assert_stderr_line 0 "evpub: stdin:1: stream 's' is at version 1, expected 0"
}

@test "--expect-version N is all or nothing: a conflict later in the input appends none of it" {
	{ ev a1 s; ev a2 s; } | evpub -c L
	run --separate-stderr evpub --expect-version 2 --ack L <<<"$(ev a3 s; ev a4 s 9)"
	assert_status 75
	assert_stdout ""
	assert_stderr "evpub: stdin:2: stream 's' is at version 3, event has version 9
evpub: 0 events appended; stopped at line 2"
	[ "$(event_count L)" -eq 2 ]
}

@test "--expect-version N is all or nothing: a bad line later in the input appends none of it" {
	{ ev a1 s; ev a2 s; } | evpub -c L
	run --separate-stderr evpub --expect-version 2 --ack L <<<"$(ev a3 s; echo '{"type":')"
	assert_status 65
	assert_stdout ""
	assert_stderr_contains "evpub: stdin:2:"
	assert_stderr_contains "0 events appended; stopped at line 2"
	[ "$(event_count L)" -eq 2 ]
}

@test "--expect-version N with events of two streams is a usage error: exit 64, nothing appended" {
	{ ev a1 s; ev b1 t; } | evpub -c L
	run --separate-stderr evpub --expect-version 1 --ack L <<<"$(ev a2 s; ev b2 t)"
	assert_status 64
	assert_stdout ""
	assert_stderr "$(printf '%s\n%s' "evpub: stdin:2: --expect-version 1 needs every event in one stream; this one is in 't', not 's'" "$EVPUB_USAGE")"
	[ "$(event_count L)" -eq 2 ]
}

@test "--expect-version N in the argument form needs --stream: exit 64, nothing appended" {
	ev a1 s | evpub -c L
	run --separate-stderr evpub --expect-version 1 L T
	assert_status 64
	assert_stdout ""
	assert_stderr "$(printf '%s\n%s' "evpub: --expect-version 1 needs the event in a stream: give --stream NAME" "$EVPUB_USAGE")"
	[ "$(event_count L)" -eq 1 ]
	run --separate-stderr evpub --expect-version 1 --ack --id a2 --stream s L T
	assert_status 0
	assert_stdout "1 a2"
	assert_stderr ""
}

@test "a duplicate in the argument form: acked with the original offset, exit 0, counted on stderr" {
	ev a1 s | evpub -c L
	run --separate-stderr evpub --ack --id a1 --stream s L T
	assert_status 0
	assert_stdout "0 a1 duplicate"
	assert_stderr "evpub: 0 appended, 1 duplicate"
	[ "$(event_count L)" -eq 1 ]
}

@test "--expect-version N with an event without a stream is a usage error: exit 64" {
	ev a1 s | evpub -c L
	run --separate-stderr evpub --expect-version 1 L <<<'{"id":"x","type":"T"}'
	assert_status 64
	assert_stdout ""
	assert_stderr "$(printf '%s\n%s' "evpub: stdin:1: --expect-version 1 needs every event in one stream; this one has none" "$EVPUB_USAGE")"
	[ "$(event_count L)" -eq 1 ]
}

@test "--expect-version: an argument that is not a number, none, exists or any exits 64" {
	for v in foo -1 1x ''; do
		run --separate-stderr evpub --expect-version "$v" L
		assert_status 64
		assert_stdout ""
		assert_stderr "$(printf '%s\n%s' "evpub: --expect-version: '$v' is not a version number, none, exists or any" "$EVPUB_USAGE")"
	done
}

@test "--expect-version none: only a stream that does not exist" {
	ev a1 s | evpub -c L
	run --separate-stderr evpub --expect-version none --ack L <<<"$(ev n1 new; ev n2 new; ev m1 other)"
	assert_status 0
	assert_stderr ""
	assert_stdout "$(printf '%s\n' '1 n1' '2 n2' '3 m1')"
	run --separate-stderr evpub --expect-version none --ack L <<<"$(ev x1 fresh; ev a2 s)"
	assert_status 75
	assert_stdout_contains "4 x1"
	assert_stderr_line 0 "evpub: stdin:2: stream 's' is at version 1, expected no stream"
	assert_stderr_line 1 "evpub: 1 event appended; stopped at line 2"
	run --separate-stderr evtail --stream s --template '{id}' L
	assert_stdout "a1"
}

@test "--expect-version exists: only a stream that exists" {
	ev a1 s | evpub -c L
	run --separate-stderr evpub --expect-version exists --ack L <<<"$(ev a2 s)"
	assert_status 0
	assert_stdout "1 a2"
	run --separate-stderr evpub --expect-version exists L <<<"$(ev m1 missing)"
	assert_status 75
	assert_stdout ""
	assert_stderr "evpub: stdin:1: stream 'missing' does not exist, expected it to
evpub: 0 events appended; stopped at line 1"
	run --separate-stderr evtail --stream missing L
	assert_status 0
	assert_stdout ""
}

@test "--expect-version any: always passes, events of several streams, new or not" {
	ev a1 s | evpub -c L
	run --separate-stderr evpub --expect-version any --ack L <<<"$(ev a2 s; ev n1 new; ev a3 s)"
	assert_status 0
	assert_stderr ""
	assert_stdout "$(printf '%s\n' '1 a2' '2 n1' '3 a3')"
	run --separate-stderr evs L
	assert_stdout "$(printf '%s\n' '0 a1 s 1' '1 a2 s 2' '2 n1 new 1' '3 a3 s 3')"
}

@test "--expect-version race: of two writers expecting the same version, exactly one wins, 20 rounds" {
	ev a0 acct | evpub -c L
	local r pa pb sa sb wins=0
	for r in $(seq 1 20); do
		ev "a$r" acct >a.in
		ev "b$r" acct >b.in
		evpub --expect-version "$r" L <a.in >/dev/null 2>a.err &
		pa=$!
		evpub --expect-version "$r" L <b.in >/dev/null 2>b.err &
		pb=$!
		sa=0 sb=0
		wait "$pa" || sa=$?
		wait "$pb" || sb=$?
		if [ "$sa" -eq 0 ]; then
			[ "$sb" -eq 75 ] || { echo "round $r: $sa $sb: $(cat b.err)" >&2; return 1; }
			grep -q "stream 'acct' is at version $((r + 1)), expected $r" b.err
			wins=$((wins + 1))
		else
			[ "$sa" -eq 75 ] && [ "$sb" -eq 0 ] ||
				{ echo "round $r: $sa $sb: $(cat a.err) $(cat b.err)" >&2; return 1; }
			grep -q "stream 'acct' is at version $((r + 1)), expected $r" a.err
		fi
	done
	# one event per round, versions without gaps
	run --separate-stderr evtail --stream acct --template '{version}' L
	assert_stdout "$(seq 1 21)"
	[ "$(event_count L)" -eq 21 ]
}

# ------------------------------------------------------------ idempotent appends

@test "a resent event is a duplicate: not appended, exit 0, acked with the original's offset" {
	{ ev a1 s; ev a2 s; ev b1 t; } | evpub -c L
	run --separate-stderr evpub --ack L <<<"$(ev a1 s; ev a3 s; ev b1 t)"
	assert_status 0
	assert_stdout "$(printf '%s\n' '0 a1 duplicate' '3 a3' '2 b1 duplicate')"
	assert_stderr "evpub: 1 appended, 2 duplicate"
	run --separate-stderr evs L
	assert_stdout "$(printf '%s\n' '0 a1 s 1' '1 a2 s 2' '2 b1 t 1' '3 a3 s 3')"
}

@test "a duplicate within one input is dropped too" {
	run --separate-stderr evpub -c --ack L <<<"$(ev d1 s; ev d1 s)"
	assert_status 0
	assert_stdout "$(printf '%s\n' '0 d1' '0 d1 duplicate')"
	assert_stderr "evpub: 1 appended, 1 duplicate"
	[ "$(event_count L)" -eq 1 ]
}

@test "the duplicate check comes before the version check: a resend with its old version or a stale --expect-version exits 0" {
	{ ev a1 s; ev a2 s; ev a3 s; } | evpub -c L
	# its version (2) is no longer last + 1, but it is already there
	run --separate-stderr evpub --ack L <<<"$(ev a2 s 2)"
	assert_status 0
	assert_stdout "1 a2 duplicate"
	assert_stderr "evpub: 0 appended, 1 duplicate"
	# the relay resends with the expectation it had then
	run --separate-stderr evpub --expect-version 2 --ack L <<<"$(ev a3 s)"
	assert_status 0
	assert_stdout "2 a3 duplicate"
	assert_stderr "evpub: 0 appended, 1 duplicate"
	run --separate-stderr evpub --expect-version none --ack L <<<"$(ev a1 s)"
	assert_status 0
	assert_stdout "0 a1 duplicate"
	[ "$(event_count L)" -eq 3 ]
}

@test "evctl init --dedupe-window N: an id older than the last N events is appended again" {
	run --separate-stderr evctl init --dedupe-window 3 L
	assert_status 0
	assert_stderr ""
	for i in 1 2 3 4; do ev "e$i" s; done | evpub L
	# the window holds e2, e3, e4
	run --separate-stderr evpub --ack L <<<"$(ev e2 s)"
	assert_status 0
	assert_stdout "1 e2 duplicate"
	assert_stderr "evpub: 0 appended, 1 duplicate"
	run --separate-stderr evpub --ack L <<<"$(ev e1 s)"
	assert_status 0
	assert_stdout "4 e1"
	assert_stderr ""
	run --separate-stderr evs L
	assert_stdout "$(printf '%s\n' '0 e1 s 1' '1 e2 s 2' '2 e3 s 3' '3 e4 s 4' '4 e1 s 5')"
}

@test "evctl init --dedupe-window 0 turns deduplication off" {
	evctl init --dedupe-window 0 L
	run --separate-stderr evpub --ack L <<<"$(ev e1 s; ev e1 s)"
	assert_status 0
	assert_stderr ""
	assert_stdout "$(printf '%s\n' '0 e1' '1 e1')"
}

@test "evctl info shows the dedupe window, default 1000000" {
	evctl init D
	evctl init --dedupe-window 42 L
	run --separate-stderr evctl info D
	assert_stdout_contains "dedupe-window 1000000"
	run --separate-stderr evctl info L
	assert_status 0
	assert_stderr ""
	assert_stdout_contains "settings:     segment-bytes 134217728, level 1, sync batch, dedupe-window 42"
	run --separate-stderr evctl info --json L
	[ "$(jq .config.dedupe_window <<<"$output")" = 42 ]
}

@test "evctl init --dedupe-window: a bad number exits 64" {
	for v in -1 abc 1000000001; do
		run --separate-stderr evctl init --dedupe-window "$v" L
		assert_status 64
		assert_stdout ""
		assert_stderr "$(printf '%s\n%s' "evctl: --dedupe-window: '$v' is not a number from 0 to 1000000000" "$(usage_for evctl "$EVCTL_USAGE")")"
		[ ! -e L ]
	done
}

# ------------------------------------------------------------ evtail --stream

# L: streams order, order-1, orders-x, ordering, order-2-a
category_log() {
	{ ev 1 order; ev 2 order-1; ev 3 orders-x; ev 4 ordering; ev 5 order-1
	  ev 6 order; ev 7 order-2-a; ev 8 order-1; } | evpub -c L
}

@test "evtail --stream NAME reads one stream, in order" {
	category_log
	run --separate-stderr evtail --stream order-1 --template '{offset} {stream} {version}' L
	assert_status 0
	assert_stderr ""
	assert_stdout "$(printf '%s\n' '1 order-1 1' '4 order-1 2' '7 order-1 3')"
	# an exact name is exact: not a prefix
	run --separate-stderr evtail --stream order --template '{offset}' L
	assert_stdout "$(printf '%s\n' 0 5)"
	run --separate-stderr evtail --stream nope L
	assert_status 0
	assert_stdout ""
	assert_stderr "evtail: no stream in 'L' matches 'nope'; most common: order-1, order, ordering, orders-x, order-2-a"
}

@test "evtail --stream NAME --from-version N starts at that version" {
	category_log
	run --separate-stderr evtail --stream order-1 --from-version 2 --template '{offset} {version}' L
	assert_status 0
	assert_stderr ""
	assert_stdout "$(printf '%s\n' '4 2' '7 3')"
	run --separate-stderr evtail --stream order-1 --from-version 3 --template '{offset} {version}' L
	assert_stdout "7 3"
	run --separate-stderr evtail --stream order-1 --from-version 4 L
	assert_status 0
	assert_stdout ""
}

@test "evtail --stream NAME -n N prints the stream's last N" {
	category_log
	run --separate-stderr evtail --stream order-1 -n 2 --template '{offset} {version}' L
	assert_status 0
	assert_stderr ""
	assert_stdout "$(printf '%s\n' '4 2' '7 3')"
}

@test "evtail --stream NAME -n N with --type prints the last N that match, not the last N of the stream" {
	printf '%s\n' '{"id":"a","type":"A","stream":"s"}' '{"id":"b","type":"B","stream":"s"}' \
		'{"id":"c","type":"A","stream":"s"}' '{"id":"d","type":"B","stream":"t"}' | evpub -c L
	run --separate-stderr evtail --stream s --type B -n 1 --template '{id} {version}' L
	assert_status 0
	assert_stderr ""
	assert_stdout "b 2"
	run --separate-stderr evtail --stream s --type A -n 5 --template '{id} {version}' L
	assert_status 0
	assert_stdout "$(printf '%s\n' 'a 1' 'c 3')"
	run --separate-stderr evtail --stream s --where 'version>=2' -n 1 --template '{id}' L
	assert_status 0
	assert_stdout "c"
}

# W: streams whose names are globs, one event per batch:
#   0 a?b  1 x*  2 axb  3 xy  4 x*  5 [y]  6 y  7 a?b  8 [y]
glob_names_log() {
	evctl init W >/dev/null
	local s i=0
	for s in 'a?b' 'x*' axb xy 'x*' '[y]' y 'a?b' '[y]'; do
		ev "g$i" "$s" | evpub W >/dev/null
		i=$((i + 1))
	done
}

@test "evtail --stream-exact NAME: names with ?, * and [ taken as they are" {
	glob_names_log
	run --separate-stderr evtail --stream-exact 'a?b' --template '{offset} {stream} {version}' W
	assert_status 0
	assert_stderr ""
	assert_stdout "$(printf '%s\n' '0 a?b 1' '7 a?b 2')"
	# as a glob, the same name matches more
	run --separate-stderr evtail --stream 'a?b' --template '{offset}' W
	assert_stdout "$(printf '%s\n' 0 2 7)"
	run --separate-stderr evtail --stream-exact 'x*' --template '{offset} {stream}' W
	assert_stdout "$(printf '%s\n' '1 x*' '4 x*')"
	run --separate-stderr evtail --stream-exact '[y]' --template '{offset} {stream}' W
	assert_stdout "$(printf '%s\n' '5 [y]' '8 [y]')"
	# repeated, they add up, and mix with --stream
	run --separate-stderr evtail --stream-exact '[y]' --stream-exact 'x*' --stream axb --template '{offset}' W
	assert_stdout "$(printf '%s\n' 1 2 4 5 8)"
	run --separate-stderr evtail --stream-exact nope W
	assert_status 0
	assert_stdout ""
	# --from-version and -n, as with one exact --stream
	run --separate-stderr evtail --stream-exact '[y]' --from-version 2 --template '{offset} {version}' W
	assert_status 0
	assert_stderr ""
	assert_stdout "8 2"
	run --separate-stderr evtail --stream-exact 'x*' -n 1 --template '{offset} {version}' W
	assert_stdout "4 2"
	run --separate-stderr evtail --stream-exact '' W
	assert_status 64
	assert_stdout ""
	assert_stderr "$(printf '%s\n%s' "evtail: --stream-exact: a stream name cannot be empty" "$EVTAIL_USAGE")"
	run --separate-stderr evtail --stream-exact 'x*' --stream-exact y --from-version 1 W
	assert_status 64
	assert_stderr "$(printf '%s\n%s' "evtail: --from-version needs one exact --stream NAME or --stream-exact NAME" "$EVTAIL_USAGE")"
}

@test "evtail --stream-exact NAME reads through the stream index: damage between its events is never read" {
	# x* at offsets 0 and 5001; between them 5000 events of xy, enough
	# for the writer to save a snapshot of the streams, and for the
	# byte index to have entries past them
	evctl init W >/dev/null
	local a
	ev a 'x*' | evpub W >/dev/null
	a=$(stat -c %s W/*.seg)
	evgen 5000 --seed 3 | jq -c '.stream = "xy" | del(.version)' | evpub W
	[ -e W/state/streams ]
	ev c 'x*' | evpub W >/dev/null
	# damage the first batch of xy: a scan stops there
	printf '\xff' | dd of="$(ls W/*.seg)" bs=1 seek=$((a + 20)) conv=notrunc status=none
	run --separate-stderr evtail --stream 'x?' --template '{offset}' W
	assert_status 65
	run --separate-stderr evtail --stream-exact 'x*' --template '{offset} {version}' W
	assert_status 0
	assert_stderr ""
	assert_stdout "$(printf '%s\n' '0 1' '5001 2')"
	run --separate-stderr evtail --stream-exact 'x*' --from-version 2 --template '{offset} {version}' W
	assert_status 0
	assert_stdout "5001 2"
}

@test "evtail --from-version without one exact --stream exits 64" {
	category_log
	for a in "--from-version 1" "--from-version 1 --stream order*" \
		"--from-version 1 --stream order --stream order-1"; do
		# shellcheck disable=SC2086
		run --separate-stderr evtail $a L
		assert_status 64
		assert_stdout ""
		assert_stderr "$(printf '%s\n%s' "evtail: --from-version needs one exact --stream NAME or --stream-exact NAME" "$EVTAIL_USAGE")"
	done
}

@test "evtail --from-version with --from, -n, --group or --cursor-file exits 64" {
	category_log
	for a in "--from 0" "-n 1"; do
		# shellcheck disable=SC2086
		run --separate-stderr evtail --stream order-1 --from-version 1 $a L
		assert_status 64
		assert_stdout ""
		assert_stderr "$(printf '%s\n%s' "evtail: --from-version cannot be combined with --from or -n" "$EVTAIL_USAGE")"
	done
	for a in "--group g" "--cursor-file c"; do
		# shellcheck disable=SC2086
		run --separate-stderr evtail --stream order-1 --from-version 1 $a L
		assert_status 64
		assert_stdout ""
		assert_stderr "$(printf '%s\n%s' "evtail: --from-version cannot be combined with --group or --cursor-file" "$EVTAIL_USAGE")"
	done
	[ ! -e c ]
}

@test "evtail --from-version: not a version exits 64" {
	category_log
	for v in 0 x -1; do
		run --separate-stderr evtail --stream order-1 --from-version "$v" L
		assert_status 64
		assert_stdout ""
		assert_stderr "$(printf '%s\n%s' "evtail: --from-version: '$v' is not a version (1, 2, ...)" "$EVTAIL_USAGE")"
	done
}

@test "evtail --category order: streams order and order-*, not orders-x or ordering" {
	category_log
	run --separate-stderr evtail --category order --template '{offset} {stream}' L
	assert_status 0
	assert_stderr ""
	assert_stdout "$(printf '%s\n' '0 order' '1 order-1' '4 order-1' '5 order' '6 order-2-a' '7 order-1')"
	# repeated: either category
	run --separate-stderr evtail --category ordering --category orders --template '{offset} {stream}' L
	assert_stdout "$(printf '%s\n' '2 orders-x' '3 ordering')"
	run --separate-stderr evtail --category order-2 --template '{stream}' L
	assert_stdout "order-2-a"
}

@test "evtail --category: a pattern or an empty name exits 64" {
	category_log
	for c in 'order*' '' 'o?'; do
		run --separate-stderr evtail --category "$c" L
		assert_status 64
		assert_stdout ""
		assert_stderr "$(printf '%s\n%s' "evtail: --category: '$c' is a name, not a pattern" "$EVTAIL_USAGE")"
	done
}

# ------------------------------------------------------------ evctl streams

@test "evctl streams: a table sorted by name with version, events, first and last offset" {
	category_log
	run --separate-stderr evctl streams L
	assert_status 0
	assert_stderr ""
	assert_stdout "STREAM       VERSION     EVENTS        FIRST         LAST
order              2          2            0            5
order-1            3          3            1            7
order-2-a          1          1            6            6
ordering           1          1            3            3
orders-x           1          1            2            2"
}

@test "evctl streams --json: one object per stream with stream, version, events, first_offset, last_offset, missing_versions" {
	category_log
	run --separate-stderr evctl streams --json L
	assert_status 0
	assert_stderr ""
	assert_stdout '{"stream":"order","version":2,"events":2,"first_offset":0,"last_offset":5,"missing_versions":0}
{"stream":"order-1","version":3,"events":3,"first_offset":1,"last_offset":7,"missing_versions":0}
{"stream":"order-2-a","version":1,"events":1,"first_offset":6,"last_offset":6,"missing_versions":0}
{"stream":"ordering","version":1,"events":1,"first_offset":3,"last_offset":3,"missing_versions":0}
{"stream":"orders-x","version":1,"events":1,"first_offset":2,"last_offset":2,"missing_versions":0}'
	jq -e -s 'all(keys == ["events","first_offset","last_offset","missing_versions","stream","version"])' <<<"$output" >/dev/null
}

@test "evctl streams --category order: only order and order-*" {
	category_log
	run --separate-stderr evctl streams --category order --json L
	assert_status 0
	assert_stderr ""
	[ "$(jq -r .stream <<<"$output")" = "$(printf '%s\n' order order-1 order-2-a)" ]
	run --separate-stderr evctl streams --category order L
	assert_stdout "STREAM       VERSION     EVENTS        FIRST         LAST
order              2          2            0            5
order-1            3          3            1            7
order-2-a          1          1            6            6"
}

@test "evctl streams: a log without streams prints nothing" {
	evctl init L
	printf '{"id":"x","type":"T"}\n' | evpub L
	run --separate-stderr evctl streams L
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	run --separate-stderr evctl streams --json L
	assert_status 0
	assert_stdout ""
}

@test "evctl streams --stream-exact NAME: that stream only, names with ?, * and [ as they are" {
	glob_names_log
	run --separate-stderr evctl streams --stream-exact 'a?b' W
	assert_status 0
	assert_stderr ""
	assert_stdout "STREAM    VERSION     EVENTS        FIRST         LAST
a?b             2          2            0            7"
	run --separate-stderr evctl streams --stream-exact '[y]' --json W
	assert_status 0
	assert_stdout '{"stream":"[y]","version":2,"events":2,"first_offset":5,"last_offset":8,"missing_versions":0}'
	run --separate-stderr evctl streams --stream-exact 'x*' --json W
	assert_stdout '{"stream":"x*","version":2,"events":2,"first_offset":1,"last_offset":4,"missing_versions":0}'
	# as in the full list
	[ "$(evctl streams --json W | jq -c 'select(.stream == "x*")')" = "$output" ]
	run --separate-stderr evctl streams --stream-exact nope W
	assert_status 66
	assert_stdout ""
	assert_stderr "evctl: no stream 'nope' in 'W'"
	run --separate-stderr evctl streams --stream-exact 'x*' --category x W
	assert_status 64
	assert_stderr "$(printf '%s\n%s' "evctl: streams: --category and --stream-exact cannot be combined" "$(usage_for evctl "$EVCTL_USAGE")")"
	run --separate-stderr evctl streams --stream-exact '' W
	assert_status 64
	assert_stderr "$(printf '%s\n%s' "evctl: streams: --stream-exact: a stream name cannot be empty" "$(usage_for evctl "$EVCTL_USAGE")")"
}

@test "evctl streams: usage errors exit 64, a missing log 66" {
	run --separate-stderr evctl streams
	assert_status 64
	assert_stdout ""
	assert_stderr "$(printf '%s\n%s' "evctl: streams: expected one LOG operand" "$(usage_for evctl "$EVCTL_USAGE")")"
	run --separate-stderr evctl streams --category 'o*' L
	assert_status 64
	assert_stderr "$(printf '%s\n%s' "evctl: streams: --category: 'o*' is a name, not a pattern" "$(usage_for evctl "$EVCTL_USAGE")")"
	run --separate-stderr evctl streams nope
	assert_status 66
	assert_stdout ""
	assert_stderr "evctl: log 'nope' does not exist"
}

# ------------------------------------------------------------ repair and trim

@test "evctl trim: versions go on after the segments holding a stream's start are removed" {
	segmented_log
	local before
	before=$(evctl streams --json L)
	run --separate-stderr evctl trim --keep-events 1 L
	assert_status 0
	[ "$(evctl info --json L | jq '.segment_list | length')" -eq 1 ]
	[ -e L/state/streams ]
	# the versions are kept
	run --separate-stderr evctl streams --json L
	[ "$(jq -c '[.stream, .version]' <<<"$output")" = "$(jq -c '[.stream, .version]' <<<"$before")" ]
	local v
	v=$(jq -r 'select(.stream == "order-1") | .version' <<<"$before")
	run --separate-stderr evpub --ack L <<<"$(ev new1 order-1)"
	assert_status 0
	assert_stdout "1500 new1"
	run --separate-stderr evtail --stream order-1 -n 2 --template '{offset} {version}' L
	assert_stdout_line 1 "1500 $((v + 1))"
	# an exact expectation sees the same version
	run --separate-stderr evpub --expect-version $((v + 1)) L <<<"$(ev new2 order-1)"
	assert_status 0
}

@test "evctl trim: a stream whose events were all removed keeps its version" {
	{ ev o1 old; ev o2 old; } >gen.ndjson
	segmented_log
	evctl trim --keep-events 1 L >/dev/null
	run --separate-stderr evctl streams --json L
	assert_stdout_contains '{"stream":"old","version":2,'
	run --separate-stderr evpub --ack L <<<"$(ev o3 old)"
	assert_status 0
	run --separate-stderr evtail --stream old --template '{id} {version}' L
	assert_stdout "o3 3"
}

@test "evctl repair rebuilds a corrupt stream state; versions go on" {
	segmented_log
	evctl trim --keep-events 1 L >/dev/null
	local v
	v=$(evctl streams --json L | jq -r 'select(.stream == "account-1") | .version')
	printf 'X' | dd of=L/state/streams bs=1 seek=60 conv=notrunc 2>/dev/null
	cp L/state/streams bad.snapshot
	run --separate-stderr evctl repair --dry-run L
	assert_status 0
	assert_stderr ""
	assert_stdout_contains "would rebuild the stream and dedupe state
L: dry run done"
	# a dry run changes nothing
	cmp bad.snapshot L/state/streams
	run --separate-stderr evctl repair L
	assert_status 0
	assert_stderr ""
	assert_stdout "rebuilt the stream and dedupe state: 6 streams
L: repaired"
	# once rebuilt, it fits: nothing more to do
	run --separate-stderr evctl repair L
	assert_stdout "L: repaired"
	run --separate-stderr evpub --ack L <<<"$(ev n1 account-1)"
	assert_status 0
	run --separate-stderr evtail --stream account-1 -n 1 --template '{id} {version}' L
	assert_stdout "n1 $((v + 1))"
}

@test "evctl repair rebuilds a deleted stream snapshot; versions and duplicates go on" {
	segmented_log
	evctl trim --keep-events 1 L >/dev/null
	rm L/state/streams
	run --separate-stderr evctl repair L
	assert_status 0
	assert_stdout "rebuilt the stream and dedupe state: 6 streams
L: repaired"
	[ -e L/state/streams ]
	local last v
	last=$(tail -n 1 gen.ndjson)
	v=$(jq -r .version <<<"$last")
	# the last event is still known by its id
	run --separate-stderr evpub --ack L <<<"$last"
	assert_status 0
	assert_stdout "1499 $(jq -r .id <<<"$last") duplicate"
	run --separate-stderr evpub --ack L <<<"$(ev n1 "$(jq -r .stream <<<"$last")")"
	assert_status 0
	run --separate-stderr evtail --stream "$(jq -r .stream <<<"$last")" -n 1 --template '{version}' L
	assert_stdout "$((v + 1))"
}

@test "without any snapshot the state comes from the log: versions go on, evctl streams agrees" {
	{ ev a1 s; ev a2 s; } | evpub -c L
	rm -rf L/state
	run --separate-stderr evctl repair L
	assert_status 0
	assert_stdout "L: repaired"
	ev a3 s | evpub L
	run --separate-stderr evctl streams --json L
	assert_stdout '{"stream":"s","version":3,"events":3,"first_offset":0,"last_offset":2,"missing_versions":0}'
}

@test "evctl repair after a torn tail: the snapshot covers more than the log; the state is rebuilt, versions go on from the cut" {
	segmented_log
	evctl trim --keep-events 1 L >/dev/null
	tear_tail L
	run --separate-stderr evctl repair --dry-run L
	assert_status 0
	assert_stderr ""
	assert_stdout_contains "would truncate a torn tail of"
	assert_stdout_contains "would rebuild the stream and dedupe state"
	run --separate-stderr evctl repair L
	assert_status 0
	assert_stderr ""
	assert_stdout_contains "truncated a torn tail of"
	assert_stdout_line 1 "rebuilt the indexes of segment 00000000000000001240"
	assert_stdout_line 3 "rebuilt the stream and dedupe state: 6 streams"
	local next s v
	next=$(evctl info --json L | jq .next_offset)
	[ "$next" -lt 1500 ]
	# the last event left, its stream and version
	s=$(evtail --from $((next - 1)) --template '{stream}' L)
	v=$(evtail --from $((next - 1)) --template '{version}' L)
	run --separate-stderr evpub --ack L <<<"$(ev n1 "$s")"
	assert_status 0
	assert_stdout "$next n1"
	run --separate-stderr evtail --stream "$s" -n 2 --template '{offset} {version}' L
	assert_stdout "$(printf '%s\n' "$((next - 1)) $v" "$next $((v + 1))")"
	# an event cut off can be sent again: it is no duplicate now
	run --separate-stderr evpub --renumber --ack L <<<"$(tail -n 1 gen.ndjson)"
	assert_status 0
	[[ $output != *duplicate* ]]
}

@test "evctl repair after trim and a torn tail keeps the version of a stream whose events were all trimmed" {
	{ ev o1 old; ev o2 old; } >gen.ndjson
	segmented_log
	evctl trim --keep-events 1 L >/dev/null
	tear_tail L
	evctl repair L >/dev/null
	run --separate-stderr evctl streams --json L
	assert_stdout_contains '{"stream":"old","version":2,'
	ev o3 old | evpub L
	run --separate-stderr evtail --stream old --template '{id} {version}' L
	assert_stdout "o3 3"
}

@test "after trim, losing both snapshots keeps the version of a stream whose events were all trimmed (the base)" {
	{ ev o1 old; ev o2 old; } >gen.ndjson
	segmented_log
	evctl trim --keep-events 1 L >/dev/null
	[ -s L/state/base ]
	rm L/state/streams L/state/ids
	run --separate-stderr evpub --ack L <<<"$(ev o3 old)"
	assert_status 0
	assert_stderr ""
	run --separate-stderr evtail --stream old --template '{id} {version}' L
	assert_stdout "o3 3"
	# a damaged base is not trusted: the streams come from the log
	rm -f L/state/streams L/state/ids
	printf 'X' | dd of=L/state/base bs=1 seek=60 conv=notrunc 2>/dev/null
	run --separate-stderr evctl streams --json L
	assert_status 0
	assert_stdout_contains '{"stream":"old","version":3,'
}

# flip one bit of byte AT of FILE
flip() {
	local b
	b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $((b ^ 4)))" | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

@test "a damaged page of the stream or id snapshot: writers and readers go on as if it were whole" {
	evgen 5000 --seed 3 --streams 300 | evpub -c L
	[ -s L/state/streams ] && [ -s L/state/ids ]
	cp -r L ref
	local size at f more
	more=$(evgen 5000 --seed 3 --streams 300 | sed -n '1p;2500p;4999p'; ev x1 account-1; ev x2 order-7)
	evpub --ack ref <<<"$more" >ack.ref
	evtail --from 5000 --template '{offset} {id} {stream} {version}' ref >ref.out
	for f in streams ids; do
		for at in 70 3000 0.5 0.9; do
			rm -rf L2
			cp -r L L2
			size=$(stat -c %s L2/state/$f)
			[[ $at == 0.* ]] && at=$(awk -v s="$size" -v f="$at" 'BEGIN { printf "%d", s * f }')
			flip L2/state/$f "$at"
			run --separate-stderr evtail --stream account-1 --template '{offset} {version}' L2
			assert_status 0
			assert_stderr ""
			assert_stdout "$(evtail --stream account-1 --template '{offset} {version}' L)"
			run --separate-stderr evpub --ack L2 <<<"$more"
			assert_status 0
			assert_stdout "$(cat ack.ref)"
			assert_stderr "evpub: 2 appended, 3 duplicate"
			run evtail --from 5000 --template '{offset} {id} {stream} {version}' L2
			assert_stdout "$(cat ref.out)"
		done
	done
}

@test "a stream snapshot with an out-of-range version is damaged state: the versions come from the log" {
	evgen 5000 --seed 3 --streams 300 | evpub -c L
	local s v
	# a last version of 2^64-1, with the page's CRC made to match
	s=$("$EVTEST" snap-version L/state/streams 18446744073709551615)
	v=$(evtail --stream "$s" -n 1 --template '{version}' L)
	run --separate-stderr evctl streams --json L
	assert_status 0
	assert_stdout_contains "{\"stream\":\"$s\",\"version\":$v,"
	run --separate-stderr evpub --ack L <<<"{\"type\":\"T\",\"stream\":\"$s\",\"id\":\"after\"}"
	assert_status 0
	assert_stderr ""
	run --separate-stderr evtail --stream "$s" -n 1 --template '{id} {version}' L
	assert_status 0
	assert_stderr ""
	assert_stdout "after $((v + 1))"
}

@test "a writer left open across a repair that cuts its events sees the cut, even once the log grew back" {
	evctl init L >/dev/null
	mkfifo in
	evpub -a --ack --linger 10ms L <in >acks 2>err &
	local pid=$! seg size
	exec 5>in
	{ ev a1 S1; ev a2 S1; ev a3 S1; } >&5
	wait_for_lines acks 3 10
	ev a4 S2 >&5
	wait_for_lines acks 4 10
	# damage a4's batch, the last one; repair cuts it
	seg=$(ls L/*.seg)
	size=$(stat -c %s "$seg")
	printf 'X' | dd of="$seg" bs=1 seek=$((size - 3)) conv=notrunc 2>/dev/null
	run --separate-stderr evctl repair --truncate-damaged L
	assert_status 0
	[ "$(event_count L)" -eq 3 ]
	# another writer takes the offsets back
	{ ev b1 S3; ev b2 S3; } | evpub L
	# the open writer: b1 is a duplicate now, and S2 has no event left
	{ ev b1 S9; ev a5 S2; } >&5
	exec 5>&-
	wait "$pid"
	run evtail --template '{offset} {id} {stream} {version}' L
	assert_stdout "0 a1 S1 1
1 a2 S1 2
2 a3 S1 3
3 b1 S3 1
4 b2 S3 2
5 a5 S2 1"
	[ "$(sed -n 5p acks)" = "3 b1 duplicate" ]
}

@test "evctl repair --dry-run on a healthy log says no more than repair does" {
	evgen 100 --seed 41 | evpub -c --batch-events 20 L
	run --separate-stderr evctl repair L
	assert_status 0
	assert_stdout "L: repaired"
	run --separate-stderr evctl repair --dry-run L
	assert_status 0
	[[ $output != *"would rewrite the head"* ]]
}
