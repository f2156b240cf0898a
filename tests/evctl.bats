#!/usr/bin/env bats
# evctl: init, info, verify, repair; every option and error path; and
# the projection checkpoints that hold trim back (the rest of trim is in
# groups.bats, with the groups).  The checkpoints are written by evtest
# (tests/evtest.c) from evlog(5) alone.
load helper
load robust

setup_file() {
	robust_setup_file
}

USAGE=$EVCTL_USAGE

usage_err() {
	printf '%s\n%s' "$1" "$(usage_for evctl "$USAGE")"
}

SEG=00000000000000000000

# 300 events in three batches of 100
three_batches() {
	evgen 300 --seed 5 >"$T/three.ndjson"
	evpub -c --batch-events 100 "$1" <"$T/three.ndjson"
}

# byte position of batch K (0-based) in segment file F
batch_pos() {
	local f=$1 k=$2 pos=64 i len
	for ((i = 0; i < k; i++)); do
		len=$(od -An -tu4 -j"$pos" -N4 "$f" | tr -d ' ')
		pos=$((pos + 64 + len))
	done
	echo "$pos"
}

flip_byte() {
	printf '\377' | dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# append the first N bytes of the next batch: an interrupted writer
torn_tail() {
	local log=$1 n=$2 size
	cp -r "$log" "$T/next.evlog"
	evgen 50 --seed 9 | evpub "$T/next.evlog"
	size=$(stat -c %s "$log/$SEG.seg")
	tail -c +$((size + 1)) "$T/next.evlog/$SEG.seg" | head -c "$n" >>"$log/$SEG.seg"
	rm -rf "$T/next.evlog"
}

# ------------------------------------------------------------ top level

@test "evctl -h/--help prints the usage on stdout, exit 0" {
	for h in -h --help; do
		run --separate-stderr evctl "$h"
		assert_status 0
		assert_stderr ""
		assert_stdout_contains "${USAGE%$'\n'Try*}"
		for o in --dedupe-window --level --segment-bytes --sync --json \
			--types --quiet --dry-run --truncate-damaged --category \
			--help --version; do
			assert_stdout_contains "$o"
		done
	done
}

@test "evctl SUBCOMMAND -h prints the usage on stdout, exit 0" {
	for c in init info verify repair; do
		run --separate-stderr evctl "$c" -h
		assert_status 0
		assert_stderr ""
		assert_stdout_line 0 "Usage: evctl init [--correlation-index] [--dedupe-window N] [--level N]"
	done
}

@test "evctl -V/--version prints the tool and library versions" {
	for v in -V --version; do
		run --separate-stderr evctl "$v"
		assert_status 0
		assert_stderr ""
		[[ ${lines[0]} == "evctl "[0-9]* ]]
		[[ ${lines[1]} == *"msgpack-c "*"zstd "* ]]
	done
}

@test "evctl without a command exits 64" {
	run --separate-stderr evctl
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evctl: missing command")"
}

@test "evctl with an unknown command exits 64" {
	run --separate-stderr evctl frob x.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evctl: unknown command 'frob'")"
}

@test "evctl with an unknown option exits 64" {
	run --separate-stderr evctl --bogus
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evctl: unrecognized option '--bogus'")"
}

@test "evctl SUBCOMMAND with an unknown option names evctl and exits 64" {
	for c in init info verify repair; do
		run --separate-stderr evctl "$c" --bogus x.evlog
		assert_status 64
		assert_stdout ""
		# the message starts with the program name, as every other one does
		[[ ${stderr_lines[0]} == "evctl"*": unrecognized option '--bogus'" ]] ||
			{ echo "got: ${stderr_lines[0]}" >&2; false; }
		[ "${stderr#*$'\n'}" = "$(usage_for evctl "$USAGE")" ]
	done
}

@test "evctl SUBCOMMAND without LOG, or with two, exits 64" {
	for c in init info verify repair; do
		run --separate-stderr evctl "$c"
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evctl: $c: expected one LOG operand")"
		run --separate-stderr evctl "$c" a.evlog b.evlog
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evctl: $c: expected one LOG operand")"
	done
	[ ! -e a.evlog ]
}

@test "evctl info, verify, repair on a missing log exit 66" {
	for c in info verify repair; do
		run --separate-stderr evctl "$c" nope.evlog
		assert_status 66
		assert_stdout ""
		assert_stderr "evctl: log 'nope.evlog' does not exist"
	done
}

@test "evctl info, verify, repair on a directory that is not a log exit 66" {
	mkdir plain
	for c in info verify repair; do
		run --separate-stderr evctl "$c" plain
		assert_status 66
		assert_stdout ""
		assert_stderr "evctl: 'plain' is not an evlog log (no meta file)"
	done
}

# ------------------------------------------------------------ init

@test "evctl init creates an empty log with the default settings" {
	run --separate-stderr evctl init a.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	[ -f a.evlog/meta ]
	[ -f a.evlog/$SEG.seg ]
	run --separate-stderr evctl info --json a.evlog
	assert_status 0
	[ "$(jq -c '[.events, .next_offset, .segments, .config]' <<<"$output")" = \
		'[0,0,1,{"segment_bytes":134217728,"level":1,"sync":"batch","dedupe_window":1000000}]' ]
	run --separate-stderr evctl verify a.evlog
	assert_status 0
	assert_stdout "a.evlog: ok, 0 events in 0 batches, 1 segment"
}

@test "evctl init: the log directory's mode follows the umask" {
	(umask 002 && evctl init a.evlog)
	[ "$(stat -c %a a.evlog)" = 775 ]
	(umask 077 && evctl init b.evlog)
	[ "$(stat -c %a b.evlog)" = 700 ]
	(umask 022 && evctl init c.evlog)
	[ "$(stat -c %a c.evlog)" = 755 ]
}

@test "evctl init --level, --segment-bytes, --sync and --dedupe-window are stored" {
	run --separate-stderr evctl init --level 19 --segment-bytes 64K --sync none \
		--dedupe-window 10 a.evlog
	assert_status 0
	assert_stdout ""
	assert_stderr ""
	run evctl info --json a.evlog
	[ "$(jq -c .config <<<"$output")" = '{"segment_bytes":65536,"level":19,"sync":"none","dedupe_window":10}' ]
	run evctl info a.evlog
	assert_stdout_contains "settings:     segment-bytes 65536, level 19, sync none, dedupe-window 10"
	# evpub follows the log's sync policy
	run --separate-stderr evpub -v a.evlog T
	assert_stderr "evpub: 1 event appended, 0 fsyncs"
}

@test "evctl init --segment-bytes rolls segments at that size" {
	evctl init --segment-bytes 64K a.evlog
	evgen 3000 --seed 8 | evpub --batch-events 100 a.evlog
	run evctl info --json a.evlog
	[ "$(jq .segments <<<"$output")" -ge 3 ]
	[ "$(jq '[.segment_list[] | .bytes <= 65536 + 65536] | all' <<<"$output")" = true ]
	[ "$(jq '[.segment_list[].events] | add' <<<"$output")" = 3000 ]
	run evctl verify a.evlog
	assert_status 0
}

@test "evctl init --level 0 stores batches uncompressed; 19 compresses" {
	evctl init --level 0 l0.evlog
	evctl init --level 19 l19.evlog
	evgen 300 --seed 5 >in.ndjson
	evpub l0.evlog <in.ndjson
	evpub l19.evlog <in.ndjson
	local raw s0 s19
	raw=$(evctl info --json l0.evlog | jq .raw_bytes)
	s0=$(evctl info --json l0.evlog | jq .segment_bytes)
	s19=$(evctl info --json l19.evlog | jq .segment_bytes)
	[ "$s0" -gt "$raw" ]
	[ "$s19" -lt $((raw / 2)) ]
	cmp <(evtail l0.evlog) <(evtail l19.evlog)
}

@test "evctl init: bad --level, --segment-bytes and --sync exit 64" {
	for v in 20 -1 x ''; do
		run --separate-stderr evctl init --level "$v" a.evlog
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evctl: --level: '$v' is not a level from 0 to 19")"
	done
	for v in 1K 65535 4G x ''; do
		run --separate-stderr evctl init --segment-bytes "$v" a.evlog
		assert_status 64
		assert_stdout ""
		assert_stderr "$(usage_err "evctl: --segment-bytes: '$v' is not a size from 64K to 4G-1")"
	done
	run --separate-stderr evctl init --sync always a.evlog
	assert_status 64
	assert_stdout ""
	assert_stderr "$(usage_err "evctl: --sync: 'always' is not batch or none")"
	[ ! -e a.evlog ]
	run --separate-stderr evctl init --segment-bytes 4294967295 a.evlog
	assert_status 0
}

@test "evctl init on an existing path fails and leaves it alone" {
	make_log a.evlog 5
	run --separate-stderr evctl init a.evlog
	assert_status 1
	assert_stdout ""
	assert_stderr "evctl: 'a.evlog' already exists"
	[ "$(event_count a.evlog)" = 5 ]
	echo data >file
	run --separate-stderr evctl init file
	assert_status 1
	assert_stderr "evctl: 'file' already exists"
	[ "$(cat file)" = data ]
}

@test "evctl init in a missing directory exits 66, as evctl import does" {
	run --separate-stderr evctl init nodir/a.evlog
	assert_status 66
	assert_stdout ""
	assert_stderr "evctl: cannot create 'nodir/a.evlog': No such file or directory"
}

# ------------------------------------------------------------ info

@test "evctl info prints format, id, events, offsets, bytes, ratio, times, settings" {
	three_batches a.evlog
	run --separate-stderr evctl info a.evlog
	assert_status 0
	assert_stderr ""
	local id
	id=$(evctl info --json a.evlog | jq -r .id)
	assert_stdout_line 0 "log:          a.evlog"
	assert_stdout_line 1 "format:       1"
	assert_stdout_line 2 "id:           $id"
	[[ ${lines[3]} =~ ^created:\ {6}20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$ ]]
	assert_stdout_line 4 "events:       300"
	assert_stdout_line 5 "offsets:      0 to 299"
	assert_stdout_line 6 "segments:     1"
	[[ ${lines[7]} =~ ^bytes:\ {8}[0-9,]+\ on\ disk\ \(segments\ [0-9,]+,\ indexes\ [0-9,]+\)$ ]]
	[[ ${lines[8]} =~ ^records:\ {6}97,547\ bytes\ uncompressed,\ ratio\ [0-9]+\.[0-9]{2}$ ]]
	assert_stdout_line 9 "event time:   2024-01-01T00:00:00.038Z to 2024-01-01T00:00:06.482Z"
	[[ ${lines[10]} =~ ^append\ time:\ \ 20.*Z\ to\ 20.*Z$ ]]
	assert_stdout_line 11 "settings:     segment-bytes 134217728, level 1, sync batch, dedupe-window 1000000"
	[ "${#lines[@]}" = 12 ]
}

@test "evctl info on an empty log" {
	evctl init e.evlog
	run --separate-stderr evctl info e.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout_line 4 "events:       0"
	assert_stdout_line 5 "offsets:      none (next 0)"
	assert_stdout_line 8 "records:      0 bytes uncompressed, ratio 0.00"
	assert_stdout_line 9 "event time:   - to -"
	assert_stdout_line 10 "append time:  - to -"
}

@test "evctl info --json gives every key, consistent with the log" {
	evctl init --segment-bytes 64K a.evlog
	evgen 3000 --seed 8 >in.ndjson
	evpub --batch-events 100 a.evlog <in.ndjson
	run --separate-stderr evctl info --json a.evlog
	assert_status 0
	assert_stderr ""
	local j=$output
	# exactly these keys
	[ "$(jq -c 'keys' <<<"$j")" = '["bytes","config","created","events","first_append","first_offset","format","gap_events","gaps","id","index_bytes","last_append","max_time","min_time","next_offset","path","ratio","raw_bytes","segment_bytes","segment_list","segments"]' ]
	[ "$(jq -c '[.segment_list[] | keys] | unique' <<<"$j")" = '[["base","batches","bytes","events","index_bytes","max_time","min_time","next"]]' ]
	[ "$(jq -c '.config | keys' <<<"$j")" = '["dedupe_window","level","segment_bytes","sync"]' ]
	# values
	jq -e '.path == "a.evlog" and .format == 1' <<<"$j" >/dev/null
	jq -e '.id | test("^[0-9a-f]{32}$")' <<<"$j" >/dev/null
	jq -e '.created | test("^20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")' <<<"$j" >/dev/null
	jq -e '.events == 3000 and .first_offset == 0 and .next_offset == 3000' <<<"$j" >/dev/null
	jq -e '.segments == (.segment_list | length) and .segments >= 3' <<<"$j" >/dev/null
	jq -e '.bytes == .segment_bytes + .index_bytes' <<<"$j" >/dev/null
	jq -e '.segment_bytes == ([.segment_list[].bytes] | add)' <<<"$j" >/dev/null
	jq -e '.index_bytes == ([.segment_list[].index_bytes] | add)' <<<"$j" >/dev/null
	jq -e '(.raw_bytes / .bytes * 1000 | round) == (.ratio * 1000 | round)' <<<"$j" >/dev/null
	jq -e '.raw_bytes > .segment_bytes' <<<"$j" >/dev/null
	[ "$(jq -r .min_time <<<"$j")" = "$(jq -r .time in.ndjson | sort | head -n 1)" ]
	[ "$(jq -r .max_time <<<"$j")" = "$(jq -r .time in.ndjson | sort | tail -n 1)" ]
	jq -e '.first_append <= .last_append and (.last_append | test("Z$"))' <<<"$j" >/dev/null
	jq -e '.config == {"segment_bytes":65536,"level":1,"sync":"batch","dedupe_window":1000000}' <<<"$j" >/dev/null
	# segments are contiguous and add up
	jq -e '.segment_list[0].base == 0 and .segment_list[-1].next == 3000' <<<"$j" >/dev/null
	jq -e '[range(1; .segments) as $i | .segment_list[$i].base == .segment_list[$i - 1].next] | all' <<<"$j" >/dev/null
	jq -e '[.segment_list[] | .events == .next - .base] | all' <<<"$j" >/dev/null
	jq -e '([.segment_list[].batches] | add) == 30' <<<"$j" >/dev/null
	jq -e '[.segment_list[] | .min_time <= .max_time] | all' <<<"$j" >/dev/null
	jq -e 'has("types") | not' <<<"$j" >/dev/null
	# the file sizes on disk
	[ "$(jq .segment_list[0].bytes <<<"$j")" = "$(stat -c %s a.evlog/$SEG.seg)" ]
	[ "$(jq .segment_list[0].index_bytes <<<"$j")" = \
		"$(($(stat -c %s a.evlog/$SEG.idx) + $(stat -c %s a.evlog/$SEG.tix)))" ]
}

@test "evctl info --json on an empty log uses null times" {
	evctl init e.evlog
	run --separate-stderr evctl info --json e.evlog
	assert_status 0
	assert_stderr ""
	jq -e '.events == 0 and .min_time == null and .max_time == null and .first_append == null and .last_append == null and .ratio == 0' <<<"$output" >/dev/null
	jq -e '.segment_list[0] | .batches == 0 and .min_time == null' <<<"$output" >/dev/null
}

@test "evctl info --types counts events per type, most first" {
	three_batches a.evlog
	run --separate-stderr evctl info --types a.evlog
	assert_status 0
	assert_stderr ""
	local want
	want=$(jq -r .type "$T/three.ndjson" | sort | uniq -c | sort -k1,1nr -k2 |
		awk '{ printf "  %12s  %s\n", $1, $2 }')
	[ "$(sed -n '/^types:$/,$p' <<<"$output")" = "types:
$want" ]
	run --separate-stderr evctl info --json --types a.evlog
	assert_status 0
	assert_stderr ""
	[ "$(jq -c '.types | to_entries | map([.key, .value])' <<<"$output")" = \
		"$(jq -r .type "$T/three.ndjson" | sort | uniq -c | sort -k1,1nr -k2 |
			jq -Rsc 'split("\n") | map(select(. != "") | capture(" *(?<n>[0-9]+) (?<t>.*)") | [.t, (.n | tonumber)])')" ]
}

@test "evctl info --types uses thousands separators; empty log has no types" {
	evgen 1500 --seed 1 | sed 's/"type":"[A-Za-z]*"/"type":"Same"/' | evpub -c a.evlog
	run --separate-stderr evctl info --types a.evlog
	assert_status 0
	assert_stdout_contains "types:
         1,500  Same"
	evctl init e.evlog
	run --separate-stderr evctl info --types --json e.evlog
	assert_status 0
	jq -e '.types == {}' <<<"$output" >/dev/null
}

# ------------------------------------------------------------ verify

@test "evctl verify on a clean log prints the ok line, exit 0" {
	evctl init --segment-bytes 64K a.evlog
	evgen 3000 --seed 8 | evpub --batch-events 100 a.evlog
	local segs
	segs=$(evctl info --json a.evlog | jq .segments)
	run --separate-stderr evctl verify a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "a.evlog: ok, 3,000 events in 30 batches, $segs segments"
}

@test "evctl verify -q/--quiet prints nothing on a clean log" {
	three_batches a.evlog
	for q in -q --quiet; do
		run --separate-stderr evctl verify "$q" a.evlog
		assert_status 0
		assert_stdout ""
		assert_stderr ""
	done
}

@test "evctl verify on damage names segment, offset and byte, exit 65" {
	three_batches a.evlog
	local b1
	b1=$(batch_pos a.evlog/$SEG.seg 1)
	flip_byte a.evlog/$SEG.seg $((b1 + 64 + 10))
	run --separate-stderr evctl verify a.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: 'a.evlog' is damaged: segment $SEG, offset 100, byte $b1: batch payload checksum mismatch
evctl: run 'evctl repair a.evlog' to truncate a torn tail; damage before it needs --truncate-damaged"
	# -q does not hide damage
	run --separate-stderr evctl verify -q a.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr_contains "is damaged"
}

@test "evctl verify on a damaged batch header" {
	three_batches a.evlog
	local b2
	b2=$(batch_pos a.evlog/$SEG.seg 2)
	flip_byte a.evlog/$SEG.seg $((b2 + 20))
	run --separate-stderr evctl verify a.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr_contains "evctl: 'a.evlog' is damaged: segment $SEG, offset 200, byte $b2: "
}

@test "evctl verify on damage in a later segment names that segment" {
	evctl init --segment-bytes 64K a.evlog
	evgen 3000 --seed 8 | evpub --batch-events 100 a.evlog
	local base name b1
	base=$(evctl info --json a.evlog | jq '.segment_list[1].base')
	name=$(printf '%020d' "$base")
	b1=$(batch_pos "a.evlog/$name.seg" 1)
	flip_byte "a.evlog/$name.seg" $((b1 + 64 + 100))
	run --separate-stderr evctl verify a.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr_line 0 "evctl: 'a.evlog' is damaged: segment $name, offset $((base + 100)), byte $b1: batch payload checksum mismatch"
}

@test "evctl verify: a torn tail is reported on stderr but is not damage" {
	three_batches a.evlog
	torn_tail a.evlog 1000
	run --separate-stderr evctl verify a.evlog
	assert_status 0
	assert_stdout "a.evlog: ok, 300 events in 3 batches, 1 segment"
	assert_stderr "evctl: segment $SEG: 1000 bytes past the durable end, left by an interrupted writer (the next writer adopts 0 complete events and cuts the rest)"
}

@test "evctl verify beside a writer holding the lock: its bytes past the durable end are not an interrupted writer's" {
	three_batches a.evlog
	torn_tail a.evlog 1000
	# a writer mid-batch holds the log lock
	(exec 9>>a.evlog/lock && flock 9 && exec sleep 30) 3>&- &
	BG=$!
	wait_for "! flock -n a.evlog/lock true" 5 "the lock to be held"
	run --separate-stderr evctl verify a.evlog
	assert_status 0
	assert_stdout "a.evlog: ok, 300 events in 3 batches, 1 segment"
	assert_stderr ""
	kill "$BG"
	wait "$BG" 2>/dev/null || true
	BG=
	# once it is gone, they are what it left
	run --separate-stderr evctl verify a.evlog
	assert_status 0
	assert_stderr "evctl: segment $SEG: 1000 bytes past the durable end, left by an interrupted writer (the next writer adopts 0 complete events and cuts the rest)"
}

@test "evctl verify: a segment shorter than its durable end names the right offset" {
	three_batches a.evlog
	local b2 size
	b2=$(batch_pos a.evlog/$SEG.seg 2)
	size=$(stat -c %s a.evlog/$SEG.seg)
	truncate -s $((size - 50)) a.evlog/$SEG.seg
	run --separate-stderr evctl verify a.evlog
	assert_status 65
	assert_stdout ""
	# the damaged batch is the third one: offset 200 at byte b2
	assert_stderr_contains "evctl: 'a.evlog' is damaged: segment $SEG, offset 200, "
}

@test "evctl verify checks the indexes" {
	evctl init --segment-bytes 64K a.evlog
	evgen 3000 --seed 8 | evpub --batch-events 100 a.evlog
	cp -r a.evlog b.evlog
	rm a.evlog/$SEG.idx
	run --separate-stderr evctl verify a.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: 'a.evlog' is damaged: index '$SEG.idx' is missing
evctl: run 'evctl repair a.evlog' to rebuild the indexes"
	# an entry pointing at the wrong byte (entries: u32 offset, u32 byte)
	flip_byte b.evlog/$SEG.idx $((16 + 8 * 2 + 4))
	run --separate-stderr evctl verify b.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: 'b.evlog' is damaged: index '$SEG.idx': entry 2 does not match the segment
evctl: run 'evctl repair b.evlog' to rebuild the indexes"
	# readers are never misled by a bad index
	run evtail --from 250 --count 1 --template '{offset}' b.evlog
	assert_stdout 250
}

@test "evctl verify: a garbage first index entry is damage" {
	evctl init --segment-bytes 64K a.evlog
	evgen 3000 --seed 8 | evpub --batch-events 100 a.evlog
	printf 'garbagegarbage!!' | dd of=a.evlog/$SEG.idx bs=1 seek=16 conv=notrunc 2>/dev/null
	run --separate-stderr evctl verify a.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr_contains "index '$SEG.idx'"
	run evtail --from 250 --count 1 --template '{offset}' a.evlog
	assert_stdout 250
}

# ------------------------------------------------------------ repair

@test "evctl repair on a clean log changes nothing" {
	three_batches a.evlog
	cp a.evlog/$SEG.seg before.seg
	run --separate-stderr evctl repair a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "a.evlog: repaired"
	cmp before.seg a.evlog/$SEG.seg
	[ "$(event_count a.evlog)" = 300 ]
}

@test "evctl repair truncates a torn tail; --dry-run only says so" {
	three_batches a.evlog
	local size
	size=$(stat -c %s a.evlog/$SEG.seg)
	torn_tail a.evlog 1000
	run --separate-stderr evctl repair --dry-run a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "would truncate a torn tail of 1000 bytes at byte $size of segment $SEG
a.evlog: dry run done"
	[ "$(stat -c %s a.evlog/$SEG.seg)" = $((size + 1000)) ]
	run --separate-stderr evctl repair a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "truncated a torn tail of 1000 bytes at byte $size of segment $SEG
a.evlog: repaired"
	[ "$(stat -c %s a.evlog/$SEG.seg)" = "$size" ]
	run --separate-stderr evctl verify a.evlog
	assert_status 0
	assert_stderr ""
	run evtail --template '{id}' a.evlog
	assert_stdout "$(jq -r .id "$T/three.ndjson")"
}

@test "evctl repair rebuilds missing and bad indexes" {
	evctl init --segment-bytes 64K a.evlog
	evgen 3000 --seed 8 | evpub --batch-events 100 a.evlog
	cp a.evlog/$SEG.idx good.idx
	rm a.evlog/$SEG.tix
	flip_byte a.evlog/$SEG.idx $((16 + 8 * 2 + 4))
	# each change is printed, in the dry run and in the real one
	run --separate-stderr evctl repair --dry-run a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "would rebuild the indexes of segment $SEG
a.evlog: dry run done"
	run --separate-stderr evctl repair a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "rebuilt the indexes of segment $SEG
a.evlog: repaired"
	cmp good.idx a.evlog/$SEG.idx
	[ -f a.evlog/$SEG.tix ]
	run --separate-stderr evctl verify a.evlog
	assert_status 0
	assert_stderr ""
}

@test "evctl repair refuses to cut damage without --truncate-damaged" {
	three_batches a.evlog
	local b1
	b1=$(batch_pos a.evlog/$SEG.seg 1)
	flip_byte a.evlog/$SEG.seg $((b1 + 64 + 10))
	cp a.evlog/$SEG.seg before.seg
	run --separate-stderr evctl repair a.evlog
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: cannot repair 'a.evlog': segment $SEG, offset 100, byte $b1: batch payload checksum mismatch
evctl: data after this point is intact; rerun with --truncate-damaged to replace the damaged batch with a gap, keeping the batches after it (its bytes go to lost+found/)"
	cmp before.seg a.evlog/$SEG.seg
	[ ! -e a.evlog/lost+found ]
}

@test "evctl repair --truncate-damaged replaces a damaged batch with a gap, its bytes in LOG/lost+found/" {
	three_batches a.evlog
	local b1 b2
	b1=$(batch_pos a.evlog/$SEG.seg 1)
	b2=$(batch_pos a.evlog/$SEG.seg 2)
	flip_byte a.evlog/$SEG.seg $((b1 + 64 + 10))
	cp a.evlog/$SEG.seg before.seg
	run --separate-stderr evctl repair --dry-run --truncate-damaged a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "would replace the damaged bytes $b1 to $((b2 - 1)) of segment $SEG with a gap: offsets 100 to 199 (batch payload checksum mismatch)
would rebuild the indexes of segment 00000000000000000000
a.evlog: dry run done"
	cmp before.seg a.evlog/$SEG.seg
	[ ! -e a.evlog/lost+found ]
	run --separate-stderr evctl repair --truncate-damaged a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "replaced the damaged bytes $b1 to $((b2 - 1)) of segment $SEG with a gap: offsets 100 to 199 lost (100 events); the raw bytes are in lost+found/$SEG.seg.damaged-offsets-100-199 (evtail reads what is left of them)
rebuilt the indexes of segment $SEG
a.evlog: repaired"
	# the damaged bytes are kept, byte for byte
	cmp <(head -c "$b2" before.seg | tail -c +$((b1 + 1))) \
		"a.evlog/lost+found/$SEG.seg.damaged-offsets-100-199"
	run --separate-stderr evctl verify a.evlog
	assert_status 0
	assert_stdout "a.evlog: ok, 200 events in 2 batches, 1 segment, 1 gap (100 events lost)"
	run --separate-stderr evtail --template '{id}' a.evlog
	assert_status 0
	assert_stderr "evtail: warning: 'a.evlog': offsets 100 to 199 lost to damage and repaired as a gap (100 events); reading on after them"
	assert_stdout "$({ head -n 100 "$T/three.ndjson"; tail -n 100 "$T/three.ndjson"; } | jq -r .id)"
	# and the log takes new events after the last batch
	run --separate-stderr evpub --ack a.evlog T --id after
	assert_status 0
	assert_stdout "300 after"
}

@test "evctl repair --truncate-damaged puts a gap for a segment with a damaged header, and keeps the later ones" {
	evctl init --segment-bytes 64K a.evlog
	evgen 3000 --seed 8 | evpub --batch-events 100 a.evlog
	local -a bases
	bases=($(evctl info --json a.evlog | jq '.segment_list[].base'))
	[ "${#bases[@]}" -ge 4 ]
	local s0 s1 s2 b lost="offsets ${bases[1]} to $((bases[2] - 1)) lost ($((bases[2] - bases[1])) events"
	s0=$(printf '%020d' "${bases[0]}")
	s1=$(printf '%020d' "${bases[1]}")
	s2=$(printf '%020d' "${bases[2]}")
	flip_byte a.evlog/$s1.seg 30
	local why="segment $s1, offset ${bases[1]}, byte 0: header checksum mismatch at byte 0"
	# the dry run says what it would move and what it would lose
	run --separate-stderr evctl repair --dry-run --truncate-damaged a.evlog
	assert_status 0
	assert_stderr ""
	[[ "$output" == *"would put a gap at the end of segment $s0: $lost; $why)"$'\n'"would move segment $s1 to lost+found/"$'\n'* ]]
	[ -f a.evlog/$s1.seg ]
	run --separate-stderr evctl repair --truncate-damaged a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "put a gap at the end of segment $s0: $lost; $why)
moved segment $s1 to lost+found/
rebuilt the indexes of segment $s0
a.evlog: repaired"
	[ -f a.evlog/lost+found/$s1.seg ]
	for b in "${bases[@]:2}"; do
		[ -f "a.evlog/$(printf '%020d' "$b").seg" ]
	done
	run --separate-stderr evctl verify a.evlog
	assert_status 0
	assert_stdout "a.evlog: ok, $(echo $((3000 - bases[2] + bases[1])) | sed -E ':a;s/([0-9])([0-9]{3})($|,)/\1,\2\3/;ta') events in $((30 - (bases[2] - bases[1]) / 100)) batches, $((${#bases[@]} - 1)) segments, 1 gap ($((bases[2] - bases[1])) events lost)"
}

@test "evctl repair --truncate-damaged puts a gap for a missing segment, and keeps the later ones" {
	evctl init --segment-bytes 64K a.evlog
	evgen 3000 --seed 8 | evpub --batch-events 100 a.evlog
	local -a bases
	bases=($(evctl info --json a.evlog | jq '.segment_list[].base'))
	[ "${#bases[@]}" -ge 4 ]
	local s0 s1 lost="offsets ${bases[1]} to $((bases[2] - 1)) lost ($((bases[2] - bases[1])) events; no segment holds them)"
	s0=$(printf '%020d' "${bases[0]}")
	s1=$(printf '%020d' "${bases[1]}")
	rm a.evlog/$s1.*
	run --separate-stderr evctl repair a.evlog
	assert_status 65
	assert_stdout ""
	[[ "$stderr" == *"does not continue the offsets"* ]]
	run --separate-stderr evctl repair --dry-run --truncate-damaged a.evlog
	assert_status 0
	assert_stderr ""
	[[ "$output" == *"would put a gap at the end of segment $s0: $lost"$'\n'* ]]
	run --separate-stderr evctl repair --truncate-damaged a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "put a gap at the end of segment $s0: $lost
rebuilt the indexes of segment $s0
a.evlog: repaired"
	run --separate-stderr evctl verify a.evlog
	assert_status 0
	assert_stdout "a.evlog: ok, $(echo $((3000 - bases[2] + bases[1])) | sed -E ':a;s/([0-9])([0-9]{3})($|,)/\1,\2\3/;ta') events in $((30 - (bases[2] - bases[1]) / 100)) batches, $((${#bases[@]} - 1)) segments, 1 gap ($((bases[2] - bases[1])) events lost)"
}

@test "evctl repair --truncate-damaged starts the only segment anew when its header is damaged, keeping its offsets" {
	evctl init a.evlog
	evgen 250 --seed 8 | evpub --batch-events 50 a.evlog
	flip_byte a.evlog/00000000000000000000.seg 3
	local s=00000000000000000000
	run --separate-stderr evctl repair --dry-run --truncate-damaged a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "would move segment $s to lost+found/ and start it anew (segment $s, offset 0, byte 0: not an evlog segment (bad magic))
would put a gap in its place: offsets 0 to 249 lost (250 events)
would rewrite the head: 250 events, next offset 250
a.evlog: dry run done"
	[ ! -e a.evlog/lost+found ]
	run --separate-stderr evctl repair --truncate-damaged a.evlog
	assert_status 0
	assert_stderr ""
	assert_stdout "moved segment $s to lost+found/
started segment $s anew
put a gap in segment $s: offsets 0 to 249 lost (250 events)
rewrote the head: 250 events, next offset 250
a.evlog: repaired"
	[ -f a.evlog/lost+found/$s.seg ]
	run --separate-stderr evctl verify a.evlog
	assert_status 0
	assert_stdout "a.evlog: ok, 0 events in 0 batches, 1 segment, 1 gap (250 events lost)"
	run --separate-stderr evctl repair a.evlog
	assert_status 0
	assert_stdout "a.evlog: repaired"
	# and appends go on after the offsets it held
	run --separate-stderr evpub --ack a.evlog T --id after
	assert_status 0
	assert_stdout "250 after"
}

# ------------------------------------------------------------ trim and projections

# L: 1500 events in three 64 KiB segments; SEGS: their base offsets; ID:
# the log's id
three_segments() {
	evctl init --segment-bytes 64K L >/dev/null
	evgen 1500 --seed 41 >gen.ndjson
	evpub --batch-events 20 L <gen.ndjson
	mapfile -t SEGS < <(evctl info --json L | jq '.segment_list[].base')
	[ "${#SEGS[@]}" -eq 3 ]
	ID=$(evctl info --json L | jq -r .id)
}

# what trim says as it removes the log's first segment now
removed_first() {
	evctl info --json L | jq -r '.segment_list[0] |
		"removed segment \(.base | tostring | ("0" * (20 - length)) + .): offsets \(.base) to \(.next - 1), \(.bytes + .index_bytes) bytes"'
}

@test "evctl trim refuses, exit 75, to remove events a projection checkpoint has not passed; --force trims, naming it" {
	three_segments
	mkdir L/projections
	"$EVTEST" ckpt-write L/projections/balance.ckpt "$ID" 100
	ls -R L >before
	local x r
	for x in "" --dry-run; do
		run --separate-stderr evctl trim --keep-events 1 $x L
		assert_status 75
		assert_stdout ""
		assert_stderr "evctl: trim would remove events projection 'balance' has not passed: its checkpoint is at offset 100 and the log would start at ${SEGS[2]}
evctl: wait for it to catch up (run it), remove its checkpoint, or use --force"
		ls -R L | cmp before -
	done
	[ "$(event_count L)" = 1500 ]
	# a checkpoint that has passed the first segment lets it go
	"$EVTEST" ckpt-write L/projections/balance.ckpt "$ID" "${SEGS[1]}"
	r=$(removed_first)
	run --separate-stderr evctl trim --keep-events $((1500 - SEGS[1])) L
	assert_status 0
	assert_stderr ""
	assert_stdout "$r"
	# but not the second
	run --separate-stderr evctl trim --keep-events 1 L
	assert_status 75
	assert_stdout ""
	assert_stderr_line 0 "evctl: trim would remove events projection 'balance' has not passed: its checkpoint is at offset ${SEGS[1]} and the log would start at ${SEGS[2]}"
	[ "$(evctl info --json L | jq .first_offset)" = "${SEGS[1]}" ]
	# --force removes it, says so, and leaves the checkpoint as it was
	cp L/projections/balance.ckpt saved
	r=$(removed_first)
	run --separate-stderr evctl trim --keep-events 1 --force L
	assert_status 0
	assert_stderr ""
	assert_stdout "$r
projection 'balance' had not passed offsets ${SEGS[1]} to $((SEGS[2] - 1)) (trimmed by force)"
	cmp saved L/projections/balance.ckpt
	[ "$(evctl info --json L | jq .first_offset)" = "${SEGS[2]}" ]
	run "$EVTEST" ckpt L/projections/balance.ckpt
	assert_status 0
	assert_stdout "$ID ${SEGS[1]} 0 0 0"
}

@test "evctl trim: a damaged projection checkpoint stops it, exit 65, unless --force" {
	three_segments
	mkdir L/projections
	"$EVTEST" ckpt-write L/projections/p.ckpt "$ID" 1500
	# a checkpoint at the end holds nothing back
	run --separate-stderr evctl trim --keep-events 1 --dry-run L
	assert_status 0
	assert_stderr ""
	# one byte altered: what it has passed can no longer be told
	"$EVTEST" flip L/projections/p.ckpt 70 1 >/dev/null
	local stored computed
	stored=$(tail -c 4 L/projections/p.ckpt | od -An -tx4 | tr -d ' ')
	computed=$(head -c -4 L/projections/p.ckpt | "$EVTEST" crc32c)
	run --separate-stderr evctl trim --keep-events 1 L
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: trim cannot tell what projection 'p' has read: projection checkpoint 'L/projections/p.ckpt' is damaged: checksum mismatch (stored $stored, computed $computed)
evctl: rebuild the projection, remove its checkpoint, or use --force"
	[ "$(evctl info --json L | jq .segments)" = 3 ]
	# torn: cut short
	head -c 10 L/projections/p.ckpt >cut && mv cut L/projections/p.ckpt
	run --separate-stderr evctl trim --keep-events 1 --dry-run L
	assert_status 65
	assert_stderr_line 0 "evctl: trim cannot tell what projection 'p' has read: projection checkpoint 'L/projections/p.ckpt' is damaged: 10 bytes, too short for one (torn or truncated)"
	# not a checkpoint at all
	echo '{"next": 1500}' >L/projections/p.ckpt
	run --separate-stderr evctl trim --keep-events 1 --dry-run L
	assert_status 65
	assert_stderr_line 0 "evctl: trim cannot tell what projection 'p' has read: 'L/projections/p.ckpt' is not a projection checkpoint (its first bytes are not evlog's)"
	# a symbolic link in its place is not followed
	rm L/projections/p.ckpt
	ln -s ../../gen.ndjson L/projections/p.ckpt
	run --separate-stderr evctl trim --keep-events 1 --dry-run L
	assert_status 65
	assert_stderr_line 0 "evctl: trim cannot tell what projection 'p' has read: cannot read 'L/projections/p.ckpt': a symbolic link, which is not followed"
	[ "$(evctl info --json L | jq .segments)" = 3 ]
	# --force trims anyway, and says so
	local r0 r1
	r0=$(removed_first)
	run --separate-stderr evctl trim --keep-events 1 --force L
	assert_status 0
	assert_stderr ""
	assert_stdout_line 0 "$r0"
	assert_stdout_line 2 "projection 'p' has a damaged checkpoint: trimmed by force"
	[ "$(evctl info --json L | jq .first_offset)" = "${SEGS[2]}" ]
}

@test "evctl trim --state-dir also protects the projections kept there, not those of other logs" {
	three_segments
	evctl init O >/dev/null
	mkdir -p st/projections
	"$EVTEST" ckpt-write st/projections/far.ckpt "$ID" 100
	"$EVTEST" ckpt-write st/projections/other.ckpt "$(evctl info --json O | jq -r .id)" 0
	# not known without the directory
	run --separate-stderr evctl trim --keep-events 1 --dry-run L
	assert_status 0
	assert_stderr ""
	run --separate-stderr evctl trim --keep-events 1 --state-dir st L
	assert_status 75
	assert_stdout ""
	assert_stderr "evctl: trim would remove events projection 'far' has not passed: its checkpoint is at offset 100 and the log would start at ${SEGS[2]}
evctl: wait for it to catch up (run it), remove its checkpoint, or use --force"
	[ "$(evctl info --json L | jq .segments)" = 3 ]
	# the other log's checkpoint at 0 is not this log's concern
	rm st/projections/far.ckpt
	run --separate-stderr evctl trim --keep-events 1 --state-dir st L
	assert_status 0
	assert_stderr ""
	[ "$(evctl info --json L | jq .first_offset)" = "${SEGS[2]}" ]
}

# b0: one segment, 5 batches, 250 events, from 5 evpub runs of 50
five_runs() {
	local i
	for i in 1 2 3 4 5; do
		evgen 50 --seed $((20 + i)) | sed 's/"version":[0-9]*,//' |
			evpub -c "$1" || return 1
	done
}

meta_id() {
	sed -n 's/^id //p' "$1/meta"
}

# b0.evlog, its copy G, its id and what a rebuilt meta's created is:
# its first batch's append time, in whole seconds
b0_copy() {
	five_runs b0.evlog || return 1
	id=$(meta_id b0.evlog)
	created=$(evctl info --json b0.evlog | jq -r .first_append |
		sed 's/\.[0-9]*Z$/.000Z/')
	cp -a b0.evlog G
}

@test "evctl verify and repair: a flipped byte of meta's log id is meta's damage; repair rewrites meta and moves no event" {
	five_runs b0.evlog
	local id
	id=$(meta_id b0.evlog)
	cp -a b0.evlog G
	# byte 30 is a digit of the id: a flip of 0x10 leaves no hex digit
	"$EVTEST" flip G/meta 30 0x10
	run --separate-stderr evctl verify G
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: 'G' is damaged: meta line 2 has a bad value for 'id'
evctl: run 'evctl repair G' to rebuild it"
	# other tools refuse the log naming meta, and point at the repair
	run --separate-stderr evtail G
	assert_status 65
	assert_stdout ""
	assert_stderr "evtail: log 'G': meta line 2 has a bad value for 'id'
evtail: run 'evctl verify G' to inspect and 'evctl repair G' to fix it"
	cp G/meta meta.before
	run --separate-stderr evctl repair --dry-run G
	assert_status 0
	assert_stderr ""
	assert_stdout "would rewrite meta from the segments: log id $id (meta line 2 has a bad value for 'id')
G: dry run done"
	cmp meta.before G/meta
	# what the old hint said: it moves nothing now either
	run --separate-stderr evctl repair --truncate-damaged G
	assert_status 0
	assert_stderr ""
	assert_stdout "rewrote meta from the segments: log id $id (meta line 2 has a bad value for 'id')
G: repaired"
	[ ! -e G/lost+found ]
	cmp b0.evlog/meta G/meta
	cmp b0.evlog/00000000000000000000.seg G/00000000000000000000.seg
	run --separate-stderr evctl verify G
	assert_status 0
	assert_stderr ""
	assert_stdout "G: ok, 250 events in 5 batches, 1 segment"
	[ "$(event_count G)" = 250 ]
}

@test "evctl verify and repair: meta naming another log id than all the segments is rewritten with theirs" {
	five_runs b0.evlog
	evctl init other.evlog
	local id oid
	id=$(meta_id b0.evlog)
	oid=$(meta_id other.evlog)
	cp -a b0.evlog G
	sed -i "s/^id .*/id $oid/" G/meta
	run --separate-stderr evctl verify G
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: 'G' is damaged: meta: log id $oid does not match the 1 segment's $id
evctl: run 'evctl repair G' to rebuild it"
	run --separate-stderr evctl repair G
	assert_status 0
	assert_stderr ""
	assert_stdout "rewrote meta from the segments: log id $id (meta: log id $oid does not match the 1 segment's $id)
G: repaired"
	cmp b0.evlog/meta G/meta
	[ ! -e G/lost+found ]
	[ "$(event_count G)" = 250 ]
}

@test "evctl verify and repair: segments that disagree on the log id are still the segments' damage" {
	evctl init --segment-bytes 64K A
	evctl init --segment-bytes 64K B
	evgen 3000 --seed 8 >"$T/in.ndjson"
	evpub --batch-events 100 A <"$T/in.ndjson"
	evpub --batch-events 100 B <"$T/in.ndjson"
	local segs s2
	segs=$(cd A && ls *.seg)
	[ "$segs" = "$(cd B && ls *.seg)" ]
	[ "$(wc -l <<<"$segs")" -ge 3 ]
	s2=$(sed -n 2p <<<"$segs")
	s2=${s2%.seg}
	cp B/$s2.seg B/$s2.idx B/$s2.tix A/
	cp A/meta meta.before
	run --separate-stderr evctl verify A
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: 'A' is damaged: segment $s2, offset $((10#$s2)), byte 0: header names another log
evctl: run 'evctl repair A' to truncate a torn tail; damage before it needs --truncate-damaged"
	run --separate-stderr evctl repair --dry-run A
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: cannot repair 'A': segment $s2, offset $((10#$s2)), byte 0: header names another log
evctl: rerun with --truncate-damaged to move the damaged part to lost+found/"
	cmp meta.before A/meta
}

@test "evctl verify and repair: a truncated meta is rebuilt from the segments and the defaults, each named" {
	local id created
	b0_copy
	truncate -s 20 G/meta
	run --separate-stderr evctl verify G
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: 'G' is damaged: meta line 2 has a bad value for 'id'
evctl: run 'evctl repair G' to rebuild it"
	run --separate-stderr evctl repair G
	assert_status 0
	assert_stderr ""
	assert_stdout "rewrote meta from the segments: log id $id (meta line 2 has a bad value for 'id')
set the settings meta lost: created $created (the first batch's append time), segment-bytes 134217728 (the default), level 1 (the default), sync batch (the default), dedupe-window 1000000 (the default); see evlog(5) Meta
G: repaired"
	diff <(grep -v '^created ' b0.evlog/meta) <(grep -v '^created ' G/meta)
	grep -qx "created $created" G/meta
	run --separate-stderr evctl verify G
	assert_status 0
	assert_stdout "G: ok, 250 events in 5 batches, 1 segment"
	# the log is usable again
	evgen 1 --seed 99 | sed 's/"version":[0-9]*,//' | evpub G
	[ "$(event_count G)" = 251 ]
}

@test "evctl verify and repair: a garbage or missing meta is rebuilt; segments that cannot tell the id leave it damaged" {
	local id created
	b0_copy
	printf garbage >G/meta
	run --separate-stderr evctl verify G
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: 'G' is damaged: meta line 1 is malformed
evctl: run 'evctl repair G' to rebuild it"
	run --separate-stderr evctl repair --dry-run G
	assert_status 0
	assert_stderr ""
	assert_stdout "would rewrite meta from the segments: log id $id (meta line 1 is malformed)
would set the settings meta lost: created $created (the first batch's append time), segment-bytes 134217728 (the default), level 1 (the default), sync batch (the default), dedupe-window 1000000 (the default); see evlog(5) Meta
G: dry run done"
	[ "$(cat G/meta)" = garbage ]
	run --separate-stderr evctl repair G
	assert_status 0
	assert_stderr ""
	diff <(grep -v '^created ' b0.evlog/meta) <(grep -v '^created ' G/meta)
	[ "$(event_count G)" = 250 ]
	# a missing meta, beside the head
	rm G/meta
	run --separate-stderr evctl verify G
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: 'G' is damaged: meta file is missing
evctl: run 'evctl repair G' to rebuild it"
	run --separate-stderr evctl repair G
	assert_status 0
	assert_stderr ""
	assert_stdout "rewrote meta from the segments: log id $id (meta file is missing)
set the settings meta lost: created $created (the first batch's append time), segment-bytes 134217728 (the default), level 1 (the default), sync batch (the default), dedupe-window 1000000 (the default); see evlog(5) Meta
G: repaired"
	diff <(grep -v '^created ' b0.evlog/meta) <(grep -v '^created ' G/meta)
	# no segment header to tell the id: nothing is changed
	printf garbage >G/meta
	"$EVTEST" flip G/00000000000000000000.seg 3 0x10
	run --separate-stderr evctl repair --truncate-damaged G
	assert_status 65
	assert_stdout ""
	assert_stderr "evctl: cannot repair 'G': meta line 1 is malformed; no segment header can be read to tell the log id
evctl: restore meta from a backup (evlog(5) Meta)"
	[ "$(cat G/meta)" = garbage ]
	[ ! -e G/lost+found ]
}
