/*
 * unit.h - common includes for the cmocka unit tests.  The tests link
 * lib/libevlog.a and may use its private header to test internals.
 *
 * Also the small helpers every test file needs: the conformance corpora
 * (EVLOG_CONFORMANCE), temporary directories and whole-file reads.
 */
#ifndef EVLOG_UNIT_H
#define EVLOG_UNIT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "evlog.h"
#include "evlog_private.h"

/* Directory of the public corpora, or NULL. */
static inline const char *unit_conformance(void)
{
	return getenv("EVLOG_CONFORMANCE");
}

/*
 * Path of sub inside $EVLOG_CONFORMANCE, written to buf.  When the
 * variable is unset (a fresh clone has no ../shared), the test is
 * skipped with the reason, and counted as skipped; with
 * EVLOG_REQUIRE_CORPORA set (CI), it fails instead, so that a corpus
 * that should be there is never silently left out.  Set but missing is
 * always a failure.
 */
static inline const char *unit_corpus(const char *sub, char *buf, size_t n)
{
	const char *dir = unit_conformance();
	const char *req = getenv("EVLOG_REQUIRE_CORPORA");
	struct stat st;

	if ((dir == NULL || *dir == '\0') && req != NULL && *req != '\0') {
		print_message("# EVLOG_CONFORMANCE is not set, and "
			      "EVLOG_REQUIRE_CORPORA is: this test needs %s\n",
			      sub);
		fail();
	}
	if (dir == NULL || *dir == '\0') {
		print_message("# skip: needs %s from the conformance corpora: "
			      "set EVLOG_CONFORMANCE (tests/run sets it when "
			      "../shared/conformance exists)\n",
			      sub);
		skip();
	}
	snprintf(buf, n, "%s/%s", dir, sub);
	if (stat(buf, &st) != 0)
		fail_msg("EVLOG_CONFORMANCE is set but '%s' is missing", buf);
	return buf;
}

/* Whole file into a malloc'ed buffer (NUL-terminated); NULL on error. */
static inline char *unit_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p = NULL;
	long n;

	*len = 0;
	if (f == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (p = malloc((size_t)n + 1)) != NULL) {
		if (fread(p, 1, (size_t)n, f) != (size_t)n) {
			free(p);
			p = NULL;
		} else {
			p[n] = '\0';
			*len = (size_t)n;
		}
	}
	fclose(f);
	return p;
}

static inline int unit_write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	int ok;

	if (f == NULL)
		return -1;
	ok = fwrite(p, 1, n, f) == n;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static inline int unit_rm_one(const char *p, const struct stat *st, int flag,
			      struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p);
}

/* directories still to remove when the process ends: a failed test
 * leaves through longjmp, past its own clean-up */
static char *unit_tmpdirs[256];

static inline void unit_tmp_atexit(void)
{
	size_t i;

	for (i = 0; i < sizeof(unit_tmpdirs) / sizeof(unit_tmpdirs[0]); i++) {
		if (unit_tmpdirs[i] != NULL)
			nftw(unit_tmpdirs[i], unit_rm_one, 16,
			     FTW_DEPTH | FTW_PHYS);
		free(unit_tmpdirs[i]);
		unit_tmpdirs[i] = NULL;
	}
}

/* A fresh temporary directory; the caller removes it with unit_rmtree. */
static inline char *unit_tmpdir(void)
{
	static int registered;
	const char *base = getenv("TMPDIR");
	char tmpl[4096];
	char *d;
	size_t i;

	snprintf(tmpl, sizeof(tmpl), "%s/evlog-unit.XXXXXX",
		 base && *base ? base : "/tmp");
	d = mkdtemp(tmpl);
	assert_non_null(d);
	d = strdup(d);
	assert_non_null(d);
	if (!registered) {
		atexit(unit_tmp_atexit);
		registered = 1;
	}
	for (i = 0; i < sizeof(unit_tmpdirs) / sizeof(unit_tmpdirs[0]); i++)
		if (unit_tmpdirs[i] == NULL) {
			unit_tmpdirs[i] = d;
			break;
		}
	return d;
}

static inline void unit_rmtree(char *dir)
{
	size_t i;

	if (dir == NULL)
		return;
	for (i = 0; i < sizeof(unit_tmpdirs) / sizeof(unit_tmpdirs[0]); i++)
		if (unit_tmpdirs[i] == dir)
			unit_tmpdirs[i] = NULL;
	nftw(dir, unit_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
}

#endif
