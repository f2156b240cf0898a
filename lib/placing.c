/*
 * placing.c - where ev_rewrite() puts the new log (evreplay(1)
 * REWRITING, evlog(5) Rewritten logs): the temporary directory beside
 * the target and its name, what interrupted runs left there, the offset
 * map, and the renames that give the new log its name, or swap it in
 * for the source with a marker that lets a rerun finish or undo a swap
 * a crash cut short.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rewrite_int.h"

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#endif
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int oom(struct ev_error *err)
{
	return ev_seterr(err, EV_ERR, "out of memory");
}

char *ev_rw_dupf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
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
int ev_rw_names(struct rw *r, struct ev_error *err)
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
	r->tmp = ev_rw_dupf(".%s.rewrite-%ld", r->base, (long)getpid());
	r->tmp_path = ev_rw_dupf("%s/%s", r->dir, r->tmp ? r->tmp : "");
	r->marker = ev_rw_dupf(".%s.rewrite-swap", r->base);
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
int ev_rw_remove_tree(int pfd, const char *name)
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
int ev_rw_clear_leftovers(struct rw *r, struct ev_error *err)
{
	char prefix[4200], msg[4400];
	struct dirent *e;
	DIR *d;
	int fd, isdir, pass, rc = 0;

	snprintf(prefix, sizeof(prefix), ".%s.rewrite-", r->base);
	for (pass = 0; pass < 2 && rc == 0; pass++) {
		fd = openat(r->pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0 || (d = fdopendir(fd)) == NULL) {
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
				rc = ev_rw_remove_tree(r->pfd, e->d_name);
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
	return ev_rw_dupf("%s%s%s", r->shown,
			  r->shown[strlen(r->shown) - 1] == '/' ? "" : "/",
			  name);
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
int ev_rw_swap_resume(struct rw *r, struct ev_error *err)
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
int ev_rw_swap(struct rw *r, struct ev_error *err)
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

/* The offset map beside the temporary, synced; or no map. */
int ev_rw_write_map(struct rw *r, struct ev_error *err)
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
	    (res->offsets_path = ev_rw_dupf("%s.offsets", res->target)) == NULL)
		rc = oom(err);
	return rc;
}

/* An offset map of an earlier rewrite into the same name, which this
 * one (keeping offsets) would leave standing: it would mislead. */
void ev_rw_remove_stale_map(struct rw *r)
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

/* --rewrite-to: the new log takes its name, which must still be free. */
int ev_rw_place(struct rw *r, struct ev_error *err)
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
