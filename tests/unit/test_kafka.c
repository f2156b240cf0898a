/*
 * test_kafka.c - lib/kafka.c: kafka:// addresses, librdkafka properties
 * (-X, kcat's properties files), and the mapping between events and
 * Kafka records in each --kafka-format, with its round trips, foreign
 * records and incomplete CloudEvents headers.
 */
#include "unit.h"

#define NOW 1700000000123456789LL

/* ------------------------------------------------------------ addresses */

static void addr_ok(const char *s, const char *brokers, const char *topic)
{
	struct ev_kafka_addr a;
	struct ev_error err;

	assert_true(ev_kafka_is_addr(s));
	if (ev_kafka_addr_parse(s, &a, &err) != 0)
		fail_msg("%s: %s", s, err.msg);
	assert_string_equal(a.brokers, brokers);
	assert_string_equal(a.topic, topic);
}

static void addr_bad(const char *s, const char *msg)
{
	struct ev_kafka_addr a;
	struct ev_error err;

	assert_int_equal(ev_kafka_addr_parse(s, &a, &err), EV_EUSAGE);
	assert_int_equal(err.code, EV_EUSAGE);
	assert_string_equal(err.msg, msg);
}

static void test_addr(void **state)
{
	(void)state;
	addr_ok("kafka://localhost:9092/orders", "localhost:9092", "orders");
	addr_ok("kafka://a:1,b.example.com:65535,10.0.0.1:9092/o.v1_x-y",
		"a:1,b.example.com:65535,10.0.0.1:9092", "o.v1_x-y");
	addr_ok("kafka://[::1]:9092/t", "[::1]:9092", "t");
	assert_false(ev_kafka_is_addr("orders.evlog"));
	assert_false(ev_kafka_is_addr("kafka:/x"));
	addr_bad("kafka://localhost:9092",
		 "kafka address 'kafka://localhost:9092': missing topic "
		 "(kafka://HOST:PORT[,HOST:PORT...]/TOPIC)");
	addr_bad("kafka://localhost:9092/",
		 "kafka address 'kafka://localhost:9092/': missing topic "
		 "(kafka://HOST:PORT[,HOST:PORT...]/TOPIC)");
	addr_bad("kafka:///t", "kafka address 'kafka:///t': missing brokers "
			       "(kafka://HOST:PORT[,HOST:PORT...]/TOPIC)");
	addr_bad("kafka://localhost/t",
		 "kafka address 'kafka://localhost/t': broker 'localhost': "
		 "missing port (HOST:PORT)");
	addr_bad("kafka://h:/t", "kafka address 'kafka://h:/t': broker 'h:': "
				 "missing port (HOST:PORT)");
	addr_bad("kafka://:9092/t",
		 "kafka address 'kafka://:9092/t': broker ':9092': missing "
		 "host");
	addr_bad("kafka://h:99999/t",
		 "kafka address 'kafka://h:99999/t': broker 'h:99999': "
		 "invalid port '99999' (1 to 65535)");
	addr_bad("kafka://h:0/t", "kafka address 'kafka://h:0/t': broker "
				  "'h:0': invalid port '0' (1 to 65535)");
	addr_bad("kafka://h:9x/t", "kafka address 'kafka://h:9x/t': broker "
				   "'h:9x': invalid port '9x' (1 to 65535)");
	addr_bad("kafka://a:1,,b:2/t",
		 "kafka address 'kafka://a:1,,b:2/t': empty broker in the "
		 "list");
	addr_bad("kafka://a:1,/t",
		 "kafka address 'kafka://a:1,/t': empty broker in the list");
	addr_bad("kafka://h o:1/t",
		 "kafka address 'kafka://h o:1/t': broker 'h o:1': invalid "
		 "character ' ' in the host");
	addr_bad("kafka://[::1/t", "kafka address 'kafka://[::1/t': broker "
				   "'[::1': unclosed '['");
	addr_bad("kafka://h:1/a/b",
		 "kafka address 'kafka://h:1/a/b': topic 'a/b': invalid "
		 "character '/' (letters, digits, '.', '_' and '-')");
	addr_bad("kafka://h:1/..",
		 "kafka address 'kafka://h:1/..': topic '..' is not allowed");
	addr_bad("orders", "'orders' is not a kafka address "
			   "(kafka://HOST:PORT[,HOST:PORT...]/TOPIC)");
}

/* ------------------------------------------------------------ properties */

static void test_props(void **state)
{
	struct ev_kafka_props p = {0};
	struct ev_error err;
	char dir[] = "/tmp/test_kafka.XXXXXX", path[64];
	FILE *f;

	(void)state;
	assert_int_equal(ev_kafka_props_add(&p, "acks=1", &err), 0);
	assert_int_equal(ev_kafka_props_add(&p, "client.id=a=b", &err), 0);
	assert_int_equal(ev_kafka_props_add(&p, "empty=", &err), 0);
	assert_string_equal(ev_kafka_props_get(&p, "acks"), "1");
	assert_string_equal(ev_kafka_props_get(&p, "client.id"), "a=b");
	assert_string_equal(ev_kafka_props_get(&p, "empty"), "");
	assert_null(ev_kafka_props_get(&p, "nope"));
	assert_int_equal(ev_kafka_props_add(&p, "acks", &err), EV_EUSAGE);
	assert_string_equal(err.msg, "-X 'acks': expected PROPERTY=VALUE");
	assert_int_equal(ev_kafka_props_add(&p, "=1", &err), EV_EUSAGE);
	assert_string_equal(err.msg, "-X '=1': expected PROPERTY=VALUE");

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/k.properties", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("# kcat's format\n\n  acks = all\r\n"
	      "security.protocol=PLAINTEXT\n   # indented comment\n",
	      f);
	fclose(f);
	assert_int_equal(ev_kafka_props_load(&p, path, &err), 0);
	/* the last one given wins, in its first place */
	assert_string_equal(p.kv[0], "acks");
	assert_string_equal(p.kv[1], "all");
	assert_string_equal(ev_kafka_props_get(&p, "security.protocol"),
			    "PLAINTEXT");
	assert_int_equal(p.n, 4);
	f = fopen(path, "w");
	fputs("acks=1\nno equals sign\n", f);
	fclose(f);
	assert_int_equal(ev_kafka_props_load(&p, path, &err), EV_EUSAGE);
	assert_non_null(strstr(err.msg, "line 2: expected property=value"));
	/* a property librdkafka does not take: the file's line says so */
	f = fopen(path, "w");
	fputs("acks=1\nno.such.prop=1\n", f);
	fclose(f);
	assert_int_equal(ev_kafka_props_load(&p, path, &err), EV_EUSAGE);
	assert_non_null(strstr(err.msg,
			       "line 2: No such configuration property: "
			       "\"no.such.prop\""));
	unlink(path);
	assert_int_equal(ev_kafka_props_load(&p, path, &err), EV_ENOENT);
	rmdir(dir);
	ev_kafka_props_free(&p);
	assert_int_equal(p.n, 0);

	/* -X's, checked all at once before a client opens */
	assert_int_equal(ev_kafka_props_check(&p, &err), 0);
	assert_int_equal(ev_kafka_props_add(&p, "acks=all", &err), 0);
	assert_int_equal(ev_kafka_props_check(&p, &err), 0);
	assert_int_equal(ev_kafka_props_add(&p, "no.such=1", &err), 0);
	assert_int_equal(ev_kafka_props_check(&p, &err), EV_EUSAGE);
	assert_string_equal(err.msg, "-X: No such configuration property: "
				     "\"no.such\"");
	ev_kafka_props_free(&p);
}

static void test_format_names(void **state)
{
	enum ev_kafka_format f;
	struct ev_error err;

	(void)state;
	assert_int_equal(ev_kafka_format_parse("binary", &f, &err), 0);
	assert_int_equal(f, EV_KAFKA_BINARY);
	assert_int_equal(ev_kafka_format_parse("structured", &f, &err), 0);
	assert_int_equal(f, EV_KAFKA_STRUCTURED);
	assert_int_equal(ev_kafka_format_parse("envelope", &f, &err), 0);
	assert_int_equal(f, EV_KAFKA_ENVELOPE);
	assert_int_equal(ev_kafka_format_parse("avro", &f, &err), EV_EUSAGE);
	assert_string_equal(err.msg, "--kafka-format 'avro': expected binary, "
				     "structured or envelope");
}

/* ------------------------------------------------------------ mapping */

/* line parsed in format fmt, into rec */
static void parse_line(enum ev_format fmt, const char *line, size_t n,
		       struct ev_buf *rec)
{
	struct ev_parse_opts o;
	struct ev_parser *ps;
	struct ev_error err;
	const uint8_t *p;
	size_t len;
	ev_time_t t;
	int r;

	memset(&o, 0, sizeof(o));
	o.format = fmt;
	ps = ev_parser_new(&o);
	assert_non_null(ps);
	r = ev_parser_line(ps, line, n, NOW, &err);
	if (r != 1)
		fail_msg("parse %.*s: %s", (int)n, line, err.msg);
	ev_parser_record(ps, 0, &p, &len, &t);
	rec->len = 0;
	ev_buf_append(rec, p, len);
	ev_parser_free(ps);
}

static void to_json(const struct ev_buf *rec, struct ev_buf *out)
{
	struct ev_event ev;
	struct ev_error err;

	out->len = 0;
	assert_int_equal(ev_event_decode(rec->p, rec->len, &ev, &err), 0);
	assert_int_equal(ev_event_to_json(&ev, out, EV_JSON_NO_OFFSET, &err),
			 0);
	ev_buf_putc(out, '\0');
}

/* the record of an envelope line in fmt, read back as an event */
static void roundtrip(const char *line, enum ev_kafka_format kf,
		      struct ev_kafka_msg *m, const char *want)
{
	struct ev_buf rec = {0}, back = {0}, js = {0}, a = {0}, b = {0};
	struct ev_event ev;
	struct ev_error err;
	enum ev_format fmt;

	parse_line(EV_FMT_ENVELOPE, line, strlen(line), &rec);
	assert_int_equal(ev_event_decode(rec.p, rec.len, &ev, &err), 0);
	if (ev_kafka_event_to_msg(&ev, kf, m, &err) != 0)
		fail_msg("to msg: %s", err.msg);
	if (ev_kafka_msg_to_json(m, "orders", 3, 42, &js, &fmt, &err) != 0)
		fail_msg("to json: %s", err.msg);
	assert_int_equal(fmt, kf == EV_KAFKA_STRUCTURED ? EV_FMT_CLOUDEVENTS
							: EV_FMT_ENVELOPE);
	parse_line(fmt, (const char *)js.p, js.len, &back);
	to_json(&rec, &a);
	to_json(&back, &b);
	if (want != NULL) {
		a.len = 0;
		ev_buf_puts(&a, want);
		ev_buf_putc(&a, '\0');
	}
	if (strcmp((char *)a.p, (char *)b.p) != 0)
		fail_msg("format %d:\n  in:  %s\n  via: %.*s\n  out: %s",
			 (int)kf, (char *)a.p, (int)js.len, (char *)js.p,
			 (char *)b.p);
	ev_buf_free(&rec);
	ev_buf_free(&back);
	ev_buf_free(&js);
	ev_buf_free(&a);
	ev_buf_free(&b);
}

static const char *const events[] = {
	"{\"id\":\"e1\",\"type\":\"OrderPlaced\",\"stream\":\"order-7\","
	"\"version\":3,\"time\":\"2025-01-10T09:20:00.123456789Z\","
	"\"key\":\"k7\",\"data\":{\"amount\":1500,\"city\":\"M\\u00fcnchen\"}}",
	"{\"id\":\"e2\",\"type\":\"A\",\"stream\":\"s\",\"time\":"
	"\"2025-01-10T09:20:00Z\",\"schema\":2,\"data\":[1,2.5,null,true],"
	"\"meta\":{\"userId\":\"u-1\",\"source\":\"urn:shop\",\"n\":7,"
	"\"deep\":{\"a\":[1]},\"correlationId\":\"c-1\"}}",
	"{\"id\":\"e3\",\"type\":\"B\",\"stream\":\"s\",\"time\":"
	"\"2025-01-10T09:20:00Z\",\"data_base64\":\"AAEC/w==\"}",
	"{\"id\":\"e4\",\"type\":\"C\",\"stream\":\"s\",\"time\":"
	"\"2025-01-10T09:20:00Z\"}",
	"{\"id\":\"e5\",\"type\":\"D\",\"stream\":\"s\",\"time\":"
	"\"2025-01-10T09:20:00Z\",\"data\":\"just text\",\"meta\":{}}",
	"{\"id\":\"e6\",\"type\":\"E\",\"stream\":\"s\",\"time\":"
	"\"2025-01-10T09:20:00Z\",\"data\":0,\"schema\":5000000000}",
};

/* structured: CloudEvents holds meta's extensions apart from the rest
 * (evlogmeta), so its keys come back in another order */
static const char structured_e2[] =
	"{\"id\":\"e2\",\"type\":\"A\",\"stream\":\"s\",\"time\":"
	"\"2025-01-10T09:20:00.000Z\",\"schema\":2,\"data\":[1,2.5,null,true],"
	"\"meta\":{\"userId\":\"u-1\",\"deep\":{\"a\":[1]},"
	"\"correlationId\":\"c-1\",\"source\":\"urn:shop\",\"n\":7}}";

static void test_roundtrip(void **state)
{
	struct ev_kafka_msg m = {0};
	size_t i;
	int f;

	(void)state;
	for (f = EV_KAFKA_BINARY; f <= EV_KAFKA_ENVELOPE; f++)
		for (i = 0; i < sizeof(events) / sizeof(events[0]); i++)
			roundtrip(events[i], (enum ev_kafka_format)f, &m,
				  f == EV_KAFKA_STRUCTURED && i == 1
					  ? structured_e2
					  : NULL);
	ev_kafka_msg_free(&m);
}

static const char *hdr(const struct ev_kafka_msg *m, const char *name)
{
	const struct ev_kafka_header *h = ev_kafka_msg_header(m, name);

	return h == NULL ? NULL : (const char *)h->value;
}

/* the binary mode's record, header by header */
static void test_binary_record(void **state)
{
	struct ev_buf rec = {0};
	struct ev_kafka_msg m = {0};
	struct ev_event ev;
	struct ev_error err;

	(void)state;
	parse_line(EV_FMT_ENVELOPE, events[0], strlen(events[0]), &rec);
	assert_int_equal(ev_event_decode(rec.p, rec.len, &ev, &err), 0);
	assert_int_equal(ev_kafka_event_to_msg(&ev, EV_KAFKA_BINARY, &m, &err),
			 0);
	assert_true(m.has_key);
	assert_int_equal(m.key.len, 2);
	assert_memory_equal(m.key.p, "k7", 2);
	assert_true(m.has_value);
	assert_int_equal(m.value.len,
			 strlen("{\"amount\":1500,\"city\":\"München\"}"));
	assert_memory_equal(m.value.p, "{\"amount\":1500,\"city\":\"München\"}",
			    m.value.len);
	assert_string_equal(hdr(&m, "ce_specversion"), "1.0");
	assert_string_equal(hdr(&m, "ce_id"), "e1");
	assert_string_equal(hdr(&m, "ce_type"), "OrderPlaced");
	assert_string_equal(hdr(&m, "ce_source"), "urn:evlog:default");
	assert_string_equal(hdr(&m, "ce_subject"), "order-7");
	assert_string_equal(hdr(&m, "ce_sequence"), "3");
	assert_string_equal(hdr(&m, "ce_partitionkey"), "k7");
	assert_string_equal(hdr(&m, "ce_time"),
			    "2025-01-10T09:20:00.123456789Z");
	assert_string_equal(hdr(&m, "content-type"), "application/json");
	assert_null(hdr(&m, "ce_schemaversion"));
	assert_null(hdr(&m, "ce_evlogmeta"));
	assert_int_equal(m.timestamp, 1736500800123LL);

	/* no key: the stream is the record key; meta whole in ce_evlogmeta */
	parse_line(EV_FMT_ENVELOPE, events[1], strlen(events[1]), &rec);
	assert_int_equal(ev_event_decode(rec.p, rec.len, &ev, &err), 0);
	assert_int_equal(ev_kafka_event_to_msg(&ev, EV_KAFKA_BINARY, &m, &err),
			 0);
	assert_int_equal(m.key.len, 1);
	assert_memory_equal(m.key.p, "s", 1);
	assert_string_equal(hdr(&m, "ce_source"), "urn:shop");
	assert_string_equal(hdr(&m, "ce_schemaversion"), "2");
	assert_string_equal(
		hdr(&m, "ce_evlogmeta"),
		"{\"userId\":\"u-1\",\"source\":\"urn:shop\",\"n\":"
		"7,\"deep\":{\"a\":[1]},\"correlationId\":\"c-1\"}");
	assert_null(hdr(&m, "ce_partitionkey"));

	/* binary data: the bytes, as application/octet-stream */
	parse_line(EV_FMT_ENVELOPE, events[2], strlen(events[2]), &rec);
	assert_int_equal(ev_event_decode(rec.p, rec.len, &ev, &err), 0);
	assert_int_equal(ev_kafka_event_to_msg(&ev, EV_KAFKA_BINARY, &m, &err),
			 0);
	assert_int_equal(m.value.len, 4);
	assert_memory_equal(m.value.p, "\x00\x01\x02\xff", 4);
	assert_string_equal(hdr(&m, "content-type"),
			    "application/octet-stream");

	/* no data: a null value, no content-type */
	parse_line(EV_FMT_ENVELOPE, events[3], strlen(events[3]), &rec);
	assert_int_equal(ev_event_decode(rec.p, rec.len, &ev, &err), 0);
	assert_int_equal(ev_kafka_event_to_msg(&ev, EV_KAFKA_BINARY, &m, &err),
			 0);
	assert_false(m.has_value);
	assert_null(hdr(&m, "content-type"));

	/* the other formats say theirs in content-type */
	assert_int_equal(ev_kafka_event_to_msg(&ev, EV_KAFKA_STRUCTURED, &m,
					       &err),
			 0);
	assert_string_equal(hdr(&m, "content-type"),
			    "application/cloudevents+json");
	assert_null(hdr(&m, "ce_id"));
	assert_int_equal(ev_kafka_event_to_msg(&ev, EV_KAFKA_ENVELOPE, &m,
					       &err),
			 0);
	assert_string_equal(hdr(&m, "content-type"),
			    "application/vnd.evlog+json");
	ev_kafka_msg_free(&m);
	ev_buf_free(&rec);
}

/* a record built by hand, read as an event: its envelope JSON */
static void read_json(struct ev_kafka_msg *m, const char *want)
{
	struct ev_buf js = {0}, rec = {0}, out = {0};
	struct ev_error err;
	enum ev_format fmt;

	if (ev_kafka_msg_to_json(m, "t", 1, 9, &js, &fmt, &err) != 0)
		fail_msg("%s", err.msg);
	parse_line(fmt, (const char *)js.p, js.len, &rec);
	to_json(&rec, &out);
	if (strcmp((char *)out.p, want) != 0)
		fail_msg("\n  want %s\n  got  %s", want, (char *)out.p);
	ev_buf_free(&js);
	ev_buf_free(&rec);
	ev_buf_free(&out);
}

static void set_value(struct ev_kafka_msg *m, const char *v, size_t n)
{
	m->has_value = v != NULL;
	m->value.len = 0;
	if (v != NULL)
		ev_buf_append(&m->value, v, n);
}

static void set_key(struct ev_kafka_msg *m, const char *k, size_t n)
{
	m->has_key = k != NULL;
	m->key.len = 0;
	if (k != NULL)
		ev_buf_append(&m->key, k, n);
}

static void test_foreign(void **state)
{
	struct ev_kafka_msg m = {0};

	(void)state;
	ev_kafka_msg_reset(&m);
	/* what kcat -P sends: a value, no key, no headers */
	set_value(&m, "{\"a\":1}", 7);
	m.timestamp = 1736500800123LL;
	read_json(
		&m,
		"{\"id\":\"kafka:t:1:9\",\"type\":\"kafka.record\","
		"\"stream\":\"t\",\"time\":\"2025-01-10T09:20:00.123Z\","
		"\"schema\":1,\"data\":{\"a\":1},\"meta\":{\"kafka\":{\"timestamp\":"
		"1736500800123}}}");
	/* text that is not JSON: a string; key and headers in meta */
	set_value(&m, "hello world", 11);
	set_key(&m, "k1", 2);
	ev_kafka_msg_add_header(&m, "trace", "abc", 3);
	ev_kafka_msg_add_header(&m, "nul", NULL, 0);
	ev_kafka_msg_add_header(&m, "bin", "\xff\x00", 2);
	read_json(
		&m,
		"{\"id\":\"kafka:t:1:9\",\"type\":\"kafka.record\","
		"\"stream\":\"t\",\"time\":\"2025-01-10T09:20:00.123Z\","
		"\"schema\":1,\"key\":\"k1\",\"data\":\"hello world\",\"meta\":{"
		"\"kafka\":{\"key\":\"k1\",\"timestamp\":1736500800123,"
		"\"headers\":{\"trace\":\"abc\",\"nul\":null,\"bin\":{"
		"\"base64\":\"/wA=\"}}}}}");
	/* bytes: data_base64; a binary key in base64 too */
	ev_kafka_msg_reset(&m);
	set_value(&m, "\x00\xfe", 2);
	set_key(&m, "\xfe", 1);
	read_json(
		&m,
		"{\"id\":\"kafka:t:1:9\",\"type\":\"kafka.record\","
		"\"stream\":\"t\",\"time\":\"2023-11-14T22:13:20.123456789Z\","
		"\"schema\":1,\"data_base64\":\"AP4=\",\"meta\":{"
		"\"kafka\":{\"key\":{\"base64\":\"/g==\"},"
		"\"timestamp\":-1}}}");
	/* a null value (a tombstone): no data */
	ev_kafka_msg_reset(&m);
	set_key(&m, "gone", 4);
	m.timestamp = 0;
	read_json(
		&m,
		"{\"id\":\"kafka:t:1:9\",\"type\":\"kafka.record\","
		"\"stream\":\"t\",\"time\":\"1970-01-01T00:00:00.000Z\","
		"\"schema\":1,\"key\":\"gone\",\"meta\":{\"kafka\":{\"key\":\"gone\","
		"\"timestamp\":0}}}");
	/* a content-type alone does not make it an event */
	ev_kafka_msg_reset(&m);
	set_value(&m, "[1]", 3);
	ev_kafka_msg_add_header(&m, "content-type", "application/json", 16);
	read_json(
		&m,
		"{\"id\":\"kafka:t:1:9\",\"type\":\"kafka.record\","
		"\"stream\":\"t\",\"time\":\"2023-11-14T22:13:20.123456789Z\","
		"\"schema\":1,\"data\":[1],\"meta\":{\"kafka\":{"
		"\"timestamp\":-1,\"headers\":{\"content-type\":"
		"\"application/json\"}}}}");
	ev_kafka_msg_free(&m);
}

/* CloudEvents binary mode from another producer */
static void test_other_cloudevents(void **state)
{
	struct ev_kafka_msg m = {0};
	struct ev_buf js = {0};
	struct ev_error err;
	enum ev_format fmt;

	(void)state;
	ev_kafka_msg_reset(&m);
	set_value(&m, "{\"x\":1}", 7);
	ev_kafka_msg_add_header(&m, "ce_specversion", "1.0", 3);
	ev_kafka_msg_add_header(&m, "ce_id", "a-1", 3);
	ev_kafka_msg_add_header(&m, "ce_source", "/shop", 5);
	ev_kafka_msg_add_header(&m, "ce_type", "com.shop.order", 14);
	ev_kafka_msg_add_header(&m, "ce_time", "2025-01-10T09:20:00Z", 20);
	ev_kafka_msg_add_header(&m, "ce_traceparent", "00-ab", 5);
	ev_kafka_msg_add_header(&m, "content-type", "application/json", 16);
	read_json(
		&m,
		"{\"id\":\"a-1\",\"type\":\"com.shop.order\","
		"\"time\":\"2025-01-10T09:20:00.000Z\","
		"\"schema\":1,\"data\":{\"x\":1},\"meta\":{\"source\":\"/shop\","
		"\"traceparent\":\"00-ab\"}}");

	/* incomplete headers: a clear error naming the record */
	ev_kafka_msg_reset(&m);
	ev_kafka_msg_add_header(&m, "ce_specversion", "1.0", 3);
	ev_kafka_msg_add_header(&m, "ce_id", "a-1", 3);
	ev_kafka_msg_add_header(&m, "ce_source", "/shop", 5);
	assert_int_equal(ev_kafka_msg_to_json(&m, "t", 2, 7, &js, &fmt, &err),
			 EV_EDATA);
	assert_string_equal(err.msg, "record t:2:7: incomplete CloudEvents "
				     "headers: no 'ce_type'");
	ev_kafka_msg_reset(&m);
	ev_kafka_msg_add_header(&m, "ce_type", "x", 1);
	assert_int_equal(ev_kafka_msg_to_json(&m, "t", 2, 7, &js, &fmt, &err),
			 EV_EDATA);
	assert_string_equal(err.msg, "record t:2:7: incomplete CloudEvents "
				     "headers: no 'ce_specversion'");
	ev_kafka_msg_add_header(&m, "ce_specversion", "0.3", 3);
	ev_kafka_msg_add_header(&m, "ce_id", "a-1", 3);
	ev_kafka_msg_add_header(&m, "ce_source", "/shop", 5);
	assert_int_equal(ev_kafka_msg_to_json(&m, "t", 2, 7, &js, &fmt, &err),
			 EV_EDATA);
	assert_string_equal(err.msg, "record t:2:7: ce_specversion '0.3': "
				     "only 1.0 is known");
	ev_kafka_msg_add_header(&m, "ce_specversion", "1.0", 3);
	ev_kafka_msg_add_header(&m, "ce_sequence", "x1", 2);
	assert_int_equal(ev_kafka_msg_to_json(&m, "t", 2, 7, &js, &fmt, &err),
			 EV_EDATA);
	assert_string_equal(err.msg, "record t:2:7: header 'ce_sequence': "
				     "not a version number");
	ev_kafka_msg_add_header(&m, "ce_sequence", "1", 1);
	ev_kafka_msg_add_header(&m, "ce_evlogmeta", "[1]", 3);
	assert_int_equal(ev_kafka_msg_to_json(&m, "t", 2, 7, &js, &fmt, &err),
			 EV_EDATA);
	assert_string_equal(err.msg, "record t:2:7: header 'ce_evlogmeta': "
				     "not a JSON object");
	/* structured, but no value */
	ev_kafka_msg_reset(&m);
	ev_kafka_msg_add_header(&m, "content-type",
				"application/cloudevents+json", 28);
	assert_int_equal(ev_kafka_msg_to_json(&m, "t", 2, 7, &js, &fmt, &err),
			 EV_EDATA);
	assert_string_equal(err.msg,
			    "record t:2:7: content-type "
			    "'application/cloudevents+json' but no value");
	ev_buf_free(&js);
	ev_kafka_msg_free(&m);
}

static void test_from(void **state)
{
	struct ev_kafka_from f;
	struct ev_error err;

	(void)state;
	assert_int_equal(ev_kafka_from_parse("start", &f, &err), 0);
	assert_int_equal(f.kind, EV_KAFKA_FROM_START);
	assert_int_equal(f.partition, -1);
	assert_int_equal(ev_kafka_from_parse("end", &f, &err), 0);
	assert_int_equal(f.kind, EV_KAFKA_FROM_END);
	assert_int_equal(ev_kafka_from_parse("3:1000", &f, &err), 0);
	assert_int_equal(f.kind, EV_KAFKA_FROM_OFFSET);
	assert_int_equal(f.partition, 3);
	assert_int_equal(f.offset, 1000);
	assert_int_equal(ev_kafka_from_parse("@2025-01-10T09:00:00Z", &f, &err),
			 0);
	assert_int_equal(f.kind, EV_KAFKA_FROM_TIME);
	assert_int_equal(f.time, 1736499600000000000LL);
	assert_int_equal(ev_kafka_from_parse("@soon", &f, &err), EV_EUSAGE);
	assert_string_equal(err.msg, "--from: '@soon' is not start, end, "
				     "@TIME or PARTITION:OFFSET");
	assert_int_equal(ev_kafka_from_parse("@3000-01-01", &f, &err),
			 EV_EUSAGE);
	assert_string_equal(err.msg, "--from: '@3000-01-01' is out of range: "
				     "times run from " EV_TIME_RANGE);
	assert_int_equal(ev_kafka_from_parse("42", &f, &err), EV_EUSAGE);
	assert_string_equal(err.msg, "--from: '42' is not start, end, @TIME "
				     "or PARTITION:OFFSET");
	assert_int_equal(ev_kafka_from_parse("-1:0", &f, &err), EV_EUSAGE);
	assert_int_equal(ev_kafka_from_parse("1:-5", &f, &err), EV_EUSAGE);
	assert_int_equal(ev_kafka_from_parse("1:", &f, &err), EV_EUSAGE);
	assert_int_equal(ev_kafka_from_parse("99999999999:0", &f, &err),
			 EV_EUSAGE);
}

static void test_headers_bounded(void **state)
{
	struct ev_kafka_msg m = {0};
	int i;

	(void)state;
	ev_kafka_msg_reset(&m);
	for (i = 0; i < EV_KAFKA_MAX_HEADERS; i++)
		assert_int_equal(ev_kafka_msg_add_header(&m, "h", "v", 1), 0);
	assert_int_equal(ev_kafka_msg_add_header(&m, "h", "v", 1), EV_EDATA);
	ev_kafka_msg_free(&m);
}

/* A value whose content-type says JSON is read by the parser once: what
 * only looks like one JSON value is still an error, and never adds keys
 * of its own to the event (the value is checked for its extent). */
static void decode_value(const char *v, const char *want_err,
			 const char *want_data)
{
	struct ev_kafka_decoder *d;
	struct ev_kafka_msg m = {0};
	struct ev_rec rec;
	struct ev_event ev;
	struct ev_error err;
	int r;

	ev_kafka_msg_reset(&m);
	assert_int_equal(ev_kafka_decoder_new(&d, &err), 0);
	ev_kafka_msg_add_header(&m, "ce_specversion", "1.0", 3);
	ev_kafka_msg_add_header(&m, "ce_id", "e1", 2);
	ev_kafka_msg_add_header(&m, "ce_source", "s", 1);
	ev_kafka_msg_add_header(&m, "ce_type", "T", 1);
	ev_kafka_msg_add_header(&m, "content-type", "application/json", 16);
	m.has_value = 1;
	ev_buf_append(&m.value, v, strlen(v));
	memset(&rec, 0, sizeof(rec));
	r = ev_kafka_decode(d, &m, "t", 1, 5, &rec, &ev, &err);
	if (want_err != NULL) {
		assert_int_equal(r, EV_EDATA);
		assert_string_equal(err.msg, want_err);
	} else {
		if (r != 0)
			fail_msg("%s: %s", v, err.msg);
		assert_int_equal(ev.type.n, 1);
		assert_memory_equal(ev.type.p, "T", 1);
		assert_int_equal(ev.data_len > 0, 1);
		(void)want_data;
	}
	ev_kafka_msg_free(&m);
	ev_kafka_decoder_free(d);
}

static void test_value_extent(void **state)
{
	const char *notjson = "record t:1:5: content-type 'application/json' "
			      "but the value is not JSON";

	(void)state;
	decode_value("{\"a\":1}", NULL, NULL);
	decode_value(" [1,\"x\\\"]\"] ", NULL, NULL);
	decode_value("\"a\\\\\"", NULL, NULL);
	decode_value("-1.5e+3", NULL, NULL);
	decode_value("1,\"type\":\"X\"", notjson, NULL);
	decode_value("{\"a\":1},\"type\":\"X\"", notjson, NULL);
	decode_value("{\"a\":1}}", notjson, NULL);
	decode_value("\"a\\\"", notjson, NULL);
	decode_value("[1,2", notjson, NULL);
	decode_value("not json", notjson, NULL);
	decode_value("[1 2]", notjson, NULL);
	decode_value("{\"a\":1,\"type\"}", notjson, NULL);
	decode_value("", notjson, NULL);
}

/* two records the same: key, value, timestamp, headers in order */
static void same_msg(const struct ev_kafka_msg *a, const struct ev_kafka_msg *b)
{
	size_t i;

	assert_int_equal(a->has_key, b->has_key);
	assert_int_equal(a->key.len, b->key.len);
	if (a->key.len > 0)
		assert_memory_equal(a->key.p, b->key.p, a->key.len);
	assert_int_equal(a->has_value, b->has_value);
	assert_int_equal(a->value.len, b->value.len);
	if (a->value.len > 0)
		assert_memory_equal(a->value.p, b->value.p, a->value.len);
	assert_int_equal(a->timestamp, b->timestamp);
	assert_int_equal(a->nh, b->nh);
	for (i = 0; i < a->nh; i++) {
		assert_string_equal(a->h[i].name, b->h[i].name);
		assert_int_equal(a->h[i].len, b->h[i].len);
		assert_int_equal(a->h[i].value == NULL, b->h[i].value == NULL);
		if (a->h[i].len > 0)
			assert_memory_equal(a->h[i].value, b->h[i].value,
					    a->h[i].len);
	}
}

/* evpub's one walk from a parsed record makes the record that decoding
 * it then ev_kafka_event_to_msg() makes, in every format; a malformed
 * record is the same error */
static void test_record_to_msg(void **state)
{
	struct ev_buf rec = {0};
	struct ev_kafka_msg a = {0}, b = {0};
	struct ev_event ev;
	struct ev_error err, err2;
	struct ev_str id;
	size_t i, cut;
	int f;

	(void)state;
	for (f = EV_KAFKA_BINARY; f <= EV_KAFKA_ENVELOPE; f++)
		for (i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
			parse_line(EV_FMT_ENVELOPE, events[i],
				   strlen(events[i]), &rec);
			assert_int_equal(ev_event_decode(rec.p, rec.len, &ev,
							 &err),
					 0);
			assert_int_equal(ev_kafka_event_to_msg(
						 &ev, (enum ev_kafka_format)f,
						 &a, &err),
					 0);
			/* b holds another record's leftovers first */
			if (ev_kafka_record_to_msg(rec.p, rec.len,
						   (enum ev_kafka_format)f, &b,
						   &id, &err) != 0)
				fail_msg("record %zu: %s", i, err.msg);
			same_msg(&a, &b);
			assert_int_equal(id.n, ev.id.n);
			assert_memory_equal(id.p, ev.id.p, id.n);
		}
	/* every cut of a record, and a trailing byte: errors as decode's */
	parse_line(EV_FMT_ENVELOPE, events[1], strlen(events[1]), &rec);
	for (cut = 0; cut < rec.len; cut++) {
		assert_int_equal(ev_kafka_record_to_msg(rec.p, cut,
							EV_KAFKA_BINARY, &b,
							&id, &err),
				 EV_EDATA);
		assert_int_equal(ev_event_decode(rec.p, cut, &ev, &err2),
				 EV_EDATA);
		assert_true(strncmp(err.msg, "invalid record: ", 16) == 0);
	}
	ev_buf_putc(&rec, 0xc0);
	assert_int_equal(ev_kafka_record_to_msg(rec.p, rec.len, EV_KAFKA_BINARY,
						&b, &id, &err),
			 EV_EDATA);
	assert_string_equal(err.msg,
			    "invalid record: trailing bytes after the record "
			    "map");
	/* an empty type, as decode refuses it */
	parse_line(EV_FMT_ENVELOPE, events[3], strlen(events[3]), &rec);
	for (i = 0; i + 2 < rec.len; i++)
		if (rec.p[i] == 0x02 && rec.p[i + 1] == 0xa1 &&
		    rec.p[i + 2] == 'C') {
			rec.p[i + 1] = 0xa0;
			rec.p[i + 2] = 0xc0; /* nil: the fields stay aligned */
			break;
		}
	assert_int_equal(ev_event_decode(rec.p, rec.len, &ev, &err2), EV_EDATA);
	assert_int_equal(ev_kafka_record_to_msg(rec.p, rec.len, EV_KAFKA_BINARY,
						&b, &id, &err),
			 EV_EDATA);
	assert_string_equal(err.msg, err2.msg);
	ev_buf_free(&rec);
	ev_kafka_msg_free(&a);
	ev_kafka_msg_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_props),
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_binary_record),
		cmocka_unit_test(test_record_to_msg),
		cmocka_unit_test(test_foreign),
		cmocka_unit_test(test_other_cloudevents),
		cmocka_unit_test(test_from),
		cmocka_unit_test(test_headers_bounded),
		cmocka_unit_test(test_value_extent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
