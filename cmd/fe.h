/*
 * fe.h - front-end helpers shared by the evlog tools (not installed):
 * program name, diagnostics, and option-value parsing.  Logic that is
 * about logs or events belongs in lib/, not here.
 */
#ifndef EVLOG_FE_H
#define EVLOG_FE_H

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>

#include "evlog.h"

extern const char *fe_progname;

void fe_init(char **argv);
/* "prog: message" on stderr */
void fe_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print an ev_error, then its hint and its remedy (worded with the
 * tools' commands and options), and return its exit status. */
int fe_report(const struct ev_error *err);
/* The same with context first: "prog: CONTEXT: message", then the hints. */
int fe_reportf(const struct ev_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* An ev_notice_fn: "prog: warning: message" on stderr (ctx unused). */
void fe_warning(void *ctx, const char *msg);
/* "prog: out of memory"; returns EV_EXIT_FAILURE. */
int fe_oom(void);
/* Usage error: message, then "Try 'prog --help'", returns 64. */
int fe_usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Usage error for a time outside EV_TIME_RANGE given to opt; 64. */
int fe_time_range_error(const char *usage, const char *opt, const char *arg);
/* unsigned integer with optional k/K, m/M, g/G (binary) suffix */
int fe_parse_size(const char *s, uint64_t *out);
int fe_parse_u64(const char *s, uint64_t *out);
/* -h output on stdout */
void fe_help(const char *usage_short, const char *usage_long);
/* "batch" or "none": 0, or -1 */
int fe_parse_sync(const char *s, enum ev_sync *out);
/* Call handler on SIGINT and SIGTERM; ignore SIGPIPE. */
void fe_on_stop(void (*handler)(int));
/* -V output: program, evlog and library versions */
void fe_version(void);
/* Should colour be used on this stream for --color=auto|always|never? */
int fe_color(const char *mode, FILE *f);

/* A tool made of subcommands (evctl, evdlq). */
struct fe_command {
	const char *name;
	int (*fn)(int argc, char **argv);
};
/* main() of such a tool: -h, -V, then COMMAND [ARGS] run as
 * fn(argc, argv) with argv[0] the program name and getopt reset. */
/* getopt_long() for a command of such a tool: -h (--help) prints the
 * tool's help and exits 0; an unknown option or a missing argument
 * prints the short usage and exits 64.  Otherwise the option, or -1
 * after the last. */
int fe_getopt(int argc, char **argv, const char *shortopts,
	      const struct option *longopts);
int fe_dispatch(int argc, char **argv, const struct fe_command *cmds, size_t n,
		const char *usage_short, const char *usage_long);

#endif
