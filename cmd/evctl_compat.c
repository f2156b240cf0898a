/*
 * evctl_compat.c - evctl schema compat: can readers and writers of two
 * versions of an event type's schema coexist (the Confluent Schema
 * Registry's BACKWARD, FORWARD and FULL, and their transitive forms), and
 * with --data, do the events already stored pass the new schema?  The
 * comparison is the library's (lib/schemacompat.c); see evctl(1) and
 * evlog-schemas(5) COMPATIBILITY.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evctl_schema.h"
#include "evlog.h"
#include "fe.h"

#ifdef EVCTL_SCHEMA_COMPAT_USAGE
static const char compat_usage[] = "Usage: " EVCTL_SCHEMA_COMPAT_USAGE;
#else
static const char compat_usage[] =
	"Usage: evctl schema compat [--mode MODE] [--report FORMAT]\n"
	"                           [--data LOG [--upcast DIR] [--type TYPE]]\n"
	"                           OLD.json NEW.json\n"
	"       evctl schema compat --transitive [--mode MODE] [--report "
	"FORMAT]\n"
	"                           DIR/TYPE/\n";
#endif

static const char compat_long[] =
	"Can readers and writers of two versions of a schema coexist?\n"
	"backward: readers using NEW read every event OLD allows; forward:\n"
	"readers using OLD read every event NEW allows; full: both.  Each\n"
	"incompatibility is listed with its path in the schema and the rule it\n"
	"breaks (evlog-schemas(5) COMPATIBILITY).\n"
	"\n"
	"  --data LOG          also validate the data of every event of the type\n"
	"                      stored in LOG against NEW.json\n"
	"  --examples N        failing events shown with --data (default 5)\n"
	"  --mode MODE         backward (the default), forward or full\n"
	"  --report FORMAT     human (the default) or json\n"
	"  --transitive        every version N.json of DIR/TYPE/ against each\n"
	"                      earlier one\n"
	"  --type TYPE         with --data: the events' type (default: the\n"
	"                      name of NEW.json's directory, percent-decoded)\n"
	"  --upcast DIR        with --data: upcast the events first\n"
	"                      (evlog-upcast(5))\n"
	"  -h, --help          show this help and exit\n"
	"\n"
	"Exit status: 0 compatible, 64 usage or a bad schema, 65 incompatible\n"
	"or an event fails, 66 missing schema, directory, log or upcasters,\n"
	"74 I/O error.\n"
	"See evctl(1).\n";

enum {
	OPT_DATA = 256,
	OPT_EXAMPLES,
	OPT_MODE,
	OPT_REPORT,
	OPT_TRANSITIVE,
	OPT_TYPE,
	OPT_UPCAST,
};

struct copts {
	enum ev_compat_mode mode;
	int json, transitive;
	const char *data, *upcast, *type;
	uint64_t examples;
};

static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
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
	fputs(compat_usage, stderr);
	fputs("Try 'evctl schema compat --help' for more information.\n",
	      stderr);
	return EV_EXIT_USAGE;
}

/* a schema that cannot be read: 66 when missing, 64 when bad */
static int schema_error(const struct ev_error *err)
{
	fe_warn("%s", err->msg);
	if (err->code == EV_ENOENT)
		return EV_EXIT_NOINPUT;
	if (err->code == EV_EDATA)
		return EV_EXIT_USAGE;
	return err->code == EV_EIO ? EV_EXIT_IO : EV_EXIT_FAILURE;
}

static int put_out(struct ev_buf *out)
{
	if ((out->len > 0 && fwrite(out->p, 1, out->len, stdout) != out->len) ||
	    fflush(stdout) != 0) {
		fe_warn("cannot write the report: %s", strerror(errno));
		return EV_EXIT_IO;
	}
	return 0;
}

/* ---------------------------------------------------------- --data */

struct data_run {
	struct ev_compat_data d;
	char *type;
	int done;
};

/* Validate the events of the type in o->data against new_path: 0, or an
 * exit status. */
static int run_data(const struct copts *o, const char *new_path,
		    const struct ev_buf *new_mp, struct data_run *dr)
{
	struct ev_jschema_opts jo;
	struct ev_jschema_set *set = NULL;
	struct ev_jschema *sc = NULL;
	struct ev_upcaster *up = NULL;
	struct ev_log *log = NULL;
	struct ev_error err;
	char *abs = NULL, *root = NULL, *slash;
	int rc = 0, binary_ok;

	if (o->type != NULL) {
		dr->type = strdup(o->type);
		if (dr->type == NULL)
			return fe_oom();
	} else if (ev_compat_type_of(new_path, &dr->type, &err) != 0) {
		if (err.code == EV_EDATA)
			return usage_error("%s; give the events' type with "
					   "--type TYPE",
					   err.msg);
		return schema_error(&err);
	}
	/* refs may load files of the registry: NEW.json's grandparent */
	abs = realpath(new_path, NULL);
	if (abs != NULL && (slash = strrchr(abs, '/')) != NULL) {
		*slash = '\0';
		if ((slash = strrchr(abs, '/')) != NULL && slash != abs) {
			*slash = '\0';
			root = abs;
		}
	}
	memset(&jo, 0, sizeof(jo));
	jo.local_root = root;
	if (ev_jschema_set_new(&set, &jo, &err) != 0 ||
	    ev_jschema_add_mp(set, new_mp->p, new_mp->len, new_path, NULL, &sc,
			      &err) != 0 ||
	    ev_jschema_set_compile(set, &err) != 0) {
		rc = err.code == EV_ERR ? fe_report(&err) : schema_error(&err);
		goto out;
	}
	if (o->upcast != NULL &&
	    (rc = ev_upcaster_load(&up, o->upcast, &err)) != 0) {
		rc = fe_report(&err);
		goto out;
	}
	if (ev_log_open(&log, o->data, &err) != 0) {
		rc = fe_report(&err);
		goto out;
	}
	ev_log_set_notice(log, fe_warning, NULL);
	binary_ok = new_mp->len == 1 &&
		    (new_mp->p[0] == 0xc3 || new_mp->p[0] == 0x80);
	if (ev_compat_data_check(log, up, dr->type, sc, binary_ok,
				 (size_t)o->examples, &dr->d, &err) != 0) {
		rc = fe_reportf(&err, "'%s'", o->data);
		goto out;
	}
	dr->done = 1;
out:
	ev_log_close(log);
	ev_upcaster_free(up);
	ev_jschema_set_free(set);
	free(abs);
	return rc;
}

static int data_report(struct ev_buf *b, const struct copts *o,
		       const char *new_path, const struct data_run *dr)
{
	const struct ev_compat_data *d = &dr->d;
	char n1[32], n2[32];
	size_t i;
	int rc = 0;

	if (o->json) {
		rc |= ev_buf_puts(b, ",\"data\":{\"log\":");
		rc |= ev_json_string(b, o->data, strlen(o->data));
		rc |= ev_buf_puts(b, ",\"type\":");
		rc |= ev_json_string(b, dr->type, strlen(dr->type));
		rc |= ev_buf_puts(b, ",\"schema\":");
		rc |= ev_json_string(b, new_path, strlen(new_path));
		rc |= ev_buf_printf(b,
				    ",\"events\":%llu,\"failed\":%llu,"
				    "\"upcast_failed\":%llu,\"examples\":[",
				    (unsigned long long)d->events,
				    (unsigned long long)d->failed,
				    (unsigned long long)d->upcast_failed);
		for (i = 0; i < d->nexamples; i++) {
			const struct ev_compat_example *e = &d->examples[i];

			rc |= ev_buf_printf(b, "%s{\"offset\":%llu,",
					    i ? "," : "",
					    (unsigned long long)e->offset);
			rc |= ev_buf_puts(b, "\"instance_path\":");
			rc |= ev_json_string(b, e->instance_path,
					     strlen(e->instance_path));
			rc |= ev_buf_puts(b, ",\"message\":");
			rc |= ev_json_string(b, e->message, strlen(e->message));
			rc |= ev_buf_putc(b, '}');
		}
		rc |= ev_buf_puts(b, "]}");
		return rc ? EV_ERR : 0;
	}
	for (i = 0; i < d->nexamples; i++) {
		const struct ev_compat_example *e = &d->examples[i];

		rc |= ev_buf_printf(b, "offset %llu: %s%s%s\n",
				    (unsigned long long)e->offset,
				    e->instance_path,
				    e->instance_path[0] ? ": " : "",
				    e->message);
	}
	if (d->failed > d->nexamples)
		rc |= ev_buf_printf(b, "... and %s more\n",
				    ev_commas(d->failed - d->nexamples, n1));
	if (d->events == 0)
		return ev_buf_printf(b, "data: no events of type '%s' in %s\n",
				     dr->type, o->data) != 0 ||
				       rc
			       ? EV_ERR
			       : 0;
	rc |= ev_buf_printf(b, "data: %s %s of type '%s' in %s",
			    ev_commas(d->events, n1),
			    d->events == 1 ? "event" : "events", dr->type,
			    o->data);
	if (d->failed == 0)
		rc |= ev_buf_printf(b, ": all valid under %s\n", new_path);
	else
		rc |= ev_buf_printf(b, ": %s %s %s%s%s%s\n",
				    ev_commas(d->failed, n2),
				    d->failed == 1 ? "fails" : "fail", new_path,
				    d->upcast_failed ? " (" : "",
				    d->upcast_failed
					    ? ev_commas(d->upcast_failed, n1)
					    : "",
				    d->upcast_failed ? " could not be upcast)"
						     : "");
	return rc ? EV_ERR : 0;
}

/* ---------------------------------------------------------- one pair */

static int compare(const struct copts *o, const char *old_path,
		   const char *new_path, struct ev_buf *out, size_t *failures)
{
	struct ev_buf a = {0}, b = {0};
	struct ev_compat *c = NULL;
	struct ev_error err;
	int rc = 0;

	if (ev_compat_load(old_path, &a, &err) != 0 ||
	    ev_compat_load(new_path, &b, &err) != 0) {
		rc = schema_error(&err);
		goto out;
	}
	if (ev_compat_check(&c, a.p, a.len, b.p, b.len, o->mode, old_path,
			    new_path, &err) != 0) {
		rc = schema_error(&err);
		goto out;
	}
	if (ev_compat_report(out, c, old_path, new_path, o->mode, o->json) !=
	    0) {
		rc = fe_oom();
		goto out;
	}
	*failures += ev_compat_failures(c);
out:
	ev_compat_free(c);
	ev_buf_free(&a);
	ev_buf_free(&b);
	return rc;
}

static int one_pair(const struct copts *o, const char *old_path,
		    const char *new_path)
{
	struct ev_buf out = {0}, nb = {0};
	struct data_run dr;
	struct ev_error err;
	size_t failures = 0;
	int rc;

	memset(&dr, 0, sizeof(dr));
	if ((rc = compare(o, old_path, new_path, &out, &failures)) != 0)
		goto out;
	if (o->data != NULL) {
		if (ev_compat_load(new_path, &nb, &err) != 0) {
			rc = schema_error(&err);
			goto out;
		}
		if ((rc = run_data(o, new_path, &nb, &dr)) != 0)
			goto out;
		if (o->json)
			out.len--; /* the closing brace */
		if (data_report(&out, o, new_path, &dr) != 0 ||
		    (o->json && ev_buf_putc(&out, '}') != 0)) {
			rc = fe_oom();
			goto out;
		}
	}
	if (o->json && ev_buf_putc(&out, '\n') != 0) {
		rc = fe_oom();
		goto out;
	}
	rc = put_out(&out);
	if (rc == 0 && (failures > 0 || dr.d.failed > 0))
		rc = EV_EXIT_DATA;
out:
	ev_compat_data_free(&dr.d);
	free(dr.type);
	ev_buf_free(&out);
	ev_buf_free(&nb);
	return rc;
}

/* ---------------------------------------------------------- transitive */

static int transitive(const struct copts *o, const char *dir)
{
	struct ev_buf out = {0}, nb = {0};
	struct data_run dr;
	struct ev_error err;
	uint64_t *v = NULL;
	size_t n = 0, i, j, failures = 0, bad_pairs = 0;
	char *dn = strdup(dir), *oldp = NULL, *newp = NULL;
	int rc = 0;

	memset(&dr, 0, sizeof(dr));
	if (dn == NULL)
		return fe_oom();
	while (strlen(dn) > 1 && dn[strlen(dn) - 1] == '/')
		dn[strlen(dn) - 1] = '\0';
	if (ev_compat_versions(dn, &v, &n, &err) != 0) {
		rc = schema_error(&err);
		goto out;
	}
	if (o->json)
		rc |= ev_buf_puts(&out, "{\"dir\":") |
		      ev_json_string(&out, dn, strlen(dn)) |
		      ev_buf_printf(&out,
				    ",\"mode\":\"%s\",\"transitive\":true,"
				    "\"checks\":[",
				    ev_compat_mode_name(o->mode));
	for (j = 1; j < n && rc == 0; j++) {
		for (i = 0; i < j && rc == 0; i++) {
			size_t before = failures;

			free(oldp);
			free(newp);
			oldp = newp = NULL;
			if (asprintf(&oldp, "%s/%llu.json", dn,
				     (unsigned long long)v[i]) < 0 ||
			    asprintf(&newp, "%s/%llu.json", dn,
				     (unsigned long long)v[j]) < 0) {
				oldp = newp = NULL;
				rc = fe_oom();
				break;
			}
			if (o->json && (i > 0 || j > 1))
				ev_buf_putc(&out, ',');
			rc = compare(o, oldp, newp, &out, &failures);
			if (!o->json && rc == 0)
				ev_buf_putc(&out, '\n');
			bad_pairs += failures > before;
		}
	}
	if (rc != 0)
		goto out;
	if (o->json)
		rc |= ev_buf_printf(&out, "],\"compatible\":%s",
				    failures ? "false" : "true");
	else if (n == 1)
		rc |= ev_buf_printf(&out,
				    "compatible (%s, transitive): %s: one "
				    "version\n",
				    ev_compat_mode_name(o->mode), dn);
	else if (failures == 0)
		rc |= ev_buf_printf(&out,
				    "compatible (%s, transitive): %s: %zu "
				    "versions\n",
				    ev_compat_mode_name(o->mode), dn, n);
	else
		rc |= ev_buf_printf(&out,
				    "incompatible (%s, transitive): %s: %zu of "
				    "%zu pairs\n",
				    ev_compat_mode_name(o->mode), dn, bad_pairs,
				    n * (n - 1) / 2);
	if (rc != 0) {
		rc = fe_oom();
		goto out;
	}
	if (o->data != NULL) {
		/* the events against the newest version */
		free(newp);
		if (asprintf(&newp, "%s/%llu.json", dn,
			     (unsigned long long)v[n - 1]) < 0) {
			newp = NULL;
			rc = fe_oom();
			goto out;
		}
		if (ev_compat_load(newp, &nb, &err) != 0) {
			rc = schema_error(&err);
			goto out;
		}
		if ((rc = run_data(o, newp, &nb, &dr)) != 0)
			goto out;
		if (data_report(&out, o, newp, &dr) != 0) {
			rc = fe_oom();
			goto out;
		}
	}
	if (o->json && ev_buf_puts(&out, "}\n") != 0) {
		rc = fe_oom();
		goto out;
	}
	rc = put_out(&out);
	if (rc == 0 && (failures > 0 || dr.d.failed > 0))
		rc = EV_EXIT_DATA;
out:
	ev_compat_data_free(&dr.d);
	free(dr.type);
	free(oldp);
	free(newp);
	free(v);
	free(dn);
	ev_buf_free(&out);
	ev_buf_free(&nb);
	return rc;
}

int evctl_schema_compat(int argc, char **argv)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, OPT_DATA},
		{"examples", required_argument, NULL, OPT_EXAMPLES},
		{"help", no_argument, NULL, 'h'},
		{"mode", required_argument, NULL, OPT_MODE},
		{"report", required_argument, NULL, OPT_REPORT},
		{"transitive", no_argument, NULL, OPT_TRANSITIVE},
		{"type", required_argument, NULL, OPT_TYPE},
		{"upcast", required_argument, NULL, OPT_UPCAST},
		{NULL, 0, NULL, 0},
	};
	struct copts o;
	int c, examples_given = 0;

	memset(&o, 0, sizeof(o));
	o.mode = EV_COMPAT_BACKWARD;
	o.examples = 5;
	/* getopt names argv[0] in its messages */
	argv[0] = (char *)fe_progname;
	optind = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case OPT_DATA:
			o.data = optarg;
			break;
		case OPT_EXAMPLES:
			if (fe_parse_u64(optarg, &o.examples) != 0 ||
			    o.examples < 1 || o.examples > 1000)
				return usage_error("--examples: '%s' is not a "
						   "number from 1 to 1000",
						   optarg);
			examples_given = 1;
			break;
		case 'h':
			fe_help(compat_usage, compat_long);
			return fflush(stdout) == 0 ? EV_EXIT_OK : EV_EXIT_IO;
		case OPT_MODE:
			if (ev_compat_mode_parse(optarg, &o.mode) != 0)
				return usage_error("--mode: '%s' is not one of "
						   "backward, forward, full",
						   optarg);
			break;
		case OPT_REPORT:
			if (strcmp(optarg, "json") == 0)
				o.json = 1;
			else if (strcmp(optarg, "human") != 0)
				return usage_error("--report: '%s' is not one "
						   "of human, json",
						   optarg);
			break;
		case OPT_TRANSITIVE:
			o.transitive = 1;
			break;
		case OPT_TYPE:
			o.type = optarg;
			break;
		case OPT_UPCAST:
			o.upcast = optarg;
			break;
		default:
			return usage_error(NULL);
		}
	}
	if (o.data == NULL &&
	    (o.upcast != NULL || o.type != NULL || examples_given))
		return usage_error("%s needs --data LOG",
				   o.upcast != NULL ? "--upcast"
				   : o.type != NULL ? "--type"
						    : "--examples");
	if (o.transitive) {
		if (argc - optind != 1)
			return usage_error("--transitive takes one operand, a "
					   "DIR/TYPE/ directory");
		return transitive(&o, argv[optind]);
	}
	if (argc - optind != 2)
		return usage_error("expected two operands, OLD.json and "
				   "NEW.json");
	return one_pair(&o, argv[optind], argv[optind + 1]);
}
