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
loadable, 74 I/O error, 75 version conflict or LOG rewritten in place."
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
