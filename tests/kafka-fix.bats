#!/usr/bin/env bats
# Fixes from an audit of main, on Kafka logs: the offset and partition
# of a record as fields, the time of a CloudEvents record without one,
# the partition of a dead letter, and the messages of evctl lag and
# --kafka-config.  Against librdkafka's mock cluster (tests/kafka-mock)
# and Debian's kcat; skips, saying why, without librdkafka-dev or kcat.
load helper
load kafka

# every topic the file uses: the mock cluster has no CreateTopics
setup_file() {
	kafka_start lag1:1 ce1:1 dsrc:3 dl1:1 p3:3
}

teardown_file() {
	kafka_stop
}

@test "evctl lag on a kafka log with -X and --warn but no --crit: the usage, not -X, exit 3" {
	run --separate-stderr evctl lag -X client.id=x "kafka://$KAFKA_BROKERS/lag1" --group g --warn 5
	assert_status 3
	assert_stdout "LAG UNKNOWN - usage: evctl lag [--group NAME] [--state-dir DIR] --warn N --crit N LOG"
	assert_stderr ""
	# -X on a local log is still the -X's fault
	run --separate-stderr evctl lag -X client.id=x L --warn 5 --crit 9
	assert_status 3
	assert_stdout "LAG UNKNOWN - -X needs a kafka://HOST:PORT/TOPIC LOG"
}

@test "--kafka-config with a property librdkafka does not know names the file and line, not -X, exit 64" {
	printf '# ours\nclient.id=evlog-test\n\nbogus.prop = 1\n' >k.properties
	run --separate-stderr evtail --kafka-config k.properties "kafka://$KAFKA_BROKERS/lag1"
	assert_status 64
	assert_stdout ""
	assert_stderr "evtail: --kafka-config: 'k.properties': line 4: No such configuration property: \"bogus.prop\"
Usage: evtail [options] LOG
Try 'evtail --help' for more information."
	# a bad value too
	printf 'socket.timeout.ms=soon\n' >k.properties
	run --separate-stderr evpub --kafka-config k.properties "kafka://$KAFKA_BROKERS/lag1" </dev/null
	assert_status 64
	assert_stderr_line 0 "evpub: --kafka-config: 'k.properties': line 1: Invalid value for configuration property \"socket.timeout.ms\""
	# the same property with -X is still -X's
	run --separate-stderr evtail -X bogus.prop=1 "kafka://$KAFKA_BROKERS/lag1"
	assert_status 64
	assert_stderr_line 0 "evtail: -X: No such configuration property: \"bogus.prop\""
}

# the record timestamp (ms) of topic $1's record at offset $2, as RFC 3339
# with milliseconds, as evtail prints times
ts_of() {
	local ms
	ms=$(kc -C -t "$1" -p "${3:-0}" -o "$2" -c 1 -e -q -f '%T\n')
	date -u -d "@$((ms / 1000)).$(printf '%03d' $((ms % 1000)))" +%Y-%m-%dT%H:%M:%S.%3NZ
}

@test "CloudEvents records without a time (binary, structured) get the record's timestamp, not the time they are read" {
	# binary: ce_* headers without ce_time
	printf '{"n":1}' | kc -P -t ce1 -p 0 -H ce_specversion=1.0 -H ce_id=b1 \
		-H ce_source=/x -H ce_type=T -H content-type=application/json
	# structured: a CloudEvents JSON value without "time"
	printf '{"specversion":"1.0","id":"s1","source":"/x","type":"T","data":{"n":2}}' |
		kc -P -t ce1 -p 0 -H content-type=application/cloudevents+json
	# with a time: kept
	printf '{"n":3}' | kc -P -t ce1 -p 0 -H ce_specversion=1.0 -H ce_id=b3 \
		-H ce_source=/x -H ce_type=T -H ce_time=2025-01-10T09:00:00Z
	t0=$(ts_of ce1 0)
	t1=$(ts_of ce1 1)
	run --separate-stderr evtail --template '{id} {time}' "kafka://$KAFKA_BROKERS/ce1" $KAFKA_FAST
	assert_status 0
	assert_stderr ""
	assert_stdout "b1 $t0
s1 $t1
b3 2025-01-10T09:00:00.000Z"
}

@test "evdlq retry of a Kafka log's letter gives the handler its partition (EV_PARTITION, \"partition\"); ls shows P:O" {
	# one event in partition 2, at offset 1 there
	for id in x0 x1; do
		printf '{"n":1}' | kc -P -t dsrc -p 2 -H ce_specversion=1.0 -H ce_id=$id \
			-H ce_source=/x -H ce_type=T -H content-type=application/json \
			-H ce_time=2025-01-10T09:00:00Z
	done
	# a group's join takes the mock 3 s, more on a loaded machine: the
	# short session and the timeout of tests/kafka-group.bats
	run --separate-stderr evtail "kafka://$KAFKA_BROKERS/dsrc" --group g --retries 0 \
		-X session.timeout.ms=6000 -X heartbeat.interval.ms=500 --kafka-timeout 30s \
		--exec 'cat >/dev/null; [ "$EV_ID" != x1 ] || exit 3' --dlq dl.evlog $KAFKA_FAST
	assert_status 0
	assert_stderr "evtail: 1 handled, 1 dead-lettered, 0 skipped"
	run --separate-stderr evdlq ls dl.evlog
	assert_status 0
	assert_stdout_line 0 "OFFSET   ORIGINAL   TYPE                     STREAM               ATTEMPTS   AGE ERROR"
	[[ "${lines[1]}" == "0        2:1        T                        -                           1 "*"exit status 3" ]]
	run --separate-stderr sh -c 'evdlq ls --json dl.evlog | jq -c .source'
	assert_stdout "{\"log\":\"kafka://$KAFKA_BROKERS/dsrc\",\"logId\":\"dsrc/2\",\"partition\":2,\"offset\":1}"
	# the letter's timestamp is the record's, of the type librdkafka says
	# (the event's own time is 2025)
	run --separate-stderr sh -c 'evtail -o json dl.evlog | jq -r "[.data.originalPartition, .data.originalTimestamp, .data.originalTimestampType] | @tsv"'
	assert_stdout "2	$(ts_of dsrc 1 2)	CreateTime"
	run --separate-stderr evdlq retry dl.evlog --exec 'echo "$EV_PARTITION:$EV_OFFSET"; jq -c "[.partition, .offset, .id]"'
	assert_status 0
	assert_stdout "2:1
[2,1,\"x1\"]
resolved 0 (T)"
	assert_stderr "evdlq: 1 resolved, 0 still open"
}

@test "evdlq on a local log's letter: no partition (EV_PARTITION unset, no \"partition\"), ORIGINAL the offset" {
	printf '%s\n' '{"id":"e1","type":"T"}' | evpub -c src
	run --separate-stderr evtail src --group g --retries 0 --exec 'exit 3' --dlq dl.evlog
	assert_status 0
	run --separate-stderr evdlq ls dl.evlog
	[[ "${lines[1]}" == "0        0          T  "* ]]
	run --separate-stderr evdlq retry dl.evlog --exec 'echo "${EV_PARTITION-unset}"; jq -c "[has(\"partition\"), .offset]"'
	assert_status 0
	assert_stdout "unset
[false,0]
resolved 0 (T)"
}

# topic p3: two events in each of its three partitions, ids P-O
p3() {
	local p o
	for p in 0 1 2; do
		for o in 0 1; do
			printf '{"n":%d}' "$o" | kc -P -t p3 -p $p -H ce_specversion=1.0 -H ce_id=$p-$o \
				-H ce_source=/x -H ce_type=T -H content-type=application/json \
				-H ce_time=2025-01-10T09:00:0${o}Z
		done
	done
}

@test "kafka: offset and partition are the record's in --where, --template and --fields, whatever the order read" {
	p3
	K="kafka://$KAFKA_BROKERS/p3"
	run --separate-stderr sh -c "evtail --where 'offset == 1' --template '{partition}:{offset} {id}' $K $KAFKA_FAST | sort"
	assert_status 0
	assert_stderr ""
	assert_stdout "0:1 0-1
1:1 1-1
2:1 2-1"
	run --separate-stderr sh -c "evtail --where 'partition == 1' --template '{partition}:{offset} {id}' $K $KAFKA_FAST | sort"
	assert_status 0
	assert_stdout "1:0 1-0
1:1 1-1"
	run --separate-stderr sh -c "evtail --where 'partition >= 1 and offset == 0' -o tsv --fields partition,offset,id $K $KAFKA_FAST | sort"
	assert_status 0
	assert_stdout "1	0	1-0
2	0	2-0
partition	offset	id"
	run --separate-stderr sh -c "evtail --where 'partition == 2' -o json --fields id,partition,offset $K $KAFKA_FAST"
	assert_status 0
	assert_stdout '{"id":"2-0","partition":2,"offset":0}
{"id":"2-1","partition":2,"offset":1}'
}

@test "kafka: -o pretty shows PARTITION:OFFSET, -o cloudevents evlogpartition beside evlogoffset" {
	K="kafka://$KAFKA_BROKERS/p3"
	run --separate-stderr sh -c "evtail --where 'partition == 2 and offset == 1' -o pretty $K $KAFKA_FAST"
	assert_status 0
	assert_stdout "2:1 2025-01-10T09:00:01.000Z T {\"n\":1}"
	run --separate-stderr sh -c "evtail --where 'partition == 2 and offset == 1' -o cloudevents $K $KAFKA_FAST"
	assert_status 0
	assert_stdout '{"specversion":"1.0","id":"2-1","source":"/x","type":"T","time":"2025-01-10T09:00:01.000Z","evlogpartition":"2","evlogoffset":"1","data":{"n":1}}'
	# evpub takes it back without the two (the log assigns them)
	run --separate-stderr sh -c "evtail --where 'partition == 2 and offset == 1' -o cloudevents $K $KAFKA_FAST |
		evpub -c --format cloudevents back.evlog && evtail -o cloudevents back.evlog"
	assert_status 0
	assert_stdout '{"specversion":"1.0","id":"2-1","source":"/x","type":"T","time":"2025-01-10T09:00:01.000Z","evlogoffset":"0","data":{"n":1}}'
}

@test "kafka: a Lua projection's event.partition and event.offset are the record's" {
	K="kafka://$KAFKA_BROKERS/p3"
	cat >where.lua <<'LUA'
return { any = function(s, e) s[#s + 1] = e.partition .. ":" .. e.offset end }
LUA
	run --separate-stderr evproject -p where.lua --global "$K" $KAFKA_FAST
	assert_status 0
	assert_stderr ""
	[ "$(jq -c '.state | sort' <<<"$output")" = '["0:0","0:1","1:0","1:1","2:0","2:1"]' ]
}

@test "a local log has no partition: absent in --where, --template, --fields and Lua" {
	printf '%s\n' '{"id":"a","type":"T"}' '{"id":"b","type":"T"}' | evpub -c L
	run --separate-stderr evtail --where 'partition exists' L
	assert_status 0
	assert_stdout ""
	run --separate-stderr evtail --template '[{partition}] {offset} {id}' L
	assert_stdout "[] 0 a
[] 1 b"
	run --separate-stderr evtail -o json --fields id,partition L
	assert_stdout '{"id":"a"}
{"id":"b"}'
	run --separate-stderr evtail -o pretty --where 'id == "a"' L
	[[ $output == "0 "* ]]
	cat >where.lua <<'LUA'
return { any = function(s, e) s.p = tostring(e.partition) end }
LUA
	run --separate-stderr evproject -p where.lua --global L
	assert_status 0
	assert_stdout '{"partition":null,"state":{"p":"nil"}}'
	# a typo still gets a suggestion
	run --separate-stderr evtail --fields partiton L
	assert_status 64
	assert_stderr_line 0 "evtail: --fields: unknown field 'partiton'; did you mean 'partition'?"
}
