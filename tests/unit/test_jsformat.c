/*
 * test_jsformat.c - lib/jsformat.c, the `format` checks: every test of
 * the official JSON-Schema-Test-Suite's draft2020-12/optional/format
 * files whose schema is {"$schema": ..., "format": X} and whose instance
 * is a string (other instances always pass a format), with a count per
 * format as a TAP comment; and cases of our own for what the suite
 * leaves out (offsets, durations, Punycode, lengths, hostile input).
 */
#include <dirent.h>

#include "unit.h"

#include "jschema_int.h"

/* ------------------------------------------------------------ the suite */

/*
 * Tests of the suite known to fail, each with its reason.  A listed test
 * that passes fails the run, so that the list stays true.
 */
static const struct known {
	const char *format, *description, *reason;
} known[] = {
	{NULL, NULL, NULL},
};

static const struct known *known_failure(const char *format, const char *desc)
{
	const struct known *k;

	for (k = known; k->format != NULL; k++)
		if (strcmp(k->format, format) == 0 &&
		    strcmp(k->description, desc) == 0)
			return k;
	return NULL;
}

struct count {
	char format[64];
	int pass, total;
};

static struct count *count_of(struct count *c, int *nc, const char *format)
{
	int i;

	for (i = 0; i < *nc; i++)
		if (strcmp(c[i].format, format) == 0)
			return &c[i];
	if (*nc >= 64)
		fail_msg("more than 64 formats");
	snprintf(c[*nc].format, sizeof(c[*nc].format), "%s", format);
	c[*nc].pass = c[*nc].total = 0;
	return &c[(*nc)++];
}

/* read a str item into a NUL-terminated buffer */
static void str_of(const struct ev_mp_item *it, char *buf, size_t n)
{
	if (it->type != EV_MP_STR || it->n >= n)
		fail_msg("a string of at most %zu bytes expected", n - 1);
	memcpy(buf, it->p, it->n);
	buf[it->n] = '\0';
}

/*
 * Find key in the map at *p (whose header is already read into m);
 * returns the start of its value or NULL.  *p is left past the map.
 */
static const uint8_t *map_get(const uint8_t **p, const uint8_t *end,
			      const struct ev_mp_item *m, const char *key,
			      uint32_t *nkeys)
{
	const uint8_t *found = NULL;
	struct ev_mp_item k;
	uint32_t i;

	*nkeys = m->n;
	for (i = 0; i < m->n; i++) {
		assert_int_equal(ev_mp_read(p, end, &k), 0);
		assert_int_equal(k.type, EV_MP_STR);
		if (k.n == strlen(key) && memcmp(k.p, key, k.n) == 0)
			found = *p;
		assert_int_equal(ev_mp_skip(p, end, 0), 0);
	}
	return found;
}

/* the format of a schema {"$schema": ..., "format": X}, or 0 */
static int schema_format(const uint8_t *p, const uint8_t *end, char *format,
			 size_t n)
{
	struct ev_mp_item m, f;
	const uint8_t *v, *q = p;
	uint32_t nkeys;

	if (ev_mp_read(&q, end, &m) != 0 || m.type != EV_MP_MAP)
		return 0;
	v = map_get(&q, end, &m, "format", &nkeys);
	if (v == NULL || nkeys > 2)
		return 0;
	if (nkeys == 2) {
		q = p;
		assert_int_equal(ev_mp_read(&q, end, &m), 0);
		if (map_get(&q, end, &m, "$schema", &nkeys) == NULL)
			return 0;
	}
	if (ev_mp_read(&v, end, &f) != 0 || f.type != EV_MP_STR)
		return 0;
	str_of(&f, format, n);
	return 1;
}

static int format_file(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

/* what one file's groups give; returns the unexpected failures */
static int run_file(const char *path, struct count *counts, int *nc,
		    int *known_seen)
{
	struct ev_buf mp = {0};
	struct ev_json js;
	struct ev_mp_item a, g, t;
	const uint8_t *p, *end;
	char *text;
	size_t len;
	uint32_t i, j, nkeys;
	int bad = 0;

	text = unit_read_file(path, &len);
	if (text == NULL)
		fail_msg("cannot read '%s'", path);
	ev_json_init(&js, text, len);
	if (ev_json_value(&js, &mp) != 0)
		fail_msg("'%s': %s", path, js.errmsg ? js.errmsg : "bad JSON");
	p = mp.p;
	end = mp.p + mp.len;
	assert_int_equal(ev_mp_read(&p, end, &a), 0);
	assert_int_equal(a.type, EV_MP_ARRAY);
	for (i = 0; i < a.n; i++) {
		const uint8_t *gp = p, *sv, *tv, *q;
		char format[64], gdesc[256];
		struct ev_mp_item s;

		assert_int_equal(ev_mp_read(&p, end, &g), 0);
		assert_int_equal(g.type, EV_MP_MAP);
		q = p;
		sv = map_get(&q, end, &g, "schema", &nkeys);
		q = p;
		tv = map_get(&q, end, &g, "tests", &nkeys);
		q = p;
		q = map_get(&q, end, &g, "description", &nkeys);
		assert_non_null(q);
		assert_int_equal(ev_mp_read(&q, end, &s), 0);
		str_of(&s, gdesc, sizeof(gdesc));
		p = gp;
		assert_int_equal(ev_mp_skip(&p, end, 0), 0);
		if (sv == NULL || tv == NULL ||
		    !schema_format(sv, end, format, sizeof(format))) {
			print_message("# skip group '%s': not a lone format\n",
				      gdesc);
			continue;
		}
		assert_int_equal(ev_mp_read(&tv, end, &t), 0);
		assert_int_equal(t.type, EV_MP_ARRAY);
		for (j = 0; j < t.n; j++) {
			const uint8_t *dv, *vv, *dsc, *tp;
			struct ev_mp_item tm, d, v, ds;
			struct count *c;
			const struct known *k;
			char desc[512];
			int r, got;

			assert_int_equal(ev_mp_read(&tv, end, &tm), 0);
			assert_int_equal(tm.type, EV_MP_MAP);
			tp = tv;
			dv = map_get(&tp, end, &tm, "data", &nkeys);
			tp = tv;
			vv = map_get(&tp, end, &tm, "valid", &nkeys);
			tp = tv;
			dsc = map_get(&tp, end, &tm, "description", &nkeys);
			tv = tp;
			assert_true(dv && vv && dsc);
			assert_int_equal(ev_mp_read(&vv, end, &v), 0);
			assert_int_equal(v.type, EV_MP_BOOL);
			assert_int_equal(ev_mp_read(&dsc, end, &ds), 0);
			str_of(&ds, desc, sizeof(desc));
			assert_int_equal(ev_mp_read(&dv, end, &d), 0);
			if (d.type != EV_MP_STR)
				continue; /* formats pass other types */
			c = count_of(counts, nc, format);
			c->total++;
			r = ev_jsformat_check(format, (const char *)d.p, d.n);
			got = r != 0; /* an unknown format passes */
			k = known_failure(format, desc);
			if (got == v.v.b) {
				c->pass++;
				if (k != NULL) {
					print_error("# %s: '%s' is listed as "
						    "failing but passes\n",
						    format, desc);
					bad++;
				}
				continue;
			}
			if (k != NULL) {
				(*known_seen)++;
				print_message("# known failure: %s: '%s': %s\n",
					      format, desc, k->reason);
				continue;
			}
			print_error("# %s: '%s' (%.*s): %s, want %s%s\n",
				    format, desc, (int)(d.n > 80 ? 80 : d.n),
				    (const char *)d.p,
				    r < 0 ? "unknown"
				    : got ? "valid"
					  : "invalid",
				    v.v.b ? "valid" : "invalid",
				    r < 0 ? " (format not checked)" : "");
			bad++;
		}
	}
	ev_buf_free(&mp);
	free(text);
	return bad;
}

static void test_suite(void **state)
{
	char dir[4096], path[8192];
	struct dirent **list = NULL;
	struct count counts[64];
	int n, i, nc = 0, bad = 0, known_seen = 0, total = 0, pass = 0;

	(void)state;
	unit_corpus("JSON-Schema-Test-Suite/tests/draft2020-12/optional/format",
		    dir, sizeof(dir));
	n = scandir(dir, &list, format_file, alphasort);
	if (n <= 0)
		fail_msg("'%s' holds no .json files", dir);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		bad += run_file(path, counts, &nc, &known_seen);
		free(list[i]);
	}
	free(list);
	for (i = 0; i < nc; i++) {
		print_message("# format %s: %d of %d\n", counts[i].format,
			      counts[i].pass, counts[i].total);
		pass += counts[i].pass;
		total += counts[i].total;
	}
	print_message("# formats: %d of %d string tests pass (%d known "
		      "failures)\n",
		      pass, total, known_seen);
	assert_true(nc >= 19 && total > 500);
	if (bad)
		fail_msg("%d format tests went the wrong way", bad);
}

/* ------------------------------------------------------ our own cases */

static void is(const char *format, const char *s, int want)
{
	int r = ev_jsformat_check(format, s, strlen(s));

	if (r != want)
		fail_msg("%s '%s': %d, want %d", format, s, r, want);
}

static void test_dates(void **state)
{
	(void)state;
	is("date-time", "2024-02-29T00:00:00Z", 1);
	is("date-time", "2023-02-29T00:00:00Z", 0);
	is("date-time", "2000-02-29T00:00:00Z", 1);
	is("date-time", "1900-02-29T00:00:00Z", 0);
	is("date-time", "2024-01-01T00:00:00.1+14:00", 1);
	is("date-time", "2024-01-01T00:00:00.+00:00", 0);
	is("date-time", "2024-01-01T00:00:00", 0);
	is("date-time", "2024-01-01 00:00:00Z", 0);
	is("date-time", "2024-01-01T00:00:00+0000", 0);
	is("date-time", "2024-01-01T00:00:00+00:00:00", 0);
	is("date-time", "2024-01-01T00:00Z", 0);
	is("date-time", "2024-12-31T23:59:60Z", 1);
	is("date-time", "2024-12-31T23:59:60.5Z", 1);
	is("date-time", "2025-01-01T00:59:60+01:00", 1);
	is("date-time", "2025-01-01T00:59:60-01:00", 0);
	is("date-time", "", 0);
	is("time", "00:00:00Z", 1);
	is("time", "23:59:59.999999999+23:59", 1);
	is("time", "23:59:59+24:00", 0);
	is("time", "23:59:59Z ", 0);
	is("time", "00:00:60+00:01", 1);
	is("time", "00:00:00Y", 0);
	is("time", "", 0);
	is("date", "0000-01-01", 1);
	is("date", "9999-12-31", 1);
	is("date", "2024-02-29", 1);
	is("date", "2024-02-30", 0);
	/* the length counts, not a NUL */
	assert_int_equal(ev_jsformat_check("date", "2024-01-01x", 10), 1);
	assert_int_equal(ev_jsformat_check("date", "2024-01-0", 9), 0);
}

static void test_durations(void **state)
{
	(void)state;
	is("duration", "P1Y2M3DT4H5M6S", 1);
	is("duration", "P1W", 1);
	is("duration", "PT1S", 1);
	is("duration", "P1Y1Y", 0);
	is("duration", "P1M1Y", 0);
	is("duration", "PT1S1M", 0);
	is("duration", "P1DT", 0);
	is("duration", "PT1HT1M", 0);
	is("duration", "P1W1D", 0);
	is("duration", "PW", 0);
	is("duration", "P1", 0);
	is("duration", "p1D", 0);
	is("duration", "PT1W", 0);
	is("duration", "P", 0);
}

static void test_hosts(void **state)
{
	char name[300];
	(void)state;
	is("hostname", "localhost", 1);
	is("hostname", "a.b.c", 1);
	is("hostname", "xn--bcher-kva.example", 1); /* bücher */
	is("hostname", "XN--BCHER-KVA.example", 1);
	is("hostname", "xn--bcher-kvaa.example", 1); /* büücher */
	is("hostname", "xn--bcher-k.example", 0);
	is("hostname", "xn--.example", 0);
	is("hostname", "xn--zz", 0);
	is("hostname", "ab--cd", 1);
	is("hostname", "a..b", 0);
	is("hostname", "a b", 0);
	is("hostname",
	   "b\xc3\xbc"
	   "cher.example",
	   0);
	is("idn-hostname",
	   "b\xc3\xbc"
	   "cher.example",
	   1);
	is("idn-hostname", "xn--bcher-kva.example", 1);
	is("idn-hostname", "ab--cd", 0);
	is("idn-hostname",
	   "B\xc3\x9c"
	   "CHER",
	   0);					/* upper case U+00DC */
	is("idn-hostname", "a\xff", 0);		/* not UTF-8 */
	is("idn-hostname", "a\xe3\x80\x82", 0); /* a trailing U+3002 */
	/* 253 octets in all, not 254 */
	memset(name, 'a', sizeof(name));
	name[63] = name[127] = name[191] = '.';
	name[253] = '\0';
	is("hostname", name, 1);
	is("idn-hostname", name, 1);
	name[253] = 'a';
	name[254] = '\0';
	is("hostname", name, 0);
	is("idn-hostname", name, 0);
	/* a long label of non-ASCII must not overflow the buffers */
	{
		char u[400];
		size_t i;

		for (i = 0; i + 2 < sizeof(u); i += 2) {
			u[i] = (char)0xc3;
			u[i + 1] = (char)0xbc;
		}
		u[i] = '\0';
		is("idn-hostname", u, 0);
	}
	is("hostname",
	   "xn--aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	   0);
}

static void test_email(void **state)
{
	(void)state;
	is("email", "a@b", 1);
	is("email", "a@b.", 0);
	is("email", "\"a\\\"b\"@c.d", 1);
	is("email", "\"a\"b@c.d", 0);
	is("email", "\"ab@c.d", 0);
	is("email", "a@[IPv6:fe80::1]", 1);
	is("email", "a@[ipv6:fe80::1]", 1);
	is("email", "a@[IPv6:1.2.3.4]", 0);
	is("email", "a@[1.2.3.4", 0);
	is("email", "a@[]", 0);
	is("email", "a@", 0);
	is("email", "\xc3\xa9@b.c", 0);
	is("idn-email", "\xc3\xa9@b.c", 1);
	is("idn-email", "\xc3@b.c", 0);
	is("email",
	   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	   "@b.c",
	   0);
}

static void test_misc(void **state)
{
	(void)state;
	is("uuid", "2eb8aa08-aa98-11ea-b4aa-73b441d16380", 1);
	is("uuid", "2eb8aa08-aa98-11ea-b4aa-73b441d1638g", 0);
	is("json-pointer", "/a~01", 1);
	is("json-pointer", "~0", 0);
	is("relative-json-pointer", "0", 1);
	is("relative-json-pointer", "0#x", 0);
	is("uri-template", "{a}{b}", 1);
	is("uri-template", "{", 0);
	is("uri-template", "{a:1*}", 0);
	is("uri-template", "%", 0);
	is("iri", "http://\xc3\xa9.fr/", 1);
	is("iri", "http://\xc3.fr/", 0);
	is("uri", "http://\xc3\xa9.fr/", 0);
	is("regex", "^(abc]", 0);
	is("regex", "(?<n>a)\\k<n>", 1);
	is("ipv4", "1.2.3.4", 1);
	is("ipv6", "::", 1);
	is("no-such-format", "x", -1);
	is("", "x", -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_suite),	  cmocka_unit_test(test_dates),
		cmocka_unit_test(test_durations), cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_email),	  cmocka_unit_test(test_misc),
	};

	return cmocka_run_group_tests_name("jsformat", tests, NULL, NULL);
}
