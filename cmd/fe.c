/*
 * fe.c - front-end helpers shared by the evlog tools; see fe.h.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fe.h"

const char *fe_progname = "evlog";

void fe_init(char **argv)
{
	const char *s = argv[0] ? strrchr(argv[0], '/') : NULL;

	fe_progname = s ? s + 1 : (argv[0] ? argv[0] : "evlog");
	/* getopt_long names argv[0] in its messages */
	if (argv[0] != NULL)
		argv[0] = (char *)fe_progname;
}

void fe_warn(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", fe_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void fe_warning(void *ctx, const char *msg)
{
	(void)ctx;
	fe_warn("warning: %s", msg);
}

/*
 * A remedy worded with the tools' commands and options, which the
 * library does not know; NULL when there is none.
 */
static const char *remedy_text(const struct ev_error *err, char *buf, size_t n)
{
	const char *s = err->subject;

	switch (err->remedy) {
	case EV_REMEDY_VERIFY:
		snprintf(buf, n, "run 'evctl verify %s' for details", s);
		return buf;
	case EV_REMEDY_REPAIR:
		snprintf(buf, n, "run 'evctl repair %s'", s);
		return buf;
	case EV_REMEDY_VERIFY_REPAIR:
		snprintf(buf, n,
			 "run 'evctl verify %s' to inspect and "
			 "'evctl repair %s' to fix it",
			 s, s);
		return buf;
	case EV_REMEDY_VERIFY_REPAIR_TRUNCATE:
		snprintf(buf, n,
			 "run 'evctl verify %s' to inspect and "
			 "'evctl repair --truncate-damaged %s' to fix it, "
			 "moving the damaged part to lost+found/",
			 s, s);
		return buf;
	case EV_REMEDY_REPAIR_INDEXES:
		snprintf(buf, n, "run 'evctl repair %s' to rebuild the indexes",
			 s);
		return buf;
	case EV_REMEDY_REPAIR_STATE:
		snprintf(buf, n, "run 'evctl repair %s' to rebuild it", s);
		return buf;
	case EV_REMEDY_TRUNCATE_SEGMENT:
		return "rerun with --truncate-damaged to move it to lost+found/";
	case EV_REMEDY_TRUNCATE_DAMAGED:
		return "rerun with --truncate-damaged to move the damaged part "
		       "to lost+found/";
	case EV_REMEDY_TRUNCATE_HERE:
		return "data after this point is intact; rerun with "
		       "--truncate-damaged to cut the log here, moving the cut "
		       "bytes to lost+found/";
	case EV_REMEDY_GAP_HERE:
		return "data after this point is intact; rerun with "
		       "--truncate-damaged to replace the damaged batch with a "
		       "gap, keeping the batches after it (its bytes go to "
		       "lost+found/)";
	case EV_REMEDY_FORCE:
		return "wait for it to catch up, reset it, or use --force";
	default:
		return NULL;
	}
}

/* The lines after an error's message: its hint, then its remedy. */
static void report_hints(const struct ev_error *err)
{
	char buf[2 * sizeof(err->subject) + 128];
	const char *r = remedy_text(err, buf, sizeof(buf));

	if (err->hint[0])
		fprintf(stderr, "%s: %s\n", fe_progname, err->hint);
	if (r != NULL)
		fprintf(stderr, "%s: %s\n", fe_progname, r);
}

int fe_report(const struct ev_error *err)
{
	fprintf(stderr, "%s: %s\n", fe_progname, err->msg);
	report_hints(err);
	return ev_exit_code(err->code);
}

int fe_reportf(const struct ev_error *err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", fe_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", err->msg);
	report_hints(err);
	return ev_exit_code(err->code);
}

int fe_oom(void)
{
	fe_warn("out of memory");
	return EV_EXIT_FAILURE;
}

/* the usage of the tool fe_dispatch() runs, for fe_getopt() and
 * fe_usage_error(), and the command it runs */
static const char *cmd_usage_short, *cmd_usage_long, *cmd_name;

/*
 * The lines of a tool's usage that are about command cmd: its entries
 * ("Usage: evctl init ..." or "       evctl groups ...", with their
 * continuation lines), the first one starting "Usage: ", and any note
 * such as "SELECTORS: ..." that they name ("[SELECTORS]").
 */
static void cmd_usage(const char *usage, const char *cmd, FILE *f)
{
	size_t pl = strlen(fe_progname), cl = strlen(cmd), n;
	const char *line, *next, *w;
	int keep = 0, first = 1, selectors = 0;

	for (line = usage; *line; line = next) {
		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		n = (size_t)(next - line);
		w = line + strspn(line, " ");
		if (strncmp(line, "Usage: ", 7) == 0)
			w = line + 7;
		if (w == line) /* a note: "SELECTORS: ..." */
			keep = selectors &&
			       strncmp(line, "SELECTORS:", 10) == 0;
		else if (strncmp(w, fe_progname, pl) == 0 && w[pl] == ' ')
			keep = strncmp(w + pl + 1, cmd, cl) == 0 &&
			       (w[pl + 1 + cl] == ' ' ||
				w[pl + 1 + cl] == '\n');
		if (!keep)
			continue;
		if (w != line && memmem(line, n, "[SELECTORS]", 11) != NULL)
			selectors = 1;
		if (first) { /* "Usage: " in place of the indent */
			fputs("Usage: ", f);
			fwrite(w, 1, (size_t)(next - w), f);
			first = 0;
		} else {
			fwrite(line, 1, n, f);
		}
	}
}

int fe_time_range_error(const char *usage, const char *opt, const char *arg)
{
	return fe_usage_error(usage,
			      "%s: '%s' is out of range: times run from %s",
			      opt, arg, EV_TIME_RANGE);
}

int fe_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	if (fmt != NULL) {
		fprintf(stderr, "%s: ", fe_progname);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
	if (cmd_name != NULL && usage == cmd_usage_short)
		cmd_usage(usage, cmd_name, stderr);
	else
		fputs(usage, stderr);
	fprintf(stderr, "Try '%s --help' for more information.\n", fe_progname);
	return EV_EXIT_USAGE;
}

int fe_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -1;
	*out = v;
	return 0;
}

int fe_parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	uint64_t mul = 1;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == 'k' || *end == 'K')
		mul = 1024, end++;
	else if (*end == 'm' || *end == 'M')
		mul = 1024 * 1024, end++;
	else if (*end == 'g' || *end == 'G')
		mul = 1024ull * 1024 * 1024, end++;
	if (*end == 'i' && mul > 1)
		end++;
	if (*end == 'B' || *end == 'b')
		end++;
	if (*end != '\0' || v > UINT64_MAX / mul)
		return -1;
	*out = v * mul;
	return 0;
}

void fe_version(void)
{
	printf("%s %s\n%s\n", fe_progname, EVLOG_VERSION, ev_version_string());
}

int fe_color(const char *mode, FILE *f)
{
	const char *nc = getenv("NO_COLOR");

	if (mode != NULL && strcmp(mode, "always") == 0)
		return 1;
	if (mode != NULL && strcmp(mode, "never") == 0)
		return 0;
	if (nc != NULL && nc[0] != '\0')
		return 0;
	return isatty(fileno(f));
}

void fe_help(const char *usage_short, const char *usage_long)
{
	fputs(usage_short, stdout);
	putchar('\n');
	fputs(usage_long, stdout);
}

int fe_parse_sync(const char *s, enum ev_sync *out)
{
	if (strcmp(s, "batch") == 0)
		*out = EV_SYNC_BATCH;
	else if (strcmp(s, "none") == 0)
		*out = EV_SYNC_NONE;
	else
		return -1;
	return 0;
}

void fe_on_stop(void (*handler)(int))
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = handler;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* a closed pipe shows as a write error, handled where it happens */
	signal(SIGPIPE, SIG_IGN);
}

int fe_getopt(int argc, char **argv, const char *shortopts,
	      const struct option *longopts)
{
	int c = getopt_long(argc, argv, shortopts, longopts, NULL);

	if (c == 'h') {
		fe_help(cmd_usage_short, cmd_usage_long);
		exit(fflush(stdout) == 0 ? EV_EXIT_OK : EV_EXIT_IO);
	}
	if (c == '?' || c == ':')
		exit(fe_usage_error(cmd_usage_short, NULL));
	return c;
}

int fe_dispatch(int argc, char **argv, const struct fe_command *cmds, size_t n,
		const char *usage_short, const char *usage_long)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	size_t i;
	int c;

	cmd_usage_short = usage_short;
	cmd_usage_long = usage_long;
	while ((c = getopt_long(argc, argv, "+hV", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			fe_help(usage_short, usage_long);
			return EV_EXIT_OK;
		case 'V':
			fe_version();
			return EV_EXIT_OK;
		default:
			return fe_usage_error(usage_short, NULL);
		}
	}
	if (optind >= argc)
		return fe_usage_error(usage_short, "missing command");
	for (i = 0; i < n; i++) {
		if (strcmp(argv[optind], cmds[i].name) == 0) {
			argc -= optind;
			argv += optind;
			/* getopt names argv[0] in its messages */
			argv[0] = (char *)fe_progname;
			optind = 0; /* glibc: a full restart of getopt */
			cmd_name = cmds[i].name;
			return cmds[i].fn(argc, argv);
		}
	}
	return fe_usage_error(usage_short, "unknown command '%s'",
			      argv[optind]);
}
