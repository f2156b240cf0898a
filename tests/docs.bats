#!/usr/bin/env bats
# tests/docs.bats - the documentation against the tools.
#
# --help, the man page SYNOPSIS and OPTIONS, and the bash, zsh and fish
# completions must name the same options (git's t0450 checks -h against
# the docs in the same spirit); the man pages must be clean under
# mandoc(1); -h, -V and unknown options must keep the contract of
# ../shared/STYLE.md; and the documented JSON keys, CloudEvents mapping,
# dead-letter fields and resolution records, handler environment and
# metric families must match what the code does.  evctl and evdlq are
# checked command by command; evdlq's selectors count for every command
# whose usage takes [SELECTORS].  A command with commands of its own
# (evctl schema check) is a group "schema-check": its options are those
# of 'evctl schema check --help', its man page entries ".Cm schema check"
# and ".Ss schema check", and its completions are conditioned on both
# words.

load helper

TOOLS="evpub evtail evctl evdlq evreplay evproject"
# the tools with commands: evctl init LOG, evdlq ls DLQ ...
CMD_TOOLS="evctl evdlq"

local_setup() {
	export LC_ALL=C # glibc's getopt messages, untranslated
}

# ------------------------------------------------------------ extraction

# Option names in the option lines of 'TOOL --help' (lines that start with
# blanks and a dash), one per line, sorted.  GROUP picks the options of
# one command of evctl or evdlq, "selectors" those under evdlq's
# "Selectors", or "global" those under "Options:".
help_opts() {
	if is_nested "${2:-global}"; then
		nested_help_opts "$1" "$2"
		return
	fi
	"$1" --help | awk -v want="${2:-global}" '
		/^Options:/ { g = "global"; next }
		/^Selectors/ { g = "selectors"; next }
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

# Is GROUP a command of a command ("schema-check")?
is_nested() {
	case $1 in *-*) return 0 ;; esac
	return 1
}

# The words of a group on a command line: "schema-check" -> "schema check"
group_words() {
	echo "${1/-/ }"
}

# The options of 'TOOL CMD SUB --help' (every option line; -h and --help,
# which every command takes, left out).
nested_help_opts() {
	"$1" $(group_words "$2") --help | awk '
		/^ +-/ {
			spec = $0
			sub(/^ +/, "", spec)
			sub(/  .*/, "", spec)
			n = split(spec, w, /[ ,]+/)
			for (i = 1; i <= n; i++)
				if (w[i] ~ /^--?[A-Za-z0-9][A-Za-z0-9-]*$/ &&
				    w[i] != "-h" && w[i] != "--help")
					print w[i]
		}' | sort -u
}

# The commands of command CMD of TOOL, as "CMD-SUB", from the usage lines
# of 'TOOL --help' that name TOOL CMD SUB; nothing when CMD has none.
nested_of() {
	usage_of "$1" | awk -v tool="$1" -v cmd="$2" '
		{
			for (i = 1; i + 2 <= NF; i++)
				if ($i == tool) {
					if ($(i + 1) == cmd && $(i + 2) ~ /^[a-z]+$/)
						print cmd "-" $(i + 2)
					break
				}
		}' | awk '!seen[$0]++'
}

# Every command of TOOL and every command of a command (as groups_of
# names them), once each.
all_commands() {
	{
		help_commands "$1"
		groups_of "$1" | grep -v '^global$'
	} | awk '!seen[$0]++'
}

# The commands under "Commands:" in 'TOOL --help'.
help_commands() {
	"$1" --help | awk '/^Commands:/ { on = 1; next }
		/^[^ ]/ { on = 0 } on && /^  [a-z]+ / { print $1 }'
}

# Does COMMAND take [SELECTORS] in the usage of 'TOOL --help'?  A usage
# line names its command after the tool's name; the lines that continue
# it do not.
help_takes_selectors() {
	"$1" --help | sed '/^$/q' | awk -v tool="$1" -v want="$2" '
		{
			for (i = 1; i < NF; i++)
				if ($i == tool) {
					cmd = $(i + 1)
					break
				}
		}
		/\[SELECTORS\]/ && cmd == want { found = 1 }
		END { exit !found }'
}

# The options of GROUP as --help gives them: its own, and the selectors
# when its usage takes them.
help_group_opts() {
	{
		help_opts "$1" "$2"
		if [ "$2" != global ] && help_takes_selectors "$1" "$2"; then
			help_opts "$1" selectors
		fi
	} | sort -u
}

# The Fl arguments of mdoc source lines on stdin, as option names.
fl_names() {
	grep -oE '(^\.|[ ])Fl +[^ ]+' |
		sed -E 's/^.?Fl +//; s/\\-/-/g; s/^/-/' |
		grep -E '^--?[A-Za-z0-9][A-Za-z0-9-]*$' | sort -u
}

# The SYNOPSIS lines of a man page.  Each synopsis line starts with .Nm;
# with GROUP, only the lines whose first .Cm is GROUP ("global": those
# without a .Cm), or, for "selectors", those after ".Ar SELECTORS :".
man_synopsis_lines() {
	awk -v want="${2:-}" '
		/^\.Sh / { on = ($0 == ".Sh SYNOPSIS"); next }
		!on { next }
		/^\.Nm/ { g = "global"; first = 1 }
		/^\.Ar SELECTORS :$/ { g = "selectors"; first = 0; next }
		/^\.Cm / && first {
			g = $2
			if (NF >= 3 && $3 ~ /^[a-z]+$/)
				g = $2 "-" $3
		}
		!/^\.Nm/ { first = 0 }
		want == "" || g == want' "$1"
}

# Options in the SYNOPSIS of a man page, for GROUP as above; a command
# whose synopsis has ".Op Ar SELECTORS" gets the selectors too.
man_synopsis_opts() {
	{
		man_synopsis_lines "$1" "${2:-}" | fl_names
		if [ -n "${2:-}" ] &&
			man_synopsis_lines "$1" "$2" | grep -qx '\.Op Ar SELECTORS'; then
			man_synopsis_lines "$1" selectors | fl_names
		fi
	} | sort -u
}

# Options defined (.It lines) in the OPTIONS section of a man page; with
# SUBSECTION, only in that .Ss.
man_options_opts() {
	awk -v want="${2:-}" '
		/^\.Sh / { on = ($0 == ".Sh OPTIONS"); sub_ok = (want == ""); next }
		/^\.Ss / { if (want != "") sub_ok = (substr($0, 5) == want); next }
		on && sub_ok && /^\.It /' "$1" | fl_names
}

# evctl.1 and evdlq.1 title their OPTIONS subsections by command
options_subsection() {
	if [ "$1" = global ]; then
		echo "Options before the command"
	elif is_nested "$1"; then
		group_words "$1"
	else
		echo "$1"
	fi
}

# Options in the OPTIONS of TOOL's man page for GROUP: its subsection,
# and "Selectors" when --help says the command takes them.
man_group_options() {
	local tool=$1 group=$2 page=$TOP/man/$1.1
	{
		man_options_opts "$page" "$(options_subsection "$group")"
		if [ "$group" != global ] && help_takes_selectors "$tool" "$group"; then
			man_options_opts "$page" Selectors
		fi
	} | sort -u
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
		bash_complete "$TOP/completions/bash/$tool" "$tool" \
			$(group_words "$group") -
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

# Options of the complete commands of a fish completion.  For a tool with
# commands, GROUP picks the lines conditioned on one command (alone or
# among others, as evdlq's selectors are), or "global" for the others.
fish_opts() {
	local file=$TOP/completions/fish/$1.fish group=${2:-}
	awk -v want="$group" '
		!/^complete / { next }
		{
			gs = ""
			if (match($0, /__fish_seen_subcommand_from [a-z ]+\x27/) &&
			    $0 !~ /not __fish_seen_subcommand_from/)
				gs = substr($0, RSTART + 28, RLENGTH - 29)
			# a command of a command: __evctl_schema_using check
			if (match($0, /__[a-z]+_[a-z]+_using [a-z]+/)) {
				gs = substr($0, RSTART, RLENGTH)
				sub(/^__[a-z]+_/, "", gs)
				sub(/_using /, "-", gs)
			}
			hit = (want == "" || (gs == "" && want == "global"))
			n = split(gs, w, / +/)
			for (i = 1; i <= n; i++)
				if (w[i] == want)
					hit = 1
		}
		hit' "$file" |
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

has_commands() {
	case " $CMD_TOOLS " in *" $1 "*) return 0 ;; esac
	return 1
}

# the option groups of a tool: "global" (before the command, or all of
# them), then one per command
groups_of() {
	local c sub
	echo global
	has_commands "$1" || return 0
	for c in $(help_commands "$1"); do
		sub=$(nested_of "$1" "$c")
		if [ -n "$sub" ]; then echo "$sub"; else echo "$c"; fi
	done
}

# ------------------------------------------------------------ options

# For a tool with commands, the empty group checks that some are found.
check_groups() {
	local tool=$1
	if has_commands "$tool" && [ "$(groups_of "$tool" | wc -l)" -lt 3 ]; then
		echo "$tool --help lists no commands" >&2
		return 1
	fi
}

check_man_synopsis() {
	local tool=$1 g
	check_groups "$tool" || return 1
	for g in $(groups_of "$tool"); do
		help_group_opts "$tool" "$g" >"$T/help"
		if has_commands "$tool"; then
			man_synopsis_opts "$TOP/man/$tool.1" "$g"
		else
			man_synopsis_opts "$TOP/man/$tool.1"
		fi >"$T/doc"
		same_opts "$tool.1 SYNOPSIS ($g)" "$T/help" "$T/doc" || return 1
	done
}

check_man_options() {
	local tool=$1 g
	check_groups "$tool" || return 1
	for g in $(groups_of "$tool"); do
		help_group_opts "$tool" "$g" >"$T/help"
		if has_commands "$tool"; then
			man_group_options "$tool" "$g"
		else
			man_options_opts "$TOP/man/$tool.1"
		fi >"$T/doc"
		same_opts "$tool.1 OPTIONS ($g)" "$T/help" "$T/doc" || return 1
	done
}

check_completion() {
	local shell=$1 tool=$2 g
	check_groups "$tool" || return 1
	for g in $(groups_of "$tool"); do
		help_group_opts "$tool" "$g" >"$T/help"
		if has_commands "$tool"; then
			"${shell}_opts" "$tool" "$g"
		else
			"${shell}_opts" "$tool"
		fi >"$T/doc"
		same_opts "$shell completion of $tool ($g)" "$T/help" "$T/doc" ||
			return 1
	done
}

# The options a tool's getopt_long tables accept, for GROUP as help_opts
# takes it: the long names of its struct option tables and the letters of
# its optstring.  A table belongs to the function it is in (cmd_NAME or
# NAME_options: command NAME; anything else: the tool's own options), and
# an *_OPTIONS macro's entries go to every function that names it.  The
# commands of evctl and evdlq take -h/--help without listing it; their
# global options are fe_dispatch()'s.
src_opts() {
	local tool=$1 want=${2:-global} src=("$TOP/cmd/$1.c")
	if has_commands "$tool" && [ "$want" = global ]; then
		src=("$TOP/cmd/fe.c")
	elif is_nested "$want"; then
		# evctl schema check: cmd/evctl_schema.c, and its commands'
		# own files (evctl_schema_compat in cmd/evctl_compat.c)
		src=("$TOP/cmd/${tool}_"*.c)
	fi
	awk -v want="$want" -v cmds="$(has_commands "$tool" && echo 1)" '
		function group(f) {
			if (!cmds || f == "")
				return "global"
			if (f ~ /^cmd_[a-z]+_[a-z]+$/ || f ~ /^evctl_[a-z]+_[a-z]+$/) {
				sub(/^(cmd|evctl)_/, "", f)
				sub(/_/, "-", f)
				return f
			}
			if (f ~ /^cmd_/)
				return substr(f, 5)
			if (f ~ /_options$/)
				return substr(f, 1, length(f) - 8)
			return "global"
		}
		function names(line, into,   s, m) {
			s = line
			while (match(s, /\{"[a-z0-9-]+", *(no|required|optional)_argument/)) {
				m = substr(s, RSTART + 2)
				sub(/".*/, "", m)
				into[m] = 1
				s = substr(s, RSTART + RLENGTH)
			}
		}
		/^#define [A-Z_]+_OPTIONS/ { macro = $2; inmacro = 1 }
		inmacro {
			names($0, mac)
			for (k in mac) { macros[macro, k] = 1; delete mac[k] }
			if ($0 !~ /\\$/)
				inmacro = 0
			next
		}
		/^[a-z].*[a-z_]+\(/ && !/;$/ {
			f = $0
			sub(/\(.*/, "", f)
			sub(/.*[ *]/, "", f)
		}
		/^}/ { f = "" }
		group(f) != want { next }
		{ names($0, got) }
		/[A-Z_]+_OPTIONS/ && !/^#/ {
			for (mk in macros) {
				split(mk, parts, SUBSEP)
				if (index($0, parts[1]))
					got[parts[2]] = 1
			}
		}
		/(getopt_long|fe_getopt)\(/ && match($0, /"[+]?[A-Za-z:]*"/) {
			o = substr($0, RSTART + 1, RLENGTH - 2)
			gsub(/[+:]/, "", o)
			for (i = 1; i <= length(o); i++)
				got["-" substr(o, i, 1)] = 2
		}
		END {
			for (k in got) {
				if (cmds && want != "global" && (k == "help" || k == "-h"))
					continue
				print (got[k] == 2 ? k : "--" k)
			}
		}' "${src[@]}" | sort -u
}

check_getopt() {
	local tool=$1 g
	for g in $(groups_of "$tool"); do
		help_group_opts "$tool" "$g" >"$T/help"
		src_opts "$tool" "$g" >"$T/src"
		same_opts "getopt tables of $tool ($g) (- --help, + the code)" \
			"$T/help" "$T/src" || return 1
	done
}

@test "evpub: --help names exactly the options its getopt table takes" {
	check_getopt evpub
}

@test "evtail: --help names exactly the options its getopt table takes" {
	check_getopt evtail
}

@test "evreplay: --help names exactly the options its getopt table takes" {
	check_getopt evreplay
}

@test "evproject: --help names exactly the options its getopt table takes" {
	check_getopt evproject
}

@test "evctl: --help names exactly the options its getopt tables take, command by command" {
	check_getopt evctl
}

@test "evdlq: --help names exactly the options and selectors its getopt tables take, command by command" {
	check_getopt evdlq
}

@test "evpub: --help and the man page SYNOPSIS name the same options" {
	check_man_synopsis evpub
}

@test "evtail: --help and the man page SYNOPSIS name the same options" {
	check_man_synopsis evtail
}

@test "evreplay: --help and the man page SYNOPSIS name the same options" {
	check_man_synopsis evreplay
}

@test "evproject: --help and the man page SYNOPSIS name the same options" {
	check_man_synopsis evproject
}

@test "evctl: --help and the man page SYNOPSIS name the same options, command by command" {
	check_man_synopsis evctl
}

@test "evdlq: --help and the man page SYNOPSIS name the same options and selectors, command by command" {
	check_man_synopsis evdlq
}

@test "evpub: --help and the man page OPTIONS name the same options" {
	check_man_options evpub
}

@test "evtail: --help and the man page OPTIONS name the same options" {
	check_man_options evtail
}

@test "evreplay: --help and the man page OPTIONS name the same options" {
	check_man_options evreplay
}

@test "evproject: --help and the man page OPTIONS name the same options" {
	check_man_options evproject
}

@test "evctl: --help and the man page OPTIONS name the same options, command by command" {
	check_man_options evctl
}

@test "evdlq: --help and the man page OPTIONS name the same options and selectors, command by command" {
	check_man_options evdlq
}

@test "evpub: --help and the bash completion name the same options" {
	check_completion bash evpub
}

@test "evtail: --help and the bash completion name the same options" {
	check_completion bash evtail
}

@test "evreplay: --help and the bash completion name the same options" {
	check_completion bash evreplay
}

@test "evproject: --help and the bash completion name the same options" {
	check_completion bash evproject
}

@test "evctl: --help and the bash completion name the same options, command by command" {
	check_completion bash evctl
}

@test "evdlq: --help and the bash completion name the same options and selectors, command by command" {
	check_completion bash evdlq
}

@test "evpub: --help and the zsh completion name the same options" {
	check_completion zsh evpub
}

@test "evtail: --help and the zsh completion name the same options" {
	check_completion zsh evtail
}

@test "evreplay: --help and the zsh completion name the same options" {
	check_completion zsh evreplay
}

@test "evproject: --help and the zsh completion name the same options" {
	check_completion zsh evproject
}

@test "evctl: --help and the zsh completion name the same options, command by command" {
	check_completion zsh evctl
}

@test "evdlq: --help and the zsh completion name the same options and selectors, command by command" {
	check_completion zsh evdlq
}

@test "evpub: --help and the fish completion name the same options" {
	check_completion fish evpub
}

@test "evtail: --help and the fish completion name the same options" {
	check_completion fish evtail
}

@test "evreplay: --help and the fish completion name the same options" {
	check_completion fish evreplay
}

@test "evproject: --help and the fish completion name the same options" {
	check_completion fish evproject
}

@test "evctl: --help and the fish completion name the same options, command by command" {
	check_completion fish evctl
}

@test "evdlq: --help and the fish completion name the same options and selectors, command by command" {
	check_completion fish evdlq
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
	# the option's line and the deeply indented lines that continue it
	"$tool" --help | awk -v opt="$opt" '
		on && /^          +[^ -]/ { print; next }
		{ on = 0 }
		$0 ~ "^ +(-[A-Za-z], )?" opt " " { print; on = 1 }' >"$T/line"
	[ -s "$T/line" ] || {
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
	check_values evpub --format 'envelope cloudevents msgpack'
	check_values evpub --sync 'batch none'
}

@test "completions offer the values --help names for evtail --output and --color" {
	check_values evtail --output 'json pretty cloudevents msgpack csv tsv count chrome'
	check_values evtail --color 'auto always never'
}

@test "completions offer the values --help names for evtail --on-failure, --on-error and --dlq-policy" {
	check_values evtail --on-failure 'stop dlq skip'
	check_values evtail --on-error 'stop skip dlq'
	check_values evtail --dlq-policy 'event stream'
}

@test "completions offer the values --help names for evreplay --output, --color, --on-failure, --on-error and --dlq-policy" {
	check_values evreplay --output 'json pretty cloudevents msgpack'
	check_values evreplay --color 'auto always never'
	check_values evreplay --on-failure 'stop dlq skip'
	check_values evreplay --on-error 'stop skip dlq'
	check_values evreplay --dlq-policy 'event stream'
}

@test "completions offer the values --help names for evproject --output and --on-error" {
	check_values evproject --output 'table json ndjson csv tsv'
	check_values evproject --on-error 'stop skip dlq'
}

@test "completions offer the values --help names for evctl init --sync" {
	check_values evctl --sync 'batch none' init
}

@test "completions offer the commands evctl and evdlq --help list" {
	local tool c want
	for tool in $CMD_TOOLS; do
		want=$(help_commands "$tool" | sort)
		[ "$(echo "$want" | wc -l)" -ge 4 ] || {
			echo "$tool --help lists too few commands: $want" >&2
			return 1
		}
		run bash_values "$tool" ''
		assert_status 0
		assert_stdout "$want"
		for c in $want; do
			grep -q "'$c:" "$TOP/completions/zsh/_$tool" || {
				echo "zsh completion of $tool lacks the command $c" >&2
				return 1
			}
			grep -q -- "-a $c " "$TOP/completions/fish/$tool.fish" || {
				echo "fish completion of $tool lacks the command $c" >&2
				return 1
			}
		done
	done
}

# check_nested_values TOOL GROUP OPTION 'v1 v2 ...': as check_values, for
# a command of a command (evctl schema check): its --help names each
# value on the option's line, and the completions of that command, and
# only those, offer exactly these values
check_nested_values() {
	local tool=$1 g=$2 opt=$3 values=$4 v sorted zsh_list fish_list words
	words=$(group_words "$g")
	"$tool" $words --help | awk -v opt="$opt" '
		on && /^          +[^ -]/ { print; next }
		{ on = 0 }
		$0 ~ "^ +(-[A-Za-z], )?" opt " " { print; on = 1 }' >"$T/line"
	[ -s "$T/line" ] || {
		echo "$tool $words --help has no line for $opt" >&2
		return 1
	}
	for v in $values; do
		grep -qw -- "$v" "$T/line" || {
			echo "$tool $words --help does not name '$v' for $opt" >&2
			return 1
		}
	done
	sorted=$(printf '%s\n' $values | sort)
	run bash_values "$tool" $words "$opt" ''
	assert_status 0
	assert_stdout "$sorted"
	# zsh: the branch of the group; fish: the lines conditioned on it
	zsh_list=$(awk -v want="$g" '$0 ~ "^[ \t]*" want "\\)$" { on = 1; next }
		on && /;;/ { exit } on' "$TOP/completions/zsh/_$tool" |
		grep -E -- "$opt=" | grep -oE ':\([^)]*\)' | tr -d ':()' |
		tr ' ' '\n' | sort)
	[ "$zsh_list" = "$sorted" ] || {
		printf 'zsh completion of %s %s %s offers:\n%s\n' "$tool" "$words" "$opt" "$zsh_list" >&2
		return 1
	}
	fish_list=$(grep -E -- "_using ${g#*-}' .*-l ${opt#--} " "$TOP/completions/fish/$tool.fish" |
		grep -oE -- "-a '[^']*'" | sed -E "s/^-a '//; s/'$//" |
		tr ' ' '\n' | sort)
	[ "$fish_list" = "$sorted" ] || {
		printf 'fish completion of %s %s %s offers:\n%s\n' "$tool" "$words" "$opt" "$fish_list" >&2
		return 1
	}
}

@test "completions offer the values --help names for evctl schema check, lint and compat" {
	check_nested_values evctl schema-check --report 'human json junit tap'
	check_nested_values evctl schema-check --formats 'annotate assert'
	check_nested_values evctl schema-lint --report 'human json'
}

@test "completions offer the commands of evctl schema that its usage names" {
	local want c
	want=$(nested_of evctl schema | sed 's/^schema-//' | sort)
	[ "$(echo "$want" | wc -l)" -eq 4 ]
	run bash_values evctl schema ''
	assert_status 0
	assert_stdout "$want"
	for c in $want; do
		grep -q "'$c:" "$TOP/completions/zsh/_evctl" || {
			echo "zsh completion of evctl schema lacks $c" >&2
			return 1
		}
		grep -q -- "-a $c " "$TOP/completions/fish/evctl.fish" || {
			echo "fish completion of evctl schema lacks $c" >&2
			return 1
		}
	done
}

@test "bash completion offers directories for LOG, DLQ, evtail --dlq and evreplay --to-log" {
	mkdir -p logs/a.evlog other
	touch logs/file
	run bash_values evctl info logs/
	assert_status 0
	assert_stdout "logs/a.evlog"
	run bash_values evpub -c logs/
	assert_status 0
	assert_stdout "logs/a.evlog"
	run bash_values evtail --group g --exec true --dlq logs/
	assert_status 0
	assert_stdout "logs/a.evlog"
	run bash_values evreplay --to-log logs/
	assert_status 0
	assert_stdout "logs/a.evlog"
	run bash_values evreplay -c --to-log logs/a.evlog logs/
	assert_status 0
	assert_stdout "logs/a.evlog"
	run bash_values evdlq ls --type 'Order*' logs/
	assert_status 0
	assert_stdout "logs/a.evlog"
	run bash_values evdlq retry --exec ./fix.sh logs/
	assert_status 0
	assert_stdout "logs/a.evlog"
	# show: DLQ, then offsets, which are not files
	run bash_values evdlq show logs/a.evlog ''
	assert_status 0
	assert_stdout ""
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

# man_json_keys TOOL LIST [ITEM]: the keys of the LIST-th tag list of the
# JSON OUTPUT section of TOOL.1, in the order documented: the .It Li
# lines, or, with ITEM, the .Li words inside that item
man_json_keys() {
	sed -n '/^\.Sh JSON OUTPUT/,/^\.Sh /p' "$TOP/man/$1.1" |
		awk -v which="$2" -v item="${3:-}" '
			/^\.Bl -tag/ { list = (++n == which); next }
			/^\.El/ { list = 0; next }
			!list { next }
			/^\.It Li / {
				if (item == "") {
					line = substr($0, 8)
					gsub(/ , /, " ", line)
					k = split(line, w, / /)
					for (i = 1; i <= k; i++) print w[i]
				}
				in_item = ($3 == item)
				next
			}
			item != "" && in_item && /^\.Li / { print $2 }'
}

@test "evctl.1 documents every key of evctl info --json, and no other" {
	make_log orders.evlog 20
	run --separate-stderr evctl info --json --types orders.evlog
	assert_status 0
	assert_stderr ""
	echo "$output" >info.json
	jq -r 'keys_unsorted[]' info.json | sort >"$T/have"
	man_json_keys evctl 1 | sort -u >"$T/doc"
	same_opts "evctl info --json keys" "$T/have" "$T/doc"
	jq -r '.config | keys_unsorted[]' info.json | sort >"$T/have"
	man_json_keys evctl 1 config | sort -u >"$T/doc"
	same_opts "evctl info --json config keys" "$T/have" "$T/doc"
	jq -r '.segment_list[0] | keys_unsorted[]' info.json | sort >"$T/have"
	man_json_keys evctl 1 segment_list | sort -u >"$T/doc"
	same_opts "evctl info --json segment_list keys" "$T/have" "$T/doc"
}

@test "evctl.1 documents every key of evctl streams --json, in order, and no other" {
	make_log orders.evlog 20
	run --separate-stderr evctl streams --json orders.evlog
	assert_status 0
	assert_stderr ""
	[ -n "$output" ]
	echo "$output" | head -n 1 | jq -r 'keys_unsorted[]' >"$T/have"
	man_json_keys evctl 2 >"$T/doc"
	diff -u "$T/have" "$T/doc"
}

# ------------------------------------------------------------ dead letters

# A dead-letter log, dlq.evlog, from a handler that always fails on
# orders.evlog: letter 0 is order-1's first event, letter 1 its second,
# parked behind letter 0 (--dlq-policy stream), and letter 2 an event
# without a stream.
make_dlq() {
	printf '%s\n' \
		'{"type":"OrderPaid","stream":"order-1","data":{"n":1}}' \
		'{"type":"OrderShipped","stream":"order-1","data":{"n":2}}' \
		'{"type":"Ping","data":{"n":3}}' | evpub -c orders.evlog || return 1
	evtail --group billing --exec 'cat >/dev/null; echo boom >&2; exit 3' \
		--retries 0 --dlq dlq.evlog --dlq-policy stream orders.evlog \
		2>"$T/evtail.err" || {
		cat "$T/evtail.err" >&2
		return 1
	}
	[ "$(evdlq ls --json dlq.evlog | wc -l)" -eq 3 ] || {
		echo "make_dlq: expected 3 open letters" >&2
		return 1
	}
}

@test "evdlq.1 documents every key of evdlq ls --json and show --json, in order, and no other" {
	make_dlq
	run --separate-stderr evdlq ls --json dlq.evlog
	assert_status 0
	assert_stderr ""
	echo "${lines[1]}" >ls.json
	jq -r 'keys_unsorted[]' ls.json >"$T/have"
	man_json_keys evdlq 1 >"$T/doc"
	same_opts "evdlq ls --json keys" "$T/have" "$T/doc"
	jq -r '.source | keys_unsorted[]' ls.json >"$T/have"
	# partition: a Kafka log's letters only (tests/kafka-fix.bats)
	man_json_keys evdlq 1 source | grep -vx partition >"$T/doc"
	same_opts "evdlq ls --json source keys" "$T/have" "$T/doc"
	run --separate-stderr evdlq show --json dlq.evlog 0
	assert_status 0
	assert_stderr ""
	echo "$output" >show.json
	jq -r 'keys_unsorted[]' show.json >"$T/have"
	man_json_keys evdlq 2 >"$T/doc"
	same_opts "evdlq show --json keys" "$T/have" "$T/doc"
	# "letter" is the event, as evtail prints it
	[ "$(jq -c .letter show.json)" = "$(evtail --to 0 dlq.evlog | jq -c .)" ]
}

# the fields of a dead letter's data listed in evdlq.1 (the tag list
# nested in "Dead letters"), in order
man_letter_fields() {
	sed -n '/^\.Ss Dead letters/,/^\.S[sh] /p' "$TOP/man/evdlq.1" | awk '
		/^\.Bl/ { depth++; next }
		/^\.El/ { depth--; next }
		depth == 2 && /^\.It Li / {
			line = substr($0, 8)
			gsub(/ , /, " ", line)
			n = split(line, w, / /)
			for (i = 1; i <= n; i++) print w[i]
		}'
}

@test "evdlq.1 lists every field of a dead letter's data, in order, and its Kafka table only those" {
	make_dlq
	evtail dlq.evlog >dlq.ndjson
	# letter 1 is parked, and has every field
	jq -r 'select(.offset == 1) | .data | keys_unsorted[]' dlq.ndjson >"$T/have"
	man_letter_fields >"$T/doc"
	same_opts "dead letter fields" "$T/have" "$T/doc"
	# letter 0 failed by itself: all but the two parked fields
	jq -r 'select(.offset == 0) | .data | keys_unsorted[]' dlq.ndjson >"$T/have"
	grep -v '^parkedBehind' "$T/doc" >"$T/doc0"
	same_opts "dead letter fields (not parked)" "$T/have" "$T/doc0"
	head -n 1 dlq.ndjson | jq -e '.offset == 0 and .type == "DeadLetter" and
		(has("stream") | not) and (has("version") | not) and
		(.id | test("^deadletter:billing:[0-9a-f]{32}:0:1$"))'

	# the Kafka table: field, Spring Kafka header, Kafka Connect header
	sed -n '/^\.Ss Dead letters/,/^\.S[sh] /p' "$TOP/man/evdlq.1" |
		sed -n '/^\.Bl -column/,/^\.El/p' | grep '^\.It Li ' |
		awk -F ' Ta ' '{
			for (i = 1; i <= 3; i++) {
				sub(/^\.It /, "", $i)
				sub(/^Li /, "", $i)
			}
			print $1, $2, $3
		}' >"$T/table"
	[ "$(wc -l <"$T/table")" -ge 10 ]
	while read -r field spring connect; do
		grep -qx "$field" "$T/have" || {
			echo "the Kafka table names '$field', which a letter lacks" >&2
			return 1
		}
		[[ $spring =~ ^kafka_dlt-(original|exception)-[a-z-]+$ || $spring == '\(em' ]] &&
			[[ $connect =~ ^__connect\.errors\.[a-z.]+$ || $connect == '\(em' ]] || {
			echo "bad Kafka table row for $field: $spring $connect" >&2
			return 1
		}
	done <"$T/table"
	# every field is the value, in the table, or named as evlog's own
	sed -n '/^\.Ss Dead letters/,/^\.S[sh] /p' "$TOP/man/evdlq.1" |
		sed -n '/^The other fields/,/^\.Pc/p' | awk '/^\.Li / { print $2 }' >"$T/own"
	{
		echo original
		awk '{ print $1 }' "$T/table"
		cat "$T/own"
	} | sort >"$T/parts"
	sort "$T/doc" >"$T/all"
	same_opts "dead letter fields: value, Kafka table and evlog's own" "$T/all" "$T/parts"
}

# the .Li words in the item of TYPE in "Resolution records" of evdlq.1
man_resolution_fields() {
	sed -n '/^\.Ss Resolution records/,/^\.S[sh] /p' "$TOP/man/evdlq.1" |
		awk -v want="$1" '
			/^\.It Li / { on = ($3 == want); next }
			/^\.El/ { on = 0 }
			on && /^\.Li / { print $2 }' | sort -u
}

@test "evdlq.1 documents the data of each resolution record retry and purge write" {
	make_dlq
	run evdlq retry --retries 0 --exec 'cat >/dev/null; exit 4' --offset 0 dlq.evlog
	assert_status 1
	run evdlq retry --exec 'cat >/dev/null' --offset 0 dlq.evlog
	assert_status 0
	run evdlq purge --reason 'test data' --offset 2 dlq.evlog
	assert_status 0
	evtail dlq.evlog >dlq.ndjson
	local type
	for type in DeadLetterRetryFailed DeadLetterResolved DeadLetterDiscarded; do
		jq -r --arg t "$type" 'select(.type == $t) | .data | keys_unsorted[]' \
			dlq.ndjson | sort -u >"$T/have"
		man_resolution_fields "$type" >"$T/doc"
		same_opts "$type data" "$T/have" "$T/doc" || return 1
	done
	# resolved, left open behind nothing, discarded
	run evdlq ls --all --json dlq.evlog
	[ "$(echo "$output" | jq -r .state | tr '\n' ' ')" = "resolved open discarded " ]
}

@test "evtail.1 and evdlq.1 document the variables their handlers get, and no others" {
	# the names handlers really see, one run per event and one per batch
	make_dlq
	printf '%s\n' "env | grep -o '^EV_[A-Z_]*' >>$T/env.out" \
		'cat >/dev/null' >"$T/dump.sh"
	evtail --group g1 --exec "sh $T/dump.sh" orders.evlog
	evtail --group g2 --batch 2 --exec "sh $T/dump.sh" orders.evlog
	mv "$T/env.out" "$T/env.evtail"
	# on a Kafka log only (tests/kafka-group.bats checks it there)
	echo EV_PARTITION >>"$T/env.evtail"
	evdlq retry --exec "sh $T/dump.sh" dlq.evlog >/dev/null
	mv "$T/env.out" "$T/env.evdlq"
	# a Kafka log's letters only (tests/kafka-fix.bats)
	echo EV_PARTITION >>"$T/env.evdlq"
	local page
	for page in evtail evdlq; do
		sort -u "$T/env.$page" >"$T/have"
		grep -oE 'Ev EV_[A-Z_]+' "$TOP/man/$page.1" | awk '{ print $2 }' |
			sort -u >"$T/doc"
		same_opts "handler environment of $page (- what a handler gets)" \
			"$T/have" "$T/doc" || return 1
	done
}

@test "evctl.1 names every metric family evctl metrics prints, the DLQ ones included" {
	make_dlq
	run --separate-stderr evctl metrics orders.evlog dlq.evlog
	assert_status 0
	families=$(echo "$output" | awk '$1 == "#" && $2 == "TYPE" { print $3 }')
	for f in evlog_dlq_open_letters evlog_dlq_oldest_open_age_seconds \
		evlog_handler_duration_seconds; do
		echo "$families" | grep -qx "$f" || {
			echo "evctl metrics printed no $f" >&2
			return 1
		}
	done
	for f in $families; do
		grep -qE "^\.Li $f( |\$)" "$TOP/man/evctl.1" || {
			echo "evctl.1 does not name the metric $f" >&2
			return 1
		}
	done
}

@test "the handler limits the man pages state are those of lib/evlog.h" {
	grep -qE '^#define EV_STDERR_KEEP 4096\b' "$TOP/lib/evlog.h"
	grep -qE '^#define EV_KILL_GRACE_MS 2000\b' "$TOP/lib/evlog.h"
	grep -qE '^#define EV_MAX_PARALLEL 64\b' "$TOP/lib/evlog.h"
	local page
	for page in evtail evdlq; do
		grep -q 'last 4 KiB' "$TOP/man/$page.1"
		grep -q '^2 seconds later' "$TOP/man/$page.1"
	done
	grep -q '(1 to 64; 1 by default)' "$TOP/man/evtail.1"
	run evtail --group g --exec true --parallel 65 x.evlog
	assert_status 64
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

@test "evctl and evdlq COMMAND -h and --help print the usage on stdout and exit 0" {
	local tool c opt
	for tool in $CMD_TOOLS; do
		for c in $(all_commands "$tool"); do
			for opt in -h --help; do
				run --separate-stderr "$tool" $(group_words "$c") "$opt"
				assert_status 0
				assert_stderr ""
				if is_nested "$c"; then
					# its own usage, first
					[[ ${lines[0]} == "Usage: $tool $(group_words "$c") "* ]] || {
						echo "$tool $c $opt: first line ${lines[0]}" >&2
						return 1
					}
				else
					assert_stdout_contains "Usage: $tool "
				fi
			done
		done
	done
}

# the usage lines of 'TOOL CMD SUB' in the usage on stdin (the first
# line of each usage without "Usage: " or its indent), joined, with
# blanks squeezed
usage_lines_of() {
	awk -v tool="$1" -v cmd="$2" '
		/^(Usage: )? *[a-z]+ / {
			line = $0
			sub(/^(Usage: )? */, "", line)
			if (substr(line, 1, length(tool) + 1) == tool " ") {
				keep = (index(line, tool " " cmd " ") == 1 ||
					line == tool " " cmd)
				if (keep) printf "%s ", line
				next
			}
		}
		/^$/ { keep = 0 }
		keep { line = $0; sub(/^ +/, "", line); printf "%s ", line }' |
		tr -s ' '
}

@test "evctl schema COMMAND --help starts with the usage lines evctl --help gives it" {
	local g words have want
	for g in $(groups_of evctl); do
		is_nested "$g" || continue
		words=$(group_words "$g")
		want=$(evctl --help | sed '/^$/q' | usage_lines_of evctl "$words")
		have=$(evctl $words --help | sed '/^$/q' | usage_lines_of evctl "$words")
		[ -n "$want" ] && [ "$have" = "$want" ] || {
			printf 'evctl %s --help: usage\n%s\nevctl --help:\n%s\n' \
				"$words" "$have" "$want" >&2
			return 1
		}
	done
	# and the groups are found
	[ "$(groups_of evctl | grep -c '^schema-')" -eq 4 ]
}

@test "-V and --version name evlog, msgpack-c, zstd, Lua and PCRE2 versions" {
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
			[[ $output =~ Lua\ 5\.4\.[0-9]+ ]] || {
				echo "$tool $opt names no Lua version: $output" >&2
				return 1
			}
			[[ $output =~ PCRE2\ [0-9]+\.[0-9]+$ ]] || {
				echo "$tool $opt names no PCRE2 version: $output" >&2
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

@test "evctl and evdlq: an unknown option after a command exits 64, names the tool, and shows the usage" {
	local tool c
	for tool in $CMD_TOOLS; do
		for c in $(all_commands "$tool"); do
			is_nested "$c" && c=$(group_words "$c")
			run --separate-stderr "$tool" $c --no-such-option x.evlog
			if [ "$tool $c" = "evctl lag" ] || [ "$tool $c" = "evctl health" ]; then
				# the Nagios convention: UNKNOWN, on stdout
				assert_status 3
				assert_stdout "${c^^} UNKNOWN - bad usage, see 'evctl --help'"
			else
				assert_status 64
				assert_stdout ""
				# that command's usage only, not every command's
				assert_stderr_contains "
Usage: $tool $c "
				[ "$(grep -c "^\(Usage: \| *\)$tool " <<<"$stderr")" -eq \
					"$(usage_of "$tool" | grep -c "^\(Usage: \| *\)$tool $c ")" ] || {
					echo "$tool $c: usage lines of other commands: $stderr" >&2
					return 1
				}
				# evctl schema SUB: that command's own help
				try=$tool
				[[ "$tool $c" == "evctl schema"* ]] && try="$tool $c"
				assert_stderr_contains "
Try '$try --help' for more information."
			fi
			[[ ${stderr%%$'\n'*} =~ ^$tool(\ $c)?:\ unrecognized\ option\ \'--no-such-option\'$ ]] || {
				echo "$tool $c: first line of stderr: ${stderr%%$'\n'*}" >&2
				return 1
			}
		done
	done
}

# the "The default is X." sentence of OPTION's entry in man page PAGE
man_default() {
	awk -v opt="$2" '
		/^\.It Fl / { inopt = ($0 ~ "^\\.It Fl \\\\-" opt "( |$)") }
		inopt && /^The default is / {
			sub(/^The default is /, ""); sub(/\.$/, ""); print; exit
		}' "$TOP/man/$1"
}

@test "evpub: the man page gives the --batch-bytes default that --help gives" {
	local help man
	help=$(evpub --help | sed -n 's/.*--batch-bytes SIZE .*(\(.*\))$/\1/p')
	man=$(man_default evpub.1 batch-bytes)
	[ "$help" = 256K ]
	[ "$man" = "$help" ] || {
		echo "evpub(1) says $man, --help $help" >&2
		return 1
	}
}

# ------------------------------------------------------------ README

# the level-2 headings of a Markdown file, in order
md_headings() {
	awk '/^```/ { code = !code; next } !code && /^## / { sub(/^## /, ""); print }' "$1"
}

@test "README: what it is, set-up, PATH, a quick tour and the guarantees come first, in that order" {
	run md_headings "$TOP/README.md"
	assert_status 0
	[ "${lines[0]}" = "Set up" ] &&
		[ "${lines[1]}" = "Getting the tools on your PATH" ] &&
		[ "${lines[2]}" = "A quick tour" ] &&
		[ "${lines[3]}" = "Guarantees" ] || {
		echo "README headings: ${lines[*]}" >&2
		return 1
	}
	# what it is: the title, then a paragraph saying it, before any heading
	run awk '/^## / { exit } { print }' "$TOP/README.md"
	assert_stdout_line 0 "# evlog: Unix tools for event streams"
	assert_stdout_contains "evlog is a family of small command-line programs"
	# the two set-up commands, the second the one CI runs
	run awk '/^## Set up/ { on = 1; next } /^## / { on = 0 } on' "$TOP/README.md"
	assert_stdout_contains "sh .ci/deps build && make demo "
	assert_stdout_contains "sh .ci/deps build && make check "
	grep -qx 'sh .ci/deps build && make check' "$TOP/.ci/run"
	# both ways onto PATH
	run awk '/^## Getting the tools/ { on = 1; next } /^## / { on = 0 } on' "$TOP/README.md"
	assert_stdout_contains "make install PREFIX=~/.local"
	assert_stdout_contains 'export PATH=$PWD/cmd:$PATH'
}

@test "README: a short performance summary that links the tables in bench/README.md" {
	run awk '/^## Performance/ { on = 1; next } /^## / { on = 0 } on' "$TOP/README.md"
	assert_status 0
	assert_stdout_contains "[bench/README.md](bench/README.md)"
	# no table in the summary, and at most 15 lines
	! grep -q '^|' <<<"$output"
	[ "${#lines[@]}" -le 15 ]
	grep -q '^## The latest run' "$TOP/bench/README.md"
}

@test "README, bench/README.md, the man pages and --help use no internal bookkeeping words" {
	local f tool
	for f in "$TOP"/README.md "$TOP"/bench/README.md "$TOP"/man/*.[15] \
		"$TOP"/examples/*/README.md; do
		[ -f "$f" ]
		run grep -n -i -E 'issues?[ -]*[0-9#]|§' "$f"
		[ "$status" -eq 1 ] || {
			echo "$f: $output" >&2
			return 1
		}
	done
	for tool in $TOOLS; do
		run grep -n -i -E 'issues?[ -]*[0-9#]|§' <("$tool" --help)
		[ "$status" -eq 1 ] || {
			echo "$tool --help: $output" >&2
			return 1
		}
	done
	# the words are caught where they appear
	run grep -c -i -E 'issues?[ -]*[0-9#]|§' <<<'as in issue-3, issue 8 §2'
	assert_stdout 1
}

# ------------------------------------------------------------ NO_COLOR

@test "each tool's man page documents NO_COLOR in its ENVIRONMENT section" {
	local tool
	for tool in $TOOLS; do
		sed -n '/^\.Sh ENVIRONMENT/,/^\.Sh /p' "$TOP/man/$tool.1" |
			grep -qx '\.It Ev NO_COLOR' || {
			echo "man/$tool.1: ENVIRONMENT does not name NO_COLOR" >&2
			return 1
		}
	done
}

# no_escapes CMD...: CMD's stdout and stderr, to a pipe, hold no ESC
no_escapes() {
	local out
	out=$("$@" 2>&1) || true
	[[ $out != *$'\033'* ]] || {
		echo "escape codes from: $*" >&2
		return 1
	}
}

@test "no tool prints escape codes to a pipe, nor to a terminal with NO_COLOR set" {
	make_dlq
	local -a cmds=(
		"evpub -v --ack orders.evlog Ping n:=1"
		"evpub orders.evlog"
		"evtail -n 3 orders.evlog"
		"evtail -n 3 -o pretty orders.evlog"
		"evtail -n 3 -o pretty --color auto orders.evlog"
		"evtail --where 'data.n >> 1' orders.evlog"
		"evtail --type NoSuchType orders.evlog"
		"evctl info --types orders.evlog"
		"evctl verify orders.evlog"
		"evctl streams orders.evlog"
		"evctl groups orders.evlog"
		"evctl lag --group billing orders.evlog"
		"evctl metrics orders.evlog dlq.evlog"
		"evdlq ls dlq.evlog"
		"evdlq stats dlq.evlog"
		"evdlq show dlq.evlog 0"
		"evtail --no-such-option"
		"evctl nosuchcommand"
	)
	local c
	for c in "${cmds[@]}"; do
		no_escapes sh -c "$c </dev/null" || return 1
		run script -qec "env NO_COLOR=1 sh -c \"$c </dev/null\"" /dev/null
		[[ $output != *$'\033'* ]] || {
			echo "escape codes on a terminal with NO_COLOR: $c" >&2
			return 1
		}
	done
	# the check sees them: evtail colours a terminal without NO_COLOR
	run script -qec "evtail -n 1 -o pretty orders.evlog" /dev/null
	[[ $output == *$'\033'* ]]
}

@test "evpub: the zsh and fish completions give the --batch-bytes default that --help gives" {
	local help
	help=$(evpub --help | sed -n 's/.*--batch-bytes SIZE .*(\(.*\))$/\1/p')
	[ "$help" = 256K ]
	grep -q "batch-bytes.*($help)" "$TOP/completions/zsh/_evpub"
	grep -q "batch-bytes.*($help)" "$TOP/completions/fish/evpub.fish"
	run grep -l "batch-bytes.*(1M)" "$TOP/completions/zsh/_evpub" \
		"$TOP/completions/fish/evpub.fish"
	[ "$status" -eq 1 ]
	[ -z "$output" ]
}
