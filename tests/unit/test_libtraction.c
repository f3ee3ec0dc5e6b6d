/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libtraction's one error convention (traction.h, "Errors"), function by
 * function, with no broker: 0 or non-zero, a status code from the calls
 * that work with the bus and a negative errno from those that set up,
 * NULL handed out on failure, the status filled on every return, and a
 * NULL argument refused rather than followed.
 */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "traction/publisher.h"
#include "traction/traction.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/common.pb-c.h"

#define NOWHERE "inproc://nowhere" /* connects, and nothing ever answers */
#define KEY "0123456789012345678901234567890123456789"

TEST(client_set_up)
{
	traction_client_t *c = (traction_client_t *)&c; /* not NULL: must become it */
	CHECK_EQ_INT(traction_client_new(NULL, NOWHERE, NULL), -EINVAL);
	CHECK_EQ_INT(traction_client_new(&c, NULL, NULL), -EINVAL);
	CHECK(c == NULL);
	traction_options_t o = { .server_public_key = KEY, .public_key = KEY };
	c = (traction_client_t *)&c;
	CHECK_EQ_INT(traction_client_new(&c, NOWHERE, &o), -EINVAL); /* no secret key */
	CHECK(c == NULL);
	o.secret_key = "too short";
	CHECK_EQ_INT(traction_client_new(&c, NOWHERE, &o), -EINVAL);
	CHECK(traction_client_new(&c, "no-such-transport://x", NULL) < 0);
	CHECK(c == NULL);
	CHECK_EQ_INT(traction_client_new(&c, NOWHERE, NULL), 0);
	CHECK(c != NULL);

	CHECK_EQ_INT(traction_client_after(NULL, "supply", 1), -EINVAL);
	char name[16];
	for (int i = 0; i < 8; i++) {
		snprintf(name, sizeof(name), "source%d", i);
		CHECK_EQ_INT(traction_client_after(c, name, 1), 0);
	}
	CHECK_EQ_INT(traction_client_after(c, "one-too-many", 1), -ENOSPC);
	CHECK_EQ_INT(traction_client_after(c, NULL, 0), 0);
	CHECK_EQ_INT(traction_client_on_behalf_of(NULL, "alice"), -EINVAL);
	CHECK_EQ_INT(traction_client_on_behalf_of(c, "alice"), 0);
	traction_client_set_timeout(NULL, 5); /* nothing to set: no crash */
	traction_client_destroy(&c);
	CHECK(c == NULL);
	traction_client_destroy(&c);
	traction_client_destroy(NULL);
}

static int s_ping(traction_client_t *c, ProtobufCMessage **rep, traction_status_t *st)
{
	Traction__V1__Empty req = TRACTION__V1__EMPTY__INIT;
	return traction_call(c, "supply", "ping", &req.base, &traction__v1__ping_reply__descriptor,
			     rep, st);
}

TEST(call)
{
	traction_client_t *c;
	traction_options_t o = { .timeout_ms = 50 };
	ProtobufCMessage *rep = (ProtobufCMessage *)&rep;
	traction_status_t st = { .code = -1 };
	CHECK_EQ_INT(s_ping(NULL, &rep, &st), TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK(rep == NULL);
	CHECK_EQ_INT(st.code, TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_CONTAINS(st.message, "required");
	CHECK_EQ_INT(traction_client_new(&c, NOWHERE, &o), 0);
	CHECK_EQ_INT(s_ping(c, NULL, NULL), TRACTION__V1__CODE__INVALID_ARGUMENT);
	rep = (ProtobufCMessage *)&rep;
	CHECK_EQ_INT(s_ping(c, &rep, &st), TRACTION__V1__CODE__DEADLINE_EXCEEDED);
	CHECK(rep == NULL);
	CHECK_EQ_INT(st.code, TRACTION__V1__CODE__DEADLINE_EXCEEDED);
	CHECK_STR(st.message, "no reply within the timeout");
	/* and without a status to fill, and without a request */
	CHECK_EQ_INT(traction_call(c, "supply", "ping", NULL, &traction__v1__ping_reply__descriptor,
				   &rep, NULL),
		     TRACTION__V1__CODE__DEADLINE_EXCEEDED);
	CHECK(traction_last_header(c) == NULL);
	CHECK(traction_last_details(c) == NULL);
	CHECK(traction_last_header(NULL) == NULL);
	CHECK(traction_last_details(NULL) == NULL);
	traction_reply_free(NULL);
	traction_client_destroy(&c);
}

TEST(publisher)
{
	traction_publisher_t *p = (traction_publisher_t *)&p;
	traction_publisher_options_t o = { .timeout_ms = 50, .client_name = "test" };
	CHECK_EQ_INT(traction_publisher_new(NULL, NOWHERE, &o), -EINVAL);
	CHECK_EQ_INT(traction_publisher_new(&p, NULL, &o), -EINVAL);
	CHECK(p == NULL);
	o.server_public_key = KEY;
	p = (traction_publisher_t *)&p;
	CHECK_EQ_INT(traction_publisher_new(&p, NOWHERE, &o), -EINVAL);
	CHECK(p == NULL);
	o.server_public_key = NULL;
	CHECK_EQ_INT(traction_publisher_new(&p, NOWHERE, &o), 0);

	Traction__V1__FeedbackRecord r = TRACTION__V1__FEEDBACK_RECORD__INIT;
	CHECK_EQ_INT(traction_publish(NULL, &r, 1), TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_EQ_INT(traction_publish(p, NULL, 1), TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_EQ_INT(traction_publish(p, &r, 1), 0);
	CHECK_EQ_INT(traction_publisher_pending(p), 1);
	CHECK_EQ_INT(traction_publisher_flush(p, 100), TRACTION__V1__CODE__DEADLINE_EXCEEDED);
	CHECK_EQ_INT(traction_publisher_poll(NULL, 10), 0);
	CHECK_EQ_INT(traction_publisher_flush(NULL, 10), TRACTION__V1__CODE__INVALID_ARGUMENT);
	CHECK_EQ_INT(traction_publisher_pending(NULL), 0);
	traction_publisher_destroy(&p);
	CHECK(p == NULL);
	traction_publisher_destroy(&p);
	traction_publisher_destroy(NULL);
}

TEST(names)
{
	CHECK_STR(traction_code_name(TRACTION__V1__CODE__NOT_FOUND), "NOT_FOUND");
	CHECK_STR(traction_code_name(9999), "UNKNOWN");
	CHECK(traction_version()[0] != '\0');
}

int main(void)
{
	RUN(client_set_up);
	RUN(call);
	RUN(publisher);
	RUN(names);
	DONE();
}
