/*
 * evctl - administer an evlog log: init, info, verify, repair.
 * One function per subcommand, all with the same signature (as in git).
 * See evctl(1).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evlog.h"
#include "evctl_kafka.h"
#include "evctl_schema.h"
#include "fe.h"

static const char usage_short[] =
	"Usage: evctl init [--correlation-index] [--dedupe-window N] [--level N]\n"
	"                  [--segment-bytes SIZE] [--sync MODE] LOG\n"
	"       evctl info [--json] [--types] LOG\n"
	"       evctl verify [--quiet] LOG\n"
	"       evctl repair [--dry-run] [--truncate-damaged] LOG\n"
	"       evctl groups [--json] [--state-dir DIR] LOG\n"
	"       evctl groups --reset NAME --to POS [--execute] [--state-dir DIR] LOG\n"
	"       evctl groups --delete NAME [--execute] [--state-dir DIR] LOG\n"
	"       evctl lag [--group NAME] [--state-dir DIR] --warn N --crit N LOG\n"
	"       evctl metrics [--state-dir DIR] LOG...\n"
	"       evctl info [--json] [KAFKA-OPTIONS] kafka://HOST:PORT/TOPIC\n"
	"       evctl groups [--json] [--group NAME]... [KAFKA-OPTIONS]\n"
	"                    kafka://HOST:PORT/TOPIC\n"
	"       evctl lag [--group NAME] [KAFKA-OPTIONS] --warn N --crit N\n"
	"                 kafka://HOST:PORT/TOPIC\n"
	"       evctl health [--group NAME]... [--max-lag N] [KAFKA-OPTIONS]\n"
	"                    kafka://HOST:PORT/TOPIC\n"
	"       evctl metrics [--group NAME]... [KAFKA-OPTIONS]\n"
	"                     kafka://HOST:PORT/TOPIC...\n"
	"       evctl streams [--category NAME | --stream-exact NAME] [--json] LOG\n"
	"       evctl trim (--before TIME | --keep-events N | --keep-bytes SIZE)\n"
	"                  [--dry-run] [--force] [--state-dir DIR] LOG\n"
	"       evctl export [--format FORMAT] [--quiet] -o FILE LOG\n"
	"       evctl import [--max-bytes SIZE] [--quiet] FILE LOG\n"
	"       " EVCTL_SCHEMA_USAGE;

static const char usage_long[] =
	"Administer an evlog log.\n"
	"\n"
	"Commands:\n"
	"  init LOG      create a log\n"
	"      --correlation-index   writers keep the correlation index of\n"
	"                            evtail --trace up to date\n"
	"      --dedupe-window N     ids of the last N events are remembered,\n"
	"                            and a resent one is not appended again\n"
	"                            (1000000; 0 turns it off)\n"
	"      --level N             zstd level 0-19 (0 stores batches as they\n"
	"                            are; default 1)\n"
	"      --segment-bytes SIZE  roll segments at SIZE bytes (128M)\n"
	"      --sync MODE           default sync policy: batch or none\n"
	"  info LOG      show format, id, segments, events, bytes, times\n"
	"      --json                machine-readable output\n"
	"      --types               count events per type (reads every event)\n"
	"      --kafka-config FILE   on a kafka log, librdkafka properties\n"
	"                            from FILE, as kcat reads them\n"
	"      --kafka-timeout DURATION  on a kafka log, give up on a\n"
	"                            cluster that does not answer (10s)\n"
	"  -X PROPERTY=VALUE         on a kafka log, a librdkafka property;\n"
	"                            may be repeated\n"
	"  verify LOG    check every batch, record and index\n"
	"      -q, --quiet           print nothing when the log is clean\n"
	"  repair LOG    truncate a torn tail and rebuild indexes and head\n"
	"                (and the correlation index, when there is one)\n"
	"      --dry-run             say what would be done, change nothing\n"
	"      --truncate-damaged    replace a damaged batch with a gap (cut damage\n"
	"                            at the end), moving its bytes to\n"
	"                            LOG/lost+found/\n"
	"  groups LOG    list consumer groups: position, lag, age, last commit\n"
	"      --delete NAME         remove group NAME (which nobody may hold)\n"
	"      --execute             with --reset or --delete: do it (the\n"
	"                            default is a dry run)\n"
	"      --group NAME          on a kafka log, the committed offsets of\n"
	"                            group NAME (may be repeated; default:\n"
	"                            every group, through ListGroups)\n"
	"      --json                one JSON object per group\n"
	"      --kafka-config FILE   on a kafka log, librdkafka properties\n"
	"                            from FILE, as kcat reads them\n"
	"      --kafka-timeout DURATION  on a kafka log, give up on a\n"
	"                            cluster that does not answer (10s)\n"
	"  -X PROPERTY=VALUE         on a kafka log, a librdkafka property;\n"
	"                            may be repeated\n"
	"      --reset NAME          move group NAME (which nobody may hold) ...\n"
	"      --state-dir DIR       groups kept in DIR rather than in the log\n"
	"      --to POS              ... to start, end, OFFSET or @TIME\n"
	"  lag LOG       health check in the Nagios plugin convention: exit 0 OK,\n"
	"                1 WARNING, 2 CRITICAL, 3 UNKNOWN, with a status line;\n"
	"                a damaged group state file is UNKNOWN (or CRITICAL)\n"
	"      --crit N              critical at N events behind (or a duration,\n"
	"                            such as 5m, for the time behind)\n"
	"      --group NAME          check one group (default: every group)\n"
	"      --state-dir DIR       groups kept in DIR rather than in the log\n"
	"      --warn N              warning at N events (or a duration) behind\n"
	"      --kafka-config FILE   on a kafka log, librdkafka properties\n"
	"                            from FILE, as kcat reads them\n"
	"      --kafka-timeout DURATION  on a kafka log, give up on a\n"
	"                            cluster that does not answer (10s)\n"
	"  -X PROPERTY=VALUE         on a kafka log, a librdkafka property;\n"
	"                            may be repeated\n"
	"  metrics LOG...  Prometheus text exposition for node_exporter\n"
	"      --group NAME          on a kafka log, the lag of group NAME per\n"
	"                            partition (may be repeated; default:\n"
	"                            every group, through ListGroups)\n"
	"      --state-dir DIR       groups kept in DIR rather than in the log\n"
	"      --kafka-config FILE   on a kafka log, librdkafka properties\n"
	"                            from FILE, as kcat reads them\n"
	"      --kafka-timeout DURATION  on a kafka log, give up on a\n"
	"                            cluster that does not answer (10s)\n"
	"  -X PROPERTY=VALUE         on a kafka log, a librdkafka property;\n"
	"                            may be repeated\n"
	"  health LOG    health check of a kafka log (Nagios exit codes):\n"
	"                metadata within the timeout, every broker up, every\n"
	"                partition's leader up, no group past --max-lag\n"
	"      --group NAME          degraded when group NAME is more than\n"
	"                            --max-lag events behind (may be repeated)\n"
	"      --max-lag N           the lag past which a group is degraded\n"
	"                            (1000)\n"
	"      --kafka-config FILE   on a kafka log, librdkafka properties\n"
	"                            from FILE, as kcat reads them\n"
	"      --kafka-timeout DURATION  on a kafka log, give up on a\n"
	"                            cluster that does not answer (10s)\n"
	"  -X PROPERTY=VALUE         on a kafka log, a librdkafka property;\n"
	"                            may be repeated\n"
	"  streams LOG   list streams: version, events, first and last offset\n"
	"      --category NAME       only streams NAME and NAME-*\n"
	"      --json                one JSON object per stream\n"
	"      --stream-exact NAME   only stream NAME, even one with *, ? or [\n"
	"                            in it, looked up in the stream index\n"
	"  trim LOG      remove whole old segments (never the last)\n"
	"      --before TIME         segments last appended before TIME\n"
	"      --dry-run             say what would go, remove nothing\n"
	"      --force               even events a group or a projection has\n"
	"                            not read\n"
	"      --keep-bytes SIZE     keep at least SIZE bytes\n"
	"      --keep-events N       keep at least N events\n"
	"      --state-dir DIR       also respect the groups and projections\n"
	"                            kept in DIR\n"
	"  export LOG    write a snapshot of the log as one archive file\n"
	"      --format FORMAT       tar, tar.zst, tar.gz or zip (default: from\n"
	"                            the name of FILE; tar for -o -)\n"
	"      -o, --output FILE     the archive ('-': standard output)\n"
	"      -q, --quiet           print nothing on success\n"
	"  import FILE LOG  unpack an archive into a new log, verified, then\n"
	"                renamed into place; hostile entries refuse it\n"
	"      --max-bytes SIZE      refuse an archive that unpacks to more\n"
	"                            (default: the free space)\n"
	"      -q, --quiet           print nothing on success\n"
	"  schema COMMAND  JSON Schema for events (evlog-schemas(5)): check\n"
	"                validates events, lint checks a schema directory,\n"
	"                compat compares schema versions, infer writes a\n"
	"                schema; 'evctl schema COMMAND --help' shows its\n"
	"                options\n"
	"\n"
	"Options:\n"
	"  -h, --help    show this help and exit\n"
	"  -V, --version show versions and exit\n"
	"\n"
	"KAFKA-OPTIONS: -X PROPERTY=VALUE, --kafka-config FILE and\n"
	"--kafka-timeout DURATION, on a kafka://HOST:PORT/TOPIC LOG (evctl(1)\n"
	"KAFKA).\n"
	"\n"
	"Exit status: 0 ok, 1 failure, 64 usage, 65 damaged data (schema: invalid\n"
	"events, problems, incompatible schemas; import: a refused archive), 66\n"
	"missing log, 73 import: LOG exists, 74 I/O error, 75 a group is busy\n"
	"or a group or projection is not caught up; lag and health use 0-3.\n"
	"See evctl(1).\n";

static void on_notice(void *ctx, const char *msg)
{
	FILE *f = ctx;

	if (f == stdout)
		printf("%s\n", msg);
	else
		fe_warn("%s", msg);
}

static int open_log_as(const char *path, struct ev_log **log, int damaged)
{
	struct ev_error err;
	int r = damaged ? ev_log_open_damaged(log, path, &err)
			: ev_log_open(log, path, &err);

	if (r != 0)
		return fe_report(&err);
	ev_log_set_notice(*log, fe_warning, NULL);
	return 0;
}

static int open_log(const char *path, struct ev_log **log)
{
	return open_log_as(path, log, 0);
}

/* After a command's options, its one LOG operand, opened: 0, or an exit
 * status. */
static int one_log(int argc, char **argv, const char *cmd, struct ev_log **log)
{
	if (optind + 1 != argc)
		return fe_usage_error(usage_short,
				      "%s: expected one LOG operand", cmd);
	/* verify and repair take a log whose meta is damaged: they report
	 * and rebuild it */
	return open_log_as(argv[optind], log,
			   strcmp(cmd, "verify") == 0 ||
				   strcmp(cmd, "repair") == 0);
}

/* ------------------------------------------------------------ init */

static int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{"correlation-index", no_argument, NULL, 'c'},
		{"dedupe-window", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{"level", required_argument, NULL, 'l'},
		{"segment-bytes", required_argument, NULL, 's'},
		{"sync", required_argument, NULL, 'y'},
		{NULL, 0, NULL, 0},
	};
	struct ev_log_config cfg;
	struct ev_error err;
	uint64_t v;
	int c;

	ev_log_config_init(&cfg);
	while ((c = fe_getopt(argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 'c':
			cfg.correlation_index = 1;
			break;
		case 'd':
			if (fe_parse_u64(optarg, &v) != 0 || v > 1000000000)
				return fe_usage_error(
					usage_short,
					"--dedupe-window: '%s' is not a "
					"number from 0 to 1000000000",
					optarg);
			cfg.dedupe_window = v;
			break;
		case 'l':
			if (fe_parse_u64(optarg, &v) != 0 || v > 19)
				return fe_usage_error(
					usage_short,
					"--level: '%s' is not a level "
					"from 0 to 19",
					optarg);
			cfg.level = (int)v;
			break;
		case 's':
			if (fe_parse_size(optarg, &v) != 0 ||
			    v < EV_MIN_SEGMENT_BYTES ||
			    v > EV_MAX_SEGMENT_BYTES)
				return fe_usage_error(
					usage_short,
					"--segment-bytes: '%s' is not a "
					"size from 64K to 4G-1",
					optarg);
			cfg.segment_bytes = v;
			break;
		case 'y':
			if (fe_parse_sync(optarg, &cfg.sync) != 0)
				return fe_usage_error(
					usage_short,
					"--sync: '%s' is not batch or "
					"none",
					optarg);
			break;
		}
	}
	if (optind + 1 != argc)
		return fe_usage_error(usage_short,
				      "init: expected one LOG operand");
	if (ev_log_create(argv[optind], &cfg, &err) != 0) {
		/* no directory to put it in: 66, as for evctl import */
		char parent[4096], *slash;
		struct stat st;
		snprintf(parent, sizeof(parent), "%s", argv[optind]);
		slash = strrchr(parent, '/');
		if (slash != NULL && slash != parent)
			*slash = '\0';
		else
			snprintf(parent, sizeof(parent), "%s",
				 slash ? "/" : ".");
		if (err.code == EV_EIO && stat(parent, &st) != 0 &&
		    (errno == ENOENT || errno == ENOTDIR))
			err.code = EV_ENOENT;
		return fe_report(&err);
	}
	return EV_EXIT_OK;
}

/* ------------------------------------------------------------ kafka */

/* the long options every command on a kafka log takes (with "X:") */
/* clang-format off */
#define KAFKA_OPTIONS \
	{"kafka-config", required_argument, NULL, EVCTL_OPT_KAFKA_CONFIG}, \
	{"kafka-timeout", required_argument, NULL, EVCTL_OPT_KAFKA_TIMEOUT}
/* clang-format on */

/* A Kafka option (evctl_kafka_option()): 0, or the exit status of its
 * error, reported. */
static int kafka_option(struct evctl_kafka *k, int c, const char *arg)
{
	char why[1100];
	int rc = evctl_kafka_option(k, c, arg, why, sizeof(why));

	if (rc <= 0)
		return 0;
	evctl_kafka_free(k);
	if (rc == EV_EXIT_USAGE)
		return fe_usage_error(usage_short, "%s", why);
	fe_warn("%s", why);
	return rc;
}

/* After a command's options: is its one LOG operand a kafka:// one?
 * 0 when it is (the command goes on there), -1 when it is not and no
 * option only a kafka log takes was given, else an exit status. */
static int kafka_dispatch(struct evctl_kafka *k, int argc, char **argv,
			  const char *cmd)
{
	if (optind + 1 == argc && ev_kafka_is_addr(argv[optind]))
		return 0;
	if (optind + 1 != argc && optind < argc &&
	    ev_kafka_is_addr(argv[optind]))
		return fe_usage_error(usage_short,
				      "%s: expected one LOG operand", cmd);
	if (k->kafka_opt != NULL)
		return fe_usage_error(usage_short,
				      "%s: %s needs a kafka://HOST:PORT/TOPIC "
				      "LOG",
				      cmd, k->kafka_opt);
	evctl_kafka_free(k);
	return -1;
}

/* ------------------------------------------------------------ info */

/* out on stdout, or fe_oom() when r says it could not be made: an exit
 * status */
static int print_buf(int r, const struct ev_buf *out)
{
	if (r != 0)
		return fe_oom();
	if (out->len > 0 && fwrite(out->p, 1, out->len, stdout) != out->len)
		return EV_EXIT_IO;
	return EV_EXIT_OK;
}

static int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, 'j'},
		{"types", no_argument, NULL, 't'},
		KAFKA_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct evctl_kafka k;
	struct ev_log *log = NULL;
	struct ev_log_info info;
	struct ev_error err;
	struct ev_type_count *types = NULL;
	struct ev_buf out = {0};
	size_t ntypes = 0;
	int c, json = 0, want_types = 0, rc;

	evctl_kafka_init(&k);
	while ((c = fe_getopt(argc, argv, "hX:", opts)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 't':
			want_types = 1;
			break;
		default:
			if ((rc = kafka_option(&k, c, optarg)) != 0)
				return rc;
			break;
		}
	}
	if ((rc = kafka_dispatch(&k, argc, argv, "info")) >= 0) {
		if (rc == 0 && want_types)
			rc = fe_usage_error(usage_short,
					    "info: --types is not built for a "
					    "kafka log (it would read every "
					    "record)");
		else if (rc == 0)
			rc = evctl_kafka_info(&k, argv[optind], json);
		evctl_kafka_free(&k);
		return rc;
	}
	if ((rc = one_log(argc, argv, "info", &log)) != 0)
		return rc;
	if (ev_log_info(log, &info, &err) != 0) {
		rc = fe_report(&err);
		ev_log_close(log);
		return rc;
	}
	if (want_types && ev_log_type_counts(log, &types, &ntypes, &err) != 0) {
		rc = fe_report(&err);
		goto out;
	}
	rc = print_buf((json ? ev_log_info_json
			     : ev_log_info_text)(&out, log, argv[optind], &info,
						 types, ntypes, want_types),
		       &out);
out:
	ev_buf_free(&out);
	ev_type_counts_free(types, ntypes);
	free(info.seg);
	ev_log_close(log);
	return rc;
}

/* ------------------------------------------------------------ verify */

static int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"quiet", no_argument, NULL, 'q'},
		{NULL, 0, NULL, 0},
	};
	struct ev_log *log = NULL;
	struct ev_verify_report rep;
	struct ev_error err;
	char b1[32], b2[32];
	int c, quiet = 0, rc;

	while ((c = fe_getopt(argc, argv, "hq", opts)) != -1) {
		switch (c) {
		case 'q':
			quiet = 1;
			break;
		}
	}
	if ((rc = one_log(argc, argv, "verify", &log)) != 0)
		return rc;
	rc = ev_log_verify(log, &rep, on_notice, stderr, &err);
	if (rc != 0) {
		rc = fe_reportf(&err, "'%s' is damaged", argv[optind]);
		if (!err.hint[0] && err.remedy == EV_REMEDY_NONE)
			fe_warn("run 'evctl repair %s' to truncate a torn tail; "
				"damage before it needs --truncate-damaged",
				argv[optind]);
	} else if (!quiet) {
		printf("%s: ok, %s %s in %s %s, %llu %s", argv[optind],
		       ev_commas(rep.records, b1),
		       ev_plural(rep.records, "event", "events"),
		       ev_commas(rep.batches, b2),
		       ev_plural(rep.batches, "batch", "batches"),
		       (unsigned long long)rep.segments,
		       ev_plural(rep.segments, "segment", "segments"));
		if (rep.gaps > 0)
			printf(", %llu %s (%s %s lost)",
			       (unsigned long long)rep.gaps,
			       ev_plural(rep.gaps, "gap", "gaps"),
			       ev_commas(rep.gap_events, b1),
			       ev_plural(rep.gap_events, "event", "events"));
		putchar('\n');
	}
	ev_log_close(log);
	return rc;
}

/* ------------------------------------------------------------ repair */

static int cmd_repair(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dry-run", no_argument, NULL, 'n'},
		{"help", no_argument, NULL, 'h'},
		{"truncate-damaged", no_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	struct ev_log *log = NULL;
	struct ev_error err;
	int c, flags = 0, rc;

	while ((c = fe_getopt(argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 'n':
			flags |= EV_REPAIR_DRY_RUN;
			break;
		case 't':
			flags |= EV_REPAIR_TRUNCATE_DAMAGED;
			break;
		}
	}
	if ((rc = one_log(argc, argv, "repair", &log)) != 0)
		return rc;
	rc = ev_log_repair(log, flags, on_notice, stdout, &err);
	if (rc != 0) {
		rc = fe_reportf(&err, "cannot repair '%s'", argv[optind]);
	} else {
		printf("%s: %s\n", argv[optind],
		       flags & EV_REPAIR_DRY_RUN ? "dry run done" : "repaired");
	}
	ev_log_close(log);
	return rc;
}

/* ------------------------------------------------------------ groups */

/* The form of --to, checked while parsing options: 0, or a usage error
 * (64) already reported. */
static int parse_to(const char *s, struct ev_pos *p)
{
	int r = ev_pos_parse(s, 0, ev_now(), p);

	if (r == 0)
		return 0;
	if (r == EV_EDATA)
		return fe_time_range_error(usage_short, "--to", s);
	if (s[0] == '@')
		return fe_usage_error(usage_short, "--to: '%s' is not a time",
				      s + 1);
	return fe_usage_error(
		usage_short, "--to: '%s' is not start, end, an offset or @TIME",
		s);
}

/* Where --to is in this log: 0, or an exit status. */
static int resolve_to(struct ev_log *log, const struct ev_pos *p, uint64_t *out)
{
	struct ev_reader *rd;
	struct ev_error err;
	int r;

	if ((r = ev_reader_open(&rd, log, &err)) == 0)
		r = ev_pos_resolve(rd, p, out, &err);
	ev_reader_free(rd);
	if (r == EV_EUSAGE)
		return fe_reportf(&err, "--to");
	return r != 0 ? fe_report(&err) : 0;
}

/* evctl groups --reset NAME --to POS [--execute]: an exit status. */
static int groups_reset(struct ev_log *log, const char *name,
			const char *state_dir, const struct ev_pos *to,
			int execute)
{
	struct ev_group_state old;
	struct ev_error err;
	uint64_t pos;
	char b1[32], b2[32];
	int rc;

	if ((rc = resolve_to(log, to, &pos)) != 0)
		return rc;
	rc = ev_group_reset(log, name, state_dir, pos, !execute, &old, &err);
	if (rc == EV_EAGAIN)
		snprintf(err.hint, sizeof(err.hint), "stop the consumer first");
	if (rc != 0)
		return fe_report(&err);
	if (old.damaged)
		printf("%s the damaged state file of group '%s' at offset %s\n",
		       execute ? "rewrote" : "would rewrite", name,
		       ev_commas(pos, b2));
	else
		printf("%s group '%s' from offset %s to %s\n",
		       execute ? "moved" : "would move", name,
		       ev_commas(old.next, b1), ev_commas(pos, b2));
	if (!execute)
		printf("(a dry run: add --execute to do it)\n");
	return EV_EXIT_OK;
}

/* evctl groups --delete NAME [--execute]: an exit status. */
static int groups_delete(struct ev_log *log, const char *name,
			 const char *state_dir, int execute)
{
	struct ev_group_state st;
	struct ev_log_info info;
	struct ev_error err;
	uint64_t lag;
	double secs;
	char b1[32], b2[32];
	int rc;

	memset(&info, 0, sizeof(info));
	if (ev_log_info(log, &info, &err) != 0)
		return fe_report(&err);
	rc = ev_group_delete(log, name, state_dir, !execute, &st, &err);
	if (rc == EV_EAGAIN)
		snprintf(err.hint, sizeof(err.hint), "stop the consumer first");
	if (rc != 0) {
		free(info.seg);
		return fe_report(&err);
	}
	if (st.damaged) {
		free(info.seg);
		printf("%s group '%s', whose state file %s damaged\n",
		       execute ? "deleted" : "would delete", name,
		       execute ? "was" : "is");
		if (!execute)
			printf("(a dry run: add --execute to do it)\n");
		return EV_EXIT_OK;
	}
	ev_group_lag(log, &st, &info, &lag, &secs, NULL);
	free(info.seg);
	printf("%s group '%s' at offset %s, %s %s behind\n",
	       execute ? "deleted" : "would delete", name,
	       ev_commas(st.next, b1), ev_commas(lag, b2),
	       ev_plural(lag, "event", "events"));
	if (!execute)
		printf("(a dry run: add --execute to do it)\n");
	return EV_EXIT_OK;
}

/*
 * Report the groups of gs[0..*n) whose state file is damaged, as ls
 * reports an entry it cannot read, and leave them out of gs: how many
 * there were.
 */
static size_t drop_damaged_groups(struct ev_log *log, const char *state_dir,
				  struct ev_group_state *gs, size_t *n)
{
	struct ev_error err;
	size_t i, k = 0, bad = 0;

	for (i = 0; i < *n; i++) {
		if (!gs[i].damaged) {
			gs[k++] = gs[i];
			continue;
		}
		bad++;
		ev_group_damaged_error(log, gs[i].name, state_dir, &err);
		fe_warn("warning: %s: group '%s' left out", err.msg,
			gs[i].name);
		fe_warn("%s", err.hint);
	}
	*n = k;
	return bad;
}

/* Report the damaged state files of log's groups (of group only, when
 * not NULL), as evctl groups does: how many. */
static size_t warn_damaged_groups(struct ev_log *log, const char *state_dir,
				  const char *group)
{
	struct ev_group_state *gs = NULL;
	struct ev_error err;
	size_t n = 0, i, k = 0, bad;

	if (ev_group_list_all(log, state_dir, &gs, &n, &err) != 0)
		return 0; /* the check said why */
	for (i = 0; i < n; i++)
		if (group == NULL || strcmp(gs[i].name, group) == 0)
			gs[k++] = gs[i];
	bad = drop_damaged_groups(log, state_dir, gs, &k);
	free(gs);
	return bad;
}

static int cmd_groups(int argc, char **argv)
{
	static const struct option opts[] = {
		{"delete", required_argument, NULL, 'd'},
		{"execute", no_argument, NULL, 'x'},
		{"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, 'j'},
		{"reset", required_argument, NULL, 'r'},
		{"state-dir", required_argument, NULL, 's'},
		{"to", required_argument, NULL, 't'},
		{"group", required_argument, NULL, 'g'},
		KAFKA_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const char *reset = NULL, *to = NULL, *state_dir = NULL, *del = NULL;
	const char *local_opt = NULL;
	struct evctl_kafka k;
	struct ev_pos to_pos;
	struct ev_group_state *gs = NULL;
	struct ev_log_info info;
	struct ev_log *log = NULL;
	struct ev_error err;
	struct ev_buf out = {0};
	size_t n = 0, damaged;
	int c, json = 0, execute = 0, rc;

	evctl_kafka_init(&k);
	while ((c = fe_getopt(argc, argv, "hX:", opts)) != -1) {
		switch (c) {
		case 'd':
			del = optarg;
			local_opt = "--delete";
			break;
		case 'x':
			execute = 1;
			local_opt = "--execute";
			break;
		case 'j':
			json = 1;
			break;
		case 'r':
			reset = optarg;
			local_opt = "--reset";
			break;
		case 's':
			state_dir = optarg;
			local_opt = "--state-dir";
			break;
		case 't':
			if ((rc = parse_to(optarg, &to_pos)) != 0)
				return rc;
			to = optarg;
			local_opt = "--to";
			break;
		case 'g':
			if ((rc = evctl_kafka_add_group(&k, optarg)) != 0)
				return rc;
			k.kafka_opt = k.kafka_opt ? k.kafka_opt : "--group";
			break;
		default:
			if ((rc = kafka_option(&k, c, optarg)) != 0)
				return rc;
			break;
		}
	}
	if ((rc = kafka_dispatch(&k, argc, argv, "groups")) >= 0) {
		if (rc == 0 && local_opt != NULL)
			rc = fe_usage_error(usage_short,
					    "groups: %s is not built for a "
					    "kafka log (its groups are the "
					    "cluster's: see evctl(1) KAFKA)",
					    local_opt);
		else if (rc == 0)
			rc = evctl_kafka_groups(&k, argv[optind], json);
		evctl_kafka_free(&k);
		return rc;
	}
	if (optind + 1 != argc)
		return fe_usage_error(usage_short,
				      "groups: expected one LOG operand");
	if ((reset == NULL) != (to == NULL))
		return fe_usage_error(usage_short,
				      "groups: --reset and --to go together");
	if (reset != NULL && del != NULL)
		return fe_usage_error(
			usage_short,
			"groups: --reset and --delete cannot be combined");
	if (execute && reset == NULL && del == NULL)
		return fe_usage_error(
			usage_short,
			"groups: --execute goes with --reset or --delete");
	if ((reset != NULL || del != NULL) && json)
		return fe_usage_error(usage_short,
				      "groups: --json cannot be combined with "
				      "--reset or --delete");
	if (reset != NULL && !ev_group_name_ok(reset))
		return fe_usage_error(usage_short,
				      "groups: '%s' is not a group name",
				      reset);
	if (del != NULL && !ev_group_name_ok(del))
		return fe_usage_error(usage_short,
				      "groups: '%s' is not a group name", del);
	memset(&info, 0, sizeof(info));
	if ((rc = open_log(argv[optind], &log)) != 0)
		return rc;
	if (reset != NULL) {
		rc = groups_reset(log, reset, state_dir, &to_pos, execute);
		goto out;
	}
	if (del != NULL) {
		rc = groups_delete(log, del, state_dir, execute);
		goto out;
	}
	if (ev_log_info(log, &info, &err) != 0 ||
	    ev_group_list_all(log, state_dir, &gs, &n, &err) != 0) {
		rc = fe_report(&err);
		goto out;
	}
	/* the good groups are listed; a damaged one makes it exit 65 */
	damaged = drop_damaged_groups(log, state_dir, gs, &n);
	rc = print_buf(ev_groups_format(&out, log, &info, gs, n, json), &out);
	if (rc == EV_EXIT_OK && damaged > 0)
		rc = EV_EXIT_DATA;
out:
	ev_buf_free(&out);
	free(info.seg);
	free(gs);
	ev_log_close(log);
	return rc;
}

/* ------------------------------------------------------------ lag */

static int parse_threshold(const char *s, struct ev_threshold *t)
{
	int64_t ms;

	t->is_time = 0;
	if (fe_parse_u64(s, &t->events) == 0)
		return 0;
	if (s[0] >= '0' && s[0] <= '9' && ev_duration_parse(s, &ms) == 0) {
		t->is_time = 1;
		t->seconds = (double)ms / 1000.0;
		return 0;
	}
	return -1;
}

/* Nagios plugin exit statuses */
enum { NAGIOS_CRITICAL = 2, NAGIOS_UNKNOWN = 3 };

static int cmd_lag(int argc, char **argv)
{
	static const struct option opts[] = {
		{"crit", required_argument, NULL, 'c'},
		{"group", required_argument, NULL, 'g'},
		{"help", no_argument, NULL, 'h'},
		{"state-dir", required_argument, NULL, 's'},
		{"warn", required_argument, NULL, 'w'},
		KAFKA_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct evctl_kafka k;
	char why[1100];
	struct ev_threshold warn, crit;
	const char *group = NULL, *state_dir = NULL;
	struct ev_log *log = NULL;
	struct ev_error err;
	struct ev_buf line = {0};
	int c, status, have_warn = 0, have_crit = 0;

	/* the Nagios convention: problems with the check itself are
	 * UNKNOWN, usage errors included */
	evctl_kafka_init(&k);
	while ((c = getopt_long(argc, argv, "hX:", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
		case 'w':
			if (parse_threshold(optarg, c == 'c' ? &crit : &warn) !=
			    0) {
				printf("LAG UNKNOWN - --%s: '%s' is not a number "
				       "of events or a duration\n",
				       c == 'c' ? "crit" : "warn", optarg);
				return NAGIOS_UNKNOWN;
			}
			*(c == 'c' ? &have_crit : &have_warn) = 1;
			break;
		case 'g':
			group = optarg;
			break;
		case 'h':
			fe_help(usage_short, usage_long);
			return EV_EXIT_OK;
		case 's':
			state_dir = optarg;
			break;
		default:
			status = evctl_kafka_option(&k, c, optarg, why,
						    sizeof(why));
			if (status == 0)
				break;
			evctl_kafka_free(&k);
			if (status > 0)
				printf("LAG UNKNOWN - %s\n", why);
			else
				printf("LAG UNKNOWN - bad usage, see 'evctl "
				       "--help'\n");
			return NAGIOS_UNKNOWN;
		}
	}
	if (optind + 1 == argc && ev_kafka_is_addr(argv[optind]) && have_warn &&
	    have_crit) {
		if (state_dir != NULL) {
			printf("LAG UNKNOWN - --state-dir: not on a kafka log "
			       "(its groups are the cluster's)\n");
			status = NAGIOS_UNKNOWN;
		} else if (group != NULL &&
			   (status = evctl_kafka_add_group(&k, group)) != 0) {
			status = NAGIOS_UNKNOWN;
		} else {
			status =
				evctl_kafka_lag(&k, argv[optind], &warn, &crit);
		}
		evctl_kafka_free(&k);
		return status;
	}
	if (k.kafka_opt != NULL && optind + 1 == argc &&
	    !ev_kafka_is_addr(argv[optind])) {
		printf("LAG UNKNOWN - %s needs a kafka://HOST:PORT/TOPIC LOG\n",
		       k.kafka_opt);
		evctl_kafka_free(&k);
		return NAGIOS_UNKNOWN;
	}
	evctl_kafka_free(&k);
	if (optind + 1 != argc || !have_warn || !have_crit) {
		printf("LAG UNKNOWN - usage: evctl lag [--group NAME] "
		       "[--state-dir DIR] --warn N --crit N LOG\n");
		return NAGIOS_UNKNOWN;
	}
	status = ev_log_open(&log, argv[optind], &err);
	if (status == 0)
		status = ev_lag_check(log, group, state_dir, &warn, &crit,
				      &line, &err);
	if (status < 0) {
		printf("LAG UNKNOWN - %s\n", err.msg);
		status = NAGIOS_UNKNOWN;
	} else {
		printf("%s\n", (char *)line.p);
	}
	/* the groups whose state file is damaged were left out: reported
	 * as groups reports them.  Still a monitoring check: UNKNOWN, or
	 * CRITICAL when another group is (the worse of the two) */
	if (log != NULL && warn_damaged_groups(log, state_dir, group) > 0 &&
	    status != NAGIOS_CRITICAL)
		status = NAGIOS_UNKNOWN;
	ev_buf_free(&line);
	ev_log_close(log);
	return status;
}

/* ------------------------------------------------------------ metrics */

static int cmd_metrics(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"state-dir", required_argument, NULL, 's'},
		{"group", required_argument, NULL, 'g'},
		KAFKA_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	const char *state_dir = NULL;
	struct evctl_kafka k;
	int nkafka = 0;
	struct ev_metrics *m = NULL;
	struct ev_log **logs;
	struct ev_buf out = {0};
	struct ev_error err;
	size_t nl, i;
	int c, rc = 0, damaged = 0;

	evctl_kafka_init(&k);
	while ((c = fe_getopt(argc, argv, "hX:", opts)) != -1) {
		switch (c) {
		case 's':
			state_dir = optarg;
			break;
		case 'g':
			if ((rc = evctl_kafka_add_group(&k, optarg)) != 0)
				return rc;
			k.kafka_opt = k.kafka_opt ? k.kafka_opt : "--group";
			break;
		default:
			if ((rc = kafka_option(&k, c, optarg)) != 0)
				return rc;
			break;
		}
	}
	if (optind >= argc) {
		evctl_kafka_free(&k);
		return fe_usage_error(
			usage_short,
			"metrics: expected one or more LOG operands");
	}
	for (c = optind; c < argc; c++)
		nkafka += ev_kafka_is_addr(argv[c]);
	if (nkafka > 0 || k.kafka_opt != NULL) {
		if (nkafka != argc - optind)
			rc = fe_usage_error(
				usage_short,
				nkafka > 0 ? "metrics: kafka logs and local "
					     "logs cannot be mixed"
					   : "metrics: %s needs a "
					     "kafka://HOST:PORT/TOPIC LOG",
				k.kafka_opt);
		else if (state_dir != NULL)
			rc = fe_usage_error(usage_short,
					    "metrics: --state-dir: not on a "
					    "kafka log (its groups are the "
					    "cluster's)");
		else
			rc = evctl_kafka_metrics(&k, argv + optind,
						 (size_t)(argc - optind));
		evctl_kafka_free(&k);
		return rc;
	}
	evctl_kafka_free(&k);
	nl = (size_t)(argc - optind);
	if ((logs = calloc(nl, sizeof(*logs))) == NULL ||
	    ev_metrics_new(&m) != 0) {
		free(logs);
		return fe_oom();
	}
	/* everything first: a failure prints nothing, so that a textfile
	 * collector never reads half a file */
	for (i = 0; i < nl && rc == 0; i++) {
		const char *path = argv[optind + (int)i];
		struct ev_group_state *gs = NULL;
		size_t ng = 0;
		if ((rc = open_log(path, &logs[i])) == 0 &&
		    ev_metrics_add(m, logs[i], path, state_dir, &err) != 0)
			rc = fe_report(&err);
		/* the groups whose state file is damaged are left out of
		 * the figures, reported, and make it exit 65 */
		if (rc == 0 &&
		    ev_group_list_all(logs[i], state_dir, &gs, &ng, &err) ==
			    0 &&
		    drop_damaged_groups(logs[i], state_dir, gs, &ng) > 0)
			damaged = 1;
		free(gs);
	}
	if (rc == 0 && ev_metrics_format(m, &out, &err) != 0)
		rc = fe_report(&err);
	if (rc == 0 && fwrite(out.p, 1, out.len, stdout) != out.len)
		rc = EV_EXIT_IO;
	if (rc == 0 && damaged)
		rc = EV_EXIT_DATA;
	ev_metrics_free(m);
	for (i = 0; i < nl; i++)
		ev_log_close(logs[i]);
	free(logs);
	ev_buf_free(&out);
	return rc;
}

/* ------------------------------------------------------------ health */

/* evctl health kafka://...: the Nagios check of a service's Kafka
 * (evctl_kafka.c) */
static int cmd_health(int argc, char **argv)
{
	static const struct option opts[] = {
		{"group", required_argument, NULL, 'g'},
		{"help", no_argument, NULL, 'h'},
		{"max-lag", required_argument, NULL, EVCTL_OPT_MAX_LAG},
		KAFKA_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct evctl_kafka k;
	char why[1100];
	int c, status;

	evctl_kafka_init(&k);
	while ((c = getopt_long(argc, argv, "hX:", opts, NULL)) != -1) {
		status = 0;
		switch (c) {
		case 'g':
			if (evctl_kafka_add_group(&k, optarg) != 0)
				status = NAGIOS_UNKNOWN;
			break;
		case 'h':
			fe_help(usage_short, usage_long);
			evctl_kafka_free(&k);
			return EV_EXIT_OK;
		case EVCTL_OPT_MAX_LAG:
			if (fe_parse_u64(optarg, &k.max_lag) != 0) {
				printf("HEALTH UNKNOWN - --max-lag: '%s' is "
				       "not a number of events\n",
				       optarg);
				status = NAGIOS_UNKNOWN;
			}
			break;
		default:
			status = evctl_kafka_option(&k, c, optarg, why,
						    sizeof(why));
			if (status > 0)
				printf("HEALTH UNKNOWN - %s\n", why);
			else if (status < 0)
				printf("HEALTH UNKNOWN - bad usage, see 'evctl "
				       "--help'\n");
			status = status != 0 ? NAGIOS_UNKNOWN : 0;
			break;
		}
		if (status != 0) {
			evctl_kafka_free(&k);
			return status;
		}
	}
	if (optind + 1 != argc) {
		printf("HEALTH UNKNOWN - usage: evctl health [--group NAME]... "
		       "[--max-lag N] [KAFKA-OPTIONS] "
		       "kafka://HOST:PORT/TOPIC\n");
		status = NAGIOS_UNKNOWN;
	} else if (!ev_kafka_is_addr(argv[optind])) {
		printf("HEALTH UNKNOWN - '%s' is not a kafka log: health "
		       "checks a kafka://HOST:PORT/TOPIC (a local log: evctl "
		       "verify and evctl lag)\n",
		       argv[optind]);
		status = NAGIOS_UNKNOWN;
	} else {
		status = evctl_kafka_health(&k, argv[optind]);
	}
	evctl_kafka_free(&k);
	return status;
}

/* ------------------------------------------------------------ trim */

static int cmd_trim(int argc, char **argv)
{
	static const struct option opts[] = {
		{"before", required_argument, NULL, 'b'},
		{"dry-run", no_argument, NULL, 'n'},
		{"force", no_argument, NULL, 'f'},
		{"help", no_argument, NULL, 'h'},
		{"keep-bytes", required_argument, NULL, 'B'},
		{"keep-events", required_argument, NULL, 'E'},
		{"state-dir", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0},
	};
	struct ev_trim_opts o;
	struct ev_log *log = NULL;
	struct ev_error err;
	int c, rc, kinds = 0;

	memset(&o, 0, sizeof(o));
	o.before = EV_TIME_NONE;
	while ((c = fe_getopt(argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 'b':
			rc = ev_time_parse_user(optarg, ev_now(), &o.before);
			if (rc == EV_EDATA)
				return fe_time_range_error(usage_short,
							   "trim: --before",
							   optarg);
			if (rc != 0)
				return fe_usage_error(
					usage_short,
					"trim: --before: '%s' is not a "
					"time",
					optarg);
			kinds++;
			break;
		case 'n':
			o.dry_run = 1;
			break;
		case 'f':
			o.force = 1;
			break;
		case 'B':
			if (fe_parse_size(optarg, &o.keep_bytes) != 0 ||
			    o.keep_bytes == 0)
				return fe_usage_error(
					usage_short,
					"trim: --keep-bytes: '%s' is "
					"not a size",
					optarg);
			kinds++;
			break;
		case 'E':
			if (fe_parse_u64(optarg, &o.keep_events) != 0 ||
			    o.keep_events == 0)
				return fe_usage_error(
					usage_short,
					"trim: --keep-events: '%s' is "
					"not a positive number",
					optarg);
			kinds++;
			break;
		case 's':
			o.state_dir = optarg;
			break;
		}
	}
	if (optind + 1 != argc)
		return fe_usage_error(usage_short,
				      "trim: expected one LOG operand");
	if (kinds != 1)
		return fe_usage_error(
			usage_short,
			"trim: give one of --before, --keep-events "
			"and --keep-bytes");
	if ((rc = open_log(argv[optind], &log)) != 0)
		return rc;
	rc = ev_log_trim(log, &o, on_notice, stdout, &err);
	if (rc != 0)
		rc = fe_report(&err);
	ev_log_close(log);
	return rc;
}

/* ------------------------------------------------------------ streams */

static int cmd_streams(int argc, char **argv)
{
	static const struct option opts[] = {
		{"category", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, 'j'},
		{"stream-exact", required_argument, NULL, 'x'},
		{NULL, 0, NULL, 0},
	};
	struct ev_stream_info *v = NULL, one;
	const char *category = NULL, *exact = NULL;
	uint64_t end;
	struct ev_log *log = NULL;
	struct ev_state *st = NULL;
	struct ev_error err;
	struct ev_buf b = {0};
	size_t n = 0;
	int c, rc, json = 0;

	while ((c = fe_getopt(argc, argv, "h", opts)) != -1) {
		switch (c) {
		case 'c':
			if (optarg[0] == '\0' || strpbrk(optarg, "*?[") != NULL)
				return fe_usage_error(
					usage_short,
					"streams: --category: '%s' is "
					"a name, not a pattern",
					optarg);
			category = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'x':
			if (optarg[0] == '\0')
				return fe_usage_error(
					usage_short,
					"streams: --stream-exact: a stream "
					"name cannot be empty");
			exact = optarg;
			break;
		}
	}
	if (category != NULL && exact != NULL)
		return fe_usage_error(usage_short,
				      "streams: --category and --stream-exact "
				      "cannot be combined");
	if ((rc = one_log(argc, argv, "streams", &log)) != 0)
		return rc;
	if (exact != NULL) {
		/* one stream: its index entry, not every stream */
		rc = ev_state_lookup(log, exact, strlen(exact), &one, &end,
				     &err);
		if (rc < 0) {
			rc = fe_report(&err);
		} else if (rc == 0) {
			fe_warn("no stream '%s' in '%s'", exact, argv[optind]);
			rc = EV_EXIT_NOINPUT;
		} else {
			rc = print_buf(ev_streams_format(&b, &one, 1, json),
				       &b);
		}
		goto out;
	}
	if (ev_state_load(&st, log, 0, &err) != 0) {
		rc = fe_report(&err);
		goto out;
	}
	if (ev_stream_list(st, category, &v, &n) != 0) {
		rc = fe_oom();
		goto out;
	}
	rc = print_buf(ev_streams_format(&b, v, n, json), &b);
out:
	ev_buf_free(&b);
	free(v);
	ev_state_free(st);
	ev_log_close(log);
	return rc;
}

/* ------------------------------------------------------------ export, import
 */

/* A log as one archive file, and back (lib/archive.c, evctl(1) EXPORT AND
 * IMPORT). */
static int cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'F'},
		{"help", no_argument, NULL, 'h'},
		{"output", required_argument, NULL, 'o'},
		{"quiet", no_argument, NULL, 'q'},
		{NULL, 0, NULL, 0},
	};
	enum ev_archive_format fmt = EV_ARCHIVE_NONE;
	struct ev_export_report rep;
	struct ev_log *log = NULL;
	struct ev_error err;
	const char *out = NULL, *fmtname = NULL, *path;
	char b1[32];
	int c, quiet = 0, rc;

	while ((c = fe_getopt(argc, argv, "ho:q", opts)) != -1) {
		switch (c) {
		case 'F':
			fmtname = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'q':
			quiet = 1;
			break;
		}
	}
	if (optind + 1 != argc)
		return fe_usage_error(usage_short,
				      "export: expected one LOG operand");
	path = argv[optind];
	if (out == NULL)
		return fe_usage_error(usage_short,
				      "export: -o FILE is required ('-o -' "
				      "writes to standard output)");
	if (fmtname != NULL) {
		fmt = ev_archive_format_parse(fmtname);
		if (fmt == EV_ARCHIVE_NONE)
			return fe_usage_error(
				usage_short,
				"--format: '%s' is not tar, tar.zst, "
				"tar.gz or zip",
				fmtname);
	} else if (strcmp(out, "-") == 0) {
		fmt = EV_ARCHIVE_TAR;
	} else if ((fmt = ev_archive_format_by_name(out)) == EV_ARCHIVE_NONE) {
		return fe_usage_error(
			usage_short,
			"cannot tell the format from the name '%s' (.tar, "
			".tar.zst, .tar.gz or .zip); use --format",
			out);
	}
	if (strcmp(out, "-") == 0 && isatty(STDOUT_FILENO))
		return fe_usage_error(usage_short,
				      "will not write an archive to a "
				      "terminal; redirect standard output");
	if ((rc = ev_log_open(&log, path, &err)) != 0)
		return fe_report(&err);
	ev_log_set_notice(log, fe_warning, NULL);
	rc = strcmp(out, "-") == 0
		     ? ev_log_export_fd(log, STDOUT_FILENO, fmt, &rep, &err)
		     : ev_log_export(log, out, fmt, &rep, &err);
	if (rc != 0) {
		rc = fe_reportf(&err, "cannot export '%s'", path);
	} else if (!quiet && strcmp(out, "-") != 0) {
		printf("%s: %s %s (offsets %llu to %llu) in %llu %s to '%s'\n",
		       path, ev_commas(rep.events, b1),
		       ev_plural(rep.events, "event", "events"),
		       (unsigned long long)rep.first,
		       (unsigned long long)(rep.end ? rep.end - 1 : 0),
		       (unsigned long long)rep.segments,
		       ev_plural(rep.segments, "segment", "segments"), out);
		if (fflush(stdout) != 0)
			rc = EV_EXIT_IO;
	}
	ev_log_close(log);
	return rc;
}

static int cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"max-bytes", required_argument, NULL, 'M'},
		{"quiet", no_argument, NULL, 'q'},
		{NULL, 0, NULL, 0},
	};
	struct ev_import_opts o;
	struct ev_import_report rep;
	struct ev_error err;
	char b1[32];
	int c, quiet = 0, rc;

	memset(&o, 0, sizeof(o));
	while ((c = fe_getopt(argc, argv, "hq", opts)) != -1) {
		switch (c) {
		case 'M':
			if (fe_parse_size(optarg, &o.max_bytes) != 0 ||
			    o.max_bytes == 0)
				return fe_usage_error(
					usage_short,
					"--max-bytes: '%s' is not a size "
					"(such as 512M or 10G)",
					optarg);
			break;
		case 'q':
			quiet = 1;
			break;
		}
	}
	if (optind + 2 != argc)
		return fe_usage_error(usage_short,
				      "import: expected FILE and LOG operands");
	if (strcmp(argv[optind], "-") == 0 && isatty(STDIN_FILENO))
		return fe_usage_error(usage_short,
				      "will not read an archive from a "
				      "terminal; redirect standard input");
	rc = ev_log_import(argv[optind], argv[optind + 1], &o, &rep, &err);
	if (rc != 0)
		return fe_report(&err);
	if (!quiet) {
		printf("%s: %s %s in %llu %s from '%s'\n", argv[optind + 1],
		       ev_commas(rep.events, b1),
		       ev_plural(rep.events, "event", "events"),
		       (unsigned long long)rep.segments,
		       ev_plural(rep.segments, "segment", "segments"),
		       argv[optind]);
		if (fflush(stdout) != 0)
			return EV_EXIT_IO;
	}
	return 0;
}

/* ------------------------------------------------------------ main */

static const struct fe_command commands[] = {
	{"export", cmd_export},	  {"groups", cmd_groups},
	{"health", cmd_health},	  {"import", cmd_import},
	{"info", cmd_info},	  {"init", cmd_init},
	{"lag", cmd_lag},	  {"metrics", cmd_metrics},
	{"repair", cmd_repair},	  {"schema", cmd_schema},
	{"streams", cmd_streams}, {"trim", cmd_trim},
	{"verify", cmd_verify},
};

int main(int argc, char **argv)
{
	fe_init(argv);
	evctl_kafka_usage = usage_short;
	return fe_dispatch(argc, argv, commands,
			   sizeof(commands) / sizeof(commands[0]), usage_short,
			   usage_long);
}
