#!/usr/bin/env bats
# Kafka logs under faults injected into the mock cluster (issue 14
# section 5): request errors, leader changes, brokers down and back, the
# whole cluster gone.  kafka_ctl (tests/kafka.bash) sends the commands;
# tests/kafka-mock also takes SIGUSR1: the next 1000 Produce requests
# fail with a broker error that librdkafka does not retry.  Its own
# cluster, so that no fault reaches tests/kafka.bats; every test puts the
# brokers back up and their answers back on time, pass or fail.
load helper
load kafka

setup_file() {
	kafka_start idem:4 fol:2 part:2 down:1 gone:1 grp:2 grq:2 f:2
}

teardown_file() {
	kafka_stop
}

local_teardown() {
	local pid
	for pid in $(cat "$T"/*.pid 2>/dev/null); do
		kill -KILL "$pid" 2>/dev/null || true
	done
	# the SIGUSR1 test leaves its errors behind: it comes last
	if [ -f "$BATS_FILE_TMPDIR/kafka-mock.pid" ]; then
		kafka_ctl "up 1" "up 2" "up 3" "rtt 1 0" "rtt 2 0" "rtt 3 0" >/dev/null
	fi
}

# leader TOPIC PARTITION: the broker that leads it now
leader() {
	kc -L -J -t "$1" | jq -r --argjson p "$2" \
		'.topics[0].partitions[] | select(.partition == $p) | .leader'
}

# events PREFIX N: N events, ids PREFIX1 to PREFIXN, over 8 keys (data.n = i)
events() {
	local i
	for i in $(seq "$2"); do
		printf '{"id":"%s%d","type":"T","stream":"s","key":"k%d","data":{"n":%d}}\n' \
			"$1" "$i" "$((i % 8))" "$i"
	done
}

# ---------------------------------------------------------------- producing

@test "evpub kafka: retriable Produce errors are retried; every event exactly once, in order per key" {
	local n=$((500 * KAFKA_SCALE))
	events i "$n" >in.ndjson
	# the next 9 Produce requests fail: not the leader, timed out, not
	# enough replicas (all retriable: nothing was appended)
	kafka_ctl "errors 0 3 6" "errors 0 3 7" "errors 0 3 19"
	run --separate-stderr timeout 60 evpub --ack "kafka://$KAFKA_BROKERS/idem" <in.ndjson
	assert_status 0
	assert_stderr ""
	[ "${#lines[@]}" = "$n" ]
	printf '%s\n' "$output" >acks
	[ "$(cut -d' ' -f2 acks | sort -u | wc -l)" = "$n" ]
	# evpub met the errors: none is left for a producer that never retries
	printf 'probe\n' | kc -P -t idem -p 0 -X message.send.max.retries=0 -X enable.idempotence=false
	# kcat reads each id once, at the partition and offset acked
	kc -C -t idem -o beginning -e -q -f '%p:%o %h\n' |
		sed -n 's/^\([0-9]*:[0-9]*\) .*ce_id=\([^,]*\),.*/\1 \2/p' | sort >got
	[ "$(wc -l <got)" = "$n" ]
	[ "$(cut -d' ' -f2 got | sort -u | wc -l)" = "$n" ]
	sort acks | diff - got
	# and evtail reads them back in the order of each key
	evtail --type T --template '{key} {data.n}' "kafka://$KAFKA_BROKERS/idem" >keyed
	[ "$(wc -l <keyed)" = "$n" ]
	local k
	for k in 0 1 2 3 4 5 6 7; do
		grep "^k$k " keyed | cut -d' ' -f2 >nk
		sort -n -c nk
	done
}

@test "evpub kafka: a batch resent after a late answer is not appended twice (idempotence)" {
	skip "the 2.0.2 mock cluster does not check the idempotent producer's sequence numbers: a batch resent after socket.timeout.ms is appended again (299 of 300 events twice with enable.idempotence=true, none with it false); a real broker answers DUPLICATE_SEQUENCE_NUMBER"
	events late 300 >in.ndjson
	mkfifo in
	evpub -X socket.timeout.ms=700 "kafka://$KAFKA_BROKERS/gone" <in >acks 2>err &
	echo $! >evpub.pid
	exec 7>in
	head -n 1 in.ndjson >&7
	sleep 1 # connected: the slow answers come after the handshake
	kafka_ctl "rtt 1 1500" "rtt 2 1500" "rtt 3 1500"
	tail -n +2 in.ndjson >&7
	sleep 3
	kafka_ctl "rtt 1 0" "rtt 2 0" "rtt 3 0"
	exec 7>&-
	wait "$(cat evpub.pid)"
	[ "$(kc -C -t gone -o beginning -e -q -f '%h\n' | grep -o 'ce_id=late[0-9]*' | sort | uniq -d | wc -l)" = 0 ]
}

@test "evpub kafka: the cluster down mid-run: exit 74 naming the count not delivered; what was acked stays" {
	mkfifo in
	evpub --ack -X message.timeout.ms=3000 "kafka://$KAFKA_BROKERS/down" <in >acks 2>err &
	local pid=$!
	echo "$pid" >evpub.pid
	exec 7>in
	printf '{"id":"d1","type":"T","stream":"s"}\n' >&7
	printf '{"id":"d2","type":"T","stream":"s"}\n' >&7
	# delivered (evpub prints its acks at the end: see the --ack test)
	wait_for "[ \"\$(kc -C -t down -o beginning -e -q | wc -l)\" = 2 ]" 10 "2 records in 'down'"
	kafka_ctl "down 1" "down 2" "down 3"
	printf '{"id":"d3","type":"T","stream":"s"}\n' >&7
	printf '{"id":"d4","type":"T","stream":"s"}\n' >&7
	exec 7>&-
	local t0=$SECONDS st=0
	wait "$pid" || st=$?
	[ "$st" = 74 ]
	# message.timeout.ms, then librdkafka's once-a-second timeout scan
	[ $((SECONDS - t0)) -lt 25 ]
	[ "$(cut -d' ' -f2 acks)" = "d1
d2" ]
	[ "$(cat err)" = "evpub: kafka '$KAFKA_BROKERS': topic 'down': 2 of 4 events not delivered: Local: Message timed out" ]
	kafka_ctl "up 1" "up 2" "up 3"
	run --separate-stderr evtail --template '{id}' "kafka://$KAFKA_BROKERS/down"
	assert_status 0
	assert_stdout "d1
d2"
}

@test "evpub kafka: the cluster down mid-run fails within --kafka-timeout, never waits librdkafka's 300 s" {
	mkfifo in
	evpub --ack --kafka-timeout 2s "kafka://$KAFKA_BROKERS/down" <in >acks 2>err &
	local pid=$!
	echo "$pid" >evpub.pid
	exec 7>in
	printf '{"id":"t1","type":"T","stream":"s"}\n' >&7
	sleep 1
	kafka_ctl "down 1" "down 2" "down 3"
	printf '{"id":"t2","type":"T","stream":"s"}\n' >&7
	exec 7>&-
	local t0=$SECONDS st=0
	wait "$pid" || st=$?
	[ "$st" = 74 ]
	# within --kafka-timeout (2 s) and librdkafka's once-a-second
	# timeout scan (about 2.5 s at load 10; it took up to 10 s more
	# when a broker thread slept out its reconnect backoff): librdkafka
	# alone would wait its message.timeout.ms, 300 s
	[ $((SECONDS - t0)) -lt 10 ]
	grep -q "1 of 2 events not delivered" err
}

@test "evpub kafka --ack: each ack is printed once its delivery report arrives, not when stdin ends" {
	mkfifo in
	evpub --ack "kafka://$KAFKA_BROKERS/gone" <in >acks 2>err &
	echo $! >evpub.pid
	exec 7>in
	printf '{"id":"a1","type":"T","stream":"s"}\n' >&7
	wait_for_output acks '^0:[0-9]+ a1$' 10
	exec 7>&-
	wait "$(cat evpub.pid)"
}

# ---------------------------------------------------------------- consuming

@test "evtail -f kafka: survives a leader change and a broker restart; nothing lost, nothing twice" {
	events a 6 | evpub "kafka://$KAFKA_BROKERS/fol"
	evtail -f --template '{key} {data.n}' "kafka://$KAFKA_BROKERS/fol" >out 2>err &
	local pid=$! l0 l1
	echo "$pid" >evtail.pid
	wait_for_lines out 6 15
	# the leaders move to other brokers
	l0=$(leader fol 0)
	l1=$(leader fol 1)
	kafka_ctl "leader fol 0 $((l0 % 3 + 1))" "leader fol 1 $((l1 % 3 + 1))"
	[ "$(leader fol 0)" = $((l0 % 3 + 1)) ]
	events b 6 | sed 's/"n":/"n":10/' | evpub "kafka://$KAFKA_BROKERS/fol"
	wait_for_lines out 12 20
	# the leaders restart while events are published
	l0=$(leader fol 0)
	l1=$(leader fol 1)
	kafka_ctl "down $l0" "down $l1"
	events c 6 | sed 's/"n":/"n":20/' | evpub "kafka://$KAFKA_BROKERS/fol" &
	echo $! >evpub.pid
	sleep 2
	kafka_ctl "up $l0" "up $l1"
	wait "$(cat evpub.pid)"
	wait_for_lines out 18 30
	alive "$pid"
	kill -TERM "$pid"
	local st=0
	wait "$pid" || st=$?
	[ "$st" = 0 ]
	[ ! -s err ]
	# each event once, each key in the order published
	[ "$(wc -l <out)" = 18 ]
	[ "$(sort -u out | wc -l)" = 18 ]
	local k
	for k in 0 1 2 3 4 5 6 7; do
		grep "^k$k " out | cut -d' ' -f2 >nk
		sort -n -c nk
	done
}

@test "evtail kafka: a partition whose leader is down: exit 74 within --kafka-timeout, what was read is printed" {
	events p 8 | evpub "kafka://$KAFKA_BROKERS/part"
	local l0 l1
	l0=$(leader part 0)
	l1=$(leader part 1)
	if [ "$l0" = "$l1" ]; then
		kafka_ctl "leader part 1 $((l0 % 3 + 1))"
		l1=$((l0 % 3 + 1))
	fi
	kafka_ctl "down $l1"
	local t0=$SECONDS
	run --separate-stderr timeout 30 evtail --kafka-timeout 2s --template '{key}' "kafka://$KAFKA_BROKERS/part"
	assert_status 74
	assert_stderr "evtail: kafka '$KAFKA_BROKERS': topic 'part': no record and no end within 2000 ms (--kafka-timeout)"
	[ $((SECONDS - t0)) -lt 10 ]
	# partition 0's events, and only they
	[ -n "$output" ]
	[ "$(sort -u <<<"$output" | wc -l)" -lt 8 ]
}

@test "evtail -f kafka: the whole cluster down past --kafka-timeout: exit 74 and a clear error, never a hang" {
	evpub "kafka://$KAFKA_BROKERS/gone" <<<'{"id":"g1","type":"T","stream":"s"}'
	evtail -f --kafka-timeout 2s --template '{id}' "kafka://$KAFKA_BROKERS/gone" >out 2>err &
	local pid=$!
	echo "$pid" >evtail.pid
	wait_for_output out '^g1$' 10
	kafka_ctl "down 1" "down 2" "down 3"
	local t0=$SECONDS st=0
	wait_gone "$pid" 15
	wait "$pid" || st=$?
	[ "$st" = 74 ]
	[ $((SECONDS - t0)) -lt 15 ]
	grep -qx "evtail: kafka '$KAFKA_BROKERS': every broker has been down for 2000 ms (--kafka-timeout)" err
}

# wait_for_ids FILE N SECONDS: FILE holds N distinct event ids (a
# handler may see an event twice across a restart: lines overcount)
wait_for_ids() {
	wait_for "[ \"\$(grep -o '\"id\":\"[^\"]*\"' '$1' 2>/dev/null | sort -u | wc -l)\" -ge $2 ]" "$3" \
		"$2 distinct ids in $1" || {
		echo "$1 has $(wc -l <"$1") lines" >&2
		return 1
	}
}

# GROUP_OPTS: a member that stops leaves in seconds
GROUP_OPTS=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500)

@test "evtail -f --group --exec: survives its leaders' and its coordinator's restarts; each event handled, all committed" {
	local n=$((40 * KAFKA_SCALE))
	kafka_ctl "coordinator billing 1" "leader grp 0 2" "leader grp 1 3"
	evtail -f --group billing --exec 'cat >>handled' "${GROUP_OPTS[@]}" "kafka://$KAFKA_BROKERS/grp" >out 2>err &
	local pid=$!
	echo "$pid" >evtail.pid
	events a "$n" | evpub "kafka://$KAFKA_BROKERS/grp"
	wait_for_ids handled "$n" $((30 + n / 20))
	# the partitions' leaders restart while events are published
	kafka_ctl "down 2" "down 3"
	events b "$n" | evpub "kafka://$KAFKA_BROKERS/grp" &
	echo $! >evpub.pid
	sleep 2
	kafka_ctl "up 2" "up 3"
	wait "$(cat evpub.pid)"
	wait_for_ids handled $((2 * n)) $((30 + n / 20))
	# then the group's coordinator, while events are handled and committed
	kafka_ctl "down 1"
	events c "$n" | evpub "kafka://$KAFKA_BROKERS/grp"
	sleep 2
	kafka_ctl "up 1"
	wait_for_ids handled $((3 * n)) $((30 + n / 20))
	alive "$pid" || { cat err >&2; false; }
	# every event handled (at least once)
	[ "$(jq -r .id handled | sort -u | wc -l)" = $((3 * n)) ]
	kill -TERM "$pid"
	local st=0
	wait "$pid" || st=$?
	[ "$st" = 0 ] || { echo "exit $st" >&2; cat err >&2; false; }
	# and committed: a member of the group that comes later has nothing
	# left, even when the last commits were refused in the rebalance that
	# the coordinator's restart set off (sent again at the close)
	run --separate-stderr evtail --group billing -o count --kafka-timeout 30s "${GROUP_OPTS[@]}" "kafka://$KAFKA_BROKERS/grp"
	assert_status 0
	assert_stderr ""
	assert_stdout 0
}

@test "evtail --group: the whole cluster down mid-run: exit 74 and a clear error, never a hang" {
	events q 2000 | evpub "kafka://$KAFKA_BROKERS/grq"
	evtail --group slow --batch 100 --exec 'sleep 0.2; cat >/dev/null' "${GROUP_OPTS[@]}" "kafka://$KAFKA_BROKERS/grq" >out 2>err &
	local pid=$!
	echo "$pid" >evtail.pid
	sleep 6 # joined, and handling batches
	kafka_ctl "down 1" "down 2" "down 3"
	local st=0
	wait_gone "$pid" 30
	wait "$pid" || st=$?
	[ "$st" = 74 ]
	grep -q "evtail: kafka '$KAFKA_BROKERS'" err
}

# ---------------------------------------------------------------- last

# SIGUSR1 leaves up to 1000 failing Produce requests behind: this test
# comes last, and no later one may produce
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
