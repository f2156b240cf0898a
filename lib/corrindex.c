/*
 * corrindex.c - the correlation index (evlog(5) CORRELATION INDEX):
 * which offsets hold an event whose id, or whose meta.correlationId, is
 * a given string, without scanning the log.
 *
 * The index is a set of sorted runs in LOG/corrindex/, each covering a
 * range of offsets: (hash, offset) entries, hashed with ev_hash64().
 * It is a cache.  A lookup reads the runs that check out, scans the
 * offsets no run covers (and stores what it read there as a new run),
 * and every candidate is read and compared before it is given out: a
 * missing, stale, torn or hostile run costs a scan, never a wrong
 * answer.  Runs are merged as they pile up, two neighbours of about the
 * same size at a time, so a log holds O(log n) of them.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "corrindex_int.h"
#include "evlog_private.h"

#define CIX_DIR "corrindex"
#define CIX_MAGIC "EVCORRIX"
#define CIX_HDR 64
#define CIX_ENTRY 16
#define CIX_PAGE 256 /* entries per page a writer uses */
#define CIX_MAX_PAGE 65536
#define CIX_MAX_RUNS 4096 /* more files than this: the rest are ignored */
#define CIX_NAME_LEN 45	  /* 20 digits, '-', 20 digits, ".cix" */
/* candidates of one key from the runs, at most: past it, runs that a
 * hostile hand filled with wrong entries could push the right ones out,
 * so the log is read instead; and events of one key, at most */
#define CIX_MAX_HITS 1000000

struct cix_ent {
	uint64_t h, off;
};

struct cix_run {
	char name[CIX_NAME_LEN + 1];
	uint64_t first, end, count;
	uint32_t page;
	int bad; /* did not check out: not used, removed when we may */
};

struct cix_vec {
	struct cix_ent *v;
	size_t n, cap;
};

static int vec_push(struct cix_vec *a, uint64_t h, uint64_t off)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 4096;
		struct cix_ent *nv = realloc(a->v, cap * sizeof(*nv));
		if (nv == NULL)
			return -1;
		a->v = nv;
		a->cap = cap;
	}
	a->v[a->n].h = h;
	a->v[a->n].off = off;
	a->n++;
	return 0;
}

struct u64vec {
	uint64_t *v;
	size_t n, cap;
};

static int u64_push(struct u64vec *a, uint64_t x)
{
	if (a->n == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 64;
		uint64_t *nv = realloc(a->v, cap * sizeof(*nv));
		if (nv == NULL)
			return -1;
		a->v = nv;
		a->cap = cap;
	}
	a->v[a->n++] = x;
	return 0;
}

/* Stable LSD radix sort by hash, 16 bits a pass: entries scanned in
 * offset order stay in offset order within a hash. */
static int sort_entries(struct cix_vec *a)
{
	struct cix_ent *tmp, *src = a->v, *dst, *t;
	size_t *cnt, i, sum, c;
	int pass;

	if (a->n < 2)
		return 0;
	tmp = malloc(a->n * sizeof(*tmp));
	cnt = malloc(65536 * sizeof(*cnt));
	if (tmp == NULL || cnt == NULL) {
		free(tmp);
		free(cnt);
		return -1;
	}
	dst = tmp;
	for (pass = 0; pass < 4; pass++) {
		int sh = 16 * pass;
		memset(cnt, 0, 65536 * sizeof(*cnt));
		for (i = 0; i < a->n; i++)
			cnt[(src[i].h >> sh) & 0xffff]++;
		if (cnt[(src[0].h >> sh) & 0xffff] == a->n)
			continue; /* one digit for all: nothing moves */
		for (i = 0, sum = 0; i < 65536; i++) {
			c = cnt[i];
			cnt[i] = sum;
			sum += c;
		}
		for (i = 0; i < a->n; i++)
			dst[cnt[(src[i].h >> sh) & 0xffff]++] = src[i];
		t = src;
		src = dst;
		dst = t;
	}
	if (src != a->v) {
		memcpy(a->v, src, a->n * sizeof(*src));
		free(src);
	} else {
		free(tmp);
	}
	free(cnt);
	return 0;
}

/* ------------------------------------------------------------ records */

/* The id and the meta.correlationId (a str, or absent) of a record,
 * without decoding the rest.  0, or -1 when it is not a record. */
static int rec_keys(const uint8_t *p, size_t n, struct ev_str *id,
		    struct ev_str *corr)
{
	const uint8_t *q = p, *end = p + n;
	struct ev_mp_item it, k, v;
	uint32_t i, j;

	id->p = corr->p = NULL;
	id->n = corr->n = 0;
	if (ev_mp_read(&q, end, &it) != 0 || it.type != EV_MP_MAP)
		return -1;
	for (i = 0; i < it.n; i++) {
		if (ev_mp_read(&q, end, &k) != 0 || k.type != EV_MP_UINT)
			return -1;
		if (k.v.u == 1) {
			if (ev_mp_read(&q, end, &v) != 0 || v.type != EV_MP_STR)
				return -1;
			id->p = (const char *)v.p;
			id->n = v.n;
		} else if (k.v.u == 9) {
			if (ev_mp_read(&q, end, &v) != 0 || v.type != EV_MP_MAP)
				return -1;
			for (j = 0; j < v.n; j++) {
				struct ev_mp_item mk, mv;
				if (ev_mp_read(&q, end, &mk) != 0)
					return -1;
				/* the last of duplicate keys wins, as for
				 * ev_mp_path() (--where, the trace's tree) */
				if (mk.type == EV_MP_STR && mk.n == 13 &&
				    memcmp(mk.p, "correlationId", 13) == 0) {
					const uint8_t *q0 = q;
					if (ev_mp_read(&q, end, &mv) != 0)
						return -1;
					corr->p = NULL;
					corr->n = 0;
					if (mv.type == EV_MP_STR) {
						corr->p = (const char *)mv.p;
						corr->n = mv.n;
						continue;
					}
					q = q0;
				}
				if (ev_mp_skip_fast(&q, end) != 0)
					return -1;
			}
		} else if (ev_mp_skip_fast(&q, end) != 0) {
			return -1;
		}
	}
	return id->p == NULL ? -1 : 0;
}

static int str_is(struct ev_str s, const char *key, size_t n)
{
	return s.p != NULL && s.n == n && memcmp(s.p, key, n) == 0;
}

/* ------------------------------------------------------------ runs */

/* LOG/corrindex, never through a symbolic link (evlog(5)): one there,
 * as any other file that is not a directory, means no index */
static int run_dir(struct ev_log *log)
{
	return ev_openat(log->dirfd, CIX_DIR,
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
}

static uint64_t npages(uint64_t count, uint32_t page)
{
	return (count + page - 1) / page;
}

/* "FIRST-END.cix": 1 with the range, 0 another name */
static int parse_name(const char *s, uint64_t *first, uint64_t *end)
{
	int i;

	if (strlen(s) != CIX_NAME_LEN || s[20] != '-' ||
	    strcmp(s + 41, ".cix") != 0)
		return 0;
	*first = *end = 0;
	for (i = 0; i < 20; i++) {
		if (s[i] < '0' || s[i] > '9' || s[21 + i] < '0' ||
		    s[21 + i] > '9')
			return 0;
		if (*first > (UINT64_MAX - 9) / 10 ||
		    *end > (UINT64_MAX - 9) / 10)
			return 0;
		*first = *first * 10 + (uint64_t)(s[i] - '0');
		*end = *end * 10 + (uint64_t)(s[21 + i] - '0');
	}
	return 1;
}

static void encode_hdr(uint8_t h[CIX_HDR], struct ev_log *log, uint64_t first,
		       uint64_t end, uint64_t count, uint32_t epoch)
{
	memset(h, 0, CIX_HDR);
	memcpy(h, CIX_MAGIC, 8);
	ev_put16(h + 8, 1);
	ev_put32(h + 12, CIX_PAGE);
	memcpy(h + 16, log->id, 16);
	ev_put64(h + 32, first);
	ev_put64(h + 40, end);
	ev_put64(h + 48, count);
	ev_put32(h + 56, epoch);
	ev_put32(h + 60, ev_crc32c(0, h, 60));
}

/* Check a run's header and size: 0, or -1 when it does not check out. */
static int check_run(int dfd, struct cix_run *r, struct ev_log *log,
		     uint32_t epoch, uint64_t log_end)
{
	uint8_t h[CIX_HDR];
	struct stat st;
	uint64_t pages;
	int fd, ok;

	fd = ev_openat(dfd, r->name, O_RDONLY, 0);
	if (fd < 0)
		return -1;
	ok = fstat(fd, &st) == 0 && ev_read_full(fd, h, CIX_HDR, 0) == 1;
	close(fd);
	if (!ok || memcmp(h, CIX_MAGIC, 8) != 0 ||
	    ev_get32(h + 60) != ev_crc32c(0, h, 60) || ev_get16(h + 8) != 1 ||
	    ev_get16(h + 10) != 0 || memcmp(h + 16, log->id, 16) != 0)
		return -1;
	r->page = ev_get32(h + 12);
	r->count = ev_get64(h + 48);
	if (r->page == 0 || r->page > CIX_MAX_PAGE ||
	    ev_get64(h + 32) != r->first || ev_get64(h + 40) != r->end ||
	    r->first >= r->end || r->end > log_end ||
	    ev_get32(h + 56) != epoch ||
	    r->count > ((uint64_t)st.st_size - CIX_HDR) / CIX_ENTRY)
		return -1;
	pages = npages(r->count, r->page);
	if ((uint64_t)st.st_size != CIX_HDR + r->count * CIX_ENTRY + 4 * pages)
		return -1;
	return 0;
}

/* Read page i of run r into buf (r->page entries at most) and check it:
 * its CRC, entries in order, hashes not 0, offsets in the run's range.
 * The number of entries, or -1. */
static long read_page(int fd, const struct cix_run *r, uint64_t i, uint8_t *buf)
{
	uint64_t pages = npages(r->count, r->page), k, n;
	uint8_t crc[4];
	uint64_t prev_h = 0, prev_o = 0;

	if (i >= pages)
		return -1;
	n = i + 1 < pages ? r->page : r->count - i * r->page;
	if (ev_read_full(fd, buf, n * CIX_ENTRY,
			 CIX_HDR + i * r->page * CIX_ENTRY) != 1 ||
	    ev_read_full(fd, crc, 4, CIX_HDR + r->count * CIX_ENTRY + 4 * i) !=
		    1 ||
	    ev_get32(crc) != ev_crc32c(0, buf, n * CIX_ENTRY))
		return -1;
	for (k = 0; k < n; k++) {
		uint64_t h = ev_get64(buf + k * CIX_ENTRY);
		uint64_t o = ev_get64(buf + k * CIX_ENTRY + 8);
		if (h == 0 || o < r->first || o >= r->end ||
		    (k > 0 && (h < prev_h || (h == prev_h && o <= prev_o))))
			return -1;
		prev_h = h;
		prev_o = o;
	}
	return (long)n;
}

/* The offsets of run r under hash h, onto out: 0, -1 when the run
 * does not check out, or -2 when out would hold more than CIX_MAX_HITS. */
static int run_lookup(int dfd, const struct cix_run *r, uint64_t h,
		      struct u64vec *out)
{
	uint64_t pages = npages(r->count, r->page), lo = 0, hi, i;
	uint8_t *buf;
	long n, k;
	int fd, rc = -1;

	if (r->count == 0)
		return 0;
	fd = ev_openat(dfd, r->name, O_RDONLY, 0);
	if (fd < 0)
		return -1;
	buf = malloc((size_t)r->page * CIX_ENTRY);
	if (buf == NULL)
		goto out;
	/* the first page whose last hash is >= h */
	hi = pages;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if ((n = read_page(fd, r, mid, buf)) < 0)
			goto out;
		if (ev_get64(buf + (size_t)(n - 1) * CIX_ENTRY) < h)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (i = lo; i < pages; i++) {
		if ((n = read_page(fd, r, i, buf)) < 0)
			goto out;
		for (k = 0; k < n; k++) {
			uint64_t eh = ev_get64(buf + (size_t)k * CIX_ENTRY);
			if (eh > h) {
				rc = 0;
				goto out;
			}
			if (eh == h && out->n >= CIX_MAX_HITS) {
				rc = -2;
				goto out;
			}
			if (eh == h &&
			    u64_push(out, ev_get64(buf + (size_t)k * CIX_ENTRY +
						   8)) != 0)
				goto out;
		}
	}
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

/* Every entry of run r, checked, onto out: 0, or -1. */
static int run_load(int dfd, const struct cix_run *r, struct cix_vec *out)
{
	uint64_t pages = npages(r->count, r->page), i;
	uint8_t *buf;
	long n, k;
	int fd, rc = -1;

	fd = ev_openat(dfd, r->name, O_RDONLY, 0);
	if (fd < 0)
		return -1;
	buf = malloc((size_t)r->page * CIX_ENTRY);
	if (buf == NULL)
		goto out;
	for (i = 0; i < pages; i++) {
		if ((n = read_page(fd, r, i, buf)) < 0)
			goto out;
		for (k = 0; k < n; k++)
			if (vec_push(out, ev_get64(buf + (size_t)k * CIX_ENTRY),
				     ev_get64(buf + (size_t)k * CIX_ENTRY +
					      8)) != 0)
				goto out;
	}
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

/*
 * Replace name in dfd with p, atomically but not durably: a temporary
 * NAME.tmp.RANDOM, written, renamed over name.  Runs are caches whose
 * every byte is checked before use, so a crash that leaves one short or
 * zeroed costs a rebuild, not a wrong answer; syncing 16 bytes an event
 * would cost writers more than the index saves.  0, or -1.
 */
static int cache_replace(int dfd, const char *name, const void *p, size_t n)
{
	char tmp[CIX_NAME_LEN + 32];
	uint64_t rnd;
	int fd = -1, tries, ok;

	for (tries = 0; tries < 100; tries++) {
		ev_random(&rnd, sizeof(rnd));
		snprintf(tmp, sizeof(tmp), "%s.tmp.%016llx", name,
			 (unsigned long long)rnd);
		fd = ev_openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd >= 0)
			break;
		if (errno != EEXIST)
			return -1;
	}
	if (fd < 0)
		return -1;
	ok = ev_write_full(fd, p, n, 0) == 0;
	if (close(fd) != 0 || !ok || renameat(dfd, tmp, dfd, name) != 0) {
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	return 0;
}

/* Write a run of v (sorted) covering [first, end): 0, or -1 (a
 * read-only log: the index is a cache, so not an error for callers). */
static int run_write(struct ev_log *log, int dfd, uint64_t first, uint64_t end,
		     const struct cix_vec *v, uint32_t epoch)
{
	uint64_t pages = npages(v->n, CIX_PAGE), i;
	size_t size = CIX_HDR + v->n * CIX_ENTRY + 4 * (size_t)pages, k;
	uint8_t *b = malloc(size), *e;
	char name[CIX_NAME_LEN + 1];
	int rc;

	if (b == NULL)
		return -1;
	encode_hdr(b, log, first, end, v->n, epoch);
	e = b + CIX_HDR;
	for (k = 0; k < v->n; k++) {
		ev_put64(e + k * CIX_ENTRY, v->v[k].h);
		ev_put64(e + k * CIX_ENTRY + 8, v->v[k].off);
	}
	for (i = 0; i < pages; i++) {
		size_t n = i + 1 < pages ? CIX_PAGE : v->n - i * CIX_PAGE;
		ev_put32(e + v->n * CIX_ENTRY + 4 * i,
			 ev_crc32c(0, e + i * CIX_PAGE * CIX_ENTRY,
				   n * CIX_ENTRY));
	}
	snprintf(name, sizeof(name), "%020llu-%020llu.cix",
		 (unsigned long long)first, (unsigned long long)end);
	rc = cache_replace(dfd, name, b, size);
	free(b);
	return rc;
}

/* ------------------------------------------------------------ the set */

struct cix {
	struct ev_log *log;
	int dfd; /* LOG/corrindex, or -1 */
	uint32_t epoch;
	uint64_t first, end; /* the log's offsets */
	struct cix_run *runs;
	size_t nruns;
	int writable;
};

static int by_first(const void *a, const void *b)
{
	const struct cix_run *x = a, *y = b;

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return (x->end < y->end) - (x->end > y->end); /* longest first */
}

/* List and check the runs. */
static int cix_open(struct cix *c, struct ev_log *log, uint64_t first,
		    uint64_t end, int create, struct ev_error *err)
{
	DIR *d;
	struct dirent *de;
	int fd;

	memset(c, 0, sizeof(*c));
	c->log = log;
	c->first = first;
	c->end = end;
	c->epoch = (uint32_t)ev_state_epoch(log);
	c->dfd = run_dir(log);
	if (c->dfd < 0 && create) {
		struct ev_error e2;
		if (ev_log_mkdir(log, CIX_DIR, &e2) == 0)
			c->dfd = run_dir(log);
	}
	if (c->dfd < 0)
		return 0; /* no index: everything is a hole */
	c->writable = faccessat(c->dfd, ".", W_OK, AT_EACCESS) == 0;
	fd = openat(c->dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL && c->nruns < CIX_MAX_RUNS) {
		struct cix_run r;
		memset(&r, 0, sizeof(r));
		if (!parse_name(de->d_name, &r.first, &r.end))
			continue;
		memcpy(r.name, de->d_name, CIX_NAME_LEN + 1);
		/* a run wholly before the first offset (trimmed) is no use */
		r.bad = check_run(c->dfd, &r, log, c->epoch, end) != 0 ||
			r.end <= first;
		if (c->nruns % 16 == 0) {
			struct cix_run *nr =
				realloc(c->runs, (c->nruns + 16) * sizeof(*nr));
			if (nr == NULL) {
				closedir(d);
				return ev_seterr(err, EV_ERR, "out of memory");
			}
			c->runs = nr;
		}
		c->runs[c->nruns++] = r;
	}
	closedir(d);
	if (c->nruns > 1)
		qsort(c->runs, c->nruns, sizeof(*c->runs), by_first);
	return 0;
}

static void cix_close(struct cix *c)
{
	size_t i;

	/* what did not check out goes, so that it is rebuilt */
	for (i = 0; c->dfd >= 0 && c->writable && i < c->nruns; i++)
		if (c->runs[i].bad)
			unlinkat(c->dfd, c->runs[i].name, 0);
	if (c->dfd >= 0)
		close(c->dfd);
	free(c->runs);
	memset(c, 0, sizeof(*c));
	c->dfd = -1;
}

/* The ranges of [c->first, c->end) that no good run covers, onto holes
 * as pairs. */
static int holes(const struct cix *c, struct u64vec *out)
{
	uint64_t at = c->first;
	size_t i;

	for (i = 0; i < c->nruns; i++) {
		const struct cix_run *r = &c->runs[i];
		if (r->bad || r->end <= at)
			continue;
		if (r->first > at &&
		    (u64_push(out, at) != 0 ||
		     u64_push(out, r->first < c->end ? r->first : c->end) != 0))
			return -1;
		at = r->end;
		if (at >= c->end)
			break;
	}
	if (at < c->end && (u64_push(out, at) != 0 || u64_push(out, c->end)))
		return -1;
	return 0;
}

/* Merge neighbours (contiguous, good) while the later one holds at
 * least half the entries of the one before: run sizes then fall
 * geometrically along the log. */
static void compact(struct cix *c)
{
	size_t i;
	int again = 1;

	while (again && c->dfd >= 0 && c->writable) {
		again = 0;
		for (i = 0; i + 1 < c->nruns; i++) {
			struct cix_run *a = &c->runs[i], *b;
			struct cix_vec va = {0}, vb = {0}, m = {0};
			size_t j, k, x;
			size_t nb;
			if (a->bad)
				continue;
			for (nb = i + 1; nb < c->nruns && c->runs[nb].bad; nb++)
				;
			if (nb == c->nruns)
				break;
			b = &c->runs[nb];
			if (a->end != b->first || 2 * b->count < a->count)
				continue;
			if (run_load(c->dfd, a, &va) != 0) {
				a->bad = 1;
				again = 1;
				break;
			}
			if (run_load(c->dfd, b, &vb) != 0) {
				b->bad = 1;
				free(va.v);
				again = 1;
				break;
			}
			/* both sorted by (hash, offset); b's offsets follow a's
			 */
			m.cap = va.n + vb.n;
			m.v = malloc((m.cap ? m.cap : 1) * sizeof(*m.v));
			if (m.v == NULL) {
				free(va.v);
				free(vb.v);
				return;
			}
			for (j = k = x = 0; j < va.n || k < vb.n;)
				m.v[x++] = k == vb.n || (j < va.n &&
							 va.v[j].h <= vb.v[k].h)
						   ? va.v[j++]
						   : vb.v[k++];
			m.n = x;
			free(va.v);
			free(vb.v);
			if (run_write(c->log, c->dfd, a->first, b->end, &m,
				      c->epoch) == 0) {
				struct cix_run nr;
				memset(&nr, 0, sizeof(nr));
				nr.first = a->first;
				nr.end = b->end;
				nr.count = m.n;
				nr.page = CIX_PAGE;
				snprintf(nr.name, sizeof(nr.name),
					 "%020llu-%020llu.cix",
					 (unsigned long long)nr.first,
					 (unsigned long long)nr.end);
				unlinkat(c->dfd, a->name, 0);
				unlinkat(c->dfd, b->name, 0);
				*a = nr;
				memmove(b, b + 1,
					(c->nruns - nb - 1) * sizeof(*b));
				c->nruns--;
				/* a bad run of that name was replaced: it must
				 * not be removed as bad at the close */
				for (j = 0; j < c->nruns; j++)
					if (j != i && strcmp(c->runs[j].name,
							     nr.name) == 0) {
						memmove(&c->runs[j],
							&c->runs[j + 1],
							(c->nruns - j - 1) *
								sizeof(*b));
						c->nruns--;
						break;
					}
				again = 1;
			}
			free(m.v);
			if (again)
				break;
		}
	}
}

/* Add a new run (already written) to the set, in order. */
static int cix_add(struct cix *c, uint64_t first, uint64_t end, uint64_t count)
{
	struct cix_run r, *nr;
	size_t i;

	memset(&r, 0, sizeof(r));
	r.first = first;
	r.end = end;
	r.count = count;
	r.page = CIX_PAGE;
	snprintf(r.name, sizeof(r.name), "%020llu-%020llu.cix",
		 (unsigned long long)first, (unsigned long long)end);
	for (i = 0; i < c->nruns; i++)
		if (strcmp(c->runs[i].name, r.name) == 0) {
			c->runs[i] = r; /* replaced a bad one of that name */
			qsort(c->runs, c->nruns, sizeof(*c->runs), by_first);
			return 0;
		}
	nr = realloc(c->runs, (c->nruns + 1) * sizeof(*nr));
	if (nr == NULL)
		return -1;
	c->runs = nr;
	c->runs[c->nruns++] = r;
	qsort(c->runs, c->nruns, sizeof(*c->runs), by_first);
	return 0;
}

/* Scan [from, to) with rd: its entries, and the offsets whose id or
 * correlation id is key (when key is not NULL) onto hits. */
static int scan_range(struct ev_reader *rd, uint64_t from, uint64_t to,
		      const char *key, size_t kn, struct cix_vec *ents,
		      struct u64vec *hits, uint64_t *scanned, uint64_t *last,
		      const char *path, struct ev_error *err)
{
	struct ev_rec rec;
	struct ev_str id, corr;
	int r;

	*last = from;
	if ((r = ev_reader_seek(rd, from, err)) != 0)
		return r;
	while ((r = ev_reader_next(rd, &rec, err)) == 1) {
		if (rec.offset >= to)
			break;
		if (rec_keys(rec.p, rec.n, &id, &corr) != 0) {
			return ev_seterr(err, EV_EDATA,
					 "damaged data in '%s': offset %llu: "
					 "invalid record",
					 path, (unsigned long long)rec.offset);
		}
		(*scanned)++;
		*last = rec.offset + 1;
		if (ents != NULL &&
		    (vec_push(ents, ev_hash64(id.p, id.n), rec.offset) != 0 ||
		     (corr.p != NULL && !str_is(corr, id.p, id.n) &&
		      vec_push(ents, ev_hash64(corr.p, corr.n), rec.offset) !=
			      0)))
			return ev_seterr(err, EV_ERR, "out of memory");
		if (key != NULL &&
		    (str_is(id, key, kn) || str_is(corr, key, kn))) {
			if (hits->n >= CIX_MAX_HITS)
				return ev_seterr(err, EV_ERR,
						 "more than %d events have the "
						 "id or correlation id",
						 CIX_MAX_HITS);
			if (u64_push(hits, rec.offset) != 0)
				return ev_seterr(err, EV_ERR, "out of memory");
		}
	}
	if (r < 0)
		return r;
	*last = to; /* gaps at the end hold no event */
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/*
 * The engine of every entry point: bring the index up to date (scan the
 * holes, store them when allowed, compact), and with key look it up.
 */
static int cix_run_all(struct ev_log *log, struct ev_reader *rd,
		       const char *key, size_t kn, int flags,
		       struct u64vec *hits, struct ev_corrindex_stats *stats,
		       struct ev_error *err)
{
	struct cix c;
	struct u64vec hv = {0};
	struct cix_vec ents = {0};
	uint64_t h = key ? ev_hash64(key, kn) : 0, last;
	size_t i;
	int r, store = !(flags & EV_CIX_NO_WRITE), overflow = 0;

	memset(&c, 0, sizeof(c));
	c.dfd = -1;
	if (log == NULL || (flags & EV_CIX_IGNORE)) {
		/* no index: scan it all */
		uint64_t first = ev_reader_first_offset(rd);
		uint64_t end = ev_reader_end_offset(rd);
		r = scan_range(rd, first, end, key, kn, NULL, hits,
			       &stats->scanned, &last,
			       log ? log->path : "segment", err);
		return r;
	}
	r = cix_open(&c, log, ev_reader_first_offset(rd),
		     ev_reader_end_offset(rd), store, err);
	if (r != 0)
		goto out;
	/* the good runs first: a run that fails a page check on the way
	 * becomes a hole */
	for (i = 0; key != NULL && !overflow && i < c.nruns; i++) {
		size_t n0 = hits->n;
		if (c.runs[i].bad || c.runs[i].end <= c.first)
			continue;
		r = run_lookup(c.dfd, &c.runs[i], h, hits);
		if (r == -2) {
			overflow = 1; /* the log is read instead, below */
			hits->n = 0;
		} else if (r != 0) {
			c.runs[i].bad = 1;
			hits->n = n0;
		}
	}
	for (i = 0; i < c.nruns; i++)
		if (!c.runs[i].bad) {
			stats->runs++;
			stats->entries += c.runs[i].count;
		}
	if (holes(&c, &hv) != 0) {
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto out;
	}
	for (i = 0; i + 1 < hv.n; i += 2) {
		ents.n = 0;
		r = scan_range(rd, hv.v[i], hv.v[i + 1], overflow ? NULL : key,
			       kn, store && c.dfd >= 0 ? &ents : NULL, hits,
			       &stats->scanned, &last, log->path, err);
		if (r != 0)
			goto out;
		if (!store || c.dfd < 0 || !c.writable)
			continue;
		if (sort_entries(&ents) != 0) {
			r = ev_seterr(err, EV_ERR, "out of memory");
			goto out;
		}
		if (run_write(log, c.dfd, hv.v[i], hv.v[i + 1], &ents,
			      c.epoch) == 0) {
			stats->written++;
			if (cix_add(&c, hv.v[i], hv.v[i + 1], ents.n) != 0) {
				r = ev_seterr(err, EV_ERR, "out of memory");
				goto out;
			}
		}
	}
	if (store)
		compact(&c);
	/* more candidates than a flow has events: the log, read whole,
	 * tells which they are */
	if (overflow)
		r = scan_range(rd, c.first, c.end, key, kn, NULL, hits,
			       &stats->scanned, &last, log->path, err);
	else
		r = 0;
out:
	cix_close(&c);
	free(hv.v);
	free(ents.v);
	return r;
}

/* ------------------------------------------------------------ the API */

int ev_corrindex_find(struct ev_log *log, struct ev_reader *rd, const char *key,
		      size_t n, int flags,
		      int (*fn)(void *ctx, const struct ev_rec *rec), void *ctx,
		      struct ev_corrindex_stats *stats, struct ev_error *err)
{
	struct ev_corrindex_stats st0;
	struct u64vec hits = {0};
	struct ev_rec rec;
	struct ev_str id, corr;
	size_t i;
	int r;

	if (stats == NULL)
		stats = &st0;
	memset(stats, 0, sizeof(*stats));
	r = cix_run_all(log, rd, key, n, flags, &hits, stats, err);
	if (r != 0)
		goto out;
	if (hits.n > 1)
		qsort(hits.v, hits.n, sizeof(*hits.v), cmp_u64);
	/* every candidate is read and compared: a hash is not an id, and
	 * the index may be wrong */
	for (i = 0; i < hits.n; i++) {
		if (i > 0 && hits.v[i] == hits.v[i - 1])
			continue;
		stats->candidates++;
		r = ev_reader_get(rd, hits.v[i], &rec, err);
		if (r < 0)
			goto out;
		if (r == 0 || rec_keys(rec.p, rec.n, &id, &corr) != 0)
			continue;
		if ((flags & EV_CIX_ID_ONLY)
			    ? !str_is(id, key, n)
			    : !str_is(id, key, n) && !str_is(corr, key, n))
			continue;
		stats->matched++;
		if ((r = fn(ctx, &rec)) != 0)
			goto out;
	}
	r = 0;
out:
	free(hits.v);
	return r;
}

/* Lower offs[i] to the offset of the first event of [from, to) whose id
 * is keys[i]: one read of the range for every key. */
static int first_ids_scan(struct ev_reader *rd, uint64_t from, uint64_t to,
			  const struct ev_str *keys, size_t n, uint64_t *offs,
			  const char *path, struct ev_error *err)
{
	struct ev_str id, corr;
	struct ev_rec rec;
	size_t i, left;
	int r;

	if ((r = ev_reader_seek(rd, from, err)) != 0)
		return r;
	while ((r = ev_reader_next(rd, &rec, err)) == 1) {
		if (rec.offset >= to)
			break;
		/* nothing left to find here: every key found before */
		for (i = left = 0; i < n; i++)
			left += offs[i] > rec.offset;
		if (left == 0)
			break;
		if (rec_keys(rec.p, rec.n, &id, &corr) != 0)
			return ev_seterr(err, EV_EDATA,
					 "damaged data in '%s': offset %llu: "
					 "invalid record",
					 path, (unsigned long long)rec.offset);
		for (i = 0; i < n; i++)
			if (offs[i] > rec.offset &&
			    str_is(id, keys[i].p, keys[i].n))
				offs[i] = rec.offset;
	}
	return r < 0 ? r : 0;
}

int ev_corrindex_first_ids(struct ev_log *log, struct ev_reader *rd,
			   const struct ev_str *keys, size_t n, int flags,
			   uint64_t *offs, struct ev_error *err)
{
	struct cix c;
	struct u64vec hv = {0}, ho = {0};
	struct ev_str id, corr;
	struct ev_rec rec;
	uint64_t first = ev_reader_first_offset(rd);
	uint64_t end = ev_reader_end_offset(rd);
	size_t i, j;
	int r, whole = 0;

	for (i = 0; i < n; i++)
		offs[i] = UINT64_MAX;
	if (n == 0)
		return 0;
	/* without an index, one read of the input for them all, not one
	 * each: an archive is read from its start every time */
	if (log == NULL || (flags & EV_CIX_IGNORE))
		return first_ids_scan(rd, first, end, keys, n, offs,
				      log ? log->path : "segment", err);
	/* each key in the good runs, its candidates read and compared; then
	 * one read of what no run covers for them all */
	if ((r = cix_open(&c, log, first, end, 0, err)) != 0)
		goto out;
	for (i = 0; i < n && !whole; i++) {
		uint64_t h = ev_hash64(keys[i].p, keys[i].n);
		hv.n = 0;
		for (j = 0; j < c.nruns; j++) {
			size_t n0 = hv.n;
			if (c.runs[j].bad || c.runs[j].end <= c.first)
				continue;
			r = run_lookup(c.dfd, &c.runs[j], h, &hv);
			if (r == -2) {
				whole = 1; /* flooded: the log is read */
				break;
			}
			if (r != 0) {
				c.runs[j].bad = 1;
				hv.n = n0;
			}
		}
		if (hv.n > 1)
			qsort(hv.v, hv.n, sizeof(*hv.v), cmp_u64);
		for (j = 0; !whole && j < hv.n; j++) {
			r = ev_reader_get(rd, hv.v[j], &rec, err);
			if (r < 0)
				goto out;
			if (r == 1 && rec_keys(rec.p, rec.n, &id, &corr) == 0 &&
			    str_is(id, keys[i].p, keys[i].n)) {
				offs[i] = hv.v[j];
				break;
			}
		}
	}
	if (whole) {
		r = first_ids_scan(rd, first, end, keys, n, offs, log->path,
				   err);
		goto out;
	}
	if (holes(&c, &ho) != 0) {
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto out;
	}
	for (j = 0, r = 0; r == 0 && j + 1 < ho.n; j += 2)
		r = first_ids_scan(rd, ho.v[j], ho.v[j + 1], keys, n, offs,
				   log->path, err);
out:
	cix_close(&c);
	free(hv.v);
	free(ho.v);
	return r < 0 ? r : 0;
}

int ev_corrindex_update(struct ev_log *log, struct ev_corrindex_stats *stats,
			struct ev_error *err)
{
	struct ev_corrindex_stats st0;
	struct ev_reader *rd = NULL;
	int r;

	if (stats == NULL)
		stats = &st0;
	memset(stats, 0, sizeof(*stats));
	if ((r = ev_reader_open(&rd, log, err)) != 0)
		return r;
	r = cix_run_all(log, rd, NULL, 0, 0, NULL, stats, err);
	ev_reader_free(rd);
	return r;
}

int ev_corrindex_exists(struct ev_log *log)
{
	struct stat st;

	return fstatat(log->dirfd, CIX_DIR, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISDIR(st.st_mode);
}

int ev_corrindex_rebuild(struct ev_log *log, struct ev_corrindex_stats *stats,
			 struct ev_error *err)
{
	DIR *d;
	struct dirent *de;
	int dfd, fd;
	uint64_t a, b;

	/* every run goes, then the log is indexed afresh */
	dfd = run_dir(log);
	if (dfd >= 0) {
		fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0 && (d = fdopendir(fd)) != NULL) {
			while ((de = readdir(d)) != NULL)
				if (parse_name(de->d_name, &a, &b) ||
				    strncmp(de->d_name +
						    (strlen(de->d_name) >
								     CIX_NAME_LEN
							     ? CIX_NAME_LEN
							     : 0),
					    ".tmp.", 5) == 0)
					unlinkat(dfd, de->d_name, 0);
			closedir(d);
		} else if (fd >= 0) {
			close(fd);
		}
		close(dfd);
	}
	return ev_corrindex_update(log, stats, err);
}

/* ------------------------------------------------------------ writers */

/* entries a writer holds before it writes them as a run (64 MiB) */
#define CIXW_MAX_ENTRIES (4u << 20)
/* events of a range a writer writes before another writer's batch */
#define CIXW_MIN_EVENTS 4096

struct ev_cixw {
	struct ev_log *log;
	struct cix_vec ents;
	uint64_t first, end; /* the range collected: this writer's alone */
	uint32_t epoch;	     /* the log's when the range began */
	int active, broken;
};

struct ev_cixw *ev_cixw_new(struct ev_log *log)
{
	struct ev_cixw *cw = calloc(1, sizeof(*cw));

	if (cw != NULL)
		cw->log = log;
	return cw;
}

/* Write the range collected as a run, when the log is as it was and the
 * range holds at least min events (smaller ones, from writers taking
 * turns, are left to readers: a run costs a file and its syncs). */
static void cixw_flush(struct ev_cixw *cw, uint64_t min)
{
	struct ev_error e;
	int dfd;

	if (cw->active && !cw->broken && cw->end > cw->first &&
	    cw->end - cw->first >= min &&
	    (uint32_t)ev_state_epoch(cw->log) == cw->epoch &&
	    sort_entries(&cw->ents) == 0 &&
	    ev_log_mkdir(cw->log, CIX_DIR, &e) == 0 &&
	    (dfd = run_dir(cw->log)) >= 0) {
		run_write(cw->log, dfd, cw->first, cw->end, &cw->ents,
			  cw->epoch);
		close(dfd);
	}
	cw->ents.n = 0;
	cw->active = cw->broken = 0;
}

void ev_cixw_batch(struct ev_cixw *cw, uint64_t base, const uint8_t *payload,
		   size_t len, uint32_t count)
{
	const uint8_t *p = payload, *end = payload + len, *rec;
	struct ev_str id, corr;
	uint64_t off = base;
	size_t n;

	if (cw == NULL)
		return;
	/* another writer appended in between: a range of its own */
	if (cw->active && (base != cw->end || cw->ents.n >= CIXW_MAX_ENTRIES))
		cixw_flush(cw, CIXW_MIN_EVENTS);
	if (!cw->active) {
		cw->active = 1;
		cw->first = cw->end = base;
		cw->epoch = (uint32_t)ev_state_epoch(cw->log);
	}
	while (!cw->broken && p < end) {
		if (ev_payload_next(&p, end, &rec, &n) != 0 ||
		    rec_keys(rec, n, &id, &corr) != 0 ||
		    vec_push(&cw->ents, ev_hash64(id.p, id.n), off) != 0 ||
		    (corr.p != NULL && !str_is(corr, id.p, id.n) &&
		     vec_push(&cw->ents, ev_hash64(corr.p, corr.n), off) != 0))
			cw->broken = 1; /* left to readers */
		off++;
	}
	if (off != base + count)
		cw->broken = 1;
	cw->end = base + count;
}

int ev_cixw_finish(struct ev_cixw *cw, struct ev_error *err)
{
	int r;

	if (cw == NULL)
		return 0;
	cixw_flush(cw, 1);
	/* what others appended, and the merges */
	r = ev_corrindex_update(cw->log, NULL, err);
	ev_cixw_free(cw);
	return r;
}

void ev_cixw_free(struct ev_cixw *cw)
{
	if (cw == NULL)
		return;
	free(cw->ents.v);
	free(cw);
}
