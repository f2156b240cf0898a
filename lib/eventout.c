/*
 * eventout.c - a decoded event written out: envelope JSON, MessagePack
 * with the envelope names as keys, and the human line of evtail(1).
 * (CloudEvents output is in cloudevents.c; record-to-JSON in one pass,
 * the fast path, is in jsonout.c.)
 */
#include <string.h>

#include "evlog_private.h"

#define PUTLIT(b, s) ev_buf_append((b), (s), sizeof(s) - 1)

/* ,"data":VALUE or ,"data_base64":"..." (nothing when there is no data);
 * shared by the envelope and the CloudEvents writers */
int ev_json_put_data(struct ev_buf *out, const struct ev_event *ev,
		     struct ev_error *err)
{
	const uint8_t *p = ev->data;

	if (ev->data == NULL)
		return 0;
	if (ev->data_is_binary) {
		PUTLIT(out, ",\"data_base64\":\"");
		if (ev_base64_encode(out, ev->data, ev->data_len) != 0 ||
		    ev_buf_putc(out, '"') != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		return 0;
	}
	PUTLIT(out, ",\"data\":");
	return ev_json_put_mp(out, &p, ev->data + ev->data_len, 2, err);
}

int ev_event_to_json(const struct ev_event *ev, struct ev_buf *out, int flags,
		     struct ev_error *err)
{
	char tmp[48], *e;
	const uint8_t *p;
	size_t start = out->len;
	int r;

	if (ev_buf_reserve(out, 128) != 0)
		goto oom;
	if (!(flags & EV_JSON_NO_OFFSET)) {
		PUTLIT(out, "{\"offset\":");
		e = ev_fmt_u64(tmp, ev->offset);
		ev_buf_append(out, tmp, (size_t)(e - tmp));
		PUTLIT(out, ",\"id\":");
	} else {
		PUTLIT(out, "{\"id\":");
	}
	if (ev_json_put_str(out, ev->id.p, ev->id.n) != 0)
		goto utf8;
	PUTLIT(out, ",\"type\":");
	if (ev_json_put_str(out, ev->type.p, ev->type.n) != 0)
		goto utf8;
	if (ev->stream.p != NULL) {
		PUTLIT(out, ",\"stream\":");
		if (ev_json_put_str(out, ev->stream.p, ev->stream.n) != 0)
			goto utf8;
	}
	if (ev->version != 0) {
		PUTLIT(out, ",\"version\":");
		e = ev_fmt_u64(tmp, ev->version);
		ev_buf_append(out, tmp, (size_t)(e - tmp));
	}
	PUTLIT(out, ",\"time\":\"");
	ev_buf_append(out, tmp, ev_time_format(ev->time, tmp));
	PUTLIT(out, "\",\"schema\":");
	e = ev_fmt_u64(tmp, ev->schema);
	ev_buf_append(out, tmp, (size_t)(e - tmp));
	if (ev->key.p != NULL) {
		PUTLIT(out, ",\"key\":");
		if (ev_json_put_str(out, ev->key.p, ev->key.n) != 0)
			goto utf8;
	}
	r = ev_json_put_data(out, ev, err);
	if (r != 0)
		goto fail;
	if (ev->meta != NULL) {
		PUTLIT(out, ",\"meta\":");
		p = ev->meta;
		r = ev_json_put_mp(out, &p, ev->meta + ev->meta_len, 2, err);
		if (r != 0)
			goto fail;
	}
	if (ev_buf_putc(out, '}') != 0)
		goto oom;
	return 0;
utf8:
	out->len = start;
	return ev_seterr(err, EV_EDATA,
			 "invalid record: string is not valid UTF-8");
oom:
	out->len = start;
	return ev_seterr(err, EV_ERR, "out of memory");
fail:
	out->len = start;
	return r;
}

static int mp_key(struct ev_buf *b, const char *k)
{
	return ev_buf_mp_str(b, k, strlen(k));
}

int ev_event_to_msgpack(const struct ev_event *ev, struct ev_buf *out,
			struct ev_error *err)
{
	unsigned count = 5 + (ev->stream.p != NULL) + (ev->version != 0) +
			 (ev->key.p != NULL) + (ev->data != NULL) +
			 (ev->meta != NULL);
	uint8_t *o;

	if (ev_buf_reserve(out, 64) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	o = out->p + out->len;
	*o++ = (uint8_t)(0x80 | count);
	out->len = (size_t)(o - out->p);
	mp_key(out, "offset");
	ev_buf_reserve(out, 16);
	out->len = (size_t)(ev_mp_uint(out->p + out->len, ev->offset) - out->p);
	mp_key(out, "id");
	ev_buf_mp_str(out, ev->id.p, ev->id.n);
	mp_key(out, "type");
	ev_buf_mp_str(out, ev->type.p, ev->type.n);
	if (ev->stream.p != NULL) {
		mp_key(out, "stream");
		ev_buf_mp_str(out, ev->stream.p, ev->stream.n);
	}
	if (ev->version != 0) {
		mp_key(out, "version");
		ev_buf_reserve(out, 16);
		out->len = (size_t)(ev_mp_uint(out->p + out->len, ev->version) -
				    out->p);
	}
	mp_key(out, "time");
	ev_buf_reserve(out, 16);
	out->len = (size_t)(ev_mp_time(out->p + out->len, ev->time) - out->p);
	mp_key(out, "schema");
	ev_buf_reserve(out, 16);
	out->len = (size_t)(ev_mp_uint(out->p + out->len, ev->schema) - out->p);
	if (ev->key.p != NULL) {
		mp_key(out, "key");
		ev_buf_mp_str(out, ev->key.p, ev->key.n);
	}
	if (ev->data != NULL) {
		mp_key(out, "data");
		if (ev->data_is_binary) {
			ev_buf_reserve(out, 5);
			out->len = (size_t)(ev_mp_bin_hdr(out->p + out->len,
							  ev->data_len) -
					    out->p);
		}
		ev_buf_append(out, ev->data, ev->data_len);
	}
	if (ev->meta != NULL) {
		mp_key(out, "meta");
		ev_buf_append(out, ev->meta, ev->meta_len);
	}
	return 0;
}

/* A value for humans: strings bare, timestamps RFC 3339, the rest JSON. */
int ev_value_to_text(const uint8_t *v, size_t n, struct ev_buf *out,
		     struct ev_error *err)
{
	const uint8_t *p = v;
	struct ev_mp_item it;
	char tmp[40];
	ev_time_t t;

	if (ev_mp_read(&p, v + n, &it) != 0)
		return ev_seterr(err, EV_EDATA, "invalid value");
	if (it.type == EV_MP_STR)
		return ev_buf_append(out, it.p, it.n) == 0 ? 0 : EV_ERR;
	if (it.type == EV_MP_BIN)
		return ev_base64_encode(out, it.p, it.n);
	if (it.type == EV_MP_EXT && ev_mp_time_decode(&it, &t) == 0)
		return ev_buf_append(out, tmp, ev_time_format(t, tmp));
	return ev_msgpack_to_json(v, n, out, err);
}

/*
 * A type or stream on the pretty line, where a terminal reads it: writers
 * refuse control characters there, but a crafted log may hold any, so C0,
 * DEL and C1 (U+0080..U+009F) are written as JSON writes them (\u001b),
 * never raw.
 */
static void put_term(struct ev_buf *out, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s, *e = p + n, *run = p;
	unsigned c;

	while (p < e) {
		if (*p >= 0x20 && *p != 0x7f &&
		    !(*p == 0xc2 && p + 1 < e && p[1] >= 0x80 && p[1] < 0xa0)) {
			p++;
			continue;
		}
		ev_buf_append(out, run, (size_t)(p - run));
		c = *p == 0xc2 ? p[1] : *p;
		p += *p == 0xc2 ? 2 : 1;
		run = p;
		PUTLIT(out, "\\u00");
		ev_buf_putc(out, hex[c >> 4]);
		ev_buf_putc(out, hex[c & 15]);
	}
	ev_buf_append(out, run, (size_t)(p - run));
}

int ev_event_to_pretty(const struct ev_event *ev, struct ev_buf *out, int color,
		       struct ev_error *err)
{
	char tmp[48], *e;
	const uint8_t *p;
	int r;

#define C(code)                            \
	do {                               \
		if (color)                 \
			PUTLIT(out, code); \
	} while (0)
	C("\033[2m");
	if (ev->has_partition) /* a Kafka log's: PARTITION:OFFSET */
		ev_buf_printf(out, "%d:", (int)ev->partition);
	e = ev_fmt_u64(tmp, ev->offset);
	ev_buf_append(out, tmp, (size_t)(e - tmp));
	C("\033[0m");
	ev_buf_putc(out, ' ');
	C("\033[34m");
	ev_buf_append(out, tmp, ev_time_format(ev->time, tmp));
	C("\033[0m");
	ev_buf_putc(out, ' ');
	C("\033[1;32m");
	put_term(out, ev->type.p, ev->type.n);
	C("\033[0m");
	if (ev->stream.p != NULL) {
		ev_buf_putc(out, ' ');
		C("\033[36m");
		put_term(out, ev->stream.p, ev->stream.n);
		if (ev->version != 0) {
			e = ev_fmt_u64(tmp + 1, ev->version);
			tmp[0] = '@';
			ev_buf_append(out, tmp, (size_t)(e - tmp));
		}
		C("\033[0m");
	}
	if (ev->data != NULL) {
		ev_buf_putc(out, ' ');
		if (ev->data_is_binary) {
			PUTLIT(out, "base64:");
			ev_base64_encode(out, ev->data, ev->data_len);
		} else {
			p = ev->data;
			r = ev_json_put_mp(out, &p, ev->data + ev->data_len, 2,
					   err);
			if (r != 0)
				return r;
		}
	}
#undef C
	return 0;
}
