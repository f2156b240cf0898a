/*
 * fuzz_msgpack.c - libFuzzer target for evpub --format msgpack: the
 * input is a MessagePack stream of event maps, read by lib/unpacker.c
 * through msgpack-c's streaming unpacker.
 *
 * Invariants: the stream reads the same in one piece and fed in chunks
 * (the chunk size is taken from the first byte); every event read
 * decodes, and its map as evtail -o msgpack writes it reads back to the
 * same record; every refusal has a message and an offset inside the
 * input, and a malformed object ends the stream.  And msgpack-c is the
 * oracle of libevlog's reader on the raw bytes: a value ev_mp_skip
 * takes, msgpack-c unpacks to the same value.
 *
 * msgpack-c allocates a container's elements when it reads its header
 * (msgpack-c issue #1013: 5 bytes ask for 96 GB).  That is msgpack-c's,
 * and evpub reports it as a failure to unpack; here, inputs whose
 * headers declare more elements than there are bytes skip msgpack-c, so
 * that the fuzzer's allocation limit finds our bugs, not that one.
 */
#include <string.h>

#include "common.h"
#include "mporacle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_NOW 1700000000000000000LL

/* the results of reading a stream */
struct mp_run {
	struct ev_buf recs; /* records, each after its length (8 bytes) */
	struct ev_buf errs; /* messages and offsets */
	int events, refusals;
};

static void run_free(struct mp_run *r)
{
	ev_buf_free(&r->recs);
	ev_buf_free(&r->errs);
}

/* Do container headers declare more elements than there are bytes? */
static int huge_headers(const uint8_t *b, size_t n)
{
	const uint8_t *p = b, *end = b + n;
	struct ev_mp_item it;

	while (p < end && ev_mp_read(&p, end, &it) == 0)
		if ((it.type == EV_MP_ARRAY || it.type == EV_MP_MAP) &&
		    it.n > n)
			return 1;
	return 0;
}

/* Read the stream, chunk bytes at a time (0: all at once). */
static void read_stream(const uint8_t *b, size_t n, size_t chunk,
			struct mp_run *out)
{
	struct ev_unpacker *u = ev_unpacker_new();
	struct ev_error err;
	const uint8_t *rec;
	size_t fed = 0, k, room, rn;
	uint8_t len[8];
	char *dst;
	int r;

	memset(out, 0, sizeof(*out));
	if (u == NULL)
		return;
	for (;;) {
		r = ev_unpacker_next(u, FUZZ_NOW, &err);
		if (r == 0 && fed < n) {
			k = chunk == 0 || n - fed < chunk ? n - fed : chunk;
			dst = ev_unpacker_buffer(u, k, &room);
			if (dst == NULL)
				break;
			memcpy(dst, b + fed, k);
			ev_unpacker_consumed(u, k);
			fed += k;
			continue;
		}
		if (r == 0)
			r = ev_unpacker_finish(u, &err);
		if (r == 0)
			break;
		if (r == 1) {
			ev_unpacker_record(u, &rec, &rn, NULL);
			ev_put64(len, rn);
			ev_buf_append(&out->recs, len, 8);
			ev_buf_append(&out->recs, rec, rn);
			out->events++;
			continue;
		}
		if (err.msg[0] == '\0')
			FUZZ_FAIL("a refusal without a message");
		if (ev_unpacker_offset(u) > n)
			FUZZ_FAIL("a refusal at byte %llu of %zu",
				  (unsigned long long)ev_unpacker_offset(u), n);
		ev_put64(len, ev_unpacker_offset(u));
		ev_buf_append(&out->errs, len, 8);
		ev_buf_puts(&out->errs, err.msg);
		out->refusals++;
		if (r == EV_ERR || ev_unpacker_broken(u))
			break;
	}
	ev_unpacker_free(u);
}

/* The records of two runs are the same but for their ids, which are
 * random for events that had none. */
static int same_records(const struct ev_buf *a, const struct ev_buf *b)
{
	const uint8_t *p, *q, *pe, *qe, *pi, *qi;
	struct ev_mp_item it;
	size_t an, bn;

	if (a->len == 0 || b->len == 0)
		return a->len == b->len;
	p = a->p;
	q = b->p;
	pe = p + a->len;
	qe = q + b->len;
	while (pe - p >= 8 && qe - q >= 8) {
		an = (size_t)ev_get64(p);
		bn = (size_t)ev_get64(q);
		p += 8;
		q += 8;
		if (an != bn || an < 2 || (size_t)(pe - p) < an ||
		    (size_t)(qe - q) < bn || p[0] != q[0] || p[1] != q[1])
			return 0;
		/* the map header and key 1, then the id */
		pi = p + 2;
		qi = q + 2;
		if (ev_mp_read(&pi, p + an, &it) != 0 ||
		    ev_mp_read(&qi, q + bn, &it) != 0 || pi - p != qi - q ||
		    memcmp(pi, qi, an - (size_t)(pi - p)) != 0)
			return 0;
		p += an;
		q += bn;
	}
	return p == pe && q == qe;
}

/* An event read decodes, and its evtail -o msgpack map reads back to
 * the same record. */
static void check_record(const uint8_t *rec, size_t n)
{
	struct ev_event ev;
	struct ev_error err;
	struct ev_buf map = {0};
	struct mp_run back;
	const char *why = "";

	if (ev_event_decode(rec, n, &ev, &err) != 0 ||
	    ev_event_check_deep(&ev, &err) != 0) {
		FUZZ_FAIL("an event read does not decode: %s", err.msg);
		return;
	}
	if (mpo_check(rec, n, &why) == MPO_DIFFERS)
		FUZZ_FAIL("a record: libevlog and msgpack-c differ: %s", why);
	ev.offset = 7;
	if (ev_event_to_msgpack(&ev, &map, &err) != 0) {
		FUZZ_FAIL("ev_event_to_msgpack refuses an event read: %s",
			  err.msg);
		goto out;
	}
	read_stream(map.p, map.len, 0, &back);
	if (back.events != 1 || back.refusals != 0 || back.recs.len != n + 8 ||
	    memcmp(back.recs.p + 8, rec, n) != 0)
		FUZZ_FAIL("record -> evtail -o msgpack -> record changes it");
	run_free(&back);
out:
	ev_buf_free(&map);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mp_run whole, chunked;
	const uint8_t *v = data, *p = data, *end = data + size;
	const char *why = "";
	size_t k, rn;

	if (size > EV_MAX_LINE || huge_headers(data, size))
		return 0;
	read_stream(data, size, 0, &whole);
	read_stream(data, size, size > 0 ? 1 + data[0] % 64 : 1, &chunked);
	if (!same_records(&whole.recs, &chunked.recs) ||
	    whole.errs.len != chunked.errs.len ||
	    (whole.errs.len > 0 &&
	     memcmp(whole.errs.p, chunked.errs.p, whole.errs.len) != 0))
		FUZZ_FAIL("the stream reads otherwise in chunks");
	for (k = 0; k + 8 <= whole.recs.len; k += 8 + rn) {
		rn = (size_t)ev_get64(whole.recs.p + k);
		check_record(whole.recs.p + k + 8, rn);
	}
	/* the reader against its oracle, value by value */
	while (p < end && ev_mp_skip(&p, end, 0) == 0) {
		if (mpo_check(v, (size_t)(p - v), &why) == MPO_DIFFERS)
			FUZZ_FAIL("a value: libevlog and msgpack-c differ: %s",
				  why);
		v = p;
	}
	run_free(&whole);
	run_free(&chunked);
	return 0;
}
