/*
 * test_group.c - lib/group.c through the public API: group names, a
 * group opened, committed and closed, its state file, its lock (busy,
 * and waited for), state that belongs to another log, listing, reset,
 * and the handler statistics with their histogram.
 *
 * The tests run with EVLOG_TEST_SEED and SOURCE_DATE_EPOCH set, so the
 * clock reads 1700000000 and a state file's bytes are known.
 */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>

#include "logutil.h"

#define EPOCH "1700000000"
#define EPOCH_TIME "2023-11-14T22:13:20.000Z"

static int setup(void **state)
{
	struct tlog *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	tlog_create(t, 0, 1);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tlog *t = *state;

	tlog_free(t);
	free(t);
	return 0;
}

static struct ev_group *open_group(struct tlog *t, const char *name,
				   const char *state_dir)
{
	struct ev_group *g;
	struct ev_error err;

	if (ev_group_open(&g, t->log, name, state_dir, 0, &err) != 0)
		fail_msg("ev_group_open '%s': %s", name, err.msg);
	return g;
}

static void commit(struct ev_group *g, uint64_t next)
{
	struct ev_error err;

	if (ev_group_commit(g, next, &err) != 0)
		fail_msg("ev_group_commit: %s", err.msg);
}

/* the next offset of a group, opened afresh */
static uint64_t next_of(struct tlog *t, const char *name)
{
	struct ev_group *g = open_group(t, name, NULL);
	uint64_t next = ev_group_get(g)->next;

	ev_group_close(g);
	return next;
}

/* The names in dir, sorted, joined by spaces. */
static const char *listing(const char *dir)
{
	static char out[4096];
	char *names[64], *tmp;
	struct dirent *de;
	size_t n = 0, i, j, len = 0;
	DIR *d = opendir(dir);

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		assert_true(n < 64);
		names[n] = strdup(de->d_name);
		assert_non_null(names[n]);
		n++;
	}
	closedir(d);
	for (i = 1; i < n; i++)
		for (j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			tmp = names[j];
			names[j] = names[j - 1];
			names[j - 1] = tmp;
		}
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%s",
					i ? " " : "", names[i]);
		free(names[i]);
	}
	return out;
}

static void groups_dir(const struct tlog *t, char *buf, size_t n)
{
	snprintf(buf, n, "%s/groups", t->path);
}

/* ------------------------------------------------------------ names */

static void test_name_ok(void **state)
{
	char name[EV_GROUP_NAME_MAX + 2];

	(void)state;
	assert_true(ev_group_name_ok("g"));
	assert_true(ev_group_name_ok("billing.v2_eu-west"));
	assert_true(ev_group_name_ok("A9"));
	assert_true(ev_group_name_ok("a-"));
	assert_true(ev_group_name_ok("a."));
	memset(name, 'x', EV_GROUP_NAME_MAX);
	name[EV_GROUP_NAME_MAX] = '\0';
	assert_true(ev_group_name_ok(name));
	name[EV_GROUP_NAME_MAX] = 'x';
	name[EV_GROUP_NAME_MAX + 1] = '\0';
	assert_false(ev_group_name_ok(name));
	assert_false(ev_group_name_ok(""));
	assert_false(ev_group_name_ok(".g"));
	assert_false(ev_group_name_ok("-g"));
	assert_false(ev_group_name_ok("a/b"));
	assert_false(ev_group_name_ok(".."));
	assert_false(ev_group_name_ok("a b"));
	assert_false(ev_group_name_ok("a:b"));
	assert_false(ev_group_name_ok("caf\xc3\xa9"));
}

static void test_open_bad_name(void **state)
{
	struct tlog *t = *state;
	struct ev_group *g = (struct ev_group *)1;
	struct ev_error err;

	assert_int_equal(ev_group_open(&g, t->log, "a/b", NULL, 0, &err),
			 EV_EUSAGE);
	assert_null(g);
	assert_string_equal(err.msg,
			    "'a/b' is not a group name (letters, digits, '.', "
			    "'_' and '-', at most 128)");
}

/* ------------------------------------------------------------ commits */

static void test_open_commit_close(void **state)
{
	struct tlog *t = *state;
	const struct ev_group_state *st;
	struct ev_group *g;
	char dir[4400], path[4500], want[512];
	size_t n;
	char *text;

	g = open_group(t, "g", NULL);
	st = ev_group_get(g);
	/* a new group: no state file yet */
	assert_string_equal(st->name, "g");
	assert_string_equal(st->log_id, ev_log_id(t->log));
	assert_int_equal(st->exists, 0);
	assert_int_equal(st->next, 0);
	assert_true(st->committed == EV_TIME_NONE);
	groups_dir(t, dir, sizeof(dir));
	assert_string_equal(listing(dir), "g.lock");

	commit(g, 42);
	assert_int_equal(st->exists, 1);
	assert_int_equal(st->next, 42);
	assert_true(st->committed == 1700000000LL * 1000000000);
	/* the state file, whole, and no temporary beside it */
	assert_string_equal(listing(dir), "g.group g.lock");
	snprintf(path, sizeof(path), "%s/g.group", dir);
	text = unit_read_file(path, &n);
	assert_non_null(text);
	snprintf(want, sizeof(want),
		 "evlog-group 1\nlog %s\nnext 42\ncommitted " EPOCH_TIME "\n"
		 "handled 0\nfailed 0\ndead-lettered 0\nskipped 0\n"
		 "duration-sum 0.000000\n"
		 "duration-buckets 0 0 0 0 0 0 0 0 0 0 0 0\n",
		 ev_log_id(t->log));
	assert_string_equal(text, want);
	free(text);
	/* a second commit replaces it */
	commit(g, 43);
	ev_group_close(g);
	ev_group_close(NULL);

	g = open_group(t, "g", NULL);
	st = ev_group_get(g);
	assert_int_equal(st->exists, 1);
	assert_int_equal(st->next, 43);
	assert_true(st->committed == 1700000000LL * 1000000000);
	ev_group_close(g);
	assert_string_equal(listing(dir), "g.group g.lock");
}

static void test_damaged_state_file(void **state)
{
	struct tlog *t = *state;
	struct ev_group *g;
	struct ev_error err;
	char dir[4400], path[4500], want[4600];
	static const char *bad[] = {
		"",
		"evlog-group 2\nlog 0123456789abcdef0123456789abcdef\nnext 1\n",
		"evlog-group 1\nnext 1\n",
		"evlog-group 1\nlog 0123\nnext 1\n",
		"evlog-group 1\nlog 0123456789abcdef0123456789abcdef\n",
		"evlog-group 1\nlog 0123456789abcdef0123456789abcdef\nnext x\n",
	};
	size_t i;

	groups_dir(t, dir, sizeof(dir));
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/g.group", dir);
	snprintf(want, sizeof(want), "group state file '%s/g.group' is damaged",
		 dir);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(unit_write_file(path, bad[i], strlen(bad[i])),
				 0);
		assert_int_equal(ev_group_open(&g, t->log, "g", NULL, 0, &err),
				 EV_EDATA);
		assert_null(g);
		assert_string_equal(err.msg, want);
	}
}

/* ------------------------------------------------------------ statistics */

static void test_hist_add(void **state)
{
	struct ev_group_stats s;
	int i;

	(void)state;
	memset(&s, 0, sizeof(s));
	/* each bound is in its own bucket: "at most" */
	for (i = 0; i < EV_HIST_BUCKETS - 1; i++)
		ev_hist_add(&s, ev_hist_bounds[i]);
	for (i = 0; i < EV_HIST_BUCKETS - 1; i++)
		assert_int_equal(s.buckets[i], 1);
	assert_int_equal(s.buckets[EV_HIST_BUCKETS - 1], 0);
	/* past the last bound: the unbounded bucket */
	ev_hist_add(&s, 10.5);
	ev_hist_add(&s, 3600);
	assert_int_equal(s.buckets[EV_HIST_BUCKETS - 1], 2);
	/* just past a bound: the next bucket */
	ev_hist_add(&s, 0.0051);
	assert_int_equal(s.buckets[0], 1);
	assert_int_equal(s.buckets[1], 2);
	ev_hist_add(&s, 0);
	assert_int_equal(s.buckets[0], 2);
	/* the bounds add up to 19.44 */
	assert_true(s.sum > 3629.9450 && s.sum < 3629.9452);
}

static void test_stats_kept(void **state)
{
	struct tlog *t = *state;
	struct ev_group_stats *s;
	const struct ev_group_state *st;
	struct ev_group *g;
	char path[4500], want[512];
	size_t n;
	char *text;
	int i;

	g = open_group(t, "g", NULL);
	s = ev_group_stats(g);
	s->handled = 5;
	s->failed = 2;
	s->dead_lettered = 1;
	s->skipped = 3;
	ev_hist_add(s, 0.002);
	ev_hist_add(s, 0.3);
	ev_hist_add(s, 20);
	commit(g, 9);
	ev_group_close(g);

	snprintf(path, sizeof(path), "%s/groups/g.group", t->path);
	text = unit_read_file(path, &n);
	assert_non_null(text);
	snprintf(want, sizeof(want),
		 "evlog-group 1\nlog %s\nnext 9\ncommitted " EPOCH_TIME "\n"
		 "handled 5\nfailed 2\ndead-lettered 1\nskipped 3\n"
		 "duration-sum 20.302000\n"
		 "duration-buckets 1 0 0 0 0 0 1 0 0 0 0 1\n",
		 ev_log_id(t->log));
	assert_string_equal(text, want);
	free(text);

	/* read back by the next holder, who adds to them */
	g = open_group(t, "g", NULL);
	st = ev_group_get(g);
	assert_int_equal(st->stats.handled, 5);
	assert_int_equal(st->stats.failed, 2);
	assert_int_equal(st->stats.dead_lettered, 1);
	assert_int_equal(st->stats.skipped, 3);
	assert_true(st->stats.sum > 20.3019 && st->stats.sum < 20.3021);
	for (i = 0; i < EV_HIST_BUCKETS; i++)
		assert_int_equal(st->stats.buckets[i],
				 i == 0 || i == 6 || i == 11);
	assert_ptr_equal(ev_group_stats(g), &st->stats);
	ev_group_stats(g)->handled++;
	commit(g, 10);
	ev_group_close(g);
	g = open_group(t, "g", NULL);
	assert_int_equal(ev_group_get(g)->stats.handled, 6);
	ev_group_close(g);
}

/* ------------------------------------------------------------ locks */

static void test_busy(void **state)
{
	struct tlog *t = *state;
	struct ev_group *g, *g2 = (struct ev_group *)1, *h;
	struct ev_error err;

	g = open_group(t, "g", NULL);
	/* a second holder is refused, without waiting */
	assert_int_equal(ev_group_open(&g2, t->log, "g", NULL, 0, &err),
			 EV_EAGAIN);
	assert_null(g2);
	assert_string_equal(err.msg,
			    "group 'g' is busy: another consumer holds it");
	/* another group is not */
	h = open_group(t, "h", NULL);
	ev_group_close(h);
	/* once closed, the group is free */
	commit(g, 3);
	ev_group_close(g);
	g = open_group(t, "g", NULL);
	assert_int_equal(ev_group_get(g)->next, 3);
	ev_group_close(g);
}

struct waiter {
	struct tlog *t;
	int r;
	uint64_t next;
	char msg[1024];
};

static void *wait_group(void *arg)
{
	struct waiter *w = arg;
	struct ev_group *g;
	struct ev_error err;

	w->r = ev_group_open(&g, w->t->log, "g", NULL, 1, &err);
	if (w->r == 0) {
		w->next = ev_group_get(g)->next;
		ev_group_close(g);
	} else {
		snprintf(w->msg, sizeof(w->msg), "%s", err.msg);
	}
	return NULL;
}

/* Wait until someone waits for a flock on path (see /proc/locks). */
static void wait_for_waiter(const char *path)
{
	char line[256], ino[40];
	struct stat sb;
	int tries, found = 0;
	FILE *f;

	assert_int_equal(stat(path, &sb), 0);
	snprintf(ino, sizeof(ino), ":%llu ", (unsigned long long)sb.st_ino);
	for (tries = 0; tries < 1000 && !found; tries++) {
		f = fopen("/proc/locks", "r");
		assert_non_null(f);
		while (!found && fgets(line, sizeof(line), f) != NULL)
			found = strstr(line, "-> FLOCK") != NULL &&
				strstr(line, ino) != NULL;
		fclose(f);
		if (!found)
			usleep(10000);
	}
	if (!found)
		fail_msg("nobody came to wait for '%s'", path);
}

static void test_wait(void **state)
{
	struct tlog *t = *state;
	struct waiter w;
	struct ev_group *g;
	pthread_t thr;
	char path[4500];

	memset(&w, 0, sizeof(w));
	w.t = t;
	w.r = -100;
	g = open_group(t, "g", NULL);
	assert_int_equal(pthread_create(&thr, NULL, wait_group, &w), 0);
	/* it waits for the holder, rather than failing */
	snprintf(path, sizeof(path), "%s/groups/g.lock", t->path);
	wait_for_waiter(path);
	commit(g, 77);
	ev_group_close(g);
	pthread_join(thr, NULL);
	if (w.r != 0)
		fail_msg("the waiter got %d: %s", w.r, w.msg);
	/* and starts where the holder left */
	assert_int_equal(w.next, 77);
}

/* ------------------------------------------------------------ state dirs */

static void test_other_log(void **state)
{
	struct tlog *t = *state;
	struct tlog t2;
	struct ev_group *g = (struct ev_group *)1;
	struct ev_group_state *v;
	struct ev_error err;
	char sdir[4400], want[9000];
	size_t n;

	snprintf(sdir, sizeof(sdir), "%s/states", t->dir);
	assert_int_equal(mkdir(sdir, 0755), 0);
	g = open_group(t, "g", sdir);
	commit(g, 5);
	ev_group_close(g);
	/* the same name in the same directory, for another log */
	tlog_create(&t2, 0, 1);
	assert_string_not_equal(ev_log_id(t->log), ev_log_id(t2.log));
	assert_int_equal(ev_group_open(&g, t2.log, "g", sdir, 0, &err),
			 EV_EDATA);
	assert_null(g);
	snprintf(want, sizeof(want),
		 "group 'g' in '%s' belongs to log %s, but '%s' is log %s",
		 sdir, ev_log_id(t->log), t2.path, ev_log_id(t2.log));
	assert_string_equal(err.msg, want);
	/* the other log lists none of the first one's groups */
	assert_int_equal(ev_group_list(t2.log, sdir, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	free(v);
	assert_int_equal(ev_group_list(t->log, sdir, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "g");
	assert_int_equal(v[0].next, 5);
	free(v);
	/* a state dir keeps the log's directory free of groups */
	assert_string_equal(listing(t->path),
			    "00000000000000000000.idx 00000000000000000000.seg "
			    "00000000000000000000.six 00000000000000000000.tix "
			    "head lock meta");
	tlog_free(&t2);
}

/* ------------------------------------------------------------ listing */

static void test_list(void **state)
{
	struct tlog *t = *state;
	struct ev_group_state *v = (struct ev_group_state *)1;
	struct ev_group *held, *g;
	struct ev_error err, e2;
	char path[4500], want[9400];
	size_t n = 99;

	/* no groups directory: none, and none made */
	assert_int_equal(ev_group_list(t->log, NULL, &v, &n, &err), 0);
	assert_null(v);
	assert_int_equal(n, 0);
	snprintf(path, sizeof(path), "%s/groups", t->path);
	assert_int_not_equal(access(path, F_OK), 0);

	g = open_group(t, "c", NULL);
	commit(g, 30);
	ev_group_close(g);
	g = open_group(t, "a", NULL);
	commit(g, 10);
	ev_group_close(g);
	held = open_group(t, "b", NULL);
	commit(held, 20);
	/* opened, never committed: not a group yet */
	g = open_group(t, "d", NULL);
	ev_group_close(g);
	/* files that are not groups' */
	snprintf(path, sizeof(path), "%s/groups/a.group.tmp.1.1", t->path);
	assert_int_equal(unit_write_file(path, "x", 1), 0);
	snprintf(path, sizeof(path), "%s/groups/not a name.group", t->path);
	assert_int_equal(unit_write_file(path, "x", 1), 0);

	assert_int_equal(ev_group_list(t->log, NULL, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].name, "a");
	assert_string_equal(v[1].name, "b");
	assert_string_equal(v[2].name, "c");
	assert_int_equal(v[0].next, 10);
	assert_int_equal(v[1].next, 20);
	assert_int_equal(v[2].next, 30);
	assert_int_equal(v[0].exists, 1);
	assert_string_equal(v[1].log_id, ev_log_id(t->log));
	/* only b is held */
	assert_int_equal(v[0].busy, 0);
	assert_int_equal(v[1].busy, 1);
	assert_int_equal(v[2].busy, 0);
	free(v);
	ev_group_close(held);
	assert_int_equal(ev_group_list(t->log, NULL, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[1].busy, 0);
	free(v);

	/* a damaged state file fails the list */
	snprintf(path, sizeof(path), "%s/groups/c.group", t->path);
	assert_int_equal(unit_write_file(path, "junk\n", 5), 0);
	assert_int_equal(ev_group_list(t->log, NULL, &v, &n, &err), EV_EDATA);
	assert_null(v);
	assert_non_null(strstr(err.msg, "c.group' is damaged"));
	/* listed with damaged set by ev_group_list_all(); its error, for a
	 * tool that reports it, is the one ev_group_list() gave, the way
	 * out its hint */
	assert_int_equal(ev_group_list_all(t->log, NULL, &v, &n, &e2), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[2].damaged, 1);
	assert_int_equal(ev_group_damaged_error(t->log, v[2].name, NULL, &e2),
			 EV_EDATA);
	free(v);
	assert_int_equal(e2.code, EV_EDATA);
	assert_string_equal(e2.msg, err.msg);
	assert_string_equal(e2.hint, err.hint);
	snprintf(want, sizeof(want),
		 "remove it with 'evctl groups --delete c --execute %s', or "
		 "set its position with 'evctl groups --reset c --to POS "
		 "--execute %s'",
		 t->path, t->path);
	assert_string_equal(e2.hint, want);
	assert_int_equal(ev_group_damaged_error(t->log, "c", "sd", &e2),
			 EV_EDATA);
	assert_string_equal(e2.msg, "group state file 'sd/c.group' is damaged");
	snprintf(want, sizeof(want),
		 "remove it with 'evctl groups --delete c --state-dir sd "
		 "--execute %s', or set its position with 'evctl groups "
		 "--reset c --state-dir sd --to POS --execute %s'",
		 t->path, t->path);
	assert_string_equal(e2.hint, want);
}

/* ------------------------------------------------------------ reset */

static void test_reset(void **state)
{
	struct tlog *t = *state;
	struct ev_group *g;
	struct ev_error err;
	char want[4500];

	g = open_group(t, "g", NULL);
	commit(g, 10);
	ev_group_close(g);
	/* a dry run changes nothing */
	assert_int_equal(ev_group_reset(t->log, "g", NULL, 3, 1, NULL, &err),
			 0);
	assert_int_equal(next_of(t, "g"), 10);
	assert_int_equal(ev_group_reset(t->log, "g", NULL, 3, 0, NULL, &err),
			 0);
	assert_int_equal(next_of(t, "g"), 3);
	/* forward too */
	assert_int_equal(ev_group_reset(t->log, "g", NULL, 50, 0, NULL, &err),
			 0);
	assert_int_equal(next_of(t, "g"), 50);
	/* not while a consumer holds it */
	g = open_group(t, "g", NULL);
	assert_int_equal(ev_group_reset(t->log, "g", NULL, 0, 0, NULL, &err),
			 EV_EAGAIN);
	assert_string_equal(err.msg,
			    "group 'g' is busy: another consumer holds it");
	ev_group_close(g);
	assert_int_equal(next_of(t, "g"), 50);
	/* a group that was never committed, and a bad name */
	assert_int_equal(ev_group_reset(t->log, "zz", NULL, 0, 0, NULL, &err),
			 EV_ENOENT);
	snprintf(want, sizeof(want), "no group 'zz' in '%s'", t->path);
	assert_string_equal(err.msg, want);
	assert_int_equal(ev_group_reset(t->log, "a b", NULL, 0, 0, NULL, &err),
			 EV_EUSAGE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_ok),
		cmocka_unit_test_setup_teardown(test_open_bad_name, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_open_commit_close, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_damaged_state_file, setup,
						teardown),
		cmocka_unit_test(test_hist_add),
		cmocka_unit_test_setup_teardown(test_stats_kept, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_log, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
	};

	/* a known clock, so state files have known bytes */
	setenv("EVLOG_TEST_SEED", "1", 1);
	setenv("SOURCE_DATE_EPOCH", EPOCH, 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
