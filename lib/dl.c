/*
 * dl.c - a library loaded the first time a run needs it (dl_int.h).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl_int.h"

/* dlerror()'s text without the file name it starts with */
static const char *dl_why(const char *file)
{
	const char *s = dlerror();
	size_t n = strlen(file);

	if (s == NULL)
		return "unknown error";
	if (strncmp(s, file, n) == 0 && strncmp(s + n, ": ", 2) == 0)
		s += n + 2;
	return s;
}

/* 1 loaded, -1 not (d->why says why); under d->mu */
static int dl_open(struct ev_dl *d)
{
	const char *env = d->env != NULL ? secure_getenv(d->env) : NULL;
	const char *file = env != NULL && env[0] != '\0' ? env : d->soname;
	char from[300] = "";
	void *h, *f;
	size_t i;

	if (file != d->soname)
		snprintf(from, sizeof(from), " from '%.200s' (%s)", file,
			 d->env);
	dlerror();
	/* RTLD_LOCAL: its symbols serve only the calls through the table */
	if ((h = dlopen(file, RTLD_LAZY | RTLD_LOCAL)) == NULL) {
		snprintf(d->why, sizeof(d->why), "cannot load %s%s: %s",
			 d->soname, from, dl_why(file));
		return -1;
	}
	for (i = 0; i < d->nsyms; i++) {
		if ((f = dlsym(h, d->syms[i].name)) == NULL) {
			/* an older release, or another library */
			snprintf(d->why, sizeof(d->why),
				 "cannot load %s%s: it has no function '%s'",
				 d->soname, from, d->syms[i].name);
			dlclose(h);
			return -1;
		}
		memcpy((char *)d->table + d->syms[i].off, &f, sizeof(f));
	}
	return 1; /* never closed: the table points into it */
}

int ev_dl_ready(struct ev_dl *d)
{
	int st = __atomic_load_n(&d->state, __ATOMIC_ACQUIRE);

	if (st != 0)
		return st > 0;
	pthread_mutex_lock(&d->mu);
	if ((st = d->state) == 0) {
		st = dl_open(d);
		__atomic_store_n(&d->state, st, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&d->mu);
	return st > 0;
}

int ev_dl_load(struct ev_dl *d, const char *what, const char *subject,
	       struct ev_error *err)
{
	if (ev_dl_ready(d))
		return 0;
	if (what == NULL)
		return ev_seterr(err, EV_EUNAVAIL, "%s", d->why);
	if (subject != NULL)
		return ev_seterr(err, EV_EUNAVAIL, "%s '%s': %s", what, subject,
				 d->why);
	return ev_seterr(err, EV_EUNAVAIL, "%s: %s", what, d->why);
}
