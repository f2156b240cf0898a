/*
 * evreplay - deliver the stored events of an evlog log again: to
 * standard output, into another log, or through a handler, at full
 * speed or paced.  See evreplay(1).
 *
 * The selection, delivery, pacing and marks are the library's (the
 * scan, the consumer, struct ev_pace, struct ev_replay); this file reads
 * the options, opens the logs in an order that leaves nothing behind
 * when something is wrong, shows progress, and reports.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "evlog.h"
#include "fe.h"
#include "fekdlq.h"
#include "feselect.h"

static const char usage_short[] =
	"Usage: evreplay [options] LOG\n"
	"       evreplay --rewrite [--upcast PATH] LOG --rewrite-to NEWLOG\n"
	"       evreplay --rewrite [--upcast PATH] --in-place LOG\n";

static const char usage_long[] =
	"Deliver the events of an evlog log again: to standard output, into\n"
	"another log, or through a handler; at full speed or paced.  Or\n"
	"rewrite a whole log with every event upcast to its current version.\n"
	"LOG, and LOG2 of --to-log, may be a Kafka topic:\n"
	"kafka://HOST:PORT[,HOST:PORT...]/TOPIC.\n"
	"\n"
	"Options:\n"
	"      --backoff DURATION  first retry delay, doubling with jitter (1s)\n"
	"      --backoff-max DURATION\n"
	"                          longest retry delay (30s)\n"
	"      --batch N           with --exec, up to N events per handler run\n"
	"  -c, --create            with --to-log, create LOG2 if it does not\n"
	"                          exist (a kafka topic: through the admin\n"
	"                          API)\n"
	"      --category NAME     only streams NAME and NAME-*; may be repeated\n"
	"      --check             with --upcast, run every event through its\n"
	"                          chain and report the counts and failures\n"
	"                          instead of delivering; exit 65 if any failed\n"
	"      --color WHEN        colour pretty output: auto, always, never\n"
	"      --dlq DLQLOG        with --exec and --group, dead-letter failed\n"
	"                          events to DLQLOG (created if missing); with\n"
	"                          --on-error dlq, where events that cannot be\n"
	"                          upcast go\n"
	"      --dlq-policy POLICY event, or stream: a dead letter parks the\n"
	"                          later events of its stream too\n"
	"      --exec CMD          run CMD (sh -c) per event, the event's JSON\n"
	"                          on stdin: at-least-once delivery\n"
	"      --from POS          start at OFFSET, start, end or @TIME; on a\n"
	"                          kafka log PARTITION:OFFSET (repeatable)\n"
	"      --grace DURATION    on SIGINT/SIGTERM, let handlers finish this\n"
	"                          long before killing them (10s)\n"
	"      --group NAME        replay as consumer group NAME: resume after\n"
	"                          its committed position and commit as it goes\n"
	"  -h, --help              show this help and exit\n"
	"      --in-place          with --rewrite, swap the new log in for LOG,\n"
	"                          keeping the old one as\n"
	"                          LOG.pre-rewrite-TIME\n"
	"      --mark NAME         set meta.replay to NAME and meta.replayedAt\n"
	"                          to the time of the run in each event\n"
	"                          (--to-log: on, with a generated NAME)\n"
	"      --max-gap DURATION  with --speed, wait at most this long between\n"
	"                          two events\n"
	"      --kafka-config FILE librdkafka properties from FILE, as kcat\n"
	"                          reads them, for kafka:// logs\n"
	"      --kafka-format FMT  with --to-log kafka://..., how events\n"
	"                          travel in records: binary (default),\n"
	"                          structured or envelope\n"
	"      --kafka-timeout DURATION  give up on an unreachable kafka\n"
	"                          cluster after DURATION (10s)\n"
	"  -n, --lines N           replay the last N (matching) events; on a\n"
	"                          kafka log the last N of each partition\n"
	"      --no-progress       no progress display\n"
	"  -o, --output FORMAT     json (default), pretty, cloudevents, msgpack\n"
	"      --on-error ACTION   an event --upcast cannot upcast: stop\n"
	"                          (default, exit 65), skip, or dlq (to --dlq)\n"
	"      --on-failure ACTION after the last retry: stop (default), dlq or\n"
	"                          skip\n"
	"      --partitions N      with -c into a kafka topic: its partitions\n"
	"                          (the cluster's default)\n"
	"      --parallel N        with --exec, up to N handlers at once, never\n"
	"                          two of one stream (1)\n"
	"      --progress          show progress on stderr even when it is not\n"
	"                          a terminal\n"
	"      --rate RATE         deliver RATE events a second (100/s) or a\n"
	"                          minute (30/m), steadily\n"
	"      --replication-factor N  with -c into a kafka topic: its\n"
	"                          replication factor (the cluster's default)\n"
	"      --renumber          with --to-log, number stream events afresh\n"
	"                          after their stream's version in LOG2\n"
	"      --retries N         retries of a failed handler run (3)\n"
	"      --rewrite           write every event of LOG, upcast with\n"
	"                          --upcast, into a new log, checked against\n"
	"                          LOG, with --rewrite-to or --in-place\n"
	"      --rewrite-to NEWLOG with --rewrite, the new log (must not exist)\n"
	"      --since TIME        only events at or after TIME\n"
	"      --speed X           keep the time between events, divided by X\n"
	"      --state-dir DIR     keep group state in DIR, not in the log\n"
	"      --stream GLOB       only streams matching GLOB; may be repeated\n"
	"      --stream-exact NAME only stream NAME, even one with *, ? or [\n"
	"                          in it; may be repeated\n"
	"      --template TPL      print TPL per event, e.g. '{offset} {type}'\n"
	"      --timeout DURATION  a handler run that takes longer fails (none)\n"
	"      --to POS            stop after OFFSET, or before the first event\n"
	"                          later than @TIME; on a kafka log\n"
	"                          PARTITION:OFFSET (repeatable) or @TIME\n"
	"      --to-log LOG2       append the events to the log LOG2, keeping\n"
	"                          their ids, times, streams and versions; or\n"
	"                          produce them into kafka://HOST:PORT/TOPIC\n"
	"      --type GLOB         only types matching GLOB; may be repeated\n"
	"      --until TIME        only events at or before TIME\n"
	"      --upcast PATH       bring events of older schema versions up to\n"
	"                          date with the upcasters in PATH, a file or\n"
	"                          a directory (evlog-upcast(5)), before any\n"
	"                          filter\n"
	"  -V, --version           show versions and exit\n"
	"      --wait              wait for a group another consumer holds\n"
	"      --where EXPR        only events where EXPR holds (evtail(1))\n"
	"  -X PROPERTY=VALUE       a librdkafka property for kafka:// logs;\n"
	"                          may be repeated\n"
	"\n"
	"TIME is RFC 3339, a date (2025-01-10), 'now', or relative (-1h, -30m).\n"
	"On SIGINT or SIGTERM it stops, says where, and exits 0.\n"
	"Exit status: 0 done, 1 a handler failed under --on-failure=stop, or\n"
	"a rewrite was interrupted, 64 usage or a bad upcaster set, 65\n"
	"damaged data, times --speed cannot use, or an event that cannot be\n"
	"upcast (--check: any), 66 missing log or upcaster set, 73 NEWLOG\n"
	"exists, 74 I/O error, 75 a version conflict in LOG2, a busy group,\n"
	"or a rewrite of the same log running.\n"
	"See evreplay(1).\n";

enum {
	OPT_CHECK = 256,
	OPT_COLOR,
	OPT_EXEC,
	OPT_GROUP,
	OPT_IN_PLACE,
	OPT_KAFKA_CONFIG,
	OPT_KAFKA_FORMAT,
	OPT_KAFKA_TIMEOUT,
	OPT_MARK,
	OPT_MAX_GAP,
	OPT_NO_PROGRESS,
	OPT_PARTITIONS,
	OPT_PROGRESS,
	OPT_RATE,
	OPT_RENUMBER,
	OPT_REPLICATION_FACTOR,
	OPT_REWRITE,
	OPT_REWRITE_TO,
	OPT_SPEED,
	OPT_STATE_DIR,
	OPT_TEMPLATE,
	OPT_TO_LOG,
	OPT_WAIT,
};

/* Sorted. */
static const struct option longopts[] = {
	{"backoff", required_argument, NULL, FE_OPT_BACKOFF},
	{"backoff-max", required_argument, NULL, FE_OPT_BACKOFF_MAX},
	{"batch", required_argument, NULL, FE_OPT_BATCH},
	{"category", required_argument, NULL, FE_OPT_CATEGORY},
	{"check", no_argument, NULL, OPT_CHECK},
	{"color", required_argument, NULL, OPT_COLOR},
	{"create", no_argument, NULL, 'c'},
	{"dlq", required_argument, NULL, FE_OPT_DLQ},
	{"dlq-policy", required_argument, NULL, FE_OPT_DLQ_POLICY},
	{"exec", required_argument, NULL, OPT_EXEC},
	{"from", required_argument, NULL, FE_OPT_FROM},
	{"grace", required_argument, NULL, FE_OPT_GRACE},
	{"group", required_argument, NULL, OPT_GROUP},
	{"help", no_argument, NULL, 'h'},
	{"in-place", no_argument, NULL, OPT_IN_PLACE},
	{"kafka-config", required_argument, NULL, OPT_KAFKA_CONFIG},
	{"kafka-format", required_argument, NULL, OPT_KAFKA_FORMAT},
	{"kafka-timeout", required_argument, NULL, OPT_KAFKA_TIMEOUT},
	{"lines", required_argument, NULL, 'n'},
	{"mark", required_argument, NULL, OPT_MARK},
	{"max-gap", required_argument, NULL, OPT_MAX_GAP},
	{"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
	{"on-error", required_argument, NULL, FE_OPT_ON_ERROR},
	{"on-failure", required_argument, NULL, FE_OPT_ON_FAILURE},
	{"output", required_argument, NULL, 'o'},
	{"parallel", required_argument, NULL, FE_OPT_PARALLEL},
	{"partitions", required_argument, NULL, OPT_PARTITIONS},
	{"progress", no_argument, NULL, OPT_PROGRESS},
	{"rate", required_argument, NULL, OPT_RATE},
	{"renumber", no_argument, NULL, OPT_RENUMBER},
	{"replication-factor", required_argument, NULL, OPT_REPLICATION_FACTOR},
	{"retries", required_argument, NULL, FE_OPT_RETRIES},
	{"rewrite", no_argument, NULL, OPT_REWRITE},
	{"rewrite-to", required_argument, NULL, OPT_REWRITE_TO},
	{"since", required_argument, NULL, FE_OPT_SINCE},
	{"speed", required_argument, NULL, OPT_SPEED},
	{"state-dir", required_argument, NULL, OPT_STATE_DIR},
	{"stream", required_argument, NULL, FE_OPT_STREAM},
	{"stream-exact", required_argument, NULL, FE_OPT_STREAM_EXACT},
	{"template", required_argument, NULL, OPT_TEMPLATE},
	{"timeout", required_argument, NULL, FE_OPT_TIMEOUT},
	{"to", required_argument, NULL, FE_OPT_TO},
	{"to-log", required_argument, NULL, OPT_TO_LOG},
	{"type", required_argument, NULL, FE_OPT_TYPE},
	{"until", required_argument, NULL, FE_OPT_UNTIL},
	{"upcast", required_argument, NULL, FE_OPT_UPCAST},
	{"version", no_argument, NULL, 'V'},
	{"wait", no_argument, NULL, OPT_WAIT},
	{"where", required_argument, NULL, FE_OPT_WHERE},
	{NULL, 0, NULL, 0},
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* What the command line asks for. */
struct opts {
	struct fe_select sel;
	struct fe_exec exec;
	struct ev_consumer_opts con;
	struct ev_template *tpl;
	enum ev_out_format fmt;
	const char *logpath, *color, *group, *state_dir, *to_log, *mark;
	int wait, out_set, create, renumber;
	int check;    /* --check: the upcaster set against the log */
	int progress; /* -1: on a terminal; 0 off; 1 on */
	int filtered; /* the total is an estimate */
	struct ev_pace_opts pace;
	int max_gap_set;
	/* --rewrite: the new log, or in place; and the first option
	 * given that a rewrite does not take */
	int rewrite, in_place;
	const char *rewrite_to;
	char not_rewrite[40];
	/* kafka:// logs: -X and --kafka-config, --kafka-format,
	 * --kafka-timeout; kafka_opt: the first of them given */
	struct ev_kafka_props kprops;
	enum ev_kafka_format kfmt;
	int64_t kafka_timeout_ms;
	const char *kafka_opt;
	int kfmt_set;
	int kparts, krepl; /* -c into a topic: -1, the cluster's defaults */
	int kafka_target, kafka_source; /* --to-log, LOG: kafka:// */
	struct ev_kafka_addr to_addr, src_addr;
	/* a kafka LOG: --from (in order) and -n, per partition */
	struct ev_kafka_from *kfrom;
	size_t nkfrom;
	struct ev_kafka_from *kto; /* --to PARTITION:OFFSET */
	size_t nkto;
	int has_klast;
	uint64_t klast;
};

/* ------------------------------------------------------------ options */

/* Output, target, pace and group options: 0, or an exit status. */
static int other_option(int c, const char *arg, struct opts *o)
{
	struct ev_error err;

	switch (c) {
	case OPT_COLOR:
		if (strcmp(arg, "auto") && strcmp(arg, "always") &&
		    strcmp(arg, "never"))
			return fe_usage_error(usage_short,
					      "--color: '%s' is not auto, "
					      "always or never",
					      arg);
		o->color = arg;
		return 0;
	case OPT_GROUP:
		if (!ev_group_name_ok(arg))
			return fe_usage_error(usage_short,
					      "--group: '%s' is not a group "
					      "name (letters, digits, '.', "
					      "'_', '-')",
					      arg);
		o->group = arg;
		return 0;
	case OPT_MARK:
		if (arg[0] == '\0')
			return fe_usage_error(usage_short,
					      "--mark: a replay name cannot be "
					      "empty");
		o->mark = arg;
		return 0;
	case OPT_MAX_GAP:
		if (ev_duration_parse(arg, &o->pace.max_gap_ms) != 0 ||
		    o->pace.max_gap_ms <= 0)
			return fe_usage_error(usage_short,
					      "--max-gap: '%s' is not a "
					      "duration above 0 such as 500ms, "
					      "2s or 1m",
					      arg);
		o->max_gap_set = 1;
		return 0;
	case 'o':
		if (strcmp(arg, "json") == 0)
			o->fmt = EV_OUT_JSON;
		else if (strcmp(arg, "pretty") == 0)
			o->fmt = EV_OUT_PRETTY;
		else if (strcmp(arg, "cloudevents") == 0)
			o->fmt = EV_OUT_CLOUDEVENTS;
		else if (strcmp(arg, "msgpack") == 0)
			o->fmt = EV_OUT_MSGPACK;
		else
			return fe_usage_error(usage_short,
					      "--output: '%s' is not json, "
					      "pretty, cloudevents or msgpack",
					      arg);
		o->out_set = 1;
		return 0;
	case OPT_RATE:
	case OPT_SPEED:
		if (o->pace.mode != 0)
			return fe_usage_error(usage_short,
					      "--rate and --speed cannot be "
					      "combined");
		if (c == OPT_RATE &&
		    ev_pace_rate_parse(arg, &o->pace.rate, &err) != 0)
			return fe_usage_error(usage_short, "--rate: %s",
					      err.msg);
		if (c == OPT_SPEED &&
		    ev_pace_speed_parse(arg, &o->pace.speed, &err) != 0)
			return fe_usage_error(usage_short, "--speed: %s",
					      err.msg);
		o->pace.mode = c == OPT_RATE ? EV_PACE_RATE : EV_PACE_SPEED;
		return 0;
	case OPT_TEMPLATE:
		ev_template_free(o->tpl);
		o->tpl = NULL;
		if (ev_template_new(&o->tpl, arg, &err) != 0)
			return err.code == EV_EUSAGE
				       ? fe_usage_error(usage_short,
							"--template: %s",
							err.msg)
				       : fe_oom();
		return 0;
	}
	return 0;
}

/* --from and -n on a kafka LOG: positions per partition.  0, or an
 * exit status. */
static int kafka_position(int c, const char *arg, struct opts *o)
{
	struct ev_kafka_from *nf;
	struct ev_error err;

	if (c == 'n') {
		if (fe_parse_u64(arg, &o->klast) != 0)
			return fe_usage_error(usage_short,
					      "-n: '%s' is not a number", arg);
		o->has_klast = 1;
		return 0;
	}
	if ((nf = realloc(o->kfrom, (o->nkfrom + 1) * sizeof(*nf))) == NULL)
		return fe_oom();
	o->kfrom = nf;
	if (ev_kafka_from_parse(arg, &o->kfrom[o->nkfrom], &err) != 0)
		return fe_usage_error(usage_short, "%s", err.msg);
	o->nkfrom++;
	return 0;
}

/* -X, --kafka-config, --kafka-format, --kafka-timeout; --from and -n on
 * a kafka LOG: 0, or an exit status. */
static int kafka_option(int c, const char *arg, struct opts *o)
{
	struct ev_error err;
	const char *name = c == 'X'		   ? "-X"
			   : c == OPT_KAFKA_CONFIG ? "--kafka-config"
			   : c == OPT_KAFKA_FORMAT ? "--kafka-format"
						   : "--kafka-timeout";

	if (c == FE_OPT_FROM || c == 'n')
		return kafka_position(c, arg, o);
	if (c == OPT_PARTITIONS || c == OPT_REPLICATION_FACTOR) {
		uint64_t v;
		if (fe_parse_u64(arg, &v) != 0 || v < 1 ||
		    v > (c == OPT_PARTITIONS ? 1000000 : 32767))
			return fe_usage_error(
				usage_short,
				"%s: '%s' is not a number from 1 to %s",
				c == OPT_PARTITIONS ? "--partitions"
						    : "--replication-factor",
				arg, c == OPT_PARTITIONS ? "1000000" : "32767");
		*(c == OPT_PARTITIONS ? &o->kparts : &o->krepl) = (int)v;
		if (o->kafka_opt == NULL)
			o->kafka_opt = c == OPT_PARTITIONS
					       ? "--partitions"
					       : "--replication-factor";
		return 0;
	}
	if (o->kafka_opt == NULL)
		o->kafka_opt = name;
	switch (c) {
	case 'X':
		if (ev_kafka_props_add(&o->kprops, arg, &err) != 0)
			return err.code == EV_EUSAGE
				       ? fe_usage_error(usage_short, "%s",
							err.msg)
				       : fe_oom();
		return 0;
	case OPT_KAFKA_CONFIG:
		if (ev_kafka_props_load(&o->kprops, arg, &err) != 0)
			return err.code == EV_EUSAGE
				       ? fe_usage_error(usage_short,
							"--kafka-config: %s",
							err.msg)
				       : fe_reportf(&err, "--kafka-config");
		return 0;
	case OPT_KAFKA_FORMAT:
		if (ev_kafka_format_parse(arg, &o->kfmt, &err) != 0)
			return fe_usage_error(usage_short, "%s", err.msg);
		o->kfmt_set = 1;
		return 0;
	default:
		if (ev_duration_parse(arg, &o->kafka_timeout_ms) != 0 ||
		    o->kafka_timeout_ms <= 0 || o->kafka_timeout_ms > INT32_MAX)
			return fe_usage_error(usage_short,
					      "--kafka-timeout: '%s' is not a "
					      "duration such as 500ms or 10s",
					      arg);
		return 0;
	}
}

/* Does a rewrite take option c?  If not, the first such one is kept
 * for the message. */
static void note_option(struct opts *o, int c, int idx)
{
	switch (c) {
	case OPT_IN_PLACE:
	case OPT_REWRITE:
	case OPT_REWRITE_TO:
	case OPT_PROGRESS:
	case OPT_NO_PROGRESS:
	case FE_OPT_UPCAST:
	case FE_OPT_ON_ERROR:
	case 'h':
	case 'V':
	case '?':
	case ':':
		return;
	}
	if (o->not_rewrite[0] != '\0')
		return;
	if (idx >= 0)
		snprintf(o->not_rewrite, sizeof(o->not_rewrite), "--%s",
			 longopts[idx].name);
	else
		snprintf(o->not_rewrite, sizeof(o->not_rewrite), "-%c", c);
}

/* Is the LOG operand a kafka log?  The options are parsed once,
 * quietly, to find it: it changes what --from and -n take. */
static int kafka_operand(int argc, char **argv)
{
	int save = opterr, r;

	opterr = 0;
	optind = 0;
	while (getopt_long(argc, argv, "chn:o:VX:", longopts, NULL) != -1)
		;
	r = optind < argc && ev_kafka_is_addr(argv[optind]);
	opterr = save;
	optind = 0; /* parse again, from the start */
	return r;
}

/* -1 to go on, or an exit status. */
static int parse_options(int argc, char **argv, struct opts *o)
{
	int c, r, idx;

	while ((idx = -1, c = getopt_long(argc, argv, "chn:o:VX:", longopts,
					  &idx)) != -1) {
		note_option(o, c, idx);
		switch (c) {
		case 'c':
			o->create = 1;
			continue;
		case OPT_CHECK:
			o->check = 1;
			continue;
		case 'h':
			fe_help(usage_short, usage_long);
			return EV_EXIT_OK;
		case 'V':
			fe_version();
			return EV_EXIT_OK;
		case OPT_EXEC:
			o->con.cmd = optarg;
			continue;
		case OPT_NO_PROGRESS:
		case OPT_PROGRESS:
			o->progress = c == OPT_PROGRESS;
			continue;
		case OPT_IN_PLACE:
			o->in_place = 1;
			continue;
		case OPT_RENUMBER:
			o->renumber = 1;
			continue;
		case OPT_REWRITE:
			o->rewrite = 1;
			continue;
		case OPT_REWRITE_TO:
			o->rewrite_to = optarg;
			continue;
		case OPT_STATE_DIR:
			o->state_dir = optarg;
			continue;
		case OPT_TO_LOG:
			o->to_log = optarg;
			continue;
		case OPT_WAIT:
			o->wait = 1;
			continue;
		case 'X':
		case OPT_KAFKA_CONFIG:
		case OPT_KAFKA_FORMAT:
		case OPT_KAFKA_TIMEOUT:
		case OPT_PARTITIONS:
		case OPT_REPLICATION_FACTOR:
			r = kafka_option(c, optarg, o);
			break;
		case FE_OPT_TO:
			/* PARTITION:OFFSET on a kafka LOG; @TIME is the
			 * selection's */
			if (o->kafka_source) {
				struct ev_kafka_from t, *nt;
				if (ev_kafka_to_parse(optarg, &t)) {
					nt = realloc(o->kto, (o->nkto +
							      1) * sizeof(*nt));
					if (nt == NULL)
						return fe_oom();
					o->kto = nt;
					o->kto[o->nkto++] = t;
					continue;
				}
			}
			if ((r = fe_select_option(&o->sel, c, optarg)) == -1)
				return fe_usage_error(usage_short, NULL);
			break;
		case FE_OPT_FROM:
		case 'n':
			if (o->kafka_source) {
				r = kafka_option(c, optarg, o);
				break;
			}
			if ((r = fe_select_option(&o->sel, c, optarg)) == -1)
				return fe_usage_error(usage_short, NULL);
			break;
		case OPT_COLOR:
		case OPT_GROUP:
		case OPT_MARK:
		case OPT_MAX_GAP:
		case 'o':
		case OPT_RATE:
		case OPT_SPEED:
		case OPT_TEMPLATE:
			r = other_option(c, optarg, o);
			break;
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

/* The target: stdout, --to-log or --exec.  -1 to go on, or an exit
 * status. */
static int validate_target(struct opts *o)
{
	int stdout_opts = o->out_set || o->tpl != NULL || o->color != NULL;
	int r;

	if (o->tpl != NULL && o->out_set)
		return fe_usage_error(
			usage_short,
			"--template and --output cannot be combined");
	if (o->tpl != NULL)
		o->fmt = EV_OUT_TEMPLATE;
	if ((o->to_log != NULL) + (o->con.cmd != NULL) + stdout_opts > 1)
		return fe_usage_error(usage_short,
				      "--to-log, --exec and --output, "
				      "--template or --color are different "
				      "targets: choose one");
	if (o->to_log == NULL && (o->create || o->renumber))
		return fe_usage_error(usage_short,
				      "--create and --renumber need --to-log");
	if ((r = fe_upcast_check(&o->sel, &o->exec)) != -1)
		return r;
	if ((r = fe_exec_check(&o->exec)) != -1)
		return r;
	if ((r = fe_kdlq_check(&o->exec, &o->con, usage_short)) != -1)
		return r;
	if (o->con.cmd != NULL && o->exec.dlq != NULL && o->group == NULL)
		return fe_usage_error(usage_short,
				      "--dlq needs --group: dead letters name "
				      "the group that gave up on them");
	return -1;
}

/* A kafka LOG: -1 to go on, or an exit status.  What needs one position
 * in the log (a group's, a rewrite's, a dead letter's) is refused. */
static int validate_kafka_source(struct opts *o)
{
	struct ev_error err;

	if (ev_kafka_addr_parse(o->logpath, &o->src_addr, &err) != 0)
		return fe_usage_error(usage_short, "%s", err.msg);
	if (o->rewrite)
		return fe_usage_error(usage_short,
				      "--rewrite: not on a kafka log (it "
				      "rewrites a local log; replay the topic "
				      "into one with --to-log)");
	if (o->group != NULL && (o->has_klast || o->nkfrom > 0))
		return fe_usage_error(usage_short,
				      "--group on a kafka log starts at the "
				      "group's committed offsets: not with "
				      "--from or -n");
	if (o->state_dir != NULL || o->wait)
		return fe_usage_error(usage_short,
				      "%s: not on a kafka log (its group's "
				      "offsets are the cluster's)",
				      o->wait ? "--wait" : "--state-dir");
	if (o->con.park_streams)
		return fe_usage_error(usage_short,
				      "--dlq-policy stream: not on a kafka "
				      "log (a group on a topic orders events "
				      "per key, not per stream; evreplay(1) "
				      "KAFKA)");
	if (o->sel.scan.to.kind == EV_POS_OFFSET)
		return fe_usage_error(usage_short,
				      "--to: a kafka log has no single offset "
				      "to stop at: --to takes PARTITION:OFFSET "
				      "or @TIME there");
	if (o->group != NULL && o->nkto > 0)
		return fe_usage_error(usage_short,
				      "--to PARTITION:OFFSET: not with --group "
				      "(a group's partitions move between its "
				      "members)");
	if (o->has_klast && o->nkfrom > 0)
		return fe_usage_error(usage_short,
				      "-n and --from cannot be combined");
	if (o->kafka_target &&
	    strcmp(o->to_addr.topic, o->src_addr.topic) == 0 &&
	    strcmp(o->to_addr.brokers, o->src_addr.brokers) == 0) {
		fe_warn("--to-log: '%s' is the log being replayed", o->to_log);
		fprintf(stderr, "%s: replay into another log\n", fe_progname);
		return EV_EXIT_USAGE;
	}
	return -1;
}

/* kafka:// logs, as the source or the --to-log target: -1 to go on, or
 * an exit status.  A topic keeps no stream versions and no dedupe
 * window: what needs them is refused, never ignored. */
static int validate_kafka(struct opts *o)
{
	struct ev_error err;

	o->kafka_target = o->to_log != NULL && ev_kafka_is_addr(o->to_log);
	o->kafka_source = ev_kafka_is_addr(o->logpath);
	if (!o->kafka_target && !o->kafka_source) {
		if (o->kafka_opt != NULL && !fe_kdlq_is(o->exec.dlq))
			return fe_usage_error(usage_short,
					      "%s needs a kafka://HOST:PORT/"
					      "TOPIC log (LOG or --to-log)",
					      o->kafka_opt);
		return -1;
	}
	if (o->kfmt_set && !o->kafka_target)
		return fe_usage_error(usage_short,
				      "--kafka-format needs --to-log "
				      "kafka://...: the format of the records "
				      "read is found per record");
	if (o->kafka_target) {
		if (ev_kafka_addr_parse(o->to_log, &o->to_addr, &err) != 0)
			return fe_usage_error(usage_short, "--to-log: %s",
					      err.msg);
		if (o->renumber)
			return fe_usage_error(usage_short,
					      "--renumber: not into a kafka "
					      "log (a kafka topic keeps no "
					      "stream versions to follow on "
					      "from)");
	}
	if (!(o->kafka_target && o->create) && (o->kparts > 0 || o->krepl > 0))
		return fe_usage_error(usage_short,
				      "%s goes with -c/--create into a kafka "
				      "topic (--to-log kafka://...)",
				      o->kparts > 0 ? "--partitions"
						    : "--replication-factor");
	if (o->kafka_source)
		return validate_kafka_source(o);
	return -1;
}

/* --check: a report, not a replay.  -1 to go on, or an exit status. */
static int validate_check(struct opts *o)
{
	if (!o->check)
		return -1;
	if (o->sel.upcast_path == NULL)
		return fe_usage_error(usage_short,
				      "--check needs --upcast PATH");
	if (o->to_log != NULL || o->con.cmd != NULL || o->out_set ||
	    o->tpl != NULL || o->color != NULL || o->mark != NULL ||
	    o->pace.mode != 0 || o->group != NULL || o->sel.on_error_given ||
	    o->exec.dlq != NULL)
		return fe_usage_error(usage_short,
				      "--check reports on every event instead "
				      "of delivering them: it cannot be "
				      "combined with --to-log, --exec, "
				      "--output, --template, --color, --mark, "
				      "--rate, --speed, --group, --on-error "
				      "or --dlq");
	/* the last N are found by upcasting ahead, which counts too */
	if (o->sel.scan.last_set)
		return fe_usage_error(usage_short,
				      "--check and -n cannot be combined");
	return -1;
}

/* --rewrite: a whole log, nothing selected, delivered or paced.  -1 to
 * go on, or an exit status. */
static int validate_rewrite(struct opts *o)
{
	if (!o->rewrite) {
		if (o->rewrite_to != NULL || o->in_place)
			return fe_usage_error(usage_short,
					      "--%s needs --rewrite",
					      o->in_place ? "in-place"
							  : "rewrite-to");
		return -1;
	}
	if (o->not_rewrite[0] != '\0')
		return fe_usage_error(usage_short,
				      "--rewrite rewrites every event of LOG "
				      "into a new log: it cannot be combined "
				      "with %s",
				      o->not_rewrite);
	if (o->sel.on_error_given && o->sel.on_error != EV_UPCAST_STOP)
		return fe_usage_error(usage_short,
				      "--rewrite stops at an event it cannot "
				      "upcast: --on-error can only be stop");
	if (o->rewrite_to != NULL && o->in_place)
		return fe_usage_error(usage_short,
				      "--rewrite takes --rewrite-to NEWLOG or "
				      "--in-place, not both");
	if (o->rewrite_to == NULL && !o->in_place)
		return fe_usage_error(usage_short,
				      "--rewrite needs either --rewrite-to "
				      "NEWLOG or --in-place");
	if (o->sel.on_error_given && o->sel.upcast_path == NULL)
		return fe_usage_error(usage_short, "--on-error needs --upcast");
	if (o->progress == -1)
		o->progress = isatty(STDERR_FILENO);
	return EV_EXIT_OK;
}

/* The options together: -1 to go on, or an exit status. */
static int validate(struct opts *o)
{
	struct ev_scan_opts *so = &o->sel.scan;
	int r;

	if ((r = validate_kafka(o)) != -1)
		return r;
	if ((r = validate_rewrite(o)) != -1)
		return r == EV_EXIT_OK ? -1 : r;
	if ((r = validate_check(o)) != -1)
		return r;
	if ((r = validate_target(o)) != -1)
		return r;
	if (o->max_gap_set && o->pace.mode != EV_PACE_SPEED)
		return fe_usage_error(usage_short, "--max-gap needs --speed");
	if ((r = fe_select_check_last(&o->sel)) != -1)
		return r;
	if (o->group != NULL && so->last_set)
		return fe_usage_error(usage_short,
				      "--group cannot be combined with -n");
	if (o->group == NULL && (o->state_dir != NULL || o->wait))
		return fe_usage_error(usage_short,
				      "--state-dir and --wait need --group");
	if ((r = fe_select_finish(&o->sel)) != -1)
		return r;
	if (o->check)
		o->progress = 0;
	o->filtered =
		o->sel.ntypes > 0 || o->sel.nstreams > 0 ||
		o->sel.ncategories > 0 || ev_filter_needs_event(o->sel.flt) ||
		so->to.kind == EV_POS_TIME || so->from.kind == EV_POS_TIME;
	/* on a terminal, unless the events go to that terminal too */
	if (o->progress == -1)
		o->progress = isatty(STDERR_FILENO) &&
			      (o->to_log != NULL || o->con.cmd != NULL ||
			       !isatty(STDOUT_FILENO));
	return -1;
}

/* ------------------------------------------------------------ progress */

struct progress {
	int on;
	int unknown;	     /* no total: a kafka log */
	uint64_t start, end; /* the offsets the replay spans */
	int estimate;	     /* a filter: the total is a guess */
	struct timespec t0;
	size_t width; /* of the line shown, to erase it */
};

static double since_start(const struct progress *p)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - p->t0.tv_sec) +
	       (double)(t.tv_nsec - p->t0.tv_nsec) / 1e9;
}

/* "1,234/10,000 events (12%), 2,000/s, 4s left": with a filter, the
 * total is the events done so far over the part of the log read. */
static void show_progress(void *ctx, const struct ev_consumer_stats *st)
{
	struct progress *p = ctx;
	uint64_t done = st->handled + st->dead_lettered + st->skipped;
	uint64_t span = p->end > p->start ? p->end - p->start : 0;
	uint64_t read = st->position > p->start ? st->position - p->start : 0;
	/* a rate from the first instants says little */
	double secs = since_start(p), rate = secs >= 0.5 ? done / secs : 0;
	double total = (double)span, pct;
	char b1[32], b2[32], b3[32], eta[32] = "", line[200];
	int n;

	if (p->unknown) {
		n = snprintf(line, sizeof(line), "%s: %s events", fe_progname,
			     ev_commas(done, b1));
		if (rate > 0)
			n += snprintf(line + n, sizeof(line) - (size_t)n,
				      ", %s/s", ev_commas((uint64_t)rate, b3));
		fprintf(stderr, "\r%s%*s", line,
			p->width > (size_t)n ? (int)(p->width - (size_t)n) : 0,
			"");
		fflush(stderr);
		p->width = (size_t)n;
		return;
	}
	if (p->estimate)
		total = read > 0 ? (double)done * span / read : 0;
	if (total < done)
		total = done;
	pct = span > 0 ? 100.0 * read / span : 100;
	if (pct > 100)
		pct = 100;
	if (rate > 0 && total > done)
		ev_age_format(0,
			      (ev_time_t)((total - done) / rate * 1e9 < 9e18
						  ? (total - done) / rate * 1e9
						  : 9e18),
			      eta, sizeof(eta));
	n = snprintf(line, sizeof(line), "%s: %s/%s%s events (%.0f%%)",
		     fe_progname, ev_commas(done, b1), p->estimate ? "~" : "",
		     ev_commas((uint64_t)total, b2), pct);
	if (rate > 0)
		n += snprintf(line + n, sizeof(line) - (size_t)n, ", %s/s",
			      ev_commas((uint64_t)rate, b3));
	if (eta[0])
		n += snprintf(line + n, sizeof(line) - (size_t)n, ", %s left",
			      eta);
	fprintf(stderr, "\r%s%*s", line,
		p->width > (size_t)n ? (int)(p->width - (size_t)n) : 0, "");
	fflush(stderr);
	p->width = (size_t)n;
}

/* Erase the progress line, so that what follows starts clean. */
static void end_progress(struct progress *p)
{
	if (!p->on || p->width == 0)
		return;
	fprintf(stderr, "\r%*s\r", (int)p->width, "");
	fflush(stderr);
	p->width = 0;
}

/* ------------------------------------------------------------ targets */

/* Is path the log being replayed (the same directory, whatever its
 * name), or the directory of the segment file being replayed? */
static int same_log(const char *path, const char *logpath)
{
	struct stat a, b;
	char *dup, *dir;
	int same;

	if (stat(path, &a) != 0 || stat(logpath, &b) != 0)
		return 0;
	if (S_ISREG(b.st_mode)) {
		if ((dup = strdup(logpath)) == NULL)
			return 0;
		dir = dirname(dup);
		same = stat(dir, &b) == 0 && a.st_dev == b.st_dev &&
		       a.st_ino == b.st_ino;
		free(dup);
		return same;
	}
	return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* The log --to-log names, opened when it exists (so that anything wrong
 * with it stops us before the group is taken).  0, or an exit status. */
static int open_target(struct opts *o, struct ev_log **log)
{
	struct ev_error err;
	struct stat st;
	int r;

	if (o->kafka_target)
		return 0; /* the producer: open_kafka_target() */
	if (same_log(o->to_log, o->logpath)) {
		fe_warn("--to-log: '%s' is the log being replayed ('%s')",
			o->to_log, o->logpath);
		fprintf(stderr, "%s: replay into another log\n", fe_progname);
		return EV_EXIT_USAGE;
	}
	if (lstat(o->to_log, &st) != 0 && errno == ENOENT) {
		if (o->create)
			return 0; /* made once the source is open */
		fe_warn("--to-log: no log at '%s'", o->to_log);
		fe_warn("use -c/--create to create it, or 'evctl init %s'",
			o->to_log);
		return EV_EXIT_NOINPUT;
	}
	if ((r = ev_log_open(log, o->to_log, &err)) != 0)
		return fe_reportf(&err, "--to-log");
	if (ev_log_get_config(*log)->dead_letters) {
		fe_warn("--to-log: '%s' is a dead-letter log", o->to_log);
		return EV_EXIT_USAGE;
	}
	return 0;
}

/* Create the --to-log log: 0, or an exit status. */
static int create_target(struct opts *o, struct ev_log **log)
{
	struct ev_error err;

	if (ev_log_create(o->to_log, NULL, &err) != 0 ||
	    ev_log_open(log, o->to_log, &err) != 0)
		return fe_reportf(&err, "--to-log");
	return 0;
}

/* A name for the marks of a replay into a log: "replay-" and the time
 * of the run, to the second. */
static void generated_name(ev_time_t at, char out[64])
{
	char t[40];

	ev_time_format(at, t);
	snprintf(out, 64, "replay-%.19sZ", t);
}

/* ------------------------------------------------------------ delivery */

/* A kafka LOG: where each partition stands, from the events delivered
 * in order (not with --exec), so that a stopped replay says where to
 * go on.  It stands in front of the real sink. */
struct ktrack {
	int nparts;
	int64_t *next; /* per partition: 1 + its last offset delivered */
	struct ev_output *out;
	ev_sink_fn sink;
	ev_flush_fn flush;
	void *ctx;
};

static int ktrack_sink(void *ctx, const struct ev_rec *rec,
		       const struct ev_event *ev, struct ev_error *err)
{
	struct ktrack *t = ctx;
	int r = t->out != NULL ? ev_output_event(t->out, rec, ev, err)
			       : t->sink(t->ctx, rec, ev, err);

	if (r == 0 && rec->kafka && rec->partition >= 0 &&
	    rec->partition < t->nparts)
		t->next[rec->partition] = rec->koffset + 1;
	return r;
}

static int ktrack_flush(void *ctx, struct ev_error *err)
{
	struct ktrack *t = ctx;

	if (t->out != NULL)
		return ev_output_flush(t->out, err);
	return t->flush != NULL ? t->flush(t->ctx, err) : 0;
}

struct run {
	struct opts *o;
	struct fe_input in;
	struct ev_kafka_consumer *kc; /* a kafka LOG */
	struct ktrack kt;
	struct ev_scan *scan;
	struct ev_log *target;
	int target_new;
	struct ev_replay *rp;
	struct ev_kafka_sink *ks; /* --to-log kafka://... */
	struct ev_kafka_conn_opts kco;
	struct fe_kdlq kd; /* --dlq kafka://... */
	struct ev_output *out;
	struct ev_pace *pace;
	struct ev_mark mark;
	char name[64];
	struct progress prog;
	int skips_kept; /* --to-log --on-error skip: the replay keeps them */
	/* --to-log's sink, behind to_sink(): an error is LOG2's only when
	 * it comes from there (not from LOG, or --speed) */
	ev_sink_fn sink;
	ev_flush_fn flush;
	void *sink_ctx;
	int target_failed;
};

static int to_sink(void *ctx, const struct ev_rec *rec,
		   const struct ev_event *ev, struct ev_error *err)
{
	struct run *u = ctx;
	int r = u->sink(u->sink_ctx, rec, ev, err);

	u->target_failed |= r != 0;
	return r;
}

static int to_flush(void *ctx, struct ev_error *err)
{
	struct run *u = ctx;
	int r = u->flush(u->sink_ctx, err);

	u->target_failed |= r != 0;
	return r;
}

/* --to-log LOG --on-error skip: the skipped events are kept by the
 * replay, and warned of and counted at the end only as far as it got (a
 * version conflict found at a later batch stops it before them). */
static int skipped_to_log(void *ctx, const struct ev_rec *rec,
			  const struct ev_error *why, struct ev_error *err)
{
	struct run *u = ctx;

	return u->rp != NULL
		       ? ev_replay_skipped(u->rp, rec->offset, why->msg, err)
		       : 0;
}

/* The warnings of the skipped events the replay reached. */
static void skips_warn(const struct run *u)
{
	const char *why;
	size_t i;

	for (i = 0; u->skips_kept && u->rp != NULL &&
		    (why = ev_replay_skip_why(u->rp, i)) != NULL;
	     i++)
		fe_warn("warning: %s; skipped", why);
}

/* The producer of --to-log kafka://...: 0, or an exit status.  An
 * unreachable cluster or a missing topic stops us before the source is
 * read (and before a group is taken). */
static int open_kafka_target(struct run *u)
{
	struct opts *o = u->o;
	struct ev_error err;
	int r;

	u->kco.addr = &o->to_addr;
	u->kco.props = &o->kprops;
	u->kco.timeout_ms = (int)o->kafka_timeout_ms;
	/* -c: the topic through the admin API, when it is missing */
	if (o->create &&
	    (r = ev_kafka_topic_create(&u->kco, o->kparts > 0 ? o->kparts : -1,
				       o->krepl > 0 ? o->krepl : -1, &err)) < 0)
		return r == EV_EUSAGE
			       ? fe_usage_error(usage_short, "%s", err.msg)
			       : fe_reportf(&err, "--to-log");
	if (ev_kafka_sink_open(&u->ks, &u->kco, o->kfmt, o->logpath, &err) != 0)
		return err.code == EV_EUSAGE
			       ? fe_usage_error(usage_short, "%s", err.msg)
			       : fe_reportf(&err, "--to-log");
	/* stopped, the acks are waited for --kafka-timeout more at most */
	ev_kafka_sink_set_stop(u->ks, &stop_requested);
	return 0;
}

/* The exit status for how the consumer ended. */
static int outcome(struct run *u, int r, struct ev_error *err)
{
	if (r == 0)
		return EV_EXIT_OK;
	if (u->out != NULL && ev_output_errno(u->out) == EPIPE)
		return EV_EXIT_OK; /* the reader went away: a normal end */
	if (u->rp != NULL && u->target_failed && err->code == EV_EAGAIN) {
		r = fe_reportf(err, "--to-log '%s'", u->o->to_log);
		fe_warn("use --renumber to give them the versions that follow "
			"in '%s'",
			u->o->to_log);
		return r;
	}
	if (u->target_failed)
		return fe_reportf(err, "--to-log '%s'", u->o->to_log);
	return fe_report(err);
}

/* Does a kafka LOG's replay read partition p?  --from P:OFFSET alone
 * reads only the partitions it names. */
static int kafka_reads(const struct opts *o, int p)
{
	size_t i;
	int named = 0;

	for (i = 0; i < o->nkfrom; i++) {
		if (o->kfrom[i].kind != EV_KAFKA_FROM_OFFSET)
			return 1;
		named |= o->kfrom[i].partition == p;
	}
	return o->nkfrom == 0 || named;
}

/* Where a stopped replay stands, and how to go on from there.  Events
 * --to-log kafka://... did not deliver count as not replayed: the first
 * of them in each partition is where it resumes. */
static void report_stop_kafka(struct run *u, const struct ev_consumer_stats *st)
{
	const struct ev_kafka_sink_stats *ks =
		u->ks != NULL ? ev_kafka_sink_stats(u->ks) : NULL;
	uint64_t done =
		ks != NULL && ks->failed > 0 ? ks->delivered : st->handled;
	const char *what = ks != NULL && ks->failed > 0 ? " delivered" : "";
	char b[32], *from, *rest;
	size_t n = 0, m = 0, cap;
	int p, missing = 0;
	int64_t f;

	if (u->o->group != NULL) {
		fe_warn("stopped after %s events%s; group '%s' resumes from "
			"the offsets it committed",
			ev_commas(done, b), what, u->o->group);
		return;
	}
	if (u->kt.next == NULL) {
		fe_warn("stopped; a kafka log's place per partition is kept "
			"only for standard output and --to-log, not with "
			"--exec or --check (evreplay(1) KAFKA)");
		return;
	}
	/* " --from P:OFFSET" and "P," each fit in 40 */
	cap = (size_t)u->kt.nparts * 40 + 1;
	from = malloc(cap);
	rest = malloc(cap);
	if (from == NULL || rest == NULL) {
		free(from);
		free(rest);
		fe_oom();
		return;
	}
	from[0] = rest[0] = '\0';
	for (p = 0; p < u->kt.nparts; p++) {
		if (u->ks != NULL &&
		    (f = ev_kafka_sink_failed_from(u->ks, p)) >= 0 &&
		    (u->kt.next[p] < 0 || f < u->kt.next[p]))
			u->kt.next[p] = f;
		if (u->kt.next[p] >= 0)
			n += (size_t)snprintf(from + n, cap - n,
					      " --from %d:%lld", p,
					      (long long)u->kt.next[p]);
		else if (kafka_reads(u->o, p))
			m += (size_t)snprintf(rest + m, cap - m, "%s%d",
					      missing++ ? "," : "", p);
	}
	if (n == 0)
		fe_warn("stopped before any event%s; run it again to resume",
			what);
	else if (!missing)
		fe_warn("stopped after %s events%s; resume with%s",
			ev_commas(done, b), what, from);
	else
		fe_warn("stopped after %s events%s; resume with%s, and for "
			"partition %s --from where this run started (none of "
			"its events was delivered)",
			ev_commas(done, b), what, from, rest);
	free(from);
	free(rest);
}

static void report_stop(struct run *u, const struct ev_consumer_stats *st)
{
	uint64_t pos = st->position;
	int64_t f;

	if (u->kc != NULL) {
		report_stop_kafka(u, st);
		return;
	}
	/* what --to-log kafka://... did not deliver is not replayed: a
	 * group did not commit past it */
	if (u->ks != NULL && ev_kafka_sink_stats(u->ks)->failed > 0) {
		if (u->o->group != NULL)
			pos = st->committed;
		else if ((f = ev_kafka_sink_failed_from(u->ks, -1)) >= 0 &&
			 (uint64_t)f < pos)
			pos = (uint64_t)f;
	}
	if (u->o->group != NULL)
		fe_warn("stopped before offset %llu; group '%s' resumes there",
			(unsigned long long)pos, u->o->group);
	else
		fe_warn("stopped before offset %llu; resume with --from %llu",
			(unsigned long long)pos, (unsigned long long)pos);
}

static void summary(struct run *u, const struct ev_consumer_stats *st)
{
	char b1[32], b2[32], b3[32];
	const struct ev_replay_stats *rs;

	if (st->dead_lettered > 0 || st->skipped > 0)
		fe_warn("%s handled, %s dead-lettered, %s skipped",
			ev_commas(st->handled, b1),
			ev_commas(st->dead_lettered, b2),
			ev_commas(st->skipped, b3));
	/* as evpub says it: only when some were there already, or when
	 * progress was shown */
	rs = u->rp != NULL ? ev_replay_stats(u->rp) : NULL;
	if (rs != NULL && (rs->duplicates > 0 || u->prog.on))
		fe_warn("%s appended, %s duplicate",
			ev_commas(rs->appended, b1),
			ev_commas(rs->duplicates, b2));
	if (u->ks != NULL && u->prog.on)
		fe_warn("%s delivered to '%s'",
			ev_commas(ev_kafka_sink_stats(u->ks)->delivered, b1),
			u->o->to_log);
}

/* The sink: 0, or an exit status. */
static int set_sink(struct run *u, struct ev_error *err)
{
	struct opts *o = u->o;
	int r;

	if (u->ks != NULL) {
		o->con.sink = ev_kafka_sink_event;
		o->con.flush = ev_kafka_sink_flush;
		o->con.sink_ctx = u->ks;
		o->con.sink_needs_event = 1;
		return 0;
	}
	if (o->to_log != NULL) {
		if ((r = ev_replay_open(&u->rp, u->target, o->logpath,
					o->renumber, err)) != 0)
			return fe_reportf(err, "--to-log '%s'", o->to_log);
		o->con.sink = ev_replay_sink;
		o->con.flush = ev_replay_flush;
		o->con.sink_ctx = u->rp;
		o->con.sink_needs_event = 1;
		return 0;
	}
	if (o->con.cmd != NULL) {
		if (u->in.dlqlog != NULL)
			ev_log_set_notice(u->in.dlqlog, fe_warning, NULL);
		o->con.dlq = u->in.dlqlog;
		return 0;
	}
	r = ev_output_new(&u->out, STDOUT_FILENO, o->fmt, o->tpl,
			  o->fmt == EV_OUT_PRETTY && fe_color(o->color, stdout),
			  err);
	if (r != 0)
		return fe_report(err);
	ev_output_set_position(u->out, ev_scan_start(u->scan));
	o->con.output = u->out;
	return 0;
}

/* A kafka LOG delivered in order: the tracker in front of the sink.  0,
 * or an exit status. */
static int ktrack(struct run *u)
{
	struct ev_consumer_opts *co = &u->o->con;
	int p;

	u->kt.nparts = ev_kafka_scan_partitions(u->scan);
	if (u->kt.nparts <= 0)
		return 0;
	if ((u->kt.next = malloc((size_t)u->kt.nparts * sizeof(int64_t))) ==
	    NULL)
		return fe_oom();
	for (p = 0; p < u->kt.nparts; p++)
		u->kt.next[p] = -1;
	u->kt.out = co->output;
	u->kt.sink = co->sink;
	u->kt.flush = co->flush;
	u->kt.ctx = co->sink_ctx;
	co->output = NULL;
	co->sink = ktrack_sink;
	co->flush = ktrack_flush;
	co->sink_ctx = &u->kt;
	return 0;
}

/* Deliver the scan: an exit status. */
static int deliver(struct run *u)
{
	struct opts *o = u->o;
	struct ev_consumer *con = NULL;
	const struct ev_consumer_stats *st;
	struct ev_error err, err2;
	int rc, r, r2;

	o->con.scan = u->scan;
	o->con.group = u->in.grp;
	o->con.log = u->in.log;
	o->con.log_name = o->logpath;
	o->con.notice = fe_notice;
	o->con.pace = u->pace;
	if (o->mark != NULL)
		o->con.mark = &u->mark;
	if (u->prog.on) {
		o->con.tick = show_progress;
		o->con.tick_ctx = &u->prog;
		o->con.tick_ms = 100; /* at most 10 updates a second */
	}
	if ((rc = set_sink(u, &err)) != 0)
		return rc;
	if (u->rp != NULL || u->ks != NULL) {
		u->sink = o->con.sink;
		u->flush = o->con.flush;
		u->sink_ctx = o->con.sink_ctx;
		o->con.sink = to_sink;
		o->con.flush = to_flush;
		o->con.sink_ctx = u;
	}
	if (u->kc != NULL && o->con.cmd == NULL && (rc = ktrack(u)) != 0)
		return rc;
	fe_on_stop(on_signal);
	if ((r = ev_consumer_new(&con, &o->con, &err)) != 0) {
		rc = fe_report(&err);
		goto out;
	}
	r = ev_consumer_run(con, &stop_requested, &err);
	if (u->out != NULL && ev_output_errno(u->out) == 0 &&
	    (r2 = ev_output_end(u->out, &err2)) != 0 && r == 0) {
		r = r2;
		err = err2;
	}
	if ((u->rp != NULL || u->ks != NULL) &&
	    (r2 = to_flush(u, &err2)) != 0 && r == 0) {
		r = r2;
		err = err2;
	}
	st = ev_consumer_stats(con);
	if (u->prog.on && r == 0)
		show_progress(&u->prog, st);
	end_progress(&u->prog);
	skips_warn(u);
	rc = outcome(u, r, &err);
	summary(u, st);
	if (rc == 0 && st->failed)
		rc = EV_EXIT_FAILURE;
	/* events a topic did not take: where each partition resumes */
	if (stop_requested || (u->kc != NULL && u->ks != NULL &&
			       ev_kafka_sink_stats(u->ks)->failed > 0))
		report_stop(u, st);
out:
	ev_consumer_free(con);
	return rc;
}

/* A kafka LOG read from the start: the total from the partitions'
 * watermarks (an estimate: offsets a topic skips, such as transaction
 * markers, count too); from elsewhere, or when the cluster does not
 * say, none. */
static void set_progress_kafka(struct run *u)
{
	struct opts *o = u->o;
	struct ev_kafka_conn_opts co;
	struct ev_kafka_topic_info *ti = NULL;
	struct ev_error err;
	uint64_t total = 0;
	size_t i;

	u->prog.unknown = 1;
	if (!u->prog.on || o->nkfrom > 0 || o->has_klast || o->group != NULL)
		return;
	co.addr = &o->src_addr;
	co.props = &o->kprops;
	co.timeout_ms = (int)o->kafka_timeout_ms;
	if (ev_kafka_topic_describe(&co, &ti, &err) != 0)
		return;
	for (i = 0; i < ti->nparts; i++) {
		if (ti->parts[i].low < 0 ||
		    ti->parts[i].high < ti->parts[i].low)
			break;
		total += (uint64_t)(ti->parts[i].high - ti->parts[i].low);
	}
	if (i == ti->nparts) {
		u->prog.unknown = 0;
		u->prog.estimate = 1;
		u->prog.start = 0;
		u->prog.end = total;
	}
	ev_kafka_topic_info_free(ti);
}

/* What the progress display counts from, and to. */
static void set_progress(struct run *u)
{
	struct opts *o = u->o;
	const struct ev_pos *to = &o->sel.scan.to;

	u->prog.on = o->progress;
	u->prog.estimate = o->filtered;
	clock_gettime(CLOCK_MONOTONIC, &u->prog.t0);
	if (u->kc != NULL) {
		set_progress_kafka(u);
		return;
	}
	u->prog.start = ev_scan_start(u->scan);
	u->prog.end = ev_reader_end_offset(u->in.rd);
	if (to->kind == EV_POS_OFFSET && to->offset + 1 < u->prog.end)
		u->prog.end = to->offset + 1;
	clock_gettime(CLOCK_MONOTONIC, &u->prog.t0);
}

static int open_local_source(struct run *u);
static int open_kafka_source(struct run *u);

/* Open the source (and group), the target, the scan: 0, or an exit
 * status. */
static int open_all(struct run *u)
{
	struct opts *o = u->o;
	struct ev_scan_opts *so = &o->sel.scan;
	struct ev_error err;
	int r;

	if (o->to_log != NULL && (r = open_target(o, &u->target)) != 0)
		return r;
	if (o->kafka_target && (r = open_kafka_target(u)) != 0)
		return r;
	/* the JSON fast path unless the events are needed */
	so->decode = o->check || o->con.cmd != NULL || o->to_log != NULL ||
		     o->mark != NULL || o->pace.mode == EV_PACE_SPEED ||
		     o->fmt != EV_OUT_JSON;
	if (o->kafka_source) {
		if ((r = open_kafka_source(u)) != 0)
			return r;
	} else if ((r = open_local_source(u)) != 0) {
		return r;
	}
	if (o->pace.mode != 0 &&
	    (r = ev_pace_new(&u->pace, &o->pace, &err)) != 0)
		return fe_report(&err);
	if (o->to_log != NULL && !o->kafka_target && u->target == NULL) {
		if ((r = create_target(o, &u->target)) != 0)
			return r;
		u->target_new = 1;
	}
	return 0;
}

/* A local LOG, its group and the scan: 0, or an exit status. */
static int open_local_source(struct run *u)
{
	struct opts *o = u->o;
	struct ev_scan_opts *so = &o->sel.scan;
	struct ev_error err;
	int r;

	u->in.path = o->logpath;
	u->in.group = o->group;
	u->in.state_dir = o->state_dir;
	u->in.wait = o->wait;
	u->in.dlq =
		o->con.cmd != NULL || o->exec.upcast_dlq ? o->exec.dlq : NULL;
	if (fe_kdlq_is(u->in.dlq))
		u->in.dlq = NULL; /* a dead-letter topic: opened below */
	if ((r = fe_input_open(&u->in, usage_short)) != 0)
		return r;
	if (o->con.cmd != NULL && fe_kdlq_is(o->exec.dlq) &&
	    (r = fe_kdlq_open(&u->kd, o->exec.dlq, &o->kprops,
			      o->kafka_timeout_ms, &o->con, usage_short)) != 0)
		return r;
	if ((r = fe_kdlq_is(o->exec.dlq)
			 ? fe_kdlq_upcast(&u->kd, &o->sel, o->exec.dlq,
					  &o->kprops, o->kafka_timeout_ms,
					  o->logpath,
					  ev_reader_log_id(u->in.rd), o->group,
					  usage_short)
			 : fe_upcast_dlq(&o->sel, u->in.dlqlog, o->logpath,
					 ev_reader_log_id(u->in.rd),
					 o->group)) != 0)
		return r;
	fe_select_explain(&o->sel, u->in.log, o->logpath);
	fe_select_scan(&o->sel, o->logpath);
	so->group = u->in.grp;
	if ((r = ev_scan_open(&u->scan, u->in.log, u->in.rd, so, &err)) != 0)
		return fe_report(&err);
	return 0;
}

/* --speed on a kafka LOG: the partitions are read side by side, each in
 * time order but not together, so it takes one.  0, or an exit status. */
static int kafka_speed(struct run *u)
{
	const struct opts *o = u->o;
	int n = ev_kafka_scan_partitions(u->scan);
	size_t i, j;

	/* P:OFFSET only: the partitions it names */
	for (i = 0; i < o->nkfrom && o->kfrom[i].kind == EV_KAFKA_FROM_OFFSET;
	     i++)
		;
	if (o->nkfrom > 0 && i == o->nkfrom) {
		for (n = 0, i = 0; i < o->nkfrom; i++) {
			for (j = 0; j < i && o->kfrom[j].partition !=
						     o->kfrom[i].partition;
			     j++)
				;
			n += j == i;
		}
	}
	if (n <= 1)
		return 0;
	return fe_usage_error(usage_short,
			      "--speed: the %d partitions of '%s' are read "
			      "side by side, so event times go back and "
			      "forth: read one partition (--from "
			      "PARTITION:OFFSET), or pace with --rate",
			      n, o->src_addr.topic);
}

/* A kafka LOG: its consumer (no group) from --from or -n, read as a
 * scan.  0, or an exit status. */
static int open_kafka_source(struct run *u)
{
	struct opts *o = u->o;
	struct ev_scan_opts *so = &o->sel.scan;
	struct ev_kafka_consumer_opts co;
	struct ev_error err;
	int r;

	memset(&co, 0, sizeof(co));
	co.conn.addr = &o->src_addr;
	co.conn.props = &o->kprops;
	co.conn.timeout_ms = (int)o->kafka_timeout_ms;
	co.from = o->kfrom;
	co.nfrom = o->nkfrom;
	co.to = o->kto;
	co.nto = o->nkto;
	co.has_last = o->has_klast;
	co.last = o->klast;
	co.group = o->group;
	co.notice = fe_notice; /* --from P:O's offsets lost to retention */
	if (ev_kafka_props_check(&o->kprops, &err) != 0)
		return err.code == EV_EUSAGE
			       ? fe_usage_error(usage_short, "%s", err.msg)
			       : fe_report(&err);
	/* what the topic rules out, as on a local log's open: no usage */
	if (ev_kafka_consumer_open(&u->kc, &co, &err) != 0)
		return fe_report(&err);
	/* a local dead-letter log, for the handler's letters and --on-error
	 * dlq's (before the scan takes those): letters name the topic and
	 * partition */
	if (fe_kdlq_is(o->exec.dlq)) {
		if (o->con.cmd != NULL &&
		    (r = fe_kdlq_open(&u->kd, o->exec.dlq, &o->kprops,
				      o->kafka_timeout_ms, &o->con,
				      usage_short)) != 0)
			return r;
		if ((r = fe_kdlq_upcast(&u->kd, &o->sel, o->exec.dlq,
					&o->kprops, o->kafka_timeout_ms,
					o->logpath, o->src_addr.topic, o->group,
					usage_short)) != 0)
			return r;
	} else if ((o->con.cmd != NULL || o->exec.upcast_dlq) &&
		   o->exec.dlq != NULL) {
		if ((r = ev_dlq_open(&u->in.dlqlog, o->exec.dlq, NULL, &err)) !=
		    0)
			return r == EV_EUSAGE ? fe_reportf(&err, "--dlq")
					      : fe_report(&err);
		if ((r = fe_upcast_dlq(&o->sel, u->in.dlqlog, o->logpath,
				       o->src_addr.topic, o->group)) != 0)
			return r;
	}
	fe_select_scan(&o->sel, o->logpath);
	if (ev_scan_open_kafka(&u->scan, u->kc, o->src_addr.topic, so, &err) !=
	    0)
		return fe_report(&err);
	if (o->pace.mode == EV_PACE_SPEED && (r = kafka_speed(u)) != 0)
		return r;
	if (o->group != NULL) {
		/* the group's offsets, per partition, once delivered */
		o->con.commit = ev_kafka_scan_commit;
		o->con.commit_ctx = u->scan;
		o->con.commit_when_idle = 1;
		o->con.group_name = o->group;
		o->con.source_id = o->src_addr.topic;
	}
	return 0;
}

/* --check: every event of the selection through its chain, counted;
 * the report on stdout.  An exit status. */
static int check(struct run *u)
{
	struct ev_upcaster *up = u->o->sel.up;
	const struct ev_event *ev;
	struct ev_buf report = {0};
	struct ev_error err;
	struct ev_rec rec;
	uint64_t failed;
	size_t kept;
	char b[32];
	int r;

	fe_on_stop(on_signal);
	r = 0;
	while (!stop_requested) {
		if ((r = ev_scan_next(u->scan, &rec, &ev, &err)) > 0)
			continue;
		/* a kafka log: none yet is not the end */
		if (r < 0 || u->kc == NULL || ev_scan_done(u->scan) ||
		    (r = ev_scan_wait(u->scan, 1000, &err)) < 0)
			break;
	}
	if (r < 0)
		return fe_report(&err);
	if (ev_upcaster_report(up, &report) != 0) {
		ev_buf_free(&report);
		return fe_oom();
	}
	fwrite(report.p, 1, report.len, stdout);
	ev_buf_free(&report);
	if (fflush(stdout) != 0 && errno != EPIPE) {
		fe_warn("cannot write the report: %s", strerror(errno));
		return EV_EXIT_IO;
	}
	if (stop_requested) {
		report_stop(u, &(struct ev_consumer_stats){
				       .position = ev_scan_position(u->scan)});
		return EV_EXIT_OK;
	}
	(void)ev_upcaster_failures(up, &kept, &failed);
	if (failed == 0)
		return EV_EXIT_OK;
	fe_warn("%s event%s could not be upcast", ev_commas(failed, b),
		failed == 1 ? "" : "s");
	return EV_EXIT_DATA;
}

/* ------------------------------------------------------------ rewriting */

static void rewrite_tick(void *ctx, const struct ev_rewrite_progress *pr)
{
	struct progress *p = ctx;
	struct ev_consumer_stats st;

	memset(&st, 0, sizeof(st));
	p->start = pr->first;
	p->end = pr->end;
	st.handled = pr->read;
	st.position = pr->position;
	show_progress(p, &st);
}

/* "a, b, c and 4 more" */
static void stream_list(const struct ev_rewrite_result *r, char *out, size_t n)
{
	size_t len = 0;
	uint64_t i, shown = r->renumbered < EV_REWRITE_NAMES ? r->renumbered
							     : EV_REWRITE_NAMES;
	char b[32];

	out[0] = '\0';
	for (i = 0; i < shown && len < n; i++)
		len += (size_t)snprintf(out + len, n - len, "%s%s",
					i == 0 ? ""
					: i + 1 < shown || shown < r->renumbered
						? ", "
						: " and ",
					r->renumbered_names[i]);
	if (shown < r->renumbered && len < n)
		snprintf(out + len, n - len, " and %s more",
			 ev_commas(r->renumbered - shown, b));
}

static void rewrite_summary(const struct opts *o,
			    const struct ev_rewrite_result *r)
{
	char b1[32], b2[32], b3[32], b4[32], b5[32], b6[32], list[1200];

	if (r->finished_swap) {
		fe_warn("finished the swap of an interrupted rewrite: '%s' "
			"is the rewritten log, and the old one is '%s'",
			r->target, r->old_path);
		return;
	}
	if (o->in_place)
		fe_warn("rewrote '%s' in place and checked it (%.2fs); the "
			"old log is '%s'",
			r->target, r->seconds, r->old_path);
	else
		fe_warn("rewrote '%s' into '%s' and checked it (%.2fs)",
			o->logpath, r->target, r->seconds);
	if (r->split > 0)
		snprintf(list, sizeof(list), "%s split into %s",
			 ev_commas(r->split, b5), ev_commas(r->parts, b6));
	else
		snprintf(list, sizeof(list), "0 split");
	fe_warn("read %s events: %s upcast, %s unchanged, %s dropped, %s",
		ev_commas(r->read, b1), ev_commas(r->upcast, b2),
		ev_commas(r->unchanged, b3), ev_commas(r->dropped, b4), list);
	if (r->lost > 0)
		fe_warn("%s offsets that '%s' lost to gaps are closed up",
			ev_commas(r->lost, b1), o->logpath);
	if (r->caught_up > 0)
		fe_warn("%s %s appended while it ran %s included",
			ev_commas(r->caught_up, b1),
			ev_plural(r->caught_up, "event", "events"),
			r->caught_up == 1 ? "is" : "are");
	if (r->offsets_kept && r->groups == 0)
		fe_warn("wrote %s events; offsets kept",
			ev_commas(r->written, b1));
	else if (r->offsets_kept)
		fe_warn("wrote %s events; offsets kept; %s of %s consumer "
			"%s carried over",
			ev_commas(r->written, b1),
			ev_commas(r->groups_carried, b2),
			ev_commas(r->groups, b3),
			ev_plural(r->groups, "group", "groups"));
	else if (r->groups == 0)
		fe_warn("wrote %s events; offsets changed, see '%s'",
			ev_commas(r->written, b1), r->offsets_path);
	else
		fe_warn("wrote %s events; offsets changed, see '%s'; %s "
			"consumer %s not carried over",
			ev_commas(r->written, b1), r->offsets_path,
			ev_commas(r->groups, b2),
			ev_plural(r->groups, "group", "groups"));
	if (r->renumbered == 0) {
		fe_warn("no stream renumbered");
		return;
	}
	stream_list(r, list, sizeof(list));
	fe_warn("%s %s renumbered: %s", ev_commas(r->renumbered, b1),
		ev_plural(r->renumbered, "stream", "streams"), list);
}

/* --rewrite: an exit status. */
static int rewrite(struct opts *o)
{
	struct ev_rewrite_opts ro;
	struct ev_rewrite_result res;
	struct progress prog;
	struct ev_error err;
	int rc;

	if ((rc = fe_upcast_load(&o->sel)) != 0)
		return rc;
	memset(&ro, 0, sizeof(ro));
	memset(&prog, 0, sizeof(prog));
	ro.source = o->logpath;
	ro.target = o->rewrite_to;
	ro.in_place = o->in_place;
	ro.upcaster = o->sel.up;
	ro.stop = &stop_requested;
	ro.notice = fe_notice;
	if (o->progress) {
		prog.on = 1;
		clock_gettime(CLOCK_MONOTONIC, &prog.t0);
		ro.tick = rewrite_tick;
		ro.tick_ctx = &prog;
		ro.tick_ms = 100; /* at most 10 updates a second */
	}
	fe_on_stop(on_signal);
	rc = ev_rewrite(&ro, &res, &err);
	end_progress(&prog);
	if (rc == 0) {
		rewrite_summary(o, &res);
	} else {
		rc = fe_report(&err);
		if (err.code == EV_EDATA || stop_requested)
			fe_warn(o->in_place ? "'%s' is as it was"
					    : "'%s' was not made",
				o->in_place ? o->logpath : o->rewrite_to);
	}
	ev_rewrite_result_free(&res);
	return rc;
}

static int run(struct opts *o)
{
	struct run u;
	struct ev_error err;
	uint64_t appended, nskip;
	char b[32];
	int rc;

	if (o->rewrite)
		return rewrite(o);
	memset(&u, 0, sizeof(u));
	u.o = o;
	/* a bad upcaster set stops us before anything is read */
	if ((rc = fe_upcast_load(&o->sel)) != 0)
		return rc;
	/* a signal ends a Lua step that runs long, and the replay there */
	if (o->sel.up != NULL)
		ev_upcaster_set_stop(o->sel.up, &stop_requested);
	if (o->check) {
		/* every event counted, every failure kept */
		ev_upcaster_set_counting(o->sel.up, 1);
		o->sel.scan.on_upcast_error = EV_UPCAST_SKIP;
	}
	u.mark.at = ev_now();
	if (o->mark == NULL && o->to_log != NULL) {
		generated_name(u.mark.at, u.name);
		o->mark = u.name;
	}
	u.mark.name = o->mark;
	if (o->to_log != NULL && !o->kafka_target && !o->check &&
	    o->sel.up != NULL && o->sel.on_error == EV_UPCAST_SKIP) {
		o->sel.scan.upcast_failed = skipped_to_log;
		o->sel.scan.upcast_ctx = &u;
		u.skips_kept = 1;
	}
	if ((rc = open_all(&u)) == 0 && o->check) {
		rc = check(&u);
	} else if (rc == 0) {
		set_progress(&u);
		rc = deliver(&u);
		if (u.skips_kept && u.rp != NULL &&
		    (nskip = ev_replay_skips(u.rp)) > 0)
			fe_warn("%s event%s could not be upcast and %s skipped",
				ev_commas(nskip, b), nskip == 1 ? "" : "s",
				nskip == 1 ? "was" : "were");
		rc = fe_upcast_end(&o->sel, u.skips_kept ? NULL : u.scan, rc);
	}
	appended = u.rp != NULL ? ev_replay_stats(u.rp)->appended : 0;
	if (u.rp != NULL && ev_replay_close(u.rp, &err) != 0 && rc == 0)
		rc = fe_reportf(&err, "--to-log '%s'", o->to_log);
	if (u.ks != NULL && ev_kafka_sink_close(u.ks, &err) != 0 && rc == 0)
		rc = fe_reportf(&err, "--to-log '%s'", o->to_log);
	/* a log we made and put nothing in does not stay behind */
	if (u.target_new && rc != 0 && appended == 0) {
		ev_log_close(u.target);
		u.target = NULL;
		if (ev_log_remove(o->to_log, &err) != 0)
			fe_report(&err);
	}
	ev_log_close(u.target);
	ev_pace_free(u.pace);
	ev_output_free(u.out);
	ev_scan_free(u.scan);
	ev_kafka_consumer_close(u.kc);
	free(u.kt.next);
	fe_kdlq_close(&u.kd);
	fe_input_close(&u.in);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc;

	fe_init(argv);
	memset(&o, 0, sizeof(o));
	ev_consumer_opts_init(&o.con);
	fe_exec_init(&o.exec, usage_short, &o.con);
	o.fmt = EV_OUT_JSON;
	o.progress = -1;
	o.kafka_timeout_ms = 10000;
	o.kafka_source = kafka_operand(argc, argv);
	if ((rc = fe_select_init(&o.sel, usage_short)) != 0)
		return rc;
	rc = parse_options(argc, argv, &o);
	if (rc == -1)
		rc = validate(&o);
	if (rc == -1)
		rc = run(&o);
	fe_select_free(&o.sel);
	ev_template_free(o.tpl);
	ev_kafka_props_free(&o.kprops);
	free(o.kfrom);
	free(o.kto);
	return rc;
}
