/*
 * test_readmodel.c - struct ev_readmodel: states as rows (columns added
 * as fields appear, JSON for nested values, the "state" column for
 * states that are not objects), the checkpoint beside them in one
 * transaction, the guard on a projection's SQL, the diff of a shadow
 * and the swap that readers never see half of.
 */
#include <sqlite3.h>
#include <sys/wait.h>

#include "unit.h"

/* JSON text as msgpack, in a static buffer per call site use. */
static size_t mp(const char *json, struct ev_buf *out)
{
	struct ev_json js;

	out->len = 0;
	ev_json_init(&js, json, strlen(json));
	assert_int_equal(ev_json_value(&js, out), 0);
	return out->len;
}

static void put(struct ev_readmodel *rm, const char *key, const char *state)
{
	struct ev_buf k = {0}, s = {0};
	struct ev_error err;

	mp(key, &k);
	mp(state, &s);
	if (ev_readmodel_put(rm, k.p, k.len, s.p, s.len, &err) != 0)
		fail_msg("put %s %s: %s", key, state, err.msg);
	ev_buf_free(&k);
	ev_buf_free(&s);
}

/* The first column of the rows of sql, joined by '|' and ';'. */
static char *query(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	struct ev_buf b = {0};
	int i, n;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		n = sqlite3_column_count(st);
		for (i = 0; i < n; i++) {
			const char *t =
				(const char *)sqlite3_column_text(st, i);
			ev_buf_printf(&b, "%s%s", i ? "|" : "", t ? t : "NULL");
		}
		ev_buf_putc(&b, ';');
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	ev_buf_putc(&b, '\0');
	return (char *)b.p;
}

static char *dbpath(const char *name)
{
	char *d = unit_tmpdir(), *p = malloc(strlen(d) + strlen(name) + 2);

	sprintf(p, "%s/%s", d, name);
	return p;
}

static void test_rows_and_columns(void **state)
{
	char *path = dbpath("rm.sqlite"), *got;
	struct ev_readmodel *rm;
	struct ev_error err;

	(void)state;
	assert_int_equal(ev_readmodel_open(&rm, path, "balance", 1, 0, &err),
			 0);
	assert_int_equal(ev_readmodel_begin(rm, &err), 0);
	put(rm, "\"acct-1\"", "{\"balance\":10,\"owner\":\"ann\"}");
	put(rm, "\"acct-2\"",
	    "{\"balance\":2.5,\"tags\":[1,2],"
	    "\"open\":true,\"note\":null}");
	put(rm, "7", "{\"balance\":-3}");
	put(rm, "\"acct-1\"", "{\"balance\":11}"); /* replaced whole */
	assert_int_equal(ev_readmodel_commit(rm, &err), 0);
	got = query(path, "SELECT partition, balance, typeof(balance), owner, "
			  "tags, open FROM balance ORDER BY partition");
	assert_string_equal(got, "7|-3|integer|NULL|NULL|NULL;"
				 "acct-1|11|integer|NULL|NULL|NULL;"
				 "acct-2|2.5|real|NULL|[1,2]|1;");
	free(got);
	got = query(path, "SELECT json_extract(tags, '$[1]') FROM balance "
			  "WHERE partition = 'acct-2'");
	assert_string_equal(got, "2;");
	free(got);
	/* a state that is not an object: the column "state" */
	assert_int_equal(ev_readmodel_begin(rm, &err), 0);
	put(rm, "\"n\"", "42");
	assert_int_equal(ev_readmodel_commit(rm, &err), 0);
	got = query(path, "SELECT state FROM balance WHERE partition = 'n'");
	assert_string_equal(got, "42;");
	free(got);
	ev_readmodel_close(rm);
	free(path);
}

static void test_checkpoint_in_the_transaction(void **state)
{
	char *path = dbpath("ck.sqlite"), *got;
	struct ev_readmodel *rm;
	struct ev_buf b = {0};
	struct ev_error err;

	(void)state;
	assert_int_equal(ev_readmodel_open(&rm, path, "t", 1, 0, &err), 0);
	assert_int_equal(ev_readmodel_get_checkpoint(rm, "p", &b, &err),
			 EV_ENOENT);
	assert_int_equal(ev_readmodel_begin(rm, &err), 0);
	put(rm, "\"a\"", "{\"x\":1}");
	assert_int_equal(ev_readmodel_put_checkpoint(rm, "p", "one", 3, &err),
			 0);
	assert_int_equal(ev_readmodel_commit(rm, &err), 0);
	/* a rolled-back batch leaves rows and checkpoint as they were */
	assert_int_equal(ev_readmodel_begin(rm, &err), 0);
	put(rm, "\"a\"", "{\"x\":2,\"y\":3}");
	put(rm, "\"b\"", "{\"x\":9}");
	assert_int_equal(ev_readmodel_put_checkpoint(rm, "p", "two", 3, &err),
			 0);
	ev_readmodel_rollback(rm);
	assert_int_equal(ev_readmodel_get_checkpoint(rm, "p", &b, &err), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.p, "one", 3);
	got = query(path, "SELECT partition, x FROM t");
	assert_string_equal(got, "a|1;");
	free(got);
	/* and the columns it added are gone with it: they come back */
	assert_int_equal(ev_readmodel_begin(rm, &err), 0);
	put(rm, "\"a\"", "{\"x\":2,\"y\":3}");
	assert_int_equal(ev_readmodel_commit(rm, &err), 0);
	got = query(path, "SELECT x, y FROM t");
	assert_string_equal(got, "2|3;");
	free(got);
	ev_buf_free(&b);
	ev_readmodel_close(rm);
	free(path);
}

static void test_bad_tables_and_files(void **state)
{
	char *path = dbpath("bad.sqlite"), *junk = dbpath("junk.sqlite");
	struct ev_readmodel *rm;
	struct ev_buf k = {0}, s = {0};
	struct ev_error err;
	sqlite3 *db;

	(void)state;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
				      "CREATE TABLE other(id INTEGER "
				      "PRIMARY KEY, v)",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(ev_readmodel_open(&rm, path, "other", 1, 0, &err), 0);
	mp("\"a\"", &k);
	mp("{\"v\":1}", &s);
	assert_int_equal(ev_readmodel_put(rm, k.p, k.len, s.p, s.len, &err),
			 EV_EDATA);
	assert_non_null(strstr(err.msg, "table 'other' in"));
	assert_non_null(strstr(err.msg, "cannot be migrated"));
	ev_readmodel_close(rm);
	/* a state field that would clash with the key column */
	assert_int_equal(ev_readmodel_open(&rm, path, "fine", 1, 0, &err), 0);
	mp("{\"partition\":1}", &s);
	assert_int_equal(ev_readmodel_put(rm, k.p, k.len, s.p, s.len, &err),
			 EV_EDATA);
	assert_non_null(strstr(err.msg, "'partition' clashes"));
	ev_readmodel_close(rm);
	/* names that cannot be a read model's table */
	assert_int_equal(ev_readmodel_open(&rm, path, "sqlite_x", 1, 0, &err),
			 EV_EUSAGE);
	assert_int_equal(ev_readmodel_open(&rm, path, "evproject_checkpoints",
					   1, 0, &err),
			 EV_EUSAGE);
	/* not a database */
	assert_int_equal(unit_write_file(junk,
					 "this is not sqlite at all, "
					 "no, not at all..........",
					 52),
			 0);
	assert_int_equal(ev_readmodel_open(&rm, junk, "t", 1, 0, &err),
			 EV_EDATA);
	assert_non_null(strstr(err.msg, "is not a SQLite database"));
	/* missing, without create; and a directory that is not there */
	assert_int_equal(ev_readmodel_open(&rm, "/nonexistent/x.sqlite", "t", 0,
					   0, &err),
			 EV_ENOENT);
	assert_int_equal(ev_readmodel_open(&rm, "/nonexistent/x.sqlite", "t", 1,
					   0, &err),
			 EV_EIO);
	assert_non_null(strstr(err.msg, "cannot open '/nonexistent/x.sqlite'"));
	ev_buf_free(&k);
	ev_buf_free(&s);
	free(path);
	free(junk);
}

struct rows {
	struct ev_buf all;
};

static int on_row(void *ctx, const uint8_t *map, size_t n)
{
	struct rows *r = ctx;
	const uint8_t *p = map;
	struct ev_error err;

	assert_int_equal(ev_json_put_mp(&r->all, &p, map + n, 8, &err), 0);
	ev_buf_putc(&r->all, ';');
	return 0;
}

static void test_exec_and_guard(void **state)
{
	char *path = dbpath("ex.sqlite"), *out = dbpath("outside.sqlite");
	struct ev_readmodel *rm;
	struct ev_buf params = {0};
	struct rows r = {{0}};
	struct ev_error err;
	static const char *const refused[] = {
		"ATTACH 'x.sqlite' AS x",
		"DETACH main",
		"BEGIN",
		"COMMIT",
		"SAVEPOINT a",
		"PRAGMA journal_mode=DELETE",
		"PRAGMA user_version=3",
		"PRAGMA writable_schema=ON",
		"DELETE FROM evproject_checkpoints",
		"DROP TABLE evproject_checkpoints",
		"UPDATE evproject_checkpoints SET name = 'x'",
	};
	size_t i;
	char sql[256];

	(void)state;
	assert_int_equal(ev_readmodel_open(&rm, path, "t", 1, 0, &err), 0);
	assert_int_equal(ev_readmodel_begin(rm, &err), 0);
	assert_int_equal(ev_readmodel_exec(rm,
					   "CREATE TABLE IF NOT EXISTS orders"
					   "(id TEXT PRIMARY KEY, customer, "
					   "total)",
					   NULL, 0, NULL, NULL, &err),
			 0);
	mp("[\"o-1\",\"cus-1\",250]", &params);
	assert_int_equal(ev_readmodel_exec(rm,
					   "INSERT INTO orders VALUES(?, ?, ?)",
					   params.p, params.len, NULL, NULL,
					   &err),
			 0);
	mp("[\"o-2\",\"cus-1\",12.5]", &params);
	assert_int_equal(ev_readmodel_exec(rm,
					   "INSERT INTO orders VALUES(?, ?, ?)",
					   params.p, params.len, NULL, NULL,
					   &err),
			 0);
	mp("[\"cus-1\"]", &params);
	assert_int_equal(ev_readmodel_exec(rm,
					   "SELECT id, total FROM orders "
					   "WHERE customer = ? ORDER BY id",
					   params.p, params.len, on_row, &r,
					   &err),
			 0);
	ev_buf_putc(&r.all, '\0');
	assert_string_equal((char *)r.all.p,
			    "{\"id\":\"o-1\",\"total\":250};"
			    "{\"id\":\"o-2\",\"total\":12.5};");
	/* read-only pragmas are allowed */
	assert_int_equal(ev_readmodel_exec(rm, "PRAGMA table_info(orders)",
					   NULL, 0, NULL, NULL, &err),
			 0);
	for (i = 0; i < sizeof(refused) / sizeof(*refused); i++) {
		if (ev_readmodel_exec(rm, refused[i], NULL, 0, NULL, NULL,
				      &err) != EV_EDATA)
			fail_msg("allowed: %s", refused[i]);
		if (strstr(err.msg, "not authorized") == NULL)
			fail_msg("%s: %s", refused[i], err.msg);
	}
	/* one statement at a time, and the right number of values */
	assert_int_equal(ev_readmodel_exec(rm, "SELECT 1; SELECT 2", NULL, 0,
					   NULL, NULL, &err),
			 EV_EDATA);
	assert_non_null(strstr(err.msg, "one statement at a time"));
	assert_int_equal(ev_readmodel_exec(rm, "SELECT ?", NULL, 0, NULL, NULL,
					   &err),
			 EV_EDATA);
	assert_non_null(strstr(err.msg, "1 parameters, 0 values"));
	assert_int_equal(ev_readmodel_exec(rm, "SELEC 1", NULL, 0, NULL, NULL,
					   &err),
			 EV_EDATA);
	assert_non_null(strstr(err.msg, "SQL: near \"SELEC\""));
	/* the engine's own statements are not under the guard */
	assert_int_equal(ev_readmodel_put_checkpoint(rm, "p", "x", 1, &err), 0);
	assert_int_equal(ev_readmodel_commit(rm, &err), 0);
	/* outside a transaction too: VACUUM (INTO) writes another file */
	snprintf(sql, sizeof(sql), "VACUUM INTO '%s'", out);
	assert_int_equal(ev_readmodel_exec(rm, sql, NULL, 0, NULL, NULL, &err),
			 EV_EDATA);
	if (strstr(err.msg, "not authorized") == NULL)
		fail_msg("VACUUM INTO: %s", err.msg);
	assert_int_equal(access(out, F_OK), -1);
	assert_int_equal(ev_readmodel_exec(rm, "VACUUM", NULL, 0, NULL, NULL,
					   &err),
			 EV_EDATA);
	assert_non_null(strstr(err.msg, "not authorized"));
	ev_buf_free(&params);
	ev_buf_free(&r.all);
	ev_readmodel_close(rm);
	free(path);
	free(out);
}

static void fill(const char *path, int n, int add)
{
	struct ev_readmodel *rm;
	struct ev_error err;
	char k[32], s[64];
	int i;

	assert_int_equal(ev_readmodel_open(&rm, path, "t", 1, 0, &err), 0);
	assert_int_equal(ev_readmodel_begin(rm, &err), 0);
	for (i = 0; i < n; i++) {
		snprintf(k, sizeof(k), "\"k%04d\"", i);
		snprintf(s, sizeof(s), "{\"v\":%d}", i + add);
		put(rm, k, s);
	}
	assert_int_equal(ev_readmodel_commit(rm, &err), 0);
	ev_readmodel_close(rm);
}

static void test_diff(void **state)
{
	char *live = dbpath("dl.sqlite"), *shadow = dbpath("ds.sqlite");
	struct ev_readmodel_diffstat ds;
	struct ev_readmodel *rm;
	struct ev_buf out = {0};
	struct ev_error err;

	(void)state;
	fill(live, 4, 0);
	fill(shadow, 3, 0);
	assert_int_equal(ev_readmodel_open(&rm, shadow, "t", 0, 0, &err), 0);
	assert_int_equal(ev_readmodel_begin(rm, &err), 0);
	put(rm, "\"k0001\"", "{\"v\":100}");
	put(rm, "\"k0009\"", "{\"v\":9,\"w\":[1]}");
	assert_int_equal(ev_readmodel_commit(rm, &err), 0);
	ev_readmodel_close(rm);
	assert_int_equal(ev_readmodel_diff(live, shadow, "t", &out, &ds, &err),
			 0);
	ev_buf_putc(&out, '\0');
	assert_string_equal((char *)out.p,
			    "~ \"k0001\" {\"v\":1} -> {\"v\":100}\n"
			    "- \"k0003\" {\"v\":3}\n"
			    "+ \"k0009\" {\"v\":9,\"w\":\"[1]\"}\n");
	assert_int_equal(ds.added, 1);
	assert_int_equal(ds.removed, 1);
	assert_int_equal(ds.changed, 1);
	assert_int_equal(ds.unchanged, 2);
	assert_int_equal(ev_readmodel_diff(live, "/nonexistent.sqlite", "t",
					   &out, &ds, &err),
			 EV_ENOENT);
	ev_buf_free(&out);
	free(live);
	free(shadow);
}

/* A reader queries in a loop while the shadow is swapped in: every
 * answer is the old rows' or the new rows', never an error or a mix. */
static void test_swap_with_a_reader(void **state)
{
	char *live = dbpath("sl.sqlite"), *shadow = dbpath("ss.sqlite");
	struct ev_error err;
	int i, status, fds[2];
	pid_t pid;

	(void)state;
	fill(live, 200, 0);    /* sum 19900 */
	fill(shadow, 200, 10); /* sum 21900 */
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int bad = 0, n = 0, olds = 0, news = 0;
		close(fds[0]);
		for (n = 0; n < 400; n++) {
			sqlite3 *db;
			sqlite3_stmt *st;
			long long sum = -1, cnt = -1;
			if (sqlite3_open_v2(live, &db, SQLITE_OPEN_READONLY,
					    NULL) != SQLITE_OK ||
			    sqlite3_prepare_v2(db,
					       "SELECT count(*), sum(v) FROM t",
					       -1, &st, NULL) != SQLITE_OK ||
			    sqlite3_step(st) != SQLITE_ROW) {
				bad++;
			} else {
				cnt = sqlite3_column_int64(st, 0);
				sum = sqlite3_column_int64(st, 1);
			}
			if (cnt == 200 && sum == 19900)
				olds++;
			else if (cnt == 200 && sum == 21900)
				news++;
			else
				bad++;
			sqlite3_finalize(st);
			sqlite3_close(db);
			if (n == 0)
				(void)!write(fds[1], "x", 1); /* started */
		}
		_exit(bad ? 1 : news == 0 ? 2 : 0);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &i, 1), 1);
	assert_int_equal(ev_readmodel_swap(live, shadow, NULL, 10, &err), 0);
	assert_int_equal(access(shadow, F_OK), -1);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	/* and the swapped-in database takes writes again */
	fill(live, 3, 1000);
	close(fds[0]);
	/* a swap into a path that has no database yet is a rename */
	fill(shadow, 2, 0);
	free(live);
	live = dbpath("new.sqlite");
	assert_int_equal(ev_readmodel_swap(live, shadow, NULL, 10, &err), 0);
	assert_int_equal(access(live, F_OK), 0);
	assert_int_equal(ev_readmodel_swap(live, shadow, NULL, 10, &err),
			 EV_ENOENT);
	free(live);
	free(shadow);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows_and_columns),
		cmocka_unit_test(test_checkpoint_in_the_transaction),
		cmocka_unit_test(test_bad_tables_and_files),
		cmocka_unit_test(test_exec_and_guard),
		cmocka_unit_test(test_diff),
		cmocka_unit_test(test_swap_with_a_reader),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
