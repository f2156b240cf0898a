#!/usr/bin/env bats
# Consumer groups on Kafka logs (issue 14 section 4): evtail --group
# commits, resumes, rebalances, --exec handlers, against librdkafka's mock
# cluster (tests/kafka-mock).  Skips, saying why, without librdkafka-dev
# or kcat.
load helper
load kafka

setup_file() {
	kafka_start g1:4 g2:4 g3:4 g4:4 g5:4 g6:4 g7:4 g8:2 g9:1 g10:4 g11:2 g12:4 g13:2 g14:1
}

teardown_file() {
	kafka_stop
}

# short session and rebalance timeouts: a member that is gone (killed)
# leaves the group within seconds, not librdkafka's 45
GF=(-X session.timeout.ms=6000 -X heartbeat.interval.ms=500
	-X allow.auto.create.topics=false --kafka-timeout 20s)

# N events eFROM.., keys k0..k2 (k0..k(KMOD-1)), to topic T
pub_n() {
	local t=$1 n=$2 from=${3:-1} i
	for ((i = from; i < from + n; i++)); do
		printf '{"id":"e%d","type":"T","stream":"s%d","key":"k%d","data":{"n":%d}}\n' \
			"$i" $((i % 5)) $((i % ${KMOD:-3})) "$i"
	done | evpub "kafka://$KAFKA_BROKERS/$t"
}

ids_1_to() {
	seq "$1" | sed 's/^/e/' | sort
}

@test "kafka group: a run reads what the group has not, commits, the next resumes" {
	pub_n g1 12
	run --separate-stderr evtail "${GF[@]}" --group a --template '{id}' "kafka://$KAFKA_BROKERS/g1"
	assert_status 0
	[ "$(sort <<<"$output")" = "$(ids_1_to 12)" ]
	[ -z "$stderr" ]
	run --separate-stderr evtail "${GF[@]}" --group a "kafka://$KAFKA_BROKERS/g1"
	assert_status 0
	[ -z "$output" ]
	pub_n g1 3 13
	run --separate-stderr evtail "${GF[@]}" --group a --template '{id}' "kafka://$KAFKA_BROKERS/g1"
	assert_status 0
	[ "$(sort <<<"$output")" = "$(printf 'e13\ne14\ne15' | sort)" ]
	# another group reads it all, with partition and offset
	run --separate-stderr evtail "${GF[@]}" --group b "kafka://$KAFKA_BROKERS/g1"
	assert_status 0
	[ "$(grep -c . <<<"$output")" = 15 ]
	[ "$(jq -s 'map(select(has("partition") and has("offset"))) | length' <<<"$output")" = 15 ]
}

@test "kafka group: --count commits only what was printed (a contiguous prefix per partition)" {
	pub_n g2 12
	run --separate-stderr evtail "${GF[@]}" --group c --count 5 --template '{id}' "kafka://$KAFKA_BROKERS/g2"
	assert_status 0
	[ "$(grep -c . <<<"$output")" = 5 ]
	printf '%s\n' "$output" >first
	run --separate-stderr evtail "${GF[@]}" --group c --template '{id}' "kafka://$KAFKA_BROKERS/g2"
	assert_status 0
	[ "$(grep -c . <<<"$output")" = 7 ]
	[ "$( (cat first; printf '%s\n' "$output") | sort)" = "$(ids_1_to 12)" ]
}

@test "kafka group --exec: the record with partition and offset on stdin, EV_PARTITION, EV_OFFSET, per-key order" {
	pub_n g3 30
	run --separate-stderr evtail "${GF[@]}" --group h --parallel 4 --batch 1 \
		--exec 'jq -r "[.partition, .offset, .key, .data.n] | @tsv" >line.$$
			read -r p o k n <line.$$; rm line.$$
			[ "$p" = "$EV_PARTITION" ] && [ "$o" = "$EV_OFFSET" ] || exit 9
			echo "$k $n $EV_PARTITION:$EV_OFFSET" >>handled' \
		"kafka://$KAFKA_BROKERS/g3"
	assert_status 0
	[ -z "$stderr" ]
	[ "$(wc -l <handled)" = 30 ]
	# each key's events in the order they were published
	local k
	for k in k0 k1 k2; do
		[ "$(awk -v k=$k '$1 == k {print $2}' handled | tr '\n' ' ')" = \
			"$(awk -v k=$k '$1 == k {print $2}' handled | sort -n | tr '\n' ' ')" ]
	done
	# partition:offset as kcat sees them
	kc -C -t g3 -e -q -f '%k %p:%o\n' | sort >kcat.pos
	awk '{print $1, $3}' handled | sort >our.pos
	diff kcat.pos our.pos
}

@test "kafka group --exec: --batch gives EV_COUNT events; retries then success commit" {
	pub_n g4 20
	run --separate-stderr evtail "${GF[@]}" --group h --batch 5 --retries 3 --backoff 10ms \
		--exec 'n=$(wc -l); echo "$EV_COUNT $n" >>batches
			[ -e "tried.$EV_PARTITION.$EV_OFFSET" ] || { touch "tried.$EV_PARTITION.$EV_OFFSET"; exit 1; }
			exit 0' \
		"kafka://$KAFKA_BROKERS/g4"
	assert_status 0
	[ -z "$stderr" ]
	awk '$1 != $2 { exit 1 }' batches
	# every event once in a batch that succeeded: the next run has none
	run --separate-stderr evtail "${GF[@]}" --group h --exec 'cat >>again' "kafka://$KAFKA_BROKERS/g4"
	assert_status 0
	[ ! -e again ]
}

@test "kafka group --exec: a failing handler stops (1), naming partition and offset; not committed" {
	pub_n g9 3
	run --separate-stderr evtail "${GF[@]}" --group f --retries 1 --backoff 10ms \
		--exec 'id=$(jq -r .id); [ "$id" != e2 ] || exit 3; echo $id >>ok' \
		"kafka://$KAFKA_BROKERS/g9"
	assert_status 1
	assert_stderr "evtail: handler failed on partition 0 offset 1 after 2 attempts (exit status 3); stopping, the offset is not committed"
	# e1 handled; e3 (another key) may have been while e2 waited
	grep -qx e1 ok
	! grep -qx e2 ok
	# e2 was not committed: the group starts there again
	run --separate-stderr evtail "${GF[@]}" --group f --exec 'jq -r .id >>again' \
		"kafka://$KAFKA_BROKERS/g9"
	assert_status 0
	[ "$(cat again)" = "e2
e3" ]
	# --on-failure skip goes on
	run --separate-stderr evtail "${GF[@]}" --group f2 --retries 0 --on-failure skip \
		--exec 'id=$(jq -r .id); [ "$id" != e2 ] || exit 3' "kafka://$KAFKA_BROKERS/g9"
	assert_status 0
	assert_stderr "evtail: skipped partition 0 offset 1 after 1 attempt (exit status 3)
evtail: 2 handled, 0 dead-lettered, 1 skipped"
}

@test "kafka group: two members share the partitions in a rebalance; every event handled" {
	pub_n g5 20
	evtail "${GF[@]}" -f --group r --exec 'jq -r .id >>handled.a' \
		"kafka://$KAFKA_BROKERS/g5" 2>a.err &
	local a=$!
	wait_for "[ \$(sort -u handled.a 2>/dev/null | wc -l) -ge 20 ]" 20 "member a handled 20"
	evtail "${GF[@]}" -f --group r --exec 'jq -r .id >>handled.b' \
		"kafka://$KAFKA_BROKERS/g5" 2>b.err &
	local b=$!
	# the rebalance gives b some partitions: it handles what comes there
	local n=21
	while [ ! -s handled.b ] && [ $n -le 80 ]; do
		KMOD=1000 pub_n g5 1 $n
		n=$((n + 1))
		sleep 0.5
	done
	pub_n g5 10 $n
	n=$((n + 9))
	wait_for "[ \$(cat handled.a handled.b 2>/dev/null | sort -u | wc -l) -ge $n ]" 30 \
		"$n events handled"
	kill -TERM "$a" "$b"
	local st=0
	wait "$a" || st=$?
	[ "$st" = 0 ]
	wait "$b" || st=$?
	[ "$st" = 0 ]
	[ "$(cat handled.a handled.b | sort -u)" = "$(ids_1_to $n)" ]
	# both took part once the second joined
	[ -s handled.b ]
	[ ! -s a.err ]
	[ ! -s b.err ]
}

@test "kafka group: a handler consumer killed with SIGKILL resumes from the committed offsets, no event unhandled" {
	pub_n g6 60
	evtail "${GF[@]}" -f --group k --commit-interval 100ms \
		--exec 'jq -r .id >>handled; sleep 0.05' "kafka://$KAFKA_BROKERS/g6" 2>k.err &
	local pid=$!
	wait_for "[ \$(wc -l <handled 2>/dev/null || echo 0) -ge 15 ]" 30 "15 events handled"
	kill -KILL "$pid"
	wait "$pid" || true
	local before
	before=$(wc -l <handled)
	[ "$before" -lt 60 ]
	# the killed member's session ends; the new one starts at the commit
	run --separate-stderr evtail "${GF[@]}" --group k --exec 'jq -r .id >>handled' \
		"kafka://$KAFKA_BROKERS/g6"
	assert_status 0
	[ "$(sort -u handled)" = "$(ids_1_to 60)" ]
	# at least once: what ran again is no more than the uncommitted tail
	[ "$(wc -l <handled)" -lt $((60 + before)) ]
}

@test "kafka group: a value that is not JSON where the headers say JSON is an error (65)" {
	printf 'not json\n' | kc -P -t g8 -p 0 -k k1 \
		-H ce_specversion=1.0 -H ce_id=x1 -H ce_type=T -H ce_source=/s \
		-H content-type=application/json
	run --separate-stderr evtail "${GF[@]}" --group j "kafka://$KAFKA_BROKERS/g8"
	assert_status 65
	assert_stderr "evtail: record g8:0:0: content-type 'application/json' but the value is not JSON"
	# not committed: the group stays before it
	run --separate-stderr evtail "${GF[@]}" --group j "kafka://$KAFKA_BROKERS/g8"
	assert_status 65
}

@test "kafka group: --group with --from or -n is a usage error (64)" {
	run --separate-stderr evtail --group x --from start "kafka://$KAFKA_BROKERS/g7"
	assert_status 64
	assert_stderr "evtail: --group on a kafka log starts at the group's committed offsets: not with --from or -n
$EVTAIL_USAGE"
	run --separate-stderr evtail --group x -n 3 "kafka://$KAFKA_BROKERS/g7"
	assert_status 64
	assert_stderr_contains "not with --from or -n"
}

@test "evtail: the LOG operand says kafka, not a kafka:// string elsewhere on the line" {
	echo '{"id":"a","type":"T","stream":"s","data":{"u":"kafka://x/y"}}' | evpub -c l.evlog
	run --separate-stderr evtail --where 'data.u == "kafka://x/y"' --template '{id}' l.evlog
	assert_status 0
	[ "$output" = a ]
	run --separate-stderr evtail --group x --template '{id}' "kafka://$KAFKA_BROKERS/g7"
	assert_status 0
	[ -z "$output" ]
}

@test "kafka group --exec --on-failure dlq: a local dead-letter log, each letter naming the record's partition and offset" {
	pub_n g10 12
	run --separate-stderr evtail "${GF[@]}" --group d --retries 0 --on-failure dlq --dlq dl.evlog \
		--exec 'id=$(jq -r .id); case $id in e3|e7) exit 2;; esac' \
		"kafka://$KAFKA_BROKERS/g10"
	assert_status 0
	assert_stderr "evtail: 10 handled, 2 dead-lettered, 0 skipped"
	run --separate-stderr evtail -o json dl.evlog
	assert_status 0
	[ "$(jq -r '.data.original.id' <<<"$output" | sort | tr '\n' ' ')" = "e3 e7 " ]
	[ "$(jq -r '.data.originalConsumerGroup' <<<"$output" | sort -u)" = d ]
	# originalLogId is TOPIC/PARTITION, originalOffset the offset there,
	# as kcat sees the record
	jq -r '[.data.original.id, (.data.originalLogId | sub("^g10/"; "")), .data.originalOffset] | @tsv' \
		<<<"$output" | sort >ours
	kc -C -t g10 -e -q -f '%p\t%o\t%s\n' | jq -R -r 'split("\t") | [(.[2] | fromjson | .n | "e\(.)"), .[0], .[1]] | @tsv' |
		grep -E '^e(3|7)	' | sort >theirs
	diff theirs ours
	# dead-lettered is done: committed
	run --separate-stderr evtail "${GF[@]}" --group d "kafka://$KAFKA_BROKERS/g10"
	assert_status 0
	[ -z "$output" ]
}

@test "kafka group --exec: --dlq-policy stream is refused (64); a --dlq topic must exist (66)" {
	run --separate-stderr evtail --group x --exec true --on-failure dlq --dlq d.evlog --dlq-policy stream \
		"kafka://$KAFKA_BROKERS/g7"
	assert_status 64
	assert_stderr "evtail: --dlq-policy stream: not on a kafka log (a group on a topic orders events per key, not per stream; evtail(1) KAFKA)
$EVTAIL_USAGE"
	# dead-letter topics work from a Kafka source (tests/kafka-dlq.bats);
	# one that does not exist is refused before anything is read
	run --separate-stderr evtail --group x --exec true --on-failure dlq --dlq "kafka://$KAFKA_BROKERS/g7.DLT" \
		"kafka://$KAFKA_BROKERS/g7"
	assert_status 66
	assert_stderr "evtail: --dlq: kafka '$KAFKA_BROKERS': no topic 'g7.DLT'"
}

@test "kafka group --exec: a value that is not JSON where the headers say JSON is dead-lettered or skipped, per --on-failure" {
	pub_n g8 2
	run --separate-stderr evtail "${GF[@]}" --group jd --on-failure dlq --dlq bad.evlog \
		--exec 'jq -r .id >>handled' "kafka://$KAFKA_BROKERS/g8"
	assert_status 0
	assert_stderr "evtail: 2 handled, 1 dead-lettered, 0 skipped"
	[ "$(sort handled | tr '\n' ' ')" = "e1 e2 " ]
	run --separate-stderr evtail -o json bad.evlog
	assert_status 0
	[ "$(jq -r .data.originalOffset <<<"$output")" = 0 ]
	[ "$(jq -r .data.originalLogId <<<"$output")" = g8/0 ]
	[ "$(jq -r .data.original.data <<<"$output")" = "not json" ]
	grep -q "content-type 'application/json' but the value is not JSON" <<<"$output"
	run --separate-stderr evtail "${GF[@]}" --group js --on-failure skip \
		--exec 'jq -r .id >>handled2' "kafka://$KAFKA_BROKERS/g8"
	assert_status 0
	assert_stderr "evtail: skipped partition 0 offset 0: record g8:0:0: content-type 'application/json' but the value is not JSON
evtail: 2 handled, 0 dead-lettered, 1 skipped"
}

@test "kafka group --exec: a commit refused in a rebalance (REBALANCE_IN_PROGRESS) is sent again, not forgotten" {
	KMOD=4 pub_n g11 12
	# the next OffsetCommit (API key 8) fails with REBALANCE_IN_PROGRESS
	kafka_ctl "errors 8 1 27"
	run --separate-stderr evtail "${GF[@]}" --group r --batch 100 \
		--exec 'jq -r .id >>handled' "kafka://$KAFKA_BROKERS/g11"
	assert_status 0
	[ "$(sort handled)" = "$(ids_1_to 12)" ]
	# the partitions stayed ours: what was handled is committed
	run --separate-stderr evtail "${GF[@]}" --group r --template '{id}' \
		"kafka://$KAFKA_BROKERS/g11"
	assert_status 0
	[ -z "$output" ]
	[ -z "$stderr" ]
}

@test "kafka group -f --exec: commits refused in a rebalance are sent again at SIGTERM, within --kafka-timeout; nothing handled is left" {
	KMOD=4 pub_n g13 8
	evtail "${GF[@]}" -f --group s --exec 'jq -r .id >>handled' \
		"kafka://$KAFKA_BROKERS/g13" 2>err &
	local pid=$!
	wait_for "[ \$(cat handled 2>/dev/null | wc -l) -ge 8 ]" 30 "8 events handled"
	wait_for "[ \"\$(evctl groups --json --group s 'kafka://$KAFKA_BROKERS/g13' 2>/dev/null | jq .lag)\" = 0 ]" \
		20 "group s with all 8 committed"
	# from now on the group refuses the next 6 commits, as in a
	# rebalance: the member's commits while it runs, and at its close
	kafka_ctl "errors 8 6 27"
	KMOD=4 pub_n g13 8 9
	wait_for "[ \$(cat handled 2>/dev/null | wc -l) -ge 16 ]" 30 "16 events handled"
	sleep 1.5 # the member commits what it caught up to: refused
	kill -TERM "$pid"
	local st=0
	wait "$pid" || st=$?
	[ "$st" = 0 ] || { echo "exit $st" >&2; cat err >&2; false; }
	[ ! -s err ] || { cat err >&2; false; }
	[ "$(sort handled)" = "$(ids_1_to 16)" ]
	# all of it committed: a later member has nothing left
	run --separate-stderr evtail "${GF[@]}" --group s --template '{id}' \
		"kafka://$KAFKA_BROKERS/g13"
	assert_status 0
	assert_stdout ""
	assert_stderr ""
}

@test "kafka group -f --exec: commits the group still refuses at the end are a warning naming the offsets, exit 0; the group reads them again" {
	KMOD=4 pub_n g14 6
	evtail "${GF[@]}" --kafka-timeout 2s -f --group w --exec 'jq -r .id >>handled' \
		"kafka://$KAFKA_BROKERS/g14" 2>err &
	local pid=$!
	wait_for "[ \$(cat handled 2>/dev/null | wc -l) -ge 6 ]" 30 "6 events handled"
	wait_for "[ \"\$(evctl groups --json --group w 'kafka://$KAFKA_BROKERS/g14' 2>/dev/null | jq .lag)\" = 0 ]" \
		20 "group w with all 6 committed"
	# every commit from now on is refused, as in a rebalance that never ends
	kafka_ctl "errors 8 100000 27"
	KMOD=4 pub_n g14 4 7
	wait_for "[ \$(cat handled 2>/dev/null | wc -l) -ge 10 ]" 30 "10 events handled"
	sleep 1.5 # the member commits what it caught up to: refused
	local t0=$SECONDS st=0
	kill -TERM "$pid"
	wait "$pid" || st=$?
	kafka_ctl "clear 8"
	[ "$st" = 0 ] || { echo "exit $st" >&2; cat err >&2; false; }
	# it tried for --kafka-timeout (2 s), not much more
	[ $((SECONDS - t0)) -lt 10 ]
	# one line; librdkafka may rejoin the group after a refused commit,
	# so the rebalance may be the last thing it waited for
	local re="^evtail: warning: kafka '[^']*': topic 'g14': group 'w': handled, not committed: partition 0 \(offsets 6 to 9\): (the group refused the commit until|the group's rebalance did not end within) --kafka-timeout; the group handles them again\$"
	[ "$(wc -l <err)" = 1 ] && [[ "$(cat err)" =~ $re ]] || { cat err >&2; false; }
	grep -qF "kafka '$KAFKA_BROKERS'" err
	[ "$(sort handled)" = "$(ids_1_to 10)" ]
	# what it could not commit is read again by the group
	run --separate-stderr evtail "${GF[@]}" --group w --template '{id}' \
		"kafka://$KAFKA_BROKERS/g14"
	assert_status 0
	assert_stdout "e7
e8
e9
e10"
	assert_stderr ""
}

@test "kafka group --exec: after a revoke, what was read of the partitions is not handled again from the window (the next owner reads it from the commit)" {
	KMOD=8 pub_n g12 40
	# a: reads all 40 at once, handles one every 0.3 s, commits what it
	# handled within 0.1 s: the mock refuses the commit a member sends
	# when its partitions are revoked (its group is Joining then, where
	# a real broker takes it), so what a handled since its last commit is
	# handled again by the next owner: with the default --commit-interval
	# (1 s) up to 3 events at 0.3 s a run, more when the commit comes
	# late on a loaded machine, besides the run in flight
	evtail "${GF[@]}" -f --group v --commit-interval 100ms \
		--exec 'sleep 0.3; jq -r .id >>handled.a' \
		"kafka://$KAFKA_BROKERS/g12" 2>a.err &
	local a=$!
	wait_for "[ \$(cat handled.a 2>/dev/null | wc -l) -ge 2 ]" 30 "member a handled 2"
	# b joins: a rebalance (eager: a's partitions are all revoked, then
	# shared); b's share, if the mock gives it one, starts at a's commit
	evtail "${GF[@]}" -f --group v --exec 'jq -r .id >>handled.b' \
		"kafka://$KAFKA_BROKERS/g12" 2>b.err &
	local b=$!
	wait_for "[ \$(cat handled.a handled.b 2>/dev/null | sort -u | wc -l) -ge 40 ]" 40 \
		"40 events handled"
	# until nothing more runs for 2 s
	local n=-1 m i
	for ((i = 0; i < 60; i++)); do
		m=$(cat handled.a handled.b 2>/dev/null | wc -l)
		[ "$m" = "$n" ] && break
		n=$m
		sleep 2
	done
	kill -TERM "$a" "$b"
	wait "$a" || true
	wait "$b" || true
	[ "$(cat handled.a handled.b 2>/dev/null | sort -u)" = "$(ids_1_to 40)" ]
	# at least once: only the run in flight at a revoke, and what was
	# handled in the 0.1 s before it, run twice
	local twice
	twice=$(cat handled.a handled.b 2>/dev/null | sort | uniq -d | wc -l)
	echo "handled twice: $twice" >&2
	[ "$twice" -le 3 ]
	[ ! -s a.err ]
	[ ! -s b.err ]
}
