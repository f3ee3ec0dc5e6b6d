/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Which service names the broker knows, over real sockets: it names none
 * itself. A name in [broker] services that never started is UNAVAILABLE
 * (clients retry it); so is one that registered and died, config or not;
 * any other name is NOT_FOUND; a name added to the config is known after
 * SIGHUP.
 */
#include <signal.h>
#include <stdio.h>

#include "check.h"
#include "harness.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/bus.pb-c.h"

static harness_t H;
static pid_t s_broker;

/* The code of a ping of service, its status in *st. */
static int ping(traction_client_t *c, const char *service, traction_status_t *st)
{
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	ProtobufCMessage *rep = NULL;
	int code = traction_call(c, service, "ping", &req.base,
				 &traction__v1__ping_reply__descriptor, &rep, st);
	traction_reply_free(rep);
	return code;
}

TEST(a_configured_name_never_started_is_unavailable)
{
	traction_client_t *c = h_client(&H);
	traction_status_t st;
	CHECK_EQ_INT(ping(c, "ghost", &st), TRACTION__V1__CODE__UNAVAILABLE);
	CHECK_STR(st.message, "service 'ghost' has no live instance");
	/* nor does the broker know the daemon set's names of its own */
	CHECK_EQ_INT(ping(c, "supply", &st), TRACTION__V1__CODE__NOT_FOUND);
	CHECK_EQ_INT(ping(c, "nosuch", &st), TRACTION__V1__CODE__NOT_FOUND);
	CHECK_STR(st.message, "no service named 'nosuch'");
	traction_client_destroy(&c);
}

/* traction-testd serves "kv", a name the config does not hold. */
TEST(a_name_that_registered_then_died_is_unavailable)
{
	traction_client_t *c = h_client(&H);
	traction_status_t st;
	CHECK_EQ_INT(ping(c, "kv", &st), TRACTION__V1__CODE__NOT_FOUND);
	pid_t kv = h_start(&H, "traction-testd", "kv");
	CHECK(h_wait_live(&H, "kv", 1, 5000));
	CHECK_EQ_INT(ping(c, "kv", &st), 0);
	h_kill(&H, kv, SIGKILL);
	CHECK(h_wait_live(&H, "kv", 0, 5000)); /* the broker has dropped it */
	CHECK_EQ_INT(ping(c, "kv", &st), TRACTION__V1__CODE__UNAVAILABLE);
	CHECK_STR(st.message, "service 'kv' has no live instance");
	traction_client_destroy(&c);
}

TEST(a_name_added_to_the_config_is_known_after_sighup)
{
	char path[400];
	snprintf(path, sizeof(path), "%s/broker.conf", H.dir);
	FILE *f = fopen(path, "a");
	CHECK(f != NULL);
	fputs("[broker]\nservices = ghost, late\n", f);
	fclose(f);
	traction_client_t *c = h_client(&H);
	traction_status_t st;
	CHECK_EQ_INT(ping(c, "late", &st), TRACTION__V1__CODE__NOT_FOUND);
	kill(s_broker, SIGHUP);
	int code = TRACTION__V1__CODE__NOT_FOUND;
	for (int i = 0; i < 250 && code == TRACTION__V1__CODE__NOT_FOUND; i++) {
		code = ping(c, "late", &st);
		if (code == TRACTION__V1__CODE__NOT_FOUND)
			h_sleep_ms(20);
	}
	CHECK_EQ_INT(code, TRACTION__V1__CODE__UNAVAILABLE);
	CHECK_EQ_INT(ping(c, "ghost", &st), TRACTION__V1__CODE__UNAVAILABLE);
	CHECK_EQ_INT(ping(c, "kv", &st), TRACTION__V1__CODE__UNAVAILABLE); /* not forgotten */
	CHECK_EQ_INT(ping(c, "nosuch", &st), TRACTION__V1__CODE__NOT_FOUND);
	traction_client_destroy(&c);
}

int main(void)
{
	h_init(&H, "[bus]\nheartbeat_ms = 100\n[broker]\nservices = ghost\n");
	s_broker = h_start_broker(&H, false);
	RUN(a_configured_name_never_started_is_unavailable);
	RUN(a_name_that_registered_then_died_is_unavailable);
	RUN(a_name_added_to_the_config_is_known_after_sighup);
	h_done(&H);
	DONE();
}
