/*
 * unpacker.c - struct ev_unpacker: a stream of MessagePack maps, one
 * event each with the keys of the JSON envelope (evpub(1) --format
 * msgpack, the output of evtail -o msgpack), into records.
 *
 * msgpack-c's streaming unpacker (msgpack_unpacker) finds the objects
 * in the stream; this module converts each map into a record, under the
 * rules of the JSON envelope: the same fields, types and messages, data
 * and meta limited to what JSON can hold, so that a log copied through
 * msgpack reads back exactly as one copied through JSON.  A stream has
 * no line ends to find the next object after a malformed one: after
 * that, nothing more is read (ev_unpacker_broken()).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "evlog_private.h"

/* the depth msgpack-c unpacks, built into the library
 * (MSGPACK_EMBED_STACK_SIZE): under EV_MAX_DEPTH */
#define MP_MAX_DEPTH 32

struct ev_unpacker {
	msgpack_unpacker mp;
	msgpack_unpacked obj;
	uint64_t next; /* input offset of the next object */
	uint64_t at;   /* offset of the object last returned or refused */
	int broken;
	struct ev_buf data, meta, strs;
	struct ev_buf out; /* the record */
	ev_time_t time;
};

struct ev_unpacker *ev_unpacker_new(void)
{
	struct ev_unpacker *u = calloc(1, sizeof(*u));

	if (u == NULL)
		return NULL;
	if (!msgpack_unpacker_init(&u->mp, MSGPACK_UNPACKER_INIT_BUFFER_SIZE)) {
		free(u);
		return NULL;
	}
	msgpack_unpacked_init(&u->obj);
	return u;
}

void ev_unpacker_free(struct ev_unpacker *u)
{
	if (u == NULL)
		return;
	msgpack_unpacked_destroy(&u->obj);
	msgpack_unpacker_destroy(&u->mp);
	ev_buf_free(&u->data);
	ev_buf_free(&u->meta);
	ev_buf_free(&u->strs);
	ev_buf_free(&u->out);
	free(u);
}

char *ev_unpacker_buffer(struct ev_unpacker *u, size_t want, size_t *room)
{
	if (!msgpack_unpacker_reserve_buffer(&u->mp, want))
		return NULL;
	*room = msgpack_unpacker_buffer_capacity(&u->mp);
	return msgpack_unpacker_buffer(&u->mp);
}

void ev_unpacker_consumed(struct ev_unpacker *u, size_t n)
{
	msgpack_unpacker_buffer_consumed(&u->mp, n);
}

uint64_t ev_unpacker_offset(const struct ev_unpacker *u)
{
	return u->at;
}

int ev_unpacker_broken(const struct ev_unpacker *u)
{
	return u->broken;
}

void ev_unpacker_record(const struct ev_unpacker *u, const uint8_t **rec,
			size_t *n, ev_time_t *time)
{
	*rec = u->out.p;
	*n = u->out.len;
	if (time != NULL)
		*time = u->time;
}

/* ------------------------------------------------------------ values */

/* the bytes of a str, bin or ext: msgpack-c may leave an empty one
 * without a pointer */
#define STR_P(o) ((o)->via.str.size > 0 ? (o)->via.str.ptr : "")
#define BIN_P(o) ((o)->via.bin.size > 0 ? (o)->via.bin.ptr : "")
#define EXT_P(o) ((o)->via.ext.size > 0 ? (o)->via.ext.ptr : "")

/*
 * A data or meta value as msgpack in the smallest form, as the JSON
 * transcoder writes it: 0, EV_EDATA with *why (a value JSON cannot
 * hold), or EV_ERR.  The depth is bounded by msgpack-c's.
 */
static int put_value(struct ev_buf *b, const msgpack_object *o,
		     const char **why)
{
	uint8_t *w;
	uint32_t i;
	int r;

	if (ev_buf_reserve(b, 16) != 0)
		return EV_ERR;
	w = b->p + b->len;
	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		*w++ = 0xc0;
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		*w++ = o->via.boolean ? 0xc3 : 0xc2;
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		w = ev_mp_uint(w, o->via.u64);
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		w = ev_mp_int(w, o->via.i64);
		break;
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (!isfinite(o->via.f64)) {
			*why = "non-finite float";
			return EV_EDATA;
		}
		/* a float32 too: JSON numbers are read back as float64 */
		w = ev_mp_double(w, o->via.f64);
		break;
	case MSGPACK_OBJECT_STR:
		if (ev_utf8_valid((const uint8_t *)STR_P(o), o->via.str.size) !=
		    o->via.str.size) {
			*why = "string is not valid UTF-8";
			return EV_EDATA;
		}
		return ev_buf_mp_str(b, STR_P(o), o->via.str.size);
	case MSGPACK_OBJECT_ARRAY:
		w = ev_mp_array_hdr(w, o->via.array.size);
		b->len = (size_t)(w - b->p);
		for (i = 0; i < o->via.array.size; i++) {
			r = put_value(b, &o->via.array.ptr[i], why);
			if (r != 0)
				return r;
		}
		return 0;
	case MSGPACK_OBJECT_MAP:
		w = ev_mp_map_hdr(w, o->via.map.size);
		b->len = (size_t)(w - b->p);
		for (i = 0; i < o->via.map.size; i++) {
			if (o->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR) {
				*why = "map key is not a string";
				return EV_EDATA;
			}
			r = put_value(b, &o->via.map.ptr[i].key, why);
			if (r == 0)
				r = put_value(b, &o->via.map.ptr[i].val, why);
			if (r != 0)
				return r;
		}
		return 0;
	case MSGPACK_OBJECT_BIN:
		*why = "binary value inside data or meta";
		return EV_EDATA;
	default:
		*why = "msgpack extension value inside data or meta";
		return EV_EDATA;
	}
	b->len = (size_t)(w - b->p);
	return 0;
}

/* ------------------------------------------------------------ events */

/* the keys of the JSON envelope, as parser.c reads them */
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
	int i;

	for (i = 0; i < F_COUNT; i++)
		if (strlen(env_names[i]) == n &&
		    memcmp(env_names[i], k, n) == 0)
			return i;
	return -1;
}

static int field_fail(struct ev_error *err, int fld, const char *what)
{
	return ev_seterr(err, EV_EDATA, "field '%s' %s", env_names[fld], what);
}

/* id, type, stream, key: a non-empty string, or nil (not for type) */
static int get_name(const msgpack_object *v, int fld, const char **p, size_t *n,
		    struct ev_error *err)
{
	if (v->type == MSGPACK_OBJECT_NIL && fld != F_TYPE)
		return 0;
	if (v->type != MSGPACK_OBJECT_STR || v->via.str.size == 0)
		return field_fail(err, fld, "must be a non-empty string");
	if (ev_utf8_valid((const uint8_t *)STR_P(v), v->via.str.size) !=
	    v->via.str.size)
		return field_fail(err, fld, "is not valid UTF-8");
	*p = v->via.str.ptr;
	*n = v->via.str.size;
	return 0;
}

/* time: the timestamp extension (any size), an RFC 3339 string, or nil */
static int get_time(const msgpack_object *v, ev_time_t *t, struct ev_error *err)
{
	struct ev_mp_item it;

	switch (v->type) {
	case MSGPACK_OBJECT_NIL:
		return 0;
	case MSGPACK_OBJECT_STR:
		if (ev_time_parse(STR_P(v), v->via.str.size, t) != 0)
			return field_fail(
				err, F_TIME,
				"is not an RFC 3339 time from " EV_TIME_RANGE);
		return 0;
	case MSGPACK_OBJECT_EXT:
		memset(&it, 0, sizeof(it));
		it.type = EV_MP_EXT;
		it.ext_type = v->via.ext.type;
		it.p = (const uint8_t *)EXT_P(v);
		it.n = v->via.ext.size;
		if (v->via.ext.type == -1 && ev_mp_time_decode(&it, t) == 0)
			return 0;
		if (v->via.ext.type == -1)
			return field_fail(
				err, F_TIME,
				"is not a timestamp from " EV_TIME_RANGE);
		/* fall through */
	default:
		return field_fail(err, F_TIME,
				  "must be a timestamp or an RFC 3339 time "
				  "string");
	}
}

/* version, schema: a positive integer, or nil */
static int get_posint(const msgpack_object *v, int fld, uint64_t *out,
		      struct ev_error *err)
{
	if (v->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (v->type != MSGPACK_OBJECT_POSITIVE_INTEGER || v->via.u64 == 0)
		return field_fail(err, fld, "must be a positive integer");
	*out = v->via.u64;
	return 0;
}

/* data (any value JSON can hold, or binary) and data_base64 */
static int get_data(struct ev_unpacker *u, const msgpack_object *v, int fld,
		    struct ev_fields *f, struct ev_error *err)
{
	const char *why = NULL;
	int r;

	u->data.len = 0;
	if (fld == F_DATA64) {
		if (v->type != MSGPACK_OBJECT_STR)
			return field_fail(err, fld, "must be a base64 string");
		if (ev_base64_decode(STR_P(v), v->via.str.size, &u->data) != 0)
			return field_fail(err, fld, "is not valid base64");
		f->data_bin = 1;
	} else if (v->type == MSGPACK_OBJECT_BIN) {
		if (ev_buf_append(&u->data, BIN_P(v), v->via.bin.size) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		f->data_bin = 1;
	} else {
		r = put_value(&u->data, v, &why);
		if (r == EV_ERR)
			return ev_seterr(err, EV_ERR, "out of memory");
		if (r != 0)
			return ev_seterr(err, EV_EDATA, "field 'data': %s",
					 why);
	}
	/* an empty binary payload is data too: never a NULL pointer */
	if (ev_buf_reserve(&u->data, 1) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	f->data = u->data.p;
	f->data_n = u->data.len;
	return 0;
}

static int get_meta(struct ev_unpacker *u, const msgpack_object *v,
		    struct ev_fields *f, struct ev_error *err)
{
	const char *why = NULL;
	int r;

	if (v->type == MSGPACK_OBJECT_NIL)
		return 0;
	if (v->type != MSGPACK_OBJECT_MAP)
		return field_fail(err, F_META, "must be a map");
	u->meta.len = 0;
	r = put_value(&u->meta, v, &why);
	if (r == EV_ERR)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (r != 0)
		return ev_seterr(err, EV_EDATA, "field 'meta': %s", why);
	f->meta = u->meta.p;
	f->meta_n = u->meta.len;
	return 0;
}

/* One field of the event map into f. */
static int get_field(struct ev_unpacker *u, int fld, const msgpack_object *v,
		     struct ev_fields *f, struct ev_error *err)
{
	switch (fld) {
	case F_ID:
		return get_name(v, fld, &f->id, &f->id_n, err);
	case F_TYPE:
		return get_name(v, fld, &f->type, &f->type_n, err);
	case F_STREAM:
		return get_name(v, fld, &f->stream, &f->stream_n, err);
	case F_KEY:
		return get_name(v, fld, &f->key, &f->key_n, err);
	case F_TIME:
		return get_time(v, &f->time, err);
	case F_VERSION:
		return get_posint(v, fld, &f->version, err);
	case F_SCHEMA:
		return get_posint(v, fld, &f->schema, err);
	case F_DATA:
	case F_DATA64:
		return get_data(u, v, fld, f, err);
	case F_META:
		return get_meta(u, v, f, err);
	default: /* offset: where it was, not where it goes */
		return 0;
	}
}

/* The event map o into u->out. */
static int convert(struct ev_unpacker *u, const msgpack_object *o,
		   ev_time_t now, struct ev_error *err)
{
	const msgpack_object_kv *kv;
	int seen[F_COUNT] = {0};
	struct ev_fields f;
	const char *s;
	uint32_t i;
	int fld, r, show;

	ev_fields_init(&f);
	if (o->type != MSGPACK_OBJECT_MAP)
		return ev_seterr(
			err, EV_EDATA,
			"expected a map: an event is a MessagePack map");
	for (i = 0; i < o->via.map.size; i++) {
		kv = &o->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR)
			return ev_seterr(err, EV_EDATA,
					 "a key of the event map is not a "
					 "string");
		fld = lookup_field(STR_P(&kv->key), kv->key.via.str.size);
		if (fld < 0 &&
		    ev_utf8_valid((const uint8_t *)STR_P(&kv->key),
				  kv->key.via.str.size) != kv->key.via.str.size)
			return ev_seterr(err, EV_EDATA,
					 "a key of the event map is not valid "
					 "UTF-8");
		if (fld < 0) {
			show = kv->key.via.str.size > 60
				       ? 60
				       : (int)kv->key.via.str.size;
			s = ev_suggest(STR_P(&kv->key), kv->key.via.str.size,
				       env_names, F_COUNT);
			if (s != NULL)
				return ev_seterr(
					err, EV_EDATA,
					"unknown field '%.*s' (did you "
					"mean '%s'?)",
					show, STR_P(&kv->key), s);
			return ev_seterr(err, EV_EDATA, "unknown field '%.*s'",
					 show, STR_P(&kv->key));
		}
		if (seen[fld])
			return ev_seterr(err, EV_EDATA, "duplicate field '%s'",
					 env_names[fld]);
		seen[fld] = 1;
		if ((fld == F_DATA && seen[F_DATA64]) ||
		    (fld == F_DATA64 && seen[F_DATA]))
			return ev_seterr(err, EV_EDATA,
					 "fields 'data' and 'data_base64' are "
					 "mutually exclusive");
		r = get_field(u, fld, &kv->val, &f, err);
		if (r != 0)
			return r;
	}
	if (f.type == NULL)
		return ev_seterr(err, EV_EDATA,
				 "missing required field 'type'");
	u->out.len = 0;
	return ev_record_encode(&f, now, &u->out, &u->time, err);
}

int ev_unpacker_next(struct ev_unpacker *u, ev_time_t now, struct ev_error *err)
{
	size_t size = 0;
	int r;

	if (u->broken)
		return ev_seterr(err, EV_EDATA,
				 "nothing can be read after a "
				 "malformed object");
	u->at = u->next;
	r = msgpack_unpacker_next_with_size(&u->mp, &u->obj, &size);
	switch (r) {
	case MSGPACK_UNPACK_SUCCESS:
		u->next += size;
		r = convert(u, &u->obj.data, now, err);
		return r == 0 ? 1 : r;
	case MSGPACK_UNPACK_CONTINUE:
		if (msgpack_unpacker_message_size(&u->mp) <= EV_MAX_LINE)
			return 0;
		u->broken = 1;
		return ev_seterr(err, EV_EDATA, "object larger than %u bytes",
				 EV_MAX_LINE);
	case MSGPACK_UNPACK_NOMEM_ERROR:
		/* msgpack-c says the same for a failed allocation */
		u->broken = 1;
		return ev_seterr(err, EV_EDATA,
				 "msgpack-c cannot unpack this object: nested "
				 "deeper than %d levels, or out of memory",
				 MP_MAX_DEPTH);
	default:
		u->broken = 1;
		return ev_seterr(err, EV_EDATA, "not valid MessagePack");
	}
}

int ev_unpacker_finish(struct ev_unpacker *u, struct ev_error *err)
{
	if (u->broken)
		return ev_seterr(err, EV_EDATA,
				 "nothing can be read after a "
				 "malformed object");
	u->at = u->next;
	if (msgpack_unpacker_message_size(&u->mp) == 0)
		return 0;
	u->broken = 1;
	return ev_seterr(err, EV_EDATA,
			 "truncated object: the input ends inside it");
}
