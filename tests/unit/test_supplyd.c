/* SPDX-License-Identifier: Apache-2.0 */
/*
 * traction-supplyd's handlers on a real store: providers and supplies,
 * every validation error naming its field, references, duplicates, update
 * masks, retirement, the events written with each change, and list
 * filters with cursor pagination that stays correct while records are
 * added.
 */
#include "check.h"
#include "error.h"
#include "henv.h"
#include "supplyd.h"
#include "traction/v1/common.pb-c.h"
#include "traction/v1/supply.pb-c.h"

static henv_t E;

static int add_provider(const char *id, const char *name, int kind)
{
	Traction__V1__Provider p = TRACTION__V1__PROVIDER__INIT;
	Traction__V1__ProviderRegisterRequest req = TRACTION__V1__PROVIDER_REGISTER_REQUEST__INIT;
	Traction__V1__ProviderReply rep;
	p.id = (char *)id;
	p.name = (char *)name;
	p.kind = kind;
	req.provider = &p;
	return henv_call(&E, supplyd_provider_register, true, &req, &rep,
			 &traction__v1__provider_reply__descriptor);
}

static int add_supply(const char *id, const char *provider, int kind, char **caps, size_t ncaps)
{
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	Traction__V1__SupplyRegisterRequest req = TRACTION__V1__SUPPLY_REGISTER_REQUEST__INIT;
	Traction__V1__SupplyReply rep;
	s.id = (char *)id;
	s.provider_id = (char *)provider;
	s.kind = kind;
	s.name = (char *)"A supply";
	s.capabilities = caps;
	s.n_capabilities = ncaps;
	s.initial_version = (char *)"1.0";
	req.supply = &s;
	return henv_call(&E, supplyd_supply_register, true, &req, &rep,
			 &traction__v1__supply_reply__descriptor);
}

#define KIND_ALGO TRACTION__V1__SUPPLY_KIND__SUPPLY_INDUSTRIAL_ALGORITHM
#define KIND_CHIP TRACTION__V1__SUPPLY_KIND__SUPPLY_CHIP

TEST(providers)
{
	CHECK_EQ_INT(add_provider("acme", "Acme Vision", 1), 0);
	CHECK_EQ_INT(E.nevents, 1);
	CHECK_STR(E.event_type[0], "provider.registered");

	CHECK_EQ_INT(add_provider("acme", "Again", 1), TRC_EEXIST);
	CHECK_STR(E.call.message, "provider.id: 'acme' is already registered");
	CHECK_EQ_INT(add_provider("-bad", "x", 1), TRC_EINVAL);
	CHECK_CONTAINS(E.call.message, "provider.id: must be 1-64 characters");
	CHECK_EQ_INT(add_provider("ok", "", 1), TRC_EINVAL);
	CHECK_STR(E.call.message, "provider.name: required");
	CHECK_EQ_INT(add_provider("ok", "x", 99), TRC_EINVAL);
	CHECK_STR(E.call.message, "provider.kind: 99 is not a traction.v1.ProviderKind");
	CHECK_EQ_INT(add_provider("ok", "x", 0), TRC_EINVAL);
	CHECK_STR(E.call.message, "provider.kind: required");
	CHECK_EQ_INT(add_provider("ok", "bad \xff utf8", 1), TRC_EINVAL);
	CHECK_STR(E.call.message, "provider.name: not valid UTF-8");
	char longname[300];
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK_EQ_INT(add_provider("ok", longname, 1), TRC_EINVAL);
	CHECK_STR(E.call.message, "provider.name: at most 200 bytes, got 299");
	CHECK_EQ_INT(E.nevents, 1); /* refusals write no events */

	/* update through a mask */
	Traction__V1__Provider p = TRACTION__V1__PROVIDER__INIT;
	Traction__V1__ProviderUpdateRequest up = TRACTION__V1__PROVIDER_UPDATE_REQUEST__INIT;
	Traction__V1__ProviderReply rep;
	char *mask[] = { (char *)"contact" };
	p.id = (char *)"acme";
	p.name = (char *)"ignored: not in the mask";
	p.contact = (char *)"ops@acme.example";
	up.provider = &p;
	up.update_mask = mask;
	up.n_update_mask = 1;
	CHECK_EQ_INT(henv_call(&E, supplyd_provider_update, true, &up, &rep,
			       &traction__v1__provider_reply__descriptor),
		     0);
	CHECK_STR(rep.provider->name, "Acme Vision");
	CHECK_STR(rep.provider->contact, "ops@acme.example");
	char *bad[] = { (char *)"colour" };
	up.update_mask = bad;
	CHECK_EQ_INT(henv_call(&E, supplyd_provider_update, true, &up, &rep,
			       &traction__v1__provider_reply__descriptor),
		     TRC_EINVAL);
	CHECK_CONTAINS(E.call.message, "update_mask: unknown field 'colour'");

	Traction__V1__IdRequest get = TRACTION__V1__ID_REQUEST__INIT;
	get.id = (char *)"nobody";
	CHECK_EQ_INT(henv_call(&E, supplyd_provider_get, false, &get, &rep,
			       &traction__v1__provider_reply__descriptor),
		     TRC_ENOENT);
	CHECK_STR(E.call.message, "id: no provider 'nobody'");
	CHECK_EQ_INT(add_provider("globex", "Globex Chips", 2), 0);
	henv_reset(&E);
}

TEST(supplies_validation_and_references)
{
	char *caps[] = { (char *)"defect-detection", (char *)"visual-inspection" };
	CHECK_EQ_INT(add_supply("defect-vision", "nope", KIND_ALGO, caps, 2), TRC_ENOENT);
	CHECK_STR(E.call.message, "supply.provider_id: no provider 'nope'");
	char *dup[] = { (char *)"a", (char *)"a" };
	CHECK_EQ_INT(add_supply("x", "acme", KIND_ALGO, dup, 2), TRC_EINVAL);
	CHECK_STR(E.call.message, "supply.capabilities: 'a' appears twice");
	char *badcap[] = { (char *)"has space" };
	CHECK_EQ_INT(add_supply("x", "acme", KIND_ALGO, badcap, 1), TRC_EINVAL);
	CHECK_CONTAINS(E.call.message, "supply.capabilities[0]: must be");
	CHECK_EQ_INT(add_supply("x", "acme", 9, caps, 2), TRC_EINVAL);
	CHECK_STR(E.call.message, "supply.kind: 9 is not a traction.v1.SupplyKind");

	size_t before = E.nevents;
	CHECK_EQ_INT(add_supply("defect-vision", "acme", KIND_ALGO, caps, 2), 0);
	CHECK_EQ_INT(E.nevents, before + 1);
	CHECK_STR(E.event_type[before], "supply.registered");
	CHECK_EQ_INT(add_supply("defect-vision", "acme", KIND_ALGO, caps, 2), TRC_EEXIST);
	CHECK_STR(E.call.message, "supply.id: 'defect-vision' is already registered");

	Traction__V1__IdRequest get = TRACTION__V1__ID_REQUEST__INIT;
	Traction__V1__SupplyReply rep;
	get.id = (char *)"defect-vision";
	CHECK_EQ_INT(henv_call(&E, supplyd_supply_get, false, &get, &rep,
			       &traction__v1__supply_reply__descriptor),
		     0);
	CHECK_EQ_INT(rep.supply->status, TRACTION__V1__SUPPLY_STATUS__SUPPLY_ACTIVE);
	CHECK_STR(rep.supply->initial_version, "1.0");
	CHECK_EQ_INT(rep.supply->created_ms, E.now_ms);
	henv_reset(&E);
}

static size_t list_all(Traction__V1__SupplyListRequest *req, char ids[][16], size_t max,
		       int *pages)
{
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	Traction__V1__SupplyListReply rep;
	size_t n = 0;
	char cursor[80] = "";
	page.limit = 7;
	req->page = &page;
	*pages = 0;
	do {
		page.cursor = cursor;
		CHECK_EQ_INT(henv_call(&E, supplyd_supply_list, false, req, &rep,
				       &traction__v1__supply_list_reply__descriptor),
			     0);
		(*pages)++;
		for (size_t i = 0; i < rep.n_supplies && n < max; i++)
			snprintf(ids[n++], 16, "%s", rep.supplies[i]->id);
		snprintf(cursor, sizeof(cursor), "%s", rep.next_cursor ? rep.next_cursor : "");
		henv_reset(&E);
	} while (cursor[0] != '\0');
	req->page = NULL; /* it pointed at this function's page */
	return n;
}

TEST(list_filters_and_pagination)
{
	char *vision[] = { (char *)"visual-inspection" };
	char *edge[] = { (char *)"edge-deployment" };
	char id[16];
	for (int i = 0; i < 20; i++) {
		snprintf(id, sizeof(id), "s%02d", i * 2);
		CHECK_EQ_INT(add_supply(id, i % 2 ? "globex" : "acme", i % 3 ? KIND_ALGO : KIND_CHIP,
					i % 2 ? vision : edge, 1),
			     0);
	}
	/* all 21 (with defect-vision), 7 a page */
	Traction__V1__SupplyListRequest req = TRACTION__V1__SUPPLY_LIST_REQUEST__INIT;
	char ids[64][16];
	int pages;
	CHECK_EQ_INT(list_all(&req, ids, 64, &pages), 21);
	CHECK_EQ_INT(pages, 3);
	CHECK_STR(ids[0], "defect-vision");
	CHECK_STR(ids[20], "s38");

	/* filters: by provider (index), by capability (index), by kind */
	req.provider_id = (char *)"globex";
	CHECK_EQ_INT(list_all(&req, ids, 64, &pages), 10);
	CHECK_STR(ids[0], "s02");
	req.provider_id = NULL;
	req.capability = (char *)"visual-inspection";
	CHECK_EQ_INT(list_all(&req, ids, 64, &pages), 11); /* ten + defect-vision */
	req.capability = NULL;
	req.kind = KIND_CHIP;
	CHECK_EQ_INT(list_all(&req, ids, 64, &pages), 7);
	req.kind = 42;
	Traction__V1__SupplyListReply rep;
	CHECK_EQ_INT(henv_call(&E, supplyd_supply_list, false, &req, &rep,
			       &traction__v1__supply_list_reply__descriptor),
		     TRC_EINVAL);
	CHECK_STR(E.call.message, "kind: 42 is not a traction.v1.SupplyKind");
	req.kind = 0;

	/* adding while paging: a record before the cursor is not seen, one
	 * after it is, and nothing repeats */
	Traction__V1__PageRequest page = TRACTION__V1__PAGE_REQUEST__INIT;
	page.limit = 7;
	page.cursor = (char *)"";
	req.page = &page;
	CHECK_EQ_INT(henv_call(&E, supplyd_supply_list, false, &req, &rep,
			       &traction__v1__supply_list_reply__descriptor),
		     0);
	char cursor[32];
	snprintf(cursor, sizeof(cursor), "%s", rep.next_cursor);
	CHECK_STR(cursor, "s10");
	henv_reset(&E);
	CHECK_EQ_INT(add_supply("s03", "acme", KIND_ALGO, edge, 1), 0);  /* before */
	CHECK_EQ_INT(add_supply("s99", "acme", KIND_ALGO, edge, 1), 0);  /* after */
	CHECK_EQ_INT(add_supply("s11", "acme", KIND_ALGO, edge, 1), 0);  /* just after */
	size_t seen = 0;
	bool s03 = false, s99 = false, s11 = false;
	page.cursor = cursor;
	for (;;) {
		CHECK_EQ_INT(henv_call(&E, supplyd_supply_list, false, &req, &rep,
				       &traction__v1__supply_list_reply__descriptor),
			     0);
		for (size_t i = 0; i < rep.n_supplies; i++) {
			CHECK(strcmp(rep.supplies[i]->id, "s10") > 0);
			s03 |= strcmp(rep.supplies[i]->id, "s03") == 0;
			s99 |= strcmp(rep.supplies[i]->id, "s99") == 0;
			s11 |= strcmp(rep.supplies[i]->id, "s11") == 0;
			seen++;
		}
		if (rep.next_cursor == NULL || rep.next_cursor[0] == '\0')
			break;
		snprintf(cursor, sizeof(cursor), "%s", rep.next_cursor);
		henv_reset(&E);
	}
	CHECK(!s03 && s99 && s11);
	CHECK_EQ_INT(seen, 14 + 2); /* s12..s38 and the two added after */
	page.cursor = (char *)"not a cursor!";
	CHECK_EQ_INT(henv_call(&E, supplyd_supply_list, false, &req, &rep,
			       &traction__v1__supply_list_reply__descriptor),
		     TRC_EINVAL);
	CHECK_CONTAINS(E.call.message, "page.cursor");
	henv_reset(&E);
}

TEST(update_and_retire)
{
	Traction__V1__Supply s = TRACTION__V1__SUPPLY__INIT;
	Traction__V1__SupplyUpdateRequest up = TRACTION__V1__SUPPLY_UPDATE_REQUEST__INIT;
	Traction__V1__SupplyReply rep;
	char *caps[] = { (char *)"thermal-imaging" };
	char *mask[] = { (char *)"capabilities" };
	s.id = (char *)"s00";
	s.capabilities = caps;
	s.n_capabilities = 1;
	up.supply = &s;
	up.update_mask = mask;
	up.n_update_mask = 1;
	CHECK_EQ_INT(henv_call(&E, supplyd_supply_update, true, &up, &rep,
			       &traction__v1__supply_reply__descriptor),
		     0);
	CHECK_STR(rep.supply->name, "A supply"); /* untouched */
	CHECK_STR(E.event_type[E.nevents - 1], "supply.updated");

	/* the capability index follows */
	Traction__V1__SupplyListRequest lr = TRACTION__V1__SUPPLY_LIST_REQUEST__INIT;
	Traction__V1__SupplyListReply lrep;
	lr.capability = (char *)"thermal-imaging";
	CHECK_EQ_INT(henv_call(&E, supplyd_supply_list, false, &lr, &lrep,
			       &traction__v1__supply_list_reply__descriptor),
		     0);
	CHECK_EQ_INT(lrep.n_supplies, 1);
	lr.capability = (char *)"edge-deployment";
	CHECK_EQ_INT(henv_call(&E, supplyd_supply_list, false, &lr, &lrep,
			       &traction__v1__supply_list_reply__descriptor),
		     0);
	for (size_t i = 0; i < lrep.n_supplies; i++)
		CHECK(strcmp(lrep.supplies[i]->id, "s00") != 0);

	Traction__V1__SupplyRetireRequest rr = TRACTION__V1__SUPPLY_RETIRE_REQUEST__INIT;
	rr.id = (char *)"s00";
	rr.reason = (char *)"superseded";
	CHECK_EQ_INT(henv_call(&E, supplyd_supply_retire, true, &rr, &rep,
			       &traction__v1__supply_reply__descriptor),
		     0);
	CHECK_EQ_INT(rep.supply->status, TRACTION__V1__SUPPLY_STATUS__SUPPLY_RETIRED);
	CHECK_STR(E.event_type[E.nevents - 1], "supply.retired");
	CHECK_EQ_INT(henv_call(&E, supplyd_supply_retire, true, &rr, &rep,
			       &traction__v1__supply_reply__descriptor),
		     TRC_EPRECOND);
	CHECK_STR(E.call.message, "id: 's00' is already retired");
	CHECK_EQ_INT(henv_call(&E, supplyd_supply_update, true, &up, &rep,
			       &traction__v1__supply_reply__descriptor),
		     TRC_EPRECOND);
	lr.capability = NULL;
	lr.status = TRACTION__V1__SUPPLY_STATUS__SUPPLY_RETIRED;
	CHECK_EQ_INT(henv_call(&E, supplyd_supply_list, false, &lr, &lrep,
			       &traction__v1__supply_list_reply__descriptor),
		     0);
	CHECK_EQ_INT(lrep.n_supplies, 1);
	CHECK_STR(lrep.supplies[0]->retired_reason, "superseded");
	henv_reset(&E);
}

int main(void)
{
	henv_open(&E, check_tmpdir("trc-supplyd"), &supplyd_dbs, "supply");
	RUN(providers);
	RUN(supplies_validation_and_references);
	RUN(list_filters_and_pagination);
	RUN(update_and_retire);
	henv_close(&E);
	DONE();
}
