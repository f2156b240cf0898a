#!/usr/bin/env bats
# The examples run as documented: examples/consumer/run.sh (the walkthrough
# of examples/consumer/README.md, with its own checks) and
# examples/quickstart.sh (make demo).  The tools come from PATH, which
# helper.bash points at cmd/ and examples/.
load helper

CONSUMER=$TOP/examples/consumer

# run.sh in the kept directory $T/w, stdout and stderr apart
run_consumer() {
	run --separate-stderr sh "$CONSUMER/run.sh" "$T/w"
}

@test "consumer: run.sh exits 0 and reports the counts of every step" {
	run_consumer
	assert_status 0
	assert_stderr ""
	assert_stdout_contains "evtail: 17 handled, 3 dead-lettered, 0 skipped"
	assert_stdout_contains "evdlq: 3 resolved, 0 still open"
	assert_stdout_contains "moved group 'shipping' from offset 20 to 0"
	assert_stdout_contains "LAG OK - group shipping is 0 events"
	assert_stdout_line -1 "all 25 orders shipped exactly once"
}

@test "consumer: the dead letters are the orders to Oslo, all resolved at the end" {
	run_consumer
	assert_status 0
	cd "$T/w"
	run --separate-stderr evdlq ls orders-dlq.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	run --separate-stderr evdlq ls --all --json orders-dlq.evlog
	assert_status 0
	[ "${#lines[@]}" -eq 3 ]
	# two attempts by evtail, the third by evdlq retry
	run jq -r '"\(.stream) \(.source.offset) \(.state) \(.attempts)"' \
		<<<"$output"
	assert_stdout "order-3 2 resolved 3
order-10 9 resolved 3
order-17 16 resolved 3"
	run --separate-stderr evdlq stats orders-dlq.evlog
	assert_status 0
	assert_stdout_line 0 "open:       0"
	assert_stdout_line 1 "resolved:   3"
}

@test "consumer: every order was handled at least once, each order once in shipped.log" {
	run_consumer
	assert_status 0
	cd "$T/w"
	run sh -c "cut -f 2 shipped.log | sort -t - -k 2n"
	assert_stdout "$(seq -f 'order-%g' 1 25)"
	run sh -c "evtail --type OrderPlaced --template '{id}' orders.evlog | sort"
	[ "${#lines[@]}" -eq 25 ]
	assert_stdout "$(cut -f 1 shipped.log | sort)"
	run --separate-stderr evctl groups --json orders.evlog
	assert_status 0
	assert_stdout_contains '"group":"shipping","next":25,"lag":0,'
}

@test "consumer: run.sh exits 1 when the retry leaves dead letters open" {
	# a copy whose carrier never comes back
	cp -R "$CONSUMER" "$T/consumer"
	sed 's/carrier-fixed/carrier-never-fixed/' "$CONSUMER/ship.sh" \
		>"$T/consumer/ship.sh"
	run --separate-stderr sh "$T/consumer/run.sh" "$T/w"
	assert_status 1
	assert_stderr "run.sh: step 5: evdlq retry left letters open"
	assert_stdout_contains "evdlq: 0 resolved, 3 still open"
	run evdlq ls --json "$T/w/orders-dlq.evlog"
	[ "${#lines[@]}" -eq 3 ]
}

@test "consumer: run.sh refuses a directory that is not empty, and extra arguments" {
	mkdir "$T/w"
	touch "$T/w/x"
	run --separate-stderr sh "$CONSUMER/run.sh" "$T/w"
	assert_status 1
	assert_stdout ""
	assert_stderr "run.sh: '$T/w' is not empty"
	run --separate-stderr sh "$CONSUMER/run.sh" "$T/a" "$T/b"
	assert_status 64
	assert_stdout ""
	assert_stderr "usage: run.sh [DIR]"
}

@test "consumer: run.sh without a directory cleans up its temporary one" {
	mkdir "$T/tmp"
	TMPDIR=$T/tmp run --separate-stderr sh "$CONSUMER/run.sh"
	assert_status 0
	assert_stdout_line -1 "all 25 orders shipped exactly once"
	run ls -A "$T/tmp"
	assert_stdout ""
}

@test "consumer: gen-orders.sh is deterministic and sends every 7th order to Oslo" {
	run --separate-stderr "$CONSUMER/gen-orders.sh" 1 20
	assert_status 0
	assert_stderr ""
	[ "${#lines[@]}" -eq 20 ]
	first=$output
	run "$CONSUMER/gen-orders.sh" 1 20
	assert_stdout "$first"
	assert_stdout_line 2 '{"type":"OrderPlaced","stream":"order-3","data":{"customer":"cust-11","amount":24257,"shipTo":{"city":"Oslo"}}}'
	run sh -c "'$CONSUMER/gen-orders.sh' 1 20 | grep -c Oslo"
	assert_stdout 3
}

@test "consumer: gen-orders.sh without two arguments is a usage error" {
	run --separate-stderr "$CONSUMER/gen-orders.sh" 1
	assert_status 64
	assert_stdout ""
	assert_stderr "usage: gen-orders.sh FIRST COUNT"
}

@test "quickstart: runs to the end with a small log" {
	EVENTS=2000 run --separate-stderr sh "$TOP/examples/quickstart.sh"
	assert_status 0
	assert_stderr_contains "evpub: 2,000 events appended"
	assert_stdout_contains "followed: 2001 Note hello from another process"
	assert_stdout_contains "first run:  14 cancelled orders"
	assert_stdout_contains "second run: 1 new cancellation"
	assert_stdout_contains "round trip: identical ids, types, times and data"
	assert_stdout_contains "demo.evlog: ok, 2,003 events in"
}

@test "quickstart: keeps its log in ./demo.evlog and says how to explore it" {
	EVENTS=500 run --separate-stderr sh "$TOP/examples/quickstart.sh"
	assert_status 0
	assert_stderr_contains "evpub: 500 events appended"
	assert_stdout_contains "== explore it: the log stays in demo.evlog"
	assert_stdout_contains "  evctl info --types demo.evlog"
	assert_stdout_contains "  export PATH=$TOP/cmd:\$PATH"
	# the log is there, whole, and nothing else the demo made is
	run --separate-stderr evctl verify demo.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout_contains "demo.evlog: ok, 503 events in"
	run ls "$T"
	assert_stdout "demo.evlog"
	# the commands it prints work on it
	run --separate-stderr evtail --stream account-1 --template '{data.amount}' demo.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout_line -1 2500
}

@test "quickstart: DEMO_LOG puts the log elsewhere; a rerun replaces the demo's own log" {
	mkdir sub
	DEMO_LOG=sub/my.evlog EVENTS=300 run --separate-stderr sh "$TOP/examples/quickstart.sh"
	assert_status 0
	assert_stdout_contains "== explore it: the log stays in sub/my.evlog"
	[ ! -e demo.evlog ]
	[ "$(evctl info sub/my.evlog | awk '$1 == "events:" { print $2 }')" = 303 ]
	DEMO_LOG=sub/my.evlog EVENTS=200 run --separate-stderr sh "$TOP/examples/quickstart.sh"
	assert_status 0
	assert_stdout_line 0 "(replacing 'sub/my.evlog' from an earlier demo)"
	[ "$(evctl info sub/my.evlog | awk '$1 == "events:" { print $2 }')" = 203 ]
}

@test "quickstart: a DEMO_LOG that is not the demo's log is left alone, exit 1" {
	make_log mine.evlog 5
	echo precious >notes
	local what
	for what in mine.evlog notes; do
		DEMO_LOG=$what EVENTS=100 run --separate-stderr sh "$TOP/examples/quickstart.sh"
		assert_status 1
		assert_stdout ""
		assert_stderr "quickstart: '$what' exists and is not a log from the demo: move it away, or set DEMO_LOG to another path"
	done
	[ "$(cat notes)" = precious ]
	[ "$(evtail --template '{offset}' mine.evlog | wc -l)" -eq 5 ]
}

@test "make demo: DEMO_LOG reaches the demo, and the log stays" {
	run --separate-stderr make -s -C "$TOP" demo EVENTS=200 DEMO_LOG="$T/d.evlog"
	assert_status 0
	assert_stdout_contains "== explore it: the log stays in $T/d.evlog"
	run --separate-stderr evctl verify "$T/d.evlog"
	assert_status 0
	[ ! -e "$TOP/demo.evlog" ] || [ "$TOP/demo.evlog" -ot "$T/d.evlog" ]
}

@test "quickstart: escape codes only on a terminal, and none with NO_COLOR" {
	# not a terminal: no escape code anywhere
	EVENTS=200 run --separate-stderr sh "$TOP/examples/quickstart.sh"
	assert_status 0
	[[ $output != *$'\033'* && $stderr != *$'\033'* ]] || {
		echo "escape codes in the output of a pipe" >&2
		return 1
	}
	assert_stdout_contains "
== the last 5 events, for humans (evtail -n 5 -o pretty)
"
	# a terminal: bold headings and evtail's colours
	run script -qec "env EVENTS=200 DEMO_LOG=$T/t1.evlog sh $TOP/examples/quickstart.sh" /dev/null
	assert_status 0
	assert_stdout_contains $'\033[1m== the last 5 events'
	assert_stdout_contains $'\033[34m'
	# a terminal with NO_COLOR: none
	run script -qec "env NO_COLOR=1 EVENTS=200 DEMO_LOG=$T/t2.evlog sh $TOP/examples/quickstart.sh" /dev/null
	assert_status 0
	assert_stdout_contains "== the last 5 events"
	[[ $output != *$'\033'* ]] || {
		echo "escape codes with NO_COLOR set" >&2
		return 1
	}
}
