#!/usr/bin/env bats
# trace: evtail --trace ID, the tree of a flow by meta.causationId (text,
# -o json, -o chrome), orphans, self-causation and cycles, and the
# correlation index under it (evlog(5) CORRELATION INDEX): built on first
# use, extended, kept by writers with 'correlation-index on', rebuilt by
# evctl repair, and never trusted for an answer: torn, stale, deleted or
# lying index files give the same output as none.  Exit status, stdout
# and stderr are checked separately.
load helper

setup_file() {
	# tree.py: the -o json tree flattened, one event a line: depth,
	# offset, type, and the note when there is one
	cat >"$BATS_FILE_TMPDIR/tree.py" <<'EOF'
import json, sys
doc = json.load(sys.stdin)
stack = [(n, 0) for n in reversed(doc["tree"])]
while stack:
    n, d = stack.pop()
    e = n["event"]
    note = (" [" + n["note"] + "]") if "note" in n else ""
    print("%d %d %s%s" % (d, e["offset"], e["type"], note))
    stack.extend((c, d + 1) for c in reversed(n["children"]))
EOF
	# expect.py NDJSON ID: the same lines computed from the input alone
	# (offsets are line numbers from 0): the events whose id or
	# correlationId is ID, each under the event its causationId names
	cat >"$BATS_FILE_TMPDIR/expect.py" <<'EOF'
import json, sys
evs = [json.loads(l) for l in open(sys.argv[1])]
key = sys.argv[2]
for i, e in enumerate(evs):
    e["offset"] = i
sel = [e for e in evs
       if e["id"] == key or e.get("meta", {}).get("correlationId") == key]
byid = {}
for e in sel:
    byid.setdefault(e["id"], e)
kids = {}
roots = []
for e in sorted(sel, key=lambda e: (e["time"], e["offset"])):
    c = e.get("meta", {}).get("causationId")
    p = byid.get(c) if c is not None and c != e["id"] else None
    if p is None:
        roots.append(e)
    else:
        kids.setdefault(p["offset"], []).append(e)
stack = [(e, 0) for e in reversed(roots)]
while stack:
    e, d = stack.pop()
    print("%d %d %s" % (d, e["offset"], e["type"]))
    stack.extend((c, d + 1) for c in reversed(kids.get(e["offset"], [])))
EOF
	# chrome.py: the shape of Chrome's trace-event format, as Perfetto
	# and chrome://tracing load it (JSON object format): prints the
	# number of slices and of arrows
	cat >"$BATS_FILE_TMPDIR/chrome.py" <<'EOF'
import json, sys
doc = json.load(sys.stdin)
assert isinstance(doc, dict) and set(doc) == {"traceEvents", "displayTimeUnit", "otherData"}, doc.keys()
assert doc["displayTimeUnit"] in ("ms", "ns")
evs = doc["traceEvents"]
assert isinstance(evs, list)
slices, starts, ends, threads = {}, {}, {}, set()
for e in evs:
    assert e["ph"] in ("M", "X", "s", "f"), e
    assert isinstance(e["pid"], int) and isinstance(e["tid"], int), e
    assert isinstance(e["name"], str), e
    if e["ph"] == "M":
        assert e["name"] in ("process_name", "thread_name"), e
        assert isinstance(e["args"]["name"], str), e
        if e["name"] == "thread_name":
            threads.add(e["tid"])
        continue
    assert isinstance(e["ts"], (int, float)), e
    if e["ph"] == "X":
        assert isinstance(e["dur"], (int, float)) and e["dur"] > 0, e
        assert isinstance(e["args"]["offset"], int), e
        slices.setdefault(e["tid"], []).append((e["ts"], e["ts"] + e["dur"]))
    else:
        assert isinstance(e["id"], int) and isinstance(e["cat"], str), e
        (starts if e["ph"] == "s" else ends)[e["id"]] = e
        if e["ph"] == "f":
            assert e.get("bp") == "e", e
# every slice on a named thread; slices of a thread do not overlap
for tid, v in slices.items():
    assert tid in threads, tid
    v.sort()
    for a, b in zip(v, v[1:]):
        assert a[1] <= b[0] + 1e-9, (tid, a, b)
# every arrow has both ends, each inside a slice of its thread
assert set(starts) == set(ends)
for fid in starts:
    for e in (starts[fid], ends[fid]):
        assert any(a <= e["ts"] < b or a == e["ts"] for a, b in slices[e["tid"]]), e
print(sum(len(v) for v in slices.values()), len(starts))
EOF
}

# ev ID TYPE STREAM TIME CORR CAUS: one event line (CORR or CAUS - for
# none)
ev() {
	local meta= m=
	[ "$5" != - ] && meta="\"correlationId\":\"$5\""
	[ "$6" != - ] && meta="$meta${meta:+,}\"causationId\":\"$6\""
	[ -n "$meta" ] && m=",\"meta\":{$meta}"
	printf '{"id":"%s","type":"%s","stream":"%s","time":"%s"%s}\n' \
		"$1" "$2" "$3" "$4" "$m"
}

# A small flow, c1, with a branch, an event of another flow and one
# without meta: offsets 0 to 6
flow() {
	ev a OrderPlaced order-1 2026-01-01T10:00:00Z c1 c1
	ev x OrderPlaced order-2 2026-01-01T10:00:00.5Z c2 c2
	ev b StockReserved stock-1 2026-01-01T10:00:01.250Z c1 a
	ev c PaymentTaken pay-1 2026-01-01T10:00:01.5Z c1 a
	ev d OrderShipped order-1 2026-01-01T10:00:03Z c1 b
	ev n Noise order-3 2026-01-01T10:00:04Z - -
	ev e Invoiced order-1 2026-01-01T10:01:05Z c1 c
}

tree() {
	evtail --trace "$1" -o json "$2" | python3 "$BATS_FILE_TMPDIR/tree.py"
}

# the only run file of LOG's index
cix() {
	ls "$1"/corrindex/*.cix
}

# ------------------------------------------------------------ trees

@test "trace: the text tree: times from the root, the gap to the parent, types, streams and offsets" {
	flow | evpub -c L
	run --separate-stderr evtail --trace c1 L
	assert_status 0
	assert_stderr ""
	assert_stdout "trace 'c1': 5 events, 1 root, from 2026-01-01T10:00:00.000Z over 1m5s
  +0ms          OrderPlaced order-1@1 #0
+1.25s  +1.25s  ├─ StockReserved stock-1@1 #2
   +3s  +1.75s  │  └─ OrderShipped order-1@2 #4
 +1.5s   +1.5s  └─ PaymentTaken pay-1@1 #3
 +1m5s +1m3.5s     └─ Invoiced order-1@3 #6"
	# -o pretty is the same tree
	run --separate-stderr evtail --trace c1 -o pretty L
	assert_status 0
	assert_stdout_contains " +1m5s +1m3.5s     └─ Invoiced order-1@3 #6"
}

@test "trace: an event's own id finds it, and the events that carry it as their correlation id" {
	{
		ev r Request api 2026-01-01T00:00:00Z - -
		ev s1 Step api 2026-01-01T00:00:00.000001Z r r
		ev s2 Step api 2026-01-01T00:00:00.000002500Z r s1
	} | evpub -c L
	run --separate-stderr evtail --trace r L
	assert_status 0
	assert_stderr ""
	assert_stdout "trace 'r': 3 events, 1 root, from 2026-01-01T00:00:00.000Z over 2.5µs
   +0ms          Request api@1 #0
  +1µs   +1µs  └─ Step api@2 #1
+2.5µs +1.5µs     └─ Step api@3 #2"
}

@test "trace -o json: the tree as nested JSON, exactly" {
	flow | evpub -c L
	run --separate-stderr evtail --trace c1 -o json L
	assert_status 0
	assert_stderr ""
	assert_stdout '{"trace":"c1","events":5,"roots":1,"start":"2026-01-01T10:00:00.000Z","duration_ns":65000000000,"tree":[{"at_ns":0,"gap_ns":null,"event":{"offset":0,"id":"a","type":"OrderPlaced","stream":"order-1","version":1,"time":"2026-01-01T10:00:00.000Z","schema":1,"meta":{"correlationId":"c1","causationId":"c1"}},"children":[{"at_ns":1250000000,"gap_ns":1250000000,"event":{"offset":2,"id":"b","type":"StockReserved","stream":"stock-1","version":1,"time":"2026-01-01T10:00:01.250Z","schema":1,"meta":{"correlationId":"c1","causationId":"a"}},"children":[{"at_ns":3000000000,"gap_ns":1750000000,"event":{"offset":4,"id":"d","type":"OrderShipped","stream":"order-1","version":2,"time":"2026-01-01T10:00:03.000Z","schema":1,"meta":{"correlationId":"c1","causationId":"b"}},"children":[]}]},{"at_ns":1500000000,"gap_ns":1500000000,"event":{"offset":3,"id":"c","type":"PaymentTaken","stream":"pay-1","version":1,"time":"2026-01-01T10:00:01.500Z","schema":1,"meta":{"correlationId":"c1","causationId":"a"}},"children":[{"at_ns":65000000000,"gap_ns":63500000000,"event":{"offset":6,"id":"e","type":"Invoiced","stream":"order-1","version":3,"time":"2026-01-01T10:01:05.000Z","schema":1,"meta":{"correlationId":"c1","causationId":"c"}},"children":[]}]}]}]}'
}

@test "trace -o chrome: Chrome's trace-event format, one thread per stream, an arrow per cause" {
	flow | evpub -c L
	run --separate-stderr sh -c 'evtail --trace c1 -o chrome L | python3 "$1"' sh \
		"$BATS_FILE_TMPDIR/chrome.py"
	assert_status 0
	assert_stderr ""
	assert_stdout "5 4"
	run --separate-stderr sh -c "evtail --trace c1 -o chrome L |
		jq -c '[.traceEvents[] | select(.ph == \"M\") | .args.name],
		[.traceEvents[] | select(.ph == \"X\") | [.tid, .ts, .dur, .args.gap]]'"
	assert_status 0
	assert_stdout '["trace c1","order-1","stock-1","pay-1"]
[[1,0,3000000,null],[2,1250000,1,"+1.25s"],[3,1500000,1,"+1.5s"],[1,3000000,62000000,"+1.75s"],[1,65000000,1,"+1m3.5s"]]'
}

@test "trace: the saga of examples/saga, both of its logs in one, is one tree per order" {
	command -v jq >/dev/null || skip "jq is not installed"
	run --separate-stderr sh "$TOP/examples/saga/run.sh" "$T/s"
	assert_status 0
	{ evtail s/orders.evlog; evtail s/commands.evlog; } |
		jq -c 'del(.offset, .version)' | evpub -c all.evlog
	run --separate-stderr sh -c 'evtail --trace o-1 -o json all.evlog |
		python3 "$1" | cut -d" " -f1,3' sh "$BATS_FILE_TMPDIR/tree.py"
	assert_status 0
	assert_stderr ""
	assert_stdout "0 OrderPlaced
1 inventory.reserve
2 InventoryReserved
3 payment.charge
4 PaymentSucceeded
5 shipping.schedule
6 ShippingScheduled"
	run --separate-stderr sh -c 'evtail --trace o-2 -o json all.evlog |
		python3 "$1" | cut -d" " -f1,3' sh "$BATS_FILE_TMPDIR/tree.py"
	assert_status 0
	assert_stdout "0 OrderPlaced
1 inventory.reserve
2 InventoryReserved
3 payment.charge
4 PaymentFailed
5 inventory.release
6 InventoryReleased"
	# the text tree says the same, with no note
	run --separate-stderr evtail --trace o-2 all.evlog
	assert_status 0
	[ "${#lines[@]}" -eq 8 ]
	[[ "${lines[7]}" == *"└─ InventoryReleased order-2@"* ]]
	[[ "$output" != *"["* ]]
}

@test "trace: generated flows give the tree computed from the input, through the index and without" {
	evgen 3000 --seed 11 --streams 40 >gen.ndjson
	evctl init --segment-bytes 64K L >/dev/null
	evpub --batch-events 50 L <gen.ndjson
	[ "$(ls L/*.seg | wc -l)" -gt 2 ]
	for line in 1 777 2999; do
		id=$(sed -n "${line}p" gen.ndjson | jq -r .meta.correlationId)
		python3 "$BATS_FILE_TMPDIR/expect.py" gen.ndjson "$id" >want
		[ "$(wc -l <want)" -gt 3 ]
		run --separate-stderr tree "$id" L
		assert_status 0
		assert_stderr ""
		assert_stdout "$(cat want)"
		# by an event id: the event alone (evgen's ids are no
		# correlation ids), an orphan unless it is its flow's first
		eid=$(sed -n "${line}p" gen.ndjson | jq -r .id)
		run --separate-stderr tree "$eid" L
		assert_status 0
		[ "$(echo "$output" | cut -d' ' -f1-3)" = "0 $((line - 1)) $(sed -n "${line}p" gen.ndjson | jq -r .type)" ]
	done
	# a segment file, read on its own, is scanned: the same trees
	seg=$(ls L/*.seg | head -n 1)
	id=$(head -n 1 gen.ndjson | jq -r .meta.correlationId)
	python3 "$BATS_FILE_TMPDIR/expect.py" gen.ndjson "$id" >want
	run --separate-stderr tree "$id" "$seg"
	assert_status 0
	head -n "$(evtail "$seg" | wc -l)" gen.ndjson >first.ndjson
	assert_stdout "$(python3 "$BATS_FILE_TMPDIR/expect.py" first.ndjson "$id")"
}

# ------------------------------------------------------------ odd causes

@test "trace: orphans are roots with a note: a cause not in the log, or outside the trace" {
	{
		ev p Paid pay 2026-01-01T00:00:00Z c9 c9
		ev q Refunded pay 2026-01-01T00:00:01Z c1 p
		ev r Shipped ship 2026-01-01T00:00:02Z c1 gone
		ev s Packed ship 2026-01-01T00:00:03Z c1 r
	} | evpub -c L
	run --separate-stderr evtail --trace c1 L
	assert_status 0
	assert_stderr ""
	assert_stdout "trace 'c1': 3 events, 2 roots, from 2026-01-01T00:00:01.000Z over 2s
+0ms      Refunded pay@2 #1  [orphan: caused by 'p', at offset 0, outside this trace]
 +1s      Shipped ship@1 #2  [orphan: caused by 'gone', which is not in the log]
 +2s +1s  └─ Packed ship@2 #3"
	run --separate-stderr sh -c 'evtail --trace c1 -o json L | jq -c "[.tree[].note]"'
	assert_stdout '["orphan: caused by '\''p'\'', at offset 0, outside this trace","orphan: caused by '\''gone'\'', which is not in the log"]'
}

@test "trace: self-causation and cycles end without hanging, cut at their first event with a note" {
	{
		ev a A s 2026-01-01T00:00:00Z k a
		ev b B s 2026-01-01T00:00:01Z k d
		ev c C s 2026-01-01T00:00:02Z k b
		ev d D s 2026-01-01T00:00:03Z k c
		ev e E s 2026-01-01T00:00:04Z k d
	} | evpub -c L
	run --separate-stderr timeout 10 evtail --trace k L
	assert_status 0
	assert_stderr ""
	assert_stdout "trace 'k': 5 events, 2 roots, from 2026-01-01T00:00:00.000Z over 4s
+0ms      A s@1 #0  [caused by itself]
 +1s      B s@2 #1  [a cycle of causes ends here: caused by 'd', which it caused]
 +2s +1s  └─ C s@3 #2
 +3s +1s     └─ D s@4 #3
 +4s +1s        └─ E s@5 #4"
	run --separate-stderr timeout 10 sh -c 'evtail --trace k -o chrome L |
		python3 "$1"' sh "$BATS_FILE_TMPDIR/chrome.py"
	assert_status 0
	assert_stdout "5 3"
}

@test "trace: a chain of 20000 events: no recursion, indentation capped, JSON nested that deep" {
	python3 -c '
for i in range(20000):
    print("{\"id\":\"e%d\",\"type\":\"T\",\"time\":\"2026-01-01T00:00:00Z\",\"meta\":{\"correlationId\":\"z\",\"causationId\":\"%s\"}}" % (i, "e%d" % (i - 1) if i else "z"))
' | evpub -c L
	run --separate-stderr evtail --trace z L
	assert_status 0
	[ "${#lines[@]}" -eq 20001 ]
	[[ "${lines[20000]}" == *"↳ (depth 19999) T #19999" ]]
	run --separate-stderr sh -c 'evtail --trace z -o json L | python3 -c "
import json, sys
sys.setrecursionlimit(100000)
d = json.load(sys.stdin)
n = 0
t = d[\"tree\"]
while t:
    n += 1
    t = t[0][\"children\"]
print(n)"'
	assert_status 0
	assert_stdout 20000
}

# ------------------------------------------------------------ the index

@test "index: built on first use, then read: a trace no longer reads the rest of the log" {
	evgen 2000 --seed 5 --streams 30 >gen.ndjson
	evctl init --segment-bytes 64K L >/dev/null
	evpub --batch-events 40 L <gen.ndjson
	[ ! -e L/corrindex ]
	id=$(sed -n 1p gen.ndjson | jq -r .meta.correlationId)
	run --separate-stderr evtail --trace "$id" L
	assert_status 0
	want=$output
	end=$(evctl info --json L | jq -r .next_offset)
	[ "$(cix L)" = "L/corrindex/00000000000000000000-$(printf %020d "$end").cix" ]
	# damage a batch that holds no event of the flow: a scan would stop
	# there, the index does not go there
	far=$(evtail --template '{offset} {meta.correlationId}' L |
		awk -v id="$id" '$2 != id { print $1 }' | sed -n 1500p)
	grep -q "\"$id\"" <(evtail --from "$far" --count 1 L) && false
	seg=$(ls L/*.seg | tail -n 1)
	printf 'XXXXXXXX' | dd of="$seg" bs=1 seek=$(($(stat -c %s "$seg") - 200)) conv=notrunc 2>/dev/null
	run --separate-stderr evtail --where "meta.correlationId == '$id'" L
	assert_status 65
	run --separate-stderr evtail --trace "$id" L
	assert_status 0
	assert_stderr ""
	assert_stdout "$want"
}

@test "index: what is appended after it is scanned and indexed as a run of its own; runs of one size are merged" {
	flow | evpub -c L
	evtail --trace c1 L >/dev/null
	[ "$(cix L)" = L/corrindex/00000000000000000000-00000000000000000007.cix ]
	ev f Closed order-1 2026-01-01T10:02:00Z c1 e | evpub L
	run --separate-stderr evtail --trace c1 L
	assert_status 0
	assert_stdout_contains "       └─ Closed order-1@4 #7"
	run ls L/corrindex
	assert_stdout "00000000000000000000-00000000000000000007.cix
00000000000000000007-00000000000000000008.cix"
	# seven more: a run as big as the first, and the two become one
	for i in 1 2 3 4 5 6 7; do
		ev "g$i" Later order-4 2026-01-01T10:03:00Z c1 f
	done | evpub L
	run --separate-stderr evtail --trace c1 -o json L
	assert_status 0
	run ls L/corrindex
	assert_stdout "00000000000000000000-00000000000000000015.cix"
	run --separate-stderr tree c1 L
	assert_stdout_contains "4 14 Later"
}

@test "index: torn, zeroed, truncated, deleted or foreign run files give the same trace, and are rebuilt" {
	evgen 1500 --seed 9 --streams 20 >gen.ndjson
	evpub -c L <gen.ndjson
	id=$(sed -n 10p gen.ndjson | jq -r .meta.correlationId)
	run --separate-stderr evtail --trace "$id" -o json L
	want=$output
	f=$(cix L)
	size=$(stat -c %s "$f")
	cp "$f" good.cix
	# a torn end, a zeroed page, a flipped header byte, an empty file,
	# a page whose CRC no longer matches, the directory gone
	for damage in "truncate -s $((size - 10)) $f" \
		"dd if=/dev/zero of=$f bs=1 seek=4000 count=2000 conv=notrunc" \
		"printf Z | dd of=$f bs=1 seek=33 conv=notrunc" \
		": >$f" \
		"printf '\\377' | dd of=$f bs=1 seek=$((size - 40)) conv=notrunc" \
		"rm -rf L/corrindex"; do
		cp good.cix "$f" 2>/dev/null || { mkdir -p L/corrindex && cp good.cix "$f"; }
		sh -c "$damage" 2>/dev/null
		run --separate-stderr evtail --trace "$id" -o json L
		assert_status 0
		assert_stderr ""
		assert_stdout "$want"
		cmp good.cix "$(cix L)"
	done
	# a run of another log (its id differs) is not used
	evpub -c M <gen.ndjson
	rm -rf M/corrindex && mkdir M/corrindex && cp good.cix M/corrindex/
	run --separate-stderr evtail --trace "$id" -o json M
	assert_status 0
	assert_stdout "$(echo "$want")"
	! cmp -s good.cix "$(cix M)"
}

@test "index: a run that names every event under every key gives no wrong event; one that covers more than the log is stale" {
	flow | evpub -c L
	run --separate-stderr evtail --trace c1 -o json L
	want1=$output
	run --separate-stderr evtail --trace c2 -o json L
	want2=$output
	# the run rewritten with its checks right: every hash in it now
	# names all seven offsets.  Every candidate is read and compared,
	# so the traces are as they were
	python3 - L/corrindex/00000000000000000000-00000000000000000007.cix <<'EOF'
import struct, sys
T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    T.append(c)
def crc(b):
    c = 0xFFFFFFFF
    for x in b:
        c = T[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
n = struct.unpack_from("<Q", b, 48)[0]
hs = sorted({struct.unpack_from("<Q", b, 64 + 16 * k)[0] for k in range(n)})
ents = b"".join(struct.pack("<QQ", h, o) for h in hs for o in range(7))
n = len(hs) * 7
assert n <= 256
hdr = bytearray(b[:64])
struct.pack_into("<Q", hdr, 48, n)
struct.pack_into("<I", hdr, 60, crc(hdr[:60]))
open(p, "wb").write(hdr + ents + struct.pack("<I", crc(ents)))
EOF
	size=$(stat -c %s L/corrindex/*.cix)
	run --separate-stderr evtail --trace c1 -o json L
	assert_status 0
	assert_stdout "$want1"
	run --separate-stderr evtail --trace c2 -o json L
	assert_status 0
	assert_stdout "$want2"
	# it checked out, so it was used, and kept
	[ "$(stat -c %s L/corrindex/*.cix)" -eq "$size" ]
	# a run that claims offsets the log does not hold (from before a
	# cut) is stale: removed, and the log indexed again
	rm -rf L/corrindex
	evtail --trace c1 L >/dev/null
	mv L/corrindex/00000000000000000000-00000000000000000007.cix \
		L/corrindex/00000000000000000000-00000000000000000009.cix
	run --separate-stderr evtail --trace c2 L
	assert_status 0
	assert_stdout_contains "OrderPlaced order-2@1 #1"
	run ls L/corrindex
	assert_stdout 00000000000000000000-00000000000000000007.cix
}

@test "index: evctl repair rebuilds it (and a dry run says it would); a run from before the repair is not used" {
	flow | evpub -c L
	evtail --trace c1 L >/dev/null
	cp "$(cix L)" old.cix
	run --separate-stderr evctl repair --dry-run L
	assert_status 0
	assert_stdout_contains "would rebuild the correlation index"
	# cut the last batch off: a torn tail the repair truncates, and the
	# log's epoch moves on
	seg=$(ls L/*.seg)
	truncate -s -5 "$seg"
	run --separate-stderr evctl repair L
	assert_status 0
	assert_stdout_contains "rebuilt the correlation index: 0 events"
	[ "$(evctl info --json L | jq -r .next_offset)" -eq 0 ]
	# the log's events anew: what the old run says of offsets 0 to 6 is
	# of events no longer there
	{
		ev a2 OrderPlaced order-9 2026-01-02T00:00:00Z c1 c1
		ev x2 Other order-8 2026-01-02T00:00:01Z c3 c3
		ev b2 Shipped order-9 2026-01-02T00:00:02Z c1 a2
		ev y2 Other order-8 2026-01-02T00:00:03Z c3 c3
		ev z2 Other order-8 2026-01-02T00:00:04Z c3 c3
		ev w2 Other order-8 2026-01-02T00:00:05Z c3 c3
		ev v2 Other order-8 2026-01-02T00:00:06Z c3 c3
	} | evpub L
	rm -rf L/corrindex
	mkdir L/corrindex
	cp old.cix L/corrindex/00000000000000000000-00000000000000000007.cix
	run --separate-stderr tree c1 L
	assert_status 0
	assert_stdout "0 0 OrderPlaced
1 2 Shipped"
	! cmp -s old.cix "$(cix L)"
	# repair of a log with no index makes none
	evpub -c M <<<'{"id":"q","type":"T"}'
	run --separate-stderr evctl repair M
	assert_status 0
	[[ "$output" != *correlation* ]]
	[ ! -e M/corrindex ]
}

@test "index: with 'correlation-index on' (evctl init --correlation-index) writers keep it up to date" {
	run --separate-stderr evctl init --correlation-index L
	assert_status 0
	grep -qx 'correlation-index on' L/meta
	flow | evpub L
	[ "$(cix L)" = L/corrindex/00000000000000000000-00000000000000000007.cix ]
	evpub L Later --stream order-1 --meta correlationId=c1 --meta causationId=e
	run ls L/corrindex
	assert_stdout "00000000000000000000-00000000000000000007.cix
00000000000000000007-00000000000000000008.cix"
	run --separate-stderr tree c1 L
	assert_stdout_contains "3 7 Later"
	# and evtail -o json of the log is as it was: the index is no event
	run --separate-stderr evtail --count 1 --template '{id}' L
	assert_stdout a
}

@test "trace: a damaged batch where the trace must read is damage, exit 65" {
	flow | evpub -c L
	seg=$(ls L/*.seg)
	printf 'XXXX' | dd of="$seg" bs=1 seek=200 conv=notrunc 2>/dev/null
	run --separate-stderr evtail --trace c1 L
	assert_status 65
	assert_stdout ""
	assert_stderr_contains "evtail: "
	assert_stderr_contains "L"
}

# ------------------------------------------------------------ errors

@test "trace: an id no event has: exit 1, and nothing on stdout" {
	flow | evpub -c L
	run --separate-stderr evtail --trace nobody L
	assert_status 1
	assert_stdout ""
	assert_stderr "evtail: no event in 'L' has the id or meta.correlationId 'nobody'"
	run --separate-stderr evtail --trace nobody -o chrome L
	assert_status 1
	assert_stdout ""
}

@test "trace: usage errors: an empty id, options it does not take, output formats, -o chrome alone" {
	flow | evpub -c L
	run --separate-stderr evtail --trace '' L
	assert_status 64
	assert_stdout ""
	assert_stderr "evtail: --trace: the id is empty
Usage: evtail [options] LOG
Try 'evtail --help' for more information."
	for opt in "-f" "--type T" "-n 3" "--follow" "--where type==T" \
		"--group g" "--from 2" "-r" "--fields id" "--template {id}" \
		"--count 2" "--stream s" "--since -1h" "--salvage" \
		"--cursor-file c"; do
		name=${opt%% *}
		run --separate-stderr evtail --trace c1 $opt L
		assert_status 64
		assert_stdout ""
		assert_stderr "evtail: --trace cannot be combined with $name
Usage: evtail [options] LOG
Try 'evtail --help' for more information."
		# in either order
		run --separate-stderr evtail $opt --trace c1 L
		assert_status 64
		assert_stderr_contains "evtail: --trace cannot be combined with $name"
	done
	for fmt in cloudevents msgpack csv tsv count; do
		run --separate-stderr evtail --trace c1 -o "$fmt" L
		assert_status 64
		assert_stderr "evtail: --trace works with --output json, pretty or chrome
Usage: evtail [options] LOG
Try 'evtail --help' for more information."
	done
	run --separate-stderr evtail -o chrome L
	assert_status 64
	assert_stderr "evtail: --output chrome needs --trace
Usage: evtail [options] LOG
Try 'evtail --help' for more information."
	run --separate-stderr evtail -o nope L
	assert_status 64
	assert_stderr_contains "'nope' is not json, pretty, cloudevents, msgpack, csv, tsv, count or chrome"
	# --color goes with the text tree
	run --separate-stderr evtail --trace c1 --color always L
	assert_status 0
	assert_stdout_contains $'\033[1mOrderPlaced\033[0m'
}

@test "trace: a missing log: exit 66" {
	run --separate-stderr evtail --trace c1 nolog
	assert_status 66
	assert_stdout ""
	assert_stderr_contains "nolog"
}

@test "trace: output that cannot be written: exit 74; a reader that goes away: exit 0" {
	flow | evpub -c L
	run --separate-stderr sh -c 'evtail --trace c1 L >/dev/full'
	assert_status 74
	assert_stderr "evtail: cannot write to standard output: No space left on device"
	# a big tree, so that the reader is gone before it is written
	python3 -c '
for i in range(20000):
    print("{\"id\":\"e%d\",\"type\":\"T\",\"meta\":{\"correlationId\":\"z\"}}" % i)
' | evpub -c Z
	run --separate-stderr bash -c 'evtail --trace z Z | head -n 1; exit "${PIPESTATUS[0]}"'
	assert_status 0
	assert_stderr ""
	[[ "$output" == "trace 'z': 20000 events, 20000 roots, from "* ]]
}

@test "index: a symbolic link in place of corrindex/ is not followed: nothing is written or removed where it points" {
	flow | evpub -c L
	run --separate-stderr evtail --trace c1 -o json L
	want=$output
	rm -rf L/corrindex
	mkdir elsewhere
	echo sentinel >elsewhere/00000000000000000000-00000000000000000009.cix
	echo sentinel >elsewhere/.tmp.x
	ln -s "$PWD/elsewhere" L/corrindex
	run --separate-stderr evtail --trace c1 -o json L
	assert_status 0
	assert_stderr ""
	assert_stdout "$want"
	run --separate-stderr evctl repair L
	assert_status 0
	run ls -A elsewhere
	assert_stdout ".tmp.x
00000000000000000000-00000000000000000009.cix"
	[ -L L/corrindex ]
}

@test "index: a FIFO, a directory or a symbolic link in place of a run: no hang, the same trace" {
	flow | evpub -c L
	run --separate-stderr evtail --trace c1 -o json L
	want=$output
	f=$(cix L)
	echo target >target
	for kind in fifo dir link; do
		rm -rf "$f"
		case $kind in
		fifo) mkfifo "$f" ;;
		dir) mkdir "$f" && touch "$f/x" ;;
		link) ln -s "$PWD/target" "$f" ;;
		esac
		run --separate-stderr timeout 10 evtail --trace c1 -o json L
		assert_status 0
		assert_stderr ""
		assert_stdout "$want"
	done
	[ "$(cat target)" = target ]
}

@test "trace: on an archive, the causes of many orphans are looked up in one read of it, not one each" {
	command -v strace >/dev/null || skip "strace is not installed"
	{
		ev cause Cause s 2026-01-01T09:00:00Z other -
		ev o0 Orphan s 2026-01-01T10:00:59Z T cause
		for i in $(seq 1 70); do
			ev "o$i" Orphan s "2026-01-01T10:00:$(printf %02d $((i % 60)))Z" T "missing-$i"
		done
	} >o.ndjson
	# segments of 64 KiB: a read from the start reads the archive again
	evctl init --segment-bytes 64K L >/dev/null
	evgen 3000 --seed 1 | evpub L
	evpub L <o.ndjson
	[ "$(ls L/*.seg | wc -l)" -gt 2 ]
	evctl export L -o a.tar.zst >/dev/null
	run --separate-stderr evtail --trace T L
	want=$output
	run --separate-stderr env ASAN_OPTIONS=detect_leaks=0 \
		strace -f -o trace -e trace=openat evtail --trace T a.tar.zst
	assert_status 0
	assert_stdout "$want"
	assert_stdout_contains "Orphan s@2 #3001  [orphan: caused by 'cause', at offset 3000, outside this trace]"
	assert_stdout_contains "[orphan: caused by 'missing-63', which is not in the log]"
	assert_stdout_contains "[orphan: caused by 'missing-64', which is not in this trace]"
	# read once for the trace, once for the causes (each time from its
	# start: a segment before the next), not once per cause
	run grep -c 'openat(.*a\.tar\.zst' trace
	[ "$output" -le 10 ]
}

@test "index: runs that flood a key with more than a million wrong entries cannot push the right ones out" {
	# 3000 events, each its own flow, but for K at offsets 5 and 2995
	python3 -c '
import json
for i in range(3000):
    c = "K" if i in (5, 2995) else "c%d" % i
    print(json.dumps({"id": "e%d" % i, "type": "T", "stream": "s",
                      "time": "2026-01-01T10:00:00Z",
                      "meta": {"correlationId": c}}))' >k.ndjson
	head -n 2900 k.ndjson | evpub -c L
	evtail --trace K L >/dev/null
	tail -n 100 k.ndjson | evpub L
	run --separate-stderr evtail --trace K -o json L
	assert_status 0
	want=$output
	run ls L/corrindex
	assert_stdout "00000000000000000000-00000000000000002900.cix
00000000000000002900-00000000000000003000.cix"
	# 800 runs from offsets 1 to 800 to the end, each with 1400 entries
	# of K's hash (offsets 1500 to 2899), every check right: 1.12
	# million candidates, all wrong, sorted before the run of 2995
	python3 - L/corrindex <<'PY'
import os, struct, sys
T = []
for i in range(256):
    c = i
    for _ in range(8):
        c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
    T.append(c)
def crc(b):
    c = 0xFFFFFFFF
    for x in b:
        c = T[(c ^ x) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF
d = sys.argv[1]
def ents(name):
    b = open(os.path.join(d, name), "rb").read()
    n = struct.unpack_from("<Q", b, 48)[0]
    return b, [struct.unpack_from("<QQ", b, 64 + 16 * k) for k in range(n)]
hdr0, a = ents("00000000000000000000-00000000000000002900.cix")
_, b = ents("00000000000000002900-00000000000000003000.cix")
hk = ({h for h, o in a if o == 5} & {h for h, o in b if o == 2995}).pop()
body = b"".join(struct.pack("<QQ", hk, o) for o in range(1500, 2900))
pages = b"".join(struct.pack("<I", crc(body[i:i + 256 * 16]))
                 for i in range(0, len(body), 256 * 16))
for f in range(1, 801):
    h = bytearray(hdr0[:64])
    struct.pack_into("<QQQ", h, 32, f, 3000, 1400)
    struct.pack_into("<I", h, 60, crc(bytes(h[:60])))
    open(os.path.join(d, "%020d-%020d.cix" % (f, 3000)), "wb").write(h + body + pages)
PY
	run --separate-stderr timeout 60 evtail --trace K -o json L
	assert_status 0
	assert_stderr ""
	assert_stdout "$want"
	run --separate-stderr timeout 60 evtail --trace K L
	assert_stdout_contains "T s@2996 #2995"
}

@test "index: a merge that replaces a damaged run of its name keeps the merged run" {
	flow | evpub -c L
	evtail --trace c1 L >/dev/null
	flow | sed 's/"id":"\([a-z]\)"/"id":"\1\1"/' | evpub L
	# an empty (damaged) file under the name the merge of the two writes
	: >L/corrindex/00000000000000000000-00000000000000000014.cix
	run --separate-stderr evtail --trace c1 -o json L
	assert_status 0
	want=$output
	run ls L/corrindex
	assert_stdout 00000000000000000000-00000000000000000014.cix
	[ -s L/corrindex/00000000000000000000-00000000000000000014.cix ]
	run --separate-stderr evtail --trace c1 -o json L
	assert_stdout "$want"
}

@test "trace: a meta.correlationId given twice counts by its last value, as --where and -o json readers take it" {
	printf '%s\n' \
		'{"id":"a","type":"T","stream":"s","meta":{"correlationId":"c1","correlationId":"c2"}}' \
		'{"id":"b","type":"T","stream":"s","meta":{"correlationId":"c2","correlationId":1}}' \
		'{"id":"c","type":"T","stream":"s","meta":{"correlationId":1,"correlationId":"c1"}}' \
		'{"id":"d","type":"T","stream":"s","meta":{"correlationId":"c1"}}' | evpub -c L
	for k in c1 c2; do
		want=$(evtail --where "meta.correlationId == '$k' or id == '$k'" --template '{offset}' L)
		for how in build index; do
			[ $how = index ] || rm -rf L/corrindex
			run --separate-stderr evtail --trace "$k" -o json L
			assert_status 0
			got=$(printf '%s\n' "$output" | python3 "$BATS_FILE_TMPDIR/tree.py" | cut -d' ' -f2)
			[ "$got" = "$want" ] || { echo "$k $how: got '$got', want '$want'"; false; }
		done
	done
	[ "$want" = 0 ]
}

@test "trace: on a log it cannot write, the causes of many orphans are looked up in one read, not one each" {
	command -v strace >/dev/null || skip "strace is not installed"
	command -v setpriv >/dev/null || skip "setpriv is not installed"
	[ "$(id -u)" = 0 ] || skip "needs root, to read the log as another user"
	d=$(mktemp -d /tmp/evlog-trace-ro.XXXXXX)
	chmod 755 "$d"
	{
		ev cause Cause s 2026-01-01T09:00:00Z other -
		ev o0 Orphan s 2026-01-01T10:00:59Z T cause
		for i in $(seq 1 70); do
			ev "o$i" Orphan s "2026-01-01T10:00:$(printf %02d $((i % 60)))Z" T "missing-$i"
		done
	} >o.ndjson
	evctl init --segment-bytes 64K "$d/L" >/dev/null
	evgen 3000 --seed 1 | evpub "$d/L"
	evpub "$d/L" <o.ndjson
	[ "$(ls "$d"/L/*.seg | wc -l)" -gt 2 ]
	chmod -R go-w "$d/L"
	run --separate-stderr evtail --trace T "$d/L"
	want=$output
	rm -rf "$d/L/corrindex"
	# nobody may read the log but not write it: no index is kept, and
	# what no run covers is read for every trace, but once for the causes
	run --separate-stderr setpriv --reuid=nobody --regid=nogroup \
		--clear-groups env ASAN_OPTIONS=detect_leaks=0 \
		strace -f -e trace=openat evtail --trace T "$d/L"
	rm -rf "$d"
	assert_status 0
	assert_stdout "$want"
	assert_stdout_contains "Orphan s@2 #3001  [orphan: caused by 'cause', at offset 3000, outside this trace]"
	n=$(printf '%s\n' "$stderr" | grep -c 'openat(.*\.seg"')
	[ "$n" -le 16 ] || { echo "$n opens of segments"; false; }
}
