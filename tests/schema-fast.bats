#!/usr/bin/env bats
# tests/schema-fast.bats - evctl schema check on its fast paths: an
# envelope checked from the record's fields (the time written only when
# _envelope.json looks at more than its type), and a log or NDJSON input
# of several chunks checked on worker threads, whose reports still list
# examples in input order.

load helper

local_setup() {
	export LC_ALL=C
}

# events of type T at the given times, one a line
events_at() {
	local t
	for t in "$@"; do
		printf '{"type":"T","time":"%s","meta":{"src":"web"},"data":{"n":1}}\n' "$t"
	done
}

@test "fast: an envelope that constrains the time with a pattern sees the time as text" {
	mkdir -p schemas/T
	echo '{"type":"object"}' >schemas/T/1.json
	cat >schemas/_envelope.json <<'EOF'
{"type": "object", "required": ["time"],
 "properties": {"time": {"type": "string", "pattern": "^2024-01-01T[0-9:.]+Z$"},
                "meta": {"type": "object", "properties": {"src": {"enum": ["web"]}}}}}
EOF
	events_at 2024-01-01T00:00:00.5Z 2025-06-01T00:00:00Z 2024-01-01T23:59:59Z \
		2024-01-02T00:00:00Z >ev.ndjson
	evctl init o.evlog
	evpub o.evlog <ev.ndjson
	run --separate-stderr evctl schema check --schemas schemas o.evlog
	assert_status 65
	assert_stderr ""
	assert_stdout "T: 4 events, 2 valid, 2 invalid
  2 events: must match pattern \"^2024-01-01T[0-9:.]+Z\$\" (schemas/_envelope.json#/properties/time/pattern)
    offset 1: /time
    offset 3: /time
4 events checked against schemas: 2 valid, 2 invalid"
	run --separate-stderr evctl schema check --schemas schemas ev.ndjson
	assert_status 65
	assert_stdout_contains "    ev.ndjson:2: /time"
	assert_stdout_contains "    ev.ndjson:4: /time"
	assert_stdout_contains "4 events checked against schemas: 2 valid, 2 invalid"
}

@test "fast: an envelope time of a type only, of a length, of a format asserted" {
	mkdir -p schemas/T
	echo '{"type":"object"}' >schemas/T/1.json
	events_at 2024-01-01T00:00:00Z 2024-03-01T12:00:00.123Z >ev.ndjson
	evctl init o.evlog
	evpub o.evlog <ev.ndjson
	echo '{"properties": {"time": {"type": "string"}}}' >schemas/_envelope.json
	run --separate-stderr evctl schema check --schemas schemas o.evlog
	assert_status 0
	assert_stdout_contains "2 events checked against schemas: 2 valid, 0 invalid"
	echo '{"properties": {"time": {"type": "integer"}}}' >schemas/_envelope.json
	run --separate-stderr evctl schema check --schemas schemas o.evlog
	assert_status 65
	assert_stdout "T: 2 events, 0 valid, 2 invalid
  2 events: must be integer (schemas/_envelope.json#/properties/time/type)
    offset 0: /time
    offset 1: /time
2 events checked against schemas: 0 valid, 2 invalid"
	# as evtail writes it: milliseconds, Z
	echo '{"properties": {"time": {"maxLength": 24, "pattern": "[.]000Z$"}}}' >schemas/_envelope.json
	run --separate-stderr evctl schema check --schemas schemas o.evlog
	assert_status 65
	assert_stdout "T: 2 events, 1 valid, 1 invalid
  1 event: must match pattern \"[.]000Z\$\" (schemas/_envelope.json#/properties/time/pattern)
    offset 1: /time
2 events checked against schemas: 1 valid, 1 invalid"
	echo '{"properties": {"time": {"maxLength": 23}}}' >schemas/_envelope.json
	run --separate-stderr evctl schema check --schemas schemas o.evlog
	assert_status 65
	assert_stdout_contains "  2 events: must NOT have more than 23 characters (schemas/_envelope.json#/properties/time/maxLength)"
	echo '{"properties": {"time": {"format": "date-time", "pattern": "Z$"}}}' >schemas/_envelope.json
	run --separate-stderr evctl schema check --schemas schemas --formats assert o.evlog
	assert_status 0
	assert_stdout_contains "2 events checked against schemas: 2 valid, 0 invalid"
}

@test "fast: envelopes the fast walk leaves to the full one give the same answers" {
	mkdir -p schemas/T
	echo '{"type":"object"}' >schemas/T/1.json
	events_at 2024-01-01T00:00:00Z 2024-01-02T00:00:00Z >ev.ndjson
	printf '%s\n' '{"type":"T","time":"2024-01-03T00:00:00Z","meta":{"src":"ios"},"data":{"n":1}}' >>ev.ndjson
	evctl init o.evlog
	evpub o.evlog <ev.ndjson
	# an applicator at the root, a ref, a pattern over property names
	cat >schemas/_envelope.json <<'EOF'
{"$defs": {"src": {"enum": ["web"]}},
 "allOf": [{"required": ["meta"]}],
 "properties": {"meta": {"properties": {"src": {"$ref": "#/$defs/src"}},
                         "propertyNames": {"pattern": "^[a-z]+$"}}}}
EOF
	run --separate-stderr evctl schema check --schemas schemas o.evlog
	assert_status 65
	assert_stdout "T: 3 events, 2 valid, 1 invalid
  1 event: must be equal to one of the allowed values (schemas/_envelope.json#/\$defs/src/enum)
    offset 2: /meta/src
3 events checked against schemas: 2 valid, 1 invalid"
	# the data seen by the envelope: the full walk, with it
	echo '{"properties": {"data": {"required": ["m"]}}}' >schemas/_envelope.json
	run --separate-stderr evctl schema check --schemas schemas o.evlog
	assert_status 65
	assert_stdout_contains "  3 events: must have required property 'm' (schemas/_envelope.json#/properties/data/required)"
	# no stream, no meta: fewer pairs; required ones missing
	echo '{"required": ["stream", "meta"], "maxProperties": 6}' >schemas/_envelope.json
	run --separate-stderr evctl schema check --schemas schemas o.evlog
	assert_status 65
	assert_stdout_contains "  3 events: must have required property 'stream' (schemas/_envelope.json#/required)"
	assert_stdout_contains "3 events checked against schemas: 0 valid, 3 invalid"
}

# A log of N events over several chunks of records: every 5th with a
# bad amount, every 7th with a bad source, every 11th of a schema
# version that has no file.
make_many() {
	local n=$1
	mkdir -p schemas/Pay
	cat >schemas/Pay/1.json <<'EOF'
{"type": "object", "required": ["amount"],
 "properties": {"amount": {"type": "integer", "minimum": 0}},
 "additionalProperties": false}
EOF
	cat >schemas/_envelope.json <<'EOF'
{"properties": {"meta": {"properties": {"source": {"enum": ["web", "ios"]}},
                         "required": ["source"]}}}
EOF
	awk -v n="$n" 'BEGIN {
		for (i = 0; i < n; i++) {
			amount = i % 5 == 3 ? -i : i
			src = i % 7 == 4 ? "fax" : "web"
			schema = i % 11 == 6 ? 9 : 1
			printf "{\"type\":\"Pay\",\"stream\":\"p-%d\",\"schema\":%d,\"meta\":{\"source\":\"%s\"},\"data\":{\"amount\":%d}}\n", i, schema, src, amount
		}
	}' >many.ndjson
}

# the numbers from 0 below N that are R modulo M, one a line, plus base
every() {
	awk -v n="$1" -v m="$2" -v r="$3" -v base="${4:-0}" \
		'BEGIN { for (i = 0; i < n; i++) if (i % m == r) print i + base }'
}

@test "fast: a log of many chunks reports every example in log order" {
	make_many 9000
	evctl init o.evlog
	evpub o.evlog <many.ndjson
	run --separate-stderr evctl schema check --schemas schemas --examples 1000 --report json o.evlog
	assert_status 65
	assert_stderr ""
	echo "$output" >report.json
	[ "$(jq -r '.events, .invalid' report.json | paste -sd' ')" = "9000 $(awk 'BEGIN { for (i = 0; i < 9000; i++) if (i % 5 == 3 || i % 7 == 4 || i % 11 == 6) c++; print c }')" ]
	jq -r '.types[0].errors[] | select(.keyword == "minimum") | .examples[].offset' report.json >got.min
	every 9000 5 3 | awk '$1 % 11 != 6' | head -n 1000 >want.min
	diff want.min got.min
	jq -r '.types[0].errors[] | select(.keyword == "enum") | .examples[].offset' report.json >got.enum
	every 9000 7 4 | head -n 1000 >want.enum
	diff want.enum got.enum
	jq -r '.types[0].errors[] | select(.keyword == "schema") | .examples[].offset' report.json >got.schema
	every 9000 11 6 | head -n 1000 >want.schema
	diff want.schema got.schema
	# the same, three at a time, as the human report has them
	run --separate-stderr evctl schema check --schemas schemas o.evlog
	assert_status 65
	assert_stdout_contains "  1,286 events: must be equal to one of the allowed values (schemas/_envelope.json#/properties/meta/properties/source/enum)
    offset 4: /meta/source
    offset 11: /meta/source
    offset 18: /meta/source
    ... and 1,283 more"
}

@test "fast: NDJSON of many chunks, lines that do not parse among them, keeps line order" {
	make_many 7000
	# lines 2501, 4100 and 6999 are not JSON
	awk 'NR == 2501 || NR == 4100 || NR == 6999 { print "{oops"; next } { print }' \
		many.ndjson >mixed.ndjson
	run --separate-stderr evctl schema check --schemas schemas --examples 1000 --report json mixed.ndjson
	assert_status 65
	echo "$output" >report.json
	jq -r '.types[] | select(.type == null) | .errors[].examples[].line' report.json | sort -n >got.bad
	printf '%s\n' 2501 4100 6999 >want.bad
	diff want.bad got.bad
	jq -r '.types[] | select(.type == "Pay") | .errors[] | select(.keyword == "minimum") | .examples[].line' report.json >got.min
	every 7000 5 3 1 | awk '($1 - 1) % 11 != 6 && $1 != 2501 && $1 != 4100 && $1 != 6999' |
		head -n 1000 >want.min
	diff want.min got.min
}
