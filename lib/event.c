/*
 * event.c - struct ev_event and struct ev_parser: the event envelope.
 *
 * Owns the mapping between the JSON envelope (evpub(1), evtail(1)) and the
 * record encoding of evlog(5): parsing envelope and --wrap input lines,
 * encoding records, decoding and validating them, and writing them back as
 * JSON, msgpack or a human line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

#define MAX_LINE_EVENTS 4096

struct ev_parser {
	struct ev_parse_opts opts;
	struct ev_buf strs; /* decoded strings of the current line */
	struct ev_buf data, meta, tmp;
	struct ev_buf out;  /* encoded records of the current line */
	int count;
	size_t *rec_end;
	ev_time_t *rec_time;
	int rec_cap;
};

struct ev_parser *ev_parser_new(const struct ev_parse_opts *opts)
{
	struct ev_parser *ps = calloc(1, sizeof(*ps));

	if (ps != NULL && opts != NULL)
		ps->opts = *opts;
	return ps;
}

void ev_parser_free(struct ev_parser *ps)
{
	if (ps == NULL)
		return;
	ev_buf_free(&ps->strs);
	ev_buf_free(&ps->data);
	ev_buf_free(&ps->meta);
	ev_buf_free(&ps->tmp);
	ev_buf_free(&ps->out);
	free(ps->rec_end);
	free(ps->rec_time);
	free(ps);
}

/* ------------------------------------------------------------ encoding */

/* U+0000-001F, U+007F-009F: not allowed in identifiers (id, type,
 * stream, key), which must also be valid CloudEvents attributes. */
static int has_control(const char *s, size_t n)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i;

	for (i = 0; s != NULL && i < n; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 1;
		if (p[i] == 0xC2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] <= 0x9f)
			return 1;
	}
	return 0;
}

void ev_fields_init(struct ev_fields *f)
{
	memset(f, 0, sizeof(*f));
	f->time = EV_TIME_NONE;
	f->prev = EV_NO_PREV;
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
		return ev_seterr(err, EV_EDATA, "missing required field 'type'");
	if (has_control(f->type, f->type_n) || has_control(f->id, f->id_n) ||
	    has_control(f->stream, f->stream_n) || has_control(f->key, f->key_n))
		return ev_seterr(err, EV_EDATA,
				 "field '%s' contains a control character",
				 has_control(f->type, f->type_n)	 ? "type"
				 : has_control(f->id, f->id_n)	 ? "id"
				 : has_control(f->stream, f->stream_n) ? "stream"
									 : "key");
	if (id == NULL) {
		ev_uuid7(now, idbuf);
		id = idbuf;
		id_n = 36;
	}
	count += (f->stream != NULL) + (f->version != 0) +
		 (f->schema > 1) + (f->key != NULL) + (f->data != NULL) +
		 (f->meta != NULL) + (f->prev != EV_NO_PREV);
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
		return ev_seterr(err, EV_EDATA,
				 "event is %zu bytes encoded, over the limit of "
				 "%u bytes",
				 (size_t)(o - out->p) - start + slack,
				 EV_MAX_RECORD);
	out->len = (size_t)(o - out->p);
	if (time != NULL)
		*time = t;
	return 0;
}

/* ------------------------------------------------------------ parsing */

/* column of p in the line, counted in characters, 1-based */
size_t ev_json_column(const char *start, const char *p)
{
	size_t col = 1;

	for (; start < p; start++)
		if (((unsigned char)*start & 0xC0) != 0x80)
			col++;
	return col;
}

int ev_parse_fail(struct ev_json *js, struct ev_error *err)
{
	ev_seterr(err, EV_EDATA, "%s", js->errmsg ? js->errmsg : "invalid JSON");
	err->column = ev_json_column(js->start, js->errp ? js->errp : js->p);
	return EV_EDATA;
}

/* "field 'NAME' WHAT" at the column of at */
static int field_fail(struct ev_json *js, const char *at, struct ev_error *err,
		      const char *name, const char *what)
{
	if (name != NULL)
		ev_seterr(err, EV_EDATA, "field '%s' %s", name, what);
	else
		ev_seterr(err, EV_EDATA, "%s", what);
	err->column = ev_json_column(js->start, at);
	return EV_EDATA;
}

/* A string span inside ps->strs, stored as offsets while it may move. */
struct span {
	size_t off, n;
	int set;
};

static int get_string(struct ev_parser *ps, struct ev_json *js, struct span *s)
{
	size_t before = ps->strs.len;

	if (ev_json_string_raw(js, &ps->strs) != 0)
		return EV_EDATA;
	s->off = before;
	s->n = ps->strs.len - before;
	s->set = 1;
	return 0;
}

static int is_null(struct ev_json *js)
{
	if (js->end - js->p >= 4 && memcmp(js->p, "null", 4) == 0) {
		js->p += 4;
		return 1;
	}
	return 0;
}

/* A positive integer value into *v; 0, or EV_EDATA with message. */
static int get_posint(struct ev_parser *ps, struct ev_json *js, uint64_t *v,
		      const char *name, struct ev_error *err)
{
	const char *at = js->p;
	const uint8_t *p;
	struct ev_mp_item it;

	ps->tmp.len = 0;
	if (ev_json_value(js, &ps->tmp) != 0)
		return ev_parse_fail(js, err);
	p = ps->tmp.p;
	if (ev_mp_read(&p, ps->tmp.p + ps->tmp.len, &it) != 0 ||
	    it.type != EV_MP_UINT || it.v.u == 0)
		return field_fail(js, at, err,
				  name, "must be a positive integer");
	*v = it.v.u;
	return 0;
}

static const char *const env_names[] = {
	"offset", "id",	 "type", "stream", "version",	  "time",
	"schema", "key", "data", "meta",   "data_base64",
};
enum {
	F_OFFSET,
	F_ID,
	F_TYPE,
	F_STREAM,
	F_VERSION,
	F_TIME,
	F_SCHEMA,
	F_KEY,
	F_DATA,
	F_META,
	F_DATA64,
	F_COUNT
};

static int lookup_field(const char *k, size_t n)
{
	/* by length first: this runs for every key of every input line */
	switch (n) {
	case 2:
		return memcmp(k, "id", 2) == 0 ? F_ID : -1;
	case 3:
		return memcmp(k, "key", 3) == 0 ? F_KEY : -1;
	case 4:
		if (memcmp(k, "type", 4) == 0)
			return F_TYPE;
		if (memcmp(k, "time", 4) == 0)
			return F_TIME;
		if (memcmp(k, "data", 4) == 0)
			return F_DATA;
		if (memcmp(k, "meta", 4) == 0)
			return F_META;
		return -1;
	case 6:
		if (memcmp(k, "stream", 6) == 0)
			return F_STREAM;
		if (memcmp(k, "schema", 6) == 0)
			return F_SCHEMA;
		if (memcmp(k, "offset", 6) == 0)
			return F_OFFSET;
		return -1;
	case 7:
		return memcmp(k, "version", 7) == 0 ? F_VERSION : -1;
	case 11:
		return memcmp(k, "data_base64", 11) == 0 ? F_DATA64 : -1;
	default:
		return -1;
	}
}

/* edit distance for "did you mean" (names are short) */
static size_t edit_distance(const char *a, size_t an, const char *b)
{
	size_t bn = strlen(b), i, j, prev, cur, tmp;
	size_t row[32];

	if (an >= 31 || bn >= 31)
		return 99;
	for (j = 0; j <= bn; j++)
		row[j] = j;
	for (i = 1; i <= an; i++) {
		prev = row[0];
		row[0] = i;
		for (j = 1; j <= bn; j++) {
			cur = row[j];
			tmp = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < tmp)
				tmp = row[j] + 1;
			if (row[j - 1] + 1 < tmp)
				tmp = row[j - 1] + 1;
			row[j] = tmp;
			prev = cur;
		}
	}
	return row[bn];
}

const char *ev_suggest(const char *k, size_t n, const char *const *names,
		       size_t count)
{
	size_t i, best = 3, d;
	const char *s = NULL;

	for (i = 0; i < count; i++) {
		d = edit_distance(k, n, names[i]);
		if (d < best) {
			best = d;
			s = names[i];
		}
	}
	return s;
}

static int unknown_field(struct ev_json *js, const char *at, const char *k,
			 size_t n, struct ev_error *err)
{
	const char *s = ev_suggest(k, n, env_names, F_COUNT);
	int show = n > 60 ? 60 : (int)n;

	if (s != NULL)
		ev_seterr(err, EV_EDATA,
			  "unknown field '%.*s' (did you mean '%s'?)", show, k,
			  s);
	else
		ev_seterr(err, EV_EDATA, "unknown field '%.*s'", show, k);
	err->column = ev_json_column(js->start, at);
	return EV_EDATA;
}

static void resolve(struct ev_parser *ps, const struct span *s,
		    const char **p, size_t *n)
{
	if (!s->set) {
		*p = NULL;
		*n = 0;
		return;
	}
	*p = (const char *)ps->strs.p + s->off;
	*n = s->n;
}

static int parse_envelope(struct ev_parser *ps, struct ev_json *js,
			  ev_time_t now, struct ev_buf *out, ev_time_t *time,
			  struct ev_error *err)
{
	struct span sp[F_COUNT];
	int seen[F_COUNT] = {0};
	struct ev_fields f;
	struct span keyspan;
	const char *at, *keyat;
	int c, fld, r;

	memset(sp, 0, sizeof(sp));
	ev_fields_init(&f);
	c = ev_json_ws(js);
	if (c != '{') {
		if (c < 0)
			ev_json_fail(js, js->p, "empty line, expected an event");
		else
			ev_json_fail(js, js->p, "expected '{': an event is a "
						"JSON object");
		return ev_parse_fail(js, err);
	}
	js->p++;
	js->depth = 1;
	c = ev_json_ws(js);
	if (c == '}') {
		js->p++;
		goto done;
	}
	for (;;) {
		if (c != '"') {
			ev_json_fail(js, js->p,
				     c < 0 ? "unexpected end of input in object"
					   : "expected string key in object");
			return ev_parse_fail(js, err);
		}
		keyat = js->p;
		if (get_string(ps, js, &keyspan) != 0)
			return ev_parse_fail(js, err);
		fld = lookup_field((const char *)ps->strs.p + keyspan.off,
				   keyspan.n);
		if (fld < 0)
			return unknown_field(js, keyat,
					     (const char *)ps->strs.p + keyspan.off,
					     keyspan.n, err);
		if (seen[fld])
		{
			char msg[64];
			snprintf(msg, sizeof(msg), "duplicate field '%s'",
				 env_names[fld]);
			return field_fail(js, keyat, err, NULL, msg);
		}
		seen[fld] = 1;
		ps->strs.len = keyspan.off; /* the key is no longer needed */
		if (ev_json_ws(js) != ':') {
			ev_json_fail(js, js->p, "expected ':' after object key");
			return ev_parse_fail(js, err);
		}
		js->p++;
		c = ev_json_ws(js);
		at = js->p;
		if (c < 0) {
			ev_json_fail(js, js->p,
				     "unexpected end of input, expected value");
			return ev_parse_fail(js, err);
		}
		switch (fld) {
		case F_ID:
		case F_TYPE:
		case F_STREAM:
		case F_KEY:
		case F_TIME:
			if (fld != F_TYPE && is_null(js))
				break;
			if (c != '"')
				return field_fail(js, at, err, env_names[fld],
						  fld == F_TIME
							  ? "must be an RFC 3339 time string"
							  : "must be a non-empty string");
			if (get_string(ps, js, &sp[fld]) != 0)
				return ev_parse_fail(js, err);
			if (fld != F_TIME && sp[fld].n == 0)
				return field_fail(js, at, err, env_names[fld],
						  "must be a non-empty string");
			if (fld == F_TIME &&
			    ev_time_parse((const char *)ps->strs.p + sp[fld].off,
					  sp[fld].n, &f.time) != 0)
				return field_fail(js, at, err, env_names[fld],
						  "is not an RFC 3339 time within "
						  "the years 1678 to 2261");
			break;
		case F_VERSION:
			if (is_null(js))
				break;
			if (get_posint(ps, js, &f.version, "version", err) != 0)
				return EV_EDATA;
			break;
		case F_SCHEMA:
			if (is_null(js))
				break;
			if (get_posint(ps, js, &f.schema, "schema", err) != 0)
				return EV_EDATA;
			break;
		case F_OFFSET:
			ps->tmp.len = 0;
			if (ev_json_value(js, &ps->tmp) != 0)
				return ev_parse_fail(js, err);
			break;
		case F_DATA:
			if (seen[F_DATA64])
				return field_fail(js, at, err, NULL,
						  "fields 'data' and 'data_base64' "
						  "are mutually exclusive");
			if (ev_json_value(js, &ps->data) != 0)
				return ev_parse_fail(js, err);
			sp[F_DATA].set = 1;
			break;
		case F_DATA64:
			if (seen[F_DATA])
				return field_fail(js, at, err, NULL,
						  "fields 'data' and 'data_base64' "
						  "are mutually exclusive");
			if (c != '"')
				return field_fail(js, at, err, "data_base64",
						  "must be a base64 string");
			if (get_string(ps, js, &sp[F_DATA64]) != 0)
				return ev_parse_fail(js, err);
			r = ev_base64_decode((const char *)ps->strs.p +
						     sp[F_DATA64].off,
					     sp[F_DATA64].n, &ps->data);
			if (r != 0)
				return field_fail(js, at, err, "data_base64",
						  "is not valid base64");
			sp[F_DATA].set = 1;
			f.data_bin = 1;
			break;
		case F_META:
			if (is_null(js))
				break;
			if (c != '{')
				return field_fail(js, at, err, "meta",
						  "must be an object");
			if (ev_json_value(js, &ps->meta) != 0)
				return ev_parse_fail(js, err);
			sp[F_META].set = 1;
			break;
		}
		c = ev_json_ws(js);
		if (c == ',') {
			js->p++;
			c = ev_json_ws(js);
			continue;
		}
		if (c == '}') {
			js->p++;
			break;
		}
		ev_json_fail(js, js->p,
			     c < 0 ? "unexpected end of input in object"
				   : "expected ',' or '}' after object member");
		return ev_parse_fail(js, err);
	}
done:
	if (ev_json_ws(js) >= 0) {
		ev_json_fail(js, js->p, "unexpected characters after the event");
		return ev_parse_fail(js, err);
	}
	if (!sp[F_TYPE].set) {
		ev_seterr(err, EV_EDATA, "missing required field 'type'");
		err->column = 1;
		return EV_EDATA;
	}
	resolve(ps, &sp[F_TYPE], &f.type, &f.type_n);
	resolve(ps, &sp[F_ID], &f.id, &f.id_n);
	resolve(ps, &sp[F_STREAM], &f.stream, &f.stream_n);
	resolve(ps, &sp[F_KEY], &f.key, &f.key_n);
	if (sp[F_DATA].set) {
		/* an empty binary payload is data too: never a NULL pointer */
		if (ev_buf_reserve(&ps->data, 1) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		f.data = ps->data.p;
		f.data_n = ps->data.len;
	}
	if (sp[F_META].set) {
		f.meta = ps->meta.p;
		f.meta_n = ps->meta.len;
	}
	if (ev_record_encode(&f, now, out, time, err) != 0) {
		err->column = 1;
		return err->code;
	}
	return 0;
}

/* A --wrap path's value as a string (strings as they are, integers in
 * decimal).  Returns 1 found, 0 absent, EV_EDATA when not a string. */
static int wrap_string(struct ev_parser *ps, const char *path, struct span *s)
{
	const uint8_t *v;
	size_t vn;
	struct ev_mp_item it;
	char num[24], *e;
	int r;

	r = ev_mp_path(ps->data.p, ps->data.len, path, &v, &vn);
	if (r <= 0)
		return 0;
	if (ev_mp_read(&v, v + vn, &it) != 0)
		return EV_EDATA;
	s->off = ps->strs.len;
	s->set = 1;
	if (it.type == EV_MP_STR) {
		if (ev_buf_append(&ps->strs, it.p, it.n) != 0)
			return EV_ERR;
	} else if (it.type == EV_MP_UINT || it.type == EV_MP_INT) {
		e = it.type == EV_MP_UINT ? ev_fmt_u64(num, it.v.u)
					  : ev_fmt_i64(num, it.v.i);
		if (ev_buf_append(&ps->strs, num, (size_t)(e - num)) != 0)
			return EV_ERR;
	} else {
		return EV_EDATA;
	}
	s->n = ps->strs.len - s->off;
	return 1;
}

static int parse_wrap(struct ev_parser *ps, struct ev_json *js, ev_time_t now,
		      struct ev_buf *out, ev_time_t *time, struct ev_error *err)
{
	const struct ev_parse_opts *o = &ps->opts;
	struct span type = {0, 0, 0}, id = {0, 0, 0}, stream = {0, 0, 0},
		    key = {0, 0, 0}, tm = {0, 0, 0};
	struct ev_fields f;
	int r;

	ev_fields_init(&f);
	if (ev_json_ws(js) < 0) {
		ev_json_fail(js, js->p, "empty line, expected a JSON value");
		return ev_parse_fail(js, err);
	}
	js->depth = 1; /* the line becomes data, inside the record map */
	if (ev_json_value(js, &ps->data) != 0)
		return ev_parse_fail(js, err);
	if (ev_json_ws(js) >= 0) {
		ev_json_fail(js, js->p, "unexpected characters after the JSON value");
		return ev_parse_fail(js, err);
	}
	if (o->type != NULL) {
		type.off = ps->strs.len;
		type.n = strlen(o->type);
		type.set = 1;
		if (ev_buf_append(&ps->strs, o->type, type.n) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
	} else if (o->type_from != NULL) {
		r = wrap_string(ps, o->type_from, &type);
		if (r == 0 || (r == 1 && type.n == 0)) {
			ev_seterr(err, EV_EDATA, "--type-from '%s': no %s at that path",
				  o->type_from, r == 0 ? "value" : "non-empty value");
			err->column = 1;
			return EV_EDATA;
		}
		if (r < 0)
			goto notstring;
	}
#define WRAP(path, sp, what)                                                  \
	if ((path) != NULL) {                                                \
		r = wrap_string(ps, (path), &(sp));                          \
		if (r < 0) {                                                 \
			o_path = (what);                                     \
			o_val = (path);                                      \
			goto notstring2;                                     \
		}                                                            \
	}
	const char *o_path = NULL, *o_val = NULL;
	WRAP(o->id_from, id, "--id-from")
	WRAP(o->stream_from, stream, "--stream-from")
	WRAP(o->key_from, key, "--key-from")
	WRAP(o->time_from, tm, "--time-from")
#undef WRAP
	if (tm.set && ev_time_parse((const char *)ps->strs.p + tm.off, tm.n,
				    &f.time) != 0) {
		ev_seterr(err, EV_EDATA,
			  "--time-from '%s': value is not an RFC 3339 time",
			  o->time_from);
		err->column = 1;
		return EV_EDATA;
	}
	if (id.set && id.n == 0)
		id.set = 0;
	resolve(ps, &type, &f.type, &f.type_n);
	resolve(ps, &id, &f.id, &f.id_n);
	resolve(ps, &stream, &f.stream, &f.stream_n);
	resolve(ps, &key, &f.key, &f.key_n);
	f.data = ps->data.p;
	f.data_n = ps->data.len;
	if (ev_record_encode(&f, now, out, time, err) != 0) {
		err->column = 1;
		return err->code;
	}
	return 0;
notstring:
	ev_seterr(err, EV_EDATA,
		  "--type-from '%s': value is not a string or integer",
		  o->type_from);
	err->column = 1;
	return EV_EDATA;
notstring2:
	ev_seterr(err, EV_EDATA, "%s '%s': value is not a string or integer",
		  o_path, o_val);
	err->column = 1;
	return EV_EDATA;
}

/* Record one encoded event of the current line. */
int ev_parser_push(struct ev_parser *ps, ev_time_t t, struct ev_error *err)
{
	if (ps->count >= MAX_LINE_EVENTS) {
		ev_seterr(err, EV_EDATA, "more than %d events on one line",
			  MAX_LINE_EVENTS);
		err->column = 1;
		return EV_EDATA;
	}
	if (ps->count == ps->rec_cap) {
		int cap = ps->rec_cap ? ps->rec_cap * 2 : 4;
		size_t *e = realloc(ps->rec_end, (size_t)cap * sizeof(*e));
		ev_time_t *tt;
		if (e == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		ps->rec_end = e;
		tt = realloc(ps->rec_time, (size_t)cap * sizeof(*tt));
		if (tt == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		ps->rec_time = tt;
		ps->rec_cap = cap;
	}
	ps->rec_end[ps->count] = ps->out.len;
	ps->rec_time[ps->count] = t;
	ps->count++;
	return 0;
}

int ev_parser_line(struct ev_parser *ps, const char *line, size_t len,
		   ev_time_t now, struct ev_error *err)
{
	struct ev_json js;
	ev_time_t t = now;
	int r;

	ps->strs.len = 0;
	ps->data.len = 0;
	ps->meta.len = 0;
	ps->out.len = 0;
	ps->count = 0;
	ev_json_init(&js, line, len);
	switch (ps->opts.format) {
	case EV_FMT_WRAP:
		r = parse_wrap(ps, &js, now, &ps->out, &t, err);
		if (r == 0)
			r = ev_parser_push(ps, t, err);
		break;
	case EV_FMT_CLOUDEVENTS:
		r = ev_ce_parse_line(ps, &js, now, err);
		break;
	default:
		r = parse_envelope(ps, &js, now, &ps->out, &t, err);
		if (r == 0)
			r = ev_parser_push(ps, t, err);
		break;
	}
	if (r != 0) {
		ps->count = 0;
		return r;
	}
	return ps->count;
}

void ev_parser_record(const struct ev_parser *ps, int i, const uint8_t **rec,
		      size_t *n, ev_time_t *time)
{
	size_t start = i == 0 ? 0 : ps->rec_end[i - 1];

	*rec = ps->out.p + start;
	*n = ps->rec_end[i] - start;
	if (time != NULL)
		*time = ps->rec_time[i];
}

/* Scratch buffers for cloudevents.c */
struct ev_buf *ev_parser_buf(struct ev_parser *ps, int which)
{
	switch (which) {
	case 0:
		return &ps->strs;
	case 1:
		return &ps->data;
	case 2:
		return &ps->meta;
	case 3:
		return &ps->tmp;
	default:
		return &ps->out;
	}
}

/* ------------------------------------------------------------ decoding */

static int bad(struct ev_error *err, const char *why)
{
	return ev_seterr(err, EV_EDATA, "invalid record: %s", why);
}

static int get_str(const uint8_t **p, const uint8_t *end, struct ev_str *s,
		   int nonempty)
{
	struct ev_mp_item it;

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
	/* evlog(5): a fixmap of 3 to 10 entries */
	if (n == 0 || rec[0] < 0x83 || rec[0] > 0x8a)
		return bad(err, "not a record map of 3 to 10 fields");
	if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_MAP)
		return bad(err, "not a msgpack map");
	for (i = 0; i < it.n; i++) {
		struct ev_mp_item kv;
		if (ev_mp_read(&p, end, &kv) != 0 || kv.type != EV_MP_UINT)
			return bad(err, "field key is not a small integer");
		k = kv.v.u;
		if (k <= last || k > EV_K_MAX)
			return bad(err, "unknown or out-of-order field key");
		if (head_only && k > EV_K_TIME)
			break;
		last = k;
		switch (k) {
		case EV_K_TYPE:
			if (get_str(&p, end, &ev->type, 1) != 0)
				return bad(err, "type is not a non-empty string");
			break;
		case EV_K_ID:
			if (get_str(&p, end, &ev->id, 1) != 0)
				return bad(err, "id is not a non-empty string");
			break;
		case EV_K_STREAM:
			if (get_str(&p, end, &ev->stream, 1) != 0)
				return bad(err, "stream is not a non-empty string");
			break;
		case EV_K_KEY:
			if (get_str(&p, end, &ev->key, 1) != 0)
				return bad(err, "key is not a non-empty string");
			break;
		case EV_K_TIME:
			if (ev_mp_read(&p, end, &kv) != 0 ||
			    ev_mp_time_decode(&kv, &ev->time) != 0)
				return bad(err, "time is not a valid timestamp");
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
			if (p < end && (*p == 0xc4 || *p == 0xc5 || *p == 0xc6)) {
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
			if (ev_mp_read(&p, end, &kv) != 0 || kv.type != EV_MP_UINT)
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
			return ev_seterr(err, EV_EDATA, "invalid record: data: %s",
					 why);
	}
	if (ev->meta != NULL) {
		p = ev->meta;
		if (ev_mp_check_json(&p, ev->meta + ev->meta_len, 2, &why) != 0)
			return ev_seterr(err, EV_EDATA, "invalid record: meta: %s",
					 why);
	}
	return 0;
}

int ev_event_peek_type(const uint8_t *rec, size_t n, struct ev_str *type)
{
	const uint8_t *p = rec, *end = rec + n;
	struct ev_mp_item it;

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

/* ------------------------------------------------------------ output */

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
	return ev_seterr(err, EV_EDATA, "invalid record: string is not valid UTF-8");
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
	} else if (IS("version")) {
		if (ev->version == 0)
			return 0;
		o = ev_mp_uint(o, ev->version);
	} else if (IS("schema")) {
		o = ev_mp_uint(o, ev->schema);
	} else if (IS("time")) {
		o = ev_mp_time(o, ev->time);
	} else {
		const struct ev_str *s = IS("id")       ? &ev->id
					 : IS("type")   ? &ev->type
					 : IS("stream") ? &ev->stream
					 : IS("key")    ? &ev->key
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

int ev_event_to_pretty(const struct ev_event *ev, struct ev_buf *out, int color,
		       struct ev_error *err)
{
	char tmp[48], *e;
	const uint8_t *p;
	int r;

#define C(code) \
	do { if (color) PUTLIT(out, code); } while (0)
	C("\033[2m");
	e = ev_fmt_u64(tmp, ev->offset);
	ev_buf_append(out, tmp, (size_t)(e - tmp));
	C("\033[0m");
	ev_buf_putc(out, ' ');
	C("\033[34m");
	ev_buf_append(out, tmp, ev_time_format(ev->time, tmp));
	C("\033[0m");
	ev_buf_putc(out, ' ');
	C("\033[1;32m");
	ev_buf_append(out, ev->type.p, ev->type.n);
	C("\033[0m");
	if (ev->stream.p != NULL) {
		ev_buf_putc(out, ' ');
		C("\033[36m");
		ev_buf_append(out, ev->stream.p, ev->stream.n);
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
			r = ev_json_put_mp(out, &p, ev->data + ev->data_len, 2, err);
			if (r != 0)
				return r;
		}
	}
#undef C
	return 0;
}

/* ------------------------------------------------------------ builder */

struct ev_builder {
	char *type, *id, *stream, *key;
	ev_time_t time;
	uint64_t schema, version;
	struct ev_buf data, meta, tmp;
	uint32_t data_count, meta_count;
};

struct ev_builder *ev_builder_new(void)
{
	struct ev_builder *b = calloc(1, sizeof(*b));

	if (b != NULL)
		b->time = EV_TIME_NONE;
	return b;
}

void ev_builder_free(struct ev_builder *b)
{
	if (b == NULL)
		return;
	free(b->type);
	free(b->id);
	free(b->stream);
	free(b->key);
	ev_buf_free(&b->data);
	ev_buf_free(&b->meta);
	ev_buf_free(&b->tmp);
	free(b);
}

static int set_str(char **dst, const char *v, struct ev_error *err)
{
	free(*dst);
	*dst = strdup(v);
	return *dst ? 0 : ev_seterr(err, EV_ERR, "out of memory");
}

int ev_builder_set(struct ev_builder *b, const char *field, const char *value,
		   struct ev_error *err)
{
	size_t n = strlen(value);
	uint64_t v = 0;
	size_t i;

	if (ev_utf8_valid((const uint8_t *)value, n) != n)
		return ev_seterr(err, EV_EUSAGE, "--%s: value is not valid UTF-8",
				 field);
	if (strcmp(field, "type") == 0 || strcmp(field, "id") == 0) {
		if (n == 0)
			return ev_seterr(err, EV_EUSAGE, "%s must not be empty",
					 field);
		return set_str(field[0] == 't' ? &b->type : &b->id, value, err);
	}
	if (strcmp(field, "stream") == 0)
		return set_str(&b->stream, value, err);
	if (strcmp(field, "key") == 0)
		return set_str(&b->key, value, err);
	if (strcmp(field, "time") == 0) {
		if (ev_time_parse_user(value, ev_now(), &b->time) != 0)
			return ev_seterr(err, EV_EUSAGE,
					 "--time: '%s' is not an RFC 3339 time",
					 value);
		return 0;
	}
	if (strcmp(field, "schema") == 0 || strcmp(field, "version") == 0) {
		for (i = 0; i < n; i++) {
			if (value[i] < '0' || value[i] > '9' || i >= 19)
				return ev_seterr(err, EV_EUSAGE,
						 "--%s: '%s' is not a positive "
						 "integer",
						 field, value);
			v = v * 10 + (uint64_t)(value[i] - '0');
		}
		if (v == 0)
			return ev_seterr(err, EV_EUSAGE,
					 "--%s: '%s' is not a positive integer",
					 field, value);
		if (field[1] == 'c')
			b->schema = v;
		else
			b->version = v;
		return 0;
	}
	return ev_seterr(err, EV_EUSAGE, "unknown field '%s'", field);
}

int ev_builder_data(struct ev_builder *b, const char *name, const char *value,
		    size_t vlen, int is_json, struct ev_error *err)
{
	struct ev_json js;
	size_t nn = strlen(name);

	if (ev_utf8_valid((const uint8_t *)name, nn) != nn)
		return ev_seterr(err, EV_EUSAGE, "field name is not valid UTF-8");
	if (ev_buf_mp_str(&b->data, name, nn) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (is_json) {
		ev_json_init(&js, value, vlen);
		js.depth = 2; /* inside data, inside the record map */
		ev_json_ws(&js);
		if (ev_json_value(&js, &b->data) != 0 || ev_json_ws(&js) >= 0) {
			ev_seterr(err, EV_EUSAGE, "'%s:=%.*s': %s at column %zu",
				  name, (int)(vlen > 60 ? 60 : vlen), value,
				  js.errmsg ? js.errmsg
					    : "unexpected characters after the value",
				  ev_json_column(js.start, js.errp ? js.errp : js.p));
			return EV_EUSAGE;
		}
	} else {
		if (ev_utf8_valid((const uint8_t *)value, vlen) != vlen)
			return ev_seterr(err, EV_EUSAGE,
					 "value of '%s' is not valid UTF-8", name);
		if (ev_buf_mp_str(&b->data, value, vlen) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
	}
	b->data_count++;
	return 0;
}

int ev_builder_meta(struct ev_builder *b, const char *name, const char *value,
		    struct ev_error *err)
{
	size_t nn = strlen(name), vn = strlen(value);

	if (ev_utf8_valid((const uint8_t *)name, nn) != nn ||
	    ev_utf8_valid((const uint8_t *)value, vn) != vn)
		return ev_seterr(err, EV_EUSAGE, "--meta: not valid UTF-8");
	if (ev_buf_mp_str(&b->meta, name, nn) != 0 ||
	    ev_buf_mp_str(&b->meta, value, vn) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	b->meta_count++;
	return 0;
}

int ev_builder_finish(struct ev_builder *b, ev_time_t now, struct ev_buf *out,
		      ev_time_t *time, struct ev_error *err)
{
	struct ev_fields f;
	uint8_t hdr[5];
	size_t hn, data_at = 0;

	ev_fields_init(&f);
	f.type = b->type;
	f.type_n = b->type ? strlen(b->type) : 0;
	f.id = b->id;
	f.id_n = b->id ? strlen(b->id) : 0;
	f.stream = b->stream;
	f.stream_n = b->stream ? strlen(b->stream) : 0;
	f.key = b->key;
	f.key_n = b->key ? strlen(b->key) : 0;
	f.time = b->time;
	f.schema = b->schema;
	f.version = b->version;
	b->tmp.len = 0;
	if (b->data_count > 0) {
		hn = (size_t)(ev_mp_map_hdr(hdr, b->data_count) - hdr);
		if (ev_buf_append(&b->tmp, hdr, hn) != 0 ||
		    ev_buf_append(&b->tmp, b->data.p, b->data.len) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		f.data_n = b->tmp.len;
	}
	if (b->meta_count > 0) {
		data_at = b->tmp.len;
		hn = (size_t)(ev_mp_map_hdr(hdr, b->meta_count) - hdr);
		if (ev_buf_append(&b->tmp, hdr, hn) != 0 ||
		    ev_buf_append(&b->tmp, b->meta.p, b->meta.len) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		f.meta = b->tmp.p + data_at;
		f.meta_n = b->tmp.len - data_at;
	}
	if (b->data_count > 0)
		f.data = b->tmp.p;
	return ev_record_encode(&f, now, out, time, err);
}
