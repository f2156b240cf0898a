#!/usr/bin/env bats
# Upcasting in the tools (evlog-upcast(5)): evtail and evreplay --upcast,
# --on-error stop|skip|dlq, evreplay --check, the set checked before any
# event is read, and evpub storing events as given.  The upcaster engine
# itself is tested in tests/unit/test_upcast.c.
load helper

# A log of order events at every version, a renamed type, a dropped
# type and a batch event split into its items.
local_setup() {
	cat >events.ndjson <<'EOF'
{"id":"o1","type":"OrderCreated","stream":"order-1","time":"2026-01-01T00:00:00Z","data":{"amount":100}}
{"id":"o2","type":"OrderCreated","stream":"order-2","time":"2026-01-01T00:00:01Z","schema":2,"data":{"amount":5,"currency":"EUR"}}
{"id":"o3","type":"OrderCreated","stream":"order-3","time":"2026-01-01T00:00:02Z","schema":3,"data":{"total":{"amount":7,"currency":"GBP"}}}
{"id":"p1","type":"OrderPlaced","stream":"order-4","time":"2026-01-01T00:00:03Z","data":{"amount":9}}
{"id":"h1","type":"Heartbeat","time":"2026-01-01T00:00:04Z"}
{"id":"b1","type":"ItemsAdded","stream":"cart-1","time":"2026-01-01T00:00:05Z","data":{"items":[{"sku":"A"},{"sku":"B"}]}}
EOF
	mkdir up
	cat >up/orders.upcast <<'EOF'
type OrderCreated
from 1
  default data.currency "USD"
from 2
  move data.amount data.total.amount
  move data.currency data.total.currency
type OrderPlaced
from 1
  default data.currency "CHF"
  retype OrderCreated
type Heartbeat
from 1
  drop
type ItemsAdded
from 1
  split data.items data.item
  retype ItemAdded
EOF
	evpub -c a.evlog <events.ndjson
}

# "id type schema data" per event of the JSON lines on stdin
summary() {
	jq -c '[.id, .type, .schema, .data]' | tr -d '"'
}

# A log whose event at offset 1 (and of the n-1 after it) cannot be
# upcast: its data is a string.
bad_log() {
	local n=${1:-1} i
	{
		echo '{"id":"g1","type":"OrderCreated","time":"2026-01-01T00:00:00Z","data":{"amount":1}}'
		for ((i = 1; i <= n; i++)); do
			echo "{\"id\":\"x$i\",\"type\":\"OrderCreated\",\"time\":\"2026-01-01T00:00:01Z\",\"data\":\"oops\"}"
		done
		echo '{"id":"g2","type":"OrderCreated","time":"2026-01-01T00:00:02Z","schema":2,"data":{"amount":2,"currency":"EUR"}}'
	} | evpub -c bad.evlog
}

FAIL1="offset 1: OrderCreated version 1: step up/orders.upcast:3: data is a string, not an object or array"

# ------------------------------------------------------------ reading

@test "evtail --upcast: every event at its current version, ids kept, schema raised" {
	run --separate-stderr sh -c 'evtail --upcast up a.evlog | jq -c "[.offset, .id, .type, .schema, .data]"'
	assert_status 0
	assert_stderr ""
	assert_stdout '[0,"o1","OrderCreated",3,{"total":{"amount":100,"currency":"USD"}}]
[1,"o2","OrderCreated",3,{"total":{"amount":5,"currency":"EUR"}}]
[2,"o3","OrderCreated",3,{"total":{"amount":7,"currency":"GBP"}}]
[3,"p1","OrderCreated",3,{"total":{"amount":9,"currency":"CHF"}}]
[5,"b1:1","ItemAdded",2,{"item":{"sku":"A"}}]
[5,"b1:2","ItemAdded",2,{"item":{"sku":"B"}}]'
}

@test "evtail without --upcast reads the events as stored" {
	run --separate-stderr sh -c 'evtail a.evlog | jq -c "[.id, .type, .schema]"'
	assert_status 0
	assert_stdout '["o1","OrderCreated",1]
["o2","OrderCreated",2]
["o3","OrderCreated",3]
["p1","OrderPlaced",1]
["h1","Heartbeat",1]
["b1","ItemsAdded",1]'
}

@test "evtail --upcast --type sees a renamed type, and not the old name" {
	run --separate-stderr sh -c 'evtail --upcast up --type OrderCreated --stream order-4 a.evlog | jq -c "[.id, .type]"'
	assert_status 0
	assert_stderr ""
	assert_stdout '["p1","OrderCreated"]'
	run --separate-stderr evtail --upcast up --type OrderPlaced a.evlog
	assert_status 0
	assert_stdout ""
	run --separate-stderr sh -c 'evtail --upcast up --type ItemAdded a.evlog | jq -r .id'
	assert_status 0
	assert_stdout 'b1:1
b1:2'
}

@test "evtail --upcast --where sees fields the steps moved" {
	run --separate-stderr sh -c "evtail --upcast up --where 'data.total.currency == \"USD\"' a.evlog | jq -r .id"
	assert_status 0
	assert_stderr ""
	assert_stdout "o1"
	# the stored field is gone from what the filter sees
	run --separate-stderr evtail --upcast up --where 'data.amount exists' a.evlog
	assert_status 0
	assert_stdout ""
	run --separate-stderr sh -c "evtail --where 'data.amount exists' a.evlog | jq -r .id"
	assert_stdout 'o1
o2
p1'
}

@test "evtail --upcast: a split gives the same derived ids on every read, and drop leaves the event out" {
	run --separate-stderr sh -c 'evtail --upcast up --stream cart-1 a.evlog | jq -r .id'
	assert_status 0
	assert_stdout 'b1:1
b1:2'
	first=$output
	run --separate-stderr sh -c 'evtail --upcast up --stream cart-1 a.evlog | jq -r .id'
	assert_stdout "$first"
	run --separate-stderr evtail --upcast up --type Heartbeat a.evlog
	assert_status 0
	assert_stdout ""
	run --separate-stderr evtail --type Heartbeat -o count a.evlog
	assert_stdout "1"
}

@test "evtail --upcast takes a single spec file as well as a directory" {
	run --separate-stderr sh -c 'evtail --upcast up/orders.upcast --count 1 a.evlog | jq -c .data'
	assert_status 0
	assert_stdout '{"total":{"amount":100,"currency":"USD"}}'
}

@test "evtail --upcast -n counts the events as upcast" {
	run --separate-stderr sh -c 'evtail --upcast up -n 2 a.evlog | jq -r .id'
	assert_status 0
	assert_stdout 'b1:1
b1:2'
}

@test "evreplay --upcast writes the events upcast to stdout" {
	run --separate-stderr sh -c 'evreplay --upcast up a.evlog | jq -c "[.id, .type, .schema]"'
	assert_status 0
	assert_stderr ""
	assert_stdout '["o1","OrderCreated",3]
["o2","OrderCreated",3]
["o3","OrderCreated",3]
["p1","OrderCreated",3]
["b1:1","ItemAdded",2]
["b1:2","ItemAdded",2]'
}

@test "evreplay --upcast --to-log stores the events upcast, with their ids and new schema" {
	# the parts of a split share the version of the event split
	run --separate-stderr evreplay --upcast up -c --to-log b.evlog a.evlog
	assert_status 75
	assert_stderr_contains "stream 'cart-1' is at version 1, event has version 1"
	run --separate-stderr evreplay --upcast up -c --renumber --to-log c.evlog a.evlog
	assert_status 0
	assert_stderr ""
	run --separate-stderr sh -c 'evtail c.evlog | jq -c "[.id, .type, .stream, .version, .schema, .data]"'
	assert_status 0
	assert_stdout '["o1","OrderCreated","order-1",1,3,{"total":{"amount":100,"currency":"USD"}}]
["o2","OrderCreated","order-2",1,3,{"total":{"amount":5,"currency":"EUR"}}]
["o3","OrderCreated","order-3",1,3,{"total":{"amount":7,"currency":"GBP"}}]
["p1","OrderCreated","order-4",1,3,{"total":{"amount":9,"currency":"CHF"}}]
["b1:1","ItemAdded","cart-1",1,2,{"item":{"sku":"A"}}]
["b1:2","ItemAdded","cart-1",2,2,{"item":{"sku":"B"}}]'
	# read with the same set, the copy is current: nothing changes
	run --separate-stderr sh -c 'evtail --upcast up c.evlog | jq -c "[.id, .schema]" | tr "\n" " "'
	assert_stdout '["o1",3] ["o2",3] ["o3",3] ["p1",3] ["b1:1",2] ["b1:2",2] '
}

@test "evpub does not upcast: an event published with schema 1 is stored as given" {
	run --separate-stderr sh -c 'evtail --type OrderCreated --count 1 a.evlog | jq -c "[.schema, .data]"'
	assert_status 0
	assert_stdout '[1,{"amount":100}]'
	run --separate-stderr evpub --upcast up a.evlog </dev/null
	assert_status 64
}

# ------------------------------------------------------------ a bad set

# The set's message and 64 from both tools, before LOG is looked at (it
# does not exist: 66 would show that it was).
bad_set() {
	local tool
	for tool in evtail evreplay; do
		run --separate-stderr "$tool" --upcast "$1" missing.evlog
		assert_status 64
		assert_stdout ""
		assert_stderr "$tool: --upcast: $2"
	done
}

@test "a gap in a chain: FILE:LINE, exit 64, nothing read" {
	mkdir s
	printf 'type A\nfrom 1\n  set data.x 1\nfrom 3\n  set data.y 2\n' >s/a.upcast
	bad_set s "s/a.upcast:4: A has no step from version 2 (between the steps from 1 and 3)"
}

@test "two steps from one version: both places named, exit 64" {
	mkdir s
	printf 'type A\nfrom 1\n  set data.x 1\n' >s/a.upcast
	printf 'type A\nfrom 1\n  set data.z 1\n' >s/b.upcast
	bad_set s "s/b.upcast:2: a second step of A from version 1 (the first is at s/a.upcast:2)"
}

@test "an unknown operation: FILE:LINE and a suggestion, exit 64" {
	mkdir s
	printf 'type A\nfrom 1\n  mvoe data.x data.y\n' >s/a.upcast
	bad_set s "s/a.upcast:3: unknown operation 'mvoe'; did you mean 'move'?"
}

@test "a Lua syntax error: FILE:LINE as Lua gives it, exit 64" {
	mkdir s
	printf 'return function(event)\n  if then\nend\n' >s/A.1.lua
	bad_set s "s/A.1.lua:2: unexpected symbol near 'then'"
}

@test "a Lua file cannot change what other files see: the string metatable is protected, libraries and _G are its own" {
	mkdir m1 m2
	# the metatable of strings is out of reach: a load error naming FILE:LINE
	printf '%s\n' 'getmetatable("").__index = {upper = function() return "HACK" end}' 'return function(e) return e end' >m1/OrderCreated.1.lua
	run --separate-stderr evtail --upcast m1 a.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "evtail: --upcast: m1/OrderCreated.1.lua:1: attempt to index a boolean value"
	# what one file sets, in its string table or through _G, the next
	# step (another file) does not see; methods of strings still work
	printf '%s\n' 'string.upper = function() return "HACK" end' 'string.mine = function() return "mine" end' '_G.leak = 1' \
		'return function(e) e.data.m = string.mine() e.data.u1 = ("a"):upper() e.data.mt = getmetatable("") return e end' >m2/OrderCreated.1.lua
	printf '%s\n' 'return function(e) e.data.u = ("a"):upper() e.data.r = ("x"):rep(3) e.data.su = string.upper("b")' \
		'  e.data.mine = type(string.mine) e.data.leak = type(leak) return e end' >m2/OrderCreated.2.lua
	run --separate-stderr sh -c 'evtail --upcast m2 --to 0 a.evlog | jq -c .data'
	assert_status 0
	assert_stderr ""
	assert_stdout '{"amount":100,"m":"mine","mt":false,"u1":"A","leak":"nil","mine":"nil","r":"xxx","su":"B","u":"A"}'
}

@test "a Lua file cannot change how another's arrays behave: the metatable of evlog.array is protected" {
	mkdir a1 a2 a3
	# getmetatable gives its name, not the table: a load error at FILE:LINE
	printf '%s\n' 'local mt = getmetatable(evlog.array())' 'mt.__index = function() return "HACK" end' 'return function(e) return e end' >a1/OrderCreated.1.lua
	run --separate-stderr evtail --upcast a1 a.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "evtail: --upcast: a1/OrderCreated.1.lua:2: attempt to index a string value (local 'mt')"
	# setmetatable on an array is refused: a failure of the step
	printf '%s\n' 'return function(e) setmetatable(evlog.array(), {__index = function() return "HACK" end}) return e end' >a2/OrderCreated.1.lua
	run --separate-stderr evtail --upcast a2 a.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: upcast failed in 'a.evlog': offset 0: OrderCreated version 1: step a2/OrderCreated.1.lua:1: cannot change a protected metatable"
	# what one step tries, caught, changes nothing for the next file's
	# arrays, which still encode as arrays
	printf '%s\n' 'return function(e) local mt = getmetatable(evlog.array()) e.data.mt = mt' \
		'  e.data.set = select(2, pcall(setmetatable, evlog.array(), {__newindex = function() end}))' \
		'  e.data.raw = select(2, pcall(rawset, mt, "__len", 0)) return e end' >a3/OrderCreated.1.lua
	printf '%s\n' 'return function(e) local a = evlog.array() a[1] = "x" e.data.a = a e.data.e = evlog.array()' \
		'  e.data.h = a[9] == nil e.data.n = #a e.data.same = getmetatable(a) == e.data.mt return e end' >a3/OrderCreated.2.lua
	run --separate-stderr sh -c 'evtail --upcast a3 --to 0 a.evlog | jq -c .data'
	assert_status 0
	assert_stderr ""
	assert_stdout '{"amount":100,"mt":"evlog.array","raw":"bad argument #1 to '"'"'rawset'"'"' (table expected, got string)","set":"cannot change a protected metatable","a":["x"],"e":[],"h":true,"n":1,"same":true}'
}

@test "a Lua finalizer (__gc) is refused: a load error at FILE:LINE (64), a failure of the step (65), never a hang" {
	mkdir g1 g2 g3
	printf '%s\n' 'setmetatable({}, {__gc=function() while true do end end})' 'return function(e) return e end' >g1/OrderCreated.1.lua
	printf '%s\n' 'return function(e)' '  error(setmetatable({}, {__gc=function() while true do end end}))' 'end' >g2/OrderCreated.1.lua
	printf '%s\n' 'return function(e)' '  setmetatable({}, {__gc=function() while true do end end})' '  return e' 'end' >g3/OrderCreated.1.lua
	for check in "" --check; do
		run --separate-stderr timeout 60 evreplay $check --upcast g1 a.evlog
		assert_status 64
		assert_stdout ""
		assert_stderr "evreplay: --upcast: g1/OrderCreated.1.lua:1: setmetatable: __gc is not allowed in the sandbox"
	done
	run --separate-stderr timeout 60 evreplay --upcast g2 a.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evreplay: upcast failed in 'a.evlog': offset 0: OrderCreated version 1: step g2/OrderCreated.1.lua:2: setmetatable: __gc is not allowed in the sandbox"
	run --separate-stderr timeout 60 evreplay --upcast g3 --on-error skip --to 1 -o json a.evlog
	assert_status 0
	assert_stdout '{"offset":1,"id":"o2","type":"OrderCreated","stream":"order-2","version":1,"time":"2026-01-01T00:00:01.000Z","schema":2,"data":{"amount":5,"currency":"EUR"}}'
	assert_stderr "evreplay: warning: offset 0: OrderCreated version 1: step g3/OrderCreated.1.lua:2: setmetatable: __gc is not allowed in the sandbox; skipped
evreplay: 1 event could not be upcast and was skipped"
}

@test "SIGTERM ends a Lua step that runs long: evreplay stops before its event, which is not a failure, and exits 0" {
	mkdir slow
	# every other event runs out the instruction budget: dead-lettered
	printf '%s\n' 'local n = 0' 'return function(e) n = n + 1; if n % 2 == 0 then while true do end end; return e end' >slow/T.1.lua
	for ((i = 0; i < 1000; i++)); do
		echo "{\"id\":\"s$i\",\"type\":\"T\",\"time\":\"2026-01-01T00:00:00Z\"}"
	done | evpub -c slow.evlog
	evreplay --upcast slow --on-error dlq --dlq d.evlog --template '{id}' slow.evlog >out 2>err &
	local pid=$! i n st=0
	sleep 3
	kill -TERM "$pid"
	# a step ends within 1000 instructions, not after its 100,000,000
	# (each one's, for the rest of the batch: minutes)
	for ((i = 0; i < 600; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid"
		echo "evreplay did not stop within 60 s of SIGTERM" >&2
		return 1
	fi
	wait "$pid" || st=$?
	[ "$st" -eq 0 ]
	n=$(sed -n 's/^evreplay: stopped before offset \([0-9]*\); resume with --from \1$/\1/p' err)
	[ -n "$n" ]
	# the events before it: the even ones printed, the odd ones dead-lettered
	[ "$(cat out)" = "$(for ((i = 0; i < n; i += 2)); do echo "s$i"; done)" ]
	[ "$(evtail -o count d.evlog)" -eq $((n / 2)) ]
	if [ $((n / 2)) -eq 0 ]; then
		[ "$(cat err)" = "evreplay: stopped before offset $n; resume with --from $n" ]
	else
		[ "$(sed -n 2p err)" = "evreplay: $((n / 2)) event$([ $((n / 2)) -eq 1 ] || echo s) could not be upcast and $([ $((n / 2)) -eq 1 ] && echo was || echo were) dead-lettered to 'd.evlog'" ]
		[ "$(wc -l <err)" -eq 2 ]
	fi
}

@test "evlog.array() with no argument is an empty array" {
	mkdir e1
	printf '%s\n' 'return function(e) e.data = {items = evlog.array()}; return e end' >e1/OrderCreated.1.lua
	run --separate-stderr evreplay --upcast e1 --to 0 -o json a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout '{"offset":0,"id":"o1","type":"OrderCreated","stream":"order-1","version":1,"time":"2026-01-01T00:00:00.000Z","schema":2,"data":{"items":[]}}'
}

@test "a bad set stops a real read too, and a group is not made" {
	mkdir s
	printf 'type A\nfrom 2\n  frob\n' >s/a.upcast
	run --separate-stderr evtail --upcast s --group g a.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr_contains "s/a.upcast:3: unknown operation 'frob'"
	[ -z "$(ls a.evlog/groups 2>/dev/null)" ]
	# where a group would be
	evtail --upcast up --group g a.evlog >/dev/null
	[ -n "$(ls a.evlog/groups 2>/dev/null)" ]
}

@test "a missing --upcast PATH exits 66" {
	for tool in evtail evreplay; do
		run --separate-stderr "$tool" --upcast nothere a.evlog
		assert_status 66
		assert_stdout ""
		assert_stderr "$tool: --upcast: cannot open 'nothere': No such file or directory"
	done
}

# ------------------------------------------------------------ failures

@test "--on-error stop (the default): exit 65 naming offset, type, version, step and reason" {
	bad_log
	for tool in evtail evreplay; do
		run --separate-stderr "$tool" --upcast up bad.evlog
		assert_status 65
		assert_stdout '{"offset":0,"id":"g1","type":"OrderCreated","time":"2026-01-01T00:00:00.000Z","schema":3,"data":{"total":{"amount":1,"currency":"USD"}}}'
		assert_stderr "$tool: upcast failed in 'bad.evlog': $FAIL1"
		run --separate-stderr "$tool" --upcast up --on-error stop bad.evlog
		assert_status 65
		assert_stderr "$tool: upcast failed in 'bad.evlog': $FAIL1"
	done
}

@test "--on-error skip: a warning per event, the count at the end, exit 0" {
	bad_log
	for tool in evtail evreplay; do
		run --separate-stderr sh -c "$tool --upcast up --on-error skip bad.evlog | jq -r .id"
		assert_status 0
		assert_stdout 'g1
g2'
		assert_stderr "$tool: warning: $FAIL1; skipped
$tool: 1 event could not be upcast and was skipped"
	done
}

@test "--on-error skip warns of the first 10 events, then counts them all" {
	bad_log 14
	run --separate-stderr evtail --upcast up --on-error skip -o count bad.evlog
	assert_status 0
	assert_stdout "2"
	[ "$(grep -c '; skipped$' <<<"$stderr")" -eq 10 ]
	assert_stderr_contains "offset 10: OrderCreated version 1"
	[[ $stderr != *"offset 11: "* ]]
	[ "$(tail -n 1 <<<"$stderr")" = "evtail: 14 events could not be upcast and were skipped" ]
}

@test "--on-error dlq: the event as stored goes to --dlq with the failure, exit 0" {
	bad_log
	run --separate-stderr sh -c 'evtail --upcast up --on-error dlq --dlq d.evlog bad.evlog | jq -r .id'
	assert_status 0
	assert_stdout 'g1
g2'
	assert_stderr "evtail: 1 event could not be upcast and was dead-lettered to 'd.evlog'"
	run --separate-stderr sh -c 'evtail d.evlog | jq -c "[.type, .data.original.id, .data.original.schema, .data.original.data, .data.originalOffset, .data.exceptionFqcn, .data.exceptionMessage]"'
	assert_status 0
	assert_stdout "[\"DeadLetter\",\"x1\",1,\"oops\",1,\"evlog.UpcastFailed\",\"$FAIL1\"]"
	# evdlq lists it as any other letter
	run --separate-stderr sh -c 'evdlq ls --json d.evlog | jq -c "[.state, .source.offset, .type, .error]"'
	assert_status 0
	assert_stdout "[\"open\",1,\"OrderCreated\",\"$FAIL1\"]"
	# a second read writes the next round, under a new id
	run --separate-stderr evreplay --upcast up --on-error dlq --dlq d.evlog bad.evlog
	assert_status 0
	assert_stderr "evreplay: 1 event could not be upcast and was dead-lettered to 'd.evlog'"
	run --separate-stderr sh -c 'evtail d.evlog | jq -r .data.round'
	assert_stdout '1
2'
}

@test "--on-error dlq with --exec and --group: upcast failures and handler failures share --dlq" {
	bad_log
	run --separate-stderr evtail --upcast up --on-error dlq --group g \
		--exec 'cat >/dev/null' --dlq d.evlog bad.evlog
	assert_status 0
	assert_stderr "evtail: 1 event could not be upcast and was dead-lettered to 'd.evlog'"
	run --separate-stderr sh -c 'evtail d.evlog | jq -r .data.exceptionFqcn'
	assert_stdout "evlog.UpcastFailed"
}

@test "--on-error: usage errors" {
	for tool in evtail evreplay; do
		run --separate-stderr "$tool" --on-error skip a.evlog
		assert_status 64
		assert_stderr_contains "$tool: --on-error needs --upcast"
		run --separate-stderr "$tool" --upcast up --on-error later a.evlog
		assert_status 64
		assert_stderr_contains "$tool: --on-error: 'later' is not stop, skip or dlq"
		run --separate-stderr "$tool" --upcast up --on-error dlq a.evlog
		assert_status 64
		assert_stderr_contains "$tool: --on-error=dlq needs --dlq DLQLOG"
		# --dlq alone is --exec's, or --on-error dlq's
		run --separate-stderr "$tool" --upcast up --dlq d.evlog a.evlog
		assert_status 64
		assert_stdout ""
		assert_stderr_line 0 "$tool: --dlq needs --exec or --on-error dlq"
	done
	[ ! -e d.evlog ]
}

# ------------------------------------------------------------ --check

@test "evreplay --check: the counts per type and version, exit 0 when all upcast" {
	run --separate-stderr evreplay --check --upcast up a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "TYPE          VERSION  UPCAST  UNCHANGED  FAILED
Heartbeat           1       1          0       0
ItemsAdded          1       1          0       0
OrderCreated        1       1          0       0
OrderCreated        2       1          0       0
OrderCreated        3       0          1       0
OrderPlaced         1       1          0       0"
}

@test "evreplay --check: a failure named by offset, type, version, step and reason; exit 65" {
	bad_log
	run --separate-stderr evreplay --check --upcast up bad.evlog
	assert_status 65
	assert_stderr "evreplay: 1 event could not be upcast"
	assert_stdout "TYPE          VERSION  UPCAST  UNCHANGED  FAILED
OrderCreated        1       1          0       1
OrderCreated        2       1          0       0
$FAIL1"
}

@test "evreplay --check lists the first 20 failures, then how many more" {
	bad_log 25
	run --separate-stderr evreplay --check --upcast up bad.evlog
	assert_status 65
	assert_stderr "evreplay: 25 events could not be upcast"
	[ "$(grep -c '^offset ' <<<"$output")" -eq 20 ]
	assert_stdout_contains "OrderCreated        1       1          0      25"
	assert_stdout_contains "offset 20: OrderCreated version 1"
	[[ $output != *"offset 21: "* ]]
	[ "$(tail -n 1 <<<"$output")" = "... and 5 more failures" ]
}

@test "evreplay --check takes a selection" {
	bad_log
	run --separate-stderr evreplay --check --upcast up --to 0 bad.evlog
	assert_status 0
	assert_stdout "TYPE          VERSION  UPCAST  UNCHANGED  FAILED
OrderCreated        1       1          0       0"
}

@test "evreplay --check: usage errors" {
	run --separate-stderr evreplay --check a.evlog
	assert_status 64
	assert_stderr_contains "evreplay: --check needs --upcast PATH"
	for extra in "--to-log b.evlog" "--exec true" "-o pretty" "--group g" \
		"--on-error skip" "--rate 10/s"; do
		run --separate-stderr evreplay --check --upcast up $extra a.evlog
		assert_status 64
		assert_stdout ""
		assert_stderr_contains "evreplay: --check reports on every event instead of delivering them"
	done
	[ ! -e b.evlog ]
	run --separate-stderr evreplay --check --upcast up -n 2 a.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr_contains "evreplay: --check and -n cannot be combined"

}

# ------------------------------------------------------------ consumers

@test "--upcast with --exec: the handler gets the event upcast" {
	run --separate-stderr evtail --upcast up --group g --type ItemAdded \
		--exec 'jq -c "[.id, .type, .schema, .data]"' a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout '["b1:1","ItemAdded",2,{"item":{"sku":"A"}}]
["b1:2","ItemAdded",2,{"item":{"sku":"B"}}]'
	run --separate-stderr evreplay --upcast up --stream order-4 \
		--exec 'jq -c "[.id, .type, .schema]"' a.evlog
	assert_status 0
	assert_stdout '["p1","OrderCreated",3]'
}

@test "--on-error stop with --group: the group stays before the event, and resumes there" {
	bad_log
	run --separate-stderr evtail --upcast up --group g bad.evlog
	assert_status 65
	assert_stderr "evtail: upcast failed in 'bad.evlog': $FAIL1"
	run --separate-stderr evctl groups --json bad.evlog
	assert_stdout_contains '"group":"g","next":1,'
	run --separate-stderr sh -c 'evtail --upcast up --group g --on-error skip bad.evlog | jq -r .id'
	assert_status 0
	assert_stdout "g2"
	assert_stderr "evtail: warning: $FAIL1; skipped
evtail: 1 event could not be upcast and was skipped"
	run --separate-stderr evctl groups --json bad.evlog
	assert_stdout_contains '"group":"g","next":3,'
}

@test "--upcast --type of a type only upcasting makes: no 'matches nothing' notice" {
	run --separate-stderr evtail --type ItemAdded a.evlog
	assert_status 0
	assert_stderr "evtail: no event type in 'a.evlog' matches 'ItemAdded'; closest: ItemsAdded"
	for tool in evtail evreplay; do
		run --separate-stderr "$tool" --upcast up --type ItemAdded -o json a.evlog
		assert_status 0
		assert_stderr ""
		[ "${#lines[@]}" -eq 2 ]
	done
}

@test "a Lua step that gives a type with a control character or a stream that is not UTF-8 fails, exit 65; the strings it keeps pass" {
	mkdir l1 l2 l3
	echo 'return function(e) e.type = "Bad\1Type"; return e end' >l1/OrderCreated.1.lua
	echo 'return function(e) e.stream = "s" .. string.char(255); return e end' >l2/OrderCreated.1.lua
	echo 'return function(e) e.key = e.stream; e.data.x = 1; return e end' >l3/OrderCreated.1.lua
	for tool in evtail evreplay; do
		run --separate-stderr "$tool" --upcast l1 --to 0 a.evlog
		assert_status 65
		assert_stdout ""
		assert_stderr "$tool: upcast failed in 'a.evlog': offset 0: OrderCreated version 1: step l1/OrderCreated.1.lua: the event's type has a control character"
		run --separate-stderr "$tool" --upcast l2 --to 0 a.evlog
		assert_status 65
		assert_stdout ""
		assert_stderr "$tool: upcast failed in 'a.evlog': offset 0: OrderCreated version 1: step l2/OrderCreated.1.lua: the event's type, stream or key is not UTF-8"
		run --separate-stderr "$tool" --upcast l3 --to 0 -o json a.evlog
		assert_status 0
		assert_stderr ""
		assert_stdout '{"offset":0,"id":"o1","type":"OrderCreated","stream":"order-1","version":1,"time":"2026-01-01T00:00:00.000Z","schema":2,"key":"order-1","data":{"amount":100,"x":1}}'
	done
}

@test "--since and --stream see the time and stream a Lua step gives, not the stored ones" {
	# enough events for the time index to skip, and a step that moves
	# some of them to 2030 and into streams of their own
	evgen 3000 --seed 2 | evpub -c big.evlog
	mkdir lua
	for v in 1 2; do
		printf 'return function(e) e.stream = "zz-" .. e.offset; e.time = "2030-01-01T00:00:00Z"; return e end\n' \
			>"lua/PaymentFailed.$v.lua"
	done
	local want
	want=$(evtail --type PaymentFailed -o count big.evlog)
	[ "$want" -gt 10 ]
	for tool in evtail evreplay; do
		run --separate-stderr "$tool" --upcast lua --since 2029-01-01 -o json big.evlog
		assert_status 0
		assert_stderr ""
		[ "${#lines[@]}" -eq "$want" ]
		[ "$(jq -r .type <<<"$output" | sort -u)" = PaymentFailed ]
		run --separate-stderr "$tool" --upcast lua --stream 'zz-*' -o json big.evlog
		assert_status 0
		assert_stderr ""
		[ "${#lines[@]}" -eq "$want" ]
		local one
		one=$(jq -r .stream <<<"${lines[0]}")
		run --separate-stderr "$tool" --upcast lua --stream "$one" --template '{stream}' big.evlog
		assert_status 0
		assert_stderr ""
		assert_stdout "$one"
	done
	# a declarative set leaves them alone: the stored time still seeks
	run --separate-stderr evtail --upcast up --since 2029-01-01 big.evlog
	assert_status 0
	assert_stdout ""
}

# ------------------------------------------------------------ the queue
# A read that upcasts does most of it on the reader's read-ahead threads,
# batch by batch, several batches ahead of the scan (lib/scan.c); what
# they leave (here: the failures) the scan upcasts in its turn.  A set
# with Lua steps is upcast on a thread of its own instead, a queue of
# batches ahead of the scan (the last test).  So:
# failures in the middle of the batches read ahead, in batches that
# follow one another, and a scan that ends while batches are read ahead.

# A log of n OrderCreated events in batches of 500, ids e0.., whose
# events at the offsets given after n cannot be upcast (their data is a
# string).
@test "a Lua step that fails after the declarative steps before it: stop, skip and dlq name the Lua step, and dlq keeps the event as stored" {
	# the scan runs the declarative steps before a Lua one, and the
	# Lua thread the rest: a failure is the same as when one thread
	# does both
	mkdir upl
	printf 'type OrderCreated\nfrom 1\n  default data.currency "USD"\n' >upl/a.upcast
	cat >upl/OrderCreated.2.lua <<'LUA'
return function(e)
	local d = e.data
	if d.amount % 500 == 7 then error("bad amount " .. d.amount) end
	d.total = {amount = d.amount, currency = d.currency}
	d.amount = nil
	d.currency = nil
	return e
end
LUA
	local bad="7 507 1007 1507 2007 2507" o w
	queue_log 3000
	lfail() {
		echo "offset $1: OrderCreated version 2: step upl/OrderCreated.2.lua:3: bad amount $1"
	}
	run --separate-stderr sh -c 'evreplay --upcast upl q.evlog >out'
	assert_status 65
	assert_stderr "evreplay: upcast failed in 'q.evlog': $(lfail 7)"
	run queue_got out
	assert_stdout "$(queue_ids 0 6 | sed 's/$/ 3/')"
	run --separate-stderr sh -c 'evtail --upcast upl --on-error skip q.evlog >out'
	assert_status 0
	w=""
	for o in $bad; do w+="evtail: warning: $(lfail $o); skipped"$'\n'; done
	assert_stderr "${w}evtail: 6 events could not be upcast and were skipped"
	run queue_got out
	assert_stdout "$(queue_ids 0 2999 $bad | sed 's/$/ 3/')"
	run --separate-stderr sh -c 'evreplay --upcast upl --on-error dlq --dlq d.evlog q.evlog >out'
	assert_status 0
	assert_stderr "evreplay: 6 events could not be upcast and were dead-lettered to 'd.evlog'"
	run queue_got out
	assert_stdout "$(queue_ids 0 2999 $bad | sed 's/$/ 3/')"
	run --separate-stderr sh -c 'evtail d.evlog | jq -c "[.data.originalOffset, .data.original.schema, .data.original.data]"'
	assert_status 0
	assert_stdout "$(for o in $bad; do echo "[$o,1,{\"amount\":$o}]"; done)"
	run --separate-stderr sh -c 'evtail d.evlog | jq -r .data.exceptionMessage'
	assert_stdout "$(for o in $bad; do lfail $o; done)"
}
queue_log() {
	local n=$1
	shift
	awk -v n="$n" -v bad=" $* " 'BEGIN {
		for (i = 0; i < n; i++)
			if (index(bad, " " i " "))
				printf "{\"id\":\"e%d\",\"type\":\"OrderCreated\",\"time\":\"2026-01-01T00:00:00Z\",\"data\":\"oops\"}\n", i
			else
				printf "{\"id\":\"e%d\",\"type\":\"OrderCreated\",\"time\":\"2026-01-01T00:00:00Z\",\"data\":{\"amount\":%d}}\n", i, i
	}' | evpub --batch-events 500 -c q.evlog
}

# The ids of offsets $1 to $2, less those after them, one a line
queue_ids() {
	local from=$1 to=$2
	shift 2
	awk -v from="$from" -v to="$to" -v bad=" $* " 'BEGIN {
		for (i = from; i <= to; i++)
			if (!index(bad, " " i " "))
				print "e" i
	}'
}

# The id and schema of each JSON line of file $1, and of each whose
# amount is not its number
queue_got() {
	sed 's/^{"offset":\([0-9]*\),"id":"\([^"]*\)".*"schema":\([0-9]*\),"data":{"total":{"amount":\([0-9]*\),.*/\2 \3 \1 \4/' "$1" |
		awk '$3 != $4 || $3 != substr($1, 2) { print "bad: " $0; next } { print $1 " " $2 }'
}

queue_fail() {
	echo "offset $1: OrderCreated version 1: step up/orders.upcast:3: data is a string, not an object or array"
}

@test "the upcast queue: --on-error stop in its middle gives every event before, in order, then exit 65" {
	queue_log 6000 2500 2501 4000
	for tool in evtail evreplay; do
		run --separate-stderr sh -c "$tool --upcast up q.evlog >out"
		assert_status 65
		assert_stderr "$tool: upcast failed in 'q.evlog': $(queue_fail 2500)"
		run queue_got out
		assert_stdout "$(queue_ids 0 2499 | sed 's/$/ 3/')"
	done
}

@test "the upcast queue: --on-error skip past failures in batches one after another, and in the last" {
	# batches 2, 3, 4 and the last of 12: the scan upcasts the failures,
	# the threads the rest
	local bad="600 1100 1101 1600 5999" w o
	queue_log 6000 $bad
	for tool in evtail evreplay; do
		run --separate-stderr sh -c "$tool --upcast up --on-error skip q.evlog >out"
		assert_status 0
		w=""
		for o in $bad; do w+="$tool: warning: $(queue_fail $o); skipped"$'\n'; done
		assert_stderr "${w}$tool: 5 events could not be upcast and were skipped"
		run queue_got out
		assert_stdout "$(queue_ids 0 5999 $bad | sed 's/$/ 3/')"
	done
}

@test "the upcast queue: --on-error dlq dead-letters each failure once, in order, the rest upcast" {
	local bad="1 700 701 3000 3001 3002 5120"
	queue_log 6000 $bad
	run --separate-stderr sh -c 'evreplay --upcast up --on-error dlq --dlq d.evlog q.evlog >out'
	assert_status 0
	assert_stderr "evreplay: 7 events could not be upcast and were dead-lettered to 'd.evlog'"
	run queue_got out
	assert_stdout "$(queue_ids 0 5999 $bad | sed 's/$/ 3/')"
	run --separate-stderr sh -c 'evtail d.evlog | jq -r "[.data.original.id, .data.originalOffset] | @tsv"'
	assert_status 0
	assert_stdout "$(for o in $bad; do printf 'e%d\t%d\n' $o $o; done)"
}

@test "the upcast queue: reads that end with batches queued (--to, a failure, a count)" {
	queue_log 6000 5000
	run --separate-stderr sh -c 'evreplay --upcast up --to 1234 q.evlog >out'
	assert_status 0
	assert_stderr ""
	run queue_got out
	assert_stdout "$(queue_ids 0 1234 | sed 's/$/ 3/')"
	# a group stops before the failure, far behind what was read ahead
	run --separate-stderr sh -c 'evtail --upcast up --group g q.evlog >out'
	assert_status 65
	assert_stderr "evtail: upcast failed in 'q.evlog': $(queue_fail 5000)"
	[ "$(wc -l <out)" -eq 5000 ]
	run --separate-stderr evtail --upcast up --from 4990 --to 4999 -o count q.evlog
	assert_status 0
	assert_stdout "10"
	run --separate-stderr evtail --upcast up --to 4999 -o count q.evlog
	assert_status 0
	assert_stdout "5000"
}

@test "the upcast queue of a set with a Lua step (its own thread): stop, skip and dlq in the middle and in batches one after another" {
	# a Lua state is not shared: such a set is upcast on one thread of
	# its own, a queue of batches ahead of the scan
	mkdir upl
	printf 'type OrderCreated\nfrom 1\n  default data.currency "USD"\n' >upl/a.upcast
	cat >upl/OrderCreated.2.lua <<'LUA'
return function(e)
	local d = e.data
	d.total = {amount = d.amount, currency = d.currency}
	d.amount = nil
	d.currency = nil
	return e
end
LUA
	local bad="600 1100 1101 1600 5999" o w
	queue_log 6000 $bad
	lfail() {
		echo "offset $1: OrderCreated version 1: step upl/a.upcast:3: data is a string, not an object or array"
	}
	run --separate-stderr sh -c 'evreplay --upcast upl q.evlog >out'
	assert_status 65
	assert_stderr "evreplay: upcast failed in 'q.evlog': $(lfail 600)"
	run queue_got out
	assert_stdout "$(queue_ids 0 599 | sed 's/$/ 3/')"
	run --separate-stderr sh -c 'evtail --upcast upl --on-error skip q.evlog >out'
	assert_status 0
	w=""
	for o in $bad; do w+="evtail: warning: $(lfail $o); skipped"$'\n'; done
	assert_stderr "${w}evtail: 5 events could not be upcast and were skipped"
	run queue_got out
	assert_stdout "$(queue_ids 0 5999 $bad | sed 's/$/ 3/')"
	run --separate-stderr sh -c 'evreplay --upcast upl --on-error dlq --dlq d.evlog q.evlog >out'
	assert_status 0
	assert_stderr "evreplay: 5 events could not be upcast and were dead-lettered to 'd.evlog'"
	run queue_got out
	assert_stdout "$(queue_ids 0 5999 $bad | sed 's/$/ 3/')"
	run --separate-stderr sh -c 'evtail d.evlog | jq -r .data.originalOffset'
	assert_status 0
	assert_stdout "$(printf '%s\n' $bad)"
}

@test "--upcast: a Lua step reads a scalar data (a number, a string), and what it leaves is kept as stored" {
	printf '%s\n' '{"id":"a","type":"T","data":1}' '{"id":"b","type":"T","data":"s"}' \
		'{"id":"c","type":"T","data":2.5}' '{"id":"d","type":"T","data":null}' | evpub -c L
	mkdir str keep
	echo 'return function(e) e.data = e.data == evlog.null and "null" or tostring(e.data) return e end' >str/T.1.lua
	echo 'return function(e) local d = e.data return e end' >keep/T.1.lua
	run --separate-stderr evtail --upcast str -o json --fields id,data L
	assert_status 0
	assert_stderr ""
	assert_stdout '{"id":"a","data":"1"}
{"id":"b","data":"s"}
{"id":"c","data":"2.5"}
{"id":"d","data":"null"}'
	run --separate-stderr evtail --upcast keep -o json --fields id,data L
	assert_status 0
	assert_stderr ""
	assert_stdout '{"id":"a","data":1}
{"id":"b","data":"s"}
{"id":"c","data":2.5}
{"id":"d","data":null}'
}
