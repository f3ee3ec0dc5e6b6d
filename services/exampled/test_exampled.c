/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-exampled on a real broker beside a real supplyd, over real
 * sockets on ephemeral ports. It registers its service (a name the
 * broker's config does not hold: known once registered), serves add
 * and list from its own proto, emits note.added (on the bus, and in
 * its log for events.read), and consumes the supply registry's events: a
 * note about a supply is refused until that supply's registration has
 * reached it.
 */
#include <zmq.h>

#include "check.h"
#include "exampled.h"
#include "harness.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/events.pb-c.h"

static harness_t H;

static int add(traction_client_t *c, const char *supply, const char *text, uint64_t *seq,
	       traction_status_t *st)
{
	Traction__Example__V1__NoteAddRequest rq = TRACTION__EXAMPLE__V1__NOTE_ADD_REQUEST__INIT;
	Traction__Example__V1__Note *note = NULL;
	rq.supply = (char *)supply;
	rq.text = (char *)text;
	int code = traction_call(c, "note", "add", &rq.base,
				 &traction__example__v1__note__descriptor,
				 (ProtobufCMessage **)&note, st);
	if (code == 0) {
		CHECK_STR(note->supply, supply);
		CHECK_STR(note->text, text);
		*seq = note->seq;
		traction_reply_free(&note->base);
	}
	return code;
}

/* The note an event carries, checked against what was added. */
static void check_event(const Traction__V1__Event *ev, uint64_t seq, const char *text)
{
	CHECK_STR(ev->source, "note");
	CHECK_STR(ev->type, "note.added");
	CHECK_EQ_INT(ev->seq, seq);
	CHECK_EQ_INT(ev->payload_case, TRACTION__V1__EVENT__PAYLOAD_DATA);
	Traction__Example__V1__Note *n =
		traction__example__v1__note__unpack(NULL, ev->data.len, ev->data.data);
	CHECK(n != NULL);
	CHECK_STR(n->supply, "defect-vision");
	CHECK_STR(n->text, text);
	CHECK_EQ_INT(n->seq, seq);
	traction__example__v1__note__free_unpacked(n, NULL);
}

int main(void)
{
	h_init(&H, "[bus]\nheartbeat_ms = 100\n[events]\nreplay_interval_ms = 200\n");
	h_start_broker(&H, false);
	h_start(&H, "traction-supplyd", NULL);
	h_start(&H, "traction-exampled", NULL);
	/* registers */
	CHECK(h_wait_live(&H, "note", 1, 5000));
	CHECK(h_wait_live(&H, "supply", 1, 5000));
	traction_client_t *c = h_client(&H);

	void *zctx = zmq_ctx_new();
	void *sub = zmq_socket(zctx, ZMQ_SUB);
	int linger = 0, rcvtimeo = 5000;
	zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof(linger));
	zmq_setsockopt(sub, ZMQ_RCVTIMEO, &rcvtimeo, sizeof(rcvtimeo));
	zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "note.", 5);
	CHECK(zmq_connect(sub, H.sub_ep) == 0);

	/* consumes: no such supply yet, then the registry's event makes one */
	traction_status_t st;
	uint64_t seq = 0;
	CHECK_EQ_INT(add(c, "defect-vision", "too early", &seq, &st), TRACTION__V1__CODE__NOT_FOUND);
	CHECK_CONTAINS(st.message, "no supply 'defect-vision'");
	static const char *const none[] = { NULL };
	h_catalogue(c, none); /* provider acme, supply defect-vision */
	int code = -1;
	for (int i = 0; i < 200 && code != 0; i++) {
		code = add(c, "defect-vision", "glare on wet seams", &seq, &st);
		if (code != 0) {
			CHECK_MSG(code == TRACTION__V1__CODE__NOT_FOUND, "%s", st.message);
			h_sleep_ms(25);
		}
	}
	CHECK_MSG(code == 0, "the supply's event never reached exampled: %s", st.message);
	CHECK_EQ_INT(seq, 1);

	/* emits: on the bus, as it happens */
	char topic[64];
	int n = zmq_recv(sub, topic, sizeof(topic) - 1, 0);
	CHECK_MSG(n > 0, "no note.added on the event feed");
	topic[n] = '\0';
	CHECK_STR(topic, "note.added");
	zmq_msg_t m;
	zmq_msg_init(&m);
	CHECK(zmq_msg_recv(&m, sub, 0) > 0);
	Traction__V1__Event *ev =
		traction__v1__event__unpack(NULL, zmq_msg_size(&m), zmq_msg_data(&m));
	CHECK(ev != NULL);
	check_event(ev, 1, "glare on wet seams");
	traction__v1__event__free_unpacked(ev, NULL);
	zmq_msg_close(&m);

	/* serves: a second note, and both read back in order */
	CHECK_EQ_INT(add(c, "defect-vision", "fixed in 1.1", &seq, &st), 0);
	CHECK_EQ_INT(seq, 2);
	CHECK_EQ_INT(add(c, "defect-vision", "", &seq, &st), TRACTION__V1__CODE__INVALID_ARGUMENT);
	Traction__Example__V1__NoteListRequest lr = TRACTION__EXAMPLE__V1__NOTE_LIST_REQUEST__INIT;
	Traction__Example__V1__NoteListReply *list = NULL;
	lr.supply = (char *)"defect-vision";
	CHECK_EQ_INT(traction_call(c, "note", "list", &lr.base,
				   &traction__example__v1__note_list_reply__descriptor,
				   (ProtobufCMessage **)&list, &st),
		     0);
	CHECK_EQ_INT(list->n_notes, 2);
	CHECK_STR(list->notes[0]->text, "glare on wet seams");
	CHECK_STR(list->notes[1]->text, "fixed in 1.1");
	traction_reply_free(&list->base);

	/* and its event log, which the runtime serves for it */
	Traction__V1__EventsReadRequest er = TRACTION__V1__EVENTS_READ_REQUEST__INIT;
	Traction__V1__EventsReadReply *log = NULL;
	er.from_seq = 1;
	CHECK_EQ_INT(traction_call(c, "note", "events.read", &er.base,
				   &traction__v1__events_read_reply__descriptor,
				   (ProtobufCMessage **)&log, &st),
		     0);
	CHECK_EQ_INT(log->n_events, 2);
	check_event(log->events[0], 1, "glare on wet seams");
	check_event(log->events[1], 2, "fixed in 1.1");
	traction_reply_free(&log->base);

	zmq_close(sub);
	zmq_ctx_term(zctx);
	traction_client_destroy(&c);
	h_done(&H);
	printf("ok: %d checks\n", check_count_);
	return 0;
}
