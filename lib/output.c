/*
 * output.c - struct ev_output: events formatted for people and pipes
 * (JSON lines, pretty, CloudEvents, MessagePack, a template, chosen
 * fields as JSON, CSV or TSV, a count) and written to a descriptor in
 * large writes.
 *
 * It remembers two positions, so that a cursor never claims an event the
 * reader at the other end did not get: the offset after the last event
 * formatted, and after the last one written out in full.  Where each
 * buffered event ends is kept, so that when a write fails part way (a
 * closed pipe), the events before the cut still count as written, as
 * evtail(1) promises for cursor files.  A failed write stops all further
 * writing.
 *
 * A count prints nothing per event, only the number at the end.  In
 * reverse, the formatted events are held, with where each begins, and
 * written newest first at the end: memory grows with the output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evlog_private.h"

/* buffered bytes that make ev_output_event() write them out */
#define EV_OUTPUT_FLUSH (1u << 20)

/* A buffered event: where its bytes end in buf, and the offset after it. */
struct out_mark {
	size_t end;
	uint64_t next;
};

struct ev_output {
	int fd;
	enum ev_out_format fmt;
	struct ev_template *tpl;
	struct ev_fieldlist *fields;
	int color;
	struct ev_buf buf;
	struct out_mark *marks; /* of the events in buf, in order */
	size_t nmarks, capmarks;
	int failed; /* errno of the failed write, 0 */
	uint64_t printed, written;
	uint64_t count; /* events formatted */
	int reverse, ended;
	size_t *starts; /* reverse: where each held event begins in buf */
	size_t nstarts, cap;
	int32_t partition; /* a Kafka log's, or -1 */
};

int ev_output_new(struct ev_output **out, int fd, enum ev_out_format fmt,
		  struct ev_template *tpl, int color, struct ev_error *err)
{
	struct ev_output *o;

	*out = NULL;
	if (fmt == EV_OUT_TEMPLATE && tpl == NULL)
		return ev_seterr(err, EV_EUSAGE,
				 "a template output needs a "
				 "template");
	if ((o = calloc(1, sizeof(*o))) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	o->fd = fd;
	o->fmt = fmt;
	o->tpl = tpl;
	o->color = color;
	o->partition = -1;
	*out = o;
	return 0;
}

void ev_output_set_partition(struct ev_output *o, int32_t partition)
{
	o->partition = partition;
}

/* JSON output of a Kafka log: "partition" beside "offset", first */
static int put_partition(struct ev_output *o, size_t mark, int32_t partition)
{
	char tmp[32];
	int n;

	if (o->buf.len - mark < 2 || o->buf.p[mark] != '{')
		return 0;
	n = snprintf(tmp, sizeof(tmp), "\"partition\":%d,", (int)partition);
	if (ev_buf_reserve(&o->buf, (size_t)n) != 0)
		return -1;
	memmove(o->buf.p + mark + 1 + n, o->buf.p + mark + 1,
		o->buf.len - mark - 1);
	memcpy(o->buf.p + mark + 1, tmp, (size_t)n);
	o->buf.len += (size_t)n;
	return 0;
}

void ev_output_free(struct ev_output *o)
{
	if (o == NULL)
		return;
	ev_buf_free(&o->buf);
	free(o->starts);
	free(o->marks);
	free(o);
}

int ev_output_set_fields(struct ev_output *o, struct ev_fieldlist *fl,
			 struct ev_error *err)
{
	int sep = o->fmt == EV_OUT_CSV ? ',' : '\t';

	if (o->fmt != EV_OUT_JSON && o->fmt != EV_OUT_CSV &&
	    o->fmt != EV_OUT_TSV)
		return ev_seterr(err, EV_EUSAGE,
				 "fields go with JSON, CSV or TSV output");
	o->fields = fl;
	/* the header row, even when no event follows */
	if (o->fmt != EV_OUT_JSON &&
	    (ev_fieldlist_header(fl, sep, &o->buf) != 0 ||
	     ev_buf_putc(&o->buf, '\n') != 0))
		return ev_seterr(err, EV_ERR, "out of memory");
	return 0;
}

void ev_output_set_reverse(struct ev_output *o)
{
	o->reverse = 1;
}

int ev_output_needs_event(const struct ev_output *o)
{
	return (o->fmt != EV_OUT_JSON && o->fmt != EV_OUT_COUNT) ||
	       o->fields != NULL;
}

int ev_output_flush(struct ev_output *o, struct ev_error *err)
{
	size_t off = 0, i;
	ssize_t w;

	if (o->reverse && !o->ended && !o->failed)
		return 0; /* held until ev_output_end() */
	while (!o->failed && off < o->buf.len) {
		w = write(o->fd, o->buf.p + off, o->buf.len - off);
		if (w > 0)
			off += (size_t)w;
		else if (w < 0 && errno != EINTR)
			o->failed = errno;
		else if (w == 0)
			o->failed = EIO;
	}
	/* the events whose every byte went out, whatever came after (in
	 * reverse, none is marked: a cut leaves the position at the start) */
	for (i = 0; i < o->nmarks && o->marks[i].end <= off; i++)
		o->written = o->marks[i].next;
	o->nmarks = 0;
	o->buf.len = 0;
	if (o->failed)
		return ev_seterr_errno(err, EV_EIO, o->failed,
				       "cannot write output");
	o->written = o->printed; /* all of it is out */
	return 0;
}

/* Remember where the event just formatted ends.  Without memory for it,
 * the event counts as written only once the whole buffer is: later, never
 * earlier, so nothing is lost. */
static void note_end(struct ev_output *o, uint64_t next)
{
	struct out_mark *nm;

	if (o->nmarks == o->capmarks) {
		size_t cap = o->capmarks ? 2 * o->capmarks : 256;
		if ((nm = realloc(o->marks, cap * sizeof(*nm))) == NULL)
			return;
		o->marks = nm;
		o->capmarks = cap;
	}
	o->marks[o->nmarks].end = o->buf.len;
	o->marks[o->nmarks].next = next;
	o->nmarks++;
}

int ev_output_event(struct ev_output *o, const struct ev_rec *rec,
		    const struct ev_event *ev, struct ev_error *err)
{
	size_t mark = o->buf.len;
	struct ev_event kev;
	int32_t partition = o->partition;
	uint64_t offset = rec->offset;
	int r;

	if (rec->kafka) {
		/* a Kafka log's record: its partition and offset, not the
		 * scan's count */
		partition = rec->partition;
		offset = (uint64_t)rec->koffset;
		if (ev != NULL) {
			kev = *ev;
			kev.offset = offset;
			ev = &kev;
		}
	}
	if (o->failed)
		return ev_seterr_errno(err, EV_EIO, o->failed,
				       "cannot write output");
	if (o->fmt == EV_OUT_COUNT) {
		o->count++;
		o->printed = rec->offset + 1;
		return 0;
	}
	if (o->reverse && o->nstarts == o->cap) {
		size_t cap = o->cap ? 2 * o->cap : 1024;
		size_t *ns = realloc(o->starts, cap * sizeof(*ns));
		if (ns == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		o->starts = ns;
		o->cap = cap;
	}
	if (ev == NULL && o->fmt == EV_OUT_JSON && o->fields == NULL) {
		/* one pass from record to JSON, no decoded event */
		r = ev_record_to_json(rec->p, rec->n, offset, &o->buf, err);
	} else if (ev == NULL) {
		r = ev_seterr(err, EV_EUSAGE, "this output needs the event");
	} else {
		switch (o->fmt) {
		case EV_OUT_PRETTY:
			r = ev_event_to_pretty(ev, &o->buf, o->color, err);
			break;
		case EV_OUT_CLOUDEVENTS:
			r = ev_event_to_cloudevent(ev, &o->buf, err);
			break;
		case EV_OUT_MSGPACK:
			r = ev_event_to_msgpack(ev, &o->buf, err);
			break;
		case EV_OUT_TEMPLATE:
			r = ev_template_render(o->tpl, ev, &o->buf, err);
			break;
		case EV_OUT_CSV:
		case EV_OUT_TSV:
			r = o->fields == NULL
				    ? ev_seterr(
					      err, EV_EUSAGE,
					      "CSV and TSV output need fields")
				    : ev_fieldlist_row(o->fields, ev,
						       o->fmt == EV_OUT_CSV
							       ? ','
							       : '\t',
						       &o->buf, err);
			break;
		default:
			r = o->fields != NULL
				    ? ev_fieldlist_json(o->fields, ev, &o->buf,
							err)
				    : ev_event_to_json(ev, &o->buf, 0, err);
			break;
		}
	}
	if (r == 0 && partition >= 0 && o->fmt == EV_OUT_JSON &&
	    o->fields == NULL && put_partition(o, mark, partition) != 0)
		r = ev_seterr(err, EV_ERR, "out of memory");
	if (r == 0 && o->fmt != EV_OUT_MSGPACK) {
		if (o->buf.len < o->buf.cap) /* nearly always: JSON_BOUND */
			o->buf.p[o->buf.len++] = '\n';
		else if (ev_buf_putc(&o->buf, '\n') != 0)
			r = ev_seterr(err, EV_ERR, "out of memory");
	}
	if (r != 0) {
		o->buf.len = mark; /* no half event */
		return r;
	}
	o->printed = rec->offset + 1;
	o->count++;
	if (o->reverse) {
		o->starts[o->nstarts++] = mark;
		return 0;
	}
	note_end(o, o->printed);
	if (o->buf.len >= EV_OUTPUT_FLUSH)
		return ev_output_flush(o, err);
	return 0;
}

int ev_output_end(struct ev_output *o, struct ev_error *err)
{
	struct ev_buf rev = {0};
	size_t i, end;
	char num[24];

	if (o->ended)
		return 0;
	if (o->fmt == EV_OUT_COUNT) {
		size_t n = (size_t)(ev_fmt_u64(num, o->count) - num);
		if (ev_buf_append(&o->buf, num, n) != 0 ||
		    ev_buf_putc(&o->buf, '\n') != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
	} else if (o->reverse && o->nstarts > 1) {
		/* what came before the first event (a header) stays first */
		if (ev_buf_reserve(&rev, o->buf.len) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		ev_buf_append(&rev, o->buf.p, o->starts[0]);
		for (end = o->buf.len, i = o->nstarts; i-- > 0;
		     end = o->starts[i])
			ev_buf_append(&rev, o->buf.p + o->starts[i],
				      end - o->starts[i]);
		ev_buf_free(&o->buf);
		o->buf = rev;
	}
	o->ended = 1;
	return ev_output_flush(o, err);
}

void ev_output_set_position(struct ev_output *o, uint64_t pos)
{
	o->printed = o->written = pos;
}

int ev_output_errno(const struct ev_output *o)
{
	return o->failed;
}

uint64_t ev_output_printed(const struct ev_output *o)
{
	return o->printed;
}

uint64_t ev_output_written(const struct ev_output *o)
{
	return o->written;
}

/* ------------------------------------------------------------ indenting */

static int indent(struct ev_buf *out, int depth)
{
	int r = ev_buf_putc(out, '\n');

	while (r == 0 && depth-- > 0)
		r = ev_buf_puts(out, "  ");
	return r;
}

int ev_json_indent(struct ev_buf *out, const char *s, size_t n)
{
	int depth = 0, in_str = 0, esc = 0, r = 0;
	size_t k;

	for (k = 0; k < n && r == 0; k++) {
		char ch = s[k];
		if (in_str) {
			if (esc)
				esc = 0;
			else if (ch == '\\')
				esc = 1;
			else if (ch == '"')
				in_str = 0;
			r = ev_buf_putc(out, ch);
			continue;
		}
		switch (ch) {
		case '{':
		case '[':
			/* empty containers stay on one line */
			if (k + 1 < n && (s[k + 1] == '}' || s[k + 1] == ']')) {
				r = ev_buf_putc(out, ch) ||
				    ev_buf_putc(out, s[++k]);
				break;
			}
			r = ev_buf_putc(out, ch) || indent(out, ++depth);
			break;
		case '}':
		case ']':
			r = indent(out, --depth) || ev_buf_putc(out, ch);
			break;
		case ',':
			r = ev_buf_putc(out, ch) || indent(out, depth);
			break;
		case ':':
			r = ev_buf_puts(out, ": ");
			break;
		default:
			in_str = ch == '"';
			r = ev_buf_putc(out, ch);
		}
	}
	if (r == 0)
		r = ev_buf_putc(out, '\n');
	return r ? EV_ERR : 0;
}
