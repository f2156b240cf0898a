/*
 * evdlq - inspect, retry and purge the dead letters of a dead-letter log.
 * One function per subcommand, as in evctl.  See evdlq(1).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog.h"
#include "fe.h"

static const char usage_short[] =
	"Usage: evdlq ls [--all] [--json] [SELECTORS] DLQ\n"
	"       evdlq show [--json] DLQ OFFSET...\n"
	"       evdlq stats [SELECTORS] DLQ\n"
	"       evdlq retry [--dry-run] [--exec CMD] [--retries N] [--backoff DURATION]\n"
	"                   [--backoff-max DURATION] [--timeout DURATION]\n"
	"                   [--schemas DIR] [--ref-dir [PREFIX=]DIR]... [SELECTORS]\n"
	"                   DLQ\n"
	"       evdlq purge --reason TEXT [--dry-run] [SELECTORS] DLQ\n"
	"SELECTORS: [--offset A..B] [--type GLOB] [--stream GLOB] [--error REGEX]\n"
	"           [--older-than DURATION] [--group NAME]\n";

static const char usage_long[] =
	"Inspect, retry and purge the dead letters that 'evtail --exec --dlq'\n"
	"writes to a dead-letter log (DLQ), or to a dead-letter topic.\n"
	"\n"
	"Commands:\n"
	"  ls DLQ         one line per open dead letter\n"
	"      --all                 include resolved and discarded letters\n"
	"      --json                one JSON object per letter\n"
	"      -X PROPERTY=VALUE, --kafka-config FILE, --kafka-timeout DURATION\n"
	"                            on a dead-letter topic (below)\n"
	"  show DLQ OFFSET...  whole letters, by their offset in DLQ\n"
	"      --json                one JSON object per letter\n"
	"      -X PROPERTY=VALUE, --kafka-config FILE, --kafka-timeout DURATION\n"
	"                            on a dead-letter topic (below)\n"
	"  stats DLQ      counts by type, by error and by age; the oldest\n"
	"      -X PROPERTY=VALUE, --kafka-config FILE, --kafka-timeout DURATION\n"
	"                            on a dead-letter topic (below)\n"
	"  retry DLQ      run the handler again on each selected open letter;\n"
	"                 success resolves it, failure leaves it open; a schema\n"
	"                 letter's event is validated again and appended\n"
	"      --backoff DURATION    first retry delay, doubling (1s)\n"
	"      --backoff-max DURATION  longest retry delay (30s)\n"
	"      --dry-run             say what would be retried, run nothing\n"
	"      --exec CMD            the handler (default: the letter's own;\n"
	"                            needed on a dead-letter topic)\n"
	"      --retries N           retries of a failed run (3)\n"
	"      --schemas DIR         validate schema letters against DIR\n"
	"                            (default: the directory each records)\n"
	"      --ref-dir [PREFIX=]DIR  load schema letters' remote $refs from DIR,\n"
	"                            as evpub --ref-dir; repeatable; instead of\n"
	"                            the mappings each letter records\n"
	"      --timeout DURATION    a run that takes longer fails (none)\n"
	"      -X PROPERTY=VALUE, --kafka-config FILE, --kafka-timeout DURATION\n"
	"                            on a dead-letter topic (below)\n"
	"  purge DLQ      record the selected open letters as discarded\n"
	"      --dry-run             say what would be discarded\n"
	"      --reason TEXT         why (required)\n"
	"      -X PROPERTY=VALUE, --kafka-config FILE, --kafka-timeout DURATION\n"
	"                            on a dead-letter topic (below)\n"
	"\n"
	"Selectors (all commands but show; all must match):\n"
	"      --error REGEX         the last failure matches REGEX (ERE)\n"
	"      --group NAME          written by consumer group NAME\n"
	"      --offset A..B         DLQ offsets A to B (either may be left out)\n"
	"      --older-than DURATION  written at least DURATION ago\n"
	"      --stream GLOB         the original event's stream matches GLOB\n"
	"      --type GLOB           the original event's type matches GLOB\n"
	"\n"
	"A DLQ kafka://HOST:PORT[,HOST:PORT...]/TOPIC is a dead-letter topic, as\n"
	"'evtail --exec --dlq kafka://...' writes one: -X sets a librdkafka\n"
	"property (repeatable), --kafka-config FILE reads them as kcat does, and\n"
	"--kafka-timeout DURATION (10s) bounds each wait on the cluster.\n"
	"\n"
	"Options:\n"
	"  -h, --help    show this help and exit\n"
	"  -V, --version show versions and exit\n"
	"\n"
	"Exit status: 0 ok; for retry, every selected letter was resolved; 1 some\n"
	"remain open, or a failure; 64 usage, 65 damaged data, 66 missing DLQ or\n"
	"letter, 74 I/O error, 75 another retry runs.  See evdlq(1).\n";

/* ------------------------------------------------------------ selectors */

enum {
	OPT_ALL = 256,
	OPT_BACKOFF,
	OPT_BACKOFF_MAX,
	OPT_DRY_RUN,
	OPT_ERROR,
	OPT_EXEC,
	OPT_GROUP,
	OPT_JSON,
	OPT_KAFKA_CONFIG,
	OPT_KAFKA_TIMEOUT,
	OPT_OFFSET,
	OPT_OLDER_THAN,
	OPT_REASON,
	OPT_REF_DIR,
	OPT_RETRIES,
	OPT_SCHEMAS,
	OPT_STREAM,
	OPT_TIMEOUT,
	OPT_TYPE,
};

/* Handle a selector option: 1 handled, 0 not a selector, -1 bad value. */
static int selector_opt(int c, const char *arg, struct ev_letter_select *s)
{
	char *dots, *e;

	switch (c) {
	case OPT_ERROR:
		switch (ev_letter_select_error(s, arg)) {
		case 0:
			return 1;
		case EV_EUSAGE:
			fe_warn("--error: '%s' is not a regular expression",
				arg);
			return -1;
		default:
			fe_oom();
			return -1;
		}
	case OPT_GROUP:
		s->group = arg;
		return 1;
	case OPT_OFFSET:
		dots = strstr(arg, "..");
		s->have_offset = 1;
		s->from = 0;
		s->to = UINT64_MAX;
		if (dots == NULL) {
			if (fe_parse_u64(arg, &s->from) != 0)
				goto bad_offset;
			s->to = s->from;
			return 1;
		}
		if (dots != arg) {
			s->from = strtoull(arg, &e, 10);
			if (e != dots)
				goto bad_offset;
		}
		if (dots[2] != '\0' && fe_parse_u64(dots + 2, &s->to) != 0)
			goto bad_offset;
		if (s->from > s->to)
			goto bad_offset;
		return 1;
bad_offset:
		fe_warn("--offset: '%s' is not OFFSET or A..B", arg);
		return -1;
	case OPT_OLDER_THAN:
		if (ev_duration_parse(arg, &s->older_ms) != 0) {
			fe_warn("--older-than: '%s' is not a duration such as 30m "
				"or 2h",
				arg);
			return -1;
		}
		return 1;
	case OPT_STREAM:
		s->stream = arg;
		return 1;
	case OPT_TYPE:
		s->type = arg;
		return 1;
	}
	return 0;
}

/* clang-format off */
#define SELECTOR_OPTIONS \
	{"error", required_argument, NULL, OPT_ERROR}, \
	{"group", required_argument, NULL, OPT_GROUP}, \
	{"offset", required_argument, NULL, OPT_OFFSET}, \
	{"older-than", required_argument, NULL, OPT_OLDER_THAN}, \
	{"stream", required_argument, NULL, OPT_STREAM}, \
	{"type", required_argument, NULL, OPT_TYPE}
#define KAFKA_OPTIONS \
	{"kafka-config", required_argument, NULL, OPT_KAFKA_CONFIG}, \
	{"kafka-timeout", required_argument, NULL, OPT_KAFKA_TIMEOUT}
/* clang-format on */

/* ------------------------------------------------------------ kafka */

/* -X, --kafka-config, --kafka-timeout: for a DLQ kafka://... */
static struct ev_kafka_props kprops;
static int64_t ktimeout_ms = 10000;
static const char *kafka_opt; /* the first given, or NULL */

/* Handle a Kafka option: 1 handled, 0 not one, or an exit status
 * (negated) after the message. */
static int kafka_option(int c, const char *arg)
{
	struct ev_error err;

	switch (c) {
	case 'X':
		if (ev_kafka_props_add(&kprops, arg, &err) != 0)
			return -(err.code == EV_EUSAGE
					 ? fe_usage_error(usage_short, "%s",
							  err.msg)
					 : fe_oom());
		kafka_opt = kafka_opt ? kafka_opt : "-X";
		return 1;
	case OPT_KAFKA_CONFIG:
		if (ev_kafka_props_load(&kprops, arg, &err) != 0)
			return -(err.code == EV_EUSAGE
					 ? fe_usage_error(usage_short,
							  "--kafka-config: %s",
							  err.msg)
					 : fe_reportf(&err, "--kafka-config"));
		kafka_opt = kafka_opt ? kafka_opt : "--kafka-config";
		return 1;
	case OPT_KAFKA_TIMEOUT:
		if (ev_duration_parse(arg, &ktimeout_ms) != 0 ||
		    ktimeout_ms <= 0 || ktimeout_ms > INT32_MAX)
			return -fe_usage_error(usage_short,
					       "--kafka-timeout: '%s' is not a "
					       "duration such as 500ms or 10s",
					       arg);
		kafka_opt = kafka_opt ? kafka_opt : "--kafka-timeout";
		return 1;
	}
	return 0;
}

/* A DLQ: a dead-letter log, or a dead-letter topic. */
struct dlq {
	const char *path;
	struct ev_log *log;
	struct ev_kafka_addr addr;
	struct ev_kafka_conn_opts conn;
	struct ev_kafka_dlq *kd;
};

static void dlq_close(struct dlq *d)
{
	ev_log_close(d->log);
	ev_kafka_dlq_close(d->kd);
	d->log = NULL;
	d->kd = NULL;
}

/* ------------------------------------------------------------ helpers */

static int open_dlq(const char *path, struct dlq *d)
{
	struct ev_error err;
	int r;

	memset(d, 0, sizeof(*d));
	d->path = path;
	if (!ev_kafka_is_addr(path)) {
		if (kafka_opt != NULL)
			return fe_usage_error(usage_short,
					      "%s needs a "
					      "kafka://HOST:PORT/TOPIC DLQ",
					      kafka_opt);
		if (ev_log_open(&d->log, path, &err) != 0)
			return fe_report(&err);
		ev_log_set_notice(d->log, fe_warning, NULL);
		return 0;
	}
	if (ev_kafka_addr_parse(path, &d->addr, &err) != 0)
		return fe_usage_error(usage_short, "%s", err.msg);
	d->conn.addr = &d->addr;
	d->conn.props = &kprops;
	d->conn.timeout_ms = (int)ktimeout_ms;
	if ((r = ev_kafka_dlq_open(&d->kd, &d->conn, &err)) != 0)
		return r == EV_EUSAGE
			       ? fe_usage_error(usage_short, "%s", err.msg)
			       : fe_report(&err);
	return 0;
}

static int scan(struct dlq *d, struct ev_letter **v, size_t *n)
{
	struct ev_error err;
	uint64_t others = 0;
	size_t i;
	int r;

	r = d->kd != NULL ? ev_kafka_dlq_scan(d->kd, v, n, &others, &err)
			  : ev_dlq_scan(d->log, v, n, &err);
	if (r != 0)
		return fe_report(&err);
	if (others > 0)
		fe_warn("skipped %llu %s in partitions other than 0 of '%s': "
			"evlog writes its letters and marks to partition 0",
			(unsigned long long)others,
			ev_plural(others, "record", "records"), d->path);
	for (i = 0; i < *n; i++)
		if ((*v)[i].malformed != NULL &&
		    (*v)[i].state == EV_LETTER_OPEN)
			fe_warn("skipped the dead letter at offset %llu: %s; "
				"'evdlq purge' discards it",
				(unsigned long long)(*v)[i].offset,
				(*v)[i].malformed);
	return 0;
}

/* Open the DLQ at path and read its letters. */
static int load(const char *path, struct dlq *d, struct ev_letter **v,
		size_t *n)
{
	int rc = open_dlq(path, d);

	if (rc == 0 && (rc = scan(d, v, n)) != 0)
		dlq_close(d);
	return rc;
}

static void put_json_str(const char *s)
{
	struct ev_buf b = {0};

	if (s == NULL || ev_json_string(&b, s, strlen(s)) != 0)
		fputs("null", stdout);
	else
		fwrite(b.p, 1, b.len, stdout);
	ev_buf_free(&b);
}

/* ------------------------------------------------------------ ls */

static int cmd_ls(int argc, char **argv)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, OPT_ALL},
		{"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, OPT_JSON},
		SELECTOR_OPTIONS,
		KAFKA_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct ev_letter_select s;
	struct dlq d = {0};
	struct ev_letter *v = NULL;
	struct ev_buf js = {0};
	unsigned char *sel = NULL;
	size_t n = 0, i;
	int c, json = 0, rc;
	ev_time_t now = ev_now();

	memset(&s, 0, sizeof(s));
	while ((c = fe_getopt(argc, argv, "hX:", opts)) != -1) {
		if (c == OPT_ALL) {
			s.all = 1;
			continue;
		}
		if (c == OPT_JSON) {
			json = 1;
			continue;
		}
		if ((rc = kafka_option(c, optarg)) != 0) {
			if (rc < 0) {
				ev_letter_select_free(&s);
				return -rc;
			}
			continue;
		}
		rc = selector_opt(c, optarg, &s);
		if (rc == 1)
			continue;
		return fe_usage_error(usage_short, NULL);
	}
	if (optind + 1 != argc) {
		ev_letter_select_free(&s);
		return fe_usage_error(usage_short,
				      "ls: expected one DLQ operand");
	}
	if ((rc = load(argv[optind], &d, &v, &n)) != 0)
		goto out;
	if ((sel = calloc(n + 1, 1)) == NULL) {
		rc = fe_oom();
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct ev_letter *l = &v[i];
		sel[i] = ev_letter_selected(&s, l, now) != 0;
		if (!json || !sel[i])
			continue;
		js.len = 0;
		if (ev_letter_to_json(&js, l, now) != 0) {
			rc = fe_oom();
			goto out;
		}
		fwrite(js.p, 1, js.len, stdout);
		putchar('\n');
	}
	if (!json) {
		if (ev_letters_table(&js, v, n, sel, s.all, now) != 0)
			rc = fe_oom();
		else if (js.len > 0) /* js.p is NULL when empty */
			fwrite(js.p, 1, js.len, stdout);
	}
out:
	free(sel);
	ev_buf_free(&js);
	ev_letter_select_free(&s);
	ev_letters_free(v, n);
	dlq_close(&d);
	return rc;
}

/* ------------------------------------------------------------ show */

/* Say why there is no letter at off: 66, as nothing is there to show. */
static int not_a_letter(struct ev_reader *rd, const char *path, uint64_t off)
{
	struct ev_error err;
	struct ev_rec rec;
	struct ev_str type;
	int r;

	r = ev_reader_seek(rd, off, &err);
	if (r == 0)
		r = ev_reader_next(rd, &rec, &err);
	if (r < 0)
		return fe_report(&err);
	if (r == 1 && rec.offset == off &&
	    ev_event_peek_type(rec.p, rec.n, &type) == 0)
		fe_warn("offset %llu of '%s' is not a dead letter (type %.*s)",
			(unsigned long long)off, path, (int)type.n, type.p);
	else
		fe_warn("no dead letter at offset %llu of '%s'",
			(unsigned long long)off, path);
	return EV_EXIT_NOINPUT;
}

/* A schema letter's errors as show prints them, indented under where
 * the event was read and what it was validated against. */
static void show_schema_errors(const struct ev_letter *l)
{
	const char *m = l->error ? l->error : "", *e;

	printf("invalid at %s against the schemas in %s:\n",
	       l->input ? l->input : "?", l->schemas ? l->schemas : "?");
	for (; *m != '\0'; m = *e ? e + 1 : e) {
		e = strchr(m, '\n');
		if (e == NULL)
			e = m + strlen(m);
		printf("  %.*s\n", (int)(e - m), m);
	}
}

static int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, OPT_JSON},
		KAFKA_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct dlq d = {0};
	struct ev_letter *v = NULL;
	struct ev_reader *rd = NULL;
	struct ev_error err;
	struct ev_rec rec;
	struct ev_buf js = {0}, pj = {0};
	size_t n = 0, i;
	int c, json = 0, rc = 0, k, r;
	uint64_t off;
	char t[40];

	while ((c = fe_getopt(argc, argv, "hX:", opts)) != -1) {
		if (c == OPT_JSON) {
			json = 1;
			continue;
		}
		if ((rc = kafka_option(c, optarg)) != 0) {
			if (rc < 0)
				return -rc;
			continue;
		}
		return fe_usage_error(usage_short, NULL);
	}
	if (optind + 2 > argc)
		return fe_usage_error(
			usage_short,
			"show: expected DLQ and one or more OFFSETs");
	for (k = optind + 1; k < argc; k++)
		if (fe_parse_u64(argv[k], &off) != 0)
			return fe_usage_error(usage_short,
					      "show: '%s' is not an offset",
					      argv[k]);
	if ((rc = open_dlq(argv[optind], &d)) != 0)
		return rc;
	if (d.kd != NULL) { /* a topic: only these letters as JSON */
		uint64_t *want =
			calloc((size_t)(argc - optind - 1), sizeof(*want));
		if (want == NULL) {
			rc = fe_oom();
			goto out;
		}
		for (k = optind + 1; k < argc; k++)
			fe_parse_u64(argv[k], &want[k - optind - 1]);
		r = ev_kafka_dlq_want_json(d.kd, want,
					   (size_t)(argc - optind - 1), &err);
		free(want);
		if (r != 0) {
			rc = fe_report(&err);
			goto out;
		}
	}
	if ((rc = scan(&d, &v, &n)) != 0)
		goto out;
	if (d.log != NULL && ev_reader_open(&rd, d.log, &err) != 0) {
		rc = fe_report(&err);
		goto out;
	}
	for (k = optind + 1; k < argc && rc == 0; k++) {
		const struct ev_letter *l = NULL;
		fe_parse_u64(argv[k], &off);
		for (i = 0; i < n; i++)
			if (v[i].offset == off)
				l = &v[i];
		if (l == NULL && d.kd != NULL) {
			fe_warn("no dead letter at offset %llu of '%s'",
				(unsigned long long)off, argv[optind]);
			rc = EV_EXIT_NOINPUT;
			break;
		}
		if (l == NULL) {
			rc = not_a_letter(rd, argv[optind], off);
			break;
		}
		js.len = 0;
		if (d.kd != NULL) { /* the letter as read with the rest */
			const char *lj = ev_kafka_dlq_letter_json(d.kd, off);
			if (lj == NULL) {
				fe_warn("the record at offset %llu of '%s' is "
					"not an event",
					(unsigned long long)off, argv[optind]);
				rc = EV_EXIT_DATA;
				break;
			}
			if (ev_buf_puts(&js, lj) != 0) {
				rc = fe_oom();
				break;
			}
		} else if (ev_reader_seek(rd, off, &err) != 0 ||
			   ev_reader_next(rd, &rec, &err) != 1 ||
			   ev_record_to_json(rec.p, rec.n, rec.offset, &js,
					     &err) != 0) {
			rc = fe_report(&err);
			break;
		}
		if (json) {
			printf("{\"state\":\"%s\",\"resolved\":",
			       ev_letter_state_name(l->state));
			if (l->state_time == EV_TIME_NONE)
				fputs("null", stdout);
			else
				printf("\"%s\"",
				       (ev_time_format(l->state_time, t), t));
			printf(",\"reason\":");
			put_json_str(l->reason);
			printf(",\"attempts\":%llu,\"letter\":",
			       (unsigned long long)l->attempts);
			fwrite(js.p, 1, js.len, stdout);
			printf("}\n");
			continue;
		}
		printf("dead letter %llu: %s", (unsigned long long)off,
		       ev_letter_state_name(l->state));
		if (l->state != EV_LETTER_OPEN) {
			ev_time_format(l->state_time, t);
			printf(" at %s", t);
		}
		if (l->reason)
			printf(" (%s)", l->reason);
		printf(", %llu %s\n", (unsigned long long)l->attempts,
		       ev_plural(l->attempts, "attempt", "attempts"));
		if (l->no_source_offset) /* a schema letter: its last errors */
			show_schema_errors(l);
		pj.len = 0;
		if (ev_json_indent(&pj, (const char *)js.p, js.len) != 0) {
			rc = fe_oom();
			break;
		}
		fwrite(pj.p, 1, pj.len, stdout);
	}
out:
	ev_buf_free(&js);
	ev_buf_free(&pj);
	ev_reader_free(rd);
	ev_letters_free(v, n);
	dlq_close(&d);
	return rc;
}

/* ------------------------------------------------------------ stats */

static int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		SELECTOR_OPTIONS,
		KAFKA_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct ev_letter_select s;
	struct ev_dlq_stats st;
	struct dlq d = {0};
	struct ev_letter *v = NULL;
	struct ev_buf out = {0};
	size_t n = 0;
	ev_time_t now = ev_now();
	int c, rc;

	memset(&s, 0, sizeof(s));
	while ((c = fe_getopt(argc, argv, "hX:", opts)) != -1) {
		if (selector_opt(c, optarg, &s) == 1)
			continue;
		if ((rc = kafka_option(c, optarg)) == 1)
			continue;
		ev_letter_select_free(&s);
		return rc < 0 ? -rc : fe_usage_error(usage_short, NULL);
	}
	if (optind + 1 != argc)
		rc = fe_usage_error(usage_short,
				    "stats: expected one DLQ operand");
	else if ((rc = load(argv[optind], &d, &v, &n)) == 0) {
		if (ev_dlq_stats(v, n, &s, now, &st) != 0 ||
		    ev_dlq_stats_text(&out, &st, now) != 0)
			rc = fe_oom();
		else if (out.len > 0 &&
			 fwrite(out.p, 1, out.len, stdout) != out.len)
			rc = EV_EXIT_IO;
		ev_dlq_stats_free(&st);
	}
	ev_buf_free(&out);
	ev_letter_select_free(&s);
	ev_letters_free(v, n);
	dlq_close(&d);
	return rc;
}

/* ------------------------------------------------------------ retry, purge */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* One retry or purge at a time: 0, or an exit status. */
static int lock_dlq(struct ev_log *log, const char *path, int *fd)
{
	struct ev_error err;
	int r = ev_dlq_lock(log, fd, &err);

	if (r == EV_EAGAIN) {
		fe_warn("another evdlq retry or purge is running on '%s'",
			path);
		return EV_EXIT_TEMPFAIL;
	}
	return r != 0 ? fe_report(&err) : 0;
}

static int open_writer(struct ev_log *log, struct ev_writer **w)
{
	struct ev_writer_opts o;
	struct ev_error err;

	memset(&o, 0, sizeof(o));
	o.sync = EV_SYNC_BATCH;
	o.sync_set = 1;
	if (ev_writer_open(w, log, &o, &err) != 0)
		return fe_report(&err);
	return 0;
}

/* The same for a schema letter: validated again, appended or not. */
static void schema_report(const struct ev_retry_report *r)
{
	const struct ev_letter *l = r->letter;
	const char *m = r->message, *e;

	switch (r->what) {
	case EV_RETRY_WOULD:
		printf("would retry %llu (%s%s%s) against the schemas in %s\n",
		       (unsigned long long)l->offset, l->orig_type,
		       l->orig_stream ? " " : "",
		       l->orig_stream ? l->orig_stream : "", m);
		break;
	case EV_RETRY_RESOLVED:
		printf("resolved %llu (%s): %s at offset %llu of '%s'\n",
		       (unsigned long long)l->offset, l->orig_type,
		       r->duplicate ? "already" : "appended",
		       (unsigned long long)r->appended_offset, r->log);
		break;
	case EV_RETRY_STILL_OPEN:
		/* one line per error, as evpub says them */
		fflush(stdout);
		for (; m != NULL && *m != '\0'; m = *e ? e + 1 : e) {
			e = strchr(m, '\n');
			if (e == NULL)
				e = m + strlen(m);
			fe_warn("still open: %llu: %.*s",
				(unsigned long long)l->offset, (int)(e - m), m);
		}
		break;
	default:
		break;
	}
	fflush(stdout);
}

/* What retry does, as it goes: stdout for what is resolved, stderr for
 * what is not. */
static void retry_report(void *ctx, const struct ev_retry_report *r)
{
	const struct ev_letter *l = r->letter, *b = r->blocker;
	const struct ev_done *d = r->last;
	char why[80];

	(void)ctx;
	if (l->stage != NULL && strcmp(l->stage, "schema") == 0 &&
	    r->what != EV_RETRY_LEFT_OPEN) {
		schema_report(r);
		return;
	}
	switch (r->what) {
	case EV_RETRY_WOULD:
		printf("would retry %llu (%s%s%s) with: %s\n",
		       (unsigned long long)l->offset, l->orig_type,
		       l->orig_stream ? " " : "",
		       l->orig_stream ? l->orig_stream : "", r->cmd);
		break;
	case EV_RETRY_RESOLVED:
		printf("resolved %llu (%s)\n", (unsigned long long)l->offset,
		       l->orig_type);
		break;
	case EV_RETRY_STILL_OPEN:
		if (d->timed_out)
			snprintf(why, sizeof(why), "timed out");
		else if (d->signal)
			snprintf(why, sizeof(why), "signal %d", d->signal);
		else
			snprintf(why, sizeof(why), "exit status %d",
				 d->exit_status);
		fflush(stdout); /* in order, when both go to one file */
		fe_warn("still open: %llu (%s) after %u %s: %s",
			(unsigned long long)l->offset, l->orig_type,
			r->attempts,
			ev_plural(r->attempts, "attempt", "attempts"), why);
		break;
	case EV_RETRY_LEFT_OPEN:
		fflush(stdout);
		fe_warn("left open: %llu (%s %s), behind %s letter %llu of its "
			"stream%s",
			(unsigned long long)l->offset, l->orig_type,
			l->orig_stream, r->blocker_failed ? "failed" : "open",
			(unsigned long long)b->offset,
			r->blocker_selected ? "" : ", which is not selected");
		break;
	case EV_RETRY_NO_HANDLER:
		fflush(stdout);
		fe_warn("letter %llu records no handler: give --exec",
			(unsigned long long)l->offset);
		break;
	}
	fflush(stdout);
}

/* retry's options: -1 to go on, or an exit status.  refs has room for
 * argc mappings and the NULL after them. */
static int retry_options(int argc, char **argv, struct ev_letter_select *s,
			 struct ev_retry_opts *o,
			 struct ev_schema_retry_opts *so, const char **refs)
{
	size_t nrefs = 0;

	static const struct option opts[] = {
		{"backoff", required_argument, NULL, OPT_BACKOFF},
		{"backoff-max", required_argument, NULL, OPT_BACKOFF_MAX},
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"exec", required_argument, NULL, OPT_EXEC},
		{"help", no_argument, NULL, 'h'},
		{"ref-dir", required_argument, NULL, OPT_REF_DIR},
		{"retries", required_argument, NULL, OPT_RETRIES},
		{"schemas", required_argument, NULL, OPT_SCHEMAS},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		SELECTOR_OPTIONS,
		KAFKA_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	uint64_t val;
	int64_t ms;
	int c, k;

	while ((c = fe_getopt(argc, argv, "hX:", opts)) != -1) {
		switch (c) {
		case OPT_BACKOFF:
		case OPT_BACKOFF_MAX:
		case OPT_TIMEOUT:
			if (ev_duration_parse(optarg, &ms) != 0)
				return fe_usage_error(
					usage_short,
					"retry: --%s: '%s' is not a duration "
					"such as 500ms, 2s or 1m",
					c == OPT_BACKOFF       ? "backoff"
					: c == OPT_BACKOFF_MAX ? "backoff-max"
							       : "timeout",
					optarg);
			if (c == OPT_BACKOFF)
				o->backoff_ms = ms;
			else if (c == OPT_BACKOFF_MAX)
				o->backoff_max_ms = ms;
			else
				o->timeout_ms = ms;
			continue;
		case OPT_DRY_RUN:
			o->dry_run = 1;
			continue;
		case OPT_EXEC:
			o->cmd = optarg;
			continue;
		case OPT_RETRIES:
			if (fe_parse_u64(optarg, &val) != 0 || val > 1000)
				return fe_usage_error(
					usage_short,
					"retry: --retries: '%s' is not a "
					"number from 0 to 1000",
					optarg);
			o->retries = (unsigned)val;
			continue;
		case OPT_SCHEMAS:
			so->schemas = optarg;
			continue;
		case OPT_REF_DIR:
			refs[nrefs++] = optarg;
			refs[nrefs] = NULL;
			so->ref_dirs = refs;
			continue;
		}
		if ((k = kafka_option(c, optarg)) != 0) {
			if (k < 0)
				return -k;
			continue;
		}
		if (selector_opt(c, optarg, s) != 1)
			return fe_usage_error(usage_short, NULL);
	}
	if (optind + 1 != argc)
		return fe_usage_error(usage_short,
				      "retry: expected one DLQ operand");
	if (o->backoff_max_ms < o->backoff_ms)
		o->backoff_max_ms = o->backoff_ms;
	so->dry_run = o->dry_run;
	so->report = o->report;
	return -1;
}

static int cmd_retry(int argc, char **argv)
{
	struct ev_letter_select s;
	struct ev_retry_opts o;
	struct ev_schema_retry_opts so;
	struct dlq d = {0};
	struct ev_letter *v = NULL;
	struct ev_error err;
	unsigned char *sel = NULL;
	const char **refs = NULL;
	size_t n = 0, i;
	uint64_t selected_n = 0, resolved = 0, schema_resolved = 0;
	ev_time_t now = ev_now();
	int rc, lockfd = -1, r;
	char b1[32], b2[32];

	memset(&s, 0, sizeof(s));
	memset(&o, 0, sizeof(o));
	memset(&so, 0, sizeof(so));
	o.retries = 3;
	o.backoff_ms = 1000;
	o.backoff_max_ms = 30000;
	o.report = retry_report;
	if ((refs = calloc((size_t)argc + 1, sizeof(*refs))) == NULL) {
		rc = fe_oom();
		goto out;
	}
	if ((rc = retry_options(argc, argv, &s, &o, &so, refs)) != -1)
		goto out;
	/* a letter's handler is whatever its record says, and anyone who
	 * may write to a topic may write one: on a topic, the handler is
	 * the caller's */
	if (o.cmd == NULL && !o.dry_run && ev_kafka_is_addr(argv[optind])) {
		rc = fe_usage_error(usage_short,
				    "retry on a dead-letter topic needs "
				    "--exec CMD: the handler a letter names "
				    "comes from whoever may write to the "
				    "topic");
		goto out;
	}
	/* the log first, so that no lock file is made where there is none;
	 * then the letters, as of when we hold the lock */
	if ((rc = open_dlq(argv[optind], &d)) != 0)
		goto out;
	/* a topic has no lock: one retry or purge at a time (evdlq(1)) */
	if (!o.dry_run && d.log != NULL &&
	    (rc = lock_dlq(d.log, argv[optind], &lockfd)) != 0)
		goto out;
	if ((rc = scan(&d, &v, &n)) != 0)
		goto out;
	if ((sel = calloc(n ? n : 1, 1)) == NULL) {
		rc = fe_oom();
		goto out;
	}
	for (i = 0; i < n; i++)
		selected_n += sel[i] =
			(unsigned char)ev_letter_selected(&s, &v[i], now);
	fe_on_stop(on_signal);
	if (d.kd != NULL) { /* outcomes go to the topic */
		o.mark = ev_kafka_dlq_mark;
		o.mark_ctx = d.kd;
		uint64_t left = 0;
		for (i = 0; i < n; i++) /* evdlq does not produce them */
			if (v[i].stage != NULL &&
			    strcmp(v[i].stage, "schema") == 0 && sel[i]) {
				sel[i] = 0; /* still counted: open */
				left++;
			}
		if (left > 0)
			fe_warn("%s schema letter%s left open: publish %s "
				"again with evpub, then purge %s (evdlq(1) "
				"KAFKA)",
				ev_commas(left, b1), left == 1 ? "" : "s",
				left == 1 ? "its event" : "their events",
				left == 1 ? "it" : "them");
	}
	/* schema letters first: their events validated again and appended;
	 * then the handlers' letters, without them */
	r = d.log == NULL ? 0
			  : ev_dlq_retry_schema(d.log, v, n, sel, &so,
						&stop_requested,
						&schema_resolved, &err);
	if (r != 0) {
		fflush(stdout);
		rc = fe_report(&err);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (v[i].stage != NULL && strcmp(v[i].stage, "schema") == 0)
			sel[i] = 0;
	r = ev_dlq_retry(d.log, v, n, sel, &o, &stop_requested, &resolved,
			 &err);
	resolved += schema_resolved;
	if (r != 0) {
		rc = fe_report(&err);
		goto out;
	}
	if (!o.dry_run) {
		/* every selected letter not resolved, also those an
		 * interruption kept us from */
		uint64_t still_open = selected_n - resolved;
		fflush(stdout);
		if (still_open > 0 || resolved > 0)
			fe_warn("%s resolved, %s still open",
				ev_commas(resolved, b1),
				ev_commas(still_open, b2));
		if (still_open > 0 || stop_requested)
			rc = EV_EXIT_FAILURE;
	}
out:
	free(sel);
	free(refs);
	ev_letter_select_free(&s);
	ev_letters_free(v, n);
	dlq_close(&d);
	ev_dlq_unlock(lockfd);
	return rc;
}

static int cmd_purge(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"help", no_argument, NULL, 'h'},
		{"reason", required_argument, NULL, OPT_REASON},
		SELECTOR_OPTIONS,
		KAFKA_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct ev_letter_select s;
	struct dlq d = {0};
	struct ev_letter *v = NULL;
	struct ev_writer *w = NULL;
	struct ev_error err;
	const char *reason = NULL;
	size_t n = 0, i;
	uint64_t purged = 0;
	int c, dry = 0, rc, lockfd = -1;
	ev_time_t now = ev_now();
	char b[32];

	memset(&s, 0, sizeof(s));
	s.malformed = 1; /* what no one else can read, purge discards */
	while ((c = fe_getopt(argc, argv, "hX:", opts)) != -1) {
		switch (c) {
		case OPT_DRY_RUN:
			dry = 1;
			continue;
		case OPT_REASON:
			reason = optarg;
			continue;
		}
		if (selector_opt(c, optarg, &s) == 1)
			continue;
		if ((rc = kafka_option(c, optarg)) == 1)
			continue;
		ev_letter_select_free(&s);
		return rc < 0 ? -rc : fe_usage_error(usage_short, NULL);
	}
	if (optind + 1 != argc || reason == NULL || reason[0] == '\0') {
		ev_letter_select_free(&s);
		return fe_usage_error(
			usage_short, "%s",
			optind + 1 != argc
				? "purge: expected one DLQ operand"
				: "purge: --reason TEXT is required");
	}
	/* the log first, so that no lock file is made where there is none;
	 * then the letters, as of when we hold the lock */
	if ((rc = open_dlq(argv[optind], &d)) != 0)
		goto out;
	/* a topic has no lock: one retry or purge at a time (evdlq(1)) */
	if (!dry && d.log != NULL &&
	    (rc = lock_dlq(d.log, argv[optind], &lockfd)) != 0)
		goto out;
	if ((rc = scan(&d, &v, &n)) != 0)
		goto out;
	if (!dry && d.log != NULL && (rc = open_writer(d.log, &w)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		const char *what =
			v[i].malformed ? "malformed" : v[i].orig_type;
		if (!ev_letter_selected(&s, &v[i], now))
			continue;
		if (dry) {
			printf("would discard %llu (%s)\n",
			       (unsigned long long)v[i].offset, what);
			continue;
		}
		if ((d.kd != NULL
			     ? ev_kafka_dlq_mark(d.kd, EV_RESOLUTION_DISCARDED,
						 &v[i], NULL, 0, reason, NULL,
						 &err)
			     : ev_dlq_record(w, EV_RESOLUTION_DISCARDED, &v[i],
					     NULL, 0, reason, NULL, &err)) !=
		    0) {
			rc = fe_report(&err);
			break;
		}
		printf("discarded %llu (%s)\n", (unsigned long long)v[i].offset,
		       what);
		purged++;
	}
	if (rc == 0 && !dry)
		fe_warn("%s discarded", ev_commas(purged, b));
out:
	if (w != NULL && ev_writer_close(w, &err) != 0 && rc == 0)
		rc = fe_report(&err);
	ev_letter_select_free(&s);
	ev_letters_free(v, n);
	dlq_close(&d);
	ev_dlq_unlock(lockfd);
	return rc;
}

/* ------------------------------------------------------------ main */

static const struct fe_command commands[] = {
	{"ls", cmd_ls},	    {"purge", cmd_purge}, {"retry", cmd_retry},
	{"show", cmd_show}, {"stats", cmd_stats},
};

int main(int argc, char **argv)
{
	int rc;

	fe_init(argv);
	rc = fe_dispatch(argc, argv, commands,
			 sizeof(commands) / sizeof(commands[0]), usage_short,
			 usage_long);
	ev_kafka_props_free(&kprops);
	return rc;
}
