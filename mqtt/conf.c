/* SPDX-License-Identifier: Apache-2.0 */
/*
 * [mqtt]: traction-mqttd's keys of the config file (config.h says how a
 * daemon declares its sections; docs/mqtt.md what they do).
 */
#include "mqttd.h"

#define M(member, type, min, max, def, help) \
	{ #member, TRC_CONF_##type, TRC_CONF_AT(mqd_conf_t, member), min, max, def, help }

static const trc_conf_key_t s_keys[] = {
	M(address, STR, 0, 0, "127.0.0.1",
	  "MQTT listens on this IPv4 address, in plain TCP (0.0.0.0: every interface; for other "
	  "hosts use TLS, tls_cert_file)"),
	M(port, UINT, 0, 65535, "1883",
	  "and this TCP port (0: one the kernel picks, written to address_file)"),
	M(tls_cert_file, PATH, 0, 0, "",
	  "with tls_key_file: MQTT over TLS on tls_address:tls_port with this PEM certificate "
	  "(chain); empty: no TLS (docs/mqtt.md)"),
	M(tls_key_file, PATH, 0, 0, "", "the PEM private key of tls_cert_file"),
	M(tls_address, STR, 0, 0, "0.0.0.0", "MQTT over TLS listens on this IPv4 address"),
	M(tls_port, UINT, 0, 65535, "8883",
	  "and this TCP port (0: one the kernel picks, the second line of address_file)"),
	M(tls_ca_file, PATH, 0, 0, "",
	  "PEM CAs whose client certificates authenticate: the subject's CN names the user in "
	  "keys_dir; empty: no client certificates (passwords)"),
	M(tls_client_cert, UINT, 0, 1, "1",
	  "with tls_ca_file, 1: a client certificate is required; 0: optional (without one, a "
	  "password)"),
	M(tls_priority, STR, 0, 0, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2",
	  "the GnuTLS priority string: protocol versions and ciphers"),
	M(max_connections, UINT, 1, 100000, "1024",
	  "MQTT connections at once; more are closed as they come"),
	M(max_packet_kb, UINT, 1, 65536, "256",
	  "largest MQTT packet, KiB; a larger one closes its connection (5.0: 0x95)"),
	M(max_output_kb, UINT, 4, 65536, "256",
	  "output waiting for a client that does not read, KiB; past it the connection is closed"),
	M(receive_maximum, UINT, 1, 1024, "64",
	  "QoS 1 and 2 messages a connection may have unacknowledged (5.0 receive maximum)"),
	M(keepalive_max_s, UINT, 10, 65535, "300",
	  "the longest keep alive granted (and the one used for a client asking 0)"),
	M(connect_timeout_s, UINT, 1, 3600, "10",
	  "a connection that has not sent its CONNECT after this long is closed"),
	M(session_expiry_max_s, UINT, 0, 4294967295u, "604800",
	  "the longest a persistent session outlives its connection (3.1.1 clean session 0: this)"),
	M(auth, UINT, 0, 1, "1",
	  "1: a username and password of a user in keys_dir (docs/mqtt.md); 0: none, every "
	  "message acts as the daemon's own key (loopback only)"),
	M(key_file, PATH, 0, 0, "./mqttd.key",
	  "the daemon's key pair with curve = 1 (listed in keys_dir with role = edge)"),
	M(address_file, PATH, 0, 0, "",
	  "if set, the daemon writes ADDRESS:PORT there once it listens (for port = 0)"),
	M(state_subdir, STR, 0, 0, "mqttd",
	  "its sessions' store: this folder of [store] state_dir"),
	M(map_size_mb, UINT, 1, 1048576, "64", "the sessions' store's LMDB map size, MiB"),
	M(bus_threads, UINT, 1, 64, "4",
	  "threads publishing to the bus (each one feedback.publish at a time)"),
	M(refusals_max, UINT, 1, 10000000, "10000",
	  "refused records kept for `traction-mqttd refusals` (the oldest go first)"),
	M(sparkplug_bindings, PATH, 0, 0, "",
	  "Sparkplug B: a file of lines GROUP/EDGE_NODE[/DEVICE] = SCENARIO SUPPLY@VERSION, "
	  "read again on SIGHUP (docs/mqtt.md); empty: no edge node is bound"),
	M(sparkplug_host_id, STR, 0, 0, "traction",
	  "Sparkplug B: the primary host id; its STATE is retained on spBv1.0/STATE/ID"),
};

static const trc_conf_section_t s_section = {
	"mqtt", s_keys, sizeof(s_keys) / sizeof(s_keys[0]), sizeof(mqd_conf_t)
};
const trc_conf_section_t *const mqd_config[] = { &s_section, NULL };

const mqd_conf_t *mqd_conf(const trc_config_t *cfg)
{
	return trc_config_section(cfg, &s_section);
}
