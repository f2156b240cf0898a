#!/bin/sh
# examples/orders-readmodel/run.sh - the walkthrough of README.md, end to
# end: commands append events with expected versions, evproject keeps
# the SQLite read model up to date from cron, and sqlite3 answers the
# queries.  Checks the outcome as it goes and exits 1, naming the step,
# when anything is off.  tests/examples.bats runs it.
#
#   run.sh [DIR]
#
# The tools come from PATH; EVLOG_BIN, when set, names a directory put
# in front of it, such as the build tree's cmd/.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${EVLOG_BIN:-}" ]; then
	bin=$(cd "$EVLOG_BIN" && pwd) || exit 1
	PATH="$bin:$PATH"
	export PATH
fi
for t in evpub evctl evproject sqlite3; do
	command -v "$t" >/dev/null 2>&1 ||
		{ echo "run.sh: '$t' is not on PATH" >&2; exit 1; }
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
	work=$(mktemp -d "${TMPDIR:-/tmp}/evlog-orders.XXXXXX")
fi
cleanup() {
	if [ -z "$keep" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
cd "$work"

step() { printf '\n== %s\n' "$*"; }
check() { # check WHAT EXPECTED ACTUAL
	if [ "$2" != "$3" ]; then
		printf 'run.sh: %s: expected %s, got %s\n' "$1" "$2" "$3" >&2
		exit 1
	fi
}
# the cron job: fold what came since the last run into the read model
project() {
	evproject -p "$here/orders.lua" --name orders --sqlite orders.sqlite \
		orders.evlog >/dev/null
}

step "1. the command side: orders placed, once each"
evctl init orders.evlog >/dev/null
sh "$here/place-order.sh" orders.evlog 1 cus-1 250
sh "$here/place-order.sh" orders.evlog 2 cus-1 90
sh "$here/place-order.sh" orders.evlog 3 cus-2 40
set +e
sh "$here/place-order.sh" orders.evlog 3 cus-2 40 2>err.txt
rc=$?
set -e
check "placing order 3 again" 75 "$rc"
cat err.txt

step "2. the query side: the read model, built by evproject"
sqlite3 orders.sqlite <"$here/schema.sql"
project
sh "$here/get-order.sh" orders.sqlite 1
check "getOrder(1)" '[{"id":"1","customer":"cus-1","total":250,"status":"placed"}]' \
	"$(sh "$here/get-order.sh" orders.sqlite 1)"
check "getOrdersByCustomer(cus-1)" "1|250|placed
2|90|placed" "$(sh "$here/orders-by-customer.sh" orders.sqlite cus-1)"

step "3. more commands; the next cron run folds only them"
sh "$here/ship-order.sh" orders.evlog 1 post
sh "$here/cancel-order.sh" orders.evlog 2 "changed mind"
project
sh "$here/orders-by-customer.sh" orders.sqlite cus-1
check "getOrdersByCustomer(cus-1) after the next run" "1|250|shipped" \
	"$(sh "$here/orders-by-customer.sh" orders.sqlite cus-1)"
check "order 2's state" "cancelled|changed mind" \
	"$(sqlite3 orders.sqlite "SELECT status, reason FROM orders WHERE partition = '2'")"
check "the checkpoint, in the database" "orders" \
	"$(sqlite3 orders.sqlite "SELECT name FROM evproject_checkpoints")"
evproject --status -o tsv orders.evlog
echo
echo "orders-readmodel: 3 orders, read model in step"
