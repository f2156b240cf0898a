/*
 * admin_repair.c - ev_log_repair, behind evctl repair: under the log
 * lock, meta, each segment batch by batch (cut, gapped or moved to
 * lost+found by admin_fix.c's steps, as the flags allow), the indexes,
 * the head, the stream and dedupe state, the correlation index and the
 * group state files; and ev_log_repair_advice, the repair a failed
 * check should advise.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "admin_int.h"

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
		int mc = ev_adm_meta_check(log, &sm, mwhy, sizeof(mwhy));
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
			if ((r = ev_adm_fix_meta(log, &sm, mwhy, dry, notice,
						 ctx, err)) != 0)
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
		fd = ev_adm_seg_open(log, segs[i], dry ? O_RDONLY : O_RDWR, &sh,
				     &size, &unsup, err);
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
				if (!ev_adm_lost_segment_end(segs, 0, n,
							     have_old, &oldhead,
							     &end))
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
				if ((r = ev_adm_renew_first_segment(
					     log, segs[0], end, &dropped,
					     notice, ctx, err)) != 0)
					goto out;
				gaps += end > segs[0];
				i--;
				continue;
			}
			cut = 1;
			if (dry)
				ev_adm_say_moves(segs, i, n, have_old, &oldhead,
						 notice, ctx);
			else if ((r = ev_adm_move_segments_to_lost(log, segs, i,
								   n, notice,
								   ctx, err)) !=
				 0)
				goto out;
			n = i;
			break;
		}
		if (i > 0 && segs[i] != next) {
			r = ev_adm_vfail(
				err, segs[i], next, 0,
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
				ev_adm_say_moves(segs, i, n, have_old, &oldhead,
						 notice, ctx);
			else if ((r = ev_adm_move_segments_to_lost(log, segs, i,
								   n, notice,
								   ctx, err)) !=
				 0)
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
				int found =
					ev_adm_resync(fd, pos, size, sh.salt,
						      next, &at, &nb);
				if (!found && i + 1 < n && segs[i + 1] > next)
					found = 1;
				if (found &&
				    !(flags & EV_REPAIR_TRUNCATE_DAMAGED)) {
					r = ev_adm_vfail(err, segs[i], next,
							 pos, why);
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
				int found =
					ev_adm_resync(fd, pos, size, sh.salt,
						      next, &at, &nb);
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
					} else if ((r = ev_adm_put_gap(
							    log, fd, segs[i],
							    sh.salt, pos, at,
							    next, nb - 1,
							    notice, ctx,
							    err)) != 0)
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
				r = ev_adm_vfail(err, segs[i], next, pos, why);
				ev_setremedy(err, EV_REMEDY_TRUNCATE_HERE,
					     log->path);
				goto out;
			} else {
				cut = 1;
				if (!dry) {
					r = ev_adm_cut_segment(log, fd, segs[i],
							       pos, size,
							       notice, ctx,
							       err);
					if (r != 0)
						goto out;
					r = ev_adm_move_segments_to_lost(log,
									 segs,
									 i + 1,
									 n,
									 notice,
									 ctx,
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
				fd2 = ev_adm_seg_open(log, segs[i + 1],
						      O_RDONLY, &sh2, &s2,
						      &unsup2, &e2);
				if (fd2 >= 0)
					close(fd2);
				if (fd2 >= 0 || unsup2 ||
				    !ev_adm_lost_segment_end(segs, i + 1, n,
							     have_old, &oldhead,
							     &end))
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
				if ((r = ev_adm_append_gap(log, fd, segs[i],
							   sh.salt, pos, next,
							   end - 1, err)) != 0)
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
				else if ((r = ev_adm_move_to_lost(log,
								  segs[i + 1],
								  notice, ctx,
								  err)) != 0)
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
	r = ev_adm_repair_groups(log, dry, notice, ctx, err);
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
