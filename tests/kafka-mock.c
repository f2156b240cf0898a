/* tests/kafka-mock - a three-broker Kafka cluster for the tests, from
 * librdkafka's mock cluster (rdkafka_mock.h): it speaks the Kafka
 * protocol on loopback TCP, so kcat and evlog talk to it as to a real one.
 *
 *   tests/kafka-mock [-b BROKERS] [-C DIR] TOPIC:PARTITIONS...
 *
 * Creates the topics (the 2.0.2 mock has no CreateTopics request), prints
 * the bootstrap servers on a line of stdout, and runs until killed
 * (SIGTERM, SIGINT, SIGHUP).  SIGUSR1 injects a fault: the next 1000
 * Produce requests fail with MSG_SIZE_TOO_LARGE, which is not retried,
 * so deliveries fail (tests/kafka-faults.bats).  Exit 0 when killed, 64 on bad
 * usage, 70 when the cluster cannot be made.
 *
 * With -C DIR, faults come as commands: a file DIR/ctl (written whole,
 * then renamed there) holds one command per line; the mock runs them,
 * writes DIR/ctl.out ("ok", or "error: ..." for the first that failed)
 * and removes DIR/ctl.  kafka_ctl in tests/kafka.bash does all this.
 *   down BROKER            the broker stops answering (1..BROKERS)
 *   up BROKER              and comes back
 *   leader TOPIC PART BROKER   the partition's leader moves there
 *   rtt BROKER MS          each answer of the broker is delayed
 *   errors APIKEY COUNT CODE   the next COUNT requests of the API
 *                          (0 Produce, 1 Fetch, 8 OffsetCommit, ...) fail
 *                          with the Kafka error code CODE
 *   clear APIKEY           the errors of the API not used yet go
 *   coordinator GROUP BROKER   the group's coordinator moves there */

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
	fprintf(stderr, "usage: kafka-mock [-b BROKERS] [-C DIR] "
			"TOPIC:PARTITIONS...\n");
	return 64;
}

/* One command of DIR/ctl: 0, or -1 with why. */
static int command(rd_kafka_mock_cluster_t *mc, char *line, char *why,
		   size_t whyn)
{
	char verb[32], name[256];
	long a = 0, b = 0, c = 0;
	rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
	int n;

	line[strcspn(line, "\r\n")] = '\0';
	if (line[0] == '\0' || line[0] == '#')
		return 0;
	if (sscanf(line, "%31s", verb) != 1)
		return 0;
	if (strcmp(verb, "down") == 0 && sscanf(line, "%*s %ld", &a) == 1)
		err = rd_kafka_mock_broker_set_down(mc, (int32_t)a);
	else if (strcmp(verb, "up") == 0 && sscanf(line, "%*s %ld", &a) == 1)
		err = rd_kafka_mock_broker_set_up(mc, (int32_t)a);
	else if (strcmp(verb, "rtt") == 0 &&
		 sscanf(line, "%*s %ld %ld", &a, &b) == 2)
		err = rd_kafka_mock_broker_set_rtt(mc, (int32_t)a, (int)b);
	else if (strcmp(verb, "leader") == 0 &&
		 sscanf(line, "%*s %255s %ld %ld", name, &a, &b) == 3)
		err = rd_kafka_mock_partition_set_leader(mc, name, (int32_t)a,
							 (int32_t)b);
	else if (strcmp(verb, "coordinator") == 0 &&
		 sscanf(line, "%*s %255s %ld", name, &a) == 2)
		err = rd_kafka_mock_coordinator_set(mc, "group", name,
						    (int32_t)a);
	else if (strcmp(verb, "errors") == 0 &&
		 sscanf(line, "%*s %ld %ld %ld", &a, &b, &c) == 3 && b > 0 &&
		 b <= 100000) {
		rd_kafka_resp_err_t *errs = calloc((size_t)b, sizeof(*errs));
		if (errs == NULL) {
			snprintf(why, whyn, "out of memory");
			return -1;
		}
		for (n = 0; n < b; n++)
			errs[n] = (rd_kafka_resp_err_t)c;
		rd_kafka_mock_push_request_errors_array(mc, (int16_t)a,
							(size_t)b, errs);
		free(errs);
	} else if (strcmp(verb, "clear") == 0 &&
		   sscanf(line, "%*s %ld", &a) == 1) {
		rd_kafka_mock_clear_request_errors(mc, (int16_t)a);
	} else {
		snprintf(why, whyn, "bad command '%.200s'", line);
		return -1;
	}
	if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
		snprintf(why, whyn, "'%.200s': %s", line,
			 rd_kafka_err2str(err));
		return -1;
	}
	return 0;
}

/* Run DIR/ctl if it is there. */
static void control(rd_kafka_mock_cluster_t *mc, const char *dir)
{
	char path[PATH_MAX], out[PATH_MAX], tmp[PATH_MAX], line[1024];
	char why[512] = "";
	FILE *f, *o;
	int bad = 0;

	snprintf(path, sizeof(path), "%s/ctl", dir);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (!bad && fgets(line, sizeof(line), f) != NULL)
		bad = command(mc, line, why, sizeof(why)) != 0;
	fclose(f);
	snprintf(tmp, sizeof(tmp), "%s/ctl.out.tmp", dir);
	snprintf(out, sizeof(out), "%s/ctl.out", dir);
	if ((o = fopen(tmp, "w")) != NULL) {
		fprintf(o, bad ? "error: %s\n" : "ok\n", why);
		fclose(o);
	}
	unlink(path);
	rename(tmp, out);
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
	const char *ctl = NULL;
	int brokers = 3, c, k, parts;

	while ((c = getopt(argc, argv, "b:C:h")) != -1) {
		switch (c) {
		case 'b':
			brokers = atoi(optarg);
			if (brokers < 1 || brokers > 16)
				return usage();
			break;
		case 'C':
			ctl = optarg;
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
		if (ctl != NULL) {
			usleep(20000);
			control(mc, ctl);
		} else {
			pause();
		}
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
