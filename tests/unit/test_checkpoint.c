/*
 * test_checkpoint.c - lib/checkpoint.c through the public API:
 * projection names, the lock (busy from another process, waited for
 * with and without a timeout, nothing left behind by a run that never
 * saved), checkpoints saved and loaded whole, replaced atomically (under
 * readers, and under SIGKILL), refused when torn, truncated, altered in
 * any byte, crafted, or of another log, listed with a damaged one among
 * them, and the trim that they hold back (lib/trim.c); a Kafka topic's
 * checkpoints, with their offsets.
 *
 * The tests run with EVLOG_TEST_SEED and SOURCE_DATE_EPOCH set, so the
 * clock reads 1700000000.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "logutil.h"

#define EPOCH "1700000000"
#define EPOCH_NS (1700000000LL * 1000000000LL)

/* The seed of a test that draws: EVLOG_ROBUST_SEED, or a fresh one,
 * printed so that a failure can be replayed. */
static unsigned test_seed(void)
{
	const char *e = getenv("EVLOG_ROBUST_SEED");
	unsigned seed = e != NULL && *e ? (unsigned)strtoul(e, NULL, 10)
					: (unsigned)time(NULL);

	print_message("# seed %u (EVLOG_ROBUST_SEED=%u to repeat)\n", seed,
		      seed);
	srand(seed);
	return seed;
}

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

static struct ev_projlock *lock_proj(struct tlog *t, const char *name,
				     const char *state_dir)
{
	struct ev_projlock *pl;
	struct ev_error err;

	if (ev_projection_lock(&pl, t->log, name, state_dir, 0, &err) != 0)
		fail_msg("ev_projection_lock '%s': %s", name, err.msg);
	return pl;
}

/* The names in dir, sorted, joined by spaces; "-" when it is missing. */
static const char *listing(const char *dir)
{
	static char out[4096];
	char *names[64], *tmp;
	struct dirent *de;
	size_t n = 0, i, j, len = 0;
	DIR *d = opendir(dir);

	if (d == NULL)
		return "-";
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

static void write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

/* A checkpoint with a bit of everything: a state holding NULs and
 * high bytes, a description, two skips and an emit mark. */
static void sample(struct ev_checkpoint *cp, uint64_t next)
{
	static const uint8_t blob[] = {0x81, 0xa1, 'n', 0x00, 0xff, 0x00, 0xc1};
	struct ev_error err;

	ev_checkpoint_init(cp);
	cp->next = next;
	cp->emit_mark = next - 1;
	assert_int_equal(ev_checkpoint_set_def(cp, 0x0123456789abcdefULL,
					       "--sum data.amount --by stream",
					       &err),
			 0);
	assert_int_equal(ev_checkpoint_set_state(cp, blob, sizeof(blob), &err),
			 0);
	assert_int_equal(ev_checkpoint_add_skip(cp, 7, "bad amount: \"x\" ✗",
						EV_TIME_NONE, &err),
			 0);
	assert_int_equal(ev_checkpoint_add_skip(cp, 3, "poison", 42, &err), 0);
}

static void assert_same(const struct ev_checkpoint *a,
			const struct ev_checkpoint *b, int with_state)
{
	size_t i;

	assert_string_equal(a->log_id, b->log_id);
	assert_int_equal(a->next, b->next);
	assert_int_equal(a->def_hash, b->def_hash);
	if (a->def_desc == NULL || b->def_desc == NULL)
		assert_ptr_equal(a->def_desc, b->def_desc);
	else
		assert_string_equal(a->def_desc, b->def_desc);
	assert_int_equal(a->emit_mark, b->emit_mark);
	assert_int_equal(a->nskips, b->nskips);
	for (i = 0; i < a->nskips; i++) {
		assert_int_equal(a->skips[i].offset, b->skips[i].offset);
		assert_int_equal(a->skips[i].time, b->skips[i].time);
		assert_string_equal(a->skips[i].reason, b->skips[i].reason);
	}
	assert_int_equal(a->updated, b->updated);
	assert_int_equal(a->state_n, b->state_n);
	if (with_state)
		assert_memory_equal(a->state, b->state, a->state_n);
}

/* ------------------------------------------------------------ values */

static void test_skips(void **state)
{
	struct ev_checkpoint cp;
	struct ev_error err;
	char long_reason[EV_CKPT_REASON_MAX + 2];

	(void)state;
	ev_checkpoint_init(&cp);
	assert_int_equal(cp.updated, EV_TIME_NONE);
	assert_null(ev_checkpoint_skipped(&cp, 0));
	assert_int_equal(ev_checkpoint_add_skip(&cp, 10, "b", 1, &err), 0);
	assert_int_equal(ev_checkpoint_add_skip(&cp, 2, "a", 2, &err), 0);
	assert_int_equal(ev_checkpoint_add_skip(&cp, 30, "c", EV_TIME_NONE,
						&err),
			 0);
	assert_int_equal(cp.nskips, 3);
	assert_int_equal(cp.skips[0].offset, 2);
	assert_int_equal(cp.skips[1].offset, 10);
	assert_int_equal(cp.skips[2].offset, 30);
	assert_int_equal(cp.skips[2].time, EPOCH_NS);
	/* the same offset again: a new reason and time, no second entry */
	assert_int_equal(ev_checkpoint_add_skip(&cp, 10, "b2", 5, &err), 0);
	assert_int_equal(cp.nskips, 3);
	assert_string_equal(ev_checkpoint_skipped(&cp, 10)->reason, "b2");
	assert_int_equal(ev_checkpoint_skipped(&cp, 10)->time, 5);
	assert_null(ev_checkpoint_skipped(&cp, 11));
	assert_null(ev_checkpoint_skipped(&cp, 31));
	assert_non_null(ev_checkpoint_skipped(&cp, 2));
	/* reasons: text, not empty, not too long */
	assert_int_equal(ev_checkpoint_add_skip(&cp, 1, "", 1, &err),
			 EV_EUSAGE);
	assert_string_equal(err.msg, "a skip's reason is empty");
	assert_int_equal(ev_checkpoint_add_skip(&cp, 1, "\xff", 1, &err),
			 EV_EUSAGE);
	assert_string_equal(err.msg, "a skip's reason is not UTF-8");
	memset(long_reason, 'r', sizeof(long_reason) - 1);
	long_reason[sizeof(long_reason) - 1] = '\0';
	assert_int_equal(ev_checkpoint_add_skip(&cp, 1, long_reason, 1, &err),
			 EV_EUSAGE);
	assert_string_equal(err.msg, "a skip's reason is too long");
	long_reason[EV_CKPT_REASON_MAX] = '\0';
	assert_int_equal(ev_checkpoint_add_skip(&cp, 1, long_reason, 1, &err),
			 0);
	assert_int_equal(cp.nskips, 4);
	assert_int_equal(ev_checkpoint_set_def(&cp, 1, "\xc3", &err),
			 EV_EUSAGE);
	assert_string_equal(err.msg, "a projection's description is not UTF-8");
	ev_checkpoint_clear(&cp);
	assert_int_equal(cp.nskips, 0);
	assert_null(cp.skips);
	ev_checkpoint_clear(&cp); /* twice is fine */
}

static void test_check_def(void **state)
{
	struct ev_checkpoint cp;
	struct ev_error err;

	(void)state;
	ev_checkpoint_init(&cp);
	assert_int_equal(ev_checkpoint_set_def(&cp, 7, "--count", &err), 0);
	assert_int_equal(ev_checkpoint_check_def(&cp, "p", 7, "--count", &err),
			 0);
	assert_int_equal(ev_checkpoint_check_def(&cp, "p", 8, "--sum x", &err),
			 EV_EDATA);
	assert_string_equal(err.msg, "projection 'p' was built by another "
				     "definition (--count); this one is "
				     "--sum x");
	assert_string_equal(err.hint, "rebuild it with this definition "
				      "(--rebuild), or use another name");
	/* the same description, another hash: a Lua file that changed */
	assert_int_equal(ev_checkpoint_check_def(&cp, "p", 8, "--count", &err),
			 EV_EDATA);
	assert_string_equal(err.msg, "projection 'p' was built by another "
				     "version of its definition (--count)");
	assert_int_equal(ev_checkpoint_set_def(&cp, 7, NULL, &err), 0);
	assert_int_equal(ev_checkpoint_check_def(&cp, "p", 8, NULL, &err),
			 EV_EDATA);
	assert_string_equal(err.msg, "projection 'p' was built by another "
				     "definition (unnamed); this one is "
				     "unnamed");
	ev_checkpoint_clear(&cp);
}

/* ------------------------------------------------------------ the file */

static void test_round_trip(void **state)
{
	struct tlog *t = *state;
	struct ev_projlock *pl;
	struct ev_checkpoint cp, back;
	struct ev_error err;
	char dir[4300], want[4400];

	snprintf(dir, sizeof(dir), "%s/projections", t->path);
	pl = lock_proj(t, "balance", NULL);
	assert_string_equal(ev_projlock_name(pl), "balance");
	snprintf(want, sizeof(want), "%s/balance.ckpt", dir);
	assert_string_equal(ev_projlock_file(pl), want);
	assert_string_equal(listing(dir), "balance.lock");
	ev_checkpoint_init(&back);
	assert_int_equal(ev_checkpoint_load(pl, &back, &err), EV_ENOENT);
	assert_int_equal(back.next, 0);
	assert_null(back.state);
	sample(&cp, 12);
	assert_int_equal(ev_checkpoint_save(pl, &cp, &err), 0);
	assert_string_equal(cp.log_id, ev_log_id(t->log));
	assert_int_equal(cp.updated, EPOCH_NS);
	assert_string_equal(listing(dir), "balance.ckpt balance.lock");
	ev_projection_unlock(pl);
	/* kept: the checkpoint and its lock file */
	assert_string_equal(listing(dir), "balance.ckpt balance.lock");
	pl = lock_proj(t, "balance", NULL);
	assert_int_equal(ev_checkpoint_load(pl, &back, &err), 0);
	assert_same(&cp, &back, 1);
	assert_int_equal(back.skips[0].time, 42);
	/* a save over it, then a load into the loaded one */
	cp.next = 99;
	ev_checkpoint_clear(&back);
	assert_int_equal(ev_checkpoint_set_state(&cp, "", 0, &err), 0);
	assert_int_equal(ev_checkpoint_set_def(&cp, 5, NULL, &err), 0);
	assert_int_equal(ev_checkpoint_save(pl, &cp, &err), 0);
	ev_checkpoint_init(&back);
	sample(&back, 3);
	assert_int_equal(ev_checkpoint_load(pl, &back, &err), 0);
	assert_same(&cp, &back, 0);
	assert_int_equal(back.state_n, 0);
	assert_null(back.def_desc);
	/* no temporaries left behind */
	assert_string_equal(listing(dir), "balance.ckpt balance.lock");
	ev_projection_unlock(pl);
	ev_checkpoint_clear(&cp);
	ev_checkpoint_clear(&back);
}

static void test_save_refuses(void **state)
{
	struct tlog *t = *state;
	struct ev_projlock *pl = lock_proj(t, "p", NULL);
	struct ev_checkpoint cp;
	struct ev_error err;
	char dir[4300];

	snprintf(dir, sizeof(dir), "%s/projections", t->path);
	sample(&cp, 12);
	/* skips set by hand, out of order */
	cp.skips[0].offset = 9;
	assert_int_equal(ev_checkpoint_save(pl, &cp, &err), EV_EUSAGE);
	assert_string_equal(err.msg, "cannot save projection 'p': its skips "
				     "are not in ascending order");
	cp.skips[0].offset = 3;
	free(cp.skips[1].reason);
	cp.skips[1].reason = strdup("");
	assert_int_equal(ev_checkpoint_save(pl, &cp, &err), EV_EUSAGE);
	assert_string_equal(err.msg,
			    "cannot save projection 'p': a skip's reason is "
			    "empty, too long, not UTF-8 or holds a NUL");
	assert_string_equal(listing(dir), "p.lock");
	ev_projection_unlock(pl);
	/* nothing saved: nothing left */
	assert_string_equal(listing(dir), "-");
	ev_checkpoint_clear(&cp);
}

static void test_names(void **state)
{
	struct tlog *t = *state;
	struct ev_projlock *pl = (struct ev_projlock *)1;
	struct ev_error err;
	static const char *bad[] = {"", ".p", "-p", "a b", "a/b", "é"};
	char want[256], dir[4300];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(ev_projection_lock(&pl, t->log, bad[i], NULL,
						    0, &err),
				 EV_EUSAGE);
		assert_null(pl);
		snprintf(want, sizeof(want),
			 "'%s' is not a projection name (letters, digits, "
			 "'.', '_' and '-', at most 128)",
			 bad[i]);
		assert_string_equal(err.msg, want);
	}
	snprintf(dir, sizeof(dir), "%s/projections", t->path);
	assert_string_equal(listing(dir), "-");
	/* names that look like the files beside them are names */
	pl = lock_proj(t, "x.lock", NULL);
	ev_projection_unlock(pl);
	pl = lock_proj(t, "x.ckpt", NULL);
	ev_projection_unlock(pl);
}

static void test_state_dir(void **state)
{
	struct tlog *t = *state;
	struct ev_projlock *pl;
	struct ev_checkpoint cp, back;
	struct ev_error err;
	char sd[4300], dir[4400];

	snprintf(sd, sizeof(sd), "%s/st", t->dir);
	snprintf(dir, sizeof(dir), "%s/projections", sd);
	/* a run that never saves leaves nothing, not even the state dir */
	pl = lock_proj(t, "p", sd);
	assert_string_equal(listing(dir), "p.lock");
	ev_projection_unlock(pl);
	assert_string_equal(listing(sd), "-");
	pl = lock_proj(t, "p", sd);
	sample(&cp, 5);
	assert_int_equal(ev_checkpoint_save(pl, &cp, &err), 0);
	ev_projection_unlock(pl);
	assert_string_equal(listing(dir), "p.ckpt p.lock");
	/* not the log's own */
	pl = lock_proj(t, "p", NULL);
	ev_checkpoint_init(&back);
	assert_int_equal(ev_checkpoint_load(pl, &back, &err), EV_ENOENT);
	ev_projection_unlock(pl);
	pl = lock_proj(t, "p", sd);
	assert_int_equal(ev_checkpoint_load(pl, &back, &err), 0);
	assert_same(&cp, &back, 1);
	ev_projection_unlock(pl);
	/* a symbolic link as the lock file is not followed */
	snprintf(dir, sizeof(dir), "%s/projections/q.lock", sd);
	assert_int_equal(symlink("/tmp", dir), 0);
	assert_int_equal(ev_projection_lock(&pl, t->log, "q", sd, 0, &err),
			 EV_EDATA);
	assert_non_null(strstr(err.msg, "/projections/q.lock': a symbolic "
					"link, which is not followed"));
	assert_int_equal(unlink(dir), 0);
	/* a state dir that cannot be made */
	snprintf(sd, sizeof(sd), "%s/no/such/dir", t->dir);
	assert_int_equal(ev_projection_lock(&pl, t->log, "p", sd, 0, &err),
			 EV_EIO);
	assert_non_null(strstr(err.msg, "cannot create '"));
	ev_checkpoint_clear(&cp);
	ev_checkpoint_clear(&back);
}

static void test_delete(void **state)
{
	struct tlog *t = *state;
	struct ev_projlock *pl = lock_proj(t, "p", NULL);
	struct ev_checkpoint cp;
	struct ev_error err;
	char dir[4300];

	snprintf(dir, sizeof(dir), "%s/projections", t->path);
	sample(&cp, 5);
	assert_int_equal(ev_checkpoint_save(pl, &cp, &err), 0);
	assert_int_equal(ev_checkpoint_delete(pl, &err), 0);
	assert_int_equal(ev_checkpoint_load(pl, &cp, &err), EV_ENOENT);
	assert_int_equal(ev_checkpoint_delete(pl, &err), 0);
	assert_string_equal(listing(dir), "p.lock");
	ev_projection_unlock(pl);
	/* nothing left to keep: the directory the lock made goes too */
	assert_string_equal(listing(dir), "-");
	ev_checkpoint_clear(&cp);
}

/* ------------------------------------------------------------ damage */

/* The checkpoint file of p as saved now, into a malloc'ed buffer. */
static uint8_t *saved_bytes(struct ev_projlock *pl, size_t *n)
{
	uint8_t *b = (uint8_t *)unit_read_file(ev_projlock_file(pl), n);

	assert_non_null(b);
	return b;
}

/* What a load of p says now: its status, with the message checked to
 * name the file. */
static int load_status(struct ev_projlock *pl, struct ev_error *err)
{
	struct ev_checkpoint cp;
	int r;

	ev_checkpoint_init(&cp);
	r = ev_checkpoint_load(pl, &cp, err);
	if (r == EV_EDATA) {
		if (strstr(err->msg, ev_projlock_file(pl)) == NULL)
			fail_msg("the message does not name the file: %s",
				 err->msg);
		assert_null(cp.state);
		assert_int_equal(cp.nskips, 0);
	}
	ev_checkpoint_clear(&cp);
	return r;
}

static void test_every_byte_flipped(void **state)
{
	static const uint8_t masks[] = {0x01, 0x80, 0xff, 0x5a};
	struct tlog *t = *state;
	struct ev_projlock *pl = lock_proj(t, "p", NULL);
	struct ev_checkpoint cp;
	struct ev_error err;
	uint8_t *good, *bad;
	size_t n, i, k;

	sample(&cp, 12);
	assert_int_equal(ev_checkpoint_save(pl, &cp, &err), 0);
	good = saved_bytes(pl, &n);
	assert_true(n > 28 && n < 400);
	bad = malloc(n);
	assert_non_null(bad);
	for (i = 0; i < n; i++)
		for (k = 0; k < sizeof(masks); k++) {
			memcpy(bad, good, n);
			bad[i] ^= masks[k];
			write_file(ev_projlock_file(pl), bad, n);
			if (load_status(pl, &err) != EV_EDATA)
				fail_msg("byte %zu ^ 0x%02x: loaded", i,
					 masks[k]);
		}
	/* the magic names a stranger's file as one */
	memcpy(bad, good, n);
	bad[0] = 'X';
	write_file(ev_projlock_file(pl), bad, n);
	assert_int_equal(load_status(pl, &err), EV_EDATA);
	assert_non_null(strstr(err.msg, "' is not a projection checkpoint"));
	/* a checksum that does not match */
	memcpy(bad, good, n);
	bad[n / 2] ^= 1;
	write_file(ev_projlock_file(pl), bad, n);
	assert_int_equal(load_status(pl, &err), EV_EDATA);
	assert_non_null(strstr(err.msg, "is damaged: checksum mismatch"));
	/* and the good one still loads */
	write_file(ev_projlock_file(pl), good, n);
	assert_int_equal(load_status(pl, &err), 0);
	free(good);
	free(bad);
	ev_checkpoint_clear(&cp);
	ev_projection_unlock(pl);
}

static void test_torn_and_truncated(void **state)
{
	struct tlog *t = *state;
	struct ev_projlock *pl = lock_proj(t, "p", NULL);
	struct ev_checkpoint cp;
	struct ev_error err;
	uint8_t *good, *longer;
	size_t n, i;
	char want[4600];

	sample(&cp, 12);
	assert_int_equal(ev_checkpoint_save(pl, &cp, &err), 0);
	good = saved_bytes(pl, &n);
	for (i = 0; i < n; i++) {
		write_file(ev_projlock_file(pl), good, i);
		if (load_status(pl, &err) != EV_EDATA)
			fail_msg("the first %zu of %zu bytes loaded", i, n);
	}
	write_file(ev_projlock_file(pl), good, 0);
	assert_int_equal(load_status(pl, &err), EV_EDATA);
	snprintf(want, sizeof(want),
		 "projection checkpoint '%s' is damaged: 0 bytes, too short "
		 "for one (torn or truncated)",
		 ev_projlock_file(pl));
	assert_string_equal(err.msg, want);
	write_file(ev_projlock_file(pl), good, n - 1);
	assert_int_equal(load_status(pl, &err), EV_EDATA);
	snprintf(want, sizeof(want),
		 "projection checkpoint '%s' is damaged: its header says %zu "
		 "bytes of body, the file has %zu (torn or truncated)",
		 ev_projlock_file(pl), n - 28, n - 29);
	assert_string_equal(err.msg, want);
	/* bytes after it: a torn write of something longer */
	longer = calloc(1, n + 100);
	assert_non_null(longer);
	memcpy(longer, good, n);
	write_file(ev_projlock_file(pl), longer, n + 100);
	assert_int_equal(load_status(pl, &err), EV_EDATA);
	/* a symbolic link in its place is not followed */
	assert_int_equal(unlink(ev_projlock_file(pl)), 0);
	assert_int_equal(symlink("/etc/passwd", ev_projlock_file(pl)), 0);
	assert_int_equal(load_status(pl, &err), EV_EDATA);
	assert_non_null(strstr(err.msg, "symbolic link"));
	assert_int_equal(unlink(ev_projlock_file(pl)), 0);
	free(good);
	free(longer);
	ev_checkpoint_clear(&cp);
	ev_projection_unlock(pl);
}

/* A file of the layout of evlog(5) around body (CRC and all), version
 * and flags as given. */
static void craft(struct ev_projlock *pl, uint32_t version, uint32_t flags,
		  const uint8_t *body, size_t n)
{
	uint8_t *f = malloc(n + 28);

	assert_non_null(f);
	memcpy(f, "EVLCKPT\n", 8);
	ev_put32(f + 8, version);
	ev_put32(f + 12, flags);
	ev_put64(f + 16, n);
	memcpy(f + 24, body, n);
	ev_put32(f + 24 + n, ev_crc32c(0, f, n + 24));
	write_file(ev_projlock_file(pl), f, n + 28);
	free(f);
}

/* A body from pieces: a map of count keys, then the bytes given. */
struct piece {
	const char *bytes;
	size_t n;
};
#define P(s)                     \
	{                        \
		s, sizeof(s) - 1 \
	}
#define LOG_HEX "0123456789abcdef0123456789abcdef"

static const char *crafted_problem(struct ev_projlock *pl, uint8_t map,
				   const struct piece *ps, size_t np)
{
	static struct ev_error err;
	uint8_t body[512];
	size_t n = 0, i;

	body[n++] = map;
	for (i = 0; i < np; i++) {
		assert_true(n + ps[i].n <= sizeof(body));
		memcpy(body + n, ps[i].bytes, ps[i].n);
		n += ps[i].n;
	}
	craft(pl, 1, 0, body, n);
	if (load_status(pl, &err) != EV_EDATA)
		return "(loaded)";
	return strstr(err.msg, "is damaged: ") != NULL
		       ? strstr(err.msg, "is damaged: ") + 12
		       : err.msg;
}

static void test_crafted(void **state)
{
	struct tlog *t = *state;
	struct ev_projlock *pl = lock_proj(t, "p", NULL);
	struct ev_checkpoint cp;
	struct ev_error err;
	char want[9000];
	/* the keys a checkpoint needs, each valid */
	const struct piece log = P("\xa3log\xd9\x20" LOG_HEX);
	const struct piece next = P("\xa4next\x05");
	const struct piece hash = P("\xa8"
				    "def-hash\x07");
	const struct piece st = P("\xa5state\xc4\x01x");

	char mine[40];
	const struct piece my_log = {mine, 38};

	memcpy(mine, "\xa3log\xd9\x20", 6);
	memcpy(mine + 6, ev_log_id(t->log), 32);
	/* well formed, with the keys in any order */
	{
		const struct piece ps[] = {st, hash, my_log, next};
		ev_checkpoint_init(&cp);
		assert_string_equal(crafted_problem(pl, 0x84, ps, 4),
				    "(loaded)");
		assert_int_equal(ev_checkpoint_load(pl, &cp, &err), 0);
		assert_int_equal(cp.next, 5);
		assert_int_equal(cp.def_hash, 7);
		assert_int_equal(cp.state_n, 1);
		assert_int_equal(cp.state[0], 'x');
		assert_int_equal(cp.updated, EV_TIME_NONE);
		assert_null(cp.def_desc);
		assert_int_equal(cp.nskips, 0);
		ev_checkpoint_clear(&cp);
	}
	/* unknown keys are skipped; and one of another log is refused */
	{
		const struct piece ps[] = {log, next, hash, st,
					   P("\xa5later\x92\x01\x81\xa1k\xc0")};
		snprintf(want, sizeof(want),
			 "projection checkpoint '%s' belongs to log " LOG_HEX
			 ", but '%s' is log %s",
			 ev_projlock_file(pl), t->path, ev_log_id(t->log));
		assert_string_equal(crafted_problem(pl, 0x85, ps, 5), want);
	}
	{
		const struct piece ps[] = {next, hash, st};
		assert_string_equal(crafted_problem(pl, 0x83, ps, 3),
				    "'log' is missing");
	}
	{
		const struct piece ps[] = {log, next, hash};
		assert_string_equal(crafted_problem(pl, 0x83, ps, 3),
				    "'state' is missing");
	}
	{
		const struct piece ps[] = {log, next, next, hash, st};
		assert_string_equal(crafted_problem(pl, 0x85, ps, 5),
				    "a key comes twice");
	}
	{
		const struct piece ps[] = {log, P("\xa4next\xa1x"), hash, st};
		assert_string_equal(crafted_problem(pl, 0x84, ps, 4),
				    "'next' is not an offset");
	}
	{
		const struct piece ps[] = {log, P("\xa4next\xff"), hash, st};
		assert_string_equal(crafted_problem(pl, 0x84, ps, 4),
				    "'next' is not an offset");
	}
	{
		const struct piece ps[] = {P("\xa3log\xa3"
					     "abc"),
					   next, hash, st};
		assert_string_equal(crafted_problem(pl, 0x84, ps, 4),
				    "'log' is not a log id");
	}
	{
		const struct piece ps[] = {log, next, hash,
					   P("\xa5state\xa1x")};
		assert_string_equal(crafted_problem(pl, 0x84, ps, 4),
				    "'state' is not binary");
	}
	{
		/* a bin that claims more than there is */
		const struct piece ps[] = {log, next, hash,
					   P("\xa5state\xc6\x7f\xff\xff\xff")};
		assert_string_equal(crafted_problem(pl, 0x84, ps, 4),
				    "a value is truncated");
	}
	{
		/* more skips than bytes */
		const struct piece ps[] = {log, next, hash, st,
					   P("\xa5skips\xdd\xff\xff\xff\xff")};
		assert_string_equal(crafted_problem(pl, 0x85, ps, 5),
				    "'skips' claims more entries than the "
				    "file holds");
	}
	{
		const struct piece ps[] =
			{log, next, hash, st,
			 P("\xa5skips\x92\x93\x05\xd6\xff\x00\x00\x00\x01\xa1r"
			   "\x93\x05\xd6\xff\x00\x00\x00\x01\xa1r")};
		assert_string_equal(crafted_problem(pl, 0x85, ps, 5),
				    "the skips are not in ascending order");
	}
	{
		const struct piece ps[] = {
			log, next, hash, st,
			P("\xa5skips\x91\x93\x05\xd6\xff\x00\x00\x00\x01\xa0")};
		assert_string_equal(crafted_problem(pl, 0x85, ps, 5),
				    "a skip is not [offset, time, reason]");
	}
	{
		const struct piece ps[] = {
			log, next, hash, st,
			P("\xa5skips\x91\x93\x05\xd6\xff\x00\x00\x00\x01\xa2\xc3"
			  "(")};
		assert_string_equal(crafted_problem(pl, 0x85, ps, 5),
				    "a skip's reason is not UTF-8 text of at "
				    "most 4096 bytes");
	}
	{
		const struct piece ps[] = {log, next, hash, st,
					   P("\xa3"
					     "def\xa2\x00x")};
		assert_string_equal(crafted_problem(pl, 0x85, ps, 5),
				    "'def' is not UTF-8 text of at most 65536 "
				    "bytes");
	}
	{
		const struct piece ps[] = {log, next, hash, st,
					   P("\xa7updated\x01")};
		assert_string_equal(crafted_problem(pl, 0x85, ps, 5),
				    "'updated' is not a time");
	}
	{
		const struct piece ps[] = {log, next, hash, st, P("\xc0")};
		assert_string_equal(crafted_problem(pl, 0x84, ps, 5),
				    "bytes follow its body");
	}
	{
		const struct piece ps[] = {P("\x01\x02"), log};
		assert_string_equal(crafted_problem(pl, 0x85, ps, 2),
				    "a key is not a string");
	}
	{
		/* an unknown key whose value nests too deep */
		char deep[40];
		struct piece ps[5] = {log, next, hash, st, {deep, 0}};
		size_t i;
		memcpy(deep, "\xa1z", 2);
		for (i = 2; i < 32; i++)
			deep[i] = (char)0x91;
		deep[32] = (char)0xc0;
		ps[4].n = 33;
		assert_string_equal(crafted_problem(pl, 0x85, ps, 5),
				    "a value is truncated or too deep");
	}
	{
		const struct piece ps[] = {log};
		assert_string_equal(crafted_problem(pl, 0x92, ps, 1),
				    "its body is not a map");
	}
	/* a later version, intact: said so, with a hint */
	craft(pl, 2, 0, (const uint8_t *)"\x80", 1);
	assert_int_equal(load_status(pl, &err), EV_EDATA);
	snprintf(want, sizeof(want),
		 "projection checkpoint '%s' has format version 2 (flags "
		 "00000000); this evlog reads version 1",
		 ev_projlock_file(pl));
	assert_string_equal(err.msg, want);
	assert_string_equal(err.hint,
			    "it was written by a newer version of evlog");
	craft(pl, 1, 4, (const uint8_t *)"\x80", 1);
	assert_int_equal(load_status(pl, &err), EV_EDATA);
	ev_projection_unlock(pl);
}

/* Bodies mangled at random behind a good header and CRC: whatever a
 * crafted file holds, a load gives 0 or EV_EDATA, and when it gives 0,
 * what it gives is sound. */
static void test_crafted_random(void **state)
{
	struct tlog *t = *state;
	struct ev_projlock *pl = lock_proj(t, "p", NULL);
	struct ev_checkpoint cp;
	struct ev_error err;
	uint8_t *good, body[1024];
	size_t n, bn, i;
	int round, k, r, loaded = 0;

	test_seed();
	sample(&cp, 12);
	assert_int_equal(ev_checkpoint_save(pl, &cp, &err), 0);
	ev_checkpoint_clear(&cp);
	good = saved_bytes(pl, &n);
	for (round = 0; round < 3000; round++) {
		bn = n - 28;
		memcpy(body, good + 24, bn);
		for (k = rand() % 4; k >= 0; k--) {
			i = (size_t)rand() % bn;
			switch (rand() % 3) {
			case 0: /* a byte changed */
				body[i] = (uint8_t)rand();
				break;
			case 1: /* cut short */
				bn = i + 1;
				break;
			default: /* a byte put in */
				if (bn < sizeof(body)) {
					memmove(body + i + 1, body + i, bn - i);
					body[i] = (uint8_t)rand();
					bn++;
				}
			}
		}
		craft(pl, 1, 0, body, bn);
		ev_checkpoint_init(&cp);
		r = ev_checkpoint_load(pl, &cp, &err);
		if (r != 0 && r != EV_EDATA)
			fail_msg("round %d: %d: %s", round, r, err.msg);
		if (r == 0) {
			loaded++;
			assert_string_equal(cp.log_id, ev_log_id(t->log));
			assert_non_null(cp.state);
			for (i = 1; i < cp.nskips; i++)
				assert_true(cp.skips[i - 1].offset <
					    cp.skips[i].offset);
			for (i = 0; i < cp.nskips; i++)
				assert_true(strlen(cp.skips[i].reason) > 0);
		}
		ev_checkpoint_clear(&cp);
	}
	print_message("# %d of 3000 loaded\n", loaded);
	free(good);
	ev_projection_unlock(pl);
}

/* ------------------------------------------------------------ atomicity */

/* Save checkpoints with next 1, 2, 3, ... until killed. */
static void saver(struct tlog *t, int ready_fd)
{
	struct ev_projlock *pl;
	struct ev_checkpoint cp;
	struct ev_error err;
	uint8_t blob[3000];
	uint64_t i;

	if (ev_projection_lock(&pl, t->log, "p", NULL, 10, &err) != 0)
		_exit(2);
	memset(blob, 0, sizeof(blob));
	ev_checkpoint_init(&cp);
	for (i = 1;; i++) {
		/* a state of its own for each, of its own length */
		memset(blob, (int)(i & 0xff), sizeof(blob));
		cp.next = i;
		if (ev_checkpoint_set_state(&cp, blob, 1000 + i % 2000, &err) !=
			    0 ||
		    ev_checkpoint_save(pl, &cp, &err) != 0)
			_exit(3);
		if (i == 1 && write(ready_fd, "r", 1) != 1)
			_exit(4);
	}
}

/* cp is one that saver() saved, whole. */
static void assert_saver_state(const struct ev_checkpoint *cp)
{
	size_t i;

	assert_true(cp->next >= 1);
	assert_int_equal(cp->state_n, 1000 + cp->next % 2000);
	for (i = 0; i < cp->state_n; i++)
		if (cp->state == NULL ||
		    cp->state[i] != (uint8_t)(cp->next & 0xff))
			fail_msg("checkpoint %llu: state byte %zu is wrong",
				 (unsigned long long)cp->next, i);
}

static pid_t start_saver(struct tlog *t)
{
	int fds[2];
	char c;
	pid_t pid;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		saver(t, fds[1]);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	return pid;
}

static void test_readers_see_whole_checkpoints(void **state)
{
	struct tlog *t = *state;
	struct ev_checkpoint_info *v;
	struct ev_error err;
	size_t n;
	uint64_t last = 0;
	int i, status;
	pid_t pid = start_saver(t);

	/* a listing reads the file while saves replace it */
	for (i = 0; i < 300; i++) {
		assert_int_equal(ev_checkpoint_list(t->log, NULL, &v, &n, &err),
				 0);
		assert_int_equal(n, 1);
		if (v[0].damaged)
			fail_msg("read %d: %s", i, v[0].problem);
		assert_true(v[0].cp.next >= last);
		last = v[0].cp.next;
		assert_int_equal(v[0].cp.state_n, 1000 + last % 2000);
		assert_int_equal(v[0].busy, 1);
		ev_checkpoint_list_free(v, n);
	}
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
}

static void test_sigkill_leaves_a_whole_checkpoint(void **state)
{
	struct tlog *t = *state;
	struct ev_checkpoint cp;
	struct ev_projlock *pl;
	struct ev_error err;
	int round, status;

	test_seed();
	ev_checkpoint_init(&cp);
	for (round = 0; round < 20; round++) {
		pid_t pid = start_saver(t);
		struct timespec d = {0, (long)(rand() % 20000) * 1000};
		nanosleep(&d, NULL);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		/* the lock is free at once, and the checkpoint whole */
		pl = lock_proj(t, "p", NULL);
		if (ev_checkpoint_load(pl, &cp, &err) != 0)
			fail_msg("round %d: %s", round, err.msg);
		assert_saver_state(&cp);
		ev_projection_unlock(pl);
	}
	ev_checkpoint_clear(&cp);
}

/* ------------------------------------------------------------ locking */

/* A child that holds projection p until its release pipe closes, then
 * lets go after linger_ms. */
struct holder {
	pid_t pid;
	int release; /* close to release */
};

static struct holder hold_elsewhere(struct tlog *t, const char *state_dir,
				    int linger_ms)
{
	int ready[2], rel[2];
	struct holder h;
	char c;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(rel), 0);
	h.pid = fork();
	assert_true(h.pid >= 0);
	if (h.pid == 0) {
		struct ev_projlock *pl;
		struct ev_error err;
		struct timespec d = {linger_ms / 1000,
				     (long)(linger_ms % 1000) * 1000000};
		close(ready[0]);
		close(rel[1]);
		if (ev_projection_lock(&pl, t->log, "p", state_dir, 0, &err) !=
		    0)
			_exit(2);
		if (write(ready[1], "r", 1) != 1)
			_exit(3);
		while (read(rel[0], &c, 1) > 0)
			;
		nanosleep(&d, NULL);
		ev_projection_unlock(pl);
		_exit(0);
	}
	close(ready[1]);
	close(rel[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	h.release = rel[1];
	return h;
}

static void release(struct holder *h)
{
	int status;

	close(h->release);
	assert_int_equal(waitpid(h->pid, &status, 0), h->pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_busy(void **state)
{
	struct tlog *t = *state;
	struct ev_projlock *pl = (struct ev_projlock *)1;
	struct ev_error err;
	struct holder h = hold_elsewhere(t, NULL, 0);
	char want[256];
	double t0;

	snprintf(want, sizeof(want),
		 "projection 'p' is in use by another process (pid %ld)",
		 (long)h.pid);
	assert_int_equal(ev_projection_lock(&pl, t->log, "p", NULL, 0, &err),
			 EV_EAGAIN);
	assert_null(pl);
	assert_string_equal(err.msg, want);
	assert_int_equal(ev_exit_code(err.code), 75);
	/* waiting for a while, then giving up */
	t0 = now_s();
	assert_int_equal(ev_projection_lock(&pl, t->log, "p", NULL, 0.3, &err),
			 EV_EAGAIN);
	assert_true(now_s() - t0 >= 0.3);
	snprintf(want, sizeof(want),
		 "projection 'p' is still in use by another process (pid "
		 "%ld) after 0.3 seconds",
		 (long)h.pid);
	assert_string_equal(err.msg, want);
	/* another projection is not busy, nor the same name elsewhere */
	pl = lock_proj(t, "q", NULL);
	ev_projection_unlock(pl);
	pl = lock_proj(t, "p", t->dir);
	ev_projection_unlock(pl);
	release(&h);
	pl = lock_proj(t, "p", NULL);
	ev_projection_unlock(pl);
}

static void test_wait(void **state)
{
	struct tlog *t = *state;
	struct ev_projlock *pl;
	struct ev_error err;
	struct holder h;
	int status;

	/* a timed wait that the holder ends */
	h = hold_elsewhere(t, NULL, 300);
	close(h.release);
	assert_int_equal(ev_projection_lock(&pl, t->log, "p", NULL, 30, &err),
			 0);
	ev_projection_unlock(pl);
	assert_int_equal(waitpid(h.pid, &status, 0), h.pid);
	/* and a wait for as long as it takes */
	h = hold_elsewhere(t, NULL, 300);
	close(h.release);
	assert_int_equal(ev_projection_lock(&pl, t->log, "p", NULL, -1, &err),
			 0);
	ev_projection_unlock(pl);
	assert_int_equal(waitpid(h.pid, &status, 0), h.pid);
}

/* ------------------------------------------------------------ listing */

static void test_list(void **state)
{
	struct tlog *t = *state;
	struct ev_projlock *pl, *busy;
	struct ev_checkpoint cp;
	struct ev_checkpoint_info *v;
	struct ev_error err;
	struct tlog other;
	size_t n;
	char path[4400], want[9000];

	assert_int_equal(ev_checkpoint_list(t->log, NULL, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_null(v);
	sample(&cp, 20);
	pl = lock_proj(t, "c", NULL);
	assert_int_equal(ev_checkpoint_save(pl, &cp, &err), 0);
	ev_projection_unlock(pl);
	pl = lock_proj(t, "a", NULL);
	cp.next = 10;
	assert_int_equal(ev_checkpoint_save(pl, &cp, &err), 0);
	ev_projection_unlock(pl);
	pl = lock_proj(t, "b", NULL);
	assert_int_equal(ev_checkpoint_save(pl, &cp, &err), 0);
	ev_projection_unlock(pl);
	/* b is damaged, c is held, d never saved */
	snprintf(path, sizeof(path), "%s/projections/b.ckpt", t->path);
	write_file(path, "EVLCKPT\n", 8);
	busy = lock_proj(t, "c", NULL);
	pl = lock_proj(t, "d", NULL);
	/* a file that is not a checkpoint's, and a temporary */
	snprintf(path, sizeof(path), "%s/projections/notes.txt", t->path);
	write_file(path, "x", 1);
	snprintf(path, sizeof(path), "%s/projections/a.ckpt.tmp.0123", t->path);
	write_file(path, "x", 1);
	assert_int_equal(ev_checkpoint_list(t->log, NULL, &v, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0].name, "a");
	assert_int_equal(v[0].damaged, 0);
	assert_int_equal(v[0].busy, 0);
	assert_int_equal(v[0].cp.next, 10);
	assert_string_equal(v[0].cp.def_desc, "--sum data.amount --by stream");
	assert_int_equal(v[0].cp.nskips, 2);
	assert_string_equal(v[0].cp.skips[1].reason, "bad amount: \"x\" ✗");
	assert_int_equal(v[0].cp.updated, EPOCH_NS);
	assert_null(v[0].cp.state);
	assert_int_equal(v[0].cp.state_n, cp.state_n);
	snprintf(want, sizeof(want), "%s/projections/a.ckpt", t->path);
	assert_string_equal(v[0].file, want);
	assert_string_equal(v[1].name, "b");
	assert_int_equal(v[1].damaged, 1);
	assert_int_equal(v[1].status, EV_EDATA);
	snprintf(want, sizeof(want),
		 "projection checkpoint '%s/projections/b.ckpt' is damaged: "
		 "8 bytes, too short for one (torn or truncated)",
		 t->path);
	assert_string_equal(v[1].problem, want);
	assert_string_equal(v[2].name, "c");
	assert_int_equal(v[2].busy, 1);
	assert_int_equal(v[2].cp.next, 20);
	ev_checkpoint_list_free(v, n);
	ev_projection_unlock(pl);
	ev_projection_unlock(busy);
	/* in a state dir, another log's checkpoints are not this one's */
	tlog_create(&other, 0, 1);
	snprintf(path, sizeof(path), "%s/st", t->dir);
	pl = lock_proj(&other, "o", path);
	assert_int_equal(ev_checkpoint_save(pl, &cp, &err), 0);
	ev_projection_unlock(pl);
	assert_int_equal(ev_checkpoint_list(t->log, path, &v, &n, &err), 0);
	assert_int_equal(n, 0);
	ev_checkpoint_list_free(v, n);
	assert_int_equal(ev_checkpoint_list(other.log, path, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "o");
	ev_checkpoint_list_free(v, n);
	/* and loading one with the wrong log is refused */
	pl = lock_proj(t, "o", path);
	assert_int_equal(ev_checkpoint_load(pl, &cp, &err), EV_EDATA);
	snprintf(want, sizeof(want),
		 "projection checkpoint '%s/projections/o.ckpt' belongs to "
		 "log %s, but '%s' is log %s",
		 path, ev_log_id(other.log), t->path, ev_log_id(t->log));
	assert_string_equal(err.msg, want);
	assert_int_equal(ev_exit_code(err.code), 65);
	ev_projection_unlock(pl);
	/* and it is left in place */
	assert_int_equal(ev_checkpoint_list(other.log, path, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	ev_checkpoint_list_free(v, n);
	tlog_free(&other);
	ev_checkpoint_clear(&cp);
}

/* ------------------------------------------------------------ trim */

static void trim_notice(void *ctx, const char *msg)
{
	struct ev_buf *b = ctx;

	ev_buf_puts(b, msg);
	ev_buf_putc(b, '\n');
	ev_buf_putc(b, '\0');
	b->len--;
}

static void test_trim(void **state)
{
	struct tlog t;
	struct ev_log_info info;
	struct ev_trim_opts o;
	struct ev_projlock *pl;
	struct ev_checkpoint cp;
	struct ev_error err;
	struct ev_buf said = {0};
	uint64_t first_kept;
	char want[4600], sd[4400];

	(void)state;
	tlog_create(&t, EV_MIN_SEGMENT_BYTES, 0);
	tlog_append(&t, 0, 2000, 4096, tlog_time_inorder);
	assert_int_equal(ev_log_info(t.log, &info, &err), 0);
	assert_true(info.segments >= 3);
	first_kept = info.seg[info.segments - 1].base;
	free(info.seg);
	memset(&o, 0, sizeof(o));
	o.before = EV_TIME_NONE;
	o.keep_events = 1;
	o.dry_run = 1;
	sample(&cp, 5);
	/* a checkpoint at 5 holds everything after it back */
	pl = lock_proj(&t, "p", NULL);
	assert_int_equal(ev_checkpoint_save(pl, &cp, &err), 0);
	ev_projection_unlock(pl);
	assert_int_equal(ev_log_trim(t.log, &o, trim_notice, &said, &err),
			 EV_EAGAIN);
	snprintf(want, sizeof(want),
		 "trim would remove events projection 'p' has not passed: its "
		 "checkpoint is at offset 5 and the log would start at %llu",
		 (unsigned long long)first_kept);
	assert_string_equal(err.msg, want);
	assert_string_equal(err.hint, "wait for it to catch up (run it), "
				      "remove its checkpoint, or use --force");
	/* --force: said, and done */
	o.force = 1;
	said.len = 0;
	assert_int_equal(ev_log_trim(t.log, &o, trim_notice, &said, &err), 0);
	snprintf(want, sizeof(want),
		 "projection 'p' had not passed offsets 5 to %llu (trimmed by "
		 "force)\n",
		 (unsigned long long)first_kept - 1);
	assert_non_null(said.p);
	assert_non_null(strstr((char *)said.p, want));
	/* past it: no objection */
	o.force = 0;
	cp.next = first_kept;
	pl = lock_proj(&t, "p", NULL);
	assert_int_equal(ev_checkpoint_save(pl, &cp, &err), 0);
	ev_projection_unlock(pl);
	assert_int_equal(ev_log_trim(t.log, &o, trim_notice, &said, &err), 0);
	/* damaged: trim cannot tell, and refuses unless forced */
	snprintf(sd, sizeof(sd), "%s/projections/p.ckpt", t.path);
	write_file(sd, "garbage", 7);
	assert_int_equal(ev_log_trim(t.log, &o, trim_notice, &said, &err),
			 EV_EDATA);
	snprintf(want, sizeof(want),
		 "trim cannot tell what projection 'p' has read: projection "
		 "checkpoint '%s' is damaged: 7 bytes, too short for one (torn "
		 "or truncated)",
		 sd);
	assert_string_equal(err.msg, want);
	assert_string_equal(err.hint, "rebuild the projection, remove its "
				      "checkpoint, or use --force");
	o.force = 1;
	said.len = 0;
	assert_int_equal(ev_log_trim(t.log, &o, trim_notice, &said, &err), 0);
	assert_non_null(strstr((char *)said.p,
			       "projection 'p' has a damaged checkpoint: "
			       "trimmed by force\n"));
	/* with a state dir, the projections kept there count too */
	o.force = 0;
	unlink(sd);
	snprintf(sd, sizeof(sd), "%s/st", t.dir);
	cp.next = 0;
	pl = lock_proj(&t, "far", sd);
	assert_int_equal(ev_checkpoint_save(pl, &cp, &err), 0);
	ev_projection_unlock(pl);
	assert_int_equal(ev_log_trim(t.log, &o, trim_notice, &said, &err), 0);
	o.state_dir = sd;
	assert_int_equal(ev_log_trim(t.log, &o, trim_notice, &said, &err),
			 EV_EAGAIN);
	assert_non_null(strstr(err.msg, "projection 'far' has not passed"));
	/* for real this time: nothing goes */
	o.dry_run = 0;
	assert_int_equal(ev_log_trim(t.log, &o, trim_notice, &said, &err),
			 EV_EAGAIN);
	assert_int_equal(ev_log_info(t.log, &info, &err), 0);
	assert_int_equal(info.first_offset, 0);
	free(info.seg);
	ev_buf_free(&said);
	ev_checkpoint_clear(&cp);
	tlog_free(&t);
}

/* ------------------------------------------------------------ kafka */

#define ZEROS "00000000000000000000000000000000"

/* A Kafka topic's checkpoint: saved and loaded whole, with its topic and
 * offsets, in a state directory only; refused for another topic, and
 * for a log (and a log's for a topic); passed over in a log's listing;
 * crafted ones refused, each saying why. */
/* A topic's skips carry their partition, ordered by partition then
 * offset, through the bytes; a local log's skip with a partition is
 * damaged. */
static void test_kafka_skips(void **state)
{
	struct ev_checkpoint cp, back;
	struct ev_buf b = {0};
	struct ev_error err;
	const int64_t off[] = {5, 7};

	(void)state;
	ev_checkpoint_init(&cp);
	ev_checkpoint_init(&back);
	assert_int_equal(ev_checkpoint_set_offsets(&cp, off, 2, &err), 0);
	assert_int_equal(ev_checkpoint_set_owner(&cp, NULL, "orders", &err), 0);
	assert_int_equal(ev_checkpoint_add_skip_at(&cp, 1, 3, "b", 1, &err), 0);
	assert_int_equal(ev_checkpoint_add_skip_at(&cp, 0, 9, "a", 1, &err), 0);
	assert_int_equal(ev_checkpoint_add_skip_at(&cp, 1, 2, "c", 1, &err), 0);
	assert_int_equal(cp.nskips, 3);
	assert_int_equal(cp.skips[0].partition, 0);
	assert_int_equal(cp.skips[1].offset, 2);
	assert_int_equal(cp.skips[2].offset, 3);
	cp.updated = 1;
	assert_int_equal(ev_checkpoint_encode(&cp, &b, &err), 0);
	assert_int_equal(ev_checkpoint_decode(b.p, b.len, "x", &back, &err), 0);
	assert_int_equal(back.nskips, 3);
	assert_non_null(ev_checkpoint_skipped_at(&back, 1, 3));
	assert_non_null(ev_checkpoint_skipped_at(&back, 0, 9));
	assert_null(ev_checkpoint_skipped_at(&back, 0, 3));
	/* a local log's lookup is partition 0's */
	assert_non_null(ev_checkpoint_skipped(&back, 9));
	assert_string_equal(ev_checkpoint_skipped_at(&back, 1, 2)->reason, "c");
	/* the same skips without the topic: refused, never misread */
	free(cp.topic);
	cp.topic = NULL;
	memset(cp.log_id, 'a', 32);
	assert_int_equal(ev_checkpoint_encode(&cp, &b, &err), EV_EUSAGE);
	assert_string_equal(err.msg, "cannot save the checkpoint: a local "
				     "log's skip names a partition");
	ev_buf_free(&b);
	ev_checkpoint_clear(&back);
	ev_checkpoint_clear(&cp);
}

static void test_kafka(void **state)
{
	struct tlog *t = *state;
	struct ev_projlock *pl, *other, *local;
	struct ev_checkpoint cp, back;
	struct ev_checkpoint_info *v = NULL;
	struct ev_buf b = {0};
	struct ev_error err;
	char sd[4300], want[9000];
	const int64_t off[] = {5, -1, 12};
	const int64_t big[] = {INT64_MAX};
	size_t n = 0;

	snprintf(sd, sizeof(sd), "%s/sd", t->path);
	assert_int_equal(ev_projection_lock_topic(&pl, "orders", "p", NULL, 0,
						  &err),
			 EV_EUSAGE);
	assert_null(pl);
	assert_string_equal(err.msg, "projection 'p' of kafka topic 'orders' "
				     "needs a state directory for its "
				     "checkpoint");
	assert_int_equal(ev_projection_lock_topic(&pl, "orders", "p", sd, 0,
						  &err),
			 0);
	/* one run at a time, as for a log */
	assert_int_equal(ev_projection_lock_topic(&other, "orders", "p", sd, 0,
						  &err),
			 EV_EAGAIN);
	ev_checkpoint_init(&back);
	assert_int_equal(ev_checkpoint_load(pl, &back, &err), EV_ENOENT);
	sample(&cp, 12);
	assert_int_equal(ev_checkpoint_set_offsets(&cp, off, 3, &err), 0);
	assert_int_equal(ev_checkpoint_save(pl, &cp, &err), 0);
	assert_string_equal(cp.log_id, ZEROS);
	assert_int_equal(cp.next, 0);
	assert_string_equal(cp.topic, "orders");
	assert_int_equal(ev_checkpoint_load(pl, &back, &err), 0);
	assert_same(&cp, &back, 1);
	assert_string_equal(back.topic, "orders");
	assert_int_equal(back.nparts, 3);
	assert_memory_equal(back.offsets, off, sizeof(off));
	/* through the bytes of a read model's store too */
	assert_int_equal(ev_checkpoint_set_offsets(&cp, big, 1, &err), 0);
	assert_int_equal(ev_checkpoint_encode(&cp, &b, &err), 0);
	assert_int_equal(ev_checkpoint_decode(b.p, b.len, "x", &back, &err), 0);
	assert_int_equal(back.nparts, 1);
	assert_true(back.offsets[0] == INT64_MAX);
	ev_buf_free(&b);
	ev_projection_unlock(pl);
	/* another topic's, with the same name in the same directory */
	assert_int_equal(ev_projection_lock_topic(&other, "payments", "p", sd,
						  0, &err),
			 0);
	assert_int_equal(load_status(other, &err), EV_EDATA);
	snprintf(want, sizeof(want),
		 "projection checkpoint '%s' belongs to kafka topic 'orders', "
		 "not to 'payments'",
		 ev_projlock_file(other));
	assert_string_equal(err.msg, want);
	ev_projection_unlock(other);
	/* a log's lock on it, and a log's checkpoint for a topic */
	local = lock_proj(t, "p", sd);
	assert_int_equal(load_status(local, &err), EV_EDATA);
	snprintf(want, sizeof(want),
		 "projection checkpoint '%s' belongs to kafka topic 'orders', "
		 "but '%s' is log %s",
		 ev_projlock_file(local), t->path, ev_log_id(t->log));
	assert_string_equal(err.msg, want);
	ev_projection_unlock(local);
	local = lock_proj(t, "q", sd);
	ev_checkpoint_clear(&cp);
	sample(&cp, 4);
	assert_int_equal(ev_checkpoint_save(local, &cp, &err), 0);
	assert_null(cp.topic);
	ev_projection_unlock(local);
	assert_int_equal(ev_projection_lock_topic(&other, "orders", "q", sd, 0,
						  &err),
			 0);
	assert_int_equal(load_status(other, &err), EV_EDATA);
	snprintf(want, sizeof(want),
		 "projection checkpoint '%s' belongs to log %s, not to kafka "
		 "topic 'orders'",
		 ev_projlock_file(other), ev_log_id(t->log));
	assert_string_equal(err.msg, want);
	/* the log's listing: its own only */
	assert_int_equal(ev_checkpoint_list(t->log, sd, &v, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "q");
	ev_checkpoint_list_free(v, n);
	/* the topic's: its own only, and only in a state directory */
	assert_int_equal(ev_checkpoint_list_topic("orders", sd, &v, &n, &err),
			 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].name, "p");
	assert_string_equal(v[0].cp.topic, "orders");
	assert_int_equal(v[0].cp.nparts, 3);
	ev_checkpoint_list_free(v, n);
	assert_int_equal(ev_checkpoint_list_topic("nosuch", sd, &v, &n, &err),
			 0);
	assert_int_equal(n, 0);
	ev_checkpoint_list_free(v, n);
	assert_int_equal(ev_checkpoint_list_topic("orders", NULL, &v, &n, &err),
			 EV_EUSAGE);
	/* crafted */
	{
		const struct piece log = P("\xa3log\xd9\x20" ZEROS);
		const struct piece next = P("\xa4next\x00");
		const struct piece hash = P("\xa8"
					    "def-hash\x07");
		const struct piece st = P("\xa5state\xc4\x01x");
		const struct piece topic = P("\xa5topic\xa6orders");
		const struct piece offs = P("\xa7offsets\x92\x03\xc0");
		{
			const struct piece ps[] = {log, next,  hash,
						   st,	topic, offs};
			assert_int_equal(ev_projection_lock_topic(&pl, "orders",
								  "c", sd, 0,
								  &err),
					 0);
			assert_string_equal(crafted_problem(pl, 0x86, ps, 6),
					    "(loaded)");
			ev_checkpoint_clear(&back);
			assert_int_equal(ev_checkpoint_load(pl, &back, &err),
					 0);
			assert_int_equal(back.nparts, 2);
			assert_true(back.offsets[0] == 3);
			assert_true(back.offsets[1] == -1);
		}
		{
			const struct piece ps[] = {log, next, hash, st, topic};
			assert_string_equal(crafted_problem(pl, 0x85, ps, 5),
					    "'offsets' is missing");
		}
		{
			const struct piece ps[] = {log, next, hash, st, offs};
			assert_string_equal(crafted_problem(pl, 0x85, ps, 5),
					    "'topic' is missing");
		}
		{
			const struct piece ps[] = {P("\xa3log\xd9\x20" LOG_HEX),
						   next,
						   hash,
						   st,
						   topic,
						   offs};
			assert_string_equal(crafted_problem(pl, 0x86, ps, 6),
					    "it names both a log and a kafka "
					    "topic");
		}
		{
			const struct piece ps[] = {log,	  next,
						   hash,  st,
						   topic, P("\xa7offsets\x05")};
			assert_string_equal(crafted_problem(pl, 0x86, ps, 6),
					    "'offsets' is not an array");
		}
		{
			const struct piece ps[] = {log,
						   next,
						   hash,
						   st,
						   topic,
						   P("\xa7offsets\x91\xff")};
			assert_string_equal(crafted_problem(pl, 0x86, ps, 6),
					    "an offset is not an offset or "
					    "nil");
		}
		{
			/* past INT64_MAX */
			const struct piece ps[] =
				{log,
				 next,
				 hash,
				 st,
				 topic,
				 P("\xa7offsets\x91\xcf\x80\x00\x00\x00\x00\x00"
				   "\x00\x00")};
			assert_string_equal(crafted_problem(pl, 0x86, ps, 6),
					    "an offset is not an offset or "
					    "nil");
		}
		{
			const struct piece ps[] =
				{log,	next,
				 hash,	st,
				 topic, P("\xa7offsets\xdd\xff\xff\xff\xff")};
			assert_string_equal(crafted_problem(pl, 0x86, ps, 6),
					    "'offsets' claims more entries "
					    "than the file holds");
		}
		{
			const struct piece ps[] =
				{log, next, hash, st, P("\xa5topic\xa0"), offs};
			assert_string_equal(crafted_problem(pl, 0x86, ps, 6),
					    "'topic' is not a topic's name");
		}
		{
			const struct piece ps[] =
				{log, next, hash, st, P("\xa5topic\x01"), offs};
			assert_string_equal(crafted_problem(pl, 0x86, ps, 6),
					    "'topic' is not a topic's name");
		}
		ev_projection_unlock(pl);
	}
	ev_projection_unlock(other);
	ev_checkpoint_clear(&cp);
	ev_checkpoint_clear(&back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_skips),
		cmocka_unit_test(test_check_def),
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_save_refuses, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_dir, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_byte_flipped, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_torn_and_truncated, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_crafted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crafted_random, setup,
						teardown),
		cmocka_unit_test_setup_teardown(
			test_readers_see_whole_checkpoints, setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_sigkill_leaves_a_whole_checkpoint, setup,
			teardown),
		cmocka_unit_test_setup_teardown(test_busy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test(test_trim),
		cmocka_unit_test_setup_teardown(test_kafka, setup, teardown),
		cmocka_unit_test(test_kafka_skips),
	};

	/* a known clock */
	setenv("EVLOG_TEST_SEED", "1", 1);
	setenv("SOURCE_DATE_EPOCH", EPOCH, 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
