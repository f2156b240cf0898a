/*
 * cursor.c - cursor files (evtail --cursor-file): the log id and the next
 * offset to read, written atomically so a crash never leaves half of one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evlog_private.h"

int ev_cursor_load(const char *path, struct ev_cursor *c, struct ev_error *err)
{
	char buf[256], id[64];
	unsigned long long next;
	int fd, n, k;
	ssize_t r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return EV_ENOENT;
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot read cursor file '%s'", path);
	}
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r < 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot read cursor file '%s'", path);
	buf[r] = '\0';
	n = sscanf(buf, "evlog-cursor 1 log=%40s next=%llu%n", id, &next, &k);
	if (n != 2 || strlen(id) != 32 || (buf[k] != '\n' && buf[k] != '\0'))
		return ev_seterr(err, EV_EDATA,
				 "cursor file '%s' is not an evlog cursor", path);
	memcpy(c->log_id, id, 33);
	c->next = next;
	return 0;
}

int ev_cursor_store(const char *path, const struct ev_cursor *c,
		    struct ev_error *err)
{
	char tmp[4200], buf[128], dir[4096], *slash;
	int fd, n, dfd;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (n <= 0 || (size_t)n >= sizeof(tmp))
		return ev_seterr(err, EV_EUSAGE, "cursor path is too long");
	n = snprintf(buf, sizeof(buf), "evlog-cursor 1 log=%s next=%llu\n",
		     c->log_id, (unsigned long long)c->next);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot write cursor file '%s'", path);
	if (ev_write_full(fd, buf, (size_t)n, 0) != 0 || fsync(fd) != 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return ev_seterr_errno(err, EV_EIO, e,
				       "cannot write cursor file '%s'", path);
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return ev_seterr_errno(err, EV_EIO, e,
				       "cannot write cursor file '%s'", path);
	}
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}
