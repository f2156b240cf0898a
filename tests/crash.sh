#!/bin/bash
# tests/crash.sh - crash loops for evpub, run by tests/crash.bats.
#
#   crash.sh random WORKDIR KILLS SEED
#   crash.sh points WORKDIR FAULTINJECT_SO
#
# A reference log is written once without crashes; its evtail output is
# the truth.  Then evpub --ack appends the same events to a second log and
# is killed with SIGKILL, again and again.  Each run resumes after the last
# event in the log, so the log must always read back as an exact prefix of
# the reference.
#
# random: the events come through a slow pipe (evtest trickle), batches are
# tiny, and the kill lands at a random moment; now and then a fresh writer
# is also killed during its own start-up recovery.
#
# points: tests/faultinject.so raises SIGKILL just before or just after the
# Nth write, sync or head update of a run, for every kind of call evpub
# makes to the log: a deterministic sweep of the crash points.
#
# After each kill:
#   - evtail reads the log and exits 0, and its output is a byte prefix of
#     the reference output ending at a line: no partial or foreign event,
#     no duplicate, offsets contiguous;
#   - every ack line seen so far names the event at that offset, and acks
#     only move forward;
#   - a fresh writer (evpub LOG </dev/null) performs the automatic tail
#     repair, printing at most a one-line notice;
#   - evctl verify exits 0;
#   - the log still holds every acknowledged event, and nothing readers
#     saw before the repair is lost.
# The first failure stops the loop with a message naming the iteration;
# rerun with the same arguments to reproduce.
set -u

mode=$1
work=$2
EVTEST=${EVTEST:-evtest}
i=0
what=""

die() {
	echo "crash.sh: $mode: iteration $i${what:+ ($what)}: $*" >&2
	exit 1
}

# is file $1 a byte prefix of file $2 ending at a line boundary?
is_prefix() {
	local n
	n=$(stat -c %s "$1")
	[ "$n" -eq 0 ] && return 0
	cmp -s -n "$n" "$1" "$2" || return 1
	[ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ]
}

# stderr of a writer: only the recovery notices a crash can call for
only_notices() {
	if grep -v -e '^evpub: truncated a torn tail of [0-9]* bytes at byte' \
		-e '^evpub: removed an incomplete segment' "$1" >bad.err; then
		die "unexpected stderr from $2: $(cat bad.err)"
	fi
}

# reference log of $1 events (seed $2) and the (empty) log under test
prepare() {
	evgen "$1" --seed "$2" >gen.ndjson || die "evgen failed"
	evctl init --segment-bytes 64K ref >/dev/null || die "evctl init failed"
	evpub --batch-events 50 ref <gen.ndjson || die "reference evpub failed"
	evtail ref >ref.json || die "evtail of the reference failed"
	evtail --template '{offset} {id}' ref >ref.ids ||
		die "evtail --template failed"
	# the events must be distinct, or "exactly once" means nothing
	dups=$(cut -d' ' -f2 ref.ids | sort | uniq -d | head -3)
	[ -z "$dups" ] || die "reference has duplicate ids: $dups"
	evctl init --segment-bytes 64K log >/dev/null || die "evctl init failed"
	: >acks.all
	k=0         # events in the log
	last_ack=-1 # highest offset acknowledged so far
	adopted=0   # repairs that published batches a killed writer wrote
	notices=0
}

# the checks after a kill; the killed run's acks are in acks.run
after_kill() {
	local bad pre post

	# readers before any repair
	evtail log >pre.json 2>pre.err ||
		die "evtail failed before repair ($?): $(cat pre.err)"
	is_prefix pre.json ref.json ||
		die "evtail output before repair is not a prefix of the reference"

	# acks: complete lines only; a kill may cut the last one short
	if [ -s acks.run ] &&
		[ "$(tail -c 1 acks.run | od -An -c | tr -d ' ')" != '\n' ]; then
		sed -i '$d' acks.run
	fi
	cat acks.run >>acks.all
	bad=$(awk -v last="$last_ack" '
		NR == FNR { ids[$1] = $0; next }
		{
			if (NF != 2 || !($1 in ids) || ids[$1] != $0) {
				print "ack \"" $0 "\" names no such event"; exit
			}
			if ($1 + 0 <= last + 0) {
				print "ack offset " $1 " after " last; exit
			}
			last = $1
		}
		END { print "LAST " last }' ref.ids acks.run)
	case "$bad" in
	LAST*) last_ack=${bad#LAST } ;;
	*) die "$bad" ;;
	esac

	# The fresh writer's automatic tail repair.  It must run to the end
	# before the next run resumes: it may adopt complete batches that were
	# written but not yet published, and the resume point counts them.
	evpub log </dev/null 2>rep.err ||
		die "fresh writer failed ($?): $(cat rep.err)"
	only_notices rep.err "the fresh writer"
	[ "$(wc -l <rep.err)" -le 1 ] ||
		die "more than one notice: $(cat rep.err)"
	notices=$((notices + $(wc -l <rep.err)))
	evctl verify log >verify.out 2>verify.err ||
		die "evctl verify failed ($?): $(cat verify.out verify.err)"

	evtail log >post.json 2>post.err ||
		die "evtail failed after repair ($?): $(cat post.err)"
	is_prefix post.json ref.json ||
		die "evtail output after repair is not a prefix of the reference"
	pre=$(stat -c %s pre.json)
	post=$(stat -c %s post.json)
	[ "$post" -ge "$pre" ] || die "the repair lost events readers had seen"
	[ "$post" -eq "$pre" ] || adopted=$((adopted + 1))
	k=$(wc -l <post.json)
	[ "$last_ack" -lt "$k" ] ||
		die "acknowledged offset $last_ack is missing (log has $k events)"
}

cd "$work" || exit 1

case "$mode" in
random)
	kills=$3
	seed=$4
	RANDOM=$seed
	n=$((kills * 150 + 2000))
	prepare "$n" "$seed"
	mkfifo pipe || exit 1
	recovery_kills=0
	for i in $(seq 1 "$kills"); do
		[ "$k" -lt $((n - 500)) ] || die "reference exhausted; raise n"
		# (RANDOM is reseeded in subshells: draw in this shell only)
		tseed=$RANDOM
		tail -n +$((k + 1)) ref.json |
			"$EVTEST" trickle "$tseed" 4 3000 >pipe &
		feeder=$!
		# empty them here: a kill that lands before the child has
		# opened them would leave the last run's acks to be read again
		: >acks.run
		: >err.run
		evpub --ack --batch-events 4 --linger 2ms log <pipe >acks.run \
			2>err.run &
		pub=$!
		# mostly mid-stream, sometimes during start-up recovery
		if [ $((RANDOM % 5)) -eq 0 ]; then
			ms=$((RANDOM % 4))
		else
			ms=$((RANDOM % 80))
		fi
		sleep "$(printf '0.%03d' "$ms")" # a random moment to kill at
		kill -KILL "$pub" 2>/dev/null
		wait "$pub" 2>/dev/null
		st=$?
		kill "$feeder" 2>/dev/null
		wait "$feeder" 2>/dev/null
		[ "$st" -eq 137 ] ||
			die "evpub exited with $st before the kill: $(cat err.run)"
		only_notices err.run "the killed evpub"
		# now and then, kill a fresh writer during its recovery too
		if [ $((RANDOM % 4)) -eq 0 ]; then
			evpub log </dev/null 2>rec.err &
			rec=$!
			ms=$((RANDOM % 3))
			sleep "$(printf '0.%03d' "$ms")" # a random moment
			kill -KILL "$rec" 2>/dev/null
			wait "$rec" 2>/dev/null
			only_notices rec.err "a writer killed during recovery"
			recovery_kills=$((recovery_kills + 1))
		fi
		after_kill
	done
	echo "crash.sh: $kills kills, $k events, $(wc -l <acks.all) acks," \
		"$(ls log/*.seg | wc -l) segments, $notices torn-tail notices," \
		"$recovery_kills kills during recovery, $adopted repairs adopted" \
		"unpublished batches"
	;;
points)
	so=$3
	# enough events for every run to reach its crash point, rolls included
	prepare 12000 11
	points=0
	# CALL PATH WHEN MAX_N: the Nth such call of a run, N = 1..MAX_N
	while read -r call path when max; do
		for nth in $(seq 1 "$max"); do
			i=$((i + 1))
			what="SIGKILL $when $call #$nth on *$path*"
			[ "$k" -lt 11500 ] || die "reference exhausted"
			tail -n +$((k + 1)) ref.json >feed.json
			EVFI_CALL=$call EVFI_PATH=$path EVFI_NTH=$nth \
				EVFI_KILL=$when EVFI_LOG=$work/fi.log \
				LD_PRELOAD=$so \
				evpub --ack --batch-events 20 log <feed.json \
				>acks.run 2>err.run &
			# waiting on a background job keeps bash's "Killed"
			# report out of the output
			wait $! 2>/dev/null
			st=$?
			[ "$st" -eq 137 ] ||
				die "evpub was not killed (exit $st): $(cat err.run)"
			only_notices err.run "the killed evpub"
			after_kill
			points=$((points + 1))
		done
	done <<-'EOF'
	pwritev .seg before 3
	pwritev .seg after 3
	fdatasync .seg before 3
	fdatasync .seg after 3
	pwrite /head before 3
	pwrite /head after 3
	write .idx before 2
	write .idx after 2
	write .tix after 2
	pwrite .seg before 2
	pwrite .seg after 2
	fsync /log$ before 2
	fsync /log$ after 2
	EOF
	hits=$(wc -l <fi.log)
	[ "$hits" -eq "$points" ] ||
		die "faultinject fired $hits times for $points crash points"
	echo "crash.sh: $points crash points, $k events, $(wc -l <acks.all)" \
		"acks, $(ls log/*.seg | wc -l) segments, $notices torn-tail" \
		"notices, $adopted repairs adopted unpublished batches"
	;;
*)
	echo "usage: crash.sh random WORKDIR KILLS SEED | points WORKDIR SO" >&2
	exit 64
	;;
esac
