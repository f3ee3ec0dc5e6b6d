/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A recording TCP proxy on a libuv loop: see rnproxy.h.
 */
#include "rnproxy.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct pconn pconn_t;

struct rn_proxy {
	uv_loop_t *loop;
	uv_tcp_t listener;
	int to_port, accepted, open;   /* open: the listener and connections */
	bool closing;
	rn_wire_t *wire;
	pconn_t *conns;
};

struct pconn {
	rn_proxy_t *p;
	pconn_t *next, *prev;
	uv_tcp_t a, b;                 /* accepted, upstream */
	uv_connect_t conn;
	int open;
	char buf_a[65536], buf_b[65536];
};

typedef struct {
	uv_write_t w;
	char data[];
} pwrite_t;

static void s_die(const char *what)
{
	fprintf(stderr, "rnproxy: %s\n", what);
	exit(1);
}

static void s_record(rn_wire_t *wire, const char *d, size_t n)
{
	if (wire == NULL)
		return;
	if (wire->len + n > wire->cap) {
		wire->cap = (wire->len + n) * 2;
		wire->data = realloc(wire->data, wire->cap);
		if (wire->data == NULL)
			s_die("out of memory");
	}
	memcpy(wire->data + wire->len, d, n);
	wire->len += n;
}

static void s_maybe_free(rn_proxy_t *p)
{
	if (p->closing && p->open == 0)
		free(p);
}

static void s_closed(uv_handle_t *h)
{
	pconn_t *c = h->data;
	if (--c->open > 0)
		return;
	rn_proxy_t *p = c->p;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		p->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	free(c);
	p->open--;
	s_maybe_free(p);
}

static void s_close(pconn_t *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->a))
		uv_close((uv_handle_t *)&c->a, s_closed);
	if (!uv_is_closing((uv_handle_t *)&c->b))
		uv_close((uv_handle_t *)&c->b, s_closed);
}

static void s_alloc(uv_handle_t *h, size_t size, uv_buf_t *buf)
{
	pconn_t *c = h->data;
	(void)size;
	*buf = h == (uv_handle_t *)&c->a ? uv_buf_init(c->buf_a, sizeof(c->buf_a))
					  : uv_buf_init(c->buf_b, sizeof(c->buf_b));
}

static void s_written(uv_write_t *w, int status)
{
	(void)status;
	free(w);
}

static void s_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
	pconn_t *c = s->data;
	if (nread < 0) {
		s_close(c);
		return;
	}
	s_record(c->p->wire, buf->base, (size_t)nread);
	pwrite_t *w = malloc(sizeof(*w) + (size_t)nread);
	if (w == NULL)
		s_die("out of memory");
	memcpy(w->data, buf->base, (size_t)nread);
	uv_buf_t b = uv_buf_init(w->data, (unsigned)nread);
	uv_stream_t *other = s == (uv_stream_t *)&c->a ? (uv_stream_t *)&c->b : (uv_stream_t *)&c->a;
	if (uv_write(&w->w, other, &b, 1, s_written) != 0) {
		free(w);
		s_close(c);
	}
}

static void s_upstream(uv_connect_t *req, int status)
{
	pconn_t *c = req->data;
	if (status != 0 || uv_is_closing((uv_handle_t *)&c->a)) {
		s_close(c);
		return;
	}
	uv_read_start((uv_stream_t *)&c->a, s_alloc, s_read);
	uv_read_start((uv_stream_t *)&c->b, s_alloc, s_read);
}

static void s_accept(uv_stream_t *l, int status)
{
	rn_proxy_t *p = l->data;
	pconn_t *c = calloc(1, sizeof(*c));
	if (status != 0 || c == NULL)
		s_die("accept");
	uv_tcp_init(p->loop, &c->a);
	uv_tcp_init(p->loop, &c->b);
	c->a.data = c->b.data = c->conn.data = c;
	c->open = 2;
	c->p = p;
	c->next = p->conns;
	if (p->conns != NULL)
		p->conns->prev = c;
	p->conns = c;
	p->open++;
	p->accepted++;
	struct sockaddr_in to;
	uv_ip4_addr("127.0.0.1", p->to_port, &to);
	if (uv_accept(l, (uv_stream_t *)&c->a) != 0 ||
	    uv_tcp_connect(&c->conn, &c->b, (struct sockaddr *)&to, s_upstream) != 0)
		s_close(c);
}

rn_proxy_t *rn_proxy_start(uv_loop_t *loop, int port, int to_port, rn_wire_t *wire)
{
	rn_proxy_t *p = calloc(1, sizeof(*p));
	struct sockaddr_in a;
	if (p == NULL)
		s_die("out of memory");
	uv_ip4_addr("127.0.0.1", port, &a);
	p->loop = loop;
	p->to_port = to_port;
	p->wire = wire;
	uv_tcp_init(loop, &p->listener);
	p->listener.data = p;
	p->open = 1;
	if (uv_tcp_bind(&p->listener, (struct sockaddr *)&a, 0) != 0 ||
	    uv_listen((uv_stream_t *)&p->listener, 16, s_accept) != 0)
		s_die("listen");
	return p;
}

int rn_proxy_accepted(const rn_proxy_t *p)
{
	return p->accepted;
}

void rn_proxy_cut(rn_proxy_t *p)
{
	for (pconn_t *c = p->conns; c != NULL; c = c->next)
		s_close(c);
}

static void s_listener_closed(uv_handle_t *h)
{
	rn_proxy_t *p = h->data;
	p->open--;
	s_maybe_free(p);
}

void rn_proxy_close(rn_proxy_t *p)
{
	p->closing = true;
	rn_proxy_cut(p);
	uv_close((uv_handle_t *)&p->listener, s_listener_closed);
}
