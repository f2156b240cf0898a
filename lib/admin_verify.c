/*
 * admin_verify.c - ev_log_verify, behind evctl verify: every batch and
 * record of the visible segments checked, the head, the index and
 * summary index files against the batches, the bytes past the durable
 * end, and the group state files.  It changes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "admin_int.h"

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

/* ------------------------------------------------------------ verify */

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
	if (ev_adm_visible(log, &segs, &n, &head, &have_head, err) != 0) {
		ev_codec_free(codec);
		return err->code;
	}
	{
		struct segs_meta sm;
		char mwhy[512];
		int mc = ev_adm_meta_check(log, &sm, mwhy, sizeof(mwhy));
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
		fd = ev_adm_seg_open(log, segs[i], O_RDONLY, &sh, &size, &unsup,
				     err);
		if (fd < 0) {
			r = err->code;
			goto out;
		}
		if (i > 0 && segs[i] != next) {
			r = ev_adm_vfail(
				err, segs[i], next, 0,
				"segment does not continue the offsets of the "
				"one before");
			goto out;
		}
		if (have_head && segs[i] == head.seg_base &&
		    sh.salt != head.salt) {
			/* readers and writers refuse it: so does verify */
			r = ev_adm_vfail(
				err, segs[i], segs[i], 0,
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
				r = ev_adm_vfail(
					err, segs[i], next, pos,
					shorter ? "batch cut short: the segment is "
						  "shorter than its durable end"
						: why);
				goto out;
			}
			if (h.base != next) {
				r = ev_adm_vfail(
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
					    ? ev_adm_vfail(err, segs[i], next,
							   pos, why)
					    : ev_seterr(err, rr, "%s", why);
				goto out;
			}
			p = raw.p;
			end = raw.p + raw.len;
			roff = h.base;
			for (k = 0; k < h.count && !ev_batch_is_gap(&h);
			     k++, roff++) {
				if (ev_payload_next(&p, end, &rec, &rn) != 0) {
					r = ev_adm_vfail(
						err, segs[i], roff, pos,
						"record framing is damaged");
					goto out;
				}
				if (ev_event_decode(rec, rn, &ev, &e2) != 0 ||
				    ev_event_check_deep(&ev, &e2) != 0) {
					r = ev_adm_vfail(err, segs[i], roff,
							 pos, e2.msg);
					goto out;
				}
				if (ev.time < h.min_time ||
				    ev.time > h.max_time) {
					r = ev_adm_vfail(
						err, segs[i], roff, pos,
						"event time outside its batch's "
						"time range");
					goto out;
				}
				rep->records++;
			}
			if (p != end) {
				r = ev_adm_vfail(
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
			r = ev_adm_vfail(
				err, segs[i], next, pos,
				"segment is shorter than its durable end");
			goto out;
		}
		if (have_head && segs[i] == head.seg_base) {
			if (next != head.next) {
				r = ev_adm_vfail(
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
					r = ev_adm_vfail(
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
