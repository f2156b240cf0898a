/*
 * output.c - struct ev_output: events formatted for people and pipes
 * (JSON lines, pretty, CloudEvents, MessagePack, a template) and written
 * to a descriptor in large writes.
 *
 * It remembers two positions, so that a cursor never claims an event the
 * reader at the other end did not get: the offset after the last event
 * formatted, and after the last one written out in full.  Where each
 * buffered event ends is kept, so that when a write fails part way (a
 * closed pipe), the events before the cut still count as written, as
 * evtail(1) promises for cursor files.  A failed write stops all further
 * writing.
 */
#include <errno.h>
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
	int color;
	struct ev_buf buf;
	struct out_mark *marks; /* of the events in buf, in order */
	size_t nmarks, capmarks;
	int failed; /* errno of the failed write, 0 */
	uint64_t printed, written;
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
	*out = o;
	return 0;
}

void ev_output_free(struct ev_output *o)
{
	if (o == NULL)
		return;
	ev_buf_free(&o->buf);
	free(o->marks);
	free(o);
}

int ev_output_needs_event(const struct ev_output *o)
{
	return o->fmt != EV_OUT_JSON;
}

int ev_output_flush(struct ev_output *o, struct ev_error *err)
{
	size_t off = 0;
	ssize_t w;

	size_t i;

	while (!o->failed && off < o->buf.len) {
		w = write(o->fd, o->buf.p + off, o->buf.len - off);
		if (w > 0)
			off += (size_t)w;
		else if (w < 0 && errno != EINTR)
			o->failed = errno;
		else if (w == 0)
			o->failed = EIO;
	}
	/* the events whose every byte went out, whatever came after */
	for (i = 0; i < o->nmarks && o->marks[i].end <= off; i++)
		o->written = o->marks[i].next;
	o->buf.len = 0;
	o->nmarks = 0;
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
	int r;

	if (o->failed)
		return ev_seterr_errno(err, EV_EIO, o->failed,
				       "cannot write output");
	if (ev == NULL && o->fmt == EV_OUT_JSON) {
		/* one pass from record to JSON, no decoded event */
		r = ev_record_to_json(rec->p, rec->n, rec->offset, &o->buf,
				      err);
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
		default:
			r = ev_event_to_json(ev, &o->buf, 0, err);
			break;
		}
	}
	if (r == 0 && o->fmt != EV_OUT_MSGPACK &&
	    ev_buf_putc(&o->buf, '\n') != 0)
		r = ev_seterr(err, EV_ERR, "out of memory");
	if (r != 0) {
		o->buf.len = mark; /* no half event */
		return r;
	}
	o->printed = rec->offset + 1;
	note_end(o, o->printed);
	if (o->buf.len >= EV_OUTPUT_FLUSH)
		return ev_output_flush(o, err);
	return 0;
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
