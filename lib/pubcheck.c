/*
 * pubcheck.c - events checked against a schemas directory where they
 * enter a log: the errors of an invalid event in words (evpub --schemas),
 * the dead letters of invalid events (evpub --dlq), and the retry of
 * those letters, which validates each event again and appends it to its
 * log when it passes (evdlq retry).  Validation is the registry's
 * (schemadir.c); the letters' encoding and state are dlq.c's.  See
 * evpub(1) and evdlq(1).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evlog_private.h"

/* ------------------------------------------------------------ messages */

int ev_schema_errors_text(struct ev_buf *out, const char *prefix,
			  const uint8_t *rec, size_t n,
			  const struct ev_jschema_ctx *cx, unsigned max)
{
	struct ev_event ev;
	struct ev_error err;
	size_t i, ne = ev_jschema_nerrors(cx);
	int r = 0;

	if (ev_event_decode(rec, n, &ev, &err) != 0) {
		ev.type.p = "?";
		ev.type.n = 1;
		ev.schema = 1;
	}
	for (i = 0; i < ne && i < max && r == 0; i++) {
		const struct ev_jschema_error *e = ev_jschema_error_at(cx, i);
		const char *ip = e->instance_path ? e->instance_path : "";
		r = ev_buf_puts(out, prefix ? prefix : "") ||
		    ev_buf_append(out, ev.type.p, ev.type.n) ||
		    ev_buf_printf(out, " (schema %llu): ",
				  (unsigned long long)(ev.schema ? ev.schema
								 : 1));
		/* the event itself (_envelope.json's errors) has no path */
		if (r == 0 && ip[0] != '\0')
			r = ev_buf_printf(out, "%s: ", ip);
		if (r == 0)
			r = ev_buf_printf(out, "%s (%s)\n",
					  e->message ? e->message : "invalid",
					  e->schema_path ? e->schema_path : "");
	}
	if (r == 0 && ne > max)
		r = ev_buf_printf(out, "%s... and %zu more\n",
				  prefix ? prefix : "", ne - max);
	return r != 0 ? EV_ERR : 0;
}

/* What a letter (or a failed retry's record) keeps of the errors: at
 * most LETTER_ERRORS of them, each string cut to LETTER_FIELD bytes, and
 * no more once they take LETTER_ERROR_BYTES; then one more whose message
 * is "... and N more".  A letter whose event is large keeps fewer (see
 * build_letter()). */
#define LETTER_ERRORS 100
#define LETTER_FIELD 1024
#define LETTER_ERROR_BYTES 32768

/* s (NULL: "") into a, cut to max bytes on a UTF-8 boundary with "..."
 * after a cut, NUL-terminated; its offset in *off.  0 or EV_ERR. */
static int put_capped(struct ev_buf *a, const char *s, size_t max, size_t *off)
{
	size_t n = s != NULL ? strlen(s) : 0;
	int cut = n > max;

	*off = a->len;
	if (cut) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	if ((n > 0 && ev_buf_append(a, s, n) != 0) ||
	    (cut && ev_buf_puts(a, "...") != 0) || ev_buf_putc(a, '\0') != 0)
		return EV_ERR;
	return 0;
}

/* The errors in cx as an array in *v (grown as needed), at most keep of
 * them within the limits above, their strings in *arena: 0 or EV_ERR. */
static int errors_of(const struct ev_jschema_ctx *cx,
		     struct ev_jschema_error **v, size_t *cap, size_t *n,
		     struct ev_buf *arena, size_t keep)
{
	size_t i, k, ne = ev_jschema_nerrors(cx), *off;
	char more[64];

	if (keep > LETTER_ERRORS)
		keep = LETTER_ERRORS;
	k = ne < keep ? ne : keep;
	if (k + 1 > *cap) {
		struct ev_jschema_error *nv =
			realloc(*v, (k + 1) * sizeof(*nv));
		if (nv == NULL)
			return EV_ERR;
		*v = nv;
		*cap = k + 1;
	}
	if ((off = malloc((k + 1) * 4 * sizeof(*off))) == NULL)
		return EV_ERR;
	arena->len = 0;
	for (i = 0; i < k && arena->len < LETTER_ERROR_BYTES; i++) {
		const struct ev_jschema_error *e = ev_jschema_error_at(cx, i);

		if (put_capped(arena, e->instance_path, LETTER_FIELD,
			       &off[4 * i]) != 0 ||
		    put_capped(arena, e->schema_path, LETTER_FIELD,
			       &off[4 * i + 1]) != 0 ||
		    put_capped(arena, e->keyword, LETTER_FIELD,
			       &off[4 * i + 2]) != 0 ||
		    put_capped(arena, e->message, LETTER_FIELD,
			       &off[4 * i + 3]) != 0)
			goto oom;
	}
	k = i;
	if (k < ne) {
		snprintf(more, sizeof(more), "... and %zu more", ne - k);
		if (put_capped(arena, "", 0, &off[4 * k]) != 0 ||
		    put_capped(arena, "", 0, &off[4 * k + 1]) != 0 ||
		    put_capped(arena, "", 0, &off[4 * k + 2]) != 0 ||
		    put_capped(arena, more, sizeof(more), &off[4 * k + 3]) != 0)
			goto oom;
		i = k + 1;
	}
	for (k = 0; k < i; k++) {
		const char *b = (const char *)arena->p;

		(*v)[k].instance_path = b + off[4 * k];
		(*v)[k].schema_path = b + off[4 * k + 1];
		(*v)[k].keyword = b + off[4 * k + 2];
		(*v)[k].message = b + off[4 * k + 3];
	}
	free(off);
	*n = i;
	return 0;
oom:
	free(off);
	return EV_ERR;
}

/* The message of a letter: the first errors in words (up to 5, then
 * "... and N more"), each line cut to linemax bytes, without the last
 * newline, NUL-terminated.  0 or EV_ERR. */
static int letter_message(struct ev_buf *msg, const uint8_t *rec, size_t n,
			  const struct ev_jschema_ctx *cx, size_t linemax)
{
	struct ev_buf text = {0};
	size_t i, j, off;
	int r;

	msg->len = 0;
	r = ev_schema_errors_text(&text, NULL, rec, n, cx, 5);
	if (r == 0 && text.len > 0 && text.p[text.len - 1] != '\n')
		r = ev_buf_putc(&text, '\n');
	for (i = 0; r == 0 && i < text.len; i = j + 1) {
		for (j = i; text.p[j] != '\n'; j++)
			;
		text.p[j] = '\0';
		if (msg->len > 0 && msg->p[msg->len - 1] == '\0')
			msg->p[msg->len - 1] = '\n';
		r = put_capped(msg, (const char *)text.p + i, linemax, &off);
	}
	if (r == 0 && msg->len == 0)
		r = ev_buf_putc(msg, '\0');
	ev_buf_free(&text);
	return r != 0 ? EV_ERR : 0;
}

/* An absolute path for path (which exists): malloc'ed, or NULL. */
static char *abs_path(const char *path)
{
	return realpath(path, NULL);
}

/* ------------------------------------------------------------ letters */

struct ev_schema_dlq {
	struct ev_log *dlq;
	struct ev_writer *w;
	/* or a sink of letters (a dead-letter topic), named dlq_name */
	ev_letter_sink_fn sink;
	void *sink_ctx;
	char *dlq_name;
	char *target, *target_id, *dir;
	/* ev_schema_dlq_follow(): the writer of the valid events, and the
	 * id of the log it appended to when the last letter was built */
	struct ev_writer *follow;
	char follow_id[33];
	const char *id_now; /* target_id or follow_id */
	char **ref_dirs;
	int require_schemas, formats_assert;
	struct ev_letter *letters; /* those there before, and ours: rounds */
	size_t nletters;
	struct ev_jschema_error *errs;
	size_t errs_cap;
	struct ev_buf msg, arena, out;
	uint64_t written;
};

/* A --ref-dir mapping, "DIR" or "PREFIX=DIR", with DIR absolute (its
 * realpath, or joined to the working directory when it does not
 * resolve): malloc'ed, or NULL. */
static char *abs_ref_dir(const char *m)
{
	const char *eq = strchr(m, '='), *dir = eq != NULL ? eq + 1 : m;
	int pl = eq != NULL ? (int)(eq - m + 1) : 0;
	char *real = realpath(dir, NULL), *cwd = NULL, *s = NULL;
	int r;

	if (real != NULL) {
		r = asprintf(&s, "%.*s%s", pl, m, real);
	} else if (dir[0] == '/' || (cwd = getcwd(NULL, 0)) == NULL) {
		r = asprintf(&s, "%s", m);
	} else {
		r = asprintf(&s, "%.*s%s/%s", pl, m, cwd, dir);
	}
	free(real);
	free(cwd);
	return r < 0 ? NULL : s;
}

/* The --ref-dir mappings with absolute directories: a retry runs
 * wherever evdlq runs. */
static char **strv_abs_ref_dirs(const char *const *sv)
{
	size_t n = 0, i;
	char **v;

	while (sv != NULL && sv[n] != NULL)
		n++;
	if (n == 0)
		return NULL;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if ((v[i] = abs_ref_dir(sv[i])) == NULL)
			break;
	if (i < n) {
		while (i > 0)
			free(v[--i]);
		free(v);
		return NULL;
	}
	return v;
}

static void strv_free(char **v)
{
	size_t i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

int ev_schema_dlq_open(struct ev_schema_dlq **out, struct ev_log *dlq,
		       struct ev_log *target, const char *dir,
		       const struct ev_schemadir_opts *o, struct ev_error *err)
{
	struct ev_schema_dlq_to to;
	char *tpath = abs_path(ev_log_path(target));
	int r;

	*out = NULL;
	/* a retry runs wherever evdlq runs: the paths it needs, absolute */
	if (tpath == NULL)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot resolve '%s'",
				       ev_log_path(target));
	memset(&to, 0, sizeof(to));
	to.dlq = dlq;
	to.target = tpath;
	to.target_id = ev_log_id(target);
	r = ev_schema_dlq_open_to(out, &to, dir, o, err);
	free(tpath);
	return r;
}

int ev_schema_dlq_open_to(struct ev_schema_dlq **out,
			  const struct ev_schema_dlq_to *to, const char *dir,
			  const struct ev_schemadir_opts *o,
			  struct ev_error *err)
{
	struct ev_schema_dlq *d;
	struct ev_writer_opts wo;
	int r;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	d->dlq = to->dlq;
	d->sink = to->sink;
	d->sink_ctx = to->sink_ctx;
	d->require_schemas = o->require_schemas;
	d->formats_assert = o->js.formats_assert;
	/* a retry runs wherever evdlq runs: the paths it needs, absolute */
	d->dir = abs_path(dir);
	if (d->dir == NULL) {
		r = ev_seterr_errno(err, EV_EIO, errno, "cannot resolve '%s'",
				    dir);
		goto fail;
	}
	if (o->js.ref_dirs != NULL) {
		d->ref_dirs = strv_abs_ref_dirs(o->js.ref_dirs);
		if (d->ref_dirs == NULL) {
			r = ev_seterr(err, EV_ERR, "out of memory");
			goto fail;
		}
	}
	d->target = strdup(to->target);
	d->target_id = strdup(to->target_id);
	d->dlq_name = strdup(to->dlq != NULL	    ? ev_log_path(to->dlq)
			     : to->dlq_name != NULL ? to->dlq_name
						    : "");
	if (d->target == NULL || d->target_id == NULL || d->dlq_name == NULL) {
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	d->id_now = d->target_id;
	if (d->sink != NULL) { /* the sink knows its letters' rounds */
		*out = d;
		return 0;
	}
	if ((r = ev_dlq_scan(d->dlq, &d->letters, &d->nletters, err)) != 0)
		goto fail;
	memset(&wo, 0, sizeof(wo));
	wo.sync = EV_SYNC_BATCH;
	wo.sync_set = 1;
	if ((r = ev_writer_open(&d->w, d->dlq, &wo, err)) != 0)
		goto fail;
	*out = d;
	return 0;
fail:
	ev_schema_dlq_close(d, NULL);
	return r;
}

/* Remember a letter we wrote, for the rounds of later ones. */
static void note_letter(struct ev_schema_dlq *d, const struct ev_event *ev,
			uint64_t round)
{
	struct ev_letter *nl =
		realloc(d->letters, (d->nletters + 1) * sizeof(*nl));

	if (nl == NULL)
		return;
	d->letters = nl;
	nl += d->nletters;
	memset(nl, 0, sizeof(*nl));
	nl->stage = "schema";
	nl->round = round;
	nl->source_log_id = strdup(d->id_now);
	nl->orig_id = strndup(ev->id.p, ev->id.n);
	if (nl->source_log_id != NULL && nl->orig_id != NULL) {
		d->nletters++;
	} else {
		free(nl->source_log_id);
		free(nl->orig_id);
	}
}

/*
 * The letter of rec in d->out (its time in *t, its round in *round).  A
 * letter must fit in a record (EV_MAX_RECORD): when the event is large
 * and its errors many or long, fewer errors are kept, and then shorter
 * message lines; EV_EDATA when the event does not fit even so.
 */
static int build_letter(struct ev_schema_dlq *d, const uint8_t *rec, size_t n,
			const char *input, const struct ev_jschema_ctx *cx,
			struct ev_letter_ctx *lcp, struct ev_event *evp,
			ev_time_t *t, uint64_t *round, struct ev_error *err)
{
	size_t nerrs = 0, keep = LETTER_ERRORS, linemax = LETTER_FIELD;
	char *id;
	ev_time_t now = ev_now();
	int r;

	if ((r = ev_event_decode(rec, n, evp, err)) != 0)
		return r;
	evp->offset = 0;
	evp->append_time = EV_TIME_NONE;
	if ((id = strndup(evp->id.p, evp->id.n)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (d->follow != NULL) { /* the log the valid events go to now */
		ev_writer_log_id(d->follow, d->follow_id);
		d->id_now = d->follow_id;
	}
	memset(lcp, 0, sizeof(*lcp));
	lcp->source = evp;
	lcp->source_log = d->target;
	lcp->source_log_id = d->id_now;
	lcp->group = "";
	lcp->attempts = 1; /* one validation */
	lcp->first_failure = lcp->last_failure = now;
	lcp->schemas = d->dir;
	lcp->input = input;
	lcp->require_schemas = d->require_schemas;
	lcp->formats_assert = d->formats_assert;
	lcp->ref_dirs = (const char *const *)d->ref_dirs;
	lcp->schema_round = ev_dlq_schema_next_round(d->letters, d->nletters,
						     d->id_now, id);
	free(id);
	*round = lcp->schema_round;
	for (;;) {
		if (letter_message(&d->msg, rec, n, cx, linemax) != 0 ||
		    errors_of(cx, &d->errs, &d->errs_cap, &nerrs, &d->arena,
			      keep) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		lcp->schema_errors = d->errs;
		lcp->nschema_errors = nerrs;
		lcp->schema_message = (const char *)d->msg.p;
		d->out.len = 0;
		r = ev_dlq_letter_encode(&d->out, lcp, now, t, err);
		if (r != EV_EDATA) /* over EV_MAX_RECORD */
			return r;
		if (keep > 0)
			keep /= 4;
		else if (linemax > 80)
			linemax = 80;
		else
			break;
	}
	return ev_seterr(err, EV_EDATA,
			 "the event is too large to dead-letter: with the "
			 "letter around it, it is over the limit of %u bytes "
			 "encoded",
			 EV_MAX_RECORD);
}

int ev_schema_dlq_letter_fits(struct ev_schema_dlq *d, const uint8_t *rec,
			      size_t n, const char *input,
			      const struct ev_jschema_ctx *cx,
			      struct ev_error *err)
{
	struct ev_letter_ctx lc;
	struct ev_event ev;
	ev_time_t t;
	uint64_t round;

	/* a letter holds the event, base64 data and all, and less than
	 * 64 KiB of its own */
	if (n < EV_MAX_RECORD / 2)
		return 0;
	return build_letter(d, rec, n, input, cx, &lc, &ev, &t, &round, err);
}

int ev_schema_dlq_letter(struct ev_schema_dlq *d, const uint8_t *rec, size_t n,
			 const char *input, const struct ev_jschema_ctx *cx,
			 struct ev_error *err)
{
	struct ev_letter_ctx lc;
	struct ev_event ev;
	ev_time_t t;
	uint64_t round;
	int r;

	r = build_letter(d, rec, n, input, cx, &lc, &ev, &t, &round, err);
	if (r == EV_EDATA)
		return r; /* too large: said as it is */
	if (r == 0 && d->sink != NULL)
		r = d->sink(d->sink_ctx, &lc, err);
	else if (r == 0)
		r = ev_writer_add(d->w, d->out.p, d->out.len, t, err);
	if (r != 0) {
		ev_err_prefix(err,
			      "cannot write the dead letter of %s to '%s': ",
			      input, d->dlq_name);
		return r;
	}
	if (ev_event_decode(rec, n, &ev, err) == 0)
		note_letter(d, &ev, round);
	d->written++;
	return 0;
}

void ev_schema_dlq_follow(struct ev_schema_dlq *d, struct ev_writer *w)
{
	d->follow = w;
}

int ev_schema_dlq_flush(struct ev_schema_dlq *d, struct ev_error *err)
{
	int r;

	if (d == NULL || d->w == NULL)
		return 0;
	r = ev_writer_flush(d->w, err);
	if (r != 0)
		ev_err_prefix(err, "cannot write dead letters to '%s': ",
			      d->dlq_name);
	return r;
}

uint64_t ev_schema_dlq_count(const struct ev_schema_dlq *d)
{
	return d != NULL ? d->written : 0;
}

int ev_schema_dlq_close(struct ev_schema_dlq *d, struct ev_error *err)
{
	struct ev_error e;
	int r = 0;

	if (d == NULL)
		return 0;
	if (d->w != NULL)
		r = ev_writer_close(d->w, err != NULL ? err : &e);
	ev_letters_free(d->letters, d->nletters);
	free(d->target);
	free(d->target_id);
	free(d->dlq_name);
	free(d->dir);
	strv_free(d->ref_dirs);
	free(d->errs);
	ev_buf_free(&d->msg);
	ev_buf_free(&d->arena);
	ev_buf_free(&d->out);
	free(d);
	return r;
}

/* ------------------------------------------------------------ retry */

enum { FATE_UNSELECTED, FATE_RESOLVED, FATE_FAILED, FATE_LEFT_OPEN };

struct sretry {
	const struct ev_schema_retry_opts *o;
	const struct ev_letter *v;
	size_t n;
	struct ev_log *dlq;
	struct ev_writer *dw; /* resolution records */
	/* the registry of the letters at hand, and what it was opened as */
	struct ev_schemadir *sd;
	char *sd_dir;
	const struct ev_letter *sd_of;
	struct ev_jschema_ctx *cx;
	/* the log of the letters at hand */
	struct ev_log *log;
	struct ev_writer *lw;
	char *log_path;
	struct ev_parser *ps;
	struct ev_jschema_error *errs;
	size_t errs_cap;
	struct ev_buf msg, arena;
	/* the ack of the event just appended */
	uint64_t ack_offset;
	int acked, ack_duplicate;
};

static void on_durable(void *ctx, const struct ev_ack *acks, size_t n)
{
	struct sretry *rt = ctx;

	if (n > 0) {
		rt->ack_offset = acks[n - 1].offset;
		rt->ack_duplicate = acks[n - 1].duplicate;
		rt->acked = 1;
	}
}

static int same_strv(char *const *a, char *const *b)
{
	size_t i;

	for (i = 0; a != NULL && b != NULL && a[i] && b[i]; i++)
		if (strcmp(a[i], b[i]) != 0)
			return 0;
	return (a == NULL || a[i] == NULL) && (b == NULL || b[i] == NULL);
}

/* The registry letter l is validated against, opened when it differs
 * from the last one's: 0, or an error (EV_EUSAGE for a bad one). */
static int registry(struct sretry *rt, const struct ev_letter *l,
		    struct ev_error *err)
{
	const char *dir = rt->o->schemas ? rt->o->schemas : l->schemas;
	const struct ev_letter *p = rt->sd_of;
	const char *const *refs = rt->o->ref_dirs != NULL
					  ? rt->o->ref_dirs
					  : (const char *const *)l->ref_dirs;
	struct ev_schemadir_opts so;
	int r;

	if (rt->sd != NULL && strcmp(rt->sd_dir, dir) == 0 &&
	    p->require_schemas == l->require_schemas &&
	    p->formats_assert == l->formats_assert &&
	    (rt->o->ref_dirs != NULL || same_strv(p->ref_dirs, l->ref_dirs)))
		return 0;
	ev_schemadir_free(rt->sd);
	rt->sd = NULL;
	free(rt->sd_dir);
	if ((rt->sd_dir = strdup(dir)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	memset(&so, 0, sizeof(so));
	so.require_schemas = l->require_schemas;
	so.js.formats_assert = l->formats_assert;
	so.js.ref_dirs = refs;
	r = ev_schemadir_open(&rt->sd, dir, &so, err);
	if (r == EV_EDATA)
		r = err->code = EV_EUSAGE; /* evdlq exits 64, as evpub does */
	if (r != 0)
		return r;
	rt->sd_of = l;
	return 0;
}

/* The log of letter l, opened for appending when it differs from the
 * last one's: 0, or an error. */
static int target(struct sretry *rt, const struct ev_letter *l,
		  struct ev_error *err)
{
	struct ev_writer_opts wo;
	struct ev_error e;
	int r;

	if (rt->log != NULL && strcmp(rt->log_path, l->source_log) == 0)
		return 0;
	if (rt->lw != NULL)
		ev_writer_close(rt->lw, &e);
	rt->lw = NULL;
	ev_log_close(rt->log);
	rt->log = NULL;
	free(rt->log_path);
	if ((rt->log_path = strdup(l->source_log)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if ((r = ev_log_open(&rt->log, l->source_log, err)) != 0)
		return r;
	if (strcmp(ev_log_id(rt->log), l->source_log_id) != 0)
		return ev_seterr(err, EV_EDATA,
				 "'%s' is not the log dead letter %llu was "
				 "written for: its id is %s, not %s",
				 l->source_log, (unsigned long long)l->offset,
				 ev_log_id(rt->log), l->source_log_id);
	memset(&wo, 0, sizeof(wo));
	wo.on_durable = on_durable;
	wo.ctx = rt;
	return ev_writer_open(&rt->lw, rt->log, &wo, err);
}

static void report(struct sretry *rt, enum ev_retry_what what, size_t i,
		   size_t blocker, const unsigned char *fate)
{
	struct ev_retry_report r;

	memset(&r, 0, sizeof(r));
	r.what = what;
	r.letter = &rt->v[i];
	r.cmd = NULL;
	r.attempts = 1;
	if (what == EV_RETRY_LEFT_OPEN) {
		r.blocker = &rt->v[blocker];
		r.blocker_failed = fate[blocker] == FATE_FAILED;
		r.blocker_selected = fate[blocker] != FATE_UNSELECTED;
	}
	if (what == EV_RETRY_STILL_OPEN)
		r.message = (const char *)rt->msg.p;
	if (what == EV_RETRY_WOULD)
		r.message = rt->o->schemas ? rt->o->schemas : rt->v[i].schemas;
	if (what == EV_RETRY_RESOLVED) {
		r.log = rt->log_path;
		r.appended_offset = rt->ack_offset;
		r.duplicate = rt->ack_duplicate;
	}
	if (rt->o->report != NULL)
		rt->o->report(rt->o->ctx, &r);
}

/* Letter i again: 1 resolved, 0 still open, or an error. */
static int retry_one(struct sretry *rt, size_t i, struct ev_error *err)
{
	const struct ev_letter *l = &rt->v[i];
	const uint8_t *rec;
	size_t rn, nerrs = 0;
	ev_time_t t;
	int r;

	if ((r = registry(rt, l, err)) != 0)
		return r;
	r = ev_parser_line(rt->ps, l->original_json, strlen(l->original_json),
			   EV_TIME_NONE, err);
	if (r != 1) {
		if (r >= 0)
			r = ev_seterr(err, EV_EDATA, "no event");
		ev_err_prefix(err, "dead letter %llu: its event: ",
			      (unsigned long long)l->offset);
		return r;
	}
	ev_parser_record(rt->ps, 0, &rec, &rn, &t);
	r = ev_schemadir_check(rt->sd, rec, rn, rt->cx);
	if (r < 0)
		return ev_seterr(err, EV_EDATA,
				 "dead letter %llu: its event does not decode",
				 (unsigned long long)l->offset);
	rt->msg.len = 0;
	if (r == 1 && ev_kafka_is_addr(l->source_log)) {
		/* valid now, but evdlq does not produce: left open, as is */
		if (ev_buf_printf(&rt->msg,
				  "valid now, but its log is the kafka topic "
				  "'%s': publish its event again with evpub, "
				  "then purge the letter (evdlq(1) KAFKA)",
				  l->source_log) != 0 ||
		    ev_buf_putc(&rt->msg, '\0') != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		return 0;
	}
	if (r == 1) {
		if ((r = target(rt, l, err)) != 0)
			return r;
		rt->acked = 0;
		r = ev_writer_add(rt->lw, rec, rn, t, err);
		if (r == 0)
			r = ev_writer_flush(rt->lw, err);
		if (r == EV_EAGAIN) {
			/* a version conflict: it stays a letter, saying so */
			struct ev_writer_opts wo;
			if (ev_buf_puts(&rt->msg, err->msg) != 0 ||
			    ev_buf_putc(&rt->msg, '\0') != 0)
				return ev_seterr(err, EV_ERR, "out of memory");
			/* a writer that failed is done: open it afresh */
			ev_writer_close(rt->lw, err);
			memset(&wo, 0, sizeof(wo));
			wo.on_durable = on_durable;
			wo.ctx = rt;
			if ((r = ev_writer_open(&rt->lw, rt->log, &wo, err)) !=
			    0) {
				rt->lw = NULL;
				return r;
			}
			r = ev_dlq_schema_record(rt->dw,
						 EV_RESOLUTION_RETRY_FAILED, l,
						 0, 0, rt->sd_dir,
						 (const char *)rt->msg.p, NULL,
						 0, err);
			return r != 0 ? r : 0;
		}
		if (r != 0)
			return r;
		if (!rt->acked)
			return ev_seterr(err, EV_ERR,
					 "internal error: no ack for dead "
					 "letter %llu's event",
					 (unsigned long long)l->offset);
		r = ev_dlq_schema_record(rt->dw, EV_RESOLUTION_RESOLVED, l,
					 rt->ack_offset, rt->ack_duplicate,
					 rt->sd_dir, NULL, NULL, 0, err);
		return r != 0 ? r : 1;
	}
	if (letter_message(&rt->msg, rec, rn, rt->cx, LETTER_FIELD) != 0 ||
	    errors_of(rt->cx, &rt->errs, &rt->errs_cap, &nerrs, &rt->arena,
		      LETTER_ERRORS) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	r = ev_dlq_schema_record(rt->dw, EV_RESOLUTION_RETRY_FAILED, l, 0, 0,
				 rt->sd_dir, (const char *)rt->msg.p, rt->errs,
				 nerrs, err);
	return r != 0 ? r : 0;
}

/* An open schema letter: what this retry takes. */
static int is_schema(const struct ev_letter *l)
{
	return l->malformed == NULL && l->state == EV_LETTER_OPEN &&
	       l->stage != NULL && strcmp(l->stage, "schema") == 0;
}

int ev_dlq_retry_schema(struct ev_log *dlq, const struct ev_letter *v, size_t n,
			const unsigned char *sel,
			const struct ev_schema_retry_opts *o,
			volatile sig_atomic_t *stop, uint64_t *resolved,
			struct ev_error *err)
{
	struct sretry rt;
	struct ev_parse_opts po;
	struct ev_writer_opts wo;
	struct ev_error e;
	size_t *prev = NULL, *blocker = NULL, i;
	unsigned char *fate = NULL;
	int r = 0;

	memset(&rt, 0, sizeof(rt));
	rt.o = o;
	rt.v = v;
	rt.n = n;
	rt.dlq = dlq;
	for (i = 0; i < n && !(sel[i] && is_schema(&v[i])); i++)
		;
	if (i == n)
		return 0; /* none of ours */
	memset(&po, 0, sizeof(po));
	prev = malloc(n * sizeof(*prev));
	blocker = malloc(n * sizeof(*blocker));
	fate = calloc(n, 1);
	rt.ps = ev_parser_new(&po);
	rt.cx = ev_jschema_ctx_new();
	if (prev == NULL || blocker == NULL || fate == NULL || rt.ps == NULL ||
	    rt.cx == NULL || ev_dlq_stream_prev(v, n, prev) != 0) {
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto out;
	}
	if (!o->dry_run) {
		memset(&wo, 0, sizeof(wo));
		wo.sync = EV_SYNC_BATCH;
		wo.sync_set = 1;
		if ((r = ev_writer_open(&rt.dw, dlq, &wo, err)) != 0)
			goto out;
	}
	for (i = 0; i < n && !*stop; i++) {
		size_t p = prev[i];
		/* a stream keeps its order: behind an open letter of its
		 * stream not resolved in this run, a letter waits */
		blocker[i] = n;
		if (p < n && fate[p] != FATE_RESOLVED)
			blocker[i] = blocker[p] < n ? blocker[p] : p;
		if (!sel[i] || !is_schema(&v[i]))
			continue;
		fate[i] = FATE_LEFT_OPEN;
		if (blocker[i] < n) {
			report(&rt, EV_RETRY_LEFT_OPEN, i, blocker[i], fate);
			continue;
		}
		if (o->dry_run) {
			report(&rt, EV_RETRY_WOULD, i, n, fate);
			fate[i] = FATE_RESOLVED;
			continue;
		}
		r = retry_one(&rt, i, err);
		if (r < 0)
			break;
		if (r == 1) {
			fate[i] = FATE_RESOLVED;
			(*resolved)++;
			report(&rt, EV_RETRY_RESOLVED, i, n, fate);
		} else {
			fate[i] = FATE_FAILED;
			report(&rt, EV_RETRY_STILL_OPEN, i, n, fate);
		}
		r = 0;
	}
out:
	if (rt.lw != NULL && ev_writer_close(rt.lw, &e) != 0 && r == 0) {
		*err = e;
		r = e.code;
	}
	if (rt.dw != NULL && ev_writer_close(rt.dw, &e) != 0 && r == 0) {
		*err = e;
		r = e.code;
	}
	ev_log_close(rt.log);
	ev_schemadir_free(rt.sd);
	ev_jschema_ctx_free(rt.cx);
	ev_parser_free(rt.ps);
	free(rt.sd_dir);
	free(rt.log_path);
	free(rt.errs);
	ev_buf_free(&rt.msg);
	ev_buf_free(&rt.arena);
	free(prev);
	free(blocker);
	free(fate);
	return r;
}
