/*
 * expr_int.h - struct ev_expr: a compiled filter expression, the
 * language of --where (evtail(1) "Filter expressions").  expr.c parses
 * and compiles it once; exprmatch.c evaluates the tree on a decoded
 * event, reading data and meta from the stored msgpack.  Shared by
 * those two and filter.c only.
 */
#ifndef EVLOG_EXPR_INT_H
#define EVLOG_EXPR_INT_H

#include "evlog_private.h"

enum ex_kind { EX_AND, EX_OR, EX_NOT, EX_TEST };

enum ex_op {
	EXOP_EQ,
	EXOP_NE,
	EXOP_LT,
	EXOP_LE,
	EXOP_GT,
	EXOP_GE,
	EXOP_EXISTS,
	EXOP_IN,
	EXOP_MATCH, /* =~ /regex/ */
	EXOP_LIKE,
	EXOP_CONTAINS,
};

/* where a path starts: data or meta (then a dotted rest), or a field
 * of the envelope */
enum ex_field {
	EXF_DATA,
	EXF_META,
	EXF_OFFSET,
	EXF_ID,
	EXF_TYPE,
	EXF_STREAM,
	EXF_KEY,
	EXF_TIME,
	EXF_VERSION,
	EXF_SCHEMA,
	EXF_PARTITION, /* a Kafka log's events' */
};

/* A literal: an item as ev_mp_read() gives one (nil, bool, uint, int,
 * float, str), or a time when the path is time.  An array or map
 * literal has its whole msgpack encoding in v.p and v.n. */
struct ex_lit {
	struct ev_mp_item v;
	int is_time;
	ev_time_t t;
	char *s; /* owns v.p of a str */
};

struct ex_node {
	enum ex_kind kind;
	struct ex_node *a, *b; /* AND, OR: both; NOT: a */
	/* EX_TEST */
	enum ex_field field;
	char *rest;	   /* the path after data. or meta., NULL: the whole */
	size_t seg0n;	   /* the length of its first name */
	const char *rest2; /* the rest after that name, or NULL */
	enum ex_op op;
	struct ex_lit *lits; /* one, or the list of in */
	size_t nlits;
	void *re; /* pcre2_code */
	void *md; /* pcre2_match_data */
	char *glob;
};

/* The top-level entries of the data or meta map of one event, read in
 * one pass; state 0 not read yet, 1 read, -1 not a map (or unusual:
 * then paths are looked up the slow way). */
struct ex_kv {
	const uint8_t *k; /* NULL: a key that is not a string */
	uint32_t kn;
	const uint8_t *v, *vend;
};
struct ex_index {
	int state;
	struct ex_kv *kv;
	size_t n, cap;
};

struct ev_expr {
	struct ex_node *root;
	int has_type;	/* a test of type the raw record can answer */
	int has_offset; /* a test of offset, which a record does not hold */
	struct ex_index idx[2]; /* data, meta */
	struct ev_buf scratch;
};

/* Compile src.  EV_EUSAGE with err->column (1-based, in characters)
 * and a message that shows src with a caret under that column; EV_ERR
 * out of memory.  Free *out with ev_expr_free(). */
int ev_expr_compile(struct ev_expr **out, const char *src,
		    struct ev_error *err);
void ev_expr_free(struct ev_expr *e);
/* 1 when ev matches, else 0. */
int ev_expr_match(struct ev_expr *e, const struct ev_event *ev);
/* The same on a stored record, without decoding or validating it:
 * 1 or 0, or -1 when it cannot tell (a test of offset, or a record
 * that only ev_event_decode() can judge). */
int ev_expr_match_record(struct ev_expr *e, const uint8_t *rec, size_t n);
/* On the type alone, before decoding: 0 when no event of this type can
 * match, 1 maybe. */
int ev_expr_precheck(struct ev_expr *e, const struct ev_str *type);

#endif
