/*
 * kafka_admin.c - the administration of Kafka logs (evctl(1) KAFKA):
 * a topic's metadata, brokers and watermarks (evctl info), consumer
 * groups' committed offsets against the high watermarks (evctl groups,
 * lag, metrics), the health check of a service (evctl health) and
 * topic creation through the admin API (evpub --create, and the replay
 * target).
 *
 * Every wait on the cluster is bounded by the --kafka-timeout.  A broker
 * is up when it answers a metadata request of its own within it: each
 * is asked on a connection of its own, all at once, since the metadata
 * a broker gives lists every broker whether it is up or not.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dlkafka_int.h"
#include "evlog_private.h"
#include "kafka_client_int.h"

/* ------------------------------------------------------------ clients */

/*
 * A client of the cluster (brokers: its bootstrap servers), with the
 * user's -X and --kafka-config, then group.id when group is not NULL.
 * The settings of the producer's and the consumer's (kafka_client.c):
 * quiet, no auto-created topics, connections given up within the
 * timeout; a consumer commits nothing by itself.
 */
static rd_kafka_t *client(const struct ev_kafka_conn_opts *o,
			  const char *brokers, rd_kafka_type_t type,
			  const char *group, struct ev_error *err)
{
	static const char *const ours[] = {"allow.auto.create.topics", "false",
					   NULL};
	static const char *const ours_consumer[] = {"allow.auto.create.topics",
						    "false",
						    "enable.auto.commit",
						    "false",
						    "enable.auto.offset.store",
						    "false",
						    NULL};
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	char es[512];

	conf = ev_kafka_make_conf(o, brokers,
				  type == RD_KAFKA_CONSUMER ? ours_consumer
							    : ours,
				  err);
	if (conf == NULL)
		return NULL;
	if (group != NULL &&
	    ev_kafka_conf_set(conf, "group.id", group, 0, err) != 0)
		goto fail;
	rk = rd_kafka_new(type, conf, es, sizeof(es));
	if (rk == NULL) {
		ev_seterr(err, EV_EUSAGE, "kafka: %s", es);
		goto fail;
	}
	return rk;
fail:
	rd_kafka_conf_destroy(conf);
	return NULL;
}

static int oom(struct ev_error *err)
{
	return ev_seterr(err, EV_ERR, "out of memory");
}

/* ------------------------------------------------------------ brokers */

struct probe {
	const struct ev_kafka_conn_opts *o;
	struct ev_kafka_broker_info *b;
	pthread_t th;
	int started;
};

/* one broker: does it answer a metadata request within the timeout? */
static void *probe_run(void *arg)
{
	struct probe *p = arg;
	const struct rd_kafka_metadata *md = NULL;
	struct ev_error err;
	char addr[300];
	rd_kafka_t *rk;

	snprintf(addr, sizeof(addr), "%s:%d", p->b->host, p->b->port);
	p->b->up = 0;
	rk = client(p->o, addr, RD_KAFKA_PRODUCER, NULL, &err);
	if (rk == NULL)
		return NULL;
	if (rd_kafka_metadata(rk, 0, NULL, &md, p->o->timeout_ms) ==
	    RD_KAFKA_RESP_ERR_NO_ERROR) {
		p->b->up = 1;
		rd_kafka_metadata_destroy(md);
	}
	rd_kafka_destroy(rk);
	return NULL;
}

static void check_brokers(const struct ev_kafka_conn_opts *o,
			  struct ev_kafka_topic_info *ti)
{
	struct probe *p = calloc(ti->nbrokers, sizeof(*p));
	size_t i;

	if (p == NULL) { /* one at a time, then */
		struct probe one;
		for (i = 0; i < ti->nbrokers; i++) {
			one.o = o;
			one.b = &ti->brokers[i];
			probe_run(&one);
		}
		return;
	}
	for (i = 0; i < ti->nbrokers; i++) {
		p[i].o = o;
		p[i].b = &ti->brokers[i];
		p[i].started =
			pthread_create(&p[i].th, NULL, probe_run, &p[i]) == 0;
		if (!p[i].started)
			probe_run(&p[i]);
	}
	for (i = 0; i < ti->nbrokers; i++)
		if (p[i].started)
			pthread_join(p[i].th, NULL);
	free(p);
}

/* ------------------------------------------------------------ topics */

const struct ev_kafka_broker_info *
ev_kafka_broker_find(const struct ev_kafka_topic_info *ti, int32_t id)
{
	size_t i;

	for (i = 0; i < ti->nbrokers; i++)
		if (ti->brokers[i].id == id)
			return &ti->brokers[i];
	return NULL;
}

void ev_kafka_topic_info_free(struct ev_kafka_topic_info *ti)
{
	if (ti == NULL)
		return;
	free(ti->brokers);
	free(ti->parts);
	free(ti);
}

static int by_id(const void *a, const void *b)
{
	const struct ev_kafka_broker_info *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int by_partition(const void *a, const void *b)
{
	const struct ev_kafka_part_info *x = a, *y = b;

	return x->partition < y->partition ? -1 : x->partition > y->partition;
}

/* the metadata of every topic (asking for one may create it), copied */
static int copy_metadata(rd_kafka_t *rk, const struct ev_kafka_conn_opts *o,
			 struct ev_kafka_topic_info *ti, struct ev_error *err)
{
	const struct rd_kafka_metadata *md = NULL;
	const struct rd_kafka_metadata_topic *t = NULL;
	rd_kafka_resp_err_t e;
	int i, r = 0;

	e = rd_kafka_metadata(rk, 1, NULL, &md, o->timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR)
		return ev_seterr(err, EV_EIO,
				 "kafka '%s': no metadata within %d ms "
				 "(--kafka-timeout): %s",
				 o->addr->brokers, o->timeout_ms,
				 rd_kafka_err2str(e));
	ti->controller = rd_kafka_controllerid(rk, 0);
	ti->brokers = calloc(md->broker_cnt > 0 ? (size_t)md->broker_cnt : 1,
			     sizeof(*ti->brokers));
	if (ti->brokers == NULL) {
		r = oom(err);
		goto out;
	}
	for (i = 0; i < md->broker_cnt; i++) {
		struct ev_kafka_broker_info *b = &ti->brokers[i];
		b->id = md->brokers[i].id;
		snprintf(b->host, sizeof(b->host), "%s", md->brokers[i].host);
		b->port = md->brokers[i].port;
		b->up = -1;
	}
	ti->nbrokers = (size_t)md->broker_cnt;
	qsort(ti->brokers, ti->nbrokers, sizeof(*ti->brokers), by_id);
	for (i = 0; i < md->topic_cnt; i++)
		if (strcmp(md->topics[i].topic, o->addr->topic) == 0)
			t = &md->topics[i];
	if (t == NULL || t->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
	    (t->err == 0 && t->partition_cnt == 0)) {
		r = ev_seterr(err, EV_ENOENT, "kafka '%s': no topic '%s'",
			      o->addr->brokers, o->addr->topic);
		goto out;
	}
	if (t->err != 0) {
		r = ev_seterr(err, EV_EIO, "kafka '%s': topic '%s': %s",
			      o->addr->brokers, o->addr->topic,
			      rd_kafka_err2str(t->err));
		goto out;
	}
	ti->parts = calloc((size_t)t->partition_cnt, sizeof(*ti->parts));
	if (ti->parts == NULL) {
		r = oom(err);
		goto out;
	}
	for (i = 0; i < t->partition_cnt; i++) {
		struct ev_kafka_part_info *p = &ti->parts[i];
		p->partition = t->partitions[i].id;
		p->leader = t->partitions[i].leader;
		p->nreplicas = t->partitions[i].replica_cnt;
		p->nisr = t->partitions[i].isr_cnt;
		p->low = p->high = -1;
		if (t->partitions[i].err != 0)
			snprintf(p->err, sizeof(p->err), "%s",
				 rd_kafka_err2str(t->partitions[i].err));
	}
	ti->nparts = (size_t)t->partition_cnt;
	qsort(ti->parts, ti->nparts, sizeof(*ti->parts), by_partition);
out:
	rd_kafka_metadata_destroy(md);
	return r;
}

/* each partition's watermarks, from its leader when it is up */
static void watermarks(rd_kafka_t *rk, const struct ev_kafka_conn_opts *o,
		       struct ev_kafka_topic_info *ti)
{
	const struct ev_kafka_broker_info *b;
	rd_kafka_resp_err_t e;
	size_t i;

	for (i = 0; i < ti->nparts; i++) {
		struct ev_kafka_part_info *p = &ti->parts[i];
		if (p->leader < 0) {
			snprintf(p->err, sizeof(p->err), "no leader");
			continue;
		}
		b = ev_kafka_broker_find(ti, p->leader);
		if (b == NULL) {
			snprintf(p->err, sizeof(p->err),
				 "leader %d is not a known broker",
				 (int)p->leader);
			continue;
		}
		if (b->up == 0) {
			snprintf(p->err, sizeof(p->err), "leader %d is down",
				 (int)p->leader);
			continue;
		}
		e = rd_kafka_query_watermark_offsets(rk, o->addr->topic,
						     p->partition, &p->low,
						     &p->high, o->timeout_ms);
		if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
			p->low = p->high = -1;
			snprintf(p->err, sizeof(p->err), "%s",
				 rd_kafka_err2str(e));
		}
	}
}

int ev_kafka_topic_describe(const struct ev_kafka_conn_opts *o,
			    struct ev_kafka_topic_info **out,
			    struct ev_error *err)
{
	struct ev_kafka_topic_info *ti;
	rd_kafka_t *rk;
	int r;

	*out = NULL;
	if ((ti = calloc(1, sizeof(*ti))) == NULL)
		return oom(err);
	snprintf(ti->topic, sizeof(ti->topic), "%s", o->addr->topic);
	ti->controller = -1;
	rk = client(o, o->addr->brokers, RD_KAFKA_CONSUMER, NULL, err);
	if (rk == NULL) {
		free(ti);
		return err->code;
	}
	if ((r = copy_metadata(rk, o, ti, err)) == 0) {
		check_brokers(o, ti);
		watermarks(rk, o, ti);
		*out = ti;
	} else {
		ev_kafka_topic_info_free(ti);
	}
	rd_kafka_destroy(rk);
	return r;
}

int ev_kafka_topic_create(const struct ev_kafka_conn_opts *o, int partitions,
			  int replication, struct ev_error *err)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_t *rk;
	rd_kafka_NewTopic_t *nt = NULL;
	rd_kafka_AdminOptions_t *ao = NULL;
	rd_kafka_queue_t *q = NULL;
	rd_kafka_event_t *ev = NULL;
	const rd_kafka_topic_result_t **tr;
	rd_kafka_resp_err_t e;
	int64_t deadline;
	char es[512];
	size_t n;
	int r = 0, i, found, tries;
	int32_t ctrl;

	rk = client(o, o->addr->brokers, RD_KAFKA_PRODUCER, NULL, err);
	if (rk == NULL)
		return err->code;
	/* there already: nothing to do */
	e = rd_kafka_metadata(rk, 1, NULL, &md, o->timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		r = ev_seterr(err, EV_EIO,
			      "kafka '%s': no metadata within %d ms "
			      "(--kafka-timeout): %s",
			      o->addr->brokers, o->timeout_ms,
			      rd_kafka_err2str(e));
		goto out;
	}
	found = 0;
	for (i = 0; i < md->topic_cnt; i++)
		if (strcmp(md->topics[i].topic, o->addr->topic) == 0 &&
		    md->topics[i].err == 0 && md->topics[i].partition_cnt > 0)
			found = 1;
	/* CreateTopics goes to the controller: a cluster that names none
	 * of its brokers would only time out (the mock names broker 0,
	 * which is none of them) */
	ctrl = rd_kafka_controllerid(rk, o->timeout_ms);
	for (i = 0; i < md->broker_cnt; i++)
		if (md->brokers[i].id == ctrl)
			found |= 2;
	rd_kafka_metadata_destroy(md);
	md = NULL;
	if (found & 1) {
		r = 1;
		goto out;
	}
	if (!(found & 2)) {
		r = ev_seterr(err, EV_ERR,
			      "kafka '%s': cannot create topic '%s': the "
			      "cluster names none of its brokers as the "
			      "controller, where CreateTopics goes",
			      o->addr->brokers, o->addr->topic);
		snprintf(err->hint, sizeof(err->hint),
			 "librdkafka's mock cluster has no controller and "
			 "no CreateTopics: name the topic when starting it");
		goto out;
	}
	nt = rd_kafka_NewTopic_new(o->addr->topic, partitions, replication, es,
				   sizeof(es));
	ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
	q = rd_kafka_queue_new(rk);
	if (nt == NULL) {
		r = ev_seterr(err, EV_EUSAGE,
			      "kafka '%s': cannot create topic '%s': %s",
			      o->addr->brokers, o->addr->topic, es);
		goto out;
	}
	if (ao == NULL || q == NULL) {
		r = oom(err);
		goto out;
	}
	if (rd_kafka_AdminOptions_set_request_timeout(ao, o->timeout_ms, es,
						      sizeof(es)) ||
	    rd_kafka_AdminOptions_set_operation_timeout(ao, o->timeout_ms, es,
							sizeof(es))) {
		r = ev_seterr(err, EV_EUSAGE, "kafka: %s", es);
		goto out;
	}
	rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
	ev = rd_kafka_queue_poll(q, o->timeout_ms + 1000);
	if (ev == NULL) {
		r = ev_seterr(err, EV_EIO,
			      "kafka '%s': cannot create topic '%s': no answer "
			      "within %d ms (--kafka-timeout)",
			      o->addr->brokers, o->addr->topic, o->timeout_ms);
		goto out;
	}
	if ((e = rd_kafka_event_error(ev)) != 0) {
		r = ev_seterr(err, EV_EIO,
			      "kafka '%s': cannot create topic '%s': %s",
			      o->addr->brokers, o->addr->topic,
			      rd_kafka_event_error_string(ev));
		goto out;
	}
	tr = rd_kafka_CreateTopics_result_topics(
		rd_kafka_event_CreateTopics_result(ev), &n);
	for (i = 0; i < (int)n; i++) {
		e = rd_kafka_topic_result_error(tr[i]);
		if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
			r = 1; /* someone else was quicker */
		} else if (e != 0) {
			const char *s =
				rd_kafka_topic_result_error_string(tr[i]);
			r = ev_seterr(
				err,
				e == RD_KAFKA_RESP_ERR_INVALID_PARTITIONS ||
						e == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR ||
						e == RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION
					? EV_EUSAGE
					: EV_EIO,
				"kafka '%s': cannot create topic '%s': %s",
				o->addr->brokers, o->addr->topic,
				s != NULL ? s : rd_kafka_err2str(e));
			goto out;
		}
	}
	/* the metadata of the other brokers follows the controller's: wait
	 * for the topic, so that a producer opened next finds it */
	deadline = (int64_t)(ev_now() / 1000000) + o->timeout_ms;
	for (tries = 0;; tries++) {
		found = 0;
		if (rd_kafka_metadata(rk, 1, NULL, &md, o->timeout_ms) == 0) {
			for (i = 0; i < md->topic_cnt; i++)
				if (strcmp(md->topics[i].topic,
					   o->addr->topic) == 0 &&
				    md->topics[i].err == 0 &&
				    md->topics[i].partition_cnt > 0)
					found = 1;
			rd_kafka_metadata_destroy(md);
			md = NULL;
		}
		if (found || (int64_t)(ev_now() / 1000000) >= deadline)
			break;
		rd_kafka_poll(rk, 100);
	}
	(void)tries;
out:
	if (ev != NULL)
		rd_kafka_event_destroy(ev);
	if (q != NULL)
		rd_kafka_queue_destroy(q);
	if (ao != NULL)
		rd_kafka_AdminOptions_destroy(ao);
	if (nt != NULL)
		rd_kafka_NewTopic_destroy(nt);
	rd_kafka_destroy(rk);
	return r;
}

/* ------------------------------------------------------------ groups */

void ev_kafka_group_offsets_free(struct ev_kafka_group_offsets *g, size_t n)
{
	size_t i;

	for (i = 0; g != NULL && i < n; i++) {
		free(g[i].group);
		free(g[i].committed);
	}
	free(g);
}

int ev_kafka_group_fetch(const struct ev_kafka_conn_opts *o,
			 const struct ev_kafka_topic_info *ti,
			 const char *group, struct ev_kafka_group_offsets *g,
			 struct ev_error *err)
{
	rd_kafka_topic_partition_list_t *l = NULL;
	rd_kafka_resp_err_t e;
	rd_kafka_t *rk;
	size_t i;
	int r = 0, k;

	memset(g, 0, sizeof(*g));
	if ((g->group = strdup(group)) == NULL ||
	    (g->committed = calloc(ti->nparts ? ti->nparts : 1,
				   sizeof(*g->committed))) == NULL)
		return oom(err);
	for (i = 0; i < ti->nparts; i++)
		g->committed[i] = -1;
	rk = client(o, o->addr->brokers, RD_KAFKA_CONSUMER, group, err);
	if (rk == NULL)
		return err->code;
	if ((l = rd_kafka_topic_partition_list_new((int)ti->nparts)) == NULL) {
		r = oom(err);
		goto out;
	}
	for (i = 0; i < ti->nparts; i++)
		rd_kafka_topic_partition_list_add(l, ti->topic,
						  ti->parts[i].partition);
	/* OffsetFetch from the group's coordinator: it does not join */
	e = rd_kafka_committed(rk, l, o->timeout_ms);
	if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
		r = ev_seterr(err, EV_EIO,
			      "kafka '%s': committed offsets of group '%s': %s",
			      o->addr->brokers, group, rd_kafka_err2str(e));
		goto out;
	}
	for (k = 0; k < l->cnt; k++) {
		if (l->elems[k].err != 0) {
			r = ev_seterr(err, EV_EIO,
				      "kafka '%s': committed offsets of group "
				      "'%s': partition %d: %s",
				      o->addr->brokers, group,
				      (int)l->elems[k].partition,
				      rd_kafka_err2str(l->elems[k].err));
			goto out;
		}
		for (i = 0; i < ti->nparts; i++)
			if (ti->parts[i].partition == l->elems[k].partition &&
			    l->elems[k].offset >= 0) {
				g->committed[i] = l->elems[k].offset;
				g->any = 1;
			}
	}
out:
	if (l != NULL)
		rd_kafka_topic_partition_list_destroy(l);
	rd_kafka_destroy(rk);
	return r;
}

void ev_kafka_group_names_free(char **names, size_t n)
{
	size_t i;

	for (i = 0; names != NULL && i < n; i++)
		free(names[i]);
	free(names);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int ev_kafka_group_list(const struct ev_kafka_conn_opts *o, char ***names,
			size_t *nnames, struct ev_error *err)
{
	const rd_kafka_ListConsumerGroups_result_t *res;
	const rd_kafka_ConsumerGroupListing_t **v;
	const rd_kafka_error_t **errs;
	rd_kafka_AdminOptions_t *ao = NULL;
	rd_kafka_queue_t *q = NULL;
	rd_kafka_event_t *ev = NULL;
	rd_kafka_t *rk;
	char es[512], **out = NULL;
	size_t n = 0, ne = 0, i, k;
	int r = 0, unsupported = 0;

	*names = NULL;
	*nnames = 0;
	rk = client(o, o->addr->brokers, RD_KAFKA_PRODUCER, NULL, err);
	if (rk == NULL)
		return err->code;
	ao = rd_kafka_AdminOptions_new(rk,
				       RD_KAFKA_ADMIN_OP_LISTCONSUMERGROUPS);
	q = rd_kafka_queue_new(rk);
	if (ao == NULL || q == NULL) {
		r = oom(err);
		goto out;
	}
	if (rd_kafka_AdminOptions_set_request_timeout(ao, o->timeout_ms, es,
						      sizeof(es))) {
		r = ev_seterr(err, EV_EUSAGE, "kafka: %s", es);
		goto out;
	}
	/* ListGroups to every broker */
	rd_kafka_ListConsumerGroups(rk, ao, q);
	ev = rd_kafka_queue_poll(q, o->timeout_ms + 1000);
	if (ev == NULL) {
		r = ev_seterr(err, EV_EIO,
			      "kafka '%s': cannot list consumer groups: no "
			      "answer within %d ms (--kafka-timeout)",
			      o->addr->brokers, o->timeout_ms);
		goto out;
	}
	if (rd_kafka_event_error(ev) != 0) {
		r = ev_seterr(err, EV_EIO,
			      "kafka '%s': cannot list consumer groups: %s",
			      o->addr->brokers,
			      rd_kafka_event_error_string(ev));
		goto out;
	}
	res = rd_kafka_event_ListConsumerGroups_result(ev);
	errs = rd_kafka_ListConsumerGroups_result_errors(res, &ne);
	for (i = 0; i < ne; i++)
		if (rd_kafka_error_code(errs[i]) ==
		    RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE)
			unsupported = 1;
	if (unsupported) {
		r = ev_seterr(err, EV_ERR,
			      "kafka '%s': cannot list consumer groups: the "
			      "cluster does not answer ListGroups requests",
			      o->addr->brokers);
		snprintf(err->hint, sizeof(err->hint),
			 "name the group with --group (librdkafka's mock "
			 "cluster has no ListGroups)");
		goto out;
	}
	if (ne > 0) { /* a broker did not answer: the list is not whole */
		r = ev_seterr(err, EV_EIO,
			      "kafka '%s': cannot list consumer groups: %s",
			      o->addr->brokers, rd_kafka_error_string(errs[0]));
		goto out;
	}
	v = rd_kafka_ListConsumerGroups_result_valid(res, &n);
	if ((out = calloc(n ? n : 1, sizeof(*out))) == NULL) {
		r = oom(err);
		goto out;
	}
	for (i = k = 0; i < n; i++) {
		/* consumer groups only: Connect's and others' use no offsets */
		if (!rd_kafka_ConsumerGroupListing_is_simple_consumer_group(
			    v[i]) &&
		    rd_kafka_ConsumerGroupListing_state(v[i]) ==
			    RD_KAFKA_CONSUMER_GROUP_STATE_DEAD)
			continue;
		if ((out[k] = strdup(rd_kafka_ConsumerGroupListing_group_id(
			     v[i]))) == NULL) {
			ev_kafka_group_names_free(out, k);
			out = NULL;
			r = oom(err);
			goto out;
		}
		k++;
	}
	qsort(out, k, sizeof(*out), by_name);
	*names = out;
	*nnames = k;
out:
	if (ev != NULL)
		rd_kafka_event_destroy(ev);
	if (q != NULL)
		rd_kafka_queue_destroy(q);
	if (ao != NULL)
		rd_kafka_AdminOptions_destroy(ao);
	rd_kafka_destroy(rk);
	return r;
}

int ev_kafka_groups_fetch(const struct ev_kafka_conn_opts *o,
			  const struct ev_kafka_topic_info *ti,
			  const char *const *groups, size_t ngroups,
			  struct ev_kafka_group_offsets **out, size_t *nout,
			  struct ev_error *err)
{
	struct ev_kafka_group_offsets *g;
	char **names = NULL;
	size_t n = 0, i, k = 0;
	int r = 0, listed = groups == NULL;

	*out = NULL;
	*nout = 0;
	if (listed) {
		if ((r = ev_kafka_group_list(o, &names, &n, err)) != 0)
			return r;
		groups = (const char *const *)names;
	} else {
		n = ngroups;
	}
	if ((g = calloc(n ? n : 1, sizeof(*g))) == NULL) {
		ev_kafka_group_names_free(names, n);
		return oom(err);
	}
	for (i = 0; i < n && r == 0; i++) {
		r = ev_kafka_group_fetch(o, ti, groups[i], &g[k], err);
		k++;
		/* listed: only the groups with offsets in this topic */
		if (r == 0 && listed && !g[k - 1].any) {
			k--;
			free(g[k].group);
			free(g[k].committed);
		}
	}
	ev_kafka_group_names_free(names, listed ? n : 0);
	if (r != 0) {
		ev_kafka_group_offsets_free(g, k);
		return r;
	}
	*out = g;
	*nout = k;
	return 0;
}

/* ------------------------------------------------------------ figures */

int ev_kafka_partition_lag(const struct ev_kafka_part_info *p,
			   int64_t committed, uint64_t *lag)
{
	int64_t from;

	*lag = 0;
	if (p->low < 0 || p->high < 0)
		return -1;
	/* no commit, or one trimmed away: the group reads from the low
	 * watermark (what was trimmed before it read it is not counted) */
	from = committed < p->low ? p->low : committed;
	if (from > p->high)
		return 1; /* past the end */
	*lag = (uint64_t)(p->high - from);
	return 0;
}

/* the lag of group g over the topic: 0; 1 when a committed offset is
 * past the end, *past the partition; -1 when a partition's watermarks
 * are unknown, *bad the partition */
static int group_lag(const struct ev_kafka_topic_info *ti,
		     const struct ev_kafka_group_offsets *g, uint64_t *lag,
		     size_t *bad)
{
	uint64_t l;
	size_t i;
	int r, past = 0;

	*lag = 0;
	for (i = 0; i < ti->nparts; i++) {
		r = ev_kafka_partition_lag(&ti->parts[i], g->committed[i], &l);
		if (r < 0) {
			*bad = i;
			return -1;
		}
		if (r > 0 && !past) {
			past = 1;
			*bad = i;
		}
		*lag += l;
	}
	return past;
}

static int bput(struct ev_buf *b, const char *fmt, ...) EV_PRINTF(2, 3);

static int bput(struct ev_buf *b, const char *fmt, ...)
{
	char buf[1024], *big;
	va_list ap;
	int n, r;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n < sizeof(buf))
		return ev_buf_append(b, buf, (size_t)n);
	/* a long group name: the whole of it */
	if ((big = malloc((size_t)n + 1)) == NULL)
		return -1;
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	r = ev_buf_append(b, big, (size_t)n);
	free(big);
	return r;
}

static uint64_t topic_events(const struct ev_kafka_topic_info *ti)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < ti->nparts; i++)
		if (ti->parts[i].low >= 0 &&
		    ti->parts[i].high >= ti->parts[i].low)
			n += (uint64_t)(ti->parts[i].high - ti->parts[i].low);
	return n;
}

static size_t brokers_up(const struct ev_kafka_topic_info *ti)
{
	size_t i, n = 0;

	for (i = 0; i < ti->nbrokers; i++)
		n += ti->brokers[i].up == 1;
	return n;
}

/* "ok", or why a partition has no watermarks */
static const char *part_state(const struct ev_kafka_part_info *p)
{
	return p->err[0] ? p->err : "ok";
}

static const char *i64(int64_t v, char buf[32])
{
	if (v < 0)
		return "-";
	return ev_commas((uint64_t)v, buf);
}

int ev_kafka_info_format(struct ev_buf *out, const char *name,
			 const struct ev_kafka_topic_info *ti, int json)
{
	char b1[32], b2[32], b3[32], b4[32];
	size_t i;
	int bad = 0;

	if (json) {
		bad |= ev_buf_puts(out, "{\"path\":") ||
		       ev_json_string(out, name, strlen(name)) ||
		       ev_buf_puts(out, ",\"topic\":") ||
		       ev_json_string(out, ti->topic, strlen(ti->topic));
		bad |= bput(out,
			    ",\"events\":%llu,\"controller\":%d,"
			    "\"brokers\":[",
			    (unsigned long long)topic_events(ti),
			    (int)ti->controller);
		for (i = 0; i < ti->nbrokers; i++) {
			const struct ev_kafka_broker_info *b = &ti->brokers[i];
			bad |= bput(out, "%s{\"id\":%d,\"host\":", i ? "," : "",
				    (int)b->id) ||
			       ev_json_string(out, b->host, strlen(b->host)) ||
			       bput(out, ",\"port\":%d,\"up\":%s}", b->port,
				    b->up == 1 ? "true" : "false");
		}
		bad |= ev_buf_puts(out, "],\"partitions\":[");
		for (i = 0; i < ti->nparts; i++) {
			const struct ev_kafka_part_info *p = &ti->parts[i];
			bad |= bput(out,
				    "%s{\"partition\":%d,\"leader\":%d,"
				    "\"replicas\":%d,\"isr\":%d,",
				    i ? "," : "", (int)p->partition,
				    (int)p->leader, p->nreplicas, p->nisr);
			if (p->low >= 0 && p->high >= 0)
				bad |= bput(out,
					    "\"low\":%lld,\"high\":%lld,"
					    "\"events\":%lld,",
					    (long long)p->low,
					    (long long)p->high,
					    (long long)(p->high - p->low));
			else
				bad |= ev_buf_puts(out,
						   "\"low\":null,\"high\":null,"
						   "\"events\":null,");
			bad |= ev_buf_puts(out, "\"state\":") ||
			       ev_json_string(out, part_state(p),
					      strlen(part_state(p))) ||
			       ev_buf_putc(out, '}');
		}
		bad |= ev_buf_puts(out, "]}\n");
		return bad ? EV_ERR : 0;
	}
	bad |= ev_buf_puts(out, "log:          ") || ev_buf_puts(out, name);
	bad |= bput(out, "\ntopic:        %s\n", ti->topic);
	bad |= bput(out, "brokers:      %zu, %zu up\n", ti->nbrokers,
		    brokers_up(ti));
	for (i = 0; i < ti->nbrokers; i++) {
		const struct ev_kafka_broker_info *b = &ti->brokers[i];
		bad |= bput(out, "  broker %d at %s:%d: %s%s\n", (int)b->id,
			    b->host, b->port, b->up == 1 ? "up" : "down",
			    b->id == ti->controller ? ", controller" : "");
	}
	bad |= bput(out, "partitions:   %zu\n", ti->nparts);
	bad |= bput(out, "events:       %s\n", ev_commas(topic_events(ti), b1));
	bad |= bput(out, "%9s %7s %8s %4s %14s %14s %14s  %s\n", "PARTITION",
		    "LEADER", "REPLICAS", "ISR", "LOW", "HIGH", "EVENTS",
		    "STATE");
	for (i = 0; i < ti->nparts; i++) {
		const struct ev_kafka_part_info *p = &ti->parts[i];
		int ok = p->low >= 0 && p->high >= 0;
		bad |= bput(out, "%9d %7s %8d %4d %14s %14s %14s  %s\n",
			    (int)p->partition,
			    p->leader >= 0 ? i64(p->leader, b4) : "-",
			    p->nreplicas, p->nisr, i64(p->low, b1),
			    i64(p->high, b2),
			    ok ? i64(p->high - p->low, b3) : "-",
			    part_state(p));
	}
	return bad ? EV_ERR : 0;
}

int ev_kafka_groups_format(struct ev_buf *out,
			   const struct ev_kafka_topic_info *ti,
			   const struct ev_kafka_group_offsets *g, size_t n,
			   int json)
{
	char b1[32], b2[32], b3[32];
	int namew = 20, bad = 0;
	uint64_t lag, total;
	size_t i, k;
	int r;

	for (i = 0; i < n; i++)
		if (strlen(g[i].group) > (size_t)namew)
			namew = (int)strlen(g[i].group);
	if (!json && n > 0)
		bad |= bput(out, "%-*s %9s %14s %14s %14s\n", namew, "GROUP",
			    "PARTITION", "OFFSET", "END", "LAG");
	for (i = 0; i < n && !bad; i++) {
		if (json) {
			total = 0;
			for (k = 0; k < ti->nparts; k++) {
				ev_kafka_partition_lag(&ti->parts[k],
						       g[i].committed[k], &lag);
				total += lag;
			}
			bad |= ev_buf_puts(out, "{\"group\":") ||
			       ev_json_string(out, g[i].group,
					      strlen(g[i].group)) ||
			       ev_buf_puts(out, ",\"topic\":") ||
			       ev_json_string(out, ti->topic,
					      strlen(ti->topic)) ||
			       bput(out, ",\"lag\":%llu,\"partitions\":[",
				    (unsigned long long)total);
		}
		for (k = 0; k < ti->nparts && !bad; k++) {
			const struct ev_kafka_part_info *p = &ti->parts[k];
			int64_t c = g[i].committed[k];
			r = ev_kafka_partition_lag(p, c, &lag);
			if (json) {
				bad |= bput(out,
					    "%s{\"partition\":%d,\"next\":",
					    k ? "," : "", (int)p->partition);
				bad |= c >= 0 ? bput(out, "%lld", (long long)c)
					      : ev_buf_puts(out, "null");
				bad |= p->high >= 0
					       ? bput(out, ",\"end\":%lld",
						      (long long)p->high)
					       : ev_buf_puts(out,
							     ",\"end\":null");
				bad |= r >= 0 ? bput(out, ",\"lag\":%llu}",
						     (unsigned long long)lag)
					      : ev_buf_puts(out,
							    ",\"lag\":null}");
				continue;
			}
			bad |= ev_buf_puts(out, g[i].group);
			bad |= bput(out, "%*s %9d %14s %14s %14s\n",
				    namew - (int)strlen(g[i].group), "",
				    (int)p->partition, i64(c, b1),
				    i64(p->high, b2),
				    r >= 0 ? ev_commas(lag, b3) : "-");
		}
		if (json)
			bad |= ev_buf_puts(out, "]}\n");
	}
	return bad ? EV_ERR : 0;
}

/* a Nagios perfdata label: ' doubled, = kept out */
static int perf_label(struct ev_buf *b, const char *s)
{
	for (; *s; s++)
		if (ev_buf_putc(b, *s == '=' ? '_' : *s) ||
		    (*s == '\'' && ev_buf_putc(b, '\'')))
			return -1;
	return 0;
}

int ev_kafka_lag_check(const struct ev_kafka_topic_info *ti,
		       const struct ev_kafka_group_offsets *g, size_t n,
		       const struct ev_threshold *warn,
		       const struct ev_threshold *crit, struct ev_buf *line,
		       struct ev_error *err)
{
	static const char *const names[] = {"OK", "WARNING", "CRITICAL"};
	struct ev_buf perf = {0};
	size_t i, k, worst_i = 0, badp = 0;
	uint64_t lag, wlag = 0, pl;
	int worst = -1, st, r = 0, past;
	char b1[32];

	for (i = 0; i < n; i++) {
		if (!g[i].any) {
			r = ev_seterr(err, EV_ENOENT,
				      "group '%s' has no committed offsets on "
				      "topic '%s'",
				      g[i].group, ti->topic);
			goto out;
		}
		past = group_lag(ti, &g[i], &lag, &badp);
		if (past < 0) {
			r = ev_seterr(err, EV_EIO,
				      "topic '%s': partition %d: %s", ti->topic,
				      (int)ti->parts[badp].partition,
				      part_state(&ti->parts[badp]));
			goto out;
		}
		st = lag > crit->events ? 2 : lag > warn->events ? 1 : 0;
		/* its consumer fails every run: never OK */
		if (past)
			st = 2;
		if ((perf.len && ev_buf_putc(&perf, ' ')) ||
		    ev_buf_putc(&perf, '\'') || perf_label(&perf, g[i].group) ||
		    bput(&perf, "_lag'=%llu;%llu;%llu;0",
			 (unsigned long long)lag,
			 (unsigned long long)warn->events,
			 (unsigned long long)crit->events)) {
			r = oom(err);
			goto out;
		}
		for (k = 0; k < ti->nparts; k++) {
			ev_kafka_partition_lag(&ti->parts[k], g[i].committed[k],
					       &pl);
			if (ev_buf_puts(&perf, " '") ||
			    perf_label(&perf, g[i].group) ||
			    bput(&perf, "_%d_lag'=%llu;;;0",
				 (int)ti->parts[k].partition,
				 (unsigned long long)pl)) {
				r = oom(err);
				goto out;
			}
		}
		if (st > worst || (st == worst && lag > wlag)) {
			worst = st;
			worst_i = i;
			wlag = lag;
		}
	}
	if (worst < 0) {
		r = ev_seterr(err, EV_ENOENT,
			      "no consumer groups with offsets on topic '%s'",
			      ti->topic);
		goto out;
	}
	if (group_lag(ti, &g[worst_i], &lag, &badp) > 0)
		r = bput(line,
			 "LAG %s - group %s is at offset %lld of partition %d, "
			 "past its end (offset %lld) | ",
			 names[worst], g[worst_i].group,
			 (long long)g[worst_i].committed[badp],
			 (int)ti->parts[badp].partition,
			 (long long)ti->parts[badp].high);
	else
		r = bput(line, "LAG %s - group %s is %s %s behind | ",
			 names[worst], g[worst_i].group, ev_commas(wlag, b1),
			 ev_plural(wlag, "event", "events"));
	if (r != 0 || ev_buf_append(line, perf.p, perf.len) ||
	    ev_buf_putc(line, '\0'))
		r = oom(err);
	else
		r = worst;
out:
	ev_buf_free(&perf);
	return r;
}

int ev_kafka_health_check(const char *name,
			  const struct ev_kafka_topic_info *ti,
			  const struct ev_kafka_group_offsets *g, size_t n,
			  const char *group_err, uint64_t max_lag,
			  struct ev_buf *line, struct ev_error *err)
{
	static const char *const names[] = {"OK", "WARNING", "CRITICAL"};
	struct ev_buf why = {0};
	size_t i, up = brokers_up(ti), noleader = 0, badp = 0;
	uint64_t lag;
	int st = 0, r = 0, past, bad = 0;
	char b1[32], b2[32];

	/* the brokers up, each partition's leader among them */
	for (i = 0; i < ti->nparts; i++)
		if (ti->parts[i].low < 0 || ti->parts[i].high < 0) {
			if (noleader++ == 0)
				bad |= bput(&why, "%spartition %d: %s",
					    why.len ? "; " : "",
					    (int)ti->parts[i].partition,
					    part_state(&ti->parts[i]));
		}
	if (noleader > 1)
		bad |= bput(&why, " (and %zu more)", noleader - 1);
	if (noleader > 0 || up == 0)
		st = 2;
	for (i = 0; i < ti->nbrokers; i++)
		if (ti->brokers[i].up != 1) {
			bad |= bput(&why, "%sbroker %d (%s:%d) is down",
				    why.len ? "; " : "", (int)ti->brokers[i].id,
				    ti->brokers[i].host, ti->brokers[i].port);
			if (st < 1)
				st = 1;
		}
	/* a coordinator that does not answer */
	if (group_err != NULL) {
		bad |= bput(&why, "%s%s", why.len ? "; " : "", group_err);
		st = 2;
	}
	/* degraded past max_lag events of lag */
	for (i = 0; i < n && noleader == 0; i++) {
		if (!g[i].any) {
			r = ev_seterr(err, EV_ENOENT,
				      "group '%s' has no committed offsets on "
				      "topic '%s'",
				      g[i].group, ti->topic);
			goto out;
		}
		past = group_lag(ti, &g[i], &lag, &badp);
		if (past > 0 || lag > max_lag) {
			bad |= past > 0 ? bput(&why,
					       "%sdegraded: group %s is past "
					       "the end of partition %d",
					       why.len ? "; " : "", g[i].group,
					       (int)ti->parts[badp].partition)
					: bput(&why,
					       "%sdegraded: group %s is %s "
					       "events behind (more than %s)",
					       why.len ? "; " : "", g[i].group,
					       ev_commas(lag, b1),
					       ev_commas(max_lag, b2));
			if (st < 1)
				st = 1;
		}
	}
	if (bad) {
		r = oom(err);
		goto out;
	}
	bad |= bput(line, "HEALTH %s - %s: ", names[st], name);
	if (why.len)
		bad |= ev_buf_append(line, why.p, why.len) ||
		       ev_buf_puts(line, "; ");
	bad |= bput(line,
		    "%zu of %zu brokers up, %zu of %zu partitions of '%s' "
		    "with a leader up",
		    up, ti->nbrokers, ti->nparts - noleader, ti->nparts,
		    ti->topic);
	for (i = 0; i < n && noleader == 0; i++) {
		group_lag(ti, &g[i], &lag, &badp);
		bad |= bput(line, ", group %s %s %s behind", g[i].group,
			    ev_commas(lag, b1),
			    ev_plural(lag, "event", "events"));
	}
	bad |= bput(line,
		    " | brokers_up=%zu;;;0;%zu partitions_without_leader=%zu;"
		    ";;0;%zu",
		    up, ti->nbrokers, noleader, ti->nparts);
	for (i = 0; i < n && noleader == 0; i++) {
		group_lag(ti, &g[i], &lag, &badp);
		bad |= ev_buf_puts(line, " '") ||
		       perf_label(line, g[i].group) ||
		       bput(line, "_lag'=%llu;%llu;;0", (unsigned long long)lag,
			    (unsigned long long)max_lag);
	}
	bad |= ev_buf_putc(line, '\0');
	r = bad ? oom(err) : st;
out:
	ev_buf_free(&why);
	return r;
}

/* ------------------------------------------------------------ metrics */

/* A label value: \, " and newline escaped. */
static int label(struct ev_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\n') {
			if (ev_buf_puts(b, "\\n"))
				return -1;
		} else if ((*s == '\\' || *s == '"') && ev_buf_putc(b, '\\')) {
			return -1;
		} else if (*s != '\n' && ev_buf_putc(b, *s)) {
			return -1;
		}
	}
	return 0;
}

static int family(struct ev_buf *b, const char *name, const char *help)
{
	return bput(b, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/* name{log="..."[,group="..."][,partition="P"]} (the value follows) */
static int sample(struct ev_buf *b, const char *name, const char *log,
		  const char *group, int partition)
{
	return bput(b, "%s{log=\"", name) || label(b, log) ||
	       (group != NULL &&
		(ev_buf_puts(b, "\",group=\"") || label(b, group))) ||
	       (partition >= 0 && bput(b, "\",partition=\"%d", partition)) ||
	       ev_buf_puts(b, "\"} ");
}

enum { M_LOW, M_NEXT, M_EVENTS, M_LEADER };

static int part_family(struct ev_buf *b, const struct ev_kafka_metrics_log *l,
		       size_t n, int which, const char *name, const char *help)
{
	size_t i, k;
	int bad = family(b, name, help);

	for (i = 0; i < n; i++)
		for (k = 0; k < l[i].ti->nparts; k++) {
			const struct ev_kafka_part_info *p = &l[i].ti->parts[k];
			if (which != M_LEADER && (p->low < 0 || p->high < 0))
				continue;
			bad |= sample(b, name, l[i].name, NULL, p->partition) ||
			       bput(b, "%lld\n",
				    (long long)(which == M_LOW	  ? p->low
						: which == M_NEXT ? p->high
						: which == M_EVENTS
							? p->high - p->low
							: p->leader));
		}
	return bad;
}

int ev_kafka_metrics_format(struct ev_buf *out,
			    const struct ev_kafka_metrics_log *l, size_t n)
{
	size_t i, k, j;
	uint64_t lag;
	int bad = 0;

	bad |= family(out, "evlog_events", "Events in the log.");
	for (i = 0; i < n; i++)
		bad |= sample(out, "evlog_events", l[i].name, NULL, -1) ||
		       bput(out, "%llu\n",
			    (unsigned long long)topic_events(l[i].ti));
	bad |= family(out, "evlog_kafka_brokers",
		      "Brokers the cluster's metadata names.");
	for (i = 0; i < n; i++)
		bad |= sample(out, "evlog_kafka_brokers", l[i].name, NULL,
			      -1) ||
		       bput(out, "%zu\n", l[i].ti->nbrokers);
	bad |= family(out, "evlog_kafka_brokers_up",
		      "Brokers that answered within the timeout.");
	for (i = 0; i < n; i++)
		bad |= sample(out, "evlog_kafka_brokers_up", l[i].name, NULL,
			      -1) ||
		       bput(out, "%zu\n", brokers_up(l[i].ti));
	bad |= part_family(out, l, n, M_LEADER, "evlog_kafka_partition_leader",
			   "The broker leading the partition (-1: none).");
	bad |= part_family(out, l, n, M_LOW, "evlog_first_offset",
			   "The first offset the partition keeps (its low "
			   "watermark).");
	bad |= part_family(out, l, n, M_NEXT, "evlog_next_offset",
			   "The offset the next event gets (the high "
			   "watermark).");
	bad |= part_family(out, l, n, M_EVENTS, "evlog_partition_events",
			   "Events in the partition.");
	bad |= family(out, "evlog_group_next_offset",
		      "The next offset a consumer group will get.");
	for (i = 0; i < n; i++)
		for (j = 0; j < l[i].ngroups; j++)
			for (k = 0; k < l[i].ti->nparts; k++) {
				const struct ev_kafka_group_offsets *g =
					&l[i].groups[j];
				if (g->committed[k] < 0)
					continue;
				bad |= sample(out, "evlog_group_next_offset",
					      l[i].name, g->group,
					      l[i].ti->parts[k].partition) ||
				       bput(out, "%lld\n",
					    (long long)g->committed[k]);
			}
	bad |= family(out, "evlog_group_lag_events",
		      "Events a consumer group is behind the head.");
	for (i = 0; i < n; i++)
		for (j = 0; j < l[i].ngroups; j++)
			for (k = 0; k < l[i].ti->nparts; k++) {
				const struct ev_kafka_group_offsets *g =
					&l[i].groups[j];
				if (ev_kafka_partition_lag(&l[i].ti->parts[k],
							   g->committed[k],
							   &lag) < 0)
					continue;
				bad |= sample(out, "evlog_group_lag_events",
					      l[i].name, g->group,
					      l[i].ti->parts[k].partition) ||
				       bput(out, "%llu\n",
					    (unsigned long long)lag);
			}
	return bad ? EV_ERR : 0;
}
