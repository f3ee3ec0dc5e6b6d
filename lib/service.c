/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The service daemon runtime's top: the loop (one turn: drain what has
 * arrived, run the timers, hand the batch over), its connection to the
 * broker (registration, heartbeats both ways, reconnection) and the life
 * cycle (new, run, destroy, main). See service.h for the shape of a turn
 * and service_int.h for the layers below, which it drives.
 */
#include "service_int.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "error.h"
#include "log.h"

/* ---- the broker connection ------------------------------------------------- */

static void s_register(trc_service_t *svc, unsigned b)
{
	for (size_t i = 0; i < svc->def->n_services; i++)
		svc_send_control(svc, b, TRACTION__V1__FRAME_KIND__FRAME_READY,
				 svc->def->services[i].name);
}

/* A socket of ours towards the broker: the common options and, with
 * service_curve, CurveZMQ as a client with our key. */
static int s_broker_socket(trc_service_t *svc, void **sock, int type)
{
	*sock = zmq_socket(svc->zctx, type);
	if (*sock == NULL)
		return trc_err_from_errno(errno);
	int rc = trc_socket_setup(*sock, &svc->cfg);
	/* a PUB only ever receives subscriptions (the broker forwards the
	 * ones it vetted): anything larger is not one */
	int64_t submax = TRC_SUBSCRIPTION_MAX;
	if (rc == 0 && type == ZMQ_PUB &&
	    zmq_setsockopt(*sock, ZMQ_MAXMSGSIZE, &submax, sizeof(submax)) != 0)
		rc = trc_err_from_errno(errno);
	if (rc == 0 && svc->cfg.service_curve &&
	    (zmq_setsockopt(*sock, ZMQ_CURVE_SERVERKEY, svc->server_pub, TRC_Z85_KEY) != 0 ||
	     zmq_setsockopt(*sock, ZMQ_CURVE_PUBLICKEY, svc->curve_pub, TRC_Z85_KEY) != 0 ||
	     zmq_setsockopt(*sock, ZMQ_CURVE_SECRETKEY, svc->curve_sec, TRC_Z85_KEY) != 0))
		rc = trc_err_from_errno(errno);
	return rc;
}

static void s_close_dealer(broker_link_t *l)
{
	if (l->dealer != NULL) {
		trc_monitor_close(l->dealer, &l->mon);
		zmq_close(l->dealer);
	}
	l->dealer = NULL;
}

/* Whether a handshake with l's broker completed since we last looked (a
 * broker that came back, or came up after us): a moment to register with
 * it at once rather than at its first refused heartbeat, while clients
 * that fail over to a restarted broker would hear UNAVAILABLE. */
static bool s_handshaken(broker_link_t *l)
{
	bool any = false;
	for (int e; (e = trc_monitor_event(l->mon)) != 0;)
		any = any || e == ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
	return any;
}

/* Our dealer to broker b, registered. */
static int s_connect_dealer(trc_service_t *svc, unsigned b)
{
	broker_link_t *l = &svc->brokers[b];
	int rc = s_broker_socket(svc, &l->dealer, ZMQ_DEALER);
	if (rc == 0)
		rc = trc_monitor_open(svc->zctx, l->dealer, ZMQ_EVENT_HANDSHAKE_SUCCEEDED, &l->mon);
	if (rc == 0 && zmq_connect(l->dealer, l->endpoint) != 0)
		rc = trc_err_from_errno(errno);
	if (rc != 0) {
		trc_err("cannot connect to the broker at %s: %s", l->endpoint, trc_strerror(rc));
		s_close_dealer(l);
		return rc;
	}
	l->last_heard = trc_mono_ms();
	s_register(svc, b);
	return 0;
}

/* A dealer to every broker of the set (and the event sockets' endpoints
 * come from the same lists: trc_config_check made them as long). */
static int s_connect_brokers(trc_service_t *svc)
{
	svc->nbrokers = trc_config_brokers(&svc->cfg);
	for (unsigned b = 0; b < svc->nbrokers; b++) {
		trc_endpoint_at(svc->cfg.service_endpoint, b, svc->brokers[b].endpoint,
				sizeof(svc->brokers[b].endpoint));
		int rc = s_connect_dealer(svc, b);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Connects sock to every endpoint of list. */
static int s_connect_all(void *sock, const char *list)
{
	char ep[TRC_CONFIG_STR];
	for (size_t i = 0; trc_endpoint_at(list, i, ep, sizeof(ep)); i++)
		if (zmq_connect(sock, ep) != 0)
			return trc_err_from_errno(errno);
	return 0;
}

/* ---- the loop ----------------------------------------------------------------- */

static void s_handle_dealer(trc_service_t *svc, trc_msg_t *m)
{
	svc->brokers[m->from].last_heard = trc_mono_ms();
	svc->out = (unsigned)m->from; /* alive: our own requests go there */
	if (m->total != m->n || m->n == 0) {
		svc->dropped++;
		return;
	}
	if (m->n == 3) {
		svc_handle_request(svc, m);
		return;
	}
	if (m->n == 2) {
		svc_handle_reply(svc, m);
		return;
	}
	const char *why;
	Traction__V1__Header *h =
		trc_header_unpack(&svc->fill->al, trc_msg_data(m, 0), trc_msg_size(m, 0), &why);
	if (h == NULL) {
		svc->dropped++;
		return;
	}
	if (h->kind == TRACTION__V1__FRAME_KIND__FRAME_DISCONNECT) {
		trc_info("the broker does not know us (restarted?): registering again");
		/* A restarted broker forgot every request in flight, our replays
		 * too: without this a consumer would wait out the full request
		 * timeout before asking again. */
		svc_consumers_forget_replays(svc, true);
		s_register(svc, (unsigned)m->from);
	}
}

/* Whether a message waits on sock: while its batch is full the loop
 * stops reading (s_room), and what waits unread still shows the broker
 * is alive. */
static bool s_unread(void *sock)
{
	int events = 0;
	size_t len = sizeof(events);
	return zmq_getsockopt(sock, ZMQ_EVENTS, &events, &len) == 0 && (events & ZMQ_POLLIN);
}

static void s_timers(trc_service_t *svc)
{
	int64_t now = trc_mono_ms();
	if (now >= svc->next_heartbeat) {
		for (unsigned b = 0; b < svc->nbrokers; b++)
			svc_send_control(svc, b, TRACTION__V1__FRAME_KIND__FRAME_HEARTBEAT, NULL);
		svc->next_heartbeat = now + svc->cfg.heartbeat_ms;
	}
	for (unsigned b = 0; b < svc->nbrokers; b++) {
		broker_link_t *l = &svc->brokers[b];
		if (now - l->last_heard <=
			    (int64_t)svc->cfg.heartbeat_ms * svc->cfg.heartbeat_liveness ||
		    (l->dealer != NULL && s_unread(l->dealer)))
			continue;
		/* Paranoid Pirate: a silent broker may be a dead TCP peer that
		 * ZeroMQ has not noticed; start over with a fresh socket. */
		trc_warn("no word from the broker at %s for %lld ms: reconnecting", l->endpoint,
			 (long long)(now - l->last_heard));
		s_close_dealer(l);
		if (b == svc->out) /* our replays went there: ask again elsewhere */
			svc_consumers_forget_replays(svc, false);
		if (s_connect_dealer(svc, b) != 0)
			l->last_heard = now; /* try again after another interval */
		if (b == svc->out)
			svc->out = (b + 1) % (unsigned)svc->nbrokers; /* until one is heard */
	}
	if (svc_raft_leads(svc)) { /* a follower's come in the leader's entries */
		svc_tick_timer(svc, now);
		svc_consumers_poll(svc, now);
	}
	svc_backup_timers(svc, now);
}

/* Room in the loop's batch: while the writer is busy the loop stops
 * reading at batch_max requests or batch_max_mb of memory (the requests
 * as they came and decoded, in the batch's arena), and ZeroMQ's queues
 * hold the rest. So a daemon holds at most two batches of that, plus one
 * message each, whatever size the requests are. */
static bool s_room(const trc_service_t *svc)
{
	return svc->fill->writes.n < svc->cfg.batch_max &&
	       trc_arena_used(svc->fill->arena) < (size_t)svc->cfg.batch_max_mb << 20;
}

static int64_t s_timeout(trc_service_t *svc)
{
	int64_t now = trc_mono_ms();
	int64_t next = svc->next_heartbeat;
	int64_t hosted = trc_hosts_next(&svc->hosts, now); /* asked before every wait */
	if (hosted >= 0 && hosted < next)
		next = hosted;
	if (svc_raft_leads(svc)) {
		/* a follower neither ticks nor polls its sources (svc_timers):
		 * their times, never moved on, would be a wait of 0 for ever */
		next = svc_tick_next(svc, now, next);
		next = svc_consumers_next(svc, next);
	}
	next = svc_backup_next(svc, next);
	int64_t wd = trc_daemon_watchdog_ms();
	if (wd > 0 && now + wd / 2 < next)
		next = now + wd / 2;
	if (svc_lane_pending(svc) && s_room(svc))
		return 0; /* writes set aside go into the batch now */
	if (svc->parked != NULL) {
		int64_t p = svc->gen != svc->gen_seen ? now : svc_parked_next(svc);
		if (p < next)
			next = p;
	}
	return next > now ? next - now : 0;
}

/* What a service takes from a reloaded configuration: its log level. */
static void s_reload(void *ud, const trc_config_t *ncfg)
{
	trc_service_t *svc = ud;
	svc->cfg.log_level = ncfg->log_level;
}

/* A signal on sigfd: true if it asks us to stop. */
static bool s_signal(trc_service_t *svc, int sigfd, const char *config_path)
{
	int sig = trc_daemon_signal_read(sigfd);
	if (sig == SIGINT || sig == SIGTERM) {
		trc_info("signal %d: finishing in-flight work and stopping", sig);
		return true;
	}
	if (sig == SIGHUP)
		trc_daemon_reload(&svc->cfg, config_path, s_reload, svc);
	return false;
}

/* Drain what has arrived, up to one batch: requests and replies from the
 * broker, then events from the bus. Reads go first: a write is set aside
 * as it came (svc_lane.c) and joins the batch, in order, once the
 * messages waiting have been read and the reads among them answered; so
 * a ping behind a burst of publishes waits for their headers to be
 * looked at, not for them to be decoded. (A read never sees a write of
 * its own turn anyway: it is committed after the turn.) While the batch
 * is full, writes stay set aside, bounded like a batch. */
static void s_drain(trc_service_t *svc)
{
	trc_msg_t m;
	svc_lane_release(svc, s_room, false);
	for (unsigned b = 0; b < svc->nbrokers; b++) {
		if (s_handshaken(&svc->brokers[b]))
			s_register(svc, b); /* (again: READY is idempotent) */
		void *dealer = svc->brokers[b].dealer;
		for (unsigned n = 0; dealer != NULL && n < svc->cfg.batch_max &&
				     !svc_writer_finished(svc);
		     n++) {
			if (!svc_lane_open(svc) || trc_msg_recv(dealer, &m, ZMQ_DONTWAIT) != 0)
				break;
			m.from = (int)b;
			if (!svc_lane_hold(svc, &m)) {
				if (svc_lane_pending(svc) && svc_lane_writes(svc, &m))
					svc_lane_release(svc, s_room, true); /* no memory: keep the order */
				s_handle_dealer(svc, &m);
			}
			trc_msg_close(&m);
		}
	}
	svc_lane_release(svc, s_room, false);
	for (unsigned n = 0; svc->sub != NULL && n < svc->cfg.batch_max && s_room(svc); n++) {
		if (trc_msg_recv(svc->sub, &m, ZMQ_DONTWAIT) != 0)
			break;
		svc_handle_event(svc, &m);
		trc_msg_close(&m);
	}
}

/* What one wait polls: the writer's eventfd, the signals, the event and
 * broker sockets (while there is room to read), the daemon's tick_fd and
 * the hosted loops' fds (from *hosted_at on, in the order of
 * svc->hosts). How many. */
static int s_poll_items(trc_service_t *svc, int sigfd, zmq_pollitem_t *items, int *tick_at,
			int *hosted_at)
{
	short in = s_room(svc) ? ZMQ_POLLIN : 0;
	short lane = svc_lane_open(svc) ? ZMQ_POLLIN : 0;
	int nitems = 0;
	items[nitems++] = (zmq_pollitem_t){ NULL, svc->done_fd, ZMQ_POLLIN, 0 };
	items[nitems++] = (zmq_pollitem_t){ NULL, sigfd, ZMQ_POLLIN, 0 };
	if (svc->sub != NULL)
		items[nitems++] = (zmq_pollitem_t){ svc->sub, 0, in, 0 };
	for (unsigned b = 0; b < svc->nbrokers; b++) {
		if (svc->brokers[b].dealer != NULL)
			items[nitems++] = (zmq_pollitem_t){ svc->brokers[b].dealer, 0, lane, 0 };
		if (svc->brokers[b].mon != NULL)
			items[nitems++] = (zmq_pollitem_t){ svc->brokers[b].mon, 0, ZMQ_POLLIN, 0 };
	}
	*tick_at = -1;
	if (svc->tick_fd >= 0) {
		*tick_at = nitems;
		items[nitems++] = (zmq_pollitem_t){ NULL, svc->tick_fd, ZMQ_POLLIN, 0 };
	}
	*hosted_at = nitems;
	/* a hosted loop without an fd is polled on -1, which zmq_poll
	 * passes to poll(2): ignored, never ready */
	for (size_t i = 0; i < svc->hosts.n; i++)
		items[nitems++] = (zmq_pollitem_t){ NULL, svc->hosts.h[i].fd,
						    svc->hosts.h[i].events, 0 };
	return nitems;
}

/* The hosted loops whose fd is ready or whose time has come: a turn
 * each, on the loop thread. */
static void s_run_hosted(trc_service_t *svc, const zmq_pollitem_t *items)
{
	short rev[TRC_HOSTED_MAX];
	for (size_t i = 0; i < svc->hosts.n; i++)
		rev[i] = items[i].revents;
	trc_hosts_run(&svc->hosts, rev, trc_mono_ms());
}

int trc_service_host(trc_service_t *svc, const trc_hosted_t *h)
{
	return trc_hosts_add(&svc->hosts, h);
}

int trc_service_run(trc_service_t *svc, int sigfd, const char *config_path)
{
	bool stop = false;
	while (!stop) {
		zmq_pollitem_t items[4 + 2 * TRC_BROKERS_MAX + TRC_HOSTED_MAX];
		int tick_at, hosted_at;
		int nitems = s_poll_items(svc, sigfd, items, &tick_at, &hosted_at);
		if (zmq_poll(items, nitems, (long)s_timeout(svc)) < 0 && errno != EINTR) {
			trc_err("poll failed: %s", zmq_strerror(errno));
			return TRC_EIO;
		}
		svc->fill->now_ms = trc_now_ms();
		if (items[0].revents & ZMQ_POLLIN)
			svc_writer_done(svc, false, false);
		if (items[1].revents & ZMQ_POLLIN)
			stop = s_signal(svc, sigfd, config_path);
		if (tick_at >= 0 && (items[tick_at].revents & ZMQ_POLLIN))
			svc_tick_asked(svc);
		s_run_hosted(svc, items + hosted_at);
		s_drain(svc);
		s_timers(svc); /* may queue a tick for the next commit */
		if (svc->parked != NULL)
			svc_unpark(svc, svc->gen != svc->gen_seen, false);
		svc->gen_seen = svc->gen;
		svc_turn_end(svc, false);
		svc_metrics_turn(svc);
		/* A writer stuck on the disk for a watchdog interval stops the
		 * pings, so that systemd restarts us as when the loop itself
		 * stalled in a commit. */
		int64_t wd = trc_daemon_watchdog_ms();
		if (svc->run == NULL || wd == 0 || trc_mono_ms() - svc->run_since < wd)
			trc_daemon_watchdog();
		if (svc_raft_failed(svc) != 0)
			stop = true; /* an entry this store could not take: start over */
	}
	/* Finish in-flight work: the writer's batch, then what is waiting
	 * (writes set aside join the last batch; parked requests get their
	 * answer as of now). */
	svc_writer_done(svc, true, true);
	svc_raft_drain(svc);
	svc_lane_release(svc, s_room, true);
	svc->stopping = true; /* what parked now would never be answered */
	svc_unpark(svc, false, true);
	svc_turn_end(svc, true);
	int failed = svc_raft_failed(svc);
	svc_raft_close(svc);
	return failed != 0 ? failed : 0;
}

/* ---- life cycle ---------------------------------------------------------------- */

static int s_batches_new(trc_service_t *svc)
{
	for (int i = 0; i <= TRC_BATCHES; i++) {
		batch_t *b = i < TRC_BATCHES ? &svc->batches[i] : &svc->entry;
		b->arena = trc_arena_new();
		if (b->arena == NULL)
			return TRC_ENOMEM;
		b->al = trc_arena_allocator(b->arena);
	}
	return 0;
}

/* The event log's retention, and a store written before its key index
 * noted as to be indexed (evtrim.c). */
static int s_evlog_open(trc_service_t *svc)
{
	const trc_config_t *cfg = &svc->cfg;
	svc->evret.keep_ms = (int64_t)cfg->events_keep_days * 86400000;
	svc->evret.keep_max = cfg->events_keep_max;
	svc->evret.per_tick = cfg->events_trim_per_tick;
	trc_txn_t txn;
	int rc = trc_txn_begin(svc->store, &txn, true);
	if (rc != 0)
		return rc;
	rc = trc_evlog_open(svc->evlog, &txn);
	if (rc == 0)
		return trc_txn_commit(&txn);
	trc_txn_abort(&txn);
	return rc;
}

/* The store (migrated, with its margin), the daemon's open hook, our event
 * log and where we stand: its head and each consumed source's position. */
static int s_open_store(trc_service_t *svc)
{
	const trc_daemon_def_t *def = svc->def;
	const trc_config_t *cfg = &svc->cfg;
	int rc = trc_daemon_state_path(cfg, def->daemon, svc->state_path, sizeof(svc->state_path));
	if (rc == 0)
		rc = trc_store_open_migrate(&svc->store, svc->state_path,
					    (size_t)cfg->map_size_mb << 20, def->dbs,
					    def->schema_version, def->migrate);
	if (rc == 0) /* the margin, before serving: see store.h */
		(void)trc_store_write_ahead(svc->store, TRC_STORE_AHEAD / TRC_STORE_AHEAD_PIECE);
	if (rc == 0 && def->open != NULL)
		rc = def->open(def->user, svc->store, cfg);
	if (rc == 0 && def->tick_fd != NULL)
		svc->tick_fd = def->tick_fd(def->user);
	if (rc == 0 && def->event_source != NULL) {
		svc->evlog = trc_evlog_new(def->event_source);
		if (svc->evlog == NULL)
			rc = TRC_ENOMEM;
		else {
			trc_evlog_set_topics(svc->evlog, def->event_topics);
			trc_evlog_set_keys(svc->evlog, def->event_keys);
		}
	}
	if (rc == 0 && svc->evlog != NULL)
		rc = s_evlog_open(svc);
	if (rc == 0)
		rc = svc_consumers_open(svc);
	if (rc == 0)
		rc = svc_backup_open(svc);
	if (rc == 0 && svc->evlog != NULL) {
		trc_txn_t txn;
		rc = trc_txn_begin(svc->store, &txn, false);
		if (rc == 0) {
			svc->head = trc_evlog_head(&txn);
			trc_txn_abort(&txn);
		}
	}
	return rc;
}

/* The ZeroMQ context, our keys with service_curve, and the sockets: the
 * dealer (registered), the PUB of our events, the SUB of the sources we
 * consume. */
static int s_open_sockets(trc_service_t *svc)
{
	const trc_config_t *cfg = &svc->cfg;
	svc->zctx = zmq_ctx_new();
	if (svc->zctx == NULL)
		return TRC_ENOMEM;
	if (cfg->service_curve) {
		char err[512];
		if (trc_keypair_load(cfg->service_key_file, svc->curve_pub, svc->curve_sec, err,
				     sizeof(err)) != 0 ||
		    trc_keypair_load(cfg->server_public_key_file, svc->server_pub, NULL, err,
				     sizeof(err)) != 0) {
			trc_err("%s", err);
			return TRC_ECONFIG;
		}
	}
	/* Our events go to every broker, and we hear every broker's: each
	 * event then comes once a broker, and a consumer drops the copies by
	 * (source, sequence) as it drops replayed ones. */
	int rc = s_connect_brokers(svc);
	if (rc == 0 && svc->evlog != NULL &&
	    (s_broker_socket(svc, &svc->pub, ZMQ_PUB) != 0 ||
	     s_connect_all(svc->pub, cfg->event_publish_endpoint) != 0))
		rc = TRC_ECONFIG;
	if (rc == 0 && svc->ncons > 0 &&
	    (s_broker_socket(svc, &svc->sub, ZMQ_SUB) != 0 ||
	     s_connect_all(svc->sub, cfg->event_subscribe_endpoint) != 0))
		rc = TRC_ECONFIG;
	if (rc == 0 && svc->ncons > 0)
		rc = svc_consumers_subscribe(svc);
	if (rc != 0)
		trc_err("cannot set up the sockets: %s", trc_strerror(rc));
	return rc;
}

int trc_service_new(trc_service_t **svc_p, const trc_daemon_def_t *def,
		    const trc_config_t *cfg)
{
	int rc = svc_def_check(def);
	if (rc != 0)
		return rc;
	trc_service_t *svc = calloc(1, sizeof(*svc));
	if (svc == NULL)
		return TRC_ENOMEM;
	svc->def = def;
	svc->cfg = *cfg;
	svc->started_mono = trc_mono_ms();
	svc->done_fd = -1;
	svc->tick_fd = -1;
	svc->fill = &svc->batches[0];
	svc->config_digest = trc_config_digest(cfg);
	rc = s_batches_new(svc);
	if (rc == 0)
		rc = svc_catch_up_open(svc);
	if (rc == 0)
		rc = s_open_store(svc);
	if (rc == 0)
		rc = svc_positions_new(svc);
	if (rc == 0)
		rc = svc_metrics_open(svc);
	if (rc == 0)
		rc = s_open_sockets(svc);
	if (rc == 0)
		rc = svc_writer_start(svc);
	if (rc == 0)
		rc = svc_raft_open(svc);
	if (rc != 0) {
		trc_service_destroy(&svc);
		return rc;
	}
	*svc_p = svc;
	return 0;
}

void trc_service_destroy(trc_service_t **svc_p)
{
	if (svc_p == NULL || *svc_p == NULL)
		return;
	trc_service_t *svc = *svc_p;
	svc_raft_close(svc); /* its callbacks reach the writer and the sockets */
	svc_writer_stop(svc);
	svc_backup_close(svc); /* its copy's thread reads the store */
	svc_metrics_close(svc); /* its listener reads the store: first */
	for (unsigned b = 0; b < svc->nbrokers; b++) {
		if (svc->brokers[b].dealer == NULL)
			continue;
		/* Tell the broker at once rather than let it wait for heartbeats. */
		svc_send_control(svc, b, TRACTION__V1__FRAME_KIND__FRAME_DISCONNECT, NULL);
		s_close_dealer(&svc->brokers[b]);
	}
	if (svc->pub != NULL)
		zmq_close(svc->pub);
	if (svc->sub != NULL)
		zmq_close(svc->sub);
	if (svc->zctx != NULL)
		zmq_ctx_term(svc->zctx);
	if (svc->def->close != NULL && svc->store != NULL)
		svc->def->close(svc->def->user);
	trc_evlog_destroy(&svc->evlog);
	trc_store_destroy(&svc->store);
	for (int i = 0; i <= TRC_BATCHES; i++) {
		batch_t *b = i < TRC_BATCHES ? &svc->batches[i] : &svc->entry;
		trc_arena_destroy(&b->arena);
		free(b->writes.v);
	}
	svc_parked_free(svc);
	svc_lane_free(svc);
	free(svc->hpos);
	free(svc->hposv);
	free(svc->catch_up);
	free(svc->cons);
	free(svc);
	*svc_p = NULL;
}

trc_store_t *trc_service_store(trc_service_t *svc)
{
	return svc->store;
}

/* Fetches in a row at most: each brings the store to the leader's, but a
 * leader that writes fast may have moved its log past the copy by the
 * time the replica asks for the rest ([cluster] snapshot_trailing). */
#define S_FETCHES 10

/* The daemon's life from its start to its stop. A replica that stopped
 * because its store is behind its group's snapshot (svc_raft.c) fetches
 * another replica's store and starts again, in this process (svc_fetch.c). */
static int s_serve(const trc_daemon_def_t *def, trc_config_t *cfg, int sigfd,
		   const char *config_path)
{
	for (int attempt = 0;; attempt++) {
		trc_service_t *svc = NULL;
		int rc = svc_fetch_if_needed(def, cfg);
		if (rc == 0)
			rc = trc_service_new(&svc, def, cfg);
		if (rc != 0 && svc_fetch_marked(def, cfg) && attempt < S_FETCHES)
			continue; /* its restore at start found the store behind */
		if (rc != 0) {
			trc_err("cannot start: %s", trc_strerror(rc));
			return rc;
		}
		trc_info("started pid=%d broker=%s state=%s/%s", (int)getpid(),
			 cfg->service_endpoint, cfg->state_dir, def->daemon);
		trc_daemon_ready("serving");
		rc = trc_service_run(svc, sigfd, config_path);
		trc_service_destroy(&svc);
		if (rc == 0 || !svc_fetch_marked(def, cfg) || attempt >= S_FETCHES)
			return rc;
		trc_notice("starting again, once another replica's store is fetched");
	}
}

int trc_service_main(int argc, char **argv, const trc_daemon_def_t *def)
{
	trc_daemon_info_t info = { def->program, def->summary, def->config, NULL, NULL };
	trc_config_t cfg;
	const char *config_path = NULL;
	int sigfd = -1;
	int rc = trc_daemon_start(argc, argv, &info, def->daemon, &cfg, &config_path, &sigfd);
	if (rc != 0)
		return rc > 0 ? 0 : 1;
	rc = s_serve(def, &cfg, sigfd, config_path);
	trc_daemon_stopping();
	close(sigfd);
	trc_info("stopped");
	return rc == 0 ? 0 : 1;
}
