#!/usr/bin/python3
"""evlog_reader.py - a second reader of evlog logs, written from evlog(5).

    evlog_reader.py LOG

prints every event of the log directory LOG as one JSON line, in the
"JSON form" of evlog(5), which is what `evtail -o json LOG` prints; warns
on standard error of the offsets lost to gaps; and stops at damage,
after the events before it, with exit status 65.  Exit status 66: LOG is
not a log; 64: usage.

It is a reference, not a tool: it is short and slow, reads the whole log
from its first segment, and uses no index.  Each step names the part of
evlog(5) it implements.  Needs Debian's python3-msgpack and
python3-zstandard.
"""
import base64
import datetime
import math
import os
import re
import struct
import sys

import msgpack
import zstandard

PROG = os.path.basename(sys.argv[0]) if sys.argv else "evlog_reader.py"


class Damage(Exception):
    """The log is damaged (exit status 65)."""


class NotALog(Exception):
    """The path is not an evlog log (exit status 66)."""


# ------------------------------------------------------------ Conventions

def _crc_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


CRC_TABLE = _crc_table()


def crc32c(data):
    """CRC-32C (RFC 3720): reflected 0x82F63B78, init and final xor ~0."""
    crc = 0xFFFFFFFF
    table = CRC_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283

NO_TIME = -(2**63)
TIME_MIN = -(2**63) + 1
TIME_MAX = 2**63 - 1

# ------------------------------------------------------------ Meta


def _int_in(lo, hi):
    def ok(v):
        return v.isdigit() and v.isascii() and lo <= int(v) <= hi
    return ok


META_RANGES = {
    "created": lambda v: re.fullmatch(
        r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d{1,9})?"
        r"([Zz]|[+-]\d\d:\d\d)", v, re.ASCII) is not None,
    "segment-bytes": _int_in(65536, 4294967295),
    "level": _int_in(0, 19),
    "sync": lambda v: v in ("batch", "none"),
    "dedupe-window": _int_in(0, 2**63 - 1),
}


def read_meta(path):
    """The log id (16 bytes), from meta (evlog(5) Meta)."""
    try:
        with open(os.path.join(path, "meta"), "rb") as f:
            text = f.read()
    except FileNotFoundError:
        if os.path.exists(os.path.join(path, "head")):
            raise Damage("'%s' is damaged: its meta file is missing" % path)
        raise NotALog("'%s' is not an evlog log (no meta file)" % path)
    logid = None
    lines = text.decode("utf-8", "replace").split("\n")
    first = True
    for line in lines:
        if line == "" or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) < 2:
            raise Damage("log '%s': meta line is malformed" % path)
        key, val = parts[0], parts[1]
        if first:
            first = False
            if key != "evlog":
                raise Damage("'%s' is not an evlog log (bad meta file)" % path)
            if val != "1":
                raise Damage("log '%s': format version %s is not supported"
                             % (path, val))
            continue
        if key == "id":
            if len(val) != 32:
                raise Damage("log '%s': meta has a bad id" % path)
            try:
                logid = bytes.fromhex(val)
            except ValueError:
                raise Damage("log '%s': meta has a bad id" % path)
        elif key in META_RANGES and not META_RANGES[key](val):
            raise Damage("log '%s': meta has a bad value for '%s'" %
                         (path, key))
    if first or logid is None:
        raise Damage("log '%s': meta file is incomplete" % path)
    return logid


# ------------------------------------------------------------ Head


def read_head(path):
    """The head's fields, or None when it is missing or unreadable
    (evlog(5) Head)."""
    try:
        with open(os.path.join(path, "head"), "rb") as f:
            b = f.read(64)
    except FileNotFoundError:
        return None
    if len(b) < 64 or b[0:4] != b"EVHD":
        return None
    version, = struct.unpack_from("<H", b, 4)
    seg_base, end, nxt, salt, max_time, last_index, _checked, crc = \
        struct.unpack_from("<QQQQqQII", b, 8)
    if version != 1 or crc != crc32c(b[:60]):
        return None
    if end < 64 or nxt < seg_base or last_index > end:
        return None
    return dict(seg_base=seg_base, end=end, next=nxt, salt=salt)


# ------------------------------------------------------------ Segments

def list_segments(path):
    """Base offsets of the NNNNNNNNNNNNNNNNNNNN.seg files, ascending."""
    bases = []
    for name in os.listdir(path):
        if len(name) == 24 and name.endswith(".seg") and \
                name[:20].isdigit() and name[:20].isascii():
            bases.append(int(name[:20]))
    return sorted(bases)


def seg_name(base):
    return "%020d.seg" % base


GAPS = 0x00000001  # incompatible features of version 1: gap markers
PACKED = 0x00000002  # and codec 2


def check_segment_header(hdr, base, logid, where):
    """The salt of a segment whose header checks out (evlog(5)
    Segments)."""
    if len(hdr) < 64:
        raise Damage(where + "byte 0: file is shorter than its header")
    if hdr[0:8] != b"\x89EVLOG\r\n":
        raise Damage(where + "byte 0: not an evlog segment (bad magic)")
    if struct.unpack_from("<I", hdr, 60)[0] != crc32c(hdr[:60]):
        raise Damage(where + "byte 0: header checksum mismatch")
    version, size, _compat, incompat = struct.unpack_from("<HHII", hdr, 8)
    if version != 1:
        raise Damage(where + "format version %d is not supported" % version)
    if size != 64:
        raise Damage(where + "byte 0: unexpected header size %d" % size)
    if incompat & ~(GAPS | PACKED):
        raise Damage(where + "uses incompatible features 0x%08x" %
                     (incompat & ~(GAPS | PACKED)))
    hbase, salt = struct.unpack_from("<QQ", hdr, 24)
    if hbase != base:
        raise Damage(where + "byte 0: segment header names another offset")
    if hdr[40:56] != logid:
        raise Damage(where + "byte 0: segment belongs to another log")
    return salt


# ------------------------------------------------------------ Batches

MAX_RECORD = 1048576
MAX_BATCH = 16777216
MAX_STORED = 17043456


class BadBatch(Exception):
    """Bytes that are not a valid batch: damage or a torn tail."""


def batch_header(b, salt):
    """The fields of a 64-byte batch header, or BadBatch (evlog(5)
    Batches and Gaps)."""
    if struct.unpack_from("<I", b, 60)[0] != crc32c(b[:60]):
        raise BadBatch("batch header checksum mismatch")
    (stored_len, count, base, min_time, max_time, _append, raw_len, codec,
     reserved, flags, bsalt, payload_crc) = struct.unpack_from(
         "<IIQqqqIBBHQI", b, 0)
    if bsalt != salt:
        raise BadBatch("batch salt does not match its segment")
    h = dict(stored_len=stored_len, count=count, base=base, raw_len=raw_len,
             codec=codec, payload_crc=payload_crc, gap=False)
    if flags == 1 and reserved == 0:
        if codec != 0 or raw_len != 0 or payload_crc != 0 or count == 0 \
                or min_time > max_time:
            raise BadBatch("gap marker fields out of range")
        h["gap"] = True
    else:
        if reserved != 0 or flags != 0:
            raise BadBatch("reserved batch header bytes are not zero")
        if codec not in (0, 1, 2):
            raise BadBatch("unknown batch codec")
        if count == 0 or raw_len == 0 or raw_len > MAX_BATCH or \
                count > raw_len // 2:
            raise BadBatch("batch record count or length out of range")
        if stored_len == 0 or stored_len > MAX_STORED or \
                (codec == 0 and stored_len != raw_len):
            raise BadBatch("batch stored length out of range")
        if min_time > max_time:
            raise BadBatch("batch time range is inverted")
    if base + count > 2**64 - 1:
        raise BadBatch("batch offset out of range")
    return h


def read_header(f, pos, limit, salt):
    """The header of the batch at pos, whose payload (or filler) lies
    before limit, or BadBatch."""
    if limit - pos < 64:
        raise BadBatch("incomplete batch header")
    f.seek(pos)
    b = f.read(64)
    if len(b) < 64:
        raise BadBatch("incomplete batch header")
    h = batch_header(b, salt)
    if limit - pos - 64 < h["stored_len"]:
        raise BadBatch("incomplete batch payload")
    return h


def read_payload(f, pos, h):
    """The stored payload of the batch at pos, its CRC checked, or
    BadBatch."""
    f.seek(pos + 64)
    stored = f.read(h["stored_len"])
    if len(stored) < h["stored_len"]:
        raise BadBatch("incomplete batch payload")
    if crc32c(stored) != h["payload_crc"]:
        raise BadBatch("batch payload checksum mismatch")
    return stored


def read_batch(f, pos, limit, salt):
    """(header, stored payload or None for a gap) of the batch at pos,
    or BadBatch."""
    h = read_header(f, pos, limit, salt)
    if h["gap"]:
        return h, None  # the filler is never read
    return h, read_payload(f, pos, h)


def valid_batch_after(f, start, limit, salt):
    """Is there a valid batch at any position from start on (evlog(5)
    Readers: torn tail)?  Candidates carry the salt at byte 48."""
    f.seek(0)
    data = f.read(limit)
    key = struct.pack("<Q", salt)
    i = data.find(key, start + 48)
    while i >= 0:
        try:
            read_batch(f, i - 48, limit, salt)
            return True
        except BadBatch:
            pass
        i = data.find(key, i + 1)
    return False


CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def uleb(b, p, end, most):
    """An unsigned LEB128 varint of at most MOST bytes at b[p:end]."""
    v = 0
    for i in range(most):
        if p >= end:
            raise Damage("packed payload does not unpack")
        v |= (b[p] & 0x7F) << (7 * i)
        p += 1
        if not b[p - 1] & 0x80:
            return v, p
    raise Damage("packed payload does not unpack")


def unpack(pk, n):
    """The payload of n bytes a packed form stands for (evlog(5)
    Batches, codec 2)."""
    bad = Damage("packed payload does not unpack")
    if len(pk) < 16:
        raise bad
    s, g, d, l = struct.unpack_from("<IIII", pk, 0)
    gp, kp = 16, 16 + g
    dp = kp + s
    rp = dp + d
    lp = len(pk) - l
    if rp > lp or (lp - rp) % 16:
        raise bad
    out = bytearray()
    prev = 0
    for i in range(s):
        gap, gp = uleb(pk, gp, 16 + g, 4)
        if lp + gap > len(pk):
            raise bad
        out += pk[lp:lp + gap]
        lp += gap
        kind = pk[kp + i]
        if kind in (1, 2):
            if rp + 16 > len(pk) - l:
                raise bad
            v = pk[rp:rp + 16]
            rp += 16
            if kind == 1:
                x = v.hex()
                out += b"\xd9\x24" + ("%s-%s-%s-%s-%s" % (
                    x[0:8], x[8:12], x[12:16], x[16:20], x[20:])).encode()
            else:
                x = int.from_bytes(v, "big")
                out += b"\xba" + "".join(
                    CROCKFORD[(x >> (5 * (25 - j))) & 31]
                    for j in range(26)).encode()
        elif kind == 3:
            z, dp = uleb(pk, dp, kp + s + d, 10)
            prev = (prev + ((z >> 1) ^ -(z & 1))) % 2**64
            out += b"\xd7\xff" + prev.to_bytes(8, "big")
        else:
            raise bad
        if len(out) > n:
            raise bad
    if gp != 16 + g or dp != kp + s + d or rp != len(pk) - l:
        raise bad
    out += pk[lp:]
    if len(out) != n:
        raise bad
    return bytes(out)


def decompress(h, stored):
    """The uncompressed payload (evlog(5) Batches: codec 1 is one zstd
    frame with its content size, window at most 2^24; codec 2 the same
    of the packed form, whose size is under the uncompressed length)."""
    if h["codec"] == 0:
        return stored
    try:
        params = zstandard.get_frame_parameters(stored)
    except zstandard.ZstdError:
        raise Damage("zstd frame size does not match the batch header")
    size = params.content_size
    if (h["codec"] == 2 and not 16 <= size < h["raw_len"]) or \
            (h["codec"] == 1 and size != h["raw_len"]):
        raise Damage("zstd frame size does not match the batch header")
    d = zstandard.ZstdDecompressor(max_window_size=2**24).decompressobj()
    try:
        raw = d.decompress(stored)
    except zstandard.ZstdError:
        raise Damage("zstd payload does not decompress")
    if not d.eof or d.unused_data or len(raw) != size:
        raise Damage("zstd payload does not decompress")
    if h["codec"] == 2:
        return unpack(raw, h["raw_len"])
    return raw


def records(raw, count):
    """The records of a payload, one at a time, as evlog(5) Batches
    frames them; Damage at the first framing problem."""
    p = 0
    for _ in range(count):
        n = shift = 0
        while True:
            if p >= len(raw) or shift > 21:
                raise Damage("record framing is damaged")
            b = raw[p]
            p += 1
            n |= (b & 0x7F) << shift
            if not b & 0x80:
                break
            shift += 7
        if n == 0 or n > MAX_RECORD or n > len(raw) - p:
            raise Damage("record framing is damaged")
        yield raw[p:p + n]
        p += n
    if p != len(raw):
        raise Damage("batch payload has bytes after its last record")


# ------------------------------------------------------------ Records

class Map(list):
    """A MessagePack map: its (key, value) pairs in stored order."""


def _unpacker(rec):
    u = msgpack.Unpacker(raw=False, strict_map_key=False,
                         object_pairs_hook=Map, use_list=True,
                         ext_hook=msgpack.ExtType,
                         max_buffer_size=2 * MAX_RECORD)
    u.feed(rec)
    return u


STR_FORMATS = set(range(0xA0, 0xC0)) | {0xD9, 0xDA, 0xDB}
UINT_FORMATS = set(range(0x00, 0x80)) | {0xCC, 0xCD, 0xCE, 0xCF}
MAP_FORMATS = set(range(0x80, 0x90)) | {0xDE, 0xDF}
BIN_FORMATS = {0xC4, 0xC5, 0xC6}
MAX_LEVEL = 66  # the record map is level 1


def check_json_image(v, level):
    """data or meta: only the JSON image, at most 66 levels."""
    if isinstance(v, (list, Map)) and level > MAX_LEVEL:
        raise ValueError("nesting deeper than 66 levels")
    if isinstance(v, Map):
        for k, x in v:
            if not isinstance(k, str):
                raise ValueError("map key is not a string")
            check_json_image(x, level + 1)
    elif isinstance(v, list):
        for x in v:
            check_json_image(x, level + 1)
    elif isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError("non-finite float")
    elif v is None or isinstance(v, (bool, int, str)):
        pass
    else:  # bytes (bin), ExtType, Timestamp
        raise ValueError("binary or extension value inside data or meta")


def read_time(rec, p):
    """(nanoseconds, position after) of the timestamp at p."""
    fmt = rec[p]
    if fmt in (0xD6, 0xD7):
        n, q = (4 if fmt == 0xD6 else 8), p + 1
    elif fmt == 0xC7:
        n, q = rec[p + 1], p + 2
    elif fmt == 0xC8:
        n, q = struct.unpack_from(">H", rec, p + 1)[0], p + 3
    elif fmt == 0xC9:
        n, q = struct.unpack_from(">I", rec, p + 1)[0], p + 5
    else:
        raise ValueError("time is not a timestamp")
    if struct.unpack_from(">b", rec, q)[0] != -1 or q + 1 + n > len(rec):
        raise ValueError("time is not a timestamp")
    d = rec[q + 1:q + 1 + n]
    if n == 4:
        sec, ns = struct.unpack(">I", d)[0], 0
    elif n == 8:
        w = struct.unpack(">Q", d)[0]
        sec, ns = w & (2**34 - 1), w >> 34
    elif n == 12:
        ns, sec = struct.unpack(">Iq", d)
    else:
        raise ValueError("time is not a timestamp")
    t = sec * 10**9 + ns
    if ns > 999999999 or not TIME_MIN <= t <= TIME_MAX:
        raise ValueError("time is not a valid timestamp")
    return t, q + 1 + n


FIELDS = {1: "id", 2: "type", 3: "stream", 4: "version", 5: "time",
          6: "schema", 7: "key", 8: "data", 9: "meta", 10: "prev"}


def decode_record(rec):
    """The fields of a record, checked as evlog(5) Records says, or
    ValueError (damage)."""
    if not 0x83 <= rec[0] <= 0x8A:
        raise ValueError("not a record map")
    u = _unpacker(rec)
    u.read_bytes(1)
    ev = {}
    last = 0
    try:
        for _ in range(rec[0] & 0x0F):
            if u.tell() >= len(rec):
                raise ValueError("truncated record")
            k = u.read_bytes(1)[0]
            if k > 0x7F or k <= last or k > 10:
                raise ValueError("unknown or out-of-order field key")
            last = k
            name = FIELDS[k]
            p = u.tell()
            if p >= len(rec):
                raise ValueError("truncated record")
            fmt = rec[p]
            if name == "time":
                ev["time"], q = read_time(rec, p)
                u.skip()
                if u.tell() != q:
                    raise ValueError("time is not a timestamp")
                continue
            v = u.unpack()
            if name in ("id", "type", "stream", "key"):
                if fmt not in STR_FORMATS or v == "":
                    raise ValueError("%s is not a non-empty string" % name)
            elif name in ("version", "schema", "prev"):
                if fmt not in UINT_FORMATS or (name != "prev" and v == 0):
                    raise ValueError("%s is not a positive integer" % name)
            elif name == "data":
                if fmt in BIN_FORMATS:
                    v = bytes(v)
                else:
                    check_json_image(v, 2)
            elif name == "meta":
                if fmt not in MAP_FORMATS:
                    raise ValueError("meta is not a map")
                check_json_image(v, 2)
            ev[name] = v
    except UnicodeDecodeError:
        raise ValueError("string is not valid UTF-8")
    except ValueError:
        raise
    except Exception as e:  # OutOfData, FormatError, StackError ...
        raise ValueError("malformed msgpack (%s)" % type(e).__name__)
    if "id" not in ev or "type" not in ev or "time" not in ev:
        raise ValueError("missing id, type or time")
    if u.tell() != len(rec):
        raise ValueError("trailing bytes after the record map")
    return ev


# ------------------------------------------------------------ JSON form

def json_float(d):
    """evlog(5) JSON form: shortest round trip; fixed notation from 1e-5
    to below 1e15, and above while the digits reach the units, else
    exponent notation with a signed exponent of two digits at least."""
    if d == 0:
        return "-0.0" if math.copysign(1.0, d) < 0 else "0.0"
    a = abs(d)
    mant, _, exp = repr(a).partition("e")  # repr: the shortest digits
    ip, _, fp = mant.partition(".")
    digits = (ip + fp).lstrip("0")
    x = (int(exp) if exp else 0) + len(ip) - 1 - (len(ip + fp) - len(
        (ip + fp).lstrip("0")))  # the exponent of the first digit
    digits = digits.rstrip("0")
    sign = "-" if d < 0 else ""
    if 1e-5 <= a and (a < 1e15 or len(digits) > x):
        if x < 0:
            return sign + "0." + "0" * (-x - 1) + digits
        return (sign + digits[:x + 1].ljust(x + 1, "0") + "." +
                (digits[x + 1:] or "0"))
    m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return "%s%se%s%02d" % (sign, m, "-" if x < 0 else "+", abs(x))


ESCAPES = {0x22: '\\"', 0x5C: "\\\\", 0x08: "\\b", 0x09: "\\t", 0x0A: "\\n",
           0x0C: "\\f", 0x0D: "\\r"}
for _c in range(0x20):
    ESCAPES.setdefault(_c, "\\u%04x" % _c)


def json_str(s):
    return '"' + s.translate(ESCAPES) + '"'


def json_value(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return json_float(v)
    if isinstance(v, str):
        return json_str(v)
    if isinstance(v, Map):
        return "{" + ",".join(json_str(k) + ":" + json_value(x)
                              for k, x in v) + "}"
    return "[" + ",".join(json_value(x) for x in v) + "]"


def json_time(t):
    sec, ns = divmod(t, 10**9)
    days, rem = divmod(sec, 86400)
    day = datetime.date(1970, 1, 1) + datetime.timedelta(days=days)
    if ns % 1000000 == 0:
        frac = "%03d" % (ns // 1000000)
    elif ns % 1000 == 0:
        frac = "%06d" % (ns // 1000)
    else:
        frac = "%09d" % ns
    return "%04d-%02d-%02dT%02d:%02d:%02d.%sZ" % (
        day.year, day.month, day.day, rem // 3600, rem // 60 % 60, rem % 60,
        frac)


def json_line(offset, ev):
    out = ['{"offset":%d' % offset, ',"id":' + json_str(ev["id"]),
           ',"type":' + json_str(ev["type"])]
    if "stream" in ev:
        out.append(',"stream":' + json_str(ev["stream"]))
    if "version" in ev:
        out.append(',"version":%d' % ev["version"])
    out.append(',"time":"%s"' % json_time(ev["time"]))
    out.append(',"schema":%d' % ev.get("schema", 1))
    if "key" in ev:
        out.append(',"key":' + json_str(ev["key"]))
    if "data" in ev:
        if isinstance(ev["data"], bytes):
            out.append(',"data_base64":"%s"' %
                       base64.b64encode(ev["data"]).decode("ascii"))
        else:
            out.append(',"data":' + json_value(ev["data"]))
    if "meta" in ev:
        out.append(',"meta":' + json_value(ev["meta"]))
    return "".join(out) + "}\n"


# ------------------------------------------------------------ Readers

def warn(msg):
    sys.stdout.flush()
    sys.stderr.write("%s: warning: %s\n" % (PROG, msg))


def read_log(path, out):
    """Write the JSON form of every event of the log at path to out
    (evlog(5) Readers)."""
    if not os.path.isdir(path):
        raise NotALog("'%s' is not an evlog log" % path)
    logid = read_meta(path)
    bases = list_segments(path)
    if not bases:
        raise Damage("log '%s' has no segments" % path)
    head = read_head(path)
    if head is not None:
        bases = [b for b in bases if b <= head["seg_base"]]
        if not bases or bases[-1] != head["seg_base"]:
            raise Damage("damaged data in '%s': head names segment %020d, "
                         "which is missing" % (path, head["seg_base"]))
    nxt = bases[0]
    for i, base in enumerate(bases):
        last = i == len(bases) - 1
        where = "damaged data in '%s': segment %020d, offset %d, " % (
            path, base, nxt)
        if base != nxt:
            raise Damage(where + "next segment does not continue the offsets")
        with open(os.path.join(path, seg_name(base)), "rb") as f:
            size = os.fstat(f.fileno()).st_size
            salt = check_segment_header(f.read(64), base, logid, where)
            if head is not None and last:
                if head["salt"] != salt:
                    raise Damage(where + "byte 0: head file does not match "
                                 "the segment")
                limit, torn_ok = head["end"], False
            else:
                limit, torn_ok = size, last and head is None
            pos = 64
            while pos < limit:
                at = "damaged data in '%s': segment %020d, offset %d, " \
                     "byte %d: " % (path, base, nxt, pos)
                try:
                    h = read_header(f, pos, limit, salt)
                    if h["base"] != nxt:
                        raise Damage(at + "batch offset does not continue "
                                     "the log")
                    stored = None if h["gap"] else read_payload(f, pos, h)
                except BadBatch as e:
                    if torn_ok and not valid_batch_after(f, pos + 1, limit,
                                                         salt):
                        break  # a torn tail: the end
                    raise Damage(at + str(e))
                pos += 64 + h["stored_len"]
                if h["gap"]:
                    first, lastoff = h["base"], h["base"] + h["count"] - 1
                    n = h["count"]
                    warn("'%s': %s lost to damage and repaired as a gap "
                         "(%d %s); reading on after them" % (
                             path, "offset %d" % first if n == 1 else
                             "offsets %d to %d" % (first, lastoff), n,
                             "event" if n == 1 else "events"))
                    nxt += n
                    continue
                try:
                    raw = decompress(h, stored)
                except Damage as e:
                    raise Damage(at + str(e))
                off = nxt
                try:
                    for rec in records(raw, h["count"]):
                        try:
                            ev = decode_record(rec)
                        except ValueError as e:
                            raise Damage("damaged data in '%s': offset %d: "
                                         "invalid record: %s" % (path, off, e))
                        out.write(json_line(off, ev).encode("utf-8"))
                        off += 1
                except Damage as e:
                    if str(e).startswith("damaged data"):
                        raise
                    raise Damage("damaged data in '%s': segment %020d, "
                                 "offset %d, byte %d: %s" % (
                                     path, base, off, pos - 64 -
                                     h["stored_len"], e))
                nxt += h["count"]


def main(argv):
    if len(argv) != 2 or argv[1].startswith("-"):
        sys.stderr.write("usage: %s LOG\n" % PROG)
        return 64
    out = sys.stdout.buffer
    try:
        read_log(argv[1], out)
    except Damage as e:
        out.flush()
        sys.stderr.write("%s: %s\n" % (PROG, e))
        return 65
    except NotALog as e:
        out.flush()
        sys.stderr.write("%s: %s\n" % (PROG, e))
        return 66
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
