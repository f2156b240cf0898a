# tests/strace-check.awk - check an strace of evpub --ack for acks or head
# updates written while appended segment bytes are not yet synced.
#
#   strace -f -y -o TRACE -e trace=openat,write,pwrite64,pwritev,pwritev2,\
#       fdatasync,fsync,ftruncate evpub --ack ...
#   awk -f strace-check.awk TRACE
#
# -y makes strace print each descriptor's path, so a reused descriptor
# number cannot confuse the check.  With -f, lines start with a pid, and a
# call that another thread interrupts is split into "<unfinished ...>" and
# "<... NAME resumed>" lines.  The check is conservative about such calls:
# a write to a segment counts from its start, a sync only from its
# successful return, and an ack from its start.
#
# State: a segment is dirty from a write or truncate until an fdatasync or
# fsync of it returns 0; a log directory is dirty from the creation of a
# segment in it until an fsync of the directory returns 0.  A write to
# descriptor 1 (an ack line) or to the head file while anything is dirty is
# a violation.  Prints the first violation and exits 1; otherwise prints
# "ok" and counts, and exits 0.

function seg(p) { return p ~ /\/[0-9][0-9]*\.seg$/ }

function dirty_list(   p, s) {
	s = ""
	for (p in dirty)
		if (dirty[p])
			s = s " " p
	for (p in dirdirty)
		if (dirdirty[p])
			s = s " " p "/ (directory entry)"
	return s
}

function violation(what,   d) {
	d = dirty_list()
	if (d == "")
		return
	printf "violation at trace line %d: %s while unsynced:%s\n", NR, what, d
	printf "  %s\n", $0
	bad = 1
	exit 1
}

# the start of a call: name, descriptor path, and its effects at start
function start(name, fd, path, rest) {
	if (name == "write" && fd == 1) {
		acks++
		violation("an ack (write to fd 1)")
	} else if ((name ~ /^(write|pwrite64|pwritev2?)$/) && seg(path)) {
		seg_writes++
		dirty[path] = 1
	} else if (name == "ftruncate" && seg(path)) {
		dirty[path] = 1
	} else if ((name == "pwrite64" || name == "write") && path ~ /\/head$/) {
		head_writes++
		violation("a head update")
	}
}

# the end of a call, with its result
function finish(name, fd, path, rest, res) {
	if ((name == "fdatasync" || name == "fsync") && res == "0") {
		if (seg(path)) {
			syncs++
			dirty[path] = 0
		} else if (path in dirdirty) {
			dir_syncs++
			dirdirty[path] = 0
		}
	}
	if (name == "openat" && rest ~ /O_CREAT/ && res ~ /^[0-9]+</ &&
	    rest ~ /^[0-9]+<[^>]*>, "[0-9][0-9]*\.seg"/) {
		d = rest
		sub(/^[0-9]+</, "", d)
		sub(/>.*/, "", d)
		dirdirty[d] = 1
		creates++
	}
}

# the descriptor number and path at the start of the argument list
function parse_fd(args) {
	cur_fd = -1
	cur_path = ""
	if (match(args, /^-?[0-9]+/)) {
		cur_fd = substr(args, 1, RLENGTH) + 0
		if (substr(args, RLENGTH + 1, 1) == "<") {
			cur_path = substr(args, RLENGTH + 2)
			sub(/>.*/, "", cur_path)
		}
	}
}

function result(s,   r) {
	if (match(s, /\) += [^ ]+$/) || match(s, /\) += [^ ]+ /)) {
		r = substr(s, RSTART, RLENGTH)
		sub(/^\) += /, "", r)
		sub(/ $/, "", r)
		return r
	}
	return "?"
}

{
	line = $0
	pid = 0
	if (match(line, /^(\[pid +)?[0-9]+\]? +/)) {
		pid = substr(line, RSTART, RLENGTH)
		gsub(/[^0-9]/, "", pid)
		line = substr(line, RLENGTH + 1)
	}
	if (line ~ /^(\+\+\+|---)/)
		next
	if (match(line, /^<\.\.\. [a-z0-9_]+ resumed>/)) {
		name = substr(line, 6, RLENGTH - 14)
		if (!(pid in pend_name) || pend_name[pid] != name) {
			printf "trace line %d: a resumed %s without its start\n", NR, name
			bad = 1
			exit 1
		}
		finish(name, pend_fd[pid], pend_path[pid], pend_args[pid], result(line))
		delete pend_name[pid]
		next
	}
	if (!match(line, /^[a-z0-9_]+\(/))
		next
	name = substr(line, 1, RLENGTH - 1)
	args = substr(line, RLENGTH + 1)
	parse_fd(args)
	start(name, cur_fd, cur_path, args)
	if (line ~ /<unfinished \.\.\.>$/) {
		pend_name[pid] = name
		pend_fd[pid] = cur_fd
		pend_path[pid] = cur_path
		pend_args[pid] = args
		next
	}
	finish(name, cur_fd, cur_path, args, result(line))
}

END {
	if (bad)
		exit 1
	printf "ok: %d segment writes, %d segment syncs, %d segments created, " \
	       "%d directory syncs, %d head updates, %d ack writes\n",
	       seg_writes, syncs, creates, dir_syncs, head_writes, acks
}
