/*
 * test_json.c - lib/json.c (JSON text to msgpack) and lib/jsonout.c
 * (msgpack to JSON text): JSONTestSuite, exact integers, shortest floats,
 * strings and UTF-8, duplicate keys, nesting, the msgpack -> JSON ->
 * msgpack round trip, and the column and message of parse errors.
 */
#include <dirent.h>
#include <float.h>
#include <math.h>

#include "unit.h"

/* --------------------------------------------------------------- helpers */

/* Parse a whole document: one value with only whitespace around it. */
static int parse_doc(const char *p, size_t n, struct ev_buf *out,
		     const char **why)
{
	struct ev_json js;

	out->len = 0;
	ev_json_init(&js, p, n);
	if (ev_json_ws(&js) < 0) {
		*why = "empty document";
		return -1;
	}
	if (ev_json_value(&js, out) != 0) {
		*why = js.errmsg ? js.errmsg : "(no message)";
		return -1;
	}
	if (ev_json_ws(&js) >= 0) {
		*why = "characters after the value";
		return -1;
	}
	*why = NULL;
	return 0;
}

static int parse_str(const char *s, struct ev_buf *out, const char **why)
{
	return parse_doc(s, strlen(s), out, why);
}

/* JSON text -> msgpack -> JSON text, as a NUL-terminated malloc'ed string */
static char *reprint(const char *s)
{
	struct ev_buf mp = {0}, js = {0};
	struct ev_error err;
	const char *why;
	char *r;

	if (parse_str(s, &mp, &why) != 0)
		fail_msg("'%s' was rejected: %s", s, why);
	if (ev_msgpack_to_json(mp.p, mp.len, &js, &err) != 0)
		fail_msg("'%s' does not print back: %s", s, err.msg);
	r = strndup((const char *)js.p, js.len);
	ev_buf_free(&mp);
	ev_buf_free(&js);
	return r;
}

static void expect_reject(const char *s)
{
	struct ev_buf mp = {0};
	const char *why;

	if (parse_str(s, &mp, &why) == 0)
		fail_msg("'%s' was accepted", s);
	ev_buf_free(&mp);
}

static void expect_bytes(const char *s, const uint8_t *want, size_t n)
{
	struct ev_buf mp = {0};
	const char *why;
	size_t i;

	if (parse_str(s, &mp, &why) != 0)
		fail_msg("'%s' was rejected: %s", s, why);
	if (mp.len != n || memcmp(mp.p, want, n) != 0) {
		print_error("'%s' encoded as", s);
		for (i = 0; i < mp.len; i++)
			print_error(" %02x", mp.p[i]);
		print_error("\n");
		fail();
	}
	ev_buf_free(&mp);
}

/* files of the JSONTestSuite test_parsing directory, sorted */
static int json_file(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return n > 5 && strcmp(d->d_name + n - 5, ".json") == 0;
}

static struct dirent **suite_files(int *count, char *dir, size_t dn)
{
	struct dirent **list = NULL;

	unit_corpus("JSONTestSuite/test_parsing", dir, dn);
	*count = scandir(dir, &list, json_file, alphasort);
	if (*count <= 0)
		fail_msg("'%s' holds no .json files", dir);
	return list;
}

static void free_list(struct dirent **list, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* --------------------------------------------------------------- suite */

static void test_jsontestsuite(void **state)
{
	char dir[4096], path[8192];
	struct dirent **list;
	struct ev_buf mp = {0};
	const char *why;
	char *text;
	size_t len;
	int n, i, ok, bad = 0, y = 0, no = 0;

	(void)state;
	list = suite_files(&n, dir, sizeof(dir));
	for (i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		text = unit_read_file(path, &len);
		if (text == NULL)
			fail_msg("cannot read '%s'", path);
		ok = parse_doc(text, len, &mp, &why) == 0;
		if (name[0] == 'y') {
			y++;
			if (!ok) {
				print_error("# y_ case rejected: %s: %s\n",
					    name, why);
				bad++;
			}
		} else if (name[0] == 'n') {
			no++;
			if (ok) {
				print_error("# n_ case accepted: %s\n", name);
				bad++;
			}
		} else {
			print_message("# %s: %s%s%s\n", name,
				      ok ? "accepted" : "rejected",
				      ok ? "" : ": ", ok ? "" : why);
		}
		free(text);
	}
	ev_buf_free(&mp);
	free_list(list, n);
	print_message("# %d y_ and %d n_ cases\n", y, no);
	assert_true(y > 90 && no > 180);
	if (bad)
		fail_msg("%d JSONTestSuite cases went the wrong way", bad);
}

/*
 * y_ corpus: parse, print, parse again and print again.  After one
 * normalisation pass nothing changes: the msgpack bytes are identical
 * (integers exact, floats shortest round-trip, strings and key order
 * kept) and so is the text.
 */
static void test_roundtrip_corpus(void **state)
{
	char dir[4096], path[8192];
	struct dirent **list;
	struct ev_buf mp1 = {0}, mp2 = {0}, j1 = {0}, j2 = {0};
	struct ev_error err;
	const char *why;
	char *text;
	size_t len;
	int n, i, bad = 0;

	(void)state;
	list = suite_files(&n, dir, sizeof(dir));
	for (i = 0; i < n; i++) {
		const char *name = list[i]->d_name;
		if (name[0] != 'y')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		text = unit_read_file(path, &len);
		assert_non_null(text);
		if (parse_doc(text, len, &mp1, &why) != 0) {
			free(text);
			continue; /* reported by test_jsontestsuite */
		}
		free(text);
		j1.len = j2.len = 0;
		if (ev_msgpack_to_json(mp1.p, mp1.len, &j1, &err) != 0) {
			print_error("# %s: does not print: %s\n", name,
				    err.msg);
			bad++;
			continue;
		}
		if (parse_doc((const char *)j1.p, j1.len, &mp2, &why) != 0) {
			print_error(
				"# %s: printed text '%.*s' is rejected: %s\n",
				name, (int)j1.len, j1.p, why);
			bad++;
			continue;
		}
		if (mp1.len != mp2.len || memcmp(mp1.p, mp2.p, mp1.len) != 0) {
			print_error("# %s: msgpack differs after '%.*s'\n",
				    name, (int)j1.len, j1.p);
			bad++;
			continue;
		}
		if (ev_msgpack_to_json(mp2.p, mp2.len, &j2, &err) != 0 ||
		    j1.len != j2.len || memcmp(j1.p, j2.p, j1.len) != 0) {
			print_error("# %s: text not stable\n", name);
			bad++;
		}
	}
	ev_buf_free(&mp1);
	ev_buf_free(&mp2);
	ev_buf_free(&j1);
	ev_buf_free(&j2);
	free_list(list, n);
	if (bad)
		fail_msg("%d y_ cases do not round-trip", bad);
}

/* y_object_duplicated_key*: both members kept, in input order */
static void test_duplicate_keys(void **state)
{
	static const uint8_t dup[] = {0x82, 0xa1, 'a',	0xa1, 'b',
				      0xa1, 'a',  0xa1, 'c'};
	static const uint8_t dup_same[] = {0x82, 0xa1, 'a',  0xa1, 'b',
					   0xa1, 'a',  0xa1, 'b'};
	char dir[4096], path[8192];
	char *text;
	size_t len;

	(void)state;
	unit_corpus("JSONTestSuite/test_parsing", dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/y_object_duplicated_key.json", dir);
	text = unit_read_file(path, &len);
	assert_non_null(text);
	expect_bytes(text, dup, sizeof(dup));
	free(text);
	snprintf(path, sizeof(path),
		 "%s/y_object_duplicated_key_and_value.json", dir);
	text = unit_read_file(path, &len);
	assert_non_null(text);
	expect_bytes(text, dup_same, sizeof(dup_same));
	free(text);
	text = reprint("{\"a\":\"b\",\"a\":\"c\"}");
	assert_string_equal(text, "{\"a\":\"b\",\"a\":\"c\"}");
	free(text);
}

/* --------------------------------------------------------------- numbers */

static void expect_int(const char *s, int is_uint, uint64_t u, int64_t i)
{
	struct ev_buf mp = {0};
	struct ev_mp_item it;
	const uint8_t *p;
	const char *why;
	char *back;

	if (parse_str(s, &mp, &why) != 0)
		fail_msg("'%s' was rejected: %s", s, why);
	p = mp.p;
	assert_int_equal(ev_mp_read(&p, mp.p + mp.len, &it), 0);
	assert_ptr_equal(p, mp.p + mp.len);
	if (is_uint) {
		if (it.type != EV_MP_UINT || it.v.u != u)
			fail_msg("'%s' is not the uint64 %llu", s,
				 (unsigned long long)u);
	} else {
		if (it.type != EV_MP_INT || it.v.i != i)
			fail_msg("'%s' is not the int64 %lld", s, (long long)i);
	}
	ev_buf_free(&mp);
	back = reprint(s);
	assert_string_equal(back, s);
	free(back);
}

static void test_integers_exact(void **state)
{
	(void)state;
	expect_int("0", 1, 0, 0);
	expect_int("-1", 0, 0, -1);
	expect_int("127", 1, 127, 0);
	expect_int("-32", 0, 0, -32);
	expect_int("-33", 0, 0, -33);
	expect_int("9223372036854775807", 1, INT64_MAX, 0);
	expect_int("-9223372036854775808", 0, 0, INT64_MIN);
	expect_int("18446744073709551615", 1, UINT64_MAX, 0);
	expect_int("9007199254740993", 1, (1ull << 53) + 1, 0);
	expect_int("-9007199254740993", 0, 0, -(int64_t)((1ull << 53) + 1));
	expect_int("4294967296", 1, 4294967296ull, 0);
	expect_int("-2147483649", 0, 0, -2147483649ll);
}

static void expect_float(const char *s, double want)
{
	struct ev_buf mp = {0};
	struct ev_mp_item it;
	const uint8_t *p;
	const char *why;

	if (parse_str(s, &mp, &why) != 0)
		fail_msg("'%s' was rejected: %s", s, why);
	p = mp.p;
	assert_int_equal(ev_mp_read(&p, mp.p + mp.len, &it), 0);
	if (it.type != EV_MP_FLOAT)
		fail_msg("'%s' is not a float64 (type %d)", s, (int)it.type);
	if (memcmp(&it.v.f, &want, sizeof(want)) != 0)
		fail_msg("'%s' became %.17g, want %.17g", s, it.v.f, want);
	ev_buf_free(&mp);
}

/* integers beyond int64/uint64 become the nearest float64 */
static void test_big_integers_become_float(void **state)
{
	(void)state;
	expect_float("18446744073709551616", 18446744073709551616.0);
	expect_float("-9223372036854775809", -9223372036854775809.0);
	expect_float("123456789012345678901234567890",
		     123456789012345678901234567890.0);
	expect_float("1.0", 1.0);
	expect_float("1E2", 100.0);
	expect_float("-0.0", -0.0);
	expect_float("0.1", 0.1);
	expect_float("2.2250738585072014e-308", 2.2250738585072014e-308);
	expect_float("4.9406564584124654e-324", 4.9406564584124654e-324);
	expect_float("1.7976931348623157e308", DBL_MAX);
	/* correctly rounded where the fast path cannot be used */
	expect_float("9007199254740993.0", 9007199254740992.0);
	expect_float("0.30000000000000004", 0.30000000000000004);
	expect_float("1e-400", 0.0);
}

static void test_out_of_range_rejected(void **state)
{
	(void)state;
	expect_reject("1e400");
	expect_reject("-1e400");
	expect_reject("1.8e308");
	expect_reject("[1e99999999999999]");
}

/* Significant digits of a printed number (mantissa, no leading zeros). */
static int sig_digits(const char *s)
{
	int n = 0, started = 0, trailing = 0;

	for (; *s && *s != 'e' && *s != 'E'; s++) {
		if (*s < '0' || *s > '9')
			continue;
		if (*s == '0' && !started)
			continue;
		started = 1;
		n++;
		trailing = *s == '0' ? trailing + 1 : 0;
	}
	return n - trailing;
}

/* fewest significant digits that read back as d */
static int shortest_digits(double d)
{
	char buf[64];
	int prec;

	if (d == 0)
		return 0;
	for (prec = 1; prec <= 17; prec++) {
		long long m;
		int x, k;
		snprintf(buf, sizeof(buf), "%.*e", prec - 1, d);
		if (strtod(buf, NULL) == d)
			return prec;
		/* the neighbours of the nearest, which a power of two's
		 * lopsided rounding interval may hold instead */
		m = llabs(strtoll(buf, NULL, 10));
		for (k = 2; k < prec + 1; k++)
			m = m * 10 + (buf[k + (d < 0)] - '0');
		x = atoi(strchr(buf, 'e') + 1) - (prec - 1);
		for (k = -1; k <= 1; k += 2) {
			char nb[64];
			snprintf(nb, sizeof(nb), "%lld", m + k);
			if ((int)strlen(nb) != prec)
				continue;
			snprintf(nb + prec, sizeof(nb) - (size_t)prec, "e%d",
				 x);
			if (strtod(nb, NULL) == fabs(d))
				return prec;
		}
	}
	return 17;
}

/* print a double through the transcoder and check the text */
static void check_printed(double d, const char *want)
{
	uint8_t mp[16], *e;
	struct ev_buf out = {0};
	struct ev_error err;
	char *text, *end;
	double back;

	e = ev_mp_double(mp, d);
	if (ev_msgpack_to_json(mp, (size_t)(e - mp), &out, &err) != 0)
		fail_msg("%.17g does not print: %s", d, err.msg);
	text = strndup((const char *)out.p, out.len);
	ev_buf_free(&out);
	if (want != NULL && strcmp(text, want) != 0)
		fail_msg("%.17g printed as '%s', want '%s'", d, text, want);
	back = strtod(text, &end);
	if (*end != '\0' || memcmp(&back, &d, sizeof(d)) != 0)
		fail_msg("%.17g printed as '%s', which reads back as %.17g", d,
			 text, back);
	if (strpbrk(text, ".eE") == NULL)
		fail_msg(
			"%.17g printed as '%s', which reads back as an integer",
			d, text);
	if (sig_digits(text) != shortest_digits(d))
		fail_msg("%.17g printed as '%s' (%d digits); the shortest form "
			 "that round-trips has %d",
			 d, text, sig_digits(text), shortest_digits(d));
	free(text);
}

static void test_floats_print_shortest(void **state)
{
	char *t;

	(void)state;
	check_printed(0.1, "0.1");
	check_printed(0.19, "0.19");
	t = reprint("0.1900");
	assert_string_equal(t, "0.19");
	free(t);
	check_printed(-0.0, "-0.0");
	check_printed(0.0, "0.0");
	check_printed(100.0, NULL);
	check_printed(1e300, NULL);
	check_printed(-1e300, NULL);
	check_printed(1.5, "1.5");
	check_printed(123456.789, "123456.789");
	check_printed(0.30000000000000004, "0.30000000000000004");
	check_printed(1e21, NULL);
	check_printed(1e-7, NULL);
	check_printed(DBL_MAX, NULL);
	check_printed(2.2250738585072014e-308, NULL);
	t = reprint("100.0");
	if (strcmp(t, "100.0") != 0 && strpbrk(t, "eE") == NULL)
		fail_msg("100.0 printed as '%s'", t);
	free(t);
}

/* The notation evlog(5) gives: fixed from 1e-5 to 1e15, and above
 * while the digits reach the units, whatever the number of digits below
 * 1e-4; shortest also for powers of two, whose rounding interval is
 * lopsided. */
static void test_floats_notation(void **state)
{
	(void)state;
	check_printed(0x1p-24, "5.960464477539063e-08");
	check_printed(0x1p-44, "5.684341886080802e-14");
	check_printed(0x1p89, "6.189700196426902e+26");
	check_printed(-0x1p976, "-6.386688990511104e+293");
	check_printed(1e15, "1e+15");
	check_printed(1234567890123456.0, "1234567890123456.0");
	check_printed(12345678901234568.0, "12345678901234568.0");
	check_printed(1234567890123456.8, "1234567890123456.8");
	check_printed(0x1p53, "9007199254740992.0");
	check_printed(1.5e15, "1.5e+15");
	check_printed(1e16, "1e+16");
	check_printed(1.2345678901234566e17, "1.2345678901234566e+17");
	check_printed(999999999999999.9, "999999999999999.9");
	check_printed(100000000000000.0, "100000000000000.0");
	check_printed(1e-5, "0.00001");
	check_printed(1.2345678901234568e-05, "0.000012345678901234568");
	check_printed(9.999999999999999e-06, "9.999999999999999e-06");
	check_printed(1e-7, "1e-07");
	check_printed(-1.25e-07, "-1.25e-07");
	check_printed(1e300, "1e+300");
	check_printed(5e-324, "5e-324");
	check_printed(DBL_MAX, "1.7976931348623157e+308");
	check_printed(100.0, "100.0");
	check_printed(0.1f, "0.10000000149011612");
}

/* the smallest subnormals: shortest is one or two digits */
static void test_floats_print_shortest_subnormal(void **state)
{
	(void)state;
	check_printed(5e-324, NULL);
	check_printed(1e-320, NULL);
	check_printed(-2.5e-320, NULL);
	check_printed(1e-310, NULL);
}

/* many pseudo-random normal doubles: each prints shortest, as a float */
static void test_floats_random(void **state)
{
	uint64_t x = 0x9E3779B97F4A7C15ull, bits;
	double d;
	int i;

	(void)state;
	for (i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		bits = x;
		memcpy(&d, &bits, 8);
		if (!isfinite(d) || fpclassify(d) == FP_SUBNORMAL)
			continue;
		check_printed(d, NULL);
		/* and a few short decimals */
		check_printed((double)(int)(x % 100000) / 1000.0, NULL);
	}
}

/* --------------------------------------------------------------- strings */

static void test_string_escapes(void **state)
{
	static const uint8_t esc[] = {0xa8, '"',  '\\', '/', '\b',
				      '\f', '\n', '\r', '\t'};
	static const uint8_t uni[] = {0xab, 'A',  0xc3, 0xa9, 0xe2, 0x82,
				      0xac, 0xf0, 0x9f, 0x98, 0x80, 0x00};
	static const uint8_t gclef[] = {0xa4, 0xf0, 0x9d, 0x84, 0x9e};
	char *t;

	(void)state;
	expect_bytes("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", esc, sizeof(esc));
	expect_bytes("\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\\u0000\"", uni,
		     sizeof(uni));
	expect_bytes("\"\\uD834\\uDD1E\"", gclef, sizeof(gclef));
	/* printing escapes what JSON needs and nothing else */
	t = reprint("\"\\u0001\\u001f\\\"\\\\\\/\\n\\t\\u007f\\u00e9\"");
	assert_string_equal(t, "\"\\u0001\\u001f\\\"\\\\/\\n\\t\x7f\xc3\xa9\"");
	free(t);
}

/* Strings with more bytes after them in the buffer print through an 8-byte
 * load of their tail: on a big-endian machine the string's bytes are the
 * word's high ones (the mask once kept the low ones there, and "s" printed
 * as "a").  Every length up to 24, each followed by another value. */
static void test_string_tails(void **state)
{
	static const char abc[] = "sbcdefghijklmnopqrstuvwxyz";
	char in[128];
	char *t;
	int n;

	(void)state;
	for (n = 0; n <= 24; n++) {
		snprintf(in, sizeof(in), "[\"%.*s\",\"%.*s\",12345678]", n, abc,
			 n, abc + 1);
		t = reprint(in);
		assert_string_equal(t, in);
		free(t);
	}
}

static void test_lone_surrogates_rejected(void **state)
{
	(void)state;
	expect_reject("\"\\ud800\"");
	expect_reject("\"\\udc00\"");
	expect_reject("\"\\udfff\"");
	expect_reject("\"\\ud800x\"");
	expect_reject("\"\\ud800\\u0041\"");
	expect_reject("\"\\ud800\\ud800\"");
	expect_reject("\"\\ude00\\ud83d\"");
	expect_reject("\"\\ud83d\\u");
	expect_reject("\"\\u12\"");
	expect_reject("\"\\u12g4\"");
	expect_reject("\"\\x41\"");
	expect_reject("\"\\\"");
}

static void test_invalid_utf8_rejected(void **state)
{
	static const char *const bad[] = {
		"\xc3",		    /* truncated 2-byte */
		"\xe2\x82",	    /* truncated 3-byte */
		"\xf0\x9f\x98",	    /* truncated 4-byte */
		"\xc0\xaf",	    /* overlong '/' */
		"\xe0\x80\xaf",	    /* overlong */
		"\xf0\x80\x80\xaf", /* overlong */
		"\xed\xa0\x80",	    /* UTF-8 encoded surrogate */
		"\xf4\x90\x80\x80", /* beyond U+10FFFF */
		"\xf5\x80\x80\x80",
		"\x80", /* lone continuation */
		"\xff",
		"\xfe",
		"\xc3\x28",
	};
	char buf[128];
	size_t i, pos;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		/* at every position of a string long enough for the
		 * vectorised scan */
		for (pos = 0; pos < 40; pos++) {
			memset(buf, 'a', sizeof(buf));
			buf[0] = '"';
			memcpy(buf + 1 + pos, bad[i], strlen(bad[i]));
			buf[1 + pos + strlen(bad[i]) + 20] = '"';
			buf[1 + pos + strlen(bad[i]) + 21] = '\0';
			expect_reject(buf);
		}
	}
}

static void test_control_chars_rejected(void **state)
{
	char buf[64];
	int c;
	size_t pos;

	(void)state;
	for (c = 0; c < 0x20; c++) {
		for (pos = 0; pos < 34; pos++) {
			memset(buf, 'x', sizeof(buf));
			buf[0] = '"';
			buf[1 + pos] = (char)c;
			buf[40] = '"';
			/* embedded NUL: parse by length */
			struct ev_buf mp = {0};
			const char *why;
			if (parse_doc(buf, 41, &mp, &why) == 0)
				fail_msg("raw control character 0x%02x at %zu "
					 "accepted",
					 c, pos);
			ev_buf_free(&mp);
		}
	}
	/* DEL and non-ASCII are fine */
	{
		char *t = reprint(
			"\"a\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z\"");
		assert_string_equal(
			t, "\"a\x7f\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80z\"");
		free(t);
	}
}

/* escapes at every position around the 16-byte vector boundary */
static void test_string_positions(void **state)
{
	char in[128], want[128];
	size_t pos, i;
	char *t;

	(void)state;
	for (pos = 0; pos < 40; pos++) {
		i = 0;
		in[i++] = '"';
		memset(in + i, 'q', pos);
		i += pos;
		memcpy(in + i, "\\n\\u00e9\\\"", 10);
		i += 10;
		memset(in + i, 'r', 17);
		i += 17;
		in[i++] = '"';
		in[i] = '\0';
		i = 0;
		want[i++] = '"';
		memset(want + i, 'q', pos);
		i += pos;
		memcpy(want + i, "\\n\xc3\xa9\\\"", 6);
		i += 6;
		memset(want + i, 'r', 17);
		i += 17;
		want[i++] = '"';
		want[i] = '\0';
		t = reprint(in);
		assert_string_equal(t, want);
		free(t);
	}
}

/* --------------------------------------------------------------- nesting */

static char *nested(int depth, int objects)
{
	char *s = malloc((size_t)depth * 6 + 8), *o = s;
	int i;

	assert_non_null(s);
	for (i = 0; i < depth; i++) {
		if (objects && i % 2) {
			memcpy(o, "{\"k\":", 5);
			o += 5;
		} else {
			*o++ = '[';
		}
	}
	*o++ = '1';
	for (i = depth - 1; i >= 0; i--)
		*o++ = objects && i % 2 ? '}' : ']';
	*o = '\0';
	return s;
}

static void test_nesting_limit(void **state)
{
	struct ev_buf mp = {0};
	struct ev_json js;
	const char *why;
	char *s;
	int objects;

	(void)state;
	for (objects = 0; objects < 2; objects++) {
		s = nested(EV_MAX_DEPTH, objects);
		if (parse_str(s, &mp, &why) != 0)
			fail_msg("nesting of %d rejected: %s", EV_MAX_DEPTH,
				 why);
		free(s);
		s = nested(EV_MAX_DEPTH + 1, objects);
		ev_json_init(&js, s, strlen(s));
		mp.len = 0;
		assert_int_equal(ev_json_value(&js, &mp), EV_EDATA);
		assert_non_null(js.errmsg);
		assert_non_null(strstr(js.errmsg, "nesting"));
		/* the error is at the 65th opening bracket */
		assert_int_equal((int)ev_json_column(js.start, js.errp),
				 objects ? 32 * 5 + 32 + 1 : EV_MAX_DEPTH + 1);
		free(s);
	}
	ev_buf_free(&mp);
}

/* a value the transcoder accepts prints back, however deep */
static void test_nesting_prints_back(void **state)
{
	struct ev_buf mp = {0}, out = {0};
	struct ev_error err;
	const char *why;
	char *s;
	int depth;

	(void)state;
	for (depth = EV_MAX_DEPTH - 2; depth <= EV_MAX_DEPTH; depth++) {
		s = nested(depth, 1);
		assert_int_equal(parse_str(s, &mp, &why), 0);
		out.len = 0;
		if (ev_msgpack_to_json(mp.p, mp.len, &out, &err) != 0)
			fail_msg("nesting of %d is accepted but does not print "
				 "back: %s",
				 depth, err.msg);
		assert_int_equal(out.len, strlen(s));
		assert_memory_equal(out.p, s, out.len);
		free(s);
	}
	ev_buf_free(&mp);
	ev_buf_free(&out);
}

/* --------------------------------------------------------------- errors */

struct err_case {
	const char *line;
	size_t column;
	const char *msg;
};

static void test_error_column_and_message(void **state)
{
	static const struct err_case cases[] = {
		{"{\"type\":\"t\",\"data\":tru}", 20, "invalid literal"},
		{"{\"type\":\"t\",\"data\":[1,2,]}", 25, "expected value"},
		{"{\"type\":\"\xc3\xa9\",\"data\":x}", 20, "expected value"},
		{"{\"type\":\"a\xff"
		 "b\"}",
		 11, "invalid UTF-8 in string"},
		{"{\"type\":\"a\tb\"}", 11, "control character in string"},
		{"{\"type\":\"abc", 13, "unterminated string"},
		{"{\"type\":\"t\",\"data\":01}", 21, "leading zero in number"},
		{"{\"type\":\"t\",\"data\":1e400}", 20,
		 "number out of range for float64"},
		{"{\"type\":\"t\",\"data\":\"\\ud800\"}", 21,
		 "lone surrogate in \\u escape"},
		{"{\"type\":\"t\"} x", 14,
		 "unexpected characters after the event"},
		{"", 1, "empty line, expected an event"},
		{"[1]", 1, "expected '{': an event is a JSON object"},
		{"{\"type\":\"t\",\"data\":{\"a\" 1}}", 25,
		 "expected ':' after object key"},
		{"{\"type\":\"t\",\"data\":{\"a\":1,}}", 27,
		 "expected string key in object"},
	};
	struct ev_parse_opts o;
	struct ev_parser *ps;
	struct ev_error err;
	size_t i;
	int r;

	(void)state;
	memset(&o, 0, sizeof(o));
	ps = ev_parser_new(&o);
	assert_non_null(ps);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ev_error_clear(&err);
		r = ev_parser_line(ps, cases[i].line, strlen(cases[i].line),
				   1700000000000000000, &err);
		if (r != EV_EDATA)
			fail_msg("'%s' gave %d, want EV_EDATA", cases[i].line,
				 r);
		if (strcmp(err.msg, cases[i].msg) != 0 ||
		    err.column != cases[i].column)
			fail_msg(
				"'%s': got column %zu '%s', want column %zu '%s'",
				cases[i].line, err.column, err.msg,
				cases[i].column, cases[i].msg);
	}
	ev_parser_free(ps);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_jsontestsuite),
		cmocka_unit_test(test_roundtrip_corpus),
		cmocka_unit_test(test_duplicate_keys),
		cmocka_unit_test(test_integers_exact),
		cmocka_unit_test(test_big_integers_become_float),
		cmocka_unit_test(test_out_of_range_rejected),
		cmocka_unit_test(test_floats_print_shortest),
		cmocka_unit_test(test_floats_print_shortest_subnormal),
		cmocka_unit_test(test_floats_notation),
		cmocka_unit_test(test_floats_random),
		cmocka_unit_test(test_string_escapes),
		cmocka_unit_test(test_string_tails),
		cmocka_unit_test(test_lone_surrogates_rejected),
		cmocka_unit_test(test_invalid_utf8_rejected),
		cmocka_unit_test(test_control_chars_rejected),
		cmocka_unit_test(test_string_positions),
		cmocka_unit_test(test_nesting_limit),
		cmocka_unit_test(test_nesting_prints_back),
		cmocka_unit_test(test_error_column_and_message),
	};

	return cmocka_run_group_tests_name("json", tests, NULL, NULL);
}
