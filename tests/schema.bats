#!/usr/bin/env bats
# tests/schema.bats - evctl schema check and lint against a schema
# directory (evlog-schemas(5)): every message and exit status, each
# report format's shape, events from a log, NDJSON files and stdin, and
# a bad directory in each of the ways it can be bad.

load helper

local_setup() {
	export LC_ALL=C
}

# A registry: Order (versions 1 and 2, the amount by ref from Money),
# Money, and billing/Invoice (percent-encoded).
make_schemas() {
	mkdir -p schemas/Order schemas/Money schemas/billing%2FInvoice
	cat >schemas/Money/1.json <<'EOF'
{"$defs": {"amount": {"type": "number", "minimum": 0}}, "type": "object"}
EOF
	cat >schemas/Order/1.json <<'EOF'
{"type": "object", "required": ["amount"],
 "properties": {"amount": {"$ref": "../Money/1.json#/$defs/amount"}}}
EOF
	cat >schemas/Order/2.json <<'EOF'
{"$schema": "http://json-schema.org/draft-07/schema#",
 "type": "object", "required": ["amount", "currency"],
 "properties": {"amount": {"type": "number"},
                "currency": {"enum": ["EUR", "USD"]}}}
EOF
	cat >schemas/billing%2FInvoice/1.json <<'EOF'
{"type": "object", "properties": {"n": {"type": "string", "pattern": "^[a-z]+$"}}}
EOF
}

# Fixtures: lines 2, 4 and 6 are invalid, Ping has no schemas.
make_fixtures() {
	cat >fx.ndjson <<'EOF'
{"type":"Order","data":{"amount":1}}
{"type":"Order","data":{"amount":-1}}
{"type":"Order","schema":2,"data":{"amount":1,"currency":"EUR"}}
{"type":"Order","schema":2,"data":{"amount":1}}
{"type":"billing/Invoice","data":{"n":"abc"}}
{"type":"billing/Invoice","data":{"n":"ABC"}}
{"type":"Ping"}
EOF
}

FX_HUMAN="Order: 4 events, 2 valid, 2 invalid
  1 event: must be >= 0 (schemas/Money/1.json#/\$defs/amount/minimum)
    fx.ndjson:2: /data/amount
  1 event: must have required property 'currency' (schemas/Order/2.json#/required)
    fx.ndjson:4: /data
Ping: 1 event, no schemas
billing/Invoice: 2 events, 1 valid, 1 invalid
  1 event: must match pattern \"^[a-z]+\$\" (schemas/billing%2FInvoice/1.json#/properties/n/pattern)
    fx.ndjson:6: /data/n
7 events checked against schemas: 4 valid, 3 invalid (1 event of types without schemas)"

# ------------------------------------------------------------ check

@test "check: valid events exit 0 with the counts by type on stdout" {
	make_schemas
	printf '%s\n' '{"type":"Order","data":{"amount":1}}' \
		'{"type":"billing/Invoice","data":{"n":"x"}}' >ok.ndjson
	run --separate-stderr evctl schema check --schemas schemas ok.ndjson
	assert_status 0
	assert_stderr ""
	assert_stdout "Order: 1 event, 1 valid, 0 invalid
billing/Invoice: 1 event, 1 valid, 0 invalid
2 events checked against schemas: 2 valid, 0 invalid"
}

@test "check: invalid events of an NDJSON file, grouped by type and error, named by line" {
	make_schemas
	make_fixtures
	run --separate-stderr evctl schema check --schemas schemas fx.ndjson
	assert_status 65
	assert_stderr ""
	assert_stdout "$FX_HUMAN"
}

@test "check: stdin, as - and with no operand, is named stdin" {
	make_schemas
	make_fixtures
	run --separate-stderr evctl schema check --schemas schemas/ - <fx.ndjson
	assert_status 65
	assert_stderr ""
	assert_stdout "${FX_HUMAN//fx.ndjson/stdin}"
	run --separate-stderr evctl schema check --schemas schemas <fx.ndjson
	assert_status 65
	assert_stdout "${FX_HUMAN//fx.ndjson/stdin}"
}

@test "check: several NDJSON files, each line named by its file" {
	make_schemas
	make_fixtures
	head -n 3 fx.ndjson >a.ndjson
	tail -n 4 fx.ndjson >b.ndjson
	run --separate-stderr evctl schema check --schemas schemas a.ndjson b.ndjson
	assert_status 65
	assert_stderr ""
	assert_stdout_contains "    a.ndjson:2: /data/amount"
	assert_stdout_contains "    b.ndjson:1: /data"
	assert_stdout_contains "    b.ndjson:3: /data/n"
}

@test "check: a log, its invalid events named by offset; --type picks types by glob" {
	make_schemas
	make_fixtures
	evctl init o.evlog
	evpub o.evlog <fx.ndjson
	run --separate-stderr evctl schema check --schemas schemas o.evlog
	assert_status 65
	assert_stderr ""
	assert_stdout "$(sed -E 's/fx\.ndjson:([0-9]+)/offset \1/' <<<"$FX_HUMAN" |
		awk '{ if (match($0, /offset [0-9]+/)) { n = substr($0, RSTART + 7, RLENGTH - 7); sub(/offset [0-9]+/, "offset " n - 1) } print }')"
	run --separate-stderr evctl schema check --schemas schemas --type 'bill*' o.evlog
	assert_status 65
	assert_stdout "billing/Invoice: 2 events, 1 valid, 1 invalid
  1 event: must match pattern \"^[a-z]+\$\" (schemas/billing%2FInvoice/1.json#/properties/n/pattern)
    offset 5: /data/n
2 events checked against schemas: 1 valid, 1 invalid"
	run --separate-stderr evctl schema check --schemas schemas --type Ping --type 'Order' o.evlog
	assert_status 65
	assert_stdout_contains "5 events checked against schemas: 3 valid, 2 invalid"
	run --separate-stderr evctl schema check --schemas schemas --type Ping o.evlog
	assert_status 0
	assert_stdout "Ping: 1 event, no schemas
1 event checked against schemas: 1 valid, 0 invalid (1 event of types without schemas)"
}

@test "check: a line that is not an event envelope is invalid, with its line and column, and the rest is checked" {
	make_schemas
	printf '%s\n' '{"type":"Order","data":{"amount":1}}' 'not json' \
		'{"data":{}}' '{"type":"Order","data":{"amount":-1}}' >mixed.ndjson
	run --separate-stderr evctl schema check --schemas schemas mixed.ndjson
	assert_status 65
	assert_stderr ""
	assert_stdout "Order: 2 events, 1 valid, 1 invalid
  1 event: must be >= 0 (schemas/Money/1.json#/\$defs/amount/minimum)
    mixed.ndjson:4: /data/amount
(not an event): 2 events, 0 valid, 2 invalid
  1 event: expected '{': an event is a JSON object
    mixed.ndjson:2: column 1
  1 event: missing required field 'type'
    mixed.ndjson:3: column 1
4 events checked against schemas: 1 valid, 3 invalid"
}

@test "check: a type with schema files but none for the event's version is invalid, naming the missing file" {
	make_schemas
	echo '{"type":"Order","schema":3,"data":{"amount":1}}' >v3.ndjson
	run --separate-stderr evctl schema check --schemas schemas v3.ndjson
	assert_status 65
	assert_stderr ""
	assert_stdout "Order: 1 event, 0 valid, 1 invalid
  1 event: no schema file 'schemas/Order/3.json' for schema 3 of type 'Order' (schemas/Order/3.json)
    v3.ndjson:1: /schema
1 event checked against schemas: 0 valid, 1 invalid"
}

@test "check: --require-schemas makes a type without a directory invalid" {
	make_schemas
	printf '%s\n' '{"type":"Ping"}' '{"type":"a/b"}' >p.ndjson
	run --separate-stderr evctl schema check --schemas schemas p.ndjson
	assert_status 0
	run --separate-stderr evctl schema check --schemas schemas --require-schemas p.ndjson
	assert_status 65
	assert_stderr ""
	assert_stdout "Ping: 1 event, no schemas
  1 event: no schemas for type 'Ping' (no directory schemas/Ping) (schemas)
    p.ndjson:1: /type
a/b: 1 event, no schemas
  1 event: no schemas for type 'a/b' (no directory schemas/a%2Fb) (schemas)
    p.ndjson:2: /type
2 events checked against schemas: 0 valid, 2 invalid (2 events of types without schemas)"
}

@test "check: _envelope.json constrains the whole event, its errors beside the data's" {
	make_schemas
	cat >schemas/_envelope.json <<'EOF'
{"type": "object", "required": ["meta"],
 "properties": {"meta": {"required": ["correlationId"]},
                "time": {"type": "string", "format": "date-time"},
                "schema": {"const": 1}},
 "not": {"required": ["offset"]}}
EOF
	printf '%s\n' '{"type":"Order","data":{"amount":1},"meta":{"correlationId":"c"}}' \
		'{"type":"Order","data":{"amount":1},"meta":{"userId":"u"}}' \
		'{"type":"Order","data":{"amount":-1}}' >env.ndjson
	run --separate-stderr evctl schema check --schemas schemas env.ndjson
	assert_status 65
	assert_stderr ""
	assert_stdout "Order: 3 events, 1 valid, 2 invalid
  1 event: must be >= 0 (schemas/Money/1.json#/\$defs/amount/minimum)
    env.ndjson:3: /data/amount
  1 event: must have required property 'correlationId' (schemas/_envelope.json#/properties/meta/required)
    env.ndjson:2: /meta
  1 event: must have required property 'meta' (schemas/_envelope.json#/required)
    env.ndjson:3: (the event)
3 events checked against schemas: 1 valid, 2 invalid"
}

@test "check: an _envelope.json that can see data gets it; one that names only other fields does not need it" {
	mkdir -p s/T
	echo '{}' >s/T/1.json
	printf '%s\n' '{"type":"T","data":{"a":1},"meta":{"c":"x"}}' \
		'{"type":"T","meta":{"c":"x"}}' \
		'{"type":"T","data":{"b":1},"meta":{"c":"x"}}' >d.ndjson
	# data named by required, by properties, and seen by keywords over
	# the whole object: "ENVELOPE<TAB>the line it fails"
	while IFS='	' read -r env line; do
		echo "$env" >s/_envelope.json
		run --separate-stderr evctl schema check --schemas s d.ndjson
		assert_status 65
		assert_stderr ""
		assert_stdout_contains "T: 3 events, 2 valid, 1 invalid"
		assert_stdout_contains "d.ndjson:$line:"
	done <<'EOF'
{"required": ["data"]}	2
{"properties": {"data": {"required": ["a"]}}}	3
{"minProperties": 6}	2
{"$ref": "#/$defs/e", "$defs": {"e": {"required": ["data"]}}}	2
{"additionalProperties": {"type": "object", "required": ["a"]}, "properties": {"id": true, "type": true, "time": true, "schema": true, "meta": true}}	3
EOF
	# an envelope about meta only: valid, with data or without
	echo '{"type": "object", "required": ["meta"], "properties": {"meta": {"required": ["c"]}}}' >s/_envelope.json
	run --separate-stderr evctl schema check --schemas s d.ndjson
	assert_status 0
	assert_stderr ""
	assert_stdout_contains "T: 3 events, 3 valid, 0 invalid"
}

@test "check: binary data is valid only against a schema that accepts anything" {
	mkdir -p s/Blob s/Any
	echo '{"type": "object"}' >s/Blob/1.json
	echo '{"title": "anything", "description": "at all"}' >s/Any/1.json
	printf '%s\n' '{"type":"Blob","data_base64":"AAEC"}' \
		'{"type":"Any","data_base64":"AAEC"}' '{"type":"Blob"}' >bin.ndjson
	run --separate-stderr evctl schema check --schemas s bin.ndjson
	assert_status 65
	assert_stderr ""
	assert_stdout "Any: 1 event, 1 valid, 0 invalid
Blob: 2 events, 0 valid, 2 invalid
  1 event: data is binary (s/Blob/1.json#)
    bin.ndjson:1: /data
  1 event: must be object (s/Blob/1.json#/type)
    bin.ndjson:3: /data
3 events checked against s: 1 valid, 2 invalid"
}

@test "check: binary data appears in the envelope as data_base64" {
	mkdir -p s/Blob
	echo '{}' >s/Blob/1.json
	echo '{"properties": {"data_base64": {"maxLength": 4}, "data": false}}' >s/_envelope.json
	printf '%s\n' '{"type":"Blob","data_base64":"AAEC"}' \
		'{"type":"Blob","data_base64":"AAECAwQF"}' >bin.ndjson
	run --separate-stderr evctl schema check --schemas s bin.ndjson
	assert_status 65
	assert_stderr ""
	assert_stdout "Blob: 2 events, 1 valid, 1 invalid
  1 event: must NOT have more than 4 characters (s/_envelope.json#/properties/data_base64/maxLength)
    bin.ndjson:2: /data_base64
2 events checked against s: 1 valid, 1 invalid"
}

@test "check: --examples N keeps N examples of each error, and counts the rest" {
	make_schemas
	for i in 1 2 3 4 5; do echo '{"type":"Order","data":{"amount":-1}}'; done >neg.ndjson
	run --separate-stderr evctl schema check --schemas schemas neg.ndjson
	assert_status 65
	assert_stdout "Order: 5 events, 0 valid, 5 invalid
  5 events: must be >= 0 (schemas/Money/1.json#/\$defs/amount/minimum)
    neg.ndjson:1: /data/amount
    neg.ndjson:2: /data/amount
    neg.ndjson:3: /data/amount
    ... and 2 more
5 events checked against schemas: 0 valid, 5 invalid"
	run --separate-stderr evctl schema check --schemas schemas --examples 0 neg.ndjson
	assert_status 65
	assert_stdout "Order: 5 events, 0 valid, 5 invalid
  5 events: must be >= 0 (schemas/Money/1.json#/\$defs/amount/minimum)
    ... and 5 more
5 events checked against schemas: 0 valid, 5 invalid"
}

@test "check: --formats assert checks format, annotate (the default) does not" {
	mkdir -p s/U
	echo '{"properties": {"id": {"format": "uuid"}}}' >s/U/1.json
	echo '{"type":"U","data":{"id":"not-a-uuid"}}' >u.ndjson
	run --separate-stderr evctl schema check --schemas s u.ndjson
	assert_status 0
	run --separate-stderr evctl schema check --schemas s --formats annotate u.ndjson
	assert_status 0
	run --separate-stderr evctl schema check --schemas s --formats assert u.ndjson
	assert_status 65
	assert_stderr ""
	assert_stdout_contains "  1 event: must match format \"uuid\" (s/U/1.json#/properties/id/format)
    u.ndjson:1: /data/id"
}

@test "check: --ref-dir PREFIX=DIR serves refs that would need the network" {
	mkdir -p s/T remote/defs
	echo '{"$ref": "https://example.com/defs/n.json"}' >s/T/1.json
	echo '{"type": "integer"}' >remote/defs/n.json
	printf '%s\n' '{"type":"T","data":1}' '{"type":"T","data":"x"}' >t.ndjson
	run --separate-stderr evctl schema check --schemas s t.ndjson
	assert_status 64
	assert_stdout ""
	assert_stderr "evctl: s/T/1.json: /\$ref: unresolvable \$ref 'https://example.com/defs/n.json': not in the schema directory; map it with --ref-dir
evctl: bad schema directory 's'"
	run --separate-stderr evctl schema check --schemas s --ref-dir https://example.com/=remote t.ndjson
	assert_status 65
	assert_stderr ""
	assert_stdout_contains "  1 event: must be integer (remote/defs/n.json#/type)
    t.ndjson:2: /data"
	run --separate-stderr evctl schema lint --schemas s --ref-dir https://example.com/=remote
	assert_status 0
}

@test "check: an event 62 levels deep, a 100-level nested schema and a huge enum are checked" {
	mkdir -p s/Deep
	python3 -c '
import json
d = 0
for i in range(62): d = {"a": d}
print(json.dumps({"type": "Deep", "data": d}))' >deep.ndjson
	python3 -c '
import json
s = {"type": "object"}
for i in range(100): s = {"properties": {"a": s}}
print(json.dumps(s))' >s/Deep/1.json
	run --separate-stderr evctl schema check --schemas s deep.ndjson
	assert_status 0
	assert_stderr ""
	python3 -c 'import json; print(json.dumps({"enum": list(range(100000))}))' >s/Deep/1.json
	run --separate-stderr evctl schema check --schemas s deep.ndjson
	assert_status 65
	assert_stdout_contains "must be equal to one of the allowed values (s/Deep/1.json#/enum)"
}

# ------------------------------------------------------------ reports

@test "check --report json: one document with counts, types, errors and examples" {
	make_schemas
	make_fixtures
	run --separate-stderr evctl schema check --schemas schemas --report json fx.ndjson
	assert_status 65
	assert_stderr ""
	[ "${#lines[@]}" -eq 1 ]
	jq -e '.schemas == "schemas" and .events == 7 and .valid == 4 and
		.invalid == 3 and .unchecked == 1' <<<"$output"
	[ "$(jq -c '[.types[] | [.type, .schemas, .events, .valid, .invalid]]' <<<"$output")" = \
		'[["Order",true,4,2,2],["Ping",false,1,1,0],["billing/Invoice",true,2,1,1]]' ]
	[ "$(jq -c '.types[0].errors[0]' <<<"$output")" = \
		'{"message":"must be >= 0","schemaPath":"schemas/Money/1.json#/$defs/amount/minimum","keyword":"minimum","events":1,"examples":[{"file":"fx.ndjson","line":2,"instancePath":"/data/amount"}]}' ]
	[ "$(jq -r 'keys_unsorted | join(",")' <<<"$output")" = \
		schemas,events,valid,invalid,unchecked,types ]
	[ "$(jq -r '.types[0] | keys_unsorted | join(",")' <<<"$output")" = \
		type,schemas,events,valid,invalid,errors,otherErrors ]
	# from a log: offsets
	evctl init o.evlog
	evpub o.evlog <fx.ndjson
	run --separate-stderr evctl schema check --schemas schemas --report json o.evlog
	assert_status 65
	[ "$(jq -c '.types[0].errors[0].examples' <<<"$output")" = \
		'[{"offset":1,"instancePath":"/data/amount"}]' ]
}

@test "check --report junit: well-formed JUnit XML, a test case per type, failures naming lines" {
	make_schemas
	make_fixtures
	# a type name that needs escaping in XML
	mkdir -p 'schemas/a&<b>"c'"'"
	echo '{"type": "integer"}' >'schemas/a&<b>"c'"'"/1.json
	echo '{"type":"a&<b>\"c'"'"'","data":"x"}' >>fx.ndjson
	run --separate-stderr evctl schema check --schemas schemas --report junit fx.ndjson
	assert_status 65
	assert_stderr ""
	echo "$output" >report.xml
	python3 - report.xml <<'EOF'
import sys
import xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "testsuites", root.tag
suites = root.findall("testsuite")
assert len(suites) == 1, suites
s = suites[0]
cases = {c.get("name"): c for c in s.findall("testcase")}
assert sorted(cases) == ["Order", "Ping", "a&<b>\"c'", "billing/Invoice"], sorted(cases)
assert s.get("tests") == "4" and s.get("failures") == "3" and s.get("skipped") == "1", s.attrib
f = cases["Order"].find("failure")
assert f.get("message") == "2 of 4 events invalid", f.attrib
assert "fx.ndjson:2: /data/amount" in f.text and "fx.ndjson:4: /data" in f.text, f.text
assert cases["Ping"].find("skipped") is not None
assert cases["billing/Invoice"].find("failure") is not None
assert "must be integer" in cases["a&<b>\"c'"].find("failure").text
print("ok")
EOF
}

@test "check --report tap: TAP 13, a test point per type, errors in YAML, SKIP without schemas" {
	make_schemas
	make_fixtures
	run --separate-stderr evctl schema check --schemas schemas --report tap fx.ndjson
	assert_status 65
	assert_stderr ""
	assert_stdout "TAP version 13
1..3
not ok 1 - Order: 2 of 4 events invalid
  ---
  errors:
    - message: \"must be >= 0\"
      schemaPath: \"schemas/Money/1.json#/\$defs/amount/minimum\"
      events: 1
      examples:
        - \"fx.ndjson:2: /data/amount\"
    - message: \"must have required property 'currency'\"
      schemaPath: \"schemas/Order/2.json#/required\"
      events: 1
      examples:
        - \"fx.ndjson:4: /data\"
  ...
ok 2 - Ping: 1 event # SKIP no schemas
not ok 3 - billing/Invoice: 1 of 2 events invalid
  ---
  errors:
    - message: \"must match pattern \\\"^[a-z]+\$\\\"\"
      schemaPath: \"schemas/billing%2FInvoice/1.json#/properties/n/pattern\"
      events: 1
      examples:
        - \"fx.ndjson:6: /data/n\"
  ..."
	# the YAML blocks parse
	python3 -c 'import sys' && python3 - <<EOF || skip "python3 has no yaml module"
import yaml
EOF
	echo "$output" | awk '/^  ---$/ { on = 1; next } /^  \.\.\.$/ { on = 0; print "---"; next } on' >blocks.yaml
	python3 -c 'import sys, yaml; docs = [d for d in yaml.safe_load_all(open("blocks.yaml")) if d]; assert len(docs) == 2, docs; assert docs[1]["errors"][0]["message"] == "must match pattern \"^[a-z]+$\"", docs'
}

@test "check: an empty input is valid, in every format" {
	make_schemas
	run --separate-stderr evctl schema check --schemas schemas </dev/null
	assert_status 0
	assert_stdout "0 events checked against schemas: 0 valid, 0 invalid"
	run --separate-stderr evctl schema check --schemas schemas --report tap </dev/null
	assert_status 0
	assert_stdout "TAP version 13
1..0"
	run --separate-stderr evctl schema check --schemas schemas --report junit </dev/null
	assert_status 0
	echo "$output" | python3 -c 'import sys, xml.etree.ElementTree as ET; ET.parse(sys.stdin)'
}

# ------------------------------------------------------------ bad directories

# bad_dir FILE CONTENT: a registry whose one type T has FILE (relative to
# the type's directory) holding CONTENT
bad_dir() {
	mkdir -p b/T
	printf '%s\n' "$2" >"b/T/$1"
	echo '{"type":"T","data":1}' >t.ndjson
}

# check_bad MESSAGE: check exits 64 with MESSAGE on stderr, lint 65 with
# it on stdout
check_bad() {
	run --separate-stderr evctl schema check --schemas b t.ndjson
	assert_status 64
	assert_stdout ""
	assert_stderr "evctl: $1
evctl: bad schema directory 'b'"
	run --separate-stderr evctl schema lint --schemas b
	assert_status 65
	assert_stderr ""
	assert_stdout_contains "$1
b: "
	assert_stdout_contains " 1 problem"
}

@test "bad directory: a schema that is not JSON" {
	bad_dir 1.json '{"type":'
	check_bad "b/T/1.json:2:1: invalid JSON: unexpected end of input, expected value"
}

@test "bad directory: a schema that violates its metaschema" {
	bad_dir 1.json '{"minLength": -1}'
	check_bad "b/T/1.json: /minLength: must be >= 0 (metaschema https://json-schema.org/draft/2020-12/meta/validation#/\$defs/nonNegativeInteger/minimum)"
	bad_dir 1.json '{"$schema": "http://json-schema.org/draft-07/schema#", "required": "x"}'
	run --separate-stderr evctl schema check --schemas b t.ndjson
	assert_status 64
	assert_stderr_contains "evctl: b/T/1.json: /required: must be array (metaschema http://json-schema.org/draft-07/schema#"
}

@test "bad directory: an unresolvable ref, and one outside the directory" {
	bad_dir 1.json '{"$ref": "../Nope/1.json"}'
	check_bad "b/T/1.json: /\$ref: unresolvable \$ref 'file://$PWD/b/Nope/1.json': not in the schema directory; map it with --ref-dir"
	bad_dir 1.json '{"$ref": "../../outside.json"}'
	echo '{}' >outside.json
	check_bad "b/T/1.json: /\$ref: unresolvable \$ref 'file://$PWD/outside.json': not in the schema directory; map it with --ref-dir"
}

@test "a ref into a percent-encoded directory writes its % as %25" {
	mkdir -p s/a%2Fb s/T
	echo '{"$defs": {"n": {"type": "integer"}}}' >s/a%2Fb/1.json
	echo '{"$ref": "../a%252Fb/1.json#/$defs/n"}' >s/T/1.json
	printf '%s\n' '{"type":"T","data":1}' '{"type":"T","data":"x"}' >t.ndjson
	run --separate-stderr evctl schema check --schemas s t.ndjson
	assert_status 65
	assert_stderr ""
	assert_stdout_contains "  1 event: must be integer (s/a%2Fb/1.json#/\$defs/n/type)
    t.ndjson:2: /data"
	echo '{"$ref": "../a%2Fb/1.json#/$defs/n"}' >s/T/1.json
	run --separate-stderr evctl schema lint --schemas s
	assert_status 65
	assert_stdout_contains "s/T/1.json: /\$ref: unresolvable \$ref 'file://$PWD/s/a%2Fb/1.json': not in the schema directory; map it with --ref-dir"
}

@test "bad directory: a ref cycle with no progress" {
	bad_dir 1.json '{"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}'
	check_bad "b/T/1.json: /\$defs/a: \$ref cycle with no progress"
}

@test "bad directory: a key twice in one object of a schema" {
	bad_dir 1.json '{"properties": {"n": {"type": "array", "type": "integer"}}}'
	check_bad "b/T/1.json: /properties/n: duplicate key 'type' (a key may appear once in an object)"
	bad_dir 1.json '{"patternProperties": {"^x": true}, "patternProperties": {"^x": false}}'
	check_bad "b/T/1.json: /: duplicate key 'patternProperties' (a key may appear once in an object)"
}

@test "bad directory: a regex PCRE2 rejects" {
	bad_dir 1.json '{"pattern": "(["}'
	check_bad "b/T/1.json: /pattern: invalid regex '([': at offset 1: unterminated character class"
}

@test "bad directory: a schema under a wrong file name" {
	bad_dir 01.json '{}'
	echo '{}' >b/T/1.json
	check_bad "b/T/01.json: not a schema file: names are N.json, N the schema version (1, 2, ...)"
	rm b/T/01.json
	echo '{}' >b/T/2.schema.json
	check_bad "b/T/2.schema.json: not a schema file: names are N.json, N the schema version (1, 2, ...)"
}

@test "bad directory: a stray file, and a type directory without schema files" {
	bad_dir 1.json '{}'
	echo notes >b/README.md
	check_bad "b/README.md: a stray file: a schema directory holds TYPE/N.json and _envelope.json"
	rm b/README.md
	mkdir b/Empty
	check_bad "b/Empty: a type directory with no schema files (N.json)"
}

@test "bad directory: directory names that do not decode" {
	bad_dir 1.json '{}'
	mkdir -p b/50%zz
	echo '{}' >b/50%zz/1.json
	check_bad "b/50%zz: the directory name is not a percent-encoded type: '%' is not followed by two hex digits"
	rm -r b/50%zz
	mkdir -p b/_T
	echo '{}' >b/_T/1.json
	check_bad "b/_T: the directory name is not a percent-encoded type: a leading '.' or '_' must be percent-encoded (%2E, %5F)"
	rm -r b/_T
	mkdir -p b/%FF
	echo '{}' >b/%FF/1.json
	check_bad "b/%FF: the directory name is not a percent-encoded type: it decodes to a name that is not valid UTF-8"
	rm -r b/%FF
	# two spellings of one type
	mkdir -p b/a%2fb b/a%2Fb
	echo '{}' >b/a%2fb/1.json
	echo '{}' >b/a%2Fb/1.json
	check_bad "b/a%2fb: a second directory for type 'a/b' (the other is b/a%2Fb)"
}

@test "a percent-encoded directory decodes, lowercase hex too, and a leading . or _ is a type once encoded" {
	mkdir -p s/billing%2FInvoice s/%5Finternal s/%2Ehidden s/pct%25x
	for d in s/*; do echo '{"type": "integer"}' >"$d/1.json"; done
	printf '%s\n' '{"type":"billing/Invoice","data":"x"}' '{"type":"_internal","data":"x"}' \
		'{"type":".hidden","data":"x"}' '{"type":"pct%x","data":"x"}' >p.ndjson
	run --separate-stderr evctl schema check --schemas s --report json p.ndjson
	assert_status 65
	[ "$(jq -r '.types[] | "\(.type) \(.invalid)"' <<<"$output")" = ".hidden 1
_internal 1
billing/Invoice 1
pct%x 1" ]
	[ "$(jq -r '.types[].errors[0].schemaPath' <<<"$output" | sort | tr '\n' ' ')" = \
		"s/%2Ehidden/1.json#/type s/%5Finternal/1.json#/type s/billing%2FInvoice/1.json#/type s/pct%25x/1.json#/type " ]
	# lowercase hex decodes too
	mv s/billing%2FInvoice s/billing%2fInvoice
	run --separate-stderr evctl schema check --schemas s --type 'billing*' p.ndjson
	assert_status 65
	assert_stdout_contains "  1 event: must be integer (s/billing%2fInvoice/1.json#/type)"
}

@test "bad directory: every problem is reported at once, and lint counts them" {
	bad_dir 1.json '{"type":'
	echo '{"pattern": "("}' >b/T/2.json
	echo x >b/stray
	run --separate-stderr evctl schema check --schemas b t.ndjson
	assert_status 64
	assert_stdout ""
	assert_stderr "evctl: b/stray: a stray file: a schema directory holds TYPE/N.json and _envelope.json
evctl: b/T/1.json:2:1: invalid JSON: unexpected end of input, expected value
evctl: b/T/2.json: /pattern: invalid regex '(': at offset 0: unterminated group
evctl: bad schema directory 'b'"
	run --separate-stderr evctl schema lint --schemas b
	assert_status 65
	assert_stderr ""
	assert_stdout "b/stray: a stray file: a schema directory holds TYPE/N.json and _envelope.json
b/T/1.json:2:1: invalid JSON: unexpected end of input, expected value
b/T/2.json: /pattern: invalid regex '(': at offset 0: unterminated group
b: 1 type, 2 schema files, 3 problems"
}

# ------------------------------------------------------------ lint

@test "lint: a clean directory exits 0 with a summary" {
	make_schemas
	echo '{"required": ["meta"]}' >schemas/_envelope.json
	run --separate-stderr evctl schema lint --schemas schemas
	assert_status 0
	assert_stderr ""
	assert_stdout "schemas: 3 types, 5 schema files, no problems"
	run --separate-stderr evctl schema lint --schemas schemas --report json
	assert_status 0
	assert_stdout '{"schemas":"schemas","types":3,"files":5,"problems":[]}'
}

@test "lint: versions run from 1 without gaps; a gap is named by its missing file" {
	make_schemas
	mv schemas/Order/2.json schemas/Order/4.json
	mv schemas/Money/1.json schemas/Money/2.json
	sed -i 's|Money/1.json|Money/2.json|' schemas/Order/1.json
	run --separate-stderr evctl schema lint --schemas schemas
	assert_status 65
	assert_stderr ""
	assert_stdout "schemas/Money/1.json: missing: versions run from 1 without gaps
schemas/Order/2.json: missing: versions run from 1 without gaps
schemas/Order/3.json: missing: versions run from 1 without gaps
schemas: 3 types, 4 schema files, 3 problems"
	run --separate-stderr evctl schema lint --schemas schemas --report json
	assert_status 65
	[ "$(jq -c '.problems[0]' <<<"$output")" = \
		'{"file":"schemas/Money","message":"schemas/Money/1.json: missing: versions run from 1 without gaps"}' ]
	[ "$(jq '.problems | length' <<<"$output")" -eq 3 ]
	# check takes the directory: gaps are for lint
	echo '{"type":"Order","schema":4,"data":{"amount":1,"currency":"USD"}}' >o.ndjson
	run --separate-stderr evctl schema check --schemas schemas o.ndjson
	assert_status 0
}

# ------------------------------------------------------------ exits

@test "missing input or schema directory exits 66" {
	make_schemas
	run --separate-stderr evctl schema check --schemas nope x.ndjson
	assert_status 66
	assert_stdout ""
	assert_stderr "evctl: no schema directory 'nope'"
	run --separate-stderr evctl schema lint --schemas nope
	assert_status 66
	assert_stdout ""
	assert_stderr "evctl: no schema directory 'nope'"
	run --separate-stderr evctl schema check --schemas schemas nofile.ndjson
	assert_status 66
	assert_stdout ""
	assert_stderr "evctl: cannot open 'nofile.ndjson': No such file or directory"
	mkdir notalog
	run --separate-stderr evctl schema check --schemas schemas notalog
	assert_status 66
	assert_stdout ""
	assert_stderr_contains "notalog"
}

@test "usage errors exit 64 with the command's usage" {
	make_schemas
	local u="Usage: evctl schema check --schemas DIR [--examples N] [--formats MODE]"
	run --separate-stderr evctl schema check x.ndjson
	assert_status 64
	assert_stdout ""
	[ "${stderr%%$'\n'*}" = "evctl: --schemas DIR is required" ]
	assert_stderr_contains "$u"
	run --separate-stderr evctl schema check --schemas schemas --report xml x.ndjson
	assert_status 64
	[ "${stderr%%$'\n'*}" = "evctl: --report: 'xml' is not one of human, json, junit, tap" ]
	run --separate-stderr evctl schema check --schemas schemas --formats strict x.ndjson
	assert_status 64
	[ "${stderr%%$'\n'*}" = "evctl: --formats: 'strict' is neither annotate nor assert" ]
	run --separate-stderr evctl schema check --schemas schemas --examples x x.ndjson
	assert_status 64
	[ "${stderr%%$'\n'*}" = "evctl: --examples: 'x' is not a number from 0 to 1000" ]
	evctl init o.evlog
	touch x.ndjson
	run --separate-stderr evctl schema check --schemas schemas o.evlog x.ndjson
	assert_status 64
	[ "${stderr%%$'\n'*}" = "evctl: a log must be the only operand: check one log, or NDJSON files" ]
	run --separate-stderr evctl schema lint --schemas schemas extra
	assert_status 64
	[ "${stderr%%$'\n'*}" = "evctl: unexpected operand 'extra'" ]
	assert_stderr_contains "Usage: evctl schema lint --schemas DIR"
	run --separate-stderr evctl schema lint --schemas schemas --report tap
	assert_status 64
	[ "${stderr%%$'\n'*}" = "evctl: --report: 'tap' is neither human nor json" ]
	run --separate-stderr evctl schema
	assert_status 64
	[ "${stderr%%$'\n'*}" = "evctl: schema: missing command" ]
	assert_stderr_contains "Usage: evctl schema check"
	run --separate-stderr evctl schema frobnicate
	assert_status 64
	[ "${stderr%%$'\n'*}" = "evctl: schema: unknown command 'frobnicate'" ]
}

@test "evctl schema --help and each command's --help go to stdout and exit 0" {
	run --separate-stderr evctl schema --help
	assert_status 0
	assert_stderr ""
	assert_stdout_contains "Commands:
  check     validate events against a schema directory"
	run --separate-stderr evctl schema check --help
	assert_status 0
	assert_stderr ""
	assert_stdout_contains "  --report FORMAT         human (the default), json, junit or tap"
	run --separate-stderr evctl schema lint -h
	assert_status 0
	assert_stdout_contains "  --report FORMAT         human (the default) or json"
}

@test "a report that cannot be written exits 74" {
	[ -w /dev/full ] || skip "no /dev/full"
	make_schemas
	make_fixtures
	run --separate-stderr sh -c 'evctl schema check --schemas schemas fx.ndjson >/dev/full'
	assert_status 74
	assert_stderr "evctl: cannot write the report: No space left on device"
	run --separate-stderr sh -c 'evctl schema lint --schemas schemas >/dev/full'
	assert_status 74
}

@test "schema lint compiles the directory as check does: a ref to another file's \$id resolves" {
	mkdir -p s/A s/C
	echo '{"$id":"urn:x","type":"string"}' >s/A/1.json
	echo '{"$ref":"urn:x"}' >s/C/1.json
	run --separate-stderr evctl schema lint --schemas s
	assert_status 0
	assert_stderr ""
	assert_stdout "s: 2 types, 2 schema files, no problems"
	echo '{"type":"C","data":"x"}' >one.ndjson
	run --separate-stderr evctl schema check --schemas s one.ndjson
	assert_status 0
}

@test "schema lint refuses what check refuses: a second file with the same \$id" {
	mkdir -p s/A s/C
	echo '{"$id":"urn:x","type":"string"}' >s/A/1.json
	echo '{"$ref":"urn:x"}' >s/C/1.json
	cp s/A/1.json s/A/2.json
	echo '{"type":"C","data":"x"}' >one.ndjson
	run --separate-stderr evctl schema check --schemas s one.ndjson
	assert_status 64
	run --separate-stderr evctl schema lint --schemas s
	assert_status 65
	# the message is the validator's
	[[ ${lines[0]} == "s/A/2.json: /: '\$id' 'urn:x' is also the "*" of 's/A/1.json'" ]]
	assert_stdout_line 1 "s: 2 types, 3 schema files, 1 problem"
	run --separate-stderr evctl schema lint --report json --schemas s
	assert_status 65
	[ "$(jq -r '.problems[0].file' <<<"$output")" = s/A/2.json ]
}

@test "schema lint: every file's error, each the file's own, in one run" {
	mkdir -p s/A s/C s/D
	echo '{"$id":"urn:x","type":"string"}' >s/A/1.json
	echo '{"$ref":"urn:y"}' >s/C/1.json
	echo '{"$ref":"../D/1.json"}' >s/C/2.json
	echo '{"pattern":"("}' >s/D/1.json
	echo '{"$ref":"#/q"}' >s/D/2.json
	run --separate-stderr evctl schema lint --schemas s
	assert_status 65
	assert_stdout_contains "s/D/1.json: /pattern: invalid regex '('"
	assert_stdout_contains "s/C/1.json: /\$ref: unresolvable \$ref 'urn:y'"
	assert_stdout_contains "s/C/2.json: /\$ref: "
	assert_stdout_contains "s/D/2.json: /\$ref: unresolvable \$ref"
	assert_stdout_contains "s: 3 types, 5 schema files, 4 problems"
}

@test "a usage error of evctl schema SUB names that command's help" {
	run --separate-stderr evctl schema check x.ndjson
	assert_status 64
	assert_stderr_line -1 "Try 'evctl schema check --help' for more information."
	run --separate-stderr evctl schema lint --bogus
	assert_status 64
	assert_stderr_line -1 "Try 'evctl schema lint --help' for more information."
	run --separate-stderr evctl schema frobnicate
	assert_status 64
	assert_stderr_line -1 "Try 'evctl schema --help' for more information."
	run --separate-stderr evctl schema
	assert_status 64
	assert_stderr_line -1 "Try 'evctl schema --help' for more information."
}

@test "evctl schema --help lists every exit status of its commands, 73 of infer too" {
	run --separate-stderr evctl schema --help
	assert_status 0
	assert_stdout_contains "Exit status: 0 ok, 64 usage, 65 invalid events, problems or
incompatible schemas, 66 missing input, 73 a file infer would write
exists, 74 I/O error."
}

@test "schema lint and check --schemas FILE: not a directory, exit 66" {
	echo '{}' >f.json
	run --separate-stderr evctl schema lint --schemas f.json
	assert_status 66
	assert_stdout ""
	assert_stderr "evctl: schema directory 'f.json' is not a directory"
	echo '{"type":"T"}' >x.ndjson
	run --separate-stderr evctl schema check --schemas f.json x.ndjson
	assert_status 66
	assert_stderr "evctl: schema directory 'f.json' is not a directory"
}

@test "schema lint: a bad file that others load by relative ref is said once, under its own name" {
	mkdir -p s/B s/X
	echo '{"$ref": "../X/1.json"}' >s/B/1.json
	echo '{"$ref": "#/zz"}' >s/X/1.json
	run --separate-stderr evctl schema lint --schemas s
	assert_status 65
	assert_stdout "s/X/1.json: /\$ref: unresolvable \$ref 'file://$T/s/X/1.json#/zz': no such location
s: 2 types, 2 schema files, 1 problem"
}

# ev TYPE DATA: one event of TYPE with DATA
ev() {
	printf '{"type":"%s","stream":"s","data":%s}\n' "$1" "$2"
}

@test "an \$id that takes another file's URI is a bad directory, whichever loads first" {
	P=$(pwd -P)
	mkdir -p s/A
	echo '{"$id":"2.json","type":"object"}' >s/A/1.json
	echo '{"type":"object","required":["x"]}' >s/A/2.json
	run --separate-stderr sh -c 'printf "%s\n" "{\"type\":\"A\",\"stream\":\"s\",\"schema\":2,\"data\":{}}" | evctl schema check --schemas s -'
	assert_status 64
	assert_stdout ""
	assert_stderr "evctl: s/A/2.json: its URI 'file://$P/s/A/2.json' is also the '\$id' of 's/A/1.json'
evctl: bad schema directory 's'"
	# the other order: the file loads first
	mv s/A/1.json s/A/3.json
	echo '{"type":"object"}' >s/A/1.json
	run --separate-stderr sh -c 'printf "%s\n" "{\"type\":\"A\",\"stream\":\"s\",\"data\":{}}" | evctl schema check --schemas s -'
	assert_status 64
	assert_stderr "evctl: s/A/3.json: /: '\$id' 'file://$P/s/A/2.json' is also the URI of 's/A/2.json'
evctl: bad schema directory 's'"
	# across types
	rm s/A/3.json
	mkdir s/B
	echo '{"$id":"../A/2.json"}' >s/B/1.json
	run --separate-stderr sh -c 'printf "%s\n" "{\"type\":\"A\",\"stream\":\"s\",\"data\":{}}" | evctl schema check --schemas s -'
	assert_status 64
	assert_stderr_contains "is also the URI of 's/A/2.json'"
}

@test "a regex that hits its match limit makes the event invalid, with the pattern's schema path" {
	mkdir -p s/A
	echo '{"type":"object","patternProperties":{"(.*a){20}":{"type":"integer"}}}' >s/A/1.json
	ev A '{"aaaaaaaaaaaaaaaaaaaa":"not an integer"}' >in.ndjson
	run --separate-stderr evctl schema check --schemas s in.ndjson
	assert_status 65
	assert_stderr ""
	assert_stdout "A: 1 event, 0 valid, 1 invalid
  1 event: regex match limit exceeded for pattern '(.*a){20}' (s/A/1.json#/patternProperties/(.*a){20})
    in.ndjson:1: /data/aaaaaaaaaaaaaaaaaaaa
1 event checked against s: 0 valid, 1 invalid"
	echo '{"not":{"pattern":"(.*a){20}"}}' >s/A/1.json
	ev A '"aaaaaaaaaaaaaaaaaaaa"' >in.ndjson
	run --separate-stderr evctl schema check --schemas s in.ndjson
	assert_status 65
	assert_stdout_contains "  1 event: regex match limit exceeded for pattern '(.*a){20}' (s/A/1.json#/not/pattern)"
}

@test "a schema that branches exponentially: lint and check reject it, or the event takes the step budget" {
	mkdir -p s/A
	python3 -c "import json;n=40;d={'d%d'%i:{'allOf':[{'\$ref':'#/\$defs/d%d'%(i+1)}]*2} for i in range(n)};d['d%d'%n]={'type':'integer'};print(json.dumps({'\$defs':d,'\$ref':'#/\$defs/d0'}))" >s/A/1.json
	ev A 1 >in.ndjson
	run --separate-stderr timeout 60 evctl schema check --schemas s in.ndjson
	assert_status 64
	assert_stderr "evctl: s/A/1.json: /\$defs/d18: the schema branches exponentially: validating one value would take more than 10000000 steps
evctl: bad schema directory 's'"
	run --separate-stderr timeout 60 evctl schema lint --schemas s
	assert_status 65
	assert_stdout_contains "s/A/1.json: /\$defs/d18: the schema branches exponentially"
	# through the instance's nesting: the budget
	echo '{"$defs":{"a":{"type":"array","anyOf":[{"items":{"$ref":"#/$defs/a"}},{"items":{"$ref":"#/$defs/a"}}]}},"$ref":"#/$defs/a"}' >s/A/1.json
	ev A '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]' >in.ndjson
	run --separate-stderr timeout 60 evctl schema check --schemas s in.ndjson
	assert_status 65
	assert_stdout_contains "  1 event: validation exceeded its budget of 10000000 steps in 's/A/1.json': the schema branches exponentially"
}

@test "a chain of 1000 \$refs is a bad schema, found by lint, in linear time" {
	mkdir -p s/A
	python3 -c "import json;n=20000;d={'d%d'%i:{'\$ref':'#/\$defs/d%d'%(i+1)} for i in range(n)};d['d%d'%n]={'type':'integer'};print(json.dumps({'\$defs':d,'\$ref':'#/\$defs/d0'}))" >s/A/1.json
	ev A 1 >in.ndjson
	run --separate-stderr timeout 20 evctl schema check --schemas s in.ndjson
	assert_status 64
	assert_stderr "evctl: s/A/1.json: /\$defs/d19499: references nest deeper than 500 levels (a chain of \$ref or allOf/anyOf/oneOf/not/if)
evctl: bad schema directory 's'"
	run --separate-stderr timeout 20 evctl schema lint --schemas s
	assert_status 65
	assert_stdout_contains "s/A/1.json: /\$defs/d19499: references nest deeper than 500 levels"
}

@test "a \$ref to a FIFO or a directory is a bad schema, not a hang" {
	P=$(pwd -P)
	mkdir -p s/A s/B
	echo '{}' >s/B/1.json
	mkfifo s/B/f
	echo '{"$ref":"../B/f"}' >s/A/1.json
	ev A 1 >in.ndjson
	run --separate-stderr timeout 20 evctl schema check --schemas s in.ndjson
	assert_status 64
	assert_stderr_contains "evctl: s/A/1.json: /\$ref: '$P/s/B/f' is not a regular file (a FIFO)"
	run --separate-stderr timeout 20 evctl schema lint --schemas s
	assert_status 65
	assert_stdout_contains "s/A/1.json: /\$ref: '$P/s/B/f' is not a regular file (a FIFO)"
	rm s/B/f
	echo '{"$ref":"../B/"}' >s/A/1.json
	run --separate-stderr timeout 20 evctl schema check --schemas s in.ndjson
	assert_status 64
	assert_stderr "evctl: s/A/1.json: /\$ref: '$P/s/B' is not a regular file (a directory)
evctl: bad schema directory 's'"
}

@test "a schema nested deeper than 512 levels says that limit" {
	mkdir -p s/A
	python3 -c "print('{\"const\":' + '['*512 + ']'*512 + '}')" >s/A/1.json
	run --separate-stderr evctl schema lint --schemas s
	assert_status 65
	assert_stdout "s/A/1.json:1:521: invalid JSON: nesting deeper than 512 levels
s: 1 type, 1 schema file, 1 problem"
}

@test "an unresolvable urn: ref says that no schema has the id, not to map it to a file" {
	mkdir -p s/C
	echo '{"$ref":"urn:x"}' >s/C/1.json
	run --separate-stderr evctl schema lint --schemas s
	assert_status 65
	assert_stderr ""
	assert_stdout_contains "s/C/1.json: /\$ref: unresolvable \$ref 'urn:x': no schema has this \$id"
}
