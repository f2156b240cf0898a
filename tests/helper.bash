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
# need_data FILE, in the test's own shell: when EVLOG_DATA is unset (a
# fresh clone has no ../shared), the test is skipped with the reason and
# counted as skipped; with EVLOG_REQUIRE_CORPORA set (CI), it fails
# instead.  Set but missing the file always fails.  The path is in
# $DATA afterwards.
need_data() {
	DATA=
	if [ -z "${EVLOG_DATA:-}" ]; then
		if [ -n "${EVLOG_REQUIRE_CORPORA:-}" ]; then
			echo "EVLOG_DATA is not set, and EVLOG_REQUIRE_CORPORA is: this test needs $1" >&2
			return 1
		fi
		skip "needs $1 from ../shared/data: set EVLOG_DATA (tests/run sets it when ../shared/data exists)"
	fi
	if [ ! -r "$EVLOG_DATA/$1" ]; then
		echo "EVLOG_DATA=$EVLOG_DATA but $1 is not there" >&2
		return 1
	fi
	DATA=$EVLOG_DATA/$1
}

# data_or_gen FILE N: the real file when EVLOG_DATA is set (it must then
# exist), else N generated events in $T (for tests whose point allows it).
data_or_gen() {
	if [ -n "${EVLOG_DATA:-}" ]; then
		need_data "$1" || return 1
		printf '%s\n' "$DATA"
		return
	fi
	evgen "$2" --seed 3 >"$T/fallback-$1" || return 1
	printf '%s\n' "$T/fallback-$1"
}

# Number of events in a log, from evctl info --json.
event_count() {
	evctl info --json "$1" | jq -r .events
}

# ------------------------------------------------------------ waiting
# Tests wait for a state, never for a time: each helper polls until its
# condition holds and fails, saying what it waited for, after SECONDS (a
# generous cap, fractions allowed; passing tests never reach it).

# deadline SECONDS: the time in microseconds SECONDS from now
deadline() {
	awk -v now="${EPOCHREALTIME//[!0-9]/}" -v s="$1" \
		'BEGIN { printf "%.0f", now + s * 1000000 }'
}

# wait_for CMD SECONDS [WHAT]: poll until the shell command CMD succeeds.
wait_for() {
	local end
	end=$(deadline "$2")
	until eval "$1"; do
		if [ "${EPOCHREALTIME//[!0-9]/}" -ge "$end" ]; then
			echo "timed out after ${2}s waiting for ${3:-$1}" >&2
			return 1
		fi
		sleep 0.02 # the polling interval
	done
}

# holds_for CMD SECONDS WHAT: CMD stays true for SECONDS.  Only for what
# must NOT happen (nothing committed, nothing printed) where no state
# says "it would have happened by now"; fails as soon as CMD fails.
holds_for() {
	local end
	end=$(deadline "$2")
	while eval "$1"; do
		if [ "${EPOCHREALTIME//[!0-9]/}" -ge "$end" ]; then
			return 0
		fi
		sleep 0.02 # the polling interval
	done
	echo "no longer true within ${2}s: $3" >&2
	return 1
}

# Is PID running (a zombie counts as gone)?
alive() {
	local st
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) && [ "$st" != Z ]
}

# wait_gone PID SECONDS: PID has exited (it may still be a zombie).
wait_gone() {
	wait_for "! alive $1" "$2" "process $1 to exit"
}

# wait_reaped PID SECONDS: PID has exited and its parent has waited for it.
wait_reaped() {
	wait_for "[ ! -e /proc/$1 ]" "$2" "process $1 to be reaped"
}

# wait_children PID N SECONDS: PID has N child processes, counting those
# that exited but that it has not waited for yet.
wait_children() {
	wait_for "[ \"\$(wc -w <'/proc/$1/task/$1/children')\" -eq $2 ]" "$3" \
		"process $1 to have $2 children" ||
		{ echo "it has: $(cat "/proc/$1/task/$1/children")" >&2; return 1; }
}

# wait_file FILE SECONDS: FILE exists.
wait_file() {
	wait_for "[ -e '$1' ]" "$2" "$1 to exist"
}

# wait_for_lines FILE N SECONDS: FILE has at least N lines.
wait_for_lines() {
	wait_for "[ -f '$1' ] && [ \"\$(wc -l <'$1')\" -ge $2 ]" "$3" \
		"$2 lines in $1" || {
		echo "$1 has:" >&2
		cat "$1" >&2 2>/dev/null || echo "(no file)" >&2
		return 1
	}
}

# wait_for_output FILE PATTERN SECONDS: a line of FILE matches the
# extended regular expression PATTERN.
wait_for_output() {
	wait_for "grep -Eq -e '$2' '$1' 2>/dev/null" "$3" \
		"a line matching '$2' in $1" || {
		echo "$1 has:" >&2
		cat "$1" >&2 2>/dev/null || echo "(no file)" >&2
		return 1
	}
}

# The committed position of group GROUP of LOG ("none" before a commit).
next_of() {
	local f=$1/groups/$2.group
	if [ -f "$f" ]; then sed -n 's/^next //p' "$f"; else echo none; fi
}

# wait_for_group_at LOG GROUP OFFSET SECONDS: the group has committed
# OFFSET as its next position.
wait_for_group_at() {
	wait_for "[ \"\$(next_of '$1' '$2')\" = '$3' ]" "$4" \
		"group $2 of $1 at $3" ||
		{ echo "it is at $(next_of "$1" "$2")" >&2; return 1; }
}

# idle PID: PID has nothing to do.  Its main thread sleeps in a blocking
# call (state S) that is not a wait on its own threads (a futex, where
# the kernel shows the wait channel), and no signal is pending for it.
# This is how a follower that caught up, a consumer waiting for its
# handlers, a writer blocked on a full pipe or a retry in its backoff
# look from outside.
idle() {
	local st wchan
	st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) && [ "$st" = S ] || return 1
	wchan=$(cat "/proc/$1/wchan" 2>/dev/null) || wchan=
	case "$wchan" in *futex*) return 1 ;; esac
	awk '/^(SigPnd|ShdPnd):/ && $2 !~ /^0+$/ { busy = 1 } END { exit busy }' \
		"/proc/$1/status" 2>/dev/null
}

# wait_idle PID SECONDS: see idle; fails at once when PID has exited.
wait_idle() {
	wait_for "! alive $1 || idle $1" "$2" "process $1 to be idle" &&
		{ alive "$1" || { echo "process $1 exited instead of waiting" >&2; return 1; }; }
}

# wait_lock_waiter PID SECONDS: PID is blocked waiting for a file lock
# (flock or fcntl) that another process holds.
wait_lock_waiter() {
	wait_for "grep -Eq '^[0-9]+: -> .* $1 ' /proc/locks" "$2" \
		"process $1 to wait for a lock" || { cat /proc/locks >&2; return 1; }
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

# usage_for TOOL FULL: what a usage error of the command that the last
# 'run' ran prints after its message.  For "evctl CMD ..." and "evdlq CMD
# ...", only CMD's lines of FULL (the tool's whole short usage, with its
# Try line), the first one starting "Usage: ", and the SELECTORS note
# when they take [SELECTORS]; for anything else, FULL.
usage_for() {
	local tool=$1 full=$2 cmd= w prev=
	for w in ${BATS_RUN_COMMAND:-}; do
		if [ "${prev##*/}" = "$tool" ]; then
			cmd=$w
			break
		fi
		prev=$w
	done
	if [ -z "$cmd" ] || ! printf '%s\n' "$full" | grep -q "^\(Usage: \| *\)$tool $cmd "; then
		printf '%s' "$full"
		return
	fi
	printf '%s\n' "$full" | awk -v tool="$tool" -v cmd="$cmd" '
		/^Try / { print; next }
		/^Usage: / || $1 == tool {
			c = ($1 == tool) ? $2 : $3
			keep = (c == cmd)
			if (keep && !printed) {
				sub(/^(Usage: | +)/, "Usage: ")
				printed = 1
			}
		}
		/^SELECTORS:/ { keep = sel }
		keep && /\[SELECTORS\]/ { sel = 1 }
		keep { print }' | sed '$!b' | head -c -1
}

# The short usage of each tool, as a usage error prints it after its
# message (one copy here, so that the test files cannot drift apart).
EVPUB_USAGE="Usage: evpub [options] LOG
       evpub [options] LOG TYPE [name=string | name:=json ...]
Try 'evpub --help' for more information."
EVTAIL_USAGE="Usage: evtail [options] LOG
Try 'evtail --help' for more information."
EVCTL_USAGE="Usage: evctl init [--correlation-index] [--dedupe-window N] [--level N]
                  [--segment-bytes SIZE] [--sync MODE] LOG
       evctl info [--json] [--types] LOG
       evctl verify [--quiet] LOG
       evctl repair [--dry-run] [--truncate-damaged] LOG
       evctl groups [--json] [--state-dir DIR] LOG
       evctl groups --reset NAME --to POS [--execute] [--state-dir DIR] LOG
       evctl groups --delete NAME [--execute] [--state-dir DIR] LOG
       evctl lag [--group NAME] [--state-dir DIR] --warn N --crit N LOG
       evctl metrics [--state-dir DIR] LOG...
       evctl info [--json] [KAFKA-OPTIONS] kafka://HOST:PORT/TOPIC
       evctl groups [--json] [--group NAME]... [KAFKA-OPTIONS]
                    kafka://HOST:PORT/TOPIC
       evctl lag [--group NAME] [KAFKA-OPTIONS] --warn N --crit N
                 kafka://HOST:PORT/TOPIC
       evctl health [--group NAME]... [--max-lag N] [KAFKA-OPTIONS]
                    kafka://HOST:PORT/TOPIC
       evctl metrics [--group NAME]... [KAFKA-OPTIONS]
                     kafka://HOST:PORT/TOPIC...
       evctl streams [--category NAME | --stream-exact NAME] [--json] LOG
       evctl trim (--before TIME | --keep-events N | --keep-bytes SIZE)
                  [--dry-run] [--force] [--state-dir DIR] LOG
       evctl export [--format FORMAT] [--quiet] -o FILE LOG
       evctl import [--max-bytes SIZE] [--quiet] FILE LOG
       evctl schema check --schemas DIR [--examples N] [--formats MODE]
                          [--ref-dir [PREFIX=]DIR]... [--report FORMAT]
                          [--require-schemas] [--type GLOB]...
                          [LOG | FILE... | -]
       evctl schema lint --schemas DIR [--ref-dir [PREFIX=]DIR]...
                         [--report FORMAT]
       evctl schema compat [--mode MODE] [--report FORMAT]
                           [--data LOG [--examples N] [--upcast DIR]
                           [--type TYPE]] OLD.json NEW.json
       evctl schema compat --transitive [--mode MODE] [--report FORMAT]
                           DIR/TYPE/
       evctl schema infer [--type TYPE]... [--out DIR] [--enum-max N]
                          [--wrap [--type-from PATH]] [LOG | FILE... | -]
Try 'evctl --help' for more information."
