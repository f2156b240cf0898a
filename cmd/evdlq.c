/*
 * evdlq - inspect, retry and purge the dead letters of a dead-letter log.
 * One function per subcommand, as in evctl.  See evdlq(1).
 */
#include <fcntl.h>
#include <fnmatch.h>
#include <getopt.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "evlog.h"
#include "fe.h"

static const char usage_short[] =
	"Usage: evdlq ls [--all] [--json] [SELECTORS] DLQ\n"
	"       evdlq show [--json] DLQ OFFSET...\n"
	"       evdlq stats [SELECTORS] DLQ\n"
	"       evdlq retry [--dry-run] [--exec CMD] [--retries N] [--backoff DURATION]\n"
	"                   [--backoff-max DURATION] [--timeout DURATION] [SELECTORS] DLQ\n"
	"       evdlq purge --reason TEXT [--dry-run] [SELECTORS] DLQ\n"
	"SELECTORS: [--offset A..B] [--type GLOB] [--stream GLOB] [--error REGEX]\n"
	"           [--older-than DURATION] [--group NAME]\n";

static const char usage_long[] =
	"Inspect, retry and purge the dead letters that 'evtail --exec --dlq'\n"
	"writes to a dead-letter log (DLQ).\n"
	"\n"
	"Commands:\n"
	"  ls DLQ         one line per open dead letter\n"
	"      --all                 include resolved and discarded letters\n"
	"      --json                one JSON object per letter\n"
	"  show DLQ OFFSET...  whole letters, by their offset in DLQ\n"
	"      --json                one JSON object per letter\n"
	"  stats DLQ      counts by type, by error and by age; the oldest\n"
	"  retry DLQ      run the handler again on each selected open letter;\n"
	"                 success resolves it, failure leaves it open\n"
	"      --backoff DURATION    first retry delay, doubling (1s)\n"
	"      --backoff-max DURATION  longest retry delay (30s)\n"
	"      --dry-run             say what would be retried, run nothing\n"
	"      --exec CMD            the handler (default: the letter's own)\n"
	"      --retries N           retries of a failed run (3)\n"
	"      --timeout DURATION    a run that takes longer fails (none)\n"
	"  purge DLQ      record the selected open letters as discarded\n"
	"      --dry-run             say what would be discarded\n"
	"      --reason TEXT         why (required)\n"
	"\n"
	"Selectors (all commands but show; all must match):\n"
	"      --error REGEX         the last failure matches REGEX (ERE)\n"
	"      --group NAME          written by consumer group NAME\n"
	"      --offset A..B         DLQ offsets A to B (either may be left out)\n"
	"      --older-than DURATION  written at least DURATION ago\n"
	"      --stream GLOB         the original event's stream matches GLOB\n"
	"      --type GLOB           the original event's type matches GLOB\n"
	"\n"
	"Options:\n"
	"  -h, --help    show this help and exit\n"
	"  -V, --version show versions and exit\n"
	"\n"
	"Exit status: 0 ok; for retry, every selected letter was resolved; 1 some\n"
	"remain open, or a failure; 64 usage, 65 damaged data, 66 missing DLQ or\n"
	"letter, 74 I/O error, 75 another retry runs.  See evdlq(1).\n";

/* ------------------------------------------------------------ selectors */

struct select {
	int have_offset;
	uint64_t from, to;
	const char *type, *stream, *group;
	regex_t error;
	int have_error;
	int64_t older_ms;
	int all; /* not only open letters */
};

enum {
	OPT_ALL = 256,
	OPT_BACKOFF,
	OPT_BACKOFF_MAX,
	OPT_DRY_RUN,
	OPT_ERROR,
	OPT_EXEC,
	OPT_GROUP,
	OPT_JSON,
	OPT_OFFSET,
	OPT_OLDER_THAN,
	OPT_REASON,
	OPT_RETRIES,
	OPT_STREAM,
	OPT_TIMEOUT,
	OPT_TYPE,
};

/* Handle a selector option: 1 handled, 0 not a selector, -1 bad value. */
static int selector_opt(int c, const char *arg, struct select *s)
{
	char *dots, *e;

	switch (c) {
	case OPT_ERROR:
		if (s->have_error)
			regfree(&s->error);
		if (regcomp(&s->error, arg, REG_EXTENDED | REG_NOSUB) != 0) {
			fe_warn("--error: '%s' is not a regular expression", arg);
			return -1;
		}
		s->have_error = 1;
		return 1;
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

static int selected(const struct select *s, const struct ev_letter *l,
		    ev_time_t now)
{
	if (!s->all && l->state != EV_LETTER_OPEN)
		return 0;
	if (s->have_offset && (l->offset < s->from || l->offset > s->to))
		return 0;
	if (s->type && fnmatch(s->type, l->orig_type, 0) != 0)
		return 0;
	if (s->stream && (l->orig_stream == NULL ||
			  fnmatch(s->stream, l->orig_stream, 0) != 0))
		return 0;
	if (s->group && strcmp(s->group, l->group) != 0)
		return 0;
	if (s->have_error) {
		int hit = (l->error && regexec(&s->error, l->error, 0, NULL, 0) == 0) ||
			  (l->stderr_tail &&
			   regexec(&s->error, l->stderr_tail, 0, NULL, 0) == 0);
		if (!hit)
			return 0;
	}
	if (s->older_ms > 0 && now - l->time < s->older_ms * 1000000)
		return 0;
	return 1;
}

#define SELECTOR_OPTIONS                                                     \
	{"error", required_argument, NULL, OPT_ERROR},                       \
		{"group", required_argument, NULL, OPT_GROUP},               \
		{"offset", required_argument, NULL, OPT_OFFSET},             \
		{"older-than", required_argument, NULL, OPT_OLDER_THAN},     \
		{"stream", required_argument, NULL, OPT_STREAM},             \
		{"type", required_argument, NULL, OPT_TYPE}

/* ------------------------------------------------------------ helpers */

static int open_dlq(const char *path, struct ev_log **log)
{
	struct ev_error err;

	*log = NULL;
	if (ev_log_open(log, path, &err) != 0)
		return fe_report(&err);
	return 0;
}

static int scan(struct ev_log *log, struct ev_letter **v, size_t *n)
{
	struct ev_error err;

	if (ev_dlq_scan(log, v, n, &err) != 0)
		return fe_report(&err);
	return 0;
}

/* Open the DLQ at path and read its letters. */
static int load(const char *path, struct ev_log **log, struct ev_letter **v,
		size_t *n)
{
	int rc = open_dlq(path, log);

	if (rc == 0 && (rc = scan(*log, v, n)) != 0) {
		ev_log_close(*log);
		*log = NULL;
	}
	return rc;
}

static void age(ev_time_t then, ev_time_t now, char *out, size_t n)
{
	int64_t s = (now - then) / 1000000000;

	if (s < 0)
		s = 0;
	if (s < 120)
		snprintf(out, n, "%llds", (long long)s);
	else if (s < 7200)
		snprintf(out, n, "%lldm", (long long)(s / 60));
	else if (s < 172800)
		snprintf(out, n, "%lldh", (long long)(s / 3600));
	else
		snprintf(out, n, "%lldd", (long long)(s / 86400));
}

static const char *state_name(int st)
{
	return st == EV_LETTER_OPEN	   ? "open"
	       : st == EV_LETTER_RESOLVED ? "resolved"
					  : "discarded";
}

static void put_json_str(const char *s)
{
	struct ev_buf b = {0};

	if (s == NULL)
		fputs("null", stdout);
	else if (ev_json_string(&b, s, strlen(s)) == 0)
		fwrite(b.p, 1, b.len, stdout);
	else
		fputs("null", stdout);
	ev_buf_free(&b);
}

static void put_json_time(ev_time_t t)
{
	char buf[40];

	if (t == EV_TIME_NONE) {
		fputs("null", stdout);
		return;
	}
	ev_time_format(t, buf);
	printf("\"%s\"", buf);
}

/* first line of s, into out */
static const char *first_line(const char *s, char *out, size_t n)
{
	size_t k = s ? strcspn(s, "\n") : 0;

	if (s == NULL)
		return "";
	if (k >= n)
		k = n - 1;
	memcpy(out, s, k);
	out[k] = '\0';
	return out;
}

/* ------------------------------------------------------------ ls */

static void letter_json(const struct ev_letter *l, ev_time_t now)
{
	printf("{\"offset\":%llu,\"id\":", (unsigned long long)l->offset);
	put_json_str(l->id);
	printf(",\"state\":\"%s\",\"group\":", state_name(l->state));
	put_json_str(l->group);
	printf(",\"source\":{\"log\":");
	put_json_str(l->source_log);
	printf(",\"logId\":");
	put_json_str(l->source_log_id);
	printf(",\"offset\":%llu},\"type\":", (unsigned long long)l->source_offset);
	put_json_str(l->orig_type);
	printf(",\"stream\":");
	put_json_str(l->orig_stream);
	printf(",\"attempts\":%llu,\"parked\":%s,\"time\":",
	       (unsigned long long)l->attempts, l->parked ? "true" : "false");
	put_json_time(l->time);
	printf(",\"ageSeconds\":%lld,\"error\":",
	       (long long)((now - l->time) / 1000000000));
	put_json_str(l->error);
	printf(",\"resolved\":");
	put_json_time(l->state_time);
	printf(",\"reason\":");
	put_json_str(l->reason);
	putchar('}');
}

static int cmd_ls(int argc, char **argv)
{
	static const struct option opts[] = {
		{"all", no_argument, NULL, OPT_ALL},
		{"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, OPT_JSON},
		SELECTOR_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct select s;
	struct ev_log *log = NULL;
	struct ev_letter *v = NULL;
	size_t n = 0, i;
	int c, json = 0, rc, shown = 0;
	ev_time_t now = ev_now();
	char ab[16], line[120];

	memset(&s, 0, sizeof(s));
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			fe_help(usage_short, usage_long);
			return 0;
		}
		if (c == OPT_ALL) {
			s.all = 1;
			continue;
		}
		if (c == OPT_JSON) {
			json = 1;
			continue;
		}
		rc = selector_opt(c, optarg, &s);
		if (rc == 1)
			continue;
		return fe_usage_error(usage_short, NULL);
	}
	if (optind + 1 != argc)
		return fe_usage_error(usage_short, "ls: expected one DLQ operand");
	if ((rc = load(argv[optind], &log, &v, &n)) != 0)
		return rc;
	for (i = 0; i < n; i++) {
		const struct ev_letter *l = &v[i];
		if (!selected(&s, l, now))
			continue;
		if (json) {
			letter_json(l, now);
			putchar('\n');
			continue;
		}
		if (shown++ == 0)
			printf("%-8s %-10s %-24s %-20s %8s %5s %s%s\n", "OFFSET",
			       "ORIGINAL", "TYPE", "STREAM", "ATTEMPTS", "AGE",
			       s.all ? "STATE     " : "", "ERROR");
		age(l->time, now, ab, sizeof(ab));
		printf("%-8llu %-10llu %-24s %-20s %8llu %5s ",
		       (unsigned long long)l->offset,
		       (unsigned long long)l->source_offset, l->orig_type,
		       l->orig_stream ? l->orig_stream : "-",
		       (unsigned long long)l->attempts, ab);
		if (s.all)
			printf("%-10s", state_name(l->state));
		printf("%s\n", first_line(l->error, line, sizeof(line)));
	}
	if (s.have_error)
		regfree(&s.error);
	ev_letters_free(v, n);
	ev_log_close(log);
	return 0;
}

/* ------------------------------------------------------------ show */

/* Indent compact JSON text for people. */
static void pretty_json(const char *s, size_t n)
{
	int depth = 0, in_str = 0, esc = 0, i;
	size_t k;

	for (k = 0; k < n; k++) {
		char ch = s[k];
		if (in_str) {
			putchar(ch);
			if (esc)
				esc = 0;
			else if (ch == '\\')
				esc = 1;
			else if (ch == '"')
				in_str = 0;
			continue;
		}
		switch (ch) {
		case '"':
			in_str = 1;
			putchar(ch);
			break;
		case '{':
		case '[':
			/* empty containers stay on one line */
			if (k + 1 < n && (s[k + 1] == '}' || s[k + 1] == ']')) {
				putchar(ch);
				putchar(s[++k]);
				break;
			}
			putchar(ch);
			putchar('\n');
			depth++;
			for (i = 0; i < depth; i++)
				fputs("  ", stdout);
			break;
		case '}':
		case ']':
			putchar('\n');
			depth--;
			for (i = 0; i < depth; i++)
				fputs("  ", stdout);
			putchar(ch);
			break;
		case ',':
			putchar(ch);
			putchar('\n');
			for (i = 0; i < depth; i++)
				fputs("  ", stdout);
			break;
		case ':':
			fputs(": ", stdout);
			break;
		default:
			putchar(ch);
		}
	}
	putchar('\n');
}

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
	return 66;
}

static int cmd_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"json", no_argument, NULL, OPT_JSON},
		{NULL, 0, NULL, 0},
	};
	struct ev_log *log = NULL;
	struct ev_letter *v = NULL;
	struct ev_reader *rd = NULL;
	struct ev_error err;
	struct ev_rec rec;
	struct ev_buf js = {0};
	size_t n = 0, i;
	int c, json = 0, rc = 0, k;
	uint64_t off;
	char t[40];

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			fe_help(usage_short, usage_long);
			return 0;
		}
		if (c == OPT_JSON) {
			json = 1;
			continue;
		}
		return fe_usage_error(usage_short, NULL);
	}
	if (optind + 2 > argc)
		return fe_usage_error(usage_short,
				      "show: expected DLQ and one or more OFFSETs");
	for (k = optind + 1; k < argc; k++)
		if (fe_parse_u64(argv[k], &off) != 0)
			return fe_usage_error(usage_short,
					      "show: '%s' is not an offset", argv[k]);
	if ((rc = load(argv[optind], &log, &v, &n)) != 0)
		return rc;
	if (ev_reader_open(&rd, log, &err) != 0) {
		rc = fe_report(&err);
		goto out;
	}
	for (k = optind + 1; k < argc && rc == 0; k++) {
		const struct ev_letter *l = NULL;
		fe_parse_u64(argv[k], &off);
		for (i = 0; i < n; i++)
			if (v[i].offset == off)
				l = &v[i];
		if (l == NULL) {
			rc = not_a_letter(rd, argv[optind], off);
			break;
		}
		js.len = 0;
		if (ev_reader_seek(rd, off, &err) != 0 ||
		    ev_reader_next(rd, &rec, &err) != 1 ||
		    ev_record_to_json(rec.p, rec.n, rec.offset, &js, &err) != 0) {
			rc = fe_report(&err);
			break;
		}
		if (json) {
			printf("{\"state\":\"%s\",\"resolved\":",
			       state_name(l->state));
			put_json_time(l->state_time);
			printf(",\"reason\":");
			put_json_str(l->reason);
			printf(",\"attempts\":%llu,\"letter\":",
			       (unsigned long long)l->attempts);
			fwrite(js.p, 1, js.len, stdout);
			printf("}\n");
			continue;
		}
		printf("dead letter %llu: %s", (unsigned long long)off,
		       state_name(l->state));
		if (l->state != EV_LETTER_OPEN) {
			ev_time_format(l->state_time, t);
			printf(" at %s", t);
		}
		if (l->reason)
			printf(" (%s)", l->reason);
		printf(", %llu attempts\n", (unsigned long long)l->attempts);
		pretty_json((const char *)js.p, js.len);
	}
out:
	ev_buf_free(&js);
	ev_reader_free(rd);
	ev_letters_free(v, n);
	ev_log_close(log);
	return rc;
}

/* ------------------------------------------------------------ stats */

struct tally {
	char *key;
	uint64_t n;
};

static void tally_add(struct tally **v, size_t *n, const char *key)
{
	size_t i;
	struct tally *nv;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i].key, key) == 0) {
			(*v)[i].n++;
			return;
		}
	nv = realloc(*v, (*n + 1) * sizeof(*nv));
	if (nv == NULL)
		return;
	*v = nv;
	nv[*n].key = strdup(key);
	nv[*n].n = 1;
	if (nv[*n].key != NULL)
		(*n)++;
}

static int tally_cmp(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->key, y->key);
}

static void tally_print(const char *title, struct tally *v, size_t n)
{
	size_t i;
	char b[32];

	printf("%s:\n", title);
	if (n > 1)
		qsort(v, n, sizeof(*v), tally_cmp);
	for (i = 0; i < n; i++) {
		printf("  %10s  %s\n", fe_commas(v[i].n, b), v[i].key);
		free(v[i].key);
	}
	if (n == 0)
		printf("  (none)\n");
	free(v);
}

static int cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		SELECTOR_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	static const struct {
		const char *name;
		int64_t max_s;
	} ages[] = {
		{"under 1 hour", 3600},
		{"1 hour to 1 day", 86400},
		{"1 to 7 days", 7 * 86400},
		{"over 7 days", INT64_MAX},
	};
	struct select s;
	struct ev_log *log = NULL;
	struct ev_letter *v = NULL;
	struct tally *by_type = NULL, *by_error = NULL;
	size_t n = 0, i, nt = 0, ne = 0, a;
	uint64_t by_age[4] = {0, 0, 0, 0}, open = 0, resolved = 0, discarded = 0;
	const struct ev_letter *oldest = NULL;
	ev_time_t now = ev_now();
	int c, rc;
	char line[120], b[32], t[40];

	memset(&s, 0, sizeof(s));
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			fe_help(usage_short, usage_long);
			return 0;
		}
		if (selector_opt(c, optarg, &s) == 1)
			continue;
		return fe_usage_error(usage_short, NULL);
	}
	if (optind + 1 != argc)
		return fe_usage_error(usage_short, "stats: expected one DLQ operand");
	if ((rc = load(argv[optind], &log, &v, &n)) != 0)
		return rc;
	s.all = 1;
	for (i = 0; i < n; i++) {
		const struct ev_letter *l = &v[i];
		int64_t secs;
		if (!selected(&s, l, now))
			continue;
		if (l->state == EV_LETTER_RESOLVED) {
			resolved++;
			continue;
		}
		if (l->state == EV_LETTER_DISCARDED) {
			discarded++;
			continue;
		}
		open++;
		tally_add(&by_type, &nt, l->orig_type);
		tally_add(&by_error, &ne, first_line(l->error, line, sizeof(line)));
		secs = (now - l->time) / 1000000000;
		for (a = 0; a < 3 && secs >= ages[a].max_s; a++)
			;
		by_age[a]++;
		if (oldest == NULL || l->time < oldest->time)
			oldest = l;
	}
	printf("open:       %s\n", fe_commas(open, b));
	printf("resolved:   %s\n", fe_commas(resolved, b));
	printf("discarded:  %s\n", fe_commas(discarded, b));
	if (oldest != NULL) {
		ev_time_format(oldest->time, t);
		age(oldest->time, now, line, sizeof(line));
		printf("oldest:     offset %llu, %s, written %s (%s ago)\n",
		       (unsigned long long)oldest->offset, oldest->orig_type, t,
		       line);
	}
	tally_print("open by type", by_type, nt);
	tally_print("open by error", by_error, ne);
	printf("open by age:\n");
	for (a = 0; a < 4; a++)
		printf("  %10s  %s\n", fe_commas(by_age[a], b), ages[a].name);
	if (s.have_error)
		regfree(&s.error);
	ev_letters_free(v, n);
	ev_log_close(log);
	return 0;
}

/* ------------------------------------------------------------ retry, purge */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Append one resolution record and sync it. */
static int record(struct ev_writer *w, int kind, const struct ev_letter *l,
		  const char *handler, unsigned attempts, const char *reason,
		  const struct ev_done *d)
{
	struct ev_buf rec = {0};
	struct ev_error err;
	ev_time_t t;
	int r;

	r = ev_dlq_resolution_encode(&rec, kind, l, handler, attempts, reason, d,
				     ev_now(), &t, &err);
	if (r == 0)
		r = ev_writer_add(w, rec.p, rec.len, t, &err);
	if (r == 0)
		r = ev_writer_flush(w, &err);
	ev_buf_free(&rec);
	return r ? fe_report(&err) : 0;
}

/* One retry or purge at a time: a lock file in the DLQ. */
static int lock_dlq(const char *path, int *fd)
{
	char lp[4096];

	snprintf(lp, sizeof(lp), "%s/evdlq.lock", path);
	*fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (*fd < 0) {
		fe_warn("cannot open '%s'", lp);
		return 74;
	}
	if (flock(*fd, LOCK_EX | LOCK_NB) != 0) {
		fe_warn("another evdlq retry or purge is running on '%s'", path);
		close(*fd);
		*fd = -1;
		return 75;
	}
	return 0;
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

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "NAME=value" for a handler's environment, allocated: values are passed
 * whole, however long.  NULL when out of memory. */
static char *env_pair(const char *name_eq, const char *value)
{
	char *s;

	if (asprintf(&s, "%s%s", name_eq, value) < 0)
		return NULL;
	return s;
}

struct retry_opts {
	unsigned retries;
	int64_t backoff, backoff_max, timeout;
};

/* How the runs of one letter ended. */
enum {
	RUN_ERROR = -1, /* could not run it; reported */
	RUN_FAILED,	/* every run failed */
	RUN_OK,		/* the last run succeeded */
	RUN_STOPPED,	/* stopped by SIGINT or SIGTERM */
};

/*
 * Wait for the one run of rn to end, into *d.  When we are asked to stop,
 * the run gets SIGTERM, and SIGKILL EV_KILL_GRACE_MS later.  Returns 1
 * when the run ended after that, 0 when it ended by itself, -1 on error.
 */
static int wait_run(struct ev_runner *rn, struct ev_done *d)
{
	int64_t kill_at = 0;
	int r;

	for (;;) {
		/* bounded, so that a signal just before the wait is seen */
		r = ev_runner_wait(rn, 200, d);
		if (r == 1)
			return kill_at != 0;
		if (r < 0 || ev_runner_running(rn) == 0) {
			fe_warn("cannot wait for the handler");
			return -1;
		}
		if (!stop_requested)
			continue;
		if (kill_at == 0) {
			ev_runner_kill_all(rn, SIGTERM);
			kill_at = mono_ms() + EV_KILL_GRACE_MS;
		} else if (kill_at > 0 && mono_ms() >= kill_at) {
			ev_runner_kill_all(rn, SIGKILL);
			kill_at = -1;
		}
	}
}

/*
 * Run cmd on l's original event until it succeeds or the retries run out.
 * *attempts counts the runs that ended by themselves, and *d is the last
 * of them.  A run that fails while we stop is likely our own kill, so it
 * does not count, as in evtail: with RUN_STOPPED, *attempts are the runs
 * that failed before.
 */
static int run_letter(const struct ev_letter *l, const char *cmd,
		      const struct retry_opts *o, unsigned *attempts,
		      struct ev_done *d, int *rc)
{
	struct ev_runner *rn = ev_runner_new(1);
	struct ev_error err;
	struct ev_buf in = {0};
	struct ev_done *run = malloc(sizeof(*run));
	char attempt[40], offset[40], dlq_offset[40];
	char *owned[3] = {NULL, NULL, NULL};
	char *envp[7];
	unsigned a;
	int k = 0, stopped, res = RUN_ERROR;

	*attempts = 0;
	*rc = 1;
	if (rn == NULL || run == NULL || ev_buf_puts(&in, l->original_json) != 0 ||
	    ev_buf_putc(&in, '\n') != 0)
		goto oom;
	snprintf(offset, sizeof(offset), "EV_OFFSET=%llu",
		 (unsigned long long)l->source_offset);
	snprintf(dlq_offset, sizeof(dlq_offset), "EV_DLQ_OFFSET=%llu",
		 (unsigned long long)l->offset);
	envp[k++] = attempt;
	envp[k++] = offset;
	envp[k++] = dlq_offset;
	if ((owned[0] = env_pair("EV_TYPE=", l->orig_type)) == NULL)
		goto oom;
	envp[k++] = owned[0];
	if (l->orig_id != NULL) {
		if ((owned[1] = env_pair("EV_ID=", l->orig_id)) == NULL)
			goto oom;
		envp[k++] = owned[1];
	}
	if (l->orig_stream != NULL) {
		if ((owned[2] = env_pair("EV_STREAM=", l->orig_stream)) == NULL)
			goto oom;
		envp[k++] = owned[2];
	}
	envp[k] = NULL;
	res = RUN_FAILED;
	for (a = 0; a <= o->retries; a++) {
		if (a > 0) {
			int64_t ms = ev_backoff_ms((int)a, o->backoff,
						   o->backoff_max);
			struct timespec ts = {ms / 1000,
					      (long)(ms % 1000) * 1000000};
			nanosleep(&ts, NULL);
		}
		if (stop_requested) {
			res = RUN_STOPPED;
			break;
		}
		/* attempts go on from the letter's */
		snprintf(attempt, sizeof(attempt), "EV_ATTEMPT=%llu",
			 (unsigned long long)(l->attempts + a + 1));
		if (ev_runner_start(rn, cmd, in.p, in.len, envp, o->timeout,
				    NULL, &err) != 0) {
			*rc = fe_report(&err);
			res = RUN_ERROR;
			break;
		}
		stopped = wait_run(rn, run);
		if (stopped < 0) {
			res = RUN_ERROR;
			break;
		}
		if (run->ok) {
			*d = *run;
			*attempts = a + 1;
			res = RUN_OK;
			break;
		}
		if (stopped || stop_requested) {
			res = RUN_STOPPED;
			break;
		}
		*d = *run;
		*attempts = a + 1;
	}
	goto out;
oom:
	fe_warn("out of memory");
out:
	for (k = 0; k < 3; k++)
		free(owned[k]);
	free(run);
	ev_buf_free(&in);
	ev_runner_free(rn);
	return res;
}

/* What became of a letter in this run of retry, for those behind it. */
enum {
	FATE_UNSELECTED, /* not selected: stays as it was */
	FATE_RESOLVED,	 /* resolved (or would be, in a dry run) */
	FATE_FAILED,	 /* its retry failed */
	FATE_LEFT_OPEN,	 /* not tried */
};

/* Order indexes of letters v by stream, group and source log, then
 * offset. */
static int stream_cmp(const void *a, const void *b, void *v)
{
	const struct ev_letter *lv = v;
	const struct ev_letter *x = &lv[*(const size_t *)a];
	const struct ev_letter *y = &lv[*(const size_t *)b];
	int c;

	if ((c = strcmp(x->orig_stream, y->orig_stream)) != 0 ||
	    (c = strcmp(x->group, y->group)) != 0 ||
	    (c = strcmp(x->source_log_id, y->source_log_id)) != 0)
		return c;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/*
 * For each open letter of a stream, the index of the open letter before it
 * of the same stream, group and source log in prev[], or n for none.
 * Returns -1 when out of memory.
 */
static int stream_prev(const struct ev_letter *v, size_t n, size_t *prev)
{
	size_t *idx = malloc((n ? n : 1) * sizeof(*idx)), m = 0, i;

	if (idx == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		prev[i] = n;
		if (v[i].state == EV_LETTER_OPEN && v[i].orig_stream != NULL)
			idx[m++] = i;
	}
	qsort_r(idx, m, sizeof(*idx), stream_cmp, (void *)v);
	for (i = 1; i < m; i++) {
		const struct ev_letter *x = &v[idx[i - 1]], *y = &v[idx[i]];
		if (strcmp(x->orig_stream, y->orig_stream) == 0 &&
		    strcmp(x->group, y->group) == 0 &&
		    strcmp(x->source_log_id, y->source_log_id) == 0)
			prev[idx[i]] = idx[i - 1];
	}
	free(idx);
	return 0;
}

static int cmd_retry(int argc, char **argv)
{
	static const struct option opts[] = {
		{"backoff", required_argument, NULL, OPT_BACKOFF},
		{"backoff-max", required_argument, NULL, OPT_BACKOFF_MAX},
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"exec", required_argument, NULL, OPT_EXEC},
		{"help", no_argument, NULL, 'h'},
		{"retries", required_argument, NULL, OPT_RETRIES},
		{"timeout", required_argument, NULL, OPT_TIMEOUT},
		SELECTOR_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct select s;
	struct retry_opts o = {3, 1000, 30000, 0};
	struct ev_log *log = NULL;
	struct ev_letter *v = NULL;
	struct ev_writer *w = NULL;
	struct ev_error err;
	struct ev_done *d = NULL;
	const char *exec = NULL;
	size_t n = 0, i, *prev = NULL, *blocker = NULL;
	unsigned char *fate = NULL;
	uint64_t val, selected_n = 0, resolved = 0;
	unsigned attempts;
	int c, dry = 0, rc, lockfd = -1, r, run_rc;
	ev_time_t now = ev_now();
	char why[80], b1[32], b2[32];

	memset(&s, 0, sizeof(s));
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int64_t ms;
		switch (c) {
		case 'h':
			fe_help(usage_short, usage_long);
			return 0;
		case OPT_BACKOFF:
		case OPT_BACKOFF_MAX:
		case OPT_TIMEOUT:
			if (ev_duration_parse(optarg, &ms) != 0)
				return fe_usage_error(usage_short,
						      "retry: '%s' is not a duration "
						      "such as 500ms, 2s or 1m",
						      optarg);
			if (c == OPT_BACKOFF)
				o.backoff = ms;
			else if (c == OPT_BACKOFF_MAX)
				o.backoff_max = ms;
			else
				o.timeout = ms;
			continue;
		case OPT_DRY_RUN:
			dry = 1;
			continue;
		case OPT_EXEC:
			exec = optarg;
			continue;
		case OPT_RETRIES:
			if (fe_parse_u64(optarg, &val) != 0 || val > 1000)
				return fe_usage_error(usage_short,
						      "retry: --retries: '%s' is not a "
						      "number from 0 to 1000",
						      optarg);
			o.retries = (unsigned)val;
			continue;
		}
		r = selector_opt(c, optarg, &s);
		if (r == 1)
			continue;
		return fe_usage_error(usage_short, NULL);
	}
	if (optind + 1 != argc)
		return fe_usage_error(usage_short, "retry: expected one DLQ operand");
	if (o.backoff_max < o.backoff)
		o.backoff_max = o.backoff;
	/* the log first, so that no lock file is made where there is none;
	 * then the letters, as of when we hold the lock */
	if ((rc = open_dlq(argv[optind], &log)) != 0)
		goto out;
	if (!dry && (rc = lock_dlq(argv[optind], &lockfd)) != 0)
		goto out;
	if ((rc = scan(log, &v, &n)) != 0)
		goto out;
	if (!dry && (rc = open_writer(log, &w)) != 0)
		goto out;
	prev = malloc((n ? n : 1) * sizeof(*prev));
	blocker = malloc((n ? n : 1) * sizeof(*blocker));
	fate = calloc(n ? n : 1, 1);
	d = malloc(sizeof(*d));
	if (prev == NULL || blocker == NULL || fate == NULL || d == NULL ||
	    stream_prev(v, n, prev) != 0) {
		fe_warn("out of memory");
		rc = 1;
		goto out;
	}
	for (i = 0; i < n; i++)
		selected_n += selected(&s, &v[i], now);
	fe_on_stop(on_signal);
	for (i = 0; i < n && !stop_requested; i++) {
		const struct ev_letter *l = &v[i];
		const char *cmd = exec ? exec : l->handler;
		size_t p = prev[i], b;
		/* a stream keeps its order: a letter waits while an earlier
		 * open letter of its stream (same group and source log) is
		 * not resolved, selected or not */
		blocker[i] = n;
		if (p < n && fate[p] != FATE_RESOLVED)
			blocker[i] = blocker[p] < n ? blocker[p] : p;
		if (!selected(&s, l, now))
			continue;
		fate[i] = FATE_LEFT_OPEN;
		if ((b = blocker[i]) < n) {
			fe_warn("left open: %llu (%s %s), behind %s letter %llu of "
				"its stream%s",
				(unsigned long long)l->offset, l->orig_type,
				l->orig_stream,
				fate[b] == FATE_FAILED ? "failed" : "open",
				(unsigned long long)v[b].offset,
				fate[b] == FATE_UNSELECTED ? ", which is not selected"
							   : "");
			continue;
		}
		if (cmd == NULL) {
			fe_warn("letter %llu records no handler: give --exec",
				(unsigned long long)l->offset);
			continue;
		}
		if (dry) {
			printf("would retry %llu (%s%s%s) with: %s\n",
			       (unsigned long long)l->offset, l->orig_type,
			       l->orig_stream ? " " : "",
			       l->orig_stream ? l->orig_stream : "", cmd);
			fate[i] = FATE_RESOLVED;
			continue;
		}
		memset(d, 0, sizeof(*d));
		r = run_letter(l, cmd, &o, &attempts, d, &run_rc);
		if (r == RUN_ERROR) {
			rc = run_rc;
			break;
		}
		if (r == RUN_OK) {
			if ((rc = record(w, EV_RESOLUTION_RESOLVED, l, cmd, attempts,
					 NULL, d)) != 0)
				break;
			printf("resolved %llu (%s)\n", (unsigned long long)l->offset,
			       l->orig_type);
			fflush(stdout);
			fate[i] = FATE_RESOLVED;
			resolved++;
			continue;
		}
		/* stopped: the failed runs before our kill are on record,
		 * the killed one is not */
		if (attempts == 0)
			break;
		if ((rc = record(w, EV_RESOLUTION_RETRY_FAILED, l, cmd, attempts,
				 NULL, d)) != 0)
			break;
		if (d->timed_out)
			snprintf(why, sizeof(why), "timed out");
		else if (d->signal)
			snprintf(why, sizeof(why), "signal %d", d->signal);
		else
			snprintf(why, sizeof(why), "exit status %d", d->exit_status);
		fflush(stdout); /* in order, when both go to one file */
		fe_warn("still open: %llu (%s) after %u attempts: %s",
			(unsigned long long)l->offset, l->orig_type, attempts, why);
		fate[i] = FATE_FAILED;
	}
	if (rc == 0 && !dry) {
		/* every selected letter not resolved, also those an
		 * interruption kept us from */
		uint64_t still_open = selected_n - resolved;
		fflush(stdout);
		if (still_open > 0 || resolved > 0)
			fe_warn("%s resolved, %s still open", fe_commas(resolved, b1),
				fe_commas(still_open, b2));
		if (still_open > 0 || stop_requested)
			rc = 1;
	}
out:
	free(prev);
	free(blocker);
	free(fate);
	free(d);
	if (w != NULL && ev_writer_close(w, &err) != 0 && rc == 0)
		rc = fe_report(&err);
	if (s.have_error)
		regfree(&s.error);
	ev_letters_free(v, n);
	ev_log_close(log);
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}

static int cmd_purge(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"help", no_argument, NULL, 'h'},
		{"reason", required_argument, NULL, OPT_REASON},
		SELECTOR_OPTIONS,
		{NULL, 0, NULL, 0},
	};
	struct select s;
	struct ev_log *log = NULL;
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
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fe_help(usage_short, usage_long);
			return 0;
		case OPT_DRY_RUN:
			dry = 1;
			continue;
		case OPT_REASON:
			reason = optarg;
			continue;
		}
		if (selector_opt(c, optarg, &s) == 1)
			continue;
		return fe_usage_error(usage_short, NULL);
	}
	if (optind + 1 != argc)
		return fe_usage_error(usage_short, "purge: expected one DLQ operand");
	if (reason == NULL || reason[0] == '\0')
		return fe_usage_error(usage_short,
				      "purge: --reason TEXT is required");
	/* the log first, so that no lock file is made where there is none;
	 * then the letters, as of when we hold the lock */
	if ((rc = open_dlq(argv[optind], &log)) != 0)
		goto out;
	if (!dry && (rc = lock_dlq(argv[optind], &lockfd)) != 0)
		goto out;
	if ((rc = scan(log, &v, &n)) != 0)
		goto out;
	if (!dry && (rc = open_writer(log, &w)) != 0)
		goto out;
	for (i = 0; i < n; i++) {
		if (!selected(&s, &v[i], now))
			continue;
		if (dry) {
			printf("would discard %llu (%s)\n",
			       (unsigned long long)v[i].offset, v[i].orig_type);
			continue;
		}
		if ((rc = record(w, EV_RESOLUTION_DISCARDED, &v[i], NULL, 0, reason,
				 NULL)) != 0)
			break;
		printf("discarded %llu (%s)\n", (unsigned long long)v[i].offset,
		       v[i].orig_type);
		purged++;
	}
	if (rc == 0 && !dry)
		fe_warn("%s discarded", fe_commas(purged, b));
out:
	if (w != NULL && ev_writer_close(w, &err) != 0 && rc == 0)
		rc = fe_report(&err);
	if (s.have_error)
		regfree(&s.error);
	ev_letters_free(v, n);
	ev_log_close(log);
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}

/* ------------------------------------------------------------ main */

static const struct fe_command commands[] = {
	{"ls", cmd_ls},	      {"purge", cmd_purge}, {"retry", cmd_retry},
	{"show", cmd_show}, {"stats", cmd_stats},
};

int main(int argc, char **argv)
{
	fe_init(argv);
	return fe_dispatch(argc, argv, commands,
			   sizeof(commands) / sizeof(commands[0]), usage_short,
			   usage_long);
}
