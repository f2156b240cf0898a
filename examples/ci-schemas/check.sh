#!/bin/sh
# examples/ci-schemas/check.sh - the CI gate of a schema registry: run it
# in the pipeline of the repository that holds schemas/, and a change
# that breaks a schema, a fixture or a reader of older events fails the
# build.  README.md walks through it.
#
#   check.sh [SCHEMAS_DIR]
#
# SCHEMAS_DIR defaults to schemas/ next to this script; the fixtures are
# fixtures.ndjson and fixtures.expect next to it.  Three steps, then a
# summary; the last two run only when lint passes, each to its end:
#   1. lint:     evctl schema lint --schemas DIR
#   2. fixtures: evctl schema check --schemas DIR --formats assert: the
#                lines that fixtures.expect does not list together, which
#                must be valid; each listed line alone, which must be
#                invalid with a report containing the texts listed
#   3. compat:   evctl schema compat --transitive DIR/TYPE/ for every type:
#                every version backward compatible with all the earlier
#                ones (readers of the new schema can read the old events)
# Exit 0 when all pass, 1 when any fails (each failure named, with the
# tool's report), 64 on a usage error.
#
# evctl comes from PATH; EVLOG_BIN, when set, names a directory put in
# front of it, such as the build tree's cmd/:
#   EVLOG_BIN=cmd examples/ci-schemas/check.sh
set -u

here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${EVLOG_BIN:-}" ]; then
	bin=$(cd "$EVLOG_BIN" && pwd) || exit 1
	PATH="$bin:$PATH"
	export PATH
fi
if [ $# -gt 1 ]; then
	echo "usage: check.sh [SCHEMAS_DIR]" >&2
	exit 64
fi
command -v evctl >/dev/null 2>&1 ||
	{ echo "check.sh: 'evctl' is not on PATH; set EVLOG_BIN" >&2; exit 1; }
# the reports name the schema files as schemas/TYPE/N.json, from here
if [ $# -eq 1 ]; then
	[ -d "$1" ] || { echo "check.sh: '$1': no such directory" >&2; exit 1; }
	schemas=$(cd "$1" && pwd) || exit 1
else
	schemas=schemas
fi
cd "$here" || exit 1
fixtures=fixtures.ndjson
expect=fixtures.expect
[ -d "$schemas" ] ||
	{ echo "check.sh: '$here/$schemas': no such directory" >&2; exit 1; }
for f in "$fixtures" "$expect"; do
	[ -f "$f" ] || { echo "check.sh: '$f': no such file" >&2; exit 1; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/evlog-ci-schemas.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' INT TERM

failed=0
# fail WHAT: count a failure and say what failed; the tool's output, in
# $tmp/out, follows indented
fail() {
	failed=$((failed + 1))
	echo "check.sh: FAIL: $*"
	sed 's/^./    &/' "$tmp/out"
}

# 1. lint
echo "== lint"
st=0
evctl schema lint --schemas "$schemas" >"$tmp/out" 2>&1 || st=$?
if [ "$st" -eq 0 ]; then
	echo "ok: the schemas are well-formed, their refs resolve, versions are contiguous"
else
	fail "lint: evctl schema lint exited $st"
	echo
	echo "check.sh: 1 check(s) failed; the fixtures and compat steps need schemas that lint"
	exit 1
fi

# 2. fixtures: the lines fixtures.expect lists must each be invalid, the
# others valid
echo "== fixtures"
grep -v '^#' "$expect" | grep -v '^[[:space:]]*$' >"$tmp/expect"
cut -f1 "$tmp/expect" >"$tmp/bad-lines"
awk 'NR == FNR { bad[$1] = 1; next } !(FNR in bad)' \
	"$tmp/bad-lines" "$fixtures" >"$tmp/good.ndjson"
ngood=$(wc -l <"$tmp/good.ndjson" | tr -d ' ')
st=0
evctl schema check --schemas "$schemas" --formats assert "$tmp/good.ndjson" \
	>"$tmp/out" 2>&1 || st=$?
if [ "$st" -eq 0 ]; then
	echo "ok: the $ngood valid fixtures pass"
else
	fail "fixtures: the valid fixtures (all but lines $(tr '\n' ' ' <"$tmp/bad-lines" | sed 's/ $//')) exited $st, not 0"
fi
nbad=0
okbad=0
tab=$(printf '\t')
while IFS="$tab" read -r line why texts; do
	nbad=$((nbad + 1))
	st=0
	sed -n "${line}p" "$fixtures" |
		evctl schema check --schemas "$schemas" --formats assert - \
			>"$tmp/out" 2>&1 || st=$?
	if [ "$st" -ne 65 ]; then
		fail "fixtures: line $line ($why) exited $st, not 65"
		continue
	fi
	missing=
	while IFS= read -r t; do
		[ -n "$t" ] || continue
		grep -qF -- "$t" "$tmp/out" || missing="$missing '$t'"
	done <<EOF
$(printf '%s\n' "$texts" | tr "$tab" '\n')
EOF
	if [ -n "$missing" ]; then
		fail "fixtures: line $line ($why): the report lacks$missing"
		continue
	fi
	okbad=$((okbad + 1))
done <"$tmp/expect"
[ "$okbad" -eq "$nbad" ] &&
	echo "ok: the $nbad invalid fixtures are rejected, each for its reason"

# 3. compat: every version of every type against all the earlier ones
echo "== compat"
ntypes=0
okcompat=0
for d in "$schemas"/*/; do
	[ -d "$d" ] || continue
	ntypes=$((ntypes + 1))
	type=$(basename "$d")
	st=0
	evctl schema compat --transitive "$d" >"$tmp/out" 2>&1 || st=$?
	case $st in
	0) okcompat=$((okcompat + 1)) ;;
	65) fail "compat: $type: a version is not backward compatible with an earlier one" ;;
	*) fail "compat: $type: evctl schema compat exited $st" ;;
	esac
done
[ "$okcompat" -eq "$ntypes" ] &&
	echo "ok: every version of the $ntypes types is backward compatible with the earlier ones"

echo
if [ "$failed" -ne 0 ]; then
	echo "check.sh: $failed check(s) failed"
	exit 1
fi
echo "check.sh: all checks passed"
