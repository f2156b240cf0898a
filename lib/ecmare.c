/*
 * ecmare.c - struct ev_ecmare: ECMA-262 regular expressions (the u flag,
 * as ajv 8 uses them for JSON Schema `pattern`, `patternProperties` and
 * the `regex` format) on PCRE2.
 *
 * The pattern is compiled by PCRE2 in UTF mode, JIT-compiled when the
 * platform has a JIT, and searched unanchored.  A match limit keeps a
 * hostile pattern from hanging a search.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "evlog.h"
#include "evlog_private.h"
#include "jschema_int.h"

/* backtracking steps and nesting of one search: enough for any sane
 * pattern on an event field, small enough to end a catastrophic one in
 * milliseconds */
#define ECMARE_MATCH_LIMIT 1000000u
#define ECMARE_DEPTH_LIMIT 10000u
#define ECMARE_HEAP_LIMIT 20000u /* KiB */

struct ev_ecmare {
	pcre2_code *code;
};

/* ---------------------------------------------------- match data, mcontext */

static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t md_key;
static pcre2_match_context *mctx; /* read-only after setup: shared */
static __thread pcre2_match_data *tls_md;

static void md_destroy(void *md)
{
	pcre2_match_data_free(md);
}

static void setup(void)
{
	(void)pthread_key_create(&md_key, md_destroy);
	mctx = pcre2_match_context_create(NULL);
	if (mctx != NULL) {
		pcre2_set_match_limit(mctx, ECMARE_MATCH_LIMIT);
		pcre2_set_depth_limit(mctx, ECMARE_DEPTH_LIMIT);
		pcre2_set_heap_limit(mctx, ECMARE_HEAP_LIMIT);
	}
}

/* One match data per thread: a search only asks whether there is a
 * match, so one pair of offsets serves every pattern (pcre2_match
 * returns 0 when the captures do not fit, which is still a match). */
static pcre2_match_data *thread_md(void)
{
	pcre2_match_data *md = tls_md;

	if (md != NULL)
		return md;
	md = pcre2_match_data_create(1, NULL);
	if (md == NULL)
		return NULL;
	tls_md = md;
	(void)pthread_setspecific(md_key, md);
	return md;
}

/* ------------------------------------------------------------- compiling */

static int compile(const char *pat, size_t n, pcre2_code **out, char *why,
		   size_t whylen)
{
	uint32_t opts = PCRE2_UTF | PCRE2_MATCH_INVALID_UTF |
			PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_BSUX |
			PCRE2_MATCH_UNSET_BACKREF | PCRE2_NEVER_BACKSLASH_C |
			PCRE2_NO_UTF_CHECK;
	pcre2_compile_context *cc;
	PCRE2_SIZE eoff = 0;
	int ecode = 0;
	char msg[160];

	*out = NULL;
	if (ev_utf8_valid((const uint8_t *)pat, n) != n) {
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "pattern is not valid UTF-8");
		return EV_EDATA;
	}
	cc = pcre2_compile_context_create(NULL);
	if (cc == NULL) {
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "out of memory");
		return EV_ERR;
	}
	pcre2_set_compile_extra_options(cc, PCRE2_EXTRA_ALT_BSUX);
	*out = pcre2_compile((PCRE2_SPTR)pat, n, opts, &ecode, &eoff, cc);
	pcre2_compile_context_free(cc);
	if (*out == NULL) {
		pcre2_get_error_message(ecode, (PCRE2_UCHAR *)msg, sizeof(msg));
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "at offset %zu: %s", (size_t)eoff,
				 msg);
		return EV_EDATA;
	}
	return 0;
}

int ev_ecmare_compile(const char *pat, size_t n, struct ev_ecmare **out,
		      char *why, size_t whylen)
{
	struct ev_ecmare *re;
	pcre2_code *code;
	int rc;

	*out = NULL;
	(void)pthread_once(&once, setup);
	rc = compile(pat, n, &code, why, whylen);
	if (rc != 0)
		return rc;
	re = calloc(1, sizeof(*re));
	if (re == NULL) {
		pcre2_code_free(code);
		if (why != NULL && whylen > 0)
			snprintf(why, whylen, "out of memory");
		return EV_ERR;
	}
	/* without a JIT (a platform without one) pcre2_match() interprets */
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	re->code = code;
	*out = re;
	return 0;
}

int ev_ecmare_search(const struct ev_ecmare *re, const char *s, size_t n)
{
	pcre2_match_data *md = thread_md();
	int rc;

	if (md == NULL)
		return EV_ERR;
	rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, 0, 0, md, mctx);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	return EV_ERR;
}

void ev_ecmare_free(struct ev_ecmare *re)
{
	if (re == NULL)
		return;
	pcre2_code_free(re->code);
	free(re);
}

int ev_ecmare_valid(const char *pat, size_t n)
{
	pcre2_code *code;

	if (compile(pat, n, &code, NULL, 0) != 0)
		return 0;
	pcre2_code_free(code);
	return 1;
}
