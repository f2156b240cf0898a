#!/usr/bin/env bats
# tests/statefiles.bats - the files of a log and of a state directory are
# opened as regular files only.  A symbolic link planted in a shared
# directory (by someone who may write there but not elsewhere) is never
# followed: the tool refuses with exit 65 and the link's target is left
# as it was.  A FIFO in place of any of these files never blocks a tool:
# every command runs under 'timeout 10', so a hang fails with 124.
# Caches (indexes, snapshots, type counts) that are not regular files are
# treated as missing, and rebuilt where the tool rebuilds them.

load helper

SEG=00000000000000000000
SYMLINK="a symbolic link, which is not followed"
NOTREG="not a regular file"

# a log L of two events with a group g that has read them, and a file
# 'victim' that no command may write
local_setup() {
	printf '{"type":"A","stream":"s-1"}\n{"type":"B","stream":"s-1"}\n' |
		evpub -c L
	evtail --group g L >/dev/null
	echo precious >victim
}

# plant KIND (symlink or fifo) at L/FILE
plant() {
	rm -f "L/$2"
	if [ "$1" = symlink ]; then
		ln -s "$T/victim" "L/$2"
	else
		mkfifo "L/$2"
	fi
}

# t CMD...: run CMD with a time limit, stdout and stderr apart
t() {
	run --separate-stderr timeout 10 "$@"
}

victim_untouched() {
	[ "$(cat victim)" = precious ]
}

@test "statefiles: a symlink or FIFO as lock or head: evpub and evctl repair refuse (65) and write nothing" {
	local kind f why
	for kind in symlink fifo; do
		why=$SYMLINK
		[ $kind = fifo ] && why=$NOTREG
		for f in lock head; do
			plant $kind $f
			t evpub L A
			assert_status 65
			assert_stdout ""
			assert_stderr "evpub: cannot open 'L/$f' for writing: $why"
			t evctl repair L
			assert_status 65
			assert_stdout ""
			if [ $f = lock ]; then
				assert_stderr "evctl: cannot repair 'L': cannot lock 'L/lock': $why"
			else
				assert_stderr "evctl: cannot repair 'L': cannot write 'L/head': $why"
			fi
			victim_untouched
			rm -f L/$f
			touch L/$f
		done
	done
}

@test "statefiles: a symlink or FIFO as head or meta: readers refuse (65)" {
	local kind why
	for kind in symlink fifo; do
		why=$SYMLINK
		[ $kind = fifo ] && why=$NOTREG
		cp L/head head.saved
		plant $kind head
		t evtail L
		assert_status 65
		assert_stdout ""
		assert_stderr "evtail: cannot read 'L/head': $why"
		rm L/head
		cp head.saved L/head
		cp L/meta meta.saved
		plant $kind meta
		t evtail L
		assert_status 65
		assert_stdout ""
		assert_stderr "evtail: cannot read 'L/meta': $why"
		t evctl verify L
		assert_status 65
		assert_stdout ""
		assert_stderr "evctl: cannot read 'L/meta': $why"
		rm L/meta
		cp meta.saved L/meta
		victim_untouched
	done
}

@test "statefiles: a FIFO as a segment: evtail, evctl and evpub refuse (65) without blocking" {
	plant fifo $SEG.seg
	t evtail L
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: cannot open segment $SEG of 'L': $NOTREG"
	t evctl info L
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: cannot open 'L/$SEG.seg': $NOTREG"
	t evpub L A
	assert_status 65
	assert_stdout ""
	assert_stderr "evpub: cannot open segment 'L/$SEG.seg': $NOTREG"
}

@test "statefiles: a symlink or FIFO as an index is a missing index: read around, reported by verify, replaced by repair" {
	local kind f
	evtail L >want
	for kind in symlink fifo; do
		for f in $SEG.idx $SEG.tix; do
			plant $kind $f
			t evtail L
			assert_status 0
			assert_stdout "$(cat want)"
			assert_stderr ""
			t evtail --since 2000-01-01 L
			assert_status 0
			assert_stdout "$(cat want)"
			t evctl verify L
			assert_status 65
			assert_stdout ""
			assert_stderr "evctl: 'L' is damaged: index '$f' is missing
evctl: run 'evctl repair L' to rebuild the indexes"
			t evctl repair L
			assert_status 0
			assert_stderr ""
			[ -f L/$f ] && [ ! -L L/$f ]
			t evctl verify L
			assert_status 0
			victim_untouched
		done
	done
}

@test "statefiles: a symlink or FIFO as a group's lock or state file: evtail --group refuses (65)" {
	local kind f why
	cp L/groups/g.group saved
	for kind in symlink fifo; do
		why=$SYMLINK
		[ $kind = fifo ] && why=$NOTREG
		plant $kind groups/g.lock
		t evtail --group g L
		assert_status 65
		assert_stdout ""
		assert_stderr "evtail: cannot open 'L/groups/g.lock': $why"
		rm L/groups/g.lock
		plant $kind groups/g.group
		t evtail --group g L
		assert_status 65
		assert_stdout ""
		assert_stderr "evtail: cannot read 'L/groups/g.group': $why"
		rm L/groups/g.group
		cp saved L/groups/g.group
		victim_untouched
	done
	# and in a --state-dir of its own
	mkdir sd
	evtail --group h --state-dir sd L >/dev/null
	ln -s "$T/victim" sd/h.lock.new
	rm sd/h.lock
	mv sd/h.lock.new sd/h.lock
	more_events 1 | evpub L
	t evtail --group h --state-dir sd L
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: cannot open 'sd/h.lock': $SYMLINK"
	victim_untouched
}

@test "statefiles: a symlink or FIFO as --cursor-file is refused (65)" {
	ln -s "$T/victim" cur
	t evtail --cursor-file cur L
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: cannot read cursor file 'cur': $SYMLINK"
	[ -L cur ]
	victim_untouched
	rm cur
	mkfifo cur
	t evtail --cursor-file cur L
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: cannot read cursor file 'cur': $NOTREG"
}

@test "statefiles: a FIFO as a snapshot or the type counts is a missing cache" {
	local f
	evctl init --segment-bytes 64K M
	evgen 3000 --seed 3 | evpub M
	evctl trim --keep-events 100 M >/dev/null
	[ -f M/state/streams ] && [ -f M/state/ids ]
	evctl info --types M >/dev/null
	# a stream the glob matches, so evtail has no empty match to warn of
	echo '{"type":"X","stream":"s-first"}' | evpub M
	evtail --stream 's*' M >want
	for f in state/streams state/ids typecounts; do
		rm M/$f
		mkfifo M/$f
		t evtail --stream 's*' M
		assert_status 0
		assert_stdout "$(cat want)"
		assert_stderr ""
		t evctl info --types M
		assert_status 0
		assert_stderr ""
		echo '{"type":"X","stream":"s-new"}' >one.ndjson
		t evpub -i one.ndjson M
		assert_status 0
		assert_stderr ""
		evtail --stream 's*' M >want
	done
}

@test "statefiles: temporaries get unguessable names, so a planted one is never written through" {
	# the names of old (NAME.tmp.PID.N) were guessable: this shell's pid
	# is the one exec gives evtail
	more_events 1 | evpub L
	run --separate-stderr sh -c '
		for n in 1 2 3; do
			ln -s "$1/victim" "L/groups/g.group.tmp.$$.$n"
		done
		exec evtail --group g L' sh "$T"
	assert_status 0
	assert_stderr ""
	run --separate-stderr sh -c '
		for n in 1 2 3; do
			ln -s "$1/victim" "cur.tmp.$$.$n"
		done
		exec evtail --cursor-file cur L' sh "$T"
	assert_status 0
	assert_stderr ""
	victim_untouched
	[ -f cur ] && [ ! -L cur ]
	[ "$(ls L/groups | grep -c tmp)" = 3 ]
	[ "$(ls | grep -c '^cur.tmp')" = 3 ]
}
