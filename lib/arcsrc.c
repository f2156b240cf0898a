/*
 * arcsrc.c - a log inside an archive file, read with libarchive: the
 * names a log directory holds and how they may appear in an archive (for
 * import too), and struct ev_arcsrc, the source a reader takes the
 * segments of a log in an archive from (archive_int.h).  It reads only:
 * each segment is copied into an anonymous in-memory file (memfd), never
 * to disk.  Below the reader; archive.c, above it, exports and imports.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_int.h"
#include "dlarchive_int.h"

/* ------------------------------------------------------------ names */

static int ends_with(const char *s, const char *suf)
{
	size_t n = strlen(s), k = strlen(suf);

	return n > k && strcmp(s + n - k, suf) == 0;
}

int ev_arc_top_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 255 || (n == 1 && s[0] == '.') ||
	    (n == 2 && s[0] == '.' && s[1] == '.'))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-' || c == '+' || c == '@' || c == ','))
			return 0;
	}
	return 1;
}

static enum ev_arc_kind leaf_kind(const char *s, size_t n, uint64_t *base)
{
	static const struct {
		const char *name;
		enum ev_arc_kind k;
	} fixed[] = {
		{"meta", K_META},
		{"head", K_HEAD},
		{"lock", K_LOCK},
		{"evdlq.lock", K_LOCK},
		{"typecounts", K_TYPECOUNTS},
	};
	size_t i;
	uint64_t b = 0;

	for (i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strlen(fixed[i].name) == n &&
		    memcmp(s, fixed[i].name, n) == 0)
			return fixed[i].k;
	if (n != 24 || s[20] != '.')
		return K_BAD;
	for (i = 0; i < 20; i++) {
		if (s[i] < '0' || s[i] > '9')
			return K_BAD;
		if (b > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return K_BAD;
		b = b * 10 + (uint64_t)(s[i] - '0');
	}
	*base = b;
	if (memcmp(s + 21, "seg", 3) == 0)
		return K_SEG;
	if (memcmp(s + 21, "idx", 3) == 0)
		return K_IDX;
	if (memcmp(s + 21, "tix", 3) == 0)
		return K_TIX;
	if (memcmp(s + 21, "six", 3) == 0)
		return K_SIX;
	return K_BAD;
}

/*
 * Classify an entry name: [./][TOP/]LEAF, or TOP/ for the directory.
 * K_BAD with *why saying what is wrong.
 */
enum ev_arc_kind ev_arc_classify(const char *path, int is_dir,
				 struct ev_arc_name *a, const char **why)
{
	const char *p = path, *slash;
	size_t n, tn;

	memset(a, 0, sizeof(*a));
	*why = "not a file of a log (meta, head, lock, evdlq.lock, "
	       "typecounts, segments and their indexes)";
	if (p == NULL || *p == '\0') {
		*why = "it has no name";
		return K_BAD;
	}
	n = strlen(p);
	if (n > NAME_MAX_LEN) {
		*why = "its name is too long";
		return K_BAD;
	}
	if (p[0] == '/') {
		*why = "an absolute path";
		return K_BAD;
	}
	if (strcmp(p, "..") == 0 || strncmp(p, "../", 3) == 0 ||
	    strstr(p, "/../") != NULL || ends_with(p, "/..")) {
		*why = "a path with '..'";
		return K_BAD;
	}
	if (strncmp(p, "./", 2) == 0) {
		p += 2;
		n -= 2;
		if (n == 0 && is_dir) { /* "./": the top itself */
			a->kind = K_DIR;
			return K_DIR;
		}
	}
	if (n > 0 && p[n - 1] == '/') {
		if (!is_dir)
			return K_BAD;
		n--;
	}
	slash = memchr(p, '/', n);
	if (slash == NULL) {
		if (is_dir) {
			if (!ev_arc_top_ok(p, n))
				return K_BAD;
			memcpy(a->top, p, n);
			a->kind = K_DIR;
			return K_DIR;
		}
		a->kind = leaf_kind(p, n, &a->base);
		if (a->kind != K_BAD)
			memcpy(a->leaf, p, n);
		return a->kind;
	}
	tn = (size_t)(slash - p);
	if (is_dir || !ev_arc_top_ok(p, tn) ||
	    memchr(slash + 1, '/', n - tn - 1) != NULL) {
		if (is_dir)
			*why = "a directory a log does not hold";
		return K_BAD;
	}
	a->kind = leaf_kind(slash + 1, n - tn - 1, &a->base);
	if (a->kind != K_BAD) {
		memcpy(a->top, p, tn);
		memcpy(a->leaf, slash + 1, n - tn - 1);
	}
	return a->kind;
}

/* The most bytes an entry of kind may hold, given the log's segment
 * size (0: not known yet). */
uint64_t ev_arc_limit(enum ev_arc_kind k, uint64_t seg_bytes)
{
	uint64_t seg = seg_bytes ? seg_bytes + SEG_SLACK : SEG_MAX;

	switch (k) {
	case K_META:
		return META_MAX;
	case K_HEAD:
		return EV_HEAD_SIZE;
	case K_LOCK:
		return LOCK_MAX; /* read, then dropped */
	case K_TYPECOUNTS:
		return TYPECOUNTS_MAX;
	case K_SEG:
		return seg;
	case K_IDX:
	case K_TIX:
		return EV_IDXHDR_SIZE + 16 * ev_index_max_entries(seg);
	default:
		return 0;
	}
}

/* What an entry is: "" for a regular file, or why it is refused. */
const char *ev_arc_entry_problem(struct archive_entry *e, int *is_dir)
{
	mode_t t = archive_entry_filetype(e);

	*is_dir = 0;
	if (archive_entry_hardlink(e) != NULL)
		return "a hard link";
	if (t == AE_IFLNK || archive_entry_symlink(e) != NULL)
		return "a symbolic link";
	if (t == AE_IFDIR) {
		*is_dir = 1;
		return "";
	}
	if (t != AE_IFREG)
		return "not a regular file";
	return "";
}

/* A name safe to quote in a message: at most 200 bytes, with control
 * characters as '?'. */
const char *ev_arc_shown(const char *name, char *buf, size_t n)
{
	size_t i, k = 0;

	if (name == NULL)
		name = "";
	for (i = 0; name[i] && k + 4 < n && i < 200; i++)
		buf[k++] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f
				   ? '?'
				   : name[i];
	if (name[i] && k + 4 < n) {
		memcpy(buf + k, "...", 3);
		k += 3;
	}
	buf[k] = '\0';
	return buf;
}
/* ------------------------------------------------------------ reading */

static struct archive *read_new(void)
{
	struct archive *a = archive_read_new();

	if (a == NULL)
		return NULL;
	/* the filters libarchive runs in-process only: _all would also run
	 * external programs (lrzip, lzop, grzip) found on PATH on whatever
	 * a hostile file starts with */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_filter_lzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_lz4(a);
	archive_read_support_filter_compress(a);
	archive_read_support_format_tar(a);
	archive_read_support_format_gnutar(a);
	archive_read_support_format_zip(a);
	return a;
}

int ev_arc_open_read(struct archive **out, const char *path, int fd)
{
	struct archive *a = read_new();
	int r;

	*out = NULL;
	if (a == NULL)
		return ARCHIVE_FATAL;
	r = fd >= 0 ? archive_read_open_fd(a, fd, 65536)
		    : archive_read_open_filename(a, path, 65536);
	if (r != ARCHIVE_OK) {
		*out = a; /* for its error string */
		return r;
	}
	*out = a;
	return ARCHIVE_OK;
}

const char *ev_arc_why(struct archive *a)
{
	const char *s = a ? archive_error_string(a) : NULL;

	return s ? s : "unknown error";
}

int ev_archive_probe(const char *path)
{
	struct archive *a;
	struct archive_entry *e;
	struct stat st;
	uint8_t magic[8];
	int fd, r, yes = 0;

	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	/* a segment is no archive: told without loading libarchive */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		r = ev_read_full(fd, magic, sizeof(magic), 0);
		close(fd);
		if (r == 1 && memcmp(magic, ev_seg_magic, 8) == 0)
			return 0;
	}
	/* without libarchive, whether it is one cannot be told: say so
	 * when opening it as one (ev_arcsrc_open()) */
	if (!ev_dl_archive_ready())
		return 1;
	if (ev_arc_open_read(&a, path, -1) == ARCHIVE_OK) {
		r = archive_read_next_header(a, &e);
		yes = (r == ARCHIVE_OK || r == ARCHIVE_WARN ||
		       r == ARCHIVE_EOF) &&
		      archive_format(a) != 0;
	}
	archive_read_free(a);
	return yes;
}

/* Read an entry's data whole into buf (at most max bytes): 0, or 1 when
 * it is larger, or -1 on an archive error. */
static int read_small(struct archive *a, uint8_t *buf, size_t max, size_t *n)
{
	ssize_t k;
	uint8_t junk[512];

	*n = 0;
	for (;;) {
		if (*n < max)
			k = archive_read_data(a, buf + *n, max - *n);
		else
			k = archive_read_data(a, junk, sizeof(junk));
		if (k < 0)
			return -1;
		if (k == 0)
			return 0;
		if (*n >= max)
			return 1;
		*n += (size_t)k;
	}
}
/* ------------------------------------------------------------ source */

struct arcent {
	uint64_t base;
	uint64_t ordinal; /* entry number in the archive */
};

struct ev_arcsrc {
	char *path;
	struct ev_log log; /* path and meta only */
	int have_meta, have_head;
	struct ev_head head;
	struct arcent *segs;
	uint64_t *bases;
	size_t nseg;
	struct archive *a; /* positioned before entry next_ord */
	uint64_t next_ord;
	uint8_t *buf;
	/* the first segment met while listing, kept: reading starts there,
	 * and for a log of one segment the archive is read once */
	int cache_fd;
	uint64_t cache_base;
};

/* Why a segment entry of got bytes (or more) is refused. */
static int too_big(const struct ev_arcsrc *s, uint64_t base, uint64_t got,
		   uint64_t limit, int64_t declared, struct ev_error *err)
{
	char name[40];

	ev_segment_name(name, sizeof(name), base, "seg");
	if (declared >= 0 && got > (uint64_t)declared)
		return ev_seterr(err, EV_EDATA,
				 "archive '%s': entry '%s' holds more than the "
				 "%lld bytes its header declares",
				 s->path, name, (long long)declared);
	if (got > limit)
		return ev_seterr(err, EV_EDATA,
				 "archive '%s': segment '%s' is larger than "
				 "the log's segments may be (%llu bytes)",
				 s->path, name, (unsigned long long)limit);
	ev_seterr(err, EV_EDATA,
		  "archive '%s': segment '%s' is larger than %llu bytes, more "
		  "than reading in place holds in memory",
		  s->path, name, (unsigned long long)ARC_MEM_MAX);
	ev_sethint(err, "import it with 'evctl import' to read it");
	return EV_EDATA;
}

/*
 * The data of a's current entry, segment base, into a new memfd.  What
 * memory it takes is bounded three ways: by the log's segment size, by
 * ARC_MEM_MAX whatever the meta says, and by the size the entry's header
 * declares (a zip entry may hold more than it declares, which libarchive
 * finds only at its end).  Data that does not start as a segment is not
 * copied past its header: the reader refuses it from there, as it would
 * the file.
 */
static int copy_entry(struct ev_arcsrc *s, struct archive *a,
		      struct archive_entry *e, uint64_t base, int *fd,
		      struct ev_error *err)
{
	uint64_t limit = ev_arc_limit(K_SEG, s->log.cfg.segment_bytes), got = 0;
	int64_t declared =
		archive_entry_size_is_set(e) ? archive_entry_size(e) : -1;
	struct ev_seghdr sh;
	char why[160];
	ssize_t k;
	int mfd, r;

	*fd = -1;
	/* a size declared too large (a sparse entry, say) is refused
	 * before any data is read */
	if (declared >= 0 &&
	    ((uint64_t)declared > limit || (uint64_t)declared > ARC_MEM_MAX))
		return too_big(s, base, (uint64_t)declared, limit, -1, err);
	if (s->buf == NULL && (s->buf = malloc(COPY_CHUNK)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	mfd = memfd_create("evlog-segment", MFD_CLOEXEC);
	if (mfd < 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot read archive '%s'", s->path);
	for (;;) {
		k = archive_read_data(a, s->buf, COPY_CHUNK);
		if (k < 0) {
			close(mfd);
			return ev_seterr(err, EV_EDATA,
					 "cannot read archive '%s': %s",
					 s->path, ev_arc_why(a));
		}
		if (k == 0)
			break;
		got += (uint64_t)k;
		if (got > limit || got > ARC_MEM_MAX ||
		    (declared >= 0 && got > (uint64_t)declared)) {
			close(mfd);
			return too_big(s, base, got, limit, declared, err);
		}
		if (ev_write_full(mfd, s->buf, (size_t)k, got - (uint64_t)k) !=
		    0) {
			r = ev_seterr_errno(err, EV_EIO, errno,
					    "cannot read archive '%s'",
					    s->path);
			close(mfd);
			return r;
		}
		if (got == (uint64_t)k && got >= EV_SEGHDR_SIZE &&
		    ev_seghdr_check(s->buf, EV_SEGHDR_SIZE, &sh, why,
				    sizeof(why)) != 0)
			break; /* no segment: its header says enough */
	}
	*fd = mfd;
	return 0;
}

static int seg_cmp(const void *x, const void *y)
{
	const struct arcent *a = x, *b = y;

	return a->base < b->base ? -1 : a->base > b->base;
}

static int src_fail(struct ev_arcsrc *s, struct ev_error *err, const char *what)
{
	return ev_seterr(err, EV_EDATA, "cannot read archive '%s': %s", s->path,
			 what);
}

int ev_arcsrc_open(struct ev_arcsrc **out, const char *path,
		   struct ev_error *err)
{
	struct ev_arcsrc *s;
	struct archive *a = NULL;
	struct archive_entry *e;
	struct ev_arc_name an;
	char top[256] = "", sh[256], metabuf[META_MAX + 1];
	const char *why;
	uint8_t hb[EV_HEAD_SIZE];
	size_t n, cap = 0;
	uint64_t ord;
	int r, have_top = 0, is_dir, rc;

	*out = NULL;
	/* libarchive is loaded for the first archive of a run */
	if ((rc = ev_dl_archive("cannot open archive", path, err)) != 0)
		return rc;
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->path = strdup(path)) == NULL) {
		free(s);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	s->log.path = s->path;
	s->log.dirfd = -1;
	s->cache_fd = -1;
	if (ev_arc_open_read(&a, path, -1) != ARCHIVE_OK) {
		rc = ev_seterr(err, EV_ENOENT, "cannot open archive '%s': %s",
			       path, ev_arc_why(a));
		goto fail;
	}
	for (ord = 0;; ord++) {
		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			rc = src_fail(s, err, ev_arc_why(a));
			goto fail;
		}
		if (ord >= MAX_ENTRIES) {
			rc = src_fail(s, err, "too many entries");
			goto fail;
		}
		if (*ev_arc_entry_problem(e, &is_dir) != '\0' ||
		    ev_arc_classify(archive_entry_pathname(e), is_dir, &an,
				    &why) == K_BAD ||
		    an.kind == K_DIR || an.kind == K_SIX)
			continue; /* readers ignore other files */
		if (!have_top) {
			memcpy(top, an.top, sizeof(top));
			have_top = 1;
		} else if (strcmp(top, an.top) != 0) {
			rc = ev_seterr(err, EV_EDATA,
				       "archive '%s' holds more than one log: "
				       "'%s' is not in '%s/'",
				       path,
				       ev_arc_shown(archive_entry_pathname(e),
						    sh, sizeof(sh)),
				       top);
			goto fail;
		}
		if (an.kind == K_META || an.kind == K_HEAD) {
			int dup =
				an.kind == K_META ? s->have_meta : s->have_head;
			int big;
			if (dup) {
				rc = ev_seterr(
					err, EV_EDATA,
					"archive '%s': entry '%s' "
					"appears twice",
					path,
					ev_arc_shown(archive_entry_pathname(e),
						     sh, sizeof(sh)));
				goto fail;
			}
			big = an.kind == K_META
				      ? read_small(a, (uint8_t *)metabuf,
						   META_MAX, &n)
				      : read_small(a, hb, sizeof(hb), &n);
			if (big < 0) {
				rc = src_fail(s, err, ev_arc_why(a));
				goto fail;
			}
			if (an.kind == K_META) {
				metabuf[n] = '\0';
				if (big > 0 || strlen(metabuf) != n) {
					rc = ev_seterr(err, EV_EDATA,
						       "log '%s': meta file "
						       "is malformed",
						       path);
					goto fail;
				}
				if ((rc = ev_log_meta_parse(&s->log, metabuf,
							    err)) != 0)
					goto fail;
				s->have_meta = 1;
			} else {
				s->have_head = 1;
				/* an unreadable head is as if missing */
				if (big || n != sizeof(hb) ||
				    ev_head_decode(hb, &s->head) != 0)
					s->have_head = -1;
			}
			continue;
		}
		if (an.kind != K_SEG)
			continue;
		if (s->cache_fd < 0 && s->have_meta) {
			if ((rc = copy_entry(s, a, e, an.base, &s->cache_fd,
					     err)) != 0)
				goto fail;
			s->cache_base = an.base;
		}
		if (s->nseg == cap) {
			struct arcent *v;
			cap = cap ? cap * 2 : 16;
			v = realloc(s->segs, cap * sizeof(*v));
			if (v == NULL) {
				rc = ev_seterr(err, EV_ERR, "out of memory");
				goto fail;
			}
			s->segs = v;
		}
		s->segs[s->nseg].base = an.base;
		s->segs[s->nseg].ordinal = ord;
		s->nseg++;
	}
	archive_read_free(a);
	a = NULL;
	if (!s->have_meta) {
		rc = ev_seterr(err, EV_EDATA,
			       "archive '%s' holds no evlog log (no meta file)",
			       path);
		goto fail;
	}
	if (s->have_head < 0)
		s->have_head = 0;
	if (s->nseg > 1)
		qsort(s->segs, s->nseg, sizeof(*s->segs), seg_cmp);
	s->bases = calloc(s->nseg ? s->nseg : 1, sizeof(uint64_t));
	if (s->bases == NULL) {
		rc = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	for (n = 0; n < s->nseg; n++) {
		s->bases[n] = s->segs[n].base;
		if (n > 0 && s->bases[n] == s->bases[n - 1]) {
			char name[40];
			ev_segment_name(name, sizeof(name), s->bases[n], "seg");
			rc = ev_seterr(err, EV_EDATA,
				       "archive '%s': entry '%s' appears twice",
				       path, name);
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	archive_read_free(a);
	ev_arcsrc_free(s);
	return rc;
}

void ev_arcsrc_free(struct ev_arcsrc *s)
{
	if (s == NULL)
		return;
	archive_read_free(s->a);
	if (s->cache_fd >= 0)
		close(s->cache_fd);
	free(s->segs);
	free(s->bases);
	free(s->buf);
	free(s->path);
	free(s);
}

const struct ev_log *ev_arcsrc_log(const struct ev_arcsrc *s)
{
	return &s->log;
}

int ev_arcsrc_head(const struct ev_arcsrc *s, struct ev_head *h)
{
	if (s->have_head)
		*h = s->head;
	return s->have_head;
}

size_t ev_arcsrc_segments(const struct ev_arcsrc *s, const uint64_t **bases)
{
	*bases = s->bases;
	return s->nseg;
}

int ev_arcsrc_segment(struct ev_arcsrc *s, uint64_t base, int *fd,
		      struct ev_error *err)
{
	struct archive_entry *e;
	const struct arcent *ent = NULL;
	size_t i;
	int r;

	*fd = -1;
	for (i = 0; i < s->nseg; i++)
		if (s->segs[i].base == base)
			ent = &s->segs[i];
	if (ent == NULL)
		return ev_seterr(err, EV_ENOENT,
				 "archive '%s' holds no segment %020llu",
				 s->path, (unsigned long long)base);
	if (s->cache_fd >= 0 && s->cache_base == base) {
		*fd = s->cache_fd; /* the caller's now */
		s->cache_fd = -1;
		return 0;
	}
	if (s->cache_fd >= 0) {
		/* one segment in memory at a time: read it again if need be */
		close(s->cache_fd);
		s->cache_fd = -1;
	}
	if (s->a != NULL && s->next_ord > ent->ordinal) {
		archive_read_free(s->a); /* behind us: from the start again */
		s->a = NULL;
	}
	if (s->a == NULL) {
		if (ev_arc_open_read(&s->a, s->path, -1) != ARCHIVE_OK) {
			r = ev_seterr(err, EV_EIO,
				      "cannot open archive '%s': %s", s->path,
				      ev_arc_why(s->a));
			archive_read_free(s->a);
			s->a = NULL;
			return r;
		}
		s->next_ord = 0;
	}
	for (;;) {
		r = archive_read_next_header(s->a, &e);
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			r = ev_seterr(err, EV_EDATA,
				      "cannot read archive '%s': %s", s->path,
				      r == ARCHIVE_EOF ? "it ends early"
						       : ev_arc_why(s->a));
			archive_read_free(s->a);
			s->a = NULL;
			return r;
		}
		if (s->next_ord++ == ent->ordinal)
			break;
	}
	r = copy_entry(s, s->a, e, base, fd, err);
	if (r != 0) {
		archive_read_free(s->a);
		s->a = NULL;
	}
	return r;
}
