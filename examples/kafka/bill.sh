#!/bin/sh
# bill.sh - the billing handler of the Kafka example; see README.md.
#
# evtail --exec runs it once per event: the event as one line of JSON on
# stdin, and in the environment its id, type and stream, and on a Kafka
# log the record's partition and offset (EV_PARTITION, EV_OFFSET).  It
# "bills" an OrderPlaced by appending "PARTITION OFFSET ID" to billed.log
# in the current directory.  Delivery is at least once, so an id that is
# already there is not billed twice.
set -u

cat >/dev/null || exit 74
[ -n "${EV_ID:-}" ] || {
	echo "bill.sh: EV_ID is not set; run me from 'evtail --exec'" >&2
	exit 64
}
[ "${EV_TYPE:-}" = OrderPlaced ] || exit 0
if [ -f billed.log ] && grep -q " $EV_ID\$" billed.log; then
	exit 0
fi
echo "${EV_PARTITION:-?} ${EV_OFFSET:-?} $EV_ID" >>billed.log
