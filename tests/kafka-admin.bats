#!/usr/bin/env bats
# evctl info, groups, lag, health and metrics on a Kafka log, and evpub
# --create (issue 14 section 4), against librdkafka's mock cluster
# (tests/kafka-mock, three brokers) and Debian's kcat.  Skips, saying
# why, without librdkafka-dev or kcat.
load helper
load kafka

# every topic the file uses (the mock cluster has no CreateTopics), and
# the groups' committed offsets, made by kcat's balanced consumer:
#   one:1   10 records; group g4 read 4 of them (lag 6)
#   adm:3   2 records in each partition, group gall read them all, then
#           3 more came to partition 1 (lag 0, 3, 0)
#   dn:2    the down-broker test's, with its leaders moved
setup_file() {
	kafka_start one:1 adm:3 dn:2 pub:1 || return
	seq 1 10 | kc -P -t one
	local p
	for p in 0 1 2; do
		printf 'a%s\nb%s\n' "$p" "$p" | kc -P -t adm -p "$p"
	done
	kc -G g4 -X auto.offset.reset=earliest -c 4 -q -o beginning one >/dev/null
	kc -G gall -X auto.offset.reset=earliest -e -q adm >/dev/null
	printf 'c\nd\ne\n' | kc -P -t adm -p 1
}

teardown_file() {
	kafka_stop
}

# the bootstrap servers in output, as B
masked() {
	sed "s/$KAFKA_BROKERS/B/g; s/127\.0\.0\.1:[0-9]*/H:P/g"
}

# ---------------------------------------------------------------- info

@test "evctl info kafka: brokers, partitions, leaders, watermarks, events" {
	run --separate-stderr evctl info "kafka://$KAFKA_BROKERS/adm"
	assert_status 0
	assert_stderr ""
	[ "$(masked <<<"$output" | head -n 7)" = "log:          kafka://B/adm
topic:        adm
brokers:      3, 3 up
  broker 1 at H:P: up
  broker 2 at H:P: up
  broker 3 at H:P: up
partitions:   3" ]
	assert_stdout_line 7 "events:       9"
	assert_stdout_line 8 "PARTITION  LEADER REPLICAS  ISR            LOW           HIGH         EVENTS  STATE"
	[ "$(sed -n '10,12p' <<<"$output" | sed -E 's/^( +[0-9]+) +[0-9]+/\1 L/')" = "        0 L        3    3              0              2              2  ok
        1 L        3    3              0              5              5  ok
        2 L        3    3              0              2              2  ok" ]
}

@test "evctl info --json kafka: one object, brokers and partitions" {
	run --separate-stderr evctl info --json "kafka://$KAFKA_BROKERS/adm"
	assert_status 0
	[ "$(jq -c '[.path == "kafka://'"$KAFKA_BROKERS"'/adm", .topic, .events, (.brokers | length), ([.brokers[].up] | all)]' <<<"$output")" = '[true,"adm",9,3,true]' ]
	[ "$(jq -c '[.partitions[] | [.partition, .low, .high, .events, .state, .replicas, (.leader >= 1)]]' <<<"$output")" = '[[0,0,2,2,"ok",3,true],[1,0,5,5,"ok",3,true],[2,0,2,2,"ok",3,true]]' ]
}

@test "evctl info kafka: a missing topic is 66, an unreachable cluster 74 within --kafka-timeout" {
	run --separate-stderr evctl info "kafka://$KAFKA_BROKERS/nosuch"
	assert_status 66
	assert_stdout ""
	assert_stderr "evctl: kafka '$KAFKA_BROKERS': no topic 'nosuch'"
	SECONDS=0
	run --separate-stderr evctl info --kafka-timeout 1s "kafka://127.0.0.1:1/t"
	assert_status 74
	assert_stderr_contains "evctl: kafka '127.0.0.1:1': no metadata within 1000 ms (--kafka-timeout): "
	[ "$SECONDS" -lt 5 ]
}

@test "evctl info kafka: usage errors (address, -X, --types, kafka options on a local log)" {
	run --separate-stderr evctl info "kafka://$KAFKA_BROKERS"
	assert_status 64
	assert_stderr_line 0 "evctl: kafka address 'kafka://$KAFKA_BROKERS': missing topic (kafka://HOST:PORT[,HOST:PORT...]/TOPIC)"
	run --separate-stderr evctl info -X no.such.property=1 "kafka://$KAFKA_BROKERS/adm"
	assert_status 64
	assert_stderr_line 0 'evctl: -X: No such configuration property: "no.such.property"'
	run --separate-stderr evctl info -X nothing "kafka://$KAFKA_BROKERS/adm"
	assert_status 64
	assert_stderr_contains "evctl: -X 'nothing'"
	run --separate-stderr evctl info --types "kafka://$KAFKA_BROKERS/adm"
	assert_status 64
	assert_stderr_line 0 "evctl: info: --types is not built for a kafka log (it would read every record)"
	make_log log 3
	run --separate-stderr evctl info --kafka-timeout 1s log
	assert_status 64
	assert_stderr_line 0 "evctl: info: --kafka-timeout needs a kafka://HOST:PORT/TOPIC LOG"
	run --separate-stderr evctl info --kafka-timeout soon "kafka://$KAFKA_BROKERS/adm"
	assert_status 64
	assert_stderr_line 0 "evctl: --kafka-timeout: 'soon' is not a duration such as 500ms or 10s"
}

# ---------------------------------------------------------------- groups

@test "evctl groups kafka --group: committed offsets against the high watermarks" {
	run --separate-stderr evctl groups --group g4 "kafka://$KAFKA_BROKERS/one"
	assert_status 0
	assert_stderr ""
	assert_stdout "GROUP                PARTITION         OFFSET            END            LAG
g4                           0              4             10              6"
	run --separate-stderr evctl groups --group gall --group g4 "kafka://$KAFKA_BROKERS/adm"
	assert_status 66
	assert_stdout ""
	assert_stderr "evctl: group 'g4' has no committed offsets on topic 'adm' in kafka '$KAFKA_BROKERS'"
	run --separate-stderr evctl groups --group gall "kafka://$KAFKA_BROKERS/adm"
	assert_status 0
	assert_stdout "GROUP                PARTITION         OFFSET            END            LAG
gall                         0              2              2              0
gall                         1              2              5              3
gall                         2              2              2              0"
}

@test "evctl groups --json kafka: one object per group, its partitions" {
	run --separate-stderr evctl groups --json --group gall "kafka://$KAFKA_BROKERS/adm"
	assert_status 0
	assert_stdout '{"group":"gall","topic":"adm","lag":3,"partitions":[{"partition":0,"next":2,"end":2,"lag":0},{"partition":1,"next":2,"end":5,"lag":3},{"partition":2,"next":2,"end":2,"lag":0}]}'
}

@test "evctl groups kafka: every group needs ListGroups, which the mock lacks: a clear error" {
	run --separate-stderr evctl groups "kafka://$KAFKA_BROKERS/adm"
	assert_status 1
	assert_stdout ""
	assert_stderr "evctl: kafka '$KAFKA_BROKERS': cannot list consumer groups: the cluster does not answer ListGroups requests
evctl: name the group with --group (librdkafka's mock cluster has no ListGroups)"
}

@test "evctl groups kafka: --reset, --delete and --state-dir are local-log options" {
	run --separate-stderr evctl groups --reset gall --to start "kafka://$KAFKA_BROKERS/adm"
	assert_status 64
	assert_stderr_line 0 "evctl: groups: --to is not built for a kafka log (its groups are the cluster's: see evctl(1) KAFKA)"
	run --separate-stderr evctl groups --state-dir . "kafka://$KAFKA_BROKERS/adm"
	assert_status 64
	assert_stderr_line 0 "evctl: groups: --state-dir is not built for a kafka log (its groups are the cluster's: see evctl(1) KAFKA)"
	make_log log 3
	run --separate-stderr evctl groups --group g log
	assert_status 64
	assert_stderr_line 0 "evctl: groups: --group needs a kafka://HOST:PORT/TOPIC LOG"
}

# ---------------------------------------------------------------- lag

@test "evctl lag kafka: the Nagios exit codes, 0 OK, 1 WARNING, 2 CRITICAL" {
	run --separate-stderr evctl lag --group g4 --warn 10 --crit 20 "kafka://$KAFKA_BROKERS/one"
	assert_status 0
	assert_stderr ""
	assert_stdout "LAG OK - group g4 is 6 events behind | 'g4_lag'=6;10;20;0 'g4_0_lag'=6;;;0"
	run --separate-stderr evctl lag --group g4 --warn 5 --crit 20 "kafka://$KAFKA_BROKERS/one"
	assert_status 1
	assert_stdout "LAG WARNING - group g4 is 6 events behind | 'g4_lag'=6;5;20;0 'g4_0_lag'=6;;;0"
	run --separate-stderr evctl lag --group gall --warn 1 --crit 2 "kafka://$KAFKA_BROKERS/adm"
	assert_status 2
	assert_stdout "LAG CRITICAL - group gall is 3 events behind | 'gall_lag'=3;1;2;0 'gall_0_lag'=0;;;0 'gall_1_lag'=3;;;0 'gall_2_lag'=0;;;0"
}

@test "evctl lag kafka: UNKNOWN (3) for what it cannot tell" {
	run --separate-stderr evctl lag --group nobody --warn 1 --crit 2 "kafka://$KAFKA_BROKERS/one"
	assert_status 3
	assert_stdout "LAG UNKNOWN - group 'nobody' has no committed offsets on topic 'one'"
	run --separate-stderr evctl lag --warn 1 --crit 2 "kafka://$KAFKA_BROKERS/one"
	assert_status 3
	assert_stdout "LAG UNKNOWN - kafka '$KAFKA_BROKERS': cannot list consumer groups: the cluster does not answer ListGroups requests: name the group with --group (librdkafka's mock cluster has no ListGroups)"
	run --separate-stderr evctl lag --group g4 --warn 5m --crit 10m "kafka://$KAFKA_BROKERS/one"
	assert_status 3
	assert_stdout "LAG UNKNOWN - --warn: a kafka log's lag is a number of events, not a duration"
	run --separate-stderr evctl lag --group g4 --state-dir . --warn 1 --crit 2 "kafka://$KAFKA_BROKERS/one"
	assert_status 3
	assert_stdout "LAG UNKNOWN - --state-dir: not on a kafka log (its groups are the cluster's)"
	run --separate-stderr evctl lag --group g4 -X no.such=1 --warn 1 --crit 2 "kafka://$KAFKA_BROKERS/one"
	assert_status 3
	assert_stdout 'LAG UNKNOWN - -X: No such configuration property: "no.such"'
	run --separate-stderr evctl lag --group g4 --kafka-timeout 1s --warn 1 --crit 2 "kafka://127.0.0.1:1/one"
	assert_status 3
	assert_stdout_contains "LAG UNKNOWN - kafka '127.0.0.1:1': no metadata within 1000 ms (--kafka-timeout): "
	assert_stderr ""
}

# ---------------------------------------------------------------- health

@test "evctl health kafka: OK with every broker and leader up, a group's lag in the perfdata" {
	run --separate-stderr evctl health --group g4 "kafka://$KAFKA_BROKERS/one"
	assert_status 0
	assert_stderr ""
	assert_stdout "HEALTH OK - kafka://$KAFKA_BROKERS/one: 3 of 3 brokers up, 1 of 1 partitions of 'one' with a leader up, group g4 6 events behind | brokers_up=3;;;0;3 partitions_without_leader=0;;;0;1 'g4_lag'=6;1000;;0"
}

@test "evctl health kafka: degraded (WARNING) past --max-lag, 1,000 events by default" {
	run --separate-stderr evctl health --group g4 --max-lag 5 "kafka://$KAFKA_BROKERS/one"
	assert_status 1
	assert_stdout "HEALTH WARNING - kafka://$KAFKA_BROKERS/one: degraded: group g4 is 6 events behind (more than 5); 3 of 3 brokers up, 1 of 1 partitions of 'one' with a leader up, group g4 6 events behind | brokers_up=3;;;0;3 partitions_without_leader=0;;;0;1 'g4_lag'=6;5;;0"
	# 1,000 events behind is not past 1,000; 1,001 is
	seq 1 1001 | kc -P -t pub
	kc -G g0 -X auto.offset.reset=earliest -c 1 -q pub >/dev/null
	run --separate-stderr evctl health --group g0 "kafka://$KAFKA_BROKERS/pub"
	assert_status 0
	assert_stdout_contains "HEALTH OK - kafka://$KAFKA_BROKERS/pub: 3 of 3 brokers up, 1 of 1 partitions of 'pub' with a leader up, group g0 1,000 events behind"
	seq 1 1 | kc -P -t pub
	run --separate-stderr evctl health --group g0 "kafka://$KAFKA_BROKERS/pub"
	assert_status 1
	assert_stdout_contains "degraded: group g0 is 1,001 events behind (more than 1,000)"
}

@test "evctl health kafka: CRITICAL (2) for an unreachable cluster or a missing topic, within --kafka-timeout" {
	SECONDS=0
	run --separate-stderr evctl health --kafka-timeout 1s "kafka://127.0.0.1:1/one"
	assert_status 2
	assert_stdout_contains "HEALTH CRITICAL - kafka '127.0.0.1:1': no metadata within 1000 ms (--kafka-timeout): "
	assert_stderr ""
	[ "$SECONDS" -lt 5 ]
	run --separate-stderr evctl health "kafka://$KAFKA_BROKERS/nosuch"
	assert_status 2
	assert_stdout "HEALTH CRITICAL - kafka '$KAFKA_BROKERS': no topic 'nosuch'"
}

@test "evctl health: UNKNOWN (3) for usage errors and a local log" {
	make_log log 3
	run --separate-stderr evctl health log
	assert_status 3
	assert_stdout "HEALTH UNKNOWN - 'log' is not a kafka log: health checks a kafka://HOST:PORT/TOPIC (a local log: evctl verify and evctl lag)"
	run --separate-stderr evctl health --max-lag many "kafka://$KAFKA_BROKERS/one"
	assert_status 3
	assert_stdout "HEALTH UNKNOWN - --max-lag: 'many' is not a number of events"
	run --separate-stderr evctl health
	assert_status 3
	assert_stdout "HEALTH UNKNOWN - usage: evctl health [--group NAME]... [--max-lag N] [KAFKA-OPTIONS] kafka://HOST:PORT/TOPIC"
	run --separate-stderr evctl health --bogus "kafka://$KAFKA_BROKERS/one"
	assert_status 3
	assert_stdout "HEALTH UNKNOWN - bad usage, see 'evctl --help'"
	run --separate-stderr evctl health --group nobody "kafka://$KAFKA_BROKERS/one"
	assert_status 3
	assert_stdout "HEALTH UNKNOWN - group 'nobody' has no committed offsets on topic 'one'"
	run --separate-stderr evctl health "kafka://$KAFKA_BROKERS"
	assert_status 3
	assert_stdout "HEALTH UNKNOWN - kafka address 'kafka://$KAFKA_BROKERS': missing topic (kafka://HOST:PORT[,HOST:PORT...]/TOPIC)"
}

# ---------------------------------------------------------------- metrics

@test "evctl metrics kafka --group: per-partition lag in the local metrics' exposition" {
	run --separate-stderr evctl metrics --group gall "kafka://$KAFKA_BROKERS/adm"
	assert_status 0
	assert_stderr ""
	local L="log=\"kafka://$KAFKA_BROKERS/adm\""
	assert_stdout_contains "# TYPE evlog_events gauge
evlog_events{$L} 9
"
	assert_stdout_contains "evlog_kafka_brokers_up{$L} 3
"
	assert_stdout_contains "evlog_next_offset{$L,partition=\"0\"} 2
evlog_next_offset{$L,partition=\"1\"} 5
evlog_next_offset{$L,partition=\"2\"} 2
"
	assert_stdout_contains "# HELP evlog_group_lag_events Events a consumer group is behind the head.
# TYPE evlog_group_lag_events gauge
evlog_group_lag_events{$L,group=\"gall\",partition=\"0\"} 0
evlog_group_lag_events{$L,group=\"gall\",partition=\"1\"} 3
evlog_group_lag_events{$L,group=\"gall\",partition=\"2\"} 0"
	assert_stdout_contains "evlog_group_next_offset{$L,group=\"gall\",partition=\"1\"} 2
"
	# every line a comment or a sample (what promtool would parse)
	run grep -cvE '^(# (HELP|TYPE) [a-z_]+ .+|[a-z_]+\{[^}]*\} -?[0-9]+)$' <<<"$output"
	assert_stdout 0
}

@test "evctl metrics kafka: errors print nothing on stdout (ListGroups, mixed logs)" {
	run --separate-stderr evctl metrics "kafka://$KAFKA_BROKERS/adm"
	assert_status 1
	assert_stdout ""
	assert_stderr_line 0 "evctl: kafka '$KAFKA_BROKERS': cannot list consumer groups: the cluster does not answer ListGroups requests"
	run --separate-stderr evctl metrics --group gall "kafka://$KAFKA_BROKERS/adm" "kafka://$KAFKA_BROKERS/nosuch"
	assert_status 66
	assert_stdout ""
	assert_stderr "evctl: kafka '$KAFKA_BROKERS': no topic 'nosuch'"
	make_log log 3
	run --separate-stderr evctl metrics log "kafka://$KAFKA_BROKERS/adm"
	assert_status 64
	assert_stderr_line 0 "evctl: metrics: kafka logs and local logs cannot be mixed"
	run --separate-stderr evctl metrics --group g log
	assert_status 64
	assert_stderr_line 0 "evctl: metrics: --group needs a kafka://HOST:PORT/TOPIC LOG"
}

# ---------------------------------------------------------------- --create

@test "evpub --create kafka: the mock has no CreateTopics: a clear error, and no topic" {
	SECONDS=0
	run --separate-stderr evpub --create --partitions 3 "kafka://$KAFKA_BROKERS/made" <<<'{"type":"T","data":{}}'
	assert_status 1
	assert_stdout ""
	assert_stderr "evpub: kafka '$KAFKA_BROKERS': cannot create topic 'made': the cluster names none of its brokers as the controller, where CreateTopics goes
evpub: librdkafka's mock cluster has no controller and no CreateTopics: name the topic when starting it"
	[ "$SECONDS" -lt 10 ]
	run --separate-stderr kc -L -J
	[ "$(jq '[.topics[] | select(.topic == "made")] | length' <<<"$output")" = 0 ]
	# without --create, a missing topic stays an error
	run --separate-stderr evpub "kafka://$KAFKA_BROKERS/made" <<<'{"type":"T","data":{}}'
	assert_status 66
	assert_stderr "evpub: kafka '$KAFKA_BROKERS': no topic 'made'"
}

@test "evpub --create kafka: a topic that exists is used as it is" {
	run --separate-stderr evpub --create --ack "kafka://$KAFKA_BROKERS/pub" <<<'{"id":"c1","type":"T","data":{}}'
	assert_status 0
	assert_stderr ""
	assert_stdout_contains " c1"
}

@test "evpub --partitions, --replication-factor: with --create, on a kafka log, numbers" {
	run --separate-stderr evpub --partitions 3 "kafka://$KAFKA_BROKERS/pub" <<<'{"type":"T","data":{}}'
	assert_status 64
	assert_stderr_line 0 "evpub: --partitions goes with --create"
	run --separate-stderr evpub --replication-factor 3 "kafka://$KAFKA_BROKERS/pub" <<<'{"type":"T","data":{}}'
	assert_status 64
	assert_stderr_line 0 "evpub: --replication-factor goes with --create"
	run --separate-stderr evpub --create --partitions 0 "kafka://$KAFKA_BROKERS/pub" <<<'{"type":"T","data":{}}'
	assert_status 64
	assert_stderr_line 0 "evpub: --partitions: '0' is not a number from 1 to 1000000"
	run --separate-stderr evpub --create --replication-factor x "kafka://$KAFKA_BROKERS/pub" <<<'{"type":"T","data":{}}'
	assert_status 64
	assert_stderr_line 0 "evpub: --replication-factor: 'x' is not a number from 1 to 32767"
	run --separate-stderr evpub -c --partitions 3 log <<<'{"type":"T","data":{}}'
	assert_status 64
	assert_stderr_line 0 "evpub: --partitions needs a kafka://HOST:PORT/TOPIC LOG"
}

# ---------------------------------------------------------------- faults
# (last: the brokers come back up at the end)

@test "evctl health kafka: a down broker is WARNING; a down partition leader CRITICAL" {
	# no partition of dn on broker 2, then broker 2 down
	kafka_ctl "leader dn 0 1" "leader dn 1 3" "down 2"
	run --separate-stderr evctl health --kafka-timeout 2s "kafka://$KAFKA_BROKERS/dn"
	assert_status 1
	assert_stdout "$(printf 'HEALTH WARNING - kafka://%s/dn: broker 2 (%s) is down; 2 of 3 brokers up, 2 of 2 partitions of '"'"'dn'"'"' with a leader up | brokers_up=2;;;0;3 partitions_without_leader=0;;;0;2' "$KAFKA_BROKERS" "$(cut -d, -f2 <<<"$KAFKA_BROKERS")")"
	run --separate-stderr evctl info --kafka-timeout 2s "kafka://$KAFKA_BROKERS/dn"
	assert_status 0
	assert_stdout_line 2 "brokers:      3, 2 up"
	assert_stdout_line 4 "  broker 2 at $(cut -d, -f2 <<<"$KAFKA_BROKERS"): down"
	# partition 0 led by the down broker
	kafka_ctl "leader dn 0 2"
	run --separate-stderr evctl health --kafka-timeout 2s "kafka://$KAFKA_BROKERS/dn"
	assert_status 2
	assert_stdout_contains "HEALTH CRITICAL - kafka://$KAFKA_BROKERS/dn: partition 0: leader 2 is down; broker 2 ("
	assert_stdout_contains "1 of 2 partitions of 'dn' with a leader up | brokers_up=2;;;0;3 partitions_without_leader=1;;;0;2"
	run --separate-stderr evctl info --kafka-timeout 2s "kafka://$KAFKA_BROKERS/dn"
	assert_status 0
	[ "$(sed -n 10p <<<"$output")" = "        0       2        3    3              -              -              -  leader 2 is down" ]
	kafka_ctl "up 2"
	run --separate-stderr evctl health --kafka-timeout 5s "kafka://$KAFKA_BROKERS/dn"
	assert_status 0
}
