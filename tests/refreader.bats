#!/usr/bin/env bats
# tests/refreader.bats - the reference reader (examples/reference-reader,
# Python, written from evlog(5) alone) against evtail -o json: the same
# bytes on standard output, the same exit status, the same gap warnings,
# on the golden logs, on generated logs, on crafted logs that hold what
# evpub never writes (tests/refcraft.py) and on damaged ones.  A
# difference is a bug in one of the two readers or a gap in evlog(5).

load helper

READER=examples/reference-reader/evlog_reader.py

# a Python 3 with Debian's python3-msgpack and python3-zstandard:
# /usr/bin/python3 first (a python3 first in PATH may be another one)
find_python() {
	local p
	for p in /usr/bin/python3 python3; do
		if "$p" -c 'import msgpack, zstandard' 2>/dev/null; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	return 1
}

local_setup() {
	PY=$(find_python) ||
		skip "needs python3-msgpack and python3-zstandard (.ci/deps test installs them)"
}

# same LOG: evtail and the reader agree on stdout and exit status, and
# on stderr when both succeed (gap warnings); on damage, both name it
same() {
	local log=$1 r1 r2
	evtail -o json "$log" >"$T/evtail.out" 2>"$T/evtail.err" && r1=0 || r1=$?
	"$PY" "$TOP/$READER" "$log" >"$T/ref.out" 2>"$T/ref.err" && r2=0 || r2=$?
	if [ "$r1" != "$r2" ]; then
		echo "$log: evtail exits $r1, the reader $r2" >&2
		cat "$T/evtail.err" "$T/ref.err" >&2
		return 1
	fi
	if ! cmp "$T/evtail.out" "$T/ref.out" >&2; then
		echo "$log: the outputs differ:" >&2
		diff "$T/evtail.out" "$T/ref.out" | head -n 6 >&2
		return 1
	fi
	if [ "$r1" = 0 ]; then
		sed 's/^evtail: //' "$T/evtail.err" >"$T/e1"
		sed 's/^evlog_reader.py: //' "$T/ref.err" >"$T/e2"
		if ! cmp -s "$T/e1" "$T/e2"; then
			echo "$log: the warnings differ:" >&2
			diff "$T/e1" "$T/e2" >&2
			return 1
		fi
	elif [ "$r1" = 65 ]; then
		grep -q 'damaged data\|not supported\|unknown to this' "$T/evtail.err"
		grep -q 'damaged data\|not supported\|incompatible features' "$T/ref.err"
	fi
	printf '%s %s\n' "$r1" "$(wc -l <"$T/ref.out")"
}

@test "refreader: the golden logs read the same, and as expected" {
	local l
	for l in golden golden-multi golden-gap; do
		run same "$TOP/tests/data/$l.evlog"
		assert_status 0
		cmp "$T/ref.out" "$TOP/tests/data/$l-expected.ndjson"
	done
	# the gap's warning, word for word
	grep -q "^evlog_reader.py: warning: '$TOP/tests/data/golden-gap.evlog': offsets 16 to 31 lost to damage and repaired as a gap (16 events); reading on after them\$" "$T/ref.err"
}

@test "refreader: crafted logs that are not damaged read the same" {
	local name kind n=0
	"$PY" "$TOP/tests/refcraft.py" "$T/c"
	while read -r kind name; do
		[ "$kind" = ok ] || continue
		run same "$T/c/$name.evlog"
		[ "$status" -eq 0 ] || { echo "$output"; return 1; }
		[ "${output%% *}" = 0 ] || { echo "$name: $output"; return 1; }
		n=$((n + 1))
	done < <("$PY" "$TOP/tests/refcraft.py" --list)
	[ "$n" -ge 16 ]
	# what the crafted logs hold is in the output
	evtail "$T/c/floats.evlog" >out
	grep -q '"data":\[0.0,-0.0,1.0,-1.0,0.1,0.5,100.0,100000.0,1e+15,-1e+15,1e+16,' out
	grep -q ',0.000012345678901234568,999999999999999.9,1234567890123456.0,12345678901234568.0,9007199254740992.0,9007199254740994.0,9.223372036854776e+18,' out
	grep -q ',5.960464477539063e-08,' out
	grep -q '"data":\[0.0,-0.0,0.10000000149011612,1.5,3.4028234663852886e+38,' out
	grep -q '18446744073709551615,-1,-32,-33,-128' out
	evtail "$T/c/strings.evlog" >out
	grep -q '"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e' out
	grep -q $'"id":"id\\\\ttab\\\\u0001","type":"type\u2028","stream":"s\x7f"' out
	# -o pretty writes to a terminal: control characters there are
	# escaped as in JSON, never raw
	evtail -o pretty "$T/c/strings.evlog" >out
	grep -qF "12 2023-11-14T22:13:20.000Z type"$'\u2028'' s\u007f@1 null' out
	[ "$(LC_ALL=C grep -c $'[\x01-\x09\x0b-\x1f]' out)" = 0 ]
	evtail "$T/c/times.evlog" | jq -r .time >times
	grep -qx '2023-11-14T22:13:20.000000001Z' times
	grep -qx '2023-11-14T22:13:20.000100Z' times
	grep -qx '2023-11-14T22:13:20.120Z' times
	grep -qx '1969-12-31T23:59:59.999999999Z' times
	grep -qx '1677-09-21T00:12:43.145224193Z' times
	grep -qx '2262-04-11T23:47:16.854775807Z' times
}

@test "refreader: damaged crafted logs get the same verdict, after the same events" {
	local name kind n=0
	"$PY" "$TOP/tests/refcraft.py" "$T/c"
	while read -r kind name; do
		[ "$kind" = bad ] || continue
		run same "$T/c/$name.evlog"
		[ "$status" -eq 0 ] || { echo "$output"; return 1; }
		[ "${output%% *}" = 65 ] || { echo "$name: $output"; return 1; }
		n=$((n + 1))
	done < <("$PY" "$TOP/tests/refcraft.py" --list)
	[ "$n" -ge 60 ]
}

@test "refreader: generated logs, several segments, zstd and stored batches, read the same" {
	local gen=${EVLOG_SHARED:-$TOP/../shared}/bench/gen_events.py
	if [ -f "$gen" ]; then
		"$PY" "$gen" 3000 --seed 11 --streams 300 >in.ndjson
	else
		evgen 3000 --seed 11 --streams 300 >in.ndjson
	fi
	evctl init --segment-bytes 64K z.evlog >/dev/null
	evpub --batch-events 37 z.evlog <in.ndjson
	evctl init --level 0 --segment-bytes 64K s.evlog >/dev/null
	evpub --batch-events 50 s.evlog <in.ndjson
	evgen 500 --seed 5 | evpub -c e.evlog
	for l in z s e; do
		run same $l.evlog
		assert_status 0
	done
	[ "$(ls z.evlog/*.seg | wc -l)" -ge 3 ]
	[ "$(ls s.evlog/*.seg | wc -l)" -ge 10 ]
	[ "$(wc -l <"$T/ref.out")" -eq 500 ]
}

@test "refreader: events with edge values, as evpub writes them, read the same" {
	"$PY" - >in.ndjson <<'PY'
import json, random, struct, math
rnd = random.Random(7)
for i in range(300):
    fl = []
    while len(fl) < 50:
        d = struct.unpack(">d", struct.pack(">Q", rnd.getrandbits(64)))[0]
        if math.isfinite(d):
            fl.append(d)
    fl += [rnd.random() * 10.0 ** rnd.randint(-20, 20) for _ in range(20)]
    ns = rnd.choice([0, 1000000, 120000000, 1000, 123456000, 1, 999999999])
    t = "2024-%02d-%02dT%02d:%02d:%02d.%09dZ" % (
        rnd.randint(1, 12), rnd.randint(1, 28), rnd.randint(0, 23),
        rnd.randint(0, 59), rnd.randint(0, 59), ns)
    s = "".join(chr(rnd.choice([rnd.randint(0, 0x7f), rnd.randint(0x80, 0x7ff),
                                0x2028, 0x2029, rnd.randint(0x10000, 0x10ffff),
                                rnd.randint(0xe000, 0xfffd)]))
                for _ in range(20))
    ev = {"type": "Edge", "stream": "s-%d" % (i % 7), "time": t,
          "data": {"f": fl, "s": s, "big": [2**64 - 1, -2**63, 2**53 + 1],
                   "z": -0.0, s: [s]}, "meta": {"m": s}}
    if i % 5 == 0:
        ev.pop("data")
        ev["data_base64"] = "AAEC/w=="
    print(json.dumps(ev))
PY
	evctl init --segment-bytes 64K l.evlog >/dev/null
	evpub --batch-events 9 l.evlog <in.ndjson
	run same l.evlog
	assert_status 0
	[ "$(wc -l <"$T/ref.out")" -eq 300 ]
	# and the JSON is what json.loads reads back as the input's values
	"$PY" - in.ndjson "$T/ref.out" <<'PY'
import json, sys, math
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
for x, y in zip(a, b):
    if "data" in x:
        assert x["data"]["f"] == y["data"]["f"]
        assert x["data"]["s"] == y["data"]["s"]
        assert math.copysign(1, y["data"]["z"]) < 0
        assert y["data"]["big"] == [2**64 - 1, -2**63, 2**53 + 1]
    assert x["meta"] == y["meta"]
PY
}

@test "refreader: float 32 given to evpub --format msgpack reads the same, as the float64 it is" {
	"$PY" - >in.mp <<'PY'
import msgpack, sys, random, struct, math
rnd = random.Random(5)
out = sys.stdout.buffer
for i in range(50):
    fl = [struct.unpack(">f", struct.pack(">I", rnd.getrandbits(32)))[0]
          for _ in range(40)]
    fl = [x for x in fl if math.isfinite(x)] + [0.1, -0.0, 16777217.0]
    out.write(msgpack.packb({"type": "F32", "data": {"f": fl}},
                            use_single_float=True))
PY
	evpub -c --format msgpack l.evlog <in.mp
	run same l.evlog
	assert_status 0
	[ "$(wc -l <"$T/ref.out")" -eq 50 ]
	grep -q '0.10000000149011612,-0.0,16777216.0\]' "$T/ref.out"
}

@test "refreader: dead-letter logs and their resolutions read the same" {
	make_log l.evlog 12
	evtail --group g --exec 'cat >/dev/null; exit 3' --retries 0 \
		--dlq d.evlog l.evlog 2>/dev/null || true
	grep -qx 'kind dlq' d.evlog/meta
	evdlq purge --reason 'not needed' --offset 0..2 d.evlog >/dev/null
	run same d.evlog
	assert_status 0
	[ "$(wc -l <"$T/ref.out")" -ge 13 ]
	grep -q '"original":' "$T/ref.out"
}

@test "refreader: a byte flipped anywhere in a log gets the same verdict from both" {
	local seg f pos size i n=0 bad=0
	evctl init --segment-bytes 64K l.evlog >/dev/null
	evgen 400 --seed 9 | evpub --batch-events 23 l.evlog
	f=(l.evlog/*.seg l.evlog/head)
	for i in $(seq 1 40); do
		rm -rf c.evlog && cp -R l.evlog c.evlog
		seg=${f[$((i % ${#f[@]}))]}
		seg=c.evlog/${seg#l.evlog/}
		size=$(stat -c %s "$seg")
		pos=$(((i * 7919 + i * i * 104729) % size))
		printf "$(printf '\\%03o' $(($(od -An -tu1 -j$pos -N1 "$seg") ^ 0x5a)))" |
			dd of="$seg" bs=1 seek=$pos conv=notrunc 2>/dev/null
		run same c.evlog
		[ "$status" -eq 0 ] || { echo "flip at $seg:$pos: $output"; return 1; }
		case ${output%% *} in
		65) bad=$((bad + 1)) ;;
		esac
		n=$((n + 1))
	done
	[ "$n" -eq 40 ]
	[ "$bad" -ge 20 ] # most flips are damage; some land in a torn tail
}

@test "refreader: the reader's own usage and errors" {
	run --separate-stderr "$PY" "$TOP/$READER"
	assert_status 64
	assert_stderr "usage: evlog_reader.py LOG"
	run --separate-stderr "$PY" "$TOP/$READER" nowhere
	assert_status 66
	assert_stderr "evlog_reader.py: 'nowhere' is not an evlog log"
	make_log l.evlog 3
	rm l.evlog/meta
	run --separate-stderr "$PY" "$TOP/$READER" l.evlog
	assert_status 65
	assert_stderr "evlog_reader.py: 'l.evlog' is damaged: its meta file is missing"
	run --separate-stderr evtail l.evlog
	assert_status 65
}
