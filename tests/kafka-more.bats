#!/usr/bin/env bats
# What used to be errors on Kafka logs (issue 14): evpub --schemas --dlq
# into a dead-letter log or topic, --on-error dlq from a Kafka source
# (letters with the record's partition and offset), evtail --from-version
# on a topic; and the three that stay errors, each with its reason.
# Against librdkafka's mock cluster (tests/kafka-mock) and Debian's kcat;
# skips, saying why, without librdkafka-dev or kcat.
load helper
load kafka

# every topic the file uses: the mock cluster has no CreateTopics
setup_file() {
	kafka_start p1:1 p2:1 p3:1 p4:1 dl1:1 dl2:1 dl3:1 dl4:1 dl5:1 dl6:1 tr:3 u1:2 u2:2 u3:2 u4:2 v1:1 v2:2 v3:1 e1:1
}

teardown_file() {
	kafka_stop
}

EVREPLAY_USAGE="Usage: evreplay [options] LOG
       evreplay --rewrite [--upcast PATH] LOG --rewrite-to NEWLOG
       evreplay --rewrite [--upcast PATH] --in-place LOG
Try 'evreplay --help' for more information."

# A registry: OrderPlaced 1 (amount >= 0), and four orders, the third
# invalid (amount -1).
local_setup() {
	mkdir -p schemas/OrderPlaced
	cat >schemas/OrderPlaced/1.json <<'EOF'
{"type": "object", "properties": {"amount": {"type": "integer", "minimum": 0}}}
EOF
	cat >in.ndjson <<'EOF'
{"type":"OrderPlaced","id":"o1","stream":"order-1","data":{"amount":5}}
{"type":"OrderPlaced","id":"o2","stream":"order-2","data":{"amount":7}}
{"type":"OrderPlaced","id":"o3","stream":"order-3","data":{"amount":-1}}
{"type":"OrderPlaced","id":"o4","stream":"order-4","data":{"amount":9}}
EOF
	ERR3="evpub: stdin:3: OrderPlaced (schema 1): /data/amount: must be >= 0 (schemas/OrderPlaced/1.json#/properties/amount/minimum)"
	K="kafka://$KAFKA_BROKERS"
}

# the ids of the records of topic $1, partition 0, one line
ids_of() {
	kc -C -t "$1" -p 0 -o beginning -e -q -f '%k\n' | tr '\n' ' '
}

# the headers of the record at offset $2 of topic $1 as one JSON object
headers_of() {
	kc -C -t "$1" -p 0 -o "$2" -c 1 -e -q -J |
		jq -c '[.headers as $h | range(0; $h | length; 2) | {($h[.]): $h[. + 1]}] | add'
}

# the letters of topic $2 whose original topic is $1: Connect's offset
# header and the original id, one line each, by offset
letters_from() {
	kc -C -t "$2" -o beginning -e -q -J |
		jq -r --arg t "$1" '[.headers as $h | range(0; $h | length; 2) | {($h[.]): $h[. + 1]}] | add |
			select(."kafka_dlt-original-topic" == $t) |
			"\(."__connect.errors.offset") \(.evlog_letter | fromjson | .data.original.id)"' | sort -n
}

# header $2 of the JSON headers $1 as hex bytes
hex_header() {
	jq -j --arg k "$2" '.[$k]' <<<"$1" | od -An -tx1 | tr -d ' \n'
}

# ------------------------------------------------------------ evpub --dlq

@test "evpub kafka --schemas --dlq DLQLOG: invalid events become letters naming the topic, the rest are delivered, exit 0" {
	run --separate-stderr evpub --schemas schemas --dlq dlq "$K/p1" $KAFKA_FAST <in.ndjson
	assert_status 0
	assert_stdout ""
	assert_stderr "$ERR3
evpub: 3 events delivered to '$K/p1'; 1 invalid event dead-lettered to 'dlq'"
	run --separate-stderr ids_of p1
	assert_stdout "order-1 order-2 order-4 "
	run --separate-stderr sh -c 'evdlq show --json dlq 0 | jq -c ".letter | [.id, .data.original.id, .data.originalTopic, .data.originalLogId, .data.originalOffset, .data.source, .data.exceptionFqcn]"'
	assert_status 0
	assert_stdout "[\"deadletter:schema:p1:o3:1\",\"o3\",\"$K/p1\",\"p1\",null,\"stdin:3\",\"evlog.SchemaInvalid\"]"
	# a second run writes the next round
	run --separate-stderr evpub --schemas schemas --dlq dlq "$K/p1" $KAFKA_FAST <in.ndjson
	assert_status 0
	run --separate-stderr sh -c 'evtail --template "{id}" dlq'
	assert_stdout "deadletter:schema:p1:o3:1
deadletter:schema:p1:o3:2"
}

@test "evpub kafka --schemas --dlq kafka://: letters are records with Spring's and Connect's headers; rounds count the topic's letters" {
	run --separate-stderr evpub --schemas schemas --dlq "$K/dl1" "$K/p2" $KAFKA_FAST <in.ndjson
	assert_status 0
	assert_stdout ""
	assert_stderr "$ERR3
evpub: 3 events delivered to '$K/p2'; 1 invalid event dead-lettered to '$K/dl1'"
	# the original key and value
	run --separate-stderr kc -C -t dl1 -o beginning -e -q -f '%p %o %k %s\n'
	assert_stdout '0 0 order-3 {"amount":-1}'
	run --separate-stderr headers_of dl1 0
	assert_status 0
	h=$output
	run jq -c '[."kafka_dlt-original-topic", ."kafka_dlt-original-consumer-group",
		."kafka_dlt-exception-fqcn", ."__connect.errors.stage",
		."__connect.errors.exception.message", has("kafka_dlt-original-offset"),
		(.evlog_letter | fromjson | .id, .data.source)]' <<<"$h"
	assert_stdout '["p2","","evlog.SchemaInvalid","VALUE_CONVERTER","OrderPlaced (schema 1): /data/amount: must be >= 0 (schemas/OrderPlaced/1.json#/properties/amount/minimum)",false,"deadletter:schema:p2:o3:1","stdin:3"]'
	# the argument form, the next round of the same event
	run --separate-stderr evpub --schemas schemas --dlq "$K/dl1" "$K/p2" OrderPlaced --id o3 amount:=-2 $KAFKA_FAST
	assert_status 0
	assert_stderr "evpub: OrderPlaced (schema 1): /data/amount: must be >= 0 (schemas/OrderPlaced/1.json#/properties/amount/minimum)
evpub: 0 events delivered to '$K/p2'; 1 invalid event dead-lettered to '$K/dl1'"
	run --separate-stderr sh -c "evdlq ls --json '$K/dl1' $KAFKA_FAST | jq -c '[.offset, .id, .state]'"
	assert_status 0
	assert_stdout '[0,"deadletter:schema:p2:o3:1","open"]
[1,"deadletter:schema:p2:o3:2","open"]'
}

@test "evpub LOG --schemas --dlq kafka://: a local log's letters go to the topic, -X for it" {
	run --separate-stderr evpub -c --schemas schemas --dlq "$K/dl2" l.evlog $KAFKA_FAST <in.ndjson
	assert_status 0
	assert_stdout ""
	assert_stderr "$ERR3
evpub: 3 events appended; 1 invalid event dead-lettered to '$K/dl2'"
	[ "$(evtail --template '{id}' l.evlog | tr '\n' ' ')" = "o1 o2 o4 " ]
	run --separate-stderr headers_of dl2 0
	run jq -r '.evlog_letter | fromjson | .data.originalTopic' <<<"$output"
	assert_stdout "$PWD/l.evlog"
	[ ! -e kafka: ]
}

@test "evpub --dlq on kafka: errors" {
	run --separate-stderr evpub --schemas schemas --dlq "$K/p3" "$K/p3" $KAFKA_FAST <in.ndjson
	assert_status 64
	assert_stdout ""
	assert_stderr "evpub: --dlq: '$K/p3' is LOG itself
$EVPUB_USAGE"
	run --separate-stderr evpub --schemas schemas --dlq kafka://nohost/x "$K/p3" $KAFKA_FAST <in.ndjson
	assert_status 64
	assert_stderr "evpub: --dlq: kafka address 'kafka://nohost/x': broker 'nohost': missing port (HOST:PORT)
$EVPUB_USAGE"
	# a topic that does not exist: nothing is delivered
	run --separate-stderr evpub --schemas schemas --dlq "$K/nope" "$K/p3" $KAFKA_FAST <in.ndjson
	assert_status 66
	assert_stdout ""
	assert_stderr "evpub: --dlq: kafka '$KAFKA_BROKERS': no topic 'nope'"
	run --separate-stderr ids_of p3
	assert_stdout ""
	# --dlq still needs --schemas
	run --separate-stderr evpub --dlq d.evlog "$K/p3" $KAFKA_FAST <in.ndjson
	assert_status 64
	assert_stderr "evpub: --require-schemas, --formats, --ref-dir and --dlq need --schemas DIR
$EVPUB_USAGE"
	# -X still needs a kafka log somewhere
	run --separate-stderr evpub --schemas schemas --dlq d.evlog -c l.evlog -X acks=1 <in.ndjson
	assert_status 64
	assert_stderr "evpub: -X needs a kafka://HOST:PORT/TOPIC LOG
$EVPUB_USAGE"
	[ ! -e d.evlog ]
}

@test "evdlq retry: a schema letter of a kafka log is left open, saying to publish its event again" {
	evpub --schemas schemas --dlq dlq "$K/p4" $KAFKA_FAST <in.ndjson 2>/dev/null
	evpub --schemas schemas --dlq "$K/dl3" "$K/p4" $KAFKA_FAST <in.ndjson 2>/dev/null
	mkdir -p fixed/OrderPlaced
	echo '{"type": "object"}' >fixed/OrderPlaced/1.json
	run --separate-stderr evdlq retry --schemas fixed dlq
	assert_status 1
	assert_stdout ""
	assert_stderr "evdlq: still open: 0: valid now, but its log is the kafka topic '$K/p4': publish its event again with evpub, then purge the letter (evdlq(1) KAFKA)
evdlq: 0 resolved, 1 still open"
	run --separate-stderr evdlq retry --exec true "$K/dl3" $KAFKA_FAST
	assert_status 1
	assert_stdout ""
	assert_stderr "evdlq: 1 schema letter left open: publish its event again with evpub, then purge it (evdlq(1) KAFKA)
evdlq: 0 resolved, 1 still open"
	run --separate-stderr evdlq purge --reason republished --offset 0 "$K/dl3" $KAFKA_FAST
	assert_status 0
	run --separate-stderr sh -c "evdlq ls --json --all '$K/dl3' $KAFKA_FAST | jq -r .state"
	assert_stdout "discarded"
}

# ------------------------------------------------------------ --on-error dlq

# topic $1 (2 partitions): g1 and x1 with key a (partition 0 by murmur2),
# x2 and g2 with key d (partition 1); x1 and x2 cannot be upcast by up/
# (their data is a string).  PA and PB: the partitions of a and d.
upcast_topic() {
	printf '%s\n' \
		'{"id":"g1","type":"OrderCreated","key":"a","data":{"amount":1}}' \
		'{"id":"x1","type":"OrderCreated","key":"a","data":"oops"}' \
		'{"id":"x2","type":"OrderCreated","key":"d","data":"oops"}' \
		'{"id":"g2","type":"OrderCreated","key":"d","data":{"amount":2}}' |
		evpub "$K/$1" $KAFKA_FAST
	mkdir -p up
	printf 'type OrderCreated\nfrom 1\n  default data.currency "USD"\n' >up/o.upcast
	# where each went
	PA=$(kc -C -t "$1" -o beginning -e -q -f '%k %p %o\n' | awk '$1 == "a" { print $2; exit }')
	PB=$(kc -C -t "$1" -o beginning -e -q -f '%k %p %o\n' | awk '$1 == "d" { print $2; exit }')
	[ "$PA" != "$PB" ]
}

FAILMSG="OrderCreated version 1: step up/o.upcast:3: data is a string, not an object or array"

@test "evtail kafka --on-error dlq DLQLOG: letters carry the record's partition and offset; a second read is the next round" {
	upcast_topic u1
	run --separate-stderr sh -c "evtail --upcast up --on-error dlq --dlq d.evlog '$K/u1' $KAFKA_FAST | jq -r .id | sort"
	assert_status 0
	assert_stdout "g1
g2"
	assert_stderr "evtail: 2 events could not be upcast and were dead-lettered to 'd.evlog'"
	run --separate-stderr sh -c 'evtail d.evlog | jq -c "[.data.original.id, .id, .data.originalTopic, .data.originalLogId, .data.originalPartition, .data.originalOffset, .data.exceptionFqcn, .data.exceptionMessage]" | sort'
	assert_status 0
	assert_stdout "[\"x1\",\"deadletter::u1/$PA:1:1\",\"$K/u1\",\"u1/$PA\",$PA,1,\"evlog.UpcastFailed\",\"offset $PA:1: $FAILMSG\"]
[\"x2\",\"deadletter::u1/$PB:0:1\",\"$K/u1\",\"u1/$PB\",$PB,0,\"evlog.UpcastFailed\",\"offset $PB:0: $FAILMSG\"]"
	run --separate-stderr sh -c 'evdlq ls --json d.evlog | jq -c "[.state, .source.offset, .type]" | sort'
	assert_stdout '["open",0,"OrderCreated"]
["open",1,"OrderCreated"]'
	# evreplay does the same, and the rounds go on
	run --separate-stderr evreplay --upcast up --on-error dlq --dlq d.evlog "$K/u1" $KAFKA_FAST
	assert_status 0
	assert_stderr "evreplay: 2 events could not be upcast and were dead-lettered to 'd.evlog'"
	run --separate-stderr sh -c 'evtail --template "{id}" d.evlog | sort'
	assert_stdout "deadletter::u1/$PA:1:1
deadletter::u1/$PA:1:2
deadletter::u1/$PB:0:1
deadletter::u1/$PB:0:2"
}

@test "evtail kafka --on-error dlq kafka://: letters in the topic name the original partition and offset, stage TRANSFORMATION" {
	upcast_topic u2
	run --separate-stderr sh -c "evtail --upcast up --on-error dlq --dlq '$K/dl4' '$K/u2' $KAFKA_FAST -o count"
	assert_status 0
	assert_stdout 2
	assert_stderr "evtail: 2 events could not be upcast and were dead-lettered to '$K/dl4'"
	# x1's letter
	off=$(kc -C -t dl4 -o beginning -e -q -f '%o %k\n' | awk '$2 == "a" { print $1 }')
	run --separate-stderr headers_of dl4 "$off"
	h=$output
	run jq -c '[."kafka_dlt-original-topic", ."__connect.errors.partition",
		."__connect.errors.offset", ."__connect.errors.stage",
		."kafka_dlt-exception-fqcn", (.evlog_letter | fromjson | .id)]' <<<"$h"
	assert_stdout "[\"u2\",\"$PA\",\"1\",\"TRANSFORMATION\",\"evlog.UpcastFailed\",\"deadletter::u2/$PA:1:1\"]"
	run hex_header "$h" kafka_dlt-original-partition
	assert_stdout "0000000$PA"
	run hex_header "$h" kafka_dlt-original-offset
	assert_stdout "0000000000000001"
	# a second read: the next round, counted from the topic
	run --separate-stderr evtail --upcast up --on-error dlq --dlq "$K/dl4" "$K/u2" $KAFKA_FAST -o count
	assert_status 0
	run --separate-stderr sh -c "evdlq ls --json '$K/dl4' $KAFKA_FAST | jq -r .id | sort"
	assert_stdout "deadletter::u2/$PA:1:1
deadletter::u2/$PA:1:2
deadletter::u2/$PB:0:1
deadletter::u2/$PB:0:2"
}

@test "evtail --on-error dlq kafka:// from a local log: the letters name the log's offsets" {
	upcast_topic u3
	evtail "$K/u3" $KAFKA_FAST | evpub -c src.evlog
	run --separate-stderr evtail --upcast up --on-error dlq --dlq "$K/dl4" src.evlog $KAFKA_FAST -o count
	assert_stderr "evtail: 2 events could not be upcast and were dead-lettered to '$K/dl4'"
	assert_status 0
	assert_stdout 2
	# x2 and x1, at offsets 0 and 3 of src.evlog (as evtail named it)
	run --separate-stderr letters_from src.evlog dl4
	assert_status 0
	[ "${#lines[@]}" -eq 2 ]
	[ "$(evtail --template '{offset} {id}' src.evlog | grep ' x' | tr '\n' ' ')" = "$(tr '\n' ' ' <<<"$output")" ]
}

@test "evreplay --dlq kafka://: a handler's and an upcaster's letters of a Kafka source, with partition and offset" {
	upcast_topic u4
	# short session timeouts; a group's join on the mock can take seconds
	run --separate-stderr evreplay --group rg --exec 'cat >/dev/null; exit 3' --retries 0 \
		--dlq "$K/dl5" "$K/u4" $KAFKA_FAST -X session.timeout.ms=6000 \
		-X heartbeat.interval.ms=500 --kafka-timeout 30s
	assert_status 0
	assert_stdout ""
	assert_stderr "evreplay: 0 handled, 4 dead-lettered, 0 skipped"
	run --separate-stderr letters_from u4 dl5
	assert_status 0
	[ "${#lines[@]}" -eq 4 ]
	off=$(kc -C -t dl5 -o beginning -e -q -f '%o %k\n' | awk '$2 == "d" { print $1; exit }')
	run --separate-stderr headers_of dl5 "$off"
	run jq -c '[."__connect.errors.partition", ."__connect.errors.stage", ."kafka_dlt-original-consumer-group", (.evlog_letter | fromjson | .data.originalPartition)]' <<<"$output"
	assert_stdout "[\"$PB\",\"TASK_PUT\",\"rg\",$PB]"
	# an upcaster's, without --exec
	run --separate-stderr evreplay --upcast up --on-error dlq --dlq "$K/dl6" "$K/u4" $KAFKA_FAST
	assert_status 0
	assert_stderr "evreplay: 2 events could not be upcast and were dead-lettered to '$K/dl6'"
	run --separate-stderr letters_from u4 dl6
	assert_stdout "0 x2
1 x1"
	# a dead-letter topic does not park streams
	run --separate-stderr evreplay --group rg2 --exec true --dlq "$K/dl6" --dlq-policy stream v.evlog
	assert_status 64
	assert_stderr "evreplay: --dlq-policy stream: a dead-letter topic does not park streams; give a DLQLOG directory
$EVREPLAY_USAGE"
}

# ------------------------------------------------------------ --from-version

# order-1 and order-2, versions 1 to 4, in a local log replayed to topic $1
versioned_topic() {
	local i
	for i in 1 2 3 4; do
		echo "{\"id\":\"s$i\",\"type\":\"T\",\"stream\":\"order-1\",\"data\":{\"i\":$i}}"
		echo "{\"id\":\"z$i\",\"type\":\"T\",\"stream\":\"order-2\",\"data\":{\"i\":$i}}"
	done | evpub -c v.evlog
	evreplay v.evlog --to-log "$K/$1" $KAFKA_FAST 2>/dev/null
}

@test "evtail kafka --from-version: the stream's events from version N, in each partition's order" {
	versioned_topic v2
	run --separate-stderr evtail --stream order-1 --from-version 3 --template '{id} {version}' "$K/v2" $KAFKA_FAST
	assert_status 0
	assert_stdout "s3 3
s4 4"
	assert_stderr ""
	# as a local log gives it
	run --separate-stderr evtail --stream order-2 --from-version 2 --template '{id} {version}' v.evlog
	local_out=$output
	run --separate-stderr evtail --stream-exact order-2 --from-version 2 --template '{id} {version}' "$K/v2" $KAFKA_FAST
	assert_status 0
	assert_stdout "$local_out"
	# past the last version: nothing
	run --separate-stderr evtail --stream order-1 --from-version 9 "$K/v2" $KAFKA_FAST
	assert_status 0
	assert_stdout ""
	assert_stderr ""
}

@test "evtail kafka --from-version -f: from the start of every partition, then what comes" {
	versioned_topic v1
	evtail --stream order-1 --from-version 4 -f --template '{id} {version}' "$K/v1" $KAFKA_FAST >out 2>err &
	pid=$!
	wait_for_lines out 1 30
	echo '{"id":"s5","type":"T","stream":"order-1","version":5}' | evpub "$K/v1" $KAFKA_FAST
	wait_for_lines out 2 30
	kill "$pid"
	wait "$pid" || true
	[ "$(cat out)" = "s4 4
s5 5" ]
	[ ! -s err ]
}

@test "evtail kafka --from-version: an event of the stream without a version is an error (65), never left out" {
	versioned_topic v3
	echo '{"id":"nv","type":"T","stream":"order-2"}' | evpub "$K/v3" $KAFKA_FAST
	off=$(kc -C -t v3 -o beginning -e -q -f '%o %k\n' | tail -n 1 | cut -d' ' -f1)
	run --separate-stderr evtail --stream order-2 --from-version 3 --template '{id}' "$K/v3" $KAFKA_FAST
	assert_status 65
	assert_stdout "z3
z4"
	assert_stderr "evtail: record 0:$off of '$K/v3': event 'nv' of stream 'order-2' has no version: --from-version takes the versions the events of a kafka log carry (ce_sequence)"
	# another stream's events are not looked at
	run --separate-stderr evtail --stream order-1 --from-version 4 --template '{id}' "$K/v3" $KAFKA_FAST
	assert_status 0
	assert_stdout "s4"
}

@test "evtail kafka --from-version: usage errors" {
	run --separate-stderr evtail --from-version 2 "$K/e1" $KAFKA_FAST
	assert_status 64
	assert_stdout ""
	assert_stderr "evtail: --from-version needs one exact --stream NAME or --stream-exact NAME
$EVTAIL_USAGE"
	for o in "-n 2" "--from 0:1"; do
		run --separate-stderr evtail --stream s --from-version 2 $o "$K/e1" $KAFKA_FAST
		assert_status 64
		assert_stdout ""
		assert_stderr "evtail: --from-version cannot be combined with --from or -n
$EVTAIL_USAGE"
	done
	run --separate-stderr evtail --stream s --from-version 2 --group g "$K/e1" $KAFKA_FAST
	assert_status 64
	assert_stderr "evtail: --from-version cannot be combined with --group or --cursor-file
$EVTAIL_USAGE"
}

# ------------------------------------------------------------ --trace

# a flow c1 in topic tr (3 partitions): c1 -> c2 -> c3, c4 an orphan, u1
# another flow; c1 and c2 in stream order-1, c3 and c4 with keys of
# their own
trace_topic() {
	printf '%s\n' \
		'{"id":"c1","type":"OrderPlaced","stream":"order-1","time":"2026-01-01T00:00:00Z","meta":{"correlationId":"c1"}}' \
		'{"id":"c2","type":"InventoryReserved","stream":"order-1","time":"2026-01-01T00:00:01Z","meta":{"correlationId":"c1","causationId":"c1"}}' \
		'{"id":"c3","type":"PaymentTaken","key":"k1","time":"2026-01-01T00:00:02Z","meta":{"correlationId":"c1","causationId":"c2"}}' \
		'{"id":"c4","type":"Late","key":"k3","time":"2026-01-01T00:00:03Z","meta":{"correlationId":"c1","causationId":"zz"}}' \
		'{"id":"u1","type":"X","time":"2026-01-01T00:00:04Z","meta":{"correlationId":"u1"}}' |
		evpub "$K/tr" $KAFKA_FAST
}

# the partition:offset of the record whose ce_id is $1 in topic tr
place_of() {
	kc -C -t tr -o beginning -e -q -f '%p:%o %k %h\n' | grep "ce_id=$1," | cut -d' ' -f1
}

@test "evtail kafka --trace: the flow read from every partition, each event at PARTITION:OFFSET" {
	trace_topic
	run --separate-stderr evtail --trace c1 "$K/tr" $KAFKA_FAST
	assert_status 0
	assert_stderr ""
	assert_stdout "trace 'c1': 4 events, 2 roots, from 2026-01-01T00:00:00.000Z over 3s
+0ms      OrderPlaced order-1 #$(place_of c1)
 +1s +1s  └─ InventoryReserved order-1 #$(place_of c2)
 +2s +1s     └─ PaymentTaken #$(place_of c3)
 +3s      Late #$(place_of c4)  [orphan: caused by 'zz', which is not in this trace]"
	run --separate-stderr sh -c "evtail --trace c1 -o json '$K/tr' $KAFKA_FAST | jq -c '[.events, .roots, (.tree[0].event | .id, \"\\(.partition):\\(.offset)\"), .tree[0].children[0].event.id]'"
	assert_status 0
	assert_stdout "[4,2,\"c1\",\"$(place_of c1)\",\"c2\"]"
	run --separate-stderr sh -c "evtail --trace c1 -o chrome '$K/tr' $KAFKA_FAST | jq -c '[.traceEvents[] | select(.ph == \"X\") | .args | \"\\(.partition):\\(.offset)\"] | sort'"
	assert_status 0
	assert_stdout "$(for i in c1 c2 c3 c4; do place_of $i; done | sort | jq -R . | jq -sc .)"
	# an id no event has
	run --separate-stderr evtail --trace nope "$K/tr" $KAFKA_FAST
	assert_status 1
	assert_stdout ""
	assert_stderr "evtail: no event in '$K/tr' has the id or meta.correlationId 'nope'"
	# what --trace does not take, as on a local log
	run --separate-stderr evtail --trace c1 --type X "$K/tr"
	assert_status 64
	assert_stderr "evtail: --trace cannot be combined with --type
$EVTAIL_USAGE"
}

# ------------------------------------------------------------ still errors

@test "kafka: -i and --dlq-policy stream stay usage errors, each saying why" {
	run --separate-stderr evtail -i "$K/e1"
	assert_status 64
	assert_stdout ""
	assert_stderr "evtail: -i: not on a kafka log (its commands seek a local log by offset; evtail(1) KAFKA)
$EVTAIL_USAGE"
	run --separate-stderr evtail --group g --exec true --dlq d.evlog --dlq-policy stream "$K/e1"
	assert_status 64
	assert_stdout ""
	assert_stderr "evtail: --dlq-policy stream: not on a kafka log (a group on a topic orders events per key, not per stream; evtail(1) KAFKA)
$EVTAIL_USAGE"
	run --separate-stderr evreplay --group g --exec true --dlq d.evlog --dlq-policy stream "$K/e1"
	assert_status 64
	assert_stdout ""
	assert_stderr "evreplay: --dlq-policy stream: not on a kafka log (a group on a topic orders events per key, not per stream; evreplay(1) KAFKA)
$EVREPLAY_USAGE"
	[ ! -e d.evlog ]
}
