/* tests/kafka-mock - a three-broker Kafka cluster for the tests, from
 * librdkafka's mock cluster (rdkafka_mock.h): it speaks the Kafka
 * protocol on loopback TCP, so kcat and evlog talk to it as to a real one.
 *
 *   tests/kafka-mock [-b BROKERS] TOPIC:PARTITIONS...
 *
 * Creates the topics (the 2.0.2 mock has no CreateTopics request), prints
 * the bootstrap servers on a line of stdout, and runs until killed
 * (SIGTERM, SIGINT, SIGHUP).  SIGUSR1 injects a fault: the next 1000
 * Produce requests fail with MSG_SIZE_TOO_LARGE, which is not retried,
 * so deliveries fail (tests/kafka-faults.bats).  Exit 0 when killed, 64 on bad
 * usage, 70 when the cluster cannot be made. */

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop, inject;

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		inject = 1;
	else
		stop = 1;
}

static int usage(void)
{
	fprintf(stderr, "usage: kafka-mock [-b BROKERS] TOPIC:PARTITIONS...\n");
	return 64;
}

/* "orders:8" into its name and count; 0, or -1 when malformed */
static int parse_topic(char *arg, int *parts)
{
	char *colon = strrchr(arg, ':'), *end;
	long n;

	if (colon == NULL || colon == arg)
		return -1;
	errno = 0;
	n = strtol(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || n < 1 || n > 1000)
		return -1;
	*colon = '\0';
	*parts = (int)n;
	return 0;
}

int main(int argc, char **argv)
{
	char errstr[512];
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	rd_kafka_mock_cluster_t *mc;
	struct sigaction sa;
	int brokers = 3, c, k, parts;

	while ((c = getopt(argc, argv, "b:h")) != -1) {
		switch (c) {
		case 'b':
			brokers = atoi(optarg);
			if (brokers < 1 || brokers > 16)
				return usage();
			break;
		default:
			return usage();
		}
	}
	for (k = optind; k < argc; k++) {
		char tmp[PATH_MAX];

		snprintf(tmp, sizeof(tmp), "%s", argv[k]);
		if (parse_topic(tmp, &parts) != 0) {
			fprintf(stderr,
				"kafka-mock: '%s': expected TOPIC:PARTITIONS\n",
				argv[k]);
			return 64;
		}
	}

	conf = rd_kafka_conf_new();
	/* the mock cluster needs a client handle to live in */
	if (rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr)) !=
	    RD_KAFKA_CONF_OK) {
		fprintf(stderr, "kafka-mock: %s\n", errstr);
		return 70;
	}
	rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
	if (rk == NULL) {
		fprintf(stderr, "kafka-mock: %s\n", errstr);
		return 70;
	}
	mc = rd_kafka_mock_cluster_new(rk, brokers);
	if (mc == NULL) {
		fprintf(stderr, "kafka-mock: cannot create the mock cluster\n");
		rd_kafka_destroy(rk);
		return 70;
	}
	for (k = optind; k < argc; k++) {
		rd_kafka_resp_err_t err;

		parse_topic(argv[k], &parts);
		err = rd_kafka_mock_topic_create(mc, argv[k], parts,
						 brokers < 3 ? brokers : 3);
		if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
			fprintf(stderr, "kafka-mock: topic '%s': %s\n", argv[k],
				rd_kafka_err2str(err));
			rd_kafka_mock_cluster_destroy(mc);
			rd_kafka_destroy(rk);
			return 70;
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	printf("%s\n", rd_kafka_mock_cluster_bootstraps(mc));
	fflush(stdout);
	while (!stop) {
		pause();
		if (inject) {
			rd_kafka_resp_err_t errs[1000];
			size_t i;

			inject = 0;
			for (i = 0; i < 1000; i++)
				errs[i] = RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE;
			rd_kafka_mock_push_request_errors_array(mc,
								0 /* Produce */,
								1000, errs);
		}
	}
	rd_kafka_mock_cluster_destroy(mc);
	rd_kafka_destroy(rk);
	return 0;
}
