/*
 * admin.c - whole-log operations behind evctl: info here, verify in
 * admin_verify.c, repair in admin_repair.c (its steps in admin_fix.c).
 * This file also holds what verify and repair share: a segment opened
 * and its header checked, the visible segments, meta checked against
 * the segments, and the message of a failed check (admin_int.h).
 * Retention (trim) is trim.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin_int.h"

static int file_size(int dirfd, uint64_t base, const char *ext, uint64_t *size)
{
	char name[40];
	struct stat st;

	ev_segment_name(name, sizeof(name), base, ext);
	if (fstatat(dirfd, name, &st, 0) != 0)
		return -1;
	*size = (uint64_t)st.st_size;
	return 0;
}

/* Open segment base and check its header.  Sets *unsupported when a
 * newer evlog wrote it. */
int ev_adm_seg_open(struct ev_log *log, uint64_t base, int flags,
		    struct ev_seghdr *sh, uint64_t *size, int *unsupported,
		    struct ev_error *err)
{
	char name[40], why[160];
	uint8_t hb[EV_SEGHDR_SIZE];
	struct stat st;
	int fd, r;

	*unsupported = 0;
	ev_segment_name(name, sizeof(name), base, "seg");
	fd = ev_openat(log->dirfd, name, flags, 0);
	if (fd < 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot open '%s/%s'", log->path, name),
		       -1;
	if (fstat(fd, &st) != 0 ||
	    (r = ev_read_full(fd, hb, sizeof(hb), 0)) < 0) {
		ev_seterr_errno(err, EV_EIO, errno, "cannot read '%s/%s'",
				log->path, name);
		close(fd);
		return -1;
	}
	if (ev_seghdr_check(hb, r == 1 ? sizeof(hb) : 0, sh, why,
			    sizeof(why)) != 0) {
		*unsupported = sh->unsupported;
		if (sh->unsupported) {
			ev_seterr(err, EV_EDATA, "segment %020llu %s",
				  (unsigned long long)base, why);
			ev_sethint(err, "it was written by a newer version of "
					"evlog; use that version");
		} else {
			ev_seterr(err, EV_EDATA,
				  "segment %020llu, offset %llu, byte 0: %s",
				  (unsigned long long)base,
				  (unsigned long long)base, why);
		}
		close(fd);
		return -1;
	}
	if (sh->base != base || memcmp(sh->id, log->id, 16) != 0) {
		ev_seterr(err, EV_EDATA,
			  "segment %020llu, offset %llu, byte 0: header names "
			  "another %s",
			  (unsigned long long)base, (unsigned long long)base,
			  sh->base != base ? "offset" : "log");
		close(fd);
		return -1;
	}
	*size = (uint64_t)st.st_size;
	return fd;
}

/* Visible segments (up to the head's) and the head, if readable. */
int ev_adm_visible(struct ev_log *log, uint64_t **segs, size_t *n,
		   struct ev_head *head, int *have_head, struct ev_error *err)
{
	int h;

	if (ev_log_segments(log->dirfd, segs, n, err) != 0)
		return err->code;
	h = ev_head_read(log->dirfd, head);
	*have_head = h == 0;
	if (*have_head)
		while (*n > 0 && (*segs)[*n - 1] > head->seg_base)
			(*n)--;
	return 0;
}

int ev_log_info(struct ev_log *log, struct ev_log_info *info,
		struct ev_error *err)
{
	uint64_t *segs = NULL, size, limit, pos, next;
	size_t n, i;
	struct ev_head head;
	struct ev_seghdr sh;
	struct ev_batchhdr h;
	const char *why;
	int have_head, fd, r = 0, unsup;

	memset(info, 0, sizeof(*info));
	info->min_time = info->max_time = EV_TIME_NONE;
	info->first_append = info->last_append = EV_TIME_NONE;
	if (ev_adm_visible(log, &segs, &n, &head, &have_head, err) != 0)
		return err->code;
	info->seg = calloc(n ? n : 1, sizeof(*info->seg));
	if (info->seg == NULL) {
		free(segs);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	info->first_offset = n ? segs[0] : 0;
	for (i = 0; i < n; i++) {
		struct ev_segment_info *si = &info->seg[i];
		uint64_t isz;
		fd = ev_adm_seg_open(log, segs[i], O_RDONLY, &sh, &size, &unsup,
				     err);
		if (fd < 0) {
			r = err->code;
			break;
		}
		si->base = segs[i];
		si->bytes = size;
		si->first_time = si->last_time = EV_TIME_NONE;
		si->first_append = si->last_append = EV_TIME_NONE;
		if (file_size(log->dirfd, segs[i], "idx", &isz) == 0)
			si->index_bytes += isz;
		if (file_size(log->dirfd, segs[i], "tix", &isz) == 0)
			si->index_bytes += isz;
		limit = have_head && segs[i] == head.seg_base ? head.end : size;
		pos = EV_SEGHDR_SIZE;
		next = segs[i];
		while (pos < limit) {
			if (ev_segment_read_batch(fd, pos, limit, sh.salt, &h,
						  NULL, &why) != 0 ||
			    h.base != next)
				break;
			next = h.base + h.count;
			pos += EV_BATCHHDR_SIZE + h.stored_len;
			if (ev_batch_is_gap(&h)) {
				/* no events, no times */
				info->events -= h.count;
				info->gaps++;
				info->gap_events += h.count;
				continue;
			}
			si->batches++;
			si->raw_bytes += h.raw_len;
			if (si->first_time == EV_TIME_NONE ||
			    h.min_time < si->first_time)
				si->first_time = h.min_time;
			if (si->last_time == EV_TIME_NONE ||
			    h.max_time > si->last_time)
				si->last_time = h.max_time;
			if (si->first_append == EV_TIME_NONE)
				si->first_append = h.append_time;
			si->last_append = h.append_time;
		}
		close(fd);
		si->next = next;
		info->events += next - segs[i];
		info->bytes += si->bytes + si->index_bytes;
		info->segment_bytes += si->bytes;
		info->raw_bytes += si->raw_bytes;
		if (si->first_time != EV_TIME_NONE &&
		    (info->min_time == EV_TIME_NONE ||
		     si->first_time < info->min_time))
			info->min_time = si->first_time;
		if (si->last_time != EV_TIME_NONE &&
		    (info->max_time == EV_TIME_NONE ||
		     si->last_time > info->max_time))
			info->max_time = si->last_time;
		if (info->first_append == EV_TIME_NONE)
			info->first_append = si->first_append;
		if (si->last_append != EV_TIME_NONE)
			info->last_append = si->last_append;
		info->next_offset = next;
		info->segments++;
	}
	free(segs);
	if (r != 0) {
		free(info->seg);
		info->seg = NULL;
	}
	return r;
}

/* ------------------------------------------------------------ meta */

/*
 * Meta against the segments: 1 when meta is at fault, damaged or naming
 * another id than every segment whose header can be read names, and the
 * segments tell the id (in sm); 0 when meta is right, or when it is
 * whole and the segments disagree among themselves (then the segments
 * are at fault, as verify and repair say); -1 when meta is damaged and
 * the segments do not tell the id.  why gets what is wrong.
 */
int ev_adm_meta_check(struct ev_log *log, struct segs_meta *sm, char *why,
		      size_t whyn)
{
	uint8_t hb[EV_SEGHDR_SIZE];
	char name[40], shex[33], w[160];
	struct ev_seghdr sh;
	struct ev_batchhdr h;
	struct ev_error e;
	struct stat st;
	uint64_t *segs = NULL;
	const char *bw;
	size_t n, i;
	int fd, k;

	memset(sm, 0, sizeof(*sm));
	sm->first_append = EV_TIME_NONE;
	if (ev_log_segments(log->dirfd, &segs, &n, &e) != 0)
		n = 0;
	for (i = 0; i < n; i++) {
		ev_segment_name(name, sizeof(name), segs[i], "seg");
		fd = ev_openat(log->dirfd, name, O_RDONLY, 0);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) != 0 ||
		    ev_read_full(fd, hb, sizeof(hb), 0) != 1 ||
		    ev_seghdr_check(hb, sizeof(hb), &sh, w, sizeof(w)) != 0 ||
		    sh.base != segs[i]) {
			close(fd);
			continue;
		}
		if ((uint64_t)st.st_size > sm->largest)
			sm->largest = (uint64_t)st.st_size;
		if (sm->first_append == EV_TIME_NONE &&
		    (uint64_t)st.st_size > EV_SEGHDR_SIZE &&
		    ev_segment_read_batch(fd, EV_SEGHDR_SIZE,
					  (uint64_t)st.st_size, sh.salt, &h,
					  NULL, &bw) == 0 &&
		    !ev_batch_is_gap(&h))
			sm->first_append = h.append_time;
		close(fd);
		if (sm->nid == 0)
			memcpy(sm->id, sh.id, sizeof(sm->id));
		else if (memcmp(sm->id, sh.id, sizeof(sm->id)) != 0)
			sm->differ = 1;
		sm->nid++;
	}
	free(segs);
	if (sm->nid == 0 || sm->differ) {
		if (!log->meta_bad)
			return 0;
		snprintf(why, whyn, "%s; %s", log->meta_why,
			 sm->nid == 0
				 ? "no segment header can be read to "
				   "tell the log id"
				 : "the segments do not agree on a log id");
		return -1;
	}
	if (log->meta_bad) {
		snprintf(why, whyn, "%s", log->meta_why);
		return 1;
	}
	if (memcmp(sm->id, log->id, sizeof(sm->id)) == 0)
		return 0;
	for (k = 0; k < 16; k++)
		snprintf(shex + 2 * k, 3, "%02x", sm->id[k]);
	snprintf(why, whyn, "meta: log id %s does not match the %zu %s %s",
		 log->id_hex, sm->nid, sm->nid == 1 ? "segment's" : "segments'",
		 shex);
	return 1;
}

/* ------------------------------------------------------------ verify */

int ev_adm_vfail(struct ev_error *err, uint64_t base, uint64_t off,
		 uint64_t pos, const char *why)
{
	return ev_seterr(err, EV_EDATA,
			 "segment %020llu, offset %llu, byte %llu: %s",
			 (unsigned long long)base, (unsigned long long)off,
			 (unsigned long long)pos, why);
}
