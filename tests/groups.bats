#!/usr/bin/env bats
# tests/groups.bats - consumer groups, lag and retention (issue 3, section
# 2): evtail --group and its state files (evlog(5) Groups), evctl groups,
# lag, metrics and trim.  Exit status, stdout and stderr are checked
# separately; the messages are checked exactly where they are the point.
#
# Commits are observed without timing guesses: evtail writes into a FIFO
# that the test reads from fd 4 a known number of bytes at a time, so a
# commit, which only follows a complete write, happens exactly when the
# test lets it.  Besides jq, one test needs strace (to hold a probe inside
# its lock) and one the fault-injection shim of tests/faultinject.c.
load helper
load robust

setup_file() {
	robust_setup_file
}

tail_usage_err() {
	printf '%s\n%s' "$1" "$EVTAIL_USAGE"
}

ctl_usage_err() {
	printf '%s\n%s' "$1" "$(usage_for evctl "$EVCTL_USAGE")"
}

GROUPS_HEADER="GROUP                        OFFSET            LAG  LAG-SECONDS  AGE-SECONDS  LAST-COMMIT              STATE"

# the clock of the evlog tools fixed at SECS since the epoch (their test
# mode): at_epoch SECS COMMAND...
at_epoch() {
	SOURCE_DATE_EPOCH=$1 EVLOG_TEST_SEED=1 "${@:2}"
}

# evctl as if long ago: every age_seconds is 0, for exact output
evctl_past() {
	at_epoch 1 evctl "$@"
}

RFC3339_RE='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?Z$'

# background processes of a test, killed in teardown
BGS=()

local_teardown() {
	local p
	# a FIFO reader first, so a writer blocked on it sees EPIPE and exits
	exec 4<&- 2>/dev/null || true
	for p in "${BGS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${BGS[@]}"; do
		wait "$p" 2>/dev/null || true
	done
}

log_id() {
	evctl info --json "$1" | jq -r .id
}

# the next offset in a state file
state_next() {
	sed -n 's/^next //p' "$1"
}

# wait_next FILE N SECONDS: poll until state file FILE says next N
wait_next() {
	wait_for "[ -f '$1' ] && [ \"\$(state_next '$1')\" = '$2' ]" "$3" \
		"next $2 in $1" || {
		echo "$1 has:" >&2
		cat "$1" >&2 2>/dev/null || echo "(no file)" >&2
		return 1
	}
}

# a state file written by hand, as evlog(5) describes it
write_state() {
	local file=$1 id=$2 next=$3
	shift 3
	{
		echo "evlog-group 1"
		echo "log $id"
		echo "next $next"
		printf '%s\n' "$@"
	} >"$file"
}

# bytes of lines A..B (1-based, inclusive) of file F
line_bytes() {
	sed -n "$2,$3p" "$1" | wc -c
}

# take N bytes from fd 4 (the FIFO evtail writes to) into FILE
take() {
	timeout 10 head -c "$1" <&4 >>"$2"
}

# a FIFO at $T/p, open for reading and writing on fd 4 so that evtail's
# open(2) of it does not block; evtail must be started with 4<&-
open_fifo() {
	mkfifo "$T/p"
	exec 4<>"$T/p"
}

# L: 2000 generated events, and all.json their JSON lines as evtail
# prints them (about 400 bytes each, so 500 never fit in a pipe)
log_2000() {
	evgen 2000 --seed 7 >gen.ndjson
	evpub -c L <gen.ndjson
	evtail L >all.json
}

# ------------------------------------------------------------ evtail --group

@test "evtail --group: a new group reads from the first event and commits the state file of evlog(5)" {
	make_log L 20
	local before after c
	before=$(date -u +%s)
	run --separate-stderr evtail --group g --template '{offset}' L
	after=$(date -u +%s)
	assert_status 0
	assert_stderr ""
	assert_stdout "$(seq 0 19)"
	[ -f L/groups/g.lock ]
	[ ! -s L/groups/g.lock ]
	run cat L/groups/g.group
	assert_stdout_line 0 "evlog-group 1"
	assert_stdout_line 1 "log $(log_id L)"
	assert_stdout_line 2 "next 20"
	[[ ${lines[3]} =~ ^committed\ (.*)$ ]]
	c=${BASH_REMATCH[1]}
	[[ $c =~ $RFC3339_RE ]]
	c=$(date -u -d "$c" +%s)
	[ "$c" -ge $((before - 1)) ]
	[ "$c" -le $((after + 1)) ]
	# the counters that handlers keep, all zero for a plain reader
	assert_stdout_line 4 "handled 0"
	assert_stdout_line 5 "failed 0"
	assert_stdout_line 6 "dead-lettered 0"
	assert_stdout_line 7 "skipped 0"
	assert_stdout_line 8 "duration-sum 0.000000"
	assert_stdout_line 9 "duration-buckets 0 0 0 0 0 0 0 0 0 0 0 0"
	[ "${#lines[@]}" -eq 10 ]
	# committed by rename: nothing left over
	[ "$(ls L/groups)" = "g.group
g.lock" ]
}

@test "evtail --group: a second run resumes after the committed position" {
	make_log L 20
	evtail --group g L >/dev/null
	run --separate-stderr evtail --group g --template '{offset}' L
	assert_status 0
	assert_stderr ""
	assert_stdout ""
	printf '%s\n' '{"type":"A"}' '{"type":"B"}' '{"type":"C"}' | evpub L
	run --separate-stderr evtail --group g --template '{offset} {type}' L
	assert_status 0
	assert_stderr ""
	assert_stdout "20 A
21 B
22 C"
	[ "$(state_next L/groups/g.group)" = 23 ]
	# another group has a position of its own
	run --separate-stderr evtail --group other --template '{offset}' L
	assert_status 0
	assert_stdout "$(seq 0 22)"
}

@test "evtail --group: a new group starts at --from; an existing one ignores --from" {
	make_log L 20
	run --separate-stderr evtail --group g --from 15 --template '{offset}' L
	assert_status 0
	assert_stderr ""
	assert_stdout "$(seq 15 19)"
	[ "$(state_next L/groups/g.group)" = 20 ]
	evpub L T --id n1
	run --separate-stderr evtail --group g --from 0 --template '{offset}' L
	assert_status 0
	assert_stderr ""
	assert_stdout "20"
	run --separate-stderr evtail --group g --from start --template '{offset}' L
	assert_stdout ""
	# --from @TIME for a new group: the first event at or after TIME
	local t want
	t=$(jq -r .time gen.ndjson | sed -n 8p)
	run --separate-stderr evtail --group h --from "@$t" --template '{offset}' L
	assert_status 0
	want=$(jq -s --arg t "$t" 'map(.time >= $t) | index(true)' gen.ndjson)
	assert_stdout_line 0 "$want"
	[ "$(state_next L/groups/h.group)" = 21 ]
}

@test "evtail --group --from end: a new group that read nothing still keeps its position" {
	# a group exists once it has run: its next start is where this run
	# ended, not the beginning of the log (cursor files do the same)
	make_log L 20
	run --separate-stderr evtail --group g --from end L
	assert_status 0
	assert_stderr ""
	assert_stdout ""
	evpub L Later --id later
	run --separate-stderr evtail --group g --template '{offset} {type}' L
	assert_status 0
	assert_stdout "20 Later"
}

@test "evtail --group --exec --from end: a new group that handled nothing keeps its position too" {
	make_log L 20
	run --separate-stderr evtail --group g --from end --exec 'cat >>handled' L
	assert_status 0
	assert_stderr ""
	assert_stdout ""
	[ ! -e handled ]
	[ "$(state_next L/groups/g.group)" = 20 ]
	evpub L Later --id later
	run --separate-stderr evtail --group g --exec 'jq -c "[.offset, .type]" >>handled' L
	assert_status 0
	assert_stderr ""
	run cat handled
	assert_stdout '[20,"Later"]'
}

@test "evtail --group --state-dir keeps the state in DIR (created), not in the log" {
	make_log L 20
	run --separate-stderr evtail --group g --state-dir st --template '{offset}' L
	assert_status 0
	assert_stderr ""
	assert_stdout "$(seq 0 19)"
	[ -d st ]
	[ "$(ls st)" = "g.group
g.lock" ]
	[ ! -e L/groups ]
	[ "$(sed -n 2p st/g.group)" = "log $(log_id L)" ]
	[ "$(state_next st/g.group)" = 20 ]
	evpub L T --id n1
	run --separate-stderr evtail --group g --state-dir st --template '{offset}' L
	assert_stdout "20"
	# the log's own groups and the state dir's are separate
	run --separate-stderr evctl groups --json L
	assert_status 0
	assert_stdout ""
	run --separate-stderr evctl groups --json --state-dir st L
	assert_status 0
	[ "$(jq -r '"\(.group) \(.next)"' <<<"$output")" = "g 21" ]
}

@test "evtail --group: a state dir shared by two logs keeps their groups apart" {
	make_log A 20
	evgen 5 --seed 9 | evpub -c B
	evtail --group a --state-dir st A >/dev/null
	evtail --group b --state-dir st B >/dev/null
	run --separate-stderr evctl groups --json --state-dir st A
	assert_status 0
	[ "$(jq -r '"\(.group) \(.next)"' <<<"$output")" = "a 20" ]
	run --separate-stderr evctl groups --json --state-dir st B
	assert_status 0
	[ "$(jq -r '"\(.group) \(.next)"' <<<"$output")" = "b 5" ]
	run --separate-stderr evctl metrics --state-dir st A B
	assert_status 0
	assert_stdout_contains 'evlog_group_next_offset{log="A",group="a"} 20'
	assert_stdout_contains 'evlog_group_next_offset{log="B",group="b"} 5'
	[[ $output != *'log="A",group="b"'* ]]
	[[ $output != *'log="B",group="a"'* ]]
}

@test "evtail --group: a position of another log exits 65 naming both log ids" {
	make_log A 20
	evgen 30 --seed 9 | evpub -c B
	evtail --group g --state-dir st A >/dev/null
	cp st/g.group saved
	run --separate-stderr evtail --group g --state-dir st B
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: group 'g' in 'st' belongs to log $(log_id A), but 'B' is log $(log_id B)"
	cmp saved st/g.group
	# the same in the log's own directory, as a copied state file
	mkdir B/groups
	cp st/g.group B/groups/g.group
	run --separate-stderr evtail --group g B
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: group 'g' in 'B/groups' belongs to log $(log_id A), but 'B' is log $(log_id B)"
}

@test "evtail --group: a position past the end of the log exits 65" {
	make_log L 20
	evtail --group g L >/dev/null
	sed -i 's/^next .*/next 99/' L/groups/g.group
	cp L/groups/g.group saved
	run --separate-stderr evtail --group g L
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: group 'g' is at offset 99 in 'L/groups/g.group', past the end of 'L' (offset 20)"
	cmp saved L/groups/g.group
	# evctl lag never calls such a group OK, whatever the thresholds
	run --separate-stderr evctl lag --warn 1000 --crit 2000 L
	assert_status 2
	assert_stderr ""
	assert_stdout "LAG CRITICAL - group g is at offset 99, past the end of the log (offset 20) | 'g_lag'=0;1000;2000;0 'g_lag_seconds'=0.000s;;;0 'g_age_seconds'=0.000s;;;0"
	run --separate-stderr evtail --group g --state-dir st L >/dev/null
	sed -i 's/^next .*/next 21/' st/g.group
	run --separate-stderr evtail --group g --state-dir st L
	assert_status 65
	assert_stderr "evtail: group 'g' is at offset 21 in 'st/g.group', past the end of 'L' (offset 20)"
	# at the end exactly is fine
	sed -i 's/^next .*/next 20/' L/groups/g.group
	run --separate-stderr evtail --group g L
	assert_status 0
	assert_stdout ""
	assert_stderr ""
}

@test "evtail --from past the end exits 64 and stores nothing: with --group, --cursor-file or neither" {
	make_log L 20
	local x
	for x in "--group g" "--group g -f" "--cursor-file c" "" "-f"; do
		run --separate-stderr evtail $x --from 99999 L
		assert_status 64
		assert_stdout ""
		assert_stderr "evtail: --from: offset 99999 is past the end of 'L' (offset 20)"
		[ ! -e L/groups ]
		[ ! -e c ]
	done
	run --separate-stderr evtail --group g --from 21 L
	assert_status 64
	assert_stderr "evtail: --from: offset 21 is past the end of 'L' (offset 20)"
	# the end itself is a position
	run --separate-stderr evtail --group g --from 20 L
	assert_status 0
	assert_stderr ""
	[ "$(state_next L/groups/g.group)" = 20 ]
	# an existing group or cursor would ignore --from, but it is still
	# a mistake
	evtail --cursor-file c L >/dev/null
	cp c c.saved
	run --separate-stderr evtail --cursor-file c --from 99 L
	assert_status 64
	assert_stderr "evtail: --from: offset 99 is past the end of 'L' (offset 20)"
	cmp c c.saved
	run --separate-stderr evtail --group g --from 99 L
	assert_status 64
	[ "$(state_next L/groups/g.group)" = 20 ]
	run --separate-stderr evctl lag --warn 1 --crit 2 L
	assert_status 0
}

@test "evtail --group: a run that fails before its first commit leaves no group behind" {
	make_log L 20
	echo 'not a log' >notalog
	mkdir notalog.d
	: >notalog.d/x
	local x
	for x in "--dlq L:64:evtail: --dlq: 'L' is the log being read" \
		"--dlq notalog:66:evtail: 'notalog' is not an evlog log" \
		"--dlq notalog.d:66:evtail: 'notalog.d' is not an evlog log (no meta file)"; do
		IFS=: read -r opt rc msg <<<"$x"
		run --separate-stderr evtail --group h --exec true $opt L
		assert_status "$rc"
		assert_stdout ""
		assert_stderr "$msg"
		[ ! -e L/groups ]
	done
	# nor in a --state-dir it made, nor when the groups directory exists
	run --separate-stderr evtail --group h --state-dir st --exec true --dlq L L
	assert_status 64
	[ ! -e st ]
	evtail --group g L >/dev/null
	run --separate-stderr evtail --group h --exec true --dlq L L
	assert_status 64
	[ "$(ls L/groups)" = "g.group
g.lock" ]
	run --separate-stderr evctl groups --json L
	[ "$(jq -r .group <<<"$output")" = g ]
}

@test "evtail --group --dlq: a new dead-letter log is made only once the group is ours" {
	make_log L 20
	evtail --group g -f --template '{offset}' L >h.out 2>h.err 3>&- &
	BGS+=($!)
	wait_for_lines h.out 20 5
	run --separate-stderr evtail --group g --exec true --dlq newdlq L
	assert_status 75
	assert_stdout ""
	assert_stderr "evtail: group 'g' is busy: another consumer holds it
evtail: use --wait to wait for it"
	[ ! -e newdlq ]
	# a --dlq whose parent is missing: refused, and no group left behind
	run --separate-stderr evtail --group h --exec true --dlq no/such/dlq L
	assert_status 74
	assert_stdout ""
	assert_stderr "evtail: cannot create 'no/such/dlq': No such file or directory"
	[ ! -e L/groups/h.lock ] && [ ! -e L/groups/h.group ]
	# free, it is made and used
	run --separate-stderr evtail --group h --exec false --retries 0 --dlq newdlq L
	assert_status 0
	[ -d newdlq ]
	[ "$(evdlq ls --json newdlq | wc -l)" -eq 20 ]
}

@test "evtail --group: a broken pipe before the first commit leaves no group behind" {
	log_2000
	# a pipe whose reader is gone before the first write: no event is
	# written out in full
	run --separate-stderr bash -c 'exec 5> >(exec true); wait $!; evtail --group h L >&5'
	assert_status 0
	assert_stderr ""
	[ ! -e L/groups ]
	run --separate-stderr evctl groups L
	assert_status 0
	assert_stdout ""
	run --separate-stderr evctl lag --warn 1 --crit 2 L
	assert_status 3
	assert_stdout "LAG UNKNOWN - no consumer groups in 'L'"
}

@test "evtail --group: a damaged state file exits 65, naming the way out; evctl groups reports it and exits 65" {
	make_log L 20
	mkdir L/groups
	local id bad
	id=$(log_id L)
	for bad in "evlog-group 2|log $id|next 3" "log $id|next 3" \
		"evlog-group 1|next 3" "evlog-group 1|log $id" \
		"evlog-group 1|log $id|next x" "evlog-group 1|log abc|next 3" \
		"evlog-group 1|log $id|next 3junk" "evlog-group 1|log $id|next -0" \
		"evlog-group 1|log $id|next 18446744073709551616" \
		"evlog-group 1|log $id|next 3|handled -1" \
		"evlog-group 1|log $id|next 3|skipped 1x" \
		"evlog-group 1|log $id|next 3|duration-sum nan" \
		"evlog-group 1|log $id|next 3|duration-sum -2" \
		"evlog-group 1|log $id|next 3|duration-buckets 1 2 -3" ""; do
		tr '|' '\n' <<<"$bad" >L/groups/g.group
		run --separate-stderr evtail --group g L
		assert_status 65
		assert_stdout ""
		assert_stderr "evtail: group state file 'L/groups/g.group' is damaged
evtail: remove it with 'evctl groups --delete g --execute L', or set its position with 'evctl groups --reset g --to POS --execute L'"
		run --separate-stderr evctl groups L
		assert_status 65
		assert_stdout ""
		assert_stderr "evctl: warning: group state file 'L/groups/g.group' is damaged: group 'g' left out
evctl: remove it with 'evctl groups --delete g --execute L', or set its position with 'evctl groups --reset g --to POS --execute L'"
	done
	# keys it does not know are ignored
	write_state L/groups/g.group "$id" 18 "future-key some value"
	run --separate-stderr evtail --group g --template '{offset}' L
	assert_status 0
	assert_stderr ""
	assert_stdout "18
19"
}

@test "evtail --group: invalid group names exit 64" {
	make_log L 5
	local name long
	long=$(printf 'a%.0s' $(seq 129))
	for name in "" .hidden -dash a/b "a b" 'a*' "é" "$long"; do
		run --separate-stderr evtail --group "$name" L
		assert_status 64
		assert_stdout ""
		assert_stderr "$(tail_usage_err "evtail: --group: '$name' is not a group name (letters, digits, '.', '_', '-')")"
	done
	[ ! -e L/groups ]
	# 128 characters and every allowed character are fine
	run --separate-stderr evtail --group "${long:1}" L
	assert_status 0
	assert_stderr ""
	run --separate-stderr evtail --group "Az09._-x" L
	assert_status 0
	assert_stderr ""
	[ -f "L/groups/Az09._-x.group" ]
}

@test "evtail --group with --cursor-file or -n, and --state-dir or --wait without --group, exit 64" {
	make_log L 5
	run --separate-stderr evtail --group g --cursor-file c L
	assert_status 64
	assert_stdout ""
	assert_stderr "$(tail_usage_err "evtail: --group cannot be combined with --cursor-file or -n")"
	[ ! -e c ]
	run --separate-stderr evtail --group g -n 2 L
	assert_status 64
	assert_stdout ""
	assert_stderr "$(tail_usage_err "evtail: --group cannot be combined with --cursor-file or -n")"
	run --separate-stderr evtail --state-dir st L
	assert_status 64
	assert_stdout ""
	assert_stderr "$(tail_usage_err "evtail: --state-dir and --wait need --group")"
	[ ! -e st ]
	run --separate-stderr evtail --wait L
	assert_status 64
	assert_stdout ""
	assert_stderr "$(tail_usage_err "evtail: --state-dir and --wait need --group")"
	[ ! -e L/groups ]
}

@test "evtail --group: bad --commit-every and --commit-interval values exit 64" {
	make_log L 5
	local v
	for v in 0 -1 x 1k ""; do
		run --separate-stderr evtail --group g --commit-every "$v" L
		assert_status 64
		assert_stdout ""
		assert_stderr "$(tail_usage_err "evtail: --commit-every: '$v' is not a positive number")"
	done
	for v in 1x -1s 1.5s 2d ""; do
		run --separate-stderr evtail --group g --commit-interval "$v" L
		assert_status 64
		assert_stdout ""
		assert_stderr "$(tail_usage_err "evtail: --commit-interval: '$v' is not a duration such as 500ms or 2s")"
	done
	[ ! -e L/groups ]
}

@test "evtail --group on a segment file exits 64; on a missing log 66" {
	make_log L 5
	run --separate-stderr evtail --group g L/00000000000000000000.seg
	assert_status 64
	assert_stdout ""
	assert_stderr "$(tail_usage_err "evtail: --group needs a log directory, not a segment file")"
	[ ! -e L/groups ]
	run --separate-stderr evtail --group g nosuch
	assert_status 66
	assert_stdout ""
	assert_stderr "evtail: log 'nosuch' does not exist"
	[ ! -e nosuch ]
}

@test "evtail --group: a busy group exits 75 while another consumer holds it" {
	make_log L 20
	evtail --group g -f --template '{offset}' L >h.out 2>h.err 3>&- &
	BGS+=($!)
	wait_for_lines h.out 20 5
	run --separate-stderr evtail --group g L
	assert_status 75
	assert_stdout ""
	assert_stderr "evtail: group 'g' is busy: another consumer holds it
evtail: use --wait to wait for it"
	# another group, or the same name kept elsewhere, is free
	run --separate-stderr evtail --group h --template '{offset}' L
	assert_status 0
	assert_stdout "$(seq 0 19)"
	run --separate-stderr evtail --group g --state-dir st --template '{offset}' L
	assert_status 0
	assert_stdout "$(seq 0 19)"
	# the holder was not disturbed
	kill -0 "${BGS[0]}"
	[ ! -s h.err ]
}

@test "evtail --group: a holder killed while a forked child still shares its lock is not busy" {
	# a consumer killed with SIGKILL just after it forked a handler's
	# supervisor: the child holds the lock file's description (and so the
	# flock) for a moment; the holder's process lock died with it
	make_log L 20
	mkdir L/groups
	python3 - L/groups/g.lock <<'PY'
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 1)
if os.fork() == 0:
    time.sleep(0.3) # the supervisor, before it closes what it inherited
    os._exit(0)
os._exit(0) # the holder dies, its process lock with it
PY
	run --separate-stderr evtail --group g --template '{offset}' L
	assert_status 0
	assert_stderr ""
	assert_stdout "$(seq 0 19)"
	# one that is alive keeps its group, even while it waits on nothing
	python3 - L/groups/g.lock >py.out <<'PY' &
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, 1)
print("held", flush=True)
time.sleep(30)
PY
	BGS+=($!)
	wait_for_lines py.out 1 5
	run --separate-stderr evtail --group g L
	assert_status 75
	assert_stdout ""
	assert_stderr "evtail: group 'g' is busy: another consumer holds it
evtail: use --wait to wait for it"
}

@test "evtail --group --wait waits for the holder to exit, then resumes at its commit" {
	make_log L 20
	evtail --group g -f --template '{offset}' L >h.out 2>h.err 3>&- &
	local holder=$! waiter rc=0
	BGS+=("$holder")
	wait_for_lines h.out 20 5
	evtail --group g --wait -f --template '{offset}' L >w.out 2>w.err 3>&- &
	waiter=$!
	BGS+=("$waiter")
	printf '%s\n' '{"type":"A"}' '{"type":"B"}' '{"type":"C"}' | evpub L
	wait_for_lines h.out 23 5
	# blocked on the group's lock, and nothing printed
	wait_lock_waiter "$waiter" 10
	kill -0 "$waiter"
	[ ! -s w.out ]
	kill -TERM "$holder"
	wait "$holder" || rc=$?
	[ "$rc" -eq 0 ]
	[ "$(state_next L/groups/g.group)" = 23 ]
	printf '%s\n' '{"type":"D"}' '{"type":"E"}' | evpub L
	wait_for_lines w.out 2 5 || {
		echo "the waiter's stderr: $(cat w.err)" >&2
		false
	}
	run cat w.out
	assert_stdout "23
24"
	kill -TERM "$waiter"
	rc=0
	wait "$waiter" || rc=$?
	[ "$rc" -eq 0 ]
	[ ! -s h.err ]
	[ ! -s w.err ]
	[ "$(state_next L/groups/g.group)" = 25 ]
}

@test "evtail --group -f commits every --commit-every N events, and at the end of the log" {
	log_2000
	open_fifo
	evtail --group g -f --commit-every 500 --commit-interval 1h L \
		>"$T/p" 2>err 3>&- 4<&- &
	BGS+=($!)
	# 500 events do not fit in the pipe: nothing is written out in full
	# yet, so nothing is committed (idle, evtail is blocked on the pipe)
	wait_idle "${BGS[0]}" 10
	[ ! -e L/groups/g.group ]
	take "$(line_bytes all.json 1 500)" got
	wait_next L/groups/g.group 500 5
	# the next 500 are not written out: the position stays
	wait_idle "${BGS[0]}" 10
	[ "$(state_next L/groups/g.group)" = 500 ]
	take "$(line_bytes all.json 501 1000)" got
	wait_next L/groups/g.group 1000 5
	wait_idle "${BGS[0]}" 10
	[ "$(state_next L/groups/g.group)" = 1000 ]
	# the rest: 1500, then the end of the log, with lag 0 while it waits
	take "$(line_bytes all.json 1001 2000)" got
	wait_next L/groups/g.group 2000 5
	cmp got all.json
	run --separate-stderr evctl groups --json L
	assert_status 0
	[ "$(jq -c '[.group, .next, .lag, .busy]' <<<"$output")" = '["g",2000,0,true]' ]
	# new events while following: committed once caught up, lag 0
	printf '%s\n' '{"type":"A"}' '{"type":"B"}' | evpub L
	take "$(($(evtail --from 2000 L | wc -c)))" got
	wait_next L/groups/g.group 2002 5
	run --separate-stderr evctl lag --warn 1 --crit 2 L
	assert_status 0
	assert_stdout "LAG OK - group g is 0 events (0.0s) behind | 'g_lag'=0;1;2;0 'g_lag_seconds'=0.000s;;;0 'g_age_seconds'=0.000s;;;0"
	[ ! -s err ]
}

@test "evtail --group commits at least every --commit-interval while events flow" {
	evgen 6000 --seed 11 >gen.ndjson
	evpub -c L <gen.ndjson
	evtail L >all.json
	# evtail writes out when it has 1 MiB of output: the first K events
	local k
	k=$(LC_ALL=C awk '{ s += length($0) + 1 } s >= 1048576 { print NR; exit }' all.json)
	[ "$k" -gt 1000 ]
	[ "$k" -lt 5000 ]
	open_fifo
	evtail --group g --commit-every 1000000 --commit-interval 100ms L \
		>"$T/p" 2>err 3>&- 4<&- &
	BGS+=($!)
	# hold the first write past the interval, then let it through: the
	# next event finds the interval over and commits what was written
	wait_idle "${BGS[0]}" 10
	[ ! -e L/groups/g.group ]
	sleep 0.5 # the interval must pass: the point of the test
	[ ! -e L/groups/g.group ]
	take "$(line_bytes all.json 1 "$k")" got
	wait_next L/groups/g.group "$k" 5
	# the next MiB stays in flight (idle, evtail is blocked on the
	# pipe): no commit past it
	wait_idle "${BGS[0]}" 10
	[ "$(state_next L/groups/g.group)" = "$k" ]
	cat <&4 >>got &
	BGS+=($!)
	wait "${BGS[0]}"
	wait_next L/groups/g.group 6000 5
	[ ! -s err ]
}

@test "evtail --group: events passed over by the filters are committed too" {
	make_log L 40
	local last
	last=$(jq -r 'select(.type == "AccountOpened") | input_line_number - 1' gen.ndjson | tail -1)
	[ "$last" -lt 39 ]
	run --separate-stderr evtail --group g --type AccountOpened --template '{offset}' L
	assert_status 0
	assert_stderr ""
	assert_stdout "$(jq -r 'select(.type == "AccountOpened") | input_line_number - 1' gen.ndjson)"
	[ "$(state_next L/groups/g.group)" = 40 ]
	# the same through --where, which decodes every event, and --stream
	run --separate-stderr evtail --group w --where 'data.amount > 30000' --template '{offset}' L
	assert_status 0
	[ "$(state_next L/groups/w.group)" = 40 ]
	run --separate-stderr evtail --group s --stream 'nosuch-*' L
	assert_status 0
	assert_stdout ""
	[ "$(state_next L/groups/s.group)" = 40 ]
	# a run that matches nothing new commits nothing new
	run --separate-stderr evtail --group g --type AccountOpened L
	assert_stdout ""
	[ "$(state_next L/groups/g.group)" = 40 ]
}

@test "evtail --group --count and --to commit after the last event handled, not past it" {
	make_log L 40
	local second
	second=$(jq -r 'select(.type == "OrderPlaced") | input_line_number - 1' gen.ndjson | sed -n 2p)
	run --separate-stderr evtail --group g --type OrderPlaced --count 2 --template '{offset}' L
	assert_status 0
	[ "${lines[1]}" = "$second" ]
	[ "$(state_next L/groups/g.group)" = $((second + 1)) ]
	run --separate-stderr evtail --group g --count 3 --template '{offset}' L
	assert_stdout "$(seq $((second + 1)) $((second + 3)))"
	[ "$(state_next L/groups/g.group)" = $((second + 4)) ]
	run --separate-stderr evtail --group t --to 9 --template '{offset}' L
	assert_stdout "$(seq 0 9)"
	[ "$(state_next L/groups/t.group)" = 10 ]
}

# A record that fails to decode, inside a valid batch: with --level 0 the
# payload is stored as is, so a byte of a type string can be made invalid
# UTF-8 and the batch's checksums recomputed around it.
put_crc() { # FILE FROM LEN AT: CRC-32C of LEN bytes at FROM, stored at AT
	local h
	h=$(dd if="$1" bs=1 skip="$2" count="$3" status=none | "$EVTEST" crc32c)
	printf "\\x${h:6:2}\\x${h:4:2}\\x${h:2:2}\\x${h:0:2}" |
		dd of="$1" bs=1 seek="$4" conv=notrunc status=none
}

@test "evtail --group: a record that fails to decode is not committed, and stops every run" {
	evctl init --level 0 L >/dev/null
	printf '{"id":"e%d","type":"Good%d"}\n' 0 0 1 1 2 2 3 3 4 4 5 5 6 6 7 7 | evpub --batch-events 4 L
	local seg=L/00000000000000000000.seg pos base count stored at
	# the batch holding offsets 4..7, and the type of event 6 in it
	read -r pos base count stored < <("$EVTEST" batches "$seg" | sed -n 2p)
	[ "$base" = 4 ]
	at=$(grep -boa 'Good6' "$seg" | cut -d: -f1)
	"$EVTEST" flip "$seg" "$at" $((0x47 ^ 0xff)) >/dev/null
	put_crc "$seg" $((pos + 64)) "$stored" $((pos + 56))
	put_crc "$seg" "$pos" 60 $((pos + 60))
	run --separate-stderr evtail --group g --template '{offset}' L
	assert_status 65
	assert_stdout "$(seq 0 5)"
	assert_stderr "evtail: damaged data in 'L': offset 6: invalid record: type is not a non-empty string"
	[ "$(state_next L/groups/g.group)" = 6 ]
	# never skipped: the next run stops at the same record
	run --separate-stderr evtail --group g --template '{offset}' L
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: damaged data in 'L': offset 6: invalid record: type is not a non-empty string"
	[ "$(state_next L/groups/g.group)" = 6 ]
}

@test "evtail --group -f after SIGKILL: a restart resumes at the last commit, nothing lost" {
	log_2000
	open_fifo
	evtail --group g -f --commit-every 500 --commit-interval 1h L \
		>"$T/p" 2>err 3>&- 4<&- &
	local pid=$! rc=0
	BGS+=("$pid")
	take "$(line_bytes all.json 1 500)" got
	wait_next L/groups/g.group 500 5
	# 100 more reach the reader, uncommitted, then evtail dies
	take "$(line_bytes all.json 501 600)" got
	kill -KILL "$pid"
	wait "$pid" || rc=$?
	[ "$rc" -eq 137 ]
	[ "$(state_next L/groups/g.group)" = 500 ]
	# the group is free again, and starts at its commit: 500..599 twice
	run --separate-stderr evtail --group g --template '{offset}' L
	assert_status 0
	assert_stderr ""
	assert_stdout "$(seq 500 1999)"
	cmp got <(head -n 600 all.json)
}

@test "evtail --group killed in the middle of a commit keeps the previous position" {
	make_log L 50
	local rc=0
	# SIGKILL just before the third commit's fsync of NAME.group.tmp
	EVFI_CALL=fsync EVFI_PATH=.group.tmp EVFI_NTH=3 EVFI_KILL=before \
		LD_PRELOAD=$FAULTINJECT evtail --group g -f --commit-every 10 \
		--commit-interval 1h --template '{offset}' L >out 2>err 3>&- || rc=$?
	[ "$rc" -eq 137 ]
	# 0..29 were written out; 20 is the last complete commit
	run cat out
	assert_stdout "$(seq 0 29)"
	run cat L/groups/g.group
	assert_stdout_line 0 "evlog-group 1"
	assert_stdout_line 2 "next 20"
	run --separate-stderr evtail --group g --template '{offset}' L
	assert_status 0
	assert_stderr ""
	assert_stdout "$(seq 20 49)"
	[ "$(state_next L/groups/g.group)" = 50 ]
}

@test "evtail --group: a broken pipe commits only what was written out" {
	log_2000
	open_fifo
	evtail --group g -f --commit-every 500 --commit-interval 1h L \
		>"$T/p" 2>err 3>&- 4<&- &
	local pid=$! rc=0
	BGS+=("$pid")
	take "$(line_bytes all.json 1 500)" got
	wait_next L/groups/g.group 500 5
	take 1000 got
	# the reader goes away with 501..1000 half delivered: the group
	# commits after the last event that went into the pipe whole, as a
	# cursor file does; no more than a pipe's worth past what was taken
	exec 4<&-
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ]
	[ ! -s err ]
	local n
	n=$(state_next L/groups/g.group)
	[ "$n" -gt 500 ] && [ "$n" -lt 1000 ]
	[ "$(line_bytes all.json 501 "$n")" -le $((1000 + 1048576)) ]
	run --separate-stderr evtail --group g --count 1 --template '{offset}' L
	assert_stdout "$n"

	# the same with head(1), with a cursor file beside: both keep the
	# same position, after the last event written out in full
	run --separate-stderr bash -c 'evtail --group h L | head -n 1 | jq .offset; echo "${PIPESTATUS[0]}" >st'
	assert_status 0
	assert_stderr ""
	assert_stdout "0"
	[ "$(cat st)" = 0 ]
	n=$(state_next L/groups/h.group)
	[ "$n" -gt 0 ] && [ "$n" -lt 2000 ]
	run --separate-stderr evtail --group h --count 1 --template '{offset}' L
	assert_stdout "$n"
}

@test "evtail --group after trim --force: resumes at the first offset, saying what it missed" {
	evctl init --segment-bytes 64K L >/dev/null
	evgen 1500 --seed 41 | evpub --batch-events 20 L
	evtail --group g --to 99 L >/dev/null
	local first
	evctl trim --keep-events 1 --force L >/dev/null
	first=$(evctl info --json L | jq .first_offset)
	[ "$first" -gt 100 ]
	run --separate-stderr evtail --group g --template '{offset}' L
	assert_status 0
	assert_stderr "evtail: group 'g': offsets 100 to $((first - 1)) were trimmed before it read them"
	assert_stdout "$(seq "$first" 1499)"
	[ "$(state_next L/groups/g.group)" = 1500 ]
	run --separate-stderr evtail --group g L
	assert_status 0
	assert_stderr ""
}

@test "evtail --group: a monitoring probe never makes a consumer see the group busy" {
	# evctl groups, lag and metrics report whether a group is busy; that
	# check must not look like a consumer to a consumer that starts
	make_log L 20
	evtail --group g L >/dev/null
	# hold the probe for 1.5s inside the call that checks the lock file,
	# whichever it is (flock, fcntl): strace prints that call, marked
	# DELAYED, when the delay starts, and the probe then holds whatever
	# the call took (LeakSanitizer cannot work under ptrace: off, for
	# SANITIZE builds)
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
		strace -f -o probe.trace -P L/groups/g.lock -e trace=flock,fcntl \
		-e inject=flock,fcntl:delay_exit=1500000 \
		evctl groups L >probe.out 2>probe.err 3>&- &
	BGS+=($!)
	wait_for "grep -q DELAYED probe.trace 2>/dev/null" 10 "the probe to check the lock"
	evpub L T --id n1
	run --separate-stderr evtail --group g --template '{offset}' L
	assert_stderr ""
	assert_status 0
	assert_stdout "20"
	# the consumer ran while the probe was inside its check
	kill -0 "${BGS[0]}"
	wait "${BGS[0]}"
	[ "$(tail -n 1 probe.out | awk '{ print $1, $2 }')" = "g 20" ]
}

@test "evctl groups: a user who may not write the groups sees busy and idle as they are" {
	# the busy check opens lock files read-only and creates none
	make_log L 20
	evtail --group idle L >/dev/null
	evtail --group g -f --template '{offset}' L >h.out 2>h.err 3>&- &
	BGS+=($!)
	wait_for_lines h.out 20 5
	wait_next L/groups/g.group 20 5
	write_state L/groups/nolock.group "$(log_id L)" 5
	# a user who may not write L/groups: another one if we are root
	reader() {
		if [ "$(id -u)" -eq 0 ]; then
			setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
		else
			"$@"
		fi
	}
	chmod 755 "$T"
	chmod a-w L/groups L/groups/*
	run --separate-stderr reader evctl groups --json L
	chmod u+w L/groups L/groups/*
	assert_status 0
	assert_stderr ""
	[ "$(jq -c '[.group, .busy]' <<<"$output" | paste -sd ' ')" = '["g",true] ["idle",false] ["nolock",false]' ]
	[ ! -e L/groups/nolock.lock ]
	[ ! -s h.err ]
}

# ------------------------------------------------------------ evctl groups

@test "evctl groups: a table with a header and one row per group, in name order" {
	evgen 1500 --seed 41 | evpub -c L
	evtail --group zeta --to 1199 L >/dev/null
	evtail --group alpha L >/dev/null
	mkdir -p L/groups
	write_state L/groups/never.group "$(log_id L)" 0
	run --separate-stderr evctl groups L
	assert_status 0
	assert_stderr ""
	assert_stdout_line 0 "$GROUPS_HEADER"
	[ "${#lines[@]}" -eq 4 ]
	run awk 'NR > 1 { print $1, $2, $3, $7 }' <<<"$output"
	assert_stdout "alpha 1,500 0 idle
never 0 1,500 idle
zeta 1,200 300 idle"
	run evctl groups L
	# lag in seconds of append time: batches of one evpub run are close
	run awk 'NR > 1 && $4 !~ /^[0-9]+\.[0-9][0-9][0-9]$/' <<<"$output"
	assert_stdout ""
	run evctl groups L
	[ "$(awk 'NR == 2 { print $4, $5 }' <<<"$output")" = "0.000 0.000" ]
	[[ $(awk 'NR == 2 { print $6 }' <<<"$output") =~ $RFC3339_RE ]]
	[ "$(awk 'NR == 3 { print $6 }' <<<"$output")" = "-" ]
	# the age of what waits: real, and positive for a group behind
	run awk 'NR > 2 && !($5 > 0)' <<<"$output"
	assert_stdout ""
}

# the columns of the evctl groups table in $lines line up under their
# headings
columns_line_up() {
	local header=${lines[0]} row col h
	for row in "${lines[@]:1}"; do
		# left-aligned columns start under their heading ...
		for h in LAST-COMMIT STATE; do
			col=${header%%"$h"*}
			col=${#col}
			[ "${row:$col:1}" != " " ] && [ "${row:$((col - 1)):1}" = " " ] || {
				printf 'column %s at %d is off in:\n%s\n%s\n' "$h" "$col" "$header" "$row" >&2
				false
			}
		done
		# ... right-aligned ones end under them
		for h in OFFSET LAG LAG-SECONDS AGE-SECONDS; do
			col=${header%%" $h "*}
			col=$((${#col} + 1 + ${#h}))
			[ "${row:$col:1}" = " " ] && [ "${row:$((col - 1)):1}" != " " ] || {
				printf 'column %s ending at %d is off in:\n%s\n%s\n' "$h" "$col" "$header" "$row" >&2
				false
			}
		done
	done
}

@test "evctl groups: the columns line up under their headings" {
	make_log L 20
	evtail --group g --to 9 L >/dev/null
	mkdir -p L/groups
	write_state L/groups/h.group "$(log_id L)" 3
	run --separate-stderr evctl groups L
	assert_status 0
	columns_line_up
	# commit times to the millisecond, as in evctl(1)
	[[ $(awk 'NR == 2 { print $6 }' <<<"$output") =~ ^[0-9-]{10}T[0-9:]{8}\.[0-9]{3}Z$ ]]
	# a name longer than its column widens it
	write_state L/groups/a-name-longer-than-twenty.group "$(log_id L)" 5
	run --separate-stderr evctl groups L
	assert_status 0
	[ "${#lines[@]}" -eq 4 ]
	[ "${lines[0]%% *}" = GROUP ]
	columns_line_up
}

@test "evctl groups --json: one object per group with exactly the documented keys" {
	make_log L 20
	evtail --group g --to 9 L >/dev/null
	mkdir -p L/groups
	write_state L/groups/h.group "$(log_id L)" 3
	run --separate-stderr evctl groups --json L
	assert_status 0
	assert_stderr ""
	[ "${#lines[@]}" -eq 2 ]
	local l
	for l in "${lines[@]}"; do
		jq -e 'keys_unsorted == ["group","next","lag","lag_seconds","age_seconds","committed","busy","handled","failed","dead_lettered","skipped"]' <<<"$l" >/dev/null
		jq -e '(.group | type) == "string" and (.next | type) == "number" and
			(.lag | type) == "number" and (.lag_seconds | type) == "number" and
			(.age_seconds | type) == "number" and
			(.committed | type == "string" or . == null) and
			(.busy | type) == "boolean" and (.handled | type) == "number" and
			(.failed | type) == "number" and (.dead_lettered | type) == "number" and
			(.skipped | type) == "number"' <<<"$l" >/dev/null
	done
	[ "$(jq -c '[.group, .next, .lag, .busy, .handled, .failed, .dead_lettered, .skipped]' <<<"${lines[0]}")" = '["g",10,10,false,0,0,0,0]' ]
	jq -e '.lag_seconds == 0' <<<"${lines[0]}" >/dev/null
	[[ $(jq -r .committed <<<"${lines[0]}") =~ $RFC3339_RE ]]
	# a state file without a commit time
	[ "$(jq -c '[.group, .next, .lag, .committed]' <<<"${lines[1]}")" = '["h",3,17,null]' ]
}

@test "evctl groups --json: busy is true while a consumer holds the group" {
	make_log L 20
	evtail --group g -f --template '{offset}' L >h.out 2>h.err 3>&- &
	local pid=$!
	BGS+=("$pid")
	wait_for_lines h.out 20 5
	wait_next L/groups/g.group 20 5
	run --separate-stderr evctl groups --json L
	assert_status 0
	assert_stderr ""
	[ "$(jq -c '[.group, .next, .lag, .busy]' <<<"$output")" = '["g",20,0,true]' ]
	run --separate-stderr evctl groups L
	[ "$(awk 'NR == 2 { print $NF }' <<<"$output")" = busy ]
	kill -TERM "$pid"
	wait "$pid"
	run --separate-stderr evctl groups --json L
	[ "$(jq -c '[.group, .busy]' <<<"$output")" = '["g",false]' ]
}

@test "evctl groups on a log without groups prints nothing; on a missing log exits 66" {
	make_log L 5
	run --separate-stderr evctl groups L
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	run --separate-stderr evctl groups --json L
	assert_status 0
	assert_stdout ""
	run --separate-stderr evctl groups nosuch
	assert_status 66
	assert_stdout ""
	assert_stderr "evctl: log 'nosuch' does not exist"
}

@test "evctl groups --reset is a dry run for start, end, OFFSET and @TIME" {
	make_log L 20
	evtail --group g --to 9 L >/dev/null
	cp L/groups/g.group saved
	local to t want
	t=$(jq -r .time gen.ndjson | sed -n 13p)
	want=$(jq -s --arg t "$t" 'map(.time >= $t) | index(true)' gen.ndjson)
	for to in "start 0" "end 20" "15 15" "20 20" "@$t $want" "@2099-01-01 20" "@-1h 20"; do
		run --separate-stderr evctl groups --reset g --to "${to% *}" L
		assert_status 0
		assert_stderr ""
		assert_stdout "would move group 'g' from offset 10 to ${to##* }
(a dry run: add --execute to do it)"
		cmp saved L/groups/g.group
	done
}

@test "evctl groups --reset --execute moves the group, and evtail resumes there" {
	make_log L 20
	evtail --group g --to 9 L >/dev/null
	run --separate-stderr evctl groups --reset g --to 5 --execute L
	assert_status 0
	assert_stderr ""
	assert_stdout "moved group 'g' from offset 10 to 5"
	[ "$(state_next L/groups/g.group)" = 5 ]
	[ "$(sed -n 2p L/groups/g.group)" = "log $(log_id L)" ]
	run --separate-stderr evtail --group g --count 2 --template '{offset}' L
	assert_stdout "5
6"
	run --separate-stderr evctl groups --reset g --to end --execute L
	assert_stdout "moved group 'g' from offset 7 to 20"
	run --separate-stderr evtail --group g L
	assert_stdout ""
	# in a state dir
	evtail --group s --state-dir st --to 3 L >/dev/null
	run --separate-stderr evctl groups --reset s --to start --execute --state-dir st L
	assert_status 0
	assert_stdout "moved group 's' from offset 4 to 0"
	[ "$(state_next st/s.group)" = 0 ]
}

@test "evctl groups --reset of a busy group exits 75 and changes nothing" {
	make_log L 20
	evtail --group g -f L >/dev/null 2>h.err 3>&- &
	BGS+=($!)
	wait_next L/groups/g.group 20 5
	cp L/groups/g.group saved
	local x
	for x in "" --execute; do
		run --separate-stderr evctl groups --reset g --to start $x L
		assert_status 75
		assert_stdout ""
		assert_stderr_line 0 "evctl: group 'g' is busy: another consumer holds it"
		assert_stderr_line 1 "evctl: stop the consumer first"
		[ "${#stderr_lines[@]}" -eq 2 ]
		# evctl has no --wait: the hint must not suggest it
		[[ $stderr != *--wait* ]] || {
			echo "evctl suggests an option it does not have: $stderr" >&2
			false
		}
		cmp saved L/groups/g.group
	done
}

@test "evctl groups --reset of an unknown group exits 66" {
	make_log L 20
	evtail --group g L >/dev/null
	run --separate-stderr evctl groups --reset nosuch --to 0 L
	assert_status 66
	assert_stdout ""
	assert_stderr "evctl: no group 'nosuch' in 'L'"
	[ ! -e L/groups/nosuch.group ]
	run --separate-stderr evctl groups --reset nosuch --to 0 --execute L
	assert_status 66
	assert_stderr "evctl: no group 'nosuch' in 'L'"
	[ ! -e L/groups/nosuch.group ]
	# a group kept elsewhere is unknown in the log
	run --separate-stderr evctl groups --reset g --to 0 --state-dir st L
	assert_status 66
	assert_stderr "evctl: no group 'g' in 'L'"
}

@test "evctl groups --reset --to outside the log exits 64" {
	make_log L 20
	evtail --group g --to 9 L >/dev/null
	cp L/groups/g.group saved
	run --separate-stderr evctl groups --reset g --to 21 --execute L
	assert_status 64
	assert_stdout ""
	assert_stderr_line 0 "evctl: --to: offset 21 is outside the log (0 to 20)"
	cmp saved L/groups/g.group
}

@test "evctl groups --reset with a malformed --to exits 64 with the usage" {
	make_log L 20
	evtail --group g --to 9 L >/dev/null
	cp L/groups/g.group saved
	run --separate-stderr evctl groups --reset g --to x --execute L
	assert_status 64
	assert_stdout ""
	assert_stderr "$(ctl_usage_err "evctl: --to: 'x' is not start, end, an offset or @TIME")"
	run --separate-stderr evctl groups --reset g --to -1 --execute L
	assert_status 64
	assert_stderr "$(ctl_usage_err "evctl: --to: '-1' is not start, end, an offset or @TIME")"
	run --separate-stderr evctl groups --reset g --to @bad --execute L
	assert_status 64
	assert_stderr "$(ctl_usage_err "evctl: --to: 'bad' is not a time")"
	cmp saved L/groups/g.group
}

@test "evctl groups --delete is a dry run; --execute removes the group, and it starts afresh" {
	make_log L 20
	evtail --group g --to 4 L >/dev/null
	evtail --group k L >/dev/null
	cp L/groups/g.group saved
	run --separate-stderr evctl groups --delete g L
	assert_status 0
	assert_stderr ""
	assert_stdout "would delete group 'g' at offset 5, 15 events behind
(a dry run: add --execute to do it)"
	cmp saved L/groups/g.group
	run --separate-stderr evctl groups --delete g --execute L
	assert_status 0
	assert_stderr ""
	assert_stdout "deleted group 'g' at offset 5, 15 events behind"
	[ "$(ls L/groups)" = "k.group
k.lock" ]
	run --separate-stderr evctl groups --json L
	[ "$(jq -r .group <<<"$output")" = k ]
	run --separate-stderr evtail --group g --count 1 --template '{offset}' L
	assert_stdout "0"
	# one event behind: the singular
	evtail --group s --state-dir st --to 18 L >/dev/null
	run --separate-stderr evctl groups --delete s --execute --state-dir st L
	assert_status 0
	assert_stdout "deleted group 's' at offset 19, 1 event behind"
	[ ! -e st/s.group ]
	[ ! -e st/s.lock ]
}

@test "evctl groups --delete: an unknown group exits 66, a busy one 75, and nothing changes" {
	make_log L 20
	evtail --group g L >/dev/null
	run --separate-stderr evctl groups --delete nosuch --execute L
	assert_status 66
	assert_stdout ""
	assert_stderr "evctl: no group 'nosuch' in 'L'"
	[ "$(ls L/groups)" = "g.group
g.lock" ]
	evtail --group b -f L >/dev/null 2>b.err 3>&- &
	BGS+=($!)
	wait_next L/groups/b.group 20 5
	cp L/groups/b.group saved
	local x
	for x in "" --execute; do
		run --separate-stderr evctl groups --delete b $x L
		assert_status 75
		assert_stdout ""
		assert_stderr "evctl: group 'b' is busy: another consumer holds it
evctl: stop the consumer first"
		cmp saved L/groups/b.group
	done
	run --separate-stderr evctl groups --delete .b L
	assert_status 64
	assert_stderr "$(ctl_usage_err "evctl: groups: '.b' is not a group name")"
	run --separate-stderr evctl groups --delete b --reset b --to 0 L
	assert_status 64
	assert_stderr "$(ctl_usage_err "evctl: groups: --reset and --delete cannot be combined")"
	run --separate-stderr evctl groups --delete b --json L
	assert_status 64
	assert_stderr "$(ctl_usage_err "evctl: groups: --json cannot be combined with --reset or --delete")"
}

@test "evctl groups: --reset without --to, --execute without --reset, --json with --reset exit 64" {
	make_log L 20
	evtail --group g --to 9 L >/dev/null
	cp L/groups/g.group saved
	run --separate-stderr evctl groups --reset g L
	assert_status 64
	assert_stdout ""
	assert_stderr "$(ctl_usage_err "evctl: groups: --reset and --to go together")"
	run --separate-stderr evctl groups --to 0 L
	assert_status 64
	assert_stderr "$(ctl_usage_err "evctl: groups: --reset and --to go together")"
	run --separate-stderr evctl groups --execute L
	assert_status 64
	assert_stderr "$(ctl_usage_err "evctl: groups: --execute goes with --reset or --delete")"
	run --separate-stderr evctl groups --json --reset g --to 0 L
	assert_status 64
	assert_stderr "$(ctl_usage_err "evctl: groups: --json cannot be combined with --reset or --delete")"
	run --separate-stderr evctl groups --reset .g --to 0 L
	assert_status 64
	assert_stderr "$(ctl_usage_err "evctl: groups: '.g' is not a group name")"
	run --separate-stderr evctl groups L L
	assert_status 64
	assert_stderr "$(ctl_usage_err "evctl: groups: expected one LOG operand")"
	cmp saved L/groups/g.group
}

@test "evctl groups, lag and metrics after trim --force count only the events left" {
	# a group that trim --force left behind will read from the first
	# offset: the events before it are no lag, they are gone
	evctl init --segment-bytes 64K L >/dev/null
	evgen 1500 --seed 41 | evpub --batch-events 20 L
	evtail --group g --to 99 L >/dev/null
	evctl trim --keep-events 1 --force L >/dev/null
	local first left
	first=$(evctl info --json L | jq .first_offset)
	[ "$first" -gt 100 ]
	left=$((1500 - first))
	run --separate-stderr evctl groups --json L
	assert_status 0
	assert_stderr ""
	[ "$(jq -c '[.group, .next, .lag]' <<<"$output")" = "[\"g\",100,$left]" ]
	run --separate-stderr evctl groups L
	assert_status 0
	[ "$(awk 'NR == 2 { print $1, $2, $3 }' <<<"$output" | tr -d ,)" = "g 100 $left" ]
	run --separate-stderr evctl lag --warn "$left" --crit $((left + 1)) L
	assert_status 0
	assert_stderr ""
	assert_stdout_contains "LAG OK - group g is $left events"
	evctl metrics L >m.prom
	grep -qx "evlog_group_lag_events{log=\"L\",group=\"g\"} $left" m.prom
}

# ------------------------------------------------------------ evctl lag

# groups a (lag 20), b (lag 10) and c (lag 0) on 30 events in one batch
three_groups() {
	make_log L 30
	evtail --group a --to 9 L >/dev/null
	evtail --group b --to 19 L >/dev/null
	evtail --group c L >/dev/null
}

@test "evctl lag: OK, WARNING and CRITICAL exit 0, 1 and 2 with a Nagios status line" {
	three_groups
	run --separate-stderr evctl_past lag --warn 5 --crit 15 L
	assert_status 2
	assert_stderr ""
	assert_stdout "LAG CRITICAL - group a is 20 events (0.0s) behind | 'a_lag'=20;5;15;0 'a_lag_seconds'=0.000s;;;0 'a_age_seconds'=0.000s;;;0 'b_lag'=10;5;15;0 'b_lag_seconds'=0.000s;;;0 'b_age_seconds'=0.000s;;;0 'c_lag'=0;5;15;0 'c_lag_seconds'=0.000s;;;0 'c_age_seconds'=0.000s;;;0"
	run --separate-stderr evctl_past lag --warn 5 --crit 25 L
	assert_status 1
	assert_stderr ""
	assert_stdout "LAG WARNING - group a is 20 events (0.0s) behind | 'a_lag'=20;5;25;0 'a_lag_seconds'=0.000s;;;0 'a_age_seconds'=0.000s;;;0 'b_lag'=10;5;25;0 'b_lag_seconds'=0.000s;;;0 'b_age_seconds'=0.000s;;;0 'c_lag'=0;5;25;0 'c_lag_seconds'=0.000s;;;0 'c_age_seconds'=0.000s;;;0"
	run --separate-stderr evctl_past lag --warn 50 --crit 100 L
	assert_status 0
	assert_stderr ""
	assert_stdout "LAG OK - group a is 20 events (0.0s) behind | 'a_lag'=20;50;100;0 'a_lag_seconds'=0.000s;;;0 'a_age_seconds'=0.000s;;;0 'b_lag'=10;50;100;0 'b_lag_seconds'=0.000s;;;0 'b_age_seconds'=0.000s;;;0 'c_lag'=0;50;100;0 'c_lag_seconds'=0.000s;;;0 'c_age_seconds'=0.000s;;;0"
}

@test "evctl lag --group checks one group" {
	three_groups
	run --separate-stderr evctl_past lag --group b --warn 5 --crit 15 L
	assert_status 1
	assert_stderr ""
	assert_stdout "LAG WARNING - group b is 10 events (0.0s) behind | 'b_lag'=10;5;15;0 'b_lag_seconds'=0.000s;;;0 'b_age_seconds'=0.000s;;;0"
	run --separate-stderr evctl_past lag --group c --warn 5 --crit 15 L
	assert_status 0
	assert_stdout "LAG OK - group c is 0 events (0.0s) behind | 'c_lag'=0;5;15;0 'c_lag_seconds'=0.000s;;;0 'c_age_seconds'=0.000s;;;0"
	run --separate-stderr evctl_past lag --group a --warn 5 --crit 15 L
	assert_status 2
	assert_stdout "LAG CRITICAL - group a is 20 events (0.0s) behind | 'a_lag'=20;5;15;0 'a_lag_seconds'=0.000s;;;0 'a_age_seconds'=0.000s;;;0"
	# groups kept in a state dir
	evtail --group s --state-dir st --to 24 L >/dev/null
	run --separate-stderr evctl_past lag --state-dir st --warn 3 --crit 15 L
	assert_status 1
	assert_stdout "LAG WARNING - group s is 5 events (0.0s) behind | 's_lag'=5;3;15;0 's_lag_seconds'=0.000s;;;0 's_age_seconds'=0.000s;;;0"
}

@test "evctl lag: a lag equal to the threshold is inside the range, as in Nagios" {
	# the Nagios plugin guidelines: a threshold N alerts when the value is
	# outside 0..N, that is greater than N
	three_groups
	run --separate-stderr evctl_past lag --group b --warn 10 --crit 20 L
	assert_status 0
	assert_stdout_contains "LAG OK - group b is 10 events"
	run --separate-stderr evctl_past lag --group a --warn 10 --crit 20 L
	assert_status 1
	assert_stdout_contains "LAG WARNING - group a is 20 events"
}

@test "evctl lag: thresholds as durations compare age_seconds, how long the first unconsumed event has waited" {
	# appended at 1000000000 and 1000000002 (the tools' test clock)
	evgen 20 --seed 7 >gen.ndjson
	head -n 10 gen.ndjson | at_epoch 1000000000 evpub -c L
	tail -n 10 gen.ndjson | at_epoch 1000000002 evpub L
	evtail --group g --to 4 L >/dev/null
	evtail --group d L >/dev/null
	# 15 events behind, the first of them appended 60s before "now";
	# the append times of the events behind span 2s
	run --separate-stderr at_epoch 1000000060 evctl groups --json L
	assert_status 0
	assert_stderr ""
	[ "$(jq -c '[.group, .lag, .lag_seconds, .age_seconds]' <<<"$output")" = '["d",0,0,0]
["g",15,2,60]' ]
	run --separate-stderr at_epoch 1000000060 evctl groups L
	[ "$(awk 'NR > 1 { print $1, $4, $5 }' <<<"$output")" = "d 0.000 0.000
g 2.000 60.000" ]
	run --separate-stderr at_epoch 1000000060 evctl lag --group g --warn 30s --crit 1h L
	assert_status 1
	assert_stderr ""
	assert_stdout "LAG WARNING - group g is 15 events (60.0s) behind | 'g_lag'=15;;;0 'g_lag_seconds'=2.000s;;;0 'g_age_seconds'=60.000s;30.000;3600.000;0"
	run --separate-stderr at_epoch 1000000060 evctl lag --group g --warn 10s --crit 59s L
	assert_status 2
	[[ $output == "LAG CRITICAL - group g is 15 events (60.0s) behind | "* ]]
	run --separate-stderr at_epoch 1000000060 evctl lag --group g --warn 60s --crit 2m L
	assert_status 0
	[[ $output == "LAG OK - group g is 15 events (60.0s) behind | "* ]]
	# a group with nothing pending has waited for nothing, however old
	# the log
	run --separate-stderr at_epoch 1000009999 evctl lag --group d --warn 1s --crit 2s L
	assert_status 0
	assert_stdout "LAG OK - group d is 0 events (0.0s) behind | 'd_lag'=0;;;0 'd_lag_seconds'=0.000s;;;0 'd_age_seconds'=0.000s;1.000;2.000;0"
	# events for one threshold, time for the other
	run --separate-stderr at_epoch 1000000060 evctl lag --group g --warn 10 --crit 1m L
	assert_status 1
	assert_stdout "LAG WARNING - group g is 15 events (60.0s) behind | 'g_lag'=15;10;;0 'g_lag_seconds'=2.000s;;;0 'g_age_seconds'=60.000s;;60.000;0"
	run --separate-stderr at_epoch 1000000060 evctl lag --group g --warn 100 --crit 59s L
	assert_status 2
	# evctl metrics has it too
	run --separate-stderr at_epoch 1000000060 evctl metrics L
	assert_status 0
	assert_stdout_contains '# HELP evlog_group_age_seconds How long the first event a consumer group has not consumed has waited since it was appended.
# TYPE evlog_group_age_seconds gauge
evlog_group_age_seconds{log="L",group="d"} 0.000
evlog_group_age_seconds{log="L",group="g"} 60.000'
}

@test "evctl lag --warn 1s fires for a group behind events appended together, once they have waited" {
	# one evpub run: lag_seconds, the spread of append times, stays 0
	make_log L 50
	evtail --group g --to 0 L >/dev/null
	run --separate-stderr evctl groups --json L
	jq -e '.lag == 49 and .lag_seconds == 0' <<<"$output" >/dev/null
	sleep 1.2 # the waiting is the point
	run --separate-stderr evctl lag --warn 1s --crit 1h L
	assert_status 1
	assert_stderr ""
	[[ $output =~ ^"LAG WARNING - group g is 49 events ("[0-9]+\.[0-9]"s) behind | 'g_lag'=49;;;0 'g_lag_seconds'=0.000s;;;0 'g_age_seconds'="([0-9]+\.[0-9]{3})"s;1.000;3600.000;0"$ ]]
	awk -v a="${BASH_REMATCH[1]}" 'BEGIN { exit !(a >= 1.2 && a < 60) }'
}

@test "evctl lag: no groups, or an unknown group, is UNKNOWN (3)" {
	make_log L 20
	run --separate-stderr evctl lag --warn 1 --crit 2 L
	assert_status 3
	assert_stderr ""
	assert_stdout "LAG UNKNOWN - no consumer groups in 'L'"
	evtail --group g L >/dev/null
	run --separate-stderr evctl lag --group nosuch --warn 1 --crit 2 L
	assert_status 3
	assert_stderr ""
	assert_stdout "LAG UNKNOWN - no group 'nosuch' in 'L'"
}

@test "evctl lag: bad thresholds, a missing log and a directory that is not a log are UNKNOWN (3)" {
	make_log L 20
	evtail --group g L >/dev/null
	run --separate-stderr evctl lag --warn x --crit 1 L
	assert_status 3
	assert_stderr ""
	assert_stdout "LAG UNKNOWN - --warn: 'x' is not a number of events or a duration"
	for v in -1 1.5 1d ""; do
		run --separate-stderr evctl lag --warn 1 --crit "$v" L
		assert_status 3
		assert_stderr ""
		assert_stdout "LAG UNKNOWN - --crit: '$v' is not a number of events or a duration"
	done
	run --separate-stderr evctl lag --warn 1 --crit 2 nosuch
	assert_status 3
	assert_stderr ""
	assert_stdout "LAG UNKNOWN - log 'nosuch' does not exist"
	mkdir notalog
	run --separate-stderr evctl lag --warn 1 --crit 2 notalog
	assert_status 3
	assert_stdout "LAG UNKNOWN - 'notalog' is not an evlog log (no meta file)"
	run --separate-stderr evctl lag -h
	assert_status 0
	assert_stdout_line 0 "Usage: evctl init [--correlation-index] [--dedupe-window N] [--level N]"
}

@test "evctl lag: usage errors are UNKNOWN (3), with the usage of the SYNOPSIS on stdout" {
	make_log L 20
	evtail --group g L >/dev/null
	local usage="LAG UNKNOWN - usage: evctl lag [--group NAME] [--state-dir DIR] --warn N --crit N LOG"
	run --separate-stderr evctl lag --bogus --warn 1 --crit 2 L
	assert_status 3
	assert_stdout "LAG UNKNOWN - bad usage, see 'evctl --help'"
	assert_stderr "evctl: unrecognized option '--bogus'"
	local args
	for args in "--crit 2 L" "--warn 1 L" "--warn 1 --crit 2" "--warn 1 --crit 2 L L"; do
		run --separate-stderr evctl lag $args
		assert_status 3
		assert_stderr ""
		assert_stdout "$usage"
	done
}

# ------------------------------------------------------------ evctl metrics

# check_prom FILE: the Prometheus text exposition format as node_exporter's
# textfile collector reads it: sample lines only of the shape below, each
# family with one HELP and one TYPE line before its samples, its samples
# together, no series twice, and a newline at the end.
check_prom() {
	[ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ] || {
		echo "no newline at the end" >&2
		return 1
	}
	LC_ALL=C awk '
	function err(m) { print "line " NR ": " m > "/dev/stderr"; bad = 1 }
	function fam(n,   b) {
		if (n in type) return n
		b = n
		sub(/_(bucket|sum|count)$/, "", b)
		if (b != n && type[b] == "histogram") return b
		return ""
	}
	/^# HELP / {
		split($0, a, " ")
		n = a[3]
		if (n in help) err("a second HELP for " n)
		if (n in seen) err("HELP after samples of " n)
		if (NF < 4) err("HELP without text for " n)
		help[n] = 1
		next
	}
	/^# TYPE / {
		split($0, a, " ")
		n = a[3]
		if (n in type) err("a second TYPE for " n)
		if (n in seen) err("TYPE after samples of " n)
		if (a[4] !~ /^(counter|gauge|histogram|summary|untyped)$/) err("bad type " a[4])
		type[n] = a[4]
		next
	}
	/^#/ { err("a comment that is not HELP or TYPE"); next }
	{
		if ($0 !~ /^[a-z_]+\{[^}]*\} [0-9.e+-]+$/) { err("bad sample: " $0); next }
		n = $0
		sub(/\{.*/, "", n)
		f = fam(n)
		if (f == "") { err("sample of an undeclared family: " $0); next }
		if (!(f in help)) err("no HELP before " $0)
		if (f != cur) {
			if (f in done) err("samples of " f " are not together")
			if (cur != "") done[cur] = 1
			cur = f
		}
		seen[f] = 1
		k = $0
		sub(/ [^ ]*$/, "", k)
		if (k in series) err("series twice: " k)
		series[k] = 1
		samples++
	}
	END {
		for (n in help) if (!(n in type)) err("HELP without TYPE: " n)
		if (!samples) err("no samples")
		exit bad
	}' "$1"
}

# the type counts of log $2 in metrics file $1, as "COUNT TYPE" lines
prom_types() {
	sed -n "s/^evlog_type_events{log=\"$2\",type=\"\\(.*\\)\"} \\([0-9]*\\)\$/\\2 \\1/p" "$1" | sort
}

# the same, counted from evtail's output
true_types() {
	evtail --template '{type}' "$1" | sort | uniq -c | awk '{ print $1, $2 }' | sort
}

info_types() {
	evctl info --json --types "$1" | jq -r '.types | to_entries[] | "\(.value) \(.key)"' | sort
}

@test "evctl metrics: valid exposition for one log; counts as evctl info; group lag" {
	make_log L 30
	evtail --group a --to 9 L >/dev/null
	evtail --group b L >/dev/null
	run --separate-stderr evctl metrics L
	assert_status 0
	assert_stderr ""
	evctl metrics L >m.prom
	check_prom m.prom
	local f
	for f in evlog_events evlog_type_events evlog_bytes evlog_segments \
		evlog_next_offset evlog_last_append_timestamp_seconds \
		evlog_group_next_offset evlog_group_lag_events \
		evlog_group_lag_seconds evlog_group_handled_total \
		evlog_group_dead_lettered_total evlog_handler_duration_seconds; do
		grep -q "^# TYPE $f " m.prom || { echo "no family $f" >&2; false; }
	done
	grep -qx '# TYPE evlog_handler_duration_seconds histogram' m.prom
	grep -qx '# TYPE evlog_group_handled_total counter' m.prom
	grep -qx 'evlog_events{log="L"} 30' m.prom
	grep -qx 'evlog_next_offset{log="L"} 30' m.prom
	grep -qx 'evlog_segments{log="L"} 1' m.prom
	grep -qx "evlog_bytes{log=\"L\"} $(evctl info --json L | jq .bytes)" m.prom
	[ "$(prom_types m.prom L)" = "$(info_types L)" ]
	[ "$(prom_types m.prom L)" = "$(true_types L)" ]
	grep -qx 'evlog_group_next_offset{log="L",group="a"} 10' m.prom
	grep -qx 'evlog_group_lag_events{log="L",group="a"} 20' m.prom
	grep -qx 'evlog_group_lag_events{log="L",group="b"} 0' m.prom
	grep -qx 'evlog_group_lag_seconds{log="L",group="b"} 0.000' m.prom
	# the time of the newest batch, as seconds since the epoch
	local t
	t=$(sed -n 's/^evlog_last_append_timestamp_seconds{log="L"} //p' m.prom)
	[ "${t%.*}" = "$(date -u -d "$(evctl info --json L | jq -r .last_append)" +%s)" ]
}

@test "evctl metrics: two logs in one exposition, families not repeated" {
	local gh
	need_data gharchive-minimized-2019-09-26-0.ndjson
	gh=$DATA
	evpub -c --wrap --type-from type --stream-from repo --id-from id \
		--time-from dt gh.evlog <"$gh"
	make_log L 30
	evtail --group a --to 99 gh.evlog >/dev/null
	evtail --group b --to 9 L >/dev/null
	run --separate-stderr evctl metrics gh.evlog L
	assert_status 0
	assert_stderr ""
	evctl metrics gh.evlog L >m.prom
	check_prom m.prom
	[ "$(grep -c '^# TYPE ' m.prom)" -eq 13 ]
	grep -qx 'evlog_events{log="gh.evlog"} 62952' m.prom
	grep -qx 'evlog_events{log="L"} 30' m.prom
	[ "$(prom_types m.prom gh.evlog)" = "$(info_types gh.evlog)" ]
	[ "$(prom_types m.prom gh.evlog)" = "$(true_types gh.evlog)" ]
	[ "$(prom_types m.prom gh.evlog | wc -l)" -eq 14 ]
	[ "$(prom_types m.prom L)" = "$(info_types L)" ]
	# lag as evctl groups reports it
	grep -qx 'evlog_group_lag_events{log="gh.evlog",group="a"} 62852' m.prom
	[ "$(evctl groups --json gh.evlog | jq .lag)" = 62852 ]
	grep -qx 'evlog_group_lag_events{log="L",group="b"} 20' m.prom
	# a label value with a quote and a backslash is escaped
	printf '%s\n' '{"type":"we\"ird\\type"}' | evpub L
	evctl metrics L >m2.prom
	check_prom m2.prom
	grep -qxF 'evlog_type_events{log="L",type="we\"ird\\type"} 1' m2.prom
}

@test "evctl metrics: the handler histogram is cumulative and ends with +Inf" {
	make_log L 20
	mkdir L/groups
	write_state L/groups/h.group "$(log_id L)" 5 \
		"committed 2026-01-10T09:30:00.123Z" "handled 1500" "failed 2" \
		"dead-lettered 1" "skipped 0" "duration-sum 12.500000" \
		"duration-buckets 900 300 200 80 20 0 0 0 0 0 0 5"
	evctl metrics L >m.prom
	check_prom m.prom
	run grep '^evlog_handler_duration_seconds' m.prom
	assert_stdout 'evlog_handler_duration_seconds_bucket{log="L",group="h",le="0.005"} 900
evlog_handler_duration_seconds_bucket{log="L",group="h",le="0.01"} 1200
evlog_handler_duration_seconds_bucket{log="L",group="h",le="0.025"} 1400
evlog_handler_duration_seconds_bucket{log="L",group="h",le="0.05"} 1480
evlog_handler_duration_seconds_bucket{log="L",group="h",le="0.1"} 1500
evlog_handler_duration_seconds_bucket{log="L",group="h",le="0.25"} 1500
evlog_handler_duration_seconds_bucket{log="L",group="h",le="0.5"} 1500
evlog_handler_duration_seconds_bucket{log="L",group="h",le="1"} 1500
evlog_handler_duration_seconds_bucket{log="L",group="h",le="2.5"} 1500
evlog_handler_duration_seconds_bucket{log="L",group="h",le="5"} 1500
evlog_handler_duration_seconds_bucket{log="L",group="h",le="10"} 1500
evlog_handler_duration_seconds_bucket{log="L",group="h",le="+Inf"} 1505
evlog_handler_duration_seconds_sum{log="L",group="h"} 12.500000
evlog_handler_duration_seconds_count{log="L",group="h"} 1505'
	grep -qx 'evlog_group_handled_total{log="L",group="h"} 1500' m.prom
	grep -qx 'evlog_group_dead_lettered_total{log="L",group="h"} 1' m.prom
	grep -qx 'evlog_group_lag_events{log="L",group="h"} 15' m.prom
}

@test "evctl metrics: LOG/typecounts is written, used, and extended with new events" {
	make_log L 30
	local id
	id=$(log_id L)
	[ ! -e L/typecounts ]
	evctl metrics L >m.prom
	run cat L/typecounts
	assert_stdout_line 0 "evlog-typecounts 1 log=$id from=0 to=30"
	[ "$(tail -n +2 L/typecounts | awk -F '\t' '{ print $1, $2 }' | sort)" = "$(true_types L)" ]
	# a later run reads the cache, not the events it covers
	printf 'evlog-typecounts 1 log=%s from=0 to=30\n1000\tOrderPlaced\n7\tCached\n' "$id" >L/typecounts
	evctl metrics L >m.prom
	[ "$(prom_types m.prom L)" = "1000 OrderPlaced
7 Cached" ]
	# and counts only what was appended since
	printf '%s\n' '{"type":"New"}' '{"type":"New"}' '{"type":"Cached"}' | evpub L
	evctl metrics L >m.prom
	check_prom m.prom
	[ "$(prom_types m.prom L)" = "1000 OrderPlaced
2 New
8 Cached" ]
	[ "$(head -n 1 L/typecounts)" = "evlog-typecounts 1 log=$id from=0 to=33" ]
	# a cache of another log, past the end, or not from the first offset
	# is not used
	local bad
	for bad in "log=$(printf '%032d' 1) from=0 to=30" "log=$id from=0 to=99" \
		"log=$id from=5 to=30" "log=$id from=0"; do
		printf 'evlog-typecounts 1 %s\n1000\tOrderPlaced\n' "$bad" >L/typecounts
		evctl metrics L >m.prom
		[ "$(prom_types m.prom L)" = "$(true_types L)" ]
		[ "$(head -n 1 L/typecounts)" = "evlog-typecounts 1 log=$id from=0 to=33" ]
	done
}

@test "evctl metrics: after trim, the counts cover only the events left" {
	evctl init --segment-bytes 64K L >/dev/null
	evgen 1500 --seed 41 | evpub --batch-events 20 L
	evctl metrics L >/dev/null
	evctl trim --keep-events 1 L >/dev/null
	evctl metrics L >m.prom
	check_prom m.prom
	[ "$(prom_types m.prom L)" = "$(true_types L)" ]
	grep -qx "evlog_events{log=\"L\"} $(event_count L)" m.prom
}

@test "evctl metrics: a missing log among several prints nothing and exits 66" {
	make_log A 10
	make_log B 10
	run --separate-stderr evctl metrics A nosuch B
	assert_status 66
	assert_stdout ""
	assert_stderr "evctl: log 'nosuch' does not exist"
	run --separate-stderr evctl metrics A B nosuch
	assert_status 66
	assert_stdout ""
	run --separate-stderr evctl metrics
	assert_status 64
	assert_stdout ""
	assert_stderr "$(ctl_usage_err "evctl: metrics: expected one or more LOG operands")"
}

# ------------------------------------------------------------ evctl trim

# L: 1500 events in 64 KiB segments; SEGS: their base offsets
three_segments() {
	evctl init --segment-bytes 64K L >/dev/null
	evgen 1500 --seed 41 >gen.ndjson
	evpub --batch-events 20 L <gen.ndjson
	mapfile -t SEGS < <(evctl info --json L | jq '.segment_list[].base')
	[ "${#SEGS[@]}" -eq 3 ]
}

# "removed segment ...: offsets A to B, N bytes" for segment index $2
removed_line() {
	local verb=$1 i=$2 next bytes
	next=$(evctl info --json L | jq ".segment_list[$i].next")
	bytes=$(evctl info --json L | jq ".segment_list[$i] | .bytes + .index_bytes")
	printf '%s segment %020d: offsets %d to %d, %d bytes' "$verb" "${SEGS[$i]}" \
		"${SEGS[$i]}" $((next - 1)) "$bytes"
}

@test "evctl trim --keep-events removes whole old segments; evtail then starts at the new first offset" {
	three_segments
	local r0 r1 n1 n2
	r0=$(removed_line removed 0)
	r1=$(removed_line removed 1)
	n2=$((1500 - SEGS[2]))
	n1=$((1500 - SEGS[1]))
	# keeping n1 events removes the first segment only
	run --separate-stderr evctl trim --keep-events "$n1" L
	assert_status 0
	assert_stderr ""
	assert_stdout "$r0"
	[ ! -e "L/$(printf %020d 0).seg" ]
	[ ! -e "L/$(printf %020d 0).idx" ]
	[ ! -e "L/$(printf %020d 0).tix" ]
	[ "$(evctl info --json L | jq .first_offset)" = "${SEGS[1]}" ]
	run --separate-stderr evtail --count 1 --template '{offset} {id}' L
	assert_stdout "${SEGS[1]} $(sed -n "$((SEGS[1] + 1))p" gen.ndjson | jq -r .id)"
	run --separate-stderr evctl verify L
	assert_status 0
	assert_stdout "L: ok, $(printf "%'d" "$n1") events in $((n1 / 20)) batches, 2 segments"
	# one more than the last segment holds: nothing goes
	run --separate-stderr evctl trim --keep-events $((n2 + 1)) L
	assert_status 0
	assert_stdout "nothing to trim"
	run --separate-stderr evctl trim --keep-events 1 L
	assert_status 0
	assert_stdout "$r1"
	run --separate-stderr evctl verify L
	assert_status 0
	assert_stdout "L: ok, $n2 events in $((n2 / 20)) batches, 1 segment"
	run --separate-stderr evtail --template '{offset}' L
	assert_stdout "$(seq "${SEGS[2]}" 1499)"
}

@test "evctl trim takes the log lock before it checks the groups" {
	three_segments
	# group g has read nothing yet
	evtail --group g --count 1 L >/dev/null
	flock L/lock sleep 30 &
	local holder=$! trimmer rc=0
	wait_file /proc/$holder 5
	evctl trim --keep-events 1 L >trim.out 2>trim.err &
	trimmer=$!
	wait_lock_waiter "$trimmer" 10
	# while trim waits for the lock, the group catches up
	evtail --group g L >/dev/null
	kill "$holder"
	wait "$holder" 2>/dev/null || true
	wait "$trimmer" || rc=$?
	[ "$rc" = 0 ] || { cat trim.err >&2; false; }
	[ ! -s trim.err ]
	[ "$(evctl info --json L | jq .first_offset)" = "${SEGS[2]}" ]
}

@test "evctl trim: the last segment is never removed" {
	three_segments
	evctl trim --keep-events 1 L >/dev/null
	run --separate-stderr evctl trim --keep-events 1 L
	assert_status 0
	assert_stderr ""
	assert_stdout "nothing to trim: the log has one segment"
	run --separate-stderr evctl trim --keep-bytes 1 L
	assert_stdout "nothing to trim: the log has one segment"
	run --separate-stderr evctl trim --before now L
	assert_stdout "nothing to trim: the log has one segment"
	[ "$(evctl info --json L | jq .segments)" = 1 ]
	# and a fresh, empty log
	evctl init E >/dev/null
	run --separate-stderr evctl trim --keep-events 1 E
	assert_status 0
	assert_stdout "nothing to trim: the log has one segment"
}

@test "evctl trim --keep-bytes keeps at least SIZE bytes of segments and indexes" {
	three_segments
	local b1 b2 r0
	b2=$(evctl info --json L | jq '.segment_list[2] | .bytes + .index_bytes')
	b1=$(evctl info --json L | jq '.segment_list[1] | .bytes + .index_bytes')
	r0=$(removed_line removed 0)
	# one byte more than the last two segments: nothing goes
	run --separate-stderr evctl trim --keep-bytes $((b1 + b2 + 1)) L
	assert_status 0
	assert_stdout "nothing to trim"
	run --separate-stderr evctl trim --keep-bytes $((b1 + b2)) L
	assert_status 0
	assert_stderr ""
	assert_stdout "$r0"
	[ "$(evctl info --json L | jq .bytes)" = $((b1 + b2)) ]
	# with a suffix
	run --separate-stderr evctl trim --keep-bytes 1K L
	assert_status 0
	assert_stdout_line 0 "removed segment $(printf %020d "${SEGS[1]}"): offsets ${SEGS[1]} to $((SEGS[2] - 1)), $b1 bytes"
	evctl verify -q L
}

@test "evctl trim --before removes segments last appended before TIME" {
	evctl init --segment-bytes 64K L >/dev/null
	evgen 1500 --seed 41 >gen.ndjson
	head -n 1000 gen.ndjson | evpub --batch-events 20 L
	local t
	t=$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)
	sleep 0.05 # later appends are after t, whatever the clock's grain
	# the second segment gets more events after t, the third is new
	tail -n +1001 gen.ndjson | evpub --batch-events 20 L
	mapfile -t SEGS < <(evctl info --json L | jq '.segment_list[].base')
	[ "${#SEGS[@]}" -eq 3 ]
	[ "${SEGS[2]}" -gt 1000 ]
	local r0 r1
	r0=$(removed_line removed 0)
	r1=$(removed_line removed 1)
	run --separate-stderr evctl trim --before -1h L
	assert_status 0
	assert_stdout "nothing to trim"
	run --separate-stderr evctl trim --before "$t" L
	assert_status 0
	assert_stderr ""
	assert_stdout "$r0"
	run --separate-stderr evctl trim --before now L
	assert_status 0
	assert_stdout "$r1"
	[ "$(evctl info --json L | jq .first_offset)" = "${SEGS[2]}" ]
	evctl verify -q L
}

@test "evctl trim --dry-run says what would go and changes nothing" {
	three_segments
	evtail --group g --to 99 L >/dev/null
	ls -l --time-style=full-iso L L/groups >before
	cp L/groups/g.group saved
	run --separate-stderr evctl trim --keep-events 1 --dry-run --force L
	assert_status 0
	assert_stderr ""
	assert_stdout "$(removed_line "would remove" 0)
$(removed_line "would remove" 1)
group 'g' had not consumed offsets 100 to $((SEGS[2] - 1)) (trimmed by force)"
	ls -l --time-style=full-iso L L/groups | cmp before -
	cmp saved L/groups/g.group
	[ "$(event_count L)" = 1500 ]
}

@test "evctl trim refuses, exit 75, to remove events a group has not consumed" {
	three_segments
	evtail --group g --to 99 L >/dev/null
	ls L >before
	local x
	for x in "" --dry-run; do
		run --separate-stderr evctl trim --keep-events 1 $x L
		assert_status 75
		assert_stdout ""
		assert_stderr "evctl: trim would remove events group 'g' has not consumed: it is at offset 100 and the log would start at ${SEGS[2]}
evctl: wait for it to catch up, reset it, or use --force"
		ls L | cmp before -
	done
	# cutting only what it has read is fine, then it catches up
	evtail --group g --to $((SEGS[1] - 1)) L >/dev/null
	run --separate-stderr evctl trim --keep-events 1 L
	assert_status 75
	assert_stderr_line 0 "evctl: trim would remove events group 'g' has not consumed: it is at offset ${SEGS[1]} and the log would start at ${SEGS[2]}"
	local r0
	r0=$(removed_line removed 0)
	run --separate-stderr evctl trim --keep-events $((1500 - SEGS[1])) L
	assert_status 0
	assert_stdout "$r0"
	[ "$(evctl info --json L | jq .first_offset)" = "${SEGS[1]}" ]
	evtail --group g L >/dev/null
	run --separate-stderr evctl trim --keep-events 1 L
	assert_status 0
	assert_stderr ""
	[ "$(evctl info --json L | jq .first_offset)" = "${SEGS[2]}" ]
}

@test "evctl trim --state-dir also protects the groups kept there" {
	three_segments
	local r0 r1
	r0=$(removed_line removed 0)
	r1=$(removed_line removed 1)
	evtail --group far --state-dir st --to 99 L >/dev/null
	# not known without the directory
	run --separate-stderr evctl trim --keep-events 1 --dry-run L
	assert_status 0
	run --separate-stderr evctl trim --keep-events 1 --state-dir st L
	assert_status 75
	assert_stdout ""
	assert_stderr "evctl: trim would remove events group 'far' has not consumed: it is at offset 100 and the log would start at ${SEGS[2]}
evctl: wait for it to catch up, reset it, or use --force"
	[ "$(evctl info --json L | jq .segments)" = 3 ]
	run --separate-stderr evctl trim --keep-events 1 --state-dir st --force L
	assert_status 0
	assert_stderr ""
	assert_stdout "$r0
$r1
group 'far' had not consumed offsets 100 to $((SEGS[2] - 1)) (trimmed by force)"
	run --separate-stderr evtail --group far --state-dir st --count 1 --template '{offset}' L
	assert_status 0
	assert_stdout "${SEGS[2]}"
	assert_stderr "evtail: group 'far': offsets 100 to $((SEGS[2] - 1)) were trimmed before it read them"
}

@test "evctl trim --before and groups --reset --to @TIME take both ends of the range, and refuse one nanosecond past (64)" {
	local min=1677-09-21T00:12:43.145224193Z max=2262-04-11T23:47:16.854775807Z
	local range="times run from $min to $max" v
	make_log L 20
	evtail --group g --to 9 L >/dev/null
	run --separate-stderr evctl trim --before $min L
	assert_status 0
	assert_stderr ""
	run --separate-stderr evctl groups --reset g --to @$max L
	assert_status 0
	assert_stderr ""
	for v in 1677-09-21T00:12:43.145224192Z 2262-04-11T23:47:16.854775808Z +106751d -106752d; do
		run --separate-stderr evctl trim --before "$v" L
		assert_status 64
		assert_stdout ""
		assert_stderr "$(ctl_usage_err "evctl: trim: --before: '$v' is out of range: $range")"
		run --separate-stderr evctl groups --reset g --to "@$v" L
		assert_status 64
		assert_stdout ""
		assert_stderr "$(ctl_usage_err "evctl: --to: '@$v' is out of range: $range")"
	done
	[ "$(event_count L)" = 20 ]
}

@test "evctl trim: exactly one of --before, --keep-events and --keep-bytes, with good values" {
	three_segments
	local one="evctl: trim: give one of --before, --keep-events and --keep-bytes"
	run --separate-stderr evctl trim L
	assert_status 64
	assert_stdout ""
	assert_stderr "$(ctl_usage_err "$one")"
	run --separate-stderr evctl trim --keep-events 5 --keep-bytes 1K L
	assert_status 64
	assert_stderr "$(ctl_usage_err "$one")"
	run --separate-stderr evctl trim --before -1h --keep-events 5 L
	assert_status 64
	assert_stderr "$(ctl_usage_err "$one")"
	run --separate-stderr evctl trim --dry-run --force L
	assert_status 64
	assert_stderr "$(ctl_usage_err "$one")"
	local v
	for v in 0 x -1 1.5 ""; do
		run --separate-stderr evctl trim --keep-events "$v" L
		assert_status 64
		assert_stdout ""
		assert_stderr "$(ctl_usage_err "evctl: trim: --keep-events: '$v' is not a positive number")"
	done
	for v in 0 1Q x -1K ""; do
		run --separate-stderr evctl trim --keep-bytes "$v" L
		assert_status 64
		assert_stderr "$(ctl_usage_err "evctl: trim: --keep-bytes: '$v' is not a size")"
	done
	for v in yesterday 2025-13-01 -1x ""; do
		run --separate-stderr evctl trim --before "$v" L
		assert_status 64
		assert_stderr "$(ctl_usage_err "evctl: trim: --before: '$v' is not a time")"
	done
	run --separate-stderr evctl trim --keep-events 1
	assert_status 64
	assert_stderr "$(ctl_usage_err "evctl: trim: expected one LOG operand")"
	run --separate-stderr evctl trim --keep-events 1 L L
	assert_status 64
	assert_stderr "$(ctl_usage_err "evctl: trim: expected one LOG operand")"
	run --separate-stderr evctl trim --keep-events 1 nosuch
	assert_status 66
	assert_stderr "evctl: log 'nosuch' does not exist"
	[ "$(evctl info --json L | jq .segments)" = 3 ]
}

@test "evctl trim does not disturb a concurrent writer" {
	evctl init --segment-bytes 64K L >/dev/null
	evgen 3000 --seed 12 >gen.ndjson
	"$EVTEST" trickle 5 40 20000 <gen.ndjson |
		evpub --batch-events 10 L 2>pub.err 3>&- &
	local pub=$! i rc=0 first
	BGS+=("$pub")
	for i in $(seq 40); do
		evctl trim --keep-events 300 L >>trim.out 2>>trim.err || rc=$?
		[ "$rc" -eq 0 ] || { echo "trim $i: exit $rc: $(cat trim.err)" >&2; false; }
		kill -0 "$pub" 2>/dev/null || break
		sleep 0.05 # spreads the trims over the writer's run
	done
	wait "$pub"
	[ ! -s pub.err ]
	[ ! -s trim.err ]
	grep -q '^removed segment ' trim.out
	evctl verify -q L
	first=$(evctl info --json L | jq .first_offset)
	[ "$first" -gt 0 ]
	# what is left is the input's tail, in order, offsets contiguous
	evtail --template '{offset} {id}' L >left
	cut -d' ' -f1 left | cmp - <(seq "$first" 2999)
	cut -d' ' -f2 left | cmp - <(tail -n +$((first + 1)) gen.ndjson | jq -r .id)
}

# L with groups gB (at 5) and gA, whose state file is garbage; warn, the
# warning and hint evctl gives for it
damaged_gA() {
	make_log L 20
	evtail --group gB --to 4 L >/dev/null
	evtail --group gA --to 6 L >/dev/null
	printf garbage >L/groups/gA.group
	warn="evctl: warning: group state file 'L/groups/gA.group' is damaged: group 'gA' left out
evctl: remove it with 'evctl groups --delete gA --execute L', or set its position with 'evctl groups --reset gA --to POS --execute L'"
}

@test "evctl lag checks the other groups beside a damaged state file, warns of it with the way out, and is UNKNOWN (CRITICAL when another group is)" {
	damaged_gA
	run --separate-stderr evctl lag --warn 10 --crit 100 L
	assert_status 3
	assert_stderr "$warn"
	[[ $output == "LAG WARNING - group gB is 15 events ("*") behind | 'gB_lag'=15;10;100;0 "* ]]
	[[ $output != *gA* ]]
	# another group critical: CRITICAL, the worse
	run --separate-stderr evctl lag --warn 5 --crit 10 L
	assert_status 2
	assert_stderr "$warn"
	[[ $output == "LAG CRITICAL - group gB is 15 events ("* ]]
	# the damaged group alone: UNKNOWN
	run --separate-stderr evctl lag --group gA --warn 10 --crit 100 L
	assert_status 3
	assert_stderr "$warn"
	assert_stdout "LAG UNKNOWN - the state file of group 'gA' is damaged"
	# another group alone: as if all were well
	run --separate-stderr evctl lag --group gB --warn 10 --crit 100 L
	assert_status 1
	assert_stderr ""
	[[ $output == "LAG WARNING - group gB is 15 events ("* ]]
	# with --state-dir, the hint says so; when every group is damaged
	mkdir sd
	printf garbage >sd/gC.group
	run --separate-stderr evctl lag --state-dir sd --warn 10 --crit 100 L
	assert_status 3
	assert_stdout "LAG UNKNOWN - the state file of every group of 'L' is damaged"
	assert_stderr "evctl: warning: group state file 'sd/gC.group' is damaged: group 'gC' left out
evctl: remove it with 'evctl groups --delete gC --state-dir sd --execute L', or set its position with 'evctl groups --reset gC --state-dir sd --to POS --execute L'"
}

@test "evctl groups and metrics list the other groups beside a damaged state file, then exit 65; --reset and --delete work on it" {
	damaged_gA
	run --separate-stderr evctl groups L
	assert_status 65
	assert_stderr "$warn"
	assert_stdout_line 0 "$GROUPS_HEADER"
	[ "${#lines[@]}" -eq 2 ]
	run awk 'NR > 1 { print $1, $2, $3 }' <<<"$output"
	assert_stdout "gB 5 15"
	run --separate-stderr evctl groups --json L
	assert_status 65
	assert_stderr "$warn"
	[ "$(jq -r .group <<<"$output")" = gB ]
	run --separate-stderr evctl metrics L
	assert_status 65
	assert_stderr "$warn"
	assert_stdout_contains 'evlog_group_next_offset{log="L",group="gB"} 5'
	[[ $output != *'group="gA"'* ]]
	[[ $output == *'evlog_events{log="L"} 20'* ]]
	# with --state-dir, the hint says so
	mkdir sd
	printf garbage >sd/gC.group
	run --separate-stderr evctl groups --state-dir sd L
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: warning: group state file 'sd/gC.group' is damaged: group 'gC' left out
evctl: remove it with 'evctl groups --delete gC --state-dir sd --execute L', or set its position with 'evctl groups --reset gC --state-dir sd --to POS --execute L'"
	# --reset rewrites the damaged file at the position given
	run --separate-stderr evctl groups --reset gA --to 3 L
	assert_status 0
	assert_stderr ""
	assert_stdout "would rewrite the damaged state file of group 'gA' at offset 3
(a dry run: add --execute to do it)"
	[ "$(cat L/groups/gA.group)" = garbage ]
	run --separate-stderr evctl groups --reset gA --to 3 --execute L
	assert_status 0
	assert_stderr ""
	assert_stdout "rewrote the damaged state file of group 'gA' at offset 3"
	[ "$(state_next L/groups/gA.group)" = 3 ]
	run --separate-stderr evctl groups L
	assert_status 0
	assert_stderr ""
	run --separate-stderr evtail --group gA --to 3 --template '{offset}' L
	assert_status 0
	assert_stdout 3
	# --delete removes a damaged file
	printf garbage >L/groups/gA.group
	run --separate-stderr evctl groups --delete gA L
	assert_status 0
	assert_stderr ""
	assert_stdout "would delete group 'gA', whose state file is damaged
(a dry run: add --execute to do it)"
	[ -e L/groups/gA.group ]
	run --separate-stderr evctl groups --delete gA --execute L
	assert_status 0
	assert_stderr ""
	assert_stdout "deleted group 'gA', whose state file was damaged"
	[ ! -e L/groups/gA.group ]
	[ ! -e L/groups/gA.lock ]
	run --separate-stderr evctl groups L
	assert_status 0
	assert_stderr ""
}

@test "evctl verify reports a damaged group state file; evctl repair moves it to lost+found/" {
	make_log L 20
	evtail --group gB --to 4 L >/dev/null
	evtail --group gA --to 6 L >/dev/null
	printf garbage >L/groups/gA.group
	run --separate-stderr evctl verify L
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: 'L' is damaged: group state file 'L/groups/gA.group' is damaged
evctl: run 'evctl repair L' to move it to lost+found/, or 'evctl groups --reset gA --to POS --execute L' to rewrite it"
	run --separate-stderr evctl repair --dry-run L
	assert_status 0
	assert_stderr ""
	assert_stdout "would move the damaged state file of group 'gA' to lost+found/gA.group: the group would be gone
L: dry run done"
	[ "$(cat L/groups/gA.group)" = garbage ]
	run --separate-stderr evctl repair L
	assert_status 0
	assert_stderr ""
	assert_stdout "moved the damaged state file of group 'gA' to lost+found/gA.group: the group is gone
L: repaired"
	[ "$(cat L/lost+found/gA.group)" = garbage ]
	[ ! -e L/groups/gA.group ]
	run --separate-stderr evctl verify L
	assert_status 0
	assert_stderr ""
	assert_stdout "L: ok, 20 events in 1 batch, 1 segment"
	run --separate-stderr evctl groups L
	assert_status 0
	assert_stderr ""
	run awk 'NR > 1 { print $1, $2 }' <<<"$output"
	assert_stdout "gB 5"
	# two damaged files: each is named, and a second repair keeps the
	# first one's copy
	printf junk >L/groups/gA.group
	printf junk >L/groups/gC.group
	run --separate-stderr evctl verify L
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: group state file 'L/groups/gA.group' is damaged
evctl: group state file 'L/groups/gC.group' is damaged
evctl: 'L' is damaged: 2 group state files are damaged
evctl: run 'evctl repair L' to move them to lost+found/, or 'evctl groups --reset NAME --to POS --execute L' to rewrite one"
	run --separate-stderr evctl repair L
	assert_status 0
	assert_stderr ""
	assert_stdout "moved the damaged state file of group 'gA' to lost+found/gA.group.1: the group is gone
moved the damaged state file of group 'gC' to lost+found/gC.group: the group is gone
L: repaired"
	[ "$(cat L/lost+found/gA.group)" = garbage ]
	[ "$(cat L/lost+found/gA.group.1)" = junk ]
}
