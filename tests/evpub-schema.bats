#!/usr/bin/env bats
# evpub --schemas: events validated before they are appended; invalid
# events stop the run, are skipped, or become dead letters that evdlq
# shows and retries.  Exit status, stdout and stderr checked separately.
load helper

USAGE=$EVPUB_USAGE

usage_err() {
	printf '%s\n%s' "$1" "$USAGE"
}

# offset and id of each event of a log, one line each
ids() {
	evtail --template '{offset} {id}' "$1" | tr '\n' ' '
}

# A registry: OrderPlaced 1 (amount >= 0) and 2 (with a currency), and
# four orders on stdin, the third invalid (amount -1).
local_setup() {
	mkdir -p schemas/OrderPlaced
	cat >schemas/OrderPlaced/1.json <<'EOF'
{"type": "object", "properties": {"amount": {"type": "integer", "minimum": 0}}}
EOF
	cat >schemas/OrderPlaced/2.json <<'EOF'
{"type": "object", "properties": {"amount": {"type": "integer", "minimum": 0},
 "currency": {"enum": ["EUR", "USD"]}}}
EOF
	cat >in.ndjson <<'EOF'
{"type":"OrderPlaced","id":"o1","stream":"order-1","data":{"amount":5}}
{"type":"OrderPlaced","id":"o2","stream":"order-2","data":{"amount":7}}
{"type":"OrderPlaced","id":"o3","stream":"order-3","data":{"amount":-1}}
{"type":"OrderPlaced","id":"o4","stream":"order-4","data":{"amount":9}}
EOF
	ERR3="evpub: stdin:3: OrderPlaced (schema 1): /data/amount: must be >= 0 (schemas/OrderPlaced/1.json#/properties/amount/minimum)"
}

local_teardown() {
	if [ -n "${BG:-}" ]; then
		kill "$BG" 2>/dev/null || true
		wait "$BG" 2>/dev/null || true
	fi
}

# the schema letter at offset 0 of dlq, as evdlq show --json gives it
letter() {
	evdlq show --json dlq 0 | jq -c "$1"
}

# ------------------------------------------------------------ stopping

@test "evpub --schemas: valid events are appended, exit 0, nothing said" {
	sed -i 3d in.ndjson
	run --separate-stderr evpub -c --schemas schemas l.evlog <in.ndjson
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	[ "$(ids l.evlog)" = "0 o1 1 o2 2 o4 " ]
}

@test "evpub --schemas: an invalid event stops the run with 65; the events before it are in the log, none after" {
	run --separate-stderr evpub -c --schemas schemas l.evlog <in.ndjson
	assert_status 65
	assert_stdout ""
	assert_stderr "$ERR3
evpub: 2 events appended; stopped at line 3"
	[ "$(ids l.evlog)" = "0 o1 1 o2 " ]
}

@test "evpub --schemas: -i files are named in the message" {
	run --separate-stderr evpub -c --schemas schemas -i in.ndjson l.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "${ERR3/stdin:3/in.ndjson:3}
evpub: 2 events appended; stopped at line 3"
}

@test "evpub --schemas: with --ack, only the events appended are acknowledged" {
	run --separate-stderr evpub -c --ack --schemas schemas l.evlog <in.ndjson
	assert_status 65
	assert_stdout "0 o1
1 o2"
	assert_stderr "$ERR3
evpub: 2 events appended; stopped at line 3"
}

@test "evpub --schemas: a CloudEvents batch with an invalid event is not appended at all" {
	cat >ce.ndjson <<'EOF'
{"specversion":"1.0","id":"c1","source":"/s","type":"OrderPlaced","data":{"amount":1}}
[{"specversion":"1.0","id":"c2","source":"/s","type":"OrderPlaced","data":{"amount":2}},{"specversion":"1.0","id":"c3","source":"/s","type":"OrderPlaced","data":{"amount":-3}}]
EOF
	run --separate-stderr evpub -c --format cloudevents --schemas schemas l.evlog <ce.ndjson
	assert_status 65
	assert_stdout ""
	assert_stderr "evpub: stdin:2: OrderPlaced (schema 1): /data/amount: must be >= 0 (schemas/OrderPlaced/1.json#/properties/amount/minimum)
evpub: 1 event appended; stopped at line 2"
	[ "$(ids l.evlog)" = "0 c1 " ]
}

@test "evpub --schemas: at most 5 errors of an event are listed, then ... and N more" {
	mkdir schemas/Signup
	echo '{"required": ["a", "b", "c", "d", "e", "f", "g"]}' >schemas/Signup/1.json
	echo '{"type":"Signup","data":{}}' >s.ndjson
	run --separate-stderr evpub -c --schemas schemas l.evlog <s.ndjson
	assert_status 65
	assert_stdout ""
	[ "${#stderr_lines[@]}" -eq 7 ]
	local i
	for i in 0 1 2 3 4; do
		[[ ${stderr_lines[i]} =~ ^evpub:\ stdin:1:\ Signup\ \(schema\ 1\):\ .*\(schemas/Signup/1\.json#/required\)$ ]]
	done
	[ "${stderr_lines[5]}" = "evpub: stdin:1: ... and 2 more" ]
	[ "${stderr_lines[6]}" = "evpub: 0 events appended; stopped at line 1" ]
}

@test "evpub --schemas: an error about the whole event (_envelope.json) has no path" {
	echo '{"required": ["meta"]}' >schemas/_envelope.json
	echo '{"type":"OrderPlaced","id":"x","data":{"amount":1}}' >e.ndjson
	run --separate-stderr evpub -c --schemas schemas l.evlog <e.ndjson
	assert_status 65
	assert_stdout ""
	[[ ${stderr_lines[0]} =~ ^evpub:\ stdin:1:\ OrderPlaced\ \(schema\ 1\):\ must\ have\ required\ property\ .meta.\ \(schemas/_envelope\.json#/required\)$ ]]
	[ "${stderr_lines[1]}" = "evpub: 0 events appended; stopped at line 1" ]
}

# ------------------------------------------------------------ the registry

@test "evpub --schemas: a version with no schema file is invalid, naming the file" {
	echo '{"type":"OrderPlaced","id":"v3","schema":3,"data":{"amount":1}}' >v.ndjson
	run --separate-stderr evpub -c --schemas schemas l.evlog <v.ndjson
	assert_status 65
	assert_stdout ""
	[[ ${stderr_lines[0]} == "evpub: stdin:1: OrderPlaced (schema 3): "*"schemas/OrderPlaced/3.json"* ]]
	[ "${stderr_lines[1]}" = "evpub: 0 events appended; stopped at line 1" ]
	[ "${#stderr_lines[@]}" -eq 2 ]
}

@test "evpub --schemas: a type without a directory is valid, unless --require-schemas" {
	echo '{"type":"Unknown","id":"u1","data":{"x":1}}' >u.ndjson
	run --separate-stderr evpub -c --schemas schemas l.evlog <u.ndjson
	assert_status 0
	assert_stderr ""
	[ "$(ids l.evlog)" = "0 u1 " ]
	run --separate-stderr evpub --schemas schemas --require-schemas l.evlog <u.ndjson
	assert_status 65
	assert_stdout ""
	[[ ${stderr_lines[0]} == "evpub: stdin:1: Unknown (schema 1): "* ]]
	[ "${stderr_lines[1]}" = "evpub: 0 events appended; stopped at line 1" ]
	[ "$(ids l.evlog)" = "0 u1 " ]
}

@test "evpub --schemas: a schema that does not load exits 64 with its errors, before any input is read" {
	echo '{"type": "object", "minimum": "zero"' >schemas/OrderPlaced/2.json
	run --separate-stderr evpub -c --schemas schemas l.evlog <in.ndjson
	assert_status 64
	assert_stdout ""
	[[ ${stderr_lines[0]} == "evpub: "*"schemas/OrderPlaced/2.json"* ]]
	[ ! -e l.evlog ] # not even created
	# a bad pattern, too
	echo '{"properties": {"a": {"pattern": "(["}}}' >schemas/OrderPlaced/2.json
	run --separate-stderr evpub -c --schemas schemas l.evlog <in.ndjson
	assert_status 64
	assert_stdout ""
	[[ ${stderr_lines[0]} == "evpub: "*"schemas/OrderPlaced/2.json"*pattern* ]]
	[ ! -e l.evlog ]
}

@test "evpub --schemas: a missing directory exits 66" {
	run --separate-stderr evpub -c --schemas nowhere l.evlog <in.ndjson
	assert_status 66
	assert_stdout ""
	[[ $stderr == "evpub: "*nowhere* ]]
	[ ! -e l.evlog ]
}

@test "evpub --schemas --formats assert checks format; annotate, the default, does not" {
	mkdir schemas/Mail
	echo '{"properties": {"to": {"format": "email"}}}' >schemas/Mail/1.json
	echo '{"type":"Mail","id":"m1","data":{"to":"not an address"}}' >m.ndjson
	run --separate-stderr evpub -c --schemas schemas l.evlog <m.ndjson
	assert_status 0
	assert_stderr ""
	run --separate-stderr evpub --schemas schemas --formats annotate l.evlog <m.ndjson
	assert_status 0
	run --separate-stderr evpub --schemas schemas --formats assert l.evlog <m.ndjson
	assert_status 65
	[[ ${stderr_lines[0]} == "evpub: stdin:1: Mail (schema 1): /data/to: "*"(schemas/Mail/1.json#/properties/to/format)" ]]
	[ "$(event_count l.evlog)" -eq 1 ]
}

@test "evpub --schemas --ref-dir: a remote \$ref resolves from local files" {
	mkdir -p refs/example.com/defs
	echo '{"type": "integer", "minimum": 0}' >refs/example.com/defs/amount.json
	mkdir schemas/Paid
	echo '{"properties": {"amount": {"$ref": "https://example.com/defs/amount.json"}}}' >schemas/Paid/1.json
	printf '%s\n' '{"type":"Paid","id":"p1","data":{"amount":3}}' \
		'{"type":"Paid","id":"p2","data":{"amount":-3}}' >p.ndjson
	run --separate-stderr evpub -c --schemas schemas l.evlog <p.ndjson
	assert_status 64
	assert_stdout ""
	[[ $stderr == *"https://example.com/defs/amount.json"* ]]
	run --separate-stderr evpub -c --schemas schemas --ref-dir refs l.evlog <p.ndjson
	assert_status 65
	[[ ${stderr_lines[0]} == "evpub: stdin:2: Paid (schema 1): /data/amount: must be >= 0 "* ]]
	[ "$(ids l.evlog)" = "0 p1 " ]
	run --separate-stderr evpub --schemas schemas --ref-dir https://example.com/=refs/example.com/ l.evlog <p.ndjson
	assert_status 65
	[[ ${stderr_lines[0]} == "evpub: stdin:2: Paid (schema 1): /data/amount: must be >= 0 "* ]]
}

# ------------------------------------------------------------ going on

@test "evpub --schemas --skip-invalid: invalid events are said and skipped, the rest appended, exit 65" {
	run --separate-stderr evpub -c --schemas schemas --skip-invalid l.evlog <in.ndjson
	assert_status 65
	assert_stdout ""
	assert_stderr "$ERR3
evpub: 3 events appended; 1 invalid event skipped"
	[ "$(ids l.evlog)" = "0 o1 1 o2 2 o4 " ]
}

@test "evpub --schemas --skip-invalid: bad lines and invalid events are counted apart" {
	sed -i '1i {"type":' in.ndjson
	run --separate-stderr evpub -c --schemas schemas --skip-invalid l.evlog <in.ndjson
	assert_status 65
	assert_stdout ""
	[ "${#stderr_lines[@]}" -eq 3 ]
	[[ ${stderr_lines[0]} == "evpub: stdin:1:"* ]]
	[ "${stderr_lines[1]}" = "${ERR3/stdin:3/stdin:4}" ]
	[ "${stderr_lines[2]}" = "evpub: 3 events appended; 1 invalid line skipped; 1 invalid event skipped" ]
}

@test "evpub --schemas --dry-run: every invalid event is said, nothing appended, exit 65" {
	run --separate-stderr evpub --dry-run --schemas schemas l.evlog <in.ndjson
	assert_status 65
	assert_stdout ""
	assert_stderr "$ERR3
evpub: 3 events valid; 0 invalid lines; 1 invalid event"
	[ ! -e l.evlog ]
}

# ------------------------------------------------------------ the argument form

@test "evpub LOG TYPE k=v --schemas: the event built from arguments is validated" {
	run --separate-stderr evpub -c l.evlog OrderPlaced --schemas schemas --id a1 amount:=4
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	run --separate-stderr evpub l.evlog OrderPlaced --schemas schemas --id a2 amount:=-4
	assert_status 65
	assert_stdout ""
	assert_stderr "evpub: OrderPlaced (schema 1): /data/amount: must be >= 0 (schemas/OrderPlaced/1.json#/properties/amount/minimum)"
	run --separate-stderr evpub l.evlog OrderPlaced --schemas schemas --schema 2 --id a3 amount:=1 currency=GBP
	assert_status 65
	[[ $stderr == "evpub: OrderPlaced (schema 2): /data/currency: "*"(schemas/OrderPlaced/2.json#/properties/currency/enum)" ]]
	[ "$(ids l.evlog)" = "0 a1 " ]
}

@test "evpub LOG TYPE --schemas --dlq: an invalid event becomes a letter whose source is the arguments" {
	evpub -c l.evlog OrderPlaced --id a0 amount:=1
	run --separate-stderr evpub l.evlog OrderPlaced --schemas schemas --dlq dlq --id a1 amount:=-1
	assert_status 0
	assert_stdout ""
	assert_stderr "evpub: OrderPlaced (schema 1): /data/amount: must be >= 0 (schemas/OrderPlaced/1.json#/properties/amount/minimum)
evpub: 0 appended; 1 invalid event dead-lettered to 'dlq'"
	[ "$(letter .letter.data.source)" = '"arguments"' ]
	[ "$(ids l.evlog)" = "0 a0 " ]
}

# ------------------------------------------------------------ usage

@test "evpub: the schema options need --schemas, and --dlq goes with neither --dry-run nor an exact --expect-version" {
	local o
	for o in --require-schemas "--formats assert" "--ref-dir refs" "--dlq dlq"; do
		# shellcheck disable=SC2086
		run --separate-stderr evpub $o l.evlog
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evpub: --require-schemas, --formats, --ref-dir and --dlq need --schemas DIR")"
	done
	run --separate-stderr evpub --schemas schemas --formats strict l.evlog
	assert_status 64
	assert_stderr "$(usage_err "evpub: --formats: 'strict' is not annotate or assert")"
	run --separate-stderr evpub --schemas schemas --dlq dlq --dry-run l.evlog
	assert_status 64
	assert_stderr "$(usage_err "evpub: --dry-run and --dlq cannot be combined")"
	run --separate-stderr evpub --schemas schemas --dlq dlq --expect-version 3 l.evlog
	assert_status 64
	assert_stderr "$(usage_err "evpub: --dlq and --expect-version 3 cannot be combined: an exact version is for one atomic append")"
	evpub -c l.evlog </dev/null
	run --separate-stderr evpub --schemas schemas --dlq l.evlog l.evlog <in.ndjson
	assert_status 64
	assert_stderr "$(usage_err "evpub: --dlq: 'l.evlog' is LOG itself")"
	[ ! -e dlq ]
}

# ------------------------------------------------------------ dead letters

@test "evpub --schemas --dlq: invalid events become dead letters, the rest are appended, exit 0" {
	run --separate-stderr evpub -c --schemas schemas --dlq dlq l.evlog <in.ndjson
	assert_status 0
	assert_stdout ""
	assert_stderr "$ERR3
evpub: 3 events appended; 1 invalid event dead-lettered to 'dlq'"
	[ "$(ids l.evlog)" = "0 o1 1 o2 2 o4 " ]
	[ "$(evtail --template '{type}' dlq)" = "DeadLetter" ]
}

@test "evpub --dlq: an event too large for a letter stops the run there, with the count line, exit 65" {
	mkdir schemas/A
	echo '{"type": "integer"}' >schemas/A/1.json
	{
		sed -n 1,3p in.ndjson
		python3 -c "import json;print(json.dumps({'type':'A','id':'big','stream':'s','data':'x'*1048000}))"
		sed -n 4p in.ndjson
	} >big.ndjson
	run --separate-stderr evpub -c --schemas schemas --dlq dlq l.evlog <big.ndjson
	assert_status 65
	assert_stdout ""
	assert_stderr "${ERR3}
evpub: stdin:4: A (schema 1): /data: must be integer (schemas/A/1.json#/type)
evpub: stdin:4: the event is too large to dead-letter: with the letter around it, it is over the limit of 1048576 bytes encoded
evpub: 2 events appended; 1 invalid event dead-lettered to 'dlq'; stopped at line 4"
	# nothing from that line on; the letter before it kept
	[ "$(ids l.evlog)" = "0 o1 1 o2 " ]
	[ "$(evtail --template '{type} {data.source}' dlq)" = "DeadLetter stdin:3" ]
}

@test "evpub --dlq: a large event with many long errors gets a letter that keeps the first of them" {
	mkdir schemas/B
	echo '{"additionalProperties": false}' >schemas/B/1.json
	python3 -c "
import json
d = {('k%03d' % i) + 'y' * 9900: i for i in range(100)}
print(json.dumps({'type': 'B', 'id': 'b1', 'stream': 's', 'data': d}))" >many.ndjson
	run --separate-stderr evpub -c --schemas schemas --dlq dlq l.evlog <many.ndjson
	assert_status 0
	assert_stdout ""
	assert_stderr_line -1 "evpub: 0 events appended; 1 invalid event dead-lettered to 'dlq'"
	run --separate-stderr evdlq show --json dlq 0
	assert_status 0
	n=$(jq '.letter.data.errors | length' <<<"$output")
	[ "$n" -gt 1 ] && [ "$n" -le 101 ]
	[ "$(jq -c '.letter.data.errors[-1]' <<<"$output")" = \
		"{\"instancePath\":\"\",\"schemaPath\":\"\",\"keyword\":\"\",\"message\":\"... and $((101 - n)) more\"}" ]
	# each string cut to 1 KiB, with "..." after
	[ "$(jq -r '.letter.data.errors[0].instancePath | length' <<<"$output")" -eq 1027 ]
	[[ $(jq -r '.letter.data.errors[0].instancePath' <<<"$output") == /data/k000yyy*y... ]]
	[ "$(jq -r '.letter.data.exceptionMessage' <<<"$output" | wc -l)" -eq 6 ]
	[ "$(jq -r '.letter.data.exceptionMessage' <<<"$output" | tail -n 1)" = "... and 95 more" ]
	[ "$(jq -c '.letter.data.original.data | length' <<<"$output")" -eq 100 ]
}

@test "evpub --dlq: a letter is synced when input pauses, before the input ends" {
	mkfifo in.fifo
	evpub -c --schemas schemas --dlq dlq l.evlog <in.fifo 2>err 3>&- &
	BG=$!
	exec 4>in.fifo
	sed -n 3p in.ndjson >&4
	wait_for '[ "$(evtail --template "{type} {data.source}" dlq 2>/dev/null)" = "DeadLetter stdin:1" ]' 10 "the letter"
	exec 4>&-
	wait "$BG"
	BG=
	[ "$(cat err)" = "${ERR3/stdin:3/stdin:1}
evpub: 0 events appended; 1 invalid event dead-lettered to 'dlq'" ]
}

@test "evpub --dlq: the letter holds its stage, source, schemas, log, errors and the original event" {
	evpub -c --schemas schemas --dlq dlq l.evlog <in.ndjson 2>/dev/null
	logid=$(evctl info --json l.evlog | jq -r .id)
	run --separate-stderr evdlq show --json dlq 0
	assert_status 0
	assert_stderr ""
	[ "$(jq -r .letter.id <<<"$output")" = "deadletter:schema:$logid:o3:1" ]
	[ "$(jq -c '.letter.data | [.stage, .source, .schemas, .originalTopic, .originalLogId, .originalOffset, .originalTimestamp, .originalConsumerGroup, .exceptionFqcn, .handler, .attempts, .requireSchemas, .formats, .refDirs, .round]' <<<"$output")" = \
		"[\"schema\",\"stdin:3\",\"$T/schemas\",\"$T/l.evlog\",\"$logid\",null,null,\"\",\"evlog.SchemaInvalid\",null,1,false,\"annotate\",[],1]" ]
	[ "$(jq -c .letter.data.errors <<<"$output")" = '[{"instancePath":"/data/amount","schemaPath":"schemas/OrderPlaced/1.json#/properties/amount/minimum","keyword":"minimum","message":"must be >= 0"}]' ]
	[ "$(jq -r .letter.data.exceptionMessage <<<"$output")" = "${ERR3#evpub: stdin:3: }" ]
	[ "$(jq -c '.letter.data.original | [.id, .type, .stream, .data]' <<<"$output")" = '["o3","OrderPlaced","order-3",{"amount":-1}]' ]
	[ "$(jq -c '.letter.data.original | has("offset")' <<<"$output")" = false ]
	# the fields in the order evdlq(1) gives them
	[ "$(jq -c '.letter.data | keys_unsorted' <<<"$output")" = '["original","originalTopic","originalLogId","originalPartition","originalOffset","originalTimestamp","originalTimestampType","originalConsumerGroup","exceptionFqcn","exceptionMessage","exceptionStacktrace","handler","stage","source","schemas","requireSchemas","formats","refDirs","errors","attempts","firstFailure","lastFailure","exitStatus","signal","timedOut","round"]' ]
}

@test "evpub --dlq: the letter records --require-schemas, --formats and --ref-dir, with absolute paths" {
	mkdir refs
	evpub -c --schemas ./schemas --require-schemas --formats assert --ref-dir refs \
		--ref-dir http://x/=refs --ref-dir https://y/=./refs/../refs/ \
		--ref-dir "$T/refs" --ref-dir https://z/=gone --dlq dlq l.evlog <in.ndjson 2>/dev/null
	[ "$(letter '.letter.data | [.schemas, .requireSchemas, .formats, .refDirs]')" = \
		"[\"$T/schemas\",true,\"assert\",[\"$T/refs\",\"http://x/=$T/refs\",\"https://y/=$T/refs\",\"$T/refs\",\"https://z/=$T/gone\"]]" ]
}

@test "evdlq retry: a letter whose schemas load remote refs through --ref-dir retries from anywhere" {
	mkdir -p rd/example.com
	echo '{"type": "integer", "minimum": 0}' >rd/example.com/amount.json
	echo '{"properties": {"amount": {"$ref": "https://example.com/amount.json"}}}' >schemas/OrderPlaced/1.json
	evpub -c --schemas schemas --ref-dir rd --dlq dlq l.evlog <in.ndjson 2>/dev/null
	[ "$(letter '.letter.data.refDirs')" = "[\"$T/rd\"]" ]
	echo '{"type": "integer"}' >rd/example.com/amount.json
	mkdir elsewhere
	cd elsewhere
	run --separate-stderr evdlq retry ../dlq
	assert_status 0
	assert_stdout "resolved 0 (OrderPlaced): appended at offset 3 of '$T/l.evlog'"
	assert_stderr "evdlq: 1 resolved, 0 still open"
}

@test "evdlq retry --ref-dir: mappings instead of those the letter records" {
	mkdir -p rd/example.com other/example.com
	echo '{"type": "integer", "minimum": 0}' >rd/example.com/amount.json
	echo '{"type": "integer"}' >other/example.com/amount.json
	echo '{"properties": {"amount": {"$ref": "https://example.com/amount.json"}}}' >schemas/OrderPlaced/1.json
	evpub -c --schemas schemas --ref-dir rd --dlq dlq l.evlog <in.ndjson 2>/dev/null
	# the letter's own mapping: still invalid
	run --separate-stderr evdlq retry dlq
	assert_status 1
	assert_stderr_contains "must be >= 0"
	# with no mapping that serves the ref, the schemas do not load
	run --separate-stderr evdlq retry --ref-dir https://nowhere/=other dlq
	assert_status 64
	assert_stderr_contains "https://example.com/amount.json"
	run --separate-stderr evdlq retry --ref-dir https://example.com/=other/example.com dlq
	assert_status 0
	assert_stdout "resolved 0 (OrderPlaced): appended at offset 3 of '$T/l.evlog'"
	assert_stderr "evdlq: 1 resolved, 0 still open"
}

@test "evdlq ls, stats and show: a schema letter has no original offset, its errors and its stage" {
	evpub -c --schemas schemas --dlq dlq l.evlog <in.ndjson 2>/dev/null
	run --separate-stderr evdlq ls dlq
	assert_status 0
	assert_stderr ""
	assert_stdout_line 0 "OFFSET   ORIGINAL   TYPE                     STREAM               ATTEMPTS   AGE ERROR"
	[[ ${lines[1]} =~ ^0\ +-\ +OrderPlaced\ +order-3\ +1\ +[0-9]+s\ OrderPlaced\ \(schema\ 1\):\ /data/amount:\ must\ be\ \>=\ 0\ \(schemas/OrderPlaced/1\.json#/properties/amount/minimum\)$ ]]
	run --separate-stderr evdlq ls --json dlq
	assert_status 0
	[ "$(jq -c '[.source.offset, .stage, .group, .type, .stream, .attempts]' <<<"$output")" = '[null,"schema","","OrderPlaced","order-3",1]' ]
	run --separate-stderr evdlq stats dlq
	assert_status 0
	assert_stderr ""
	assert_stdout_line 0 "open:       1"
	grep -qx '           1  OrderPlaced' <<<"$output"
	[ "$(sed -n '/^open by stage:/,/^open by error:/p' <<<"$output")" = "open by stage:
           1  schema
open by error:" ]
	grep -qx "           1  ${ERR3#evpub: stdin:3: }" <<<"$output"
	run --separate-stderr evdlq show dlq 0
	assert_status 0
	assert_stderr ""
	assert_stdout_line 0 "dead letter 0: open, 1 attempt"
	assert_stdout_line 1 "invalid at stdin:3 against the schemas in $T/schemas:"
	assert_stdout_line 2 "  ${ERR3#evpub: stdin:3: }"
	assert_stdout_line 3 "{"
}

@test "evdlq purge discards a schema letter" {
	evpub -c --schemas schemas --dlq dlq l.evlog <in.ndjson 2>/dev/null
	run --separate-stderr evdlq purge --reason "test order" dlq
	assert_status 0
	assert_stdout "discarded 0 (OrderPlaced)"
	assert_stderr "evdlq: 1 discarded"
	run --separate-stderr evdlq ls dlq
	assert_stdout ""
}

@test "evpub --dlq: the same event dead-lettered twice gets round 2" {
	evpub -c --schemas schemas --dlq dlq l.evlog <in.ndjson 2>/dev/null
	sed -n 3p in.ndjson | evpub --schemas schemas --dlq dlq l.evlog 2>/dev/null
	logid=$(evctl info --json l.evlog | jq -r .id)
	[ "$(evtail --template '{id}' dlq | tr '\n' ' ')" = "deadletter:schema:$logid:o3:1 deadletter:schema:$logid:o3:2 " ]
}

# ------------------------------------------------------------ retry

@test "evdlq retry: a schema letter whose event passes now is appended to its log and resolved" {
	evpub -c --schemas schemas --dlq dlq l.evlog <in.ndjson 2>/dev/null
	echo '{"type": "object"}' >schemas/OrderPlaced/1.json
	run --separate-stderr evdlq retry --dry-run dlq
	assert_status 0
	assert_stdout "would retry 0 (OrderPlaced order-3) against the schemas in $T/schemas"
	assert_stderr ""
	[ "$(event_count l.evlog)" -eq 3 ]
	# from anywhere: the letter names its log and schemas by absolute path
	mkdir elsewhere
	cd elsewhere
	run --separate-stderr evdlq retry ../dlq
	assert_status 0
	assert_stdout "resolved 0 (OrderPlaced): appended at offset 3 of '$T/l.evlog'"
	assert_stderr "evdlq: 1 resolved, 0 still open"
	cd ..
	[ "$(ids l.evlog)" = "0 o1 1 o2 2 o4 3 o3 " ]
	[ "$(evtail --from 3 --template '{stream} {data.amount}' l.evlog)" = "order-3 -1" ]
	run evdlq ls --all --json dlq
	[ "$(jq -c '[.state, .attempts]' <<<"$output")" = '["resolved",2]' ]
	[ "$(evtail --from 1 dlq | jq -c '[.type, .data.letter, .data.offset, .data.duplicate, .data.schemas]')" = \
		"[\"DeadLetterResolved\",0,3,false,\"$T/schemas\"]" ]
	# nothing more to do
	run --separate-stderr evdlq retry dlq
	assert_status 0
	assert_stdout ""
	assert_stderr ""
}

@test "evdlq retry: a schema letter still invalid stays open with the new errors as its last failure, exit 1" {
	evpub -c --schemas schemas --dlq dlq l.evlog <in.ndjson 2>/dev/null
	echo '{"properties": {"amount": {"minimum": 10}}}' >schemas/OrderPlaced/1.json
	run --separate-stderr evdlq retry dlq
	assert_status 1
	assert_stdout ""
	assert_stderr "evdlq: still open: 0: OrderPlaced (schema 1): /data/amount: must be >= 10 ($T/schemas/OrderPlaced/1.json#/properties/amount/minimum)
evdlq: 0 resolved, 1 still open"
	[ "$(event_count l.evlog)" -eq 3 ]
	run evdlq ls --json dlq
	[ "$(jq -c '[.state, .attempts, .error]' <<<"$output")" = \
		"[\"open\",2,\"OrderPlaced (schema 1): /data/amount: must be >= 10 ($T/schemas/OrderPlaced/1.json#/properties/amount/minimum)\"]" ]
	[ "$(evtail --from 1 dlq | jq -c '[.type, .data.letter, .data.errors[0].message]')" = \
		'["DeadLetterRetryFailed",0,"must be >= 10"]' ]
	run --separate-stderr evdlq show dlq 0
	assert_stdout_line 2 "  OrderPlaced (schema 1): /data/amount: must be >= 10 ($T/schemas/OrderPlaced/1.json#/properties/amount/minimum)"
}

@test "evdlq retry --schemas DIR: validates against DIR, not the letter's directory" {
	evpub -c --schemas schemas --dlq dlq l.evlog <in.ndjson 2>/dev/null
	cp -r schemas fixed
	echo '{}' >fixed/OrderPlaced/1.json
	run --separate-stderr evdlq retry --dry-run --schemas fixed dlq
	assert_status 0
	assert_stdout "would retry 0 (OrderPlaced order-3) against the schemas in fixed"
	run --separate-stderr evdlq retry --schemas fixed dlq
	assert_status 0
	assert_stdout "resolved 0 (OrderPlaced): appended at offset 3 of '$T/l.evlog'"
	assert_stderr "evdlq: 1 resolved, 0 still open"
	[ "$(evtail --from 1 dlq | jq -r .data.schemas)" = fixed ]
}

@test "evdlq retry: a schemas directory that does not load exits 64 and records nothing" {
	evpub -c --schemas schemas --dlq dlq l.evlog <in.ndjson 2>/dev/null
	echo '{"minimum": ' >schemas/OrderPlaced/1.json
	run --separate-stderr evdlq retry dlq
	assert_status 64
	assert_stdout ""
	[[ ${stderr_lines[0]} == "evdlq: "*"schemas/OrderPlaced/1.json"* ]]
	[ "$(evtail --template '{type}' dlq)" = "DeadLetter" ]
	run --separate-stderr evdlq retry --schemas nowhere dlq
	assert_status 66
	assert_stdout ""
}

@test "evdlq retry: an event already in the log (a retry that crashed) resolves its letter without a second copy" {
	evpub -c --schemas schemas --dlq dlq l.evlog <in.ndjson 2>/dev/null
	sed -n 3p in.ndjson | evpub l.evlog
	echo '{}' >schemas/OrderPlaced/1.json
	run --separate-stderr evdlq retry dlq
	assert_status 0
	assert_stdout "resolved 0 (OrderPlaced): already at offset 3 of '$T/l.evlog'"
	[ "$(event_count l.evlog)" -eq 4 ]
	[ "$(evtail --from 1 dlq | jq -c '[.data.offset, .data.duplicate]')" = '[3,true]' ]
}

@test "evdlq retry: a schema letter behind a failing one of its stream is left open" {
	printf '%s\n' '{"type":"OrderPlaced","id":"s1","stream":"order-9","data":{"amount":-20}}' \
		'{"type":"OrderPlaced","id":"s2","stream":"order-9","data":{"amount":-1}}' >s.ndjson
	evpub -c --schemas schemas --dlq dlq l.evlog <s.ndjson 2>/dev/null
	echo '{"properties": {"amount": {"minimum": -10}}}' >schemas/OrderPlaced/1.json
	run --separate-stderr evdlq retry dlq
	assert_status 1
	assert_stdout ""
	assert_stderr "evdlq: still open: 0: OrderPlaced (schema 1): /data/amount: must be >= -10 ($T/schemas/OrderPlaced/1.json#/properties/amount/minimum)
evdlq: left open: 1 (OrderPlaced order-9), behind failed letter 0 of its stream
evdlq: 0 resolved, 2 still open"
	[ "$(event_count l.evlog)" -eq 0 ]
}

@test "evdlq retry: schema letters and handler letters in one DLQ are each retried their way" {
	evpub -c --schemas schemas --dlq dlq l.evlog <in.ndjson 2>/dev/null
	evtail --group g --exec 'cat >/dev/null; [ "$EV_ID" != o2 ]' --retries 0 --dlq dlq l.evlog 2>/dev/null
	[ "$(evdlq ls --json dlq | jq -r .stage | tr '\n' ' ')" = "schema handler " ]
	echo '{}' >schemas/OrderPlaced/1.json
	run --separate-stderr evdlq retry --exec 'cat >/dev/null' dlq
	assert_status 0
	assert_stdout "resolved 0 (OrderPlaced): appended at offset 3 of '$T/l.evlog'
resolved 1 (OrderPlaced)"
	assert_stderr "evdlq: 2 resolved, 0 still open"
}

@test "evdlq retry: an event whose stream moved on meanwhile stays a letter, with the version conflict as its failure" {
	printf '%s\n' '{"type":"OrderPlaced","id":"v1","stream":"s","version":1,"data":{"amount":1}}' \
		'{"type":"OrderPlaced","id":"v2","stream":"s","version":2,"data":{"amount":-1}}' >v.ndjson
	evpub -c --schemas schemas --dlq dlq l.evlog <v.ndjson 2>/dev/null
	echo '{"type":"OrderPlaced","id":"w2","stream":"s","version":2,"data":{"amount":2}}' | evpub l.evlog
	echo '{}' >schemas/OrderPlaced/1.json
	run --separate-stderr evdlq retry dlq
	assert_status 1
	assert_stdout ""
	assert_stderr "evdlq: still open: 0: stream 's' is at version 2, event has version 2
evdlq: 0 resolved, 1 still open"
	[ "$(ids l.evlog)" = "0 v1 1 w2 " ]
	run evdlq ls --json dlq
	[ "$(jq -c '[.state, .attempts, .error]' <<<"$output")" = "[\"open\",2,\"stream 's' is at version 2, event has version 2\"]" ]
	# the log takes appends as before
	echo '{"type":"OrderPlaced","id":"w3","stream":"s","data":{"amount":3}}' | evpub l.evlog
	[ "$(ids l.evlog)" = "0 v1 1 w2 2 w3 " ]
}

@test "evpub --dlq: letters written after a rewrite in place name the new log, and evdlq retry appends them there" {
	mkfifo in.fifo
	evpub -c --schemas schemas --dlq dlq --batch-events 1 l.evlog <in.fifo >pub.out 2>pub.err 3>&- &
	BG=$!
	exec 4>in.fifo
	echo '{"type":"Noise","id":"n1"}' >&4
	sed -n 1p in.ndjson >&4
	wait_for '[ "$(evtail -o count l.evlog 2>/dev/null)" = 2 ]' 10 "the first events"
	old=$(evctl info --json l.evlog | jq -r .id)
	# a rewrite that drops an event gives the new log an id of its own
	printf 'type Noise\nfrom 1\n  drop\n' >drop.upcast
	run --separate-stderr evreplay --rewrite --upcast drop.upcast --in-place l.evlog
	assert_status 0
	new=$(evctl info --json l.evlog | jq -r .id)
	[ "$new" != "$old" ]
	# before the writer has appended to the new log, then after
	sed -n 3p in.ndjson >&4
	wait_for '[ "$(evtail -o count dlq 2>/dev/null)" = 1 ]' 10 "the first letter"
	sed -n 4p in.ndjson >&4
	wait_for '[ "$(evtail -o count l.evlog 2>/dev/null)" = 2 ]' 10 "o4 in the new log"
	echo '{"type":"OrderPlaced","id":"o5","stream":"order-5","data":{"amount":-2}}' >&4
	exec 4>&-
	st=0
	wait "$BG" || st=$?
	BG=
	[ "$st" -eq 0 ]
	run cat pub.out
	assert_stdout ""
	run cat pub.err
	assert_stdout "$ERR3
evpub: 'l.evlog' was rewritten in place while it was open for writing; appending to the rewritten log
${ERR3//stdin:3/stdin:5}
evpub: 3 events appended; 2 invalid events dead-lettered to 'dlq'"
	run --separate-stderr evdlq ls --json dlq
	assert_status 0
	assert_stderr ""
	[ "$(jq -r .source.logId <<<"$output" | tr '\n' ' ')" = "$new $new " ]
	[ "$(jq -r .id <<<"$output" | tr '\n' ' ')" = \
		"deadletter:schema:$new:o3:1 deadletter:schema:$new:o5:1 " ]
	# retried, they go to the log now at the path: the new one
	echo '{"type": "object"}' >schemas/OrderPlaced/1.json
	run --separate-stderr evdlq retry dlq
	assert_status 0
	assert_stdout "resolved 0 (OrderPlaced): appended at offset 2 of '$T/l.evlog'
resolved 1 (OrderPlaced): appended at offset 3 of '$T/l.evlog'"
	assert_stderr "evdlq: 2 resolved, 0 still open"
	[ "$(ids l.evlog)" = "0 o1 1 o4 2 o3 3 o5 " ]
}
