#!/usr/bin/env bats
# Kafka logs (issue 14), against librdkafka's mock cluster
# (tests/kafka-mock, three brokers) and Debian's kcat.  Skips, saying
# why, without librdkafka-dev or kcat.
load helper
load kafka

setup_file() {
	kafka_start orders:8 t1:1
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
