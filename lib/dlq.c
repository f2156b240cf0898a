/*
 * dlq.c - dead letters: a dead-letter log is an ordinary evlog log whose
 * events are DeadLetter events and the append-only records that resolve
 * or discard them (evdlq(1)).  This module holds the rules of dead
 * letters: how they are encoded and named, their rounds, which streams
 * they park, the order of their retries, the lock of evdlq's writers,
 * reading a dead-letter log back into the state of each letter, and
 * writing the letters of events a scan could not upcast.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "evlog_private.h"

/* JSON text of a string, appended to b. */
static int jstr(struct ev_buf *b, const char *s)
{
	return ev_json_put_str(b, s, strlen(s));
}

static int jkey(struct ev_buf *b, const char *k)
{
	return ev_buf_putc(b, b->len > 1 ? ',' : ' ') || jstr(b, k) ||
	       ev_buf_putc(b, ':');
}

static int jtime(struct ev_buf *b, ev_time_t t)
{
	char s[40];

	if (t == EV_TIME_NONE)
		return ev_buf_puts(b, "null");
	ev_time_format(t, s);
	return jstr(b, s);
}

static int jnum(struct ev_buf *b, uint64_t v)
{
	char s[24];

	snprintf(s, sizeof(s), "%llu", (unsigned long long)v);
	return ev_buf_puts(b, s);
}

/* A handler's standard error as a JSON string: as text, or, when it is not
 * UTF-8, "base64:" and its base64 encoding, so that no byte is lost.  The
 * DeadLetter and its DeadLetterRetryFailed records keep it alike. */
static int jstderr(struct ev_buf *b, const char *s, size_t n)
{
	struct ev_buf b64 = {0};
	int r;

	if (ev_json_put_str(b, s, n) == 0)
		return 0;
	r = ev_base64_encode(&b64, (const uint8_t *)s, n);
	if (r == 0)
		r = ev_buf_puts(b, "\"base64:");
	if (r == 0)
		r = ev_buf_append(b, b64.p, b64.len);
	if (r == 0)
		r = ev_buf_putc(b, '"');
	ev_buf_free(&b64);
	return r;
}

/* Encode a record of type from JSON data text; id as given. */
static int encode(struct ev_buf *out, const char *type, const char *id,
		  const struct ev_buf *json, ev_time_t now, ev_time_t *time,
		  struct ev_error *err)
{
	struct ev_fields f;
	struct ev_json js;
	struct ev_buf data = {0};
	int r;

	ev_json_init(&js, (const char *)json->p, json->len);
	/* the parked event sits EV_LETTER_DEPTH levels down: any event
	 * taken in (EV_MAX_DEPTH) fits in its letter */
	js.depth = 1 - EV_LETTER_DEPTH;
	if (ev_json_value(&js, &data) != 0) {
		ev_buf_free(&data);
		return ev_seterr(err, EV_ERR,
				 "internal error: bad letter JSON: %s",
				 js.errmsg ? js.errmsg : "?");
	}
	ev_fields_init(&f);
	f.type = type;
	f.type_n = strlen(type);
	f.id = id;
	f.id_n = id ? strlen(id) : 0;
	f.data = data.p;
	f.data_n = data.len;
	r = ev_record_encode(&f, now, out, time, err);
	ev_buf_free(&data);
	return r;
}

static int errors_json(struct ev_buf *j, const struct ev_jschema_error *v,
		       size_t n);

/* A schema letter's fields after handler: what failed, where it was
 * read, what it was validated against, and the errors. */
static void schema_fields(struct ev_buf *j, const struct ev_letter_ctx *c)
{
	size_t i;

	jkey(j, "stage");
	jstr(j, "schema");
	jkey(j, "source");
	jstr(j, c->input != NULL ? c->input : "");
	jkey(j, "schemas");
	jstr(j, c->schemas);
	jkey(j, "requireSchemas");
	ev_buf_puts(j, c->require_schemas ? "true" : "false");
	jkey(j, "formats");
	jstr(j, c->formats_assert ? "assert" : "annotate");
	jkey(j, "refDirs");
	ev_buf_putc(j, '[');
	for (i = 0; c->ref_dirs != NULL && c->ref_dirs[i] != NULL; i++) {
		if (i > 0)
			ev_buf_putc(j, ',');
		jstr(j, c->ref_dirs[i]);
	}
	ev_buf_putc(j, ']');
	jkey(j, "errors");
	errors_json(j, c->schema_errors, c->nschema_errors);
}

static int errors_json(struct ev_buf *j, const struct ev_jschema_error *v,
		       size_t n)
{
	size_t i;
	int r = ev_buf_putc(j, '[');

	for (i = 0; i < n && r == 0; i++) {
		const struct ev_jschema_error *e = &v[i];
		r = ev_buf_puts(j, i > 0 ? ",{\"instancePath\":"
					 : "{\"instancePath\":") ||
		    jstr(j, e->instance_path ? e->instance_path : "") ||
		    ev_buf_puts(j, ",\"schemaPath\":") ||
		    jstr(j, e->schema_path ? e->schema_path : "") ||
		    ev_buf_puts(j, ",\"keyword\":") ||
		    jstr(j, e->keyword ? e->keyword : "") ||
		    ev_buf_puts(j, ",\"message\":") ||
		    jstr(j, e->message ? e->message : "") ||
		    ev_buf_putc(j, '}');
	}
	return r || ev_buf_putc(j, ']') ? EV_ERR : 0;
}

ev_time_t ev_dlq_source_timestamp(const struct ev_letter_ctx *c)
{
	if (c->has_source_partition && c->source_timestamp >= 0)
		return (ev_time_t)c->source_timestamp * 1000000;
	return c->source->append_time;
}

const char *ev_dlq_source_timestamp_type(const struct ev_letter_ctx *c)
{
	if (!c->has_source_partition) /* a local log's: its append time */
		return "LogAppendTime";
	return c->source_timestamp_type == EV_KAFKA_TS_LOG_APPEND
		       ? "LogAppendTime"
	       : c->source_timestamp_type == EV_KAFKA_TS_CREATE
		       ? "CreateTime"
		       : "NoTimestampType";
}

int ev_dlq_letter_encode(struct ev_buf *out, const struct ev_letter_ctx *c,
			 ev_time_t now, ev_time_t *time, struct ev_error *err)
{
	struct ev_buf j = {0}, orig = {0};
	char id[EV_GROUP_NAME_MAX + 96], tmp[160] = "";
	char *sid = NULL;
	int handler_ran, r;

	if (c->schemas != NULL) {
		/* never in a log: named by its own id, not an offset */
		sid = ev_dlq_schema_letter_id(c->source_log_id, c->source->id.p,
					      c->source->id.n, c->schema_round);
		if (sid == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
	} else {
		ev_dlq_letter_id(id, sizeof(id), c->group, c->source_log_id,
				 c->source->offset, c->round);
	}
	r = ev_event_to_json(c->source, &orig, EV_JSON_NO_OFFSET, err);
	if (r != 0)
		goto out;
	ev_buf_putc(&j, '{');
	jkey(&j, "original");
	ev_buf_append(&j, orig.p, orig.len);
	/* the context, named after Spring Kafka's kafka_dlt-* and Kafka
	 * Connect's __connect.errors.* headers (evdlq(1)) */
	jkey(&j, "originalTopic");
	jstr(&j, c->source_log);
	jkey(&j, "originalLogId");
	jstr(&j, c->source_log_id);
	jkey(&j, "originalPartition");
	jnum(&j, c->has_source_partition && c->source_partition > 0
			 ? (uint64_t)c->source_partition
			 : 0);
	jkey(&j, "originalOffset");
	if (c->schemas != NULL)
		ev_buf_puts(&j, "null");
	else
		jnum(&j, c->source->offset);
	jkey(&j, "originalTimestamp");
	jtime(&j,
	      c->schemas != NULL ? EV_TIME_NONE : ev_dlq_source_timestamp(c));
	jkey(&j, "originalTimestampType");
	jstr(&j, ev_dlq_source_timestamp_type(c));
	jkey(&j, "originalConsumerGroup");
	jstr(&j, c->schemas != NULL ? "" : c->group);
	jkey(&j, "exceptionFqcn");
	if (c->schemas != NULL) {
		jstr(&j, "evlog.SchemaInvalid");
	} else if (c->projection != NULL) {
		jstr(&j, "evlog.ProjectionFailed");
	} else if (c->upcast_error != NULL) {
		jstr(&j, "evlog.UpcastFailed");
	} else if (c->parked_behind_letter != NULL) {
		jstr(&j, "evlog.Parked");
		snprintf(tmp, sizeof(tmp),
			 "parked behind the dead letter of offset %llu of its "
			 "stream",
			 (unsigned long long)c->parked_behind_offset);
	} else if (c->done->timed_out) {
		jstr(&j, "evlog.HandlerTimeout");
		snprintf(tmp, sizeof(tmp), "timed out after %.3fs",
			 c->done->seconds);
	} else if (c->done->signal) {
		jstr(&j, "evlog.HandlerSignal");
		snprintf(tmp, sizeof(tmp), "killed by signal %d (%s)",
			 c->done->signal, strsignal(c->done->signal));
	} else {
		jstr(&j, "evlog.HandlerExit");
		snprintf(tmp, sizeof(tmp), "exit status %d",
			 c->done->exit_status);
	}
	jkey(&j, "exceptionMessage");
	jstr(&j, c->schemas != NULL	   ? c->schema_message
		 : c->upcast_error != NULL ? c->upcast_error
					   : tmp);
	jkey(&j, "exceptionStacktrace");
	if (c->upcast_error != NULL || c->schemas != NULL)
		jstr(&j, "");
	else
		jstderr(&j, c->done->stderr_tail, c->done->stderr_len);
	jkey(&j, "handler");
	if (c->projection != NULL) {
		/* the projection in place of a handler command */
		char hb[EV_GROUP_NAME_MAX + 16];
		snprintf(hb, sizeof(hb), "projection %s", c->projection);
		jstr(&j, hb);
	} else if (c->handler != NULL) {
		jstr(&j, c->handler);
	} else {
		ev_buf_puts(&j, "null");
	}
	if (c->projection != NULL) {
		jkey(&j, "projection");
		jstr(&j, c->projection);
	}
	if (c->schemas != NULL)
		schema_fields(&j, c);
	jkey(&j, "attempts");
	jnum(&j, (uint64_t)c->attempts);
	jkey(&j, "firstFailure");
	jtime(&j, c->first_failure);
	jkey(&j, "lastFailure");
	jtime(&j, c->last_failure);
	handler_ran = c->upcast_error == NULL &&
		      c->parked_behind_letter == NULL && c->schemas == NULL;
	jkey(&j, "exitStatus");
	if (handler_ran && !c->done->timed_out && !c->done->signal)
		jnum(&j, (uint64_t)c->done->exit_status);
	else
		ev_buf_puts(&j, "null");
	jkey(&j, "signal");
	if (handler_ran && c->done->signal)
		jnum(&j, (uint64_t)c->done->signal);
	else
		ev_buf_puts(&j, "null");
	jkey(&j, "timedOut");
	ev_buf_puts(&j, handler_ran && c->done->timed_out ? "true" : "false");
	jkey(&j, "round");
	jnum(&j, c->schemas != NULL ? c->schema_round : c->round);
	if (c->parked_behind_letter != NULL) {
		jkey(&j, "parkedBehind");
		jstr(&j, c->parked_behind_letter);
		jkey(&j, "parkedBehindOffset");
		jnum(&j, c->parked_behind_offset);
	}
	ev_buf_putc(&j, '}');
	r = encode(out, "DeadLetter", sid != NULL ? sid : id, &j, now, time,
		   err);
out:
	free(sid);
	ev_buf_free(&j);
	ev_buf_free(&orig);
	return r;
}

int ev_dlq_resolution_encode(struct ev_buf *out, int kind,
			     const struct ev_letter *l, const char *handler,
			     unsigned attempts, const char *reason,
			     const struct ev_done *d, ev_time_t now,
			     ev_time_t *time, struct ev_error *err)
{
	static const char *const types[] = {"DeadLetterResolved",
					    "DeadLetterRetryFailed",
					    "DeadLetterDiscarded"};
	struct ev_buf j = {0};
	char tmp[160];
	int r;

	ev_buf_putc(&j, '{');
	jkey(&j, "letter");
	jnum(&j, l->offset);
	jkey(&j, "letterId");
	jstr(&j, l->id);
	if (handler != NULL) {
		jkey(&j, "handler");
		jstr(&j, handler);
		jkey(&j, "attempts");
		jnum(&j, attempts);
	}
	if (reason != NULL) {
		jkey(&j, "reason");
		jstr(&j, reason);
	}
	if (kind == EV_RESOLUTION_RETRY_FAILED && d != NULL) {
		if (d->timed_out)
			snprintf(tmp, sizeof(tmp), "timed out after %.3fs",
				 d->seconds);
		else if (d->signal)
			snprintf(tmp, sizeof(tmp), "killed by signal %d (%s)",
				 d->signal, strsignal(d->signal));
		else
			snprintf(tmp, sizeof(tmp), "exit status %d",
				 d->exit_status);
		jkey(&j, "exceptionMessage");
		jstr(&j, tmp);
		jkey(&j, "exceptionStacktrace");
		jstderr(&j, d->stderr_tail, d->stderr_len);
	}
	ev_buf_putc(&j, '}');
	r = encode(out, types[kind], NULL, &j, now, time, err);
	ev_buf_free(&j);
	return r;
}

/* ------------------------------------------------------------ reading */

/* The string at path in msgpack data, as a new C string (or NULL). */
static char *mp_strdup(const uint8_t *data, size_t n, const char *path)
{
	const uint8_t *v;
	size_t vn;
	struct ev_mp_item it;

	if (data == NULL || ev_mp_path(data, n, path, &v, &vn) != 1 ||
	    ev_mp_read(&v, v + vn, &it) != 0 || it.type != EV_MP_STR)
		return NULL;
	return strndup((const char *)it.p, it.n);
}

static uint64_t mp_u64(const uint8_t *data, size_t n, const char *path,
		       uint64_t dflt)
{
	const uint8_t *v;
	size_t vn;
	struct ev_mp_item it;

	if (data == NULL || ev_mp_path(data, n, path, &v, &vn) != 1 ||
	    ev_mp_read(&v, v + vn, &it) != 0 || it.type != EV_MP_UINT)
		return dflt;
	return it.v.u;
}

static ev_time_t mp_time(const uint8_t *data, size_t n, const char *path)
{
	char *s = mp_strdup(data, n, path);
	ev_time_t t = EV_TIME_NONE;

	if (s != NULL && ev_time_parse(s, strlen(s), &t) != 0)
		t = EV_TIME_NONE;
	free(s);
	return t;
}

static void strv_free(char **sv);

void ev_letters_free(struct ev_letter *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++) {
		free(v[i].id);
		free(v[i].group);
		free(v[i].source_log);
		free(v[i].source_log_id);
		free(v[i].orig_id);
		free(v[i].orig_type);
		free(v[i].orig_stream);
		free(v[i].error);
		free(v[i].stderr_tail);
		free(v[i].handler);
		free(v[i].reason);
		free(v[i].original_json);
		free(v[i].input);
		free(v[i].schemas);
		strv_free(v[i].ref_dirs);
	}
	free(v);
}

/*
 * The original event of a letter as evtail --exec gives it to a handler:
 * the envelope JSON with the offset in the source log first (after the
 * partition, from a Kafka log).  The letter
 * keeps the envelope without it, and its offset as originalOffset.
 * Returns a new string (free() it), or NULL.
 */
static char *original_json(const uint8_t *orig, size_t n,
			   const struct ev_letter *l, struct ev_error *err)
{
	struct ev_buf env = {0}, js = {0};
	uint64_t offset = l->source_offset;
	char *s = NULL;

	/* a Kafka log's: "partition" first, as evtail --exec gives it */
	if ((l->has_source_partition ? ev_buf_printf(&js, "{\"partition\":%d,",
						     (int)l->source_partition)
				     : ev_buf_putc(&js, '{')) == 0 &&
	    ev_msgpack_to_json(orig, n, &env, err) == 0 && env.len > 2 &&
	    env.p[0] == '{' && ev_buf_puts(&js, "\"offset\":") == 0 &&
	    jnum(&js, offset) == 0 && ev_buf_putc(&js, ',') == 0 &&
	    ev_buf_append(&js, env.p + 1, env.len - 1) == 0 &&
	    ev_buf_putc(&js, '\0') == 0)
		s = strdup((const char *)js.p);
	ev_buf_free(&env);
	ev_buf_free(&js);
	return s;
}

/* A schema letter's original event: its envelope JSON as given to
 * evpub, with no offset (it never had one).  A new string, or NULL. */
static char *envelope_json(const uint8_t *orig, size_t n, struct ev_error *err)
{
	struct ev_buf env = {0};
	char *s = NULL;

	if (ev_msgpack_to_json(orig, n, &env, err) == 0 && env.len > 2 &&
	    env.p[0] == '{')
		s = strndup((const char *)env.p, env.len);
	ev_buf_free(&env);
	return s;
}

/* What failed, by a letter's exceptionFqcn (NULL: none, an old letter). */
static const char *stage_of(const char *fqcn)
{
	if (fqcn == NULL)
		return "handler";
	if (strcmp(fqcn, "evlog.SchemaInvalid") == 0)
		return "schema";
	if (strcmp(fqcn, "evlog.ProjectionFailed") == 0)
		return "projection";
	if (strcmp(fqcn, "evlog.UpcastFailed") == 0)
		return "upcast";
	if (strcmp(fqcn, "evlog.Parked") == 0)
		return "parked";
	return "handler";
}

static void strv_free(char **sv)
{
	size_t i;

	for (i = 0; sv != NULL && sv[i] != NULL; i++)
		free(sv[i]);
	free(sv);
}

/* The array of strings at path in msgpack data as a NULL-terminated
 * vector (NULL when absent or empty): 0, or EV_ERR. */
static int mp_strv(const uint8_t *data, size_t n, const char *path, char ***out)
{
	const uint8_t *v, *end;
	size_t vn, i;
	struct ev_mp_item it;
	char **sv;

	*out = NULL;
	if (ev_mp_path(data, n, path, &v, &vn) != 1)
		return 0;
	end = v + vn;
	if (ev_mp_read(&v, end, &it) != 0 || it.type != EV_MP_ARRAY ||
	    it.n == 0 || it.n > 1024)
		return 0;
	if ((sv = calloc(it.n + 1, sizeof(*sv))) == NULL)
		return EV_ERR;
	for (i = 0; i < it.n; i++) {
		struct ev_mp_item e;
		if (ev_mp_read(&v, end, &e) != 0 || e.type != EV_MP_STR)
			break;
		if ((sv[i] = strndup((const char *)e.p, e.n)) == NULL) {
			strv_free(sv);
			return EV_ERR;
		}
	}
	*out = sv;
	return 0;
}

/* The fields of a schema letter (evpub --dlq). */
static int schema_letter(struct ev_letter *l, const uint8_t *data, size_t n,
			 struct ev_error *err)
{
	char *f = mp_strdup(data, n, "formats");
	const uint8_t *v;
	size_t vn;
	struct ev_mp_item it;

	l->no_source_offset = 1;
	l->input = mp_strdup(data, n, "source");
	l->schemas = mp_strdup(data, n, "schemas");
	l->formats_assert = f != NULL && strcmp(f, "assert") == 0;
	free(f);
	l->require_schemas =
		ev_mp_path(data, n, "requireSchemas", &v, &vn) == 1 &&
		ev_mp_read(&v, v + vn, &it) == 0 && it.type == EV_MP_BOOL &&
		it.v.b;
	if (mp_strv(data, n, "refDirs", &l->ref_dirs) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	return 0;
}

static struct ev_letter *find(struct ev_letter *v, size_t n, uint64_t off)
{
	size_t lo = 0, hi = n;

	/* letters are in offset order */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].offset < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo].offset == off ? &v[lo] : NULL;
}

int ev_letters_add(struct ev_letters *a, const struct ev_event *ev,
		   uint64_t offset, struct ev_error *err)
{
	struct ev_letter *nv, *l;
	int r = 0;

	if (ev->data_is_binary)
		return 0;
#define IS(s) \
	(ev->type.n == sizeof(s) - 1 && memcmp(ev->type.p, s, ev->type.n) == 0)
	if (IS("DeadLetter")) {
		const uint8_t *o;
		size_t on;
		/* letters are kept in offset order (find()) */
		if (a->n > 0 && a->v[a->n - 1].offset >= offset)
			return 0;
		if (a->n == a->cap) {
			size_t cap = a->cap ? 2 * a->cap : 64;
			nv = realloc(a->v, cap * sizeof(*nv));
			if (nv == NULL)
				return ev_seterr(err, EV_ERR, "out of memory");
			a->v = nv;
			a->cap = cap;
		}
		l = &a->v[a->n++];
		memset(l, 0, sizeof(*l));
		l->offset = offset;
		l->time = ev->time;
		l->id = strndup(ev->id.p, ev->id.n);
		l->group = mp_strdup(ev->data, ev->data_len,
				     "originalConsumerGroup");
		l->source_log =
			mp_strdup(ev->data, ev->data_len, "originalTopic");
		l->source_log_id =
			mp_strdup(ev->data, ev->data_len, "originalLogId");
		l->source_offset =
			mp_u64(ev->data, ev->data_len, "originalOffset", 0);
		/* a Kafka log's letter (originalTopic its kafka:// address)
		 * names the partition; a local log's 0 is none */
		if (l->source_log != NULL &&
		    strncmp(l->source_log, "kafka://", 8) == 0) {
			l->has_source_partition = 1;
			l->source_partition =
				(int32_t)mp_u64(ev->data, ev->data_len,
						"originalPartition", 0);
		}
		l->orig_id = mp_strdup(ev->data, ev->data_len, "original.id");
		l->orig_type =
			mp_strdup(ev->data, ev->data_len, "original.type");
		l->orig_stream =
			mp_strdup(ev->data, ev->data_len, "original.stream");
		l->error =
			mp_strdup(ev->data, ev->data_len, "exceptionMessage");
		l->stderr_tail = mp_strdup(ev->data, ev->data_len,
					   "exceptionStacktrace");
		l->handler = mp_strdup(ev->data, ev->data_len, "handler");
		{
			/* a projection's letter names no command */
			char *fq = mp_strdup(ev->data, ev->data_len,
					     "exceptionFqcn");
			l->stage = stage_of(fq);
			if (fq != NULL &&
			    strcmp(fq, "evlog.ProjectionFailed") == 0) {
				free(l->handler);
				l->handler = NULL;
			}
			free(fq);
		}
		if (strcmp(l->stage, "schema") == 0 &&
		    (r = schema_letter(l, ev->data, ev->data_len, err)) != 0)
			return r;
		l->attempts = mp_u64(ev->data, ev->data_len, "attempts", 0);
		l->round = mp_u64(ev->data, ev->data_len, "round", 1);
		l->first_failure =
			mp_time(ev->data, ev->data_len, "firstFailure");
		l->last_failure =
			mp_time(ev->data, ev->data_len, "lastFailure");
		{
			char *pk = mp_strdup(ev->data, ev->data_len,
					     "parkedBehind");
			l->parked = pk != NULL;
			free(pk);
		}
		l->state = EV_LETTER_OPEN;
		l->state_time = EV_TIME_NONE;
		if (ev_mp_path(ev->data, ev->data_len, "original", &o, &on) ==
		    1)
			l->original_json =
				l->no_source_offset
					? envelope_json(o, on, err)
					: original_json(o, on, l, err);
		if (l->id == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		/* one bad letter must not stop the whole DLQ: it is kept,
		 * marked, so that it can be reported and purged, and no one
		 * else looks at it */
		if (l->original_json == NULL || l->orig_type == NULL ||
		    l->group == NULL || l->source_log_id == NULL)
			l->malformed = "it lacks its original event or "
				       "context";
	} else if (IS("DeadLetterResolved") || IS("DeadLetterDiscarded") ||
		   IS("DeadLetterRetryFailed")) {
		uint64_t at =
			mp_u64(ev->data, ev->data_len, "letter", UINT64_MAX);
		l = find(a->v, a->n, at);
		if (l == NULL || at >= offset)
			return 0; /* names nothing we know: ignored */
		if (IS("DeadLetterRetryFailed")) {
			l->attempts +=
				mp_u64(ev->data, ev->data_len, "attempts", 0);
			l->retries_failed++;
			free(l->error);
			l->error = mp_strdup(ev->data, ev->data_len,
					     "exceptionMessage");
			free(l->stderr_tail);
			l->stderr_tail = mp_strdup(ev->data, ev->data_len,
						   "exceptionStacktrace");
			l->last_failure = ev->time;
		} else if (l->state == EV_LETTER_OPEN) {
			l->state = IS("DeadLetterResolved")
					   ? EV_LETTER_RESOLVED
					   : EV_LETTER_DISCARDED;
			l->state_time = ev->time;
			l->reason = mp_strdup(ev->data, ev->data_len, "reason");
			if (l->state == EV_LETTER_RESOLVED)
				l->attempts += mp_u64(ev->data, ev->data_len,
						      "attempts", 0);
		}
	}
#undef IS
	return 0;
}

void ev_letters_clear(struct ev_letters *a)
{
	ev_letters_free(a->v, a->n);
	memset(a, 0, sizeof(*a));
}

int ev_dlq_scan(struct ev_log *dlq, struct ev_letter **out, size_t *count,
		struct ev_error *err)
{
	struct ev_reader *rd;
	struct ev_rec rec;
	struct ev_event ev;
	struct ev_letters a = {0};
	int r;

	*out = NULL;
	*count = 0;
	r = ev_reader_open(&rd, dlq, err);
	if (r != 0)
		return r;
	while ((r = ev_reader_next(rd, &rec, err)) == 1) {
		r = ev_event_decode(rec.p, rec.n, &ev, err);
		if (r != 0)
			break;
		ev.offset = rec.offset;
		if ((r = ev_letters_add(&a, &ev, rec.offset, err)) != 0)
			break;
	}
	ev_reader_free(rd);
	if (r < 0) {
		ev_letters_clear(&a);
		return r;
	}
	*out = a.v;
	*count = a.n;
	return 0;
}

int ev_dlq_record(struct ev_writer *w, int kind, const struct ev_letter *l,
		  const char *handler, unsigned attempts, const char *reason,
		  const struct ev_done *d, struct ev_error *err)
{
	struct ev_buf rec = {0};
	ev_time_t t;
	int r;

	r = ev_dlq_resolution_encode(&rec, kind, l, handler, attempts, reason,
				     d, ev_now(), &t, err);
	if (r == 0)
		r = ev_writer_add(w, rec.p, rec.len, t, err);
	if (r == 0)
		r = ev_writer_flush(w, err); /* on record before we go on */
	ev_buf_free(&rec);
	return r;
}

/* ------------------------------------------------------------ rules */

void ev_dlq_letter_id(char *out, size_t n, const char *group,
		      const char *source_log_id, uint64_t offset,
		      uint64_t round)
{
	/* the same event dead-lettered again gets the next round, so a
	 * writer deduplicating ids never drops it */
	snprintf(out, n, "deadletter:%s:%s:%llu:%llu", group, source_log_id,
		 (unsigned long long)offset, (unsigned long long)round);
}

uint64_t ev_dlq_next_round(const struct ev_letter *v, size_t n,
			   const char *group, const char *source_log_id,
			   uint64_t offset)
{
	uint64_t round = 1;
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].malformed == NULL && !v[i].no_source_offset &&
		    v[i].source_offset == offset &&
		    strcmp(v[i].group, group) == 0 &&
		    strcmp(v[i].source_log_id, source_log_id) == 0 &&
		    v[i].round >= round)
			round = v[i].round + 1;
	return round;
}

char *ev_dlq_schema_letter_id(const char *log_id, const char *id, size_t id_n,
			      uint64_t round)
{
	struct ev_buf b = {0};
	char *s = NULL;

	/* the event's id, not an offset: it never had one */
	if (ev_buf_printf(&b, "deadletter:schema:%s:", log_id) == 0 &&
	    ev_buf_append(&b, id, id_n) == 0 &&
	    ev_buf_printf(&b, ":%llu", (unsigned long long)round) == 0)
		s = strndup((const char *)b.p, b.len);
	ev_buf_free(&b);
	return s;
}

uint64_t ev_dlq_schema_next_round(const struct ev_letter *v, size_t n,
				  const char *log_id, const char *id)
{
	uint64_t round = 1;
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].malformed == NULL && v[i].stage != NULL &&
		    strcmp(v[i].stage, "schema") == 0 &&
		    strcmp(v[i].source_log_id, log_id) == 0 &&
		    v[i].orig_id != NULL && strcmp(v[i].orig_id, id) == 0 &&
		    v[i].round >= round)
			round = v[i].round + 1;
	return round;
}

int ev_dlq_schema_record(struct ev_writer *w, int kind,
			 const struct ev_letter *l, uint64_t offset,
			 int duplicate, const char *schemas,
			 const char *message,
			 const struct ev_jschema_error *errs, size_t nerrs,
			 struct ev_error *err)
{
	struct ev_buf j = {0}, rec = {0};
	ev_time_t t;
	int r;

	ev_buf_putc(&j, '{');
	jkey(&j, "letter");
	jnum(&j, l->offset);
	jkey(&j, "letterId");
	jstr(&j, l->id);
	jkey(&j, "attempts");
	ev_buf_puts(&j, "1");
	jkey(&j, "schemas");
	jstr(&j, schemas);
	if (kind == EV_RESOLUTION_RESOLVED) {
		jkey(&j, "offset");
		jnum(&j, offset);
		jkey(&j, "duplicate");
		ev_buf_puts(&j, duplicate ? "true" : "false");
	} else {
		jkey(&j, "exceptionMessage");
		jstr(&j, message);
		jkey(&j, "exceptionStacktrace");
		jstr(&j, "");
		jkey(&j, "errors");
		errors_json(&j, errs, nerrs);
	}
	ev_buf_putc(&j, '}');
	r = encode(&rec,
		   kind == EV_RESOLUTION_RESOLVED ? "DeadLetterResolved"
						  : "DeadLetterRetryFailed",
		   NULL, &j, ev_now(), &t, err);
	if (r == 0)
		r = ev_writer_add(w, rec.p, rec.len, t, err);
	if (r == 0)
		r = ev_writer_flush(w, err);
	ev_buf_free(&j);
	ev_buf_free(&rec);
	return r;
}

int ev_letter_parks(const struct ev_letter *l, const char *group,
		    const char *source_log_id)
{
	return l->state == EV_LETTER_OPEN && l->malformed == NULL &&
	       l->orig_stream != NULL && strcmp(l->group, group) == 0 &&
	       strcmp(l->source_log_id, source_log_id) == 0;
}

int ev_dlq_open(struct ev_log **out, const char *path, struct ev_log *source,
		struct ev_error *err)
{
	struct ev_log_config cfg;
	int r;

	*out = NULL;
	ev_log_config_init(&cfg);
	cfg.dead_letters = 1;
	r = ev_log_open_or_create(out, path, &cfg, err);
	if (r != 0)
		return r;
	if (source != NULL && strcmp(ev_log_id(*out), ev_log_id(source)) == 0) {
		ev_log_close(*out);
		*out = NULL;
		return ev_seterr(err, EV_EUSAGE, "'%s' is the log being read",
				 path);
	}
	return 0;
}

int ev_dlq_lock(struct ev_log *dlq, int *fd, struct ev_error *err)
{
	char lp[4096];

	/* one retry or purge at a time: they decide from the letters' state
	 * as they read it */
	snprintf(lp, sizeof(lp), "%s/evdlq.lock", ev_log_path(dlq));
	*fd = ev_openat(AT_FDCWD, lp, O_RDWR | O_CREAT, 0644);
	if (*fd < 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot open '%s'",
				       lp);
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
		close(*fd);
		*fd = -1;
		return ev_seterr(err, EV_EAGAIN,
				 "another retry or purge is running on '%s'",
				 ev_log_path(dlq));
	}
	return 0;
}

void ev_dlq_unlock(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* Order indexes of letters v by stream, group and source log, then
 * offset. */
static int stream_cmp(const void *a, const void *b, void *v)
{
	const struct ev_letter *lv = v;
	const struct ev_letter *x = &lv[*(const size_t *)a];
	const struct ev_letter *y = &lv[*(const size_t *)b];
	int c;

	if ((c = strcmp(x->orig_stream, y->orig_stream)) != 0 ||
	    (c = strcmp(x->group, y->group)) != 0 ||
	    (c = strcmp(x->source_log_id, y->source_log_id)) != 0)
		return c;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

int ev_dlq_stream_prev(const struct ev_letter *v, size_t n, size_t *prev)
{
	size_t *idx = malloc((n ? n : 1) * sizeof(*idx)), m = 0, i;

	if (idx == NULL)
		return EV_ERR;
	for (i = 0; i < n; i++) {
		prev[i] = n;
		if (v[i].state == EV_LETTER_OPEN && v[i].orig_stream != NULL)
			idx[m++] = i;
	}
	qsort_r(idx, m, sizeof(*idx), stream_cmp, (void *)v);
	for (i = 1; i < m; i++) {
		const struct ev_letter *x = &v[idx[i - 1]], *y = &v[idx[i]];
		if (strcmp(x->orig_stream, y->orig_stream) == 0 &&
		    strcmp(x->group, y->group) == 0 &&
		    strcmp(x->source_log_id, y->source_log_id) == 0)
			prev[idx[i]] = idx[i - 1];
	}
	free(idx);
	return 0;
}

/* ------------------------------------------------------------ upcasting */

struct ev_upcast_dlq {
	struct ev_log *dlq;
	struct ev_writer *w;
	/* or a sink of letters (a dead-letter topic), named sink_name */
	ev_letter_sink_fn sink;
	void *sink_ctx;
	char *sink_name;
	char *source_log, *source_log_id, *group;
	const char *projection;
	struct ev_letter *letters; /* those there before: for the rounds */
	size_t nletters;
	uint64_t written;
};

int ev_upcast_dlq_open(struct ev_upcast_dlq **out, struct ev_log *dlq,
		       const char *source_log, const char *source_log_id,
		       const char *group, struct ev_error *err)
{
	struct ev_upcast_dlq *d;
	struct ev_writer_opts wo;
	int r;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	d->dlq = dlq;
	d->source_log = strdup(source_log);
	d->source_log_id = strdup(source_log_id);
	d->group = strdup(group != NULL ? group : "");
	if (d->source_log == NULL || d->source_log_id == NULL ||
	    d->group == NULL) {
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	if ((r = ev_dlq_scan(dlq, &d->letters, &d->nletters, err)) != 0)
		goto fail;
	memset(&wo, 0, sizeof(wo));
	wo.sync = EV_SYNC_BATCH;
	wo.sync_set = 1;
	if ((r = ev_writer_open(&d->w, dlq, &wo, err)) != 0)
		goto fail;
	*out = d;
	return 0;
fail:
	ev_upcast_dlq_close(d, NULL);
	return r;
}

int ev_upcast_dlq_open_sink(struct ev_upcast_dlq **out, ev_letter_sink_fn sink,
			    void *sink_ctx, const char *sink_name,
			    const char *source_log, const char *source_log_id,
			    const char *group, struct ev_error *err)
{
	struct ev_upcast_dlq *d;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	d->sink = sink;
	d->sink_ctx = sink_ctx;
	d->sink_name = strdup(sink_name);
	d->source_log = strdup(source_log);
	d->source_log_id = strdup(source_log_id);
	d->group = strdup(group != NULL ? group : "");
	if (d->sink_name == NULL || d->source_log == NULL ||
	    d->source_log_id == NULL || d->group == NULL) {
		ev_upcast_dlq_close(d, NULL);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	*out = d; /* the sink knows its letters' rounds */
	return 0;
}

int ev_upcast_dlq_letter(void *ctx, const struct ev_rec *rec,
			 const struct ev_error *why, struct ev_error *err)
{
	struct ev_upcast_dlq *d = ctx;
	struct ev_letter_ctx lc;
	struct ev_event ev;
	struct ev_buf out = {0};
	/* a Kafka record: its offset in its partition, and a source id of
	 * each partition, as a handler's letters have */
	uint64_t off = rec->kafka ? (uint64_t)rec->koffset : rec->offset;
	char sid[600], at[64], pre[48], msg[sizeof(why->msg)];
	ev_time_t t;
	int r;

	if ((r = ev_event_decode(rec->p, rec->n, &ev, err)) != 0) {
		ev_err_damaged(err, d->source_log, rec->offset);
		return r;
	}
	if (rec->kafka)
		snprintf(at, sizeof(at), "%d:%lld", (int)rec->partition,
			 (long long)rec->koffset);
	else
		snprintf(at, sizeof(at), "%llu",
			 (unsigned long long)rec->offset);
	snprintf(sid, sizeof(sid), "%s", d->source_log_id);
	if (rec->kafka)
		snprintf(sid, sizeof(sid), "%.500s/%d", d->source_log_id,
			 (int)rec->partition);
	ev.offset = off;
	ev.append_time = rec->append_time;
	memset(&lc, 0, sizeof(lc));
	lc.source = &ev;
	lc.source_log = d->source_log;
	lc.source_log_id = sid;
	lc.has_source_partition = rec->kafka;
	lc.source_partition = rec->kafka ? rec->partition : 0;
	lc.source_timestamp = rec->kafka ? rec->ktimestamp : -1;
	lc.source_timestamp_type = rec->kafka ? rec->ktimestamp_type : 0;
	lc.group = d->group;
	lc.first_failure = lc.last_failure = ev_now();
	lc.round =
		ev_dlq_next_round(d->letters, d->nletters, d->group, sid, off);
	lc.upcast_error = why->msg;
	if (rec->kafka) { /* the upcaster counts records: name the place */
		/* a projection's failure names the record's offset in
		 * its partition (ev_event_place()) */
		int pn = snprintf(pre, sizeof(pre), "offset %llu: ",
				  d->projection != NULL
					  ? (unsigned long long)rec->koffset
					  : (unsigned long long)rec->offset);
		if (strncmp(why->msg, pre, (size_t)pn) == 0) {
			snprintf(msg, sizeof(msg), "offset %s: %s", at,
				 why->msg + pn);
			lc.upcast_error = msg;
		}
	}
	lc.projection = d->projection;
	if (d->sink != NULL) {
		r = d->sink(d->sink_ctx, &lc, err);
	} else {
		r = ev_dlq_letter_encode(&out, &lc, ev_now(), &t, err);
		if (r == 0)
			r = ev_writer_add(d->w, out.p, out.len, t, err);
		if (r == 0)
			r = ev_writer_flush(d->w, err);
	}
	ev_buf_free(&out);
	if (r != 0) {
		ev_err_prefix(err,
			      "cannot write the dead letter of offset %s "
			      "to '%s': ",
			      at,
			      d->sink != NULL ? d->sink_name
					      : ev_log_path(d->dlq));
		return r;
	}
	d->written++;
	return 0;
}

void ev_upcast_dlq_set_projection(struct ev_upcast_dlq *d, const char *name)
{
	d->projection = name;
}

uint64_t ev_upcast_dlq_count(const struct ev_upcast_dlq *d)
{
	return d != NULL ? d->written : 0;
}

int ev_upcast_dlq_close(struct ev_upcast_dlq *d, struct ev_error *err)
{
	struct ev_error e;
	int r = 0;

	if (d == NULL)
		return 0;
	if (d->w != NULL)
		r = ev_writer_close(d->w, err != NULL ? err : &e);
	ev_letters_free(d->letters, d->nletters);
	free(d->sink_name);
	free(d->source_log);
	free(d->source_log_id);
	free(d->group);
	free(d);
	return r;
}
