#!/usr/bin/env bats
# evreplay: the stored events of a log delivered again (issue 10): the
# selection shared with evtail, standard output (the formats, the JSON
# fast path), --to-log (ids, versions and times kept, duplicates, version
# conflicts, --renumber, --create and the log removed when nothing went
# in), handlers, groups, pace (--rate, --speed, --max-gap), marks,
# progress, interruption and resuming, and every usage and input error.
# Durations are only asserted as loose bounds.
load helper

USAGE="Usage: evreplay [options] LOG
       evreplay --rewrite [--upcast PATH] LOG --rewrite-to NEWLOG
       evreplay --rewrite [--upcast PATH] --in-place LOG
Try 'evreplay --help' for more information."

usage_err() {
	printf '%s\n%s' "$1" "$USAGE"
}

want() {
	local s="" i
	for i in "$@"; do s+="$i"$'\n'; done
	assert_stdout "${s%$'\n'}"
}

local_teardown() {
	if [ -n "${BG:-}" ]; then
		kill "$BG" 2>/dev/null || true
		wait "$BG" 2>/dev/null || true
	fi
}

# Six events a second apart, ids e0..e5, in streams order-1, account-1,
# order-2 and none.
fixture() {
	cat >fx.ndjson <<'EOF'
{"id":"e0","type":"OrderPlaced","stream":"order-1","time":"2025-01-10T09:00:00Z","data":{"n":0}}
{"id":"e1","type":"PaymentMade","stream":"account-1","time":"2025-01-10T09:00:01Z","data":{"n":1}}
{"id":"e2","type":"OrderPlaced","stream":"order-2","time":"2025-01-10T09:00:02Z","data":{"n":2}}
{"id":"e3","type":"OrderShipped","stream":"order-1","time":"2025-01-10T09:00:03Z","data":{"n":3}}
{"id":"e4","type":"PaymentMade","stream":"account-1","time":"2025-01-10T09:00:04Z","data":{"n":4}}
{"id":"e5","type":"Note","time":"2025-01-10T09:00:05Z","data":{"n":5},"meta":{"user":"u1"}}
EOF
	evpub -c a.evlog <fx.ndjson
}

# milliseconds since the epoch
now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# Run evreplay in the background, output to $T/out and $T/err; BG is
# its pid.  fd 3 (the TAP stream) is closed.
replay_bg() {
	evreplay "$@" >"$T/out" 2>"$T/err" 3>&- &
	BG=$!
}

finish_bg() {
	wait_gone "$BG" "$1" || return 1
	status=0
	wait "$BG" || status=$?
	BG=
	stderr=$(cat "$T/err")
	output=$(cat "$T/out")
}

# ------------------------------------------------------------ help, usage

@test "evreplay -h and --help print the usage on stdout and exit 0" {
	run --separate-stderr evreplay --help
	assert_status 0
	assert_stderr ""
	[ "${lines[0]}" = "Usage: evreplay [options] LOG" ]
	assert_stdout_contains "--to-log LOG2"
	run --separate-stderr evreplay -h
	assert_status 0
	[ "${lines[0]}" = "Usage: evreplay [options] LOG" ]
}

@test "evreplay -V and --version name evreplay and evlog" {
	run --separate-stderr evreplay -V
	assert_status 0
	[[ ${lines[0]} == "evreplay "* ]]
	run --separate-stderr evreplay --version
	assert_status 0
	[[ ${lines[0]} == "evreplay "* ]]
}

@test "evreplay: no LOG, two LOGs, an unknown option: usage, exit 64" {
	run --separate-stderr evreplay
	assert_status 64
	assert_stderr "$(usage_err "evreplay: missing LOG operand")"
	run --separate-stderr evreplay a b
	assert_status 64
	assert_stderr "$(usage_err "evreplay: unexpected operand 'b'")"
	run --separate-stderr evreplay --bogus a
	assert_status 64
	assert_stderr "$(usage_err "evreplay: unrecognized option '--bogus'")"
}

@test "evreplay: a missing log exits 66" {
	run --separate-stderr evreplay nope.evlog
	assert_status 66
	assert_stderr_contains "nope.evlog"
	assert_stdout ""
}

# ------------------------------------------------------------ stdout

@test "evreplay prints every event as evtail --output json does, byte for byte" {
	fixture
	evtail a.evlog >want.json
	run --separate-stderr evreplay a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "$(cat want.json)"
	# a bigger generated log as well
	make_log g.evlog 300
	evtail g.evlog >gwant.json
	evreplay g.evlog >got.json
	cmp gwant.json got.json
}

@test "evreplay -o pretty, cloudevents, msgpack and --template print as evtail does" {
	fixture
	local f
	for f in pretty cloudevents msgpack; do
		evtail -o "$f" a.evlog >want
		evreplay -o "$f" a.evlog >got
		cmp want got
		evtail --output "$f" a.evlog >want
		evreplay --output "$f" a.evlog >got
		cmp want got
	done
	run --separate-stderr evreplay --template '{offset} {id} {type}' a.evlog
	assert_status 0
	want "0 e0 OrderPlaced" "1 e1 PaymentMade" "2 e2 OrderPlaced" \
		"3 e3 OrderShipped" "4 e4 PaymentMade" "5 e5 Note"
}

@test "evreplay --color always colours pretty output, never and NO_COLOR do not" {
	fixture
	run evreplay -o pretty --color always a.evlog
	assert_status 0
	[[ $output == *$'\033['* ]]
	run evreplay -o pretty --color never a.evlog
	[[ $output != *$'\033'* ]]
	NO_COLOR=1 run evreplay -o pretty --color auto a.evlog
	[[ $output != *$'\033'* ]]
}

@test "evreplay: a reader that goes away is a normal end (exit 0)" {
	make_log g.evlog 2000
	run bash -c 'evreplay g.evlog | head -n 1 >/dev/null; echo "${PIPESTATUS[0]}"'
	assert_stdout 0
}

# ------------------------------------------------------------ selection

@test "evreplay selects with --type, --stream, --stream-exact, --category, --where, --since, --until, --from, --to and -n as evtail does" {
	fixture
	local sel
	while IFS= read -r sel; do
		eval "set -- $sel"
		evtail --template '{id}' "$@" a.evlog >want
		run --separate-stderr evreplay --template '{id}' "$@" a.evlog
		assert_status 0
		assert_stdout "$(cat want)"
		[ -s want ] || { echo "empty selection: $sel" >&2; false; }
	done <<'EOF'
--type 'Payment*'
--type OrderPlaced --type Note
--stream 'order-*'
--stream-exact account-1
--category order
--where 'data.n >= 3'
--since 2025-01-10T09:00:02Z
--until 2025-01-10T09:00:01Z
--from 2
--from @2025-01-10T09:00:04Z
--from start --to 1
--to @2025-01-10T09:00:02Z
-n 2
--lines 2
--type PaymentMade -n 1
EOF
	run --separate-stderr evreplay --template '{id}' --from 1 --to 3 a.evlog
	want e1 e2 e3
	run --separate-stderr evreplay --template '{id}' --from end a.evlog
	assert_status 0
	assert_stdout ""
}

@test "evreplay: selection errors are evtail's, exit 64" {
	fixture
	run --separate-stderr evreplay --from soon a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --from: 'soon' is not an offset, start, end or @TIME")"
	run --separate-stderr evreplay --to end a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --to: 'end' is not an offset or @TIME")"
	run --separate-stderr evreplay -n 2 --from 1 a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: -n and --from cannot be combined")"
	run --separate-stderr evreplay -n x a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: -n: 'x' is not a number")"
	run --separate-stderr evreplay --since yesterday a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --since: 'yesterday' is not a time (RFC 3339, a date, or -1h)")"
	run --separate-stderr evreplay --stream-exact '' a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --stream-exact: a stream name cannot be empty")"
	run --separate-stderr evreplay --where 'data.n >' a.evlog
	assert_status 64
	assert_stderr_contains "evreplay: --where: "
	run --separate-stderr evreplay --from 99 a.evlog
	assert_status 64
	assert_stderr "evreplay: --from: offset 99 is past the end of 'a.evlog' (offset 6)"
}

@test "evreplay --type that matches nothing says so, as evtail does" {
	fixture
	run --separate-stderr evreplay --type PaymentMde a.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr_contains "evreplay: no event type in 'a.evlog' matches 'PaymentMde'"
}

# ------------------------------------------------------------ --to-log

@test "evreplay --to-log keeps ids, times, streams, versions, keys, meta and data, and marks each event" {
	fixture
	evctl init b.evlog
	EVLOG_TEST_SEED=1 SOURCE_DATE_EPOCH=1736500000 \
		run --separate-stderr evreplay --to-log b.evlog a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout ""
	run evtail --template '{offset} {id} {type} {stream}@{version} {time} {data.n} {meta.user}' b.evlog
	want "0 e0 OrderPlaced order-1@1 2025-01-10T09:00:00.000Z 0 " \
		"1 e1 PaymentMade account-1@1 2025-01-10T09:00:01.000Z 1 " \
		"2 e2 OrderPlaced order-2@1 2025-01-10T09:00:02.000Z 2 " \
		"3 e3 OrderShipped order-1@2 2025-01-10T09:00:03.000Z 3 " \
		"4 e4 PaymentMade account-1@2 2025-01-10T09:00:04.000Z 4 " \
		"5 e5 Note @ 2025-01-10T09:00:05.000Z 5 u1"
	# the marks: a generated name and the time of the run
	run evtail --template '{meta.replay} {meta.replayedAt}' --from 5 b.evlog
	assert_stdout "replay-2025-01-10T09:06:40Z 2025-01-10T09:06:40.000Z"
	run evtail --fields meta --from 5 b.evlog
	assert_stdout '{"meta":{"user":"u1","replay":"replay-2025-01-10T09:06:40Z","replayedAt":"2025-01-10T09:06:40.000Z"}}'
	# the streams are linked in the new log: one stream reads through them
	run evtail --template '{id}' --stream order-1 b.evlog
	want e0 e3
	run evctl verify b.evlog
	assert_status 0
}

@test "evreplay --to-log with --mark NAME names the replay" {
	fixture
	EVLOG_TEST_SEED=1 SOURCE_DATE_EPOCH=1736500000 \
		run --separate-stderr evreplay -c --to-log b.evlog --mark backfill-7 a.evlog
	assert_status 0
	run evtail --template '{meta.replay} {meta.replayedAt}' --from 4 b.evlog
	want "backfill-7 2025-01-10T09:06:40.000Z" "backfill-7 2025-01-10T09:06:40.000Z"
}

@test "evreplay --to-log marks events whose meta nests objects in objects" {
	echo '{"type":"T","data":{},"meta":{"trace":{"span":{"id":"s1","tags":[{"k":"v"}]}}}}' |
		evpub -c a.evlog
	run --separate-stderr evreplay -c --to-log b.evlog --mark m a.evlog
	assert_status 0
	assert_stderr ""
	run evtail --template '{meta.replay} {meta.trace.span.tags}' b.evlog
	want 'm [{"k":"v"}]'
}

@test "evreplay --to-log again appends nothing: ids are deduplicated, marks or not" {
	fixture
	evreplay -c --to-log b.evlog a.evlog
	run --separate-stderr evreplay --to-log b.evlog a.evlog
	assert_status 0
	assert_stderr "evreplay: 0 appended, 6 duplicate"
	run --separate-stderr evreplay --to-log b.evlog --mark other a.evlog
	assert_status 0
	assert_stderr "evreplay: 0 appended, 6 duplicate"
	run evtail -o count b.evlog
	assert_stdout 6
	# a longer replay appends only what is new
	evpub a.evlog <<<'{"id":"e6","type":"Note","data":{"n":6}}'
	run --separate-stderr evreplay --to-log b.evlog a.evlog
	assert_status 0
	assert_stderr "evreplay: 1 appended, 6 duplicate"
	run evtail --template '{id}' --from 6 b.evlog
	assert_stdout e6
}

@test "evreplay --to-log: a stream at another version stops it with 75, naming the stream; --renumber goes on" {
	fixture
	evctl init b.evlog
	evpub b.evlog <<<'{"id":"x1","type":"Other","stream":"order-1"}'
	run --separate-stderr evreplay --to-log b.evlog a.evlog
	assert_status 75
	assert_stdout ""
	assert_stderr "evreplay: --to-log 'b.evlog': offset 0 of 'a.evlog': event 'e0': stream 'order-1' is at version 1, event has version 1, expected 2
evreplay: use --renumber to give them the versions that follow in 'b.evlog'"
	run evtail -o count b.evlog
	assert_stdout 1
	run --separate-stderr evreplay --to-log b.evlog --renumber a.evlog
	assert_status 0
	assert_stderr ""
	run evtail --template '{id} {stream}@{version}' b.evlog
	want "x1 order-1@1" "e0 order-1@2" "e1 account-1@1" "e2 order-2@1" \
		"e3 order-1@3" "e4 account-1@2" "e5 @"
}

@test "evreplay --to-log: the events before a conflict are appended" {
	fixture
	evctl init b.evlog
	evpub b.evlog <<<'{"id":"x1","type":"Other","stream":"order-2"}'
	run --separate-stderr evreplay --to-log b.evlog a.evlog
	assert_status 75
	assert_stderr_contains "offset 2 of 'a.evlog': event 'e2': stream 'order-2' is at version 1, event has version 1, expected 2"
	run evtail --template '{id}' b.evlog
	want x1 e0 e1
}

@test "evreplay --to-log: a missing LOG2 exits 66 unless -c or --create makes it" {
	fixture
	run --separate-stderr evreplay --to-log b.evlog a.evlog
	assert_status 66
	assert_stdout ""
	assert_stderr "evreplay: --to-log: no log at 'b.evlog'
evreplay: use -c/--create to create it, or 'evctl init b.evlog'"
	[ ! -e b.evlog ]
	run --separate-stderr evreplay -c --to-log b.evlog a.evlog
	assert_status 0
	assert_stderr ""
	run evtail -o count b.evlog
	assert_stdout 6
	run --separate-stderr evreplay --create --to-log c.evlog a.evlog
	assert_status 0
	run evtail -o count c.evlog
	assert_stdout 6
}

@test "evreplay -c --to-log: a replay that fails before appending anything leaves no log behind" {
	fixture
	# a conflict at the first event: versions 2 of a stream new in LOG2
	run --separate-stderr evreplay -c --to-log b.evlog --from 3 a.evlog
	assert_status 75
	assert_stderr_contains "event 'e3': stream 'order-1' is at version 0, event has version 2, expected 1"
	[ ! -e b.evlog ]
	# a busy group: the log is not even made
	evctl init held.evlog
	replay_bg --group g --rate 2/s a.evlog
	wait_for_output "$T/out" e0 10 || wait_for_lines "$T/out" 1 10
	run --separate-stderr evreplay -c --to-log b.evlog --group g a.evlog
	assert_status 75
	assert_stderr "evreplay: group 'g' is busy: another consumer holds it
evreplay: use --wait to wait for it"
	[ ! -e b.evlog ]
	# --speed on times that go backwards, at the first pair
	printf '%s\n' '{"id":"z0","type":"T","time":"2025-01-10T09:00:05Z"}' \
		'{"id":"z1","type":"T","time":"2025-01-10T09:00:01Z"}' |
		evpub -c back.evlog
	run --separate-stderr evreplay -c --to-log b.evlog --speed 1000 back.evlog
	assert_status 65
	assert_stdout ""
	# LOG's fault, not LOG2's: no --to-log prefix
	assert_stderr "evreplay: --speed: the event at offset 1 has time 2025-01-10T09:00:01.000Z, before the time of the event at offset 0 (2025-01-10T09:00:05.000Z); spacing by time needs times that do not go backwards
evreplay: replay these events with --rate instead"
	[ -e b.evlog ] # z0 went in before z1 stopped it
	run evtail --template '{id}' b.evlog
	assert_stdout z0
}

@test "evreplay -c --to-log: damage in the first event leaves no log behind" {
	fixture
	# cut the one segment inside its first batch
	local seg=a.evlog/00000000000000000000.seg
	truncate -s 100 "$seg"
	run --separate-stderr evreplay -c --to-log b.evlog a.evlog
	assert_status 65
	assert_stdout ""
	# LOG's fault, not LOG2's: no --to-log prefix
	assert_stderr "evreplay: damaged data in 'a.evlog': segment 00000000000000000000, offset 0, byte 64: incomplete batch header
evreplay: run 'evctl verify a.evlog' for details"
	[ ! -e b.evlog ]
}

@test "evreplay --to-log: LOG itself, by any name, is refused with 64; so is a dead-letter log" {
	fixture
	local p
	ln -s a.evlog link.evlog
	for p in a.evlog ./a.evlog "$T/a.evlog" link.evlog; do
		run --separate-stderr evreplay --to-log "$p" a.evlog
		assert_status 64
		assert_stderr "evreplay: --to-log: '$p' is the log being replayed ('a.evlog')
evreplay: replay into another log"
	done
	run --separate-stderr evreplay --to-log a.evlog a.evlog/00000000000000000000.seg
	assert_status 64
	assert_stderr_contains "is the log being replayed"
	run evtail -o count a.evlog
	assert_stdout 6
	# a dead-letter log
	evreplay --group g --exec false --retries 0 --dlq d.evlog --to 0 \
		a.evlog 2>/dev/null
	[ -d d.evlog ]
	run --separate-stderr evreplay --to-log d.evlog a.evlog
	assert_status 64
	assert_stderr "evreplay: --to-log: 'd.evlog' is a dead-letter log"
}

@test "evreplay --to-log: a directory that is not a log exits 66 and is left alone" {
	fixture
	mkdir plain
	run --separate-stderr evreplay --to-log plain a.evlog
	assert_status 66
	assert_stderr "evreplay: --to-log: 'plain' is not an evlog log (no meta file)"
	[ -z "$(ls plain)" ]
}

@test "evreplay --to-log with --group commits what is durable, and resumes there" {
	fixture
	run --separate-stderr evreplay -c --to-log b.evlog --group copy --to 2 a.evlog
	assert_status 0
	run evctl groups --json a.evlog
	assert_stdout_contains '"group":"copy","next":3,'
	run --separate-stderr evreplay --to-log b.evlog --group copy a.evlog
	assert_status 0
	assert_stderr ""
	run evtail --template '{id}' b.evlog
	want e0 e1 e2 e3 e4 e5
}

@test "evreplay: --create and --renumber need --to-log" {
	fixture
	run --separate-stderr evreplay -c a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --create and --renumber need --to-log")"
	run --separate-stderr evreplay --renumber a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --create and --renumber need --to-log")"
}

@test "evreplay: one target only" {
	fixture
	local args
	for args in "--to-log b.evlog --exec true" "--to-log b.evlog -o pretty" \
		"--exec true --template {id}" "--to-log b.evlog --color never"; do
		# shellcheck disable=SC2086
		run --separate-stderr evreplay $args a.evlog
		assert_status 64
		assert_stderr "$(usage_err "evreplay: --to-log, --exec and --output, --template or --color are different targets: choose one")"
	done
	run --separate-stderr evreplay --template '{id}' -o json a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --template and --output cannot be combined")"
	[ ! -e b.evlog ]
}

@test "evreplay: bad values of -o, --color, --group, --mark and --template exit 64" {
	fixture
	run --separate-stderr evreplay -o csv a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --output: 'csv' is not json, pretty, cloudevents or msgpack")"
	run --separate-stderr evreplay --color sometimes a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --color: 'sometimes' is not auto, always or never")"
	run --separate-stderr evreplay --group 'a b' a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --group: 'a b' is not a group name (letters, digits, '.', '_', '-')")"
	run --separate-stderr evreplay --mark '' a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --mark: a replay name cannot be empty")"
	run --separate-stderr evreplay --template '{oops' a.evlog
	assert_status 64
	assert_stderr_contains "evreplay: --template: "
}

# ------------------------------------------------------------ marks

@test "evreplay --mark marks what goes to stdout; without it the JSON is evtail's" {
	fixture
	EVLOG_TEST_SEED=1 SOURCE_DATE_EPOCH=1736500000 \
		run --separate-stderr evreplay --mark r1 --from 4 a.evlog
	assert_status 0
	assert_stderr ""
	[ "${#lines[@]}" = 2 ]
	[[ ${lines[0]} == *'"data":{"n":4},"meta":{"replay":"r1","replayedAt":"2025-01-10T09:06:40.000Z"}}' ]]
	[[ ${lines[1]} == *'"meta":{"user":"u1","replay":"r1","replayedAt":"2025-01-10T09:06:40.000Z"}}' ]]
	run evreplay --from 4 a.evlog
	[[ $output != *replay* ]]
	# an event replayed twice keeps one pair of marks, the last
	evreplay -c --to-log b.evlog --mark first a.evlog
	run evreplay --mark second --from 5 --template '{meta}' b.evlog
	[[ $output == '{"user":"u1","replay":"second","replayedAt":'* ]]
}

@test "evreplay --exec: a handler gets marks only with --mark" {
	fixture
	run --separate-stderr evreplay --exec 'cat >>got' --from 5 a.evlog
	assert_status 0
	run cat got
	[[ $output != *replay* ]]
	rm got
	run --separate-stderr evreplay --exec 'cat >>got' --mark h1 --from 5 a.evlog
	assert_status 0
	run cat got
	[[ $output == *'"replay":"h1"'* ]]
}

# ------------------------------------------------------------ handlers

@test "evreplay --exec runs the handler per event with evtail's environment, no group needed" {
	fixture
	run --separate-stderr evreplay \
		--exec 'echo "$EV_OFFSET $EV_ID $EV_TYPE ${EV_STREAM-} $(jq -r .id)" >>got' a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout ""
	run cat got
	want "0 e0 OrderPlaced order-1 e0" "1 e1 PaymentMade account-1 e1" \
		"2 e2 OrderPlaced order-2 e2" "3 e3 OrderShipped order-1 e3" \
		"4 e4 PaymentMade account-1 e4" "5 e5 Note  e5"
}

@test "evreplay --exec --batch --parallel hands batches, each stream in order" {
	fixture
	run --separate-stderr evreplay --exec 'echo "$EV_COUNT" >>counts; cat >>got' \
		--batch 3 --parallel 2 a.evlog
	assert_status 0
	run jq -r .id got
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "e0 e1 e2 e3 e4 e5 " ]
	[ "$(awk '{ s += $1 } END { print s }' counts)" = 6 ]
	grep -qx 3 counts || grep -qx 2 counts
	# order-1: e0 before e3
	[ "$(grep -n e0 got | cut -d: -f1)" -lt "$(grep -n e3 got | cut -d: -f1)" ]
}

@test "evreplay --exec: a handler that keeps failing stops it with 1 under --on-failure=stop" {
	fixture
	run --separate-stderr evreplay --exec 'exit 3' --retries 1 --backoff 1ms \
		--backoff-max 2ms --group g a.evlog
	assert_status 1
	assert_stderr "evreplay: handler failed on offset 0 after 2 attempts (exit status 3); stopping, the offset is not committed"
	run evctl groups --json a.evlog
	assert_stdout_contains '"next":0'
}

@test "evreplay --exec --on-failure=skip and --timeout go on past a handler that fails" {
	fixture
	run --separate-stderr evreplay --exec 'if [ "$EV_OFFSET" = 1 ]; then sleep 5; fi' \
		--timeout 100ms --retries 0 --on-failure skip --grace 1s a.evlog
	assert_status 0
	assert_stderr_contains "evreplay: 5 handled, 0 dead-lettered, 1 skipped"
}

@test "evreplay --exec --group --dlq dead-letters what fails, with --dlq-policy" {
	fixture
	run --separate-stderr evreplay --exec '[ "$EV_STREAM" != order-1 ]' \
		--retries 0 --group g --dlq d.evlog --dlq-policy stream a.evlog
	assert_status 0
	assert_stderr_contains "evreplay: 4 handled, 2 dead-lettered, 0 skipped"
	run evdlq ls --json d.evlog
	[ "${#lines[@]}" = 2 ]
	run --separate-stderr evreplay --exec true --dlq d.evlog a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --dlq needs --group: dead letters name the group that gave up on them")"
}

@test "evreplay: handler options without --exec, and --on-failure against --dlq, exit 64" {
	fixture
	local opt
	for opt in "--retries 2" "--backoff 1s" "--backoff-max 1s" "--timeout 1s" \
		"--batch 2" "--parallel 2" "--grace 1s" \
		"--dlq-policy event" "--on-failure skip"; do
		# shellcheck disable=SC2086
		run --separate-stderr evreplay $opt a.evlog
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evreplay: --retries, --backoff, --backoff-max, --timeout, --on-failure, --dlq-policy, --batch, --parallel and --grace need --exec")"
	done
	# --dlq is --on-error dlq's too
	run --separate-stderr evreplay --dlq d a.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evreplay: --dlq needs --exec or --on-error dlq")"
	run --separate-stderr evreplay --exec true --on-failure dlq a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --on-failure=dlq needs --dlq DLQLOG")"
	run --separate-stderr evreplay --exec true --group g --dlq d --on-failure skip a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --dlq implies --on-failure=dlq")"
	run --separate-stderr evreplay --exec true --dlq-policy stream a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --dlq-policy needs --dlq")"
	run --separate-stderr evreplay --exec true --retries x a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --retries: 'x' is not a number from 0 to 1000")"
	run --separate-stderr evreplay --exec true --backoff soon a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --backoff: 'soon' is not a duration such as 500ms, 2s or 1m")"
	run --separate-stderr evreplay --exec true --on-failure retry a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --on-failure: 'retry' is not stop, dlq or skip")"
	[ ! -e d ]
}

# ------------------------------------------------------------ groups

@test "evreplay --group resumes after its committed position; --state-dir keeps it elsewhere" {
	fixture
	run --separate-stderr evreplay --group g --template '{id}' --to 1 a.evlog
	want e0 e1
	run --separate-stderr evreplay --group g --template '{id}' a.evlog
	want e2 e3 e4 e5
	run --separate-stderr evreplay --group g --template '{id}' a.evlog
	assert_status 0
	assert_stdout ""
	mkdir st
	run --separate-stderr evreplay --group g --state-dir st --template '{id}' --to 0 a.evlog
	want e0
	[ -f st/g.group ]
}

@test "evreplay --group --wait waits for the consumer holding the group" {
	fixture
	replay_bg --group g --rate 4/s --template '{id}' a.evlog
	wait_for_lines "$T/out" 1 10
	run --separate-stderr evreplay --group g --wait --template '{id}' a.evlog
	assert_status 0
	assert_stdout ""
	finish_bg 10
	assert_status 0
	want e0 e1 e2 e3 e4 e5
}

@test "evreplay: --group with -n, and --state-dir or --wait without --group, exit 64" {
	fixture
	run --separate-stderr evreplay --group g -n 2 a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --group cannot be combined with -n")"
	run --separate-stderr evreplay --state-dir st a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --state-dir and --wait need --group")"
	run --separate-stderr evreplay --wait a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --state-dir and --wait need --group")"
}

# ------------------------------------------------------------ pace

@test "evreplay --rate spaces the events steadily (a loose lower bound)" {
	fixture
	local t0 t1
	t0=$(now_ms)
	run --separate-stderr evreplay --rate 10/s --template '{id}' a.evlog
	t1=$(now_ms)
	assert_status 0
	want e0 e1 e2 e3 e4 e5
	# 5 gaps of 100 ms
	[ $((t1 - t0)) -ge 450 ] || { echo "took $((t1 - t0)) ms" >&2; false; }
	t0=$(now_ms)
	run --separate-stderr evreplay --rate 600/m --to 2 a.evlog
	t1=$(now_ms)
	assert_status 0
	[ $((t1 - t0)) -ge 180 ] || { echo "took $((t1 - t0)) ms" >&2; false; }
}

@test "evreplay --rate at full speed's pace is not late either (a generous cap)" {
	make_log g.evlog 400
	local t0 t1
	t0=$(now_ms)
	run --separate-stderr evreplay --rate 1000/s g.evlog
	t1=$(now_ms)
	assert_status 0
	[ "${#lines[@]}" = 400 ]
	[ $((t1 - t0)) -ge 380 ] && [ $((t1 - t0)) -lt 5000 ] ||
		{ echo "took $((t1 - t0)) ms" >&2; false; }
}

@test "evreplay --speed keeps the spacing of event times, --max-gap caps it" {
	fixture
	local t0 t1
	t0=$(now_ms)
	run --separate-stderr evreplay --speed 10 --template '{id}' a.evlog
	t1=$(now_ms)
	assert_status 0
	want e0 e1 e2 e3 e4 e5
	# 5 s of event time at 10x
	[ $((t1 - t0)) -ge 450 ] || { echo "took $((t1 - t0)) ms" >&2; false; }
	# a day's silence, capped at 50 ms
	printf '%s\n' '{"id":"d0","type":"T","time":"2025-01-10T09:00:00Z"}' \
		'{"id":"d1","type":"T","time":"2025-01-11T09:00:00Z"}' |
		evpub -c day.evlog
	t0=$(now_ms)
	run --separate-stderr evreplay --speed 1 --max-gap 50ms --template '{id}' day.evlog
	t1=$(now_ms)
	assert_status 0
	want d0 d1
	[ $((t1 - t0)) -ge 45 ] && [ $((t1 - t0)) -lt 5000 ] ||
		{ echo "took $((t1 - t0)) ms" >&2; false; }
	run --separate-stderr evreplay --speed 2x --to 0 a.evlog
	assert_status 0
}

@test "evreplay --speed: times that go backwards stop it with 65, after the events before" {
	printf '%s\n' '{"id":"z0","type":"T","time":"2025-01-10T09:06:40Z"}' \
		'{"id":"z1","type":"T","time":"2025-01-10T09:06:41Z"}' \
		'{"id":"z2","type":"T","time":"2025-01-10T09:06:39Z"}' |
		evpub -c back.evlog
	run --separate-stderr evreplay --speed 1000 --template '{id}' back.evlog
	assert_status 65
	want z0 z1
	assert_stderr "evreplay: --speed: the event at offset 2 has time 2025-01-10T09:06:39.000Z, before the time of the event at offset 1 (2025-01-10T09:06:41.000Z); spacing by time needs times that do not go backwards
evreplay: replay these events with --rate instead"
	# --rate does not look at times
	run --separate-stderr evreplay --rate 1000/s --template '{id}' back.evlog
	assert_status 0
	want z0 z1 z2
}

@test "evreplay: bad --rate, --speed and --max-gap exit 64" {
	fixture
	local r
	for r in 0 0/s -5/s 0.0/m; do
		run --separate-stderr evreplay --rate "$r" a.evlog
		assert_status 64
		assert_stderr "$(usage_err "evreplay: --rate: '$r' is not above 0: a rate is a number of events per second (/s) or minute (/m)")"
	done
	for r in fast 10/h /s 1e3 ''; do
		run --separate-stderr evreplay --rate "$r" a.evlog
		assert_status 64
		assert_stderr "$(usage_err "evreplay: --rate: '$r' is not a rate such as 100/s or 30/m")"
	done
	run --separate-stderr evreplay --speed 0 a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --speed: '0' is not above 0: a speed divides the time between events")"
	run --separate-stderr evreplay --speed -2 a.evlog
	assert_status 64
	assert_stderr_contains "is not above 0"
	run --separate-stderr evreplay --speed quick a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --speed: 'quick' is not a speed such as 10 or 0.5")"
	run --separate-stderr evreplay --speed 2 --rate 5/s a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --rate and --speed cannot be combined")"
	run --separate-stderr evreplay --max-gap 1s a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --max-gap needs --speed")"
	run --separate-stderr evreplay --rate 5/s --max-gap 1s a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --max-gap needs --speed")"
	run --separate-stderr evreplay --speed 2 --max-gap 0 a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --max-gap: '0' is not a duration above 0 such as 500ms, 2s or 1m")"
}

@test "evreplay --rate with --to-log makes the events durable as they go" {
	fixture
	evctl init b.evlog
	replay_bg --to-log b.evlog --rate 4/s a.evlog
	# the first events are in b.evlog while the replay still runs
	wait_for "[ \"\$(evtail -o count b.evlog)\" -ge 2 ]" 10 "events in b.evlog"
	alive "$BG"
	finish_bg 10
	assert_status 0
	run evtail -o count b.evlog
	assert_stdout 6
}

# ------------------------------------------------------------ progress

@test "evreplay --progress shows a line on stderr, redrawn and erased; nothing on stdout" {
	fixture
	run --separate-stderr evreplay --progress --rate 20/s --template '{id}' a.evlog
	assert_status 0
	want e0 e1 e2 e3 e4 e5
	[[ $stderr == $'\r'* ]]
	[[ $stderr == *"evreplay: 6/6 events (100%)"* ]]
	[[ $stderr != *$'\033'* ]]
	# ends erased: a carriage return, blanks, a carriage return
	[[ $stderr =~ $'\r'\ +$'\r'$ ]]
}

@test "evreplay --progress with a filter shows an estimate; with --to-log the counts" {
	fixture
	run --separate-stderr evreplay --progress --type 'Order*' --rate 20/s a.evlog
	assert_status 0
	[[ $stderr == *"evreplay: 3/~3 events (100%)"* ]]
	run --separate-stderr evreplay --progress -c --to-log b.evlog a.evlog
	assert_status 0
	[[ $stderr == *"evreplay: 6 appended, 0 duplicate" ]]
}

@test "evreplay: no progress when stderr is not a terminal, nor with --no-progress" {
	fixture
	run --separate-stderr evreplay --rate 20/s a.evlog
	assert_status 0
	assert_stderr ""
	run --separate-stderr evreplay --progress --no-progress --rate 20/s a.evlog
	assert_status 0
	assert_stderr ""
}

@test "evreplay shows progress on a terminal by itself" {
	command -v script >/dev/null || skip "no script(1)"
	fixture
	script -qec "evreplay --rate 20/s a.evlog >/dev/null" /dev/null >tty.out
	grep -q "events (" tty.out
	script -qec "evreplay --no-progress --rate 20/s a.evlog >/dev/null" /dev/null >tty2.out
	run grep -c "events (" tty2.out
	assert_stdout 0
	# events shown on the terminal are not mixed with a progress line
	script -qec "evreplay --rate 20/s a.evlog" /dev/null >tty3.out
	run grep -c "events (" tty3.out
	assert_stdout 0
	grep -q '"id":"e5"' tty3.out
	script -qec "evreplay --progress --rate 20/s a.evlog" /dev/null >tty4.out
	grep -q "events (" tty4.out
}

# ------------------------------------------------------------ interruption

@test "evreplay on SIGINT or SIGTERM stops, says where, exits 0, and --from resumes there" {
	fixture
	local sig at
	for sig in INT TERM; do
		replay_bg --rate 5/s --template '{id}' a.evlog
		wait_for_lines "$T/out" 2 10
		kill -s "$sig" "$BG"
		finish_bg 10
		assert_status 0
		[[ $stderr =~ ^evreplay:\ stopped\ before\ offset\ ([0-9]+)\;\ resume\ with\ --from\ ([0-9]+)$ ]] ||
			{ echo "stderr: $stderr" >&2; false; }
		at=${BASH_REMATCH[1]}
		[ "$at" = "${BASH_REMATCH[2]}" ]
		[ "$(wc -l <"$T/out")" = "$at" ]
		cp "$T/out" part
		run --separate-stderr evreplay --from "$at" --template '{id}' a.evlog
		assert_status 0
		cat part - <<<"$output" >all
		run cat all
		want e0 e1 e2 e3 e4 e5
	done
}

@test "evreplay --group on SIGINT commits where it stopped, and the group resumes there" {
	fixture
	evctl init b.evlog
	replay_bg --group g --to-log b.evlog --rate 5/s a.evlog
	wait_for "[ \"\$(evtail -o count b.evlog)\" -ge 2 ]" 10 "events in b.evlog"
	kill -INT "$BG"
	finish_bg 10
	assert_status 0
	[[ $stderr =~ ^evreplay:\ stopped\ before\ offset\ ([0-9]+)\;\ group\ \'g\'\ resumes\ there$ ]] ||
		{ echo "stderr: $stderr" >&2; false; }
	run evctl groups --json a.evlog
	assert_stdout_contains "\"next\":${BASH_REMATCH[1]}"
	run --separate-stderr evreplay --group g --to-log b.evlog a.evlog
	assert_status 0
	assert_stderr ""
	run evtail --template '{id}' b.evlog
	want e0 e1 e2 e3 e4 e5
}

@test "evreplay --exec on SIGTERM lets the running handler finish within --grace" {
	fixture
	replay_bg --exec 'jq -r .id >>got; sleep 0.3' --group g --grace 5s a.evlog
	wait_for "[ -s '$T/got' ]" 10 "a handled event"
	kill -TERM "$BG"
	finish_bg 15
	assert_status 0
	assert_stderr_contains "evreplay: stopped before offset"
	# what was handled is committed, and the rest comes on the rerun
	run --separate-stderr evreplay --exec 'jq -r .id >>got' --group g a.evlog
	assert_status 0
	run sort -u got
	want e0 e1 e2 e3 e4 e5
}
