#!/usr/bin/env bats
# Fixes from an audit of main outside Kafka: evreplay's usage and
# conflict messages, the counts of --upcast --on-error skip --to-log, and
# the exit lists of --help.
load helper

USAGE="Usage: evreplay [options] LOG
       evreplay --rewrite [--upcast PATH] LOG --rewrite-to NEWLOG
       evreplay --rewrite [--upcast PATH] --in-place LOG
Try 'evreplay --help' for more information."

@test "evreplay --rewrite with both --rewrite-to and --in-place says not both, exit 64" {
	make_log L 3
	run --separate-stderr evreplay --rewrite --in-place L --rewrite-to N
	assert_status 64
	assert_stdout ""
	assert_stderr "evreplay: --rewrite takes --rewrite-to NEWLOG or --in-place, not both
$USAGE"
	[ ! -e N ]
	run --separate-stderr evreplay --rewrite L
	assert_status 64
	assert_stderr "evreplay: --rewrite needs either --rewrite-to NEWLOG or --in-place
$USAGE"
}

@test "evreplay --to-log: a version conflict names the event, the stream's version and the one expected, exit 75" {
	# many events in flight before the conflict, in several batches
	seq 0 2999 | awk '{printf "{\"id\":\"e%d\",\"type\":\"T\",\"stream\":\"s-%d\",\"data\":{}}\n", $1, $1}' |
		evpub -c a.evlog
	evctl init b.evlog
	printf '%s\n' '{"id":"x1","type":"T","stream":"s-2800"}' '{"id":"x2","type":"T","stream":"s-2800"}' |
		evpub b.evlog
	run --separate-stderr evreplay --to-log b.evlog a.evlog
	assert_status 75
	assert_stdout ""
	assert_stderr "evreplay: --to-log 'b.evlog': offset 2800 of 'a.evlog': event 'e2800': stream 's-2800' is at version 2, event has version 1, expected 3
evreplay: use --renumber to give them the versions that follow in 'b.evlog'"
	run evtail -o count b.evlog
	assert_stdout 2802
}

@test "docs: --help's exit lists name 1 and 69 (evpub) and 69 (evtail); evtail(1) EV_PARTITION has its own entry" {
	run --separate-stderr evpub --help
	assert_status 0
	assert_stdout_contains "Exit status: 0 ok, 1 runtime failure,
64 usage, 65 bad input, 66 missing log or input, 69 librdkafka not
loadable, 74 I/O error, 75 version conflict or LOG replaced by a non-log."
	run --separate-stderr evtail --help
	assert_status 0
	assert_stdout_contains "66 missing log or upcaster set, 69 a library it
needs not loadable, 74 I/O error, 75 group busy;"
	grep -qx '\.It Ev EV_PARTITION' "$TOP/man/evtail.1"
	! grep -q 'the last\.\.It' "$TOP/man/evtail.1" || false
	# evpub(1): 75 also when a rewrite in place replaced LOG
	sed -n '/^\.Sh EXIT STATUS/,/^\.Sh /p' "$TOP/man/evpub.1" | grep -q 'rewrite in place'
	! grep -q 'Always 0: a log is a single partition' "$TOP/man/evdlq.1" || false
	! grep -q 'where evpub(1) says it is built' "$TOP/examples/kafka/README.md" || false
}

@test "evreplay --upcast --on-error skip --to-log: after a conflict (75), only the skipped events before it are warned of and counted" {
	mkdir up
	printf '%s\n' 'type OrderCreated' 'from 1' '  default data.currency "USD"' >up/o.upcast
	{
		echo '{"id":"g0","type":"OrderCreated","stream":"s-0","data":{"amount":1}}'
		echo '{"id":"x0","type":"OrderCreated","data":"oops"}'
		echo '{"id":"g1","type":"OrderCreated","stream":"s-1","data":{"amount":1}}'
		for i in $(seq 1 25); do echo "{\"id\":\"x$i\",\"type\":\"OrderCreated\",\"data\":\"oops\"}"; done
	} | evpub -c bad.evlog
	evctl init t.evlog
	evpub t.evlog <<<'{"id":"y","type":"T","stream":"s-1"}'
	run --separate-stderr evreplay --upcast up --on-error skip --to-log t.evlog bad.evlog
	assert_status 75
	assert_stdout ""
	assert_stderr "evreplay: warning: offset 1: OrderCreated version 1: step up/o.upcast:3: data is a string, not an object or array; skipped
evreplay: --to-log 't.evlog': offset 2 of 'bad.evlog': event 'g1': stream 's-1' is at version 1, event has version 1, expected 2
evreplay: use --renumber to give them the versions that follow in 't.evlog'
evreplay: 1 event could not be upcast and was skipped"
	run evtail --template '{id}' t.evlog
	assert_stdout "y
g0"
	# with no conflict: every skipped event, the first 10 warned of
	run --separate-stderr evreplay -c --upcast up --on-error skip --to-log n.evlog bad.evlog
	assert_status 0
	[ "$(grep -c '; skipped$' <<<"$stderr")" -eq 10 ]
	assert_stderr_line 0 "evreplay: warning: offset 1: OrderCreated version 1: step up/o.upcast:3: data is a string, not an object or array; skipped"
	assert_stderr_line 9 "evreplay: warning: offset 11: OrderCreated version 1: step up/o.upcast:3: data is a string, not an object or array; skipped"
	[ "$(tail -n 1 <<<"$stderr")" = "evreplay: 26 events could not be upcast and were skipped" ]
}
