#!/usr/bin/env bats
# tests/faultinject.bats - failed writes and syncs (issue 2, section 2.7).
# tests/faultinject.so makes one chosen system call fail.  A failed write
# or fsync is never retried and then reported as success: the writer cuts
# the segment back to the last durable point, prints no ack for the failed
# batch, and exits 74; the next writer appends cleanly.

load helper
load robust

setup_file() {
	robust_setup_file
	cd "$BATS_FILE_TMPDIR" || return 1
	evgen 1000 --seed 51 >in.ndjson
}

local_setup() {
	IN=$BATS_FILE_TMPDIR/in.ndjson
}

# inject CALL NTH [VAR=VALUE...] -- EVPUB-ARGS...: run evpub --ack under the
# shim, with acks in ./acks, stderr in $stderr and the exit in $status
inject() {
	local call=$1 nth=$2
	shift 2
	local env=()
	while [ "$1" != -- ]; do
		env+=("$1")
		shift
	done
	shift
	rm -f fi.log
	run --separate-stderr env EVFI_CALL="$call" EVFI_NTH="$nth" \
		EVFI_LOG="$T/fi.log" "${env[@]}" LD_PRELOAD="$FAULTINJECT" \
		evpub --ack "$@"
	printf '%s\n' "$output" | sed '/^$/d' >acks
	echo "status $status; stderr: $stderr"
	echo "faultinject: $(cat fi.log 2>/dev/null)"
	# the shim really fired, once (or $FIRES times)
	[ "$(wc -l <fi.log)" -eq "${FIRES:-1}" ]
}

# after a failure that left N durable events in log $1 (one segment):
# the segment ends at the durable end, readers and acks agree on N events,
# and a new writer goes on from N
check_cut_back() {
	local log=$1 n=$2 seg end
	seg=$(ls "$log"/*.seg | tail -n 1)
	read -r _ end _ <<<"$("$EVTEST" head "$log/head")"
	echo "$seg: $(stat -c %s "$seg") bytes, durable end $end"
	[ "$(stat -c %s "$seg")" -eq "$end" ]
	[ "$(wc -l <acks)" -eq "$n" ]
	evtail --template '{offset} {id}' "$log" | cmp - acks
	run --separate-stderr evctl verify "$log"
	assert_status 0
	# up to 50 more lines (fewer when the failure came near the end)
	tail -n +$((n + 1)) "$IN" | head -n 50 >more.ndjson
	local more
	more=$(wc -l <more.ndjson)
	[ "$more" -ge 1 ]
	run --separate-stderr evpub --ack "$log" <more.ndjson
	assert_status 0
	assert_stderr ""
	[ "${lines[0]%% *}" -eq "$n" ]
	evtail "$log" | sed -E 's/^\{"offset":[0-9]+,/{/' >back.ndjson
	[ "$(wc -l <back.ndjson)" -eq $((n + more)) ]
	run --separate-stderr evctl verify "$log"
	assert_status 0
}

# $1 with thousands separators, as evpub prints counts and lines
commas() {
	sed -E ':a; s/([0-9])([0-9]{3})($|,)/\1,\2\3/; ta' <<<"$1"
}

@test "faultinject: the Nth fdatasync fails with EIO: exit 74, no ack, segment cut back" {
	local nth
	robust_seed
	# 100 batches in groups of at most 17 (the writer's queue, 16, and
	# one) make at least 6 syncs
	rand_below nth 5
	nth=$((nth + 2))
	echo "# fdatasync #$nth fails" >&3
	evctl init L >/dev/null
	inject fdatasync "$nth" EVFI_PATH=.seg -- --batch-events 10 L <"$IN"
	assert_status 74
	# group commit may sync several batches at once: what was acked is
	# what the failed sync did not cover
	local n
	n=$(wc -l <acks)
	[ "$n" -ge $(((nth - 1) * 10)) ] && [ $((n % 10)) -eq 0 ]
	assert_stderr_line 0 "evpub: fsync of 'L' failed; nothing after offset $n was written: Input/output error"
	# stopped at the first line not written, not the last one read
	assert_stderr_line 1 "evpub: $n events appended; stopped at line $(commas $((n + 1)))"
	check_cut_back L "$n"
}

@test "faultinject: the first fdatasync fails: nothing is acked or kept" {
	evctl init L >/dev/null
	inject fdatasync 1 -- --batch-events 10 L <"$IN"
	assert_status 74
	assert_stderr_contains "nothing after offset 0 was written"
	[ "$(stat -c %s L/00000000000000000000.seg)" -eq 64 ]
	check_cut_back L 0
}

@test "faultinject: every fdatasync fails: the first failure stops the writer" {
	evctl init L >/dev/null
	# the failed sync, then the sync of the cut back to the durable end,
	# which fails as well here
	FIRES=2 inject fdatasync 3 EVFI_COUNT=0 -- --batch-events 10 L <"$IN"
	assert_status 74
	local n
	n=$(wc -l <acks)
	[ "$n" -ge 20 ] && [ $((n % 10)) -eq 0 ]
	[ "$(grep -c 'fdatasync #' fi.log)" -eq 2 ]
	assert_stderr_line 0 "evpub: fsync of 'L' failed; nothing after offset $n was written: Input/output error"
	check_cut_back L "$n"
}

@test "faultinject: a segment write fails with ENOSPC: exit 74, no ack, nothing kept" {
	evctl init L >/dev/null
	# a write a group of batches: the 5th is the 5th group's, after at
	# most 4 groups of at most 17 batches (a full queue and one more)
	inject pwritev 5 EVFI_ERRNO=ENOSPC -- --batch-events 10 L <"$IN"
	assert_status 74
	local n
	n=$(wc -l <acks)
	[ "$n" -le $((4 * 17 * 10)) ] && [ $((n % 10)) -eq 0 ]
	assert_stderr_line 0 "evpub: write to 'L' failed; nothing after offset $n was written: No space left on device"
	check_cut_back L "$n"
}

@test "faultinject: a short segment write on a full disk is cut back" {
	evctl init L >/dev/null
	# 200 batches make at least 12 groups, so a 7th write comes
	inject pwritev 7 EVFI_SHORT=1 -- --batch-events 5 L <"$IN"
	assert_status 74
	local n
	n=$(wc -l <acks)
	[ "$n" -le $((6 * 17 * 5)) ] && [ $((n % 5)) -eq 0 ]
	assert_stderr_contains "nothing after offset $n was written: No space left on device"
	grep -q 'short write' fi.log
	check_cut_back L "$n"
}

@test "faultinject: a failed sync of a new segment at a roll: exit 74, log sound" {
	evctl init --segment-bytes 64K L >/dev/null
	# the first write to a .seg file is the new segment's header
	inject pwrite 1 EVFI_PATH=.seg -- --batch-events 10 L <"$IN"
	assert_status 74
	assert_stderr_contains "cannot write 'L/"
	local n
	n=$(wc -l <acks)
	[ "$n" -gt 100 ]
	check_cut_back L "$n"
}

@test "faultinject: a failed directory fsync at a roll: exit 74, log sound" {
	evctl init --segment-bytes 64K L >/dev/null
	inject fsync 1 'EVFI_PATH=/L$' -- --batch-events 10 L <"$IN"
	assert_status 74
	assert_stderr_contains "cannot sync directory 'L'"
	local n
	n=$(wc -l <acks)
	[ "$n" -gt 100 ]
	[ "$(evtail L | wc -l)" -eq "$n" ]
	run --separate-stderr evpub L </dev/null
	assert_status 0
	run --separate-stderr evctl verify L
	assert_status 0
}

@test "faultinject: a failed head update: exit 74, and the unacked batch never appears" {
	evctl init L >/dev/null
	# the writer updates the head as it opens the log, then once a batch
	inject pwrite 6 EVFI_PATH=/head -- --batch-events 10 L <"$IN"
	assert_status 74
	assert_stderr_contains "cannot update 'L/head'"
	local n
	n=$(wc -l <acks)
	[ "$n" -gt 0 ] && [ $((n % 10)) -eq 0 ]
	# the writer said the batch failed, so a relay sends it again; it
	# must not also come back from the segment (cut back, as for fsync)
	check_cut_back L "$n"
}

@test "faultinject: a failed index write is not an error (indexes are caches)" {
	evctl init L >/dev/null
	inject write 2 EVFI_PATH=.idx EVFI_ERRNO=ENOSPC -- --batch-events 10 L <"$IN"
	assert_status 0
	assert_stderr ""
	[ "$(wc -l <acks)" -eq 1000 ]
	run --separate-stderr evctl verify L
	assert_status 0
	run --separate-stderr evtail --from 555 L
	assert_status 0
	[ "${lines[0]:0:14}" = '{"offset":555,' ]
	[ "${#lines[@]}" -eq 445 ]
}

@test "faultinject: acks that cannot be written make evpub fail" {
	evctl init L >/dev/null
	head -n 100 "$IN" >in100
	run --separate-stderr sh -c \
		'evpub --ack --batch-events 10 L <in100 >/dev/full'
	echo "status $status; stderr: $stderr"
	# the relay must learn that it lost the acks, and evpub stops
	# reading: what it appended is durable and reported
	assert_status 74
	assert_stderr_line 0 "evpub: cannot write acknowledgements: No space left on device"
	local n
	n=$(evtail L | wc -l)
	[ "$n" -ge 10 ] && [ "$n" -le 100 ]
	[[ ${stderr_lines[1]} == "evpub: $n events appended; stopped at line "* ]]
}
