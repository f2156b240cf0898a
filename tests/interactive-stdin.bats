#!/usr/bin/env bats
# evtail -i without a terminal: commands from stdin, one a line, with no
# prompt, no colour and no first screen; every command and every error
# it can give, with stdout, stderr and the exit status checked apart
# (0 when every command succeeded, 1 otherwise).  tests/interactive.bats
# drives the terminal side with tmux.
load helper

# L: six events in three streams, a minute apart
local_setup() {
	cat >ev.ndjson <<'EOF'
{"id":"e1","type":"OrderCreated","stream":"order-1","time":"2025-01-10T10:00:00Z","data":{"amount":100,"customer":{"name":"Ann"}},"meta":{"user":"u1"}}
{"id":"e2","type":"OrderCreated","stream":"order-2","time":"2025-01-10T10:01:00Z","data":{"amount":250}}
{"id":"e3","type":"PaymentAuthorized","stream":"order-1","time":"2025-01-10T10:02:00Z","data":{"amount":100}}
{"id":"e4","type":"AccountOpened","stream":"account-1","time":"2025-01-10T10:03:00Z","data":{"owner":"Bob"}}
{"id":"e5","type":"OrderShipped","stream":"order-1","time":"2025-01-10T10:04:00Z","data":{"carrier":"UPS"}}
{"id":"e6","type":"PaymentAuthorized","stream":"order-2","time":"2025-01-10T10:05:00Z","data":{"amount":250}}
EOF
	evpub -c L <ev.ndjson
}

# session LINE...: run the lines as a script on L
session() {
	: >script
	[ $# -eq 0 ] || printf '%s\n' "$@" >script
	run --separate-stderr evtail -i L <script
}

E0='0 2025-01-10T10:00:00.000Z OrderCreated order-1@1 {"amount":100,"customer":{"name":"Ann"}}'
E1='1 2025-01-10T10:01:00.000Z OrderCreated order-2@1 {"amount":250}'
E2='2 2025-01-10T10:02:00.000Z PaymentAuthorized order-1@2 {"amount":100}'
E3='3 2025-01-10T10:03:00.000Z AccountOpened account-1@1 {"owner":"Bob"}'
E4='4 2025-01-10T10:04:00.000Z OrderShipped order-1@3 {"carrier":"UPS"}'
E5='5 2025-01-10T10:05:00.000Z PaymentAuthorized order-2@2 {"amount":250}'

@test "interactive stdin: no first screen, no prompt; an empty script prints nothing" {
	session
	assert_status 0
	assert_stdout ""
	assert_stderr ""
}

@test "interactive stdin: prev from the end, prev N oldest first, next, Enter and -" {
	session prev 'prev 2' next '' - - '# a comment' 'next 9'
	assert_status 0
	assert_stdout "$E5
$E3
$E4
$E4
$E5
$E4
$E3
$E4
$E5"
	assert_stderr ""
}

@test "interactive stdin: next at the end and prev at the start fail, and the session goes on" {
	session next 'goto start' prev next
	assert_status 1
	assert_stdout "$E0
$E1"
	assert_stderr "evtail: next: at the end of the log
evtail: prev: at the start of the log"
}

@test "interactive stdin: next and prev take a positive count and nothing more" {
	session 'next x' 'prev 0' 'next 1 2' 'prev -1'
	assert_status 1
	assert_stdout ""
	assert_stderr "evtail: next: 'x' is not a positive number
evtail: prev: '0' is not a positive number
evtail: next: unexpected '2'
evtail: prev: '-1' is not a positive number"
}

@test "interactive stdin: goto OFFSET, @TIME, start and end" {
	session 'goto 4' 'goto start' 'goto @2025-01-10T10:02:30Z' 'goto end' \
		'goto @2025-01-10'
	assert_status 0
	assert_stdout "$E4
$E0
$E3
$E5
$E0"
	assert_stderr ""
}

@test "interactive stdin: goto errors" {
	session goto 'goto x' 'goto 6' 'goto @2026-01-01' 'goto @3000-01-01'
	assert_status 1
	assert_stdout ""
	assert_stderr "evtail: goto: missing OFFSET, @TIME, start or end
evtail: goto: 'x' is not an offset, @TIME, start or end
evtail: goto: offset 6 is outside the log (0 to 5)
evtail: goto: no event at or after '@2026-01-01'
evtail: goto: '@3000-01-01' is outside the times a log holds (1677-09-21T00:12:43.145224193Z to 2262-04-11T23:47:16.854775807Z)"
}

@test "interactive stdin: filter type, stream and where; filters; clear" {
	session 'filter type Payment*' filters 'goto start' next \
		'filter clear' 'filter stream order-1' 'filter where data.amount >= 100' \
		filters 'goto end' prev prev 'filter clear' filters 'goto start'
	assert_status 1
	assert_stdout "type Payment*
$E2
$E5
stream order-1
where data.amount >= 100
$E2
$E0
no filters: every event
$E0"
	assert_stderr "evtail: prev: at the start of the log"
}

@test "interactive stdin: an exact stream filter reads the stream index, and a glob scans" {
	session 'filter stream order-2' 'goto start' next 'filter clear' \
		'filter stream account-*' 'goto end' 'filter type Order*' prev
	assert_status 1
	assert_stdout "$E1
$E5
$E3"
	assert_stderr "evtail: prev: at the start of the log"
}

@test "interactive stdin: filter errors; a bad expression is not kept" {
	session filter 'filter kind x' 'filter type' 'filter where' \
		'filter where data.amount >' 'filter clear now' 'filters x' filters
	assert_status 1
	assert_stdout "no filters: every event"
	assert_stderr "evtail: filter: missing type, stream, where or clear
evtail: filter: 'kind' is not type, stream, where or clear
evtail: filter: missing GLOB
evtail: filter: missing EXPR
evtail: filter: column 14: expected a value
  data.amount >
               ^
evtail: filter: unexpected 'now' after clear
evtail: filters: unexpected 'x'"
}

@test "interactive stdin: find TEXT and /REGEX/ forward and back, round the ends, and again" {
	session 'goto start' 'find Bob' 'find-prev /order-[0-9]/' find find \
		'find /ann/i' 'find-prev UPS' 'find-prev'
	assert_status 0
	assert_stdout "$E0
$E3
$E2
$E4
$E5
$E0
$E4
$E4"
	assert_stderr ""
}

@test "interactive stdin: find errors" {
	session find 'find-prev' 'find /a(/' 'find nowhere' 'find-prev nowhere'
	assert_status 1
	assert_stdout ""
	assert_stderr "evtail: find: missing TEXT or /REGEX/ (no search yet)
evtail: find-prev: missing TEXT or /REGEX/ (no search yet)
evtail: find: bad regular expression '/a(/' at character 3: missing closing parenthesis
evtail: find: 'nowhere' not found
evtail: find-prev: 'nowhere' not found"
}

@test "interactive stdin: show the current event, the last at first, and show OFFSET" {
	session show 'show 3' 'next'
	assert_status 0
	assert_stdout '{
  "offset": 5,
  "id": "e6",
  "type": "PaymentAuthorized",
  "stream": "order-2",
  "version": 2,
  "time": "2025-01-10T10:05:00.000Z",
  "schema": 1,
  "data": {
    "amount": 250
  }
}
{
  "offset": 3,
  "id": "e4",
  "type": "AccountOpened",
  "stream": "account-1",
  "version": 1,
  "time": "2025-01-10T10:03:00.000Z",
  "schema": 1,
  "data": {
    "owner": "Bob"
  }
}'"
$E4"
	assert_stderr ""
}

@test "interactive stdin: show errors" {
	session 'show x' 'show 6' 'show 1 2'
	assert_status 1
	assert_stdout ""
	assert_stderr "evtail: show: 'x' is not an offset
evtail: show: offset 6 is outside the log (0 to 5)
evtail: show: '1 2' is not an offset"
}

@test "interactive stdin: stream NAME lists versions from the stream index" {
	session 'stream order-1' 'stream' 'stream order-9'
	assert_status 1
	assert_stdout "order-1: 3 events, version 3, offsets 0 to 4
VERSION     OFFSET TIME                     TYPE
      1          0 2025-01-10T10:00:00.000Z OrderCreated
      2          2 2025-01-10T10:02:00.000Z PaymentAuthorized
      3          4 2025-01-10T10:04:00.000Z OrderShipped"
	assert_stderr "evtail: stream: missing NAME
evtail: stream: no stream 'order-9' in 'L'"
}

@test "interactive stdin: types and streams [GLOB]" {
	session types streams 'streams order-*' 'streams zz*' 'types x' 'streams a b'
	assert_status 1
	assert_stdout "OrderCreated                 2
PaymentAuthorized            2
AccountOpened                1
OrderShipped                 1
STREAM       VERSION     EVENTS        FIRST         LAST
account-1          1          1            3            3
order-1            3          3            0            4
order-2            2          2            1            5
STREAM     VERSION     EVENTS        FIRST         LAST
order-1          3          3            0            4
order-2          2          2            1            5"
	assert_stderr "evtail: streams: no stream matches 'zz*'
evtail: types: unexpected 'x'
evtail: streams: unexpected 'b'"
}

@test "interactive stdin: stats counts by type and draws the histogram, with the filter" {
	session stats 'filter type Order*' stats 'stats now'
	assert_status 1
	assert_stdout "6 events, 4 types
  OrderCreated                 2  33.3%
  PaymentAuthorized            2  33.3%
  AccountOpened                1  16.7%
  OrderShipped                 1  16.7%
from 2025-01-10T10:00:00.000Z to 2025-01-10T10:05:00.000Z, 60 columns of 5s, █ = 1
█          █           █           █           █           █
3 events (type Order*), 2 types
  OrderCreated            2  66.7%
  OrderShipped            1  33.3%
from 2025-01-10T10:00:00.000Z to 2025-01-10T10:04:00.000Z, 60 columns of 4s, █ = 1
█             █                                            █"
	assert_stderr "evtail: stats: unexpected 'now'"
}

@test "interactive stdin: format json, template TPL and pretty" {
	session 'format json' 'goto 1' 'format template {offset} {id} {data.amount}' \
		'prev' 'format pretty' 'next'
	assert_status 0
	assert_stdout '{"offset":1,"id":"e2","type":"OrderCreated","stream":"order-2","version":1,"time":"2025-01-10T10:01:00.000Z","schema":1,"data":{"amount":250}}
0 e1 100'"
$E1"
	assert_stderr ""
}

@test "interactive stdin: format errors" {
	session format 'format xml' 'format template' 'format template {x' \
		'format json now'
	assert_status 1
	assert_stdout ""
	assert_stderr "evtail: format: missing json, pretty or template TPL
evtail: format: 'xml' is not json, pretty or template
evtail: format: missing TPL
evtail: format: unterminated '{' at column 1
evtail: format: unexpected 'now'"
}

@test "interactive stdin: save FILE writes the filter's events as evtail prints them" {
	session 'filter stream order-1' 'save o.ndjson' 'filter clear' 'save all.ndjson'
	assert_status 0
	assert_stdout "saved 3 events to 'o.ndjson'
saved 6 events to 'all.ndjson'"
	assert_stderr ""
	evtail --stream order-1 L >want
	cmp o.ndjson want
	evtail L >want
	cmp all.ndjson want
}

@test "interactive stdin: save errors" {
	session save 'save nodir/x.ndjson'
	assert_status 1
	assert_stdout ""
	assert_stderr "evtail: save: missing FILE
evtail: save: cannot create 'nodir/x.ndjson': No such file or directory"
}

@test "interactive stdin: help lists every command, help COMMAND says more" {
	session help 'help goto' 'help nope'
	assert_status 1
	for c in next prev goto find find-prev filter filters show stream \
		stats types streams follow format save help quit; do
		grep -q "^$c " <<<"$output" || grep -q "^$c\$" <<<"$output"
	done
	assert_stdout_contains "goto OFFSET|@TIME|start|end
Shows the first event at or after OFFSET or TIME (RFC 3339, a"
	assert_stderr "evtail: help: no command 'nope'"
}

@test "interactive stdin: an unknown command names the closest; quit ends the script" {
	session nxt frobnicate 'quit now' quit next
	assert_status 1
	assert_stdout ""
	assert_stderr "evtail: no command 'nxt'; did you mean 'next'? (see 'help')
evtail: no command 'frobnicate' (see 'help')
evtail: quit: unexpected 'now'"
}

@test "interactive stdin: a session that ends well after quit exits 0" {
	session 'goto start' quit
	assert_status 0
	assert_stdout "$E0"
}

@test "interactive stdin: an empty log" {
	evctl init Z >/dev/null
	printf '%s\n' next prev show 'goto end' 'goto start' stats types >script
	run --separate-stderr evtail -i Z <script
	assert_status 1
	assert_stdout "0 events, 0 types"
	assert_stderr "evtail: next: at the end of the log
evtail: prev: at the start of the log
evtail: show: no event: the log is empty
evtail: goto: the log is empty
evtail: goto: the log is empty"
}

@test "interactive stdin: a segment file has no stream index" {
	printf '%s\n' 'goto start' types streams 'stream order-1' >script
	run --separate-stderr evtail -i L/00000000000000000000.seg <script
	assert_status 1
	assert_stdout "$E0"
	assert_stderr "evtail: types: 'L/00000000000000000000.seg' is a segment file, not a log: it has no stream index
evtail: streams: 'L/00000000000000000000.seg' is a segment file, not a log: it has no stream index
evtail: stream: 'L/00000000000000000000.seg' is a segment file, not a log: it has no stream index"
}

@test "interactive stdin: an archive has no stream index and does not grow, and says so as an archive" {
	evctl export L -o a.tar.zst >/dev/null
	printf '%s\n' 'goto start' types streams 'stream order-1' follow \
		'goto @2025-01-10T10:04:00Z' 'find OrderShipped' stats >script
	run --separate-stderr timeout 20 evtail -i a.tar.zst <script
	assert_status 1
	assert_stdout_contains "$E0"
	assert_stdout_contains "4 2025-01-10T10:04:00.000Z OrderShipped order-1@3"
	assert_stdout_contains "6 events, 4 types"
	assert_stderr "evtail: types: 'a.tar.zst' is an archive, not a log: it has no stream index; import it with 'evctl import' to use one
evtail: streams: 'a.tar.zst' is an archive, not a log: it has no stream index; import it with 'evctl import' to use one
evtail: stream: 'a.tar.zst' is an archive, not a log: it has no stream index; import it with 'evctl import' to use one
evtail: follow: 'a.tar.zst' is an archive, which does not grow; import it with 'evctl import' to follow the log"
}

@test "interactive stdin: new events are seen by the next command" {
	mkfifo in
	evtail -i L <in >out 2>err &
	pid=$!
	exec 5>in
	echo 'goto end' >&5
	# the append must come after the goto has been answered
	for _ in $(seq 200); do
		[ -s out ] && break
		sleep 0.05
	done
	[ -s out ]
	echo '{"id":"e7","type":"Late","stream":"late-1","time":"2025-01-10T10:06:00Z"}' | evpub L
	echo next >&5
	exec 5>&-
	wait "$pid"
	[ "$(cat out)" = "$E5
6 2025-01-10T10:06:00.000Z Late late-1@1" ]
	[ ! -s err ]
}

@test "interactive stdin: follow prints new events until SIGINT, and the session goes on" {
	mkfifo in
	evtail -i L <in >out 2>err &
	pid=$!
	exec 5>in
	echo 'filter type Late' >&5
	echo follow >&5
	# the follow is waiting once the new event shows
	for _ in $(seq 100); do
		echo '{"type":"Late","stream":"late-1","time":"2025-01-10T10:06:00Z"}' | evpub L
		grep -q Late out && break
		sleep 0.1
	done
	grep -q '^6 2025-01-10T10:06:00.000Z Late late-1@1$' out
	kill -INT "$pid"
	echo show >&5
	exec 5>&-
	wait "$pid"
	[ ! -s err ]
	# after the interrupt, show printed the last event followed
	grep -q '"type": "Late"' out
}

@test "interactive stdin: in a script, follow ends at the script's next line; a script that ends in follow follows" {
	# the next line already there: follow prints nothing new and ends
	printf 'follow\ngoto 0\nquit\n' >script
	run --separate-stderr timeout 20 evtail -i L <script
	assert_status 0
	assert_stdout "$E0"
	assert_stderr ""
	# a line that comes later ends it then, after what it printed
	mkfifo in
	evtail -i L <in >out 2>err &
	pid=$!
	exec 5>in
	echo follow >&5
	for _ in $(seq 100); do
		echo '{"type":"Late","stream":"late-1","time":"2025-01-10T10:06:00Z"}' | evpub L
		grep -q Late out && break
		sleep 0.1
	done
	echo 'goto 0' >&5
	exec 5>&-
	wait "$pid"
	[ ! -s err ]
	[ "$(sed -n 1p out)" = "6 2025-01-10T10:06:00.000Z Late late-1@1" ]
	[ "$(tail -n 1 out)" = "$E0" ]
	# a script whose last line is follow follows, until a signal
	echo follow >script
	run --separate-stderr timeout -s INT 2 evtail -i L <script
	assert_status 124
	assert_stderr ""
}

@test "interactive: -i goes with --color only; a missing log exits 66" {
	run --separate-stderr evtail -i -n 3 L </dev/null
	assert_status 64
	assert_stdout ""
	assert_stderr "evtail: -i goes with no option but --color: the session's commands filter
Usage: evtail [options] LOG
Try 'evtail --help' for more information."
	run --separate-stderr evtail -i nope </dev/null
	assert_status 66
	assert_stderr "evtail: log 'nope' does not exist"
	echo 'goto 0' >script
	run --separate-stderr evtail -i --color always L <script
	assert_status 0
	assert_stdout_contains $'\033['
}

@test "interactive stdin: on a trimmed log, goto and show name the same range" {
	evctl init --segment-bytes 64K T >/dev/null
	evgen 1000 --seed 5 | evpub --batch-events 10 T
	evctl trim --keep-events 100 T >/dev/null
	local first
	first=$(evtail --template '{offset}' T | head -n 1)
	[ "$first" -gt 0 ]
	run --separate-stderr evtail -i T <<<"goto 0
show 0
goto start"
	assert_status 1
	assert_stderr "evtail: goto: offset 0 is outside the log ($first to 999)
evtail: show: offset 0 is outside the log ($first to 999)"
	[[ $output == "$first "* ]]
}

@test "interactive stdin: a count past 2^64 is as many as there are" {
	session 'prev 99999999999999999999999' 'next 123456789012345678901234567890'
	assert_status 0
	assert_stderr ""
	assert_stdout "$E0
$E1
$E2
$E3
$E4
$E5
$E1
$E2
$E3
$E4
$E5"
}

@test "interactive stdin: a line with a NUL byte is refused, not cut short" {
	printf 'goto 4\0junk\ngoto 1\n' >script
	run --separate-stderr evtail -i L <script
	assert_status 1
	assert_stdout "$E1"
	assert_stderr "evtail: a command holds a NUL byte: 'goto 4'"
}

@test "interactive stdin: save never writes into the log it reads" {
	local seg
	seg=$(cd L && ls -- *.seg)
	mkdir -p L/state
	cp -a L L.orig
	session "save L/$seg" 'save ./L/new.ndjson' 'save L/state/x' 'goto 2'
	assert_status 1
	assert_stdout "$E2"
	assert_stderr "evtail: save: 'L/$seg' is in the log 'L'
evtail: save: './L/new.ndjson' is in the log 'L'
evtail: save: 'L/state/x' is in the log 'L'"
	diff -r L L.orig
	# nor into a lone segment file it reads
	run --separate-stderr evtail -i "L/$seg" <<<"save L/$seg"
	assert_status 1
	assert_stderr "evtail: save: 'L/$seg' is the file the session reads"
	diff -r L L.orig
}

@test "interactive stdin: SIGINT stops a long stream listing, and the session goes on" {
	awk 'BEGIN { for (i = 0; i < 20000; i++) print "{\"type\":\"T\",\"stream\":\"big\"}" }' |
		evpub -c B
	mkfifo in outp
	evtail -i B <in >outp 2>err &
	pid=$!
	exec 5>in
	exec 6<outp
	echo 'stream big' >&5
	# its output fills the pipe, that nobody reads yet
	sleep 1
	kill -INT "$pid"
	echo 'goto 0' >&5
	exec 5>&-
	cat <&6 >out
	exec 6<&-
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq 1 ]
	[ "$(cat err)" = "evtail: stream: interrupted" ]
	[ "$(wc -l <out)" -lt 20002 ]
	[ "$(head -n 1 out)" = "big: 20,000 events, version 20000, offsets 0 to 19999" ]
	[[ "$(tail -n 1 out)" == "0 "*" T big@1"* ]]
}
