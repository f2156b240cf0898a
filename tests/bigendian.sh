#!/bin/sh
# tests/bigendian.sh - make check-bigendian: build the tools and the unit
# tests for s390x (big-endian) with Debian's cross compiler against the
# sysroot that `.ci/deps bigendian` makes, and run tests under
# qemu-s390x-static, named on every command line (no binfmt needed):
#   - the unit tests of the format's code (UNITS below);
#   - the bats files in BATS below (tests/golden.bats: the s390x writer
#     reproduces the golden logs written on x86-64 byte for byte, and reads
#     them back to the expected JSON), with the s390x tools first in PATH;
#   - tests/bigendian.bats: logs written on x86-64 read identically on
#     s390x and the other way round, host and s390x tools side by side.
# The cross build lives in build-s390x/ (git-ignored): a copy of the
# source tree in src/, wrapper scripts in run/ that tests/run uses as TOP.
# `make` and `make check` in the tree are left alone.
# Ends with tests/run's "N passed, N failed, N skipped".
# Environment:
#   EVLOG_S390X_BUILD    the build directory (default build-s390x)
#   EVLOG_S390X_SYSROOT  the sysroot (default $EVLOG_S390X_BUILD/sysroot)
#   QEMU_S390X           the emulator (default qemu-s390x-static)
#   EVLOG_BIGENDIAN_UNITS, EVLOG_BIGENDIAN_BATS  override the lists below
#                        (names, separated by blanks); set but empty, they
#                        turn the unit tests or the bats files off
# The lists it runs are printed first.
set -e
cd "$(dirname "$0")/.."
TOP=$(pwd)
B=${EVLOG_S390X_BUILD:-$TOP/build-s390x}
mkdir -p "$B"
B=$(cd "$B" && pwd)
SYS=${EVLOG_S390X_SYSROOT:-$B/sysroot}
QEMU=${QEMU_S390X:-qemu-s390x-static}
CROSS=s390x-linux-gnu-

# the unit tests of the code that reads and writes bytes (the format, the
# codecs, the indexes, the state files, the test source, archives); those
# whose tests/unit/test_NAME.c is not in the tree are passed over.  Left
# to the native run: the schema compilers' and validators' tests, and the
# slowest under qemu (test_upcast, 80 s), whose code paths test_event and
# the bats files below cover too.  test_jsonout runs lib/jsonout.c's
# 8-byte SWAR masks here (s390x has no SSE2), which swap bytes on a
# big-endian machine; test_jsonout_swar would run that code again
UNITS=${EVLOG_BIGENDIAN_UNITS-"crc32c rand mp mp_oracle json jsonout event
	segment index corrindex archive file log stream cursor state checkpoint
	group consumer unpacker timein template output dlq rewrite fold readmodel
	project replay luaval handler projtest pubcheck fuzz_corpus"}
BATS=${EVLOG_BIGENDIAN_BATS-"golden bigendian output"}
# list LIST: its names on one line, or (none)
list() {
	# shellcheck disable=SC2086 # the names, split
	set -- $1
	echo "${*:-(none)}"
}
echo "# s390x: unit tests: $(list "$UNITS"); bats files: $(list "$BATS")"

for t in "${CROSS}gcc" "$QEMU"; do
	if ! command -v "$t" >/dev/null; then
		echo "tests/bigendian.sh: '$t' not found: run 'sh .ci/deps bigendian'" >&2
		exit 1
	fi
done
if ! [ -e "$SYS/.evlog-packages" ]; then
	echo "tests/bigendian.sh: no s390x sysroot at '$SYS': run 'sh .ci/deps bigendian'" >&2
	exit 1
fi
[ -x cmd/evtail ] || {
	echo "tests/bigendian.sh: build the host's tools first ('make')" >&2
	exit 1
}

start=$(date +%s)
# the source tree as it is (committed or not), copied over the last copy
# so make rebuilds what changed; files gone from the tree, or left in the
# copy by a test, go from the copy, what git ignores (the build) stays
mkdir -p "$B/src"
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -co --exclude-standard -- Makefile lib cmd tests examples \
		bench | sort >"$B/files"
	tar -cf - -T "$B/files" | tar -C "$B/src" -xf -
	(cd "$B/src" && find . -type f | sed 's|^\./||' | sort) |
		comm -23 - "$B/files" >"$B/extra"
	git check-ignore --no-index --stdin <"$B/extra" >"$B/ignored" || :
	sort "$B/ignored" | comm -23 "$B/extra" - | tr '\n' '\0' |
		(cd "$B/src" && xargs -0 -r rm -f --)
else
	rm -rf "$B/src"
	mkdir -p "$B/src"
	tar -cf - Makefile lib cmd tests examples bench | tar -C "$B/src" -xf -
fi

units=
for u in $UNITS; do
	[ -e "tests/unit/test_$u.c" ] && units="$units tests/unit/test_$u"
done
echo "# cross build for s390x in $B/src (sysroot $SYS)"
# never a sanitizer build, even from make SANITIZE=... check: the
# sanitizers' run-time libraries are not in the sysroot
# shellcheck disable=SC2086
PKG_CONFIG_SYSROOT_DIR=$SYS \
PKG_CONFIG_LIBDIR=$SYS/usr/lib/s390x-linux-gnu/pkgconfig:$SYS/usr/share/pkgconfig \
PKG_CONFIG_PATH='' \
	make -C "$B/src" -j2 CC="${CROSS}gcc --sysroot=$SYS" AR="${CROSS}ar" SANITIZE= \
	all $units
echo "# cross build: $(($(date +%s) - start)) s"

# run/: what tests/run takes for the top of a tree, with the s390x
# programs behind wrappers that name qemu and the sysroot
rm -rf "$B/run"
mkdir -p "$B/run/cmd" "$B/run/examples" "$B/run/tests/unit"
wrap() { # wrap WRAPPER BINARY
	printf '#!/bin/sh\nexec %s -L %s %s "$@"\n' "$QEMU" "$SYS" "$2" >"$1"
	chmod +x "$1"
}
for p in "$B"/src/cmd/*; do
	[ -f "$p" ] && [ -x "$p" ] && wrap "$B/run/cmd/${p##*/}" "$p"
done
wrap "$B/run/examples/evgen" "$B/src/examples/evgen"
for u in $units; do
	wrap "$B/run/$u" "$B/src/$u"
done
for f in "$B"/src/tests/*; do
	case "$f" in
	*.bats | */unit) ;;
	*) ln -s "$f" "$B/run/tests/" ;;
	esac
done
for b in $BATS; do
	ln -s "$B/src/tests/$b.bats" "$B/run/tests/"
done

# tests/run from the run tree: its unit tests and bats files are the ones
# above, its PATH has the s390x tools; tests/bigendian.bats finds the
# host's tools in EVLOG_BIGENDIAN_HOST
EVLOG_BIGENDIAN_HOST=$TOP EVLOG_BIGENDIAN_S390X=$B/run
# the corpora beside this tree, not beside the run tree
if [ -z "${EVLOG_CONFORMANCE:-}" ] && [ -d "$TOP/../shared/conformance" ]; then
	EVLOG_CONFORMANCE=$(cd "$TOP/../shared/conformance" && pwd)
	export EVLOG_CONFORMANCE
fi
if [ -z "${EVLOG_DATA:-}" ] && [ -d "$TOP/../shared/data" ]; then
	EVLOG_DATA=$(cd "$TOP/../shared/data" && pwd)
	export EVLOG_DATA
fi
export EVLOG_BIGENDIAN_HOST EVLOG_BIGENDIAN_S390X
rc=0
sh "$B/run/tests/run" || rc=$?
echo "# check-bigendian: $(($(date +%s) - start)) s in all (s390x under $QEMU)"
exit $rc
