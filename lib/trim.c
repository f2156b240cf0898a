/*
 * trim.c - retention: removing a log's oldest whole segments (evctl
 * trim), never the one being written, and never past what a consumer
 * group has not consumed, nor past what a projection's checkpoint has
 * not passed, unless forced.  The stream state keeps a base of what
 * goes, so that versions survive (state.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evlog_private.h"

/* The checkpoints of log's projections, its own and those in state_dir
 * (when not NULL), into *out. */
static int list_checkpoints(struct ev_log *log, const char *state_dir,
			    struct ev_checkpoint_info **out, size_t *n,
			    struct ev_error *err)
{
	struct ev_checkpoint_info *more = NULL, *all;
	size_t nmore = 0;
	int r;

	r = ev_checkpoint_list(log, NULL, out, n, err);
	if (r != 0 || state_dir == NULL)
		return r;
	r = ev_checkpoint_list(log, state_dir, &more, &nmore, err);
	if (r != 0 || nmore == 0) {
		free(more); /* a listing of none may hold an empty array */
		return r;
	}
	all = realloc(*out, (*n + nmore) * sizeof(*all));
	if (all == NULL) {
		ev_checkpoint_list_free(more, nmore);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	memcpy(all + *n, more, nmore * sizeof(*all));
	free(more); /* what it held is all's now */
	*out = all;
	*n += nmore;
	return 0;
}

int ev_log_trim(struct ev_log *log, const struct ev_trim_opts *o,
		ev_notice_fn notice, void *ctx, struct ev_error *err)
{
	struct ev_log_info info;
	struct ev_group_state *groups = NULL;
	struct ev_checkpoint_info *ckpts = NULL;
	size_t ngroups = 0, nckpts = 0, i, cut = 0, g;
	uint64_t remaining_bytes, first_kept, total_events;
	int lockfd = -1, r;
	const char *ext[4] = {"seg", "idx", "tix", "six"};
	char name[40];

	/* the lock first: what goes, and whether the groups have
	 * consumed it, are decided on the log as no writer changes it */
	memset(&info, 0, sizeof(info));
	lockfd = ev_openat(log->dirfd, "lock", O_RDWR | O_CREAT, 0644);
	if (lockfd < 0 || flock(lockfd, LOCK_EX) != 0) {
		r = ev_seterr_errno(err, EV_EIO, errno, "cannot lock '%s/lock'",
				    log->path);
		goto out;
	}
	r = ev_log_info(log, &info, err);
	if (r != 0)
		goto out;
	if (info.segments < 2) {
		ev_say(notice, ctx, "nothing to trim: the log has one segment");
		goto out;
	}
	/* how many of the oldest segments go (never the last) */
	remaining_bytes = info.bytes;
	total_events = info.next_offset - info.first_offset;
	for (i = 0; i + 1 < info.segments; i++) {
		const struct ev_segment_info *s = &info.seg[i];
		uint64_t seg_bytes = s->bytes + s->index_bytes;
		uint64_t seg_events = s->next - s->base;
		int go = 0;
		if (o->before != EV_TIME_NONE &&
		    s->last_append != EV_TIME_NONE &&
		    s->last_append < o->before)
			go = 1;
		if (o->keep_events &&
		    total_events - seg_events >= o->keep_events)
			go = 1;
		if (o->keep_bytes &&
		    remaining_bytes - seg_bytes >= o->keep_bytes)
			go = 1;
		if (!go)
			break;
		remaining_bytes -= seg_bytes;
		total_events -= seg_events;
	}
	cut = i;
	if (cut == 0) {
		ev_say(notice, ctx, "nothing to trim");
		goto out;
	}
	first_kept = info.seg[cut].base;
	/* groups must have consumed what goes */
	r = ev_group_list(log, NULL, &groups, &ngroups, err);
	if (r == 0 && o->state_dir != NULL) {
		struct ev_group_state *more = NULL;
		size_t nmore = 0;
		r = ev_group_list(log, o->state_dir, &more, &nmore, err);
		if (r == 0 && nmore > 0) {
			struct ev_group_state *all =
				realloc(groups,
					(ngroups + nmore) * sizeof(*all));
			if (all == NULL) {
				r = ev_seterr(err, EV_ERR, "out of memory");
			} else {
				memcpy(all + ngroups, more,
				       nmore * sizeof(*all));
				groups = all;
				ngroups += nmore;
			}
		}
		free(more);
	}
	if (r != 0)
		goto out;
	for (g = 0; g < ngroups && !o->force; g++) {
		if (groups[g].next < first_kept) {
			r = ev_seterr(
				err, EV_EAGAIN,
				"trim would remove events group '%s' has not "
				"consumed: it is at offset %llu and the log "
				"would start at %llu",
				groups[g].name,
				(unsigned long long)groups[g].next,
				(unsigned long long)first_kept);
			ev_setremedy(err, EV_REMEDY_FORCE, log->path);
			goto out;
		}
	}
	/* and projections must have passed it; a damaged checkpoint
	 * might be behind, and what it has read is not known */
	r = list_checkpoints(log, o->state_dir, &ckpts, &nckpts, err);
	if (r != 0)
		goto out;
	for (g = 0; g < nckpts && !o->force; g++) {
		const struct ev_checkpoint_info *c = &ckpts[g];
		if (c->damaged) {
			r = ev_seterr(err, EV_EDATA,
				      "trim cannot tell what projection '%s' "
				      "has read: %s",
				      c->name, c->problem);
			ev_sethint(err, "rebuild the projection, remove its "
					"checkpoint, or use --force");
			goto out;
		}
		if (c->cp.next < first_kept) {
			r = ev_seterr(
				err, EV_EAGAIN,
				"trim would remove events projection '%s' has "
				"not passed: its checkpoint is at offset %llu "
				"and the log would start at %llu",
				c->name, (unsigned long long)c->cp.next,
				(unsigned long long)first_kept);
			ev_sethint(err,
				   "wait for it to catch up (run it), "
				   "remove its checkpoint, or use --force");
			goto out;
		}
	}
	/* the streams' versions must outlive their events: a snapshot of
	 * the state as of the end, which stays good after the cut */
	if (!o->dry_run) {
		struct ev_state *st;
		r = ev_state_load(&st, log, 1, err);
		if (r != 0)
			goto out;
		r = ev_state_snapshot(st, err);
		ev_state_free(st);
		if (r == 0)
			r = ev_state_write_base(log, first_kept, err);
		if (r == 0)
			r = ev_state_bump_epoch(log, err);
		if (r != 0)
			goto out;
	}
	/* oldest first, the segment file before its indexes, so the log
	 * stays contiguous whatever moment a crash picks */
	for (i = 0; i < cut; i++) {
		const struct ev_segment_info *s = &info.seg[i];
		int k;
		ev_say(notice, ctx,
		       "%s segment %020llu: offsets %llu to %llu, %llu "
		       "bytes",
		       o->dry_run ? "would remove" : "removed",
		       (unsigned long long)s->base, (unsigned long long)s->base,
		       (unsigned long long)(s->next - 1),
		       (unsigned long long)(s->bytes + s->index_bytes));
		if (o->dry_run)
			continue;
		for (k = 0; k < 4; k++) {
			ev_segment_name(name, sizeof(name), s->base, ext[k]);
			if (unlinkat(log->dirfd, name, 0) != 0 &&
			    errno != ENOENT) {
				r = ev_seterr_errno(err, EV_EIO, errno,
						    "cannot remove '%s/%s'",
						    log->path, name);
				goto out;
			}
		}
	}
	if (!o->dry_run && ev_fsync_dir(log->dirfd) != 0)
		r = ev_seterr_errno(err, EV_EIO, errno, "cannot sync '%s'",
				    log->path);
	for (g = 0; g < ngroups && r == 0; g++)
		if (groups[g].next < first_kept)
			ev_say(notice, ctx,
			       "group '%s' had not consumed offsets %llu "
			       "to %llu (trimmed by force)",
			       groups[g].name,
			       (unsigned long long)groups[g].next,
			       (unsigned long long)(first_kept - 1));
	for (g = 0; g < nckpts && r == 0; g++) {
		const struct ev_checkpoint_info *c = &ckpts[g];
		if (c->damaged)
			ev_say(notice, ctx,
			       "projection '%s' has a damaged checkpoint: "
			       "trimmed by force",
			       c->name);
		else if (c->cp.next < first_kept)
			ev_say(notice, ctx,
			       "projection '%s' had not passed offsets %llu "
			       "to %llu (trimmed by force)",
			       c->name, (unsigned long long)c->cp.next,
			       (unsigned long long)(first_kept - 1));
	}
out:
	if (lockfd >= 0)
		close(lockfd);
	ev_checkpoint_list_free(ckpts, nckpts);
	free(groups);
	free(info.seg);
	return r;
}
