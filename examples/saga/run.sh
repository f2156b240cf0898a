#!/bin/sh
# examples/saga/run.sh - the order saga of README.md, end to end: orders
# are placed; the saga (saga.lua, a projection run by evproject) emits
# commands; step handlers on 'evtail --group --exec' perform them and
# publish the outcome; and so on until nothing is left to do.
#
#   run.sh [DIR] [ORDERS.ndjson]
#
# Runs in a fresh temporary directory (or in DIR, which must be empty or
# missing and is kept afterwards), with the orders of orders.ndjson (or
# the file given), printing what each round does.  It exits 1 when the
# saga does not settle.  tests/examples.bats runs it.  The tools come
# from PATH; EVLOG_BIN, when set, names a directory put in front of it.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${EVLOG_BIN:-}" ]; then
	bin=$(cd "$EVLOG_BIN" && pwd) || exit 1
	PATH="$bin:$PATH"
	export PATH
fi
for t in evpub evtail evproject jq; do
	command -v "$t" >/dev/null 2>&1 ||
		{ echo "run.sh: '$t' is not on PATH" >&2; exit 1; }
done
keep=
work=
if [ $# -ge 1 ] && [ -n "$1" ]; then
	mkdir -p "$1" || exit 1
	[ -z "$(ls -A "$1")" ] || { echo "run.sh: '$1' is not empty" >&2; exit 1; }
	work=$(cd "$1" && pwd)
	keep=1
else
	work=$(mktemp -d "${TMPDIR:-/tmp}/evlog-saga.XXXXXX")
fi
orders=${2:-$here/orders.ndjson}
case $orders in /*) ;; *) orders=$(pwd)/$orders ;; esac
cleanup() {
	if [ -z "$keep" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
cd "$work"
ORDERS=$work/orders.evlog
export ORDERS

evpub -c orders.evlog <"$orders"
evctl init commands.evlog >/dev/null
round=0
while :; do
	round=$((round + 1))
	if [ "$round" -gt 8 ]; then
		echo "run.sh: the saga did not settle after 8 rounds" >&2
		exit 1
	fi
	before=$(evtail orders.evlog | wc -l)
	cmds_before=$(evtail commands.evlog | wc -l)
	# the saga: new events in, new commands out (cron-safe: --name)
	evproject -p "$here/saga.lua" --name saga --emit-to commands.evlog \
		orders.evlog >/dev/null
	# the steps: each handler takes its commands once (its group)
	for step in inventory payment shipping; do
		evtail --group "$step" --type "$step.*" \
			--exec "sh $here/handlers/$step.sh" commands.evlog \
			>/dev/null 2>>evtail.err ||
			{ cat evtail.err >&2; exit 1; }
	done
	after=$(evtail orders.evlog | wc -l)
	cmds_after=$(evtail commands.evlog | wc -l)
	echo "round $round: $((cmds_after - cmds_before)) commands, $((after - before)) outcomes"
	[ "$after" -eq "$before" ] && [ "$cmds_after" -eq "$cmds_before" ] && break
done
echo
echo "commands:"
evtail --template '  {stream} {type}' commands.evlog
echo
echo "orders:"
# a look at the states: without --name, the commands it would emit go
# nowhere
evproject -p "$here/saga.lua" -o ndjson orders.evlog |
	jq -r '"  order \(.partition): \(.state.status)"'
