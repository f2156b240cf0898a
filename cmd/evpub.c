/*
 * evpub - append events to an evlog log, from NDJSON input or from its
 * arguments.  See evpub(1).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evlog.h"
#include "fe.h"

static const char usage_short[] =
	"Usage: evpub [options] LOG\n"
	"       evpub [options] LOG TYPE [name=string | name:=json ...]\n";

static const char usage_long[] =
	"Append events to an evlog log.\n"
	"\n"
	"With only LOG, reads NDJSON events (one JSON object per line) from\n"
	"standard input or the -i files.  With TYPE, appends one event built\n"
	"from the arguments: name=value sets a string in data, name:=json a\n"
	"JSON value.\n"
	"\n"
	"Options:\n"
	"  -a, --ack               print 'OFFSET ID' for each event once durable\n"
	"                          ('OFFSET ID duplicate' for one already there)\n"
	"      --batch-bytes SIZE  flush a batch at SIZE bytes of records (256K)\n"
	"      --batch-events N    flush a batch at N events (100000)\n"
	"  -c, --create            create LOG if it does not exist\n"
	"      --dry-run           check the input, append nothing\n"
	"      --expect-version V  append only if each stream is at version V:\n"
	"                          a number (one stream only), none, exists, any\n"
	"      --format FORMAT     input format: envelope (default) or cloudevents\n"
	"  -h, --help              show this help and exit\n"
	"  -i, --input FILE        read FILE ('-' is stdin); may be repeated\n"
	"      --id ID             event id (argument form)\n"
	"      --id-from PATH      with --wrap: take the id from PATH\n"
	"      --key KEY           partition key (argument form)\n"
	"      --key-from PATH     with --wrap: take the key from PATH\n"
	"      --linger DURATION   flush a partial batch when input pauses this\n"
	"                          long (100ms; 0 waits for a full batch)\n"
	"      --meta NAME=VALUE   set meta.NAME (argument form); may be repeated\n"
	"      --renumber          number stream events afresh, ignoring their\n"
	"                          versions\n"
	"      --schema N          schema version of data (argument form)\n"
	"      --skip-invalid      report bad lines and go on (exit 65 at the end)\n"
	"      --stream STREAM     stream name (argument form)\n"
	"      --stream-from PATH  with --wrap: take the stream from PATH\n"
	"      --sync MODE         batch (fsync each batch, default) or none\n"
	"      --time TIME         event time, RFC 3339 (argument form)\n"
	"      --time-from PATH    with --wrap: take the time from PATH\n"
	"      --type TYPE         with --wrap: the type of every event\n"
	"      --type-from PATH    with --wrap: take the type from PATH\n"
	"  -v, --verbose           report counts on stderr when done\n"
	"  -V, --version           show versions and exit\n"
	"      --wrap              each input line becomes the data of a new event\n"
	"\n"
	"PATH is a dotted path into the input line, such as repo.name.\n"
	"Durations take ms, s, m or h.  Exit status: 0 ok, 64 usage, 65 bad\n"
	"input, 66 missing log or input, 74 I/O error, 75 version conflict.\n"
	"See evpub(1).\n";

enum {
	OPT_BATCH_BYTES = 256,
	OPT_BATCH_EVENTS,
	OPT_DRY_RUN,
	OPT_EXPECT_VERSION,
	OPT_FORMAT,
	OPT_ID,
	OPT_ID_FROM,
	OPT_KEY,
	OPT_KEY_FROM,
	OPT_LINGER,
	OPT_META,
	OPT_RENUMBER,
	OPT_SCHEMA,
	OPT_SKIP_INVALID,
	OPT_STREAM,
	OPT_STREAM_FROM,
	OPT_SYNC,
	OPT_TIME,
	OPT_TIME_FROM,
	OPT_TYPE,
	OPT_TYPE_FROM,
	OPT_WRAP,
};

static const struct option longopts[] = {
	{"ack", no_argument, NULL, 'a'},
	{"batch-bytes", required_argument, NULL, OPT_BATCH_BYTES},
	{"batch-events", required_argument, NULL, OPT_BATCH_EVENTS},
	{"create", no_argument, NULL, 'c'},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"expect-version", required_argument, NULL, OPT_EXPECT_VERSION},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"help", no_argument, NULL, 'h'},
	{"id", required_argument, NULL, OPT_ID},
	{"id-from", required_argument, NULL, OPT_ID_FROM},
	{"input", required_argument, NULL, 'i'},
	{"key", required_argument, NULL, OPT_KEY},
	{"key-from", required_argument, NULL, OPT_KEY_FROM},
	{"linger", required_argument, NULL, OPT_LINGER},
	{"meta", required_argument, NULL, OPT_META},
	{"renumber", no_argument, NULL, OPT_RENUMBER},
	{"schema", required_argument, NULL, OPT_SCHEMA},
	{"skip-invalid", no_argument, NULL, OPT_SKIP_INVALID},
	{"stream", required_argument, NULL, OPT_STREAM},
	{"stream-from", required_argument, NULL, OPT_STREAM_FROM},
	{"sync", required_argument, NULL, OPT_SYNC},
	{"time", required_argument, NULL, OPT_TIME},
	{"time-from", required_argument, NULL, OPT_TIME_FROM},
	{"type", required_argument, NULL, OPT_TYPE},
	{"type-from", required_argument, NULL, OPT_TYPE_FROM},
	{"verbose", no_argument, NULL, 'v'},
	{"version", no_argument, NULL, 'V'},
	{"wrap", no_argument, NULL, OPT_WRAP},
	{NULL, 0, NULL, 0},
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* state shared with the writer thread's callback */
struct pub {
	int ack;
	int ack_errno;	   /* set by the writer thread when acks fail */
	uint64_t appended; /* durable events */
	uint64_t duplicates; /* skipped, already in the log */
	struct ev_buf ackbuf;
};

static int ack_failed(struct pub *pb)
{
	return __atomic_load_n(&pb->ack_errno, __ATOMIC_SEQ_CST);
}

static void on_durable(void *ctx, const struct ev_ack *acks, size_t n)
{
	struct pub *pb = ctx;
	size_t i;
	char num[24];

	for (i = 0; i < n; i++) {
		if (acks[i].duplicate)
			pb->duplicates++;
		else
			pb->appended++;
	}
	if (!pb->ack)
		return;
	pb->ackbuf.len = 0;
	for (i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%llu ",
			 (unsigned long long)acks[i].offset);
		ev_buf_puts(&pb->ackbuf, num);
		ev_buf_append(&pb->ackbuf, acks[i].id, acks[i].id_n);
		if (acks[i].duplicate)
			ev_buf_puts(&pb->ackbuf, " duplicate");
		ev_buf_putc(&pb->ackbuf, '\n');
	}
	/* acks leave only after the batch is synced, and promptly; if they
	 * cannot leave, the relay cannot learn of its events: stop */
	if (fwrite(pb->ackbuf.p, 1, pb->ackbuf.len, stdout) != pb->ackbuf.len ||
	    fflush(stdout) != 0) {
		int en = errno ? errno : EIO;
		int zero = 0;
		__atomic_compare_exchange_n(&pb->ack_errno, &zero, en, 0,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
}

static void on_notice(void *ctx, const char *msg)
{
	(void)ctx;
	fe_warn("%s", msg);
}

/* Input lines travel with their records as writer tags: the input's
 * number (from 1) and the line; 0 is the argument form. */
#define TAG_LINE_BITS 40
#define TAG(k, line) (((uint64_t)(k) + 1) << TAG_LINE_BITS | (line))

static const char *input_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "stdin" : path;
}

/*
 * The writer failed.  A version conflict (EV_EAGAIN) is reported at the
 * input line of the event it stopped at, which *line gets; anything
 * else as it is.  Returns the exit status.
 */
static int writer_failed(struct ev_writer *w, const struct ev_error *err,
			 const char **inputs, uint64_t *line)
{
	uint64_t tag;

	tag = ev_writer_failed_tag(w);
	if (err->code != EV_EAGAIN) {
		/* the first line not written, not the last one read */
		if (tag != 0)
			*line = tag & ((1ull << TAG_LINE_BITS) - 1);
		return fe_report(err);
	}
	if (tag == 0) {
		fe_warn("%s", err->msg);
	} else {
		*line = tag & ((1ull << TAG_LINE_BITS) - 1);
		fe_warn("%s:%llu: %s",
			input_name(inputs[(tag >> TAG_LINE_BITS) - 1]),
			(unsigned long long)*line, err->msg);
	}
	return 75;
}

/*
 * An exact --expect-version is for one stream: every event must name
 * the stream the first one names.  0 ok, -1 reported.
 */
static int one_stream_check(char **first, const uint8_t *rec, size_t n,
			    const char *name, uint64_t line, const char *arg)
{
	struct ev_event ev;
	struct ev_error err;

	if (arg == NULL || arg[0] < '0' || arg[0] > '9')
		return 0;
	if (ev_event_decode(rec, n, &ev, &err) != 0)
		return 0; /* the writer reports it */
	if (ev.stream.p == NULL) {
		fe_warn("%s:%llu: --expect-version %s needs every event in one "
			"stream; this one has none",
			name, (unsigned long long)line, arg);
		return -1;
	}
	if (*first == NULL) {
		*first = strndup(ev.stream.p, ev.stream.n);
		return 0;
	}
	if (strlen(*first) != ev.stream.n ||
	    memcmp(*first, ev.stream.p, ev.stream.n) != 0) {
		fe_warn("%s:%llu: --expect-version %s needs every event in one "
			"stream; this one is in '%.*s', not '%s'",
			name, (unsigned long long)line, arg,
			(int)(ev.stream.n > 200 ? 200 : ev.stream.n), ev.stream.p,
			*first);
		return -1;
	}
	return 0;
}

/*
 * The library names an option by its field: "time: 'x' is not ...",
 * "type_from 'kind': no value ...".  The user knows it by its flag.
 */
static void name_flag(struct ev_error *err)
{
	static const char *const map[][2] = {
		{"id", "--id"},		  {"id_from", "--id-from"},
		{"key", "--key"},	  {"key_from", "--key-from"},
		{"meta", "--meta"},	  {"schema", "--schema"},
		{"stream", "--stream"},	  {"stream_from", "--stream-from"},
		{"time", "--time"},	  {"time_from", "--time-from"},
		{"type", "TYPE"},	  {"type_from", "--type-from"},
	};
	char rest[sizeof(err->msg)];
	size_t i, n;

	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		n = strlen(map[i][0]);
		if (strncmp(err->msg, map[i][0], n) != 0 ||
		    !(err->msg[n] == ':' ||
		      (err->msg[n] == ' ' && err->msg[n + 1] == '\'')))
			continue;
		snprintf(rest, sizeof(rest), "%s", err->msg + n);
		snprintf(err->msg, sizeof(err->msg), "%s%s", map[i][1], rest);
		return;
	}
}

/* line reader over a file descriptor with a bounded buffer */
struct input {
	int fd;
	const char *name;
	char *buf;
	size_t cap, start, end;
	int eof;
	int skipping; /* inside a line over EV_MAX_LINE */
	uint64_t line;
};

#define READ_CHUNK (1u << 20)

/*
 * Get the next line: 1 with line and len set, 0 at EOF, -1 on error
 * (errno), -2 for a line longer than EV_MAX_LINE (consumed, and counted).
 * Waits at most linger_ms for data when pending is set; returns 2 on that
 * timeout.  Memory stays bounded: an over-long line is skipped, not kept.
 */
static int next_line(struct input *in, char **line, size_t *len, int pending,
		     int linger_ms)
{
	char *nl;
	ssize_t r;
	struct pollfd pfd;

	for (;;) {
		nl = in->end > in->start
			     ? memchr(in->buf + in->start, '\n', in->end - in->start)
			     : NULL;
		if (nl != NULL) {
			*line = in->buf + in->start;
			*len = (size_t)(nl - *line);
			in->start = (size_t)(nl - in->buf) + 1;
			in->line++;
			if (in->skipping || *len > EV_MAX_LINE) {
				in->skipping = 0;
				return -2;
			}
			return 1;
		}
		if (in->eof) {
			if (in->end > in->start || in->skipping) {
				*line = in->buf + in->start;
				*len = in->end - in->start;
				in->start = in->end;
				in->line++;
				if (in->skipping || *len > EV_MAX_LINE) {
					in->skipping = 0;
					return -2;
				}
				return 1;
			}
			return 0;
		}
		if (in->end - in->start > EV_MAX_LINE) {
			/* too long already: drop what we have, find its end */
			in->skipping = 1;
			in->start = in->end = 0;
		}
		if (in->start > 0 && in->cap - in->end < READ_CHUNK) {
			memmove(in->buf, in->buf + in->start, in->end - in->start);
			in->end -= in->start;
			in->start = 0;
		}
		if (in->cap - in->end < READ_CHUNK) {
			size_t ncap = in->cap ? in->cap * 2 : 4 * READ_CHUNK;
			char *nb = realloc(in->buf, ncap);
			if (nb == NULL)
				return -1;
			in->buf = nb;
			in->cap = ncap;
		}
		if (pending && linger_ms > 0) {
			pfd.fd = in->fd;
			pfd.events = POLLIN;
			r = poll(&pfd, 1, linger_ms);
			if (r == 0)
				return 2;
			if (r < 0 && errno == EINTR && stop_requested)
				return 0;
		}
		r = read(in->fd, in->buf + in->end, in->cap - in->end);
		if (r < 0) {
			if (errno == EINTR) {
				if (stop_requested)
					return 0;
				continue;
			}
			return -1;
		}
		if (r == 0)
			in->eof = 1;
		in->end += (size_t)r;
	}
}

static int blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/* the -i and --meta arguments; freed at exit, whichever return it is */
static const char **inputs, **metas;

static void free_args(void)
{
	free(inputs);
	free(metas);
}

int main(int argc, char **argv)
{
	struct ev_parse_opts popts;
	struct ev_writer_opts wopts;
	struct ev_log_config cfg;
	struct ev_log *log = NULL;
	struct ev_writer *w = NULL;
	struct ev_parser *ps = NULL;
	struct ev_builder *bld = NULL;
	struct ev_error err;
	struct pub pb;
	struct input in;
	const char *logpath, *format = NULL, *opt_type = NULL;
	const char *arg_id = NULL, *arg_key = NULL, *arg_stream = NULL,
		   *arg_time = NULL, *arg_schema = NULL;
	int ninputs = 0, nmetas = 0, create = 0, dry_run = 0, skip_invalid = 0,
	    verbose = 0, wrap = 0, c, rc = 0, k;
	int64_t linger_ms = 100;
	uint64_t v, invalid = 0, valid = 0;
	char cbuf[32], cbuf2[32];
	int have_from = 0, at_line = 0; /* stopped at an input line */
	uint64_t stop_line = 0;		 /* that line, when not the last read */
	const char *expect_arg = NULL;
	char *one_stream = NULL;	 /* exact --expect-version: its stream */

	fe_init(argv);
	memset(&popts, 0, sizeof(popts));
	memset(&wopts, 0, sizeof(wopts));
	memset(&pb, 0, sizeof(pb));
	memset(&in, 0, sizeof(in));
	in.fd = -1;
	ev_error_clear(&err);
	inputs = calloc((size_t)argc, sizeof(*inputs));
	metas = calloc((size_t)argc, sizeof(*metas));
	atexit(free_args);
	if (inputs == NULL || metas == NULL) {
		fe_warn("out of memory");
		return 1;
	}
	while ((c = getopt_long(argc, argv, "achi:vV", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			pb.ack = 1;
			break;
		case OPT_BATCH_BYTES:
			if (fe_parse_size(optarg, &v) != 0 || v < 1 ||
			    v > EV_MAX_BATCH_BYTES)
				return fe_usage_error(usage_short,
						      "--batch-bytes: '%s' is not a "
						      "size from 1 to 15M",
						      optarg);
			wopts.batch_bytes = (size_t)v;
			break;
		case OPT_BATCH_EVENTS:
			if (fe_parse_u64(optarg, &v) != 0 || v < 1 || v > 1000000)
				return fe_usage_error(usage_short,
						      "--batch-events: '%s' is not a "
						      "number between 1 and 1000000",
						      optarg);
			wopts.batch_events = (uint32_t)v;
			break;
		case 'c':
			create = 1;
			break;
		case OPT_DRY_RUN:
			dry_run = 1;
			break;
		case OPT_EXPECT_VERSION:
			expect_arg = optarg;
			if (strcmp(optarg, "any") == 0) {
				wopts.expect = EV_EXPECT_ANY;
			} else if (strcmp(optarg, "none") == 0) {
				wopts.expect = EV_EXPECT_NONE;
			} else if (strcmp(optarg, "exists") == 0) {
				wopts.expect = EV_EXPECT_EXISTS;
			} else if (fe_parse_u64(optarg, &v) == 0) {
				wopts.expect = EV_EXPECT_VERSION;
				wopts.expect_version = v;
			} else {
				return fe_usage_error(usage_short,
						      "--expect-version: '%s' is not "
						      "a version number, none, "
						      "exists or any",
						      optarg);
			}
			break;
		case OPT_FORMAT:
			format = optarg;
			if (strcmp(optarg, "envelope") != 0 &&
			    strcmp(optarg, "cloudevents") != 0)
				return fe_usage_error(usage_short,
						      "--format: '%s' is not "
						      "envelope or cloudevents",
						      optarg);
			break;
		case 'h':
			fe_help(usage_short, usage_long);
			return 0;
		case 'i':
			inputs[ninputs++] = optarg;
			break;
		case OPT_ID:
			arg_id = optarg;
			break;
		case OPT_ID_FROM:
			popts.id_from = optarg;
			have_from = 1;
			break;
		case OPT_KEY:
			arg_key = optarg;
			break;
		case OPT_KEY_FROM:
			popts.key_from = optarg;
			have_from = 1;
			break;
		case OPT_LINGER:
			if (ev_duration_parse(optarg, &linger_ms) != 0)
				return fe_usage_error(usage_short,
						      "--linger: '%s' is not a "
						      "duration such as 100ms or 2s",
						      optarg);
			if (linger_ms > 3600000)
				return fe_usage_error(usage_short,
						      "--linger: '%s' is over the "
						      "maximum of 1h",
						      optarg);
			break;
		case OPT_META:
			if (strchr(optarg, '=') == NULL)
				return fe_usage_error(usage_short,
						      "--meta: expected NAME=VALUE, "
						      "got '%s'",
						      optarg);
			metas[nmetas++] = optarg;
			break;
		case OPT_RENUMBER:
			wopts.renumber = 1;
			break;
		case OPT_SCHEMA:
			arg_schema = optarg;
			break;
		case OPT_SKIP_INVALID:
			skip_invalid = 1;
			break;
		case OPT_STREAM:
			arg_stream = optarg;
			break;
		case OPT_STREAM_FROM:
			popts.stream_from = optarg;
			have_from = 1;
			break;
		case OPT_SYNC:
			if (fe_parse_sync(optarg, &wopts.sync) != 0)
				return fe_usage_error(usage_short,
						      "--sync: '%s' is not batch or "
						      "none",
						      optarg);
			wopts.sync_set = 1;
			break;
		case OPT_TIME:
			arg_time = optarg;
			break;
		case OPT_TIME_FROM:
			popts.time_from = optarg;
			have_from = 1;
			break;
		case OPT_TYPE:
			opt_type = optarg;
			break;
		case OPT_TYPE_FROM:
			popts.type_from = optarg;
			have_from = 1;
			break;
		case 'v':
			verbose = 1;
			break;
		case 'V':
			fe_version();
			return 0;
		case OPT_WRAP:
			wrap = 1;
			break;
		default:
			return fe_usage_error(usage_short, NULL);
		}
	}
	if (optind >= argc)
		return fe_usage_error(usage_short, "missing LOG operand");
	logpath = argv[optind++];

	/* argument form: TYPE [name=value | name:=json ...] */
	if (optind < argc) {
		if (ninputs > 0 || wrap || format != NULL || have_from ||
		    opt_type != NULL || skip_invalid)
			return fe_usage_error(usage_short,
					      "TYPE arguments cannot be combined "
					      "with -i, --wrap, --format, --type, "
					      "--*-from or --skip-invalid");
		bld = ev_builder_new();
		if (bld == NULL) {
			fe_warn("out of memory");
			return 1;
		}
		if (ev_builder_set(bld, "type", argv[optind++], &err) != 0 ||
		    (arg_id && ev_builder_set(bld, "id", arg_id, &err) != 0) ||
		    (arg_key && ev_builder_set(bld, "key", arg_key, &err) != 0) ||
		    (arg_stream &&
		     ev_builder_set(bld, "stream", arg_stream, &err) != 0) ||
		    (arg_time && ev_builder_set(bld, "time", arg_time, &err) != 0) ||
		    (arg_schema &&
		     ev_builder_set(bld, "schema", arg_schema, &err) != 0)) {
			ev_builder_free(bld);
			name_flag(&err);
			return fe_usage_error(usage_short, "%s", err.msg);
		}
		for (k = 0; k < nmetas; k++) {
			char *eq = strchr(metas[k], '=');
			char *name = strndup(metas[k], (size_t)(eq - metas[k]));
			int r = ev_builder_meta(bld, name, eq + 1, &err);
			free(name);
			if (r != 0) {
				ev_builder_free(bld);
				name_flag(&err);
				return fe_usage_error(usage_short, "%s", err.msg);
			}
		}
		for (; optind < argc; optind++) {
			const char *a = argv[optind], *eq = strchr(a, '=');
			int is_json;
			char *name;
			int r;
			if (eq == NULL || eq == a) {
				ev_builder_free(bld);
				return fe_usage_error(usage_short,
						      "'%s' is not name=value or "
						      "name:=json",
						      a);
			}
			is_json = eq[-1] == ':';
			name = strndup(a, (size_t)(eq - a - is_json));
			if (name == NULL || name[0] == '\0') {
				free(name);
				ev_builder_free(bld);
				return fe_usage_error(usage_short,
						      "'%s' has an empty name", a);
			}
			r = ev_builder_data(bld, name, eq + 1, strlen(eq + 1),
					    is_json, &err);
			free(name);
			if (r != 0) {
				ev_builder_free(bld);
				return fe_usage_error(usage_short, "%s", err.msg);
			}
		}
	} else if (arg_id || arg_key || arg_stream || arg_time || arg_schema ||
		   nmetas) {
		return fe_usage_error(usage_short,
				      "--id, --key, --stream, --time, --schema and "
				      "--meta need the TYPE argument form");
	}
	if ((have_from || opt_type) && !wrap)
		return fe_usage_error(usage_short,
				      "--type and --*-from need --wrap");
	if (wrap && format != NULL)
		return fe_usage_error(usage_short,
				      "--wrap and --format cannot be combined");
	if (wrap && opt_type == NULL && popts.type_from == NULL)
		return fe_usage_error(usage_short,
				      "--wrap needs --type TYPE or --type-from PATH");
	if (opt_type && popts.type_from)
		return fe_usage_error(usage_short,
				      "--type and --type-from cannot be combined");
	if (opt_type && opt_type[0] == '\0')
		return fe_usage_error(usage_short, "--type must not be empty");
	if (dry_run && pb.ack)
		return fe_usage_error(usage_short,
				      "--dry-run and --ack cannot be combined");
	if (wopts.expect == EV_EXPECT_VERSION && bld != NULL &&
	    arg_stream == NULL) {
		ev_builder_free(bld);
		return fe_usage_error(usage_short,
				      "--expect-version %s needs the event in a "
				      "stream: give --stream NAME",
				      expect_arg);
	}
	if (wopts.expect == EV_EXPECT_VERSION) {
		/* one stream, appended atomically: all of it in one batch,
		 * written at the end of the input or not at all */
		wopts.one_batch = 1;
		wopts.batch_bytes = EV_MAX_BATCH_BYTES;
		wopts.batch_events = 1000000;
		linger_ms = 0;
	}

	popts.format = wrap ? EV_FMT_WRAP
		       : (format && strcmp(format, "cloudevents") == 0)
			       ? EV_FMT_CLOUDEVENTS
			       : EV_FMT_ENVELOPE;
	popts.type = opt_type;

	/* open (or create) the log */
	if (!dry_run) {
		rc = ev_log_open(&log, logpath, &err);
		if (rc == EV_ENOENT && create) {
			ev_log_config_init(&cfg);
			if (wopts.sync_set)
				cfg.sync = wopts.sync; /* the new log's default */
			rc = ev_log_create(logpath, &cfg, &err);
			if (rc != 0 && access(logpath, F_OK) == 0)
				rc = 0; /* created by a concurrent evpub */
			if (rc == 0)
				rc = ev_log_open(&log, logpath, &err);
		}
		if (rc != 0) {
			rc = fe_report(&err);
			if (err.code == EV_ENOENT)
				fe_warn("use -c/--create to create it, or 'evctl init %s'",
					logpath);
			goto out;
		}
		wopts.threaded = 1;
		wopts.unlinked = 1; /* our records come from the parser */
		wopts.on_durable = on_durable;
		wopts.notice = on_notice;
		wopts.ctx = &pb;
		rc = ev_writer_open(&w, log, &wopts, &err);
		if (rc != 0) {
			rc = fe_report(&err);
			goto out;
		}
	}

	fe_on_stop(on_signal);

	if (bld != NULL) {
		struct ev_buf rec = {0};
		ev_time_t t;
		if (ev_builder_finish(bld, ev_now(), &rec, &t, &err) != 0) {
			ev_buf_free(&rec);
			rc = fe_report(&err);
			goto out;
		}
		if (!dry_run && (ev_writer_add(w, rec.p, rec.len, t, &err) != 0 ||
				 ev_writer_flush(w, &err) != 0)) {
			ev_buf_free(&rec);
			rc = writer_failed(w, &err, inputs, &stop_line);
			goto out;
		}
		ev_buf_free(&rec);
		if (ack_failed(&pb)) {
			fe_warn("cannot write acknowledgements: %s",
				strerror(ack_failed(&pb)));
			rc = 74;
			goto out;
		}
		if (pb.duplicates > 0)
			fe_warn("0 appended, 1 duplicate");
		goto done;
	}

	ps = ev_parser_new(&popts);
	if (ps == NULL) {
		fe_warn("out of memory");
		rc = 1;
		goto out;
	}
	if (ninputs == 0)
		inputs[ninputs++] = "-";
	for (k = 0; k < ninputs && !stop_requested; k++) {
		const char *name = inputs[k];
		char *line;
		size_t len;
		int r, n, i;

		in.start = in.end = 0;
		in.eof = 0;
		in.skipping = 0;
		in.line = 0;
		if (strcmp(name, "-") == 0) {
			in.fd = 0;
			in.name = "stdin";
		} else {
			in.fd = open(name, O_RDONLY | O_CLOEXEC);
			in.name = name;
			if (in.fd < 0) {
				fe_warn("cannot open '%s': %s", name, strerror(errno));
				rc = errno == ENOENT ? 66 : 74;
				goto stopped;
			}
		}
		for (;;) {
			r = next_line(&in, &line, &len,
				      w != NULL && ev_writer_pending(w) > 0,
				      (int)linger_ms);
			if (r == 2) {
				if (ev_writer_flush(w, &err) != 0) {
					rc = writer_failed(w, &err, inputs, &stop_line);
					at_line = 1;
					goto stopped;
				}
				continue;
			}
			if (r == 0)
				break;
			if (r == -2) {
				fe_warn("%s:%llu: line longer than %u bytes", in.name,
					(unsigned long long)in.line, EV_MAX_LINE);
				invalid++;
				if (skip_invalid || dry_run)
					continue;
				rc = 65;
				at_line = 1;
				goto stopped;
			}
			if (r < 0) {
				fe_warn("cannot read '%s': %s", in.name,
					strerror(errno));
				rc = 74;
				goto stopped;
			}
			if (blank(line, len))
				continue;
			n = ev_parser_line(ps, line, len, EV_TIME_NONE, &err);
			if (n < 0) {
				name_flag(&err);
				fe_warn("%s:%llu:%zu: %s", in.name,
					(unsigned long long)in.line, err.column,
					err.msg);
				invalid++;
				if (skip_invalid || dry_run)
					continue;
				rc = 65;
				at_line = 1;
				goto stopped;
			}
			valid += (uint64_t)n;
			if (dry_run)
				continue;
			for (i = 0; i < n; i++) {
				const uint8_t *rec;
				size_t rn;
				ev_time_t t;
				ev_parser_record(ps, i, &rec, &rn, &t);
				if (one_stream_check(&one_stream, rec, rn, in.name,
						     in.line, expect_arg) != 0) {
					rc = 64;
					goto stopped;
				}
				r = ev_writer_add_tagged(w, rec, rn, t,
							 TAG(k, in.line), &err);
				if (r == EV_EUSAGE) {
					fe_warn("%s:%llu: --expect-version %s: %s; an "
						"exact version is for one atomic "
						"append",
						in.name, (unsigned long long)in.line,
						expect_arg, err.msg);
					rc = 64;
					goto stopped;
				}
				if (r != 0) {
					rc = writer_failed(w, &err, inputs, &stop_line);
					at_line = 1;
					goto stopped;
				}
			}
			if (ack_failed(&pb)) {
				at_line = 1;
				goto stopped;
			}
			if (stop_requested)
				break;
		}
		if (in.fd > 0)
			close(in.fd);
		in.fd = -1;
	}
stopped:
	if (in.fd > 0)
		close(in.fd);
	if (w != NULL && rc != 0 && wopts.one_batch)
		ev_writer_discard(w); /* all or nothing */
	if (w != NULL) {
		/* everything before a bad line is made durable */
		struct ev_error e2;
		if (ev_writer_flush(w, &e2) != 0 && (rc == 0 || rc == 65)) {
			rc = writer_failed(w, &e2, inputs, &stop_line);
			at_line = 1;
		}
	}
	if (ack_failed(&pb)) {
		fe_warn("cannot write acknowledgements: %s",
			strerror(ack_failed(&pb)));
		rc = 74;
		at_line = 1;
	}
	if (pb.duplicates > 0)
		fe_warn("%s appended, %s duplicate", fe_commas(pb.appended, cbuf),
			fe_commas(pb.duplicates, cbuf2));
	if (rc != 0 && at_line && !dry_run && !(skip_invalid && invalid > 0))
		fe_warn("%s %s appended; stopped at line %s",
			fe_commas(pb.appended, cbuf),
			fe_plural(pb.appended, "event", "events"),
			fe_commas(stop_line ? stop_line : in.line, cbuf2));
	else if (dry_run) {
		if (invalid > 0 || verbose)
			fe_warn("%s %s valid; %s invalid %s",
				fe_commas(valid, cbuf),
				fe_plural(valid, "event", "events"),
				fe_commas(invalid, cbuf2),
				fe_plural(invalid, "line", "lines"));
		if (invalid > 0 && rc == 0)
			rc = 65;
	} else if (skip_invalid && invalid > 0) {
		fe_warn("%s %s appended; %s invalid %s skipped",
			fe_commas(pb.appended, cbuf),
			fe_plural(pb.appended, "event", "events"),
			fe_commas(invalid, cbuf2),
			fe_plural(invalid, "line", "lines"));
		if (rc == 0)
			rc = 65;
	}
done:
	if (verbose && w != NULL && !dry_run) {
		fe_warn("%s %s appended, %s %s",
			fe_commas(pb.appended, cbuf),
			fe_plural(pb.appended, "event", "events"),
			fe_commas(ev_writer_syncs(w), cbuf2),
			fe_plural(ev_writer_syncs(w), "fsync", "fsyncs"));
	}
out:
	if (w != NULL) {
		struct ev_error e3;
		if (ev_writer_close(w, &e3) != 0 && rc == 0)
			rc = fe_report(&e3);
	}
	ev_parser_free(ps);
	ev_builder_free(bld);
	ev_log_close(log);
	ev_buf_free(&pb.ackbuf);
	free(in.buf);
	free(one_stream);
	return rc;
}
