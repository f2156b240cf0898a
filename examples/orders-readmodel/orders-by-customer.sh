#!/bin/sh
# orders-by-customer.sh DB CUSTOMER - getOrdersByCustomer(customerId).
set -eu
sqlite3 "$1" "SELECT order_id, total, status FROM orders_by_customer WHERE customer = '$(printf '%s' "$2" | sed "s/'/''/g")' ORDER BY order_id"
