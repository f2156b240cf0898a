/*
 * dlkafka_int.h - librdkafka, loaded when a run first needs a Kafka
 * client (dl_int.h).  Include this instead of <librdkafka/rdkafka.h>,
 * and call ev_dl_rdkafka() before the first rd_kafka_* call of a run;
 * a function missing from EV_RDKAFKA_FUNCS fails the tools' link.
 * Not installed.
 */
#ifndef EVLOG_DLKAFKA_INT_H
#define EVLOG_DLKAFKA_INT_H

#include <librdkafka/rdkafka.h>

#include "dl_int.h"

/* the functions evlog calls, each a member of struct ev_rdkafka */
#define EV_RDKAFKA_FUNCS(X)                                       \
	X(rd_kafka_AdminOptions_destroy)                          \
	X(rd_kafka_AdminOptions_new)                              \
	X(rd_kafka_AdminOptions_set_operation_timeout)            \
	X(rd_kafka_AdminOptions_set_request_timeout)              \
	X(rd_kafka_ConsumerGroupListing_group_id)                 \
	X(rd_kafka_ConsumerGroupListing_is_simple_consumer_group) \
	X(rd_kafka_ConsumerGroupListing_state)                    \
	X(rd_kafka_CreateTopics)                                  \
	X(rd_kafka_CreateTopics_result_topics)                    \
	X(rd_kafka_ListConsumerGroups)                            \
	X(rd_kafka_ListConsumerGroups_result_errors)              \
	X(rd_kafka_ListConsumerGroups_result_valid)               \
	X(rd_kafka_NewTopic_destroy)                              \
	X(rd_kafka_NewTopic_new)                                  \
	X(rd_kafka_assign)                                        \
	X(rd_kafka_commit)                                        \
	X(rd_kafka_committed)                                     \
	X(rd_kafka_conf_destroy)                                  \
	X(rd_kafka_conf_new)                                      \
	X(rd_kafka_conf_set)                                      \
	X(rd_kafka_conf_set_dr_msg_cb)                            \
	X(rd_kafka_conf_set_error_cb)                             \
	X(rd_kafka_conf_set_log_cb)                               \
	X(rd_kafka_conf_set_opaque)                               \
	X(rd_kafka_conf_set_rebalance_cb)                         \
	X(rd_kafka_consumer_close)                                \
	X(rd_kafka_consumer_poll)                                 \
	X(rd_kafka_controllerid)                                  \
	X(rd_kafka_destroy)                                       \
	X(rd_kafka_err2str)                                       \
	X(rd_kafka_error_code)                                    \
	X(rd_kafka_error_destroy)                                 \
	X(rd_kafka_error_string)                                  \
	X(rd_kafka_event_CreateTopics_result)                     \
	X(rd_kafka_event_ListConsumerGroups_result)               \
	X(rd_kafka_event_destroy)                                 \
	X(rd_kafka_event_error)                                   \
	X(rd_kafka_event_error_string)                            \
	X(rd_kafka_flush)                                         \
	X(rd_kafka_header_add)                                    \
	X(rd_kafka_header_get_all)                                \
	X(rd_kafka_headers_destroy)                               \
	X(rd_kafka_headers_new)                                   \
	X(rd_kafka_incremental_assign)                            \
	X(rd_kafka_incremental_unassign)                          \
	X(rd_kafka_message_destroy)                               \
	X(rd_kafka_message_errstr)                                \
	X(rd_kafka_message_headers)                               \
	X(rd_kafka_message_timestamp)                             \
	X(rd_kafka_metadata)                                      \
	X(rd_kafka_metadata_destroy)                              \
	X(rd_kafka_new)                                           \
	X(rd_kafka_offsets_for_times)                             \
	X(rd_kafka_outq_len)                                      \
	X(rd_kafka_poll)                                          \
	X(rd_kafka_poll_set_consumer)                             \
	X(rd_kafka_producev)                                      \
	X(rd_kafka_purge)                                         \
	X(rd_kafka_query_watermark_offsets)                       \
	X(rd_kafka_queue_destroy)                                 \
	X(rd_kafka_queue_new)                                     \
	X(rd_kafka_queue_poll)                                    \
	X(rd_kafka_rebalance_protocol)                            \
	X(rd_kafka_subscribe)                                     \
	X(rd_kafka_topic_destroy)                                 \
	X(rd_kafka_topic_new)                                     \
	X(rd_kafka_topic_partition_list_add)                      \
	X(rd_kafka_topic_partition_list_destroy)                  \
	X(rd_kafka_topic_partition_list_new)                      \
	X(rd_kafka_topic_result_error)                            \
	X(rd_kafka_topic_result_error_string)

struct ev_rdkafka {
	EV_RDKAFKA_FUNCS(EV_DL_SLOT)
};
extern struct ev_rdkafka ev_rdkafka;

/* Load librdkafka.so.1 (or $EVLOG_LIBRDKAFKA) once: 0, or EV_EUNAVAIL
 * with "kafka 'BROKERS': cannot load librdkafka.so.1: ..." in err. */
int ev_dl_rdkafka(const char *brokers, struct ev_error *err);

/* each call through the table (function-like: struct rd_kafka_metadata
 * is a tag too); the .c file that fills it goes without */
#ifndef EV_DL_TABLE
#define rd_kafka_AdminOptions_destroy(...) \
	ev_rdkafka.rd_kafka_AdminOptions_destroy(__VA_ARGS__)
#define rd_kafka_AdminOptions_new(...) \
	ev_rdkafka.rd_kafka_AdminOptions_new(__VA_ARGS__)
#define rd_kafka_AdminOptions_set_operation_timeout \
	(ev_rdkafka.rd_kafka_AdminOptions_set_operation_timeout)
#define rd_kafka_AdminOptions_set_request_timeout \
	(ev_rdkafka.rd_kafka_AdminOptions_set_request_timeout)
#define rd_kafka_ConsumerGroupListing_group_id \
	(ev_rdkafka.rd_kafka_ConsumerGroupListing_group_id)
#define rd_kafka_ConsumerGroupListing_is_simple_consumer_group \
	(ev_rdkafka.rd_kafka_ConsumerGroupListing_is_simple_consumer_group)
#define rd_kafka_ConsumerGroupListing_state \
	(ev_rdkafka.rd_kafka_ConsumerGroupListing_state)
#define rd_kafka_CreateTopics(...) ev_rdkafka.rd_kafka_CreateTopics(__VA_ARGS__)
#define rd_kafka_CreateTopics_result_topics \
	(ev_rdkafka.rd_kafka_CreateTopics_result_topics)
#define rd_kafka_ListConsumerGroups(...) \
	ev_rdkafka.rd_kafka_ListConsumerGroups(__VA_ARGS__)
#define rd_kafka_ListConsumerGroups_result_errors \
	(ev_rdkafka.rd_kafka_ListConsumerGroups_result_errors)
#define rd_kafka_ListConsumerGroups_result_valid \
	(ev_rdkafka.rd_kafka_ListConsumerGroups_result_valid)
#define rd_kafka_NewTopic_destroy(...) \
	ev_rdkafka.rd_kafka_NewTopic_destroy(__VA_ARGS__)
#define rd_kafka_NewTopic_new(...) ev_rdkafka.rd_kafka_NewTopic_new(__VA_ARGS__)
#define rd_kafka_assign(...) ev_rdkafka.rd_kafka_assign(__VA_ARGS__)
#define rd_kafka_commit(...) ev_rdkafka.rd_kafka_commit(__VA_ARGS__)
#define rd_kafka_committed(...) ev_rdkafka.rd_kafka_committed(__VA_ARGS__)
#define rd_kafka_conf_destroy(...) ev_rdkafka.rd_kafka_conf_destroy(__VA_ARGS__)
#define rd_kafka_conf_new(...) ev_rdkafka.rd_kafka_conf_new(__VA_ARGS__)
#define rd_kafka_conf_set(...) ev_rdkafka.rd_kafka_conf_set(__VA_ARGS__)
#define rd_kafka_conf_set_dr_msg_cb(...) \
	ev_rdkafka.rd_kafka_conf_set_dr_msg_cb(__VA_ARGS__)
#define rd_kafka_conf_set_error_cb(...) \
	ev_rdkafka.rd_kafka_conf_set_error_cb(__VA_ARGS__)
#define rd_kafka_conf_set_log_cb(...) \
	ev_rdkafka.rd_kafka_conf_set_log_cb(__VA_ARGS__)
#define rd_kafka_conf_set_opaque(...) \
	ev_rdkafka.rd_kafka_conf_set_opaque(__VA_ARGS__)
#define rd_kafka_conf_set_rebalance_cb \
	(ev_rdkafka.rd_kafka_conf_set_rebalance_cb)
#define rd_kafka_consumer_close(...) \
	ev_rdkafka.rd_kafka_consumer_close(__VA_ARGS__)
#define rd_kafka_consumer_poll(...) \
	ev_rdkafka.rd_kafka_consumer_poll(__VA_ARGS__)
#define rd_kafka_controllerid(...) ev_rdkafka.rd_kafka_controllerid(__VA_ARGS__)
#define rd_kafka_destroy(...) ev_rdkafka.rd_kafka_destroy(__VA_ARGS__)
#define rd_kafka_err2str(...) ev_rdkafka.rd_kafka_err2str(__VA_ARGS__)
#define rd_kafka_error_code(...) ev_rdkafka.rd_kafka_error_code(__VA_ARGS__)
#define rd_kafka_error_destroy(...) \
	ev_rdkafka.rd_kafka_error_destroy(__VA_ARGS__)
#define rd_kafka_error_string(...) ev_rdkafka.rd_kafka_error_string(__VA_ARGS__)
#define rd_kafka_event_CreateTopics_result \
	(ev_rdkafka.rd_kafka_event_CreateTopics_result)
#define rd_kafka_event_ListConsumerGroups_result \
	(ev_rdkafka.rd_kafka_event_ListConsumerGroups_result)
#define rd_kafka_event_destroy(...) \
	ev_rdkafka.rd_kafka_event_destroy(__VA_ARGS__)
#define rd_kafka_event_error(...) ev_rdkafka.rd_kafka_event_error(__VA_ARGS__)
#define rd_kafka_event_error_string(...) \
	ev_rdkafka.rd_kafka_event_error_string(__VA_ARGS__)
#define rd_kafka_flush(...) ev_rdkafka.rd_kafka_flush(__VA_ARGS__)
#define rd_kafka_header_add(...) ev_rdkafka.rd_kafka_header_add(__VA_ARGS__)
#define rd_kafka_header_get_all(...) \
	ev_rdkafka.rd_kafka_header_get_all(__VA_ARGS__)
#define rd_kafka_headers_destroy(...) \
	ev_rdkafka.rd_kafka_headers_destroy(__VA_ARGS__)
#define rd_kafka_headers_new(...) ev_rdkafka.rd_kafka_headers_new(__VA_ARGS__)
#define rd_kafka_incremental_assign(...) \
	ev_rdkafka.rd_kafka_incremental_assign(__VA_ARGS__)
#define rd_kafka_incremental_unassign(...) \
	ev_rdkafka.rd_kafka_incremental_unassign(__VA_ARGS__)
#define rd_kafka_message_destroy(...) \
	ev_rdkafka.rd_kafka_message_destroy(__VA_ARGS__)
#define rd_kafka_message_errstr(...) \
	ev_rdkafka.rd_kafka_message_errstr(__VA_ARGS__)
#define rd_kafka_message_headers(...) \
	ev_rdkafka.rd_kafka_message_headers(__VA_ARGS__)
#define rd_kafka_message_timestamp(...) \
	ev_rdkafka.rd_kafka_message_timestamp(__VA_ARGS__)
#define rd_kafka_metadata(...) ev_rdkafka.rd_kafka_metadata(__VA_ARGS__)
#define rd_kafka_metadata_destroy(...) \
	ev_rdkafka.rd_kafka_metadata_destroy(__VA_ARGS__)
#define rd_kafka_new(...) ev_rdkafka.rd_kafka_new(__VA_ARGS__)
#define rd_kafka_offsets_for_times(...) \
	ev_rdkafka.rd_kafka_offsets_for_times(__VA_ARGS__)
#define rd_kafka_outq_len(...) ev_rdkafka.rd_kafka_outq_len(__VA_ARGS__)
#define rd_kafka_poll(...) ev_rdkafka.rd_kafka_poll(__VA_ARGS__)
#define rd_kafka_poll_set_consumer(...) \
	ev_rdkafka.rd_kafka_poll_set_consumer(__VA_ARGS__)
#define rd_kafka_producev(...) ev_rdkafka.rd_kafka_producev(__VA_ARGS__)
#define rd_kafka_purge(...) ev_rdkafka.rd_kafka_purge(__VA_ARGS__)
#define rd_kafka_query_watermark_offsets \
	(ev_rdkafka.rd_kafka_query_watermark_offsets)
#define rd_kafka_queue_destroy(...) \
	ev_rdkafka.rd_kafka_queue_destroy(__VA_ARGS__)
#define rd_kafka_queue_new(...) ev_rdkafka.rd_kafka_queue_new(__VA_ARGS__)
#define rd_kafka_queue_poll(...) ev_rdkafka.rd_kafka_queue_poll(__VA_ARGS__)
#define rd_kafka_rebalance_protocol(...) \
	ev_rdkafka.rd_kafka_rebalance_protocol(__VA_ARGS__)
#define rd_kafka_subscribe(...) ev_rdkafka.rd_kafka_subscribe(__VA_ARGS__)
#define rd_kafka_topic_destroy(...) \
	ev_rdkafka.rd_kafka_topic_destroy(__VA_ARGS__)
#define rd_kafka_topic_new(...) ev_rdkafka.rd_kafka_topic_new(__VA_ARGS__)
#define rd_kafka_topic_partition_list_add \
	(ev_rdkafka.rd_kafka_topic_partition_list_add)
#define rd_kafka_topic_partition_list_destroy \
	(ev_rdkafka.rd_kafka_topic_partition_list_destroy)
#define rd_kafka_topic_partition_list_new \
	(ev_rdkafka.rd_kafka_topic_partition_list_new)
#define rd_kafka_topic_result_error(...) \
	ev_rdkafka.rd_kafka_topic_result_error(__VA_ARGS__)
#define rd_kafka_topic_result_error_string \
	(ev_rdkafka.rd_kafka_topic_result_error_string)
#endif

#endif
