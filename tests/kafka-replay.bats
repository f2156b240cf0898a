#!/usr/bin/env bats
# evreplay and evproject on Kafka logs (issue 14): --to-log
# kafka://.../TOPIC (the idempotent producer, --kafka-format, the replay
# marks, a group committing only what was delivered, what a topic lacks
# refused, delivery failures), against librdkafka's mock cluster
# (tests/kafka-mock, three brokers) and Debian's kcat.  Skips, saying
# why, without librdkafka-dev or kcat.
load helper
load kafka

# every topic the file uses: the mock cluster has no CreateTopics
setup_file() {
	kafka_start rt1:4 rt2:1 rt3:1 rt4:1 rt5:1 rt6:1 rtf:1
}

teardown_file() {
	kafka_stop
}

USAGE="Usage: evreplay [options] LOG
       evreplay --rewrite [--upcast PATH] LOG --rewrite-to NEWLOG
       evreplay --rewrite [--upcast PATH] --in-place LOG
Try 'evreplay --help' for more information."

usage_err() {
	printf '%s\n%s' "$1" "$USAGE"
}

# Six events, ids e0..e5, in streams order-1, account-1, order-2 and
# none; e1 with a key and meta.
local_setup() {
	cat >fx.ndjson <<'EOF'
{"id":"e0","type":"OrderPlaced","stream":"order-1","time":"2025-01-10T09:00:00Z","data":{"n":0}}
{"id":"e1","type":"PaymentMade","stream":"account-1","time":"2025-01-10T09:00:01Z","key":"acct","meta":{"userId":"u-1"},"data":{"n":1}}
{"id":"e2","type":"OrderPlaced","stream":"order-2","time":"2025-01-10T09:00:02Z","data":{"n":2}}
{"id":"e3","type":"OrderShipped","stream":"order-1","time":"2025-01-10T09:00:03Z","data":{"n":3}}
{"id":"e4","type":"Heartbeat","time":"2025-01-10T09:00:04Z"}
{"id":"e5","type":"OrderPlaced","stream":"order-1","time":"2025-01-10T09:00:05Z","data":{"n":5}}
EOF
	evpub -c a.evlog <fx.ndjson
}

# JSON lines on stdin without offset, partition and the replay marks,
# sorted by id: what a round trip must keep
plain() {
	jq -c 'del(.offset, .partition, .meta.replay, .meta.replayedAt)
		| if .meta == {} then del(.meta) else . end' | sort
}

# ------------------------------------------------------------ the target

@test "evreplay --to-log kafka: every event produced, ids, times, streams, keys, meta and data kept" {
	run --separate-stderr evreplay --to-log "kafka://$KAFKA_BROKERS/rt1" a.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	evtail a.evlog | plain >want
	run --separate-stderr evtail "kafka://$KAFKA_BROKERS/rt1"
	assert_status 0
	[ "${#lines[@]}" = 6 ]
	plain <<<"$output" >got
	diff want got
	# the key, else the stream, is the record key (kcat sees it)
	run --separate-stderr kc -C -t rt1 -o beginning -e -q -f '%k\n'
	assert_status 0
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "Heartbeat acct order-1 order-1 order-1 order-2 " ] ||
		[ "$(sort <<<"$output" | tr '\n' ' ')" = " acct order-1 order-1 order-1 order-2 " ]
	# one stream stays in one partition, in its order
	run --separate-stderr evtail --stream order-1 "kafka://$KAFKA_BROKERS/rt1"
	assert_status 0
	[ "$(jq .partition <<<"$output" | sort -u | wc -l)" = 1 ]
	[ "$(jq -r .id <<<"$output" | tr '\n' ' ')" = "e0 e3 e5 " ]
}

@test "evreplay --to-log kafka: marks on by default (a generated name), --mark NAME; a rerun produces again" {
	run --separate-stderr evreplay --to-log "kafka://$KAFKA_BROKERS/rt2" --stream account-1 a.evlog
	assert_status 0
	run --separate-stderr evreplay --to-log "kafka://$KAFKA_BROKERS/rt2" --mark fix-42 --stream account-1 a.evlog
	assert_status 0
	assert_stderr ""
	# a topic has no dedupe window: the same id twice, told apart by
	# the marks
	run --separate-stderr evtail --template '{id} {meta.replay} {meta.userId}' "kafka://$KAFKA_BROKERS/rt2"
	assert_status 0
	[ "${#lines[@]}" = 2 ]
	[[ "${lines[0]}" =~ ^e1\ replay-20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:]{8}Z\ u-1$ ]]
	[ "${lines[1]}" = "e1 fix-42 u-1" ]
	# the marks travel in ce_evlogmeta, as any meta does
	run --separate-stderr kc -C -t rt2 -o 1 -e -q -f '%h\n'
	assert_status 0
	assert_stdout_contains 'ce_id=e1,'
	assert_stdout_contains 'ce_evlogmeta={"userId":"u-1","replay":"fix-42","replayedAt":"'
}

@test "evreplay --to-log kafka: --kafka-format structured and envelope, as kcat sees them" {
	run --separate-stderr evreplay --to-log "kafka://$KAFKA_BROKERS/rt3" --kafka-format structured --mark m --from 0 --to 0 a.evlog
	assert_status 0
	run --separate-stderr evreplay --to-log "kafka://$KAFKA_BROKERS/rt3" --kafka-format envelope --mark m --from 0 --to 0 a.evlog
	assert_status 0
	run --separate-stderr evreplay --to-log "kafka://$KAFKA_BROKERS/rt3" --kafka-format binary --mark m --from 0 --to 0 a.evlog
	assert_status 0
	run --separate-stderr kc -C -t rt3 -o beginning -e -q -f '%k|%h|%s\n'
	assert_status 0
	[ "${#lines[@]}" = 3 ]
	[[ "${lines[0]}" == 'order-1|content-type=application/cloudevents+json|{"specversion":"1.0","id":"e0","source":"urn:evlog:default","type":"OrderPlaced","subject":"order-1","time":"2025-01-10T09:00:00.000Z","sequence":"1",'*'"replay":"m"'*'"data":{"n":0}}' ]]
	[[ "${lines[1]}" == 'order-1|content-type=application/vnd.evlog+json|{"id":"e0","type":"OrderPlaced","stream":"order-1","version":1,"time":"2025-01-10T09:00:00.000Z","schema":1,"data":{"n":0},"meta":{"replay":"m","replayedAt":"'*'"}}' ]]
	[[ "${lines[2]}" == 'order-1|ce_specversion=1.0,ce_id=e0,'*'content-type=application/json|{"n":0}' ]]
	# and every format reads back to the same event
	run --separate-stderr evtail "kafka://$KAFKA_BROKERS/rt3"
	assert_status 0
	[ "$(plain <<<"$output" | uniq | wc -l)" = 1 ]
}

@test "evreplay --to-log kafka: selection, --upcast and --rate on the way" {
	mkdir up
	cat >up/o.upcast <<'EOF'
type OrderPlaced
from 1
  default data.currency "USD"
  retype OrderCreated
EOF
	local t0=$SECONDS
	run --separate-stderr evreplay --to-log "kafka://$KAFKA_BROKERS/rt4" --upcast up --type 'Order*' --where 'data.n < 5' --rate 20/s a.evlog
	assert_status 0
	assert_stderr ""
	run --separate-stderr evtail --template '{id} {type} {schema} {data.currency}' "kafka://$KAFKA_BROKERS/rt4"
	assert_status 0
	assert_stdout "e0 OrderCreated 2 USD
e2 OrderCreated 2 USD
e3 OrderShipped 1 "
	[ $((SECONDS - t0)) -lt 20 ]
}

@test "evreplay --to-log kafka --group: commits only what the cluster acknowledged; a rerun resumes" {
	run --separate-stderr evreplay --to-log "kafka://$KAFKA_BROKERS/rt5" --group g1 --to 2 a.evlog
	assert_status 0
	run --separate-stderr evctl groups --json a.evlog
	assert_status 0
	[ "$(jq -r 'select(.group == "g1") | .next' <<<"$output")" = 3 ]
	run --separate-stderr evreplay --to-log "kafka://$KAFKA_BROKERS/rt5" --group g1 a.evlog
	assert_status 0
	run --separate-stderr evtail --template '{id}' "kafka://$KAFKA_BROKERS/rt5"
	assert_status 0
	assert_stdout "e0
e1
e2
e3
e4
e5"
}

@test "evreplay --to-log kafka --progress: the count delivered at the end" {
	run --separate-stderr evreplay --progress --to-log "kafka://$KAFKA_BROKERS/rt6" --mark p a.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr_contains "evreplay: 6 delivered to 'kafka://$KAFKA_BROKERS/rt6'"
}

# ------------------------------------------------------------ bad input

@test "evreplay --to-log kafka: what a topic lacks is refused, never ignored (64)" {
	run --separate-stderr evreplay --to-log "kafka://$KAFKA_BROKERS/rt6" --renumber a.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evreplay: --renumber: not into a kafka log (a kafka topic keeps no stream versions to follow on from)")"
	run --separate-stderr evreplay --to-log "kafka://$KAFKA_BROKERS/rt6" -c a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --create: creating kafka topics is not built yet")"
}

@test "evreplay: kafka options need a kafka log; --kafka-format needs a kafka target (64)" {
	evpub -c b.evlog </dev/null
	run --separate-stderr evreplay -X acks=1 --to-log b.evlog a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: -X needs a kafka://HOST:PORT/TOPIC log (LOG or --to-log)")"
	run --separate-stderr evreplay --kafka-timeout 1s a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --kafka-timeout needs a kafka://HOST:PORT/TOPIC log (LOG or --to-log)")"
	run --separate-stderr evreplay --kafka-format avro --to-log "kafka://$KAFKA_BROKERS/rt6" a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --kafka-format 'avro': expected binary, structured or envelope")"
	run --separate-stderr evreplay --kafka-timeout 0 --to-log "kafka://$KAFKA_BROKERS/rt6" a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --kafka-timeout: '0' is not a duration such as 500ms or 10s")"
	run --separate-stderr evreplay -X acks --to-log "kafka://$KAFKA_BROKERS/rt6" a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: -X 'acks': expected PROPERTY=VALUE")"
}

@test "evreplay --to-log kafka: a malformed address (64), a bad -X property (64), a missing topic (66)" {
	run --separate-stderr evreplay --to-log kafka://localhost/t a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --to-log: kafka address 'kafka://localhost/t': broker 'localhost': missing port (HOST:PORT)")"
	run --separate-stderr evreplay -X no.such=1 --to-log "kafka://$KAFKA_BROKERS/rt6" a.evlog
	assert_status 64
	assert_stderr "$(usage_err 'evreplay: -X: No such configuration property: "no.such"')"
	run --separate-stderr evreplay --to-log "kafka://$KAFKA_BROKERS/nosuch" a.evlog
	assert_status 66
	assert_stdout ""
	assert_stderr "evreplay: --to-log: kafka '$KAFKA_BROKERS': no topic 'nosuch'"
	run --separate-stderr kc -L -J
	[ "$(jq '.topics | map(select(.topic == "nosuch")) | length' <<<"$output")" = 0 ]
}

@test "evreplay --to-log kafka: an unreachable cluster fails within --kafka-timeout (74); a group is not taken" {
	local t0=$SECONDS
	run --separate-stderr timeout 20 evreplay --kafka-timeout 500ms --group g2 --to-log kafka://127.0.0.1:1/t a.evlog
	assert_status 74
	assert_stdout ""
	assert_stderr "evreplay: --to-log: kafka '127.0.0.1:1': no metadata within 500 ms (--kafka-timeout): Local: Broker transport failure"
	[ $((SECONDS - t0)) -lt 8 ]
	run --separate-stderr evctl groups a.evlog
	assert_status 0
	[[ "$output" != *g2* ]]
}

# last: the fault stays injected for the next Produce requests
@test "evreplay --to-log kafka: a delivery failure is exit 74, naming the broker error, the count and where" {
	kill -USR1 "$(cat "$BATS_FILE_TMPDIR/kafka-mock.pid")"
	sleep 0.2
	run --separate-stderr timeout 30 evreplay -X message.timeout.ms=5000 --group gf --to-log "kafka://$KAFKA_BROKERS/rtf" a.evlog
	assert_status 74
	assert_stdout ""
	assert_stderr "evreplay: --to-log 'kafka://$KAFKA_BROKERS/rtf': offset 0 of 'a.evlog' and after: kafka '$KAFKA_BROKERS': topic 'rtf': 6 of 6 events not delivered: Broker: Message size too large"
	# nothing committed: the group starts over
	run --separate-stderr evctl groups --json a.evlog
	assert_status 0
	[ "$(jq -r 'select(.group == "gf") | .next' <<<"$output")" = "" ] ||
		[ "$(jq -r 'select(.group == "gf") | .next' <<<"$output")" = 0 ]
}
