#!/usr/bin/env bats
# evdlq: ls, show, stats, retry and purge on dead-letter logs written by
# evtail --exec --dlq, every selector, and every usage error, with exit
# status, stdout and stderr checked separately.
load helper

USAGE="Usage: evdlq ls [--all] [--json] [SELECTORS] DLQ
       evdlq show [--json] DLQ OFFSET...
       evdlq stats [SELECTORS] DLQ
       evdlq retry [--dry-run] [--exec CMD] [--retries N] [--backoff DURATION]
                   [--backoff-max DURATION] [--timeout DURATION]
                   [--schemas DIR] [--ref-dir [PREFIX=]DIR]... [SELECTORS]
                   DLQ
       evdlq purge --reason TEXT [--dry-run] [SELECTORS] DLQ
SELECTORS: [--offset A..B] [--type GLOB] [--stream GLOB] [--error REGEX]
           [--older-than DURATION] [--group NAME]
Try 'evdlq --help' for more information."

usage_err() {
	printf '%s\n%s' "$1" "$(usage_for evdlq "$USAGE")"
}

HEAD="OFFSET   ORIGINAL   TYPE                     STREAM               ATTEMPTS   AGE ERROR"
HEAD_ALL="OFFSET   ORIGINAL   TYPE                     STREAM               ATTEMPTS   AGE STATE     ERROR"

local_teardown() {
	local p
	for p in ${BG:-} $(cat "$T"/pids 2>/dev/null); do
		kill -9 "$p" 2>/dev/null || true
	done
	if [ -n "${BG:-}" ]; then wait "$BG" 2>/dev/null || true; fi
}

# The fixture: 12 events of l.evlog (seed 7, 3 streams) read by group g
# with ./h.sh, which fails the types listed in ./fails.  Five dead
# letters in dlq:
#   DLQ  source  type            stream     error
#   0    1       MoneyDeposited  account-0  exit status 3, insufficient funds
#   1    3       MoneyDeposited  account-1  exit status 3
#   2    5       OrderPlaced     order-0    exit status 4, out of stock
#   3    6       OrderPlaced     order-2    exit status 4
#   4    10      MoneyDeposited  account-0  exit status 3
# The handler logs "DLQOFFSET SOURCEOFFSET" of each success to ./handled.
mkdlq() {
	evgen 12 --seed 7 --streams 3 >gen.ndjson
	evpub -c l.evlog <gen.ndjson
	printf 'MoneyDeposited 3 insufficient funds\nOrderPlaced 4 out of stock\n' >fails
	cat >h.sh <<'EOF'
#!/bin/sh
cat >/dev/null
while read -r t code msg; do
	if [ "$t" = "$EV_TYPE" ]; then echo "$msg" >&2; exit "$code"; fi
done <fails
echo "${EV_DLQ_OFFSET:--} $EV_OFFSET" >>handled
EOF
	chmod +x h.sh
	evtail --group g --exec ./h.sh --retries 0 --dlq dlq l.evlog 2>/dev/null
	rm -f handled
	[ "$(evtail --template '{data.originalOffset}' dlq | tr '\n' ' ')" = "1 3 5 6 10 " ]
}

# ls output without the AGE column (columns 76-80), after checking it.
ls_noage() {
	run --separate-stderr evdlq ls "$@"
	assert_status 0
	assert_stderr ""
	local l
	for l in "${lines[@]:1}"; do
		[[ ${l:75:5} =~ ^\ *[0-9]+[smhd]$ ]] || { echo "bad AGE in: $l" >&2; return 1; }
	done
	output=$(printf '%s\n' "${lines[@]}" | cut -c1-75,81-)
}

# DLQ offsets that ls --json selects with the given options, on one line
sel() {
	run --separate-stderr evdlq ls --json "$@" dlq
	assert_status 0
	assert_stderr ""
	output=$(printf '%s' "$output" | jq -r .offset | tr '\n' ' ')
	output=${output% }
}

# ------------------------------------------------------------ ls

@test "evdlq ls: one line per open dead letter, under a header" {
	mkdlq
	ls_noage dlq
	assert_stdout "$(cut -c1-75,81- <<EOF
$HEAD
0        1          MoneyDeposited           account-0                   1    0s exit status 3
1        3          MoneyDeposited           account-1                   1    0s exit status 3
2        5          OrderPlaced              order-0                     1    0s exit status 4
3        6          OrderPlaced              order-2                     1    0s exit status 4
4        10         MoneyDeposited           account-0                   1    0s exit status 3
EOF
)"
}

@test "evdlq ls: columns widen to the longest type and stream, so they stay under their headings" {
	local long_type=Billing.Subscription.RenewalPaymentFailedTwice
	local long_stream=subscription-2f0c8e4a-9b1d-4c4e-8a55-0d6c3f1e7b21
	evpub -c l.evlog "$long_type" --stream "$long_stream" n=1
	evpub l.evlog Short --stream s-1 n=2
	evtail --group g --exec 'exit 3' --retries 0 --dlq dlq l.evlog 2>/dev/null
	run --separate-stderr evdlq ls dlq
	assert_status 0
	assert_stderr ""
	[ "${#lines[@]}" -eq 3 ]
	local h=${lines[0]} col
	# every column of every row starts where its heading does
	for col in ORIGINAL TYPE STREAM ERROR; do
		local at=${h%%"$col"*}
		at=${#at}
		local l
		for l in "${lines[@]:1}"; do
			[ "${l:at-1:1}" = " " ] && [ "${l:at:1}" != " " ] || {
				printf 'column %s (at %d) drifts:\n%s\n%s\n' "$col" "$at" "$h" "$l" >&2
				return 1
			}
		done
	done
	[[ ${lines[1]} == *" $long_type $long_stream "* ]] || { printf "%s\n" "${lines[@]}" >&2; return 1; }
	[[ ${lines[2]} == *" Short "*" s-1 "* ]]
}

@test "evdlq ls: nothing at all when no letter is open" {
	evpub -c dlq Nothing x=1
	run --separate-stderr evdlq ls dlq
	assert_status 0
	assert_stdout ""
	assert_stderr ""
}

@test "evdlq ls --all: resolved and discarded letters too, with their state" {
	mkdlq
	evdlq purge --offset 3 --reason "not ours" dlq >/dev/null 2>&1
	: >fails
	evdlq retry --offset 1 dlq >/dev/null 2>&1
	ls_noage --all dlq
	assert_stdout "$(cut -c1-75,81- <<EOF
$HEAD_ALL
0        1          MoneyDeposited           account-0                   1    0s open      exit status 3
1        3          MoneyDeposited           account-1                   2    0s resolved  exit status 3
2        5          OrderPlaced              order-0                     1    0s open      exit status 4
3        6          OrderPlaced              order-2                     1    0s discarded exit status 4
4        10         MoneyDeposited           account-0                   1    0s open      exit status 3
EOF
)"
	ls_noage dlq
	[ "${#lines[@]}" -eq 4 ]
}

@test "evdlq ls --json: one object per line with the documented keys" {
	mkdlq
	run --separate-stderr evdlq ls --json dlq
	assert_status 0
	assert_stderr ""
	[ "${#lines[@]}" -eq 5 ]
	logid=$(evctl info --json l.evlog | jq -r .id)
	for l in "${lines[@]}"; do
		[ "$(jq -c keys_unsorted <<<"$l")" = '["offset","id","state","group","source","type","stream","attempts","parked","time","ageSeconds","error","resolved","reason","stage"]' ]
		[ "$(jq -c '.source | keys_unsorted' <<<"$l")" = '["log","logId","offset"]' ]
	done
	run jq -c '[.offset, .id, .state, .group, .source, .type, .stream, .attempts, .parked, .error, .resolved, .reason, (.ageSeconds | type), (.time | test("^20[0-9][0-9]-"))]' <<<"$output"
	[ "${lines[2]}" = "[2,\"deadletter:g:$logid:5:1\",\"open\",\"g\",{\"log\":\"l.evlog\",\"logId\":\"$logid\",\"offset\":5},\"OrderPlaced\",\"order-0\",1,false,\"exit status 4\",null,null,\"number\",true]" ]

	# a resolved one says when; a discarded one, why
	: >fails
	evdlq retry --offset 1 dlq >/dev/null 2>&1
	evdlq purge --offset 3 --reason "not ours" dlq >/dev/null 2>&1
	run evdlq ls --all --json dlq
	[ "$(jq -r '[.state, (.resolved | type), (.reason // "-")] | @tsv' <<<"${lines[1]}")" = "$(printf 'resolved\tstring\t-')" ]
	[ "$(jq -r '[.state, (.resolved | type), .reason] | @tsv' <<<"${lines[3]}")" = "$(printf 'discarded\tstring\tnot ours')" ]
}

@test "evdlq(1) documents every key of ls --json and show --json" {
	[ -f "$TOP/man/evdlq.1" ] || { echo "man/evdlq.1 is missing" >&2; return 1; }
	for k in offset id state group source log logId type stream attempts parked \
		time ageSeconds error resolved reason letter; do
		grep -q "$k" "$TOP/man/evdlq.1" || { echo "evdlq(1) does not mention $k" >&2; return 1; }
	done
}

# ------------------------------------------------------------ show

@test "evdlq show: the whole letter, pretty, under a state line" {
	mkdlq
	run --separate-stderr evdlq show dlq 2
	assert_status 0
	assert_stderr ""
	assert_stdout_line 0 "dead letter 2: open, 1 attempt"
	assert_stdout_line 1 "{"
	assert_stdout_line 2 '  "offset": 2,'
	assert_stdout_line 7 '  "data": {'
	assert_stdout_line 8 '    "original": {'
	printf '%s\n' "${lines[@]:1}" | jq -S . >got
	evtail --from 2 --count 1 dlq | jq -S . >want
	diff want got

	# several offsets, in the order given
	run --separate-stderr evdlq show dlq 4 0
	assert_status 0
	[ "$(grep -c '^dead letter ' <<<"$output")" -eq 2 ]
	assert_stdout_line 0 "dead letter 4: open, 1 attempt"
	grep -qx 'dead letter 0: open, 1 attempt' <<<"$output"
}

@test "evdlq show: a resolved or discarded letter says when, and why" {
	mkdlq
	evdlq purge --offset 3 --reason "not ours" dlq >/dev/null 2>&1
	: >fails
	evdlq retry --offset 1 dlq >/dev/null 2>&1
	run --separate-stderr evdlq show dlq 3
	assert_status 0
	[[ ${lines[0]} =~ ^dead\ letter\ 3:\ discarded\ at\ 20[0-9-]+T[0-9:.]+Z\ \(not\ ours\),\ 1\ attempt$ ]]
	run --separate-stderr evdlq show dlq 1
	assert_status 0
	[[ ${lines[0]} =~ ^dead\ letter\ 1:\ resolved\ at\ 20[0-9-]+T[0-9:.]+Z,\ 2\ attempts$ ]]
}

@test "evdlq show --json: one object per letter, with its state and the letter itself" {
	mkdlq
	evdlq purge --offset 3 --reason "not ours" dlq >/dev/null 2>&1
	run --separate-stderr evdlq show --json dlq 2 3
	assert_status 0
	assert_stderr ""
	[ "${#lines[@]}" -eq 2 ]
	[ "$(jq -c keys_unsorted <<<"${lines[0]}")" = '["state","resolved","reason","attempts","letter"]' ]
	[ "$(jq -c '[.state, .resolved, .reason, .attempts]' <<<"${lines[0]}")" = '["open",null,null,1]' ]
	[ "$(jq -c '[.state, (.resolved | type), .reason, .attempts]' <<<"${lines[1]}")" = '["discarded","string","not ours",1]' ]
	diff <(evtail --from 2 --count 1 dlq | jq -S .) <(jq -S .letter <<<"${lines[0]}")
}

@test "evdlq show: an offset without a dead letter exits 66, a bad offset 64" {
	mkdlq
	run --separate-stderr evdlq show dlq 99
	assert_status 66
	assert_stdout ""
	assert_stderr "evdlq: no dead letter at offset 99 of 'dlq'"

	# a resolution record is not a dead letter, nor is any other event
	evdlq purge --offset 0 --reason x dlq >/dev/null 2>&1
	run --separate-stderr evdlq show --json dlq 5
	assert_status 66
	assert_stdout ""
	assert_stderr "evdlq: offset 5 of 'dlq' is not a dead letter (type DeadLetterDiscarded)"
	run --separate-stderr evdlq show dlq 5
	assert_status 66
	assert_stdout ""
	assert_stderr "evdlq: offset 5 of 'dlq' is not a dead letter (type DeadLetterDiscarded)"
	evpub dlq Nothing x=1
	run --separate-stderr evdlq show dlq 6
	assert_status 66
	assert_stdout ""
	assert_stderr "evdlq: offset 6 of 'dlq' is not a dead letter (type Nothing)"
	run --separate-stderr evdlq show dlq 7
	assert_status 66
	assert_stderr "evdlq: no dead letter at offset 7 of 'dlq'"

	# the letters before it are printed
	run --separate-stderr evdlq show dlq 2 5 3
	assert_status 66
	assert_stdout_line 0 "dead letter 2: open, 1 attempt"
	[ "$(grep -c '^dead letter ' <<<"$output")" -eq 1 ]
	assert_stderr "evdlq: offset 5 of 'dlq' is not a dead letter (type DeadLetterDiscarded)"

	for bad in x 1.5 '' 2x; do
		run --separate-stderr evdlq show dlq "$bad"
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evdlq: show: '$bad' is not an offset")"
	done
	run --separate-stderr evdlq show dlq
	assert_status 64
	assert_stderr "$(usage_err "evdlq: show: expected DLQ and one or more OFFSETs")"
}

# ------------------------------------------------------------ stats

@test "evdlq stats: counts by state, type, error and age, and the oldest" {
	mkdlq
	evdlq purge --offset 3 --reason x dlq >/dev/null 2>&1
	run --separate-stderr evdlq stats dlq
	assert_status 0
	assert_stderr ""
	t0=$(evtail --count 1 --template '{time}' dlq)
	[[ ${lines[3]} =~ ^oldest:\ \ \ \ \ offset\ 0,\ MoneyDeposited,\ written\ $t0\ \([0-9]+s\ ago\)$ ]]
	assert_stdout "open:       4
resolved:   0
discarded:  1
${lines[3]}
open by type:
           3  MoneyDeposited
           1  OrderPlaced
open by stage:
           4  handler
open by error:
           3  exit status 3
           1  exit status 4
open by age:
           4  under 1 hour
           0  1 hour to 1 day
           0  1 to 7 days
           0  over 7 days"

	# selectors narrow it
	run --separate-stderr evdlq stats --type OrderPlaced dlq
	assert_status 0
	assert_stdout_line 0 "open:       1"
	assert_stdout_line 2 "discarded:  1"
}

# Letters of other ages: copies of the fixture's letters with older times,
# newest first, in a DLQ of their own.
old_dlq() {
	local t1 t2 t3
	t1=$(date -u -d '-3 hours' +%Y-%m-%dT%H:%M:%SZ)
	t2=$(date -u -d '-2 days' +%Y-%m-%dT%H:%M:%SZ)
	t3=2020-01-01T00:00:00Z
	evtail --from 0 --count 4 dlq | jq -c --arg t1 "$t1" --arg t2 "$t2" --arg t3 "$t3" '
		del(.offset) | .id += "-old" |
		if .data.originalOffset == 3 then .time = $t1
		elif .data.originalOffset == 5 then .time = $t2
		elif .data.originalOffset == 6 then .time = $t3 else . end' |
		evpub -c old
}

@test "evdlq stats: age buckets, and the oldest is the letter with the earliest time, wherever it is in the log" {
	mkdlq
	old_dlq
	run --separate-stderr evdlq stats old
	assert_status 0
	assert_stderr ""
	assert_stdout_line 0 "open:       4"
	[ "$(printf '%s\n' "${lines[@]}" | tail -n 5)" = "open by age:
           1  under 1 hour
           1  1 hour to 1 day
           1  1 to 7 days
           1  over 7 days" ]
	[[ ${lines[3]} =~ ^oldest:\ \ \ \ \ offset\ 3,\ OrderPlaced,\ written\ 2020-01-01T00:00:00(\.0+)?Z\ \([0-9]+d\ ago\)$ ]] ||
		{ echo "got: ${lines[3]}" >&2; return 1; }
}

# ------------------------------------------------------------ selectors

@test "selectors: --offset A..B, A.., ..B and N" {
	mkdlq
	sel --offset 1..3
	assert_stdout "1 2 3"
	sel --offset 3..
	assert_stdout "3 4"
	sel --offset ..1
	assert_stdout "0 1"
	sel --offset 2
	assert_stdout "2"
	sel --offset 2..2
	assert_stdout "2"
	sel --offset 7..
	assert_stdout ""
}

@test "selectors: --type GLOB and --stream GLOB on the original event" {
	mkdlq
	sel --type OrderPlaced
	assert_stdout "2 3"
	sel --type 'Money*'
	assert_stdout "0 1 4"
	sel --type 'Nothing*'
	assert_stdout ""
	sel --stream 'account-*'
	assert_stdout "0 1 4"
	sel --stream order-2
	assert_stdout "3"
	sel --stream 'order-[02]'
	assert_stdout "2 3"
	sel --type 'Money*' --stream account-0
	assert_stdout "0 4"
}

@test "selectors: --error REGEX on the error and the handler's stderr" {
	mkdlq
	sel --error 'status 4'
	assert_stdout "2 3"
	sel --error 'out of st(o|a)ck'
	assert_stdout "2 3"
	sel --error '^exit status [34]$'
	assert_stdout "0 1 2 3 4"
	sel --error 'nothing like it'
	assert_stdout ""
}

@test "selectors: --older-than DURATION" {
	mkdlq
	old_dlq
	sel --older-than 1h
	assert_stdout ""
	sel --older-than 0s
	assert_stdout "0 1 2 3 4"
	run --separate-stderr evdlq ls --json --older-than 1h old
	[ "$(jq -r .offset <<<"$output" | tr '\n' ' ')" = "1 2 3 " ]
	run --separate-stderr evdlq ls --json --older-than 30h old
	[ "$(jq -r .offset <<<"$output" | tr '\n' ' ')" = "2 3 " ]
	run --separate-stderr evdlq ls --json --older-than 72h old
	[ "$(jq -r .offset <<<"$output" | tr '\n' ' ')" = "3 " ]
}

@test "selectors: --group NAME" {
	mkdlq
	printf 'OrderPlaced 4 out of stock\n' >fails
	evtail --group h --exec ./h.sh --retries 0 --dlq dlq l.evlog 2>/dev/null
	sel --group g
	assert_stdout "0 1 2 3 4"
	sel --group h
	assert_stdout "5 6"
	sel --group nobody
	assert_stdout ""
	run --separate-stderr evdlq retry --dry-run --group h dlq
	assert_status 0
	assert_stdout "would retry 5 (OrderPlaced order-0) with: ./h.sh
would retry 6 (OrderPlaced order-2) with: ./h.sh"
}

@test "selectors apply to retry and purge too" {
	mkdlq
	run --separate-stderr evdlq retry --dry-run --stream order-2 dlq
	assert_status 0
	assert_stdout "would retry 3 (OrderPlaced order-2) with: ./h.sh"
	run --separate-stderr evdlq purge --dry-run --reason x --error 'funds' --offset 1.. dlq
	assert_status 0
	assert_stdout "would discard 1 (MoneyDeposited)
would discard 4 (MoneyDeposited)"
}

@test "selectors: bad values exit 64 with their messages" {
	mkdlq
	for cmd in ls stats "retry --dry-run" "purge --reason x"; do
		for bad in x 5..3 1..x x..2 -1; do
			run --separate-stderr evdlq $cmd --offset "$bad" dlq
			assert_status 64
			assert_stdout ""
			assert_stderr "$(usage_err "evdlq: --offset: '$bad' is not OFFSET or A..B")"
		done
		run --separate-stderr evdlq $cmd --error '(' dlq
		assert_status 64
		assert_stderr "$(usage_err "evdlq: --error: '(' is not a regular expression")"
		for bad in 7d soon -1h; do
			run --separate-stderr evdlq $cmd --older-than "$bad" dlq
			assert_status 64
			assert_stderr "$(usage_err "evdlq: --older-than: '$bad' is not a duration such as 30m or 2h")"
		done
	done
	[ "$(event_count dlq)" -eq 5 ]
}

# ------------------------------------------------------------ retry

@test "evdlq retry --dry-run: says what it would retry and changes nothing" {
	mkdlq
	before=$(event_count dlq)
	run --separate-stderr evdlq retry --dry-run dlq
	assert_status 0
	assert_stderr ""
	assert_stdout "would retry 0 (MoneyDeposited account-0) with: ./h.sh
would retry 1 (MoneyDeposited account-1) with: ./h.sh
would retry 2 (OrderPlaced order-0) with: ./h.sh
would retry 3 (OrderPlaced order-2) with: ./h.sh
would retry 4 (MoneyDeposited account-0) with: ./h.sh"
	[ ! -e handled ]
	[ "$(event_count dlq)" -eq "$before" ]
	run --separate-stderr evdlq retry --dry-run --exec 'cat >/dev/null' --offset 2 dlq
	assert_stdout "would retry 2 (OrderPlaced order-0) with: cat >/dev/null"
}

@test "evdlq retry: success appends DeadLetterResolved and prints resolved N (TYPE)" {
	mkdlq
	: >fails
	run --separate-stderr evdlq retry dlq
	assert_status 0
	assert_stdout "resolved 0 (MoneyDeposited)
resolved 1 (MoneyDeposited)
resolved 2 (OrderPlaced)
resolved 3 (OrderPlaced)
resolved 4 (MoneyDeposited)"
	assert_stderr "evdlq: 5 resolved, 0 still open"
	run cat handled
	assert_stdout "0 1
1 3
2 5
3 6
4 10"
	run bash -c "evtail --from 5 dlq | jq -c '[.offset, .type, .data.letter, .data.letterId, .data.handler, .data.attempts]'"
	ids=($(evtail --to 4 --template '{id}' dlq))
	for i in 0 1 2 3 4; do
		assert_stdout_line "$i" "[$((5 + i)),\"DeadLetterResolved\",$i,\"${ids[$i]}\",\"./h.sh\",1]"
	done
	run --separate-stderr evdlq ls dlq
	assert_status 0
	assert_stdout ""

	# nothing is left to retry
	run --separate-stderr evdlq retry dlq
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	[ "$(wc -l <handled)" -eq 5 ]
}

@test "evdlq retry: the handler gets the original event as evtail printed it, and EV_* with the attempt counting on" {
	mkdlq
	: >fails
	cat >r.sh <<'EOF'
#!/bin/sh
cat >in
printf '%s|%s|%s|%s|%s|%s\n' "$EV_OFFSET" "$EV_ID" "$EV_TYPE" "$EV_STREAM" \
	"$EV_ATTEMPT" "$EV_DLQ_OFFSET" >env
EOF
	chmod +x r.sh
	run --separate-stderr evdlq retry --offset 2 --exec ./r.sh dlq
	assert_status 0
	id=$(evtail --from 5 --count 1 --template '{id}' l.evlog)
	run cat env
	assert_stdout "5|$id|OrderPlaced|order-0|2|2"
	evtail --from 5 --count 1 l.evlog >want
	cmp want in
}

@test "evdlq retry: failure appends DeadLetterRetryFailed, raises attempts, leaves the letter open, exit 1" {
	mkdlq
	cat >r.sh <<'EOF'
#!/bin/sh
cat >/dev/null
echo "$EV_ATTEMPT" >>attempts
echo "still no funds" >&2
exit 9
EOF
	chmod +x r.sh
	run --separate-stderr evdlq retry --offset 0 --exec ./r.sh --retries 2 --backoff 1ms dlq
	assert_status 1
	assert_stdout ""
	assert_stderr "still no funds
still no funds
still no funds
evdlq: still open: 0 (MoneyDeposited) after 3 attempts: exit status 9
evdlq: 0 resolved, 1 still open"
	run cat attempts
	assert_stdout "2
3
4"
	run bash -c "evtail --from 5 dlq | jq -c '[.type, .data.letter, .data.handler, .data.attempts, .data.exceptionMessage, .data.exceptionStacktrace]'"
	assert_stdout '["DeadLetterRetryFailed",0,"./r.sh",3,"exit status 9","still no funds\n"]'
	run evdlq ls --json --offset 0 dlq
	[ "$(jq -c '[.state, .attempts, .error]' <<<"$output")" = '["open",4,"exit status 9"]' ]

	# and again: the attempts go on from there
	rm attempts
	run --separate-stderr evdlq retry --offset 0 --exec ./r.sh --retries 0 dlq
	assert_status 1
	run cat attempts
	assert_stdout 5
	run evdlq ls --json --offset 0 dlq
	[ "$(jq -r .attempts <<<"$output")" = 5 ]
}

@test "evdlq retry: several letters, some failing: the failures are listed, the rest resolved" {
	mkdlq
	printf 'OrderPlaced 4 out of stock\n' >fails
	run --separate-stderr evdlq retry --retries 0 dlq
	assert_status 1
	assert_stdout "resolved 0 (MoneyDeposited)
resolved 1 (MoneyDeposited)
resolved 4 (MoneyDeposited)"
	assert_stderr "out of stock
evdlq: still open: 2 (OrderPlaced) after 1 attempt: exit status 4
out of stock
evdlq: still open: 3 (OrderPlaced) after 1 attempt: exit status 4
evdlq: 3 resolved, 2 still open"
	sel
	assert_stdout "2 3"
}

@test "evdlq retry --exec: overrides the recorded handler" {
	mkdlq
	run --separate-stderr evdlq retry --offset 2 --exec 'cat >/dev/null; echo "$EV_TYPE" >>ran' dlq
	assert_status 0
	assert_stdout "resolved 2 (OrderPlaced)"
	run cat ran
	assert_stdout OrderPlaced
	[ ! -e handled ]
	run bash -c "evtail --from 5 dlq | jq -r .data.handler"
	assert_stdout 'cat >/dev/null; echo "$EV_TYPE" >>ran'
}

@test "evdlq retry: after a failed letter, the later letters of its stream are left open" {
	mkdlq
	# account-0 has letters 0 and 4; only the first keeps failing
	cat >r.sh <<'EOF'
#!/bin/sh
cat >/dev/null
[ "$EV_OFFSET" != 1 ] || exit 6
echo "$EV_DLQ_OFFSET" >>ran
EOF
	chmod +x r.sh
	run --separate-stderr evdlq retry --exec ./r.sh --retries 0 dlq
	assert_status 1
	assert_stdout "resolved 1 (MoneyDeposited)
resolved 2 (OrderPlaced)
resolved 3 (OrderPlaced)"
	assert_stderr "evdlq: still open: 0 (MoneyDeposited) after 1 attempt: exit status 6
evdlq: left open: 4 (MoneyDeposited account-0), behind failed letter 0 of its stream
evdlq: 3 resolved, 2 still open"
	run cat ran
	assert_stdout "1
2
3"
	sel
	assert_stdout "0 4"
}

@test "evdlq retry: a second retry at the same time exits 75; so does purge" {
	mkdlq
	cat >r.sh <<'EOF'
#!/bin/sh
cat >/dev/null
echo $$ >>pids
touch started
while [ ! -e go ]; do sleep 0.02; done # held back by the test
EOF
	chmod +x r.sh
	evdlq retry --offset 0 --exec ./r.sh dlq >out 2>err 3>&- &
	BG=$!
	wait_file started 20
	run --separate-stderr evdlq retry dlq
	assert_status 75
	assert_stdout ""
	assert_stderr "evdlq: another evdlq retry or purge is running on 'dlq'"
	run --separate-stderr evdlq purge --reason x dlq
	assert_status 75
	assert_stderr "evdlq: another evdlq retry or purge is running on 'dlq'"
	# a dry run takes no lock
	run --separate-stderr evdlq retry --dry-run --offset 1 dlq
	assert_status 0
	assert_stdout "would retry 1 (MoneyDeposited account-1) with: ./h.sh"
	touch go
	st=0
	wait "$BG" || st=$?
	BG=
	[ "$st" -eq 0 ]
	[ "$(cat out)" = "resolved 0 (MoneyDeposited)" ]
	[ ! -e handled ]
}

@test "evdlq retry: a rerun after an interrupted retry does not rerun resolved letters" {
	mkdlq
	: >fails
	cat >r.sh <<'EOF'
#!/bin/sh
cat >/dev/null
echo "$EV_DLQ_OFFSET" >>ran
if [ "$EV_DLQ_OFFSET" = 2 ] && [ ! -e fixed ]; then
	echo $$ >>pids
	touch started
	while :; do sleep 0.05; done # until evdlq is killed
fi
EOF
	chmod +x r.sh
	evdlq retry --exec ./r.sh dlq >out 2>err 3>&- &
	BG=$!
	wait_file started 20
	kill -9 "$BG"
	wait "$BG" || true
	BG=
	for p in $(cat pids); do kill -9 "$p" 2>/dev/null || true; done
	sel --all
	assert_stdout "0 1 2 3 4"
	run evdlq ls --all --json dlq
	[ "$(jq -r .state <<<"$output" | tr '\n' ' ')" = "resolved resolved open open open " ]

	touch fixed
	: >ran
	run --separate-stderr evdlq retry --exec ./r.sh dlq
	assert_status 0
	assert_stdout "resolved 2 (OrderPlaced)
resolved 3 (OrderPlaced)
resolved 4 (MoneyDeposited)"
	run cat ran
	assert_stdout "2
3
4"
	run evdlq ls dlq
	assert_stdout ""
}

@test "evdlq retry: usage errors exit 64" {
	mkdlq
	run --separate-stderr evdlq retry --retries x dlq
	assert_status 64
	assert_stderr "$(usage_err "evdlq: retry: --retries: 'x' is not a number from 0 to 1000")"
	run --separate-stderr evdlq retry --retries 1001 dlq
	assert_status 64
	assert_stderr "$(usage_err "evdlq: retry: --retries: '1001' is not a number from 0 to 1000")"
	for o in --backoff --backoff-max --timeout; do
		run --separate-stderr evdlq retry "$o" 2x dlq
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evdlq: retry: $o: '2x' is not a duration such as 500ms, 2s or 1m")"
	done
	run --separate-stderr evdlq retry
	assert_status 64
	assert_stderr "$(usage_err "evdlq: retry: expected one DLQ operand")"
	run --separate-stderr evdlq retry dlq dlq
	assert_status 64
	assert_stderr "$(usage_err "evdlq: retry: expected one DLQ operand")"
	[ "$(event_count dlq)" -eq 5 ]
}

@test "evdlq retry --timeout: a run that takes too long fails" {
	mkdlq
	# a handler that outlives --timeout
	run --separate-stderr evdlq retry --offset 1 --retries 0 --timeout 200ms \
		--exec 'exec sleep 30' dlq
	assert_status 1
	assert_stdout ""
	assert_stderr "evdlq: still open: 1 (MoneyDeposited) after 1 attempt: timed out
evdlq: 0 resolved, 1 still open"
	run bash -c "evtail --from 5 dlq | jq -r .data.exceptionMessage"
	[[ $output =~ ^timed\ out\ after\ 0\.[0-9]+s$ ]]
}

# wait_handlers_reaped SECONDS: every handler in ./pids has exited and
# was waited for (a zombie is not reaped yet)
wait_handlers_reaped() {
	local p
	for p in $(cat pids); do
		wait_reaped "$p" "$1" || return 1
	done
}

# wait_bg SECONDS: wait for the background evdlq $BG, its exit status in
# $st; fail when it still runs after SECONDS (local_teardown kills it).
wait_bg() {
	wait_gone "$BG" "$1" || return 1
	st=0
	wait "$BG" || st=$?
	BG=
}

@test "evdlq retry: a letter waits behind an open letter of its stream that is not selected" {
	printf '%s\n' '{"type":"A","stream":"s","data":{"n":1}}' \
		'{"type":"B","stream":"s","data":{"n":2}}' | evpub -c l.evlog
	printf '%s\n' '{"type":"B","stream":"s","data":{"n":3}}' | evpub -c m.evlog
	# letter 0 failed, letter 1 is parked behind it
	evtail --group g --exec 'cat >/dev/null; exit 3' --retries 0 --dlq d.evlog \
		--dlq-policy stream l.evlog 2>/dev/null
	# stream s of another group, and of another log, is another stream
	evtail --group h --exec 'cat >/dev/null; [ "$EV_TYPE" != B ] || exit 3' \
		--retries 0 --dlq d.evlog --dlq-policy stream l.evlog 2>/dev/null
	evtail --group g --exec 'cat >/dev/null; exit 3' --retries 0 --dlq d.evlog \
		m.evlog 2>/dev/null
	run evdlq ls --json d.evlog
	[ "$(jq -c '[.offset, .group, .source.log, .type, .stream, .parked]' <<<"$output")" = '[0,"g","l.evlog","A","s",false]
[1,"g","l.evlog","B","s",true]
[2,"h","l.evlog","B","s",false]
[3,"g","m.evlog","B","s",false]' ]

	run --separate-stderr evdlq retry --type B --exec 'cat >/dev/null; echo "$EV_DLQ_OFFSET" >>ran' d.evlog
	assert_status 1
	assert_stdout "resolved 2 (B)
resolved 3 (B)"
	assert_stderr "evdlq: left open: 1 (B s), behind open letter 0 of its stream, which is not selected
evdlq: 2 resolved, 1 still open"
	run cat ran
	assert_stdout "2
3"
	# nothing is written about letter 1
	[ "$(evtail --from 4 --template '{type} {data.letter}' d.evlog)" = "DeadLetterResolved 2
DeadLetterResolved 3" ]
	[ "$(evdlq ls --json d.evlog | jq -r .offset | tr '\n' ' ')" = "0 1 " ]

	# a dry run says so too
	run --separate-stderr evdlq retry --dry-run --type B --exec true d.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr "evdlq: left open: 1 (B s), behind open letter 0 of its stream, which is not selected"
	run --separate-stderr evdlq retry --dry-run --exec true d.evlog
	assert_status 0
	assert_stdout "would retry 0 (A s) with: true
would retry 1 (B s) with: true"
	assert_stderr ""

	# with the letter before it, it goes, after it
	: >ran
	run --separate-stderr evdlq retry --exec 'cat >/dev/null; echo "$EV_DLQ_OFFSET" >>ran' d.evlog
	assert_status 0
	assert_stdout "resolved 0 (A)
resolved 1 (B)"
	assert_stderr "evdlq: 2 resolved, 0 still open"
	run cat ran
	assert_stdout "0
1"
}

@test "evdlq retry: a letter behind one that failed in the same run, or records no handler, is left open" {
	printf '%s\n' '{"type":"A","stream":"s","data":{}}' '{"type":"B","stream":"s","data":{}}' \
		'{"type":"C","stream":"s","data":{}}' | evpub -c l.evlog
	evtail --group g --exec 'cat >/dev/null; exit 3' --retries 0 --dlq d.evlog l.evlog 2>/dev/null
	run --separate-stderr evdlq retry --retries 0 --exec 'cat >/dev/null; [ "$EV_TYPE" != A ]' d.evlog
	assert_status 1
	assert_stdout ""
	assert_stderr "evdlq: still open: 0 (A) after 1 attempt: exit status 1
evdlq: left open: 1 (B s), behind failed letter 0 of its stream
evdlq: left open: 2 (C s), behind failed letter 0 of its stream
evdlq: 0 resolved, 3 still open"

	# a letter without a handler holds its stream the same way
	evtail --to 0 d.evlog | jq -c 'del(.offset) | .id += "-nohandler" | del(.data.handler)' |
		evpub -c e.evlog
	evtail --from 1 --to 2 d.evlog | jq -c 'del(.offset) | .id += "-copy"' | evpub e.evlog
	run --separate-stderr evdlq retry e.evlog
	assert_status 1
	assert_stdout ""
	assert_stderr "evdlq: letter 0 records no handler: give --exec
evdlq: left open: 1 (B s), behind open letter 0 of its stream
evdlq: left open: 2 (C s), behind open letter 0 of its stream
evdlq: 0 resolved, 3 still open"
}

@test "evdlq retry: on SIGTERM the handler is killed, nothing is recorded for it, and the count is of every selected letter" {
	mkdlq
	cat >r.sh <<'EOF'
#!/bin/sh
cat >/dev/null
[ "$EV_DLQ_OFFSET" != 0 ] || exit 0
echo $$ >>pids
touch started
exec sleep 30 # until evdlq kills it
EOF
	chmod +x r.sh
	evdlq retry --exec ./r.sh dlq >out 2>err 3>&- &
	BG=$!
	wait_file started 20
	kill -TERM "$BG"
	wait_bg 10
	[ "$st" -eq 1 ] || { echo "exit status $st" >&2; return 1; }
	[ "$(cat out)" = "resolved 0 (MoneyDeposited)" ]
	[ "$(cat err)" = "evdlq: 1 resolved, 4 still open" ] || { cat err >&2; return 1; }
	wait_handlers_reaped 5
	# letter 1's run was ours to kill: not a failed retry
	[ "$(evtail --from 5 --template '{type} {data.letter}' dlq)" = "DeadLetterResolved 0" ]
	run evdlq ls --json dlq
	[ "$(jq -c '[.offset, .attempts, .error]' <<<"$output")" = '[1,1,"exit status 3"]
[2,1,"exit status 4"]
[3,1,"exit status 4"]
[4,1,"exit status 3"]' ]
}

@test "evdlq retry: on SIGINT a handler that ignores SIGTERM is killed 2 seconds later, and not recorded" {
	mkdlq
	cat >stubborn.sh <<'EOF'
#!/bin/sh
trap '' TERM
cat >/dev/null
echo $$ >>pids
touch started
while :; do sleep 0.05; done # only SIGKILL ends it
EOF
	chmod +x stubborn.sh
	evdlq retry --offset 1 --exec 'exec ./stubborn.sh' dlq >out 2>err 3>&- &
	BG=$!
	wait_file started 20
	kill -INT "$BG"
	wait_bg 10
	[ "$st" -eq 1 ] || { echo "exit status $st" >&2; return 1; }
	[ "$(cat out)" = "" ]
	[ "$(cat err)" = "evdlq: 0 resolved, 1 still open" ] || { cat err >&2; return 1; }
	wait_handlers_reaped 5
	[ "$(event_count dlq)" -eq 5 ]
}

@test "evdlq retry: interrupted between retries, the runs that failed before are recorded" {
	mkdlq
	evdlq retry --offset 1 --retries 3 --backoff 30s \
		--exec 'cat >/dev/null; echo $$ >>pids; echo no >&2; exit 9' dlq >out 2>err 3>&- &
	BG=$!
	wait_for '[ -s pids ]' 20 "the handler to run"
	# reaped, and evdlq asleep: in its 30s backoff (a SIGTERM before it
	# gets there would not cut the backoff short)
	wait_handlers_reaped 5
	wait_idle "$BG" 20
	kill -TERM "$BG"
	wait_bg 10
	[ "$st" -eq 1 ]
	[ "$(cat out)" = "" ]
	[ "$(cat err)" = "no
evdlq: still open: 1 (MoneyDeposited) after 1 attempt: exit status 9
evdlq: 0 resolved, 1 still open" ] || { cat err >&2; return 1; }
	run bash -c "evtail --from 5 dlq | jq -c '[.type, .data.letter, .data.attempts, .data.exceptionMessage]'"
	assert_stdout '["DeadLetterRetryFailed",1,1,"exit status 9"]'
}

@test "evdlq retry: standard error that is not UTF-8 is kept as base64:, as in the letter" {
	evpub -c l.evlog T x=1
	cat >bad.sh <<'EOF'
#!/bin/sh
cat >/dev/null
printf 'caf\351 \377\n' >&2
exit 2
EOF
	chmod +x bad.sh
	evtail --group g --exec ./bad.sh --retries 0 --dlq dlq l.evlog 2>/dev/null
	run --separate-stderr evdlq retry --retries 0 dlq
	assert_status 1
	assert_stdout ""
	assert_stderr "$(printf 'caf\351 \377')
evdlq: still open: 0 (T) after 1 attempt: exit status 2
evdlq: 0 resolved, 1 still open"
	want="base64:$(printf 'caf\351 \377\n' | base64)"
	run bash -c "evtail dlq | jq -r '[.type, .data.exceptionStacktrace] | @tsv'"
	assert_stdout "$(printf 'DeadLetter\t%s\nDeadLetterRetryFailed\t%s' "$want" "$want")"
	# the letter's last failure is the retry's: --error sees it
	run --separate-stderr evdlq ls --json --error '^base64:' dlq
	assert_status 0
	[ "$(jq -r .offset <<<"$output")" = 0 ]
}

@test "evdlq retry: EV_ID, EV_TYPE and EV_STREAM are passed whole, however long" {
	long=$(printf 'x%.0s' $(seq 300))
	printf '{"id":"id-%s","type":"T%s","stream":"s-%s","data":{}}\n' "$long" "$long" "$long" |
		evpub -c l.evlog
	evtail --group g --exec 'cat >/dev/null; exit 3' --retries 0 --dlq dlq l.evlog 2>/dev/null
	run --separate-stderr evdlq retry --exec 'cat >/dev/null; printf "%s\n%s\n%s\n" "$EV_ID" "$EV_TYPE" "$EV_STREAM" >env' dlq
	assert_status 0
	assert_stdout "resolved 0 (T$long)"
	assert_stderr "evdlq: 1 resolved, 0 still open"
	run cat env
	assert_stdout "id-$long
T$long
s-$long"
}

@test "evdlq retry: EV_ID is not set when the original event has no id" {
	evpub -c l.evlog T x=1
	evtail --group g --exec 'cat >/dev/null; exit 3' --retries 0 --dlq dlq l.evlog 2>/dev/null
	# the same letter, its original event without an id
	evtail dlq | jq -c 'del(.offset) | .id += "-noid" | del(.data.original.id)' |
		evpub -c e.evlog
	run --separate-stderr evdlq retry \
		--exec 'jq -c "has(\"id\")"; echo "[${EV_ID-unset}][$EV_TYPE]"' e.evlog
	assert_status 0
	assert_stdout "false
[unset][T]
resolved 0 (T)"
	assert_stderr "evdlq: 1 resolved, 0 still open"
}

# The fault-injection shim of tests/faultinject.c, built here when the one
# in tests/ is missing or older than its source (as tests/robust.bash does).
faultinject_so() {
	local so=$TOP/tests/faultinject.so
	if ! [ "$so" -nt "$TOP/tests/faultinject.c" ]; then
		so=$T/faultinject.so
		${CC:-cc} -std=gnu11 -D_GNU_SOURCE -O2 -fPIC -shared -o "$so" \
			"$TOP/tests/faultinject.c" -ldl || return 1
	fi
	printf '%s\n' "$so"
}

@test "evdlq retry: a handler that cannot be started fails the run, exit 1, and is not recorded" {
	mkdlq
	: >fails
	fi=$(faultinject_so)
	# each run makes two pipes: the third pipe2 is letter 1's first
	# (an ASan build must allow a preload ahead of its runtime)
	run --separate-stderr env EVFI_CALL=pipe2 EVFI_NTH=3 EVFI_ERRNO=EMFILE \
		EVFI_LOG="$T/fi.log" LD_PRELOAD="$fi" \
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
		evdlq retry dlq
	assert_status 1
	assert_stdout "resolved 0 (MoneyDeposited)"
	assert_stderr "evdlq: cannot create a pipe: Too many open files"
	# the shim really fired, once
	[ "$(cat fi.log)" = "pipe2 #3 fd -1 (?): EMFILE" ]
	run cat handled
	assert_stdout "0 1"
	# letter 0 is resolved; nothing is written about letter 1 or after
	[ "$(evtail --from 5 --template '{type} {data.letter}' dlq)" = "DeadLetterResolved 0" ]
	run evdlq ls --json dlq
	[ "$(jq -c '[.offset, .attempts]' <<<"$output" | tr '\n' ' ')" = "[1,1] [2,1] [3,1] [4,1] " ]
}

# Passes once lib/handler.c removes the EV_* names of evtail(1) from a
# handler's environment before it adds those of the run.
@test "evdlq retry: the handler gets no stale EV_* from evdlq's environment" {
	evpub -c l.evlog T x=1
	evtail --group g --exec 'cat >/dev/null; exit 3' --retries 0 --dlq dlq l.evlog 2>/dev/null
	id=$(evtail --template '{id}' l.evlog)
	EV_STREAM=stale EV_COUNT=7 EV_LAST_OFFSET=9 EV_ID=old EV_OFFSET=99 EV_ATTEMPT=42 \
		run --separate-stderr evdlq retry \
		--exec 'cat >/dev/null; echo "[$EV_STREAM][$EV_COUNT][$EV_LAST_OFFSET][$EV_OFFSET][$EV_ID][$EV_ATTEMPT]"' dlq
	assert_status 0
	assert_stdout "[][][][0][$id][2]
resolved 0 (T)"
	assert_stderr "evdlq: 1 resolved, 0 still open"
}

# ------------------------------------------------------------ purge

@test "evdlq: a DeadLetter that is not a letter is skipped with a warning naming it, and purge discards it" {
	mkdlq
	evpub dlq <<<'{"type":"DeadLetter","data":{"foo":1}}'
	local warn="evdlq: skipped the dead letter at offset 5: it lacks its original event or context; 'evdlq purge' discards it"
	run --separate-stderr evdlq ls --json dlq
	assert_status 0
	assert_stderr "$warn"
	[ "$(jq -r .offset <<<"$output" | tr '\n' ' ')" = "0 1 2 3 4 " ]
	run --separate-stderr evdlq stats dlq
	assert_status 0
	assert_stderr "$warn"
	assert_stdout_contains "open:       5"
	run --separate-stderr evdlq show dlq 0
	assert_status 0
	assert_stderr "$warn"
	# a purge of the other letters leaves it; one that may take it, takes it
	run --separate-stderr evdlq purge --reason old --type OrderPlaced dlq
	assert_status 0
	assert_stdout "discarded 2 (OrderPlaced)
discarded 3 (OrderPlaced)"
	run --separate-stderr evdlq purge --reason bad --offset 5..5 dlq
	assert_status 0
	assert_stdout "discarded 5 (malformed)"
	assert_stderr "$warn
evdlq: 1 discarded"
	run --separate-stderr evdlq ls --json dlq
	assert_status 0
	assert_stderr ""
	[ "$(jq -r .offset <<<"$output" | tr '\n' ' ')" = "0 1 4 " ]
}

@test "evtail --dlq-policy stream goes on past a DeadLetter that is not a letter" {
	mkdlq
	evpub dlq <<<'{"type":"DeadLetter","data":{"foo":1}}'
	evpub l.evlog <<<'{"type":"Late","stream":"account-0"}'
	run --separate-stderr evtail --group g --exec ./h.sh --retries 0 --dlq dlq \
		--dlq-policy stream l.evlog
	assert_status 0
	# parked behind the first open letter of account-0, as before
	run --separate-stderr evtail --from 6 --template '{type} {data.original.type} {data.parkedBehind}' dlq
	assert_stdout "DeadLetter Late deadletter:g:$(evctl info --json l.evlog | jq -r .id):1:1"
}

@test "evdlq purge: --reason is required" {
	mkdlq
	run --separate-stderr evdlq purge dlq
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evdlq: purge: --reason TEXT is required")"
	run --separate-stderr evdlq purge --reason '' dlq
	assert_status 64
	assert_stderr "$(usage_err "evdlq: purge: --reason TEXT is required")"
	run --separate-stderr evdlq purge --reason x
	assert_status 64
	assert_stderr "$(usage_err "evdlq: purge: expected one DLQ operand")"
	[ "$(event_count dlq)" -eq 5 ]
}

@test "evdlq purge: discards the selected letters with the reason, visible with ls --all" {
	mkdlq
	run --separate-stderr evdlq purge --type OrderPlaced --reason "orders were cancelled" dlq
	assert_status 0
	assert_stdout "discarded 2 (OrderPlaced)
discarded 3 (OrderPlaced)"
	assert_stderr "evdlq: 2 discarded"
	run bash -c "evtail --from 5 dlq | jq -c '[.type, .data.letter, .data.reason]'"
	assert_stdout '["DeadLetterDiscarded",2,"orders were cancelled"]
["DeadLetterDiscarded",3,"orders were cancelled"]'
	sel
	assert_stdout "0 1 4"
	sel --all
	assert_stdout "0 1 2 3 4"
	run evdlq ls --all --json --type OrderPlaced dlq
	[ "$(jq -r '"\(.state) \(.reason)"' <<<"$output" | sort -u)" = "discarded orders were cancelled" ]

	# nothing is deleted, and a discarded letter is not retried
	[ "$(event_count dlq)" -eq 7 ]
	: >fails
	run --separate-stderr evdlq retry dlq
	assert_status 0
	assert_stdout "resolved 0 (MoneyDeposited)
resolved 1 (MoneyDeposited)
resolved 4 (MoneyDeposited)"
	# and purging again finds nothing open
	run --separate-stderr evdlq purge --reason again dlq
	assert_status 0
	assert_stdout ""
	assert_stderr "evdlq: 0 discarded"
}

@test "evdlq purge --dry-run: says what it would discard and changes nothing" {
	mkdlq
	run --separate-stderr evdlq purge --dry-run --reason x --stream 'account-*' dlq
	assert_status 0
	assert_stderr ""
	assert_stdout "would discard 0 (MoneyDeposited)
would discard 1 (MoneyDeposited)
would discard 4 (MoneyDeposited)"
	[ "$(event_count dlq)" -eq 5 ]
	sel
	assert_stdout "0 1 2 3 4"
}

# ------------------------------------------------------------ the command line

@test "evdlq: a missing DLQ exits 66 for every command" {
	for cmd in ls stats "show" "retry" "retry --dry-run" "purge --reason x" "purge --dry-run --reason x"; do
		if [ "$cmd" = show ]; then
			run --separate-stderr evdlq show nope 0
		else
			run --separate-stderr evdlq $cmd nope
		fi
		if [ "$status" -ne 66 ] || [ "$stderr" != "evdlq: log 'nope' does not exist" ]; then
			echo "evdlq $cmd nope: status $status, stderr: $stderr" >&2
			return 1
		fi
		assert_stdout ""
	done
	[ ! -e nope ]
}

@test "evdlq: a directory or file that is not a log exits 66, and nothing is made in it" {
	mkdir plain
	: >file
	for cmd in ls stats "retry" "retry --dry-run" "purge --reason x" "purge --dry-run --reason x"; do
		run --separate-stderr evdlq $cmd plain
		if [ "$status" -ne 66 ] || [ "$stderr" != "evdlq: 'plain' is not an evlog log (no meta file)" ]; then
			echo "evdlq $cmd plain: status $status, stderr: $stderr" >&2
			return 1
		fi
		assert_stdout ""
		run --separate-stderr evdlq $cmd file
		if [ "$status" -ne 66 ] || [ "$stderr" != "evdlq: 'file' is not an evlog log" ]; then
			echo "evdlq $cmd file: status $status, stderr: $stderr" >&2
			return 1
		fi
		assert_stdout ""
	done
	[ -z "$(ls -A plain)" ]
	[ ! -s file ]
}

@test "evdlq -h/--help prints the usage on stdout and exits 0; so does COMMAND -h" {
	for h in -h --help "ls -h" "show --help" "stats -h" "retry -h" "purge -h"; do
		run --separate-stderr evdlq $h
		assert_status 0
		assert_stderr ""
		assert_stdout_line 0 "Usage: evdlq ls [--all] [--json] [SELECTORS] DLQ"
		for o in --all --json --backoff --backoff-max --dry-run --exec --retries \
			--timeout --reason --error --group --offset --older-than --stream --type; do
			assert_stdout_contains "      $o "
		done
	done
}

@test "evdlq -V/--version prints versions and exits 0" {
	for v in -V --version; do
		run --separate-stderr evdlq "$v"
		assert_status 0
		assert_stderr ""
		[[ ${lines[0]} =~ ^evdlq\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
		[[ ${lines[1]} =~ ^evlog\ [0-9.]+\ \(format\ 1\) ]]
	done
}

@test "evdlq: no command, an unknown command or an unknown option exit 64" {
	run --separate-stderr evdlq
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evdlq: missing command")"
	run --separate-stderr evdlq frob dlq
	assert_status 64
	assert_stderr "$(usage_err "evdlq: unknown command 'frob'")"
	run --separate-stderr evdlq --frob
	assert_status 64
	assert_stderr "$(usage_err "evdlq: unrecognized option '--frob'")"
	for cmd in ls show stats retry purge; do
		run --separate-stderr evdlq "$cmd" --frob dlq
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evdlq: unrecognized option '--frob'")"
	done
	# options of one command are not another's
	run --separate-stderr evdlq ls --reason x dlq
	assert_status 64
	assert_stderr "$(usage_err "evdlq: unrecognized option '--reason'")"
	run --separate-stderr evdlq show --all dlq 0
	assert_status 64
	assert_stderr "$(usage_err "evdlq: unrecognized option '--all'")"
	run --separate-stderr evdlq ls
	assert_status 64
	assert_stderr "$(usage_err "evdlq: ls: expected one DLQ operand")"
	run --separate-stderr evdlq stats a b
	assert_status 64
	assert_stderr "$(usage_err "evdlq: stats: expected one DLQ operand")"
}

@test "evdlq: an event nested as deep as evpub takes (64 levels) is dead-lettered, shown and retried" {
	# data at depth 2: 63 more arrays make the 64 levels evpub allows;
	# its letter holds it two levels further down
	local open63 close63
	open63=$(printf '[%.0s' $(seq 63))
	close63=$(printf ']%.0s' $(seq 63))
	echo "{\"type\":\"Deep\",\"data\":$open63$close63}" | evpub -c L
	run --separate-stderr evtail --group g --exec false --retries 0 --dlq D L
	assert_status 0
	assert_stdout ""
	assert_stderr "evtail: 0 handled, 1 dead-lettered, 0 skipped"
	run --separate-stderr evdlq ls D
	assert_status 0
	assert_stderr ""
	[ "$(grep -c ' Deep ' <<<"$output")" -eq 1 ]
	run --separate-stderr evdlq show --json D 0
	assert_status 0
	assert_stderr ""
	[ "$(jq -c .letter.data.original.data <<<"$output")" = "$open63$close63" ]
	run --separate-stderr evdlq retry --exec true D
	assert_status 0
	assert_stdout "resolved 0 (Deep)"
	assert_stderr "evdlq: 1 resolved, 0 still open"
}
