/*
 * test_uri.c - lib/uri.c: RFC 3986 reference resolution (the examples
 * of section 5.4, normal and abnormal, and the bases JSON Schema meets:
 * urn:, file:, http(s): without a path, fragments, empty references),
 * the strict URI and URI-reference grammar, IP literals, fragments and
 * percent-decoding.
 */
#include "unit.h"

#include "jschema_int.h"

static void resolves(const char *base, const char *ref, const char *want)
{
	char *got = NULL;
	int r = ev_uri_resolve(base, ref, &got);

	if (r != 0)
		fail_msg("'%s' against '%s': %d", ref, base ? base : "(null)",
			 r);
	if (strcmp(got, want) != 0)
		fail_msg("'%s' against '%s': '%s', want '%s'", ref,
			 base ? base : "(null)", got, want);
	free(got);
}

/* RFC 3986 5.4.1 */
static void test_rfc_normal(void **state)
{
	const char *b = "http://a/b/c/d;p?q";
	(void)state;

	resolves(b, "g:h", "g:h");
	resolves(b, "g", "http://a/b/c/g");
	resolves(b, "./g", "http://a/b/c/g");
	resolves(b, "g/", "http://a/b/c/g/");
	resolves(b, "/g", "http://a/g");
	resolves(b, "//g", "http://g");
	resolves(b, "?y", "http://a/b/c/d;p?y");
	resolves(b, "g?y", "http://a/b/c/g?y");
	resolves(b, "#s", "http://a/b/c/d;p?q#s");
	resolves(b, "g#s", "http://a/b/c/g#s");
	resolves(b, "g?y#s", "http://a/b/c/g?y#s");
	resolves(b, ";x", "http://a/b/c/;x");
	resolves(b, "g;x", "http://a/b/c/g;x");
	resolves(b, "g;x?y#s", "http://a/b/c/g;x?y#s");
	resolves(b, "", "http://a/b/c/d;p?q");
	resolves(b, ".", "http://a/b/c/");
	resolves(b, "./", "http://a/b/c/");
	resolves(b, "..", "http://a/b/");
	resolves(b, "../", "http://a/b/");
	resolves(b, "../g", "http://a/b/g");
	resolves(b, "../..", "http://a/");
	resolves(b, "../../", "http://a/");
	resolves(b, "../../g", "http://a/g");
}

/* RFC 3986 5.4.2 */
static void test_rfc_abnormal(void **state)
{
	const char *b = "http://a/b/c/d;p?q";
	(void)state;

	resolves(b, "../../../g", "http://a/g");
	resolves(b, "../../../../g", "http://a/g");
	resolves(b, "/./g", "http://a/g");
	resolves(b, "/../g", "http://a/g");
	resolves(b, "g.", "http://a/b/c/g.");
	resolves(b, ".g", "http://a/b/c/.g");
	resolves(b, "g..", "http://a/b/c/g..");
	resolves(b, "..g", "http://a/b/c/..g");
	resolves(b, "./../g", "http://a/b/g");
	resolves(b, "./g/.", "http://a/b/c/g/");
	resolves(b, "g/./h", "http://a/b/c/g/h");
	resolves(b, "g/../h", "http://a/b/c/h");
	resolves(b, "g;x=1/./y", "http://a/b/c/g;x=1/y");
	resolves(b, "g;x=1/../y", "http://a/b/c/y");
	resolves(b, "g?y/./x", "http://a/b/c/g?y/./x");
	resolves(b, "g?y/../x", "http://a/b/c/g?y/../x");
	resolves(b, "g#s/./x", "http://a/b/c/g#s/./x");
	resolves(b, "g#s/../x", "http://a/b/c/g#s/../x");
	resolves(b, "http:g", "http:g"); /* strict parsers */
}

/* the bases and references of JSON Schema documents */
static void test_schema_bases(void **state)
{
	(void)state;

	/* urn: fragments and whole URNs; a relative path merges into the
	 * opaque path as 5.2.3 says (no '/': it replaces it) */
	resolves("urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed", "#/$defs/bar",
		 "urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed#/$defs/bar");
	resolves("urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed", "#something",
		 "urn:uuid:deadbeef-1234-ffff-ffff-4321feebdaed#something");
	resolves("urn:example:a", "urn:example:b#x", "urn:example:b#x");
	resolves("urn:example:a", "b", "urn:b");
	resolves("tag:example.com,2021:a/b", "c", "tag:example.com,2021:a/c");
	/* file: with an empty authority, and without one */
	resolves("file:///schemas/Order/1.json", "../common.json#/$defs/money",
		 "file:///schemas/common.json#/$defs/money");
	resolves("file:///schemas/Order/1.json", "2.json",
		 "file:///schemas/Order/2.json");
	resolves("file:///schemas/Order/1.json", "/x.json", "file:///x.json");
	resolves("file:/schemas/a.json", "b.json", "file:/schemas/b.json");
	/* no path: the merge adds the '/' */
	resolves("http://localhost:1234", "bar.json",
		 "http://localhost:1234/bar.json");
	resolves("https://example.com", "#x", "https://example.com#x");
	resolves("https://example.com", "", "https://example.com");
	resolves("http://localhost:1234/tree", "node",
		 "http://localhost:1234/node");
	resolves("http://localhost:1234/draft2020-12/", "baseUriChange/",
		 "http://localhost:1234/draft2020-12/baseUriChange/");
	/* the base's fragment never survives */
	resolves("http://example.com/root.json#/a", "",
		 "http://example.com/root.json");
	resolves("http://example.com/root.json#/a", "#/b",
		 "http://example.com/root.json#/b");
	resolves("http://example.com/a/root.json", "#",
		 "http://example.com/a/root.json#");
	/* an absolute reference keeps its scheme; its dots go */
	resolves("http://example.com/a", "https://other.org/x/../y#f",
		 "https://other.org/y#f");
	/* a relative base: the algorithm still runs */
	resolves("dir/a.json", "b.json", "dir/b.json");
	resolves(NULL, "http://x/y", "http://x/y");
	resolves("", "#f", "#f");
	/* query and case left as they are */
	resolves("HTTP://Example.COM/a?q", "?r", "HTTP://Example.COM/a?r");
}

static void test_resolve_errors(void **state)
{
	char *out = (char *)"x";
	(void)state;

	assert_int_equal(ev_uri_resolve("http://a/", NULL, &out), EV_EDATA);
	assert_null(out);
}

static void is_valid(const char *s, int rel, int want)
{
	if (ev_uri_valid(s, strlen(s), rel) != want)
		fail_msg("'%s' as %s: %s, want %s", s,
			 rel ? "uri-reference" : "uri",
			 want ? "invalid" : "valid",
			 want ? "valid" : "invalid");
}

static void test_valid(void **state)
{
	static const char *const both[] = {
		"http://foo.bar/?baz=qux#quux",
		"http://foo.com/blah_(wikipedia)_blah#cite-1",
		"http://foo.bar/?q=Test%20URL-encoded%20stuff",
		"http://xn--nw2a.xn--j6w193g/",
		"http://-.~_!$&'()*+,;=:%40:80%2f::::::@example.com",
		"http://223.255.255.254",
		"ftp://ftp.is.co.za/rfc/rfc1808.txt",
		"ldap://[2001:db8::7]/c=GB?objectClass?one",
		"mailto:John.Doe@example.com",
		"news:comp.infosystems.www.servers.unix",
		"tel:+1-816-555-1212",
		"urn:oasis:names:specification:docbook:dtd:xml:4.1.2",
		"http://087.10.0.1/",
		"http://999.999.999.999/",
		"http://[v7.fe80::1]/",
		"http://[::ffff:1.2.3.4]:8080/",
		"http://user:pw@host:/",
		"file:///etc/passwd",
		"a:",
		"a+b-c.d:x",
		"http://example.com/a?#",
	};
	static const char *const neither[] = {
		"\\\\WINDOWS\\fileshare",
		"http:// shouldfail.com",
		":// should fail",
		"bar,baz:foo",
		"https://[@example.org/test.txt",
		"https://example.org/foobar\xc2\xae.txt",
		"https://example.org/foobar\\.txt",
		"https://example.org/foobar\".txt",
		"https://example.org/foobar<>.txt",
		"https://example.org/foobar{}.txt",
		"https://example.org/foobar^.txt",
		"https://example.org/foobar`.txt",
		"https://example.org/foo bar.txt",
		"https://example.org/foobar|.txt",
		"http://example.com/%6G",
		"http://example.com/%A",
		"http://example.com/%",
		"1http://example.com",
		"ht_tp://example.com",
		"http://example.com:abc/path",
		"http://[::ffff:01.2.3.4]",
		"http:/[::1]",
		"http://[::1",
		"http://[::1]x/",
		"http://[v.x]/",
		"http://[v7.]/",
		"http://[fe80::1%25eth0]/",
		"#frag\\ment",
		"/foobar\xc2\xae.txt",
		"/%zz",
		"/a\"b",
		"/[::1]",
		"//example.com:abc/p",
		"//a@b@example.com/",
		"//[::ffff:192.168.0.01]/p",
		"1:b",
		"a/b#c#d",
	};
	static const char *const ref_only[] = {
		"//foo.bar/?baz=qux#quux",
		"/abc",
		"abc",
		"#fragment",
		"",
		"?query=1",
		"//",
		"./this:that",
		"a/b:c",
		"#",
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(both) / sizeof(both[0]); i++) {
		is_valid(both[i], 0, 1);
		is_valid(both[i], 1, 1);
	}
	for (i = 0; i < sizeof(neither) / sizeof(neither[0]); i++) {
		is_valid(neither[i], 0, 0);
		is_valid(neither[i], 1, 0);
	}
	for (i = 0; i < sizeof(ref_only) / sizeof(ref_only[0]); i++) {
		is_valid(ref_only[i], 0, 0);
		is_valid(ref_only[i], 1, 1);
	}
	/* the length counts, not a NUL */
	assert_int_equal(ev_uri_valid("http://a/\0b", 11, 0), 0);
	assert_int_equal(ev_uri_valid("http://a/ b", 8, 0), 1);
	assert_int_equal(ev_uri_is_absolute("urn:x", 5), 1);
	assert_int_equal(ev_uri_is_absolute("urn:x", 3), 0);
	assert_int_equal(ev_uri_is_absolute("./a:b", 5), 0);
	assert_int_equal(ev_uri_is_absolute("#a:b", 4), 0);
	assert_int_equal(ev_uri_is_absolute("1a:b", 4), 0);
}

static void test_ip(void **state)
{
	static const char *const v4ok[] = {"0.0.0.0", "192.168.0.1",
					   "255.255.255.255", "10.0.0.10"};
	static const char *const v4bad[] = {"256.0.0.1", "1.2.3",
					    "1.2.3.4.5", "01.2.3.4",
					    "1.2.3.04",	 "1..2.3",
					    "1.2.3.4.",	 ".1.2.3.4",
					    "1.2.3.4 ",	 "0x1.2.3.4",
					    "",		 "1.2.3.1000"};
	static const char *const v6ok[] = {
		"::",
		"::1",
		"1::",
		"1:2:3:4:5:6:7:8",
		"1::8",
		"1:2:3:4:5:6::8",
		"1:2:3:4:5:6:7::",
		"::2:3:4:5:6:7:8",
		"fe80::abcd:EF01",
		"::ffff:192.168.0.1",
		"1:2:3:4:5:6:1.2.3.4",
		"::1.2.3.4",
		"1::1.2.3.4",
	};
	static const char *const v6bad[] = {
		"",
		":",
		":::",
		"1:2:3:4:5:6:7:8:9",
		"1:2:3:4:5:6:7",
		"1::2::3",
		"12345::",
		":1:2:3:4:5:6:7",
		"1:2:3:4:5:6:7:",
		"1:2:3:4:5:6:7:8::",
		"::1:2:3:4:5:6:7:8",
		"1:2:3:4:5:6:7:1.2.3.4",
		"::ffff:01.2.3.4",
		"::1.2.3",
		"fe80::1%eth0",
		"g::",
		"1.2.3.4",
		"1.2.3.4::",
		"::1.2.3.4:1",
		" ::1",
	};
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(v4ok) / sizeof(v4ok[0]); i++)
		if (!ev_uri_ipv4_valid(v4ok[i], strlen(v4ok[i])))
			fail_msg("ipv4 '%s' refused", v4ok[i]);
	for (i = 0; i < sizeof(v4bad) / sizeof(v4bad[0]); i++)
		if (ev_uri_ipv4_valid(v4bad[i], strlen(v4bad[i])))
			fail_msg("ipv4 '%s' accepted", v4bad[i]);
	for (i = 0; i < sizeof(v6ok) / sizeof(v6ok[0]); i++)
		if (!ev_uri_ipv6_valid(v6ok[i], strlen(v6ok[i])))
			fail_msg("ipv6 '%s' refused", v6ok[i]);
	for (i = 0; i < sizeof(v6bad) / sizeof(v6bad[0]); i++)
		if (ev_uri_ipv6_valid(v6bad[i], strlen(v6bad[i])))
			fail_msg("ipv6 '%s' accepted", v6bad[i]);
}

static void test_fragment(void **state)
{
	const char *f = (const char *)1;
	(void)state;

	assert_int_equal(ev_uri_fragment("http://a/b#/c", &f), 10);
	assert_string_equal(f, "/c");
	assert_int_equal(ev_uri_fragment("http://a/b", &f), 10);
	assert_null(f);
	assert_int_equal(ev_uri_fragment("#", &f), 0);
	assert_string_equal(f, "");
	assert_int_equal(ev_uri_fragment("a#b#c", &f), 1);
	assert_string_equal(f, "b#c");
}

static void decodes(const char *s, const char *want)
{
	char *out = NULL;

	if (ev_uri_pct_decode(s, strlen(s), &out) != 0)
		fail_msg("'%s' refused", s);
	if (strcmp(out, want) != 0)
		fail_msg("'%s': '%s', want '%s'", s, out, want);
	free(out);
}

static void test_pct_decode(void **state)
{
	static const char *const bad[] = {"%", "%4", "a%G0", "%00", "x%0"};
	char *out;
	size_t i;
	(void)state;

	decodes("", "");
	decodes("/definitions/foo%22bar", "/definitions/foo\"bar");
	decodes("/%25/%7e%7E", "/%/~~");
	decodes("/a%20b/%C3%A9", "/a b/\xc3\xa9");
	decodes("plain", "plain");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = (char *)"x";
		if (ev_uri_pct_decode(bad[i], strlen(bad[i]), &out) != EV_EDATA)
			fail_msg("'%s' accepted", bad[i]);
		assert_null(out);
	}
	/* only n bytes are read */
	assert_int_equal(ev_uri_pct_decode("ab%41", 4, &out), EV_EDATA);
	assert_int_equal(ev_uri_pct_decode("ab%41", 2, &out), 0);
	assert_string_equal(out, "ab");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_normal),
		cmocka_unit_test(test_rfc_abnormal),
		cmocka_unit_test(test_schema_bases),
		cmocka_unit_test(test_resolve_errors),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_ip),
		cmocka_unit_test(test_fragment),
		cmocka_unit_test(test_pct_decode),
	};

	return cmocka_run_group_tests_name("uri", tests, NULL, NULL);
}
