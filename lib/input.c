/*
 * input.c - struct ev_input: events read from a file descriptor, as
 * evpub(1) reads its standard input and -i files.  NDJSON lines go
 * through a struct ev_parser, and a MessagePack stream through a struct
 * ev_unpacker.  Memory stays bounded: a line over EV_MAX_LINE is
 * skipped, not kept, and an object over it ends the input.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evlog_private.h"

#define READ_CHUNK (1u << 20)

struct ev_input {
	int fd;
	int own_fd; /* opened here: closed by ev_input_free() */
	char *name;
	struct ev_parser *ps;	/* lines */
	struct ev_unpacker *up; /* or a MessagePack stream */
	char *buf;
	size_t cap, start, end;
	uint64_t base; /* input offset of buf[0] */
	int eof;
	int skipping;	    /* inside a line over EV_MAX_LINE */
	uint64_t skip_from; /* where that line began */
	uint64_t line;	    /* lines read */
	struct ev_input_pos pos;
};

int ev_input_new(struct ev_input **out, int fd, const char *name,
		 const struct ev_parse_opts *opts, struct ev_error *err)
{
	struct ev_input *in = calloc(1, sizeof(*in));

	*out = NULL;
	if (in == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	in->fd = fd;
	in->name = strdup(name);
	if (opts != NULL && opts->format == EV_FMT_MSGPACK)
		in->up = ev_unpacker_new();
	else
		in->ps = ev_parser_new(opts);
	if (in->name == NULL || (in->ps == NULL && in->up == NULL)) {
		ev_input_free(in);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	*out = in;
	return 0;
}

int ev_input_open(struct ev_input **out, const char *path,
		  const struct ev_parse_opts *opts, struct ev_error *err)
{
	int fd, r;

	*out = NULL;
	if (path == NULL)
		return ev_input_new(out, 0, "stdin", opts, err);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ev_seterr_errno(err,
				       errno == ENOENT ? EV_ENOENT : EV_EIO,
				       errno, "cannot open '%s'", path);
	r = ev_input_new(out, fd, path, opts, err);
	if (r != 0) {
		close(fd);
		return r;
	}
	(*out)->own_fd = 1;
	return 0;
}

void ev_input_free(struct ev_input *in)
{
	if (in == NULL)
		return;
	if (in->own_fd)
		close(in->fd);
	ev_parser_free(in->ps);
	ev_unpacker_free(in->up);
	free(in->buf);
	free(in->name);
	free(in);
}

/* Room for another read at the end of the buffer. */
static int make_room(struct ev_input *in)
{
	size_t ncap;
	char *nb;

	if (in->start > 0 && in->cap - in->end < READ_CHUNK) {
		memmove(in->buf, in->buf + in->start, in->end - in->start);
		in->end -= in->start;
		in->base += in->start;
		in->start = 0;
	}
	if (in->cap - in->end >= READ_CHUNK)
		return 0;
	ncap = in->cap ? in->cap * 2 : 4 * READ_CHUNK;
	nb = realloc(in->buf, ncap);
	if (nb == NULL)
		return EV_ERR;
	ev_huge_hint(nb, ncap);
	in->buf = nb;
	in->cap = ncap;
	return 0;
}

/*
 * Read into p, which has room bytes: 0 with *got set (0 at the end of
 * the input), or EV_EAGAIN when no data came within timeout_ms or a
 * signal interrupted the wait, or EV_EIO with err set.
 */
static int read_into(struct ev_input *in, char *p, size_t room, int timeout_ms,
		     size_t *got, struct ev_error *err)
{
	struct pollfd pfd;
	ssize_t r;

	if (timeout_ms >= 0) {
		pfd.fd = in->fd;
		pfd.events = POLLIN;
		r = poll(&pfd, 1, timeout_ms);
		if (r == 0 || (r < 0 && errno == EINTR))
			return EV_EAGAIN;
	}
	r = read(in->fd, p, room);
	if (r < 0) {
		if (errno == EINTR)
			return EV_EAGAIN;
		return ev_seterr_errno(err, EV_EIO, errno, "cannot read '%s'",
				       in->name);
	}
	if (r == 0)
		in->eof = 1;
	*got = (size_t)r;
	return 0;
}

/* Read more lines into the buffer. */
static int fill(struct ev_input *in, int timeout_ms, struct ev_error *err)
{
	size_t got;
	int r;

	if (make_room(in) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	r = read_into(in, in->buf + in->end, in->cap - in->end, timeout_ms,
		      &got, err);
	if (r == 0)
		in->end += got;
	return r;
}

/* The line [start, at) is read: 1, or EV_EDATA when it was too long. */
static int take_line(struct ev_input *in, size_t at, size_t next,
		     const char **line, size_t *len, struct ev_error *err)
{
	int skipped = in->skipping;

	*line = in->buf + in->start;
	*len = at - in->start;
	in->pos.byte = skipped ? in->skip_from : in->base + in->start;
	in->pos.line = ++in->line;
	in->start = next;
	in->skipping = 0;
	if (in->line == 1 && *len >= 3 &&
	    memcmp(*line, "\xef\xbb\xbf", 3) == 0) {
		/* a UTF-8 byte order mark before the first line, which
		 * Windows tools write: passed over, as jq does */
		*line += 3;
		*len -= 3;
		in->pos.byte += 3;
	}
	if (skipped || *len > EV_MAX_LINE)
		return ev_seterr(err, EV_EDATA, "line longer than %u bytes",
				 EV_MAX_LINE);
	return 1;
}

/* The next line: 1 with line and len set, 0 at the end, or <0. */
static int next_line(struct ev_input *in, const char **line, size_t *len,
		     int timeout_ms, struct ev_error *err)
{
	char *nl;
	size_t at;
	int r;

	for (;;) {
		nl = in->end > in->start ? memchr(in->buf + in->start, '\n',
						  in->end - in->start)
					 : NULL;
		if (nl != NULL) {
			at = (size_t)(nl - in->buf);
			return take_line(in, at, at + 1, line, len, err);
		}
		if (in->eof) {
			if (in->end > in->start || in->skipping)
				return take_line(in, in->end, in->end, line,
						 len, err);
			return 0;
		}
		if (in->end - in->start > EV_MAX_LINE) {
			/* too long already: drop what we have, find its end */
			if (!in->skipping)
				in->skip_from = in->base + in->start;
			in->skipping = 1;
			in->base += in->end;
			in->start = in->end = 0;
		}
		r = fill(in, timeout_ms, err);
		if (r != 0)
			return r;
	}
}

static int blank(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			return 0;
	return 1;
}

/* The next object of a MessagePack stream: 1, 0 at the end, or <0. */
static int next_object(struct ev_input *in, int timeout_ms, ev_time_t now,
		       struct ev_error *err)
{
	size_t room, got;
	char *p;
	int r;

	for (;;) {
		r = ev_unpacker_next(in->up, now, err);
		if (r == 0 && in->eof)
			r = ev_unpacker_finish(in->up, err);
		else if (r == 0) {
			p = ev_unpacker_buffer(in->up, READ_CHUNK, &room);
			if (p == NULL)
				return ev_seterr(err, EV_ERR, "out of memory");
			r = read_into(in, p, room, timeout_ms, &got, err);
			if (r != 0)
				return r;
			ev_unpacker_consumed(in->up, got);
			continue;
		}
		in->pos.byte = ev_unpacker_offset(in->up);
		return r;
	}
}

int ev_input_next(struct ev_input *in, int timeout_ms, ev_time_t now,
		  struct ev_error *err)
{
	const char *line = NULL;
	size_t len = 0;
	int r;

	if (in->up != NULL)
		return next_object(in, timeout_ms, now, err);
	for (;;) {
		r = next_line(in, &line, &len, timeout_ms, err);
		if (r <= 0)
			return r;
		if (blank(line, len))
			continue;
		r = ev_parser_line(in->ps, line, len, now, err);
		if (r != 0)
			return r;
		/* an empty CloudEvents batch: nothing to give */
	}
}

void ev_input_record(const struct ev_input *in, int i, const uint8_t **rec,
		     size_t *n, ev_time_t *time)
{
	if (in->up != NULL)
		ev_unpacker_record(in->up, rec, n, time);
	else
		ev_parser_record(in->ps, i, rec, n, time);
}

void ev_input_where(const struct ev_input *in, struct ev_input_pos *pos)
{
	*pos = in->pos;
}

int ev_input_broken(const struct ev_input *in)
{
	return in->up != NULL && ev_unpacker_broken(in->up);
}
