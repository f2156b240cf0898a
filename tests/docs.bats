#!/usr/bin/env bats
# tests/docs.bats - the documentation against the tools.
#
# --help, the man page SYNOPSIS and OPTIONS, and the bash, zsh and fish
# completions must name the same options (git's t0450 checks -h against
# the docs in the same spirit); the man pages must be clean under
# mandoc(1); -h, -V and unknown options must keep the contract of
# ../shared/STYLE.md; and the documented JSON keys and CloudEvents
# mapping must match what the code does.

load helper

TOOLS="evpub evtail evctl"
# evctl's option groups: before the command, then one per command
EVCTL_GROUPS="global init info verify repair"

local_setup() {
	export LC_ALL=C # glibc's getopt messages, untranslated
}

# ------------------------------------------------------------ extraction

# Option names in the option lines of 'TOOL --help' (lines that start with
# blanks and a dash), one per line, sorted.  GROUP picks evctl's options
# of one command, or "global" for those under "Options:".
help_opts() {
	"$1" --help | awk -v want="${2:-global}" '
		/^Options:/ { g = "global"; next }
		/^  [a-z]+ / { g = $1; next }
		/^ +-/ && g == want {
			spec = $0
			sub(/^ +/, "", spec)
			sub(/  .*/, "", spec)
			n = split(spec, w, /[ ,]+/)
			for (i = 1; i <= n; i++)
				if (w[i] ~ /^--?[A-Za-z0-9][A-Za-z0-9-]*$/)
					print w[i]
		}' | sort -u
}

# The Fl arguments of mdoc source lines on stdin, as option names.
fl_names() {
	grep -oE '(^\.|[ ])Fl +[^ ]+' |
		sed -E 's/^.?Fl +//; s/\\-/-/g; s/^/-/' |
		grep -E '^--?[A-Za-z0-9][A-Za-z0-9-]*$' | sort -u
}

# Options in the SYNOPSIS of a man page.  Each synopsis line starts with
# .Nm; with GROUP, only the lines whose first .Cm is GROUP ("global":
# those without a .Cm).
man_synopsis_opts() {
	awk -v want="${2:-}" '
		/^\.Sh / { on = ($0 == ".Sh SYNOPSIS"); next }
		!on { next }
		/^\.Nm/ { g = "global"; first = 1 }
		/^\.Cm / && first { g = $2 }
		!/^\.Nm/ { first = 0 }
		want == "" || g == want' "$1" | fl_names
}

# Options defined (.It lines) in the OPTIONS section of a man page; with
# SUBSECTION, only in that .Ss.
man_options_opts() {
	awk -v want="${2:-}" '
		/^\.Sh / { on = ($0 == ".Sh OPTIONS"); sub_ok = (want == ""); next }
		/^\.Ss / { if (want != "") sub_ok = (substr($0, 5) == want); next }
		on && sub_ok && /^\.It /' "$1" | fl_names
}

# evctl.1 titles its OPTIONS subsections by command
evctl_subsection() {
	if [ "$1" = global ]; then
		echo "Options before the command"
	else
		echo "$1"
	fi
}

# Run a bash completion: bash_complete FILE WORD... prints COMPREPLY,
# one per line, for the last WORD.
bash_complete() {
	bash -c '
		file=$1
		shift
		. "$file" || exit 1
		COMP_WORDS=("$@")
		COMP_CWORD=$(($# - 1))
		COMP_LINE="$*"
		COMP_POINT=${#COMP_LINE}
		spec=$(complete -p "$1") || exit 1
		fn=${spec##*-F }
		fn=${fn%% *}
		"$fn" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' bash "$@"
}

# Options the bash completion offers for "TOOL [COMMAND] -".
bash_opts() {
	local tool=$1 group=${2:-global}
	if [ "$group" = global ]; then
		bash_complete "$TOP/completions/bash/$tool" "$tool" -
	else
		bash_complete "$TOP/completions/bash/$tool" "$tool" "$group" -
	fi | grep -E '^-' | sort -u
}

# Options in the _arguments specs of a zsh completion.  For evctl, GROUP
# picks the first _arguments call ("global") or a command's case branch.
zsh_opts() {
	local file=$TOP/completions/zsh/_$1 group=${2:-}
	awk -v want="$group" '
		want == "" { print; next }
		want == "global" && /_arguments -C/ { on = 1 }
		want != "global" && $0 ~ "^[ \t]*" want "\\)$" { on = 1; next }
		on { print }
		on && want == "global" && /&& ret=0/ { exit }
		on && want != "global" && /;;/ { exit }' "$file" |
		sed -E 's/\[[^]]*\]//g; s/\([^)]*\)//g; s/^[[:space:]]+//' |
		grep -oE "(^|[{,'*])--?[A-Za-z0-9][A-Za-z0-9-]*" |
		sed -E "s/^[{,'*]//" | sort -u
}

# Options of the complete commands of a fish completion.  For evctl,
# GROUP picks the lines conditioned on one command, or "global" for the
# others.
fish_opts() {
	local file=$TOP/completions/fish/$1.fish group=${2:-}
	awk -v want="$group" '
		!/^complete / { next }
		{
			g = "global"
			if (match($0, /__fish_seen_subcommand_from [a-z]+\x27/) &&
			    $0 !~ /not __fish_seen_subcommand_from/)
				g = substr($0, RSTART + 28, RLENGTH - 29)
		}
		want == "" || g == want' "$file" |
		sed -E "s/'[^']*'//g; s/\"[^\"]*\"//g" |
		grep -oE '(^| )-[slo] [^ ]+' |
		sed -E 's/^ ?-s /-/; s/^ ?-l /--/; s/^ ?-o /-/' | sort -u
}

# Fail, showing both lists, unless two option lists are equal and the
# first is not empty.
same_opts() {
	local what=$1 a=$2 b=$3
	if [ ! -s "$a" ]; then
		echo "$what: no options found in --help" >&2
		return 1
	fi
	if ! diff -u "$a" "$b" >"$T/diff"; then
		echo "$what: the options differ (- --help, + the docs):" >&2
		cat "$T/diff" >&2
		return 1
	fi
}

groups_of() {
	if [ "$1" = evctl ]; then echo "$EVCTL_GROUPS"; else echo global; fi
}

# ------------------------------------------------------------ options

check_man_synopsis() {
	local tool=$1 g
	for g in $(groups_of "$tool"); do
		help_opts "$tool" "$g" >"$T/help"
		if [ "$tool" = evctl ]; then
			man_synopsis_opts "$TOP/man/$tool.1" "$g"
		else
			man_synopsis_opts "$TOP/man/$tool.1"
		fi >"$T/doc"
		same_opts "$tool.1 SYNOPSIS ($g)" "$T/help" "$T/doc" || return 1
	done
}

check_man_options() {
	local tool=$1 g
	for g in $(groups_of "$tool"); do
		help_opts "$tool" "$g" >"$T/help"
		if [ "$tool" = evctl ]; then
			man_options_opts "$TOP/man/$tool.1" "$(evctl_subsection "$g")"
		else
			man_options_opts "$TOP/man/$tool.1"
		fi >"$T/doc"
		same_opts "$tool.1 OPTIONS ($g)" "$T/help" "$T/doc" || return 1
	done
}

check_completion() {
	local shell=$1 tool=$2 g
	for g in $(groups_of "$tool"); do
		help_opts "$tool" "$g" >"$T/help"
		if [ "$tool" = evctl ]; then
			"${shell}_opts" "$tool" "$g"
		else
			"${shell}_opts" "$tool"
		fi >"$T/doc"
		same_opts "$shell completion of $tool ($g)" "$T/help" "$T/doc" ||
			return 1
	done
}

@test "evpub: --help and the man page SYNOPSIS name the same options" {
	check_man_synopsis evpub
}

@test "evtail: --help and the man page SYNOPSIS name the same options" {
	check_man_synopsis evtail
}

@test "evctl: --help and the man page SYNOPSIS name the same options, command by command" {
	check_man_synopsis evctl
}

@test "evpub: --help and the man page OPTIONS name the same options" {
	check_man_options evpub
}

@test "evtail: --help and the man page OPTIONS name the same options" {
	check_man_options evtail
}

@test "evctl: --help and the man page OPTIONS name the same options, command by command" {
	check_man_options evctl
}

@test "evpub: --help and the bash completion name the same options" {
	check_completion bash evpub
}

@test "evtail: --help and the bash completion name the same options" {
	check_completion bash evtail
}

@test "evctl: --help and the bash completion name the same options, command by command" {
	check_completion bash evctl
}

@test "evpub: --help and the zsh completion name the same options" {
	check_completion zsh evpub
}

@test "evtail: --help and the zsh completion name the same options" {
	check_completion zsh evtail
}

@test "evctl: --help and the zsh completion name the same options, command by command" {
	check_completion zsh evctl
}

@test "evpub: --help and the fish completion name the same options" {
	check_completion fish evpub
}

@test "evtail: --help and the fish completion name the same options" {
	check_completion fish evtail
}

@test "evctl: --help and the fish completion name the same options, command by command" {
	check_completion fish evctl
}

# ------------------------------------------------------------ values

# bash_values TOOL [WORD...]: the sorted completions of the last WORD of
# the command line TOOL WORD...
bash_values() {
	bash_complete "$TOP/completions/bash/$1" "$@" | sort
}

# check_values TOOL OPTION 'v1 v2 ...' [COMMAND]: --help names each value
# on the option's line, and every completion offers exactly these values
check_values() {
	local tool=$1 opt=$2 values=$3 cmd=${4:-} v sorted zsh_list fish_list
	"$tool" --help | grep -E "^ +(-[A-Za-z], )?$opt " >"$T/line" || {
		echo "$tool --help has no line for $opt" >&2
		return 1
	}
	for v in $values; do
		grep -qw -- "$v" "$T/line" || {
			echo "$tool --help does not name '$v' for $opt:" >&2
			cat "$T/line" >&2
			return 1
		}
	done
	sorted=$(printf '%s\n' $values | sort)
	if [ -n "$cmd" ]; then
		run bash_values "$tool" "$cmd" "$opt" ''
	else
		run bash_values "$tool" "$opt" ''
	fi
	assert_status 0
	assert_stdout "$sorted"
	# zsh: ...:(v1 v2); fish: -a 'v1 v2'
	zsh_list=$(grep -E -- "$opt=" "$TOP/completions/zsh/_$tool" |
		grep -oE ':\([^)]*\)' | tr -d ':()' | tr ' ' '\n' | sort)
	[ "$zsh_list" = "$sorted" ] || {
		printf 'zsh completion of %s %s offers:\n%s\n' "$tool" "$opt" "$zsh_list" >&2
		return 1
	}
	fish_list=$(grep -E -- "-l ${opt#--} " "$TOP/completions/fish/$tool.fish" |
		grep -oE -- "-a '[^']*'" | sed -E "s/^-a '//; s/'$//" |
		tr ' ' '\n' | sort)
	[ "$fish_list" = "$sorted" ] || {
		printf 'fish completion of %s %s offers:\n%s\n' "$tool" "$opt" "$fish_list" >&2
		return 1
	}
}

@test "completions offer the values --help names for evpub --format and --sync" {
	check_values evpub --format 'envelope cloudevents'
	check_values evpub --sync 'batch none'
}

@test "completions offer the values --help names for evtail --output and --color" {
	check_values evtail --output 'json pretty cloudevents msgpack'
	check_values evtail --color 'auto always never'
}

@test "completions offer the values --help names for evctl init --sync" {
	check_values evctl --sync 'batch none' init
}

@test "completions offer the commands evctl --help lists" {
	want=$(evctl --help | awk '/^Commands:/ { on = 1; next }
		/^[^ ]/ { on = 0 } on && /^  [a-z]+ / { print $1 }' | sort)
	[ -n "$want" ]
	run bash_values evctl ''
	assert_status 0
	assert_stdout "$want"
	for c in $want; do
		grep -q "'$c:" "$TOP/completions/zsh/_evctl" || {
			echo "zsh completion lacks the command $c" >&2
			return 1
		}
		grep -q -- "-a $c " "$TOP/completions/fish/evctl.fish" || {
			echo "fish completion lacks the command $c" >&2
			return 1
		}
	done
}

@test "bash completion offers directories for LOG" {
	mkdir -p logs/a.evlog other
	touch logs/file
	run bash_values evctl info logs/
	assert_status 0
	assert_stdout "logs/a.evlog"
	run bash_values evpub -c logs/
	assert_status 0
	assert_stdout "logs/a.evlog"
}

# ------------------------------------------------------------ man pages

@test "every man page is clean under mandoc -Tlint -W warning" {
	local n=0 page
	for page in "$TOP"/man/*.[1-9]; do
		[ -e "$page" ] || continue
		n=$((n + 1))
		run --separate-stderr mandoc -Tlint -W warning "$page"
		assert_status 0
		assert_stdout ""
		assert_stderr ""
	done
	# evpub.1, evtail.1, evctl.1 at least (and evlog.5 once it exists)
	[ "$n" -ge 3 ]
}

@test "each tool's man page has the sections a user looks for" {
	local tool s
	for tool in $TOOLS; do
		for s in NAME SYNOPSIS DESCRIPTION OPTIONS "EXIT STATUS" EXAMPLES \
			"SEE ALSO"; do
			grep -qx "\.Sh $s" "$TOP/man/$tool.1" || {
				echo "man/$tool.1 has no $s section" >&2
				return 1
			}
		done
		grep -qx '\.Xr evlog 5' "$TOP/man/$tool.1" || {
			echo "man/$tool.1 does not refer to evlog(5)" >&2
			return 1
		}
	done
}

@test "each man page's EXIT STATUS lists every exit code --help names" {
	local tool c
	for tool in $TOOLS; do
		codes=$("$tool" --help | tr '\n' ' ' |
			sed -nE 's/.*Exit status: (.*)See .*/\1/p' |
			grep -oE '(^|[ ,])[0-9]+ ' | tr -dc '0-9\n ' | tr ' ' '\n' |
			grep -v '^$' | sort -u)
		[ -n "$codes" ] || {
			echo "$tool --help names no exit codes" >&2
			return 1
		}
		for c in $codes; do
			sed -n '/^\.Sh EXIT STATUS/,/^\.Sh /p' "$TOP/man/$tool.1" |
				grep -qx "\.It $c" || {
				echo "man/$tool.1 EXIT STATUS lacks $c" >&2
				return 1
			}
		done
	done
}

# the .Bl -column table that follows ".Sh/.Ss CloudEvents" or ".It Cm
# cloudevents", from .Bl to .El
ce_table() {
	sed -n '/^\.Bl -column "meta.correlationId/,/^\.El/p' "$1"
}

@test "evpub.1 and evtail.1 carry the same CloudEvents mapping table" {
	ce_table "$TOP/man/evpub.1" >"$T/a"
	ce_table "$TOP/man/evtail.1" >"$T/b"
	[ "$(wc -l <"$T/a")" -gt 10 ]
	diff -u "$T/a" "$T/b"
}

@test "the CloudEvents table names every attribute lib/cloudevents.c maps" {
	names=$(sed -n '/ce_reserved\[\] = {/,/};/p' "$TOP/lib/cloudevents.c" |
		grep -oE '"[a-z0-9_]+"' | tr -d '"')
	[ "$(echo "$names" | wc -w)" -gt 10 ]
	ce_table "$TOP/man/evpub.1" >"$T/table"
	for n in $names; do
		[ "$n" = specversion ] && continue # stated beside the table
		grep -qE "(^|[ ])$n( |$)" "$T/table" || {
			echo "the CloudEvents table does not name '$n'" >&2
			return 1
		}
	done
	grep -q 'urn:evlog:default' "$T/table"
	grep -q "CE_DEFAULT_SOURCE \"urn:evlog:default\"" "$TOP/lib/cloudevents.c"
}

# keys of the JSON OUTPUT section of evctl.1: the .It Li lines, or, with
# ITEM, the .Li words inside that item
man_json_keys() {
	sed -n '/^\.Sh JSON OUTPUT/,/^\.Sh /p' "$TOP/man/evctl.1" |
		awk -v item="${1:-}" '
			/^\.Bl -tag/ { list = 1; next }
			!list { next }
			/^\.It Li / {
				if (item == "") {
					line = substr($0, 8)
					gsub(/ , /, " ", line)
					n = split(line, w, / /)
					for (i = 1; i <= n; i++) print w[i]
				}
				in_item = ($3 == item)
				next
			}
			item != "" && in_item && /^\.Li / { print $2 }' | sort -u
}

@test "evctl.1 documents every key of evctl info --json, and no other" {
	make_log orders.evlog 20
	run --separate-stderr evctl info --json --types orders.evlog
	assert_status 0
	assert_stderr ""
	echo "$output" >info.json
	jq -r 'keys_unsorted[]' info.json | sort >"$T/have"
	man_json_keys >"$T/doc"
	same_opts "evctl info --json keys" "$T/have" "$T/doc"
	jq -r '.config | keys_unsorted[]' info.json | sort >"$T/have"
	man_json_keys config >"$T/doc"
	same_opts "evctl info --json config keys" "$T/have" "$T/doc"
	jq -r '.segment_list[0] | keys_unsorted[]' info.json | sort >"$T/have"
	man_json_keys segment_list >"$T/doc"
	same_opts "evctl info --json segment_list keys" "$T/have" "$T/doc"
}

# ------------------------------------------------------------ -h, -V, usage

# the usage lines that --help starts with, up to the first blank line
usage_of() {
	"$1" --help | sed '/^$/q' | sed '$d'
}

@test "-h and --help print the usage on stdout, exit 0, and nothing on stderr" {
	local tool opt
	for tool in $TOOLS; do
		for opt in -h --help; do
			run --separate-stderr "$tool" "$opt"
			assert_status 0
			assert_stderr ""
			assert_stdout_contains "Usage: $tool "
			assert_stdout_contains "$(usage_of "$tool")"
			assert_stdout_contains "Exit status:"
		done
	done
}

@test "evctl COMMAND -h and --help print the usage on stdout and exit 0" {
	local c opt
	for c in init info verify repair; do
		for opt in -h --help; do
			run --separate-stderr evctl "$c" "$opt"
			assert_status 0
			assert_stderr ""
			assert_stdout_contains "Usage: evctl "
		done
	done
}

@test "-V and --version name evlog, msgpack-c and zstd versions" {
	local tool opt version
	version=$(sed -n 's/^#define EVLOG_VERSION "\(.*\)"/\1/p' "$TOP/lib/evlog.h")
	[ -n "$version" ]
	for tool in $TOOLS; do
		for opt in -V --version; do
			run --separate-stderr "$tool" "$opt"
			assert_status 0
			assert_stderr ""
			[ "${lines[0]}" = "$tool $version" ] || {
				echo "$tool $opt: first line '${lines[0]}'" >&2
				return 1
			}
			[[ $output =~ msgpack-c\ [0-9]+\.[0-9]+\.[0-9]+ ]] || {
				echo "$tool $opt names no msgpack-c version: $output" >&2
				return 1
			}
			[[ $output =~ zstd\ [0-9]+\.[0-9]+\.[0-9]+ ]] || {
				echo "$tool $opt names no zstd version: $output" >&2
				return 1
			}
		done
	done
}

@test "an unknown long option exits 64 with the short usage on stderr" {
	local tool
	for tool in $TOOLS; do
		run --separate-stderr "$tool" --no-such-option
		assert_status 64
		assert_stdout ""
		assert_stderr "$tool: unrecognized option '--no-such-option'
$(usage_of "$tool")
Try '$tool --help' for more information."
	done
}

@test "an unknown short option exits 64 with the short usage on stderr" {
	local tool
	for tool in $TOOLS; do
		run --separate-stderr "$tool" -Z
		assert_status 64
		assert_stdout ""
		assert_stderr "$tool: invalid option -- 'Z'
$(usage_of "$tool")
Try '$tool --help' for more information."
	done
}

@test "evctl: an unknown option after a command exits 64, names evctl, and shows the usage" {
	local c
	for c in init info verify repair; do
		run --separate-stderr evctl "$c" --no-such-option x.evlog
		assert_status 64
		assert_stdout ""
		assert_stderr_contains "$(usage_of evctl)
Try 'evctl --help' for more information."
		[[ ${stderr%%$'\n'*} =~ ^evctl(\ $c)?:\ unrecognized\ option\ \'--no-such-option\'$ ]] || {
			echo "evctl $c: first line of stderr: ${stderr%%$'\n'*}" >&2
			return 1
		}
	done
}
