/* SPDX-License-Identifier: Apache-2.0 */
#include "ports.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* The first port of the kernel's ephemeral range (Linux's default if the
 * file says nothing). */
static int s_ephemeral_low(void)
{
	int lo = 32768, hi = 60999;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (f != NULL) {
		if (fscanf(f, "%d %d", &lo, &hi) != 2)
			lo = 32768;
		fclose(f);
	}
	return lo;
}

/* A socket bound to port on loopback (held, so that the next pick is
 * another port), or -1. */
static int s_hold(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

void tp_free_ports(int *ports, int n)
{
	/* from 10000 up to the ephemeral range, at a place of this process's
	 * own: tests run side by side */
	int low = 10000, span = s_ephemeral_low() - low;
	if (span < 1000) {
		fprintf(stderr, "tp_free_ports: no room below the ephemeral range\n");
		exit(1);
	}
	unsigned seed = (unsigned)getpid() ^ (unsigned)time(NULL);
	int fd[64], got = 0;
	if (n > 64)
		n = 64;
	for (int tries = 0; got < n && tries < 4 * span; tries++) {
		int port = low + (int)(rand_r(&seed) % (unsigned)span);
		int f = s_hold(port);
		if (f < 0)
			continue;
		fd[got] = f;
		ports[got++] = port;
	}
	for (int i = 0; i < got; i++)
		close(fd[i]);
	if (got < n) {
		fprintf(stderr, "tp_free_ports: found %d free ports of %d\n", got, n);
		exit(1);
	}
}

int tp_free_port(void)
{
	int port;
	tp_free_ports(&port, 1);
	return port;
}
