/*
 * schemacompat_int.h - what the files of the schema compatibility check
 * share: the DOM (struct jv), views, the writer's summary (struct wsum),
 * the state of a comparison (struct cmp) and the issues found (struct
 * ev_compat).  Calls go one way: schemacompat.c to schemacompat_walk.c to
 * schemacompat_rules.c to schemacompat_view.c to schemacompat_dom.c, each
 * also to any below it; never back up.
 */
#ifndef EVLOG_SCHEMACOMPAT_INT_H
#define EVLOG_SCHEMACOMPAT_INT_H

#include <stddef.h>
#include <stdint.h>

#include "evlog_private.h"
#include "jschema_int.h"

/* ------------------------------------------------------------ the DOM */

enum jt { J_NULL, J_BOOL, J_INT, J_UINT, J_FLOAT, J_STR, J_ARR, J_OBJ };

struct jdoc;

struct jv {
	enum jt t;
	union {
		int b;
		int64_t i;
		uint64_t u;
		double f;
	} v;
	char *s;	       /* J_STR: NUL-terminated (may hold NULs: n) */
	uint32_t n;	       /* J_STR bytes, J_ARR/J_OBJ count */
	struct jv *a;	       /* items, or member values */
	char **k;	       /* member keys */
	uint32_t *kn;	       /* member key lengths */
	char *path;	       /* JSON pointer from the document root */
	struct jdoc *doc;      /* the document it is in */
	struct ev_ecmare **re; /* patternProperties: its keys compiled */
	const uint8_t *mp;     /* the value's msgpack bytes */
	size_t mpn;
	int embedded; /* inside a subschema with its own $id: "#..." refs
			 there are not the document's */
};

struct jdoc {
	struct jv root;
	int is_new;
	int draft7; /* $ref ignores its siblings (draft-07 and before) */
};

/* one arena per comparison: every node, string and path */
struct arena_blk {
	struct arena_blk *next;
	size_t used, cap;
	char mem[];
};

struct arena {
	struct arena_blk *head;
	int oom;
	const char *dup_path, *dup_key; /* an object with a key twice */
};

/* the values of an enum, for membership in O(1) */
struct vset {
	const struct jv **slot;
	uint64_t *hash;
	size_t mask;
};

/* -------------------------------------------------------------- results */

struct ev_compat {
	struct ev_compat_issue *v;
	size_t n, cap, failures;
	int oom;
};

/* ------------------------------------------------------------ the walk */

#define VIEW_MAX 64	   /* nodes in one conjunction */
#define STACK_MAX 128	   /* nested comparisons */
#define BUDGET 200000	   /* comparisons in all */
#define SPLIT_MAX 64	   /* writer branches tried per comparison */
#define FINITE_MAX 4000000 /* enum values taken as a finite writer */

struct view {
	const struct jv *n[VIEW_MAX];
	unsigned char split[VIEW_MAX]; /* anyOf/oneOf already split */
	size_t len;
	int is_false;
	int overflow;
	int tmask; /* the types it is restricted to (T_ALL: none) */
};

struct frame {
	const struct view *w, *r;
};

struct cmp {
	struct ev_compat *res;
	struct arena *ar;
	int reader_is_new;
	int silent; /* > 0: trying; count failures, record nothing */
	size_t silent_fail;
	size_t silent_warn; /* warnings seen while trying */
	struct frame stack[STACK_MAX];
	size_t depth;
	long budget;
	/* both documents compiled by the validator (NULL when they do not
	 * compile on their own, e.g. with remote refs): finite writers are
	 * judged by validating their values */
	struct ev_jschema_set *set[2]; /* old, new */
	struct ev_jschema_ctx *jcx;
	const struct jv *eq_stack[2 * STACK_MAX]; /* schema_equal() pairs */
	size_t eq_depth;
};

#define RD(cx) ev_sc_side(cx, 1)
#define WR(cx) ev_sc_side(cx, 0)

/* ------------------------------------------------------------ types */

enum {
	T_NULL = 1,
	T_BOOL = 2,
	T_OBJ = 4,
	T_ARR = 8,
	T_STR = 16,
	T_INT = 32,
	T_FRAC = 64, /* numbers that are not integers */
	T_ALL = 127,
	T_NUM = T_INT | T_FRAC,
};

/* ------------------------------------------------------ the writer side */

/* What the writer's conjunction allows, gathered from its nodes. */
struct wsum {
	int types;
	const struct jv **vals; /* a finite writer: its values (malloc'd) */
	size_t nvals;
	int finite;
	int huge; /* an enum too large to take as finite */
};

#define SET_MIN 16 /* enum values from which membership is by hash set */

/* schemacompat_dom.c: the DOM built, read and compared; local refs resolved */
void *ev_sc_arena_alloc(struct arena *ar, size_t n);
void ev_sc_arena_free(struct arena *ar);
int ev_sc_build(struct arena *ar, struct jdoc *doc, struct jv *v,
		const uint8_t **p, const uint8_t *end, const char *path,
		int depth);
void ev_sc_mark_embedded(struct jv *v, int flag, int root, int depth);
struct jv *ev_sc_get(const struct jv *o, const char *key);
struct jv *ev_sc_getn(const struct jv *o, const char *key, size_t kn);
int ev_sc_is_num(const struct jv *v);
long double ev_sc_num(const struct jv *v);
int ev_sc_is_integral(const struct jv *v);
int ev_sc_jv_equal(const struct jv *a, const struct jv *b, int depth);
int ev_sc_vset_build(struct vset *s, const struct jv *arr);
int ev_sc_vset_has(const struct vset *s, const struct jv *v);
void ev_sc_vset_free(struct vset *s);
const struct jv *ev_sc_resolve_local(const struct jv *n, const char *ref);
const struct jv *ev_sc_ext_ref(const struct jv *n);

/* schemacompat_view.c: the issues recorded; views, types, the writer's summary,
 * oneOf disjointness */
const char *ev_sc_side(const struct cmp *cx, int reader);
/* Record an issue: rule_b when the reader is NEW (a backward break), rule_f
 * when it is OLD (forward); path into at's document, + "/" kw. */
void ev_sc_issue(struct cmp *cx, const char *rule_b, const char *rule_f,
		 int warning, const struct jv *at, const char *kw,
		 const char *fmt, ...) __attribute__((format(printf, 7, 8)));
void ev_sc_view_add(struct view *vw, const struct jv *s, int depth);
void ev_sc_view_reset(struct view *vw);
void ev_sc_view_of(struct view *vw, const struct jv *s);
int ev_sc_view_same(const struct view *a, const struct view *b);
int ev_sc_node_types(const struct jv *n);
int ev_sc_value_type(const struct jv *v);
void ev_sc_types_name(int m, char *out, size_t n);
void ev_sc_summarize(const struct view *w, struct wsum *s);
int ev_sc_one_branch(struct cmp *cx, const struct view *w, const struct jv *br,
		     uint32_t i, uint32_t *other);

/* schemacompat_rules.c: a reader node's keywords against the writer */
void ev_sc_check_numbers(struct cmp *cx, const struct view *w,
			 const struct wsum *ws, const struct jv *rn);
void ev_sc_check_count(struct cmp *cx, const struct view *w,
		       const struct jv *rn, const char *kw, int is_min,
		       const struct wsum *ws, int finite_kind);
int ev_sc_view_has_equal(struct cmp *cx, const struct view *w, const char *kw,
			 const struct jv *rv);
void ev_sc_check_same(struct cmp *cx, const struct view *w, const struct jv *rn,
		      const char *kw);
void ev_sc_check_cond(struct cmp *cx, const struct view *w,
		      const struct jv *rn);
void ev_sc_check_uneval(struct cmp *cx, const struct view *w,
			const struct jv *rn, const char *kw);
void ev_sc_check_contains(struct cmp *cx, const struct view *w,
			  const struct jv *rn);
void ev_sc_check_strings(struct cmp *cx, const struct view *w,
			 const struct wsum *ws, const struct jv *rn);
int ev_sc_check_finite(struct cmp *cx, const struct view *w,
		       const struct wsum *ws, const struct view *r);
void ev_sc_check_values(struct cmp *cx, const struct view *w,
			const struct wsum *ws, const struct jv *rn);
void ev_sc_check_types(struct cmp *cx, const struct wsum *ws,
		       const struct jv *rn);

/* schemacompat_walk.c: the walk */
int ev_sc_check_nodes(struct cmp *cx, const struct jv *ws, const struct jv *rs,
		      const char *rule_b, const char *rule_f,
		      const struct jv *at);

#endif
