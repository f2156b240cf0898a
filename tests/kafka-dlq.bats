#!/usr/bin/env bats
# Dead-letter topics (issue 14 section 4): evtail --exec --dlq kafka://...
# from a local log writes letters as Kafka records with Spring Kafka's
# kafka_dlt-* headers, Kafka Connect's __connect.errors.* headers and
# evlog's letter; evdlq ls/show/stats/retry/purge read and mark them in
# the topic.  Against librdkafka's mock cluster (tests/kafka-mock) and
# Debian's kcat; skips, saying why, without librdkafka-dev or kcat.
load helper
load kafka

# every topic the file uses: the mock cluster has no CreateTopics
setup_file() {
	kafka_start d1:1 d2:1 d3:1 d4:1 d5:1 d6:1 d7:1 d8:1 d9:1 d10:1 d11:1 d12:1 d13:1 d14:1 d15:1 wide:3 src3:3
}

teardown_file() {
	kafka_stop
}

# src: two events, one with a key, one without
mksrc() {
	printf '%s\n' \
		'{"id":"e1","type":"OrderPlaced","stream":"order-7","key":"k7","time":"2025-01-10T09:20:00Z","data":{"amount":1500}}' \
		'{"id":"e2","type":"OrderPaid","stream":"order-8","time":"2025-01-10T09:21:00Z","data":{"amount":20}}' |
		evpub -c src
}

# every event of src dead-lettered to topic $1 by group ${2:-g}
fail_all() {
	evtail src --group "${2:-g}" --exec 'echo "no stock for $EV_ID" >&2; exit 3' \
		--retries 0 --dlq "kafka://$KAFKA_BROKERS/$1" $KAFKA_FAST "${@:3}"
}

# the records of topic $1 from offset $2 through the jq filter $3
records_of() {
	kc -C -t "$1" -p 0 -o "$2" -e -q -J | jq -c "$3"
}

# header $2 of the JSON headers $1 as hex bytes
hex_header() {
	jq -j --arg k "$2" '.[$k]' <<<"$1" | od -An -tx1 | tr -d ' \n'
}

# the headers of the record at offset $2 of topic $1 as one JSON object
headers_of() {
	kc -C -t "$1" -p 0 -o "$2" -c 1 -e -q -J |
		jq -c '[.headers as $h | range(0; $h | length; 2) | {($h[.]): $h[. + 1]}] | add'
}

@test "evtail --dlq kafka: letters are records with the original key and value, Spring's and Connect's headers" {
	mksrc
	run --separate-stderr fail_all d1
	assert_status 0
	assert_stdout ""
	assert_stderr "no stock for e1
no stock for e2
evtail: 0 handled, 2 dead-lettered, 0 skipped"
	# the key (else the stream) and value, in partition 0
	run --separate-stderr kc -C -t d1 -o beginning -e -q -f '%p %o %k %s\n'
	assert_status 0
	assert_stdout '0 0 k7 {"amount":1500}
0 1 order-8 {"amount":20}'
	run --separate-stderr headers_of d1 1
	assert_status 0
	h=$output
	# Connect's, as text
	run jq -c '[."__connect.errors.topic", ."__connect.errors.partition",
		."__connect.errors.offset", ."__connect.errors.connector.name",
		."__connect.errors.stage", ."__connect.errors.exception.class.name",
		."__connect.errors.exception.message",
		."__connect.errors.exception.stacktrace"]' <<<"$h"
	assert_stdout '["src","0","1","g","TASK_PUT","evlog.HandlerExit","exit status 3","no stock for e2\n"]'
	# Spring's: strings, and big-endian binary numbers
	run jq -c '[."kafka_dlt-original-topic", ."kafka_dlt-original-consumer-group",
		."kafka_dlt-exception-fqcn", ."kafka_dlt-exception-message",
		."kafka_dlt-exception-stacktrace", ."kafka_dlt-original-timestamp-type"]' <<<"$h"
	assert_stdout '["src","g","evlog.HandlerExit","exit status 3","no stock for e2\n","LogAppendTime"]'
	run hex_header "$h" kafka_dlt-original-partition
	assert_stdout "00000000"
	run hex_header "$h" kafka_dlt-original-offset
	assert_stdout "0000000000000001"
	# the original event's CloudEvents headers, as evpub writes them
	run jq -c '[.ce_id, .ce_type, .ce_subject, ."content-type"]' <<<"$h"
	assert_stdout '["e2","OrderPaid","order-8","application/json"]'
	# evlog's letter, whole
	run jq -c '.evlog_letter | fromjson | [.id, .type, .data.original.id,
		.data.originalPartition, .data.originalOffset, .data.round,
		.data.handler, .data.exitStatus]' <<<"$h"
	assert_stdout "[\"deadletter:g:$(evctl info src --json | jq -r .id):1:1\",\"DeadLetter\",\"e2\",0,1,1,\"echo \\\"no stock for \$EV_ID\\\" >&2; exit 3\",3]"
	# the group went on: both offsets are committed
	run --separate-stderr fail_all d1
	assert_status 0
	assert_stderr ""
	[ "$(kc -C -t d1 -o beginning -e -q -f '%o\n' | wc -l)" = 2 ]
}

@test "evdlq ls, ls --json and stats on a dead-letter topic" {
	mksrc
	fail_all d2 2>/dev/null
	K="kafka://$KAFKA_BROKERS/d2"
	run --separate-stderr sh -c "evdlq ls $K | sed -E 's/ +[0-9]+s / Ns /'"
	assert_status 0
	assert_stdout "OFFSET   ORIGINAL   TYPE                     STREAM               ATTEMPTS   AGE ERROR
0        0          OrderPlaced              order-7                     1 Ns exit status 3
1        1          OrderPaid                order-8                     1 Ns exit status 3"
	assert_stderr ""
	run --separate-stderr sh -c "evdlq ls --json $K | jq -c '[.offset, .state, .group, .source.log, .source.offset, .type, .stream, .attempts, .error, .stage]'"
	assert_status 0
	assert_stdout '[0,"open","g","src",0,"OrderPlaced","order-7",1,"exit status 3","handler"]
[1,"open","g","src",1,"OrderPaid","order-8",1,"exit status 3","handler"]'
	run --separate-stderr sh -c "evdlq stats --type OrderPaid $K | grep -v '^oldest'"
	assert_status 0
	assert_stdout "open:       1
resolved:   0
discarded:  0
open by type:
           1  OrderPaid
open by stage:
           1  handler
open by error:
           1  exit status 3
open by age:
           1  under 1 hour
           0  1 hour to 1 day
           0  1 to 7 days
           0  over 7 days"
}

@test "evdlq show on a dead-letter topic: the letter, its state and its original event" {
	mksrc
	fail_all d3 2>/dev/null
	K="kafka://$KAFKA_BROKERS/d3"
	run --separate-stderr evdlq show "$K" 0
	assert_status 0
	assert_stderr ""
	[ "${lines[0]}" = "dead letter 0: open, 1 attempt" ]
	run --separate-stderr sh -c "evdlq show --json $K 1 | jq -c '[.state, .attempts, .letter.offset, .letter.type, .letter.data.original.id, .letter.data.originalTopic, .letter.data.exceptionStacktrace]'"
	assert_status 0
	assert_stdout '["open",1,1,"DeadLetter","e2","src","no stock for e2\n"]'
	run --separate-stderr evdlq show "$K" 5
	assert_status 66
	assert_stdout ""
	assert_stderr "evdlq: no dead letter at offset 5 of '$K'"
}

@test "evdlq retry on a dead-letter topic: outcomes are records in the topic" {
	mksrc
	fail_all d4 2>/dev/null
	K="kafka://$KAFKA_BROKERS/d4"
	run --separate-stderr evdlq retry --offset 0 --backoff 10ms \
		--exec 'cat >/dev/null; echo "$EV_DLQ_OFFSET $EV_OFFSET $EV_ID" >>ran' "$K"
	assert_status 0
	assert_stdout "resolved 0 (OrderPlaced)"
	assert_stderr "evdlq: 1 resolved, 0 still open"
	[ "$(cat ran)" = "0 0 e1" ]
	# the handler a letter names is not run from a topic: anyone who may
	# write to the topic could name one
	run --separate-stderr evdlq retry --retries 1 --backoff 10ms "$K"
	assert_status 64
	assert_stdout ""
	assert_stderr "evdlq: retry on a dead-letter topic needs --exec CMD: the handler a letter names comes from whoever may write to the topic
Usage: evdlq retry [--dry-run] [--exec CMD] [--retries N] [--backoff DURATION]
                   [--backoff-max DURATION] [--timeout DURATION]
                   [--schemas DIR] [--ref-dir [PREFIX=]DIR]... [SELECTORS]
                   DLQ
SELECTORS: [--offset A..B] [--type GLOB] [--stream GLOB] [--error REGEX]
           [--older-than DURATION] [--group NAME]
Try 'evdlq --help' for more information."
	# a handler that fails again: on record, and the letter stays open
	run --separate-stderr evdlq retry --retries 1 --backoff 10ms \
		--exec 'echo "no stock for $EV_ID" >&2; exit 3' "$K"
	assert_status 1
	assert_stdout ""
	assert_stderr "no stock for e2
no stock for e2
evdlq: still open: 1 (OrderPaid) after 2 attempts: exit status 3
evdlq: 0 resolved, 1 still open"
	run --separate-stderr records_of d4 2 '[.offset, .key, (.payload | fromjson | .letter, .attempts)]'
	assert_stdout "[2,\"deadletter:g:$(evctl info src --json | jq -r .id):0:1\",0,1]
[3,\"deadletter:g:$(evctl info src --json | jq -r .id):1:1\",1,2]"
	run --separate-stderr records_of d4 2 '.headers as $h | [range(0; $h | length; 2) | select($h[.] == "ce_type") | $h[. + 1]] | .[]'
	assert_stdout '"DeadLetterResolved"
"DeadLetterRetryFailed"'
	run --separate-stderr sh -c "evdlq ls --all --json $K | jq -c '[.offset, .state, .attempts]'"
	assert_status 0
	assert_stdout '[0,"resolved",2]
[1,"open",3]'
	# a dry run writes nothing
	run --separate-stderr evdlq retry --dry-run "$K"
	assert_status 0
	assert_stdout "would retry 1 (OrderPaid order-8) with: echo \"no stock for \$EV_ID\" >&2; exit 3"
	[ "$(kc -C -t d4 -o beginning -e -q -f '%o\n' | wc -l)" = 4 ]
}

@test "evdlq purge on a dead-letter topic: a discard record with the reason" {
	mksrc
	fail_all d5 2>/dev/null
	K="kafka://$KAFKA_BROKERS/d5"
	run --separate-stderr evdlq purge --reason "bad data" --dry-run --type OrderPaid "$K"
	assert_status 0
	assert_stdout "would discard 1 (OrderPaid)"
	assert_stderr ""
	run --separate-stderr evdlq purge --reason "bad data" --type OrderPaid "$K"
	assert_status 0
	assert_stdout "discarded 1 (OrderPaid)"
	assert_stderr "evdlq: 1 discarded"
	run --separate-stderr records_of d5 2 '[.offset, (.payload | fromjson | .letter, .reason)]'
	assert_stdout '[2,1,"bad data"]'
	run --separate-stderr sh -c "evdlq ls --all --json $K | jq -c '[.offset, .state, .reason]'"
	assert_stdout '[0,"open",null]
[1,"discarded","bad data"]'
	# evtail reads the marks as evlog events
	run --separate-stderr sh -c "evtail kafka://$KAFKA_BROKERS/d5 | jq -c '[.offset, .type]'"
	assert_status 0
	assert_stdout '[0,"OrderPlaced"]
[1,"OrderPaid"]
[2,"DeadLetterDiscarded"]'
}

@test "evtail --dlq kafka: an event dead-lettered again is the next round" {
	mksrc
	fail_all d6 g --state-dir s1 2>/dev/null
	# the same group from the start again (another state directory)
	run --separate-stderr fail_all d6 g --state-dir s2
	assert_status 0
	run --separate-stderr sh -c "evdlq ls --json kafka://$KAFKA_BROKERS/d6 | jq -r .id | sed 's/:[0-9a-f]*:/:ID:/'"
	assert_stdout "deadletter:g:ID:0:1
deadletter:g:ID:1:1
deadletter:g:ID:0:2
deadletter:g:ID:1:2"
}

@test "evdlq on a topic: another producer's letters are reported and purged, other partitions skipped" {
	K="kafka://$KAFKA_BROKERS/d7"
	printf 'v1\n' | kc -P -t d7 -p 0 -k key1 -H kafka_dlt-original-topic=orders \
		-H kafka_dlt-exception-message=boom
	printf 'x\n' | kc -P -t d7 -p 0 -k plain
	run --separate-stderr evdlq ls "$K"
	assert_status 0
	assert_stdout ""
	assert_stderr "evdlq: skipped the dead letter at offset 0: another producer's dead letter, with no evlog_letter header; 'evdlq purge' discards it"
	# shown as evtail reads the record
	run --separate-stderr sh -c "evdlq show --json $K 0 | jq -c '[.state, .letter.offset, .letter.type, .letter.data, .letter.meta.kafka.key]'"
	assert_status 0
	assert_stdout '["open",0,"kafka.record","v1","key1"]'
	run --separate-stderr evdlq purge --reason "not ours" "$K"
	assert_status 0
	assert_stdout "discarded 0 (malformed)"
	assert_stderr "evdlq: skipped the dead letter at offset 0: another producer's dead letter, with no evlog_letter header; 'evdlq purge' discards it
evdlq: 1 discarded"
	run --separate-stderr evdlq ls --all "$K"
	assert_status 0
	assert_stderr ""
	# records in other partitions are not read
	printf 'a\nb\n' | kc -P -t wide -p 2
	run --separate-stderr evdlq ls "kafka://$KAFKA_BROKERS/wide"
	assert_status 0
	assert_stdout ""
	assert_stderr "evdlq: skipped 2 records in partitions other than 0 of 'kafka://$KAFKA_BROKERS/wide': evlog writes its letters and marks to partition 0"
}

@test "evdlq on a topic: hostile evlog_letter headers are malformed letters, never marks" {
	K="kafka://$KAFKA_BROKERS/d12"
	printf 'x\n' | kc -P -t d12 -p 0 -H 'evlog_letter=not json'
	printf 'x\n' | kc -P -t d12 -p 0 \
		-H 'evlog_letter={"id":"z1","type":"Other","stream":"s","time":"2025-01-01T00:00:00Z","data":{}}'
	# a resolution of letter 0 where a letter goes: it resolves nothing
	printf 'x\n' | kc -P -t d12 -p 0 \
		-H 'evlog_letter={"id":"z2","type":"DeadLetterResolved","stream":"s","time":"2025-01-01T00:00:00Z","data":{"letter":0}}'
	# another producer's letter that is not an event either
	printf 'x\n' | kc -P -t d12 -p 0 -H kafka_dlt-original-topic=o -H ce_id=1 -H ce_specversion=1.0
	warn="evdlq: skipped the dead letter at offset 0: its evlog_letter header is not an event; 'evdlq purge' discards it
evdlq: skipped the dead letter at offset 1: its evlog_letter header is not a DeadLetter event; 'evdlq purge' discards it
evdlq: skipped the dead letter at offset 2: its evlog_letter header is not a DeadLetter event; 'evdlq purge' discards it
evdlq: skipped the dead letter at offset 3: another producer's dead letter, with no evlog_letter header; 'evdlq purge' discards it"
	run --separate-stderr evdlq ls "$K"
	assert_status 0
	assert_stdout ""
	assert_stderr "$warn"
	run --separate-stderr evdlq show "$K" 0
	assert_status 0
	[ "${lines[0]}" = "dead letter 0: open, 0 attempts" ]
	run --separate-stderr evdlq show "$K" 3
	assert_status 65
	assert_stdout ""
	assert_stderr "$warn
evdlq: the record at offset 3 of '$K' is not an event"
	run --separate-stderr evdlq purge --reason junk "$K"
	assert_status 0
	assert_stdout "discarded 0 (malformed)
discarded 1 (malformed)
discarded 2 (malformed)
discarded 3 (malformed)"
}

@test "evdlq and evtail --dlq on a topic with a record of too many headers: a malformed letter, not an unreadable topic" {
	mksrc
	K="kafka://$KAFKA_BROKERS/d14"
	fail_all d14 g1 2>/dev/null
	# more headers than evlog takes (1024)
	hs=()
	for i in $(seq 1030); do
		hs+=(-H "h$i=v")
	done
	printf 'x\n' | kc -P -t d14 -p 0 "${hs[@]}"
	warn="evdlq: skipped the dead letter at offset 2: it has more than 1024 headers; 'evdlq purge' discards it"
	run --separate-stderr sh -c "evdlq ls $K | wc -l"
	assert_status 0
	assert_stdout "3"
	assert_stderr "$warn"
	# the sink reads the topic for the rounds: it goes on
	run --separate-stderr fail_all d14 g2
	assert_status 0
	assert_stderr "no stock for e1
no stock for e2
evtail: 0 handled, 2 dead-lettered, 0 skipped"
	run --separate-stderr evdlq purge --reason junk "$K"
	assert_status 0
	assert_stdout "discarded 0 (OrderPlaced)
discarded 1 (OrderPaid)
discarded 2 (malformed)
discarded 3 (OrderPlaced)
discarded 4 (OrderPaid)"
	assert_stderr "$warn
evdlq: 5 discarded"
	run --separate-stderr evdlq ls "$K"
	assert_status 0
	assert_stdout ""
	assert_stderr ""
}

@test "evtail --dlq kafka: a letter bigger than message.max.bytes says so, and -X message.max.bytes lets it through" {
	# 600 KB of data: the letter carries it twice (value and evlog_letter)
	python3 -c 'import json; print(json.dumps({"id": "h1", "type": "T", "stream": "s", "data": {"pad": "y" * 600000}}))' |
		evpub -c huge
	run --separate-stderr timeout 60 evtail huge --group g --retries 0 \
		--exec 'cat >/dev/null; exit 3' --dlq "kafka://$KAFKA_BROKERS/d15" $KAFKA_FAST
	assert_status 74
	assert_stdout ""
	[[ ${stderr_lines[0]} == "evtail: cannot write the dead letter of offset 0: kafka '$KAFKA_BROKERS': topic 'd15': the letter is "*" bytes, more than message.max.bytes (1000000): raise it with -X message.max.bytes=N (the topic's max.message.bytes too)" ]]
	# not committed: with a bigger limit, the next run dead-letters it
	run --separate-stderr timeout 60 evtail huge --group g --retries 0 \
		--exec 'cat >/dev/null; exit 3' --dlq "kafka://$KAFKA_BROKERS/d15" $KAFKA_FAST \
		-X message.max.bytes=3000000
	assert_status 0
	assert_stderr "evtail: 0 handled, 1 dead-lettered, 0 skipped"
	run --separate-stderr sh -c "evdlq ls --json kafka://$KAFKA_BROKERS/d15 | jq -c '[.offset, .id]'"
	assert_status 0
	assert_stdout "[0,\"deadletter:g:$(evctl info huge --json | jq -r .id):0:1\"]"
}

@test "evtail --dlq kafka: what it does not take, or cannot reach, is an error" {
	mksrc
	run --separate-stderr evtail src --group g --exec true --dlq kafka://nohost/d8
	assert_status 64
	assert_stdout ""
	[ "${stderr_lines[0]}" = "evtail: --dlq: kafka address 'kafka://nohost/d8': broker 'nohost': missing port (HOST:PORT)" ]
	run --separate-stderr evtail src --group g --exec true --dlq-policy stream \
		--dlq "kafka://$KAFKA_BROKERS/d8"
	assert_status 64
	assert_stdout ""
	[ "${stderr_lines[0]}" = "evtail: --dlq-policy stream: a dead-letter topic does not park streams; give a DLQLOG directory" ]
	# a topic that does not exist: nothing is read, no group is made
	run --separate-stderr evtail src --group g --exec true --dlq "kafka://$KAFKA_BROKERS/nope" $KAFKA_FAST
	assert_status 66
	assert_stdout ""
	assert_stderr "evtail: --dlq: kafka '$KAFKA_BROKERS': no topic 'nope'"
	# an unreachable cluster: an error within --kafka-timeout
	run --separate-stderr timeout 20 evtail src --group g --exec true \
		--dlq kafka://127.0.0.1:1/d8 --kafka-timeout 1s
	assert_status 74
	assert_stdout ""
	[[ $stderr == "evtail: --dlq: kafka '127.0.0.1:1': no metadata within 1000 ms (--kafka-timeout): "* ]]
	# a bad property: librdkafka's message
	run --separate-stderr evtail src --group g --exec true --dlq "kafka://$KAFKA_BROKERS/d8" -X no.such=1
	assert_status 64
	assert_stdout ""
	[ "${stderr_lines[0]}" = "evtail: -X: No such configuration property: \"no.such\"" ]
	# without a topic, -X still needs a kafka log
	run --separate-stderr evtail src -X acks=1
	assert_status 64
	[ "${stderr_lines[0]}" = "evtail: -X needs a kafka://HOST:PORT/TOPIC LOG" ]
}

@test "evdlq on a topic: errors" {
	mkdir -p ldlq
	run --separate-stderr evdlq ls -X acks=1 ldlq
	assert_status 64
	assert_stdout ""
	[ "${stderr_lines[0]}" = "evdlq: -X needs a kafka://HOST:PORT/TOPIC DLQ" ]
	# a bad -X after a selector (under SANITIZE=address: nothing leaks)
	for cmd in ls stats "purge --reason r" "retry"; do
		run --separate-stderr evdlq $cmd --error x -X noequals ldlq
		assert_status 64
		assert_stdout ""
		[ "${stderr_lines[0]}" = "evdlq: -X 'noequals': expected PROPERTY=VALUE" ]
	done
	run --separate-stderr evdlq ls "kafka://$KAFKA_BROKERS/nope"
	assert_status 66
	assert_stdout ""
	assert_stderr "evdlq: kafka '$KAFKA_BROKERS': no topic 'nope'"
	run --separate-stderr evdlq stats --kafka-timeout soon "kafka://$KAFKA_BROKERS/d9"
	assert_status 64
	[ "${stderr_lines[0]}" = "evdlq: --kafka-timeout: 'soon' is not a duration such as 500ms or 10s" ]
	run --separate-stderr evdlq purge --reason x -X no.such=1 "kafka://$KAFKA_BROKERS/d9"
	assert_status 64
	[ "${stderr_lines[0]}" = "evdlq: -X: No such configuration property: \"no.such\"" ]
	run --separate-stderr evdlq ls "kafka://$KAFKA_BROKERS"
	assert_status 64
	[ "${stderr_lines[0]}" = "evdlq: kafka address 'kafka://$KAFKA_BROKERS': missing topic (kafka://HOST:PORT[,HOST:PORT...]/TOPIC)" ]
	# an unreachable cluster: an error within --kafka-timeout, never a hang
	start=$(date +%s)
	run --separate-stderr timeout 20 evdlq ls --kafka-timeout 1s kafka://127.0.0.1:1/d9
	assert_status 74
	assert_stdout ""
	[[ $stderr == "evdlq: kafka '127.0.0.1:1': no metadata within 1000 ms (--kafka-timeout): "* ]]
	[ $(($(date +%s) - start)) -lt 10 ]
	# an empty topic has no letters
	run --separate-stderr evdlq ls --kafka-config /dev/null "kafka://$KAFKA_BROKERS/d9"
	assert_status 0
	assert_stdout ""
	assert_stderr ""
}

@test "evdlq on a topic whose leader is down: exit 74 within --kafka-timeout, nothing marked" {
	mksrc
	fail_all d13 2>/dev/null
	K="kafka://$KAFKA_BROKERS/d13"
	kafka_ctl "leader d13 0 1" "down 1"
	start=$(date +%s)
	# (3s: one bootstrap broker down, the metadata comes from another)
	run --separate-stderr timeout 30 evdlq ls --kafka-timeout 3s "$K"
	st=$status err=$stderr
	run --separate-stderr timeout 30 evdlq purge --reason x --kafka-timeout 3s "$K"
	st2=$status err2=$stderr out2=$output
	kafka_ctl "up 1"
	[ $(($(date +%s) - start)) -lt 20 ]
	echo "$err"
	[ "$st" = 74 ]
	[ "$err" = "evdlq: kafka '$KAFKA_BROKERS': topic 'd13': no record and no end within 3000 ms (--kafka-timeout)" ]
	echo "$err2"
	[ "$st2" = 74 ]
	[ "$out2" = "" ]
	[ "$err2" = "$err" ]
	run --separate-stderr sh -c "evdlq ls --all --json $K | jq -c '[.offset, .state]'"
	assert_status 0
	assert_stdout '[0,"open"]
[1,"open"]'
}

@test "evtail --dlq kafka from a Kafka source: the letter names the real partition and offset" {
	K="kafka://$KAFKA_BROKERS"
	printf '%s\n' \
		'{"id":"a1","type":"A","stream":"s1","key":"k1","data":{"n":1}}' \
		'{"id":"b1","type":"B","stream":"s2","key":"k2","data":{"n":2}}' \
		'{"id":"c1","type":"C","stream":"s3","key":"k3","data":{"n":3}}' |
		evpub "$K/src3"
	run --separate-stderr timeout 60 evtail "$K/src3" --group g --retries 0 \
		--exec 'cat >/dev/null; [ "$EV_TYPE" != A ] || { echo bad A >&2; exit 3; }' \
		--dlq "$K/d10" $KAFKA_FAST -X session.timeout.ms=6000 -X heartbeat.interval.ms=500
	if [ "$status" = 64 ]; then
		skip "consumer groups or dead-letter topics on a Kafka source are not in this build: ${stderr_lines[0]}"
	fi
	assert_status 0
	assert_stderr "bad A
evtail: 2 handled, 1 dead-lettered, 0 skipped"
	# where kcat finds a1
	where=$(kc -C -t src3 -o beginning -e -q -f '%p %o %k\n' | awk '$3 == "k1" { print $1, $2 }')
	[ "${where% *}" != 0 ] # murmur2: not partition 0, so the test tells
	run --separate-stderr sh -c "evdlq ls --json $K/d10 | jq -r '[.id, .source.logId, .source.offset, .type] | join(\" \")'"
	assert_status 0
	assert_stdout "deadletter:g:src3/${where% *}:${where#* }:1 src3/${where% *} ${where#* } A"
	run --separate-stderr headers_of d10 0
	h=$output
	run jq -c '[."__connect.errors.topic", ."__connect.errors.partition", ."__connect.errors.offset", ."kafka_dlt-original-topic", ."kafka_dlt-original-timestamp-type", (.evlog_letter | fromjson | .data.originalPartition)]' <<<"$h"
	assert_stdout "[\"src3\",\"${where% *}\",\"${where#* }\",\"src3\",\"CreateTime\",${where% *}]"
	run hex_header "$h" kafka_dlt-original-partition
	assert_stdout "$(printf '%08x' "${where% *}")"
}

@test "evtail --dlq kafka: a cluster that goes away mid-run is exit 74 within --kafka-timeout, the event uncommitted" {
	mksrc
	ctl=$BATS_FILE_TMPDIR/kafka-ctl
	# the handler of the second event takes every broker down
	cat >h.sh <<HEOF
#!/bin/sh
cat >/dev/null
if [ "\$EV_OFFSET" = 1 ]; then
	printf 'down 1\ndown 2\ndown 3\n' >"$ctl/ctl.tmp" && mv "$ctl/ctl.tmp" "$ctl/ctl"
	sleep 0.5
fi
exit 3
HEOF
	chmod +x h.sh
	start=$(date +%s)
	run --separate-stderr timeout 60 evtail src --group g --exec ./h.sh --retries 0 \
		--dlq "kafka://$KAFKA_BROKERS/d11" --kafka-timeout 2s $KAFKA_FAST
	kafka_ctl up\ 1 up\ 2 up\ 3
	assert_status 74
	assert_stdout ""
	assert_stderr "evtail: cannot write the dead letter of offset 1: kafka '$KAFKA_BROKERS': topic 'd11': 1 of 2 events not delivered: Local: Message timed out
evtail: 0 handled, 1 dead-lettered, 0 skipped"
	[ $(($(date +%s) - start)) -lt 20 ]
	# the first letter is there, the second event is not committed: a
	# run with the cluster back dead-letters it
	run --separate-stderr fail_all d11
	assert_status 0
	assert_stderr "no stock for e2
evtail: 0 handled, 1 dead-lettered, 0 skipped"
	run --separate-stderr sh -c "evdlq ls --json kafka://$KAFKA_BROKERS/d11 | jq -c '[.offset, .source.offset]'"
	assert_stdout '[0,0]
[1,1]'
}
