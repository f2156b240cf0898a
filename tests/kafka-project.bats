#!/usr/bin/env bats
# evproject checkpoints on Kafka logs (issue 14): --name with --state-dir
# keeps the state and an offset per partition together, a run resumes
# from them (after a stop, after SIGKILL), one run at a time holds the
# lock beside the checkpoint, and a checkpoint of another topic, of a
# local log, or made when the topic had another partition count is
# refused.  Against librdkafka's mock cluster (tests/kafka-mock); skips,
# saying why, without librdkafka-dev or kcat.
load helper
load kafka

setup_file() {
	kafka_start kp1:4 kp2:4 kp3:2 kp4:1 kp5:3 kp6:2 kp7:3 kq1:3 kq2:2 kq3:3 kq4:2 kq5:2 kq6:2 kqd:1 kqg:2
}

teardown_file() {
	kafka_stop
}

EVPROJECT_USAGE="Usage: evproject [options] FOLD... [--by PATH]... [--every DURATION] LOG
       evproject [options] -p FILE.lua [--global] [--partition KEY] LOG
       evproject --status [--name NAME] [--state-dir DIR] LOG
       evproject --test DIR [-p FILE.lua]
       evproject --sqlite DB --name NAME (--diff | --swap)
Try 'evproject --help' for more information."

local_teardown() {
	local p
	for p in ${BG:-}; do
		kill -KILL "$p" 2>/dev/null || true
	done
}

# events FROM TO: events i = FROM..TO, in 7 streams (so in every
# partition), each with data.i
events() {
	seq "$1" "$2" | awk '{ printf "{\"type\":\"t%d\",\"stream\":\"s-%d\",\"data\":{\"i\":%d}}\n", $1 % 3, $1 % 7, $1 }'
}

# pub TOPIC FROM TO
pub() {
	events "$2" "$3" | evpub "kafka://$KAFKA_BROKERS/$1"
}

# the records of a partition now: count TOPIC PARTITION
count() {
	kc -C -t "$1" -p "$2" -o beginning -e -q -f '%o\n' | wc -l
}

# a Lua projection per stream: the events, the sum of data.i
sums() {
	cat >sums.lua <<'LUA'
return {
  partition_by = function(e) return e.stream end,
  init = function() return { n = 0, s = 0 } end,
  any = function(s, e) s.n = s.n + 1; s.s = s.s + e.data.i end,
}
LUA
}

# the rows of read model table T in DB: rows DB T
rows() {
	sqlite3 "$1" "SELECT partition, n, s FROM \"$2\" ORDER BY partition"
}

# picky.lua: a projection that fails on the event with data.i 5
picky() {
	cat >picky.lua <<'LUA'
return {
  partition_by = function(e) return e.stream end,
  any = function(s, e)
    if e.data.i == 5 then error("five") end
    s.s = (s.s or 0) + e.data.i
  end,
}
LUA
}

# "PARTITION OFFSET" of the record with data.i 5 in TOPIC
place_of_five() {
	kc -C -t "$1" -o beginning -e -q -f '%p %o %s\n' | grep '"i":5}' | cut -d' ' -f1,2
}

# the inode of a file (a save replaces the checkpoint: a new one)
inode() {
	stat -c %i "$1" 2>/dev/null || echo none
}

@test "evproject kafka --name: a second run folds only what came after the checkpoint; the states as one run from scratch" {
	local src="kafka://$KAFKA_BROKERS/kp1"
	pub kp1 1 40
	run --separate-stderr evproject --count --distinct data.i --name c --state-dir sd "$src"
	assert_status 0
	assert_stderr ""
	assert_stdout '{"count":40,"distinct(data.i)":40}'
	[ -f sd/projections/c.ckpt ]
	[ -f sd/projections/c.lock ]
	# nothing new: the states from the checkpoint alone
	run --separate-stderr evproject --count --distinct data.i --name c --state-dir sd "$src"
	assert_status 0
	assert_stdout '{"count":40,"distinct(data.i)":40}'
	pub kp1 41 100
	run --separate-stderr evproject --count --distinct data.i --name c --state-dir sd "$src"
	assert_status 0
	assert_stderr ""
	assert_stdout '{"count":100,"distinct(data.i)":100}'
	# --status: each partition's next offset, and the lag behind the ends
	local next="0:$(count kp1 0),1:$(count kp1 1),2:$(count kp1 2),3:$(count kp1 3)"
	pub kp1 101 110
	run --separate-stderr evproject --status --state-dir sd -o tsv "$src"
	assert_status 0
	assert_stderr ""
	[ "${lines[0]}" = "name	next	lag	updated	definition	skips	state_bytes	status" ]
	[ "$(printf '%s\n' "${lines[1]}" | cut -f1,2,3,5,6,8)" = "c	$next	10	--count --distinct data.i	0	idle" ]
	[ "${#lines[@]}" = 2 ]
	run --separate-stderr evproject --status --state-dir sd --name nosuch "$src"
	assert_status 66
	assert_stderr "evproject: no projection 'nosuch' in 'sd'"
	# a Lua projection: its states from the checkpoint, then the rest
	printf '%s\n' 'return {' \
		'  partition_by = function(e) return e.stream end,' \
		'  any = function(s, e) s.n = (s.n or 0) + 1; s.sum = (s.sum or 0) + e.data.i end,' '}' >n.lua
	evproject -p n.lua --name l --state-dir sd "$src" >/dev/null
	pub kp1 111 130
	run --separate-stderr evproject -p n.lua --name l --state-dir sd "$src"
	assert_status 0
	evproject -p n.lua "$src" >want
	[ "$output" = "$(cat want)" ]
	# --rebuild: from the start again, with fresh states
	run --separate-stderr evproject --count --distinct data.i --name c --state-dir sd --rebuild "$src"
	assert_status 0
	assert_stdout '{"count":130,"distinct(data.i)":130}'
	run --separate-stderr evproject --count --distinct data.i --name c --state-dir sd "$src"
	assert_status 0
	assert_stdout '{"count":130,"distinct(data.i)":130}'
}

@test "evproject kafka --name --from: the first run starts there; then the checkpoint wins over --from, as on a local log" {
	local src="kafka://$KAFKA_BROKERS/kp6" p0 p1
	pub kp6 1 30
	p0=$(count kp6 0)
	[ "$p0" -gt 2 ]
	# only partition 0, from its offset 2
	run --separate-stderr evproject --count --name f --state-dir sd --from 0:2 "$src"
	assert_status 0
	assert_stdout "{\"count\":$((p0 - 2))}"
	# the checkpoint's partitions, from its offsets: --from is passed over
	run --separate-stderr evproject --count --name f --state-dir sd --from start "$src"
	assert_status 0
	assert_stdout "{\"count\":$((p0 - 2))}"
	pub kp6 31 60
	p1=$(count kp6 0)
	run --separate-stderr evproject --count --name f --state-dir sd --from 1:0 "$src"
	assert_status 0
	assert_stdout "{\"count\":$((p1 - 2))}"
}

@test "evproject kafka --name -f: killed with SIGKILL mid-run, the next run folds every event once, none twice or lost" {
	local src="kafka://$KAFKA_BROKERS/kp2" n=$((2000 * KAFKA_SCALE)) pid ino
	pub kp2 1 "$n"
	evproject -f --count --distinct data.i --name k --state-dir sd \
		--checkpoint-every 20ms "$src" >k.out 2>k.err &
	pid=$!
	BG=$pid
	wait_file sd/projections/k.ckpt 30
	ino=$(inode sd/projections/k.ckpt)
	# more events while it runs, and a kill after a save of some of them
	pub kp2 $((n + 1)) $((2 * n)) &
	BG="$pid $!"
	wait_for "[ \"\$(inode sd/projections/k.ckpt)\" != $ino ]" 30 "a save after the first"
	kill -KILL "$pid"
	wait "$pid" || true
	wait
	[ ! -s k.out ]
	run --separate-stderr evproject --count --distinct data.i --name k --state-dir sd "$src"
	assert_status 0
	assert_stderr ""
	assert_stdout "{\"count\":$((2 * n)),\"distinct(data.i)\":$((2 * n))}"
}

@test "evproject kafka --name: one run at a time (75, naming the holder); SIGTERM saves, prints and exits 0" {
	local src="kafka://$KAFKA_BROKERS/kp3" pid
	pub kp3 1 20
	evproject -f --count --name one --state-dir sd --checkpoint-every 50ms \
		"$src" >one.out 2>one.err &
	pid=$!
	BG=$pid
	wait_file sd/projections/one.ckpt 30
	run --separate-stderr evproject --count --name one --state-dir sd "$src"
	assert_status 75
	assert_stdout ""
	assert_stderr "evproject: projection 'one' is in use by another process (pid $pid)"
	run --separate-stderr evproject --status --state-dir sd -o tsv "$src"
	assert_status 0
	[ "$(printf '%s\n' "${lines[1]}" | cut -f1,8)" = "one	running" ]
	kill -TERM "$pid"
	wait "$pid"
	[ "$(cat one.out)" = '{"count":20}' ]
	[ ! -s one.err ]
	pub kp3 21 25
	run --separate-stderr evproject --count --name one --state-dir sd "$src"
	assert_status 0
	assert_stdout '{"count":25}'
}

@test "evproject kafka --name: a checkpoint of another topic, of a local log, another definition, damaged: 65, each named" {
	local src="kafka://$KAFKA_BROKERS/kp4"
	pub kp4 1 5
	pub kp7 1 5
	evproject --count --name a --state-dir sd "kafka://$KAFKA_BROKERS/kp7" >/dev/null
	cp sd/projections/a.ckpt sd/projections/b.ckpt
	run --separate-stderr evproject --count --name b --state-dir sd "$src"
	assert_status 65
	assert_stdout ""
	assert_stderr "evproject: projection checkpoint 'sd/projections/b.ckpt' belongs to kafka topic 'kp7', not to 'kp4'
evproject: --rebuild folds it again from the start and replaces it (its skips and emit mark are lost)"
	# a local log's checkpoint given to a topic, and the other way
	events 1 3 | evpub -c l.evlog
	evproject --count --name loc --state-dir sd l.evlog >/dev/null
	cp sd/projections/loc.ckpt sd/projections/c.ckpt
	local id
	id=$(evctl info --json l.evlog | jq -r .id)
	run --separate-stderr evproject --count --name c --state-dir sd "$src"
	assert_status 65
	assert_stderr "evproject: projection checkpoint 'sd/projections/c.ckpt' belongs to log $id, not to kafka topic 'kp4'
evproject: --rebuild folds it again from the start and replaces it (its skips and emit mark are lost)"
	run --separate-stderr evproject --count --name a --state-dir sd l.evlog
	assert_status 65
	assert_stderr "evproject: projection checkpoint 'sd/projections/a.ckpt' belongs to kafka topic 'kp7', but 'l.evlog' is log $id
evproject: --rebuild folds it again from the start and replaces it (its skips and emit mark are lost)"
	# the local log's --status passes over the topic's checkpoints
	run --separate-stderr evproject --status --state-dir sd -o tsv l.evlog
	assert_status 0
	[ "$(printf '%s\n' "$output" | cut -f1)" = "$(printf 'name\nc\nloc')" ]
	# another definition: --rebuild, as on a local log
	run --separate-stderr evproject --sum data.i --name a --state-dir sd "kafka://$KAFKA_BROKERS/kp7"
	assert_status 65
	assert_stderr "evproject: projection 'a' was built by another definition (--count); this one is --sum data.i
evproject: rebuild it with this definition (--rebuild), or use another name"
	# damaged: never taken for a fresh start
	head -c 40 sd/projections/b.ckpt >sd/projections/d.ckpt
	run --separate-stderr evproject --count --name d --state-dir sd "$src"
	assert_status 65
	assert_stderr_contains "evproject: projection checkpoint 'sd/projections/d.ckpt' is damaged"
}

@test "evproject kafka --name: a checkpoint made when the topic had another partition count, or past a partition's end, is 65; --rebuild folds again" {
	local d="$BATS_TEST_TMPDIR/other" out b2 pid i
	pub kp5 1 30
	evproject --count --name p --state-dir sd "kafka://$KAFKA_BROKERS/kp5" >/dev/null
	# the same topic name on another cluster, with 2 partitions
	mkdir -p "$d"
	"$TOP/tests/kafka-mock" -C "$d" kp5:2 kp7:3 >"$d/out" 2>"$d/err" &
	pid=$!
	BG=$pid
	wait_for "[ -s '$d/out' ]" 20 "the second mock cluster"
	b2=$(head -n 1 "$d/out")
	events 1 4 | evpub "kafka://$b2/kp5"
	run --separate-stderr evproject --count --name p --state-dir sd "kafka://$b2/kp5"
	assert_status 65
	assert_stdout ""
	assert_stderr "evproject: projection checkpoint 'sd/projections/p.ckpt' was made when topic 'kp5' had 3 partitions; it has 2 now
evproject: fold the topic again from the start with --rebuild"
	run --separate-stderr evproject --count --name p --state-dir sd --rebuild "kafka://$b2/kp5"
	assert_status 0
	assert_stdout '{"count":4}'
	# back on the first cluster: 2 partitions against 3
	run --separate-stderr evproject --count --name p --state-dir sd "kafka://$KAFKA_BROKERS/kp5"
	assert_status 65
	assert_stderr "evproject: projection checkpoint 'sd/projections/p.ckpt' was made when topic 'kp5' had 2 partitions; it has 3 now
evproject: fold the topic again from the start with --rebuild"
	# the same count, but offsets past the ends (the topic made again)
	pub kp7 1 5
	evproject --count --name q --state-dir sd "kafka://$KAFKA_BROKERS/kp7" >/dev/null
	run --separate-stderr evproject --count --name q --state-dir sd "kafka://$b2/kp7"
	assert_status 65
	assert_stdout ""
	assert_stderr_contains "evproject: projection checkpoint 'sd/projections/q.ckpt' points to partition "
	assert_stderr_contains ", past its end (offset 0)
evproject: fold the topic again from the start with --rebuild"
	kill -TERM "$pid"
	wait "$pid" || true
}

@test "evproject kafka: --name and --status need --state-dir; a plain --skip offset, --retry-dlq, --rebuild with --emit-to are refused (64)" {
	local src="kafka://$KAFKA_BROKERS/kp4"
	run --separate-stderr evproject --count --name n "$src"
	assert_status 64
	assert_stdout ""
	assert_stderr "evproject: --name on a kafka log needs --state-dir DIR: a topic has no log directory to keep the checkpoint in
$EVPROJECT_USAGE"
	run --separate-stderr evproject --status "$src"
	assert_status 64
	assert_stderr "evproject: --status on a kafka log needs --state-dir DIR: a topic has no log directory to keep the checkpoint in
$EVPROJECT_USAGE"
	run --separate-stderr evproject --count --skip 3 --reason r --name n --state-dir sd "$src"
	assert_status 64
	assert_stdout ""
	assert_stderr "evproject: --skip: '3' is not PARTITION:OFFSET: a kafka log has an offset per partition
evproject: give the event's partition and offset, as a failure's hint does: --skip 0:17
$EVPROJECT_USAGE"
	# and a PARTITION:OFFSET on a local log
	events 1 3 | evpub -c l.evlog
	run --separate-stderr evproject --count --skip 0:3 --reason r --name n l.evlog
	assert_status 64
	assert_stderr_contains "evproject: --skip: '0:3' is not an offset"
	run --separate-stderr evproject -p /dev/null --retry-dlq d.evlog --name n --state-dir sd "$src"
	assert_status 64
	assert_stdout ""
	assert_stderr "evproject: --retry-dlq: not on a kafka log yet (evproject(1) KAFKA)
$EVPROJECT_USAGE"
	printf '%s\n' 'return { any = function(s, e) end }' >e.lua
	run --separate-stderr evproject -p e.lua --global --emit-to out.evlog --rebuild --name n --state-dir sd "$src"
	assert_status 64
	assert_stderr "evproject: --rebuild with --emit-to: not on a kafka log (it has no emit mark: the events emitted before would be emitted again)"
	[ ! -e sd/projections/n.ckpt ]
}

@test "evproject kafka --sqlite: the rows and an offset per partition in one transaction; incremental; --status from the mirror" {
	local src="kafka://$KAFKA_BROKERS/kq1"
	sums
	pub kq1 1 30
	run --separate-stderr evproject -p sums.lua --name m --state-dir sd --sqlite m.db "$src"
	assert_status 0
	assert_stderr ""
	run rows m.db m
	assert_stdout "s-0|4|70
s-1|5|75
s-2|5|80
s-3|4|54
s-4|4|58
s-5|4|62
s-6|4|66"
	pub kq1 31 44
	run --separate-stderr evproject -p sums.lua --name m --state-dir sd --sqlite m.db "$src"
	assert_status 0
	assert_stderr ""
	[ "$(sqlite3 m.db 'SELECT sum(n), sum(s) FROM m')" = "44|990" ]
	# the checkpoint row holds the topic and each partition's next offset
	local next="0:$(count kq1 0),1:$(count kq1 1),2:$(count kq1 2)"
	run --separate-stderr evproject --status --state-dir sd -o tsv "$src"
	assert_status 0
	[ "$(printf '%s\n' "${lines[1]}" | cut -f1,2,3)" = "m	$next	0" ]
	run sqlite3 m.db "SELECT name FROM evproject_checkpoints"
	assert_stdout "m"
	sqlite3 m.db "SELECT hex(checkpoint) FROM evproject_checkpoints" >hex
	grep -q "$(printf 'topic' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" hex
	grep -q "$(printf 'kq1' | od -An -tx1 | tr -d ' \n' | tr a-f A-F)" hex
	# a change of definition: --rebuild --shadow, --diff, --swap
	sed 's/s.s + e.data.i/s.s + 2 * e.data.i/' sums.lua >double.lua
	run --separate-stderr evproject -p double.lua --name m --state-dir sd --sqlite m.db "$src"
	assert_status 65
	assert_stderr_contains "projection 'm' was built by another definition"
	run --separate-stderr evproject -p double.lua --name m --state-dir sd --sqlite m.db --rebuild --shadow "$src"
	assert_status 0
	[ "$(sqlite3 m.db 'SELECT sum(s) FROM m')" = "990" ]
	[ "$(sqlite3 m.db.shadow 'SELECT sum(s) FROM m')" = "1980" ]
	run --separate-stderr evproject --sqlite m.db --name m --diff
	assert_status 0
	assert_stdout_contains "0 added, 0 removed, 7 changed, 0 unchanged"
	run --separate-stderr evproject --sqlite m.db --name m --swap
	assert_status 0
	pub kq1 45 46
	run --separate-stderr evproject -p double.lua --name m --state-dir sd --sqlite m.db "$src"
	assert_status 0
	assert_stderr ""
	[ "$(sqlite3 m.db 'SELECT sum(n), sum(s) FROM m')" = "46|2162" ]
}

@test "evproject kafka --sqlite: a DB of a local log, of another topic, or of another partition count is refused (65), named; --rebuild folds again" {
	local d="$BATS_TEST_TMPDIR/other" b2 pid id
	sums
	pub kq3 1 9
	pub kq4 1 9
	evproject -p sums.lua --name m --state-dir sd --sqlite t.db "kafka://$KAFKA_BROKERS/kq3" >/dev/null
	run --separate-stderr evproject -p sums.lua --name m --state-dir sd2 --sqlite t.db "kafka://$KAFKA_BROKERS/kq4"
	assert_status 65
	assert_stdout ""
	assert_stderr "evproject: the checkpoint of projection 'm' in 't.db' belongs to kafka topic 'kq3', not to 'kq4'
evproject: --rebuild folds it again from the start and replaces it (its skips and emit mark are lost)"
	# a local log's read model given to a topic, and the other way
	events 1 3 | evpub -c l.evlog
	id=$(evctl info --json l.evlog | jq -r .id)
	evproject -p sums.lua --name m --sqlite l.db l.evlog >/dev/null
	run --separate-stderr evproject -p sums.lua --name m --state-dir sd3 --sqlite l.db "kafka://$KAFKA_BROKERS/kq3"
	assert_status 65
	assert_stdout ""
	assert_stderr "evproject: the checkpoint of projection 'm' in 'l.db' belongs to log $id, not to kafka topic 'kq3'
evproject: --rebuild folds it again from the start and replaces it (its skips and emit mark are lost)"
	run --separate-stderr evproject -p sums.lua --name m --sqlite t.db l.evlog
	assert_status 65
	assert_stderr "evproject: the checkpoint of projection 'm' in 't.db' belongs to kafka topic 'kq3', but 'l.evlog' is log $id
evproject: --rebuild folds it again from the start and replaces it (its skips and emit mark are lost)"
	# the same topic name on another cluster, with 2 partitions
	mkdir -p "$d"
	"$TOP/tests/kafka-mock" -C "$d" kq3:2 >"$d/out" 2>"$d/err" &
	pid=$!
	BG=$pid
	wait_for "[ -s '$d/out' ]" 20 "the second mock cluster"
	b2=$(head -n 1 "$d/out")
	events 1 4 | evpub "kafka://$b2/kq3"
	run --separate-stderr evproject -p sums.lua --name m --state-dir sd --sqlite t.db "kafka://$b2/kq3"
	assert_status 65
	assert_stdout ""
	assert_stderr "evproject: read model checkpoint 't.db' was made when topic 'kq3' had 3 partitions; it has 2 now
evproject: fold the topic again from the start with --rebuild"
	[ "$(sqlite3 t.db 'SELECT sum(n) FROM m')" = "9" ]
	run --separate-stderr evproject -p sums.lua --name m --state-dir sd --sqlite t.db --rebuild "kafka://$b2/kq3"
	assert_status 0
	[ "$(sqlite3 t.db 'SELECT sum(n), sum(s) FROM m')" = "4|10" ]
	kill -TERM "$pid"
	wait "$pid" || true
}

@test "evproject kafka --sqlite -f: SIGKILL mid-fold, then a rerun: the rows of a clean run, no event twice or lost" {
	local src="kafka://$KAFKA_BROKERS/kq2" n=$((1000 * KAFKA_SCALE)) pid first
	sums
	pub kq2 1 "$n"
	evproject -f -p sums.lua --name k --state-dir sd --sqlite k.db \
		--checkpoint-every 20ms "$src" >k.out 2>k.err &
	pid=$!
	BG=$pid
	wait_for "[ -n \"\$(sqlite3 k.db 'SELECT updated FROM evproject_checkpoints' 2>/dev/null)\" ]" 30 "a first save"
	first=$(sqlite3 k.db 'SELECT updated FROM evproject_checkpoints')
	# more events while it runs, and a kill after a later save
	pub kq2 $((n + 1)) $((2 * n)) &
	BG="$pid $!"
	wait_for "[ \"\$(sqlite3 k.db 'SELECT updated FROM evproject_checkpoints' 2>/dev/null)\" != '$first' ]" 30 "a save after the first"
	kill -KILL "$pid"
	wait "$pid" || true
	wait
	[ ! -s k.out ]
	run --separate-stderr evproject -p sums.lua --name k --state-dir sd --sqlite k.db "$src"
	assert_status 0
	assert_stderr ""
	evproject -p sums.lua --name clean --state-dir sd --sqlite clean.db "$src" >/dev/null
	[ "$(rows k.db k)" = "$(rows clean.db clean)" ]
	[ "$(sqlite3 k.db 'SELECT sum(n), sum(s) FROM k')" = "$((2 * n))|$((n * (2 * n + 1)))" ]
}

@test "evproject kafka --skip PARTITION:OFFSET: a failed event passed over for good, recorded per partition, kept by --rebuild; one folded already is 64" {
	local src="kafka://$KAFKA_BROKERS/kq5" p o
	pub kq5 1 9
	picky
	# where data.i 5 is
	read -r p o < <(place_of_five kq5)
	[ -n "$o" ]
	run --separate-stderr evproject -p picky.lua --name pk --state-dir sk --sqlite pk.db "$src"
	assert_status 65
	assert_stdout ""
	assert_stderr_contains "five
evproject: fix the projection, or pass over the event for good with --skip $p:$o --reason TEXT"
	run --separate-stderr evproject -p picky.lua --name pk --state-dir sk --sqlite pk.db --skip "$p:$o" --reason "bad five" "$src"
	assert_status 0
	assert_stderr ""
	[ "$(sqlite3 pk.db 'SELECT sum(s) FROM pk')" = "40" ]
	# kept through --rebuild
	run --separate-stderr evproject -p picky.lua --name pk --state-dir sk --sqlite pk.db --rebuild "$src"
	assert_status 0
	[ "$(sqlite3 pk.db 'SELECT sum(s) FROM pk')" = "40" ]
	# folded already: 64, the checkpoint as it was
	run --separate-stderr evproject -p picky.lua --name pk --state-dir sk --sqlite pk.db --skip "$p:0" --reason r "$src"
	assert_status 64
	assert_stdout ""
	assert_stderr_contains "evproject: --skip $p:0: offset 0 of partition $p is folded already (projection 'pk' is at offset "
	# a checkpoint file's skips, repeated --skip (one of a partition not
	# read yet)
	run --separate-stderr evproject -p picky.lua --name pf --state-dir sk --skip "$p:$o" --skip 1:1000 --reason "bad five" "$src"
	assert_status 0
	assert_stderr ""
	assert_stdout_contains '"s":'
	[ "$(evproject -p picky.lua --name pf --state-dir sk "$src" | jq -s 'map(.state.s) | add')" = "40" ]
}

@test "evproject kafka --on-error dlq --dlq: each failed record dead-lettered with its partition and offset, to a local log or a topic; the run goes on" {
	local src="kafka://$KAFKA_BROKERS/kq6" p o
	pub kq6 1 9
	picky
	read -r p o < <(place_of_five kq6)
	[ -n "$o" ]
	run --separate-stderr evproject -p picky.lua --name pd --state-dir sd --sqlite d.db --on-error dlq --dlq d.evlog "$src"
	assert_status 0
	assert_stderr "evproject: 1 event failed in the projection and was dead-lettered to 'd.evlog'"
	[ "$(sqlite3 d.db 'SELECT sum(s) FROM pd')" = "40" ]
	run --separate-stderr evdlq ls d.evlog
	assert_status 0
	assert_stdout_contains " $p:$o "
	assert_stdout_contains "offset $p:$o: t2: partition \"s-5\": picky.lua:4: five"
	run --separate-stderr evdlq ls --json d.evlog
	[ "$(printf '%s\n' "$output" | jq -r '.source.partition')" = "$p" ]
	[ "$(printf '%s\n' "$output" | jq -r '.source.offset')" = "$o" ]
	# a dead-letter topic
	run --separate-stderr evproject -p picky.lua --name pt --state-dir sd --on-error dlq --dlq "kafka://$KAFKA_BROKERS/kqd" "$src"
	assert_status 0
	assert_stderr "evproject: 1 event failed in the projection and was dead-lettered to 'kafka://$KAFKA_BROKERS/kqd'"
	run --separate-stderr evdlq ls "kafka://$KAFKA_BROKERS/kqd"
	assert_status 0
	assert_stdout_contains " $p:$o "
	assert_stdout_contains "offset $p:$o: t2: partition \"s-5\": picky.lua:4: five"
}

@test "evproject kafka -p --global: a failure names no partition key (one state), only the record's place; the hint says where to skip" {
	local src="kafka://$KAFKA_BROKERS/kqg" p o
	pub kqg 1 9
	cat >gpicky.lua <<'LUA'
return { any = function(s, e)
  if e.data.i == 5 then error("five") end
  s.s = (s.s or 0) + e.data.i
end }
LUA
	read -r p o < <(place_of_five kqg)
	[ -n "$o" ]
	run --separate-stderr evproject -p gpicky.lua --global --name g --state-dir sd "$src"
	assert_status 65
	assert_stdout ""
	assert_stderr "evproject: offset $p:$o: t2: gpicky.lua:2: five
evproject: fix the projection, or pass over the event for good with --skip $p:$o --reason TEXT"
	run --separate-stderr evproject -p gpicky.lua --global --on-error skip "$src"
	assert_status 0
	assert_stdout '{"partition":null,"state":{"s":40}}'
	assert_stderr "evproject: warning: offset $p:$o: t2: gpicky.lua:2: five; skipped
evproject: 1 event failed in the projection and was skipped"
}
