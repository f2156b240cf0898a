#!/bin/sh
# examples/outbox/run.sh - the walkthrough of README.md, end to end: the
# application writes orders with their outbox rows, the relay publishes
# them, a relay is killed between publishing and marking, and the next
# run publishes those rows again without a single duplicate in the log.
#
# Runs in a fresh temporary directory (or in DIR, which must be empty or
# missing and is kept afterwards), printing each command ("$ ...") and
# its output, and checks the outcome as it goes: it exits 1, naming the
# step, when anything is off.  tests/examples.bats runs it.
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
for t in evpub evtail sqlite3 flock; do
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
	work=$(mktemp -d "${TMPDIR:-/tmp}/evlog-outbox.XXXXXX")
fi
cleanup() {
	if [ -z "$keep" ]; then rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM
cd "$work"

step() { printf '\n== %s\n' "$*"; }
show() { printf '$ %s\n' "$*"; "$@"; }
check() { # check WHAT EXPECTED ACTUAL
	if [ "$2" != "$3" ]; then
		printf 'run.sh: %s: expected %s, got %s\n' "$1" "$2" "$3" >&2
		exit 1
	fi
}
count_events() { evtail orders.evlog | wc -l | tr -d ' '; }
unpublished() {
	sqlite3 shop.db 'SELECT count(*) FROM outbox WHERE published_at IS NULL'
}

step "1. the application's database, with its outbox"
show sqlite3 shop.db <"$here/schema.sql" >/dev/null
for i in 1 2 3 4 5; do
	show sh "$here/place-order.sh" shop.db "$i" "cus-$((i % 2))" "$((i * 1000))"
done
check "orders placed" 5 "$(sqlite3 shop.db 'SELECT count(*) FROM orders')"
check "outbox rows" 5 "$(unpublished)"

step "2. the relay publishes them and marks them published"
show sh "$here/relay.sh" shop.db orders.evlog
check "events in the log" 5 "$(count_events)"
check "unpublished rows" 0 "$(unpublished)"
show sh "$here/relay.sh" shop.db orders.evlog

step "3. three more orders; the relay is killed after publishing, before marking"
for i in 6 7 8; do
	show sh "$here/place-order.sh" shop.db "$i" "cus-$((i % 2))" "$((i * 1000))"
done
printf '$ OUTBOX_KILL_BEFORE_MARK=1 sh relay.sh shop.db orders.evlog\n'
set +e
OUTBOX_KILL_BEFORE_MARK=1 sh "$here/relay.sh" shop.db orders.evlog
rc=$?
set -e
echo "(exit $rc: killed)"
check "the killed relay's exit status" 137 "$rc"
check "events in the log" 8 "$(count_events)"
check "unpublished rows (published, not marked)" 3 "$(unpublished)"

step "4. the next run publishes them again: the log already has them"
show sh "$here/relay.sh" shop.db orders.evlog
check "events in the log" 8 "$(count_events)"
check "unpublished rows" 0 "$(unpublished)"

step "5. every order is in the log exactly once, with its outbox row's id"
show evtail --template '{offset} {id} {stream} {data.amount}' orders.evlog
check "distinct ids in the log" 8 "$(evtail --template '{id}' orders.evlog | sort -u | wc -l | tr -d ' ')"
check "ids of the log = ids of the outbox" \
	"$(sqlite3 shop.db 'SELECT id FROM outbox ORDER BY seq')" \
	"$(evtail --template '{id}' orders.evlog)"
echo
echo "outbox: 8 orders, 8 events, none twice"
