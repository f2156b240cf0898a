/*
 * readmodel.c - struct ev_readmodel: a projection's states as rows of a
 * SQLite table, the CQRS query side (evproject(1) "READ MODELS").
 *
 * One row per partition: the key in the column "partition" (a string
 * key as it is, any other as its JSON text), and the state's top-level
 * fields as columns of their own, added as new fields appear.  Scalars
 * keep their SQLite type (INTEGER, REAL, TEXT, NULL; true and false are
 * 1 and 0), arrays and objects are JSON text that json_extract() reads,
 * and a state that is not an object is the one column "state".
 *
 * The checkpoint of the projection is a row of evproject_checkpoints in
 * the same database, written in the transaction that writes the rows,
 * so a crash leaves the two in step.  The database is in WAL mode: a
 * reader sees the rows of one committed transaction or of the next,
 * never half of one.
 *
 * SQL from a projection (ev_readmodel_exec()) runs under an authorizer
 * that refuses what could reach outside the database or under the
 * engine's transaction: ATTACH, DETACH (and so VACUUM INTO), pragmas
 * other than the read-only ones, BEGIN, COMMIT, SAVEPOINT, and writes to
 * the checkpoint table.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "evlog_private.h"

#define CKPT_TABLE "evproject_checkpoints"

struct ev_readmodel {
	sqlite3 *db;
	char *path;
	char *table; /* quoted, "name" */
	char *name;
	int guard;    /* the authorizer refuses: user SQL is running */
	int in_tx;    /* a transaction of ours is open */
	int have_tab; /* the table exists, its columns in cols */
	char **cols;  /* state columns, in table order */
	size_t ncols, cap;
	sqlite3_stmt *put; /* for ncols columns */
	volatile sig_atomic_t *stop;
	double wait;		    /* seconds; < 0 for ever */
	struct timespec busy_since; /* the first try of this wait */
	size_t put_cols;
	struct ev_buf tmp;
};

static int db_err(struct ev_readmodel *rm, struct ev_error *err, int rc,
		  const char *what)
{
	int code = rc & 0xff;

	if (code == SQLITE_BUSY || code == SQLITE_LOCKED)
		return ev_seterr(err, EV_EAGAIN,
				 "database '%s' is locked by another writer",
				 rm->path);
	if (code == SQLITE_NOMEM)
		return ev_seterr(err, EV_ERR, "out of memory");
	if (code == SQLITE_CANTOPEN || code == SQLITE_READONLY ||
	    code == SQLITE_IOERR || code == SQLITE_FULL)
		return ev_seterr(err, EV_EIO, "%s '%s': %s", what, rm->path,
				 sqlite3_errmsg(rm->db));
	if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
		return ev_seterr(err, EV_EDATA, "%s '%s': %s", what, rm->path,
				 sqlite3_errmsg(rm->db));
	return ev_seterr(err, EV_EDATA, "%s '%s': %s", what, rm->path,
			 sqlite3_errmsg(rm->db));
}

/* "name" with its quotes doubled, in a new string. */
static char *quote_ident(const char *s, size_t n)
{
	char *q = malloc(2 * n + 3), *o = q;
	size_t i;

	if (q == NULL)
		return NULL;
	*o++ = '"';
	for (i = 0; i < n; i++) {
		if (s[i] == '"')
			*o++ = '"';
		*o++ = s[i];
	}
	*o++ = '"';
	*o = '\0';
	return q;
}

/* ------------------------------------------------------------ the guard */

static const char *const read_pragmas[] = {
	"table_info",	    "table_xinfo",	 "table_list",
	"index_list",	    "index_info",	 "index_xinfo",
	"foreign_key_list", "foreign_key_check", "integrity_check",
	"quick_check",	    "data_version",	 "user_version",
	"application_id",   "schema_version",	 "compile_options",
	"collation_list",   "function_list",	 "pragma_list",
	"module_list",
};

static int authorize(void *ctx, int action, const char *a, const char *b,
		     const char *dbname, const char *trigger)
{
	struct ev_readmodel *rm = ctx;
	size_t i;

	(void)dbname;
	(void)trigger;
	if (!rm->guard)
		return SQLITE_OK;
	switch (action) {
	case SQLITE_ATTACH:
	case SQLITE_DETACH:
	case SQLITE_TRANSACTION:
	case SQLITE_SAVEPOINT:
		return SQLITE_DENY;
	case SQLITE_PRAGMA:
		for (i = 0; i < sizeof(read_pragmas) / sizeof(*read_pragmas);
		     i++)
			if (strcasecmp(a, read_pragmas[i]) == 0)
				return (strcasecmp(a, "user_version") == 0 ||
					strcasecmp(a, "application_id") == 0 ||
					strcasecmp(a, "schema_version") == 0) &&
						       b != NULL
					       ? SQLITE_DENY
					       : SQLITE_OK;
		return SQLITE_DENY;
	case SQLITE_CREATE_TEMP_TABLE:
	case SQLITE_CREATE_TEMP_VIEW:
	case SQLITE_CREATE_TEMP_TRIGGER:
	case SQLITE_CREATE_TEMP_INDEX:
		/* a temporary table would hide one of main's */
		return SQLITE_DENY;
	case SQLITE_CREATE_TABLE:
	case SQLITE_CREATE_VIEW:
	case SQLITE_INSERT:
	case SQLITE_DELETE:
	case SQLITE_UPDATE:
	case SQLITE_DROP_TABLE:
	case SQLITE_ALTER_TABLE:
	case SQLITE_CREATE_INDEX:
	case SQLITE_CREATE_TRIGGER:
	case SQLITE_DROP_INDEX:
	case SQLITE_DROP_TRIGGER:
		/* the table is a or b (ALTER TABLE: b; indexes: b) */
		if ((a != NULL && strcasecmp(a, CKPT_TABLE) == 0) ||
		    (b != NULL && strcasecmp(b, CKPT_TABLE) == 0))
			return SQLITE_DENY;
		return SQLITE_OK;
	default:
		return SQLITE_OK;
	}
}

/* ------------------------------------------------------------ opening */

static int run(struct ev_readmodel *rm, const char *sql, struct ev_error *err,
	       const char *what)
{
	char *msg = NULL;
	int rc = sqlite3_exec(rm->db, sql, NULL, NULL, &msg);

	sqlite3_free(msg);
	return rc == SQLITE_OK ? 0 : db_err(rm, err, rc, what);
}

static int open_db(sqlite3 **db, const char *path, int flags, double wait)
{
	int rc = sqlite3_open_v2(path, db, flags | SQLITE_OPEN_NOMUTEX, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_extended_result_codes(*db, 1);
		sqlite3_busy_timeout(*db, wait < 0 ? 0x7fffffff
					  : wait * 1000 > 2e9
						  ? 0x7fffffff
						  : (int)(wait * 1000));
	}
	return rc;
}

/* Another writer holds the lock: wait, in slices, up to rm->wait by the
 * clock (a count of sleeps stretches on a loaded machine), and not past a
 * stop. */
static int busy(void *ctx, int n)
{
	struct ev_readmodel *rm = ctx;
	struct timespec now;

	if (rm->stop != NULL && *rm->stop)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (n == 0)
		rm->busy_since = now;
	if (rm->wait >= 0 &&
	    (double)(now.tv_sec - rm->busy_since.tv_sec) +
			    (now.tv_nsec - rm->busy_since.tv_nsec) / 1e9 >=
		    rm->wait)
		return 0;
	usleep(10000);
	return 1;
}

void ev_readmodel_set_stop(struct ev_readmodel *rm, volatile sig_atomic_t *stop)
{
	rm->stop = stop;
}

int ev_readmodel_open(struct ev_readmodel **out, const char *path,
		      const char *table, int create, double wait,
		      struct ev_error *err)
{
	struct ev_readmodel *rm;
	struct stat st;
	int rc, r;

	*out = NULL;
	if (table == NULL || *table == '\0' || strlen(table) > 128 ||
	    ev_utf8_valid((const uint8_t *)table, strlen(table)) !=
		    strlen(table) ||
	    strncasecmp(table, "sqlite_", 7) == 0 ||
	    strcasecmp(table, CKPT_TABLE) == 0)
		return ev_seterr(err, EV_EUSAGE,
				 "'%s' cannot be the name of a read model "
				 "table",
				 table ? table : "");
	if (!create && stat(path, &st) != 0)
		return ev_seterr_errno(err,
				       errno == ENOENT ? EV_ENOENT : EV_EIO,
				       errno, "cannot open '%s'", path);
	if ((rm = calloc(1, sizeof(*rm))) == NULL ||
	    (rm->path = strdup(path)) == NULL ||
	    (rm->name = strdup(table)) == NULL ||
	    (rm->table = quote_ident(table, strlen(table))) == NULL) {
		ev_readmodel_close(rm);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	rc = open_db(&rm->db, path,
		     SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0),
		     wait);
	if (rc != SQLITE_OK) {
		r = ev_seterr(err, EV_EIO, "cannot open '%s': %s", path,
			      rm->db ? sqlite3_errmsg(rm->db)
				     : sqlite3_errstr(rc));
		ev_readmodel_close(rm);
		return r;
	}
	sqlite3_set_authorizer(rm->db, authorize, rm);
	rm->wait = wait;
	sqlite3_busy_handler(rm->db, busy, rm);
	if ((r = run(rm, "PRAGMA journal_mode=WAL", err, "cannot open")) != 0 ||
	    (r = run(rm, "PRAGMA synchronous=FULL", err, "cannot open")) != 0 ||
	    (r = run(rm,
		     "CREATE TABLE IF NOT EXISTS main." CKPT_TABLE
		     "(name TEXT PRIMARY KEY, checkpoint BLOB NOT NULL, "
		     "updated TEXT)",
		     err, "cannot write")) != 0) {
		if (r == EV_EDATA && stat(path, &st) == 0 && st.st_size > 0)
			ev_seterr(err, EV_EDATA,
				  "'%s' is not a SQLite database, or is "
				  "damaged",
				  path);
		ev_readmodel_close(rm);
		return r;
	}
	*out = rm;
	return 0;
}

void ev_readmodel_close(struct ev_readmodel *rm)
{
	size_t i;

	if (rm == NULL)
		return;
	if (rm->in_tx)
		ev_readmodel_rollback(rm);
	sqlite3_finalize(rm->put);
	sqlite3_close(rm->db);
	for (i = 0; i < rm->ncols; i++)
		free(rm->cols[i]);
	free(rm->cols);
	free(rm->path);
	free(rm->name);
	free(rm->table);
	ev_buf_free(&rm->tmp);
	free(rm);
}

/* ------------------------------------------------------------ transactions */

int ev_readmodel_begin(struct ev_readmodel *rm, struct ev_error *err)
{
	int r = run(rm, "BEGIN IMMEDIATE", err, "cannot write");

	if (r == 0)
		rm->in_tx = 1;
	return r;
}

int ev_readmodel_commit(struct ev_readmodel *rm, struct ev_error *err)
{
	int r = run(rm, "COMMIT", err, "cannot commit to");

	if (r == 0)
		rm->in_tx = 0;
	return r;
}

void ev_readmodel_rollback(struct ev_readmodel *rm)
{
	sqlite3_exec(rm->db, "ROLLBACK", NULL, NULL, NULL);
	rm->in_tx = 0;
	/* the columns added in it are gone again */
	rm->have_tab = 0;
}

/* ------------------------------------------------------------ checkpoint */

int ev_readmodel_get_checkpoint(struct ev_readmodel *rm, const char *name,
				struct ev_buf *out, struct ev_error *err)
{
	sqlite3_stmt *st = NULL;
	int rc, r;

	out->len = 0;
	rc = sqlite3_prepare_v2(rm->db,
				"SELECT checkpoint FROM main." CKPT_TABLE
				" WHERE name = ?",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_err(rm, err, rc, "cannot read");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		r = n > 0 && ev_buf_append(out, p, (size_t)n) != 0
			    ? ev_seterr(err, EV_ERR, "out of memory")
			    : 0;
	} else if (rc == SQLITE_DONE) {
		r = EV_ENOENT;
		ev_seterr(err, EV_ENOENT, "no checkpoint of '%s' in '%s' yet",
			  name, rm->path);
	} else {
		r = db_err(rm, err, rc, "cannot read");
	}
	sqlite3_finalize(st);
	return r;
}

int ev_readmodel_put_checkpoint(struct ev_readmodel *rm, const char *name,
				const void *p, size_t n, struct ev_error *err)
{
	sqlite3_stmt *st = NULL;
	char when[40];
	int rc;

	rc = sqlite3_prepare_v2(rm->db,
				"INSERT OR REPLACE INTO main." CKPT_TABLE
				"(name, checkpoint, updated) VALUES(?, ?, ?)",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_err(rm, err, rc, "cannot write");
	when[ev_time_format(ev_now(), when)] = '\0';
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 2, p, n, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, when, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_err(rm, err, rc, "cannot write");
}

/* ------------------------------------------------------------ rows */

static int load_columns(struct ev_readmodel *rm, struct ev_error *err)
{
	sqlite3_stmt *st = NULL;
	char *sql;
	int rc, found = 0, pk_ok = 0, r = 0;
	size_t i;

	for (i = 0; i < rm->ncols; i++)
		free(rm->cols[i]);
	rm->ncols = 0;
	sqlite3_finalize(rm->put);
	rm->put = NULL;
	sql = sqlite3_mprintf("PRAGMA table_info(%s)", rm->table);
	if (sql == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	rc = sqlite3_prepare_v2(rm->db, sql, -1, &st, NULL);
	sqlite3_free(sql);
	if (rc != SQLITE_OK)
		return db_err(rm, err, rc, "cannot read");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *col = (const char *)sqlite3_column_text(st, 1);
		int pk = sqlite3_column_int(st, 5);
		found = 1;
		if (col == NULL)
			continue;
		if (strcasecmp(col, "partition") == 0) {
			pk_ok = pk == 1;
			continue;
		}
		if (pk != 0)
			pk_ok = -1;
		if (rm->ncols == rm->cap) {
			size_t cap = rm->cap ? 2 * rm->cap : 16;
			char **nc = realloc(rm->cols, cap * sizeof(*nc));
			if (nc == NULL) {
				r = ev_seterr(err, EV_ERR, "out of memory");
				break;
			}
			rm->cols = nc;
			rm->cap = cap;
		}
		if ((rm->cols[rm->ncols] = strdup(col)) == NULL) {
			r = ev_seterr(err, EV_ERR, "out of memory");
			break;
		}
		rm->ncols++;
	}
	sqlite3_finalize(st);
	if (r != 0)
		return r;
	if (rc != SQLITE_DONE)
		return db_err(rm, err, rc, "cannot read");
	if (!found) {
		sql = sqlite3_mprintf("CREATE TABLE %s"
				      "(\"partition\" TEXT PRIMARY KEY)",
				      rm->table);
		if (sql == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		r = run(rm, sql, err, "cannot write");
		sqlite3_free(sql);
		if (r != 0)
			return r;
	} else if (pk_ok != 1) {
		return ev_seterr(err, EV_EDATA,
				 "table '%s' in '%s' does not have the "
				 "columns of a read model (\"partition\" as "
				 "its only primary key), and cannot be "
				 "migrated\nhint: name another table with "
				 "--table",
				 rm->name, rm->path);
	}
	rm->have_tab = 1;
	return 0;
}

static long find_col(const struct ev_readmodel *rm, const uint8_t *k, size_t kn)
{
	size_t i;

	/* SQLite compares names without regard to ASCII case */
	for (i = 0; i < rm->ncols; i++)
		if (strlen(rm->cols[i]) == kn &&
		    strncasecmp(rm->cols[i], (const char *)k, kn) == 0)
			return (long)i;
	return -1;
}

static int add_col(struct ev_readmodel *rm, const uint8_t *k, size_t kn,
		   struct ev_error *err)
{
	char *q, *sql;
	int r;

	if (kn == 0 || memchr(k, '\0', kn) != NULL)
		return ev_seterr(err, EV_EDATA,
				 "a state field named '%.*s' cannot be a "
				 "column of table '%s'",
				 (int)kn, (const char *)k, rm->name);
	if (kn == 9 && strncasecmp((const char *)k, "partition", 9) == 0)
		return ev_seterr(err, EV_EDATA,
				 "a state field named 'partition' clashes "
				 "with the key column of table '%s'",
				 rm->name);
	if ((q = quote_ident((const char *)k, kn)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	sql = sqlite3_mprintf("ALTER TABLE %s ADD COLUMN %s", rm->table, q);
	free(q);
	if (sql == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	r = run(rm, sql, err, "cannot write");
	sqlite3_free(sql);
	if (r != 0)
		return r;
	return load_columns(rm, err);
}

static int prepare_put(struct ev_readmodel *rm, struct ev_error *err)
{
	struct ev_buf *b = &rm->tmp;
	size_t i;
	char *q;
	int rc;

	sqlite3_finalize(rm->put);
	rm->put = NULL;
	b->len = 0;
	if (ev_buf_printf(b, "INSERT OR REPLACE INTO %s(\"partition\"",
			  rm->table) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	for (i = 0; i < rm->ncols; i++) {
		q = quote_ident(rm->cols[i], strlen(rm->cols[i]));
		if (q == NULL || ev_buf_printf(b, ", %s", q) != 0) {
			free(q);
			return ev_seterr(err, EV_ERR, "out of memory");
		}
		free(q);
	}
	if (ev_buf_append(b, ") VALUES(?", 10) != 0)
		return ev_seterr(err, EV_ERR, "out of memory");
	for (i = 0; i < rm->ncols; i++)
		if (ev_buf_append(b, ", ?", 3) != 0)
			return ev_seterr(err, EV_ERR, "out of memory");
	if (ev_buf_append(b, ")", 2) != 0) /* and the NUL */
		return ev_seterr(err, EV_ERR, "out of memory");
	rc = sqlite3_prepare_v3(rm->db, (const char *)b->p, -1,
				SQLITE_PREPARE_PERSISTENT, &rm->put, NULL);
	if (rc != SQLITE_OK)
		return db_err(rm, err, rc, "cannot write");
	rm->put_cols = rm->ncols;
	return 0;
}

/* Bind the msgpack value at *pp (moved past it) to parameter i. */
static int bind_value(struct ev_readmodel *rm, sqlite3_stmt *st, int i,
		      const uint8_t **pp, const uint8_t *end,
		      struct ev_error *err)
{
	const uint8_t *p = *pp;
	struct ev_mp_item it;
	ev_time_t t;
	char tmp[40];
	int rc;

	if (ev_mp_read(pp, end, &it) != 0)
		return ev_seterr(err, EV_EDATA, "malformed value");
	switch (it.type) {
	case EV_MP_NIL:
		rc = sqlite3_bind_null(st, i);
		break;
	case EV_MP_BOOL:
		rc = sqlite3_bind_int(st, i, it.v.b);
		break;
	case EV_MP_UINT:
		if (it.v.u > INT64_MAX)
			rc = sqlite3_bind_double(st, i, (double)it.v.u);
		else
			rc = sqlite3_bind_int64(st, i, (sqlite3_int64)it.v.u);
		break;
	case EV_MP_INT:
		rc = sqlite3_bind_int64(st, i, it.v.i);
		break;
	case EV_MP_FLOAT:
		rc = sqlite3_bind_double(st, i, it.v.f);
		break;
	case EV_MP_STR:
		rc = sqlite3_bind_text64(st, i, (const char *)it.p, it.n,
					 SQLITE_TRANSIENT, SQLITE_UTF8);
		break;
	case EV_MP_BIN:
		rc = sqlite3_bind_blob64(st, i, it.p, it.n, SQLITE_TRANSIENT);
		break;
	case EV_MP_EXT:
		if (ev_mp_time_decode(&it, &t) != 0)
			return ev_seterr(err, EV_EDATA, "malformed value");
		rc = sqlite3_bind_text(st, i, tmp, (int)ev_time_format(t, tmp),
				       SQLITE_TRANSIENT);
		break;
	default: /* arrays and maps: JSON */
		*pp = p;
		rm->tmp.len = 0;
		if (ev_json_put_mp(&rm->tmp, pp, end, EV_MAX_DEPTH, err) != 0)
			return EV_EDATA;
		rc = sqlite3_bind_text64(st, i, (const char *)rm->tmp.p,
					 rm->tmp.len, SQLITE_TRANSIENT,
					 SQLITE_UTF8);
		break;
	}
	return rc == SQLITE_OK ? 0 : db_err(rm, err, rc, "cannot write");
}

/* The text of a partition key: a string as it is, else JSON. */
static int key_text(struct ev_readmodel *rm, const uint8_t *key, size_t kn,
		    struct ev_buf *out, struct ev_error *err)
{
	const uint8_t *p = key;
	struct ev_mp_item it;

	out->len = 0;
	if (ev_mp_read(&p, key + kn, &it) == 0 && it.type == EV_MP_STR)
		return ev_buf_append(out, it.p, it.n) != 0
			       ? ev_seterr(err, EV_ERR, "out of memory")
			       : 0;
	p = key;
	(void)rm;
	return ev_json_put_mp(out, &p, key + kn, EV_MAX_DEPTH, err) != 0
		       ? EV_EDATA
		       : 0;
}

int ev_readmodel_put(struct ev_readmodel *rm, const uint8_t *key, size_t kn,
		     const uint8_t *state, size_t sn, struct ev_error *err)
{
	const uint8_t *p = state, *end = state + sn, *v;
	struct ev_mp_item it, k;
	struct ev_buf kb = {0};
	uint32_t i;
	long c;
	int r, rc, is_map;

	if (!rm->have_tab && (r = load_columns(rm, err)) != 0)
		return r;
	if (ev_mp_read(&p, end, &it) != 0)
		return ev_seterr(err, EV_EDATA, "malformed state");
	is_map = it.type == EV_MP_MAP;
	/* the columns first */
	if (is_map) {
		for (i = 0; i < it.n; i++) {
			if (ev_mp_read(&p, end, &k) != 0 || k.type != EV_MP_STR)
				return ev_seterr(err, EV_EDATA,
						 "malformed state");
			if (find_col(rm, k.p, k.n) < 0 &&
			    (r = add_col(rm, k.p, k.n, err)) != 0)
				return r;
			if (ev_mp_skip_fast(&p, end) != 0)
				return ev_seterr(err, EV_EDATA,
						 "malformed state");
		}
	} else if (find_col(rm, (const uint8_t *)"state", 5) < 0 &&
		   (r = add_col(rm, (const uint8_t *)"state", 5, err)) != 0) {
		return r;
	}
	if ((rm->put == NULL || rm->put_cols != rm->ncols) &&
	    (r = prepare_put(rm, err)) != 0)
		return r;
	sqlite3_reset(rm->put);
	sqlite3_clear_bindings(rm->put);
	if ((r = key_text(rm, key, kn, &kb, err)) != 0) {
		ev_buf_free(&kb);
		return r;
	}
	rc = sqlite3_bind_text64(rm->put, 1, (const char *)kb.p, kb.len,
				 SQLITE_TRANSIENT, SQLITE_UTF8);
	ev_buf_free(&kb);
	if (rc != SQLITE_OK)
		return db_err(rm, err, rc, "cannot write");
	p = state;
	if (!is_map) {
		c = find_col(rm, (const uint8_t *)"state", 5);
		if ((r = bind_value(rm, rm->put, (int)c + 2, &p, end, err)) !=
		    0)
			return r;
	} else {
		unsigned char *bound = calloc(rm->ncols + 1, 1);
		if (bound == NULL)
			return ev_seterr(err, EV_ERR, "out of memory");
		(void)ev_mp_read(&p, end, &it);
		for (i = 0; i < it.n; i++) {
			(void)ev_mp_read(&p, end, &k);
			c = find_col(rm, k.p, k.n);
			if (bound[c]++) {
				free(bound);
				return ev_seterr(err, EV_EDATA,
						 "state fields named '%s' and "
						 "'%.*s' would be one column "
						 "of table '%s' (SQLite names "
						 "ignore case)",
						 rm->cols[c], (int)k.n,
						 (const char *)k.p, rm->name);
			}
			v = p;
			if ((r = bind_value(rm, rm->put, (int)c + 2, &v, end,
					    err)) != 0) {
				free(bound);
				return r;
			}
			p = v;
		}
		free(bound);
	}
	rc = sqlite3_step(rm->put);
	sqlite3_reset(rm->put);
	return rc == SQLITE_DONE ? 0 : db_err(rm, err, rc, "cannot write");
}

int ev_readmodel_mark(struct ev_readmodel *rm, enum ev_readmodel_mark what,
		      struct ev_error *err)
{
	return run(rm,
		   what == EV_RM_MARK	? "SAVEPOINT evproject_event"
		   : what == EV_RM_KEEP ? "RELEASE evproject_event"
					: "ROLLBACK TO evproject_event",
		   err, "cannot write");
}

int ev_readmodel_sql(void *ctx, const char *sql, const uint8_t *params,
		     size_t pn,
		     int (*row)(void *rctx, const uint8_t *map, size_t n),
		     void *rctx, struct ev_error *err)
{
	return ev_readmodel_exec(ctx, sql, params, pn, row, rctx, err);
}

int ev_readmodel_in_tx(const struct ev_readmodel *rm)
{
	return rm->in_tx;
}

int ev_readmodel_begin_if(struct ev_readmodel *rm, struct ev_error *err)
{
	return rm->in_tx ? 0 : ev_readmodel_begin(rm, err);
}

int ev_readmodel_clear(struct ev_readmodel *rm, struct ev_error *err)
{
	char *sql;
	int r;

	if (!rm->have_tab && (r = load_columns(rm, err)) != 0)
		return r;
	if ((sql = sqlite3_mprintf("DELETE FROM %s", rm->table)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	r = run(rm, sql, err, "cannot write");
	sqlite3_free(sql);
	return r;
}

/* ------------------------------------------------------------ user SQL */

/* A row as a msgpack map of column names to values. */
static int row_mp(sqlite3_stmt *st, struct ev_buf *out)
{
	int i, n = sqlite3_column_count(st);
	uint8_t hdr[16], *o;

	out->len = 0;
	o = ev_mp_map_hdr(hdr, (size_t)n);
	if (ev_buf_append(out, hdr, (size_t)(o - hdr)) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		const char *name = sqlite3_column_name(st, i);
		if (ev_buf_mp_str(out, name ? name : "",
				  name ? strlen(name) : 0))
			return -1;
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			o = ev_mp_int(hdr, sqlite3_column_int64(st, i));
			if (ev_buf_append(out, hdr, (size_t)(o - hdr)) != 0)
				return -1;
			break;
		case SQLITE_FLOAT:
			o = ev_mp_double(hdr, sqlite3_column_double(st, i));
			if (ev_buf_append(out, hdr, (size_t)(o - hdr)) != 0)
				return -1;
			break;
		case SQLITE_TEXT: {
			const char *s =
				(const char *)sqlite3_column_text(st, i);
			int sn = sqlite3_column_bytes(st, i);
			if (ev_buf_mp_str(out, s ? s : "", (size_t)sn) != 0)
				return -1;
			break;
		}
		case SQLITE_BLOB: {
			const void *b = sqlite3_column_blob(st, i);
			int bn = sqlite3_column_bytes(st, i);
			o = ev_mp_bin_hdr(hdr, (size_t)bn);
			if (ev_buf_append(out, hdr, (size_t)(o - hdr)) != 0 ||
			    (bn > 0 && ev_buf_append(out, b, (size_t)bn) != 0))
				return -1;
			break;
		}
		default:
			if (ev_buf_putc(out, 0xc0) != 0)
				return -1;
		}
	}
	return 0;
}

static int sql_err(struct ev_readmodel *rm, int rc, struct ev_error *err)
{
	int code = rc & 0xff;

	if (code == SQLITE_AUTH)
		return ev_seterr(err, EV_EDATA,
				 "SQL: not authorized: a projection may not "
				 "attach, detach or vacuum, run BEGIN, "
				 "COMMIT or SAVEPOINT, set pragmas, or "
				 "write " CKPT_TABLE);
	if (code == SQLITE_BUSY || code == SQLITE_LOCKED ||
	    code == SQLITE_NOMEM || code == SQLITE_IOERR ||
	    code == SQLITE_FULL || code == SQLITE_CORRUPT)
		return db_err(rm, err, rc, "cannot write");
	return ev_seterr(err, EV_EDATA, "SQL: %s", sqlite3_errmsg(rm->db));
}

int ev_readmodel_exec(struct ev_readmodel *rm, const char *sql,
		      const uint8_t *params, size_t pn,
		      int (*row)(void *ctx, const uint8_t *map, size_t n),
		      void *ctx, struct ev_error *err)
{
	const uint8_t *p = params, *end = params + pn;
	sqlite3_stmt *st = NULL;
	const char *tail = NULL;
	struct ev_mp_item it;
	struct ev_buf rb = {0};
	uint32_t i, np = 0;
	int rc, r = 0;

	if (params != NULL) {
		if (ev_mp_read(&p, end, &it) != 0 || it.type != EV_MP_ARRAY)
			return ev_seterr(err, EV_EUSAGE,
					 "the parameters are not a list");
		np = it.n;
	}
	/* on while it runs too: VACUUM attaches as it runs */
	rm->guard = 1;
	rc = sqlite3_prepare_v2(rm->db, sql, -1, &st, &tail);
	if (rc != SQLITE_OK) {
		r = sql_err(rm, rc, err);
		goto end;
	}
	if (st == NULL) {
		r = ev_seterr(err, EV_EDATA, "SQL: no statement");
		goto end;
	}
	if (tail != NULL) {
		while (*tail == ' ' || *tail == '\t' || *tail == '\n' ||
		       *tail == '\r' || *tail == ';')
			tail++;
		if (*tail != '\0') {
			r = ev_seterr(err, EV_EDATA,
				      "SQL: one statement at a time "
				      "(\"%.40s\" follows)",
				      tail);
			goto end;
		}
	}
	if ((int)np != sqlite3_bind_parameter_count(st)) {
		r = ev_seterr(err, EV_EDATA,
			      "SQL: %d parameters, %u values given",
			      sqlite3_bind_parameter_count(st), np);
		goto end;
	}
	for (i = 0; i < np; i++)
		if ((r = bind_value(rm, st, (int)i + 1, &p, end, err)) != 0)
			goto end;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (row == NULL)
			continue;
		if (row_mp(st, &rb) != 0) {
			r = ev_seterr(err, EV_ERR, "out of memory");
			goto end;
		}
		if ((r = row(ctx, rb.p, rb.len)) != 0)
			goto end;
	}
	if (rc != SQLITE_DONE)
		r = sql_err(rm, rc, err);
end:
	sqlite3_finalize(st);
	rm->guard = 0;
	ev_buf_free(&rb);
	/* the statement may have changed the table's columns */
	rm->have_tab = 0;
	return r;
}

int ev_readmodel_script(struct ev_readmodel *rm, const char *sql,
			struct ev_error *err)
{
	const char *p = sql, *tail;
	sqlite3_stmt *st;
	int rc, r = 0;

	rm->guard = 1;
	while (*p != '\0') {
		st = NULL;
		rc = sqlite3_prepare_v2(rm->db, p, -1, &st, &tail);
		if (rc != SQLITE_OK) {
			r = sql_err(rm, rc, err);
			break;
		}
		if (st == NULL) /* only white space and comments left */
			break;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			;
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE) {
			r = sql_err(rm, rc, err);
			break;
		}
		p = tail;
	}
	rm->guard = 0;
	rm->have_tab = 0;
	return r;
}

int ev_readmodel_copy_schema(struct ev_readmodel *rm, const char *from,
			     struct ev_error *err)
{
	sqlite3 *src = NULL;
	sqlite3_stmt *st = NULL;
	int rc, r = 0;

	if (access(from, F_OK) != 0)
		return 0;
	rc = open_db(&src, from, SQLITE_OPEN_READONLY, 10);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(
			src,
			"SELECT sql FROM main.sqlite_master WHERE sql IS NOT "
			"NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND "
			"name <> ?1 AND tbl_name <> ?1 AND tbl_name <> "
			"'" CKPT_TABLE "' ORDER BY type <> 'table', rowid",
			-1, &st, NULL);
	if (rc != SQLITE_OK) {
		r = ev_seterr(err, EV_EIO, "cannot read the schema of '%s': %s",
			      from,
			      src ? sqlite3_errmsg(src) : sqlite3_errstr(rc));
		goto end;
	}
	sqlite3_bind_text(st, 1, rm->name, -1, SQLITE_STATIC);
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		r = run(rm, (const char *)sqlite3_column_text(st, 0), err,
			"cannot write");
	if (r == 0 && rc != SQLITE_DONE)
		r = ev_seterr(err, EV_EIO, "cannot read the schema of '%s': %s",
			      from, sqlite3_errmsg(src));
end:
	sqlite3_finalize(st);
	sqlite3_close(src);
	rm->have_tab = 0;
	return r;
}

int ev_readmodel_remove(const char *path)
{
	static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
	char aux[4096];
	size_t i;

	for (i = 0; i < sizeof(sfx) / sizeof(*sfx); i++) {
		if ((size_t)snprintf(aux, sizeof(aux), "%s%s", path, sfx[i]) >=
		    sizeof(aux)) {
			errno = ENAMETOOLONG;
			return -1;
		}
		if (unlink(aux) != 0 && errno != ENOENT)
			return -1;
	}
	return 0;
}

int ev_readmodel_peek_checkpoint(const char *path, const char *name,
				 struct ev_buf *out, struct ev_error *err)
{
	struct ev_readmodel *rm = NULL;
	int r;

	out->len = 0;
	if (access(path, F_OK) != 0)
		return EV_ENOENT;
	if ((r = ev_readmodel_open(&rm, path, name, 0, 10, err)) != 0)
		return r;
	r = ev_readmodel_get_checkpoint(rm, name, out, err);
	ev_readmodel_close(rm);
	return r;
}

/* ------------------------------------------------------------ diff */

struct side {
	sqlite3_stmt *st;
	int more;
	const char *key;
};

static sqlite3_stmt *sort_st; /* for name_cmp (one thread: a diff) */

static int name_cmp(const void *a, const void *b)
{
	return strcmp(sqlite3_column_name(sort_st, *(const int *)a),
		      sqlite3_column_name(sort_st, *(const int *)b));
}

/* The row of st as a JSON object of its non-NULL state columns, in the
 * order of their names (two tables may have them in another order). */
static int row_json(sqlite3_stmt *st, struct ev_buf *out)
{
	int k, i, n = sqlite3_column_count(st), first = 1;
	int order[2000];
	char tmp[40];

	out->len = 0;
	if (ev_buf_putc(out, '{') != 0 || n > 2000)
		return -1;
	for (k = 1; k < n; k++)
		order[k - 1] = k;
	sort_st = st;
	qsort(order, (size_t)(n > 1 ? n - 1 : 0), sizeof(*order), name_cmp);
	for (k = 1; k < n; k++) {
		i = order[k - 1];
		int t = sqlite3_column_type(st, i);
		const char *name = sqlite3_column_name(st, i);
		if (t == SQLITE_NULL)
			continue;
		if ((!first && ev_buf_putc(out, ',') != 0) ||
		    ev_json_put_str(out, name, strlen(name)) != 0 ||
		    ev_buf_putc(out, ':') != 0)
			return -1;
		first = 0;
		if (t == SQLITE_INTEGER) {
			char *e = ev_fmt_i64(tmp, sqlite3_column_int64(st, i));
			if (ev_buf_append(out, tmp, (size_t)(e - tmp)) != 0)
				return -1;
		} else if (t == SQLITE_FLOAT) {
			double d = sqlite3_column_double(st, i);
			char *e = isfinite(d) ? ev_fmt_double(tmp, d) : NULL;
			if (e == NULL ? ev_buf_append(out, "null", 4) != 0
				      : ev_buf_append(out, tmp,
						      (size_t)(e - tmp)) != 0)
				return -1;
		} else if (t == SQLITE_TEXT) {
			const char *s =
				(const char *)sqlite3_column_text(st, i);
			if (ev_json_put_str(out, s,
					    (size_t)sqlite3_column_bytes(st,
									 i)))
				return -1;
		} else {
			const uint8_t *b = sqlite3_column_blob(st, i);
			if (ev_buf_putc(out, '"') != 0 ||
			    ev_base64_encode(out, b,
					     (size_t)sqlite3_column_bytes(st,
									  i)) !=
				    0 ||
			    ev_buf_putc(out, '"') != 0)
				return -1;
		}
	}
	return ev_buf_putc(out, '}');
}

static int side_next(struct side *s)
{
	int rc = sqlite3_step(s->st);

	s->more = rc == SQLITE_ROW;
	s->key = s->more ? (const char *)sqlite3_column_text(s->st, 0) : NULL;
	if (s->more && s->key == NULL)
		s->key = "";
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

static int diff_line(struct ev_buf *out, char tag, const char *key,
		     const struct ev_buf *a, const struct ev_buf *b)
{
	if (ev_buf_putc(out, tag) != 0 || ev_buf_putc(out, ' ') != 0 ||
	    ev_json_put_str(out, key, strlen(key)) != 0 ||
	    ev_buf_putc(out, ' ') != 0 || ev_buf_append(out, a->p, a->len))
		return -1;
	if (b != NULL && (ev_buf_append(out, " -> ", 4) != 0 ||
			  ev_buf_append(out, b->p, b->len) != 0))
		return -1;
	return ev_buf_putc(out, '\n');
}

int ev_readmodel_diff(const char *live, const char *shadow, const char *table,
		      struct ev_buf *out, struct ev_readmodel_diffstat *ds,
		      struct ev_error *err)
{
	struct ev_readmodel *a = NULL, *b = NULL;
	struct side sa = {0}, sb = {0};
	struct ev_buf ja = {0}, jb = {0};
	char *sql = NULL;
	int r, c, oom = 0;

	memset(ds, 0, sizeof(*ds));
	if ((r = ev_readmodel_open(&a, live, table, 0, 0, err)) != 0 ||
	    (r = ev_readmodel_open(&b, shadow, table, 0, 0, err)) != 0)
		goto end;
	if ((r = load_columns(a, err)) != 0 || (r = load_columns(b, err)) != 0)
		goto end;
	sql = sqlite3_mprintf("SELECT * FROM %s ORDER BY \"partition\"",
			      a->table);
	if (sql == NULL) {
		r = ev_seterr(err, EV_ERR, "out of memory");
		goto end;
	}
	if (sqlite3_prepare_v2(a->db, sql, -1, &sa.st, NULL) != SQLITE_OK) {
		r = db_err(a, err, sqlite3_errcode(a->db), "cannot read");
		goto end;
	}
	if (sqlite3_prepare_v2(b->db, sql, -1, &sb.st, NULL) != SQLITE_OK) {
		r = db_err(b, err, sqlite3_errcode(b->db), "cannot read");
		goto end;
	}
	if (side_next(&sa) != 0 || side_next(&sb) != 0)
		goto read_fail;
	while (sa.more || sb.more) {
		c = !sa.more ? 1 : !sb.more ? -1 : strcmp(sa.key, sb.key);
		if (c < 0) {
			oom |= row_json(sa.st, &ja) ||
			       diff_line(out, '-', sa.key, &ja, NULL);
			ds->removed++;
			if (side_next(&sa) != 0)
				goto read_fail;
		} else if (c > 0) {
			oom |= row_json(sb.st, &jb) ||
			       diff_line(out, '+', sb.key, &jb, NULL);
			ds->added++;
			if (side_next(&sb) != 0)
				goto read_fail;
		} else {
			oom |= row_json(sa.st, &ja) || row_json(sb.st, &jb);
			if (ja.len != jb.len ||
			    memcmp(ja.p, jb.p, ja.len) != 0) {
				oom |= diff_line(out, '~', sa.key, &ja, &jb);
				ds->changed++;
			} else {
				ds->unchanged++;
			}
			if (side_next(&sa) != 0 || side_next(&sb) != 0)
				goto read_fail;
		}
		if (oom) {
			r = ev_seterr(err, EV_ERR, "out of memory");
			goto end;
		}
	}
	r = 0;
	goto end;
read_fail:
	r = ev_seterr(err, EV_EDATA, "cannot read '%s' or '%s': %s", live,
		      shadow, sqlite3_errmsg(sa.more ? b->db : a->db));
end:
	sqlite3_free(sql);
	sqlite3_finalize(sa.st);
	sqlite3_finalize(sb.st);
	ev_buf_free(&ja);
	ev_buf_free(&jb);
	ev_readmodel_close(a);
	ev_readmodel_close(b);
	return r;
}

/* ------------------------------------------------------------ swap */

static int dir_fsync(const char *path)
{
	char *d = strdup(path), *slash;
	int fd, r;

	if (d == NULL)
		return -1;
	slash = strrchr(d, '/');
	if (slash == NULL)
		strcpy(d, ".");
	else if (slash == d)
		d[1] = '\0';
	else
		*slash = '\0';
	fd = open(d, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(d);
	if (fd < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* The projections other than name with a checkpoint in the database at
 * path, a list into out ("a, b"): 0, or an error. */
static int others(const char *path, const char *name, struct ev_buf *out,
		  struct ev_error *err)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc;

	out->len = 0;
	rc = open_db(&db, path, SQLITE_OPEN_READONLY, 10);
	if (rc == SQLITE_OK &&
	    sqlite3_prepare_v2(db,
			       "SELECT name FROM main." CKPT_TABLE
			       " WHERE name <> ? ORDER BY name",
			       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
		while (sqlite3_step(st) == SQLITE_ROW)
			ev_buf_printf(out, "%s'%s'", out->len ? ", " : "",
				      (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	(void)err;
	ev_buf_putc(out, '\0');
	out->len--;
	return 0;
}

int ev_readmodel_swap(const char *live, const char *shadow, const char *name,
		      double wait, struct ev_error *err)
{
	sqlite3 *sh = NULL, *lv = NULL;
	struct stat st;
	char *wal = NULL;
	int rc, nlog = -1, nckpt = -1, one = 1, r = 0;
	double waited = 0;

	if (stat(shadow, &st) != 0)
		return ev_seterr_errno(err,
				       errno == ENOENT ? EV_ENOENT : EV_EIO,
				       errno, "cannot open '%s'", shadow);
	/* the shadow whole in its file, its WAL gone when it closes */
	rc = open_db(&sh, shadow, SQLITE_OPEN_READWRITE, wait);
	if (rc == SQLITE_OK)
		rc = sqlite3_wal_checkpoint_v2(sh, NULL,
					       SQLITE_CHECKPOINT_TRUNCATE, NULL,
					       NULL);
	if (rc != SQLITE_OK) {
		r = ev_seterr(err,
			      (rc & 0xff) == SQLITE_BUSY ? EV_EAGAIN : EV_EIO,
			      "cannot checkpoint '%s': %s", shadow,
			      sh ? sqlite3_errmsg(sh) : sqlite3_errstr(rc));
		sqlite3_close(sh);
		return r;
	}
	if (sqlite3_close(sh) != SQLITE_OK)
		return ev_seterr(err, EV_EIO, "cannot close '%s'", shadow);
	if (name != NULL && stat(live, &st) == 0) {
		/* the whole file is replaced: nothing but name's may go */
		struct ev_buf o = {0};
		others(live, name, &o, err);
		if (o.len > 0) {
			r = ev_seterr(err, EV_EUSAGE,
				      "'%s' also holds the read models of "
				      "projections %s, which a swap of the "
				      "whole file would lose",
				      live, (const char *)o.p);
			ev_buf_free(&o);
			return r;
		}
		ev_buf_free(&o);
	}
	if (stat(live, &st) != 0) {
		if (errno != ENOENT)
			return ev_seterr_errno(err, EV_EIO, errno,
					       "cannot open '%s'", live);
		if (rename(shadow, live) != 0 || dir_fsync(live) != 0)
			return ev_seterr_errno(err, EV_EIO, errno,
					       "cannot rename '%s' to '%s'",
					       shadow, live);
		return 0;
	}
	/*
	 * The live one: its WAL emptied into it, then the write lock held
	 * while the file is replaced.  A reader that opens the new file
	 * finds the WAL empty, and so reads the new file only; one that
	 * has the old file open reads on in it.  Nothing writes meanwhile.
	 */
	if ((wal = malloc(strlen(live) + 5)) == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	sprintf(wal, "%s-wal", live);
	rc = open_db(&lv, live, SQLITE_OPEN_READWRITE, wait);
	if (rc != SQLITE_OK) {
		r = ev_seterr(err, EV_EIO, "cannot open '%s': %s", live,
			      lv ? sqlite3_errmsg(lv) : sqlite3_errstr(rc));
		goto end;
	}
	sqlite3_file_control(lv, "main", SQLITE_FCNTL_PERSIST_WAL, &one);
	for (;;) {
		rc = sqlite3_wal_checkpoint_v2(lv, NULL,
					       SQLITE_CHECKPOINT_TRUNCATE,
					       &nlog, &nckpt);
		if (rc == SQLITE_OK && sqlite3_exec(lv, "BEGIN IMMEDIATE", NULL,
						    NULL, NULL) == SQLITE_OK) {
			if (stat(wal, &st) != 0 || st.st_size == 0)
				break; /* empty, and ours */
			sqlite3_exec(lv, "ROLLBACK", NULL, NULL, NULL);
		}
		if ((rc & 0xff) != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY &&
		    (rc & 0xff) != SQLITE_LOCKED) {
			r = ev_seterr(err, EV_EIO, "cannot checkpoint '%s': %s",
				      live, sqlite3_errmsg(lv));
			goto end;
		}
		if (wait >= 0 && waited >= (wait > 1 ? wait : 1)) {
			r = ev_seterr(err, EV_EAGAIN,
				      "database '%s' stays busy: cannot swap",
				      live);
			goto end;
		}
		usleep(20000);
		waited += 0.02;
	}
	if (rename(shadow, live) != 0 || dir_fsync(live) != 0) {
		r = ev_seterr_errno(err, EV_EIO, errno,
				    "cannot rename '%s' to '%s'", shadow, live);
		sqlite3_exec(lv, "ROLLBACK", NULL, NULL, NULL);
		goto end;
	}
	sqlite3_exec(lv, "ROLLBACK", NULL, NULL, NULL);
end:
	sqlite3_close(lv);
	free(wal);
	return r;
}
