/*
 * checkpoint.c - struct ev_checkpoint: where a projection (evproject(1))
 * has read to, with its state, and struct ev_projlock: the lock one run
 * of a projection holds (evlog(5) Projection checkpoints).
 *
 * A checkpoint is a file of its own, replaced whole (ev_file_replace):
 * a crash leaves the old or the new one.  It is read back as a stranger's
 * file: its length, its CRC-32C, and then every value is checked before
 * it is used, and nothing is allocated from a size it declares beyond
 * the bytes it has.  A damaged checkpoint is an error, never a fresh
 * start, which would fold the events before it a second time.
 *
 * The lock is a group's (lockfile.c), in the same directory as the
 * checkpoint, so that a state directory can hold groups and projections
 * of several logs.
 *
 * A projection of a Kafka topic has no log directory: its checkpoint is
 * in a state directory, and holds the topic and the next offset of each
 * partition where a local log's holds its id and one offset.  Its "log"
 * is all zeros, an id no log has, and its "next" 0, so that a reader
 * that knows nothing of topics takes it for another log's.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lockfile_int.h"

/* The file: header, a msgpack map, CRC-32C of all before it. */
static const uint8_t ckpt_magic[8] = {'E', 'V', 'L', 'C', 'K', 'P', 'T', '\n'};
#define CKPT_VERSION 1
#define CKPT_HDR 24
#define CKPT_TRAILER 4
#define CKPT_DEPTH 16 /* how deep an unknown key's value may nest */

struct ev_projlock {
	struct ev_log *log;
	char name[EV_GROUP_NAME_MAX + 1];
	char *dir;  /* where the checkpoint and lock files live */
	char *file; /* dir/NAME.ckpt, for messages */
	int dirfd;
	int lock_fd;
	int made_state_dir; /* the lock made STATE_DIR */
	int made_dir;	    /* and (STATE_DIR|LOG)/projections */
	char *state_dir;    /* as given, or NULL */
	int saved;	    /* a checkpoint exists (found or saved) */
	char *topic;	    /* a Kafka topic's projection (log is NULL) */
};

#define KAFKA_LOG_ID "00000000000000000000000000000000"
#define TOPIC_MAX 249 /* bytes of a Kafka topic's name */

/* ------------------------------------------------------------ values */

void ev_checkpoint_init(struct ev_checkpoint *cp)
{
	memset(cp, 0, sizeof(*cp));
	cp->updated = EV_TIME_NONE;
}

void ev_checkpoint_clear(struct ev_checkpoint *cp)
{
	size_t i;

	for (i = 0; i < cp->nskips; i++)
		free(cp->skips[i].reason);
	free(cp->skips);
	free(cp->def_desc);
	free(cp->state);
	free(cp->topic);
	free(cp->offsets);
	ev_checkpoint_init(cp);
}

int ev_checkpoint_set_offsets(struct ev_checkpoint *cp, const int64_t *off,
			      int32_t n, struct ev_error *err)
{
	int64_t *v = malloc((size_t)(n > 0 ? n : 1) * sizeof(*v));
	int32_t i;

	if (v == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	for (i = 0; i < n; i++)
		v[i] = off[i] >= 0 ? off[i] : -1;
	free(cp->offsets);
	cp->offsets = v;
	cp->nparts = n > 0 ? n : 0;
	return 0;
}

/* Text a checkpoint holds: UTF-8, no NUL, at most max bytes. */
static const char *text_problem(const char *s, size_t n, size_t max)
{
	if (n > max)
		return "too long";
	if (memchr(s, '\0', n) != NULL)
		return "holds a NUL";
	if (ev_utf8_valid((const uint8_t *)s, n) != n)
		return "not UTF-8";
	return NULL;
}

int ev_checkpoint_set_def(struct ev_checkpoint *cp, uint64_t hash,
			  const char *desc, struct ev_error *err)
{
	char *d = NULL;

	if (desc != NULL) {
		const char *why =
			text_problem(desc, strlen(desc), EV_CKPT_DEF_MAX);
		if (why != NULL)
			return ev_seterr(err, EV_EUSAGE,
					 "a projection's description is %s",
					 why);
		if ((d = strdup(desc)) == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
	}
	free(cp->def_desc);
	cp->def_desc = d;
	cp->def_hash = hash;
	return 0;
}

int ev_checkpoint_set_state(struct ev_checkpoint *cp, const void *p, size_t n,
			    struct ev_error *err)
{
	uint8_t *s = malloc(n ? n : 1);

	if (s == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (n)
		memcpy(s, p, n);
	free(cp->state);
	cp->state = s;
	cp->state_n = n;
	return 0;
}

/* Is skip a before partition p's offset?  (A local log's are all in
 * partition 0.) */
static int skip_before(const struct ev_ckpt_skip *a, int32_t p, uint64_t offset)
{
	return a->partition < p || (a->partition == p && a->offset < offset);
}

/* Index of the first skip at or after partition p's offset. */
static size_t skip_pos(const struct ev_checkpoint *cp, int32_t p,
		       uint64_t offset)
{
	size_t lo = 0, hi = cp->nskips;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (skip_before(&cp->skips[mid], p, offset))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct ev_ckpt_skip *
ev_checkpoint_skipped_at(const struct ev_checkpoint *cp, int32_t partition,
			 uint64_t offset)
{
	size_t i = skip_pos(cp, partition, offset);

	return i < cp->nskips && cp->skips[i].offset == offset &&
			       cp->skips[i].partition == partition
		       ? &cp->skips[i]
		       : NULL;
}

const struct ev_ckpt_skip *ev_checkpoint_skipped(const struct ev_checkpoint *cp,
						 uint64_t offset)
{
	return ev_checkpoint_skipped_at(cp, 0, offset);
}

int ev_checkpoint_add_skip(struct ev_checkpoint *cp, uint64_t offset,
			   const char *reason, ev_time_t time,
			   struct ev_error *err)
{
	return ev_checkpoint_add_skip_at(cp, 0, offset, reason, time, err);
}

int ev_checkpoint_add_skip_at(struct ev_checkpoint *cp, int32_t partition,
			      uint64_t offset, const char *reason,
			      ev_time_t time, struct ev_error *err)
{
	const char *why =
		text_problem(reason, strlen(reason), EV_CKPT_REASON_MAX);
	struct ev_ckpt_skip *v;
	size_t i;
	char *r;

	if (why == NULL && reason[0] == '\0')
		why = "empty";
	if (why != NULL)
		return ev_seterr(err, EV_EUSAGE, "a skip's reason is %s", why);
	if ((r = strdup(reason)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (time == EV_TIME_NONE)
		time = ev_now();
	i = skip_pos(cp, partition, offset);
	if (i < cp->nskips && cp->skips[i].offset == offset &&
	    cp->skips[i].partition == partition) {
		free(cp->skips[i].reason);
		cp->skips[i].reason = r;
		cp->skips[i].time = time;
		return 0;
	}
	v = realloc(cp->skips, (cp->nskips + 1) * sizeof(*v));
	if (v == NULL) {
		free(r);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	cp->skips = v;
	memmove(v + i + 1, v + i, (cp->nskips - i) * sizeof(*v));
	v[i].offset = offset;
	v[i].partition = partition;
	v[i].time = time;
	v[i].reason = r;
	cp->nskips++;
	return 0;
}

int ev_checkpoint_check_def(const struct ev_checkpoint *cp, const char *name,
			    uint64_t hash, const char *desc,
			    struct ev_error *err)
{
	const char *was = cp->def_desc != NULL && cp->def_desc[0] ? cp->def_desc
								  : "unnamed";
	const char *is = desc != NULL && desc[0] ? desc : "unnamed";

	if (cp->def_hash == hash)
		return 0;
	if (strcmp(was, is) == 0 && strcmp(was, "unnamed") != 0)
		/* the same options, a Lua file that changed */
		ev_seterr(err, EV_EDATA,
			  "projection '%s' was built by another version of "
			  "its definition (%s)",
			  name, is);
	else
		ev_seterr(err, EV_EDATA,
			  "projection '%s' was built by another definition "
			  "(%s); this one is %s",
			  name, was, is);
	ev_sethint(err, "rebuild it with this definition (--rebuild), or "
			"use another name");
	return EV_EDATA;
}

/* ------------------------------------------------------------ encoding */

static int put_key(struct ev_buf *b, const char *k)
{
	return ev_buf_mp_str(b, k, strlen(k));
}

static int put_uint(struct ev_buf *b, const char *k, uint64_t v)
{
	if (put_key(b, k) != 0 || ev_buf_reserve(b, 9) != 0)
		return EV_ERR;
	b->len = (size_t)(ev_mp_uint(b->p + b->len, v) - b->p);
	return 0;
}

static int put_time(struct ev_buf *b, ev_time_t t)
{
	if (ev_buf_reserve(b, 15) != 0)
		return EV_ERR;
	b->len = (size_t)(ev_mp_time(b->p + b->len, t) - b->p);
	return 0;
}

/* The whole file for cp, into b. */
static int encode(const struct ev_checkpoint *cp, struct ev_buf *b)
{
	size_t i, nkeys = 7 + (cp->def_desc != NULL) + 2 * (cp->topic != NULL);
	uint64_t body;
	uint32_t crc;

	if (ev_buf_reserve(b, CKPT_HDR + 16) != 0)
		return EV_ERR;
	memcpy(b->p, ckpt_magic, 8);
	ev_put32(b->p + 8, CKPT_VERSION);
	ev_put32(b->p + 12, 0);
	ev_put64(b->p + 16, 0); /* the body's length, below */
	b->len = CKPT_HDR;
	b->len = (size_t)(ev_mp_map_hdr(b->p + b->len, nkeys) - b->p);
	if (put_key(b, "log") != 0 || ev_buf_mp_str(b, cp->log_id, 32) != 0 ||
	    put_uint(b, "next", cp->next) != 0 ||
	    put_uint(b, "def-hash", cp->def_hash) != 0)
		return EV_ERR;
	if (cp->def_desc != NULL &&
	    (put_key(b, "def") != 0 ||
	     ev_buf_mp_str(b, cp->def_desc, strlen(cp->def_desc)) != 0))
		return EV_ERR;
	if (cp->topic != NULL) {
		if (put_key(b, "topic") != 0 ||
		    ev_buf_mp_str(b, cp->topic, strlen(cp->topic)) != 0 ||
		    put_key(b, "offsets") != 0 || ev_buf_reserve(b, 5) != 0)
			return EV_ERR;
		b->len = (size_t)(ev_mp_array_hdr(b->p + b->len,
						  (uint32_t)cp->nparts) -
				  b->p);
		for (i = 0; i < (size_t)cp->nparts; i++) {
			if (ev_buf_reserve(b, 9) != 0)
				return EV_ERR;
			if (cp->offsets[i] < 0)
				b->p[b->len++] = 0xc0; /* nil */
			else
				b->len =
					(size_t)(ev_mp_uint(
							 b->p + b->len,
							 (uint64_t)cp
								 ->offsets[i]) -
						 b->p);
		}
	}
	if (put_uint(b, "emit-mark", cp->emit_mark) != 0 ||
	    put_key(b, "skips") != 0 || ev_buf_reserve(b, 5) != 0)
		return EV_ERR;
	b->len = (size_t)(ev_mp_array_hdr(b->p + b->len, cp->nskips) - b->p);
	for (i = 0; i < cp->nskips; i++) {
		const struct ev_ckpt_skip *s = &cp->skips[i];
		if (ev_buf_reserve(b, 10) != 0)
			return EV_ERR;
		/* a topic's: [offset, time, reason, partition] */
		b->len = (size_t)(ev_mp_array_hdr(b->p + b->len,
						  cp->topic != NULL ? 4 : 3) -
				  b->p);
		b->len = (size_t)(ev_mp_uint(b->p + b->len, s->offset) - b->p);
		if (put_time(b, s->time) != 0 ||
		    ev_buf_mp_str(b, s->reason, strlen(s->reason)) != 0)
			return EV_ERR;
		if (cp->topic != NULL) {
			if (ev_buf_reserve(b, 9) != 0)
				return EV_ERR;
			b->len = (size_t)(ev_mp_uint(b->p + b->len,
						     (uint64_t)s->partition) -
					  b->p);
		}
	}
	if (put_key(b, "updated") != 0 || put_time(b, cp->updated) != 0 ||
	    put_key(b, "state") != 0 ||
	    ev_buf_reserve(b, 5 + cp->state_n + CKPT_TRAILER) != 0)
		return EV_ERR;
	b->len = (size_t)(ev_mp_bin_hdr(b->p + b->len, cp->state_n) - b->p);
	if (cp->state_n)
		memcpy(b->p + b->len, cp->state, cp->state_n);
	b->len += cp->state_n;
	body = b->len - CKPT_HDR;
	ev_put64(b->p + 16, body);
	crc = ev_crc32c(0, b->p, b->len);
	ev_put32(b->p + b->len, crc);
	b->len += CKPT_TRAILER;
	return 0;
}

/* What a save refuses: what a load would. */
static const char *save_problem(const struct ev_checkpoint *cp)
{
	size_t i;

	if (cp->def_desc != NULL &&
	    text_problem(cp->def_desc, strlen(cp->def_desc), EV_CKPT_DEF_MAX) !=
		    NULL)
		return "its description is too long, not UTF-8 or holds a NUL";
	if (cp->state_n > 0 && cp->state == NULL)
		return "it has no state bytes";
	if (cp->topic != NULL &&
	    (text_problem(cp->topic, strlen(cp->topic), TOPIC_MAX) != NULL ||
	     cp->topic[0] == '\0'))
		return "its topic is not a topic's name";
	if (cp->topic != NULL && cp->nparts > 0 && cp->offsets == NULL)
		return "it has no offsets";
	for (i = 0; i < cp->nskips; i++) {
		const struct ev_ckpt_skip *s = &cp->skips[i];
		if (s->reason == NULL || s->reason[0] == '\0' ||
		    text_problem(s->reason, strlen(s->reason),
				 EV_CKPT_REASON_MAX) != NULL)
			return "a skip's reason is empty, too long, not UTF-8 "
			       "or holds a NUL";
		if (s->time == EV_TIME_NONE)
			return "a skip has no time";
		if (i > 0 &&
		    !skip_before(&cp->skips[i - 1], s->partition, s->offset))
			return "its skips are not in ascending order";
		if (s->partition != 0 && cp->topic == NULL)
			return "a local log's skip names a partition";
	}
	if (cp->state_n > EV_CKPT_MAX_BYTES - CKPT_HDR - CKPT_TRAILER - 4096)
		return "its state is too large";
	return NULL;
}

/* ------------------------------------------------------------ decoding */

/* Take str item it as a malloc'ed C string, checked: 0 or -1 (*why). */
static int take_text(const struct ev_mp_item *it, size_t max, char **out,
		     const char **why)
{
	if (it->type != EV_MP_STR) {
		*why = "not a string";
		return -1;
	}
	if ((*why = text_problem((const char *)it->p, it->n, max)) != NULL)
		return -1;
	*out = strndup((const char *)it->p, it->n);
	if (*out == NULL) {
		*why = "out of memory";
		return -1;
	}
	return 0;
}

static int is_hex32(const struct ev_mp_item *it)
{
	uint32_t i;

	if (it->type != EV_MP_STR || it->n != 32)
		return 0;
	for (i = 0; i < 32; i++) {
		uint8_t c = it->p[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return 0;
	}
	return 1;
}

static int key_is(const struct ev_mp_item *k, const char *s)
{
	return k->n == strlen(s) && memcmp(k->p, s, k->n) == 0;
}

/* The skips array at *p into cp: 0, or -1 with why. */
static int decode_skips(const uint8_t **p, const uint8_t *end,
			struct ev_checkpoint *cp, const char **why)
{
	struct ev_mp_item it, x;
	uint32_t i;

	if (ev_mp_read(p, end, &it) != 0 || it.type != EV_MP_ARRAY) {
		*why = "'skips' is not an array";
		return -1;
	}
	/* each takes at least 8 bytes: never more than the file holds */
	if (it.n > (size_t)(end - *p) / 8) {
		*why = "'skips' claims more entries than the file holds";
		return -1;
	}
	if (it.n == 0)
		return 0;
	cp->skips = calloc(it.n, sizeof(*cp->skips));
	if (cp->skips == NULL) {
		*why = "out of memory";
		return -1;
	}
	cp->nskips = it.n; /* the reasons not read yet are NULL */
	for (i = 0; i < it.n; i++) {
		struct ev_ckpt_skip *s = &cp->skips[i];
		uint32_t len;
		*why = "a skip is not [offset, time, reason]";
		if (ev_mp_read(p, end, &x) != 0 || x.type != EV_MP_ARRAY ||
		    (x.n != 3 && x.n != 4))
			return -1;
		len = (uint32_t)x.n;
		if (ev_mp_read(p, end, &x) != 0 || x.type != EV_MP_UINT)
			return -1;
		s->offset = x.v.u;
		if (ev_mp_read(p, end, &x) != 0 ||
		    ev_mp_time_decode(&x, &s->time) != 0)
			return -1;
		if (ev_mp_read(p, end, &x) != 0 || x.type != EV_MP_STR ||
		    x.n == 0)
			return -1;
		if (take_text(&x, EV_CKPT_REASON_MAX, &s->reason, why) != 0) {
			if (strcmp(*why, "out of memory") != 0)
				*why = "a skip's reason is not UTF-8 text of "
				       "at most 4096 bytes";
			return -1;
		}
		if (len == 4) {
			*why = "a skip's partition is not an unsigned integer "
			       "below 2^31";
			if (ev_mp_read(p, end, &x) != 0 ||
			    x.type != EV_MP_UINT || x.v.u > INT32_MAX)
				return -1;
			s->partition = (int32_t)x.v.u;
		}
		if (i > 0 &&
		    !skip_before(&cp->skips[i - 1], s->partition, s->offset)) {
			*why = "the skips are not in ascending order";
			return -1;
		}
	}
	return 0;
}

enum {
	K_LOG = 1 << 0,
	K_NEXT = 1 << 1,
	K_HASH = 1 << 2,
	K_DEF = 1 << 3,
	K_EMIT = 1 << 4,
	K_SKIPS = 1 << 5,
	K_UPDATED = 1 << 6,
	K_STATE = 1 << 7,
	K_TOPIC = 1 << 8,
	K_OFFSETS = 1 << 9,
};

/* The offsets array at *p into cp: 0, or -1 with why. */
static int decode_offsets(const uint8_t **p, const uint8_t *end,
			  struct ev_checkpoint *cp, const char **why)
{
	struct ev_mp_item it, x;
	uint32_t i;

	if (ev_mp_read(p, end, &it) != 0 || it.type != EV_MP_ARRAY) {
		*why = "'offsets' is not an array";
		return -1;
	}
	/* each takes at least a byte: never more than the file holds */
	if (it.n > (size_t)(end - *p) || it.n > INT32_MAX) {
		*why = "'offsets' claims more entries than the file holds";
		return -1;
	}
	cp->offsets = malloc((it.n ? it.n : 1) * sizeof(*cp->offsets));
	if (cp->offsets == NULL) {
		*why = "out of memory";
		return -1;
	}
	cp->nparts = (int32_t)it.n;
	for (i = 0; i < it.n; i++) {
		if (ev_mp_read(p, end, &x) != 0 ||
		    (x.type != EV_MP_NIL &&
		     (x.type != EV_MP_UINT || x.v.u > INT64_MAX))) {
			*why = "an offset is not an offset or nil";
			return -1;
		}
		cp->offsets[i] = x.type == EV_MP_NIL ? -1 : (int64_t)x.v.u;
	}
	return 0;
}

/* The body p[n] into cp: 0, or -1 with why.  On failure cp holds what
 * was decoded so far, for the caller to clear. */
static int decode_body(const uint8_t *p, size_t n, struct ev_checkpoint *cp,
		       const uint8_t **state, const char **why)
{
	const uint8_t *end = p + n;
	struct ev_mp_item map, k, v;
	unsigned seen = 0, bit;
	uint32_t i;

	if (ev_mp_read(&p, end, &map) != 0 || map.type != EV_MP_MAP) {
		*why = "its body is not a map";
		return -1;
	}
	for (i = 0; i < map.n; i++) {
		if (ev_mp_read(&p, end, &k) != 0 || k.type != EV_MP_STR) {
			*why = "a key is not a string";
			return -1;
		}
		bit = key_is(&k, "log")		? K_LOG
		      : key_is(&k, "next")	? K_NEXT
		      : key_is(&k, "def-hash")	? K_HASH
		      : key_is(&k, "def")	? K_DEF
		      : key_is(&k, "emit-mark") ? K_EMIT
		      : key_is(&k, "skips")	? K_SKIPS
		      : key_is(&k, "updated")	? K_UPDATED
		      : key_is(&k, "state")	? K_STATE
		      : key_is(&k, "topic")	? K_TOPIC
		      : key_is(&k, "offsets")	? K_OFFSETS
						: 0;
		if (bit & seen) {
			*why = "a key comes twice";
			return -1;
		}
		seen |= bit;
		if (bit == K_SKIPS) {
			if (decode_skips(&p, end, cp, why) != 0)
				return -1;
			continue;
		}
		if (bit == K_OFFSETS) {
			if (decode_offsets(&p, end, cp, why) != 0)
				return -1;
			continue;
		}
		if (bit == 0) {
			/* a later version's: skipped */
			if (ev_mp_skip(&p, end, EV_READ_DEPTH - CKPT_DEPTH) !=
			    0) {
				*why = "a value is truncated or too deep";
				return -1;
			}
			continue;
		}
		if (ev_mp_read(&p, end, &v) != 0) {
			*why = "a value is truncated";
			return -1;
		}
		switch (bit) {
		case K_LOG:
			if (!is_hex32(&v)) {
				*why = "'log' is not a log id";
				return -1;
			}
			memcpy(cp->log_id, v.p, 32);
			cp->log_id[32] = '\0';
			break;
		case K_NEXT:
		case K_HASH:
		case K_EMIT:
			if (v.type != EV_MP_UINT) {
				*why = bit == K_NEXT ? "'next' is not an offset"
				       : bit == K_HASH
					       ? "'def-hash' is not a "
						 "number"
					       : "'emit-mark' is not an "
						 "offset";
				return -1;
			}
			if (bit == K_NEXT)
				cp->next = v.v.u;
			else if (bit == K_HASH)
				cp->def_hash = v.v.u;
			else
				cp->emit_mark = v.v.u;
			break;
		case K_TOPIC:
			if (take_text(&v, TOPIC_MAX, &cp->topic, why) != 0 ||
			    cp->topic[0] == '\0') {
				if (*why == NULL ||
				    strcmp(*why, "out of memory") != 0)
					*why = "'topic' is not a topic's name";
				return -1;
			}
			break;
		case K_DEF:
			if (take_text(&v, EV_CKPT_DEF_MAX, &cp->def_desc,
				      why) != 0) {
				if (strcmp(*why, "out of memory") != 0)
					*why = "'def' is not UTF-8 text of at "
					       "most 65536 bytes";
				return -1;
			}
			break;
		case K_UPDATED:
			if (ev_mp_time_decode(&v, &cp->updated) != 0) {
				*why = "'updated' is not a time";
				return -1;
			}
			break;
		case K_STATE:
			if (v.type != EV_MP_BIN) {
				*why = "'state' is not binary";
				return -1;
			}
			*state = v.p;
			cp->state_n = v.n;
			break;
		}
	}
	if (p != end) {
		*why = "bytes follow its body";
		return -1;
	}
	if ((seen & (K_LOG | K_NEXT | K_HASH | K_STATE)) !=
	    (K_LOG | K_NEXT | K_HASH | K_STATE)) {
		*why = !(seen & K_LOG)	  ? "'log' is missing"
		       : !(seen & K_NEXT) ? "'next' is missing"
		       : !(seen & K_HASH) ? "'def-hash' is missing"
					  : "'state' is missing";
		return -1;
	}
	if (!(seen & K_TOPIC) != !(seen & K_OFFSETS)) {
		*why = (seen & K_TOPIC) ? "'offsets' is missing"
					: "'topic' is missing";
		return -1;
	}
	if ((seen & K_TOPIC) && strcmp(cp->log_id, KAFKA_LOG_ID) != 0) {
		*why = "it names both a log and a kafka topic";
		return -1;
	}
	for (i = 0; !(seen & K_TOPIC) && i < cp->nskips; i++)
		if (cp->skips[i].partition != 0) {
			*why = "a local log's skip names a partition";
			return -1;
		}
	return 0;
}

/*
 * The bytes of a checkpoint file, buf[size] (path names them in
 * messages), into cp: 0 or EV_EDATA (EV_ERR).  With want_state, the
 * state is kept in *bufp, which becomes cp's (*bufp is then NULL).
 */
static int ckpt_parse(uint8_t **bufp, size_t size, const char *path,
		      struct ev_checkpoint *cp, int want_state,
		      struct ev_error *err)
{
	uint8_t *buf = *bufp;
	const uint8_t *state = NULL;
	const char *why = NULL;
	uint64_t body;
	uint32_t crc, want;
	int r;

	if (size >= 8 && memcmp(buf, ckpt_magic, 8) != 0)
		return ev_seterr(err, EV_EDATA,
				 "'%s' is not a projection checkpoint (its "
				 "first bytes are not evlog's)",
				 path);
	if ((uint64_t)size < CKPT_HDR + CKPT_TRAILER)
		return ev_seterr(err, EV_EDATA,
				 "projection checkpoint '%s' is damaged: %lld "
				 "bytes, too short for one (torn or truncated)",
				 path, (long long)size);
	body = ev_get64(buf + 16);
	if (body != (uint64_t)size - CKPT_HDR - CKPT_TRAILER) {
		r = ev_seterr(err, EV_EDATA,
			      "projection checkpoint '%s' is damaged: its "
			      "header says %llu bytes of body, the file has "
			      "%llu (torn or truncated)",
			      path, (unsigned long long)body,
			      (unsigned long long)((uint64_t)size - CKPT_HDR -
						   CKPT_TRAILER));
		return r;
	}
	want = ev_get32(buf + size - CKPT_TRAILER);
	crc = ev_crc32c(0, buf, (size_t)size - CKPT_TRAILER);
	if (crc != want) {
		r = ev_seterr(err, EV_EDATA,
			      "projection checkpoint '%s' is damaged: "
			      "checksum mismatch (stored %08x, computed %08x)",
			      path, want, crc);
		return r;
	}
	if (ev_get32(buf + 8) != CKPT_VERSION || ev_get32(buf + 12) != 0) {
		r = ev_seterr(err, EV_EDATA,
			      "projection checkpoint '%s' has format version "
			      "%u (flags %08x); this evlog reads version %d",
			      path, ev_get32(buf + 8), ev_get32(buf + 12),
			      CKPT_VERSION);
		ev_sethint(err, "it was written by a newer version of evlog");
		return r;
	}
	if (decode_body(buf + CKPT_HDR, (size_t)body, cp, &state, &why) != 0) {
		r = strcmp(why, "out of memory") == 0
			    ? ev_seterr(err, EV_ERR, "out of memory")
			    : ev_seterr(err, EV_EDATA,
					"projection checkpoint '%s' is "
					"damaged: %s",
					path, why);
		ev_checkpoint_clear(cp);
		return r;
	}
	if (want_state) {
		/* the buffer becomes the state's */
		uint8_t *st_p;
		memmove(buf, state, cp->state_n);
		st_p = realloc(buf, cp->state_n ? cp->state_n : 1);
		cp->state = st_p != NULL ? st_p : buf; /* it only shrinks */
		*bufp = NULL;
	}
	return 0;
}

/*
 * Read checkpoint file name of dirfd (path for messages) into cp (clear):
 * 0, EV_ENOENT, EV_EDATA, EV_EIO.  With want_state 0 the state is not
 * kept (state_n still tells its size).
 */
static int ckpt_read(int dirfd, const char *name, const char *path,
		     struct ev_checkpoint *cp, int want_state,
		     struct ev_error *err)
{
	struct stat st;
	uint8_t *buf = NULL;
	int fd, r;

	fd = ev_openat(dirfd, name, O_RDONLY, 0);
	if (fd < 0) {
		if (errno == ENOENT)
			return EV_ENOENT;
		/* bad data for a symbolic link or a FIFO (ev_openat()) */
		return ev_seterr_errno(err, EV_EIO, errno, "cannot read '%s'",
				       path);
	}
	if (fstat(fd, &st) != 0) {
		r = ev_seterr_errno(err, EV_EIO, errno, "cannot read '%s'",
				    path);
		goto out;
	}
	if ((uint64_t)st.st_size > EV_CKPT_MAX_BYTES) {
		r = ev_seterr(err, EV_EDATA,
			      "projection checkpoint '%s' is damaged: %lld "
			      "bytes, more than a checkpoint may have",
			      path, (long long)st.st_size);
		goto out;
	}
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (buf == NULL) {
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto out;
	}
	r = ev_read_full(fd, buf, (size_t)st.st_size, 0);
	if (r < 0) {
		r = ev_seterr_errno(err, EV_EIO, errno, "cannot read '%s'",
				    path);
		goto out;
	}
	if (r == 0) {
		r = ev_seterr(err, EV_EDATA,
			      "projection checkpoint '%s' is damaged: it "
			      "shrank while it was read",
			      path);
		goto out;
	}
	r = ckpt_parse(&buf, (size_t)st.st_size, path, cp, want_state, err);
out:
	free(buf);
	close(fd);
	return r;
}

int ev_checkpoint_encode(const struct ev_checkpoint *cp, struct ev_buf *out,
			 struct ev_error *err)
{
	const char *why = save_problem(cp);

	if (why != NULL)
		return ev_seterr(err, EV_EUSAGE,
				 "cannot save the checkpoint: %s", why);
	out->len = 0;
	if (encode(cp, out) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	return 0;
}

int ev_checkpoint_decode(const uint8_t *p, size_t n, const char *what,
			 struct ev_checkpoint *cp, struct ev_error *err)
{
	uint8_t *buf;
	int r;

	ev_checkpoint_clear(cp);
	if (n > EV_CKPT_MAX_BYTES)
		return ev_seterr(err, EV_EDATA,
				 "projection checkpoint '%s' is damaged: %zu "
				 "bytes, more than a checkpoint may have",
				 what, n);
	if ((buf = malloc(n ? n : 1)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (n > 0)
		memcpy(buf, p, n);
	r = ckpt_parse(&buf, n, what, cp, 1, err);
	free(buf);
	return r;
}

/* ------------------------------------------------------------ locking */

/* Make dir when missing, and sync the directory that holds it, so that
 * a checkpoint saved in it stays: 0 (*made when this call made it), or
 * EV_EIO. */
static int make_dir(const char *dir, int *made, struct ev_error *err)
{
	char *parent, *slash;
	int fd, r = 0;

	if (mkdir(dir, 0755) != 0) {
		if (errno == EEXIST)
			return 0;
		return ev_seterr_errno(err, EV_EIO, errno, "cannot create '%s'",
				       dir);
	}
	*made = 1;
	if ((parent = strdup(dir)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	slash = strrchr(parent, '/');
	if (slash == NULL)
		strcpy(parent, ".");
	else if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || ev_fsync_dir(fd) != 0)
		r = ev_seterr_errno(err, EV_EIO, errno, "cannot sync '%s'",
				    parent);
	if (fd >= 0)
		close(fd);
	free(parent);
	return r;
}

/* The directory of a log's projections: STATE_DIR/projections or
 * LOG/projections, made when create.  *dirfd -1 when it is missing
 * (and not made). */
static int proj_dir(struct ev_log *log, const char *state_dir, int create,
		    char **out, int *dirfd, int *made_state, int *made,
		    struct ev_error *err)
{
	char *dir;
	int fd, r;

	*made_state = *made = 0;
	*dirfd = -1;
	if (state_dir != NULL) {
		if (asprintf(&dir, "%s/projections", state_dir) < 0)
			dir = NULL;
	} else if (asprintf(&dir, "%s/projections", log->path) < 0) {
		dir = NULL;
	}
	if (dir == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (create && state_dir != NULL) {
		if ((r = make_dir(state_dir, made_state, err)) != 0 ||
		    (r = make_dir(dir, made, err)) != 0) {
			if (*made)
				(void)rmdir(dir);
			if (*made_state)
				(void)rmdir(state_dir);
			free(dir);
			return r;
		}
	} else if (create) {
		int existed =
			faccessat(log->dirfd, "projections", F_OK, 0) == 0;
		if (ev_log_mkdir(log, "projections", err) != 0) {
			free(dir);
			return err->code;
		}
		*made = !existed;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT && !create) {
			*out = dir;
			return 0;
		}
		ev_seterr_errno(err, e == ENOENT ? EV_ENOENT : EV_EIO, e,
				"cannot open '%s'", dir);
		free(dir);
		return err->code;
	}
	*out = dir;
	*dirfd = fd;
	return 0;
}

static int lock_common(struct ev_projlock **out, struct ev_log *log,
		       const char *topic, const char *name,
		       const char *state_dir, double wait,
		       struct ev_error *err);

int ev_projection_lock(struct ev_projlock **out, struct ev_log *log,
		       const char *name, const char *state_dir, double wait,
		       struct ev_error *err)
{
	return lock_common(out, log, NULL, name, state_dir, wait, err);
}

int ev_projection_lock_topic(struct ev_projlock **out, const char *topic,
			     const char *name, const char *state_dir,
			     double wait, struct ev_error *err)
{
	*out = NULL;
	if (state_dir == NULL)
		return ev_seterr(err, EV_EUSAGE,
				 "projection '%s' of kafka topic '%s' needs a "
				 "state directory for its checkpoint",
				 name, topic);
	return lock_common(out, NULL, topic, name, state_dir, wait, err);
}

static int lock_common(struct ev_projlock **out, struct ev_log *log,
		       const char *topic, const char *name,
		       const char *state_dir, double wait, struct ev_error *err)
{
	char file[EV_GROUP_NAME_MAX + 16];
	struct ev_projlock *pl;
	pid_t holder = 0;
	int r, lr, tries = 0;

	*out = NULL;
	if (!ev_group_name_ok(name))
		return ev_seterr(
			err, EV_EUSAGE,
			"'%s' is not a projection name (letters, digits, '.', "
			"'_' and '-', at most %d)",
			name, EV_GROUP_NAME_MAX);
	pl = calloc(1, sizeof(*pl));
	if (pl == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	pl->log = log;
	pl->dirfd = pl->lock_fd = -1;
	snprintf(pl->name, sizeof(pl->name), "%s", name);
	if ((state_dir != NULL &&
	     (pl->state_dir = strdup(state_dir)) == NULL) ||
	    (topic != NULL && (pl->topic = strdup(topic)) == NULL)) {
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	snprintf(file, sizeof(file), "%s.lock", name);
again:
	r = proj_dir(log, state_dir, 1, &pl->dir, &pl->dirfd,
		     &pl->made_state_dir, &pl->made_dir, err);
	if (r != 0)
		goto fail;
	if (pl->file == NULL &&
	    asprintf(&pl->file, "%s/%s.ckpt", pl->dir, name) < 0) {
		pl->file = NULL;
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	lr = ev_lockfile_take(pl->dirfd, file, wait, &pl->lock_fd, &holder);
	if (lr == EV_LOCKFILE_EOPEN && errno == ENOENT && tries++ < 100) {
		/* the holder that made the directory removed it as it
		 * let go, having saved nothing: make it again */
		close(pl->dirfd);
		pl->dirfd = -1;
		free(pl->dir);
		pl->dir = NULL;
		goto again;
	}
	switch (lr) {
	case EV_LOCKFILE_OK:
		break;
	case EV_LOCKFILE_BUSY: {
		char who[64] = "";
		if (holder > 0)
			snprintf(who, sizeof(who), " (pid %ld)", (long)holder);
		if (wait > 0)
			r = ev_seterr(err, EV_EAGAIN,
				      "projection '%s' is still in use by "
				      "another process%s after %g seconds",
				      name, who, wait);
		else
			r = ev_seterr(err, EV_EAGAIN,
				      "projection '%s' is in use by another "
				      "process%s",
				      name, who);
		goto fail;
	}
	case EV_LOCKFILE_EOPEN:
		r = ev_seterr_errno(err, EV_EIO, errno, "cannot open '%s/%s'",
				    pl->dir, file);
		goto fail;
	default:
		r = ev_seterr_errno(err, EV_EIO, errno, "cannot lock '%s/%s'",
				    pl->dir, file);
		goto fail;
	}
	snprintf(file, sizeof(file), "%s.ckpt", name);
	pl->saved = faccessat(pl->dirfd, file, F_OK, AT_SYMLINK_NOFOLLOW) == 0;
	*out = pl;
	return 0;
fail:
	ev_projection_unlock(pl);
	return r;
}

void ev_projection_unlock(struct ev_projlock *pl)
{
	char file[EV_GROUP_NAME_MAX + 16];

	if (pl == NULL)
		return;
	if (pl->lock_fd >= 0 && !pl->saved) {
		/* nothing to keep: the lock file goes while still held
		 * (ev_lockfile_take() takes a lock on a file since
		 * unlinked again), and the directories the lock made */
		snprintf(file, sizeof(file), "%s.lock", pl->name);
		(void)unlinkat(pl->dirfd, file, 0);
		if (pl->made_dir)
			(void)rmdir(pl->dir);
		if (pl->made_state_dir)
			(void)rmdir(pl->state_dir);
	} else if (pl->lock_fd < 0 && pl->dir != NULL) {
		/* the lock was not taken: only empty directories made */
		if (pl->made_dir)
			(void)rmdir(pl->dir);
		if (pl->made_state_dir)
			(void)rmdir(pl->state_dir);
	}
	if (pl->lock_fd >= 0)
		close(pl->lock_fd);
	if (pl->dirfd >= 0)
		close(pl->dirfd);
	free(pl->dir);
	free(pl->file);
	free(pl->state_dir);
	free(pl->topic);
	free(pl);
}

const char *ev_projlock_name(const struct ev_projlock *pl)
{
	return pl->name;
}

const char *ev_projlock_file(const struct ev_projlock *pl)
{
	return pl->file;
}

/* ------------------------------------------------------------ the file */

int ev_checkpoint_check_owner(const struct ev_checkpoint *cp, const char *what,
			      struct ev_log *log, const char *topic,
			      struct ev_error *err)
{
	if (topic != NULL && cp->topic == NULL)
		return ev_seterr(err, EV_EDATA,
				 "%s belongs to log %s, not to kafka topic "
				 "'%s'",
				 what, cp->log_id, topic);
	if (topic != NULL && strcmp(cp->topic, topic) != 0)
		return ev_seterr(err, EV_EDATA,
				 "%s belongs to kafka topic '%s', not to '%s'",
				 what, cp->topic, topic);
	if (topic == NULL && cp->topic != NULL)
		return ev_seterr(err, EV_EDATA,
				 "%s belongs to kafka topic '%s', but '%s' is "
				 "log %s",
				 what, cp->topic, log->path, log->id_hex);
	if (topic == NULL && strcmp(cp->log_id, log->id_hex) != 0)
		return ev_seterr(err, EV_EDATA,
				 "%s belongs to log %s, but '%s' is log %s",
				 what, cp->log_id, log->path, log->id_hex);
	return 0;
}

int ev_checkpoint_set_owner(struct ev_checkpoint *cp, struct ev_log *log,
			    const char *topic, struct ev_error *err)
{
	if (topic != NULL) {
		char *t = strdup(topic);
		if (t == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		free(cp->topic);
		cp->topic = t;
		memcpy(cp->log_id, KAFKA_LOG_ID, 33);
		cp->next = 0;
	} else {
		free(cp->topic);
		cp->topic = NULL;
		memcpy(cp->log_id, log->id_hex, 33);
	}
	return 0;
}

int ev_checkpoint_load(struct ev_projlock *pl, struct ev_checkpoint *cp,
		       struct ev_error *err)
{
	char file[EV_GROUP_NAME_MAX + 16];
	char what[4200];
	int r;

	ev_checkpoint_clear(cp);
	snprintf(file, sizeof(file), "%s.ckpt", pl->name);
	r = ckpt_read(pl->dirfd, file, pl->file, cp, 1, err);
	if (r != 0)
		return r;
	pl->saved = 1;
	snprintf(what, sizeof(what), "projection checkpoint '%s'", pl->file);
	r = ev_checkpoint_check_owner(cp, what, pl->log, pl->topic, err);
	if (r != 0) {
		ev_checkpoint_clear(cp);
		return r;
	}
	return 0;
}

int ev_checkpoint_save(struct ev_projlock *pl, struct ev_checkpoint *cp,
		       struct ev_error *err)
{
	char file[EV_GROUP_NAME_MAX + 16];
	struct ev_buf b = {0};
	const char *why;
	int r = 0;

	if ((r = ev_checkpoint_set_owner(cp, pl->log, pl->topic, err)) != 0)
		return r;
	if ((why = save_problem(cp)) != NULL)
		return ev_seterr(err, EV_EUSAGE,
				 "cannot save projection '%s': %s", pl->name,
				 why);
	cp->updated = ev_now();
	if (encode(cp, &b) != 0) {
		ev_buf_free(&b);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	if (b.len > EV_CKPT_MAX_BYTES) {
		ev_buf_free(&b);
		return ev_seterr(err, EV_EUSAGE,
				 "cannot save projection '%s': its checkpoint "
				 "would be larger than %u bytes",
				 pl->name, EV_CKPT_MAX_BYTES);
	}
	snprintf(file, sizeof(file), "%s.ckpt", pl->name);
	if (ev_file_replace(pl->dirfd, file, b.p, b.len) != 0)
		r = ev_seterr_errno(err, EV_EIO, errno,
				    "cannot save projection '%s' to '%s'",
				    pl->name, pl->file);
	else
		pl->saved = 1;
	ev_buf_free(&b);
	return r;
}

int ev_checkpoint_delete(struct ev_projlock *pl, struct ev_error *err)
{
	char file[EV_GROUP_NAME_MAX + 16];

	snprintf(file, sizeof(file), "%s.ckpt", pl->name);
	if (unlinkat(pl->dirfd, file, 0) != 0) {
		if (errno == ENOENT)
			return 0;
		return ev_seterr_errno(err, EV_EIO, errno, "cannot remove '%s'",
				       pl->file);
	}
	if (ev_fsync_dir(pl->dirfd) != 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot sync '%s'",
				       pl->dir);
	/* the lock file stays until unlock, which removes it */
	pl->saved = 0;
	return 0;
}

/* ------------------------------------------------------------ listing */

static int info_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ev_checkpoint_info *)a)->name,
		      ((const struct ev_checkpoint_info *)b)->name);
}

void ev_checkpoint_list_free(struct ev_checkpoint_info *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(v[i].file);
		free(v[i].problem);
		ev_checkpoint_clear(&v[i].cp);
	}
	free(v);
}

static int list_common(struct ev_log *log, const char *topic,
		       const char *state_dir, struct ev_checkpoint_info **out,
		       size_t *count, struct ev_error *err);

int ev_checkpoint_list(struct ev_log *log, const char *state_dir,
		       struct ev_checkpoint_info **out, size_t *count,
		       struct ev_error *err)
{
	return list_common(log, NULL, state_dir, out, count, err);
}

int ev_checkpoint_list_topic(const char *topic, const char *state_dir,
			     struct ev_checkpoint_info **out, size_t *count,
			     struct ev_error *err)
{
	*out = NULL;
	*count = 0;
	if (state_dir == NULL)
		return ev_seterr(err, EV_EUSAGE,
				 "the projections of kafka topic '%s' need "
				 "a state directory",
				 topic);
	return list_common(NULL, topic, state_dir, out, count, err);
}

/* The checkpoints of log, or of topic, in state_dir or the log's. */
static int list_common(struct ev_log *log, const char *topic,
		       const char *state_dir, struct ev_checkpoint_info **out,
		       size_t *count, struct ev_error *err)
{
	struct ev_checkpoint_info *v = NULL, *nv;
	char *dir = NULL;
	size_t n = 0, cap = 0, len;
	struct dirent *de;
	int dirfd, fd, made, made_state, r;
	DIR *d;

	*out = NULL;
	*count = 0;
	r = proj_dir(log, state_dir, 0, &dir, &dirfd, &made_state, &made, err);
	if (r != 0)
		return r;
	if (dirfd < 0) {
		free(dir);
		return 0; /* no projections yet */
	}
	/* a descriptor of its own: a listing has its own position */
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		r = ev_seterr_errno(err, EV_EIO, errno, "cannot list '%s'",
				    dir);
		if (fd >= 0)
			close(fd);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		struct ev_checkpoint_info *e;
		struct ev_error e_err;
		char lock[EV_GROUP_NAME_MAX + 16];
		int lr;
		len = strlen(de->d_name);
		if (len <= 5 || strcmp(de->d_name + len - 5, ".ckpt") != 0 ||
		    len - 5 > EV_GROUP_NAME_MAX)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL) {
				r = ev_seterr(err, EV_ERR, "out of memory");
				break;
			}
			v = nv;
		}
		e = &v[n];
		memset(e, 0, sizeof(*e));
		ev_checkpoint_init(&e->cp);
		memcpy(e->name, de->d_name, len - 5);
		e->name[len - 5] = '\0';
		if (!ev_group_name_ok(e->name))
			continue;
		if (asprintf(&e->file, "%s/%s", dir, de->d_name) < 0) {
			e->file = NULL;
			r = ev_seterr(err, EV_ERR, "out of memory");
			break;
		}
		lr = ckpt_read(dirfd, de->d_name, e->file, &e->cp, 0, &e_err);
		if (lr == EV_ENOENT ||
		    (lr == 0 && topic == NULL &&
		     strcmp(e->cp.log_id, log->id_hex) != 0) ||
		    (lr == 0 && topic != NULL &&
		     (e->cp.topic == NULL ||
		      strcmp(e->cp.topic, topic) != 0))) {
			/* gone since, or another log's */
			free(e->file);
			ev_checkpoint_clear(&e->cp);
			continue;
		}
		if (lr == EV_ERR) {
			free(e->file);
			r = ev_seterr(err, EV_ERR, "%s", e_err.msg);
			break;
		}
		if (lr != 0) {
			e->damaged = 1;
			e->status = lr;
			e->problem = strdup(e_err.msg);
			if (e->problem == NULL) {
				free(e->file);
				r = ev_seterr(err, EV_ERR, "out of memory");
				break;
			}
		}
		snprintf(lock, sizeof(lock), "%s.lock", e->name);
		e->busy = ev_lockfile_busy(dirfd, lock);
		n++;
	}
	closedir(d);
	if (r != 0) {
		ev_checkpoint_list_free(v, n);
		goto out;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), info_cmp);
	*out = v;
	*count = n;
out:
	close(dirfd);
	free(dir);
	return r;
}
