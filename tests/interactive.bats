#!/usr/bin/env bats
# evtail -i in a real terminal, driven with tmux (send-keys, capture-pane):
# the first screen and the prompt at 80x24 and 200x50, completion of a
# type and of a stream, the filter in the prompt, history across two
# sessions and Ctrl-R, the match highlighted, and Ctrl-C during a long
# find.  Every wait polls the pane with a timeout; none is a fixed sleep
# alone.  tests/interactive-stdin.bats checks the commands themselves.
load helper

local_setup() {
	if ! command -v tmux >/dev/null; then
		skip "tmux is not installed (sh .ci/deps test installs it)"
	fi
	SOCK=
	export LC_ALL=C.UTF-8
	export XDG_STATE_HOME="$T/state"
	cat >ev.ndjson <<'EOF'
{"id":"e1","type":"OrderCreated","stream":"order-1","time":"2025-01-10T10:00:00Z","data":{"amount":100,"customer":{"name":"Ann"}}}
{"id":"e2","type":"OrderCreated","stream":"order-2","time":"2025-01-10T10:01:00Z","data":{"amount":250}}
{"id":"e3","type":"PaymentAuthorized","stream":"order-1","time":"2025-01-10T10:02:00Z","data":{"amount":100}}
{"id":"e4","type":"AccountOpened","stream":"account-1","time":"2025-01-10T10:03:00Z","data":{"owner":"Bob"}}
EOF
	evpub -c L <ev.ndjson
}

local_teardown() {
	local s
	for s in "$T"/tmux*.sock; do
		[ -S "$s" ] && tmux -S "$s" kill-server 2>/dev/null
	done
	return 0
}

# start COLSxROWS LOG [AFTER]: evtail -i LOG in a new terminal of that
# size, on a server of its own (a server that is going away may still
# hold its socket), then the shell command AFTER
start() {
	local cols=${1%x*} rows=${1#*x}
	[ -z "${SOCK:-}" ] || tmux -S "$SOCK" kill-server 2>/dev/null || true
	NSOCK=$((${NSOCK:-0} + 1))
	SOCK="$T/tmux$NSOCK.sock"
	tmux -S "$SOCK" -f /dev/null new-session -d -x "$cols" -y "$rows" \
		"env TERM=xterm-256color INPUTRC=/dev/null evtail -i $2; ${3:-sleep 30}"
}

# the widest line on the screen, in characters
widest() {
	screen | while IFS= read -r l; do echo "${#l}"; done | sort -n | tail -n 1
}

keys() {
	tmux -S "$SOCK" send-keys "$@"
}

# the screen; with -e, with its escape sequences
screen() {
	tmux -S "$SOCK" capture-pane -p -S -200 "$@"
}

# wait_for REGEX [SECONDS]: poll the screen until a line matches
wait_for() {
	local i limit=$((${2:-10} * 20))
	for ((i = 0; i < limit; i++)); do
		if screen | grep -Eq -- "$1"; then
			return 0
		fi
		sleep 0.05
	done
	echo "timed out waiting for /$1/; the screen:" >&2
	screen >&2
	return 1
}

# the last line with text on the screen
last_line() {
	screen | sed '/^$/d' | tail -n 1
}

@test "interactive: the first screen and the prompt at 80x24" {
	evgen 100 --seed 7 | evpub -c G
	start 80x24 G
	wait_for '^G> ?$'
	# 22 events, the last 22, and the prompt on the last of 24 rows
	[ "$(screen | grep -cE '^[0-9]+ 20')" -eq 22 ]
	[ "$(screen | grep -E '^[0-9]+ 20' | head -n 1 | cut -d' ' -f1)" = 78 ]
	[ "$(screen | grep -E '^[0-9]+ 20' | tail -n 1 | cut -d' ' -f1)" = 99 ]
	[ "$(screen | sed -n 23p)" = "G>" ]
	# long lines are cut to the width, with an ellipsis: nothing wraps
	screen | grep -q '…$'
	[ "$(widest)" -eq 80 ]
}

@test "interactive: the first screen at 200x50" {
	evgen 100 --seed 7 | evpub -c G
	start 200x50 G
	wait_for '^G> ?$'
	[ "$(screen | grep -cE '^[0-9]+ 20')" -eq 48 ]
	[ "$(screen | grep -E '^[0-9]+ 20' | head -n 1 | cut -d' ' -f1)" = 52 ]
	[ "$(screen | sed -n 49p)" = "G>" ]
	[ "$(widest)" -le 200 ]
	# show prints the whole event, uncut
	keys 'show' Enter
	wait_for '^  "offset": 99,$'
	wait_for '^G> ?$'
}

@test "interactive: Tab completes a command, an event type and a stream; the filter shows in the prompt" {
	start 80x24 L
	wait_for '^L> ?$'
	# filter and filters: the common part, then both
	keys 'filt' Tab
	wait_for '^L> filter$'
	keys Tab Tab
	wait_for '^filter +filters$'
	keys ' ty' Tab
	wait_for '^L> filter type ?$'
	keys 'Pay' Tab
	wait_for '^L> filter type PaymentAuthorized ?$'
	keys Enter
	wait_for '^L \[type PaymentAuthorized\]> ?$'
	keys 'goto start' Enter
	wait_for '^2 2025-01-10T10:02:00.000Z PaymentAuthorized order-1@2'
	keys 'stream acc' Tab
	wait_for '^L \[type PaymentAuthorized\]> stream account-1 ?$'
	keys Enter
	wait_for '^ +1 +3 2025-01-10T10:03:00.000Z AccountOpened$'
	# two candidates: the common part, then both listed
	keys 'filter stream ord' Tab
	wait_for 'filter stream order-$'
	keys Tab Tab
	wait_for 'order-1 +order-2'
	keys C-u 'filter where data.a' Tab
	wait_for 'filter where data.amount ?$'
}

@test "interactive: history persists across two sessions; Up and Ctrl-R find it" {
	start 80x24 L
	wait_for '^L> ?$'
	keys 'goto 3' Enter
	wait_for '^3 2025-01-10T10:03:00.000Z AccountOpened'
	keys 'format json' Enter
	wait_for '^L> ?$'
	keys C-d
	for _ in $(seq 100); do
		grep -qx 'format json' "$T/state/evlog/history" 2>/dev/null && break
		sleep 0.05
	done
	[ "$(cat "$T/state/evlog/history")" = "goto 3
format json" ]
	start 80x24 L
	wait_for '^L> ?$'
	keys Up
	wait_for '^L> format json$'
	keys C-u C-r 'goto'
	wait_for "\(reverse-i-search\)\`goto': goto 3"
	keys Enter
	wait_for '^3 2025-01-10T10:03:00.000Z AccountOpened'
}

@test "interactive: the history falls back to ~/.local/state" {
	unset XDG_STATE_HOME
	export HOME="$T/home"
	mkdir "$HOME"
	start 80x24 L
	wait_for '^L> ?$'
	keys 'goto 1' Enter
	wait_for '^1 2025-01-10T10:01:00.000Z'
	keys C-d
	for _ in $(seq 100); do
		[ -s "$HOME/.local/state/evlog/history" ] && break
		sleep 0.05
	done
	[ "$(cat "$HOME/.local/state/evlog/history")" = "goto 1" ]
}

@test "interactive: find highlights the match" {
	start 80x24 L
	wait_for '^L> ?$'
	keys 'find Bob' Enter
	wait_for '^3 2025-01-10T10:03:00.000Z AccountOpened'
	screen -e | grep -q $'\033\\[7mBob'
	# a regex too
	keys 'find /order-[0-9]/' Enter
	wait_for '^0 2025-01-10T10:00:00.000Z OrderCreated'
	screen -e | grep -q $'\033\\[7morder-1'
}

@test "interactive: Ctrl-C stops a long find and the session goes on; at the prompt it empties the line" {
	# big enough that the search takes a while after its progress shows
	evgen 500000 --seed 7 | evpub -c G
	start 80x24 G
	wait_for '^G> ?$' 20
	keys 'find /no such thing/' Enter
	wait_for 'find: [0-9]+% \(Ctrl-C stops\)' 20
	keys C-c
	wait_for '^evtail: find: interrupted$'
	wait_for '^G> ?$'
	keys 'goto start' Enter
	wait_for '^0 2024-01-01T'
	wait_for '^G> ?$'
	keys 'half a line'
	wait_for '^G> half a line$'
	keys C-c
	wait_for '^G> ?$'
	keys 'next' Enter
	wait_for '^1 2024-01-01T'
}

@test "interactive: follow prints new events until Ctrl-C" {
	start 80x24 L
	wait_for '^L> ?$'
	keys 'follow' Enter
	for _ in $(seq 100); do
		echo '{"type":"Late","stream":"late-1","time":"2025-01-10T10:06:00Z"}' | evpub L
		screen | grep -q 'Late late-1' && break
		sleep 0.1
	done
	wait_for '^[0-9]+ 2025-01-10T10:06:00.000Z Late late-1@1$'
	keys C-c
	wait_for '^L> ?$'
	keys 'show' Enter
	wait_for '"type": "Late"'
}

@test "interactive: Ctrl-D ends the session with status 0" {
	start 80x24 L
	wait_for '^L> ?$'
	keys 'bogus' Enter
	wait_for "^evtail: no command 'bogus'"
	start 80x24 L 'echo status=$?; sleep 30'
	wait_for '^L> ?$'
	keys C-d
	wait_for '^status=0$'
}
