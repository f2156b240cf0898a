/*
 * upcast_load.c - a set of upcasting steps loaded from a path (a spec
 * file, a Lua step, or a directory of them read in name order, each by
 * upcast_parse.c), its chains checked whole (one step from each version,
 * no gap) and made ready (the quicker table, the plans); and a set, or
 * a worker of one, freed.
 */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "luaval_int.h"
#include "upcast_int.h"

static int ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);

	return n > m && strcmp(s + n - m, suf) == 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(struct ev_upcaster *u, const char *path,
		    struct ev_error *err)
{
	DIR *d = opendir(path);
	struct dirent *de;
	char **names = NULL, **nv, *full;
	size_t n = 0, i;
	int r = 0;

	if (d == NULL)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot open '%s'",
				       path);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    !(ends_with(de->d_name, ".upcast") ||
		      ends_with(de->d_name, ".lua")))
			continue;
		nv = realloc(names, (n + 1) * sizeof(*nv));
		if (nv == NULL || (nv[n] = strdup(de->d_name)) == NULL) {
			if (nv != NULL)
				names = nv;
			r = ev_seterr(err, EV_ERR, "out of memory");
			goto out;
		}
		names = nv;
		n++;
	}
	if (n == 0) {
		r = ev_seterr(err, EV_EUSAGE,
			      "'%s' has no spec files (*.upcast) and no Lua "
			      "steps (TYPE.N.lua)",
			      path);
		goto out;
	}
	qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n && r == 0; i++) {
		if (asprintf(&full, "%s%s%s", path,
			     ends_with(path, "/") ? "" : "/", names[i]) < 0) {
			r = ev_seterr(err, EV_ERR, "out of memory");
			break;
		}
		r = ends_with(names[i], ".lua")
			    ? ev_upcast_load_lua(u, full, err)
			    : ev_upcast_load_spec(u, full, err);
		free(full);
	}
out:
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return r;
}

static int step_cmp(const void *a, const void *b)
{
	const struct step *x = *(const struct step *const *)a;
	const struct step *y = *(const struct step *const *)b;

	if (x->from != y->from)
		return (x->from > y->from) - (x->from < y->from);
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Each chain's steps in order, one per version, with no gap. */
static int check_chains(struct ev_upcaster *u, struct ev_error *err)
{
	size_t i, j;

	for (i = 0; i < u->nchains; i++) {
		struct chain *c = u->chains[i];
		if (c->nsteps == 0)
			return ev_seterr(err, EV_EUSAGE,
					 "%s:%u: type %s has no steps: give "
					 "it one with 'from N'",
					 c->file, c->line, c->type);
		qsort(c->steps, c->nsteps, sizeof(*c->steps), step_cmp);
		for (j = 1; j < c->nsteps; j++) {
			struct step *a = c->steps[j - 1], *b = c->steps[j];
			if (a->from == b->from)
				return ev_seterr(
					err, EV_EUSAGE,
					"%s:%u: a second step of %s from "
					"version %" PRIu64
					" (the first is at %s:%u)",
					b->file, b->line, c->type, b->from,
					a->file, a->line);
			if (b->from != a->from + 1)
				return ev_seterr(
					err, EV_EUSAGE,
					"%s:%u: %s has no step from version "
					"%" PRIu64 " (between the steps from "
					"%" PRIu64 " and %" PRIu64 ")",
					b->file, b->line, c->type, a->from + 1,
					a->from, b->from);
		}
		c->min = c->steps[0]->from;
		c->max = c->steps[c->nsteps - 1]->from;
	}
	return 0;
}

int ev_upcaster_load(struct ev_upcaster **out, const char *path,
		     struct ev_error *err)
{
	struct ev_upcaster *u = calloc(1, sizeof(*u));
	struct stat st;
	int r;

	*out = NULL;
	if (u == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (stat(path, &st) != 0) {
		r = ev_seterr_errno(err, errno == ENOENT ? EV_ENOENT : EV_EIO,
				    errno, "cannot open '%s'", path);
	} else if (S_ISDIR(st.st_mode)) {
		r = load_dir(u, path, err);
	} else if (ends_with(path, ".lua")) {
		r = ev_upcast_load_lua(u, path, err);
	} else {
		r = ev_upcast_load_spec(u, path, err);
	}
	if (r == 0)
		r = check_chains(u, err);
	if (r == 0 &&
	    (ev_upcast_make_qtab(u) != 0 || ev_upcast_plans_make(u) != 0))
		r = ev_seterr(err, EV_ERR, "out of memory");
	if (r != 0) {
		ev_upcaster_free(u);
		return r;
	}
	*out = u;
	return 0;
}

static void path_free(struct path *pa)
{
	free(pa->text);
	free(pa->seg);
	free(pa->kid);
	memset(pa, 0, sizeof(*pa));
}

static void step_free(struct step *st)
{
	size_t i;

	for (i = 0; i < st->nops; i++) {
		struct op *op = &st->ops[i];
		path_free(&op->a);
		path_free(&op->b);
		ev_buf_free(&op->val);
		free(op->map);
		free(op->type);
	}
	free(st->ops);
	free(st);
}

void ev_upcaster_free(struct ev_upcaster *u)
{
	size_t i, j;

	if (u == NULL)
		return;
	if (u->borrowed) {
		ev_arena_free(&u->arena);
		ev_buf_free(&u->out);
		ev_buf_free(&u->tmp);
		ev_buf_free(&u->dbuf);
		ev_buf_free(&u->mbuf);
		free(u->ends);
		free(u);
		return;
	}
	ev_upcast_plans_free(u);
	for (i = 0; i < u->nchains; i++) {
		for (j = 0; j < u->chains[i]->nsteps; j++)
			step_free(u->chains[i]->steps[j]);
		free(u->chains[i]->steps);
		free(u->chains[i]->type);
		free(u->chains[i]);
	}
	free(u->chains);
	free(u->tab);
	free(u->qtab);
	for (i = 0; i < u->nfiles; i++)
		free(u->files[i]);
	free(u->files);
	ev_lua_free(u->lua);
	ev_arena_free(&u->arena);
	ev_buf_free(&u->out);
	ev_buf_free(&u->tmp);
	ev_buf_free(&u->dbuf);
	ev_buf_free(&u->mbuf);
	free(u->ends);
	for (i = 0; i < u->cs_cap; i++)
		free(u->cs[i].type);
	free(u->cs);
	free(u->rows);
	free(u);
}
