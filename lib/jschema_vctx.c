/*
 * jschema_vctx.c - struct ev_jschema_ctx, the errors of the last
 * validation: made, freed and read (ev_jschema_ctx_*, ev_jschema_error_at),
 * cleared and added to by the registry, and recorded as the walk finds
 * them (ev_jv_err_add, with the instance path it keeps), with the errors
 * of the limits that no applicator hides (a regex's match limit, the step
 * budget, nesting).  Calls nothing of the other files of the validator.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jschema_validate_int.h"

struct ev_jschema_ctx *ev_jschema_ctx_new(void)
{
	return calloc(1, sizeof(struct ev_jschema_ctx));
}

void ev_jschema_ctx_free(struct ev_jschema_ctx *cx)
{
	if (cx == NULL)
		return;
	ev_buf_free(&cx->path);
	ev_buf_free(&cx->strs);
	free(cx->off);
	free(cx->errs);
	free(cx);
}

size_t ev_jschema_nerrors(const struct ev_jschema_ctx *cx)
{
	return cx->nerrs;
}

const struct ev_jschema_error *
ev_jschema_error_at(const struct ev_jschema_ctx *cx, size_t i)
{
	return i < cx->nerrs ? &cx->errs[i] : NULL;
}

/* The registry's own errors (schemadir.c; declared in jschema_int.h). */
void ev_jschema_ctx_clear(struct ev_jschema_ctx *cx)
{
	cx->nerrs = 0;
	cx->noff = 0;
	cx->strs.len = 0;
}

int ev_jschema_ctx_add_error(struct ev_jschema_ctx *cx,
			     const char *instance_path, const char *schema_path,
			     const char *keyword, const char *message)
{
	const char *v[4] = {instance_path, schema_path, keyword, message};
	size_t at[4], i;
	struct jerr_off e;

	if (cx->max_errors > 0 && cx->noff >= cx->max_errors)
		return 0;
	if (cx->noff == cx->capoff) {
		size_t nc = cx->capoff ? 2 * cx->capoff : 16;
		struct jerr_off *no = realloc(cx->off, nc * sizeof(*no));

		if (no == NULL)
			return EV_ERR;
		cx->off = no;
		cx->capoff = nc;
	}
	for (i = 0; i < 4; i++) {
		at[i] = cx->strs.len;
		if (ev_buf_puts(&cx->strs, v[i] != NULL ? v[i] : "") != 0 ||
		    ev_buf_putc(&cx->strs, '\0') != 0)
			return EV_ERR;
	}
	e.ip = at[0];
	e.sp = at[1];
	e.kw = at[2];
	e.msg = at[3];
	cx->off[cx->noff++] = e;
	ev_jv_finish(cx);
	return cx->nerrs == cx->noff ? 0 : EV_ERR;
}

void ev_jv_err_add(struct vctx *c, const struct jnode *n, const char *kwpath,
		   const char *kw, const char *fmt, ...)
{
	struct ev_jschema_ctx *cx = c->cx;
	struct jerr_off e;
	va_list ap;
	char m[512];

	if (cx->noff >= cx->max_errors) {
		c->full = 1;
		return;
	}
	if (cx->noff == cx->capoff) {
		size_t nc = cx->capoff ? 2 * cx->capoff : 16;
		struct jerr_off *no = realloc(cx->off, nc * sizeof(*no));

		if (no == NULL)
			return;
		cx->off = no;
		cx->capoff = nc;
	}
	e.ip = cx->strs.len;
	ev_buf_append(&cx->strs, cx->path.p, cx->path.len);
	ev_buf_putc(&cx->strs, '\0');
	e.sp = cx->strs.len;
	ev_buf_printf(&cx->strs, "%s#%s%s%s", n->doc->name, n->path,
		      *kwpath ? "/" : "", kwpath);
	ev_buf_putc(&cx->strs, '\0');
	e.kw = cx->strs.len;
	ev_buf_puts(&cx->strs, kw);
	ev_buf_putc(&cx->strs, '\0');
	e.msg = cx->strs.len;
	va_start(ap, fmt);
	vsnprintf(m, sizeof(m), fmt, ap);
	va_end(ap);
	ev_buf_puts(&cx->strs, m);
	if (ev_buf_putc(&cx->strs, '\0') != 0)
		return;
	cx->off[cx->noff++] = e;
}

size_t ev_jv_path_push_key(struct vctx *c, const char *k, size_t kn)
{
	size_t at = c->cx->path.len, i;

	ev_buf_putc(&c->cx->path, '/');
	for (i = 0; i < kn; i++) {
		if (k[i] == '~')
			ev_buf_append(&c->cx->path, "~0", 2);
		else if (k[i] == '/')
			ev_buf_append(&c->cx->path, "~1", 2);
		else
			ev_buf_putc(&c->cx->path, k[i]);
	}
	return at;
}

size_t ev_jv_path_push_idx(struct vctx *c, size_t i)
{
	size_t at = c->cx->path.len;

	ev_buf_printf(&c->cx->path, "/%zu", i);
	return at;
}

void ev_jv_path_pop(struct vctx *c, size_t at)
{
	c->cx->path.len = at;
}

/* a regex that hit PCRE2's match limit: no answer, so an error of the
 * instance (at the pattern's schema path) that no applicator hides */
int ev_jv_re_limit(struct vctx *c, const struct jnode *n, const char *kwpath,
		   const char *kw, const char *src, uint32_t srclen)
{
	int saved = c->collect;

	c->collect = 1;
	ev_jv_err_add(c, n, kwpath, kw,
		      "regex match limit exceeded for pattern '%.*s'",
		      (int)(srclen > 200 ? 200 : srclen), src);
	c->collect = saved;
	return EV_EDATA;
}

void ev_jv_finish(struct ev_jschema_ctx *cx)
{
	size_t i;
	const char *b = (const char *)cx->strs.p;

	if (cx->noff > cx->caperrs) {
		struct ev_jschema_error *ne =
			realloc(cx->errs, cx->noff * sizeof(*ne));

		if (ne == NULL) {
			cx->nerrs = 0;
			return;
		}
		cx->errs = ne;
		cx->caperrs = cx->noff;
	}
	for (i = 0; i < cx->noff; i++) {
		cx->errs[i].instance_path = b + cx->off[i].ip;
		cx->errs[i].schema_path = b + cx->off[i].sp;
		cx->errs[i].keyword = b + cx->off[i].kw;
		cx->errs[i].message = b + cx->off[i].msg;
	}
	cx->nerrs = cx->noff;
}

/* a short quoted rendering of a string for messages */
const char *ev_jv_qstr(char *b, size_t bn, const uint8_t *s, size_t n)
{
	if (n > bn - 4) {
		snprintf(b, bn, "%.*s...", (int)(bn - 8), (const char *)s);
		return b;
	}
	memcpy(b, s, n);
	b[n] = '\0';
	return b;
}

/* exponential work (through the instance's nesting): an error */
int ev_jv_over_budget(struct vctx *c, const struct jnode *n)
{
	int saved = c->collect;

	c->collect = 1;
	ev_jv_err_add(
		c, n, "", "$ref",
		"validation exceeded its budget of %llu steps in '%s': the "
		"schema branches exponentially",
		(unsigned long long)c->max_steps, n->doc->name);
	c->collect = saved;
	return EV_EDATA;
}

int ev_jv_too_deep(struct vctx *c, const struct jnode *n)
{
	int saved = c->collect;

	c->collect = 1;
	ev_jv_err_add(c, n, "", "$ref", "schema recursion too deep at %s#%s",
		      n->doc->name, n->path);
	c->collect = saved;
	return EV_EDATA;
}

int ev_jv_inst_too_deep(struct vctx *c, const struct jnode *n)
{
	int saved = c->collect;

	c->collect = 1;
	ev_jv_err_add(c, n, "", "",
		      "invalid instance: nested deeper than %d levels",
		      c->max_idepth);
	c->collect = saved;
	c->idepth--;
	return EV_EDATA;
}
