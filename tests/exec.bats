#!/usr/bin/env bats
# evtail --exec: handler delivery for a consumer group.  What a handler
# gets (stdin, environment), commits, retries and backoff, timeouts,
# --on-failure, dead letters (--dlq, --dlq-policy), batches, parallel
# runs in stream order, graceful stop, usage errors, pass-through output
# and descriptor hygiene.  Nothing here asserts a duration: times are
# only lower bounds that prove a delay happened, or generous caps.
load helper
load robust

USAGE=$EVTAIL_USAGE

usage_err() {
	printf '%s\n%s' "$1" "$USAGE"
}

local_teardown() {
	local p
	# evtail runs we started, and processes handlers told us about
	for p in ${BG:-} $(cat "$T"/pids 2>/dev/null); do
		kill -9 "$p" 2>/dev/null || true
	done
	if [ -n "${BG:-}" ]; then wait "$BG" 2>/dev/null || true; fi
}

# A log of N generated events in K streams (order-*, account-*).
mklog() {
	evgen "$2" --seed 7 --streams "${3:-3}" >"$T/gen.ndjson" &&
		evpub -c "$1" <"$T/gen.ndjson"
}

# An executable handler script from stdin.
handler() {
	{ echo '#!/bin/sh'; cat; } >"$T/$1"
	chmod +x "$T/$1"
}

# Run evtail in the background, output to $T/out and $T/err; BG is its
# pid.  fd 3 (the TAP stream) is closed, so a stray child cannot hold
# bats up.
evtail_bg() {
	evtail "$@" >"$T/out" 2>"$T/err" 3>&- &
	BG=$!
}

# finish_bg SECONDS: wait for the background evtail; status and stderr
# land in $status and $stderr as after run.
finish_bg() {
	wait_gone "$BG" "$1" || return 1
	status=0
	wait "$BG" || status=$?
	BG=
	stderr=$(cat "$T/err")
	output=$(cat "$T/out")
	mapfile -t stderr_lines <<<"$stderr"
	mapfile -t lines <<<"$output"
}

# N events, all in stream s-1, ids e0, e1, ...
onestream() {
	local i
	for i in $(seq 0 $(($2 - 1))); do
		printf '{"id":"e%d","type":"Tick","stream":"s-1","data":{"n":%d}}\n' "$i" "$i"
	done | evpub -c "$1"
}

# ------------------------------------------------------------ delivery

@test "--exec: the handler gets the evtail JSON line on stdin and EV_* in its environment" {
	cat >fx.ndjson <<'EOF'
{"id":"e0","type":"AccountOpened","stream":"account-1","data":{"owner":"ann"}}
{"id":"e1","type":"Ping","data":{"n":1},"meta":{"userId":"u-1"}}
{"id":"e2","type":"OrderPlaced","stream":"order-7","data":{"city":"München"}}
EOF
	evpub -c l.evlog <fx.ndjson
	handler h.sh <<'EOF'
cat >"in.$EV_OFFSET"
printf '%s|%s|%s|%s|%s\n' "$EV_OFFSET" "$EV_ID" "$EV_TYPE" \
	"${EV_STREAM-<unset>}" "$EV_ATTEMPT" >>env
EOF
	run --separate-stderr evtail --group g --exec ./h.sh l.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	for o in 0 1 2; do
		evtail --from "$o" --count 1 l.evlog >"want.$o"
		cmp "want.$o" "in.$o"
	done
	run cat env
	assert_stdout "0|e0|AccountOpened|account-1|1
1|e1|Ping|<unset>|1
2|e2|OrderPlaced|order-7|1"
}

@test "--exec: no EV_* leaks in from evtail's own environment, and long ids pass whole" {
	long=$(printf 'id-%0120d' 7)
	printf '{"id":"%s","type":"Ping","data":{}}\n' "$long" | evpub -c l.evlog
	handler h.sh <<'EOF'
cat >/dev/null
printf '%s|%s|%s|%s\n' "$EV_ID" "${EV_STREAM-<unset>}" "${EV_COUNT-<unset>}" \
	"${EV_LAST_OFFSET-<unset>}" >env
EOF
	EV_STREAM=stale EV_COUNT=7 EV_LAST_OFFSET=9 \
		run --separate-stderr evtail --group g --exec ./h.sh l.evlog
	assert_status 0
	assert_stderr ""
	run cat env
	assert_stdout "$long|<unset>|<unset>|<unset>"
}

@test "--exec: exit 0 commits; the next run starts after it and runs nothing" {
	mklog l.evlog 12
	handler h.sh <<'EOF'
cat >/dev/null
echo "$EV_OFFSET" >>handled
EOF
	run --separate-stderr evtail --group g --exec ./h.sh l.evlog
	assert_status 0
	assert_stderr ""
	[ "$(next_of l.evlog g)" = 12 ]
	run cat handled
	assert_stdout "$(seq 0 11)"
	grep -qx 'handled 12' l.evlog/groups/g.group

	run --separate-stderr evtail --group g --exec ./h.sh l.evlog
	assert_status 0
	assert_stderr ""
	[ "$(wc -l <handled)" -eq 12 ]

	# two more events: only they run
	evtail --from 0 --count 2 l.evlog | jq -c 'del(.offset, .version) | .id += "-again"' |
		evpub l.evlog
	run --separate-stderr evtail --group g --exec ./h.sh l.evlog
	assert_status 0
	run cat handled
	assert_stdout "$(seq 0 13)"
	[ "$(next_of l.evlog g)" = 14 ]
}

@test "--exec: the handler's stdout and stderr pass through to evtail's" {
	mklog l.evlog 3
	handler h.sh <<'EOF'
cat >/dev/null
echo "out $EV_OFFSET"
echo "err $EV_OFFSET" >&2
EOF
	run --separate-stderr evtail --group g --exec ./h.sh l.evlog
	assert_status 0
	assert_stdout "out 0
out 1
out 2"
	assert_stderr "err 0
err 1
err 2"
}

@test "--exec: the group's counters and run-time histogram are recorded" {
	mklog l.evlog 4
	handler h.sh <<'EOF'
cat >/dev/null
[ "$EV_OFFSET" != 2 ]
EOF
	run --separate-stderr evtail --group g --exec ./h.sh --retries 1 \
		--backoff 1ms --on-failure=skip l.evlog
	assert_status 0
	grep -qx 'handled 3' l.evlog/groups/g.group
	grep -qx 'failed 2' l.evlog/groups/g.group
	grep -qx 'skipped 1' l.evlog/groups/g.group
	# five runs in all, each in one bucket
	run awk '/^duration-buckets / { s = 0; for (i = 2; i <= NF; i++) s += $i; print s }' \
		l.evlog/groups/g.group
	assert_stdout 5
}

# ------------------------------------------------------------ batches

@test "--batch N: N NDJSON lines per run, with EV_OFFSET, EV_LAST_OFFSET and EV_COUNT" {
	mklog l.evlog 9
	handler h.sh <<'EOF'
cat >>in
echo "$EV_OFFSET $EV_LAST_OFFSET $EV_COUNT ${EV_ID-noid}" >>runs
EOF
	run --separate-stderr evtail --group g --exec ./h.sh --batch 3 l.evlog
	assert_status 0
	assert_stderr ""
	run cat runs
	assert_stdout "0 2 3 noid
3 5 3 noid
6 8 3 noid"
	evtail l.evlog >want
	cmp want in
	[ "$(next_of l.evlog g)" = 9 ]
}

@test "--batch N: a short last batch, even of one event, still gets EV_LAST_OFFSET and EV_COUNT" {
	mklog l.evlog 7
	handler h.sh <<'EOF'
n=$(wc -l)
echo "$EV_OFFSET ${EV_LAST_OFFSET-unset} ${EV_COUNT-unset} $n" >>runs
EOF
	run --separate-stderr evtail --group g --exec ./h.sh --batch 3 l.evlog
	assert_status 0
	assert_stderr ""
	run cat runs
	assert_stdout "0 2 3 3
3 5 3 3
6 6 1 1"
}

@test "--batch: a failing batch is retried one event at a time; only the failing events are dead-lettered" {
	mklog l.evlog 9
	# fails whenever its input holds the event at offset 4
	handler h.sh <<'EOF'
in=$(cat)
echo "$EV_OFFSET ${EV_COUNT-1}" >>runs
case "$in" in *'"offset":4,'*) echo "cannot take 4" >&2; exit 3 ;; esac
printf '%s\n' "$in" | jq -r .offset >>handled
EOF
	run --separate-stderr timeout 20 evtail --group g --exec ./h.sh --batch 3 \
		--retries 1 --backoff 1ms --dlq dlq l.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr_contains "evtail: batch at offsets 3 to 5 failed 2 times (exit status 3); retrying its events one by one"
	[ "${stderr_lines[${#stderr_lines[@]} - 1]}" = "evtail: 8 handled, 1 dead-lettered, 0 skipped" ]
	run sort -n handled
	assert_stdout "$(seq 0 3; seq 5 8)"
	run evtail --template '{data.originalOffset} {data.attempts}' dlq
	assert_stdout "4 2"
	[ "$(next_of l.evlog g)" = 9 ]
	# 0-2 once, 3-5 twice as a batch, then 3, 4 (twice) and 5 alone, and
	# 6-8 (other streams may go on meanwhile, so in any order)
	run sort runs
	assert_stdout "0 3
3 1
3 3
3 3
4 1
4 1
5 1
6 3"
}

# ------------------------------------------------------------ retries

@test "--retries N: a failing handler runs N+1 times, EV_ATTEMPT counting 1, 2, 3" {
	mklog l.evlog 1
	handler h.sh <<'EOF'
cat >/dev/null
echo "$EV_ATTEMPT" >>attempts
exit 5
EOF
	run --separate-stderr evtail --group g --exec ./h.sh --retries 2 \
		--backoff 1ms --on-failure=skip l.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr "evtail: skipped offset 0 after 3 attempts (exit status 5)
evtail: 0 handled, 0 dead-lettered, 1 skipped"
	run cat attempts
	assert_stdout "1
2
3"

	rm attempts
	run --separate-stderr evtail --group g2 --exec ./h.sh --retries 0 \
		--on-failure=skip l.evlog
	assert_status 0
	assert_stderr "evtail: skipped offset 0 after 1 attempt (exit status 5)
evtail: 0 handled, 0 dead-lettered, 1 skipped"
	run cat attempts
	assert_stdout 1
}

@test "--retries: a handler that succeeds on its third attempt is handled and committed" {
	mklog l.evlog 3
	handler h.sh <<'EOF'
cat >/dev/null
echo "$EV_OFFSET $EV_ATTEMPT" >>attempts
[ "$EV_OFFSET" != 1 ] || [ "$EV_ATTEMPT" -ge 3 ]
EOF
	run --separate-stderr evtail --group g --exec ./h.sh --backoff 1ms l.evlog
	assert_status 0
	assert_stderr ""
	# (other streams may go on while offset 1 waits for its retry)
	run sort -n -k1,1 -k2,2 attempts
	assert_stdout "0 1
1 1
1 2
1 3
2 1"
	[ "$(next_of l.evlog g)" = 3 ]
}

@test "--exec: the default is three retries, signals count as failures" {
	mklog l.evlog 1
	run --separate-stderr evtail --group g \
		--exec 'cat >/dev/null; echo "$EV_ATTEMPT" >>attempts; kill -USR1 $$' --backoff 1ms \
		--on-failure=skip l.evlog
	assert_status 0
	assert_stderr "evtail: skipped offset 0 after 4 attempts (killed by signal 10 (User defined signal 1))
evtail: 0 handled, 0 dead-lettered, 1 skipped"
	[ "$(wc -l <attempts)" -eq 4 ]
}

@test "--backoff: retries wait, and the wait doubles" {
	mklog l.evlog 1
	handler h.sh <<'EOF'
cat >/dev/null
date +%s%N >>times
exit 1
EOF
	run --separate-stderr evtail --group g --exec ./h.sh --retries 2 \
		--backoff 200ms --on-failure=skip l.evlog
	assert_status 0
	# 200ms then 400ms, each with at most 25% jitter: lower bounds only
	run awk 'NR > 1 { printf "%d\n", ($1 - prev) / 1000000 } { prev = $1 }' times
	[ "${#lines[@]}" -eq 2 ]
	echo "gaps: ${lines[*]} ms" >&2
	[ "${lines[0]}" -ge 140 ]
	[ "${lines[1]}" -ge 290 ]
}

@test "--backoff-max caps the doubling" {
	mklog l.evlog 1
	handler h.sh <<'EOF'
cat >/dev/null
date +%s%N >>times
exit 1
EOF
	# uncapped, eight retries from 100ms would wait 25.5s; capped at
	# 150ms they wait about 1.2s
	SECONDS=0
	run --separate-stderr timeout 60 evtail --group g --exec ./h.sh \
		--retries 8 --backoff 100ms --backoff-max 150ms --on-failure=skip l.evlog
	assert_status 0
	[ "$(wc -l <times)" -eq 9 ]
	echo "took ${SECONDS}s" >&2
	[ "$SECONDS" -lt 12 ]
	# and every retry still waited
	run awk 'NR > 1 && ($1 - prev) < 70000000 { print "short gap at", NR } { prev = $1 }' times
	assert_stdout ""
}

# ------------------------------------------------------------ timeouts, processes

@test "--timeout: the handler's whole process group is killed and the run fails" {
	mklog l.evlog 2
	handler h.sh <<'EOF'
cat >/dev/null
[ "$EV_OFFSET" = 1 ] && exit 0
# a child and the handler itself outlive --timeout, which must kill both
sleep 100 &
echo $! >>pids
echo $! >bg
echo $$ >>pids
echo $$ >sh
sleep 100
EOF
	evtail_bg --group g --exec ./h.sh --timeout 300ms --retries 0 \
		--on-failure=skip l.evlog
	finish_bg 20
	assert_status 0
	case "${stderr_lines[0]}" in
	"evtail: skipped offset 0 after 1 attempt (timed out after "*"s)") ;;
	*) echo "unexpected: $stderr" >&2; return 1 ;;
	esac
	assert_stderr_line 1 "evtail: 1 handled, 0 dead-lettered, 1 skipped"
	refute alive "$(cat sh)"
	refute alive "$(cat bg)"
	[ "$(next_of l.evlog g)" = 2 ]
}

@test "--timeout: a handler that ignores SIGTERM is killed all the same" {
	mklog l.evlog 1
	handler h.sh <<'EOF'
cat >/dev/null
trap '' TERM
# outlives --timeout and the grace after SIGTERM: only SIGKILL ends it
sleep 100 &
echo $! >>pids
echo $! >bg
echo $$ >>pids
echo $$ >sh
while :; do sleep 1; done
EOF
	evtail_bg --group g --exec ./h.sh --timeout 200ms --retries 0 \
		--dlq dlq l.evlog
	# SIGTERM, then SIGKILL after a grace of 2s
	finish_bg 10
	assert_status 0
	assert_stderr "evtail: 0 handled, 1 dead-lettered, 0 skipped"
	refute alive "$(cat sh)"
	refute alive "$(cat bg)"
	run evtail --template '{data.exceptionFqcn} {data.timedOut} {data.exitStatus}' dlq
	assert_stdout "evlog.HandlerTimeout true null"
}

@test "--exec: a handler's leftover background child does not hold evtail up, and is killed" {
	mklog l.evlog 2
	handler h.sh <<'EOF'
cat >/dev/null
# the leftover child this test is about: it outlives its handler
sleep 30 &
echo $! >>pids
echo $! >>bg
echo "$EV_OFFSET" >>handled
exit 0
EOF
	evtail_bg --group g --exec ./h.sh l.evlog
	finish_bg 8
	assert_status 0
	[ "$(next_of l.evlog g)" = 2 ]
	for p in $(cat bg); do refute alive "$p"; done
}

@test "--exec: a handler dies with evtail (kill -9)" {
	mklog l.evlog 3
	handler h.sh <<'EOF'
cat >/dev/null
echo $$ >>pids
echo $$ >sh
# runs until it is killed: the test is about who kills it
exec sleep 100
EOF
	evtail_bg --group g --exec ./h.sh l.evlog
	wait_file sh 10
	kill -9 "$BG"
	wait "$BG" || true
	BG=
	wait_gone "$(cat sh)" 5
}

@test "--exec: an orphaned handler does not keep a restart out of the group" {
	mklog l.evlog 3
	handler h.sh <<'EOF'
cat >/dev/null
echo $$ >>pids
echo $$ >sh
# runs until it is killed: the test is about who kills it
exec sleep 100
EOF
	evtail_bg --group g --exec ./h.sh l.evlog
	wait_file sh 10
	kill -9 "$BG"
	wait "$BG" || true
	BG=
	handler ok.sh <<'EOF'
cat >/dev/null
echo "$EV_OFFSET" >>handled
EOF
	run --separate-stderr evtail --group g --exec ./ok.sh l.evlog
	assert_status 0
	assert_stderr ""
	run cat handled
	assert_stdout "0
1
2"
}

@test "--exec: handlers inherit no descriptor of evtail's (log, lock, group, DLQ, pipes)" {
	mklog l.evlog 6
	handler h.sh <<'EOF'
cat >/dev/null
ls -l /proc/self/fd >"fds.$EV_OFFSET"
EOF
	# evtail itself starts with only 0, 1 and 2
	run --separate-stderr bash -c '
		for fd in $(ls /proc/$BASHPID/fd); do
			[ "$fd" -gt 2 ] && eval "exec $fd>&-"
		done
		exec evtail --group g --exec ./h.sh --parallel 3 --dlq dlq l.evlog'
	assert_status 0
	assert_stderr ""
	[ "$(ls fds.* | wc -l)" -eq 6 ]
	# lines are "... FD -> TARGET"; only 0, 1, 2 and ls's own directory
	run awk '$(NF - 1) == "->" && $(NF - 2) !~ /^[012]$/ && $NF !~ /^\/proc\// {
		print FILENAME ": " $(NF - 2) " -> " $NF }' fds.*
	assert_stdout ""
	run awk '$(NF - 1) == "->" { print $(NF - 2) }' fds.0
	[ "${lines[0]}" = 0 ]
	[ "${lines[1]}" = 1 ]
	[ "${lines[2]}" = 2 ]
}

# ------------------------------------------------------------ --on-failure

@test "--on-failure=stop (the default): exit 1, the failed offset stays uncommitted, the next run starts there" {
	onestream l.evlog 5
	handler h.sh <<'EOF'
cat >/dev/null
echo "$EV_OFFSET" >>handled
[ "$EV_OFFSET" != 2 ] || [ -e fixed ] || { echo "boom" >&2; exit 7; }
EOF
	for how in "" "--on-failure=stop"; do
		rm -f handled
		rm -rf l.evlog/groups
		run --separate-stderr evtail --group g --exec ./h.sh $how --retries 1 \
			--backoff 1ms l.evlog
		assert_status 1
		assert_stdout ""
		assert_stderr "boom
boom
evtail: handler failed on offset 2 after 2 attempts (exit status 7); stopping, the offset is not committed"
		run cat handled
		assert_stdout "0
1
2
2"
		[ "$(next_of l.evlog g)" = 2 ]
	done

	touch fixed
	rm handled
	run --separate-stderr evtail --group g --exec ./h.sh l.evlog
	assert_status 0
	assert_stderr ""
	run cat handled
	assert_stdout "2
3
4"
	[ "$(next_of l.evlog g)" = 5 ]
}

@test "--on-failure=skip: the failure is logged and the consumer goes on" {
	mklog l.evlog 5
	handler h.sh <<'EOF'
cat >/dev/null
[ "$EV_OFFSET" != 2 ] || exit 7
echo "$EV_OFFSET" >>handled
EOF
	run --separate-stderr evtail --group g --exec ./h.sh --retries 0 \
		--on-failure=skip l.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr "evtail: skipped offset 2 after 1 attempt (exit status 7)
evtail: 4 handled, 0 dead-lettered, 1 skipped"
	run cat handled
	assert_stdout "0
1
3
4"
	[ "$(next_of l.evlog g)" = 5 ]
	grep -qx 'skipped 1' l.evlog/groups/g.group
}

# ------------------------------------------------------------ dead letters

@test "--dlq: failed events become DeadLetter events with their failure context" {
	mklog l.evlog 8
	handler h.sh <<'EOF'
cat >/dev/null
if [ "$EV_TYPE" = MoneyDeposited ]; then
	echo "attempt $EV_ATTEMPT: no such account" >&2
	echo "at deposit()" >&2
	exit 3
fi
EOF
	[ ! -e dlq ]
	run --separate-stderr evtail --group g --exec ./h.sh --retries 2 \
		--backoff 1ms --dlq dlq l.evlog
	assert_status 0
	assert_stdout ""
	# the handler's stderr passes through, then the summary
	[ "$(grep -c 'no such account' <<<"$stderr")" -eq 6 ]
	[ "${stderr_lines[${#stderr_lines[@]} - 1]}" = "evtail: 6 handled, 2 dead-lettered, 0 skipped" ]
	grep -qx 'kind dlq' dlq/meta
	[ "$(next_of l.evlog g)" = 8 ]

	logid=$(evctl info --json l.evlog | jq -r .id)
	[ -n "$logid" ]
	[ "$logid" != null ]
	# MoneyDeposited is at offsets 1 and 3
	run bash -c "evtail dlq | jq -c '[.type, .id, .stream, .version, .data.originalOffset,
		.data.originalConsumerGroup, .data.originalTopic, .data.originalLogId,
		.data.exceptionFqcn, .data.exceptionMessage, .data.exceptionStacktrace,
		.data.attempts, .data.handler, .data.exitStatus, .data.signal,
		.data.timedOut, .data.round]'"
	assert_status 0
	assert_stdout "[\"DeadLetter\",\"deadletter:g:$logid:1:1\",null,null,1,\"g\",\"l.evlog\",\"$logid\",\"evlog.HandlerExit\",\"exit status 3\",\"attempt 3: no such account\\nat deposit()\\n\",3,\"./h.sh\",3,null,false,1]
[\"DeadLetter\",\"deadletter:g:$logid:3:1\",null,null,3,\"g\",\"l.evlog\",\"$logid\",\"evlog.HandlerExit\",\"exit status 3\",\"attempt 3: no such account\\nat deposit()\\n\",3,\"./h.sh\",3,null,false,1]"

	# the original event intact (without its offset)
	for o in 1 3; do
		evtail --from "$o" --count 1 l.evlog | jq -S 'del(.offset)' >want
		evtail --type DeadLetter dlq |
			jq -S "select(.data.originalOffset == $o) | .data.original" >got
		diff want got
	done
	# failure times are RFC 3339, first before last
	run bash -c "evtail dlq | jq -r '.data.firstFailure <= .data.lastFailure and
		(.data.firstFailure | test(\"^[0-9]{4}-[0-9]{2}-[0-9]{2}T\"))'"
	assert_stdout "true
true"
}

@test "--dlq: the kept stderr is the last 4 KiB of the last attempt" {
	mklog l.evlog 1
	handler h.sh <<'EOF'
cat >/dev/null
head -c 6000 /dev/zero | tr '\0' x >&2
echo "end of attempt $EV_ATTEMPT" >&2
exit 1
EOF
	run --separate-stderr evtail --group g --exec ./h.sh --retries 1 \
		--backoff 1ms --dlq dlq l.evlog
	assert_status 0
	evtail dlq | jq -j .data.exceptionStacktrace >kept
	[ "$(wc -c <kept)" -eq 4096 ]
	[ "$(tail -c 17 kept)" = "end of attempt 2" ]
	[ "$(tail -c 1 kept | od -An -c | tr -d ' ')" = '\n' ]
	[ "$(head -c 4079 kept | tr -d x)" = "" ]
}

@test "--dlq: letters of one event from two groups, and from a second failed round, are all kept" {
	mklog l.evlog 2
	handler h.sh <<'EOF'
cat >/dev/null
[ "$EV_OFFSET" != 1 ]
EOF
	logid=$(evctl info --json l.evlog | jq -r .id)
	for g in g1 g2; do
		run --separate-stderr evtail --group "$g" --exec ./h.sh --retries 0 \
			--dlq dlq l.evlog
		assert_status 0
		assert_stderr "evtail: 1 handled, 1 dead-lettered, 0 skipped"
	done
	evctl groups l.evlog --reset g1 --to start --execute >/dev/null
	run --separate-stderr evtail --group g1 --exec ./h.sh --retries 0 \
		--dlq dlq l.evlog
	assert_status 0
	run evtail --template '{id} {data.round}' dlq
	assert_stdout "deadletter:g1:$logid:1:1 1
deadletter:g2:$logid:1:1 1
deadletter:g1:$logid:1:2 2"
}

@test "--dlq: the source log itself is refused" {
	mklog l.evlog 2
	run --separate-stderr evtail --group g --exec true --dlq ./l.evlog l.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "evtail: --dlq: './l.evlog' is the log being read"
	[ "$(event_count l.evlog)" -eq 2 ]
}

@test "--dlq-policy=stream: later events of a dead-lettered stream are parked, other streams go on, across restarts, until evdlq retry resolves it" {
	mklog l.evlog 12
	# order-0 is at offsets 5, 8 and 11; OrderPlaced fails until fixed
	handler h.sh <<'EOF'
cat >/dev/null
if [ "$EV_TYPE" = OrderPlaced ] && [ ! -e fixed ]; then
	echo "no stock" >&2
	exit 2
fi
echo "$EV_OFFSET $EV_STREAM" >>handled
EOF
	run evtail --template '{offset} {type} {stream}' l.evlog
	[ "${lines[5]}" = "5 OrderPlaced order-0" ]
	[ "${lines[6]}" = "6 OrderPlaced order-2" ]
	[ "${lines[8]}" = "8 ItemAdded order-0" ]
	[ "${lines[11]}" = "11 OrderShipped order-0" ]
	[ "$(grep -c ' order-2$' <<<"$output")" -eq 1 ]

	run --separate-stderr evtail --group g --exec ./h.sh --retries 0 \
		--dlq dlq --dlq-policy=stream l.evlog
	assert_status 0
	[ "${stderr_lines[${#stderr_lines[@]} - 1]}" = "evtail: 8 handled, 4 dead-lettered, 0 skipped" ]
	run cut -d' ' -f1 handled
	assert_stdout "$(printf '%s\n' 0 1 2 3 4 7 9 10)"
	run bash -c "evtail dlq | jq -r '[.data.originalOffset, .data.exceptionFqcn,
		.data.exceptionMessage, .data.attempts, (.data.parkedBehindOffset // \"-\")] | @tsv'"
	assert_stdout "$(printf '%s\t%s\t%s\t%s\t%s\n' \
		5 evlog.HandlerExit "exit status 2" 1 - \
		6 evlog.HandlerExit "exit status 2" 1 - \
		8 evlog.Parked "parked behind the dead letter of offset 5 of its stream" 0 5 \
		11 evlog.Parked "parked behind the dead letter of offset 5 of its stream" 0 5)"
	first=$(evtail --count 1 dlq | jq -r .id)
	[ "$(evtail --from 2 --count 1 dlq | jq -r .data.parkedBehind)" = "$first" ]
	[ "$(next_of l.evlog g)" = 12 ]

	# a restart: order-0 and order-2 stay parked, account-0 goes on
	evtail --from 8 --count 1 l.evlog |
		jq -c 'del(.offset, .version) | .id = "late-order-0"' | evpub l.evlog
	evtail --from 6 --count 1 l.evlog |
		jq -c 'del(.offset, .version) | .id = "late-order-2" | .type = "ItemAdded"' |
		evpub l.evlog
	evtail --from 0 --count 1 l.evlog |
		jq -c 'del(.offset, .version) | .id = "late-account-0" | .type = "MoneyDeposited"' |
		evpub l.evlog
	run evtail --from 12 --template '{offset} {stream}' l.evlog
	assert_stdout "12 order-0
13 order-2
14 account-0"
	run --separate-stderr evtail --group g --exec ./h.sh --retries 0 \
		--dlq dlq --dlq-policy=stream l.evlog
	assert_status 0
	assert_stderr "evtail: 1 handled, 2 dead-lettered, 0 skipped"
	run tail -n 1 handled
	assert_stdout "14 account-0"
	run evtail --from 4 --template '{data.originalOffset} {data.exceptionFqcn} {data.parkedBehindOffset}' dlq
	assert_stdout "12 evlog.Parked 5
13 evlog.Parked 6"

	# fixed and retried: every letter resolved in stream order
	touch fixed
	: >handled
	run --separate-stderr evdlq retry dlq --backoff 1ms
	assert_status 0
	run cat handled
	assert_stdout "5 order-0
6 order-2
8 order-0
11 order-0
12 order-0
13 order-2"
	run evdlq ls dlq
	assert_stdout ""

	# the streams are free again
	evtail --from 12 --count 1 l.evlog |
		jq -c 'del(.offset, .version) | .id = "later-order-0"' | evpub l.evlog
	: >handled
	run --separate-stderr evtail --group g --exec ./h.sh --retries 0 \
		--dlq dlq --dlq-policy=stream l.evlog
	assert_status 0
	assert_stderr ""
	run cat handled
	assert_stdout "15 order-0"
}

@test "--dlq-policy=stream: a following consumer lets a stream go once evdlq resolves its letters" {
	mklog l.evlog 12
	handler h.sh <<'EOF'
cat >/dev/null
if [ "$EV_TYPE" = OrderPlaced ] && [ ! -e fixed ]; then exit 2; fi
echo "$EV_OFFSET $EV_STREAM" >>handled
EOF
	: >handled
	evtail_bg -f --group g --exec ./h.sh --retries 0 --dlq dlq \
		--dlq-policy=stream l.evlog
	wait_for 'grep -q "^10 " handled' 10
	touch fixed
	run --separate-stderr evdlq retry dlq --backoff 1ms
	assert_status 0
	evtail --from 11 --count 1 l.evlog |
		jq -c 'del(.offset, .version) | .id = "after-retry"' | evpub l.evlog
	# the running consumer reads the DLQ again, and order-0 goes on
	wait_for 'grep -q "^12 order-0$" handled' 10
	kill -TERM "$BG"
	finish_bg 10
	assert_status 0
	run evtail --from 8 dlq
	assert_stdout ""
}

@test "--dlq-policy=event: a dead letter parks nothing" {
	mklog l.evlog 12
	handler h.sh <<'EOF'
cat >/dev/null
[ "$EV_OFFSET" != 5 ] || exit 2
echo "$EV_OFFSET" >>handled
EOF
	run --separate-stderr evtail --group g --exec ./h.sh --retries 0 \
		--dlq dlq --dlq-policy=event l.evlog
	assert_status 0
	assert_stderr "evtail: 11 handled, 1 dead-lettered, 0 skipped"
	[ "$(wc -l <handled)" -eq 11 ]
	run evtail --template '{data.originalOffset}' dlq
	assert_stdout 5
}

# ------------------------------------------------------------ --parallel

@test "--parallel 4: runs at once, never two of one stream, each stream in order" {
	mklog l.evlog 48 4
	mkdir locks
	handler h.sh <<'EOF'
cat >/dev/null
mkdir "locks/$EV_STREAM" 2>/dev/null || echo "$EV_STREAM $EV_OFFSET" >>overlap
echo "$(date +%s%N) 1 $EV_OFFSET" >>spans
echo "$EV_STREAM $EV_OFFSET" >>order
# work that takes a while, so that runs overlap and finish out of order
sleep 0.0$((EV_OFFSET % 7 + 1))
echo "$(date +%s%N) -1 $EV_OFFSET" >>spans
rmdir "locks/$EV_STREAM"
EOF
	run --separate-stderr timeout 120 evtail --group g --exec ./h.sh --parallel 4 l.evlog
	assert_status 0
	assert_stderr ""
	[ ! -e overlap ] || { cat overlap >&2; return 1; }
	# per stream, the order of the log
	for s in $(evtail --template '{stream}' l.evlog | sort -u); do
		diff <(evtail --stream "$s" --template '{offset}' l.evlog) \
			<(awk -v s="$s" '$1 == s { print $2 }' order)
	done
	[ "$(wc -l <order)" -eq 48 ]
	# more than one handler at once, never more than four
	run bash -c "sort -n spans | awk '{ n += \$2; if (n > m) m = n } END { print m }'"
	echo "most at once: $output" >&2
	[ "$output" -ge 2 ]
	[ "$output" -le 4 ]
	[ "$(next_of l.evlog g)" = 48 ]
}

@test "--parallel: only the contiguous prefix is committed; a slow early event holds it back" {
	mklog l.evlog 12
	# offset 0 (account-0) waits for a flag; everything else is quick
	handler h.sh <<'EOF'
cat >/dev/null
if [ "$EV_OFFSET" = 0 ]; then
	echo $$ >>pids
	while [ ! -e go ]; do sleep 0.02; done # held back by the test
fi
echo "$EV_OFFSET" >>handled
EOF
	blocked=$(evtail --template '{stream}' l.evlog | grep -cx account-0)
	evtail_bg --group g --exec ./h.sh --parallel 4 --commit-every 1 \
		--commit-interval 10ms l.evlog
	wait_for_lines handled $((12 - blocked)) 20
	# every quick run reaped, and evtail back to waiting for offset 0's:
	# it has done all it would do about them, commits included
	wait_children "$BG" 1 20
	wait_idle "$BG" 20
	# and it stays so: a commit due on --commit-interval would come
	# within evtail's 200 ms wait for a run
	uncommitted() {
		case $(next_of l.evlog g) in none | 0) ;; *) return 1 ;; esac
	}
	holds_for uncommitted 0.3 "nothing past offset 0 is committed"
	alive "$BG"
	grep -qx 11 handled
	refute grep -qx 0 handled
	touch go
	finish_bg 20
	assert_status 0
	[ "$(next_of l.evlog g)" = 12 ]
	[ "$(sort -n handled | uniq | wc -l)" -eq 12 ]
}

# ------------------------------------------------------------ stopping

@test "SIGTERM: a running handler finishes within --grace, is committed, nothing new starts, exit 0" {
	mklog l.evlog 4
	handler h.sh <<'EOF'
cat >/dev/null
if [ "$EV_OFFSET" = 1 ]; then
	touch started
	echo $$ >>pids
	while [ ! -e go ]; do sleep 0.02; done # held back by the test
fi
echo "$EV_OFFSET" >>handled
EOF
	evtail_bg -f --group g --exec ./h.sh --grace 30s l.evlog
	wait_file started 10
	kill -TERM "$BG"
	# nothing to wait for: evtail must not exit while its handler runs
	# (longer than its 200 ms wait for a run, far short of --grace)
	holds_for 'alive "$BG"' 0.5 "evtail waits for its running handler"
	touch go
	finish_bg 20
	assert_status 0
	assert_stderr ""
	run cat handled
	assert_stdout "0
1"
	[ "$(next_of l.evlog g)" = 2 ]
}

@test "SIGTERM: after --grace the running handlers are killed and stay uncommitted; a restart runs them" {
	mklog l.evlog 4
	handler h.sh <<'EOF'
cat >/dev/null
if [ "$EV_OFFSET" = 1 ] && [ ! -e fixed ]; then
	echo $$ >>pids
	echo $$ >sh
	# runs past --grace, so that evtail must kill it
	sleep 100 &
	echo $! >>pids
	echo $! >bg
	wait
fi
echo "$EV_OFFSET" >>handled
EOF
	evtail_bg -f --group g --exec ./h.sh --grace 300ms l.evlog
	wait_file bg 10
	kill -TERM "$BG"
	finish_bg 20
	assert_status 0
	refute alive "$(cat sh)"
	refute alive "$(cat bg)"
	run cat handled
	assert_stdout 0
	[ "$(next_of l.evlog g)" = 1 ]

	touch fixed
	run --separate-stderr evtail --group g --exec ./h.sh l.evlog
	assert_status 0
	run cat handled
	assert_stdout "0
1
2
3"
}

@test "SIGINT stops a following consumer like SIGTERM" {
	mklog l.evlog 3
	handler h.sh <<'EOF'
cat >/dev/null
echo "$EV_OFFSET" >>handled
EOF
	evtail_bg -f --group g --exec ./h.sh l.evlog
	wait_for_lines handled 3 10
	kill -INT "$BG"
	finish_bg 20
	assert_status 0
	assert_stderr ""
	[ "$(next_of l.evlog g)" = 3 ]
}

# ------------------------------------------------------------ usage

@test "--exec usage errors exit 64 with their messages" {
	mklog l.evlog 1
	check() {
		local msg=$1
		shift
		run --separate-stderr evtail "$@" l.evlog
		if [ "$status" -ne 64 ] || [ "$output" != "" ] ||
			[ "$stderr" != "$(usage_err "evtail: $msg")" ]; then
			printf 'evtail %s:\nstatus %s\nstdout %s\nstderr %s\n' \
				"$*" "$status" "$output" "$stderr" >&2
			return 1
		fi
	}
	needs="--retries, --backoff, --backoff-max, --timeout, --on-failure, --dlq-policy, --batch, --parallel and --grace need --exec"
	combo="--exec cannot be combined with --output, --template, --fields, --color, --count or --to"
	check "--exec needs --group: its position is what makes delivery at least once" --exec true
	check "$combo" --group g --exec true -o pretty
	check "$combo" --group g --exec true --output json
	check "$combo" --group g --exec true --template '{id}'
	check "$combo" --group g --exec true --count 1
	check "$combo" --group g --exec true --to 3
	check "$combo" --group g --exec true --color never
	check "--dlq-policy needs --dlq" --group g --exec true --dlq-policy stream
	check "--dlq-policy needs --dlq" --group g --exec true --dlq-policy=stream --on-failure=skip
	check "--on-failure=dlq needs --dlq DLQLOG" --group g --exec true --on-failure=dlq
	check "--dlq implies --on-failure=dlq" --group g --exec true --on-failure=skip --dlq d
	check "--dlq implies --on-failure=dlq" --group g --exec true --dlq d --on-failure=stop
	check "--on-failure: 'retry' is not stop, dlq or skip" --group g --exec true --on-failure=retry
	check "--dlq-policy: 'all' is not event or stream" --group g --exec true --dlq d --dlq-policy all
	for o in --retries --backoff --backoff-max --timeout --batch --parallel --grace; do
		check "$needs" "$o" 1
	done
	check "$needs" --on-failure skip
	check "--dlq needs --exec or --on-error dlq" --dlq d
	check "$needs" --dlq-policy stream
	for v in x -1 1001 '' 3x; do
		check "--retries: '$v' is not a number from 0 to 1000" --group g --exec true --retries "$v"
	done
	for v in 0 1001 x; do
		check "--batch: '$v' is not a number from 1 to 1000" --group g --exec true --batch "$v"
	done
	for v in 0 65 x; do
		check "--parallel: '$v' is not a number from 1 to 64" --group g --exec true --parallel "$v"
	done
	for o in timeout backoff backoff-max grace; do
		for v in 5x soon -1s 1d '' 1.5s; do
			check "--$o: '$v' is not a duration such as 500ms, 2s or 1m" \
				--group g --exec true "--$o" "$v"
		done
	done
	[ ! -e l.evlog/groups ]
	[ ! -e d ]
}

@test "--dlq-policy=event without --dlq is a usage error too" {
	mklog l.evlog 1
	run --separate-stderr evtail --group g --exec true --dlq-policy event l.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evtail: --dlq-policy needs --dlq")"
	[ ! -e l.evlog/groups/g.group ]
}

@test "--exec options are in evtail --help" {
	run --separate-stderr evtail --help
	assert_status 0
	for o in --backoff --backoff-max --batch --dlq --dlq-policy --exec --grace \
		--on-failure --parallel --retries --timeout; do
		assert_stdout_contains "      $o "
	done
}
