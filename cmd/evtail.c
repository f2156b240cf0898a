/*
 * evtail - read, filter and follow an evlog log.  See evtail(1).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evlog.h"
#include "evtail_i.h"
#include "evtail_kafka.h"
#include "fekdlq.h"
#include "fe.h"
#include "feselect.h"

/* events -f shows before following when no position is given */
#define FOLLOW_LAST 10

static const char usage_short[] = "Usage: evtail [options] LOG\n";

static const char usage_long[] =
	"Read events from an evlog log (a directory) or one segment file,\n"
	"or from a Kafka topic: kafka://HOST:PORT[,HOST:PORT...]/TOPIC.\n"
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
	"                          (on a kafka log, one offset per partition)\n"
	"      --dlq DLQLOG        with --exec, dead-letter failed events to\n"
	"                          DLQLOG (created if missing); implies\n"
	"                          --on-failure=dlq; with --on-error dlq,\n"
	"                          where events that cannot be upcast go;\n"
	"                          or a dead-letter topic kafka://HOST:PORT/T\n"
	"                          (-X and --kafka-config apply to it)\n"
	"      --dlq-policy POLICY event, or stream: a dead letter parks the\n"
	"                          later events of its stream too\n"
	"      --exec CMD          with --group, run CMD (sh -c) per event, the\n"
	"                          event's JSON on stdin: at-least-once delivery\n"
	"      --fields LIST       print only these fields, e.g. type,data.x: as\n"
	"                          JSON objects, or as -o csv or tsv columns\n"
	"  -f, --follow            wait for new events (exit 0 on SIGINT/SIGTERM);\n"
	"                          with no position, print the last 10 first\n"
	"      --from POS          start at OFFSET, start, end or @TIME; on a\n"
	"                          kafka log PARTITION:OFFSET (repeatable)\n"
	"      --from-version N    with one exact --stream or one\n"
	"                          --stream-exact, start at its version N\n"
	"      --grace DURATION    on SIGINT/SIGTERM, let handlers finish this\n"
	"                          long before killing them (10s)\n"
	"      --group NAME        read as consumer group NAME: resume after its\n"
	"                          committed position and commit as it goes;\n"
	"                          on a kafka log a Kafka consumer group\n"
	"  -h, --help              show this help and exit\n"
	"      --kafka-config FILE librdkafka properties from FILE, as kcat\n"
	"                          reads them (property=value lines)\n"
	"      --kafka-timeout DURATION  give up on an unreachable kafka\n"
	"                          cluster after DURATION (10s)\n"
	"  -i, --interactive       browse LOG with commands (next, find,\n"
	"                          filter, stats, ...; 'help' lists them):\n"
	"                          with readline from a terminal, else one\n"
	"                          command a line from stdin; only --color\n"
	"                          goes with it\n"
	"  -n, --lines N           print the last N (matching) events; on a\n"
	"                          kafka log the last N of each partition\n"
	"      --on-error ACTION   an event --upcast cannot upcast: stop\n"
	"                          (default, exit 65), skip, or dlq (to --dlq)\n"
	"      --on-failure ACTION after the last retry: stop (default), dlq or\n"
	"                          skip\n"
	"  -o, --output FORMAT     json (default), pretty, cloudevents, msgpack;\n"
	"                          csv or tsv, with --fields; count: only the\n"
	"                          number of events; chrome, with --trace\n"
	"      --parallel N        with --exec, up to N handlers at once, never\n"
	"                          two of one stream (1)\n"
	"      --retries N         retries of a failed handler run (3)\n"
	"  -r, --reverse           newest first (held in memory until the end)\n"
	"      --salvage           read LOG, a file, as one of lost+found/ is\n"
	"                          read: recover what events it still holds\n"
	"      --since TIME        only events at or after TIME\n"
	"      --state-dir DIR     keep group state in DIR, not in the log\n"
	"      --stream GLOB       only streams matching GLOB; may be repeated;\n"
	"                          one exact name is read through the stream\n"
	"                          index, without scanning the log\n"
	"      --stream-exact NAME only stream NAME, even one with *, ? or [\n"
	"                          in it; may be repeated; one is read as one\n"
	"                          exact --stream is\n"
	"      --template TPL      print TPL per event, e.g. '{offset} {type}';\n"
	"                          {PATH:json} and {PATH:csv} quote a value\n"
	"      --timeout DURATION  a handler run that takes longer fails (none)\n"
	"      --to POS            stop after OFFSET, or before the first event\n"
	"                          later than @TIME; on a kafka log\n"
	"                          PARTITION:OFFSET (repeatable) or @TIME\n"
	"      --trace ID          the events whose id or meta.correlationId is\n"
	"                          ID, as a tree by meta.causationId (a text\n"
	"                          tree; -o json nested JSON, -o chrome Chrome's\n"
	"                          trace-event format), through the correlation\n"
	"                          index\n"
	"      --type GLOB         only types matching GLOB; may be repeated\n"
	"      --until TIME        only events at or before TIME\n"
	"      --upcast PATH       bring events of older schema versions up to\n"
	"                          date with the upcasters in PATH, a file or\n"
	"                          a directory (evlog-upcast(5)), before any\n"
	"                          filter\n"
	"  -V, --version           show versions and exit\n"
	"      --wait              wait for a group another consumer holds\n"
	"      --where EXPR        only events where EXPR holds: PATH OP VALUE,\n"
	"                          OP one of == != < <= > >= =~ in like contains\n"
	"                          exists; and, or, not, ( ); may be repeated\n"
	"  -X PROPERTY=VALUE       on a kafka log, a librdkafka property; may\n"
	"                          be repeated\n"
	"\n"
	"TIME is RFC 3339, a date (2025-01-10), 'now', or relative (-1h, -30m).\n"
	"Exit status: 0 at the end of the log, 64 usage or a bad upcaster set,\n"
	"65 damaged data, a bad cursor or group position, or an event that\n"
	"cannot be upcast, 66 missing log or upcaster set, 69 a library it\n"
	"needs not loadable, 74 I/O error, 75 group busy; with --exec, 1\n"
	"when a handler failed under --on-failure=stop; with --trace, 1\n"
	"when no event has that id.\n"
	"A file in lost+found/ is salvaged: 0 when events were recovered, the\n"
	"damage named on stderr; 65 when none could be.\n"
	"See evtail(1).\n";

enum {
	OPT_COLOR = 256,
	OPT_COMMIT_EVERY,
	OPT_COMMIT_INTERVAL,
	OPT_CURSOR_FILE,
	OPT_EXEC,
	OPT_FIELDS,
	OPT_GROUP,
	OPT_KAFKA_CONFIG,
	OPT_KAFKA_TIMEOUT,
	OPT_SALVAGE,
	OPT_STATE_DIR,
	OPT_TEMPLATE,
	OPT_TRACE,
	OPT_WAIT,
};

static const struct option longopts[] = {
	{"backoff", required_argument, NULL, FE_OPT_BACKOFF},
	{"backoff-max", required_argument, NULL, FE_OPT_BACKOFF_MAX},
	{"batch", required_argument, NULL, FE_OPT_BATCH},
	{"category", required_argument, NULL, FE_OPT_CATEGORY},
	{"color", required_argument, NULL, OPT_COLOR},
	{"commit-every", required_argument, NULL, OPT_COMMIT_EVERY},
	{"commit-interval", required_argument, NULL, OPT_COMMIT_INTERVAL},
	{"count", required_argument, NULL, FE_OPT_COUNT},
	{"cursor-file", required_argument, NULL, OPT_CURSOR_FILE},
	{"dlq", required_argument, NULL, FE_OPT_DLQ},
	{"dlq-policy", required_argument, NULL, FE_OPT_DLQ_POLICY},
	{"exec", required_argument, NULL, OPT_EXEC},
	{"fields", required_argument, NULL, OPT_FIELDS},
	{"follow", no_argument, NULL, 'f'},
	{"from", required_argument, NULL, FE_OPT_FROM},
	{"from-version", required_argument, NULL, FE_OPT_FROM_VERSION},
	{"grace", required_argument, NULL, FE_OPT_GRACE},
	{"group", required_argument, NULL, OPT_GROUP},
	{"help", no_argument, NULL, 'h'},
	{"interactive", no_argument, NULL, 'i'},
	{"kafka-config", required_argument, NULL, OPT_KAFKA_CONFIG},
	{"kafka-timeout", required_argument, NULL, OPT_KAFKA_TIMEOUT},
	{"lines", required_argument, NULL, 'n'},
	{"on-error", required_argument, NULL, FE_OPT_ON_ERROR},
	{"on-failure", required_argument, NULL, FE_OPT_ON_FAILURE},
	{"output", required_argument, NULL, 'o'},
	{"parallel", required_argument, NULL, FE_OPT_PARALLEL},
	{"retries", required_argument, NULL, FE_OPT_RETRIES},
	{"reverse", no_argument, NULL, 'r'},
	{"salvage", no_argument, NULL, OPT_SALVAGE},
	{"since", required_argument, NULL, FE_OPT_SINCE},
	{"state-dir", required_argument, NULL, OPT_STATE_DIR},
	{"stream", required_argument, NULL, FE_OPT_STREAM},
	{"stream-exact", required_argument, NULL, FE_OPT_STREAM_EXACT},
	{"template", required_argument, NULL, OPT_TEMPLATE},
	{"timeout", required_argument, NULL, FE_OPT_TIMEOUT},
	{"to", required_argument, NULL, FE_OPT_TO},
	{"trace", required_argument, NULL, OPT_TRACE},
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
	struct ev_template *tpl;
	struct ev_fieldlist *fields;
	struct ev_consumer_opts con;
	enum ev_out_format fmt;
	const char *logpath, *color, *cursor_file, *group, *state_dir;
	int follow, wait, out_set, reverse, salvage;
	int interactive, others; /* -i, and options other than --color */
	/* --trace ID, -o chrome, and the first option that --trace does
	 * not take ("" when none) */
	const char *trace;
	int chrome;
	char not_trace[64];
	/* a kafka:// LOG (kafka: one is named), and the first option that
	 * a kafka log does not take yet ("" when none) */
	int kafka;
	struct evtail_kafka k;
	char not_kafka[64];
};

/* Options of a local log that a kafka log does not take (yet). */
static int kafka_lacks(int c)
{
	return c == OPT_SALVAGE || c == 'i';
}

/* Why a kafka log does not take option opt, in parentheses. */
static const char *kafka_why(const char *opt)
{
	if (strcmp(opt, "-i") == 0)
		return "(its commands seek a local log by offset; evtail(1) "
		       "KAFKA)";
	return "yet (evtail(1) KAFKA)";
}

/* -X, --kafka-config, --kafka-timeout; --from and -n on a kafka log:
 * 0, an exit status, or -1 when c is none of them. */
static int kafka_option(struct opts *o, int c, const char *arg)
{
	struct evtail_kafka *k = &o->k;
	struct ev_kafka_from *nf;
	struct ev_error err;

	switch (c) {
	case 'X':
		if (ev_kafka_props_add(&k->props, arg, &err) != 0)
			return err.code == EV_EUSAGE
				       ? fe_usage_error(usage_short, "%s",
							err.msg)
				       : fe_oom();
		k->kafka_opt = k->kafka_opt ? k->kafka_opt : "-X";
		return 0;
	case OPT_KAFKA_CONFIG:
		if (ev_kafka_props_load(&k->props, arg, &err) != 0)
			return err.code == EV_EUSAGE
				       ? fe_usage_error(usage_short,
							"--kafka-config: %s",
							err.msg)
				       : fe_reportf(&err, "--kafka-config");
		k->kafka_opt = k->kafka_opt ? k->kafka_opt : "--kafka-config";
		return 0;
	case OPT_KAFKA_TIMEOUT:
		if (ev_duration_parse(arg, &k->timeout_ms) != 0 ||
		    k->timeout_ms <= 0 || k->timeout_ms > INT32_MAX)
			return fe_usage_error(usage_short,
					      "--kafka-timeout: '%s' is not a "
					      "duration such as 500ms or 10s",
					      arg);
		k->kafka_opt = k->kafka_opt ? k->kafka_opt : "--kafka-timeout";
		return 0;
	case FE_OPT_FROM:
		if (!o->kafka)
			return -1;
		nf = realloc(k->from, (k->nfrom + 1) * sizeof(*nf));
		if (nf == NULL)
			return fe_oom();
		k->from = nf;
		if (ev_kafka_from_parse(arg, &k->from[k->nfrom], &err) != 0)
			return fe_usage_error(usage_short, "%s", err.msg);
		k->nfrom++;
		return 0;
	case FE_OPT_TO:
		/* PARTITION:OFFSET here; @TIME is the selection's */
		if (!o->kafka)
			return -1;
		nf = realloc(k->to, (k->nto + 1) * sizeof(*nf));
		if (nf == NULL)
			return fe_oom();
		k->to = nf;
		if (!ev_kafka_to_parse(arg, &k->to[k->nto]))
			return -1;
		k->nto++;
		return 0;
	case 'n':
		if (!o->kafka)
			return -1;
		if (fe_parse_u64(arg, &k->last) != 0)
			return fe_usage_error(usage_short,
					      "-n: '%s' is not a number", arg);
		k->has_last = 1;
		return 0;
	}
	return -1;
}

/* Output, position and group options: 0, or an exit status. */
static int other_option(int c, const char *arg, struct opts *o)
{
	struct ev_error err;

	switch (c) {
	case OPT_COLOR:
		if (strcmp(arg, "auto") && strcmp(arg, "always") &&
		    strcmp(arg, "never"))
			return fe_usage_error(
				usage_short,
				"--color: '%s' is not auto, always "
				"or never",
				arg);
		o->color = arg;
		return 0;
	case OPT_FIELDS:
		ev_fieldlist_free(o->fields);
		o->fields = NULL;
		if (ev_fieldlist_new(&o->fields, arg, &err) != 0)
			return err.code == EV_EUSAGE
				       ? fe_usage_error(usage_short,
							"--fields: %s", err.msg)
				       : fe_oom();
		return 0;
	case OPT_COMMIT_EVERY:
		if (fe_parse_u64(arg, &o->con.commit_every) != 0 ||
		    o->con.commit_every == 0)
			return fe_usage_error(usage_short,
					      "--commit-every: '%s' is not a "
					      "positive number",
					      arg);
		return 0;
	case OPT_COMMIT_INTERVAL:
		if (ev_duration_parse(arg, &o->con.commit_ms) != 0)
			return fe_usage_error(
				usage_short,
				"--commit-interval: '%s' is not a "
				"duration such as 500ms or 2s",
				arg);
		return 0;
	case OPT_GROUP:
		if (!ev_group_name_ok(arg))
			return fe_usage_error(
				usage_short,
				"--group: '%s' is not a group name "
				"(letters, digits, '.', '_', '-')",
				arg);
		o->group = arg;
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
		else if (strcmp(arg, "csv") == 0)
			o->fmt = EV_OUT_CSV;
		else if (strcmp(arg, "tsv") == 0)
			o->fmt = EV_OUT_TSV;
		else if (strcmp(arg, "count") == 0)
			o->fmt = EV_OUT_COUNT;
		else if (strcmp(arg, "chrome") == 0)
			o->fmt = EV_OUT_JSON;
		else
			return fe_usage_error(
				usage_short,
				"--output: '%s' is not json, pretty, "
				"cloudevents, msgpack, csv, tsv, count or "
				"chrome",
				arg);
		o->chrome = strcmp(arg, "chrome") == 0;
		o->out_set = 1;
		return 0;
	case OPT_TEMPLATE:
		if (o->tpl != NULL)
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

/* -1 to go on, or an exit status. */
static int parse_options(int argc, char **argv, struct opts *o)
{
	int c, r, li = -1;

	while ((c = getopt_long(argc, argv, "fhin:o:rVX:", longopts, &li)) !=
	       -1) {
		if (kafka_lacks(c) && o->not_kafka[0] == '\0')
			snprintf(o->not_kafka, sizeof(o->not_kafka), "%s%s",
				 li >= 0 ? "--" : "-",
				 li >= 0 ? longopts[li].name
					 : (char[2]){(char)c, 0});
		if (c != 'i' && c != OPT_COLOR)
			o->others++;
		/* --trace takes -o and --color only: remember the first
		 * other option, as the user wrote it */
		if (c != 'o' && c != OPT_COLOR && c != OPT_TRACE && c != '?' &&
		    c != ':' && c != 'X' && c != OPT_KAFKA_CONFIG &&
		    c != OPT_KAFKA_TIMEOUT && o->not_trace[0] == '\0')
			snprintf(o->not_trace, sizeof(o->not_trace), "%s%s",
				 li >= 0 ? "--" : "-",
				 li >= 0 ? longopts[li].name
					 : (char[2]){(char)c, 0});
		li = -1;
		if ((r = kafka_option(o, c, optarg)) != -1) {
			if (r != 0)
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
		case 'f':
			o->follow = 1;
			continue;
		case 'i':
			o->interactive = 1;
			continue;
		case 'r':
			o->reverse = 1;
			continue;
		case OPT_SALVAGE:
			o->salvage = 1;
			continue;
		case OPT_TRACE:
			o->trace = optarg;
			continue;
		case OPT_CURSOR_FILE:
			o->cursor_file = optarg;
			continue;
		case OPT_EXEC:
			o->con.cmd = optarg;
			continue;
		case OPT_STATE_DIR:
			o->state_dir = optarg;
			continue;
		case OPT_WAIT:
			o->wait = 1;
			continue;
		case OPT_COLOR:
		case OPT_COMMIT_EVERY:
		case OPT_COMMIT_INTERVAL:
		case OPT_FIELDS:
		case OPT_GROUP:
		case 'o':
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
	if (!o->kafka && o->k.kafka_opt != NULL && !fe_kdlq_is(o->exec.dlq))
		return fe_usage_error(usage_short,
				      "%s needs a kafka://HOST:PORT/TOPIC LOG",
				      o->k.kafka_opt);
	if (o->kafka && o->not_kafka[0] != '\0')
		return fe_usage_error(usage_short, "%s: not on a kafka log %s",
				      o->not_kafka, kafka_why(o->not_kafka));
	return -1;
}

/* --exec and what goes with it: -1 to go on, or an exit status. */
static int validate_exec(struct opts *o)
{
	struct ev_scan_opts *so = &o->sel.scan;

	if (o->con.cmd == NULL)
		return fe_exec_check(&o->exec);
	if (o->group == NULL)
		return fe_usage_error(
			usage_short,
			"--exec needs --group: its position is what "
			"makes delivery at least once");
	if (o->out_set || o->tpl != NULL || o->fields != NULL ||
	    o->color != NULL || so->has_max || so->to.kind != EV_POS_NONE)
		return fe_usage_error(
			usage_short, "--exec cannot be combined with --output, "
				     "--template, --fields, --color, --count "
				     "or --to");
	return fe_exec_check(&o->exec);
}

/* --trace and -o chrome: -1 to go on, or an exit status. */
static int validate_trace(struct opts *o)
{
	if (o->chrome && o->trace == NULL)
		return fe_usage_error(usage_short,
				      "--output chrome needs --trace");
	if (o->trace == NULL)
		return -1;
	if (o->trace[0] == '\0')
		return fe_usage_error(usage_short, "--trace: the id is empty");
	if (o->not_trace[0] != '\0')
		return fe_usage_error(usage_short,
				      "--trace cannot be combined with %s",
				      o->not_trace);
	if (o->out_set && !o->chrome && o->fmt != EV_OUT_JSON &&
	    o->fmt != EV_OUT_PRETTY)
		return fe_usage_error(usage_short,
				      "--trace works with --output json, "
				      "pretty or chrome");
	return -1;
}

/* The options together: -1 to go on, or an exit status. */
static int validate(struct opts *o)
{
	struct ev_scan_opts *so = &o->sel.scan;
	int r;

	if ((r = validate_trace(o)) != -1 || o->trace != NULL)
		return r;
	if (o->tpl != NULL && o->out_set)
		return fe_usage_error(
			usage_short,
			"--template and --output cannot be combined");
	if (o->tpl != NULL)
		o->fmt = EV_OUT_TEMPLATE;
	if (o->fields != NULL && o->tpl != NULL)
		return fe_usage_error(
			usage_short,
			"--fields and --template cannot be combined");
	if (o->fields != NULL && o->fmt != EV_OUT_JSON &&
	    o->fmt != EV_OUT_CSV && o->fmt != EV_OUT_TSV)
		return fe_usage_error(usage_short,
				      "--fields works with --output json, csv "
				      "or tsv");
	if (o->fmt == EV_OUT_COUNT && o->follow)
		return fe_usage_error(usage_short,
				      "--output count cannot be combined with "
				      "-f");
	if (o->reverse && (o->follow || o->group != NULL))
		return fe_usage_error(usage_short,
				      "-r cannot be combined with -f or "
				      "--group: it prints at the end");
	if (o->fields == NULL && (o->fmt == EV_OUT_CSV || o->fmt == EV_OUT_TSV))
		return fe_usage_error(usage_short, "--output %s needs --fields",
				      o->fmt == EV_OUT_CSV ? "csv" : "tsv");
	if ((r = fe_select_check_last(&o->sel)) != -1)
		return r;
	if (o->kafka && o->con.park_streams)
		return fe_usage_error(usage_short,
				      "--dlq-policy stream: not on a kafka "
				      "log (a group on a topic orders events "
				      "per key, not per stream; evtail(1) "
				      "KAFKA)");
	if (o->kafka && o->group != NULL && (o->k.has_last || o->k.nfrom > 0))
		return fe_usage_error(usage_short,
				      "--group on a kafka log starts at the "
				      "group's committed offsets: not with "
				      "--from or -n");
	if (o->kafka && so->to.kind == EV_POS_OFFSET)
		return fe_usage_error(usage_short,
				      "--to: a kafka log has no single offset "
				      "to stop at: --to takes PARTITION:OFFSET "
				      "or @TIME there");
	if (o->kafka && o->group != NULL && o->k.nto > 0)
		return fe_usage_error(usage_short,
				      "--to PARTITION:OFFSET: not with --group "
				      "(a group's partitions move between its "
				      "members)");
	if (o->kafka && (o->state_dir != NULL || o->wait))
		return fe_usage_error(
			usage_short,
			"%s: not on a kafka log (%s; evtail(1) KAFKA)",
			o->wait ? "--wait" : "--state-dir",
			o->wait ? "a kafka group is shared by its members, "
				  "none holds it"
				: "a kafka group's offsets are kept by the "
				  "cluster");
	if (o->kafka && o->k.has_last && o->cursor_file != NULL)
		return fe_usage_error(
			usage_short, "-n and --cursor-file cannot be combined");
	if (so->last_set && o->cursor_file != NULL)
		return fe_usage_error(
			usage_short, "-n and --cursor-file cannot be combined");
	if (o->group != NULL && (o->cursor_file != NULL || so->last_set))
		return fe_usage_error(usage_short,
				      "--group cannot be combined with "
				      "--cursor-file or -n");
	if (o->group == NULL && (o->state_dir != NULL || o->wait))
		return fe_usage_error(usage_short,
				      "--state-dir and --wait need --group");
	if ((r = fe_upcast_check(&o->sel, &o->exec)) != -1)
		return r;
	if ((r = validate_exec(o)) != -1)
		return r;
	if ((r = fe_kdlq_check(&o->exec, &o->con, usage_short)) != -1)
		return r;
	/* -f with no position: the last few, then what comes, as tail -f */
	if (o->follow && o->group == NULL && o->cursor_file == NULL &&
	    so->from.kind == EV_POS_NONE && !so->last_set &&
	    so->from_version == 0 &&
	    ev_filter_since(o->sel.flt) == EV_TIME_NONE) {
		so->last_set = 1;
		so->last = FOLLOW_LAST;
	}
	if ((r = fe_select_finish(&o->sel)) != -1)
		return r;
	if (so->from_version > 0 && o->kafka &&
	    (o->k.nfrom > 0 || o->k.has_last))
		return fe_usage_error(usage_short,
				      "--from-version cannot be combined "
				      "with --from or -n");
	if (so->from_version > 0 &&
	    (o->group != NULL || o->cursor_file != NULL))
		return fe_usage_error(usage_short,
				      "--from-version cannot be combined "
				      "with --group or --cursor-file");
	return -1;
}

/* The exit status for how the consumer ended. */
static int outcome(int r, const struct ev_error *err, struct ev_output *out)
{
	if (r == 0)
		return EV_EXIT_OK;
	if (out != NULL && ev_output_errno(out) == EPIPE)
		return EV_EXIT_OK; /* the reader went away: a normal end */
	return fe_report(err);
}

/* Store the cursor: after a broken pipe, only what was written in full. */
static int store_cursor(struct opts *o, struct ev_reader *rd,
			struct ev_output *out)
{
	struct ev_cursor cur;
	struct ev_error err;

	if (o->kafka) /* one offset per partition */
		return evtail_kafka_store_cursor(
			&o->k, ev_output_errno(out) ? ev_output_written(out)
						    : ev_output_printed(out));
	memcpy(cur.log_id, ev_reader_log_id(rd), 33);
	cur.next = ev_output_errno(out) ? ev_output_written(out)
					: ev_output_printed(out);
	return ev_cursor_store(o->cursor_file, &cur, &err) != 0
		       ? fe_report(&err)
		       : 0;
}

static void summary(const struct ev_consumer_stats *st)
{
	char b1[32], b2[32], b3[32];

	if (st->dead_lettered > 0 || st->skipped > 0)
		fe_warn("%s handled, %s dead-lettered, %s skipped",
			ev_commas(st->handled, b1),
			ev_commas(st->dead_lettered, b2),
			ev_commas(st->skipped, b3));
}

/* Deliver the scan to stdout or the handler: an exit status. */
static int deliver(struct opts *o, struct fe_input *in, struct ev_scan *scan)
{
	struct ev_consumer *con = NULL;
	struct ev_output *out = NULL;
	struct ev_error err, err2;
	int rc, r, r2;

	o->con.scan = scan;
	o->con.group = in->grp;
	o->con.log = in->log;
	o->con.log_name = o->logpath;
	o->con.notice = fe_notice;
	if (o->con.cmd == NULL) {
		r = ev_output_new(&out, STDOUT_FILENO, o->fmt, o->tpl,
				  o->fmt == EV_OUT_PRETTY &&
					  fe_color(o->color, stdout),
				  &err);
		if (r == 0 && o->fields != NULL)
			r = ev_output_set_fields(out, o->fields, &err);
		if (r != 0) {
			ev_output_free(out);
			return fe_report(&err);
		}
		ev_output_set_position(out, ev_scan_start(scan));
		if (o->reverse)
			ev_output_set_reverse(out);
		o->con.output = out;
	} else {
		if (in->dlqlog != NULL)
			ev_log_set_notice(in->dlqlog, fe_warning, NULL);
		o->con.dlq = in->dlqlog;
	}
	fe_on_stop(on_signal);
	if ((r = ev_consumer_new(&con, &o->con, &err)) != 0) {
		rc = fe_report(&err);
		goto out;
	}
	r = ev_consumer_run(con, &stop_requested, &err);
	/* the count, or the events held to print newest first; what came
	 * before damage goes out, but never a count of it */
	if (out != NULL && (r == 0 || o->fmt != EV_OUT_COUNT) &&
	    ev_output_errno(out) == 0 &&
	    (r2 = ev_output_end(out, &err2)) != 0 && r == 0) {
		r = r2;
		err = err2;
	}
	rc = outcome(r, &err, out);
	if (o->con.cmd != NULL) {
		summary(ev_consumer_stats(con));
		if (rc == 0 && ev_consumer_stats(con)->failed)
			rc = EV_EXIT_FAILURE;
	}
	if (o->cursor_file != NULL && (r = store_cursor(o, in->rd, out)) != 0 &&
	    rc == 0)
		rc = r;
out:
	ev_consumer_free(con);
	ev_output_free(out);
	return rc;
}

/* --trace: the flow of one id, as a tree. */
static int run_trace(struct opts *o)
{
	struct fe_input in;
	struct ev_trace *t = NULL;
	struct ev_buf b = {0};
	struct ev_error err;
	enum ev_trace_format f = o->chrome ? EV_TRACE_CHROME
				 : o->out_set && o->fmt == EV_OUT_JSON
					 ? EV_TRACE_JSON
					 : EV_TRACE_TEXT;
	int rc;

	memset(&in, 0, sizeof(in));
	in.path = o->logpath;
	if (o->kafka) { /* no index: every partition read whole */
		o->k.addr = o->logpath;
		fe_select_scan(&o->sel, o->logpath);
		o->sel.scan.decode = 1;
		if ((rc = evtail_kafka_open(&o->k, &o->sel.scan, 0,
					    usage_short)) != -1)
			goto out;
		rc = 0;
		fe_on_stop(on_signal);
	} else if ((rc = fe_input_open(&in, usage_short)) != 0) {
		goto out;
	}
	if ((o->kafka ? ev_trace_build_scan(&t, o->k.scan, o->trace,
					    strlen(o->trace), &stop_requested,
					    &err)
		      : ev_trace_build(&t, in.log, in.rd, o->trace,
				       strlen(o->trace), 0, &err)) != 0 ||
	    (ev_trace_count(t) > 0 &&
	     ev_trace_format(t, f, fe_color(o->color, stdout), &b, &err) !=
		     0)) {
		rc = fe_report(&err);
		goto out;
	}
	if (ev_trace_count(t) == 0) {
		fe_warn("no event in '%s' has the id or meta.correlationId "
			"'%s'",
			o->logpath, o->trace);
		rc = EV_EXIT_FAILURE;
		goto out;
	}
	fe_on_stop(on_signal); /* SIGPIPE ignored: a closed pipe is an end */
	if (fwrite(b.p, 1, b.len, stdout) != b.len || fflush(stdout) != 0) {
		rc = errno == EPIPE ? EV_EXIT_OK : EV_EXIT_IO;
		if (rc != EV_EXIT_OK)
			fe_warn("cannot write to standard output: %s",
				strerror(errno));
	}
out:
	ev_buf_free(&b);
	ev_trace_free(t);
	if (o->kafka)
		evtail_kafka_close(&o->k);
	fe_input_close(&in);
	return rc;
}

/* A kafka log's --dlq, a topic or a local log, for the handler's letters
 * and --on-error dlq's: 0, or an exit status. */
static int open_kafka_dlq(struct opts *o, struct fe_input *in,
			  struct fe_kdlq *kd)
{
	struct ev_kafka_addr a;
	struct ev_error err;
	int r;

	if (o->exec.dlq == NULL || (o->con.cmd == NULL && !o->exec.upcast_dlq))
		return 0;
	if (ev_kafka_addr_parse(o->logpath, &a, &err) != 0)
		return fe_usage_error(usage_short, "%s", err.msg);
	if (fe_kdlq_is(o->exec.dlq)) {
		if (o->con.cmd != NULL &&
		    (r = fe_kdlq_open(kd, o->exec.dlq, &o->k.props,
				      o->k.timeout_ms, &o->con, usage_short)) !=
			    0)
			return r;
		return fe_kdlq_upcast(kd, &o->sel, o->exec.dlq, &o->k.props,
				      o->k.timeout_ms, o->logpath, a.topic,
				      o->group, usage_short);
	}
	if ((r = ev_dlq_open(&in->dlqlog, o->exec.dlq, NULL, &err)) != 0)
		return r == EV_EUSAGE ? fe_reportf(&err, "--dlq")
				      : fe_report(&err);
	return fe_upcast_dlq(&o->sel, in->dlqlog, o->logpath, a.topic,
			     o->group);
}

/* A kafka log: its consumer as a scan, delivered as a local log's. */
static int run_kafka(struct opts *o)
{
	struct ev_scan_opts *so = &o->sel.scan;
	struct fe_input in;
	struct fe_kdlq kd;
	int rc;

	memset(&in, 0, sizeof(in));
	memset(&kd, 0, sizeof(kd));
	/* a bad upcaster set stops us before anything is read */
	if ((rc = fe_upcast_load(&o->sel)) != 0)
		return rc;
	o->k.addr = o->logpath;
	o->k.group = o->group;
	o->k.cursor = o->cursor_file;
	/* -f with no position: the last few of each partition, then what
	 * comes, as tail -f */
	if (o->follow && o->k.nfrom == 0 && !o->k.has_last && !o->group &&
	    so->from_version == 0) {
		o->k.has_last = 1;
		o->k.last = FOLLOW_LAST;
	}
	fe_select_scan(&o->sel, o->logpath);
	so->follow = o->follow;
	so->decode = o->con.cmd != NULL || o->fields != NULL ||
		     (o->fmt != EV_OUT_JSON && o->fmt != EV_OUT_COUNT);
	/* a dead-letter topic, or a local dead-letter log, for the
	 * handler's letters and --on-error dlq's, before the scan takes
	 * the latter: letters name the topic and partition */
	if ((rc = open_kafka_dlq(o, &in, &kd)) != 0)
		goto out;
	if ((rc = evtail_kafka_open(&o->k, so, o->follow, usage_short)) != -1)
		goto out;
	if (o->group != NULL) {
		/* the group's offsets, per partition, once delivered */
		o->con.commit = ev_kafka_scan_commit;
		o->con.commit_ctx = o->k.scan;
		o->con.commit_when_idle = 1;
		o->con.group_name = o->group;
		o->con.source_id = o->k.a.topic;
	} else if (o->cursor_file != NULL) {
		/* what went out, per partition, for the cursor file */
		o->con.commit = ev_kafka_scan_commit;
		o->con.commit_ctx = o->k.scan;
	}
	/* a record that is not an event: a dead letter or skipped, as
	 * --on-failure says, rather than the end */
	if (o->con.cmd != NULL && (o->con.on_failure == EV_FAIL_DLQ ||
				   o->con.on_failure == EV_FAIL_SKIP))
		ev_kafka_scan_set_lenient(o->k.scan, 1);
	rc = deliver(o, &in, o->k.scan);
	rc = fe_upcast_end(&o->sel, o->k.scan, rc);
out:
	fe_kdlq_close(&kd);
	evtail_kafka_close(&o->k);
	if (in.dlqlog != NULL)
		ev_log_close(in.dlqlog);
	return rc;
}

static int run(struct opts *o)
{
	struct fe_input in;
	struct ev_scan *scan = NULL;
	struct ev_scan_opts *so = &o->sel.scan;
	struct ev_cursor cur;
	struct ev_error err;
	struct fe_kdlq kd;
	int rc, r;

	memset(&in, 0, sizeof(in));
	memset(&kd, 0, sizeof(kd));
	/* a bad upcaster set stops us before anything is read */
	if ((rc = fe_upcast_load(&o->sel)) != 0)
		return rc;
	in.path = o->logpath;
	in.follow = o->follow;
	in.group = o->group;
	in.state_dir = o->state_dir;
	in.wait = o->wait;
	in.salvage = o->salvage;
	in.dlq = o->con.cmd != NULL || o->exec.upcast_dlq ? o->exec.dlq : NULL;
	if (fe_kdlq_is(in.dlq))
		in.dlq = NULL; /* a dead-letter topic: opened below */
	if ((rc = fe_input_open(&in, usage_short)) != 0)
		goto out;
	if (o->con.cmd != NULL && fe_kdlq_is(o->exec.dlq) &&
	    (rc = fe_kdlq_open(&kd, o->exec.dlq, &o->k.props, o->k.timeout_ms,
			       &o->con, usage_short)) != 0)
		goto out;
	if ((rc = fe_kdlq_is(o->exec.dlq)
			  ? fe_kdlq_upcast(&kd, &o->sel, o->exec.dlq,
					   &o->k.props, o->k.timeout_ms,
					   o->logpath, ev_reader_log_id(in.rd),
					   o->group, usage_short)
			  : fe_upcast_dlq(&o->sel, in.dlqlog, o->logpath,
					  ev_reader_log_id(in.rd), o->group)) !=
	    0)
		goto out;
	if (o->cursor_file != NULL) {
		r = ev_cursor_load(o->cursor_file, &cur, &err);
		if (r != 0 && r != EV_ENOENT) {
			rc = fe_report(&err);
			goto out;
		}
		if (r == 0) {
			so->cursor = &cur;
			so->cursor_name = o->cursor_file;
		}
	}
	/* a glob that matches nothing says so, with the names it may mean
	 * (best effort: a log that cannot tell is read as usual) */
	fe_select_explain(&o->sel, in.log, o->logpath);
	fe_select_scan(&o->sel, o->logpath);
	so->group = in.grp;
	so->follow = o->follow;
	so->decode = o->con.cmd != NULL || o->fields != NULL ||
		     (o->fmt != EV_OUT_JSON && o->fmt != EV_OUT_COUNT);
	if ((r = ev_scan_open(&scan, in.log, in.rd, so, &err)) != 0) {
		rc = fe_report(&err);
		goto out;
	}
	rc = deliver(o, &in, scan);
	rc = fe_upcast_end(&o->sel, scan, rc);
out:
	ev_scan_free(scan);
	fe_kdlq_close(&kd);
	fe_input_close(&in);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc;

	fe_init(argv);
	memset(&o, 0, sizeof(o));
	o.k.timeout_ms = 10000;
	/* a kafka:// LOG changes what --from and -n take */
	o.kafka = evtail_kafka_operand(argc, argv, "fhin:o:rVX:", longopts);
	ev_consumer_opts_init(&o.con);
	fe_exec_init(&o.exec, usage_short, &o.con);
	o.fmt = EV_OUT_JSON;
	if ((rc = fe_select_init(&o.sel, usage_short)) != 0)
		return rc;
	rc = parse_options(argc, argv, &o);
	if (rc == -1 && o.interactive)
		rc = o.others > 0 ? fe_usage_error(usage_short,
						   "-i goes with no option "
						   "but --color: the session's "
						   "commands filter")
				  : evtail_interactive(o.logpath, o.color,
						       usage_short);
	if (rc == -1)
		rc = validate(&o);
	if (rc == -1 && o.kafka)
		rc = o.trace != NULL ? run_trace(&o) : run_kafka(&o);
	if (rc == -1)
		rc = o.trace != NULL ? run_trace(&o) : run(&o);
	fe_select_free(&o.sel);
	ev_template_free(o.tpl);
	ev_fieldlist_free(o.fields);
	ev_kafka_props_free(&o.k.props);
	free(o.k.from);
	free(o.k.to);
	return rc;
}
