/*
 * evtail_kafka.c - evtail on a kafka:// log: a consumer without a group
 * (lib/kafka_client.c), each record mapped to its event (lib/kafka.c),
 * then evtail's filters and outputs, with "partition" beside "offset".
 * See evtail(1) KAFKA.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evlog.h"
#include "evtail_kafka.h"
#include "fe.h"

int evtail_kafka_run(struct evtail_kafka *k, struct ev_filter *flt, int has_max,
		     uint64_t max, enum ev_out_format fmt,
		     struct ev_template *tpl, struct ev_fieldlist *fields,
		     int color, int reverse, int follow,
		     volatile sig_atomic_t *stop, const char *usage)
{
	struct ev_kafka_addr addr;
	struct ev_kafka_consumer_opts co;
	struct ev_kafka_consumer *c = NULL;
	struct ev_output *out = NULL;
	struct ev_kafka_decoder *dec = NULL;
	struct ev_kafka_msg m;
	struct ev_error err;
	struct ev_event ev;
	struct ev_rec rec;
	uint64_t printed = 0;
	int64_t idle = 0; /* ms without a record or an end, not following */
	int32_t part;
	int64_t off;
	int rc = -1, r;

	memset(&m, 0, sizeof(m));
	ev_kafka_msg_reset(&m);
	if (ev_kafka_addr_parse(k->addr, &addr, &err) != 0)
		return fe_usage_error(usage, "%s", err.msg);
	memset(&co, 0, sizeof(co));
	co.conn.addr = &addr;
	co.conn.props = &k->props;
	co.conn.timeout_ms = (int)k->timeout_ms;
	co.from = k->from;
	co.nfrom = k->nfrom;
	co.has_last = k->has_last;
	co.last = k->last;
	co.follow = follow;
	if (ev_kafka_decoder_new(&dec, &err) != 0) {
		rc = fe_report(&err);
		goto out;
	}
	if (ev_output_new(&out, STDOUT_FILENO, fmt, tpl, color, &err) != 0 ||
	    (fields != NULL && ev_output_set_fields(out, fields, &err) != 0)) {
		rc = fe_report(&err);
		goto out;
	}
	if (reverse)
		ev_output_set_reverse(out);
	if ((r = ev_kafka_consumer_open(&c, &co, &err)) != 0) {
		rc = r == EV_EUSAGE ? fe_usage_error(usage, "%s", err.msg)
				    : fe_report(&err);
		goto out;
	}
	while (!*stop && (!has_max || printed < max)) {
		r = ev_kafka_consumer_next(c, 200, &m, &part, &off, &err);
		if (r == 0)
			break;
		if (r == EV_EAGAIN) {
			if (ev_output_flush(out, &err) != 0)
				break;
			/* never a hang: the ends must come within the
			 * timeout (a partition without a leader) */
			idle += 200;
			if (!follow && idle >= k->timeout_ms) {
				fe_warn("kafka '%s': topic '%s': no record and "
					"no end within %lld ms "
					"(--kafka-timeout)",
					addr.brokers, addr.topic,
					(long long)k->timeout_ms);
				rc = EV_EXIT_IO;
				break;
			}
			continue;
		}
		idle = 0;
		if (r < 0) {
			rc = fe_report(&err);
			break;
		}
		if ((r = ev_kafka_decode(dec, &m, addr.topic, part, off, &rec,
					 &ev, &err)) != 0) {
			rc = fe_report(&err);
			break;
		}
		if (!ev_filter_match(flt, &ev))
			continue;
		ev_output_set_partition(out, part);
		if ((r = ev_output_event(out, &rec, &ev, &err)) != 0) {
			if (ev_output_errno(out) == 0)
				rc = fe_report(&err);
			break;
		}
		printed++;
	}
	if (ev_output_errno(out) == 0 && (r = ev_output_end(out, &err)) != 0 &&
	    rc < 0)
		rc = fe_report(&err);
	if (rc < 0 && ev_output_errno(out) != 0 &&
	    ev_output_errno(out) != EPIPE)
		rc = fe_report(&err);
out:
	ev_kafka_consumer_close(c);
	ev_output_free(out);
	ev_kafka_decoder_free(dec);
	ev_kafka_msg_free(&m);
	return rc < 0 ? EV_EXIT_OK : rc;
}
