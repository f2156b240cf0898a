/*
 * dl_int.h - libraries loaded when a run needs them, not when a tool
 * starts: librdkafka (dlkafka_int.h) and libarchive (dlarchive_int.h).
 * Linked in, they cost every run of every tool the dynamic loader's
 * relocations of their own dependencies (OpenSSL, SASL, libxml2, ICU,
 * libstdc++): most of the start of a process.  Each is opened with
 * dlopen(3) by its SONAME the first time a Kafka client is made or an
 * archive opened, and its functions' addresses go into a table; its own
 * header still gives the types, and a macro per function turns each
 * call into a call through the table, so that the call sites read as
 * before.  Not installed.
 */
#ifndef EVLOG_DL_INT_H
#define EVLOG_DL_INT_H

#include <pthread.h>
#include <stddef.h>

#include "evlog_private.h"

/* a member of a table: the type of the function the header declares */
#define EV_DL_SLOT(f) __typeof__(f) *f;
/* the name and place of one, for ev_dl_load() */
#define EV_DL_SYM(tab, f) {#f, offsetof(tab, f)},

struct ev_dl_sym {
	const char *name;
	size_t off;
};

struct ev_dl {
	const char *soname; /* "librdkafka.so.1" */
	const char *env;    /* the variable that names another file */
	const struct ev_dl_sym *syms;
	size_t nsyms;
	void *table; /* syms[i].off into it: the function's address */
	pthread_mutex_t mu;
	int state;     /* 0 not tried, 1 loaded, -1 failed: why */
	char why[512]; /* "cannot load librdkafka.so.1: ..." */
};

#define EV_DL_INIT(soname, env, syms, table)                              \
	{                                                                 \
		soname, env, syms, sizeof(syms) / sizeof(syms[0]), table, \
			PTHREAD_MUTEX_INITIALIZER, 0, ""                  \
	}

/*
 * Load d's library once per process, and fill its table: 0, or
 * EV_EUNAVAIL with "WHAT 'SUBJECT': cannot load SONAME: WHY" in err
 * (without the quoted subject when it is NULL, and only from "cannot" on
 * when what is NULL).  A failure is kept: the
 * next call fails the same way without trying again.  Thread-safe.
 */
int ev_dl_load(struct ev_dl *d, const char *what, const char *subject,
	       struct ev_error *err);
/* The same, without a message: 1 when loaded, 0 when not (why in d). */
int ev_dl_ready(struct ev_dl *d);

#endif
