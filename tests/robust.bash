# tests/robust.bash - shared by the robustness tests (crash, strace,
# concurrency, corruption, faultinject, golden).  Load it after helper:
#   load helper
#   load robust
# and call robust_setup_file from setup_file.
#
# Random choices in these tests come from bash's RANDOM seeded with
# EVLOG_ROBUST_SEED (a fresh seed when unset); every test that draws prints
# its seed as a TAP comment, so a failure can be replayed with
#   EVLOG_ROBUST_SEED=N bats tests/FILE.bats

# Build the helpers once per file: evtest (tests/evtest.c) and, when the
# Makefile has not, the fault-injection shim.  Both land in
# $BATS_FILE_TMPDIR, so a SANITIZE build in the tree is left alone.
robust_setup_file() {
	local cc=${CC:-cc}
	EVTEST=$BATS_FILE_TMPDIR/evtest
	$cc -std=gnu11 -O2 -o "$EVTEST" "$TOP/tests/evtest.c" || return 1
	FAULTINJECT=$TOP/tests/faultinject.so
	if ! [ "$FAULTINJECT" -nt "$TOP/tests/faultinject.c" ]; then
		FAULTINJECT=$BATS_FILE_TMPDIR/faultinject.so
		$cc -std=gnu11 -D_GNU_SOURCE -O2 -fPIC -shared -pthread \
			-o "$FAULTINJECT" "$TOP/tests/faultinject.c" -ldl ||
			return 1
	fi
	export EVTEST FAULTINJECT
}

# The seed for this test: EVLOG_ROBUST_SEED or a fresh one.  Seeds RANDOM
# and prints it (fd 3 is the TAP stream).
robust_seed() {
	local s=${EVLOG_ROBUST_SEED:-$(( ($(date +%s%N) / 1000) % 1000000007 ))}
	RANDOM=$s
	ROBUST_SEED=$s
	echo "# $BATS_TEST_DESCRIPTION: seed $s (EVLOG_ROBUST_SEED=$s to repeat)" >&3
}

# Set variable $1 to a random integer in [0, $2).  RANDOM has only 15
# bits, so two draws are combined; and since bash reseeds RANDOM in
# subshells, this must not run inside $(...).
rand_below() {
	printf -v "$1" '%d' $(( (RANDOM * 32768 + RANDOM) % $2 ))
}

# Is file $1 a byte prefix of file $2 that ends at a line boundary?
is_prefix() {
	local n
	n=$(stat -c %s "$1")
	[ "$n" -eq 0 ] && return 0
	cmp -s -n "$n" "$1" "$2" || return 1
	[ "$(tail -c 1 "$1" | od -An -c | tr -d ' ')" = '\n' ]
}

# Sanitizer builds: the shim is not instrumented, so ASan must not insist
# on coming first in the library list.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

# refute CMD...: CMD must fail.  (bats' set -e ignores "! CMD", so a
# negated command on its own can never fail a test.)
refute() {
	if "$@"; then
		echo "expected to fail: $*" >&2
		return 1
	fi
	return 0
}
