/*
 * jschema_priv.h - the compiled form of JSON Schema documents, shared by
 * the compiler (jschema_compile.c) and the validator (jschema_validate.c
 * and the files its top comment names).  Not for any other module.
 *
 * A set owns documents (their msgpack images), schema resources (by
 * absolute URI) and compiled nodes.  Every node is one schema object or
 * boolean, compiled once and keyed by the address of its msgpack value,
 * so that a JSON pointer reference and the ordinary walk reach the same
 * node.  A node keeps its keywords grouped by the instance type they
 * apply to, with property names in a hash table, so that validating a
 * typical object is one pass over its pairs.
 */
#ifndef JSCHEMA_PRIV_H
#define JSCHEMA_PRIV_H

#include <stdint.h>

#include "evlog.h"
#include "evlog_private.h"
#include "jschema_int.h"

/* a compiled node is the public struct ev_jschema */
#define jnode ev_jschema

/* instance types, as bits of a "type" mask */
enum {
	JT_NULL = 1,
	JT_BOOL = 2,
	JT_INT = 4, /* integers, and floats with no fraction */
	JT_NUM = 8, /* other numbers */
	JT_STR = 16,
	JT_ARR = 32,
	JT_OBJ = 64,
};

/* vocabularies (2019-09 and 2020-12 $vocabulary) */
enum {
	JV_CORE = 1,
	JV_APPLICATOR = 2,
	JV_UNEVAL = 4,
	JV_VALIDATION = 8,
	JV_FORMAT_ANN = 16,
	JV_FORMAT_ASSERT = 32,
	JV_CONTENT = 64,
	JV_META = 128,
	JV_ALL = 0xff & ~JV_FORMAT_ASSERT,
};

/* limits */
#define JS_MAX_SCHEMA_DEPTH 512 /* schema nesting (JSON levels) */
#define JS_MAX_EVAL_DEPTH 1000	/* runtime recursion, through $ref */
/* in-place nesting (chains of $ref, allOf...) a schema may have: half of
 * the runtime recursion, the rest is for the instance's nesting */
#define JS_MAX_REF_DEPTH (JS_MAX_EVAL_DEPTH / 2)
#define JS_MAX_INST_DEPTH EV_READ_DEPTH /* instance nesting */
/* node visits one validation may take; a schema whose in-place
 * applicators alone would take more does not compile */
#define JS_MAX_STEPS 10000000u

/* a number from a schema */
struct jnum {
	int kind; /* 0 int64 (i), 1 uint64 above INT64_MAX (u), 2 double */
	int64_t i;
	uint64_t u;
	double d;
	char text[40]; /* for messages */
};

struct jnode;
struct jres;

/* one named entry of an object schema: a property of "properties", a
 * required name, a dependentRequired / dependentSchemas key */
struct jprop {
	const char *name;
	uint32_t len;
	uint32_t hash;
	struct jnode *sub;	  /* properties/NAME, or NULL */
	int slot;		  /* bit in the seen mask, or -1 */
	int required;		  /* listed in "required" */
	struct jnode *dep_schema; /* dependentSchemas/NAME */
	const char **dep_req;	  /* dependentRequired/NAME */
	uint32_t *dep_req_len;
	uint32_t ndep_req;
	const char *dep_kw;	   /* "dependentRequired" or "dependencies" */
	const char *dep_schema_kw; /* "dependentSchemas" or "dependencies" */
};

struct jpattern {
	struct ev_ecmare *re;
	const char *src;
	uint32_t srclen;
	struct jnode *sub;
	const char *path; /* keyword path for messages */
};

struct jslot {
	uint32_t hash;
	uint32_t idx; /* index + 1 */
};

struct jobj {
	struct jprop *props;
	uint32_t nprops;
	struct jslot *tab; /* open addressing; idx 0 is empty */
	uint32_t tabmask;
	uint64_t reqmask;    /* slots of required names */
	uint64_t depmask;    /* slots of names with dependencies */
	int slots_overflow;  /* more than 64 slots: check by lookup */
	struct jpattern *pp; /* patternProperties */
	uint32_t npp;
	struct jnode *addl;   /* additionalProperties */
	struct jnode *pnames; /* propertyNames */
	struct jnode *uneval; /* unevaluatedProperties */
	int64_t minp, maxp;   /* -1 when absent */
	int has_props;	      /* "properties" present (for annotations) */
};

struct jarr {
	struct jnode **prefix; /* prefixItems, or draft-07 items array */
	uint32_t nprefix;
	const char *prefix_kw; /* "prefixItems" or "items" */
	struct jnode *items;   /* items after the prefix */
	const char *items_kw;  /* "items" or "additionalItems" */
	struct jnode *contains;
	int64_t minc, maxc; /* minContains (default 1), maxContains (-1) */
	struct jnode *uneval;
	int64_t mini, maxi;
	int unique;
};

/* A pattern simple enough to match without PCRE2: "^", then literal
 * characters, classes of ASCII characters with quantifiers and groups of
 * literal alternatives, then "$", each step decided by the next
 * character (see js_sre_compile) */
enum {
	SRE_LIT, /* lit */
	SRE_CH,	 /* lit of one character */
	SRE_ALT, /* alt */
	SRE_FIX, /* min (= max) characters of tab */
	SRE_RUN, /* min to max characters of tab */
};
struct jsre_el {
	uint8_t kind;	   /* SRE_* */
	uint8_t wide;	   /* lit, or each alternative, of 8 bytes at most */
	uint64_t lw, lm;   /* lit as a word read at the cursor, its mask */
	uint64_t *aw, *am; /* the same of each alternative */
	uint64_t set[2];   /* the ASCII characters an atom matches */
	uint32_t min, max; /* repetitions; max UINT32_MAX: unbounded */
	const char **alt;  /* a group: its literal alternatives, or NULL */
	uint32_t *altlen;
	uint32_t nalt;
	const uint8_t *tab; /* set as a table of 256 bytes */
	const char *lit;    /* a run of literal characters (min = max = 1) */
	uint32_t litlen;
};
struct jsre {
	struct jsre_el *el;
	uint32_t nel;
};

struct jstr {
	int64_t minl, maxl;
	struct ev_ecmare *re; /* pattern */
	struct jsre *sre;     /* the same, when simple */
	const char *pattern;
	uint32_t patlen;
};

struct jnumk {
	struct jnum *min, *max, *exmin, *exmax, *mult;
};

/* enum: values as msgpack, hashed when many */
struct jenum {
	const uint8_t **v;
	size_t *vn;
	uint32_t nv;
	uint32_t *tab; /* index + 1 */
	uint32_t tabmask;
	int all_str;	    /* every value a string: compared as bytes */
	const uint8_t **sp; /* with all_str: the strings */
	uint32_t *sl;
};

/* A schema resource: a document root or a subschema with $id */
struct jdanchor {
	const char *name;
	struct jnode *node;
	struct jdanchor *next;
};
struct jres {
	char *uri; /* absolute, without fragment */
	struct jdoc *doc;
	const uint8_t *p, *end; /* its msgpack value */
	const char *path;	/* its pointer from the document root */
	struct jnode *root;
	struct jdanchor *dyn; /* $dynamicAnchor names */
	int draft;
	unsigned vocab;
	int by_id; /* registered by an $id (not a retrieval URI) */
};

struct jdoc {
	char *name; /* for messages: a file name or the URI */
	char *uri;
	uint8_t *mp;
	size_t n;
	int draft;
	unsigned vocab;
	struct ev_jschema_set *set;
	struct jdoc *next;
};

enum { JN_TRUE = 1, JN_FALSE = 2, JN_OBJ = 0 };

/* struct ev_jschema is one compiled node */
struct ev_jschema {
	uint8_t kind; /* JN_* */
	uint8_t has_uneval;
	uint8_t recursive_anchor; /* 2019-09 $recursiveAnchor: true */
	uint8_t format_assert;
	uint8_t content_b64, content_json; /* draft-07 content */
	uint8_t only_types; /* no keyword but "type": checked inline */
	uint8_t leaf; /* no applicator, reference, object or array keyword */
	uint16_t draft;
	uint32_t types; /* JT_* mask, 0 = any */
	const char *type_text;
	struct jdoc *doc;
	struct jres *res;
	const char *path; /* JSON pointer from the document root */
	const uint8_t *p; /* its msgpack value */

	struct jobj *obj;
	struct jarr *arr;
	struct jstr *str;
	struct jnumk *num;
	const char *format;
	const uint8_t *const_v;
	size_t const_n;
	struct jenum *enm;
	struct jnode **allof, **anyof, **oneof;
	uint32_t nallof, nanyof, noneof;
	struct jnode *not_, *if_, *then_, *else_;
	/* references: URI until the set is compiled, then the node */
	char *ref_uri, *dynref_uri, *recref_uri;
	struct jnode *ref, *dynref, *recref;
	const char *dyn_name; /* $dynamicRef fragment, when it bookends */
	const char *ref_kw;   /* "$ref" */
	uint8_t visiting;     /* cycle check */
	uint8_t visited;
	/* after the cycle check, over in-place edges (applicators on the
	 * same value): the most nodes on one path, that take a level of
	 * runtime recursion each; the nodes one value visits (saturated) */
	uint32_t ipdepth;
	uint64_t ipcount;
};

struct ev_jschema_set {
	struct ev_jschema_opts o;
	char **ref_dirs;
	char *local_root;
	struct jdoc *docs;
	/* maps: string -> pointer */
	struct jmap *res_by_uri;
	struct jmap *anchors;
	struct jmap *node_by_addr;
	struct jmap *node_by_path; /* (document, JSON pointer) -> node */
	struct jnode **pending;	   /* nodes with unresolved refs */
	size_t npending, cappending;
	struct jnode **all; /* every node, for the cycle check */
	size_t nall, capall;
	void **allocs; /* everything else to free */
	size_t nallocs, capallocs;
	struct ev_ecmare **res_re;
	size_t nre, capre;
	unsigned ndocs;
	unsigned gen; /* generated urn counter */
	int metaschema_loading;
	int dialect_depth;
};

/* the hash of property names: every byte, a word at a time (names that
 * differ in one place, "p1".."p700000", must not share a few hashes) */
static inline uint32_t js_key_hash(const uint8_t *k, uint32_t n)
{
	const uint64_t m = 0xff51afd7ed558ccdull;
	uint64_t h = (uint64_t)n * 0x9E3779B97F4A7C15ull, w;
	uint32_t u, x, i;

	if (n >= 8) {
		for (i = 0; i + 8 < n; i += 8) {
			memcpy(&w, k + i, 8);
			h = (h ^ w) * m;
		}
		memcpy(&w, k + n - 8, 8);
		h = (h ^ w) * m;
	} else if (n >= 4) {
		memcpy(&u, k, 4);
		memcpy(&x, k + n - 4, 4);
		h = (h ^ ((uint64_t)u << 32 | x)) * m;
	} else if (n > 0) {
		h = (h ^ ((uint64_t)k[0] | (uint64_t)k[n / 2] << 8 |
			  (uint64_t)k[n - 1] << 16)) *
		    m;
	}
	return (uint32_t)(h ^ (h >> 29) ^ (h >> 47));
}

/* ev_mp_skip's start depth for schema documents, which nest deeper than
 * events */
#define JS_SKIP_DEPTH (EV_READ_DEPTH - JS_MAX_SCHEMA_DEPTH)

/* jschema_compile.c */
void *js_alloc(struct ev_jschema_set *s, size_t n);
char *js_strdup(struct ev_jschema_set *s, const char *p, size_t n);
struct jsre *js_sre_compile(struct ev_jschema_set *s, const char *pat,
			    size_t n);

/* jschema_equal.c */
int js_mp_equal(const uint8_t *a, const uint8_t *ae, const uint8_t *b,
		const uint8_t *be, int depth);
uint64_t js_mp_hash(const uint8_t *p, const uint8_t *end, int depth);

/* jschema_validate.c */
int js_check_meta(struct ev_jschema_set *s, struct jnode *meta, struct jdoc *d,
		  struct ev_error *err);

/* metaschema.c: the embedded metaschemas */
const char *ev_metaschema_find(const char *uri, size_t n);

#endif
