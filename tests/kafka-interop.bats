#!/usr/bin/env bats
# Kafka interop with Debian's kcat and bad input (issue 14 sections 5
# and 6): only what tests/kafka.bats does not cover already.  Skips,
# saying why, without librdkafka-dev or kcat.
load helper
load kafka

setup_file() {
	kafka_start st:1 bin:1 bad1:1 bad2:1 js:1 ce1:1 ce2:1 ce3:1 ce4:1 canon:1
}

teardown_file() {
	kafka_stop
}

@test "evtail kafka: kcat's structured CloudEvents (content-type application/cloudevents+json) are events" {
	printf '{"specversion":"1.0","id":"s-1","source":"/shop","type":"com.shop.Made","time":"2025-01-10T09:20:00Z","subject":"order-1","data":{"a":1}}\n' |
		kc -P -t st -H content-type=application/cloudevents+json
	run --separate-stderr evtail "kafka://$KAFKA_BROKERS/st"
	assert_status 0
	assert_stderr ""
	assert_stdout '{"partition":0,"offset":0,"id":"s-1","type":"com.shop.Made","stream":"order-1","time":"2025-01-10T09:20:00.000Z","schema":1,"data":{"a":1},"meta":{"source":"/shop"}}'
}

@test "evtail kafka: kcat's binary values are data_base64; a record without a key has none" {
	printf '\377\376\000bin' | kc -P -t bin -k bk
	printf 'no key\n' | kc -P -t bin
	run --separate-stderr evtail "kafka://$KAFKA_BROKERS/bin"
	assert_status 0
	assert_stderr ""
	[ "$(jq -c '[.id, .stream, .key, .data, .data_base64, .meta.kafka.key]' <<<"$output")" = '["kafka:bin:0:0","bin","bk",null,"//4AYmlu","bk"]
["kafka:bin:0:1","bin",null,"no key",null,null]' ]
	# the bytes come back whole
	[ "$(head -n 1 <<<"$output" | jq -r .data_base64 | base64 -d | od -An -tx1 | tr -d ' \n')" = fffe0062696e ]
}

@test "evtail kafka: a structured or envelope value that is not JSON is a clear error (65)" {
	printf '{"broken\n' | kc -P -t bad1 -H content-type=application/cloudevents+json
	run --separate-stderr evtail "kafka://$KAFKA_BROKERS/bad1"
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: record bad1:0:0: not an event: unterminated string"
	printf '{"id":"x"\n' | kc -P -t bad2 -H content-type=application/vnd.evlog+json
	run --separate-stderr evtail "kafka://$KAFKA_BROKERS/bad2"
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: record bad2:0:0: not an event: unexpected end of input in object"
}

@test "evtail kafka: each missing CloudEvents attribute, and an unknown specversion, is a clear error (65)" {
	printf '{"x":1}\n' | kc -P -t ce1 -H ce_specversion=1.0 -H ce_type=T -H ce_source=/s
	printf '{"x":1}\n' | kc -P -t ce2 -H ce_specversion=1.0 -H ce_id=i -H ce_source=/s
	printf '{"x":1}\n' | kc -P -t ce3 -H ce_specversion=1.0 -H ce_id=i -H ce_type=T
	printf '{"x":1}\n' | kc -P -t ce4 -H ce_specversion=0.3 -H ce_id=i -H ce_type=T -H ce_source=/s
	local t want
	while IFS='|' read -r t want; do
		run --separate-stderr evtail "kafka://$KAFKA_BROKERS/$t"
		assert_status 65
		assert_stdout ""
		assert_stderr "evtail: record $t:0:0: $want"
	done <<'EOF2'
ce1|incomplete CloudEvents headers: no 'ce_id'
ce2|incomplete CloudEvents headers: no 'ce_type'
ce3|incomplete CloudEvents headers: no 'ce_source'
ce4|ce_specversion '0.3': only 1.0 is known
EOF2
}

@test "evpub kafka: kcat -J sees each header evpub wrote, and the key and partition evtail reports" {
	printf '{"id":"j1","type":"T","stream":"s","key":"kj","data":{"x":1},"meta":{"trace":"t-1"}}\n' |
		evpub "kafka://$KAFKA_BROKERS/js"
	run --separate-stderr kc -C -t js -o beginning -e -q -J
	assert_status 0
	local j=$output
	[ "$(jq -r .key <<<"$j")" = kj ]
	[ "$(jq -r .payload <<<"$j")" = '{"x":1}' ]
	[ "$(jq -c '[.headers | _nwise(2) | .[0]]' <<<"$j")" = '["ce_specversion","ce_id","ce_source","ce_type","ce_time","ce_subject","ce_partitionkey","ce_evlogmeta","content-type"]' ]
	run --separate-stderr evtail "kafka://$KAFKA_BROKERS/js"
	assert_status 0
	[ "$(jq -r '"\(.partition) \(.offset) \(.key)"' <<<"$output")" = "$(jq -r '"\(.partition) \(.offset) \(.key)"' <<<"$j")" ]
	[ "$(jq -c .meta <<<"$output")" = '{"trace":"t-1"}' ]
}

# evpub keeps a line's own text of data and meta when it is what the
# conversion of the parsed value writes, but for whitespace and the form
# of floats; an unusual escape, -0 or a long integer are converted: the
# same bytes either way, as the conversion wrote them before
@test "evpub kafka: values and ce_evlogmeta are the conversion's bytes, whatever the line's spacing, floats and escapes" {
	evpub "kafka://$KAFKA_BROKERS/canon" <<'EOF'
{"type":"t","stream":"s","data": { "a" : 1.50, "b":[ 1e2 , -0.0,0.1900, 1E-7, 2.5e+300 ] , "c":{}, "d":[] }}
{"type":"t","stream":"s","data":{"s":"x\/y\u00e9\n\"\\ \t\b\f\r","n":-0,"big":123456789012345678901,"neg":-9223372036854775808,"i":-12,"t":true,"u":null},"meta":{ "k" : 2.50 , "s":"é"}}
{"type":"t","stream":"s","data":	[ 1 , "two" , 3.0 ] ,"meta":{"k":1}}
{"type":"t","stream":"s","data":[0.1,0.30000000000000004,5e-324,9007199254740993.0,123456789.123456789,1e22,1e23,-1.0e0,1e-400,3.14159265358979323846264338327950288]}
{"type":"t","stream":"s","data":{"x":"\u0001\u001f","l":"abcdefghijklmnopqrstuvwxyz0123456789\"abcdefgh\\ijklmnop","e":"","q":"\""},"meta":{"b":1e-5,"a":[ ]}}
{"type":"t","stream":"s","data":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1.10]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}
{"type":"t","stream":"s","data":"just a string"}
EOF
	run --separate-stderr kc -C -t canon -o beginning -e -q -f '%s|%h\n'
	assert_status 0
	assert_stderr ""
	output=$(sed 's/|.*ce_evlogmeta=\(.*\),content-type=.*/|\1/; s/|ce_specversion=.*//' <<<"$output")
	assert_stdout "$(cat <<'EOF'
{"a":1.5,"b":[100.0,-0.0,0.19,1e-07,2.5e+300],"c":{},"d":[]}
{"s":"x/yé\n\"\\ \t\b\f\r","n":0,"big":1.2345678901234568e+20,"neg":-9223372036854775808,"i":-12,"t":true,"u":null}|{"k":2.5,"s":"é"}
[1,"two",3.0]|{"k":1}
[0.1,0.30000000000000004,5e-324,9007199254740992.0,123456789.12345679,1e+22,1e+23,-1.0,0.0,3.141592653589793]
{"x":"\u0001\u001f","l":"abcdefghijklmnopqrstuvwxyz0123456789\"abcdefgh\\ijklmnop","e":"","q":"\""}|{"b":0.00001,"a":[]}
[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1.1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
"just a string"
EOF
)"
}

@test "kafka: more malformed addresses are usage errors (64), before any connection" {
	local a want
	while IFS='|' read -r a want; do
		run --separate-stderr evtail "$a"
		assert_status 64
		assert_stdout ""
		assert_stderr "evtail: kafka address '$a': $want
$EVTAIL_USAGE"
	done <<'EOF'
kafka:///t|missing brokers (kafka://HOST:PORT[,HOST:PORT...]/TOPIC)
kafka://h:1,/t|empty broker in the list
kafka://:9/t|broker ':9': missing host
kafka://h:x/t|broker 'h:x': invalid port 'x' (1 to 65535)
kafka://h:1/a/b|topic 'a/b': invalid character '/' (letters, digits, '.', '_' and '-')
EOF
	run --separate-stderr evpub kafka://h:1, </dev/null
	assert_status 64
	assert_stderr_contains "evpub: kafka address 'kafka://h:1,': "
}

# ---------------------------------------------------------------- example

@test "examples/kafka/run.sh: the worked example runs on its own mock cluster" {
	run --separate-stderr sh "$TOP/examples/kafka/run.sh"
	assert_status 0
	assert_stderr ""
	assert_stdout_contains "$ evtail --from "
	[ "${lines[${#lines[@]} - 1]}" = "all 45 orders published, billed once each, and copied back to a log" ]
	run --separate-stderr sh "$TOP/examples/kafka/run.sh" a b
	assert_status 64
	assert_stderr "usage: run.sh [HOST:PORT[,HOST:PORT...]]"
}
