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
