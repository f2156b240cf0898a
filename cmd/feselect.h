/*
 * feselect.h - the front end of the tools that read a log through the
 * consumer (evtail, evreplay): the options that select events, the
 * --exec option group, and opening the log, its dead-letter log and its
 * group in the right order.  One parser for every such tool, so that
 * --from or --where mean the same everywhere.  Not installed.
 *
 * A tool lists the options it takes in its own sorted getopt_long table,
 * with the FE_OPT_* codes below (and 'n' for -n), and hands each option
 * it does not handle itself to fe_select_option() and fe_exec_option().
 */
#ifndef EVLOG_FESELECT_H
#define EVLOG_FESELECT_H

#include "evlog.h"

/* Option codes, above those of the tools (which start at 256). */
enum {
	FE_OPT_BACKOFF = 0x1000,
	FE_OPT_BACKOFF_MAX,
	FE_OPT_BATCH,
	FE_OPT_CATEGORY,
	FE_OPT_COUNT,
	FE_OPT_DLQ,
	FE_OPT_DLQ_POLICY,
	FE_OPT_FROM,
	FE_OPT_FROM_VERSION,
	FE_OPT_GRACE,
	FE_OPT_ON_ERROR,
	FE_OPT_ON_FAILURE,
	FE_OPT_PARALLEL,
	FE_OPT_RETRIES,
	FE_OPT_SINCE,
	FE_OPT_STREAM,
	FE_OPT_STREAM_EXACT,
	FE_OPT_TIMEOUT,
	FE_OPT_TO,
	FE_OPT_TYPE,
	FE_OPT_UNTIL,
	FE_OPT_UPCAST,
	FE_OPT_WHERE,
};

/* What the selection options ask for. */
struct fe_select {
	const char *usage; /* the tool's short usage, for usage errors */
	struct ev_filter *flt;
	struct ev_scan_opts scan;
	int nstreams, ncategories;
	const char *exact; /* the one --stream, when literal */
	/* the --type and --stream globs, to say which match nothing */
	const char **types, **streams;
	size_t ntypes, nglobs;
	/* --upcast and --on-error */
	const char *upcast_path;
	int on_error_given;
	enum ev_upcast_policy on_error;
	struct ev_upcaster *up;
	struct ev_upcast_dlq *up_dlq;
	const char *up_dlq_name;
	uint64_t up_warned; /* --on-error skip: warnings printed */
};

/* 0, or an exit status (out of memory). */
int fe_select_init(struct fe_select *s, const char *usage);
void fe_select_free(struct fe_select *s);
/* A selection option (--category, --count, --from, --from-version, -n,
 * --on-error, --since, --stream, --stream-exact, --to, --type, --until,
 * --upcast, --where):
 * 0, an exit status, or -1 when c is none of them. */
int fe_select_option(struct fe_select *s, int c, const char *arg);
/* -n with --from: -1 to go on, or an exit status. */
int fe_select_check_last(struct fe_select *s);
/* After the tool's own checks: the one exact stream, and what
 * --from-version needs.  -1 to go on, or an exit status. */
int fe_select_finish(struct fe_select *s);
/* A glob that matches nothing says so on stderr, with the names it may
 * mean (best effort). */
void fe_select_explain(struct fe_select *s, struct ev_log *log,
		       const char *logname);
/* Fill the scan options the selection decides (name, filter, stream,
 * notices); the caller sets the rest. */
void fe_select_scan(struct fe_select *s, const char *logname);

/* Upcasting (evlog-upcast(5)).  fe_upcast_check(): --on-error needs
 * --upcast, and its dlq a --dlq (which it then allows without --exec).
 * -1 to go on, or an exit status. */
struct fe_exec;
int fe_upcast_check(struct fe_select *s, struct fe_exec *x);
/* Load and check the --upcast set, before anything is read, and set it
 * on the scan options: 0, or an exit status after the message. */
int fe_upcast_load(struct fe_select *s);
/* --on-error dlq: dead letters go to dlq (opened), naming the log read
 * and group (or NULL).  0, or an exit status. */
int fe_upcast_dlq(struct fe_select *s, struct ev_log *dlq, const char *logname,
		  const char *log_id, const char *group);
/* After the scan: say how many events could not be upcast, and close
 * the dead letters.  rc is the exit status so far; the new one. */
int fe_upcast_end(struct fe_select *s, struct ev_scan *scan, int rc);

/* The --exec option group: what it asks for goes in *con. */
struct fe_exec {
	const char *usage;
	struct ev_consumer_opts *con;
	const char *dlq;
	int exec_only;	/* options that need --exec, but --dlq */
	int upcast_dlq; /* --on-error dlq: --dlq without --exec */
	int on_failure_given, dlq_policy_given;
	enum ev_on_failure on_failure;
};

void fe_exec_init(struct fe_exec *x, const char *usage,
		  struct ev_consumer_opts *con);
/* --backoff, --backoff-max, --batch, --dlq, --dlq-policy, --grace,
 * --on-failure, --parallel, --retries, --timeout: 0, an exit status, or
 * -1 when c is none of them. */
int fe_exec_option(struct fe_exec *x, int c, const char *arg);
/* Without --exec, none of them may be given (but --dlq for --on-error
 * dlq); with it, --on-failure, --dlq and --dlq-policy must agree.  -1 to
 * go on, or an exit status. */
int fe_exec_check(struct fe_exec *x);

/* The input of a consumer, opened in an order that leaves nothing
 * behind when something is wrong. */
struct fe_input {
	const char *path;      /* LOG, or a segment file */
	const char *group;     /* or NULL */
	const char *state_dir; /* or NULL */
	int wait;
	int salvage;	 /* read a damaged file for what it holds */
	const char *dlq; /* with --exec or --on-error dlq, or NULL */
	int follow;	 /* -f: refused for an archive, which cannot grow */
	struct ev_log *log;
	struct ev_reader *rd;
	struct ev_log *dlqlog;
	struct ev_group *grp;
};
/* The log (or one segment file), the dead-letter log and the group, in
 * that order: whatever is wrong with the others stops us before the
 * group is taken (a new one leaves nothing behind then).  0, or an
 * exit status after the message. */
int fe_input_open(struct fe_input *in, const char *usage);
void fe_input_close(struct fe_input *in);

/* An ev_notice_fn: "prog: message" on stderr. */
void fe_notice(void *ctx, const char *msg);

#endif
