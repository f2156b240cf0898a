#!/bin/sh
# examples/outbox/place-order.sh DB ORDER CUSTOMER AMOUNT - what the
# application does: the order row and its OrderPlaced outbox row in one
# SQLite transaction.  Nothing is published here; relay.sh does that.
set -eu
[ $# -eq 4 ] || { echo "usage: place-order.sh DB ORDER CUSTOMER AMOUNT" >&2; exit 64; }
db=$1 order=$2 customer=$3 amount=$4
case $amount in
'' | *[!0-9]*) echo "place-order.sh: amount '$amount' is not a whole number" >&2; exit 64 ;;
esac
# the values go in as SQL string literals, their quotes doubled
q() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/''/g")"; }
sqlite3 -bail "$db" <<SQL
.timeout 5000
BEGIN IMMEDIATE;
INSERT INTO orders (id, customer, amount, placed_at)
	VALUES ($(q "$order"), $(q "$customer"), $amount,
		strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
INSERT INTO outbox (id, type, stream, data, created_at)
	VALUES (lower(hex(randomblob(16))), 'OrderPlaced',
		'order-' || $(q "$order"),
		json_object('order', $(q "$order"), 'customer', $(q "$customer"),
			    'amount', $amount),
		strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
COMMIT;
SQL
