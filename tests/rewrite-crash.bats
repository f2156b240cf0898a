#!/usr/bin/env bats
# tests/rewrite-crash.bats - crash safety of evreplay --rewrite (issue 10,
# section 3): a SIGKILL at any point leaves the source log intact and
# usable, and a rerun completes or starts over cleanly.  The loops are in
# tests/rewrite-crash.sh, which says what is checked after each kill.
#
#   EVLOG_REWRITE_KILLS  kills in the random loop (default 20)
#   EVLOG_ROBUST_SEED    replay a run's random choices

load helper
load robust

setup_file() {
	robust_setup_file
}

@test "rewrite crash: SIGKILL at random moments, into a new log and in place" {
	local kills=${EVLOG_REWRITE_KILLS:-20}
	robust_seed
	run --separate-stderr bash "$TOP/tests/rewrite-crash.sh" random "$T" \
		"$kills" "$ROBUST_SEED"
	echo "$output"
	echo "${stderr:-}"
	assert_status 0
	assert_stdout_contains "rewrite-crash.sh: $kills kills ("
	echo "# $output" >&3
}

@test "rewrite crash: SIGKILL before and after its syncs and renames, the steps of the swap among them" {
	run --separate-stderr bash "$TOP/tests/rewrite-crash.sh" points "$T" \
		"$FAULTINJECT"
	echo "$output"
	echo "${stderr:-}"
	assert_status 0
	assert_stdout_contains "rewrite-crash.sh: 51 crash points,"
	echo "# $output" >&3
}
