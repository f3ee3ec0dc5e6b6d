/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The CurveZMQ raft transport's streams as raft sees them, without raft
 * (lib/raft_curve.h): a node connects to another through the transport's
 * own connect/accept, as raft's uv_send and uv_recv do.
 *
 *   - 4 MiB written on the outgoing stream come out of the incoming one
 *     whole and in order (64 KiB messages, ZeroMQ's queue full on the way);
 *   - the incoming stream closed (what raft does with a bad message): the
 *     outgoing one ends (EOF), so raft's next write fails and it connects
 *     again;
 *   - a new connection through a TCP proxy, the proxy's connections cut
 *     (a peer lost without a word): the outgoing stream ends as well;
 *   - the listening node closed: its incoming stream ends; a connection
 *     to a node that is gone fails (RAFT_NOCONNECTION), raft's cue to retry.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "raft_curve.h"
#include "raftnodes.h"
#include "rnproxy.h"

#define BIG (4u << 20)

static uv_loop_t s_loop;
static char s_base[256];
static struct raft_uv_transport s_srv, s_cli;
static bool s_srv_closed;
static uv_stream_t *s_in, *s_out;          /* raft's ends */
static int s_connect_status = 1;
static unsigned char *s_got;
static size_t s_ngot;
static bool s_out_ended, s_in_ended;
static char s_rbuf[65536];

static void s_cleanup(void)
{
	if (s_base[0])
		rn_rmtree(s_base);
}

static void s_accepted(struct raft_uv_transport *t, raft_id id, const char *address,
		       uv_stream_t *stream)
{
	(void)t;
	CHECK_EQ_INT(id, 2);
	CHECK(strstr(address, "127.0.0.1:") == address);
	s_in = stream;
}

static void s_connected(struct raft_uv_connect *req, uv_stream_t *stream, int status)
{
	(void)req;
	s_connect_status = status;
	s_out = stream;
}

static void s_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
	(void)h;
	(void)size;
	*buf = uv_buf_init(s_rbuf, sizeof(s_rbuf));
}

static void s_in_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	(void)s;
	if (n < 0) {
		s_in_ended = true;
		return;
	}
	CHECK(s_ngot + (size_t)n <= BIG);
	memcpy(s_got + s_ngot, buf->base, (size_t)n);
	s_ngot += (size_t)n;
}

static void s_out_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	(void)s;
	(void)buf;
	if (n < 0)
		s_out_ended = true;
}

static bool s_flag(void *ud)
{
	return *(bool *)ud;
}

static bool s_conn_done(void *ud)
{
	(void)ud;
	return s_connect_status != 1 && (s_connect_status != 0 || s_in != NULL);
}

static bool s_all_in(void *ud)
{
	(void)ud;
	return s_ngot == BIG;
}

static void s_free_handle(uv_handle_t *h)
{
	raft_free(h);
}

/* Either transport's close: they close one after the other. */
static void s_srv_close_cb(struct raft_uv_transport *t)
{
	(void)t;
	s_srv_closed = true;
}

static void s_transport(struct raft_uv_transport *t, const char *keys, const char *pub,
			const char *sec)
{
	char err[256];
	trc_raft_curve_options_t o = { .keys_dir = keys, .public_key = pub, .secret_key = sec };
	CHECK_MSG(trc_raft_curve_init(t, &s_loop, &o, err, sizeof(err)) == 0, "%s", err);
}

/* One connection from the client to the server, its streams in s_out, s_in. */
static int s_connect(const char *address)
{
	static struct raft_uv_connect req;
	s_connect_status = 1;
	s_in = s_out = NULL;
	s_out_ended = s_in_ended = false;
	CHECK(s_cli.connect(&s_cli, &req, 1, address, s_connected) == 0);
	CHECK(rn_run_until(&s_loop, s_conn_done, NULL, 10000));
	if (s_connect_status == 0)
		CHECK(uv_read_start(s_out, s_alloc, s_out_read) == 0);
	return s_connect_status;
}

static void s_bytes_in_order(void)
{
	static uv_write_t w;
	unsigned char *big = malloc(BIG);
	s_got = malloc(BIG);
	CHECK(big != NULL && s_got != NULL);
	for (size_t i = 0; i < BIG; i++)
		big[i] = (unsigned char)(i * 2654435761u >> 13);
	CHECK(uv_read_start(s_in, s_alloc, s_in_read) == 0);
	uv_buf_t b = uv_buf_init((char *)big, BIG);
	CHECK(uv_write(&w, s_out, &b, 1, NULL) == 0);
	CHECK_MSG(rn_run_until(&s_loop, s_all_in, NULL, 30000), "%zu of %u bytes came", s_ngot,
		  BIG);
	CHECK(memcmp(big, s_got, BIG) == 0);
	free(big);
	free(s_got);
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	snprintf(s_base, sizeof(s_base), "/tmp/test_raft_curve_streams.XXXXXX");
	CHECK(mkdtemp(s_base) != NULL);
	atexit(s_cleanup);
	CHECK(uv_loop_init(&s_loop) == 0);
	char keys[300], address[64], via[64], dead[64], pub[2][TRC_Z85_KEY + 1], sec[2][TRC_Z85_KEY + 1];
	snprintf(keys, sizeof(keys), "%s/keys", s_base);
	CHECK(mkdir(keys, 0700) == 0);
	for (int i = 0; i < 2; i++) {
		rn_keypair(pub[i], sec[i]);
		rn_key_file(keys, i ? "n2" : "n1", pub[i], "service");
	}
	int ports[3];
	tp_free_ports(ports, 3);
	int port = ports[0], via_port = ports[2];
	snprintf(address, sizeof(address), "127.0.0.1:%d", port);
	snprintf(dead, sizeof(dead), "127.0.0.1:%d", ports[1]);
	snprintf(via, sizeof(via), "127.0.0.1:%d", via_port);
	s_transport(&s_srv, keys, pub[0], sec[0]);
	s_transport(&s_cli, keys, pub[1], sec[1]);
	CHECK(trc_raft_curve_peer_key(&s_cli, 1, pub[0]) == 0);
	CHECK(s_srv.init(&s_srv, 1, address) == 0 && s_srv.listen(&s_srv, s_accepted) == 0);
	CHECK(s_cli.init(&s_cli, 2, dead) == 0);

	CHECK_EQ_INT(s_connect(address), 0);
	s_bytes_in_order();

	/* the server's raft closes its end: the client's stream ends */
	uv_close((uv_handle_t *)s_in, s_free_handle);
	CHECK_MSG(rn_run_until(&s_loop, s_flag, &s_out_ended, 10000), "no EOF after the bye");
	uv_close((uv_handle_t *)s_out, s_free_handle);

	/* again, through a proxy cut: the client's stream ends */
	rn_proxy_t *proxy = rn_proxy_start(&s_loop, via_port, port, NULL);
	CHECK_EQ_INT(s_connect(via), 0);
	rn_proxy_cut(proxy);
	CHECK_MSG(rn_run_until(&s_loop, s_flag, &s_out_ended, 10000), "no EOF after the peer went");
	uv_close((uv_handle_t *)s_in, s_free_handle);
	uv_close((uv_handle_t *)s_out, s_free_handle);
	rn_proxy_close(proxy);

	/* and once more, then the server closes: its own end ends too */
	CHECK_EQ_INT(s_connect(address), 0);
	CHECK(uv_read_start(s_in, s_alloc, s_in_read) == 0);
	s_srv.close(&s_srv, s_srv_close_cb);
	CHECK(rn_run_until(&s_loop, s_flag, &s_srv_closed, 10000));
	CHECK(rn_run_until(&s_loop, s_flag, &s_in_ended, 10000));
	CHECK(rn_run_until(&s_loop, s_flag, &s_out_ended, 10000));
	uv_close((uv_handle_t *)s_in, s_free_handle);
	uv_close((uv_handle_t *)s_out, s_free_handle);
	trc_raft_curve_close(&s_srv);

	/* nobody there: the connection fails, raft's cue to retry */
	CHECK_EQ_INT(s_connect(address), RAFT_NOCONNECTION);
	trc_raft_curve_stats_t st;
	trc_raft_curve_stats(&s_cli, &st);
	CHECK_EQ_INT(st.connected, 3);
	CHECK_EQ_INT(st.failed, 1);

	s_srv_closed = false;
	s_cli.close(&s_cli, s_srv_close_cb);
	CHECK(rn_run_until(&s_loop, s_flag, &s_srv_closed, 10000));
	uv_run(&s_loop, UV_RUN_DEFAULT);
	trc_raft_curve_close(&s_cli);
	CHECK(uv_loop_close(&s_loop) == 0);
	printf("raft_curve streams: 4 MiB in order, EOF on a bye and on a lost peer\n");
	return 0;
}
