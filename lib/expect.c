/*
 * expect.c - the expected version of a stream (enum ev_expect), as
 * evpub --expect-version gives it: its spelling, and the rule that an
 * exact version is for one stream.  The writer checks the version
 * itself (writer.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"

int ev_expect_parse(const char *s, enum ev_expect *expect, uint64_t *version,
		    struct ev_error *err)
{
	unsigned long long v;
	char *end;

	*version = 0;
	if (strcmp(s, "any") == 0) {
		*expect = EV_EXPECT_ANY;
	} else if (strcmp(s, "none") == 0) {
		*expect = EV_EXPECT_NONE;
	} else if (strcmp(s, "exists") == 0) {
		*expect = EV_EXPECT_EXISTS;
	} else {
		errno = 0;
		v = strtoull(s, &end, 10);
		if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0)
			return ev_seterr(err, EV_EUSAGE,
					 "'%s' is not a version number, none, "
					 "exists or any",
					 s);
		*expect = EV_EXPECT_VERSION;
		*version = v;
	}
	return 0;
}

int ev_expect_one_stream(struct ev_buf *first, const uint8_t *rec, size_t n,
			 struct ev_error *err)
{
	struct ev_event ev;
	struct ev_error e2;

	if (ev_event_decode_head(rec, n, &ev, &e2) != 0)
		return 0; /* the writer reports it */
	if (ev.stream.p == NULL)
		return ev_seterr(err, EV_EUSAGE, "this one has none");
	if (first->p == NULL) {
		/* kept NUL-terminated for the message below */
		if (ev_buf_append(first, ev.stream.p, ev.stream.n) != 0 ||
		    ev_buf_putc(first, '\0') != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
		return 0;
	}
	if (first->len - 1 != ev.stream.n ||
	    memcmp(first->p, ev.stream.p, ev.stream.n) != 0)
		return ev_seterr(err, EV_EUSAGE,
				 "this one is in '%.*s', not '%s'",
				 (int)(ev.stream.n > 200 ? 200 : ev.stream.n),
				 ev.stream.p, (const char *)first->p);
	return 0;
}
