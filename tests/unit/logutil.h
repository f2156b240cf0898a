/*
 * logutil.h - test logs for test_log.c and test_index.c: create a log in
 * a temporary directory, append numbered events through the public
 * writer API, and look at the files underneath (segment batches, head,
 * indexes).
 *
 * Event i has id "e<i>" (seven digits), type "T<i % 5>", the time the
 * caller's function gives it, and data {"i":i,"pad":"..."} of a length
 * that varies with i.
 */
#ifndef EVLOG_LOGUTIL_H
#define EVLOG_LOGUTIL_H

#include <fcntl.h>

#include "unit.h"

struct tlog {
	char *dir;
	char path[4200];
	struct ev_log *log;
	int notices;
	char last_notice[600];
};

typedef ev_time_t (*tlog_timef)(int i);

static inline ev_time_t tlog_time_inorder(int i)
{
	return 1700000000000000000LL + (ev_time_t)i * 1000000;
}

static inline void tlog_notice(void *ctx, const char *msg)
{
	struct tlog *t = ctx;

	t->notices++;
	snprintf(t->last_notice, sizeof(t->last_notice), "%s", msg);
}

static inline void tlog_open(struct tlog *t)
{
	struct ev_error err;

	if (ev_log_open(&t->log, t->path, &err) != 0)
		fail_msg("ev_log_open: %s", err.msg);
}

static inline void tlog_close(struct tlog *t)
{
	ev_log_close(t->log);
	t->log = NULL;
}

static inline void tlog_create(struct tlog *t, uint64_t segment_bytes,
			       int level)
{
	struct ev_log_config cfg;
	struct ev_error err;

	memset(t, 0, sizeof(*t));
	t->dir = unit_tmpdir();
	snprintf(t->path, sizeof(t->path), "%s/log", t->dir);
	ev_log_config_init(&cfg);
	if (segment_bytes)
		cfg.segment_bytes = segment_bytes;
	cfg.level = level;
	cfg.sync = EV_SYNC_NONE; /* fast; durability is not what these test */
	if (ev_log_create(t->path, &cfg, &err) != 0)
		fail_msg("ev_log_create: %s", err.msg);
	tlog_open(t);
}

static inline void tlog_free(struct tlog *t)
{
	tlog_close(t);
	unit_rmtree(t->dir);
	t->dir = NULL;
}

/* one encoded event */
static inline void tlog_event(int i, ev_time_t time, struct ev_buf *out)
{
	static const char pad[] = "abcdefghijklmnopqrstuvwxyz0123456789"
				  "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	char id[16], type[8];
	uint8_t data[128], *o = data;
	struct ev_fields f;
	struct ev_error err;
	size_t padn = (size_t)(i * 7 % 50);

	snprintf(id, sizeof(id), "e%07d", i);
	snprintf(type, sizeof(type), "T%d", i % 5);
	o = ev_mp_map_hdr(o, 2);
	o = ev_mp_str_hdr(o, 1);
	*o++ = 'i';
	o = ev_mp_int(o, i);
	o = ev_mp_str_hdr(o, 3);
	memcpy(o, "pad", 3);
	o += 3;
	o = ev_mp_str_hdr(o, padn);
	memcpy(o, pad + (i % 7), padn);
	o += padn;
	ev_fields_init(&f);
	f.id = id;
	f.id_n = strlen(id);
	f.type = type;
	f.type_n = strlen(type);
	f.time = time;
	f.data = data;
	f.data_n = (size_t)(o - data);
	out->len = 0;
	if (ev_record_encode(&f, time, out, NULL, &err) != 0)
		fail_msg("ev_record_encode: %s", err.msg);
}

/* append events from..from+count-1 in batches of about batch_bytes */
static inline void tlog_append(struct tlog *t, int from, int count,
			       size_t batch_bytes, tlog_timef tf)
{
	struct ev_writer_opts o;
	struct ev_writer *w;
	struct ev_error err;
	struct ev_buf rec = {0};
	int i;

	memset(&o, 0, sizeof(o));
	o.batch_bytes = batch_bytes;
	o.notice = tlog_notice;
	o.ctx = t;
	if (ev_writer_open(&w, t->log, &o, &err) != 0)
		fail_msg("ev_writer_open: %s", err.msg);
	for (i = from; i < from + count; i++) {
		ev_time_t tm = tf(i);
		tlog_event(i, tm, &rec);
		if (ev_writer_add(w, rec.p, rec.len, tm, &err) != 0)
			fail_msg("ev_writer_add: %s", err.msg);
	}
	if (ev_writer_close(w, &err) != 0)
		fail_msg("ev_writer_close: %s", err.msg);
	ev_buf_free(&rec);
}

/* the sequence number of a record's event, checking its id */
static inline int tlog_seq(const struct ev_rec *r)
{
	struct ev_event ev;
	struct ev_error err;
	char id[16];

	if (ev_event_decode(r->p, r->n, &ev, &err) != 0)
		fail_msg("offset %llu does not decode: %s",
			 (unsigned long long)r->offset, err.msg);
	if (ev.id.n != 8 || ev.id.p[0] != 'e')
		fail_msg("offset %llu has an unexpected id",
			 (unsigned long long)r->offset);
	memcpy(id, ev.id.p + 1, 7);
	id[7] = '\0';
	return atoi(id);
}

static inline char *tlog_file(const struct tlog *t, uint64_t base,
			      const char *ext, char *buf, size_t n)
{
	char name[40];

	ev_segment_name(name, sizeof(name), base, ext);
	snprintf(buf, n, "%s/%s", t->path, name);
	return buf;
}

/* the valid batches of a segment file, walked from its header */
struct tbatch {
	uint64_t pos, base;
	uint32_t count, stored_len;
	ev_time_t min_time, max_time;
};

static inline size_t tlog_batches(const char *path, struct tbatch **out,
				  uint64_t *salt)
{
	size_t len, n = 0, cap = 0;
	char *b = unit_read_file(path, &len);
	const uint8_t *p = (const uint8_t *)b;
	struct ev_seghdr sh;
	struct ev_batchhdr h;
	struct ev_error err;
	const char *why;
	uint64_t pos = EV_SEGHDR_SIZE;
	struct tbatch *v = NULL;

	if (b == NULL)
		fail_msg("cannot read '%s'", path);
	if (ev_seghdr_decode(p, len, &sh, path, &err) != 0)
		fail_msg("%s", err.msg);
	while (pos + EV_BATCHHDR_SIZE <= len &&
	       ev_batchhdr_decode(p + pos, sh.salt, &h, &why) == 0 &&
	       pos + EV_BATCHHDR_SIZE + h.stored_len <= len) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			v = realloc(v, cap * sizeof(*v));
			assert_non_null(v);
		}
		v[n].pos = pos;
		v[n].base = h.base;
		v[n].count = h.count;
		v[n].stored_len = h.stored_len;
		v[n].min_time = h.min_time;
		v[n].max_time = h.max_time;
		n++;
		pos += EV_BATCHHDR_SIZE + h.stored_len;
	}
	free(b);
	if (salt)
		*salt = sh.salt;
	*out = v;
	return n;
}

static inline off_t tlog_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* flip one byte of a file in place */
static inline void tlog_flip(const char *path, off_t at, uint8_t mask)
{
	int fd = open(path, O_RDWR);
	uint8_t c;

	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, at), 1);
	c ^= mask;
	assert_int_equal(pwrite(fd, &c, 1, at), 1);
	close(fd);
}

/* the segment bases of the log, in order */
static inline size_t tlog_segments(const struct tlog *t, uint64_t **segs)
{
	struct ev_error err;
	size_t n;

	if (ev_log_segments(t->log->dirfd, segs, &n, &err) != 0)
		fail_msg("%s", err.msg);
	return n;
}

#endif
