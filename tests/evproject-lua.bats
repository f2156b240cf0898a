#!/usr/bin/env bats
# evproject beyond the folds: Lua projections (states, partitions,
# --global, --partition, emit, --on-error), checkpoints (--name,
# incremental runs, the lock, definitions, --rebuild, --skip, --status,
# -f), SQLite read models (--sqlite, --shadow, --diff, --swap) and
# --test; every usage and input error with its message and status.
load helper

# Ten bank events: three accounts, deposits and withdrawals.
bank() {
	evpub -c bank.evlog <"$TOP/examples/bank/events.ndjson"
	cp "$TOP/examples/bank/balance.lua" balance.lua
}

# A projection that fails on withdrawals above 200.
picky() {
	cat >picky.lua <<'LUA'
return {
  on = {
    MoneyDeposited = function(s, e) s.in_ = (s.in_ or 0) + e.data.amount end,
    MoneyWithdrawn = function(s, e)
      if e.data.amount > 200 then error("too much: " .. e.data.amount) end
      s.out = (s.out or 0) + e.data.amount
    end,
  },
}
LUA
}

@test "evproject -p: one state per stream, as ndjson, a table or --partition" {
	bank
	run --separate-stderr evproject -p balance.lua bank.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout '{"partition":"acct-1","state":{"balance":455,"deposits":2,"withdrawals":1}}
{"partition":"acct-2","state":{"balance":750,"deposits":1,"withdrawals":2}}
{"partition":"acct-3","state":{"balance":40,"deposits":1,"withdrawals":0}}'
	run --separate-stderr evproject -p balance.lua -o table --sort -partition --limit 2 bank.evlog
	assert_status 0
	assert_stdout 'partition  state
acct-3     {"balance":40,"deposits":1,"withdrawals":0}
acct-2     {"balance":750,"deposits":1,"withdrawals":2}'
	run --separate-stderr evproject -p balance.lua --partition acct-2 bank.evlog
	assert_status 0
	assert_stdout '{"balance":750,"deposits":1,"withdrawals":2}'
	run --separate-stderr evproject -p balance.lua --partition acct-9 bank.evlog
	assert_status 1
	assert_stdout ""
	assert_stderr "evproject: no partition 'acct-9'"
}

@test "evproject -p --global: one state for every event; partition_by picks partitions and skips with nil" {
	bank
	cat >total.lua <<'LUA'
return { any = function(s, e) s.n = (s.n or 0) + 1 end }
LUA
	run --separate-stderr evproject -p total.lua --global bank.evlog
	assert_status 0
	assert_stdout '{"partition":null,"state":{"n":10}}'
	cat >owner.lua <<'LUA'
return {
  partition_by = function(e) if e.type == "AccountOpened" then return e.data.owner end end,
  any = function(s, e) s.stream = e.stream end,
}
LUA
	run --separate-stderr evproject -p owner.lua bank.evlog
	assert_status 0
	assert_stdout '{"partition":"Ann","state":{"stream":"acct-1"}}
{"partition":"Bo","state":{"stream":"acct-2"}}
{"partition":"Cy","state":{"stream":"acct-3"}}'
	run --separate-stderr evproject -p owner.lua --global bank.evlog
	assert_status 64
	assert_stderr_contains "evproject: --global: "
	assert_stderr_contains "has partition_by"
}

@test "evproject -p: a bad projection exits 64 naming FILE:LINE; a missing one 66" {
	bank
	printf 'return {\n  on = { X = function(s, e) s.a = end },\n}\n' >bad.lua
	run --separate-stderr evproject -p bad.lua bank.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr_contains "evproject: -p: bad.lua:2: "
	echo 'return { init = function() return {} end }' >none.lua
	run --separate-stderr evproject -p none.lua bank.evlog
	assert_status 64
	assert_stderr "evproject: -p: none.lua: the projection has no handlers (on or any)"
	run --separate-stderr evproject -p nope.lua bank.evlog
	assert_status 66
	assert_stderr_contains "evproject: -p: "
	assert_stderr_contains "nope.lua"
	echo 'return { any = function(s, e) os.execute("touch pwned") end }' >evil.lua
	run --separate-stderr evproject -p evil.lua bank.evlog
	assert_status 65
	[ ! -e pwned ]
}

@test "evproject -p: a Lua finalizer (__gc) is refused, never a hang; evlog.array() is an empty array" {
	bank
	printf '%s\n' 'return { any = function(s, e) setmetatable({}, {__gc=function() while true do end end}); s.n = 1 end }' >gc.lua
	run --separate-stderr timeout 60 evproject -p gc.lua bank.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr 'evproject: offset 0: AccountOpened: partition "acct-1": gc.lua:1: setmetatable: __gc is not allowed in the sandbox'
	printf '%s\n' 'setmetatable({}, {__gc=function() while true do end end})' 'return { any = function(s, e) end }' >gcfile.lua
	run --separate-stderr timeout 60 evproject -p gcfile.lua bank.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "evproject: -p: gcfile.lua:1: setmetatable: __gc is not allowed in the sandbox"
	printf '%s\n' 'return { any = function(s, e) s.seen = s.seen or evlog.array(); s.seen[#s.seen + 1] = e.type end }' >arr.lua
	run --separate-stderr evproject -p arr.lua --partition acct-3 bank.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout '{"seen":["AccountOpened","MoneyDeposited"]}'
}

@test "evproject: the options that do not go together exit 64 with the reason" {
	bank
	local u
	for u in "-p balance.lua --count:-p and the fold options do not go together" \
		"--count --global:--global needs -p FILE.lua" \
		"--count --partition a:--partition needs -p FILE.lua" \
		"--count --emit-to e.evlog:--emit-to needs -p FILE.lua" \
		"-p balance.lua --sqlite m.db:--sqlite needs --name" \
		"-p balance.lua --name b --table t:--table needs --sqlite" \
		"-p balance.lua --name b --skip 3:--skip needs --reason TEXT" \
		"-p balance.lua --name b --reason x:--reason needs --skip" \
		"-p balance.lua --skip 3 --reason x:--skip needs --name" \
		"-p balance.lua --rebuild:--rebuild needs --name" \
		"-p balance.lua --wait:--wait needs --name" \
		"-p balance.lua --name b --checkpoint-every 1s:--checkpoint-every needs -f and --name" \
		"-p balance.lua --name b --sqlite m.db --shadow:--shadow needs --rebuild and --sqlite" \
		"-p balance.lua --on-error dlq:--on-error=dlq needs --dlq DLQLOG" \
		"--status --count:--status lists checkpoints: it takes no projection" \
		"--status --diff:--test, --status, --diff and --swap go one at a time" \
		"--diff --name b:--diff needs --sqlite DB" \
		"--swap --sqlite m.db:--swap needs --name or --table"; do
		local operand=bank.evlog
		case $u in --diff* | --swap*) operand= ;; esac
		# shellcheck disable=SC2086 # the options, split
		run --separate-stderr evproject ${u%%:*} $operand
		[ "$status" -eq 64 ] || { echo "$u: status $status" >&2; return 1; }
		assert_stdout ""
		assert_stderr_contains "evproject: ${u#*:}"
	done
	run --separate-stderr evproject -p balance.lua --skip x --reason y --name b bank.evlog
	assert_status 64
	assert_stderr_contains "evproject: --skip: 'x' is not an offset"
	run --separate-stderr evproject -p balance.lua --name b -f --checkpoint-every soon bank.evlog
	assert_status 64
	assert_stderr_contains "--checkpoint-every: 'soon' is not a duration"
}

@test "evproject -p: a failing handler stops (65), is skipped, or is dead-lettered" {
	bank
	picky
	run --separate-stderr evproject -p picky.lua bank.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr_contains "evproject: offset 6: MoneyWithdrawn: partition \"acct-2\": picky.lua:5: too much: 300"
	run --separate-stderr evproject -p picky.lua --on-error skip bank.evlog
	assert_status 0
	assert_stdout '{"partition":"acct-1","state":{"in_":575,"out":120}}
{"partition":"acct-2","state":{"in_":1200,"out":150}}
{"partition":"acct-3","state":{"in_":40}}'
	assert_stderr_contains "picky.lua:5: too much: 300; skipped"
	assert_stderr_contains "evproject: 1 event failed in the projection and was skipped"
	run --separate-stderr evproject -p picky.lua --on-error dlq --dlq dlq.evlog bank.evlog
	assert_status 0
	assert_stderr_contains "evproject: 1 event failed in the projection and was dead-lettered to 'dlq.evlog'"
	run --separate-stderr evdlq ls --json dlq.evlog
	assert_status 0
	[ "${#lines[@]}" -eq 1 ]
	run jq -r '"\(.source.offset) \(.group) \(.error)"' <<<"$output"
	assert_stdout '6 picky offset 6: MoneyWithdrawn: partition "acct-2": picky.lua:5: too much: 300'
	run evtail --template '{data.handler} {data.exceptionFqcn}' dlq.evlog
	assert_stdout "projection picky evlog.ProjectionFailed"
	# no command to rerun: evdlq retry leaves it open, unless given one
	run --separate-stderr evdlq retry dlq.evlog
	assert_status 1
	assert_stderr "evdlq: letter 0 records no handler: give --exec
evdlq: 0 resolved, 1 still open"
}

@test "evproject --name: a run folds only what came after its checkpoint" {
	bank
	run --separate-stderr evproject -p balance.lua --name bal bank.evlog
	assert_status 0
	[ -f bank.evlog/projections/bal.ckpt ]
	run --separate-stderr evproject --status --name bal bank.evlog
	assert_status 0
	run jq -r '"\(.name) \(.next) \(.lag) \(.skips) \(.status) \(.definition)"' <<<"$output"
	assert_stdout "bal 10 0 0 idle -p balance.lua"
	evpub bank.evlog <"$TOP/examples/bank/more-events.ndjson"
	run --separate-stderr evproject --status -o tsv bank.evlog
	assert_stdout_contains "bal	10	2	"
	run --separate-stderr evproject -p balance.lua --name bal --partition acct-3 bank.evlog
	assert_status 0
	assert_stdout '{"balance":1000,"deposits":2,"withdrawals":0}'
	# nothing new: the same states, from the checkpoint alone
	run --separate-stderr evproject -p balance.lua --name bal --partition acct-1 bank.evlog
	assert_stdout '{"balance":400,"deposits":2,"withdrawals":2}'
	# the folds too
	run --separate-stderr evproject --count --by type --name types bank.evlog
	assert_status 0
	evpub bank.evlog MoneyDeposited --stream acct-1 amount:=1
	run --separate-stderr evproject --count --by type --name types bank.evlog
	assert_stdout_contains '{"type":"MoneyDeposited","count":6}'
	run --separate-stderr evproject --status --name nosuch bank.evlog
	assert_status 66
	assert_stderr "evproject: no projection 'nosuch' in 'bank.evlog'"
	# a damaged checkpoint: its row says so, a warning names it, 65
	head -c 10 bank.evlog/projections/bal.ckpt >cut
	mv cut bank.evlog/projections/bal.ckpt
	run --separate-stderr evproject --status -o tsv bank.evlog
	assert_status 65
	assert_stdout_line 1 "bal							damaged"
	assert_stdout_contains "types	"
	assert_stderr "evproject: warning: projection checkpoint 'bank.evlog/projections/bal.ckpt' is damaged: 10 bytes, too short for one (torn or truncated)"
}

@test "evproject --name: another definition is refused (65) until --rebuild" {
	bank
	evproject -p balance.lua --name bal bank.evlog >/dev/null
	echo '-- changed' >>balance.lua
	run --separate-stderr evproject -p balance.lua --name bal bank.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr_contains "projection 'bal' was built by another version of its definition (-p balance.lua)"
	assert_stderr_contains "rebuild it with this definition (--rebuild)"
	run --separate-stderr evproject -p balance.lua --name bal --rebuild --partition acct-1 bank.evlog
	assert_status 0
	assert_stdout '{"balance":455,"deposits":2,"withdrawals":1}'
	run --separate-stderr evproject -p balance.lua --name bal bank.evlog
	assert_status 0
	run --separate-stderr evproject --count --name bal bank.evlog
	assert_status 65
	assert_stderr_contains "was built by another definition (-p balance.lua); this one is --count"
}

@test "evproject --name: a damaged checkpoint exits 65 with a hint; --rebuild replaces it, with a warning" {
	bank
	evproject --count --name c1 bank.evlog >/dev/null
	truncate -s 10 bank.evlog/projections/c1.ckpt
	run --separate-stderr evproject --count --name c1 bank.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evproject: projection checkpoint 'bank.evlog/projections/c1.ckpt' is damaged: 10 bytes, too short for one (torn or truncated)
evproject: --rebuild folds it again from the start and replaces it (its skips and emit mark are lost)"
	run --separate-stderr evproject --count --name c1 --rebuild bank.evlog
	assert_status 0
	assert_stdout '{"count":10}'
	assert_stderr "evproject: warning: projection checkpoint 'bank.evlog/projections/c1.ckpt' is damaged: 10 bytes, too short for one (torn or truncated); --rebuild replaces it, without its skips and emit mark"
	# the new one is whole: the next run resumes from it
	run --separate-stderr evproject --count --name c1 bank.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout '{"count":10}'
	echo '{"next": 1}' >bank.evlog/projections/c1.ckpt
	run --separate-stderr evproject --count --name c1 bank.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evproject: 'bank.evlog/projections/c1.ckpt' is not a projection checkpoint (its first bytes are not evlog's)
evproject: --rebuild folds it again from the start and replaces it (its skips and emit mark are lost)"
}

@test "evproject --name: a second run exits 75, or waits with --wait" {
	bank
	evproject -p balance.lua --name bal -f bank.evlog >/dev/null 2>&1 &
	local pid=$!
	wait_file bank.evlog/projections/bal.ckpt 10
	run --separate-stderr evproject -p balance.lua --name bal bank.evlog
	assert_status 75
	assert_stdout ""
	assert_stderr_contains "projection 'bal' is in use by another process (pid $pid)"
	evproject -p balance.lua --name bal --wait --partition acct-2 bank.evlog >waited.out 2>&1 &
	local w=$!
	sleep 0.3
	alive "$w"
	kill -TERM "$pid"
	wait "$pid"
	wait "$w"
	run cat waited.out
	assert_stdout '{"balance":750,"deposits":1,"withdrawals":2}'
}

@test "evproject -f: follows the log, and SIGTERM saves the checkpoint and exits 0" {
	bank
	evproject -p balance.lua --name bal -f --checkpoint-every 50ms bank.evlog >f.out 2>f.err &
	local pid=$!
	wait_file bank.evlog/projections/bal.ckpt 10
	evpub bank.evlog <"$TOP/examples/bank/more-events.ndjson"
	wait_for "evproject --status --name bal bank.evlog | jq -e '.next == 12' >/dev/null" 10
	kill -TERM "$pid"
	local rc=0
	wait "$pid" || rc=$?
	[ "$rc" -eq 0 ]
	run cat f.out
	assert_stdout_contains '{"partition":"acct-3","state":{"balance":1000,"deposits":2,"withdrawals":0}}'
	run cat f.err
	assert_stdout ""
}

@test "evproject --skip: a projection stuck on one event moves past it, recorded in the checkpoint" {
	bank
	picky
	run --separate-stderr evproject -p picky.lua --name pk bank.evlog
	assert_status 65
	assert_stderr_contains "offset 6: MoneyWithdrawn"
	assert_stderr_contains "evproject: fix the projection, or pass over the event for good with --skip 6 --reason TEXT"
	run --separate-stderr evproject -p picky.lua --name pk --skip 6 --reason "refund, handled by hand" bank.evlog
	assert_status 0
	assert_stdout_contains '{"partition":"acct-2","state":{"in_":1200,"out":150}}'
	run --separate-stderr evproject --status --name pk bank.evlog
	run jq -r '"\(.next) \(.skips)"' <<<"$output"
	assert_stdout "10 1"
	run --separate-stderr evproject -p picky.lua --name pk --skip 2 --reason late bank.evlog
	assert_status 64
	assert_stderr_contains "--skip: offset 2 is folded already (projection 'pk' is at offset 10)"
	# a rebuild keeps the skip
	run --separate-stderr evproject -p picky.lua --name pk --rebuild bank.evlog
	assert_status 0
}

@test "evproject --emit-to: derived events carry causation and correlation, once, and a rebuild does not emit them again" {
	bank
	cat >alert.lua <<'LUA'
return {
  on = {
    MoneyWithdrawn = function(s, e)
      emit { type = "LargeWithdrawal", stream = e.stream, data = { amount = e.data.amount } }
    end,
  },
}
LUA
	evctl init --dedupe-window 0 alerts.evlog >/dev/null
	run --separate-stderr evproject -p alert.lua --name al --emit-to alerts.evlog bank.evlog
	assert_status 0
	run evtail --template '{type} {stream} {data.amount} {meta.causationId} {meta.correlationId}' alerts.evlog
	assert_stdout "LargeWithdrawal acct-1 120 b-05 b-05
LargeWithdrawal acct-2 300 b-07 b-07
LargeWithdrawal acct-2 150 b-10 b-10"
	evtail --template '{id}' alerts.evlog >ids1
	# rerun: nothing new; rebuild: refolds without emitting again (the
	# target has no dedupe window: the emit mark alone prevents copies)
	run --separate-stderr evproject -p alert.lua --name al --emit-to alerts.evlog bank.evlog
	assert_status 0
	run --separate-stderr evproject -p alert.lua --name al --emit-to alerts.evlog --rebuild bank.evlog
	assert_status 0
	run evtail -o count alerts.evlog
	assert_stdout 3
	# the ids are derived from the projection's name and the source:
	# the same in a fresh log, others under another name
	evproject -p alert.lua --name al --state-dir st2 --emit-to again.evlog bank.evlog >/dev/null
	run evtail --template '{id}' again.evlog
	assert_stdout "$(cat ids1)"
	evproject -p alert.lua --name al2 --emit-to other.evlog bank.evlog >/dev/null
	run evtail --template '{id}' other.evlog
	[ "$output" != "$(cat ids1)" ]
	[ "${#lines[@]}" -eq 3 ]
	# a named run that emits needs --emit-to
	run --separate-stderr evproject -p alert.lua --name al3 bank.evlog
	assert_status 64
	assert_stderr_contains "projection 'al3' emits events, and no --emit-to log takes them"
}

@test "evproject --sqlite: the states as rows, queried with sqlite3, incremental with the checkpoint in the database" {
	bank
	run --separate-stderr evproject -p balance.lua --name bal --sqlite bank.sqlite bank.evlog
	assert_status 0
	run sqlite3 bank.sqlite "SELECT partition, balance, deposits FROM bal ORDER BY partition"
	assert_stdout "acct-1|455|2
acct-2|750|1
acct-3|40|1"
	evpub bank.evlog <"$TOP/examples/bank/more-events.ndjson"
	run --separate-stderr evproject -p balance.lua --name bal --sqlite bank.sqlite bank.evlog
	assert_status 0
	run sqlite3 bank.sqlite "SELECT balance FROM bal WHERE partition = 'acct-3'"
	assert_stdout 1000
	run sqlite3 bank.sqlite "SELECT name FROM evproject_checkpoints"
	assert_stdout bal
	run sqlite3 bank.sqlite "PRAGMA journal_mode"
	assert_stdout wal
	# the log's checkpoint file tells trim how far it read
	run evproject --status --name bal bank.evlog
	run jq -r .next <<<"$output"
	assert_stdout 12
}

@test "evproject --sqlite: a table that is not a read model's (65), an unwritable path (74), a locked database (75)" {
	bank
	sqlite3 other.sqlite "CREATE TABLE bal(id INTEGER PRIMARY KEY, x)"
	run --separate-stderr evproject -p balance.lua --name bal --sqlite other.sqlite bank.evlog
	assert_status 65
	assert_stderr_contains "table 'bal' in 'other.sqlite' does not have the columns of a read model"
	assert_stderr_contains "--table"
	run --separate-stderr evproject -p balance.lua --name bal2 --sqlite /nonexistent/dir/x.sqlite bank.evlog
	assert_status 74
	assert_stderr_contains "cannot open '/nonexistent/dir/x.sqlite'"
	evproject -p balance.lua --name bal3 --sqlite held.sqlite bank.evlog >/dev/null
	( sqlite3 held.sqlite "BEGIN IMMEDIATE; SELECT 1;" ".shell sleep 15" "COMMIT;" >/dev/null 2>&1 & )
	sleep 0.5
	evpub bank.evlog <"$TOP/examples/bank/more-events.ndjson"
	run --separate-stderr evproject -p balance.lua --name bal3 --sqlite held.sqlite bank.evlog
	assert_status 75
	assert_stderr_contains "database 'held.sqlite' is locked by another writer"
}

@test "evproject --rebuild --shadow, --diff and --swap: a rebuild without downtime" {
	bank
	evproject -p balance.lua --name bal --sqlite m.sqlite bank.evlog >/dev/null
	# a new definition: balances in cents
	sed 's/e.data.amount/e.data.amount * 100/' balance.lua >cents.lua
	run --separate-stderr evproject -p cents.lua --name bal --sqlite m.sqlite --rebuild --shadow bank.evlog
	assert_status 0
	[ -f m.sqlite.shadow ]
	run sqlite3 m.sqlite "SELECT balance FROM bal WHERE partition = 'acct-1'"
	assert_stdout 455
	run --separate-stderr evproject --sqlite m.sqlite --name bal --diff
	assert_status 0
	assert_stdout '~ "acct-1" {"balance":455,"deposits":2,"withdrawals":1} -> {"balance":45500,"deposits":2,"withdrawals":1}
~ "acct-2" {"balance":750,"deposits":1,"withdrawals":2} -> {"balance":75000,"deposits":1,"withdrawals":2}
~ "acct-3" {"balance":40,"deposits":1,"withdrawals":0} -> {"balance":4000,"deposits":1,"withdrawals":0}
0 added, 0 removed, 3 changed, 0 unchanged'
	run --separate-stderr evproject --sqlite m.sqlite --name bal --swap
	assert_status 0
	assert_stdout "swapped 'm.sqlite.shadow' into 'm.sqlite'"
	[ ! -e m.sqlite.shadow ]
	run sqlite3 m.sqlite "SELECT balance FROM bal WHERE partition = 'acct-1'"
	assert_stdout 45500
	# and it goes on from the shadow's checkpoint, with the new definition
	evpub bank.evlog <"$TOP/examples/bank/more-events.ndjson"
	run --separate-stderr evproject -p cents.lua --name bal --sqlite m.sqlite bank.evlog
	assert_status 0
	run sqlite3 m.sqlite "SELECT balance FROM bal WHERE partition = 'acct-3'"
	assert_stdout 100000
	run --separate-stderr evproject --sqlite m.sqlite --name bal --swap
	assert_status 66
	assert_stderr_contains "m.sqlite.shadow"
}

@test "evproject --test: the bank's cases pass as TAP; a failing case shows what differs and exits 1" {
	run --separate-stderr evproject --test "$TOP/examples/bank/tests" -p "$TOP/examples/bank/balance.lua"
	assert_status 0
	assert_stdout "TAP version 13
1..3
ok 1 - balance
ok 2 - folds
ok 3 - skip-unknown"
	mkdir -p cases/wrong cases/noexp
	cp "$TOP/examples/bank/events.ndjson" cases/wrong/given.ndjson
	echo '{"acct-1": {"balance": 1, "deposits": 2, "withdrawals": 1}}' >cases/wrong/expect.json
	cp "$TOP/examples/bank/events.ndjson" cases/noexp/given.ndjson
	run --separate-stderr evproject --test cases -p "$TOP/examples/bank/balance.lua"
	assert_status 1
	assert_stdout_contains "not ok 1 - noexp"
	assert_stdout_contains "nothing to check"
	assert_stdout_contains "not ok 2 - wrong"
	assert_stdout_contains '#     partition acct-1, expected: {"balance":1,"deposits":2,"withdrawals":1}'
	assert_stdout_contains '#     partition acct-2, not expected: '
	assert_stderr "evproject: 2 of 2 cases failed"
	run --separate-stderr evproject --test nowhere
	assert_status 66
	assert_stderr_contains "evproject: cannot read 'nowhere'"
}

@test "evproject --name: trim keeps what the projection has not read; past it by force, the run says what it missed" {
	evctl init --segment-bytes 64K L >/dev/null
	evgen 1500 --seed 41 >gen.ndjson
	head -n 100 gen.ndjson | evpub --batch-events 20 L
	evproject --count --name c L >/dev/null
	tail -n +101 gen.ndjson | evpub --batch-events 20 L
	run --separate-stderr evctl trim --keep-events 1 L
	assert_status 75
	assert_stderr_contains "trim would remove events projection 'c' has not passed: its checkpoint is at offset 100"
	evctl trim --keep-events 1 --force L >/dev/null 2>&1
	local first
	first=$(evctl info --json L | jq '.segment_list[0].base')
	run --separate-stderr evproject --count --name c L
	assert_status 0
	assert_stderr_contains "projection 'c' was at offset 100, but 'L' now begins at offset $first: the events between were trimmed before it read them"
	assert_stdout "{\"count\":$((100 + 1500 - first))}"
}

@test "evproject --retry-dlq: the projection's dead letters, applied once the state can take them; once only, and in turn after a rebuild" {
	bank
	# a withdrawal above 200 fails while the account holds too little
	cat >once.lua <<'LUA'
return {
  on = {
    MoneyDeposited = function(s, e) s.in_ = (s.in_ or 0) + e.data.amount end,
    MoneyWithdrawn = function(s, e)
      if e.data.amount > 200 and s.in_ < 1300 then error("not enough in: " .. s.in_) end
      s.out = (s.out or 0) + e.data.amount
    end,
  },
}
LUA
	run --separate-stderr evproject -p once.lua --name on --on-error dlq --dlq dlq.evlog bank.evlog
	assert_status 0
	assert_stdout_contains '{"partition":"acct-2","state":{"in_":1200,"out":150}}'
	# not yet: the letter stays open (exit 1)
	run --separate-stderr evproject -p once.lua --name on --retry-dlq dlq.evlog bank.evlog
	assert_status 1
	assert_stdout ""
	assert_stderr "evproject: warning: offset 6: MoneyWithdrawn: partition \"acct-2\": once.lua:5: not enough in: 1200; the letter stays open
evproject: 0 resolved, 1 still open"
	# the letter's error is the new failure's, not blank
	run --separate-stderr sh -c 'evdlq ls --json dlq.evlog | jq -r .error'
	assert_status 0
	assert_stdout_contains "once.lua:5: not enough in: 1200"
	run --separate-stderr evdlq stats dlq.evlog
	assert_stdout_contains "not enough in: 1200"
	# a late deposit: the retry applies the withdrawal to the state
	evpub bank.evlog MoneyDeposited --stream acct-2 amount:=500 --id late-dep
	evproject -p once.lua --name on --on-error dlq --dlq dlq.evlog bank.evlog >/dev/null
	run --separate-stderr evproject -p once.lua --name on --retry-dlq dlq.evlog bank.evlog
	assert_status 0
	assert_stderr "evproject: 1 resolved, 0 still open"
	run --separate-stderr evproject -p once.lua --name on --partition acct-2 bank.evlog
	assert_stdout '{"in_":1700,"out":450}'
	run --separate-stderr evdlq ls dlq.evlog
	assert_stdout ""
	# again: nothing to do, nothing applied twice
	run --separate-stderr evproject -p once.lua --name on --retry-dlq dlq.evlog bank.evlog
	assert_status 0
	assert_stderr "evproject: 0 resolved, 0 still open"
	run --separate-stderr evproject -p once.lua --name on --partition acct-2 bank.evlog
	assert_stdout '{"in_":1700,"out":450}'
	# a rebuild folds the event in turn: there it fails again, before the
	# late deposit, and is dead-lettered again
	run --separate-stderr evproject -p once.lua --name on --rebuild --on-error dlq --dlq dlq.evlog --partition acct-2 bank.evlog
	assert_status 0
	assert_stdout '{"in_":1700,"out":150}'
	run --separate-stderr evdlq ls --json dlq.evlog
	[ "${#lines[@]}" -eq 1 ]
	# another definition is refused; --retry-dlq needs -p and --name
	echo '-- changed' >>once.lua
	run --separate-stderr evproject -p once.lua --name on --retry-dlq dlq.evlog bank.evlog
	assert_status 65
	assert_stderr_contains "was built by another version of its definition"
	run --separate-stderr evproject -p once.lua --retry-dlq dlq.evlog bank.evlog
	assert_status 64
	assert_stderr_contains "--retry-dlq needs -p and --name"
	run --separate-stderr evproject -p once.lua --name on --retry-dlq nodlq.evlog bank.evlog
	assert_status 66
	assert_stderr_contains "--retry-dlq"
}

@test "evproject --sqlite: a handler's SQL runs under the guard: no ATTACH, VACUUM INTO or pragmas; one failed event's SQL is undone" {
	bank
	cat >sneaky.lua <<'LUA'
return {
  on = {
    AccountOpened = function(s, e, db)
      db:exec("CREATE TABLE IF NOT EXISTS owners(stream TEXT PRIMARY KEY, owner TEXT)")
      db:exec("INSERT INTO owners VALUES (?, ?)", e.stream, e.data.owner)
      if e.data.owner == "Bo" then db:exec("ATTACH 'stolen.sqlite' AS x") end
    end,
  },
}
LUA
	run --separate-stderr evproject -p sneaky.lua --name sn --sqlite m.sqlite bank.evlog
	assert_status 65
	assert_stderr_contains "sneaky.lua:6: SQL: not authorized"
	[ ! -e stolen.sqlite ]
	# stop: what came before the event is saved with its SQL, the
	# event's own SQL is undone
	run sqlite3 m.sqlite "SELECT stream, owner FROM owners"
	assert_stdout "acct-1|Ann"
	run evproject --status --name sn bank.evlog
	run jq .next <<<"$output"
	assert_stdout 2
	# skip: the failed event's own SQL is undone, the others' kept
	run --separate-stderr evproject -p sneaky.lua --name sn --sqlite m.sqlite --on-error skip bank.evlog
	assert_status 0
	run sqlite3 m.sqlite "SELECT stream, owner FROM owners ORDER BY stream"
	assert_stdout "acct-1|Ann
acct-3|Cy"
	sed -i 's/ATTACH .stolen.sqlite. AS x/VACUUM INTO '"'"'copy.sqlite'"'"'/' sneaky.lua
	run --separate-stderr evproject -p sneaky.lua --name sn2 --sqlite m2.sqlite bank.evlog
	assert_status 65
	assert_stderr_contains "sneaky.lua:6: SQL: "
	[ ! -e copy.sqlite ]
}

@test "evproject --rebuild --shadow: the shadow gets the live schema, skips and emit mark; --swap refuses a file other projections share" {
	local o=$TOP/examples/orders-readmodel
	evctl init orders.evlog >/dev/null
	sh "$o/place-order.sh" orders.evlog 1 cus-1 250
	sh "$o/place-order.sh" orders.evlog 2 cus-2 90
	sqlite3 m.sqlite <"$o/schema.sql"
	evproject -p "$o/orders.lua" --name orders --sqlite m.sqlite orders.evlog >/dev/null
	# the handlers' table is in the shadow, and filled
	run --separate-stderr evproject -p "$o/orders.lua" --name orders --sqlite m.sqlite --rebuild --shadow orders.evlog
	assert_status 0
	run sqlite3 m.sqlite.shadow "SELECT order_id FROM orders_by_customer ORDER BY order_id"
	assert_stdout "1
2"
	run --separate-stderr evproject --sqlite m.sqlite --name orders --diff
	assert_stdout "0 added, 0 removed, 0 changed, 2 unchanged"
	# a second projection in the same file: the swap would lose it
	evproject -p "$TOP/examples/bank/balance.lua" --name bal --sqlite m.sqlite orders.evlog >/dev/null
	run --separate-stderr evproject --sqlite m.sqlite --name orders --swap
	assert_status 64
	assert_stderr_contains "'m.sqlite' also holds the read models of projections 'bal', which a swap of the whole file would lose"
	[ -e m.sqlite.shadow ]
}

@test "evproject --sqlite: no TEMP table hides the checkpoints; fields that differ in case only are refused" {
	bank
	cat >temp.lua <<'LUA'
return { any = function(s, e, db)
  db:exec("CREATE TEMP TABLE IF NOT EXISTS evproject_checkpoints(name, checkpoint, updated)")
end }
LUA
	run --separate-stderr evproject -p temp.lua --name t --sqlite t.sqlite bank.evlog
	assert_status 65
	assert_stderr_contains "SQL: not authorized"
	cat >cases.lua <<'LUA'
return { any = function(s, e) s.Amount = 1; s.amount = 2 end }
LUA
	run --separate-stderr evproject -p cases.lua --name c --sqlite c.sqlite bank.evlog
	assert_status 65
	assert_stderr_contains "would be one column of table 'c' (SQLite names ignore case)"
}

@test "evproject -p: a handler reads a scalar data (a number, a string, null)" {
	printf '%s\n' '{"id":"a","type":"T","data":1}' '{"id":"b","type":"T","data":"s"}' \
		'{"id":"c","type":"T","data":null}' | evpub -c L
	echo 'return { any = function(s, e) s[#s + 1] = e.data == evlog.null and "null" or tostring(e.data) end }' >d.lua
	run --separate-stderr evproject -p d.lua --global L
	assert_status 0
	assert_stderr ""
	assert_stdout '{"partition":null,"state":["1","s","null"]}'
}

@test "evproject -p --global: a failing handler or result names no partition (one state)" {
	bank
	printf '%s\n' 'return { any = function(s, e) if e.offset == 6 then error("six") end end }' >g6.lua
	run --separate-stderr evproject -p g6.lua --global bank.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evproject: offset 6: MoneyWithdrawn: g6.lua:1: six"
	printf '%s\n' 'return { any = function(s, e) end, result = function(s) error("no result") end }' >gr.lua
	run --separate-stderr evproject -p gr.lua --global bank.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evproject: gr.lua:1: no result"
	# keyed by stream, the partition is named
	run --separate-stderr evproject -p gr.lua bank.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evproject: partition \"acct-1\": gr.lua:1: no result"
}
