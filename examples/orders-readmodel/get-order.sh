#!/bin/sh
# get-order.sh DB ORDER - getOrder(id): one row of the read model.
set -eu
sqlite3 -json "$1" "SELECT partition AS id, customer, total, status FROM orders WHERE partition = '$(printf '%s' "$2" | sed "s/'/''/g")'"
