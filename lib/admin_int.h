/*
 * admin_int.h - what the files behind evctl info, verify and repair
 * share: admin.c (ev_log_info, and the helpers the others share: a
 * segment opened and its header checked, the visible segments, meta
 * checked against the segments, a verify failure's message),
 * admin_verify.c (ev_log_verify and its checks), admin_fix.c (the steps
 * a repair takes: meta rewritten, group state files, segments cut, gaps
 * put, segments moved to lost+found, the first segment started anew)
 * and admin_repair.c (ev_log_repair, which takes them, and
 * ev_log_repair_advice).  Calls go one way: admin_repair.c to
 * admin_fix.c, and it and admin_verify.c to admin.c; never back up.
 */
#ifndef EVLOG_ADMIN_INT_H
#define EVLOG_ADMIN_INT_H

#include <stddef.h>
#include <stdint.h>

#include "evlog_private.h"

/* What the segments tell of a log's meta (evlog(5) Meta) */
struct segs_meta {
	uint8_t id[16];		/* the id every readable header names */
	size_t nid;		/* the headers that name it */
	int differ;		/* two readable headers name different ids */
	ev_time_t first_append; /* of the first batch, or EV_TIME_NONE */
	uint64_t largest;	/* bytes of the largest segment */
};

/* ---- admin.c */
int ev_adm_seg_open(struct ev_log *log, uint64_t base, int flags,
		    struct ev_seghdr *sh, uint64_t *size, int *unsupported,
		    struct ev_error *err);
int ev_adm_visible(struct ev_log *log, uint64_t **segs, size_t *n,
		   struct ev_head *head, int *have_head, struct ev_error *err);
int ev_adm_meta_check(struct ev_log *log, struct segs_meta *sm, char *why,
		      size_t whyn);
int ev_adm_vfail(struct ev_error *err, uint64_t base, uint64_t off,
		 uint64_t pos, const char *why);

/* ---- admin_fix.c */
int ev_adm_fix_meta(struct ev_log *log, const struct segs_meta *sm,
		    const char *why, int dry, ev_notice_fn notice, void *ctx,
		    struct ev_error *err);
int ev_adm_repair_groups(struct ev_log *log, int dry, ev_notice_fn notice,
			 void *ctx, struct ev_error *err);
int ev_adm_cut_segment(struct ev_log *log, int fd, uint64_t base, uint64_t from,
		       uint64_t size, ev_notice_fn notice, void *ctx,
		       struct ev_error *err);
int ev_adm_resync(int fd, uint64_t pos, uint64_t size, uint64_t salt,
		  uint64_t next, uint64_t *at, uint64_t *base);
int ev_adm_put_gap(struct ev_log *log, int fd, uint64_t segbase, uint64_t salt,
		   uint64_t pos, uint64_t end, uint64_t first, uint64_t last,
		   ev_notice_fn notice, void *ctx, struct ev_error *err);
int ev_adm_move_to_lost(struct ev_log *log, uint64_t base, ev_notice_fn notice,
			void *ctx, struct ev_error *err);
int ev_adm_move_segments_to_lost(struct ev_log *log, const uint64_t *segs,
				 size_t from, size_t n, ev_notice_fn notice,
				 void *ctx, struct ev_error *err);
int ev_adm_append_gap(struct ev_log *log, int fd, uint64_t segbase,
		      uint64_t salt, uint64_t at, uint64_t first, uint64_t last,
		      struct ev_error *err);
int ev_adm_lost_segment_end(const uint64_t *segs, size_t i, size_t n,
			    int have_old, const struct ev_head *oldhead,
			    uint64_t *end);
void ev_adm_say_moves(const uint64_t *segs, size_t from, size_t n, int have_old,
		      const struct ev_head *oldhead, ev_notice_fn notice,
		      void *ctx);
int ev_adm_renew_first_segment(struct ev_log *log, uint64_t base, uint64_t end,
			       int *dropped, ev_notice_fn notice, void *ctx,
			       struct ev_error *err);

#endif
