#!/usr/bin/env bats
# The at-least-once soak and the dead-letter round trip (issue 3, section
# 5).  evtail --exec is killed with SIGKILL at random moments while events
# are appended, and restarted each time: every event must be handled at
# least once, and the committed position must never pass an event that
# was not handled.  Environment:
#   EVLOG_SOAK_KILLS   kills in the soak (default 100)
#   EVLOG_SOAK_SCALE   multiplies the number of events (default 1)
#   EVLOG_ROBUST_SEED  replays the random choices (printed as a comment)
load helper
load robust

local_teardown() {
	local p
	for p in ${BG:-} ${APPENDER:-} $(cat "$T"/pids 2>/dev/null); do
		kill -9 "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}

next_of() {
	local f=$1/groups/$2.group
	if [ -f "$f" ]; then sed -n 's/^next //p' "$f"; else echo 0; fi
}

# Every offset below $1 appears in the handled file: print the first
# that does not.
first_unhandled() {
	awk -v n="$1" '$1 < n { seen[$1] = 1 }
		END { for (i = 0; i < n; i++) if (!(i in seen)) { print i; exit } }' \
		"$T/handled"
}

@test "at-least-once soak: kill -9 evtail --exec at random moments, restart it, nothing is lost" {
	robust_seed
	local kills=${EVLOG_SOAK_KILLS:-100} scale=${EVLOG_SOAK_SCALE:-1}
	local first=$((100 * scale)) k pid next bad d par ce total fail rc
	evgen $((4000 * scale)) --seed 11 --streams 6 >gen.ndjson
	head -n "$first" gen.ndjson | evpub -c l.evlog
	# more arrives while the consumer runs, in small batches, until the
	# kills are over
	tail -n +"$((first + 1))" gen.ndjson | split -a 4 -l $((10 * scale)) - chunk.
	(
		for c in chunk.*; do
			[ ! -e kills-done ] || break
			evpub l.evlog <"$c" || exit 1
			sleep 0.05 # a trickle, spread over the kills
		done
	) 3>&- &
	APPENDER=$!
	# the handler checks its input, works, and only then says so.  (A
	# handler that outlives a killed evtail sees its input cut short:
	# it fails, as a careful handler would; exec.bats tests that
	# handlers die with evtail.)
	cat >h.sh <<'EOF'
#!/bin/sh
in=$(cat)
case "$in" in
*"\"offset\":$EV_OFFSET,\"id\":\"$EV_ID\""*) ;;
*) echo "$EV_OFFSET" >>cut-short; exit 1 ;;
esac
# some work that takes a while, so that kills land mid-handler
[ $((EV_OFFSET % 5)) -ne 0 ] || sleep 0.01
echo "$EV_OFFSET $EV_ID" >>handled
EOF
	chmod +x h.sh
	: >handled
	fail=
	for k in $(seq 1 "$kills"); do
		rand_below d 3
		par=$((1 << d))
		rand_below d 3
		ce=$((d == 0 ? 1 : d == 1 ? 4 : 1000))
		evtail -f --group g --exec ./h.sh --parallel "$par" --commit-every "$ce" \
			--commit-interval 20ms --backoff 1ms l.evlog >/dev/null 2>>evtail.err 3>&- &
		pid=$!
		BG=$pid
		rand_below d 120
		sleep "$(printf '0.%03d' "$d")" # a random moment to kill at
		if ! kill -9 "$pid"; then
			# it exited on its own: say why
			wait "$pid" && rc=0 || rc=$?
			fail="after kill $k: evtail -f exited $rc before it was killed: $(tail -n 5 evtail.err)"
			BG=
			break
		fi
		wait "$pid" 2>/dev/null || true
		BG=
		next=$(next_of l.evlog g)
		bad=$(first_unhandled "$next")
		if [ -n "$bad" ]; then
			fail="after kill $k (--parallel $par --commit-every $ce): committed $next, but offset $bad was never handled"
			break
		fi
	done 2>/dev/null # the shell's "Killed" notices
	[ -z "$fail" ] || { echo "$fail" >&2; return 1; }
	touch kills-done
	wait "$APPENDER"
	APPENDER=
	total=$(event_count l.evlog)
	echo "# committed $(next_of l.evlog g) of $total after $kills kills;" \
		"$(cat cut-short 2>/dev/null | wc -l) orphaned handler runs saw their input cut short" >&3

	# drain what is left, without -f
	run --separate-stderr timeout 120 evtail --group g --exec ./h.sh --parallel 4 l.evlog
	assert_status 0
	[ "$(next_of l.evlog g)" -eq "$total" ]
	bad=$(first_unhandled "$total")
	[ -z "$bad" ] || { echo "offset $bad was never handled" >&2; return 1; }
	# each handled line names the event at its offset
	diff <(evtail --template '{offset} {id}' l.evlog) <(sort -n handled | uniq)
	# and evtail's stderr had nothing to say but what the kills explain
	if [ -s evtail.err ]; then
		cat evtail.err >&2
		return 1
	fi
}

@test "dead-letter round trip: failures land in the DLQ, the handler is fixed, evdlq retry resolves them all" {
	evgen 60 --seed 5 --streams 4 >gen.ndjson
	evpub -c l.evlog <gen.ndjson
	cat >h.sh <<'EOF'
#!/bin/sh
cat >/dev/null
if [ "$EV_TYPE" = OrderPlaced ] && [ ! -e fixed ]; then
	echo "order service unavailable" >&2
	exit 3
fi
echo "$EV_OFFSET" >>handled
EOF
	chmod +x h.sh
	failing=$(evtail --type OrderPlaced --template '{offset}' l.evlog)
	m=$(wc -l <<<"$failing")
	[ "$m" -ge 3 ]

	run --separate-stderr evtail --group g --exec ./h.sh --retries 1 --backoff 1ms \
		--dlq dlq l.evlog
	assert_status 0
	assert_stdout ""
	[ "${stderr_lines[${#stderr_lines[@]} - 1]}" = "evtail: $((60 - m)) handled, $m dead-lettered, 0 skipped" ]
	run evtail --template '{data.originalOffset}' dlq
	assert_stdout "$failing"
	run --separate-stderr evdlq ls dlq
	assert_status 0
	[ "${#lines[@]}" -eq $((m + 1)) ]

	touch fixed
	run --separate-stderr evdlq retry --backoff 1ms dlq
	assert_status 0
	[ "${#lines[@]}" -eq "$m" ]
	assert_stderr "evdlq: $m resolved, 0 still open"
	run sort -n handled
	assert_stdout "$(seq 0 59)"
	run --separate-stderr evdlq ls dlq
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	run --separate-stderr evdlq stats dlq
	assert_stdout_line 0 "open:       0"
	assert_stdout_line 1 "resolved:   $m"
}

@test "dead-letter round trip with --parallel 4 and --dlq-policy=stream keeps each stream in order" {
	evgen 60 --seed 5 --streams 4 >gen.ndjson
	evpub -c l.evlog <gen.ndjson
	cat >h.sh <<'EOF'
#!/bin/sh
cat >/dev/null
if [ "$EV_TYPE" = PaymentAuthorized ] && [ ! -e fixed ]; then
	exit 3
fi
echo "$EV_STREAM $EV_OFFSET" >>handled
EOF
	chmod +x h.sh
	[ "$(evtail --type PaymentAuthorized --template '{offset}' l.evlog | wc -l)" -ge 2 ]

	run --separate-stderr evtail --group g --exec ./h.sh --retries 0 --parallel 4 \
		--dlq dlq --dlq-policy=stream l.evlog
	assert_status 0
	[ "$(next_of l.evlog g)" -eq 60 ]
	touch fixed
	run --separate-stderr evdlq retry --backoff 1ms dlq
	assert_status 0
	[ "$(wc -l <handled)" -eq 60 ]
	# evtail's part and evdlq's part together: the log's order per stream
	for s in $(evtail --template '{stream}' l.evlog | sort -u); do
		diff <(evtail --stream "$s" --template '{offset}' l.evlog) \
			<(awk -v s="$s" '$1 == s { print $2 }' handled)
	done
	run evdlq ls dlq
	assert_stdout ""
}
