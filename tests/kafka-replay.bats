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
	kafka_start rt1:4 rt2:1 rt3:1 rt4:1 rt5:1 rt6:1 src:2 kk:2 grp:2 rtf:1 rks:2 rkd:1 many:120 rkdown:2
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
	# (an event with neither has an empty key)
	run --separate-stderr kc -C -t rt1 -o beginning -e -q -f '[%k]\n'
	assert_status 0
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "[] [acct] [order-1] [order-1] [order-1] [order-2] " ]
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

# ------------------------------------------------------------ the source

# fx.ndjson in topic src (two partitions), once for the file
src_topic() {
	if [ ! -f "$BATS_FILE_TMPDIR/src.done" ]; then
		evpub "kafka://$KAFKA_BROKERS/src" <fx.ndjson
		touch "$BATS_FILE_TMPDIR/src.done"
	fi
	SRC="kafka://$KAFKA_BROKERS/src"
}

local_teardown() {
	if [ -n "${BG:-}" ]; then
		kill "$BG" 2>/dev/null || true
		wait "$BG" 2>/dev/null || true
	fi
}

@test "evreplay kafka://: every event to stdout with its partition and offset; filters; no marks unless asked" {
	src_topic
	run --separate-stderr evreplay "$SRC"
	assert_status 0
	assert_stderr ""
	[ "${#lines[@]}" = 6 ]
	# evpub gives a topic's events no versions (a topic keeps none)
	evtail a.evlog | jq -c 'del(.version)' | plain >want
	plain <<<"$output" >got
	diff want got
	[ "$(jq -c '[.partition, .offset]' <<<"$output" | sort | tr -d '\n')" = "$(kc -C -t src -o beginning -e -q -f '[%p,%o]\n' | sort | tr -d '\n')" ]
	[ "$(jq -c 'select(.meta.replay)' <<<"$output")" = "" ]
	run --separate-stderr evreplay --type 'Order*' --where 'data.n > 0' --template '{id}' "$SRC"
	assert_status 0
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "e2 e3 e5 " ]
	run --separate-stderr evreplay --mark m1 --stream order-1 "$SRC"
	assert_status 0
	[ "$(jq -r '"\(.id) \(.meta.replay)"' <<<"$output" | tr '\n' ' ')" = "e0 m1 e3 m1 e5 m1 " ]
}

@test "evreplay kafka:// --to-log LOG2: the events back in a local log, the same but for the marks; a rerun adds nothing" {
	src_topic
	run --separate-stderr evreplay -c --to-log b.evlog "$SRC"
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	evtail a.evlog | plain >want
	evtail b.evlog | plain >got
	diff want got
	run --separate-stderr evreplay --to-log b.evlog "$SRC"
	assert_status 0
	assert_stderr "evreplay: 0 appended, 6 duplicate"
	[ "$(evtail b.evlog | wc -l)" = 6 ]
}

@test "evreplay kafka:// --to-log kafka://: topic to topic; not into the topic replayed (64)" {
	src_topic
	run --separate-stderr evreplay --to-log "kafka://$KAFKA_BROKERS/kk" --mark copy "$SRC"
	assert_status 0
	assert_stderr ""
	run --separate-stderr evtail --template '{id} {meta.replay}' "kafka://$KAFKA_BROKERS/kk"
	assert_status 0
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "e0 copy e1 copy e2 copy e3 copy e4 copy e5 copy " ]
	run --separate-stderr evreplay --to-log "$SRC" "$SRC"
	assert_status 64
	assert_stdout ""
	assert_stderr "evreplay: --to-log: '$SRC' is the log being replayed
evreplay: replay into another log"
}

@test "evreplay kafka://: --from PARTITION:OFFSET, -n per partition, --upcast, --check" {
	src_topic
	local p0
	p0=$(kc -C -t src -p 0 -o beginning -e -q | wc -l)
	run --separate-stderr evreplay --from 0:1 --template '{id}' "$SRC"
	assert_status 0
	[ "${#lines[@]}" = $((p0 - 1)) ]
	run --separate-stderr evreplay -n 1 "$SRC"
	assert_status 0
	[ "$(jq -r .offset <<<"$output" | sort | tr '\n' ' ')" = "$(kc -C -t src -o -1 -e -q -f '%o\n' | sort | tr '\n' ' ')" ]
	mkdir up
	printf 'type OrderPlaced\nfrom 1\n  default data.currency "USD"\n' >up/o.upcast
	run --separate-stderr evreplay --upcast up --type OrderPlaced --template '{id} {schema} {data.currency}' "$SRC"
	assert_status 0
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "e0 2 USD e2 2 USD e5 2 USD " ]
	run --separate-stderr evreplay --check --upcast up "$SRC"
	assert_status 0
	assert_stdout_contains "OrderPlaced"
}

@test "evreplay kafka:// --to @TIME: each partition up to TIME, not the topic up to the first later event; a group resumes after it" {
	src_topic
	# partitions are in time order, the topic is not
	run --separate-stderr evreplay --to @2025-01-10T09:00:02Z --template '{id}' "$SRC"
	assert_status 0
	assert_stderr ""
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "e0 e1 e2 " ]
	# shellcheck disable=SC2086
	run --separate-stderr evreplay $KGROUP --group gto --to @2025-01-10T09:00:02Z --template '{id}' "$SRC"
	assert_status 0
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "e0 e1 e2 " ]
	# shellcheck disable=SC2086
	run --separate-stderr evreplay $KGROUP --group gto --template '{id}' "$SRC"
	assert_status 0
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "e3 e4 e5 " ]
	run --separate-stderr evproject --count --to @2025-01-10T09:00:02Z "$SRC"
	assert_status 0
	assert_stdout '{"count":3}'
}

@test "evreplay kafka:// --speed: refused before anything is read when partitions interleave (64); on one partition it paces" {
	src_topic
	run --separate-stderr evreplay --speed 100 --template '{id}' "$SRC"
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evreplay: --speed: the 2 partitions of 'src' are read side by side, so event times go back and forth: read one partition (--from PARTITION:OFFSET), or pace with --rate")"
	run --separate-stderr evreplay --speed 100 --from 0:0 --template '{id}' "$SRC"
	assert_status 0
	assert_stderr ""
	[ "${#lines[@]}" = "$(kc -C -t src -p 0 -o beginning -e -q | wc -l)" ]
}

@test "evreplay kafka://: interrupted, it says --from per partition, and resuming there replays the rest" {
	src_topic
	evreplay --rate 4/s --template '{id}' "$SRC" >first.out 2>first.err &
	BG=$!
	sleep 1.1
	kill -INT "$BG"
	wait "$BG"
	BG=
	[ "$(wc -l <first.out)" -ge 1 ]
	[ "$(wc -l <first.out)" -lt 6 ]
	grep -q '^evreplay: stopped after [0-9]* events; resume with --from [0-9]*:[0-9]*' first.err
	local from p
	from=$(grep -o -- '--from [0-9]*:[0-9]*' first.err | tr '\n' ' ')
	if grep -q 'and for partition' first.err; then
		# a partition none of whose events came: from its start
		p=$(sed -n 's/.*and for partition \([0-9]*\) .*/\1/p' first.err)
		from="$from --from $p:0"
	fi
	# shellcheck disable=SC2086
	run --separate-stderr evreplay $from --template '{id}' "$SRC"
	assert_status 0
	[ "$(cat first.out - <<<"$output" | sort | tr '\n' ' ')" = "e0 e1 e2 e3 e4 e5 " ]
}

@test "evreplay kafka:// --from P:OFFSET, interrupted: the stop line names only the partitions replayed" {
	src_topic
	evreplay --rate 1/s --from 1:0 --template '{id}' "$SRC" >first.out 2>first.err &
	BG=$!
	local i
	for i in $(seq 100); do
		[ ! -s first.out ] || break
		sleep 0.05
	done
	kill -INT "$BG"
	wait "$BG"
	BG=
	[ "$(cat first.out)" = e2 ]
	[ "$(cat first.err)" = "evreplay: stopped after 1 events; resume with --from 1:1" ]
}

@test "evreplay kafka://: interrupted on a topic of many partitions, the stop line names each one, and resuming loses nothing" {
	local i
	for i in $(seq 0 479); do
		printf '{"id":"m%d","type":"T","stream":"s-%d"}\n' "$i" "$i"
	done | evpub "kafka://$KAFKA_BROKERS/many"
	evreplay --rate 200/s --template '{id}' "kafka://$KAFKA_BROKERS/many" >first.out 2>first.err &
	BG=$!
	for i in $(seq 150); do
		[ "$(wc -l <first.out)" -lt 240 ] || break
		sleep 0.1
	done
	kill -INT "$BG"
	wait "$BG"
	BG=
	[ "$(wc -l <first.out)" -lt 480 ]
	[ "$(wc -l <first.err)" = 1 ]
	# every partition: a --from, or named as having had none delivered
	local named rest=0
	named=$(grep -o -- '--from [0-9]*:[0-9]*' first.err | wc -l)
	if grep -q 'and for partition' first.err; then
		rest=$(sed -n 's/.*and for partition \([0-9,]*\) .*/\1/p' first.err | tr ',' '\n' | wc -l)
	fi
	[ $((named + rest)) = 120 ]
	local from
	from=$(grep -o -- '--from [0-9]*:[0-9]*' first.err | tr '\n' ' ')
	if [ "$rest" -gt 0 ]; then
		for i in $(sed -n 's/.*and for partition \([0-9,]*\) .*/\1/p' first.err | tr ',' ' '); do
			from="$from --from $i:0"
		done
	fi
	# shellcheck disable=SC2086
	run --separate-stderr evreplay $from --template '{id}' "kafka://$KAFKA_BROKERS/many"
	assert_status 0
	[ "$(cat first.out - <<<"$output" | sort | uniq -d | wc -l)" = 0 ]
	[ "$(cat first.out - <<<"$output" | sort -u | wc -l)" = 480 ]
}

# short session timeouts, so that a group's members come and go fast
KGROUP="-X session.timeout.ms=6000 -X heartbeat.interval.ms=500"

@test "evreplay kafka:// --group: a Kafka consumer group; a rerun replays only what came since" {
	evpub "kafka://$KAFKA_BROKERS/grp" <fx.ndjson
	# shellcheck disable=SC2086
	run --separate-stderr evreplay $KGROUP --group rg --template '{id}' "kafka://$KAFKA_BROKERS/grp"
	assert_status 0
	assert_stderr ""
	[ "$(sort <<<"$output" | tr '\n' ' ')" = "e0 e1 e2 e3 e4 e5 " ]
	# the group's offsets, as kcat sees them
	[ "$(kc -G rg -C -e -q grp 2>/dev/null | wc -l)" = 0 ] || true
	printf '{"id":"g1","type":"T","stream":"order-1"}\n{"id":"g2","type":"T","stream":"account-1"}\n' |
		evpub "kafka://$KAFKA_BROKERS/grp"
	# shellcheck disable=SC2086
	run --separate-stderr evreplay $KGROUP --group rg -c --to-log g.evlog "kafka://$KAFKA_BROKERS/grp"
	assert_status 0
	[ "$(evtail --template '{id}' g.evlog | tr '\n' ' ')" = "g1 g2 " ] ||
		[ "$(evtail --template '{id}' g.evlog | tr '\n' ' ')" = "g2 g1 " ]
	# shellcheck disable=SC2086
	run --separate-stderr evreplay $KGROUP --group rg "kafka://$KAFKA_BROKERS/grp"
	assert_status 0
	assert_stdout ""
}

@test "evreplay kafka:// --group --exec: each event handled, a failing one dead-lettered to a local log" {
	evpub "kafka://$KAFKA_BROKERS/grp" <<<'{"id":"bad","type":"Boom","stream":"s"}'
	# shellcheck disable=SC2086
	run --separate-stderr evreplay $KGROUP --group rx --exec 'jq -r .id >>handled; [ "$EV_TYPE" != Boom ]' \
		--retries 1 --backoff 10ms --on-failure dlq --dlq d.evlog "kafka://$KAFKA_BROKERS/grp"
	assert_status 0
	[ "$(grep -c . handled)" -ge 9 ]
	grep -qx bad handled
	run --separate-stderr evdlq ls d.evlog
	assert_status 0
	assert_stdout_contains "Boom"
}

@test "evreplay kafka:// --progress: a total from the watermarks from the start, none from elsewhere" {
	src_topic
	run --separate-stderr evreplay --progress -c --to-log p.evlog "$SRC"
	assert_status 0
	assert_stderr_contains "evreplay: 6/~6 events (100%)"
	assert_stderr_contains "evreplay: 6 appended, 0 duplicate"
	run --separate-stderr evreplay --progress --from 0:0 --to-log p.evlog "$SRC"
	assert_status 0
	[[ "$stderr" =~ evreplay:\ [0-9]+\ events ]]
	[[ "$stderr" != *"/~"* ]]
}

@test "evreplay kafka://: what needs one position in the log is refused (64); a missing topic (66)" {
	src_topic
	run --separate-stderr evreplay --group g --from 0:1 "$SRC"
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --group on a kafka log starts at the group's committed offsets: not with --from or -n")"
	run --separate-stderr evreplay --group g --state-dir sd "$SRC"
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --state-dir: not on a kafka log (its group's offsets are the cluster's)")"
	run --separate-stderr evreplay --rewrite --rewrite-to x.evlog "$SRC"
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --rewrite: not on a kafka log (it rewrites a local log; replay the topic into one with --to-log)")"
	run --separate-stderr evreplay --to 3 "$SRC"
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --to: a kafka log has no single offset to stop at: --to takes PARTITION:OFFSET or @TIME there")"
	run --separate-stderr evreplay -n 1 --from 0:0 "$SRC"
	assert_status 64
	assert_stderr "$(usage_err "evreplay: -n and --from cannot be combined")"
	run --separate-stderr evreplay --from 0:x "$SRC"
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --from: '0:x' is not start, end, @TIME or PARTITION:OFFSET")"
	run --separate-stderr evreplay "kafka://$KAFKA_BROKERS/nosuch"
	assert_status 66
	assert_stdout ""
	assert_stderr "evreplay: kafka '$KAFKA_BROKERS': no topic 'nosuch'"
	run --separate-stderr timeout 20 evreplay --kafka-timeout 500ms kafka://127.0.0.1:1/t
	assert_status 74
	assert_stderr_contains "no metadata within 500 ms (--kafka-timeout)"
}

# ------------------------------------------------------------ evproject

@test "evproject kafka://: folds and a Lua projection over a topic; --from per partition" {
	src_topic
	run --separate-stderr evproject --count --by type "$SRC"
	assert_status 0
	assert_stderr ""
	assert_stdout '{"type":"Heartbeat","count":1}
{"type":"OrderPlaced","count":3}
{"type":"OrderShipped","count":1}
{"type":"PaymentMade","count":1}'
	printf '%s\n' 'return {' \
		'  partition_by = function(e) return e.stream end,' \
		'  any = function(s, e) s.n = (s.n or 0) + 1 end,' '}' >n.lua
	run --separate-stderr evproject -p n.lua --where 'stream == "order-1"' "$SRC"
	assert_status 0
	assert_stdout '{"partition":"order-1","state":{"n":3}}'
	local p0
	p0=$(kc -C -t src -p 0 -o beginning -e -q | wc -l)
	run --separate-stderr evproject --count --from 0:0 "$SRC"
	assert_status 0
	assert_stdout "{\"count\":$p0}"
}

@test "evproject kafka://: a checkpoint needs --state-dir; a plain offset is refused, never taken for one partition's (64); kafka options need a kafka log" {
	src_topic
	run --separate-stderr evproject --count --name n "$SRC"
	assert_status 64
	assert_stdout ""
	assert_stderr_contains "evproject: --name on a kafka log needs --state-dir DIR: a topic has no log directory to keep the checkpoint in"
	run --separate-stderr evproject --status "$SRC"
	assert_status 64
	assert_stderr_contains "evproject: --status on a kafka log needs --state-dir DIR"
	run --separate-stderr evproject --count --skip 1 --reason r --name n --state-dir sd "$SRC"
	assert_status 64
	assert_stderr_contains "evproject: --skip: '1' is not PARTITION:OFFSET: a kafka log has an offset per partition"
	run --separate-stderr evproject --count --to 2 "$SRC"
	assert_status 64
	assert_stderr_contains "evproject: --to: a kafka log has no single offset to stop at"
	run --separate-stderr evproject --count -X acks=1 a.evlog
	assert_status 64
	assert_stderr_contains "evproject: -X needs a kafka://HOST:PORT/TOPIC LOG"
	run --separate-stderr evproject --count "kafka://$KAFKA_BROKERS/nosuch"
	assert_status 66
	assert_stderr "evproject: kafka '$KAFKA_BROKERS': no topic 'nosuch'"
}

# ------------------------------------------------------------ bad input

@test "evproject kafka://: a malformed address, a bad -X property or --kafka-timeout (64); an unreachable cluster within --kafka-timeout (74)" {
	run --separate-stderr evproject --count kafka://localhost/t
	assert_status 64
	assert_stdout ""
	assert_stderr_contains "evproject: kafka address 'kafka://localhost/t': broker 'localhost': missing port (HOST:PORT)"
	run --separate-stderr evproject --count -X no.such=1 "kafka://$KAFKA_BROKERS/src"
	assert_status 64
	assert_stderr_contains 'evproject: -X: No such configuration property: "no.such"'
	run --separate-stderr evproject --count --kafka-timeout 0 "kafka://$KAFKA_BROKERS/src"
	assert_status 64
	assert_stderr_contains "evproject: --kafka-timeout: '0' is not a duration such as 500ms or 10s"
	local t0=$SECONDS
	run --separate-stderr timeout 20 evproject --count --kafka-timeout 500ms kafka://127.0.0.1:1/t
	assert_status 74
	assert_stdout ""
	assert_stderr "evproject: kafka '127.0.0.1:1': no metadata within 500 ms (--kafka-timeout): Local: Broker transport failure"
	[ $((SECONDS - t0)) -lt 8 ]
}

@test "evreplay kafka://: --wait and --dlq-policy stream are refused there, never ignored (64)" {
	src_topic
	run --separate-stderr evreplay --group g --wait "$SRC"
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evreplay: --wait: not on a kafka log (its group's offsets are the cluster's)")"
	run --separate-stderr evreplay --group g --exec true --dlq d.evlog --dlq-policy stream "$SRC"
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --dlq-policy stream: not on a kafka log (a group on a topic orders events per key, not per stream; evreplay(1) KAFKA)")"
}


@test "evreplay --to-log kafka: --renumber, which a topic lacks, is refused, never ignored (64)" {
	run --separate-stderr evreplay --to-log "kafka://$KAFKA_BROKERS/rt6" --renumber a.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evreplay: --renumber: not into a kafka log (a kafka topic keeps no stream versions to follow on from)")"
}

@test "evreplay -c --to-log kafka: the topic through the admin API: the mock has none, a clear error (1) and no topic; an existing topic is used" {
	run --separate-stderr evreplay -c --partitions 3 --replication-factor 1 --to-log "kafka://$KAFKA_BROKERS/made" a.evlog
	assert_status 1
	assert_stdout ""
	assert_stderr "evreplay: --to-log: kafka '$KAFKA_BROKERS': cannot create topic 'made': the cluster names none of its brokers as the controller, where CreateTopics goes
evreplay: librdkafka's mock cluster has no controller and no CreateTopics: name the topic when starting it"
	run --separate-stderr kc -L -J
	[ "$(jq '[.topics[] | select(.topic == "made")] | length' <<<"$output")" = 0 ]
	run --separate-stderr evreplay -c --to-log "kafka://$KAFKA_BROKERS/rt6" --mark made --stream account-1 a.evlog
	assert_status 0
	assert_stderr ""
	run --separate-stderr evreplay --partitions 3 --to-log "kafka://$KAFKA_BROKERS/rt6" a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --partitions goes with -c/--create into a kafka topic (--to-log kafka://...)")"
	run --separate-stderr evreplay -c --replication-factor 0 --to-log "kafka://$KAFKA_BROKERS/rt6" a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --replication-factor: '0' is not a number from 1 to 32767")"
	run --separate-stderr evreplay -c --partitions 2 --to-log b.evlog a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --partitions needs a kafka://HOST:PORT/TOPIC log (LOG or --to-log)")"
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

# the ids in a topic, sorted, once each
topic_ids() {
	evtail --template '{id}' "kafka://$KAFKA_BROKERS/$1" | sort -u | tr '\n' ' '
}

@test "evreplay --to-log kafka: a cluster gone mid-replay does not hold SIGTERM up past --kafka-timeout (74); --from there loses nothing" {
	local i t0
	for i in $(seq 0 199); do
		printf '{"id":"d%d","type":"T","stream":"s-%d"}\n' "$i" "$i"
	done | evpub -c d.evlog
	evreplay --kafka-timeout 2s --rate 40/s --to-log "kafka://$KAFKA_BROKERS/rkdown" d.evlog >down.out 2>down.err &
	BG=$!
	sleep 1
	kafka_ctl "down 1" "down 2" "down 3"
	sleep 1
	t0=$SECONDS
	kill -TERM "$BG"
	local rc=0
	wait "$BG" || rc=$?
	BG=
	kafka_ctl "up 1" "up 2" "up 3"
	# the acks are waited for --kafka-timeout, not message.timeout.ms (5m)
	[ $((SECONDS - t0)) -lt 10 ]
	[ "$rc" = 74 ]
	[ ! -s down.out ]
	grep -q "events not delivered" down.err
	grep -q '^evreplay: stopped before offset [0-9]*; resume with --from [0-9]*$' down.err
	local from failed
	from=$(sed -n 's/.*resume with --from \([0-9]*\)$/\1/p' down.err)
	# not after the first event the topic did not take
	failed=$(sed -n "s/.*: offset \([0-9]*\) of 'd.evlog' and after: .*/\1/p" down.err)
	[ -n "$failed" ]
	[ "$from" -le "$failed" ]
	run --separate-stderr timeout 60 evreplay --from "$from" --to-log "kafka://$KAFKA_BROKERS/rkdown" d.evlog
	assert_status 0
	[ "$(topic_ids rkdown | wc -w)" = 200 ]
}

@test "evreplay kafka:// --to-log kafka: a delivery failure names the source's partitions and offsets; --from there loses nothing" {
	evpub "kafka://$KAFKA_BROKERS/rks" <fx.ndjson
	local want
	want=$(evreplay --from 0:1 --from 1:1 --template '{id}' "kafka://$KAFKA_BROKERS/rks" | sort | tr '\n' ' ')
	# one Produce request fails, for good
	kafka_ctl "errors 0 1 10"
	run --separate-stderr timeout 30 evreplay -X message.timeout.ms=5000 --from 0:1 --from 1:1 --to-log "kafka://$KAFKA_BROKERS/rkd" "kafka://$KAFKA_BROKERS/rks"
	assert_status 74
	assert_stdout ""
	# the places in the source, not the scan's count of records
	[[ "${stderr_lines[0]}" == "evreplay: --to-log 'kafka://$KAFKA_BROKERS/rkd': offsets "*" of 'kafka://$KAFKA_BROKERS/rks' and after: kafka '$KAFKA_BROKERS': topic 'rkd': "*" events not delivered: Broker: Message size too large" ]]
	[[ "${stderr_lines[0]}" != *"offset 0 of"* ]]
	[[ "${stderr_lines[1]}" =~ ^evreplay:\ stopped\ after\ [0-9]+\ events\ delivered\;\ resume\ with\ --from\ [01]:[0-9]+ ]]
	[ "${#stderr_lines[@]}" = 2 ]
	local from p
	from=$(grep -o -- '--from [0-9]*:[0-9]*' <<<"$stderr" | tr '\n' ' ')
	if [[ "$stderr" == *"and for partition"* ]]; then
		p=$(sed -n 's/.*and for partition \([0-9]*\) .*/\1/p' <<<"$stderr")
		from="$from --from $p:1"
	fi
	# shellcheck disable=SC2086
	run --separate-stderr timeout 30 evreplay $from --to-log "kafka://$KAFKA_BROKERS/rkd" "kafka://$KAFKA_BROKERS/rks"
	assert_status 0
	assert_stderr ""
	[ "$(topic_ids rkd)" = "$want" ]
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
