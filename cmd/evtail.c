/*
 * evtail - read, filter and follow an evlog log.  See evtail(1).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "consume.h"
#include "evlog.h"
#include "fe.h"

static const char usage_short[] = "Usage: evtail [options] LOG\n";

static const char usage_long[] =
	"Read events from an evlog log (a directory) or one segment file.\n"
	"\n"
	"Options:\n"
	"      --backoff DURATION  first retry delay, doubling with jitter (1s)\n"
	"      --backoff-max DURATION\n"
	"                          longest retry delay (30s)\n"
	"      --batch N           with --exec, up to N events per handler run\n"
	"      --category NAME     only streams NAME and NAME-*; may be repeated\n"
	"      --color WHEN        colour pretty output: auto, always, never\n"
	"      --commit-every N    with --group, commit every N events (100000)\n"
	"      --commit-interval DURATION\n"
	"                          with --group, commit at least this often (1s)\n"
	"      --count N           stop after printing N events\n"
	"      --cursor-file FILE  resume after the position in FILE and store\n"
	"                          the last printed position there on exit\n"
	"      --dlq DLQLOG        with --exec, dead-letter failed events to\n"
	"                          DLQLOG (created if missing); implies\n"
	"                          --on-failure=dlq\n"
	"      --dlq-policy POLICY event, or stream: a dead letter parks the\n"
	"                          later events of its stream too\n"
	"      --exec CMD          with --group, run CMD (sh -c) per event, the\n"
	"                          event's JSON on stdin: at-least-once delivery\n"
	"  -f, --follow            wait for new events (exit 0 on SIGINT/SIGTERM)\n"
	"      --from POS          start at OFFSET, start, end or @TIME\n"
	"      --from-version N    with one exact --stream, start at its\n"
	"                          version N\n"
	"      --grace DURATION    on SIGINT/SIGTERM, let handlers finish this\n"
	"                          long before killing them (10s)\n"
	"      --group NAME        read as consumer group NAME: resume after its\n"
	"                          committed position and commit as it goes\n"
	"  -h, --help              show this help and exit\n"
	"  -n, --lines N           print the last N (matching) events\n"
	"      --on-failure ACTION after the last retry: stop (default), dlq or\n"
	"                          skip\n"
	"  -o, --output FORMAT     json (default), pretty, cloudevents, msgpack\n"
	"      --parallel N        with --exec, up to N handlers at once, never\n"
	"                          two of one stream (1)\n"
	"      --retries N         retries of a failed handler run (3)\n"
	"      --since TIME        only events at or after TIME\n"
	"      --state-dir DIR     keep group state in DIR, not in the log\n"
	"      --stream GLOB       only streams matching GLOB; may be repeated;\n"
	"                          one exact name is read through the stream\n"
	"                          index, without scanning the log\n"
	"      --template TPL      print TPL per event, e.g. '{offset} {type}'\n"
	"      --timeout DURATION  a handler run that takes longer fails (none)\n"
	"      --to POS            stop after OFFSET, or at the first event\n"
	"                          later than @TIME\n"
	"      --type GLOB         only types matching GLOB; may be repeated\n"
	"      --until TIME        only events at or before TIME\n"
	"  -V, --version           show versions and exit\n"
	"      --wait              wait for a group another consumer holds\n"
	"      --where EXPR        only events where 'PATH OP VALUE' holds;\n"
	"                          OP is ==, !=, <, <=, >, >= or exists\n"
	"\n"
	"TIME is RFC 3339, a date (2025-01-10), 'now', or relative (-1h, -30m).\n"
	"Exit status: 0 at the end of the log, 64 usage, 65 damaged data or\n"
	"a bad cursor or group position, 66 missing log, 74 I/O error, 75 group\n"
	"busy; with --exec, 1 when a handler failed under --on-failure=stop.\n"
	"See evtail(1).\n";

enum {
	OPT_BACKOFF = 256,
	OPT_BACKOFF_MAX,
	OPT_BATCH,
	OPT_CATEGORY,
	OPT_COLOR,
	OPT_COMMIT_EVERY,
	OPT_COMMIT_INTERVAL,
	OPT_COUNT,
	OPT_CURSOR_FILE,
	OPT_DLQ,
	OPT_DLQ_POLICY,
	OPT_EXEC,
	OPT_FROM,
	OPT_FROM_VERSION,
	OPT_GRACE,
	OPT_GROUP,
	OPT_ON_FAILURE,
	OPT_PARALLEL,
	OPT_RETRIES,
	OPT_SINCE,
	OPT_STATE_DIR,
	OPT_STREAM,
	OPT_TEMPLATE,
	OPT_TIMEOUT,
	OPT_TO,
	OPT_TYPE,
	OPT_UNTIL,
	OPT_WAIT,
	OPT_WHERE,
};

static const struct option longopts[] = {
	{"backoff", required_argument, NULL, OPT_BACKOFF},
	{"backoff-max", required_argument, NULL, OPT_BACKOFF_MAX},
	{"batch", required_argument, NULL, OPT_BATCH},
	{"category", required_argument, NULL, OPT_CATEGORY},
	{"color", required_argument, NULL, OPT_COLOR},
	{"commit-every", required_argument, NULL, OPT_COMMIT_EVERY},
	{"commit-interval", required_argument, NULL, OPT_COMMIT_INTERVAL},
	{"count", required_argument, NULL, OPT_COUNT},
	{"cursor-file", required_argument, NULL, OPT_CURSOR_FILE},
	{"dlq", required_argument, NULL, OPT_DLQ},
	{"dlq-policy", required_argument, NULL, OPT_DLQ_POLICY},
	{"exec", required_argument, NULL, OPT_EXEC},
	{"follow", no_argument, NULL, 'f'},
	{"from", required_argument, NULL, OPT_FROM},
	{"from-version", required_argument, NULL, OPT_FROM_VERSION},
	{"grace", required_argument, NULL, OPT_GRACE},
	{"group", required_argument, NULL, OPT_GROUP},
	{"help", no_argument, NULL, 'h'},
	{"lines", required_argument, NULL, 'n'},
	{"on-failure", required_argument, NULL, OPT_ON_FAILURE},
	{"output", required_argument, NULL, 'o'},
	{"parallel", required_argument, NULL, OPT_PARALLEL},
	{"retries", required_argument, NULL, OPT_RETRIES},
	{"since", required_argument, NULL, OPT_SINCE},
	{"state-dir", required_argument, NULL, OPT_STATE_DIR},
	{"stream", required_argument, NULL, OPT_STREAM},
	{"template", required_argument, NULL, OPT_TEMPLATE},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"to", required_argument, NULL, OPT_TO},
	{"type", required_argument, NULL, OPT_TYPE},
	{"until", required_argument, NULL, OPT_UNTIL},
	{"version", no_argument, NULL, 'V'},
	{"wait", no_argument, NULL, OPT_WAIT},
	{"where", required_argument, NULL, OPT_WHERE},
	{NULL, 0, NULL, 0},
};

enum out_fmt { OUT_JSON, OUT_PRETTY, OUT_CE, OUT_MSGPACK, OUT_TEMPLATE };

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* A position: an offset, start, end or a time. */
struct pos {
	enum { POS_NONE, POS_OFFSET, POS_START, POS_END, POS_TIME } kind;
	uint64_t offset;
	ev_time_t time;
};

static int parse_pos(const char *s, struct pos *p, int allow_ends)
{
	if (allow_ends && strcmp(s, "start") == 0) {
		p->kind = POS_START;
		return 0;
	}
	if (allow_ends && strcmp(s, "end") == 0) {
		p->kind = POS_END;
		return 0;
	}
	if (s[0] == '@') {
		p->kind = POS_TIME;
		return ev_time_parse_user(s + 1, ev_now(), &p->time) == 0 ? 0 : -1;
	}
	p->kind = POS_OFFSET;
	return fe_parse_u64(s, &p->offset);
}

struct out {
	struct ev_buf buf;
	int failed;
	uint64_t printed; /* position after the last event put in buf */
	uint64_t written; /* ... and after the last one written out */
};

static void out_flush(struct out *o)
{
	if (o->buf.len > 0 && !o->failed) {
		if (fwrite(o->buf.p, 1, o->buf.len, stdout) != o->buf.len ||
		    fflush(stdout) != 0)
			o->failed = 1;
	}
	o->buf.len = 0;
	if (!o->failed)
		o->written = o->printed; /* all of it is out */
}

/*
 * Is a group commit due after n uncommitted events?  Asked once per
 * event, so the clock is the coarse one (a few ms of resolution, and no
 * time-stamp counter read), which is plenty for a commit interval.
 */
#define COMMIT_CLOCK CLOCK_MONOTONIC_COARSE

static int group_due(uint64_t n, uint64_t every, int64_t ms,
		     const struct timespec *last)
{
	struct timespec now;

	if (n == 0)
		return 0;
	if (n >= every)
		return 1;
	clock_gettime(COMMIT_CLOCK, &now);
	return (now.tv_sec - last->tv_sec) * 1000 +
		       (now.tv_nsec - last->tv_nsec) / 1000000 >=
	       ms;
}

/* Commit pos once everything before it is written out. 0, or an exit
 * code. */
static int group_commit(struct ev_group *g, struct out *o, uint64_t pos,
			uint64_t *committed, struct timespec *last)
{
	struct ev_error err;

	out_flush(o);
	if (o->failed)
		return 0; /* not delivered: not committed */
	if (ev_group_commit(g, pos, &err) != 0)
		return fe_report(&err);
	*committed = pos;
	clock_gettime(COMMIT_CLOCK, last);
	return 0;
}

/* A record that does not decode: flush what was printed, say where. */
static int bad_record(struct out *o, const char *logpath, uint64_t offset,
		      const struct ev_error *err)
{
	out_flush(o);
	fe_warn("damaged data in '%s': offset %llu: %s", logpath,
		(unsigned long long)offset, err->msg);
	return 65;
}

/* One stream's events, read through its links before the loop. */
struct preload {
	struct ev_buf b;	/* offset, append time, length, bytes */
	size_t pos;
	uint64_t end;		/* the log's end then: follow on from there */
	int active;
	int oom;
};

struct preload_hdr {
	uint64_t offset;
	ev_time_t append_time;
	size_t n;
};

static int preload_add(void *ctx, const struct ev_rec *rec)
{
	struct preload *pl = ctx;
	struct preload_hdr h = {rec->offset, rec->append_time, rec->n};

	if (ev_buf_append(&pl->b, &h, sizeof(h)) != 0 ||
	    ev_buf_append(&pl->b, rec->p, rec->n) != 0) {
		pl->oom = 1;
		return EV_ERR;
	}
	return 0;
}

static int preload_next(struct preload *pl, struct ev_rec *rec)
{
	struct preload_hdr h;

	if (pl->pos >= pl->b.len)
		return 0;
	memcpy(&h, pl->b.p + pl->pos, sizeof(h));
	rec->offset = h.offset;
	rec->append_time = h.append_time;
	rec->n = h.n;
	rec->p = pl->b.p + pl->pos + sizeof(h);
	pl->pos += sizeof(h) + h.n;
	return 1;
}

/* built while parsing options; freed at exit, whichever return it is */
static struct ev_filter *flt;
static struct ev_template *tpl;

/* Keep only the last n events of the preload that match f (-n N with
 * --stream and other filters).  0, or -1 out of memory. */
static int preload_keep_last(struct preload *pl, struct ev_filter *f,
			     uint64_t n)
{
	struct ev_buf kept = {0};
	struct ev_rec rec;
	struct ev_event ev;
	struct ev_error err;
	size_t *at = NULL, na = 0, cap = 0, i;

	pl->pos = 0;
	while (preload_next(pl, &rec)) {
		size_t start = pl->pos - rec.n - sizeof(struct preload_hdr);
		if (!ev_filter_precheck(f, rec.p, rec.n) ||
		    ev_event_decode(rec.p, rec.n, &ev, &err) != 0)
			continue;
		ev.offset = rec.offset;
		if (!ev_filter_match(f, &ev))
			continue;
		if (na == cap) {
			size_t *nat;
			cap = cap ? 2 * cap : 64;
			nat = realloc(at, cap * sizeof(*at));
			if (nat == NULL) {
				free(at);
				return -1;
			}
			at = nat;
		}
		at[na++] = start;
	}
	for (i = na > n ? na - n : 0; i < na; i++) {
		struct preload_hdr h;
		memcpy(&h, pl->b.p + at[i], sizeof(h));
		if (ev_buf_append(&kept, pl->b.p + at[i], sizeof(h) + h.n) != 0) {
			free(at);
			ev_buf_free(&kept);
			return -1;
		}
	}
	free(at);
	ev_buf_free(&pl->b);
	pl->b = kept;
	pl->pos = 0;
	return 0;
}

static void free_filters(void)
{
	ev_filter_free(flt);
	ev_template_free(tpl);
}

int main(int argc, char **argv)
{
	struct ev_log *log = NULL;
	struct ev_reader *rd = NULL;
	struct ev_error err;
	struct ev_rec rec;
	struct ev_event ev;
	struct ev_cursor cur;
	struct out out;
	struct pos from = {POS_NONE, 0, 0}, to = {POS_NONE, 0, 0};
	struct stat st;
	const char *logpath, *color = NULL, *cursor_file = NULL;
	enum out_fmt fmt = OUT_JSON;
	int follow = 0, c, rc = 0, r, use_color = 0, ino = -1, have_cursor = 0;
	uint64_t count = 0, lines = 0, printed = 0, last_printed = 0, start = 0;
	int has_count = 0, has_lines = 0, out_set = 0, fast_json;
	ev_time_t since = EV_TIME_NONE, until = EV_TIME_NONE;
	ev_time_t start_time = EV_TIME_NONE;
	const char *group = NULL, *state_dir = NULL;
	struct ev_group *grp = NULL;
	uint64_t commit_every = 100000, scanned = 0, committed = 0;
	uint64_t pending_off = UINT64_MAX;
	int64_t commit_ms = 1000;
	int wait = 0;
	struct timespec last_commit;
	struct consume_opts copts;
	enum on_failure on_failure = FAIL_STOP;
	int exec_only = 0, dlq_given = 0, on_failure_given = 0;
	int dlq_policy_given = 0;
	uint64_t v;
	const char *exact = NULL;	/* the one --stream, when literal */
	int nstreams = 0, ncategories = 0;
	int nother = 0;	/* filters other than --stream */
	uint64_t from_version = 0;
	struct preload pl;

	fe_init(argv);
	ev_error_clear(&err);
	memset(&out, 0, sizeof(out));
	memset(&pl, 0, sizeof(pl));
	memset(&copts, 0, sizeof(copts));
	copts.retries = 3;
	copts.backoff_ms = 1000;
	copts.backoff_max_ms = 30000;
	copts.grace_ms = 10000;
	copts.batch = 1;
	copts.parallel = 1;
	flt = ev_filter_new();
	atexit(free_filters);
	if (flt == NULL) {
		fe_warn("out of memory");
		return 1;
	}
	while ((c = getopt_long(argc, argv, "fhn:o:V", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_COLOR:
			if (strcmp(optarg, "auto") && strcmp(optarg, "always") &&
			    strcmp(optarg, "never"))
				return fe_usage_error(usage_short,
						      "--color: '%s' is not auto, "
						      "always or never",
						      optarg);
			color = optarg;
			break;
		case OPT_BACKOFF:
		case OPT_BACKOFF_MAX:
		case OPT_GRACE:
		case OPT_TIMEOUT: {
			int64_t ms;
			static const char *const nm[] = {"backoff", "backoff-max",
							 "grace", "timeout"};
			int which = c == OPT_BACKOFF ? 0
				    : c == OPT_BACKOFF_MAX ? 1
				    : c == OPT_GRACE ? 2
							   : 3;
			if (ev_duration_parse(optarg, &ms) != 0)
				return fe_usage_error(usage_short,
						      "--%s: '%s' is not a duration "
						      "such as 500ms, 2s or 1m",
						      nm[which], optarg);
			if (which == 0)
				copts.backoff_ms = ms;
			else if (which == 1)
				copts.backoff_max_ms = ms;
			else if (which == 2)
				copts.grace_ms = ms;
			else
				copts.timeout_ms = ms;
			exec_only = 1;
			break;
		}
		case OPT_BATCH:
		case OPT_PARALLEL:
		case OPT_RETRIES:
			if (fe_parse_u64(optarg, &v) != 0 ||
			    (c != OPT_RETRIES && v == 0) ||
			    (c == OPT_PARALLEL && v > EV_MAX_PARALLEL) ||
			    (c == OPT_BATCH && v > 1000) || v > 1000)
				return fe_usage_error(
					usage_short, "--%s: '%s' is not a number from "
						     "%d to %d",
					c == OPT_BATCH	   ? "batch"
					: c == OPT_PARALLEL ? "parallel"
							    : "retries",
					optarg, c == OPT_RETRIES ? 0 : 1,
					c == OPT_PARALLEL ? EV_MAX_PARALLEL : 1000);
			if (c == OPT_BATCH)
				copts.batch = (unsigned)v;
			else if (c == OPT_PARALLEL)
				copts.parallel = (unsigned)v;
			else
				copts.retries = (unsigned)v;
			exec_only = 1;
			break;
		case OPT_DLQ:
			copts.dlq_path = optarg;
			copts.on_failure = FAIL_DLQ;
			dlq_given = 1;
			break;
		case OPT_DLQ_POLICY:
			if (strcmp(optarg, "event") == 0)
				copts.park_streams = 0;
			else if (strcmp(optarg, "stream") == 0)
				copts.park_streams = 1;
			else
				return fe_usage_error(usage_short,
						      "--dlq-policy: '%s' is not event "
						      "or stream",
						      optarg);
			dlq_policy_given = 1;
			exec_only = 1;
			break;
		case OPT_EXEC:
			copts.cmd = optarg;
			break;
		case OPT_ON_FAILURE:
			if (strcmp(optarg, "stop") == 0)
				on_failure = FAIL_STOP;
			else if (strcmp(optarg, "dlq") == 0)
				on_failure = FAIL_DLQ;
			else if (strcmp(optarg, "skip") == 0)
				on_failure = FAIL_SKIP;
			else
				return fe_usage_error(usage_short,
						      "--on-failure: '%s' is not stop, "
						      "dlq or skip",
						      optarg);
			on_failure_given = 1;
			break;
		case OPT_COMMIT_EVERY:
			if (fe_parse_u64(optarg, &commit_every) != 0 ||
			    commit_every == 0)
				return fe_usage_error(usage_short,
						      "--commit-every: '%s' is not a "
						      "positive number",
						      optarg);
			break;
		case OPT_COMMIT_INTERVAL:
			if (ev_duration_parse(optarg, &commit_ms) != 0)
				return fe_usage_error(usage_short,
						      "--commit-interval: '%s' is not "
						      "a duration such as 500ms or 2s",
						      optarg);
			break;
		case OPT_COUNT:
			if (fe_parse_u64(optarg, &count) != 0)
				return fe_usage_error(usage_short,
						      "--count: '%s' is not a number",
						      optarg);
			has_count = 1;
			break;
		case OPT_CURSOR_FILE:
			cursor_file = optarg;
			break;
		case 'f':
			follow = 1;
			break;
		case OPT_GROUP:
			group = optarg;
			if (!ev_group_name_ok(group))
				return fe_usage_error(usage_short,
						      "--group: '%s' is not a group "
						      "name (letters, digits, '.', "
						      "'_', '-')",
						      optarg);
			break;
		case OPT_FROM:
			if (parse_pos(optarg, &from, 1) != 0)
				return fe_usage_error(usage_short,
						      "--from: '%s' is not an offset, "
						      "start, end or @TIME",
						      optarg);
			break;
		case 'h':
			fe_help(usage_short, usage_long);
			return 0;
		case 'n':
			if (fe_parse_u64(optarg, &lines) != 0)
				return fe_usage_error(usage_short,
						      "-n: '%s' is not a number",
						      optarg);
			has_lines = 1;
			break;
		case 'o':
			if (strcmp(optarg, "json") == 0)
				fmt = OUT_JSON;
			else if (strcmp(optarg, "pretty") == 0)
				fmt = OUT_PRETTY;
			else if (strcmp(optarg, "cloudevents") == 0)
				fmt = OUT_CE;
			else if (strcmp(optarg, "msgpack") == 0)
				fmt = OUT_MSGPACK;
			else
				return fe_usage_error(usage_short,
						      "--output: '%s' is not json, "
						      "pretty, cloudevents or msgpack",
						      optarg);
			out_set = 1;
			break;
		case OPT_SINCE:
		case OPT_UNTIL:
			if (ev_time_parse_user(optarg, ev_now(),
					       c == OPT_SINCE ? &since : &until) != 0)
				return fe_usage_error(usage_short,
						      "--%s: '%s' is not a time "
						      "(RFC 3339, a date, or -1h)",
						      c == OPT_SINCE ? "since" : "until",
						      optarg);
			break;
		case OPT_STATE_DIR:
			state_dir = optarg;
			break;
		case OPT_STREAM:
			if (ev_filter_add_stream(flt, optarg) != 0)
				return 1;
			nstreams++;
			exact = strpbrk(optarg, "*?[") == NULL ? optarg : NULL;
			break;
		case OPT_CATEGORY: {
			/* Message DB: the category of order-7 is order */
			char *glob;
			if (optarg[0] == '\0' || strpbrk(optarg, "*?[") != NULL)
				return fe_usage_error(usage_short,
						      "--category: '%s' is a name, "
						      "not a pattern",
						      optarg);
			if (asprintf(&glob, "%s-*", optarg) < 0)
				return 1;
			r = ev_filter_add_stream(flt, optarg) != 0 ||
			    ev_filter_add_stream(flt, glob) != 0;
			free(glob);
			if (r)
				return 1;
			ncategories++;
			break;
		}
		case OPT_FROM_VERSION:
			if (fe_parse_u64(optarg, &from_version) != 0 ||
			    from_version == 0)
				return fe_usage_error(usage_short,
						      "--from-version: '%s' is not a "
						      "version (1, 2, ...)",
						      optarg);
			break;
		case OPT_TEMPLATE:
			if (ev_template_new(&tpl, optarg, &err) != 0)
				return fe_usage_error(usage_short, "%s", err.msg);
			break;
		case OPT_TO:
			if (parse_pos(optarg, &to, 0) != 0)
				return fe_usage_error(usage_short,
						      "--to: '%s' is not an offset "
						      "or @TIME",
						      optarg);
			break;
		case OPT_TYPE:
			if (ev_filter_add_type(flt, optarg) != 0)
				return 1;
			nother++;
			break;
		case 'V':
			fe_version();
			return 0;
		case OPT_WAIT:
			wait = 1;
			break;
		case OPT_WHERE:
			if (ev_filter_add_where(flt, optarg, &err) != 0)
				return fe_usage_error(usage_short, "%s", err.msg);
			nother++;
			break;
		default:
			return fe_usage_error(usage_short, NULL);
		}
	}
	if (optind >= argc)
		return fe_usage_error(usage_short, "missing LOG operand");
	if (optind + 1 < argc)
		return fe_usage_error(usage_short, "unexpected operand '%s'",
				      argv[optind + 1]);
	logpath = argv[optind];
	if (tpl != NULL && out_set)
		return fe_usage_error(usage_short,
				      "--template and --output cannot be combined");
	if (tpl != NULL)
		fmt = OUT_TEMPLATE;
	if (has_lines && from.kind != POS_NONE)
		return fe_usage_error(usage_short,
				      "-n and --from cannot be combined");
	if (has_lines && cursor_file != NULL)
		return fe_usage_error(usage_short,
				      "-n and --cursor-file cannot be combined");
	if (group != NULL && (cursor_file != NULL || has_lines))
		return fe_usage_error(usage_short,
				      "--group cannot be combined with --cursor-file "
				      "or -n");
	if (group == NULL && (state_dir != NULL || wait))
		return fe_usage_error(usage_short,
				      "--state-dir and --wait need --group");
	if (copts.cmd == NULL && (exec_only || dlq_given || on_failure_given))
		return fe_usage_error(usage_short,
				      "--retries, --backoff, --backoff-max, --timeout, "
				      "--on-failure, --dlq, --dlq-policy, --batch, "
				      "--parallel and --grace need --exec");
	if (copts.cmd != NULL) {
		if (group == NULL)
			return fe_usage_error(usage_short,
					      "--exec needs --group: its position "
					      "is what makes delivery at least "
					      "once");
		if (out_set || tpl != NULL || color != NULL || has_count ||
		    to.kind != POS_NONE)
			return fe_usage_error(usage_short,
					      "--exec cannot be combined with "
					      "--output, --template, --color, "
					      "--count or --to");
		if (on_failure_given) {
			if (on_failure == FAIL_DLQ && !dlq_given)
				return fe_usage_error(usage_short,
						      "--on-failure=dlq needs --dlq "
						      "DLQLOG");
			if (on_failure != FAIL_DLQ && dlq_given)
				return fe_usage_error(usage_short,
						      "--dlq implies --on-failure=dlq");
			copts.on_failure = on_failure;
		}
		if (dlq_policy_given && !dlq_given)
			return fe_usage_error(usage_short,
					      "--dlq-policy needs --dlq");
		if (copts.backoff_max_ms < copts.backoff_ms)
			copts.backoff_max_ms = copts.backoff_ms;
	}
	if (nstreams != 1)
		exact = NULL;
	if (from_version > 0) {
		if (exact == NULL || ncategories > 0)
			return fe_usage_error(usage_short,
					      "--from-version needs one exact "
					      "--stream NAME");
		if (from.kind != POS_NONE || has_lines)
			return fe_usage_error(usage_short,
					      "--from-version cannot be combined "
					      "with --from or -n");
		if (group != NULL || cursor_file != NULL)
			return fe_usage_error(usage_short,
					      "--from-version cannot be combined "
					      "with --group or --cursor-file");
	}
	use_color = fmt == OUT_PRETTY && fe_color(color, stdout);
	ev_filter_set_time(flt, since, until);

	/* open the log, or a single segment file */
	if (stat(logpath, &st) == 0 && S_ISREG(st.st_mode)) {
		rc = ev_reader_open_segment(&rd, logpath, &err);
	} else {
		rc = ev_log_open(&log, logpath, &err);
		if (rc == 0)
			rc = ev_reader_open(&rd, log, &err);
	}
	if (rc != 0) {
		rc = fe_report(&err);
		goto out;
	}

	/* a group: its lock for as long as we run, and its position */
	if (group != NULL) {
		if (log == NULL) {
			fe_warn("--group needs a log directory, not a segment file");
			rc = 64;
			goto out;
		}
		r = ev_group_open(&grp, log, group, state_dir, wait, &err);
		if (r != 0) {
			if (r == EV_EAGAIN)
				snprintf(err.hint, sizeof(err.hint),
					 "use --wait to wait for it");
			rc = fe_report(&err);
			goto out;
		}
		/* with --wait the holder may have read and committed past
		 * the end we saw when we opened the reader */
		if (ev_reader_refresh(rd, &err) < 0) {
			rc = fe_report(&err);
			goto out;
		}
		if (ev_group_get(grp)->exists) {
			uint64_t next = ev_group_get(grp)->next;
			if (next > ev_reader_end_offset(rd)) {
				fe_warn("group '%s' is at offset %llu, past the end of "
					"'%s' (offset %llu)",
					group, (unsigned long long)next, logpath,
					(unsigned long long)ev_reader_end_offset(rd));
				rc = 65;
				goto out;
			}
			if (next < ev_reader_first_offset(rd))
				fe_warn("group '%s': offsets %llu to %llu were trimmed "
					"before it read them",
					group, (unsigned long long)next,
					(unsigned long long)(ev_reader_first_offset(rd) -
							     1));
			have_cursor = 1; /* a position, like a cursor */
			start = next;
			from.kind = POS_NONE;
		}
	}

	/* starting position */
	if (cursor_file != NULL) {
		r = ev_cursor_load(cursor_file, &cur, &err);
		if (r == 0) {
			if (strcmp(cur.log_id, ev_reader_log_id(rd)) != 0) {
				fe_warn("cursor file '%s' belongs to log %s, but "
					"'%s' is log %s",
					cursor_file, cur.log_id, logpath,
					ev_reader_log_id(rd));
				rc = 65;
				goto out;
			}
			if (cur.next > ev_reader_end_offset(rd)) {
				fe_warn("cursor file '%s' points to offset %llu, past "
					"the end of '%s' (offset %llu)",
					cursor_file, (unsigned long long)cur.next,
					logpath,
					(unsigned long long)ev_reader_end_offset(rd));
				rc = 65;
				goto out;
			}
			have_cursor = 1;
			start = cur.next;
			from.kind = POS_NONE;
		} else if (r != EV_ENOENT) {
			rc = fe_report(&err);
			goto out;
		}
	}
	if (!have_cursor) {
		switch (from.kind) {
		case POS_OFFSET:
			start = from.offset;
			break;
		case POS_END:
			start = ev_reader_end_offset(rd);
			break;
		case POS_TIME:
			break;
		default:
			start = ev_reader_first_offset(rd);
			break;
		}
		if (has_lines && ev_filter_is_empty(flt)) {
			uint64_t end = ev_reader_end_offset(rd);
			start = end - (lines < end ? lines : end);
			if (start < ev_reader_first_offset(rd))
				start = ev_reader_first_offset(rd);
		}
	}
	if (start < ev_reader_first_offset(rd))
		start = ev_reader_first_offset(rd);
	last_printed = out.printed = out.written = start;
	scanned = committed = start;
	if (!have_cursor && from.kind == POS_TIME) {
		r = ev_reader_seek_time(rd, from.time, &err);
		start_time = from.time;
	}
	else if (!have_cursor && from.kind == POS_NONE && since != EV_TIME_NONE &&
		 !has_lines)
		r = ev_reader_seek_time(rd, since, &err);
	else
		r = ev_reader_seek(rd, start, &err);
	if (r != 0) {
		rc = fe_report(&err);
		goto out;
	}

	if (copts.cmd != NULL) {
		fe_on_stop(on_signal);
		copts.log_path = logpath;
		copts.follow = follow;
		copts.commit_every = commit_every;
		copts.commit_ms = commit_ms;
		rc = consume(log, rd, flt, grp, start, &copts, &stop_requested);
		/* a new group that handled nothing still keeps its start */
		if (!ev_group_get(grp)->exists &&
		    ev_group_commit(grp, start, &err) != 0) {
			r = fe_report(&err);
			if (rc == 0)
				rc = r;
		}
		goto out;
	}

	/* one exact stream, read through its links rather than a scan */
	if (exact != NULL && ncategories == 0 && log != NULL && grp == NULL &&
	    !have_cursor && from.kind == POS_NONE &&
	    !(has_lines && lines == 0)) {
		/* the last N of the stream are its last N matches only
		 * when nothing else filters them */
		int only = nother == 0 && since == EV_TIME_NONE &&
			   until == EV_TIME_NONE;
		r = ev_stream_read(log, exact, strlen(exact), from_version,
				   has_lines && only ? lines : 0, preload_add, &pl,
				   &pl.end, &err);
		if (r < 0) {
			if (pl.oom)
				fe_warn("out of memory");
			rc = pl.oom ? 1 : fe_report(&err);
			goto out;
		}
		if (r == 0 && has_lines && !only &&
		    preload_keep_last(&pl, flt, lines) != 0) {
			fe_warn("out of memory");
			rc = 1;
			goto out;
		}
		if (r == 0) {
			pl.active = 1;
			has_lines = 0;
		}
	}

	/* -n N with filters: find where the last N matches begin */
	if (has_lines && !ev_filter_is_empty(flt)) {
		uint64_t *ring = calloc(lines ? lines : 1, sizeof(uint64_t));
		uint64_t seen = 0;
		if (ring == NULL) {
			fe_warn("out of memory");
			rc = 1;
			goto out;
		}
		while ((r = ev_reader_next(rd, &rec, &err)) == 1) {
			if (!ev_filter_precheck(flt, rec.p, rec.n))
				continue;
			if (ev_event_decode(rec.p, rec.n, &ev, &err) != 0) {
				r = EV_EDATA;
				break;
			}
			ev.offset = rec.offset;
			if (!ev_filter_match(flt, &ev))
				continue;
			if (lines)
				ring[seen % lines] = rec.offset;
			seen++;
		}
		if (r < 0) {
			free(ring);
			rc = fe_report(&err);
			goto out;
		}
		start = lines == 0 ? ev_reader_end_offset(rd)
		      : seen <= lines ? ev_reader_first_offset(rd)
				      : ring[seen % lines];
		free(ring);
		if (ev_reader_seek(rd, start, &err) != 0) {
			rc = fe_report(&err);
			goto out;
		}
	}

	/* a closed pipe ends the read quietly, cursor written */
	fe_on_stop(on_signal);
	if (follow && ev_reader_watch_path(rd) != NULL) {
		ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (ino >= 0 &&
		    inotify_add_watch(ino, ev_reader_watch_path(rd),
				      IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_TO |
					      IN_CREATE) < 0) {
			close(ino);
			ino = -1;
		}
	}

	fast_json = fmt == OUT_JSON && !ev_filter_needs_event(flt) &&
		    to.kind != POS_TIME && from_version == 0;
	clock_gettime(COMMIT_CLOCK, &last_commit);
	for (;;) {
		/* the record before this one is fully handled */
		if (pending_off != UINT64_MAX) {
			scanned = pending_off + 1;
			pending_off = UINT64_MAX;
			if (grp != NULL && group_due(scanned - committed, commit_every,
						     commit_ms, &last_commit)) {
				rc = group_commit(grp, &out, scanned, &committed,
						  &last_commit);
				if (rc != 0)
					break;
			}
		}
		if (stop_requested)
			break;
		if (has_count && printed >= count)
			break;
		if (pl.active && preload_next(&pl, &rec)) {
			r = 1;
		} else {
			if (pl.active) {
				/* the stream as it was; now what came after */
				pl.active = 0;
				if (ev_reader_seek(rd, pl.end, &err) != 0) {
					rc = fe_report(&err);
					break;
				}
			}
			r = ev_reader_next(rd, &rec, &err);
		}
		if (r < 0) {
			out_flush(&out);
			rc = fe_report(&err);
			break;
		}
		if (r == 0) {
			out_flush(&out);
			if (out.failed)
				break;
			if (!follow)
				break;
			/* caught up: commit, so the group's lag reads 0 */
			if (grp != NULL && scanned != committed) {
				rc = group_commit(grp, &out, scanned, &committed,
						  &last_commit);
				if (rc != 0)
					break;
			}
			/* wait for the writer to publish more */
			if (ev_reader_refresh(rd, &err) > 0)
				continue;
			if (ino >= 0) {
				struct pollfd pfd = {ino, POLLIN, 0};
				char evbuf[4096];
				if (poll(&pfd, 1, 1000) > 0)
					while (read(ino, evbuf, sizeof(evbuf)) > 0)
						;
			} else {
				usleep(200000);
			}
			continue;
		}
		if (to.kind == POS_OFFSET && rec.offset > to.offset)
			break;
		pending_off = rec.offset;
		if (start_time != EV_TIME_NONE) {
			/* --from @TIME: the seek is conservative; start at the
			 * first event at or after TIME */
			if (ev_event_decode(rec.p, rec.n, &ev, &err) != 0) {
				rc = bad_record(&out, logpath, rec.offset, &err);
				break;
			}
			if (ev.time < start_time)
				continue;
			start_time = EV_TIME_NONE;
		}
		if (fast_json) {
			/* one pass from record to JSON, no decoded event */
			if (!ev_filter_precheck(flt, rec.p, rec.n))
				continue;
			if (ev_record_to_json(rec.p, rec.n, rec.offset, &out.buf,
					      &err) != 0) {
				rc = bad_record(&out, logpath, rec.offset, &err);
				break;
			}
			goto printed;
		}
		if (!ev_filter_precheck(flt, rec.p, rec.n) && to.kind != POS_TIME)
			continue;
		if (ev_event_decode(rec.p, rec.n, &ev, &err) != 0) {
			rc = bad_record(&out, logpath, rec.offset, &err);
			break;
		}
		ev.offset = rec.offset;
		ev.append_time = rec.append_time;
		if (to.kind == POS_TIME && ev.time > to.time) {
			pending_off = UINT64_MAX; /* not consumed */
			break;
		}
		if (!ev_filter_match(flt, &ev))
			continue;
		if (from_version > 0 && ev.version < from_version)
			continue; /* the scan, when links cannot be followed */
		switch (fmt) {
		case OUT_JSON:
			r = ev_event_to_json(&ev, &out.buf, 0, &err);
			break;
		case OUT_PRETTY:
			r = ev_event_to_pretty(&ev, &out.buf, use_color, &err);
			break;
		case OUT_CE:
			r = ev_event_to_cloudevent(&ev, &out.buf, &err);
			break;
		case OUT_MSGPACK:
			r = ev_event_to_msgpack(&ev, &out.buf, &err);
			break;
		case OUT_TEMPLATE:
			r = ev_template_render(tpl, &ev, &out.buf, &err);
			break;
		}
		if (r != 0) {
			rc = bad_record(&out, logpath, rec.offset, &err);
			break;
		}
	printed:
		if (fmt != OUT_MSGPACK)
			ev_buf_putc(&out.buf, '\n');
		printed++;
		last_printed = out.printed = rec.offset + 1;
		if (out.buf.len >= (1u << 20)) {
			out_flush(&out);
			if (out.failed)
				break;
		}
	}
	out_flush(&out);
	if (out.failed && rc == 0) {
		if (errno != EPIPE)
			fe_warn("cannot write output: %s", strerror(errno));
		rc = errno == EPIPE ? 0 : 74;
	}
	if (grp != NULL && !out.failed) {
		/* at exit: everything handled so far; not a record that
		 * failed, which stays for the next run */
		if (pending_off != UINT64_MAX && rc == 0)
			scanned = pending_off + 1;
		/* a new group that read nothing commits its start, so that
		 * its next run does not start over (as a cursor file) */
		if ((scanned != committed || !ev_group_get(grp)->exists) &&
		    group_commit(grp, &out, scanned, &committed,
				 &last_commit) != 0 &&
		    rc == 0)
			rc = 74;
	}
	if (cursor_file != NULL) {
		memcpy(cur.log_id, ev_reader_log_id(rd), 33);
		/* after a broken pipe, only what was written out in full */
		cur.next = out.failed ? out.written : last_printed;
		if (ev_cursor_store(cursor_file, &cur, &err) != 0 && rc == 0)
			rc = fe_report(&err);
	}
out:
	if (ino >= 0)
		close(ino);
	ev_group_close(grp);
	ev_reader_free(rd);
	ev_log_close(log);
	ev_buf_free(&out.buf);
	ev_buf_free(&pl.b);
	return rc;
}
