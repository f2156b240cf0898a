#!/usr/bin/env bats
# Upcasting a Kafka log, and its positions: a Lua step's event.offset
# and event.partition are the record's; an upcast failure (--on-error
# stop, skip, dlq, --check) and evreplay --to-log's version conflict
# name the record PARTITION:OFFSET, as -o pretty does, not the number of
# records read; a cursor file's or a projection checkpoint's offset
# below its partition's first (deleted by retention) is warned of, and
# --from below it reads from the first (librdkafka's reset went to the
# end), warned of too.  The mock deletes a partition's oldest batches past 5 MiB: that
# is retention here.
# Against librdkafka's mock cluster (tests/kafka-mock); skips, saying
# why, without librdkafka-dev or kcat.
load helper
load kafka

# every topic the file uses: the mock cluster has no CreateTopics
setup_file() {
	kafka_start up3:3 cv1:1 ret1:1 ret2:1
	# up3: three events in each partition, ids P-O, data.n O
	local p o
	for p in 0 1 2; do
		for o in 0 1 2; do
			printf '{"n":%d}' "$o" | kc -P -t up3 -p $p -H ce_specversion=1.0 -H ce_id=$p-$o \
				-H ce_source=/x -H ce_type=T -H content-type=application/json \
				-H ce_time=2025-01-10T09:00:0${o}Z
		done
	done
}

teardown_file() {
	kafka_stop
}

local_setup() {
	K="kafka://$KAFKA_BROKERS/up3"
	mkdir at fail
	# the step says where it sees the event
	cat >at/T.1.lua <<'LUA'
return function(e)
	e.data.at = tostring(e.partition) .. ":" .. e.offset
	return e
end
LUA
	# the step fails on one event, by its id
	cat >fail/T.1.lua <<'LUA'
return function(e)
	if e.id == "1-2" then error("no good") end
	return e
end
LUA
}

@test "kafka --upcast: a Lua step's event.offset and event.partition are the record's; a local log's offset, no partition" {
	run --separate-stderr sh -c "evtail --upcast at --template '{id} {data.at}' $K $KAFKA_FAST | sort"
	assert_status 0
	assert_stderr ""
	assert_stdout "0-0 0:0
0-1 0:1
0-2 0:2
1-0 1:0
1-1 1:1
1-2 1:2
2-0 2:0
2-1 2:1
2-2 2:2"
	# from an offset inside a partition: not the count read
	run --separate-stderr evtail --upcast at --from 2:1 --template '{id} {data.at}' "$K" $KAFKA_FAST
	assert_status 0
	assert_stderr ""
	assert_stdout "2-1 2:1
2-2 2:2"
	# a local log: no partition
	evtail --where 'partition == 0' -o json "$K" $KAFKA_FAST | evpub -c L
	run --separate-stderr evtail --upcast at --template '{id} {data.at}' L
	assert_status 0
	assert_stderr ""
	assert_stdout "0-0 nil:0
0-1 nil:1
0-2 nil:2"
}

@test "kafka --upcast --on-error stop: the failure names the record P:O, exit 65" {
	run --separate-stderr evtail --upcast fail --from 1:1 --template '{id}' "$K" $KAFKA_FAST
	assert_status 65
	assert_stdout "1-1"
	assert_stderr "evtail: upcast failed in '$K': offset 1:2: T version 1: step fail/T.1.lua:2: no good"
	run --separate-stderr evreplay --upcast fail --from 1:1 "$K" $KAFKA_FAST
	assert_status 65
	[ "$(jq -r .id <<<"$output")" = "1-1" ]
	assert_stderr "evreplay: upcast failed in '$K': offset 1:2: T version 1: step fail/T.1.lua:2: no good"
	# a local log keeps its plain offset
	evtail --from 1:1 -o json "$K" $KAFKA_FAST | evpub -c L
	run --separate-stderr evtail --upcast fail --template '{id}' L
	assert_status 65
	assert_stdout "1-1"
	assert_stderr "evtail: upcast failed in 'L': offset 1: T version 1: step fail/T.1.lua:2: no good"
}

@test "evproject kafka: a Lua projection's failure names the record P:O, exit 65" {
	cat >bad.lua <<'LUA'
return { any = function(s, e)
	if e.id == "1-2" then error("bad") end
end }
LUA
	run --separate-stderr evproject -p bad.lua --global --from 1:1 "$K" $KAFKA_FAST
	assert_status 65
	assert_stdout ""
	assert_stderr "evproject: offset 1:2: T: bad.lua:2: bad"
	# as upcasting does
	run --separate-stderr evproject --count --upcast fail --from 1:1 "$K" $KAFKA_FAST
	assert_status 65
	assert_stdout ""
	assert_stderr "evproject: upcast failed in '$K': offset 1:2: T version 1: step fail/T.1.lua:2: no good"
}

@test "kafka --upcast --check: the failures listed by P:O, exit 65" {
	run --separate-stderr evreplay --check --upcast fail "$K" $KAFKA_FAST
	assert_status 65
	assert_stdout "TYPE  VERSION  UPCAST  UNCHANGED  FAILED
T           1       8          0       1
offset 1:2: T version 1: step fail/T.1.lua:2: no good"
	assert_stderr "evreplay: 1 event could not be upcast"
}

@test "kafka --upcast --on-error skip and dlq: the warning and the dead letter name P:O" {
	run --separate-stderr evtail --upcast fail --on-error skip --from 1:0 --template '{id}' "$K" $KAFKA_FAST
	assert_status 0
	assert_stdout "1-0
1-1"
	assert_stderr "evtail: warning: offset 1:2: T version 1: step fail/T.1.lua:2: no good; skipped
evtail: 1 event could not be upcast and was skipped"
	run --separate-stderr sh -c "evtail --upcast fail --on-error dlq --dlq dl.evlog --template '{id}' $K $KAFKA_FAST | sort"
	assert_status 0
	assert_stdout "0-0
0-1
0-2
1-0
1-1
2-0
2-1
2-2"
	assert_stderr "evtail: 1 event could not be upcast and was dead-lettered to 'dl.evlog'"
	run --separate-stderr sh -c 'evtail -o json dl.evlog | jq -r "[.data.originalPartition, .data.originalOffset, .data.exceptionMessage] | @tsv"'
	assert_status 0
	assert_stdout "1	2	offset 1:2: T version 1: step fail/T.1.lua:2: no good"
}

@test "kafka evreplay --to-log: a version conflict names the record P:O, exit 75" {
	printf '%s\n' '{"id":"x","type":"T","stream":"q","version":1}' \
		'{"id":"a","type":"T","stream":"s","version":1}' \
		'{"id":"b","type":"T","stream":"s","version":2}' | evpub "kafka://$KAFKA_BROKERS/cv1"
	printf '%s\n' '{"id":"z","type":"T","stream":"s","version":1}' | evpub -c tgt
	run --separate-stderr evreplay --from 0:1 "kafka://$KAFKA_BROKERS/cv1" --to-log tgt $KAFKA_FAST
	assert_status 75
	assert_stdout ""
	assert_stderr "evreplay: --to-log 'tgt': offset 0:1 of 'kafka://$KAFKA_BROKERS/cv1': event 'a': stream 's' is at version 1, event has version 1, expected 2
evreplay: use --renumber to give them the versions that follow in 'tgt'"
}

# pad TOPIC: 40 events of 200 kB into partition 0, past the 5 MiB the
# mock keeps of a partition: it deletes the oldest batches, as retention
# does.  Prints the partition's first offset after.
pad() {
	local x
	x=$(head -c 200000 /dev/zero | tr '\0' x)
	for i in $(seq 40); do
		printf '{"pad":"%s"}\n' "$x"
	done >pad.json
	# kcat compresses nothing (evpub would, to a few bytes)
	kc -P -t "$1" -p 0 -H ce_specversion=1.0 -H ce_id=pad -H ce_source=/x \
		-H ce_type=P -H content-type=application/json -l pad.json
	kc -Q -t "$1:0:-2" | awk '{ print $NF }'
}

@test "evproject kafka: a checkpoint below the partition's first offset (retention) warns, names the offsets lost, exit 0" {
	local src="kafka://$KAFKA_BROKERS/ret1" first
	printf '%s\n' '{"id":"a","type":"T"}' '{"id":"b","type":"T"}' | evpub "$src"
	run --separate-stderr evproject --count --name p --state-dir sd "$src" $KAFKA_FAST
	assert_status 0
	assert_stdout '{"count":2}'
	first=$(pad ret1)
	[ "$first" -gt 2 ]
	run --separate-stderr evproject --count --name p --state-dir sd "$src" $KAFKA_FAST
	assert_status 0
	assert_stdout "{\"count\":$((2 + 42 - first))}"
	assert_stderr "evproject: projection checkpoint 'sd/projections/p.ckpt' points to partition 0 offset 2, but partition 0 of topic 'ret1' now begins at offset $first: offsets 2 to $((first - 1)) were deleted by retention before they were read"
	# saved past them: no warning again
	run --separate-stderr evproject --count --name p --state-dir sd "$src" $KAFKA_FAST
	assert_status 0
	assert_stdout "{\"count\":$((2 + 42 - first))}"
	assert_stderr ""
}

@test "evtail kafka --cursor-file: an offset below the partition's first (retention) warns, exit 0; past its end is exit 65 (--from: 64)" {
	local src="kafka://$KAFKA_BROKERS/ret2" first
	printf '%s\n' '{"id":"a","type":"T"}' | evpub "$src"
	first=$(pad ret2)
	[ "$first" -gt 1 ]
	echo "evlog-cursor 1 topic=ret2 next=0:1" >cur
	run --separate-stderr evtail --cursor-file cur -o count "$src" $KAFKA_FAST
	assert_status 0
	assert_stdout "$((41 - first))"
	assert_stderr "evtail: cursor file 'cur' points to partition 0 offset 1, but partition 0 of topic 'ret2' now begins at offset $first: offsets 1 to $((first - 1)) were deleted by retention before they were read"
	[ "$(cat cur)" = "evlog-cursor 1 topic=ret2 next=0:41" ]
	# --from below the first: read from the first (not from the end, as
	# librdkafka's default would), warned of as a cursor's offset is;
	# evreplay too
	run --separate-stderr evtail --from 0:1 -o count "$src" $KAFKA_FAST
	assert_status 0
	assert_stdout "$((41 - first))"
	assert_stderr "evtail: --from 0:1: partition 0 of topic 'ret2' now begins at offset $first: offsets 1 to $((first - 1)) were deleted by retention before they were read"
	run --separate-stderr sh -c "evreplay --from 0:1 '$src' $KAFKA_FAST | wc -l"
	assert_status 0
	assert_stdout "$((41 - first))"
	assert_stderr "evreplay: --from 0:1: partition 0 of topic 'ret2' now begins at offset $first: offsets 1 to $((first - 1)) were deleted by retention before they were read"
	# at the first, or with --from start: no warning
	run --separate-stderr evtail --from "0:$first" -o count "$src" $KAFKA_FAST
	assert_status 0
	assert_stdout "$((41 - first))"
	assert_stderr ""
	run --separate-stderr sh -c "evreplay --from start '$src' $KAFKA_FAST | wc -l"
	assert_status 0
	assert_stdout "$((41 - first))"
	assert_stderr ""
	# beyond the high watermark: an error, not a warning
	echo "evlog-cursor 1 topic=ret2 next=0:50" >cur
	run --separate-stderr evtail --cursor-file cur -o count "$src" $KAFKA_FAST
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: cursor file 'cur' points to partition 0 offset 50, past its end (offset 41)"
	# --from beyond it: a usage error, as past the end of a local log,
	# not a read of the whole partition from its first offset
	run --separate-stderr evtail --from 0:50 -o count "$src" $KAFKA_FAST
	assert_status 64
	assert_stdout ""
	assert_stderr "evtail: --from 0:50: offset 50 is past the end of partition 0 of topic 'ret2' (offset 41)"
	run --separate-stderr evreplay --from 0:50 "$src" $KAFKA_FAST
	assert_status 64
	assert_stdout ""
	assert_stderr "evreplay: --from 0:50: offset 50 is past the end of partition 0 of topic 'ret2' (offset 41)"
	# at the end: nothing to read, no error
	run --separate-stderr evtail --from 0:41 -o count "$src" $KAFKA_FAST
	assert_status 0
	assert_stdout "0"
	assert_stderr ""
}
