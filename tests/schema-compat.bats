#!/usr/bin/env bats
# evctl schema compat: two versions of a schema, the transitive check of a
# registry type directory, the human and JSON reports, --data against a
# log (with upcasting), and every usage error and exit status.  The rules
# themselves are tested both ways in tests/unit/test_schemacompat.c.
load helper

local_setup() {
	mkdir -p schemas/OrderPlaced
	cat >schemas/OrderPlaced/1.json <<'EOF'
{
  "type": "object",
  "properties": {
    "id": {"type": "string"},
    "amount": {"type": "number", "minimum": 0},
    "kind": {"enum": ["retail", "wholesale", "internal"]}
  },
  "required": ["id", "amount"]
}
EOF
	# 2: amount becomes an integer; a new optional field, no constraint
	cat >schemas/OrderPlaced/2.json <<'EOF'
{
  "type": "object",
  "properties": {
    "id": {"type": "string"},
    "amount": {"type": "number", "minimum": 0},
    "kind": {"enum": ["retail", "wholesale", "internal"]},
    "note": {}
  },
  "required": ["id", "amount"]
}
EOF
	# 3: a required field without a default, an enum value gone
	cat >schemas/OrderPlaced/3.json <<'EOF'
{
  "type": "object",
  "properties": {
    "id": {"type": "string"},
    "amount": {"type": "number", "minimum": 0},
    "kind": {"enum": ["retail", "wholesale"]},
    "note": {},
    "currency": {"type": "string"}
  },
  "required": ["id", "amount", "currency"]
}
EOF
}

# ------------------------------------------------------------ two files

@test "compat: identical schemas are compatible in every mode" {
	for m in backward forward full; do
		run --separate-stderr evctl schema compat --mode $m \
			schemas/OrderPlaced/1.json schemas/OrderPlaced/2.json
		assert_status 0
		assert_stdout "compatible ($m): schemas/OrderPlaced/1.json -> schemas/OrderPlaced/2.json"
		assert_stderr ""
	done
}

@test "compat: the default mode is backward, and each break is listed with its path and rule" {
	run --separate-stderr evctl schema compat schemas/OrderPlaced/2.json schemas/OrderPlaced/3.json
	assert_status 65
	assert_stdout "schemas/OrderPlaced/3.json#/required/2: required-added (backward): 'currency' is required by new, not by old, and has no default
schemas/OrderPlaced/3.json#/properties/kind/enum: enum-value-removed (backward): old allows \"internal\", new does not: must be equal to one of the allowed values
schemas/OrderPlaced/3.json#/properties/currency: property-added (backward): 'currency' is a property of new only, and old allows values of it (as an additional property) that new rejects
incompatible (backward): schemas/OrderPlaced/2.json -> schemas/OrderPlaced/3.json: 3 incompatibilities"
	assert_stderr ""
}

@test "compat: forward is the other way round" {
	run --separate-stderr evctl schema compat --mode forward \
		schemas/OrderPlaced/2.json schemas/OrderPlaced/3.json
	assert_status 0
	assert_stdout "compatible (forward): schemas/OrderPlaced/2.json -> schemas/OrderPlaced/3.json"
	run --separate-stderr evctl schema compat --mode forward \
		schemas/OrderPlaced/3.json schemas/OrderPlaced/2.json
	assert_status 65
	assert_stdout_contains "schemas/OrderPlaced/3.json#/required/2: required-removed (forward): 'currency' is required by old, not by new, and has no default"
	assert_stdout_contains "schemas/OrderPlaced/3.json#/properties/kind/enum: enum-value-added (forward): new allows \"internal\", old does not: must be equal to one of the allowed values"
	assert_stderr ""
}

@test "compat: full reports both directions" {
	echo '{"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false}' >old.json
	echo '{"type":"object","properties":{"a":{"type":["string","null"]},"b":{"type":"integer"}},"additionalProperties":false}' >new.json
	run --separate-stderr evctl schema compat --mode full old.json new.json
	assert_status 65
	assert_stdout "old.json#/properties/a/type: nullable-added (forward): new allows null, old does not
new.json#/properties/b: property-added (forward): 'b' is a property of new only, and old does not allow it (additionalProperties)
incompatible (full): old.json -> new.json: 2 incompatibilities"
	assert_stderr ""
	run --separate-stderr evctl schema compat --mode backward old.json new.json
	assert_status 0
}

@test "compat: a warning is printed and does not fail" {
	echo '{"type":"string"}' >old.json
	echo '{"type":"string","format":"date-time"}' >new.json
	run --separate-stderr evctl schema compat old.json new.json
	assert_status 0
	assert_stdout "warning: new.json#/format: format-added (backward): new has format 'date-time', old has none: it fails only with --formats assert
compatible (backward): old.json -> new.json: 1 warning"
	assert_stderr ""
}

@test "compat: --report json" {
	run --separate-stderr evctl schema compat --report json --mode full \
		schemas/OrderPlaced/2.json schemas/OrderPlaced/3.json
	assert_status 65
	assert_stderr ""
	[ "$(echo "$output" | jq -c '[.old, .new, .mode, .compatible]')" = \
		'["schemas/OrderPlaced/2.json","schemas/OrderPlaced/3.json","full",false]' ]
	[ "$(echo "$output" | jq -c '[.incompatibilities[] | [.rule, .direction, .schema, .path]]')" = \
		'[["required-added","backward","new","/required/2"],["enum-value-removed","backward","new","/properties/kind/enum"],["property-added","backward","new","/properties/currency"]]' ]
	[ "$(echo "$output" | jq -c '.warnings')" = '[]' ]
	[ "$(echo "$output" | jq -r '.incompatibilities[0].message')" = \
		"'currency' is required by new, not by old, and has no default" ]
	# one line of JSON
	[ "$(echo "$output" | wc -l)" -eq 1 ]
}

@test "compat: --report json of a compatible pair, with a warning" {
	echo '{"type":"string"}' >old.json
	echo '{"type":"string","format":"uuid"}' >new.json
	run --separate-stderr evctl schema compat --report json old.json new.json
	assert_status 0
	assert_stdout '{"old":"old.json","new":"new.json","mode":"backward","compatible":true,"incompatibilities":[],"warnings":[{"rule":"format-added","direction":"backward","schema":"new","path":"/format","message":"new has format '"'"'uuid'"'"', old has none: it fails only with --formats assert"}]}'
	assert_stderr ""
}

# ------------------------------------------------------------ transitive

@test "compat --transitive: a break in version 3 names 3.json and the earlier version" {
	run --separate-stderr evctl schema compat --transitive schemas/OrderPlaced/
	assert_status 65
	assert_stdout "compatible (backward): schemas/OrderPlaced/1.json -> schemas/OrderPlaced/2.json

schemas/OrderPlaced/3.json#/required/2: required-added (backward): 'currency' is required by new, not by old, and has no default
schemas/OrderPlaced/3.json#/properties/kind/enum: enum-value-removed (backward): old allows \"internal\", new does not: must be equal to one of the allowed values
schemas/OrderPlaced/3.json#/properties/currency: property-added (backward): 'currency' is a property of new only, and old allows values of it (as an additional property) that new rejects
incompatible (backward): schemas/OrderPlaced/1.json -> schemas/OrderPlaced/3.json: 3 incompatibilities

schemas/OrderPlaced/3.json#/required/2: required-added (backward): 'currency' is required by new, not by old, and has no default
schemas/OrderPlaced/3.json#/properties/kind/enum: enum-value-removed (backward): old allows \"internal\", new does not: must be equal to one of the allowed values
schemas/OrderPlaced/3.json#/properties/currency: property-added (backward): 'currency' is a property of new only, and old allows values of it (as an additional property) that new rejects
incompatible (backward): schemas/OrderPlaced/2.json -> schemas/OrderPlaced/3.json: 3 incompatibilities

incompatible (backward, transitive): schemas/OrderPlaced: 2 of 3 pairs"
	assert_stderr ""
}

@test "compat --transitive: a break against 1.json only (2 and 3 agree)" {
	mkdir -p s/T
	echo '{"type":["string","null"]}' >s/T/1.json
	echo '{"type":"string"}' >s/T/2.json
	echo '{"type":"string"}' >s/T/3.json
	run --separate-stderr evctl schema compat --transitive s/T
	assert_status 65
	assert_stdout_contains "s/T/2.json#/type: nullable-removed (backward): old allows null, new does not
incompatible (backward): s/T/1.json -> s/T/2.json: 1 incompatibility"
	assert_stdout_contains "s/T/3.json#/type: nullable-removed (backward): old allows null, new does not
incompatible (backward): s/T/1.json -> s/T/3.json: 1 incompatibility"
	assert_stdout_contains "compatible (backward): s/T/2.json -> s/T/3.json"
	assert_stdout_contains "incompatible (backward, transitive): s/T: 2 of 3 pairs"
	assert_stderr ""
	# forward is fine
	run --separate-stderr evctl schema compat --transitive --mode forward s/T
	assert_status 0
	assert_stdout_contains "compatible (forward, transitive): s/T: 3 versions"
}

@test "compat --transitive: versions in numeric order, one version, JSON" {
	mkdir -p s/T
	echo '{}' >s/T/1.json
	run --separate-stderr evctl schema compat --transitive s/T
	assert_status 0
	assert_stdout "compatible (backward, transitive): s/T: one version"
	echo '{}' >s/T/10.json
	echo '{}' >s/T/9.json
	run --separate-stderr evctl schema compat --transitive --report json s/T
	assert_status 0
	assert_stderr ""
	[ "$(echo "$output" | jq -c '[.dir, .mode, .transitive, .compatible]')" = '["s/T","backward",true,true]' ]
	[ "$(echo "$output" | jq -c '[.checks[] | [.old, .new]]')" = \
		'[["s/T/1.json","s/T/9.json"],["s/T/1.json","s/T/10.json"],["s/T/9.json","s/T/10.json"]]' ]
}

@test "compat --transitive --report json of a break" {
	run --separate-stderr evctl schema compat --transitive --report json schemas/OrderPlaced
	assert_status 65
	[ "$(echo "$output" | jq -c '.compatible')" = false ]
	[ "$(echo "$output" | jq -c '[.checks[] | .compatible]')" = '[true,false,false]' ]
	[ "$(echo "$output" | jq -r '.checks[2].incompatibilities[0].rule')" = required-added ]
}

@test "compat --transitive: a directory with a file that is not N.json" {
	mkdir -p s/T
	echo '{}' >s/T/1.json
	echo '{}' >s/T/v2.json
	run --separate-stderr evctl schema compat --transitive s/T
	assert_status 64
	assert_stdout ""
	assert_stderr "evctl: s/T/v2.json: not a version: schema files are named N.json, N from 1"
}

@test "compat --transitive: an empty or missing directory" {
	mkdir -p s/T
	run --separate-stderr evctl schema compat --transitive s/T
	assert_status 64
	assert_stdout ""
	assert_stderr "evctl: 's/T' has no schema versions (1.json, 2.json, ...)"
	run --separate-stderr evctl schema compat --transitive s/U
	assert_status 66
	assert_stdout ""
	assert_stderr "evctl: cannot open 's/U': No such file or directory"
}

# ------------------------------------------------------------ bad input

@test "compat: a missing schema file is exit 66" {
	run --separate-stderr evctl schema compat nope.json schemas/OrderPlaced/1.json
	assert_status 66
	assert_stdout ""
	assert_stderr "evctl: cannot open 'nope.json': No such file or directory"
	run --separate-stderr evctl schema compat schemas/OrderPlaced/1.json nope.json
	assert_status 66
	assert_stderr "evctl: cannot open 'nope.json': No such file or directory"
}

@test "compat: a schema that is not JSON is exit 64, with line and column" {
	printf '{\n  "type": "object",\n  "properties": {,}\n}\n' >bad.json
	run --separate-stderr evctl schema compat bad.json schemas/OrderPlaced/1.json
	assert_status 64
	assert_stdout ""
	assert_stderr "evctl: bad.json:3:18: expected string key in object"
	printf '{} {}' >two.json
	run --separate-stderr evctl schema compat schemas/OrderPlaced/1.json two.json
	assert_status 64
	assert_stderr "evctl: two.json:1:4: unexpected text after the JSON value"
	: >empty.json
	run --separate-stderr evctl schema compat empty.json empty.json
	assert_status 64
	assert_stderr "evctl: empty.json:1:1: expected a JSON value"
	echo '[1]' >arr.json
	run --separate-stderr evctl schema compat arr.json arr.json
	assert_status 64
	assert_stderr "evctl: arr.json: not a schema: a schema is a JSON object or a boolean"
	mkdir d.json
	run --separate-stderr evctl schema compat d.json arr.json
	assert_status 64
	assert_stderr "evctl: 'd.json' is a directory"
}

@test "compat: a schema that violates its metaschema, has a key twice or a bad regex, is exit 64" {
	echo '{"type":"object","properties":{"a":{"type":"strin"}}}' >meta.json
	run --separate-stderr evctl schema compat schemas/OrderPlaced/1.json meta.json
	assert_status 64
	assert_stdout ""
	assert_stderr "evctl: meta.json: /properties/a/type: must match a schema in anyOf (metaschema https://json-schema.org/draft/2020-12/meta/validation#/properties/type/anyOf)"
	echo '{"type":"string","type":"integer"}' >dup.json
	run --separate-stderr evctl schema compat dup.json schemas/OrderPlaced/1.json
	assert_status 64
	assert_stdout ""
	assert_stderr "evctl: dup.json: /: key 'type' twice"
	echo '{"type":"string","pattern":"(("}' >re.json
	run --separate-stderr evctl schema compat re.json schemas/OrderPlaced/1.json
	assert_status 64
	assert_stdout ""
	assert_stderr "evctl: re.json: /pattern: invalid regex '((': at offset 1: unterminated group"
}

@test "compat: a deeply nested schema is bad JSON, not a crash" {
	s='{}'
	for i in $(seq 100); do s="{\"properties\":{\"a\":$s}}"; done
	echo "$s" >deep.json
	run --separate-stderr evctl schema compat deep.json deep.json
	assert_status 64
	assert_stdout ""
	assert_stderr_contains "evctl: deep.json:1:"
}

@test "compat: a \$ref cycle with no progress is exit 64, as check says; a recursive schema ends" {
	echo '{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"$ref":"#/$defs/a"}},"$ref":"#/$defs/a"}' >cyc.json
	run --separate-stderr evctl schema compat cyc.json cyc.json
	assert_status 64
	assert_stdout ""
	assert_stderr "evctl: cyc.json: /\$defs/a: \$ref cycle with no progress"
	echo '{"$ref":"#"}' >self.json
	echo '{}' >any.json
	run --separate-stderr evctl schema compat self.json any.json
	assert_status 64
	assert_stdout ""
	assert_stderr "evctl: self.json: /: \$ref cycle with no progress"
	run --separate-stderr evctl schema compat --mode forward any.json self.json
	assert_status 64
	assert_stdout ""
	assert_stderr "evctl: self.json: /: \$ref cycle with no progress"
	mkdir -p reg/T
	cp any.json reg/T/1.json
	cp self.json reg/T/2.json
	run --separate-stderr evctl schema compat --transitive reg/T/
	assert_status 64
	assert_stdout ""
	assert_stderr "evctl: reg/T/2.json: /: \$ref cycle with no progress"
	echo '{"$defs":{"n":{"type":"object","properties":{"next":{"$ref":"#/$defs/n"},"v":{"type":"integer"}}}},"$ref":"#/$defs/n"}' >r1.json
	echo '{"$defs":{"n":{"type":"object","properties":{"next":{"$ref":"#/$defs/n"},"v":{"type":"number"}}}},"$ref":"#/$defs/n"}' >r2.json
	run --separate-stderr evctl schema compat --mode full r1.json r2.json
	assert_status 65
	assert_stdout "r1.json#/\$defs/n/properties/v/type: type-widened (forward): new allows non-integer numbers, old's type does not
incompatible (full): r1.json -> r2.json: 1 incompatibility"
}

@test "compat: a value added to an enum of 200,000 is backward compatible, and found forward" {
	{ printf '{"enum":['; seq -s, 0 199999 | tr -d '\n'; printf ']}\n'; } >big1.json
	{ printf '{"enum":['; seq -s, 0 200000 | tr -d '\n'; printf ']}\n'; } >big2.json
	run --separate-stderr evctl schema compat big1.json big2.json
	assert_status 0
	assert_stdout "compatible (backward): big1.json -> big2.json"
	assert_stderr ""
	run --separate-stderr evctl schema compat --mode forward big1.json big2.json
	assert_status 65
	assert_stdout "big1.json#/enum: enum-value-added (forward): new allows 200000, old does not: must be equal to one of the allowed values
incompatible (forward): big1.json -> big2.json: 1 incompatibility"
	assert_stderr ""
}

@test "compat: a oneOf whose branches may both match is one-of-overlap, exit 65; disjoint ones pass" {
	echo '{"type":"integer"}' >int.json
	echo '{"oneOf":[{"type":"integer"},{"minimum":0}]}' >overlap.json
	run --separate-stderr evctl schema compat int.json overlap.json
	assert_status 65
	assert_stdout "overlap.json#/oneOf: one-of-overlap (backward): a value old allows may match both branch 0 and branch 1 of new's oneOf, which needs exactly one
incompatible (backward): int.json -> overlap.json: 1 incompatibility"
	assert_stderr ""
	echo '{"oneOf":[{"type":"integer"},{"type":"string"}]}' >types.json
	run --separate-stderr evctl schema compat int.json types.json
	assert_status 0
	assert_stdout "compatible (backward): int.json -> types.json"
	assert_stderr ""
	echo '{"type":"object","properties":{"kind":{"const":"a"},"n":{"type":"integer"}},"required":["kind"]}' >a.json
	echo '{"type":"object","oneOf":[{"properties":{"kind":{"const":"a"}},"required":["kind"]},{"properties":{"kind":{"const":"b"}},"required":["kind"]}]}' >disc.json
	run --separate-stderr evctl schema compat a.json disc.json
	assert_status 0
	assert_stdout "compatible (backward): a.json -> disc.json"
	assert_stderr ""
}

@test "compat: a remote \$ref is not followed" {
	echo '{"$ref":"https://example.com/a.json"}' >a.json
	echo '{"$ref":"https://example.com/b.json"}' >b.json
	run --separate-stderr evctl schema compat a.json a.json
	assert_status 0
	assert_stdout "warning: a.json#: ref-not-followed (backward): 'https://example.com/a.json' is not followed: assumed the same in old and new
compatible (backward): a.json -> a.json: 1 warning"
	run --separate-stderr evctl schema compat a.json b.json
	assert_status 65
	assert_stdout "b.json#: ref-changed (backward): 'https://example.com/b.json' is not followed, and old does not have it at the same place
incompatible (backward): a.json -> b.json: 1 incompatibility"
}

# ------------------------------------------------------------ usage

@test "compat: usage errors are exit 64 with the usage on stderr" {
	run --separate-stderr evctl schema compat schemas/OrderPlaced/1.json
	assert_status 64
	assert_stdout ""
	assert_stderr_contains "evctl: expected two operands, OLD.json and NEW.json
Usage: evctl schema compat [--mode MODE]"
	assert_stderr_contains "Try 'evctl --help' for more information."
	run --separate-stderr evctl schema compat a b c
	assert_status 64
	assert_stderr_contains "evctl: expected two operands, OLD.json and NEW.json"
	run --separate-stderr evctl schema compat --mode sideways a b
	assert_status 64
	assert_stderr_contains "evctl: --mode: 'sideways' is not one of backward, forward, full"
	run --separate-stderr evctl schema compat --report junit a b
	assert_status 64
	assert_stderr_contains "evctl: --report: 'junit' is not one of human, json"
	run --separate-stderr evctl schema compat --transitive a b
	assert_status 64
	assert_stderr_contains "evctl: --transitive takes one operand, a DIR/TYPE/ directory"
	run --separate-stderr evctl schema compat --upcast up a b
	assert_status 64
	assert_stderr_contains "evctl: --upcast needs --data LOG"
	run --separate-stderr evctl schema compat --type T a b
	assert_status 64
	assert_stderr_contains "evctl: --type needs --data LOG"
	run --separate-stderr evctl schema compat --data L --examples 0 a b
	assert_status 64
	assert_stderr_contains "evctl: --examples: '0' is not a number from 1 to 1000"
	run --separate-stderr evctl schema compat --bogus a b
	assert_status 64
	assert_stderr_contains "unrecognized option '--bogus'"
	run --separate-stderr evctl schema compat --mode
	assert_status 64
	assert_stderr_contains "option '--mode' requires an argument"
}

@test "compat: --help prints the usage and options on stdout" {
	run --separate-stderr evctl schema compat --help
	assert_status 0
	assert_stderr ""
	assert_stdout_contains "Usage: evctl schema compat [--mode MODE] [--report FORMAT]"
	assert_stdout_contains "evctl schema compat --transitive [--mode MODE]"
	assert_stdout_contains "  --data LOG "
	assert_stdout_contains "  --examples N "
	assert_stdout_contains "See evctl(1)."
}

# ------------------------------------------------------------ --data

# A log of OrderPlaced events: schema 1 ones (no currency), schema 2 ones
# with one, and other types.
data_log() {
	cat >ev.ndjson <<'EOF'
{"id":"e1","type":"OrderPlaced","time":"2026-01-01T00:00:00Z","data":{"id":"a","amount":5,"kind":"retail"}}
{"id":"e2","type":"OrderPlaced","time":"2026-01-01T00:00:01Z","data":{"id":"b","amount":7,"kind":"internal"}}
{"id":"e3","type":"Other","time":"2026-01-01T00:00:02Z","data":{"x":1}}
{"id":"e4","type":"OrderPlaced","time":"2026-01-01T00:00:03Z","schema":2,"data":{"id":"c","amount":1,"currency":"EUR"}}
{"id":"e5","type":"OrderPlaced","time":"2026-01-01T00:00:04Z","data":{"id":"d","amount":-1}}
EOF
	evpub -c L <ev.ndjson
}

@test "compat --data: counts and the first examples of events that fail NEW" {
	data_log
	run --separate-stderr evctl schema compat --data L \
		schemas/OrderPlaced/2.json schemas/OrderPlaced/3.json
	assert_status 65
	assert_stderr ""
	assert_stdout_contains "incompatible (backward): schemas/OrderPlaced/2.json -> schemas/OrderPlaced/3.json: 3 incompatibilities
offset 0: /data: must have required property 'currency' (schemas/OrderPlaced/3.json#/required)
offset 1: /data/kind: must be equal to one of the allowed values (schemas/OrderPlaced/3.json#/properties/kind/enum)
offset 4: /data/amount: must be >= 0 (schemas/OrderPlaced/3.json#/properties/amount/minimum)
data: 4 events of type 'OrderPlaced' in L: 3 fail schemas/OrderPlaced/3.json"
}

@test "compat --data: compatible schemas with stored events that fail them" {
	data_log
	run --separate-stderr evctl schema compat --data L --examples 1 \
		schemas/OrderPlaced/1.json schemas/OrderPlaced/2.json
	assert_status 65
	assert_stderr ""
	assert_stdout "compatible (backward): schemas/OrderPlaced/1.json -> schemas/OrderPlaced/2.json
offset 4: /data/amount: must be >= 0 (schemas/OrderPlaced/2.json#/properties/amount/minimum)
data: 4 events of type 'OrderPlaced' in L: 1 fails schemas/OrderPlaced/2.json"
}

@test "compat --data: all valid, --type, and the JSON report" {
	data_log
	echo '{"type":"object"}' >any.json
	run --separate-stderr evctl schema compat --data L --type OrderPlaced any.json any.json
	assert_status 0
	assert_stderr ""
	assert_stdout "compatible (backward): any.json -> any.json
data: 4 events of type 'OrderPlaced' in L: all valid under any.json"
	run --separate-stderr evctl schema compat --data L --type Nothing any.json any.json
	assert_status 0
	assert_stderr ""
	assert_stdout "compatible (backward): any.json -> any.json
data: no events of type 'Nothing' in L"
	run --separate-stderr evctl schema compat --data L --type Other --report json any.json any.json
	assert_status 0
	[ "$(echo "$output" | jq -c '.data')" = '{"log":"L","type":"Other","schema":"any.json","events":1,"failed":0,"upcast_failed":0,"examples":[]}' ]
	run --separate-stderr evctl schema compat --data L --report json \
		schemas/OrderPlaced/2.json schemas/OrderPlaced/3.json
	assert_status 65
	[ "$(echo "$output" | jq -c '.data | [.type, .events, .failed]')" = '["OrderPlaced",4,3]' ]
	[ "$(echo "$output" | jq -c '.data.examples[0]')" = \
		'{"offset":0,"instance_path":"/data","message":"must have required property '"'"'currency'"'"' (schemas/OrderPlaced/3.json#/required)"}' ]
	[ "$(echo "$output" | jq -c '.compatible')" = false ]
}

@test "compat --data --upcast: events are upcast before they are validated" {
	data_log
	mkdir up
	cat >up/o.upcast <<'EOF'
type OrderPlaced
from 1
  default data.currency "USD"
EOF
	run --separate-stderr evctl schema compat --data L --upcast up \
		schemas/OrderPlaced/2.json schemas/OrderPlaced/3.json
	assert_status 65
	assert_stderr ""
	# only the "internal" kind and the negative amount remain
	assert_stdout_contains "offset 1: /data/kind: must be equal to one of the allowed values (schemas/OrderPlaced/3.json#/properties/kind/enum)
offset 4: /data/amount: must be >= 0 (schemas/OrderPlaced/3.json#/properties/amount/minimum)
data: 4 events of type 'OrderPlaced' in L: 2 fail schemas/OrderPlaced/3.json"
}

@test "compat --data: the type from a percent-encoded directory name" {
	mkdir -p s/a%2Fb
	echo '{"type":"object","required":["x"]}' >s/a%2Fb/1.json
	echo '{"id":"e1","type":"a/b","time":"2026-01-01T00:00:00Z","data":{"y":1}}' | evpub -c L
	run --separate-stderr evctl schema compat --data L s/a%2Fb/1.json s/a%2Fb/1.json
	assert_status 65
	assert_stdout_contains "data: 1 event of type 'a/b' in L: 1 fails s/a%2Fb/1.json"
	mkdir -p s/bad%zz
	echo '{}' >s/bad%zz/1.json
	run --separate-stderr evctl schema compat --data L s/bad%zz/1.json s/bad%zz/1.json
	assert_status 64
	assert_stdout ""
	assert_stderr_contains "does not decode as a type (%XX); give the events' type with --type TYPE"
}

@test "compat --data: a missing log or upcaster set is exit 66" {
	run --separate-stderr evctl schema compat --data nolog \
		schemas/OrderPlaced/1.json schemas/OrderPlaced/2.json
	assert_status 66
	assert_stdout ""
	assert_stderr_contains "nolog"
	data_log
	run --separate-stderr evctl schema compat --data L --upcast noup \
		schemas/OrderPlaced/1.json schemas/OrderPlaced/2.json
	assert_status 66
	assert_stdout ""
	assert_stderr_contains "noup"
}

@test "compat --data: an event that cannot be upcast fails, and says why" {
	{
		echo '{"id":"g1","type":"OrderPlaced","time":"2026-01-01T00:00:00Z","data":{"id":"a","amount":1}}'
		echo '{"id":"x1","type":"OrderPlaced","time":"2026-01-01T00:00:01Z","data":"oops"}'
	} | evpub -c L
	mkdir up
	cat >up/o.upcast <<'EOF'
type OrderPlaced
from 1
  default data.currency "USD"
EOF
	run --separate-stderr evctl schema compat --data L --upcast up \
		schemas/OrderPlaced/2.json schemas/OrderPlaced/3.json
	assert_status 65
	assert_stderr ""
	assert_stdout_contains "offset 1: cannot upcast: data is a string, not an object or array
data: 2 events of type 'OrderPlaced' in L: 1 fails schemas/OrderPlaced/3.json (1 could not be upcast)"
}

@test "compat --transitive --data: the events against the newest version" {
	data_log
	run --separate-stderr evctl schema compat --transitive --data L schemas/OrderPlaced
	assert_status 65
	assert_stdout_contains "data: 4 events of type 'OrderPlaced' in L: 3 fail schemas/OrderPlaced/3.json"
}
