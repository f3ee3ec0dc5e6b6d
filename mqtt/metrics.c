/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-mqttd's own metrics, beside the process's (docs/operations.md):
 * connections open and refused, PUBLISH records acknowledged and refused
 * for good. The server's loop stores its counters into the series after
 * each of its turns; the listener's thread renders them.
 */
#include "conn.h"
#include "metrics.h"

static struct {
	trc_series_t *conns, *conns_refused, *accepted, *refused;
} s_m;

void mqd_metrics_open(trc_metrics_t *m)
{
	s_m.conns = trc_metrics_gauge(m, "traction_mqtt_connections", "MQTT connections open", "");
	s_m.conns_refused = trc_metrics_counter(
		m, "traction_mqtt_connections_refused_total",
		"Connections closed on arrival (past max_connections or the file limit)", "");
	s_m.accepted = trc_metrics_counter(m, "traction_mqtt_records_accepted_total",
					   "Records of PUBLISH packets stored (acknowledged)", "");
	s_m.refused = trc_metrics_counter(
		m, "traction_mqtt_records_refused_total",
		"Records refused for good (kept in the list of refusals)", "");
}

void mqd_metrics_turn(const mqd_server_t *srv)
{
	trc_metric_set(s_m.conns, srv->n_conns);
	trc_metric_store(s_m.conns_refused, srv->conns_refused);
	trc_metric_store(s_m.accepted, srv->accepted_msgs);
	trc_metric_store(s_m.refused, srv->refused);
}
