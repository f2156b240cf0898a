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
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "evlog.h"
#include "fe.h"
#include "fekdlq.h"
#include "feselect.h"

static const char usage_short[] =
	"Usage: evproject [options] FOLD... [--by PATH]... [--every DURATION] "
	"LOG\n"
	"       evproject [options] -p FILE.lua [--global] [--partition KEY] "
	"LOG\n"
	"       evproject --status [--name NAME] [--state-dir DIR] LOG\n"
	"       evproject --test DIR [-p FILE.lua]\n"
	"       evproject --sqlite DB --name NAME (--diff | --swap)\n";

static const char usage_long[] =
	"Fold the events of an evlog log into aggregates, one row per group,\n"
	"or into the states of a Lua projection, one per partition; with\n"
	"--name, incrementally from a checkpoint, run after run.  LOG may be\n"
	"a Kafka topic: kafka://HOST:PORT[,HOST:PORT...]/TOPIC.\n"
	"\n"
	"Options:\n"
	"      --avg PATH          the average of the numbers at PATH\n"
	"      --by PATH           group by the value at PATH; may be repeated,\n"
	"                          or a list: --by stream,type\n"
	"      --category NAME     only streams NAME and NAME-*; may be repeated\n"
	"      --checkpoint-every DURATION\n"
	"                          with -f and --name, save the checkpoint at\n"
	"                          least this often (5s)\n"
	"      --count             the number of events\n"
	"      --distinct PATH     the number of distinct values at PATH (exact)\n"
	"      --diff              with --sqlite, print what the shadow read\n"
	"                          model would change in the live one\n"
	"      --dlq DLQLOG        with --on-error dlq, where events that cannot\n"
	"                          be upcast or folded go (created if missing);\n"
	"                          a kafka:// topic too, for a kafka log\n"
	"      --emit-to LOG2      append the events a Lua projection emits to\n"
	"                          LOG2 (created if missing)\n"
	"      --every DURATION    group by time buckets of DURATION (30s, 5m,\n"
	"                          1h, 1d), UTC; the column every(DURATION)\n"
	"                          holds each bucket's start\n"
	"      --first PATH        the value at PATH in the first event\n"
	"  -f, --follow            go on folding new events until SIGINT or\n"
	"                          SIGTERM, which save and exit 0\n"
	"      --from POS          start at OFFSET, start, end or @TIME; on a\n"
	"                          kafka log PARTITION:OFFSET (repeatable)\n"
	"      --global            one state for all events (a projection\n"
	"                          without partition_by)\n"
	"  -h, --help              show this help and exit\n"
	"      --kafka-config FILE librdkafka properties from FILE, as kcat\n"
	"                          reads them, for a kafka:// LOG\n"
	"      --kafka-timeout DURATION  give up on an unreachable kafka\n"
	"                          cluster after DURATION (10s)\n"
	"      --last PATH         the value at PATH in the last event\n"
	"      --last-event        the whole last event\n"
	"      --limit N           print only the first N rows\n"
	"      --max PATH          the largest number (or string) at PATH\n"
	"      --min PATH          the smallest number (or string) at PATH\n"
	"      --name NAME         keep the projection's checkpoint as NAME and\n"
	"                          fold only the events after it\n"
	"  -o, --output FORMAT     table (default on a terminal), ndjson\n"
	"                          (default otherwise), json, csv or tsv\n"
	"      --on-error ACTION   an event that cannot be upcast, or that the\n"
	"                          projection fails on: stop (default, exit\n"
	"                          65), skip, or dlq (to --dlq)\n"
	"  -p, --projection FILE   fold with the Lua projection in FILE\n"
	"      --partition KEY     print the state of partition KEY only\n"
	"      --reason TEXT       with --skip, why the event is passed over\n"
	"      --rebuild           fold from the start again, with fresh states\n"
	"                          (the definition may have changed)\n"
	"      --retry-dlq DLQ     with -p and --name, apply the projection's\n"
	"                          open dead letters in DLQ to its state again\n"
	"      --shadow            with --rebuild and --sqlite DB, build into\n"
	"                          DB.shadow while DB keeps serving\n"
	"      --skip OFFSET       with --name, pass over the event at OFFSET\n"
	"                          for good (recorded in the checkpoint); on\n"
	"                          a kafka log PARTITION:OFFSET (repeatable)\n"
	"      --since TIME        only events at or after TIME\n"
	"      --sort KEYS         order rows by columns, COL[,-COL]... ('-'\n"
	"                          descending); default: the --by columns\n"
	"      --sqlite DB         write the states as rows of a table of the\n"
	"                          SQLite database DB, the checkpoint with them\n"
	"      --state-dir DIR     keep checkpoints in DIR, not in the log\n"
	"                          (needed with --name on a kafka log)\n"
	"      --status            list the projections' checkpoints\n"
	"      --stream GLOB       only streams matching GLOB; may be repeated;\n"
	"                          one exact name is read through the stream\n"
	"                          index, without scanning the log\n"
	"      --stream-exact NAME only stream NAME, even one with *, ? or [\n"
	"                          in it; may be repeated\n"
	"      --strict            a value of the wrong type is an error (exit\n"
	"                          65), not only counted\n"
	"      --sum PATH          the sum of the numbers at PATH\n"
	"      --swap              with --sqlite DB, replace DB by DB.shadow\n"
	"      --table NAME        the read model's table (default: the name)\n"
	"      --test DIR          run the given/expect cases in DIR, as TAP\n"
	"      --to POS            stop after OFFSET, or before the first event\n"
	"                          later than @TIME\n"
	"      --type GLOB         only types matching GLOB; may be repeated\n"
	"      --until TIME        only events at or before TIME\n"
	"      --upcast PATH       bring events of older schema versions up to\n"
	"                          date with the upcasters in PATH (a file or a\n"
	"                          directory) before any filter or fold\n"
	"  -V, --version           show versions and exit\n"
	"      --wait              wait for another run of the projection, or\n"
	"                          for another writer of the database\n"
	"      --where EXPR        only events where EXPR holds (evtail(1)\n"
	"                          Filter expressions); may be repeated\n"
	"  -X PROPERTY=VALUE       a librdkafka property for a kafka:// LOG;\n"
	"                          may be repeated\n"
	"\n"
	"A PATH is an envelope field (type, stream, time, ...) or a path in\n"
	"data or meta, as --where takes it: data.amount, meta.userId.\n"
	"TIME is RFC 3339, a date (2025-01-10), 'now', or relative (-1h, -30m).\n"
	"Exit status: 0 success (--test: every case passed), 1 runtime\n"
	"failure, a failed case, or no such --partition, 64 usage, a bad PATH,\n"
	"upcaster set or projection, 65 damaged data, an integer sum past 64\n"
	"bits, a value of the wrong type with --strict, an event that cannot\n"
	"be upcast or that the projection fails on, a checkpoint of another\n"
	"log or definition, 66 missing log or file, 74 I/O error, 75 the\n"
	"projection or its database is in use by another run.\n"
	"See evproject(1).\n";

enum {
	OPT_AVG = 256,
	OPT_BY,
	OPT_CHECKPOINT_EVERY,
	OPT_COUNT,
	OPT_DIFF,
	OPT_EMIT_TO,
	OPT_GLOBAL,
	OPT_KAFKA_CONFIG,
	OPT_KAFKA_TIMEOUT,
	OPT_NAME,
	OPT_PARTITION,
	OPT_REASON,
	OPT_REBUILD,
	OPT_RETRY_DLQ,
	OPT_SHADOW,
	OPT_SKIP,
	OPT_SQLITE,
	OPT_STATE_DIR,
	OPT_STATUS,
	OPT_SWAP,
	OPT_TABLE,
	OPT_TEST,
	OPT_WAIT,
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
	{"checkpoint-every", required_argument, NULL, OPT_CHECKPOINT_EVERY},
	{"count", no_argument, NULL, OPT_COUNT},
	{"diff", no_argument, NULL, OPT_DIFF},
	{"distinct", required_argument, NULL, OPT_DISTINCT},
	{"dlq", required_argument, NULL, FE_OPT_DLQ},
	{"emit-to", required_argument, NULL, OPT_EMIT_TO},
	{"every", required_argument, NULL, OPT_EVERY},
	{"first", required_argument, NULL, OPT_FIRST},
	{"follow", no_argument, NULL, 'f'},
	{"from", required_argument, NULL, FE_OPT_FROM},
	{"global", no_argument, NULL, OPT_GLOBAL},
	{"help", no_argument, NULL, 'h'},
	{"kafka-config", required_argument, NULL, OPT_KAFKA_CONFIG},
	{"kafka-timeout", required_argument, NULL, OPT_KAFKA_TIMEOUT},
	{"last", required_argument, NULL, OPT_LAST},
	{"last-event", no_argument, NULL, OPT_LAST_EVENT},
	{"limit", required_argument, NULL, OPT_LIMIT},
	{"max", required_argument, NULL, OPT_MAX},
	{"min", required_argument, NULL, OPT_MIN},
	{"name", required_argument, NULL, OPT_NAME},
	{"on-error", required_argument, NULL, FE_OPT_ON_ERROR},
	{"output", required_argument, NULL, 'o'},
	{"partition", required_argument, NULL, OPT_PARTITION},
	{"projection", required_argument, NULL, 'p'},
	{"reason", required_argument, NULL, OPT_REASON},
	{"rebuild", no_argument, NULL, OPT_REBUILD},
	{"retry-dlq", required_argument, NULL, OPT_RETRY_DLQ},
	{"shadow", no_argument, NULL, OPT_SHADOW},
	{"since", required_argument, NULL, FE_OPT_SINCE},
	{"skip", required_argument, NULL, OPT_SKIP},
	{"sort", required_argument, NULL, OPT_SORT},
	{"sqlite", required_argument, NULL, OPT_SQLITE},
	{"state-dir", required_argument, NULL, OPT_STATE_DIR},
	{"status", no_argument, NULL, OPT_STATUS},
	{"stream", required_argument, NULL, FE_OPT_STREAM},
	{"stream-exact", required_argument, NULL, FE_OPT_STREAM_EXACT},
	{"strict", no_argument, NULL, OPT_STRICT},
	{"sum", required_argument, NULL, OPT_SUM},
	{"swap", no_argument, NULL, OPT_SWAP},
	{"table", required_argument, NULL, OPT_TABLE},
	{"test", required_argument, NULL, OPT_TEST},
	{"to", required_argument, NULL, FE_OPT_TO},
	{"type", required_argument, NULL, FE_OPT_TYPE},
	{"until", required_argument, NULL, FE_OPT_UNTIL},
	{"upcast", required_argument, NULL, FE_OPT_UPCAST},
	{"version", no_argument, NULL, 'V'},
	{"wait", no_argument, NULL, OPT_WAIT},
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
	int nfolds; /* fold and grouping options given */
	/* Lua projections, checkpoints and read models */
	const char *lua, *partition, *test_dir;
	int global, status, diff, swap;
	struct ev_projector_opts pj;
	int64_t checkpoint_ms;
	int checkpoint_set, wait, skip_given;
	const char *skip_arg, *emit_path, *retry_dlq;
	/* a kafka:// LOG: -X and --kafka-config, --kafka-timeout, --from
	 * per partition; kafka_opt: the first kafka option given */
	int kafka;
	struct ev_kafka_addr addr;
	struct ev_kafka_props kprops;
	int64_t kafka_timeout_ms;
	const char *kafka_opt;
	struct ev_kafka_from *kfrom;
	size_t nkfrom;
	struct ev_kafka_from *kskips; /* --skip PARTITION:OFFSET... */
	size_t nkskips;
};

/* What runs: the engine the events go into, and the rows it makes. */
struct engine {
	struct ev_fold *fold; /* borrowed from the options */
	struct ev_projection *lua;
	struct ev_proj_engine pe;
	struct ev_rows *rows;
	struct ev_upcast_dlq *dlq; /* projection failures, --on-error dlq */
	uint64_t warned;
	const char *fate; /* of a failed event, for warn_failed() */
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

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

/* Is the LOG operand a kafka log?  The options are parsed once,
 * quietly, to find it: it changes what --from takes. */
static int kafka_operand(int argc, char **argv)
{
	int save = opterr, r;

	opterr = 0;
	optind = 0;
	while (getopt_long(argc, argv, "fho:p:VX:", longopts, NULL) != -1)
		;
	r = optind < argc && ev_kafka_is_addr(argv[optind]);
	opterr = save;
	optind = 0; /* parse again, from the start */
	return r;
}

/* -X, --kafka-config, --kafka-timeout, and --from on a kafka LOG: 0,
 * or an exit status. */
static int kafka_option(struct opts *o, int c, const char *arg)
{
	struct ev_kafka_from *nf;
	struct ev_error err;

	switch (c) {
	case 'X':
		o->kafka_opt = o->kafka_opt ? o->kafka_opt : "-X";
		if (ev_kafka_props_add(&o->kprops, arg, &err) != 0)
			return err.code == EV_EUSAGE
				       ? fe_usage_error(usage_short, "%s",
							err.msg)
				       : fe_oom();
		return 0;
	case OPT_KAFKA_CONFIG:
		o->kafka_opt = o->kafka_opt ? o->kafka_opt : "--kafka-config";
		if (ev_kafka_props_load(&o->kprops, arg, &err) != 0)
			return err.code == EV_EUSAGE
				       ? fe_usage_error(usage_short,
							"--kafka-config: %s",
							err.msg)
				       : fe_reportf(&err, "--kafka-config");
		return 0;
	case OPT_KAFKA_TIMEOUT:
		o->kafka_opt = o->kafka_opt ? o->kafka_opt : "--kafka-timeout";
		if (ev_duration_parse(arg, &o->kafka_timeout_ms) != 0 ||
		    o->kafka_timeout_ms <= 0 || o->kafka_timeout_ms > INT32_MAX)
			return fe_usage_error(usage_short,
					      "--kafka-timeout: '%s' is not a "
					      "duration such as 500ms or 10s",
					      arg);
		return 0;
	default: /* --from */
		nf = realloc(o->kfrom, (o->nkfrom + 1) * sizeof(*nf));
		if (nf == NULL)
			return fe_oom();
		o->kfrom = nf;
		if (ev_kafka_from_parse(arg, &o->kfrom[o->nkfrom], &err) != 0)
			return fe_usage_error(usage_short, "%s", err.msg);
		o->nkfrom++;
		return 0;
	}
}

/* --skip PARTITION:OFFSET on a kafka LOG, which may be repeated: 0, or
 * an exit status. */
static int kafka_skip(struct opts *o, const char *arg)
{
	struct ev_kafka_from *nk;

	nk = realloc(o->kskips, (o->nkskips + 1) * sizeof(*nk));
	if (nk == NULL)
		return fe_oom();
	o->kskips = nk;
	if (!ev_kafka_to_parse(arg, &o->kskips[o->nkskips]))
		return fe_usage_error(usage_short,
				      "--skip: '%s' is not PARTITION:OFFSET: a "
				      "kafka log has an offset per partition\n"
				      "%s: give the event's partition and "
				      "offset, as a failure's hint does: "
				      "--skip 0:17",
				      arg, fe_progname);
	o->nkskips++;
	o->pj.kskips = o->kskips;
	o->pj.nkskips = o->nkskips;
	return 0;
}

/* -1 to go on, or an exit status. */
static int parse_options(int argc, char **argv, struct opts *o)
{
	int c, r;

	while ((c = getopt_long(argc, argv, "fho:p:VX:", longopts, NULL)) !=
	       -1) {
		if (c == 'X' || c == OPT_KAFKA_CONFIG ||
		    c == OPT_KAFKA_TIMEOUT || (c == FE_OPT_FROM && o->kafka)) {
			if ((r = kafka_option(o, c, optarg)) != 0)
				return r;
			continue;
		}
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
			o->nfolds++;
			r = fold_option(o, c, optarg);
			break;
		case 'f':
			o->pj.follow = 1;
			continue;
		case 'p':
			o->lua = optarg;
			continue;
		case OPT_CHECKPOINT_EVERY:
			if (ev_duration_parse(optarg, &o->checkpoint_ms) != 0 ||
			    o->checkpoint_ms <= 0)
				return fe_usage_error(
					usage_short,
					"--checkpoint-every: '%s' "
					"is not a duration such "
					"as 500ms or 5s",
					optarg);
			o->checkpoint_set = 1;
			continue;
		case OPT_DIFF:
			o->diff = 1;
			continue;
		case OPT_EMIT_TO:
			o->pj.emit_to = NULL;
			o->emit_path = optarg;
			continue;
		case OPT_GLOBAL:
			o->global = 1;
			continue;
		case OPT_NAME:
			o->pj.name = optarg;
			continue;
		case OPT_PARTITION:
			o->partition = optarg;
			continue;
		case OPT_REASON:
			o->pj.skip_reason = optarg;
			continue;
		case OPT_REBUILD:
			o->pj.rebuild = 1;
			continue;
		case OPT_RETRY_DLQ:
			o->retry_dlq = optarg;
			continue;
		case OPT_SHADOW:
			o->pj.shadow = 1;
			continue;
		case OPT_SKIP:
			o->skip_arg = optarg;
			if (o->kafka) {
				if ((r = kafka_skip(o, optarg)) != 0)
					return r;
				continue;
			}
			if (fe_parse_u64(optarg, &o->pj.skip_offset) != 0)
				return fe_usage_error(usage_short,
						      "--skip: '%s' is not an "
						      "offset",
						      optarg);
			o->pj.skip_set = 1;
			continue;
		case OPT_SQLITE:
			o->pj.sqlite = optarg;
			continue;
		case OPT_STATE_DIR:
			o->pj.state_dir = optarg;
			continue;
		case OPT_STATUS:
			o->status = 1;
			continue;
		case OPT_SWAP:
			o->swap = 1;
			continue;
		case OPT_TABLE:
			o->pj.table = optarg;
			continue;
		case OPT_TEST:
			o->test_dir = optarg;
			continue;
		case OPT_WAIT:
			o->wait = 1;
			continue;
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
	if ((o->test_dir != NULL || o->diff || o->swap) && !o->status) {
		if (optind < argc)
			return fe_usage_error(usage_short,
					      "unexpected operand '%s'",
					      argv[optind]);
		return -1;
	}
	if (optind >= argc)
		return fe_usage_error(usage_short, "missing LOG operand");
	if (optind + 1 < argc)
		return fe_usage_error(usage_short, "unexpected operand '%s'",
				      argv[optind + 1]);
	o->logpath = argv[optind];
	return -1;
}

/* A kafka LOG: -1 to go on, or an exit status.  Its checkpoint holds an
 * offset per partition, in --state-dir (a topic has no log directory);
 * what needs one position in the log is refused, never ignored. */
static int validate_kafka(struct opts *o)
{
	const struct ev_projector_opts *pj = &o->pj;
	struct ev_error err;

	if (!o->kafka || o->logpath == NULL) {
		if (o->kafka_opt != NULL)
			return fe_usage_error(usage_short,
					      "%s needs a kafka://HOST:PORT/"
					      "TOPIC LOG",
					      o->kafka_opt);
		return -1;
	}
	if (ev_kafka_addr_parse(o->logpath, &o->addr, &err) != 0)
		return fe_usage_error(usage_short, "%s", err.msg);
	if (o->retry_dlq != NULL)
		return fe_usage_error(usage_short,
				      "--retry-dlq: not on a kafka log yet "
				      "(evproject(1) KAFKA)");
	if ((pj->name != NULL || o->status) && pj->state_dir == NULL)
		return fe_usage_error(usage_short,
				      "%s on a kafka log needs --state-dir "
				      "DIR: a topic has no log directory to "
				      "keep the checkpoint in",
				      o->status ? "--status" : "--name");
	if (o->sel.scan.to.kind == EV_POS_OFFSET)
		return fe_usage_error(usage_short,
				      "--to: a kafka log has no single offset "
				      "to stop at: --to takes @TIME there");
	return -1;
}

/* The options together: -1 to go on, or an exit status. */
static int validate(struct opts *o)
{
	struct ev_projector_opts *pj = &o->pj;
	int skip = pj->skip_set || o->nkskips > 0; /* --skip, once or more */
	int r;

	if (!o->out_set)
		o->fmt = isatty(STDOUT_FILENO) ? EV_ROWS_TABLE : EV_ROWS_NDJSON;
	if ((r = validate_kafka(o)) != -1)
		return r;
	if ((o->test_dir != NULL) + o->status + o->diff + o->swap > 1)
		return fe_usage_error(usage_short,
				      "--test, --status, --diff and --swap "
				      "go one at a time");
	if (o->diff || o->swap) {
		if (pj->sqlite == NULL)
			return fe_usage_error(usage_short,
					      "--%s needs --sqlite DB",
					      o->diff ? "diff" : "swap");
		if (pj->table == NULL && pj->name == NULL)
			return fe_usage_error(usage_short,
					      "--%s needs --name or --table",
					      o->diff ? "diff" : "swap");
		return -1;
	}
	if (o->test_dir != NULL) {
		if (o->nfolds > 0 || pj->name != NULL || pj->sqlite != NULL)
			return fe_usage_error(
				usage_short, "--test takes the projection of "
					     "each case (projection.lua, args) "
					     "or -p FILE, and nothing else");
		return -1;
	}
	if (o->status) {
		if (o->nfolds > 0 || o->lua != NULL)
			return fe_usage_error(usage_short,
					      "--status lists checkpoints: it "
					      "takes no projection");
		return -1;
	}
	if (o->lua != NULL && o->nfolds > 0)
		return fe_usage_error(usage_short,
				      "-p and the fold options do not go "
				      "together");
	if (o->lua == NULL &&
	    ev_fold_ncolumns(o->fold) == ev_fold_nkeys(o->fold))
		return fe_usage_error(usage_short,
				      "no fold: give --count, --sum PATH, "
				      "--min PATH, --max PATH, --avg PATH, "
				      "--distinct PATH, --first PATH, --last "
				      "PATH or --last-event, or -p FILE.lua");
	if (o->lua == NULL && (o->global || o->partition != NULL ||
			       o->emit_path != NULL || pj->sqlite != NULL))
		return fe_usage_error(usage_short, "%s needs -p FILE.lua",
				      o->global		     ? "--global"
				      : o->partition != NULL ? "--partition"
				      : o->emit_path != NULL ? "--emit-to"
							     : "--sqlite");
	if (pj->sqlite != NULL && pj->name == NULL)
		return fe_usage_error(usage_short, "--sqlite needs --name");
	if (o->retry_dlq != NULL &&
	    (o->lua == NULL || pj->name == NULL || pj->rebuild || pj->follow ||
	     skip || o->exec.dlq != NULL))
		return fe_usage_error(usage_short,
				      "--retry-dlq needs -p and --name, and "
				      "goes without --rebuild, -f, --skip and "
				      "--dlq");
	if (pj->table != NULL && pj->sqlite == NULL)
		return fe_usage_error(usage_short, "--table needs --sqlite");
	if (pj->shadow && (!pj->rebuild || pj->sqlite == NULL))
		return fe_usage_error(usage_short,
				      "--shadow needs --rebuild and --sqlite");
	if ((skip || pj->rebuild || o->wait) && pj->name == NULL)
		return fe_usage_error(usage_short, "%s needs --name",
				      skip	    ? "--skip"
				      : pj->rebuild ? "--rebuild"
						    : "--wait");
	if (skip != (pj->skip_reason != NULL))
		return fe_usage_error(usage_short,
				      skip ? "--skip needs --reason TEXT"
					   : "--reason needs --skip");
	if (o->checkpoint_set && (!pj->follow || pj->name == NULL))
		return fe_usage_error(usage_short,
				      "--checkpoint-every needs -f and --name");
	if (o->lua != NULL && o->sel.upcast_path == NULL) {
		/* --on-error is the projection's too */
		if (o->sel.on_error == EV_UPCAST_DLQ) {
			if (o->exec.dlq == NULL)
				return fe_usage_error(usage_short,
						      "--on-error=dlq needs "
						      "--dlq DLQLOG");
			o->exec.upcast_dlq = 1;
		}
	} else if ((r = fe_upcast_check(&o->sel, &o->exec)) != -1) {
		return r;
	}
	/* --dlq is the only option of the --exec group evproject takes */
	if (o->exec.dlq != NULL && !o->exec.upcast_dlq)
		return fe_usage_error(usage_short,
				      "--dlq needs --on-error dlq");
	if ((r = fe_select_finish(&o->sel)) != -1)
		return r;
	if (!o->out_set)
		o->fmt = isatty(STDOUT_FILENO) ? EV_ROWS_TABLE : EV_ROWS_NDJSON;
	ev_fold_set_strict(o->fold, o->strict);
	pj->wait = o->wait ? -1 : 0;
	pj->db_wait = o->wait ? -1 : 10;
	pj->checkpoint_ms = o->checkpoint_ms;
	pj->on_error = o->lua != NULL ? o->sel.on_error : EV_UPCAST_STOP;
	return -1;
}

/* The engine the options describe, and its rows: 0, or an exit status. */
static int build_engine(struct opts *o, struct engine *e)
{
	static const char *const lua_cols[] = {"partition", "state"};
	size_t n = ev_fold_ncolumns(o->fold), i;
	const char **cols;
	struct ev_error err;
	int r;

	if (o->lua != NULL) {
		if ((r = ev_projection_load(&e->lua, o->lua, o->pj.name,
					    &err)) != 0)
			return fe_reportf(&err, "-p");
		if (o->global &&
		    (r = ev_projection_set_global(e->lua, 1, &err)) != 0)
			return fe_usage_error(usage_short, "--global: %s",
					      err.msg);
		/* a failed event leaves the states as they were */
		if (o->pj.on_error != EV_UPCAST_STOP)
			ev_projection_set_atomic(e->lua, 1);
		ev_proj_engine_lua(&e->pe, e->lua);
		r = ev_rows_new(&e->rows, lua_cols, 2, 1, &err);
	} else {
		if ((cols = calloc(n + 1, sizeof(*cols))) == NULL)
			return fe_oom();
		for (i = 0; i < n; i++)
			cols[i] = ev_fold_column(o->fold, i);
		e->fold = o->fold;
		ev_proj_engine_fold(&e->pe, o->fold);
		r = ev_rows_new(&e->rows, cols, n, ev_fold_nkeys(o->fold),
				&err);
		free(cols);
	}
	if (r != 0)
		return fe_report(&err);
	if ((r = ev_rows_set_sort(e->rows, o->sort, &err)) != 0)
		return r == EV_EUSAGE ? fe_usage_error(usage_short,
						       "--sort: %s", err.msg)
				      : fe_report(&err);
	return 0;
}

/* A failed event passed over (--on-error skip, or a letter that stays
 * open): the first few said, with what became of them, the rest counted. */
static int warn_failed(void *ctx, const struct ev_rec *rec,
		       const struct ev_error *why, struct ev_error *err)
{
	struct engine *e = ctx;

	(void)rec;
	(void)err;
	if (e->warned++ < 10)
		fe_warn("warning: %s; %s", why->msg, e->fate);
	return 0;
}

/* --emit-to: the log, made when missing: 0, or an exit status. */
static int open_emit(struct opts *o, struct ev_log **emit)
{
	struct ev_log_config cfg;
	struct ev_error err;

	if (o->emit_path == NULL)
		return 0;
	ev_log_config_init(&cfg);
	if (ev_log_open_or_create(emit, o->emit_path, &cfg, &err) != 0)
		return fe_reportf(&err, "--emit-to");
	o->pj.emit_to = *emit;
	return 0;
}

/* DB.shadow, malloc'ed (NULL: out of memory). */
static char *shadow_path(const char *db)
{
	char *p = malloc(strlen(db) + 8);

	if (p != NULL)
		sprintf(p, "%s.shadow", db);
	return p;
}

/* Run the selected events of the log into the engine, from the
 * checkpoint when named: 0, or an exit status after the message. */
/* Checkpoints and read-model state belong to a log directory: a
 * segment file or an archive read in place has none. */
static int need_dir(const struct fe_input *in, const char *what)
{
	if (in->log != NULL)
		return 0;
	return fe_usage_error(usage_short, "%s needs a log directory, not %s",
			      what,
			      ev_reader_is_archive(in->rd) ? "an archive"
							   : "a segment file");
}

static int run_kafka(struct opts *o, struct engine *e);
static void warn_dlq(const struct opts *o, const struct engine *e);

/* --shadow: the read model goes to DB.shadow (*shadow, to free), made
 * anew, with the live DB's table: 0, or an exit status. */
static int open_shadow(struct opts *o, char **shadow)
{
	if (!o->pj.shadow)
		return 0;
	if ((*shadow = shadow_path(o->pj.sqlite)) == NULL)
		return fe_oom();
	if (o->pj.table == NULL)
		o->pj.table = o->pj.name;
	o->pj.live_sqlite = o->pj.sqlite;
	o->pj.sqlite = *shadow;
	/* a rebuild: an earlier shadow goes */
	if (ev_readmodel_remove(*shadow) != 0) {
		fe_warn("cannot remove '%s': %s", *shadow, strerror(errno));
		return EV_EXIT_IO;
	}
	return 0;
}

static int run_scan(struct opts *o, struct engine *e)
{
	struct fe_input in;
	struct ev_scan_opts *so = &o->sel.scan;
	struct ev_projector_stats st;
	struct ev_log *emit = NULL;
	struct ev_error err;
	char *shadow = NULL;
	char b[32];
	int rc, r;

	memset(&in, 0, sizeof(in));
	if ((rc = fe_upcast_load(&o->sel)) != 0)
		return rc;
	if (o->kafka)
		return run_kafka(o, e);
	in.path = o->logpath;
	in.follow = o->pj.follow;
	in.dlq = o->exec.upcast_dlq ? o->exec.dlq : NULL;
	if ((rc = fe_input_open(&in, usage_short)) != 0)
		goto out;
	if (o->pj.name != NULL && (rc = need_dir(&in, "--name")) != 0)
		goto out;
	if ((rc = fe_upcast_dlq(&o->sel, in.dlqlog, o->logpath,
				ev_reader_log_id(in.rd), NULL)) != 0)
		goto out;
	if ((rc = open_emit(o, &emit)) != 0)
		goto out;
	if (e->lua != NULL && o->pj.on_error == EV_UPCAST_DLQ) {
		const char *name = ev_projection_name(e->lua);
		if ((r = ev_upcast_dlq_open(&e->dlq, in.dlqlog, o->logpath,
					    ev_reader_log_id(in.rd),
					    o->pj.name ? o->pj.name : name,
					    &err)) != 0) {
			rc = fe_reportf(&err, "--dlq");
			goto out;
		}
		ev_upcast_dlq_set_projection(e->dlq, name);
		o->pj.failed = ev_upcast_dlq_letter;
		o->pj.failed_ctx = e->dlq;
	} else if (o->pj.on_error == EV_UPCAST_SKIP) {
		o->pj.failed = warn_failed;
		o->pj.failed_ctx = e;
		e->fate = "skipped";
	}
	if ((rc = open_shadow(o, &shadow)) != 0)
		goto out;
	fe_select_explain(&o->sel, in.log, o->logpath);
	fe_select_scan(&o->sel, o->logpath);
	so->decode = 0; /* the engines read the stored records */
	so->follow = o->pj.follow;
	if (o->pj.follow)
		fe_on_stop(on_signal);
	o->pj.stop = &stop;
	r = ev_projector_run(in.log, in.rd, so, &e->pe, &o->pj, &st, &err);
	if (r == EV_EDATA && err.hint[0] == '\0' && o->pj.name != NULL &&
	    st.stopped)
		snprintf(err.hint, sizeof(err.hint),
			 "fix the projection, or pass over the event for good "
			 "with --skip %llu --reason TEXT",
			 (unsigned long long)st.failed_at);
	rc = r != 0 ? fe_report(&err) : 0;
	if (st.failed > 0 && o->pj.on_error == EV_UPCAST_SKIP)
		fe_warn("%s event%s failed in the projection and %s skipped",
			ev_commas(st.failed, b), st.failed == 1 ? "" : "s",
			st.failed == 1 ? "was" : "were");
	warn_dlq(o, e);
	if (st.upcast_failures > 0 && o->sel.up != NULL &&
	    o->sel.on_error == EV_UPCAST_SKIP)
		fe_warn("%s event%s could not be upcast and %s skipped",
			ev_commas(st.upcast_failures, b),
			st.upcast_failures == 1 ? "" : "s",
			st.upcast_failures == 1 ? "was" : "were");
	rc = fe_upcast_end(&o->sel, NULL, rc);
out:
	if (e->dlq != NULL && (r = ev_upcast_dlq_close(e->dlq, &err)) != 0 &&
	    rc == 0)
		rc = fe_report(&err);
	e->dlq = NULL;
	ev_log_close(emit);
	free(shadow);
	fe_input_close(&in);
	return rc;
}

/* The count of the projection's dead letters, if any. */
static void warn_dlq(const struct opts *o, const struct engine *e)
{
	uint64_t n = ev_upcast_dlq_count(e->dlq);
	char b[32];

	if (n > 0)
		fe_warn("%s event%s failed in the projection and %s "
			"dead-lettered to '%s'",
			ev_commas(n, b), n == 1 ? "" : "s",
			n == 1 ? "was" : "were", o->exec.dlq);
}

/* A kafka LOG's --dlq, a topic or a local log, for --on-error dlq's
 * letters (the projection's, and the upcaster's): each names the
 * record's partition and offset.  0, or an exit status. */
static int open_kafka_dlq(struct opts *o, struct engine *e, struct fe_kdlq *kd,
			  struct ev_log **dlqlog)
{
	const char *topic = o->addr.topic;
	const char *name = o->pj.name;
	struct ev_error err;
	int r;

	if (o->exec.dlq == NULL || !o->exec.upcast_dlq)
		return 0;
	if (e->lua != NULL && name == NULL)
		name = ev_projection_name(e->lua);
	if (fe_kdlq_is(o->exec.dlq)) {
		if ((r = fe_kdlq_upcast(kd, &o->sel, o->exec.dlq, &o->kprops,
					o->kafka_timeout_ms, o->logpath, topic,
					NULL, usage_short)) != 0)
			return r;
		if (e->lua == NULL || o->pj.on_error != EV_UPCAST_DLQ)
			return 0;
		if ((r = fe_kdlq_projection(kd, o->exec.dlq, &o->kprops,
					    o->kafka_timeout_ms, o->logpath,
					    topic, name, &e->dlq,
					    usage_short)) != 0)
			return r;
	} else {
		if ((r = ev_dlq_open(dlqlog, o->exec.dlq, NULL, &err)) != 0)
			return r == EV_EUSAGE ? fe_reportf(&err, "--dlq")
					      : fe_report(&err);
		if ((r = fe_upcast_dlq(&o->sel, *dlqlog, o->logpath, topic,
				       NULL)) != 0)
			return r;
		if (e->lua == NULL || o->pj.on_error != EV_UPCAST_DLQ)
			return 0;
		if ((r = ev_upcast_dlq_open(&e->dlq, *dlqlog, o->logpath, topic,
					    name, &err)) != 0)
			return fe_reportf(&err, "--dlq");
		ev_upcast_dlq_set_projection(e->dlq,
					     ev_projection_name(e->lua));
	}
	o->pj.failed = ev_upcast_dlq_letter;
	o->pj.failed_ctx = e->dlq;
	return 0;
}

/* A kafka LOG: its consumer (no group) as the scan the projector reads,
 * which opens it, from the checkpoint when named.  0, or an exit status
 * after the message. */
static int run_kafka(struct opts *o, struct engine *e)
{
	struct ev_scan_opts *so = &o->sel.scan;
	struct ev_kafka_consumer_opts co;
	struct ev_projector_stats st;
	struct ev_log *emit = NULL, *dlqlog = NULL;
	struct fe_kdlq kd;
	struct ev_error err;
	char *shadow = NULL;
	char b[32];
	int rc, r;

	/* -X's mistakes with the usage; the consumer's own (a --from the
	 * topic rules out) as on a local log, without */
	if (ev_kafka_props_check(&o->kprops, &err) != 0)
		return err.code == EV_EUSAGE
			       ? fe_usage_error(usage_short, "%s", err.msg)
			       : fe_report(&err);
	memset(&kd, 0, sizeof(kd));
	if ((rc = open_emit(o, &emit)) != 0)
		return rc;
	if ((rc = open_shadow(o, &shadow)) != 0)
		goto out;
	memset(&kd, 0, sizeof(kd));
	if ((rc = open_kafka_dlq(o, e, &kd, &dlqlog)) != 0)
		goto out;
	if (o->pj.on_error == EV_UPCAST_SKIP) {
		o->pj.failed = warn_failed;
		o->pj.failed_ctx = e;
		e->fate = "skipped";
	}
	memset(&co, 0, sizeof(co));
	co.conn.addr = &o->addr;
	co.conn.props = &o->kprops;
	co.conn.timeout_ms = (int)o->kafka_timeout_ms;
	co.from = o->kfrom;
	co.nfrom = o->nkfrom;
	co.follow = o->pj.follow;
	fe_select_scan(&o->sel, o->logpath);
	so->decode = 0; /* the engines read the stored records */
	so->follow = o->pj.follow;
	if (o->pj.follow)
		fe_on_stop(on_signal);
	o->pj.stop = &stop;
	o->pj.kafka = &co;
	r = ev_projector_run(NULL, NULL, so, &e->pe, &o->pj, &st, &err);
	if (r == EV_EDATA && err.hint[0] == '\0' && o->pj.name != NULL &&
	    st.stopped)
		snprintf(err.hint, sizeof(err.hint),
			 "fix the projection, or pass over the event for good "
			 "with --skip %d:%llu --reason TEXT",
			 (int)st.failed_partition,
			 (unsigned long long)st.failed_at);
	rc = r == 0 ? 0 : fe_report(&err);
	if (st.failed > 0 && o->pj.on_error == EV_UPCAST_SKIP)
		fe_warn("%s event%s failed in the projection and %s skipped",
			ev_commas(st.failed, b), st.failed == 1 ? "" : "s",
			st.failed == 1 ? "was" : "were");
	if (st.upcast_failures > 0 && o->sel.up != NULL &&
	    o->sel.on_error == EV_UPCAST_SKIP)
		fe_warn("%s event%s could not be upcast and %s skipped",
			ev_commas(st.upcast_failures, b),
			st.upcast_failures == 1 ? "" : "s",
			st.upcast_failures == 1 ? "was" : "were");
	warn_dlq(o, e);
	rc = fe_upcast_end(&o->sel, NULL, rc);
out:
	if (e->dlq != NULL && (r = ev_upcast_dlq_close(e->dlq, &err)) != 0 &&
	    rc == 0)
		rc = fe_report(&err);
	e->dlq = NULL;
	fe_kdlq_close(&kd);
	ev_log_close(dlqlog);
	ev_log_close(emit);
	free(shadow);
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

/* Write out to stdout: an exit status. */
static int write_out(const struct ev_buf *out)
{
	size_t at = 0;
	ssize_t w;

	while (at < out->len) {
		w = write(STDOUT_FILENO, out->p + at, out->len - at);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			/* the reader went away: a normal end */
			if (errno != EPIPE) {
				fe_warn("cannot write output: %s",
					strerror(errno));
				return EV_EXIT_IO;
			}
			break;
		}
		at += (size_t)w;
	}
	return 0;
}

/* A state as a row of the rows. */
static int add_state(void *ctx, const uint8_t *key, size_t kn,
		     const uint8_t *state, size_t sn)
{
	struct engine *e = ctx;
	const uint8_t *cells[2] = {key, state};
	size_t lens[2] = {kn, sn};
	struct ev_error err;

	return ev_rows_add(e->rows, cells, lens, &err);
}

/* Print the rows: an exit status. */
static int print_rows(struct opts *o, struct engine *e)
{
	struct ev_buf out = {0};
	struct ev_error err;
	int r, rc = 0;

	if (o->partition != NULL) {
		r = ev_projection_get(e->lua, o->partition, &out, &err);
		if (r < 0) {
			ev_buf_free(&out);
			return fe_report(&err);
		}
		if (r == 0) {
			fe_warn("no partition '%s'", o->partition);
			return EV_EXIT_FAILURE;
		}
		r = 0;
		{
			struct ev_buf j = {0};
			if (ev_value_json(out.p, out.len, &j, &err) != 0 ||
			    ev_buf_putc(&j, '\n') != 0)
				r = fe_report(&err);
			else
				r = write_out(&j);
			ev_buf_free(&j);
		}
		ev_buf_free(&out);
		return r;
	}
	if (e->lua != NULL)
		r = ev_projection_each(e->lua, add_state, e, &err);
	else
		r = ev_fold_rows(e->fold, e->rows, &err);
	if (r != 0 || (r = ev_rows_sort(e->rows, &err)) != 0)
		return fe_report(&err);
	if (o->has_limit)
		ev_rows_limit(e->rows, o->limit);
	if ((r = ev_rows_write(e->rows, o->fmt, &out, &err)) != 0) {
		ev_buf_free(&out);
		return fe_report(&err);
	}
	rc = write_out(&out);
	ev_buf_free(&out);
	return rc;
}

/* The end of --status: the rows that the library's status call made
 * (r its status, err its message) in --format on stdout, 65 when a
 * checkpoint was damaged.  Frees rows: an exit status. */
static int print_status(const struct opts *o, int r, struct ev_rows *rows,
			int damaged, struct ev_error *err)
{
	struct ev_buf out = {0};
	int rc;

	if (r == 0 && (r = ev_rows_write(rows, o->fmt, &out, err)) == 0)
		rc = write_out(&out);
	else
		rc = fe_report(err);
	if (rc == 0 && damaged)
		rc = EV_EXIT_DATA;
	ev_buf_free(&out);
	ev_rows_free(rows);
	return rc;
}

/* --status on a kafka LOG: the checkpoints of its topic in --state-dir,
 * the lag against each partition's high watermark. */
static int run_status_kafka(struct opts *o)
{
	struct ev_kafka_conn_opts co;
	struct ev_kafka_topic_info *ti = NULL;
	struct ev_rows *rows = NULL;
	struct ev_error err;
	int rc, r, damaged = 0;

	memset(&co, 0, sizeof(co));
	co.addr = &o->addr;
	co.props = &o->kprops;
	co.timeout_ms = (int)o->kafka_timeout_ms;
	if ((r = ev_kafka_topic_describe(&co, &ti, &err)) != 0)
		return r == EV_EUSAGE
			       ? fe_usage_error(usage_short, "%s", err.msg)
			       : fe_report(&err);
	r = ev_projector_status_topic(ti, o->pj.state_dir, o->pj.name, &rows,
				      &damaged, fe_warning, NULL, &err);
	rc = print_status(o, r, rows, damaged, &err);
	ev_kafka_topic_info_free(ti);
	return rc;
}

/* --status: the checkpoints of the log, one row each. */
static int run_status(struct opts *o)
{
	struct fe_input in;
	struct ev_rows *rows = NULL;
	struct ev_error err;
	int rc, r, damaged = 0;

	if (o->kafka)
		return run_status_kafka(o);
	memset(&in, 0, sizeof(in));
	in.path = o->logpath;
	if ((rc = fe_input_open(&in, usage_short)) != 0)
		return rc;
	if ((rc = need_dir(&in, "--status")) != 0) {
		fe_input_close(&in);
		return rc;
	}
	r = ev_projector_status(in.log, o->pj.state_dir, o->pj.name,
				ev_reader_end_offset(in.rd), &rows, &damaged,
				fe_warning, NULL, &err);
	rc = print_status(o, r, rows, damaged, &err);
	fe_input_close(&in);
	return rc;
}

/* --diff and --swap: the shadow read model against the live one. */
static int run_readmodel(struct opts *o)
{
	const char *table = o->pj.table ? o->pj.table : o->pj.name;
	struct ev_readmodel_diffstat ds;
	struct ev_buf out = {0};
	struct ev_error err;
	char *shadow = shadow_path(o->pj.sqlite);
	char b[4][32];
	int r, rc = 0;

	if (shadow == NULL)
		return fe_oom();
	if (o->swap) {
		r = ev_readmodel_swap(o->pj.sqlite, shadow,
				      o->pj.name ? o->pj.name : table,
				      o->wait ? -1 : 10, &err);
		rc = r != 0 ? fe_reportf(&err, "--swap") : 0;
		if (r == 0)
			printf("swapped '%s' into '%s'\n", shadow,
			       o->pj.sqlite);
		free(shadow);
		return rc;
	}
	r = ev_readmodel_diff(o->pj.sqlite, shadow, table, &out, &ds, &err);
	if (r != 0) {
		rc = fe_reportf(&err, "--diff");
	} else {
		ev_buf_printf(&out,
			      "%s added, %s removed, %s changed, %s "
			      "unchanged\n",
			      ev_commas(ds.added, b[0]),
			      ev_commas(ds.removed, b[1]),
			      ev_commas(ds.changed, b[2]),
			      ev_commas(ds.unchanged, b[3]));
		rc = write_out(&out);
	}
	ev_buf_free(&out);
	free(shadow);
	return rc;
}

/* ------------------------------------------------------------ --test */

/* The whole of path into b (NUL-terminated): 0, or -1 (errno). */
static int slurp(const char *path, struct ev_buf *b)
{
	char tmp[65536];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	b->len = 0;
	if (fd < 0)
		return -1;
	while ((n = read(fd, tmp, sizeof(tmp))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || ev_buf_append(b, tmp, (size_t)n) != 0) {
			close(fd);
			return -1;
		}
	}
	close(fd);
	if (ev_buf_putc(b, '\0') != 0)
		return -1;
	b->len--;
	return 0;
}

static int exists(const char *dir, const char *name, char *path, size_t n)
{
	if ((size_t)snprintf(path, n, "%s/%s", dir, name) >= n)
		return 0;
	return access(path, F_OK) == 0;
}

/* Run argv (stdin from in, or /dev/null), its stdout into out and its
 * stderr into errout: the exit status, or -1. */
static int spawn(char *const argv[], const char *in, struct ev_buf *out,
		 struct ev_buf *errout)
{
	char tpl[2][64];
	int fds[2], status, i;
	pid_t pid;

	for (i = 0; i < 2; i++) {
		snprintf(tpl[i], sizeof(tpl[i]), "/tmp/evproject-test.XXXXXX");
		if ((fds[i] = mkstemp(tpl[i])) < 0)
			return -1;
		unlink(tpl[i]);
	}
	fflush(stdout);
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		int fd = open(in ? in : "/dev/null", O_RDONLY);
		if (fd < 0 || dup2(fd, 0) < 0 || dup2(fds[0], 1) < 0 ||
		    dup2(fds[1], 2) < 0)
			_exit(127);
		execv(argv[0], argv);
		execvp(argv[0], argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	for (i = 0; i < 2; i++) {
		struct ev_buf *b = i ? errout : out;
		char tmp[65536];
		ssize_t n;
		b->len = 0;
		lseek(fds[i], 0, SEEK_SET);
		while ((n = read(fds[i], tmp, sizeof(tmp))) > 0)
			ev_buf_append(b, tmp, (size_t)n);
		ev_buf_putc(b, '\0');
		b->len--;
		close(fds[i]);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Diagnostics: each line of text as "# text". */
static void diag(struct ev_buf *d, const char *text)
{
	const char *p = text, *nl;

	while (*p) {
		nl = strchr(p, '\n');
		ev_buf_printf(d, "#   %.*s\n",
			      (int)(nl ? nl - p : (ptrdiff_t)strlen(p)), p);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

static void chomp(struct ev_buf *b)
{
	while (b->len > 0 &&
	       (b->p[b->len - 1] == '\n' || b->p[b->len - 1] == ' '))
		b->len--;
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p) != 0 && errno != ENOENT;
}

/* One case in dir: 1 passed, 0 failed (why in d). */
static int run_case(const char *dir, const char *lua, const char *self,
		    const char *tools, struct ev_buf *d)
{
	char tmpl[] = "/tmp/evproject-case.XXXXXX";
	char path[4096], logp[4200], emitp[4200], dbp[4200], tool[4200];
	char *argv[96], *work, *words = NULL;
	struct ev_buf out = {0}, errb = {0}, exp = {0}, got = {0};
	struct ev_error err;
	int argc = 0, ok = 0, is_lua = 0, checks = 0, r;
	char *tok, *save;

	if ((work = mkdtemp(tmpl)) == NULL) {
		ev_buf_printf(d, "#   cannot make a directory: %s\n",
			      strerror(errno));
		return 0;
	}
	snprintf(logp, sizeof(logp), "%s/log.evlog", work);
	snprintf(emitp, sizeof(emitp), "%s/emit.evlog", work);
	snprintf(dbp, sizeof(dbp), "%s/model.sqlite", work);
	if (!exists(dir, "given.ndjson", path, sizeof(path))) {
		ev_buf_printf(d, "#   no given.ndjson\n");
		goto out;
	}
	snprintf(tool, sizeof(tool), "%s/evpub", tools);
	argv[0] = access(tool, X_OK) == 0 ? tool : (char *)"evpub";
	argv[1] = (char *)"-c";
	argv[2] = logp;
	argv[3] = NULL;
	if ((r = spawn(argv, path, &out, &errb)) != 0) {
		ev_buf_printf(d, "#   evpub of given.ndjson exited %d:\n", r);
		diag(d, (const char *)errb.p);
		goto out;
	}
	/* the projection: args, projection.lua, or -p */
	argv[argc++] = (char *)self;
	if (exists(dir, "args", path, sizeof(path))) {
		if (slurp(path, &exp) != 0 ||
		    (words = strdup((const char *)exp.p)) == NULL) {
			ev_buf_printf(d, "#   cannot read args\n");
			goto out;
		}
		for (tok = strtok_r(words, " \t\n", &save);
		     tok != NULL && argc < 80;
		     tok = strtok_r(NULL, " \t\n", &save))
			argv[argc++] = tok;
		is_lua = strcmp(argv[1], "-p") == 0;
	} else if (exists(dir, "projection.lua", path, sizeof(path))) {
		argv[argc++] = (char *)"-p";
		argv[argc++] = strdup(path);
		is_lua = 1;
	} else if (lua != NULL) {
		argv[argc++] = (char *)"-p";
		argv[argc++] = (char *)lua;
		is_lua = 1;
	} else {
		ev_buf_printf(d, "#   no projection: no args, no "
				 "projection.lua, and no -p\n");
		goto out;
	}
	if (exists(dir, "expect-emitted.ndjson", path, sizeof(path))) {
		argv[argc++] = (char *)"--emit-to";
		argv[argc++] = emitp;
	}
	if (exists(dir, "setup.sql", path, sizeof(path))) {
		if (slurp(path, &exp) != 0 ||
		    ev_projtest_setup(dbp, (const char *)exp.p, &err) != 0) {
			ev_buf_printf(d, "#   setup.sql: %s\n", err.msg);
			goto out;
		}
	}
	if (exists(dir, "expect.sql", path, sizeof(path))) {
		argv[argc++] = (char *)"--sqlite";
		argv[argc++] = dbp;
		argv[argc++] = (char *)"--name";
		argv[argc++] = (char *)"test";
	}
	argv[argc++] = (char *)"-o";
	argv[argc++] = (char *)"json";
	argv[argc++] = logp;
	argv[argc] = NULL;
	if ((r = spawn(argv, NULL, &out, &errb)) != 0) {
		ev_buf_printf(d, "#   evproject exited %d:\n", r);
		diag(d, (const char *)errb.p);
		goto out;
	}
	ok = 1;
	if (exists(dir, "expect.json", path, sizeof(path))) {
		checks++;
		got.len = 0;
		if (slurp(path, &exp) != 0) {
			ev_buf_printf(d, "#   cannot read expect.json\n");
			ok = 0;
		} else if ((r = ev_projtest_states((const char *)exp.p, exp.len,
						   (const char *)out.p, out.len,
						   is_lua, &got, &err)) != 0) {
			ok = 0;
			if (r < 0)
				ev_buf_printf(d, "#   %s\n", err.msg);
			else {
				ev_buf_printf(d, "#   the states differ:\n");
				diag(d, (const char *)got.p);
			}
		}
	}
	if (exists(dir, "expect-emitted.ndjson", path, sizeof(path))) {
		char *targv[] = {tool, emitp, NULL};
		checks++;
		snprintf(tool, sizeof(tool), "%s/evtail", tools);
		if (access(tool, X_OK) != 0)
			targv[0] = (char *)"evtail";
		if (access(emitp, F_OK) != 0)
			out.len = 0;
		else if (spawn(targv, NULL, &out, &errb) != 0) {
			ev_buf_printf(d,
				      "#   cannot read the emitted events:\n");
			diag(d, (const char *)errb.p);
			ok = 0;
		}
		got.len = 0;
		if (ok &&
		    (slurp(path, &exp) != 0 ||
		     (r = ev_projtest_emitted((const char *)exp.p, exp.len,
					      (const char *)out.p, out.len,
					      &got, &err)) != 0)) {
			ok = 0;
			if (r < 0)
				ev_buf_printf(d, "#   %s\n", err.msg);
			else {
				ev_buf_printf(d, "#   the emitted events "
						 "differ:\n");
				diag(d, (const char *)got.p);
			}
		}
	}
	if (exists(dir, "expect.sql", path, sizeof(path))) {
		checks++;
		got.len = 0;
		if (slurp(path, &exp) != 0 ||
		    ev_projtest_sql(dbp, (const char *)exp.p, &got, &err) !=
			    0) {
			ev_buf_printf(d, "#   expect.sql: %s\n", err.msg);
			ok = 0;
		}
		if (ok && (!exists(dir, "expect.out", path, sizeof(path)) ||
			   slurp(path, &exp) != 0)) {
			ev_buf_printf(d, "#   expect.sql has no expect.out\n");
			ok = 0;
		}
		if (ok) {
			chomp(&exp);
			chomp(&got);
			if (exp.len != got.len ||
			    memcmp(exp.p, got.p, exp.len) != 0) {
				ok = 0;
				ev_buf_putc(&exp, '\0');
				ev_buf_putc(&got, '\0');
				ev_buf_printf(d, "#   the query's rows differ; "
						 "expected:\n");
				diag(d, (const char *)exp.p);
				ev_buf_printf(d, "#   got:\n");
				diag(d, (const char *)got.p);
			}
		}
	}
	if (checks == 0) {
		ev_buf_printf(d, "#   nothing to check: no expect.json, "
				 "expect-emitted.ndjson or expect.sql\n");
		ok = 0;
	}
out:
	free(words);
	ev_buf_free(&out);
	ev_buf_free(&errb);
	ev_buf_free(&exp);
	ev_buf_free(&got);
	nftw(work, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	return ok;
}

static int is_case(const struct dirent *de)
{
	return de->d_name[0] != '.';
}

/* --test DIR: every case directory of DIR, as TAP; 0 when all pass. */
static int run_tests(const char *dir, const char *lua, const char *progname)
{
	struct dirent **v = NULL;
	struct ev_buf d = {0};
	char self[4096], tools[4096], path[8192], *slash;
	ssize_t n;
	int i, nv, ncases = 0, failed = 0;
	struct stat st;

	(void)progname;
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 0) {
		fe_warn("cannot find my own program: %s", strerror(errno));
		return EV_EXIT_FAILURE;
	}
	self[n] = '\0';
	snprintf(tools, sizeof(tools), "%s", self);
	slash = strrchr(tools, '/');
	if (slash != NULL)
		*slash = '\0';
	if (lua != NULL && access(lua, R_OK) != 0) {
		fe_warn("cannot read '%s': %s", lua, strerror(errno));
		return EV_EXIT_NOINPUT;
	}
	if ((nv = scandir(dir, &v, is_case, alphasort)) < 0) {
		fe_warn("cannot read '%s': %s", dir, strerror(errno));
		return errno == ENOENT ? EV_EXIT_NOINPUT : EV_EXIT_IO;
	}
	for (i = 0; i < nv; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, v[i]->d_name);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			ncases++;
	}
	printf("TAP version 13\n1..%d\n", ncases);
	ncases = 0;
	for (i = 0; i < nv; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, v[i]->d_name);
		if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
			continue;
		ncases++;
		d.len = 0;
		if (run_case(path, lua, self, tools, &d)) {
			printf("ok %d - %s\n", ncases, v[i]->d_name);
		} else {
			failed++;
			printf("not ok %d - %s\n", ncases, v[i]->d_name);
			fwrite(d.p, 1, d.len, stdout);
		}
		fflush(stdout);
	}
	for (i = 0; i < nv; i++)
		free(v[i]);
	free(v);
	ev_buf_free(&d);
	if (ncases == 0) {
		fe_warn("no cases in '%s'", dir);
		return EV_EXIT_NOINPUT;
	}
	if (failed > 0)
		fe_warn("%d of %d cases failed", failed, ncases);
	return failed > 0 ? EV_EXIT_FAILURE : EV_EXIT_OK;
}

/* --retry-dlq: the projection's dead letters, applied again. */
static int run_retry(struct opts *o, struct engine *e)
{
	struct ev_projector_retry_stats rs;
	struct fe_input in;
	struct ev_log *dlq = NULL, *emit = NULL;
	struct ev_error err;
	char b[2][32];
	int rc, r;

	memset(&in, 0, sizeof(in));
	in.path = o->logpath;
	if ((rc = fe_input_open(&in, usage_short)) != 0)
		return rc;
	if ((rc = need_dir(&in, "--retry-dlq")) != 0) {
		fe_input_close(&in);
		return rc;
	}
	if ((r = ev_log_open(&dlq, o->retry_dlq, &err)) != 0) {
		rc = fe_reportf(&err, "--retry-dlq");
		goto out;
	}
	if ((rc = open_emit(o, &emit)) != 0)
		goto out;
	ev_projection_set_atomic(e->lua, 1);
	o->pj.failed = warn_failed;
	o->pj.failed_ctx = e;
	e->fate = "the letter stays open";
	r = ev_projector_retry(in.log, in.rd, dlq, &e->pe, &o->pj, &rs, &err);
	if (r != 0) {
		rc = fe_report(&err);
		goto out;
	}
	fe_warn("%s resolved, %s still open", ev_commas(rs.resolved, b[0]),
		ev_commas(rs.selected - rs.resolved, b[1]));
	rc = rs.resolved < rs.selected ? EV_EXIT_FAILURE : EV_EXIT_OK;
out:
	ev_log_close(emit);
	ev_log_close(dlq);
	fe_input_close(&in);
	return rc;
}

/* Build, scan, report and print: an exit status. */
static int run(struct opts *o, struct engine *e)
{
	int rc;

	if (o->test_dir != NULL)
		return run_tests(o->test_dir, o->lua, fe_progname);
	if (o->diff || o->swap)
		return run_readmodel(o);
	if (o->status)
		return run_status(o);
	if (o->retry_dlq != NULL) {
		if ((rc = build_engine(o, e)) != 0)
			return rc;
		return run_retry(o, e);
	}
	if ((rc = build_engine(o, e)) != 0 || (rc = run_scan(o, e)) != 0)
		return rc;
	if (e->fold != NULL)
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
	o.kafka_timeout_ms = 10000;
	o.kafka = kafka_operand(argc, argv);
	rc = parse_options(argc, argv, &o);
	if (rc == -1)
		rc = validate(&o);
	if (rc == -1)
		rc = run(&o, &e);
	ev_rows_free(e.rows);
	ev_projection_free(e.lua);
	ev_fold_free(o.fold);
	fe_select_free(&o.sel);
	ev_kafka_props_free(&o.kprops);
	free(o.kfrom);
	free(o.kskips);
	return rc;
}
