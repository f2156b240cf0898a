/*
 * evpub - append events to an evlog log, from NDJSON input or from its
 * arguments.  See evpub(1).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evlog.h"
#include "fe.h"

static const char usage_short[] =
	"Usage: evpub [options] LOG\n"
	"       evpub [options] LOG TYPE [name=string | name:=json ...]\n";

static const char usage_long[] =
	"Append events to an evlog log, or to a Kafka topic when LOG is\n"
	"kafka://HOST:PORT[,HOST:PORT...]/TOPIC.\n"
	"\n"
	"With only LOG, reads NDJSON events (one JSON object per line) from\n"
	"standard input or the -i files.  With TYPE, appends one event built\n"
	"from the arguments: name=value sets a string in data, name:=json a\n"
	"JSON value.\n"
	"\n"
	"Options:\n"
	"  -a, --ack               print 'OFFSET ID' for each event once durable\n"
	"                          ('OFFSET ID duplicate' for one already there;\n"
	"                          'PARTITION:OFFSET ID' on a kafka log)\n"
	"      --batch-bytes SIZE  flush a batch at SIZE bytes of records (256K)\n"
	"      --batch-events N    flush a batch at N events (100000)\n"
	"  -c, --create            create LOG if it does not exist (a kafka\n"
	"                          topic through the admin API)\n"
	"      --dlq DLQ           with --schemas: write each invalid event to\n"
	"                          the dead-letter log DLQ (or a kafka://\n"
	"                          dead-letter topic) and go on\n"
	"      --dry-run           check the input, append nothing\n"
	"      --expect-version V  append only if each stream is at version V:\n"
	"                          a number (one stream only), none, exists, any\n"
	"      --format FORMAT     input format: envelope (default), cloudevents\n"
	"                          or msgpack (a stream of maps)\n"
	"      --formats MODE      with --schemas: 'format' is an annotation\n"
	"                          (annotate, default) or checked (assert)\n"
	"  -h, --help              show this help and exit\n"
	"  -i, --input FILE        read FILE ('-' is stdin); may be repeated\n"
	"      --id ID             event id (argument form)\n"
	"      --id-from PATH      with --wrap: take the id from PATH\n"
	"      --kafka-config FILE librdkafka properties from FILE, as kcat\n"
	"                          reads them (property=value lines)\n"
	"      --kafka-format FMT  how events travel in kafka records: binary\n"
	"                          (CloudEvents headers, default), structured\n"
	"                          or envelope\n"
	"      --kafka-timeout DURATION  give up on an unreachable kafka\n"
	"                          cluster, or on a delivery, after DURATION\n"
	"                          (10s)\n"
	"      --key KEY           partition key (argument form)\n"
	"      --key-from PATH     with --wrap: take the key from PATH\n"
	"      --linger DURATION   flush a partial batch when input pauses this\n"
	"                          long (100ms; 0 waits for a full batch)\n"
	"      --meta NAME=VALUE   set meta.NAME (argument form); may be repeated\n"
	"      --null-is-error     with --wrap: null at an --*-from path is an\n"
	"                          error (by default it leaves the field unset)\n"
	"      --partitions N      with --create on a kafka log: the topic's\n"
	"                          partitions (the cluster's default)\n"
	"      --ref-dir [PREFIX=]DIR  with --schemas: load remote $refs from\n"
	"                          DIR; may be repeated\n"
	"      --renumber          number stream events afresh, ignoring their\n"
	"                          versions\n"
	"      --replication-factor N  with --create on a kafka log: the\n"
	"                          topic's replicas (the cluster's default)\n"
	"      --require-schemas   with --schemas: a type without schemas is\n"
	"                          invalid\n"
	"      --schema N          schema version of data (argument form)\n"
	"      --schemas DIR       validate each event against the schemas in\n"
	"                          DIR (see evlog-schemas(5))\n"
	"      --skip-invalid      report bad lines and invalid events and go\n"
	"                          on (exit 65 at the end)\n"
	"      --stream STREAM     stream name (argument form)\n"
	"      --stream-from PATH  with --wrap: take the stream from PATH\n"
	"      --sync MODE         batch (fsync each batch, default) or none\n"
	"      --time TIME         event time, RFC 3339 (argument form)\n"
	"      --time-format FMT   with --time-from: rfc3339 (default), epoch,\n"
	"                          epoch-ms, epoch-us, epoch-ns or a pattern\n"
	"                          such as '%Y-%m-%d %H:%M:%S'\n"
	"      --time-from PATH    with --wrap: take the time from PATH\n"
	"      --time-zone ZONE    UTC (default) or +HH:MM or -HH:MM, for a\n"
	"                          --time-format pattern without %z\n"
	"      --type TYPE         with --wrap: the type of every event\n"
	"      --type-from PATH    with --wrap: take the type from PATH\n"
	"  -v, --verbose           report counts on stderr when done\n"
	"  -V, --version           show versions and exit\n"
	"      --wrap              each input line becomes the data of a new event\n"
	"  -X PROPERTY=VALUE       a librdkafka property; may be repeated\n"
	"\n"
	"PATH is a dotted path into the input line, such as repo.name.\n"
	"Durations take ms, s, m or h.  Exit status: 0 ok, 1 runtime failure,\n"
	"64 usage, 65 bad input, 66 missing log or input, 69 librdkafka not\n"
	"loadable, 74 I/O error, 75 version conflict or LOG replaced by a non-log.\n"
	"See evpub(1).\n";

enum {
	OPT_BATCH_BYTES = 256,
	OPT_BATCH_EVENTS,
	OPT_DLQ,
	OPT_DRY_RUN,
	OPT_EXPECT_VERSION,
	OPT_FORMAT,
	OPT_FORMATS,
	OPT_ID,
	OPT_ID_FROM,
	OPT_KAFKA_CONFIG,
	OPT_KAFKA_FORMAT,
	OPT_KAFKA_TIMEOUT,
	OPT_KEY,
	OPT_KEY_FROM,
	OPT_LINGER,
	OPT_META,
	OPT_NULL_IS_ERROR,
	OPT_PARTITIONS,
	OPT_REF_DIR,
	OPT_RENUMBER,
	OPT_REPLICATION_FACTOR,
	OPT_REQUIRE_SCHEMAS,
	OPT_SCHEMA,
	OPT_SCHEMAS,
	OPT_SKIP_INVALID,
	OPT_STREAM,
	OPT_STREAM_FROM,
	OPT_SYNC,
	OPT_TIME,
	OPT_TIME_FORMAT,
	OPT_TIME_FROM,
	OPT_TIME_ZONE,
	OPT_TYPE,
	OPT_TYPE_FROM,
	OPT_WRAP,
};

static const struct option longopts[] = {
	{"ack", no_argument, NULL, 'a'},
	{"batch-bytes", required_argument, NULL, OPT_BATCH_BYTES},
	{"batch-events", required_argument, NULL, OPT_BATCH_EVENTS},
	{"create", no_argument, NULL, 'c'},
	{"dlq", required_argument, NULL, OPT_DLQ},
	{"dry-run", no_argument, NULL, OPT_DRY_RUN},
	{"expect-version", required_argument, NULL, OPT_EXPECT_VERSION},
	{"format", required_argument, NULL, OPT_FORMAT},
	{"formats", required_argument, NULL, OPT_FORMATS},
	{"help", no_argument, NULL, 'h'},
	{"id", required_argument, NULL, OPT_ID},
	{"id-from", required_argument, NULL, OPT_ID_FROM},
	{"input", required_argument, NULL, 'i'},
	{"kafka-config", required_argument, NULL, OPT_KAFKA_CONFIG},
	{"kafka-format", required_argument, NULL, OPT_KAFKA_FORMAT},
	{"kafka-timeout", required_argument, NULL, OPT_KAFKA_TIMEOUT},
	{"key", required_argument, NULL, OPT_KEY},
	{"key-from", required_argument, NULL, OPT_KEY_FROM},
	{"linger", required_argument, NULL, OPT_LINGER},
	{"meta", required_argument, NULL, OPT_META},
	{"null-is-error", no_argument, NULL, OPT_NULL_IS_ERROR},
	{"partitions", required_argument, NULL, OPT_PARTITIONS},
	{"ref-dir", required_argument, NULL, OPT_REF_DIR},
	{"renumber", no_argument, NULL, OPT_RENUMBER},
	{"replication-factor", required_argument, NULL, OPT_REPLICATION_FACTOR},
	{"require-schemas", no_argument, NULL, OPT_REQUIRE_SCHEMAS},
	{"schema", required_argument, NULL, OPT_SCHEMA},
	{"schemas", required_argument, NULL, OPT_SCHEMAS},
	{"skip-invalid", no_argument, NULL, OPT_SKIP_INVALID},
	{"stream", required_argument, NULL, OPT_STREAM},
	{"stream-from", required_argument, NULL, OPT_STREAM_FROM},
	{"sync", required_argument, NULL, OPT_SYNC},
	{"time", required_argument, NULL, OPT_TIME},
	{"time-format", required_argument, NULL, OPT_TIME_FORMAT},
	{"time-from", required_argument, NULL, OPT_TIME_FROM},
	{"time-zone", required_argument, NULL, OPT_TIME_ZONE},
	{"type", required_argument, NULL, OPT_TYPE},
	{"type-from", required_argument, NULL, OPT_TYPE_FROM},
	{"verbose", no_argument, NULL, 'v'},
	{"version", no_argument, NULL, 'V'},
	{"wrap", no_argument, NULL, OPT_WRAP},
	{NULL, 0, NULL, 0},
};

#define usage(...) fe_usage_error(usage_short, __VA_ARGS__)

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* The command line. */
struct opts {
	const char *log;
	const char *format; /* --format as given, or NULL */
	const char *type;   /* --type (with --wrap) */
	const char *expect; /* --expect-version as given, or NULL */
	/* the argument form: TYPE [name=value | name:=json ...] */
	const char *id, *key, *stream, *time, *schema;
	/* --wrap: --time-format and --time-zone as given, and what they say */
	const char *time_format, *time_zone;
	struct ev_timein time_in;
	char **operands;
	int noperands;
	const char **inputs, **metas;
	int ninputs, nmetas;
	/* --schemas DIR and the options of its registry; --dlq */
	const char *schemas, *dlq, *formats;
	const char **ref_dirs;
	int nref_dirs;
	struct ev_schemadir_opts sopts;
	int ack, create, dry_run, skip_invalid, verbose, wrap, have_from;
	int stream_in; /* a MessagePack stream: objects at byte offsets */
	int64_t linger_ms;
	struct ev_parse_opts popts;
	struct ev_writer_opts wopts;
	/* a kafka:// LOG: -X and --kafka-config, --kafka-format,
	 * --kafka-timeout; kafka_opt: the first of them given */
	struct ev_kafka_props kprops;
	enum ev_kafka_format kfmt;
	int64_t kafka_timeout_ms;
	const char *kafka_opt;
	/* --create on a kafka log: --partitions, --replication-factor (-1:
	 * the cluster's default) */
	int kparts, krepl;
	/* options a kafka log does not take: the first given */
	const char *local_opt;
};

/* A run: state shared with the writer thread's callback, and counts. */
struct pub {
	const struct opts *o;
	struct ev_log *log;
	struct ev_writer *w;
	int ack_errno;	     /* set by the writer thread when acks fail */
	uint64_t appended;   /* durable events */
	uint64_t duplicates; /* skipped, already in the log */
	struct ev_buf ackbuf;
	uint64_t valid, invalid;  /* events and lines read */
	struct ev_buf one_stream; /* exact --expect-version: its stream */
	int stopped;		  /* at an input line or object */
	int broken;	  /* at a malformed object: nothing more to read */
	int wrap_hinted;  /* the remedy of --wrap was given */
	int stop_known;	  /* stop_at is it, not the last one read */
	uint64_t stop_at; /* its line, or its byte offset in a stream */
	uint64_t last_at; /* the last line or object read */
	int gap_said;	  /* a gap was passed over and said */
	int line_invalid; /* --schemas: the line has invalid events */
	/* --schemas: the registry, one validation scratch for the run, the
	 * errors in words; --dlq: where invalid events go */
	struct ev_schemadir *sd;
	struct ev_jschema_ctx *cx;
	struct ev_buf msg;
	struct ev_log *dlq_log;
	struct ev_kafka_dlq *dlq_topic; /* --dlq kafka://... */
	struct ev_schema_dlq *dlq;
	int dlq_dirty;		 /* letters written since the last sync */
	uint64_t schema_invalid; /* events found invalid */
};

/* "stdin:3" or "stdin: byte 1234", for messages */
static const char *where(const struct opts *o, const char *name, uint64_t at,
			 char *buf, size_t n)
{
	snprintf(buf, n, o->stream_in ? "%s: byte %llu" : "%s:%llu", name,
		 (unsigned long long)at);
	return buf;
}

static int ack_failed(struct pub *pb)
{
	return __atomic_load_n(&pb->ack_errno, __ATOMIC_SEQ_CST);
}

/* Acknowledgements that could not be written: said, and exit 74. */
static int acks_lost(struct pub *pb)
{
	fe_warn("cannot write acknowledgements: %s", strerror(ack_failed(pb)));
	return EV_EXIT_IO;
}

/* "1,000 events" */
static const char *count(char buf[64], uint64_t n, const char *one,
			 const char *many)
{
	char num[32];

	snprintf(buf, 64, "%s %s", ev_commas(n, num), ev_plural(n, one, many));
	return buf;
}

static void on_durable(void *ctx, const struct ev_ack *acks, size_t n)
{
	struct pub *pb = ctx;
	size_t i;
	char num[24];

	for (i = 0; i < n; i++) {
		if (acks[i].duplicate)
			pb->duplicates++;
		else
			pb->appended++;
	}
	if (!pb->o->ack)
		return;
	pb->ackbuf.len = 0;
	for (i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%llu ",
			 (unsigned long long)acks[i].offset);
		ev_buf_puts(&pb->ackbuf, num);
		ev_buf_append(&pb->ackbuf, acks[i].id, acks[i].id_n);
		if (acks[i].duplicate)
			ev_buf_puts(&pb->ackbuf, " duplicate");
		ev_buf_putc(&pb->ackbuf, '\n');
	}
	/* acks leave only after the batch is synced, and promptly; if they
	 * cannot leave, the relay cannot learn of its events: stop */
	if (fwrite(pb->ackbuf.p, 1, pb->ackbuf.len, stdout) != pb->ackbuf.len ||
	    fflush(stdout) != 0) {
		int en = errno ? errno : EIO;
		int zero = 0;
		__atomic_compare_exchange_n(&pb->ack_errno, &zero, en, 0,
					    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	}
}

static void on_notice(void *ctx, const char *msg)
{
	(void)ctx;
	fe_warn("%s", msg);
}

/* A gap the writer passed over as it brought its stream state up to the
 * head: said once, for the first; 'evctl verify' lists them all. */
static void on_gap(void *ctx, const char *msg)
{
	struct pub *pb = ctx;

	if (__atomic_exchange_n(&pb->gap_said, 1, __ATOMIC_SEQ_CST) == 0)
		fe_warning(NULL, msg);
}

/* Input lines travel with their records as writer tags: the input's
 * number (from 1) and the line (or a stream's byte offset, under 1 TiB);
 * 0 is the argument form. */
#define TAG_AT_BITS 40
#define TAG_AT_MASK ((1ull << TAG_AT_BITS) - 1)
#define TAG(k, at) (((uint64_t)(k) + 1) << TAG_AT_BITS | ((at)&TAG_AT_MASK))

static const char *input_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "stdin" : path;
}

/*
 * The writer failed.  A version conflict (EV_EAGAIN) is reported at the
 * input line (or object) of the event it stopped at, which stop_at
 * gets; anything else as it is.  Returns the exit status.
 */
static int writer_failed(struct pub *pb, const struct ev_error *err)
{
	uint64_t tag = ev_writer_failed_tag(pb->w);
	char loc[4200];

	pb->stopped = 1;
	if (tag == 0)
		return fe_report(err);
	pb->stop_known = 1; /* not the last one read */
	pb->stop_at = tag & TAG_AT_MASK;
	if (err->code != EV_EAGAIN)
		return fe_report(err);
	return fe_reportf(
		err, "%s",
		where(pb->o,
		      input_name(pb->o->inputs[(tag >> TAG_AT_BITS) - 1]),
		      pb->stop_at, loc, sizeof(loc)));
}

/*
 * The library names an option by its field: "time: 'x' is not ...",
 * "type_from 'kind': no value ...".  The user knows it by its flag
 * (the TYPE operand keeps its name).
 */
static void name_flag(struct ev_error *err)
{
	static const char *const fields[] = {
		"id",	     "id_from",	    "key",	 "key_from",
		"meta",	     "schema",	    "stream",	 "stream_from",
		"time",	     "time_format", "time_from", "time_zone",
		"type_from",
	};
	char flag[32], rest[sizeof(err->msg)], *p;
	size_t i, n;

	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		n = strlen(fields[i]);
		if (strncmp(err->msg, fields[i], n) != 0 ||
		    !(err->msg[n] == ':' ||
		      (err->msg[n] == ' ' && err->msg[n + 1] == '\'')))
			continue;
		snprintf(flag, sizeof(flag), "--%s", fields[i]);
		for (p = flag; (p = strchr(p, '_')) != NULL;)
			*p = '-';
		snprintf(rest, sizeof(rest), "%s", err->msg + n);
		snprintf(err->msg, sizeof(err->msg), "%s%.*s", flag,
			 (int)(sizeof(err->msg) - sizeof(flag)), rest);
		return;
	}
}

/* ------------------------------------------------------------ options */

/* Options of a local log that a kafka log does not take, and why. */
static const struct {
	int c;
	const char *name, *why;
} local_only[] = {
	{OPT_BATCH_BYTES, "--batch-bytes",
	 "batches are librdkafka's: -X batch.size"},
	{OPT_BATCH_EVENTS, "--batch-events",
	 "batches are librdkafka's: -X batch.num.messages"},
	{OPT_EXPECT_VERSION, "--expect-version",
	 "a kafka log keeps no stream versions to check"},
	{OPT_LINGER, "--linger", "use -X linger.ms"},
	{OPT_RENUMBER, "--renumber", "a kafka log keeps no stream versions"},
	{OPT_SYNC, "--sync", "durability is the cluster's: acks=all"},
};

/* One option: -1 to go on, or the exit status. */
static int set_option(struct opts *o, int c, const char *arg)
{
	struct ev_error err;
	uint64_t v;
	size_t i;

	for (i = 0; i < sizeof(local_only) / sizeof(local_only[0]); i++)
		if (local_only[i].c == c && o->local_opt == NULL)
			o->local_opt = local_only[i].name;
	switch (c) {
	case 'X':
		if (ev_kafka_props_add(&o->kprops, arg, &err) != 0)
			return err.code == EV_EUSAGE ? usage("%s", err.msg)
						     : fe_oom();
		o->kafka_opt = o->kafka_opt ? o->kafka_opt : "-X";
		return -1;
	case OPT_KAFKA_CONFIG:
		if (ev_kafka_props_load(&o->kprops, arg, &err) != 0) {
			if (err.code == EV_EUSAGE)
				return usage("--kafka-config: %s", err.msg);
			return fe_reportf(&err, "--kafka-config");
		}
		o->kafka_opt = o->kafka_opt ? o->kafka_opt : "--kafka-config";
		return -1;
	case OPT_KAFKA_FORMAT:
		if (ev_kafka_format_parse(arg, &o->kfmt, &err) != 0)
			return usage("%s", err.msg);
		o->kafka_opt = o->kafka_opt ? o->kafka_opt : "--kafka-format";
		return -1;
	case OPT_PARTITIONS:
	case OPT_REPLICATION_FACTOR:
		if (fe_parse_u64(arg, &v) != 0 || v < 1 ||
		    v > (c == OPT_PARTITIONS ? 1000000 : 32767))
			return usage("%s: '%s' is not a number from 1 to %s",
				     c == OPT_PARTITIONS
					     ? "--partitions"
					     : "--replication-factor",
				     arg,
				     c == OPT_PARTITIONS ? "1000000" : "32767");
		*(c == OPT_PARTITIONS ? &o->kparts : &o->krepl) = (int)v;
		o->kafka_opt = o->kafka_opt	     ? o->kafka_opt
			       : c == OPT_PARTITIONS ? "--partitions"
						     : "--replication-factor";
		return -1;
	case OPT_KAFKA_TIMEOUT:
		if (ev_duration_parse(arg, &o->kafka_timeout_ms) != 0 ||
		    o->kafka_timeout_ms <= 0 || o->kafka_timeout_ms > INT32_MAX)
			return usage("--kafka-timeout: '%s' is not a duration "
				     "such as 500ms or 10s",
				     arg);
		o->kafka_opt = o->kafka_opt ? o->kafka_opt : "--kafka-timeout";
		return -1;
	case 'a':
		o->ack = 1;
		break;
	case OPT_BATCH_BYTES:
		if (fe_parse_size(arg, &v) != 0 || v < 1 ||
		    v > EV_MAX_BATCH_BYTES)
			return usage("--batch-bytes: '%s' is not a size from "
				     "1 to 15M",
				     arg);
		o->wopts.batch_bytes = (size_t)v;
		break;
	case OPT_BATCH_EVENTS:
		if (fe_parse_u64(arg, &v) != 0 || v < 1 || v > 1000000)
			return usage("--batch-events: '%s' is not a number "
				     "between 1 and 1000000",
				     arg);
		o->wopts.batch_events = (uint32_t)v;
		break;
	case 'c':
		o->create = 1;
		break;
	case OPT_DLQ:
		o->dlq = arg;
		break;
	case OPT_DRY_RUN:
		o->dry_run = 1;
		break;
	case OPT_EXPECT_VERSION:
		o->expect = arg;
		if (ev_expect_parse(arg, &o->wopts.expect,
				    &o->wopts.expect_version, &err) != 0)
			return usage("--expect-version: %s", err.msg);
		break;
	case OPT_FORMAT:
		o->format = arg;
		if (strcmp(arg, "cloudevents") == 0)
			o->popts.format = EV_FMT_CLOUDEVENTS;
		else if (strcmp(arg, "msgpack") == 0)
			o->popts.format = EV_FMT_MSGPACK;
		else if (strcmp(arg, "envelope") != 0)
			return usage(
				"--format: '%s' is not envelope, cloudevents "
				"or msgpack",
				arg);
		break;
	case OPT_FORMATS:
		o->formats = arg;
		if (strcmp(arg, "assert") == 0)
			o->sopts.js.formats_assert = 1;
		else if (strcmp(arg, "annotate") != 0)
			return usage(
				"--formats: '%s' is not annotate or assert",
				arg);
		break;
	case 'h':
		fe_help(usage_short, usage_long);
		return EV_EXIT_OK;
	case 'i':
		o->inputs[o->ninputs++] = arg;
		break;
	case OPT_ID:
		o->id = arg;
		break;
	case OPT_ID_FROM:
		o->popts.id_from = arg;
		break;
	case OPT_KEY:
		o->key = arg;
		break;
	case OPT_KEY_FROM:
		o->popts.key_from = arg;
		break;
	case OPT_LINGER:
		if (ev_duration_parse(arg, &o->linger_ms) != 0)
			return usage("--linger: '%s' is not a duration such as "
				     "100ms or 2s",
				     arg);
		if (o->linger_ms > 3600000)
			return usage("--linger: '%s' is over the maximum of 1h",
				     arg);
		break;
	case OPT_META:
		if (strchr(arg, '=') == NULL)
			return usage("--meta: expected NAME=VALUE, got '%s'",
				     arg);
		o->metas[o->nmetas++] = arg;
		break;
	case OPT_NULL_IS_ERROR:
		o->popts.null_is_error = 1;
		break;
	case OPT_REF_DIR:
		o->ref_dirs[o->nref_dirs++] = arg;
		break;
	case OPT_RENUMBER:
		o->wopts.renumber = 1;
		break;
	case OPT_REQUIRE_SCHEMAS:
		o->sopts.require_schemas = 1;
		break;
	case OPT_SCHEMA:
		o->schema = arg;
		break;
	case OPT_SCHEMAS:
		o->schemas = arg;
		break;
	case OPT_SKIP_INVALID:
		o->skip_invalid = 1;
		break;
	case OPT_STREAM:
		o->stream = arg;
		break;
	case OPT_STREAM_FROM:
		o->popts.stream_from = arg;
		break;
	case OPT_SYNC:
		if (fe_parse_sync(arg, &o->wopts.sync) != 0)
			return usage("--sync: '%s' is not batch or none", arg);
		o->wopts.sync_set = 1;
		break;
	case OPT_TIME:
		o->time = arg;
		break;
	case OPT_TIME_FORMAT:
		o->time_format = arg;
		break;
	case OPT_TIME_FROM:
		o->popts.time_from = arg;
		break;
	case OPT_TIME_ZONE:
		o->time_zone = arg;
		break;
	case OPT_TYPE:
		o->type = arg;
		break;
	case OPT_TYPE_FROM:
		o->popts.type_from = arg;
		break;
	case 'v':
		o->verbose = 1;
		break;
	case 'V':
		fe_version();
		return EV_EXIT_OK;
	case OPT_WRAP:
		o->wrap = 1;
		break;
	default:
		return usage(NULL);
	}
	return -1;
}

/* Options that cannot be combined, or need another: -1 or exit 64.
 * Then the settings they imply. */
static int check_options(struct opts *o)
{
	struct ev_error err;

	if ((o->have_from || o->type) && !o->wrap)
		return usage("--type and --*-from need --wrap");
	if (o->popts.null_is_error && !o->wrap)
		return usage("--null-is-error needs --wrap");
	if ((o->time_format || o->time_zone) && o->popts.time_from == NULL)
		return usage("--time-format and --time-zone need --time-from");
	if (o->popts.time_from != NULL) {
		if (ev_timein_init(&o->time_in, o->time_format, o->time_zone,
				   &err) != 0) {
			name_flag(&err);
			return usage("%s", err.msg);
		}
		o->popts.time_in = &o->time_in;
	}
	if (o->wrap && o->format != NULL)
		return usage("--wrap and --format cannot be combined");
	if (o->wrap && o->type == NULL && o->popts.type_from == NULL)
		return usage("--wrap needs --type TYPE or --type-from PATH");
	if (o->type && o->popts.type_from)
		return usage("--type and --type-from cannot be combined");
	if (o->type && o->type[0] == '\0')
		return usage("--type must not be empty");
	if (o->dry_run && o->ack)
		return usage("--dry-run and --ack cannot be combined");
	if (o->schemas == NULL && (o->sopts.require_schemas || o->formats ||
				   o->nref_dirs > 0 || o->dlq))
		return usage(
			"--require-schemas, --formats, --ref-dir and --dlq "
			"need --schemas DIR");
	if (o->dlq != NULL && o->dry_run)
		return usage("--dry-run and --dlq cannot be combined");
	if (o->dlq != NULL && o->wopts.expect == EV_EXPECT_VERSION)
		return usage(
			"--dlq and --expect-version %s cannot be combined: "
			"an exact version is for one atomic append",
			o->expect);
	o->sopts.js.ref_dirs = o->nref_dirs > 0 ? o->ref_dirs : NULL;
	if (o->wopts.expect == EV_EXPECT_VERSION) {
		if (o->noperands > 0 && o->stream == NULL)
			return usage("--expect-version %s needs the event in "
				     "a stream: give --stream NAME",
				     o->expect);
		/* one stream, appended atomically: all of it in one batch,
		 * written at the end of the input or not at all */
		o->wopts.one_batch = 1;
		o->wopts.batch_bytes = EV_MAX_BATCH_BYTES;
		o->wopts.batch_events = 1000000;
		o->linger_ms = 0;
	}
	if (o->wrap)
		o->popts.format = EV_FMT_WRAP;
	o->stream_in = o->popts.format == EV_FMT_MSGPACK;
	o->popts.type = o->type;
	return -1;
}

/* The command line into o: -1 to go on, or the exit status. */
static int parse_args(struct opts *o, int argc, char **argv)
{
	int c, r;

	o->linger_ms = 100;
	o->inputs = calloc((size_t)argc, sizeof(*o->inputs));
	o->metas = calloc((size_t)argc, sizeof(*o->metas));
	o->ref_dirs = calloc((size_t)argc + 1, sizeof(*o->ref_dirs));
	if (o->inputs == NULL || o->metas == NULL || o->ref_dirs == NULL)
		return fe_oom();
	o->kafka_timeout_ms = 10000;
	o->kparts = o->krepl = -1;
	while ((c = getopt_long(argc, argv, "achi:vVX:", longopts, NULL)) !=
	       -1) {
		r = set_option(o, c, optarg);
		if (r >= 0)
			return r;
	}
	if (optind >= argc)
		return usage("missing LOG operand");
	o->log = argv[optind++];
	o->operands = argv + optind;
	o->noperands = argc - optind;
	o->have_from = o->popts.type_from || o->popts.id_from ||
		       o->popts.key_from || o->popts.stream_from ||
		       o->popts.time_from;
	/* the argument form, or the input form */
	if (o->noperands > 0 &&
	    (o->ninputs > 0 || o->wrap || o->format != NULL || o->have_from ||
	     o->type != NULL || o->skip_invalid))
		return usage("TYPE arguments cannot be combined with -i, "
			     "--wrap, --format, --type, --*-from or "
			     "--skip-invalid");
	if (o->noperands == 0 &&
	    (o->id || o->key || o->stream || o->time || o->schema || o->nmetas))
		return usage("--id, --key, --stream, --time, --schema and "
			     "--meta need the TYPE argument form");
	return -1;
}

/* ------------------------------------------------------------ schemas */

/* --schemas DIR, loaded before any input is read: -1, or the exit
 * status (64 for a directory whose schemas do not load). */
static int open_schemas(struct pub *pb, const struct opts *o)
{
	struct ev_error err;
	int r;

	if (o->schemas == NULL)
		return -1;
	r = ev_schemadir_open(&pb->sd, o->schemas, &o->sopts, &err);
	if (r == EV_EDATA || r == EV_EUSAGE) {
		fe_report(&err);
		return EV_EXIT_USAGE;
	}
	if (r != 0)
		return fe_report(&err);
	if ((pb->cx = ev_jschema_ctx_new()) == NULL)
		return fe_oom();
	return -1;
}

static int open_kafka_dlq(struct pub *pb, const struct opts *o);

/* --dlq DLQ, once the log is open: -1, or the exit status. */
static int open_dlq(struct pub *pb, const struct opts *o)
{
	struct ev_error err;
	int r;

	if (o->dlq == NULL)
		return -1;
	if (ev_kafka_is_addr(o->log) || ev_kafka_is_addr(o->dlq))
		return open_kafka_dlq(pb, o);
	r = ev_dlq_open(&pb->dlq_log, o->dlq, pb->log, &err);
	if (r == EV_EUSAGE)
		return usage("--dlq: '%s' is LOG itself", o->dlq);
	if (r == 0)
		r = ev_schema_dlq_open(&pb->dlq, pb->dlq_log, pb->log,
				       o->schemas, &o->sopts, &err);
	return r != 0 ? fe_report(&err) : -1;
}

/* Validate one record: 1 valid, 0 invalid (its errors in pb->cx), or
 * the exit status as a negative number. */
static int check_event(struct pub *pb, const uint8_t *rec, size_t n)
{
	int v = ev_schemadir_check(pb->sd, rec, n, pb->cx);

	if (v >= 0)
		return v;
	if (v == EV_ERR)
		return -fe_oom();
	fe_warn("internal error: an event evpub built does not decode");
	return -EV_EXIT_FAILURE;
}

/* Say why an event is invalid, one line per error, after where it was
 * read in the input name (NULL in the argument form).  Then, with --dlq,
 * write its letter.  -1, or the exit status. */
static int say_invalid(struct pub *pb, const char *name, const uint8_t *rec,
		       size_t n, char *loc, size_t locn)
{
	char prefix[4300] = "";
	size_t i, j;

	pb->schema_invalid++;
	if (name != NULL) {
		where(pb->o, name, pb->last_at, loc, locn);
		snprintf(prefix, sizeof(prefix), "%s: ", loc);
	} else {
		snprintf(loc, locn, "arguments");
	}
	pb->msg.len = 0;
	if (ev_schema_errors_text(&pb->msg, prefix, rec, n, pb->cx, 5) != 0)
		return fe_oom();
	for (i = 0; i < pb->msg.len; i = j + 1) {
		j = i;
		while (j < pb->msg.len && pb->msg.p[j] != '\n')
			j++;
		fe_warn("%.*s", (int)(j - i), (const char *)pb->msg.p + i);
	}
	return -1;
}

/* An event too large for a dead letter stops the run there, as an
 * invalid event does without --dlq: EV_EXIT_DATA. */
static int too_large_to_dlq(struct pub *pb, const char *loc,
			    const struct ev_error *err)
{
	fe_warn("%s: %s", loc, err->msg);
	pb->stopped = 1;
	pb->stop_known = 1;
	pb->stop_at = pb->last_at;
	return EV_EXIT_DATA;
}

static int invalid_event(struct pub *pb, const char *name, const uint8_t *rec,
			 size_t n)
{
	struct ev_error err;
	char loc[4200];
	int r;

	if ((r = say_invalid(pb, name, rec, n, loc, sizeof(loc))) >= 0)
		return r;
	if (pb->dlq != NULL) {
		r = ev_schema_dlq_letter(pb->dlq, rec, n, loc, pb->cx, &err);
		if (r == EV_EDATA)
			return too_large_to_dlq(pb, loc, &err);
		if (r != 0)
			return fe_report(&err);
		pb->dlq_dirty = 1; /* synced when input pauses, or at the end */
	}
	return -1;
}

/* --dlq: does every invalid event of the line, from the first (bad),
 * fit in a letter?  -1, or (said, and stopped before anything of the
 * line is added) the exit status. */
static int letters_fit(struct pub *pb, const char *name, struct ev_input *in,
		       int n, int bad)
{
	struct ev_error err;
	const uint8_t *rec;
	char loc[4200];
	size_t rn;
	ev_time_t t;
	int i, v;

	for (i = bad; i < n; i++) {
		ev_input_record(in, i, &rec, &rn, &t);
		if ((v = check_event(pb, rec, rn)) < 0)
			return -v;
		if (v == 1)
			continue;
		where(pb->o, name, pb->last_at, loc, sizeof(loc));
		v = ev_schema_dlq_letter_fits(pb->dlq, rec, rn, loc, pb->cx,
					      &err);
		if (v == 0)
			continue;
		if (v != EV_EDATA)
			return fe_report(&err);
		if ((v = say_invalid(pb, name, rec, rn, loc, sizeof(loc))) >= 0)
			return v;
		return too_large_to_dlq(pb, loc, &err);
	}
	return -1;
}

/* ------------------------------------------------------------ the argument
 * form */

/* A builder error is a usage error, with the option's flag. */
static int builder_failed(struct ev_error *err)
{
	if (err->code == EV_ERR)
		return fe_report(err);
	name_flag(err);
	return usage("%s", err->msg);
}

/* TYPE [name=value | name:=json ...] and the envelope options: -1 with
 * *out set, or the exit status. */
static int build_event(const struct opts *o, struct ev_builder **out)
{
	static const char *const fields[] = {"type",   "id",   "key",
					     "stream", "time", "schema"};
	const char *values[] = {o->operands[0], o->id,	 o->key,
				o->stream,	o->time, o->schema};
	struct ev_builder *b = ev_builder_new();
	struct ev_error err;
	size_t i;
	int k;

	*out = b;
	if (b == NULL)
		return fe_oom();
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (values[i] != NULL &&
		    ev_builder_set(b, fields[i], values[i], &err) != 0)
			return builder_failed(&err);
	for (k = 0; k < o->nmetas; k++)
		if (ev_builder_meta_arg(b, o->metas[k], &err) != 0)
			return builder_failed(&err);
	for (k = 1; k < o->noperands; k++)
		if (ev_builder_arg(b, o->operands[k], &err) != 0)
			return builder_failed(&err);
	return -1;
}

static int publish_event(struct pub *pb, struct ev_builder *b)
{
	struct ev_buf rec = {0};
	struct ev_error err;
	ev_time_t t;
	int rc = EV_EXIT_OK, v;

	if (ev_builder_finish(b, ev_now(), &rec, &t, &err) != 0) {
		rc = fe_report(&err);
		goto out;
	}
	if (pb->sd != NULL && (v = check_event(pb, rec.p, rec.len)) != 1) {
		if (v < 0) {
			rc = -v;
		} else if ((rc = invalid_event(pb, NULL, rec.p, rec.len)) < 0) {
			rc = EV_EXIT_DATA;
			if (pb->dlq != NULL) {
				rc = ev_schema_dlq_flush(pb->dlq, &err) != 0
					     ? fe_report(&err)
					     : EV_EXIT_OK;
				if (rc == 0)
					fe_warn("0 appended; 1 invalid event "
						"dead-lettered to '%s'",
						pb->o->dlq);
			}
		}
		goto out;
	}
	if (pb->w != NULL &&
	    (ev_writer_add(pb->w, rec.p, rec.len, t, &err) != 0 ||
	     ev_writer_flush(pb->w, &err) != 0)) {
		rc = writer_failed(pb, &err);
		goto out;
	}
	if (ack_failed(pb)) {
		rc = acks_lost(pb);
		goto out;
	}
	if (pb->duplicates > 0)
		fe_warn("0 appended, 1 duplicate");
out:
	ev_buf_free(&rec);
	return rc;
}

/* ------------------------------------------------------------ input */

/* A bad line or object: reported, then skipped (-1) or the exit status. */
static int bad_line(struct pub *pb, const char *name, struct ev_input *in,
		    struct ev_error *err)
{
	char loc[4200];

	if (err->code != EV_EDATA)
		return fe_report(err);
	name_flag(err);
	where(pb->o, name, pb->last_at, loc, sizeof(loc));
	if (err->column > 0)
		fe_warn("%s:%zu: %s", loc, err->column, err->msg);
	else
		fe_warn("%s: %s", loc, err->msg);
	if (err->remedy == EV_REMEDY_WRAP && !pb->wrap_hinted) {
		fe_warn("the line is not an event: to make each line the data "
			"of a new event, use --wrap with --type or --type-from");
		pb->wrap_hinted = 1;
	}
	pb->invalid++;
	pb->broken = ev_input_broken(in);
	if ((pb->o->skip_invalid || pb->o->dry_run) && !pb->broken)
		return -1;
	pb->stopped = 1;
	return EV_EXIT_DATA;
}

/*
 * --schemas: the events of one line (or object) validated before any of
 * them is added, so a line is appended whole or stops the run.  -1 to
 * add them (pb->line_invalid: some are invalid, to be skipped or
 * dead-lettered), or the exit status.
 */
static int check_line(struct pub *pb, const char *name, struct ev_input *in,
		      int n)
{
	const uint8_t *rec;
	size_t rn;
	ev_time_t t;
	int i, v, bad = -1;

	pb->line_invalid = 0;
	for (i = 0; i < n; i++) {
		ev_input_record(in, i, &rec, &rn, &t);
		if ((v = check_event(pb, rec, rn)) < 0)
			return -v;
		if (v == 0 && bad < 0)
			bad = i;
	}
	if (bad < 0)
		return -1;
	pb->line_invalid = 1;
	if (pb->dlq != NULL && (v = letters_fit(pb, name, in, n, bad)) >= 0)
		return v;
	if (pb->o->skip_invalid || pb->dlq != NULL)
		return -1; /* add_events() says why, and goes on */
	/* nothing from this line on: said, and stopped */
	ev_input_record(in, bad, &rec, &rn, &t);
	ev_schemadir_check(pb->sd, rec, rn, pb->cx);
	if ((v = invalid_event(pb, name, rec, rn)) >= 0)
		return v;
	pb->stopped = 1;
	pb->stop_known = 1;
	pb->stop_at = pb->last_at;
	return EV_EXIT_DATA;
}

/* The events of one line (or object) to the writer: -1, or the exit
 * status. */
static int add_events(struct pub *pb, int k, const char *name,
		      struct ev_input *in, int n)
{
	const struct opts *o = pb->o;
	struct ev_error err;
	const uint8_t *rec;
	char loc[4200];
	size_t rn;
	ev_time_t t;
	int i, r;

	if (pb->sd != NULL && (r = check_line(pb, name, in, n)) >= 0)
		return r;
	for (i = 0; i < n; i++) {
		ev_input_record(in, i, &rec, &rn, &t);
		/* --skip-invalid or --dlq: its letter is written */
		if (pb->sd != NULL && pb->line_invalid &&
		    (r = check_event(pb, rec, rn)) != 1) {
			if (r < 0)
				return -r;
			if ((r = invalid_event(pb, name, rec, rn)) >= 0)
				return r;
			continue;
		}
		if (o->wopts.expect == EV_EXPECT_VERSION &&
		    ev_expect_one_stream(&pb->one_stream, rec, rn, &err) != 0) {
			if (err.code != EV_EUSAGE)
				return fe_report(&err);
			where(o, name, pb->last_at, loc, sizeof(loc));
			return usage("%s: --expect-version %s needs every "
				     "event in one stream; %s",
				     loc, o->expect, err.msg);
		}
		r = ev_writer_add_tagged(pb->w, rec, rn, t, TAG(k, pb->last_at),
					 &err);
		if (r == EV_EUSAGE) {
			where(o, name, pb->last_at, loc, sizeof(loc));
			return usage("%s: --expect-version %s: %s; an exact "
				     "version is for one atomic append",
				     loc, o->expect, err.msg);
		}
		if (r != 0)
			return writer_failed(pb, &err);
	}
	return -1;
}

/* --dry-run --schemas: each event of a line checked, and the invalid
 * ones said: -1, or the exit status. */
static int dry_check(struct pub *pb, const char *name, struct ev_input *in,
		     int n)
{
	const uint8_t *rec;
	size_t rn;
	ev_time_t t;
	int i, v;

	for (i = 0; i < n; i++) {
		ev_input_record(in, i, &rec, &rn, &t);
		if ((v = check_event(pb, rec, rn)) < 0)
			return -v;
		if (v == 0 && (v = invalid_event(pb, name, rec, rn)) >= 0)
			return v;
	}
	return -1;
}

/* Everything in input number k: -1, or the exit status. */
static int publish_input(struct pub *pb, int k, struct ev_input *in)
{
	const char *name = input_name(pb->o->inputs[k]);
	struct ev_input_pos pos;
	struct ev_error err;
	int n, r, pending, timeout;

	while (!stop_requested) {
		pending = (pb->w != NULL && ev_writer_pending(pb->w) > 0) ||
			  pb->dlq_dirty;
		timeout = pending && pb->o->linger_ms > 0
				  ? (int)pb->o->linger_ms
				  : -1;
		n = ev_input_next(in, timeout, EV_TIME_NONE, &err);
		ev_input_where(in, &pos);
		pb->last_at = pb->o->stream_in ? pos.byte : pos.line;
		if (n == EV_EAGAIN) {
			/* input paused: what was read is made durable */
			if (pending && ev_writer_flush(pb->w, &err) != 0)
				return writer_failed(pb, &err);
			if (ev_schema_dlq_flush(pb->dlq, &err) != 0)
				return fe_report(&err);
			pb->dlq_dirty = 0;
			continue;
		}
		if (n == 0)
			break;
		if (n == EV_EIO)
			return fe_report(&err);
		if (n < 0) {
			r = bad_line(pb, name, in, &err);
			if (r >= 0)
				return r;
			continue;
		}
		pb->valid += (uint64_t)n;
		if (pb->o->dry_run) {
			if (pb->sd != NULL &&
			    (r = dry_check(pb, name, in, n)) >= 0)
				return r;
			continue;
		}
		r = add_events(pb, k, name, in, n);
		if (r >= 0)
			return r;
		if (ack_failed(pb)) {
			pb->stopped = 1;
			return EV_EXIT_OK; /* reported below */
		}
	}
	return -1;
}

/* The bytes left to read in the inputs that are regular files (a pipe
 * or a terminal counts 0): the writer's hint. */
static uint64_t input_bytes(const struct opts *o)
{
	struct stat st;
	uint64_t n = 0;
	off_t at;
	int k;

	for (k = 0; k < o->ninputs; k++) {
		if (strcmp(o->inputs[k], "-") == 0) {
			if (fstat(0, &st) != 0 || !S_ISREG(st.st_mode))
				continue;
			at = lseek(0, 0, SEEK_CUR);
			if (at >= 0 && at < st.st_size)
				n += (uint64_t)(st.st_size - at);
		} else if (stat(o->inputs[k], &st) == 0 &&
			   S_ISREG(st.st_mode)) {
			n += (uint64_t)st.st_size;
		}
	}
	return n;
}

/* Every input in turn: -1, or the exit status. */
static int publish_inputs(struct pub *pb)
{
	const struct opts *o = pb->o;
	struct ev_input *in;
	struct ev_error err;
	const char *path;
	int k, r = -1;

	if (pb->w != NULL)
		ev_writer_expect_bytes(pb->w, input_bytes(o));
	for (k = 0; k < o->ninputs && !stop_requested && r < 0; k++) {
		path = o->inputs[k];
		if (ev_input_open(&in, strcmp(path, "-") == 0 ? NULL : path,
				  &o->popts, &err) != 0)
			return fe_report(&err);
		r = publish_input(pb, k, in);
		ev_input_free(in);
	}
	return r;
}

/* ------------------------------------------------------------ the log */

static int open_log(struct pub *pb, struct opts *o)
{
	struct ev_log_config cfg;
	struct ev_error err;
	int r;

	ev_log_config_init(&cfg);
	if (o->wopts.sync_set)
		cfg.sync = o->wopts.sync; /* the new log's default */
	r = ev_log_open_or_create(&pb->log, o->log, o->create ? &cfg : NULL,
				  &err);
	if (r != 0) {
		r = fe_report(&err);
		/* a missing log, not something else where it should be */
		if (err.code == EV_ENOENT && access(o->log, F_OK) != 0)
			fe_warn("use -c/--create to create it, or 'evctl init %s'",
				o->log);
		return r;
	}
	ev_log_set_notice(pb->log, on_gap, pb);
	o->wopts.threaded = 1;
	o->wopts.unlinked = 1; /* our records come from the parser */
	o->wopts.on_durable = on_durable;
	o->wopts.notice = on_notice;
	o->wopts.ctx = pb;
	if (ev_writer_open(&pb->w, pb->log, &o->wopts, &err) != 0) {
		if (err.code == EV_EDATA)
			ev_log_repair_advice(pb->log, &err);
		return fe_report(&err);
	}
	/* the parser validated them: the writer need not again */
	ev_writer_trust_records(pb->w);
	return -1;
}

/* After the input: everything before a bad line made durable, and the
 * counts said.  Returns the exit status. */
static int finish_input(struct pub *pb, int rc)
{
	const struct opts *o = pb->o;
	struct ev_error err;
	char a[64], b[64], c[64] = "";
	uint64_t skipped =
		o->skip_invalid ? pb->invalid - (uint64_t)pb->broken : 0;
	/* invalid events: dead-lettered, or skipped */
	uint64_t dead = ev_schema_dlq_count(pb->dlq);
	uint64_t skipped_ev =
		o->skip_invalid && pb->dlq == NULL ? pb->schema_invalid : 0;
	const char *bad = o->stream_in ? "invalid object" : "invalid line";
	const char *bads = o->stream_in ? "invalid objects" : "invalid lines";
	char d[64], sk[160] = "", dl[4200] = "";

	if (pb->w != NULL && rc != 0 && o->wopts.one_batch)
		ev_writer_discard(pb->w); /* all or nothing */
	if (pb->w != NULL && ev_writer_flush(pb->w, &err) != 0 &&
	    (rc == 0 || rc == EV_EXIT_DATA))
		rc = writer_failed(pb, &err);
	if (pb->dlq != NULL && ev_schema_dlq_flush(pb->dlq, &err) != 0 &&
	    (rc == 0 || rc == EV_EXIT_DATA))
		rc = fe_report(&err);
	if (ack_failed(pb)) {
		rc = acks_lost(pb);
		pb->stopped = 1;
	}
	if (pb->duplicates > 0)
		fe_warn("%s appended, %s duplicate", ev_commas(pb->appended, a),
			ev_commas(pb->duplicates, b));
	if (pb->broken) /* a stream that cannot be read on */
		snprintf(c, sizeof(c), "; stopped at byte %s",
			 ev_commas(pb->last_at, b));
	count(a, pb->appended, "event", "events");
	if (skipped_ev > 0)
		snprintf(sk, sizeof(sk), "; %s skipped",
			 count(d, skipped_ev, "invalid event",
			       "invalid events"));
	if (dead > 0)
		snprintf(dl, sizeof(dl), "; %s dead-lettered to '%s'",
			 count(d, dead, "invalid event", "invalid events"),
			 o->dlq);
	if (rc != 0 && pb->stopped && !o->dry_run && skipped == 0 &&
	    skipped_ev == 0) {
		fe_warn("%s appended%s; stopped at %s %s", a, dl,
			o->stream_in ? "byte" : "line",
			ev_commas(pb->stop_known ? pb->stop_at : pb->last_at,
				  b));
	} else if (o->dry_run) {
		if (pb->schema_invalid > 0)
			snprintf(sk, sizeof(sk), "; %s",
				 count(d, pb->schema_invalid, "invalid event",
				       "invalid events"));
		if (pb->invalid > 0 || pb->schema_invalid > 0 || o->verbose)
			fe_warn("%s valid; %s%s%s",
				count(a, pb->valid - pb->schema_invalid,
				      "event", "events"),
				count(b, pb->invalid, bad, bads), sk, c);
		if ((pb->invalid > 0 || pb->schema_invalid > 0) && rc == 0)
			rc = EV_EXIT_DATA;
	} else if (skipped > 0) {
		fe_warn("%s appended; %s skipped%s%s%s", a,
			count(b, skipped, bad, bads), sk, dl, c);
		if (rc == 0)
			rc = EV_EXIT_DATA;
	} else if (skipped_ev > 0 || dead > 0) {
		fe_warn("%s appended%s%s%s", a, sk, dl, c);
		if (rc == 0 && skipped_ev > 0)
			rc = EV_EXIT_DATA;
	}
	return rc;
}

/* ------------------------------------------------------------ kafka */

/* A kafka:// LOG: its options checked.  -1 to go on, or the status. */
static int check_kafka(const struct opts *o)
{
	size_t i;

	if (!ev_kafka_is_addr(o->log)) {
		if (o->kafka_opt != NULL && !ev_kafka_is_addr(o->dlq))
			return usage("%s needs a kafka://HOST:PORT/TOPIC LOG",
				     o->kafka_opt);
		return -1;
	}
	for (i = 0; i < sizeof(local_only) / sizeof(local_only[0]); i++)
		if (o->local_opt != NULL &&
		    strcmp(o->local_opt, local_only[i].name) == 0)
			return usage("%s: not on a kafka log (%s)",
				     local_only[i].name, local_only[i].why);
	if (!o->create && (o->kparts > 0 || o->krepl > 0))
		return usage("%s goes with --create",
			     o->kparts > 0 ? "--partitions"
					   : "--replication-factor");
	return -1;
}

/* --dlq with a kafka:// LOG or DLQ: a dead-letter log or topic for the
 * letters of a local log or a topic.  -1, or the exit status. */
static int open_kafka_dlq(struct pub *pb, const struct opts *o)
{
	struct ev_schema_dlq_to to;
	struct ev_kafka_addr la, da;
	struct ev_kafka_conn_opts co;
	struct ev_error err;
	char *tpath = NULL;
	int r;

	memset(&to, 0, sizeof(to));
	if (ev_kafka_is_addr(o->log)) {
		if (ev_kafka_addr_parse(o->log, &la, &err) != 0)
			return usage("%s", err.msg);
		to.target = o->log;
		to.target_id = la.topic;
	} else { /* a retry runs wherever evdlq runs: an absolute path */
		tpath = realpath(ev_log_path(pb->log), NULL);
		to.target = tpath != NULL ? tpath : ev_log_path(pb->log);
		to.target_id = ev_log_id(pb->log);
	}
	if (ev_kafka_is_addr(o->dlq)) {
		if (ev_kafka_addr_parse(o->dlq, &da, &err) != 0) {
			free(tpath);
			return usage("--dlq: %s", err.msg);
		}
		if (ev_kafka_is_addr(o->log) &&
		    strcmp(da.topic, la.topic) == 0 &&
		    strcmp(da.brokers, la.brokers) == 0) {
			free(tpath);
			return usage("--dlq: '%s' is LOG itself", o->dlq);
		}
		co.addr = &da;
		co.props = &o->kprops;
		co.timeout_ms = (int)o->kafka_timeout_ms;
		r = ev_kafka_dlq_open(&pb->dlq_topic, &co, &err);
		to.sink = ev_kafka_dlq_letter;
		to.sink_ctx = pb->dlq_topic;
		to.dlq_name = o->dlq;
	} else {
		r = ev_dlq_open(&pb->dlq_log, o->dlq, NULL, &err);
		to.dlq = pb->dlq_log;
	}
	if (r == 0)
		r = ev_schema_dlq_open_to(&pb->dlq, &to, o->schemas, &o->sopts,
					  &err);
	free(tpath);
	if (r == EV_EUSAGE)
		return usage("%s", err.msg);
	return r != 0 ? fe_reportf(&err, "--dlq") : -1;
}

struct kpub {
	const struct opts *o;
	uint64_t delivered, failed;
	int out_failed;
};

/* a delivery report: --ack prints PARTITION:OFFSET ID */
static void on_kafka_ack(void *ctx, void *opaque, int32_t partition,
			 int64_t offset, const char *error)
{
	struct kpub *kp = ctx;
	char *id = opaque;

	if (error != NULL)
		kp->failed++;
	else
		kp->delivered++;
	if (error == NULL && kp->o->ack && id != NULL && !kp->out_failed &&
	    printf("%d:%lld %s\n", (int)partition, (long long)offset, id) < 0)
		kp->out_failed = 1;
	free(id);
}

/* one encoded event into a record, queued */
static int kafka_send(struct ev_kafka_producer *kpr, const struct opts *o,
		      struct ev_kafka_msg *m, const uint8_t *rec, size_t n)
{
	struct ev_str eid;
	struct ev_error err;
	char *id = NULL;

	if (ev_kafka_record_to_msg(rec, n, o->kfmt, m, &eid, &err) != 0)
		return fe_report(&err);
	if (o->ack && (id = strndup(eid.p, eid.n)) == NULL)
		return fe_oom();
	if (ev_kafka_produce(kpr, m, id, &err) != 0) {
		free(id);
		return fe_report(&err);
	}
	return -1;
}

/* Publish to a kafka log: the status. */
static int publish_kafka(struct pub *pb, struct opts *o, struct ev_builder *bld)
{
	struct ev_kafka_addr addr;
	struct ev_kafka_conn_opts co;
	struct ev_kafka_producer *kpr = NULL;
	struct ev_kafka_msg m;
	struct ev_input *in;
	struct ev_input_pos pos;
	struct ev_error err;
	struct ev_buf rec = {0};
	struct kpub kp;
	const uint8_t *p;
	size_t n;
	ev_time_t t;
	char a[64], b[64], c[64], sk[160] = "", dl[4300] = "";
	uint64_t dead;
	int rc = -1, r, k, i, cnt;

	if (ev_kafka_addr_parse(o->log, &addr, &err) != 0)
		return usage("%s", err.msg);
	memset(&kp, 0, sizeof(kp));
	memset(&m, 0, sizeof(m));
	ev_kafka_msg_reset(&m);
	kp.o = o;
	co.addr = &addr;
	co.props = &o->kprops;
	co.timeout_ms = (int)o->kafka_timeout_ms;
	/* --create: the topic through the admin API, when it is missing */
	r = o->create ? ev_kafka_topic_create(&co, o->kparts, o->krepl, &err)
		      : 1;
	if (r < 0)
		return r == EV_EUSAGE ? usage("%s", err.msg) : fe_report(&err);
	if (r == 0 && o->verbose)
		fe_warn("created topic '%s'", addr.topic);
	if (ev_kafka_producer_open(&kpr, &co, on_kafka_ack, &kp, &err) != 0)
		return err.code == EV_EUSAGE ? usage("%s", err.msg)
					     : fe_report(&err);
	fe_on_stop(on_signal);
	if (bld != NULL) {
		if (ev_builder_finish(bld, ev_now(), &rec, &t, &err) != 0)
			rc = fe_report(&err);
		else if (pb->sd != NULL &&
			 (r = check_event(pb, rec.p, rec.len)) != 1)
			rc = r < 0 ? -r
			     : (r = invalid_event(pb, NULL, rec.p, rec.len)) >=
					     0
				     ? r
			     : pb->dlq != NULL ? -1 /* a letter: said below */
					       : EV_EXIT_DATA;
		else
			rc = kafka_send(kpr, o, &m, rec.p, rec.len);
	}
	if (o->ninputs == 0)
		o->inputs[o->ninputs++] = "-";
	for (k = 0; bld == NULL && k < o->ninputs && rc < 0; k++) {
		const char *path = o->inputs[k];
		if (ev_input_open(&in, strcmp(path, "-") == 0 ? NULL : path,
				  &o->popts, &err) != 0) {
			rc = fe_report(&err);
			break;
		}
		while (rc < 0 && !stop_requested) {
			/* while the input is idle, deliveries are still
			 * reported (--ack) */
			cnt = ev_input_next(in, 100, EV_TIME_NONE, &err);
			ev_input_where(in, &pos);
			pb->last_at = o->stream_in ? pos.byte : pos.line;
			if (cnt == EV_EAGAIN) {
				ev_kafka_producer_poll(kpr);
				if (o->ack && fflush(stdout) != 0)
					kp.out_failed = 1;
				continue;
			}
			if (cnt == 0)
				break;
			if (cnt == EV_EIO) {
				rc = fe_report(&err);
				break;
			}
			if (cnt < 0) {
				r = bad_line(pb, input_name(path), in, &err);
				if (r >= 0)
					rc = r;
				continue;
			}
			pb->valid += (uint64_t)cnt;
			/* --schemas: a line goes whole, or stops the run;
			 * with --skip-invalid its invalid events are left
			 * out, each said */
			if (pb->sd != NULL &&
			    (r = check_line(pb, input_name(path), in, cnt)) >=
				    0) {
				rc = r;
				break;
			}
			for (i = 0; i < cnt && rc < 0; i++) {
				ev_input_record(in, i, &p, &n, &t);
				if (pb->sd != NULL && pb->line_invalid &&
				    (r = check_event(pb, p, n)) != 1) {
					rc = r < 0 ? -r
						   : invalid_event(
							     pb,
							     input_name(path),
							     p, n);
					continue;
				}
				rc = kafka_send(kpr, o, &m, p, n);
			}
		}
		ev_input_free(in);
	}
	/* whatever was queued is delivered or fails: acked stays acked */
	r = ev_kafka_producer_flush(kpr, &err);
	dead = ev_schema_dlq_count(pb->dlq);
	if (fflush(stdout) != 0 || kp.out_failed) {
		fe_warn("cannot write to standard output: %s", strerror(errno));
		if (rc < 0)
			rc = EV_EXIT_IO;
	}
	if (r != 0 && (rc < 0 || rc == EV_EXIT_DATA))
		rc = fe_report(&err);
	/* --dlq: a dead-lettered event was kept somewhere */
	if (rc < 0 && (pb->invalid > 0 || pb->schema_invalid > dead))
		rc = EV_EXIT_DATA;
	if (pb->schema_invalid > 0 && o->skip_invalid && pb->dlq == NULL)
		snprintf(sk, sizeof(sk), "; %s skipped",
			 count(c, pb->schema_invalid, "invalid event",
			       "invalid events"));
	if (dead > 0)
		snprintf(dl, sizeof(dl), "; %s dead-lettered to '%s'%s%s",
			 count(c, dead, "invalid event", "invalid events"),
			 o->dlq, pb->stopped ? "; stopped at line " : "",
			 pb->stopped ? ev_commas(pb->stop_known ? pb->stop_at
								: pb->last_at,
						 b)
				     : "");
	if (o->verbose || dead > 0 ||
	    ((pb->invalid > 0 || pb->schema_invalid > 0) && o->skip_invalid))
		fe_warn("%s delivered to '%s'%s%s%s%s",
			count(a, kp.delivered, "event", "events"), o->log,
			pb->invalid > 0 ? "; " : "",
			pb->invalid > 0 ? count(b, pb->invalid,
						o->stream_in ? "invalid object"
							     : "invalid line",
						o->stream_in ? "invalid objects"
							     : "invalid lines")
					: "",
			sk, dl);
	ev_kafka_producer_close(kpr);
	ev_kafka_msg_free(&m);
	ev_buf_free(&rec);
	return rc < 0 ? EV_EXIT_OK : rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	struct pub pb;
	struct ev_builder *bld = NULL;
	struct ev_error err;
	char a[64], b[64];
	int rc, counts;

	ev_malloc_bulk();
	fe_init(argv);
	memset(&o, 0, sizeof(o));
	memset(&pb, 0, sizeof(pb));
	pb.o = &o;
	rc = parse_args(&o, argc, argv);
	if (rc < 0 && o.noperands > 0)
		rc = build_event(&o, &bld);
	if (rc < 0)
		rc = check_options(&o);
	if (rc < 0)
		rc = check_kafka(&o);
	if (rc < 0)
		rc = open_schemas(&pb, &o);
	if (rc < 0 && ev_kafka_is_addr(o.log) && !o.dry_run) {
		rc = open_dlq(&pb, &o);
		if (rc < 0)
			rc = publish_kafka(&pb, &o, bld);
		goto out;
	}
	if (rc < 0 && !o.dry_run)
		rc = open_log(&pb, &o);
	if (rc < 0)
		rc = open_dlq(&pb, &o);
	if (rc >= 0)
		goto out;
	/* a rewrite in place the writer follows: letters name the new log */
	if (pb.dlq != NULL && pb.w != NULL)
		ev_schema_dlq_follow(pb.dlq, pb.w);
	fe_on_stop(on_signal);
	if (bld != NULL) {
		rc = publish_event(&pb, bld);
		counts = rc == 0;
	} else {
		if (o.ninputs == 0)
			o.inputs[o.ninputs++] = "-";
		rc = publish_inputs(&pb);
		rc = finish_input(&pb, rc < 0 ? EV_EXIT_OK : rc);
		counts = 1;
	}
	if (counts && o.verbose && pb.w != NULL)
		fe_warn("%s appended, %s",
			count(a, pb.appended, "event", "events"),
			count(b, ev_writer_syncs(pb.w), "fsync", "fsyncs"));
out:
	if (pb.w != NULL && ev_writer_close(pb.w, &err) != 0 && rc == 0)
		rc = fe_report(&err);
	if (ev_schema_dlq_close(pb.dlq, &err) != 0 && rc == 0)
		rc = fe_report(&err);
	ev_log_close(pb.dlq_log);
	ev_kafka_dlq_close(pb.dlq_topic);
	ev_schemadir_free(pb.sd);
	ev_jschema_ctx_free(pb.cx);
	ev_buf_free(&pb.msg);
	free(o.ref_dirs);
	ev_builder_free(bld);
	ev_log_close(pb.log);
	ev_buf_free(&pb.ackbuf);
	ev_buf_free(&pb.one_stream);
	free(o.inputs);
	free(o.metas);
	ev_kafka_props_free(&o.kprops);
	return rc;
}
