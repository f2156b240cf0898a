/*
 * fold_int.h - struct ev_fold: the built-in folds of evproject(1), their
 * groups and accumulators.  fold.c compiles the folds and applies them
 * to stored records, foldtab.c keeps the tables of groups and distinct
 * values, and foldout.c makes rows of them and saves and restores the
 * whole state.  Shared by those three only.
 */
#ifndef EVLOG_FOLD_INT_H
#define EVLOG_FOLD_INT_H

#include "evlog_private.h"

/* where a path starts: data or meta (then a dotted rest), or a field
 * of the envelope */
enum fp_field {
	FP_DATA,
	FP_META,
	FP_OFFSET,
	FP_ID,
	FP_TYPE,
	FP_STREAM,
	FP_VERSION,
	FP_TIME,
	FP_SCHEMA,
	FP_KEY,
};

/* A path that folds or keys read, compiled once; the folds and keys on
 * one path share it, and it is read once per record. */
struct fpath {
	char *text;
	enum fp_field field;
	char *rest;    /* after data. or meta.; NULL: the whole value */
	uint64_t seen; /* records that had a value there */
	int folded;    /* a fold reads it (not only a key) */
	/* the record being folded: its value (p NULL when absent or
	 * null), and the item at its head */
	const uint8_t *p;
	size_t n;
	struct ev_mp_item it;
	uint8_t syn[16]; /* an offset, or a default schema, encoded */
};

/* A value kept by an accumulator: a first, a last, a string bound, or
 * the record of the last event. */
struct vbox {
	uint8_t *p;
	uint32_t n, cap;
};

/* One fold of one group.  n is the events counted (count), the numbers
 * summed (sum, avg), the distinct values (distinct), and 1 once a first,
 * last or last event is kept. */
struct acc {
	__int128 isum; /* sum, avg: the integers, exactly */
	double fsum;   /* and the decimals */
	uint64_t n;
	uint8_t has_float; /* sum: a decimal was added */
	uint8_t has_num;   /* min, max: best holds a number */
	uint8_t has_str;   /* min, max: v holds the best string */
	uint8_t btype;	   /* best's EV_MP_UINT, EV_MP_INT or EV_MP_FLOAT */
	union {
		uint64_t u;
		int64_t i;
		double f;
	} best;
	struct vbox v;
	uint64_t off; /* last_event: its offset */
};

/* One fold, over every group: what it skipped, for the report. */
struct fold_spec {
	enum ev_fold_kind kind;
	int path; /* index into paths, or -1 */
	char *col;
	uint64_t nnum, nstr, nother;		    /* min, max: by kind */
	uint64_t first_num, first_str, first_other; /* their first offsets */
};

/* A key column: a path, or time buckets of every_ns. */
struct key_spec {
	int path; /* or -1 for time buckets */
	int64_t every_ns;
	char *col;
};

struct group {
	uint64_t hash;
	uint64_t key_off; /* its key tuple in keys */
	uint32_t key_len;
};

/* A slot of the table of groups: hash 0 is an empty one. */
#define SLOT_KEY 16
struct slot {
	uint64_t hash;
	uint32_t g, n;	       /* the group, its key's length */
	uint8_t key[SLOT_KEY]; /* the key, when that short */
};

/* A distinct value of a group's fold, in dvals. */
struct dent {
	uint64_t hash;
	uint32_t group, fold;
	uint64_t off;
	uint32_t len;
};

/*
 * A record on its way through the pipeline: its key and the values the
 * folds read, copied, so that its group can be looked up a record later
 * and folded into two records later, each after a prefetch: finding a
 * group among many is a cache miss, and so is its accumulator.
 */
#define FOLD_PIPE 4
struct pend {
	uint64_t hash, offset;
	long g;
	struct ev_buf key, vals; /* the values, then the record (last_event) */
	size_t *voff, *vlen;	 /* per path; vlen SIZE_MAX: absent */
	size_t rec_off, rec_len;
};

struct ev_fold {
	struct fpath *paths;
	size_t npaths;
	struct fold_spec *folds;
	size_t nfolds;
	struct key_spec *keys;
	size_t nkeys;
	char **cols; /* keys, then folds */
	struct ev_buf desc;
	int strict;
	unsigned need;	 /* envelope keys (1 << EV_K_*) the paths read */
	int max_key;	 /* the last of them */
	int need_time;	 /* time buckets */
	ev_time_t time;	 /* the record's, for them */
	uint64_t folded; /* records folded */
	/* groups: their key tuples end to end in karena; a table of indexes + 1
	 * into groups (0: empty) */
	struct group *groups;
	struct acc *accs; /* ngroups * nfolds */
	size_t ngroups, gcap;
	struct slot *slots;
	size_t nslots;
	struct ev_buf karena, kb;
	/* distinct values of every group and fold */
	struct dent *dents;
	size_t ndents, dcap;
	uint32_t *dslots;
	size_t ndslots;
	struct ev_buf dvals, vb;
	/* the pipeline: records pushed, looked up and folded so far */
	struct pend pipe[FOLD_PIPE];
	uint64_t pushed, looked, done;
	int need_rec; /* last_event keeps whole records */
};

/* foldtab.c: the group with key tuple k (n bytes, hash h), made when
 * missing: its index, or -1 out of memory. */
long ev_fold_group(struct ev_fold *f, const uint8_t *k, size_t n, uint64_t h);
/* foldtab.c: count v (n bytes) as a distinct value of group g's fold
 * i: 1 new, 0 seen, -1 out of memory. */
int ev_fold_distinct_add(struct ev_fold *f, uint32_t g, uint32_t i,
			 const uint8_t *v, size_t n);
/* foldtab.c: keep a copy of p (n bytes) in b: 0, or -1. */
int ev_vbox_set(struct vbox *b, const uint8_t *p, size_t n);
/* fold.c: back to having folded nothing, the definition kept. */
void ev_fold_reset(struct ev_fold *f);

#endif
