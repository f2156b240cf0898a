#!/usr/bin/env bats
# tests/salvage.bats - what evctl repair moves to LOG/lost+found stays
# readable by evtail: every event that can still be recovered, at its
# original offset, with a warning naming each part that cannot be read
# (evtail(1) SALVAGE; issue 9).

load helper
load robust

setup_file() {
	robust_setup_file
}

local_setup() {
	SEG=00000000000000000000
	evgen 300 --seed 5 >"$T/three.ndjson"
}

# byte position of batch K (0-based) of segment file F
batch_pos() {
	"$EVTEST" batches "$1" | sed -n "$(($2 + 1))p" | cut -d' ' -f1
}

# LOG holds three batches of 100 events, at LEVEL; orig.evlog a copy
three_batches() {
	evctl init --level "$1" a.evlog >/dev/null
	evpub --batch-events 100 a.evlog <"$T/three.ndjson"
	cp -a a.evlog orig.evlog
	B1=$(batch_pos a.evlog/$SEG.seg 1)
	B2=$(batch_pos a.evlog/$SEG.seg 2)
	F=a.evlog/lost+found/$SEG.seg.damaged-offsets-100-199
}

repair() {
	run --separate-stderr evctl repair --truncate-damaged "$1"
	assert_status 0
	assert_stderr ""
}

# the original events FROM to TO, as '{offset} {id}'
orig() {
	evtail --template '{offset} {id}' --from "$1" --to "$2" orig.evlog
}

@test "salvage: a damaged batch gives back its events up to the first that does not decode" {
	three_batches 0
	local rpos
	# record 50 of the batch (offset 150) no longer starts as a map
	rpos=$("$EVTEST" records a.evlog/$SEG.seg "$B1" | sed -n 51p | cut -d' ' -f1)
	"$EVTEST" flip a.evlog/$SEG.seg "$rpos" 0x10 >/dev/null
	repair a.evlog
	run --separate-stderr evtail --template '{offset} {id}' "$F"
	assert_status 0
	assert_stdout "$(orig 100 149)"
	assert_stderr "evtail: warning: '$F': bytes 0 to $((B2 - B1 - 1)): batch payload checksum mismatch; recovered offsets 100 to 149 (50 events), unverified: the damage may have changed them; lost offsets 150 to 199 (50 events)"
	# positions are the original offsets
	run --separate-stderr evtail --from 140 --count 3 --template '{offset} {id}' "$F"
	assert_status 0
	assert_stdout "$(orig 140 142)"
	run --separate-stderr evtail -o count "$F"
	assert_status 0
	assert_stdout 50
	# the last events are the last that could be recovered
	run --separate-stderr evtail -n 3 --template '{offset} {id}' "$F"
	assert_status 0
	assert_stdout "$(orig 147 149)"
	run --separate-stderr evtail -n 2 --type 'no-such-type*' "$F"
	assert_status 0
	assert_stdout ""
	# the log itself is read as before: the gap, and no more
	run --separate-stderr evtail -o count a.evlog
	assert_status 0
	assert_stdout 200
}

@test "salvage: a batch whose header is damaged is read from where its payload starts" {
	local level
	for level in 0 1; do
		rm -rf a.evlog orig.evlog
		three_batches $level
		# the base offset field: the header checksum fails
		"$EVTEST" flip a.evlog/$SEG.seg $((B1 + 10)) 0x01 >/dev/null
		repair a.evlog
		run --separate-stderr evtail --template '{offset} {id}' "$F"
		assert_status 0
		assert_stdout "$(orig 100 199)"
		assert_stderr "evtail: warning: '$F': bytes 0 to $((B2 - B1 - 1)): not a valid batch; recovered offsets 100 to 199 (100 events), unverified: the damage may have changed them"
	done
}

@test "salvage: a file that holds nothing recoverable: exit 65, naming what was lost" {
	three_batches 1
	mkdir a.evlog/lost+found
	head -c 500 /dev/zero >a.evlog/lost+found/$SEG.seg.damaged-offsets-5-9
	run --separate-stderr evtail a.evlog/lost+found/$SEG.seg.damaged-offsets-5-9
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: warning: 'a.evlog/lost+found/$SEG.seg.damaged-offsets-5-9': bytes 0 to 499: not a valid batch; lost offsets 5 to 9 (5 events)
evtail: no event could be recovered from 'a.evlog/lost+found/$SEG.seg.damaged-offsets-5-9'"
	# an empty one likewise
	: >a.evlog/lost+found/$SEG.seg.damaged-offsets-7-7
	run --separate-stderr evtail a.evlog/lost+found/$SEG.seg.damaged-offsets-7-7
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: warning: 'a.evlog/lost+found/$SEG.seg.damaged-offsets-7-7': offset 7 (1 event) is not in the file
evtail: no event could be recovered from 'a.evlog/lost+found/$SEG.seg.damaged-offsets-7-7'"
}

# M: 100 published events, then two batches of 20 that were written but
# never published, the first damaged at byte AT of it (a cut, not a gap)
unpublished_damage() {
	local at=$2
	evctl init --level "$1" M >/dev/null
	head -n 100 "$T/three.ndjson" | evpub --batch-events 20 M
	cp M/head head.before
	Pend=$(stat -c %s M/$SEG.seg)
	sed -n 101,140p "$T/three.ndjson" | evpub --batch-events 20 M
	cp -a M orig.evlog
	cp head.before M/head
	if [ "$at" = record5 ]; then
		at=$(("$("$EVTEST" records M/$SEG.seg "$Pend" | sed -n 6p | cut -d' ' -f1)" - Pend))
	fi
	"$EVTEST" flip M/$SEG.seg $((Pend + at)) 0x10 >/dev/null
	repair M
	F=M/lost+found/$SEG.seg.from-byte-$Pend
	[ -f "$F" ]
	P2=$("$EVTEST" batches orig.evlog/$SEG.seg | awk -v p="$Pend" '$1 > p { print $1 - p; exit }')
}

@test "salvage: the bytes cut from a segment give the events they still hold" {
	unpublished_damage 0 record5
	run --separate-stderr evtail --template '{offset} {id}' "$F"
	assert_status 0
	assert_stdout "$(orig 100 104; orig 120 139)"
	assert_stderr "evtail: warning: '$F': bytes 0 to $((P2 - 1)): batch payload checksum mismatch; recovered offsets 100 to 104 (5 events), unverified: the damage may have changed them; lost offsets 105 to 119 (15 events)"
}

@test "salvage: cut bytes that start with a damaged header take their offsets from the log's segment" {
	unpublished_damage 1 10
	run --separate-stderr evtail --template '{offset} {id}' "$F"
	assert_status 0
	assert_stdout "$(orig 100 139)"
	assert_stderr "evtail: warning: '$F': bytes 0 to $((P2 - 1)): not a valid batch; recovered offsets 100 to 119 (20 events), unverified: the damage may have changed them"
	# without the log's segment, the offsets of the damaged bytes are
	# not known: they are lost, and the next batch is read
	mkdir -p x/lost+found
	cp "$F" x/lost+found/
	run --separate-stderr evtail --template '{offset} {id}' "x/lost+found/${F##*/}"
	assert_status 0
	assert_stdout "$(orig 120 139)"
	assert_stderr "evtail: warning: 'x/lost+found/${F##*/}': bytes 0 to $((P2 - 1)): not a valid batch; the events they held are lost, at offsets that are not known"
}

@test "salvage: a segment moved whole for its damaged header is read after the header" {
	evctl init --segment-bytes 64K a.evlog >/dev/null
	evgen 3000 --seed 8 | evpub --batch-events 100 a.evlog
	cp -a a.evlog orig.evlog
	local -a bases
	bases=($(evctl info --json a.evlog | jq '.segment_list[].base'))
	[ "${#bases[@]}" -ge 3 ]
	local s1 s2
	s1=$(printf '%020d' "${bases[1]}")
	s2=$(printf '%020d' "${bases[2]}")
	"$EVTEST" flip a.evlog/$s1.seg 30 0x01 >/dev/null
	repair a.evlog
	# the strict reader refuses it
	cp a.evlog/lost+found/$s1.seg s1.copy
	run --separate-stderr evtail s1.copy
	assert_status 65
	run --separate-stderr evtail --template '{offset} {id}' a.evlog/lost+found/$s1.seg
	assert_status 0
	assert_stdout "$(orig "${bases[1]}" $((bases[2] - 1)))"
	assert_stderr "evtail: warning: 'a.evlog/lost+found/$s1.seg': segment header: header checksum mismatch at byte 0; reading the batches after it"
	# the intact one after it stays in the log, after a gap
	[ ! -e a.evlog/lost+found/$s2.seg ]
	run --separate-stderr evtail --template '{offset} {id}' --from "${bases[2]}" --to $((bases[3] - 1)) a.evlog
	assert_status 0
	assert_stdout "$(orig "${bases[2]}" $((bases[3] - 1)))"
	assert_stderr ""
	# its index files are not segments
	run --separate-stderr evtail a.evlog/lost+found/$s1.idx
	assert_status 65
	assert_stdout ""
}

@test "salvage: --salvage reads a file out of lost+found as one in it" {
	three_batches 0
	local rpos
	rpos=$("$EVTEST" records a.evlog/$SEG.seg "$B1" | sed -n 51p | cut -d' ' -f1)
	"$EVTEST" flip a.evlog/$SEG.seg "$rpos" 0x10 >/dev/null
	repair a.evlog
	cp "$F" saved.bin
	run --separate-stderr evtail saved.bin
	assert_status 66
	assert_stderr "evtail: 'saved.bin' is not an evlog log or segment"
	run --separate-stderr evtail --salvage --template '{offset} {id}' saved.bin
	assert_status 0
	assert_stdout "$(orig 100 149)"
	assert_stderr "evtail: warning: 'saved.bin': bytes 0 to $((B2 - B1 - 1)): batch payload checksum mismatch; recovered offsets 100 to 149 (50 events), unverified: the damage may have changed them; lost offsets 150 to 199 (50 events)"
	# a sound segment is read whole, without a word
	run --separate-stderr evtail --salvage -o count orig.evlog/$SEG.seg
	assert_status 0
	assert_stdout 300
	assert_stderr ""
	# it reads files, not logs
	run --separate-stderr evtail --salvage a.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr_line 0 "evtail: --salvage reads a file, not a log directory"
	run --separate-stderr evtail --salvage nothing-here
	assert_status 66
}

@test "salvage: random damage, then repair: every file in lost+found reads safely, at the offsets it held" {
	local level n=$((12 * ${EVLOG_SOAK_SCALE:-1})) trial k s pos base count len
	local off bit nb f first last
	robust_seed
	for level in 0 1; do
		rm -rf f.evlog
		evctl init --level $level --segment-bytes 64K f.evlog >/dev/null
		evgen 1200 --seed 3 | evpub --batch-events 40 f.evlog
		for s in f.evlog/*.seg; do
			"$EVTEST" batches "$s" | sed "s|^|$s |"
		done >batches.txt
		nb=$(wc -l <batches.txt)
		for ((trial = 0; trial < n; trial++)); do
			rand_below k "$nb"
			read -r s pos base count len < <(sed -n "$((k + 1))p" batches.txt)
			rand_below off $((64 + len))
			rand_below bit 8
			rm -rf c.evlog
			cp -a f.evlog c.evlog
			"$EVTEST" flip "${s/f.evlog/c.evlog}" $((pos + off)) $((1 << bit)) >/dev/null
			evctl repair --truncate-damaged c.evlog >/dev/null
			# a torn tail at the very end is cut, not kept
			for f in c.evlog/lost+found/*; do
				case $f in *.idx | *.tix | 'c.evlog/lost+found/*') continue ;; esac
				run --separate-stderr evtail --template '{offset}' "$f"
				if [ "$status" -ne 0 ] && [ "$status" -ne 65 ]; then
					echo "level $level, bit $bit of byte $((pos + off)) of $s: $f: exit $status: $stderr"
					return 1
				fi
				if [ -n "$output" ] && ! sort -n -c <<<"$output"; then
					echo "$f: offsets out of order"
					return 1
				fi
				case $f in *damaged-offsets-*)
					first=${f##*damaged-offsets-}
					last=${first#*-}
					first=${first%-*}
					if [ -n "$output" ] && awk -v a="$first" -v b="$last" '$1 < a || $1 > b { bad = 1 } END { exit !bad }' <<<"$output"; then
						echo "$f: offsets outside $first to $last: $output"
						return 1
					fi
					;;
				esac
				if grep -v -e "^evtail: warning: '$f': " -e "^evtail: no event could be recovered from '$f'" <<<"$stderr" | grep -q .; then
					echo "$f: unexpected stderr: $stderr"
					return 1
				fi
			done
		done
	done
}
