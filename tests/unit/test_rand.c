/*
 * test_rand.c - lib/rand.c under the deterministic test source
 * (EVLOG_TEST_SEED with SOURCE_DATE_EPOCH): the bytes are the same on
 * every machine, so a log written under it is too.  The vectors were
 * taken on x86-64; on a big-endian machine (make check-bigendian runs
 * this under qemu for s390x) the generator's words once came out
 * byte-reversed, and so did every log id and salt.
 */
#include "unit.h"

static int set_source(void **state)
{
	(void)state;
	/* before the first draw: rand.c reads them once */
	setenv("EVLOG_TEST_SEED", "42", 1);
	setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
	return 0;
}

/* the draws depend on the order of the tests: one test, in order */
static void test_known_answers(void **state)
{
	static const uint8_t want[20] = {
		0x16, 0xc7, 0x2e, 0x0c, 0x2e, 0x0b, 0x78, 0x15, 0x7e, 0x3a,
		0x11, 0x6d, 0x86, 0xd9, 0x04, 0x61, 0xa1, 0x99, 0xe4, 0x39,
	};
	uint8_t b[20];
	char id[37];

	(void)state;
	assert_int_equal(ev_test_mode(), 1);
	assert_true(ev_now() == (ev_time_t)1700000000 * 1000000000);
	/* 20 bytes: two whole words and a part of a third */
	ev_random(b, sizeof(b));
	assert_memory_equal(b, want, sizeof(want));
	/* ids draw from their own generator; the first is golden.evlog's
	 * generated one (tests/golden.bats) */
	ev_uuid7(ev_now(), id);
	assert_string_equal(id, "018bcfe5-6800-7434-ae2a-3650dd62f05a");
	ev_uuid7(ev_now(), id);
	assert_string_equal(id, "018bcfe5-6800-7435-8cca-39a3c326508f");
}

/* a new log under the test source, as evctl init makes it: its id and
 * its first segment's salt come out the same on every machine */
static void test_new_log(void **state)
{
	static const uint8_t salt[8] = {0x38, 0x52, 0x79, 0x01,
					0x31, 0xa5, 0x0d, 0xc5};
	struct ev_log_config cfg;
	struct ev_log *log;
	struct ev_error err;
	char path[4200], *seg;
	size_t n;

	(void)state;
	snprintf(path, sizeof(path), "%s/L", unit_tmpdir());
	ev_log_config_init(&cfg);
	assert_int_equal(ev_log_create(path, &cfg, &err), 0);
	assert_int_equal(ev_log_open(&log, path, &err), 0);
	assert_string_equal(ev_log_id(log), "a160b30347adb8ec645eece27fdce6fd");
	ev_log_close(log);
	snprintf(path + strlen(path), 64, "/00000000000000000000.seg");
	seg = unit_read_file(path, &n);
	assert_non_null(seg);
	assert_true(n >= 64);
	assert_memory_equal(seg + 32, salt, sizeof(salt));
	free(seg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answers),
		cmocka_unit_test(test_new_log),
	};

	return cmocka_run_group_tests_name("rand", tests, set_source, NULL);
}
