/*
 * evproject - fold the events of an evlog log into aggregates: counts,
 * sums, bounds, averages, distinct counts, first and last values, by
 * key and by time bucket.  See evproject(1).
 *
 * The folds are the library's (struct ev_fold), and so are the rows
 * they print (struct ev_rows) and the delivery of the selected events
 * (the scan and the consumer); this file reads the options, builds the
 * engine, runs the scan into it, prints, and reports.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evlog.h"
#include "fe.h"
#include "feselect.h"

static const char usage_short[] =
	"Usage: evproject [options] FOLD... [--by PATH]... [--every DURATION] "
	"LOG\n";

static const char usage_long[] =
	"Fold the events of an evlog log into aggregates, one row per group.\n"
	"\n"
	"Options:\n"
	"      --avg PATH          the average of the numbers at PATH\n"
	"      --by PATH           group by the value at PATH; may be repeated,\n"
	"                          or a list: --by stream,type\n"
	"      --category NAME     only streams NAME and NAME-*; may be repeated\n"
	"      --count             the number of events\n"
	"      --distinct PATH     the number of distinct values at PATH (exact)\n"
	"      --dlq DLQLOG        with --on-error dlq, where events that cannot\n"
	"                          be upcast go (created if missing)\n"
	"      --every DURATION    group by time buckets of DURATION (30s, 5m,\n"
	"                          1h, 1d), UTC; the column every(DURATION)\n"
	"                          holds each bucket's start\n"
	"      --first PATH        the value at PATH in the first event\n"
	"      --from POS          start at OFFSET, start, end or @TIME\n"
	"  -h, --help              show this help and exit\n"
	"      --last PATH         the value at PATH in the last event\n"
	"      --last-event        the whole last event\n"
	"      --limit N           print only the first N rows\n"
	"      --max PATH          the largest number (or string) at PATH\n"
	"      --min PATH          the smallest number (or string) at PATH\n"
	"  -o, --output FORMAT     table (default on a terminal), ndjson\n"
	"                          (default otherwise), json, csv or tsv\n"
	"      --on-error ACTION   an event --upcast cannot upcast: stop\n"
	"                          (default, exit 65), skip, or dlq (to --dlq)\n"
	"      --since TIME        only events at or after TIME\n"
	"      --sort KEYS         order rows by columns, COL[,-COL]... ('-'\n"
	"                          descending); default: the --by columns\n"
	"      --stream GLOB       only streams matching GLOB; may be repeated;\n"
	"                          one exact name is read through the stream\n"
	"                          index, without scanning the log\n"
	"      --stream-exact NAME only stream NAME, even one with *, ? or [\n"
	"                          in it; may be repeated\n"
	"      --strict            a value of the wrong type is an error (exit\n"
	"                          65), not only counted\n"
	"      --sum PATH          the sum of the numbers at PATH\n"
	"      --to POS            stop after OFFSET, or before the first event\n"
	"                          later than @TIME\n"
	"      --type GLOB         only types matching GLOB; may be repeated\n"
	"      --until TIME        only events at or before TIME\n"
	"      --upcast PATH       bring events of older schema versions up to\n"
	"                          date with the upcasters in PATH (a file or a\n"
	"                          directory) before any filter or fold\n"
	"  -V, --version           show versions and exit\n"
	"      --where EXPR        only events where EXPR holds (evtail(1)\n"
	"                          Filter expressions); may be repeated\n"
	"\n"
	"A PATH is an envelope field (type, stream, time, ...) or a path in\n"
	"data or meta, as --where takes it: data.amount, meta.userId.\n"
	"TIME is RFC 3339, a date (2025-01-10), 'now', or relative (-1h, -30m).\n"
	"Exit status: 0 success, 1 runtime failure, 64 usage, a bad PATH or a\n"
	"bad upcaster set, 65 damaged data, an integer sum past 64 bits, a\n"
	"value of the wrong type with --strict, or an event that cannot be\n"
	"upcast, 66 missing log or upcaster set, 74 I/O error.\n"
	"See evproject(1).\n";

enum {
	OPT_AVG = 256,
	OPT_BY,
	OPT_COUNT,
	OPT_DISTINCT,
	OPT_EVERY,
	OPT_FIRST,
	OPT_LAST,
	OPT_LAST_EVENT,
	OPT_LIMIT,
	OPT_MAX,
	OPT_MIN,
	OPT_SORT,
	OPT_STRICT,
	OPT_SUM,
};

static const struct option longopts[] = {
	{"avg", required_argument, NULL, OPT_AVG},
	{"by", required_argument, NULL, OPT_BY},
	{"category", required_argument, NULL, FE_OPT_CATEGORY},
	{"count", no_argument, NULL, OPT_COUNT},
	{"distinct", required_argument, NULL, OPT_DISTINCT},
	{"dlq", required_argument, NULL, FE_OPT_DLQ},
	{"every", required_argument, NULL, OPT_EVERY},
	{"first", required_argument, NULL, OPT_FIRST},
	{"from", required_argument, NULL, FE_OPT_FROM},
	{"help", no_argument, NULL, 'h'},
	{"last", required_argument, NULL, OPT_LAST},
	{"last-event", no_argument, NULL, OPT_LAST_EVENT},
	{"limit", required_argument, NULL, OPT_LIMIT},
	{"max", required_argument, NULL, OPT_MAX},
	{"min", required_argument, NULL, OPT_MIN},
	{"on-error", required_argument, NULL, FE_OPT_ON_ERROR},
	{"output", required_argument, NULL, 'o'},
	{"since", required_argument, NULL, FE_OPT_SINCE},
	{"sort", required_argument, NULL, OPT_SORT},
	{"stream", required_argument, NULL, FE_OPT_STREAM},
	{"stream-exact", required_argument, NULL, FE_OPT_STREAM_EXACT},
	{"strict", no_argument, NULL, OPT_STRICT},
	{"sum", required_argument, NULL, OPT_SUM},
	{"to", required_argument, NULL, FE_OPT_TO},
	{"type", required_argument, NULL, FE_OPT_TYPE},
	{"until", required_argument, NULL, FE_OPT_UNTIL},
	{"upcast", required_argument, NULL, FE_OPT_UPCAST},
	{"version", no_argument, NULL, 'V'},
	{"where", required_argument, NULL, FE_OPT_WHERE},
	{NULL, 0, NULL, 0},
};

/* What the command line asks for. */
struct opts {
	struct fe_select sel;
	struct fe_exec exec;
	struct ev_consumer_opts con;
	struct ev_fold *fold;
	enum ev_rows_format fmt;
	const char *logpath, *sort;
	uint64_t limit;
	int out_set, has_limit, strict;
};

/* What runs: the engine the events go into, and the rows it makes. */
struct engine {
	struct ev_fold *fold; /* borrowed from the options */
	struct ev_rows *rows;
};

static int fold_option(struct opts *o, int c, const char *arg)
{
	static const struct {
		int opt;
		enum ev_fold_kind kind;
		const char *name;
	} folds[] = {
		{OPT_AVG, EV_FOLD_AVG, "--avg"},
		{OPT_COUNT, EV_FOLD_COUNT, "--count"},
		{OPT_DISTINCT, EV_FOLD_DISTINCT, "--distinct"},
		{OPT_FIRST, EV_FOLD_FIRST, "--first"},
		{OPT_LAST, EV_FOLD_LAST, "--last"},
		{OPT_LAST_EVENT, EV_FOLD_LAST_EVENT, "--last-event"},
		{OPT_MAX, EV_FOLD_MAX, "--max"},
		{OPT_MIN, EV_FOLD_MIN, "--min"},
		{OPT_SUM, EV_FOLD_SUM, "--sum"},
	};
	struct ev_error err;
	size_t i;
	int r;

	ev_error_clear(&err);
	if (c == OPT_BY)
		r = ev_fold_by(o->fold, arg, &err);
	else if (c == OPT_EVERY)
		r = ev_fold_every(o->fold, arg, &err);
	else {
		for (i = 0; folds[i].opt != c; i++)
			;
		r = ev_fold_add(o->fold, folds[i].kind, arg, &err);
	}
	if (r == EV_EUSAGE) {
		const char *name = c == OPT_BY	    ? "--by"
				   : c == OPT_EVERY ? "--every"
						    : NULL;
		for (i = 0; name == NULL; i++)
			if (folds[i].opt == c)
				name = folds[i].name;
		return fe_usage_error(usage_short, "%s: %s", name, err.msg);
	}
	return r != 0 ? fe_oom() : 0;
}

/* -1 to go on, or an exit status. */
static int parse_options(int argc, char **argv, struct opts *o)
{
	int c, r;

	while ((c = getopt_long(argc, argv, "ho:V", longopts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fe_help(usage_short, usage_long);
			return EV_EXIT_OK;
		case 'V':
			fe_version();
			return EV_EXIT_OK;
		case OPT_AVG:
		case OPT_BY:
		case OPT_COUNT:
		case OPT_DISTINCT:
		case OPT_EVERY:
		case OPT_FIRST:
		case OPT_LAST:
		case OPT_LAST_EVENT:
		case OPT_MAX:
		case OPT_MIN:
		case OPT_SUM:
			r = fold_option(o, c, optarg);
			break;
		case OPT_LIMIT:
			if (fe_parse_u64(optarg, &o->limit) != 0)
				return fe_usage_error(usage_short,
						      "--limit: '%s' is not a "
						      "number",
						      optarg);
			o->has_limit = 1;
			continue;
		case 'o':
			if (ev_rows_format_parse(optarg, &o->fmt) != 0)
				return fe_usage_error(usage_short,
						      "--output: '%s' is not "
						      "table, json, ndjson, "
						      "csv or tsv",
						      optarg);
			o->out_set = 1;
			continue;
		case OPT_SORT:
			o->sort = optarg;
			continue;
		case OPT_STRICT:
			o->strict = 1;
			continue;
		case '?':
		case ':':
			return fe_usage_error(usage_short, NULL);
		default:
			if ((r = fe_select_option(&o->sel, c, optarg)) == -1 &&
			    (r = fe_exec_option(&o->exec, c, optarg)) == -1)
				return fe_usage_error(usage_short, NULL);
			break;
		}
		if (r != 0)
			return r;
	}
	if (optind >= argc)
		return fe_usage_error(usage_short, "missing LOG operand");
	if (optind + 1 < argc)
		return fe_usage_error(usage_short, "unexpected operand '%s'",
				      argv[optind + 1]);
	o->logpath = argv[optind];
	return -1;
}

/* The options together: -1 to go on, or an exit status. */
static int validate(struct opts *o)
{
	int r;

	if (ev_fold_ncolumns(o->fold) == ev_fold_nkeys(o->fold))
		return fe_usage_error(usage_short,
				      "no fold: give --count, --sum PATH, "
				      "--min PATH, --max PATH, --avg PATH, "
				      "--distinct PATH, --first PATH, --last "
				      "PATH or --last-event");
	if ((r = fe_upcast_check(&o->sel, &o->exec)) != -1)
		return r;
	/* --dlq is the only option of the --exec group evproject takes */
	if (o->exec.dlq != NULL && !o->exec.upcast_dlq)
		return fe_usage_error(usage_short,
				      "--dlq needs --upcast and --on-error "
				      "dlq");
	if ((r = fe_select_finish(&o->sel)) != -1)
		return r;
	if (!o->out_set)
		o->fmt = isatty(STDOUT_FILENO) ? EV_ROWS_TABLE : EV_ROWS_NDJSON;
	ev_fold_set_strict(o->fold, o->strict);
	return -1;
}

/* The engine the options describe, and its rows: 0, or an exit status. */
static int build_engine(struct opts *o, struct engine *e)
{
	size_t n = ev_fold_ncolumns(o->fold), i;
	const char **cols = calloc(n + 1, sizeof(*cols));
	struct ev_error err;
	int r;

	if (cols == NULL)
		return fe_oom();
	for (i = 0; i < n; i++)
		cols[i] = ev_fold_column(o->fold, i);
	e->fold = o->fold;
	r = ev_rows_new(&e->rows, cols, n, ev_fold_nkeys(o->fold), &err);
	free(cols);
	if (r != 0)
		return fe_report(&err);
	if ((r = ev_rows_set_sort(e->rows, o->sort, &err)) != 0)
		return r == EV_EUSAGE ? fe_usage_error(usage_short,
						       "--sort: %s", err.msg)
				      : fe_report(&err);
	return 0;
}

/* Run the selected events of the log into the engine: 0, or an exit
 * status after the message. */
static int run_scan(struct opts *o, struct engine *e)
{
	struct fe_input in;
	struct ev_scan *scan = NULL;
	struct ev_consumer *con = NULL;
	struct ev_scan_opts *so = &o->sel.scan;
	volatile sig_atomic_t never = 0; /* only the end stops the scan */
	struct ev_error err;
	int rc, r;

	memset(&in, 0, sizeof(in));
	if ((rc = fe_upcast_load(&o->sel)) != 0)
		return rc;
	in.path = o->logpath;
	in.dlq = o->exec.upcast_dlq ? o->exec.dlq : NULL;
	if ((rc = fe_input_open(&in, usage_short)) != 0)
		goto out;
	if ((rc = fe_upcast_dlq(&o->sel, in.dlqlog, o->logpath,
				ev_reader_log_id(in.rd), NULL)) != 0)
		goto out;
	fe_select_explain(&o->sel, in.log, o->logpath);
	fe_select_scan(&o->sel, o->logpath);
	so->decode = 0; /* the folds read the stored records */
	if ((r = ev_scan_open(&scan, in.log, in.rd, so, &err)) != 0) {
		rc = fe_report(&err);
		goto out;
	}
	o->con.scan = scan;
	o->con.sink = ev_fold_sink;
	o->con.flush = ev_fold_sink_flush;
	o->con.sink_ctx = e->fold;
	o->con.log = in.log;
	o->con.log_name = o->logpath;
	o->con.notice = fe_notice;
	if ((r = ev_consumer_new(&con, &o->con, &err)) == 0)
		r = ev_consumer_run(con, &never, &err);
	rc = r != 0 ? fe_report(&err) : 0;
	rc = fe_upcast_end(&o->sel, scan, rc);
out:
	ev_consumer_free(con);
	ev_scan_free(scan);
	fe_input_close(&in);
	return rc;
}

/* The values a fold skipped for their type, and paths never seen. */
static void report_skipped(const struct opts *o)
{
	struct ev_fold_issue is;
	const char *path;
	char b[32];
	size_t i;

	for (i = 0; ev_fold_issue(o->fold, i, &is); i++)
		fe_warn("%s value%s of %s %s not %s (first at offset %llu); "
			"--strict makes this an error",
			ev_commas(is.count, b), is.count == 1 ? "" : "s",
			is.path, is.count == 1 ? "was" : "were",
			is.count == 1 ? is.what_one : is.what,
			(unsigned long long)is.first_offset);
	for (i = 0; ev_fold_unseen(o->fold, i, &path); i++)
		fe_warn("no event selected has a value at %s", path);
}

/* Print the rows: an exit status. */
static int print_rows(struct opts *o, struct engine *e)
{
	struct ev_buf out = {0};
	struct ev_error err;
	size_t at = 0;
	ssize_t w;
	int r, rc = 0;

	if ((r = ev_fold_rows(e->fold, e->rows, &err)) != 0 ||
	    (r = ev_rows_sort(e->rows, &err)) != 0)
		return fe_report(&err);
	if (o->has_limit)
		ev_rows_limit(e->rows, o->limit);
	if ((r = ev_rows_write(e->rows, o->fmt, &out, &err)) != 0) {
		ev_buf_free(&out);
		return fe_report(&err);
	}
	while (at < out.len) {
		w = write(STDOUT_FILENO, out.p + at, out.len - at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			/* the reader went away: a normal end */
			if (errno != EPIPE) {
				fe_warn("cannot write output: %s",
					strerror(errno));
				rc = EV_EXIT_IO;
			}
			break;
		}
		at += (size_t)w;
	}
	ev_buf_free(&out);
	return rc;
}

/* Build, scan, report and print: an exit status. */
static int run(struct opts *o, struct engine *e)
{
	int rc;

	if ((rc = build_engine(o, e)) != 0 || (rc = run_scan(o, e)) != 0)
		return rc;
	report_skipped(o);
	return print_rows(o, e);
}

int main(int argc, char **argv)
{
	struct opts o;
	struct engine e;
	struct ev_error err;
	int rc;

	fe_init(argv);
	signal(SIGPIPE, SIG_IGN);
	memset(&o, 0, sizeof(o));
	memset(&e, 0, sizeof(e));
	ev_consumer_opts_init(&o.con);
	fe_exec_init(&o.exec, usage_short, &o.con);
	if ((rc = fe_select_init(&o.sel, usage_short)) != 0)
		return rc;
	if (ev_fold_new(&o.fold, &err) != 0) {
		fe_select_free(&o.sel);
		return fe_oom();
	}
	rc = parse_options(argc, argv, &o);
	if (rc == -1)
		rc = validate(&o);
	if (rc == -1)
		rc = run(&o, &e);
	ev_rows_free(e.rows);
	ev_fold_free(o.fold);
	fe_select_free(&o.sel);
	return rc;
}
