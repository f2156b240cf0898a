#!/bin/sh
# tests/data/regen.sh OUTDIR - write the golden logs from the golden inputs
# into OUTDIR, under the deterministic test source (SOURCE_DATE_EPOCH and
# EVLOG_TEST_SEED make ids, salts, creation and append times fixed).
# tests/golden.bats runs it into a temporary directory and compares the
# result with the logs kept here, byte for byte.
#
# To rewrite the golden data after an intended format change, from the top
# of the tree (and review the diff of the expected output):
#   rm -rf tests/data/*.evlog
#   PATH=$PWD/cmd:$PATH sh tests/data/regen.sh tests/data
#   git checkout tests/data/golden-oldform.evlog
#   git checkout tests/data/golden-unpacked.evlog
#   for l in golden golden-multi golden-gap golden-six golden-packed; do
#       cmd/evtail tests/data/$l.evlog >tests/data/$l-expected.ndjson
#   done
#   pkg-config --modversion libzstd >tests/data/golden-zstd-version
#
# golden.evlog: one zstd segment; the input has edge cases and events
# without id or time.  golden-multi.evlog: uncompressed (level 0) 64 KiB
# segments, so it rolls; every event has an id (see golden.bats for why).
# Input comes from files, never pipes, so batches are cut by count alone.
set -e
out=$1
data=$(dirname "$0")
SOURCE_DATE_EPOCH=1700000000
EVLOG_TEST_SEED=42
export SOURCE_DATE_EPOCH EVLOG_TEST_SEED
evctl init "$out/golden.evlog" >/dev/null
evpub --batch-events 7 "$out/golden.evlog" <"$data/golden-input.ndjson"
evctl init --level 0 --segment-bytes 64K "$out/golden-multi.evlog" >/dev/null
evpub --batch-events 16 "$out/golden-multi.evlog" \
	<"$data/golden-multi-input.ndjson"
# golden-six.evlog: uncompressed batches of 20 events of at least 4 KiB,
# so each has a summary (evlog(5) Summaries): the first, of twelve types
# in three categories, a Bloom filter; the others exact; the last batch,
# of one small event, none.  golden-oldform.evlog is golden-multi.evlog as
# written before summaries (no .six files, no compatible feature): it is
# kept as it is, not regenerated.
evctl init --level 0 "$out/golden-six.evlog" >/dev/null
evpub --batch-events 20 "$out/golden-six.evlog" \
	<"$data/golden-six-input.ndjson"
# golden-packed.evlog: zstd batches of 5 events in the packed form
# (evlog(5) Batches, codec 2): UUIDs, ULIDs and timestamps 64, and bytes
# that look like them but are not (upper case, lower case, past 128
# bits, other timestamp forms, inside strings and binary data).
evctl init "$out/golden-packed.evlog" >/dev/null
evpub --batch-events 5 "$out/golden-packed.evlog" \
	<"$data/golden-packed-input.ndjson"
# golden-gap.evlog: golden-multi.evlog with one byte of its second batch's
# payload damaged, then repaired: a gap marker (evlog(5) Gaps) stands for
# offsets 16 to 31, in a segment with the 'gaps' feature; the damaged
# bytes repair moves to lost+found/, and the state/epoch it moves, are
# not kept here.
cp -R "$out/golden-multi.evlog" "$out/golden-gap.evlog"
seg=$out/golden-gap.evlog/00000000000000000000.seg
len=$(od -An -tu4 -j64 -N4 "$seg" | tr -d ' ')
printf '\377' | dd of="$seg" bs=1 seek=$((64 + 64 + len + 64 + 100)) \
	conv=notrunc 2>/dev/null
evctl repair --truncate-damaged "$out/golden-gap.evlog" >/dev/null
rm -rf "$out/golden-gap.evlog/lost+found" "$out/golden-gap.evlog/state"
