/*
 * schemacompat.c - struct ev_compat: are two JSON Schemas compatible, in
 * the Confluent Schema Registry's sense (evlog-schemas(5) COMPATIBILITY)?
 *
 * BACKWARD asks whether every instance valid under OLD is valid under NEW
 * (readers of NEW read what OLD wrote), FORWARD the same the other way,
 * FULL both.  Each is one "writer is a subset of reader" walk over the two
 * schema trees.  A schema is seen as a conjunction of object nodes (itself,
 * its local $ref targets, its allOf branches: a "view"); the writer's
 * anyOf/oneOf are split into one view per branch; a reader's anyOf/oneOf
 * must accept each writer view in one of its branches.  Every reader
 * keyword must then be implied by the writer's keywords.  What cannot be
 * decided this way is reported as incompatible (conservatively), and what
 * is assumed compatible without proof is a warning.
 *
 * Rules are named from the change OLD -> NEW: the reader NEW meets a
 * constraint the writer OLD lacked ("required-added", backward), or the
 * reader OLD meets one the writer NEW lacks ("required-removed", forward).
 *
 * This file holds the entry points: ev_compat_check() and the modes, the
 * issues found (struct ev_compat) and their report, text or JSON.  The
 * comparison runs in layers, each calling only those below it:
 * schemacompat_walk.c (the walk: two views compared, anyOf/oneOf, arrays
 * and objects), schemacompat_rules.c (a node's keywords),
 * schemacompat_view.c (views, the writer's summary, oneOf disjointness,
 * the issues recorded) and schemacompat_dom.c (the documents);
 * schemacompat_int.h holds what they share.  The schema files, and the
 * events checked with --data, are schemacompat_data.c's.
 */
#include <stdlib.h>
#include <string.h>

#include "schemacompat_int.h"

/* -------------------------------------------------------------- results */

void ev_compat_free(struct ev_compat *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		free((char *)c->v[i].path);
		free((char *)c->v[i].message);
	}
	free(c->v);
	free(c);
}

size_t ev_compat_count(const struct ev_compat *c)
{
	return c->n;
}

size_t ev_compat_failures(const struct ev_compat *c)
{
	return c->failures;
}

const struct ev_compat_issue *ev_compat_at(const struct ev_compat *c, size_t i)
{
	return i < c->n ? &c->v[i] : NULL;
}

/* ------------------------------------------------------------ the API */

static int draft7_of(const struct jv *root)
{
	const struct jv *s = ev_sc_get(root, "$schema");

	return s != NULL && s->t == J_STR &&
	       (strstr(s->s, "draft-07") != NULL ||
		strstr(s->s, "draft-06") != NULL ||
		strstr(s->s, "draft-04") != NULL);
}

static void free_res(struct jv *v)
{
	uint32_t i;

	if (v->t != J_OBJ && v->t != J_ARR)
		return;
	if (v->re != NULL)
		for (i = 0; i < v->n; i++)
			ev_ecmare_free(v->re[i]);
	for (i = 0; i < v->n; i++)
		free_res(&v->a[i]);
}

/* Each document in a validator set of its own (versions of a schema often
 * share their $id), checked against its metaschema and compiled as the
 * registry does: EV_EDATA for a bad schema.  A document whose refs do not
 * resolve alone (remote refs) has no set, and is compared structurally
 * only. */
static int jschema_open(struct cmp *cx, const uint8_t *old_mp, size_t old_n,
			const uint8_t *new_mp, size_t new_n,
			const char *const names[2], struct ev_error *err)
{
	static const char *const uri[2] = {"urn:evlog:compat:old",
					   "urn:evlog:compat:new"};
	const uint8_t *mp[2] = {old_mp, new_mp};
	size_t n[2] = {old_n, new_n};
	struct ev_jschema_opts o;
	struct ev_error e2;
	int i, r;

	memset(&o, 0, sizeof(o));
	o.check_meta = 1;
	cx->jcx = ev_jschema_ctx_new();
	for (i = 0; i < 2; i++) {
		if (ev_jschema_set_new(&cx->set[i], &o, &e2) != 0)
			continue;
		r = ev_jschema_add_mp(cx->set[i], mp[i], n[i], names[i], uri[i],
				      NULL, err);
		if (r == EV_EDATA)
			return r; /* a bad schema */
		if (r == 0)
			r = ev_jschema_set_compile(cx->set[i], &e2);
		if (r == EV_EDATA &&
		    strstr(e2.msg, "unresolvable $ref '") == NULL) {
			/* a schema the validator rejects ($ref cycle with
			 * no progress, ...) is as bad as a metaschema
			 * violation; only a ref it cannot resolve alone
			 * (another file, the network) is compared anyway */
			return ev_seterr(err, EV_EDATA, "%s", e2.msg);
		}
		if (r != 0) {
			ev_jschema_set_free(cx->set[i]);
			cx->set[i] = NULL;
		}
	}
	return 0;
}

static int bad_image(const struct arena *ar, const char *name,
		     struct ev_error *err)
{
	if (ar->dup_key != NULL)
		return ev_seterr(err, EV_EDATA, "%s: %s: key '%s' twice", name,
				 ar->dup_path[0] ? ar->dup_path : "/",
				 ar->dup_key);
	return ev_seterr(err, EV_EDATA, "%s: not a JSON image", name);
}

int ev_compat_check(struct ev_compat **out, const uint8_t *old_mp, size_t old_n,
		    const uint8_t *new_mp, size_t new_n,
		    enum ev_compat_mode mode, const char *old_name,
		    const char *new_name, struct ev_error *err)
{
	const char *names[2] = {old_name ? old_name : "old",
				new_name ? new_name : "new"};
	struct arena ar = {0};
	struct jdoc *docs = NULL;
	struct ev_compat *c = NULL;
	struct cmp *cx = NULL;
	const uint8_t *p;
	int rc = EV_ERR, built = 0;

	*out = NULL;
	if (mode < EV_COMPAT_BACKWARD || mode > EV_COMPAT_FULL)
		return ev_seterr(err, EV_EUSAGE, "unknown compatibility mode");
	docs = calloc(2, sizeof(*docs));
	c = calloc(1, sizeof(*c));
	cx = calloc(1, sizeof(*cx));
	if (docs == NULL || c == NULL || cx == NULL)
		goto oom;
	p = old_mp;
	if (ev_sc_build(&ar, &docs[0], &docs[0].root, &p, old_mp + old_n, "",
			0) != 0) {
		rc = ar.oom ? EV_ERR : bad_image(&ar, names[0], err);
		goto out;
	}
	built = 1;
	p = new_mp;
	if (ev_sc_build(&ar, &docs[1], &docs[1].root, &p, new_mp + new_n, "",
			0) != 0) {
		rc = ar.oom ? EV_ERR : bad_image(&ar, names[1], err);
		goto out;
	}
	built = 2;
	docs[1].is_new = 1;
	docs[0].draft7 = draft7_of(&docs[0].root);
	docs[1].draft7 = draft7_of(&docs[1].root);
	ev_sc_mark_embedded(&docs[0].root, 0, 1, 0);
	ev_sc_mark_embedded(&docs[1].root, 0, 1, 0);
	cx->res = c;
	cx->ar = &ar;
	cx->budget = BUDGET;
	if ((rc = jschema_open(cx, old_mp, old_n, new_mp, new_n, names, err)) !=
	    0)
		goto out;
	rc = EV_ERR;
	if (mode & EV_COMPAT_BACKWARD) {
		cx->reader_is_new = 1;
		ev_sc_check_nodes(cx, &docs[0].root, &docs[1].root,
				  "schema-false-added", "schema-false-removed",
				  &docs[1].root);
	}
	if (mode & EV_COMPAT_FORWARD) {
		cx->reader_is_new = 0;
		cx->budget = BUDGET;
		ev_sc_check_nodes(cx, &docs[1].root, &docs[0].root,
				  "schema-false-added", "schema-false-removed",
				  &docs[0].root);
	}
	if (c->oom || ar.oom)
		goto oom;
	*out = c;
	c = NULL;
	rc = 0;
	goto out;
oom:
	rc = ev_seterr(err, EV_ERR, "out of memory");
out:
	if (built >= 1)
		free_res(&docs[0].root);
	if (built >= 2)
		free_res(&docs[1].root);
	ev_compat_free(c);
	if (cx != NULL) {
		ev_jschema_set_free(cx->set[0]);
		ev_jschema_set_free(cx->set[1]);
		ev_jschema_ctx_free(cx->jcx);
	}
	free(cx);
	free(docs);
	ev_sc_arena_free(&ar);
	return rc;
}

int ev_compat_mode_parse(const char *s, enum ev_compat_mode *out)
{
	if (strcmp(s, "backward") == 0)
		*out = EV_COMPAT_BACKWARD;
	else if (strcmp(s, "forward") == 0)
		*out = EV_COMPAT_FORWARD;
	else if (strcmp(s, "full") == 0)
		*out = EV_COMPAT_FULL;
	else
		return EV_EUSAGE;
	return 0;
}

const char *ev_compat_mode_name(enum ev_compat_mode m)
{
	switch (m) {
	case EV_COMPAT_BACKWARD:
		return "backward";
	case EV_COMPAT_FORWARD:
		return "forward";
	case EV_COMPAT_FULL:
		return "full";
	}
	return "?";
}

/* ------------------------------------------------------------ reports */

static int put_issue_json(struct ev_buf *b, const struct ev_compat_issue *is)
{
	int rc = 0;

	rc |= ev_buf_puts(b, "{\"rule\":");
	rc |= ev_json_put_str(b, is->rule, strlen(is->rule));
	rc |= ev_buf_printf(b, ",\"direction\":\"%s\",\"schema\":\"%s\"",
			    is->direction == EV_COMPAT_BACKWARD ? "backward"
								: "forward",
			    is->in_new ? "new" : "old");
	rc |= ev_buf_puts(b, ",\"path\":");
	rc |= ev_json_put_str(b, is->path, strlen(is->path));
	rc |= ev_buf_puts(b, ",\"message\":");
	rc |= ev_json_put_str(b, is->message, strlen(is->message));
	rc |= ev_buf_putc(b, '}');
	return rc ? EV_ERR : 0;
}

int ev_compat_report(struct ev_buf *out, const struct ev_compat *c,
		     const char *old_name, const char *new_name,
		     enum ev_compat_mode mode, int json)
{
	size_t i, warnings = c->n - c->failures;
	int rc = 0, pass, first;

	if (json) {
		rc |= ev_buf_puts(out, "{\"old\":");
		rc |= ev_json_put_str(out, old_name, strlen(old_name));
		rc |= ev_buf_puts(out, ",\"new\":");
		rc |= ev_json_put_str(out, new_name, strlen(new_name));
		rc |= ev_buf_printf(out, ",\"mode\":\"%s\",\"compatible\":%s",
				    ev_compat_mode_name(mode),
				    c->failures ? "false" : "true");
		for (pass = 0; pass < 2; pass++) {
			rc |= ev_buf_puts(out,
					  pass ? ",\"warnings\":["
					       : ",\"incompatibilities\":[");
			for (i = 0, first = 1; i < c->n; i++) {
				if (c->v[i].warning != pass)
					continue;
				if (!first)
					rc |= ev_buf_putc(out, ',');
				first = 0;
				rc |= put_issue_json(out, &c->v[i]);
			}
			rc |= ev_buf_putc(out, ']');
		}
		rc |= ev_buf_putc(out, '}');
		return rc ? EV_ERR : 0;
	}
	for (pass = 0; pass < 2; pass++)
		for (i = 0; i < c->n; i++) {
			const struct ev_compat_issue *is = &c->v[i];

			if (is->warning != pass)
				continue;
			rc |= ev_buf_printf(out, "%s%s#%s: %s (%s): %s\n",
					    is->warning ? "warning: " : "",
					    is->in_new ? new_name : old_name,
					    is->path, is->rule,
					    is->direction == EV_COMPAT_BACKWARD
						    ? "backward"
						    : "forward",
					    is->message);
		}
	if (c->failures == 0)
		rc |= ev_buf_printf(out, "compatible (%s): %s -> %s",
				    ev_compat_mode_name(mode), old_name,
				    new_name);
	else
		rc |= ev_buf_printf(out, "incompatible (%s): %s -> %s: %zu %s",
				    ev_compat_mode_name(mode), old_name,
				    new_name, c->failures,
				    c->failures == 1 ? "incompatibility"
						     : "incompatibilities");
	if (warnings > 0)
		rc |= ev_buf_printf(out, "%s%zu %s", c->failures ? ", " : ": ",
				    warnings,
				    warnings == 1 ? "warning" : "warnings");
	rc |= ev_buf_putc(out, '\n');
	return rc ? EV_ERR : 0;
}
