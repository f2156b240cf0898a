#!/bin/sh
# gen-orders.sh FIRST COUNT - print COUNT OrderPlaced events, orders FIRST
# to FIRST+COUNT-1, as NDJSON for evpub(1).
#
# Each order is a stream of its own (order-N).  The output depends only on
# the arguments, so the walkthrough fails on the same orders every time:
# the city cycles through seven, and every order N with N % 7 == 3 goes to
# Oslo, where ship.sh's carrier is down.  evpub gives each event its id.
set -eu
if [ $# -ne 2 ]; then
	echo "usage: gen-orders.sh FIRST COUNT" >&2
	exit 64
fi
awk -v first="$1" -v count="$2" 'BEGIN {
	split("Lyon Berlin Madrid Oslo Rome Vienna Lisbon", city, " ")
	for (n = first; n < first + count; n++)
		printf "{\"type\":\"OrderPlaced\",\"stream\":\"order-%d\"," \
		    "\"data\":{\"customer\":\"cust-%d\",\"amount\":%d," \
		    "\"shipTo\":{\"city\":\"%s\"}}}\n",
		    n, (n * 37) % 100, 500 + (n * 7919) % 50000, city[n % 7 + 1]
}'
