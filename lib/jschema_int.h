/*
 * jschema_int.h - internals shared by the JSON Schema modules: URIs and
 * formats (uri.c, jsformat.c) and ECMA-262 regular expressions on PCRE2
 * (ecmare.c).  Not for cmd/.
 */
#ifndef JSCHEMA_INT_H
#define JSCHEMA_INT_H

#include <stddef.h>
#include <stdint.h>

/* RFC 3986 */
int ev_uri_is_absolute(const char *s, size_t n); /* has a scheme */
int ev_uri_valid(const char *s, size_t n,
		 int allow_relative); /* 1/0: uri / uri-reference format */
/* the same for IRIs (RFC 3987: iri / iri-reference): non-ASCII allowed
 * where unreserved characters are (s must be valid UTF-8) */
int ev_uri_iri_valid(const char *s, size_t n, int allow_relative);
/* resolve ref against base (RFC 3986 5.2, with dot-segment removal);
 * malloc'd result in *out (caller frees); 0, EV_EDATA (ref NULL) or
 * EV_ERR (out of memory; evlog.h has no EV_ENOMEM) */
int ev_uri_resolve(const char *base, const char *ref, char **out);
/* split off the fragment: returns length of the part before '#'; *frag
 * points after '#' or NULL */
size_t ev_uri_fragment(const char *s, const char **frag);
/* percent-decode (for JSON pointer fragments): malloc'd, NUL-terminated;
 * EV_EDATA on a bad escape or one that decodes to NUL */
int ev_uri_pct_decode(const char *s, size_t n, char **out);
/* IP addresses as RFC 3986 writes them (also the ipv4/ipv6 formats):
 * dotted quad without leading zeros; IPv6 with "::" and a trailing
 * dotted quad, no zone id.  1/0 */
int ev_uri_ipv4_valid(const char *s, size_t n);
int ev_uri_ipv6_valid(const char *s, size_t n);

/* ev_jschema_validate() of the value at the start of mp[0..maxn), whose
 * end the walk finds (the schema registry validates an event's data
 * without skipping it first): its length in *used, 0 when it is not one
 * msgpack value within maxn (then EV_EDATA) */
struct ev_jschema;
struct ev_jschema_ctx;
int ev_jschema_validate_prefix(const struct ev_jschema *sc, const uint8_t *mp,
			       size_t maxn, const char *prefix,
			       struct ev_jschema_ctx *cx, size_t *used);

/* The fast walk: a program made once from sc, that says "valid" for
 * the values most schemas of events take without the general walk's
 * dispatch; for anything else (and for every invalid value), validate
 * with ev_jschema_validate*(), which collects the errors.  NULL when sc
 * has nothing the fast walk does (or out of memory).  Read-only once
 * made: threads share it. */
struct ev_jschema_fast;
struct ev_jschema_fast *ev_jschema_fast_new(const struct ev_jschema *sc);
void ev_jschema_fast_free(struct ev_jschema_fast *f);
/* 1 when ev_jschema_validate_prefix() would find the value at mp valid,
 * with its length in *used; 0 when it must say.  cx is scratch: its
 * errors are left as they are. */
int ev_jschema_fast_prefix(const struct ev_jschema_fast *f, const uint8_t *mp,
			   size_t maxn, struct ev_jschema_ctx *cx,
			   size_t *used);
/* Name the keys of the pairs ev_jschema_fast_pairs() is to check (key
 * i is names[i]), looked up once here.  Before any check: 0, or EV_ERR
 * out of memory. */
int ev_jschema_fast_keys(struct ev_jschema_fast *f, const char *const *names,
			 size_t n);
/* An object given as its pairs, each a key with its value (one msgpack
 * value, from p to end), so that the registry checks an event's
 * envelope from the record's fields without building the object */
struct ev_jschema_pair {
	unsigned key;
	const uint8_t *p, *end;
};
/* 1 when ev_jschema_validate() would find the object of these pairs
 * (distinct keys) valid; 0 when it must say.  A pair whose p is NULL
 * is taken as valid: its value was checked before, by
 * ev_jschema_fast_pair_value() or ev_jschema_fast_any().  cx as above. */
int ev_jschema_fast_pairs(const struct ev_jschema_fast *f,
			  const struct ev_jschema_pair *pv, size_t n,
			  struct ev_jschema_ctx *cx);
/* ev_jschema_fast_pairs() of an object whose keys are the bits of
 * present (key i is bit i, for the first 8 keys named), of which only
 * the pairs pv are checked here: the others were checked before, as
 * for a pair whose p is NULL.  Answers as ev_jschema_fast_pairs(). */
int ev_jschema_fast_keyset(const struct ev_jschema_fast *f, unsigned present,
			   const struct ev_jschema_pair *pv, size_t n,
			   struct ev_jschema_ctx *cx);
/* The value at p (up to end) of the pair key, of an object of at most
 * npairs pairs, as ev_jschema_fast_pairs() checks it: 1 valid, with
 * its end in *pe; 0 when it cannot say.  cx as above. */
int ev_jschema_fast_pair_value(const struct ev_jschema_fast *f, unsigned key,
			       size_t npairs, const uint8_t *p,
			       const uint8_t *end, const uint8_t **pe,
			       struct ev_jschema_ctx *cx);
/* What ev_jschema_fast_pairs() finds valid for key whatever its value
 * of a kind: EV_JSCHEMA_ANY_STR any string, EV_JSCHEMA_ANY_UINT any
 * unsigned integer, EV_JSCHEMA_ANY_POS any unsigned integer from 1 (or
 * several, or 0) */
#define EV_JSCHEMA_ANY_STR 1
#define EV_JSCHEMA_ANY_UINT 2
#define EV_JSCHEMA_ANY_POS 4
int ev_jschema_fast_any(const struct ev_jschema_fast *f, unsigned key);
/* 1 when ev_jschema_fast_pairs() answers the same whatever string is
 * the value of key (its schema looks at no more than its type), so
 * that any string can stand for it; 0 otherwise */
int ev_jschema_fast_string_blind(const struct ev_jschema_fast *f, unsigned key);

/* JSON Schema `format`: 1 valid, 0 invalid, -1 unknown format name
 * (unknown formats always pass).  s is UTF-8. */
int ev_jsformat_check(const char *format, const char *s, size_t n);
/* IDNA2008 properties of a code point (jsformat_idna.c, generated; the
 * bits are described there); 0 for DISALLOWED and for ASCII */
unsigned ev_jsformat_idna_props(uint32_t cp);

struct ev_ecmare; /* compiled, JIT when available; thread-safe matching */
/* 0, or EV_EDATA with why (one line, "at offset N: ...") */
int ev_ecmare_compile(const char *pat, size_t n, struct ev_ecmare **out,
		      char *why, size_t whylen);
/* 1 match anywhere (unanchored search, as `pattern` means), 0 no match, <0
 * error (match limit) */
int ev_ecmare_search(const struct ev_ecmare *re, const char *s, size_t n);
void ev_ecmare_free(struct ev_ecmare *re);
/* the `regex` format: 1 valid ECMA-262 regex, 0 not */
int ev_ecmare_valid(const char *pat, size_t n);

/* For the registry (schemadir.c), implemented by the validator: drop the
 * errors of cx, and add one of the registry's own (no schema file for a
 * version, binary data) as the validator adds its own, copying the
 * strings.  0, or EV_ERR out of memory (or past max_errors: ignored). */
struct ev_jschema_ctx;
void ev_jschema_ctx_clear(struct ev_jschema_ctx *cx);
int ev_jschema_ctx_add_error(struct ev_jschema_ctx *cx,
			     const char *instance_path, const char *schema_path,
			     const char *keyword, const char *message);

#endif
