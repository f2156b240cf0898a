/*
 * feselect.c - the selection options, the --exec option group and the
 * opening of a consumer's input, shared by evtail and evreplay; see
 * feselect.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fe.h"
#include "feselect.h"

void fe_notice(void *ctx, const char *msg)
{
	(void)ctx;
	fe_warn("%s", msg);
}

/* ------------------------------------------------------------ selection */

int fe_select_init(struct fe_select *s, const char *usage)
{
	memset(s, 0, sizeof(*s));
	s->usage = usage;
	if ((s->flt = ev_filter_new()) == NULL)
		return fe_oom();
	return 0;
}

void fe_select_free(struct fe_select *s)
{
	ev_upcast_dlq_close(s->up_dlq, NULL);
	ev_upcaster_free(s->up);
	s->up_dlq = NULL;
	s->up = NULL;
	ev_filter_free(s->flt);
	free(s->types);
	free(s->streams);
	s->flt = NULL;
	s->types = s->streams = NULL;
}

/* Keep glob as v[n]: 0, or -1 out of memory. */
static int add_glob(const char ***v, size_t n, const char *glob)
{
	const char **nv = realloc(*v, (n + 1) * sizeof(*nv));

	if (nv == NULL)
		return -1;
	nv[n] = glob;
	*v = nv;
	return 0;
}

int fe_select_option(struct fe_select *s, int c, const char *arg)
{
	struct ev_scan_opts *so = &s->scan;
	const char *usage = s->usage;
	struct ev_error err;
	ev_time_t t;
	int r;

	switch (c) {
	case FE_OPT_CATEGORY:
		if (ev_filter_add_category(s->flt, arg, &err) != 0)
			return err.code == EV_EUSAGE
				       ? fe_usage_error(usage, "--category: %s",
							err.msg)
				       : fe_oom();
		s->ncategories++;
		return 0;
	case FE_OPT_COUNT:
		if (fe_parse_u64(arg, &so->max) != 0)
			return fe_usage_error(usage,
					      "--count: '%s' is not a number",
					      arg);
		so->has_max = 1;
		return 0;
	case FE_OPT_FROM:
		r = ev_pos_parse(arg, 0, ev_now(), &so->from);
		if (r == EV_EDATA)
			return fe_time_range_error(usage, "--from", arg);
		if (r != 0)
			return fe_usage_error(
				usage,
				"--from: '%s' is not an offset, start, "
				"end or @TIME",
				arg);
		return 0;
	case FE_OPT_FROM_VERSION:
		if (fe_parse_u64(arg, &so->from_version) != 0 ||
		    so->from_version == 0)
			return fe_usage_error(usage,
					      "--from-version: '%s' is not a "
					      "version (1, 2, ...)",
					      arg);
		return 0;
	case 'n':
		if (fe_parse_u64(arg, &so->last) != 0)
			return fe_usage_error(usage, "-n: '%s' is not a number",
					      arg);
		so->last_set = 1;
		return 0;
	case FE_OPT_ON_ERROR:
		if (strcmp(arg, "stop") == 0)
			s->on_error = EV_UPCAST_STOP;
		else if (strcmp(arg, "skip") == 0)
			s->on_error = EV_UPCAST_SKIP;
		else if (strcmp(arg, "dlq") == 0)
			s->on_error = EV_UPCAST_DLQ;
		else
			return fe_usage_error(usage,
					      "--on-error: '%s' is not stop, "
					      "skip or dlq",
					      arg);
		s->on_error_given = 1;
		return 0;
	case FE_OPT_SINCE:
	case FE_OPT_UNTIL:
		r = ev_time_parse_user(arg, ev_now(), &t);
		if (r == EV_EDATA)
			return fe_time_range_error(usage,
						   c == FE_OPT_SINCE
							   ? "--since"
							   : "--until",
						   arg);
		if (r != 0)
			return fe_usage_error(
				usage,
				"--%s: '%s' is not a time (RFC 3339, "
				"a date, or -1h)",
				c == FE_OPT_SINCE ? "since" : "until", arg);
		if (c == FE_OPT_SINCE)
			ev_filter_set_time(s->flt, t, ev_filter_until(s->flt));
		else
			ev_filter_set_time(s->flt, ev_filter_since(s->flt), t);
		return 0;
	case FE_OPT_STREAM:
		if (ev_filter_add_stream(s->flt, arg) != 0 ||
		    add_glob(&s->streams, s->nglobs, arg) != 0)
			return fe_oom();
		s->nstreams++;
		s->nglobs++;
		s->exact = strpbrk(arg, "*?[") == NULL ? arg : NULL;
		return 0;
	case FE_OPT_STREAM_EXACT:
		if (arg[0] == '\0')
			return fe_usage_error(usage,
					      "--stream-exact: a stream name "
					      "cannot be empty");
		if (ev_filter_add_stream_exact(s->flt, arg) != 0)
			return fe_oom();
		s->nstreams++;
		s->exact = arg;
		return 0;
	case FE_OPT_TO:
		r = ev_pos_parse(arg, EV_POS_NO_ENDS, ev_now(), &so->to);
		if (r == EV_EDATA)
			return fe_time_range_error(usage, "--to", arg);
		if (r != 0)
			return fe_usage_error(
				usage, "--to: '%s' is not an offset or @TIME",
				arg);
		return 0;
	case FE_OPT_TYPE:
		if (ev_filter_add_type(s->flt, arg) != 0 ||
		    add_glob(&s->types, s->ntypes, arg) != 0)
			return fe_oom();
		s->ntypes++;
		return 0;
	case FE_OPT_UPCAST:
		s->upcast_path = arg;
		return 0;
	case FE_OPT_WHERE:
		if (ev_filter_add_where(s->flt, arg, &err) != 0)
			return err.code == EV_EUSAGE
				       ? fe_usage_error(usage, "--where: %s",
							err.msg)
				       : fe_oom();
		return 0;
	}
	return -1;
}

int fe_select_check_last(struct fe_select *s)
{
	if (s->scan.last_set && s->scan.from.kind != EV_POS_NONE)
		return fe_usage_error(s->usage,
				      "-n and --from cannot be combined");
	return -1;
}

int fe_select_finish(struct fe_select *s)
{
	struct ev_scan_opts *so = &s->scan;

	if (s->nstreams != 1 || s->ncategories > 0)
		s->exact = NULL;
	if (so->from_version == 0)
		return -1;
	if (s->nstreams != 1 || s->exact == NULL)
		return fe_usage_error(s->usage,
				      "--from-version needs one exact "
				      "--stream NAME or --stream-exact "
				      "NAME");
	if (so->from.kind != EV_POS_NONE || so->last_set)
		return fe_usage_error(s->usage,
				      "--from-version cannot be combined "
				      "with --from or -n");
	return -1;
}

void fe_select_explain(struct fe_select *s, struct ev_log *log,
		       const char *logname)
{
	struct ev_error err;

	/* upcasting may make types no stored event has, and a Lua step
	 * streams */
	if (log != NULL)
		(void)ev_explain_globs(log, logname, s->types,
				       s->up != NULL ? 0 : s->ntypes,
				       s->streams,
				       ev_upcaster_changes_envelope(s->up)
					       ? 0
					       : s->nglobs,
				       fe_notice, NULL, &err);
}

void fe_select_scan(struct fe_select *s, const char *logname)
{
	s->scan.name = logname;
	s->scan.filter = s->flt;
	s->scan.stream = s->exact;
	s->scan.notice = fe_notice;
}

/* ------------------------------------------------------------ upcasting */

/* --on-error skip warns of this many events, then only counts them */
#define UPCAST_WARN_MAX 10

int fe_upcast_check(struct fe_select *s, struct fe_exec *x)
{
	if (s->on_error_given && s->upcast_path == NULL)
		return fe_usage_error(s->usage, "--on-error needs --upcast");
	if (s->on_error == EV_UPCAST_DLQ) {
		if (x->dlq == NULL)
			return fe_usage_error(s->usage,
					      "--on-error=dlq needs --dlq "
					      "DLQLOG");
		x->upcast_dlq = 1;
	}
	return -1;
}

/* --on-error skip: an upcast_failed that warns of the first few. */
static int upcast_skipped(void *ctx, const struct ev_rec *rec,
			  const struct ev_error *why, struct ev_error *err)
{
	struct fe_select *s = ctx;

	(void)rec;
	(void)err;
	if (s->up_warned++ < UPCAST_WARN_MAX)
		fe_warn("warning: %s; skipped", why->msg);
	return 0;
}

int fe_upcast_load(struct fe_select *s)
{
	struct ev_error err;
	int r;

	if (s->upcast_path == NULL)
		return 0;
	if ((r = ev_upcaster_load(&s->up, s->upcast_path, &err)) != 0)
		return fe_reportf(&err, "--upcast");
	s->scan.upcaster = s->up;
	s->scan.on_upcast_error = s->on_error;
	if (s->on_error == EV_UPCAST_SKIP) {
		/* the scan skips them; this warns of them as it does */
		s->scan.on_upcast_error = EV_UPCAST_DLQ;
		s->scan.upcast_failed = upcast_skipped;
		s->scan.upcast_ctx = s;
	}
	return 0;
}

int fe_upcast_dlq(struct fe_select *s, struct ev_log *dlq, const char *logname,
		  const char *log_id, const char *group)
{
	struct ev_error err;

	if (s->up == NULL || s->on_error != EV_UPCAST_DLQ)
		return 0;
	if (ev_upcast_dlq_open(&s->up_dlq, dlq, logname, log_id, group, &err) !=
	    0)
		return fe_reportf(&err, "--dlq");
	s->up_dlq_name = ev_log_path(dlq);
	s->scan.upcast_failed = ev_upcast_dlq_letter;
	s->scan.upcast_ctx = s->up_dlq;
	return 0;
}

int fe_upcast_end(struct fe_select *s, struct ev_scan *scan, int rc)
{
	struct ev_error err;
	uint64_t n = scan != NULL ? ev_scan_upcast_failures(scan) : 0;
	char b[32];
	int r;

	if (n > 0 && s->on_error == EV_UPCAST_SKIP)
		fe_warn("%s event%s could not be upcast and %s skipped",
			ev_commas(n, b), n == 1 ? "" : "s",
			n == 1 ? "was" : "were");
	if (s->up_dlq != NULL && ev_upcast_dlq_count(s->up_dlq) > 0) {
		n = ev_upcast_dlq_count(s->up_dlq);
		fe_warn("%s event%s could not be upcast and %s dead-lettered "
			"to '%s'",
			ev_commas(n, b), n == 1 ? "" : "s",
			n == 1 ? "was" : "were", s->up_dlq_name);
	}
	r = ev_upcast_dlq_close(s->up_dlq, &err);
	s->up_dlq = NULL;
	if (r != 0) {
		r = fe_reportf(&err, "--dlq");
		if (rc == 0)
			rc = r;
	}
	return rc;
}

/* ------------------------------------------------------------ --exec */

void fe_exec_init(struct fe_exec *x, const char *usage,
		  struct ev_consumer_opts *con)
{
	memset(x, 0, sizeof(*x));
	x->usage = usage;
	x->con = con;
}

static int bad_duration(const char *usage, const char *opt, const char *arg)
{
	return fe_usage_error(usage,
			      "--%s: '%s' is not a duration such as 500ms, 2s "
			      "or 1m",
			      opt, arg);
}

/* The options that need --exec: 0, or an exit status. */
static int exec_only_option(struct fe_exec *x, int c, const char *arg)
{
	struct ev_consumer_opts *co = x->con;
	const char *usage = x->usage;
	uint64_t v;

	switch (c) {
	case FE_OPT_BACKOFF:
		return ev_duration_parse(arg, &co->backoff_ms)
			       ? bad_duration(usage, "backoff", arg)
			       : 0;
	case FE_OPT_BACKOFF_MAX:
		return ev_duration_parse(arg, &co->backoff_max_ms)
			       ? bad_duration(usage, "backoff-max", arg)
			       : 0;
	case FE_OPT_GRACE:
		return ev_duration_parse(arg, &co->grace_ms)
			       ? bad_duration(usage, "grace", arg)
			       : 0;
	case FE_OPT_TIMEOUT:
		return ev_duration_parse(arg, &co->timeout_ms)
			       ? bad_duration(usage, "timeout", arg)
			       : 0;
	case FE_OPT_BATCH:
	case FE_OPT_PARALLEL:
	case FE_OPT_RETRIES: {
		const char *nm = c == FE_OPT_BATCH	? "batch"
				 : c == FE_OPT_PARALLEL ? "parallel"
							: "retries";
		unsigned lo = c == FE_OPT_RETRIES ? 0 : 1;
		unsigned hi = c == FE_OPT_PARALLEL ? EV_MAX_PARALLEL : 1000;
		if (fe_parse_u64(arg, &v) != 0 || v < lo || v > hi)
			return fe_usage_error(usage,
					      "--%s: '%s' is not a number from "
					      "%u to %u",
					      nm, arg, lo, hi);
		if (c == FE_OPT_BATCH)
			co->batch = (unsigned)v;
		else if (c == FE_OPT_PARALLEL)
			co->parallel = (unsigned)v;
		else
			co->retries = (unsigned)v;
		return 0;
	}
	case FE_OPT_DLQ:
		x->dlq = arg; /* --on-failure=dlq, with --exec */
		return 0;
	case FE_OPT_DLQ_POLICY:
		if (strcmp(arg, "event") != 0 && strcmp(arg, "stream") != 0)
			return fe_usage_error(usage,
					      "--dlq-policy: '%s' is not event "
					      "or stream",
					      arg);
		co->park_streams = strcmp(arg, "stream") == 0;
		x->dlq_policy_given = 1;
		return 0;
	}
	return 0;
}

int fe_exec_option(struct fe_exec *x, int c, const char *arg)
{
	switch (c) {
	case FE_OPT_BACKOFF:
	case FE_OPT_BACKOFF_MAX:
	case FE_OPT_BATCH:
	case FE_OPT_DLQ:
	case FE_OPT_DLQ_POLICY:
	case FE_OPT_GRACE:
	case FE_OPT_PARALLEL:
	case FE_OPT_RETRIES:
	case FE_OPT_TIMEOUT:
		/* --dlq is --on-error dlq's too: fe_exec_check() judges it */
		if (c != FE_OPT_DLQ)
			x->exec_only = 1;
		return exec_only_option(x, c, arg);
	case FE_OPT_ON_FAILURE:
		if (strcmp(arg, "stop") == 0)
			x->on_failure = EV_FAIL_STOP;
		else if (strcmp(arg, "dlq") == 0)
			x->on_failure = EV_FAIL_DLQ;
		else if (strcmp(arg, "skip") == 0)
			x->on_failure = EV_FAIL_SKIP;
		else
			return fe_usage_error(x->usage,
					      "--on-failure: '%s' is not stop, "
					      "dlq or skip",
					      arg);
		x->on_failure_given = 1;
		return 0;
	}
	return -1;
}

int fe_exec_check(struct fe_exec *x)
{
	if (x->con->cmd == NULL) {
		if (x->exec_only || x->on_failure_given)
			return fe_usage_error(
				x->usage,
				"--retries, --backoff, --backoff-max, "
				"--timeout, --on-failure, --dlq-policy, "
				"--batch, --parallel and --grace need --exec");
		/* --dlq is --on-error dlq's too */
		if (x->dlq != NULL && !x->upcast_dlq)
			return fe_usage_error(
				x->usage, "--dlq needs --exec or --on-error "
					  "dlq");
		return -1;
	}
	if (x->on_failure_given) {
		if (x->on_failure == EV_FAIL_DLQ && x->dlq == NULL)
			return fe_usage_error(
				x->usage,
				"--on-failure=dlq needs --dlq DLQLOG");
		if (x->on_failure != EV_FAIL_DLQ && x->dlq != NULL)
			return fe_usage_error(x->usage,
					      "--dlq implies --on-failure=dlq");
		x->con->on_failure = x->on_failure;
	} else if (x->dlq != NULL) {
		x->con->on_failure = EV_FAIL_DLQ;
	}
	if (x->dlq_policy_given && x->dlq == NULL)
		return fe_usage_error(x->usage, "--dlq-policy needs --dlq");
	return -1;
}

/* ------------------------------------------------------------ input */

int fe_input_open(struct fe_input *in, const char *usage)
{
	struct ev_error err;
	struct stat st;
	int dlq_new = 0, found, r;

	found = stat(in->path, &st) == 0;
	if (found && S_ISREG(st.st_mode)) {
		/* what repair moved aside is damaged: read what it can give */
		if (in->salvage || ev_path_in_lost_found(in->path))
			r = ev_reader_open_salvage(&in->rd, in->path, &err);
		else if (ev_archive_probe(in->path))
			/* a log in a tar or zip file, read in place */
			r = ev_reader_open_archive(&in->rd, in->path, &err);
		else
			r = ev_reader_open_segment(&in->rd, in->path, &err);
		if (r == 0)
			ev_reader_set_notice(in->rd, fe_warning, NULL);
	} else if (in->salvage && found) {
		return fe_usage_error(usage,
				      "--salvage reads a file, not a log "
				      "directory");
	} else {
		r = ev_log_open(&in->log, in->path, &err);
		if (r == 0) {
			ev_log_set_notice(in->log, fe_warning, NULL);
			r = ev_reader_open(&in->rd, in->log, &err);
		}
	}
	if (r != 0)
		return fe_report(&err);
	if (in->follow && ev_reader_is_archive(in->rd))
		return fe_usage_error(usage,
				      "--follow: '%s' is an archive, which "
				      "does not grow; import it with 'evctl "
				      "import' to follow the log",
				      in->path);
	if (in->group == NULL) {
		/* no group to take first: --on-error dlq's log now */
		if (in->dlq != NULL &&
		    (r = ev_dlq_open(&in->dlqlog, in->dlq, in->log, &err)) != 0)
			return r == EV_EUSAGE ? fe_reportf(&err, "--dlq")
					      : fe_report(&err);
		return 0;
	}
	if (in->log == NULL)
		return fe_usage_error(usage,
				      "--group needs a log directory, not %s",
				      ev_reader_is_archive(in->rd)
					      ? "an archive"
					      : "a segment file");
	/* an existing --dlq is checked before the group is taken; a new one
	 * is made only once the group is ours, so that a group held by
	 * another consumer leaves nothing behind */
	if (in->dlq != NULL) {
		if (lstat(in->dlq, &st) != 0 && errno == ENOENT)
			dlq_new = 1;
		else if ((r = ev_dlq_open(&in->dlqlog, in->dlq, in->log,
					  &err)) != 0)
			return r == EV_EUSAGE ? fe_reportf(&err, "--dlq")
					      : fe_report(&err);
	}
	/* its lock for as long as we run */
	r = ev_group_open(&in->grp, in->log, in->group, in->state_dir, in->wait,
			  &err);
	if (r == EV_EAGAIN)
		snprintf(err.hint, sizeof(err.hint),
			 "use --wait to wait for it");
	if (r != 0)
		return fe_report(&err);
	/* the caller closes the group, which forgets a new one */
	if (dlq_new &&
	    (r = ev_dlq_open(&in->dlqlog, in->dlq, in->log, &err)) != 0)
		return r == EV_EUSAGE ? fe_reportf(&err, "--dlq")
				      : fe_report(&err);
	return 0;
}

void fe_input_close(struct fe_input *in)
{
	ev_group_close(in->grp);
	ev_log_close(in->dlqlog);
	ev_reader_free(in->rd);
	ev_log_close(in->log);
	in->grp = NULL;
	in->dlqlog = NULL;
	in->rd = NULL;
	in->log = NULL;
}
