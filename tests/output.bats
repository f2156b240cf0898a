#!/usr/bin/env bats
# evtail's output: what -f shows first, the selection warnings, template
# fields, --fields with -o json, csv and tsv, -o count and --reverse;
# exit status, stdout and stderr checked separately.
load helper

usage_err() {
	printf '%s\n%s' "$1" "$EVTAIL_USAGE"
}

local_teardown() {
	if [ -n "${BG:-}" ]; then
		kill "$BG" 2>/dev/null || true
		wait "$BG" 2>/dev/null || true
	fi
}

# Fifteen events: types push, issues, pull_request and watch, in
# streams repo-1, repo-2 and user-ann; data with a comma, a quote, a
# tab and a newline in places.
gh_log() {
	local i type stream
	: >gh.ndjson
	for i in $(seq 0 14); do
		case $((i % 4)) in
		0) type=push ;;
		1) type=issues ;;
		2) type=pull_request ;;
		3) type=watch ;;
		esac
		case $((i % 3)) in
		0) stream=repo-1 ;;
		1) stream=repo-2 ;;
		2) stream=user-ann ;;
		esac
		printf '{"id":"g%d","type":"%s","stream":"%s","time":"2025-02-01T10:%02d:00Z","data":{"n":%d,"commits":%d}}\n' \
			"$i" "$type" "$stream" "$i" "$i" $((i % 5)) >>gh.ndjson
	done
	evpub -c gh.evlog <gh.ndjson
}

# ------------------------------------------------------------ -f

@test "evtail -f with no position prints the last 10 matching events, then follows" {
	gh_log
	evtail -f --template '{id}' gh.evlog >f.out 2>f.err 3>&- &
	BG=$!
	wait_for_lines f.out 10 5
	wait_idle "$BG" 10
	evpub gh.evlog push --id late
	wait_for_lines f.out 11 5
	run cat f.out
	assert_stdout "$(printf 'g%d\n' $(seq 5 14))
late"
	run cat f.err
	assert_stdout ""
}

@test "evtail -f --type: the last 10 events of that type, then follows" {
	gh_log
	evtail -f --type push --type issues --template '{id}' gh.evlog \
		>f.out 2>f.err 3>&- &
	BG=$!
	wait_for_lines f.out 8 5
	wait_idle "$BG" 10
	run cat f.out
	assert_stdout "$(printf 'g%d\n' 0 1 4 5 8 9 12 13)"
}

@test "evtail -f with a position starts there, as before" {
	gh_log
	local args
	for args in "--from start" "--since 2025-01-01" "-n 3"; do
		# shellcheck disable=SC2086
		evtail -f $args --template '{id}' gh.evlog >f.out 2>f.err 3>&- &
		BG=$!
		wait_idle "$BG" 10
		kill "$BG"
		wait "$BG" || true
		BG=
		case $args in
		-n*) [ "$(cat f.out)" = "$(printf 'g%d\n' 12 13 14)" ] ;;
		*) [ "$(wc -l <f.out)" = 15 ] ;;
		esac
	done
}

@test "evtail -f --group: a new group starts at the first event" {
	gh_log
	evtail -f --group g --template '{id}' gh.evlog >f.out 2>f.err 3>&- &
	BG=$!
	wait_for_lines f.out 15 5
	wait_idle "$BG" 10
	run cat f.out
	assert_stdout "$(printf 'g%d\n' $(seq 0 14))"
}

# ------------------------------------------------------------ --template

@test "evtail --template: a field no event can have exits 64, with a suggestion" {
	gh_log
	t() {
		run --separate-stderr evtail --template "$1" gh.evlog
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evtail: --template: $2")"
	}
	t '{actor}' "unknown field 'actor'; did you mean 'data.actor'?"
	t '{offset} {Type}' "unknown field 'Type'; did you mean 'type'?"
	t '{actor.login}' "unknown field 'actor.login'; did you mean 'data.actor.login'?"
	t '{type.name}' "unknown field 'type.name': type has no fields inside (data and meta do)"
	t '{data.n:xml}' "'{data.n:xml}': unknown form ':xml' (use :json or :csv)"
}

@test "evtail --template: {PATH:json} prints JSON values, {PATH:csv} RFC 4180 fields" {
	evpub -c q.evlog <<'EOF2'
{"id":"a","type":"T","time":"2025-01-01T00:00:00Z","data":{"s":"say \"hi\", then go","n":3,"o":{"k":[1,"x"]},"z":null}}
{"id":"b","type":"T","time":"2025-01-01T00:00:01Z","data":{"s":"line1\nline2"}}
EOF2
	run --separate-stderr evtail --template '{data.s:json} {data.n:json} {data.o:json} {data.z:json} {data.gone:json} {time:json}' q.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout '"say \"hi\", then go" 3 {"k":[1,"x"]} null null "2025-01-01T00:00:00.000Z"
"line1\nline2" null null null null "2025-01-01T00:00:01.000Z"'
	run --separate-stderr evtail --template '{id:csv},{data.s:csv},{data.n:csv},{data.o:csv},{data.gone:csv}' q.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout 'a,"say ""hi"", then go",3,"{""k"":[1,""x""]}",
b,"line1
line2",,,'
}

# ------------------------------------------------------------ --fields

# Three events whose data holds what CSV and TSV must quote.
quote_log() {
	evpub -c q.evlog <<'EOF2'
{"id":"a","type":"note","stream":"s-1","time":"2025-01-01T00:00:00Z","data":{"text":"plain","n":1,"tags":["x","y"]}}
{"id":"b","type":"note","time":"2025-01-01T00:00:01Z","data":{"text":"a, \"b\"\nc","n":2.5}}
{"id":"c","type":"tab","time":"2025-01-01T00:00:02Z","data":{"text":"t\tu\\v\rw"},"meta":{"user":"ann"}}
EOF2
}

@test "evtail --fields: each event as an object of only those fields, nested as in the event" {
	quote_log
	run --separate-stderr evtail --fields type,data.n,stream,data.tags.1,meta.user q.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout '{"type":"note","data":{"n":1,"tags":{"1":"y"}},"stream":"s-1"}
{"type":"note","data":{"n":2.5}}
{"type":"tab","meta":{"user":"ann"}}'
	# a whole value with a path inside it: the whole value once
	run --separate-stderr evtail --count 1 --fields data.n,data,offset,time q.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout '{"data":{"text":"plain","n":1,"tags":["x","y"]},"offset":0,"time":"2025-01-01T00:00:00.000Z"}'
}

@test "evtail -o csv --fields: a header, RFC 4180 quoting, empty fields where a path is missing" {
	quote_log
	run --separate-stderr evtail -o csv --fields offset,type,stream,data.text,data.n,data.tags q.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "$(printf '%s\n' 'offset,type,stream,data.text,data.n,data.tags' \
		'0,note,s-1,plain,1,"[""x"",""y""]"' \
		'1,note,,"a, ""b""' \
		'c",2.5,' \
		"2,tab,,\"t	u\\v$(printf '\r')w\",,")"
	# the header alone when nothing matches
	run --separate-stderr evtail -o csv --fields id,type --type none q.evlog
	assert_status 0
	assert_stdout "id,type"
}

@test "evtail -o tsv --fields: tabs, newlines, carriage returns and backslashes escaped" {
	quote_log
	run --separate-stderr evtail -o tsv --fields id,data.text,meta.user q.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "$(printf 'id\tdata.text\tmeta.user\na\tplain\t\nb\ta, "b"\\nc\t\nc\tt\\tu\\\\v\\rw\tann')"
}

@test "evtail --fields and -o csv/tsv: bad combinations and unknown fields exit 64" {
	quote_log
	u() {
		run --separate-stderr evtail "$@" q.evlog
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evtail: $msg")"
	}
	msg="--output csv needs --fields" u -o csv
	msg="--output tsv needs --fields" u -o tsv
	msg="--fields works with --output json, csv or tsv" u -o pretty --fields type
	msg="--fields and --template cannot be combined" u --template '{id}' --fields type
	msg="--fields: unknown field 'actor'; did you mean 'data.actor'?" u --fields type,actor
	msg="--fields: 'type,,id' has an empty field at column 6" u --fields type,,id
	msg="--output: 'xml' is not json, pretty, cloudevents, msgpack, csv, tsv, count or chrome" u -o xml
	msg="--exec cannot be combined with --output, --template, --fields, --color, --count or --to" \
		u --group g --exec true --fields type
}

# ------------------------------------------------------------ -o count

@test "evtail -o count prints only the number of matching events" {
	gh_log
	run --separate-stderr evtail -o count gh.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout 15
	run --separate-stderr evtail -o count --type push --stream 'repo-*' gh.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout 3
	run --separate-stderr evtail -o count --type nothing-here gh.evlog
	assert_status 0
	assert_stdout 0
	# --count still means "stop after N"
	run --separate-stderr evtail -o count --count 4 gh.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout 4
	run --separate-stderr evtail -o count -n 2 gh.evlog
	assert_stdout 2
}

@test "evtail -o count --cursor-file counts only what is new, and stores the position" {
	gh_log
	run --separate-stderr evtail -o count --cursor-file c gh.evlog
	assert_stdout 15
	evpub gh.evlog push --id new1
	evpub gh.evlog push --id new2
	run --separate-stderr evtail -o count --cursor-file c gh.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout 2
}

@test "evtail -o count with -f exits 64" {
	gh_log
	run --separate-stderr evtail -o count -f gh.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evtail: --output count cannot be combined with -f")"
}

# ------------------------------------------------------------ -r

@test "evtail -r prints the selection newest first, in every format" {
	gh_log
	run --separate-stderr evtail -r --template '{id}' gh.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "$(printf 'g%d\n' $(seq 14 -1 0))"
	run --separate-stderr evtail --reverse -n 3 --type push gh.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "$(evtail -n 3 --type push gh.evlog | tac)"
	run --separate-stderr evtail -r --count 2 -o csv --fields id,type gh.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "id,type
g1,issues
g0,push"
	run --separate-stderr evtail -r -o count gh.evlog
	assert_stdout 15
	run --separate-stderr evtail -r --type none gh.evlog
	assert_status 0
	assert_stdout ""
	# msgpack: the same maps, the other way round
	evtail -o msgpack gh.evlog >fwd.mp
	evtail -r -o msgpack gh.evlog >rev.mp
	[ "$(stat -c %s fwd.mp)" = "$(stat -c %s rev.mp)" ]
	! cmp -s fwd.mp rev.mp
}

@test "evtail -r with -f or --group exits 64" {
	gh_log
	for a in -f "--group g"; do
		# shellcheck disable=SC2086
		run --separate-stderr evtail -r $a gh.evlog
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evtail: -r cannot be combined with -f or --group: it prints at the end")"
	done
	[ ! -e gh.evlog/groups/g.group ]
}

# ------------------------------------------------------------ empty selections

@test "evtail --type: a glob that matches no type warns with the closest types, exit 0" {
	gh_log
	run --separate-stderr evtail --type PushEvent gh.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr "evtail: no event type in 'gh.evlog' matches 'PushEvent'; closest: push"
	run --separate-stderr evtail --type PullRequestEvent --type 'Watch*' -o count gh.evlog
	assert_status 0
	assert_stdout 0
	assert_stderr "evtail: no event type in 'gh.evlog' matches 'PullRequestEvent'; closest: pull_request
evtail: no event type in 'gh.evlog' matches 'Watch*'; closest: watch"
	run --separate-stderr evtail --type isue --type push -o count gh.evlog
	assert_status 0
	assert_stdout 4
	assert_stderr "evtail: no event type in 'gh.evlog' matches 'isue'; closest: issues"
	# nothing close: the most common types
	run --separate-stderr evtail --type zzz gh.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr "evtail: no event type in 'gh.evlog' matches 'zzz'; most common: push, issues, pull_request, watch"
	# globs that match say nothing
	run --separate-stderr evtail --type 'p*' --type issues -o count gh.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout 12
}

@test "evtail --stream: a glob or name that matches no stream warns with the closest streams, exit 0" {
	gh_log
	run --separate-stderr evtail --stream repo-9 gh.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr "evtail: no stream in 'gh.evlog' matches 'repo-9'; closest: repo-1, repo-2"
	run --separate-stderr evtail --stream 'User-*' -o count gh.evlog
	assert_status 0
	assert_stdout 0
	assert_stderr "evtail: no stream in 'gh.evlog' matches 'User-*'; closest: user-ann"
	run --separate-stderr evtail --stream repo-1 --stream 'user-*' -o count gh.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout 10
	# an empty log has nothing to compare with, and says nothing
	evctl init e.evlog
	run --separate-stderr evtail --stream x --type y e.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr ""
}

@test "evtail --type on a segment file reads it without a warning" {
	gh_log
	run --separate-stderr evtail --type PushEvent gh.evlog/00000000000000000000.seg
	assert_status 0
	assert_stdout ""
	assert_stderr ""
}
