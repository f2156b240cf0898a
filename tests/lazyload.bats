#!/usr/bin/env bats
# Libraries loaded when a run needs them (lib/dl.c): librdkafka for the
# first Kafka client of a run, libarchive for the first archive.  The
# tools do not link them (ldd), a run that needs neither never loads
# them, and one that cannot load them says so in one line and exits 69.
# EVLOG_LIBRDKAFKA and EVLOG_LIBARCHIVE name a file to load instead of
# the SONAME: a missing one stands for a system without the library.
# evtail -i loads readline the same way, in a terminal only
# (EVLOG_LIBREADLINE).
load helper

TOOLS="evpub evtail evctl evdlq evreplay evproject"
NOFILE="cannot open shared object file: No such file or directory"
NORDK="cannot load librdkafka.so.1 from '/nonexistent/librdkafka.so.1' (EVLOG_LIBRDKAFKA): $NOFILE"
NOARC="cannot load libarchive.so.13 from '/nonexistent/libarchive.so.13' (EVLOG_LIBARCHIVE): $NOFILE"

no_rdkafka() {
	export EVLOG_LIBRDKAFKA=/nonexistent/librdkafka.so.1
}

no_archive() {
	export EVLOG_LIBARCHIVE=/nonexistent/libarchive.so.13
}

local_teardown() {
	unset EVLOG_LIBRDKAFKA EVLOG_LIBARCHIVE EVLOG_LIBREADLINE
}

@test "ldd: no tool links librdkafka or libarchive, nor what they drag in" {
	command -v ldd >/dev/null || skip "no ldd (libc-bin) to list the libraries"
	for t in $TOOLS; do
		run --separate-stderr ldd "$TOP/cmd/$t"
		assert_status 0
		for lib in librdkafka libarchive libreadline libtinfo libssl libcrypto libsasl2 libxml2 libicuuc; do
			case $output in
			*"$lib"*)
				echo "cmd/$t links $lib:" >&2
				echo "$output" >&2
				return 1
				;;
			esac
		done
	done
}

@test "a run that needs neither library never loads them" {
	make_log l.evlog 20
	no_rdkafka
	no_archive
	run --separate-stderr evtail -n 1 l.evlog
	assert_status 0
	assert_stderr ""
	[ "$(jq -r .offset <<<"$output")" = 19 ]
	run --separate-stderr evtail --type OrderPlaced -o count l.evlog
	assert_status 0
	assert_stderr ""
	# a segment file is told from an archive by its magic
	run --separate-stderr evtail -o count l.evlog/00000000000000000000.seg
	assert_status 0
	assert_stderr ""
	assert_stdout 20
	run --separate-stderr evctl verify -q l.evlog
	assert_status 0
	more_events 3 | evpub l.evlog
	[ "$(evtail -o count l.evlog)" = 23 ]
}

@test "kafka: librdkafka that cannot be loaded is one line and 69, for each tool" {
	make_log l.evlog 3
	no_rdkafka
	run --separate-stderr evtail kafka://127.0.0.1:1/t
	assert_status 69
	assert_stdout ""
	assert_stderr "evtail: kafka '127.0.0.1:1': $NORDK"
	run --separate-stderr evpub kafka://127.0.0.1:1/t <<<'{"type":"A","stream":"s-1","data":{}}'
	assert_status 69
	assert_stdout ""
	assert_stderr "evpub: kafka '127.0.0.1:1': $NORDK"
	run --separate-stderr evctl info kafka://127.0.0.1:1/t
	assert_status 69
	assert_stdout ""
	assert_stderr "evctl: kafka '127.0.0.1:1': $NORDK"
	run --separate-stderr evreplay --to-log kafka://127.0.0.1:1/t l.evlog
	assert_status 69
	assert_stdout ""
	assert_stderr "evreplay: --to-log: kafka '127.0.0.1:1': $NORDK"
	run --separate-stderr evproject --count kafka://127.0.0.1:1/t
	assert_status 69
	assert_stdout ""
	assert_stderr "evproject: kafka '127.0.0.1:1': $NORDK"
	run --separate-stderr evdlq ls kafka://127.0.0.1:1/t
	assert_status 69
	assert_stdout ""
	assert_stderr "evdlq: kafka '127.0.0.1:1': $NORDK"
	# evctl lag and health keep their monitoring plugin's UNKNOWN (3)
	run --separate-stderr evctl health kafka://127.0.0.1:1/t
	assert_status 3
	assert_stdout "HEALTH UNKNOWN - kafka '127.0.0.1:1': $NORDK"
}

@test "kafka: a library without librdkafka's functions is refused, naming the first missing" {
	EVLOG_LIBRDKAFKA=libc.so.6 run --separate-stderr evtail kafka://127.0.0.1:1/t
	assert_status 69
	assert_stdout ""
	assert_stderr "evtail: kafka '127.0.0.1:1': cannot load librdkafka.so.1 from 'libc.so.6' (EVLOG_LIBRDKAFKA): it has no function 'rd_kafka_AdminOptions_destroy'"
}

@test "archives: libarchive that cannot be loaded is one line and 69 (export, import, reading in place)" {
	make_log l.evlog 5
	evctl export -q l.evlog -o l.tar
	no_archive
	run --separate-stderr evctl export l.evlog -o x.tar
	assert_status 69
	assert_stdout ""
	assert_stderr "evctl: cannot export 'l.evlog': $NOARC"
	[ -z "$(ls x.tar* 2>/dev/null)" ]
	run --separate-stderr evctl export l.evlog -o -
	assert_status 69
	assert_stdout ""
	assert_stderr "evctl: cannot export 'l.evlog': $NOARC"
	run --separate-stderr evctl import l.tar n.evlog
	assert_status 69
	assert_stdout ""
	assert_stderr "evctl: cannot import 'l.tar': $NOARC"
	[ ! -e n.evlog ]
	for t in evtail evreplay; do
		run --separate-stderr "$t" l.tar
		assert_status 69
		assert_stdout ""
		assert_stderr "$t: cannot open archive 'l.tar': $NOARC"
	done
	# --version still prints, saying why libarchive's version is missing
	run --separate-stderr evctl --version
	assert_status 0
	assert_stdout_contains "libarchive ($NOARC)"
	# the same archive, read once the library is there
	unset EVLOG_LIBARCHIVE
	run --separate-stderr evtail -o count l.tar
	assert_status 0
	assert_stdout 5
}

@test "evtail -i: readline that cannot be loaded in a terminal is one line and 69; without a terminal it is not needed" {
	command -v script >/dev/null || skip "no script (bsdutils) to give evtail a terminal"
	make_log l.evlog 3
	EVLOG_LIBREADLINE=/nonexistent/libreadline.so.8 run --separate-stderr script -qec "evtail -i l.evlog" /dev/null
	assert_status 69
	assert_stdout "evtail: -i: cannot load libreadline.so.8 from '/nonexistent/libreadline.so.8' (EVLOG_LIBREADLINE): $NOFILE"$'\r'
	EVLOG_LIBREADLINE=libc.so.6 run --separate-stderr script -qec "evtail -i l.evlog" /dev/null
	assert_status 69
	assert_stdout "evtail: -i: cannot load libreadline.so.8 from 'libc.so.6' (EVLOG_LIBREADLINE): it has no 'add_history'"$'\r'
	EVLOG_LIBREADLINE=/nonexistent/libreadline.so.8 run --separate-stderr evtail -i l.evlog <<<"types"
	assert_status 0
	assert_stderr ""
	[ -n "$output" ]
}

@test "an empty EVLOG_LIBRDKAFKA or EVLOG_LIBARCHIVE loads the SONAME" {
	make_log l.evlog 5
	EVLOG_LIBARCHIVE= run --separate-stderr evctl export -q l.evlog -o l.tar
	assert_status 0
	assert_stderr ""
	EVLOG_LIBRDKAFKA= run --separate-stderr evctl info --kafka-timeout 1s kafka://127.0.0.1:1/t
	assert_status 74
	assert_stderr_contains "evctl: kafka '127.0.0.1:1': no metadata within 1000 ms (--kafka-timeout): "
}
