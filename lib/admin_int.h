/*
 * admin_int.h - what the files behind evctl info, verify and repair
 * share: admin.c (ev_log_info, and the helpers the others share: a
 * segment opened and its header checked, the visible segments, meta
 * checked against the segments, a verify failure's message),
 * admin_verify.c (ev_log_verify and its checks) and admin_repair.c
 * (ev_log_repair with its steps, and ev_log_repair_advice).  Calls go
 * one way: admin_verify.c and admin_repair.c to admin.c; never back up.
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

#endif
