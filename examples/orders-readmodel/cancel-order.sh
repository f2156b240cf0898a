#!/bin/sh
# cancel-order.sh LOG ORDER REASON - cancels a placed order that has not
# shipped (the stream at version 1).
set -eu
[ $# -eq 3 ] || { echo "usage: cancel-order.sh LOG ORDER REASON" >&2; exit 64; }
exec evpub "$1" OrderCancelled --stream "order-$2" --expect-version 1 \
	orderId="$2" reason="$3"
