/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-broker: routes requests from clients to services by service
 * name (Majordomo-like, not wire-identical: see docs/protocol.md), answers
 * itself when it cannot route, and relays events from publishers to
 * subscribers. It keeps nothing durable but the audit log of the key set
 * it puts in force (keyaudit.c).
 */
#ifndef TRC_BROKER_H
#define TRC_BROKER_H

#include "config.h"

typedef struct trc_broker trc_broker_t;

/* [broker]: the broker's own keys (conf.c declares them). */
typedef struct {
	unsigned max_in_flight_per_client;
	unsigned max_mb_in_flight_per_client;
	unsigned max_mb_in_flight;     /* all clients together */
	unsigned max_subscriptions;    /* distinct topic prefixes on the event feed */
	unsigned max_subscriptions_per_peer;
	char endpoints_file[TRC_CONFIG_PATH];
	char services[TRC_CONFIG_PATH]; /* names known before they register */
	unsigned instance;             /* which entry of each [bus] endpoint list is ours */
} trc_broker_conf_t;

/* The broker's sections of the config file, NULL-terminated ([broker]). */
extern const trc_conf_section_t trc_broker_section;
extern const trc_conf_section_t *const trc_broker_config[];
/* Its values in cfg (made for trc_broker_config), or NULL. */
const trc_broker_conf_t *trc_broker_conf(const trc_config_t *cfg);

/* Binds every endpoint of cfg (its [broker] instance-th entry of each
 * [bus] list) (ports may be "*"; the bound ones are written
 * to [broker] endpoints_file when it is set). cfg must be made for
 * trc_broker_config (TRC_EINVAL otherwise). */
int trc_broker_new(trc_broker_t **broker_p, const trc_config_t *cfg);
void trc_broker_destroy(trc_broker_t **broker_p);

/* Runs until SIGINT/SIGTERM arrives on sigfd. */
int trc_broker_run(trc_broker_t *broker, int sigfd, const char *config_path);

#endif
