/*
 * template.c - struct ev_template: --template '{offset} {type} {data.x}'.
 * A field is a dotted path into the envelope; strings print bare, times
 * as RFC 3339, other values as compact JSON, absent fields as nothing.
 * {PATH:json} prints the value as JSON (absent: null), {PATH:csv} as an
 * RFC 4180 field.  A field no event can have is refused (fields.c).
 * "{{" and "}}" print braces; \n, \t and \\ are the usual escapes.
 */
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

enum quoting { Q_TEXT, Q_JSON, Q_CSV };

struct part {
	char *text; /* literal text, or a path when is_path */
	size_t len;
	int is_path;
	enum quoting q;
};

struct ev_template {
	struct part *parts;
	size_t n;
	struct ev_buf scratch, text;
};

static int add_part(struct ev_template *t, const char *s, size_t n, int is_path)
{
	struct part *np = realloc(t->parts, (t->n + 1) * sizeof(*np));

	if (np == NULL)
		return EV_ERR;
	t->parts = np;
	np[t->n].text = strndup(s, n);
	if (np[t->n].text == NULL)
		return EV_ERR;
	np[t->n].len = n;
	np[t->n].is_path = is_path;
	np[t->n].q = Q_TEXT;
	t->n++;
	return 0;
}

/* The field from p ('{') to e ('}'), after the literal text before it:
 * 0, or an error. */
static int field(struct ev_template *t, struct ev_buf *lit, const char *p,
		 const char *e, struct ev_error *err)
{
	const char *colon = memchr(p + 1, ':', (size_t)(e - p - 1));
	const char *pe = colon != NULL ? colon : e;
	enum quoting q = Q_TEXT;
	int r = 0;

	if (colon != NULL) {
		size_t fn = (size_t)(e - colon - 1);
		if (fn == 4 && memcmp(colon + 1, "json", 4) == 0)
			q = Q_JSON;
		else if (fn == 3 && memcmp(colon + 1, "csv", 3) == 0)
			q = Q_CSV;
		else
			return ev_seterr(err, EV_EUSAGE,
					 "'%.*s': unknown form ':%.*s' (use "
					 ":json or :csv)",
					 (int)(e - p + 1), p, (int)fn,
					 colon + 1);
	}
	if (p[1] == '.' || pe[-1] == '.' ||
	    memmem(p + 1, (size_t)(pe - p - 1), "..", 2) != NULL || pe == p + 1)
		return ev_seterr(err, EV_EUSAGE,
				 "'%.*s' is not a dotted path such as "
				 "data.amount",
				 (int)(e - p + 1), p);
	if (ev_path_check(p + 1, (size_t)(pe - p - 1), err) != 0)
		return EV_EUSAGE;
	if (lit->len) {
		r = add_part(t, (const char *)lit->p, lit->len, 0);
		lit->len = 0;
	}
	if (r == 0 && (r = add_part(t, p + 1, (size_t)(pe - p - 1), 1)) == 0)
		t->parts[t->n - 1].q = q;
	return r;
}

int ev_template_new(struct ev_template **out, const char *spec,
		    struct ev_error *err)
{
	struct ev_template *t = calloc(1, sizeof(*t));
	struct ev_buf lit = {0};
	const char *p = spec, *e;
	int r = 0;

	*out = NULL;
	if (t == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	while (*p && r == 0) {
		if (p[0] == '{' && p[1] == '{') {
			r = ev_buf_putc(&lit, '{');
			p += 2;
		} else if (p[0] == '}' && p[1] == '}') {
			r = ev_buf_putc(&lit, '}');
			p += 2;
		} else if (p[0] == '}') {
			r = ev_seterr(err, EV_EUSAGE,
				      "unmatched '}' at column %d "
				      "(write '}}' for a brace)",
				      (int)(p - spec) + 1);
		} else if (p[0] == '\\' &&
			   (p[1] == 'n' || p[1] == 't' || p[1] == '\\')) {
			r = ev_buf_putc(&lit, p[1] == 'n'   ? '\n'
					      : p[1] == 't' ? '\t'
							    : '\\');
			p += 2;
		} else if (p[0] == '{') {
			e = strchr(p, '}');
			if (e == NULL) {
				r = ev_seterr(err, EV_EUSAGE,
					      "unterminated '{' at column %d",
					      (int)(p - spec) + 1);
				break;
			}
			if (e == p + 1 ||
			    memchr(p + 1, '{', (size_t)(e - p - 1))) {
				r = ev_seterr(err, EV_EUSAGE,
					      "empty or nested field at "
					      "column %d",
					      (int)(p - spec) + 1);
				break;
			}
			if ((r = field(t, &lit, p, e, err)) != 0)
				break;
			p = e + 1;
		} else {
			r = ev_buf_putc(&lit, *p++);
		}
	}
	if (r == 0 && lit.len)
		r = add_part(t, (const char *)lit.p, lit.len, 0);
	ev_buf_free(&lit);
	if (r != 0) {
		ev_template_free(t);
		return r == EV_ERR ? ev_seterr(err, EV_ERR, "out of memory")
				   : r;
	}
	*out = t;
	return 0;
}

void ev_template_free(struct ev_template *t)
{
	size_t i;

	if (t == NULL)
		return;
	for (i = 0; i < t->n; i++)
		free(t->parts[i].text);
	free(t->parts);
	ev_buf_free(&t->scratch);
	ev_buf_free(&t->text);
	free(t);
}

int ev_template_render(struct ev_template *t, const struct ev_event *ev,
		       struct ev_buf *out, struct ev_error *err)
{
	const uint8_t *v;
	size_t vn, i;
	int r;

	for (i = 0; i < t->n; i++) {
		if (!t->parts[i].is_path) {
			if (ev_buf_append(out, t->parts[i].text,
					  t->parts[i].len) != 0)
				return ev_seterr(err, EV_ERR, "out of memory");
			continue;
		}
		r = ev_event_path(ev, t->parts[i].text, &t->scratch, &v, &vn);
		if (r < 0)
			return ev_seterr(err, EV_EDATA, "invalid record");
		if (r == 0) {
			if (t->parts[i].q == Q_JSON &&
			    ev_buf_puts(out, "null") != 0)
				return ev_seterr(err, EV_ERR, "out of memory");
			continue;
		}
		if (t->parts[i].q == Q_JSON) {
			r = ev_value_to_json(v, vn, out, err);
		} else if (t->parts[i].q == Q_CSV) {
			t->text.len = 0;
			r = ev_value_to_text(v, vn, &t->text, err);
			if (r == 0 && ev_csv_field(out, (const char *)t->text.p,
						   t->text.len) != 0)
				r = ev_seterr(err, EV_ERR, "out of memory");
		} else {
			r = ev_value_to_text(v, vn, out, err);
		}
		if (r != 0)
			return r;
	}
	return 0;
}
