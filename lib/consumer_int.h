/*
 * consumer_int.h - internals shared by consumer.c (struct ev_consumer:
 * setting up, sinks, commits, the loops) and jobs.c (the window of
 * events for handler runs, their jobs, retries and dead letters).
 * consumer.c calls jobs.c, never the other way round.
 */
#ifndef EVLOG_CONSUMER_INT_H
#define EVLOG_CONSUMER_INT_H

#include "evlog_private.h"

enum { WAITING, RUNNING, DONE };

struct job;

struct item {
	uint64_t offset;
	struct ev_buf rec; /* the record (from a scan) */
	ev_time_t append_time;
	char *json;	 /* or its input line (from a source) */
	char *id, *type; /* from a source */
	char *stream;	 /* NULL when the event has none */
	char *cmd;	 /* from a source: its own handler */
	uint64_t attempts_before;
	int has_dlq_offset;
	uint64_t dlq_offset;
	int has_partition; /* from a source: a Kafka log's event's */
	char *bad;	   /* a Kafka record that is not an event: why */
	int kafka;	   /* a Kafka log's record: where it is in the topic */
	int32_t partition;
	int64_t koffset;
	int64_t ktimestamp; /* the record's, and its EV_KAFKA_TS_* type */
	int ktimestamp_type;
	void *tag;
	int state;
	int solo;			    /* its batch failed: runs alone */
	int in_batch;			    /* in the batch being made */
	int64_t due;			    /* paced: not started before */
	struct job *job;		    /* while it belongs to one */
	struct item *prev_same, *next_same; /* unfinished items of its stream */
};

struct job {
	struct item **items;
	unsigned n;
	unsigned attempts;
	int64_t next_try; /* clock ms; 0 = now */
	int running;
	ev_time_t first_failure, last_failure;
	struct ev_buf input;
	char *env[EV_HANDLER_ENV_MAX];
	struct ev_done last;
};

/* A small string-keyed chained hash map. */
struct entry {
	char *key;
	void *a;    /* streams: first unfinished item */
	void *b;    /* streams: last; parked: letter id */
	uint64_t n; /* parked: offset blocked behind */
	struct entry *next;
};

#define MAP_BUCKETS 1024

struct map {
	struct entry *b[MAP_BUCKETS];
};

struct ev_consumer {
	struct ev_consumer_opts o;
	const struct ev_clock *clock;
	const struct ev_handler_ops *h;
	void *hctx;
	struct ev_runner *runner; /* ours, when h is the real one */
	struct ev_consumer_stats st;
	int64_t last_commit;
	int new_group; /* commit its start even if idle */
	/* handlers */
	struct item **win;   /* the window, offset order */
	size_t head, n, cap; /* live items are win[head..n) */
	size_t limit;	     /* most items held */
	struct job **jobs;
	size_t njobs, jobs_cap;
	struct map streams;	   /* unfinished items per stream */
	struct map parked;	   /* park_streams: blocked streams */
	struct ev_letter *letters; /* for rounds and parking */
	size_t nletters;
	int letters_loaded;
	struct ev_reader *dlq_rd; /* to see the DLQ change */
	uint64_t dlq_known;	  /* its end as far as we know */
	struct ev_writer *dlq_w;
	int stopping;
	int64_t stop_at, kill_at;
	/* pacing, marks and progress (before any sink) */
	struct ev_event dev;  /* an event decoded for them */
	struct ev_buf marked; /* the marked record */
	struct ev_event mev;  /* ... decoded */
	int64_t last_tick;
	/* an event that cannot be paced or marked: the error waits until the
	 * events before it are done, and the position stays at it */
	int held_rc;
	struct ev_error held_err;
	uint64_t held_at;
	int rc; /* the first error */
	struct ev_error err;
};

static inline int64_t ev_jobs_now(const struct ev_consumer *c)
{
	return c->clock->now_ms(c->clock->ctx);
}

/* Keep the first error; later ones are consequences.  Returns r. */
int ev_jobs_fail(struct ev_consumer *c, int r, const struct ev_error *err);
int ev_jobs_oom(struct ev_consumer *c);
void ev_jobs_notice(struct ev_consumer *c, const char *fmt, ...)
	EV_PRINTF(2, 3);
void ev_jobs_map_clear(struct map *m, int free_b);
void ev_jobs_item_free(struct item *it);
void ev_jobs_job_free(struct job *j);
/* Items in the window, and dropping the finished ones at its head. */
size_t ev_jobs_live(const struct ev_consumer *c);
void ev_jobs_trim_window(struct ev_consumer *c);
/* The position to commit: the first unfinished event, else past all. */
uint64_t ev_jobs_handled_upto(struct ev_consumer *c);
/* park_streams: the streams with open letters of this group. */
int ev_jobs_load_parked(struct ev_consumer *c);
/* Read what fits into the window: 0, 1 when there is nothing now
 * (following), <0. */
int ev_jobs_fill(struct ev_consumer *c, int *reading);
/* Start what can start. */
int ev_jobs_dispatch(struct ev_consumer *c);
/* A run ended: account for it, and decide what comes next. */
int ev_jobs_finished(struct ev_consumer *c, const struct ev_done *d);
/* Stopping: after the grace SIGTERM, then SIGKILL. */
void ev_jobs_stop_runs(struct ev_consumer *c, int64_t now);
/* How long to wait for a run to end, a retry, the grace. */
int64_t ev_jobs_wait_time(struct ev_consumer *c, int idle, int reading,
			  int64_t now);
/* How long until the first waiting item is due (paced), or 0. */
int64_t ev_jobs_pace_wait(struct ev_consumer *c, int64_t now);
/* Pace and mark an event before it goes to a sink: *rec and *ev become
 * the marked one (valid until the next call); *due_ms when it is due
 * (paced), else 0.  0, or <0 with err. */
int ev_jobs_prepare(struct ev_consumer *c, struct ev_rec *rec,
		    const struct ev_event **ev, int64_t *due_ms,
		    struct ev_error *err);
/* Progress, when due. */
void ev_jobs_tick(struct ev_consumer *c, int64_t now);
/* Runs stopped before they were done, for the source's owner. */
void ev_jobs_report_unfinished(struct ev_consumer *c);

#endif
