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

/* A plain decimal number that fits 64 bits, nothing else: 0, or -1. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

int ev_cursor_load(const char *path, struct ev_cursor *c, struct ev_error *err)
{
	static const char pre[] = "evlog-cursor 1 log=";
	char buf[256];
	const char *id, *num;
	size_t i, n;
	int fd;
	ssize_t r;

	fd = ev_openat(AT_FDCWD, path, O_RDONLY, 0);
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
	/* "evlog-cursor 1 log=LOGID next=OFFSET\n" (evtail(1)): LOGID is 32
	 * hex digits, OFFSET a plain decimal number */
	n = (size_t)r;
	if (n > 0 && buf[n - 1] == '\n')
		buf[--n] = '\0';
	if (strncmp(buf, "evlog-cursor 1 topic=", 21) == 0)
		return ev_seterr(err, EV_EDATA,
				 "cursor file '%s' belongs to a kafka topic "
				 "(%.*s), not to a local log",
				 path, (int)strcspn(buf + 21, " "), buf + 21);
	if (strncmp(buf, pre, sizeof(pre) - 1) != 0 || n < sizeof(pre) - 1 + 38)
		goto bad;
	id = buf + sizeof(pre) - 1;
	for (i = 0; i < 32; i++)
		if (!((id[i] >= '0' && id[i] <= '9') ||
		      (id[i] >= 'a' && id[i] <= 'f')))
			goto bad;
	if (strncmp(id + 32, " next=", 6) != 0)
		goto bad;
	num = id + 38;
	if (parse_u64(num, n - (size_t)(num - buf), &c->next) != 0)
		goto bad;
	memcpy(c->log_id, id, 32);
	c->log_id[32] = '\0';
	return 0;
bad:
	return ev_seterr(err, EV_EDATA,
			 "cursor file '%s' is not an evlog cursor", path);
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
