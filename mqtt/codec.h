/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The MQTT packet codec of traction-mqttd: 3.1.1 (protocol level 4) and 5.0
 * (level 5), the packets a server receives decoded strictly, the ones it
 * sends encoded. Pure functions over byte buffers: no sockets, no
 * allocation; a decoded packet's strings point into the packet's bytes.
 *
 * Strict means: a remaining length in at most four bytes and, in 5.0, in
 * as few as it takes; the fixed header's reserved flags as the spec fixes
 * them; UTF-8 strings well-formed without U+0000; every 5.0 property
 * allowed in its packet, not repeated unless the spec says it may be, with
 * its value in range; nothing left over at a packet's end. A decode error
 * is a 5.0 reason code (0x81 malformed, 0x82 protocol error, ...), which a
 * 3.1.1 connection turns into closing.
 */
#ifndef MQ_CODEC_H
#define MQ_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
	MQ_CONNECT = 1, MQ_CONNACK, MQ_PUBLISH, MQ_PUBACK, MQ_PUBREC, MQ_PUBREL, MQ_PUBCOMP,
	MQ_SUBSCRIBE, MQ_SUBACK, MQ_UNSUBSCRIBE, MQ_UNSUBACK, MQ_PINGREQ, MQ_PINGRESP,
	MQ_DISCONNECT, MQ_AUTH
} mq_type_t;

/* 5.0 reason codes used here (3.1.1's CONNACK return codes are below). */
enum {
	MQ_RC_SUCCESS = 0x00,
	MQ_RC_NO_MATCHING = 0x10,
	MQ_RC_NO_SUBSCRIPTION = 0x11,
	MQ_RC_UNSPECIFIED = 0x80,
	MQ_RC_MALFORMED = 0x81,
	MQ_RC_PROTOCOL = 0x82,
	MQ_RC_IMPL_SPECIFIC = 0x83,
	MQ_RC_BAD_VERSION = 0x84,
	MQ_RC_BAD_CLIENT_ID = 0x85,
	MQ_RC_BAD_AUTH = 0x86,
	MQ_RC_NOT_AUTHORIZED = 0x87,
	MQ_RC_UNAVAILABLE = 0x88,
	MQ_RC_BUSY = 0x89,
	MQ_RC_BAD_AUTH_METHOD = 0x8C,
	MQ_RC_KEEPALIVE_TIMEOUT = 0x8D,
	MQ_RC_TAKEN_OVER = 0x8E,
	MQ_RC_TOPIC_FILTER_INVALID = 0x8F,
	MQ_RC_TOPIC_INVALID = 0x90,
	MQ_RC_PID_NOT_FOUND = 0x92,
	MQ_RC_RECEIVE_MAX = 0x93,
	MQ_RC_TOPIC_ALIAS_INVALID = 0x94,
	MQ_RC_TOO_LARGE = 0x95,
	MQ_RC_QUOTA = 0x97,
	MQ_RC_PAYLOAD_INVALID = 0x99,
	MQ_RC_RETAIN_UNSUPPORTED = 0x9A,
	MQ_RC_QOS_UNSUPPORTED = 0x9B,
};

/* 3.1.1 CONNACK return codes. */
enum {
	MQ_V4_ACCEPTED = 0, MQ_V4_BAD_VERSION = 1, MQ_V4_BAD_CLIENT_ID = 2, MQ_V4_UNAVAILABLE = 3,
	MQ_V4_BAD_AUTH = 4, MQ_V4_NOT_AUTHORIZED = 5
};

#define MQ_HEADER_MAX 5          /* fixed header: type byte + 4 length bytes */
#define MQ_LENGTH_MAX 268435455u /* the largest remaining length */
#define MQ_SUB_MAX 16            /* topic filters per SUBSCRIBE decoded */

/* A string or binary field: bytes inside the packet. */
typedef struct {
	const uint8_t *p;
	size_t n;
} mq_str_t;

/* The 5.0 properties a server may receive (what it reads of them). */
typedef struct {
	uint32_t session_expiry;      /* CONNECT, DISCONNECT */
	bool has_session_expiry;
	uint16_t receive_maximum;     /* CONNECT: 0 when absent (65535 then) */
	uint32_t maximum_packet_size; /* CONNECT: 0 when absent (no limit) */
	uint16_t topic_alias_maximum;
	uint16_t topic_alias;         /* PUBLISH: 0 when absent */
	uint8_t request_problem_info; /* CONNECT: 1 when absent */
	uint8_t payload_format;
	bool has_auth_method;
	mq_str_t reason_string;
	unsigned n_user_properties;
} mq_props_t;

typedef struct {
	uint8_t version;              /* 4 (3.1.1) or 5 */
	bool clean;                   /* clean session (4) or clean start (5) */
	uint16_t keepalive;           /* seconds; 0: none */
	mq_str_t client_id;
	bool has_username, has_password;
	mq_str_t username, password;
	bool will;
	uint8_t will_qos;
	bool will_retain;
	mq_str_t will_topic, will_payload;
	mq_props_t props, will_props;
} mq_connect_t;

typedef struct {
	uint8_t qos;
	bool dup, retain;
	mq_str_t topic;
	uint16_t pid;                 /* 0 for QoS 0 */
	mq_props_t props;
	const uint8_t *payload;
	size_t payload_len;
} mq_publish_t;

/* PUBACK, PUBREC, PUBREL, PUBCOMP. */
typedef struct {
	uint16_t pid;
	uint8_t reason;
	mq_props_t props;
} mq_ack_t;

/* SUBSCRIBE and UNSUBSCRIBE (options 0 for the latter). */
typedef struct {
	uint16_t pid;
	size_t n;                     /* filters in the packet (at most MQ_SUB_MAX kept) */
	mq_str_t filters[MQ_SUB_MAX];
	uint8_t options[MQ_SUB_MAX];
	mq_props_t props;
} mq_subscribe_t;

typedef struct {
	uint8_t reason;
	mq_props_t props;
} mq_disconnect_t;

typedef struct {
	mq_type_t type;
	uint8_t flags;                /* the fixed header's low nibble */
	union {
		mq_connect_t connect;
		mq_publish_t publish;
		mq_ack_t ack;
		mq_subscribe_t subscribe;
		mq_disconnect_t disconnect;
	} u;
} mq_packet_t;

/* How long the packet at buf[0..n) is, fixed header included: 0 and
 * *total when its header is whole, 1 when more bytes are needed, or a
 * reason code: MQ_RC_MALFORMED (a length in five bytes, or not minimal in
 * 5.0: version 5), MQ_RC_TOO_LARGE (longer than max). */
int mq_frame(const uint8_t *buf, size_t n, uint8_t version, size_t max, size_t *total);

/* Decodes the whole packet pkt[0..len) (as mq_frame delimited it) of a
 * connection speaking version (0 before its CONNECT, when only a CONNECT
 * decodes; its own version is then read from it). 0, or a reason code.
 * A CONNECT of a protocol level other than 4 and 5 is MQ_RC_BAD_VERSION
 * with out->u.connect.version set to it. */
int mq_decode(const uint8_t *pkt, size_t len, uint8_t version, mq_packet_t *out);

/* What a CONNACK says besides its code (5.0 properties; 0: left out). */
typedef struct {
	uint32_t session_expiry;      /* when the server lowered it */
	bool has_session_expiry;
	uint16_t receive_maximum;
	uint32_t maximum_packet_size;
	uint16_t server_keepalive;    /* when the server changed the client's */
	const char *assigned_client_id;
	const char *reason_string;
} mq_connack_t;

/* Encoders: the bytes written into buf[0..cap), or 0 if they do not fit.
 * Reason strings are left out when they would not fit. */
size_t mq_encode_connack(uint8_t *buf, size_t cap, uint8_t version, bool session_present,
			 uint8_t code, const mq_connack_t *p);
/* PUBACK, PUBREC, PUBREL or PUBCOMP; 3.1.1 has no reason code. */
size_t mq_encode_ack(uint8_t *buf, size_t cap, uint8_t version, mq_type_t type, uint16_t pid,
		     uint8_t reason, const char *reason_string);
/* SUBACK or UNSUBACK with a code per filter (an UNSUBACK of 3.1.1 has none). */
size_t mq_encode_suback(uint8_t *buf, size_t cap, uint8_t version, mq_type_t type,
			uint16_t pid, const uint8_t *codes, size_t n);
/* A QoS 0 PUBLISH (the only kind this server sends: Sparkplug's NCMD, the
 * host's STATE). */
size_t mq_encode_publish(uint8_t *buf, size_t cap, uint8_t version, const char *topic,
			 const uint8_t *payload, size_t plen, bool retain);
size_t mq_encode_pingresp(uint8_t *buf, size_t cap);
/* 5.0 only (3.1.1 has no DISCONNECT from the server). */
size_t mq_encode_disconnect(uint8_t *buf, size_t cap, uint8_t reason, const char *reason_string);

/* The name of a packet type, for logs ("PUBLISH"). */
const char *mq_type_name(unsigned type);

#endif
