#!/usr/bin/env bats
# Kafka logs (issue 14), against librdkafka's mock cluster
# (tests/kafka-mock, three brokers) and Debian's kcat.  Skips, saying
# why, without librdkafka-dev or kcat.
load helper
load kafka

# every topic the file uses: the mock cluster has no CreateTopics
setup_file() {
	kafka_start orders:8 t1:1 murmur:8 t2:1 t3:1 t4:1 pub1:1 pub2:1 \
		pub3:1 pub4:1 pos:2 fol:1 rt:4 out:1 cnt:1 up1:2 sch:1 kcur:3 kfrom:2
}

# a reminder in a test of the topic it needs (made in setup_file)
kafka_start_topic() {
	:
}

teardown_file() {
	kafka_stop
}

@test "kafka-mock: three brokers, the topics named, with their partitions" {
	run --separate-stderr kc -L -J
	assert_status 0
	[ "$(jq '.brokers | length' <<<"$output")" = 3 ]
	[ "$(jq -r '.topics[] | select(.topic == "orders") | .partitions | length' <<<"$output")" = 8 ]
	[ "$(jq -r '.topics[] | select(.topic == "t1") | .partitions | length' <<<"$output")" = 1 ]
}

@test "kafka-mock: kcat produces and consumes through it" {
	printf 'a\nb\n' | kc -P -t t1
	run --separate-stderr kc -C -t t1 -o beginning -e -q
	assert_status 0
	assert_stdout "a
b"
}

@test "kafka-mock: a malformed topic argument is a usage error" {
	run --separate-stderr "$TOP/tests/kafka-mock" orders
	assert_status 64
	assert_stderr "kafka-mock: 'orders': expected TOPIC:PARTITIONS"
	assert_stdout ""
}

# ---------------------------------------------------------------- evpub

ORDERS='{"id":"e1","type":"OrderPlaced","stream":"order-7","version":1,"time":"2025-01-10T09:20:00Z","key":"k7","data":{"amount":1500}}
{"id":"e2","type":"MoneyDeposited","stream":"account-1","version":2,"time":"2025-01-10T09:21:00Z","data":{"amount":20},"meta":{"userId":"u-1"}}'

@test "evpub kafka: CloudEvents binary mode, read by kcat (keys, headers, values)" {
	kafka_start_topic pub1:1
	run --separate-stderr evpub "kafka://$KAFKA_BROKERS/pub1" <<<"$ORDERS"
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	run --separate-stderr kc -C -t pub1 -o beginning -e -q -f '%k|%h|%s\n'
	assert_status 0
	assert_stdout 'k7|ce_specversion=1.0,ce_id=e1,ce_source=urn:evlog:default,ce_type=OrderPlaced,ce_time=2025-01-10T09:20:00.000Z,ce_subject=order-7,ce_sequence=1,ce_partitionkey=k7,content-type=application/json|{"amount":1500}
account-1|ce_specversion=1.0,ce_id=e2,ce_source=urn:evlog:default,ce_type=MoneyDeposited,ce_time=2025-01-10T09:21:00.000Z,ce_subject=account-1,ce_sequence=2,ce_evlogmeta={"userId":"u-1"},content-type=application/json|{"amount":20}'
}

@test "evpub kafka: --kafka-format structured and envelope, as kcat sees them" {
	kafka_start_topic pub2:1
	run --separate-stderr evpub --kafka-format structured "kafka://$KAFKA_BROKERS/pub2" <<<"${ORDERS%%$'\n'*}"
	assert_status 0
	run --separate-stderr evpub --kafka-format envelope "kafka://$KAFKA_BROKERS/pub2" <<<"${ORDERS%%$'\n'*}"
	assert_status 0
	run --separate-stderr kc -C -t pub2 -o beginning -e -q -f '%k|%h|%s\n'
	assert_status 0
	assert_stdout 'k7|content-type=application/cloudevents+json|{"specversion":"1.0","id":"e1","source":"urn:evlog:default","type":"OrderPlaced","subject":"order-7","time":"2025-01-10T09:20:00.000Z","sequence":"1","partitionkey":"k7","data":{"amount":1500}}
k7|content-type=application/vnd.evlog+json|{"id":"e1","type":"OrderPlaced","stream":"order-7","version":1,"time":"2025-01-10T09:20:00.000Z","schema":1,"key":"k7","data":{"amount":1500}}'
	# and evtail reads every format back to the same event
	run --separate-stderr evtail "kafka://$KAFKA_BROKERS/pub2"
	assert_status 0
	assert_stdout '{"partition":0,"offset":0,"id":"e1","type":"OrderPlaced","stream":"order-7","version":1,"time":"2025-01-10T09:20:00.000Z","schema":1,"key":"k7","data":{"amount":1500}}
{"partition":0,"offset":1,"id":"e1","type":"OrderPlaced","stream":"order-7","version":1,"time":"2025-01-10T09:20:00.000Z","schema":1,"key":"k7","data":{"amount":1500}}'
}

@test "evpub kafka: --ack prints PARTITION:OFFSET ID once delivered; the argument form" {
	kafka_start_topic pub3:1
	run --separate-stderr evpub --ack "kafka://$KAFKA_BROKERS/pub3" <<<"$ORDERS"
	assert_status 0
	assert_stdout "0:0 e1
0:1 e2"
	run --separate-stderr evpub --ack --id a1 --stream s --key kk "kafka://$KAFKA_BROKERS/pub3" Thing n:=1
	assert_status 0
	assert_stdout "0:2 a1"
	run --separate-stderr kc -C -t pub3 -o 2 -e -q -f '%k %s\n'
	assert_stdout 'kk {"n":1}'
}

@test "evpub kafka: the same partition for a key as kcat -X partitioner=murmur2_random" {
	local k
	for k in $(seq 0 39); do
		printf '{"id":"i%s","type":"T","stream":"s","key":"key-%s","data":%s}\n' "$k" "$k" "$k"
	done >in.ndjson
	run --separate-stderr evpub "kafka://$KAFKA_BROKERS/orders" <in.ndjson
	assert_status 0
	for k in $(seq 0 39); do
		printf 'key-%s:%s\n' "$k" "$k"
	done | kc -P -t murmur -K: -X partitioner=murmur2_random
	kc -C -t orders -o beginning -e -q -f '%k %p\n' | sort >evpub.parts
	kc -C -t murmur -o beginning -e -q -f '%k %p\n' | sort >kcat.parts
	[ "$(wc -l <evpub.parts)" = 40 ]
	diff evpub.parts kcat.parts
	# and the keys spread over more than one partition
	[ "$(cut -d' ' -f2 evpub.parts | sort -u | wc -l)" -gt 4 ]
}

@test "evpub kafka: bad input lines stop it (65), what came before is delivered" {
	kafka_start_topic pub4:1
	run --separate-stderr evpub "kafka://$KAFKA_BROKERS/pub4" <<<'{"id":"a","type":"T","stream":"s"}
not json
{"id":"b","type":"T","stream":"s"}'
	assert_status 65
	assert_stderr_contains "evpub: stdin:2:"
	run --separate-stderr kc -C -t pub4 -o beginning -e -q -f '%h\n'
	assert_stdout_contains "ce_id=a"
	[ "${#lines[@]}" = 1 ]
}

# ---------------------------------------------------------------- evtail

@test "evtail kafka: kcat's records without headers become kafka.record events" {
	printf 'k1:{"a":1}\nk2:plain text\n' | kc -P -t t2 -K:
	run --separate-stderr evtail --fields id,type,stream,key,data,meta.kafka.key,meta.kafka.headers "kafka://$KAFKA_BROKERS/t2"
	assert_status 0
	assert_stderr ""
	assert_stdout '{"id":"kafka:t2:0:0","type":"kafka.record","stream":"t2","key":"k1","data":{"a":1},"meta":{"kafka":{"key":"k1"}}}
{"id":"kafka:t2:0:1","type":"kafka.record","stream":"t2","key":"k2","data":"plain text","meta":{"kafka":{"key":"k2"}}}'
	# filtered with --where like any event
	run --separate-stderr evtail --template '{data}' --where 'meta.kafka.key == "k2"' "kafka://$KAFKA_BROKERS/t2"
	assert_status 0
	assert_stdout "plain text"
}

@test "evtail kafka: kcat's records with headers: theirs in meta, CloudEvents ones as events" {
	printf 'v1\n' | kc -P -t t3 -k kx -H trace=abc -H tenant=7
	printf '{"x":1}\n' | kc -P -t t3 -H ce_specversion=1.0 -H ce_id=c-1 -H ce_source=/shop -H ce_type=com.shop.Order -H ce_time=2025-01-10T09:20:00Z -H content-type=application/json
	run --separate-stderr evtail --fields type,data,meta "kafka://$KAFKA_BROKERS/t3"
	assert_status 0
	assert_stderr ""
	assert_stdout_contains '{"type":"kafka.record","data":"v1","meta":{"kafka":{"key":"kx","timestamp":'
	assert_stdout_contains '"headers":{"trace":"abc","tenant":"7"}}}}'
	assert_stdout_contains '{"type":"com.shop.Order","data":{"x":1},"meta":{"source":"/shop"}}'
	run --separate-stderr evtail --type 'com.shop.*' --template '{id} {time}' "kafka://$KAFKA_BROKERS/t3"
	assert_status 0
	assert_stdout "c-1 2025-01-10T09:20:00.000Z"
}

@test "evtail kafka: incomplete CloudEvents headers are a clear error (65)" {
	printf '{"x":1}\n' | kc -P -t t4 -H ce_id=c-1 -H ce_type=T
	run --separate-stderr evtail "kafka://$KAFKA_BROKERS/t4"
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: record t4:0:0: incomplete CloudEvents headers: no 'ce_specversion'"
}

@test "evtail kafka: --from P:OFFSET (repeatable), start, end, @TIME; -n per partition" {
	kafka_start_topic pos:2
	local i
	for i in 0 1 2 3 4 5; do
		printf '{"id":"p%s","type":"T","stream":"s","key":"%s","time":"2025-01-10T09:0%s:00Z"}\n' "$i" "$((i % 2 == 0 ? 4 : 5))" "$i"
	done | evpub -a "kafka://$KAFKA_BROKERS/pos" >acks
	# the two keys went to two partitions
	[ "$(cut -d: -f1 acks | sort -u | wc -l)" = 2 ]
	run --separate-stderr evtail --template '{id}' "kafka://$KAFKA_BROKERS/pos"
	assert_status 0
	[ "${#lines[@]}" = 6 ]
	run --separate-stderr evtail --template '{id}' --from end "kafka://$KAFKA_BROKERS/pos"
	assert_status 0
	assert_stdout ""
	# -n 1: the last of each partition, merged by time
	run --separate-stderr evtail --template '{id}' -n 1 "kafka://$KAFKA_BROKERS/pos"
	assert_status 0
	assert_stdout "p4
p5"
	# @TIME through the offsets-for-times lookup.  The 2.0.2 mock
	# answers it with the end of each partition whatever the time, so
	# this checks only that evtail starts where kcat -o s@MS does
	run --separate-stderr evtail --template '{id}' --from @2025-01-10T09:04:00Z "kafka://$KAFKA_BROKERS/pos"
	assert_status 0
	[ "$(grep -c . <<<"$output")" = "$(kc -C -t pos -o s@1736499840000 -e -q | grep -c .)" ]
	# P:OFFSET: only the partitions named
	local p4 p5
	p4=$(grep ' p4$' acks | cut -d' ' -f1)
	p5=$(grep ' p5$' acks | cut -d' ' -f1)
	run --separate-stderr evtail --template '{id}' --from "$p4" --from "$p5" "kafka://$KAFKA_BROKERS/pos"
	assert_status 0
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "p4 p5 " ]
	run --separate-stderr evtail --template '{id}' --from "${p4%%:*}:1" "kafka://$KAFKA_BROKERS/pos"
	assert_status 0
	[ "${#lines[@]}" = 2 ]
	run --separate-stderr evtail --from 9:0 "kafka://$KAFKA_BROKERS/pos"
	assert_status 64
	assert_stderr "evtail: --from 9:0: topic 'pos' has partitions 0 to 1"
	run --separate-stderr evtail --from x:y "kafka://$KAFKA_BROKERS/pos"
	assert_status 64
	assert_stderr "evtail: --from: 'x:y' is not start, end, @TIME or PARTITION:OFFSET
$EVTAIL_USAGE"
}

@test "kafka --from: a position the log does not have is 64 with the message alone, as on a local log" {
	kafka_start_topic kfrom:2
	local K="kafka://$KAFKA_BROKERS/kfrom" t n
	echo '{"id":"a","type":"T"}' | evpub -c l.evlog
	for t in evtail evreplay "evproject --count"; do
		n=${t%% *}
		# past the end: the message, without the usage lines, on both
		run --separate-stderr $t --from 5 l.evlog
		assert_status 64
		assert_stdout ""
		assert_stderr "$n: --from: offset 5 is past the end of 'l.evlog' (offset 1)"
		run --separate-stderr $t --from 0:5 "$K" $KAFKA_FAST
		assert_status 64
		assert_stdout ""
		assert_stderr "$n: --from 0:5: offset 5 is past the end of partition 0 of topic 'kfrom' (offset 0)"
		# what else the topic rules out on opening
		run --separate-stderr $t --from 2:0 "$K" $KAFKA_FAST
		assert_status 64
		assert_stdout ""
		assert_stderr "$n: --from 2:0: topic 'kfrom' has partitions 0 to 1"
		run --separate-stderr $t --from @-1h --from 1:0 "$K" $KAFKA_FAST
		assert_status 64
		assert_stdout ""
		assert_stderr "$n: --from @TIME and --from PARTITION:OFFSET do not go together"
		# a value that is no position at all: the usage, on both
		run --separate-stderr $t --from nonsense l.evlog
		assert_status 64
		assert_stdout ""
		[ "${stderr_lines[0]}" = "$n: --from: 'nonsense' is not an offset, start, end or @TIME" ]
		[[ ${stderr_lines[1]} == "Usage: $n "* ]]
		run --separate-stderr $t --from nonsense "$K" $KAFKA_FAST
		assert_status 64
		assert_stdout ""
		[ "${stderr_lines[0]}" = "$n: --from: 'nonsense' is not start, end, @TIME or PARTITION:OFFSET" ]
		[[ ${stderr_lines[1]} == "Usage: $n "* ]]
		# a time out of range: the same message on both
		for l in l.evlog "$K"; do
			run --separate-stderr $t --from @3000-01-01 "$l" $KAFKA_FAST
			assert_status 64
			assert_stdout ""
			[ "${stderr_lines[0]}" = "$n: --from: '@3000-01-01' is out of range: times run from 1677-09-21T00:12:43.145224193Z to 2262-04-11T23:47:16.854775807Z" ]
			[[ ${stderr_lines[1]} == "Usage: $n "* ]]
		done
		# and so is a -X librdkafka does not take, found before the open
		run --separate-stderr $t -X no.such=1 "$K"
		assert_status 64
		assert_stdout ""
		[ "${stderr_lines[0]}" = "$n: -X: No such configuration property: \"no.such\"" ]
		[[ ${stderr_lines[1]} == "Usage: $n "* ]]
	done
}

@test "evtail kafka -f: the last of each partition, then what comes; SIGTERM ends it (0)" {
	kafka_start_topic fol:1
	evpub "kafka://$KAFKA_BROKERS/fol" <<<'{"id":"f1","type":"T","stream":"s"}'
	evtail -f --template '{id}' "kafka://$KAFKA_BROKERS/fol" >out 2>err &
	local pid=$!
	wait_for_output out "f1" 10
	evpub "kafka://$KAFKA_BROKERS/fol" <<<'{"id":"f2","type":"T","stream":"s"}'
	wait_for_output out "f2" 10
	kill -TERM "$pid"
	local st=0
	wait "$pid" || st=$?
	[ "$st" = 0 ]
	[ "$(cat out)" = "f1
f2" ]
	[ ! -s err ]
}

# ---------------------------------------------------------------- round trip

@test "kafka round trip: log -> Kafka -> log, identical in evtail -o json but for partition and offset" {
	kafka_start_topic rt:4
	evgen 300 --seed 7 >gen.ndjson
	evpub -c a.evlog <gen.ndjson
	evtail a.evlog | evpub "kafka://$KAFKA_BROKERS/rt"
	run --separate-stderr evtail "kafka://$KAFKA_BROKERS/rt"
	assert_status 0
	assert_stderr ""
	[ "${#lines[@]}" = 300 ]
	printf '%s\n' "$output" >k.json
	# back into a log: evpub ignores partition and offset
	evpub -c b.evlog <k.json
	evtail a.evlog | jq -c 'del(.offset)' | sort >a.sorted
	jq -c 'del(.offset, .partition)' k.json | sort >k.sorted
	evtail b.evlog | jq -c 'del(.offset)' | sort >b.sorted
	diff a.sorted k.sorted
	diff a.sorted b.sorted
	# a stream keeps its order within its partition
	jq -r '"\(.partition) \(.stream)"' k.json | sort -u | cut -d' ' -f2 | sort | uniq -d >split
	[ ! -s split ]
}

# ---------------------------------------------------------------- bad input

@test "kafka: malformed addresses are usage errors (64)" {
	run --separate-stderr evpub kafka://localhost/t </dev/null
	assert_status 64
	assert_stderr "evpub: kafka address 'kafka://localhost/t': broker 'localhost': missing port (HOST:PORT)
$EVPUB_USAGE"
	run --separate-stderr evtail kafka://h:1
	assert_status 64
	assert_stderr "evtail: kafka address 'kafka://h:1': missing topic (kafka://HOST:PORT[,HOST:PORT...]/TOPIC)
$EVTAIL_USAGE"
	run --separate-stderr evtail kafka://h:99999/t
	assert_status 64
	assert_stderr "evtail: kafka address 'kafka://h:99999/t': broker 'h:99999': invalid port '99999' (1 to 65535)
$EVTAIL_USAGE"
}

@test "kafka: a missing topic is a clear error (66), never created" {
	run --separate-stderr evtail "kafka://$KAFKA_BROKERS/nosuch"
	assert_status 66
	assert_stdout ""
	assert_stderr "evtail: kafka '$KAFKA_BROKERS': no topic 'nosuch'"
	run --separate-stderr evpub "kafka://$KAFKA_BROKERS/nosuch" <<<'{"id":"a","type":"T"}'
	assert_status 66
	assert_stderr "evpub: kafka '$KAFKA_BROKERS': no topic 'nosuch'"
	run --separate-stderr kc -L -J
	[ "$(jq '.topics | map(select(.topic == "nosuch")) | length' <<<"$output")" = 0 ]
}

@test "kafka: an unreachable cluster fails within --kafka-timeout (74), never hangs" {
	local t0=$SECONDS
	run --separate-stderr timeout 20 evtail --kafka-timeout 1s kafka://127.0.0.1:1/t
	assert_status 74
	assert_stderr "evtail: kafka '127.0.0.1:1': no metadata within 1000 ms (--kafka-timeout): Local: Broker transport failure"
	run --separate-stderr timeout 20 evpub --kafka-timeout 500ms kafka://127.0.0.1:1/t <<<'{"id":"a","type":"T"}'
	assert_status 74
	assert_stderr_contains "no metadata within 500 ms (--kafka-timeout)"
	[ $((SECONDS - t0)) -lt 8 ]
}

@test "kafka: an unknown -X property: librdkafka's message (64); --kafka-config files" {
	run --separate-stderr evtail -X no.such=1 "kafka://$KAFKA_BROKERS/t1"
	assert_status 64
	assert_stderr "evtail: -X: No such configuration property: \"no.such\"
$EVTAIL_USAGE"
	run --separate-stderr evpub -X acks "kafka://$KAFKA_BROKERS/t1" </dev/null
	assert_status 64
	assert_stderr "evpub: -X 'acks': expected PROPERTY=VALUE
$EVPUB_USAGE"
	printf '# kcat style\nclient.id = evlog-test\n\nno.such.prop=2\n' >k.properties
	run --separate-stderr evtail --kafka-config k.properties "kafka://$KAFKA_BROKERS/t1"
	assert_status 64
	assert_stderr "evtail: --kafka-config: 'k.properties': line 4: No such configuration property: \"no.such.prop\"
$EVTAIL_USAGE"
	printf 'client.id=evlog-test\n' >k.properties
	run --separate-stderr evtail --kafka-config k.properties --template '{id}' "kafka://$KAFKA_BROKERS/t1"
	assert_status 0
	printf 'oops\n' >k.properties
	run --separate-stderr evtail --kafka-config k.properties "kafka://$KAFKA_BROKERS/t1"
	assert_status 64
	assert_stderr "evtail: --kafka-config: 'k.properties': line 1: expected property=value
$EVTAIL_USAGE"
}

@test "kafka: options a kafka log lacks are errors, never no-ops; kafka options need one" {
	run --separate-stderr evpub --expect-version 1 "kafka://$KAFKA_BROKERS/t1" </dev/null
	assert_status 64
	assert_stderr "evpub: --expect-version: not on a kafka log (a kafka log keeps no stream versions to check)
$EVPUB_USAGE"
	run --separate-stderr evpub --partitions 2 "kafka://$KAFKA_BROKERS/t1" </dev/null
	assert_status 64
	assert_stderr "evpub: --partitions goes with --create
$EVPUB_USAGE"
	run --separate-stderr evtail --group g --state-dir sd "kafka://$KAFKA_BROKERS/t1"
	assert_status 64
	assert_stderr "evtail: --state-dir: not on a kafka log (a kafka group's offsets are kept by the cluster; evtail(1) KAFKA)
$EVTAIL_USAGE"
	run --separate-stderr evtail --group g --wait "kafka://$KAFKA_BROKERS/t1"
	assert_status 64
	assert_stderr "evtail: --wait: not on a kafka log (a kafka group is shared by its members, none holds it; evtail(1) KAFKA)
$EVTAIL_USAGE"
	run --separate-stderr evtail --to 5 "kafka://$KAFKA_BROKERS/t1"
	assert_status 64
	assert_stderr "evtail: --to: a kafka log has no single offset to stop at: --to takes PARTITION:OFFSET or @TIME there
$EVTAIL_USAGE"
	run --separate-stderr evpub -X acks=1 x.evlog </dev/null
	assert_status 64
	assert_stderr "evpub: -X needs a kafka://HOST:PORT/TOPIC LOG
$EVPUB_USAGE"
	run --separate-stderr evtail --kafka-timeout 1s x.evlog
	assert_status 64
	assert_stderr "evtail: --kafka-timeout needs a kafka://HOST:PORT/TOPIC LOG
$EVTAIL_USAGE"
	run --separate-stderr evpub --kafka-format avro "kafka://$KAFKA_BROKERS/t1" </dev/null
	assert_status 64
	assert_stderr "evpub: --kafka-format 'avro': expected binary, structured or envelope
$EVPUB_USAGE"
}

@test "evtail kafka: -o count, --count, -r, a closed pipe" {
	kafka_start_topic out:1
	printf '{"id":"o%s","type":"T","stream":"s"}\n' 1 2 3 | evpub "kafka://$KAFKA_BROKERS/out"
	run --separate-stderr evtail -o count "kafka://$KAFKA_BROKERS/out"
	assert_status 0
	assert_stdout 3
	run --separate-stderr evtail --count 2 --template '{id}' "kafka://$KAFKA_BROKERS/out"
	assert_status 0
	assert_stdout "o1
o2"
	run --separate-stderr evtail -r --template '{id}' "kafka://$KAFKA_BROKERS/out"
	assert_status 0
	assert_stdout "o3
o2
o1"
	run bash -c 'evtail "kafka://$KAFKA_BROKERS/out" | head -n 1; echo "${PIPESTATUS[0]}"'
	assert_status 0
	[ "${lines[1]}" = 0 ]
}

@test "evtail kafka --upcast: events at their current version, filters after; a bad set" {
	kafka_start_topic up1:2
	printf '{"id":"u%s","type":"OrderPlaced","stream":"o-%s","data":{"n":%s}}\n' 1 1 1 2 2 2 3 3 3 |
		evpub "kafka://$KAFKA_BROKERS/up1"
	mkdir up
	printf 'type OrderPlaced\nfrom 1\n  default data.currency "USD"\n  retype OrderCreated\n' >up/o.upcast
	run --separate-stderr evtail --upcast up --type OrderCreated --where 'data.n > 1' \
		--template '{id} {type} {schema} {data.currency}' "kafka://$KAFKA_BROKERS/up1"
	assert_status 0
	[ "$(sort <<<"$output")" = "u2 OrderCreated 2 USD
u3 OrderCreated 2 USD" ]
	# the stored type matches nothing once upcast
	run --separate-stderr evtail --upcast up --type OrderPlaced -o count "kafka://$KAFKA_BROKERS/up1"
	assert_status 0
	assert_stdout 0
	printf 'type X\nfrom 1\n  mvoe data.a data.b\n' >up/bad.upcast
	run --separate-stderr evtail --upcast up "kafka://$KAFKA_BROKERS/up1"
	assert_status 64
	[ -z "$output" ]
	assert_stderr "evtail: --upcast: up/bad.upcast:3: unknown operation 'mvoe'; did you mean 'move'?"
	rm up/bad.upcast
}

@test "evpub kafka --schemas: a line goes whole or stops the run (65); --skip-invalid" {
	kafka_start_topic sch:1
	mkdir -p schemas/T
	printf '{"type":"object","required":["n"],"properties":{"n":{"type":"integer"}}}\n' >schemas/T/1.json
	printf '%s\n' '{"id":"a","type":"T","data":{"n":1}}' '{"id":"b","type":"T","data":{"n":"x"}}' \
		'{"id":"c","type":"T","data":{"n":3}}' >in.ndjson
	run --separate-stderr evpub --schemas schemas "kafka://$KAFKA_BROKERS/sch" <in.ndjson
	assert_status 65
	assert_stderr "evpub: stdin:2: T (schema 1): /data/n: must be integer (schemas/T/1.json#/properties/n/type)"
	run --separate-stderr kc -C -t sch -o beginning -e -q -f '%h\n'
	[ "$(grep -o 'ce_id=[a-z]' <<<"$output" | tr '\n' ' ')" = "ce_id=a " ]
	run --separate-stderr evpub --skip-invalid --schemas schemas "kafka://$KAFKA_BROKERS/sch" <in.ndjson
	assert_status 65
	assert_stderr "evpub: stdin:2: T (schema 1): /data/n: must be integer (schemas/T/1.json#/properties/n/type)
evpub: 2 events delivered to 'kafka://$KAFKA_BROKERS/sch'; 1 invalid event skipped"
	run --separate-stderr evtail --template '{id}' "kafka://$KAFKA_BROKERS/sch"
	assert_status 0
	assert_stdout "a
a
c"
	# the argument form, checked the same way
	run --separate-stderr evpub --schemas schemas "kafka://$KAFKA_BROKERS/sch" T n:='"y"'
	assert_status 65
	assert_stderr "evpub: T (schema 1): /data/n: must be integer (schemas/T/1.json#/properties/n/type)"
}

@test "evpub kafka: -v counts what was delivered; --skip-invalid goes on (65); --dry-run sends nothing" {
	kafka_start_topic cnt:1
	run --separate-stderr evpub -v "kafka://$KAFKA_BROKERS/cnt" <<<"$ORDERS"
	assert_status 0
	assert_stderr "evpub: 2 events delivered to 'kafka://$KAFKA_BROKERS/cnt'"
	run --separate-stderr evpub --skip-invalid "kafka://$KAFKA_BROKERS/cnt" <<<'{"id":"a","type":"T"}
bad'
	assert_status 65
	assert_stderr "evpub: stdin:2:1: expected '{': an event is a JSON object
evpub: 1 event delivered to 'kafka://$KAFKA_BROKERS/cnt'; 1 invalid line"
	run --separate-stderr evpub --dry-run "kafka://$KAFKA_BROKERS/cnt" <<<"$ORDERS"
	assert_status 0
	run --separate-stderr evtail -o count "kafka://$KAFKA_BROKERS/cnt"
	assert_stdout 3
}

# ---------------------------------------------------------------- positions

# kcur: 3 partitions; each key k0, k1, k2 on a partition of its own is
# not promised, so the tests read the partitions from the acks
kcur_fill() {
	local i
	for i in $(seq 0 11); do
		printf '{"id":"c%s-%s","type":"T","stream":"s","key":"k%s","time":"2025-01-10T09:%02d:00Z"}\n' "$BATS_TEST_NUMBER" "$i" "$i" "$i"
	done | evpub -a "kafka://$KAFKA_BROKERS/kcur" >acks
	# PARTITION:OFFSET ID, sorted
	sort -t: -k1,1n -k2n acks >acks.sorted
}

@test "evtail kafka --cursor-file: one offset per partition; a second run reads only what came after" {
	kafka_start_topic kcur:3
	kcur_fill
	local K="kafka://$KAFKA_BROKERS/kcur" p o
	# the first run: everything, and the end of each partition
	run --separate-stderr evtail --cursor-file cur --template '{id}' "$K"
	assert_status 0
	assert_stderr ""
	[ "${#lines[@]}" = 12 ]
	# each partition's end (the mock removes nothing)
	want="evlog-cursor 1 topic=kcur next="
	for p in 0 1 2; do
		o=$(evtail -o count --from "$p:0" "$K")
		want="$want$p:$o,"
	done
	[ "$(cat cur)" = "${want%,}" ]
	# nothing new: nothing printed, the same cursor
	run --separate-stderr evtail --cursor-file cur --template '{id}' "$K"
	assert_status 0
	assert_stdout ""
	[ "$(cat cur)" = "${want%,}" ]
	# two more: only they
	printf '%s\n' '{"id":"n1","type":"T","stream":"s","key":"k1"}' \
		'{"id":"n2","type":"T","stream":"s","key":"k2"}' | evpub "$K"
	run --separate-stderr evtail --cursor-file cur --template '{id}' "$K"
	assert_status 0
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "n1 n2 " ]
	# --from is ignored when the file exists
	run --separate-stderr evtail --cursor-file cur --from start --template '{id}' "$K"
	assert_status 0
	assert_stdout ""
}

@test "evtail kafka --cursor-file: with --count and filters, the next run resumes after the last printed" {
	kafka_start_topic kcur:3
	local K="kafka://$KAFKA_BROKERS/kcur" p first
	# one partition alone: its records in order
	p=$(head -n 1 acks.sorted 2>/dev/null | cut -d: -f1)
	if [ -z "$p" ]; then
		kcur_fill
		p=$(head -n 1 acks.sorted | cut -d: -f1)
	fi
	first=$(evtail --template '{id}' --from "$p:0" "$K" | head -n 1)
	rm -f cur
	run --separate-stderr evtail --cursor-file cur --from "$p:0" --count 1 --template '{id}' "$K"
	assert_status 0
	assert_stdout "$first"
	[ "$(cat cur)" = "evlog-cursor 1 topic=kcur next=$p:1" ]
	# the partitions a cursor does not name are read from their start
	run --separate-stderr evtail --cursor-file cur --template '{id}' "$K"
	assert_status 0
	[ "$(grep -c . <<<"$output")" = "$(($(evtail -o count "$K") - 1))" ]
	if grep -qx "$first" <<<"$output"; then
		echo "read $first again" >&2
		return 1
	fi
}

@test "evtail kafka --to PARTITION:OFFSET: each partition named stops there; evreplay too" {
	kafka_start_topic kcur:3
	[ -s acks.sorted ] || kcur_fill
	local K="kafka://$KAFKA_BROKERS/kcur" p want
	p=$(head -n 1 acks.sorted | cut -d: -f1)
	want=$(evtail --template '{id}' --from "$p:0" "$K" | head -n 2)
	run --separate-stderr evtail --from "$p:0" --to "$p:1" --template '{id}' "$K"
	assert_status 0
	assert_stderr ""
	assert_stdout "$want"
	run --separate-stderr evreplay --from "$p:0" --to "$p:1" --template '{id}' "$K"
	assert_status 0
	assert_stdout "$want"
	# the others to their end: all but what partition p has past 1
	run --separate-stderr evtail --to "$p:0" -o count "$K"
	assert_status 0
	assert_stdout "$(($(evtail -o count "$K") - $(evtail -o count --from "$p:1" "$K")))"
	# with -f, the end once every partition read is at its --to
	run --separate-stderr timeout 20 evtail -f --from "$p:0" --to "$p:0" --template '{id}' "$K"
	assert_status 0
	assert_stdout "$(head -n 1 <<<"$want")"
}

@test "kafka positions: bad cursors and partitions are errors (65, 64) naming what is wrong" {
	kafka_start_topic kcur:3
	local K="kafka://$KAFKA_BROKERS/kcur"
	run --separate-stderr evtail --to 3:1 "$K"
	assert_status 64
	assert_stderr "evtail: --to 3:1: topic 'kcur' has partitions 0 to 2"
	run --separate-stderr evreplay --to 7:1 "$K"
	assert_status 64
	assert_stderr "evreplay: --to 7:1: topic 'kcur' has partitions 0 to 2"
	run --separate-stderr evtail --group g --to 0:1 "$K"
	assert_status 64
	assert_stderr "evtail: --to PARTITION:OFFSET: not with --group (a group's partitions move between its members)
$EVTAIL_USAGE"
	run --separate-stderr evreplay --group g --to 0:1 "$K"
	assert_status 64
	assert_stderr_line 0 "evreplay: --to PARTITION:OFFSET: not with --group (a group's partitions move between its members)"
	run --separate-stderr evtail -n 1 --cursor-file c "$K"
	assert_status 64
	assert_stderr "evtail: -n and --cursor-file cannot be combined
$EVTAIL_USAGE"
	# a local log's cursor given to a topic, and a topic's to a log
	printf '{"type":"T","stream":"s"}\n' | evpub -c local.evlog
	evtail --cursor-file lc local.evlog >/dev/null
	run --separate-stderr evtail --cursor-file lc "$K"
	assert_status 65
	assert_stderr "evtail: cursor file 'lc' belongs to the local log $(cut -d' ' -f3 lc | cut -d= -f2), not to kafka topic 'kcur'"
	assert_stdout ""
	echo 'evlog-cursor 1 topic=kcur next=0:0' >kc
	run --separate-stderr evtail --cursor-file kc local.evlog
	assert_status 65
	assert_stderr "evtail: cursor file 'kc' belongs to a kafka topic (kcur), not to a local log"
	echo 'evlog-cursor 1 topic=other next=0:0' >kc
	run --separate-stderr evtail --cursor-file kc "$K"
	assert_status 65
	assert_stderr "evtail: cursor file 'kc' belongs to kafka topic 'other', not to 'kcur'"
	echo 'evlog-cursor 1 topic=kcur next=0:0,5:1' >kc
	run --separate-stderr evtail --cursor-file kc "$K"
	assert_status 65
	assert_stderr "evtail: cursor file 'kc' names partition 5, but topic 'kcur' has partitions 0 to 2"
	echo 'evlog-cursor 1 topic=kcur next=1:99999' >kc
	run --separate-stderr evtail --cursor-file kc "$K"
	assert_status 65
	assert_stderr "evtail: cursor file 'kc' points to partition 1 offset 99999, past its end (offset $(evtail -o count --from 1:0 "$K"))"
	local bad
	for bad in 'evlog-cursor 1 topic=kcur next=0:1,' 'evlog-cursor 1 topic=kcur next=0:1,0:2' \
		'evlog-cursor 1 topic=kcur next=x:1' 'evlog-cursor 1 topic=kcur' 'garbage'; do
		printf '%s\n' "$bad" >kc
		run --separate-stderr evtail --cursor-file kc "$K"
		assert_status 65
		assert_stderr "evtail: cursor file 'kc' is not an evlog cursor"
	done
	# kc is left as it was
	[ "$(cat kc)" = garbage ]
}
