/*
 * evutil.h - test logs written from NDJSON lines, for the tests of the
 * delivery layer (consumer, dlq, filter, handler): events are written as
 * a user would give them to evpub.
 */
#ifndef EVLOG_EVUTIL_H
#define EVLOG_EVUTIL_H

#include "unit.h"

struct elog {
	char *dir;
	char path[4200];
	struct ev_log *log;
};

/* A new log in a temporary directory, opened. */
static inline void elog_create(struct elog *t, int dead_letters)
{
	struct ev_log_config cfg;
	struct ev_error err;

	memset(t, 0, sizeof(*t));
	t->dir = unit_tmpdir();
	snprintf(t->path, sizeof(t->path), "%s/log", t->dir);
	ev_log_config_init(&cfg);
	cfg.sync = EV_SYNC_NONE;
	cfg.dead_letters = dead_letters;
	if (ev_log_create(t->path, &cfg, &err) != 0)
		fail_msg("ev_log_create: %s", err.msg);
	if (ev_log_open(&t->log, t->path, &err) != 0)
		fail_msg("ev_log_open: %s", err.msg);
}

static inline void elog_free(struct elog *t)
{
	ev_log_close(t->log);
	unit_rmtree(t->dir);
	memset(t, 0, sizeof(*t));
}

/* Append NDJSON lines (one event each) as evpub does. */
static inline void elog_append(struct elog *t, const char *const *lines,
			       size_t n)
{
	struct ev_parse_opts po;
	struct ev_parser *ps;
	struct ev_writer_opts wo;
	struct ev_writer *w;
	struct ev_error err;
	const uint8_t *rec;
	size_t len, i;
	ev_time_t tm;

	memset(&po, 0, sizeof(po));
	memset(&wo, 0, sizeof(wo));
	ps = ev_parser_new(&po);
	assert_non_null(ps);
	if (ev_writer_open(&w, t->log, &wo, &err) != 0)
		fail_msg("ev_writer_open: %s", err.msg);
	for (i = 0; i < n; i++) {
		if (ev_parser_line(ps, lines[i], strlen(lines[i]),
				   1700000000000000000LL +
					   (ev_time_t)i * 1000000000,
				   &err) != 1)
			fail_msg("line %zu: %s", i, err.msg);
		ev_parser_record(ps, 0, &rec, &len, &tm);
		if (ev_writer_add(w, rec, len, tm, &err) != 0)
			fail_msg("ev_writer_add: %s", err.msg);
	}
	if (ev_writer_close(w, &err) != 0)
		fail_msg("ev_writer_close: %s", err.msg);
	ev_parser_free(ps);
}

/* n events, event i of type "T" and stream streams[i] ("" for none),
 * data {"i":i}. */
static inline void elog_append_streams(struct elog *t,
				       const char *const *streams, size_t n)
{
	char **lines = calloc(n, sizeof(*lines));
	size_t i;

	assert_non_null(lines);
	for (i = 0; i < n; i++) {
		if (streams[i][0])
			assert_true(
				asprintf(&lines[i],
					 "{\"type\":\"T\",\"stream\":\"%s\","
					 "\"data\":{\"i\":%zu}}",
					 streams[i], i) > 0);
		else
			assert_true(
				asprintf(
					&lines[i],
					"{\"type\":\"T\",\"data\":{\"i\":%zu}}",
					i) > 0);
	}
	elog_append(t, (const char *const *)lines, n);
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

/* The value of NAME in a NULL-terminated "NAME=value" array, or NULL. */
static inline const char *env_get(char *const *env, const char *name)
{
	size_t n = strlen(name);

	for (; env != NULL && *env != NULL; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

#endif
