/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loopback ports for a test's daemons that must know their addresses
 * before they start (raft members name each other). A port taken with
 * bind(port 0) and closed again is in the kernel's ephemeral range, where
 * any outgoing connection may get it as its local port before the daemon
 * binds it (or binds it again after a restart): the test then fails with
 * "address in use". These come from below that range, which the kernel
 * never hands out on its own.
 */
#ifndef TRC_TEST_PORTS_H
#define TRC_TEST_PORTS_H

/* n distinct loopback TCP ports, each free when looked at, from below the
 * ephemeral range; exits the test if it finds none. */
void tp_free_ports(int *ports, int n);

/* One such port. */
int tp_free_port(void);

#endif
