/*
 * evgen - a deterministic generator of realistic event-sourcing NDJSON in
 * the evlog envelope: bank accounts and orders, with per-stream versions,
 * correlation and causation ids, nested data, floats, non-ASCII text and
 * JSON escapes.  Used by the quickstart demo, the tests and the benchmarks
 * when ../shared is not there.
 *
 *   evgen N [--seed S] [--streams K] [--start EPOCH_MS]
 *
 * The same arguments always give the same bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t rs[2];

static uint64_t rnd(void)
{
	uint64_t s1 = rs[0], s0 = rs[1], r = s0 + s1;

	rs[0] = s0;
	s1 ^= s1 << 23;
	rs[1] = s1 ^ s0 ^ (s1 >> 18) ^ (s0 >> 5);
	return r;
}

static unsigned below(unsigned n)
{
	return (unsigned)(rnd() % n);
}

static void uuid4(char out[37])
{
	static const char hx[] = "0123456789abcdef";
	uint8_t u[16];
	uint64_t a = rnd(), b = rnd();
	int i, j;

	/* the bytes of a and b, least significant first, so that a seed
	 * gives the same ids on every machine */
	for (i = 0; i < 8; i++) {
		u[i] = (uint8_t)(a >> (8 * i));
		u[8 + i] = (uint8_t)(b >> (8 * i));
	}
	u[6] = (uint8_t)(0x40 | (u[6] & 0x0f));
	u[8] = (uint8_t)(0x80 | (u[8] & 0x3f));
	for (i = 0, j = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[j++] = '-';
		out[j++] = hx[u[i] >> 4];
		out[j++] = hx[u[i] & 15];
	}
	out[36] = '\0';
}

static void fmt_time(int64_t ms, char out[48])
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(out, 48, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

struct stream {
	unsigned version; /* of the stream, across incarnations */
	unsigned events;  /* in this incarnation */
	int closed;
	char last_id[37];
	char corr[37];
	long balance;
};

static const char *const products[] = {
	"Desk lamp",
	"Noise-cancelling headphones",
	"27\\\" monitor",
	"Water bottle 750ml",
	"Caf\\u00e9 grinder",
	"Mechanical keyboard",
	"Tr\xc3\xa4vel mug",
	"USB-C hub",
	"Notebook \\\"A5\\\"",
	"\xe6\x97\xa5\xe6\x9c\xac\xe8\x8c\xb6 (green tea)",
};
static const char *const sources[] = {"web", "ios", "android", "api", "batch"};
static const char *const currencies[] = {"EUR", "USD", "GBP", "JPY"};
static const char *const cities[] = {"Berlin", "M\xc3\xbcnchen",
				     "Paris",  "S\xc3\xa3o Paulo",
				     "Tokyo",  "Line1\\nLine2"};

int main(int argc, char **argv)
{
	unsigned long long n = 0, seed = 1, i;
	unsigned nstreams = 5000, k;
	int64_t now = 1704067200000LL; /* 2024-01-01T00:00:00Z */
	struct stream *accts, *orders;
	char id[37], t[48];
	int a;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--seed") == 0 && a + 1 < argc)
			seed = strtoull(argv[++a], NULL, 10);
		else if (strcmp(argv[a], "--streams") == 0 && a + 1 < argc)
			nstreams = (unsigned)strtoul(argv[++a], NULL, 10);
		else if (strcmp(argv[a], "--start") == 0 && a + 1 < argc)
			now = strtoll(argv[++a], NULL, 10);
		else if (argv[a][0] >= '0' && argv[a][0] <= '9')
			n = strtoull(argv[a], NULL, 10);
		else {
			fprintf(stderr,
				"usage: evgen N [--seed S] [--streams K] "
				"[--start EPOCH_MS]\n");
			return 64;
		}
	}
	if (nstreams < 2)
		nstreams = 2;
	rs[0] = seed * 0x9e3779b97f4a7c15ull + 1;
	rs[1] = (seed ^ 0xdeadbeefcafef00dull) | 1;
	for (k = 0; k < 20; k++)
		rnd();
	accts = calloc(nstreams, sizeof(*accts));
	orders = calloc(nstreams, sizeof(*orders));
	if (accts == NULL || orders == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		int is_acct = below(100) < 35;
		unsigned s = below(nstreams);
		struct stream *st = is_acct ? &accts[s] : &orders[s];
		const char *type, *src = sources[below(5)];
		unsigned schema = below(100) < 10 ? 1 : 2;
		char data[768];

		now += below(40) + 1;
		fmt_time(now, t);
		uuid4(id);
		if (st->closed) { /* start over with a new incarnation; the
				   * stream's versions go on */
			unsigned v = st->version;
			memset(st, 0, sizeof(*st));
			st->version = v;
		}
		if (st->events == 0)
			uuid4(st->corr);
		if (is_acct) {
			unsigned r = below(100);
			if (st->events == 0) {
				type = "AccountOpened";
				snprintf(
					data, sizeof(data),
					"{\"owner\":\"cust-%u\",\"currency\":\"%s\","
					"\"city\":\"%s\",\"overdraftLimit\":%u}",
					s, currencies[s % 4], cities[s % 6],
					below(5) * 10000);
			} else if (r < 55 || st->balance < 1000) {
				long amt = (long)below(200000) + 100;
				type = "MoneyDeposited";
				st->balance += amt;
				snprintf(data, sizeof(data),
					 "{\"amount\":%ld,\"balance\":%ld,"
					 "\"reference\":\"dep-%llu\"}",
					 amt, st->balance, i);
			} else if (r < 97) {
				long amt =
					(long)below((unsigned)st->balance) + 1;
				unsigned atm = below(2), f1 = below(100);
				unsigned f0 = below(3);
				type = "MoneyWithdrawn";
				st->balance -= amt;
				snprintf(
					data, sizeof(data),
					"{\"amount\":%ld,\"balance\":%ld,\"fee\":%u.%02u,"
					"\"atm\":%s}",
					amt, st->balance, f0, f1,
					atm ? "true" : "false");
			} else {
				type = "AccountClosed";
				snprintf(
					data, sizeof(data),
					"{\"reason\":\"%s\",\"finalBalance\":%ld}",
					below(2) ? "customer request"
						 : "dormant",
					st->balance);
				st->closed = 1;
			}
		} else {
			unsigned r = below(100);
			if (st->events == 0) {
				unsigned qty = below(4) + 1,
					 price = below(20000) + 99;
				unsigned city = below(6), tax = below(2);
				unsigned prod = below(10), sku = below(100000);
				unsigned cust = below(100000);
				type = "OrderPlaced";
				snprintf(
					data, sizeof(data),
					"{\"customer\":\"cust-%u\",\"items\":[{\"sku\":"
					"\"SKU-%05u\",\"name\":\"%s\",\"qty\":%u,"
					"\"unitPrice\":%u}],\"amount\":%u,"
					"\"taxRate\":%s,\"shipTo\":{\"city\":\"%s\"}}",
					cust, sku, products[prod], qty, price,
					qty * price, tax ? "0.19" : "0.07",
					cities[city]);
			} else if (r < 40) {
				unsigned qty = below(3) + 1,
					 price = below(9000) + 99;
				unsigned d1 = below(10), d0 = below(2);
				unsigned prod = below(10), sku = below(100000);
				type = "ItemAdded";
				snprintf(
					data, sizeof(data),
					"{\"sku\":\"SKU-%05u\",\"name\":\"%s\",\"qty\":%u,"
					"\"unitPrice\":%u,\"discount\":%u.%u}",
					sku, products[prod], qty, price, d0,
					d1);
			} else if (r < 65) {
				unsigned code = below(1000000), card = below(2);
				unsigned amount = below(50000) + 100;
				type = "PaymentAuthorized";
				snprintf(data, sizeof(data),
					 "{\"amount\":%u,\"method\":\"%s\","
					 "\"authCode\":\"A%06u\"}",
					 amount, card ? "card" : "paypal",
					 code);
			} else if (r < 72) {
				unsigned retry = below(2), funds = below(2);
				unsigned amount = below(50000) + 100;
				type = "PaymentFailed";
				snprintf(
					data, sizeof(data),
					"{\"amount\":%u,\"error\":\"%s\",\"retryable\":%s}",
					amount,
					funds ? "insufficient funds"
					      : "card declined: \\\"do not honor\\\"",
					retry ? "true" : "false");
			} else if (r < 92) {
				unsigned p1 = below(5) + 1, p0 = below(5) + 1;
				unsigned w1 = below(10), w0 = below(20);
				unsigned trk = below(1000000000),
					 dhl = below(2);
				type = "OrderShipped";
				snprintf(
					data, sizeof(data),
					"{\"carrier\":\"%s\",\"tracking\":\"TRK%09u\","
					"\"weightKg\":%u.%u,\"parcels\":[%u,%u]}",
					dhl ? "DHL" : "UPS", trk, w0, w1, p0,
					p1);
				st->closed = below(2);
			} else {
				unsigned refund = below(30000), mind = below(2);
				type = "OrderCancelled";
				snprintf(
					data, sizeof(data),
					"{\"reason\":\"%s\",\"refundAmount\":%u}",
					mind ? "customer changed mind"
					     : "out of stock",
					refund);
				st->closed = 1;
			}
		}
		st->version++;
		st->events++;
		printf("{\"id\":\"%s\",\"type\":\"%s\",\"stream\":\"%s-%u\","
		       "\"version\":%u,\"time\":\"%s\",\"schema\":%u,\"data\":%s,"
		       "\"meta\":{\"correlationId\":\"%s\",\"causationId\":\"%s\","
		       "\"userId\":\"user-%u\",\"source\":\"%s\"}}\n",
		       id, type, is_acct ? "account" : "order", s, st->version,
		       t, schema, data, st->corr,
		       st->events == 1 ? st->corr : st->last_id, below(20000),
		       src);
		memcpy(st->last_id, id, 37);
	}
	free(accts);
	free(orders);
	return ferror(stdout) ? 1 : 0;
}
