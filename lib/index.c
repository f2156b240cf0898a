/*
 * index.c - the sparse offset and time indexes of a segment
 * (evlog(5) INDEXES).  Indexes are caches: every entry a reader uses is
 * checked against the segment, and a missing or bad index means a scan.
 * A segment's index files are created, with their header, by segment.c;
 * writers append their entries, and ev_index_rebuild() replaces both.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evlog_private.h"

void ev_tix_entry(uint8_t out[EV_TIX_ENTRY], ev_time_t t, uint32_t rel,
		  uint64_t salt)
{
	uint8_t tmp[20];

	ev_put64(out, (uint64_t)t);
	ev_put32(out + 8, rel);
	memcpy(tmp, out, 12);
	ev_put64(tmp + 12, salt);
	ev_put32(out + 12, ev_crc32c(0, tmp, 20));
}

int ev_tix_entry_ok(const uint8_t *e, uint64_t salt)
{
	uint8_t tmp[20];

	memcpy(tmp, e, 12);
	ev_put64(tmp + 12, salt);
	return ev_get32(e + 12) == ev_crc32c(0, tmp, 20);
}

/* Open an index file and check its header; returns fd and entry count. */
static int index_open(int dirfd, uint64_t base, uint64_t salt, int time,
		      uint64_t *count)
{
	char name[40];
	uint8_t h[EV_IDXHDR_SIZE], want[EV_IDXHDR_SIZE];
	struct stat st;
	int fd;

	ev_segment_name(name, sizeof(name), base, time ? "tix" : "idx");
	fd = ev_openat(dirfd, name, O_RDONLY, 0);
	if (fd < 0)
		return -1;
	ev_index_header(want, time, salt);
	if (fstat(fd, &st) != 0 || ev_read_full(fd, h, sizeof(h), 0) != 1 ||
	    memcmp(h, want, sizeof(h)) != 0) {
		close(fd);
		return -1;
	}
	*count = ((uint64_t)st.st_size - EV_IDXHDR_SIZE) /
		 (time ? EV_TIX_ENTRY : EV_IDX_ENTRY);
	return fd;
}

int ev_index_find(int dirfd, uint64_t base, uint64_t salt, uint64_t target,
		  uint64_t limit, uint64_t *pos, uint64_t *off)
{
	uint64_t count, lo, hi, mid, rel;
	uint8_t e[EV_IDX_ENTRY];
	int fd, found = 0;

	if (target < base)
		return 0;
	fd = index_open(dirfd, base, salt, 0, &count);
	if (fd < 0)
		return 0;
	rel = target - base;
	/* last entry with relative offset <= rel */
	lo = 0;
	hi = count;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ev_read_full(fd, e, sizeof(e),
				 EV_IDXHDR_SIZE + mid * EV_IDX_ENTRY) != 1)
			goto out;
		if (ev_get32(e) <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* step back past entries beyond the durable end */
	while (lo > 0) {
		lo--;
		if (ev_read_full(fd, e, sizeof(e),
				 EV_IDXHDR_SIZE + lo * EV_IDX_ENTRY) != 1)
			goto out;
		if (ev_get32(e + 4) < limit && ev_get32(e) <= rel) {
			*pos = ev_get32(e + 4);
			*off = base + ev_get32(e);
			found = 1;
			break;
		}
	}
out:
	close(fd);
	return found;
}

/*
 * The whole offset index of a segment, for a reader that seeks often
 * (ev_reader_get): one read, then every lookup is in memory.
 */
uint64_t ev_index_load(int dirfd, uint64_t base, uint64_t salt,
		       uint64_t seg_size, struct ev_buf *out)
{
	uint64_t count;
	int fd = index_open(dirfd, base, salt, 0, &count);

	out->len = 0;
	if (fd < 0)
		return 0;
	/* an index larger than its segment can need is damaged: its size
	 * must not decide how much memory a reader takes */
	if (count > ev_index_max_entries(seg_size) ||
	    ev_buf_reserve(out, count * EV_IDX_ENTRY) != 0 ||
	    ev_read_full(fd, out->p, count * EV_IDX_ENTRY, EV_IDXHDR_SIZE) != 1)
		count = 0;
	close(fd);
	out->len = count * EV_IDX_ENTRY;
	return count;
}

/* ev_index_find over entries loaded by ev_index_load */
int ev_index_find_mem(const uint8_t *ents, uint64_t count, uint64_t base,
		      uint64_t target, uint64_t limit, uint64_t *pos,
		      uint64_t *off)
{
	uint64_t lo = 0, hi = count, mid, rel;
	const uint8_t *e;

	if (target < base)
		return 0;
	rel = target - base;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ev_get32(ents + mid * EV_IDX_ENTRY) <= rel)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo > 0) {
		e = ents + --lo * EV_IDX_ENTRY;
		if (ev_get32(e + 4) < limit && ev_get32(e) <= rel) {
			*pos = ev_get32(e + 4);
			*off = base + ev_get32(e);
			return 1;
		}
	}
	return 0;
}

int ev_index_entry(int dirfd, uint64_t base, uint64_t salt, uint64_t k,
		   uint64_t *off, uint64_t *pos)
{
	uint64_t count;
	uint8_t e[EV_IDX_ENTRY];
	int fd, r = 0;

	fd = index_open(dirfd, base, salt, 0, &count);
	if (fd < 0)
		return 0;
	if (k < count && ev_read_full(fd, e, sizeof(e),
				      EV_IDXHDR_SIZE + k * EV_IDX_ENTRY) == 1) {
		*off = base + ev_get32(e);
		*pos = ev_get32(e + 4);
		r = 1;
	}
	close(fd);
	return r;
}

int ev_tindex_find(int dirfd, uint64_t base, uint64_t salt, ev_time_t t,
		   uint64_t *off, ev_time_t *tmax, uint64_t *entry)
{
	uint64_t count, lo, hi, mid;
	uint8_t e[EV_TIX_ENTRY];
	int fd, found = 0;

	fd = index_open(dirfd, base, salt, 1, &count);
	if (fd < 0)
		return 0;
	/* last entry with T < t */
	lo = 0;
	hi = count;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (ev_read_full(fd, e, sizeof(e),
				 EV_IDXHDR_SIZE + mid * EV_TIX_ENTRY) != 1 ||
		    !ev_tix_entry_ok(e, salt))
			goto out;
		if ((ev_time_t)ev_get64(e) < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0) {
		if (ev_read_full(fd, e, sizeof(e),
				 EV_IDXHDR_SIZE + (lo - 1) * EV_TIX_ENTRY) !=
			    1 ||
		    !ev_tix_entry_ok(e, salt))
			goto out;
		*off = base + ev_get32(e + 8);
		*tmax = (ev_time_t)ev_get64(e);
		*entry = lo - 1;
		found = 1;
	}
out:
	close(fd);
	return found;
}

/*
 * Are a segment's index files sound: the right headers, then entries that
 * ascend, time entries whose checksums hold, and positions past the
 * segment header?  Indexes are appended without a sync while their
 * segment is the head, so a power cut can leave zeros or lose entries
 * among them; a writer opening the log checks the head segment's and
 * rebuilds them when they are not (ev_index_rebuild()).
 */
int ev_index_sound(int dirfd, uint64_t base, uint64_t salt)
{
	uint8_t want[EV_IDXHDR_SIZE], hdr[EV_IDXHDR_SIZE], e[EV_TIX_ENTRY];
	char name[40];
	struct stat st;
	uint64_t k, count, rel, pos, prev_rel = 0, prev_pos = 0;
	int t, fd, ok = 1;

	for (t = 0; t < 2 && ok; t++) {
		size_t esz = t ? EV_TIX_ENTRY : EV_IDX_ENTRY;
		ev_segment_name(name, sizeof(name), base, t ? "tix" : "idx");
		fd = ev_openat(dirfd, name, O_RDONLY | O_NONBLOCK, 0);
		if (fd < 0)
			return errno == ENOENT ? 1 : 0; /* remade on open */
		ev_index_header(want, t, salt);
		ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
		     ev_read_full(fd, hdr, sizeof(hdr), 0) == 1 &&
		     memcmp(hdr, want, sizeof(hdr)) == 0;
		count = ok ? ((uint64_t)st.st_size - EV_IDXHDR_SIZE) / esz : 0;
		for (k = 0; k < count && ok; k++) {
			if (ev_read_full(fd, e, esz,
					 EV_IDXHDR_SIZE + k * esz) != 1) {
				ok = 0;
				break;
			}
			rel = ev_get32(t ? e + 8 : e);
			pos = t ? EV_SEGHDR_SIZE : ev_get32(e + 4);
			if ((t && !ev_tix_entry_ok(e, salt)) ||
			    pos < EV_SEGHDR_SIZE ||
			    (k > 0 &&
			     (rel <= prev_rel || (!t && pos <= prev_pos))))
				ok = 0;
			prev_rel = rel;
			prev_pos = pos;
		}
		close(fd);
	}
	return ok;
}

int ev_index_rebuild(struct ev_log *log, uint64_t base, uint64_t salt,
		     uint64_t limit, uint64_t *last_index, ev_time_t *max_time,
		     struct ev_error *err)
{
	struct ev_buf idx = {0}, tix = {0};
	struct ev_batchhdr h;
	char name[40];
	uint64_t pos = EV_SEGHDR_SIZE, li = EV_SEGHDR_SIZE;
	ev_time_t mt = EV_TIME_NONE;
	uint8_t e[EV_TIX_ENTRY];
	const char *why;
	int fd, rc = 0;

	ev_segment_name(name, sizeof(name), base, "seg");
	fd = ev_openat(log->dirfd, name, O_RDONLY, 0);
	if (fd < 0)
		return ev_seterr_errno(err, EV_EIO, errno,
				       "cannot open '%s/%s'", log->path, name);
	if (ev_buf_reserve(&idx, EV_IDXHDR_SIZE) != 0 ||
	    ev_buf_reserve(&tix, EV_IDXHDR_SIZE) != 0) {
		rc = ev_seterr(err, EV_ERR, "out of memory");
		goto out;
	}
	ev_index_header(idx.p, 0, salt);
	idx.len = EV_IDXHDR_SIZE;
	ev_index_header(tix.p, 1, salt);
	tix.len = EV_IDXHDR_SIZE;
	while (pos < limit) {
		if (ev_segment_read_batch(fd, pos, limit, salt, &h, NULL,
					  &why) != 0)
			break;
		if (pos - li >= EV_INDEX_INTERVAL) {
			ev_put32(e, (uint32_t)(h.base - base));
			ev_put32(e + 4, (uint32_t)pos);
			ev_buf_append(&idx, e, EV_IDX_ENTRY);
			if (mt != EV_TIME_NONE) {
				ev_tix_entry(e, mt, (uint32_t)(h.base - base),
					     salt);
				ev_buf_append(&tix, e, EV_TIX_ENTRY);
			}
			li = pos;
		}
		if (mt == EV_TIME_NONE || h.max_time > mt)
			mt = h.max_time;
		pos += EV_BATCHHDR_SIZE + h.stored_len;
	}
	ev_segment_name(name, sizeof(name), base, "idx");
	if (ev_file_replace(log->dirfd, name, idx.p, idx.len) != 0) {
		rc = ev_seterr_errno(err, EV_EIO, errno, "cannot write '%s/%s'",
				     log->path, name);
		goto out;
	}
	ev_segment_name(name, sizeof(name), base, "tix");
	if (ev_file_replace(log->dirfd, name, tix.p, tix.len) != 0) {
		rc = ev_seterr_errno(err, EV_EIO, errno, "cannot write '%s/%s'",
				     log->path, name);
		goto out;
	}
	if (last_index)
		*last_index = li;
	if (max_time)
		*max_time = mt;
out:
	close(fd);
	ev_buf_free(&idx);
	ev_buf_free(&tix);
	return rc;
}
