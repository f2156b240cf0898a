#!/usr/bin/env bats
# tests/testsuite.bats - the test suite's own contract: a test that needs
# a corpus from ../shared skips, with the reason, when it is not there
# (a fresh clone), and fails when EVLOG_REQUIRE_CORPORA says it must be;
# tests/run's counts; the lists tests/bigendian.sh runs.

load helper

@test "testsuite: a unit test that needs the conformance corpora skips, with the reason, without them" {
	run --separate-stderr env -u EVLOG_CONFORMANCE -u EVLOG_REQUIRE_CORPORA \
		CMOCKA_MESSAGE_OUTPUT=TAP "$TOP/tests/unit/test_json"
	assert_status 0
	assert_stdout_contains "not ok 1 # SKIP test_jsontestsuite"
	assert_stdout_contains "# skip: needs JSONTestSuite/test_parsing from the conformance corpora: set EVLOG_CONFORMANCE"
	assert_stdout_contains "ok 4 - test_integers_exact"
}

@test "testsuite: with EVLOG_REQUIRE_CORPORA, a missing conformance corpus is a failure" {
	run --separate-stderr env -u EVLOG_CONFORMANCE EVLOG_REQUIRE_CORPORA=1 \
		CMOCKA_MESSAGE_OUTPUT=TAP "$TOP/tests/unit/test_json"
	[ "$status" -ne 0 ]
	assert_stdout_contains "not ok 1 - test_jsontestsuite"
	assert_stdout_contains "# EVLOG_CONFORMANCE is not set, and EVLOG_REQUIRE_CORPORA is: this test needs JSONTestSuite/test_parsing"
}

# a bats file of one test that needs a data file, run with bats --tap
# in a clean environment (no BATS_* of this run); then "$@" as env
# arguments
data_suite() {
	# the PATH of a shell, not of this bats run (its libexec first)
	CLEAN_PATH=$(printf '%s' "$PATH" | tr ':' '\n' |
		grep -v bats-core | paste -sd:)
	# (bats would take an "@test" line here for one of this file)
	printf '%s\n' "load $TOP/tests/helper" \
		"@""test \"needs the GH hour\" {" \
		"	need_data gharchive-minimized-2019-09-26-0.ndjson" \
		'	[ -r "$DATA" ]' "}" >"$T/needs.bats"
}

@test "testsuite: a CLI test that needs real data skips, with the reason, without EVLOG_DATA" {
	data_suite
	run --separate-stderr env -i PATH="$CLEAN_PATH" HOME="$HOME" TOP="$TOP" \
		bats --tap "$T/needs.bats"
	assert_status 0
	assert_stdout_contains "ok 1 needs the GH hour # skip needs gharchive-minimized-2019-09-26-0.ndjson from ../shared/data: set EVLOG_DATA"
}

@test "testsuite: with EVLOG_REQUIRE_CORPORA, missing real data is a failure" {
	data_suite
	run --separate-stderr env -i PATH="$CLEAN_PATH" HOME="$HOME" TOP="$TOP" \
		EVLOG_REQUIRE_CORPORA=1 bats --tap "$T/needs.bats"
	[ "$status" -ne 0 ]
	assert_stdout_contains "not ok 1 needs the GH hour"
	assert_stdout_contains "EVLOG_DATA is not set, and EVLOG_REQUIRE_CORPORA is: this test needs gharchive-minimized-2019-09-26-0.ndjson"
}

@test "testsuite: a data file named but missing from EVLOG_DATA is a failure, never a skip" {
	data_suite
	mkdir "$T/empty"
	run --separate-stderr env -i PATH="$CLEAN_PATH" HOME="$HOME" TOP="$TOP" \
		EVLOG_DATA="$T/empty" bats --tap "$T/needs.bats"
	[ "$status" -ne 0 ]
	assert_stdout_contains "not ok 1 needs the GH hour"
	assert_stdout_contains "EVLOG_DATA=$T/empty but gharchive-minimized-2019-09-26-0.ndjson is not there"
}

@test "testsuite: tests/run gives each file's counts when it ends, and passed, failed and skipped at the end" {
	run --separate-stderr env UNIT_TESTS=test_crc32c TESTS=no-such-file \
		sh "$TOP/tests/run"
	assert_status 0
	assert_stdout_line 0 "# tests/unit/test_crc32c"
	assert_stdout_contains "# tests/unit/test_crc32c: 8 passed, 0 failed, 0 skipped ("
	[ "${lines[${#lines[@]} - 1]}" = "8 passed, 0 failed, 0 skipped" ]
}

@test "testsuite: tests/bigendian.sh runs the lists it names first; EVLOG_BIGENDIAN_BATS or _UNITS set but empty turns them off" {
	# a missing emulator ends it before any build, after the lists
	local be="$TOP/tests/bigendian.sh" miss="tests/bigendian.sh: 'no-such-qemu' not found: run 'sh .ci/deps bigendian'"
	run --separate-stderr env -u EVLOG_BIGENDIAN_BATS EVLOG_BIGENDIAN_UNITS="crc32c  mp" \
		EVLOG_S390X_BUILD="$T/b" QEMU_S390X=no-such-qemu sh "$be"
	assert_status 1
	assert_stdout "# s390x: unit tests: crc32c mp; bats files: golden bigendian output"
	assert_stderr "$miss"
	run --separate-stderr env EVLOG_BIGENDIAN_BATS= EVLOG_BIGENDIAN_UNITS=crc32c \
		EVLOG_S390X_BUILD="$T/b" QEMU_S390X=no-such-qemu sh "$be"
	assert_status 1
	assert_stdout "# s390x: unit tests: crc32c; bats files: (none)"
	assert_stderr "$miss"
	run --separate-stderr env EVLOG_BIGENDIAN_BATS=golden EVLOG_BIGENDIAN_UNITS= \
		EVLOG_S390X_BUILD="$T/b" QEMU_S390X=no-such-qemu sh "$be"
	assert_status 1
	assert_stdout "# s390x: unit tests: (none); bats files: golden"
	assert_stderr "$miss"
}
