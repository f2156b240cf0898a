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
	char buf[128];
	int n;

	n = snprintf(buf, sizeof(buf), "evlog-cursor 1 log=%s next=%llu\n",
		     c->log_id, (unsigned long long)c->next);
	if (ev_file_replace_path(path, buf, (size_t)n) != 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot write cursor file '%s'", path);
	return 0;
}
