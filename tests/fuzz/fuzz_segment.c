/*
 * fuzz_segment.c - libFuzzer target for the segment reader: the input is
 * written as a segment file and read with ev_reader_open_segment to the
 * end, then again after seeks by offset and by time.
 *
 * Input layout: one mode byte, then the file.  With bit 0 of the mode
 * set, the harness first makes the header and batch checksums right (and
 * with bit 1, the batch salts match the segment's), so the fuzzer reaches
 * what lies behind the CRCs: lengths, counts, codecs, zstd frames and
 * record framing.  This is the crafted file of evlog(5) that passes its
 * CRCs; the reader must stay safe on it.  With bit 2 set, the file is
 * read as a file of lost+found is (ev_reader_open_salvage), which reads
 * past checksums that fail.
 *
 * Invariant: offsets are delivered contiguously from the first; when
 * salvaging, in ascending order.
 */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char seg_path[256];

static void seg_cleanup(void)
{
	if (seg_path[0] != '\0')
		unlink(seg_path);
}

static int seg_file(void)
{
	const char *dir = getenv("TMPDIR");
	int fd;

	if (seg_path[0] == '\0') {
		snprintf(seg_path, sizeof(seg_path), "%s/evlog-fuzz-seg.XXXXXX",
			 dir && *dir ? dir : "/tmp");
		fd = mkstemp(seg_path);
		if (fd < 0) {
			seg_path[0] = '\0';
			return -1;
		}
		close(fd);
		atexit(seg_cleanup);
	}
	return open(seg_path, O_WRONLY | O_TRUNC);
}

/* make the checksums right, as a crafted file would have them */
static void seg_fix(uint8_t *b, size_t n, int salts)
{
	size_t pos = EV_SEGHDR_SIZE;
	uint32_t len;

	if (n < EV_SEGHDR_SIZE)
		return;
	ev_put32(b + 60, ev_crc32c(0, b, 60));
	while (pos + EV_BATCHHDR_SIZE <= n) {
		uint8_t *h = b + pos;
		if (salts)
			memcpy(h + 48, b + 32, 8);
		len = ev_get32(h);
		if (len <= n - pos - EV_BATCHHDR_SIZE)
			ev_put32(h + 56,
				 ev_crc32c(0, h + EV_BATCHHDR_SIZE, len));
		ev_put32(h + 60, ev_crc32c(0, h, 60));
		if (len > n - pos - EV_BATCHHDR_SIZE)
			break;
		pos += EV_BATCHHDR_SIZE + len;
	}
}

/* read to the end; returns the number of records */
static long seg_drain(struct ev_reader *r, uint64_t first, int salvage)
{
	struct ev_rec rec;
	struct ev_error err;
	struct ev_event ev;
	struct ev_buf out = {0};
	uint64_t want = first;
	long n = 0;
	int rr;

	while ((rr = ev_reader_next(r, &rec, &err)) == 1) {
		if (salvage ? rec.offset < want : rec.offset != want) {
			FUZZ_FAIL("offset %llu after %llu",
				  (unsigned long long)rec.offset,
				  (unsigned long long)want);
			break;
		}
		want = rec.offset + 1;
		if (ev_event_decode(rec.p, rec.n, &ev, &err) == 0)
			(void)ev_event_check_deep(&ev, &err);
		out.len = 0;
		(void)ev_record_to_json(rec.p, rec.n, rec.offset, &out, &err);
		if (++n > 10000000)
			break;
	}
	if (rr < 0 && err.msg[0] == '\0')
		FUZZ_FAIL("reader error without a message");
	ev_buf_free(&out);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ev_reader *r;
	struct ev_error err;
	uint8_t *b;
	size_t n;
	int fd, mode;

	if (size < 1 || size > (8u << 20))
		return 0;
	mode = data[0];
	n = size - 1;
	b = malloc(n ? n : 1);
	if (b == NULL)
		return 0;
	memcpy(b, data + 1, n);
	if (mode & 1)
		seg_fix(b, n, mode & 2);
	fd = seg_file();
	if (fd < 0) {
		free(b);
		return 0;
	}
	if (ev_write_full(fd, b, n, 0) != 0) {
		close(fd);
		free(b);
		return 0;
	}
	close(fd);
	free(b);
	if ((mode & 4 ? ev_reader_open_salvage(&r, seg_path, &err)
		      : ev_reader_open_segment(&r, seg_path, &err)) != 0) {
		if (err.msg[0] == '\0')
			FUZZ_FAIL("open failed without a message");
		return 0;
	}
	(void)ev_reader_log_id(r);
	(void)seg_drain(r, ev_reader_first_offset(r), mode & 4);
	if (ev_reader_seek(r, ev_reader_first_offset(r) + 2, &err) == 0)
		(void)seg_drain(r, ev_reader_first_offset(r) + 2, mode & 4);
	if (ev_reader_seek_time(r, 1700000000000000000LL, &err) == 0)
		(void)seg_drain(r, ev_reader_first_offset(r), mode & 4);
	(void)ev_reader_refresh(r, &err);
	ev_reader_free(r);
	return 0;
}
