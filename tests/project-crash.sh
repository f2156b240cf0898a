#!/bin/bash
# tests/project-crash.sh - crash loop for evproject, run by
# tests/project-crash.bats.
#
#   project-crash.sh WORKDIR KILLS SEED
#
# The events of one evgen run are appended to a log a chunk at a time.
# After each chunk, evproject folds them into a named projection (a Lua
# projection that also emits an event for every large order), following
# the log and checkpointing every few milliseconds, and is killed with
# SIGKILL at a random moment; now and then a one-shot run is killed
# instead.  After each kill the checkpoint must still load (--status
# exits 0).  At the end a last run completes, and its states must equal
# those of one clean run over the whole log, and the emitted events must
# be exactly those of a clean run: each once, none missing.
#
# The first failure stops the loop with a message naming the iteration;
# rerun with the same arguments to reproduce.
set -u

work=$1
kills=$2
seed=$3
i=0

die() {
	echo "project-crash.sh: iteration $i: $*" >&2
	exit 1
}

RANDOM=$seed
mkdir -p "$work" || exit 1
cd "$work" || exit 1
cat >proj.lua <<'LUA'
return {
  init = function() return { n = 0, amount = 0 } end,
  any = function(s, e)
    s.n = s.n + 1
    if e.data.amount then
      s.amount = s.amount + e.data.amount
      if e.type == "OrderPlaced" and e.data.amount > 20000 then
        emit { type = "BigOrder", stream = e.stream,
               data = { amount = e.data.amount } }
      end
    end
  end,
}
LUA
per=$((kills < 50 ? 400 : 200))
evgen $((kills * per + per)) --seed "$seed" --streams 300 >all.ndjson ||
	die "evgen failed"
split -l "$per" -d -a 5 all.ndjson chunk. || die "split failed"
evctl init log.evlog >/dev/null || die "evctl init failed"
evctl init emit.evlog >/dev/null || die "evctl init emit failed"

for chunk in chunk.*; do
	i=$((i + 1))
	[ "$i" -gt "$kills" ] && break
	evpub log.evlog <"$chunk" || die "evpub failed"
	if [ $((RANDOM % 4)) -eq 0 ]; then
		evproject -p proj.lua --name crash --emit-to emit.evlog \
			log.evlog >/dev/null 2>err.txt &
	else
		evproject -p proj.lua --name crash --emit-to emit.evlog -f \
			--checkpoint-every 5ms log.evlog >/dev/null 2>err.txt &
	fi
	pid=$!
	sleep "0.0$((RANDOM % 10))$((RANDOM % 10))"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	rc=$?
	# a one-shot run may have ended on its own: it must have succeeded
	if [ "$rc" -ne 137 ] && [ "$rc" -ne 0 ]; then
		die "evproject exited $rc: $(cat err.txt)"
	fi
	# killed before its first save, a projection has no checkpoint yet
	[ -e log.evlog/projections/crash.ckpt ] || continue
	evproject --status --name crash log.evlog >status.txt 2>err.txt ||
		die "the checkpoint does not load after the kill: $(cat err.txt)"
done

# the rest, and a last run that completes
for chunk in chunk.*; do :; done
evpub log.evlog <"$chunk" >/dev/null 2>&1
evproject -p proj.lua --name crash --emit-to emit.evlog -o ndjson \
	log.evlog >states.txt 2>err.txt || die "the last run failed: $(cat err.txt)"
evproject -p proj.lua -o ndjson log.evlog >ref-states.txt 2>err.txt ||
	die "the clean run failed: $(cat err.txt)"
cmp -s states.txt ref-states.txt ||
	die "the states differ from a clean run: $(diff states.txt ref-states.txt | head -5)"
evctl init ref-emit.evlog >/dev/null
# the same name, so the same ids: a checkpoint of its own elsewhere
evproject -p proj.lua --name crash --state-dir ref-state \
	--emit-to ref-emit.evlog log.evlog >/dev/null ||
	die "the clean emitting run failed"
evtail --template '{id} {stream} {data.amount}' emit.evlog | sort >emitted.txt
evtail --template '{id} {stream} {data.amount}' ref-emit.evlog | sort >ref-emitted.txt
cmp -s emitted.txt ref-emitted.txt ||
	die "the emitted events differ from a clean run: $(diff emitted.txt ref-emitted.txt | head -5)"
[ "$(uniq -d emitted.txt | wc -l)" -eq 0 ] || die "an event was emitted twice"
echo "project-crash.sh: $kills kills, $(wc -l <states.txt) partitions and $(wc -l <emitted.txt) emitted events as a clean run gives"
