/*
 * traction-broker: routes requests from clients to services by service
 * name (Majordomo-like, not wire-identical: see docs/protocol.md), answers
 * itself when it cannot route, and relays events from publishers to
 * subscribers. It keeps nothing durable.
 */
#ifndef TRC_BROKER_H
#define TRC_BROKER_H

#include "config.h"

typedef struct trc_broker trc_broker_t;

/* Binds every endpoint of cfg (ports may be "*"; the bound ones are written
 * to cfg->endpoints_file when it is set). */
int trc_broker_new(trc_broker_t **broker_p, const trc_config_t *cfg);
void trc_broker_destroy(trc_broker_t **broker_p);

/* Runs until SIGINT/SIGTERM arrives on sigfd. */
int trc_broker_run(trc_broker_t *broker, int sigfd, const char *config_path);

#endif
