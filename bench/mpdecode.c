/*
 * mpdecode.c - how fast libevlog's own MessagePack reader decodes the
 * records of a log, against msgpack-c on the same bytes.  The figure in
 * README.md "the codec" comes from here.
 *
 *   bench/mpdecode LOG [RUNS]
 *
 * The records of LOG are read into memory first (no I/O is timed).  Then,
 * RUNS times (5 by default), alternating, each decoder goes over every
 * record:
 *
 *   evlog        ev_event_decode + ev_event_check_deep: every field, and
 *                data and meta checked to the last UTF-8 byte, as
 *                evctl verify reads them
 *   evlog-decode ev_event_decode: the envelope fields (strings checked),
 *                data and meta skipped, as evtail and the filters read
 *   evlog-skip   ev_mp_skip: the structure only
 *   unpack_next  msgpack_unpack_next, one record at a time into a reused
 *                msgpack_unpacked (msgpack-c's object tree)
 *   unpack+utf8  the same, then every string of the tree checked for
 *                UTF-8: the work of "evlog", done with msgpack-c
 *   unpacker     msgpack_unpacker over all the records as one stream,
 *                fed 1 MiB at a time, as evpub --format msgpack reads
 *
 * It prints the median and the spread (min to max) of each, in ns per
 * record, the ratio of each median to evlog's, and the load average
 * before and after.  A benchmark, not a test: nothing is asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>

#include "evlog.h"
#include "evlog_private.h"

struct recs {
	uint8_t *p;
	size_t len, cap;
	size_t *end; /* record i ends at end[i] */
	size_t n, ncap;
};

static int load(const char *path, struct recs *r)
{
	struct ev_log *log = NULL;
	struct ev_reader *rd = NULL;
	struct ev_error err;
	struct ev_rec rec;
	int rc;

	if (ev_log_open(&log, path, &err) != 0 ||
	    ev_reader_open(&rd, log, &err) != 0) {
		fprintf(stderr, "mpdecode: %s\n", err.msg);
		ev_log_close(log);
		return -1;
	}
	while ((rc = ev_reader_next(rd, &rec, &err)) == 1) {
		if (r->len + rec.n > r->cap) {
			r->cap = (r->cap + rec.n) * 2;
			r->p = realloc(r->p, r->cap);
		}
		if (r->n == r->ncap) {
			r->ncap = r->ncap ? r->ncap * 2 : 1024;
			r->end = realloc(r->end, r->ncap * sizeof(*r->end));
		}
		if (r->p == NULL || r->end == NULL) {
			fprintf(stderr, "mpdecode: out of memory\n");
			return -1;
		}
		memcpy(r->p + r->len, rec.p, rec.n);
		r->len += rec.n;
		r->end[r->n++] = r->len;
	}
	if (rc < 0)
		fprintf(stderr, "mpdecode: %s\n", err.msg);
	ev_reader_free(rd);
	ev_log_close(log);
	return rc;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* each decoder returns a count of what it saw, so that none is elided */
static uint64_t run_evlog(const struct recs *r)
{
	struct ev_event ev;
	struct ev_error err;
	uint64_t sum = 0;
	size_t i, start = 0;

	for (i = 0; i < r->n; i++) {
		if (ev_event_decode(r->p + start, r->end[i] - start, &ev,
				    &err) != 0 ||
		    ev_event_check_deep(&ev, &err) != 0) {
			fprintf(stderr, "mpdecode: record %zu: %s\n", i,
				err.msg);
			exit(1);
		}
		sum += ev.type.n + ev.data_len;
		start = r->end[i];
	}
	return sum;
}

static uint64_t run_decode(const struct recs *r)
{
	struct ev_event ev;
	struct ev_error err;
	uint64_t sum = 0;
	size_t i, start = 0;

	for (i = 0; i < r->n; i++) {
		if (ev_event_decode(r->p + start, r->end[i] - start, &ev,
				    &err) != 0) {
			fprintf(stderr, "mpdecode: record %zu: %s\n", i,
				err.msg);
			exit(1);
		}
		sum += ev.type.n + ev.data_len;
		start = r->end[i];
	}
	return sum;
}

/* every string of o is UTF-8 */
static int utf8_tree(const msgpack_object *o)
{
	uint32_t i;

	switch (o->type) {
	case MSGPACK_OBJECT_STR:
		return ev_utf8_valid((const uint8_t *)o->via.str.ptr,
				     o->via.str.size) == o->via.str.size;
	case MSGPACK_OBJECT_ARRAY:
		for (i = 0; i < o->via.array.size; i++)
			if (!utf8_tree(&o->via.array.ptr[i]))
				return 0;
		return 1;
	case MSGPACK_OBJECT_MAP:
		for (i = 0; i < o->via.map.size; i++)
			if (!utf8_tree(&o->via.map.ptr[i].key) ||
			    !utf8_tree(&o->via.map.ptr[i].val))
				return 0;
		return 1;
	default:
		return 1;
	}
}

static uint64_t run_unpack_utf8(const struct recs *r)
{
	msgpack_unpacked res;
	uint64_t sum = 0;
	size_t i, off, start = 0;

	msgpack_unpacked_init(&res);
	for (i = 0; i < r->n; i++) {
		off = 0;
		if (msgpack_unpack_next(&res, (const char *)r->p + start,
					r->end[i] - start,
					&off) != MSGPACK_UNPACK_SUCCESS ||
		    !utf8_tree(&res.data)) {
			fprintf(stderr,
				"mpdecode: msgpack-c refuses record %zu\n", i);
			exit(1);
		}
		sum += res.data.via.map.size;
		start = r->end[i];
	}
	msgpack_unpacked_destroy(&res);
	return sum;
}

static uint64_t run_skip(const struct recs *r)
{
	const uint8_t *p = r->p, *end = r->p + r->len;
	uint64_t n = 0;

	while (p < end) {
		if (ev_mp_skip(&p, end, 0) != 0) {
			fprintf(stderr,
				"mpdecode: ev_mp_skip refuses a record\n");
			exit(1);
		}
		n++;
	}
	return n;
}

static uint64_t run_unpack_next(const struct recs *r)
{
	msgpack_unpacked res;
	uint64_t sum = 0;
	size_t i, off, start = 0;

	msgpack_unpacked_init(&res);
	for (i = 0; i < r->n; i++) {
		off = 0;
		if (msgpack_unpack_next(&res, (const char *)r->p + start,
					r->end[i] - start,
					&off) != MSGPACK_UNPACK_SUCCESS) {
			fprintf(stderr,
				"mpdecode: msgpack-c refuses record %zu\n", i);
			exit(1);
		}
		sum += res.data.via.map.size;
		start = r->end[i];
	}
	msgpack_unpacked_destroy(&res);
	return sum;
}

static uint64_t run_unpacker(const struct recs *r)
{
	msgpack_unpacker u;
	msgpack_unpacked res;
	size_t fed = 0, k;
	uint64_t sum = 0;
	int rc;

	if (!msgpack_unpacker_init(&u, MSGPACK_UNPACKER_INIT_BUFFER_SIZE))
		exit(1);
	msgpack_unpacked_init(&res);
	for (;;) {
		rc = msgpack_unpacker_next(&u, &res);
		if (rc == MSGPACK_UNPACK_SUCCESS) {
			sum += res.data.via.map.size;
			continue;
		}
		if (rc != MSGPACK_UNPACK_CONTINUE) {
			fprintf(stderr, "mpdecode: msgpack_unpacker fails\n");
			exit(1);
		}
		if (fed == r->len)
			break;
		k = r->len - fed < (1u << 20) ? r->len - fed : (1u << 20);
		if (!msgpack_unpacker_reserve_buffer(&u, k))
			exit(1);
		memcpy(msgpack_unpacker_buffer(&u), r->p + fed, k);
		msgpack_unpacker_buffer_consumed(&u, k);
		fed += k;
	}
	msgpack_unpacked_destroy(&res);
	msgpack_unpacker_destroy(&u);
	return sum;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void loadavg(const char *when)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double a = -1;

	if (f != NULL) {
		if (fscanf(f, "%lf", &a) != 1)
			a = -1;
		fclose(f);
	}
	printf("load average (1 min) %s: %.2f%s\n", when, a,
	       a > 0.5 ? " (noisy: over 0.5)" : "");
}

#define NDEC 6
#define MAXRUNS 99

int main(int argc, char **argv)
{
	static const char *const names[NDEC] = {"evlog",       "evlog-decode",
						"evlog-skip",  "unpack_next",
						"unpack+utf8", "unpacker"};
	uint64_t (*const fns[NDEC])(
		const struct recs *) = {run_evlog,	 run_decode,
					run_skip,	 run_unpack_next,
					run_unpack_utf8, run_unpacker};
	double t[NDEC][MAXRUNS], med[NDEC], t0;
	struct recs r;
	uint64_t sink = 0;
	int runs = 5, i, k;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: mpdecode LOG [RUNS]\n");
		return 64;
	}
	if (argc == 3)
		runs = atoi(argv[2]);
	if (runs < 1 || runs > MAXRUNS)
		runs = 5;
	memset(&r, 0, sizeof(r));
	if (load(argv[1], &r) != 0)
		return 1;
	printf("%zu records, %zu bytes (%.1f bytes each), %d runs, "
	       "alternated\n",
	       r.n, r.len, (double)r.len / (double)r.n, runs);
	loadavg("before");
	for (i = 0; i < runs; i++)
		for (k = 0; k < NDEC; k++) {
			t0 = now_s();
			sink += fns[k](&r);
			t[k][i] = (now_s() - t0) / (double)r.n * 1e9;
		}
	loadavg("after");
	for (k = 0; k < NDEC; k++) {
		qsort(t[k], (size_t)runs, sizeof(double), cmp_d);
		med[k] = t[k][runs / 2];
	}
	printf("%-12s %10s %18s %8s %12s\n", "decoder", "ns/record", "spread",
	       "ratio", "records/s");
	for (k = 0; k < NDEC; k++)
		printf("%-12s %10.1f %8.1f..%-8.1f %7.2fx %12.0f\n", names[k],
		       med[k], t[k][0], t[k][runs - 1], med[k] / med[0],
		       1e9 / med[k]);
	if (sink == 42)
		putchar('\n');
	free(r.p);
	free(r.end);
	return 0;
}
