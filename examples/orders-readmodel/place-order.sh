#!/bin/sh
# place-order.sh LOG ORDER CUSTOMER TOTAL - the command side: an order is
# placed once; placing it again is refused by the log (exit 75), since
# its stream must not exist yet (evpub --expect-version none).
set -eu
[ $# -eq 4 ] || { echo "usage: place-order.sh LOG ORDER CUSTOMER TOTAL" >&2; exit 64; }
exec evpub "$1" OrderPlaced --stream "order-$2" --expect-version none \
	orderId="$2" customerId="$3" total:="$4"
