#!/usr/bin/env python3
"""tests/refcraft.py - write crafted evlog logs for tests/refreader.bats.

A log is built from Python values, byte by byte as evlog(5) lays it out,
so tests can hold what evpub never writes: non-minimal MessagePack,
float32, times in every timestamp form, gap markers, torn tails, and
damage of every kind.  Used as a module (see the scenarios below) or as
a script:

    refcraft.py DIR            every scenario, as DIR/NAME.evlog
    refcraft.py DIR NAME...    the named ones
    refcraft.py --list         the names, "ok" or "bad" (damaged) first
"""
import math
import os
import random
import struct
import sys

import msgpack
import zstandard

# ---------------------------------------------------------------- bytes


def _crc_table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_T = _crc_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc = _T[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


NO_TIME = -(2**63)


def leb(n, pad=0):
    """n as an unsigned LEB128 varint, padded with pad extra bytes."""
    out = bytearray()
    while True:
        out.append(n & 0x7F)
        n >>= 7
        if not n:
            break
    out += bytes(pad)
    for i in range(len(out) - 1):
        out[i] |= 0x80
    return bytes(out)


def mp(v):
    return msgpack.packb(v, use_bin_type=True)


def ts(t, form=None):
    """A MessagePack timestamp for t nanoseconds; form 4, 8 or 12 forces
    one (non-minimal), 'ext8' the 8-byte form inside an ext 8."""
    sec, ns = divmod(t, 10**9)
    if form is None:
        if 0 <= sec < 2**34:
            form = 4 if ns == 0 and sec < 2**32 else 8
        else:
            form = 12
    if form == 4:
        return b"\xd6\xff" + struct.pack(">I", sec)
    if form == 8:
        return b"\xd7\xff" + struct.pack(">Q", ns << 34 | sec)
    if form == "ext8":
        return b"\xc7\x08\xff" + struct.pack(">Q", ns << 34 | sec)
    return b"\xc7\x0c\xff" + struct.pack(">Iq", ns, sec)


def f32(x):
    return b"\xca" + struct.pack(">f", x)


def f64(x):
    return b"\xcb" + struct.pack(">d", x)


def s_raw(b, fmt=None):
    """a str of raw bytes b (UTF-8 or not) in the format fmt (None:
    smallest, 8, 16, 32)"""
    n = len(b)
    if fmt is None:
        fmt = 5 if n < 32 else 8 if n < 256 else 16 if n < 65536 else 32
    if fmt == 5:
        return bytes([0xA0 | n]) + b
    if fmt == 8:
        return b"\xd9" + struct.pack(">B", n) + b
    if fmt == 16:
        return b"\xda" + struct.pack(">H", n) + b
    return b"\xdb" + struct.pack(">I", n) + b


def amap(pairs, fmt=None):
    """a map of (key bytes, value bytes) pairs, already encoded"""
    n = len(pairs)
    if fmt is None:
        fmt = 4 if n < 16 else 16 if n < 65536 else 32
    head = (bytes([0x80 | n]) if fmt == 4 else
            b"\xde" + struct.pack(">H", n) if fmt == 16 else
            b"\xdf" + struct.pack(">I", n))
    return head + b"".join(k + v for k, v in pairs)


def arr(items, fmt=None):
    n = len(items)
    if fmt is None:
        fmt = 4 if n < 16 else 16 if n < 65536 else 32
    head = (bytes([0x90 | n]) if fmt == 4 else
            b"\xdc" + struct.pack(">H", n) if fmt == 16 else
            b"\xdd" + struct.pack(">I", n))
    return head + b"".join(items)


_MISSING = object()


def record(id="e", type="T", time=0, stream=None, version=None,
           schema=None, key=None, data=_MISSING, meta=None, prev=None,
           raw=None):
    """A record.  Values are Python values (packed minimally) or bytes
    (taken as encoded MessagePack); raw: a list of (key byte, value
    bytes) used as it is."""
    def enc(v):
        return v if isinstance(v, (bytes, bytearray)) else mp(v)
    if raw is not None:
        f = raw
    else:
        f = [(1, enc(id)), (2, enc(type))]
        if stream is not None:
            f.append((3, enc(stream)))
        if version is not None:
            f.append((4, enc(version)))
        f.append((5, time if isinstance(time, bytes) else ts(time)))
        if schema is not None:
            f.append((6, enc(schema)))
        if key is not None:
            f.append((7, enc(key)))
        if data is not _MISSING:
            f.append((8, enc(data)))
        if meta is not None:
            f.append((9, enc(meta)))
        if prev is not None:
            f.append((10, enc(prev)))
    return bytes([0x80 | len(f)]) + b"".join(
        (bytes([k]) if isinstance(k, int) else k) + v for k, v in f)


# ---------------------------------------------------------------- files


class Batch:
    """records: list of record bytes; codec 0 or 1; gap: a count of
    lost offsets (a gap marker, records ignored); times: (min, max) or
    None to compute; payload: raw payload bytes instead of framing the
    records; hook(header bytearray, stored bytearray) may damage them
    after the checksums."""

    def __init__(self, records=(), codec=0, gap=0, times=None,
                 append=1700000000 * 10**9, payload=None, count=None,
                 pads=None, hook=None, filler=64, stored=None):
        self.records = list(records)
        self.codec = codec
        self.gap = gap
        self.times = times
        self.append = append
        self.payload = payload
        self.count = count
        self.pads = pads
        self.hook = hook
        self.filler = filler
        self.stored = stored

    def encode(self, base, salt, rec_times):
        if self.gap:
            h = bytearray(64)
            struct.pack_into("<IIQqqqIBBHQI", h, 0, self.filler, self.gap,
                             base, NO_TIME, NO_TIME, NO_TIME, 0, 0, 0, 1,
                             salt, 0)
            struct.pack_into("<I", h, 60, crc32c(h[:60]))
            stored = bytearray(self.filler)
            if self.hook:
                self.hook(h, stored)
            return bytes(h) + bytes(stored), self.gap
        if self.payload is not None:
            raw = self.payload
        else:
            pads = self.pads or [0] * len(self.records)
            raw = b"".join(leb(len(r), p) + r
                           for r, p in zip(self.records, pads))
        count = self.count if self.count is not None else len(self.records)
        if self.stored is not None:
            stored = self.stored
        elif self.codec == 1:
            stored = zstandard.ZstdCompressor(
                level=1, write_content_size=True,
                write_checksum=False).compress(raw)
        else:
            stored = raw
        mn, mx = self.times if self.times else (
            (min(rec_times), max(rec_times)) if rec_times else (0, 0))
        h = bytearray(64)
        struct.pack_into("<IIQqqqIBBHQI", h, 0, len(stored), count, base,
                         mn, mx, self.append, len(raw), self.codec, 0, 0,
                         salt, crc32c(stored))
        struct.pack_into("<I", h, 60, crc32c(h[:60]))
        stored = bytearray(stored)
        if self.hook:
            self.hook(h, stored)
        return bytes(h) + bytes(stored), count


def rec_time(r):
    """the time of a record made by record(), for batch headers"""
    try:
        m = msgpack.unpackb(r, raw=True, strict_map_key=False,
                            ext_hook=lambda c, d: msgpack.ExtType(c, d),
                            timestamp=3)
        t = m.get(5)
        if isinstance(t, msgpack.Timestamp):
            return t.to_unix_nano()
    except Exception:
        pass
    return 0


def write_log(path, segments, head=True, meta_extra="", logid=None,
              salts=None, seg_hook=None, tail=None, head_hook=None,
              extra_segments=()):
    """segments: list of lists of Batch (or (base, [Batch...]) to force
    a base).  head: True, False (no head file) or a dict overriding
    fields.  tail: bytes appended to the last segment past the head's
    end.  seg_hook(index, header bytearray) may change a segment header
    (its CRC is recomputed unless the hook returns False)."""
    rnd = random.Random(path)
    os.makedirs(path)
    logid = logid or bytes(rnd.getrandbits(8) for _ in range(16))
    with open(os.path.join(path, "meta"), "w") as f:
        f.write("evlog 1\nid %s\ncreated 2023-11-14T22:13:20Z\n"
                "segment-bytes 134217728\nlevel 1\nsync batch\n"
                "dedupe-window 1000000\n%s" % (logid.hex(), meta_extra))
    open(os.path.join(path, "lock"), "w").close()
    nxt = 0
    info = None
    for i, seg in enumerate(segments):
        if isinstance(seg, tuple):
            base, seg = seg
        else:
            base = nxt
        salt = salts[i] if salts else rnd.getrandbits(64)
        h = bytearray(64)
        h[0:8] = b"\x89EVLOG\r\n"
        incompat = 1 if any(b.gap for b in seg) else 0
        struct.pack_into("<HHIIIQQ", h, 8, 1, 64, 0, incompat, 0, base, salt)
        h[40:56] = logid
        recrc = True
        if seg_hook:
            recrc = seg_hook(i, h) is not False
        if recrc:
            struct.pack_into("<I", h, 60, crc32c(h[:60]))
        body = bytearray(h)
        off = base
        maxt = NO_TIME
        for b in seg:
            times = [rec_time(r) for r in b.records]
            data, n = b.encode(off, salt, times)
            body += data
            off += n
            if not b.gap and times:
                maxt = max([maxt] + times)
        end = len(body)
        if i == len(segments) - 1 and tail:
            body += tail(salt, off) if callable(tail) else tail
        name = "%020d" % base
        with open(os.path.join(path, name + ".seg"), "wb") as f:
            f.write(body)
        for ext, magic, size in (("idx", b"EVIX", 8), ("tix", b"EVTX", 16)):
            with open(os.path.join(path, name + "." + ext), "wb") as f:
                f.write(magic + struct.pack("<HHQ", 1, size, salt))
        info = (base, end, off, salt, maxt)
        nxt = off
    for name, data in extra_segments:
        with open(os.path.join(path, name), "wb") as f:
            f.write(data)
    if head is not False:
        base, end, off, salt, maxt = info
        fields = dict(seg_base=base, end=end, next=off, salt=salt,
                      max_time=maxt, last_index=64, checked=end)
        if isinstance(head, dict):
            fields.update(head)
        hb = bytearray(64)
        hb[0:4] = b"EVHD"
        struct.pack_into("<HHQQQQqQI", hb, 4, 1, 0, fields["seg_base"],
                         fields["end"], fields["next"], fields["salt"],
                         fields["max_time"], fields["last_index"],
                         fields["checked"])
        struct.pack_into("<I", hb, 60, crc32c(hb[:60]))
        if head_hook:
            head_hook(hb)
        with open(os.path.join(path, "head"), "wb") as f:
            f.write(hb)


# ---------------------------------------------------------------- scenarios

T0 = 1700000000 * 10**9
SCENARIOS = {}


def scenario(kind):
    def deco(fn):
        SCENARIOS[fn.__name__.replace("_", "-")] = (kind, fn)
        return fn
    return deco


def one(records, codec=1, **kw):
    """a log of one segment, the records in batches of 16"""
    batches = [Batch(records[i:i + 16], codec=codec)
               for i in range(0, len(records), 16)]
    return dict(segments=[batches], **kw)


def _random_doubles(rnd, n):
    out = []
    while len(out) < n:
        r = rnd.random()
        if r < 0.4:
            d = struct.unpack(">d", struct.pack(">Q", rnd.getrandbits(64)))[0]
        elif r < 0.6:
            d = rnd.uniform(-1e6, 1e6)
        elif r < 0.8:
            d = round(rnd.uniform(-1000, 1000), rnd.randint(0, 6))
        else:
            d = rnd.random() * 10.0 ** rnd.randint(-30, 30)
        if math.isfinite(d):
            out.append(d)
    return out


@scenario("ok")
def floats():
    rnd = random.Random(1)
    specials = [0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 100.0, 1e5, 1e15, -1e15,
                1e16, 1e21, 1e22, 1e23, 1e-4, 1e-5, 1e-6, 1e-7, 9e-6,
                1.5e-5, 1.2345678901234568e-05, 999999999999999.9,
                1234567890123456.0, 12345678901234568.0, 2.0**53,
                2.0**53 + 2, 2.0**63, 2.0**64, 1e300, 1.7976931348623157e308,
                -1.7976931348623157e308, 2.2250738585072014e-308,
                2.225073858507201e-308, 5e-324, -5e-324, 1e-320,
                0.30000000000000004, 123456789.12345679, 4.35, 0.3, 2.5,
                -1.25e-07, 3.141592653589793, 2.718281828459045]
    specials += [math.ldexp(1.0, e) for e in range(-1074, 1024, 7)]
    specials += [math.ldexp(1.0, e) for e in (-24, -44, 89, 122, 976)]
    recs = [record("specials", "Floats", T0, data=arr([f64(x) for x in specials]))]
    for i in range(40):
        recs.append(record("r%d" % i, "Floats", T0 + i,
                           data=arr([f64(x) for x in _random_doubles(rnd, 100)])))
    # float32, as written by other MessagePack writers
    f32s = [0.0, -0.0, 0.1, 1.5, 3.4028234663852886e38, 1e-45, 1.17549435e-38,
            16777217.0, 0.3333333333333333, -2.5, 1e10]
    f32s += [struct.unpack(">f", struct.pack(">I", rnd.getrandbits(32)))[0]
             for _ in range(300)]
    f32s = [x for x in f32s if math.isfinite(x)]
    recs.append(record("f32", "Floats", T0, data=arr([f32(x) for x in f32s])))
    # integers: edges of every width, beyond 2^53, in minimal and other forms
    ints = [0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32,
            2**53, 2**53 + 1, 2**63 - 1, 2**63, 2**64 - 1, -1, -32, -33,
            -128, -129, -32768, -32769, -2**31, -2**31 - 1, -2**53 - 1,
            -2**63]
    recs.append(record("ints", "Ints", T0, data=ints))
    recs.append(record("ints-wide", "Ints", T0, data=arr(
        [b"\xcf" + struct.pack(">Q", 5), b"\xce" + struct.pack(">I", 7),
         b"\xcd\x00\x01", b"\xcc\x02", b"\xd3" + struct.pack(">q", 9),
         b"\xd0\x05", b"\xd1\xff\xff", b"\xd2" + struct.pack(">i", -3),
         f64(3.0), f64(-0.0), f32(2.0), f64(2.0**70), f64(-2.0**63)])))
    recs.append(record("meta-floats", "Floats", T0, data=1.5,
                       meta={"x": 0.1, "y": -0.0, "z": 1e-7}))
    return one(recs)


@scenario("ok")
def strings():
    ctl = "".join(chr(c) for c in range(0x20)) + "\x7f"
    c1 = "".join(chr(c) for c in range(0x80, 0xA0))
    texts = [ctl, c1, "\u2028\u2029", "quote\" back\\ slash/ tab\t",
             "\U0001F600 \U00010000 \U0010FFFF", "\ufeff\ufffe\uffff",
             "é ü ß 中文 日本語", "<script>&amp;</script>", "", "a" * 300,
             "\ud7ff\ue000", "nul\x00in the middle"]
    recs = []
    for i, t in enumerate(texts):
        recs.append(record("s%d" % i, "Strings", T0 + i, stream="st",
                           version=i + 1, data={t: t, "list": [t]},
                           meta={"k": t, t: 1}))
    # identifiers with what writers refuse but readers print
    recs.append(record("id\ttab\x01", "type\u2028", T0, stream="s\x7f",
                       version=1, key="k\x85", data=None))
    # strings in every str format, and keys too
    recs.append(record(s_raw(b"id-str8", 8), s_raw(b"T", 16), T0,
                       stream=s_raw(b"s", 32), version=2,
                       key=s_raw(b"key", 16),
                       data=amap([(s_raw(b"a", 32), s_raw(b"b", 8)),
                                  (s_raw(b"", 16), s_raw(b"", 32))])))
    return one(recs)


@scenario("ok")
def times():
    t = [T0, T0 + 1, T0 + 10, T0 + 100, T0 + 1000, T0 + 10**4, T0 + 10**5,
         T0 + 10**6, T0 + 10**7, T0 + 10**8, T0 + 120 * 10**6,
         T0 + 123456 * 10**3, T0 + 123456789, T0 + 999999999,
         T0 + 100 * 10**3, 0, 1, -1, -10**9, -10**9 + 1, -(10**6),
         2**63 - 1, -(2**63) + 1, 2**32 * 10**9, 2**32 * 10**9 - 1,
         951782400 * 10**9, 4107542400 * 10**9, 9223372036 * 10**9]
    recs = [record("t%d" % i, "Times", x) for i, x in enumerate(t)]
    # the same times in forms larger than needed
    forms = [(T0, 12), (T0, 8), (T0, "ext8"), (T0 + 5 * 10**8, 12),
             (0, 4), (0, 8), (0, 12), (-1, 12), (2**33 * 10**9, 12)]
    recs += [record("f%d" % i, "Times", ts(x, f)) for i, (x, f) in
             enumerate(forms)]
    return one(recs, codec=0)


@scenario("ok")
def envelope():
    recs = [
        record("a", "T", T0),
        record("b", "T", T0, schema=1),
        record("c", "T", T0, schema=7, key="k"),
        record("d", "T", T0, stream="s", version=1, data=None),
        record("e", "T", T0, stream="s", version=2**64 - 1,
               schema=2**64 - 1, prev=0),
        record("f", "T", T0, stream="s", version=b"\xcf" + struct.pack(">Q", 3),
               schema=b"\xcd\x00\x02", prev=b"\xce\x00\x00\x00\x00"),
        record("g", "T", T0, data=b"\xc4\x00"),
        record("h", "T", T0, data=b"\xc4\x03abc"),
        record("i", "T", T0, data=b"\xc5\x00\x05" + bytes(range(5))),
        record("j", "T", T0, data=b"\xc6\x00\x00\x01\x00" + bytes(256)),
        record("k", "T", T0, data=[]),
        record("l", "T", T0, data={}),
        record("m", "T", T0, data=True, meta={}),
        record("n", "T", T0, data=False),
        record("o", "T", T0, data="text"),
        record("p", "T", T0, data=-5),
        record("q", "T", T0, meta={"correlationId": "c", "n": [1, {"x": None}]}),
        # duplicate keys, kept in order; order as stored
        record("r", "T", T0, data=amap([(mp("z"), mp(1)), (mp("a"), mp(2)),
                                        (mp("z"), mp(3))]),
               meta=amap([(mp("b"), mp(1)), (mp("b"), mp(2))])),
        # containers in larger formats than needed
        record("s", "T", T0, data=amap([(mp("x"), arr([mp(1)], 32))], 16),
               meta=amap([(mp("m"), amap([], 32))], 32)),
        # prev at or past the event's own offset: not checked
        record("t", "T", T0, stream="s", version=3, prev=19),
        record("u", "T", T0, stream="s", version=4, prev=2**64 - 1),
        # nesting: data at level 2, 64 more levels of arrays (66 in all)
        record("v", "T", T0, data=b"\x91" * 64 + b"\x90"),
        record("w", "T", T0, data=b"\x81\xa1a" * 64 + b"\xc0"),
        record("x", "T", T0, raw=[(1, mp("x")), (2, mp("T")), (5, ts(T0)),
                                  (10, mp(0))]),
        # a version without a stream, a stream without a version
        record("y", "T", T0, version=5),
        record("z", "T", T0, stream="lone"),
    ]
    return one(recs)


@scenario("ok")
def framing():
    # record lengths as padded varints, times outside the batch's range
    recs = [record("p%d" % i, "T", T0 + i, data="x" * (i * 40)) for i in range(6)]
    return dict(segments=[[
        Batch(recs[:3], pads=[1, 2, 3], codec=0),
        Batch(recs[3:], pads=[0, 1, 0], codec=1, times=(T0 + 10**12, T0 + 10**12)),
        Batch([record("q", "T", T0)], times=(NO_TIME, NO_TIME), codec=0),
    ]])


@scenario("ok")
def gaps():
    recs = [record("g%d" % i, "T", T0 + i, stream="s", version=i + 1)
            for i in range(40)]
    return dict(segments=[
        [Batch(recs[0:5]), Batch(gap=3, filler=100), Batch(recs[8:12], codec=1),
         Batch(gap=1, filler=0), Batch(recs[13:20])],
        [Batch(gap=5, filler=10), Batch(recs[25:30]), Batch(gap=2)],
        [Batch(recs[32:40], codec=1)],
    ])


@scenario("ok")
def gap_at_end():
    recs = [record("g%d" % i, "T", T0 + i) for i in range(6)]
    return dict(segments=[[Batch(recs[0:3]), Batch(gap=7, filler=3)]])


@scenario("ok")
def segments():
    rnd = random.Random(3)
    segs = []
    k = 0
    for s in range(5):
        batches = []
        for b in range(rnd.randint(0, 4)):
            n = rnd.randint(1, 30)
            batches.append(Batch([record("m%d" % (k + i), "Multi", T0 + k + i,
                                         stream="s%d" % ((k + i) % 7),
                                         data={"n": k + i, "f": (k + i) / 7})
                                  for i in range(n)], codec=rnd.randint(0, 1)))
            k += n
        segs.append(batches)
    # a log may start past offset 0 (trimmed)
    segs[0] = (1000, segs[0])
    return dict(segments=segs)


@scenario("ok")
def empty():
    return dict(segments=[[]])


@scenario("ok")
def tolerated_headers():
    """what readers ignore: compatible feature bits, reserved fields,
    unknown meta keys and comments, files that are not segments,
    segments past the head's, bytes past the durable end"""
    def hook(i, h):
        struct.pack_into("<I", h, 12, 0x80000001)
        struct.pack_into("<I", h, 20, 0xdeadbeef)
        struct.pack_into("<I", h, 56, 7)
    recs = [record("h%d" % i, "T", T0 + i) for i in range(10)]
    return dict(segments=[[Batch(recs[:5])], [Batch(recs[5:])]],
                seg_hook=hook,
                meta_extra="# a comment\nfuture-key some value\nkind dlq\n",
                tail=Batch([record("late", "T", T0)]).encode(10, 1, [T0])[0],
                extra_segments=[("%020d.seg" % 99, b"not published"),
                                ("0000000000000000000x.seg", b"x"),
                                ("notes.txt", b"hello")])


@scenario("ok")
def no_head():
    recs = [record("n%d" % i, "T", T0 + i) for i in range(8)]
    return dict(segments=[[Batch(recs[:4])], [Batch(recs[4:])]], head=False)


@scenario("ok")
def torn_tail():
    recs = [record("n%d" % i, "T", T0 + i) for i in range(8)]
    torn = Batch(recs[4:]).encode(4, 0, [])[0][:-9]
    return dict(segments=[[Batch(recs[:4])]], head=False, tail=torn)


@scenario("ok")
def torn_tail_garbage():
    recs = [record("n%d" % i, "T", T0 + i) for i in range(4)]
    return dict(segments=[[Batch(recs)]], head=False, tail=b"\x01" * 200)


@scenario("ok")
def bad_head_crc():
    """a head that fails its CRC counts as missing"""
    recs = [record("n%d" % i, "T", T0 + i) for i in range(4)]
    def hh(hb):
        hb[20] ^= 1
    return dict(segments=[[Batch(recs)]], head_hook=hh, tail=b"\x00" * 70)


@scenario("ok")
def head_behind():
    """events past the head are not delivered"""
    recs = [record("n%d" % i, "T", T0 + i) for i in range(8)]
    b1 = Batch(recs[:4])
    first, _ = b1.encode(0, 0, [])
    return dict(segments=[[b1, Batch(recs[4:])]],
                head=dict(end=64 + len(first), next=4))


# damaged records: each is the third record of a log of five
BAD_RECORDS = {
    "rec-utf8-data": record("x", "T", T0, data=s_raw(b"\xff")),
    "rec-utf8-key": record("x", "T", T0, data=amap([(s_raw(b"\xc3"), mp(1))])),
    "rec-utf8-id": record(s_raw(b"\xed\xa0\x80"), "T", T0),
    "rec-overlong": record("x", "T", T0, meta={"a": 1}, data=s_raw(b"\xc0\xaf")),
    "rec-nan": record("x", "T", T0, data=f64(float("nan"))),
    "rec-inf32": record("x", "T", T0, data=arr([f32(float("inf"))])),
    "rec-bin-inside": record("x", "T", T0, data=arr([b"\xc4\x01a"])),
    "rec-ext-inside": record("x", "T", T0, data=arr([ts(T0)])),
    "rec-bin-meta": record("x", "T", T0, meta=amap([(mp("a"), b"\xc4\x00")])),
    "rec-c1": record("x", "T", T0, data=b"\xc1"),
    "rec-int-key": record("x", "T", T0, data=amap([(mp(1), mp(1))])),
    "rec-too-deep": record("x", "T", T0, data=b"\x91" * 65 + b"\x90"),
    "rec-meta-not-map": record("x", "T", T0, meta=[1]),
    "rec-empty-id": record("", "T", T0),
    "rec-empty-stream": record("x", "T", T0, stream=""),
    "rec-id-not-str": record(5, "T", T0),
    "rec-no-time": record(raw=[(1, mp("x")), (2, mp("T"))] + [(8, mp(1))]),
    "rec-no-id": record(raw=[(2, mp("T")), (5, ts(T0)), (8, mp(1))]),
    "rec-order": record(raw=[(2, mp("T")), (1, mp("x")), (5, ts(T0))]),
    "rec-dup-field": record(raw=[(1, mp("x")), (1, mp("y")), (2, mp("T")),
                                 (5, ts(T0))]),
    "rec-key-11": record(raw=[(1, mp("x")), (2, mp("T")), (5, ts(T0)),
                              (11, mp(1))]),
    "rec-key-wide": record(raw=[(1, mp("x")), (2, mp("T")),
                                (b"\xcc", b"\x05" + ts(T0))]),
    "rec-version-0": record("x", "T", T0, stream="s", version=0),
    "rec-version-int8": record("x", "T", T0, stream="s", version=b"\xd0\x05"),
    "rec-version-float": record("x", "T", T0, stream="s", version=f64(1.0)),
    "rec-schema-0": record("x", "T", T0, schema=0),
    "rec-prev-neg": record("x", "T", T0, prev=-1),
    "rec-time-ext": b"\x83\x01\xa1x\x02\xa1T\x05\xd6\x01\x00\x00\x00\x00",
    "rec-time-ns": record("x", "T", b"\xc7\x0c\xff" + struct.pack(">Iq", 10**9, 0)),
    "rec-time-ns8": record("x", "T", b"\xd7\xff" + struct.pack(">Q", 10**9 << 34)),
    "rec-time-len": record("x", "T", b"\xc7\x05\xff" + bytes(5)),
    "rec-time-early": record("x", "T", b"\xc7\x0c\xff" + struct.pack(
        ">Iq", 145224191, -9223372037)),
    "rec-time-none": record("x", "T", b"\xc7\x0c\xff" + struct.pack(
        ">Iq", 145224192, -9223372037)),
    "rec-time-late": record("x", "T", b"\xc7\x0c\xff" + struct.pack(
        ">Iq", 854775808, 9223372036)),
    "rec-time-2514": record("x", "T", ts(2**34 * 10**9 - 1)),
    "rec-trailing": record("x", "T", T0) + b"\xc0",
    "rec-truncated": record("x", "T", T0, data="abcdef")[:-2],
    "rec-fixmap-2": b"\x82\x01\xa1x\x02\xa1T",
    "rec-map16": b"\xde\x00\x03\x01\xa1x\x02\xa1T\x05" + ts(T0),
    "rec-not-map": b"\x93\x01\x02\x03",
    "rec-big-container": record("x", "T", T0, data=b"\xdd\xff\xff\xff\xff"),
}


def _bad_record_log(rec):
    def fn():
        recs = [record("ok%d" % i, "T", T0 + i) for i in range(5)]
        recs[2] = rec
        return dict(segments=[[Batch(recs[:2]), Batch(recs[2:], codec=1)]])
    return fn


for _name, _rec in BAD_RECORDS.items():
    SCENARIOS[_name] = ("bad", _bad_record_log(_rec))


def _recs(n, base=0):
    return [record("b%d" % (base + i), "T", T0 + base + i, data=base + i)
            for i in range(n)]


def _bad(name, **kw):
    SCENARIOS[name] = ("bad", lambda: kw)


def _flip(pos):
    def hook(h, stored):
        buf = h if pos < 64 else stored
        buf[pos if pos < 64 else pos - 64] ^= 0x10
    return hook


_bad("batch-payload-crc", segments=[[Batch(_recs(4)), Batch(
    _recs(4, 4), hook=_flip(70)), Batch(_recs(4, 8))]])
_bad("batch-header-crc", segments=[[Batch(_recs(4)), Batch(
    _recs(4, 4), hook=_flip(20)), Batch(_recs(4, 8))]])
_bad("batch-offset", segments=[[Batch(_recs(4)), Batch(_recs(4, 4))],
                               (9, [Batch(_recs(4, 9))])])


def _mkbad_framing(name, payload, count):
    _bad(name, segments=[[Batch(_recs(3)), Batch(payload=payload, count=count)]])


_r = record("f", "T", T0)
_mkbad_framing("frame-zero", leb(len(_r)) + _r + b"\x00" + _r, 3)
_mkbad_framing("frame-long-varint", leb(len(_r), 4) + _r, 1)
_mkbad_framing("frame-count-high", (leb(len(_r)) + _r) * 2, 3)
_mkbad_framing("frame-count-low", (leb(len(_r)) + _r) * 3, 2)
_mkbad_framing("frame-overrun", leb(len(_r) + 5) + _r, 1)
_bad("zstd-no-size", segments=[[Batch(_recs(3)), Batch(
    _recs(3, 3), codec=1, stored=zstandard.ZstdCompressor(
        write_content_size=False).compress(
            b"".join(leb(len(r)) + r for r in _recs(3, 3))))]])
_bad("zstd-size-wrong", segments=[[Batch(_recs(3)), Batch(
    _recs(3, 3), codec=1, stored=zstandard.ZstdCompressor().compress(
        b"".join(leb(len(r)) + r for r in _recs(3, 3)) + b"x"))]])
_bad("zstd-two-frames", segments=[[Batch(_recs(3)), Batch(
    payload=b"".join(leb(len(r)) + r for r in _recs(2, 3)), count=2,
    codec=1, stored=zstandard.ZstdCompressor().compress(
        leb(len(_recs(1, 3)[0])) + _recs(1, 3)[0]) +
    zstandard.ZstdCompressor().compress(
        leb(len(_recs(1, 4)[0])) + _recs(1, 4)[0]))]])
_bad("codec-unknown", segments=[[Batch(_recs(3)), Batch(_recs(3, 3), codec=2)]])
_bad("segment-crc", segments=[[Batch(_recs(3))], [Batch(_recs(3, 3))]],
     seg_hook=lambda i, h: (h.__setitem__(30, 1), False)[1] if i == 1 else None)
_bad("segment-base", segments=[[Batch(_recs(3))], [Batch(_recs(3, 3))]],
     seg_hook=lambda i, h: struct.pack_into("<Q", h, 24, 4) if i == 1 else None)
_bad("segment-other-log", segments=[[Batch(_recs(3))], [Batch(_recs(3, 3))]],
     seg_hook=lambda i, h: h.__setitem__(40, h[40] ^ 1) if i == 1 else None)
_bad("segment-incompat", segments=[[Batch(_recs(3))], [Batch(_recs(3, 3))]],
     seg_hook=lambda i, h: struct.pack_into("<I", h, 16, 6) if i == 1 else None)
_bad("segment-version", segments=[[Batch(_recs(3))]],
     seg_hook=lambda i, h: struct.pack_into("<H", h, 8, 2))
_bad("segment-missing", segments=[[Batch(_recs(3))], (7, [Batch(_recs(3, 7))])])
_bad("head-names-missing", segments=[[Batch(_recs(3))]], head=dict(seg_base=3))
_bad("head-salt", segments=[[Batch(_recs(3))]], head=dict(salt=1))
_bad("head-past-end", segments=[[Batch(_recs(3))]], head=dict(end=100000))
_bad("torn-then-valid", head=False, segments=[[Batch(_recs(3))]],
     tail=lambda salt, off: b"\x01" * 100 + Batch(_recs(2, 3)).encode(
         off, salt, [])[0])


def _torn_last_batch():
    """a last batch whose header fails, with nothing valid after it"""
    recs = _recs(6)
    return dict(segments=[[Batch(recs[:3]), Batch(recs[3:], hook=_flip(5))]],
                head=False)


SCENARIOS["torn-last-batch"] = ("ok", _torn_last_batch)
_bad("time-range-inverted", segments=[[Batch(_recs(3)), Batch(
    _recs(3, 3), times=(T0 + 5, T0))]])
_bad("gap-bad", segments=[[Batch(_recs(3)), Batch(gap=2, hook=lambda h, s: (
    h.__setitem__(44, 1), struct.pack_into("<I", h, 60, crc32c(h[:60]))))]])
_bad("gap-past-file", segments=[[Batch(_recs(3)), Batch(gap=2, filler=10, hook=lambda h, s: (
    struct.pack_into("<I", h, 0, 1000), struct.pack_into("<I", h, 60, crc32c(h[:60]))))]])


_bad("meta-bad-level", segments=[[Batch(_recs(2))]], meta_extra="level 25\n")
_bad("meta-bad-sync", segments=[[Batch(_recs(2))]], meta_extra="sync often\n")
_bad("meta-bad-id", segments=[[Batch(_recs(2))]], meta_extra="id 12\n")


def build(outdir, names=None):
    for name in names or SCENARIOS:
        kind, fn = SCENARIOS[name]
        write_log(os.path.join(outdir, name + ".evlog"), **fn())


if __name__ == "__main__":
    if sys.argv[1:] == ["--list"]:
        for name, (kind, _) in SCENARIOS.items():
            print(kind, name)
    else:
        build(sys.argv[1], sys.argv[2:] or None)
