#!/bin/bash
# tests/rewrite-crash.sh - crash loops for evreplay --rewrite, run by
# tests/rewrite-crash.bats.
#
#   rewrite-crash.sh random WORKDIR KILLS SEED
#   rewrite-crash.sh points WORKDIR FAULTINJECT_SO
#
# A source log S and two upcaster sets are made once: one that changes
# events and keeps their number (offsets kept, S's group comes along),
# one that drops and splits (offsets change, an offset map).  An
# uninterrupted rewrite of S with each gives the truth: what the new log
# reads as.  Then rewrites, into a new log (--rewrite-to N) or in place
# (of a copy W of S), are killed with SIGKILL, again and again.
#
# random: each kill lands at a random moment of the run, drawn from up
# to 1.3 times an uninterrupted run's duration, the set and the kind of
# rewrite drawn too.
#
# points: tests/faultinject.so raises SIGKILL just before or just after
# the Nth sync or rename of a run, for every kind of both the rewrite
# makes: a deterministic sweep of its crash points, the steps of the
# swap among them.
#
# After each kill:
#   - the source is intact and usable: evctl verify passes, and evtail
#     prints what it printed before;
#   - into N: N is missing, or whole (it reads as the truth, verify
#     passes, and its offset map or groups are there);
#   - in place: W reads as the old log or as the truth, and passes
#     verify;
#   - a rerun of the same command completes (into N: exit 0, or 73 when
#     N was whole already), and leaves the truth at N or W, the old log
#     beside W as W.pre-rewrite-TIME, and nothing else: no temporary log,
#     no marker, no stray offset map.
# The first failure stops the loop with a message naming the iteration;
# rerun with the same arguments to reproduce.
set -u

mode=$1
work=$2
i=0
what=""

die() {
	echo "rewrite-crash.sh: $mode: iteration $i${what:+ ($what)}: $*" >&2
	exit 1
}

# the source, the sets, and the truth of each
prepare() {
	evgen 6000 --seed 21 >gen.ndjson || die "evgen failed"
	evctl init --segment-bytes 64K S >/dev/null || die "evctl init failed"
	evpub S <gen.ndjson || die "evpub failed"
	evtail --group g --to 2999 -o count S >/dev/null ||
		die "evtail --group failed"
	evtail S >orig.json || die "evtail S failed"
	cat >keep.upcast <<-'EOF'
	type OrderPlaced
	from 1
	  default meta.currency "EUR"
	from 2
	  rename data.amount data.total
	EOF
	cat >ds.upcast <<-'EOF'
	type OrderCancelled
	from 1
	  drop
	type OrderPlaced
	from 1
	  default meta.currency "EUR"
	from 2
	  split data.items data.item
	EOF
	for set in keep ds; do
		local start end
		start=${EPOCHREALTIME//[!0-9]/}
		evreplay --rewrite --upcast "$set.upcast" S --rewrite-to "ref-$set" \
			2>/dev/null || die "the uninterrupted rewrite with $set failed"
		end=${EPOCHREALTIME//[!0-9]/}
		evtail "ref-$set" >"want-$set.json" || die "evtail ref-$set failed"
		# microseconds a run takes, for the random kills
		eval "us_$set=$((end - start))"
	done
	cmp -s want-keep.json want-ds.json && die "the two sets give the same log"
	[ "$(wc -l <want-ds.json)" -ne 6000 ] || die "ds.upcast drops and splits nothing"
	kills_rewrite_to=0
	kills_in_place=0
	whole=0
	swapped=0
}

# is the source as it was?
source_intact() {
	evctl verify S >verify.out 2>&1 || die "evctl verify S failed: $(cat verify.out)"
	evtail S 2>tail.err | cmp -s - orig.json ||
		die "S does not read as it did: $(cat tail.err)"
}

# leftovers of a run in the current directory, for log name $1
leftovers() {
	ls -A | grep -E "^\.$1\.rewrite-" || true
}

# checks of a whole new log $1 made with set $2
whole_log() {
	evctl verify "$1" >verify.out 2>&1 ||
		die "evctl verify $1 failed: $(cat verify.out)"
	evtail "$1" 2>tail.err | cmp -s - "want-$2.json" ||
		die "$1 does not read as the truth of $2: $(cat tail.err)"
}

# after the kill of 'evreplay --rewrite --upcast $set.upcast S --rewrite-to N'
after_rewrite_to() {
	local st
	source_intact
	if [ -e N ]; then
		whole_log N "$set"
		whole=$((whole + 1))
		if [ "$set" = keep ]; then
			cmp -s S/groups/g.group N/groups/g.group ||
				die "the group did not come along"
		else
			[ -s N.offsets ] || die "N has no offset map"
		fi
		st=0
		evreplay --rewrite --upcast "$set.upcast" S --rewrite-to N \
			>/dev/null 2>rerun.err || st=$?
		[ "$st" -eq 73 ] || die "a rerun onto a whole N exited $st: $(cat rerun.err)"
	else
		st=0
		evreplay --rewrite --upcast "$set.upcast" S --rewrite-to N \
			>/dev/null 2>rerun.err || st=$?
		[ "$st" -eq 0 ] || die "the rerun failed ($st): $(cat rerun.err)"
		grep -v -e '^evreplay: removed .*, left by an interrupted rewrite$' \
			-e '^evreplay: rewrote ' -e '^evreplay: read ' \
			-e '^evreplay: wrote ' -e 'renumbered' rerun.err >bad.err &&
			die "unexpected stderr from the rerun: $(cat bad.err)"
		whole_log N "$set"
	fi
	[ -z "$(leftovers N)" ] || die "left behind: $(leftovers N)"
	if [ "$set" = keep ]; then
		[ ! -e N.offsets ] || die "an offset map beside a log that kept offsets"
	else
		[ -s N.offsets ] || die "N has no offset map"
	fi
	source_intact
	rm -rf N N.offsets
}

# after the kill of 'evreplay --rewrite --upcast $set.upcast --in-place W'
after_in_place() {
	local st n
	source_intact
	[ -d W ] || die "W is gone"
	evctl verify W >verify.out 2>&1 || die "evctl verify W failed: $(cat verify.out)"
	evtail W >w.json 2>tail.err || die "evtail W failed: $(cat tail.err)"
	if cmp -s w.json "want-$set.json"; then
		swapped=$((swapped + 1))
	elif ! cmp -s w.json orig.json; then
		die "W reads as neither the old log nor the new one"
	fi
	n=$(ls -d W.pre-rewrite-* 2>/dev/null | wc -l)
	if ! cmp -s w.json "want-$set.json" || [ -e .W.rewrite-swap ] ||
		[ "$n" -ne 1 ]; then
		st=0
		evreplay --rewrite --upcast "$set.upcast" --in-place W \
			>/dev/null 2>rerun.err || st=$?
		[ "$st" -eq 0 ] || die "the rerun failed ($st): $(cat rerun.err)"
	else
		whole=$((whole + 1))
	fi
	whole_log W "$set"
	n=$(ls -d W.pre-rewrite-* 2>/dev/null | wc -l)
	[ "$n" -eq 1 ] || die "$n old logs beside W"
	evtail W.pre-rewrite-* | cmp -s - orig.json ||
		die "the old log kept beside W is not the old log"
	[ -z "$(leftovers W)" ] || die "left behind: $(leftovers W)"
	if [ "$set" = keep ]; then
		[ ! -e W.offsets ] || die "an offset map beside a log that kept offsets"
		cmp -s S/groups/g.group W/groups/g.group ||
			die "the group did not come along"
	else
		[ -s W.offsets ] || die "W has no offset map"
	fi
	rm -rf W W.pre-rewrite-* W.offsets
}

cd "$work" || exit 1
export PATH

case "$mode" in
random)
	kills=$3
	seed=$4
	RANDOM=$seed
	prepare
	for i in $(seq 1 "$kills"); do
		# (RANDOM is reseeded in subshells: draw in this shell only)
		if [ $((RANDOM % 2)) -eq 0 ]; then set=keep; else set=ds; fi
		eval "us=\$us_$set"
		us=$((us * 13 / 10 + 1))
		delay=$(((RANDOM * 32768 + RANDOM) % us))
		if [ $((RANDOM % 2)) -eq 0 ]; then
			what="--rewrite-to, $set, after ${delay}us"
			evreplay --rewrite --upcast "$set.upcast" S --rewrite-to N \
				2>run.err &
		else
			what="--in-place, $set, after ${delay}us"
			cp -a S W || die "cp failed"
			evreplay --rewrite --upcast "$set.upcast" --in-place W \
				2>run.err &
		fi
		pid=$!
		sleep "$(printf '%d.%06d' $((delay / 1000000)) $((delay % 1000000)))"
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		if [ -e W ]; then
			kills_in_place=$((kills_in_place + 1))
			after_in_place
		else
			kills_rewrite_to=$((kills_rewrite_to + 1))
			after_rewrite_to
		fi
	done
	echo "rewrite-crash.sh: $kills kills ($kills_rewrite_to --rewrite-to," \
		"$kills_in_place --in-place), $whole finished before the kill," \
		"$swapped in place swapped before the kill"
	;;
points)
	so=$3
	prepare
	points=0
	: >fi.log
	# KIND CALL PATH WHEN MAX_N: the Nth such call of a run, N = 1..MAX_N
	while read -r kind set call path when max; do
		for nth in $(seq 1 "$max"); do
			i=$((i + 1))
			what="$kind $set: SIGKILL $when $call #$nth on *$path*"
			[ "$kind" = in-place ] && { cp -a S W || die "cp failed"; }
			before=$(wc -l <fi.log)
			if [ "$kind" = in-place ]; then
				EVFI_CALL=$call EVFI_PATH=$path EVFI_NTH=$nth \
					EVFI_KILL=$when EVFI_LOG=$work/fi.log \
					LD_PRELOAD=$so evreplay --rewrite \
					--upcast "$set.upcast" --in-place W \
					2>run.err &
			else
				EVFI_CALL=$call EVFI_PATH=$path EVFI_NTH=$nth \
					EVFI_KILL=$when EVFI_LOG=$work/fi.log \
					LD_PRELOAD=$so evreplay --rewrite \
					--upcast "$set.upcast" S --rewrite-to N \
					2>run.err &
			fi
			wait $! 2>/dev/null
			st=$?
			[ "$(wc -l <fi.log)" -gt "$before" ] ||
				die "faultinject did not fire (exit $st): $(cat run.err)"
			[ "$st" -eq 137 ] || die "not killed (exit $st): $(cat run.err)"
			if [ "$kind" = in-place ]; then
				after_in_place
			else
				after_rewrite_to
			fi
			points=$((points + 1))
		done
	done <<-'EOF'
	rewrite-to keep fdatasync .seg before 2
	rewrite-to keep fdatasync /head after 1
	rewrite-to keep fsync rewrite- before 3
	rewrite-to keep rename rewrite- before 3
	rewrite-to keep rename rewrite- after 3
	rewrite-to ds rename rewrite- before 6
	rewrite-to ds rename rewrite- after 6
	in-place keep fdatasync .seg after 2
	in-place keep rename W$ before 1
	in-place keep rename W$ after 1
	in-place keep rename rewrite- before 4
	in-place keep rename rewrite- after 4
	in-place ds rename rewrite- before 7
	in-place ds rename rewrite- after 7
	in-place ds rename W$ after 1
	EOF
	echo "rewrite-crash.sh: $points crash points, $whole finished," \
		"$swapped in place swapped before the kill"
	;;
*)
	echo "usage: rewrite-crash.sh random WORKDIR KILLS SEED | points WORKDIR SO" >&2
	exit 64
	;;
esac
