/*
 * log.c - struct ev_log: a log directory, its meta file, head file, lock
 * file and the list of segments (evlog(5) LOG DIRECTORY, META, HEAD).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evlog_private.h"

void ev_log_config_init(struct ev_log_config *cfg)
{
	cfg->segment_bytes = EV_DEFAULT_SEGMENT_BYTES;
	cfg->level = EV_DEFAULT_LEVEL;
	cfg->sync = EV_SYNC_BATCH;
	cfg->dead_letters = 0;
	cfg->dedupe_window = EV_DEFAULT_DEDUPE_WINDOW;
	cfg->correlation_index = 0;
}

/* ------------------------------------------------------------ head */

static const uint8_t head_magic[4] = {'E', 'V', 'H', 'D'};

void ev_head_encode(uint8_t out[EV_HEAD_SIZE], const struct ev_head *h)
{
	memset(out, 0, EV_HEAD_SIZE);
	memcpy(out, head_magic, 4);
	ev_put16(out + 4, 1);
	ev_put64(out + 8, h->seg_base);
	ev_put64(out + 16, h->end);
	ev_put64(out + 24, h->next);
	ev_put64(out + 32, h->salt);
	ev_put64(out + 40, (uint64_t)h->max_time);
	ev_put64(out + 48, h->last_index);
	/* a position in a segment fits 32 bits; if not, "none" is safe */
	ev_put32(out + 56, h->checked <= UINT32_MAX ? (uint32_t)h->checked : 0);
	ev_put32(out + 60, ev_crc32c(0, out, 60));
}

int ev_head_decode(const uint8_t *in, struct ev_head *h)
{
	if (memcmp(in, head_magic, 4) != 0 || ev_get16(in + 4) != 1 ||
	    ev_get32(in + 60) != ev_crc32c(0, in, 60))
		return EV_EDATA;
	h->seg_base = ev_get64(in + 8);
	h->end = ev_get64(in + 16);
	h->next = ev_get64(in + 24);
	h->salt = ev_get64(in + 32);
	h->max_time = (ev_time_t)ev_get64(in + 40);
	h->last_index = ev_get64(in + 48);
	/* not checked here: readers ignore it, writers check it before use */
	h->checked = ev_get32(in + 56);
	if (h->end < EV_SEGHDR_SIZE || h->next < h->seg_base ||
	    h->last_index > h->end)
		return EV_EDATA;
	return 0;
}

int ev_head_read(int dirfd, struct ev_head *h)
{
	uint8_t buf[EV_HEAD_SIZE];
	int fd, r, tries;

	fd = ev_openat(dirfd, "head", O_RDONLY, 0);
	if (fd < 0)
		return errno == ENOENT ? 1 : EV_EIO;
	/* the writer updates the head in place; a read that races with
	 * it fails the CRC and is simply repeated */
	for (tries = 0; tries < 100; tries++) {
		r = ev_read_full(fd, buf, sizeof(buf), 0);
		if (r < 0) {
			close(fd);
			return EV_EIO;
		}
		if (r == 1 && ev_head_decode(buf, h) == 0) {
			close(fd);
			return 0;
		}
		usleep(1000);
	}
	close(fd);
	return EV_EDATA;
}

/* ------------------------------------------------------------ meta */

/* One "key value" line of meta into log: 0, -1 for a bad value, 1 for
 * a key this version does not know (a setting of a later version).
 * *bit gets the EV_META_* of the key. */
static int meta_line(struct ev_log *log, const char *key, const char *val,
		     unsigned *bit)
{
	long long v;
	int i;

	*bit = 0;
	if (strcmp(key, "id") == 0) {
		uint8_t id[16];
		*bit = EV_META_ID;
		if (strlen(val) != 32)
			return -1;
		for (i = 0; i < 32; i++)
			if (!isxdigit((unsigned char)val[i]))
				return -1;
		for (i = 0; i < 16; i++) {
			unsigned b;
			if (sscanf(val + 2 * i, "%2x", &b) != 1)
				return -1;
			id[i] = (uint8_t)b;
		}
		memcpy(log->id, id, sizeof(id));
		memcpy(log->id_hex, val, 33);
	} else if (strcmp(key, "created") == 0) {
		*bit = EV_META_CREATED;
		if (ev_time_parse(val, strlen(val), &log->created) != 0)
			return -1;
	} else if (strcmp(key, "segment-bytes") == 0) {
		*bit = EV_META_SEGMENT_BYTES;
		v = strtoll(val, NULL, 10);
		if (v < (long long)EV_MIN_SEGMENT_BYTES ||
		    v > (long long)EV_MAX_SEGMENT_BYTES)
			return -1;
		log->cfg.segment_bytes = (uint64_t)v;
	} else if (strcmp(key, "level") == 0) {
		*bit = EV_META_LEVEL;
		v = strtoll(val, NULL, 10);
		if (v < 0 || v > 19)
			return -1;
		log->cfg.level = (int)v;
	} else if (strcmp(key, "dedupe-window") == 0) {
		*bit = EV_META_DEDUPE;
		v = strtoll(val, NULL, 10);
		if (v < 0)
			return -1;
		log->cfg.dedupe_window = (uint64_t)v;
	} else if (strcmp(key, "kind") == 0) {
		*bit = EV_META_KIND;
		log->cfg.dead_letters = strcmp(val, "dlq") == 0;
	} else if (strcmp(key, "correlation-index") == 0) {
		*bit = EV_META_CORRELATION;
		log->cfg.correlation_index = strcmp(val, "on") == 0;
	} else if (strcmp(key, "sync") == 0) {
		*bit = EV_META_SYNC;
		if (strcmp(val, "batch") == 0)
			log->cfg.sync = EV_SYNC_BATCH;
		else if (strcmp(val, "none") == 0)
			log->cfg.sync = EV_SYNC_NONE;
		else
			return -1;
	} else {
		return 1;
	}
	return 0;
}

/*
 * Parse meta text into log.  Strict (have == NULL): 0 or EV_EDATA at the
 * first fault.  Salvaging (have != NULL): every line that is right is
 * taken and the others passed over; *have gets the EV_META_* of the keys
 * taken, and err the first fault, but the return is 0 unless the text
 * names a format version other than 1 (a newer log: never rewritten).
 */
static int meta_parse(struct ev_log *log, const char *text, unsigned *have,
		      struct ev_error *err)
{
	const char *p = text;
	char key[32], val[128];
	int line = 0, have_id = 0, n, fault = 0;
	unsigned bit;

	ev_log_config_init(&log->cfg);
	if (have != NULL)
		*have = 0;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char tmp[192];
		line++;
		if (len >= sizeof(tmp)) {
			p += len + (nl != NULL);
			if (!fault++)
				ev_seterr(err, EV_EDATA,
					  "log '%s': meta line %d is too long",
					  log->path, line);
			if (have == NULL)
				return EV_EDATA;
			continue;
		}
		memcpy(tmp, p, len);
		tmp[len] = '\0';
		p += len + (nl != NULL);
		if (len == 0 || tmp[0] == '#')
			continue;
		n = sscanf(tmp, "%31s %127s", key, val);
		if (n != 2) {
			if (!fault++)
				ev_seterr(err, EV_EDATA,
					  "log '%s': meta line %d is malformed",
					  log->path, line);
			if (have == NULL)
				return EV_EDATA;
			continue;
		}
		if (line == 1 && strcmp(key, "evlog") == 0) {
			if (strcmp(val, "1") != 0)
				return ev_seterr(
					err, EV_EDATA,
					"log '%s': format version %s is "
					"not supported (this is version %d)",
					log->path, val, EV_FORMAT_VERSION);
			if (have != NULL)
				*have |= EV_META_VERSION;
			continue;
		}
		if (line == 1) {
			if (fault++)
				;
			else if (have != NULL)
				ev_seterr(err, EV_EDATA,
					  "log '%s': meta line 1 is not "
					  "'evlog 1'",
					  log->path);
			else
				ev_seterr(err, EV_EDATA,
					  "'%s' is not an evlog log "
					  "(bad meta file)",
					  log->path);
			if (have == NULL)
				return EV_EDATA;
			continue;
		}
		if (meta_line(log, key, val, &bit) < 0) {
			/* a key whose value is bad keeps its default */
			if (!fault++)
				ev_seterr(err, EV_EDATA,
					  "log '%s': meta line %d has a bad "
					  "value for '%s'",
					  log->path, line, key);
			if (have == NULL)
				return EV_EDATA;
			continue;
		}
		if (bit == EV_META_ID)
			have_id = 1;
		if (have != NULL)
			*have |= bit;
		/* unknown keys are settings of a later version: ignored */
	}
	if ((line == 0 || !have_id) && !fault++)
		ev_seterr(err, EV_EDATA, "log '%s': meta file is incomplete",
			  log->path);
	return fault && have == NULL ? EV_EDATA : 0;
}

int ev_log_meta_parse(struct ev_log *log, const char *text,
		      struct ev_error *err)
{
	return meta_parse(log, text, NULL, err);
}

static int meta_format(char *out, size_t n, const char *id_hex,
		       ev_time_t created, const struct ev_log_config *cfg)
{
	char tbuf[40];

	ev_time_format(created / 1000000000 * 1000000000, tbuf);
	return snprintf(out, n,
			"evlog 1\n"
			"id %s\n"
			"created %s\n"
			"segment-bytes %llu\n"
			"level %d\n"
			"sync %s\n"
			"dedupe-window %llu\n"
			"%s%s",
			id_hex, tbuf, (unsigned long long)cfg->segment_bytes,
			cfg->level,
			cfg->sync == EV_SYNC_NONE ? "none" : "batch",
			(unsigned long long)cfg->dedupe_window,
			cfg->dead_letters ? "kind dlq\n" : "",
			cfg->correlation_index ? "correlation-index on\n" : "");
}

int ev_log_meta_write(struct ev_log *log, struct ev_error *err)
{
	char meta[512];
	int n;

	n = meta_format(meta, sizeof(meta), log->id_hex, log->created,
			&log->cfg);
	if (ev_file_replace(log->dirfd, "meta", meta, (size_t)n) != 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot write '%s/meta'", log->path);
	return 0;
}

/* ------------------------------------------------------------ segments */

static int seg_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

int ev_log_mkdir(struct ev_log *log, const char *name, struct ev_error *err)
{
	if (mkdirat(log->dirfd, name, 0755) != 0) {
		if (errno == EEXIST)
			return 0;
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot create '%s/%s'", log->path,
				       name);
	}
	if (ev_fsync_dir(log->dirfd) != 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot sync '%s'",
				       log->path);
	return 0;
}

int ev_log_segments(int dirfd, uint64_t **out, size_t *n, struct ev_error *err)
{
	DIR *d;
	struct dirent *de;
	uint64_t *v = NULL, *nv;
	size_t cnt = 0, cap = 0;
	int fd, i;

	/* a descriptor of its own: a dup() would share its position in the
	 * directory with every other listing of the log, in any thread */
	fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot list log directory");
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL) {
		const char *s = de->d_name;
		uint64_t base = 0;
		if (strlen(s) != 24 || strcmp(s + 20, ".seg") != 0)
			continue;
		for (i = 0; i < 20; i++) {
			if (s[i] < '0' || s[i] > '9')
				break;
			base = base * 10 + (uint64_t)(s[i] - '0');
		}
		if (i != 20)
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (nv == NULL) {
				free(v);
				closedir(d);
				return ev_seterr(err, EV_ERR, "out of memory");
			}
			v = nv;
		}
		v[cnt++] = base;
	}
	closedir(d);
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), seg_cmp);
	*out = v;
	*n = cnt;
	return 0;
}

/* ------------------------------------------------------------ create/open */

/* The config checked, with its defaults when cfg is NULL. */
static int config_ok(const struct ev_log_config *cfg, struct ev_log_config *c,
		     struct ev_error *err)
{
	if (cfg != NULL)
		*c = *cfg;
	else
		ev_log_config_init(c);
	if (c->segment_bytes < EV_MIN_SEGMENT_BYTES ||
	    c->segment_bytes > EV_MAX_SEGMENT_BYTES)
		return ev_seterr(err, EV_EUSAGE,
				 "segment size must be between %u and %u bytes",
				 EV_MIN_SEGMENT_BYTES, EV_MAX_SEGMENT_BYTES);
	if (c->level < 0 || c->level > 19)
		return ev_seterr(err, EV_EUSAGE,
				 "compression level must be between 0 and 19");
	return 0;
}

static void id_hex(struct ev_log *log)
{
	static const char hx[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 16; i++) {
		log->id_hex[2 * i] = hx[log->id[i] >> 4];
		log->id_hex[2 * i + 1] = hx[log->id[i] & 15];
	}
	log->id_hex[32] = '\0';
}

void ev_log_set_id(struct ev_log *log, const uint8_t id[16])
{
	memcpy(log->id, id, sizeof(log->id));
	id_hex(log);
}

/* Make the files of a new log in the empty directory log->dirfd: meta,
 * lock, an empty segment at base and the head.  The caller removes what
 * a failure leaves. */
static int populate(struct ev_log *log, uint64_t base, const uint8_t *id,
		    struct ev_error *err)
{
	struct ev_head head;
	uint8_t hb[EV_HEAD_SIZE];
	char meta[512];
	int n, rc;

	if (id != NULL)
		memcpy(log->id, id, sizeof(log->id));
	else
		ev_random(log->id, sizeof(log->id));
	id_hex(log);
	log->created = ev_now();
	n = meta_format(meta, sizeof(meta), log->id_hex, log->created,
			&log->cfg);
	if (ev_file_create(log->dirfd, "meta", meta, (size_t)n) != 0 ||
	    ev_file_create(log->dirfd, "lock", "", 0) != 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot write '%s'",
				       log->path);
	memset(&head, 0, sizeof(head));
	if ((rc = ev_segment_create(log, base, &head.salt, err)) != 0)
		return rc;
	head.seg_base = base;
	head.next = base;
	head.end = EV_SEGHDR_SIZE;
	head.max_time = EV_TIME_NONE;
	head.last_index = EV_SEGHDR_SIZE;
	ev_head_encode(hb, &head);
	if (ev_file_create(log->dirfd, "head", hb, sizeof(hb)) != 0 ||
	    ev_fsync_dir(log->dirfd) != 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot write '%s'",
				       log->path);
	return 0;
}

int ev_log_create(const char *path, const struct ev_log_config *cfg,
		  struct ev_error *err)
{
	struct ev_log log;
	char tmpdir[4096], *slash, parent[4096];
	struct stat st;
	int i, n, rc, pfd;

	memset(&log, 0, sizeof(log));
	if ((rc = config_ok(cfg, &log.cfg, err)) != 0)
		return rc;
	if (stat(path, &st) == 0)
		return ev_seterr(err, EV_ERR, "'%s' already exists", path);
	/* build the log beside its final name and rename it into place,
	 * so a concurrent creator or reader never sees half a log */
	n = snprintf(tmpdir, sizeof(tmpdir), "%s.creating.XXXXXX", path);
	if (n <= 0 || (size_t)n >= sizeof(tmpdir))
		return ev_seterr(err, EV_EUSAGE, "log path is too long");
	if (mkdtemp(tmpdir) == NULL)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot create '%s'",
				       path);
	{
		/* mkdtemp makes it 0700: give it the mode mkdir would */
		mode_t um = umask(0);
		umask(um);
		chmod(tmpdir, 0777 & ~um);
	}
	rc = EV_EIO;
	log.path = tmpdir;
	log.dirfd = open(tmpdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (log.dirfd < 0) {
		ev_seterr_errno(err, EV_EIO, errno, "cannot open '%s'", tmpdir);
		goto fail;
	}
	if ((rc = populate(&log, 0, NULL, err)) != 0)
		goto fail;
	if (rename(tmpdir, path) != 0) {
		int e = errno;
		if (e == EEXIST || e == ENOTEMPTY)
			rc = ev_seterr(err, EV_ERR, "'%s' already exists",
				       path);
		else
			rc = ev_seterr_errno(err, EV_EIO, e,
					     "cannot create '%s'", path);
		goto fail;
	}
	/* make the new name durable */
	snprintf(parent, sizeof(parent), "%s", path);
	slash = strrchr(parent, '/');
	if (slash == NULL)
		strcpy(parent, ".");
	else if (slash == parent)
		parent[1] = '\0';
	else
		*slash = '\0';
	pfd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (pfd >= 0) {
		fsync(pfd);
		close(pfd);
	}
	close(log.dirfd);
	return 0;
fail:
	if (log.dirfd >= 0) {
		const char *names[] = {"meta",
				       "lock",
				       "head",
				       "00000000000000000000.seg",
				       "00000000000000000000.idx",
				       "00000000000000000000.tix",
				       "00000000000000000000.six"};
		for (i = 0; i < 7; i++)
			unlinkat(log.dirfd, names[i], 0);
		close(log.dirfd);
	}
	rmdir(tmpdir);
	return rc;
}

int ev_log_create_at(const char *path, const struct ev_log_config *cfg,
		     uint64_t base, const uint8_t id[16], struct ev_error *err)
{
	struct ev_log log;
	int rc;

	memset(&log, 0, sizeof(log));
	if ((rc = config_ok(cfg, &log.cfg, err)) != 0)
		return rc;
	log.path = (char *)path;
	log.dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (log.dirfd < 0)
		return ev_seterr_errno(err, EV_EIO, errno, "cannot open '%s'",
				       path);
	rc = populate(&log, base, id, err);
	close(log.dirfd);
	return rc;
}

int ev_log_retag(struct ev_log *log, struct ev_error *err)
{
	uint8_t hdr[EV_SEGHDR_SIZE], id[16];
	struct ev_seghdr h;
	char name[40], why[128], meta[512];
	uint64_t *bases = NULL;
	size_t nseg = 0, i;
	int fd = -1, n, rc;

	if ((rc = ev_log_segments(log->dirfd, &bases, &nseg, err)) != 0)
		return rc;
	ev_random(id, sizeof(id));
	for (i = 0; i < nseg; i++) {
		ev_segment_name(name, sizeof(name), bases[i], "seg");
		fd = ev_openat(log->dirfd, name, O_RDWR, 0);
		if (fd < 0 || ev_read_full(fd, hdr, sizeof(hdr), 0) != 1) {
			rc = ev_seterr_errno(err, EV_EIO, fd < 0 ? errno : EIO,
					     "cannot read '%s/%s'", log->path,
					     name);
			goto out;
		}
		if (ev_seghdr_check(hdr, sizeof(hdr), &h, why, sizeof(why)) !=
		    0) {
			rc = ev_seterr(err, EV_EDATA, "segment '%s/%s': %s",
				       log->path, name, why);
			goto out;
		}
		/* the id (evlog(5) Segments) and the header's CRC */
		memcpy(hdr + 40, id, sizeof(id));
		ev_put32(hdr + 60, ev_crc32c(0, hdr, 60));
		if (ev_write_full(fd, hdr, sizeof(hdr), 0) != 0 ||
		    fdatasync(fd) != 0) {
			rc = ev_seterr_errno(err, EV_EIO, errno,
					     "cannot write '%s/%s'", log->path,
					     name);
			goto out;
		}
		close(fd);
		fd = -1;
	}
	memcpy(log->id, id, sizeof(id));
	id_hex(log);
	n = meta_format(meta, sizeof(meta), log->id_hex, log->created,
			&log->cfg);
	if (ev_file_replace(log->dirfd, "meta", meta, (size_t)n) != 0)
		rc = ev_seterr_errno(err, EV_EIO, errno,
				     "cannot write '%s/meta'", log->path);
out:
	if (fd >= 0)
		close(fd);
	free(bases);
	return rc;
}

/* Open a log; with salvage, one whose meta is missing (beside a head)
 * or damaged too, with what meta_parse() salvages (ev_log_open_damaged). */
static int log_open(struct ev_log **out, const char *path, int salvage,
		    struct ev_error *err)
{
	struct ev_log *log;
	struct stat st;
	char buf[4096];
	int fd, r;
	ssize_t n;

	*out = NULL;
	if (stat(path, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return ev_seterr(err, EV_ENOENT,
					 "log '%s' does not exist", path);
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot open log '%s'", path);
	}
	if (!S_ISDIR(st.st_mode))
		return ev_seterr(err, EV_ENOENT, "'%s' is not an evlog log",
				 path);
	log = calloc(1, sizeof(*log));
	if (log == NULL)
		return ev_seterr(err, EV_ERR, "out of memory");
	log->dirfd = -1;
	if ((log->path = strdup(path)) == NULL) {
		free(log);
		return ev_seterr(err, EV_ERR, "out of memory");
	}
	log->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (log->dirfd < 0) {
		ev_seterr_errno(err, EV_EIO, errno, "cannot open log '%s'",
				path);
		goto fail;
	}
	fd = ev_openat(log->dirfd, "meta", O_RDONLY, 0);
	if (fd < 0) {
		/* a log that lost its meta still has its head */
		if (errno == ENOENT &&
		    faccessat(log->dirfd, "head", F_OK, 0) == 0) {
			if (salvage) {
				ev_log_config_init(&log->cfg);
				log->meta_bad = 1;
				snprintf(log->meta_why, sizeof(log->meta_why),
					 "meta file is missing");
				*out = log;
				return 0;
			}
			ev_seterr(err, EV_EDATA,
				  "'%s' is damaged: its meta file is missing",
				  path);
		} else if (errno == ENOENT)
			ev_seterr(err, EV_ENOENT,
				  "'%s' is not an evlog log (no meta file)",
				  path);
		else
			ev_seterr_errno(err, EV_EIO, errno,
					"cannot read '%s/meta'", path);
		goto fail;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		ev_seterr_errno(err, EV_EIO, errno, "cannot read '%s/meta'",
				path);
		goto fail;
	}
	buf[n] = '\0';
	/* a NUL ends the text: what follows it is damage too */
	if (salvage) {
		struct ev_error e2;
		char pre[4200];
		size_t k;
		e2.msg[0] = '\0';
		r = meta_parse(log, buf, &log->meta_have, &e2);
		if (r != 0) {
			*err = e2;
			goto fail;
		}
		if (e2.msg[0] != '\0' || strlen(buf) != (size_t)n) {
			/* the fault without the "log 'PATH': " before it */
			snprintf(pre, sizeof(pre), "log '%s': ", path);
			k = strlen(pre);
			snprintf(log->meta_why, sizeof(log->meta_why), "%s",
				 e2.msg[0] == '\0'
					 ? "meta file holds a NUL byte"
				 : strncmp(e2.msg, pre, k) == 0 ? e2.msg + k
								: e2.msg);
			log->meta_bad = 1;
		}
	} else if (ev_log_meta_parse(log, buf, err) != 0) {
		if (err != NULL && err->code == EV_EDATA &&
		    strstr(err->msg, "format version") == NULL)
			ev_setremedy(err, EV_REMEDY_VERIFY_REPAIR, path);
		goto fail;
	}
	*out = log;
	return 0;
fail:
	ev_log_close(log);
	return err ? err->code : EV_EDATA;
}

int ev_log_open(struct ev_log **out, const char *path, struct ev_error *err)
{
	return log_open(out, path, 0, err);
}

int ev_log_open_damaged(struct ev_log **out, const char *path,
			struct ev_error *err)
{
	return log_open(out, path, 1, err);
}

void ev_log_close(struct ev_log *log)
{
	if (log == NULL)
		return;
	ev_log_spare_free(log);
	if (log->dirfd >= 0)
		close(log->dirfd);
	free(log->path);
	free(log);
}

const char *ev_log_path(const struct ev_log *log)
{
	return log->path;
}

const char *ev_log_id(const struct ev_log *log)
{
	return log->id_hex;
}

const struct ev_log_config *ev_log_get_config(const struct ev_log *log)
{
	return &log->cfg;
}

ev_time_t ev_log_created(const struct ev_log *log)
{
	return log->created;
}

int ev_log_open_or_create(struct ev_log **out, const char *path,
			  const struct ev_log_config *cfg, struct ev_error *err)
{
	int r = ev_log_open(out, path, err);

	/* only where nothing is: "not a log" is EV_ENOENT too */
	if (r != EV_ENOENT || cfg == NULL || access(path, F_OK) == 0)
		return r;
	r = ev_log_create(path, cfg, err);
	if (r != 0 && access(path, F_OK) == 0)
		r = 0; /* made by another writer meanwhile */
	return r == 0 ? ev_log_open(out, path, err) : r;
}
