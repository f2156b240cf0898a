/*
 * archive.c - a log as one file (evctl(1) EXPORT and IMPORT, and the
 * archives evtail(1), evreplay(1) and evproject(1) read in place).  The
 * only module that calls libarchive.
 *
 * Export writes a snapshot: the head is read once, and every segment up
 * to the one it names is opened before a byte is written, so a writer
 * appending, or a trim removing old segments, changes nothing of what
 * is stored; of the head segment only the bytes up to the durable end
 * go in.  Segments are stored as they are.
 *
 * Import trusts nothing in the archive.  Every entry's name must be one
 * a log directory holds (meta, head, lock, typecounts, a segment or an
 * index, optionally under one directory), each once, as a regular file
 * of bounded size; anything else is refused, naming the entry.  Files
 * are created only inside a new directory, through its descriptor, with
 * O_EXCL | O_NOFOLLOW and names that hold no '/', so no entry can reach
 * outside it, follow or leave a link, or replace a file.  libarchive's
 * write_disk is not used: it resolves names against the working
 * directory, which a library must not change; its secure flags
 * (ARCHIVE_EXTRACT_SECURE_NODOTDOT, _SECURE_SYMLINKS,
 * _SECURE_NOABSOLUTEPATHS, _NO_OVERWRITE) are what the checks below
 * enforce, and more narrowly.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "archive_int.h"
#include "dlarchive_int.h"
#include "evlog_private.h"

/* ------------------------------------------------------------ formats */

static int ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);

	return n > k && strcmp(s + n - k, suf) == 0;
}

enum ev_archive_format ev_archive_format_by_name(const char *name)
{
	if (ends_with(name, ".tar"))
		return EV_ARCHIVE_TAR;
	if (ends_with(name, ".tar.zst") || ends_with(name, ".tzst"))
		return EV_ARCHIVE_TAR_ZST;
	if (ends_with(name, ".tar.gz") || ends_with(name, ".tgz"))
		return EV_ARCHIVE_TAR_GZ;
	if (ends_with(name, ".zip"))
		return EV_ARCHIVE_ZIP;
	return EV_ARCHIVE_NONE;
}

enum ev_archive_format ev_archive_format_parse(const char *s)
{
	if (strcmp(s, "tar") == 0)
		return EV_ARCHIVE_TAR;
	if (strcmp(s, "tar.zst") == 0)
		return EV_ARCHIVE_TAR_ZST;
	if (strcmp(s, "tar.gz") == 0)
		return EV_ARCHIVE_TAR_GZ;
	if (strcmp(s, "zip") == 0)
		return EV_ARCHIVE_ZIP;
	return EV_ARCHIVE_NONE;
}

/* ------------------------------------------------------------ export */

struct xfile {
	enum ev_arc_kind kind;
	uint64_t base;
	int fd;	       /* segments; -1 for files held in mem */
	uint64_t size; /* bytes to store */
	uint8_t *mem;  /* meta, head, indexes */
};

struct xport {
	struct ev_log *log;
	struct xfile *f;
	size_t n, cap;
	char top[256];
	time_t now;
};

static struct xfile *xadd(struct xport *x)
{
	if (x->n == x->cap) {
		size_t cap = x->cap ? x->cap * 2 : 32;
		struct xfile *v = realloc(x->f, cap * sizeof(*v));
		if (v == NULL)
			return NULL;
		x->f = v;
		x->cap = cap;
	}
	memset(&x->f[x->n], 0, sizeof(x->f[0]));
	x->f[x->n].fd = -1;
	return &x->f[x->n++];
}

static void xport_free(struct xport *x)
{
	size_t i;

	for (i = 0; i < x->n; i++) {
		if (x->f[i].fd >= 0)
			close(x->f[i].fd);
		free(x->f[i].mem);
	}
	free(x->f);
	x->f = NULL;
	x->n = x->cap = 0;
}

/* A small file of the log, whole, into mem: 0, 1 missing (or not a
 * regular file, for a cache), -1 error. */
static int slurp(int dirfd, const char *name, uint64_t max, uint8_t **mem,
		 uint64_t *size)
{
	struct stat st;
	int fd, r;

	*mem = NULL;
	*size = 0;
	fd = ev_openat(dirfd, name, O_RDONLY, 0);
	if (fd < 0)
		return errno == ENOENT || errno == ELOOP || errno == EV_ENOTREG
			       ? 1
			       : -1;
	if (fstat(fd, &st) != 0) {
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size > max) {
		close(fd);
		errno = EFBIG;
		return -1;
	}
	*mem = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (*mem == NULL) {
		close(fd);
		return -1;
	}
	r = ev_read_full(fd, *mem, (size_t)st.st_size, 0);
	close(fd);
	if (r != 1) {
		free(*mem);
		*mem = NULL;
		if (r == 0)
			errno = EAGAIN; /* it shrank: a race */
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Keep the entries of an index that lie within the snapshot: whole
 * entries only, and for the head segment only those before its end. */
static uint64_t index_keep(const uint8_t *p, uint64_t n, int time,
			   const struct ev_head *h, uint64_t base, int is_head)
{
	uint64_t es = time ? 16 : EV_IDX_ENTRY, k, cnt;

	if (n < EV_IDXHDR_SIZE)
		return 0;
	cnt = (n - EV_IDXHDR_SIZE) / es;
	if (!is_head)
		return EV_IDXHDR_SIZE + cnt * es;
	for (k = 0; k < cnt; k++) {
		const uint8_t *e = p + EV_IDXHDR_SIZE + k * es;
		if (time ? base + ev_get32(e + 8) >= h->next
			 : ev_get32(e + 4) >= h->end)
			break;
	}
	return EV_IDXHDR_SIZE + k * es;
}

static void top_name(const char *path, char *out, size_t n)
{
	char tmp[4096];
	size_t len;
	const char *b;

	snprintf(tmp, sizeof(tmp), "%s", path);
	len = strlen(tmp);
	while (len > 1 && tmp[len - 1] == '/')
		tmp[--len] = '\0';
	b = strrchr(tmp, '/');
	b = b ? b + 1 : tmp;
	if (ev_arc_top_ok(b, strlen(b)) && strlen(b) < n)
		snprintf(out, n, "%s", b);
	else
		snprintf(out, n, "%s", "log.evlog");
}

/*
 * Check the batches of a segment to be exported, its first size bytes,
 * as they are copied, so that no archive of damaged data is made: the
 * header, each batch's header and payload checksums.  Adds the events
 * it holds to *events.
 */
static int export_check(struct ev_log *log, int fd, const char *name,
			uint64_t size, int tail, uint64_t *events,
			struct ev_error *err)
{
	uint8_t hb[EV_SEGHDR_SIZE];
	struct ev_seghdr sh;
	struct ev_batchhdr h;
	struct ev_buf stored = {0};
	uint64_t pos = EV_SEGHDR_SIZE;
	const char *why = NULL;
	char w[160];
	int r;

	if (ev_read_full(fd, hb, sizeof(hb), 0) != 1 ||
	    ev_seghdr_check(hb, sizeof(hb), &sh, w, sizeof(w)) != 0)
		return ev_seterr(err, EV_EDATA,
				 "damaged data in '%s': segment %s, byte 0: "
				 "bad segment header",
				 log->path, name);
	while (pos < size) {
		r = ev_segment_read_batch(fd, pos, size, sh.salt, &h, &stored,
					  &why);
		if (r == EV_EIO) {
			ev_buf_free(&stored);
			return ev_seterr(err, EV_EIO, "cannot read '%s/%s': %s",
					 log->path, name, why);
		}
		if (r != 0 && tail)
			break; /* no head: readers end there too */
		if (r != 0) {
			ev_buf_free(&stored);
			return ev_seterr(err, EV_EDATA,
					 "damaged data in '%s': segment %s, "
					 "byte %llu: %s",
					 log->path, name,
					 (unsigned long long)pos, why);
		}
		if (!ev_batch_is_gap(&h))
			*events += h.count;
		pos += EV_BATCHHDR_SIZE + h.stored_len;
	}
	ev_buf_free(&stored);
	return 0;
}

/* Open every file of the snapshot.  EV_EAGAIN when a trim raced us. */
static int snapshot(struct xport *x, struct ev_export_report *rep,
		    struct ev_error *err)
{
	struct ev_log *log = x->log;
	struct ev_head h;
	uint64_t *segs = NULL, sz;
	size_t nseg = 0, i;
	struct xfile *f;
	struct stat st;
	char name[40];
	int hr, rc = 0, t;

	memset(&h, 0, sizeof(h));
	hr = ev_head_read(log->dirfd, &h);
	if (hr == EV_EIO)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot read '%s/head'", log->path);
	if ((rc = ev_log_segments(log->dirfd, &segs, &nseg, err)) != 0)
		return rc;
	if (hr == 0)
		while (nseg > 0 && segs[nseg - 1] > h.seg_base)
			nseg--;
	if (nseg == 0 || (hr == 0 && segs[nseg - 1] != h.seg_base)) {
		free(segs);
		return ev_seterr(err, EV_EDATA,
				 "damaged data in '%s': the segment the head "
				 "names is missing",
				 log->path);
	}
	if ((f = xadd(x)) == NULL)
		goto oom;
	f->kind = K_META;
	if (slurp(log->dirfd, "meta", META_MAX, &f->mem, &f->size) != 0) {
		rc = ev_seterr_errno(err, EV_EIO, errno,
				     "cannot read '%s/meta'", log->path);
		goto out;
	}
	if (hr == 0) {
		if ((f = xadd(x)) == NULL)
			goto oom;
		f->kind = K_HEAD;
		f->size = EV_HEAD_SIZE;
		if ((f->mem = malloc(EV_HEAD_SIZE)) == NULL)
			goto oom;
		ev_head_encode(f->mem, &h);
	}
	rep->first = segs[0];
	rep->end = h.next;
	if (hr != 0) {
		/* no head: the end is where the last segment's valid
		 * batches stop, as readers find it */
		struct ev_reader *rd;
		if ((rc = ev_reader_open(&rd, log, err)) != 0)
			goto out;
		rep->end = ev_reader_end_offset(rd);
		ev_reader_free(rd);
	}
	rep->segments = nseg;
	rep->events = 0;
	for (i = 0; i < nseg; i++) {
		int is_head = i + 1 == nseg;
		if ((f = xadd(x)) == NULL)
			goto oom;
		f->kind = K_SEG;
		f->base = segs[i];
		ev_segment_name(name, sizeof(name), segs[i], "seg");
		f->fd = ev_openat(log->dirfd, name, O_RDONLY, 0);
		if (f->fd < 0 && errno == ENOENT) {
			rc = EV_EAGAIN; /* trimmed since we listed */
			goto out;
		}
		if (f->fd < 0 || fstat(f->fd, &st) != 0) {
			rc = ev_seterr_errno(err, EV_EIO, errno,
					     "cannot read '%s/%s'", log->path,
					     name);
			goto out;
		}
		f->size = (uint64_t)st.st_size;
		if (hr == 0 && is_head) {
			if (f->size < h.end) {
				rc = ev_seterr(err, EV_EDATA,
					       "damaged data in '%s': segment "
					       "%s is shorter than the head "
					       "says",
					       log->path, name);
				goto out;
			}
			f->size = h.end;
		}
		if ((rc = export_check(log, f->fd, name, f->size,
				       hr != 0 && is_head, &rep->events,
				       err)) != 0)
			goto out;
	}
	/* the indexes: caches, so what is missing or odd is left out */
	for (i = 0; i < nseg; i++) {
		for (t = 0; t < 2; t++) {
			uint8_t *mem;
			ev_segment_name(name, sizeof(name), segs[i],
					t ? "tix" : "idx");
			if (slurp(log->dirfd, name,
				  ev_arc_limit(K_IDX, log->cfg.segment_bytes),
				  &mem, &sz) != 0)
				continue;
			sz = index_keep(mem, sz, t, &h, segs[i],
					hr == 0 && i + 1 == nseg);
			if (sz == 0 || (f = xadd(x)) == NULL) {
				free(mem);
				if (sz == 0)
					continue;
				goto oom;
			}
			f->kind = t ? K_TIX : K_IDX;
			f->base = segs[i];
			f->mem = mem;
			f->size = sz;
		}
	}
	goto out;
oom:
	rc = ev_seterr(err, EV_ERR, "out of memory");
out:
	free(segs);
	return rc;
}

static int xwrite_entry(struct archive *a, struct xport *x,
			const struct xfile *f, uint8_t *buf,
			struct ev_error *err)
{
	struct archive_entry *e = archive_entry_new();
	char name[320], leaf[40];
	uint64_t done = 0;
	int r;

	if (e == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	switch (f->kind) {
	case K_META:
		snprintf(leaf, sizeof(leaf), "meta");
		break;
	case K_HEAD:
		snprintf(leaf, sizeof(leaf), "head");
		break;
	default:
		ev_segment_name(leaf, sizeof(leaf), f->base,
				f->kind == K_SEG   ? "seg"
				: f->kind == K_IDX ? "idx"
						   : "tix");
	}
	snprintf(name, sizeof(name), "%s/%s", x->top, leaf);
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)f->size);
	archive_entry_set_mtime(e, x->now, 0);
	r = archive_write_header(a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		goto fail;
	if (f->mem != NULL) {
		if (f->size > 0 &&
		    archive_write_data(a, f->mem, f->size) != (ssize_t)f->size)
			goto fail;
	} else {
		while (done < f->size) {
			size_t k = f->size - done < COPY_CHUNK
					   ? (size_t)(f->size - done)
					   : COPY_CHUNK;
			if (ev_read_full(f->fd, buf, k, done) != 1)
				return ev_seterr_errno(err, EV_EIO,
						       errno ? errno : EIO,
						       "cannot read '%s/%s'",
						       x->log->path, leaf);
			if (archive_write_data(a, buf, k) != (ssize_t)k)
				goto fail;
			done += k;
		}
	}
	return 0;
fail:
	return ev_seterr(err, EV_EIO, "cannot write the archive: %s",
			 ev_arc_why(a));
}

int ev_log_export_fd(struct ev_log *log, int fd, enum ev_archive_format fmt,
		     struct ev_export_report *rep, struct ev_error *err)
{
	struct xport x;
	struct archive *a = NULL;
	struct archive_entry *e;
	struct ev_export_report dummy;
	uint8_t *buf = NULL;
	char dname[300];
	size_t i;
	int rc, tries;

	if (rep == NULL)
		rep = &dummy;
	memset(rep, 0, sizeof(*rep));
	memset(&x, 0, sizeof(x));
	/* libarchive is loaded for the first archive of a run */
	if ((rc = ev_dl_archive(NULL, NULL, err)) != 0)
		return rc;
	x.log = log;
	x.now = time(NULL);
	top_name(log->path, x.top, sizeof(x.top));
	for (tries = 0;; tries++) {
		rc = snapshot(&x, rep, err);
		if (rc != EV_EAGAIN)
			break;
		xport_free(&x);
		if (tries == 100) {
			rc = ev_seterr(err, EV_EAGAIN,
				       "cannot export '%s': its segments "
				       "keep being trimmed",
				       log->path);
			break;
		}
	}
	if (rc != 0)
		goto out;
	if ((buf = malloc(COPY_CHUNK)) == NULL ||
	    (a = archive_write_new()) == NULL) {
		rc = ev_seterr(err, EV_ERR, "out of memory");
		goto out;
	}
	switch (fmt) {
	case EV_ARCHIVE_ZIP:
		archive_write_set_format_zip(a);
		/* segments are zstd already: store every entry */
		archive_write_set_options(a, "zip:compression=store");
		break;
	case EV_ARCHIVE_TAR_ZST:
		archive_write_set_format_pax_restricted(a);
		archive_write_add_filter_zstd(a);
		break;
	case EV_ARCHIVE_TAR_GZ:
		archive_write_set_format_pax_restricted(a);
		archive_write_add_filter_gzip(a);
		break;
	default:
		archive_write_set_format_pax_restricted(a);
		break;
	}
	/* whole 10240-byte blocks only for a tape; a file ends at its end */
	archive_write_set_bytes_in_last_block(a, 1);
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK) {
		rc = ev_seterr(err, EV_EIO, "cannot write the archive: %s",
			       ev_arc_why(a));
		goto out;
	}
	if ((e = archive_entry_new()) == NULL) {
		rc = ev_seterr(err, EV_ERR, "out of memory");
		goto out;
	}
	snprintf(dname, sizeof(dname), "%s/", x.top);
	archive_entry_set_pathname(e, dname);
	archive_entry_set_filetype(e, AE_IFDIR);
	archive_entry_set_perm(e, 0755);
	archive_entry_set_mtime(e, x.now, 0);
	rc = archive_write_header(a, e);
	archive_entry_free(e);
	if (rc != ARCHIVE_OK) {
		rc = ev_seterr(err, EV_EIO, "cannot write the archive: %s",
			       ev_arc_why(a));
		goto out;
	}
	rc = 0;
	for (i = 0; i < x.n && rc == 0; i++) {
		rc = xwrite_entry(a, &x, &x.f[i], buf, err);
		rep->bytes += x.f[i].size;
	}
	if (rc == 0 && archive_write_close(a) != ARCHIVE_OK)
		rc = ev_seterr(err, EV_EIO, "cannot write the archive: %s",
			       ev_arc_why(a));
out:
	archive_write_free(a);
	xport_free(&x);
	free(buf);
	return rc;
}

int ev_log_export(struct ev_log *log, const char *path,
		  enum ev_archive_format fmt, struct ev_export_report *rep,
		  struct ev_error *err)
{
	char tmp[4200];
	uint8_t rnd[8];
	int fd, rc, n;

	/* before the file is made */
	if ((rc = ev_dl_archive(NULL, NULL, err)) != 0)
		return rc;
	ev_random(rnd, sizeof(rnd));
	n = snprintf(tmp, sizeof(tmp),
		     "%s.tmp.%02x%02x%02x%02x%02x%02x%02x%02x", path, rnd[0],
		     rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	if (n <= 0 || (size_t)n >= sizeof(tmp))
		return ev_seterr(err, EV_EUSAGE, "'%s': name too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		  0666);
	if (fd < 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot create '%s'",
				       path);
	rc = ev_log_export_fd(log, fd, fmt, rep, err);
	if (rc == 0 && fsync(fd) != 0)
		rc = ev_seterr_errno(err, EV_EIO, errno, "cannot write '%s'",
				     path);
	if (close(fd) != 0 && rc == 0)
		rc = ev_seterr_errno(err, EV_EIO, errno, "cannot write '%s'",
				     path);
	if (rc == 0 && rename(tmp, path) != 0)
		rc = ev_seterr_errno(err, EV_EIO, errno, "cannot write '%s'",
				     path);
	if (rc != 0)
		unlink(tmp);
	return rc;
}

/* ------------------------------------------------------------ import */

/* Without --max-bytes, an archive may unpack to at most IMPORT_RATIO
 * times its size, past the first IMPORT_SLACK bytes: segments are zstd
 * already, so a real one is nowhere near, and a bomb of many entries,
 * each within its limit, stops there rather than at a full disk. */
#define IMPORT_RATIO 100u
#define IMPORT_SLACK ((uint64_t)64 << 20)

struct imp {
	const char *arcname; /* as the user named it */
	int dirfd;
	int ratio;	  /* check IMPORT_RATIO */
	uint64_t arcsize; /* of the archive file; 0: what is read of it */
	uint64_t max_bytes, total, seg_bytes;
	char top[256];
	int have_top, have_meta, have_lock;
	uint64_t nseg;
};

static int refuse(struct imp *m, struct ev_error *err, const char *entry,
		  const char *why)
{
	char sh[256];

	return ev_seterr(err, EV_EDATA, "archive '%s': entry '%s' refused: %s",
			 m->arcname, ev_arc_shown(entry, sh, sizeof(sh)), why);
}

/* Unpack the data of the current entry into leaf. */
static int unpack_entry(struct archive *a, struct imp *m, const char *entry,
			int64_t declared, const struct ev_arc_name *an,
			uint8_t *buf, struct ev_error *err)
{
	uint64_t limit = ev_arc_limit(an->kind, m->seg_bytes), got = 0;
	char why[160];
	ssize_t k;
	int fd, rc = 0;

	fd = openat(m->dirfd, an->leaf,
		    O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		if (errno == EEXIST)
			return refuse(m, err, entry,
				      "it appears twice in the archive");
		return ev_seterr_errno(err, EV_EIO, errno, "cannot create '%s'",
				       an->leaf);
	}
	for (;;) {
		k = archive_read_data(a, buf, COPY_CHUNK);
		if (k < 0) {
			char sh[256];
			rc = ev_seterr(err, EV_EDATA,
				       "archive '%s' is damaged at entry '%s': "
				       "%s",
				       m->arcname,
				       ev_arc_shown(entry, sh, sizeof(sh)),
				       ev_arc_why(a));
			break;
		}
		if (k == 0)
			break;
		got += (uint64_t)k;
		m->total += (uint64_t)k;
		if (declared >= 0 && got > (uint64_t)declared) {
			snprintf(why, sizeof(why),
				 "it holds more than the %lld bytes its header "
				 "declares",
				 (long long)declared);
			rc = refuse(m, err, entry, why);
			break;
		}
		if (got > limit) {
			snprintf(why, sizeof(why),
				 "it holds more than the %llu bytes such a "
				 "file may hold",
				 (unsigned long long)limit);
			rc = refuse(m, err, entry, why);
			break;
		}
		if (m->ratio && m->total > IMPORT_SLACK) {
			uint64_t in = (uint64_t)archive_filter_bytes(a, -1);
			char sh[256];
			if (in < m->arcsize)
				in = m->arcsize;
			if (m->total / IMPORT_RATIO > in) {
				rc = ev_seterr(
					err, EV_EDATA,
					"archive '%s' unpacks to more than %u "
					"times its size (at entry '%s'): "
					"refused",
					m->arcname, IMPORT_RATIO,
					ev_arc_shown(entry, sh, sizeof(sh)));
				ev_sethint(err, "--max-bytes SIZE sets the "
						"limit instead");
				break;
			}
		}
		if (m->total > m->max_bytes) {
			rc = ev_seterr(err, EV_EDATA,
				       "archive '%s' unpacks to more than "
				       "%llu bytes (at entry '%s'): refused",
				       m->arcname,
				       (unsigned long long)m->max_bytes,
				       an->leaf);
			ev_sethint(err, "--max-bytes SIZE raises the limit");
			break;
		}
		if (an->kind == K_LOCK || an->kind == K_TYPECOUNTS)
			continue; /* made empty, or dropped: a cache an
				   * archive could forge */
		if (ev_write_full(fd, buf, (size_t)k, got - (uint64_t)k) != 0) {
			rc = ev_seterr_errno(err, EV_EIO, errno,
					     "cannot write '%s'", an->leaf);
			break;
		}
	}
	if (rc == 0 && an->kind == K_META) {
		/* the segment size bounds the segments that follow */
		struct ev_log tmp;
		char text[META_MAX + 1];
		struct ev_error e2;
		memset(&tmp, 0, sizeof(tmp));
		tmp.path = (char *)m->arcname;
		if (got <= META_MAX &&
		    ev_read_full(fd, text, (size_t)got, 0) >= 0) {
			text[got] = '\0';
			if (ev_log_meta_parse(&tmp, text, &e2) == 0)
				m->seg_bytes = tmp.cfg.segment_bytes;
		}
	}
	if (rc == 0 && fsync(fd) != 0)
		rc = ev_seterr_errno(err, EV_EIO, errno, "cannot write '%s'",
				     an->leaf);
	close(fd);
	return rc;
}

static int unpack(struct archive *a, struct imp *m,
		  struct ev_import_report *rep, struct ev_error *err)
{
	struct archive_entry *e;
	struct ev_arc_name an;
	const char *why, *name;
	uint8_t *buf = malloc(COPY_CHUNK);
	char msg[300], last[256] = "";
	int r, rc = 0, is_dir;

	if (buf == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	for (;;) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			if (last[0] != '\0')
				rc = ev_seterr(err, EV_EDATA,
					       "archive '%s' is damaged after "
					       "entry '%s': %s",
					       m->arcname, last, ev_arc_why(a));
			else
				rc = ev_seterr(err, EV_EDATA,
					       "archive '%s' is damaged: %s",
					       m->arcname, ev_arc_why(a));
			break;
		}
		if (++rep->entries > MAX_ENTRIES) {
			rc = ev_seterr(err, EV_EDATA,
				       "archive '%s' has more than %u entries: "
				       "refused",
				       m->arcname, MAX_ENTRIES);
			break;
		}
		name = archive_entry_pathname(e);
		ev_arc_shown(name, last, sizeof(last));
		why = ev_arc_entry_problem(e, &is_dir);
		if (*why != '\0') {
			if (archive_entry_hardlink(e) != NULL) {
				char sh[256];
				snprintf(msg, sizeof(msg),
					 "a hard link to '%s'",
					 ev_arc_shown(archive_entry_hardlink(e),
						      sh, sizeof(sh)));
				why = msg;
			} else if (archive_entry_symlink(e) != NULL) {
				char sh[256];
				snprintf(msg, sizeof(msg),
					 "a symbolic link to '%s'",
					 ev_arc_shown(archive_entry_symlink(e),
						      sh, sizeof(sh)));
				why = msg;
			}
			rc = refuse(m, err, name, why);
			break;
		}
		if (ev_arc_classify(name, is_dir, &an, &why) == K_BAD) {
			rc = refuse(m, err, name, why);
			break;
		}
		if (!m->have_top) {
			memcpy(m->top, an.top, sizeof(m->top));
			m->have_top = 1;
		} else if (strcmp(m->top, an.top) != 0) {
			snprintf(msg, sizeof(msg),
				 "it is not in the log's directory '%s%s'",
				 m->top, m->top[0] ? "/" : "");
			rc = refuse(m, err, name, msg);
			break;
		}
		if (an.kind == K_DIR || an.kind == K_SIX)
			continue; /* a cache: made again below */
		if (archive_entry_size_is_set(e) &&
		    archive_entry_size(e) >= 0 &&
		    (uint64_t)archive_entry_size(e) >
			    ev_arc_limit(an.kind, m->seg_bytes)) {
			snprintf(msg, sizeof(msg),
				 "it is larger than the %llu bytes such a "
				 "file may hold",
				 (unsigned long long)
					 ev_arc_limit(an.kind, m->seg_bytes));
			rc = refuse(m, err, name, msg);
			break;
		}
		if ((rc = unpack_entry(a, m, name,
				       archive_entry_size_is_set(e)
					       ? archive_entry_size(e)
					       : -1,
				       &an, buf, err)) != 0)
			break;
		if (an.kind == K_META)
			m->have_meta = 1;
		if (an.kind == K_LOCK && strcmp(an.leaf, "lock") == 0)
			m->have_lock = 1;
		if (an.kind == K_SEG)
			m->nseg++;
	}
	free(buf);
	rep->bytes = m->total;
	rep->segments = m->nseg;
	if (rc == 0 && !m->have_meta)
		rc = ev_seterr(err, EV_EDATA,
			       "archive '%s' holds no evlog log (no meta file)",
			       m->arcname);
	else if (rc == 0 && m->nseg == 0)
		rc = ev_seterr(err, EV_EDATA,
			       "archive '%s' holds no segment of its log",
			       m->arcname);
	return rc;
}

/*
 * Indexes are caches (evlog(5) Indexes): an archive may lack them, or
 * carry ones that do not check out.  Those are made again from their
 * segments, so that the new log verifies as any log does.
 */
static int fill_indexes(struct ev_log *log, struct ev_error *err)
{
	uint64_t *segs = NULL, limit;
	size_t nseg = 0, i;
	uint8_t hb[EV_SEGHDR_SIZE];
	struct ev_seghdr sh;
	struct ev_head h;
	struct stat st;
	char name[40], why[160];
	int rc, fd, hr, ok;

	if ((rc = ev_log_segments(log->dirfd, &segs, &nseg, err)) != 0)
		return rc;
	hr = ev_head_read(log->dirfd, &h);
	for (i = 0; i < nseg && rc == 0; i++) {
		ev_segment_name(name, sizeof(name), segs[i], "seg");
		fd = ev_openat(log->dirfd, name, O_RDONLY, 0);
		if (fd < 0)
			continue; /* verify names it */
		ok = fstat(fd, &st) == 0 &&
		     ev_read_full(fd, hb, sizeof(hb), 0) == 1 &&
		     ev_seghdr_check(hb, sizeof(hb), &sh, why, sizeof(why)) ==
			     0;
		close(fd);
		if (!ok)
			continue; /* verify names it */
		ev_segment_name(name, sizeof(name), segs[i], "idx");
		ok = faccessat(log->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) ==
		     0;
		ev_segment_name(name, sizeof(name), segs[i], "tix");
		ok = ok &&
		     faccessat(log->dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) ==
			     0 &&
		     ev_index_sound(log->dirfd, segs[i], sh.salt);
		/* the summary index is never taken from an archive */
		ok = ok && !(sh.compat & EV_COMPAT_SUMMARIES);
		if (ok)
			continue;
		limit = (uint64_t)st.st_size;
		if (hr == 0 && h.seg_base == segs[i] && h.end < limit)
			limit = h.end;
		rc = ev_index_rebuild(log, segs[i], sh.salt, limit, NULL, NULL,
				      err);
	}
	free(segs);
	return rc;
}

/* Remove the new directory and what is in it (plain files only). */
static void remove_tree(int pfd, const char *name)
{
	int fd = openat(pfd, name,
			O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;
	struct dirent *de;

	if (fd >= 0 && (d = fdopendir(fd)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 &&
			    strcmp(de->d_name, "..") != 0)
				unlinkat(fd, de->d_name, 0);
		closedir(d);
	} else if (fd >= 0) {
		close(fd);
	}
	unlinkat(pfd, name, AT_REMOVEDIR);
}

int ev_log_import(const char *archive, const char *dst,
		  const struct ev_import_opts *o, struct ev_import_report *rep,
		  struct ev_error *err)
{
	struct ev_import_report dummy;
	struct imp m;
	struct archive *a = NULL;
	struct ev_log *log = NULL;
	struct ev_verify_report vr;
	struct statvfs vfs;
	struct stat st;
	char parent[4096], base[256], tmpname[300], tmppath[4400];
	const char *slash;
	uint8_t rnd[8];
	int pfd = -1, rc, made = 0;
	mode_t um;

	if (rep == NULL)
		rep = &dummy;
	memset(rep, 0, sizeof(*rep));
	memset(&m, 0, sizeof(m));
	m.dirfd = -1;
	m.arcname = archive; /* "-" as on success */
	/* libarchive is loaded for the first archive of a run */
	if ((rc = ev_dl_archive("cannot import", m.arcname, err)) != 0)
		return rc;
	if (lstat(dst, &st) == 0)
		return ev_seterr(err, EV_EEXIST, "'%s' already exists", dst);
	/* the new directory goes beside dst */
	slash = strrchr(dst, '/');
	while (slash != NULL && slash[1] == '\0')
		return ev_seterr(err, EV_EUSAGE,
				 "'%s': name the new log, not a directory",
				 dst);
	if (slash == NULL) {
		snprintf(parent, sizeof(parent), ".");
		snprintf(base, sizeof(base), "%s", dst);
	} else {
		size_t pl = (size_t)(slash - dst);
		if (pl >= sizeof(parent) || strlen(slash + 1) >= sizeof(base))
			return ev_seterr(err, EV_EUSAGE, "'%s': name too long",
					 dst);
		memcpy(parent, dst, pl);
		parent[pl ? pl : 1] = '\0';
		if (pl == 0)
			parent[0] = '/';
		snprintf(base, sizeof(base), "%s", slash + 1);
	}
	if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
	    base[0] == '\0')
		return ev_seterr(err, EV_EUSAGE, "'%s': not a name for a log",
				 dst);
	pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd < 0)
		return ev_seterr_errno(err,
				       errno == ENOENT ? EV_ENOENT : EV_EIO,
				       errno, "cannot open directory '%s'",
				       parent);
	if (ev_arc_open_read(&a, archive, strcmp(archive, "-") == 0 ? 0 : -1) !=
	    ARCHIVE_OK) {
		struct stat ast;
		if (strcmp(archive, "-") != 0 && stat(archive, &ast) != 0)
			rc = ev_seterr_errno(err,
					     errno == ENOENT ? EV_ENOENT
							     : EV_EIO,
					     errno, "cannot open '%s'",
					     archive);
		else
			rc = ev_seterr(err, EV_EDATA,
				       "cannot read archive '%s': %s",
				       m.arcname, ev_arc_why(a));
		goto out;
	}
	m.max_bytes = o && o->max_bytes ? o->max_bytes : UINT64_MAX;
	m.ratio = o == NULL || o->max_bytes == 0;
	if (strcmp(archive, "-") != 0 && stat(archive, &st) == 0 &&
	    S_ISREG(st.st_mode))
		m.arcsize = (uint64_t)st.st_size;
	if ((o == NULL || o->max_bytes == 0) && fstatvfs(pfd, &vfs) == 0)
		m.max_bytes = (uint64_t)vfs.f_bavail * vfs.f_frsize;
	ev_random(rnd, sizeof(rnd));
	snprintf(tmpname, sizeof(tmpname),
		 ".%.200s.import-%02x%02x%02x%02x%02x%02x%02x%02x", base,
		 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6],
		 rnd[7]);
	snprintf(tmppath, sizeof(tmppath), "%s/%s", parent, tmpname);
	if (mkdirat(pfd, tmpname, 0700) != 0) {
		rc = ev_seterr_errno(err, EV_EIO, errno, "cannot create '%s'",
				     tmppath);
		goto out;
	}
	made = 1;
	m.dirfd = openat(pfd, tmpname,
			 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (m.dirfd < 0) {
		rc = ev_seterr_errno(err, EV_EIO, errno, "cannot open '%s'",
				     tmppath);
		goto out;
	}
	if ((rc = unpack(a, &m, rep, err)) != 0)
		goto out;
	/* typecounts is a cache that readers trust when its header matches
	 * the log: made again when needed, never taken from an archive */
	unlinkat(m.dirfd, "typecounts", 0);
	if (!m.have_lock && ev_file_create(m.dirfd, "lock", "", 0) != 0) {
		rc = ev_seterr_errno(err, EV_EIO, errno, "cannot create '%s'",
				     tmppath);
		goto out;
	}
	/* check it all, as evctl verify does, before anyone sees it */
	if ((rc = ev_log_open(&log, tmppath, err)) != 0 ||
	    (rc = fill_indexes(log, err)) != 0 ||
	    (rc = ev_log_verify(log, &vr, NULL, NULL, err)) != 0) {
		char msg[sizeof(err->msg)];
		snprintf(msg, sizeof(msg), "%s", err->msg);
		rc = ev_seterr(err, EV_EDATA,
			       "archive '%s' does not hold a sound log: %s",
			       m.arcname, msg);
		goto out;
	}
	rep->events = vr.records;
	um = umask(0);
	umask(um);
	if (fchmod(m.dirfd, 0777 & ~um) != 0 || ev_fsync_dir(m.dirfd) != 0) {
		rc = ev_seterr_errno(err, EV_EIO, errno, "cannot write '%s'",
				     tmppath);
		goto out;
	}
	if (renameat2(pfd, tmpname, pfd, base, RENAME_NOREPLACE) != 0) {
		int e = errno;
		if (e == EINVAL || e == ENOSYS) {
			/* no RENAME_NOREPLACE here: a plain rename, which
			 * may only replace an empty directory */
			if (fstatat(pfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0)
				e = EEXIST;
			else if (renameat(pfd, tmpname, pfd, base) == 0)
				e = 0;
			else
				e = errno;
		}
		if (e == EEXIST || e == ENOTEMPTY) {
			rc = ev_seterr(err, EV_EEXIST, "'%s' already exists",
				       dst);
			goto out;
		}
		if (e != 0) {
			rc = ev_seterr_errno(err, EV_EIO, e,
					     "cannot create '%s'", dst);
			goto out;
		}
	}
	made = 0;
	fsync(pfd);
	rc = 0;
out:
	ev_log_close(log);
	archive_read_free(a);
	if (m.dirfd >= 0)
		close(m.dirfd);
	if (made)
		remove_tree(pfd, tmpname);
	if (pfd >= 0)
		close(pfd);
	return rc;
}
