#!/usr/bin/env bats
# tests/concurrency.bats - concurrent writers on one log (issue 2,
# sections 2.9 and 7): the lock is held per batch, every writer re-reads
# the tail under it, and a long-lived writer never blocks the others.
#
#   EVLOG_SOAK_SCALE   multiplies the events per writer (default 1: 10,000)

load helper
load robust

setup_file() {
	robust_setup_file
}

# 40000 -> 40,000, as the tools print counts
commas() {
	sed -E ':a; s/([0-9])([0-9]{3})($|,)/\1,\2\3/; ta' <<<"$1"
}

# ids of an evgen file, in input order (evgen lines start with the id)
input_ids() {
	sed -E 's/^\{"id":"([^"]+)".*/\1/' "$1"
}

@test "concurrency: 4 writers append 10,000 events each; all 40,000 once, in order" {
	local n=$((10000 * ${EVLOG_SOAK_SCALE:-1})) w total pids=() st
	total=$((4 * n))
	# small segments, so writers also race to roll them
	evctl init --segment-bytes 256K L >/dev/null
	# the writers share stream names: their input has no versions, so
	# each append numbers its events after whatever won the race before
	for w in 1 2 3 4; do
		evgen "$n" --seed $((100 + w)) | sed 's/"version":[0-9]*,//' >in.$w
		input_ids in.$w | sed "s/\$/ $w/" >>owners
	done
	for w in 1 2 3 4; do
		evpub --ack --batch-events 10 L <in.$w >acks.$w 2>err.$w &
		pids+=($!)
	done
	for w in 1 2 3 4; do
		st=0
		wait "${pids[$((w - 1))]}" || st=$?
		echo "writer $w: exit $st: $(cat err.$w)"
		[ "$st" -eq 0 ]
		[ ! -s err.$w ]
	done

	evtail --template '{offset} {id}' L >log.ids
	# all present, offsets contiguous from 0
	[ "$(wc -l <log.ids)" -eq "$total" ]
	cut -d' ' -f1 log.ids | cmp - <(seq 0 $((total - 1)))
	# once each, and every one from an input
	[ -z "$(cut -d' ' -f2 log.ids | sort | uniq -d | head -3)" ]
	awk 'NR == FNR { owner[$1] = $2; next }
	     !($2 in owner) { print "unknown id " $2; exit 1 }
	     { print $1, $2 > ("got." owner[$2]) }' owners log.ids
	for w in 1 2 3 4; do
		# each writer's events in its input order ...
		cut -d' ' -f2 got.$w | cmp - <(input_ids in.$w)
		# ... and acknowledged at the offsets they got
		cmp acks.$w got.$w
	done
	# every stream numbered 1, 2, 3, ... in log order, whoever wrote it
	evtail --template '{stream} {version}' L |
		awk '$2 != ++v[$1] { print "stream " $1 ": version " $2 ", expected " v[$1]; bad = 1 }
		     END { exit bad }' 
	# the writers' batches did interleave, or this proved little
	local switches
	switches=$(awk 'NR == FNR { owner[$1] = $2; next }
		owner[$2] != last { s++; last = owner[$2] } END { print s - 1 }' \
		owners log.ids)
	echo "# $switches changes of writer along the log;" \
		"$(ls L/*.seg | wc -l) segments" >&3
	[ "$switches" -ge 40 ]
	run --separate-stderr evctl verify L
	assert_status 0
	assert_stdout_contains "ok, $(commas "$total") events"
}

@test "concurrency: a long-lived writer pausing with --linger does not block another" {
	evgen 30 --seed 31 >a.ndjson
	evgen 200 --seed 32 >b.ndjson
	evctl init L >/dev/null
	mkfifo a.pipe
	evpub --ack --linger 50ms L <a.pipe >acks.a 2>err.a &
	local apid=$!
	exec 4>a.pipe
	head -n 10 a.ndjson >&4
	# the first ten become visible through the linger flush
	wait_for '[ "$(evtail L | wc -l)" -ge 10 ]' 20 "the first ten events"
	[ "$(evtail L | wc -l)" -eq 10 ]
	# acknowledged too (acks follow the flush)
	wait_for_lines acks.a 10 20
	[ "$(wc -l <acks.a)" -eq 10 ]
	# writer A is alive and holds the log open; B must get through
	kill -0 "$apid"
	run --separate-stderr timeout 20 evpub --ack L <b.ndjson
	assert_status 0
	assert_stderr ""
	[ "${#lines[@]}" -eq 200 ]
	[ "${lines[0]%% *}" -eq 10 ]
	kill -0 "$apid"
	# A goes on after B, from the tail B left
	tail -n +11 a.ndjson >&4
	exec 4>&-
	local st=0
	wait "$apid" || st=$?
	[ "$st" -eq 0 ]
	[ ! -s err.a ]
	[ "$(wc -l <acks.a)" -eq 30 ]
	[ "$(sed -n 11p acks.a | cut -d' ' -f1)" -eq 210 ]
	evtail --template '{offset} {id}' L >log.ids
	[ "$(wc -l <log.ids)" -eq 230 ]
	cut -d' ' -f1 log.ids | cmp - <(seq 0 229)
	cut -d' ' -f2 log.ids | cmp - <(input_ids a.ndjson | head -n 10;
		input_ids b.ndjson; input_ids a.ndjson | tail -n +11)
	run --separate-stderr evctl verify L
	assert_status 0
}
