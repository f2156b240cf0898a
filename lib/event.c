/*
 * event.c - struct ev_event and the record encoding of evlog(5)
 * "RECORDS": encoding the fields of an event (struct ev_fields) into a
 * record, decoding and validating records, and the values at dotted
 * paths in a decoded event.  Input formats are read by parser.c,
 * cloudevents.c and unpacker.c; output formats are written by eventout.c,
 * cloudevents.c and jsonout.c.
 */
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

/* ------------------------------------------------------------ encoding */

/* Has the word a byte below 0x20, 0x7f, or one above? */
static inline int word_special(uint64_t w)
{
	uint64_t x = w ^ 0x7f7f7f7f7f7f7f7full;

	return ((w | ((w - 0x2020202020202020ull) & ~w) |
		 ((x - 0x0101010101010101ull) & ~x)) &
		0x8080808080808080ull) != 0;
}

/* U+0000-001F, U+007F-009F: not allowed in identifiers (id, type,
 * stream, key), which must also be valid CloudEvents attributes. */
int ev_has_control(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	uint64_t w;

	if (s == NULL)
		return 0;
	if (n >= 8) {
		/* 8 bytes at a time, the last word overlapping, while all
		 * are printable ASCII */
		for (; i + 8 <= n; i += 8) {
			memcpy(&w, p + i, 8);
			if (word_special(w))
				break;
		}
		if (i + 8 > n) {
			memcpy(&w, p + n - 8, 8);
			if (!word_special(w))
				return 0;
		}
	}
	for (; i < n; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 1;
		if (p[i] == 0xC2 && i + 1 < n && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f)
			return 1;
	}
	return 0;
}

int ev_record_encode(const struct ev_fields *f, ev_time_t now,
		     struct ev_buf *out, ev_time_t *time, struct ev_error *err)
{
	char idbuf[37];
	const char *id = f->id;
	size_t id_n = f->id_n, need, start = out->len;
	ev_time_t t;
	unsigned count = 3;
	size_t slack;
	uint8_t *o;

	/* a clock read per event costs more than it seems in a bulk load */
	if (now == EV_TIME_NONE && (f->time == EV_TIME_NONE || id == NULL))
		now = ev_now();
	t = f->time != EV_TIME_NONE ? f->time : now;

	if (f->type == NULL || f->type_n == 0)
		return ev_seterr(err, EV_EDATA,
				 "missing required field 'type'");
	/* those the parser found printable ASCII are not looked at again */
	if ((!(f->plain & EV_PLAIN_TYPE) &&
	     ev_has_control(f->type, f->type_n)) ||
	    (!(f->plain & EV_PLAIN_ID) && ev_has_control(f->id, f->id_n)) ||
	    (!(f->plain & EV_PLAIN_STREAM) &&
	     ev_has_control(f->stream, f->stream_n)) ||
	    (!(f->plain & EV_PLAIN_KEY) && ev_has_control(f->key, f->key_n)))
		return ev_seterr(err, EV_EDATA,
				 "field '%s' contains a control character",
				 ev_has_control(f->type, f->type_n) ? "type"
				 : ev_has_control(f->id, f->id_n)   ? "id"
				 : ev_has_control(f->stream, f->stream_n)
					 ? "stream"
					 : "key");
	if (id == NULL) {
		ev_uuid7(now, idbuf);
		id = idbuf;
		id_n = 36;
	}
	count += (f->stream != NULL) + (f->version != 0) + (f->schema > 1) +
		 (f->key != NULL) + (f->data != NULL) + (f->meta != NULL) +
		 (f->prev != EV_NO_PREV);
	need = 1 + 1 + 5 + f->type_n + 1 + 5 + id_n + 1 + 15 + 1 + 5 +
	       f->stream_n + 1 + 9 + 1 + 9 + 1 + 5 + f->key_n + 1 + 5 +
	       f->data_n + 1 + f->meta_n + 1 + 9;
	if (ev_buf_reserve(out, need) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	o = out->p + out->len;
	*o++ = (uint8_t)(0x80 | count);
	*o++ = EV_K_ID;
	o = ev_mp_str_hdr(o, id_n);
	memcpy(o, id, id_n);
	o += id_n;
	*o++ = EV_K_TYPE;
	o = ev_mp_str_hdr(o, f->type_n);
	memcpy(o, f->type, f->type_n);
	o += f->type_n;
	if (f->stream != NULL) {
		*o++ = EV_K_STREAM;
		o = ev_mp_str_hdr(o, f->stream_n);
		memcpy(o, f->stream, f->stream_n);
		o += f->stream_n;
	}
	if (f->version != 0) {
		*o++ = EV_K_VERSION;
		o = ev_mp_uint(o, f->version);
	}
	*o++ = EV_K_TIME;
	o = ev_mp_time(o, t);
	if (f->schema > 1) {
		*o++ = EV_K_SCHEMA;
		o = ev_mp_uint(o, f->schema);
	}
	if (f->key != NULL) {
		*o++ = EV_K_KEY;
		o = ev_mp_str_hdr(o, f->key_n);
		memcpy(o, f->key, f->key_n);
		o += f->key_n;
	}
	if (f->data != NULL) {
		*o++ = EV_K_DATA;
		if (f->data_bin)
			o = ev_mp_bin_hdr(o, f->data_n);
		memcpy(o, f->data, f->data_n);
		o += f->data_n;
	}
	if (f->meta != NULL) {
		*o++ = EV_K_META;
		memcpy(o, f->meta, f->meta_n);
		o += f->meta_n;
	}
	if (f->prev != EV_NO_PREV) {
		*o++ = EV_K_PREV;
		o = ev_mp_uint(o, f->prev);
	}
	/* a stream event gets its version and link when appended: count
	 * them now, so that it fits then */
	slack = f->stream != NULL && !f->resolved ? EV_RESOLVE_SLACK : 0;
	if ((size_t)(o - out->p) - start + slack > EV_MAX_RECORD)
		return ev_seterr(
			err, EV_EDATA,
			"event is %zu bytes encoded, over the limit of "
			"%u bytes",
			(size_t)(o - out->p) - start + slack, EV_MAX_RECORD);
	out->len = (size_t)(o - out->p);
	if (time != NULL)
		*time = t;
	return 0;
}

/* ------------------------------------------------------------ record lists */

#define MAX_LINE_EVENTS 4096

int ev_reclist_push(struct ev_reclist *rl, ev_time_t t, struct ev_error *err)
{
	if (rl->count >= MAX_LINE_EVENTS) {
		ev_seterr(err, EV_EDATA, "more than %d events on one line",
			  MAX_LINE_EVENTS);
		err->column = 1;
		return EV_EDATA;
	}
	if (rl->count == rl->cap) {
		int cap = rl->cap ? rl->cap * 2 : 4;
		size_t *e = realloc(rl->end, (size_t)cap * sizeof(*e));
		ev_time_t *tt;
		if (e == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		rl->end = e;
		tt = realloc(rl->time, (size_t)cap * sizeof(*tt));
		if (tt == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		rl->time = tt;
		rl->cap = cap;
	}
	rl->end[rl->count] = rl->out.len;
	rl->time[rl->count] = t;
	rl->count++;
	return 0;
}

void ev_reclist_clear(struct ev_reclist *rl)
{
	rl->out.len = 0;
	rl->count = 0;
}

void ev_reclist_get(const struct ev_reclist *rl, int i, const uint8_t **rec,
		    size_t *n, ev_time_t *time)
{
	size_t start = i == 0 ? 0 : rl->end[i - 1];

	*rec = rl->out.p + start;
	*n = rl->end[i] - start;
	if (time != NULL)
		*time = rl->time[i];
}

void ev_reclist_free(struct ev_reclist *rl)
{
	ev_buf_free(&rl->out);
	free(rl->end);
	free(rl->time);
	memset(rl, 0, sizeof(*rl));
}

/* ------------------------------------------------------------ decoding */

static int bad(struct ev_error *err, const char *why)
{
	return ev_seterr(err, EV_EDATA, "invalid record: %s", why);
}

/* Are the n bytes at p all ASCII (so valid UTF-8)? */
static inline int all_ascii(const uint8_t *p, size_t n)
{
	uint64_t w, acc = 0;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		acc |= w;
	}
	if (i < n && n >= 8) {
		/* the last word, overlapping */
		memcpy(&w, p + n - 8, 8);
		acc |= w;
	} else {
		for (; i < n; i++)
			acc |= p[i];
	}
	return (acc & 0x8080808080808080ull) == 0;
}

static int get_str(const uint8_t **p, const uint8_t *end, struct ev_str *s,
		   int nonempty)
{
	struct ev_mp_item it;
	const uint8_t *q = *p;
	size_t n;

	/* fast path: a fixstr or str8 of ASCII, as most ids, types and
	 * streams are */
	if (q < end && (*q & 0xe0) == 0xa0) {
		n = *q & 0x1f;
		q++;
	} else if (end - q >= 2 && *q == 0xd9) {
		n = q[1];
		q += 2;
	} else {
		q = NULL;
		n = 0;
	}
	if (q != NULL && n <= (size_t)(end - q) && (n > 0 || !nonempty) &&
	    all_ascii(q, n)) {
		s->p = (const char *)q;
		s->n = n;
		*p = q + n;
		return 0;
	}
	if (ev_mp_read(p, end, &it) != 0 || it.type != EV_MP_STR)
		return -1;
	if (nonempty && it.n == 0)
		return -1;
	if (ev_utf8_valid(it.p, it.n) != it.n)
		return -1;
	s->p = (const char *)it.p;
	s->n = it.n;
	return 0;
}

static int decode(const uint8_t *rec, size_t n, struct ev_event *ev,
		  struct ev_error *err, int head_only);

int ev_event_decode(const uint8_t *rec, size_t n, struct ev_event *ev,
		    struct ev_error *err)
{
	return decode(rec, n, ev, err, 0);
}

int ev_event_decode_head(const uint8_t *rec, size_t n, struct ev_event *ev,
			 struct ev_error *err)
{
	return decode(rec, n, ev, err, 1);
}

/* A str header and its bytes at *p for the trusted decode: a fixstr,
 * str8 or str16 of at least one byte within end.  No UTF-8 check. */
static inline int trusted_str(const uint8_t **p, const uint8_t *end,
			      struct ev_str *s)
{
	const uint8_t *q = *p;
	size_t n;

	if (q >= end)
		return -1;
	if ((*q & 0xe0) == 0xa0) {
		n = *q & 0x1f;
		q++;
	} else if (*q == 0xd9 && end - q >= 2) {
		n = q[1];
		q += 2;
	} else if (*q == 0xda && end - q >= 3) {
		n = (size_t)q[1] << 8 | q[2];
		q += 3;
	} else {
		return -1;
	}
	if (n == 0 || n > (size_t)(end - q))
		return -1;
	s->p = (const char *)q;
	s->n = n;
	*p = q + n;
	return 0;
}

/*
 * The head of a record as ev_record_encode() lays it out (id, type, an
 * optional stream and version, then time), without validating the
 * strings again: for records the parser has just encoded from input it
 * validated.  The reads stay within the record; anything laid out
 * otherwise goes through the full decode.
 */
int ev_event_decode_head_trusted(const uint8_t *rec, size_t n,
				 struct ev_event *ev, struct ev_error *err)
{
	const uint8_t *p = rec + 1, *end = rec + n;
	unsigned fields, left;
	uint64_t w;

	if (n < 2 || rec[0] < 0x83 || rec[0] > 0x8a || rec[1] != EV_K_ID)
		return decode(rec, n, ev, err, 1);
	left = rec[0] & 0x0f;
	ev->stream.p = ev->key.p = NULL;
	ev->stream.n = ev->key.n = 0;
	ev->version = 0;
	ev->schema = 1;
	ev->data = ev->meta = NULL;
	ev->data_len = ev->meta_len = 0;
	ev->data_is_binary = 0;
	ev->prev = EV_NO_PREV;
	ev->has_partition = 0;
	p++;
	fields = 3;
	if (trusted_str(&p, end, &ev->id) != 0 || p >= end ||
	    *p++ != EV_K_TYPE || trusted_str(&p, end, &ev->type) != 0 ||
	    p >= end)
		goto slow;
	if (*p == EV_K_STREAM) {
		p++;
		fields++;
		if (trusted_str(&p, end, &ev->stream) != 0 || p >= end)
			goto slow;
	}
	if (*p == EV_K_VERSION) {
		/* a positive fixint: any other goes the long way */
		if (end - p < 2 || p[1] == 0 || p[1] > 0x7f)
			goto slow;
		ev->version = p[1];
		p += 2;
		fields++;
	}
	if (fields > left || end - p < 7 || p[0] != EV_K_TIME || p[2] != 0xff)
		goto slow;
	/* the time as a timestamp 64, the form of any time since 1970
	 * with a fraction of a second, or 32, a whole second */
	if (p[1] == 0xd7 && end - p >= 11) {
		w = ev_rbe64(p + 3);
		if ((w >> 34) > 999999999 ||
		    ev_time_from_sec((int64_t)(w & ((1ull << 34) - 1)),
				     (long)(w >> 34), &ev->time) != 0)
			goto slow;
	} else if (p[1] == 0xd6) {
		if (ev_time_from_sec((int64_t)ev_rbe32(p + 3), 0, &ev->time) !=
		    0)
			goto slow;
	} else {
		goto slow;
	}
	return 0;
slow:
	return decode(rec, n, ev, err, 1);
}

static int decode(const uint8_t *rec, size_t n, struct ev_event *ev,
		  struct ev_error *err, int head_only)
{
	const uint8_t *p = rec, *end = rec + n, *v;
	struct ev_mp_item it;
	uint32_t i;
	uint64_t last = 0, k;

	ev->type.p = ev->id.p = ev->stream.p = ev->key.p = NULL;
	ev->type.n = ev->id.n = ev->stream.n = ev->key.n = 0;
	ev->time = EV_TIME_NONE;
	ev->version = 0;
	ev->schema = 1;
	ev->data = ev->meta = NULL;
	ev->data_len = ev->meta_len = 0;
	ev->data_is_binary = 0;
	ev->prev = EV_NO_PREV;
	ev->has_partition = 0;
	/* evlog(5): a fixmap of 3 to 10 entries */
	if (n == 0 || rec[0] < 0x83 || rec[0] > 0x8a)
		return bad(err, "not a record map of 3 to 10 fields");
	if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_MAP)
		return bad(err, "not a msgpack map");
	for (i = 0; i < it.n; i++) {
		struct ev_mp_item kv;
		/* a positive fixint, as ev_record_to_json() reads it: 0xcc
		 * 0x05 is not a key (evlog(5) Records) */
		if (p >= end || *p > 0x7f)
			return bad(err, "field key is not a small integer");
		k = *p++;
		if (k <= last || k > EV_K_MAX)
			return bad(err, "unknown or out-of-order field key");
		if (head_only && k > EV_K_TIME)
			break;
		last = k;
		switch (k) {
		case EV_K_TYPE:
			if (get_str(&p, end, &ev->type, 1) != 0)
				return bad(err,
					   "type is not a non-empty string");
			break;
		case EV_K_ID:
			if (get_str(&p, end, &ev->id, 1) != 0)
				return bad(err, "id is not a non-empty string");
			break;
		case EV_K_STREAM:
			if (get_str(&p, end, &ev->stream, 1) != 0)
				return bad(err,
					   "stream is not a non-empty string");
			break;
		case EV_K_KEY:
			if (get_str(&p, end, &ev->key, 1) != 0)
				return bad(err,
					   "key is not a non-empty string");
			break;
		case EV_K_TIME:
			if (ev_mp_read(&p, end, &kv) != 0 ||
			    ev_mp_time_decode(&kv, &ev->time) != 0)
				return bad(err,
					   "time is not a valid timestamp");
			break;
		case EV_K_VERSION:
		case EV_K_SCHEMA:
			if (ev_mp_read(&p, end, &kv) != 0 ||
			    kv.type != EV_MP_UINT || kv.v.u == 0)
				return bad(err, "version or schema is not a "
						"positive integer");
			if (k == EV_K_VERSION)
				ev->version = kv.v.u;
			else
				ev->schema = kv.v.u;
			break;
		case EV_K_DATA:
			v = p;
			if (p < end &&
			    (*p == 0xc4 || *p == 0xc5 || *p == 0xc6)) {
				if (ev_mp_read(&p, end, &kv) != 0)
					return bad(err, "truncated data");
				ev->data = kv.p;
				ev->data_len = kv.n;
				ev->data_is_binary = 1;
				break;
			}
			if (ev_mp_skip(&p, end, 2) != 0)
				return bad(err, "truncated or malformed data");
			ev->data = v;
			ev->data_len = (size_t)(p - v);
			break;
		case EV_K_PREV:
			if (ev_mp_read(&p, end, &kv) != 0 ||
			    kv.type != EV_MP_UINT)
				return bad(err, "previous offset is not an "
						"unsigned integer");
			ev->prev = kv.v.u;
			break;
		case EV_K_META:
			v = p;
			if (p >= end || !((*p >= 0x80 && *p <= 0x8f) ||
					  *p == 0xde || *p == 0xdf))
				return bad(err, "meta is not a map");
			if (ev_mp_skip(&p, end, 2) != 0)
				return bad(err, "truncated or malformed meta");
			ev->meta = v;
			ev->meta_len = (size_t)(p - v);
			break;
		}
	}
	if (ev->type.p == NULL || ev->id.p == NULL || ev->time == EV_TIME_NONE)
		return bad(err, "missing type, id or time");
	if (!head_only && p != end)
		return bad(err, "trailing bytes after the record map");
	return 0;
}

int ev_event_check_deep(const struct ev_event *ev, struct ev_error *err)
{
	const uint8_t *p;
	const char *why = NULL;

	if (ev->data != NULL && !ev->data_is_binary) {
		p = ev->data;
		if (ev_mp_check_json(&p, ev->data + ev->data_len, 2, &why) != 0)
			return ev_seterr(err, EV_EDATA,
					 "invalid record: data: %s", why);
	}
	if (ev->meta != NULL) {
		p = ev->meta;
		if (ev_mp_check_json(&p, ev->meta + ev->meta_len, 2, &why) != 0)
			return ev_seterr(err, EV_EDATA,
					 "invalid record: meta: %s", why);
	}
	return 0;
}

/* A string header at *pp that fits before end, read directly (fixstr,
 * str8, str16): 1 with *pp past it and *len its length, else 0. */
static inline int peek_str(const uint8_t **pp, const uint8_t *end, size_t *len)
{
	const uint8_t *p = *pp;
	size_t k;

	if (p >= end)
		return 0;
	if ((*p & 0xe0) == 0xa0) {
		k = *p & 0x1f;
		p++;
	} else if (*p == 0xd9 && end - p >= 2) {
		k = p[1];
		p += 2;
	} else if (*p == 0xda && end - p >= 3) {
		k = ev_rbe16(p + 1);
		p += 3;
	} else {
		return 0;
	}
	if ((size_t)(end - p) < k)
		return 0;
	*pp = p;
	*len = k;
	return 1;
}

int ev_event_peek_type(const uint8_t *rec, size_t n, struct ev_str *type)
{
	const uint8_t *p = rec, *end = rec + n;
	struct ev_mp_item it;
	size_t k;

	/* the layout every writer makes, read without the general reader
	 * (a filter by type asks this of every record): a fixmap of 2 or
	 * more entries, the id key and a string, the type key and a string;
	 * anything else is read the long way below */
	if (n >= 4 && rec[0] >= 0x82 && rec[0] <= 0x8f && rec[1] == EV_K_ID) {
		p = rec + 2;
		if (peek_str(&p, end, &k) && (p += k) < end &&
		    *p == EV_K_TYPE) {
			p++;
			if (peek_str(&p, end, &k)) {
				type->p = (const char *)p;
				type->n = k;
				return 0;
			}
		}
		p = rec;
	}
	if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_MAP || it.n < 2)
		return EV_EDATA;
	if (p >= end || *p != EV_K_ID)
		return EV_EDATA;
	p++;
	if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_STR)
		return EV_EDATA;
	if (p >= end || *p != EV_K_TYPE)
		return EV_EDATA;
	p++;
	if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_STR)
		return EV_EDATA;
	type->p = (const char *)it.p;
	type->n = it.n;
	return 0;
}

/* ------------------------------------------------------------ paths */

/*
 * Value at a dotted path.  Envelope fields are synthesised as msgpack in
 * scratch; "data..." and "meta..." descend into the record's own bytes.
 */
int ev_event_path(const struct ev_event *ev, const char *path,
		  struct ev_buf *scratch, const uint8_t **val, size_t *val_len)
{
	const char *rest = NULL;
	size_t n = strcspn(path, ".");
	uint8_t *o;

	if (path[n] == '.')
		rest = path + n + 1;
	scratch->len = 0;
	if (ev_buf_reserve(scratch, 32) != 0)
		return EV_ERR;
	o = scratch->p;
#define IS(name) (n == sizeof(name) - 1 && memcmp(path, name, n) == 0)
	if (IS("data") || IS("meta")) {
		const uint8_t *base = IS("data") ? ev->data : ev->meta;
		size_t blen = IS("data") ? ev->data_len : ev->meta_len;
		if (base == NULL)
			return 0;
		if (IS("data") && ev->data_is_binary) {
			if (rest != NULL)
				return 0;
			if (ev_buf_reserve(scratch, blen + 5) != 0)
				return EV_ERR;
			o = ev_mp_bin_hdr(scratch->p, blen);
			memcpy(o, base, blen);
			scratch->len = (size_t)(o + blen - scratch->p);
			*val = scratch->p;
			*val_len = scratch->len;
			return 1;
		}
		if (rest == NULL) {
			*val = base;
			*val_len = blen;
			return 1;
		}
		return ev_mp_path(base, blen, rest, val, val_len);
	}
	if (rest != NULL)
		return 0;
	if (IS("offset")) {
		o = ev_mp_uint(o, ev->offset);
	} else if (IS("partition")) {
		if (!ev->has_partition)
			return 0;
		o = ev_mp_uint(o, (uint64_t)ev->partition);
	} else if (IS("version")) {
		if (ev->version == 0)
			return 0;
		o = ev_mp_uint(o, ev->version);
	} else if (IS("schema")) {
		o = ev_mp_uint(o, ev->schema);
	} else if (IS("time")) {
		o = ev_mp_time(o, ev->time);
	} else {
		const struct ev_str *s = IS("id")	? &ev->id
					 : IS("type")	? &ev->type
					 : IS("stream") ? &ev->stream
					 : IS("key")	? &ev->key
							: NULL;
		if (s == NULL || s->p == NULL)
			return 0;
		if (ev_buf_mp_str(scratch, s->p, s->n) != 0)
			return EV_ERR;
		*val = scratch->p;
		*val_len = scratch->len;
		return 1;
	}
#undef IS
	scratch->len = (size_t)(o - scratch->p);
	*val = scratch->p;
	*val_len = scratch->len;
	return 1;
}
