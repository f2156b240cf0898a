#!/bin/sh
# examples/quickstart.sh - the evlog demo (make demo).
#
# Generates a realistic stream of bank-account and order events with the
# project's own generator, publishes it to a local log, tails, filters and
# follows it, infers its schemas and checks the events against them,
# verifies the log and prints a summary.  Needs nothing but
# the built tools.  EVENTS sets the size (default 200000).
#
# The log is kept, for the user to explore: ./demo.evlog, or DEMO_LOG.
# A log there from an earlier demo (it holds the demo's own event, by
# user u-demo) is replaced; anything else there is left alone, and the
# demo stops.  Headings are bold only on a terminal, and never with
# NO_COLOR set.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
PATH="$top/cmd:$top/examples:$PATH"
export PATH
n=${EVENTS:-200000}
log=${DEMO_LOG:-demo.evlog}
follower=

# a log an earlier demo wrote
demo_log() {
	[ -n "$(evtail --where 'meta.userId == u-demo' --count 1 \
		--template x "$1" 2>/dev/null)" ]
}

if [ -e "$log" ] || [ -L "$log" ]; then
	if ! demo_log "$log"; then
		echo "quickstart: '$log' exists and is not a log from the demo:" \
			"move it away, or set DEMO_LOG to another path" >&2
		exit 1
	fi
	rm -rf "$log"
	echo "(replacing '$log' from an earlier demo)"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/evlog-demo.XXXXXX")
trap 'kill "$follower" 2>/dev/null || true; rm -rf "$work"' EXIT INT TERM

if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then
	step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
else
	step() { printf '\n== %s\n' "$*"; }
fi

step "generate $n events: accounts and orders, in the evlog envelope"
evgen "$n" --seed 42 >"$work/events.ndjson"
head -n 1 "$work/events.ndjson"

step "publish them (evpub -c creates the log; -v reports counts)"
start=$(date +%s.%N)
evpub -c -v "$log" <"$work/events.ndjson"
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v n="$n" \
	'BEGIN { printf "%.0f events/s\n", n / (e - s) }'

step "the last 5 events, for humans (evtail -n 5 -o pretty)"
evtail -n 5 -o pretty "$log"

step "large deposits, as a template (--type, --where, --template)"
evtail --type MoneyDeposited --where 'data.amount >= 199000' \
	--template '{offset}  {time}  {stream}  {data.amount}' --count 5 "$log"

step "everything that happened to one order (--stream)"
stream=$(evtail -n 1 --type 'Order*' --template '{stream}' "$log")
evtail --stream "$stream" -o pretty "$log"

step "append one event from arguments, get its offset back (--ack)"
evpub --ack "$log" MoneyDeposited amount:=2500 currency=EUR \
	--stream account-1 --meta userId=u-demo

step "follow: evtail -f sees a new event as soon as it is durable"
evtail -f --from end --template 'followed: {offset} {type} {data.note}' \
	"$log" >"$work/follow.out" &
follower=$!
sleep 0.5
evpub "$log" Note note="hello from another process" >/dev/null
i=0
while [ "$i" -lt 20 ] && ! grep -q followed "$work/follow.out"; do
	sleep 0.1
	i=$((i + 1))
done
kill "$follower"
wait "$follower" 2>/dev/null || true
follower=
cat "$work/follow.out"

step "a cron-style consumer: --cursor-file reads each event once"
evtail --cursor-file "$work/cursor" --type OrderCancelled \
	--template '{offset}' "$log" | wc -l | sed 's/^/first run:  /;s/$/ cancelled orders/'
evpub "$log" OrderCancelled reason="demo" --stream order-demo >/dev/null
evtail --cursor-file "$work/cursor" --type OrderCancelled \
	--template '{offset}' "$log" | wc -l | sed 's/^/second run: /;s/$/ new cancellation/'

step "CloudEvents out and back in"
evtail -n 1 -o cloudevents "$log"
evtail -o cloudevents "$log" | evpub -c --format cloudevents "$work/copy.evlog"
a=$(evtail --template '{id} {type} {time} {data}' "$log" | cksum)
b=$(evtail --template '{id} {type} {time} {data}' "$work/copy.evlog" | cksum)
if [ "$a" != "$b" ]; then
	echo "quickstart: round trip: the copy differs from the original" >&2
	exit 1
fi
echo "round trip: identical ids, types, times and data"

step "schemas: infer a registry from the log, check every event against it"
evctl schema infer --out "$work/schemas" "$log" >/dev/null
evctl schema check --schemas "$work/schemas" "$log" | tail -n 1 | sed "s|$work/||"
echo '{"type":"OrderPlaced","stream":"order-1","data":{"amount":"lots"}}' >"$work/bad.ndjson"
if evpub --schemas "$work/schemas" "$work/copy.evlog" <"$work/bad.ndjson" 2>"$work/err"; then
	echo "quickstart: evpub --schemas took an invalid event" >&2
	exit 1
fi
sed "s|$work/||g" "$work/err" | head -n 3

if [ -n "${EVLOG_DATA:-}" ] && [ -f "$EVLOG_DATA/gharchive-minimized-2019-09-26-0.ndjson" ]; then
	step "real data: one GH Archive hour, wrapped (--wrap)"
	evpub -c --wrap --type-from type --stream-from repo --id-from id \
		--time-from dt "$work/gh.evlog" \
		<"$EVLOG_DATA/gharchive-minimized-2019-09-26-0.ndjson"
	evctl info --types "$work/gh.evlog" | sed -n '/^types:/,$p' | head -6
fi

step "verify every checksum, record and index (evctl verify)"
evctl verify "$log"

step "summary (evctl info --types)"
evctl info --types "$log"

step "explore it: the log stays in $log"
case $log in
*[!A-Za-z0-9./_-]*) q="'$log'" ;;
*) q=$log ;;
esac
cat <<EOT
  export PATH=$top/cmd:\$PATH   # or: make install PREFIX=~/.local
  evctl info --types $q
  evtail -n 5 -o pretty $q
  evtail --type 'Order*' --where 'data.amount > 40000' --count 3 $q
  evtail --stream account-1 --template '{version} {type} {data.amount}' $q
  man evtail                     # after make install; else man ./man/evtail.1
EOT
