/*
 * test_jschema_suite.c - the official JSON-Schema-Test-Suite against the
 * validator (lib/jschema*.c): draft 2020-12 from the conformance corpora
 * ($EVLOG_CONFORMANCE/JSON-Schema-Test-Suite) and draft-07 from Debian's
 * json-schema-test-suite package (/usr/share/json-schema-test-suite),
 * each with its remotes/ served as http://localhost:1234/.
 *
 * Every required test passes, except those listed in
 * tests/jschema-suite-skips.txt with their reason (at most 1% of a
 * suite).  The optional/ tests (formats asserted) are counted, not
 * failed.  A summary line per suite goes to stdout as a TAP comment.
 * EVLOG_JSCHEMA_VERBOSE=1 prints every failing optional test too.
 */
#include <dirent.h>

#include "unit.h"

#ifndef TOP_SRCDIR
#define TOP_SRCDIR "."
#endif

struct skips {
	char **line;
	size_t n;
	int *used;
};

static void load_skips(struct skips *sk)
{
	const char *top = getenv("TOP");
	char path[4096];
	FILE *f;
	char buf[4096];

	memset(sk, 0, sizeof(*sk));
	snprintf(path, sizeof(path), "%s/tests/jschema-suite-skips.txt",
		 top ? top : ".");
	f = fopen(path, "r");
	if (f == NULL)
		return;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		char *tab = strchr(buf, '\t');

		if (buf[0] == '#' || buf[0] == '\n')
			continue;
		if (tab != NULL)
			*tab = '\0';
		else
			buf[strcspn(buf, "\n")] = '\0';
		sk->line = realloc(sk->line, (sk->n + 1) * sizeof(char *));
		sk->line[sk->n++] = strdup(buf);
	}
	fclose(f);
	sk->used = calloc(sk->n + 1, sizeof(int));
}

static void free_skips(struct skips *sk)
{
	size_t i;

	for (i = 0; i < sk->n; i++)
		free(sk->line[i]);
	free(sk->line);
	free(sk->used);
}

static int skipped(struct skips *sk, const char *id)
{
	size_t i;

	for (i = 0; i < sk->n; i++)
		if (strcmp(sk->line[i], id) == 0) {
			sk->used[i] = 1;
			return 1;
		}
	return 0;
}

struct counts {
	int req, req_pass, req_known, req_fail;
	int opt, opt_pass;
	int inconsistent;
};

/* a string field of the map at p */
static int mp_field(const uint8_t *p, const uint8_t *end, const char *name,
		    const uint8_t **val)
{
	struct ev_mp_item it, k;
	uint32_t i;
	size_t nl = strlen(name);

	if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_MAP)
		return -1;
	for (i = 0; i < it.n; i++) {
		if (ev_mp_read(&p, end, &k) != 0)
			return -1;
		if (k.type == EV_MP_STR && k.n == nl &&
		    memcmp(k.p, name, nl) == 0) {
			*val = p;
			return 0;
		}
		if (ev_mp_skip(&p, end, -1000) != 0)
			return -1;
	}
	return -1;
}

static size_t mp_len(const uint8_t *p, const uint8_t *end)
{
	const uint8_t *q = p;

	if (ev_mp_skip(&q, end, -1000) != 0)
		return 0;
	return (size_t)(q - p);
}

static void mp_str(const uint8_t *p, const uint8_t *end, char *buf, size_t n)
{
	struct ev_mp_item it;

	buf[0] = '\0';
	if (ev_mp_read(&p, end, &it) == 0 && it.type == EV_MP_STR)
		snprintf(buf, n, "%.*s", (int)it.n, (const char *)it.p);
}

static int verbose(void)
{
	const char *v = getenv("EVLOG_JSCHEMA_VERBOSE");

	return v != NULL && *v && *v != '0';
}

static void run_file(const char *suite, const char *dir, const char *rel,
		     const char *remotes, int draft, int optional,
		     struct skips *sk, struct counts *ct)
{
	char path[16640], map[8300];
	const char *ref_dirs[2] = {map, NULL};
	struct ev_json js;
	struct ev_buf b = {0};
	struct ev_mp_item arr;
	const uint8_t *p, *end;
	char *text;
	size_t len;
	uint32_t g;
	int format = strstr(rel, "format") != NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	snprintf(map, sizeof(map), "http://localhost:1234/=%s", remotes);
	text = unit_read_file(path, &len);
	if (text == NULL)
		fail_msg("cannot read '%s'", path);
	ev_json_init(&js, text, len);
	js.depth = -1000;
	if (ev_json_value(&js, &b) != 0)
		fail_msg("'%s': not JSON", path);
	p = b.p;
	end = b.p + b.len;
	if (ev_mp_read(&p, end, &arr) != 0 || arr.type != EV_MP_ARRAY)
		fail_msg("'%s': not an array", path);
	for (g = 0; g < arr.n; g++) {
		const uint8_t *gp = p, *schema, *tests, *desc;
		char gdesc[512];
		struct ev_jschema_opts o = {0};
		struct ev_jschema_set *set = NULL;
		struct ev_jschema *root = NULL;
		struct ev_error err = {0};
		struct ev_mp_item tarr;
		int cerr;
		uint32_t t;

		ev_mp_skip(&p, end, -1000);
		if (mp_field(gp, end, "schema", &schema) != 0 ||
		    mp_field(gp, end, "tests", &tests) != 0 ||
		    mp_field(gp, end, "description", &desc) != 0)
			fail_msg("'%s': group %u malformed", path, g);
		mp_str(desc, end, gdesc, sizeof(gdesc));
		o.draft = (enum ev_jschema_draft)draft;
		o.ref_dirs = ref_dirs;
		o.formats_assert = optional && format;
		cerr = ev_jschema_set_new(&set, &o, &err);
		if (cerr == 0)
			cerr = ev_jschema_add_mp(set, schema,
						 mp_len(schema, end), rel, NULL,
						 &root, &err);
		if (cerr == 0)
			cerr = ev_jschema_set_compile(set, &err);
		ev_mp_read(&tests, end, &tarr);
		for (t = 0; t < tarr.n; t++) {
			const uint8_t *tp = tests, *data, *valid, *tdesc;
			struct ev_mp_item vi;
			char td[512], id[20000];
			struct ev_jschema_ctx *cx = ev_jschema_ctx_new();
			int r = -100, pass;

			ev_mp_skip(&tests, end, -1000);
			if (mp_field(tp, end, "data", &data) != 0 ||
			    mp_field(tp, end, "valid", &valid) != 0 ||
			    mp_field(tp, end, "description", &tdesc) != 0)
				fail_msg("'%s': test malformed", path);
			mp_str(tdesc, end, td, sizeof(td));
			ev_mp_read(&valid, end, &vi);
			if (cerr == 0)
				r = ev_jschema_validate(root, data,
							mp_len(data, end), NULL,
							cx);
			pass = (r == 1 && vi.v.b) || (r == 0 && !vi.v.b);
			/* the collecting pass agrees with the fast one */
			if ((r == 0 && ev_jschema_nerrors(cx) == 0) ||
			    (r == 1 && ev_jschema_nerrors(cx) != 0)) {
				print_error("# %s/%s: %s: %s: %d with %zu "
					    "errors\n",
					    suite, rel, gdesc, td, r,
					    ev_jschema_nerrors(cx));
				ct->inconsistent++;
			}
			snprintf(id, sizeof(id), "%s/%s: %s: %s", suite, rel,
				 gdesc, td);
			if (optional) {
				ct->opt++;
				ct->opt_pass += pass;
				if (!pass && verbose())
					print_message("# optional fail: %s "
						      "(got %d%s%s)\n",
						      id, r, cerr ? ": " : "",
						      cerr ? err.msg : "");
			} else {
				ct->req++;
				if (pass) {
					ct->req_pass++;
					if (skipped(sk, id))
						print_message(
							"# listed as a known "
							"failure but passes: "
							"%s\n",
							id);
				} else if (skipped(sk, id)) {
					ct->req_known++;
				} else {
					ct->req_fail++;
					print_error("# FAIL %s (want %s, got "
						    "%d%s%s)\n",
						    id,
						    vi.v.b ? "valid"
							   : "invalid",
						    r, cerr ? ": " : "",
						    cerr ? err.msg : "");
				}
			}
			ev_jschema_ctx_free(cx);
		}
		ev_jschema_set_free(set);
	}
	ev_buf_free(&b);
	free(text);
}

static int is_json(const struct dirent *d)
{
	size_t n = strlen(d->d_name);

	return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

static void run_dir(const char *suite, const char *dir, const char *sub,
		    const char *remotes, int draft, int optional,
		    struct skips *sk, struct counts *ct)
{
	char d[8192], rel[8192];
	struct dirent **list = NULL;
	int n, i;

	snprintf(d, sizeof(d), "%s%s%s", dir, *sub ? "/" : "", sub);
	n = scandir(d, &list, is_json, alphasort);
	if (n <= 0)
		fail_msg("'%s' holds no .json files", d);
	for (i = 0; i < n; i++) {
		snprintf(rel, sizeof(rel), "%s%s%s", sub, *sub ? "/" : "",
			 list[i]->d_name);
		run_file(suite, dir, rel, remotes, draft, optional, sk, ct);
		free(list[i]);
	}
	free(list);
}

static void run_suite(const char *suite, const char *tests, const char *remotes,
		      int draft)
{
	struct skips sk;
	struct counts ct = {0};
	char opt[8192];
	struct stat st;
	size_t i, listed = 0;

	load_skips(&sk);
	run_dir(suite, tests, "", remotes, draft, 0, &sk, &ct);
	snprintf(opt, sizeof(opt), "%s/optional", tests);
	if (stat(opt, &st) == 0) {
		run_dir(suite, tests, "optional", remotes, draft, 1, &sk, &ct);
		snprintf(opt, sizeof(opt), "%s/optional/format", tests);
		if (stat(opt, &st) == 0)
			run_dir(suite, tests, "optional/format", remotes, draft,
				1, &sk, &ct);
	}
	for (i = 0; i < sk.n; i++)
		if (strncmp(sk.line[i], suite, strlen(suite)) == 0 &&
		    sk.line[i][strlen(suite)] == '/')
			listed++;
	printf("# jschema suite %s: required %d of %d passed, %d listed as "
	       "known failures, %d failed; optional %d of %d passed\n",
	       suite, ct.req_pass, ct.req, ct.req_known, ct.req_fail,
	       ct.opt_pass, ct.opt);
	fflush(stdout);
	free_skips(&sk);
	assert_true(ct.req > 0);
	if (listed * 100 > (size_t)ct.req)
		fail_msg("%zu tests of %s listed as known failures: more "
			 "than 1%% of %d",
			 listed, suite, ct.req);
	if (ct.req_fail)
		fail_msg("%d required tests of %s failed", ct.req_fail, suite);
	if (ct.inconsistent)
		fail_msg("%d validations of %s answered against their errors",
			 ct.inconsistent, suite);
}

static void test_suite_2020_12(void **state)
{
	char dir[4096], tests[8192], remotes[8192];

	(void)state;
	unit_corpus("JSON-Schema-Test-Suite", dir, sizeof(dir));
	snprintf(tests, sizeof(tests), "%s/tests/draft2020-12", dir);
	snprintf(remotes, sizeof(remotes), "%s/remotes", dir);
	run_suite("draft2020-12", tests, remotes, EV_JS_DRAFT_2020_12);
}

static void test_suite_draft7(void **state)
{
	const char *base = "/usr/share/json-schema-test-suite";
	char tests[8192], remotes[8192];
	struct stat st;

	(void)state;
	snprintf(tests, sizeof(tests), "%s/tests/draft7", base);
	snprintf(remotes, sizeof(remotes), "%s/remotes", base);
	if (stat(tests, &st) != 0) {
		const char *req = getenv("EVLOG_REQUIRE_CORPORA");

		if (req != NULL && *req != '\0')
			fail_msg("'%s' is missing (Debian package "
				 "json-schema-test-suite; .ci/deps test "
				 "installs it)",
				 tests);
		print_message("# skip: needs '%s' (Debian package "
			      "json-schema-test-suite)\n",
			      tests);
		skip();
	}
	run_suite("draft7", tests, remotes, EV_JS_DRAFT_7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suite_2020_12),
		cmocka_unit_test(test_suite_draft7),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
