/*
 * schemacompat_data.c - the files and events around a comparison (evctl
 * schema compat): a schema file loaded and checked to be a schema, a
 * type's versions listed from its directory (N.json), the type that
 * directory names, and the events of that type in a log validated
 * against a schema (--data).  It calls nothing of the comparison.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evlog_private.h"
#include "jschema_int.h"

/* ------------------------------------------------------------ files */

int ev_compat_load(const char *path, struct ev_buf *out, struct ev_error *err)
{
	struct ev_buf text = {0};
	struct ev_json js;
	struct stat st;
	char chunk[65536];
	ssize_t k;
	int fd, rc = 0, c;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ev_seterr_errno(err,
				       errno == ENOENT ? EV_ENOENT : EV_EIO,
				       errno, "cannot open '%s'", path);
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return ev_seterr(err, EV_EDATA, "'%s' is a directory", path);
	}
	while ((k = read(fd, chunk, sizeof(chunk))) != 0) {
		if (k < 0) {
			if (errno == EINTR)
				continue;
			rc = ev_seterr_errno(err, EV_EIO, errno,
					     "cannot read '%s'", path);
			goto out;
		}
		if (ev_buf_append(&text, chunk, (size_t)k) != 0) {
			rc = ev_seterr(err, EV_ERR, "out of memory");
			goto out;
		}
	}
	out->len = 0;
	ev_json_init(&js, text.p ? (const char *)text.p : "", text.len);
	if (text.len >= 3 && memcmp(text.p, "\xEF\xBB\xBF", 3) == 0)
		js.p += 3; /* a byte order mark */
	c = ev_json_ws(&js);
	if (c < 0)
		ev_json_fail(&js, js.p, "expected a JSON value");
	else if (ev_json_value(&js, out) == 0 && ev_json_ws(&js) >= 0)
		ev_json_fail(&js, js.p, "unexpected text after the JSON value");
	if (js.errmsg != NULL) {
		const char *at = js.errp ? js.errp : js.p, *q, *bol = js.start;
		size_t line = 1;

		for (q = js.start; q < at; q++)
			if (*q == '\n') {
				line++;
				bol = q + 1;
			}
		rc = ev_seterr(err, EV_EDATA, "%s:%zu:%zu: %s", path, line,
			       ev_json_column(bol, at), js.errmsg);
		goto out;
	}
	if (out->len == 0 || (out->p[0] != 0xc2 && out->p[0] != 0xc3 &&
			      (out->p[0] & 0xf0) != 0x80 && out->p[0] != 0xde &&
			      out->p[0] != 0xdf))
		rc = ev_seterr(err, EV_EDATA,
			       "%s: not a schema: a schema is a JSON object or "
			       "a boolean",
			       path);
out:
	close(fd);
	ev_buf_free(&text);
	return rc;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int ev_compat_versions(const char *dir, uint64_t **v, size_t *n,
		       struct ev_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	uint64_t *vs = NULL;
	size_t cnt = 0, cap = 0;
	int rc = 0;

	*v = NULL;
	*n = 0;
	if (d == NULL)
		return ev_seterr_errno(err,
				       errno == ENOENT	  ? EV_ENOENT
				       : errno == ENOTDIR ? EV_EDATA
							  : EV_EIO,
				       errno, "cannot open '%s'", dir);
	while ((e = readdir(d)) != NULL) {
		const char *s = e->d_name, *dot = strrchr(s, '.');
		uint64_t x = 0;
		const char *q;

		if (s[0] == '.' || dot == NULL || strcmp(dot, ".json") != 0)
			continue; /* not a schema file */
		for (q = s; q < dot; q++) {
			if (*q < '0' || *q > '9' || x > (UINT64_MAX - 9) / 10)
				break;
			x = x * 10 + (uint64_t)(*q - '0');
		}
		if (q != dot || q == s || s[0] == '0') {
			rc = ev_seterr(err, EV_EDATA,
				       "%s/%s: not a version: schema files "
				       "are named N.json, N from 1",
				       dir, s);
			goto out;
		}
		if (cnt == cap) {
			size_t nc = cap ? 2 * cap : 16;
			uint64_t *nv = realloc(vs, nc * sizeof(*nv));

			if (nv == NULL) {
				rc = ev_seterr(err, EV_ERR, "out of memory");
				goto out;
			}
			vs = nv;
			cap = nc;
		}
		vs[cnt++] = x;
	}
	if (cnt == 0) {
		rc = ev_seterr(err, EV_EDATA,
			       "'%s' has no schema versions (1.json, 2.json, "
			       "...)",
			       dir);
		goto out;
	}
	qsort(vs, cnt, sizeof(*vs), cmp_u64);
	*v = vs;
	*n = cnt;
	vs = NULL;
out:
	free(vs);
	closedir(d);
	return rc;
}

/* ------------------------------------------------------------ data */

int ev_compat_type_of(const char *path, char **type, struct ev_error *err)
{
	char *abs = realpath(path, NULL), *slash, *name;
	int rc = 0;

	*type = NULL;
	if (abs == NULL)
		return ev_seterr_errno(err,
				       errno == ENOENT ? EV_ENOENT : EV_EIO,
				       errno, "cannot open '%s'", path);
	slash = strrchr(abs, '/');
	if (slash != NULL)
		*slash = '\0';
	slash = strrchr(abs, '/');
	name = slash != NULL ? slash + 1 : abs;
	if (*name == '\0') {
		rc = ev_seterr(err, EV_EDATA,
			       "'%s' is in no DIR/TYPE directory", path);
		goto out;
	}
	if (ev_uri_pct_decode(name, strlen(name), type) != 0) {
		rc = ev_seterr(err, EV_EDATA,
			       "'%s': the directory name '%s' does not decode "
			       "as a type (%%XX)",
			       path, name);
		*type = NULL;
	}
out:
	free(abs);
	return rc;
}

void ev_compat_data_free(struct ev_compat_data *d)
{
	if (d == NULL)
		return;
	free(d->examples);
	d->examples = NULL;
	d->nexamples = 0;
}

static void example(struct ev_compat_data *out, size_t max, uint64_t offset,
		    const char *path, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void example(struct ev_compat_data *out, size_t max, uint64_t offset,
		    const char *path, const char *fmt, ...)
{
	struct ev_compat_example *e;
	va_list ap;

	if (out->nexamples >= max || out->examples == NULL)
		return;
	e = &out->examples[out->nexamples++];
	e->offset = offset;
	snprintf(e->instance_path, sizeof(e->instance_path), "%s", path);
	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
}

/* one record of the type: 0 (counted), or <0 */
static int data_one(const uint8_t *rec, size_t n, uint64_t offset,
		    const char *type, const struct ev_jschema *sc,
		    int binary_ok, struct ev_jschema_ctx *jcx, size_t max,
		    struct ev_compat_data *out, struct ev_error *err)
{
	static const uint8_t nil = 0xc0;
	struct ev_event ev;
	const struct ev_jschema_error *je;
	int r;

	if (ev_event_decode(rec, n, &ev, err) != 0)
		return EV_EDATA;
	if (ev.type.n != strlen(type) || memcmp(ev.type.p, type, ev.type.n))
		return 0;
	out->events++;
	if (ev.data_is_binary) {
		if (!binary_ok) {
			out->failed++;
			example(out, max, offset, "/data", "data is binary");
		}
		return 0;
	}
	r = ev_jschema_validate(sc, ev.data ? ev.data : &nil,
				ev.data ? ev.data_len : 1, "/data", jcx);
	if (r == 1)
		return 0;
	if (r < 0 && r != EV_EDATA)
		return ev_seterr(err, EV_ERR, "out of memory");
	out->failed++;
	if (r == EV_EDATA) {
		example(out, max, offset, "/data", "data is not JSON");
		return 0;
	}
	je = ev_jschema_error_at(jcx, 0);
	if (je != NULL)
		example(out, max, offset, je->instance_path, "%s (%s)",
			je->message, je->schema_path);
	else
		example(out, max, offset, "/data", "invalid");
	return 0;
}

int ev_compat_data_check(struct ev_log *log, struct ev_upcaster *up,
			 const char *type, const struct ev_jschema *sc,
			 int binary_ok, size_t max_examples,
			 struct ev_compat_data *out, struct ev_error *err)
{
	struct ev_reader *r = NULL;
	struct ev_jschema_ctx *jcx = NULL;
	struct ev_rec rec;
	size_t tn = strlen(type);
	int k, rc = 0;

	memset(out, 0, sizeof(*out));
	if (max_examples == 0)
		max_examples = 5;
	out->examples = calloc(max_examples, sizeof(*out->examples));
	jcx = ev_jschema_ctx_new();
	if (out->examples == NULL || jcx == NULL) {
		rc = ev_seterr(err, EV_ERR, "out of memory");
		goto out;
	}
	if ((rc = ev_reader_open(&r, log, err)) != 0)
		goto out;
	while ((k = ev_reader_next(r, &rec, err)) == 1) {
		struct ev_str t;
		int changed = 0, nr, i;

		if (up != NULL && ev_upcaster_wants(up, rec.p, rec.n)) {
			nr = ev_upcaster_apply(up, rec.p, rec.n, rec.offset,
					       &changed, err);
			if (nr < 0 && nr != EV_EDATA) {
				rc = nr;
				goto out;
			}
			if (nr == EV_EDATA) {
				const struct ev_upcast_failure *f =
					ev_upcaster_last_failure(up);

				if (ev_event_peek_type(rec.p, rec.n, &t) != 0 ||
				    t.n != tn || memcmp(t.p, type, tn) != 0)
					continue;
				out->events++;
				out->failed++;
				out->upcast_failed++;
				example(out, max_examples, rec.offset, "",
					"cannot upcast: %s",
					f != NULL && f->reason[0] ? f->reason
								  : err->msg);
				continue;
			}
			for (i = 0; i < nr; i++) {
				const uint8_t *p;
				size_t n;

				ev_upcaster_record(up, i, &p, &n);
				rc = data_one(p, n, rec.offset, type, sc,
					      binary_ok, jcx, max_examples, out,
					      err);
				if (rc != 0)
					goto out;
			}
			continue;
		}
		if (ev_event_peek_type(rec.p, rec.n, &t) != 0 || t.n != tn ||
		    memcmp(t.p, type, tn) != 0)
			continue;
		rc = data_one(rec.p, rec.n, rec.offset, type, sc, binary_ok,
			      jcx, max_examples, out, err);
		if (rc != 0)
			goto out;
	}
	if (k < 0)
		rc = k;
out:
	ev_reader_free(r);
	ev_jschema_ctx_free(jcx);
	if (rc != 0)
		ev_compat_data_free(out);
	return rc;
}
