#!/usr/bin/env bats
# tests/crash.bats - crash safety of evpub (issue 2, sections 2.7, 2.8, 7).
#
# SIGKILL keeps the page cache, so these tests show that the writer's
# order of operations and its recovery are right, not that fsync happened;
# tests/strace.bats checks the fsyncs.
#
#   EVLOG_CRASH_KILLS   kills in the random loop (default 200)
#   EVLOG_SOAK_SCALE    multiplies the torn-tail trials (default 1)
#   EVLOG_ROBUST_SEED   replay a run's random choices

load helper
load robust

setup_file() {
	robust_setup_file
}

@test "crash: SIGKILL at random moments keeps every acked event once, in order" {
	local kills=${EVLOG_CRASH_KILLS:-200}
	robust_seed
	run --separate-stderr bash "$TOP/tests/crash.sh" random "$T" "$kills" \
		"$ROBUST_SEED"
	echo "$output"
	echo "${stderr:-}"
	assert_status 0
	assert_stdout_contains "crash.sh: $kills kills,"
	echo "# $output" >&3
}

@test "crash: SIGKILL before and after each write and sync keeps the log sound" {
	run --separate-stderr bash "$TOP/tests/crash.sh" points "$T" \
		"$FAULTINJECT"
	echo "$output"
	echo "${stderr:-}"
	assert_status 0
	assert_stdout_contains "crash.sh: 32 crash points,"
	echo "# $output" >&3
}

# A log whose last batch holds the last 7 of 300 events, with the head
# file as it was before that batch (head.before) and the reads of the
# whole log (all.json) and of everything before the last batch
# (before.json).  Sets P and E: the last batch's first and end byte.
torn_fixture() {
	evgen 300 --seed 5 >in.ndjson
	head -n 293 in.ndjson >first.ndjson
	tail -n 7 in.ndjson >last.ndjson
	evctl init L >/dev/null
	evpub --batch-events 7 L <first.ndjson
	cp L/head head.before
	P=$(stat -c %s L/00000000000000000000.seg)
	evpub --batch-events 7 L <last.ndjson
	E=$(stat -c %s L/00000000000000000000.seg)
	evtail L >all.json
	head -n 293 all.json >before.json
	# the oracle agrees that the last batch spans [P, E) and holds 7
	[ "$("$EVTEST" batches L/00000000000000000000.seg | tail -n 1)" = \
		"$P 293 7 $((E - P - 64))" ]
}

# torn_case HEAD HOW CUT: damage a copy W of L.  HEAD is "deleted" or
# "stale" (the head from before the last batch); HOW is "truncate" (the
# file ends at CUT) or "zero" (bytes CUT..E are zeros, as after a crash
# that extended the file but lost the data).  Then check readers, verify
# and the writer's repair.
torn_case() {
	local headmode=$1 how=$2 cut=$3 seg=W/00000000000000000000.seg size
	# shown when the test fails; the summary line goes to the TAP stream
	echo "torn tail: head $headmode, $how at byte $cut (batch $P..$E)"
	CUTS="$CUTS $how@$cut"
	rm -rf W
	cp -a L W
	case $headmode in
	deleted) rm W/head ;;
	stale) cp head.before W/head ;;
	esac
	case $how in
	truncate)
		truncate -s "$cut" "$seg"
		size=$cut
		;;
	zero)
		dd if=/dev/zero of="$seg" bs=1 seek="$cut" count=$((E - cut)) \
			conv=notrunc status=none
		size=$E
		;;
	esac

	# readers stop before the torn batch, exit 0, say nothing on stdout
	run --separate-stderr evtail W
	assert_status 0
	cmp <(printf '%s\n' "$output") before.json
	assert_stderr ""
	if [ "$headmode" = deleted ]; then
		# a lone segment file reads the same way
		run --separate-stderr evtail "$seg"
		assert_status 0
		cmp <(printf '%s\n' "$output") before.json
		# and verify calls a torn tail without a head no damage
		run --separate-stderr evctl verify W
		assert_status 0
	fi

	# the writer truncates it, with a one-line notice
	run --separate-stderr evpub W </dev/null
	assert_status 0
	assert_stderr_contains "evpub: truncated a torn tail of $((size - P)) bytes at byte $P of segment 00000000000000000000"
	[ "$(grep -c 'torn tail' <<<"$stderr")" -eq 1 ]
	refute grep -v -e 'torn tail' -e 'head file of .* is missing or damaged' \
		<<<"$stderr"
	[ "$(stat -c %s "$seg")" -eq "$P" ]
	run --separate-stderr evctl verify W
	assert_status 0
	run --separate-stderr evtail W
	assert_status 0
	cmp <(printf '%s\n' "$output") before.json
	# and appends go on from the cut
	run --separate-stderr evpub --ack W <last.ndjson
	assert_status 0
	[ "${lines[0]%% *}" = 293 ]
	[ "${#lines[@]}" -eq 7 ]
	evtail W | cmp - all.json
}

@test "crash: a torn last batch without a head: readers stop cleanly, writers truncate" {
	local trials=$((6 * ${EVLOG_SOAK_SCALE:-1})) t cut CUTS=""
	robust_seed
	torn_fixture
	# the edges: one byte of header, a whole header, one byte short
	for cut in $((P + 1)) $((P + 64)) $((E - 1)); do
		torn_case deleted truncate "$cut"
	done
	for t in $(seq 1 "$trials"); do
		rand_below cut $((E - P - 1))
		torn_case deleted truncate $((P + 1 + cut))
		rand_below cut $((E - P - 1))
		torn_case deleted zero $((P + 1 + cut))
	done
	echo "# last batch at bytes $P..$E; cuts:$CUTS" >&3
}

@test "crash: a torn batch past a stale head: readers stop at the head, writers truncate" {
	local trials=$((6 * ${EVLOG_SOAK_SCALE:-1})) t cut CUTS=""
	robust_seed
	torn_fixture
	for cut in $((P + 1)) $((P + 64)) $((E - 1)); do
		torn_case stale truncate "$cut"
	done
	for t in $(seq 1 "$trials"); do
		rand_below cut $((E - P - 1))
		torn_case stale truncate $((P + 1 + cut))
		rand_below cut $((E - P - 1))
		torn_case stale zero $((P + 1 + cut))
	done
	echo "# last batch at bytes $P..$E; cuts:$CUTS" >&3
}

@test "crash: the checks fail on a log that lost an acked event" {
	# the crash loop's prefix check, against a log missing one event
	evgen 40 --seed 3 >in.ndjson
	evpub -c --batch-events 4 ref <in.ndjson
	evtail ref >ref.json
	sed '17d' in.ndjson | evpub -c --batch-events 4 bad
	evtail bad >bad.json
	is_prefix ref.json ref.json
	head -n 16 ref.json >short.json
	is_prefix short.json ref.json
	refute is_prefix bad.json ref.json
	# a cut inside a line is not a prefix that ends at a line boundary
	head -c 100 ref.json >partial.json
	refute is_prefix partial.json ref.json
}
