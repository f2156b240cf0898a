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
