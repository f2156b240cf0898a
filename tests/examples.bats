#!/usr/bin/env bats
# The examples run as documented: examples/consumer/run.sh (the walkthrough
# of examples/consumer/README.md, with its own checks),
# examples/versioning/run.sh (upcasting, likewise) and
# examples/quickstart.sh (make demo).  The tools come from PATH, which
# helper.bash points at cmd/ and examples/.
load helper

CONSUMER=$TOP/examples/consumer
VERSIONING=$TOP/examples/versioning

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

# versioning/run.sh in the kept directory $T/v, stdout and stderr apart
run_versioning() {
	run --separate-stderr sh "${1:-$VERSIONING}/run.sh" "$T/v"
}

@test "versioning: run.sh exits 0 and every step shows what the README says" {
	run_versioning
	assert_status 0
	assert_stderr ""
	assert_stdout_contains '0 ord-1 OrderCreated v1 {"customer":"cust-7","amount":1250}'
	assert_stdout_contains '0 ord-1 OrderCreated v3 {"customer":"cust-7","total":{"amount":1250,"currency":"USD"}}'
	assert_stdout_contains '2 leg-1 OrderCreated v3 {"customer":"cust-9","total":{"amount":1200,"currency":"EUR"}}'
	assert_stdout_contains "offset 7: LegacyOrder version 1: step upcasters/LegacyOrder.1.lua:8: a LegacyOrder without lines"
	assert_stdout_contains "evreplay: 1 event could not be upcast"
	assert_stdout_contains "evtail: 1 event could not be upcast and was dead-lettered to 'staging-dlq.evlog'"
	assert_stdout_line -1 "every order read at version 3"
	# the commands the README shows are those run.sh runs
	local cmd
	while IFS= read -r cmd; do
		grep -qxF -- "$cmd" <<<"$output" || {
			echo "run.sh does not run: $cmd" >&2
			return 1
		}
	done < <(grep '^\$ ' "$VERSIONING/README.md")
}

@test "versioning: the stored log keeps every version; the check passes on it" {
	run_versioning
	assert_status 0
	cd "$T/v"
	run --separate-stderr sh -c "evtail --template '{schema}' orders.evlog | sort | uniq -c | tr -s ' '"
	assert_stdout " 3 1
 2 2
 1 3"
	run --separate-stderr evreplay --check --upcast upcasters/ orders.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout_line 1 "LegacyOrder         1       1          0       0"
	run --separate-stderr evreplay --check --upcast upcasters/ staging.evlog
	assert_status 65
	assert_stderr "evreplay: 1 event could not be upcast"
}

@test "versioning: the Lua step sums the lines of a LegacyOrder into an OrderCreated of version 2" {
	evpub -c legacy.evlog <"$VERSIONING/late-import.ndjson"
	run --separate-stderr sh -c "evtail --upcast '$VERSIONING/upcasters/LegacyOrder.1.lua' --to 0 legacy.evlog | jq -c '[.id, .type, .schema, .data]'"
	assert_status 0
	assert_stderr ""
	assert_stdout '["leg-2","OrderCreated",2,{"amount":2500,"currency":"EUR","customer":"cust-4"}]'
	run --separate-stderr evtail --upcast "$VERSIONING/upcasters/LegacyOrder.1.lua" legacy.evlog
	assert_status 65
	assert_stderr_contains "offset 1: LegacyOrder version 1: step $VERSIONING/upcasters/LegacyOrder.1.lua:8: a LegacyOrder without lines"
}

@test "versioning: run.sh exits 1, naming the step, when an upcaster is broken" {
	cp -R "$VERSIONING" "$T/versioning"
	sed 's/default data.currency "USD"/default data.currency "EUR"/' \
		"$VERSIONING/upcasters/orders.upcast" >"$T/versioning/upcasters/orders.upcast"
	run_versioning "$T/versioning"
	assert_status 1
	assert_stderr "run.sh: step 2: ord-1 did not get USD and a total"
}

@test "versioning: the rewrite step makes a log of version 3 events that needs no upcaster" {
	run_versioning
	assert_status 0
	assert_stdout_contains '$ evreplay --rewrite --upcast upcasters/ orders.evlog \
    --rewrite-to orders-v3.evlog'
	assert_stdout_contains "evreplay: read 6 events: 5 upcast, 1 unchanged, 0 dropped, 0 split"
	assert_stdout_contains "evreplay: wrote 6 events; offsets kept"
	assert_stdout_contains '5 ord-6 OrderCreated v3 {"customer":"cust-3","total":{"amount":2100,"currency":"GBP"}}'
	assert_stdout_contains "OrderCreated        3       0          6       0"
	assert_stdout_line -1 "every order read at version 3"
	# the new log reads, without the upcasters, as the old one with them
	cd "$T/v"
	diff <(evtail --upcast upcasters/ orders.evlog) <(evtail orders-v3.evlog)
	run --separate-stderr evctl verify orders-v3.evlog
	assert_status 0
}

@test "versioning: run.sh refuses a directory that is not empty, and cleans up its temporary one" {
	mkdir "$T/v"
	touch "$T/v/x"
	run_versioning
	assert_status 1
	assert_stdout ""
	assert_stderr "run.sh: '$T/v' is not empty"
	mkdir "$T/tmp"
	TMPDIR=$T/tmp run --separate-stderr sh "$VERSIONING/run.sh"
	assert_status 0
	run ls -A "$T/tmp"
	assert_stdout ""
}

@test "quickstart: runs to the end with a small log" {
	EVENTS=2000 run --separate-stderr sh "$TOP/examples/quickstart.sh"
	assert_status 0
	assert_stderr_contains "evpub: 2,000 events appended"
	assert_stdout_contains "followed: 2001 Note hello from another process"
	assert_stdout_contains "first run:  14 cancelled orders"
	assert_stdout_contains "second run: 1 new cancellation"
	assert_stdout_contains "round trip: identical ids, types, times and data"
	# the inferred registry passes the log it came from, and evpub
	# --schemas refuses an event it does not describe
	assert_stdout_contains "2,003 events checked against schemas: 2,003 valid, 0 invalid"
	assert_stdout_contains "evpub: stdin:1: OrderPlaced (schema 1): /data/amount: must be integer (schemas/OrderPlaced/1.json#/properties/amount/type)"
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

# outbox/run.sh in the kept directory $T/o, stdout and stderr apart
run_outbox() {
	run --separate-stderr sh "$TOP/examples/outbox/run.sh" "$T/o"
}

@test "outbox: run.sh exits 0; a relay killed between publish and mark republishes, and the log has each event once" {
	run_outbox
	assert_status 0
	assert_stdout_contains "(exit 137: killed)"
	assert_stdout_contains "relay: published 3 (3 already in the log)"
	assert_stdout_line -1 "outbox: 8 orders, 8 events, none twice"
	# the shell's word for the kill, and evpub's for the duplicates
	assert_stderr_contains "Killed"
	assert_stderr_contains "evpub: 0 appended, 3 duplicate"
	cd "$T/o"
	run evtail --template '{id}' orders.evlog
	[ "${#lines[@]}" -eq 8 ]
	assert_stdout "$(sqlite3 shop.db 'SELECT id FROM outbox ORDER BY seq')"
	# nothing of the killed relay is left behind once a relay has run
	[ ! -e shop.db.relay.d ]
}

@test "outbox: a second relay exits 75 while one runs; a missing database is 66" {
	mkdir "$T/o"
	cd "$T/o"
	sqlite3 shop.db <"$TOP/examples/outbox/schema.sql" >/dev/null
	flock shop.db.relay-lock sleep 30 &
	wait_file shop.db.relay-lock 10
	wait_for "! flock -n shop.db.relay-lock true" 10 "flock(1) to hold the lock"
	run --separate-stderr sh "$TOP/examples/outbox/relay.sh" shop.db o.evlog
	assert_status 75
	assert_stdout ""
	assert_stderr "relay.sh: another relay is running on 'shop.db'"
	kill %1
	wait || true
	run --separate-stderr sh "$TOP/examples/outbox/relay.sh" none.db o.evlog
	assert_status 66
	assert_stderr "relay.sh: no database 'none.db'"
	[ ! -e o.evlog ]
}

@test "outbox: place-order.sh refuses an amount that is not a whole number, and writes nothing" {
	mkdir "$T/o"
	cd "$T/o"
	sqlite3 shop.db <"$TOP/examples/outbox/schema.sql" >/dev/null
	run --separate-stderr sh "$TOP/examples/outbox/place-order.sh" shop.db 1 c 12.5
	assert_status 64
	assert_stderr "place-order.sh: amount '12.5' is not a whole number"
	run sqlite3 shop.db 'SELECT count(*) FROM orders; SELECT count(*) FROM outbox'
	assert_stdout "0
0"
}

# ------------------------------------------------------------ projections

@test "bank: the Lua balance, the folds, and the --test cases, as the README shows" {
	evpub -c bank.evlog <"$TOP/examples/bank/events.ndjson"
	run --separate-stderr evproject -p "$TOP/examples/bank/balance.lua" bank.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout_line 0 '{"partition":"acct-1","state":{"balance":455,"deposits":2,"withdrawals":1}}'
	run --separate-stderr evproject -p "$TOP/examples/bank/balance.lua" --partition acct-2 bank.evlog
	assert_stdout '{"balance":750,"deposits":1,"withdrawals":2}'
	run --separate-stderr evproject --sum data.amount --by stream,type bank.evlog
	assert_status 0
	assert_stdout_contains '{"stream":"acct-2","type":"MoneyWithdrawn","sum(data.amount)":450}'
	# incremental: the second run folds the two new events only
	evproject -p "$TOP/examples/bank/balance.lua" --name balance bank.evlog >/dev/null
	evpub bank.evlog <"$TOP/examples/bank/more-events.ndjson"
	run --separate-stderr evproject -p "$TOP/examples/bank/balance.lua" --name balance --partition acct-3 bank.evlog
	assert_stdout '{"balance":1000,"deposits":2,"withdrawals":0}'
	cd "$TOP/examples/bank"
	run --separate-stderr evproject --test tests -p balance.lua
	assert_status 0
	assert_stdout "TAP version 13
1..3
ok 1 - balance
ok 2 - folds
ok 3 - skip-unknown"
}

# saga/run.sh with the orders of $1, in the kept directory $T/s
run_saga() {
	run --separate-stderr sh "$TOP/examples/saga/run.sh" "$T/s" "$1"
}

@test "saga: all steps succeed: three commands are published and the order completes" {
	echo '{"id":"o-1","type":"OrderPlaced","stream":"order-1","time":"2026-03-01T10:00:00Z","data":{"orderId":"1","sku":"lamp","qty":2,"amount":90}}' >ok.ndjson
	run_saga ok.ndjson
	assert_status 0
	assert_stderr ""
	assert_stdout_contains "  order-1 inventory.reserve
  order-1 payment.charge
  order-1 shipping.schedule"
	assert_stdout_line -1 "  order 1: completed"
	cd "$T/s"
	run evtail -o count commands.evlog
	assert_stdout 3
	# each command names the event that caused it
	run evtail --template '{type} {meta.causationId}' commands.evlog
	assert_stdout_line 0 "inventory.reserve o-1"
	run evtail --template '{type}' orders.evlog
	assert_stdout "OrderPlaced
InventoryReserved
PaymentSucceeded
ShippingScheduled"
}

@test "saga: payment fails: the inventory is released, and nothing ships" {
	echo '{"id":"o-2","type":"OrderPlaced","stream":"order-2","time":"2026-03-01T10:05:00Z","data":{"orderId":"2","sku":"desk","qty":1,"amount":2400}}' >declined.ndjson
	run_saga declined.ndjson
	assert_status 0
	assert_stdout_contains "  order-2 inventory.release"
	assert_stdout_line -1 "  order 2: cancelled"
	cd "$T/s"
	run evtail --template '{type}' commands.evlog
	assert_stdout "inventory.reserve
payment.charge
inventory.release"
	run evtail --template '{type} {data.reason}' --type 'Payment*' orders.evlog
	assert_stdout "PaymentFailed card declined"
	# a rerun of the saga emits nothing again
	run evproject -p "$TOP/examples/saga/saga.lua" --name saga --emit-to commands.evlog orders.evlog
	assert_status 0
	run evtail -o count commands.evlog
	assert_stdout 3
}

@test "saga and orders-readmodel: their evproject --test cases pass (emitted commands, the read model's SQL)" {
	run --separate-stderr evproject --test "$TOP/examples/saga/tests" -p "$TOP/examples/saga/saga.lua"
	assert_status 0
	assert_stdout "TAP version 13
1..2
ok 1 - all-steps-succeed
ok 2 - payment-fails"
	run --separate-stderr evproject --test "$TOP/examples/orders-readmodel/tests" -p "$TOP/examples/orders-readmodel/orders.lua"
	assert_status 0
	assert_stdout "TAP version 13
1..1
ok 1 - by-customer"
}

@test "orders-readmodel: run.sh exits 0; the read model answers getOrder and getOrdersByCustomer" {
	run --separate-stderr sh "$TOP/examples/orders-readmodel/run.sh" "$T/o"
	assert_status 0
	assert_stderr ""
	assert_stdout_contains "evpub: stream 'order-3' is at version 1, expected no stream"
	assert_stdout_line -1 "orders-readmodel: 3 orders, read model in step"
	cd "$T/o"
	run sh "$TOP/examples/orders-readmodel/get-order.sh" orders.sqlite 3
	assert_stdout '[{"id":"3","customer":"cus-2","total":40,"status":"placed"}]'
	run sh "$TOP/examples/orders-readmodel/orders-by-customer.sh" orders.sqlite cus-2
	assert_stdout "3|40|placed"
}

# ------------------------------------------------------------ schemas

CISCHEMAS=$TOP/examples/ci-schemas

# ci-schemas/check.sh of the copy in $T/ci (or of the example), stdout
# and stderr apart
run_cischemas() {
	run --separate-stderr sh "${1:-$CISCHEMAS}/check.sh"
}

@test "ci-schemas: check.sh passes: lint, the fixtures (valid and invalid, each for its reason), compat of every type" {
	run_cischemas
	assert_status 0
	assert_stderr ""
	assert_stdout "== lint
ok: the schemas are well-formed, their refs resolve, versions are contiguous
== fixtures
ok: the 9 valid fixtures pass
ok: the 9 invalid fixtures are rejected, each for its reason
== compat
ok: every version of the 12 types is backward compatible with the earlier ones

check.sh: all checks passed"
}

@test "ci-schemas: the schemas fit gen_events.py's data, and the fixtures report as the README shows" {
	run --separate-stderr evctl schema check --schemas "$CISCHEMAS/schemas" \
		--formats assert "$CISCHEMAS/fixtures.ndjson"
	assert_status 65
	assert_stderr ""
	assert_stdout_contains "  1 event: must be >= 1 ($CISCHEMAS/schemas/MoneyWithdrawn/2.json#/properties/amount/minimum)
    $CISCHEMAS/fixtures.ndjson:10: /data/amount"
	assert_stdout_contains "no schema file '$CISCHEMAS/schemas/PaymentFailed/3.json' for schema 3 of type 'PaymentFailed'"
	assert_stdout_line -1 "18 events checked against $CISCHEMAS/schemas: 9 valid, 9 invalid"
	local gen=${EVLOG_SHARED:-$TOP/../shared}/bench/gen_events.py
	[ -f "$gen" ] || skip "no $gen (../shared is missing)"
	python3 "$gen" 5000 --seed 3 >gen.ndjson
	run --separate-stderr evctl schema check --schemas "$CISCHEMAS/schemas" \
		--formats assert gen.ndjson
	assert_status 0
	evpub -c gen.evlog <gen.ndjson
	run --separate-stderr evctl schema check --schemas "$CISCHEMAS/schemas" gen.evlog
	assert_status 0
}

@test "ci-schemas: a 3.json that adds a required field without a default fails the compat step, and only it" {
	cp -R "$CISCHEMAS" "$T/ci"
	jq '.title = "OrderCreated (schema 3)"
		| .properties.giftWrap = {"type": "boolean"}
		| .required += ["giftWrap"]' \
		"$CISCHEMAS/schemas/OrderCreated/2.json" >"$T/ci/schemas/OrderCreated/3.json"
	run_cischemas "$T/ci"
	assert_status 1
	assert_stderr ""
	assert_stdout_contains "ok: the schemas are well-formed, their refs resolve, versions are contiguous"
	assert_stdout_contains "ok: the 9 invalid fixtures are rejected, each for its reason"
	assert_stdout_contains "check.sh: FAIL: compat: OrderCreated: a version is not backward compatible with an earlier one"
	assert_stdout_contains "    schemas/OrderCreated/3.json#/required/6: required-added (backward): 'giftWrap' is required by new, not by old, and has no default
    incompatible (backward): schemas/OrderCreated/2.json -> schemas/OrderCreated/3.json: 1 incompatibility"
	assert_stdout_contains "    incompatible (backward, transitive): schemas/OrderCreated: 2 of 3 pairs"
	assert_stdout_line -1 "check.sh: 1 check(s) failed"
	# with a default, readers of schema 3 can read the older events
	jq '.properties.giftWrap.default = false' "$T/ci/schemas/OrderCreated/3.json" >3.json
	mv 3.json "$T/ci/schemas/OrderCreated/3.json"
	run_cischemas "$T/ci"
	assert_status 0
	assert_stdout_line -1 "check.sh: all checks passed"
}

@test "ci-schemas: a loosened schema that lets an invalid fixture pass fails the fixtures step, naming the line" {
	cp -R "$CISCHEMAS" "$T/ci"
	jq 'del(.properties.amount.minimum)' "$CISCHEMAS/schemas/MoneyWithdrawn/2.json" \
		>"$T/ci/schemas/MoneyWithdrawn/2.json"
	run_cischemas "$T/ci"
	assert_status 1
	assert_stderr ""
	assert_stdout_contains "check.sh: FAIL: fixtures: line 10 (a withdrawal of a negative amount (minimum 1)) exited 0, not 65"
	assert_stdout_line -1 "check.sh: 1 check(s) failed"
}

@test "ci-schemas: a schema with a bad regex fails lint, naming the file" {
	cp -R "$CISCHEMAS" "$T/ci"
	sed 's/\^WH-\[0-9\]{2}\$/^WH-[0-9/' "$CISCHEMAS/schemas/InventoryReleased/2.json" \
		>"$T/ci/schemas/InventoryReleased/2.json"
	! cmp -s "$CISCHEMAS/schemas/InventoryReleased/2.json" "$T/ci/schemas/InventoryReleased/2.json"
	run_cischemas "$T/ci"
	assert_status 1
	assert_stderr ""
	assert_stdout_contains "check.sh: FAIL: lint: evctl schema lint exited 65
    schemas/InventoryReleased/2.json: /properties/warehouseId/pattern: invalid regex '^WH-[0-9': at offset 4: unterminated character class"
	assert_stdout_line -1 "check.sh: 1 check(s) failed; the fixtures and compat steps need schemas that lint"
}

@test "ci-schemas: check.sh with two arguments is a usage error; a missing directory is named" {
	run --separate-stderr sh "$CISCHEMAS/check.sh" a b
	assert_status 64
	assert_stdout ""
	assert_stderr "usage: check.sh [SCHEMAS_DIR]"
	run --separate-stderr sh "$CISCHEMAS/check.sh" "$T/nope"
	assert_status 1
	assert_stderr "check.sh: '$T/nope': no such directory"
}
