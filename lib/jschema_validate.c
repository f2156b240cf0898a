/*
 * jschema_validate.c - validating msgpack JSON images against compiled
 * schemas (struct ev_jschema, jschema_priv.h): the entry points
 * (ev_jschema_validate, ev_jschema_validate_prefix, js_check_meta for
 * the compiler's metaschema check).
 *
 * One recursive walk does both jobs.  The first pass stops at the first
 * failure and allocates nothing (annotations for unevaluated* live on
 * the stack for containers of up to 256 members; uniqueItems over more
 * than 32 items sorts hashes in a scratch array); only an invalid value
 * is walked a second time, collecting its errors with their instance and
 * schema paths.
 *
 * The validator's files, each calling only those below it:
 *   jschema_validate.c   these entry points
 *   jschema_fastwalk.c   the fast walk run (ev_jschema_fast_prefix,
 *                        _pairs...), which leaves the rest to the walk
 *   jschema_walk.c       the general walk: objects, arrays, applicators,
 *                        references and their dynamic scope, unevaluated*
 *   jschema_scalar.c     const, enum, numbers, strings, format, content
 *   jschema_equal.c      JSON equality and hashes
 *   jschema_vctx.c       struct ev_jschema_ctx and the errors
 * and jschema_fast.c, the fast walk's program made (ev_jschema_fast_new),
 * which calls none of them.  jschema_validate_int.h has what they share,
 * with the inline checks both walks take (jschema_scalar_int.h those
 * that call into jschema_scalar.c); jschema_fast_int.h has the program.
 */
#include <string.h>

#include "jschema_validate_int.h"

static int validate(const struct ev_jschema *sc, const uint8_t *mp, size_t n,
		    const char *prefix, struct ev_jschema_ctx *cx,
		    int inst_depth, int eval_depth, uint64_t max_steps)
{
	struct vctx c;
	const uint8_t *p = mp;
	int r;

	cx->nerrs = 0;
	cx->noff = 0;
	cx->strs.len = 0;
	cx->path.len = 0;
	cx->max_errors = sc->doc->set->o.max_errors;
	if (prefix != NULL)
		ev_buf_puts(&cx->path, prefix);
	memset(&c, 0, sizeof(c));
	c.cx = cx;
	c.end = mp + n;
	c.max_depth = eval_depth;
	c.max_idepth = inst_depth;
	c.max_steps = max_steps;
	c.root = mp;
	r = ev_jv_v(&c, sc, mp, NULL, NULL);
	/* Every read of the walk is bounds-checked, and a walk over the
	 * root container's members (skipping each) ends where the value
	 * does; otherwise skip it here.  Types are checked where the schema
	 * reads values, depth as the walk goes down. */
	if (r != EV_ERR && c.root_end != mp + n &&
	    (p = mp, ev_mp_skip_fast(&p, mp + n) != 0 || p != mp + n)) {
		const char *why = NULL;

		p = mp;
		cx->noff = 0;
		cx->strs.len = 0;
		if (ev_mp_check_json(&p, mp + n, -100000, &why) != 0 ||
		    why == NULL)
			why = "not one msgpack value";
		c.collect = 1;
		ev_jv_err_add(&c, sc, "", "", "invalid instance: %s", why);
		ev_jv_finish(cx);
		return EV_EDATA;
	}
	if (r == 0) {
		cx->noff = 0;
		cx->strs.len = 0;
		c.collect = 1;
		c.depth = 0;
		c.idepth = 0;
		c.full = 0;
		c.steps = 0;
		r = ev_jv_v(&c, sc, mp, NULL, NULL);
		if (r == 1) /* cannot happen; say something */
			r = 0;
		if (r == 0 && cx->noff == 0)
			ev_jv_err_add(&c, sc, "", "", "invalid");
	}
	if (r == EV_EDATA && cx->noff == 0) {
		c.collect = 1;
		ev_jv_err_add(&c, sc, "", "",
			      "invalid instance: not a JSON value");
	}
	if (r == EV_EUSAGE) {
		c.collect = 1;
		ev_jv_err_add(&c, sc, "", "$ref",
			      "the schema set is not compiled: call "
			      "ev_jschema_set_compile");
	}
	ev_jv_finish(cx);
	return r;
}

int ev_jschema_validate(const struct ev_jschema *sc, const uint8_t *mp,
			size_t n, const char *prefix, struct ev_jschema_ctx *cx)
{
	return validate(sc, mp, n, prefix, cx, JS_MAX_INST_DEPTH,
			JS_MAX_EVAL_DEPTH, JS_MAX_STEPS);
}

int ev_jschema_validate_prefix(const struct ev_jschema *sc, const uint8_t *mp,
			       size_t maxn, const char *prefix,
			       struct ev_jschema_ctx *cx, size_t *used)
{
	struct vctx c;
	const uint8_t *p = mp;
	int r;

	/* a valid container walked to its end: the common case, one pass
	 * (the walk reads nothing past the end of the value) */
	memset(&c, 0, sizeof(c));
	c.cx = cx;
	c.end = mp + maxn;
	c.max_depth = JS_MAX_EVAL_DEPTH;
	c.max_idepth = JS_MAX_INST_DEPTH;
	c.max_steps = JS_MAX_STEPS;
	c.root = mp;
	cx->nerrs = 0;
	cx->noff = 0;
	cx->strs.len = 0;
	cx->path.len = 0;
	cx->max_errors = sc->doc->set->o.max_errors;
	r = ev_jv_v(&c, sc, mp, NULL, NULL);
	if (r == 1 && c.root_end != NULL) {
		*used = (size_t)(c.root_end - mp);
		cx->noff = 0;
		cx->strs.len = 0;
		ev_jv_finish(cx);
		return 1;
	}
	/* anything else as ev_jschema_validate() has it */
	if (ev_mp_skip_fast(&p, mp + maxn) != 0) {
		*used = 0;
		cx->noff = 0;
		cx->strs.len = 0;
		ev_jv_finish(cx);
		return EV_EDATA;
	}
	*used = (size_t)(p - mp);
	return validate(sc, mp, *used, prefix, cx, JS_MAX_INST_DEPTH,
			JS_MAX_EVAL_DEPTH, JS_MAX_STEPS);
}

int js_check_meta(struct ev_jschema_set *s, struct jnode *meta, struct jdoc *d,
		  struct ev_error *err)
{
	struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
	int r;

	(void)s;
	if (cx == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	r = validate(meta, d->mp, d->n, NULL, cx, JS_MAX_SCHEMA_DEPTH, 4000,
		     UINT64_MAX);
	if (r == 0) {
		const struct ev_jschema_error *e = ev_jschema_error_at(cx, 0);

		ev_seterr(err, EV_EDATA, "%s: %s: %s (metaschema %s)", d->name,
			  *e->instance_path ? e->instance_path : "/",
			  e->message, e->schema_path);
	} else if (r < 0) {
		const struct ev_jschema_error *e = ev_jschema_error_at(cx, 0);

		ev_seterr(err, EV_EDATA, "%s: metaschema check failed: %s",
			  d->name, e ? e->message : "error");
	}
	ev_jschema_ctx_free(cx);
	return r;
}
