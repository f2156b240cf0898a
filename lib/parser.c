/*
 * parser.c - struct ev_parser: input lines into records.  One line of
 * the JSON envelope (evpub(1)), or any JSON value wrapped as the data of
 * a new event (--wrap); CloudEvents lines are read by cloudevents.c into
 * the parser's buffers.
 *
 * Errors about a --wrap path begin with the name of its field in struct
 * ev_parse_opts ("type_from 'kind': ..."), so that a front end can put
 * its own spelling of the option in its place.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

struct ev_parser {
	struct ev_parse_opts opts;
	struct ev_parse_bufs b;
	/* a second look at a line with unknown fields (wrap_hint) */
	int skip_unknown;   /* skip them, and note: */
	int unknown_plain;  /* one of them is no near miss of a field */
	int no_type;	    /* the line has no type */
	int known, unknown; /* fields of either kind */
	/* the minute of the last canonical time (parse_time) */
	char tc_pre[17]; /* "YYYY-MM-DDTHH:MM:" */
	ev_time_t tc_base;
	int tc_ok;
};

/* The two or three ASCII digits at s as a number, or a value above 999
 * when one is not a digit. */
static inline unsigned digits(const char *s, int k)
{
	unsigned v = 0, d;
	int i;

	for (i = 0; i < k; i++) {
		d = (unsigned)((unsigned char)s[i] - '0');
		if (d > 9)
			return 1000;
		v = v * 10 + d;
	}
	return v;
}

/*
 * An event's time, as ev_time_parse() reads it.  Events come in time
 * order, most of them within a minute of the one before, in the form
 * JavaScript's toISOString() writes ("2024-01-01T00:00:00.029Z"): the
 * minute of the last one in that form is kept, and a time in the same
 * minute is its seconds and milliseconds past it, without the calendar
 * arithmetic.  Only for years 1900 to 2199, far inside the range.
 */
static int parse_time(struct ev_parser *ps, const char *s, size_t n,
		      ev_time_t *out)
{
	unsigned sec, ms;

	if (n == 24 && s[19] == '.' && s[23] == 'Z' && ps->tc_ok &&
	    memcmp(s, ps->tc_pre, sizeof(ps->tc_pre)) == 0 &&
	    (sec = digits(s + 17, 2)) <= 59 &&
	    (ms = digits(s + 20, 3)) <= 999) {
		*out = ps->tc_base + (ev_time_t)sec * 1000000000 +
		       (ev_time_t)ms * 1000000;
		return 0;
	}
	if (ev_time_parse(s, n, out) != 0)
		return EV_EDATA;
	if (n == 24 && s[10] == 'T' && s[19] == '.' && s[23] == 'Z' &&
	    ((s[0] == '1' && s[1] == '9') || (s[0] == '2' && s[1] <= '1')) &&
	    (sec = digits(s + 17, 2)) <= 59 &&
	    (ms = digits(s + 20, 3)) <= 999) {
		memcpy(ps->tc_pre, s, sizeof(ps->tc_pre));
		ps->tc_base = *out - (ev_time_t)sec * 1000000000 -
			      (ev_time_t)ms * 1000000;
		ps->tc_ok = 1;
	}
	return 0;
}

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
	ev_buf_free(&ps->b.strs);
	ev_buf_free(&ps->b.data);
	ev_buf_free(&ps->b.meta);
	ev_buf_free(&ps->b.tmp);
	ev_reclist_free(&ps->b.recs);
	free(ps);
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

/* A string span inside ps->b.strs, stored as offsets while it may move,
 * or (p set) in the line itself. */
struct span {
	size_t off, n;
	int set;
	const char *p;
};

static inline const char *span_ptr(const struct ev_parser *ps,
				   const struct span *s)
{
	return s->p != NULL ? s->p : (const char *)ps->b.strs.p + s->off;
}

/* The string at js->p (on its quote): in place when it has no escape, no
 * control, no DEL and no non-ASCII byte (most do), else decoded into
 * ps->b.strs.  A string in place is printable ASCII (EV_PLAIN_*). */
static int get_string(struct ev_parser *ps, struct ev_json *js, struct span *s)
{
	size_t before = ps->b.strs.len;
	const char *p = js->p + 1, *q;

	s->off = before;
	s->set = 1;
	if (EV_LIKELY(js->p < js->end && *js->p == '"')) {
		q = ev_scan_plain(p, js->end);
		if (EV_LIKELY(q < js->end && *q == '"')) {
			s->p = p;
			s->n = (size_t)(q - p);
			js->p = q + 1;
			return 0;
		}
	}
	s->p = NULL;
	if (ev_json_string_raw(js, &ps->b.strs) != 0)
		return EV_EDATA;
	s->n = ps->b.strs.len - before;
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
	const char *at = js->p, *q = js->p, *end = js->end;
	const uint8_t *p;
	struct ev_mp_item it;
	uint64_t u = 0;
	int k;

	/* fast path: up to 19 digits, no leading zero, then no more of a
	 * number (whatever follows is the caller's to check) */
	if (q < end && *q >= '1' && *q <= '9') {
		for (k = 0; k < 19 && q < end && *q >= '0' && *q <= '9'; k++)
			u = u * 10 + (uint64_t)(*q++ - '0');
		if (q == end || !((*q >= '0' && *q <= '9') || *q == '.' ||
				  *q == 'e' || *q == 'E')) {
			js->p = q;
			*v = u;
			return 0;
		}
	}
	ps->b.tmp.len = 0;
	if (ev_json_value(js, &ps->b.tmp) != 0)
		return ev_parse_fail(js, err);
	p = ps->b.tmp.p;
	if (ev_mp_read(&p, ps->b.tmp.p + ps->b.tmp.len, &it) != 0 ||
	    it.type != EV_MP_UINT || it.v.u == 0)
		return field_fail(js, at, err, name,
				  "must be a positive integer");
	*v = it.v.u;
	return 0;
}

static const char *const env_names[] = {
	"offset", "id",	 "type", "stream", "version",	  "time",
	"schema", "key", "data", "meta",   "data_base64", "partition",
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
	F_PARTITION, /* a Kafka log's, ignored as offset is */
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
	case 9:
		return memcmp(k, "partition", 9) == 0 ? F_PARTITION : -1;
	case 11:
		return memcmp(k, "data_base64", 11) == 0 ? F_DATA64 : -1;
	default:
		return -1;
	}
}

/*
 * The key at js->p (on its quote) when it is a field name written
 * plainly, as nearly every line has them: the field, with js->p past the
 * closing quote.  -1 (js->p unmoved) to read the key the slow way.
 */
static inline int known_key(struct ev_json *js)
{
	const char *p = js->p + 1;
	size_t avail = (size_t)(js->end - p);

	/* the name and its closing quote, compared in place */
#define KEY(name, fld)                                         \
	do {                                                   \
		if (avail >= sizeof(name) &&                   \
		    memcmp(p, name "\"", sizeof(name)) == 0) { \
			js->p = p + sizeof(name);              \
			return fld;                            \
		}                                              \
	} while (0)
	if (avail < 3)
		return -1;
	switch (*p) {
	case 'i':
		KEY("id", F_ID);
		break;
	case 't':
		KEY("type", F_TYPE);
		KEY("time", F_TIME);
		break;
	case 's':
		KEY("stream", F_STREAM);
		KEY("schema", F_SCHEMA);
		break;
	case 'v':
		KEY("version", F_VERSION);
		break;
	case 'd':
		KEY("data", F_DATA);
		KEY("data_base64", F_DATA64);
		break;
	case 'm':
		KEY("meta", F_META);
		break;
	case 'k':
		KEY("key", F_KEY);
		break;
	case 'o':
		KEY("offset", F_OFFSET);
		break;
	case 'p':
		KEY("partition", F_PARTITION);
		break;
	}
#undef KEY
	return -1;
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

static void resolve(struct ev_parser *ps, const struct span *s, const char **p,
		    size_t *n)
{
	if (!s->set) {
		*p = NULL;
		*n = 0;
		return;
	}
	*p = span_ptr(ps, s);
	*n = s->n;
}

static int parse_envelope(struct ev_parser *ps, struct ev_json *js,
			  ev_time_t now, struct ev_buf *out, ev_time_t *time,
			  struct ev_error *err);

/*
 * A line with an unknown field: when it fails only for its unknown
 * fields (read again, skipping them, it is an event, or one without a
 * type), they outnumber the envelope fields, and one of them is no near
 * miss of a field name, it is data rather than an event, and the remedy
 * is to wrap it.
 */
static void wrap_hint(struct ev_parser *ps, const struct ev_json *js,
		      struct ev_error *err)
{
	struct ev_json again;
	struct ev_error e2;
	struct ev_buf out = {0};
	ev_time_t t;
	int r;

	ev_json_init(&again, js->start, (size_t)(js->end - js->start));
	ps->skip_unknown = 1;
	ps->unknown_plain = 0;
	ps->no_type = 0;
	ps->known = ps->unknown = 0;
	r = parse_envelope(ps, &again, 0, &out, &t, &e2);
	if ((r == 0 || (r == EV_EDATA && ps->no_type)) && ps->unknown_plain &&
	    ps->unknown > ps->known)
		err->remedy = EV_REMEDY_WRAP;
	ps->skip_unknown = 0;
	ev_buf_free(&out);
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
			ev_json_fail(js, js->p,
				     "empty line, expected an event");
		else if (c == 0xef && js->end - js->p >= 3 &&
			 memcmp(js->p, "\xef\xbb\xbf", 3) == 0)
			ev_json_fail(js, js->p,
				     "a byte order mark (U+FEFF): only the "
				     "input's first line may begin with one");
		else
			ev_json_fail(js, js->p,
				     "expected '{': an event is a "
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
		fld = known_key(js);
		if (fld < 0) {
			if (get_string(ps, js, &keyspan) != 0)
				return ev_parse_fail(js, err);
			fld = lookup_field(span_ptr(ps, &keyspan), keyspan.n);
			if (fld < 0 && !ps->skip_unknown) {
				r = unknown_field(js, keyat,
						  span_ptr(ps, &keyspan),
						  keyspan.n, err);
				wrap_hint(ps, js, err);
				return r;
			}
			if (fld < 0 &&
			    ev_suggest(span_ptr(ps, &keyspan), keyspan.n,
				       env_names, F_COUNT) == NULL)
				ps->unknown_plain = 1;
			/* the key is no longer needed */
			ps->b.strs.len = keyspan.off;
		}
		if (ps->skip_unknown)
			*(fld < 0 ? &ps->unknown : &ps->known) += 1;
		if (fld < 0) {
			fld = F_COUNT; /* its value is skipped */
		} else if (seen[fld]) {
			char msg[64];
			snprintf(msg, sizeof(msg), "duplicate field '%s'",
				 env_names[fld]);
			return field_fail(js, keyat, err, NULL, msg);
		}
		if (fld < F_COUNT)
			seen[fld] = 1;
		if (ev_json_ws(js) != ':') {
			ev_json_fail(js, js->p,
				     "expected ':' after object key");
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
				return field_fail(
					js, at, err, env_names[fld],
					fld == F_TIME
						? "must be an RFC 3339 time string"
						: "must be a non-empty string");
			if (get_string(ps, js, &sp[fld]) != 0)
				return ev_parse_fail(js, err);
			if (fld != F_TIME && sp[fld].n == 0)
				return field_fail(js, at, err, env_names[fld],
						  "must be a non-empty string");
			if (fld == F_TIME &&
			    parse_time(ps, span_ptr(ps, &sp[fld]), sp[fld].n,
				       &f.time) != 0)
				return field_fail(
					js, at, err, env_names[fld],
					"is not an RFC 3339 time from " EV_TIME_RANGE);
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
		case F_PARTITION:
		case F_COUNT:
			ps->b.tmp.len = 0;
			if (ev_json_value(js, &ps->b.tmp) != 0)
				return ev_parse_fail(js, err);
			break;
		case F_DATA:
			if (seen[F_DATA64])
				return field_fail(
					js, at, err, NULL,
					"fields 'data' and 'data_base64' "
					"are mutually exclusive");
			if (ev_json_value(js, &ps->b.data) != 0)
				return ev_parse_fail(js, err);
			sp[F_DATA].set = 1;
			break;
		case F_DATA64:
			if (seen[F_DATA])
				return field_fail(
					js, at, err, NULL,
					"fields 'data' and 'data_base64' "
					"are mutually exclusive");
			if (c != '"')
				return field_fail(js, at, err, "data_base64",
						  "must be a base64 string");
			if (get_string(ps, js, &sp[F_DATA64]) != 0)
				return ev_parse_fail(js, err);
			r = ev_base64_decode(span_ptr(ps, &sp[F_DATA64]),
					     sp[F_DATA64].n, &ps->b.data);
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
			if (ev_json_value(js, &ps->b.meta) != 0)
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
		ev_json_fail(js, js->p,
			     "unexpected characters after the event");
		return ev_parse_fail(js, err);
	}
	if (!sp[F_TYPE].set) {
		ps->no_type = 1;
		ev_seterr(err, EV_EDATA, "missing required field 'type'");
		err->column = 1;
		return EV_EDATA;
	}
	if (ps->skip_unknown)
		return 0; /* a second look: no record, no random id */
	resolve(ps, &sp[F_TYPE], &f.type, &f.type_n);
	resolve(ps, &sp[F_ID], &f.id, &f.id_n);
	resolve(ps, &sp[F_STREAM], &f.stream, &f.stream_n);
	resolve(ps, &sp[F_KEY], &f.key, &f.key_n);
	/* the identifiers read in place are printable ASCII */
	f.plain = (sp[F_TYPE].p != NULL ? EV_PLAIN_TYPE : 0) |
		  (sp[F_ID].p != NULL ? EV_PLAIN_ID : 0) |
		  (sp[F_STREAM].p != NULL ? EV_PLAIN_STREAM : 0) |
		  (sp[F_KEY].p != NULL ? EV_PLAIN_KEY : 0);
	if (sp[F_DATA].set) {
		/* an empty binary payload is data too: never a NULL pointer */
		if (ev_buf_reserve(&ps->b.data, 1) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		f.data = ps->b.data.p;
		f.data_n = ps->b.data.len;
	}
	if (sp[F_META].set) {
		f.meta = ps->b.meta.p;
		f.meta_n = ps->b.meta.len;
	}
	if (ev_record_encode(&f, now, out, time, err) != 0) {
		err->column = 1;
		return err->code;
	}
	return 0;
}

/* What wrap_string found besides a string: */
#define WRAP_NULL 2  /* null */
#define WRAP_FLOAT 3 /* a number that is not an integer, in *f */

/* A --wrap path's value as a string (strings as they are, integers in
 * decimal).  Returns 1 found, 0 absent, WRAP_NULL, WRAP_FLOAT, or
 * EV_EDATA when it is something else. */
static int wrap_string(struct ev_parser *ps, const char *path, struct span *s,
		       double *f)
{
	const uint8_t *v;
	size_t vn;
	struct ev_mp_item it;
	char num[24], *e;
	int r;

	r = ev_mp_path(ps->b.data.p, ps->b.data.len, path, &v, &vn);
	if (r <= 0)
		return 0;
	if (ev_mp_read(&v, v + vn, &it) != 0)
		return EV_EDATA;
	if (it.type == EV_MP_NIL)
		return WRAP_NULL;
	if (it.type == EV_MP_FLOAT) {
		*f = it.v.f;
		return WRAP_FLOAT;
	}
	s->off = ps->b.strs.len;
	s->set = 1;
	if (it.type == EV_MP_STR) {
		if (ev_buf_append(&ps->b.strs, it.p, it.n) != 0)
			return EV_ERR;
	} else if (it.type == EV_MP_UINT || it.type == EV_MP_INT) {
		e = it.type == EV_MP_UINT ? ev_fmt_u64(num, it.v.u)
					  : ev_fmt_i64(num, it.v.i);
		if (ev_buf_append(&ps->b.strs, num, (size_t)(e - num)) != 0)
			return EV_ERR;
	} else {
		s->set = 0;
		return EV_EDATA;
	}
	s->n = ps->b.strs.len - s->off;
	return 1;
}

/* A --wrap path whose value cannot be used: named by its field in
 * struct ev_parse_opts */
static int wrap_fail(struct ev_error *err, int r, const char *field,
		     const char *path)
{
	if (r == EV_ERR)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (r == WRAP_NULL)
		ev_seterr(err, EV_EDATA, "%s '%s': value is null", field, path);
	else
		ev_seterr(err, EV_EDATA,
			  "%s '%s': value is not a string or integer", field,
			  path);
	err->column = 1;
	return EV_EDATA;
}

/* The time at the time_from path, as o->time_in says: 0, or EV_EDATA */
static int wrap_time(struct ev_parser *ps, const struct span *tm, int r,
		     double f, ev_time_t *t, struct ev_error *err)
{
	const struct ev_parse_opts *o = &ps->opts;
	struct ev_timein rfc = {EV_TIMEIN_RFC3339, NULL, 0, 0};
	const struct ev_timein *ti = o->time_in != NULL ? o->time_in : &rfc;
	const char *v = span_ptr(ps, tm);

	if (r == WRAP_FLOAT ? ev_timein_double(ti, f, t) == 0
			    : ev_timein_parse(ti, v, tm->n, t) == 0)
		return 0;
	if (ti->kind == EV_TIMEIN_RFC3339)
		ev_seterr(err, EV_EDATA,
			  "time_from '%s': value is not an RFC 3339 time",
			  o->time_from);
	else if (r == WRAP_FLOAT)
		ev_seterr(err, EV_EDATA,
			  "time_from '%s': value %.17g is not a time in the "
			  "format '%s'",
			  o->time_from, f, ev_timein_name(ti));
	else
		ev_seterr(err, EV_EDATA,
			  "time_from '%s': value '%.*s' is not a time in the "
			  "format '%s'",
			  o->time_from, tm->n > 64 ? 64 : (int)tm->n, v,
			  ev_timein_name(ti));
	err->column = 1;
	return EV_EDATA;
}

static int parse_wrap(struct ev_parser *ps, struct ev_json *js, ev_time_t now,
		      struct ev_buf *out, ev_time_t *time, struct ev_error *err)
{
	static const char *const names[4] = {"id_from", "stream_from",
					     "key_from", "time_from"};
	const struct ev_parse_opts *o = &ps->opts;
	struct span type = {0, 0, 0, NULL}, id = {0, 0, 0, NULL},
		    stream = {0, 0, 0, NULL}, key = {0, 0, 0, NULL},
		    tm = {0, 0, 0, NULL};
	const char *paths[4] = {o->id_from, o->stream_from, o->key_from,
				o->time_from};
	struct span *spans[4] = {&id, &stream, &key, &tm};
	struct ev_fields f;
	double num = 0;
	int r, i, tr = 0;

	ev_fields_init(&f);
	if (ev_json_ws(js) < 0) {
		ev_json_fail(js, js->p, "empty line, expected a JSON value");
		return ev_parse_fail(js, err);
	}
	js->depth = 1; /* the line becomes data, inside the record map */
	if (ev_json_value(js, &ps->b.data) != 0)
		return ev_parse_fail(js, err);
	if (ev_json_ws(js) >= 0) {
		ev_json_fail(js, js->p,
			     "unexpected characters after the JSON value");
		return ev_parse_fail(js, err);
	}
	if (o->type != NULL) {
		type.off = ps->b.strs.len;
		type.n = strlen(o->type);
		type.set = 1;
		if (ev_buf_append(&ps->b.strs, o->type, type.n) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
	} else if (o->type_from != NULL) {
		r = wrap_string(ps, o->type_from, &type, &num);
		if (r < 0 || r == WRAP_FLOAT)
			return wrap_fail(err, r < 0 ? r : EV_EDATA, "type_from",
					 o->type_from);
		if (r == WRAP_NULL)
			return wrap_fail(err, r, "type_from", o->type_from);
		if (r == 0 || type.n == 0) {
			ev_seterr(err, EV_EDATA,
				  "type_from '%s': no %s at that path",
				  o->type_from,
				  r == 0 ? "value" : "non-empty value");
			err->column = 1;
			return EV_EDATA;
		}
	}
	for (i = 0; i < 4; i++) {
		if (paths[i] == NULL)
			continue;
		r = wrap_string(ps, paths[i], spans[i], &num);
		/* null is absent, as in the envelope, unless told otherwise */
		if (r == WRAP_NULL && !o->null_is_error)
			continue;
		/* a number with a fraction: only an epoch time */
		if (r == WRAP_FLOAT && spans[i] == &tm && o->time_in != NULL &&
		    o->time_in->kind != EV_TIMEIN_RFC3339 &&
		    o->time_in->kind != EV_TIMEIN_PATTERN) {
			tr = WRAP_FLOAT;
			continue;
		}
		if (r < 0 || r >= WRAP_NULL)
			return wrap_fail(err, r == WRAP_FLOAT ? EV_EDATA : r,
					 names[i], paths[i]);
		if (spans[i] == &tm)
			tr = 1;
	}
	if (tr != 0 && wrap_time(ps, &tm, tr, num, &f.time, err) != 0)
		return EV_EDATA;
	if (id.set && id.n == 0)
		id.set = 0;
	resolve(ps, &type, &f.type, &f.type_n);
	resolve(ps, &id, &f.id, &f.id_n);
	resolve(ps, &stream, &f.stream, &f.stream_n);
	resolve(ps, &key, &f.key, &f.key_n);
	f.data = ps->b.data.p;
	f.data_n = ps->b.data.len;
	if (ev_record_encode(&f, now, out, time, err) != 0) {
		err->column = 1;
		return err->code;
	}
	return 0;
}

int ev_parser_line(struct ev_parser *ps, const char *line, size_t len,
		   ev_time_t now, struct ev_error *err)
{
	struct ev_reclist *recs = &ps->b.recs;
	struct ev_json js;
	ev_time_t t = now;
	int r;

	ps->b.strs.len = 0;
	ps->b.data.len = 0;
	ps->b.meta.len = 0;
	ev_reclist_clear(recs);
	ev_json_init(&js, line, len);
	switch (ps->opts.format) {
	case EV_FMT_MSGPACK:
		return ev_seterr(err, EV_EUSAGE,
				 "a MessagePack stream has no "
				 "lines: read it with struct ev_input");
	case EV_FMT_WRAP:
		r = parse_wrap(ps, &js, now, &recs->out, &t, err);
		if (r == 0)
			r = ev_reclist_push(recs, t, err);
		break;
	case EV_FMT_CLOUDEVENTS:
		r = ev_ce_parse_line(&ps->b, &js, now, err);
		break;
	default:
		r = parse_envelope(ps, &js, now, &recs->out, &t, err);
		if (r == 0)
			r = ev_reclist_push(recs, t, err);
		break;
	}
	if (r != 0) {
		ev_reclist_clear(recs);
		return r;
	}
	return recs->count;
}

void ev_parser_record(const struct ev_parser *ps, int i, const uint8_t **rec,
		      size_t *n, ev_time_t *time)
{
	ev_reclist_get(&ps->b.recs, i, rec, n, time);
}
