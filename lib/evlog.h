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

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EVLOG_VERSION "0.1.0"
#define EV_FORMAT_VERSION 1

/* Limits, documented in evlog(5). */
#define EV_MAX_RECORD (1u << 20)	/* encoded record bytes */
#define EV_MAX_BATCH (16u << 20)	/* uncompressed batch payload */
#define EV_MAX_DEPTH 64			/* JSON/msgpack nesting */
#define EV_MAX_LINE (4u << 20)		/* one input line */
#define EV_DEFAULT_BATCH_BYTES (256u << 10)
#define EV_MAX_BATCH_BYTES (15u << 20)	/* largest writer batch target */
#define EV_DEFAULT_BATCH_EVENTS 100000
#define EV_DEFAULT_SEGMENT_BYTES (128u << 20)
#define EV_MAX_SEGMENT_BYTES 0xffffffffu
#define EV_MIN_SEGMENT_BYTES (64u << 10)
#define EV_DEFAULT_LEVEL 1

enum ev_status {
	EV_OK = 0,
	EV_ERR = -1,	 /* runtime failure */
	EV_EUSAGE = -2,	 /* bad argument from the caller */
	EV_EDATA = -3,	 /* bad input or damaged data */
	EV_ENOENT = -4,	 /* missing log or file */
	EV_EIO = -5,	 /* I/O error */
	EV_EAGAIN = -6,	 /* temporary failure or conflict */
};

/*
 * Error report.  msg is a complete lowercase sentence fragment without the
 * program name; hint, when not empty, is a second line for the user.
 * column is 1-based for input errors, 0 otherwise.
 */
struct ev_error {
	int code;
	size_t column;
	char msg[1024];
	char hint[256];
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
void ev_buf_free(struct ev_buf *b);

/* ---------------------------------------------------------------- time */

/* Nanoseconds since the Unix epoch, UTC. */
typedef int64_t ev_time_t;
#define EV_TIME_NONE INT64_MIN

/* Current time; SOURCE_DATE_EPOCH when EVLOG_TEST_SEED is also set. */
ev_time_t ev_now(void);
/* Parse RFC 3339 (up to nanoseconds). Returns 0 or EV_EDATA. */
int ev_time_parse(const char *s, size_t n, ev_time_t *out);
/*
 * Parse a user time: RFC 3339, a date (YYYY-MM-DD, UTC midnight), "now",
 * or a relative time such as -1h, -30m, -2d relative to now.
 */
int ev_time_parse_user(const char *s, ev_time_t now, ev_time_t *out);
/* Format as RFC 3339 UTC with 0, 3, 6 or 9 fraction digits; returns length. */
size_t ev_time_format(ev_time_t t, char out[40]);
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
	uint64_t prev;	     /* offset of the stream's previous event, or */
#define EV_NO_PREV UINT64_MAX /* this: none, or not recorded */
	ev_time_t append_time;
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
	EV_FMT_MSGPACK,	/* a stream of maps (struct ev_input only) */
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
	const char *type;	/* fixed type */
	const char *type_from;
	const char *stream_from;
	const char *id_from;
	const char *time_from;
	const char *key_from;
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
		   struct ev_error *err); /* id, type, stream, key, time, schema, version */
int ev_builder_data(struct ev_builder *b, const char *name, const char *value,
		    size_t vlen, int is_json, struct ev_error *err);
int ev_builder_meta(struct ev_builder *b, const char *name, const char *value,
		    struct ev_error *err);
/* One argument of evpub's argument form: "name=string" or "name:=json"
 * into data, "NAME=VALUE" into meta. */
int ev_builder_arg(struct ev_builder *b, const char *arg,
		   struct ev_error *err);
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
	uint64_t line;	/* its line, from 1 (0 for a MessagePack stream) */
	uint64_t byte;	/* its offset in the input, from 0 */
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
	int level;	/* zstd level, 0 = store uncompressed */
	enum ev_sync sync;
	int dead_letters; /* a dead-letter log ("kind dlq" in meta) */
	uint64_t dedupe_window; /* events whose ids are remembered; 0 = off */
};
void ev_log_config_init(struct ev_log_config *cfg);

struct ev_log;

/* Create a new log directory.  EV_EAGAIN-free; EV_ERR if it exists. */
int ev_log_create(const char *path, const struct ev_log_config *cfg,
		  struct ev_error *err);
/* Open an existing log.  EV_ENOENT when missing. */
int ev_log_open(struct ev_log **out, const char *path, struct ev_error *err);
void ev_log_close(struct ev_log *log);
const char *ev_log_path(const struct ev_log *log);
const char *ev_log_id(const struct ev_log *log); /* 32 hex digits */
const struct ev_log_config *ev_log_get_config(const struct ev_log *log);
ev_time_t ev_log_created(const struct ev_log *log);

/* ---------------------------------------------------------------- writer */

struct ev_writer;

/* What became of each event handed to a writer, in the order given. */
struct ev_ack {
	uint64_t offset;	/* its offset; for a duplicate, the original's */
	const char *id;		/* valid during the callback */
	size_t id_n;
	int duplicate;
	uint64_t tag;		/* as given to ev_writer_add_tagged() */
};
/* Called from the writer's thread once a batch is durable. */
typedef void (*ev_durable_fn)(void *ctx, const struct ev_ack *acks, size_t n);
typedef void (*ev_notice_fn)(void *ctx, const char *msg);

/* Optimistic concurrency, as EventStoreDB's expected version. */
enum ev_expect {
	EV_EXPECT_ANY = 0,	/* no check */
	EV_EXPECT_NONE,		/* the stream has no events */
	EV_EXPECT_EXISTS,	/* the stream has events */
	EV_EXPECT_VERSION,	/* the stream is at expect_version */
};

struct ev_writer_opts {
	enum ev_sync sync;
	int sync_set;		/* 0 = use the log's setting */
	size_t batch_bytes;	/* 0 = default */
	uint32_t batch_events;	/* 0 = default */
	int threaded;		/* compress and write on a second thread */
	ev_durable_fn on_durable;
	ev_notice_fn notice;
	void *ctx;
	/* checked for each stream the first time this writer appends to
	 * it, under the lock */
	enum ev_expect expect;
	uint64_t expect_version;
	int renumber;		/* versions afresh, ignoring the input's */
	/* everything added goes in one batch, appended atomically at the
	 * flush; ev_writer_add() fails with EV_EUSAGE when it is full */
	int one_batch;
	/* the records carry no stream link (key 10) of their own, as when
	 * they were just encoded from input: they are resolved faster */
	int unlinked;
};

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

/* Iterate the records of a batch payload (as given to ev_durable_fn). */
int ev_payload_next(const uint8_t **p, const uint8_t *end, const uint8_t **rec,
		    size_t *n);

/* ---------------------------------------------------------------- expectations */

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
};

/* Read a log.  Takes no lock. */
int ev_reader_open(struct ev_reader **out, struct ev_log *log,
		   struct ev_error *err);
/* Read a single segment file, up to its last valid batch. */
int ev_reader_open_segment(struct ev_reader **out, const char *path,
			   struct ev_error *err);
void ev_reader_free(struct ev_reader *r);

/* Position before the record at offset (clamped to the log's range). */
int ev_reader_seek(struct ev_reader *r, uint64_t offset, struct ev_error *err);
/* Position conservatively before the first record with time >= t. */
int ev_reader_seek_time(struct ev_reader *r, ev_time_t t, struct ev_error *err);
/*
 * Next record: 1 with *rec filled, 0 at the durable end, <0 on error
 * (EV_EDATA for damage, with segment, offset and byte position in err).
 */
int ev_reader_next(struct ev_reader *r, struct ev_rec *rec, struct ev_error *err);
/* Re-read the durable end; returns 1 when more records are available. */
int ev_reader_refresh(struct ev_reader *r, struct ev_error *err);
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
/* 'PATH OP VALUE' or 'PATH exists'. EV_EUSAGE with a message when bad. */
int ev_filter_add_where(struct ev_filter *f, const char *expr,
			struct ev_error *err);
void ev_filter_set_time(struct ev_filter *f, ev_time_t since, ev_time_t until);
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

/* ---------------------------------------------------------------- admin */

struct ev_segment_info {
	uint64_t base;
	uint64_t next;		/* offset after the last record */
	uint64_t bytes;		/* segment file size */
	uint64_t index_bytes;	/* sparse index files */
	uint64_t raw_bytes;	/* uncompressed payload bytes */
	uint64_t batches;
	ev_time_t first_time, last_time;	/* min/max event time */
	ev_time_t first_append, last_append;
};

struct ev_log_info {
	uint64_t first_offset, next_offset;
	uint64_t events;
	uint64_t segments;
	uint64_t bytes;		/* segments + indexes */
	uint64_t segment_bytes;	/* segment files only */
	uint64_t raw_bytes;
	ev_time_t min_time, max_time;
	ev_time_t first_append, last_append;
	struct ev_segment_info *seg;	/* segments entries; free() it */
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

/* Verification: decode every record and check the indexes. */
struct ev_verify_report {
	uint64_t batches, records, segments;
	uint64_t index_problems;	/* fixable by repair */
};
int ev_log_verify(struct ev_log *log, struct ev_verify_report *rep,
		  ev_notice_fn notice, void *ctx, struct ev_error *err);

#define EV_REPAIR_TRUNCATE_DAMAGED 1
#define EV_REPAIR_DRY_RUN 2
int ev_log_repair(struct ev_log *log, int flags, ev_notice_fn notice, void *ctx,
		  struct ev_error *err);

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
void ev_group_close(struct ev_group *g);
/* All groups of log (sorted by name); *out is malloc'ed. */
int ev_group_list(struct ev_log *log, const char *state_dir,
		  struct ev_group_state **out, size_t *n, struct ev_error *err);
/* Move a group that nobody holds (EV_EAGAIN otherwise). */
int ev_group_reset(struct ev_log *log, const char *name, const char *state_dir,
		   uint64_t next, int dry_run, struct ev_error *err);

/* Append time of the batch holding offset; EV_TIME_NONE past the end. */
int ev_log_append_time(struct ev_log *log, uint64_t offset, ev_time_t *t,
		       struct ev_error *err);

/* Retention: remove whole old segments (never the last). */
struct ev_trim_opts {
	ev_time_t before;	/* segments last appended before, or NONE */
	uint64_t keep_events;	/* 0 = unused */
	uint64_t keep_bytes;	/* 0 = unused */
	int dry_run;
	int force;		/* even past groups that have not consumed */
	const char *state_dir;	/* groups kept elsewhere, or NULL */
};
/* EV_EAGAIN when a group has not consumed what would go. */
int ev_log_trim(struct ev_log *log, const struct ev_trim_opts *o,
		ev_notice_fn notice, void *ctx, struct ev_error *err);

/* ---------------------------------------------------------------- handlers */

#define EV_STDERR_KEEP 4096	/* stderr bytes kept for a dead letter */
#define EV_KILL_GRACE_MS 2000	/* SIGTERM, then SIGKILL after this */
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

/* ---------------------------------------------------------------- dead letters */

/* What a DeadLetter event is made of. */
struct ev_letter_ctx {
	const struct ev_event *source;	/* the event (offset, append_time set) */
	const char *source_log;		/* the source log's path */
	const char *source_log_id;
	const char *group;
	const char *handler;
	unsigned attempts;
	ev_time_t first_failure, last_failure;
	const struct ev_done *done;	/* the last failed run */
	uint64_t round;			/* 1 + earlier letters of this event */
	const char *parked_behind_letter; /* dlq-policy=stream: else NULL */
	uint64_t parked_behind_offset;
};

enum { EV_LETTER_OPEN, EV_LETTER_RESOLVED, EV_LETTER_DISCARDED };
enum {
	EV_RESOLUTION_RESOLVED,
	EV_RESOLUTION_RETRY_FAILED,
	EV_RESOLUTION_DISCARDED
};

/* A dead letter and its state, as read back from a dead-letter log. */
struct ev_letter {
	uint64_t offset;	/* in the dead-letter log */
	char *id;
	ev_time_t time;		/* when it was written */
	char *group, *source_log, *source_log_id;
	uint64_t source_offset;
	char *orig_id, *orig_type, *orig_stream; /* stream may be NULL */
	char *error;		/* the last failure, one line */
	char *stderr_tail;	/* the last failure's standard error */
	char *handler;
	uint64_t attempts, round, retries_failed;
	ev_time_t first_failure, last_failure;
	int parked;
	int state;		/* EV_LETTER_* */
	ev_time_t state_time;	/* when resolved or discarded */
	char *reason;		/* why it was discarded */
	char *original_json;	/* the original event as evtail --exec gives it:
				 * envelope JSON, source_offset as its offset */
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
/* Every dead letter of dlq, in offset order, with its state. */
int ev_dlq_scan(struct ev_log *dlq, struct ev_letter **out, size_t *n,
		struct ev_error *err);
void ev_letters_free(struct ev_letter *v, size_t n);

/* ---------------------------------------------------------------- streams */

/* A stream's state (evlog(5) STATE). */
struct ev_stream_info {
	const char *name;	/* not NUL-terminated */
	size_t name_len;
	uint64_t last_version;
	uint64_t last_offset;	/* of its newest event */
	uint64_t first_offset;	/* of its oldest event */
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
			    int (*fn)(void *ctx, const struct ev_stream_info *s),
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

#ifdef __cplusplus
}
#endif
#endif
