# evlog - Unix tools for event streams.  One non-recursive Makefile.
#
#   make                 build lib/libevlog.a and the tools
#   make check           install missing packages, build, run every test
#   make check-bigendian the tools built for s390x, tests run under qemu
#   make demo            install missing packages, build, run the quickstart;
#                        its log stays in ./demo.evlog (DEMO_LOG=PATH)
#   make bench           benchmarks against peer tools (figures, not tests)
#   make format-check    clang-format --dry-run over FORMAT_SRCS
#   make install         PREFIX=/usr/local DESTDIR=
#   make SANITIZE=address,undefined check
#   make V=1             show full command lines (quiet by default)

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

CC ?= cc
AR ?= ar
PKG_CONFIG ?= pkg-config
CFLAGS ?= -O2 -g
WARNINGS = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	   -Wformat=2 -Wvla -Wwrite-strings

ifneq ($(SANITIZE),)
SAN_FLAGS = -fsanitize=$(SANITIZE) -fno-sanitize-recover=all \
	    -fno-omit-frame-pointer
endif

DEPS = msgpack libzstd libpcre2-8 lua5.4 sqlite3
# loaded when a run needs them (lib/dl.c, dlopen): their headers only, and
# not linked into the tools; tests/kafka-mock and the unit tests link them
DL_DEPS = libarchive rdkafka
DEP_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(DEPS) $(DL_DEPS) 2>/dev/null)
DEP_LIBS := $(shell $(PKG_CONFIG) --libs $(DEPS) 2>/dev/null)
DL_LIBS := $(shell $(PKG_CONFIG) --libs $(DL_DEPS) 2>/dev/null)
CMOCKA_CFLAGS := $(shell $(PKG_CONFIG) --cflags cmocka 2>/dev/null)
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)

ALL_CFLAGS = -std=gnu11 -D_GNU_SOURCE -pthread $(WARNINGS) $(CFLAGS) \
	     $(SAN_FLAGS) -Ilib $(DEP_CFLAGS)
ALL_LDFLAGS = -pthread $(SAN_FLAGS) $(LDFLAGS)
LIBS = $(DEP_LIBS) -lm

# Quiet by default, as git and Linux build: "CC lib/reader.o"; V=1 prints
# the full command lines.
ifeq ($(V),1)
Q =
QUIET_CC =
QUIET_AR =
QUIET_LINK =
else
Q = @
QUIET_CC = @echo '   ' CC $@;
QUIET_AR = @echo '   ' AR $@;
QUIET_LINK = @echo '   ' LINK $@;
MAKEFLAGS += --no-print-directory
endif

LIB_SRCS = $(sort $(wildcard lib/*.c))
LIB_OBJS = $(LIB_SRCS:.c=.o)
TOOLS = cmd/evpub cmd/evtail cmd/evctl cmd/evdlq cmd/evreplay cmd/evproject
FE_OBJS = cmd/fe.o cmd/feselect.o
FE_OBJS += cmd/fekdlq.o
UNIT_SRCS = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS = $(UNIT_SRCS:.c=)
EXTRA_BINS = examples/evgen tests/faultinject.so bench/mpdecode tests/kafka-mock

all: lib/libevlog.a $(TOOLS) examples/evgen

# Rebuild everything when the flags change (git's GIT-CFLAGS trick), so a
# SANITIZE build never links objects from a plain one.
BUILD_FLAGS = $(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) $(LIBS) $(DL_LIBS)
.build-flags: FORCE
	@echo '$(BUILD_FLAGS)' | cmp -s - $@ || echo '$(BUILD_FLAGS)' > $@

%.o: %.c .build-flags lib/evlog.h lib/evlog_private.h $(wildcard lib/*_int.h) $(wildcard lib/*_priv.h) $(wildcard cmd/*.h)
	$(QUIET_CC)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# the writer's modules share its internals

lib/libevlog.a: $(LIB_OBJS)
	$(Q)rm -f $@
	$(QUIET_AR)$(AR) rcs $@ $(LIB_OBJS)

# kept, not removed as intermediates (and rebuilt by every make)
.SECONDARY: $(TOOLS:=.o) $(FE_OBJS) $(EVCTL_OBJS) examples/evgen.o \
	cmd/evtail_i.o cmd/evtail_kafka.o

cmd/%: cmd/%.o $(FE_OBJS) lib/libevlog.a
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $< $(FE_OBJS) lib/libevlog.a $(LIBS)

# evtail -i's readline glue is in evtail only; it loads readline in a
# terminal (dlopen), so that no other run pays for it
cmd/evtail: cmd/evtail.o cmd/evtail_i.o cmd/evtail_kafka.o $(FE_OBJS) lib/libevlog.a
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ cmd/evtail.o cmd/evtail_i.o \
		cmd/evtail_kafka.o \
		$(FE_OBJS) lib/libevlog.a $(LIBS)

# evctl schema's subcommands live in their own files
EVCTL_OBJS = cmd/evctl_schema.o cmd/evctl_compat.o cmd/evctl_infer.o \
	cmd/evctl_kafka.o
cmd/evctl: cmd/evctl.o $(EVCTL_OBJS) $(FE_OBJS) lib/libevlog.a
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ cmd/evctl.o $(EVCTL_OBJS) \
		$(FE_OBJS) lib/libevlog.a $(LIBS)

examples/evgen: examples/evgen.o
	$(QUIET_LINK)$(CC) $(ALL_LDFLAGS) -o $@ $< -lm

tests/unit/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(wildcard tests/fuzz/*.c tests/fuzz/*.h) lib/libevlog.a .build-flags
	$(QUIET_LINK)$(CC) $(ALL_CFLAGS) $(CMOCKA_CFLAGS) -o $@ $< lib/libevlog.a \
		$(ALL_LDFLAGS) $(CMOCKA_LIBS) $(LIBS) $(DL_LIBS)

# a benchmark helper (README.md "the codec"): make bench/mpdecode
bench/mpdecode: bench/mpdecode.c lib/libevlog.a .build-flags
	$(QUIET_LINK)$(CC) $(ALL_CFLAGS) -o $@ $< lib/libevlog.a $(ALL_LDFLAGS) $(LIBS)

# tests/kafka.bash: a three-broker mock Kafka cluster (librdkafka's)
tests/kafka-mock: tests/kafka-mock.c .build-flags
	$(QUIET_LINK)$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS) $(LIBS) $(DL_LIBS)

tests/faultinject.so: tests/faultinject.c .build-flags
	$(QUIET_LINK)$(CC) -std=gnu11 -D_GNU_SOURCE -O2 -fPIC -shared -pthread \
		-o $@ $< -ldl

# check-bigendian first, so the last line is the whole suite's count
# (the suite runs even when it fails, and make check fails then too);
# EVLOG_BIGENDIAN=0 leaves it out, saying so
check:
	@sh .ci/deps test
	$(Q)$(MAKE) all $(UNIT_BINS) tests/faultinject.so tests/kafka-mock
	@be=0; if [ "$${EVLOG_BIGENDIAN:-1}" = 0 ]; then \
		echo "# check-bigendian: skipped (EVLOG_BIGENDIAN=0); make check-bigendian runs it"; \
	else $(MAKE) check-bigendian || be=1; fi; \
	sh tests/run; r=$$?; \
	if [ $$be = 1 ]; then echo "make check: check-bigendian failed (see above)" >&2; exit 1; fi; \
	exit $$r

# the tools for s390x (big-endian) under qemu: README.md "Big-endian"
check-bigendian:
	@sh .ci/deps bigendian
	$(Q)$(MAKE) all
	@sh tests/bigendian.sh

demo:
	@sh .ci/deps build
	$(MAKE) all
	@sh examples/quickstart.sh

bench:
	@sh .ci/deps bench
	$(MAKE) all tests/kafka-mock
	@sh bench/run

fuzz:
	$(MAKE) -f tests/fuzz/Makefile

lint-man:
	mandoc -Tlint -W warning man/*.1 man/*.5

# Every C file is held to .clang-format (CI runs format-check).
CLANG_FORMAT ?= clang-format
FORMAT_SRCS ?= $(wildcard lib/*.c lib/*.h cmd/*.c cmd/*.h tests/*.c \
	       tests/unit/*.c tests/unit/*.h tests/fuzz/*.c tests/fuzz/*.h \
	       examples/*.c bench/*.c)

format-check:
	@$(CLANG_FORMAT) --dry-run --Werror $(FORMAT_SRCS) && \
		echo "format-check: $(words $(FORMAT_SRCS)) files follow .clang-format"

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
		$(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(DATADIR)/bash-completion/completions \
		$(DESTDIR)$(DATADIR)/zsh/site-functions \
		$(DESTDIR)$(DATADIR)/fish/vendor_completions.d
	install -m 755 $(TOOLS) $(DESTDIR)$(BINDIR)
	install -m 644 lib/libevlog.a $(DESTDIR)$(LIBDIR)
	install -m 644 lib/evlog.h $(DESTDIR)$(INCLUDEDIR)
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1
	install -m 644 man/*.5 $(DESTDIR)$(MANDIR)/man5
	for t in evpub evtail evctl evdlq evreplay evproject; do \
		install -m 644 completions/bash/$$t \
			$(DESTDIR)$(DATADIR)/bash-completion/completions/$$t; \
		install -m 644 completions/zsh/_$$t \
			$(DESTDIR)$(DATADIR)/zsh/site-functions/_$$t; \
		install -m 644 completions/fish/$$t.fish \
			$(DESTDIR)$(DATADIR)/fish/vendor_completions.d/$$t.fish; \
	done
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
		-e 's|@VERSION@|$(shell sed -n 's/^#define EVLOG_VERSION "\(.*\)"/\1/p' lib/evlog.h)|' \
		lib/evlog.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/evlog.pc

clean:
	rm -f lib/*.o cmd/*.o examples/*.o lib/libevlog.a $(TOOLS) \
		$(UNIT_BINS) $(EXTRA_BINS) .build-flags
	$(MAKE) -f tests/fuzz/Makefile clean 2>/dev/null || true

.PHONY: all check check-bigendian demo bench fuzz install clean lint-man format-check FORCE
