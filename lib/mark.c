/*
 * mark.c - replay marks (evreplay(1) MARKS): an event's record again,
 * with meta.replay and meta.replayedAt set, so that consumers can tell
 * a replayed event from a live one.  Everything else of the record is
 * kept; marks already there (an event replayed twice) are replaced.
 */
#include <string.h>

#include "evlog_private.h"

#define K_REPLAY "replay"
#define K_REPLAYED_AT "replayedAt"

/* Is the str at p one of the marks' keys? */
static int is_mark_key(const struct ev_mp_item *k)
{
	return k->type == EV_MP_STR &&
	       ((k->n == sizeof(K_REPLAY) - 1 &&
		 memcmp(k->p, K_REPLAY, k->n) == 0) ||
		(k->n == sizeof(K_REPLAYED_AT) - 1 &&
		 memcmp(k->p, K_REPLAYED_AT, k->n) == 0));
}

/* The meta map of ev with the marks set, into out. */
static int marked_meta(const struct ev_event *ev, const struct ev_mark *m,
		       struct ev_buf *out, struct ev_error *err)
{
	const uint8_t *p = ev->meta, *end = ev->meta + ev->meta_len, *kstart;
	struct ev_mp_item map, k;
	struct ev_buf body = {0};
	uint32_t i, kept = 0;
	uint8_t hdr[8];
	char at[40];
	size_t atn;
	int rc = EV_ERR;

	if (ev->meta != NULL) {
		if (ev_mp_read(&p, end, &map) != 0 || map.type != EV_MP_MAP)
			return ev_seterr(err, EV_EDATA, "meta is not a map");
		for (i = 0; i < map.n; i++) {
			kstart = p;
			if (ev_mp_read(&p, end, &k) != 0 ||
			    ev_mp_skip(&p, end, 0) != 0) {
				ev_buf_free(&body);
				return ev_seterr(err, EV_EDATA,
						 "meta does not decode");
			}
			if (is_mark_key(&k))
				continue;
			if (ev_buf_append(&body, kstart,
					  (size_t)(p - kstart)) != 0)
				goto oom;
			kept++;
		}
	}
	atn = ev_time_format(m->at, at);
	if (ev_buf_append(out, hdr,
			  (size_t)(ev_mp_map_hdr(hdr, kept + 2) - hdr)) != 0 ||
	    (body.len > 0 && ev_buf_append(out, body.p, body.len) != 0) ||
	    ev_buf_mp_str(out, K_REPLAY, sizeof(K_REPLAY) - 1) != 0 ||
	    ev_buf_mp_str(out, m->name, strlen(m->name)) != 0 ||
	    ev_buf_mp_str(out, K_REPLAYED_AT, sizeof(K_REPLAYED_AT) - 1) != 0 ||
	    ev_buf_mp_str(out, at, atn) != 0)
		goto oom;
	rc = 0;
oom:
	ev_buf_free(&body);
	return rc == 0 ? 0 : ev_seterr(err, EV_ERR, "out of memory");
}

int ev_record_mark(const struct ev_event *ev, const struct ev_mark *m,
		   struct ev_buf *out, struct ev_error *err)
{
	struct ev_buf meta = {0};
	struct ev_fields f;
	int r;

	if ((r = marked_meta(ev, m, &meta, err)) != 0) {
		ev_buf_free(&meta);
		return r;
	}
	ev_fields_init(&f);
	f.type = ev->type.p;
	f.type_n = ev->type.n;
	f.id = ev->id.p;
	f.id_n = ev->id.n;
	f.stream = ev->stream.p;
	f.stream_n = ev->stream.n;
	f.key = ev->key.p;
	f.key_n = ev->key.n;
	f.time = ev->time;
	f.version = ev->version;
	f.schema = ev->schema;
	f.data = ev->data;
	f.data_n = ev->data_len;
	f.data_bin = ev->data_is_binary;
	f.meta = meta.p;
	f.meta_n = meta.len;
	f.prev = ev->prev;
	f.resolved = 1; /* numbered already: it keeps its version */
	r = ev_record_encode(&f, ev->time, out, NULL, err);
	ev_buf_free(&meta);
	return r;
}
