/*
 * builder.c - struct ev_builder: one event from parts, as evpub(1)'s
 * argument form gives them (envelope fields, data members, meta entries).
 *
 * Errors about a field's value begin with the field's name ("time: ...")
 * so that a front end can put its own spelling of it in its place.
 */
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

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
		return ev_seterr(err, EV_EUSAGE, "%s: value is not valid UTF-8",
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
		int r = ev_time_parse_user(value, ev_now(), &b->time);
		if (r == EV_EDATA)
			return ev_seterr(err, EV_EUSAGE,
					 "time: '%s' is out of range: times "
					 "run from " EV_TIME_RANGE,
					 value);
		if (r != 0)
			return ev_seterr(err, EV_EUSAGE,
					 "time: '%s' is not an RFC 3339 time",
					 value);
		return 0;
	}
	if (strcmp(field, "schema") == 0 || strcmp(field, "version") == 0) {
		for (i = 0; i < n; i++) {
			if (value[i] < '0' || value[i] > '9' || i >= 19)
				return ev_seterr(err, EV_EUSAGE,
						 "%s: '%s' is not a positive "
						 "integer",
						 field, value);
			v = v * 10 + (uint64_t)(value[i] - '0');
		}
		if (v == 0)
			return ev_seterr(err, EV_EUSAGE,
					 "%s: '%s' is not a positive integer",
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
		return ev_seterr(err, EV_EUSAGE,
				 "field name is not valid UTF-8");
	if (ev_buf_mp_str(&b->data, name, nn) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (is_json) {
		ev_json_init(&js, value, vlen);
		js.depth = 2; /* inside data, inside the record map */
		ev_json_ws(&js);
		if (ev_json_value(&js, &b->data) != 0 || ev_json_ws(&js) >= 0) {
			ev_seterr(
				err, EV_EUSAGE, "'%s:=%.*s': %s at column %zu",
				name, (int)(vlen > 60 ? 60 : vlen), value,
				js.errmsg
					? js.errmsg
					: "unexpected characters after the value",
				ev_json_column(js.start,
					       js.errp ? js.errp : js.p));
			return EV_EUSAGE;
		}
	} else {
		if (ev_utf8_valid((const uint8_t *)value, vlen) != vlen)
			return ev_seterr(err, EV_EUSAGE,
					 "value of '%s' is not valid UTF-8",
					 name);
		if (ev_buf_mp_str(&b->data, value, vlen) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
	}
	b->data_count++;
	return 0;
}

int ev_builder_arg(struct ev_builder *b, const char *arg, struct ev_error *err)
{
	const char *eq = strchr(arg, '=');
	size_t nn;
	char *name;
	int is_json, r;

	if (eq == NULL || eq == arg)
		return ev_seterr(err, EV_EUSAGE,
				 "'%s' is not name=value or name:=json", arg);
	is_json = eq[-1] == ':';
	nn = (size_t)(eq - arg) - (size_t)is_json;
	if (nn == 0)
		return ev_seterr(err, EV_EUSAGE, "'%s' has an empty name", arg);
	name = strndup(arg, nn);
	if (name == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	r = ev_builder_data(b, name, eq + 1, strlen(eq + 1), is_json, err);
	free(name);
	return r;
}

int ev_builder_meta(struct ev_builder *b, const char *name, const char *value,
		    struct ev_error *err)
{
	size_t nn = strlen(name), vn = strlen(value);

	if (ev_utf8_valid((const uint8_t *)name, nn) != nn ||
	    ev_utf8_valid((const uint8_t *)value, vn) != vn)
		return ev_seterr(err, EV_EUSAGE, "meta: not valid UTF-8");
	if (ev_buf_mp_str(&b->meta, name, nn) != 0 ||
	    ev_buf_mp_str(&b->meta, value, vn) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	b->meta_count++;
	return 0;
}

int ev_builder_meta_arg(struct ev_builder *b, const char *arg,
			struct ev_error *err)
{
	const char *eq = strchr(arg, '=');
	char *name;
	int r;

	if (eq == NULL)
		return ev_seterr(err, EV_EUSAGE,
				 "meta: expected NAME=VALUE, got '%s'", arg);
	name = strndup(arg, (size_t)(eq - arg));
	if (name == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	r = ev_builder_meta(b, name, eq + 1, err);
	free(name);
	return r;
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
