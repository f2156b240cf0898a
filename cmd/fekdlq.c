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
	if (x->upcast_dlq)
		return fe_usage_error(usage,
				      "--on-error dlq: a dead-letter topic "
				      "takes the handler's letters only; give "
				      "a DLQLOG directory");
	if (co->park_streams)
		return fe_usage_error(usage,
				      "--dlq-policy stream: a dead-letter "
				      "topic does not park streams; give a "
				      "DLQLOG directory");
	return -1;
}

int fe_kdlq_open(struct fe_kdlq *k, const char *dlq,
		 const struct ev_kafka_props *props, int64_t timeout_ms,
		 struct ev_consumer_opts *con, const char *usage)
{
	struct ev_error err;
	int r;

	memset(k, 0, sizeof(*k));
	if (ev_kafka_addr_parse(dlq, &k->addr, &err) != 0)
		return fe_usage_error(usage, "--dlq: %s", err.msg);
	k->conn.addr = &k->addr;
	k->conn.props = props;
	k->conn.timeout_ms = (int)timeout_ms;
	if ((r = ev_kafka_dlq_open(&k->d, &k->conn, &err)) != 0)
		return r == EV_EUSAGE ? fe_usage_error(usage, "%s", err.msg)
				      : fe_reportf(&err, "--dlq");
	con->letter = ev_kafka_dlq_letter;
	con->letter_ctx = k->d;
	return 0;
}

void fe_kdlq_close(struct fe_kdlq *k)
{
	ev_kafka_dlq_close(k->d);
	k->d = NULL;
}
