/*
 * test_fuzz_corpus.c - the fuzz targets of tests/fuzz/ as regression
 * tests: every checked-in seed of tests/fuzz/corpus/<target>/, plus the
 * JSONTestSuite files and the CloudEvents cases, goes once through each
 * target's LLVMFuzzerTestOneInput with its invariants checked, among
 * them that msgpack-c unpacks what libevlog reads to the same value.
 *
 * The targets are compiled in here (renamed), so this runs with the
 * ordinary compiler and the SANITIZE= build of the library, and needs no
 * libFuzzer.  A crash fails the whole executable; tests/run reports that.
 * The corpus is found under $TOP (tests/run exports it) or the current
 * directory.
 */
#include <dirent.h>

#include "unit.h"

static int fuzz_failures;

#define FUZZ_FAIL(...)                                                       \
	(print_error("# invariant failed: " __VA_ARGS__), print_error("\n"), \
	 fuzz_failures++)

#define LLVMFuzzerTestOneInput fuzz_json_one
#include "../fuzz/fuzz_json.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_record_one
#include "../fuzz/fuzz_record.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_segment_one
#include "../fuzz/fuzz_segment.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_msgpack_one
#include "../fuzz/fuzz_msgpack.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_jschema_compile_one
#include "../fuzz/fuzz_jschema_compile.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_jschema_validate_one
#include "../fuzz/fuzz_jschema_validate.c"
#undef LLVMFuzzerTestOneInput

typedef int (*target_fn)(const uint8_t *, size_t);

static int is_file(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* run every file of dir through fn; returns the number of files */
static int run_dir(const char *dir, target_fn fn, const char *name)
{
	struct dirent **list;
	char path[8192];
	char *data;
	size_t len;
	int n, i, before;

	n = scandir(dir, &list, is_file, alphasort);
	if (n < 0)
		fail_msg("cannot list '%s'", dir);
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name);
		data = unit_read_file(path, &len);
		if (data == NULL)
			fail_msg("cannot read '%s'", path);
		before = fuzz_failures;
		fn((const uint8_t *)data, len);
		if (fuzz_failures != before)
			print_error("# %s: %s\n", name, path);
		free(data);
		free(list[i]);
	}
	free(list);
	return n;
}

static int run_seeds(const char *target, target_fn fn)
{
	const char *top = getenv("TOP");
	char dir[4096];
	int n;

	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s",
		 top && *top ? top : ".", target);
	n = run_dir(dir, fn, target);
	if (n == 0)
		fail_msg("no seeds in '%s'", dir);
	return n;
}

static void check_no_failures(void)
{
	if (fuzz_failures)
		fail_msg("%d invariant failures", fuzz_failures);
}

static void test_fuzz_json_seeds(void **state)
{
	(void)state;
	fuzz_failures = 0;
	run_seeds("fuzz_json", fuzz_json_one);
	check_no_failures();
}

static void test_fuzz_record_seeds(void **state)
{
	(void)state;
	fuzz_failures = 0;
	run_seeds("fuzz_record", fuzz_record_one);
	check_no_failures();
}

static void test_fuzz_segment_seeds(void **state)
{
	(void)state;
	fuzz_failures = 0;
	run_seeds("fuzz_segment", fuzz_segment_one);
	check_no_failures();
}

static void test_fuzz_msgpack_seeds(void **state)
{
	(void)state;
	fuzz_failures = 0;
	run_seeds("fuzz_msgpack", fuzz_msgpack_one);
	check_no_failures();
}

static void test_fuzz_jschema_compile_seeds(void **state)
{
	(void)state;
	fuzz_failures = 0;
	run_seeds("fuzz_jschema_compile", fuzz_jschema_compile_one);
	check_no_failures();
}

static void test_fuzz_jschema_validate_seeds(void **state)
{
	(void)state;
	fuzz_failures = 0;
	run_seeds("fuzz_jschema_validate", fuzz_jschema_validate_one);
	check_no_failures();
}

/* the JSONTestSuite files through the targets */
static void test_fuzz_jsontestsuite(void **state)
{
	char dir[4096];
	int n;

	(void)state;
	fuzz_failures = 0;
	unit_corpus("JSONTestSuite/test_parsing", dir, sizeof(dir));
	n = run_dir(dir, fuzz_json_one, "fuzz_json");
	assert_true(n > 300);
	run_dir(dir, fuzz_record_one, "fuzz_record");
	run_dir(dir, fuzz_segment_one, "fuzz_segment");
	run_dir(dir, fuzz_msgpack_one, "fuzz_msgpack");
	check_no_failures();
}

/* each CloudEvents case line through fuzz_json */
static void test_fuzz_cloudevents_cases(void **state)
{
	static const char *const files[] = {"events.ndjson", "batches.ndjson"};
	char dir[4096], path[8192];
	char *text, *p, *nl;
	size_t len, i;
	int lines = 0;

	(void)state;
	fuzz_failures = 0;
	unit_corpus("cloudevents/cases", dir, sizeof(dir));
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
		text = unit_read_file(path, &len);
		if (text == NULL)
			fail_msg("cannot read '%s'", path);
		for (p = text; *p != '\0'; p = nl + 1) {
			nl = strchr(p, '\n');
			if (nl == NULL)
				nl = p + strlen(p);
			fuzz_json_one((const uint8_t *)p, (size_t)(nl - p));
			lines++;
			if (*nl == '\0')
				break;
		}
		free(text);
	}
	assert_true(lines > 40);
	check_no_failures();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fuzz_json_seeds),
		cmocka_unit_test(test_fuzz_record_seeds),
		cmocka_unit_test(test_fuzz_segment_seeds),
		cmocka_unit_test(test_fuzz_msgpack_seeds),
		cmocka_unit_test(test_fuzz_jschema_compile_seeds),
		cmocka_unit_test(test_fuzz_jschema_validate_seeds),
		cmocka_unit_test(test_fuzz_jsontestsuite),
		cmocka_unit_test(test_fuzz_cloudevents_cases),
	};

	return cmocka_run_group_tests_name("fuzz_corpus", tests, NULL, NULL);
}
