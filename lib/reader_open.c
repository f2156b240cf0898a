/*
 * reader_open.c - a struct ev_reader made and freed: over a log (its
 * segments and head, or without a head the end a scan finds), one
 * segment file, a log in an archive, or a file of lost+found (salvage).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archive_int.h"
#include "reader_int.h"

static int load_segments(struct ev_reader *r, struct ev_error *err)
{
	int h;

	free(r->segs);
	r->segs = NULL;
	r->nseg = 0;
	if (ev_log_segments(r->dirfd, &r->segs, &r->nseg, err) != 0)
		return err->code;
	h = ev_head_read(r->dirfd, &r->head);
	if (h == EV_EIO)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot read '%s/head'", r->path);
	r->have_head = (h == 0);
	if (r->nseg == 0)
		return ev_seterr(err, EV_EDATA, "log '%s' has no segments",
				 r->path);
	if (r->have_head) {
		/* segments past the head's are not published yet */
		while (r->nseg > 0 && r->segs[r->nseg - 1] > r->head.seg_base)
			r->nseg--;
		if (r->nseg == 0 || r->segs[r->nseg - 1] != r->head.seg_base)
			return ev_seterr(err, EV_EDATA,
					 "damaged data in '%s': head names "
					 "segment %020llu, which is missing",
					 r->path,
					 (unsigned long long)r->head.seg_base);
		r->end = r->head.next;
	}
	r->first = r->segs[0];
	return 0;
}

/* Without a head: find the end by scanning the last segment. */
static int scan_end(struct ev_reader *r, struct ev_error *err)
{
	struct ev_batchhdr h;
	const char *why;
	int rr;

	rr = ev_reader_seg_open(r, r->nseg - 1, err);
	if (rr != 0)
		return rr;
	while (r->pos < r->limit) {
		rr = ev_segment_read_batch(r->fd, r->pos, r->limit, r->salt, &h,
					   &r->stored, &why);
		if (rr == EV_EIO)
			return ev_seterr(err, EV_EIO, "cannot read '%s': %s",
					 r->path, why);
		if (rr != 0 || h.base != r->next)
			break;
		r->pos += EV_BATCHHDR_SIZE + h.stored_len;
		r->next = h.base + h.count;
	}
	r->end = r->next;
	return 0;
}

static int reader_new(struct ev_reader **out, struct ev_error *err)
{
	struct ev_reader *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (r == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	r->fd = -1;
	r->dirfd = -1;
	r->skip_time = EV_TIME_NONE;
	/* a second thread only where there is a second processor */
	r->pf.want_thr = sysconf(_SC_NPROCESSORS_ONLN) > 1 ? RA_THREADS : 1;
	r->codec = ev_codec_new();
	if (r->codec == NULL) {
		free(r);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	*out = r;
	return 0;
}

int ev_reader_open(struct ev_reader **out, struct ev_log *log,
		   struct ev_error *err)
{
	struct ev_reader *r;
	int rr;

	if ((rr = reader_new(&r, err)) != 0)
		return rr;
	r->log = log;
	r->notice = log->notice;
	r->nctx = log->notice_ctx;
	r->dirfd = log->dirfd;
	r->path = strdup(log->path);
	memcpy(r->id_hex, log->id_hex, 33);
	if (r->path == NULL) {
		rr = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	rr = load_segments(r, err);
	if (rr == 0 && !r->have_head)
		rr = scan_end(r, err);
	if (rr == 0)
		rr = ev_reader_seg_open(r, 0, err);
	if (rr != 0)
		goto fail;
	*out = r;
	return 0;
fail:
	ev_reader_free(r);
	return rr;
}

int ev_reader_open_segment(struct ev_reader **out, const char *path,
			   struct ev_error *err)
{
	struct ev_reader *r;
	struct stat st;
	int rr;

	if (stat(path, &st) != 0)
		return ev_seterr_errno(err,
				       errno == ENOENT ? EV_ENOENT : EV_EIO,
				       errno, "cannot open '%s'", path);
	if ((rr = reader_new(&r, err)) != 0)
		return rr;
	r->path = strdup(path);
	r->nseg = 1;
	r->segs = calloc(1, sizeof(uint64_t));
	if (r->path == NULL || r->segs == NULL) {
		rr = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	rr = ev_reader_seg_open(r, 0, err);
	if (rr != 0)
		goto fail;
	r->segs[0] = r->seg_base;
	r->first = r->seg_base;
	/* find the end */
	{
		struct ev_batchhdr h;
		const char *why;
		uint64_t pos = r->pos, next = r->next;
		while (pos < r->limit) {
			if (ev_segment_read_batch(r->fd, pos, r->limit, r->salt,
						  &h, NULL, &why) != 0 ||
			    h.base != next)
				break;
			pos += EV_BATCHHDR_SIZE + h.stored_len;
			next = h.base + h.count;
		}
		r->end = next;
	}
	*out = r;
	return 0;
fail:
	ev_reader_free(r);
	return rr;
}

int ev_reader_open_archive(struct ev_reader **out, const char *path,
			   struct ev_error *err)
{
	struct ev_reader *r;
	const uint64_t *bases;
	size_t n;
	int rr;

	if ((rr = reader_new(&r, err)) != 0)
		return rr;
	if ((r->path = strdup(path)) == NULL) {
		rr = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	if ((rr = ev_arcsrc_open(&r->arc, path, err)) != 0)
		goto fail;
	memcpy(r->id_hex, ev_arcsrc_log(r->arc)->id_hex, 33);
	n = ev_arcsrc_segments(r->arc, &bases);
	r->have_head = ev_arcsrc_head(r->arc, &r->head);
	if (r->have_head)
		while (n > 0 && bases[n - 1] > r->head.seg_base)
			n--;
	if (n == 0) {
		rr = ev_seterr(err, EV_EDATA, "log '%s' has no segments", path);
		goto fail;
	}
	if (r->have_head && bases[n - 1] != r->head.seg_base) {
		rr = ev_seterr(err, EV_EDATA,
			       "damaged data in '%s': head names segment "
			       "%020llu, which is missing",
			       path, (unsigned long long)r->head.seg_base);
		goto fail;
	}
	if ((r->segs = malloc(n * sizeof(uint64_t))) == NULL) {
		rr = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	memcpy(r->segs, bases, n * sizeof(uint64_t));
	r->nseg = n;
	r->first = r->segs[0];
	r->end = r->head.next;
	rr = r->have_head ? 0 : scan_end(r, err);
	if (rr == 0)
		rr = ev_reader_seg_open(r, 0, err);
	if (rr != 0)
		goto fail;
	*out = r;
	return 0;
fail:
	ev_reader_free(r);
	return rr;
}

int ev_reader_open_salvage(struct ev_reader **out, const char *path,
			   struct ev_error *err)
{
	struct ev_reader *r;
	int rr;

	if ((rr = reader_new(&r, err)) != 0)
		return rr;
	r->path = strdup(path);
	r->nseg = 1;
	r->segs = calloc(1, sizeof(uint64_t));
	if (r->path == NULL || r->segs == NULL) {
		rr = ev_seterr(err, EV_ERR, "out of memory");
		goto fail;
	}
	if ((rr = ev_salvage_open(&r->sv, path, err)) != 0)
		goto fail;
	r->first = r->next = r->seg_base = r->segs[0] = ev_salvage_first(r->sv);
	r->end = ev_salvage_end(r->sv);
	memcpy(r->id_hex, ev_salvage_log_id(r->sv), 33);
	*out = r;
	return 0;
fail:
	ev_reader_free(r);
	return rr;
}

void ev_reader_free(struct ev_reader *r)
{
	if (r == NULL)
		return;
	if (r->keep_batch)
		ev_spare_give(r);
	ev_salvage_free(r->sv);
	ev_reader_seg_close(r);
	ev_arcsrc_free(r->arc);
	ev_prefetch_free(r);
	if (r->aux != NULL)
		r->hook.free_aux(r->hook.ctx, r->aux);
	free(r->segs);
	free(r->path);
	ev_buf_free(&r->ix);
	ev_buf_free(&r->six);
	ev_skip_free(r->skip);
	ev_buf_free(&r->stored);
	ev_buf_free(&r->raw);
	ev_codec_free(r->codec);
	free(r);
}
