/*
 * evlog_private.h - internals shared by the modules of libevlog.
 * cmd/ never includes this file.
 */
#ifndef EVLOG_PRIVATE_H
#define EVLOG_PRIVATE_H

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "evlog.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define EV_LIKELY(x) __builtin_expect(!!(x), 1)
#define EV_UNLIKELY(x) __builtin_expect(!!(x), 0)

#if defined(__GNUC__)
#define EV_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define EV_PRINTF(a, b)
#endif

/* error.c */
int ev_seterr(struct ev_error *err, int code, const char *fmt, ...)
	EV_PRINTF(3, 4);
int ev_seterr_errno(struct ev_error *err, int code, int errnum, const char *fmt,
		    ...) EV_PRINTF(4, 5);
void ev_sethint(struct ev_error *err, const char *fmt, ...) EV_PRINTF(2, 3);
/* A notice, formatted, to fn (when there is one). */
void ev_say(ev_notice_fn fn, void *ctx, const char *fmt, ...) EV_PRINTF(3, 4);
/* Put context before err's message: ev_err_prefix(err, "segment %d: ", n). */
void ev_err_prefix(struct ev_error *err, const char *fmt, ...) EV_PRINTF(2, 3);
/* A record of path that does not decode: "damaged data in 'PATH': offset
 * N: " before err's message, which ev_event_decode() set. */
void ev_err_damaged(struct ev_error *err, const char *path, uint64_t offset);
/* The same for the record rec of a scan: on a Kafka log, its place
 * "PARTITION:OFFSET", not the number of records read. */
void ev_err_damaged_rec(struct ev_error *err, const char *path,
			const struct ev_rec *rec);
/* What the user can do (enum ev_remedy), about the log at subject. */
void ev_setremedy(struct ev_error *err, int remedy, const char *subject);

/* crc32c.c: CRC-32C (Castagnoli), RFC 3720. */
uint32_t ev_crc32c(uint32_t crc, const void *p, size_t n);

/* file.c: files read and written in full, created, and replaced
 * atomically.  A failure is -1 with errno set, for the caller's message. */
/* openat() for the library's files: regular files only, never through a
 * symbolic link (ELOOP) nor a FIFO or device (EV_ENOTREG); O_DIRECTORY
 * opens are plain.  ev_seterr_errno() words both, as bad data. */
#define EV_ENOTREG ENOSTR
int ev_openat(int dirfd, const char *name, int flags, int mode);
int ev_fsync_dir(int dirfd);
/* 1 read, 0 the file ends first, -1 error */
int ev_read_full(int fd, void *buf, size_t n, uint64_t off);
int ev_write_full(int fd, const void *buf, size_t n, uint64_t off);
/* Create name in dirfd holding p, synced (the directory is not); fails
 * when name exists, and leaves nothing behind when it fails. */
int ev_file_create(int dirfd, const char *name, const void *p, size_t n);
/* Replace (or create) name in dirfd with p, atomically and durably:
 * temporary, write, fsync, rename, fsync of the directory.  A failure
 * leaves the old file as it was. */
int ev_file_replace(int dirfd, const char *name, const void *p, size_t n);
/* The same for a path: its directory is opened for the call. */
int ev_file_replace_path(const char *path, const void *p, size_t n);
/* A replace in two steps, for files that must change in an order: write
 * each to its temporary, then rename them in that order, then sync the
 * directory once.  A temporary that fails is removed by the call that
 * failed; ev_tmpfile_remove() removes one that is not to be renamed (a
 * no-op when there is none). */
struct ev_tmpfile {
	int dirfd;
	char name[320]; /* the temporary's, "" when there is none */
};
int ev_tmpfile_write(struct ev_tmpfile *t, int dirfd, const char *name,
		     const void *p, size_t n);
/* The temporary open for writing, to be filled by the caller (fsync and
 * close are the caller's): its fd, or -1 (errno). */
int ev_tmpfile_open(struct ev_tmpfile *t, int dirfd, const char *name);
int ev_tmpfile_rename(struct ev_tmpfile *t, const char *name);
void ev_tmpfile_remove(struct ev_tmpfile *t);

/* little-endian field access: the format never writes native structs */
static inline void ev_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void ev_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}
static inline void ev_put64(uint8_t *p, uint64_t v)
{
	ev_put32(p, (uint32_t)v);
	ev_put32(p + 4, (uint32_t)(v >> 32));
}
static inline uint16_t ev_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t ev_get32(const uint8_t *p)
{
	return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
	       ((uint32_t)p[3] << 24);
}
static inline uint64_t ev_get64(const uint8_t *p)
{
	return (uint64_t)ev_get32(p) | ((uint64_t)ev_get32(p + 4) << 32);
}
/* msgpack is big-endian */
static inline void ev_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}
static inline void ev_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
static inline void ev_be64(uint8_t *p, uint64_t v)
{
	ev_be32(p, (uint32_t)(v >> 32));
	ev_be32(p + 4, (uint32_t)v);
}
static inline uint16_t ev_rbe16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}
static inline uint32_t ev_rbe32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t ev_rbe64(const uint8_t *p)
{
	return ((uint64_t)ev_rbe32(p) << 32) | ev_rbe32(p + 4);
}

/* timefmt.c: sec seconds (floored) and ns nanoseconds, 0 to 999999999, as a
 * time: 0, or EV_EDATA outside EV_TIME_RANGE */
int ev_time_from_sec(int64_t sec, long ns, ev_time_t *out);

/* rand.c: deterministic when EVLOG_TEST_SEED and SOURCE_DATE_EPOCH are set */
void ev_random(void *p, size_t n);
int ev_test_mode(void);

/* mpwrite.c: msgpack encoders (smallest form) into a buffer with room */
uint8_t *ev_mp_uint(uint8_t *o, uint64_t v);
uint8_t *ev_mp_int(uint8_t *o, int64_t v);
uint8_t *ev_mp_str_hdr(uint8_t *o, size_t n);
uint8_t *ev_mp_bin_hdr(uint8_t *o, size_t n);
uint8_t *ev_mp_map_hdr(uint8_t *o, size_t n);
uint8_t *ev_mp_array_hdr(uint8_t *o, size_t n);
uint8_t *ev_mp_double(uint8_t *o, double d);
uint8_t *ev_mp_time(uint8_t *o, ev_time_t t); /* at most 15 bytes */
int ev_buf_mp_str(struct ev_buf *b, const char *s, size_t n);

/* buf.c: a zeroed table whose pages are written now (see there) */
void *ev_zalloc(size_t n, size_t sz);

/* mpread.c: bounds-checked msgpack reading.  Every length is checked
 * against the bytes that remain before it is used. */
enum ev_mp_type {
	EV_MP_NIL,
	EV_MP_BOOL,
	EV_MP_UINT,
	EV_MP_INT,
	EV_MP_FLOAT,
	EV_MP_STR,
	EV_MP_BIN,
	EV_MP_ARRAY,
	EV_MP_MAP,
	EV_MP_EXT,
};
struct ev_mp_item {
	enum ev_mp_type type;
	union {
		int b;
		uint64_t u;
		int64_t i;
		double f;
	} v;
	const uint8_t *p; /* str/bin/ext payload */
	uint32_t n;	  /* str/bin/ext length, array/map count */
	int8_t ext_type;
};
/* Read one item header at *p; advances *p past the header (and past the
 * payload for str/bin/ext).  Returns 0 or -1 when truncated or invalid. */
int ev_mp_read(const uint8_t **p, const uint8_t *end, struct ev_mp_item *it);
/* Skip one complete value (bounded depth).  0 or -1. */
int ev_mp_skip(const uint8_t **p, const uint8_t *end, int depth);
/* The same without recursion, nor a bound on depth. */
int ev_mp_skip_fast(const uint8_t **p, const uint8_t *end);
/* Validate a JSON-image value: nil, bool, ints, floats, valid UTF-8 str,
 * arrays, maps with str keys; bin only when allow_bin at top. */
int ev_mp_check_json(const uint8_t **p, const uint8_t *end, int depth,
		     const char **why);
int ev_mp_time_decode(const struct ev_mp_item *it, ev_time_t *t);

/* utf8.c */
/* Length of the valid UTF-8 prefix; == n when all valid. */
size_t ev_utf8_valid(const uint8_t *p, size_t n);
/* Does s hold a control character, U+0000-001F or U+007F-009F (not in
 * identifiers: evlog(5))?  NULL holds none.  (lib/event.c) */
int ev_has_control(const char *s, size_t n);

/* jsonout.c: JSON writers */
int ev_json_put_str(struct ev_buf *b, const char *s, size_t n);
int ev_json_put_mp(struct ev_buf *b, const uint8_t **p, const uint8_t *end,
		   int depth, struct ev_error *err);
char *ev_fmt_double(char *o, double d); /* shortest round-trip, JSON */
char *ev_fmt_u64(char *o, uint64_t v);
char *ev_fmt_i64(char *o, int64_t v);
int ev_base64_encode(struct ev_buf *b, const uint8_t *p, size_t n);
int ev_base64_decode(const char *s, size_t n, struct ev_buf *out);

/* json.c: JSON text to msgpack */
struct ev_json {
	const char *p, *end, *start;
	const char *errp;
	const char *errmsg;
	char errbuf[128];
	int depth;
};
void ev_json_init(struct ev_json *js, const char *p, size_t n);
/* Skip whitespace; returns the next byte or -1 at the end. */
static inline int ev_json_ws(struct ev_json *js)
{
	const char *p = js->p, *end = js->end;

	/* most NDJSON has no whitespace between tokens */
	if (EV_LIKELY(p < end && (unsigned char)*p > ' '))
		return (unsigned char)*p;
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
		p++;
	js->p = p;
	return p < end ? (unsigned char)*p : -1;
}
/* Transcode one value into b (capacity is reserved inside). */
int ev_json_value(struct ev_json *js, struct ev_buf *b);
/* Parse a JSON string into b as raw UTF-8 (no msgpack header). */
int ev_json_string_raw(struct ev_json *js, struct ev_buf *b);
int ev_json_fail(struct ev_json *js, const char *p, const char *msg);
double ev_json_strtod(const char *s, size_t n, int *ok);

/* record keys: see evlog(5) "RECORDS" */
/* keys ascend in the order of the JSON envelope, so one pass over a record
 * writes its JSON */
enum {
	EV_K_ID = 1,
	EV_K_TYPE = 2,
	EV_K_STREAM = 3,
	EV_K_VERSION = 4,
	EV_K_TIME = 5,
	EV_K_SCHEMA = 6,
	EV_K_KEY = 7,
	EV_K_DATA = 8,
	EV_K_META = 9,
	EV_K_PREV = 10, /* offset of the stream's previous event; not in JSON */
	EV_K_MAX = 10,
};

/* uleb128 for record framing inside a batch payload */
static inline uint8_t *ev_uleb_put(uint8_t *o, uint64_t v)
{
	while (v >= 0x80) {
		*o++ = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	*o++ = (uint8_t)v;
	return o;
}
/* segment.c: byte layouts of evlog(5) SEGMENTS and BATCHES */
#define EV_SEGHDR_SIZE 64
#define EV_BATCHHDR_SIZE 64
/* incompatible feature: the segment may hold gap markers */
#define EV_INCOMPAT_GAPS 0x00000001u
/* incompatible feature: the segment's batches may use codec 2 (packed) */
#define EV_INCOMPAT_PACKED 0x00000002u
#define EV_INCOMPAT_KNOWN (EV_INCOMPAT_GAPS | EV_INCOMPAT_PACKED)
/* batch flag: a gap marker, standing for offsets a repair lost */
#define EV_BATCH_GAP 0x0001u
#define EV_CODEC_NONE 0
#define EV_CODEC_ZSTD 1
#define EV_CODEC_PACKED 2 /* zstd of the packed form (evlog(5) Batches) */
#define EV_WINDOWLOG_MAX 24
#define EV_MAX_STORED (EV_MAX_BATCH + (EV_MAX_BATCH >> 7) + 4096)
#define EV_INDEX_INTERVAL 4096
extern const uint8_t ev_seg_magic[8];

struct ev_seghdr {
	int unsupported; /* refused for a version or feature we lack */
	unsigned version;
	uint32_t compat, incompat;
	uint64_t base, salt;
	uint8_t id[16];
};
struct ev_batchhdr {
	uint32_t stored_len, count, raw_len, payload_crc;
	uint64_t base, salt;
	ev_time_t min_time, max_time, append_time;
	uint8_t codec;
	uint16_t flags; /* EV_BATCH_GAP or 0 */
};
/* "offsets FIRST to LAST", or "offset FIRST" for one, into buf (at
 * least 64 bytes); returns buf. */
char *ev_offsets_text(char *buf, size_t n, uint64_t first, uint64_t last);
/* A gap marker: no records, count offsets lost, stored_len bytes of
 * filler that nothing reads (evlog(5) Gaps). */
static inline int ev_batch_is_gap(const struct ev_batchhdr *b)
{
	return (b->flags & EV_BATCH_GAP) != 0;
}
void ev_seghdr_encode(uint8_t out[EV_SEGHDR_SIZE], uint64_t base, uint64_t salt,
		      const uint8_t id[16]);
/* Set incompatible feature bits in an encoded header (and its CRC). */
void ev_seghdr_add_incompat(uint8_t hdr[EV_SEGHDR_SIZE], uint32_t bits);
/* Check a segment header: 0, or EV_EDATA with a short reason in why and
 * h->unsupported set when a newer evlog wrote it. */
int ev_seghdr_check(const uint8_t *in, size_t n, struct ev_seghdr *h, char *why,
		    size_t whylen);
/* The same, with "segment 'NAME': reason" in err. */
int ev_seghdr_decode(const uint8_t *in, size_t n, struct ev_seghdr *h,
		     const char *name, struct ev_error *err);
void ev_batchhdr_encode(uint8_t out[EV_BATCHHDR_SIZE],
			const struct ev_batchhdr *b);
int ev_batchhdr_decode(const uint8_t *in, uint64_t salt, struct ev_batchhdr *b,
		       const char **why);
struct ev_codec;
struct ev_codec *ev_codec_new(void);
void ev_codec_free(struct ev_codec *c);
/* Compress raw into out as codec 1, or as codec 2 when pack is set and
 * packing finds something to pack; *codec says which. */
int ev_codec_compress(struct ev_codec *c, int level, int pack,
		      const uint8_t *raw, size_t n, struct ev_buf *out,
		      uint8_t *codec, struct ev_error *err);
int ev_codec_decode(struct ev_codec *c, const struct ev_batchhdr *h,
		    const uint8_t *stored, struct ev_buf *raw,
		    const char **why);
/* salvage: what a damaged zstd frame gives before it fails, up to cap;
 * a packed payload (codec 2, or EV_CODEC_ZSTD_ANY that unpacks) gives
 * all its records or none */
int ev_codec_salvage(struct ev_codec *c, uint8_t codec, const uint8_t *in,
		     size_t n, size_t cap, struct ev_buf *raw);
/* The packed form of a raw payload (evlog(5) Batches, codec 2) and back.
 * ev_pack returns 1 when it packed something, 0 when there was nothing
 * to pack, EV_ERR out of memory; ev_unpack 0, or -1 when pk is not a
 * packed form of exactly n bytes. */
int ev_pack(const uint8_t *raw, size_t n, struct ev_buf *out);
int ev_unpack(const uint8_t *pk, size_t m, uint8_t *out, size_t n);
/* The length pk unpacks to, or -1 when it is not a packed form. */
long long ev_unpacked_len(const uint8_t *pk, size_t m);
/* For ev_codec_salvage: a zstd frame of codec 1 or 2, not known which. */
#define EV_CODEC_ZSTD_ANY 0xff
int ev_payload_check(const uint8_t *p, size_t n, uint32_t count,
		     const char **why);
void ev_segment_name(char *out, size_t n, uint64_t base, const char *ext);
int ev_segment_read_batch(int fd, uint64_t pos, uint64_t limit, uint64_t salt,
			  struct ev_batchhdr *h, struct ev_buf *stored,
			  const char **why);
int ev_segment_valid_after(int fd, uint64_t from, uint64_t limit,
			   uint64_t salt);
/* The sector a power cut loses or keeps whole (ev_segment_torn()). */
#define EV_SECTOR 512
int ev_segment_torn(int fd, uint64_t pos, uint64_t limit, uint64_t salt);
/* The first valid batch starting in [from, limit): 1 with its position
 * in *at and its header in *h, or 0. */
int ev_segment_find_valid(int fd, uint64_t from, uint64_t limit, uint64_t salt,
			  uint64_t *at, struct ev_batchhdr *h);
/* The header of a segment's offset (time 0) or time (1) index file;
 * index.c owns what follows it. */
#define EV_IDXHDR_SIZE 16
void ev_index_header(uint8_t out[EV_IDXHDR_SIZE], int time, uint64_t salt);
/* Create an empty segment of log at base (its header, and its index
 * files' headers), with a new salt, and fsync it and the directory. */
int ev_segment_create(struct ev_log *log, uint64_t base, uint64_t *salt,
		      struct ev_error *err);

/* salvage.c: the events still readable in a file of lost+found
 * (evtail(1) SALVAGE), for the reader (reader.c, reader_open.c) */
struct ev_salvage;
int ev_salvage_open(struct ev_salvage **out, const char *path,
		    struct ev_error *err);
void ev_salvage_free(struct ev_salvage *s);
/* the offsets the file held, as far as its batch headers tell */
uint64_t ev_salvage_first(const struct ev_salvage *s);
uint64_t ev_salvage_end(const struct ev_salvage *s);
const char *ev_salvage_log_id(const struct ev_salvage *s);
void ev_salvage_rewind(struct ev_salvage *s);
/*
 * The next records that can be recovered, in ascending offsets: 1 with
 * bh's base and count and raw holding exactly count framed records, 0 at
 * the end, <0 error (EV_EDATA when the file is damaged and gave nothing).
 * Each damaged part is reported through notice, once.
 */
int ev_salvage_next(struct ev_salvage *s, struct ev_batchhdr *bh,
		    struct ev_buf *raw, ev_notice_fn notice, void *ctx,
		    struct ev_error *err);

/* log.c: the log directory, its meta, head and lock files */
#define EV_HEAD_SIZE 64
struct ev_head {
	uint64_t seg_base;   /* segment holding the durable end */
	uint64_t end;	     /* durable end: byte position in it */
	uint64_t next;	     /* offset after the last durable record */
	uint64_t salt;	     /* that segment's salt */
	ev_time_t max_time;  /* largest event time in that segment */
	uint64_t last_index; /* position of the last indexed batch */
	uint64_t checked;    /* recovery point: the batches before this
			      * position were checked and synced by a
			      * writer; 0 none (evlog(5) Head) */
};
struct ev_log {
	char *path;
	int dirfd;
	char id_hex[33];
	uint8_t id[16];
	ev_time_t created;
	struct ev_log_config cfg;
	/* (ev_log_open_damaged) meta is missing or damaged: why, and the
	 * EV_META_* of the keys salvaged from it */
	int meta_bad;
	unsigned meta_have;
	char meta_why[200];
	/* gaps readers passed over: reported once each (reader.c) */
	ev_notice_fn notice;
	void *notice_ctx;
	uint64_t gap_warned[16];
	unsigned ngap_warned;
	uint64_t gap_events;
	/* a batch a closed reader had decompressed, for the next reader
	 * that reads it (reader_ahead.c: ev_reader_keep_batch) */
	struct ev_spare *spare;
};
/* Free log's spare batch, if any (reader_ahead.c). */
void ev_log_spare_free(struct ev_log *log);
void ev_head_encode(uint8_t out[EV_HEAD_SIZE], const struct ev_head *h);
int ev_head_decode(const uint8_t *in, struct ev_head *h);
/* 0 ok, 1 missing, EV_EDATA unreadable after retries, EV_EIO */
int ev_head_read(int dirfd, struct ev_head *h);
/* The keys of meta (evlog(5) Meta), as bits */
#define EV_META_VERSION 0x001u
#define EV_META_ID 0x002u
#define EV_META_CREATED 0x004u
#define EV_META_SEGMENT_BYTES 0x008u
#define EV_META_LEVEL 0x010u
#define EV_META_SYNC 0x020u
#define EV_META_DEDUPE 0x040u
#define EV_META_KIND 0x080u
#define EV_META_CORRELATION 0x100u
/* Set log's id (in memory), and its hex form. */
void ev_log_set_id(struct ev_log *log, const uint8_t id[16]);
/* Write log's meta file (id, created, cfg) atomically. */
int ev_log_meta_write(struct ev_log *log, struct ev_error *err);
/* Parse a meta file's text into log (id, created, cfg), naming log->path
 * in messages: 0 or EV_EDATA. */
int ev_log_meta_parse(struct ev_log *log, const char *text,
		      struct ev_error *err);
/* Sorted segment bases of a log directory; *out is malloc'ed. */
int ev_log_segments(int dirfd, uint64_t **out, size_t *n, struct ev_error *err);
/* Make directory name of the log (state/, groups/) if it is missing, and
 * when it was made, sync the log directory so that it stays. */
int ev_log_mkdir(struct ev_log *log, const char *name, struct ev_error *err);
/* Make a log in path, an empty directory, as ev_log_create() makes one
 * but where it is: its first segment at base, and the id given (NULL:
 * a new one).  What a failure leaves is the caller's to remove. */
int ev_log_create_at(const char *path, const struct ev_log_config *cfg,
		     uint64_t base, const uint8_t id[16], struct ev_error *err);
/* Give a log nobody else uses a new id: every segment header (synced)
 * and the meta file, and log's own copy. */
int ev_log_retag(struct ev_log *log, struct ev_error *err);

/* index.c: sparse offset and time indexes (evlog(5) INDEXES) */
#define EV_IDX_ENTRY 8
#define EV_TIX_ENTRY 16
void ev_tix_entry(uint8_t out[EV_TIX_ENTRY], ev_time_t t, uint32_t rel,
		  uint64_t salt);
int ev_tix_entry_ok(const uint8_t *e, uint64_t salt);
/* Largest indexed batch with offset <= target and pos < limit:
 * 1 found (*pos, *off), 0 none usable. */
int ev_index_find(int dirfd, uint64_t base, uint64_t salt, uint64_t target,
		  uint64_t limit, uint64_t *pos, uint64_t *off);
/* Last time entry with T < t: 1 found (*off, *tmax, its number *entry),
 * 0 none usable. */
int ev_tindex_find(int dirfd, uint64_t base, uint64_t salt, ev_time_t t,
		   uint64_t *off, ev_time_t *tmax, uint64_t *entry);
/* The most entries a segment of seg_size bytes can need in either index:
 * one per EV_INDEX_INTERVAL bytes, plus one (evlog(5) Indexes).  An index
 * with more is damaged, and never loaded. */
static inline uint64_t ev_index_max_entries(uint64_t seg_size)
{
	return seg_size / EV_INDEX_INTERVAL + 1;
}
/* The whole offset index of a segment of seg_size bytes into out: the
 * entry count, 0 when there is no usable index. */
uint64_t ev_index_load(int dirfd, uint64_t base, uint64_t salt,
		       uint64_t seg_size, struct ev_buf *out);
/* ev_index_find() over entries loaded by ev_index_load() */
int ev_index_find_mem(const uint8_t *ents, uint64_t count, uint64_t base,
		      uint64_t target, uint64_t limit, uint64_t *pos,
		      uint64_t *off);
/* Offset index entry number k: 1 found, 0 not. */
int ev_index_entry(int dirfd, uint64_t base, uint64_t salt, uint64_t k,
		   uint64_t *off, uint64_t *pos);
/* Rebuild both index files of a segment from a scan up to limit. */
int ev_index_sound(int dirfd, uint64_t base, uint64_t salt);
int ev_index_rebuild(struct ev_log *log, uint64_t base, uint64_t salt,
		     uint64_t limit, uint64_t *last_index, ev_time_t *max_time,
		     struct ev_error *err);
/* ev_index_rebuild(), which with dry writes nothing, and sets *changed
 * when a file did not hold what it gets (or would get) */
int ev_index_rebuild_ex(struct ev_log *log, uint64_t base, uint64_t salt,
			uint64_t limit, uint64_t *last_index,
			ev_time_t *max_time, int dry, int *changed,
			struct ev_error *err);

/* event.c: the fields of a record before encoding */
struct ev_fields {
	const char *type, *id, *stream, *key; /* NULL when absent */
	size_t type_n, id_n, stream_n, key_n;
	ev_time_t time;	     /* EV_TIME_NONE when absent */
	uint64_t version;    /* 0 when absent */
	uint64_t schema;     /* 0 or 1 = default */
	const uint8_t *data; /* msgpack value, or raw bytes when data_bin */
	size_t data_n;
	int data_bin;
	const uint8_t *meta; /* msgpack map */
	size_t meta_n;
	uint64_t prev; /* EV_NO_PREV when none */
	int resolved;  /* as appended: no room kept for a version */
	/* EV_PLAIN_* of the identifiers the caller's scan found to be
	 * printable ASCII: ev_record_encode() need not look for control
	 * characters in them again */
	unsigned plain;
};
/* buf.c: a buffer of 4 MiB or more, just allocated, in transparent huge
 * pages over its aligned inside where the system allows (a hint) */
/* ev_buf_reserve() without rounding the room up to a power of two: for
 * a buffer whose size is known and reused (a writer's batches), so that
 * none of it is allocated in vain (buf.c). */
int ev_buf_reserve_exact(struct ev_buf *b, size_t extra);
void ev_huge_hint(void *p, size_t cap);
#define EV_PLAIN_TYPE 1u
#define EV_PLAIN_ID 2u
#define EV_PLAIN_STREAM 4u
#define EV_PLAIN_KEY 8u
/* inline: the parser clears one per event */
static inline void ev_fields_init(struct ev_fields *f)
{
	memset(f, 0, sizeof(*f));
	f->time = EV_TIME_NONE;
	f->prev = EV_NO_PREV;
}
/* Encode a record (evlog(5) RECORDS); generates the id when absent.
 * now (the time of an event without one, and of a generated id) is
 * read from the clock when EV_TIME_NONE and needed. */
int ev_record_encode(const struct ev_fields *f, ev_time_t now,
		     struct ev_buf *out, ev_time_t *time, struct ev_error *err);
/* json.c: js's error into err, with its column */
int ev_parse_fail(struct ev_json *js, struct ev_error *err);
/* suggest.c: the name of names[] closest to k, or NULL */
const char *ev_suggest(const char *k, size_t n, const char *const *names,
		       size_t count);
int ev_event_check_deep(const struct ev_event *ev, struct ev_error *err);
/* eventout.c */
int ev_json_put_data(struct ev_buf *out, const struct ev_event *ev,
		     struct ev_error *err);
int ev_value_to_text(const uint8_t *v, size_t n, struct ev_buf *out,
		     struct ev_error *err);
/* fields.c: 0 when path (n bytes) names a field an event can have (an
 * envelope field, or a path inside data or meta), else EV_EUSAGE with
 * "unknown field 'actor'; did you mean 'data.actor'?" */
int ev_path_check(const char *path, size_t n, struct ev_error *err);
/* A value as JSON: times as RFC 3339 strings, binary as base64 ones. */
int ev_value_to_json(const uint8_t *v, size_t n, struct ev_buf *out,
		     struct ev_error *err);
/* s as an RFC 4180 field: quoted, quotes doubled, when it holds a comma,
 * a quote, CR or LF.  0, or EV_ERR. */
int ev_csv_field(struct ev_buf *out, const char *s, size_t n);
/* s as a TSV field: tab, LF, CR and backslash as \t, \n, \r, \\. */
int ev_tsv_field(struct ev_buf *out, const char *s, size_t n);
/* mpread.c: value at a dotted path inside a msgpack value: 1, 0 absent */
int ev_mp_path(const uint8_t *p, size_t n, const char *path,
	       const uint8_t **val, size_t *val_len);

/* json.c: the column of p in the line, in characters from 1 */
size_t ev_json_column(const char *start, const char *p);

/* event.c: the records encoded from one input line or object, end to
 * end in out */
struct ev_reclist {
	struct ev_buf out;
	size_t *end;
	ev_time_t *time;
	int count, cap;
};
/* Count the record that ends at out.len, with its time.  EV_EDATA past
 * 4096 records (on one line). */
int ev_reclist_push(struct ev_reclist *rl, ev_time_t t, struct ev_error *err);
void ev_reclist_clear(struct ev_reclist *rl);
void ev_reclist_get(const struct ev_reclist *rl, int i, const uint8_t **rec,
		    size_t *n, ev_time_t *time);
void ev_reclist_free(struct ev_reclist *rl);

/* parser.c: the buffers of the line being parsed, shared with
 * cloudevents.c */
struct ev_parse_bufs {
	struct ev_buf strs; /* decoded strings of the current line */
	struct ev_buf data, meta, tmp;
	struct ev_reclist recs; /* its encoded records */
};

/* event.c: the fields up to time only (id, type, stream, version,
 * time); the rest keeps its defaults */
int ev_event_decode_head(const uint8_t *rec, size_t n, struct ev_event *ev,
			 struct ev_error *err);
/* The same for a record ev_record_encode() wrote from validated input:
 * its strings are not validated again (ev_writer_trust_records()) */
int ev_event_decode_head_trusted(const uint8_t *rec, size_t n,
				 struct ev_event *ev, struct ev_error *err);

/* writer.c: the records added are written as they are, numbered,
 * linked and deduplicated by the caller: no stream or dedupe state is
 * loaded, nothing is resolved (a rewrite builds its log so).  Call it
 * before the first ev_writer_add(). */
void ev_writer_verbatim(struct ev_writer *w);
/* replay.c: remove what the directory dfd holds (closing dfd), depth
 * levels of subdirectories deep (1: a log's groups/ and state/): 0, or
 * -1 with errno. */
int ev_dir_empty(int dfd, int depth);
/* resolve.c: the record rec (n bytes, decoded as ev, an event with a
 * stream) with version v and link prev (EV_NO_PREV: none), everything
 * else as it is, appended to out (not framed). */
int ev_record_relink(struct ev_buf *out, const uint8_t *rec, size_t n,
		     const struct ev_event *ev, uint64_t v, uint64_t prev,
		     struct ev_error *err);

/* upcast.c: did the last ev_upcaster_apply() fail because its record
 * does not decode (damage, not an upcast failure)? */
int ev_upcaster_damaged(const struct ev_upcaster *u);
/* upcast.c: is it counting for --check (ev_upcaster_set_counting())? */
int ev_upcaster_counting(const struct ev_upcaster *u);
/* upcast.c: ev_upcaster_wants() in two: what it finds of the record
 * (u as it is, so any thread may ask while another applies), and that
 * given to u before the record's apply (the record's bytes where they
 * were). */
struct ev_upcast_hint {
	const void *chain;
	const char *type;
};
int ev_upcaster_peek(const struct ev_upcaster *u, const uint8_t *rec, size_t n,
		     struct ev_upcast_hint *h);
void ev_upcaster_hint(struct ev_upcaster *u, const struct ev_upcast_hint *h);

/* state.c */
uint64_t ev_hash64(const void *p, size_t n);
int ev_state_catch_up(struct ev_state *st, uint64_t to, struct ev_error *err);
int ev_state_apply(struct ev_state *st, const struct ev_str *id,
		   const struct ev_str *stream, uint64_t version,
		   uint64_t offset);
size_t ev_state_id_candidates(struct ev_state *st, const char *id, size_t n,
			      uint64_t *offs, size_t max);
/* the writer's fast path: hashes computed once (ev_hash64), one probe */
void ev_state_prefetch(const struct ev_state *st, uint64_t sh, uint64_t ih);
size_t ev_state_id_candidates_h(struct ev_state *st, uint64_t h, uint64_t *offs,
				size_t max);
/* a stream as the writer sees it: ov is its overlay entry, if any */
struct ev_sref {
	void *ov;
	int exists;
	uint64_t last_version, last_offset, first_offset, count;
};
int ev_state_stream_h(struct ev_state *st, const char *name, size_t n,
		      uint64_t h, struct ev_sref *r);
int ev_state_apply_h(struct ev_state *st, const struct ev_sref *ref,
		     const char *name, size_t n, uint64_t sh, uint64_t ih,
		     uint64_t version, uint64_t offset);
uint64_t ev_state_covered(const struct ev_state *st);
/* a writer's: the snapshots read by page, each checked when first used;
 * a page that does not check out makes ev_state_damaged() true, and the
 * state must then be loaded again with lazy 0 */
int ev_state_load_lazy(struct ev_state **out, struct ev_log *log, int want_ids,
		       int lazy, struct ev_error *err);
int ev_state_damaged(const struct ev_state *st);
/* repair: remove state/streams and state/ids, before it makes a gap;
 * 1 when there were some */
int ev_state_drop_snapshots(struct ev_log *log, struct ev_error *err);
/* state/epoch: bumped by every cut or gap (repair) and trim */
uint64_t ev_state_epoch(struct ev_log *log);
int ev_state_bump_epoch(struct ev_log *log, struct ev_error *err);
/* trim: the streams as of offset at, the log's first after the cut */
int ev_state_write_base(struct ev_log *log, uint64_t at, struct ev_error *err);
uint64_t ev_state_unsaved(const struct ev_state *st);
/* a writer told how many events are coming: room for n more ids */
int ev_state_reserve_ids(struct ev_state *st, uint64_t n);
/* The state as of offset to (at most the log's end): from a snapshot
 * that does not go past it, and the events up to it. */
int ev_state_load_upto(struct ev_state **out, struct ev_log *log, int want_ids,
		       uint64_t to, struct ev_error *err);
/* The events read from the log (not from snapshots) into st. */
uint64_t ev_state_replayed(const struct ev_state *st);
/* Copy from's state/base (evlog(5) STATE), when it is one a reader of
 * from would use at its first offset first, to to, with to's id: the
 * streams whose events were trimmed, for a log made from from's events.
 * 0 (also when there is none), or <0. */
int ev_state_copy_base(struct ev_log *from, uint64_t first, struct ev_log *to,
		       struct ev_error *err);
#define EV_DEFAULT_DEDUPE_WINDOW 1000000
#define EV_SNAPSHOT_EVERY 4096
/* most bytes a writer adds to a record: version and link, with keys */
#define EV_RESOLVE_SLACK 20

/* cloudevents.c: one line of CloudEvents 1.0 structured JSON (an event or
 * a batch array) into records pushed onto b->recs */
int ev_ce_parse_line(struct ev_parse_bufs *b, struct ev_json *js, ev_time_t now,
		     struct ev_error *err);

/* unpacker.c: a MessagePack stream of event maps into records, through
 * msgpack-c's streaming unpacker.  Feed it with ev_unpacker_buffer()
 * (room for at least want bytes; NULL out of memory) and
 * ev_unpacker_consumed(). */
struct ev_unpacker;
struct ev_unpacker *ev_unpacker_new(void);
void ev_unpacker_free(struct ev_unpacker *u);
char *ev_unpacker_buffer(struct ev_unpacker *u, size_t want, size_t *room);
void ev_unpacker_consumed(struct ev_unpacker *u, size_t n);
/* The next object: 1 its record is ready (ev_unpacker_record()), 0 more
 * input is needed, EV_EDATA (ev_unpacker_broken() when it was malformed
 * and nothing more can be read), EV_ERR. */
int ev_unpacker_next(struct ev_unpacker *u, ev_time_t now,
		     struct ev_error *err);
/* At the end of the input: 0, or EV_EDATA for a truncated object. */
int ev_unpacker_finish(struct ev_unpacker *u, struct ev_error *err);
void ev_unpacker_record(const struct ev_unpacker *u, const uint8_t **rec,
			size_t *n, ev_time_t *time);
/* Input offset of the object last returned or refused. */
uint64_t ev_unpacker_offset(const struct ev_unpacker *u);
int ev_unpacker_broken(const struct ev_unpacker *u);

/* UTF-8 and JSON string scanning, shared by json.c and jsonout.c */
/* Length of the UTF-8 sequence at p (lead byte >= 0x80), 0 if invalid. */
static inline int ev_utf8_seq(const uint8_t *p, const uint8_t *end)
{
	uint8_t c = p[0];
	size_t avail = (size_t)(end - p);

	if (c >= 0xC2 && c <= 0xDF) {
		if (avail < 2 || (p[1] & 0xC0) != 0x80)
			return 0;
		return 2;
	}
	if (c >= 0xE0 && c <= 0xEF) {
		if (avail < 3 || (p[1] & 0xC0) != 0x80 || (p[2] & 0xC0) != 0x80)
			return 0;
		if (c == 0xE0 && p[1] < 0xA0)
			return 0; /* overlong */
		if (c == 0xED && p[1] > 0x9F)
			return 0; /* surrogate */
		return 3;
	}
	if (c >= 0xF0 && c <= 0xF4) {
		if (avail < 4 || (p[1] & 0xC0) != 0x80 ||
		    (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
			return 0;
		if (c == 0xF0 && p[1] < 0x90)
			return 0;
		if (c == 0xF4 && p[1] > 0x8F)
			return 0;
		return 4;
	}
	return 0;
}

/* Find the next '"', '\\', control or non-ASCII byte in [p, end). */
static inline const char *ev_scan_special(const char *p, const char *end)
{
#if defined(__SSE2__)
	const __m128i q = _mm_set1_epi8('"');
	const __m128i bs = _mm_set1_epi8('\\');
	const __m128i sp = _mm_set1_epi8(0x20);

	while (end - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		/* signed compare: < 0x20 also catches bytes >= 0x80 */
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, q),
						      _mm_cmpeq_epi8(x, bs)),
					 _mm_cmplt_epi8(x, sp));
		int mask = _mm_movemask_epi8(m);
		if (mask)
			return p + __builtin_ctz((unsigned)mask);
		p += 16;
	}
#endif
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
			return p;
		p++;
	}
	return end;
}

/* As ev_scan_special(), and DEL (0x7f) too: a string found whole by it
 * is printable ASCII, without a control character. */
static inline const char *ev_scan_plain(const char *p, const char *end)
{
#if defined(__SSE2__)
	const __m128i q = _mm_set1_epi8('"');
	const __m128i bs = _mm_set1_epi8('\\');
	const __m128i sp = _mm_set1_epi8(0x20);
	const __m128i del = _mm_set1_epi8(0x7f);

	while (end - p >= 16) {
		__m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
		__m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, q),
						      _mm_cmpeq_epi8(x, bs)),
					 _mm_or_si128(_mm_cmplt_epi8(x, sp),
						      _mm_cmpeq_epi8(x, del)));
		int mask = _mm_movemask_epi8(m);
		if (mask)
			return p + __builtin_ctz((unsigned)mask);
		p += 16;
	}
#endif
	while (p < end) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\\' || c < 0x20 || c >= 0x7f)
			return p;
		p++;
	}
	return end;
}

/* ---- bskip: per-batch summaries of types and categories (evlog(5)
 * Summaries), kept in NNNN.six beside a segment's other indexes */
/* compatible feature: writers keep the segment's summary index */
#define EV_COMPAT_SUMMARIES 0x00000001u
#define EV_SIX_ENTRY 64
#define EV_SUM_BODY 44	      /* bytes 16 to 59 of an entry */
#define EV_SUM_MIN_BATCH 4096 /* header and payload, or no entry */
#define EV_SUM_EXACT_MAX 10
#define EV_SUM_BLOOM_BITS 320
#define EV_SUM_BLOOM_K 4
#define EV_SUM_CAT_XOR 0xa0761d6478bd642full
void ev_six_header(uint8_t out[EV_IDXHDR_SIZE], uint64_t salt);
/* The summary of a batch's records (framed payload raw, len bytes):
 * 0 with the body in out, -1 when a record cannot be read (no entry). */
int ev_summary_body(uint8_t out[EV_SUM_BODY], const uint8_t *raw, size_t len);
/* The whole entry: the body, placed, with its checksum. */
void ev_six_entry(uint8_t out[EV_SIX_ENTRY], uint32_t rel, uint32_t pos,
		  const struct ev_batchhdr *h, const uint8_t body[EV_SUM_BODY],
		  uint64_t salt);
int ev_six_entry_ok(const uint8_t *e, uint64_t salt);
/* Does the entry e describe the batch with header h at pos of the
 * segment at base (and check out)? */
int ev_six_entry_matches(const uint8_t *e, uint64_t base, uint64_t pos,
			 const struct ev_batchhdr *h, uint64_t salt);
/* Open a segment's summary index for appending, its header made right
 * (a stale or missing one is started over); -1 when it cannot be. */
int ev_six_open_append(int dirfd, uint64_t base, uint64_t salt);
/* The entries of a segment's summary index into out (ascending by
 * position, else none): their count. */
uint64_t ev_six_load(int dirfd, uint64_t base, uint64_t salt, uint64_t seg_size,
		     struct ev_buf *out);
/* The keys of a summary: a type's, and a stream's category's. */
uint64_t ev_sum_type_key(const char *type, size_t n);
uint64_t ev_sum_stream_key(const char *stream, size_t n);
/* Can the batch summarised by body hold one of the keys? */
int ev_sum_may_hold(const uint8_t *body, const uint64_t *keys, size_t n);
/* What a read may skip by: the keys one of which a batch must hold for
 * each kind restricted (types, categories); from filter.c. */
struct ev_skip {
	uint64_t *tkeys, *ckeys;
	size_t nt, nc;
	int types, cats; /* restricted by this kind */
};
struct ev_upcaster;
/* Is skipping by summaries turned off (EVLOG_NO_SKIP set, not 0)?  No
 * read then uses them, the type probe of explain.c either. */
int ev_skip_off(void);
/* The skip of a filter read through upcaster up (may be NULL): NULL
 * when nothing can be skipped (or EVLOG_NO_SKIP is set). */
struct ev_skip *ev_filter_skip(const struct ev_filter *f,
			       const struct ev_upcaster *up);
void ev_skip_free(struct ev_skip *s);
/* Can a batch with this summary body hold an event the skip wants? */
int ev_skip_may_match(const struct ev_skip *s, const uint8_t *body);
/* reader.c: skip batches by their summaries (the reader keeps s) */
void ev_reader_set_skip(struct ev_reader *r, struct ev_skip *s);
uint64_t ev_reader_skipped(const struct ev_reader *r);
/* When r is freed, its log keeps the batch r decompressed last, for the
 * next reader of the log that reads that batch (a probe before the read
 * proper: the read does not decompress it again). */
void ev_reader_keep_batch(struct ev_reader *r);
/* Reading backwards, a batch at a time: the records of the batch that
 * holds offset hi - 1, up to it, oldest first, to fn; *lo its first
 * offset.  1, 0 when it cannot be told (read forwards then), <0 error.
 * ev_reader_back_done() ends it: forwards again, the batch in hand kept
 * for the read that follows. */
int ev_reader_batch_back(struct ev_reader *r, uint64_t hi, uint64_t *lo,
			 int (*fn)(void *ctx, const struct ev_rec *rec),
			 void *ctx, struct ev_error *err);
void ev_reader_back_done(struct ev_reader *r);

/* ---- scale: the type filter's first read of a log */
/* typecount.c: ev_log_type_counts() when its cache covers the whole log
 * (0), without reading an event; 1 (no counts) when it does not. */
int ev_log_type_counts_cached(struct ev_log *log, struct ev_type_count **out,
			      size_t *n, struct ev_error *err);

#endif
