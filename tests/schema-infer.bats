#!/usr/bin/env bats
# evctl schema infer: the schema on stdout or under --out DIR, from a log,
# NDJSON envelopes, stdin, or --wrap lines; every message and exit
# status; and the invariant: evctl schema check of the same events
# against the inferred schemas passes.  The merge rules are tested in
# tests/unit/test_schemainfer.c, with the invariant through the validator.
load helper

INFER_USAGE="Usage: evctl schema infer [--type TYPE]... [--out DIR] [--enum-max N]
                          [--wrap [--type-from PATH]] [LOG | FILE... | -]
Try 'evctl schema infer --help' for more information."

local_setup() {
	cat >events.ndjson <<'EOF'
{"id":"1","type":"OrderPlaced","time":"2026-01-01T00:00:00Z","data":{"amount":100,"currency":"EUR","note":"a"}}
{"id":"2","type":"OrderPlaced","time":"2026-01-01T00:00:01Z","data":{"amount":2.5,"currency":"USD"}}
{"id":"3","type":"OrderPlaced","time":"2026-01-01T00:00:02Z","data":{"amount":7,"currency":"EUR","note":null}}
{"id":"4","type":"OrderPlaced","time":"2026-01-01T00:00:03Z","data":{"amount":1,"currency":"USD"}}
{"id":"5","type":"a/b","time":"2026-01-01T00:00:04Z","data":[1,{"x":true}]}
EOF
	cat >v2.ndjson <<'EOF'
{"id":"6","type":"OrderPlaced","schema":2,"time":"2026-01-01T00:00:05Z","data":{"total":{"amount":1}}}
EOF
}

ORDER1='{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "title": "OrderPlaced (schema 1)",
  "description": "inferred from 4 events",
  "type": "object",
  "properties": {
    "amount": {
      "type": "number"
    },
    "currency": {
      "type": "string",
      "enum": [
        "EUR",
        "USD"
      ]
    },
    "note": {
      "type": ["string", "null"]
    }
  },
  "required": [
    "amount",
    "currency"
  ]
}'

# ------------------------------------------------------------ stdout

@test "schema infer --type: one schema on stdout, from NDJSON envelopes" {
	run --separate-stderr evctl schema infer --type OrderPlaced events.ndjson
	assert_status 0
	assert_stderr ""
	assert_stdout "$ORDER1"
}

@test "schema infer reads a log, stdin and '-' alike" {
	evpub -c a.evlog <events.ndjson
	run --separate-stderr evctl schema infer --type OrderPlaced a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "$ORDER1"
	from_log=$output
	run --separate-stderr sh -c 'evctl schema infer --type OrderPlaced <events.ndjson'
	assert_status 0
	assert_stdout "$from_log"
	run --separate-stderr sh -c 'evctl schema infer --type OrderPlaced - <events.ndjson'
	assert_status 0
	assert_stdout "$from_log"
}

@test "schema infer: several files add up, and the order of the events does not matter" {
	head -3 events.ndjson >one.ndjson
	tail -n +4 events.ndjson >two.ndjson
	tac events.ndjson >rev.ndjson
	run --separate-stderr evctl schema infer --type OrderPlaced two.ndjson one.ndjson
	assert_status 0
	both=$output
	run --separate-stderr evctl schema infer --type OrderPlaced rev.ndjson
	assert_status 0
	assert_stdout "$both"
	assert_stdout "$ORDER1"
}

@test "schema infer --enum-max: the largest enum, 0 for none" {
	run --separate-stderr sh -c 'evctl schema infer --type OrderPlaced --enum-max 1 events.ndjson | jq -c .properties.currency'
	assert_status 0
	assert_stdout '{"type":"string"}'
	run --separate-stderr sh -c 'evctl schema infer --type OrderPlaced --enum-max 0 events.ndjson | jq -c .properties.currency'
	assert_stdout '{"type":"string"}'
	run --separate-stderr sh -c 'evctl schema infer --type OrderPlaced --enum-max 2 events.ndjson | jq -c .properties.currency.enum'
	assert_stdout '["EUR","USD"]'
}

@test "schema infer --wrap --type: every line is the data of one event" {
	printf '%s\n' '{"n":1}' '{"n":2,"s":"x"}' '' '{"n":3.5}' >data.ndjson
	run --separate-stderr sh -c 'evctl schema infer --wrap --type Reading data.ndjson | jq -c "[.title, .description, .type, .properties, .required]"'
	assert_status 0
	assert_stderr ""
	assert_stdout '["Reading (schema 1)","inferred from 3 events","object",{"n":{"type":"number"},"s":{"type":"string"}},["n"]]'
}

@test "schema infer --wrap --type-from: the type from the line, --type picks one" {
	printf '%s\n' '{"kind":"a","n":1}' '{"kind":"b","s":"x"}' '{"kind":"a","n":2}' >data.ndjson
	run --separate-stderr sh -c 'evctl schema infer --wrap --type-from kind --type a data.ndjson | jq -c "[.title, .properties.n]"'
	assert_status 0
	assert_stderr ""
	assert_stdout '["a (schema 1)",{"type":"integer"}]'
}

# ------------------------------------------------------------ --out

@test "schema infer --out: DIR/TYPE/N.json for every type and version, paths on stdout" {
	run --separate-stderr evctl schema infer --out schemas events.ndjson v2.ndjson
	assert_status 0
	assert_stderr ""
	assert_stdout 'schemas/OrderPlaced/1.json
schemas/OrderPlaced/2.json
schemas/a%2Fb/1.json'
	[ "$(cat schemas/OrderPlaced/1.json)" = "$ORDER1" ]
	run jq -c '[.title, .properties.total.required]' schemas/OrderPlaced/2.json
	assert_stdout '["OrderPlaced (schema 2)",["amount"]]'
	run jq -c '[.title, .type, .items.type]' schemas/a%2Fb/1.json
	assert_stdout '["a/b (schema 1)","array",["object","integer"]]'
	# the same with the schema on stdout
	run --separate-stderr evctl schema infer --type a/b events.ndjson
	assert_status 0
	[ "$output" = "$(cat schemas/a%2Fb/1.json)" ]
}

@test "schema infer --out --type: only those types; an existing DIR gets new files" {
	mkdir schemas
	run --separate-stderr evctl schema infer --out schemas/ --type a/b events.ndjson
	assert_status 0
	assert_stdout 'schemas/a%2Fb/1.json'
	run --separate-stderr evctl schema infer --out schemas --type OrderPlaced --type Nope events.ndjson
	assert_status 65
	assert_stderr "evctl: no events of type 'Nope'"
	assert_stdout ""
	[ ! -e schemas/OrderPlaced ]
}

@test "schema infer --out refuses to replace a file: 73, naming it, nothing written" {
	mkdir -p schemas/OrderPlaced
	echo keep >schemas/OrderPlaced/2.json
	run --separate-stderr evctl schema infer --out schemas events.ndjson v2.ndjson
	assert_status 73
	assert_stderr "evctl: 'schemas/OrderPlaced/2.json' exists"
	assert_stdout ""
	[ "$(cat schemas/OrderPlaced/2.json)" = keep ]
	[ ! -e schemas/OrderPlaced/1.json ]
	[ ! -e schemas/a%2Fb ]
}

@test "schema infer --out: a DIR that cannot be made is an I/O error" {
	echo x >file
	run --separate-stderr evctl schema infer --out file events.ndjson
	assert_status 74
	assert_stderr "evctl: cannot create 'file': Not a directory"
	run --separate-stderr evctl schema infer --out no/such events.ndjson
	assert_status 74
	assert_stderr "evctl: cannot create 'no/such': No such file or directory"
}

# ------------------------------------------------------------ bad input

@test "schema infer: a line that is not JSON is bad input, FILE:LINE:COLUMN" {
	{ head -2 events.ndjson; echo '{"id":'; } >bad.ndjson
	run --separate-stderr evctl schema infer --type OrderPlaced bad.ndjson
	assert_status 65
	assert_stderr "evctl: bad.ndjson:3:7: unexpected end of input, expected value"
	assert_stdout ""
	run --separate-stderr sh -c 'evctl schema infer --type OrderPlaced <bad.ndjson'
	assert_status 65
	assert_stderr "evctl: stdin:3:7: unexpected end of input, expected value"
}

@test "schema infer: a line that is not an event names --wrap" {
	printf '%s\n' '{"user":"u1","n":1}' >data.ndjson
	run --separate-stderr evctl schema infer --type a data.ndjson
	assert_status 65
	assert_stderr "evctl: data.ndjson:1:2: unknown field 'user'
evctl: the line is not an event: to take each line as the data of one, use --wrap with --type or --type-from"
}

@test "schema infer --wrap --type-from: a line without the type is bad input" {
	printf '%s\n' '{"kind":"a"}' '{"other":1}' >data.ndjson
	run --separate-stderr evctl schema infer --wrap --type-from kind --out s data.ndjson
	assert_status 65
	assert_stderr "evctl: data.ndjson:2:1: --type-from 'kind': no value at that path"
	assert_stdout ""
	[ ! -e s ]
}

@test "schema infer: a missing input is 66" {
	run --separate-stderr evctl schema infer --type a nope.ndjson
	assert_status 66
	assert_stderr "evctl: cannot open 'nope.ndjson': No such file or directory"
	assert_stdout ""
}

@test "schema infer: a directory that is not a log is 66" {
	mkdir notalog
	run --separate-stderr evctl schema infer --type a notalog
	assert_status 66
	assert_stderr "evctl: 'notalog' is not an evlog log (no meta file)"
	assert_stdout ""
}

@test "schema infer: no events of the type, or none at all, is 65" {
	run --separate-stderr evctl schema infer --type Nope events.ndjson
	assert_status 65
	assert_stderr "evctl: no events of type 'Nope'"
	assert_stdout ""
	run --separate-stderr evctl schema infer --out s /dev/null
	assert_status 65
	assert_stderr "evctl: no events to infer a schema from"
	[ ! -e s ]
}

@test "schema infer: a damaged log is reported as the reader says" {
	evpub -c a.evlog <events.ndjson
	seg=$(ls a.evlog/*.seg | head -1)
	printf 'XXXXXXXX' | dd of="$seg" bs=1 seek=100 conv=notrunc 2>/dev/null
	run --separate-stderr evctl schema infer --type OrderPlaced a.evlog
	assert_status 65
	assert_stderr_contains "evctl: damaged data in 'a.evlog': segment 00000000000000000000, offset 0, byte 64: "
	assert_stderr_contains "
evctl: run 'evctl verify a.evlog' for details"
	assert_stdout ""
}

@test "schema infer: a write error on stdout is 74" {
	run --separate-stderr sh -c 'evctl schema infer --type a/b events.ndjson >/dev/full'
	assert_status 74
	assert_stderr "evctl: cannot write the schema: No space left on device"
}

# ------------------------------------------------------------ usage

@test "schema infer -h: the usage on stdout" {
	run --separate-stderr evctl schema infer -h
	assert_status 0
	assert_stderr ""
	assert_stdout_contains "$(printf '%s\n' "$INFER_USAGE" | head -2)"
	assert_stdout_contains "  --enum-max N "
	run --separate-stderr evctl schema infer --help
	assert_status 0
}

@test "schema infer: usage errors are 64, with the usage" {
	run --separate-stderr evctl schema infer events.ndjson
	assert_status 64
	assert_stderr "evctl: give one --type for its schema on stdout, or --out DIR for every type
$INFER_USAGE"
	run --separate-stderr evctl schema infer --type a --type b events.ndjson
	assert_status 64
	assert_stderr "evctl: the schemas of several types need --out DIR
$INFER_USAGE"
	run --separate-stderr evctl schema infer --type-from kind --out s events.ndjson
	assert_status 64
	assert_stderr "evctl: --type-from kind needs --wrap
$INFER_USAGE"
	run --separate-stderr evctl schema infer --wrap --out s events.ndjson
	assert_status 64
	assert_stderr "evctl: --wrap needs --type or --type-from
$INFER_USAGE"
	run --separate-stderr evctl schema infer --wrap --type a --type b --out s events.ndjson
	assert_status 64
	assert_stderr "evctl: --wrap takes one --type, the type of every line, or --type-from
$INFER_USAGE"
	run --separate-stderr evctl schema infer --enum-max 1001 --type a events.ndjson
	assert_status 64
	assert_stderr "evctl: --enum-max: '1001' is not a number from 0 to 1000
$INFER_USAGE"
	run --separate-stderr evctl schema infer --enum-max -1 --type a events.ndjson
	assert_status 64
	assert_stderr_contains "evctl: --enum-max: '-1' is not a number from 0 to 1000"
	run --separate-stderr evctl schema infer --type '' events.ndjson
	assert_status 64
	assert_stderr "evctl: --type: the type is empty
$INFER_USAGE"
	run --separate-stderr evctl schema infer --bogus
	assert_status 64
	assert_stderr "evctl: unrecognized option '--bogus'
$INFER_USAGE"
	[ ! -e s ]
}

@test "schema infer --wrap of a log is a usage error" {
	evpub -c a.evlog <events.ndjson
	run --separate-stderr evctl schema infer --wrap --type a a.evlog
	assert_status 64
	assert_stderr "evctl: --wrap reads NDJSON, and 'a.evlog' is a log
$INFER_USAGE"
}

@test "schema infer --type of a type with several schema versions, without --out, is 64" {
	run --separate-stderr evctl schema infer --type OrderPlaced events.ndjson v2.ndjson
	assert_status 64
	assert_stderr "evctl: type 'OrderPlaced' has events of 2 schema versions: use --out DIR for a file per version
$INFER_USAGE"
	assert_stdout ""
}

# ------------------------------------------------------------ real data

@test "schema infer --wrap --type-from type on the GH Archive hour: a schema per type" {
	need_data gharchive-minimized-2019-09-26-0.ndjson
	run --separate-stderr evctl schema infer --wrap --type-from type --out s "$DATA"
	assert_status 0
	assert_stderr ""
	[ "${#lines[@]}" -ge 10 ]
	run jq -c '[.title, .properties.type.enum, .properties.commits.type, .required]' s/push/1.json
	assert_stdout '["push (schema 1)",["push"],"integer",["actor","commits","dt","id","repo","type"]]'
}

# ------------------------------------------------------------ the invariant

@test "schema infer then schema check of the same events passes: edge cases, formats asserted" {
	cat >edge.ndjson <<'EOF2'
{"id":"1","type":"Bin","data_base64":"AAEC"}
{"id":"2","type":"Bin","data":{"z":1}}
{"id":"3","type":"NoData"}
{"id":"4","type":"NoData","data":{"x":1.0}}
{"id":"5","type":"Num","data":18446744073709551615}
{"id":"6","type":"Num","data":1e300}
{"id":"7","type":"Num","data":-9223372036854775808}
{"id":"8","type":"Dup","data":{"a":1,"a":"x"}}
{"id":"9","type":"Arr","data":[[],{},null,"2019-09-26",[1.5]]}
{"id":"10","type":"Fmt","data":{"t":"2019-09-26T00:00:00Z","u":"386ea3fa-e4c5-4244-a98f-053a7ba2b821","e":"a@b.example","w":"https://x.example/"}}
{"id":"11","type":"Fmt","schema":2,"data":"2019-09-26"}
EOF2
	run --separate-stderr evctl schema infer --out s edge.ndjson
	assert_status 0
	[ "${#lines[@]}" -eq 7 ]
	run jq -c '[.properties.t.format, .properties.u.format, .properties.e.format, .properties.w.format]' s/Fmt/1.json
	assert_stdout '["date-time","uuid","email","uri"]'
	run --separate-stderr evctl schema check --formats assert --schemas s edge.ndjson
	assert_status 0
	assert_stdout_contains "11 events checked against s: 11 valid, 0 invalid"
	evpub -c a.evlog <edge.ndjson
	run --separate-stderr evctl schema check --formats assert --schemas s a.evlog
	assert_status 0
	assert_stdout_contains "11 events checked against s: 11 valid, 0 invalid"
}

@test "schema infer then schema check of the same log passes, and a changed event fails" {
	make_log a.evlog 2000
	run --separate-stderr evctl schema infer --out s a.evlog
	assert_status 0
	run --separate-stderr evctl schema check --formats assert --schemas s a.evlog
	assert_status 0
	assert_stdout_contains "2,000 events checked against s: 2,000 valid, 0 invalid"
	# the check can fail: an event the log did not have
	type=$(evtail -n 1 a.evlog | jq -r .type)
	echo "{\"id\":\"new\",\"type\":\"$type\",\"data\":{\"unheard\":[]}}" >new.ndjson
	run --separate-stderr evctl schema check --schemas s new.ndjson
	assert_status 65
}

@test "schema infer --wrap --type-from type then schema check of the GH Archive hour passes" {
	need_data gharchive-minimized-2019-09-26-0.ndjson
	run --separate-stderr evctl schema infer --wrap --type-from type --out s "$DATA"
	assert_status 0
	evpub -c gh.evlog --wrap --type-from type <"$DATA"
	run --separate-stderr evctl schema check --formats assert --schemas s gh.evlog
	assert_status 0
	assert_stdout_contains "62,952 events checked against s: 62,952 valid, 0 invalid"
}

@test "schema infer --out then schema check passes at the largest schema version" {
	printf '%s\n' '{"id":"a","type":"V","schema":18446744073709551615,"data":{"n":1}}' \
		'{"id":"b","type":"V","schema":18446744073709551610,"data":{"n":2}}' >big.ndjson
	run --separate-stderr evctl schema infer --out s big.ndjson
	assert_status 0
	[ -f s/V/18446744073709551615.json ]
	[ -f s/V/18446744073709551610.json ]
	run --separate-stderr evctl schema check --schemas s big.ndjson
	assert_status 0
	assert_stdout_contains "2 events checked against s: 2 valid, 0 invalid"
}
