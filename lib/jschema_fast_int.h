/*
 * jschema_fast_int.h - the program of the fast walk, shared by
 * jschema_fast.c, which makes it from a compiled schema, and
 * jschema_fastwalk.c, which runs it.  Not for any other module.
 */
#ifndef JSCHEMA_FAST_INT_H
#define JSCHEMA_FAST_INT_H

#include <stddef.h>
#include <stdint.h>

#include "jschema_priv.h"

/*
 * The fast walk (ev_jschema_fast_*): a program made once from a schema
 * whose values are checked without the general walk's dispatch where
 * the schema is plain: objects of properties, required,
 * additionalProperties and min/max properties, arrays of items and
 * min/max items, and leaves (no applicator, reference, unevaluated*,
 * const or enum on a container).  Each value's check is decided when
 * the program is made; anything else is left to ev_jv_v(), from the same
 * vctx.  It answers only "valid" for sure: it counts at least the steps
 * of the general walk, goes no deeper, and anything invalid or
 * uncertain is "cannot say", for the general walk to decide (and to
 * collect the errors).
 */
enum {
	FK_SKIP,  /* nothing applies, or true */
	FK_TYPES, /* a node of "type" only */
	FK_LEAF,  /* a leaf (v_leaf) */
	FK_NODE,  /* a plain container node: fobj and farr */
	FK_WALK,  /* anything else: ev_jv_v() */
};

struct fobj;
struct farr;

/* what leaf_quick() does with a string, or a small integer */
enum {
	LQ_NO,	  /* invalid: not of the node's types */
	LQ_SLOW,  /* v_leaf() decides */
	LQ_YES,	  /* valid */
	LQ_CHECK, /* the checks of fcheck */
};

/* the checks of a string with LQ_CHECK */
enum {
	SQ_ALL,	 /* each of fcheck's, in turn */
	SQ_SRE,	 /* the pattern only */
	SQ_ENUM, /* the enum only, of values of 8 bytes at most: ew */
};

struct fcheck {
	uint8_t kind;
	/* FK_TYPES and FK_LEAF: strings and small integers checked here
	 * (else v_leaf() decides) */
	uint8_t str, num; /* LQ_* */
	uint8_t sq;	  /* SQ_* */
	/* FK_NODE: a fixmap (fixarray) goes straight to fw_map() (fw_list())
	 * where the node takes objects (arrays) */
	uint8_t map_direct, list_direct;
	const uint64_t *ew;	/* SQ_ENUM: each value as a word, and */
	const uint64_t *em;	/* its mask (as sre_word() has them) */
	int64_t minl, maxl;	/* -1: none */
	const struct jsre *sre; /* the pattern, when simple */
	const struct jenum *enm;
	int64_t imin, imax;
	/* float 64s: LQ_*, and the bounds (as scalar_fast() has them) */
	uint8_t flt;
	double fmin, fmax;
	const struct jnode *n;
	struct fobj *obj; /* FK_NODE: objects walked here, or NULL */
	struct farr *arr; /* FK_NODE: arrays walked here, or NULL */
};

/* a property's name as a key of msgpack (a fixstr: its header, then
 * the name) in the first 16 bytes of w, under the mask m: a key of that
 * name where 16 bytes can be read compares equal in two words.  A name
 * of more than 15 bytes never does (m 0, w 1): prop_find() finds it. */
struct fkeym {
	uint64_t w[2], m[2];
	uint64_t bit;		 /* its bit in the required mask, or 0 */
	const struct fcheck *fc; /* its check: fobj's props[i] */
	uint32_t klen;		 /* the header and the name */
};

struct fobj {
	const struct jobj *o; /* NULL: no object keyword */
	struct fcheck *props; /* by property index: its schema, or addl */
	/* by property index, then one that matches no key (so that the
	 * next property's is there to compare, past the last one) */
	struct fkeym *km;
	struct fcheck addl; /* names not in properties */
};

struct farr {
	const struct jarr *a; /* NULL: no array keyword */
	struct fcheck items;
};

/* a name of ev_jschema_fast_keys(), looked up in the root's properties */
struct fkey {
	const struct fcheck *fc;
	uint64_t seen; /* its bit in the required mask */
};

#define FAST_KEYSET 8 /* keys ev_jschema_fast_keyset() takes */

struct ev_jschema_fast {
	struct fcheck root;
	struct fkey *keys;
	size_t nkeys;
	/* of the first FAST_KEYSET keys: those the root has a check of,
	 * and the required bits of each set of them */
	unsigned keys_ok;
	uint64_t set_seen[1u << FAST_KEYSET];
	void **allocs;
	size_t nallocs, capallocs;
	int oom;
};

#endif
