/*
 * typecount.c - events per type (evctl info --types, evctl metrics),
 * with an incremental cache in LOG/typecounts (evlog(5) LOG DIRECTORY).
 *
 * The cache holds the log id, the offset range it covers and one
 * "count<TAB>type" line per type.  It is used only when it belongs to
 * this log, starts at the log's first offset and ends at or before its
 * end; otherwise the log is counted from the start.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evlog_private.h"

struct counts {
	struct ev_type_count *v;
	size_t n, cap;
};

static int add(struct counts *c, const char *t, size_t tn, uint64_t k)
{
	size_t i;
	struct ev_type_count *nv;

	/* few distinct types: a linear scan with a move-to-front */
	for (i = 0; i < c->n; i++)
		if (strlen(c->v[i].name) == tn &&
		    memcmp(c->v[i].name, t, tn) == 0)
			break;
	if (i == c->n) {
		if (c->n == c->cap) {
			c->cap = c->cap ? 2 * c->cap : 32;
			nv = realloc(c->v, c->cap * sizeof(*nv));
			if (nv == NULL)
				return EV_ERR;
			c->v = nv;
		}
		c->v[i].name = strndup(t, tn);
		if (c->v[i].name == NULL)
			return EV_ERR;
		c->v[i].n = 0;
		c->n++;
	}
	c->v[i].n += k;
	if (i > 0) {
		struct ev_type_count tmp = c->v[i];
		c->v[i] = c->v[0];
		c->v[0] = tmp;
	}
	return 0;
}

static int cmp(const void *a, const void *b)
{
	const struct ev_type_count *x = a, *y = b;

	if (x->n != y->n)
		return x->n > y->n ? -1 : 1;
	return strcmp(x->name, y->name);
}

void ev_type_counts_free(struct ev_type_count *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i].name);
	free(v);
}

/* Load the cache: 1 with *from..*to and counts, 0 when unusable. */
static int cache_load(struct ev_log *log, uint64_t first, uint64_t end,
		      struct counts *c, uint64_t *to)
{
	char *buf = NULL, *line, *save, id[64];
	unsigned long long a, b, k;
	size_t cap = 0, len = 0;
	ssize_t r;
	int fd, ok = 0, tab;

	fd = ev_openat(log->dirfd, "typecounts", O_RDONLY, 0);
	if (fd < 0)
		return 0;
	for (;;) {
		if (len + 4096 > cap) {
			char *nb = realloc(buf, cap = cap * 2 + 8192);
			if (nb == NULL)
				goto out;
			buf = nb;
		}
		r = read(fd, buf + len, cap - len - 1);
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	buf[len] = '\0';
	line = strtok_r(buf, "\n", &save);
	if (line == NULL ||
	    sscanf(line,
		   "evlog-typecounts 1 log=%40s from=%llu "
		   "to=%llu",
		   id, &a, &b) != 3 ||
	    strcmp(id, log->id_hex) != 0 || a != first || b > end || b < a)
		goto out;
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		if (sscanf(line, "%llu%n", &k, &tab) != 1 || line[tab] != '\t')
			goto out;
		if (add(c, line + tab + 1, strlen(line + tab + 1), k) != 0)
			goto out;
	}
	*to = b;
	ok = 1;
out:
	if (!ok) {
		ev_type_counts_free(c->v, c->n);
		memset(c, 0, sizeof(*c));
	}
	free(buf);
	close(fd);
	return ok;
}

/* Write the cache; failure (a read-only log) is not an error. */
static void cache_store(struct ev_log *log, uint64_t from, uint64_t to,
			const struct counts *c)
{
	struct ev_buf b = {0};
	char line[128];
	size_t i;
	int ok;

	snprintf(line, sizeof(line),
		 "evlog-typecounts 1 log=%s from=%llu to=%llu\n", log->id_hex,
		 (unsigned long long)from, (unsigned long long)to);
	ok = ev_buf_puts(&b, line) == 0;
	for (i = 0; ok && i < c->n; i++) {
		snprintf(line, sizeof(line), "%llu\t",
			 (unsigned long long)c->v[i].n);
		ok = ev_buf_puts(&b, line) == 0 &&
		     ev_buf_puts(&b, c->v[i].name) == 0 &&
		     ev_buf_putc(&b, '\n') == 0;
	}
	if (ok)
		ev_file_replace(log->dirfd, "typecounts", b.p, b.len);
	ev_buf_free(&b);
}

/* The counts, from the cache and the events after it; with only_cached,
 * 1 (and no counts) when the cache does not cover the whole log. */
static int type_counts(struct ev_log *log, struct ev_type_count **out,
		       size_t *n, int only_cached, struct ev_error *err)
{
	struct ev_reader *rd = NULL;
	struct counts c = {0};
	struct ev_rec rec;
	struct ev_str t;
	uint64_t from, to = 0, cached = UINT64_MAX;
	int r;

	*out = NULL;
	*n = 0;
	r = ev_reader_open(&rd, log, err);
	if (r != 0)
		return r;
	from = ev_reader_first_offset(rd);
	if (!cache_load(log, from, ev_reader_end_offset(rd), &c, &to))
		to = from;
	else
		cached = to;
	if (only_cached &&
	    (cached == UINT64_MAX || cached != ev_reader_end_offset(rd))) {
		ev_reader_free(rd);
		ev_type_counts_free(c.v, c.n);
		return 1;
	}
	r = ev_reader_seek(rd, to, err);
	while (r == 0 && (r = ev_reader_next(rd, &rec, err)) == 1) {
		r = 0;
		if (ev_event_peek_type(rec.p, rec.n, &t) != 0) {
			r = ev_seterr(
				err, EV_EDATA,
				"damaged data in '%s': offset %llu: invalid "
				"record",
				log->path, (unsigned long long)rec.offset);
			break;
		}
		if (add(&c, t.p, t.n, 1) != 0) {
			r = ev_seterr(err, EV_ERR, "out of memory");
			break;
		}
		to = rec.offset + 1;
	}
	ev_reader_free(rd);
	if (r < 0) {
		ev_type_counts_free(c.v, c.n);
		return r;
	}
	/* a cache that covers what there is stays as it is: no write and no
	 * sync on every read */
	if (to != cached)
		cache_store(log, from, to, &c);
	if (c.n > 1)
		qsort(c.v, c.n, sizeof(*c.v), cmp);
	*out = c.v;
	*n = c.n;
	return 0;
}

int ev_log_type_counts(struct ev_log *log, struct ev_type_count **out,
		       size_t *n, struct ev_error *err)
{
	return type_counts(log, out, n, 0, err);
}

int ev_log_type_counts_cached(struct ev_log *log, struct ev_type_count **out,
			      size_t *n, struct ev_error *err)
{
	return type_counts(log, out, n, 1, err);
}
