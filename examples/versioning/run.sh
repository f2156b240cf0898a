#!/bin/sh
# examples/versioning/run.sh - the walkthrough of README.md, end to end:
# events of three schema versions in one log, read at the current one
# with the upcasters in upcasters/, checked as CI would check them, and
# rewritten into a new log.
#
# Runs every step in a fresh temporary directory (or in DIR, which must
# be empty or missing and is kept afterwards), printing each command
# ("$ ...") and its output, and checks the outcome as it goes: it exits 1,
# naming the step, when anything is off.  tests/examples.bats runs it.
#
#   run.sh [DIR]
#
# The tools come from PATH; EVLOG_BIN, when set, names a directory put in
# front of it, such as the build tree's cmd/:
#   EVLOG_BIN=cmd examples/versioning/run.sh
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${EVLOG_BIN:-}" ]; then
	bin=$(cd "$EVLOG_BIN" && pwd) || exit 1
	PATH="$bin:$PATH"
	export PATH
fi
for t in evpub evtail evreplay evdlq; do
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
	work=$(mktemp -d "${TMPDIR:-/tmp}/evlog-versioning.XXXXXX")
fi
cleanup() {
	if [ -z "$keep" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
cp -R "$here/upcasters" "$here"/*.ndjson "$work/"
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
show="--template '{offset} {id} {type} v{schema} {data}'"

step "1. three years of orders: versions 1, 2 and 3 in one log"
run "evpub -c orders.evlog <events-v1.ndjson" || fail "step 1: evpub failed"
run "evpub orders.evlog <events-v2.ndjson" || fail "step 1: evpub failed"
run "evpub orders.evlog <events-v3.ndjson" || fail "step 1: evpub failed"
run "evtail $show orders.evlog" || fail "step 1: evtail failed"
[ "$(grep -c ' v1 ' out)" -eq 3 ] && [ "$(grep -c ' v2 ' out)" -eq 2 ] &&
	[ "$(grep -c ' v3 ' out)" -eq 1 ] ||
	fail "step 1: the log does not hold 3, 2 and 1 events of versions 1, 2 and 3"
grep -q '^0 ord-1 OrderCreated v1 {"customer":"cust-7","amount":1250}$' out ||
	fail "step 1: evpub did not store ord-1 as given"

step "2. read at the current version"
run "evtail --upcast upcasters/ $show orders.evlog" ||
	fail "step 2: evtail --upcast failed"
[ "$(grep -c ' OrderCreated v3 ' out)" -eq 6 ] ||
	fail "step 2: not every event is an OrderCreated of version 3"
grep -q '^0 ord-1 OrderCreated v3 {"customer":"cust-7","total":{"amount":1250,"currency":"USD"}}$' out ||
	fail "step 2: ord-1 did not get USD and a total"
grep -q '^2 leg-1 OrderCreated v3 {"customer":"cust-9","total":{"amount":1200,"currency":"EUR"}}$' out ||
	fail "step 2: the Lua step did not sum the lines of leg-1"

step "3. filters see the upcast events"
run "evtail --upcast upcasters/ --type OrderCreated \\
    --where 'data.total.currency == \"EUR\"' --template '{id}' orders.evlog" ||
	fail "step 3: evtail --upcast failed"
[ "$(tr '\n' ' ' <out)" = "leg-1 ord-4 " ] ||
	fail "step 3: the orders in EUR are not leg-1 and ord-4"

step "4. the CI check: every event through its chain"
run "evreplay --check --upcast upcasters/ orders.evlog" ||
	fail "step 4: evreplay --check failed on a good log"
grep -q '^OrderCreated  *1  *2  *0  *0$' out ||
	fail "step 4: the check does not count 2 OrderCreated of version 1 upcast"

step "5. a late import with a broken legacy order fails the check"
run "cat events-v*.ndjson late-import.ndjson | evpub -c staging.evlog" ||
	fail "step 5: evpub failed"
st=0
run "evreplay --check --upcast upcasters/ staging.evlog" || st=$?
[ "$st" -eq 65 ] || fail "step 5: evreplay --check exited $st, not 65"
grep -q '^offset 7: LegacyOrder version 1: step upcasters/LegacyOrder.1.lua:8: a LegacyOrder without lines$' out ||
	fail "step 5: the check does not name the failure of offset 7"
run "evtail --upcast upcasters/ --on-error dlq --dlq staging-dlq.evlog \\
    -o count staging.evlog" || fail "step 5: evtail --on-error dlq failed"
[ "$(head -n 1 out)" = 7 ] || fail "step 5: 7 events are not read"
run "evdlq ls staging-dlq.evlog" || fail "step 5: evdlq ls failed"
grep -q '^0  *7  *LegacyOrder  *order-8 ' out ||
	fail "step 5: the broken order is not dead-lettered"

step "6. rewrite: a new log with every event at its current version"
run "evreplay --rewrite --upcast upcasters/ orders.evlog \\
    --rewrite-to orders-v3.evlog" || fail "step 6: the rewrite failed"
grep -q "^evreplay: wrote 6 events; offsets kept" out ||
	fail "step 6: the rewrite did not keep the offsets of the 6 events"
run "evtail $show orders-v3.evlog" || fail "step 6: evtail failed"
[ "$(grep -c ' OrderCreated v3 ' out)" -eq 6 ] ||
	fail "step 6: the new log does not hold 6 events of version 3"
run "evreplay --check --upcast upcasters/ orders-v3.evlog" ||
	fail "step 6: the check fails on the new log"
grep -q '^OrderCreated  *3  *0  *6  *0$' out ||
	fail "step 6: the new log's events are not all current already"
echo "every order read at version 3"
