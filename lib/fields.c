/*
 * fields.c - the fields of an event as tools name them, and
 * struct ev_fieldlist: --fields a,b,data.x.
 *
 * A field is an envelope field (offset, id, type, stream, version, time,
 * schema, key, data, meta, and partition: a Kafka log's events', absent
 * on a local log) or a dotted path inside data or meta; a name
 * that cannot be one of these is refused with a suggestion, so that an
 * output of blank fields never hides a typo.  A value prints as text
 * (strings bare), as JSON, as an RFC 4180 CSV field, or as a TSV field
 * with tab, newline, carriage return and backslash escaped (evtail(1)).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

static const char *const envelope[] = {
	"offset", "id",	 "type", "stream", "version",	"time",
	"schema", "key", "data", "meta",   "partition",
};
#define NENVELOPE (sizeof(envelope) / sizeof(envelope[0]))

int ev_path_check(const char *path, size_t n, struct ev_error *err)
{
	size_t top = 0, i;
	const char *s;

	while (top < n && path[top] != '.')
		top++;
	if (n == 0 || top == 0 || path[n - 1] == '.' ||
	    memmem(path, n, "..", 2) != NULL)
		return ev_seterr(err, EV_EUSAGE,
				 "'%.*s' is not a dotted path such as "
				 "data.amount",
				 (int)n, path);
	for (i = 0; i < NENVELOPE; i++)
		if (strlen(envelope[i]) == top &&
		    memcmp(envelope[i], path, top) == 0)
			break;
	if (i == NENVELOPE) {
		s = ev_suggest(path, top, envelope, NENVELOPE);
		if (s != NULL && top == n)
			return ev_seterr(err, EV_EUSAGE,
					 "unknown field '%.*s'; did you mean "
					 "'%s'?",
					 (int)n, path, s);
		return ev_seterr(err, EV_EUSAGE,
				 "unknown field '%.*s'; did you mean "
				 "'data.%.*s'?",
				 (int)n, path, (int)n, path);
	}
	if (top < n && strcmp(envelope[i], "data") != 0 &&
	    strcmp(envelope[i], "meta") != 0)
		return ev_seterr(err, EV_EUSAGE,
				 "unknown field '%.*s': %s has no fields "
				 "inside (data and meta do)",
				 (int)n, path, envelope[i]);
	return 0;
}

void ev_event_place(struct ev_event *ev, const struct ev_rec *rec)
{
	ev->offset = rec->kafka ? (uint64_t)rec->koffset : rec->offset;
	ev->has_partition = rec->kafka;
	ev->partition = rec->kafka ? rec->partition : 0;
	ev->append_time = rec->append_time;
}

const char *ev_place_str(char *buf, int has_partition, int32_t partition,
			 uint64_t offset)
{
	if (has_partition)
		snprintf(buf, EV_PLACE_MAX, "%d:%llu", (int)partition,
			 (unsigned long long)offset);
	else
		snprintf(buf, EV_PLACE_MAX, "%llu", (unsigned long long)offset);
	return buf;
}

const char *ev_rec_place(char *buf, const struct ev_rec *rec)
{
	return rec->kafka ? ev_place_str(buf, 1, rec->partition,
					 (uint64_t)rec->koffset)
			  : ev_place_str(buf, 0, 0, rec->offset);
}

int ev_value_json(const uint8_t *p, size_t n, struct ev_buf *out,
		  struct ev_error *err)
{
	return ev_value_to_json(p, n, out, err);
}

int ev_value_to_json(const uint8_t *v, size_t n, struct ev_buf *out,
		     struct ev_error *err)
{
	const uint8_t *p = v;
	struct ev_mp_item it;
	char tmp[40];
	ev_time_t t;
	int r;

	if (ev_mp_read(&p, v + n, &it) != 0)
		return ev_seterr(err, EV_EDATA, "invalid value");
	if (it.type == EV_MP_BIN) {
		r = ev_buf_putc(out, '"') ||
		    ev_base64_encode(out, it.p, it.n) || ev_buf_putc(out, '"');
		return r ? ev_seterr(err, EV_ERR, "out of memory") : 0;
	}
	if (it.type == EV_MP_EXT && ev_mp_time_decode(&it, &t) == 0) {
		r = ev_json_put_str(out, tmp, ev_time_format(t, tmp));
		return r ? ev_seterr(err, EV_ERR, "out of memory") : 0;
	}
	return ev_msgpack_to_json(v, n, out, err);
}

int ev_csv_field(struct ev_buf *out, const char *s, size_t n)
{
	size_t i;
	int r = 0;

	for (i = 0; i < n; i++)
		if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n')
			break;
	if (i == n)
		return ev_buf_append(out, s, n);
	r = ev_buf_putc(out, '"');
	for (i = 0; i < n && r == 0; i++)
		r = s[i] == '"' ? ev_buf_puts(out, "\"\"")
				: ev_buf_putc(out, s[i]);
	return r ? r : ev_buf_putc(out, '"');
}

int ev_tsv_field(struct ev_buf *out, const char *s, size_t n)
{
	size_t i;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		switch (s[i]) {
		case '\t':
			r = ev_buf_puts(out, "\\t");
			break;
		case '\n':
			r = ev_buf_puts(out, "\\n");
			break;
		case '\r':
			r = ev_buf_puts(out, "\\r");
			break;
		case '\\':
			r = ev_buf_puts(out, "\\\\");
			break;
		default:
			r = ev_buf_putc(out, s[i]);
		}
	}
	return r;
}

/* ------------------------------------------------------------ field lists */

/* The paths as a tree, so that data.x and data.y share one "data". */
struct node {
	char *name;	  /* this level's key */
	char *path;	  /* the whole path, for a leaf */
	struct node *kid; /* first child, when not a leaf */
	struct node *next;
};

struct ev_fieldlist {
	char **paths; /* as given, for a header */
	size_t n;
	struct node *root;
	struct ev_buf scratch, obj;
};

static void nodes_free(struct node *nd)
{
	struct node *next;

	for (; nd != NULL; nd = next) {
		next = nd->next;
		nodes_free(nd->kid);
		free(nd->name);
		free(nd->path);
		free(nd);
	}
}

/* Put path into the tree under *at: 0, or EV_ERR. */
static int tree_add(struct node **at, const char *path, const char *rest)
{
	size_t n = strcspn(rest, ".");
	struct node *nd, **tail = at;

	for (nd = *at; nd != NULL; nd = nd->next) {
		tail = &nd->next;
		if (strlen(nd->name) == n && memcmp(nd->name, rest, n) == 0)
			break;
	}
	if (nd == NULL) {
		if ((nd = calloc(1, sizeof(*nd))) == NULL)
			return EV_ERR;
		*tail = nd;
		if ((nd->name = strndup(rest, n)) == NULL)
			return EV_ERR;
	} else if (nd->path != NULL) {
		return 0; /* the whole of it is there already */
	}
	if (rest[n] == '\0') {
		/* the whole value: what was asked inside it goes */
		nodes_free(nd->kid);
		nd->kid = NULL;
		nd->path = strdup(path);
		return nd->path != NULL ? 0 : EV_ERR;
	}
	return tree_add(&nd->kid, path, rest + n + 1);
}

int ev_fieldlist_new(struct ev_fieldlist **out, const char *spec,
		     struct ev_error *err)
{
	struct ev_fieldlist *fl = calloc(1, sizeof(*fl));
	const char *p = spec, *e;
	char **np;
	size_t n;
	int r = 0;

	*out = NULL;
	if (fl == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	for (;;) {
		e = strchr(p, ',');
		n = e != NULL ? (size_t)(e - p) : strlen(p);
		if (n == 0) {
			r = ev_seterr(err, EV_EUSAGE,
				      "'%s' has an empty field at column %d",
				      spec, (int)(p - spec) + 1);
			goto fail;
		}
		if ((r = ev_path_check(p, n, err)) != 0)
			goto fail;
		np = realloc(fl->paths, (fl->n + 1) * sizeof(*np));
		if (np == NULL)
			goto oom;
		fl->paths = np;
		if ((np[fl->n] = strndup(p, n)) == NULL)
			goto oom;
		if (tree_add(&fl->root, np[fl->n], np[fl->n]) != 0) {
			fl->n++;
			goto oom;
		}
		fl->n++;
		if (e == NULL)
			break;
		p = e + 1;
	}
	*out = fl;
	return 0;
oom:
	r = ev_seterr(err, EV_ERR, "out of memory");
fail:
	ev_fieldlist_free(fl);
	return r;
}

void ev_fieldlist_free(struct ev_fieldlist *fl)
{
	size_t i;

	if (fl == NULL)
		return;
	for (i = 0; i < fl->n; i++)
		free(fl->paths[i]);
	free(fl->paths);
	nodes_free(fl->root);
	ev_buf_free(&fl->scratch);
	ev_buf_free(&fl->obj);
	free(fl);
}

/* The members of one level of the tree, each "key":value, into out;
 * *any is set when there was one. */
static int members(struct ev_fieldlist *fl, const struct node *nd,
		   const struct ev_event *ev, struct ev_buf *out, int *any,
		   struct ev_error *err)
{
	const uint8_t *v;
	size_t vn, mark;
	int r, inner;

	for (; nd != NULL; nd = nd->next) {
		mark = out->len;
		if ((*any && ev_buf_putc(out, ',') != 0) ||
		    ev_json_put_str(out, nd->name, strlen(nd->name)) != 0 ||
		    ev_buf_putc(out, ':') != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		if (nd->path != NULL) {
			r = ev_event_path(ev, nd->path, &fl->scratch, &v, &vn);
			if (r < 0)
				return ev_seterr(err, EV_EDATA,
						 "invalid record");
			if (r == 0) {
				out->len = mark; /* absent: left out */
				continue;
			}
			if ((r = ev_value_to_json(v, vn, out, err)) != 0)
				return r;
			*any = 1;
			continue;
		}
		inner = 0;
		if (ev_buf_putc(out, '{') != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		if ((r = members(fl, nd->kid, ev, out, &inner, err)) != 0)
			return r;
		if (!inner) {
			out->len = mark; /* nothing inside: left out */
			continue;
		}
		if (ev_buf_putc(out, '}') != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		*any = 1;
	}
	return 0;
}

int ev_fieldlist_json(struct ev_fieldlist *fl, const struct ev_event *ev,
		      struct ev_buf *out, struct ev_error *err)
{
	int any = 0, r;

	if (ev_buf_putc(out, '{') != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	if ((r = members(fl, fl->root, ev, out, &any, err)) != 0)
		return r;
	return ev_buf_putc(out, '}') != 0
		       ? ev_seterr(err, EV_ERR, "out of memory")
		       : 0;
}

int ev_fieldlist_header(const struct ev_fieldlist *fl, int sep,
			struct ev_buf *out)
{
	size_t i;
	int r = 0;

	for (i = 0; i < fl->n && r == 0; i++) {
		if (i > 0)
			r = ev_buf_putc(out, sep);
		if (r == 0)
			r = sep == ',' ? ev_csv_field(out, fl->paths[i],
						      strlen(fl->paths[i]))
				       : ev_tsv_field(out, fl->paths[i],
						      strlen(fl->paths[i]));
	}
	return r ? EV_ERR : 0;
}

int ev_fieldlist_row(struct ev_fieldlist *fl, const struct ev_event *ev,
		     int sep, struct ev_buf *out, struct ev_error *err)
{
	const uint8_t *v;
	size_t vn, i;
	int r;

	for (i = 0; i < fl->n; i++) {
		if (i > 0 && ev_buf_putc(out, sep) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		r = ev_event_path(ev, fl->paths[i], &fl->scratch, &v, &vn);
		if (r < 0)
			return ev_seterr(err, EV_EDATA, "invalid record");
		if (r == 0)
			continue; /* absent: an empty field */
		fl->obj.len = 0;
		if ((r = ev_value_to_text(v, vn, &fl->obj, err)) != 0)
			return r;
		r = sep == ',' ? ev_csv_field(out, (const char *)fl->obj.p,
					      fl->obj.len)
			       : ev_tsv_field(out, (const char *)fl->obj.p,
					      fl->obj.len);
		if (r != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
	}
	return 0;
}
