/* SPDX-License-Identifier: Apache-2.0 */
/*
 * [gateway]: traction-gatewayd's keys of the config file (config.h says
 * how a daemon declares its sections; docs/http.md what they do).
 */
#include "gateway.h"

#define G(member, type, min, max, def, help) \
	{ #member, TRC_CONF_##type, TRC_CONF_AT(gw_conf_t, member), min, max, def, help }

static const trc_conf_key_t s_keys[] = {
	G(address, STR, 0, 0, "127.0.0.1",
	  "the HTTP API listens on this IPv4 address (0.0.0.0: every interface; put TLS in "
	  "front, docs/http.md)"),
	G(port, UINT, 0, 65535, "7480",
	  "and this TCP port (0: one the kernel picks, written to address_file)"),
	G(max_connections, UINT, 1, 100000, "256",
	  "HTTP connections served at once; more are answered 503"),
	G(max_body_mb, UINT, 1, 4096, "64",
	  "largest request body, MiB; a larger one is answered 413"),
	G(timeout_s, UINT, 1, 3600, "30",
	  "an HTTP connection idle (or a client this slow) for this long is closed"),
	G(session_ttl_s, UINT, 60, 31536000, "43200",
	  "how long a browser session (POST /v1/session) lasts"),
	G(auth, UINT, 0, 1, "1",
	  "1: every request needs a bearer token of a user in keys_dir (docs/http.md); 0: none, "
	  "every request acts as the gateway's own key (loopback only)"),
	G(key_file, PATH, 0, 0, "./gateway.key",
	  "the gateway's key pair with curve = 1 (listed in keys_dir with role = edge)"),
	G(address_file, PATH, 0, 0, "",
	  "if set, the gateway writes its base URL there (for port = 0)"),
	G(tls_cert_file, PATH, 0, 0, "",
	  "with tls_key_file: serve HTTPS with this PEM certificate (chain); empty: plain HTTP"),
	G(tls_key_file, PATH, 0, 0, "", "the PEM private key of tls_cert_file"),
	G(web_dir, PATH, 0, 0, "./web",
	  "the dashboard's files, served at / (docs/dashboard.md); empty: no dashboard"),
	G(web_vendor_dir, PATH, 0, 0, "/usr/share/javascript",
	  "Debian's JavaScript libraries (libjs-chart.js), served at /vendor/"),
};

static const trc_conf_section_t s_section = {
	"gateway", s_keys, sizeof(s_keys) / sizeof(s_keys[0]), sizeof(gw_conf_t)
};
const trc_conf_section_t *const gw_config[] = { &s_section, NULL };

const gw_conf_t *gw_conf(const trc_config_t *cfg)
{
	return trc_config_section(cfg, &s_section);
}
