#!/bin/sh
# examples/consumer/run.sh - the walkthrough of README.md, end to end.
#
# Runs every step of the README in a fresh temporary directory (or in DIR,
# which must be empty or missing and is kept afterwards), printing
# each command ("$ ...") and its output, and checks the outcome as it goes:
# it exits 1, naming the step, when anything is off (a count, a dead letter
# left open after the retry, an order never shipped or shipped twice).
# tests/examples.bats runs it.
#
#   run.sh [DIR]
#
# The tools come from PATH; EVLOG_BIN, when set, names a directory put in
# front of it, such as the build tree's cmd/:
#   EVLOG_BIN=cmd examples/consumer/run.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${EVLOG_BIN:-}" ]; then
	bin=$(cd "$EVLOG_BIN" && pwd) || exit 1
	PATH="$bin:$PATH"
	export PATH
fi
for t in evpub evtail evctl evdlq; do
	command -v "$t" >/dev/null 2>&1 ||
		{ echo "run.sh: '$t' is not on PATH; set EVLOG_BIN" >&2; exit 1; }
done

keep=
if [ $# -gt 1 ]; then
	echo "usage: run.sh [DIR]" >&2
	exit 64
elif [ $# -eq 1 ]; then
	mkdir -p "$1" || exit 1
	[ -z "$(ls -A "$1")" ] || { echo "run.sh: '$1' is not empty" >&2; exit 1; }
	work=$(cd "$1" && pwd)
	keep=1
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/evlog-consumer.XXXXXX")
fi
follower=
cleanup() {
	if [ -n "$follower" ]; then kill "$follower" 2>/dev/null || true; fi
	if [ -z "$keep" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
cp "$here/ship.sh" "$here/gen-orders.sh" "$work/"
cd "$work"

step() { printf '\n== %s\n' "$*"; }
# run CMD: show the command line as the README does, run it, and show its
# output, which is kept in the file out for the checks; its exit status
run() {
	printf '$ %s\n' "$1"
	st=0
	eval "$1" >out 2>&1 || st=$?
	cat out
	return "$st"
}
fail() {
	echo "run.sh: $*" >&2
	exit 1
}
# lines FILE: its number of lines (0 when it does not exist)
lines() {
	if [ -f "$1" ]; then wc -l <"$1" | tr -d ' '; else echo 0; fi
}

step "1. a log of 20 orders"
run "./gen-orders.sh 1 20 | evpub -c orders.evlog"
run "evtail -n 3 -o pretty --color=never orders.evlog"
orders=$(evtail --type OrderPlaced --template '{id}' orders.evlog | wc -l)
oslo=$(evtail --where 'data.shipTo.city == Oslo' --template '{id}' \
	orders.evlog | wc -l)
[ "$orders" -eq 20 ] || fail "step 1: $orders orders in the log, not 20"
[ "$oslo" -gt 0 ] || fail "step 1: no order to Oslo, so nothing will fail"

step "2. the shipping consumer: 1 retry, then the dead-letter log"
run "evtail --group shipping --exec ./ship.sh --retries 1 --backoff 10ms \\
    --dlq orders-dlq.evlog orders.evlog" || fail "step 2: evtail failed"
want="evtail: $((orders - oslo)) handled, $oslo dead-lettered, 0 skipped"
[ "$(tail -n 1 out)" = "$want" ] ||
	fail "step 2: the last line is not '$want'"
[ "$(lines shipped.log)" -eq $((orders - oslo)) ] ||
	fail "step 2: $(lines shipped.log) orders shipped, not $((orders - oslo))"

step "3. where the group stands"
run "evctl groups orders.evlog"
run "evctl groups --json orders.evlog"
grep -q '"group":"shipping","next":20,"lag":0,' out ||
	fail "step 3: group shipping is not at offset 20 with lag 0"
# each dead letter had 2 attempts: the first run and 1 retry
grep -q "\"handled\":$((orders - oslo)),\"failed\":$((oslo * 2)),\"dead_lettered\":$oslo," out ||
	fail "step 3: unexpected counters"

step "4. the dead letters"
run "evdlq ls orders-dlq.evlog"
[ "$(lines out)" -eq $((oslo + 1)) ] || # and the header
	fail "step 4: evdlq ls does not list $oslo letters"
# ORIGINAL is the offset in orders.evlog, which counts from 0
grep -q '^0  *2  *OrderPlaced  *order-3  *2  .* exit status 75$' out ||
	fail "step 4: letter 0 is not order-3 (offset 2) after 2 attempts, exit status 75"
run "evdlq show orders-dlq.evlog 0"
grep -q '"exceptionStacktrace": "ship.sh: order-3: carrier NordPost refused' out ||
	fail "step 4: letter 0 does not keep the handler's stderr"
run "evdlq stats orders-dlq.evlog"
grep -q "^open: *$oslo\$" out ||
	fail "step 4: evdlq stats does not count $oslo open letters"

step "5. the carrier is back: retry the dead letters"
run "touch carrier-fixed"
run "evdlq retry --dry-run orders-dlq.evlog"
run "evdlq retry --retries 1 --backoff 10ms orders-dlq.evlog" ||
	fail "step 5: evdlq retry left letters open"
grep -q "^evdlq: $oslo resolved, 0 still open\$" out ||
	fail "step 5: evdlq retry did not resolve $oslo letters"
run "evdlq ls orders-dlq.evlog"
[ ! -s out ] || fail "step 5: dead letters are still open after the retry"
[ "$(lines shipped.log)" -eq "$orders" ] ||
	fail "step 5: $(lines shipped.log) orders shipped, not $orders"

step "6. at least once: a replay ships nothing twice"
run "evctl groups --reset shipping --to start --execute orders.evlog"
printf '$ %s\n' "evtail --group shipping --exec ./ship.sh orders.evlog"
evtail --group shipping --exec ./ship.sh orders.evlog >out 2>&1 ||
	{ cat out; fail "step 6: evtail failed"; }
head -n 3 out
echo "..."
[ "$(grep -c 'already shipped, nothing to do$' out)" -eq "$orders" ] ||
	fail "step 6: the replay did not find every order already shipped"
[ "$(lines shipped.log)" -eq "$orders" ] ||
	fail "step 6: the replay shipped again: $(lines shipped.log) lines"

step "7. follow: new orders are shipped as they arrive"
printf '$ %s\n' "evtail -f --group shipping --exec ./ship.sh --parallel 4 \\
    --dlq orders-dlq.evlog orders.evlog &"
evtail -f --group shipping --exec ./ship.sh --parallel 4 \
	--dlq orders-dlq.evlog orders.evlog >follow.out 2>&1 &
follower=$!
run "./gen-orders.sh 21 5 | evpub orders.evlog"
total=$((orders + 5))
i=0
while [ "$(lines shipped.log)" -lt "$total" ]; do
	[ "$i" -lt 300 ] || {
		cat follow.out
		fail "step 7: $(lines shipped.log) of $total orders shipped after 30s"
	}
	sleep 0.1
	i=$((i + 1))
done
printf '$ %s\n' "kill -TERM %1"
kill -TERM "$follower"
st=0
wait "$follower" || st=$?
follower=
cat follow.out
[ "$st" -eq 0 ] || fail "step 7: evtail -f exited $st on SIGTERM, not 0"

step "8. check: every order shipped exactly once, nothing left open"
evtail --type OrderPlaced --template '{id}' orders.evlog | sort >want.ids
cut -f 1 shipped.log | sort >got.ids
cmp -s want.ids got.ids || {
	diff want.ids got.ids >&2 || true
	fail "step 8: the shipped orders are not the orders of the log"
}
run "evctl lag --group shipping --warn 1 --crit 10 orders.evlog" ||
	fail "step 8: group shipping is behind"
[ -z "$(evdlq ls --json orders-dlq.evlog)" ] ||
	fail "step 8: open dead letters are left"
echo "all $total orders shipped exactly once"
