/*
 * evctl_infer.c - evctl schema infer: a draft 2020-12 JSON Schema of the
 * data of the events in a log, NDJSON files or standard input (the rules
 * are the library's, lib/schemainfer.c; see evctl(1)).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "evctl_schema.h"
#include "evlog.h"
#include "fe.h"

static const char usage_short[] = "Usage: " EVCTL_SCHEMA_INFER_USAGE;

static const char usage_long[] =
	"Write a draft 2020-12 JSON Schema of the data of the events read: from\n"
	"a log (a directory), NDJSON files of event envelopes, or standard input.\n"
	"\n"
	"  --enum-max N      list a string property's values as an enum when\n"
	"                    there are at most N of them, each seen twice on\n"
	"                    average (default 8; 0: no enums)\n"
	"  --out DIR         write DIR/TYPE/N.json for every type and schema\n"
	"                    version seen, and print their paths (an existing\n"
	"                    file is never replaced)\n"
	"  --type TYPE       only events of type TYPE (repeatable); given once\n"
	"                    and without --out, the schema goes to stdout\n"
	"  --type-from PATH  with --wrap: the type is the string at PATH, a\n"
	"                    dotted path into the line\n"
	"  --wrap            each line is the data of an event, of type --type\n"
	"                    or the one at --type-from\n"
	"  -h, --help        show this help and exit\n"
	"\n"
	"Exit status: 0 ok, 64 usage, 65 bad input or no events, 66 missing\n"
	"input, 73 a schema file exists, 74 I/O error.\n"
	"See evctl(1).\n";

struct infer {
	const char **types;
	int ntypes;
	const char *out;
	const char *type_from;
	int wrap;
	struct ev_schemainfer *si;
};

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		fe_warn("%s", msg);
	}
	/* the help of this command, not evctl's */
	fputs(usage_short, stderr);
	fputs("Try 'evctl schema infer --help' for more information.\n",
	      stderr);
	return EV_EXIT_USAGE;
}

/* The parser names --type-from by its field, "type_from" */
static void name_flag(struct ev_error *err)
{
	char rest[sizeof(err->msg)];

	if (strncmp(err->msg, "type_from", 9) != 0)
		return;
	snprintf(rest, sizeof(rest), "%s", err->msg + 9);
	snprintf(err->msg, sizeof(err->msg), "--type-from%.*s",
		 (int)(sizeof(err->msg) - 16), rest);
}

/* Every record of the log at path: 0, or the exit status. */
static int read_log(struct infer *in, const char *path)
{
	struct ev_log *log = NULL;
	struct ev_reader *rd = NULL;
	struct ev_error err;
	struct ev_rec rec;
	int r;

	if (in->wrap)
		return usage("--wrap reads NDJSON, and '%s' is a log", path);
	if ((r = ev_log_open(&log, path, &err)) == 0)
		r = ev_reader_open(&rd, log, &err);
	while (r == 0 && (r = ev_reader_next(rd, &rec, &err)) == 1) {
		r = ev_schemainfer_record(in->si, rec.p, rec.n, &err);
		if (r == EV_EDATA) {
			fe_warn("%s: offset %llu: %s", path,
				(unsigned long long)rec.offset, err.msg);
			r = EV_EXIT_DATA;
			goto out;
		}
		r = r < 0 ? r : 0;
	}
	if (r < 0)
		r = fe_report(&err);
out:
	ev_reader_free(rd);
	ev_log_close(log);
	return r;
}

/* Every line of an NDJSON file ("-": stdin): 0, or the exit status. */
static int read_ndjson(struct infer *in, const char *path)
{
	struct ev_parse_opts po;
	struct ev_input *input;
	struct ev_input_pos pos;
	struct ev_error err;
	const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
	const uint8_t *rec;
	size_t rn;
	ev_time_t t;
	int n, i, r = 0;

	memset(&po, 0, sizeof(po));
	po.format = in->wrap ? EV_FMT_WRAP : EV_FMT_ENVELOPE;
	if (in->wrap && in->type_from != NULL)
		po.type_from = in->type_from;
	else if (in->wrap)
		po.type = in->types[0];
	if (ev_input_open(&input, strcmp(path, "-") == 0 ? NULL : path, &po,
			  &err) != 0)
		return fe_report(&err);
	/* the time of events without one: any, as it is not looked at */
	while ((n = ev_input_next(input, -1, 0, &err)) != 0) {
		if (n == EV_EAGAIN)
			continue;
		if (n == EV_EDATA) {
			ev_input_where(input, &pos);
			name_flag(&err);
			if (err.column > 0)
				fe_warn("%s:%llu:%zu: %s", name,
					(unsigned long long)pos.line,
					err.column, err.msg);
			else
				fe_warn("%s:%llu: %s", name,
					(unsigned long long)pos.line, err.msg);
			if (err.remedy == EV_REMEDY_WRAP)
				fe_warn("the line is not an event: to take "
					"each line as the data of one, use "
					"--wrap with --type or --type-from");
			r = EV_EXIT_DATA;
			break;
		}
		if (n < 0) {
			r = fe_report(&err);
			break;
		}
		for (i = 0; i < n && r == 0; i++) {
			ev_input_record(input, i, &rec, &rn, &t);
			if (ev_schemainfer_record(in->si, rec, rn, &err) < 0) {
				ev_input_where(input, &pos);
				fe_warn("%s:%llu: %s", name,
					(unsigned long long)pos.line, err.msg);
				r = ev_exit_code(err.code);
			}
		}
		if (r != 0)
			break;
	}
	ev_input_free(input);
	return r;
}

static int read_input(struct infer *in, const char *path)
{
	struct stat st;

	if (strcmp(path, "-") != 0 && stat(path, &st) == 0 &&
	    S_ISDIR(st.st_mode))
		return read_log(in, path);
	return read_ndjson(in, path);
}

/* A type named by --type that no event had: 0, or the exit status. */
static int check_seen(struct infer *in)
{
	struct ev_schemainfer_entry e;
	size_t i, n = ev_schemainfer_count(in->si);
	int k;

	for (k = 0; k < in->ntypes; k++) {
		for (i = 0; i < n; i++) {
			ev_schemainfer_entry(in->si, i, &e);
			if (strcmp(e.type, in->types[k]) == 0)
				break;
		}
		if (i == n) {
			fe_warn("no events of type '%s'", in->types[k]);
			return EV_EXIT_DATA;
		}
	}
	if (n == 0) {
		fe_warn("no events to infer a schema from");
		return EV_EXIT_DATA;
	}
	return 0;
}

static int write_stdout(struct infer *in)
{
	struct ev_schemainfer_entry e;
	struct ev_buf out = {0};
	struct ev_error err;
	size_t n = ev_schemainfer_count(in->si);
	int r = 0;

	if (n > 1) {
		ev_schemainfer_entry(in->si, 0, &e);
		return usage("type '%s' has events of %zu schema versions: "
			     "use --out DIR for a file per version",
			     e.type, n);
	}
	if (ev_schemainfer_format(in->si, 0, &out, &err) != 0)
		r = fe_report(&err);
	else if (fwrite(out.p, 1, out.len, stdout) != out.len ||
		 fflush(stdout) != 0) {
		fe_warn("cannot write the schema: %s", strerror(errno));
		r = EV_EXIT_IO;
	}
	ev_buf_free(&out);
	return r;
}

static int write_dir(struct infer *in)
{
	struct ev_buf written = {0};
	struct ev_error err;
	int r = 0;

	if (ev_schemainfer_write_dir(in->si, in->out, &written, &err) != 0)
		r = fe_report(&err);
	if (written.len > 0 &&
	    (fwrite(written.p, 1, written.len, stdout) != written.len ||
	     fflush(stdout) != 0) &&
	    r == 0) {
		fe_warn("cannot write to stdout: %s", strerror(errno));
		r = EV_EXIT_IO;
	}
	ev_buf_free(&written);
	return r;
}

int evctl_schema_infer(int argc, char **argv)
{
	enum { OPT_ENUM_MAX = 256, OPT_OUT, OPT_TYPE, OPT_TYPE_FROM, OPT_WRAP };
	static const struct option opts[] = {
		{"enum-max", required_argument, NULL, OPT_ENUM_MAX},
		{"help", no_argument, NULL, 'h'},
		{"out", required_argument, NULL, OPT_OUT},
		{"type", required_argument, NULL, OPT_TYPE},
		{"type-from", required_argument, NULL, OPT_TYPE_FROM},
		{"wrap", no_argument, NULL, OPT_WRAP},
		{NULL, 0, NULL, 0},
	};
	struct ev_schemainfer_opts so;
	struct infer in;
	struct ev_error err;
	uint64_t v;
	int c, k, r = 0;

	memset(&in, 0, sizeof(in));
	ev_schemainfer_opts_init(&so);
	if ((in.types = calloc((size_t)argc + 1, sizeof(*in.types))) == NULL)
		return fe_oom();
	argv[0] = (char *)fe_progname; /* getopt's messages: "evctl: ..." */
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_ENUM_MAX:
			if (fe_parse_u64(optarg, &v) != 0 ||
			    v > EV_SCHEMAINFER_ENUM_MAX) {
				r = usage("--enum-max: '%s' is not a number "
					  "from 0 to 1000",
					  optarg);
				goto out;
			}
			so.enum_max = (unsigned)v;
			break;
		case 'h':
			fe_help(usage_short, usage_long);
			r = fflush(stdout) == 0 ? EV_EXIT_OK : EV_EXIT_IO;
			goto out;
		case OPT_OUT:
			in.out = optarg;
			break;
		case OPT_TYPE:
			if (optarg[0] == '\0') {
				r = usage("--type: the type is empty");
				goto out;
			}
			in.types[in.ntypes++] = optarg;
			break;
		case OPT_TYPE_FROM:
			in.type_from = optarg;
			break;
		case OPT_WRAP:
			in.wrap = 1;
			break;
		default:
			r = usage(NULL);
			goto out;
		}
	}
	if (in.type_from != NULL && !in.wrap) {
		r = usage("--type-from %s needs --wrap", in.type_from);
		goto out;
	}
	if (in.wrap && in.type_from == NULL && in.ntypes != 1) {
		r = usage("%s", in.ntypes == 0
					? "--wrap needs --type or --type-from"
					: "--wrap takes one --type, the type "
					  "of every line, or --type-from");
		goto out;
	}
	if (in.out == NULL && in.ntypes != 1) {
		r = usage("%s", in.ntypes == 0
					? "give one --type for its schema on "
					  "stdout, or --out DIR for every type"
					: "the schemas of several types need "
					  "--out DIR");
		goto out;
	}
	if (ev_schemainfer_new(&in.si, &so, &err) != 0) {
		r = fe_report(&err);
		goto out;
	}
	/* --wrap --type T: every line is a T, filtered by nothing */
	for (k = 0; k < in.ntypes && !(in.wrap && in.type_from == NULL); k++)
		if (ev_schemainfer_only(in.si, in.types[k], &err) != 0) {
			r = fe_report(&err);
			goto out;
		}
	if (optind == argc)
		r = read_input(&in, "-");
	for (k = optind; k < argc && r == 0; k++)
		r = read_input(&in, argv[k]);
	if (r == 0)
		r = check_seen(&in);
	if (r == 0)
		r = in.out != NULL ? write_dir(&in) : write_stdout(&in);
out:
	ev_schemainfer_free(in.si);
	free(in.types);
	return r;
}
