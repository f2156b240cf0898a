#!/usr/bin/env bats
# tests/strace.bats - no ack leaves evpub, and no head update publishes
# bytes, while appended segment bytes are unsynced (issue 2, sections 2.7
# and 7).  SIGKILL cannot show this, so the system calls are traced and
# checked by tests/strace-check.awk.

load helper
load robust

setup_file() {
	robust_setup_file
}

TRACE_CALLS=openat,write,pwrite64,pwritev,pwritev2,fdatasync,fsync,ftruncate

# traced CMD...: run CMD under strace -f -y into ./trace.  (In a sanitizer
# build, LeakSanitizer cannot run under ptrace, so it is turned off.)
traced() {
	ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		strace -f -y -s 16 -o trace -e trace=$TRACE_CALLS "$@"
}

check_trace() {
	run awk -f "$TOP/tests/strace-check.awk" trace
}

@test "strace: every batch is fdatasync'ed before its ack and its head update" {
	robust_seed
	evgen 400 --seed 21 >in.ndjson
	evctl init --segment-bytes 64K L >/dev/null
	# a slow pipe, so linger flushes and full batches both happen
	traced evpub --ack --batch-events 5 --linger 1ms L \
		< <("$EVTEST" trickle "$ROBUST_SEED" 8 2000 <in.ndjson) >acks
	check_trace
	echo "$output"
	assert_status 0
	echo "# $output" >&3
	# the check saw real work: every batch written, synced and acked,
	# and at least one segment roll with its directory sync
	local w s c d h a
	read -r w s c d h a < <(sed -E 's/[^0-9]+/ /g' <<<"$output")
	# (group commit: one write, one sync and one head update may cover
	# several batches, so they can be fewer than the batches and acks)
	[ "$w" -ge 10 ] && [ "$s" -ge 10 ] && [ "$a" -ge 10 ]
	[ "$c" -ge 1 ] && [ "$d" -ge "$c" ] && [ "$h" -ge 10 ] && [ "$h" -le "$w" ]
	# and the acks are the log
	evtail --template '{offset} {id}' L | cmp - acks
	[ "$(wc -l <acks)" -eq 400 ]
}

@test "strace: recovery syncs adopted bytes before publishing them" {
	evgen 500 --seed 22 >in.ndjson
	evctl init L >/dev/null
	# leave a batch written but neither synced nor published
	EVFI_CALL=fdatasync EVFI_NTH=3 EVFI_KILL=before LD_PRELOAD=$FAULTINJECT \
		evpub --batch-events 10 L <in.ndjson &
	local st=0
	wait $! 2>/dev/null || st=$?
	[ "$st" -eq 137 ]
	local pub adopt
	pub=$(evtail L | wc -l)
	run --separate-stderr evctl verify L
	assert_status 0
	assert_stderr_contains "bytes past the durable end"
	# the synced batches are published; the unsynced ones (one or more,
	# with group commit) wait for the next writer to adopt them
	adopt=$(sed -n 's/.*adopts \([0-9]*\) complete events.*/\1/p' <<<"$stderr")
	[ "$pub" -ge 20 ] && [ "$adopt" -ge 10 ]
	# (--renumber: the adopted events may already hold these streams)
	traced evpub --ack --renumber --batch-events 10 L < <(evgen 20 --seed 23) >acks
	check_trace
	echo "$output"
	assert_status 0
	[ "$(evtail L | wc -l)" -eq $((pub + adopt + 20)) ]
	local first
	read -r first _ <acks
	[ "$first" = "$((pub + adopt))" ]
}

@test "strace: a failed segment write is cut back, and the cut synced before evpub exits" {
	evgen 500 --seed 24 >in.ndjson
	evctl init L >/dev/null
	# a full disk at the 3rd group's write: whatever of it landed is cut
	# off, and the cut is synced, so that no power cut brings back
	# batches said not to be written
	run --separate-stderr traced env EVFI_CALL=pwritev EVFI_NTH=3 \
		EVFI_SHORT=1 LD_PRELOAD="$FAULTINJECT" \
		evpub --batch-events 10 L <in.ndjson
	assert_status 74
	assert_stderr_contains "nothing after offset"
	assert_stderr_contains "No space left on device"
	# the cut, then a sync of the same segment that returned 0
	run awk '/ftruncate\([0-9]+<[^>]*\.seg>/ { cut = 1; next }
		cut && /fdatasync\([0-9]+<[^>]*\.seg>/ && / = 0$/ { ok = 1 }
		END { print cut + ok }' trace
	assert_stdout 2
}

@test "strace: the check catches acks before the sync (--sync=none)" {
	# the negative control on a real trace: with --sync=none, acks are
	# written before any fdatasync, and the check must say so
	evgen 50 --seed 24 >in.ndjson
	evctl init L >/dev/null
	traced evpub --ack --sync=none --batch-events 5 L <in.ndjson >acks
	check_trace
	assert_status 1
	assert_stdout_contains "violation at trace line"
	assert_stdout_contains "00000000000000000000.seg"
}

@test "strace: the check follows unfinished and resumed calls across threads" {
	local seg=/L/00000000000000000000.seg
	# an ack while the segment write is still in flight
	cat >trace <<-EOF
	100 openat(3</L>, "lock", O_RDWR|O_CREAT|O_CLOEXEC, 0644) = 4</L/lock>
	101 pwritev(6<$seg>, [...], 2, 64 <unfinished ...>
	100 write(1</tmp/acks>, "0 x\n", 4) = 4
	101 <... pwritev resumed>) = 120
	EOF
	check_trace
	assert_status 1
	assert_stdout_contains "violation at trace line 3: an ack"
	# an ack while the sync has started but not returned
	cat >trace <<-EOF
	101 pwritev(6<$seg>, [...], 2, 64) = 120
	101 fdatasync(6<$seg> <unfinished ...>
	100 write(1</tmp/acks>, "0 x\n", 4) = 4
	101 <... fdatasync resumed>) = 0
	EOF
	check_trace
	assert_status 1
	assert_stdout_contains "violation at trace line 3: an ack"
	# a failed sync cleans nothing
	cat >trace <<-EOF
	[pid   101] pwritev(6<$seg>, [...], 2, 64) = 120
	[pid   101] fdatasync(6<$seg>) = -1 EIO (Input/output error)
	[pid   101] pwrite64(5</L/head>, "EVHD"..., 64, 0) = 64
	EOF
	check_trace
	assert_status 1
	assert_stdout_contains "violation at trace line 3: a head update"
	# a new segment needs its directory synced before an ack
	cat >trace <<-EOF
	101 openat(3</L>, "00000000000000000009.seg", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0644) = 6</L/00000000000000000009.seg>
	101 pwrite64(6</L/00000000000000000009.seg>, "x", 64, 0) = 64
	101 fdatasync(6</L/00000000000000000009.seg>) = 0
	101 pwritev(7</L/00000000000000000009.seg>, [...], 2, 64) = 120
	101 fdatasync(7</L/00000000000000000009.seg>) = 0
	100 write(1</tmp/acks>, "9 x\n", 4) = 4
	EOF
	check_trace
	assert_status 1
	assert_stdout_contains "/L/ (directory entry)"
	# and the same, in order, is clean
	cat >trace <<-EOF
	101 openat(3</L>, "00000000000000000009.seg", O_RDWR|O_CREAT|O_EXCL|O_CLOEXEC, 0644) = 6</L/00000000000000000009.seg>
	101 pwrite64(6</L/00000000000000000009.seg>, "x", 64, 0) = 64
	101 fdatasync(6</L/00000000000000000009.seg> <unfinished ...>
	100 write(2</dev/pts/0>, "note", 4) = 4
	101 <... fdatasync resumed>) = 0
	101 fsync(3</L>) = 0
	101 pwritev(7</L/00000000000000000009.seg>, [...], 2, 64) = 120
	101 fdatasync(7</L/00000000000000000009.seg>) = 0
	101 pwrite64(5</L/head>, "EVHD"..., 64, 0) = 64
	100 write(1</tmp/acks>, "9 x\n", 4) = 4
	101 +++ exited with 0 +++
	EOF
	check_trace
	assert_status 0
	assert_stdout "ok: 2 segment writes, 2 segment syncs, 1 segments created, 1 directory syncs, 1 head updates, 1 ack writes"
}

# synced_dir NAME: ./trace made NAME in the log L and then fsynced L
synced_dir() {
	local at
	at=$(grep -n "mkdirat([0-9]*<$1>, \"$2\"" trace | head -1 | cut -d: -f1)
	[ -n "$at" ] || { echo "no mkdirat of $2" >&2; return 1; }
	tail -n +"$at" trace | grep -Eq "fsync\([0-9]+<$1>\) += 0" ||
		{ echo "$1 not fsynced after $2 was made" >&2; return 1; }
}

@test "strace: new groups/ and state/ directories are synced into the log directory" {
	evgen 5000 --seed 3 --streams 30 >in.ndjson
	evctl init L >/dev/null
	local dir
	dir=$(realpath L)
	strace -f -y -o trace -e trace=mkdir,mkdirat,fsync evpub L <in.ndjson
	[ -d L/state ]
	synced_dir "$dir" state
	strace -f -y -o trace -e trace=mkdir,mkdirat,fsync evtail --group g L >/dev/null
	[ -d L/groups ]
	synced_dir "$dir" groups
}

@test "strace: a new lost+found/ directory is synced into the log directory before anything goes in it" {
	local dir at rest
	evgen 300 --seed 5 | evpub -c --batch-events 100 L
	dir=$(realpath L)
	# a byte in the middle of the first of three batches
	printf '\x55' | dd of=L/00000000000000000000.seg bs=1 seek=2000 \
		conv=notrunc status=none
	strace -f -y -o trace -e trace=mkdirat,fsync,openat \
		evctl repair --truncate-damaged L >/dev/null
	[ -d L/lost+found ]
	ls L/lost+found | grep -q damaged
	at=$(grep -n "mkdirat([0-9]*<$dir>, \"lost+found\"" trace | head -1 | cut -d: -f1)
	[ -n "$at" ]
	# between the mkdirat and the first file made in lost+found/
	rest=$(tail -n +"$at" trace | sed '/lost+found>, "[^"]*", O_[A-Z|]*O_CREAT/q')
	grep -Eq "fsync\([0-9]+<$dir>\) += 0" <<<"$rest"
}
