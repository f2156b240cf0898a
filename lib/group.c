/*
 * group.c - struct ev_group: a consumer group's committed position.
 *
 * A group is a name, a state file holding the log id and the next offset
 * to deliver, and a lock file that one consumer holds for as long as it
 * runs (evlog(5) GROUPS).  Commits replace the state file atomically
 * (ev_file_replace), so a crash leaves the old or the new position, never
 * half of one.
 *
 * The lock is lockfile.c's, shared with projections: a flock that
 * keeps consumers apart, a mark that probes test for without taking
 * anything, and a process lock that tells a contender the holder died
 * while its handlers' supervisors still hold the flock.
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

const double ev_hist_bounds[EV_HIST_BUCKETS - 1] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

struct ev_group {
	struct ev_group_state st;
	char *dir;  /* where the state and lock files live */
	char *file; /* dir/NAME.group, for messages */
	int dirfd;
	int lock_fd;
	int own_dir; /* this open made dir */
};

int ev_group_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > EV_GROUP_NAME_MAX || name[0] == '.' || name[0] == '-')
		return 0;
	for (i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return 0;
	}
	return 1;
}

void ev_hist_add(struct ev_group_stats *s, double seconds)
{
	int i;

	for (i = 0; i < EV_HIST_BUCKETS - 1; i++)
		if (seconds <= ev_hist_bounds[i])
			break;
	s->buckets[i]++;
	s->sum += seconds;
}

/* The directory holding a log's groups: state_dir, or LOG/groups. */
static int group_dir(struct ev_log *log, const char *state_dir, int create,
		     char **out, int *dirfd, int *made, struct ev_error *err)
{
	char *dir;
	int fd;

	if (state_dir != NULL)
		dir = strdup(state_dir);
	else if (asprintf(&dir, "%s/groups", log->path) < 0)
		dir = NULL;
	if (dir == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (made != NULL)
		*made = 0;
	if (create && state_dir == NULL) {
		int existed = faccessat(log->dirfd, "groups", F_OK, 0) == 0;
		if (ev_log_mkdir(log, "groups", err) != 0) {
			free(dir);
			return err->code;
		}
		if (made != NULL && !existed)
			*made = 1;
	} else if (create && mkdir(dir, 0755) == 0) {
		if (made != NULL)
			*made = 1;
	} else if (create && errno != EEXIST) {
		ev_seterr_errno(err, EV_EIO, errno, "cannot create '%s'", dir);
		free(dir);
		return EV_EIO;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT && !create) {
			*out = dir;
			*dirfd = -1;
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

/* A plain decimal number that fits 64 bits, nothing else (no sign, no
 * overflow to the maximum as strtoull does): 0, or -1. */
static int dec_u64(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' ||
		    v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

/* Parse a state file.  0, EV_ENOENT when absent, EV_EDATA when bad.
 * Every value is range-checked: a file another program wrote is
 * damaged when a number in it is not one, never read as a huge one. */
static int state_load(int dirfd, const char *dir, const char *name,
		      struct ev_group_state *st, struct ev_error *err)
{
	char file[EV_GROUP_NAME_MAX + 16], buf[2048], *line, *save;
	uint64_t v;
	int fd, have_log = 0, have_next = 0, first = 1, i;
	ssize_t n;

	memset(st, 0, sizeof(*st));
	snprintf(st->name, sizeof(st->name), "%s", name);
	st->committed = EV_TIME_NONE;
	snprintf(file, sizeof(file), "%s.group", name);
	fd = dirfd >= 0 ? ev_openat(dirfd, file, O_RDONLY, 0) : -1;
	if (fd < 0) {
		if (dirfd < 0 || errno == ENOENT)
			return EV_ENOENT;
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot read '%s/%s'", dir, file);
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot read '%s/%s'", dir, file);
	buf[n] = '\0';
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char key[32], val[256];
		if (sscanf(line, "%31s %255[^\n]", key, val) != 2)
			goto bad;
		if (first) {
			if (strcmp(key, "evlog-group") != 0 ||
			    strcmp(val, "1") != 0)
				goto bad;
			first = 0;
		} else if (strcmp(key, "log") == 0) {
			if (strlen(val) != 32)
				goto bad;
			memcpy(st->log_id, val, 33);
			have_log = 1;
		} else if (strcmp(key, "next") == 0) {
			if (dec_u64(val, &v) != 0)
				goto bad;
			st->next = v;
			have_next = 1;
		} else if (strcmp(key, "committed") == 0) {
			if (ev_time_parse(val, strlen(val), &st->committed) !=
			    0)
				goto bad;
		} else if (strcmp(key, "handled") == 0) {
			if (dec_u64(val, &v) != 0)
				goto bad;
			st->stats.handled = v;
		} else if (strcmp(key, "failed") == 0) {
			if (dec_u64(val, &v) != 0)
				goto bad;
			st->stats.failed = v;
		} else if (strcmp(key, "dead-lettered") == 0) {
			if (dec_u64(val, &v) != 0)
				goto bad;
			st->stats.dead_lettered = v;
		} else if (strcmp(key, "skipped") == 0) {
			if (dec_u64(val, &v) != 0)
				goto bad;
			st->stats.skipped = v;
		} else if (strcmp(key, "duration-sum") == 0) {
			char *e;
			st->stats.sum = strtod(val, &e);
			if (e == val || *e != '\0' || !(st->stats.sum >= 0) ||
			    st->stats.sum > 1e18)
				goto bad;
		} else if (strcmp(key, "duration-buckets") == 0) {
			char *p = val, *e;
			for (i = 0; i < EV_HIST_BUCKETS; i++) {
				while (*p == ' ')
					p++;
				if (*p < '0' || *p > '9')
					goto bad;
				errno = 0;
				st->stats.buckets[i] = strtoull(p, &e, 10);
				if (errno == ERANGE)
					goto bad;
				p = e;
			}
		}
		/* other keys belong to later versions: ignored */
	}
	if (first || !have_log || !have_next)
		goto bad;
	st->exists = 1;
	return 0;
bad:
	st->damaged = 1; /* what it holds, not how it is held */
	return ev_seterr(err, EV_EDATA, "group state file '%s/%s' is damaged",
			 dir, file);
}

int ev_group_damaged_error(struct ev_log *log, const char *name,
			   const char *state_dir, struct ev_error *err)
{
	char sd[1100] = "";

	if (state_dir != NULL) {
		snprintf(sd, sizeof(sd), " --state-dir %s", state_dir);
		ev_seterr(err, EV_EDATA,
			  "group state file '%s/%s.group' is damaged",
			  state_dir, name);
	} else {
		ev_seterr(err, EV_EDATA,
			  "group state file '%s/groups/%s.group' is damaged",
			  log->path, name);
	}
	/* the way out */
	ev_sethint(err,
		   "remove it with 'evctl groups --delete %s%s --execute %s', "
		   "or set its position with 'evctl groups --reset %s%s --to "
		   "POS --execute %s'",
		   name, sd, log->path, name, sd, log->path);
	return EV_EDATA;
}

static int state_store(struct ev_group *g, struct ev_error *err)
{
	char file[EV_GROUP_NAME_MAX + 16], buf[2048], t[40];
	const struct ev_group_stats *s = &g->st.stats;
	int n, i;

	ev_time_format(g->st.committed, t);
	n = snprintf(buf, sizeof(buf),
		     "evlog-group 1\nlog %s\nnext %llu\ncommitted %s\n"
		     "handled %llu\nfailed %llu\ndead-lettered %llu\n"
		     "skipped %llu\nduration-sum %.6f\nduration-buckets",
		     g->st.log_id, (unsigned long long)g->st.next, t,
		     (unsigned long long)s->handled,
		     (unsigned long long)s->failed,
		     (unsigned long long)s->dead_lettered,
		     (unsigned long long)s->skipped, s->sum);
	for (i = 0; i < EV_HIST_BUCKETS; i++)
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, " %llu",
			      (unsigned long long)s->buckets[i]);
	n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\n");
	snprintf(file, sizeof(file), "%s.group", g->st.name);
	if (ev_file_replace(g->dirfd, file, buf, (size_t)n) != 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot commit group '%s' to '%s/%s'",
				       g->st.name, g->dir, file);
	return 0;
}

/* Take a group's lock: 0, EV_EAGAIN when busy and not waiting. */
static int group_lock(int dirfd, const char *dir, const char *name, int wait,
		      int *out, struct ev_error *err)
{
	char file[EV_GROUP_NAME_MAX + 16];

	snprintf(file, sizeof(file), "%s.lock", name);
	switch (ev_lockfile_take(dirfd, file, wait ? -1 : 0, out, NULL)) {
	case EV_LOCKFILE_OK:
		return 0;
	case EV_LOCKFILE_BUSY:
		return ev_seterr(err, EV_EAGAIN,
				 "group '%s' is busy: another consumer holds "
				 "it",
				 name);
	case EV_LOCKFILE_EOPEN:
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot open '%s/%s'", dir, file);
	default:
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot lock '%s/%s'", dir, file);
	}
}

/* Does a consumer hold the group?  Takes no lock and creates nothing. */
static int group_busy(int dirfd, const char *name)
{
	char file[EV_GROUP_NAME_MAX + 16];

	snprintf(file, sizeof(file), "%s.lock", name);
	return ev_lockfile_busy(dirfd, file);
}

/* ev_group_open(); with damaged_ok, a damaged state file opens too, as
 * a group that exists with damaged set and nothing else known. */
static int group_open(struct ev_group **out, struct ev_log *log,
		      const char *name, const char *state_dir, int wait,
		      int damaged_ok, struct ev_error *err)
{
	struct ev_group *g;
	int r;

	*out = NULL;
	if (!ev_group_name_ok(name))
		return ev_seterr(
			err, EV_EUSAGE,
			"'%s' is not a group name (letters, digits, '.', "
			"'_' and '-', at most %d)",
			name, EV_GROUP_NAME_MAX);
	g = calloc(1, sizeof(*g));
	if (g == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	g->lock_fd = -1;
	g->dirfd = -1;
	r = group_dir(log, state_dir, 1, &g->dir, &g->dirfd, &g->own_dir, err);
	if (r != 0)
		goto fail;
	if (asprintf(&g->file, "%s/%s.group", g->dir, name) < 0) {
		g->file = NULL;
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	r = group_lock(g->dirfd, g->dir, name, wait, &g->lock_fd, err);
	if (r != 0)
		goto fail;
	r = state_load(g->dirfd, g->dir, name, &g->st, err);
	if (r == EV_EDATA && g->st.damaged && damaged_ok) {
		memset(&g->st, 0, sizeof(g->st));
		snprintf(g->st.name, sizeof(g->st.name), "%s", name);
		memcpy(g->st.log_id, log->id_hex, 33);
		g->st.committed = EV_TIME_NONE;
		g->st.exists = 1;
		g->st.damaged = 1;
		r = 0;
	} else if (r == EV_EDATA && g->st.damaged) {
		ev_group_damaged_error(log, name, state_dir, err);
	} else if (r == EV_ENOENT) {
		memset(&g->st, 0, sizeof(g->st));
		snprintf(g->st.name, sizeof(g->st.name), "%s", name);
		memcpy(g->st.log_id, log->id_hex, 33);
		g->st.committed = EV_TIME_NONE;
		r = 0;
	} else if (r == 0 && strcmp(g->st.log_id, log->id_hex) != 0) {
		r = ev_seterr(
			err, EV_EDATA,
			"group '%s' in '%s' belongs to log %s, but '%s' is "
			"log %s",
			name, g->dir, g->st.log_id, log->path, log->id_hex);
	}
	if (r != 0)
		goto fail;
	*out = g;
	return 0;
fail:
	ev_group_close(g);
	return r;
}

int ev_group_open(struct ev_group **out, struct ev_log *log, const char *name,
		  const char *state_dir, int wait, struct ev_error *err)
{
	return group_open(out, log, name, state_dir, wait, 0, err);
}

const struct ev_group_state *ev_group_get(const struct ev_group *g)
{
	return &g->st;
}

struct ev_group_stats *ev_group_stats(struct ev_group *g)
{
	return &g->st.stats;
}

int ev_group_commit(struct ev_group *g, uint64_t next, struct ev_error *err)
{
	g->st.next = next;
	g->st.committed = ev_now();
	g->st.exists = 1;
	return state_store(g, err);
}

const char *ev_group_file(const struct ev_group *g)
{
	return g->file;
}

/* Remove what opening a group that never committed made: its lock file
 * (while still holding it: ev_lockfile_take() takes a lock on a file
 * since unlinked again) and the directory, when this open made it and
 * nothing else is in it. */
static void forget_new(struct ev_group *g)
{
	char file[EV_GROUP_NAME_MAX + 16];

	snprintf(file, sizeof(file), "%s.lock", g->st.name);
	(void)unlinkat(g->dirfd, file, 0);
	if (g->own_dir)
		(void)rmdir(g->dir);
}

void ev_group_close(struct ev_group *g)
{
	if (g == NULL)
		return;
	if (g->lock_fd >= 0 && !g->st.exists)
		forget_new(g);
	if (g->lock_fd >= 0)
		close(g->lock_fd); /* releases the flock */
	if (g->dirfd >= 0)
		close(g->dirfd);
	free(g->dir);
	free(g->file);
	free(g);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(((const struct ev_group_state *)a)->name,
		      ((const struct ev_group_state *)b)->name);
}

/* ev_group_list(); with damaged_ok, a damaged state file is listed with
 * damaged set instead of failing the list. */
static int group_list(struct ev_log *log, const char *state_dir, int damaged_ok,
		      struct ev_group_state **out, size_t *count,
		      struct ev_error *err)
{
	struct ev_group_state *v = NULL, *nv;
	char *dir = NULL;
	size_t n = 0, cap = 0, len;
	struct dirent *de;
	DIR *d;
	int dirfd, r;

	*out = NULL;
	*count = 0;
	r = group_dir(log, state_dir, 0, &dir, &dirfd, NULL, err);
	if (r != 0)
		return r;
	if (dirfd < 0) {
		free(dir);
		return 0; /* no groups yet */
	}
	d = fdopendir(dup(dirfd));
	if (d == NULL) {
		r = ev_seterr_errno(err, EV_EIO, errno, "cannot list '%s'",
				    dir);
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		char name[EV_GROUP_NAME_MAX + 1];
		len = strlen(de->d_name);
		if (len <= 6 || strcmp(de->d_name + len - 6, ".group") != 0 ||
		    len - 6 > EV_GROUP_NAME_MAX)
			continue;
		memcpy(name, de->d_name, len - 6);
		name[len - 6] = '\0';
		if (!ev_group_name_ok(name))
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
		r = state_load(dirfd, dir, name, &v[n], err);
		if (r == EV_EDATA && v[n].damaged && damaged_ok) {
			memset(&v[n], 0, sizeof(v[n]));
			snprintf(v[n].name, sizeof(v[n].name), "%s", name);
			v[n].committed = EV_TIME_NONE;
			v[n].exists = 1;
			v[n].damaged = 1;
			v[n].busy = group_busy(dirfd, name);
			n++;
			r = 0;
			continue;
		}
		if (r == EV_EDATA && v[n].damaged)
			ev_group_damaged_error(log, name, state_dir, err);
		if (r != 0)
			break;
		/* with a state dir, only this log's groups */
		if (strcmp(v[n].log_id, log->id_hex) != 0)
			continue;
		v[n].busy = group_busy(dirfd, name);
		n++;
	}
	closedir(d);
	if (r != 0) {
		free(v);
		goto out;
	}
	if (n > 1)
		qsort(v, n, sizeof(*v), name_cmp);
	*out = v;
	*count = n;
out:
	close(dirfd);
	free(dir);
	return r;
}

int ev_group_list(struct ev_log *log, const char *state_dir,
		  struct ev_group_state **out, size_t *count,
		  struct ev_error *err)
{
	return group_list(log, state_dir, 0, out, count, err);
}

int ev_group_list_all(struct ev_log *log, const char *state_dir,
		      struct ev_group_state **out, size_t *count,
		      struct ev_error *err)
{
	return group_list(log, state_dir, 1, out, count, err);
}

int ev_group_reset(struct ev_log *log, const char *name, const char *state_dir,
		   uint64_t next, int dry_run, struct ev_group_state *old,
		   struct ev_error *err)
{
	struct ev_group *g;
	int r;

	/* a damaged state file is rewritten at the position asked for:
	 * what it held is lost anyway */
	r = group_open(&g, log, name, state_dir, 0, 1, err);
	if (r != 0)
		return r;
	if (!g->st.exists) {
		ev_group_close(g);
		return ev_seterr(err, EV_ENOENT, "no group '%s' in '%s'", name,
				 log->path);
	}
	if (old != NULL)
		*old = g->st;
	r = dry_run ? 0 : ev_group_commit(g, next, err);
	ev_group_close(g);
	return r;
}

int ev_group_delete(struct ev_log *log, const char *name, const char *state_dir,
		    int dry_run, struct ev_group_state *st,
		    struct ev_error *err)
{
	char file[EV_GROUP_NAME_MAX + 16];
	struct ev_group *g;
	int r;

	/* a damaged state file is removed as a good one is */
	if ((r = group_open(&g, log, name, state_dir, 0, 1, err)) != 0)
		return r;
	if (!g->st.exists) {
		r = ev_seterr(err, EV_ENOENT, "no group '%s' in '%s'", name,
			      log->path);
		ev_group_close(g);
		return r;
	}
	*st = g->st;
	if (!dry_run) {
		/* the state first: a group without it is gone, whatever
		 * happens to the lock file */
		snprintf(file, sizeof(file), "%s.group", name);
		if (unlinkat(g->dirfd, file, 0) != 0) {
			r = ev_seterr_errno(err, EV_EIO, errno,
					    "cannot remove '%s'", g->file);
			ev_group_close(g);
			return r;
		}
		if (fsync(g->dirfd) != 0) {
			r = ev_seterr_errno(err, EV_EIO, errno,
					    "cannot sync '%s'", g->dir);
			ev_group_close(g);
			return r;
		}
		g->st.exists = 0; /* close removes the lock file */
	}
	ev_group_close(g);
	return 0;
}
