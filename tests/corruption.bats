#!/usr/bin/env bats
# tests/corruption.bats - damaged logs (issue 2, sections 2.1, 2.3, 2.8, 6
# and 7).  Damage inside the durable range is corruption: verify and
# readers stop with exit 65 naming segment, offset and byte, and print
# nothing false before that.  Indexes and the head are caches that may be
# lost without changing what readers return.  Exit codes are checked
# exactly, so a crash (or a sanitizer report) fails the test.
#
#   EVLOG_SOAK_SCALE    multiplies the random trials (default 1)
#   EVLOG_ROBUST_SEED   replay a run's random positions

load helper
load robust

setup_file() {
	robust_setup_file
	# one pristine log for the whole file: three segments of 64 KiB
	cd "$BATS_FILE_TMPDIR" || return 1
	evgen 1500 --seed 41 >in.ndjson
	evctl init --segment-bytes 64K pristine >/dev/null
	evpub --batch-events 20 pristine <in.ndjson
	evtail pristine >orig.json
	[ "$(ls pristine/*.seg | wc -l)" -eq 3 ]
	# and one segment of 5000 events, with the stream and dedupe snapshot
	# its writer leaves at close, so that the next writer reads none of
	# them: the recovery point tests
	evgen 5000 --seed 42 | evpub -c --batch-events 100 one
	[ -f one/state/streams ] && [ "$(ls one/*.seg | wc -l)" -eq 1 ]
}

local_setup() {
	P=$BATS_FILE_TMPDIR/pristine
	ORIG=$BATS_FILE_TMPDIR/orig.json
	mapfile -t SEGS < <(cd "$P" && ls -- *.seg | sed 's/\.seg$//')
	rm -rf W
	cp -a "$P" W
}

# run_suggested_repair: the 'evctl repair ...' command that the last
# run's stderr suggests, run as it is: it must succeed
run_suggested_repair() {
	local cmd
	cmd=$(grep -o "'evctl repair [^']*'" <<<"$stderr" | tr -d "'")
	[ -n "$cmd" ] || {
		echo "no repair command suggested in: $stderr" >&2
		return 1
	}
	echo "suggested: $cmd"
	# shellcheck disable=SC2086
	run --separate-stderr $cmd
	assert_status 0
}

# the batch holding byte $2 of segment file $1: "POS BASE COUNT STORED"
batch_at() {
	"$EVTEST" batches "$1" |
		awk -v b="$2" '$1 <= b && b < $1 + 64 + $4 { print; exit }'
}

@test "corruption: random byte flips in segments: verify and evtail stop at the batch, exit 65" {
	local trials=$((8 * ${EVLOG_SOAK_SCALE:-1})) t si seg size pos mask \
		batch bpos bbase off shown=""
	robust_seed
	for t in $(seq 1 "$trials"); do
		rm -rf W
		cp -a "$P" W
		rand_below si ${#SEGS[@]}
		seg=${SEGS[$si]}
		size=$(stat -c %s "W/$seg.seg")
		# past the segment header; its damage has a test of its own
		rand_below pos $((size - 64))
		pos=$((pos + 64))
		rand_below mask 255
		mask=$((mask + 1))
		echo "trial $t: segment $seg, byte $pos, xor $mask"
		shown="$shown $seg@$pos^$mask"
		batch=$(batch_at "W/$seg.seg" "$pos")
		read -r bpos bbase _ _ <<<"$batch"
		"$EVTEST" flip "W/$seg.seg" "$pos" "$mask"

		run --separate-stderr evctl verify W
		assert_status 65
		assert_stderr_contains "segment $seg, offset $bbase, byte $bpos: "

		run --separate-stderr evtail W
		assert_status 65
		assert_stderr_contains "evtail: damaged data in 'W': segment $seg, offset $bbase, byte $bpos: "
		# everything printed is the log as it was, up to the damage
		[ "${#lines[@]}" -eq "$bbase" ]
		if [ "$bbase" -gt 0 ]; then
			cmp <(printf '%s\n' "$output") <(head -n "$bbase" "$ORIG")
		fi

		# a reader that starts past the damaged segment never meets it
		if [ "$si" -lt $((${#SEGS[@]} - 1)) ]; then
			off=$((10#${SEGS[$((si + 1))]}))
			run --separate-stderr evtail --from "$off" W
			assert_status 0
			cmp <(printf '%s\n' "$output") <(tail -n +$((off + 1)) "$ORIG")
		fi
		run --separate-stderr evctl info W
		[ "$status" -eq 0 ] || [ "$status" -eq 65 ]
	done
	echo "# flips (segment@byte^mask):$shown" >&3
}

@test "corruption: a flipped byte in a lone segment file: evtail exits 65" {
	local seg=${SEGS[1]} pos
	robust_seed
	rand_below pos 2000
	pos=$((pos + 64))
	echo "# segment $seg, byte $pos" >&3
	read -r bpos bbase _ _ <<<"$(batch_at "W/$seg.seg" "$pos")"
	"$EVTEST" flip "W/$seg.seg" "$pos" 0x40
	run --separate-stderr evtail "W/$seg.seg"
	assert_status 65
	assert_stderr_contains "offset $bbase, byte $bpos: "
	[ "${#lines[@]}" -eq $((bbase - 10#$seg)) ]
}

@test "corruption: a damaged segment header: evtail names segment, offset and byte" {
	local seg=${SEGS[1]}
	"$EVTEST" flip "W/$seg.seg" 30 0x01
	run --separate-stderr evctl verify W
	assert_status 65
	assert_stderr_contains "$seg"
	run --separate-stderr evtail W
	assert_status 65
	[ "${#lines[@]}" -eq $((10#$seg)) ]
	cmp <(printf '%s\n' "$output") <(head -n $((10#$seg)) "$ORIG")
	assert_stderr_contains "segment $seg, offset $((10#$seg)), byte 0: "
}

@test "corruption: damaged index files change no output; verify reports, repair fixes" {
	local trials=$((4 * ${EVLOG_SOAK_SCALE:-1})) t si seg ext f size pos \
		shown="" from since
	robust_seed
	for t in $(seq 1 "$trials"); do
		for ext in idx tix; do
			rm -rf W
			cp -a "$P" W
			rand_below si ${#SEGS[@]}
			seg=${SEGS[$si]}
			f=$seg.$ext
			size=$(stat -c %s "W/$f")
			rand_below pos "$size"
			echo "trial $t: $f byte $pos"
			shown="$shown $f@$pos"
			"$EVTEST" flip "W/$f" "$pos" 0x10

			run --separate-stderr evtail W
			assert_status 0
			cmp <(printf '%s\n' "$output") "$ORIG"
			# seeks go through the indexes: by offset and by time
			# (the last segment may hold fewer than 333 events)
			for from in $((10#$seg + 1)) \
				$((10#$seg + 333 < 1499 ? 10#$seg + 333 : 1499)) 1499; do
				run --separate-stderr evtail --from "$from" W
				assert_status 0
				cmp <(printf '%s\n' "$output") <(tail -n +$((from + 1)) "$ORIG")
			done
			for since in 2024-01-01T00:00:05Z 2024-01-01T00:00:20Z \
				2024-01-01T00:00:29Z; do
				run --separate-stderr evtail --since "$since" W
				assert_status 0
				cmp <(printf '%s\n' "$output") <(evtail --since "$since" "$P")
			done

			run --separate-stderr evctl verify W
			assert_status 65
			assert_stderr_contains "index '$f'"
			run --separate-stderr evctl repair W
			assert_status 0
			run --separate-stderr evctl verify W
			assert_status 0
			cmp "W/$f" "$P/$f"
		done
	done
	echo "# flips (file@byte):$shown" >&3
}

@test "corruption: missing index files change no output; verify reports, repair rebuilds" {
	local seg=${SEGS[1]}
	rm "W/$seg.idx" "W/$seg.tix"
	run --separate-stderr evtail --from 900 W
	assert_status 0
	cmp <(printf '%s\n' "$output") <(tail -n +901 "$ORIG")
	run --separate-stderr evctl verify W
	assert_status 65
	assert_stderr_contains "index '$seg.idx' is missing"
	run --separate-stderr evctl repair W
	assert_status 0
	cmp "W/$seg.idx" "$P/$seg.idx"
	cmp "W/$seg.tix" "$P/$seg.tix"
	run --separate-stderr evctl verify W
	assert_status 0
}

@test "corruption: an index larger than its segment can need is not loaded: bounded reads, same output; verify reports, repair rebuilds" {
	local seg=00000000000000000000 st size
	evgen 3000 --seed 3 | evpub -c B
	st=$(evtail -n 1 --template '{stream}' B)
	evtail --stream "$st" B >want
	[ -s want ]
	size=$(stat -c %s B/$seg.seg)
	# 8 GiB of entries behind a valid header, sparse on disk
	truncate -s 8G B/$seg.idx
	run --separate-stderr strace -f -s 0 -o trace -e trace=read,pread64 \
		timeout 60 evtail --stream "$st" B
	assert_status 0
	assert_stderr ""
	cmp <(printf '%s\n' "$output") want
	# no single read of more than 1 MiB: the index was not loaded whole
	run awk 'match($0, /(read|pread64)\([0-9]+, ""\.\.\., [0-9]+/) {
			n = substr($0, RSTART, RLENGTH); sub(/.*, /, "", n)
			if (n + 0 > 1048576) { print; bad = 1 }
		} END { exit bad }' trace
	assert_status 0
	run --separate-stderr evctl verify B
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: 'B' is damaged: index '$seg.idx' has 1073741822 entries, more than its segment of $size bytes can need ($((size / 4096 + 1)))
evctl: run 'evctl repair B' to rebuild the indexes"
	run --separate-stderr evctl repair B
	assert_status 0
	[ "$(stat -c %s B/$seg.idx)" -lt 4096 ]
	run --separate-stderr evctl verify B
	assert_status 0
	truncate -s 8G B/$seg.tix
	run --separate-stderr evctl verify B
	assert_status 65
	assert_stderr_contains "evctl: 'B' is damaged: index '$seg.tix' has 536870911 entries, more than its segment of $size bytes can need"
	run --separate-stderr timeout 60 evtail --since 2000-01-01 --stream "$st" B
	assert_status 0
	cmp <(printf '%s\n' "$output") want
}

@test "corruption: a flipped byte in the head file: readers stay correct" {
	local t pos shown=""
	robust_seed
	for t in 1 2 3 4; do
		rm -rf W
		cp -a "$P" W
		rand_below pos 64
		shown="$shown $pos"
		echo "head byte $pos"
		"$EVTEST" flip W/head "$pos" 0x20
		run --separate-stderr evtail W
		assert_status 0
		cmp <(printf '%s\n' "$output") "$ORIG"
		run --separate-stderr evtail --from 1200 W
		assert_status 0
		cmp <(printf '%s\n' "$output") <(tail -n +1201 "$ORIG")
		run --separate-stderr evctl verify W
		assert_status 0
		# the next writer rebuilds the head exactly
		run --separate-stderr evpub W </dev/null
		assert_status 0
		assert_stderr_contains "head file of 'W' is missing or damaged"
		cmp W/head "$P/head"
	done
	echo "# head bytes flipped:$shown" >&3
}

@test "corruption: an unknown incompatible feature flag: readers refuse with exit 65" {
	local seg=${SEGS[2]}
	"$EVTEST" seghdr-flags "W/$seg.seg" 0 0x100
	run --separate-stderr evtail W
	assert_status 65
	assert_stderr_contains "$seg"
	assert_stderr_contains "incompatible features 0x00000100"
	# the segments before it are still read
	cmp <(printf '%s\n' "$output") <(head -n $((10#$seg)) "$ORIG")
	run --separate-stderr evtail "W/$seg.seg"
	assert_status 65
	assert_stderr_contains "incompatible features 0x00000100"
	[ -z "$output" ]
	run --separate-stderr evctl verify W
	assert_status 65
	assert_stderr_contains "incompatible features 0x00000100"
}

@test "corruption: an unknown incompatible feature flag: writers refuse to append" {
	local seg=${SEGS[2]}
	"$EVTEST" seghdr-flags "W/$seg.seg" 0 0x100
	cp "W/$seg.seg" before.seg
	run --separate-stderr evpub W <<<'{"type":"X"}'
	assert_status 65
	assert_stderr_contains "incompatible features 0x00000100"
	cmp "W/$seg.seg" before.seg
}

@test "corruption: an unknown incompatible feature flag is no damage: repair leaves it" {
	local seg=${SEGS[2]}
	"$EVTEST" seghdr-flags "W/$seg.seg" 0 0x100
	# neither verify nor repair may point at --truncate-damaged: it would
	# move a newer version's valid segment out of the log
	run --separate-stderr evctl verify W
	assert_status 65
	echo "verify: $stderr"
	refute grep -q -- --truncate-damaged <<<"$stderr"
	run --separate-stderr evctl repair W
	[ "$status" -ne 0 ]
	echo "repair: $stderr"
	refute grep -q -- --truncate-damaged <<<"$stderr"
	[ -f "W/$seg.seg" ]
}

@test "corruption: an unknown compatible feature flag: readers and writers go on" {
	local seg=${SEGS[2]}
	"$EVTEST" seghdr-flags "W/$seg.seg" 0x4 0
	run --separate-stderr evtail W
	assert_status 0
	cmp <(printf '%s\n' "$output") "$ORIG"
	run --separate-stderr evctl verify W
	assert_status 0
	run --separate-stderr evpub --ack W <<<'{"type":"X"}'
	assert_status 0
	[ "${output%% *}" = 1500 ]
	run --separate-stderr evctl verify W
	assert_status 0
}

# A log whose last two batches were written but never published (the head
# is from before them), and the first of them damaged: corruption, since a
# valid batch follows.
unpublished_damage() {
	evctl init M >/dev/null
	head -n 100 "$BATS_FILE_TMPDIR/in.ndjson" | evpub --batch-events 20 M
	cp M/head head.before
	Pend=$(stat -c %s M/00000000000000000000.seg)
	sed -n 101,140p "$BATS_FILE_TMPDIR/in.ndjson" | evpub --batch-events 20 M
	cp head.before M/head
	"$EVTEST" flip M/00000000000000000000.seg $((Pend + 200)) 0x01
	cp M/00000000000000000000.seg damaged.seg
}

@test "corruption: damage past the durable end with a valid batch after it: the writer refuses" {
	unpublished_damage
	run --separate-stderr evpub M <<<'{"type":"X"}'
	assert_status 65
	assert_stderr_contains "segment 00000000000000000000, byte $Pend"
	# the repair it suggests is the one that works: a plain repair
	# would refuse
	assert_stderr_contains "evpub: run 'evctl verify M' to inspect and 'evctl repair --truncate-damaged M' to fix it, moving the damaged part to lost+found/"
	# nothing truncated silently, nothing appended
	cmp M/00000000000000000000.seg damaged.seg
	cmp M/head head.before
	# readers stop at the head as before
	run --separate-stderr evtail M
	assert_status 0
	[ "${#lines[@]}" -eq 100 ]
	# repair refuses without --truncate-damaged, and keeps the cut bytes
	run --separate-stderr evctl repair M
	assert_status 65
	cmp M/00000000000000000000.seg damaged.seg
	run --separate-stderr evctl repair --truncate-damaged M
	assert_status 0
	[ "$(stat -c %s M/00000000000000000000.seg)" -eq "$Pend" ]
	cmp M/lost+found/00000000000000000000.seg.from-byte-$Pend \
		<(tail -c +$((Pend + 1)) damaged.seg)
	run --separate-stderr evpub --ack M <<<'{"type":"X"}'
	assert_status 0
	[ "${output%% *}" = 100 ]
	run --separate-stderr evctl verify M
	assert_status 0
}

@test "corruption: a segment copied under the head segment's name: the writer refuses before cutting anything" {
	local head=W/${SEGS[2]}.seg
	cp W/"${SEGS[0]}".seg copy.seg
	cp copy.seg "$head"
	cp W/head head.before
	run --separate-stderr evpub W <<<'{"type":"X"}'
	assert_status 65
	assert_stdout ""
	assert_stderr "evpub: log 'W' is damaged: segment ${SEGS[2]}, byte 0: segment header names another offset; refusing to append
evpub: run 'evctl verify W' to inspect and 'evctl repair --truncate-damaged W' to fix it, moving the damaged part to lost+found/"
	# not one byte cut from it, and the head as it was
	cmp "$head" copy.seg
	cmp W/head head.before
}

@test "corruption: a head segment that is a symbolic link: the writer refuses and leaves its target alone" {
	local name=${SEGS[2]}.seg
	mv W/"$name" outside.seg
	printf 'torn tail' >>outside.seg
	cp outside.seg outside.before
	ln -s ../outside.seg W/"$name"
	run --separate-stderr evpub W <<<'{"type":"X"}'
	assert_status 65
	assert_stdout ""
	assert_stderr "evpub: log 'W': segment '$name' is a symbolic link; refusing to append"
	cmp outside.seg outside.before
	[ -L W/"$name" ]
}

@test "corruption: a head whose salt is not its segment's: verify, evtail and evpub all refuse, naming byte 0" {
	local rp seg=${SEGS[2]}
	rp=$("$EVTEST" head W/head | cut -d' ' -f4)
	# the salt is bytes 32..39; the CRC made to match again
	"$EVTEST" flip W/head 32 1 >/dev/null
	"$EVTEST" head-rp W/head "$rp"
	run --separate-stderr evctl verify W
	assert_status 65
	assert_stdout ""
	assert_stderr_contains "evctl: 'W' is damaged: segment $seg, offset $((10#$seg)), byte 0: head file does not match the segment"
	run --separate-stderr evtail W
	assert_status 65
	assert_stderr "evtail: damaged data in 'W': segment $seg, offset $((10#$seg)), byte 0: head file does not match the segment
evtail: run 'evctl verify W' for details"
	run --separate-stderr evpub W <<<'{"type":"X"}'
	assert_status 65
	assert_stderr_contains "evpub: log 'W' is damaged: segment $seg, byte 0: segment header does not match the head file; refusing to append"
}

@test "corruption: the repair evpub suggests for a damaged log is one that works" {
	# damage past the durable end, with a valid batch after it
	unpublished_damage
	run --separate-stderr evpub M <<<'{"type":"X"}'
	assert_status 65
	run_suggested_repair
	run --separate-stderr evpub M <<<'{"type":"X"}'
	assert_status 0
	# a damaged header of the head segment
	rm -rf H
	cp -a W H
	local last
	last=$(ls H/*.seg | tail -n 1)
	printf '\xff' | dd of="$last" bs=1 seek=20 conv=notrunc status=none
	run --separate-stderr evpub H <<<'{"type":"X"}'
	assert_status 65
	assert_stdout ""
	assert_stderr_contains "evctl repair --truncate-damaged H"
	run_suggested_repair
	run --separate-stderr evpub H <<<'{"type":"X"}'
	assert_status 0
	# a head segment shorter than its durable end
	rm -rf S
	cp -a W S
	last=$(ls S/*.seg | tail -n 1)
	truncate -s $(($(stat -c %s "$last") - 100)) "$last"
	run --separate-stderr evpub S <<<'{"type":"X"}'
	assert_status 65
	run_suggested_repair
	run --separate-stderr evpub S <<<'{"type":"X"}'
	assert_status 0
	# bit rot inside the head segment, checked by the writer
	rotten_one
	"$EVTEST" head-rp R/head 0
	run --separate-stderr evpub R T
	assert_status 65
	run_suggested_repair
	run --separate-stderr evpub R T
	assert_status 0
}

@test "corruption: verify reports damage the writer refuses, past the durable end" {
	unpublished_damage
	# the writer's refusal sends the user to 'evctl verify', which must
	# then say what is wrong rather than 'ok'
	run --separate-stderr evctl verify M
	assert_status 65
	assert_stderr_contains "segment 00000000000000000000, offset 100, byte $Pend"
}

# R: a copy of the one-segment log with a byte in its second batch's
# payload flipped, after its writer had checked and synced it all (bit
# rot).  BPOS is that batch's position, B3 the next one's, END the
# durable end.
rotten_one() {
	rm -rf R
	cp -a "$BATS_FILE_TMPDIR/one" R
	read -r BPOS _ _ _ < <("$EVTEST" batches R/$SEG0.seg | sed -n 2p)
	read -r B3 _ _ _ < <("$EVTEST" batches R/$SEG0.seg | sed -n 3p)
	read -r _ END _ _ < <("$EVTEST" head R/head)
	"$EVTEST" flip R/$SEG0.seg $((BPOS + 64 + 10)) 0x40 >/dev/null
}
SEG0=00000000000000000000

@test "corruption: damage before the recovery point: the writer appends; readers and verify stop at it" {
	local rp
	rotten_one
	# the writer of the log recorded that it checked all of it
	read -r _ _ _ rp < <("$EVTEST" head R/head)
	[ "$rp" -eq "$END" ]
	run --separate-stderr evpub --ack R T --id after
	assert_status 0
	assert_stdout "5000 after"
	assert_stderr ""
	# readers stop at the damage with exit 65, naming segment, offset
	# and byte, after printing what comes before it
	run --separate-stderr evtail R
	assert_status 65
	assert_stderr_contains "evtail: damaged data in 'R': segment $SEG0, offset 100, byte $BPOS: "
	[ "${#lines[@]}" -eq 100 ]
	cmp <(printf '%s\n' "$output") <(evtail "$BATS_FILE_TMPDIR/one" | head -n 100)
	run --separate-stderr evctl verify R
	assert_status 65
	assert_stderr_contains "segment $SEG0, offset 100, byte $BPOS: batch payload checksum mismatch"
	# and the event is there, after the damage
	run --separate-stderr evtail --from 5000 --template '{offset} {id}' R
	assert_status 0
	assert_stdout "5000 after"
}

@test "corruption: a recovery point of none, off a batch or past the end: the writer checks the whole head segment" {
	local rp
	rotten_one
	cp R/$SEG0.seg rotten.seg
	# none (a log from before recovery points), below the first batch,
	# the first batch and the damaged one (both before the damage, so
	# it is found), inside a batch, past the durable end
	for rp in 0 10 64 "$BPOS" $((B3 - 7)) $((END + 1)) 4294967295; do
		echo "recovery point $rp"
		"$EVTEST" head-rp R/head "$rp"
		cp R/head head.before
		run --separate-stderr evpub R T
		assert_status 65
		assert_stdout ""
		assert_stderr "evpub: log 'R' is damaged: segment $SEG0, byte $BPOS: batch payload checksum mismatch; refusing to append
evpub: run 'evctl verify R' to inspect and 'evctl repair --truncate-damaged R' to fix it, moving the damaged part to lost+found/"
		# nothing appended, nothing cut
		cmp R/$SEG0.seg rotten.seg
		cmp R/head head.before
	done
	# where a batch after the damage starts, it is trusted
	"$EVTEST" head-rp R/head "$B3"
	run --separate-stderr evpub --ack R T --id after
	assert_status 0
	assert_stdout "5000 after"
}

@test "corruption: a recovery point off a batch in a sound log: the writer checks it all, appends, and records the end" {
	local b end rp
	rm -rf R
	cp -a "$BATS_FILE_TMPDIR/one" R
	read -r b _ _ _ < <("$EVTEST" batches R/$SEG0.seg | sed -n 3p)
	"$EVTEST" head-rp R/head $((b + 1))
	run --separate-stderr evpub --ack R T --id after
	assert_status 0
	assert_stdout "5000 after"
	assert_stderr ""
	read -r _ end _ rp < <("$EVTEST" head R/head)
	[ "$rp" -eq "$end" ]
	run --separate-stderr evctl verify R
	assert_status 0
}

# Seeking by offset reads only batch headers up to the batch that holds the
# offset (evlog(5) Indexes), so a damaged payload blocks only the offsets of
# its own batch, in the same segment too; a time seek starts from the time
# index, and without one reads events from the segment's start.
@test "corruption: a damaged batch payload blocks only seeks into its own batch" {
	local seg=${SEGS[0]} bpos bbase count stored next pos
	# a batch in the middle of the first segment, and the one after it
	read -r bpos bbase count stored <<<"$("$EVTEST" batches "W/$seg.seg" | sed -n 20p)"
	next=$((bbase + count))
	pos=$((bpos + 64 + stored / 2))
	"$EVTEST" flip "W/$seg.seg" "$pos" 0x40

	run --separate-stderr evctl verify W
	assert_status 65
	assert_stderr_contains "segment $seg, offset $bbase, byte $bpos: batch payload checksum mismatch"

	for from in $next $((next + 7)); do
		run --separate-stderr evtail --from "$from" W
		assert_status 0
		assert_stderr ""
		cmp <(printf '%s\n' "$output") <(tail -n +$((from + 1)) "$ORIG")
	done
	# without the offset index: headers from the segment's first batch
	rm W/*.idx
	run --separate-stderr evtail --from "$next" W
	assert_status 0
	cmp <(printf '%s\n' "$output") <(tail -n +$((next + 1)) "$ORIG")
	# an offset inside the damaged batch: its payload must be read
	run --separate-stderr evtail --from $((next - 1)) W
	assert_status 65
	assert_stdout ""
	assert_stderr_contains "evtail: damaged data in 'W': segment $seg, offset $bbase, byte $bpos: batch payload checksum mismatch"
	# evtail -i moves past it the same way
	run --separate-stderr evtail -i W <<<"goto $next"
	assert_status 0
	assert_stderr ""
	[[ $output == "$next "* ]]
}

@test "corruption: evtail -i next N prints the events before a damaged batch, then fails" {
	local seg=${SEGS[0]} bpos bbase count stored
	read -r bpos bbase count stored <<<"$("$EVTEST" batches "W/$seg.seg" | sed -n 20p)"
	"$EVTEST" flip "W/$seg.seg" $((bpos + 64 + stored / 2)) 0x40
	run --separate-stderr evtail -i W <<<"format json
goto $((bbase - 4))
next 10
next"
	assert_status 1
	cmp <(printf '%s\n' "$output") <(sed -n "$((bbase - 3)),${bbase}p" "$ORIG")
	assert_stderr "evtail: next: damaged data in 'W': segment $seg, offset $bbase, byte $bpos: batch payload checksum mismatch
evtail: next: damaged data in 'W': segment $seg, offset $bbase, byte $bpos: batch payload checksum mismatch"
}

@test "corruption: a time seek passes a damaged batch whose times are all before it" {
	local seg=${SEGS[0]} bpos bbase count stored next t from want
	read -r bpos bbase count stored <<<"$("$EVTEST" batches "W/$seg.seg" | sed -n 20p)"
	next=$((bbase + count))
	t=$(sed -n "$((next + 3))p" "$ORIG" | grep -o '"time":"[^"]*"' | cut -d'"' -f4)
	# the damaged batch ends before t, as a log appended in time order does
	evtail --from "$bbase" --to $((next - 1)) --template '{time}' "$P" >times
	[ "$(sort times | tail -n 1)" \< "$t" ]
	"$EVTEST" flip "W/$seg.seg" $((bpos + 64 + stored / 2)) 0x40
	# without the time index, from the segment's first batch header
	rm W/*.tix
	for from in "@$t" "@$(sed -n 3p times)"; do
		run --separate-stderr evtail --from "$from" "$P"
		assert_status 0
		want=$output
		run --separate-stderr evtail --from "$from" W
		if [ "$from" = "@$t" ]; then
			assert_status 0
			assert_stderr ""
			[ "$output" = "$want" ]
		else # a time the damaged batch may hold: it must be read
			assert_status 65
			assert_stderr_contains "segment $seg, offset $bbase, byte $bpos: batch payload checksum mismatch"
		fi
	done
	run --separate-stderr evtail -i "$P" <<<"goto @$t"
	assert_status 0
	want=$output
	run --separate-stderr evtail -i W <<<"goto @$t"
	assert_status 0
	assert_stderr ""
	[ "$output" = "$want" ]
	run --separate-stderr evctl verify W
	assert_status 65
}

@test "corruption: a time seek reads batches of events before 1970 as any others" {
	printf '%s\n' '{"type":"A","time":"1960-01-01T00:00:00Z"}' \
		'{"type":"B","time":"1965-01-01T00:00:00Z"}' >old.ndjson
	evpub -c --batch-events 1 O <old.ndjson
	run --separate-stderr evtail --template '{type}' O
	assert_status 0
	assert_stdout "A
B"
	run --separate-stderr evtail --from @1950-01-01 --template '{type}' O
	assert_status 0
	assert_stdout "A
B"
	run --separate-stderr evtail --from @1962-01-01 --template '{type}' O
	assert_status 0
	assert_stdout "B"
}
