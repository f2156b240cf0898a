#!/bin/sh
# handlers/payment.sh - payment.charge.  The card company declines any
# charge above 1000.
. "$(dirname "$0")/common.sh"
amount=$(field amount)
if [ "$amount" -gt 1000 ]; then
	publish PaymentFailed reason="card declined" amount:="$amount"
else
	publish PaymentSucceeded amount:="$amount"
fi
