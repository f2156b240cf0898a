#!/bin/sh
# bench/evproject.sh - evproject's built-in folds against their peers on
# the same events (issue 11, section 8): figures and ratios, not tests.
#
#   sh bench/evproject.sh EVENTS.ndjson LOG [ROUNDS]
#
# LOG holds the events of EVENTS.ndjson (evpub LOG < EVENTS.ndjson).  Each
# round runs every command once, in turn, so that a load that comes and
# goes falls on all of them alike; the medians of the rounds are printed
# (wall seconds and CPU seconds, user + system), then the ratios.
#
#   evproject --sum data.amount --by stream      vs  jq's linear group_by
#                                                     and sqlite3 .import +
#                                                     GROUP BY
#   evproject --count --by type                  vs  the same
#
# jq 1.6's reduce form (.[$k] += ...) is quadratic and no fair peer; the
# sqlite3 import keeps each line whole in a one-column table (mode ascii,
# so that no CSV quoting touches the JSON) and json_extract()s the paths.
set -eu

DATA=${1:?usage: sh bench/evproject.sh EVENTS.ndjson LOG [ROUNDS]}
LOG=${2:?usage: sh bench/evproject.sh EVENTS.ndjson LOG [ROUNDS]}
ROUNDS=${3:-3}
TOP=$(cd "$(dirname "$0")/.." && pwd)
EVPROJECT=${EVPROJECT:-$TOP/cmd/evproject}
T=$(mktemp -d "${TMPDIR:-/tmp}/evproject-bench.XXXXXX")
trap 'rm -rf "$T"' EXIT INT TERM

US=$(printf '\037')
sql() { # FILE SELECT
	cat >"$1" <<EOF
.mode ascii
.separator "$US" "\\n"
CREATE TABLE ev(j TEXT);
.import "$DATA" ev
.mode list
.output /dev/null
$2
EOF
}
sql "$T/sum.sql" "SELECT json_extract(j,'\$.stream'), sum(coalesce(json_extract(j,'\$.data.amount'),0)) FROM ev GROUP BY 1 ORDER BY 1;"
sql "$T/count.sql" "SELECT json_extract(j,'\$.type'), count(*) FROM ev GROUP BY 1 ORDER BY 1;"

# time NAME CMD...: one line "NAME WALL CPU" into $T/times
time_it() {
	name=$1
	shift
	rm -f "$T/db"
	s=$(date +%s.%N)
	/usr/bin/time -f '%U %S' -o "$T/cpu" "$@" >/dev/null 2>"$T/err" || {
		echo "$name failed:" >&2
		cat "$T/err" >&2
		exit 1
	}
	e=$(date +%s.%N)
	echo "$name $(echo "$e - $s" | bc) $(awk '{ print $1 + $2 }' "$T/cpu")" >>"$T/times"
}

i=0
while [ "$i" -lt "$ROUNDS" ]; do
	time_it evproject_sum "$EVPROJECT" --sum data.amount --by stream "$LOG"
	time_it jq_sum jq -n -c '[inputs | [.stream, (.data.amount // 0)]] | group_by(.[0]) | map([.[0][0], (map(.[1]) | add)])' "$DATA"
	time_it sqlite3_sum sqlite3 "$T/db" -init "$T/sum.sql" .quit
	time_it evproject_count "$EVPROJECT" --count --by type "$LOG"
	time_it jq_count jq -n -c '[inputs | .type] | group_by(.) | map([.[0], length])' "$DATA"
	time_it sqlite3_count sqlite3 "$T/db" -init "$T/count.sql" .quit
	i=$((i + 1))
done

# medians, then the ratios of the peers to evproject
awk '
	{ wall[$1] = wall[$1] " " $2; cpu[$1] = cpu[$1] " " $3 }
	function median(list,   v, n, i, j, t) {
		n = split(list, v, " ")
		for (i = 1; i <= n; i++)
			for (j = i + 1; j <= n; j++)
				if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
		return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
	}
	END {
		printf "%-16s %9s %9s\n", "command", "wall (s)", "cpu (s)"
		split("evproject_sum jq_sum sqlite3_sum evproject_count jq_count sqlite3_count", order, " ")
		for (k = 1; k <= 6; k++) {
			c = order[k]
			w[c] = median(wall[c]); u[c] = median(cpu[c])
			printf "%-16s %9.3f %9.3f\n", c, w[c], u[c]
		}
		printf "\nratios (peer / evproject), wall and cpu:\n"
		printf "  --sum data.amount --by stream: jq %.1fx %.1fx, sqlite3 %.1fx %.1fx\n",
			w["jq_sum"] / w["evproject_sum"], u["jq_sum"] / u["evproject_sum"],
			w["sqlite3_sum"] / w["evproject_sum"], u["sqlite3_sum"] / u["evproject_sum"]
		printf "  --count --by type:             jq %.1fx %.1fx, sqlite3 %.1fx %.1fx\n",
			w["jq_count"] / w["evproject_count"], u["jq_count"] / u["evproject_count"],
			w["sqlite3_count"] / w["evproject_count"], u["sqlite3_count"] / u["evproject_count"]
	}' "$T/times"
