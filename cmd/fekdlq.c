/*
 * fekdlq.c - --dlq kafka://HOST:PORT/TOPIC for the consumers (fekdlq.h).
 */
#include <string.h>

#include "fe.h"
#include "fekdlq.h"

int fe_kdlq_is(const char *dlq)
{
	return dlq != NULL && ev_kafka_is_addr(dlq);
}

int fe_kdlq_check(const struct fe_exec *x, const struct ev_consumer_opts *co,
		  const char *usage)
{
	struct ev_kafka_addr a;
	struct ev_error err;

	if (!fe_kdlq_is(x->dlq))
		return -1;
	if (ev_kafka_addr_parse(x->dlq, &a, &err) != 0)
		return fe_usage_error(usage, "--dlq: %s", err.msg);
	if (co->park_streams)
		return fe_usage_error(usage,
				      "--dlq-policy stream: a dead-letter "
				      "topic does not park streams; give a "
				      "DLQLOG directory");
	return -1;
}

/* The topic dlq, once: 0, or an exit status after the message. */
static int kdlq_connect(struct fe_kdlq *k, const char *dlq,
			const struct ev_kafka_props *props, int64_t timeout_ms,
			const char *usage)
{
	struct ev_error err;
	int r;

	if (k->d != NULL)
		return 0;
	memset(k, 0, sizeof(*k));
	if (ev_kafka_addr_parse(dlq, &k->addr, &err) != 0)
		return fe_usage_error(usage, "--dlq: %s", err.msg);
	k->conn.addr = &k->addr;
	k->conn.props = props;
	k->conn.timeout_ms = (int)timeout_ms;
	if ((r = ev_kafka_dlq_open(&k->d, &k->conn, &err)) != 0)
		return r == EV_EUSAGE ? fe_usage_error(usage, "%s", err.msg)
				      : fe_reportf(&err, "--dlq");
	return 0;
}

int fe_kdlq_open(struct fe_kdlq *k, const char *dlq,
		 const struct ev_kafka_props *props, int64_t timeout_ms,
		 struct ev_consumer_opts *con, const char *usage)
{
	int r;

	if ((r = kdlq_connect(k, dlq, props, timeout_ms, usage)) != 0)
		return r;
	con->letter = ev_kafka_dlq_letter;
	con->letter_ctx = k->d;
	return 0;
}

int fe_kdlq_upcast(struct fe_kdlq *k, struct fe_select *s, const char *dlq,
		   const struct ev_kafka_props *props, int64_t timeout_ms,
		   const char *logname, const char *log_id, const char *group,
		   const char *usage)
{
	struct ev_error err;
	int r;

	if (s->up == NULL || s->on_error != EV_UPCAST_DLQ)
		return 0;
	if ((r = kdlq_connect(k, dlq, props, timeout_ms, usage)) != 0)
		return r;
	if (ev_upcast_dlq_open_sink(&s->up_dlq, ev_kafka_dlq_letter, k->d, dlq,
				    logname, log_id, group, &err) != 0)
		return fe_reportf(&err, "--dlq");
	s->up_dlq_name = dlq;
	s->scan.upcast_failed = ev_upcast_dlq_letter;
	s->scan.upcast_ctx = s->up_dlq;
	return 0;
}

int fe_kdlq_projection(struct fe_kdlq *k, const char *dlq,
		       const struct ev_kafka_props *props, int64_t timeout_ms,
		       const char *logname, const char *log_id,
		       const char *name, struct ev_upcast_dlq **out,
		       const char *usage)
{
	struct ev_error err;
	int r;

	if ((r = kdlq_connect(k, dlq, props, timeout_ms, usage)) != 0)
		return r;
	if (ev_upcast_dlq_open_sink(out, ev_kafka_dlq_letter, k->d, dlq,
				    logname, log_id, name, &err) != 0)
		return fe_reportf(&err, "--dlq");
	ev_upcast_dlq_set_projection(*out, name);
	return 0;
}

void fe_kdlq_close(struct fe_kdlq *k)
{
	ev_kafka_dlq_close(k->d);
	k->d = NULL;
}
