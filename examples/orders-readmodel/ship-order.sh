#!/bin/sh
# ship-order.sh LOG ORDER CARRIER - ships a placed order: the order's
# stream must be at version 1, just placed (anything else exits 75).
set -eu
[ $# -eq 3 ] || { echo "usage: ship-order.sh LOG ORDER CARRIER" >&2; exit 64; }
exec evpub "$1" OrderShipped --stream "order-$2" --expect-version 1 \
	orderId="$2" carrier="$3"
