#!/usr/bin/env bats
# tests/powerloss.bats - what a power cut leaves, not just SIGKILL.
#
# SIGKILL keeps the page cache; a power cut loses what was not synced:
# the head file, which writers update in place without a sync, may come
# back older than the synced segments.

load helper
load robust

setup_file() {
	robust_setup_file
}

@test "powerloss: a head older than several rolls: the next writer adopts every segment" {
	evgen 1100 --seed 7 >in.ndjson
	evctl init --segment-bytes 64K L >/dev/null
	head -n 100 in.ndjson | evpub --batch-events 7 L
	cp L/head head.old
	tail -n +101 in.ndjson | evpub --batch-events 7 L
	[ "$(ls L/*.seg | wc -l)" -ge 3 ]
	evtail L >all.json
	# the head is written, never synced: a power cut may keep an old one
	cp head.old L/head
	run --separate-stderr evpub L </dev/null
	assert_status 0
	assert_stderr ""
	run --separate-stderr evctl verify L
	assert_status 0
	evtail L | cmp - all.json
	[ "$(wc -l <all.json)" -eq 1100 ]
}
