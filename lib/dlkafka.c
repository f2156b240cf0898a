/*
 * dlkafka.c - librdkafka's table, filled when a run first needs a Kafka
 * client (dlkafka_int.h).
 */
#define EV_DL_TABLE
#include "dlkafka_int.h"

struct ev_rdkafka ev_rdkafka;

#define SYM(f) EV_DL_SYM(struct ev_rdkafka, f)
static const struct ev_dl_sym syms[] = {EV_RDKAFKA_FUNCS(SYM)};

static struct ev_dl lib =
	EV_DL_INIT("librdkafka.so.1", "EVLOG_LIBRDKAFKA", syms, &ev_rdkafka);

int ev_dl_rdkafka(const char *brokers, struct ev_error *err)
{
	return ev_dl_load(&lib, "kafka", brokers, err);
}
