/*
 * evctl - administer an evlog log: init, info, verify, repair.
 * One function per subcommand, all with the same signature (as in git).
 * See evctl(1).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog.h"
#include "fe.h"

static const char usage_short[] =
	"Usage: evctl init [--level N] [--segment-bytes SIZE] [--sync MODE] LOG\n"
	"       evctl info [--json] [--types] LOG\n"
	"       evctl verify [--quiet] LOG\n"
	"       evctl repair [--dry-run] [--truncate-damaged] LOG\n";

static const char usage_long[] =
	"Administer an evlog log.\n"
	"\n"
	"Commands:\n"
	"  init LOG      create a log\n"
	"      --level N             zstd level 0-19 (0 stores batches as they\n"
	"                            are; default 1)\n"
	"      --segment-bytes SIZE  roll segments at SIZE bytes (128M)\n"
	"      --sync MODE           default sync policy: batch or none\n"
	"  info LOG      show format, id, segments, events, bytes, times\n"
	"      --json                machine-readable output\n"
	"      --types               count events per type (reads every event)\n"
	"  verify LOG    check every batch, record and index\n"
	"      -q, --quiet           print nothing when the log is clean\n"
	"  repair LOG    truncate a torn tail and rebuild indexes and head\n"
	"      --dry-run             say what would be done, change nothing\n"
	"      --truncate-damaged    cut the log at damage, moving the cut bytes\n"
	"                            to LOG/lost+found/\n"
	"\n"
	"Options:\n"
	"  -h, --help    show this help and exit\n"
	"  -V, --version show versions and exit\n"
	"\n"
	"Exit status: 0 ok, 1 failure, 64 usage, 65 damaged data, 66 missing\n"
	"log, 74 I/O error.  See evctl(1).\n";

static void on_notice(void *ctx, const char *msg)
{
	FILE *f = ctx;

	if (f == stdout)
		printf("%s\n", msg);
	else
		fe_warn("%s", msg);
}

static int open_log(const char *path, struct ev_log **log)
{
	struct ev_error err;
	int r = ev_log_open(log, path, &err);

	if (r != 0)
		return fe_report(&err);
	return 0;
}

/* ------------------------------------------------------------ init */

static int cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
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
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fe_help(usage_short, usage_long);
			return 0;
		case 'l':
			if (fe_parse_u64(optarg, &v) != 0 || v > 19)
				return fe_usage_error(usage_short,
						      "--level: '%s' is not a level "
						      "from 0 to 19",
						      optarg);
			cfg.level = (int)v;
			break;
		case 's':
			if (fe_parse_size(optarg, &v) != 0 ||
			    v < EV_MIN_SEGMENT_BYTES || v > EV_MAX_SEGMENT_BYTES)
				return fe_usage_error(usage_short,
						      "--segment-bytes: '%s' is not a "
						      "size from 64K to 4G-1",
						      optarg);
			cfg.segment_bytes = v;
			break;
		case 'y':
			if (fe_parse_sync(optarg, &cfg.sync) != 0)
				return fe_usage_error(usage_short,
						      "--sync: '%s' is not batch or "
						      "none",
						      optarg);
			break;
		default:
			return fe_usage_error(usage_short, NULL);
		}
	}
	if (optind + 1 != argc)
		return fe_usage_error(usage_short, "init: expected one LOG operand");
	if (ev_log_create(argv[optind], &cfg, &err) != 0)
		return fe_report(&err);
	return 0;
}

/* ------------------------------------------------------------ info */

struct typecount {
	char *name;
	uint64_t n;
};

static int type_cmp(const void *a, const void *b)
{
	const struct typecount *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Count events per type with a full read. */
static int count_types(struct ev_log *log, struct typecount **out, size_t *n)
{
	struct ev_reader *rd = NULL;
	struct ev_error err;
	struct ev_rec rec;
	struct ev_str t;
	struct typecount *v = NULL, *nv;
	size_t cnt = 0, cap = 0, i;
	int r;

	if (ev_reader_open(&rd, log, &err) != 0)
		return fe_report(&err);
	while ((r = ev_reader_next(rd, &rec, &err)) == 1) {
		if (ev_event_peek_type(rec.p, rec.n, &t) != 0) {
			fe_warn("damaged record at offset %llu",
				(unsigned long long)rec.offset);
			r = EV_EDATA;
			break;
		}
		/* few distinct types: a linear scan with a move-to-front */
		for (i = 0; i < cnt; i++)
			if (strlen(v[i].name) == t.n && !memcmp(v[i].name, t.p, t.n))
				break;
		if (i == cnt) {
			if (cnt == cap) {
				cap = cap ? cap * 2 : 32;
				nv = realloc(v, cap * sizeof(*v));
				if (nv == NULL) {
					r = EV_ERR;
					break;
				}
				v = nv;
			}
			v[cnt].name = strndup(t.p, t.n);
			v[cnt].n = 0;
			cnt++;
		}
		v[i].n++;
		if (i > 0) {
			struct typecount tmp = v[i];
			v[i] = v[0];
			v[0] = tmp;
		}
	}
	ev_reader_free(rd);
	if (r < 0) {
		if (r == EV_EDATA && err.msg[0])
			fe_report(&err);
		for (i = 0; i < cnt; i++)
			free(v[i].name);
		free(v);
		return ev_exit_code(r);
	}
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), type_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

static void json_str(const char *s)
{
	struct ev_buf b = {0};

	if (ev_json_string(&b, s, strlen(s)) == 0)
		fwrite(b.p, 1, b.len, stdout);
	else
		fputs("null", stdout);
	ev_buf_free(&b);
}

static void json_time(ev_time_t t)
{
	char buf[40];

	if (t == EV_TIME_NONE) {
		fputs("null", stdout);
		return;
	}
	ev_time_format(t, buf);
	printf("\"%s\"", buf);
}

static const char *tstr(ev_time_t t, char buf[40])
{
	if (t == EV_TIME_NONE)
		return "-";
	ev_time_format(t, buf);
	return buf;
}

static int cmd_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, 'j'},
		{"types", no_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	struct ev_log *log = NULL;
	struct ev_log_info info;
	struct ev_error err;
	const struct ev_log_config *cfg;
	struct typecount *types = NULL;
	size_t ntypes = 0, i;
	int c, json = 0, want_types = 0, rc;
	char b1[32], b2[32], b3[32], t1[40], t2[40];
	double ratio;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fe_help(usage_short, usage_long);
			return 0;
		case 'j':
			json = 1;
			break;
		case 't':
			want_types = 1;
			break;
		default:
			return fe_usage_error(usage_short, NULL);
		}
	}
	if (optind + 1 != argc)
		return fe_usage_error(usage_short, "info: expected one LOG operand");
	if ((rc = open_log(argv[optind], &log)) != 0)
		return rc;
	if (ev_log_info(log, &info, &err) != 0) {
		rc = fe_report(&err);
		ev_log_close(log);
		return rc;
	}
	if (want_types && (rc = count_types(log, &types, &ntypes)) != 0)
		goto out;
	cfg = ev_log_get_config(log);
	ratio = info.segment_bytes ? (double)info.raw_bytes / (double)info.bytes
				   : 0.0;
	if (json) {
		printf("{\"path\":");
		json_str(argv[optind]);
		printf(",\"format\":%d,\"id\":\"%s\",\"created\":", EV_FORMAT_VERSION,
		       ev_log_id(log));
		json_time(ev_log_created(log));
		printf(",\"events\":%llu,\"first_offset\":%llu,\"next_offset\":%llu,"
		       "\"segments\":%llu,\"bytes\":%llu,\"segment_bytes\":%llu,"
		       "\"index_bytes\":%llu,\"raw_bytes\":%llu,\"ratio\":%.3f,"
		       "\"min_time\":",
		       (unsigned long long)info.events,
		       (unsigned long long)info.first_offset,
		       (unsigned long long)info.next_offset,
		       (unsigned long long)info.segments,
		       (unsigned long long)info.bytes,
		       (unsigned long long)info.segment_bytes,
		       (unsigned long long)(info.bytes - info.segment_bytes),
		       (unsigned long long)info.raw_bytes, ratio);
		json_time(info.min_time);
		printf(",\"max_time\":");
		json_time(info.max_time);
		printf(",\"first_append\":");
		json_time(info.first_append);
		printf(",\"last_append\":");
		json_time(info.last_append);
		printf(",\"config\":{\"segment_bytes\":%llu,\"level\":%d,"
		       "\"sync\":\"%s\"}",
		       (unsigned long long)cfg->segment_bytes, cfg->level,
		       cfg->sync == EV_SYNC_NONE ? "none" : "batch");
		printf(",\"segment_list\":[");
		for (i = 0; i < info.segments; i++) {
			struct ev_segment_info *s = &info.seg[i];
			printf("%s{\"base\":%llu,\"next\":%llu,\"events\":%llu,"
			       "\"bytes\":%llu,\"index_bytes\":%llu,"
			       "\"batches\":%llu,\"min_time\":",
			       i ? "," : "", (unsigned long long)s->base,
			       (unsigned long long)s->next,
			       (unsigned long long)(s->next - s->base),
			       (unsigned long long)s->bytes,
			       (unsigned long long)s->index_bytes,
			       (unsigned long long)s->batches);
			json_time(s->first_time);
			printf(",\"max_time\":");
			json_time(s->last_time);
			putchar('}');
		}
		putchar(']');
		if (want_types) {
			printf(",\"types\":{");
			for (i = 0; i < ntypes; i++) {
				if (i)
					putchar(',');
				json_str(types[i].name);
				printf(":%llu", (unsigned long long)types[i].n);
			}
			putchar('}');
		}
		printf("}\n");
	} else {
		printf("log:          %s\n", argv[optind]);
		printf("format:       %d\n", EV_FORMAT_VERSION);
		printf("id:           %s\n", ev_log_id(log));
		printf("created:      %s\n", tstr(ev_log_created(log), t1));
		printf("events:       %s\n", fe_commas(info.events, b1));
		if (info.events)
			printf("offsets:      %s to %s\n",
			       fe_commas(info.first_offset, b1),
			       fe_commas(info.next_offset - 1, b2));
		else
			printf("offsets:      none (next %s)\n",
			       fe_commas(info.next_offset, b1));
		printf("segments:     %llu\n", (unsigned long long)info.segments);
		printf("bytes:        %s on disk (segments %s, indexes %s)\n",
		       fe_commas(info.bytes, b1), fe_commas(info.segment_bytes, b2),
		       fe_commas(info.bytes - info.segment_bytes, b3));
		printf("records:      %s bytes uncompressed, ratio %.2f\n",
		       fe_commas(info.raw_bytes, b1), ratio);
		printf("event time:   %s to %s\n", tstr(info.min_time, t1),
		       tstr(info.max_time, t2));
		printf("append time:  %s to %s\n", tstr(info.first_append, t1),
		       tstr(info.last_append, t2));
		printf("settings:     segment-bytes %llu, level %d, sync %s\n",
		       (unsigned long long)cfg->segment_bytes, cfg->level,
		       cfg->sync == EV_SYNC_NONE ? "none" : "batch");
		if (want_types) {
			printf("types:\n");
			for (i = 0; i < ntypes; i++)
				printf("  %12s  %s\n", fe_commas(types[i].n, b1),
				       types[i].name);
		}
	}
	rc = 0;
out:
	for (i = 0; i < ntypes; i++)
		free(types[i].name);
	free(types);
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

	while ((c = getopt_long(argc, argv, "hq", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fe_help(usage_short, usage_long);
			return 0;
		case 'q':
			quiet = 1;
			break;
		default:
			return fe_usage_error(usage_short, NULL);
		}
	}
	if (optind + 1 != argc)
		return fe_usage_error(usage_short, "verify: expected one LOG operand");
	if ((rc = open_log(argv[optind], &log)) != 0)
		return rc;
	rc = ev_log_verify(log, &rep, on_notice, stderr, &err);
	if (rc != 0) {
		fe_warn("'%s' is damaged: %s", argv[optind], err.msg);
		if (err.hint[0])
			fe_warn("%s", err.hint);
		else
			fe_warn("run 'evctl repair %s' to truncate a torn tail; "
				"damage before it needs --truncate-damaged",
				argv[optind]);
		rc = ev_exit_code(rc);
	} else if (!quiet) {
		printf("%s: ok, %s %s in %s %s, %llu %s\n", argv[optind],
		       fe_commas(rep.records, b1),
		       fe_plural(rep.records, "event", "events"),
		       fe_commas(rep.batches, b2),
		       fe_plural(rep.batches, "batch", "batches"),
		       (unsigned long long)rep.segments,
		       fe_plural(rep.segments, "segment", "segments"));
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

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			flags |= EV_REPAIR_DRY_RUN;
			break;
		case 'h':
			fe_help(usage_short, usage_long);
			return 0;
		case 't':
			flags |= EV_REPAIR_TRUNCATE_DAMAGED;
			break;
		default:
			return fe_usage_error(usage_short, NULL);
		}
	}
	if (optind + 1 != argc)
		return fe_usage_error(usage_short, "repair: expected one LOG operand");
	if ((rc = open_log(argv[optind], &log)) != 0)
		return rc;
	rc = ev_log_repair(log, flags, on_notice, stdout, &err);
	if (rc != 0) {
		fe_warn("cannot repair '%s': %s", argv[optind], err.msg);
		if (err.hint[0])
			fe_warn("%s", err.hint);
		rc = ev_exit_code(rc);
	} else {
		printf("%s: %s\n", argv[optind],
		       flags & EV_REPAIR_DRY_RUN ? "dry run done" : "repaired");
	}
	ev_log_close(log);
	return rc;
}

/* ------------------------------------------------------------ main */

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
	{"info", cmd_info},
	{"init", cmd_init},
	{"repair", cmd_repair},
	{"verify", cmd_verify},
};

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	size_t i;
	int c;

	fe_init(argv);
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fe_help(usage_short, usage_long);
			return 0;
		case 'V':
			fe_version();
			return 0;
		default:
			return fe_usage_error(usage_short, NULL);
		}
	}
	if (optind >= argc)
		return fe_usage_error(usage_short, "missing command");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			argc -= optind;
			argv += optind;
			/* getopt names argv[0] in its messages */
			argv[0] = (char *)fe_progname;
			optind = 0; /* glibc: a full restart of getopt */
			return commands[i].fn(argc, argv);
		}
	}
	return fe_usage_error(usage_short, "unknown command '%s'", argv[optind]);
}
