/*
 * evctl_schema.c - evctl schema: its commands check and lint, and the
 * dispatch to compat (evctl_compat.c) and infer (evctl_infer.c).  The
 * registry and the reports are the library's (lib/schemadir.c,
 * lib/schemareport.c); see evctl(1) and evlog-schemas(5).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evctl_schema.h"
#include "evlog.h"
#include "fe.h"

static const char schema_usage[] = "Usage: " EVCTL_SCHEMA_USAGE;

static const char schema_long[] =
	"JSON Schema for events (evlog-schemas(5)).\n"
	"\n"
	"Commands:\n"
	"  check     validate events against a schema directory\n"
	"  lint      check a schema directory\n"
	"  compat    can readers and writers of two schema versions coexist?\n"
	"  infer     write a schema describing the events read\n"
	"\n"
	"'evctl schema COMMAND --help' shows the options of a command.\n"
	"Exit status: 0 ok, 64 usage, 65 invalid events, problems or\n"
	"incompatible schemas, 66 missing input, 73 a file infer would write\n"
	"exists, 74 I/O error.\n"
	"See evctl(1).\n";

static const char check_usage[] = "Usage: " EVCTL_SCHEMA_CHECK_USAGE;

static const char check_long[] =
	"Validate events against a schema directory (evlog-schemas(5)): the\n"
	"events of a log (a directory), of NDJSON files of event envelopes, or\n"
	"of standard input (no operand, or -).\n"
	"\n"
	"  --examples N            examples shown for each error (default 3)\n"
	"  --formats MODE          the format keyword: annotate (the default)\n"
	"                          or assert\n"
	"  --ref-dir [PREFIX=]DIR  load refs to URIs that start with PREFIX\n"
	"                          from DIR (no PREFIX: scheme://host/path\n"
	"                          from DIR/host/path); repeatable\n"
	"  --report FORMAT         human (the default), json, junit or tap\n"
	"  --require-schemas       an event of a type without schemas is\n"
	"                          invalid\n"
	"  --schemas DIR           the schema directory (required)\n"
	"  --type GLOB             only events of the types GLOB matches\n"
	"                          (repeatable)\n"
	"  -h, --help              show this help and exit\n"
	"\n"
	"Exit status: 0 all valid, 64 usage or a bad schema directory, 65 an\n"
	"invalid event, 66 missing input or schema directory, 74 I/O error.\n"
	"See evctl(1).\n";

static const char lint_usage[] = "Usage: " EVCTL_SCHEMA_LINT_USAGE;

static const char lint_long[] =
	"Check a schema directory (evlog-schemas(5)): every schema against its\n"
	"metaschema, every ref resolves, versions run from 1 without gaps, and\n"
	"the names of files and directories are what they must be.\n"
	"\n"
	"  --ref-dir [PREFIX=]DIR  load refs to URIs that start with PREFIX\n"
	"                          from DIR (as check does); repeatable\n"
	"  --report FORMAT         human (the default) or json\n"
	"  --schemas DIR           the schema directory (required)\n"
	"  -h, --help              show this help and exit\n"
	"\n"
	"Exit status: 0 no problems, 64 usage, 65 problems found, 66 missing\n"
	"schema directory, 74 I/O error.\n"
	"See evctl(1).\n";

/* The options check and lint share. */
struct sopts {
	const char *usage;
	const char *schemas;
	const char **ref_dirs;
	size_t nref;
	struct ev_schemadir_opts so;
};

static int usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The message, the usage, and the help to try: that of the command the
 * usage is of ("evctl schema check --help"), not evctl's. */
static int usage_error(const char *usage, const char *fmt, ...)
{
	const char *cmd = usage + strlen("Usage: ");
	size_t n = 0, words = 0;
	char msg[512];
	va_list ap;

	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		fe_warn("%s", msg);
	}
	/* "evctl schema check": the words before the first option; all
	 * of the commands: "evctl schema" */
	while (cmd[n] != '\0' && cmd[n] != '\n' && cmd[n] != '-' &&
	       cmd[n] != '[' && !(cmd[n] >= 'A' && cmd[n] <= 'Z') &&
	       words < (usage == schema_usage ? 2 : 3)) {
		if (cmd[n] == ' ')
			words++;
		n++;
	}
	while (n > 0 && cmd[n - 1] == ' ')
		n--;
	fputs(usage, stderr);
	fprintf(stderr, "Try '%.*s --help' for more information.\n", (int)n,
		cmd);
	return EV_EXIT_USAGE;
}

static int help(const char *usage, const char *text)
{
	fe_help(usage, text);
	return fflush(stdout) == 0 ? EV_EXIT_OK : EV_EXIT_IO;
}

/* Write out to stdout: 0, or 74. */
static int put_out(const struct ev_buf *out)
{
	if ((out->len > 0 && fwrite(out->p, 1, out->len, stdout) != out->len) ||
	    fflush(stdout) != 0) {
		fe_warn("cannot write the report: %s", strerror(errno));
		return EV_EXIT_IO;
	}
	return 0;
}

static int after_options(struct sopts *o)
{
	if (o->schemas == NULL)
		return usage_error(o->usage, "--schemas DIR is required");
	o->ref_dirs[o->nref] = NULL;
	o->so.js.ref_dirs = o->ref_dirs;
	return -1;
}

/* The problems of a schema directory that does not open, on stderr. */
static int bad_dir(struct sopts *o, const struct ev_error *err)
{
	struct ev_schemadir_lint *l = NULL;
	struct ev_error e;
	const char *file, *msg;
	size_t i, shown = 0;

	if (err->code != EV_EDATA)
		return fe_report(err);
	/* all of them, as lint finds them (err has the first) */
	if (ev_schemadir_lint(&l, o->schemas, &o->so, &e) == 0)
		for (i = 0; ev_schemadir_lint_problem(l, i, &file, &msg); i++)
			if (ev_schemadir_lint_stops_open(l, i)) {
				fe_warn("%s", msg);
				shown++;
			}
	if (shown == 0)
		fe_warn("%s", err->msg);
	ev_schemadir_lint_free(l);
	fe_warn("bad schema directory '%s'", o->schemas);
	return EV_EXIT_USAGE;
}

/* ------------------------------------------------------------ check */

enum {
	OPT_EXAMPLES = 256,
	OPT_FORMATS,
	OPT_REF_DIR,
	OPT_REPORT,
	OPT_REQUIRE_SCHEMAS,
	OPT_SCHEMAS,
	OPT_TYPE,
};

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int check_log(struct ev_schemareport *rp, const char *path,
		     const struct ev_filter *flt)
{
	struct ev_log *log = NULL;
	struct ev_reader *rd = NULL;
	struct ev_error err;
	int r;

	if ((r = ev_log_open(&log, path, &err)) != 0)
		return fe_report(&err);
	ev_log_set_notice(log, fe_warning, NULL);
	if ((r = ev_reader_open(&rd, log, &err)) == 0)
		r = ev_schemareport_check_log(rp, rd, flt, &err);
	ev_reader_free(rd);
	ev_log_close(log);
	return r != 0 ? fe_report(&err) : 0;
}

static int check_file(struct ev_schemareport *rp, const char *path,
		      const struct ev_filter *flt)
{
	struct ev_parse_opts po;
	struct ev_input *in = NULL;
	struct ev_error err;
	const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
	int r;

	memset(&po, 0, sizeof(po));
	po.format = EV_FMT_ENVELOPE;
	r = ev_input_open(&in, strcmp(path, "-") == 0 ? NULL : path, &po, &err);
	if (r == 0)
		r = ev_schemareport_check_input(rp, in, name, flt, &err);
	ev_input_free(in);
	return r != 0 ? fe_report(&err) : 0;
}

static int cmd_schema_check(int argc, char **argv)
{
	static const struct option opts[] = {
		{"examples", required_argument, NULL, OPT_EXAMPLES},
		{"formats", required_argument, NULL, OPT_FORMATS},
		{"help", no_argument, NULL, 'h'},
		{"ref-dir", required_argument, NULL, OPT_REF_DIR},
		{"report", required_argument, NULL, OPT_REPORT},
		{"require-schemas", no_argument, NULL, OPT_REQUIRE_SCHEMAS},
		{"schemas", required_argument, NULL, OPT_SCHEMAS},
		{"type", required_argument, NULL, OPT_TYPE},
		{NULL, 0, NULL, 0},
	};
	enum ev_schemareport_format fmt = EV_SREPORT_HUMAN;
	struct ev_schemadir *d = NULL;
	struct ev_schemareport *rp = NULL;
	struct ev_filter *flt = NULL;
	struct ev_buf out = {0};
	struct ev_error err;
	struct sopts o;
	uint64_t examples = 3;
	int c, i, r = -1, nlogs = 0;

	memset(&o, 0, sizeof(o));
	o.usage = check_usage;
	o.ref_dirs = calloc((size_t)argc + 1, sizeof(*o.ref_dirs));
	flt = ev_filter_new();
	if (o.ref_dirs == NULL || flt == NULL) {
		r = fe_oom();
		goto out;
	}
	optind = 0;
	while (r < 0 && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_EXAMPLES:
			if (fe_parse_u64(optarg, &examples) != 0 ||
			    examples > 1000)
				r = usage_error(check_usage,
						"--examples: '%s' is not a "
						"number from 0 to 1000",
						optarg);
			break;
		case OPT_FORMATS:
			if (strcmp(optarg, "assert") == 0)
				o.so.js.formats_assert = 1;
			else if (strcmp(optarg, "annotate") != 0)
				r = usage_error(check_usage,
						"--formats: '%s' is neither "
						"annotate nor assert",
						optarg);
			break;
		case 'h':
			r = help(check_usage, check_long);
			break;
		case OPT_REF_DIR:
			o.ref_dirs[o.nref++] = optarg;
			break;
		case OPT_REPORT:
			if (ev_schemareport_format_parse(optarg, &fmt) != 0)
				r = usage_error(check_usage,
						"--report: '%s' is not one of "
						"human, json, junit, tap",
						optarg);
			break;
		case OPT_REQUIRE_SCHEMAS:
			o.so.require_schemas = 1;
			break;
		case OPT_SCHEMAS:
			o.schemas = optarg;
			break;
		case OPT_TYPE:
			if (ev_filter_add_type(flt, optarg) != 0)
				r = fe_oom();
			break;
		default:
			r = usage_error(check_usage, NULL);
			break;
		}
	}
	if (r >= 0 || (r = after_options(&o)) >= 0)
		goto out;
	for (i = optind; i < argc; i++)
		if (strcmp(argv[i], "-") != 0 && is_dir(argv[i]))
			nlogs++;
	if (nlogs > 0 && argc - optind > 1) {
		r = usage_error(check_usage,
				"a log must be the only operand: check one "
				"log, or NDJSON files");
		goto out;
	}
	if ((r = ev_schemadir_open(&d, o.schemas, &o.so, &err)) != 0) {
		r = bad_dir(&o, &err);
		goto out;
	}
	if ((r = ev_schemareport_new(&rp, d, (unsigned)examples, &err)) != 0) {
		r = fe_report(&err);
		goto out;
	}
	/* a second thread pays when there is a second processor */
	if (sysconf(_SC_NPROCESSORS_ONLN) >= 2)
		ev_schemareport_set_threads(rp, 2);
	if (ev_filter_is_empty(flt)) {
		ev_filter_free(flt);
		flt = NULL;
	}
	if (optind == argc)
		r = check_file(rp, "-", flt);
	else if (nlogs > 0)
		r = check_log(rp, argv[optind], flt);
	for (i = optind; nlogs == 0 && i < argc && r == 0; i++)
		r = check_file(rp, argv[i], flt);
	if (r != 0)
		goto out;
	if ((r = ev_schemareport_write(rp, fmt, &out, &err)) != 0) {
		r = fe_report(&err);
		goto out;
	}
	if ((r = put_out(&out)) == 0 && ev_schemareport_invalid(rp) > 0)
		r = EV_EXIT_DATA;
out:
	ev_buf_free(&out);
	ev_schemareport_free(rp);
	ev_schemadir_free(d);
	ev_filter_free(flt);
	free(o.ref_dirs);
	return r;
}

/* ------------------------------------------------------------ lint */

static int cmd_schema_lint(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{"ref-dir", required_argument, NULL, OPT_REF_DIR},
		{"report", required_argument, NULL, OPT_REPORT},
		{"schemas", required_argument, NULL, OPT_SCHEMAS},
		{NULL, 0, NULL, 0},
	};
	struct ev_schemadir_lint *l = NULL;
	struct ev_buf out = {0};
	struct ev_error err;
	struct sopts o;
	int c, r = -1, json = 0;

	memset(&o, 0, sizeof(o));
	o.usage = lint_usage;
	o.ref_dirs = calloc((size_t)argc + 1, sizeof(*o.ref_dirs));
	if (o.ref_dirs == NULL)
		return fe_oom();
	optind = 0;
	while (r < 0 && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			r = help(lint_usage, lint_long);
			break;
		case OPT_REF_DIR:
			o.ref_dirs[o.nref++] = optarg;
			break;
		case OPT_REPORT:
			if (strcmp(optarg, "json") == 0)
				json = 1;
			else if (strcmp(optarg, "human") != 0)
				r = usage_error(lint_usage,
						"--report: '%s' is neither "
						"human nor json",
						optarg);
			break;
		case OPT_SCHEMAS:
			o.schemas = optarg;
			break;
		default:
			r = usage_error(lint_usage, NULL);
			break;
		}
	}
	if (r >= 0 || (r = after_options(&o)) >= 0)
		goto out;
	if (optind < argc) {
		r = usage_error(lint_usage, "unexpected operand '%s'",
				argv[optind]);
		goto out;
	}
	if ((r = ev_schemadir_lint(&l, o.schemas, &o.so, &err)) != 0) {
		r = fe_report(&err);
		goto out;
	}
	if (ev_schemadir_lint_write(l, json, &out) != 0) {
		r = fe_oom();
		goto out;
	}
	if ((r = put_out(&out)) == 0 && ev_schemadir_lint_count(l) > 0)
		r = EV_EXIT_DATA;
out:
	ev_buf_free(&out);
	ev_schemadir_lint_free(l);
	free(o.ref_dirs);
	return r;
}

/* ------------------------------------------------------------ dispatch */

static const struct fe_command schema_commands[] = {
	{"check", cmd_schema_check},
	{"compat", evctl_schema_compat},
	{"infer", evctl_schema_infer},
	{"lint", cmd_schema_lint},
};

int cmd_schema(int argc, char **argv)
{
	static const struct option opts[] = {
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	size_t i;
	int c;

	/* "+": the options after the command are the command's */
	optind = 0;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		if (c == 'h')
			return help(schema_usage, schema_long);
		return usage_error(schema_usage, NULL);
	}
	if (optind >= argc)
		return usage_error(schema_usage, "schema: missing command");
	for (i = 0; i < sizeof(schema_commands) / sizeof(schema_commands[0]);
	     i++) {
		if (strcmp(argv[optind], schema_commands[i].name) == 0) {
			argc -= optind;
			argv += optind;
			/* getopt names argv[0] in its messages */
			argv[0] = (char *)fe_progname;
			optind = 0;
			return schema_commands[i].fn(argc, argv);
		}
	}
	return usage_error(schema_usage, "schema: unknown command '%s'",
			   argv[optind]);
}
