#!/usr/bin/env bats
# tests/project-crash.bats - crash safety of evproject: a projection
# killed with SIGKILL at any moment loses no progress beyond its last
# checkpoint, counts nothing twice, and emits each event once.
#
#   EVLOG_PROJECT_KILLS  kills in the loop (default 40)
#   EVLOG_ROBUST_SEED    replay a run's random choices

load helper
load robust

setup_file() {
	robust_setup_file
}

@test "project-crash: SIGKILL at random moments; the states and the emitted events are a clean run's" {
	local kills=${EVLOG_PROJECT_KILLS:-40}
	robust_seed
	run --separate-stderr bash "$TOP/tests/project-crash.sh" "$T/w" \
		"$kills" "$ROBUST_SEED"
	echo "$output"
	echo "${stderr:-}"
	assert_status 0
	assert_stdout_contains "project-crash.sh: $kills kills,"
	echo "# $output" >&3
}
