/*
 * admin.c - whole-log operations behind evctl: info, verify and repair.
 * Retention (trim) is trim.c's.
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
static int seg_open(struct ev_log *log, uint64_t base, int flags,
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
static int visible(struct ev_log *log, uint64_t **segs, size_t *n,
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
	if (visible(log, &segs, &n, &head, &have_head, err) != 0)
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
		fd = seg_open(log, segs[i], O_RDONLY, &sh, &size, &unsup, err);
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

/* What the segments tell of a log's meta (evlog(5) Meta) */
struct segs_meta {
	uint8_t id[16];		/* the id every readable header names */
	size_t nid;		/* the headers that name it */
	int differ;		/* two readable headers name different ids */
	ev_time_t first_append; /* of the first batch, or EV_TIME_NONE */
	uint64_t largest;	/* bytes of the largest segment */
};

/*
 * Meta against the segments: 1 when meta is at fault, damaged or naming
 * another id than every segment whose header can be read names, and the
 * segments tell the id (in sm); 0 when meta is right, or when it is
 * whole and the segments disagree among themselves (then the segments
 * are at fault, as verify and repair say); -1 when meta is damaged and
 * the segments do not tell the id.  why gets what is wrong.
 */
static int meta_check(struct ev_log *log, struct segs_meta *sm, char *why,
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

/*
 * Rewrite meta with the segments' id (dry: say it would).  Settings a
 * damaged meta lost come from the segments where they tell them and
 * are the defaults otherwise; the notice names each.
 */
static int fix_meta(struct ev_log *log, const struct segs_meta *sm,
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

/* verify: the state files of the log's groups (LOG/groups) can be read */
static int verify_groups(struct ev_log *log, ev_notice_fn notice, void *ctx,
			 struct ev_error *err)
{
	struct ev_group_state *gs = NULL;
	struct ev_error e2;
	size_t n, i, bad = 0, last = 0;

	if (ev_group_list_all(log, NULL, &gs, &n, &e2) != 0)
		return ev_seterr(err, e2.code, "%s", e2.msg);
	for (i = 0; i < n; i++)
		if (gs[i].damaged) {
			bad++;
			last = i;
		}
	for (i = 0; bad > 1 && i < n; i++)
		if (gs[i].damaged)
			ev_say(notice, ctx,
			       "group state file '%s/groups/%s.group' is "
			       "damaged",
			       log->path, gs[i].name);
	if (bad == 1) {
		ev_seterr(err, EV_EDATA,
			  "group state file '%s/groups/%s.group' is damaged",
			  log->path, gs[last].name);
		ev_sethint(err,
			   "run 'evctl repair %s' to move it to lost+found/, "
			   "or 'evctl groups --reset %s --to POS --execute %s' "
			   "to rewrite it",
			   log->path, gs[last].name, log->path);
	} else if (bad > 1) {
		ev_seterr(err, EV_EDATA, "%zu group state files are damaged",
			  bad);
		ev_sethint(
			err,
			"run 'evctl repair %s' to move them to lost+found/, "
			"or 'evctl groups --reset NAME --to POS --execute %s' "
			"to rewrite one",
			log->path, log->path);
	}
	free(gs);
	return bad > 0 ? EV_EDATA : 0;
}

/* repair: move the damaged state files of the log's groups to
 * lost+found/ (a group a consumer holds is left: it commits anew) */
static int repair_groups(struct ev_log *log, int dry, ev_notice_fn notice,
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

/* ------------------------------------------------------------ verify */

static int vfail(struct ev_error *err, uint64_t base, uint64_t off,
		 uint64_t pos, const char *why)
{
	return ev_seterr(err, EV_EDATA,
			 "segment %020llu, offset %llu, byte %llu: %s",
			 (unsigned long long)base, (unsigned long long)off,
			 (unsigned long long)pos, why);
}

/* Positions and base offsets of a segment's batches, for index checks */
struct batchpos {
	uint64_t pos, base;
	ev_time_t prefix_max; /* max time before this batch */
	struct ev_batchhdr h;
	int has_sum;		  /* bskip: its summary, computed */
	uint8_t sum[EV_SUM_BODY]; /* from its records */
};

/*
 * bskip: check a segment's summary index (evlog(5) Summaries) against
 * its verified batches: the right header, whole entries in ascending
 * positions that check out, each naming a batch (position, offset,
 * count and payload CRC) and holding the summary of its records; past
 * the verified end only as a tail.  A batch may have no entry (written
 * by an older writer), and a segment no summary index: a cache not
 * made, which repair makes.
 */
static const char *check_six(struct ev_log *log, uint64_t base, uint64_t salt,
			     uint64_t seg_size, const struct batchpos *bp,
			     size_t nb, uint64_t limit, char *name,
			     size_t name_n, uint64_t *at)
{
	uint8_t hdr[EV_IDXHDR_SIZE], want[EV_IDXHDR_SIZE], e[EV_SIX_ENTRY];
	struct stat st;
	uint64_t k, count, epos, prev = 0;
	const char *bad = NULL;
	size_t j = 0;
	int fd, past = 0;

	*at = UINT64_MAX; /* the file, not an entry */
	ev_segment_name(name, name_n, base, "six");
	fd = ev_openat(log->dirfd, name, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return NULL; /* a cache not made: nothing skips by it */
	ev_six_header(want, salt);
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size < EV_IDXHDR_SIZE ||
	    ev_read_full(fd, hdr, sizeof(hdr), 0) != 1 ||
	    memcmp(hdr, want, sizeof(hdr)) != 0) {
		close(fd);
		return "has a bad header";
	}
	if ((st.st_size - EV_IDXHDR_SIZE) % EV_SIX_ENTRY != 0) {
		close(fd);
		return "ends in a partial entry";
	}
	count = ((uint64_t)st.st_size - EV_IDXHDR_SIZE) / EV_SIX_ENTRY;
	if (count > ev_index_max_entries(seg_size)) {
		close(fd);
		return "has more entries than its segment can need";
	}
	for (k = 0; k < count && bad == NULL; k++) {
		*at = k;
		if (ev_read_full(fd, e, sizeof(e),
				 EV_IDXHDR_SIZE + k * EV_SIX_ENTRY) != 1) {
			bad = "cannot be read";
			break;
		}
		if (!ev_six_entry_ok(e, salt)) {
			bad = "has a bad checksum or form";
			break;
		}
		epos = ev_get32(e + 4);
		if (k > 0 && epos <= prev) {
			bad = "does not ascend";
			break;
		}
		prev = epos;
		if (epos >= limit) {
			past = 1; /* a writer died before publishing it */
			continue;
		}
		if (past) {
			bad = "follows entries past the end";
			break;
		}
		while (j < nb && bp[j].pos < epos)
			j++;
		if (j >= nb || bp[j].pos != epos ||
		    !ev_six_entry_matches(e, base, epos, &bp[j].h, salt)) {
			bad = "does not match the segment";
			break;
		}
		if (!bp[j].has_sum ||
		    memcmp(e + 16, bp[j].sum, EV_SUM_BODY) != 0) {
			bad = "does not match the types and streams of its "
			      "batch";
			break;
		}
	}
	close(fd);
	return bad;
}

/*
 * Check a segment's index files against its verified batches: entries
 * must ascend; an entry inside the verified range must name a batch
 * exactly (and a time entry must carry the largest time before it);
 * entries past the verified end are allowed only as a tail, since a
 * writer may have died before publishing them.
 */
static int check_indexes(struct ev_log *log, uint64_t base, uint64_t salt,
			 uint64_t seg_size, const struct batchpos *bp,
			 size_t nb, uint64_t limit, uint64_t next,
			 struct ev_error *err)
{
	char name[40];
	uint8_t hdr[EV_IDXHDR_SIZE], want[EV_IDXHDR_SIZE], e[EV_TIX_ENTRY];
	struct stat st;
	uint64_t k, count, rel, epos, prev_rel = 0, prev_pos = 0;
	size_t j;
	int fd, t, past;
	const char *bad = NULL;

	for (t = 0; t < 2 && bad == NULL; t++) {
		size_t esz = t ? EV_TIX_ENTRY : EV_IDX_ENTRY;
		ev_segment_name(name, sizeof(name), base, t ? "tix" : "idx");
		fd = ev_openat(log->dirfd, name, O_RDONLY, 0);
		if (fd < 0)
			return ev_seterr(err, EV_EDATA, "index '%s' is missing",
					 name);
		ev_index_header(want, t, salt);
		if (fstat(fd, &st) != 0 ||
		    ev_read_full(fd, hdr, sizeof(hdr), 0) != 1 ||
		    memcmp(hdr, want, sizeof(hdr)) != 0) {
			close(fd);
			return ev_seterr(err, EV_EDATA,
					 "index '%s' has a bad header", name);
		}
		count = ((uint64_t)st.st_size - EV_IDXHDR_SIZE) / esz;
		if (count > ev_index_max_entries(seg_size)) {
			close(fd);
			return ev_seterr(
				err, EV_EDATA,
				"index '%s' has %llu entries, more than its "
				"segment of %llu bytes can need (%llu)",
				name, (unsigned long long)count,
				(unsigned long long)seg_size,
				(unsigned long long)ev_index_max_entries(
					seg_size));
		}
		j = 0;
		past = 0;
		for (k = 0; k < count && bad == NULL; k++) {
			if (ev_read_full(fd, e, esz,
					 EV_IDXHDR_SIZE + k * esz) != 1)
				break;
			rel = ev_get32(t ? e + 8 : e);
			epos = t ? 0 : ev_get32(e + 4);
			if (t && !ev_tix_entry_ok(e, salt)) {
				bad = "has a bad checksum";
				break;
			}
			if (k > 0 &&
			    (rel <= prev_rel || (!t && epos <= prev_pos))) {
				bad = "does not ascend";
				break;
			}
			prev_rel = rel;
			prev_pos = epos;
			/* beyond the verified end: a writer that died after
			 * indexing a batch it never published leaves such
			 * entries, but only for bytes past the durable end */
			if (t ? base + rel >= next
			      : (epos >= limit && base + rel >= next)) {
				past = 1;
				continue;
			}
			if (past) {
				bad = "follows entries past the end";
				break;
			}
			while (j < nb && bp[j].base < base + rel)
				j++;
			if (j >= nb || bp[j].base != base + rel ||
			    (!t && bp[j].pos != epos) ||
			    (t && (ev_time_t)ev_get64(e) != bp[j].prefix_max)) {
				bad = "does not match the segment";
				break;
			}
		}
		close(fd);
		if (bad != NULL)
			return ev_seterr(err, EV_EDATA,
					 "index '%s': entry %llu %s", name,
					 (unsigned long long)k, bad);
	}
	return 0;
}

/*
 * Is a writer at work on the log (it holds the log lock), or did one
 * publish since head was read?  Then the bytes past head's durable end
 * are a batch in progress, not what an interrupted writer left.
 */
static int writer_busy(struct ev_log *log, const struct ev_head *head)
{
	struct ev_head now;
	int fd = ev_openat(log->dirfd, "lock", O_RDONLY | O_NONBLOCK, 0), busy;

	if (fd < 0)
		return 0;
	busy = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	if (!busy && ev_head_read(log->dirfd, &now) == 0 &&
	    (now.seg_base != head->seg_base || now.end != head->end))
		busy = 1;
	close(fd);
	return busy;
}

int ev_log_verify(struct ev_log *log, struct ev_verify_report *rep,
		  ev_notice_fn notice, void *ctx, struct ev_error *err)
{
	uint64_t *segs = NULL, size, limit, pos, next = 0, roff;
	size_t n, i, nb, cap;
	struct ev_head head;
	struct ev_seghdr sh;
	struct ev_batchhdr h;
	struct ev_buf stored = {0}, raw = {0};
	struct ev_codec *codec = ev_codec_new();
	struct batchpos *bp = NULL;
	struct ev_event ev;
	struct ev_error e2;
	const uint8_t *p, *end, *rec;
	size_t rn;
	const char *why;
	char otext[64];
	ev_time_t pmax;
	int have_head, fd = -1, r = 0, rr, shorter, unsup;
	uint32_t k;

	memset(rep, 0, sizeof(*rep));
	if (codec == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (visible(log, &segs, &n, &head, &have_head, err) != 0) {
		ev_codec_free(codec);
		return err->code;
	}
	{
		struct segs_meta sm;
		char mwhy[512];
		int mc = meta_check(log, &sm, mwhy, sizeof(mwhy));
		if (mc != 0) {
			r = ev_seterr(err, EV_EDATA, "%s", mwhy);
			if (mc > 0)
				ev_setremedy(err, EV_REMEDY_REPAIR_STATE,
					     log->path);
			else
				ev_sethint(err, "restore meta from a backup "
						"(evlog(5) Meta)");
			goto out;
		}
	}
	if (!have_head)
		ev_say(notice, ctx,
		       "head file is missing or damaged; checking to "
		       "the end of the last segment");
	if (n == 0) {
		r = ev_seterr(err, EV_EDATA, "log has no segments");
		goto out;
	}
	if (have_head && segs[n - 1] != head.seg_base) {
		r = ev_seterr(err, EV_EDATA,
			      "head names segment %020llu, which "
			      "is missing",
			      (unsigned long long)head.seg_base);
		goto out;
	}
	for (i = 0; i < n; i++) {
		fd = seg_open(log, segs[i], O_RDONLY, &sh, &size, &unsup, err);
		if (fd < 0) {
			r = err->code;
			goto out;
		}
		if (i > 0 && segs[i] != next) {
			r = vfail(
				err, segs[i], next, 0,
				"segment does not continue the offsets of the "
				"one before");
			goto out;
		}
		if (have_head && segs[i] == head.seg_base &&
		    sh.salt != head.salt) {
			/* readers and writers refuse it: so does verify */
			r = vfail(err, segs[i], segs[i], 0,
				  "head file does not match the segment");
			goto out;
		}
		limit = have_head && segs[i] == head.seg_base ? head.end : size;
		shorter = limit > size;
		if (shorter)
			limit = size; /* find the batch that was cut */
		pos = EV_SEGHDR_SIZE;
		next = segs[i];
		nb = 0;
		cap = 0;
		pmax = EV_TIME_NONE;
		while (pos < limit) {
			rr = ev_segment_read_batch(fd, pos, limit, sh.salt, &h,
						   &stored, &why);
			if (rr == EV_EIO) {
				r = ev_seterr(err, EV_EIO,
					      "cannot read segment: %s", why);
				goto out;
			}
			if (rr != 0) {
				/* without a head, a torn tail is not damage */
				if (!have_head && i + 1 == n &&
				    !ev_segment_valid_after(fd, pos + 1, limit,
							    sh.salt)) {
					ev_say(notice, ctx,
					       "segment %020llu: torn tail of %llu "
					       "bytes at byte %llu (writers truncate it)",
					       (unsigned long long)segs[i],
					       (unsigned long long)(limit -
								    pos),
					       (unsigned long long)pos);
					break;
				}
				r = vfail(
					err, segs[i], next, pos,
					shorter ? "batch cut short: the segment is "
						  "shorter than its durable end"
						: why);
				goto out;
			}
			if (h.base != next) {
				r = vfail(
					err, segs[i], next, pos,
					"batch offset does not continue the log");
				goto out;
			}
			if (ev_batch_is_gap(&h)) {
				ev_say(notice, ctx,
				       "gap: %s (%llu %s) lost to damage and "
				       "repaired, at byte %llu of segment %020llu",
				       ev_offsets_text(otext, sizeof(otext),
						       h.base,
						       h.base + h.count - 1),
				       (unsigned long long)h.count,
				       ev_plural(h.count, "event", "events"),
				       (unsigned long long)pos,
				       (unsigned long long)segs[i]);
				rep->gaps++;
				rep->gap_events += h.count;
			}
			rr = ev_codec_decode(codec, &h, stored.p, &raw, &why);
			if (rr != 0) {
				r = rr == EV_EDATA
					    ? vfail(err, segs[i], next, pos,
						    why)
					    : ev_seterr(err, rr, "%s", why);
				goto out;
			}
			p = raw.p;
			end = raw.p + raw.len;
			roff = h.base;
			for (k = 0; k < h.count && !ev_batch_is_gap(&h);
			     k++, roff++) {
				if (ev_payload_next(&p, end, &rec, &rn) != 0) {
					r = vfail(err, segs[i], roff, pos,
						  "record framing is damaged");
					goto out;
				}
				if (ev_event_decode(rec, rn, &ev, &e2) != 0 ||
				    ev_event_check_deep(&ev, &e2) != 0) {
					r = vfail(err, segs[i], roff, pos,
						  e2.msg);
					goto out;
				}
				if (ev.time < h.min_time ||
				    ev.time > h.max_time) {
					r = vfail(
						err, segs[i], roff, pos,
						"event time outside its batch's "
						"time range");
					goto out;
				}
				rep->records++;
			}
			if (p != end) {
				r = vfail(
					err, segs[i], roff, pos,
					"batch payload has bytes after its last "
					"record");
				goto out;
			}
			if (nb == cap) {
				cap = cap ? cap * 2 : 256;
				struct batchpos *nbp =
					realloc(bp, cap * sizeof(*bp));
				if (nbp == NULL) {
					r = ev_seterr(err, EV_ERR,
						      "out of memory");
					goto out;
				}
				bp = nbp;
			}
			bp[nb].pos = pos;
			bp[nb].base = h.base;
			bp[nb].prefix_max = pmax;
			bp[nb].h = h;
			bp[nb].has_sum =
				!ev_batch_is_gap(&h) &&
				EV_BATCHHDR_SIZE + (uint64_t)h.stored_len >=
					EV_SUM_MIN_BATCH &&
				ev_summary_body(bp[nb].sum, raw.p, raw.len) ==
					0;
			nb++;
			if (!ev_batch_is_gap(&h) &&
			    (pmax == EV_TIME_NONE || h.max_time > pmax))
				pmax = h.max_time;
			if (!ev_batch_is_gap(&h))
				rep->batches++;
			next = h.base + h.count;
			pos += EV_BATCHHDR_SIZE + h.stored_len;
		}
		if (shorter) {
			r = vfail(err, segs[i], next, pos,
				  "segment is shorter than its durable end");
			goto out;
		}
		if (have_head && segs[i] == head.seg_base) {
			if (next != head.next) {
				r = vfail(
					err, segs[i], next, pos,
					"head's next offset does not match the "
					"segment");
				goto out;
			}
			if (size > head.end && !writer_busy(log, &head)) {
				/* judge them as the next writer will */
				uint64_t p2 = head.end, n2 = next;
				const char *why2 = NULL;
				while (p2 < size &&
				       ev_segment_read_batch(fd, p2, size,
							     sh.salt, &h,
							     &stored,
							     &why2) == 0 &&
				       h.base == n2) {
					n2 = h.base + h.count;
					p2 += EV_BATCHHDR_SIZE + h.stored_len;
				}
				if (p2 < size &&
				    ev_segment_valid_after(fd, p2 + 1, size,
							   sh.salt)) {
					r = vfail(
						err, segs[i], n2, p2,
						"damaged bytes past the durable "
						"end, followed by a valid batch");
					goto out;
				}
				ev_say(notice, ctx,
				       "segment %020llu: %llu bytes past the durable "
				       "end, left by an interrupted writer (the next "
				       "writer adopts %llu complete events and cuts "
				       "the rest)",
				       (unsigned long long)segs[i],
				       (unsigned long long)(size - head.end),
				       (unsigned long long)(n2 - next));
			}
		}
		if (check_indexes(log, segs[i], sh.salt, size, bp, nb, limit,
				  next, &e2) != 0) {
			r = ev_seterr(err, EV_EDATA, "%s", e2.msg);
			ev_setremedy(err, EV_REMEDY_REPAIR_INDEXES, log->path);
			rep->index_problems++;
			goto out;
		}
		{
			char sname[40];
			uint64_t at;
			const char *bad =
				check_six(log, segs[i], sh.salt, size, bp, nb,
					  limit, sname, sizeof(sname), &at);
			if (bad != NULL) {
				if (at == UINT64_MAX)
					r = ev_seterr(err, EV_EDATA,
						      "summary index '%s' %s",
						      sname, bad);
				else
					r = ev_seterr(err, EV_EDATA,
						      "summary index '%s': "
						      "entry %llu %s",
						      sname,
						      (unsigned long long)at,
						      bad);
				ev_setremedy(err, EV_REMEDY_REPAIR_INDEXES,
					     log->path);
				rep->index_problems++;
				goto out;
			}
		}
		close(fd);
		fd = -1;
		rep->segments++;
	}
	r = verify_groups(log, notice, ctx, err);
out:
	if (fd >= 0)
		close(fd);
	free(segs);
	free(bp);
	ev_buf_free(&stored);
	ev_buf_free(&raw);
	ev_codec_free(codec);
	return r;
}

/* ------------------------------------------------------------ repair */

/* Move bytes [from, size) of a segment to lost+found, then cut it. */
static int cut_segment(struct ev_log *log, int fd, uint64_t base, uint64_t from,
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
static int resync(int fd, uint64_t pos, uint64_t size, uint64_t salt,
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
static int put_gap(struct ev_log *log, int fd, uint64_t segbase, uint64_t salt,
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

static int move_to_lost(struct ev_log *log, uint64_t base, ev_notice_fn notice,
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
static int move_segments_to_lost(struct ev_log *log, const uint64_t *segs,
				 size_t from, size_t n, ev_notice_fn notice,
				 void *ctx, struct ev_error *err)
{
	size_t j;
	int r;

	for (j = from; j < n; j++)
		if ((r = move_to_lost(log, segs[j], notice, ctx, err)) != 0)
			return r;
	return 0;
}

/*
 * Append a gap marker with no filler for offsets [first, last] at byte at,
 * the end of a segment (evlog(5) Gaps): what stands for a segment that is
 * missing or whose header is damaged, so the segments after it stay in
 * the log.  The segment says it holds gaps before the marker is written.
 */
static int append_gap(struct ev_log *log, int fd, uint64_t segbase,
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
static int lost_segment_end(const uint64_t *segs, size_t i, size_t n,
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
static void say_moves(const uint64_t *segs, size_t from, size_t n, int have_old,
		      const struct ev_head *oldhead, ev_notice_fn notice,
		      void *ctx)
{
	char otext[64];
	uint64_t end;
	size_t j;

	for (j = from; j < n; j++) {
		if (lost_segment_end(segs, j, n, have_old, oldhead, &end) &&
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
static int renew_first_segment(struct ev_log *log, uint64_t base, uint64_t end,
			       int *dropped, ev_notice_fn notice, void *ctx,
			       struct ev_error *err)
{
	char name[40], otext[64];
	uint64_t salt;
	int fd, r;

	if (end > base && !*dropped &&
	    (*dropped = ev_state_drop_snapshots(log, err)) < 0)
		return err->code;
	if ((r = move_to_lost(log, base, notice, ctx, err)) != 0 ||
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
	r = append_gap(log, fd, base, salt, EV_SEGHDR_SIZE, base, end - 1, err);
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

int ev_log_repair(struct ev_log *log, int flags, ev_notice_fn notice, void *ctx,
		  struct ev_error *err)
{
	uint64_t *segs = NULL, size, pos, next = 0, durable;
	uint64_t last_index = EV_SEGHDR_SIZE;
	char otext[64];
	size_t n, i;
	struct ev_seghdr sh;
	struct ev_batchhdr h;
	struct ev_buf stored = {0}, raw = {0};
	struct ev_codec *codec = ev_codec_new();
	struct ev_head head, oldhead;
	uint8_t hb[EV_HEAD_SIZE];
	ev_time_t max_time = EV_TIME_NONE;
	const char *why;
	int fd = -1, lockfd, r = 0, rr, have_old, cut = 0, unsup, snap;
	int dry = flags & EV_REPAIR_DRY_RUN, gaps = 0, dropped = 0, renewed = 0;
	uint8_t saved_id[16] = {0};
	char saved_id_hex[33] = "";
	int saved = 0;
	ev_time_t saved_created = EV_TIME_NONE;
	struct ev_log_config saved_cfg = log->cfg;

	if (codec == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	lockfd = ev_openat(log->dirfd, "lock", O_RDWR | O_CREAT, 0644);
	if (lockfd < 0 || flock(lockfd, LOCK_EX) != 0) {
		r = ev_seterr_errno(err, EV_EIO, errno, "cannot lock '%s/lock'",
				    log->path);
		goto out;
	}
	{
		struct segs_meta sm;
		char mwhy[512];
		int mc = meta_check(log, &sm, mwhy, sizeof(mwhy));
		if (mc < 0) {
			r = ev_seterr(err, EV_EDATA, "%s", mwhy);
			ev_sethint(
				err,
				"restore meta from a backup (evlog(5) Meta)");
			goto out;
		}
		if (mc > 0) {
			/* a dry run changes the handle for a while only */
			memcpy(saved_id, log->id, sizeof(saved_id));
			memcpy(saved_id_hex, log->id_hex, sizeof(saved_id_hex));
			saved_created = log->created;
			saved_cfg = log->cfg;
			saved = 1;
			if ((r = fix_meta(log, &sm, mwhy, dry, notice, ctx,
					  err)) != 0)
				goto out;
		}
	}
	have_old = ev_head_read(log->dirfd, &oldhead) == 0;
	if (ev_log_segments(log->dirfd, &segs, &n, err) != 0) {
		r = err->code;
		goto out;
	}
	memset(&head, 0, sizeof(head));
	for (i = 0; i < n && !cut; i++) {
		fd = seg_open(log, segs[i], dry ? O_RDONLY : O_RDWR, &sh, &size,
			      &unsup, err);
		if (fd < 0 && unsup) {
			/* never cut what a newer evlog wrote */
			r = err->code;
			goto out;
		}
		if (fd < 0) {
			if (i == n - 1 && i > 0 &&
			    !(flags & EV_REPAIR_TRUNCATE_DAMAGED)) {
				char m[sizeof(err->msg)];
				snprintf(m, sizeof(m), "%s", err->msg);
				r = ev_seterr(err, EV_EDATA, "%s", m);
				ev_setremedy(err, EV_REMEDY_TRUNCATE_SEGMENT,
					     log->path);
				goto out;
			}
			if (!(flags & EV_REPAIR_TRUNCATE_DAMAGED)) {
				r = err->code;
				ev_setremedy(err, EV_REMEDY_TRUNCATE_DAMAGED,
					     log->path);
				goto out;
			}
			if (i == 0) {
				/* the first segment: a new one in its
				 * place, with a gap for what it held */
				uint64_t end;
				if (!lost_segment_end(segs, 0, n, have_old,
						      &oldhead, &end))
					end = segs[0];
				if (dry) {
					ev_say(notice, ctx,
					       "would move segment %020llu to "
					       "lost+found/ and start it anew "
					       "(%s)",
					       (unsigned long long)segs[0],
					       err->msg);
					if (end > segs[0]) {
						ev_say(notice, ctx,
						       "would put a gap in its "
						       "place: %s lost (%llu %s)",
						       ev_offsets_text(
							       otext,
							       sizeof(otext),
							       segs[0],
							       end - 1),
						       (unsigned long long)(end -
									    segs[0]),
						       ev_plural(end - segs[0],
								 "event",
								 "events"));
						gaps++;
					}
					next = end;
					head.seg_base = segs[0];
					head.end = EV_SEGHDR_SIZE +
						   (end > segs[0]
							    ? EV_BATCHHDR_SIZE
							    : 0);
					head.next = end;
					head.max_time = EV_TIME_NONE;
					head.last_index = EV_SEGHDR_SIZE;
					head.checked = head.end;
					continue;
				}
				if (renewed++) {
					r = err->code;
					goto out;
				}
				if ((r = renew_first_segment(log, segs[0], end,
							     &dropped, notice,
							     ctx, err)) != 0)
					goto out;
				gaps += end > segs[0];
				i--;
				continue;
			}
			cut = 1;
			if (dry)
				say_moves(segs, i, n, have_old, &oldhead,
					  notice, ctx);
			else if ((r = move_segments_to_lost(log, segs, i, n,
							    notice, ctx,
							    err)) != 0)
				goto out;
			n = i;
			break;
		}
		if (i > 0 && segs[i] != next) {
			r = vfail(err, segs[i], next, 0,
				  "segment does not continue the offsets");
			if (!(flags & EV_REPAIR_TRUNCATE_DAMAGED)) {
				ev_setremedy(err, EV_REMEDY_TRUNCATE_DAMAGED,
					     log->path);
				goto out;
			}
			r = 0;
			close(fd);
			fd = -1;
			if (dry)
				say_moves(segs, i, n, have_old, &oldhead,
					  notice, ctx);
			else if ((r = move_segments_to_lost(log, segs, i, n,
							    notice, ctx,
							    err)) != 0)
				goto out;
			n = i;
			break;
		}
		pos = EV_SEGHDR_SIZE;
		next = segs[i];
		max_time = EV_TIME_NONE;
		/* the durable bytes: all of a segment before the head's,
		 * none of one after it */
		durable = !have_old			? UINT64_MAX
			  : segs[i] < oldhead.seg_base	? UINT64_MAX
			  : segs[i] == oldhead.seg_base ? oldhead.end
							: 0;
		while (pos < size) {
			rr = ev_segment_read_batch(fd, pos, size, sh.salt, &h,
						   &stored, &why);
			if (rr == EV_EIO) {
				r = ev_seterr(err, EV_EIO, "cannot read: %s",
					      why);
				goto out;
			}
			if (rr == 0 && h.base != next) {
				rr = EV_EDATA;
				why = "batch offset does not continue the log";
			}
			if (rr == 0 && !ev_batch_is_gap(&h) &&
			    (ev_codec_decode(codec, &h, stored.p, &raw, &why) !=
				     0 ||
			     ev_payload_check(raw.p, raw.len, h.count, &why) !=
				     0))
				rr = EV_EDATA;
			/* only durable bytes are worth a gap: an
			 * interrupted writer's are cut as before */
			if (rr != 0 && pos < durable) {
				uint64_t at, nb;
				int found = resync(fd, pos, size, sh.salt, next,
						   &at, &nb);
				if (!found && i + 1 < n && segs[i + 1] > next)
					found = 1;
				if (found &&
				    !(flags & EV_REPAIR_TRUNCATE_DAMAGED)) {
					r = vfail(err, segs[i], next, pos, why);
					ev_setremedy(err, EV_REMEDY_GAP_HERE,
						     log->path);
					goto out;
				}
			}
			if (rr != 0 && pos < durable &&
			    (flags & EV_REPAIR_TRUNCATE_DAMAGED)) {
				/* lose only the damaged batch: a gap up to
				 * the next valid one, or to the next
				 * segment */
				uint64_t at, nb;
				int found = resync(fd, pos, size, sh.salt, next,
						   &at, &nb);
				if (!found && i + 1 < n && segs[i + 1] > next &&
				    size - pos >= EV_BATCHHDR_SIZE) {
					found = 1;
					at = size;
					nb = segs[i + 1];
				}
				if (found && nb - next <= UINT32_MAX &&
				    at - pos - EV_BATCHHDR_SIZE <= UINT32_MAX) {
					if (dry)
						ev_say(notice, ctx,
						       "would replace the damaged "
						       "bytes %llu to %llu of segment "
						       "%020llu with a gap: %s (%s)",
						       (unsigned long long)pos,
						       (unsigned long long)(at -
									    1),
						       (unsigned long long)
							       segs[i],
						       ev_offsets_text(
							       otext,
							       sizeof(otext),
							       next, nb - 1),
						       why);
					else if (
						!dropped &&
						(dropped =
							 ev_state_drop_snapshots(
								 log, err)) <
							0) {
						r = err->code;
						goto out;
					} else if ((r = put_gap(log, fd,
								segs[i],
								sh.salt, pos,
								at, next,
								nb - 1, notice,
								ctx, err)) != 0)
						goto out;
					gaps++;
					next = nb;
					pos = at;
					continue;
				}
			}
			if (rr != 0)
				break;
			if (max_time == EV_TIME_NONE || h.max_time > max_time)
				max_time = h.max_time;
			next = h.base + h.count;
			pos += EV_BATCHHDR_SIZE + h.stored_len;
		}
		if (pos < size) {
			int later = i + 1 < n ||
				    ev_segment_valid_after(fd, pos + 1, size,
							   sh.salt);
			if (!later) {
				ev_say(notice, ctx,
				       "%s a torn tail of %llu bytes at byte %llu of "
				       "segment %020llu",
				       dry ? "would truncate" : "truncated",
				       (unsigned long long)(size - pos),
				       (unsigned long long)pos,
				       (unsigned long long)segs[i]);
				if (!dry && (ftruncate(fd, (off_t)pos) != 0 ||
					     fdatasync(fd) != 0)) {
					r = ev_seterr_errno(err, EV_EIO, errno,
							    "cannot truncate");
					goto out;
				}
			} else if (!(flags & EV_REPAIR_TRUNCATE_DAMAGED)) {
				r = vfail(err, segs[i], next, pos, why);
				ev_setremedy(err, EV_REMEDY_TRUNCATE_HERE,
					     log->path);
				goto out;
			} else {
				cut = 1;
				if (!dry) {
					r = cut_segment(log, fd, segs[i], pos,
							size, notice, ctx, err);
					if (r != 0)
						goto out;
					r = move_segments_to_lost(log, segs,
								  i + 1, n,
								  notice, ctx,
								  err);
					if (r != 0)
						goto out;
				} else {
					ev_say(notice, ctx,
					       "would move %llu bytes of segment %020llu "
					       "from byte %llu, and %zu later segments, "
					       "to lost+found/",
					       (unsigned long long)(size - pos),
					       (unsigned long long)segs[i],
					       (unsigned long long)pos,
					       n - i - 1);
				}
				n = i + 1;
			}
		}
		/* a missing segment after this one, or one whose header
		 * is damaged, becomes a gap at the end of this one: the
		 * segments after it stay in the log */
		while (!cut && (flags & EV_REPAIR_TRUNCATE_DAMAGED) &&
		       i + 1 < n && pos == size && segs[i + 1] >= next) {
			struct ev_seghdr sh2;
			struct ev_error e2;
			uint64_t end, s2;
			int fd2, unsup2, missing = segs[i + 1] > next;
			char whyseg[sizeof(e2.msg)];

			if (missing) {
				end = segs[i + 1];
				if (end - next > UINT32_MAX)
					break;
				snprintf(whyseg, sizeof(whyseg),
					 "no segment holds them");
			} else {
				fd2 = seg_open(log, segs[i + 1], O_RDONLY, &sh2,
					       &s2, &unsup2, &e2);
				if (fd2 >= 0)
					close(fd2);
				if (fd2 >= 0 || unsup2 ||
				    !lost_segment_end(segs, i + 1, n, have_old,
						      &oldhead, &end))
					break;
				snprintf(whyseg, sizeof(whyseg), "%s", e2.msg);
			}
			if (end > next && dry)
				ev_say(notice, ctx,
				       "would put a gap at the end of segment "
				       "%020llu: %s lost (%llu %s; %s)",
				       (unsigned long long)segs[i],
				       ev_offsets_text(otext, sizeof(otext),
						       next, end - 1),
				       (unsigned long long)(end - next),
				       ev_plural(end - next, "event", "events"),
				       whyseg);
			if (end > next && !dry) {
				if (!dropped &&
				    (dropped = ev_state_drop_snapshots(log,
								       err)) <
					    0) {
					r = err->code;
					goto out;
				}
				if ((r = append_gap(log, fd, segs[i], sh.salt,
						    pos, next, end - 1, err)) !=
				    0)
					goto out;
				ev_say(notice, ctx,
				       "put a gap at the end of segment "
				       "%020llu: %s lost (%llu %s; %s)",
				       (unsigned long long)segs[i],
				       ev_offsets_text(otext, sizeof(otext),
						       next, end - 1),
				       (unsigned long long)(end - next),
				       ev_plural(end - next, "event", "events"),
				       whyseg);
			}
			if (end > next) {
				gaps++;
				pos += EV_BATCHHDR_SIZE;
				size = pos;
				next = end;
			}
			if (!missing) {
				if (dry)
					ev_say(notice, ctx,
					       "would move segment %020llu to "
					       "lost+found/",
					       (unsigned long long)segs[i + 1]);
				else if ((r = move_to_lost(log, segs[i + 1],
							   notice, ctx, err)) !=
					 0)
					goto out;
				memmove(segs + i + 1, segs + i + 2,
					(n - i - 2) * sizeof(*segs));
				n--;
			}
		}
		if (!dry && fdatasync(fd) != 0) {
			r = ev_seterr_errno(err, EV_EIO, errno,
					    "cannot sync segment %020llu",
					    (unsigned long long)segs[i]);
			goto out;
		}
		{
			int changed = 0;
			uint64_t li;
			if (ev_index_rebuild_ex(log, segs[i], sh.salt, pos, &li,
						NULL, dry, &changed,
						err) != 0) {
				r = err->code;
				goto out;
			}
			if (!dry)
				last_index = li;
			if (changed)
				ev_say(notice, ctx,
				       "%s the indexes of segment %020llu",
				       dry ? "would rebuild" : "rebuilt",
				       (unsigned long long)segs[i]);
		}
		head.seg_base = segs[i];
		head.end = pos;
		head.next = next;
		head.salt = sh.salt;
		head.max_time = max_time;
		/* a dry run does not rebuild the index: keep what the head says
		 */
		head.last_index = !dry	     ? last_index
				  : have_old ? oldhead.last_index
					     : EV_SEGHDR_SIZE;
		/* the recovery point: every batch up to pos is checked, and
		 * synced (a dry run writes no head) */
		head.checked = pos;
		close(fd);
		fd = -1;
	}
	if (n == 0) {
		r = ev_seterr(err, EV_EDATA, "log has no usable segment");
		goto out;
	}
	/* a recovery point that moved alone changes no event */
	if (have_old)
		oldhead.checked = head.checked;
	if (!dry &&
	    (!have_old || memcmp(&oldhead, &head, sizeof(head)) != 0 || gaps) &&
	    ev_state_bump_epoch(log, err) != 0) {
		/* writers that hold the state in memory must reload it: a
		 * gap takes events from its counts too */
		r = err->code;
		goto out;
	}
	if (!dry) {
		/* in place, as writers do: a running writer keeps the file open
		 */
		int hfd;
		ev_head_encode(hb, &head);
		hfd = ev_openat(log->dirfd, "head", O_RDWR | O_CREAT, 0644);
		if (hfd < 0 || ev_write_full(hfd, hb, sizeof(hb), 0) != 0 ||
		    ftruncate(hfd, sizeof(hb)) != 0 || fsync(hfd) != 0 ||
		    ev_fsync_dir(log->dirfd) != 0) {
			r = ev_seterr_errno(err, EV_EIO, errno,
					    "cannot write '%s/head'",
					    log->path);
			if (hfd >= 0)
				close(hfd);
			goto out;
		}
		close(hfd);
	}
	if (!have_old || memcmp(&oldhead, &head, sizeof(head)) != 0)
		ev_say(notice, ctx, "%s the head: %llu %s, next offset %llu",
		       dry ? "would rewrite" : "rewrote",
		       (unsigned long long)(head.next - segs[0]),
		       ev_plural(head.next - segs[0], "event", "events"),
		       (unsigned long long)head.next);
	/* the stream and dedupe state, from the events as they now are,
	 * when its snapshot no longer fits them (a cut log) or is damaged */
	{
		struct ev_error e2;
		snap = ev_state_snapshot_status(log,
						dry ? head.next : UINT64_MAX,
						&e2);
	}
	/* a gap loses events that the snapshots count (the repair
	 * removed them before it made one) */
	if (gaps > 0 && (dry ? snap == 1 : dropped == 1))
		snap = 2;
	if (snap != 2) {
		/* none (writers make one), or good */
	} else if (dry) {
		ev_say(notice, ctx,
		       "would rebuild the stream and dedupe state");
	} else {
		struct ev_state *st;
		ev_notice_fn keep = log->notice;
		unlinkat(log->dirfd, "state/streams", 0);
		unlinkat(log->dirfd, "state/ids", 0);
		/* the gaps the replay passes over were reported above */
		log->notice = NULL;
		rr = ev_state_load(&st, log, 1, err);
		log->notice = keep;
		if (rr != 0 || ev_state_snapshot(st, err) != 0) {
			r = err->code;
			if (st != NULL)
				ev_state_free(st);
			goto out;
		}
		ev_say(notice, ctx,
		       "rebuilt the stream and dedupe state: %llu "
		       "streams",
		       (unsigned long long)ev_state_stream_count(st));
		ev_state_free(st);
	}
	/* the correlation index, a cache, from the events as they now are
	 * (evlog(5) CORRELATION INDEX) */
	if (log->cfg.correlation_index || ev_corrindex_exists(log)) {
		struct ev_corrindex_stats cs;
		ev_notice_fn keep = log->notice;
		if (dry) {
			ev_say(notice, ctx,
			       "would rebuild the correlation index");
		} else {
			log->notice = NULL;
			rr = ev_corrindex_rebuild(log, &cs, err);
			log->notice = keep;
			if (rr != 0) {
				r = rr;
				goto out;
			}
			ev_say(notice, ctx,
			       "rebuilt the correlation index: %llu %s",
			       (unsigned long long)cs.scanned,
			       ev_plural(cs.scanned, "event", "events"));
		}
	}
	r = repair_groups(log, dry, notice, ctx, err);
out:
	if (dry && saved) {
		memcpy(log->id, saved_id, sizeof(saved_id));
		memcpy(log->id_hex, saved_id_hex, sizeof(saved_id_hex));
		log->created = saved_created;
		log->cfg = saved_cfg;
	}
	if (fd >= 0)
		close(fd);
	if (lockfd >= 0)
		close(lockfd);
	free(segs);
	ev_buf_free(&stored);
	ev_buf_free(&raw);
	ev_codec_free(codec);
	return r;
}

void ev_log_repair_advice(struct ev_log *log, struct ev_error *err)
{
	struct ev_error e;
	enum ev_remedy rem = EV_REMEDY_VERIFY;

	if (err->remedy != EV_REMEDY_REPAIR &&
	    err->remedy != EV_REMEDY_VERIFY_REPAIR)
		return;
	/* what the repair would do, were it run now: the advice is the
	 * command that works, never one that refuses */
	if (ev_log_repair(log, EV_REPAIR_DRY_RUN, NULL, NULL, &e) == 0)
		rem = EV_REMEDY_VERIFY_REPAIR;
	else if (ev_log_repair(log,
			       EV_REPAIR_DRY_RUN | EV_REPAIR_TRUNCATE_DAMAGED,
			       NULL, NULL, &e) == 0)
		rem = EV_REMEDY_VERIFY_REPAIR_TRUNCATE;
	ev_setremedy(err, rem, log->path);
}
