#!/usr/bin/env bats
# evtail: outputs, positions, filters, follow, cursor files, and every
# usage error, with exit status, stdout and stderr checked separately.
load helper

USAGE=$EVTAIL_USAGE

usage_err() {
	printf '%s\n%s' "$1" "$USAGE"
}

# Eight events with known times, types, streams and data.
fixture() {
	cat >fx.ndjson <<'EOF'
{"id":"e0","type":"AccountOpened","stream":"account-1","version":1,"time":"2025-01-10T09:00:00Z","data":{"owner":"ann","currency":"EUR"},"meta":{"userId":"u-1"}}
{"id":"e1","type":"MoneyDeposited","stream":"account-1","version":2,"time":"2025-01-10T09:10:00Z","data":{"amount":2000},"meta":{"userId":"u-1"}}
{"id":"e2","type":"OrderPlaced","stream":"order-7","version":1,"time":"2025-01-10T09:20:00Z","key":"k7","data":{"amount":1500,"city":"Paris"}}
{"id":"e3","type":"MoneyWithdrawn","stream":"account-1","version":3,"time":"2025-01-10T09:30:00Z","data":{"amount":500}}
{"id":"e4","type":"OrderShipped","stream":"order-7","version":2,"time":"2025-01-10T09:40:00Z","data":{"city":"München"}}
{"id":"e5","type":"AccountOpened","stream":"account-2","version":1,"time":"2025-01-11T08:00:00Z","data":{"owner":"bob","currency":"USD"},"meta":{"userId":"u-2"}}
{"id":"e6","type":"MoneyDeposited","stream":"account-2","version":2,"time":"2025-01-11T08:30:00Z","data":{"amount":99.5},"meta":{"userId":"u-2"}}
{"id":"e7","type":"OrderPlaced","stream":"order-8","version":1,"time":"2025-01-11T09:00:00Z","schema":2,"data":{"amount":-3,"city":"Tokyo"}}
EOF
	evpub -c fx.evlog <fx.ndjson
}

# evtail on the fixture, printing only ids; status and stderr are checked
ids() {
	run --separate-stderr evtail --template '{id}' "$@" fx.evlog
	assert_status 0
	assert_stderr ""
}

# expected ids, as lines
want() {
	local s="" i
	for i in "$@"; do s+="$i"$'\n'; done
	assert_stdout "${s%$'\n'}"
}

local_teardown() {
	if [ -n "${BG:-}" ]; then
		kill "$BG" 2>/dev/null || true
		kill -CONT "$BG" 2>/dev/null || true # one stopped by a test
		wait "$BG" 2>/dev/null || true
	fi
}

# ------------------------------------------------------------ help, usage

@test "evtail -h/--help prints the usage and every option on stdout, exit 0" {
	for h in -h --help; do
		run --separate-stderr evtail "$h"
		assert_status 0
		assert_stderr ""
		assert_stdout_line 0 "Usage: evtail [options] LOG"
		for o in --color --count --cursor-file --follow --from --help --lines \
			--output --since --stream --template --to --type --until \
			--version --where; do
			assert_stdout_contains " $o"
		done
	done
}

@test "evtail -V/--version prints the tool and library versions" {
	for v in -V --version; do
		run --separate-stderr evtail "$v"
		assert_status 0
		assert_stderr ""
		[[ ${lines[0]} == "evtail "[0-9]* ]]
		[[ ${lines[1]} == *"msgpack-c "*"zstd "* ]]
	done
}

@test "evtail: unknown options exit 64 with the usage on stderr" {
	run --separate-stderr evtail --bogus x
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evtail: unrecognized option '--bogus'")"
	run --separate-stderr evtail -x x
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evtail: invalid option -- 'x'")"
}

@test "evtail: missing and extra operands exit 64" {
	run --separate-stderr evtail
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evtail: missing LOG operand")"
	run --separate-stderr evtail a b
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evtail: unexpected operand 'b'")"
}

@test "evtail: a missing log exits 66" {
	run --separate-stderr evtail nope.evlog
	assert_status 66
	assert_stdout ""
	assert_stderr "evtail: log 'nope.evlog' does not exist"
}

@test "evtail: a directory that is not a log exits 66" {
	mkdir plain
	run --separate-stderr evtail plain
	assert_status 66
	assert_stdout ""
	assert_stderr "evtail: 'plain' is not an evlog log (no meta file)"
}

@test "evtail: a file that is not a log or a segment exits 66, not 'damaged' (65)" {
	printf '# notes\nsome text that is long enough to fill a segment header, and more\n' >notes.md
	: >empty
	printf 'EV' >short
	for f in notes.md empty short /dev/null; do
		run --separate-stderr evtail "$f"
		assert_status 66
		assert_stdout ""
		[[ $stderr == "evtail: '$f' is not an evlog log"* ]] ||
			{ echo "$f: $stderr" >&2; return 1; }
	done
	run --separate-stderr evtail notes.md
	assert_stderr "evtail: 'notes.md' is not an evlog log or segment"
	# a segment cut inside its header is still a damaged segment
	evpub -c l.evlog A n=1
	head -c 20 l.evlog/00000000000000000000.seg >torn.seg
	run --separate-stderr evtail torn.seg
	assert_status 65
	assert_stderr "evtail: damaged data in 'torn.seg': byte 0: file is shorter than its header"
}

@test "evtail: an empty log prints nothing and exits 0" {
	evctl init e.evlog
	run --separate-stderr evtail e.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr ""
}

# ------------------------------------------------------------ output

@test "evtail: default output is the NDJSON envelope with offsets" {
	make_log a.evlog 50
	run --separate-stderr evtail a.evlog
	assert_status 0
	assert_stderr ""
	# the generator's events, each with its offset in front
	[ "${#lines[@]}" = 50 ]
	[[ ${lines[0]} == '{"offset":0,"id":"'* ]]
	[[ ${lines[49]} == '{"offset":49,"id":"'* ]]
	[ "$(jq -c 'del(.offset)' <<<"$output")" = "$(jq -c . "$T/gen.ndjson")" ]
}

@test "evtail --output json is the default" {
	fixture
	run --separate-stderr evtail fx.evlog
	local def=$output
	run --separate-stderr evtail --output json fx.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "$def"
	assert_stdout_line 2 '{"offset":2,"id":"e2","type":"OrderPlaced","stream":"order-7","version":1,"time":"2025-01-10T09:20:00.000Z","schema":1,"key":"k7","data":{"amount":1500,"city":"Paris"}}'
}

@test "evtail reads a single segment file" {
	evctl init --segment-bytes 64K s.evlog
	evgen 2000 --seed 2 | evpub --batch-events 100 s.evlog
	local segs second
	segs=$(evctl info --json s.evlog | jq '.segments')
	[ "$segs" -ge 2 ]
	second=$(evctl info --json s.evlog | jq -r '.segment_list[1] | "\(.base) \(.next)"')
	local base=${second% *} next=${second#* }
	run --separate-stderr evtail --template '{offset}' "s.evlog/$(printf '%020d' "$base").seg"
	assert_status 0
	assert_stderr ""
	assert_stdout "$(seq "$base" $((next - 1)))"
	# and the events are those of the log at the same offsets
	run evtail --output json "s.evlog/$(printf '%020d' "$base").seg"
	local seg=$output
	run evtail --from "$base" --to $((next - 1)) s.evlog
	assert_stdout "$seg"
}

@test "evtail -o pretty: offset, time, type, stream@version, compact data" {
	fixture
	run --separate-stderr evtail -o pretty --count 3 fx.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout '0 2025-01-10T09:00:00.000Z AccountOpened account-1@1 {"owner":"ann","currency":"EUR"}
1 2025-01-10T09:10:00.000Z MoneyDeposited account-1@2 {"amount":2000}
2 2025-01-10T09:20:00.000Z OrderPlaced order-7@1 {"amount":1500,"city":"Paris"}'
}

@test "evtail -o pretty without stream or data; a stream event gets its version" {
	evpub -c b.evlog <<'EOF'
{"id":"a","type":"Bare","time":"2025-01-01T00:00:00Z"}
{"id":"b","type":"S","stream":"s1","time":"2025-01-01T00:00:00Z","data":"x"}
EOF
	run --separate-stderr evtail --output pretty b.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout '0 2025-01-01T00:00:00.000Z Bare
1 2025-01-01T00:00:00.000Z S s1@1 "x"'
}

@test "evtail --color always colours pretty output; never and a pipe do not" {
	fixture
	local esc=$'\e['
	run --separate-stderr evtail -o pretty --color always fx.evlog
	assert_status 0
	assert_stderr ""
	[[ $output == *"$esc"* ]]
	local coloured=$output
	run --separate-stderr evtail -o pretty --color never fx.evlog
	assert_status 0
	[[ $output != *"$esc"* ]]
	local plain=$output
	# colour only adds escape codes
	[ "$(sed 's/\x1b\[[0-9;]*m//g' <<<"$coloured")" = "$plain" ]
	# auto (the default) on a pipe: no colour
	run --separate-stderr evtail -o pretty fx.evlog
	assert_stdout "$plain"
	run --separate-stderr evtail -o pretty --color auto fx.evlog
	assert_stdout "$plain"
	# colour applies to pretty only
	run --separate-stderr evtail --color always fx.evlog
	[[ $output != *"$esc"* ]]
}

@test "evtail --color auto colours on a terminal unless NO_COLOR is set" {
	fixture
	local esc=$'\e['
	# script(1) runs evtail on a pseudo-terminal
	run --separate-stderr script -qec "evtail -o pretty fx.evlog" /dev/null
	assert_status 0
	[[ $output == *"$esc"* ]]
	run --separate-stderr env NO_COLOR=1 script -qec "evtail -o pretty fx.evlog" /dev/null
	assert_status 0
	[[ $output == *"AccountOpened"* ]]
	[[ $output != *"$esc"* ]]
	# an empty NO_COLOR does not count
	run --separate-stderr env NO_COLOR= script -qec "evtail -o pretty --color auto fx.evlog" /dev/null
	[[ $output == *"$esc"* ]]
	run --separate-stderr script -qec "evtail -o pretty --color never fx.evlog" /dev/null
	[[ $output != *"$esc"* ]]
	# an explicit --color always wins over NO_COLOR
	run --separate-stderr env NO_COLOR=1 evtail -o pretty --color always fx.evlog
	[[ $output == *"$esc"* ]]
}

@test "evtail --color with a bad value exits 64" {
	run --separate-stderr evtail --color sometimes x
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evtail: --color: 'sometimes' is not auto, always or never")"
}

@test "evtail -o cloudevents writes CloudEvents 1.0 structured JSON" {
	fixture
	run --separate-stderr evtail -o cloudevents --from 1 --count 2 fx.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout '{"specversion":"1.0","id":"e1","source":"urn:evlog:default","type":"MoneyDeposited","subject":"account-1","time":"2025-01-10T09:10:00.000Z","sequence":"2","evlogoffset":"1","evlogmeta":"{\"userId\":\"u-1\"}","data":{"amount":2000}}
{"specversion":"1.0","id":"e2","source":"urn:evlog:default","type":"OrderPlaced","subject":"order-7","time":"2025-01-10T09:20:00.000Z","sequence":"1","partitionkey":"k7","evlogoffset":"2","data":{"amount":1500,"city":"Paris"}}'
}

@test "evtail -o msgpack writes one MessagePack map per event, no separators" {
	evpub -c m.evlog <<'EOF'
{"id":"a","type":"A","time":"2025-01-10T09:30:00.123Z","data":{"n":1}}
{"id":"b","type":"B","stream":"s","version":1,"time":"2025-01-10T09:30:00Z","data":[true,null,-1,1.5,"x"],"meta":{"k":"v"},"key":"kk","schema":3}
EOF
	run --separate-stderr sh -c 'evtail -o msgpack m.evlog >out.bin'
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	# map of 6: offset 0, id "a", type "A", time as timestamp 64, schema 1,
	# data {"n":1}; then a map of 10 with timestamp 32, float64 and nil
	run od -An -tx1 -v out.bin
	[ "$(echo $output)" = "86 a6 6f 66 66 73 65 74 00 a2 69 64 a1 61 a4 74 79 70 65 a1 41 a4 74 69 6d 65 d7 ff 1d 53 53 00 67 80 e8 98 a6 73 63 68 65 6d 61 01 a4 64 61 74 61 81 a1 6e 01 8a a6 6f 66 66 73 65 74 01 a2 69 64 a1 62 a4 74 79 70 65 a1 42 a6 73 74 72 65 61 6d a1 73 a7 76 65 72 73 69 6f 6e 01 a4 74 69 6d 65 d6 ff 67 80 e8 98 a6 73 63 68 65 6d 61 03 a3 6b 65 79 a2 6b 6b a4 64 61 74 61 95 c3 c0 ff cb 3f f8 00 00 00 00 00 00 a1 78 a4 6d 65 74 61 81 a1 6b a1 76" ]
}

@test "evtail -o msgpack on generated data: one map per event" {
	make_log a.evlog 100
	run --separate-stderr sh -c 'evtail -o msgpack a.evlog >out.bin'
	assert_status 0
	assert_stderr ""
	# every record starts with a fixmap whose first key is "offset"
	[ "$(od -An -tx1 -v out.bin | tr -d ' \n' | grep -o 'a66f6666736574' | wc -l)" = 100 ]
	[ "$(head -c 1 out.bin | od -An -tx1 | tr -d ' ')" = 89 ]
}

@test "evtail --output with a bad format exits 64" {
	run --separate-stderr evtail -o xml x
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evtail: --output: 'xml' is not json, pretty, cloudevents, msgpack, csv, tsv, count or chrome")"
}

# ------------------------------------------------------------ --template

@test "evtail --template fills dotted paths into the envelope, data and meta" {
	fixture
	run --separate-stderr evtail --template '{offset} {id} {type} {stream}@{version} {time} {schema} {key} {data.amount} {data.city} {meta.userId}' fx.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "0 e0 AccountOpened account-1@1 2025-01-10T09:00:00.000Z 1    u-1
1 e1 MoneyDeposited account-1@2 2025-01-10T09:10:00.000Z 1  2000  u-1
2 e2 OrderPlaced order-7@1 2025-01-10T09:20:00.000Z 1 k7 1500 Paris 
3 e3 MoneyWithdrawn account-1@3 2025-01-10T09:30:00.000Z 1  500  
4 e4 OrderShipped order-7@2 2025-01-10T09:40:00.000Z 1   München 
5 e5 AccountOpened account-2@1 2025-01-11T08:00:00.000Z 1    u-2
6 e6 MoneyDeposited account-2@2 2025-01-11T08:30:00.000Z 1  99.5  u-2
7 e7 OrderPlaced order-8@1 2025-01-11T09:00:00.000Z 2  -3 Tokyo "
}

@test "evtail --template: objects, arrays, literals, missing fields, escapes" {
	evpub -c t.evlog <<'EOF'
{"id":"c","type":"O","time":"2025-01-01T00:00:00Z","data":{"items":[{"n":"tea"}],"t":true,"z":null,"f":1.25,"s":"a b"}}
EOF
	run --separate-stderr evtail --template '{data.items.0.n}|{data.t}|{data.z}|{data.f}|{data.items}|{data.s}|{data.nope.deeper}|{meta}' t.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout 'tea|true|null|1.25|[{"n":"tea"}]|a b||'
	run --separate-stderr evtail --template '{data}' t.evlog
	assert_stdout '{"items":[{"n":"tea"}],"t":true,"z":null,"f":1.25,"s":"a b"}'
}

@test "evtail --template: {{ and }} are literal braces; \\t and \\n escapes" {
	fixture
	run --separate-stderr evtail --count 1 --template '{{literal}} {type} }} {{' fx.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "{literal} AccountOpened } {"
	run --separate-stderr evtail --count 1 --template '{id}\t{type}\n--' fx.evlog
	assert_stdout "e0	AccountOpened
--"
}

@test "evtail --template: bad templates exit 64" {
	run --separate-stderr evtail --template '{type' x
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evtail: --template: unterminated '{' at column 1")"
	run --separate-stderr evtail --template 'a {} b' x
	assert_status 64
	assert_stderr "$(usage_err "evtail: --template: empty or nested field at column 3")"
	run --separate-stderr evtail --template '{a{b}}' x
	assert_status 64
	assert_stderr "$(usage_err "evtail: --template: empty or nested field at column 1")"
	run --separate-stderr evtail --template 'x}y' x
	assert_status 64
	assert_stderr "$(usage_err "evtail: --template: unmatched '}' at column 2 (write '}}' for a brace)")"
}

@test "evtail --template with --output exits 64" {
	fixture
	run --separate-stderr evtail --template '{type}' -o json fx.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evtail: --template and --output cannot be combined")"
}

# ------------------------------------------------------------ positions

@test "evtail --from OFFSET, start and end" {
	fixture
	ids --from 5
	want e5 e6 e7
	ids --from start
	want e0 e1 e2 e3 e4 e5 e6 e7
	ids --from end
	want
	ids --from 0
	want e0 e1 e2 e3 e4 e5 e6 e7
	ids --from 8
	want
	# past the end is a mistake, not an empty read
	run --separate-stderr evtail --from 100 fx.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "evtail: --from: offset 100 is past the end of 'fx.evlog' (offset 8)"
}

@test "evtail --to OFFSET stops after that offset" {
	fixture
	ids --to 2
	want e0 e1 e2
	ids --from 3 --to 4
	want e3 e4
	ids --to 100
	want e0 e1 e2 e3 e4 e5 e6 e7
	ids --from 5 --to 2
	want
}

@test "evtail --from @TIME starts at the first event at or after TIME" {
	fixture
	ids --from @2025-01-10T09:30:00Z
	want e3 e4 e5 e6 e7
	ids --from @2025-01-10T09:25:00Z
	want e3 e4 e5 e6 e7
	ids --from @2025-01-11
	want e5 e6 e7
	ids --from @2030-01-01T00:00:00Z
	want
}

@test "evtail --from @TIME on a log of many batches" {
	evgen 3000 --seed 5 >g.ndjson
	evpub -c g.evlog --batch-events 100 <g.ndjson
	# the time of the event at offset 1234; times are non-decreasing
	local t first
	t=$(sed -n 1235p g.ndjson | jq -r .time)
	first=$(jq -r .time g.ndjson | grep -n -m1 -F "$t" | cut -d: -f1)
	run --separate-stderr evtail --from "@$t" --template '{offset}' g.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout_line 0 "$((first - 1))"
	[ "${#lines[@]}" = $((3000 - first + 1)) ]
}

@test "evtail --to @TIME stops at the first event later than TIME" {
	fixture
	ids --to @2025-01-10T09:30:00Z
	want e0 e1 e2 e3
	ids --to @2025-01-10T09:35:00Z
	want e0 e1 e2 e3
	ids --from 2 --to @2025-01-11
	want e2 e3 e4
}

@test "evtail --from and --to with bad values exit 64" {
	for v in x -1 @notatime @2025-13-01 ''; do
		run --separate-stderr evtail --from "$v" x
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evtail: --from: '$v' is not an offset, start, end or @TIME")"
	done
	for v in start end x @nope; do
		run --separate-stderr evtail --to "$v" x
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evtail: --to: '$v' is not an offset or @TIME")"
	done
}

@test "evtail -n N prints the last N events" {
	fixture
	ids -n 3
	want e5 e6 e7
	ids --lines 1
	want e7
	ids -n 0
	want
	ids -n 100
	want e0 e1 e2 e3 e4 e5 e6 e7
}

@test "evtail -n N on a filtered read prints the last N matches" {
	fixture
	ids -n 2 --type AccountOpened
	want e0 e5
	ids -n 1 --type 'Money*'
	want e6
	ids -n 2 --where 'data.amount > 100'
	want e2 e3
	ids -n 5 --stream 'order-*'
	want e2 e4 e7
	ids -n 0 --type AccountOpened
	want
}

@test "evtail -n N with --to prints the last N before the end position, as journalctl -n --until" {
	fixture
	ids -n 2 --to 4
	want e3 e4
	ids -n 2 --to @2025-01-10T09:35:00Z
	want e2 e3
	ids -n 1 --to 5 --type 'Money*'
	want e3
	ids -n 2 --to 5 --stream account-1
	want e1 e3
	ids -n 0 --to 5
	want
	ids -n 100 --to 1
	want e0 e1
}

@test "evtail -n on a large log of many batches" {
	evgen 5000 --seed 6 | evpub -c g.evlog --batch-events 100
	run --separate-stderr evtail -n 3 --template '{offset}' g.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "4997
4998
4999"
}

@test "evtail -n with a bad value, or with --from or --cursor-file, exits 64" {
	for v in x -1 ''; do
		run --separate-stderr evtail -n "$v" x
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evtail: -n: '$v' is not a number")"
	done
	fixture
	run --separate-stderr evtail -n 2 --from 3 fx.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evtail: -n and --from cannot be combined")"
	run --separate-stderr evtail -n 2 --cursor-file c fx.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evtail: -n and --cursor-file cannot be combined")"
	[ ! -e c ]
}

@test "evtail --since and --until with RFC 3339 times and dates" {
	fixture
	ids --since 2025-01-10T09:30:00Z
	want e3 e4 e5 e6 e7
	ids --until 2025-01-10T09:10:00Z
	want e0 e1
	ids --since 2025-01-10T09:15:00+00:00 --until 2025-01-10T10:40:00+01:00
	want e2 e3 e4
	ids --since 2025-01-11
	want e5 e6 e7
	ids --until 2025-01-11
	want e0 e1 e2 e3 e4
	ids --since 2025-01-12
	want
	ids --since 2025-01-10T09:30:00.000000001Z
	want e4 e5 e6 e7
}

@test "evtail --since and --until relative to now (-1h, -30m) and now" {
	local t1 t2 t3
	t1=$(date -u -d '-2 hours' +%Y-%m-%dT%H:%M:%SZ)
	t2=$(date -u -d '-45 minutes' +%Y-%m-%dT%H:%M:%SZ)
	t3=$(date -u -d '-10 minutes' +%Y-%m-%dT%H:%M:%SZ)
	printf '{"id":"old","type":"A","time":"%s"}\n{"id":"mid","type":"A","time":"%s"}\n{"id":"new","type":"A","time":"%s"}\n' \
		"$t1" "$t2" "$t3" | evpub -c r.evlog
	r() {
		run --separate-stderr evtail --template '{id}' "$@" r.evlog
		assert_status 0
		assert_stderr ""
	}
	r --since -1h
	assert_stdout "mid
new"
	r --since -30m
	assert_stdout "new"
	r --until -1h
	assert_stdout "old"
	r --since -3h --until -30m
	assert_stdout "old
mid"
	r --until now
	assert_stdout "old
mid
new"
	r --since now
	assert_stdout ""
	r --since -3600s
	assert_stdout "mid
new"
}

@test "evtail --since and --until with bad times exit 64" {
	for v in x 2024-13-01 -1x yesterday ''; do
		run --separate-stderr evtail --since "$v" x
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evtail: --since: '$v' is not a time (RFC 3339, a date, or -1h)")"
		run --separate-stderr evtail --until "$v" x
		assert_status 64
		assert_stderr "$(usage_err "evtail: --until: '$v' is not a time (RFC 3339, a date, or -1h)")"
	done
}

@test "evtail: every time option takes both ends of the range and refuses one nanosecond past (64)" {
	local min=1677-09-21T00:12:43.145224193Z max=2262-04-11T23:47:16.854775807Z
	local lo=1677-09-21T00:12:43.145224192Z hi=2262-04-11T23:47:16.854775808Z
	local range="times run from $min to $max"
	printf '{"id":"a","type":"A","time":"%s"}\n{"id":"b","type":"A","time":"2025-01-01T00:00:00Z"}\n{"id":"c","type":"A","time":"%s"}\n' \
		$min $max | evpub -c L
	r() {
		run --separate-stderr evtail --template '{id}' "$@" L
		assert_status 0
		assert_stderr ""
	}
	r --since $max
	assert_stdout "c"
	r --until $min
	assert_stdout "a"
	r --since $min --until $max
	assert_stdout "a
b
c"
	r --from @$max
	assert_stdout "c"
	r --from @$min --to @$min
	assert_stdout "a"
	r --where "time == \"$max\""
	assert_stdout "c"
	r --where "time <= \"$min\""
	assert_stdout "a"
	local o v
	for o in --since --until; do
		for v in $lo $hi +106751d -106752d +999999999999999999999d; do
			run --separate-stderr evtail $o "$v" L
			assert_status 64
			assert_stdout ""
			assert_stderr "$(usage_err "evtail: $o: '$v' is out of range: $range")"
		done
	done
	for o in --from --to; do
		for v in $lo $hi +106751d; do
			run --separate-stderr evtail $o "@$v" L
			assert_status 64
			assert_stdout ""
			assert_stderr "$(usage_err "evtail: $o: '@$v' is out of range: $range")"
		done
	done
	run --separate-stderr evtail --where "time > \"$hi\"" L
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evtail: --where: column 8: '$hi' is out of range: $range
  time > \"$hi\"
         ^")"
}

@test "evtail: relative times reach the ends of the range exactly" {
	local range="times run from 1677-09-21T00:12:43.145224193Z to 2262-04-11T23:47:16.854775807Z"
	printf '{"id":"a","type":"A","time":"1970-01-01T00:00:00Z"}\n' | evpub -c L
	# now is the epoch: 9223372036854 ms each way is the last in range
	export EVLOG_TEST_SEED=1 SOURCE_DATE_EPOCH=0
	run --separate-stderr evtail --template '{id}' --since -9223372036854ms --until +9223372036854ms L
	assert_status 0
	assert_stdout "a"
	assert_stderr ""
	for v in -9223372036855ms +9223372036855ms; do
		run --separate-stderr evtail --since "$v" L
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evtail: --since: '$v' is out of range: $range")"
	done
}

@test "evtail --count N stops after N events, also when filtered" {
	fixture
	ids --count 2
	want e0 e1
	ids --count 0
	want
	ids --count 2 --type 'Order*'
	want e2 e4
	ids --count 100
	want e0 e1 e2 e3 e4 e5 e6 e7
	ids --from 6 --count 5
	want e6 e7
}

@test "evtail --count with a bad value exits 64" {
	for v in x -1 ''; do
		run --separate-stderr evtail --count "$v" x
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evtail: --count: '$v' is not a number")"
	done
}

# ------------------------------------------------------------ filters

@test "evtail --type GLOB, repeated" {
	fixture
	ids --type AccountOpened
	want e0 e5
	ids --type 'Money*'
	want e1 e3 e6
	ids --type 'Order*' --type AccountOpened
	want e0 e2 e4 e5 e7
	ids --type '*Placed'
	want e2 e7
	ids --type 'Money?eposited'
	want e1 e6
	# a glob that matches no type says so on stderr, and exits 0
	run --separate-stderr evtail --template '{id}' --type nothing fx.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr "evtail: no event type in 'fx.evlog' matches 'nothing'; most common: OrderPlaced, AccountOpened, MoneyDeposited, OrderShipped, MoneyWithdrawn"
	run --separate-stderr evtail --template '{id}' --type accountopened fx.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr "evtail: no event type in 'fx.evlog' matches 'accountopened'; closest: AccountOpened"
}

@test "evtail --stream GLOB, repeated, and combined with --type" {
	fixture
	ids --stream account-1
	want e0 e1 e3
	ids --stream 'order-*' --stream account-2
	want e2 e4 e5 e6 e7
	ids --stream 'account-*' --type 'Money*'
	want e1 e3 e6
	ids --stream 'order-*' --type 'Account*'
	want
}

@test "evtail --type on generated data matches jq" {
	make_log a.evlog 500
	run --separate-stderr evtail --type 'Order*' --template '{id}' a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "$(jq -r 'select(.type | startswith("Order")) | .id' "$T/gen.ndjson")"
	[ "${#lines[@]}" -gt 100 ]
	# and json output of the same filter is the same events, whole
	run --separate-stderr evtail --type 'Order*' a.evlog
	[ "$(jq -r .id <<<"$output")" = "$(jq -r 'select(.type | startswith("Order")) | .id' "$T/gen.ndjson")" ]
}

@test "evtail --where: a time literal of any length is checked, never cut (once a stack overflow)" {
	evpub -c l.evlog A n=1
	local a300 a126
	a300=$(printf 'A%.0s' $(seq 300))
	run --separate-stderr evtail --where "time == \"$a300\"" l.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evtail: --where: column 9: a time of 300 characters is not a time
  time == \"$(printf 'A%.0s' $(seq 61))...
          ^")"
	run --separate-stderr evtail --where "time == $a300" l.evlog
	assert_status 64
	assert_stderr_contains "a time of 300 characters is not a time"
	# just under the limit: an ordinary bad time
	a126=$(printf 'B%.0s' $(seq 127))
	run --separate-stderr evtail --where "time == \"$a126\"" l.evlog
	assert_status 64
	assert_stderr_contains "'$a126' is not a time"
	# and quoted times still work
	run --separate-stderr evtail --where 'time >= "2000-01-01T00:00:00Z"' --template '{type}' l.evlog
	assert_status 0
	assert_stdout "A"
}

@test "evtail --where with numbers: == != < <= > >=" {
	fixture
	ids --where 'data.amount == 2000'
	want e1
	# like jq, a missing value is not equal
	ids --where 'data.amount != 2000'
	want e0 e2 e3 e4 e5 e6 e7
	ids --where 'data.amount < 500'
	want e6 e7
	ids --where 'data.amount <= 500'
	want e3 e6 e7
	ids --where 'data.amount > 1500'
	want e1
	ids --where 'data.amount >= 1500'
	want e1 e2
	ids --where 'data.amount == 99.5'
	want e6
	ids --where 'data.amount < 0'
	want e7
	ids --where 'data.amount>=1500'
	want e1 e2
}

@test "evtail --where with strings, bare or quoted, and UTF-8" {
	fixture
	ids --where 'data.city == Paris'
	want e2
	ids --where 'data.city == "Paris"'
	want e2
	ids --where 'data.city != Paris'
	want e0 e1 e3 e4 e5 e6 e7
	ids --where 'data.city == München'
	want e4
	ids --where 'data.city < Q'
	want e2 e4
}

@test "evtail --where exists, and paths into the envelope and meta" {
	fixture
	ids --where 'data.owner exists'
	want e0 e5
	ids --where 'meta.userId == u-2'
	want e5 e6
	ids --where 'meta exists'
	want e0 e1 e5 e6
	ids --where 'stream == order-7'
	want e2 e4
	ids --where 'version >= 2'
	want e1 e3 e4 e6
	ids --where 'key == k7'
	want e2
	ids --where 'schema == 2'
	want e7
	ids --where 'type == OrderPlaced'
	want e2 e7
	ids --where 'offset == 3'
	want e3
}

@test "evtail --where on time" {
	fixture
	ids --where 'time >= 2025-01-11T08:30:00Z'
	want e6 e7
	ids --where 'time < 2025-01-10T09:10:00Z'
	want e0
	ids --where 'time == "2025-01-10T09:20:00Z"'
	want e2
	ids --where 'time > 2025-01-11'
	want e5 e6 e7
}

@test "evtail --where repeated: all must hold" {
	fixture
	ids --where 'data.amount > 0' --where 'stream == account-1'
	want e1 e3
	ids --where 'data.amount exists' --where 'data.city exists' --type 'Order*'
	want e2 e7
}

# ------------------------------------------------------------ follow

@test "evtail -f: a background writer's event shows up within a second" {
	fixture
	evtail -f --template '{offset} {type}' fx.evlog >f.out 2>f.err 3>&- &
	BG=$!
	wait_for_lines f.out 8 5
	evpub fx.evlog Late --id late
	wait_for_lines f.out 9 1
	run cat f.out
	assert_stdout_line 8 "8 Late"
	run cat f.err
	assert_stdout ""
}

@test "evtail -f follows a slow producer's lingering events" {
	evctl init s.evlog
	evtail --follow --template '{type}' s.evlog >f.out 2>f.err 3>&- &
	BG=$!
	# the producer is this shell, writing to a FIFO it holds open
	mkfifo in
	evpub --linger 50ms s.evlog <in 3>&- &
	local pub=$!
	exec 4>in
	echo '{"type":"one"}' >&4
	wait_for_lines f.out 1 10
	[ "$(cat f.out)" = one ]
	echo '{"type":"two"}' >&4
	exec 4>&-
	wait "$pub"
	wait_for_lines f.out 2 10
	[ "$(cat f.out)" = "one
two" ]
}

@test "evtail -f follows segment rolls" {
	evctl init --segment-bytes 64K r.evlog
	evtail -f --template '{offset}' r.evlog >f.out 2>f.err 3>&- &
	BG=$!
	# following the empty log before the first event comes
	wait_idle "$BG" 10
	evgen 3000 --seed 8 | evpub --batch-events 100 r.evlog
	wait_for_lines f.out 3000 3
	[ "$(evctl info --json r.evlog | jq .segments)" -ge 3 ]
	evpub r.evlog After
	wait_for_lines f.out 3001 1
	run cat f.out
	assert_stdout "$(seq 0 3000)"
	run cat f.err
	assert_stdout ""
}

# follow_past_trim N: evtail -f reads the first segment, sleeps (SIGSTOP)
# while N events roll the log on and trim removes all but the last
# segment, then wakes up to a position that no longer exists.
follow_past_trim() {
	evctl init --segment-bytes 64K r.evlog
	evgen 100 --seed 8 | evpub r.evlog
	evtail -f --from 0 --template '{offset}' "$@" r.evlog >f.out 2>f.err 3>&- &
	BG=$!
	wait_for_lines f.out 100 5
	wait_idle "$BG" 10
	kill -STOP "$BG"
	evgen "$N" --seed 9 | sed 's/"version":[0-9]*,//' |
		evpub --batch-events 100 r.evlog
	evctl trim --force --keep-events 1 r.evlog >/dev/null
	FIRST=$(evctl info --json r.evlog | jq .first_offset)
	kill -CONT "$BG"
}

# trimmed_exit: evtail (BG) exits 65 naming the first offset it had not
# read (READ: it printed 0 to READ-1, the rest of the segment it had
# open) and where the log starts now.
trimmed_exit() {
	local rc=0
	wait_for "! alive $BG" 10 "evtail to exit"
	wait "$BG" || rc=$?
	BG=
	[ "$rc" = 65 ] || { echo "exit $rc" >&2; false; }
	READ=$(wc -l <f.out)
	[ "$READ" -ge 100 ] && [ "$READ" -lt "$FIRST" ]
	[ "$(cat f.out)" = "$(seq 0 $((READ - 1)))" ]
	run cat f.err
	assert_stdout "evtail: offset $READ of 'r.evlog' was trimmed; the log now starts at $FIRST"
}

@test "evtail -f: a position trimmed away while following is an error naming the first offset (many segments)" {
	N=20000 follow_past_trim
	[ "$(evctl info --json r.evlog | jq .segments)" = 1 ]
	trimmed_exit
}

@test "evtail -f: a position trimmed away while following is an error (few segments)" {
	N=3000 follow_past_trim
	trimmed_exit
}

@test "evtail -f --group: trimmed away while following goes on at the first event, with a warning" {
	N=3000 follow_past_trim --group g
	wait_for_output f.out "^3099\$" 10
	# what it had read, then the log from its new first event
	READ=$(grep -n "^$FIRST\$" f.out | cut -d: -f1)
	READ=$((READ - 1))
	[ "$READ" -ge 100 ] && [ "$READ" -lt "$FIRST" ]
	[ "$(cat f.out)" = "$(seq 0 $((READ - 1)); seq "$FIRST" 3099)" ]
	run cat f.err
	assert_stdout "evtail: group 'g': offsets $READ to $((FIRST - 1)) were trimmed before it read them"
	wait_for_group_at r.evlog g 3100 5
}

@test "evtail -f exits 0 on SIGINT and on SIGTERM" {
	fixture
	local sig
	for sig in INT TERM; do
		evtail -f --template '{id}' fx.evlog >f.out 2>f.err 3>&- &
		BG=$!
		wait_for_lines f.out 8 5
		kill -s "$sig" "$BG"
		local rc=0
		wait "$BG" || rc=$?
		BG=
		[ "$rc" = 0 ] || { echo "SIG$sig: exit $rc" >&2; false; }
		[ "$(wc -l <f.out)" = 8 ]
		[ ! -s f.err ]
	done
}

@test "evtail -f --from end prints only new events" {
	fixture
	evtail -f --from end --template '{id}' fx.evlog >f.out 2>f.err 3>&- &
	BG=$!
	# at the end, waiting for more, before the new event comes
	wait_idle "$BG" 10
	evpub fx.evlog New --id new
	wait_for_lines f.out 1 1
	[ "$(cat f.out)" = new ]
}

# ------------------------------------------------------------ --cursor-file

@test "evtail --cursor-file: the first run reads all, the second only new events" {
	fixture
	run --separate-stderr evtail --cursor-file c.cur --template '{id}' fx.evlog
	assert_status 0
	assert_stderr ""
	want e0 e1 e2 e3 e4 e5 e6 e7
	[ -s c.cur ]
	run --separate-stderr evtail --cursor-file c.cur --template '{id}' fx.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout ""
	evpub fx.evlog T --id n1
	evpub fx.evlog T --id n2
	run --separate-stderr evtail --cursor-file c.cur --template '{id}' fx.evlog
	assert_status 0
	assert_stderr ""
	want n1 n2
	run --separate-stderr evtail --cursor-file c.cur fx.evlog
	assert_stdout ""
}

@test "evtail --cursor-file with --count resumes after the last printed event" {
	fixture
	ids --cursor-file c.cur --count 3
	want e0 e1 e2
	ids --cursor-file c.cur --count 3
	want e3 e4 e5
	ids --cursor-file c.cur
	want e6 e7
}

@test "evtail --cursor-file: a missing file starts at --from when given" {
	fixture
	ids --cursor-file c.cur --from 6
	want e6 e7
	evpub fx.evlog T --id n1
	# an existing cursor wins over --from
	ids --cursor-file c.cur --from 0
	want n1
}

@test "evtail --cursor-file from another log exits 65 naming both log ids" {
	fixture
	evtail --cursor-file c.cur fx.evlog >/dev/null
	make_log other.evlog 3
	local a b
	a=$(evctl info --json fx.evlog | jq -r .id)
	b=$(evctl info --json other.evlog | jq -r .id)
	cp c.cur before.cur
	run --separate-stderr evtail --cursor-file c.cur other.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: cursor file 'c.cur' belongs to log $a, but 'other.evlog' is log $b"
	cmp c.cur before.cur
}

@test "evtail --cursor-file past the end of the log exits 65" {
	fixture
	evtail --cursor-file c.cur fx.evlog >/dev/null
	sed 's/next=8/next=500/' c.cur >far.cur
	! cmp -s c.cur far.cur
	run --separate-stderr evtail --cursor-file far.cur fx.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: cursor file 'far.cur' points to offset 500, past the end of 'fx.evlog' (offset 8)"
}

@test "evtail --cursor-file that is not a cursor exits 65" {
	fixture
	echo garbage >bad.cur
	run --separate-stderr evtail --cursor-file bad.cur fx.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: cursor file 'bad.cur' is not an evlog cursor"
}

@test "evtail --cursor-file on a broken pipe: the position after the last event written out in full" {
	evgen 2000 --seed 7 | evpub -c L
	evtail L >all.json
	# a reader gone before the first write: nothing went out
	run --separate-stderr bash -c 'exec 5> >(exec true); wait $!; evtail --cursor-file c L >&5'
	assert_status 0
	assert_stderr ""
	[ "$(sed 's/.*next=//' c)" = 0 ]
	# head takes a line and goes: what the pipe took whole counts, and
	# the next run starts at the event the cut fell in, never after it
	rm c
	run --separate-stderr bash -c 'evtail --cursor-file c L | head -n 1 >/dev/null'
	assert_status 0
	local n
	n=$(sed 's/.*next=//' c)
	[ "$n" -gt 0 ] && [ "$n" -lt 2000 ]
	run --separate-stderr evtail --cursor-file c --count 1 --template '{offset}' L
	assert_stdout "$n"
}

@test "evtail --cursor-file that cannot be written exits 74" {
	fixture
	run --separate-stderr evtail --cursor-file nodir/c.cur --template '{id}' fx.evlog
	assert_status 74
	assert_stderr "evtail: cannot write cursor file 'nodir/c.cur': No such file or directory"
}

# ------------------------------------------------------------ damage

@test "evtail on damaged data prints the events before it, then exits 65" {
	evgen 300 --seed 5 | evpub -c --batch-events 100 d.evlog
	local seg=d.evlog/00000000000000000000.seg len1 b2
	len1=$(od -An -tu4 -j64 -N4 "$seg" | tr -d ' ')
	b2=$((64 + 64 + len1))
	printf '\377' | dd of="$seg" bs=1 seek=$((b2 + 64 + 10)) conv=notrunc 2>/dev/null
	run --separate-stderr evtail --template '{offset}' d.evlog
	assert_status 65
	assert_stdout "$(seq 0 99)"
	assert_stderr "evtail: damaged data in 'd.evlog': segment 00000000000000000000, offset 100, byte $b2: batch payload checksum mismatch
evtail: run 'evctl verify d.evlog' for details"
}

@test "evtail stops before a torn tail, prints nothing from it and exits 0" {
	evgen 300 --seed 5 | evpub -c --batch-events 100 a.evlog
	cp -r a.evlog b.evlog
	evgen 50 --seed 9 | evpub b.evlog
	local seg=00000000000000000000.seg size
	size=$(stat -c %s a.evlog/$seg)
	tail -c +$((size + 1)) b.evlog/$seg | head -c 1000 >>a.evlog/$seg
	run --separate-stderr evtail --template '{offset}' a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "$(seq 0 299)"
}

@test "evtail: stdout carries only events, diagnostics go to stderr" {
	fixture
	run --separate-stderr evtail --cursor-file nodir/c --where 'data.amount > 0' fx.evlog
	assert_status 74
	local l
	for l in "${lines[@]}"; do
		jq -e . <<<"$l" >/dev/null
	done
	[ "${#lines[@]}" = 4 ]
	[[ $stderr == "evtail: "* ]]
}

@test "evtail: a read from a segment's first event opens no offset index, one from further in does" {
	command -v strace >/dev/null || skip "strace is not installed"
	evgen 300 --seed 5 | evpub -c --batch-events 20 L >/dev/null
	strace -f -o trace -e trace=openat evtail -o count L >out
	[ "$(cat out)" = 300 ]
	run grep -c '\.idx"' trace
	assert_stdout 0
	strace -f -o trace -e trace=openat evtail -o count --from 250 L >out
	[ "$(cat out)" = 50 ]
	run grep -c '\.idx"' trace
	assert_stdout 1
}
