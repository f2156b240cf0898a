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
