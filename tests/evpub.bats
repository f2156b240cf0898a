#!/usr/bin/env bats
# evpub: every option and every error a user can hit, with its message
# and exit status; the round-trip law; --wrap on GH Archive and wikiticker.
load helper

USAGE=$EVPUB_USAGE

# A usage error: the message, then the short usage.
usage_err() {
	printf '%s\n%s' "$1" "$USAGE"
}

# offset, id and type of each event, one line each
ids() {
	evtail --template '{offset} {id} {type}' "$1"
}

# ------------------------------------------------------------ help, version

@test "evpub -h prints the usage and every option on stdout, exit 0" {
	run --separate-stderr evpub -h
	assert_status 0
	assert_stderr ""
	assert_stdout_line 0 "Usage: evpub [options] LOG"
	for o in --ack --batch-bytes --batch-events --create --dry-run --format \
		--help --input --id --id-from --key --key-from --linger --meta \
		--schema --skip-invalid --stream --stream-from --sync --time \
		--time-from --type --type-from --verbose --version --wrap; do
		assert_stdout_contains " $o"
	done
}

@test "evpub --help is the same as -h" {
	run --separate-stderr evpub -h
	local short=$output
	run --separate-stderr evpub --help
	assert_status 0
	assert_stderr ""
	assert_stdout "$short"
}

@test "evpub -V and --version print the tool and library versions" {
	for v in -V --version; do
		run --separate-stderr evpub "$v"
		assert_status 0
		assert_stderr ""
		[[ ${lines[0]} == "evpub "[0-9]* ]]
		[[ ${lines[1]} == *"msgpack-c "[0-9]* ]]
		[[ ${lines[1]} == *"zstd "[0-9]* ]]
	done
}

@test "evpub: unknown long option exits 64 with the usage on stderr" {
	run --separate-stderr evpub --bogus x.log
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evpub: unrecognized option '--bogus'")"
}

@test "evpub: unknown short option exits 64" {
	run --separate-stderr evpub -x x.log
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evpub: invalid option -- 'x'")"
}

@test "evpub: option missing its argument exits 64" {
	run --separate-stderr evpub x.log --batch-events
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evpub: option '--batch-events' requires an argument")"
}

@test "evpub: no LOG operand exits 64" {
	run --separate-stderr evpub
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evpub: missing LOG operand")"
}

# ------------------------------------------------------------ the log

@test "evpub: missing log exits 66 with the -c/--create hint" {
	run --separate-stderr evpub orders.evlog <<<'{"type":"A"}'
	assert_status 66
	assert_stdout ""
	assert_stderr "evpub: log 'orders.evlog' does not exist
evpub: use -c/--create to create it, or 'evctl init orders.evlog'"
	[ ! -e orders.evlog ]
}

@test "evpub -c creates the log and appends" {
	run --separate-stderr evpub -c orders.evlog <<<'{"type":"A","id":"e1"}'
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	run --separate-stderr ids orders.evlog
	assert_stdout "0 e1 A"
	run --separate-stderr evctl verify orders.evlog
	assert_status 0
}

@test "evpub --create creates the log; on an existing log it appends" {
	run --separate-stderr evpub --create o.evlog <<<'{"type":"A","id":"e1"}'
	assert_status 0
	assert_stderr ""
	run --separate-stderr evpub --create o.evlog <<<'{"type":"B","id":"e2"}'
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	run --separate-stderr ids o.evlog
	assert_stdout "0 e1 A
1 e2 B"
}

@test "evpub: a directory or file that is not a log exits 66, even with -c, and nothing is made in it" {
	mkdir notalog
	run --separate-stderr evpub -c notalog <<<'{"type":"A"}'
	assert_status 66
	assert_stdout ""
	assert_stderr "evpub: 'notalog' is not an evlog log (no meta file)"
	[ -z "$(ls -A notalog)" ]
	echo "# notes" >notes.md
	run --separate-stderr evpub -c notes.md <<<'{"type":"A"}'
	assert_status 66
	assert_stderr "evpub: 'notes.md' is not an evlog log"
	[ "$(cat notes.md)" = "# notes" ]
}

@test "evpub: a log that lost its meta file is damaged (65), not something else" {
	evpub -c l.evlog A n=1
	rm l.evlog/meta
	run --separate-stderr evpub l.evlog A n=2
	assert_status 65
	assert_stderr "evpub: 'l.evlog' is damaged: its meta file is missing"
}

# ------------------------------------------------------------ input

@test "evpub reads NDJSON from stdin; fields come back as given" {
	evpub -c a.evlog <<'EOF'
{"id":"e1","type":"MoneyDeposited","stream":"account-123","version":1,"time":"2025-01-10T09:30:00.123Z","schema":2,"key":"account-123","data":{"amount":2000},"meta":{"correlationId":"c1","causationId":"c0","userId":"u-1"}}
{"type":"Ping"}
EOF
	run --separate-stderr evtail --count 1 a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout '{"offset":0,"id":"e1","type":"MoneyDeposited","stream":"account-123","version":1,"time":"2025-01-10T09:30:00.123Z","schema":2,"key":"account-123","data":{"amount":2000},"meta":{"correlationId":"c1","causationId":"c0","userId":"u-1"}}'
	# absent id and time are filled in: a UUIDv7 and the append time
	run --separate-stderr evtail --from 1 --template '{id} {time} {schema}' a.evlog
	[[ $output =~ ^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\ 20[0-9][0-9]-.*Z\ 1$ ]]
}

@test "evpub: offset on input is ignored, time keeps nanoseconds" {
	evpub -c a.evlog <<<'{"offset":999,"type":"A","id":"x","time":"2025-01-10T09:30:00.123456789Z"}'
	run --separate-stderr evtail a.evlog
	assert_status 0
	assert_stdout '{"offset":0,"id":"x","type":"A","time":"2025-01-10T09:30:00.123456789Z","schema":1}'
}

@test "evpub: numbers keep their precision; duplicate keys in data and meta are kept" {
	evpub -c a.evlog <<'EOF'
{"type":"N","id":"n","time":"2025-01-01T00:00:00Z","data":{"u":18446744073709551615,"i":-9223372036854775808,"f":0.1,"g":1.5e300,"d":1,"d":2},"meta":{"m":"a","m":"b"}}
EOF
	run --separate-stderr evtail a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout '{"offset":0,"id":"n","type":"N","time":"2025-01-01T00:00:00.000Z","schema":1,"data":{"u":18446744073709551615,"i":-9223372036854775808,"f":0.1,"g":1.5e+300,"d":1,"d":2},"meta":{"m":"a","m":"b"}}'
}

@test "evpub: blank lines are skipped, CRLF and a last line without newline are accepted" {
	printf '\n{"type":"A","id":"1"}\r\n  \n{"type":"B","id":"2"}' >in.ndjson
	run --separate-stderr evpub -c a.evlog -i in.ndjson
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	run ids a.evlog
	assert_stdout "0 1 A
1 2 B"
}

@test "evpub: a UTF-8 byte order mark before the first line is passed over; one on a later line is an error naming it" {
	printf '\357\273\277{"type":"A","id":"1"}\r\n{"type":"B","id":"2"}\n' >bom.ndjson
	run --separate-stderr evpub -c a.evlog -i bom.ndjson
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	run ids a.evlog
	assert_stdout "0 1 A
1 2 B"
	printf '\357\273\277"x"\n' | evpub --wrap --type T -c w.evlog
	run evtail -o json --fields type,data w.evlog
	assert_stdout '{"type":"T","data":"x"}'
	printf '{"type":"C","id":"3"}\n\357\273\277{"type":"D","id":"4"}\n' >late.ndjson
	run --separate-stderr evpub a.evlog -i late.ndjson
	assert_status 65
	assert_stdout ""
	assert_stderr "evpub: late.ndjson:2:1: a byte order mark (U+FEFF): only the input's first line may begin with one
evpub: 1 event appended; stopped at line 2"
}

@test "evpub: numbers: 1e400 is an error naming line and column; 1e-400 rounds to 0.0; -0 is the integer 0, -0.0 the float" {
	printf '{"type":"A","data":{"x":1}}\n{"type":"A","data":{"x":1e400}}\n' >big.ndjson
	run --separate-stderr evpub -c a.evlog -i big.ndjson
	assert_status 65
	assert_stdout ""
	assert_stderr "evpub: big.ndjson:2:25: number out of range for float64
evpub: 1 event appended; stopped at line 2"
	echo '{"type":"B","data":{"a":1e-400,"b":-0,"c":-0.0,"d":5e-324}}' | evpub a.evlog
	run --separate-stderr evtail -o json --fields data --type B a.evlog
	assert_status 0
	assert_stdout '{"data":{"a":0.0,"b":0,"c":-0.0,"d":5e-324}}'
}

@test "evpub -i FILE reads the file; --input is the long form" {
	echo '{"type":"A","id":"1"}' >one.ndjson
	echo '{"type":"B","id":"2"}' >two.ndjson
	run --separate-stderr evpub -c a.evlog -i one.ndjson
	assert_status 0
	assert_stderr ""
	run --separate-stderr evpub a.evlog --input two.ndjson
	assert_status 0
	assert_stderr ""
	run ids a.evlog
	assert_stdout "0 1 A
1 2 B"
}

@test "evpub -i is repeatable and '-' is stdin, in the order given" {
	echo '{"type":"A","id":"1"}' >one.ndjson
	echo '{"type":"C","id":"3"}' >three.ndjson
	run --separate-stderr evpub -c a.evlog -i one.ndjson -i - -i three.ndjson \
		<<<'{"type":"B","id":"2"}'
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	run ids a.evlog
	assert_stdout "0 1 A
1 2 B
2 3 C"
}

@test "evpub: a missing -i file exits 66; files before it are appended" {
	echo '{"type":"A","id":"1"}' >one.ndjson
	run --separate-stderr evpub -c a.evlog -i one.ndjson -i nope.ndjson -i one.ndjson
	assert_status 66
	assert_stdout ""
	assert_stderr "evpub: cannot open 'nope.ndjson': No such file or directory"
	run ids a.evlog
	assert_stdout "0 1 A"
}

@test "evpub: an unreadable -i path (a directory) is an I/O error, exit 74" {
	mkdir adir
	evctl init a.evlog
	run --separate-stderr evpub a.evlog -i adir
	assert_status 74
	assert_stdout ""
	assert_stderr "evpub: cannot read 'adir': Is a directory"
	[ "$(event_count a.evlog)" = 0 ]
}

# ------------------------------------------------------------ bad input

@test "evpub stops at the first bad line: exit 65, FILE:LINE:COLUMN, count; earlier events durable" {
	cat >in.ndjson <<'EOF'
{"type":"A","id":"1"}
{"type":"B","id":"2"}
{"type":"C","id":"3"}
{"type":"D","dta":1}
{"type":"E","id":"5"}
EOF
	evctl init a.evlog
	run --separate-stderr evpub a.evlog <in.ndjson
	assert_status 65
	assert_stdout ""
	assert_stderr "evpub: stdin:4:13: unknown field 'dta' (did you mean 'data'?)
evpub: 3 events appended; stopped at line 4"
	run ids a.evlog
	assert_stdout "0 1 A
1 2 B
2 3 C"
}

@test "evpub: the stop message names the -i file and uses thousands separators" {
	evgen 1000 --seed 1 >in.ndjson
	echo 'nope' >>in.ndjson
	echo '{"type":"after"}' >>in.ndjson
	evctl init a.evlog
	run --separate-stderr evpub a.evlog -i in.ndjson
	assert_status 65
	assert_stdout ""
	assert_stderr_line 0 "evpub: in.ndjson:1001:1: expected '{': an event is a JSON object"
	assert_stderr_line 1 "evpub: 1,000 events appended; stopped at line 1,001"
	[ "$(event_count a.evlog)" = 1000 ]
}

# one bad line: exit 65, exactly these two stderr lines, nothing appended
bad_line() {
	local msg=$1
	evctl init bad.evlog 2>/dev/null || true
	run --separate-stderr evpub bad.evlog -i line.ndjson
	assert_status 65
	assert_stdout ""
	assert_stderr "evpub: line.ndjson:1:$msg
evpub: 0 events appended; stopped at line 1"
	[ "$(event_count bad.evlog)" = 0 ]
}

@test "evpub: unknown top-level field is named, with a suggestion when close" {
	echo '{"type":"A","strem":"s-1"}' >line.ndjson
	bad_line "13: unknown field 'strem' (did you mean 'stream'?)"
	echo '{"type":"A","zzzzzz":1}' >line.ndjson
	bad_line "13: unknown field 'zzzzzz'"
}

@test "evpub: duplicate top-level field" {
	echo '{"type":"A","type":"B"}' >line.ndjson
	bad_line "13: duplicate field 'type'"
}

@test "evpub: missing, empty and non-string type" {
	echo '{"data":1}' >line.ndjson
	bad_line "1: missing required field 'type'"
	echo '{"type":""}' >line.ndjson
	bad_line "9: field 'type' must be a non-empty string"
	echo '{"type":1}' >line.ndjson
	bad_line "9: field 'type' must be a non-empty string"
}

@test "evpub: bad id, stream and key" {
	echo '{"type":"A","id":""}' >line.ndjson
	bad_line "18: field 'id' must be a non-empty string"
	echo '{"type":"A","id":5}' >line.ndjson
	bad_line "18: field 'id' must be a non-empty string"
	echo '{"type":"A","stream":5}' >line.ndjson
	bad_line "22: field 'stream' must be a non-empty string"
	echo '{"type":"A","key":[]}' >line.ndjson
	bad_line "19: field 'key' must be a non-empty string"
}

@test "evpub: bad time" {
	echo '{"type":"A","time":"2025-13-01T00:00:00Z"}' >line.ndjson
	bad_line "20: field 'time' is not an RFC 3339 time from 1677-09-21T00:12:43.145224193Z to 2262-04-11T23:47:16.854775807Z"
	echo '{"type":"A","time":"3000-01-01T00:00:00Z"}' >line.ndjson
	bad_line "20: field 'time' is not an RFC 3339 time from 1677-09-21T00:12:43.145224193Z to 2262-04-11T23:47:16.854775807Z"
	echo '{"type":"A","time":12}' >line.ndjson
	bad_line "20: field 'time' must be an RFC 3339 time string"
}

# the ends of the time range (evlog(5)) and one nanosecond past each
TMIN=1677-09-21T00:12:43.145224193Z
TMAX=2262-04-11T23:47:16.854775807Z
TRANGE="times run from $TMIN to $TMAX"

@test "evpub: times at both ends of the range are kept, one nanosecond past is a bad line" {
	printf '{"type":"A","time":"%s"}\n' $TMIN $TMAX \
		2262-04-12T01:47:16.854775807+02:00 \
		1677-09-20T23:12:43.145224193-01:00 | evpub -c L
	run --separate-stderr evtail --template '{time}' L
	assert_status 0
	assert_stdout "$TMIN
$TMAX
$TMAX
$TMIN"
	assert_stderr ""
	for t in 2262-04-11T23:47:16.854775808Z 1677-09-21T00:12:43.145224192Z \
		2262-04-12T01:47:16.854775807+01:59 \
		1677-09-20T23:12:43.145224193-00:59 9999-12-31T23:59:59Z \
		0000-01-01T00:00:00Z; do
		echo "{\"type\":\"A\",\"time\":\"$t\"}" >line.ndjson
		bad_line "20: field 'time' is not an RFC 3339 time from $TMIN to $TMAX"
	done
}

@test "evpub --time: the ends of the range are kept, one nanosecond past exits 64" {
	evctl init L
	run --separate-stderr evpub L A --time $TMIN
	assert_status 0
	assert_stderr ""
	run --separate-stderr evpub L A --time $TMAX
	assert_status 0
	assert_stderr ""
	run evtail --template '{time}' L
	assert_stdout "$TMIN
$TMAX"
	for t in 2262-04-11T23:47:16.854775808Z 1677-09-21T00:12:43.145224192Z +106751d -106752d; do
		run --separate-stderr evpub L A --time "$t"
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evpub: --time: '$t' is out of range: $TRANGE")"
	done
	[ "$(event_count L)" = 2 ]
}

@test "evpub: bad version and schema" {
	for v in 0 -1 1.5 '"1"'; do
		echo "{\"type\":\"A\",\"version\":$v}" >line.ndjson
		bad_line "23: field 'version' must be a positive integer"
	done
	echo '{"type":"A","schema":0}' >line.ndjson
	bad_line "22: field 'schema' must be a positive integer"
}

@test "evpub: meta must be an object" {
	echo '{"type":"A","meta":[1]}' >line.ndjson
	bad_line "20: field 'meta' must be an object"
	echo '{"type":"A","meta":"x"}' >line.ndjson
	bad_line "20: field 'meta' must be an object"
}

@test "evpub: invalid UTF-8 in a string" {
	printf '{"type":"A","data":"ok \xff"}\n' >line.ndjson
	bad_line "24: invalid UTF-8 in string"
	printf '{"type":"\xc3\x28"}\n' >line.ndjson
	bad_line "10: invalid UTF-8 in string"
}

@test "evpub: nesting deeper than 64 levels is refused; 64 is accepted" {
	# data at depth 2: 63 more arrays make 64 levels, 64 more make 65
	local open63 close63
	open63=$(printf '[%.0s' $(seq 63))
	close63=$(printf ']%.0s' $(seq 63))
	echo "{\"type\":\"A\",\"data\":$open63$close63}" >ok.ndjson
	run --separate-stderr evpub -c a.evlog -i ok.ndjson
	assert_status 0
	assert_stderr ""
	echo "{\"type\":\"A\",\"data\":[$open63]$close63}" >line.ndjson
	bad_line "83: nesting deeper than 64 levels"
}

@test "evpub: JSON syntax errors" {
	echo '{"type":"A"} x' >line.ndjson
	bad_line "14: unexpected characters after the event"
	echo '[1]' >line.ndjson
	bad_line "1: expected '{': an event is a JSON object"
	echo '{"type":"A","data":tru}' >line.ndjson
	bad_line "20: invalid literal"
}

@test "evpub: a truncated line says the input ended" {
	echo '{"type":' >line.ndjson
	bad_line "9: unexpected end of input, expected value"
}

@test "evpub: data and data_base64" {
	echo '{"type":"A","data":1,"data_base64":"AA=="}' >line.ndjson
	bad_line "36: fields 'data' and 'data_base64' are mutually exclusive"
	echo '{"type":"A","data_base64":"!!"}' >line.ndjson
	bad_line "27: field 'data_base64' is not valid base64"
	echo '{"type":"B","id":"b","time":"2025-01-01T00:00:00Z","data_base64":"AAEC/w=="}' >ok.ndjson
	evpub -c b.evlog -i ok.ndjson
	run --separate-stderr evtail b.evlog
	assert_stdout '{"offset":0,"id":"b","type":"B","time":"2025-01-01T00:00:00.000Z","schema":1,"data_base64":"AAEC/w=="}'
}

@test "evpub: an event over 1 MiB encoded is refused" {
	{
		printf '{"type":"A","data":"'
		head -c 1048576 /dev/zero | tr '\0' a
		printf '"}\n'
	} >line.ndjson
	bad_line "1: event is 1048636 bytes encoded, over the limit of 1048576 bytes"
}

@test "evpub: an event just under 1 MiB is accepted" {
	{
		printf '{"type":"A","data":"'
		head -c 1048000 /dev/zero | tr '\0' a
		printf '"}\n'
	} >ok.ndjson
	run --separate-stderr evpub -c a.evlog -i ok.ndjson
	assert_status 0
	assert_stdout ""
	assert_stderr ""
}

@test "evpub: a line over 4 MiB is refused as too long, with the count" {
	echo '{"type":"before"}' >line.ndjson
	{
		printf '{"type":"A","data":"'
		head -c $((5 * 1024 * 1024)) /dev/zero | tr '\0' a
		printf '"}\n'
	} >>line.ndjson
	evctl init a.evlog
	run --separate-stderr evpub a.evlog -i line.ndjson
	assert_status 65
	assert_stdout ""
	[[ ${stderr_lines[0]} == "evpub: line.ndjson:2:"*"line longer than 4194304 bytes" ]] ||
		{ echo "stderr: $stderr" >&2; false; }
	assert_stderr_line 1 "evpub: 1 event appended; stopped at line 2"
	[ "${#stderr_lines[@]}" = 2 ]
	[ "$(event_count a.evlog)" = 1 ]
}

@test "evpub: a line far over 4 MiB is refused as too long, with the count" {
	{
		head -c $((20 * 1024 * 1024)) /dev/zero | tr '\0' ' '
		echo '{"type":"A"}'
	} >line.ndjson
	evctl init a.evlog
	run --separate-stderr evpub a.evlog -i line.ndjson
	assert_status 65
	assert_stdout ""
	[[ ${stderr_lines[0]} == "evpub: line.ndjson:1:"*"line longer than 4194304 bytes" ]] ||
		{ echo "stderr: $stderr" >&2; false; }
	assert_stderr_line 1 "evpub: 0 events appended; stopped at line 1"
	[ "$(event_count a.evlog)" = 0 ]
}

@test "evpub --skip-invalid reports each bad line, appends the rest, exits 65" {
	printf '%s\n' '{"type":"A","id":"1"}' '{"type":""}' '{"type":"C","id":"3"}' 'nope' \
		'{"type":"E","id":"5"}' >in.ndjson
	evctl init a.evlog
	run --separate-stderr evpub --skip-invalid a.evlog -i in.ndjson
	assert_status 65
	assert_stdout ""
	assert_stderr "evpub: in.ndjson:2:9: field 'type' must be a non-empty string
evpub: in.ndjson:4:1: expected '{': an event is a JSON object
evpub: 3 events appended; 2 invalid lines skipped"
	run ids a.evlog
	assert_stdout "0 1 A
1 3 C
2 5 E"
}

@test "evpub --skip-invalid with clean input exits 0 and says nothing" {
	make_log a.evlog 5
	more_events 5 >more.ndjson
	run --separate-stderr evpub --skip-invalid a.evlog <more.ndjson
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	[ "$(event_count a.evlog)" = 10 ]
}

@test "evpub --dry-run checks clean input, appends nothing, exit 0" {
	make_log a.evlog 5
	run --separate-stderr evpub --dry-run a.evlog <"$T/gen.ndjson"
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	[ "$(event_count a.evlog)" = 5 ]
}

@test "evpub --dry-run reports every bad line, appends nothing, exit 65" {
	printf '%s\n' '{"type":"A"}' '{"type":""}' '{"type":"C"}' 'nope' >in.ndjson
	evctl init a.evlog
	run --separate-stderr evpub --dry-run a.evlog -i in.ndjson
	assert_status 65
	assert_stdout ""
	assert_stderr "evpub: in.ndjson:2:9: field 'type' must be a non-empty string
evpub: in.ndjson:4:1: expected '{': an event is a JSON object
evpub: 2 events valid; 2 invalid lines"
	[ "$(event_count a.evlog)" = 0 ]
}

@test "evpub --dry-run -v reports the count; the argument form is checked too" {
	evctl init a.evlog
	run --separate-stderr evpub --dry-run -v a.evlog <<<'{"type":"A"}'
	assert_status 0
	assert_stdout ""
	assert_stderr "evpub: 1 event valid; 0 invalid lines"
	run --separate-stderr evpub --dry-run a.evlog T x=1
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	run --separate-stderr evpub --dry-run a.evlog T --time bad
	assert_status 64
	[ "$(event_count a.evlog)" = 0 ]
}

@test "evpub --dry-run with --ack is a usage error" {
	run --separate-stderr evpub --dry-run --ack a.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evpub: --dry-run and --ack cannot be combined")"
}

# ------------------------------------------------------------ -v, --ack

@test "evpub -v/--verbose reports events and fsyncs on stderr only" {
	make_log a.evlog 3
	more_events 3 >more.ndjson
	run --separate-stderr evpub -v a.evlog <more.ndjson
	assert_status 0
	assert_stdout ""
	assert_stderr "evpub: 3 events appended, 1 fsync"
	run --separate-stderr evpub --verbose a.evlog T
	assert_status 0
	assert_stdout ""
	assert_stderr "evpub: 1 event appended, 1 fsync"
}

@test "evpub --ack prints OFFSET ID per event, offsets contiguous from the log's end" {
	make_log a.evlog 20
	evgen 5 --seed 99 >more.ndjson
	run --separate-stderr evpub --ack a.evlog <more.ndjson
	assert_status 0
	assert_stderr ""
	local want
	want=$(jq -r '.id' more.ndjson | awk '{ print 20 + NR - 1, $0 }')
	assert_stdout "$want"
	# and they are the events in the log at those offsets
	run evtail --from 20 --template '{offset} {id}' a.evlog
	assert_stdout "$want"
}

@test "evpub -a acks in the argument form, and with --sync none" {
	evctl init a.evlog
	run --separate-stderr evpub -a a.evlog T --id my-id
	assert_status 0
	assert_stderr ""
	assert_stdout "0 my-id"
	run --separate-stderr evpub --ack --sync none a.evlog <<<'{"type":"B","id":"b1"}'
	assert_status 0
	assert_stderr ""
	assert_stdout "1 b1"
}

@test "evpub --ack across several batches acks every event once, in order" {
	evctl init a.evlog
	evgen 250 --seed 4 >in.ndjson
	run --separate-stderr evpub --ack --batch-events 100 a.evlog <in.ndjson
	assert_status 0
	assert_stderr ""
	assert_stdout "$(jq -r '.id' in.ndjson | awk '{ print NR - 1, $0 }')"
}

# ------------------------------------------------------------ batching

batches() {
	evctl info --json "$1" | jq '[.segment_list[].batches] | add'
}

@test "evpub --batch-events N flushes a batch every N events" {
	evctl init a.evlog
	evgen 250 --seed 4 >in.ndjson
	run --separate-stderr evpub -v --batch-events 100 a.evlog <in.ndjson
	assert_status 0
	assert_stdout ""
	# group commit may sync several batches at once
	[[ $stderr =~ ^"evpub: 250 events appended, "[123]" fsync"s?$ ]]
	[ "$(batches a.evlog)" = 3 ]
}

@test "evpub --batch-events rejects bad values with exit 64" {
	for v in 0 1000001 -1 x 10k ''; do
		run --separate-stderr evpub --batch-events "$v" a.evlog
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evpub: --batch-events: '$v' is not a number between 1 and 1000000")"
	done
	run --separate-stderr evpub -c --batch-events 1000000 a.evlog </dev/null
	assert_status 0
}

@test "evpub --batch-bytes SIZE flushes a batch at SIZE bytes of records" {
	evctl init a.evlog
	evgen 250 --seed 4 >in.ndjson
	run --separate-stderr evpub --batch-bytes 10K a.evlog <in.ndjson
	assert_status 0
	assert_stderr ""
	local raw n
	raw=$(evctl info --json a.evlog | jq .raw_bytes)
	n=$(batches a.evlog)
	# each batch holds about 10 KiB of records
	[ "$n" -ge $((raw / 10240)) ] && [ "$n" -le $((raw / 10240 + 2)) ] ||
		{ echo "raw=$raw batches=$n" >&2; false; }
	[ "$(event_count a.evlog)" = 250 ]
}

@test "evpub --batch-bytes accepts sizes with k, KiB, M suffixes and 1 to 15M" {
	evctl init a.evlog
	for v in 1 1k 64KiB 1M 15M; do
		run --separate-stderr evpub --batch-bytes "$v" a.evlog <<<'{"type":"A"}'
		assert_status 0
		assert_stderr ""
	done
	[ "$(event_count a.evlog)" = 5 ]
}

@test "evpub --batch-bytes rejects bad values with exit 64" {
	for v in 0 x 2q 16M -1 ''; do
		run --separate-stderr evpub --batch-bytes "$v" a.evlog
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evpub: --batch-bytes: '$v' is not a size from 1 to 15M")"
	done
}

# ------------------------------------------------------------ --linger

@test "evpub --linger: a slow producer's first event is readable before the second is written" {
	evctl init a.evlog
	# the producer is this shell, writing to a FIFO it holds open
	mkfifo in
	evpub --linger 100ms a.evlog <in 3>&- &
	local pid=$!
	exec 4>in
	echo '{"type":"ev1"}' >&4
	wait_for '[ -n "$(evtail a.evlog)" ]' 20 "ev1 to be readable"
	run --separate-stderr evtail --template '{type}' a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "ev1"
	echo '{"type":"ev2"}' >&4
	exec 4>&-
	wait "$pid"
	run evtail --template '{type}' a.evlog
	assert_stdout "ev1
ev2"
}

@test "evpub --linger 0 waits for a full batch" {
	evctl init a.evlog
	mkfifo in
	evpub --linger 0 a.evlog <in 3>&- &
	local pid=$!
	exec 4>in
	echo '{"type":"ev1"}' >&4
	# nothing to wait for: ev1 must not show up while the producer idles
	# (with --linger 100ms it shows up after 0.1s)
	holds_for '[ -z "$(evtail a.evlog)" ]' 0.7 "nothing readable before the batch is full"
	run --separate-stderr evtail --template '{type}' a.evlog
	assert_status 0
	assert_stdout ""
	alive "$pid"
	echo '{"type":"ev2"}' >&4
	exec 4>&-
	wait "$pid"
	run evtail --template '{type}' a.evlog
	assert_stdout "ev1
ev2"
}

@test "evpub --linger takes durations in ms, s, m and h" {
	evctl init a.evlog
	for v in 250ms 2s 1m 1h 10; do
		run --separate-stderr evpub --linger "$v" a.evlog <<<'{"type":"A"}'
		assert_status 0
		assert_stdout ""
		assert_stderr ""
	done
	[ "$(event_count a.evlog)" = 5 ]
}

@test "evpub --linger rejects bad durations with exit 64" {
	for v in x 2d -1s 1.5x ''; do
		run --separate-stderr evpub --linger "$v" a.evlog
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evpub: --linger: '$v' is not a duration such as 100ms or 2s")"
	done
}

@test "evpub --linger over the limit names the limit" {
	run --separate-stderr evpub --linger 2h a.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr_contains "--linger: '2h'"
	# "is not a duration" is wrong for 2h: the message should give the maximum
	assert_stderr_contains "1h"
}

# ------------------------------------------------------------ --sync

@test "evpub --sync none does no fsync; --sync batch does one per batch" {
	evctl init a.evlog
	run --separate-stderr evpub -v --sync none a.evlog <<<'{"type":"A"}'
	assert_status 0
	assert_stdout ""
	assert_stderr "evpub: 1 event appended, 0 fsyncs"
	run --separate-stderr evpub -v --sync batch a.evlog <<<'{"type":"A"}'
	assert_status 0
	assert_stderr "evpub: 1 event appended, 1 fsync"
	run evtail --template '{offset} {type}' a.evlog
	assert_stdout "0 A
1 A"
}

@test "evpub --sync with a bad mode exits 64" {
	run --separate-stderr evpub --sync always a.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evpub: --sync: 'always' is not batch or none")"
}

# ------------------------------------------------------------ argument form

@test "evpub LOG TYPE name=value name:=json with every envelope option" {
	run --separate-stderr evpub -c a.evlog OrderPlaced amount:=2000 name=bob \
		'items:=[1,{"a":null}]' ok:=true url=a=b --stream order-1 --key k1 \
		--id id-1 --time 2025-01-10T09:30:00.123Z --schema 2 \
		--meta userId=u-1 --meta source=cli
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	run evtail a.evlog
	assert_stdout '{"offset":0,"id":"id-1","type":"OrderPlaced","stream":"order-1","version":1,"time":"2025-01-10T09:30:00.123Z","schema":2,"key":"k1","data":{"amount":2000,"name":"bob","items":[1,{"a":null}],"ok":true,"url":"a=b"},"meta":{"userId":"u-1","source":"cli"}}'
}

@test "evpub LOG TYPE alone appends an event without data" {
	evctl init a.evlog
	run --separate-stderr evpub a.evlog Ping --id p1 --time 2025-01-01T00:00:00Z
	assert_status 0
	assert_stderr ""
	run evtail a.evlog
	assert_stdout '{"offset":0,"id":"p1","type":"Ping","time":"2025-01-01T00:00:00.000Z","schema":1}'
}

@test "evpub: options before and after operands (GNU order)" {
	run --separate-stderr evpub a.evlog -c T --stream s1 x=1 -v --key k
	assert_status 0
	assert_stdout ""
	assert_stderr "evpub: 1 event appended, 1 fsync"
	run --separate-stderr evpub a.evlog --ack <<<'{"type":"U","id":"u"}'
	assert_status 0
	assert_stdout "1 u"
	run evtail --template '{type} {stream} {key} {data.x}' a.evlog
	assert_stdout "T s1 k 1
U   "
}

@test "evpub argument form: malformed name=value arguments exit 64" {
	evctl init a.evlog
	run --separate-stderr evpub a.evlog T bad
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evpub: 'bad' is not name=value or name:=json")"
	run --separate-stderr evpub a.evlog T =x
	assert_status 64
	assert_stderr "$(usage_err "evpub: '=x' is not name=value or name:=json")"
	run --separate-stderr evpub a.evlog T :=1
	assert_status 64
	assert_stderr "$(usage_err "evpub: ':=1' has an empty name")"
	run --separate-stderr evpub a.evlog T 'a:=[1'
	assert_status 64
	assert_stderr "$(usage_err "evpub: 'a:=[1': unexpected end of input in array at column 3")"
	[ "$(event_count a.evlog)" = 0 ]
}

@test "evpub argument form: bad --time, --schema, --meta, TYPE and --id exit 64" {
	evctl init a.evlog
	run --separate-stderr evpub a.evlog T --time yesterday
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evpub: --time: 'yesterday' is not an RFC 3339 time")"
	for s in 0 x; do
		run --separate-stderr evpub a.evlog T --schema "$s"
		assert_status 64
		assert_stderr "$(usage_err "evpub: --schema: '$s' is not a positive integer")"
	done
	run --separate-stderr evpub a.evlog T --meta foo
	assert_status 64
	assert_stderr "$(usage_err "evpub: --meta: expected NAME=VALUE, got 'foo'")"
	run --separate-stderr evpub a.evlog ''
	assert_status 64
	assert_stderr "$(usage_err "evpub: type must not be empty")"
	run --separate-stderr evpub a.evlog T --id ''
	assert_status 64
	assert_stderr "$(usage_err "evpub: id must not be empty")"
	[ "$(event_count a.evlog)" = 0 ]
}

@test "evpub: envelope options without TYPE exit 64" {
	for o in "--stream s" "--key k" "--id i" "--time 2025-01-01T00:00:00Z" \
		"--schema 2" "--meta a=b"; do
		# shellcheck disable=SC2086
		run --separate-stderr evpub a.evlog $o
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evpub: --id, --key, --stream, --time, --schema and --meta need the TYPE argument form")"
	done
}

@test "evpub: TYPE arguments with -i, --wrap, --format, --type-from or --skip-invalid exit 64" {
	for o in "-i x" "--wrap" "--format envelope" "--type-from t" "--skip-invalid"; do
		# shellcheck disable=SC2086
		run --separate-stderr evpub a.evlog T $o
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evpub: TYPE arguments cannot be combined with -i, --wrap, --format, --type, --*-from or --skip-invalid")"
	done
}

# ------------------------------------------------------------ --wrap

@test "evpub --wrap --type: each line becomes the data of a new event" {
	printf '%s\n' '{"a":1}' '[1,2]' '"str"' 'null' '42' >raw.ndjson
	run --separate-stderr evpub -c --wrap --type Raw a.evlog -i raw.ndjson
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	run evtail --template '{offset} {type}' a.evlog
	assert_stdout '0 Raw
1 Raw
2 Raw
3 Raw
4 Raw'
	evtail a.evlog | jq -c .data >data.out
	diff raw.ndjson data.out
}

@test "evpub --wrap takes id, stream, time and key from dotted paths" {
	echo '{"id":7,"kind":"push","repo":{"name":"o/r"},"at":"2025-01-10T09:30:00Z","user":"u1"}' >raw.ndjson
	run --separate-stderr evpub -c --wrap --type-from kind --id-from id \
		--stream-from repo.name --time-from at --key-from user a.evlog -i raw.ndjson
	assert_status 0
	assert_stderr ""
	run evtail a.evlog
	assert_stdout '{"offset":0,"id":"7","type":"push","stream":"o/r","version":1,"time":"2025-01-10T09:30:00.000Z","schema":1,"key":"u1","data":{"id":7,"kind":"push","repo":{"name":"o/r"},"at":"2025-01-10T09:30:00Z","user":"u1"}}'
}

@test "evpub --wrap: absent optional paths leave the fields unset" {
	echo '{"a":1}' >raw.ndjson
	run --separate-stderr evpub -c --wrap --type T --stream-from s --key-from k --id-from i a.evlog -i raw.ndjson
	assert_status 0
	assert_stderr ""
	run evtail --template '{type}|{stream}|{key}|{data}' a.evlog
	assert_stdout 'T|||{"a":1}'
}

@test "evpub --wrap: bad values at --*-from paths stop with exit 65" {
	evctl init a.evlog
	wrap_bad() {
		local opts=$1 line=$2 msg=$3
		# shellcheck disable=SC2086
		run --separate-stderr evpub --wrap $opts a.evlog <<<"$line"
		assert_status 65
		assert_stdout ""
		assert_stderr "evpub: stdin:1:$msg
evpub: 0 events appended; stopped at line 1"
	}
	wrap_bad "--type-from kind" '{"x":1}' "1: --type-from 'kind': no value at that path"
	wrap_bad "--type-from kind" '{"kind":""}' "1: --type-from 'kind': no non-empty value at that path"
	wrap_bad "--type-from kind" '{"kind":{"a":1}}' "1: --type-from 'kind': value is not a string or integer"
	wrap_bad "--type T --time-from at" '{"at":"nope"}' "1: --time-from 'at': value is not an RFC 3339 time"
	wrap_bad "--type T --id-from id" '{"id":[1]}' "1: --id-from 'id': value is not a string or integer"
	wrap_bad "--type T --stream-from s" '{"s":true}' "1: --stream-from 's': value is not a string or integer"
	wrap_bad "--type T --key-from k" '{"k":1.5}' "1: --key-from 'k': value is not a string or integer"
	wrap_bad "--type T" '{"a":' "6: unexpected end of input, expected value"
	[ "$(event_count a.evlog)" = 0 ]
}

@test "evpub --wrap usage errors exit 64" {
	run --separate-stderr evpub --wrap a.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evpub: --wrap needs --type TYPE or --type-from PATH")"
	for o in "--type T" "--type-from t" "--stream-from s" "--id-from i" \
		"--time-from t" "--key-from k"; do
		# shellcheck disable=SC2086
		run --separate-stderr evpub a.evlog $o
		assert_status 64
		assert_stderr "$(usage_err "evpub: --type and --*-from need --wrap")"
	done
	run --separate-stderr evpub --wrap --type T --type-from t a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evpub: --type and --type-from cannot be combined")"
	run --separate-stderr evpub --wrap --type T --format envelope a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evpub: --wrap and --format cannot be combined")"
	run --separate-stderr evpub --wrap --type '' a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evpub: --type must not be empty")"
}

@test "evpub --wrap on GH Archive: 62,952 events with the right count per type" {
	local gh
	need_data gharchive-minimized-2019-09-26-0.ndjson
	gh=$DATA
	run --separate-stderr evpub -c --wrap --type-from type --stream-from repo \
		--id-from id --time-from dt gh.evlog <"$gh"
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	[ "$(event_count gh.evlog)" = 62952 ]
	run --separate-stderr evctl info --json --types gh.evlog
	assert_status 0
	assert_stderr ""
	[ "$(jq -c .types <<<"$output")" = \
		'{"push":34832,"create":9075,"pr":4757,"watch":3673,"icomment":3546,"del":1870,"issue":1663,"fork":1474,"prcomment":971,"member":331,"golem":271,"release":240,"public":171,"ccomment":78}' ]
	# the same counts straight from the source
	[ "$(jq -c .types <<<"$output")" = \
		"$(jq -r .type "$gh" | sort | uniq -c | sort -k1,1nr -k2 |
			jq -Rsc 'split("\n") | map(select(. != "") | capture("(?<n>[0-9]+) (?<t>.*)")) | map({(.t): (.n|tonumber)}) | add')" ]
	run --separate-stderr evtail --type push --template '{offset}' gh.evlog
	assert_status 0
	[ "${#lines[@]}" = 34832 ]
	run --separate-stderr evtail --type ccomment --type public --template '{offset}' gh.evlog
	[ "${#lines[@]}" = 249 ]
	# the first event, field by field
	run --separate-stderr evtail --count 1 gh.evlog
	assert_stdout "{\"offset\":0,\"id\":\"10497107027\",\"type\":\"push\",\"stream\":\"libbitc/libbitc\",\"version\":1,\"time\":\"2019-09-26T00:00:00.000Z\",\"schema\":1,\"data\":$(head -n 1 "$gh")}"
	run --separate-stderr evctl verify gh.evlog
	assert_status 0
	[[ $output == "gh.evlog: ok, 62,952 events in "*" batches, 1 segment" ]]
}

# ------------------------------------------------------------ --format

@test "evpub --format cloudevents maps attributes onto the envelope" {
	echo '{"specversion":"1.0","id":"e1","source":"/orders","type":"OrderPlaced","subject":"order-1","time":"2025-01-10T09:30:00Z","datacontenttype":"application/json","data":{"amount":5},"sequence":"1","partitionkey":"k","correlationid":"c1","causationid":"c0","schemaversion":2,"myext":"x"}' >ce.ndjson
	run --separate-stderr evpub -c --format cloudevents a.evlog -i ce.ndjson
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	run evtail a.evlog
	assert_stdout '{"offset":0,"id":"e1","type":"OrderPlaced","stream":"order-1","version":1,"time":"2025-01-10T09:30:00.000Z","schema":2,"key":"k","data":{"amount":5},"meta":{"correlationId":"c1","causationId":"c0","source":"/orders","datacontenttype":"application/json","myext":"x"}}'
}

@test "evpub --format cloudevents: binary data and an explicit null data" {
	printf '%s\n' '{"specversion":"1.0","id":"b","source":"/s","type":"Bin","time":"2025-01-01T00:00:00Z","data_base64":"AAEC/w=="}' \
		'{"specversion":"1.0","id":"n","source":"/s","type":"Null","time":"2025-01-01T00:00:00Z","data":null}' >ce.ndjson
	run --separate-stderr evpub -c --format cloudevents a.evlog -i ce.ndjson
	assert_status 0
	assert_stderr ""
	run evtail a.evlog
	assert_stdout '{"offset":0,"id":"b","type":"Bin","time":"2025-01-01T00:00:00.000Z","schema":1,"data_base64":"AAEC/w==","meta":{"source":"/s"}}
{"offset":1,"id":"n","type":"Null","time":"2025-01-01T00:00:00.000Z","schema":1,"data":null,"meta":{"source":"/s"}}'
}

@test "evpub --format cloudevents rejects invalid events with exit 65" {
	evctl init a.evlog
	ce_bad() {
		run --separate-stderr evpub --format cloudevents a.evlog <<<"$1"
		assert_status 65
		assert_stdout ""
		assert_stderr "evpub: stdin:1:$2
evpub: 0 events appended; stopped at line 1"
	}
	ce_bad '{"id":"e1","source":"/s","type":"T"}' "1: missing required attribute 'specversion'"
	ce_bad '{"specversion":"0.3","id":"e1","source":"/s","type":"T"}' '1: unsupported specversion (only "1.0" is supported)'
	ce_bad '{"specversion":"1.0","source":"/s","type":"T"}' "1: missing required attribute 'id'"
	ce_bad '{"specversion":"1.0","id":"e1","type":"T"}' "1: missing required attribute 'source'"
	ce_bad '{"specversion":"1.0","id":"e1","source":"/s"}' "1: missing required attribute 'type'"
	ce_bad '{"specversion":"1.0","id":"","source":"/s","type":"T"}' "27: attribute 'id' must not be empty"
	ce_bad '{"specversion":"1.0","id":"e1","source":"/s","type":"T","time":"yesterday"}' "64: 'time' is not an RFC 3339 time"
	ce_bad '{"specversion":"1.0","id":"e1","source":"/s","type":"T","Bad-Name":1}' "57: invalid CloudEvents attribute name 'Bad-Name' (names are lowercase letters and digits)"
	ce_bad '{"specversion":"1.0","id":"e1","source":"/s","type":"T","data":1,"data_base64":"AA=="}' "66: 'data' and 'data_base64' are mutually exclusive"
	[ "$(event_count a.evlog)" = 0 ]
}

@test "evpub --format envelope is the default; a bad --format exits 64" {
	run --separate-stderr evpub -c --format envelope a.evlog <<<'{"type":"A"}'
	assert_status 0
	assert_stderr ""
	run --separate-stderr evpub --format xml a.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evpub: --format: 'xml' is not envelope, cloudevents or msgpack")"
	run --separate-stderr evpub --format msgpack a.evlog T
	assert_status 64
	assert_stderr "$(usage_err "evpub: TYPE arguments cannot be combined with -i, --wrap, --format, --type, --*-from or --skip-invalid")"
	run --separate-stderr evpub --format msgpack --wrap --type T a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evpub: --wrap and --format cannot be combined")"
}

# ------------------------------------------------------------ --format msgpack

# Bytes from hex digits (spaces ignored): mp 81 a4747970 65 ...
mp() {
	local hex
	hex=$(printf '%s' "$*" | tr -d ' ')
	# shellcheck disable=SC2059
	printf "$(printf '%s' "$hex" | sed 's/../\\x&/g')"
}

# a fixstr (under 32 bytes) as hex
s() {
	printf '%02x' $((0xa0 + ${#1}))
	printf '%s' "$1" | od -An -tx1 | tr -d ' \n'
}

# the event {"type":"A"}: 8 bytes
A=$(s type; s A)
A="81$A"

# one good event, then a bad object at byte 8: exit 65, these two stderr
# lines, the good event appended
mp_bad() {
	local hex=$1 msg=$2
	evctl init bad.evlog 2>/dev/null || true
	mp "$A" >in.mp
	mp "$hex" >>in.mp
	run --separate-stderr evpub --format msgpack bad.evlog -i in.mp
	assert_status 65
	assert_stdout ""
	assert_stderr "evpub: in.mp: byte 8: $msg
evpub: 1 event appended; stopped at byte 8"
	[ "$(event_count bad.evlog)" = 1 ]
	rm -rf bad.evlog
}

@test "evpub --format msgpack reads a stream of maps; fields come back as given" {
	# ids, a stream with versions, a key, schema, data, meta, and a time
	# in each of the timestamp's three sizes and as a string
	{
		mp 89 "$(s id; s e1; s type; s T; s stream; s s-1; s version)" 01 \
			"$(s time)" d6ff6780e898 "$(s key; s k)" "$(s schema)" 02 \
			"$(s data)" 81 "$(s amount)" cd07d0 "$(s meta)" 81 "$(s u; s u-1)"
		mp 84 "$(s id; s e2; s type; s T; s stream; s s-1; s time)" \
			d7ff1d6f34546780e898
		mp 83 "$(s id; s e3; s type; s T; s time)" c70cff1dcd6500ffffffffffffffff
		mp 83 "$(s id; s e4; s type; s T; s time; s 2025-01-10T09:30:00.5Z)"
	} >in.mp
	run --separate-stderr evpub -c --format msgpack a.evlog <in.mp
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	run evtail a.evlog
	assert_stdout '{"offset":0,"id":"e1","type":"T","stream":"s-1","version":1,"time":"2025-01-10T09:30:00.000Z","schema":2,"key":"k","data":{"amount":2000},"meta":{"u":"u-1"}}
{"offset":1,"id":"e2","type":"T","stream":"s-1","version":2,"time":"2025-01-10T09:30:00.123456789Z","schema":1}
{"offset":2,"id":"e3","type":"T","time":"1969-12-31T23:59:59.500Z","schema":1}
{"offset":3,"id":"e4","type":"T","time":"2025-01-10T09:30:00.500Z","schema":1}'
}

@test "evpub --format msgpack: any encoding of a value is read; nil leaves a field out" {
	# version 1 as an int64, schema as a uint16, strings as str8, str16 and
	# str32, a float32, a bin as data, nil for id, stream, key, time, meta
	{
		mp 86 "$(s type)" d9014e "$(s version)" d30000000000000001 \
			"$(s schema)" cd0002 "$(s offset)" c0 \
			"$(s data)" 84 da000161 01 db0000000162 ca3fc00000 \
			"$(s c)" dc0002c3c2 "$(s d)" de0001 "$(s e)" d0ff \
			"$(s stream)" "$(s s)"
		mp 86 "$(s type; s B; s id)" c0 "$(s key)" c0 "$(s time)" c0 \
			"$(s meta)" c0 "$(s data)" c40300 01ff
	} >in.mp
	run --separate-stderr evpub -c --format msgpack a.evlog -i in.mp
	assert_status 0
	assert_stderr ""
	run evtail --template '{type} {stream}@{version} {schema} {data}' a.evlog
	assert_stdout 'N s@1 2 {"a":1,"b":1.5,"c":[true,false],"d":{"e":-1}}
B @ 1 AAH/'
	run evtail --template '{meta}|{key}' --from 1 a.evlog
	assert_stdout '|'
}

@test "evpub --format msgpack: a bad object stops at its byte offset, exit 65" {
	mp_bad 05 "expected a map: an event is a MessagePack map"
	mp_bad 9101 "expected a map: an event is a MessagePack map"
	mp_bad "81 $(s id; s x)" "missing required field 'type'"
	mp_bad "81 01 $(s A)" "a key of the event map is not a string"
	mp_bad "82 $(s type; s A; s strem; s s)" "unknown field 'strem' (did you mean 'stream'?)"
	mp_bad "82 $(s type; s A; s zzzzzz) 01" "unknown field 'zzzzzz'"
	mp_bad "82 $(s type; s A; s type; s B)" "duplicate field 'type'"
	mp_bad "81 $(s type) a0" "field 'type' must be a non-empty string"
	mp_bad "81 $(s type) 01" "field 'type' must be a non-empty string"
	mp_bad "81 $(s type) c0" "field 'type' must be a non-empty string"
	mp_bad "82 $(s type; s A; s id) a0" "field 'id' must be a non-empty string"
	mp_bad "82 $(s type; s A; s stream) 05" "field 'stream' must be a non-empty string"
	mp_bad "82 $(s type; s A; s key) a1ff" "field 'key' is not valid UTF-8"
	mp_bad "82 $(s type; s A; s version) 00" "field 'version' must be a positive integer"
	mp_bad "82 $(s type; s A; s version) ff" "field 'version' must be a positive integer"
	mp_bad "82 $(s type; s A; s version; s 1)" "field 'version' must be a positive integer"
	mp_bad "82 $(s type; s A; s schema) cb3ff8000000000000" "field 'schema' must be a positive integer"
	mp_bad "82 $(s type; s A; s meta) 9101" "field 'meta' must be a map"
	mp_bad "82 $(s type; s A; s meta) 81 01 02" "field 'meta': map key is not a string"
	mp_bad "82 $(s type; s A; s data) 91 c40100" "field 'data': binary value inside data or meta"
	mp_bad "82 $(s type; s A; s data) d60100000000" "field 'data': msgpack extension value inside data or meta"
	mp_bad "82 $(s type; s A; s data) 81 01 02" "field 'data': map key is not a string"
	mp_bad "82 $(s type; s A; s data) a2c328" "field 'data': string is not valid UTF-8"
	mp_bad "82 $(s type; s A; s data) cb7ff8000000000000" "field 'data': non-finite float"
	mp_bad "83 $(s type; s A; s data) 01 $(s data_base64; s AA==)" "fields 'data' and 'data_base64' are mutually exclusive"
	mp_bad "82 $(s type; s A; s data_base64; s '!!')" "field 'data_base64' is not valid base64"
	mp_bad "82 $(s type; s A; s type) 01" "duplicate field 'type'"
}

@test "evpub --format msgpack: bad times" {
	mp_bad "82 $(s type; s A; s time; s nope)" "field 'time' is not an RFC 3339 time from 1677-09-21T00:12:43.145224193Z to 2262-04-11T23:47:16.854775807Z"
	mp_bad "82 $(s type; s A; s time) 05" "field 'time' must be a timestamp or an RFC 3339 time string"
	mp_bad "82 $(s type; s A; s time) d60100000000" "field 'time' must be a timestamp or an RFC 3339 time string"
	# nanoseconds over 999999999, a size that is not 4, 8 or 12, and
	# seconds past the year 2262
	mp_bad "82 $(s type; s A; s time) d7ffffffffff00000000" "field 'time' is not a timestamp from 1677-09-21T00:12:43.145224193Z to 2262-04-11T23:47:16.854775807Z"
	mp_bad "82 $(s type; s A; s time) d5ff0000" "field 'time' is not a timestamp from 1677-09-21T00:12:43.145224193Z to 2262-04-11T23:47:16.854775807Z"
	mp_bad "82 $(s type; s A; s time) c70cff00000000 0000000400000000" "field 'time' is not a timestamp from 1677-09-21T00:12:43.145224193Z to 2262-04-11T23:47:16.854775807Z"
}

@test "evpub --format msgpack: timestamps at both ends of the range are kept, one nanosecond past is refused" {
	{
		mp 82 "$(s type; s A; s time)" c70cff32f2d7ff0000000225c17d04
		mp 82 "$(s type; s A; s time)" c70cff08a7f201fffffffdda3e82fb
	} | evpub --format msgpack -c L
	run --separate-stderr evtail --template '{time}' L
	assert_status 0
	assert_stdout "$TMAX
$TMIN"
	assert_stderr ""
	mp_bad "82 $(s type; s A; s time) c70cff32f2d8000000000225c17d04" "field 'time' is not a timestamp from $TMIN to $TMAX"
	mp_bad "82 $(s type; s A; s time) c70cff08a7f200fffffffdda3e82fb" "field 'time' is not a timestamp from $TMIN to $TMAX"
}

@test "evpub --format msgpack: an event over 1 MiB encoded is refused, and skipped with --skip-invalid" {
	{
		mp "$A"
		mp 82 "$(s type; s A; s data)" db00100000
		head -c 1048576 /dev/zero | tr '\0' a
		mp "$A"
	} >in.mp
	evctl init a.evlog
	run --separate-stderr evpub --format msgpack a.evlog -i in.mp
	assert_status 65
	assert_stdout ""
	assert_stderr "evpub: in.mp: byte 8: event is 1048636 bytes encoded, over the limit of 1048576 bytes
evpub: 1 event appended; stopped at byte 8"
	run --separate-stderr evpub --format msgpack --skip-invalid a.evlog -i in.mp
	assert_status 65
	assert_stderr "evpub: in.mp: byte 8: event is 1048636 bytes encoded, over the limit of 1048576 bytes
evpub: 2 events appended; 1 invalid object skipped"
	[ "$(event_count a.evlog)" = 3 ]
}

@test "evpub --format msgpack: what cannot be read ends the stream, even with --skip-invalid" {
	local deep
	deep=$(printf '91%.0s' $(seq 31))
	stream_end() {
		local msg=$1
		rm -rf a.evlog
		evctl init a.evlog
		run --separate-stderr evpub --format msgpack --skip-invalid a.evlog -i in.mp
		assert_status 65
		assert_stdout ""
		assert_stderr "evpub: in.mp: byte 8: $msg
evpub: 1 event appended; stopped at byte 8"
		[ "$(event_count a.evlog)" = 1 ]
	}
	{ mp "$A"; mp c1; mp "$A"; } >in.mp
	stream_end "not valid MessagePack"
	{ mp "$A"; mp 82 "$(s type; s A; s data)"; } >in.mp
	stream_end "truncated object: the input ends inside it"
	{ mp "$A"; mp 82 "$(s type; s A; s data)" db00500000; head -c $((5 << 20)) /dev/zero; mp "$A"; } >in.mp
	stream_end "object larger than 4194304 bytes"
	# 32 levels, counting the event map, are read; 33 are not
	{ mp "$A"; mp 82 "$(s type; s A; s data)" "$deep" 91 01; mp "$A"; } >in.mp
	stream_end "msgpack-c cannot unpack this object: nested deeper than 32 levels, or out of memory"
	{ mp "$A"; mp 82 "$(s type; s A; s data)" "$deep" 01; } >in.mp
	run --separate-stderr evpub --format msgpack a.evlog -i in.mp
	assert_status 0
	assert_stderr ""
}

@test "evpub --format msgpack --skip-invalid skips invalid maps, not what cannot be read" {
	{
		mp "$A" 05 "$A" 81 "$(s id; s x)" "$A"
	} >in.mp
	evctl init a.evlog
	run --separate-stderr evpub --format msgpack --skip-invalid a.evlog -i in.mp
	assert_status 65
	assert_stdout ""
	assert_stderr "evpub: in.mp: byte 8: expected a map: an event is a MessagePack map
evpub: in.mp: byte 17: missing required field 'type'
evpub: 3 events appended; 2 invalid objects skipped"
	[ "$(event_count a.evlog)" = 3 ]
	# a malformed object after a skipped one: the count says where it stopped
	mp "$A" 05 "$A" c1 "$A" >in.mp
	run --separate-stderr evpub --format msgpack --skip-invalid a.evlog -i in.mp
	assert_status 65
	assert_stderr "evpub: in.mp: byte 8: expected a map: an event is a MessagePack map
evpub: in.mp: byte 17: not valid MessagePack
evpub: 2 events appended; 1 invalid object skipped; stopped at byte 17"
	[ "$(event_count a.evlog)" = 5 ]
}

@test "evpub --format msgpack --dry-run counts objects; a clean stream says nothing" {
	mp "$A" 05 "$A" >in.mp
	run --separate-stderr evpub --format msgpack --dry-run a.evlog -i in.mp
	assert_status 65
	assert_stdout ""
	assert_stderr "evpub: in.mp: byte 8: expected a map: an event is a MessagePack map
evpub: 2 events valid; 1 invalid object"
	mp "$A" 05 c1 >in.mp
	run --separate-stderr evpub --format msgpack --dry-run a.evlog -i in.mp
	assert_status 65
	assert_stderr "evpub: in.mp: byte 8: expected a map: an event is a MessagePack map
evpub: in.mp: byte 9: not valid MessagePack
evpub: 1 event valid; 2 invalid objects; stopped at byte 9"
	mp "$A" "$A" >in.mp
	run --separate-stderr evpub --format msgpack --dry-run -v a.evlog -i in.mp
	assert_status 0
	assert_stderr "evpub: 2 events valid; 0 invalid objects"
	[ ! -e a.evlog ]
}

@test "evpub --format msgpack -i: files and stdin in order, offsets from each one's start" {
	mp 82 "$(s type; s A; s id; s 1)" >one.mp
	mp 82 "$(s type; s B; s id; s 2)" >two.mp
	run --separate-stderr evpub -c --format msgpack a.evlog -i one.mp -i - -i two.mp \
		< <(mp 82 "$(s type; s C; s id; s 3)")
	assert_status 0
	assert_stderr ""
	run ids a.evlog
	assert_stdout "0 1 A
1 3 C
2 2 B"
	mp "$A" "$A" 01 >three.mp
	run --separate-stderr evpub --format msgpack a.evlog -i three.mp -i three.mp
	assert_status 65
	assert_stderr "evpub: three.mp: byte 16: expected a map: an event is a MessagePack map
evpub: 2 events appended; stopped at byte 16"
}

@test "evpub --format msgpack: a version conflict names the object's byte offset" {
	mp 83 "$(s type; s A; s stream; s s; s version)" 01 | evpub -c --format msgpack a.evlog
	run --separate-stderr evpub --format msgpack --expect-version 5 a.evlog \
		< <(mp 82 "$(s type; s A; s stream; s s)")
	assert_status 75
	assert_stdout ""
	assert_stderr "evpub: stdin: byte 0: stream 's' is at version 1, expected 5
evpub: 0 events appended; stopped at byte 0"
	{ mp "$A"; mp 83 "$(s type; s A; s stream; s s; s version)" 07; } >in.mp
	run --separate-stderr evpub --format msgpack a.evlog -i in.mp
	assert_status 75
	assert_stderr "evpub: in.mp: byte 8: stream 's' is at version 1, event has version 7
evpub: 1 event appended; stopped at byte 8"
}


# ------------------------------------------------------------ round trips

@test "round trip: evtail --output json A | evpub B gives B the same events" {
	evgen 2000 --seed 11 >a.ndjson
	evpub -c A <a.ndjson
	evpub A T x=1 'n:=[1.5,-0.1,18446744073709551615]' --key kk --stream s \
		--time 2025-01-01T00:00:00.123456789Z --meta a=b --schema 3
	printf '%s\n' '{"type":"Bin","data_base64":"AAEC/w=="}' \
		'{"type":"N","version":7,"data":null,"meta":{}}' \
		'{"type":"D","data":{"d":1,"d":2},"meta":{"m":1,"m":2}}' | evpub A
	run --separate-stderr bash -c 'set -o pipefail; evtail --output json A | evpub -c B'
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	evtail A >a.out
	evtail B >b.out
	[ "$(wc -l <a.out)" = 2004 ]
	cmp a.out b.out
}

@test "round trip: evtail --output msgpack A | evpub --format msgpack B gives B the same events" {
	evgen 2000 --seed 11 >a.ndjson
	evpub -c A <a.ndjson
	evpub A T x=1 'n:=[1.5,-0.1,18446744073709551615,-9223372036854775808]' \
		--key kk --stream s --time 2025-01-01T00:00:00.123456789Z --meta a=b --schema 3
	printf '%s\n' '{"type":"Bin","data_base64":"AAEC/w=="}' \
		'{"type":"E","data_base64":""}' \
		'{"type":"N","version":7,"data":null,"meta":{}}' \
		'{"type":"D","data":{"d":1,"d":2},"meta":{"m":1,"m":2}}' \
		'{"type":"Old","time":"1700-01-01T00:00:00.000000001Z","data":"é"}' | evpub A
	run --separate-stderr bash -c 'set -o pipefail; evtail --output msgpack A | evpub -c --format msgpack B'
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	evtail -o json A >a.out
	evtail -o json B >b.out
	[ "$(wc -l <a.out)" = 2006 ]
	cmp a.out b.out
	# and the copy's msgpack is the original's
	cmp <(evtail -o msgpack A) <(evtail -o msgpack B)
}

@test "round trip: evtail --output cloudevents A | evpub --format cloudevents B" {
	evgen 500 --seed 12 >a.ndjson
	evpub -c A <a.ndjson
	evpub A T x=1 --key kk --stream s --time 2025-01-01T00:00:00.123456789Z \
		--meta a=b --meta dataschema=https://example.com/s --schema 3
	# (an explicit null data has its own test above)
	printf '%s\n' '{"type":"Bin","data_base64":"AAEC/w=="}' '{"type":"V","version":7,"data":[]}' | evpub A
	run --separate-stderr bash -c 'set -o pipefail; evtail --output cloudevents A | evpub -c --format cloudevents B'
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	# meta key order may differ: compare with sorted keys
	evtail A | jq -cS . >a.out
	evtail B | jq -cS . >b.out
	[ "$(wc -l <a.out)" = 503 ]
	diff a.out b.out
}

@test "round trip on real data: wikiticker via --wrap, then json, cloudevents and msgpack" {
	local wiki
	wiki=$(data_or_gen wikiticker-2015-09-12-sampled.ndjson 5000)
	run --separate-stderr evpub -c --wrap --type edit --time-from time \
		--stream-from channel --key-from page W <"$wiki"
	assert_status 0
	assert_stderr ""
	[ "$(event_count W)" = "$(grep -c . "$wiki")" ]
	run --separate-stderr bash -c 'set -o pipefail; evtail -o json W | evpub -c W2'
	assert_status 0
	assert_stderr ""
	evtail W >w.out
	evtail W2 >w2.out
	cmp w.out w2.out
	run --separate-stderr bash -c 'set -o pipefail; evtail -o cloudevents W | evpub -c --format cloudevents W3'
	assert_status 0
	assert_stderr ""
	evtail W3 >w3.out
	cmp w.out w3.out
	run --separate-stderr bash -c 'set -o pipefail; evtail -o msgpack W | evpub -c --format msgpack W4'
	assert_status 0
	assert_stderr ""
	evtail W4 >w4.out
	cmp w.out w4.out
	# data is the input line
	evtail --template '{data}' W | jq -c . >data.out
	grep . "$wiki" | jq -c . | cmp - data.out
}

# ------------------------------------------------------------ damaged logs

@test "evpub truncates a torn tail with a one-line notice and appends" {
	evgen 300 --seed 5 | evpub -c --batch-events 100 a.evlog
	cp -r a.evlog b.evlog
	evgen 50 --seed 9 | evpub b.evlog
	local seg=00000000000000000000.seg size
	size=$(stat -c %s a.evlog/$seg)
	# the first 1000 bytes of the next batch: an interrupted write
	tail -c +$((size + 1)) b.evlog/$seg | head -c 1000 >>a.evlog/$seg
	run --separate-stderr evpub a.evlog T --id after
	assert_status 0
	assert_stdout ""
	assert_stderr "evpub: truncated a torn tail of 1000 bytes at byte $size of segment 00000000000000000000 (incomplete batch payload)"
	run evtail --from 299 --template '{offset} {id}' a.evlog
	assert_stdout "$(evtail --from 299 --template '{offset} {id}' b.evlog | head -n 1)
300 after"
	run --separate-stderr evctl verify a.evlog
	assert_status 0
}

@test "evpub that must replay damaged events to number streams stops at them (exit 65)" {
	# Damage before the head's recovery point is not looked for when
	# evpub opens the log (tests/corruption.bats has it appending after
	# such damage); but with no snapshot of the stream state, evpub
	# replays the events, and meets the damage as a reader does.
	evgen 300 --seed 5 | evpub -c --batch-events 100 a.evlog
	local seg=a.evlog/00000000000000000000.seg len1 b2
	len1=$(od -An -tu4 -j64 -N4 "$seg" | tr -d ' ')
	b2=$((64 + 64 + len1))
	# a byte inside the second batch's payload; the third batch is intact
	printf '\377' | dd of="$seg" bs=1 seek=$((b2 + 64 + 10)) conv=notrunc 2>/dev/null
	cp "$seg" before.seg
	[ ! -e a.evlog/state/streams ]
	run --separate-stderr evpub a.evlog T
	assert_status 65
	assert_stdout ""
	assert_stderr "evpub: damaged data in 'a.evlog': segment 00000000000000000000, offset 100, byte $b2: batch payload checksum mismatch
evpub: run 'evctl verify a.evlog' for details"
	cmp before.seg "$seg"
}

# ------------------------------------------------------------ --expect-version

@test "evpub --expect-version N: more input than one batch holds is a usage error, nothing appended" {
	evctl init a.evlog
	# 16 events of 1,000,000 bytes: over the 15 MiB of one batch
	local data i
	data=$(head -c 1000000 /dev/zero | tr '\0' a)
	for i in $(seq 17); do
		printf '{"type":"T","stream":"s","data":"%s"}\n' "$data"
	done >big.ndjson
	run --separate-stderr evpub --expect-version 0 a.evlog -i big.ndjson
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evpub: big.ndjson:17: --expect-version 0: more events than fit in one batch (16 events, 16001056 bytes); an exact version is for one atomic append")"
	[ "$(event_count a.evlog)" = 0 ]
}

# ------------------------------------------------------------ --wrap on real data

@test "evpub --wrap: null at an --*-from path leaves the field unset, as in the envelope" {
	printf '%s\n' '{"i":null,"s":null,"k":null,"t":null,"n":1}' \
		'{"i":"x","s":"s1","k":"k1","t":"2025-01-10T09:30:00Z","n":2}' >raw.ndjson
	run --separate-stderr evpub -c --wrap --type T --id-from i --stream-from s \
		--key-from k --time-from t a.evlog -i raw.ndjson
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	run --separate-stderr evtail --template '{stream}|{key}|{data.n}' a.evlog
	assert_stdout '||1
s1|k1|2'
	# a generated id and the append time for the first
	run evtail --to 0 a.evlog
	[[ $output =~ \"id\":\"[0-9a-f-]{36}\" ]]
	[[ $output != *'"stream"'* && $output != *'"key"'* ]]
	# --type-from: null is no type
	run --separate-stderr evpub --wrap --type-from i a.evlog <<<'{"i":null}'
	assert_status 65
	assert_stderr "evpub: stdin:1:1: --type-from 'i': value is null
evpub: 0 events appended; stopped at line 1"
}

@test "evpub --wrap --null-is-error: null at an --*-from path exits 65, naming it" {
	evctl init a.evlog
	local o
	for o in id-from key-from stream-from time-from; do
		run --separate-stderr evpub --wrap --type T --null-is-error \
			"--$o" v a.evlog <<<'{"v":null}'
		assert_status 65
		assert_stdout ""
		assert_stderr "evpub: stdin:1:1: --$o 'v': value is null
evpub: 0 events appended; stopped at line 1"
	done
	# a missing path is still absent
	run --separate-stderr evpub --wrap --type T --null-is-error --key-from v a.evlog <<<'{"w":null}'
	assert_status 0
	assert_stderr ""
	[ "$(event_count a.evlog)" = 1 ]
	run --separate-stderr evpub --null-is-error a.evlog <<<'{"type":"T"}'
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evpub: --null-is-error needs --wrap")"
}

@test "evpub --wrap on wikiticker: null cities and countries leave key and stream unset" {
	local wiki
	need_data wikiticker-2015-09-12-sampled.ndjson
	wiki=$DATA
	run --separate-stderr evpub -c --wrap --type edit --time-from time \
		--stream-from countryName --key-from cityName W <"$wiki"
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	[ "$(event_count W)" = "$(grep -c . "$wiki")" ]
	[ "$(evtail --template '{stream}' W | grep -c .)" = \
		"$(jq -r 'select(.countryName != null) | .countryName' "$wiki" | wc -l)" ]
	[ "$(evtail --template '{key}' W | grep -c .)" = \
		"$(jq -r 'select(.cityName != null) | .cityName' "$wiki" | wc -l)" ]
	# and with --null-is-error the first null stops it
	local first
	first=$(jq -r 'select(.countryName == null) | input_line_number' "$wiki" | head -n 1)
	run --separate-stderr evpub -c --wrap --type edit --null-is-error \
		--stream-from countryName W2 <"$wiki"
	assert_status 65
	assert_stderr_contains "evpub: stdin:$first:1: --stream-from 'countryName': value is null"
}

@test "evpub --wrap --time-format epoch, epoch-ms, epoch-us and epoch-ns: integers, strings and fractions" {
	wrap_times() {
		local f=$1
		shift
		rm -rf t.evlog
		printf '{"t":%s}\n' "$@" >raw.ndjson
		run --separate-stderr evpub -c --wrap --type T --time-from t \
			--time-format "$f" t.evlog -i raw.ndjson
		assert_status 0
		assert_stderr ""
		evtail --template '{time}' t.evlog
	}
	run wrap_times epoch 1569456000 '"1569456000.5"' 1569456000.25 -1 '"0"'
	assert_stdout "2019-09-26T00:00:00.000Z
2019-09-26T00:00:00.500Z
2019-09-26T00:00:00.250Z
1969-12-31T23:59:59.000Z
1970-01-01T00:00:00.000Z"
	run wrap_times epoch-ms 1569456000123 '"1569456000123.456"'
	assert_stdout "2019-09-26T00:00:00.123Z
2019-09-26T00:00:00.123456Z"
	run wrap_times epoch-us 1569456000123456 '"1569456000123456.789"'
	assert_stdout "2019-09-26T00:00:00.123456Z
2019-09-26T00:00:00.123456789Z"
	run wrap_times epoch-ns 1569456000123456789 '"-1"'
	assert_stdout "2019-09-26T00:00:00.123456789Z
1969-12-31T23:59:59.999999999Z"
}

@test "evpub --wrap --time-format PATTERN and --time-zone" {
	printf '%s\n' '{"t":"26/Sep/2019:10:00:01 +0200"}' '{"t":"26/sep/2019:10:00:01 Z"}' >web.ndjson
	run --separate-stderr evpub -c --wrap --type Hit --time-from t \
		--time-format '%d/%b/%Y:%H:%M:%S %z' a.evlog -i web.ndjson
	assert_status 0
	assert_stderr ""
	run evtail --template '{time}' a.evlog
	assert_stdout "2019-09-26T08:00:01.000Z
2019-09-26T10:00:01.000Z"
	echo '{"t":"2019-09-26 10:00:01.25"}' >local.ndjson
	for z in "" UTC +02:00 -05:30; do
		rm -rf b.evlog
		run --separate-stderr evpub -c --wrap --type T --time-from t \
			--time-format '%Y-%m-%d %H:%M:%S.%f' ${z:+--time-zone "$z"} b.evlog -i local.ndjson
		assert_status 0
		assert_stderr ""
		evtail --template '{time}' b.evlog >>"$T/zones"
	done
	run cat "$T/zones"
	assert_stdout "2019-09-26T10:00:01.250Z
2019-09-26T10:00:01.250Z
2019-09-26T08:00:01.250Z
2019-09-26T15:30:01.250Z"
}

@test "evpub --wrap: a time not in its --time-format, or out of range, exits 65" {
	evctl init a.evlog
	bad_time() {
		local fmt=$1 value=$2 msg=$3
		run --separate-stderr evpub --wrap --type T --time-from t \
			--time-format "$fmt" a.evlog <<<"{\"t\":$value}"
		assert_status 65
		assert_stdout ""
		assert_stderr "evpub: stdin:1:1: --time-from 't': $msg
evpub: 0 events appended; stopped at line 1"
	}
	bad_time '%Y-%m-%d %H:%M' '"2019-09-26 10:00:01"' \
		"value '2019-09-26 10:00:01' is not a time in the format '%Y-%m-%d %H:%M'"
	bad_time '%Y-%m-%d' '"2019-02-29"' \
		"value '2019-02-29' is not a time in the format '%Y-%m-%d'"
	bad_time epoch '"1e9"' "value '1e9' is not a time in the format 'epoch'"
	bad_time epoch-ns '"1.5"' "value '1.5' is not a time in the format 'epoch-ns'"
	bad_time epoch '"abc"' "value 'abc' is not a time in the format 'epoch'"
	bad_time rfc3339 '"1569456000"' "value is not an RFC 3339 time"
	# a float is a time only in an epoch format
	bad_time '%Y-%m-%d' '1.5' "value is not a string or integer"
	# the ends of the range, and one past them
	bad_time epoch 9223372037 "value '9223372037' is not a time in the format 'epoch'"
	bad_time epoch '"-9223372036.854775808"' \
		"value '-9223372036.854775808' is not a time in the format 'epoch'"
	bad_time epoch-ns 9223372036854775808 \
		"value '9223372036854775808' is not a time in the format 'epoch-ns'"
	bad_time epoch 1e300 "value 1.0000000000000001e+300 is not a time in the format 'epoch'"
	bad_time '%Y-%m-%d %H:%M:%S.%f' '"2262-04-11 23:47:16.854775808"' \
		"value '2262-04-11 23:47:16.854775808' is not a time in the format '%Y-%m-%d %H:%M:%S.%f'"
	bad_time '%Y-%m-%d %H:%M:%S.%f' '"1677-09-21 00:12:43.145224192"' \
		"value '1677-09-21 00:12:43.145224192' is not a time in the format '%Y-%m-%d %H:%M:%S.%f'"
	[ "$(event_count a.evlog)" = 0 ]
	# the exact ends are accepted by the parser (tests/unit/test_timein.c)
}

@test "evpub --time-format and --time-zone usage errors exit 64" {
	u() {
		run --separate-stderr evpub --wrap --type T "$@" a.evlog
		assert_status 64
		assert_stdout ""
	}
	u --time-format epoch
	assert_stderr "$(usage_err "evpub: --time-format and --time-zone need --time-from")"
	u --time-zone UTC
	assert_stderr "$(usage_err "evpub: --time-format and --time-zone need --time-from")"
	u --time-from t --time-format iso
	assert_stderr "$(usage_err "evpub: --time-format 'iso' is not rfc3339, epoch, epoch-ms, epoch-us, epoch-ns or a pattern such as '%Y-%m-%d %H:%M:%S'")"
	u --time-from t --time-format '%Y-%m-%d %k'
	assert_stderr "$(usage_err "evpub: --time-format '%Y-%m-%d %k': unknown directive '%k' (known: %Y %m %b %d %H %M %S %f %z %F %T %%)")"
	u --time-from t --time-format '%H:%M'
	assert_stderr "$(usage_err "evpub: --time-format '%H:%M': a pattern needs a year (%Y), a month (%m or %b) and a day (%d)")"
	u --time-from t --time-format epoch --time-zone UTC
	assert_stderr "$(usage_err "evpub: --time-zone: only for a pattern, and 'epoch' is not one")"
	u --time-from t --time-format '%F %T %z' --time-zone +01:00
	assert_stderr "$(usage_err "evpub: --time-zone: the pattern '%F %T %z' reads the offset (%z)")"
	u --time-from t --time-format '%F' --time-zone Europe/Paris
	assert_stderr "$(usage_err "evpub: --time-zone 'Europe/Paris' is not UTC or +HH:MM or -HH:MM")"
	run --separate-stderr evpub --time-format epoch a.evlog
	assert_status 64
	assert_stderr "$(usage_err "evpub: --time-format and --time-zone need --time-from")"
}

@test "evpub: lines that are data, not events, suggest --wrap, once a run" {
	printf '%s\n' '{"user":"u1","n":1}' '{"user":"u2","n":2}' >data.ndjson
	evctl init a.evlog
	run --separate-stderr evpub --skip-invalid a.evlog -i data.ndjson
	assert_status 65
	assert_stdout ""
	assert_stderr "evpub: data.ndjson:1:2: unknown field 'user'
evpub: the line is not an event: to make each line the data of a new event, use --wrap with --type or --type-from
evpub: data.ndjson:2:2: unknown field 'user'
evpub: 0 events appended; 2 invalid lines skipped"
	# not for an event with a stray field, a near miss, or another fault
	local line
	for line in '{"type":"A","zzzzzz":1}' '{"typ":"A"}' '{"user":"u","time":"bad"}' \
		'{"user":"u","n":1,}'; do
		run --separate-stderr evpub a.evlog <<<"$line"
		assert_status 65
		[[ $stderr != *--wrap* ]] || {
			echo "suggested --wrap for $line: $stderr" >&2
			return 1
		}
	done
}

@test "evpub on GH Archive without --wrap: suggests --wrap, once" {
	local gh
	need_data gharchive-minimized-2019-09-26-0.ndjson
	gh=$DATA
	evctl init a.evlog
	run --separate-stderr evpub --skip-invalid a.evlog -i "$gh"
	assert_status 65
	assert_stdout ""
	[ "$(grep -c 'use --wrap' <<<"$stderr")" = 1 ]
	assert_stderr_contains "evpub: $gh:1:21: unknown field 'dt' (did you mean 'id'?)
evpub: the line is not an event: to make each line the data of a new event, use --wrap with --type or --type-from
evpub: $gh:2:21:"
}
