#!/usr/bin/env bats
# evreplay --rewrite (issue 10, section 3): a whole log migrated into a
# new one with every event upcast.  What is kept (ids, times, streams,
# keys, meta, data, offsets, versions, the log id, groups, the log's
# settings) and when; drops and splits (renumbered streams, the offset
# map, groups left behind); --in-place with its old log kept, writers
# appending meanwhile, and writers that had the old log open (they follow
# the path to the new log, their expectations checked again); a kill
# between the steps of the swap; leftovers of an interrupted run; and
# every usage and input error.  tests/rewrite-crash.bats kills rewrites
# at random moments.
load helper

USAGE="Usage: evreplay [options] LOG
       evreplay --rewrite [--upcast PATH] LOG --rewrite-to NEWLOG
       evreplay --rewrite [--upcast PATH] --in-place LOG
Try 'evreplay --help' for more information."

usage_err() {
	printf '%s\n%s' "$1" "$USAGE"
}

local_teardown() {
	for p in ${BG:-} ${BG2:-}; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

# An upcaster that changes every OrderPlaced (evgen's are at versions 1
# and 2) and keeps the number of events: a default, then a rename.
keep_set() {
	cat >keep.upcast <<-'EOF'
	type OrderPlaced
	from 1
	  default meta.currency "EUR"
	from 2
	  rename data.amount data.total
	EOF
}

# pub_fifo ARGS...: evpub ARGS... L in the background ($BG), reading
# what is written to fd 5, its output in pub.out and pub.err
pub_fifo() {
	mkfifo in
	evpub "$@" L <in >pub.out 2>pub.err &
	BG=$!
	exec 5>in
}

# pub_done: the end of its input; its exit status in $st
pub_done() {
	exec 5>&-
	st=0
	wait "$BG" || st=$?
	BG=
}

# A log whose events are dropped and split: o-1 loses a Noise and has a
# Batch split into three; o-2 keeps its own; one Noise has no stream.
drop_split_log() {
	cat >in.ndjson <<-'EOF'
	{"id":"a1","type":"Created","stream":"o-1","data":{"n":1}}
	{"id":"a2","type":"Noise","stream":"o-1","data":{"n":2}}
	{"id":"a3","type":"Batch","stream":"o-1","data":{"items":[1,2,3]}}
	{"id":"a4","type":"Created","stream":"o-2","data":{"n":4}}
	{"id":"a5","type":"Created","stream":"o-1","data":{"n":5}}
	{"id":"a6","type":"Noise","data":{"n":6}}
	{"id":"a7","type":"Created","stream":"o-2","data":{"n":7}}
	EOF
	evpub -c L <in.ndjson
	cat >ds.upcast <<-'EOF'
	type Noise
	from 1
	  drop
	type Batch
	from 1
	  split data.items data.item
	EOF
}

# hold FILE: an exclusive flock(2) lock on FILE (a directory too), held
# by a background subshell, $BG, until the file 'go' exists; released by
# release (local_teardown kills it).
hold() {
	(
		exec 8<"$1"
		flock 8
		touch held
		while [ ! -e go ]; do sleep 0.02; done
	) &
	BG=$!
	wait_for '[ -e held ]' 10 "the lock on $1"
}
release() {
	touch go
	wait "$BG"
	BG=
}

# N with thousands separators, as the summary writes it.
commas() {
	sed -E ':a;s/([0-9])([0-9]{3})($|,)/\1,\2\3/;ta' <<<"$1"
}

# The summary, with the time it took left out.
summary() {
	sed -E 's/ \([0-9.]+s\)//' <<<"${stderr:-}"
}

# ------------------------------------------------------------ keeping

@test "rewrite: the new log holds the events as --upcast reads them, byte for byte, with offsets, versions, id and settings kept" {
	evctl init --segment-bytes 64K --level 3 --sync none \
		--dedupe-window 5000 L >/dev/null
	evgen 3000 --seed 4 | evpub L
	keep_set
	evtail --upcast keep.upcast L >want.json
	run --separate-stderr evreplay --rewrite --upcast keep.upcast L \
		--rewrite-to N
	assert_status 0
	assert_stdout ""
	n_orders=$(evtail --type OrderPlaced -o count L)
	[ "$(summary)" = "evreplay: rewrote 'L' into 'N' and checked it
evreplay: read 3,000 events: $(commas "$n_orders") upcast, $(commas $((3000 - n_orders))) unchanged, 0 dropped, 0 split
evreplay: wrote 3,000 events; offsets kept
evreplay: no stream renumbered" ]
	evtail N >got.json
	cmp want.json got.json
	# read back without the upcaster: nothing left to upcast
	evtail --upcast keep.upcast N | cmp - want.json
	run --separate-stderr evctl verify N
	assert_status 0
	# the settings and the id are the old log's; segments rolled at 64K
	diff <(grep -v '^created ' L/meta) <(grep -v '^created ' N/meta)
	[ "$(ls N/*.seg | wc -l)" -gt 1 ]
	# every stream at the version it had, its links followed
	diff <(evctl streams L) <(evctl streams N)
	s=$(evtail -n 1 --template '{stream}' L)
	evtail --upcast keep.upcast --stream "$s" L >s1
	evtail --stream "$s" N | cmp - s1
	# nothing else beside it
	run ls -A
	assert_stdout "L
N
got.json
keep.upcast
s1
want.json"
}

@test "rewrite: without --upcast it copies the log as it is" {
	make_log L 500
	run --separate-stderr evreplay --rewrite L --rewrite-to N
	assert_status 0
	assert_stderr_contains "read 500 events: 0 upcast, 500 unchanged, 0 dropped, 0 split"
	diff <(evtail L) <(evtail N)
	[ "$(evctl info L | grep '^id:')" = "$(evctl info N | grep '^id:')" ]
}

@test "rewrite: offsets kept, the consumer groups come along at their positions" {
	make_log L 300
	keep_set
	evtail --group a --to 99 -o count L >/dev/null
	evtail --group b -o count L >/dev/null
	run --separate-stderr evreplay --rewrite --upcast keep.upcast L \
		--rewrite-to N
	assert_status 0
	assert_stderr_contains "evreplay: wrote 300 events; offsets kept; 2 of 2 consumer groups carried over"
	cmp L/groups/a.group N/groups/a.group
	cmp L/groups/b.group N/groups/b.group
	# a group goes on in the new log where it stood in the old one
	run --separate-stderr evtail --group a --template '{offset}' N
	assert_status 0
	[ "${lines[0]}" = 100 ]
	[ "${#lines[@]}" -eq 200 ]
}

@test "rewrite: drops and splits renumber their streams, write an offset map, and leave the groups behind" {
	drop_split_log
	evtail --group g --to 3 -o count L >/dev/null
	run --separate-stderr evreplay --rewrite --upcast ds.upcast L \
		--rewrite-to N
	assert_status 0
	assert_stdout ""
	[ "$(summary)" = "evreplay: rewrote 'L' into 'N' and checked it
evreplay: read 7 events: 3 upcast, 4 unchanged, 2 dropped, 1 split into 3
evreplay: wrote 7 events; offsets changed, see 'N.offsets'; 1 consumer group not carried over
evreplay: 1 stream renumbered: o-1" ]
	run --separate-stderr evtail --template '{offset} {id} {stream} {version}' N
	assert_stdout "0 a1 o-1 1
1 a3:1 o-1 2
2 a3:2 o-1 3
3 a3:3 o-1 4
4 a4 o-2 1
5 a5 o-1 5
6 a7 o-2 2"
	# the map: what each offset that did not stay one event became
	old=$(evctl info L | sed -n 's/^id: *//p')
	new=$(evctl info N | sed -n 's/^id: *//p')
	[ "$old" != "$new" ]
	run cat N.offsets
	assert_stdout "evlog-offsets 1
old-log $old 0 7
new-log $new 0 7
1 1 0
2 1 3
5 6 0"
	[ ! -e N/groups ]
	evctl verify N
	# the links lead through the renumbered stream
	run --separate-stderr evtail --stream o-1 --template '{version}' N
	assert_stdout "1
2
3
4
5"
	# and a writer carries on after it
	evpub N Created --stream o-1
	[ "$(evtail -n 1 --template '{version}' N)" = 6 ]
	# a group of the old log is not taken for one of the new
	mkdir N/groups
	cp L/groups/g.group N/groups/
	run --separate-stderr evtail --group g N
	assert_status 65
	assert_stderr_contains "belongs to"
}

@test "rewrite: an event a Lua step moves to another stream renumbers both, offsets kept" {
	cat >in.ndjson <<-'EOF'
	{"id":"b1","type":"A","stream":"s-1"}
	{"id":"b2","type":"Moved","stream":"s-1"}
	{"id":"b3","type":"A","stream":"s-1"}
	{"id":"b4","type":"A","stream":"t-1"}
	EOF
	evpub -c L <in.ndjson
	mkdir up
	cat >up/Moved.1.lua <<-'EOF'
	return function(e) e.stream = "t-1"; return e end
	EOF
	run --separate-stderr evreplay --rewrite --upcast up L --rewrite-to N
	assert_status 0
	assert_stderr_contains "evreplay: wrote 4 events; offsets kept"
	assert_stderr_contains "evreplay: 2 streams renumbered: t-1 and s-1"
	run --separate-stderr evtail --template '{offset} {stream} {version}' N
	assert_stdout "0 s-1 1
1 t-1 1
2 s-1 2
3 t-1 2"
	evctl verify N
	[ ! -e N.offsets ]
}

@test "rewrite: a trimmed log keeps its first offset, and its streams their versions" {
	evctl init --segment-bytes 64K L >/dev/null
	evgen 3000 --seed 6 | evpub L
	evctl trim --keep-events 1000 L >/dev/null
	first=$(evctl info --json L | jq .first_offset)
	[ "$first" -gt 0 ]
	keep_set
	run --separate-stderr evreplay --rewrite --upcast keep.upcast L \
		--rewrite-to N
	assert_status 0
	assert_stderr_contains "no stream renumbered"
	[ "$(evctl info --json N | jq .first_offset)" = "$first" ]
	diff <(evtail --upcast keep.upcast L) <(evtail N)
	diff <(evctl streams L) <(evctl streams N)
	# a stream whose events were all trimmed goes on from its version
	s=$(evctl streams --json L | jq -r "select(.first_offset < $first and .last_offset < $first) | .stream" | head -n 1)
	if [ -n "$s" ]; then
		v=$(evctl streams --stream-exact "$s" --json L | jq .version)
		evpub N Later --stream "$s"
		[ "$(evtail -n 1 --template '{version}' N)" = $((v + 1)) ]
	fi
}

# ------------------------------------------------------------ in place

@test "rewrite --in-place: the new log takes the name, the old one is kept as LOG.pre-rewrite-TIME" {
	make_log L 400
	keep_set
	evtail L >old.json
	evtail --upcast keep.upcast L >want.json
	run --separate-stderr evreplay --rewrite --upcast keep.upcast --in-place L
	assert_status 0
	pre=$(ls -d L.pre-rewrite-*)
	[[ $pre =~ ^L\.pre-rewrite-[0-9]{8}T[0-9]{6}Z$ ]]
	assert_stderr_contains "evreplay: rewrote 'L' in place and checked it ("
	assert_stderr_contains "the old log is '$pre'"
	evtail L | cmp - want.json
	evtail "$pre" | cmp - old.json
	evctl verify L
	evctl verify "$pre"
	# nothing else is left beside them
	run ls -A
	assert_stdout "L
$pre
gen.ndjson
keep.upcast
old.json
want.json"
	# a writer appends to the new log
	evpub L Later
	[ "$(evtail -n 1 --template '{offset} {type}' L)" = "400 Later" ]
}

@test "rewrite --in-place: through a symbolic link, the log it names is rewritten beside itself" {
	mkdir real
	make_log real/L 50
	ln -s real/L cur
	run --separate-stderr evreplay --rewrite --in-place cur
	assert_status 0
	[ -L cur ]
	ls -d real/L.pre-rewrite-* >/dev/null
	assert_stderr_contains "the old log is '$T/real/L.pre-rewrite-"
	[ "$(evtail -o count cur)" = 50 ]
}

@test "rewrite --in-place: drops and splits leave LOG.offsets, and a second rewrite a second old log" {
	drop_split_log
	run --separate-stderr evreplay --rewrite --upcast ds.upcast --in-place L
	assert_status 0
	assert_stderr_contains "offsets changed, see 'L.offsets'"
	[ "$(sed -n 4,6p L.offsets | tr '\n' ' ')" = "1 1 0 2 1 3 5 6 0 " ]
	[ "$(evtail -o count L)" = 7 ]
	run --separate-stderr evreplay --rewrite --upcast ds.upcast --in-place L
	assert_status 0
	assert_stderr_contains "offsets kept"
	[ "$(ls -d L.pre-rewrite-* | wc -l)" -eq 2 ]
}

@test "rewrite --in-place: what writers append while it runs and after is in the new log, once" {
	evgen 50000 --seed 9 >big.ndjson
	evpub -c L <big.ndjson
	: >acked
	(
		i=0
		while [ ! -e stop ]; do
			i=$((i + 1))
			if evpub L Added "n:=$i" --id "w-$i" 2>>pub.err; then
				echo "w-$i" >>acked
			else
				echo "w-$i failed" >>pub.err
			fi
		done
	) &
	BG=$!
	# and one writer all along, which has the old log open at the swap
	(
		i=0
		while [ ! -e stop ]; do
			i=$((i + 1))
			echo "{\"id\":\"f-$i\",\"type\":\"Added\"}"
			sleep 0.01
		done
	) | evpub --batch-events 1 --ack L >f.ack 2>f.err &
	BG2=$!
	wait_for '[ -s acked ]' 20 "the writers' first events"
	wait_for "evtail --type Added --template '{id}' L | grep -q '^f-'" 20 \
		"the writers' first events"
	run --separate-stderr evreplay --rewrite --in-place L
	echo "$stderr"
	assert_status 0
	# how many came in while it ran, for the record
	echo "# $(grep -o '[0-9,]* events\{0,1\} appended while it ran' <<<"$stderr" ||
		echo "none appended while it ran")" >&3
	# a few more after the swap
	n=$(wc -l <acked)
	wait_for "[ \$(wc -l <acked) -ge $((n + 3)) ]" 20 "writes after the swap"
	n=$(evtail -o count L)
	wait_for "[ \$(evtail -o count L) -ge $((n + 3)) ]" 20 "writes after the swap"
	touch stop
	wait "$BG"
	BG=
	st=0
	wait "$BG2" || st=$?
	BG2=
	# no writer failed; those that had opened the old log said they
	# followed it, the one all along among them
	[ "$st" -eq 0 ]
	run cat f.err
	assert_stdout "evpub: 'L' was rewritten in place while it was open for writing; appending to the rewritten log"
	if [ -s pub.err ]; then
		grep -v "^evpub: 'L' was rewritten in place while it was open for writing; appending to the rewritten log$" pub.err >other.err || true
		cat other.err
		[ ! -s other.err ]
	fi
	# every acknowledged event is in the log now at L, once, and the
	# old log has none that came after the swap
	evtail --type Added --template '{id}' L >in-log
	cut -d' ' -f2 f.ack >>acked
	grep -q '^f-' acked
	sort acked >a.sorted
	sort in-log >l.sorted
	cmp a.sorted l.sorted
	[ "$(sort in-log | uniq -d | wc -l)" -eq 0 ]
	pre=$(ls -d L.pre-rewrite-*)
	evtail --type Added --template '{id}' "$pre" >in-old
	[ "$(wc -l <in-old)" -lt "$(wc -l <in-log)" ]
	[ "$(head -n "$(wc -l <in-old)" in-log)" = "$(cat in-old)" ]
	evctl verify L
	evctl verify "$pre"
}

@test "rewrite --in-place: a writer that opened the old log appends its next batch to the new log" {
	make_log L 10
	pub_fifo --batch-events 1
	echo '{"id":"x1","type":"Before"}' >&5
	wait_for '[ "$(evtail -o count L)" = 11 ]' 10 "the first event"
	run --separate-stderr evreplay --rewrite --in-place L
	assert_status 0
	pre=$(ls -d L.pre-rewrite-*)
	echo '{"id":"x2","type":"After"}' >&5
	echo '{"id":"x1","type":"Before"}' >&5
	pub_done
	[ "$st" -eq 0 ]
	run cat pub.out
	assert_stdout ""
	run cat pub.err
	assert_stdout "evpub: 'L' was rewritten in place while it was open for writing; appending to the rewritten log
evpub: 2 appended, 1 duplicate"
	# the old log as the swap left it; the new one has each event once
	[ "$(evtail -o count "$pre")" = 11 ]
	[ "$(evtail -n 1 --template '{id}' "$pre")" = x1 ]
	run evtail --template '{offset} {id} {type}' L
	assert_status 0
	[ "$(tail -n 2 <<<"$output")" = "10 x1 Before
11 x2 After" ]
	[ "$(evtail -o count L)" = 12 ]
}

# evpub --expect-version VERSION, opened on the old log and appending
# after the swap: checked against the new log, by its versions.
expect_after_swap() { # STREAM VERSION
	drop_split_log
	pub_fifo --expect-version "$2"
	echo '{"id":"c1","type":"More","stream":"'"$1"'"}' >&5
	# its writer has the log open (it holds L/head), its event waits
	# for the end of the input
	wait_for 'ls -l "/proc/$BG/fd" 2>/dev/null | grep -q "/L/head$"' 10 \
		"evpub to open the log"
	run --separate-stderr evreplay --rewrite --upcast ds.upcast --in-place L
	assert_status 0
	pub_done
}

@test "rewrite --in-place: an exact expected version is checked against the new log, where the rewrite renumbered the stream" {
	expect_after_swap o-1 4
	[ "$st" -eq 75 ]
	run cat pub.err
	assert_stdout "evpub: 'L' was rewritten in place while it was open for writing; appending to the rewritten log
evpub: stdin:1: stream 'o-1' is at version 5, expected 4
evpub: 0 events appended; stopped at line 1"
	[ "$(evtail -o count L)" = 7 ]
	rm -rf L L.pre-rewrite-* L.offsets pub.out pub.err in
	# o-2, which the rewrite kept as it was
	expect_after_swap o-2 2
	[ "$st" -eq 0 ]
	[ "$(evtail --stream o-2 --template '{version} {id}' L | tr '\n' ' ')" = "1 a4 2 a7 3 c1 " ]
}

@test "rewrite --in-place: a writer's stream checked before the swap goes on if the rewrite kept it, and its next event is a conflict if it renumbered it" {
	drop_split_log
	pub_fifo --batch-events 1 --expect-version none
	echo '{"id":"c1","type":"More","stream":"n-1"}' >&5
	echo '{"id":"c2","type":"Noise","stream":"n-2"}' >&5
	echo '{"id":"c3","type":"More","stream":"n-2"}' >&5
	wait_for '[ "$(evtail -o count L)" = 10 ]' 10 "the first events"
	# the rewrite drops c2: n-2 goes from version 2 to 1
	run --separate-stderr evreplay --rewrite --upcast ds.upcast --in-place L
	assert_status 0
	echo '{"id":"c4","type":"More","stream":"n-1"}' >&5
	echo '{"id":"c5","type":"More","stream":"n-2"}' >&5
	echo '{"id":"c6","type":"More","stream":"n-1"}' >&5
	pub_done
	[ "$st" -eq 75 ]
	run cat pub.err
	assert_stdout "evpub: 'L' was rewritten in place while it was open for writing; appending to the rewritten log
evpub: stdin:5: stream 'n-2' is at version 1, expected 2 (a rewrite in place renumbered it)
evpub: 4 events appended; stopped at line 5"
	[ "$(evtail --stream n-1 --template '{version} {id}' L | tr '\n' ' ')" = "1 c1 2 c4 " ]
	[ "$(evtail --stream n-2 --template '{version} {id}' L | tr '\n' ' ')" = "1 c3 " ]
	pre=$(ls -d L.pre-rewrite-*)
	[ "$(evtail -o count "$pre")" = 10 ]
}

@test "rewrite --in-place: a writer whose log's path names no log any more fails, appending nothing" {
	make_log L 10
	pub_fifo --batch-events 1
	echo '{"id":"x1","type":"Before"}' >&5
	wait_for '[ "$(evtail -o count L)" = 11 ]' 10 "the first event"
	mv L L.moved
	mkdir L
	echo '{"id":"x2","type":"After"}' >&5
	pub_done
	[ "$st" -eq 75 ]
	run cat pub.err
	assert_stdout "evpub: 'L' was replaced by another log while it was open for writing (a rewrite in place); nothing more was appended
evpub: cannot append to what is at 'L' now: 'L' is not an evlog log (no meta file)
evpub: 1 event appended; stopped at line 2"
	[ "$(evtail -o count L.moved)" = 11 ]
}

@test "rewrite --in-place: killed between the steps of the swap, a rerun finishes it or starts over" {
	make_log L 200
	keep_set
	evtail --upcast keep.upcast L >want.json
	evtail L >old.json
	# killed right after the marker is written, before the exchange:
	# the log is the old one, and a rerun starts over
	EVFI_CALL=rename EVFI_PATH='.L.rewrite-swap' EVFI_KILL=after \
		LD_PRELOAD=$TOP/tests/faultinject.so \
		evreplay --rewrite --upcast keep.upcast --in-place L 2>/dev/null &
	wait $! || true
	[ -e .L.rewrite-swap ]
	evtail L | cmp - old.json
	run --separate-stderr evreplay --rewrite --upcast keep.upcast --in-place L
	assert_status 0
	assert_stderr_contains "left by an interrupted rewrite"
	assert_stderr_contains "rewrote 'L' in place"
	evtail L | cmp - want.json
	[ ! -e .L.rewrite-swap ]
	rm -rf L.pre-rewrite-*
	# killed right after the exchange: L is the new log already, the
	# old one still at the temporary name; a rerun finishes the swap
	rm -rf L
	make_log L 200
	EVFI_CALL=rename EVFI_PATH='L$' EVFI_KILL=after \
		LD_PRELOAD=$TOP/tests/faultinject.so \
		evreplay --rewrite --upcast keep.upcast --in-place L 2>/dev/null &
	wait $! || true
	[ -e .L.rewrite-swap ]
	evtail L | cmp - want.json
	evctl verify L
	run --separate-stderr evreplay --rewrite --upcast keep.upcast --in-place L
	assert_status 0
	pre=$(ls -d L.pre-rewrite-*)
	assert_stderr "evreplay: finished the swap of an interrupted rewrite: 'L' is the rewritten log, and the old one is '$pre'"
	evtail "$pre" | cmp - old.json
	evtail L | cmp - want.json
	run ls -A
	assert_stdout "L
$pre
gen.ndjson
keep.upcast
old.json
want.json"
}

@test "rewrite --in-place: a swap marker that fits neither log is left for a person" {
	make_log L 20
	printf 'evlog-rewrite-swap 1\ntemp .L.rewrite-1\nold L.pre-rewrite-x\noffsets -\nold-inode 1 2\nnew-inode 3 4\n' >.L.rewrite-swap
	run --separate-stderr evreplay --rewrite --in-place L
	assert_status 75
	assert_stderr "evreplay: cannot tell how far the swap of an interrupted rewrite of 'L' got
evreplay: '$T/.L.rewrite-swap' says what it was doing; put the logs it names in their places, then remove it"
	[ -e .L.rewrite-swap ]
	printf 'junk\n' >.L.rewrite-swap
	run --separate-stderr evreplay --rewrite --in-place L
	assert_status 65
	assert_stderr "evreplay: '$T/.L.rewrite-swap' is not a swap marker
evreplay: 'L' is as it was"
}

# ------------------------------------------------------------ leftovers

@test "rewrite: a rerun removes what an interrupted run left, and starts over" {
	make_log L 100
	mkdir .N.rewrite-4242 .N.rewrite-4243
	cp -a L/. .N.rewrite-4242/
	echo junk >.N.rewrite-4242.offsets
	echo junk >.N.rewrite-swap.tmp.0123456789abcdef
	mkdir .N.rewrite-x # not a name a rewrite makes: left alone
	run --separate-stderr evreplay --rewrite L --rewrite-to N
	assert_status 0
	assert_stderr_contains "evreplay: removed './.N.rewrite-4242', left by an interrupted rewrite"
	assert_stderr_contains "evreplay: removed './.N.rewrite-4243', left by an interrupted rewrite"
	run ls -A
	assert_stdout ".N.rewrite-x
L
N
gen.ndjson"
}

@test "rewrite: a temporary log that a running rewrite holds stops another, exit 75" {
	make_log L 20
	mkdir .N.rewrite-77
	hold .N.rewrite-77
	run --separate-stderr evreplay --rewrite L --rewrite-to N
	assert_status 75
	assert_stderr "evreplay: a rewrite into 'N' is running: it builds './.N.rewrite-77'"
	[ ! -e N ]
	release
	[ -d .N.rewrite-77 ]
}

# ------------------------------------------------------------ progress

@test "rewrite: --progress shows events done over the total, and erases itself" {
	make_log L 3000
	run --separate-stderr evreplay --rewrite --progress L --rewrite-to N
	assert_status 0
	assert_stderr_contains $'\r'"evreplay: 1,024/3,000 events (34%)"
	run --separate-stderr evreplay --rewrite L --rewrite-to N2
	[[ $stderr != *$'\r'* ]]
}

@test "rewrite: SIGTERM gives up, leaving the log as it was and nothing else" {
	make_log L 50
	hold L/lock
	evreplay --rewrite --in-place L 2>err &
	rw=$!
	wait_for '[ -n "$(ls -A . | grep "^\.L\.rewrite-")" ]' 10 "the rewrite's temporary log"
	kill -TERM "$rw"
	st=0
	wait "$rw" || st=$?
	[ "$st" -eq 1 ]
	run cat err
	assert_stdout "evreplay: interrupted
evreplay: 'L' is as it was"
	release
	run ls -A
	assert_stdout "L
err
gen.ndjson
go
held"
}

# ------------------------------------------------------------ errors

@test "rewrite: neither or both of --rewrite-to and --in-place, or either without --rewrite, exit 64" {
	make_log L 5
	run --separate-stderr evreplay --rewrite L
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --rewrite needs either --rewrite-to NEWLOG or --in-place")"
	run --separate-stderr evreplay --rewrite --in-place L --rewrite-to N
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --rewrite takes --rewrite-to NEWLOG or --in-place, not both")"
	run --separate-stderr evreplay L --rewrite-to N
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --rewrite-to needs --rewrite")"
	run --separate-stderr evreplay --in-place L
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --in-place needs --rewrite")"
	assert_stdout ""
	[ ! -e N ]
}

@test "rewrite: selection, output, target, pace, group, mark and --check options exit 64" {
	make_log L 5
	local opt
	for opt in "--type X" "--stream s" "--stream-exact s" "--category c" \
		"--from 1" "--to 2" "--since -1h" "--until now" "--where type==X" \
		"-n 3" "--lines 3" "-o pretty" "--output json" "--template {id}" \
		"--color never" "--to-log M" "-c" "--renumber" "--exec true" \
		"--group g" "--state-dir d" "--wait" "--rate 10/s" "--speed 2" \
		"--max-gap 1s" "--mark m" "--check" "--retries 1" "--dlq D"; do
		# shellcheck disable=SC2086 # the option and its value
		run --separate-stderr evreplay --rewrite $opt L --rewrite-to N
		assert_status 64
		assert_stderr "$(usage_err "evreplay: --rewrite rewrites every event of LOG into a new log: it cannot be combined with ${opt%% *}")"
	done
	run --separate-stderr evreplay --rewrite --upcast x --on-error skip L --rewrite-to N
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --rewrite stops at an event it cannot upcast: --on-error can only be stop")"
	run --separate-stderr evreplay --rewrite --on-error stop L --rewrite-to N
	assert_status 64
	assert_stderr "$(usage_err "evreplay: --on-error needs --upcast")"
	[ ! -e N ]
	run ls -A
	assert_stdout "L
gen.ndjson"
}

@test "rewrite: a NEWLOG that is LOG, by its name or another path, exits 64" {
	make_log L 5
	ln -s L link
	for n in L ./L L/ link "$T/L"; do
		run --separate-stderr evreplay --rewrite L --rewrite-to "$n"
		assert_status 64
		assert_stderr "evreplay: '$n' is the log being rewritten ('L')
evreplay: a rewrite makes a new log; to replace 'L', rewrite it in place"
	done
	run ls -A
	assert_stdout "L
gen.ndjson
link"
}

@test "rewrite: a NEWLOG that exists exits 73, touching nothing" {
	make_log L 5
	make_log M 3
	touch F
	ln -s nowhere dangling
	for n in M F dangling; do
		before=$(ls -lR)
		run --separate-stderr evreplay --rewrite L --rewrite-to "$n"
		assert_status 73
		assert_stdout ""
		assert_stderr "evreplay: '$n' already exists
evreplay: a rewrite makes a new log: name one that does not exist"
		[ "$(ls -lR)" = "$before" ]
	done
	[ "$(evtail -o count M)" = 3 ]
}

@test "rewrite: no LOG exits 66; a NEWLOG in no directory exits 66" {
	run --separate-stderr evreplay --rewrite nope --rewrite-to N
	assert_status 66
	assert_stderr "evreplay: log 'nope' does not exist"
	make_log L 5
	run --separate-stderr evreplay --rewrite L --rewrite-to no/such/N
	assert_status 66
	assert_stderr "evreplay: cannot open directory 'no/such': No such file or directory"
	run --separate-stderr evreplay --rewrite --in-place nope
	assert_status 66
	assert_stderr "evreplay: log 'nope' does not exist"
}

@test "rewrite: an event that cannot be upcast exits 65 as --on-error stop words it, leaving nothing behind" {
	make_log L 200
	off=$(evtail --type OrderPlaced -n 1 --template '{offset}' L)
	cat >bad.upcast <<-'EOF'
	type OrderPlaced
	from 2
	  tonumber data.customer
	EOF
	first=$(evtail --type OrderPlaced --template '{offset}' L | head -n 1)
	run --separate-stderr evtail --upcast bad.upcast L
	want=$(grep '^evtail: upcast failed' <<<"$stderr" | sed 's/^evtail: //')
	[ -n "$want" ]
	[[ $want == *"offset $first: OrderPlaced version 2: step bad.upcast:3: "* ]]
	run --separate-stderr evreplay --rewrite --upcast bad.upcast L --rewrite-to N
	assert_status 65
	assert_stdout ""
	assert_stderr "evreplay: $want
evreplay: 'N' was not made"
	run --separate-stderr evreplay --rewrite --upcast bad.upcast --in-place L
	assert_status 65
	assert_stderr "evreplay: $want
evreplay: 'L' is as it was"
	run ls -A
	assert_stdout "L
bad.upcast
gen.ndjson"
	[ "$(evtail -o count L)" = 200 ]
	: "$off"
}

@test "rewrite: a bad or missing upcaster set exits 64 or 66 before anything is made" {
	make_log L 5
	printf 'type X\nfrom 1\n  mvoe data.a data.b\n' >bad.upcast
	run --separate-stderr evreplay --rewrite --upcast bad.upcast L --rewrite-to N
	assert_status 64
	assert_stderr_contains "bad.upcast:3: unknown operation 'mvoe'"
	run --separate-stderr evreplay --rewrite --upcast none.upcast L --rewrite-to N
	assert_status 66
	run ls -A
	assert_stdout "L
bad.upcast
gen.ndjson"
}

@test "rewrite: damaged data in LOG exits 65, leaving nothing behind" {
	evctl init --level 0 L >/dev/null
	evgen 50 --seed 2 | evpub L
	seg=L/00000000000000000000.seg
	# a byte in the middle of the first batch's records
	printf 'X' | dd of="$seg" bs=1 seek=400 conv=notrunc 2>/dev/null
	run --separate-stderr evreplay --rewrite L --rewrite-to N
	assert_status 65
	assert_stderr_contains "evreplay: "
	assert_stderr_contains "'N' was not made"
	run ls -A
	assert_stdout "L"
}
