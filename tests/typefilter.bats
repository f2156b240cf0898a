#!/usr/bin/env bats
# tests/typefilter.bats - the type filter's read of a log (issue 15
# section 4): a type the log has is found without counting every type
# first (the count is a second read of the whole log when no cache of
# it, LOG/typecounts, covers the log, as on a log's first read or a log
# the reader cannot write); a type the log lacks is still explained with
# the closest names; the same output whichever way.

load helper

local_setup() {
	evgen 3000 --seed 5 >"$T/gen.ndjson"
	evpub -c --batch-events 100 L.evlog <"$T/gen.ndjson"
	rm -f L.evlog/typecounts
}

# the events of type $1 in the generated data, as evtail prints them
# from a log that has its cache (the long way, before this change)
expected() {
	cp -a L.evlog W.evlog
	evtail -o count W.evlog >/dev/null # a full read, no filter
	evctl info --types W.evlog >/dev/null
	[ -e W.evlog/typecounts ]
	evtail "$@" W.evlog
}

@test "typefilter: the first --type read of a type the log has counts no other type" {
	n=$(grep -c '"type":"OrderPlaced"' "$T/gen.ndjson")
	[ "$n" -gt 0 ]
	want=$(expected --type OrderPlaced)
	run --separate-stderr evtail --type OrderPlaced L.evlog
	assert_status 0
	assert_stdout "$want"
	assert_stderr ""
	[ "$(echo "$output" | wc -l)" -eq "$n" ]
	# counting would have left the cache of the counts
	[ ! -e L.evlog/typecounts ]
	run --separate-stderr evtail --type OrderPlaced -o count L.evlog
	assert_status 0
	assert_stdout "$n"
	[ ! -e L.evlog/typecounts ]
}

@test "typefilter: two types the log has, and without skipping, read the same" {
	want=$(expected --type OrderPlaced --type MoneyDeposited)
	run --separate-stderr evtail --type OrderPlaced --type MoneyDeposited L.evlog
	assert_status 0
	assert_stdout "$want"
	assert_stderr ""
	run --separate-stderr env EVLOG_NO_SKIP=1 evtail --type OrderPlaced \
		--type MoneyDeposited L.evlog
	assert_status 0
	assert_stdout "$want"
	assert_stderr ""
	[ ! -e L.evlog/typecounts ]
}

@test "typefilter: a type the log lacks is explained, with the closest names" {
	run --separate-stderr evtail --type OrderPlace L.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr "evtail: no event type in 'L.evlog' matches 'OrderPlace'; closest: OrderPlaced"
	# then the counts are made, and kept
	[ -e L.evlog/typecounts ]
	run --separate-stderr evtail --type OrderPlaced --type NoSuchType -o count L.evlog
	assert_status 0
	assert_stdout "$(grep -c '"type":"OrderPlaced"' "$T/gen.ndjson")"
	assert_stderr_contains "no event type in 'L.evlog' matches 'NoSuchType'; most common:"
}

@test "typefilter: a glob is explained from the counts, as before" {
	run --separate-stderr evtail --type 'Order*' -o count L.evlog
	assert_status 0
	[ "$output" -gt 0 ]
	assert_stderr ""
	run --separate-stderr evtail --type 'Nope*' L.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr_contains "no event type in 'L.evlog' matches 'Nope*'"
}

@test "typefilter: a type only in events appended after the cache is found, not explained away" {
	evctl info --types L.evlog >/dev/null
	[ -e L.evlog/typecounts ]
	printf '{"type":"BrandNew","stream":"new-1","data":{}}\n' | evpub L.evlog
	run --separate-stderr evtail --type BrandNew --template '{type} {stream}' L.evlog
	assert_status 0
	assert_stdout "BrandNew new-1"
	assert_stderr ""
}
