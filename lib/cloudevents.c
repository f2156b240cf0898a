/*
 * cloudevents.c - CloudEvents 1.0 structured JSON, in and out.
 *
 * The mapping between the envelope and CloudEvents attributes is the
 * table in evpub(1) and evtail(1).  It is built so that envelope ->
 * CloudEvents -> envelope keeps every field: meta keys that cannot be
 * CloudEvents extensions travel in one extension, "evlogmeta", as JSON
 * text.  Input is validated as the CloudEvents spec requires (required
 * attributes, attribute names, value types, RFC 3339 times, RFC 2046
 * media types, data vs data_base64).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

#define CE_DEFAULT_SOURCE "urn:evlog:default"

/* attributes with their own envelope field, or reserved */
static const char *const ce_reserved[] = {
	"specversion",
	"id",
	"source",
	"type",
	"subject",
	"time",
	"datacontenttype",
	"dataschema",
	"data",
	"data_base64",
	"sequence",
	"partitionkey",
	"correlationid",
	"causationid",
	"schemaversion",
	"evlogmeta",
	"evlogoffset",
	"evlogpartition",
};
#define N_RESERVED (sizeof(ce_reserved) / sizeof(ce_reserved[0]))

static int is_reserved(const char *k, size_t n)
{
	size_t i;

	for (i = 0; i < N_RESERVED; i++)
		if (strlen(ce_reserved[i]) == n &&
		    memcmp(ce_reserved[i], k, n) == 0)
			return 1;
	return 0;
}

static int legal_name(const char *k, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (!((k[i] >= 'a' && k[i] <= 'z') ||
		      (k[i] >= '0' && k[i] <= '9')))
			return 0;
	return 1;
}

/* CloudEvents String: no U+0000-001F, U+007F-009F (UTF-8 already valid) */
static int legal_string(const char *s, size_t n)
{
	size_t i;
	const uint8_t *p = (const uint8_t *)s;

	for (i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
		if (p[i] == 0xC2 && i + 1 < n && p[i + 1] >= 0x80 &&
		    p[i + 1] <= 0x9f)
			return 0;
	}
	return 1;
}

static int tchar(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 2046 / RFC 9110 media type: token "/" token *( ";" parameter ) */
static int legal_media_type(const char *s, size_t n)
{
	size_t i = 0, k;

	for (k = i; i < n && tchar((unsigned char)s[i]); i++)
		;
	if (i == k || i >= n || s[i] != '/')
		return 0;
	for (k = ++i; i < n && tchar((unsigned char)s[i]); i++)
		;
	if (i == k)
		return 0;
	while (i < n && (s[i] == ' ' || s[i] == '\t'))
		i++;
	return i == n || s[i] == ';';
}

/* absolute URI: scheme ":" rest, scheme = ALPHA *(ALPHA/DIGIT/+/-/.) */
static int legal_abs_uri(const char *s, size_t n)
{
	size_t i;

	if (n < 2 ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (i = 1; i < n && s[i] != ':'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '+' ||
		      s[i] == '-' || s[i] == '.'))
			return 0;
	if (i >= n)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20)
			return 0;
	return 1;
}

static int legal_uri_ref(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* ------------------------------------------------------------ input */

struct ce_ctx {
	struct ev_parse_bufs *b;
	struct ev_json *js;
	struct ev_error *err;
	struct ev_buf *strs, *data, *meta, *tmp;
	struct ev_buf ext; /* meta entries from extensions */
	uint32_t ext_count;
};

static int ce_fail(struct ce_ctx *c, const char *at, const char *fmt,
		   const char *a) EV_PRINTF(3, 0);

static int ce_fail(struct ce_ctx *c, const char *at, const char *fmt,
		   const char *a)
{
	char msg[256];

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	snprintf(msg, sizeof(msg), fmt, a);
#pragma GCC diagnostic pop
	ev_seterr(c->err, EV_EDATA, "%s", msg);
	c->err->column = ev_json_column(c->js->start, at);
	return EV_EDATA;
}

/* append a msgpack key/value to the extension entries */
static int ext_put(struct ce_ctx *c, const char *k, size_t kn, const uint8_t *v,
		   size_t vn)
{
	if (ev_buf_mp_str(&c->ext, k, kn) != 0 ||
	    ev_buf_append(&c->ext, v, vn) != 0)
		return EV_ERR;
	c->ext_count++;
	return 0;
}

struct span {
	size_t off, n;
	int set;
};

/* Was extension k already given?  (Walks the entries kept so far.) */
static int ext_seen(struct ce_ctx *c, const char *k, size_t kn)
{
	const uint8_t *p = c->ext.p, *end;
	struct ev_mp_item key;
	uint32_t i;

	if (c->ext_count == 0)
		return 0;
	end = p + c->ext.len;
	for (i = 0; i < c->ext_count; i++) {
		if (ev_mp_read(&p, end, &key) != 0)
			return 0;
		if (key.n == kn && memcmp(key.p, k, kn) == 0)
			return 1;
		if (ev_mp_skip(&p, end, 1) != 0)
			return 0;
	}
	return 0;
}

static const char *sp_str(struct ce_ctx *c, const struct span *s)
{
	return (const char *)c->strs->p + s->off;
}

static int ce_event(struct ce_ctx *c, ev_time_t now)
{
	struct ev_json *js = c->js;
	struct span key, specv = {0}, id = {0}, source = {0}, type = {0},
			 subject = {0}, dct = {0}, dsch = {0}, pkey = {0},
			 corr = {0}, caus = {0}, evmeta = {0};
	struct ev_fields f;
	int have_data = 0, have_b64 = 0, ch;
	const char *at, *keyat;
	uint8_t *o;
	struct ev_mp_item it;
	const uint8_t *vp;
	size_t i, data_start = c->data->len;
	ev_time_t t;
	uint64_t seen = 0;

	ev_fields_init(&f);
	c->ext.len = 0;
	c->ext_count = 0;
	if (ev_json_ws(js) != '{')
		return ce_fail(c, js->p,
			       "expected '{': a CloudEvent is a JSON "
			       "object%s",
			       "");
	js->p++;
	js->depth = 1; /* attribute values sit inside the record map */
	ch = ev_json_ws(js);
	if (ch == '}')
		js->p++;
	while (ch != '}') {
		if (ch != '"') {
			ev_json_fail(
				js, js->p,
				ch < 0 ? "unexpected end of input in object"
				       : "expected string key in object");
			return ev_parse_fail(js, c->err);
		}
		keyat = js->p;
		key.off = c->strs->len;
		if (ev_json_string_raw(js, c->strs) != 0)
			return ev_parse_fail(js, c->err);
		key.n = c->strs->len - key.off;
		if (ev_json_ws(js) != ':') {
			ev_json_fail(js, js->p,
				     "expected ':' after object key");
			return ev_parse_fail(js, c->err);
		}
		js->p++;
		ev_json_ws(js);
		at = js->p;
		/* the value, transcoded, for type checks */
		c->tmp->len = 0;
		if (ev_json_value(js, c->tmp) != 0)
			return ev_parse_fail(js, c->err);
		vp = c->tmp->p;
		if (ev_mp_read(&vp, c->tmp->p + c->tmp->len, &it) != 0)
			return ce_fail(c, at, "invalid value%s", "");
		{
			char kbuf[64];
			const char *k = sp_str(c, &key);
			size_t kn = key.n;
			size_t ri;
			struct span *dst = NULL;
			int is_null = it.type == EV_MP_NIL;

			snprintf(kbuf, sizeof(kbuf), "%.*s",
				 (int)(kn > 60 ? 60 : kn), k);
			if (!legal_name(k, kn) &&
			    !(kn == 11 && !memcmp(k, "data_base64", 11)))
				return ce_fail(
					c, keyat,
					"invalid CloudEvents attribute name "
					"'%s' (names are lowercase letters "
					"and digits)",
					kbuf);
			for (ri = 0; ri < N_RESERVED; ri++)
				if (strlen(ce_reserved[ri]) == kn &&
				    !memcmp(ce_reserved[ri], k, kn))
					break;
			if (ri < N_RESERVED) {
				if (seen & (1ull << ri))
					return ce_fail(
						c, keyat,
						"duplicate attribute '%s'",
						kbuf);
				seen |= 1ull << ri;
			}
			/* null means unset, except for data, where it is the
			 * JSON value null */
			if (is_null && !(kn == 4 && !memcmp(k, "data", 4)))
				goto next;
			if (kn == 4 && !memcmp(k, "data", 4)) {
				if (have_b64)
					return ce_fail(
						c, keyat,
						"'data' and 'data_base64' are "
						"mutually exclusive%s",
						"");
				have_data = 1;
				c->data->len = data_start;
				if (ev_buf_append(c->data, c->tmp->p,
						  c->tmp->len) != 0)
					return ce_fail(c, at, "out of memory%s",
						       "");
				goto next;
			}
			if (kn == 11 && !memcmp(k, "data_base64", 11)) {
				if (have_data)
					return ce_fail(
						c, keyat,
						"'data' and 'data_base64' are "
						"mutually exclusive%s",
						"");
				if (it.type != EV_MP_STR)
					return ce_fail(
						c, at,
						"'data_base64' must be a "
						"base64 string%s",
						"");
				c->data->len = data_start;
				if (ev_base64_decode((const char *)it.p, it.n,
						     c->data) != 0)
					return ce_fail(c, at,
						       "'data_base64' is not "
						       "valid base64%s",
						       "");
				have_b64 = 1;
				goto next;
			}
			if ((kn == 11 && !memcmp(k, "evlogoffset", 11)) ||
			    (kn == 14 && !memcmp(k, "evlogpartition", 14)))
				goto next; /* assigned by the log: ignored */
			if ((kn == 8 && !memcmp(k, "sequence", 8)) ||
			    (kn == 13 && !memcmp(k, "schemaversion", 13))) {
				uint64_t v = 0;
				int ok = 0;
				if (it.type == EV_MP_UINT) {
					v = it.v.u;
					ok = v > 0;
				} else if (it.type == EV_MP_STR && it.n > 0 &&
					   it.n < 20) {
					ok = 1;
					for (i = 0; i < it.n; i++) {
						if (it.p[i] < '0' ||
						    it.p[i] > '9')
							ok = 0;
						v = v * 10 +
						    (uint64_t)(it.p[i] - '0');
					}
					ok = ok && v > 0 && it.p[0] != '0';
				}
				if (!ok)
					return ce_fail(
						c, at,
						"'%s' must be a positive "
						"integer",
						kbuf);
				if (k[1] == 'e')
					f.version = v;
				else
					f.schema = v;
				goto next;
			}
			if (kn == 9 && !memcmp(k, "evlogmeta", 9)) {
				if (it.type != EV_MP_STR)
					return ce_fail(c, at,
						       "'evlogmeta' must be "
						       "JSON text of an "
						       "object%s",
						       "");
				evmeta.off = c->strs->len;
				if (ev_buf_append(c->strs, it.p, it.n) != 0)
					return ce_fail(c, at, "out of memory%s",
						       "");
				evmeta.n = it.n;
				evmeta.set = 1;
				goto next;
			}
			/* every other attribute is a scalar */
			if (it.type == EV_MP_FLOAT)
				return ce_fail(c, at,
					       "attribute '%s' is not an "
					       "integer",
					       kbuf);
			if (it.type == EV_MP_UINT && it.v.u > INT32_MAX)
				return ce_fail(c, at,
					       "attribute '%s' is out of "
					       "the Integer range",
					       kbuf);
			if (it.type == EV_MP_INT && it.v.i < INT32_MIN)
				return ce_fail(c, at,
					       "attribute '%s' is out of "
					       "the Integer range",
					       kbuf);
			if (it.type != EV_MP_STR && it.type != EV_MP_BOOL &&
			    it.type != EV_MP_UINT && it.type != EV_MP_INT)
				return ce_fail(c, at,
					       "attribute '%s' must be a "
					       "string, boolean or integer",
					       kbuf);
			if (it.type == EV_MP_STR &&
			    !legal_string((const char *)it.p, it.n))
				return ce_fail(c, at,
					       "attribute '%s' contains a "
					       "control character",
					       kbuf);
			if (kn == 11 && !memcmp(k, "specversion", 11))
				dst = &specv;
			else if (kn == 2 && !memcmp(k, "id", 2))
				dst = &id;
			else if (kn == 6 && !memcmp(k, "source", 6))
				dst = &source;
			else if (kn == 4 && !memcmp(k, "type", 4))
				dst = &type;
			else if (kn == 7 && !memcmp(k, "subject", 7))
				dst = &subject;
			else if (kn == 15 && !memcmp(k, "datacontenttype", 15))
				dst = &dct;
			else if (kn == 10 && !memcmp(k, "dataschema", 10))
				dst = &dsch;
			else if (kn == 12 && !memcmp(k, "partitionkey", 12))
				dst = &pkey;
			else if (kn == 13 && !memcmp(k, "correlationid", 13))
				dst = &corr;
			else if (kn == 11 && !memcmp(k, "causationid", 11))
				dst = &caus;
			else if (kn == 4 && !memcmp(k, "time", 4)) {
				if (it.type != EV_MP_STR ||
				    ev_time_parse((const char *)it.p, it.n,
						  &t) != 0)
					return ce_fail(c, at,
						       "'time' is not an RFC "
						       "3339 time%s",
						       "");
				f.time = t;
				goto next;
			}
			if (dst != NULL) {
				if (it.type != EV_MP_STR)
					return ce_fail(
						c, at,
						"attribute '%s' must be a "
						"string",
						kbuf);
				if (it.n == 0)
					return ce_fail(
						c, at,
						"attribute '%s' must not "
						"be empty",
						kbuf);
				dst->off = c->strs->len;
				dst->n = it.n;
				dst->set = 1;
				if (ev_buf_append(c->strs, it.p, it.n) != 0)
					return ce_fail(c, at, "out of memory%s",
						       "");
				goto next;
			}
			/* an extension: kept in meta under its own name, once
			 */
			if (ext_seen(c, k, kn))
				return ce_fail(c, keyat,
					       "duplicate attribute '%s'",
					       kbuf);
			if (ext_put(c, k, kn, c->tmp->p, c->tmp->len) != 0)
				return ce_fail(c, at, "out of memory%s", "");
		}
next:
		ch = ev_json_ws(js);
		if (ch == ',') {
			js->p++;
			ch = ev_json_ws(js);
			if (ch == '}') {
				ev_json_fail(js, js->p,
					     "expected string key in object");
				return ev_parse_fail(js, c->err);
			}
			continue;
		}
		if (ch == '}') {
			js->p++;
			break;
		}
		ev_json_fail(
			js, js->p,
			ch < 0 ? "unexpected end of input in object"
			       : "expected ',' or '}' after object member");
		return ev_parse_fail(js, c->err);
	}
	at = js->start;
	if (!specv.set)
		return ce_fail(c, at,
			       "missing required attribute 'specversion'%s",
			       "");
	if (specv.n != 3 || memcmp(sp_str(c, &specv), "1.0", 3) != 0)
		return ce_fail(c, at,
			       "unsupported specversion (only \"1.0\" is "
			       "supported)%s",
			       "");
	if (!id.set)
		return ce_fail(c, at, "missing required attribute 'id'%s", "");
	if (!source.set)
		return ce_fail(c, at, "missing required attribute 'source'%s",
			       "");
	if (!type.set)
		return ce_fail(c, at, "missing required attribute 'type'%s",
			       "");
	if (!legal_uri_ref(sp_str(c, &source), source.n))
		return ce_fail(c, at, "'source' is not a URI-reference%s", "");
	if (dct.set && !legal_media_type(sp_str(c, &dct), dct.n))
		return ce_fail(c, at,
			       "'datacontenttype' is not an RFC 2046 "
			       "media type%s",
			       "");
	if (dsch.set && !legal_abs_uri(sp_str(c, &dsch), dsch.n))
		return ce_fail(c, at, "'dataschema' is not an absolute URI%s",
			       "");

	/* meta: evlogmeta's members, then the mapped attributes, then
	 * extensions */
	c->meta->len = 0;
	if (ev_buf_reserve(c->meta, 5) != 0)
		return ce_fail(c, at, "out of memory%s", "");
	c->meta->len = 5; /* room for the map header */
	{
		uint32_t count = 0;
		struct {
			const char *name;
			struct span *s;
		} mapped[] = {
			{"correlationId", &corr},  {"causationId", &caus},
			{"source", &source},	   {"dataschema", &dsch},
			{"datacontenttype", &dct},
		};
		if (evmeta.set) {
			struct ev_json mj;
			struct ev_buf mb = {0};
			const uint8_t *mp;
			struct ev_mp_item mi;
			ev_json_init(&mj, sp_str(c, &evmeta), evmeta.n);
			mj.depth = 1; /* meta sits inside the record map */
			if (ev_json_ws(&mj) != '{' ||
			    ev_json_value(&mj, &mb) != 0 ||
			    ev_json_ws(&mj) >= 0) {
				ev_buf_free(&mb);
				return ce_fail(c, at,
					       "'evlogmeta' is not JSON text "
					       "of an object%s",
					       "");
			}
			mp = mb.p;
			ev_mp_read(&mp, mb.p + mb.len, &mi);
			count += mi.n;
			if (ev_buf_append(c->meta, mp,
					  (size_t)(mb.p + mb.len - mp)) != 0) {
				ev_buf_free(&mb);
				return ce_fail(c, at, "out of memory%s", "");
			}
			ev_buf_free(&mb);
		}
		for (i = 0; i < sizeof(mapped) / sizeof(mapped[0]); i++) {
			struct span *s = mapped[i].s;
			if (!s->set)
				continue;
			if (s == &source && s->n == strlen(CE_DEFAULT_SOURCE) &&
			    !memcmp(sp_str(c, s), CE_DEFAULT_SOURCE, s->n))
				continue; /* our default: no meta.source */
			if (ev_buf_mp_str(c->meta, mapped[i].name,
					  strlen(mapped[i].name)) != 0 ||
			    ev_buf_mp_str(c->meta, sp_str(c, s), s->n) != 0)
				return ce_fail(c, at, "out of memory%s", "");
			count++;
		}
		if (ev_buf_append(c->meta, c->ext.p, c->ext.len) != 0)
			return ce_fail(c, at, "out of memory%s", "");
		count += c->ext_count;
		if (count > 0 || evmeta.set) {
			uint8_t hdr[5];
			size_t hn = (size_t)(ev_mp_map_hdr(hdr, count) - hdr);
			o = c->meta->p + 5 - hn;
			memcpy(o, hdr, hn);
			f.meta = o;
			f.meta_n = c->meta->len - (5 - hn);
		}
	}
	f.type = sp_str(c, &type);
	f.type_n = type.n;
	f.id = sp_str(c, &id);
	f.id_n = id.n;
	if (subject.set) {
		f.stream = sp_str(c, &subject);
		f.stream_n = subject.n;
	}
	if (pkey.set) {
		f.key = sp_str(c, &pkey);
		f.key_n = pkey.n;
	}
	if (have_data || have_b64) {
		/* an empty binary payload is data too: never a NULL pointer */
		if (ev_buf_reserve(c->data, 1) != 0)
			return ce_fail(c, at, "out of memory%s", "");
		f.data = c->data->p + data_start;
		f.data_n = c->data->len - data_start;
		f.data_bin = have_b64;
	}
	if (ev_record_encode(&f, now, &c->b->recs.out, &t, c->err) != 0) {
		c->err->column = 1;
		return c->err->code;
	}
	return ev_reclist_push(&c->b->recs, t, c->err);
}

int ev_ce_parse_line(struct ev_parse_bufs *b, struct ev_json *js, ev_time_t now,
		     struct ev_error *err)
{
	struct ce_ctx c;
	int ch, r = 0;

	memset(&c, 0, sizeof(c));
	c.b = b;
	c.js = js;
	c.err = err;
	c.strs = &b->strs;
	c.data = &b->data;
	c.meta = &b->meta;
	c.tmp = &b->tmp;
	ch = ev_json_ws(js);
	if (ch == '[') {
		/* application/cloudevents-batch+json: an array of events */
		js->p++;
		ch = ev_json_ws(js);
		if (ch == ']') {
			js->p++;
		} else {
			for (;;) {
				c.data->len = 0;
				c.strs->len = 0;
				r = ce_event(&c, now);
				if (r != 0)
					goto out;
				ch = ev_json_ws(js);
				if (ch == ',') {
					js->p++;
					continue;
				}
				if (ch == ']') {
					js->p++;
					break;
				}
				ev_json_fail(
					js, js->p,
					ch < 0 ? "unexpected end of input in array"
					       : "expected ',' or ']' after array element");
				r = ev_parse_fail(js, err);
				goto out;
			}
		}
	} else if (ch < 0) {
		ev_json_fail(js, js->p, "empty line, expected a CloudEvent");
		r = ev_parse_fail(js, err);
		goto out;
	} else {
		r = ce_event(&c, now);
		if (r != 0)
			goto out;
	}
	if (ev_json_ws(js) >= 0) {
		ev_json_fail(js, js->p,
			     "unexpected characters after the event");
		r = ev_parse_fail(js, err);
	}
out:
	ev_buf_free(&c.ext);
	return r;
}

/* ------------------------------------------------------------ output */

#define PUTLIT(b, s) ev_buf_append((b), (s), sizeof(s) - 1)

static int put_attr_str(struct ev_buf *out, const char *name, const char *s,
			size_t n)
{
	if (ev_buf_putc(out, ',') != 0 ||
	    ev_json_put_str(out, name, strlen(name)) ||
	    ev_buf_putc(out, ':') != 0)
		return EV_ERR;
	return ev_json_put_str(out, s, n);
}

/* Is meta value v (msgpack) usable as a CloudEvents attribute value? */
static int ext_value_ok(const uint8_t *v, size_t n)
{
	const uint8_t *p = v;
	struct ev_mp_item it;

	if (ev_mp_read(&p, v + n, &it) != 0 || p != v + n)
		return 0;
	switch (it.type) {
	case EV_MP_BOOL:
		return 1;
	case EV_MP_UINT:
		return it.v.u <= INT32_MAX;
	case EV_MP_INT:
		return it.v.i >= INT32_MIN;
	case EV_MP_STR:
		return legal_string((const char *)it.p, it.n);
	default:
		return 0;
	}
}

int ev_event_to_cloudevent(const struct ev_event *ev, struct ev_buf *out,
			   struct ev_error *err)
{
	const uint8_t *p, *end, *kstart, *vstart;
	struct ev_mp_item it, key, val;
	struct ev_buf rest = {0};
	const char *source = CE_DEFAULT_SOURCE;
	size_t source_n = strlen(CE_DEFAULT_SOURCE), start = out->len;
	uint32_t i, rest_count = 0;
	char tmp[48], *e;
	int r = 0;

	PUTLIT(out, "{\"specversion\":\"1.0\",\"id\":");
	if (ev_json_put_str(out, ev->id.p, ev->id.n) != 0)
		goto utf8;
	/* source first needs a pass over meta */
	if (ev->meta != NULL) {
		p = ev->meta;
		end = ev->meta + ev->meta_len;
		if (ev_mp_read(&p, end, &it) != 0)
			goto bad;
		for (i = 0; i < it.n; i++) {
			if (ev_mp_read(&p, end, &key) != 0 ||
			    key.type != EV_MP_STR)
				goto bad;
			vstart = p;
			if (ev_mp_skip(&p, end, 2) != 0)
				goto bad;
			if (key.n == 6 && !memcmp(key.p, "source", 6) &&
			    ev_mp_read(&vstart, p, &val) == 0 &&
			    val.type == EV_MP_STR &&
			    legal_uri_ref((const char *)val.p, val.n) &&
			    legal_string((const char *)val.p, val.n)) {
				source = (const char *)val.p;
				source_n = val.n;
			}
		}
	}
	if (put_attr_str(out, "source", source, source_n) != 0 ||
	    put_attr_str(out, "type", ev->type.p, ev->type.n) != 0)
		goto utf8;
	if (ev->stream.p != NULL && ev->stream.n > 0 &&
	    put_attr_str(out, "subject", ev->stream.p, ev->stream.n) != 0)
		goto utf8;
	PUTLIT(out, ",\"time\":\"");
	ev_buf_append(out, tmp, ev_time_format(ev->time, tmp));
	ev_buf_putc(out, '"');
	if (ev->version != 0) {
		PUTLIT(out, ",\"sequence\":\"");
		e = ev_fmt_u64(tmp, ev->version);
		ev_buf_append(out, tmp, (size_t)(e - tmp));
		ev_buf_putc(out, '"');
	}
	if (ev->key.p != NULL && ev->key.n > 0 &&
	    put_attr_str(out, "partitionkey", ev->key.p, ev->key.n) != 0)
		goto utf8;
	if (ev->schema != 1) {
		PUTLIT(out, ",\"schemaversion\":");
		e = ev_fmt_u64(tmp, ev->schema);
		if (ev->schema > INT32_MAX)
			ev_buf_putc(out, '"');
		ev_buf_append(out, tmp, (size_t)(e - tmp));
		if (ev->schema > INT32_MAX)
			ev_buf_putc(out, '"');
	}
	if (ev->has_partition) /* a Kafka log's */
		ev_buf_printf(out, ",\"evlogpartition\":\"%d\"",
			      (int)ev->partition);
	PUTLIT(out, ",\"evlogoffset\":\"");
	e = ev_fmt_u64(tmp, ev->offset);
	ev_buf_append(out, tmp, (size_t)(e - tmp));
	ev_buf_putc(out, '"');
	/* meta: mapped names, extensions, and the rest into evlogmeta */
	if (ev->meta != NULL) {
		int source_done = 0;
		p = ev->meta;
		end = ev->meta + ev->meta_len;
		ev_mp_read(&p, end, &it);
		rest.len = 0;
		for (i = 0; i < it.n; i++) {
			const char *attr = NULL;
			kstart = p;
			ev_mp_read(&p, end, &key);
			vstart = p;
			if (ev_mp_skip(&p, end, 2) != 0)
				goto bad;
			const char *k = (const char *)key.p;
			size_t kn = key.n;
			int str_ok = ev_mp_read(&vstart, p, &val) == 0 &&
				     val.type == EV_MP_STR &&
				     legal_string((const char *)val.p, val.n);
			vstart = kstart;
			ev_mp_read(&vstart, p, &key); /* back to the value */
			if (kn == 13 && !memcmp(k, "correlationId", 13) &&
			    str_ok)
				attr = "correlationid";
			else if (kn == 11 && !memcmp(k, "causationId", 11) &&
				 str_ok)
				attr = "causationid";
			else if (kn == 6 && !memcmp(k, "source", 6) && str_ok &&
				 !source_done &&
				 (const char *)val.p == source) {
				source_done = 1;
				continue; /* written above */
			} else if (kn == 10 && !memcmp(k, "dataschema", 10) &&
				   str_ok &&
				   legal_abs_uri((const char *)val.p, val.n))
				attr = "dataschema";
			else if (kn == 15 &&
				 !memcmp(k, "datacontenttype", 15) && str_ok &&
				 legal_media_type((const char *)val.p, val.n))
				attr = "datacontenttype";
			if (attr != NULL) {
				if (put_attr_str(out, attr, (const char *)val.p,
						 val.n) != 0)
					goto utf8;
				continue;
			}
			if (legal_name(k, kn) && !is_reserved(k, kn) &&
			    ext_value_ok(vstart, (size_t)(p - vstart))) {
				ev_buf_putc(out, ',');
				ev_json_put_str(out, k, kn);
				ev_buf_putc(out, ':');
				r = ev_msgpack_to_json(vstart,
						       (size_t)(p - vstart),
						       out, err);
				if (r != 0)
					goto fail;
				continue;
			}
			/* evlogmeta carries it as JSON text */
			if (ev_buf_append(&rest, kstart,
					  (size_t)(p - kstart)) != 0)
				goto oom;
			rest_count++;
		}
		if (rest_count > 0 || it.n == 0) {
			/* an empty meta travels as "{}" so it comes back */
			struct ev_buf js = {0}, mp = {0};
			uint8_t hdr[5];
			size_t hn =
				(size_t)(ev_mp_map_hdr(hdr, rest_count) - hdr);
			if (ev_buf_append(&mp, hdr, hn) != 0 ||
			    ev_buf_append(&mp, rest.p, rest.len) != 0) {
				ev_buf_free(&mp);
				goto oom;
			}
			r = ev_msgpack_to_json(mp.p, mp.len, &js, err);
			if (r == 0) {
				PUTLIT(out, ",\"evlogmeta\":");
				r = ev_json_put_str(out, (const char *)js.p,
						    js.len);
			}
			ev_buf_free(&js);
			ev_buf_free(&mp);
			if (r != 0)
				goto fail;
		}
	}
	r = ev_json_put_data(out, ev, err);
	if (r != 0)
		goto fail;
	if (ev_buf_putc(out, '}') != 0)
		goto oom;
	ev_buf_free(&rest);
	return 0;
bad:
	ev_buf_free(&rest);
	out->len = start;
	return ev_seterr(err, EV_EDATA, "invalid record: malformed meta");
utf8:
	ev_buf_free(&rest);
	out->len = start;
	return ev_seterr(err, EV_EDATA,
			 "invalid record: string is not valid UTF-8");
oom:
	ev_buf_free(&rest);
	out->len = start;
	return ev_seterr(err, EV_ERR, "out of memory");
fail:
	ev_buf_free(&rest);
	out->len = start;
	return r;
}
