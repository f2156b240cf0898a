/*
 * evlog.h - public API of libevlog.
 *
 * libevlog reads and writes evlog logs: directories of checksummed,
 * zstd-compressed batches of MessagePack event records.  The on-disk format
 * is specified in evlog(5); this header does not repeat it.
 *
 * Conventions: every function that can fail returns an int status (EV_OK or
 * a negative enum ev_status) and fills a caller-provided struct ev_error.
 * The library never prints and never exits.  Every free and close
 * accepts NULL.
 */
#ifndef EVLOG_H
#define EVLOG_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EVLOG_VERSION "0.1.0"
#define EV_FORMAT_VERSION 1

/* Limits, documented in evlog(5). */
#define EV_MAX_RECORD (1u << 20) /* encoded record bytes */
#define EV_MAX_BATCH (16u << 20) /* uncompressed batch payload */
#define EV_MAX_DEPTH 64		 /* JSON/msgpack nesting */
/* A dead letter holds the event it parks two levels down (data.original),
 * so records may nest this much deeper than events are taken in. */
#define EV_LETTER_DEPTH 2
#define EV_READ_DEPTH (EV_MAX_DEPTH + EV_LETTER_DEPTH)
#define EV_MAX_LINE (4u << 20) /* one input line */
#define EV_DEFAULT_BATCH_BYTES (256u << 10)
#define EV_MAX_BATCH_BYTES (15u << 20) /* largest writer batch target */
#define EV_DEFAULT_BATCH_EVENTS 100000
#define EV_DEFAULT_SEGMENT_BYTES (128u << 20)
#define EV_MAX_SEGMENT_BYTES 0xffffffffu
#define EV_MIN_SEGMENT_BYTES (64u << 10)
#define EV_DEFAULT_LEVEL 1

enum ev_status {
	EV_OK = 0,
	EV_ERR = -1,	/* runtime failure */
	EV_EUSAGE = -2, /* bad argument from the caller */
	EV_EDATA = -3,	/* bad input or damaged data */
	EV_ENOENT = -4, /* missing log or file */
	EV_EIO = -5,	/* I/O error */
	EV_EAGAIN = -6, /* temporary failure or conflict */
	EV_EEXIST = -7, /* what is to be made exists already */
};

/*
 * What a user can do about an error, when the library knows.  The
 * library names no tool and no option: the tool words the remedy in its
 * own commands and options, as a hint line, about the log in
 * ev_error.subject.
 */
enum ev_remedy {
	EV_REMEDY_NONE = 0,
	EV_REMEDY_VERIFY,		  /* see the damage in detail */
	EV_REMEDY_REPAIR,		  /* repair the log */
	EV_REMEDY_VERIFY_REPAIR,	  /* see the damage, then repair */
	EV_REMEDY_VERIFY_REPAIR_TRUNCATE, /* see the damage, then repair,
					   * moving the damaged part out of
					   * the log */
	EV_REMEDY_REPAIR_INDEXES,	  /* repair rebuilds its indexes */
	EV_REMEDY_REPAIR_STATE,		  /* repair rebuilds its stream state */
	EV_REMEDY_TRUNCATE_SEGMENT,	  /* repair again, moving the damaged
					   * segment out of the log */
	EV_REMEDY_TRUNCATE_DAMAGED,	  /* repair again, moving the damaged
					   * part out of the log */
	EV_REMEDY_TRUNCATE_HERE,	  /* the data after the damage is
					   * intact: repair again, cutting the
					   * log at the damage */
	EV_REMEDY_FORCE,		  /* trim: groups have not consumed what
					   * would go; wait, reset them, or
					   * force it */
	EV_REMEDY_WRAP,			  /* an input line is data, not an
					   * event: take it as the data of a
					   * new one */
	EV_REMEDY_GAP_HERE,		  /* repair again, replacing the damaged
					   * batch with a gap */
};

/*
 * Error report.  msg is a complete lowercase sentence fragment without the
 * program name; hint, when not empty, is a second line for the user.
 * column is 1-based for input errors, 0 otherwise.  remedy (enum
 * ev_remedy), when not EV_REMEDY_NONE, is what the user can do, for the
 * tool to word after the hint; subject is the path of the log it is
 * about.
 */
struct ev_error {
	int code;
	size_t column;
	char msg[1024];
	char hint[256];
	int remedy;
	char subject[1024];
};

/*
 * Exit statuses shared by every tool, as sysexits(3) names them; each
 * man page's EXIT STATUS documents them.  Tool-specific codes (evctl
 * lag's Nagios codes) are named in the tool.
 */
enum ev_exit {
	EV_EXIT_OK = 0,
	EV_EXIT_FAILURE = 1,	/* runtime failure */
	EV_EXIT_USAGE = 64,	/* bad usage */
	EV_EXIT_DATA = 65,	/* bad input data, damaged log */
	EV_EXIT_NOINPUT = 66,	/* missing input */
	EV_EXIT_CANTCREAT = 73, /* cannot create: it exists */
	EV_EXIT_IO = 74,	/* I/O error */
	EV_EXIT_TEMPFAIL = 75,	/* temporary failure or conflict */
};

/* The exit status for a status: one of enum ev_exit. */
int ev_exit_code(int status);
void ev_error_clear(struct ev_error *err);

/* Versions of evlog and of the libraries it links, one line. */
const char *ev_version_string(void);

/* ---------------------------------------------------------------- buffers */

/* Growable byte buffer.  Zero-initialise; release with ev_buf_free(). */
struct ev_buf {
	uint8_t *p;
	size_t len;
	size_t cap;
};
int ev_buf_reserve(struct ev_buf *b, size_t extra);
int ev_buf_append(struct ev_buf *b, const void *p, size_t n);
int ev_buf_putc(struct ev_buf *b, int c);
int ev_buf_puts(struct ev_buf *b, const char *s);
/* Append a printf-formatted string (no NUL): 0, or EV_ERR. */
int ev_buf_printf(struct ev_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;
/* one when n is 1, else many: "1 event", "2 events" */
const char *ev_plural(uint64_t n, const char *one, const char *many);
/* v with thousands separators, 1,234,567, in buf; returns buf. */
const char *ev_commas(uint64_t v, char buf[32]);
void ev_buf_free(struct ev_buf *b);
/* Tune the C library's allocator for a process that allocates and frees
 * large buffers at a high rate on several threads (a bulk load): one
 * heap for every thread, backed by huge pages where the system allows,
 * fewer and larger heap extensions, and freed memory kept.  Call it
 * first thing, before any thread starts; a no-op where the C library
 * has no mallopt(). */
void ev_malloc_bulk(void);

/* ---------------------------------------------------------------- time */

/* Nanoseconds since the Unix epoch, UTC. */
typedef int64_t ev_time_t;
#define EV_TIME_NONE INT64_MIN
/* The times an ev_time_t holds: all of int64 but EV_TIME_NONE. */
#define EV_TIME_MIN (INT64_MIN + 1)
#define EV_TIME_MAX INT64_MAX
#define EV_TIME_RANGE \
	"1677-09-21T00:12:43.145224193Z to 2262-04-11T23:47:16.854775807Z"

/* Current time; SOURCE_DATE_EPOCH when EVLOG_TEST_SEED is also set. */
ev_time_t ev_now(void);
/* Parse RFC 3339 (up to nanoseconds). Returns 0 or EV_EDATA, for a time
 * that is malformed or outside EV_TIME_RANGE. */
int ev_time_parse(const char *s, size_t n, ev_time_t *out);
/*
 * Parse a user time: RFC 3339, a date (YYYY-MM-DD, UTC midnight), "now",
 * or a relative time such as -1h, -30m, -2d relative to now.  Returns 0,
 * EV_EUSAGE when s is not a time, or EV_EDATA when it is one outside
 * EV_TIME_RANGE (so a caller can name the range).
 */
int ev_time_parse_user(const char *s, ev_time_t now, ev_time_t *out);
/* Format as RFC 3339 UTC with 3, 6 or 9 fraction digits (at least
 * milliseconds, as JavaScript's toISOString()); returns the length. */
size_t ev_time_format(ev_time_t t, char out[40]);
/*
 * How evpub --wrap reads a time (timein.c): RFC 3339, a number of
 * seconds, milliseconds, microseconds or nanoseconds since the epoch, or
 * a strftime-style pattern read strictly (%Y %m %b %d %H %M %S %f %z %F
 * %T %%), with the offset of zone when the pattern has no %z.
 */
enum ev_timein_kind {
	EV_TIMEIN_RFC3339 = 0,
	EV_TIMEIN_EPOCH_S,
	EV_TIMEIN_EPOCH_MS,
	EV_TIMEIN_EPOCH_US,
	EV_TIMEIN_EPOCH_NS,
	EV_TIMEIN_PATTERN,
};
struct ev_timein {
	enum ev_timein_kind kind;
	const char *pattern; /* the caller's, kept while this is used */
	int has_offset;	     /* the pattern has %z */
	int64_t zone;	     /* seconds east of UTC, for a pattern */
};
/* format: rfc3339 (also NULL), epoch, epoch-ms, epoch-us, epoch-ns or a
 * pattern; zone: NULL (UTC), UTC or ±HH:MM, for a pattern without %z.
 * EV_EUSAGE with a message that begins "time_format" or "time_zone". */
int ev_timein_init(struct ev_timein *ti, const char *format, const char *zone,
		   struct ev_error *err);
/* A time as the format says, within the range of ev_time_t: 0 or
 * EV_EDATA. */
int ev_timein_parse(const struct ev_timein *ti, const char *s, size_t n,
		    ev_time_t *out);
/* A JSON number that is not an integer, for the epoch formats, to the
 * nearest microsecond: 0 or EV_EDATA. */
int ev_timein_double(const struct ev_timein *ti, double v, ev_time_t *out);
/* The format's name, or its pattern, for messages. */
const char *ev_timein_name(const struct ev_timein *ti);
/* How long ago then was, at now, in one unit: 42s, 17m, 5h, 3d. */
void ev_age_format(ev_time_t then, ev_time_t now, char *out, size_t n);
/* Parse a duration: 250ms, 5s, 2m, 1h (a bare number is milliseconds). */
int ev_duration_parse(const char *s, int64_t *ms);

/* ---------------------------------------------------------------- events */

struct ev_str {
	const char *p;
	size_t n;
};

/* A decoded record: pointers into the record bytes, valid while they are. */
struct ev_event {
	uint64_t offset;
	struct ev_str type, id, stream, key;
	ev_time_t time;
	uint64_t version; /* 0 = none */
	uint64_t schema;
	const uint8_t *data; /* msgpack value, NULL when absent */
	size_t data_len;
	int data_is_binary;  /* data is a msgpack bin (data_base64) */
	const uint8_t *meta; /* msgpack map, NULL when absent */
	size_t meta_len;
	uint64_t prev;	      /* offset of the stream's previous event, or */
#define EV_NO_PREV UINT64_MAX /* this: none, or not recorded */
	ev_time_t append_time;
	/* a Kafka log's record: its partition, offset the offset there
	 * (ev_event_place()); 0 for a local log's event */
	int has_partition;
	int32_t partition;
};

/* Fully decode and validate one record.  EV_EDATA on any malformation. */
int ev_event_decode(const uint8_t *rec, size_t n, struct ev_event *ev,
		    struct ev_error *err);
/* Read only the type of a record (no validation of the rest). */
int ev_event_peek_type(const uint8_t *rec, size_t n, struct ev_str *type);

enum ev_format {
	EV_FMT_ENVELOPE = 0,
	EV_FMT_CLOUDEVENTS,
	EV_FMT_WRAP,
	EV_FMT_MSGPACK, /* a stream of maps (struct ev_input only) */
};

/* Output flags for ev_event_to_json(). */
#define EV_JSON_NO_OFFSET 1

/* Append the envelope JSON of ev (no newline) to out. */
int ev_event_to_json(const struct ev_event *ev, struct ev_buf *out, int flags,
		     struct ev_error *err);
/* Append the envelope JSON of an encoded record in one pass (the fast
 * path of evtail); validates as it goes. */
int ev_record_to_json(const uint8_t *rec, size_t n, uint64_t offset,
		      struct ev_buf *out, struct ev_error *err);
/* Append the CloudEvents 1.0 structured JSON of ev (no newline). */
int ev_event_to_cloudevent(const struct ev_event *ev, struct ev_buf *out,
			   struct ev_error *err);
/* Append a msgpack map with the envelope names as string keys. */
int ev_event_to_msgpack(const struct ev_event *ev, struct ev_buf *out,
			struct ev_error *err);
/* Append a human line: offset, time, type, stream@version, compact data.
 * color adds ANSI colours. */
int ev_event_to_pretty(const struct ev_event *ev, struct ev_buf *out, int color,
		       struct ev_error *err);
/* Append s as a JSON string literal (quoted, escaped).  EV_EDATA when s
 * is not valid UTF-8. */
int ev_json_string(struct ev_buf *out, const char *s, size_t n);
/* Append one JSON value from msgpack bytes p (a data or meta value). */
int ev_msgpack_to_json(const uint8_t *p, size_t n, struct ev_buf *out,
		       struct ev_error *err);

/*
 * Look up a dotted path ("data.amount", "meta.userId", "type", "data.items.0")
 * in an event.  On success *kind is one of the EV_VAL_* and the value is
 * returned as msgpack bytes (for envelope fields, synthesised into scratch).
 * Returns 1 found, 0 absent, <0 error.
 */
int ev_event_path(const struct ev_event *ev, const char *path,
		  struct ev_buf *scratch, const uint8_t **val, size_t *val_len);

/* ---------------------------------------------------------------- parsing */

struct ev_parser;

/* Errors about a --wrap path begin with the name of its field here:
 * "type_from 'kind': no value at that path". */
struct ev_parse_opts {
	enum ev_format format;
	/* --wrap: dotted paths into the line, NULL when unused */
	const char *type; /* fixed type */
	const char *type_from;
	const char *stream_from;
	const char *id_from;
	const char *time_from;
	const char *key_from;
	/* how to read the time_from value; NULL: RFC 3339 */
	const struct ev_timein *time_in;
	/* null at an id, stream, key or time path is an error, not absent */
	int null_is_error;
};

/* Returns NULL on allocation failure.  Free with ev_parser_free(). */
struct ev_parser *ev_parser_new(const struct ev_parse_opts *opts);
void ev_parser_free(struct ev_parser *ps);

/*
 * Parse one input line (without its newline).  Returns the number of
 * events it holds (1, or 0..n for a CloudEvents batch array), or
 * EV_EDATA with err->column and err->msg saying what is wrong.  now is
 * the time given to events without one (EV_TIME_NONE: the clock, read
 * only for those).  Fetch the encoded records with
 * ev_parser_record(); they stay valid until the next call.
 */
int ev_parser_line(struct ev_parser *ps, const char *line, size_t len,
		   ev_time_t now, struct ev_error *err);
void ev_parser_record(const struct ev_parser *ps, int i, const uint8_t **rec,
		      size_t *n, ev_time_t *time);

/* Builder for one event from parts (evpub's argument form).  Errors
 * about a field's value begin with its name: "time: ...". */
struct ev_builder;
struct ev_builder *ev_builder_new(void);
void ev_builder_free(struct ev_builder *b);
int ev_builder_set(struct ev_builder *b, const char *field, const char *value,
		   struct ev_error *err); /* id, type, stream, key, time,
					     schema, version */
int ev_builder_data(struct ev_builder *b, const char *name, const char *value,
		    size_t vlen, int is_json, struct ev_error *err);
int ev_builder_meta(struct ev_builder *b, const char *name, const char *value,
		    struct ev_error *err);
/* One argument of evpub's argument form: "name=string" or "name:=json"
 * into data, "NAME=VALUE" into meta. */
int ev_builder_arg(struct ev_builder *b, const char *arg, struct ev_error *err);
int ev_builder_meta_arg(struct ev_builder *b, const char *arg,
			struct ev_error *err);
/* Encode into out; *time gets the event time. */
int ev_builder_finish(struct ev_builder *b, ev_time_t now, struct ev_buf *out,
		      ev_time_t *time, struct ev_error *err);

/* ---------------------------------------------------------------- input */

/*
 * Events read from a file descriptor, in the format of struct
 * ev_parse_opts: NDJSON lines (blank lines skipped, each at most
 * EV_MAX_LINE bytes), or with EV_FMT_MSGPACK a stream of MessagePack
 * maps with the keys of the envelope (each at most EV_MAX_LINE bytes),
 * read with msgpack-c's streaming unpacker.
 */
struct ev_input;

/* Where the last line or object read begins. */
struct ev_input_pos {
	uint64_t line; /* its line, from 1 (0 for a MessagePack stream) */
	uint64_t byte; /* its offset in the input, from 0 */
};

/* fd is read, never closed; name is the input's name in messages. */
int ev_input_new(struct ev_input **out, int fd, const char *name,
		 const struct ev_parse_opts *opts, struct ev_error *err);
/* The file at path, or standard input ("stdin") when path is NULL.
 * EV_ENOENT when there is no such file. */
int ev_input_open(struct ev_input **out, const char *path,
		  const struct ev_parse_opts *opts, struct ev_error *err);
void ev_input_free(struct ev_input *in);
/*
 * Read and parse the next line or object.  Returns the number of events
 * it holds (fetch them with ev_input_record(); they stay valid until the
 * next call), 0 at the end of the input, or:
 *   EV_EAGAIN  no data within timeout_ms (-1: wait), or a signal
 *              interrupted the wait: call again;
 *   EV_EDATA   the line or object is not valid (err->msg; err->column
 *              in a line, or 0): the input goes on after it unless
 *              ev_input_broken() (a malformed or truncated object);
 *   EV_EIO     a read error; EV_ERR out of memory.
 * now is the time given to events without one, as in ev_parser_line().
 */
int ev_input_next(struct ev_input *in, int timeout_ms, ev_time_t now,
		  struct ev_error *err);
void ev_input_record(const struct ev_input *in, int i, const uint8_t **rec,
		     size_t *n, ev_time_t *time);
void ev_input_where(const struct ev_input *in, struct ev_input_pos *pos);
/* After EV_EDATA: 1 when nothing more can be read from the input. */
int ev_input_broken(const struct ev_input *in);

/* Generate a UUIDv7 (36 chars + NUL). */
void ev_uuid7(ev_time_t now, char out[37]);

/* ---------------------------------------------------------------- logs */

enum ev_sync {
	EV_SYNC_BATCH = 0,
	EV_SYNC_NONE = 1,
};

struct ev_log_config {
	uint64_t segment_bytes;
	int level; /* zstd level, 0 = store uncompressed */
	enum ev_sync sync;
	int dead_letters;	/* a dead-letter log ("kind dlq" in meta) */
	uint64_t dedupe_window; /* events whose ids are remembered; 0 = off */
	int correlation_index;	/* writers keep LOG/corrindex/ up to date
				   ("correlation-index on" in meta) */
};
void ev_log_config_init(struct ev_log_config *cfg);

struct ev_log;

/* Create a new log directory.  EV_EAGAIN-free; EV_ERR if it exists. */
int ev_log_create(const char *path, const struct ev_log_config *cfg,
		  struct ev_error *err);
/* Open an existing log.  EV_ENOENT when missing. */
int ev_log_open(struct ev_log **out, const char *path, struct ev_error *err);
/* The same for verify and repair: a meta file that is missing (beside a
 * head) or damaged does not refuse the log, which is opened with what
 * can be read of it; ev_log_verify() reports it and ev_log_repair()
 * rewrites it from the segments. */
int ev_log_open_damaged(struct ev_log **out, const char *path,
			struct ev_error *err);
/* Open a log, creating it with cfg when it is missing (cfg NULL: only
 * open); a log another process creates meanwhile is opened. */
int ev_log_open_or_create(struct ev_log **out, const char *path,
			  const struct ev_log_config *cfg,
			  struct ev_error *err);
void ev_log_close(struct ev_log *log);
const char *ev_log_path(const struct ev_log *log);
const char *ev_log_id(const struct ev_log *log); /* 32 hex digits */
const struct ev_log_config *ev_log_get_config(const struct ev_log *log);
ev_time_t ev_log_created(const struct ev_log *log);

/* ---------------------------------------------------------------- writer */

struct ev_writer;

/* What became of each event handed to a writer, in the order given. */
struct ev_ack {
	uint64_t offset; /* its offset; for a duplicate, the original's */
	const char *id;	 /* valid during the callback */
	size_t id_n;
	int duplicate;
	uint64_t tag; /* as given to ev_writer_add_tagged() */
};
/* Called from the writer's thread once a batch is durable. */
typedef void (*ev_durable_fn)(void *ctx, const struct ev_ack *acks, size_t n);
typedef void (*ev_notice_fn)(void *ctx, const char *msg);

/* Optimistic concurrency, as EventStoreDB's expected version. */
enum ev_expect {
	EV_EXPECT_ANY = 0, /* no check */
	EV_EXPECT_NONE,	   /* the stream has no events */
	EV_EXPECT_EXISTS,  /* the stream has events */
	EV_EXPECT_VERSION, /* the stream is at expect_version */
};

struct ev_writer_opts {
	enum ev_sync sync;
	int sync_set;	       /* 0 = use the log's setting */
	size_t batch_bytes;    /* 0 = default */
	uint32_t batch_events; /* 0 = default */
	int threaded;	       /* compress and write on a second thread */
	ev_durable_fn on_durable;
	ev_notice_fn notice;
	void *ctx;
	/* checked for each stream the first time this writer appends to
	 * it, under the lock */
	enum ev_expect expect;
	uint64_t expect_version;
	int renumber; /* versions afresh, ignoring the input's */
	/* everything added goes in one batch, appended atomically at the
	 * flush; ev_writer_add() fails with EV_EUSAGE when it is full */
	int one_batch;
	/* the records carry no stream link (key 10) of their own, as when
	 * they were just encoded from input: they are resolved faster */
	int unlinked;
};

/*
 * Open a writer on log, which stays the caller's and must outlive the
 * writer.  When a rewrite in place swaps another log in at log's path
 * (ev_rewrite(), evlog(5) Writers), the writer follows the path: it opens
 * the log there itself, resolves and appends there what it had not
 * appended yet, and closes that log in ev_writer_close().  Acks from then
 * on carry the new log's offsets.  A path that names no log it can open
 * fails the writer with EV_EAGAIN.
 */
int ev_writer_open(struct ev_writer **out, struct ev_log *log,
		   const struct ev_writer_opts *opts, struct ev_error *err);
/*
 * Add one encoded record.  When the batch is full it is handed to the
 * writer (compressed, appended, synced).  An error from an earlier batch
 * is returned here.
 */
int ev_writer_add(struct ev_writer *w, const uint8_t *rec, size_t n,
		  ev_time_t time, struct ev_error *err);
/* The same, with a tag (evpub: the input line) reported in acks and by
 * ev_writer_failed_tag(). */
int ev_writer_add_tagged(struct ev_writer *w, const uint8_t *rec, size_t n,
			 ev_time_t time, uint64_t tag, struct ev_error *err);
/* The tag of the event a conflict stopped the writer at (EV_EAGAIN), or
 * after another failure of the first event not written (0: unknown). */
uint64_t ev_writer_failed_tag(const struct ev_writer *w);
/* Drop the batch being filled, unwritten (one_batch: all or nothing). */
void ev_writer_discard(struct ev_writer *w);
/* Number of records in the batch being filled. */
uint32_t ev_writer_pending(const struct ev_writer *w);
/* Hand over the partial batch and wait until everything is durable. */
int ev_writer_flush(struct ev_writer *w, struct ev_error *err);
/* Flush and release.  Returns the first error seen. */
int ev_writer_close(struct ev_writer *w, struct ev_error *err);
/* Number of fsync/fdatasync calls made (for benchmarks). */
uint64_t ev_writer_syncs(const struct ev_writer *w);
/*
 * The id of the log w appends to now, as 32 hexadecimal digits and a
 * NUL: the log it was opened on or followed to, or, when a rewrite in
 * place has swapped another log in at its path since its last append,
 * that log's, which its next append follows to (evlog(5) Writers).  For
 * the adding thread, while the writer's own threads run.
 */
void ev_writer_log_id(struct ev_writer *w, char id[33]);

/* Iterate the records of a batch payload (as given to ev_durable_fn). */
int ev_payload_next(const uint8_t **p, const uint8_t *end, const uint8_t **rec,
		    size_t *n);

/* ---------------------------------------------------------------- expectations
 */

/* enum ev_expect (with the writer's options) from "any", "none",
 * "exists" or a version number.  0, or EV_EUSAGE. */
int ev_expect_parse(const char *s, enum ev_expect *expect, uint64_t *version,
		    struct ev_error *err);
/*
 * The one-stream rule of an exact expected version (EV_EXPECT_VERSION):
 * every record is in the stream of the first.  first (zeroed before the
 * first record; ev_buf_free() it) keeps that stream.  0, or EV_EUSAGE
 * with the reason in err: "this one has none", "this one is in 'B', not
 * 'A'".
 */
int ev_expect_one_stream(struct ev_buf *first, const uint8_t *rec, size_t n,
			 struct ev_error *err);

/* ---------------------------------------------------------------- reader */

struct ev_reader;

struct ev_rec {
	uint64_t offset;
	const uint8_t *p;
	size_t n;
	ev_time_t append_time;
	/* a record of a Kafka log (ev_scan_open_kafka()): offset is the
	 * scan's own count, partition and koffset the record's place in
	 * the topic.  0 for a local log. */
	int kafka;
	int32_t partition;
	int64_t koffset;
	int64_t ktimestamp;  /* the record's timestamp (ms), -1 when none */
	int ktimestamp_type; /* EV_KAFKA_TS_* */
	/* a Kafka record that is not an event (ev_kafka_scan_set_lenient()):
	 * why, and p and n hold it as a kafka.record event; else NULL */
	const char *kafka_error;
};

/* Read a log.  Takes no lock. */
int ev_reader_open(struct ev_reader **out, struct ev_log *log,
		   struct ev_error *err);
/* Read a single segment file, up to its last valid batch. */
int ev_reader_open_segment(struct ev_reader **out, const char *path,
			   struct ev_error *err);
/*
 * Read what can still be recovered from a file that evctl repair moved
 * to LOG/lost+found (evtail(1) SALVAGE): a segment, the bytes of one
 * from a cut on, or a damaged batch's bytes.  Batches that check out are
 * read whole; a batch whose payload fails its checksum, and bad bytes
 * that start where a batch should, give their records up to the first
 * that does not decode.  Each part that cannot be read is named, with
 * its byte and offset ranges, through the reader's notice function.
 * Reading ends with EV_EDATA when the file is damaged and nothing in it
 * could be recovered.
 */
int ev_reader_open_salvage(struct ev_reader **out, const char *path,
			   struct ev_error *err);
/* Is path a file in a directory named lost+found? */
int ev_path_in_lost_found(const char *path);
void ev_reader_free(struct ev_reader *r);
/* Where readers report the gaps they pass over (evlog(5) Gaps): the
 * offsets a repair lost, named once per gap and process.  Readers of a
 * log take the log's; without one they pass over gaps silently. */
void ev_log_set_notice(struct ev_log *log, ev_notice_fn fn, void *ctx);
void ev_reader_set_notice(struct ev_reader *r, ev_notice_fn fn, void *ctx);
/* Offsets lost to gaps that readers of log passed over so far. */
uint64_t ev_log_gap_events(const struct ev_log *log);

/* Position before the record at offset (clamped to the log's range). */
int ev_reader_seek(struct ev_reader *r, uint64_t offset, struct ev_error *err);
/* Position conservatively before the first record with time >= t. */
int ev_reader_seek_time(struct ev_reader *r, ev_time_t t, struct ev_error *err);
/*
 * Next record: 1 with *rec filled, 0 at the durable end, <0 on error
 * (EV_EDATA for damage, with segment, offset and byte position in err).
 */
int ev_reader_next(struct ev_reader *r, struct ev_rec *rec,
		   struct ev_error *err);
/* Re-read the durable end; returns 1 when more records are available. */
int ev_reader_refresh(struct ev_reader *r, struct ev_error *err);
/* The offset of the next record the reader reads: past a gap it passed
 * over at the end, and so the position a consumer stores there. */
uint64_t ev_reader_tell(const struct ev_reader *r);
/* First offset and the offset after the last durable record. */
uint64_t ev_reader_first_offset(const struct ev_reader *r);
uint64_t ev_reader_end_offset(const struct ev_reader *r);
/* The record at offset, for random access (no read-ahead; a record of
 * the batch in hand costs no I/O): 1 found, 0 not in the log, <0 error. */
int ev_reader_get(struct ev_reader *r, uint64_t offset, struct ev_rec *rec,
		  struct ev_error *err);
/* Log id of the log (or segment) being read, 32 hex digits. */
const char *ev_reader_log_id(const struct ev_reader *r);
/* Directory to watch for new data (NULL for a single segment). */
const char *ev_reader_watch_path(const struct ev_reader *r);
/* Skip the rest of the current batch (used by filters that know). */

/* ---------------------------------------------------------------- filters */

struct ev_filter;

struct ev_filter *ev_filter_new(void);
void ev_filter_free(struct ev_filter *f);
int ev_filter_add_type(struct ev_filter *f, const char *glob);
int ev_filter_add_stream(struct ev_filter *f, const char *glob);
/* The stream named name exactly, whatever characters it holds. */
int ev_filter_add_stream_exact(struct ev_filter *f, const char *name);
/* A filter expression (evtail(1) "Filter expressions"), compiled once;
 * repeated calls must all hold.  EV_EUSAGE when bad, with err->column
 * and a message that shows expr with a caret under that column. */
int ev_filter_add_where(struct ev_filter *f, const char *expr,
			struct ev_error *err);
/* The streams of a category (see ev_stream_in_category()); EV_EUSAGE
 * when it is not a plain name. */
int ev_filter_add_category(struct ev_filter *f, const char *category,
			   struct ev_error *err);
void ev_filter_set_time(struct ev_filter *f, ev_time_t since, ev_time_t until);
ev_time_t ev_filter_since(const struct ev_filter *f);
ev_time_t ev_filter_until(const struct ev_filter *f);
/* Does the filter look at nothing but streams? */
int ev_filter_only_streams(const struct ev_filter *f);
/* Does the filter need more than the type to decide? */
int ev_filter_is_empty(const struct ev_filter *f);
/* Does the filter look at more than the type? */
int ev_filter_needs_event(const struct ev_filter *f);
/* Fast pre-check on the raw record: 0 = reject, 1 = maybe. */
int ev_filter_precheck(const struct ev_filter *f, const uint8_t *rec, size_t n);
/* Full check on a decoded event: 1 match, 0 no match. */
int ev_filter_match(struct ev_filter *f, const struct ev_event *ev);

/* ---------------------------------------------------------------- templates */

struct ev_template;

/* '{offset} {type} {data.amount}'; "{{" and "}}" are literal braces. */
int ev_template_new(struct ev_template **out, const char *spec,
		    struct ev_error *err);
void ev_template_free(struct ev_template *t);
int ev_template_render(struct ev_template *t, const struct ev_event *ev,
		       struct ev_buf *out, struct ev_error *err);

/* ---------------------------------------------------------------- fields */

/*
 * A list of fields, "type,stream,data.x" (evtail --fields): envelope
 * fields or paths inside data and meta.  EV_EUSAGE naming a field no
 * event can have, with a suggestion.
 */
struct ev_fieldlist;
int ev_fieldlist_new(struct ev_fieldlist **out, const char *spec,
		     struct ev_error *err);
void ev_fieldlist_free(struct ev_fieldlist *fl);
/* Append the fields of ev as a JSON object nested as in the event,
 * {"type":...,"data":{"x":...}}; absent ones are left out. */
int ev_fieldlist_json(struct ev_fieldlist *fl, const struct ev_event *ev,
		      struct ev_buf *out, struct ev_error *err);
/* Append the paths as a header row, sep ',' (CSV) or '\t' (TSV). */
int ev_fieldlist_header(const struct ev_fieldlist *fl, int sep,
			struct ev_buf *out);
/* Append the fields of ev as a row (no newline): text values, an empty
 * field for an absent one, quoted as CSV or escaped as TSV. */
int ev_fieldlist_row(struct ev_fieldlist *fl, const struct ev_event *ev,
		     int sep, struct ev_buf *out, struct ev_error *err);

/* ---------------------------------------------------------------- rows */

/*
 * Rows of output (evproject(1) OUTPUT): named columns, and rows whose
 * cells are msgpack values or absent.  The first nkeys columns are the
 * row's key: rows sort by them, ascending as JSON values (null, false,
 * true, numbers numerically, strings bytewise, arrays, objects), unless
 * a --sort spec says otherwise.
 */
struct ev_rows;
enum ev_rows_format {
	EV_ROWS_TABLE = 0, /* aligned, a header line; strings bare */
	EV_ROWS_JSON,	   /* one array of row objects */
	EV_ROWS_NDJSON,	   /* one row object a line */
	EV_ROWS_CSV,	   /* a header line, then RFC 4180 rows */
	EV_ROWS_TSV,
};
/* "table", "json", "ndjson", "csv" or "tsv": 0, or EV_EUSAGE. */
int ev_rows_format_parse(const char *s, enum ev_rows_format *fmt);
/* The column names are copied. */
int ev_rows_new(struct ev_rows **out, const char *const *cols, size_t ncols,
		size_t nkeys, struct ev_error *err);
void ev_rows_free(struct ev_rows *r);
size_t ev_rows_count(const struct ev_rows *r);
/* Append a row: cells[i] (lens[i] bytes) is one msgpack value, or NULL
 * for an absent one.  The bytes are copied. */
int ev_rows_add(struct ev_rows *r, const uint8_t *const *cells,
		const size_t *lens, struct ev_error *err);
/* Sort by "COL[,-COL]..." ('-': descending), ties by the key columns;
 * NULL: by the key columns.  EV_EUSAGE naming a column there is not,
 * checked before anything is sorted (a spec may be set before the rows
 * are added: ev_rows_set_sort(), then ev_rows_sort() sorts). */
int ev_rows_set_sort(struct ev_rows *r, const char *spec, struct ev_error *err);
int ev_rows_sort(struct ev_rows *r, struct ev_error *err);
/* Keep the first n rows. */
void ev_rows_limit(struct ev_rows *r, uint64_t n);
/* Append the rows in fmt.  Numbers print as evtail -o json prints
 * them, times as RFC 3339 strings; an absent cell is null in JSON and
 * empty in a table, CSV and TSV. */
int ev_rows_write(struct ev_rows *r, enum ev_rows_format fmt,
		  struct ev_buf *out, struct ev_error *err);

/* ---------------------------------------------------------------- folds */

/*
 * Built-in folds (evproject(1) FOLDS): aggregates of values at paths of
 * the events, grouped by the values of key paths and by time buckets,
 * read straight from the stored records (nothing else is decoded).  A
 * PATH is what --where takes: an envelope field, or a path in data or
 * meta.  Absent and null values are skipped by every fold.
 */
struct ev_fold;
enum ev_fold_kind {
	EV_FOLD_COUNT = 0, /* events */
	EV_FOLD_SUM,	   /* integers exactly in 64 bits, decimals in double */
	EV_FOLD_MIN,	   /* numbers, or strings when no value is a number */
	EV_FOLD_MAX,
	EV_FOLD_AVG,	    /* sum / count of the numbers, a double */
	EV_FOLD_DISTINCT,   /* distinct values, an exact count */
	EV_FOLD_FIRST,	    /* the value of the first event, in log order */
	EV_FOLD_LAST,	    /* of the last */
	EV_FOLD_LAST_EVENT, /* the whole last event, as evtail prints it */
};
int ev_fold_new(struct ev_fold **out, struct ev_error *err);
void ev_fold_free(struct ev_fold *f);
/* A fold (path NULL for count and last_event): EV_EUSAGE for a path
 * that no event can have, as --where words it. */
int ev_fold_add(struct ev_fold *f, enum ev_fold_kind kind, const char *path,
		struct ev_error *err);
/* Group by the paths of a comma-separated list, in order. */
int ev_fold_by(struct ev_fold *f, const char *paths, struct ev_error *err);
/* Group by time buckets of a duration (250ms, 30s, 5m, 1h, 1d): the
 * bucket of an event starts at floor(time / dur) * dur, UTC; its
 * column is "every(DUR)" and holds the start.  EV_EUSAGE when dur is
 * not a positive duration. */
int ev_fold_every(struct ev_fold *f, const char *dur, struct ev_error *err);
/* A value of the wrong type (a string where a number is summed) is
 * EV_EDATA at once, not only counted. */
void ev_fold_set_strict(struct ev_fold *f, int strict);
/* The output columns: the keys in the order given, then the folds:
 * "count", "sum(PATH)", ..., "last_event". */
size_t ev_fold_ncolumns(const struct ev_fold *f);
size_t ev_fold_nkeys(const struct ev_fold *f);
const char *ev_fold_column(const struct ev_fold *f, size_t i);
/* Fold one stored record (rec->offset is its offset).  EV_EDATA for a
 * record that cannot be read, an integer sum that leaves 64 bits
 * (naming the offset, the group and the path), or a wrong type when
 * strict; such an error may come from a record taken a call or two
 * before (its offset named), or from ev_fold_flush(). */
int ev_fold_apply(struct ev_fold *f, const struct ev_rec *rec,
		  struct ev_error *err);
/* ev_fold_apply() as a consumer's sink (ctx the struct ev_fold); it
 * needs no decoded event. */
int ev_fold_sink(void *ctx, const struct ev_rec *rec, const struct ev_event *ev,
		 struct ev_error *err);
/* A record is folded a little after ev_fold_apply() takes it (the
 * groups are looked up ahead); this folds what is taken so far.
 * ev_fold_rows() and ev_fold_save() do it first.  Errors as
 * ev_fold_apply()'s.  ev_fold_sink_flush() is it as a consumer's
 * flush. */
int ev_fold_flush(struct ev_fold *f, struct ev_error *err);
int ev_fold_sink_flush(void *ctx, struct ev_error *err);
/* Groups so far (after a flush). */
uint64_t ev_fold_groups(const struct ev_fold *f);
/* Add a row per group to rows (made with ev_fold_ncolumns() columns,
 * ev_fold_nkeys() of them keys). */
int ev_fold_rows(struct ev_fold *f, struct ev_rows *rows, struct ev_error *err);
/* Values a fold skipped for their type, for a warning: "N values of
 * PATH were not WHAT (first at offset O)".  Call with i from 0 until it
 * returns 0; a path with the same finding for two folds is given once. */
struct ev_fold_issue {
	const char *path;
	const char *what;     /* "numbers", "numbers or strings", "strings" */
	const char *what_one; /* "a number", ... */
	uint64_t count;
	uint64_t first_offset;
};
int ev_fold_issue(const struct ev_fold *f, size_t i, struct ev_fold_issue *out);
/* Fold paths that no event folded had (a typo, most likely), one at a
 * time as above: 1 with *path, 0 when there are no more. */
int ev_fold_unseen(const struct ev_fold *f, size_t i, const char **path);
/* The definition as options, "--sum data.amount --by stream", and a
 * hash of it: a saved state is for the definition that saved it. */
const char *ev_fold_describe(const struct ev_fold *f);
uint64_t ev_fold_hash(const struct ev_fold *f);
/* The whole state as an opaque msgpack blob, appended to out; restored
 * into a fold of the same definition that has folded nothing (EV_EDATA
 * when the blob is malformed or of another definition).  Restoring and
 * folding more gives what one run over all the events gives. */
int ev_fold_save(const struct ev_fold *f, struct ev_buf *out,
		 struct ev_error *err);
int ev_fold_restore(struct ev_fold *f, const uint8_t *p, size_t n,
		    struct ev_error *err);

/* ---------------------------------------------------------------- cursors */

/* A cursor: the log id and the next offset to read. */
struct ev_cursor {
	char log_id[33];
	uint64_t next;
};
/* 0 loaded, EV_ENOENT no file, EV_EDATA malformed. */
int ev_cursor_load(const char *path, struct ev_cursor *c, struct ev_error *err);
/* Atomic: temporary file, fsync, rename, fsync directory. */
int ev_cursor_store(const char *path, const struct ev_cursor *c,
		    struct ev_error *err);

/* ---------------------------------------------------------------- positions */

/* A place in a log: OFFSET, start, end or @TIME (evtail(1) --from). */
enum ev_pos_kind {
	EV_POS_NONE = 0, /* not given */
	EV_POS_START,
	EV_POS_END,
	EV_POS_OFFSET,
	EV_POS_TIME,
};
struct ev_pos {
	enum ev_pos_kind kind;
	uint64_t offset;
	ev_time_t time;
};
#define EV_POS_NO_ENDS 1 /* ev_pos_parse(): only OFFSET and @TIME */
/* Parse a position; times are relative to now.  0 or EV_EUSAGE, or
 * EV_EDATA for a time outside EV_TIME_RANGE. */
int ev_pos_parse(const char *s, int flags, ev_time_t now, struct ev_pos *p);
/* The offset p names in the log r reads: the first event at or after a
 * time (the end when none is), or an offset within the log (EV_EUSAGE
 * outside it).  Moves the reader. */
int ev_pos_resolve(struct ev_reader *r, const struct ev_pos *p, uint64_t *out,
		   struct ev_error *err);
/* The offset of the first event at or after t, or the end. */
int ev_reader_find_time(struct ev_reader *r, ev_time_t t, uint64_t *out,
			struct ev_error *err);
/* Where the last n events that f matches begin (f NULL: any event): read
 * backwards from the end, a batch at a time, as far as they go back. */
int ev_reader_find_last(struct ev_reader *r, struct ev_filter *f, uint64_t n,
			uint64_t *out, struct ev_error *err);
/* The path the reader was opened on. */
const char *ev_reader_path(const struct ev_reader *r);

/* ---------------------------------------------------------------- watching */

/* Waiting for writers to publish more (inotify, or a poll). */
struct ev_watch;
int ev_watch_new(struct ev_watch **out, struct ev_reader *r,
		 struct ev_error *err);
void ev_watch_free(struct ev_watch *w);
/* Refresh r; if nothing is new, wait up to timeout_ms (a signal ends the
 * wait early) and refresh again: 1 when more records can be read, 0 not
 * yet, <0 error. */
int ev_watch_wait(struct ev_watch *w, struct ev_reader *r, int64_t timeout_ms,
		  struct ev_error *err);
/* The descriptor that becomes readable when the log changes, or -1. */
int ev_watch_fd(const struct ev_watch *w);

/* ---------------------------------------------------------------- upcasting */

/*
 * An upcaster set (evlog-upcast(5)): per event type, one step for each
 * data schema version N to N+1, declarative or in Lua, that brings the
 * events of older versions up to date as they are read.  Ids stay; the
 * envelope's schema becomes the new version.
 */
struct ev_upcaster;

/*
 * Load the spec files (*.upcast) and Lua steps (TYPE.N.lua) of path, a
 * file or a directory of them, and check the whole set before any event
 * is read: gaps, two steps from one version, unknown operations, bad
 * arguments, Lua syntax errors.  EV_ENOENT when path is missing;
 * EV_EUSAGE for a bad set, with the first problem as "FILE:LINE: what"
 * in err.
 */
int ev_upcaster_load(struct ev_upcaster **out, const char *path,
		     struct ev_error *err);
void ev_upcaster_free(struct ev_upcaster *u);

/* Does the set have steps for events stored with type (n bytes)?  An
 * event of a type without is read as stored, so a filter may judge it
 * by its stored type. */
int ev_upcaster_has_chain(const struct ev_upcaster *u, const char *type,
			  size_t n);
/* Can a step change an event's time, stream or key?  Only a Lua step
 * can; then a reader cannot seek by the stored ones (--since, --stream). */
int ev_upcaster_changes_envelope(const struct ev_upcaster *u);
/* Would ev_upcaster_apply() do anything with this record (its type has
 * steps from its schema on, or counting is on)?  Reads only the type and
 * schema. */
int ev_upcaster_wants(struct ev_upcaster *u, const uint8_t *rec, size_t n);

/*
 * Upcast one stored record rec (n bytes) at offset.  Returns how many
 * records it becomes: 0 when a step drops it, more when one splits it.
 * Fetch them with ev_upcaster_record(): records as stored, valid until
 * the next call (what a step did not touch is copied unchecked: decode
 * them before trusting them).  *changed is 0 when no step applied, and
 * the one record is then rec.  An upcast failure is EV_EDATA with
 * "offset N: TYPE version V: step FILE:LINE: reason" in err (see
 * ev_upcaster_last_failure()); a record that does not decode is
 * EV_EDATA as ev_event_decode() words it; EV_ERR out of memory.
 */
int ev_upcaster_apply(struct ev_upcaster *u, const uint8_t *rec, size_t n,
		      uint64_t offset, int *changed, struct ev_error *err);
/*
 * The same for a record read as at (its place; rec and n its bytes, or
 * what came of them before): on a Kafka log a Lua step's event.offset
 * and event.partition are the record's (ev_event_place()), and a
 * failure names it "offset PARTITION:OFFSET: ...", as -o pretty does.
 */
int ev_upcaster_apply_rec(struct ev_upcaster *u, const uint8_t *rec, size_t n,
			  const struct ev_rec *at, int *changed,
			  struct ev_error *err);
void ev_upcaster_record(const struct ev_upcaster *u, int i, const uint8_t **rec,
			size_t *n);

/* An upcast failure, by its parts. */
struct ev_upcast_failure {
	uint64_t offset; /* a Kafka log's: the offset in partition */
	int has_partition;
	int32_t partition;
	char type[256];	  /* the type the failing step is for */
	uint64_t version; /* the version it upcasts from */
	char step[320];	  /* FILE:LINE of the operation or the Lua error */
	char reason[512];
};
const struct ev_upcast_failure *
ev_upcaster_last_failure(const struct ev_upcaster *u);

/* What --check reports: every ev_upcaster_apply() counted by stored
 * type and schema, and the first EV_UPCAST_FAILURES_KEPT failures. */
#define EV_UPCAST_FAILURES_KEPT 20
struct ev_upcast_count {
	const char *type; /* as stored */
	uint64_t version; /* the schema stored */
	uint64_t upcast, unchanged, failed;
};
/* Counting costs a little per event: off until turned on. */
void ev_upcaster_set_counting(struct ev_upcaster *u, int on);
/* Once *stop is set (a signal handler's flag), a Lua step running ends
 * within 1000 instructions, and the apply gives EV_EAGAIN
 * ("interrupted"): not a failure of the event, which is to be read
 * again.  NULL: never. */
void ev_upcaster_set_stop(struct ev_upcaster *u,
			  const volatile sig_atomic_t *stop);
/* The counts, by type then version, in *v (owned by u, valid until the
 * next apply).  0, or EV_ERR. */
int ev_upcaster_counts(struct ev_upcaster *u, const struct ev_upcast_count **v,
		       size_t *n);
/* The failures kept, and how many there were in all. */
const struct ev_upcast_failure *
ev_upcaster_failures(const struct ev_upcaster *u, size_t *kept,
		     uint64_t *total);
/* Append the --check report: a table of the counts, then a line per
 * failure kept and "... and N more failures". */
int ev_upcaster_report(struct ev_upcaster *u, struct ev_buf *out);

/* ---------------------------------------------------------------- projections
 */

/*
 * A Lua projection (evproject -p FILE.lua): a Lua 5.4 file, run in the
 * sandbox of upcast steps (no os, io, package, debug, require, load,
 * dofile or loadfile; bounded memory, and instructions per call), that
 * returns a table:
 *
 *   partition_by(e)  optional: the partition of event e, a string, a
 *                    number, a boolean or evlog.null; nil skips the
 *                    event.  Absent: the event's stream (an event with
 *                    none goes to the partition null), or one global
 *                    state (partition null) after
 *                    ev_projection_set_global().
 *   init()           optional: a partition's first state, a table
 *                    (absent: an empty table)
 *   on = {Type = function(s, e) ... end, ...}
 *   any(s, e)        the handler of every event, called after on[type]
 *                    (when it has one) with the state that one left
 *   result(s)        optional: what is output of a state (its value;
 *                    nil is null); never saved, and it must not change s
 *
 * A handler changes s in place or returns a new state (a table); nil
 * keeps s.  An event whose type has no handler (and no any) touches no
 * state: partition_by and init are not called for it.  States are JSON
 * values: tables of strings, numbers, booleans, evlog.null and tables
 * (integers are Lua's 64-bit ones, and wrap as Lua's do).  They live in
 * the sandbox, whose memory is bounded (256 MiB in all, garbage
 * included: about a million small states).
 * Events are the tables of upcast steps (evlog-upcast(5) "LUA STEPS"):
 * e.data is decoded when first read.
 *
 * emit{type=, data=, stream=, key=, meta=, time=} in a handler (or in
 * partition_by or init) derives an event from the one being applied:
 * type is required; time (RFC 3339) defaults to the source event's, so
 * that the same source always gives the same record; any other field
 * is an error.  The engine sets
 * meta.causationId to the source's id and meta.correlationId to the
 * source's meta.correlationId (when meta gives none), or else to the
 * source's id.  The id is deterministic: a UUID (version 8, RFC 9562)
 * made from two ev_hash64() of "NAME\0SOURCEID\0N" (and the same with a
 * 1 byte after it), NAME the projection's name and N the index of the
 * emit within the source event, from 0.
 */
struct ev_projection;

/*
 * Load the projection in path.  name names it in emitted ids (NULL: the
 * file's base name without .lua).  EV_ENOENT no such file; EV_EUSAGE
 * for a file that does not load, "FILE:LINE: message" (a syntax error),
 * "FILE: returns nothing, not a table", "FILE: the projection has no
 * handlers (on or any)" or "FILE: on.Type is a number value, not a
 * function".  Free with ev_projection_free().
 */
int ev_projection_load(struct ev_projection **out, const char *path,
		       const char *name, struct ev_error *err);
void ev_projection_free(struct ev_projection *p);
const char *ev_projection_name(const struct ev_projection *p);

/* One global state, partition key null, for a projection without
 * partition_by (EV_EUSAGE "FILE: the projection has partition_by, so
 * it has no global state" for one with it).  Before the first apply. */
int ev_projection_set_global(struct ev_projection *p, int on,
			     struct ev_error *err);
/*
 * Atomic applies (what --on-error skip and dlq need): a failed apply
 * then leaves every state as it was, as if the event had not been
 * there.  Off (the default, and the fastest), a handler that fails may
 * leave its partition's state half changed, and the projection is then
 * spoilt: ev_projection_save() refuses it (EV_EUSAGE), so a run that
 * stops at a bad event keeps its last checkpoint (ev_projection_each()
 * still lists the states, as the handler left them; a restore makes
 * the projection whole again).  On, the state is
 * copied (as msgpack) before each handler runs and put back when one
 * fails.  A failure in a new partition (or in partition_by or init)
 * changes nothing either way.  Only the partition's state is put back:
 * what a handler changed elsewhere (its own globals) is not.
 */
void ev_projection_set_atomic(struct ev_projection *p, int on);

/*
 * SQL for the handlers (a read model's, ev_readmodel_exec() has this
 * form): once set, every handler gets a third argument, db, with
 * db:exec(sql, ...) and db:rows(sql, ...), which call fn with the SQL
 * and the other arguments as a msgpack array of parameters; rows (NULL
 * for exec) takes each row as a msgpack map, and db:rows returns them
 * as a list of tables.  A failure of fn is a Lua error in the handler,
 * with fn's message.  What SQL a failed apply ran is the caller's to
 * undo (a savepoint around each apply).  fn NULL: no db.
 */
typedef int (*ev_projection_sql_fn)(void *ctx, const char *sql,
				    const uint8_t *params, size_t params_n,
				    int (*row)(void *rctx, const uint8_t *map,
					       size_t n),
				    void *rctx, struct ev_error *err);
int ev_projection_set_sql(struct ev_projection *p, ev_projection_sql_fn fn,
			  void *ctx, struct ev_error *err);

/* Does the event type have a handler (on[type], or any)?  Events
 * without one can be left out before they are decoded. */
int ev_projection_wants_type(const struct ev_projection *p, const char *type,
			     size_t n);

/*
 * Apply one event.  0 (applied, or skipped: no handler, or partition_by
 * returned nil), or EV_EDATA for a Lua error or a wrong type, worded
 * "offset N: TYPE: partition KEY: FILE:LINE: message" (KEY as JSON;
 * without the partition when partition_by failed; LINE where Lua says,
 * else the line that defines the function at fault), with the parts in
 * ev_projection_last_failure().  The events emitted by this apply (none
 * when it fails) can be fetched until the next apply.
 */
int ev_projection_apply(struct ev_projection *p, const struct ev_event *ev,
			struct ev_error *err);
/* The same for a stored record (as an ev_rec gives it): an event type
 * without handler is not decoded; a record that does not decode is
 * EV_EDATA "offset N: ...". */
int ev_projection_apply_record(struct ev_projection *p, const uint8_t *rec,
			       size_t n, uint64_t offset, struct ev_error *err);

/* The parts of the last failed apply, valid until the next apply. */
struct ev_projection_failure {
	uint64_t offset;
	const char *type;
	const char *partition; /* as JSON, NULL when not known or --global */
	const char *where;     /* FILE:LINE, or FILE */
	const char *why;       /* the message */
};
const struct ev_projection_failure *
ev_projection_last_failure(const struct ev_projection *p);

/*
 * The events emitted by the last apply, in the order of the emits: an
 * encoded record (id, type, time and the rest; no version and no stream
 * link yet, so a writer opened with .unlinked = 1 takes it as it takes
 * evpub's) and its time, for ev_writer_add().  Valid until the next
 * apply.
 */
size_t ev_projection_emitted_count(const struct ev_projection *p);
void ev_projection_emitted(const struct ev_projection *p, size_t i,
			   const uint8_t **rec, size_t *n, ev_time_t *time);

/* The number of partitions (states). */
uint64_t ev_projection_count(const struct ev_projection *p);
/*
 * Call fn for every state, in ascending order of partition keys compared
 * as JSON values (null, then false and true, numbers numerically,
 * strings bytewise): key and state as msgpack, the state as result(s)
 * makes it when there is result.  The bytes are valid during the call.
 * A nonzero return of fn stops and is returned; EV_EDATA "partition
 * KEY: FILE:LINE: message" when result fails, or a state has no JSON
 * form.
 */
typedef int (*ev_projection_fn)(void *ctx, const uint8_t *key, size_t key_n,
				const uint8_t *state, size_t state_n);
int ev_projection_each(struct ev_projection *p, ev_projection_fn fn, void *ctx,
		       struct ev_error *err);
/*
 * The state of one partition (evproject --partition KEY), as
 * ev_projection_each() gives it, appended to out: 1, or 0 when there is
 * no such partition, or an error.  key is a string key; when no string
 * partition has it and it is a JSON number, true, false or null, that
 * value.
 */
int ev_projection_get(struct ev_projection *p, const char *key,
		      struct ev_buf *out, struct ev_error *err);

/*
 * All states, as they are (not through result), as one msgpack blob for
 * a checkpoint: [1, [[KEY, STATE], ...]] in the order of
 * ev_projection_each(), so equal states give equal bytes.  Restore
 * replaces every state of p by those of a blob that save made (of a
 * projection with the same definition: the caller checks the hash);
 * EV_EDATA "projection state: ..." for a blob that is malformed, and p
 * is then left without states.  A blob of 0 bytes clears every state
 * (a rebuild).
 */
int ev_projection_save(struct ev_projection *p, struct ev_buf *out,
		       struct ev_error *err);
int ev_projection_restore(struct ev_projection *p, const uint8_t *blob,
			  size_t n, struct ev_error *err);

/* The definition, for checkpoints: ev_hash64() of the file's bytes
 * (mixed with the global flag when set), and "-p FILE" (" --global"). */
uint64_t ev_projection_hash(const struct ev_projection *p);
const char *ev_projection_describe(const struct ev_projection *p);

/* ---------------------------------------------------------------- scans */

struct ev_group;

/* What a scan does with an event whose upcast fails. */
enum ev_upcast_policy {
	EV_UPCAST_STOP = 0, /* stop: EV_EDATA, the event not read */
	EV_UPCAST_SKIP,	    /* go on without it */
	EV_UPCAST_DLQ,	    /* hand it to upcast_failed, and go on */
};

/* Which events of a log to read, and from where (evtail(1) selection). */
struct ev_scan_opts {
	const char *name;	  /* the log as named to the user (messages) */
	struct ev_filter *filter; /* borrowed; NULL: every event */
	struct ev_pos from;	  /* EV_POS_NONE: the first event */
	struct ev_pos to;	  /* NONE, OFFSET (the last one read), or
				   * TIME (the events up to it) */
	struct ev_group *group;	  /* resume at its position, when it has one */
	const struct ev_cursor *cursor; /* or at this one */
	const char *cursor_name;
	const char *stream;    /* one exact stream: read through its links */
	uint64_t from_version; /* only versions from this one on */
	int last_set;	       /* only the last `last` matches */
	uint64_t last;
	int has_max; /* stop after `max` matches */
	uint64_t max;
	int follow;	     /* at the end, wait for more */
	int decode;	     /* decode every match, not only when needed */
	ev_notice_fn notice; /* warnings (a group trimmed past) */
	void *ctx;
	/* upcast every event right after reading it, before any filter
	 * (evlog-upcast(5)); a failure stops the scan (EV_EDATA), is
	 * skipped, or is handed to upcast_failed (for dead letters) */
	struct ev_upcaster *upcaster;
	enum ev_upcast_policy on_upcast_error;
	/* EV_UPCAST_DLQ: the stored event and why it failed; 0 goes on,
	 * a status stops the scan with it */
	int (*upcast_failed)(void *ctx, const struct ev_rec *rec,
			     const struct ev_error *why, struct ev_error *err);
	void *upcast_ctx;
};

struct ev_scan;

/* A scan of the log r reads (log: NULL for a lone segment file). */
int ev_scan_open(struct ev_scan **out, struct ev_log *log, struct ev_reader *r,
		 const struct ev_scan_opts *o, struct ev_error *err);
void ev_scan_free(struct ev_scan *s);
/*
 * The next event the selection picks: 1 with *rec (and *ev, when it was
 * decoded, else NULL) valid until the next call; 0 when there is none
 * now (following: ev_scan_wait(); see ev_scan_done()); <0 on error
 * (damaged data: EV_EDATA naming the log and the offset).
 */
int ev_scan_next(struct ev_scan *s, struct ev_rec *rec,
		 const struct ev_event **ev, struct ev_error *err);
/* Nothing more will come: the selection ended, or the log did and the
 * scan does not follow. */
int ev_scan_done(const struct ev_scan *s);
/* Following: wait up to timeout_ms for more (see ev_watch_wait()). */
int ev_scan_wait(struct ev_scan *s, int64_t timeout_ms, struct ev_error *err);
/* The offset after the last record read, matched or not: the position to
 * store for a next run.  ev_scan_start(): where the scan began. */
uint64_t ev_scan_position(const struct ev_scan *s);
uint64_t ev_scan_start(const struct ev_scan *s);
const char *ev_scan_name(const struct ev_scan *s);
/* Events whose upcast failed and that were skipped, or handed to
 * upcast_failed. */
uint64_t ev_scan_upcast_failures(const struct ev_scan *s);

/* ---------------------------------------------------------------- output */

enum ev_out_format {
	EV_OUT_JSON = 0,
	EV_OUT_PRETTY,
	EV_OUT_CLOUDEVENTS,
	EV_OUT_MSGPACK,
	EV_OUT_TEMPLATE,
	EV_OUT_CSV, /* with ev_output_set_fields() */
	EV_OUT_TSV,
	EV_OUT_COUNT, /* only the number of events, at ev_output_end() */
};

/* Events formatted and written to a descriptor, buffered. */
struct ev_output;

/* tpl (borrowed) for EV_OUT_TEMPLATE; color for EV_OUT_PRETTY. */
int ev_output_new(struct ev_output **out, int fd, enum ev_out_format fmt,
		  struct ev_template *tpl, int color, struct ev_error *err);
void ev_output_free(struct ev_output *o);
/* Print only the fields of fl (borrowed): as JSON objects, or as CSV or
 * TSV rows after a header row.  EV_EUSAGE for another format. */
int ev_output_set_fields(struct ev_output *o, struct ev_fieldlist *fl,
			 struct ev_error *err);
/* Hold every event and write them newest first at ev_output_end()
 * (memory grows with the output; flushes before then write nothing). */
void ev_output_set_reverse(struct ev_output *o);
/* The end of the events: write the count (EV_OUT_COUNT), or the held
 * events newest first, and flush.  Later calls do nothing. */
int ev_output_end(struct ev_output *o, struct ev_error *err);
/* Does the format need a decoded event (ev_output_event()'s ev)? */
int ev_output_needs_event(const struct ev_output *o);
/*
 * Format one event (from ev, or straight from the record when ev is
 * NULL and the format is JSON) and write out what is buffered past a
 * threshold.  EV_EDATA when it does not format (the message does not
 * name the log); EV_EIO when writing failed (see ev_output_errno()).
 */
int ev_output_event(struct ev_output *o, const struct ev_rec *rec,
		    const struct ev_event *ev, struct ev_error *err);
/* Write out everything buffered.  EV_EIO with "cannot write output". */
int ev_output_flush(struct ev_output *o, struct ev_error *err);
/* The errno of the failed write (EPIPE: the reader went away), or 0. */
int ev_output_errno(const struct ev_output *o);
/* The offset after the last event formatted, and after the last one
 * written out in full. */
uint64_t ev_output_printed(const struct ev_output *o);
uint64_t ev_output_written(const struct ev_output *o);
/* Where both positions stand before the first event. */
void ev_output_set_position(struct ev_output *o, uint64_t pos);
/* Append compact JSON text indented for people, two spaces a level, and
 * a newline. */
int ev_json_indent(struct ev_buf *out, const char *s, size_t n);

/* ---------------------------------------------------------------- admin */

struct ev_segment_info {
	uint64_t base;
	uint64_t next;	      /* offset after the last record */
	uint64_t bytes;	      /* segment file size */
	uint64_t index_bytes; /* sparse index files */
	uint64_t raw_bytes;   /* uncompressed payload bytes */
	uint64_t batches;
	ev_time_t first_time, last_time; /* min/max event time */
	ev_time_t first_append, last_append;
};

struct ev_log_info {
	uint64_t first_offset, next_offset;
	uint64_t events;
	uint64_t gaps, gap_events; /* gap markers, and the offsets they hold */
	uint64_t segments;
	uint64_t bytes;		/* segments + indexes */
	uint64_t segment_bytes; /* segment files only */
	uint64_t raw_bytes;
	ev_time_t min_time, max_time;
	ev_time_t first_append, last_append;
	struct ev_segment_info *seg; /* segments entries; free() it */
};
int ev_log_info(struct ev_log *log, struct ev_log_info *info,
		struct ev_error *err);

/* Events per type, most first.  Reads the events once and keeps the
 * counts in LOG/typecounts (a cache: a later call reads only what was
 * appended since, and a read-only log is simply read in full). */
struct ev_type_count {
	char *name;
	uint64_t n;
};
int ev_log_type_counts(struct ev_log *log, struct ev_type_count **out,
		       size_t *n, struct ev_error *err);
void ev_type_counts_free(struct ev_type_count *v, size_t n);

/*
 * Why a selection is empty: for each --type glob that matches no type
 * of log, and each --stream glob that matches no stream, a notice
 * "no event type in 'NAME' matches 'PushEvent'; closest: push, ..."
 * (logname is the log as the user named it), from the type counts and
 * the stream state.  0, or <0 when they cannot be read.
 */
int ev_explain_globs(struct ev_log *log, const char *logname,
		     const char *const *types, size_t ntypes,
		     const char *const *streams, size_t nstreams,
		     ev_notice_fn notice, void *ctx, struct ev_error *err);

/* Verification: decode every record and check the indexes. */
struct ev_verify_report {
	uint64_t batches, records, segments;
	uint64_t index_problems;   /* fixable by repair */
	uint64_t gaps, gap_events; /* offsets a repair lost (evlog(5) Gaps),
				    * each gap named in a notice */
};
int ev_log_verify(struct ev_log *log, struct ev_verify_report *rep,
		  ev_notice_fn notice, void *ctx, struct ev_error *err);

#define EV_REPAIR_TRUNCATE_DAMAGED 1
#define EV_REPAIR_DRY_RUN 2
int ev_log_repair(struct ev_log *log, int flags, ev_notice_fn notice, void *ctx,
		  struct ev_error *err);
/*
 * After damage that a repair might fix (err's remedy EV_REMEDY_REPAIR or
 * EV_REMEDY_VERIFY_REPAIR): make the remedy the repair that will work,
 * found by dry runs: EV_REMEDY_VERIFY_REPAIR for a plain repair,
 * EV_REMEDY_VERIFY_REPAIR_TRUNCATE when it takes
 * EV_REPAIR_TRUNCATE_DAMAGED, and EV_REMEDY_VERIFY when neither would.
 */
void ev_log_repair_advice(struct ev_log *log, struct ev_error *err);

/* ---------------------------------------------------------------- groups */

#define EV_GROUP_NAME_MAX 128
#define EV_HIST_BUCKETS 12 /* handler duration histogram, +Inf last */
extern const double ev_hist_bounds[EV_HIST_BUCKETS - 1]; /* seconds */

struct ev_group_stats {
	uint64_t handled, failed, dead_lettered, skipped;
	uint64_t buckets[EV_HIST_BUCKETS]; /* per bucket, not cumulative */
	double sum;			   /* seconds */
};

/* A consumer group's committed state (evlog(5) GROUPS). */
struct ev_group_state {
	char name[EV_GROUP_NAME_MAX + 1];
	char log_id[33];
	uint64_t next;	     /* the next offset to deliver */
	ev_time_t committed; /* when, EV_TIME_NONE if never */
	int exists;	     /* a state file was found */
	int busy;	     /* (ev_group_list) a consumer holds it now */
	int damaged;	     /* (ev_group_list_all, ev_group_reset,
				ev_group_delete) its state file is damaged:
				only name is known */
	struct ev_group_stats stats;
};

struct ev_group;

/* Letters, digits, '.', '_' and '-'; 1 to EV_GROUP_NAME_MAX. */
int ev_group_name_ok(const char *name);
/*
 * Open group name of log, in state_dir or LOG/groups, and hold its lock
 * until ev_group_close().  EV_EAGAIN when another consumer holds it and
 * wait is 0; EV_EDATA when its state belongs to another log.
 */
int ev_group_open(struct ev_group **out, struct ev_log *log, const char *name,
		  const char *state_dir, int wait, struct ev_error *err);
const struct ev_group_state *ev_group_get(const struct ev_group *g);
/* Counters and the duration histogram, stored with the next commit. */
struct ev_group_stats *ev_group_stats(struct ev_group *g);
void ev_hist_add(struct ev_group_stats *s, double seconds);
/* Store next atomically (temporary file, fsync, rename, fsync dir). */
int ev_group_commit(struct ev_group *g, uint64_t next, struct ev_error *err);
/* Its state file, DIR/NAME.group (for messages). */
const char *ev_group_file(const struct ev_group *g);
/* Release the lock.  A group that has never committed leaves nothing
 * behind: its lock file, and the directory the open made, go. */
void ev_group_close(struct ev_group *g);
/* All groups of log (sorted by name); *out is malloc'ed. */
int ev_group_list(struct ev_log *log, const char *state_dir,
		  struct ev_group_state **out, size_t *n, struct ev_error *err);
/* The same, but a damaged state file does not fail the list: its group
 * is listed with damaged set (and only its name).  Only verify, repair
 * and listings that report it use this: what decides from the groups'
 * positions (trim) must not pass over one. */
int ev_group_list_all(struct ev_log *log, const char *state_dir,
		      struct ev_group_state **out, size_t *n,
		      struct ev_error *err);
/* The error of group name's damaged state file (one that
 * ev_group_list_all() lists with damaged set), as ev_group_list() gives
 * it: "group state file 'DIR/NAME.group' is damaged", and the way out
 * (evctl groups --delete or --reset) as its hint.  Returns EV_EDATA. */
int ev_group_damaged_error(struct ev_log *log, const char *name,
			   const char *state_dir, struct ev_error *err);
/* Move a group that nobody holds (EV_EAGAIN otherwise; EV_ENOENT when
 * there is no such group); *old (may be NULL) gets its state as it was.
 * A damaged state file is rewritten at next (old->damaged set). */
int ev_group_reset(struct ev_log *log, const char *name, const char *state_dir,
		   uint64_t next, int dry_run, struct ev_group_state *old,
		   struct ev_error *err);
/* Remove a group that nobody holds (EV_EAGAIN otherwise; EV_ENOENT when
 * there is no such group): its state and lock files.  *st gets its
 * state (lag and all) as it was; with dry_run, nothing is removed.  A
 * damaged state file is removed too (st->damaged set). */
int ev_group_delete(struct ev_log *log, const char *name, const char *state_dir,
		    int dry_run, struct ev_group_state *st,
		    struct ev_error *err);

/* Append time of the batch holding offset; EV_TIME_NONE past the end. */
int ev_log_append_time(struct ev_log *log, uint64_t offset, ev_time_t *t,
		       struct ev_error *err);

/* Retention: remove whole old segments (never the last). */
struct ev_trim_opts {
	ev_time_t before;     /* segments last appended before, or NONE */
	uint64_t keep_events; /* 0 = unused */
	uint64_t keep_bytes;  /* 0 = unused */
	int dry_run;
	int force; /* even past groups and projections that have not read
		    * it, and past damaged projection checkpoints */
	const char *state_dir; /* groups and projections kept elsewhere, or
				* NULL */
};
/*
 * EV_EAGAIN when a group has not consumed what would go, or a projection
 * checkpoint has not passed it; EV_EDATA when a projection checkpoint
 * that may belong to log is damaged, so what it has passed is not known.
 * The log's own (LOG/groups, LOG/projections) are checked, and those in
 * o->state_dir too.  With o->force, each goes through notice instead.
 */
int ev_log_trim(struct ev_log *log, const struct ev_trim_opts *o,
		ev_notice_fn notice, void *ctx, struct ev_error *err);

/* -------------------------------------------------------- projections */

/*
 * A projection (evproject(1)) named NAME, a group name (ev_group_name_ok()),
 * keeps its checkpoint in LOG/projections/NAME.ckpt, or in
 * STATE_DIR/projections/NAME.ckpt, and one run at a time holds the lock
 * file NAME.lock beside it (evlog(5) Projection checkpoints).
 *
 * A run: ev_projection_lock(); ev_checkpoint_load() (EV_ENOENT: start
 * from the log's beginning) and ev_checkpoint_check_def(); fold, and
 * ev_checkpoint_save() as often as wanted; ev_projection_unlock().
 * A rebuild needs no delete: it loads the old checkpoint for its skips
 * and emit mark only (or not at all), and its first save replaces it; a
 * crash before that leaves the old checkpoint, whole.
 */
#define EV_CKPT_DEF_MAX 65536	      /* bytes of a definition's description */
#define EV_CKPT_REASON_MAX 4096	      /* bytes of a skip's reason */
#define EV_CKPT_MAX_BYTES 0x7fffffffu /* a checkpoint file, at most */

/* An event a projection was told to pass over (evproject --skip). */
struct ev_ckpt_skip {
	uint64_t offset;
	int32_t partition; /* a Kafka topic's (offset is in it); 0 else */
	ev_time_t time;	   /* when it was recorded */
	char *reason;	   /* UTF-8, no NUL */
};

/*
 * A projection's checkpoint.  Every pointer is malloc'ed and owned by
 * the checkpoint: ev_checkpoint_clear() frees them, and a caller may put
 * there memory of its own from malloc() (the state from an engine's
 * save, say).  Zero it with ev_checkpoint_init().
 */
struct ev_checkpoint {
	char log_id[33];    /* the log it belongs to; save sets it */
	uint64_t next;	    /* the offset to read next: every event before
			     * it is in the state (or skipped) */
	uint64_t def_hash;  /* the definition's, ev_fold_hash() or
			     * ev_projection_hash() */
	char *def_desc;	    /* and its description ("--count --by type"),
			     * or NULL */
	uint64_t emit_mark; /* events emitted for the source events
			     * before this offset are durable in the
			     * target: a rerun does not emit them
			     * again */
	struct ev_ckpt_skip *skips; /* ascending offsets, each once */
	size_t nskips;
	ev_time_t updated; /* when it was saved (save sets it), or NONE */
	uint8_t *state;	   /* the engine's state: an opaque blob */
	size_t state_n;
	/* a Kafka log's (ev_projection_lock_topic()): its topic (save sets
	 * it), and per partition the offset to read next, -1 for one not
	 * read (ev_checkpoint_set_offsets()); log_id is then all zeros
	 * and next 0 */
	char *topic;
	int64_t *offsets;
	int32_t nparts;
};
void ev_checkpoint_init(struct ev_checkpoint *cp);
/* Free what cp holds, and zero it again (ev_checkpoint_init()). */
void ev_checkpoint_clear(struct ev_checkpoint *cp);
/* Replace the definition (desc may be NULL) or the state (a copy of
 * p[n]): 0, EV_EUSAGE for a description longer than EV_CKPT_DEF_MAX,
 * not UTF-8 or holding a NUL, EV_ERR out of memory. */
int ev_checkpoint_set_def(struct ev_checkpoint *cp, uint64_t hash,
			  const char *desc, struct ev_error *err);
int ev_checkpoint_set_state(struct ev_checkpoint *cp, const void *p, size_t n,
			    struct ev_error *err);
/* Record a skip of offset (time EV_TIME_NONE: now), in order; a skip of
 * the same offset gets the new reason and time.  EV_EUSAGE for a reason
 * that is empty, longer than EV_CKPT_REASON_MAX, not UTF-8 or holding a
 * NUL. */
int ev_checkpoint_add_skip(struct ev_checkpoint *cp, uint64_t offset,
			   const char *reason, ev_time_t time,
			   struct ev_error *err);
/* The skip of offset, or NULL (a binary search). */
const struct ev_ckpt_skip *ev_checkpoint_skipped(const struct ev_checkpoint *cp,
						 uint64_t offset);
/*
 * Was cp made by the definition hash (described as desc)?  0, or
 * EV_EDATA: "projection 'NAME' was built by another definition (OLD);
 * this one is NEW" (or "by another version of its definition (DESC)"
 * when only the hash differs: a Lua file edited), with the hint to
 * rebuild it.
 */
int ev_checkpoint_check_def(const struct ev_checkpoint *cp, const char *name,
			    uint64_t hash, const char *desc,
			    struct ev_error *err);

struct ev_projlock;
/*
 * Hold projection name of log until ev_projection_unlock(): make
 * LOG/projections/ (or STATE_DIR/ and STATE_DIR/projections/) when
 * missing, and take NAME.lock there as groups take theirs.  wait is how
 * long to wait for another run to let go, in seconds: 0 not at all, < 0
 * for as long as it takes.  EV_EUSAGE for a bad name; EV_EAGAIN when
 * another process holds it ("projection 'NAME' is in use by another
 * process (pid N)"), or still does after wait seconds; EV_EIO.
 */
int ev_projection_lock(struct ev_projlock **out, struct ev_log *log,
		       const char *name, const char *state_dir, double wait,
		       struct ev_error *err);
/* Let go.  A projection never saved leaves nothing behind: its lock
 * file, and the directories the lock made, go. */
void ev_projection_unlock(struct ev_projlock *pl);
const char *ev_projlock_name(const struct ev_projlock *pl);
/* Its checkpoint file, DIR/projections/NAME.ckpt (for messages). */
const char *ev_projlock_file(const struct ev_projlock *pl);
/*
 * Read the checkpoint into cp (initialised, or holding one: it is
 * cleared first): 0, or EV_ENOENT when there is none yet (cp left
 * empty); EV_EDATA when the file is damaged (torn, truncated, altered)
 * or not a checkpoint, with a message naming the file and what is
 * wrong, or when it belongs to another log ("projection checkpoint
 * 'FILE' belongs to log ID, but 'LOG' is log ID"); EV_EIO.  A damaged
 * checkpoint is never taken for a missing one: the caller refuses to
 * run (or rebuilds).
 */
int ev_checkpoint_load(struct ev_projlock *pl, struct ev_checkpoint *cp,
		       struct ev_error *err);
/*
 * Write cp as the checkpoint, atomically and durably (temporary file,
 * fsync, rename, fsync of the directory): a crash at any moment leaves
 * the old checkpoint or the new one, whole.  Sets cp->log_id to the
 * log's and cp->updated to now.  EV_EUSAGE when cp holds what a load
 * would refuse (a description or reason too long, skips out of order,
 * a file larger than EV_CKPT_MAX_BYTES), EV_EIO.
 */
int ev_checkpoint_save(struct ev_projlock *pl, struct ev_checkpoint *cp,
		       struct ev_error *err);
/* The checkpoint as the bytes of its file (log_id and updated as cp
 * has them), for a store of its own (a read model's database); and
 * back, what names them in messages, EV_EDATA as a load words it. */
int ev_checkpoint_encode(const struct ev_checkpoint *cp, struct ev_buf *out,
			 struct ev_error *err);
int ev_checkpoint_decode(const uint8_t *p, size_t n, const char *what,
			 struct ev_checkpoint *cp, struct ev_error *err);
/* Remove the checkpoint, durably: 0, also when there was none. */
int ev_checkpoint_delete(struct ev_projlock *pl, struct ev_error *err);

/* A checkpoint as ev_checkpoint_list() finds it. */
struct ev_checkpoint_info {
	char name[EV_GROUP_NAME_MAX + 1];
	char *file;    /* its path */
	int busy;      /* a run holds the projection now */
	int damaged;   /* it could not be read: status and problem say why,
			* and cp is empty */
	int status;    /* 0, or what a load returned (EV_EDATA, EV_EIO) */
	char *problem; /* the load's message, or NULL */
	struct ev_checkpoint cp; /* without its state: state is NULL and
				  * state_n the size of the state saved */
};
/*
 * The checkpoints of log in LOG/projections/, or STATE_DIR/projections/,
 * sorted by name, into *out (ev_checkpoint_list_free()).  Checkpoints of
 * other logs (a state directory may serve several) are left out; a
 * damaged one is listed as such, since which log it belongs to is not
 * known.  Fails only when the directory cannot be read (no directory:
 * none), never for one file.
 */
int ev_checkpoint_list(struct ev_log *log, const char *state_dir,
		       struct ev_checkpoint_info **out, size_t *n,
		       struct ev_error *err);
void ev_checkpoint_list_free(struct ev_checkpoint_info *v, size_t n);

/* ---------------------------------------------------------------- handlers */

#define EV_STDERR_KEEP 4096   /* stderr bytes kept for a dead letter */
#define EV_KILL_GRACE_MS 2000 /* SIGTERM, then SIGKILL after this */
#define EV_MAX_PARALLEL 64

/* A finished handler run. */
struct ev_done {
	void *tag;
	int ok;		 /* exited 0 in time */
	int exit_status; /* -1 when killed by a signal */
	int signal;	 /* 0 unless killed */
	int timed_out;
	double seconds;
	char stderr_tail[EV_STDERR_KEEP];
	size_t stderr_len;
};

struct ev_runner;

/* Run up to max_parallel (1 to EV_MAX_PARALLEL) handlers at once. */
struct ev_runner *ev_runner_new(int max_parallel);
/*
 * Start "sh -c cmd" in its own process group with in on its standard
 * input (in must stay valid until the run ends) and env_add
 * ("NAME=value" strings, kept by the child) added to its environment.
 */
int ev_runner_start(struct ev_runner *r, const char *cmd, const uint8_t *in,
		    size_t in_len, char *const *env_add, int64_t timeout_ms,
		    void *tag, struct ev_error *err);
/* Wait up to timeout_ms (-1: until one ends) for a run to end: 1 with
 * *d filled, 0 on timeout, on a signal, or when nothing runs. */
int ev_runner_wait(struct ev_runner *r, int64_t timeout_ms, struct ev_done *d);
int ev_runner_running(const struct ev_runner *r);
int ev_runner_free_slots(const struct ev_runner *r);
/* Signal every running handler's process group. */
void ev_runner_kill_all(struct ev_runner *r, int sig);
/* Kill and reap whatever still runs, and free. */
void ev_runner_free(struct ev_runner *r);
/* Delay before attempt n+1: base doubling per attempt, up to max, with
 * jitter. */
int64_t ev_backoff_ms(int n, int64_t base_ms, int64_t max_ms);

/* The variables of one handler run (evtail(1) HANDLERS). */
struct ev_handler_vars {
	uint64_t offset;  /* EV_OFFSET: of the (first) event */
	uint64_t attempt; /* EV_ATTEMPT, from 1 */
	int batch;	  /* set EV_COUNT and EV_LAST_OFFSET */
	unsigned count;
	uint64_t last_offset;
	struct ev_str id, type, stream; /* EV_ID, EV_TYPE, EV_STREAM; unset
					 * where p is NULL */
	int has_dlq_offset;		/* EV_DLQ_OFFSET (evdlq retry) */
	uint64_t dlq_offset;
	int has_partition; /* EV_PARTITION: of a Kafka log's event */
	int32_t partition;
};
#define EV_HANDLER_ENV_MAX 10 /* strings ev_handler_env() sets, and NULL */
/* "NAME=value" strings for v into env (EV_HANDLER_ENV_MAX entries),
 * NULL-terminated; release with ev_handler_env_free(). */
int ev_handler_env(char **env, const struct ev_handler_vars *v,
		   struct ev_error *err);
void ev_handler_env_free(char **env);
/* Append a record's line of handler input: its envelope JSON with the
 * offset, and a newline. */
int ev_handler_input(struct ev_buf *in, const uint8_t *rec, size_t n,
		     uint64_t offset, struct ev_error *err);
/* The same for a Kafka log's record: "partition" beside "offset". */
int ev_handler_input_kafka(struct ev_buf *in, const uint8_t *rec, size_t n,
			   int32_t partition, int64_t offset,
			   struct ev_error *err);

/* How a consumer runs handlers: ev_runner_ops runs them for real (ctx
 * is a struct ev_runner); tests give a fake. */
struct ev_handler_ops {
	int (*start)(void *ctx, const char *cmd, const uint8_t *in,
		     size_t in_len, char *const *env, int64_t timeout_ms,
		     void *tag, struct ev_error *err);
	int (*wait)(void *ctx, int64_t timeout_ms, struct ev_done *d);
	int (*running)(void *ctx);
	int (*free_slots)(void *ctx);
	void (*kill_all)(void *ctx, int sig);
};
extern const struct ev_handler_ops ev_runner_ops;

/* ---------------------------------------------------------------- dead letters
 */

/* What a DeadLetter event is made of. */
struct ev_letter_ctx {
	const struct ev_event *source; /* the event (offset, append_time set) */
	const char *source_log;	       /* the source log's path */
	const char *source_log_id;
	const char *group;
	const char *handler;
	unsigned attempts;
	ev_time_t first_failure, last_failure;
	const struct ev_done *done; /* the last failed run */
	uint64_t round;		    /* 1 + earlier letters of this event */
	const char *parked_behind_letter; /* dlq-policy=stream: else NULL */
	uint64_t parked_behind_offset;
	/* the source is a Kafka topic: source->offset is the offset in
	 * this partition */
	int has_source_partition;
	int32_t source_partition;
	/* with has_source_partition: the record's timestamp (ms, -1 when
	 * none) and its EV_KAFKA_TS_* type */
	int64_t source_timestamp;
	int source_timestamp_type;
	/* an event that could not be upcast (why, one line), not one a
	 * handler failed: handler and done are unused then */
	const char *upcast_error;
	/* with upcast_error: the projection that failed on the event
	 * (evproject --on-error dlq), upcast_error the Lua error */
	const char *projection;
	/* a schema letter (evpub --dlq): an event that failed validation
	 * and was never appended.  source has no offset nor append time,
	 * source_log is the log it was for (an absolute path), and group,
	 * handler, done and round are unused (ev_schema_dlq_letter()) */
	const char *schemas; /* the schemas directory, absolute: set for a
			      * schema letter, NULL for any other */
	const char *input;   /* where the event was read: "stdin:17" */
	int require_schemas, formats_assert;
	const char *const *ref_dirs; /* --ref-dir, NULL-terminated, or NULL */
	const struct ev_jschema_error *schema_errors;
	size_t nschema_errors;
	const char *schema_message; /* the errors as lines (exceptionMessage) */
	uint64_t schema_round;	    /* 1 + earlier letters of the event */
};

enum { EV_LETTER_OPEN, EV_LETTER_RESOLVED, EV_LETTER_DISCARDED };
enum {
	EV_RESOLUTION_RESOLVED,
	EV_RESOLUTION_RETRY_FAILED,
	EV_RESOLUTION_DISCARDED
};

/* A dead letter and its state, as read back from a dead-letter log. */
struct ev_letter {
	uint64_t offset; /* in the dead-letter log */
	char *id;
	ev_time_t time; /* when it was written */
	char *group, *source_log, *source_log_id;
	uint64_t source_offset;
	/* a Kafka log's event: its partition (source_offset is there) */
	int has_source_partition;
	int32_t source_partition;
	char *orig_id, *orig_type, *orig_stream; /* stream may be NULL */
	char *error;	   /* the last failure, one line */
	char *stderr_tail; /* the last failure's standard error */
	char *handler;
	uint64_t attempts, round, retries_failed;
	ev_time_t first_failure, last_failure;
	int parked;
	int state;	       /* EV_LETTER_* */
	ev_time_t state_time;  /* when resolved or discarded */
	char *reason;	       /* why it was discarded */
	char *original_json;   /* the original event as evtail --exec gives it:
				* envelope JSON, source_offset as its offset */
	const char *malformed; /* why a DeadLetter record is not a letter
				* (no original event or context), or NULL;
				* such a letter is only ever purged */
	/* what failed: "handler", "parked", "upcast", "projection" or
	 * "schema" (a static string) */
	const char *stage;
	/* a schema letter: its event was never in the log, so it has no
	 * source_offset, and original_json is the envelope without an
	 * offset; input, schemas and the options evpub validated with */
	int no_source_offset;
	char *input, *schemas;
	char **ref_dirs; /* NULL-terminated, or NULL */
	int require_schemas, formats_assert;
};

/* Encode a DeadLetter record into out. */
int ev_dlq_letter_encode(struct ev_buf *out, const struct ev_letter_ctx *c,
			 ev_time_t now, ev_time_t *time, struct ev_error *err);
/* Encode a resolution record (EV_RESOLUTION_*) about letter l. */
int ev_dlq_resolution_encode(struct ev_buf *out, int kind,
			     const struct ev_letter *l, const char *handler,
			     unsigned attempts, const char *reason,
			     const struct ev_done *d, ev_time_t now,
			     ev_time_t *time, struct ev_error *err);
/* A letter's id: "deadletter:GROUP:SOURCELOGID:OFFSET:ROUND". */
void ev_dlq_letter_id(char *out, size_t n, const char *group,
		      const char *source_log_id, uint64_t offset,
		      uint64_t round);
/* A schema letter's id: "deadletter:schema:LOGID:ID:ROUND", from the
 * id of the log it was for and the event's id (malloc'ed; NULL when out
 * of memory), and the round of the next one: 1 + its rounds in v. */
char *ev_dlq_schema_letter_id(const char *log_id, const char *id, size_t id_n,
			      uint64_t round);
uint64_t ev_dlq_schema_next_round(const struct ev_letter *v, size_t n,
				  const char *log_id, const char *id);
/* The round of the next letter of an event: 1 + its rounds in v. */
uint64_t ev_dlq_next_round(const struct ev_letter *v, size_t n,
			   const char *group, const char *source_log_id,
			   uint64_t offset);
/* Does l keep its stream parked for group (dlq-policy stream)? */
int ev_letter_parks(const struct ev_letter *l, const char *group,
		    const char *source_log_id);
/* Open the dead-letter log at path, creating it when missing;
 * EV_EUSAGE when it is source itself. */
int ev_dlq_open(struct ev_log **out, const char *path, struct ev_log *source,
		struct ev_error *err);
/* Take the lock of the writers of a dead-letter log's resolutions
 * (EV_EAGAIN when another holds it); *fd until ev_dlq_unlock(). */
int ev_dlq_lock(struct ev_log *dlq, int *fd, struct ev_error *err);
void ev_dlq_unlock(int fd);
/* Retries keep stream order: for each open letter of a stream, the index
 * in v of the open letter before it of the same stream, group and
 * source log, or n for none, into prev[n]. */
int ev_dlq_stream_prev(const struct ev_letter *v, size_t n, size_t *prev);
/* Append a resolution record (EV_RESOLUTION_*) about l with w, and
 * sync it. */
int ev_dlq_record(struct ev_writer *w, int kind, const struct ev_letter *l,
		  const char *handler, unsigned attempts, const char *reason,
		  const struct ev_done *d, struct ev_error *err);
/* Append the record of a schema letter's retry (EV_RESOLUTION_RESOLVED:
 * its event appended at offset, or found there as a duplicate;
 * EV_RESOLUTION_RETRY_FAILED: still invalid against schemas, with
 * message and errors as in a letter) with w, and sync it. */
int ev_dlq_schema_record(struct ev_writer *w, int kind,
			 const struct ev_letter *l, uint64_t offset,
			 int duplicate, const char *schemas,
			 const char *message,
			 const struct ev_jschema_error *errs, size_t nerrs,
			 struct ev_error *err);
/* Every dead letter of dlq, in offset order, with its state. */
int ev_dlq_scan(struct ev_log *dlq, struct ev_letter **out, size_t *n,
		struct ev_error *err);
void ev_letters_free(struct ev_letter *v, size_t n);

/*
 * Dead letters of the events a scan cannot upcast (--on-error dlq): the
 * event as stored, with the failure as its error.  Open it on a
 * dead-letter log (ev_dlq_open()); group names the consumer group, or
 * is NULL.  Then set ev_upcast_dlq_letter() as the scan's upcast_failed
 * and the handle as its upcast_ctx: each letter is synced before the
 * scan goes on.
 */
struct ev_upcast_dlq;
int ev_upcast_dlq_open(struct ev_upcast_dlq **out, struct ev_log *dlq,
		       const char *source_log, const char *source_log_id,
		       const char *group, struct ev_error *err);
int ev_upcast_dlq_letter(void *ctx, const struct ev_rec *rec,
			 const struct ev_error *why, struct ev_error *err);
/* The letters written. */
uint64_t ev_upcast_dlq_count(const struct ev_upcast_dlq *d);
/* Letters of projection name (evproject --on-error dlq) from now on:
 * the projection's failure, not an upcast's; group is the name. */
void ev_upcast_dlq_set_projection(struct ev_upcast_dlq *d, const char *name);
int ev_upcast_dlq_close(struct ev_upcast_dlq *d, struct ev_error *err);

/* ---------------------------------------------------------------- consumers */

/*
 * A consumer delivers the events of a scan, or the items of a source, to
 * a sink: an output, a callback, or a handler command run with retries,
 * dead letters and parallel runs (evtail(1) HANDLERS).  With a group it
 * commits the position up to which every event is delivered, so that
 * after any crash a restart delivers each event at least once.
 */
struct ev_consumer;

/* After its retries, a handler run that keeps failing: */
enum ev_on_failure {
	EV_FAIL_STOP = 0, /* stop, leaving its events uncommitted */
	EV_FAIL_DLQ,	  /* write a dead letter and go on */
	EV_FAIL_SKIP,	  /* go on without it */
	EV_FAIL_REPORT,	  /* tell on_result and go on (evdlq retry) */
};

/* A monotonic clock in milliseconds, and sleeping on it (tests give a
 * fake one). */
struct ev_clock {
	int64_t (*now_ms)(void *ctx);
	void (*sleep_ms)(void *ctx, int64_t ms);
	void *ctx;
};

/* An item from a source rather than a scan (evdlq retry's letters). */
struct ev_item {
	uint64_t offset;  /* EV_OFFSET */
	const char *json; /* its line of handler input, without '\n' */
	const char *id, *type, *stream; /* EV_ID, EV_TYPE, EV_STREAM, or NULL */
	uint64_t attempts;  /* earlier attempts: EV_ATTEMPT goes on */
	const char *cmd;    /* its handler, or NULL: the consumer's */
	int has_dlq_offset; /* EV_DLQ_OFFSET */
	uint64_t dlq_offset;
	int has_partition; /* EV_PARTITION: a Kafka log's event's */
	int32_t partition;
	void *tag;
};
/* The next item: 1 with *it filled (copied at once), 0 none left, <0. */
typedef int (*ev_source_fn)(void *ctx, struct ev_item *it,
			    struct ev_error *err);

enum ev_result {
	EV_RESULT_OK,	   /* a run succeeded */
	EV_RESULT_FAILED,  /* every run failed */
	EV_RESULT_STOPPED, /* stopped before it was done */
};
/* What became of an item, for EV_FAIL_REPORT: attempts are the runs that
 * ended by themselves, last the last of them.  0, or a status that
 * stops the consumer. */
typedef int (*ev_result_fn)(void *ctx, void *tag, enum ev_result res,
			    unsigned attempts, const struct ev_done *last,
			    struct ev_error *err);

/* A callback sink: 0 delivered, or a status (the event is not). */
typedef int (*ev_sink_fn)(void *ctx, const struct ev_rec *rec,
			  const struct ev_event *ev, struct ev_error *err);
/* Everything delivered so far is out (before a commit). */
typedef int (*ev_flush_fn)(void *ctx, struct ev_error *err);

/*
 * Pacing (evreplay(1) PACE): when each event of a delivery is due.  A
 * steady rate, or the spacing of the events' own times divided by a
 * speed, long silences capped at max_gap_ms.  The schedule is kept from
 * its start: the k-th event is due at start + k/rate, whatever the
 * delays before it, so a run never drifts.
 */
enum ev_pace_mode {
	EV_PACE_RATE = 1, /* rate events a second */
	EV_PACE_SPEED,	  /* the time between events divided by speed */
};
struct ev_pace_opts {
	enum ev_pace_mode mode;
	double rate;	    /* > 0 */
	double speed;	    /* > 0 */
	int64_t max_gap_ms; /* speed: the longest wait; 0 none */
};
struct ev_pace;
int ev_pace_new(struct ev_pace **out, const struct ev_pace_opts *o,
		struct ev_error *err);
void ev_pace_free(struct ev_pace *p);
/* Does the schedule need each event's time (speed)? */
int ev_pace_needs_time(const struct ev_pace *p);
/* Schedule the next event (at offset, with time t), now_ms on the
 * clock waited on: *due_ms is when it is due (the first event: now).
 * EV_EDATA, naming both events, when its time is before the time of
 * the event before it (speed). */
int ev_pace_schedule(struct ev_pace *p, uint64_t offset, ev_time_t t,
		     int64_t now_ms, int64_t *due_ms, struct ev_error *err);
/* "100/s", "30/m" or "100" (a second) into events a second; "10",
 * "0.5" or "60x" into a speed.  EV_EUSAGE with a message that says
 * whether it does not parse or is not above 0. */
int ev_pace_rate_parse(const char *s, double *per_sec, struct ev_error *err);
int ev_pace_speed_parse(const char *s, double *speed, struct ev_error *err);

/* Replay marks (evreplay(1) MARKS): meta.replay = name and
 * meta.replayedAt = at, an RFC 3339 string. */
struct ev_mark {
	const char *name;
	ev_time_t at;
};
/* Append the record of ev again, with the marks set in its meta
 * (replacing marks it has), everything else kept. */
int ev_record_mark(const struct ev_event *ev, const struct ev_mark *m,
		   struct ev_buf *out, struct ev_error *err);

/* How a consumer is getting on, for a progress display: called from
 * its loop at most every tick_ms. */
struct ev_consumer_stats;
typedef void (*ev_tick_fn)(void *ctx, const struct ev_consumer_stats *st);

struct ev_consumer_opts {
	/* what to deliver: the events of a scan, or a source's items */
	struct ev_scan *scan;
	ev_source_fn source;
	void *source_ctx;
	/* where to: an output, a callback, or a handler command */
	struct ev_output *output;
	ev_sink_fn sink;
	ev_flush_fn flush;
	void *sink_ctx;
	int sink_needs_event;
	const char *cmd;
	/* a group: start and commit positions there */
	struct ev_group *group;
	uint64_t commit_every; /* events between commits */
	int64_t commit_ms;     /* and at least this often */
	/* or (also) commit by calling this, after the sink's flush: a
	 * projection's checkpoint.  A failure stops the consumer. */
	int (*commit)(void *ctx, uint64_t position, struct ev_error *err);
	void *commit_ctx;
	int commit_when_idle; /* call it whenever the scan has caught up */
	/* handler runs */
	unsigned retries;
	int64_t backoff_ms, backoff_max_ms;
	int64_t timeout_ms; /* a run that takes longer fails; 0 none */
	int64_t grace_ms;   /* on stop: let runs finish, then SIGTERM */
	enum ev_on_failure on_failure;
	struct ev_log *log; /* the log read, as dead letters name it */
	const char *log_name;
	struct ev_log *dlq; /* EV_FAIL_DLQ: where letters go */
	int park_streams;   /* a letter parks the rest of its stream */
	unsigned batch;	    /* events per run */
	unsigned parallel;  /* runs at once, never two of one stream */
	size_t window;	    /* items held at once; 0: from the above */
	ev_result_fn on_result;
	void *result_ctx;
	ev_notice_fn notice; /* warnings: a batch split, a skip */
	void *notice_ctx;
	const struct ev_clock *clock;	      /* NULL: CLOCK_MONOTONIC */
	const struct ev_handler_ops *handler; /* NULL: real processes */
	void *handler_ctx;
	/* before each event goes to any sink: wait until the pace says it
	 * is due (borrowed; the clock above is waited on), and mark it */
	struct ev_pace *pace;
	const struct ev_mark *mark;
	ev_tick_fn tick; /* progress, at most every tick_ms */
	void *tick_ctx;
	int64_t tick_ms;
	/* a scan of a Kafka log: no struct ev_group nor ev_log; dead
	 * letters name the group group_name and the source source_id
	 * (the letter's logId is SOURCE_ID/PARTITION) */
	const char *group_name;
	const char *source_id;
	/* EV_FAIL_DLQ: or a letter sink (a dead-letter topic) in place of
	 * dlq: it writes lc and makes sure it is kept before it returns 0 */
	int (*letter)(void *ctx, const struct ev_letter_ctx *lc,
		      struct ev_error *err);
	void *letter_ctx;
};
/* Defaults: 3 retries, backoff 1s to 30s, grace 10s, batch 1, parallel
 * 1, a commit every 100000 events or 1s, EV_FAIL_STOP. */
void ev_consumer_opts_init(struct ev_consumer_opts *o);

struct ev_consumer_stats {
	uint64_t handled; /* delivered: printed, or handled */
	uint64_t dead_lettered, skipped;
	int failed;	   /* EV_FAIL_STOP stopped it */
	uint64_t position; /* everything before it is delivered */
	uint64_t committed;
};

int ev_consumer_new(struct ev_consumer **out, const struct ev_consumer_opts *o,
		    struct ev_error *err);
/*
 * Deliver until the scan or source ends, *stop is set (a signal
 * handler's flag), or EV_FAIL_STOP fires; then commit what is
 * delivered.  0, or <0 with err (EV_EIO with ev_output_errno() when
 * the output failed).
 */
int ev_consumer_run(struct ev_consumer *c, volatile sig_atomic_t *stop,
		    struct ev_error *err);
const struct ev_consumer_stats *ev_consumer_stats(const struct ev_consumer *c);
void ev_consumer_free(struct ev_consumer *c);

/*
 * Stored events appended to another log (evreplay --to-log), as a
 * consumer's sink (ev_replay_sink, ev_replay_flush, ctx the struct
 * ev_replay): each keeps its id, time, stream, key, meta and data, and
 * its version, which must follow on from its stream's in the target
 * (else EV_EAGAIN, "stream 'S' is at version 3, event has version 5")
 * unless renumber; an id the target has within its dedupe window is not
 * appended again.  An error names the offset in the source (named
 * source) of the event it stopped at.  What a flush returns from is
 * durable.
 */
struct ev_replay;
struct ev_replay_stats {
	uint64_t appended, duplicates; /* durable so far */
};
int ev_replay_open(struct ev_replay **out, struct ev_log *target,
		   const char *source, int renumber, struct ev_error *err);
int ev_replay_sink(void *ctx, const struct ev_rec *rec,
		   const struct ev_event *ev, struct ev_error *err);
int ev_replay_flush(void *ctx, struct ev_error *err);
const struct ev_replay_stats *ev_replay_stats(const struct ev_replay *r);
/* Flush and release; the first error (err may be NULL). */
int ev_replay_close(struct ev_replay *r, struct ev_error *err);
/* Remove the log at path and everything in it (a log this process made
 * and that must not stay); EV_EUSAGE when it is not a log. */
int ev_log_remove(const char *path, struct ev_error *err);

/* ---------------------------------------------------------------- rewriting */

/*
 * Migrate a whole log (evreplay(1) REWRITING): a new log made of every
 * event of source, upcast by upcaster to its current version (NULL: as
 * stored, a compaction), at target, which must not exist; or, in_place,
 * swapped in for source, which is kept as SOURCE.pre-rewrite-TIME.
 * Ids, times, streams, keys, meta and data are kept as upcasting leaves
 * them, and the records are copied as they are stored.  When no event
 * is dropped or split, offsets, versions and the log id are kept, and
 * the consumer groups of source come along; otherwise the streams that
 * must be numbered afresh are, the new log gets an id of its own, and
 * an offset map TARGET.offsets says where each event went.  The new log
 * is built in a temporary directory beside target, named
 * .NAME.rewrite-PID, checked against source (its events, and each
 * stream's last version) and synced before it takes its name; a rerun
 * removes what an interrupted one left, or finishes its swap.  In
 * place, the events writers append meanwhile are taken in under
 * source's lock before the swap; a writer that opened source before it
 * fails at its next batch (EV_EAGAIN), never appending to the old log.
 *
 * Errors: EV_EEXIST target exists; EV_EUSAGE target is source;
 * EV_ENOENT no source; EV_EDATA an event that cannot be upcast (as a
 * scan words it) or damaged data, EV_EAGAIN a rewrite of the same
 * target running, EV_EIO, EV_ERR (also when *stop was set: nothing is
 * made then).  Nothing is left behind but source as it was.
 */
struct ev_rewrite_progress {
	uint64_t first, end; /* the offsets of source being read */
	uint64_t position;   /* read up to here */
	uint64_t read;	     /* events read so far */
};
typedef void (*ev_rewrite_tick_fn)(void *ctx,
				   const struct ev_rewrite_progress *p);

struct ev_rewrite_opts {
	const char *source;
	const char *target; /* NULL in place */
	int in_place;
	struct ev_upcaster *upcaster; /* borrowed, or NULL */
	volatile sig_atomic_t *stop;  /* set: give up, leaving nothing */
	ev_notice_fn notice;	      /* what was done besides */
	void *notice_ctx;
	ev_rewrite_tick_fn tick; /* progress, at most every tick_ms */
	void *tick_ctx;
	int64_t tick_ms;
};

#define EV_REWRITE_NAMES 5 /* renumbered streams named in a result */
struct ev_rewrite_result {
	uint64_t read;	    /* events read from source */
	uint64_t upcast;    /* of them: changed by a step */
	uint64_t unchanged; /* not */
	uint64_t dropped;   /* dropped by a step */
	uint64_t split;	    /* split by a step ... */
	uint64_t parts;	    /* ... into this many events */
	uint64_t lost;	    /* offsets source lost to gaps (evlog(5)) */
	uint64_t written;   /* events in the new log */
	uint64_t first;	    /* the first offset of both */
	uint64_t old_end, new_end;
	uint64_t caught_up;  /* in place: appended while it ran */
	uint64_t renumbered; /* streams whose versions changed */
	char *renumbered_names[EV_REWRITE_NAMES]; /* the first of them */
	int offsets_kept;
	char *offsets_path;	 /* the offset map, when offsets changed */
	uint64_t groups;	 /* consumer groups in source */
	uint64_t groups_carried; /* and in the new log */
	char *target;		 /* the new log */
	char *old_path;		 /* in place: the old log */
	int finished_swap;	 /* in place: this run finished the swap of an
				  * interrupted one (old_path), nothing else */
	double seconds;
};
int ev_rewrite(const struct ev_rewrite_opts *o, struct ev_rewrite_result *res,
	       struct ev_error *err);
void ev_rewrite_result_free(struct ev_rewrite_result *res);

/* Which letters evdlq's selectors pick (all must match). */
struct ev_letter_select {
	int have_offset; /* DLQ offsets from to to */
	uint64_t from, to;
	const char *type, *stream; /* globs on the original event */
	const char *group;
	int64_t older_ms; /* written at least this long ago */
	int all;	  /* not only open letters */
	void *error;	  /* see ev_letter_select_error() */
	int malformed;	  /* open malformed letters too (purge), unless a
			   * selector on their content is given */
};
/* The last failure (message or stderr) matches an ERE: 0, EV_EUSAGE
 * when ere is not one. */
int ev_letter_select_error(struct ev_letter_select *s, const char *ere);
void ev_letter_select_free(struct ev_letter_select *s);
int ev_letter_selected(const struct ev_letter_select *s,
		       const struct ev_letter *l, ev_time_t now);
const char *ev_letter_state_name(int state);
/* evdlq ls: the letters v[i] with sel[i] set as an aligned table with a
 * heading (nothing when none is), columns as wide as their widest cell,
 * and a STATE column with_state; the first line of each error. */
int ev_letters_table(struct ev_buf *out, const struct ev_letter *v, size_t n,
		     const unsigned char *sel, int with_state, ev_time_t now);
/* Append l as evdlq ls --json's object. */
int ev_letter_to_json(struct ev_buf *out, const struct ev_letter *l,
		      ev_time_t now);

/* evdlq stats: the selected letters counted. */
struct ev_tally {
	char *key;
	uint64_t n;
};
#define EV_DLQ_AGES 4
extern const struct ev_dlq_age {
	const char *name;
	int64_t max_s;
} ev_dlq_ages[EV_DLQ_AGES];
struct ev_dlq_stats {
	uint64_t open, resolved, discarded;
	const struct ev_letter *oldest;	     /* open, or NULL */
	struct ev_tally *by_type, *by_error; /* open ones, most first */
	size_t ntypes, nerrors;
	struct ev_tally *by_stage; /* open ones by what failed (stage) */
	size_t nstages;
	uint64_t by_age[EV_DLQ_AGES];
};
int ev_dlq_stats(const struct ev_letter *v, size_t n,
		 const struct ev_letter_select *s, ev_time_t now,
		 struct ev_dlq_stats *st);
void ev_dlq_stats_free(struct ev_dlq_stats *st);
/* evdlq stats: st as text, one "field: value" line or table each. */
int ev_dlq_stats_text(struct ev_buf *out, const struct ev_dlq_stats *st,
		      ev_time_t now);

/* ---------------------------------------------------------------- retries */

/* What evdlq retry did with a letter, as it goes (evdlq(1) RETRY). */
enum ev_retry_what {
	EV_RETRY_WOULD,	     /* dry run: would be retried */
	EV_RETRY_RESOLVED,   /* a run succeeded; recorded */
	EV_RETRY_STILL_OPEN, /* every run failed; recorded */
	EV_RETRY_LEFT_OPEN,  /* behind an unresolved letter of its stream */
	EV_RETRY_NO_HANDLER, /* neither the letter nor the options name one */
};
struct ev_retry_report {
	enum ev_retry_what what;
	const struct ev_letter *letter;
	const char *cmd;
	unsigned attempts;		 /* STILL_OPEN: runs that failed */
	const struct ev_done *last;	 /* ... the last of them */
	const struct ev_letter *blocker; /* LEFT_OPEN: the letter before */
	int blocker_failed;		 /* ... its retry failed just now */
	int blocker_selected;
	/* a schema letter: the errors as lines (STILL_OPEN), or the
	 * schemas directory (WOULD); where its event went (RESOLVED) */
	const char *message;
	const char *log;
	uint64_t appended_offset;
	int duplicate;
};
typedef void (*ev_retry_fn)(void *ctx, const struct ev_retry_report *r);

struct ev_retry_opts {
	const char *cmd; /* NULL: each letter's own handler */
	unsigned retries;
	int64_t backoff_ms, backoff_max_ms, timeout_ms;
	int dry_run;
	ev_retry_fn report;
	void *ctx;
	const struct ev_clock *clock; /* tests */
	const struct ev_handler_ops *handler;
	void *handler_ctx;
	/* where outcomes go in place of dlq (a dead-letter topic: dlq is
	 * NULL then): as ev_dlq_record() writes them */
	int (*mark)(void *ctx, int kind, const struct ev_letter *l,
		    const char *handler, unsigned attempts, const char *reason,
		    const struct ev_done *d, struct ev_error *err);
	void *mark_ctx;
};

/*
 * Run the selected open letters of dlq (v[i] with sel[i] set, v as
 * ev_dlq_scan() gave it) through a handler again, one at a time in
 * offset order, with retries; a letter waits while an earlier open
 * letter of its stream is unresolved.  Each outcome is recorded in dlq
 * (not on a dry run) and reported.  *resolved counts the letters
 * resolved; stops early when *stop is set.
 */
int ev_dlq_retry(struct ev_log *dlq, const struct ev_letter *v, size_t n,
		 const unsigned char *sel, const struct ev_retry_opts *o,
		 volatile sig_atomic_t *stop, uint64_t *resolved,
		 struct ev_error *err);

/* ---------------------------------------------------------------- metrics */

/* How far a group is behind: events from where it reads next to the
 * end (not those trimmed before it read them), the append time between
 * them in seconds (lag_seconds), and, when age is not NULL, how long the
 * first of them has waited, now minus its append time, 0 when none
 * waits (age_seconds). */
void ev_group_lag(struct ev_log *log, const struct ev_group_state *g,
		  const struct ev_log_info *info, uint64_t *events,
		  double *seconds, double *age);

/* The figures of logs in the Prometheus text format (evctl metrics). */
struct ev_metrics;
int ev_metrics_new(struct ev_metrics **out);
void ev_metrics_free(struct ev_metrics *m);
/* Gather the figures of log (borrowed until ev_metrics_free()), labelled
 * name; groups in state_dir, or NULL for the log's own. */
int ev_metrics_add(struct ev_metrics *m, struct ev_log *log, const char *name,
		   const char *state_dir, struct ev_error *err);
/* Append the exposition of every log added. */
int ev_metrics_format(struct ev_metrics *m, struct ev_buf *out,
		      struct ev_error *err);

/* A Nagios threshold: events behind, or seconds the oldest unconsumed
 * event has waited (age_seconds). */
struct ev_threshold {
	int is_time;
	uint64_t events;
	double seconds;
};
/* The Nagios check of the groups of log (or one): 0 OK, 1 WARNING, 2
 * CRITICAL for the worst of them, with its status line and perfdata in
 * line (NUL-terminated); <0 with err when it cannot tell (EV_ENOENT: no
 * such group, or none; EV_EDATA: the state file of each is damaged).  A
 * group whose state file is damaged is left out, for the caller to
 * report (ev_group_list_all()). */
int ev_lag_check(struct ev_log *log, const char *group, const char *state_dir,
		 const struct ev_threshold *warn,
		 const struct ev_threshold *crit, struct ev_buf *line,
		 struct ev_error *err);

/* evctl info --json of log (named name), and its types with_types. */
int ev_log_info_json(struct ev_buf *out, struct ev_log *log, const char *name,
		     const struct ev_log_info *info,
		     const struct ev_type_count *types, size_t ntypes,
		     int with_types);
/* evctl groups --json of one group. */
int ev_group_to_json(struct ev_buf *out, const struct ev_group_state *g,
		     uint64_t lag, double lag_seconds, double age_seconds);
/* Uncompressed record bytes to bytes on disk. */
double ev_log_info_ratio(const struct ev_log_info *info);
/* evctl info: the same as text, one "field: value" line each. */
int ev_log_info_text(struct ev_buf *out, struct ev_log *log, const char *name,
		     const struct ev_log_info *info,
		     const struct ev_type_count *types, size_t ntypes,
		     int with_types);
/* evctl groups: groups gs[n] of log (whose info is given) as an aligned
 * table with a heading (nothing when n is 0), or as JSON lines. */
int ev_groups_format(struct ev_buf *out, struct ev_log *log,
		     const struct ev_log_info *info,
		     const struct ev_group_state *gs, size_t n, int json);

/* ---------------------------------------------------------------- read models
 */

/*
 * A projection's read model: its states as rows of a SQLite table, one
 * per partition, with the projection's checkpoint in the same database
 * (evproject(1) READ MODELS).  The database is in WAL mode; what one
 * transaction writes is seen whole by readers, or not at all.
 */
struct ev_readmodel;
/* Open the database at path (create: make it when missing) for table;
 * wait: seconds a lock held by another writer is waited for (<0 for
 * ever).  EV_ENOENT missing, EV_EIO cannot open or create, EV_EDATA not
 * a database, EV_EUSAGE a name that cannot be a table's. */
int ev_readmodel_open(struct ev_readmodel **out, const char *path,
		      const char *table, int create, double wait,
		      struct ev_error *err);
void ev_readmodel_close(struct ev_readmodel *rm);
/* The write transaction: EV_EAGAIN when another writer keeps the
 * database locked past the wait. */
int ev_readmodel_begin(struct ev_readmodel *rm, struct ev_error *err);
int ev_readmodel_commit(struct ev_readmodel *rm, struct ev_error *err);
void ev_readmodel_rollback(struct ev_readmodel *rm);
/* The row of the partition key (msgpack, kn bytes): the state's fields
 * (msgpack, an object; anything else is the column "state") as columns,
 * added to the table as they appear.  EV_EDATA for a table that is not
 * a read model's and cannot be made one, or a field that cannot be a
 * column. */
/* A flag (a signal handler's) that ends the waits for another writer. */
void ev_readmodel_set_stop(struct ev_readmodel *rm,
			   volatile sig_atomic_t *stop);
/* Savepoints around one event's SQL: mark, then keep or undo. */
enum ev_readmodel_mark { EV_RM_MARK, EV_RM_KEEP, EV_RM_UNDO };
int ev_readmodel_mark(struct ev_readmodel *rm, enum ev_readmodel_mark what,
		      struct ev_error *err);
/* ev_readmodel_exec() as an ev_projection_sql_fn (ctx the read model). */
int ev_readmodel_sql(void *ctx, const char *sql, const uint8_t *params,
		     size_t pn,
		     int (*row)(void *rctx, const uint8_t *map, size_t n),
		     void *rctx, struct ev_error *err);
/* Is a transaction of ours open?  Begin one when none is. */
int ev_readmodel_in_tx(const struct ev_readmodel *rm);
int ev_readmodel_begin_if(struct ev_readmodel *rm, struct ev_error *err);
/* Remove every row of the table (a rebuild), in the transaction. */
int ev_readmodel_clear(struct ev_readmodel *rm, struct ev_error *err);
int ev_readmodel_put(struct ev_readmodel *rm, const uint8_t *key, size_t kn,
		     const uint8_t *state, size_t sn, struct ev_error *err);
/* The checkpoint saved under name (opaque bytes into out): 0, or
 * EV_ENOENT when there is none yet. */
int ev_readmodel_get_checkpoint(struct ev_readmodel *rm, const char *name,
				struct ev_buf *out, struct ev_error *err);
int ev_readmodel_put_checkpoint(struct ev_readmodel *rm, const char *name,
				const void *p, size_t n, struct ev_error *err);
/*
 * One SQL statement of a projection's, with the values of params (a
 * msgpack array, or NULL) bound to its parameters, under the guard
 * (no ATTACH, DETACH, VACUUM INTO, transactions, pragmas but read-only
 * ones, or writes to the checkpoints).  row, when not NULL, gets each
 * row as a msgpack map of column names to values; a non-zero return
 * stops and is returned.  EV_EDATA with "SQL: ..." for what SQLite
 * refuses.
 */
int ev_readmodel_exec(struct ev_readmodel *rm, const char *sql,
		      const uint8_t *params, size_t pn,
		      int (*row)(void *ctx, const uint8_t *map, size_t n),
		      void *ctx, struct ev_error *err);
/* Make in rm the tables, indexes, views and triggers the database at
 * from has, but its own table and the checkpoints (a shadow gets the
 * live one's schema, empty): 0 also when from does not exist. */
int ev_readmodel_copy_schema(struct ev_readmodel *rm, const char *from,
			     struct ev_error *err);
/* Remove the database at path and its -wal, -shm and -journal files
 * (none there is no error): 0, or -1 with errno. */
int ev_readmodel_remove(const char *path);
/* The checkpoint of name in the database at path, read and let go:
 * EV_ENOENT when there is none (or no database). */
int ev_readmodel_peek_checkpoint(const char *path, const char *name,
				 struct ev_buf *out, struct ev_error *err);
/* The statements of a script, one after the other, under the same
 * guard (a test's setup.sql). */
int ev_readmodel_script(struct ev_readmodel *rm, const char *sql,
			struct ev_error *err);
/* What would change if the table of shadow replaced that of live: a
 * line per row ("+ KEY {...}", "- KEY {...}", "~ KEY {...} -> {...}",
 * KEY a JSON string) appended to out, and the counts. */
struct ev_readmodel_diffstat {
	uint64_t added, removed, changed, unchanged;
};
int ev_readmodel_diff(const char *live, const char *shadow, const char *table,
		      struct ev_buf *out, struct ev_readmodel_diffstat *ds,
		      struct ev_error *err);
/*
 * Replace live by shadow, by rename, so that readers see the old rows
 * or the new, never an error or a mix: the shadow is checkpointed and
 * closed first, and the live database's WAL is emptied and its write
 * lock held while the file is replaced.  EV_EAGAIN when it stays busy
 * past wait seconds; EV_EUSAGE when live holds the checkpoints of
 * projections other than name (NULL: not checked), whose read models
 * the swap would lose.  Readers that keep a connection open across the
 * swap go on reading the old file: they must reopen it.
 */
int ev_readmodel_swap(const char *live, const char *shadow, const char *name,
		      double wait, struct ev_error *err);

/* ---------------------------------------------------------------- projector */

/*
 * What evproject folds with: the built-in folds (ev_proj_engine_fold())
 * or a Lua projection (ev_proj_engine_lua()), behind one face.  apply
 * is a consumer's sink: EV_EDATA is a failure of that event (the
 * message says why), which --on-error decides about; any other error
 * stops the run.
 */
struct ev_proj_engine {
	void *impl;
	int (*apply)(void *impl, const struct ev_rec *rec,
		     const struct ev_event *ev, struct ev_error *err);
	/* everything applied is in the state (NULL: always) */
	int (*flush)(void *impl, struct ev_error *err);
	int (*save)(void *impl, struct ev_buf *out, struct ev_error *err);
	int (*restore)(void *impl, const uint8_t *p, size_t n,
		       struct ev_error *err);
	/* every state in order (read models), or NULL */
	int (*each)(void *impl, ev_projection_fn fn, void *ctx,
		    struct ev_error *err);
	/* give the engine's handlers the read model's SQL, or NULL */
	int (*set_sql)(void *impl, ev_projection_sql_fn fn, void *ctx,
		       struct ev_error *err);
	/* the events the last apply emitted, or NULL */
	size_t (*emitted_count)(void *impl);
	void (*emitted)(void *impl, size_t i, const uint8_t **rec, size_t *n,
			ev_time_t *time);
	uint64_t hash;	      /* of the definition */
	const char *describe; /* "--count --by type", "-p bank.lua" */
};
struct ev_fold;
void ev_proj_engine_fold(struct ev_proj_engine *e, struct ev_fold *f);
void ev_proj_engine_lua(struct ev_proj_engine *e, struct ev_projection *p);

struct ev_projector_opts {
	const char *name;	 /* checkpointed as this; NULL: a one-off run */
	const char *state_dir;	 /* the checkpoint there, not in the log */
	double wait;		 /* for another run: seconds, < 0 for ever */
	double db_wait;		 /* for another writer of the database */
	int rebuild;		 /* from the start, with fresh states */
	const char *sqlite;	 /* the read model's database, or NULL */
	const char *table;	 /* its table; NULL: the name */
	int shadow;		 /* sqlite is a shadow: no lock, no trim mark */
	const char *live_sqlite; /* the shadow's live database: its schema
				  * and its checkpoint's skips and emit mark */
	int follow;
	int64_t checkpoint_ms; /* following: save this often (0: 5000) */
	enum ev_upcast_policy on_error; /* an event the engine fails on */
	/* EV_UPCAST_DLQ: the event and why; 0 goes on */
	int (*failed)(void *ctx, const struct ev_rec *rec,
		      const struct ev_error *why, struct ev_error *err);
	void *failed_ctx;
	struct ev_log *emit_to;	     /* where emitted events go, or NULL */
	volatile sig_atomic_t *stop; /* set (by a signal): save, stop */
	int skip_set;		     /* record a skip of skip_offset */
	uint64_t skip_offset;
	const char *skip_reason;
	/* a scan opened already, read instead of one on log and rd
	 * (borrowed): a Kafka log's (ev_scan_open_kafka()), which has no
	 * single position to checkpoint, so no name (EV_EUSAGE) */
	struct ev_scan *scan;
	/* a Kafka log read from its checkpoint (kproj): the projector opens
	 * the consumer, from the checkpoint's offsets when resuming, and
	 * its scan on the scan options; NULL: log and rd, or scan */
	const struct ev_kafka_consumer_opts *kafka;
	/* with kafka, the skips to record (kproj2), each a partition and
	 * its offset (kind EV_KAFKA_FROM_OFFSET), with skip_reason; a
	 * topic has no single offset for skip_set (EV_EUSAGE) */
	const struct ev_kafka_from *kskips;
	size_t nkskips;
};

struct ev_projector_stats {
	uint64_t start, next;		   /* the offsets read: [start, next) */
	int resumed;			   /* from a checkpoint */
	uint64_t events;		   /* events the selection took */
	uint64_t applied, failed, skipped; /* skipped: recorded skips */
	uint64_t emitted, emits_held;	   /* held: below the emit mark */
	uint64_t emits_dropped; /* no emit log, and no name: not kept */
	uint64_t saves, upcast_failures;
	int stopped;		  /* at an event the engine failed on: */
	uint64_t failed_at;	  /* its offset */
	int32_t failed_partition; /* a Kafka log's: failed_at is in it */
	struct ev_error row_err;
};

/*
 * One run: lock and load the checkpoint (when named), fold what the scan
 * options select after it, and save (evproject(1) CHECKPOINTS).  rd
 * reads log; so is the selection, whose start a checkpoint overrides.
 * EV_EAGAIN when another run holds the projection; EV_EDATA for a
 * checkpoint of another log or definition, or an event that fails with
 * on_error stop (the checkpoint then stays where it was).
 */
/*
 * evproject --status: the checkpoints of log (in state_dir, if given;
 * only name's, if given) as rows: name, next, lag (to end), updated,
 * definition, skips, state_bytes and status (idle, running, damaged).
 * A damaged one is said through notice and sets *damaged.  EV_ENOENT
 * when name has none.
 */
int ev_projector_status(struct ev_log *log, const char *state_dir,
			const char *name, uint64_t end, struct ev_rows **out,
			int *damaged, ev_notice_fn notice, void *ctx,
			struct ev_error *err);
/*
 * evproject --retry-dlq: the open dead letters of projection o->name
 * (group NAME) in dlq, each event read again from log and applied to the
 * projection's checkpointed state, in offset order (its emits appended
 * to o->emit_to).  The state is saved first, with a skip that records
 * each applied letter ("retried: LETTER-ID", so that a rebuild folds the
 * event in turn and a retry interrupted before its records does not
 * apply it twice); then each letter is resolved, or recorded as failed
 * again.  A letter whose event is gone (trimmed) stays open.
 */
struct ev_projector_retry_stats {
	uint64_t selected, resolved, failed, missing;
};
int ev_projector_retry(struct ev_log *log, struct ev_reader *rd,
		       struct ev_log *dlq, struct ev_proj_engine *e,
		       const struct ev_projector_opts *o,
		       struct ev_projector_retry_stats *rs,
		       struct ev_error *err);
int ev_projector_run(struct ev_log *log, struct ev_reader *rd,
		     const struct ev_scan_opts *so, struct ev_proj_engine *e,
		     const struct ev_projector_opts *o,
		     struct ev_projector_stats *st, struct ev_error *err);

/* ---------------------------------------------------------------- projection
 * tests */

/* The msgpack value p[n] as JSON, appended to out (as evtail prints
 * values). */
int ev_value_json(const uint8_t *p, size_t n, struct ev_buf *out,
		  struct ev_error *err);
/* The rows of one SQL query against the database at db (under the
 * guard of ev_readmodel_exec()), a line each, their values joined by
 * '|' as sqlite3 prints them (NULL empty). */
int ev_projtest_sql(const char *db, const char *sql, struct ev_buf *out,
		    struct ev_error *err);
/* A case's setup.sql, run on a new database at db. */
int ev_projtest_setup(const char *db, const char *sql, struct ev_error *err);

/*
 * What evproject --test compares (evproject(1) TESTING PROJECTIONS), as
 * JSON values: object keys in any order, 1 equal to 1.0.  0 equal, 1
 * different (what differs appended to diff, a line each), EV_EDATA when
 * one side is not JSON (the message says which and where).
 *
 * ev_projtest_states(): expect.json against the -o json output of a run:
 * with lua, the output [{"partition": K, "state": S}, ...] is compared
 * as the object {K: S} (K as text); else the rows as they are.
 * ev_projtest_emitted(): expect-emitted.ndjson against the events
 * emitted, line by line, each expected event's keys only (so id and
 * time are checked only when given).
 */
int ev_projtest_states(const char *expect, size_t en, const char *got,
		       size_t gn, int lua, struct ev_buf *diff,
		       struct ev_error *err);
int ev_projtest_emitted(const char *expect, size_t en, const char *got,
			size_t gn, struct ev_buf *diff, struct ev_error *err);

/* ---------------------------------------------------------------- streams */

/* A stream's state (evlog(5) STATE). */
struct ev_stream_info {
	const char *name; /* not NUL-terminated */
	size_t name_len;
	uint64_t last_version;
	uint64_t last_offset;  /* of its newest event */
	uint64_t first_offset; /* of its oldest event */
	uint64_t count;
};

struct ev_state;

/* The streams (and, with want_ids, the dedupe ids) of log, from its
 * snapshot and a replay of the events after it. */
int ev_state_load(struct ev_state **out, struct ev_log *log, int want_ids,
		  struct ev_error *err);
void ev_state_free(struct ev_state *st);
uint64_t ev_state_stream_count(const struct ev_state *st);
/* 1 with *out filled, 0 when the stream has no events. */
int ev_state_stream(struct ev_state *st, const char *name, size_t n,
		    struct ev_stream_info *out);
/* Call fn for every stream, in no order; stops at fn's first non-zero. */
int ev_state_foreach_stream(struct ev_state *st,
			    int (*fn)(void *ctx,
				      const struct ev_stream_info *s),
			    void *ctx);
/* The snapshots of LOG/state/: 0 none, 1 usable, 2 damaged or stale
 * (from a longer log, or trimmed past), <0 error.  end: the log's end
 * to check them against, UINT64_MAX for the end it has now. */
int ev_state_snapshot_status(struct ev_log *log, uint64_t end,
			     struct ev_error *err);
/* Write the snapshots (LOG/state/), atomically. */
int ev_state_snapshot(struct ev_state *st, struct ev_error *err);
/* One stream's state, without loading every stream: its entry in the
 * snapshot and the events since.  1 found, 0 no such stream, <0 error;
 * *end is the log's end it looked up to. */
int ev_state_lookup(struct ev_log *log, const char *name, size_t n,
		    struct ev_stream_info *out, uint64_t *end,
		    struct ev_error *err);
/*
 * Read one stream through its links (evlog(5) STATE), without scanning
 * the log: fn gets its events in order, from version from_version on
 * (0 or 1: all), or only the last `last` of them (0: no limit).  *end is
 * where the log ended when it looked, for a reader to follow on from.
 * Returns 0, 1 when the links cannot be followed (a log written before
 * links, or damaged ones: scan instead, before fn was called), or <0.
 */
int ev_stream_read(struct ev_log *log, const char *name, size_t n,
		   uint64_t from_version, uint64_t last,
		   int (*fn)(void *ctx, const struct ev_rec *rec), void *ctx,
		   uint64_t *end, struct ev_error *err);
/* Is the stream name (n bytes) in category?  Message DB's rule: the
 * category of order-7, and of order, is order. */
int ev_stream_in_category(const char *name, size_t n, const char *category);
/* The streams of st (of category, or all), sorted by name; names point
 * into st.  *out is malloc'ed. */
int ev_stream_list(struct ev_state *st, const char *category,
		   struct ev_stream_info **out, size_t *n);
/* evctl streams: v[n] as an aligned table with a heading (nothing when
 * n is 0), or as JSON lines. */
int ev_streams_format(struct ev_buf *out, const struct ev_stream_info *v,
		      size_t n, int json);

/* ------------------------------------------------------------ JSON Schema
 * (section owned by the validator: lib/jschema*.c) */
struct ev_jschema_set; /* documents by URI, compiled; not thread-safe while
			  adding */
struct ev_jschema;     /* one compiled schema (a document root or a subschema),
			  owned by its set */
struct ev_jschema_ctx; /* per-thread scratch + the errors of the last validation
			*/

enum ev_jschema_draft {
	EV_JS_DRAFT_AUTO = 0, /* from $schema; 2020-12 when absent */
	EV_JS_DRAFT_7 = 7,
	EV_JS_DRAFT_2019_09 = 2019,
	EV_JS_DRAFT_2020_12 = 2020,
};

struct ev_jschema_opts {
	enum ev_jschema_draft draft; /* default when a document has no $schema
					(AUTO = 2020-12) */
	int formats_assert; /* 1: `format` asserts (--formats assert) */
	int check_meta;	    /* 1: validate each added document against its
			       metaschema */
	/* --ref-dir mappings, NULL-terminated: "DIR" maps scheme://host/path
	 * to DIR/host/path; "PREFIX=DIR" maps URIs starting with PREFIX to
	 * DIR/rest (the suite: "http://localhost:1234/=.../remotes") */
	const char *const *ref_dirs;
	/* a directory whose files may be loaded by relative ref from file:
	 * URIs (the schema registry); refs outside it are errors; NULL: none */
	const char *local_root;
	unsigned max_errors; /* errors kept per validation; 0 = 100 */
};

int ev_jschema_set_new(struct ev_jschema_set **out,
		       const struct ev_jschema_opts *o, struct ev_error *err);
void ev_jschema_set_free(struct ev_jschema_set *s);
/* Add a document from JSON text.  name is for messages (a file path);
 * uri its retrieval URI (NULL: file://ABSPATH of name, or a generated
 * urn when name is NULL).  A document with $id is registered under that
 * too.  *out (may be NULL) gets its root.  Errors: EV_EDATA with
 * err->msg like "FILE: /properties/n/pattern: invalid regex: ..." */
int ev_jschema_add(struct ev_jschema_set *s, const char *json, size_t n,
		   const char *name, const char *uri, struct ev_jschema **out,
		   struct ev_error *err);
int ev_jschema_add_file(struct ev_jschema_set *s, const char *path,
			struct ev_jschema **out, struct ev_error *err);
/* The same, from a msgpack JSON-image value. */
int ev_jschema_add_mp(struct ev_jschema_set *s, const uint8_t *mp, size_t n,
		      const char *name, const char *uri,
		      struct ev_jschema **out, struct ev_error *err);
/* Resolve every $ref/$dynamicRef of every added document (loading refs
 * from ref_dirs / local_root, and the embedded metaschemas); required
 * before the first validation; may be called again after more adds.
 * A document that failed to add leaves nothing to resolve, so a set can
 * go on after a bad file.  Errors (EV_EDATA) name the file and keyword:
 * "FILE: /properties/a/$ref: unresolvable $ref 'https://x/y.json': not
 * in the schema directory; map it with --ref-dir", "FILE: /: $ref cycle
 * with no progress". */
int ev_jschema_set_compile(struct ev_jschema_set *s, struct ev_error *err);
/* A schema by absolute URI (with optional #fragment: pointer or anchor),
 * loading an embedded metaschema when asked for one; NULL if none. */
struct ev_jschema *ev_jschema_get(struct ev_jschema_set *s, const char *uri,
				  struct ev_error *err);
/* The draft a compiled schema follows. */
enum ev_jschema_draft ev_jschema_draft_of(const struct ev_jschema *sc);

struct ev_jschema_ctx *ev_jschema_ctx_new(void);
void ev_jschema_ctx_free(struct ev_jschema_ctx *cx);

struct ev_jschema_error {
	const char *instance_path; /* JSON pointer ("" = root), with the ctx
				      prefix */
	const char *schema_path;   /* "NAME#/properties/amount/minimum" (NAME =
				      document name or URI) */
	const char *keyword;	   /* "minimum" */
	const char *message;	   /* one line, ajv-like: "must be >= 0" */
};
/* Validate one msgpack value (a JSON image: nil, bool, int, float, str,
 * array, map with str keys).  Returns 1 valid, 0 invalid (errors in cx),
 * EV_EDATA when the value is not a JSON image (truncated, or a bin/ext or
 * a non-string key where the schema looks; nested deeper than
 * EV_READ_DEPTH) or when evaluation recurses too deep ("schema recursion
 * too deep at ..."), with that one error in cx; EV_EUSAGE when the set
 * was not compiled.  Valid values are checked on a fast path with no
 * allocation; only an invalid one is walked again to collect its errors
 * (at most opts.max_errors).  prefix (may be NULL) is prepended to every
 * instance_path (e.g. "/data").  The errors stay valid until the next
 * validation with cx. */
int ev_jschema_validate(const struct ev_jschema *sc, const uint8_t *mp,
			size_t n, const char *prefix,
			struct ev_jschema_ctx *cx);
size_t ev_jschema_nerrors(const struct ev_jschema_ctx *cx);
const struct ev_jschema_error *
ev_jschema_error_at(const struct ev_jschema_ctx *cx, size_t i);

/* ---------------------------------------------------- the schema registry
 * (evlog-schemas(5); lib/schemadir.c) */
struct ev_schemadir; /* a schemas/ directory, compiled */
struct ev_schemadir_opts {
	struct ev_jschema_opts js; /* check_meta and local_root are set */
	int require_schemas;	   /* a type with no directory is invalid */
};
/* Load and compile every schemas/TYPE/N.json and schemas/_envelope.json.
 * Errors (EV_EDATA; tools exit 64) name the file, keyword path and why:
 * bad JSON, metaschema violation, unresolvable ref, bad regex, a file
 * name that is not N.json, a directory name that does not decode, a
 * type directory without schema files.  EV_ENOENT: no such directory.
 * Only the first problem is in err: ev_schemadir_lint() finds them all. */
int ev_schemadir_open(struct ev_schemadir **out, const char *dir,
		      const struct ev_schemadir_opts *o, struct ev_error *err);
void ev_schemadir_free(struct ev_schemadir *d);
/* The directory as given (without trailing slashes), its number of
 * types, and whether it has an _envelope.json. */
const char *ev_schemadir_path(const struct ev_schemadir *d);
size_t ev_schemadir_ntypes(const struct ev_schemadir *d);
int ev_schemadir_has_envelope(const struct ev_schemadir *d);
/* Does the directory have schemas for type (n bytes)? */
int ev_schemadir_has_type(const struct ev_schemadir *d, const char *type,
			  size_t n);
/* Validate one event record (the msgpack record as evlog(5) stores it,
 * also what the parser builds).  1 valid, 0 invalid (errors in cx,
 * instance paths from the event root: "/data/amount", "/meta/correlationId";
 * a missing schema file is an error whose message names the file),
 * <0 on a record that does not decode.  Thread-safe for distinct cx. */
int ev_schemadir_check(struct ev_schemadir *d, const uint8_t *rec, size_t n,
		       struct ev_jschema_ctx *cx);
/* percent-encoding of type names as directory names, and back */
int ev_schemadir_encode_type(const char *type, size_t n, struct ev_buf *out);
int ev_schemadir_decode_type(const char *name,
			     struct ev_buf *out); /* EV_EDATA if malformed */

/* Every problem of a schema directory (evctl schema lint): those
 * ev_schemadir_open() stops at, each schema compiled on its own (so an
 * error is its file's), and versions that do not run from 1 without
 * gaps.  0 (the problems, maybe none, in *out), EV_ENOENT no such
 * directory, EV_EIO, EV_ERR. */
struct ev_schemadir_lint;
int ev_schemadir_lint(struct ev_schemadir_lint **out, const char *dir,
		      const struct ev_schemadir_opts *o, struct ev_error *err);
void ev_schemadir_lint_free(struct ev_schemadir_lint *l);
size_t ev_schemadir_lint_count(const struct ev_schemadir_lint *l);
/* Problem i: the file (or directory) it is about, and the message,
 * which begins with that file: 1, or 0 past the last. */
int ev_schemadir_lint_problem(const struct ev_schemadir_lint *l, size_t i,
			      const char **file, const char **message);
/* Is problem i one that ev_schemadir_open() stops at (not a gap in the
 * versions, which only lint reports)? */
int ev_schemadir_lint_stops_open(const struct ev_schemadir_lint *l, size_t i);
void ev_schemadir_lint_totals(const struct ev_schemadir_lint *l, size_t *types,
			      size_t *files);
const char *ev_schemadir_lint_path(const struct ev_schemadir_lint *l);
/* The lint report: a line per problem and a summary (human), or one
 * JSON object {"schemas", "types", "files", "problems": [{"file",
 * "message"}]} with a newline. */
int ev_schemadir_lint_write(const struct ev_schemadir_lint *l, int json,
			    struct ev_buf *out);

/* ----------------------------------------------------- schema check reports
 * (lib/schemareport.c): evctl schema check's counts by type, its
 * invalid events grouped by type and by (schema path, message) with the
 * first examples, and the report in four formats. */
struct ev_schemareport;
enum ev_schemareport_format {
	EV_SREPORT_HUMAN = 0, /* by type, then by error, with examples */
	EV_SREPORT_JSON,      /* one JSON document */
	EV_SREPORT_JUNIT,     /* JUnit XML: a test case per type */
	EV_SREPORT_TAP,	      /* TAP 13: a test point per type */
};
/* "human", "json", "junit" or "tap": 0, or EV_EUSAGE. */
int ev_schemareport_format_parse(const char *s, enum ev_schemareport_format *f);
/* A report of events checked against d (borrowed), keeping the first
 * `examples` examples of each error. */
int ev_schemareport_new(struct ev_schemareport **out, struct ev_schemadir *d,
			unsigned examples, struct ev_error *err);
void ev_schemareport_free(struct ev_schemareport *rp);
/* Check on n threads (1, the default, up to 8): with 2 or more, n
 * workers check the records in chunks while the caller reads them (and
 * checks some itself when the workers fall behind).  The report is the
 * same. */
void ev_schemareport_set_threads(struct ev_schemareport *rp, int n);
/* Check every record r reads to its end, each named by its offset;
 * those filter f (may be NULL) rejects by type are passed over.  A
 * record that does not decode is an invalid event.  0, or the reader's
 * error. */
int ev_schemareport_check_log(struct ev_schemareport *rp, struct ev_reader *r,
			      const struct ev_filter *f, struct ev_error *err);
/* Check the NDJSON envelopes of in to its end, each named NAME:LINE; a
 * line that is not an envelope is an invalid event (of no type) whose
 * message is the parser's.  0, or EV_EIO / EV_ERR. */
int ev_schemareport_check_input(struct ev_schemareport *rp, struct ev_input *in,
				const char *name, const struct ev_filter *f,
				struct ev_error *err);
/* Events checked, and invalid ones, so far. */
uint64_t ev_schemareport_events(const struct ev_schemareport *rp);
uint64_t ev_schemareport_invalid(const struct ev_schemareport *rp);
/* Append the report in fmt. */
int ev_schemareport_write(struct ev_schemareport *rp,
			  enum ev_schemareport_format fmt, struct ev_buf *out,
			  struct ev_error *err);

/* ------------------------------------------- schemas at append time
 * (evpub --schemas, evdlq retry of schema letters; lib/pubcheck.c) */

/* The errors of the last ev_schemadir_check() of the record rec in cx,
 * one line each, "TYPE (schema N): PATH: MESSAGE (SCHEMA_PATH)" (no
 * "PATH: " for the event itself), at most max of them, then "... and N
 * more"; each line after prefix (may be NULL), and ending in '\n'. */
int ev_schema_errors_text(struct ev_buf *out, const char *prefix,
			  const uint8_t *rec, size_t n,
			  const struct ev_jschema_ctx *cx, unsigned max);

/* Dead letters of the events evpub --dlq finds invalid.  Open it on a
 * dead-letter log (ev_dlq_open()) for events bound to target, validated
 * against the schemas directory dir with o.  Letters are written as
 * they come and synced by ev_schema_dlq_flush() (and close). */
struct ev_schema_dlq;
int ev_schema_dlq_open(struct ev_schema_dlq **out, struct ev_log *dlq,
		       struct ev_log *target, const char *dir,
		       const struct ev_schemadir_opts *o, struct ev_error *err);
/* The letter of the record rec, invalid with the errors in cx, read at
 * input ("stdin:17"). */
int ev_schema_dlq_letter(struct ev_schema_dlq *d, const uint8_t *rec, size_t n,
			 const char *input, const struct ev_jschema_ctx *cx,
			 struct ev_error *err);
/* Would that letter fit in a record?  A letter keeps at most 100
 * errors, each string cut to 1 KiB, within 32 KiB ("... and N more"
 * after), and fewer when the event is large; 0, or EV_EDATA when the
 * event is too large for any letter (ev_schema_dlq_letter() then fails
 * the same way, and writes nothing). */
int ev_schema_dlq_letter_fits(struct ev_schema_dlq *d, const uint8_t *rec,
			      size_t n, const char *input,
			      const struct ev_jschema_ctx *cx,
			      struct ev_error *err);
/* Letters name the log w appends to as each is written
 * (ev_writer_log_id()), not the target's id when d was opened: w follows
 * a rewrite in place to the new log at the target's path, and the valid
 * events with it.  w must outlive d's letters. */
void ev_schema_dlq_follow(struct ev_schema_dlq *d, struct ev_writer *w);
int ev_schema_dlq_flush(struct ev_schema_dlq *d, struct ev_error *err);
uint64_t ev_schema_dlq_count(const struct ev_schema_dlq *d);
int ev_schema_dlq_close(struct ev_schema_dlq *d, struct ev_error *err);

struct ev_schema_retry_opts {
	const char *schemas; /* NULL: each letter's own directory */
	/* --ref-dir mappings, NULL-terminated, instead of each letter's
	 * own (NULL: the letter's) */
	const char *const *ref_dirs;
	int dry_run;
	ev_retry_fn report;
	void *ctx;
};
/*
 * evdlq retry of the selected open schema letters of dlq (v[i] with
 * sel[i] set and v[i].stage "schema"; ev_dlq_retry() leaves them out):
 * each event validated again, in offset order, and appended to its log
 * when it passes, which resolves its letter; when it fails, the new
 * errors are recorded and the letter stays open.  A letter waits while
 * an earlier open letter of its stream is unresolved.  Adds the letters
 * resolved to *resolved.  A schemas directory that does not load is
 * EV_EUSAGE (its errors in err).
 */
int ev_dlq_retry_schema(struct ev_log *dlq, const struct ev_letter *v, size_t n,
			const unsigned char *sel,
			const struct ev_schema_retry_opts *o,
			volatile sig_atomic_t *stop, uint64_t *resolved,
			struct ev_error *err);

/* ------------------------------------------------ schema compatibility
 * (lib/schemacompat.c; the schema files and --data:
 * lib/schemacompat_data.c) */

/*
 * Are two JSON Schemas compatible, in the Confluent Schema Registry's
 * sense (evlog-schemas(5) COMPATIBILITY)?  BACKWARD: every instance valid
 * under OLD is valid under NEW (readers of NEW read what OLD wrote);
 * FORWARD: the other way; FULL: both.  A structural comparison: what it
 * cannot decide it reports as incompatible, and what it assumes without
 * proof as a warning.
 */
enum ev_compat_mode {
	EV_COMPAT_BACKWARD = 1,
	EV_COMPAT_FORWARD = 2,
	EV_COMPAT_FULL = 3,
};

struct ev_compat_issue {
	const char *rule; /* stable name, from OLD to NEW: "required-added" */
	int direction;	  /* EV_COMPAT_BACKWARD or EV_COMPAT_FORWARD */
	int warning;	  /* assumed compatible: reported, does not fail */
	int in_new;	  /* path is into NEW (1) or OLD (0) */
	const char *path; /* JSON pointer into that schema ("" = root) */
	const char *message; /* one line, "old allows null, new does not" */
};
struct ev_compat; /* the outcome of one comparison */

/* "backward", "forward" or "full": 0, or EV_EUSAGE. */
int ev_compat_mode_parse(const char *s, enum ev_compat_mode *out);
const char *ev_compat_mode_name(enum ev_compat_mode m);
/*
 * Read the JSON Schema file path into out as its msgpack image.
 * EV_ENOENT when it is missing; EV_EDATA "PATH:LINE:COLUMN: why" when it
 * is not JSON, or "PATH: not a schema" when it is neither an object nor
 * a boolean; EV_EIO.
 */
int ev_compat_load(const char *path, struct ev_buf *out, struct ev_error *err);
/* Compare two schemas (msgpack images, as ev_compat_load() reads them),
 * named in messages old_name and new_name (NULL: "old", "new").  *out
 * (ev_compat_free() it) holds the issues found.  0; EV_EDATA for a schema
 * that violates its metaschema or has a bad regex ("NAME: /type: must
 * match a schema in anyOf (metaschema ...)"); EV_ERR. */
int ev_compat_check(struct ev_compat **out, const uint8_t *old_mp, size_t old_n,
		    const uint8_t *new_mp, size_t new_n,
		    enum ev_compat_mode mode, const char *old_name,
		    const char *new_name, struct ev_error *err);
void ev_compat_free(struct ev_compat *c);
size_t ev_compat_count(const struct ev_compat *c);    /* issues */
size_t ev_compat_failures(const struct ev_compat *c); /* not warnings */
const struct ev_compat_issue *ev_compat_at(const struct ev_compat *c, size_t i);
/*
 * The report of one comparison, appended to out.  Text: a line per issue,
 * "NAME#PATH: RULE (DIRECTION): message" ("warning: " before a warning),
 * then "compatible (MODE): OLD -> NEW" or "incompatible (MODE): OLD -> NEW:
 * N incompatibilities, M warnings".  JSON: one object {"old", "new",
 * "mode", "compatible", "incompatibilities": [...], "warnings": [...]},
 * each issue {"rule", "direction", "schema": "old"|"new", "path",
 * "message"}, no newline.
 */
int ev_compat_report(struct ev_buf *out, const struct ev_compat *c,
		     const char *old_name, const char *new_name,
		     enum ev_compat_mode mode, int json);
/*
 * The versions of a registry type directory (DIR/TYPE: 1.json, 2.json,
 * ...), ascending, in *v (free() it).  Other names are not versions: a
 * name like 01.json or x.json is EV_EDATA naming it.  EV_ENOENT when dir
 * is missing, EV_EDATA when it has no N.json.
 */
int ev_compat_versions(const char *dir, uint64_t **v, size_t *n,
		       struct ev_error *err);

/*
 * The data-aware check: every stored event of type (upcast with up, when
 * not NULL) validated against the schema sc of its data.  Counts, and the
 * first max_examples failures (0: 5) with their first error.
 */
struct ev_compat_example {
	uint64_t offset;
	char instance_path[256]; /* "/data/amount" */
	char message[512];	 /* "must be >= 0", or why it was not read */
};
struct ev_compat_data {
	uint64_t events;	/* events of the type (after upcasting) */
	uint64_t failed;	/* invalid under the schema */
	uint64_t upcast_failed; /* could not be upcast (counted in failed) */
	struct ev_compat_example *examples;
	size_t nexamples;
};
/* binary_ok: the schema is true or {}, which binary data passes */
int ev_compat_data_check(struct ev_log *log, struct ev_upcaster *up,
			 const char *type, const struct ev_jschema *sc,
			 int binary_ok, size_t max_examples,
			 struct ev_compat_data *out, struct ev_error *err);
void ev_compat_data_free(struct ev_compat_data *d);
/* The type whose schemas the file path (DIR/TYPE/N.json) is one of: its
 * directory's name, percent-decoded (evlog-schemas(5)), malloc'd in *type.
 * EV_EDATA when the name does not decode, or the file is in no directory
 * (/N.json). */
int ev_compat_type_of(const char *path, char **type, struct ev_error *err);

/* ------------------------------------------------------ schema inference
 * (lib/schemainfer.c) */

/*
 * A draft 2020-12 JSON Schema of `data` for each (type, schema version)
 * of the events observed, which every observed value validates against
 * (evctl(1) "schema infer" gives the rules).  The output depends only on
 * the multiset of values seen, not on their order.  Repeated shapes cost
 * no allocation.
 */
struct ev_schemainfer;
struct ev_schemainfer_opts {
	/* an enum lists at most this many distinct strings; 0: no enums */
	unsigned enum_max;
	/* an object position with more distinct keys is a map, whose values
	 * share one schema (additionalProperties); 0: 1000 */
	size_t max_props;
};
#define EV_SCHEMAINFER_ENUM_MAX 1000 /* the largest enum_max */
/* enum_max 8, max_props 1000 */
void ev_schemainfer_opts_init(struct ev_schemainfer_opts *o);
int ev_schemainfer_new(struct ev_schemainfer **out,
		       const struct ev_schemainfer_opts *o,
		       struct ev_error *err);
void ev_schemainfer_free(struct ev_schemainfer *si);
/* Observe only events of this type (exact name); may be called for
 * several types.  Without a call, every type is observed. */
int ev_schemainfer_only(struct ev_schemainfer *si, const char *type,
			struct ev_error *err);
/* Observe the data of one record (as the reader or the parser gives it).
 * 1 observed, 0 left out (another type), EV_EDATA when the record does
 * not decode, EV_ERR out of memory. */
int ev_schemainfer_record(struct ev_schemainfer *si, const uint8_t *rec,
			  size_t n, struct ev_error *err);
/* Observe one data value: msgpack (a JSON image, or a bin for binary
 * data), or NULL for an event without data.  schema 0 means 1.  1, 0,
 * EV_EDATA when the value is not a JSON image, EV_ERR. */
int ev_schemainfer_value(struct ev_schemainfer *si, const char *type,
			 size_t type_n, uint64_t schema, const uint8_t *data,
			 size_t n, struct ev_error *err);
/* What was observed, in order of type (bytewise), then schema version. */
struct ev_schemainfer_entry {
	const char *type; /* NUL-terminated, valid while si is */
	size_t type_n;
	uint64_t schema;
	uint64_t events;
};
size_t ev_schemainfer_count(struct ev_schemainfer *si);
void ev_schemainfer_entry(struct ev_schemainfer *si, size_t i,
			  struct ev_schemainfer_entry *e);
/* Append the schema of entry i to out: pretty-printed JSON (2-space
 * indent, properties and enum values sorted bytewise), with a final
 * newline.  0 or EV_ERR. */
int ev_schemainfer_format(struct ev_schemainfer *si, size_t i,
			  struct ev_buf *out, struct ev_error *err);
/* Write DIR/TYPE/N.json for every entry (TYPE percent-encoded as
 * evlog-schemas(5) says), making DIR and DIR/TYPE as needed.  Replaces
 * nothing: when a file exists, EV_EEXIST naming it, before anything is
 * written.  EV_EIO.  written (may be NULL) gets the paths made, one a
 * line. */
int ev_schemainfer_write_dir(struct ev_schemainfer *si, const char *dir,
			     struct ev_buf *written, struct ev_error *err);

/* ---- archive: export, import, reading in place (evctl(1) EXPORT, IMPORT) */

enum ev_archive_format {
	EV_ARCHIVE_NONE = 0, /* not known (a name with no such ending) */
	EV_ARCHIVE_TAR,
	EV_ARCHIVE_TAR_ZST,
	EV_ARCHIVE_TAR_GZ,
	EV_ARCHIVE_ZIP,
};
/* The format a file name's ending asks for (.tar, .tar.zst or .tzst,
 * .tar.gz or .tgz, .zip), or EV_ARCHIVE_NONE. */
enum ev_archive_format ev_archive_format_by_name(const char *name);
/* "tar", "tar.zst", "tar.gz", "zip": the format, or EV_ARCHIVE_NONE. */
enum ev_archive_format ev_archive_format_parse(const char *s);

struct ev_export_report {
	uint64_t first, end; /* the offsets exported: first to before end */
	uint64_t segments;
	uint64_t bytes;	 /* of the log's files stored */
	uint64_t events; /* in them: the offsets less those of gaps */
};
/*
 * Write a snapshot of log to fd as an archive of format fmt: the log's
 * meta, head and segments up to the durable end that the head names when
 * the call starts (writers may append meanwhile), then the segments'
 * indexes, under one directory named after the log.  Segments are stored
 * as they are.  0, EV_EDATA (a damaged log), EV_EIO.
 */
int ev_log_export_fd(struct ev_log *log, int fd, enum ev_archive_format fmt,
		     struct ev_export_report *rep, struct ev_error *err);
/* The same into the file path, written beside it and renamed over it
 * once complete. */
int ev_log_export(struct ev_log *log, const char *path,
		  enum ev_archive_format fmt, struct ev_export_report *rep,
		  struct ev_error *err);

struct ev_import_opts {
	uint64_t max_bytes; /* the files unpacked may total at most this;
			     * 0: the free space of the file system */
};
struct ev_import_report {
	uint64_t entries, bytes, segments, events;
};
/*
 * Unpack the archive file (or "-": standard input) into a new log dst:
 * into a new directory beside dst, checked entry by entry (only the names
 * a log holds, regular files, each name once, sizes bounded), verified
 * as evctl verify does, and only then renamed to dst.  Nothing is written
 * outside that directory, which a failure removes.  EV_EEXIST when dst
 * exists, EV_ENOENT when the archive does not, EV_EDATA when it is
 * refused (the message names the entry), EV_EIO.
 */
int ev_log_import(const char *archive, const char *dst,
		  const struct ev_import_opts *o, struct ev_import_report *rep,
		  struct ev_error *err);

/* 1 when path is a regular file that libarchive reads as an archive (tar
 * or zip, compressed or not), 0 otherwise.  A segment is told by its
 * magic, without loading libarchive; any other file is 1 when libarchive
 * cannot be loaded (ev_reader_open_archive() then says why). */
int ev_archive_probe(const char *path);
/*
 * A reader of the log held in the archive at path, read in place: the
 * archive is streamed and each segment, in turn, copied into memory and
 * checked as the segment of a directory is.  Seeks work (an earlier
 * segment means reading the archive again from its start); indexes are
 * not used; nothing is followed.  Memory: one segment at a time.
 */
int ev_reader_open_archive(struct ev_reader **out, const char *path,
			   struct ev_error *err);
/* 1 when r reads an archive (which cannot grow: nothing to follow). */
int ev_reader_is_archive(const struct ev_reader *r);
/* ---- interactive sessions (evtail -i, evtail(1) INTERACTIVE SESSION) */

/*
 * The interpreter of evtail -i: it takes command lines and writes what
 * they produce to a FILE *; it never reads the terminal.  A session has
 * a current event (where next, prev and find go on from), a filter, an
 * output format and a last search.  Long commands (whole-log stats,
 * find, save) go window by window: between windows they call progress
 * and look at *stop, and end with EV_EAGAIN "COMMAND: interrupted" when
 * it is set.
 */
#include <stdio.h> /* FILE */

struct ev_isession;

/* done of total offsets looked at so far by command what */
typedef void (*ev_progress_fn)(void *ctx, const char *what, uint64_t done,
			       uint64_t total);

struct ev_isession_opts {
	const char *name; /* the log as named to the user (prompt, messages) */
	int color;	  /* ANSI colours, and the match highlighted */
	int rows, cols;	  /* the screen; 0: none (lines are not cut) */
	volatile sig_atomic_t *stop; /* Ctrl-C: long commands end; or NULL */
	ev_progress_fn progress;     /* or NULL */
	void *ctx;
	/* Scripted sessions: 1 when the next command line is waiting, so
	 * that follow ends there; or NULL (follow ends at Ctrl-C only) */
	int (*next_waiting)(void *ctx);
};

/* A session on log (NULL for a lone segment file) read by r (borrowed,
 * both kept open by the caller while the session lives), positioned at
 * the end. */
int ev_isession_new(struct ev_isession **out, struct ev_log *log,
		    struct ev_reader *r, const struct ev_isession_opts *o,
		    struct ev_error *err);
void ev_isession_free(struct ev_isession *s);
/* The screen changed size (0: no screen). */
void ev_isession_set_size(struct ev_isession *s, int rows, int cols);
/* The first screen: the last rows-2 events of the log. */
int ev_isession_screen(struct ev_isession *s, FILE *out, struct ev_error *err);
/*
 * Run one command line (evtail(1) INTERACTIVE SESSION): 0 done,
 * EV_ISESSION_QUIT for quit, or <0 with err's message, which names the
 * command ("goto: ..."): EV_EUSAGE a bad command or argument, EV_EAGAIN
 * interrupted, EV_ENOENT nothing there (no such stream, no more events),
 * others as the library's.
 */
#define EV_ISESSION_QUIT 1
int ev_isession_run(struct ev_isession *s, const char *line, FILE *out,
		    struct ev_error *err);
/* "NAME> ", or with filters "NAME [type T*, where x > 1]> "; valid until
 * the next call of ev_isession_run(). */
const char *ev_isession_prompt(struct ev_isession *s);
/*
 * Completion candidates for word, the text from start to the cursor in
 * line (line: the whole line up to the cursor): commands, their words,
 * event types, stream names (at most EV_ISESSION_MAX_STREAMS with that
 * prefix, found without sorting every stream) and the field paths of the
 * current event.  *v (NULL-terminated, malloc'ed: free with
 * ev_isession_complete_free()) and *n; returns 0, EV_ISESSION_FILES when
 * a file name goes there, or <0.
 */
#define EV_ISESSION_FILES 1
#define EV_ISESSION_MAX_STREAMS 200
int ev_isession_complete(struct ev_isession *s, const char *line, size_t start,
			 char ***v, size_t *n);
void ev_isession_complete_free(char **v);
/* The commands, NULL-terminated (for help and completion). */
const char *const *ev_isession_commands(void);
/* ---- trace: the correlation index (lib/corrindex.c) and the trace tree
 * (lib/trace.c); evtail --trace, evlog(5) CORRELATION INDEX */

/* What a lookup or an update did. */
struct ev_corrindex_stats {
	uint64_t runs;	     /* index runs used */
	uint64_t entries;    /* entries in them */
	uint64_t scanned;    /* events read because no run covered them */
	uint64_t written;    /* runs written for them */
	uint64_t candidates; /* offsets the index gave */
	uint64_t matched;    /* of them, events that have the key */
};
#define EV_CIX_NO_WRITE 1 /* store nothing (a read-only look) */
#define EV_CIX_IGNORE 2	  /* scan the log, as without an index */
#define EV_CIX_ID_ONLY 4  /* events whose id is key, not correlationId */
/*
 * Call fn, in offset order, with every event of the log whose id or
 * meta.correlationId (a string) is key (n bytes).  log may be NULL (rd
 * reads one segment file): the events are then scanned.  Otherwise the
 * index in LOG/corrindex/ gives candidates, each read and compared
 * before fn sees it, and the offsets no good part of the index covers
 * are scanned and, unless EV_CIX_NO_WRITE, indexed (where the log can
 * be written; a failure to write is not an error).  0, fn's first
 * non-zero, or <0.
 */
int ev_corrindex_find(struct ev_log *log, struct ev_reader *rd, const char *key,
		      size_t n, int flags,
		      int (*fn)(void *ctx, const struct ev_rec *rec), void *ctx,
		      struct ev_corrindex_stats *stats, struct ev_error *err);
/* Index what the index does not cover yet (a writer's update). */
int ev_corrindex_update(struct ev_log *log, struct ev_corrindex_stats *stats,
			struct ev_error *err);
/* Remove the index and build it again from the events (evctl repair). */
int ev_corrindex_rebuild(struct ev_log *log, struct ev_corrindex_stats *stats,
			 struct ev_error *err);
/* Does log have an index (LOG/corrindex/)? */
int ev_corrindex_exists(struct ev_log *log);

struct ev_trace;
enum ev_trace_format {
	EV_TRACE_TEXT = 0, /* an indented tree, as Jaeger shows a trace */
	EV_TRACE_JSON,	   /* the tree as nested JSON */
	EV_TRACE_CHROME,   /* Chrome's trace-event format (Perfetto) */
};
/*
 * The events of one flow: those whose id or meta.correlationId is id,
 * as a tree by meta.causationId.  flags as for ev_corrindex_find().
 * An id that no event has gives a trace of 0 events, not an error.
 * Free with ev_trace_free().
 */
int ev_trace_build(struct ev_trace **out, struct ev_log *log,
		   struct ev_reader *rd, const char *id, size_t n, int flags,
		   struct ev_error *err);
void ev_trace_free(struct ev_trace *t);
size_t ev_trace_count(const struct ev_trace *t);
const struct ev_corrindex_stats *ev_trace_stats(const struct ev_trace *t);
/* Append the trace to out; color (text only) adds ANSI colours. */
int ev_trace_format(const struct ev_trace *t, enum ev_trace_format f, int color,
		    struct ev_buf *out, struct ev_error *err);

/* ---- schema check: the type an event was checked as */

/* ev_schemadir_check(), with the event's type in *type (valid while rec
 * is) and its index among the directory's types in *type_ix (from 0 to
 * ev_schemadir_ntypes() - 1; SIZE_MAX for a type without schemas) when
 * the record decodes (the result is not EV_EDATA). */
int ev_schemadir_check_type(struct ev_schemadir *d, const uint8_t *rec,
			    size_t n, struct ev_jschema_ctx *cx,
			    struct ev_str *type, size_t *type_ix);

/* ---- kafka: Kafka logs (lib/kafka.c; evtail(1) and evpub(1) KAFKA) */

/* JSON output of a Kafka log: the partition of the events to come,
 * written first, beside the offset (-1: none, the default). */
void ev_output_set_partition(struct ev_output *o, int32_t partition);

#define EV_KAFKA_PREFIX "kafka://"

/* kafka://HOST:PORT[,HOST:PORT...]/TOPIC */
struct ev_kafka_addr {
	char brokers[1024]; /* "HOST:PORT,..." as bootstrap.servers */
	char topic[250];
};
/* Does s begin with kafka://? */
int ev_kafka_is_addr(const char *s);
/* EV_EUSAGE saying what is wrong with a malformed address. */
int ev_kafka_addr_parse(const char *s, struct ev_kafka_addr *a,
			struct ev_error *err);

/* librdkafka properties, in the order given; the last value of a
 * property wins.  Zero-initialise. */
struct ev_kafka_props {
	char **kv; /* name, value, name, value... */
	size_t n;
};
/* -X "property=value" */
int ev_kafka_props_add(struct ev_kafka_props *p, const char *arg,
		       struct ev_error *err);
/* --kafka-config FILE: kcat's properties file (property=value lines,
 * blank lines and # comments skipped). */
int ev_kafka_props_load(struct ev_kafka_props *p, const char *path,
			struct ev_error *err);
/* Does librdkafka take every property?  0, or EV_EUSAGE with its
 * message ("-X: ..."): a mistake of the command line, which a tool says
 * before it opens the client (whose own errors come from the cluster). */
int ev_kafka_props_check(const struct ev_kafka_props *p, struct ev_error *err);
const char *ev_kafka_props_get(const struct ev_kafka_props *p, const char *k);
void ev_kafka_props_free(struct ev_kafka_props *p);

/* How events travel in records (--kafka-format). */
enum ev_kafka_format {
	EV_KAFKA_BINARY = 0, /* CloudEvents binary mode: ce_* headers */
	EV_KAFKA_STRUCTURED, /* a CloudEvents JSON value */
	EV_KAFKA_ENVELOPE,   /* evlog's envelope JSON value */
};
int ev_kafka_format_parse(const char *s, enum ev_kafka_format *f,
			  struct ev_error *err);

/* One Kafka record, as produced or consumed.  Zero-initialise, then
 * ev_kafka_msg_reset() before use. */
#define EV_KAFKA_MAX_HEADERS 1024
struct ev_kafka_header {
	char *name;
	uint8_t *value; /* NUL-terminated copy; NULL: a null header */
	size_t len;
};
struct ev_kafka_msg {
	struct ev_buf key, value;
	int has_key, has_value; /* 0: a null key or value */
	struct ev_kafka_header *h;
	size_t nh, caph;
	int64_t timestamp;  /* ms since the epoch, -1 when none */
	struct ev_buf hs;   /* the headers' names and values, kept by reset */
	int timestamp_type; /* a record read: EV_KAFKA_TS_*, 0 when none */
};
/* A record's timestamp type, as librdkafka gives it. */
enum { EV_KAFKA_TS_NONE, EV_KAFKA_TS_CREATE, EV_KAFKA_TS_LOG_APPEND };
void ev_kafka_msg_reset(struct ev_kafka_msg *m);
void ev_kafka_msg_free(struct ev_kafka_msg *m);
/* A copy of the header; v NULL for a null one.  EV_EDATA past
 * EV_KAFKA_MAX_HEADERS, EV_ERR out of memory. */
int ev_kafka_msg_add_header(struct ev_kafka_msg *m, const char *name,
			    const void *v, size_t n);
/* The last header of that name, or NULL. */
const struct ev_kafka_header *ev_kafka_msg_header(const struct ev_kafka_msg *m,
						  const char *name);
/* The record of an event in format fmt (evpub(1) KAFKA). */
int ev_kafka_event_to_msg(const struct ev_event *ev, enum ev_kafka_format fmt,
			  struct ev_kafka_msg *m, struct ev_error *err);
/*
 * The event of a record read from TOPIC's partition at offset, as one
 * JSON line appended to out, for ev_parser_line() in the format *fmt
 * (EV_FMT_ENVELOPE or EV_FMT_CLOUDEVENTS).  The format is detected from
 * the headers: ce_* (binary mode), content-type
 * application/cloudevents+json (structured) or application/vnd.evlog+json
 * (envelope), else a foreign record, type kafka.record.  EV_EDATA for
 * incomplete CloudEvents headers.
 */
int ev_kafka_msg_to_json(const struct ev_kafka_msg *m, const char *topic,
			 int32_t partition, int64_t offset, struct ev_buf *out,
			 enum ev_format *fmt, struct ev_error *err);

/*
 * Every reader of a Kafka log turns records into events the same way:
 * ev_kafka_decode() maps a record read from TOPIC's partition at offset
 * (ev_kafka_msg_to_json()) and parses it, so rec and ev hold the event
 * as a local log's reader gives it, rec->offset and ev->offset the
 * record's offset; both stay valid until the next call.  EV_EDATA names
 * the record (topic:partition:offset) when it is not an event.  ev may
 * be NULL: rec alone (rec->append_time the event's time), not decoded.
 */
struct ev_kafka_decoder;
int ev_kafka_decoder_new(struct ev_kafka_decoder **out, struct ev_error *err);
void ev_kafka_decoder_free(struct ev_kafka_decoder *d);
int ev_kafka_decode(struct ev_kafka_decoder *d, const struct ev_kafka_msg *m,
		    const char *topic, int32_t partition, int64_t offset,
		    struct ev_rec *rec, struct ev_event *ev,
		    struct ev_error *err);

/* The librdkafka client (lib/kafka_client.c, kafka_produce.c,
 * kafka_consume.c, kafka_start.c, kafka_group.c).  Every wait on the cluster
 * is bounded by timeout_ms (--kafka-timeout): an unreachable cluster is
 * EV_EIO within it; a missing topic EV_ENOENT; a bad -X property
 * EV_EUSAGE with librdkafka's message. */
struct ev_kafka_conn_opts {
	const struct ev_kafka_addr *addr;
	const struct ev_kafka_props *props; /* -X, --kafka-config; or NULL */
	int timeout_ms;
};

/* The idempotent producer: enable.idempotence, acks=all, zstd,
 * partitioner=murmur2_random (as the Java client), unless -X says
 * otherwise.  ack gets each record's delivery report: its partition and
 * offset, or error (not NULL) when it was not delivered. */
typedef void (*ev_kafka_ack_fn)(void *ctx, void *opaque, int32_t partition,
				int64_t offset, const char *error);
struct ev_kafka_producer;
int ev_kafka_producer_open(struct ev_kafka_producer **out,
			   const struct ev_kafka_conn_opts *o,
			   ev_kafka_ack_fn ack, void *ctx,
			   struct ev_error *err);
/* Queue m (copied); opaque is given back to ack.  Not queued (an
 * error): no ack comes. */
int ev_kafka_produce(struct ev_kafka_producer *p, const struct ev_kafka_msg *m,
		     void *opaque, struct ev_error *err);
/* Wait for every delivery report.  EV_EIO naming the broker error and
 * the count not delivered when any failed. */
int ev_kafka_producer_flush(struct ev_kafka_producer *p, struct ev_error *err);
/* Serve the delivery reports that came (the ack callback), without
 * waiting: for a caller that is idle, waiting for input. */
void ev_kafka_producer_poll(struct ev_kafka_producer *p);
/* Wait up to timeout_ms for delivery reports: the count still waiting. */
int ev_kafka_producer_wait(struct ev_kafka_producer *p, int timeout_ms);
/* Give up on what is not delivered yet: each gets its report, an error
 * (Purged), within about 5 s. */
void ev_kafka_producer_purge(struct ev_kafka_producer *p);
uint64_t ev_kafka_producer_acked(const struct ev_kafka_producer *p);
void ev_kafka_producer_close(struct ev_kafka_producer *p);

/* --from on a Kafka log: start, end, @TIME (every partition) or
 * PARTITION:OFFSET (that one; may be repeated). */
enum ev_kafka_from_kind {
	EV_KAFKA_FROM_START = 0,
	EV_KAFKA_FROM_END,
	EV_KAFKA_FROM_TIME,
	EV_KAFKA_FROM_OFFSET,
};
struct ev_kafka_from {
	enum ev_kafka_from_kind kind;
	int32_t partition; /* EV_KAFKA_FROM_OFFSET, else -1 */
	int64_t offset;
	ev_time_t time;
};
int ev_kafka_from_parse(const char *s, struct ev_kafka_from *f,
			struct ev_error *err);

/* A consumer without a group: it reads every partition of the topic (or
 * those --from PARTITION:OFFSET names) from its position; without
 * follow, up to the end each had when it got there. */
struct ev_kafka_consumer_opts {
	struct ev_kafka_conn_opts conn;
	const struct ev_kafka_from *from; /* in order; the last one wins */
	size_t nfrom;
	int has_last; /* -n: the last `last` of each partition, merged by
			 record time */
	uint64_t last;
	int follow;
	/* a consumer group (evtail --group): subscribe as group.id and
	 * commit by ev_kafka_consumer_commit(); NULL: assign the
	 * partitions, as above */
	const char *group;
	/* --to PARTITION:OFFSET (kind EV_KAFKA_FROM_OFFSET): each partition
	 * named stops after that offset (kpos) */
	const struct ev_kafka_from *to;
	size_t nto;
	/* a cursor file (ev_kafka_cursor_load()) named in messages: from
	 * then holds its offsets, and the partitions it does not name are
	 * read from the start; its offsets are checked against the
	 * partitions' first and end offsets */
	const char *cursor_name;
	/* the positions of what was delivered are kept per partition, for
	 * a cursor file (ev_kafka_cursor_store()) */
	int track;
	/* a cursor's partition count (0: not checked): a topic with another
	 * count is EV_EDATA, and the cursor is read for exactly the
	 * partitions it names; cursor_what names it in messages (NULL:
	 * "cursor file") */
	int32_t cursor_parts;
	const char *cursor_what;
	/* warnings: a cursor's offset below its partition's first, the
	 * records between deleted by retention (it reads on from the
	 * first) */
	ev_notice_fn notice;
	void *notice_ctx;
};
struct ev_kafka_consumer;
int ev_kafka_consumer_open(struct ev_kafka_consumer **out,
			   const struct ev_kafka_consumer_opts *o,
			   struct ev_error *err);
/* The next record into m: 1, 0 at the end (not following), EV_EAGAIN
 * when none came within timeout_ms, or an error. */
int ev_kafka_consumer_next(struct ev_kafka_consumer *c, int timeout_ms,
			   struct ev_kafka_msg *m, int32_t *partition,
			   int64_t *offset, struct ev_error *err);
void ev_kafka_consumer_close(struct ev_kafka_consumer *c);

/* ---- reader read-ahead: reading batches ahead on more than one thread */

/* Threads (1 or 2; 2 by default, 1 on a machine with one processor)
 * that read and decompress batches ahead of the reader, into a ring of a
 * few batches; 0 for none, the reader reading each batch itself (a read
 * that stops after a batch or two).  Set before the first read:
 * afterwards it has no effect.  What the reader returns does not
 * change, only how soon. */
void ev_reader_set_readahead(struct ev_reader *r, int threads);

/* ---- kafka scan: a Kafka log as a scan (lib/kafka_scan.c) */

/*
 * A scan of the records kc reads from topic, so that whatever takes a
 * scan (evtail, evreplay, evproject, the consumer engine) reads Kafka
 * as it reads a local log.  The scan numbers the records 0, 1, 2, ... in
 * the order it reads them: that is rec->offset and the scan's position
 * (monotonic, as the engine needs); rec->kafka is set, and
 * rec->partition and rec->koffset say where each record is in the
 * topic.  Of o, the filter, from_version, to (TIME only), has_max,
 * follow, decode, upcasting and notice are used; the start (--from, -n)
 * is kc's.  Not following, the scan ends when kc has read every
 * partition to its end; no record and no end within kc's timeout is
 * EV_EIO.  A record that is not an event is EV_EDATA naming
 * topic:partition:offset.  kc is borrowed: free the scan first.
 */
struct ev_kafka_consumer;
int ev_scan_open_kafka(struct ev_scan **out, struct ev_kafka_consumer *kc,
		       const char *topic, const struct ev_scan_opts *o,
		       struct ev_error *err);
/* Is s a scan of a Kafka log? */
int ev_scan_is_kafka(const struct ev_scan *s);
/* A record that is not an event (EV_EDATA from ev_kafka_decode()): an
 * error that stops the scan, or, lenient, given as the kafka.record
 * event of its key and value with rec->kafka_error set, for the
 * consumer engine to dead-letter or skip (--on-failure). */
void ev_kafka_scan_set_lenient(struct ev_scan *s, int lenient);
/*
 * The offsets to commit for a scan position: for each partition p below
 * nparts, next[p] = 1 + the offset of the last record of p the scan
 * read below position (the contiguous prefix), or -1 when it read none
 * there since the last call.  Positions must not go back between calls.
 */
int ev_kafka_scan_offsets(struct ev_scan *s, uint64_t position, int64_t *next,
			  int nparts);
/* The number of partitions of the scan's topic. */
int ev_kafka_scan_partitions(const struct ev_scan *s);
/* A group's commit of a scan position (ctx: the scan), as
 * ev_consumer_opts.commit takes it: ev_kafka_scan_offsets(), then
 * ev_kafka_consumer_commit().  Offsets of partitions a rebalance took
 * away are not committed. */
int ev_kafka_scan_commit(void *scan, uint64_t position, struct ev_error *err);
/* Who commits what is finished when a rebalance revokes partitions (the
 * consumer engine does, for a Kafka scan); NULL: nobody. */
void ev_kafka_scan_on_revoke(struct ev_scan *s, void (*fn)(void *ctx),
			     void *ctx);
/* Was the record at position pos (read, not yet below a commit) of a
 * partition a rebalance has since revoked?  Its next owner reads it again
 * from the group's commit: the engine drops it rather than handle it. */
int ev_kafka_scan_revoked(const struct ev_scan *s, uint64_t pos);

/* What a consumer was opened with, and its topic's partition count. */
const char *ev_kafka_consumer_group(const struct ev_kafka_consumer *c);
int ev_kafka_consumer_following(const struct ev_kafka_consumer *c);
int ev_kafka_consumer_timeout(const struct ev_kafka_consumer *c);
int ev_kafka_consumer_partitions(const struct ev_kafka_consumer *c);
/*
 * A consumer of a group: who hears of partitions revoked by a rebalance
 * (called from within ev_kafka_consumer_next(), before they go: commit
 * what is finished then); does it own partition p now (always, without
 * a group); and commit next[p] (>= 0) for each partition p it owns,
 * synchronously.  EV_EAGAIN when the group moved on (a rebalance): those
 * offsets are the next owner's to handle again.
 */
typedef void (*ev_kafka_revoke_fn)(void *ctx, const int32_t *parts, int n);
void ev_kafka_consumer_on_revoke(struct ev_kafka_consumer *c,
				 ev_kafka_revoke_fn fn, void *ctx);
int ev_kafka_consumer_owns(const struct ev_kafka_consumer *c, int32_t p);
int ev_kafka_consumer_commit(struct ev_kafka_consumer *c, const int64_t *next,
			     int nparts, struct ev_error *err);
/* ---- kdlq: dead-letter topics (lib/kafka_dlq.c; evdlq(1) KAFKA) */

/* Letters read back one event at a time, in offset order (ev_dlq_scan()
 * for a log, ev_kafka_dlq_scan() for a topic).  Zero-initialise. */
struct ev_letters {
	struct ev_letter *v;
	size_t n, cap;
};
/* Take ev, at offset among the dead letters: a DeadLetter, or a record
 * that resolves, discards or retried one; other events are ignored. */
int ev_letters_add(struct ev_letters *a, const struct ev_event *ev,
		   uint64_t offset, struct ev_error *err);
void ev_letters_clear(struct ev_letters *a);

/*
 * A dead-letter topic, kafka://HOST:PORT/TOPIC.DLT.  A letter is a
 * record of the original key and value (as evpub's binary mode makes
 * them) with Spring Kafka's kafka_dlt-* headers (partition, offset and
 * timestamp as big-endian binary numbers, as Spring writes them),
 * Kafka Connect's __connect.errors.* headers (text), and the whole
 * DeadLetter event as evlog_letter (envelope JSON).  Resolutions and
 * discards are records in the topic too (binary mode, types
 * DeadLetterResolved...).  evlog writes all of them to partition 0,
 * where a letter's offset names it; evdlq reads partition 0.
 */
struct ev_kafka_dlq;
/* The topic must exist (EV_ENOENT); conn is borrowed. */
int ev_kafka_dlq_open(struct ev_kafka_dlq **out,
		      const struct ev_kafka_conn_opts *conn,
		      struct ev_error *err);
/* The record of a letter (key, value, headers), at time now. */
int ev_kafka_letter_msg(const struct ev_letter_ctx *lc, ev_time_t now,
			struct ev_kafka_msg *m, struct ev_error *err);
/* ev_consumer_opts.letter, ctx the handle: the letter produced and
 * acknowledged; its round counts the topic's letters of the event. */
int ev_kafka_dlq_letter(void *ctx, const struct ev_letter_ctx *lc,
			struct ev_error *err);
uint64_t ev_kafka_dlq_count(const struct ev_kafka_dlq *d);
/* Every letter of the topic with its state, as ev_dlq_scan(); *others
 * counts records in other partitions (not read). */
int ev_kafka_dlq_scan(struct ev_kafka_dlq *d, struct ev_letter **out, size_t *n,
		      uint64_t *others, struct ev_error *err);
/* Before a scan: the offsets whose records it keeps as JSON, for
 * ev_kafka_dlq_letter_json() (none by default; a copy is kept). */
int ev_kafka_dlq_want_json(struct ev_kafka_dlq *d, const uint64_t *offsets,
			   size_t n, struct ev_error *err);
/* After a scan: the DeadLetter record at offset as JSON (as
 * ev_record_to_json()), or NULL when no letter is there or its offset
 * was not wanted. */
const char *ev_kafka_dlq_letter_json(const struct ev_kafka_dlq *d,
				     uint64_t offset);
/* What ev_dlq_record() writes to a log, to the topic and acknowledged:
 * an ev_retry_opts.mark (ctx the handle). */
int ev_kafka_dlq_mark(void *ctx, int kind, const struct ev_letter *l,
		      const char *handler, unsigned attempts,
		      const char *reason, const struct ev_done *d,
		      struct ev_error *err);
const char *ev_kafka_dlq_name(const struct ev_kafka_dlq *d);
void ev_kafka_dlq_close(struct ev_kafka_dlq *d);
/* ev_kafka_produce() to one partition (lib/kafka_produce.c) */
int ev_kafka_produce_to(struct ev_kafka_producer *p,
			const struct ev_kafka_msg *m, int32_t partition,
			void *opaque, struct ev_error *err);

/* ---- kreplay: Kafka replay targets (lib/kafka_sink.c; evreplay(1)) */

/*
 * Stored events produced into a Kafka topic (evreplay --to-log
 * kafka://...), as a consumer's sink (ev_kafka_sink_event,
 * ev_kafka_sink_flush, ctx the struct ev_kafka_sink): each event, as the
 * consumer gives it (marked, upcast), becomes a record in format fmt
 * (ev_kafka_event_to_msg()) through the idempotent producer.  What a
 * flush returns from is acknowledged (acks=all).  A topic keeps no stream
 * versions and no dedupe window: nothing is checked, and a second run
 * produces the events again.  A failed delivery is EV_EIO naming the
 * count not delivered and the lowest offset in the source (named source)
 * among them, for a Kafka source the lowest in each partition
 * ("offsets P:O, ..."); the sink stops at its next event after one.
 */
struct ev_kafka_sink;
struct ev_kafka_sink_stats {
	uint64_t sent, delivered, failed; /* failed: not delivered */
};
int ev_kafka_sink_open(struct ev_kafka_sink **out,
		       const struct ev_kafka_conn_opts *co,
		       enum ev_kafka_format fmt, const char *source,
		       struct ev_error *err);
int ev_kafka_sink_event(void *ctx, const struct ev_rec *rec,
			const struct ev_event *ev, struct ev_error *err);
int ev_kafka_sink_flush(void *ctx, struct ev_error *err);
const struct ev_kafka_sink_stats *
ev_kafka_sink_stats(const struct ev_kafka_sink *s);
/* Flush (err may be NULL) and release: the flush's result. */
int ev_kafka_sink_close(struct ev_kafka_sink *s, struct ev_error *err);
/* Once *stop is set (SIGINT, SIGTERM), a flush waits for the acks at most
 * the connection's timeout_ms (--kafka-timeout) more, then gives up on
 * the rest: they are not delivered, as with a failed delivery. */
void ev_kafka_sink_set_stop(struct ev_kafka_sink *s,
			    const volatile sig_atomic_t *stop);
/* Events of a Kafka source (rec->kafka) not delivered: the lowest offset
 * of partition among them, or -1 (none, or a local source); partition -1:
 * the lowest offset of a local source's not delivered, or -1. */
int64_t ev_kafka_sink_failed_from(const struct ev_kafka_sink *s,
				  int32_t partition);

/* ---- kadmin: Kafka topics, groups, lag and health (lib/kafka_admin.c;
 * evctl(1) KAFKA) */

/* A broker the cluster's metadata names; up: it answered a metadata
 * request of its own within the timeout (1), or not (0). */
struct ev_kafka_broker_info {
	int32_t id;
	char host[256];
	int port;
	int up;
};
/* A partition: its leader (-1: none), replicas and in-sync replicas,
 * watermarks (-1 when unknown, err saying why: no leader, its leader
 * down, the broker's error). */
struct ev_kafka_part_info {
	int32_t partition;
	int32_t leader;
	int nreplicas, nisr;
	int64_t low, high;
	char err[128];
};
struct ev_kafka_topic_info {
	char topic[250];
	int32_t controller;		      /* -1: none named */
	struct ev_kafka_broker_info *brokers; /* by id */
	size_t nbrokers;
	struct ev_kafka_part_info *parts; /* by partition */
	size_t nparts;
};
/* The topic of o->addr: metadata within the timeout (else EV_EIO), the
 * topic (else EV_ENOENT), each broker asked (all at once), each
 * partition's watermarks from its leader. */
int ev_kafka_topic_describe(const struct ev_kafka_conn_opts *o,
			    struct ev_kafka_topic_info **out,
			    struct ev_error *err);
void ev_kafka_topic_info_free(struct ev_kafka_topic_info *ti);
const struct ev_kafka_broker_info *
ev_kafka_broker_find(const struct ev_kafka_topic_info *ti, int32_t id);

/* Create the topic of o->addr through the admin API (CreateTopics, to
 * the controller): partitions and replication -1 for the cluster's
 * defaults.  0 created, 1 when it existed already, or an error: EV_ERR
 * (with a hint) when the cluster names no controller, as librdkafka's
 * mock cluster; EV_EUSAGE for partitions or a replication factor the
 * cluster refuses; EV_EIO otherwise.  evpub --create and the replay
 * target call it before producing. */
int ev_kafka_topic_create(const struct ev_kafka_conn_opts *o, int partitions,
			  int replication, struct ev_error *err);

/* A consumer group's committed offsets on the partitions of a topic
 * info (in its order; -1: none); any: some partition has one. */
struct ev_kafka_group_offsets {
	char *group;
	int64_t *committed;
	int any;
};
/* One group's committed offsets (OffsetFetch: it does not join). */
int ev_kafka_group_fetch(const struct ev_kafka_conn_opts *o,
			 const struct ev_kafka_topic_info *ti,
			 const char *group, struct ev_kafka_group_offsets *g,
			 struct ev_error *err);
/* Those of the groups named, or (groups NULL) of every group listed
 * that has offsets on the topic. */
int ev_kafka_groups_fetch(const struct ev_kafka_conn_opts *o,
			  const struct ev_kafka_topic_info *ti,
			  const char *const *groups, size_t ngroups,
			  struct ev_kafka_group_offsets **out, size_t *nout,
			  struct ev_error *err);
void ev_kafka_group_offsets_free(struct ev_kafka_group_offsets *g, size_t n);
/* Every consumer group of the cluster, sorted (the admin API's
 * ListGroups to every broker).  EV_ERR with a hint when the cluster does
 * not answer ListGroups (librdkafka 2.0.2's mock cluster). */
int ev_kafka_group_list(const struct ev_kafka_conn_opts *o, char ***names,
			size_t *n, struct ev_error *err);
void ev_kafka_group_names_free(char **names, size_t n);
/* The lag of a committed offset (-1: none) on a partition: from the low
 * watermark when none or below it.  0; 1 when it is past the high
 * watermark; -1 when the watermarks are unknown. */
int ev_kafka_partition_lag(const struct ev_kafka_part_info *p,
			   int64_t committed, uint64_t *lag);

/* evctl info, groups (one row per group and partition; --json one
 * object per group) of a Kafka log named name. */
int ev_kafka_info_format(struct ev_buf *out, const char *name,
			 const struct ev_kafka_topic_info *ti, int json);
int ev_kafka_groups_format(struct ev_buf *out,
			   const struct ev_kafka_topic_info *ti,
			   const struct ev_kafka_group_offsets *g, size_t n,
			   int json);
/* evctl lag: 0 OK, 1 WARNING, 2 CRITICAL for the worst group (event
 * thresholds), its status line and perfdata in line (NUL-terminated);
 * <0 when it cannot tell (EV_ENOENT: a group without committed offsets,
 * or none). */
int ev_kafka_lag_check(const struct ev_kafka_topic_info *ti,
		       const struct ev_kafka_group_offsets *g, size_t n,
		       const struct ev_threshold *warn,
		       const struct ev_threshold *crit, struct ev_buf *line,
		       struct ev_error *err);
/* evctl health: 2 CRITICAL when a partition has no leader up, no
 * broker is up, or group_err (not NULL) says the groups' offsets could
 * not be fetched; 1 WARNING when a broker is down or a group is more
 * than max_lag events behind (degraded); else 0; the line as above. */
int ev_kafka_health_check(const char *name,
			  const struct ev_kafka_topic_info *ti,
			  const struct ev_kafka_group_offsets *g, size_t n,
			  const char *group_err, uint64_t max_lag,
			  struct ev_buf *line, struct ev_error *err);
/* evctl metrics: the Prometheus text exposition of Kafka logs, with a
 * partition label beside the local metrics' names. */
struct ev_kafka_metrics_log {
	const char *name;
	const struct ev_kafka_topic_info *ti;
	const struct ev_kafka_group_offsets *groups;
	size_t ngroups;
};
int ev_kafka_metrics_format(struct ev_buf *out,
			    const struct ev_kafka_metrics_log *l, size_t n);

/* ---- lazyload: libraries loaded when a run needs them (lib/dl.c) */
/*
 * librdkafka and libarchive are not linked into the tools: each is
 * loaded (dlopen) the first time a Kafka client is made or an archive
 * opened.  When it cannot be, the call fails EV_EUNAVAIL with "cannot
 * load librdkafka.so.1: ..." in its message, and the tools exit 69
 * (EX_UNAVAILABLE).  The variables EVLOG_LIBRDKAFKA and EVLOG_LIBARCHIVE,
 * when set and not empty, name the file to load instead of the SONAME.
 */
#define EV_EUNAVAIL (-8)       /* a library the run needs cannot be loaded */
#define EV_EXIT_UNAVAILABLE 69 /* EX_UNAVAILABLE */

/* ---- kpos: positions per partition on Kafka logs */
/* --to PARTITION:OFFSET: 1 with *t set, 0 when s is not of that form
 * (--to @TIME is the scan's). */
int ev_kafka_to_parse(const char *s, struct ev_kafka_from *t);
/* A Kafka log's cursor file (evtail(1) KAFKA):
 *   evlog-cursor 1 topic=TOPIC next=P:OFFSET[,P:OFFSET...]
 * its offsets as --from PARTITION:OFFSET positions (*from malloc'ed).
 * EV_ENOENT when path does not exist; EV_EDATA for a file that is not a
 * cursor, a local log's cursor, or another topic's. */
int ev_kafka_cursor_load(const char *path, const char *topic,
			 struct ev_kafka_from **from, size_t *n,
			 struct ev_error *err);
/* Write the cursor of a consumer opened with track: for each partition,
 * the offset after the last record delivered (ev_kafka_consumer_commit()
 * of the scan's positions), else where it started. */
int ev_kafka_cursor_store(const char *path, const struct ev_kafka_consumer *c,
			  struct ev_error *err);
/* Does the consumer keep its positions (a group, or track)? */
int ev_kafka_consumer_tracks(const struct ev_kafka_consumer *c);

/* ---- kmore: dead letters of evpub and of upcasting on Kafka logs */

/* A sink of dead letters in place of a dead-letter log: a dead-letter
 * topic's ev_kafka_dlq_letter(). */
typedef int (*ev_letter_sink_fn)(void *ctx, const struct ev_letter_ctx *lc,
				 struct ev_error *err);
/* Where evpub --dlq's letters go, and the log they are for. */
struct ev_schema_dlq_to {
	struct ev_log *dlq; /* a dead-letter log, or NULL with sink */
	ev_letter_sink_fn sink;
	void *sink_ctx;
	const char *dlq_name;  /* the sink's name, in messages */
	const char *target;    /* the log they were for, as letters name it:
				* an absolute path, or a kafka:// address */
	const char *target_id; /* its id: a log's, or a topic's name */
};
/* ev_schema_dlq_open() for any target and letter sink. */
int ev_schema_dlq_open_to(struct ev_schema_dlq **out,
			  const struct ev_schema_dlq_to *to, const char *dir,
			  const struct ev_schemadir_opts *o,
			  struct ev_error *err);
/* ev_upcast_dlq_open() with its letters to sink (named sink_name in
 * messages).  The letters of a Kafka record (rec->kafka) name its
 * partition and offset, and the source id source_log_id/PARTITION, as a
 * handler's letters do, whatever the dead-letter log or sink. */
int ev_upcast_dlq_open_sink(struct ev_upcast_dlq **out, ev_letter_sink_fn sink,
			    void *sink_ctx, const char *sink_name,
			    const char *source_log, const char *source_log_id,
			    const char *group, struct ev_error *err);
/* ev_trace_build() for a log without an index (a Kafka log): the
 * events of scan (opened with decode set) read to its end, those of a
 * Kafka log named by partition and offset; the causes of orphans are not
 * looked for elsewhere.  Stops early, with what it has, when *stop. */
int ev_trace_build_scan(struct ev_trace **out, struct ev_scan *scan,
			const char *id, size_t n,
			const volatile sig_atomic_t *stop,
			struct ev_error *err);

/* ---- kproj: checkpoints of projections of Kafka logs */
/*
 * ev_projection_lock() for a projection of a Kafka topic, which has no
 * log directory: state_dir is needed (EV_EUSAGE without it), and holds
 * projections/NAME.ckpt and NAME.lock beside it.  Its checkpoint holds
 * the topic and an offset per partition (evlog(5)): a load refuses one
 * of another topic, or a local log's, EV_EDATA.
 */
int ev_projection_lock_topic(struct ev_projlock **out, const char *topic,
			     const char *name, const char *state_dir,
			     double wait, struct ev_error *err);
/* Replace the offsets (a copy of off[n], -1 for a partition not read):
 * 0, or EV_ERR out of memory. */
int ev_checkpoint_set_offsets(struct ev_checkpoint *cp, const int64_t *off,
			      int32_t n, struct ev_error *err);
/* ev_checkpoint_add_skip() and ev_checkpoint_skipped() of a Kafka
 * topic's checkpoint: the record at offset of partition (kproj2); the
 * skips are ordered by partition, then offset. */
int ev_checkpoint_add_skip_at(struct ev_checkpoint *cp, int32_t partition,
			      uint64_t offset, const char *reason,
			      ev_time_t time, struct ev_error *err);
const struct ev_ckpt_skip *
ev_checkpoint_skipped_at(const struct ev_checkpoint *cp, int32_t partition,
			 uint64_t offset);
/* Is cp the checkpoint of topic (a Kafka log's; NULL: of log)?  0, or
 * EV_EDATA "WHAT belongs to kafka topic 'T', not to 'U'" (or to log ID,
 * or "..., but 'LOG' is log ID"), as ev_checkpoint_load() refuses a
 * file; what names the checkpoint (a read model's too). */
int ev_checkpoint_check_owner(const struct ev_checkpoint *cp, const char *what,
			      struct ev_log *log, const char *topic,
			      struct ev_error *err);
/* Make cp the checkpoint of topic (its log_id all zeros, next 0), or of
 * log when topic is NULL, as ev_checkpoint_save() does: 0, or EV_ERR. */
int ev_checkpoint_set_owner(struct ev_checkpoint *cp, struct ev_log *log,
			    const char *topic, struct ev_error *err);
/* ev_checkpoint_list() of the projections of topic in state_dir (needed:
 * EV_EUSAGE without it); the damaged ones too, whose topic is not
 * known. */
int ev_checkpoint_list_topic(const char *topic, const char *state_dir,
			     struct ev_checkpoint_info **out, size_t *n,
			     struct ev_error *err);
/* ev_projector_status() of the projections of topic ti->topic: next is
 * each partition's offset (P:OFFSET,...), lag the records after them
 * up to ti's high watermarks. */
int ev_projector_status_topic(const struct ev_kafka_topic_info *ti,
			      const char *state_dir, const char *name,
			      struct ev_rows **out, int *damaged,
			      ev_notice_fn notice, void *ctx,
			      struct ev_error *err);

/* ---- ingest */
/* A hint: about bytes of input are to be appended (the size of the files
 * being read), set before the first event is added.  The writer sizes
 * its dedupe table once for the events that many bytes hold, judged from
 * the first batch (at most the window's worth), rather than growing it
 * as they come.  It never changes what is written. */
void ev_writer_expect_bytes(struct ev_writer *w, uint64_t bytes);

/* ---- kcommit: a group member's last commits (lib/kafka_group.c,
 * lib/kafka_scan.c; evtail(1) KAFKA Consumer groups) */

/* The end of a group member's run, after its last commit: what a
 * rebalance refused to commit (handled, not committed) is sent again
 * while the partitions are ours, waiting for a rebalance under way to
 * give them back (the consumer is polled: what it reads then is not
 * handled), within the consumer's timeout.  0 when nothing is left;
 * EV_EAGAIN, err naming each partition and its offsets, when a
 * rebalance gave some to another member or did not end in time: their
 * next owner handles those events again (nothing is lost); EV_EIO when
 * the commit failed otherwise.  0 without a group. */
int ev_kafka_consumer_settle(struct ev_kafka_consumer *c, struct ev_error *err);
/* The same for the consumer of a Kafka scan (0 for other scans); the
 * consumer engine calls it after its last commit. */
int ev_kafka_scan_settle(struct ev_scan *s, struct ev_error *err);

/* ---- kfix: fixes from an audit (evreplay, Kafka places, dead letters) */

/* evreplay --to-log --on-error skip */
/*
 * An event the scan skipped (--on-error skip) while replaying into a
 * log: kept (its offset, and why for the first EV_REPLAY_SKIP_WHY),
 * since a failure of the writer found later (a version conflict at a
 * batch) may stop the replay before it.  0, or EV_ERR (out of memory).
 */
#define EV_REPLAY_SKIP_WHY 10
int ev_replay_skipped(struct ev_replay *r, uint64_t offset, const char *why,
		      struct ev_error *err);
/* How many skipped events the replay reached: those before the event a
 * failure stopped it at, or all of them. */
uint64_t ev_replay_skips(const struct ev_replay *r);
/* Why the i-th of those was skipped, or NULL (not reached, or past the
 * first EV_REPLAY_SKIP_WHY). */
const char *ev_replay_skip_why(const struct ev_replay *r, size_t i);

/* a record's place in its log */
/* ev's offset and append time from rec, which it was decoded from: on a
 * Kafka log the record's partition and its offset there, not the
 * scan's count. */
void ev_event_place(struct ev_event *ev, const struct ev_rec *rec);
/* A record's place as messages name it: "PARTITION:OFFSET" on a Kafka
 * log, else the offset; into buf (EV_PLACE_MAX bytes), returned. */
#define EV_PLACE_MAX 32
const char *ev_place_str(char *buf, int has_partition, int32_t partition,
			 uint64_t offset);
const char *ev_rec_place(char *buf, const struct ev_rec *rec);

/* a dead letter's original timestamp */
/* The original event's timestamp as a letter gives it: a Kafka record's
 * own when known, else the append time. */
ev_time_t ev_dlq_source_timestamp(const struct ev_letter_ctx *c);
/* Its type, as Kafka names them: "LogAppendTime" for a local log's (the
 * append time), a Kafka record's own ("CreateTime", "LogAppendTime", or
 * "NoTimestampType"). */
const char *ev_dlq_source_timestamp_type(const struct ev_letter_ctx *c);

/* ---- ingest2 */
/* The records added to w come from ev_record_encode() on input the
 * parser (or the msgpack or single-event builder) has validated, as
 * evpub's do: the writer reads their ids, types and streams without
 * validating their strings again.  Only with .unlinked = 1; never for
 * records read from a log or another source. */
void ev_writer_trust_records(struct ev_writer *w);

/* ---- kpub2 */
/* The record evpub's parser encoded (rec, n), as the record of its event
 * in format fmt, as ev_event_decode() then ev_kafka_event_to_msg() make
 * it, with the same checks; *id the event's id (in rec). */
int ev_kafka_record_to_msg(const uint8_t *rec, size_t n,
			   enum ev_kafka_format fmt, struct ev_kafka_msg *m,
			   struct ev_str *id, struct ev_error *err);

#ifdef __cplusplus
}
#endif
#endif
