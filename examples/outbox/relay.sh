#!/bin/sh
# examples/outbox/relay.sh DB LOG - publish the outbox rows not yet
# published, then mark them.  Safe to run from cron: one relay at a time
# (a second exits 75), and a relay killed between publishing and marking
# leaves the rows unmarked, so the next run publishes them again.  That
# is harmless: each event's id is its outbox row's id, and evpub(1)
# appends an id it already has only once (it acknowledges it as a
# duplicate), within the log's dedupe window of 1M events.
#
# OUTBOX_KILL_BEFORE_MARK=1 kills the relay (SIGKILL) right after evpub
# has acknowledged the events and before they are marked: the crash the
# test makes.
set -eu
[ $# -eq 2 ] || { echo "usage: relay.sh DB LOG" >&2; exit 64; }
db=$1 log=$2
[ -f "$db" ] || { echo "relay.sh: no database '$db'" >&2; exit 66; }
exec 9>"$db.relay-lock"
flock -n 9 || { echo "relay.sh: another relay is running on '$db'" >&2; exit 75; }

# its files beside the database, where a killed relay's are found again
tmp=$db.relay.d
rm -rf "$tmp"
mkdir "$tmp"
trap 'rm -rf "$tmp"' EXIT
# the pending rows as events, oldest first
sqlite3 -bail "$db" >"$tmp/events.ndjson" <<'SQL'
.timeout 5000
SELECT json_object('id', id, 'type', type, 'stream', stream,
		   'time', created_at, 'data', json(data))
	FROM outbox WHERE published_at IS NULL ORDER BY seq;
SQL
pending=$(wc -l <"$tmp/events.ndjson")
if [ "$pending" -eq 0 ]; then
	echo "relay: nothing to publish"
	exit 0
fi
# --ack: "OFFSET ID" once durable, "OFFSET ID duplicate" for one the log
# already has; only acknowledged ids are marked
evpub --ack --create "$log" <"$tmp/events.ndjson" >"$tmp/acks"
dups=$(grep -c ' duplicate$' "$tmp/acks" || true)
if [ "${OUTBOX_KILL_BEFORE_MARK:-}" = 1 ]; then
	kill -KILL $$
fi
{
	echo ".timeout 5000"
	echo "BEGIN IMMEDIATE;"
	while read -r _ id _; do
		id=$(printf '%s' "$id" | sed "s/'/''/g")
		echo "UPDATE outbox SET published_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = '$id';"
	done <"$tmp/acks"
	echo "COMMIT;"
} | sqlite3 -bail "$db"
echo "relay: published $pending ($dups already in the log)"
