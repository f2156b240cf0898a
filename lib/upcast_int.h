/*
 * upcast_int.h - the insides of struct ev_upcaster that its files share:
 * upcast.c (what callers do per record, and the counting of --check),
 * upcast_load.c and upcast_parse.c (a set loaded from its files and
 * checked), upcast_run.c and upcast_tree.c (the general path: an event
 * upcast as a tree), upcast_plan.c (the fast path: a chain's
 * declarative steps compiled into one plan, run over a record's bytes)
 * and upcast_val.c (what both paths use: the arena, the chain tables,
 * the operations on one value).  Nothing else includes it, but the unit
 * tests.
 */
#ifndef EVLOG_UPCAST_INT_H
#define EVLOG_UPCAST_INT_H

#include <stddef.h>

#include "arena.h"
#include "evlog_private.h"
#include "mpskip_int.h"
#include "rahook_int.h"

enum op_kind {
	OP_SET,
	OP_DEFAULT,
	OP_MOVE,
	OP_COPY,
	OP_REMOVE,
	OP_MAP,
	OP_SCALE,
	OP_TONUMBER,
	OP_TOSTRING,
	OP_RETYPE,
	OP_SPLIT,
	OP_DROP,
};

struct path {
	char *text; /* as written */
	struct ev_str *seg;
	int n;
	int *kid; /* upcast_plan.c: each segment's key, from 1 (u->pkeys) */
};

struct mapent {
	const uint8_t *from, *to;
	size_t from_n, to_n;
};

struct chain;
struct up_plan;

struct op {
	enum op_kind kind;
	const char *name; /* as written: "rename" */
	unsigned line;
	struct path a, b;
	struct ev_buf val; /* set/default: the value; map: the table and
			    * the else value; scale: the factor */
	size_t else_at;	   /* map: where the else value begins, or 0 */
	struct mapent *map;
	size_t nmap;
	int factor_int, round;
	int64_t ifactor;
	double factor;
	char *type; /* retype */
	size_t type_n;
};

struct step {
	uint64_t from;
	const struct chain *chain;
	const char *file;
	unsigned line;
	size_t seq; /* load order */
	struct op *ops;
	size_t nops, cap;
	int is_lua, lua_ref;
};

struct chain {
	char *type;
	size_t type_n;
	const char *file; /* where it is first named */
	unsigned line;
	uint64_t min, max;
	struct step **steps; /* by version once checked: steps[v - min] */
	size_t nsteps, cap;
	struct up_plan **plans; /* by version: plans[v - min], or NULL */
	int no_plan;		/* plans has none whole */
	int part_plan;		/* plans has one of a part (a Lua step) */
};

struct cslot {
	char *type; /* NULL: free */
	size_t type_n;
	uint64_t version;
	uint64_t upcast, unchanged, failed;
};

struct ev_upcaster {
	struct chain **chains; /* in the order they appear */
	size_t nchains;
	struct chain **tab; /* by type, open addressing */
	size_t tab_cap;
	struct chain **qtab; /* the same, loaded, by a quicker hash */
	size_t qmask;
	char **files;
	size_t nfiles;
	size_t nsteps;
	struct ev_lua *lua;
	const volatile sig_atomic_t *stop; /* ev_upcaster_set_stop() */
	/* one apply */
	struct ev_arena arena;
	struct ev_buf out, tmp, dbuf, mbuf;
	size_t *ends;
	size_t nrec, ends_cap;
	const uint8_t *same; /* the record, unchanged */
	size_t same_n;
	struct ev_rec at; /* the record's place (not its bytes), as read */
	const struct step *f_step;
	const struct op *f_op;
	struct ev_str f_type; /* no step: the event's type and version */
	uint64_t f_version;
	char why[512];
	struct ev_upcast_failure last;
	int damaged;		   /* the last record applied did not decode */
	const struct chain *run_c; /* the chain of run_type, for
				    * ev_upcast_run() */
	struct ev_str run_type;
	const struct chain *hint; /* the chain ev_upcaster_wants() found */
	const char *hint_type;
	/* counting */
	int counting;
	struct cslot *cs;
	size_t cs_cap, cs_used;
	struct ev_upcast_count *rows;
	struct ev_upcast_failure kept[EV_UPCAST_FAILURES_KEPT];
	size_t nkept;
	uint64_t nfailed;
	/* the fast path (upcast_plan.c) */
	int plans_off;	      /* ev_upcaster_set_plans(u, 0) */
	struct ev_str *pkeys; /* every key a plan's paths name below data
			       * and meta */
	size_t npkeys;
	uint64_t plens;	     /* bit n & 63 for a key of n bytes */
	uint64_t plen1[256]; /* the same for the keys that begin with c */
	int pfirst[256];     /* the last key that begins with byte c, or 0 */
	int *pnext;	     /* pnext[k - 1]: the key before k with its byte */
	uint64_t plan_runs, plan_falls; /* applies it did, and gave back */
	/* a worker's (ev_upcaster_worker()): the set is another's */
	int borrowed;
	int want_part; /* ev_upcaster_prefix(): the plans of a part only */
	int lua_set;   /* the set has Lua steps */
};

/*
 * upcast_val.c: what both paths share.  The arena of one apply (reset
 * by every apply); the chains by type (ev_upcast_chain_slot(): the
 * table they are loaded into; ev_upcast_make_qtab(): the quicker one
 * ev_upcast_find_chain() looks in once they are); a failure's message
 * into u->why (EV_EDATA; EV_ERR out of memory); what a value is, for
 * messages ("a string"); and map, scale, tonumber or tostring (op) on
 * the value *p, *n: 0 with the new value in *p, *n (in the arena), or
 * a failure.  kind is NULL, or what the value is when it is an object
 * or an array opened in a tree ("an object").
 */
void *ev_upcast_dup(struct ev_upcaster *u, const void *p, size_t n);

/*
 * Both paths write a record the same way (evlog(5) RECORDS): its map
 * header of count fields, then the fields up to data, as put_head()
 * writes them from the parts of an event (time_raw as read, else time),
 * at most EV_UPCAST_HEAD_NEED(h) bytes; then data, meta and prev, and
 * ev_upcast_push_end() ends the record at o: 0, 1 when it is over
 * EV_MAX_RECORD bytes from start, or -1 out of memory.
 */
struct ev_upcast_head {
	const struct ev_str *id, *type, *stream,
		*key; /* stream, key: or NULL */
	uint64_t version, schema;
	const uint8_t *time_raw;
	size_t time_raw_n;
	ev_time_t time;
};
#define EV_UPCAST_HEAD_NEED(h)                                               \
	(3 * 6 + (h)->id->n + (h)->type->n +                                 \
	 ((h)->stream ? (h)->stream->n : 0) + ((h)->key ? (h)->key->n : 0) + \
	 16 + 2 * 10 + 6)

static inline uint8_t *ev_upcast_put_str(uint8_t *o, const struct ev_str *s)
{
	if (s->n < 32)
		*o++ = (uint8_t)(0xa0 | s->n);
	else
		o = ev_mp_str_hdr(o, s->n);
	memcpy(o, s->p, s->n);
	return o + s->n;
}

static inline uint8_t *ev_upcast_put_head(uint8_t *o, unsigned count,
					  const struct ev_upcast_head *h)
{
	*o++ = (uint8_t)(0x80 | count);
	*o++ = EV_K_ID;
	o = ev_upcast_put_str(o, h->id);
	*o++ = EV_K_TYPE;
	o = ev_upcast_put_str(o, h->type);
	if (h->stream != NULL) {
		*o++ = EV_K_STREAM;
		o = ev_upcast_put_str(o, h->stream);
	}
	if (h->version != 0) {
		*o++ = EV_K_VERSION;
		o = ev_mp_uint(o, h->version);
	}
	*o++ = EV_K_TIME;
	if (h->time_raw != NULL) {
		memcpy(o, h->time_raw, h->time_raw_n);
		o += h->time_raw_n;
	} else {
		o = ev_mp_time(o, h->time);
	}
	if (h->schema > 1) {
		*o++ = EV_K_SCHEMA;
		o = ev_mp_uint(o, h->schema);
	}
	if (h->key != NULL) {
		*o++ = EV_K_KEY;
		o = ev_upcast_put_str(o, h->key);
	}
	return o;
}
int ev_upcast_push_end(struct ev_upcaster *u, uint8_t *o, size_t start);

/* n bytes of the arena of one apply */
static inline void *ev_upcast_alloc(struct ev_upcaster *u, size_t n)
{
	return ev_arena_alloc(&u->arena, n);
}
struct chain **ev_upcast_chain_slot(struct chain **tab, size_t cap,
				    const char *type, size_t n);
int ev_upcast_make_qtab(struct ev_upcaster *u);
struct chain *ev_upcast_find_chain(const struct ev_upcaster *u,
				   const char *type, size_t n);
int ev_upcast_fail(struct ev_upcaster *u, const char *fmt, ...) EV_PRINTF(2, 3);
int ev_upcast_oom(struct ev_upcaster *u);
const char *ev_upcast_kind(const uint8_t *p, size_t n);
int ev_upcast_value_op(struct ev_upcaster *u, const struct op *op,
		       const char *kind, const uint8_t **p, size_t *n);

/*
 * The general path (upcast_run.c, upcast_tree.c) upcasts an event as a
 * light tree: its root holds data and meta, an object or an array is
 * opened into a node a level at a time, as a path goes through it, and
 * what is not opened is the record's own bytes.
 */
struct node;
struct val {
	const uint8_t *p; /* msgpack bytes, unless node */
	size_t n;
	struct node *node;
};
struct ent {
	const uint8_t *k; /* key text (maps) */
	size_t kn;
	struct val v;
	int gone;
	const uint8_t *raw; /* where it begins in the record (its key's
			     * header, or the element), or NULL: added */
};
struct node {
	int map;
	int dirty; /* changed: its bytes (in its val) are not it */
	struct ent *e;
	size_t n, cap;
};
struct wev {
	struct ev_str id, type, stream, key;
	ev_time_t time;
	const uint8_t *time_raw; /* its encoding in the record, if any */
	size_t time_raw_n;
	uint64_t version, schema, prev;
	struct node root; /* "data" and "meta" */
	int data_bin;	  /* data is the payload of a bin */
};

/*
 * upcast_tree.c: the tree.  What the value v is, for messages ("an
 * object"), and whether it is an object or an array (*map); the map or
 * array at *pp opened into a node of v, *pp moved past it; the path pa
 * walked (1 found: *ndp holds it at *ip; 0 absent; or a failure), with
 * create the objects on the way made; the value at pa got (1 with *v, 0
 * absent), set (the objects on the way made) or removed; v appended as
 * msgpack onto out; and one operation (not split or drop) done on w.
 */
const char *ev_upcast_kind_name(const struct val *v);
int ev_upcast_is_container(const struct val *v, int *map);
int ev_upcast_expand_at(struct ev_upcaster *u, const uint8_t **pp,
			const uint8_t *end, struct val *v);
int ev_upcast_walk(struct ev_upcaster *u, struct wev *w, const struct path *pa,
		   int create, struct node **ndp, long *ip);
int ev_upcast_get_path(struct ev_upcaster *u, struct wev *w,
		       const struct path *pa, int modify, struct val **v);
int ev_upcast_set_path(struct ev_upcaster *u, struct wev *w,
		       const struct path *pa, const struct val *v);
int ev_upcast_remove_path(struct ev_upcaster *u, struct wev *w,
			  const struct path *pa);
int ev_upcast_ser(struct ev_upcaster *u, struct ev_buf *out,
		  const struct val *v, int depth);
int ev_upcast_do_op(struct ev_upcaster *u, struct wev *w, const struct op *op);

/*
 * upcast_run.c: the record rec read into w, data and meta opened a
 * level (0; -1 when it is not a record, ev_event_decode() says why; or
 * EV_ERR); and w run through the rest of its chain from operation k of
 * step st (st NULL: the step for its type and schema), what comes out
 * written onto u->out.
 */
int ev_upcast_wev_parse(struct ev_upcaster *u, const uint8_t *rec, size_t n,
			struct wev *w);
int ev_upcast_run(struct ev_upcaster *u, struct wev *w, const struct step *st,
		  size_t k);

/* upcast_parse.c: a spec file, or a Lua step (TYPE.N.lua), into the
 * chains of u, as upcast_load.c reads a set. */
int ev_upcast_load_spec(struct ev_upcaster *u, const char *path,
			struct ev_error *err);
int ev_upcast_load_lua(struct ev_upcaster *u, const char *path,
		       struct ev_error *err);

/*
 * upcast_plan.c: every chain's plans, made once the set is checked.  A
 * plan is what the steps from one version do to an event, the chain
 * followed through retypes to its end, when every step is declarative
 * and does neither split nor fail for lack of a step; other versions
 * have none (the general path upcasts them).
 */
int ev_upcast_plans_make(struct ev_upcaster *u);
void ev_upcast_plans_free(struct ev_upcaster *u);
/*
 * Upcast rec with the plan of its chain c (found by its type) and
 * version, into u's records, as ev_upcaster_apply() does: the number of
 * records (0: dropped; 1: in u->out, or u->same when c has no step for
 * it), or EV_UPCAST_GIVE_UP when the plan cannot tell (no plan, a
 * record it does not take, a step that fails, a value it does not
 * handle): u is then to be reset and the general path run.  Where it
 * gives a result, it is byte for byte the general path's.
 */
/* EV_UPCAST_GIVE_UP: evlog_private.h */
int ev_upcast_plan_apply(struct ev_upcaster *u, const uint8_t *rec, size_t n,
			 int *changed);
/* upcast_plan.c: ev_event_peek_type(), the same answers, quicker */
int ev_upcast_peek_type(const uint8_t *rec, size_t n, struct ev_str *type);
/* For tests: 0 turns the fast path off (every apply is general). */
void ev_upcaster_set_plans(struct ev_upcaster *u, int on);

#endif
