#!/usr/bin/env bats
# Kafka logs under faults injected into the mock cluster (tests/kafka-mock
# takes SIGUSR1: the next Produce requests fail with a broker error that
# librdkafka does not retry).  Its own cluster, so that the fault does
# not reach tests/kafka.bats.
load helper
load kafka

setup_file() {
	kafka_start f:2
}

teardown_file() {
	kafka_stop
}

@test "evpub kafka: a delivery failure is exit 74, naming the broker error and the count" {
	printf '{"id":"ok1","type":"T","stream":"s"}\n' >one.ndjson
	run --separate-stderr evpub --ack "kafka://$KAFKA_BROKERS/f" <one.ndjson
	assert_status 0
	assert_stdout_contains " ok1"
	kill -USR1 "$(cat "$BATS_FILE_TMPDIR/kafka-mock.pid")"
	sleep 0.2
	printf '{"id":"x%s","type":"T","stream":"s%s"}\n' 1 1 2 2 3 3 >three.ndjson
	run --separate-stderr timeout 30 evpub --ack -X message.timeout.ms=5000 "kafka://$KAFKA_BROKERS/f" <three.ndjson
	assert_status 74
	assert_stdout ""
	assert_stderr "evpub: kafka '$KAFKA_BROKERS': topic 'f': 3 of 3 events not delivered: Broker: Message size too large"
	# whatever was acked stays acked
	run --separate-stderr evtail --template '{id}' "kafka://$KAFKA_BROKERS/f"
	assert_status 0
	assert_stdout "ok1"
}
