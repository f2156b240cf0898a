#!/usr/bin/env bats
# evtail --where: the filter language (evtail(1) "Filter expressions"):
# logic, every operator, the comparison rules, agreement with jq, and
# every error with its column, caret and exit status 64.
load helper

USAGE=$EVTAIL_USAGE

usage_err() {
	printf '%s\n%s' "$1" "$USAGE"
}

fixture() {
	cat >w.ndjson <<'EOF'
{"id":"e0","type":"OrderPlaced","stream":"order-1","time":"2025-01-10T09:00:00Z","data":{"amount":1500,"city":"Paris","tags":["gift","eu"],"zip":"01234","paid":true,"note":null,"shipTo":{"city":"Paris"}},"meta":{"userId":"u-1"}}
{"id":"e1","type":"OrderPlaced","stream":"order-2","time":"2025-01-10T10:00:00Z","data":{"amount":25,"city":"paris","tags":["eu",3],"zip":1234,"paid":false}}
{"id":"e2","type":"OrderShipped","stream":"order-1","time":"2025-01-11T09:00:00Z","data":{"amount":1500.5,"city":"München","tags":[],"commits":3}}
{"id":"e3","type":"PaymentFailed","stream":"pay-1","time":"2025-01-12T09:00:00Z","data":{"amount":-7,"reason":"card declined: 05","commits":7}}
{"id":"e4","type":"Ping","time":"2025-01-12T10:00:00Z"}
EOF
	evpub -c w.evlog <w.ndjson
}

# the ids of the events EXPR keeps, on one line
ids() {
	run --separate-stderr evtail --template '{id}' --where "$1" w.evlog
	assert_status 0
	assert_stderr ""
	output=$(tr '\n' ' ' <<<"$output")
	output=${output% }
}

# EXPR keeps exactly these ids
keeps() {
	local expr=$1
	shift
	ids "$expr"
	[ "$output" = "$*" ] || {
		echo "--where '$expr' kept '$output', not '$*'" >&2
		return 1
	}
}

@test "where: and, or, not and parentheses; and binds tighter than or" {
	fixture
	keeps 'data.amount > 100 and data.amount < 1500.5' e0
	keeps 'data.amount < 0 or data.amount > 1500' e2 e3
	keeps 'not data.amount exists' e4
	keeps 'not (data.amount > 100)' e1 e3 e4
	keeps 'type == Ping or type == OrderShipped and data.amount > 2000' e4
	keeps '(type == Ping or type == OrderShipped) and data.amount > 1000' e2
	keeps 'not not type == Ping' e4
	keeps '((data.commits >= 3))and(data.commits<5)' e2
	# the line of the report that printed nothing before
	keeps 'data.commits > 1 and data.commits < 5' e2
}

@test "where: == != < <= > >= compare numbers as numbers" {
	fixture
	keeps 'data.amount == 1500' e0
	keeps 'data.amount == 1500.0' e0
	keeps 'data.amount >= 1500' e0 e2
	keeps 'data.amount < -6.5' e3
	keeps 'data.amount <= 25' e1 e3
	keeps 'data.amount > 1e3' e0 e2
	# a missing value is null, as in jq: not equal, and not ordered
	keeps 'data.amount != 1500' e1 e2 e3 e4
	keeps 'data.commits < 100' e2 e3
}

@test "where: a quoted or bare-word literal compares as a string" {
	fixture
	keeps 'data.city == Paris' e0
	keeps 'data.shipTo.city == Paris' e0
	keeps "data.city == 'paris'" e1
	keeps 'data.city == "München"' e2
	keeps 'data.city > P' e0 e1
	# a string is never equal to a number, whichever looks like which
	keeps 'data.zip == "01234"' e0
	keeps 'data.zip == 01234' e0
	keeps 'data.zip == 1234' e1
	keeps 'data.zip == "1234"'
	keeps 'data.amount == "1500"'
	# the strings of the envelope are strings, whatever the literal
	keeps 'type == "Ping"' e4
	keeps 'stream == order-1' e0 e2
	keeps "data.reason == 'card declined: 05'" e3
	keeps 'data.reason == "card \"declined\": 05"'
	keeps 'data.paid == true' e0
	keeps 'data.paid == false' e1
	keeps 'data.paid == "true"'
}

@test "where: == null and != null, and exists" {
	fixture
	keeps 'data.note == null' e0 e1 e2 e3 e4
	keeps 'data.paid == null' e2 e3 e4
	keeps 'data.note != null'
	keeps 'data.note exists' e0
	keeps 'data.paid != null' e0 e1
	keeps 'meta exists' e0
	keeps 'meta.userId == u-1' e0
}

@test "where: in [v, ...]" {
	fixture
	keeps 'type in [OrderShipped, Ping]' e2 e4
	keeps 'data.amount in [25, -7, 99]' e1 e3
	keeps 'data.city in ["Paris", "München"]' e0 e2
	keeps 'data.amount in []'
	keeps 'data.paid in [null, true]' e0 e2 e3 e4
	keeps 'time in [2025-01-12T10:00:00Z, "2025-01-10T09:00:00Z"]' e0 e4
}

@test "where: =~ /regex/ with PCRE2, and its flags" {
	fixture
	keeps 'data.city =~ /^P/' e0
	keeps 'data.city =~ /^p/i' e0 e1
	keeps 'data.city =~ /ü/' e2
	keeps 'data.city =~ /\u00fc/' e2
	keeps 'data.reason =~ /declined: \d+$/' e3
	keeps 'type =~ /^Order(Placed|Shipped)$/' e0 e1 e2
	keeps 'stream =~ /-1$/' e0 e2 e3
	keeps 'data.amount =~ /1500/'
	keeps 'time =~ /^2025-01-12T/' e3 e4
	keeps 'data.reason =~ /a\/b/'
	keeps 'not data.city =~ /^P/' e1 e2 e3 e4
}

@test "where: like a glob, and contains a substring or an element" {
	fixture
	keeps 'type like "Order*"' e0 e1 e2
	keeps 'type like Order*' e0 e1 e2
	keeps 'data.city like "?aris"' e0 e1
	keeps 'data.city like "[Pp]aris"' e0 e1
	keeps 'data.reason contains "declined"' e3
	keeps 'data.reason contains DECLINED'
	keeps 'data.tags contains eu' e0 e1
	keeps 'data.tags contains gift' e0
	keeps 'data.tags contains 3' e1
	keeps 'data.tags contains "3"'
	keeps 'time contains "2025-01-11"' e2
}

@test "where: JSON arrays and objects equal values stored the same" {
	fixture
	keeps 'data.tags == ["gift", "eu"]' e0
	keeps 'data.tags == ["eu","gift"]'
	keeps 'data.tags == []' e2
	keeps 'data.tags != ["eu", 3]' e0 e2 e3 e4
	keeps 'data.shipTo == {"city": "Paris"}' e0
	keeps 'data.tags in [[], ["eu", 3]]' e1 e2
	bad 'data.tags == ["eu",' "column 20: not a JSON array: unexpected end of input, expected value" \
		'                   ^'
}

@test "where: time compares as a time" {
	fixture
	keeps 'time >= 2025-01-11 and time < "2025-01-12T10:00:00Z"' e2 e3
	keeps 'time == 2025-01-10T10:00:00Z' e1
	keeps 'time > 2025-01-12T09:00:00Z or time < 2025-01-10T09:00:01Z' e0 e4
}

@test "where: a type test in an 'or' does not drop the other events early" {
	fixture
	keeps 'type == Ping or data.amount < 0' e3 e4
	keeps 'not type == Ping and data.commits exists' e2 e3
	# repeated --where: all must hold
	run --separate-stderr evtail --template '{id}' --where 'type like Order*' --where 'data.amount > 100' w.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout $'e0\ne2'
}

@test "where: three clauses and a regex agree with jq select" {
	make_log g.evlog 600
	run --separate-stderr evtail --template '{id}' \
		--where 'type == OrderPlaced and data.amount > 200 and data.items.0.sku =~ /[0-4]$/' g.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "$(jq -r 'select(.type == "OrderPlaced" and .data.amount > 200 and (.data.items[0].sku | test("[0-4]$"))) | .id' gen.ndjson)"
	[ "${#lines[@]}" -gt 5 ]
	run --separate-stderr evtail --template '{id}' \
		--where 'not (type in [OrderPlaced, OrderShipped] or data.amount >= 50)' g.evlog
	assert_status 0
	assert_stdout "$(jq -r 'select((.type == "OrderPlaced" or .type == "OrderShipped" or .data.amount >= 50) | not) | .id' gen.ndjson)"
	[ "${#lines[@]}" -gt 5 ]
}

# EXPR fails with exit 64, this message, and the expression shown with a
# caret under CARET (the line as printed)
bad() {
	run --separate-stderr evtail --where "$1" nolog
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evtail: --where: $2
  $1
  $3")"
}

@test "where: a path that is not the envelope's, data. or meta. is an error" {
	bad 'commits > 1' "column 1: 'commits' is neither a field of the envelope nor a data. or meta. path; did you mean 'data.commits'?" \
		'^'
	bad 'data.x > 1 and tpye == A' "column 16: 'tpye' is neither a field of the envelope nor a data. or meta. path; did you mean 'type'?" \
		'               ^'
	bad 'Data.x == 1' "column 1: 'Data.x' is neither a field of the envelope nor a data. or meta. path; did you mean 'data.x'?" \
		'^'
	bad 'type.name == A' "column 5: 'type' has no fields: 'type.name'" \
		'    ^'
	bad 'data..x == 1' "column 6: 'data..x' has an empty name after a dot" \
		'     ^'
	bad '== 3' "column 1: expected a path such as data.amount" '^'
}

@test "where: an unknown operator is an error" {
	bad 'data.commits >> 1' "column 14: unknown operator '>>': use ==, !=, <, <=, >, >=, =~, in, like, contains or exists" \
		'             ^'
	bad 'data.x = 1' "column 8: unknown operator '='; did you mean '=='?" \
		'       ^'
	bad 'data.x equals 1' "column 8: unknown operator 'equals': use ==, !=, <, <=, >, >=, =~, in, like, contains or exists" \
		'       ^'
	bad 'data.amount' "column 12: expected an operator: ==, !=, <, <=, >, >=, =~, in, like, contains or exists" \
		'           ^'
}

@test "where: tokens after a complete expression are an error" {
	bad 'data.a exists 3' "column 15: unexpected '3' after a complete condition: expected and, or or the end" \
		'              ^'
	bad 'data.city == München x' "column 22: unexpected 'x' after a complete condition: expected and, or or the end" \
		'                     ^'
	bad 'data.x == 1 data.y == 2' "column 13: unexpected 'data.y' after a complete condition: expected and, or or the end" \
		'            ^'
	bad 'data.x == 1)' "column 12: unexpected ')' after a complete condition: expected and, or or the end" \
		'           ^'
	bad '(data.x == 1 data.y' "column 14: unexpected 'data.y' after a complete condition: expected and, or or )" \
		'             ^'
	bad '(data.x == 1' "column 1: this ( has no closing )" '^'
	bad 'data.x == 1 and' "column 16: expected a condition such as data.amount > 10" \
		'               ^'
	bad '' "column 1: expected a condition such as data.amount > 10" '^'
}

@test "where: bad values are errors; out-of-range numbers never become strings" {
	bad 'data.x == 1e400' "column 11: '1e400' is out of range: a number must fit a double (about 1e308, and 2e-308 near zero)" \
		'          ^'
	bad 'data.x < -1e400' "column 10: '-1e400' is out of range: a number must fit a double (about 1e308, and 2e-308 near zero)" \
		'         ^'
	bad 'data.x > 1e-400' "column 10: '1e-400' is out of range: a number must fit a double (about 1e308, and 2e-308 near zero)" \
		'         ^'
	bad 'data.x ==' "column 10: expected a value" '         ^'
	bad 'data.x == and' "column 11: expected a value" '          ^'
	bad 'data.x == "Paris' "column 11: this string has no closing \"" '          ^'
	bad 'data.x in 1' "column 11: expected '[' after in, as in in [1, 2, \"three\"]" '          ^'
	bad 'data.x in [1 2]' "column 14: expected ',' or ']' in the list" '             ^'
	bad 'time > yesterday' "column 8: 'yesterday' is not a time (RFC 3339, a date, or -1h)" \
		'       ^'
}

@test "where: a bad regex is an error at its column" {
	bad 'data.x =~ "a"' "column 11: expected a /regex/ after =~" '          ^'
	bad 'data.x =~ /a' "column 11: this /regex/ has no closing /" '          ^'
	bad 'data.x =~ /a/g' "column 14: unknown regex flag 'g' (i, m or s)" '             ^'
	bad 'data.x =~ /a(b/' "column 15: bad regex: missing closing parenthesis" \
		'              ^'
	bad 'data.x =~ /a{2,1}/' "column 17: bad regex: numbers out of order in {} quantifier" \
		'                ^'
}

@test "where: a long expression is shown around the column" {
	local a
	a=$(printf 'A%.0s' $(seq 100))
	run --separate-stderr evtail --where "data.$a == 1 and data.x >> 2" nolog
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evtail: --where: column 123: unknown operator '>>': use ==, !=, <, <=, >, >=, =~, in, like, contains or exists
  ...AAAAAAAAAAAAAAAAAAAAA == 1 and data.x >> 2
                                           ^")"
}

@test "where: deep nesting and long chains are refused, not a crash" {
	local deep chain
	deep=$(printf '(%.0s' $(seq 100000))
	run --separate-stderr evtail --where "${deep}x" nolog
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evtail: --where: column 65: nested more than 64 levels
  ...((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((...
                                           ^")"
	chain=$(printf 'id == 1 or %.0s' $(seq 2000))
	run --separate-stderr evtail --where "${chain}id == 2" nolog
	assert_status 64
	assert_stdout ""
	[[ $stderr == "evtail: --where: column 11265: more than 1024 conditions"* ]]
}
