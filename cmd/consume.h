/*
 * consume.h - evtail --exec: at-least-once handler delivery for a group.
 */
#ifndef EVLOG_CONSUME_H
#define EVLOG_CONSUME_H

#include <signal.h>

#include "evlog.h"

enum on_failure { FAIL_STOP, FAIL_DLQ, FAIL_SKIP };

struct consume_opts {
	const char *cmd;
	const char *log_path;
	unsigned retries;
	int64_t backoff_ms, backoff_max_ms, timeout_ms, grace_ms;
	enum on_failure on_failure;
	const char *dlq_path;
	int park_streams;	/* --dlq-policy=stream */
	unsigned batch;		/* events per handler run */
	unsigned parallel;	/* handler runs at once */
	uint64_t commit_every;
	int64_t commit_ms;
	int follow;
};

/*
 * Deliver the events of rd that match flt to the handler, from offset
 * start, committing the contiguous prefix of handled offsets to grp.
 * Returns an exit status.
 */
int consume(struct ev_log *log, struct ev_reader *rd, struct ev_filter *flt,
	    struct ev_group *grp, uint64_t start, const struct consume_opts *o,
	    volatile sig_atomic_t *stop);

#endif
