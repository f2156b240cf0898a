#!/bin/sh
# examples/kafka/run.sh - the worked example of README.md, end to end: the
# same evlog commands on a three-broker Kafka cluster.
#
#   run.sh                    on the mock cluster: tests/kafka-mock (three
#                             brokers on loopback), started and stopped here
#   run.sh HOST:PORT[,...]    on a real cluster; the topic (KAFKA_TOPIC,
#                             default orders) must exist, with 8
#                             partitions, and be empty
#
# Prints each command ("$ ...") and its output, and checks the outcome as
# it goes: it exits 1, naming the step, when anything is off (a count, an
# order billed twice or never).  Works in a temporary directory, removed
# afterwards.  The tools come from PATH; EVLOG_BIN, when set, names a
# directory put in front of it, such as the build tree's cmd/:
#   EVLOG_BIN=cmd examples/kafka/run.sh
# tests/kafka-interop.bats runs it on the mock.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${EVLOG_BIN:-}" ]; then
	bin=$(cd "$EVLOG_BIN" && pwd) || exit 1
	PATH="$bin:$PATH"
	export PATH
fi
for t in evpub evtail; do
	command -v "$t" >/dev/null 2>&1 ||
		{ echo "run.sh: '$t' is not on PATH; set EVLOG_BIN" >&2; exit 1; }
done
if [ $# -gt 1 ]; then
	echo "usage: run.sh [HOST:PORT[,HOST:PORT...]]" >&2
	exit 64
fi
topic=${KAFKA_TOPIC:-orders}
# short group timeouts: a rerun's join takes seconds, not librdkafka's 45 s
group_opts="-X session.timeout.ms=6000 -X heartbeat.interval.ms=500"

work=$(mktemp -d "${TMPDIR:-/tmp}/evlog-kafka.XXXXXX")
mock=
cleanup() {
	if [ -n "$mock" ]; then kill "$mock" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
cp "$here/bill.sh" "$work/"
cd "$work"

step() { printf '\n== %s\n' "$*"; }
# run CMD: show the command line, run it, show its output (kept in the
# file out for the checks); its exit status
run() {
	printf '$ %s\n' "$1"
	st=0
	eval "$1" >out 2>&1 || st=$?
	cat out
	return "$st"
}
fail() {
	echo "run.sh: $*" >&2
	exit 1
}
# orders FIRST COUNT: COUNT OrderPlaced events as NDJSON, keyed by
# customer (ten of them), so a customer's orders share a partition
orders() {
	awk -v first="$1" -v count="$2" 'BEGIN {
		for (n = first; n < first + count; n++)
			printf "{\"id\":\"o-%d\",\"type\":\"OrderPlaced\"," \
			    "\"stream\":\"order-%d\",\"key\":\"cust-%d\"," \
			    "\"data\":{\"amount\":%d}}\n",
			    n, n, n % 10, 500 + (n * 7919) % 50000
	}'
}

step "0. the cluster"
if [ $# -eq 1 ]; then
	brokers=$1
	echo "a real cluster: $brokers, topic '$topic'"
else
	kmock=${KAFKA_MOCK:-$here/../../tests/kafka-mock}
	[ -x "$kmock" ] || fail "step 0: no '$kmock' (make tests/kafka-mock, or give a cluster's address)"
	printf '$ %s\n' "tests/kafka-mock $topic:8 &"
	"$kmock" "$topic:8" >mock.out 2>mock.err &
	mock=$!
	i=0
	while [ ! -s mock.out ] && [ $i -lt 200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	brokers=$(head -n 1 mock.out)
	[ -n "$brokers" ] || fail "step 0: the mock cluster did not start: $(cat mock.err)"
	echo "$brokers"
	# the mock makes 4-partition topics of any name asked for: not ours
	group_opts="$group_opts -X allow.auto.create.topics=false"
fi
K=kafka://$brokers/$topic
echo "K=$K"

step "1. publish 40 orders: an idempotent producer, keyed by customer"
run "orders 1 40 | evpub --ack \$K >acks; head -n 3 acks"
[ "$(wc -l <acks)" -eq 40 ] || fail "step 1: $(wc -l <acks) acks, not 40"
parts=$(cut -d: -f1 acks | sort -u | wc -l)
[ "$parts" -gt 1 ] || fail "step 1: every order in one partition"
# a customer's orders are in one partition
orders 1 40 | sed 's/.*"id":"\([^"]*\)".*"key":"\([^"]*\)".*/\1 \2/' |
	sort >keys
sort -k 2 acks | awk '{ split($1, p, ":"); print $2, p[1] }' | sort >parts
join keys parts | awk '{ print $2, $3 }' | sort -u | cut -d' ' -f1 |
	uniq -d >split.txt
[ ! -s split.txt ] || fail "step 1: customers in more than one partition: $(cat split.txt)"

step "2. what kcat sees: the key, the CloudEvents headers, the data"
if command -v kcat >/dev/null 2>&1; then
	run "kcat -b '$brokers' -X allow.auto.create.topics=false -C -t $topic -p 0 -o beginning -c 1 -e -q -f '%k | %h | %s\n'"
	grep -q '| ce_specversion=1.0,ce_id=o-' out || fail "step 2: no CloudEvents headers"
else
	echo "(kcat is not installed: step left out)"
fi

step "3. read: the last order of each partition, then from a position"
run "evtail -n 1 --template '{id} {key} {data.amount}' \$K"
[ "$(wc -l <out)" -eq "$parts" ] || fail "step 3: $(wc -l <out) lines, not one per partition ($parts)"
pos=$(head -n 1 acks | cut -d' ' -f1)
run "evtail --from $pos --count 1 --template '{id}' \$K"
[ "$(cat out)" = "$(head -n 1 acks | cut -d' ' -f2)" ] || fail "step 3: --from $pos is not the first order"

step "4. a consumer group bills each order, committing as it goes"
run "evtail --group billing --exec ./bill.sh $group_opts \$K"
[ "$(wc -l <billed.log)" -eq 40 ] || fail "step 4: $(wc -l <billed.log) orders billed, not 40"
# in the order of each partition
cut -d' ' -f1 billed.log | sort -u | while read -r p; do
	awk -v p="$p" '$1 == p { print $2 }' billed.log | sort -n -c ||
		fail "step 4: partition $p billed out of order"
done

step "5. 5 more orders: the group resumes after its committed offsets"
run "orders 41 5 | evpub \$K"
run "evtail --group billing --exec ./bill.sh $group_opts \$K"
[ "$(wc -l <billed.log)" -eq 45 ] || fail "step 5: $(wc -l <billed.log) orders billed, not 45"
[ "$(cut -d' ' -f3 billed.log | sort -u | wc -l)" -eq 45 ] ||
	fail "step 5: an order billed twice"

step "6. a record of another producer is an event of type kafka.record"
if command -v kcat >/dev/null 2>&1; then
	run "printf 'hello\n' | kcat -b '$brokers' -X allow.auto.create.topics=false -P -t $topic -k other"
	run "evtail --type kafka.record --fields type,key,data \$K"
	[ "$(cat out)" = '{"type":"kafka.record","key":"other","data":"hello"}' ] ||
		fail "step 6: not the record kcat sent"
else
	echo "(kcat is not installed: step left out)"
fi

step "7. back to a log on one machine: the same events"
run "evtail \$K | evpub -c orders.evlog"
run "evtail -o count orders.evlog"
n=45
command -v kcat >/dev/null 2>&1 && n=46
[ "$(cat out)" -eq "$n" ] || fail "step 7: $(cat out) events in orders.evlog, not $n"
run "evtail --template '{id}' --type OrderPlaced orders.evlog | sort | uniq -d"
[ ! -s out ] || fail "step 7: an order twice in the log"

echo
echo "all 45 orders published, billed once each, and copied back to a log"
