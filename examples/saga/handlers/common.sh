# handlers/common.sh - sourced by the step handlers.  evtail --exec runs a
# handler once per command: the command as one line of JSON on stdin,
# its id and type in EV_ID and EV_TYPE.  A handler performs the step and
# publishes its outcome to the orders log ($ORDERS), with an id derived
# from the command's, so that a retried command publishes nothing new,
# and with the command as its cause and the command's correlation id, so
# that 'evtail --trace' follows an order through both logs.
set -eu
: "${ORDERS:?ORDERS names the orders log}"
command=$(cat)
field() { printf '%s\n' "$command" | jq -r ".data.$1"; }
order=$(field orderId)
publish() { # publish TYPE [name=value | name:=json ...]
	type=$1
	shift
	corr=$(printf '%s\n' "$command" | jq -r '.meta.correlationId // empty')
	evpub "$ORDERS" "$type" --id "$EV_ID-done" --stream "order-$order" \
		--meta "causationId=$EV_ID" ${corr:+--meta "correlationId=$corr"} \
		orderId="$order" "$@" >/dev/null
}
