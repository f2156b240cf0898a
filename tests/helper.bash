# tests/helper.bash - shared setup for the bats files.  Load it with
#   load helper
# Each test gets a fresh directory $T (removed afterwards) as its cwd.
bats_require_minimum_version 1.5.0

TOP=${TOP:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
PATH="$TOP/cmd:$TOP/examples:$PATH"
export TOP PATH

setup() {
	T=$(mktemp -d "${BATS_TMPDIR:-/tmp}/evlog-test.XXXXXX")
	cd "$T" || return 1
	unset EVLOG_TEST_SEED SOURCE_DATE_EPOCH NO_COLOR
	if declare -F local_setup >/dev/null; then local_setup; fi
}

teardown() {
	if declare -F local_teardown >/dev/null; then local_teardown; fi
	cd /
	rm -rf "$T"
}

# A small log of N events from the project's generator.
make_log() {
	local log=$1 n=${2:-20}
	evgen "$n" --seed 7 >"$T/gen.ndjson" &&
		evpub -c "$log" <"$T/gen.ndjson"
}

# N more events for a make_log log: new ids, no versions (the log
# numbers them after the streams' last).
more_events() {
	evgen "$1" --seed 8 | sed 's/"version":[0-9]*,//'
}

# Assert helpers that print what they saw when they fail.
assert_status() {
	if [ "$status" -ne "$1" ]; then
		echo "expected status $1, got $status" >&2
		echo "stdout: $output" >&2
		echo "stderr: ${stderr:-}" >&2
		return 1
	fi
}
assert_stdout() {
	if [ "$output" != "$1" ]; then
		printf 'expected stdout:\n%s\ngot:\n%s\n' "$1" "$output" >&2
		return 1
	fi
}
assert_stderr() {
	if [ "${stderr:-}" != "$1" ]; then
		printf 'expected stderr:\n%s\ngot:\n%s\n' "$1" "${stderr:-}" >&2
		return 1
	fi
}
assert_stderr_contains() {
	case "${stderr:-}" in
	*"$1"*) ;;
	*) printf 'expected stderr to contain:\n%s\ngot:\n%s\n' "$1" "${stderr:-}" >&2
	   return 1 ;;
	esac
}
assert_stdout_contains() {
	case "$output" in
	*"$1"*) ;;
	*) printf 'expected stdout to contain:\n%s\ngot:\n%s\n' "$1" "$output" >&2
	   return 1 ;;
	esac
}

# Real data from $EVLOG_DATA (tests/run sets it from ../shared/data).
# need_data FILE prints the path, or fails the test (never skips): set but
# missing is an error, and so is unset for a test that needs this file.
need_data() {
	if [ -z "${EVLOG_DATA:-}" ]; then
		echo "EVLOG_DATA is not set; this test needs $1 (tests/run sets EVLOG_DATA from ../shared/data)" >&2
		return 1
	fi
	if [ ! -r "$EVLOG_DATA/$1" ]; then
		echo "EVLOG_DATA=$EVLOG_DATA but $1 is not there" >&2
		return 1
	fi
	printf '%s\n' "$EVLOG_DATA/$1"
}

# data_or_gen FILE N: the real file when EVLOG_DATA is set (it must then
# exist), else N generated events in $T (for tests whose point allows it).
data_or_gen() {
	if [ -n "${EVLOG_DATA:-}" ]; then
		need_data "$1"
		return
	fi
	evgen "$2" --seed 3 >"$T/fallback-$1" || return 1
	printf '%s\n' "$T/fallback-$1"
}

# Number of events in a log, from evctl info --json.
event_count() {
	evctl info --json "$1" | jq -r .events
}

# wait_for_lines FILE N SECONDS: poll until FILE has at least N lines.
wait_for_lines() {
	local f=$1 n=$2 limit=$3 i=0 steps
	steps=$(awk "BEGIN { print int($limit * 100) }")
	while [ "$i" -le "$steps" ]; do
		if [ -f "$f" ] && [ "$(wc -l <"$f")" -ge "$n" ]; then
			return 0
		fi
		sleep 0.01
		i=$((i + 1))
	done
	echo "timed out after ${limit}s waiting for $n lines in $f; have:" >&2
	cat "$f" >&2
	return 1
}

# Assert stderr/stdout line K (0-based) equals S.
assert_stderr_line() {
	local got=${stderr_lines[$1]:-}
	if [ "$got" != "$2" ]; then
		printf 'expected stderr line %s:\n%s\ngot:\n%s\nfull stderr:\n%s\n' \
			"$1" "$2" "$got" "${stderr:-}" >&2
		return 1
	fi
}
assert_stdout_line() {
	local got=${lines[$1]:-}
	if [ "$got" != "$2" ]; then
		printf 'expected stdout line %s:\n%s\ngot:\n%s\n' "$1" "$2" "$got" >&2
		return 1
	fi
}

# The short usage of each tool, as a usage error prints it after its
# message (one copy here, so that the test files cannot drift apart).
EVPUB_USAGE="Usage: evpub [options] LOG
       evpub [options] LOG TYPE [name=string | name:=json ...]
Try 'evpub --help' for more information."
EVTAIL_USAGE="Usage: evtail [options] LOG
Try 'evtail --help' for more information."
EVCTL_USAGE="Usage: evctl init [--dedupe-window N] [--level N] [--segment-bytes SIZE]
                  [--sync MODE] LOG
       evctl info [--json] [--types] LOG
       evctl verify [--quiet] LOG
       evctl repair [--dry-run] [--truncate-damaged] LOG
       evctl groups [--json] [--state-dir DIR] LOG
       evctl groups --reset NAME --to POS [--execute] [--state-dir DIR] LOG
       evctl lag [--group NAME] [--state-dir DIR] --warn N --crit N LOG
       evctl metrics [--state-dir DIR] LOG...
       evctl streams [--category NAME] [--json] LOG
       evctl trim (--before TIME | --keep-events N | --keep-bytes SIZE)
                  [--dry-run] [--force] [--state-dir DIR] LOG
Try 'evctl --help' for more information."
