/*
 * test_expect.c - lib/expect.c: the spellings of an expected version,
 * and the one-stream rule of an exact one.
 */
#include "unit.h"

static void test_parse(void **state)
{
	static const char *const bad[] = {"",	"foo", "-1",
					  "1x", " 1",  "99999999999999999999",
					  "ANY"};
	enum ev_expect e;
	struct ev_error err;
	uint64_t v;
	size_t i;

	(void)state;
	assert_int_equal(ev_expect_parse("any", &e, &v, &err), 0);
	assert_int_equal(e, EV_EXPECT_ANY);
	assert_int_equal(ev_expect_parse("none", &e, &v, &err), 0);
	assert_int_equal(e, EV_EXPECT_NONE);
	assert_int_equal(ev_expect_parse("exists", &e, &v, &err), 0);
	assert_int_equal(e, EV_EXPECT_EXISTS);
	assert_int_equal(ev_expect_parse("0", &e, &v, &err), 0);
	assert_int_equal(e, EV_EXPECT_VERSION);
	assert_int_equal(v, 0);
	assert_int_equal(ev_expect_parse("18446744073709551615", &e, &v, &err),
			 0);
	assert_true(v == UINT64_MAX);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ev_expect_parse(bad[i], &e, &v, &err),
				 EV_EUSAGE);
		assert_non_null(strstr(err.msg,
				       "is not a version number, none, "
				       "exists or any"));
	}
	assert_string_equal(
		err.msg, "'ANY' is not a version number, none, exists or any");
}

/* a record with this stream (NULL: none) */
static void rec_of(struct ev_buf *out, const char *stream)
{
	struct ev_fields f;
	struct ev_error err;

	ev_fields_init(&f);
	f.type = "T";
	f.type_n = 1;
	f.id = "i";
	f.id_n = 1;
	f.stream = stream;
	f.stream_n = stream ? strlen(stream) : 0;
	out->len = 0;
	assert_int_equal(ev_record_encode(&f, 1, out, NULL, &err), 0);
}

static void test_one_stream(void **state)
{
	struct ev_buf first = {0}, rec = {0};
	struct ev_error err;

	(void)state;
	rec_of(&rec, "s");
	assert_int_equal(ev_expect_one_stream(&first, rec.p, rec.len, &err), 0);
	assert_int_equal(ev_expect_one_stream(&first, rec.p, rec.len, &err), 0);
	rec_of(&rec, "t");
	assert_int_equal(ev_expect_one_stream(&first, rec.p, rec.len, &err),
			 EV_EUSAGE);
	assert_string_equal(err.msg, "this one is in 't', not 's'");
	/* a prefix is another stream */
	rec_of(&rec, "ss");
	assert_int_equal(ev_expect_one_stream(&first, rec.p, rec.len, &err),
			 EV_EUSAGE);
	rec_of(&rec, NULL);
	assert_int_equal(ev_expect_one_stream(&first, rec.p, rec.len, &err),
			 EV_EUSAGE);
	assert_string_equal(err.msg, "this one has none");
	ev_buf_free(&first);
	/* none in the first is refused too */
	assert_int_equal(ev_expect_one_stream(&first, rec.p, rec.len, &err),
			 EV_EUSAGE);
	assert_null(first.p);
	/* what does not decode is left to the writer */
	assert_int_equal(ev_expect_one_stream(&first, (const uint8_t *)"x", 1,
					      &err),
			 0);
	ev_buf_free(&rec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_one_stream),
	};

	return cmocka_run_group_tests_name("expect", tests, NULL, NULL);
}
