/*
 * kafka_pos.c - positions on Kafka logs, one offset per partition: --from
 * (start, end, @TIME, PARTITION:OFFSET), --to PARTITION:OFFSET, and the
 * cursor files that hold a consumer's next offset of each partition.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"
#include "kafka_pos_int.h"

/* ------------------------------------------------------------ positions */

int ev_kafka_from_parse(const char *s, struct ev_kafka_from *f,
			struct ev_error *err)
{
	const char *colon;
	char *end;
	long long v;
	long pn;
	int r;

	memset(f, 0, sizeof(*f));
	f->partition = -1;
	if (strcmp(s, "start") == 0 || strcmp(s, "beginning") == 0) {
		f->kind = EV_KAFKA_FROM_START;
		return 0;
	}
	if (strcmp(s, "end") == 0) {
		f->kind = EV_KAFKA_FROM_END;
		return 0;
	}
	/* the messages of a local log's --from (feselect.c), with what a
	 * kafka log takes */
	if (s[0] == '@') {
		f->kind = EV_KAFKA_FROM_TIME;
		r = ev_time_parse_user(s + 1, ev_now(), &f->time);
		if (r == EV_EDATA)
			return ev_seterr(err, EV_EUSAGE,
					 "--from: '%s' is out of range: times "
					 "run from %s",
					 s, EV_TIME_RANGE);
		if (r == 0)
			return 0;
		return ev_seterr(err, EV_EUSAGE,
				 "--from: '%s' is not start, end, @TIME or "
				 "PARTITION:OFFSET",
				 s);
	}
	colon = strchr(s, ':');
	if (colon != NULL && colon != s) {
		errno = 0;
		pn = strtol(s, &end, 10);
		if (end == colon && errno == 0 && pn >= 0 && pn <= INT32_MAX) {
			errno = 0;
			v = strtoll(colon + 1, &end, 10);
			if (*end == '\0' && end != colon + 1 && errno == 0 &&
			    v >= 0) {
				f->kind = EV_KAFKA_FROM_OFFSET;
				f->partition = (int32_t)pn;
				f->offset = v;
				return 0;
			}
		}
	}
	return ev_seterr(err, EV_EUSAGE,
			 "--from: '%s' is not start, end, @TIME or "
			 "PARTITION:OFFSET",
			 s);
}

/* "P:OFFSET", decimal digits only, into *pn and *off: 0, or -1 */
static int part_offset(const char *s, size_t n, int32_t *pn, int64_t *off)
{
	size_t i = 0;
	int64_t p = 0, v = 0;

	while (i < n && s[i] >= '0' && s[i] <= '9' && i < 10)
		p = p * 10 + (s[i++] - '0');
	if (i == 0 || i >= n || s[i] != ':' || p > INT32_MAX)
		return -1;
	if (++i == n)
		return -1;
	for (; i < n; i++) {
		if (s[i] < '0' || s[i] > '9' ||
		    v > (INT64_MAX - (s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*pn = (int32_t)p;
	*off = v;
	return 0;
}

int ev_kafka_to_parse(const char *s, struct ev_kafka_from *t)
{
	memset(t, 0, sizeof(*t));
	if (part_offset(s, strlen(s), &t->partition, &t->offset) != 0)
		return 0;
	t->kind = EV_KAFKA_FROM_OFFSET;
	return 1;
}

/* ------------------------------------------------------------ cursors */

#define KCURSOR_MAX (1 << 20)

int ev_kafka_cursor_load(const char *path, const char *topic,
			 struct ev_kafka_from **from, size_t *n,
			 struct ev_error *err)
{
	static const char pre[] = "evlog-cursor 1 topic=";
	static const char local[] = "evlog-cursor 1 log=";
	struct ev_kafka_from *f = NULL;
	size_t len = 0, cap = 4096, nf = 0, i, tl;
	char *buf = NULL, *nb;
	const char *q, *end;
	FILE *fp;
	int r = 0;

	*from = NULL;
	*n = 0;
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return EV_ENOENT;
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot read cursor file '%s'", path);
	}
	for (;;) {
		size_t got;
		if ((nb = realloc(buf, cap + 1)) == NULL) {
			fclose(fp);
			free(buf);
			return ev_seterr(err, EV_ERR, "out of memory");
		}
		buf = nb;
		got = fread(buf + len, 1, cap - len, fp);
		len += got;
		if (len < cap || cap >= KCURSOR_MAX)
			break;
		cap *= 2;
	}
	if (ferror(fp)) {
		int e = errno;
		fclose(fp);
		free(buf);
		return ev_seterr_errno(err, EV_EIO, e,
				       "cannot read cursor file '%s'", path);
	}
	fclose(fp);
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (strlen(buf) != len || len >= KCURSOR_MAX)
		goto bad;
	if (strncmp(buf, local, sizeof(local) - 1) == 0) {
		r = ev_seterr(err, EV_EDATA,
			      "cursor file '%s' belongs to the local log "
			      "%.32s, not to kafka topic '%s'",
			      path, buf + sizeof(local) - 1, topic);
		goto out;
	}
	if (strncmp(buf, pre, sizeof(pre) - 1) != 0)
		goto bad;
	q = buf + sizeof(pre) - 1;
	if ((end = strstr(q, " next=")) == NULL || end == q)
		goto bad;
	tl = (size_t)(end - q);
	if (tl != strlen(topic) || memcmp(q, topic, tl) != 0) {
		r = ev_seterr(err, EV_EDATA,
			      "cursor file '%s' belongs to kafka topic "
			      "'%.*s', not to '%s'",
			      path, (int)(tl > 249 ? 249 : tl), q, topic);
		goto out;
	}
	q = end + 6;
	while (*q != '\0') {
		const char *c = strchr(q, ',');
		size_t l = c != NULL ? (size_t)(c - q) : strlen(q);
		struct ev_kafka_from *g;
		if (nf % 64 == 0) {
			if ((g = realloc(f, (nf + 64) * sizeof(*f))) == NULL) {
				r = ev_seterr(err, EV_ERR, "out of memory");
				goto out;
			}
			f = g;
		}
		memset(&f[nf], 0, sizeof(f[nf]));
		f[nf].kind = EV_KAFKA_FROM_OFFSET;
		if (part_offset(q, l, &f[nf].partition, &f[nf].offset) != 0)
			goto bad;
		for (i = 0; i < nf; i++)
			if (f[i].partition == f[nf].partition)
				goto bad;
		nf++;
		q += l;
		if (*q == ',' && *++q == '\0')
			goto bad;
	}
	*from = f;
	*n = nf;
	free(buf);
	return 0;
bad:
	r = ev_seterr(err, EV_EDATA, "cursor file '%s' is not an evlog cursor",
		      path);
out:
	free(f);
	free(buf);
	return r;
}

int ev_kafka_cursor_store(const char *path, const struct ev_kafka_consumer *c,
			  struct ev_error *err)
{
	struct ev_buf b = {0};
	int i, any = 0;

	ev_buf_printf(&b, "evlog-cursor 1 topic=%s next=",
		      ev_kafka_consumer_topic(c));
	for (i = 0; i < ev_kafka_consumer_partitions(c); i++) {
		int64_t v = ev_kafka_consumer_next_offset(c, i);
		if (v < 0)
			continue;
		ev_buf_printf(&b, "%s%d:%lld", any++ ? "," : "", i,
			      (long long)v);
	}
	if (ev_buf_putc(&b, '\n') != 0) {
		ev_buf_free(&b);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	if (ev_file_replace_path(path, b.p, b.len) != 0) {
		int e = errno;
		ev_buf_free(&b);
		return ev_seterr_errno(err, EV_EIO, e,
				       "cannot write cursor file '%s'", path);
	}
	ev_buf_free(&b);
	return 0;
}
