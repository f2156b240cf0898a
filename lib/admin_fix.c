/*
 * admin_fix.c - the steps evctl repair takes, which admin_repair.c
 * drives: meta rewritten from the segments, damaged group state files
 * moved to lost+found, a segment cut at a byte, a gap put for damaged
 * bytes or appended for a lost segment (evlog(5) Gaps), segments moved
 * to lost+found (and what a dry run says of it), and a first segment
 * started anew.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin_int.h"

/* ------------------------------------------------------------ meta */

/*
 * Rewrite meta with the segments' id (dry: say it would).  Settings a
 * damaged meta lost come from the segments where they tell them and
 * are the defaults otherwise; the notice names each.
 */
int ev_adm_fix_meta(struct ev_log *log, const struct segs_meta *sm,
		    const char *why, int dry, ev_notice_fn notice, void *ctx,
		    struct ev_error *err)
{
	const struct ev_log_config *c = &log->cfg;
	unsigned have = log->meta_bad ? log->meta_have : ~0u;
	char lost[512], t[40];
	size_t k = 0;

	ev_log_set_id(log, sm->id);
	lost[0] = '\0';
#define LOST(...)                                                         \
	do {                                                              \
		if (k < sizeof(lost))                                     \
			k += (size_t)snprintf(lost + k, sizeof(lost) - k, \
					      "%s", k ? ", " : "");       \
		if (k < sizeof(lost))                                     \
			k += (size_t)snprintf(lost + k, sizeof(lost) - k, \
					      __VA_ARGS__);               \
	} while (0)
	if (!(have & EV_META_CREATED)) {
		log->created = sm->first_append != EV_TIME_NONE
				       ? sm->first_append
				       : ev_now();
		ev_time_format(log->created / 1000000000 * 1000000000, t);
		LOST("created %s (%s)", t,
		     sm->first_append != EV_TIME_NONE
			     ? "the first batch's append time"
			     : "now: no batch tells it");
	}
	if (!(have & EV_META_SEGMENT_BYTES)) {
		if (sm->largest > log->cfg.segment_bytes) {
			log->cfg.segment_bytes =
				sm->largest < EV_MAX_SEGMENT_BYTES
					? sm->largest
					: EV_MAX_SEGMENT_BYTES;
			LOST("segment-bytes %llu (the largest segment)",
			     (unsigned long long)c->segment_bytes);
		} else {
			LOST("segment-bytes %llu (the default)",
			     (unsigned long long)c->segment_bytes);
		}
	}
	if (!(have & EV_META_LEVEL))
		LOST("level %d (the default)", c->level);
	if (!(have & EV_META_SYNC))
		LOST("sync %s (the default)",
		     c->sync == EV_SYNC_NONE ? "none" : "batch");
	if (!(have & EV_META_DEDUPE))
		LOST("dedupe-window %llu (the default)",
		     (unsigned long long)c->dedupe_window);
	if (!(have & EV_META_CORRELATION) && ev_corrindex_exists(log)) {
		log->cfg.correlation_index = 1;
		LOST("correlation-index on (corrindex/ exists)");
	}
#undef LOST
	if (!dry && ev_log_meta_write(log, err) != 0)
		return err->code;
	ev_say(notice, ctx, "%s meta from the segments: log id %s (%s)",
	       dry ? "would rewrite" : "rewrote", log->id_hex, why);
	if (lost[0] != '\0')
		ev_say(notice, ctx,
		       "%s the settings meta lost: %s; see evlog(5) Meta",
		       dry ? "would set" : "set", lost);
	if (!dry)
		log->meta_bad = 0;
	return 0;
}

/* ------------------------------------------------------------ groups */

/* repair: move the damaged state files of the log's groups to
 * lost+found/ (a group a consumer holds is left: it commits anew) */
int ev_adm_repair_groups(struct ev_log *log, int dry, ev_notice_fn notice,
			 void *ctx, struct ev_error *err)
{
	static const char *const dirs[2] = {"groups", "lost+found"};
	struct ev_group_state *gs = NULL;
	char src[EV_GROUP_NAME_MAX + 16], dst[EV_GROUP_NAME_MAX + 48];
	struct stat st;
	size_t n, i, moved = 0;
	int k, r = 0, dfd;

	if ((r = ev_group_list_all(log, NULL, &gs, &n, err)) != 0)
		return r;
	for (i = 0; i < n && r == 0; i++) {
		if (!gs[i].damaged)
			continue;
		if (gs[i].busy) {
			ev_say(notice, ctx,
			       "left the damaged state file of group '%s': a "
			       "consumer holds the group (its next commit "
			       "rewrites the file)",
			       gs[i].name);
			continue;
		}
		snprintf(src, sizeof(src), "groups/%s.group", gs[i].name);
		snprintf(dst, sizeof(dst), "lost+found/%s.group", gs[i].name);
		/* never over what an earlier repair moved there */
		for (k = 1; k < 1000 && fstatat(log->dirfd, dst, &st,
						AT_SYMLINK_NOFOLLOW) == 0;
		     k++)
			snprintf(dst, sizeof(dst), "lost+found/%s.group.%d",
				 gs[i].name, k);
		if (dry) {
			ev_say(notice, ctx,
			       "would move the damaged state file of group "
			       "'%s' to %s: the group would be gone",
			       gs[i].name, dst);
			continue;
		}
		if ((r = ev_log_mkdir(log, "lost+found", err)) != 0)
			break;
		if (renameat(log->dirfd, src, log->dirfd, dst) != 0) {
			r = ev_seterr_errno(err, EV_EIO, errno,
					    "cannot move '%s/%s' to lost+found",
					    log->path, src);
			break;
		}
		moved++;
		ev_say(notice, ctx,
		       "moved the damaged state file of group '%s' to %s: "
		       "the group is gone",
		       gs[i].name, dst);
	}
	free(gs);
	/* both directories: the file is in one of them after a crash */
	for (k = 0; k < 2 && moved > 0 && r == 0; k++) {
		dfd = openat(log->dirfd, dirs[k],
			     O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0 || ev_fsync_dir(dfd) != 0)
			r = ev_seterr_errno(err, EV_EIO, errno,
					    "cannot sync '%s/%s'", log->path,
					    dirs[k]);
		if (dfd >= 0)
			close(dfd);
	}
	return r;
}

/* ------------------------------------------------------------ repair */

/* Move bytes [from, size) of a segment to lost+found, then cut it. */
int ev_adm_cut_segment(struct ev_log *log, int fd, uint64_t base, uint64_t from,
		       uint64_t size, ev_notice_fn notice, void *ctx,
		       struct ev_error *err)
{
	char name[96];
	uint8_t buf[65536];
	uint64_t pos;
	int lfd, lost;
	size_t k;

	if (ev_log_mkdir(log, "lost+found", err) != 0)
		return err->code;
	lost = openat(log->dirfd, "lost+found",
		      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (lost < 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot open '%s/lost+found'",
				       log->path);
	snprintf(name, sizeof(name), "%020llu.seg.from-byte-%llu",
		 (unsigned long long)base, (unsigned long long)from);
	lfd = ev_openat(lost, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (lfd < 0) {
		close(lost);
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot create '%s/lost+found/%s'",
				       log->path, name);
	}
	for (pos = from; pos < size; pos += k) {
		k = size - pos < sizeof(buf) ? (size_t)(size - pos)
					     : sizeof(buf);
		if (ev_read_full(fd, buf, k, pos) != 1 ||
		    ev_write_full(lfd, buf, k, pos - from) != 0) {
			close(lfd);
			close(lost);
			return ev_seterr_errno(
				err, EV_EIO, errno,
				"cannot copy to '%s/lost+found/%s'", log->path,
				name);
		}
	}
	if (fsync(lfd) != 0 || fsync(lost) != 0) {
		close(lfd);
		close(lost);
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot sync lost+found");
	}
	close(lfd);
	close(lost);
	if (ftruncate(fd, (off_t)from) != 0 || fdatasync(fd) != 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot truncate segment %020llu",
				       (unsigned long long)base);
	ev_say(notice, ctx,
	       "moved %llu bytes of segment %020llu from byte %llu to "
	       "lost+found/%s",
	       (unsigned long long)(size - from), (unsigned long long)base,
	       (unsigned long long)from, name);
	return 0;
}

/*
 * Where the damage at pos of a segment ends: the next valid batch that
 * starts a whole header later and continues past offset next (evlog(5)
 * Gaps).  1 with its position and base offset, or 0.
 */
int ev_adm_resync(int fd, uint64_t pos, uint64_t size, uint64_t salt,
		  uint64_t next, uint64_t *at, uint64_t *base)
{
	struct ev_batchhdr h;
	uint64_t from = pos + EV_BATCHHDR_SIZE;

	while (from < size &&
	       ev_segment_find_valid(fd, from, size, salt, at, &h)) {
		if (h.base > next) {
			*base = h.base;
			return 1;
		}
		from = *at + 1;
	}
	return 0;
}

/*
 * Replace the damaged bytes [pos, end) of a segment, which held offsets
 * [first, last], with a gap marker (evlog(5) Gaps), after copying them to
 * lost+found.  The segment says it holds gaps before the marker is
 * written, so a crash leaves the damage as it was, or the gap.
 */
int ev_adm_put_gap(struct ev_log *log, int fd, uint64_t segbase, uint64_t salt,
		   uint64_t pos, uint64_t end, uint64_t first, uint64_t last,
		   ev_notice_fn notice, void *ctx, struct ev_error *err)
{
	char name[128], path[160], otext[64];
	uint8_t buf[65536], sh[EV_SEGHDR_SIZE], gh[EV_BATCHHDR_SIZE];
	struct ev_batchhdr g;
	uint64_t p;
	size_t k;
	int lost = -1, lfd = -1;

	if (ev_log_mkdir(log, "lost+found", err) != 0)
		return err->code;
	lost = openat(log->dirfd, "lost+found",
		      O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(name, sizeof(name), "%020llu.seg.damaged-offsets-%llu-%llu",
		 (unsigned long long)segbase, (unsigned long long)first,
		 (unsigned long long)last);
	snprintf(path, sizeof(path), "lost+found/%s", name);
	if (lost >= 0)
		lfd = ev_openat(lost, name, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (lfd < 0)
		goto fail;
	for (p = pos; p < end; p += k) {
		k = end - p < sizeof(buf) ? (size_t)(end - p) : sizeof(buf);
		if (ev_read_full(fd, buf, k, p) != 1 ||
		    ev_write_full(lfd, buf, k, p - pos) != 0)
			goto fail;
	}
	if (fsync(lfd) != 0 || fsync(lost) != 0)
		goto fail;
	close(lfd);
	close(lost);
	lfd = lost = -1;
	/* the feature first, then the filler, then the marker */
	if (ev_read_full(fd, sh, sizeof(sh), 0) != 1)
		goto fail_seg;
	if (!(ev_get32(sh + 16) & EV_INCOMPAT_GAPS)) {
		ev_seghdr_add_incompat(sh, EV_INCOMPAT_GAPS);
		if (ev_write_full(fd, sh, sizeof(sh), 0) != 0 ||
		    fdatasync(fd) != 0)
			goto fail_seg;
	}
	memset(buf, 0, sizeof(buf));
	for (p = pos + EV_BATCHHDR_SIZE; p < end; p += k) {
		k = end - p < sizeof(buf) ? (size_t)(end - p) : sizeof(buf);
		if (ev_write_full(fd, buf, k, p) != 0)
			goto fail_seg;
	}
	memset(&g, 0, sizeof(g));
	g.flags = EV_BATCH_GAP;
	g.stored_len = (uint32_t)(end - pos - EV_BATCHHDR_SIZE);
	g.count = (uint32_t)(last - first + 1);
	g.base = first;
	g.min_time = g.max_time = g.append_time = EV_TIME_NONE;
	g.salt = salt;
	ev_batchhdr_encode(gh, &g);
	if (fdatasync(fd) != 0 || ev_write_full(fd, gh, sizeof(gh), pos) != 0 ||
	    fdatasync(fd) != 0)
		goto fail_seg;
	ev_say(notice, ctx,
	       "replaced the damaged bytes %llu to %llu of segment %020llu "
	       "with a gap: %s lost (%llu %s); the raw bytes are in %s "
	       "(evtail reads what is left of them)",
	       (unsigned long long)pos, (unsigned long long)(end - 1),
	       (unsigned long long)segbase,
	       ev_offsets_text(otext, sizeof(otext), first, last),
	       (unsigned long long)(last - first + 1),
	       ev_plural(last - first + 1, "event", "events"), path);
	return 0;
fail:
	ev_seterr_errno(err, EV_EIO, errno, "cannot copy to '%s/%s'", log->path,
			path);
	if (lfd >= 0)
		close(lfd);
	if (lost >= 0)
		close(lost);
	return EV_EIO;
fail_seg:
	return ev_seterr_errno(err, EV_EIO, errno,
			       "cannot write segment %020llu",
			       (unsigned long long)segbase);
}

int ev_adm_move_to_lost(struct ev_log *log, uint64_t base, ev_notice_fn notice,
			void *ctx, struct ev_error *err)
{
	const char *ext[4] = {"seg", "idx", "tix", "six"};
	char name[40], dst[64];
	int i;

	if (ev_log_mkdir(log, "lost+found", err) != 0)
		return err->code;
	for (i = 0; i < 4; i++) {
		ev_segment_name(name, sizeof(name), base, ext[i]);
		snprintf(dst, sizeof(dst), "lost+found/%s", name);
		if (renameat(log->dirfd, name, log->dirfd, dst) != 0 &&
		    errno != ENOENT)
			return ev_seterr_errno(err, EV_EIO, errno,
					       "cannot move '%s' to lost+found",
					       name);
	}
	ev_say(notice, ctx, "moved segment %020llu to lost+found/",
	       (unsigned long long)base);
	return 0;
}

/* Move segments from..n-1 to lost+found. */
int ev_adm_move_segments_to_lost(struct ev_log *log, const uint64_t *segs,
				 size_t from, size_t n, ev_notice_fn notice,
				 void *ctx, struct ev_error *err)
{
	size_t j;
	int r;

	for (j = from; j < n; j++)
		if ((r = ev_adm_move_to_lost(log, segs[j], notice, ctx, err)) !=
		    0)
			return r;
	return 0;
}

/*
 * Append a gap marker with no filler for offsets [first, last] at byte at,
 * the end of a segment (evlog(5) Gaps): what stands for a segment that is
 * missing or whose header is damaged, so the segments after it stay in
 * the log.  The segment says it holds gaps before the marker is written.
 */
int ev_adm_append_gap(struct ev_log *log, int fd, uint64_t segbase,
		      uint64_t salt, uint64_t at, uint64_t first, uint64_t last,
		      struct ev_error *err)
{
	uint8_t sh[EV_SEGHDR_SIZE], gh[EV_BATCHHDR_SIZE];
	struct ev_batchhdr g;

	(void)log;
	if (ev_read_full(fd, sh, sizeof(sh), 0) != 1)
		goto fail;
	if (!(ev_get32(sh + 16) & EV_INCOMPAT_GAPS)) {
		ev_seghdr_add_incompat(sh, EV_INCOMPAT_GAPS);
		if (ev_write_full(fd, sh, sizeof(sh), 0) != 0 ||
		    fdatasync(fd) != 0)
			goto fail;
	}
	memset(&g, 0, sizeof(g));
	g.flags = EV_BATCH_GAP;
	g.count = (uint32_t)(last - first + 1);
	g.base = first;
	g.min_time = g.max_time = g.append_time = EV_TIME_NONE;
	g.salt = salt;
	ev_batchhdr_encode(gh, &g);
	if (ev_write_full(fd, gh, sizeof(gh), at) != 0 || fdatasync(fd) != 0)
		goto fail;
	return 0;
fail:
	return ev_seterr_errno(err, EV_EIO, errno,
			       "cannot write segment %020llu",
			       (unsigned long long)segbase);
}

/*
 * The offsets segment i of segs[0..n) held, [segs[i], *end), when its
 * header cannot be read: up to the next segment, or for the last one to
 * the head's end when the head is in it.  0 when they are not known.
 */
int ev_adm_lost_segment_end(const uint64_t *segs, size_t i, size_t n,
			    int have_old, const struct ev_head *oldhead,
			    uint64_t *end)
{
	if (i + 1 < n)
		*end = segs[i + 1];
	else if (have_old && oldhead->seg_base == segs[i] &&
		 oldhead->next >= segs[i])
		*end = oldhead->next;
	else
		return 0;
	return *end - segs[i] <= UINT32_MAX;
}

/* Say what a repair moves to lost+found, or would move, with the events
 * of each segment when they are known. */
void ev_adm_say_moves(const uint64_t *segs, size_t from, size_t n, int have_old,
		      const struct ev_head *oldhead, ev_notice_fn notice,
		      void *ctx)
{
	char otext[64];
	uint64_t end;
	size_t j;

	for (j = from; j < n; j++) {
		if (ev_adm_lost_segment_end(segs, j, n, have_old, oldhead,
					    &end) &&
		    end > segs[j])
			ev_say(notice, ctx,
			       "would move segment %020llu to lost+found/: "
			       "%s (%llu %s)",
			       (unsigned long long)segs[j],
			       ev_offsets_text(otext, sizeof(otext), segs[j],
					       end - 1),
			       (unsigned long long)(end - segs[j]),
			       ev_plural(end - segs[j], "event", "events"));
		else
			ev_say(notice, ctx,
			       "would move segment %020llu to lost+found/",
			       (unsigned long long)segs[j]);
	}
}

/*
 * Put a new segment in place of the first one, whose header is damaged,
 * after moving it to lost+found: with a gap for the offsets it held,
 * [base, end), so that the log keeps its offsets and writers go on
 * after them.
 */
int ev_adm_renew_first_segment(struct ev_log *log, uint64_t base, uint64_t end,
			       int *dropped, ev_notice_fn notice, void *ctx,
			       struct ev_error *err)
{
	char name[40], otext[64];
	uint64_t salt;
	int fd, r;

	if (end > base && !*dropped &&
	    (*dropped = ev_state_drop_snapshots(log, err)) < 0)
		return err->code;
	if ((r = ev_adm_move_to_lost(log, base, notice, ctx, err)) != 0 ||
	    (r = ev_segment_create(log, base, &salt, err)) != 0)
		return r;
	ev_say(notice, ctx, "started segment %020llu anew",
	       (unsigned long long)base);
	if (end == base)
		return 0;
	ev_segment_name(name, sizeof(name), base, "seg");
	fd = ev_openat(log->dirfd, name, O_RDWR, 0);
	if (fd < 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot open '%s/%s'", log->path, name);
	r = ev_adm_append_gap(log, fd, base, salt, EV_SEGHDR_SIZE, base,
			      end - 1, err);
	close(fd);
	if (r == 0)
		ev_say(notice, ctx,
		       "put a gap in segment %020llu: %s lost (%llu %s)",
		       (unsigned long long)base,
		       ev_offsets_text(otext, sizeof(otext), base, end - 1),
		       (unsigned long long)(end - base),
		       ev_plural(end - base, "event", "events"));
	return r;
}
