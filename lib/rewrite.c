/*
 * rewrite.c - ev_rewrite(): a whole log migrated into a new one, every
 * event upcast to its current version (evreplay(1) REWRITING; the files
 * it makes beside a log are in evlog(5) "Rewritten logs").
 *
 * The source is read once, in offset order, each record upcast by the
 * upcaster a scan uses (upcast.c), and what comes out is handed to a
 * verbatim writer (writer.c) on a log made in a temporary directory
 * beside the target: the records as they are, but for the versions and
 * stream links, which are worked out here against the stream state of
 * the new log, as the writer would, without its dedupe.  A stream is
 * numbered afresh only where an event of it was dropped, split or moved,
 * so a rewrite that drops and splits nothing keeps every offset,
 * version and link, and then the log id and the consumer groups too.
 *
 * Then the new log is checked against the source (its events counted,
 * each stream's last version), synced whole, and given its name: by a
 * rename that does not replace, or, in place, by exchanging it with the
 * source under the source's lock, after the events appended meanwhile
 * are taken in.  Until that rename the source is only read; a marker
 * file beside it says how far a swap got, so that a rerun finishes it
 * or starts over.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "evlog_private.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

#define TICK_EVERY 1024 /* records between looks at the clock */

/* A stream the rewrite changed: events of it dropped, split or moved
 * (delta: written minus read), or versions it numbered afresh. */
struct smark {
	uint64_t h; /* 0: an empty slot */
	size_t name_off, name_len;
	int64_t delta;
	int renumbered;
};

struct rw {
	const struct ev_rewrite_opts *o;
	struct ev_rewrite_result *res;
	const char *name_src; /* the source as named */
	char *dir;	      /* the target's directory */
	char *shown;	      /* in place: as the user named it */
	char *base;	      /* and its name there */
	char *tmp;	      /* .BASE.rewrite-PID, in dir */
	char *tmp_path;	      /* DIR/.BASE.rewrite-PID */
	char *marker;	      /* .BASE.rewrite-swap */
	int pfd, tfd, lockfd;
	int made;    /* tmp exists and is ours to remove */
	int swapped; /* the exchange is done: nothing to remove */
	struct ev_log *src, *dst;
	struct ev_reader *rd;
	struct ev_writer *w;
	struct ev_state *st;
	uint64_t expect; /* the next offset of the source */
	uint64_t next;	 /* the next offset of the new log */
	struct ev_buf map, rel;
	struct smark *sm;
	size_t sm_cap, sm_n;
	struct ev_buf sm_names;
	struct timespec t0;
	uint64_t tick_n;
	int64_t tick_at;
};

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int oom(struct ev_error *err)
{
	return ev_seterr(err, EV_ERR, "out of memory");
}

static char *dupf(const char *fmt, ...) EV_PRINTF(1, 2);

static char *dupf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/* ------------------------------------------------------------ streams */

static struct smark *smark(struct rw *r, const char *name, size_t n)
{
	uint64_t h = ev_hash64(name, n);
	size_t j, cap;

	if (2 * (r->sm_n + 1) > r->sm_cap) {
		struct smark *old = r->sm, *nv;
		size_t oc = r->sm_cap, i;
		cap = oc ? 2 * oc : 64;
		if ((nv = calloc(cap, sizeof(*nv))) == NULL)
			return NULL;
		for (i = 0; i < oc; i++) {
			if (old[i].h == 0)
				continue;
			for (j = old[i].h & (cap - 1); nv[j].h != 0;
			     j = (j + 1) & (cap - 1))
				;
			nv[j] = old[i];
		}
		free(old);
		r->sm = nv;
		r->sm_cap = cap;
	}
	cap = r->sm_cap;
	for (j = h & (cap - 1); r->sm[j].h != 0; j = (j + 1) & (cap - 1))
		if (r->sm[j].h == h && r->sm[j].name_len == n &&
		    memcmp(r->sm_names.p + r->sm[j].name_off, name, n) == 0)
			return &r->sm[j];
	r->sm[j].h = h;
	r->sm[j].name_off = r->sm_names.len;
	r->sm[j].name_len = n;
	r->sm[j].delta = 0;
	r->sm[j].renumbered = 0;
	if (ev_buf_append(&r->sm_names, name, n) != 0) {
		r->sm[j].h = 0;
		return NULL;
	}
	r->sm_n++;
	return &r->sm[j];
}

static const struct smark *smark_find(const struct rw *r, const char *name,
				      size_t n)
{
	uint64_t h;
	size_t j;

	if (r->sm_cap == 0)
		return NULL;
	h = ev_hash64(name, n);
	for (j = h & (r->sm_cap - 1); r->sm[j].h != 0;
	     j = (j + 1) & (r->sm_cap - 1))
		if (r->sm[j].h == h && r->sm[j].name_len == n &&
		    memcmp(r->sm_names.p + r->sm[j].name_off, name, n) == 0)
			return &r->sm[j];
	return NULL;
}

static int renumbered(struct rw *r, const struct ev_str *s,
		      struct ev_error *err)
{
	struct ev_rewrite_result *res = r->res;
	struct smark *m = smark(r, s->p, s->n);

	if (m == NULL)
		return oom(err);
	if (m->renumbered)
		return 0;
	m->renumbered = 1;
	if (res->renumbered < EV_REWRITE_NAMES &&
	    (res->renumbered_names[res->renumbered] = strndup(s->p, s->n)) ==
		    NULL)
		return oom(err);
	res->renumbered++;
	return 0;
}

static int delta(struct rw *r, const struct ev_str *s, int64_t d,
		 struct ev_error *err)
{
	struct smark *m;

	if (s->p == NULL)
		return 0;
	if ((m = smark(r, s->p, s->n)) == NULL)
		return oom(err);
	m->delta += d;
	return 0;
}

/* ------------------------------------------------------------ copying */

/* A line of the offset map: old offset, new first offset, count. */
static int map_line(struct rw *r, uint64_t old, uint64_t count,
		    struct ev_error *err)
{
	if (ev_buf_printf(&r->map, "%llu %llu %llu\n", (unsigned long long)old,
			  (unsigned long long)r->next,
			  (unsigned long long)count) != 0)
		return oom(err);
	return 0;
}

/* Append one record of the new log: numbered and linked in its stream
 * as the new log has it. */
static int put(struct rw *r, const uint8_t *p, size_t n, uint64_t offset,
	       struct ev_error *err)
{
	struct ev_event ev;
	struct ev_sref ref;
	uint64_t sh = 0, want = 0, last_v, last_off;
	int rc;

	if ((rc = ev_event_decode(p, n, &ev, err)) != 0) {
		ev_err_damaged(err, r->name_src, offset);
		return rc;
	}
	memset(&ref, 0, sizeof(ref));
	if (ev.stream.p != NULL) {
		sh = ev_hash64(ev.stream.p, ev.stream.n);
		ev_state_stream_h(r->st, ev.stream.p, ev.stream.n, sh, &ref);
		last_v = ref.last_version;
		last_off = ref.last_offset;
		/* a stream whose earlier events were trimmed, and that the
		 * base does not know: its link says so */
		if (!ref.exists && ev.version > 1 && ev.prev != EV_NO_PREV &&
		    ev.prev < r->res->first) {
			last_v = ev.version - 1;
			last_off = ev.prev;
		}
		want = last_v + 1;
		if (ev.version != 0 && ev.version != want &&
		    (rc = renumbered(r, &ev.stream, err)) != 0)
			return rc;
		if (ev.version != want || ev.prev != last_off) {
			r->rel.len = 0;
			if ((rc = ev_record_relink(&r->rel, p, n, &ev, want,
						   last_off, err)) != 0)
				return rc;
			p = r->rel.p;
			n = r->rel.len;
		}
	}
	if (ev_state_apply_h(r->st, &ref, ev.stream.p, ev.stream.n, sh,
			     ev_hash64(ev.id.p, ev.id.n), want, r->next) != 0)
		return oom(err);
	if ((rc = ev_writer_add(r->w, p, n, ev.time, err)) != 0)
		return rc;
	r->next++;
	r->res->written++;
	return 0;
}

/* An event that cannot be upcast, worded as a scan words it. */
static int upcast_failed(struct rw *r, const struct ev_rec *rec, int rc,
			 struct ev_error *why, struct ev_error *err)
{
	*err = *why;
	if (rc == EV_EDATA && ev_upcaster_damaged(r->o->upcaster))
		ev_err_damaged(err, r->name_src, rec->offset);
	else if (rc == EV_EDATA)
		ev_err_prefix(err, "upcast failed in '%s': ", r->name_src);
	return rc;
}

/* One record of the source, as it is or upcast, into the new log. */
static int one(struct rw *r, const struct ev_rec *rec, struct ev_error *err)
{
	struct ev_rewrite_result *res = r->res;
	struct ev_upcaster *u = r->o->upcaster;
	struct ev_event src, ev;
	struct ev_error why;
	const uint8_t *p;
	size_t n;
	int k, i, changed, rc;

	/* offsets the source lost to a gap (evlog(5) Gaps) */
	for (; r->expect < rec->offset; r->expect++) {
		res->lost++;
		if ((rc = map_line(r, r->expect, 0, err)) != 0)
			return rc;
	}
	r->expect = rec->offset + 1;
	res->read++;
	if (u == NULL || !ev_upcaster_wants(u, rec->p, rec->n)) {
		res->unchanged++;
		return put(r, rec->p, rec->n, rec->offset, err);
	}
	k = ev_upcaster_apply(u, rec->p, rec->n, rec->offset, &changed, &why);
	if (k < 0)
		return upcast_failed(r, rec, k, &why, err);
	if (changed)
		res->upcast++;
	else
		res->unchanged++;
	if (k == 1 && !changed) {
		ev_upcaster_record(u, 0, &p, &n);
		return put(r, p, n, rec->offset, err);
	}
	/* dropped, split or changed: which streams lose or gain events */
	if (ev_event_decode_head(rec->p, rec->n, &src, err) != 0) {
		ev_err_damaged(err, r->name_src, rec->offset);
		return EV_EDATA;
	}
	if (k == 0) {
		res->dropped++;
		if ((rc = map_line(r, rec->offset, 0, err)) != 0)
			return rc;
	} else if (k > 1) {
		res->split++;
		res->parts += (uint64_t)k;
		if ((rc = map_line(r, rec->offset, (uint64_t)k, err)) != 0)
			return rc;
	}
	for (i = 0; i < k; i++) {
		ev_upcaster_record(u, i, &p, &n);
		if (ev_event_decode_head(p, n, &ev, err) != 0) {
			ev_err_damaged(err, r->name_src, rec->offset);
			return EV_EDATA;
		}
		if (k != 1 || ev.stream.n != src.stream.n ||
		    (ev.stream.p == NULL) != (src.stream.p == NULL) ||
		    (ev.stream.n > 0 &&
		     memcmp(ev.stream.p, src.stream.p, ev.stream.n) != 0)) {
			if ((rc = delta(r, &ev.stream, 1, err)) != 0 ||
			    (i == 0 && (rc = delta(r, &src.stream, -1, err))))
				return rc;
		}
		if ((rc = put(r, p, n, rec->offset, err)) != 0)
			return rc;
	}
	if (k == 0 && (rc = delta(r, &src.stream, -1, err)) != 0)
		return rc;
	return 0;
}

static void tick(struct rw *r, uint64_t position, uint64_t end)
{
	const struct ev_rewrite_opts *o = r->o;
	struct ev_rewrite_progress pr;
	int64_t now;

	if (o->tick == NULL || ++r->tick_n % TICK_EVERY != 0)
		return;
	now = (int64_t)(since(&r->t0) * 1000);
	if (now < r->tick_at)
		return;
	r->tick_at = now + (o->tick_ms > 0 ? o->tick_ms : 100);
	pr.first = r->res->first;
	pr.end = end;
	pr.position = position;
	pr.read = r->res->read;
	o->tick(o->tick_ctx, &pr);
}

static int stopped(struct rw *r)
{
	return r->o->stop != NULL && *r->o->stop;
}

static int interrupted(struct ev_error *err)
{
	return ev_seterr(err, EV_ERR, "interrupted");
}

/* Every record the reader has, up to its end. */
static int copy(struct rw *r, struct ev_error *err)
{
	uint64_t end = ev_reader_end_offset(r->rd);
	struct ev_rec rec;
	int k, rc;

	while ((k = ev_reader_next(r->rd, &rec, err)) == 1) {
		if (stopped(r))
			return interrupted(err);
		if ((rc = one(r, &rec, err)) != 0)
			return rc;
		tick(r, rec.offset + 1, end);
	}
	if (k < 0)
		return k;
	/* a gap at the end */
	end = ev_reader_end_offset(r->rd);
	for (; r->expect < end; r->expect++) {
		r->res->lost++;
		if ((rc = map_line(r, r->expect, 0, err)) != 0)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------------ names */

/* dir and base of path (no trailing '/'): 0, or oom. */
static int split_path(const char *path, char **dir, char **base)
{
	char *p = strdup(path), *slash;
	size_t n;

	if (p == NULL)
		return -1;
	for (n = strlen(p); n > 1 && p[n - 1] == '/'; n--)
		p[n - 1] = '\0';
	slash = strrchr(p, '/');
	if (slash == NULL) {
		*dir = strdup(".");
		*base = p;
	} else {
		*base = strdup(slash + 1);
		*slash = '\0';
		*dir = strdup(slash == p ? "/" : p);
		free(p);
	}
	if (*dir == NULL || *base == NULL) {
		free(*dir);
		free(*base);
		*dir = *base = NULL;
		return -1;
	}
	return 0;
}

/* In place, the directory the old log is named in for the user: as the
 * source was named, when that names the same directory, or the one it
 * really is in. */
static int shown_dir(struct rw *r)
{
	char *dir = NULL, *base = NULL, *real = NULL;
	int same;

	if (split_path(r->o->source, &dir, &base) != 0)
		return -1;
	real = realpath(dir, NULL);
	same = real != NULL && strcmp(real, r->dir) == 0 &&
	       strcmp(base, r->base) == 0;
	free(real);
	free(base);
	if (same) {
		r->shown = dir;
	} else {
		free(dir);
		if ((r->shown = strdup(r->dir)) == NULL)
			return -1;
	}
	return 0;
}

/* The names of the run: target, its directory, the temporary. */
static int names(struct rw *r, struct ev_error *err)
{
	const struct ev_rewrite_opts *o = r->o;
	struct ev_rewrite_result *res = r->res;
	struct stat a, b;
	char *real = NULL;

	if (o->in_place) {
		if ((real = realpath(o->source, NULL)) == NULL)
			return ev_seterr_errno(err, EV_EIO, errno,
					       "cannot resolve '%s'",
					       o->source);
		res->target = strdup(o->source);
		if (res->target == NULL || split_path(real, &r->dir, &r->base))
			goto nomem;
		free(real);
		real = NULL;
	} else {
		if (o->target == NULL || o->target[0] == '\0')
			return ev_seterr(err, EV_EUSAGE,
					 "no log to rewrite to");
		if (stat(o->target, &a) == 0 && stat(o->source, &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
			ev_seterr(err, EV_EUSAGE,
				  "'%s' is the log being rewritten ('%s')",
				  o->target, o->source);
			ev_sethint(err,
				   "a rewrite makes a new log; to replace "
				   "'%s', rewrite it in place",
				   o->source);
			return EV_EUSAGE;
		}
		if (lstat(o->target, &a) == 0) {
			ev_seterr(err, EV_EEXIST, "'%s' already exists",
				  o->target);
			ev_sethint(err, "a rewrite makes a new log: name one "
					"that does not exist");
			return EV_EEXIST;
		}
		res->target = strdup(o->target);
		if (res->target == NULL ||
		    split_path(o->target, &r->dir, &r->base))
			goto nomem;
	}
	if (o->in_place && shown_dir(r) != 0)
		goto nomem;
	r->tmp = dupf(".%s.rewrite-%ld", r->base, (long)getpid());
	r->tmp_path = dupf("%s/%s", r->dir, r->tmp ? r->tmp : "");
	r->marker = dupf(".%s.rewrite-swap", r->base);
	if (r->tmp == NULL || r->tmp_path == NULL || r->marker == NULL)
		goto nomem;
	r->pfd = open(r->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->pfd < 0)
		return ev_seterr_errno(err,
				       errno == ENOENT ? EV_ENOENT : EV_EIO,
				       errno, "cannot open directory '%s'",
				       r->dir);
	return 0;
nomem:
	free(real);
	return oom(err);
}

/* ------------------------------------------------------------ leftovers */

/* Remove the directory name in pfd and what it holds. */
static int remove_tree(int pfd, const char *name)
{
	int fd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);

	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if (ev_dir_empty(fd, 1) != 0)
		return -1;
	return unlinkat(pfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT ? 0
									 : -1;
}

/* A name that a run of the rewrite into base makes: .BASE.rewrite-PID
 * (*dir set), .BASE.rewrite-PID.offsets, or a temporary of the marker. */
static int leftover(const char *name, const char *prefix, int *dir)
{
	size_t n = strlen(prefix);
	const char *p;

	*dir = 0;
	if (strncmp(name, prefix, n) != 0)
		return 0;
	p = name + n;
	if (strncmp(p, "swap.tmp.", 9) == 0)
		return 1;
	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '\0') {
		*dir = 1;
		return 1;
	}
	return strcmp(p, ".offsets") == 0 ||
	       strncmp(p, ".offsets.tmp.", 13) == 0;
}

/*
 * Remove what interrupted rewrites into the target left: their
 * temporary logs (unless a live rewrite holds one: EV_EAGAIN) and
 * offset maps.  The swap marker is dealt with before.
 */
static int clear_leftovers(struct rw *r, struct ev_error *err)
{
	char prefix[4200], msg[4400];
	struct dirent *e;
	DIR *d;
	int fd, isdir, pass, rc = 0;

	snprintf(prefix, sizeof(prefix), ".%s.rewrite-", r->base);
	for (pass = 0; pass < 2 && rc == 0; pass++) {
		if ((fd = dup(r->pfd)) < 0 || (d = fdopendir(fd)) == NULL) {
			if (fd >= 0)
				close(fd);
			return ev_seterr_errno(err, EV_EIO, errno,
					       "cannot list '%s'", r->dir);
		}
		rewinddir(d);
		while (rc == 0 && (e = readdir(d)) != NULL) {
			if (!leftover(e->d_name, prefix, &isdir) ||
			    isdir != (pass == 0))
				continue;
			if (isdir) {
				fd = openat(r->pfd, e->d_name,
					    O_RDONLY | O_DIRECTORY |
						    O_NOFOLLOW | O_CLOEXEC);
				if (fd < 0)
					continue;
				/* a running rewrite holds its own */
				if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
					close(fd);
					rc = ev_seterr(
						err, EV_EAGAIN,
						"a rewrite into '%s' is "
						"running: it builds '%s/%s'",
						r->res->target, r->dir,
						e->d_name);
					break;
				}
				rc = remove_tree(r->pfd, e->d_name);
				close(fd);
			} else {
				rc = unlinkat(r->pfd, e->d_name, 0) == 0 ||
						     errno == ENOENT
					     ? 0
					     : -1;
			}
			if (rc != 0) {
				rc = ev_seterr_errno(err, EV_EIO, errno,
						     "cannot remove '%s/%s'",
						     r->dir, e->d_name);
				break;
			}
			if (isdir) {
				snprintf(msg, sizeof(msg),
					 "removed '%s/%s', left by an "
					 "interrupted rewrite",
					 r->dir, e->d_name);
				ev_say(r->o->notice, r->o->notice_ctx, "%s",
				       msg);
			}
		}
		closedir(d);
	}
	if (rc == 0)
		ev_fsync_dir(r->pfd);
	return rc;
}

/* ------------------------------------------------------------ the swap */

/*
 * The marker of a swap in place (evlog(5) Rewritten logs): the names
 * and the inodes of the old log and of the new one, written before the
 * exchange and removed when every rename after it is done.
 */
struct swap {
	char temp[4200], old[4200], offsets[4200];
	unsigned long long old_dev, old_ino, new_dev, new_ino;
};

static int swap_write(struct rw *r, const struct swap *s, struct ev_error *err)
{
	struct ev_buf b = {0};
	int rc = 0;

	if (ev_buf_printf(&b,
			  "evlog-rewrite-swap 1\n"
			  "temp %s\nold %s\noffsets %s\n"
			  "old-inode %llu %llu\nnew-inode %llu %llu\n",
			  s->temp, s->old, s->offsets[0] ? s->offsets : "-",
			  s->old_dev, s->old_ino, s->new_dev, s->new_ino) != 0)
		rc = oom(err);
	else if (ev_file_replace(r->pfd, r->marker, b.p, b.len) != 0)
		rc = ev_seterr_errno(err, EV_EIO, errno, "cannot write '%s/%s'",
				     r->dir, r->marker);
	ev_buf_free(&b);
	return rc;
}

/* 1 read, 0 none, <0 a marker that does not parse. */
static int swap_read(struct rw *r, struct swap *s, struct ev_error *err)
{
	char buf[16384];
	ssize_t n;
	int fd = ev_openat(r->pfd, r->marker, O_RDONLY, 0);

	memset(s, 0, sizeof(*s));
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot read '%s/%s'", r->dir,
				       r->marker);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot read '%s/%s'", r->dir,
				       r->marker);
	buf[n] = '\0';
	if (sscanf(buf,
		   "evlog-rewrite-swap 1\ntemp %4199[^\n]\nold %4199[^\n]\n"
		   "offsets %4199[^\n]\nold-inode %llu %llu\n"
		   "new-inode %llu %llu\n",
		   s->temp, s->old, s->offsets, &s->old_dev, &s->old_ino,
		   &s->new_dev, &s->new_ino) != 7 ||
	    strchr(s->temp, '/') != NULL || strchr(s->old, '/') != NULL)
		return ev_seterr(err, EV_EDATA, "'%s/%s' is not a swap marker",
				 r->dir, r->marker);
	if (strcmp(s->offsets, "-") == 0)
		s->offsets[0] = '\0';
	return 1;
}

static char *old_path(const struct rw *r, const char *name)
{
	if (strcmp(r->shown, ".") == 0)
		return strdup(name);
	return dupf("%s%s%s", r->shown,
		    r->shown[strlen(r->shown) - 1] == '/' ? "" : "/", name);
}

/* Is name in pfd the directory dev:ino? */
static int is_inode(int pfd, const char *name, unsigned long long dev,
		    unsigned long long ino)
{
	struct stat st;

	return fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       (unsigned long long)st.st_dev == dev &&
	       (unsigned long long)st.st_ino == ino;
}

static int rename_noreplace(int pfd, const char *from, const char *to)
{
	if (renameat2(pfd, from, pfd, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	/* a file system without it: the check, then the rename */
	if (faccessat(pfd, to, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
		errno = EEXIST;
		return -1;
	}
	return renameat(pfd, from, pfd, to);
}

/* After the exchange: the offset map and the old log to their names,
 * then the marker goes. */
static int swap_finish(struct rw *r, const struct swap *s, struct ev_error *err)
{
	char offs[4300];

	snprintf(offs, sizeof(offs), "%s.offsets", r->base);
	if (s->offsets[0] && renameat(r->pfd, s->offsets, r->pfd, offs) != 0 &&
	    errno != ENOENT)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot rename '%s/%s' to '%s'", r->dir,
				       s->offsets, offs);
	if (is_inode(r->pfd, s->temp, s->old_dev, s->old_ino) &&
	    rename_noreplace(r->pfd, s->temp, s->old) != 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot rename '%s/%s' to '%s'", r->dir,
				       s->temp, s->old);
	if (ev_fsync_dir(r->pfd) != 0 ||
	    (unlinkat(r->pfd, r->marker, 0) != 0 && errno != ENOENT) ||
	    ev_fsync_dir(r->pfd) != 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot remove '%s/%s'", r->dir,
				       r->marker);
	return 0;
}

/*
 * In place, before anything else: a swap an earlier run left half done.
 * Not begun (the log is the old one): the marker goes, and the rewrite
 * starts over.  Begun (the log is the new one, or, without an exchange,
 * missing): it is finished, and that is all this run does (1).
 */
static int swap_resume(struct rw *r, struct ev_error *err)
{
	struct ev_rewrite_result *res = r->res;
	struct swap s;
	int rc;

	if ((rc = swap_read(r, &s, err)) <= 0)
		return rc;
	if (is_inode(r->pfd, r->base, s.old_dev, s.old_ino)) {
		if ((unlinkat(r->pfd, r->marker, 0) != 0 && errno != ENOENT) ||
		    ev_fsync_dir(r->pfd) != 0)
			return ev_seterr_errno(err, EV_EIO, errno,
					       "cannot remove '%s/%s'", r->dir,
					       r->marker);
		return 0;
	}
	if (!is_inode(r->pfd, r->base, s.new_dev, s.new_ino)) {
		/* the renames without an exchange: the old log put aside,
		 * the new one not yet in its place */
		if (faccessat(r->pfd, r->base, F_OK, AT_SYMLINK_NOFOLLOW) ==
			    0 ||
		    !is_inode(r->pfd, s.temp, s.new_dev, s.new_ino) ||
		    rename_noreplace(r->pfd, s.temp, r->base) != 0) {
			ev_seterr(err, EV_EAGAIN,
				  "cannot tell how far the swap of an "
				  "interrupted rewrite of '%s' got",
				  res->target);
			ev_sethint(err,
				   "'%s/%s' says what it was doing; put the "
				   "logs it names in their places, then "
				   "remove it",
				   r->dir, r->marker);
			return EV_EAGAIN;
		}
	}
	if ((rc = swap_finish(r, &s, err)) != 0)
		return rc;
	res->finished_swap = 1;
	res->old_path = old_path(r, s.old);
	return res->old_path == NULL ? oom(err) : 1;
}

/* LOG.pre-rewrite-20261206T180000Z, or with -2, -3 ... when taken. */
static int pre_name(struct rw *r, char *out, size_t n)
{
	char t[40], stamp[32];
	int i;

	ev_time_format(ev_now(), t);
	/* 2026-12-06T18:00:00.000Z: the digits only, to the second */
	snprintf(stamp, sizeof(stamp), "%.4s%.2s%.2sT%.2s%.2s%.2sZ", t, t + 5,
		 t + 8, t + 11, t + 14, t + 17);
	for (i = 1; i < 1000; i++) {
		if (i == 1)
			snprintf(out, n, "%s.pre-rewrite-%s", r->base, stamp);
		else
			snprintf(out, n, "%s.pre-rewrite-%s-%d", r->base, stamp,
				 i);
		if (faccessat(r->pfd, out, F_OK, AT_SYMLINK_NOFOLLOW) != 0)
			return 0;
	}
	return -1;
}

/* In place: the new log for the old, by one exchange when the file
 * system has it, else two renames; the marker says where it got. */
static int swap(struct rw *r, struct ev_error *err)
{
	struct ev_rewrite_result *res = r->res;
	struct stat o, nw;
	struct swap s;
	int rc;

	memset(&s, 0, sizeof(s));
	snprintf(s.temp, sizeof(s.temp), "%s", r->tmp);
	if (pre_name(r, s.old, sizeof(s.old)) != 0)
		return ev_seterr(err, EV_EIO, "no name left for the old log");
	if (!res->offsets_kept)
		snprintf(s.offsets, sizeof(s.offsets), "%s.offsets", r->tmp);
	if (fstat(r->src->dirfd, &o) != 0 || fstat(r->tfd, &nw) != 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot stat '%s'",
				       res->target);
	s.old_dev = (unsigned long long)o.st_dev;
	s.old_ino = (unsigned long long)o.st_ino;
	s.new_dev = (unsigned long long)nw.st_dev;
	s.new_ino = (unsigned long long)nw.st_ino;
	if ((rc = swap_write(r, &s, err)) != 0)
		return rc;
	if (renameat2(r->pfd, r->base, r->pfd, r->tmp, RENAME_EXCHANGE) == 0) {
		r->swapped = 1;
	} else if (errno == EINVAL || errno == ENOSYS) {
		if (rename_noreplace(r->pfd, r->base, s.old) == 0) {
			r->swapped = 1;
			if (renameat(r->pfd, r->tmp, r->pfd, r->base) != 0)
				return ev_seterr_errno(
					err, EV_EIO, errno,
					"cannot rename '%s/%s' to '%s'; run "
					"the rewrite again to finish it",
					r->dir, r->tmp, r->base);
		}
	}
	if (!r->swapped) {
		rc = ev_seterr_errno(err, EV_EIO, errno,
				     "cannot swap '%s' and '%s/%s'",
				     res->target, r->dir, r->tmp);
		if (unlinkat(r->pfd, r->marker, 0) == 0)
			ev_fsync_dir(r->pfd);
		return rc;
	}
	if ((rc = swap_finish(r, &s, err)) != 0) {
		ev_sethint(err, "run the rewrite again to finish the swap");
		return rc;
	}
	res->old_path = old_path(r, s.old);
	return res->old_path == NULL ? oom(err) : 0;
}

/* ------------------------------------------------------------ the new log */

static int make_temp(struct rw *r, struct ev_error *err)
{
	struct ev_writer_opts wo;
	int rc;

	if (mkdirat(r->pfd, r->tmp, 0777) != 0)
		return ev_seterr_errno(err,
				       errno == EEXIST ? EV_EAGAIN : EV_EIO,
				       errno, "cannot create '%s'",
				       r->tmp_path);
	r->made = 1;
	r->tfd = openat(r->pfd, r->tmp,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (r->tfd < 0 || flock(r->tfd, LOCK_EX | LOCK_NB) != 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot lock '%s'",
				       r->tmp_path);
	if ((rc = ev_log_create_at(r->tmp_path, ev_log_get_config(r->src),
				   r->res->first, r->src->id, err)) != 0 ||
	    (rc = ev_log_open(&r->dst, r->tmp_path, err)) != 0 ||
	    (rc = ev_state_copy_base(r->src, r->res->first, r->dst, err)) != 0)
		return rc;
	/* synced once at the end, not batch by batch */
	memset(&wo, 0, sizeof(wo));
	wo.threaded = 1;
	wo.sync_set = 1;
	wo.sync = EV_SYNC_NONE;
	if ((rc = ev_writer_open(&r->w, r->dst, &wo, err)) != 0)
		return rc;
	ev_writer_verbatim(r->w);
	/* the new log's streams, as they are written: the base, if any */
	return ev_state_load(&r->st, r->dst, 1, err);
}

struct check {
	struct rw *r;
	struct ev_state *old, *mine, *now; /* source, as written, read back */
	struct ev_error *err;
	int lost;
	int failed; /* err is set */
};

static int check_stream(struct check *c, const struct ev_stream_info *s,
			uint64_t have)
{
	struct ev_stream_info o, m;
	const struct smark *sm = smark_find(c->r, s->name, s->name_len);
	int64_t d = sm != NULL ? sm->delta : 0;
	uint64_t old = 0, want;
	int nlen = s->name_len > 200 ? 200 : (int)s->name_len;

	if (ev_state_stream(c->old, s->name, s->name_len, &o))
		old = o.last_version;
	want = (uint64_t)((int64_t)old + d);
	/* past a gap, versions the source lacks are closed up: what was
	 * written is all there is to check against */
	if (c->lost && ev_state_stream(c->mine, s->name, s->name_len, &m))
		want = m.last_version;
	if (have == want)
		return 0;
	c->failed = 1;
	return ev_seterr(c->err, EV_EDATA,
			 "the new log does not check out: stream '%.*s' is at "
			 "version %llu, not %llu",
			 nlen, s->name, (unsigned long long)have,
			 (unsigned long long)want);
}

static int check_new(void *ctx, const struct ev_stream_info *s)
{
	return check_stream(ctx, s, s->last_version);
}

/* A stream of the source that the new log lacks must have lost every
 * event. */
static int check_old(void *ctx, const struct ev_stream_info *s)
{
	struct check *c = ctx;
	struct ev_stream_info n;

	return ev_state_stream(c->now, s->name, s->name_len, &n)
		       ? 0
		       : check_stream(c, s, 0);
}

/*
 * The new log read back, whole: its events counted, and each stream's
 * last version against the source's as the rewrite changed it.
 */
static int verify(struct rw *r, struct ev_error *err)
{
	struct ev_rewrite_result *res = r->res;
	struct ev_state *nst = NULL, *ost = NULL;
	struct check c;
	uint64_t want = res->read - res->dropped + res->parts - res->split;
	int rc;

	if ((rc = ev_state_load(&nst, r->dst, 0, err)) != 0)
		goto out;
	if (ev_state_replayed(nst) != want || res->written != want ||
	    res->new_end - res->first != want) {
		rc = ev_seterr(err, EV_EDATA,
			       "the new log does not check out: it holds "
			       "%llu events, not %llu",
			       (unsigned long long)ev_state_replayed(nst),
			       (unsigned long long)want);
		goto out;
	}
	if ((rc = ev_state_load_upto(&ost, r->src, 0, res->old_end, err)) != 0)
		goto out;
	memset(&c, 0, sizeof(c));
	c.r = r;
	c.old = ost;
	c.mine = r->st;
	c.now = nst;
	c.err = err;
	c.lost = res->lost > 0;
	rc = ev_state_foreach_stream(nst, check_new, &c);
	if (rc == 0)
		rc = ev_state_foreach_stream(ost, check_old, &c);
	if (rc != 0 && !c.failed)
		rc = ev_seterr(err, EV_EDATA,
			       "cannot read the streams of '%s' or of the new "
			       "log: a snapshot is damaged",
			       r->name_src);
out:
	ev_state_free(nst);
	ev_state_free(ost);
	return rc;
}

/* Copy the groups of the source (their files, whole) when offsets are
 * kept and they do not read past the new log's end. */
static int groups(struct rw *r, struct ev_error *err)
{
	struct ev_rewrite_result *res = r->res;
	struct ev_group_state *gs = NULL;
	struct ev_buf b = {0};
	size_t n = 0, i;
	char name[EV_GROUP_NAME_MAX + 16];
	int sfd = -1, dfd = -1, fd, rc;

	if ((rc = ev_group_list(r->src, NULL, &gs, &n, err)) != 0)
		return rc;
	for (i = 0; i < n; i++)
		res->groups += gs[i].exists;
	if (!res->offsets_kept || res->groups == 0)
		goto out;
	sfd = ev_openat(r->src->dirfd, "groups", O_RDONLY | O_DIRECTORY, 0);
	if (sfd < 0 || (rc = ev_log_mkdir(r->dst, "groups", err)) != 0 ||
	    (dfd = ev_openat(r->dst->dirfd, "groups", O_RDONLY | O_DIRECTORY,
			     0)) < 0) {
		rc = rc ? rc
			: ev_seterr_errno(err, EV_EIO, errno,
					  "cannot open the groups of '%s'",
					  r->name_src);
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct stat st;
		if (!gs[i].exists)
			continue;
		if (gs[i].next > res->new_end) {
			ev_say(r->o->notice, r->o->notice_ctx,
			       "group '%s' is at offset %llu, past the end of "
			       "the new log: not carried over",
			       gs[i].name, (unsigned long long)gs[i].next);
			continue;
		}
		snprintf(name, sizeof(name), "%s.group", gs[i].name);
		fd = ev_openat(sfd, name, O_RDONLY, 0);
		b.len = 0;
		if (fd < 0 || fstat(fd, &st) != 0 ||
		    ev_buf_reserve(&b, (size_t)st.st_size + 1) != 0 ||
		    ev_read_full(fd, b.p, (size_t)st.st_size, 0) != 1) {
			rc = ev_seterr_errno(err, EV_EIO, errno ? errno : EIO,
					     "cannot read '%s/groups/%s'",
					     r->name_src, name);
			if (fd >= 0)
				close(fd);
			goto out;
		}
		close(fd);
		if (ev_file_create(dfd, name, b.p, (size_t)st.st_size) != 0) {
			rc = ev_seterr_errno(err, EV_EIO, errno,
					     "cannot write '%s/groups/%s'",
					     r->tmp_path, name);
			goto out;
		}
		res->groups_carried++;
	}
	if (ev_fsync_dir(dfd) != 0)
		rc = ev_seterr_errno(err, EV_EIO, errno, "cannot sync '%s'",
				     r->tmp_path);
out:
	if (sfd >= 0)
		close(sfd);
	if (dfd >= 0)
		close(dfd);
	ev_buf_free(&b);
	free(gs);
	return rc;
}

/* Every segment and index of the new log to disk, and the head's
 * recovery point at its end: it was all written here, and checked. */
static int sync_all(struct rw *r, struct ev_error *err)
{
	static const char *const ext[3] = {"seg", "idx", "tix"};
	struct ev_log *log = r->dst;
	struct ev_head h;
	uint8_t hb[EV_HEAD_SIZE];
	uint64_t *bases = NULL;
	size_t n = 0, i;
	char name[40];
	int fd, j, rc;

	if ((rc = ev_log_segments(log->dirfd, &bases, &n, err)) != 0)
		return rc;
	for (i = 0; i < n && rc == 0; i++)
		for (j = 0; j < 3 && rc == 0; j++) {
			ev_segment_name(name, sizeof(name), bases[i], ext[j]);
			fd = ev_openat(log->dirfd, name, O_RDONLY, 0);
			if (fd < 0 && errno == ENOENT && j > 0)
				continue; /* an index is a cache */
			if (fd < 0 || fdatasync(fd) != 0)
				rc = ev_seterr_errno(err, EV_EIO, errno,
						     "cannot sync '%s/%s'",
						     log->path, name);
			if (fd >= 0)
				close(fd);
		}
	free(bases);
	if (rc != 0)
		return rc;
	if (ev_head_read(log->dirfd, &h) != 0)
		return ev_seterr(err, EV_EIO, "cannot read '%s/head'",
				 log->path);
	h.checked = h.end;
	ev_head_encode(hb, &h);
	fd = ev_openat(log->dirfd, "head", O_RDWR, 0);
	if (fd < 0 || ev_write_full(fd, hb, sizeof(hb), 0) != 0 ||
	    fdatasync(fd) != 0)
		rc = ev_seterr_errno(err, EV_EIO, errno,
				     "cannot write '%s/head'", log->path);
	if (fd >= 0)
		close(fd);
	if (rc == 0 && ev_fsync_dir(log->dirfd) != 0)
		rc = ev_seterr_errno(err, EV_EIO, errno, "cannot sync '%s'",
				     log->path);
	return rc;
}

/* The offset map beside the temporary, synced; or no map. */
static int write_map(struct rw *r, struct ev_error *err)
{
	struct ev_rewrite_result *res = r->res;
	struct ev_buf b = {0};
	char name[4300];
	int rc = 0;

	snprintf(name, sizeof(name), "%s.offsets", r->tmp);
	if (ev_buf_printf(&b,
			  "evlog-offsets 1\n"
			  "old-log %s %llu %llu\n"
			  "new-log %s %llu %llu\n",
			  ev_log_id(r->src), (unsigned long long)res->first,
			  (unsigned long long)res->old_end, ev_log_id(r->dst),
			  (unsigned long long)res->first,
			  (unsigned long long)res->new_end) != 0 ||
	    ev_buf_append(&b, r->map.p, r->map.len) != 0)
		rc = oom(err);
	else if (ev_file_replace(r->pfd, name, b.p, b.len) != 0)
		rc = ev_seterr_errno(err, EV_EIO, errno, "cannot write '%s/%s'",
				     r->dir, name);
	ev_buf_free(&b);
	if (rc == 0 &&
	    (res->offsets_path = dupf("%s.offsets", res->target)) == NULL)
		rc = oom(err);
	return rc;
}

/* An offset map of an earlier rewrite into the same name, which this
 * one (keeping offsets) would leave standing: it would mislead. */
static void remove_stale_map(struct rw *r)
{
	char name[4300], head[16];
	int fd;

	snprintf(name, sizeof(name), "%s.offsets", r->base);
	fd = ev_openat(r->pfd, name, O_RDONLY, 0);
	if (fd < 0)
		return;
	if (ev_read_full(fd, head, 15, 0) == 1 &&
	    memcmp(head, "evlog-offsets 1", 15) == 0)
		unlinkat(r->pfd, name, 0);
	close(fd);
}

/* Everything after the last event: the id, the check, the snapshots,
 * the groups, the map, and all of it to disk. */
static int seal(struct rw *r, struct ev_error *err)
{
	struct ev_rewrite_result *res = r->res;
	int rc;

	rc = ev_writer_close(r->w, err);
	r->w = NULL;
	if (rc != 0)
		return rc;
	res->new_end = r->next;
	res->offsets_kept =
		res->dropped == 0 && res->split == 0 && res->lost == 0;
	/* other offsets, another log: what named a place in the old one
	 * (a group, a cursor, a dead letter) must not pass for the new */
	if (!res->offsets_kept &&
	    ((rc = ev_log_retag(r->dst, err)) != 0 ||
	     (rc = ev_state_copy_base(r->src, res->first, r->dst, err)) != 0))
		return rc;
	if ((rc = verify(r, err)) != 0 ||
	    (rc = ev_state_snapshot(r->st, err)) != 0 ||
	    (rc = groups(r, err)) != 0 || (rc = sync_all(r, err)) != 0)
		return rc;
	if (!res->offsets_kept)
		return write_map(r, err);
	if (!r->o->in_place)
		remove_stale_map(r);
	return 0;
}

/* --rewrite-to: the new log takes its name, which must still be free. */
static int place(struct rw *r, struct ev_error *err)
{
	struct ev_rewrite_result *res = r->res;
	char from[4300], to[4300];

	if (!res->offsets_kept) {
		snprintf(from, sizeof(from), "%s.offsets", r->tmp);
		snprintf(to, sizeof(to), "%s.offsets", r->base);
		if (renameat(r->pfd, from, r->pfd, to) != 0)
			return ev_seterr_errno(err, EV_EIO, errno,
					       "cannot rename '%s/%s' to '%s'",
					       r->dir, from, to);
	}
	if (rename_noreplace(r->pfd, r->tmp, r->base) != 0) {
		if (errno == EEXIST || errno == ENOTEMPTY)
			return ev_seterr(err, EV_EEXIST,
					 "'%s' already exists: it was made "
					 "while the rewrite ran",
					 res->target);
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot rename '%s' to '%s'",
				       r->tmp_path, res->target);
	}
	r->made = 0;
	if (ev_fsync_dir(r->pfd) != 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot sync '%s'",
				       r->dir);
	return 0;
}

/* In place: hold the source's writer lock (evlog(5) Writers), so that
 * the events appended since the copy began can be taken in and nothing
 * more comes before the swap. */
static int lock_source(struct rw *r, struct ev_error *err)
{
	struct stat held, named;
	char path[4300];

	r->lockfd = ev_openat(r->src->dirfd, "lock", O_RDWR, 0);
	if (r->lockfd < 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot open '%s/lock'", r->name_src);
	while (flock(r->lockfd, LOCK_EX | LOCK_NB) != 0) {
		if (errno != EWOULDBLOCK && errno != EINTR)
			return ev_seterr_errno(err, EV_EIO, errno,
					       "cannot lock '%s/lock'",
					       r->name_src);
		if (stopped(r))
			return interrupted(err);
		usleep(1000);
	}
	snprintf(path, sizeof(path), "%s/%s", r->dir, r->base);
	if (fstat(r->src->dirfd, &held) != 0 || stat(path, &named) != 0 ||
	    held.st_dev != named.st_dev || held.st_ino != named.st_ino)
		return ev_seterr(err, EV_EAGAIN,
				 "'%s' was replaced while it was being "
				 "rewritten",
				 r->name_src);
	return 0;
}

/* ------------------------------------------------------------ the run */

static int run(struct rw *r, struct ev_error *err)
{
	const struct ev_rewrite_opts *o = r->o;
	struct ev_rewrite_result *res = r->res;
	uint64_t before;
	int rc;

	if ((rc = ev_log_open(&r->src, o->source, err)) != 0 ||
	    (rc = names(r, err)) != 0)
		return rc;
	if (o->in_place && (rc = swap_resume(r, err)) != 0)
		return rc < 0 ? rc : 0;
	if ((rc = clear_leftovers(r, err)) != 0 ||
	    (rc = ev_reader_open(&r->rd, r->src, err)) != 0)
		return rc;
	ev_reader_set_notice(r->rd, NULL, NULL);
	res->first = r->expect = r->next = ev_reader_first_offset(r->rd);
	if ((rc = ev_reader_seek(r->rd, res->first, err)) != 0 ||
	    (rc = make_temp(r, err)) != 0 || (rc = copy(r, err)) != 0)
		return rc;
	if (o->in_place) {
		before = res->read;
		if ((rc = lock_source(r, err)) != 0 ||
		    (rc = ev_reader_refresh(r->rd, err)) < 0 ||
		    (rc = copy(r, err)) != 0)
			return rc;
		res->caught_up = res->read - before;
	}
	res->old_end = r->expect;
	if (stopped(r))
		return interrupted(err);
	if ((rc = seal(r, err)) != 0)
		return rc;
	return o->in_place ? swap(r, err) : place(r, err);
}

int ev_rewrite(const struct ev_rewrite_opts *o, struct ev_rewrite_result *res,
	       struct ev_error *err)
{
	struct rw r;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&r, 0, sizeof(r));
	r.o = o;
	r.res = res;
	r.name_src = o->source;
	r.pfd = r.tfd = r.lockfd = -1;
	clock_gettime(CLOCK_MONOTONIC, &r.t0);
	res->offsets_kept = 1;
	rc = run(&r, err);
	if (r.w != NULL)
		ev_writer_close(r.w, NULL);
	ev_state_free(r.st);
	ev_reader_free(r.rd);
	ev_log_close(r.dst);
	if (rc != 0 && r.made && !r.swapped) {
		/* nothing stays behind but the source as it was */
		char offs[4300];
		snprintf(offs, sizeof(offs), "%s.offsets", r.tmp);
		unlinkat(r.pfd, offs, 0);
		remove_tree(r.pfd, r.tmp);
		ev_fsync_dir(r.pfd);
	}
	if (r.tfd >= 0)
		close(r.tfd);
	if (r.lockfd >= 0)
		close(r.lockfd);
	if (r.pfd >= 0)
		close(r.pfd);
	ev_log_close(r.src);
	free(r.dir);
	free(r.shown);
	free(r.base);
	free(r.tmp);
	free(r.tmp_path);
	free(r.marker);
	ev_buf_free(&r.map);
	ev_buf_free(&r.rel);
	ev_buf_free(&r.sm_names);
	free(r.sm);
	res->seconds = since(&r.t0);
	return rc;
}

void ev_rewrite_result_free(struct ev_rewrite_result *res)
{
	int i;

	if (res == NULL)
		return;
	for (i = 0; i < EV_REWRITE_NAMES; i++)
		free(res->renumbered_names[i]);
	free(res->offsets_path);
	free(res->target);
	free(res->old_path);
	memset(res, 0, sizeof(*res));
}
