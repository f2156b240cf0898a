# tests/kafka.bash - a mock Kafka cluster (tests/kafka-mock, three brokers)
# for one bats file.  Load it with
#   load kafka
# and in setup_file:  kafka_start TOPIC:PARTITIONS...
#     in teardown_file: kafka_stop
# KAFKA_BROKERS then holds the bootstrap servers.  kafka_ctl CMD... sends
# fault commands to the cluster (tests/kafka-mock.c: down N, up N,
# leader TOPIC PART N, rtt N MS, errors APIKEY COUNT CODE, clear APIKEY, coordinator
# GROUP N), one per argument, and fails unless the mock ran them all.  Without librdkafka-dev
# (no tests/kafka-mock) or kcat, every test of the file skips, saying why.

# The size knob: EVLOG_KAFKA_SCALE (default 1) multiplies the event
# counts of the tests that use KAFKA_SCALE, for a longer run of the same
# faults (the mock keeps about 5 MiB a partition: up to 100 or so).
KAFKA_SCALE=${EVLOG_KAFKA_SCALE:-1}
case $KAFKA_SCALE in
'' | *[!0-9]* | 0) KAFKA_SCALE=1 ;;
esac

# librdkafka settings that keep the tests fast: no auto-created topics
# (the mock makes 4-partition ones), short timeouts
KAFKA_FAST="-X allow.auto.create.topics=false -X topic.metadata.refresh.interval.ms=1000"

kafka_start() {
	if [ ! -x "$TOP/tests/kafka-mock" ]; then
		skip "tests/kafka-mock is not built (librdkafka-dev missing? sh .ci/deps test)"
	fi
	if ! command -v kcat >/dev/null; then
		skip "kcat is not installed (sh .ci/deps test)"
	fi
	local out="$BATS_FILE_TMPDIR/kafka-mock.out" i
	mkdir -p "$BATS_FILE_TMPDIR/kafka-ctl"
	"$TOP/tests/kafka-mock" -C "$BATS_FILE_TMPDIR/kafka-ctl" "$@" >"$out" \
		2>"$BATS_FILE_TMPDIR/kafka-mock.err" &
	echo $! >"$BATS_FILE_TMPDIR/kafka-mock.pid"
	# topic creation in the mock can take seconds under load
	for i in $(seq 200); do
		if [ -s "$out" ]; then
			break
		fi
		sleep 0.1
	done
	KAFKA_BROKERS=$(head -n 1 "$out")
	if [ -z "$KAFKA_BROKERS" ]; then
		cat "$BATS_FILE_TMPDIR/kafka-mock.err" >&2
		echo "kafka_start: the mock cluster did not start" >&2
		kafka_stop
		return 1
	fi
	export KAFKA_BROKERS
}

kafka_stop() {
	local pidf="$BATS_FILE_TMPDIR/kafka-mock.pid" pid i
	[ -f "$pidf" ] || return 0
	pid=$(cat "$pidf")
	rm -f "$pidf"
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 30); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
}

# kcat against the mock, with a short timeout
kc() {
	timeout 20 kcat -b "$KAFKA_BROKERS" -X allow.auto.create.topics=false "$@"
}

kafka_ctl() {
	local d="$BATS_FILE_TMPDIR/kafka-ctl" i
	rm -f "$d/ctl.out"
	printf '%s\n' "$@" >"$d/ctl.tmp"
	mv "$d/ctl.tmp" "$d/ctl"
	for i in $(seq 200); do
		if [ -f "$d/ctl.out" ]; then
			cat "$d/ctl.out"
			grep -qx ok "$d/ctl.out"
			return
		fi
		sleep 0.05
	done
	echo "kafka_ctl: the mock did not answer" >&2
	return 1
}
