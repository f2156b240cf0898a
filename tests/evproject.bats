#!/usr/bin/env bats
# evproject: the built-in folds (issue 11, section 1): every fold,
# grouping by --by and --every, every output format, --sort and --limit,
# the numbers (exact 64-bit sums, overflow, decimals, values of the wrong
# type counted or, with --strict, an error), the selection options shared
# with evtail, and every usage and input error.
load helper

USAGE="Usage: evproject [options] FOLD... [--by PATH]... [--every DURATION] LOG
Try 'evproject --help' for more information."

usage_err() {
	printf '%s\n%s' "$1" "$USAGE"
}

want() {
	local s="" i
	for i in "$@"; do s+="$i"$'\n'; done
	assert_stdout "${s%$'\n'}"
}

# Seven events in streams acct-1, acct-2 and none, over two hours.
fixture() {
	cat >fx.ndjson <<'EOF'
{"id":"e0","type":"Deposited","stream":"acct-1","time":"2025-01-10T09:00:00Z","data":{"amount":100,"who":"ann"},"meta":{"src":"web"}}
{"id":"e1","type":"Deposited","stream":"acct-2","time":"2025-01-10T09:10:00Z","data":{"amount":2.5,"who":"bob"},"meta":{"src":"ios"}}
{"id":"e2","type":"Withdrawn","stream":"acct-1","time":"2025-01-10T09:20:00Z","data":{"amount":30,"who":"ann"}}
{"id":"e3","type":"Withdrawn","stream":"acct-1","time":"2025-01-10T09:59:59Z","data":{"amount":"lots","who":"cy"}}
{"id":"e4","type":"Deposited","stream":"acct-2","time":"2025-01-10T10:00:00Z","data":{"amount":-7,"who":"bob"}}
{"id":"e5","type":"Noted","time":"2025-01-10T10:30:00Z","data":{"text":"hi"}}
{"id":"e6","type":"Deposited","stream":"acct-1","time":"2025-01-10T10:45:00Z","data":{"amount":1,"who":"dan"}}
EOF
	evpub -c fx.evlog <fx.ndjson
}

@test "evproject --count counts every event, and --by groups them" {
	fixture
	run --separate-stderr evproject --count fx.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout '{"count":7}'
	run --separate-stderr evproject --count --by stream fx.evlog
	assert_status 0
	want '{"stream":null,"count":1}' \
		'{"stream":"acct-1","count":4}' \
		'{"stream":"acct-2","count":2}'
}

@test "evproject --sum, --min, --max and --avg fold the numbers, and report the rest" {
	fixture
	run --separate-stderr evproject --sum data.amount --min data.amount \
		--max data.amount --avg data.amount --by stream fx.evlog
	assert_status 0
	want '{"stream":null,"sum(data.amount)":0,"min(data.amount)":null,"max(data.amount)":null,"avg(data.amount)":null}' \
		'{"stream":"acct-1","sum(data.amount)":131,"min(data.amount)":1,"max(data.amount)":100,"avg(data.amount)":43.666666666666664}' \
		'{"stream":"acct-2","sum(data.amount)":-4.5,"min(data.amount)":-7,"max(data.amount)":2.5,"avg(data.amount)":-2.25}'
	assert_stderr "evproject: 1 value of data.amount was not a number (first at offset 3); --strict makes this an error"
}

@test "evproject --distinct, --first, --last and --last-event" {
	fixture
	run --separate-stderr evproject --distinct data.who --first data.who \
		--last data.who --last-event --by stream --type Dep* fx.evlog
	assert_status 0
	assert_stderr ""
	want '{"stream":"acct-1","distinct(data.who)":2,"first(data.who)":"ann","last(data.who)":"dan","last_event":{"offset":6,"id":"e6","type":"Deposited","stream":"acct-1","version":4,"time":"2025-01-10T10:45:00.000Z","schema":1,"data":{"amount":1,"who":"dan"}}}' \
		'{"stream":"acct-2","distinct(data.who)":1,"first(data.who)":"bob","last(data.who)":"bob","last_event":{"offset":4,"id":"e4","type":"Deposited","stream":"acct-2","version":2,"time":"2025-01-10T10:00:00.000Z","schema":1,"data":{"amount":-7,"who":"bob"}}}'
}

@test "evproject reads paths into arrays, and whole data" {
	printf '%s\n' '{"type":"T","data":{"items":[{"sku":"a"},{"sku":"b"}]}}' \
		'{"type":"T","data":{"items":[{"sku":"c"}]}}' | evpub -c a.evlog
	run --separate-stderr evproject --first data.items.0.sku --last data.items.1.sku \
		--distinct data --max data.items.0.sku a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout '{"first(data.items.0.sku)":"a","last(data.items.1.sku)":"b","distinct(data)":2,"max(data.items.0.sku)":"c"}'
}

@test "evproject groups by several paths, envelope fields and meta, in the order given" {
	fixture
	run --separate-stderr evproject --count --by type,stream --by meta.src fx.evlog
	assert_status 0
	want '{"type":"Deposited","stream":"acct-1","meta.src":null,"count":1}' \
		'{"type":"Deposited","stream":"acct-1","meta.src":"web","count":1}' \
		'{"type":"Deposited","stream":"acct-2","meta.src":null,"count":1}' \
		'{"type":"Deposited","stream":"acct-2","meta.src":"ios","count":1}' \
		'{"type":"Noted","stream":null,"meta.src":null,"count":1}' \
		'{"type":"Withdrawn","stream":"acct-1","meta.src":null,"count":2}'
}

@test "evproject --every buckets by time, UTC, each bucket named by its start" {
	fixture
	run --separate-stderr evproject --count --sum data.amount --every 1h fx.evlog
	assert_status 0
	want '{"every(1h)":"2025-01-10T09:00:00.000Z","count":4,"sum(data.amount)":132.5}' \
		'{"every(1h)":"2025-01-10T10:00:00.000Z","count":3,"sum(data.amount)":-6}'
	run --separate-stderr evproject --count --by type --every 30m -o csv fx.evlog
	assert_status 0
	want 'type,every(30m),count' \
		'Deposited,2025-01-10T09:00:00.000Z,2' \
		'Deposited,2025-01-10T10:00:00.000Z,1' \
		'Deposited,2025-01-10T10:30:00.000Z,1' \
		'Noted,2025-01-10T10:30:00.000Z,1' \
		'Withdrawn,2025-01-10T09:00:00.000Z,1' \
		'Withdrawn,2025-01-10T09:30:00.000Z,1'
}

@test "evproject -o table, json, ndjson, csv and tsv" {
	fixture
	run --separate-stderr evproject -o table --count --sum data.amount --by stream --type Dep* fx.evlog
	assert_status 0
	want 'stream  count  sum(data.amount)' \
		'acct-1      2               101' \
		'acct-2      2              -4.5'
	run --separate-stderr evproject -o json --count --by stream --type Dep* fx.evlog
	assert_status 0
	want '[' '{"stream":"acct-1","count":2},' '{"stream":"acct-2","count":2}' ']'
	run --separate-stderr evproject -o json --count --by stream --type Nope fx.evlog
	assert_status 0
	assert_stdout '[]'
	run --separate-stderr evproject -o ndjson --count --by stream --type Dep* fx.evlog
	assert_status 0
	want '{"stream":"acct-1","count":2}' '{"stream":"acct-2","count":2}'
	run --separate-stderr evproject -o csv --first data --by stream --type Dep* fx.evlog
	assert_status 0
	want 'stream,first(data)' \
		'acct-1,"{""amount"":100,""who"":""ann""}"' \
		'acct-2,"{""amount"":2.5,""who"":""bob""}"'
	run --separate-stderr evproject -o tsv --count --by stream,meta.src --type Dep* fx.evlog
	assert_status 0
	want $'stream\tmeta.src\tcount' $'acct-1\tnull\t1' $'acct-1\tweb\t1' \
		$'acct-2\tnull\t1' $'acct-2\tios\t1'
}

@test "evproject prints ndjson when stdout is not a terminal and table when it is" {
	fixture
	run --separate-stderr evproject --count fx.evlog
	assert_stdout '{"count":7}'
	command -v script >/dev/null || skip "script(1) is not installed"
	run script -qec "evproject --count fx.evlog" /dev/null
	assert_status 0
	assert_stdout $'count\r\n    7\r'
}

@test "evproject --sort orders by columns, '-' descending, ties by key; --limit keeps the first rows" {
	fixture
	run --separate-stderr evproject --count --by type --sort -count fx.evlog
	assert_status 0
	want '{"type":"Deposited","count":4}' '{"type":"Withdrawn","count":2}' \
		'{"type":"Noted","count":1}'
	run --separate-stderr evproject --count --by type --sort count,-type --limit 2 fx.evlog
	assert_status 0
	want '{"type":"Noted","count":1}' '{"type":"Withdrawn","count":2}'
	run --separate-stderr evproject --count --by type --limit 0 fx.evlog
	assert_status 0
	assert_stdout ""
}

@test "evproject sums integers exactly in 64 bits, past INT64_MAX, and reports an overflow" {
	printf '%s\n' \
		'{"type":"T","stream":"s","data":{"n":9223372036854775807}}' \
		'{"type":"T","stream":"s","data":{"n":9223372036854775807}}' \
		'{"type":"T","stream":"s","data":{"n":1}}' \
		'{"type":"T","stream":"r","data":{"n":-9223372036854775808}}' \
		'{"type":"T","stream":"r","data":{"n":-1}}' | evpub -c n.evlog
	run --separate-stderr evproject --sum data.n --by stream --to 3 n.evlog
	assert_status 0
	assert_stderr ""
	want '{"stream":"r","sum(data.n)":-9223372036854775808}' \
		'{"stream":"s","sum(data.n)":18446744073709551615}'
	run --separate-stderr evproject --sum data.n --by stream n.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr 'evproject: offset 4: sum(data.n) overflows 64-bit integers in group {"stream":"r"}'
	# an average has no such bound
	run --separate-stderr evproject --avg data.n n.evlog
	assert_status 0
	assert_stdout '{"avg(data.n)":1.8446744073709553e+18}'
}

@test "evproject sums decimals in double and prints them as evtail -o json does" {
	printf '%s\n' '{"type":"T","data":{"x":0.1}}' '{"type":"T","data":{"x":0.2}}' \
		'{"type":"T","data":{"x":3}}' | evpub -c d.evlog
	run --separate-stderr evproject --sum data.x --max data.x --min data.x d.evlog
	assert_status 0
	assert_stdout '{"sum(data.x)":3.3,"max(data.x)":3,"min(data.x)":0.1}'
	run --separate-stderr evtail -o json --fields data.x --count 1 d.evlog
	assert_stdout '{"data":{"x":0.1}}'
}

@test "evproject counts values of the wrong type, and --strict makes the first an error (65)" {
	printf '%s\n' '{"type":"T","data":{"x":1}}' '{"type":"T","data":{"x":"2"}}' \
		'{"type":"T","data":{"x":null}}' '{"type":"T","data":{"x":[3]}}' \
		'{"type":"T","data":{}}' | evpub -c w.evlog
	run --separate-stderr evproject --sum data.x w.evlog
	assert_status 0
	assert_stdout '{"sum(data.x)":1}'
	assert_stderr "evproject: 2 values of data.x were not numbers (first at offset 1); --strict makes this an error"
	run --separate-stderr evproject --strict --sum data.x w.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evproject: offset 1: data.x is a string, not a number"
	# min and max: numbers when there are any, else strings
	run --separate-stderr evproject --min data.x --max data.x w.evlog
	assert_status 0
	assert_stdout '{"min(data.x)":1,"max(data.x)":1}'
	assert_stderr "evproject: 2 values of data.x were not numbers (first at offset 1); --strict makes this an error"
	run --separate-stderr evproject --min type --max data.x --to 1 --where 'data.x == "2"' w.evlog
	assert_status 0
	assert_stdout '{"min(type)":"T","max(data.x)":"2"}'
	assert_stderr ""
}

@test "evproject warns of a path no event has" {
	fixture
	run --separate-stderr evproject --sum data.amout fx.evlog
	assert_status 0
	assert_stdout '{"sum(data.amout)":0}'
	assert_stderr "evproject: no event selected has a value at data.amout"
}

@test "evproject takes evtail's selection: --type, --stream, --stream-exact, --category, --where, --since, --until, --from, --to" {
	fixture
	run --separate-stderr evproject --count --type 'Dep*' fx.evlog
	assert_stdout '{"count":4}'
	run --separate-stderr evproject --count --stream acct-2 fx.evlog
	assert_stdout '{"count":2}'
	run --separate-stderr evproject --count --stream-exact acct-1 fx.evlog
	assert_stdout '{"count":4}'
	run --separate-stderr evproject --count --category acct fx.evlog
	assert_stdout '{"count":6}'
	run --separate-stderr evproject --count --where 'data.amount > 2' fx.evlog
	assert_stdout '{"count":3}'
	run --separate-stderr evproject --count --since 2025-01-10T10:00:00Z fx.evlog
	assert_stdout '{"count":3}'
	run --separate-stderr evproject --count --until 2025-01-10T09:30:00Z fx.evlog
	assert_stdout '{"count":3}'
	run --separate-stderr evproject --count --from 2 --to 4 fx.evlog
	assert_stdout '{"count":3}'
	assert_stderr ""
	run --separate-stderr evproject --count --type Deposit fx.evlog
	assert_status 0
	assert_stdout '{"count":0}'
	assert_stderr_contains "no event type in 'fx.evlog' matches 'Deposit'"
}

@test "evproject --upcast folds the upcast events, and --on-error skip goes on" {
	printf '%s\n' '{"type":"Paid","schema":1,"data":{"cents":250}}' \
		'{"type":"Paid","schema":2,"data":{"amount":1}}' | evpub -c u.evlog
	mkdir up
	cat >up/paid.upcast <<'EOF'
type Paid
from 1
rename data.cents data.amount
EOF
	run --separate-stderr evproject --sum data.amount --upcast up u.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout '{"sum(data.amount)":251}'
	run --separate-stderr evproject --count --on-error skip u.evlog
	assert_status 64
	assert_stderr "$(usage_err 'evproject: --on-error needs --upcast')"
	run --separate-stderr evproject --count --dlq bad.dlq u.evlog
	assert_status 64
	assert_stderr "$(usage_err 'evproject: --dlq needs --upcast and --on-error dlq')"
	run --separate-stderr evproject --count --upcast up --on-error dlq u.evlog
	assert_status 64
	assert_stderr "$(usage_err 'evproject: --on-error=dlq needs --dlq DLQLOG')"
}

@test "evproject --upcast: an event that cannot be upcast stops (65), is skipped, or is dead-lettered" {
	printf '%s\n' '{"type":"T","schema":1,"data":{"x":"12"}}' \
		'{"type":"T","schema":1,"data":{"x":"abc"}}' \
		'{"type":"T","schema":2,"data":{"x":5}}' | evpub -c u.evlog
	mkdir up
	printf 'type T\nfrom 1\ntonumber data.x\n' >up/t.upcast
	run --separate-stderr evproject --sum data.x --upcast up u.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evproject: upcast failed in 'u.evlog': offset 1: T version 1: step up/t.upcast:3: data.x is \"abc\", not a number"
	run --separate-stderr evproject --sum data.x --upcast up --on-error skip u.evlog
	assert_status 0
	assert_stdout '{"sum(data.x)":17}'
	assert_stderr_contains "evproject: 1 event could not be upcast and was skipped"
	run --separate-stderr evproject --sum data.x --upcast up --on-error dlq --dlq bad.dlq u.evlog
	assert_status 0
	assert_stdout '{"sum(data.x)":17}'
	assert_stderr "evproject: 1 event could not be upcast and was dead-lettered to 'bad.dlq'"
	[ "$(evdlq ls --json bad.dlq | wc -l)" -eq 1 ]
}

@test "evproject: usage errors exit 64 with the message" {
	fixture
	run --separate-stderr evproject fx.evlog
	assert_status 64
	assert_stderr "$(usage_err 'evproject: no fold: give --count, --sum PATH, --min PATH, --max PATH, --avg PATH, --distinct PATH, --first PATH, --last PATH or --last-event')"
	run --separate-stderr evproject --sum amount fx.evlog
	assert_status 64
	assert_stderr "$(usage_err "evproject: --sum: unknown field 'amount'; did you mean 'data.amount'?")"
	run --separate-stderr evproject --count --by 'data..x' fx.evlog
	assert_status 64
	assert_stderr "$(usage_err "evproject: --by: 'data..x' is not a dotted path such as data.amount")"
	run --separate-stderr evproject --count --by type.x fx.evlog
	assert_status 64
	assert_stderr "$(usage_err "evproject: --by: unknown field 'type.x': type has no fields inside (data and meta do)")"
	run --separate-stderr evproject --count --every 5 fx.evlog
	assert_status 64
	assert_stderr "$(usage_err "evproject: --every: '5' is not a duration such as 30s, 5m, 1h or 1d")"
	run --separate-stderr evproject --count --by type --sort nope fx.evlog
	assert_status 64
	assert_stderr "$(usage_err "evproject: --sort: 'nope' is not a column; the columns are type, count")"
	run --separate-stderr evproject --count --sum data.amount --count fx.evlog
	assert_status 64
	assert_stderr "$(usage_err "evproject: --count: the column 'count' is given twice")"
	run --separate-stderr evproject --count --by stream,stream fx.evlog
	assert_status 64
	assert_stderr "$(usage_err "evproject: --by: the column 'stream' is given twice")"
	run --separate-stderr evproject --count --limit x fx.evlog
	assert_status 64
	assert_stderr "$(usage_err "evproject: --limit: 'x' is not a number")"
	run --separate-stderr evproject --count -o yaml fx.evlog
	assert_status 64
	assert_stderr "$(usage_err "evproject: --output: 'yaml' is not table, json, ndjson, csv or tsv")"
	run --separate-stderr evproject --count
	assert_status 64
	assert_stderr "$(usage_err "evproject: missing LOG operand")"
	run --separate-stderr evproject --count fx.evlog other
	assert_status 64
	assert_stderr "$(usage_err "evproject: unexpected operand 'other'")"
	run --separate-stderr evproject --bogus fx.evlog
	assert_status 64
	assert_stderr_contains "$USAGE"
}

@test "evproject: a missing log exits 66, a damaged one 65" {
	run --separate-stderr evproject --count nolog.evlog
	assert_status 66
	assert_stdout ""
	assert_stderr "evproject: log 'nolog.evlog' does not exist"
	fixture
	seg=$(ls fx.evlog/*.seg | head -n 1)
	size=$(stat -c %s "$seg")
	printf 'X' | dd of="$seg" bs=1 seek=$((size - 20)) conv=notrunc 2>/dev/null
	run --separate-stderr evproject --count fx.evlog
	assert_status 65
	assert_stdout ""
}

@test "evproject -h and -V" {
	run --separate-stderr evproject -h
	assert_status 0
	assert_stdout_contains "Usage: evproject [options] FOLD..."
	assert_stderr ""
	run --separate-stderr evproject -V
	assert_status 0
	assert_stdout_contains "evproject "
}
