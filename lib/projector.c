/*
 * projector.c - struct ev_projector: a run of evproject, the engine
 * (built-in folds or a Lua projection) fed by a scan, kept from run to
 * run by its checkpoint, with its emitted events, its dead letters and
 * its read model (evproject(1) CHECKPOINTS, READ MODELS).
 *
 * A run with a name takes the projection's lock, loads its checkpoint
 * (the file beside the log's groups, or the row of the read model's
 * database), refuses one of another definition unless rebuilding, and
 * folds the events after it.  The checkpoint is saved at the end, and
 * while following every checkpoint interval: the position, the engine's
 * whole state, the skips and the emit mark together, so that a crash at
 * any moment loses at most what came after the last save, and a rerun
 * folds it again from the same state, never twice.
 *
 * Emitted events are appended to the emit log before the checkpoint
 * that passes their source is saved; the emit mark in it says up to
 * where they are durable, and a rebuild folds the events below the mark
 * again without emitting.  Between an append and the save that follows
 * it, a crash makes the rerun emit those events again, with the same
 * ids: the emit log's dedupe keeps them once.
 *
 * With a read model, the states are written as rows and the checkpoint
 * in the same SQLite transaction; the checkpoint file then only tells
 * evctl trim how far the projection has read (without the state).
 *
 * A Kafka topic has one position per partition: the projector opens its
 * consumer itself, after the lock and the checkpoint, from the offsets
 * the checkpoint holds, and each save maps the engine's position (the
 * number of the records read) back to the next offset of each partition
 * before it writes them with the state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evlog_private.h"
#include "kafka_pos_int.h"

/* ------------------------------------------------------------ engines */

static int fold_save(void *impl, struct ev_buf *out, struct ev_error *err)
{
	return ev_fold_save(impl, out, err);
}

static int fold_restore(void *impl, const uint8_t *p, size_t n,
			struct ev_error *err)
{
	return ev_fold_restore(impl, p, n, err);
}

void ev_proj_engine_fold(struct ev_proj_engine *e, struct ev_fold *f)
{
	memset(e, 0, sizeof(*e));
	e->impl = f;
	e->apply = ev_fold_sink;
	e->flush = ev_fold_sink_flush;
	e->save = fold_save;
	e->restore = fold_restore;
	e->hash = ev_fold_hash(f);
	e->describe = ev_fold_describe(f);
}

static int lua_apply(void *impl, const struct ev_rec *rec,
		     const struct ev_event *ev, struct ev_error *err)
{
	struct ev_event kev;
	int r;

	/* a Kafka log's: event.partition and event.offset the record's,
	 * not the scan's count */
	if (rec->kafka) {
		if (ev == NULL) {
			if ((r = ev_event_decode(rec->p, rec->n, &kev, err)) !=
			    0)
				return r;
			ev_event_place(&kev, rec);
			ev = &kev;
		}
		return ev_projection_apply(impl, ev, err);
	}
	return ev_projection_apply_record(impl, rec->p, rec->n, rec->offset,
					  err);
}

static int lua_save(void *impl, struct ev_buf *out, struct ev_error *err)
{
	return ev_projection_save(impl, out, err);
}

static int lua_restore(void *impl, const uint8_t *p, size_t n,
		       struct ev_error *err)
{
	return ev_projection_restore(impl, p, n, err);
}

static int lua_each(void *impl, ev_projection_fn fn, void *ctx,
		    struct ev_error *err)
{
	return ev_projection_each(impl, fn, ctx, err);
}

static int lua_set_sql(void *impl, ev_projection_sql_fn fn, void *ctx,
		       struct ev_error *err)
{
	return ev_projection_set_sql(impl, fn, ctx, err);
}

static size_t lua_emitted_count(void *impl)
{
	return ev_projection_emitted_count(impl);
}

static void lua_emitted(void *impl, size_t i, const uint8_t **rec, size_t *n,
			ev_time_t *time)
{
	ev_projection_emitted(impl, i, rec, n, time);
}

void ev_proj_engine_lua(struct ev_proj_engine *e, struct ev_projection *p)
{
	memset(e, 0, sizeof(*e));
	e->impl = p;
	e->apply = lua_apply;
	e->save = lua_save;
	e->restore = lua_restore;
	e->each = lua_each;
	e->set_sql = lua_set_sql;
	e->emitted_count = lua_emitted_count;
	e->emitted = lua_emitted;
	e->hash = ev_projection_hash(p);
	e->describe = ev_projection_describe(p);
}

/* ------------------------------------------------------------ a run */

struct run {
	struct ev_log *log;
	const struct ev_projector_opts *o;
	struct ev_proj_engine *e;
	struct ev_projector_stats *st;
	struct ev_projlock *pl;
	struct ev_readmodel *rm;
	struct ev_writer *emit;
	struct ev_checkpoint cp;
	struct ev_buf buf;
	const char *name; /* of the checkpoint, or NULL */
	int have_cp;	  /* one was loaded */
	int clear_rows;	  /* a rebuild: the read model's rows go first */
	int sql;	  /* the engine's handlers have the read model */
	uint64_t emit_mark;
	/* a Kafka log: its consumer and scan (positions are the numbers of
	 * the records read, not offsets: no emit mark) */
	struct ev_kafka_consumer *kc;
	struct ev_scan *ks;
	int64_t *offs;
	ev_notice_fn notice; /* the scan options' */
	void *notice_ctx;
};

/*
 * A checkpoint that cannot be used (damaged, another log's, a newer
 * format's), in err: with --rebuild, which needs no more of it than its
 * skips and emit mark, a warning, and the run starts without it (0);
 * without, the error and a hint of that.
 */
static int unusable(struct run *r, int rc, struct ev_error *err)
{
	char msg[sizeof(err->msg) + 128];

	ev_checkpoint_clear(&r->cp);
	if (!r->o->rebuild) {
		if (err->hint[0] == '\0')
			ev_sethint(err,
				   "--rebuild folds it again from the start "
				   "and replaces it (its skips and emit "
				   "mark are lost)");
		return rc;
	}
	if (r->notice != NULL) {
		snprintf(msg, sizeof(msg),
			 "warning: %s; --rebuild replaces it, without its "
			 "skips and emit mark",
			 err->msg);
		r->notice(r->notice_ctx, msg);
	}
	return 0;
}

/* The topic of a Kafka log's run, or NULL. */
static const char *topic_of(const struct run *r)
{
	return r->o->kafka != NULL ? r->o->kafka->conn.addr->topic : NULL;
}

/* Is cp, from the database db, the checkpoint of this log or topic? */
static int rm_owner(struct run *r, const struct ev_checkpoint *cp,
		    const char *db, struct ev_error *err)
{
	char what[4400];

	snprintf(what, sizeof(what),
		 "the checkpoint of projection '%s' in '%s'", r->name, db);
	return ev_checkpoint_check_owner(cp, what, r->log, topic_of(r), err);
}

/* The checkpoint as it was, from the read model or the file. */
static int load(struct run *r, struct ev_error *err)
{
	int rc;

	if (r->rm != NULL) {
		rc = ev_readmodel_get_checkpoint(r->rm, r->name, &r->buf, err);
		if (rc == EV_ENOENT)
			return 0;
		if (rc != 0)
			return rc;
		rc = ev_checkpoint_decode(r->buf.p, r->buf.len, r->o->sqlite,
					  &r->cp, err);
		if (rc == 0)
			rc = rm_owner(r, &r->cp, r->o->sqlite, err);
	} else {
		rc = ev_checkpoint_load(r->pl, &r->cp, err);
		if (rc == EV_ENOENT)
			return 0;
	}
	if (rc == EV_EDATA)
		return unusable(r, rc, err);
	if (rc == 0)
		r->have_cp = 1;
	return rc;
}

/* A shadow starts with the live read model's schema (the handlers'
 * tables, empty), and its skips and emit mark, as a rebuild in place
 * would. */
static int shadow_from_live(struct run *r, struct ev_error *err)
{
	struct ev_checkpoint live;
	int rc;

	if ((rc = ev_readmodel_copy_schema(r->rm, r->o->live_sqlite, err)) != 0)
		return rc;
	rc = ev_readmodel_peek_checkpoint(r->o->live_sqlite, r->name, &r->buf,
					  err);
	if (rc == EV_ENOENT)
		return 0;
	if (rc != 0)
		return rc;
	ev_checkpoint_init(&live);
	if ((rc = ev_checkpoint_decode(r->buf.p, r->buf.len, r->o->live_sqlite,
				       &live, err)) != 0 ||
	    (rc = rm_owner(r, &live, r->o->live_sqlite, err)) != 0) {
		ev_checkpoint_clear(&live);
		return rc;
	}
	ev_checkpoint_clear(&r->cp);
	r->cp = live;
	r->have_cp = 1;
	return 0;
}

/* One state row of the read model. */
static int put_row(void *ctx, const uint8_t *key, size_t kn,
		   const uint8_t *state, size_t sn)
{
	struct run *r = ctx;
	struct ev_error *err = &r->st->row_err;

	return ev_readmodel_put(r->rm, key, kn, state, sn, err);
}

/* A Kafka log's offsets into the checkpoint: those of the records
 * before position next, else where each partition's read started. */
static int kafka_offsets(struct run *r, uint64_t next, struct ev_error *err)
{
	int32_t i, n = ev_kafka_consumer_partitions(r->kc);
	int rc;

	if ((rc = ev_kafka_scan_commit(r->ks, next, err)) != 0)
		return rc;
	for (i = 0; i < n; i++)
		r->offs[i] = ev_kafka_consumer_next_offset(r->kc, i);
	return ev_checkpoint_set_offsets(&r->cp, r->offs, n, err);
}

/* Save the checkpoint: everything before next is folded. */
static int save(struct run *r, uint64_t next, struct ev_error *err)
{
	struct ev_checkpoint mirror;
	int rc;

	if (r->emit != NULL && (rc = ev_writer_flush(r->emit, err)) != 0) {
		ev_err_prefix(err, "cannot append the emitted events: ");
		return rc;
	}
	if (next > r->emit_mark && r->kc == NULL)
		r->emit_mark = next;
	if (r->name == NULL)
		return 0;
	if (r->kc != NULL && (rc = kafka_offsets(r, next, err)) != 0)
		return rc;
	r->cp.next = next;
	r->cp.emit_mark = r->emit_mark;
	r->buf.len = 0;
	if ((rc = r->e->save(r->e->impl, &r->buf, err)) != 0 ||
	    (rc = ev_checkpoint_set_state(&r->cp, r->buf.p, r->buf.len, err)) !=
		    0 ||
	    (rc = ev_checkpoint_set_def(&r->cp, r->e->hash, r->e->describe,
					err)) != 0)
		return rc;
	if (r->rm == NULL) {
		rc = ev_checkpoint_save(r->pl, &r->cp, err);
		if (rc == 0)
			r->st->saves++;
		return rc;
	}
	/* the rows and the checkpoint in one transaction */
	if ((rc = ev_checkpoint_set_owner(&r->cp, r->log, topic_of(r), err)) !=
	    0)
		return rc;
	r->cp.updated = ev_now();
	r->buf.len = 0;
	if ((rc = ev_checkpoint_encode(&r->cp, &r->buf, err)) != 0)
		return rc;
	if (!ev_readmodel_in_tx(r->rm) &&
	    (rc = ev_readmodel_begin(r->rm, err)) != 0)
		return rc;
	rc = r->clear_rows ? ev_readmodel_clear(r->rm, err) : 0;
	if (rc == 0)
		rc = r->e->each(r->e->impl, put_row, r, err);
	if (rc != 0 && r->st->row_err.msg[0] != '\0' && rc != EV_ERR)
		*err = r->st->row_err;
	if (rc == 0)
		rc = ev_readmodel_put_checkpoint(r->rm, r->name, r->buf.p,
						 r->buf.len, err);
	if (rc == 0)
		rc = ev_readmodel_commit(r->rm, err);
	if (rc != 0) {
		ev_readmodel_rollback(r->rm);
		return rc;
	}
	r->clear_rows = 0;
	r->st->saves++;
	if (r->pl == NULL)
		return 0;
	/* how far it has read, for evctl trim: no state */
	ev_checkpoint_init(&mirror);
	mirror.next = r->cp.next;
	mirror.emit_mark = r->cp.emit_mark;
	mirror.def_hash = r->cp.def_hash;
	rc = ev_checkpoint_set_def(&mirror, r->cp.def_hash, r->cp.def_desc,
				   err);
	if (rc == 0 && r->kc != NULL)
		rc = ev_checkpoint_set_offsets(&mirror, r->cp.offsets,
					       r->cp.nparts, err);
	if (rc == 0)
		rc = ev_checkpoint_save(r->pl, &mirror, err);
	ev_checkpoint_clear(&mirror);
	return rc;
}

static int emit_at(struct run *r, uint64_t offset, int forced,
		   struct ev_error *err);

/* Append what the last apply emitted (source at offset). */
static int emit(struct run *r, uint64_t offset, struct ev_error *err)
{
	return emit_at(r, offset, 0, err);
}

#define RETRIED "retried: " /* the reason of a skip a retry made */

/* Append what the last apply emitted (source at offset), all of it when
 * forced (a retried event: never emitted before). */
static int emit_at(struct run *r, uint64_t offset, int forced,
		   struct ev_error *err)
{
	size_t i, n = r->e->emitted_count ? r->e->emitted_count(r->e->impl) : 0;
	const uint8_t *rec;
	size_t rn;
	ev_time_t t;
	int rc;

	for (i = 0; i < n; i++) {
		if (offset < r->emit_mark && !forced) {
			r->st->emits_held++;
			continue;
		}
		if (r->emit == NULL && r->name == NULL) {
			r->st->emits_dropped++; /* a look at the states */
			continue;
		}
		if (r->emit == NULL)
			return ev_seterr(err, EV_EUSAGE,
					 "offset %llu: projection '%s' emits "
					 "events, and no --emit-to log takes "
					 "them",
					 (unsigned long long)offset, r->name);
		r->e->emitted(r->e->impl, i, &rec, &rn, &t);
		if ((rc = ev_writer_add(r->emit, rec, rn, t, err)) != 0) {
			ev_err_prefix(err,
				      "cannot append the emitted events: ");
			return rc;
		}
		r->st->emitted++;
	}
	return 0;
}

/* A rebuild folds every event again: the skips that only say a retry
 * applied an event out of turn go. */
static void drop_retried(struct ev_checkpoint *cp)
{
	size_t i, k = 0;

	for (i = 0; i < cp->nskips; i++) {
		if (strncmp(cp->skips[i].reason, RETRIED, strlen(RETRIED)) ==
		    0) {
			free(cp->skips[i].reason);
			continue;
		}
		cp->skips[k++] = cp->skips[i];
	}
	cp->nskips = k;
}

/* A Kafka record's failure: "offset K: ..." (its offset in its
 * partition, ev_event_place()) as "offset P:K: ...", the place --skip
 * takes. */
static void kafka_place(struct ev_error *err, const struct ev_rec *rec)
{
	char pre[48], msg[sizeof(err->msg)];
	int pn = snprintf(pre, sizeof(pre),
			  "offset %lld: ", (long long)rec->koffset);

	if (strncmp(err->msg, pre, (size_t)pn) != 0)
		return;
	snprintf(msg, sizeof(msg), "offset %d:%s", (int)rec->partition,
		 err->msg + 7);
	memcpy(err->msg, msg, sizeof(msg));
}

/* The consumer's sink: one event into the engine. */
static int sink(void *ctx, const struct ev_rec *rec, const struct ev_event *ev,
		struct ev_error *err)
{
	struct run *r = ctx;
	const struct ev_projector_opts *o = r->o;
	struct ev_error why;
	int rc;

	r->st->events++;
	if (r->cp.nskips > 0 &&
	    (rec->kafka
		     ? ev_checkpoint_skipped_at(&r->cp, rec->partition,
						(uint64_t)rec->koffset) != NULL
		     : ev_checkpoint_skipped(&r->cp, rec->offset) != NULL)) {
		r->st->skipped++;
		return 0;
	}
	ev_error_clear(&why);
	if (r->sql) {
		/* the handlers' SQL goes with the checkpoint that passes
		 * it; a failed event's is undone, whatever --on-error says
		 * (stop saves what came before it) */
		if (!ev_readmodel_in_tx(r->rm) &&
		    (rc = ev_readmodel_begin(r->rm, err)) != 0)
			return rc;
		if ((rc = ev_readmodel_mark(r->rm, EV_RM_MARK, err)) != 0)
			return rc;
	}
	rc = r->e->apply(r->e->impl, rec, ev, &why);
	if (r->sql) {
		int rc2 = rc == EV_EDATA
				  ? ev_readmodel_mark(r->rm, EV_RM_UNDO, err)
				  : 0;
		if (rc2 == 0)
			rc2 = ev_readmodel_mark(r->rm, EV_RM_KEEP, err);
		if (rc2 != 0)
			return rc2;
	}
	if (rc == EV_EDATA && o->on_error != EV_UPCAST_STOP) {
		r->st->failed++;
		if (o->failed != NULL)
			return o->failed(o->failed_ctx, rec, &why, err);
		return 0;
	}
	if (rc != 0) {
		*err = why;
		if (rec->kafka)
			kafka_place(err, rec);
		r->st->stopped = rc == EV_EDATA;
		r->st->failed_at =
			rec->kafka ? (uint64_t)rec->koffset : rec->offset;
		r->st->failed_partition = rec->kafka ? rec->partition : -1;
		return rc;
	}
	r->st->applied++;
	return emit(r, rec->offset, err);
}

static int flush(void *ctx, struct ev_error *err)
{
	struct run *r = ctx;
	int rc;

	if (r->e->flush != NULL && (rc = r->e->flush(r->e->impl, err)) != 0)
		return rc;
	if (r->emit != NULL && (rc = ev_writer_flush(r->emit, err)) != 0) {
		ev_err_prefix(err, "cannot append the emitted events: ");
		return rc;
	}
	return 0;
}

static int commit(void *ctx, uint64_t pos, struct ev_error *err)
{
	return save(ctx, pos, err);
}

/*
 * What both a run and a retry open, in this order: the projection's lock
 * (a second run waits or goes, touching nothing), the read model, the
 * checkpoint (a shadow's from the live one), the handlers' SQL, and the
 * emit log's writer.
 */
static int open_run(struct run *r, struct ev_error *err)
{
	const struct ev_projector_opts *o = r->o;
	struct ev_writer_opts wo;
	int rc;

	if (r->name != NULL && o->kafka != NULL && !o->shadow &&
	    (rc = ev_projection_lock_topic(&r->pl, o->kafka->conn.addr->topic,
					   r->name, o->state_dir, o->wait,
					   err)) != 0)
		return rc;
	if (r->name != NULL && !o->shadow && o->kafka == NULL &&
	    (rc = ev_projection_lock(&r->pl, r->log, r->name, o->state_dir,
				     o->wait, err)) != 0)
		return rc;
	if (o->sqlite != NULL &&
	    (rc = ev_readmodel_open(&r->rm, o->sqlite,
				    o->table ? o->table : r->name, 1,
				    o->db_wait, err)) != 0)
		return rc;
	if (r->name != NULL && (rc = load(r, err)) != 0)
		return rc;
	if (o->shadow && o->live_sqlite != NULL &&
	    (rc = shadow_from_live(r, err)) != 0)
		return rc;
	if (r->rm != NULL) {
		ev_readmodel_set_stop(r->rm, o->stop);
		if (r->e->set_sql != NULL) {
			if ((rc = r->e->set_sql(r->e->impl, ev_readmodel_sql,
						r->rm, err)) != 0)
				return rc;
			r->sql = 1;
		}
	}
	r->emit_mark = r->cp.emit_mark;
	if (o->emit_to != NULL) {
		memset(&wo, 0, sizeof(wo));
		wo.unlinked = 1;
		if ((rc = ev_writer_open(&r->emit, o->emit_to, &wo, err)) != 0)
			return rc;
	}
	return 0;
}

/* Let go of what open_run() opened: rc, or the emit log's error. */
static int close_run(struct run *r, int rc, struct ev_error *err)
{
	struct ev_error e2;
	int rc2;

	if (r->emit != NULL && (rc2 = ev_writer_close(r->emit, &e2)) != 0 &&
	    rc == 0) {
		*err = e2;
		rc = rc2;
	}
	ev_readmodel_close(r->rm);
	ev_projection_unlock(r->pl);
	ev_checkpoint_clear(&r->cp);
	ev_buf_free(&r->buf);
	free(r->offs);
	return rc;
}

/* --skip PARTITION:OFFSET on a Kafka log: each recorded, unless its
 * partition is folded past it already. */
static int kafka_skips(struct run *r, struct ev_error *err)
{
	const struct ev_projector_opts *o = r->o;
	size_t i;
	int rc;

	for (i = 0; i < o->nkskips; i++) {
		const struct ev_kafka_from *k = &o->kskips[i];
		if (r->have_cp && !o->rebuild && k->partition < r->cp.nparts &&
		    r->cp.offsets[k->partition] >= 0 &&
		    k->offset < r->cp.offsets[k->partition])
			return ev_seterr(err, EV_EUSAGE,
					 "--skip %d:%lld: offset %lld of "
					 "partition %d is folded already "
					 "(projection '%s' is at offset %lld "
					 "there)",
					 (int)k->partition,
					 (long long)k->offset,
					 (long long)k->offset,
					 (int)k->partition, r->name,
					 (long long)
						 r->cp.offsets[k->partition]);
		if ((rc = ev_checkpoint_add_skip_at(&r->cp, k->partition,
						    (uint64_t)k->offset,
						    o->skip_reason,
						    EV_TIME_NONE, err)) != 0)
			return rc;
	}
	return 0;
}

/* A Kafka log's consumer and scan, from the checkpoint's offsets when
 * resuming (it wins over --from, as on a local log). */
static int open_kafka(struct run *r, const struct ev_scan_opts *so,
		      struct ev_error *err)
{
	struct ev_kafka_consumer_opts co = *r->o->kafka;
	struct ev_kafka_from *from = NULL;
	int32_t i, n = 0;
	int rc;

	if (r->st->resumed) {
		from = calloc((size_t)(r->cp.nparts > 0 ? r->cp.nparts : 1),
			      sizeof(*from));
		if (from == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		for (i = 0; i < r->cp.nparts; i++) {
			if (r->cp.offsets[i] < 0)
				continue;
			from[n].kind = EV_KAFKA_FROM_OFFSET;
			from[n].partition = i;
			from[n].offset = r->cp.offsets[i];
			n++;
		}
		co.from = from;
		co.nfrom = (size_t)n;
		co.has_last = 0;
		co.cursor_name =
			r->rm != NULL ? r->o->sqlite : ev_projlock_file(r->pl);
		co.cursor_what = r->rm != NULL ? "read model checkpoint"
					       : "projection checkpoint";
		co.cursor_parts = r->cp.nparts;
	}
	co.track = co.track || r->name != NULL;
	co.notice = so->notice;
	co.notice_ctx = so->ctx;
	rc = ev_kafka_consumer_open(&r->kc, &co, err);
	free(from);
	if (rc == 0)
		rc = ev_scan_open_kafka(&r->ks, r->kc, co.conn.addr->topic, so,
					err);
	if (rc == 0 &&
	    (r->offs =
		     malloc((size_t)(ev_kafka_consumer_partitions(r->kc) + 1) *
			    sizeof(*r->offs))) == NULL)
		rc = ev_seterr(err, EV_ERR, "out of memory");
	if (rc == EV_EDATA && r->st->resumed)
		ev_sethint(err, "fold the topic again from the start "
				"with --rebuild");
	return rc;
}

int ev_projector_run(struct ev_log *log, struct ev_reader *rd,
		     const struct ev_scan_opts *so, struct ev_proj_engine *e,
		     const struct ev_projector_opts *o,
		     struct ev_projector_stats *st, struct ev_error *err)
{
	struct run r;
	struct ev_scan_opts sc = *so;
	struct ev_cursor cur;
	struct ev_scan *s = NULL;
	struct ev_consumer_opts co;
	struct ev_consumer *con = NULL;
	volatile sig_atomic_t never = 0;
	int rc;

	memset(st, 0, sizeof(*st));
	memset(&r, 0, sizeof(r));
	r.log = log;
	r.o = o;
	r.e = e;
	r.st = st;
	r.name = o->name;
	r.notice = so->notice;
	r.notice_ctx = so->ctx;
	ev_checkpoint_init(&r.cp);
	if (o->sqlite != NULL && r.name == NULL)
		return ev_seterr(err, EV_EUSAGE,
				 "a read model (--sqlite) needs the "
				 "projection's --name");
	if (o->sqlite != NULL && e->each == NULL)
		return ev_seterr(err, EV_EUSAGE,
				 "--sqlite takes the states of a Lua "
				 "projection (-p)");
	if ((o->skip_set || o->nkskips > 0 || o->rebuild) && r.name == NULL)
		return ev_seterr(err, EV_EUSAGE, "%s needs --name",
				 o->rebuild ? "--rebuild" : "--skip");
	if (o->scan != NULL && r.name != NULL)
		return ev_seterr(err, EV_EUSAGE,
				 "a checkpoint (--name) is one position in "
				 "the log, and a kafka log has one per "
				 "partition: the projector opens its consumer");
	if (o->kafka != NULL && o->skip_set)
		return ev_seterr(err, EV_EUSAGE,
				 "--skip: a kafka log has an offset per "
				 "partition: --skip takes PARTITION:OFFSET "
				 "there");
	if (o->kafka == NULL && o->nkskips > 0)
		return ev_seterr(err, EV_EUSAGE,
				 "--skip PARTITION:OFFSET needs a kafka log");
	if (o->kafka != NULL && o->rebuild && o->emit_to != NULL)
		return ev_seterr(err, EV_EUSAGE,
				 "--rebuild with --emit-to: not on a kafka log "
				 "(it has no emit mark: the events emitted "
				 "before would be emitted again)");
	if ((rc = open_run(&r, err)) != 0)
		goto end;
	if (r.have_cp && !o->rebuild &&
	    (rc = ev_checkpoint_check_def(&r.cp, r.name, e->hash, e->describe,
					  err)) != 0)
		goto end;
	r.clear_rows = o->rebuild;
	if (o->rebuild)
		drop_retried(&r.cp);
	if (o->skip_set) {
		if (r.have_cp && !o->rebuild && o->skip_offset < r.cp.next) {
			rc = ev_seterr(err, EV_EUSAGE,
				       "--skip: offset %llu is folded "
				       "already (projection '%s' is at "
				       "offset %llu)",
				       (unsigned long long)o->skip_offset,
				       r.name, (unsigned long long)r.cp.next);
			goto end;
		}
		if ((rc = ev_checkpoint_add_skip(&r.cp, o->skip_offset,
						 o->skip_reason, EV_TIME_NONE,
						 err)) != 0)
			goto end;
	}
	if ((rc = kafka_skips(&r, err)) != 0)
		goto end;
	if (r.have_cp && !o->rebuild) {
		if ((rc = e->restore(e->impl, r.cp.state, r.cp.state_n, err)) !=
		    0) {
			ev_err_prefix(err, "projection '%s': ", r.name);
			goto end;
		}
		memcpy(cur.log_id, r.cp.log_id, 33);
		cur.next = r.cp.next;
		sc.cursor = &cur;
		sc.cursor_name = o->sqlite ? o->sqlite : ev_projlock_file(r.pl);
		st->resumed = 1;
	}
	if (o->kafka != NULL) {
		sc.cursor = NULL;
		if ((rc = open_kafka(&r, &sc, err)) != 0)
			goto end;
		s = r.ks;
	} else if (o->scan != NULL) {
		s = o->scan;
	} else if ((rc = ev_scan_open(&s, log, rd, &sc, err)) != 0) {
		goto end;
	}
	st->start = ev_scan_start(s);
	if (st->resumed && st->start > r.cp.next && sc.notice != NULL) {
		char msg[512];
		snprintf(msg, sizeof(msg),
			 "projection '%s' was at offset %llu, but '%s' now "
			 "begins at offset %llu: the events between were "
			 "trimmed before it read them, and are not in its "
			 "states",
			 r.name, (unsigned long long)r.cp.next, sc.name,
			 (unsigned long long)st->start);
		sc.notice(sc.ctx, msg);
	}
	ev_consumer_opts_init(&co);
	co.scan = s;
	co.sink = sink;
	co.flush = flush;
	co.sink_ctx = &r;
	co.commit = r.name != NULL ? commit : NULL;
	co.commit_ctx = &r;
	/* the handlers' SQL holds the database's write lock until a save:
	 * let it go whenever the log has no more */
	co.commit_when_idle = r.sql;
	/* a save every 100,000 events at least: a crash then re-emits no
	 * more than that, well inside an emit log's dedupe window */
	co.commit_every = 100000;
	co.commit_ms = !o->follow	      ? INT64_MAX
		       : o->checkpoint_ms > 0 ? o->checkpoint_ms
					      : 5000;
	co.log = log;
	co.log_name = sc.name;
	co.notice = sc.notice;
	co.notice_ctx = sc.ctx;
	if ((rc = ev_consumer_new(&con, &co, err)) == 0)
		rc = ev_consumer_run(con, o->stop ? o->stop : &never, err);
	if (rc == 0 && r.name == NULL)
		rc = flush(&r, err);
	/* nothing new, but a first run, a rebuild or a skip to record */
	if (rc == 0 && r.name != NULL && st->saves == 0 &&
	    (!r.have_cp || o->rebuild || o->skip_set || o->nkskips > 0))
		rc = save(&r, ev_consumer_stats(con)->position, err);
	st->next = ev_consumer_stats(con) ? ev_consumer_stats(con)->position
					  : ev_scan_position(s);
	st->upcast_failures = ev_scan_upcast_failures(s);
end:
	ev_consumer_free(con);
	if (s != o->scan && s != r.ks)
		ev_scan_free(s);
	ev_scan_free(r.ks);
	ev_kafka_consumer_close(r.kc);
	return close_run(&r, rc, err);
}

/* ------------------------------------------------------------ status */

static int cell_str(struct ev_buf *b, const char *s)
{
	return ev_buf_mp_str(b, s, strlen(s));
}

static int cell_uint(struct ev_buf *b, uint64_t v)
{
	if (ev_buf_reserve(b, 9) != 0)
		return EV_ERR;
	b->len = (size_t)(ev_mp_uint(b->p + b->len, v) - b->p);
	return 0;
}

/* A topic's checkpoint's next (P:OFFSET,... of the partitions read) and
 * lag (the records after them, up to the high watermarks) into cells. */
static int kafka_cells(const struct ev_checkpoint *c,
		       const struct ev_kafka_topic_info *ti,
		       struct ev_buf *next, struct ev_buf *lag)
{
	struct ev_buf b = {0};
	uint64_t sum = 0;
	int32_t p;
	int r, any = 0;

	for (p = 0; p < c->nparts; p++) {
		int64_t o = c->offsets[p], from;
		if (o < 0)
			continue;
		ev_buf_printf(&b, "%s%d:%lld", any++ ? "," : "", (int)p,
			      (long long)o);
		if ((size_t)p >= ti->nparts)
			continue;
		from = o > ti->parts[p].low ? o : ti->parts[p].low;
		if (ti->parts[p].high > from)
			sum += (uint64_t)(ti->parts[p].high - from);
	}
	if (ev_buf_putc(&b, '\0') != 0) {
		ev_buf_free(&b);
		return EV_ERR;
	}
	r = cell_str(next, (const char *)b.p) || cell_uint(lag, sum);
	ev_buf_free(&b);
	return r;
}

/* The rows of --status: the checkpoints of log (end: its end offset), or
 * of topic ti. */
static int status_rows(struct ev_log *log, const struct ev_kafka_topic_info *ti,
		       const char *state_dir, const char *name, uint64_t end,
		       struct ev_rows **out, int *damaged, ev_notice_fn notice,
		       void *ctx, struct ev_error *err)
{
	static const char *const cols[] = {"name",	  "next",	"lag",
					   "updated",	  "definition", "skips",
					   "state_bytes", "status"};
	struct ev_checkpoint_info *v = NULL;
	struct ev_buf cell[8];
	const uint8_t *cp[8];
	size_t lens[8], n = 0, i, k, found = 0;
	char when[40];
	int r;

	*out = NULL;
	*damaged = 0;
	memset(cell, 0, sizeof(cell));
	if ((r = ti != NULL ? ev_checkpoint_list_topic(ti->topic, state_dir, &v,
						       &n, err)
			    : ev_checkpoint_list(log, state_dir, &v, &n,
						 err)) != 0 ||
	    (r = ev_rows_new(out, cols, 8, 1, err)) != 0)
		goto end;
	for (i = 0; i < n && r == 0; i++) {
		const struct ev_checkpoint_info *c = &v[i];
		if (name != NULL && strcmp(c->name, name) != 0)
			continue;
		found++;
		for (k = 0; k < 8; k++)
			cell[k].len = 0;
		r = cell_str(&cell[0], c->name);
		if (c->damaged) {
			*damaged = 1;
			r = r || cell_str(&cell[7], "damaged");
			if (notice != NULL)
				notice(ctx, c->problem
						    ? c->problem
						    : "a damaged checkpoint");
		} else {
			when[ev_time_format(c->cp.updated, when)] = '\0';
			if (ti != NULL)
				r = r ||
				    kafka_cells(&c->cp, ti, &cell[1], &cell[2]);
			else
				r = r || cell_uint(&cell[1], c->cp.next) ||
				    cell_uint(&cell[2],
					      end > c->cp.next
						      ? end - c->cp.next
						      : 0);
			r = r || cell_str(&cell[3], when) ||
			    (c->cp.def_desc != NULL &&
			     cell_str(&cell[4], c->cp.def_desc)) ||
			    cell_uint(&cell[5], c->cp.nskips) ||
			    cell_uint(&cell[6], c->cp.state_n) ||
			    cell_str(&cell[7], c->busy ? "running" : "idle");
		}
		if (r != 0) {
			r = ev_seterr(err, EV_ERR, "out of memory");
			break;
		}
		for (k = 0; k < 8; k++) {
			cp[k] = cell[k].len ? cell[k].p : NULL;
			lens[k] = cell[k].len;
		}
		r = ev_rows_add(*out, cp, lens, err);
	}
	if (r == 0 && name != NULL && found == 0)
		r = ev_seterr(err, EV_ENOENT, "no projection '%s' in '%s'",
			      name, state_dir ? state_dir : ev_log_path(log));
	if (r == 0)
		r = ev_rows_sort(*out, err);
end:
	for (k = 0; k < 8; k++)
		ev_buf_free(&cell[k]);
	ev_checkpoint_list_free(v, n);
	if (r != 0) {
		ev_rows_free(*out);
		*out = NULL;
	}
	return r;
}

int ev_projector_status(struct ev_log *log, const char *state_dir,
			const char *name, uint64_t end, struct ev_rows **out,
			int *damaged, ev_notice_fn notice, void *ctx,
			struct ev_error *err)
{
	return status_rows(log, NULL, state_dir, name, end, out, damaged,
			   notice, ctx, err);
}

int ev_projector_status_topic(const struct ev_kafka_topic_info *ti,
			      const char *state_dir, const char *name,
			      struct ev_rows **out, int *damaged,
			      ev_notice_fn notice, void *ctx,
			      struct ev_error *err)
{
	return status_rows(NULL, ti, state_dir, name, 0, out, damaged, notice,
			   ctx, err);
}

/* ------------------------------------------------------------ retries */

/* The skip that records letter l applied by a retry, if any. */
static int retried(const struct ev_checkpoint *cp, const struct ev_letter *l)
{
	const struct ev_ckpt_skip *sk =
		ev_checkpoint_skipped(cp, l->source_offset);

	return sk != NULL &&
	       strncmp(sk->reason, RETRIED, strlen(RETRIED)) == 0 &&
	       strcmp(sk->reason + strlen(RETRIED), l->id) == 0;
}

int ev_projector_retry(struct ev_log *log, struct ev_reader *rd,
		       struct ev_log *dlq, struct ev_proj_engine *e,
		       const struct ev_projector_opts *o,
		       struct ev_projector_retry_stats *rs,
		       struct ev_error *err)
{
	struct ev_projector_stats st;
	struct ev_letter *v = NULL;
	unsigned char *done = NULL; /* 1 applied, 2 applied before, 3 failed */
	char **why_failed = NULL;   /* of each failed letter */
	struct ev_writer *w = NULL;
	struct ev_writer_opts wo;
	struct ev_error why;
	struct ev_rec rec;
	char handler[EV_GROUP_NAME_MAX + 16];
	size_t n = 0, i;
	int lockfd = -1, rc, rr;
	struct run r;

	memset(rs, 0, sizeof(*rs));
	memset(&st, 0, sizeof(st));
	memset(&r, 0, sizeof(r));
	ev_checkpoint_init(&r.cp);
	r.log = log;
	r.o = o;
	r.e = e;
	r.st = &st;
	r.name = o->name;
	if (r.name == NULL)
		return ev_seterr(err, EV_EUSAGE, "--retry-dlq needs --name");
	snprintf(handler, sizeof(handler), "projection %s", r.name);
	if ((rc = open_run(&r, err)) != 0)
		goto end;
	if (!r.have_cp) {
		rc = ev_seterr(err, EV_ENOENT,
			       "projection '%s' has no checkpoint yet: run "
			       "it before retrying its dead letters",
			       r.name);
		goto end;
	}
	if ((rc = ev_checkpoint_check_def(&r.cp, r.name, e->hash, e->describe,
					  err)) != 0)
		goto end;
	if ((rc = e->restore(e->impl, r.cp.state, r.cp.state_n, err)) != 0) {
		ev_err_prefix(err, "projection '%s': ", r.name);
		goto end;
	}
	if ((rc = ev_dlq_lock(dlq, &lockfd, err)) != 0 ||
	    (rc = ev_dlq_scan(dlq, &v, &n, err)) != 0)
		goto end;
	if ((done = calloc(n ? n : 1, 1)) == NULL ||
	    (why_failed = calloc(n ? n : 1, sizeof(*why_failed))) == NULL) {
		rc = ev_seterr(err, EV_ERR, "out of memory");
		goto end;
	}
	/* apply, in offset order; the letters stay open until the state
	 * that holds them is saved */
	for (i = 0; i < n; i++) {
		const struct ev_letter *l = &v[i];
		if (l->malformed != NULL || l->state != EV_LETTER_OPEN ||
		    l->group == NULL || strcmp(l->group, r.name) != 0 ||
		    l->source_log_id == NULL ||
		    strcmp(l->source_log_id, ev_log_id(log)) != 0)
			continue;
		rs->selected++;
		if (retried(&r.cp, l)) {
			done[i] = 2; /* its state was saved, its record not */
			continue;
		}
		if ((rc = ev_reader_seek(rd, l->source_offset, err)) != 0)
			goto end;
		rr = ev_reader_next(rd, &rec, err);
		if (rr < 0) {
			rc = rr;
			goto end;
		}
		if (rr == 0 || rec.offset != l->source_offset) {
			rs->missing++;
			continue; /* trimmed: it stays open */
		}
		ev_error_clear(&why);
		if (r.sql && (rc = ev_readmodel_begin_if(r.rm, err)) != 0)
			goto end;
		if (r.sql &&
		    (rc = ev_readmodel_mark(r.rm, EV_RM_MARK, err)) != 0)
			goto end;
		rr = e->apply(e->impl, &rec, NULL, &why);
		if (rr == 0 && e->flush != NULL)
			rr = e->flush(e->impl, &why);
		if (r.sql &&
		    ((rr == EV_EDATA &&
		      (rc = ev_readmodel_mark(r.rm, EV_RM_UNDO, err)) != 0) ||
		     (rc = ev_readmodel_mark(r.rm, EV_RM_KEEP, err)) != 0))
			goto end;
		if (rr == EV_EDATA) {
			done[i] = 3;
			rs->failed++;
			why_failed[i] = strdup(why.msg);
			if (o->failed != NULL)
				o->failed(o->failed_ctx, &rec, &why, err);
			continue;
		}
		if (rr != 0) {
			*err = why;
			rc = rr;
			goto end;
		}
		if ((rc = emit_at(&r, rec.offset, 1, err)) != 0)
			goto end;
		{
			char reason[EV_CKPT_REASON_MAX];
			snprintf(reason, sizeof(reason), RETRIED "%s", l->id);
			if ((rc = ev_checkpoint_add_skip(&r.cp,
							 l->source_offset,
							 reason, EV_TIME_NONE,
							 err)) != 0)
				goto end;
		}
		done[i] = 1;
	}
	/* the state first: a crash before the records leaves letters open
	 * that the next retry finds applied (their skips), and resolves */
	if ((rc = flush(&r, err)) != 0 || (rc = save(&r, r.cp.next, err)) != 0)
		goto end;
	memset(&wo, 0, sizeof(wo));
	wo.sync = EV_SYNC_BATCH;
	wo.sync_set = 1;
	if ((rc = ev_writer_open(&w, dlq, &wo, err)) != 0)
		goto end;
	for (i = 0; i < n && rc == 0; i++) {
		if (done[i] == 1 || done[i] == 2) {
			rc = ev_dlq_record(w, EV_RESOLUTION_RESOLVED, &v[i],
					   handler, 1, NULL, NULL, err);
			rs->resolved++;
		} else if (done[i] == 3) {
			rc = ev_dlq_record(w, EV_RESOLUTION_RETRY_FAILED, &v[i],
					   handler, 1,
					   why_failed[i] != NULL
						   ? why_failed[i]
						   : "the projection failed "
						     "on it again",
					   NULL, err);
		}
	}
end:
	if (w != NULL) {
		struct ev_error e2;
		int rc2 = ev_writer_close(w, &e2);
		if (rc == 0 && rc2 != 0) {
			*err = e2;
			rc = rc2;
		}
	}
	if (lockfd >= 0)
		ev_dlq_unlock(lockfd);
	ev_letters_free(v, n);
	if (why_failed != NULL)
		for (i = 0; i < n; i++)
			free(why_failed[i]);
	free(why_failed);
	free(done);
	return close_run(&r, rc, err);
}
