#!/bin/sh
# ship.sh - the shipping handler of the consumer example; see README.md.
#
# evtail --exec (and evdlq retry) runs it once per event: the event as one
# line of JSON on stdin, its id, offset, type and stream in EV_ID,
# EV_OFFSET, EV_TYPE and EV_STREAM.  It "ships" an OrderPlaced by
# appending a line to shipped.log in the current directory, and ignores
# other types.  Delivery is at least once, so the same event may come
# again: each line of shipped.log starts with the id of the event it
# shipped (then a tab), and an id that is already there is not shipped
# twice.
#
# The carrier for Oslo is down: those orders fail with exit status 75
# (a temporary failure) until a file named carrier-fixed exists.
set -u

die() {
	status=$1
	shift
	echo "ship.sh: $*" >&2
	exit "$status"
}

event=$(cat) || die 74 "cannot read the event from stdin"
[ -n "${EV_ID:-}" ] ||
	die 64 "EV_ID is not set; run me from 'evtail --exec' without --batch"
[ "${EV_TYPE:-}" = OrderPlaced ] || exit 0

# sed, not jq: gen-orders.sh writes shipTo as a flat object and evtail
# hands it on compact, and jq's start-up would be most of the run time
city=$(printf '%s\n' "$event" |
	sed -n 's/.*"shipTo":{"city":"\([^"\\]*\)".*/\1/p')
order=${EV_STREAM:-offset-${EV_OFFSET:-?}}
[ -n "$city" ] || die 65 "$order: no shipTo.city in the event"

if [ -f shipped.log ] &&
	awk -F '\t' -v id="$EV_ID" '$1 == id { found = 1; exit }
		END { exit !found }' shipped.log; then
	echo "ship.sh: $order already shipped, nothing to do" >&2
	exit 0
fi

if [ "$city" = Oslo ] && [ ! -e carrier-fixed ]; then
	die 75 "$order: carrier NordPost refused the parcel to Oslo:" \
		"503 Service Unavailable (attempt ${EV_ATTEMPT:-1})"
fi

# one short line, one write(2) with O_APPEND: safe with evtail --parallel
printf '%s\t%s\t%s\n' "$EV_ID" "$order" "$city" >>shipped.log ||
	die 74 "cannot write shipped.log"
echo "shipped $order to $city"
