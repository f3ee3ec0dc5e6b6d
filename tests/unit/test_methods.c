/*
 * The methods are declared once, in proto/'s service blocks: the naming
 * rule applied to every rpc gives exactly the wire names clients have used
 * since the first wave, and every daemon's table (handler, flags) agrees
 * with its block — a method added to one and not the other fails here (and
 * stops the daemon at start).
 */
#include "check.h"
#include "feedbackd.h"
#include "iterationd.h"
#include "methods.h"
#include "scenariod.h"
#include "supplyd.h"
#include "traction/v1/bus.pb-c.h"
#include "traction/v1/events.pb-c.h"
#include "traction/v1/feedback.pb-c.h"
#include "traction/v1/iteration.pb-c.h"
#include "traction/v1/scenario.pb-c.h"
#include "traction/v1/supply.pb-c.h"

/* The wire names of the first wave (docs/protocol.md of 2026-11-29):
 * the rule must reproduce them, in the blocks' order. */
static const struct {
	const ProtobufCServiceDescriptor *sd;
	const char *service;
	const char *methods;
} s_wire[] = {
	{ &traction__v1__supply_service__descriptor, "supply",
	  "provider.register provider.update provider.get provider.list register update retire "
	  "get list" },
	{ &traction__v1__scenario_service__descriptor, "scenario",
	  "submit update close get list match gaps" },
	{ &traction__v1__feedback_service__descriptor, "feedback",
	  "publish list stats problems regressions demands" },
	{ &traction__v1__iteration_service__descriptor, "iteration",
	  "record get list history diff" },
	{ &traction__v1__deployment_service__descriptor, "deployment",
	  "adopt upgrade advance retire get list history" },
	{ &traction__v1__daemon_service__descriptor, "daemon", "ping events.replay events.read" },
	{ &traction__v1__broker_service__descriptor, "broker", "ping status" },
};

TEST(the_rule_gives_the_first_waves_names)
{
	char buf[128], want[512];
	CHECK_EQ_INT(trc_method_wire_name("ProviderRegister", buf, sizeof(buf)), 17);
	CHECK_STR(buf, "provider.register");
	CHECK_EQ_INT(trc_method_wire_name("ProviderRegister", buf, 17), 0); /* no room for NUL */
	CHECK_EQ_INT(trc_service_wire_name("SupplyService", buf, sizeof(buf)), 6);
	CHECK_STR(buf, "supply");
	for (size_t i = 0; i < sizeof(s_wire) / sizeof(s_wire[0]); i++) {
		const ProtobufCServiceDescriptor *sd = s_wire[i].sd;
		trc_service_wire_name(sd->short_name, buf, sizeof(buf));
		CHECK_STR(buf, s_wire[i].service);
		snprintf(want, sizeof(want), "%s", s_wire[i].methods);
		char *save = NULL, *w = strtok_r(want, " ", &save);
		for (unsigned m = 0; m < sd->n_methods; m++, w = strtok_r(NULL, " ", &save)) {
			CHECK_MSG(w != NULL, "%s has more rpcs than the wire had", sd->name);
			trc_method_wire_name(sd->methods[m].name, buf, sizeof(buf));
			CHECK_STR(buf, w);
		}
		CHECK_MSG(w == NULL, "%s lacks '%s'", sd->name, w);
	}
}

TEST(every_daemon_table_agrees_with_its_block)
{
	char err[256];
	CHECK_MSG(trc_methods_check(&traction__v1__supply_service__descriptor, supplyd_methods,
				    supplyd_n_methods, err, sizeof(err)) == 0, "%s", err);
	CHECK_MSG(trc_methods_check(&traction__v1__scenario_service__descriptor,
				    scenariod_methods, scenariod_n_methods, err, sizeof(err)) == 0,
		  "%s", err);
	CHECK_MSG(trc_methods_check(&traction__v1__feedback_service__descriptor,
				    feedbackd_methods, feedbackd_n_methods, err, sizeof(err)) == 0,
		  "%s", err);
	CHECK_MSG(trc_methods_check(&traction__v1__iteration_service__descriptor,
				    iterationd_iteration_methods, iterationd_n_iteration_methods,
				    err, sizeof(err)) == 0,
		  "%s", err);
	CHECK_MSG(trc_methods_check(&traction__v1__deployment_service__descriptor,
				    iterationd_deployment_methods, iterationd_n_deployment_methods,
				    err, sizeof(err)) == 0,
		  "%s", err);
	/* and a disagreement is found, whichever side has it */
	CHECK_EQ_INT(trc_methods_check(&traction__v1__supply_service__descriptor, supplyd_methods,
				       supplyd_n_methods - 1, err, sizeof(err)),
		     -1);
	CHECK_CONTAINS(err, "rpc List ('list') has no entry");
	CHECK_EQ_INT(trc_methods_check(&traction__v1__scenario_service__descriptor,
				       supplyd_methods, supplyd_n_methods, err, sizeof(err)),
		     -1);
	trc_method_t wrong[64];
	memcpy(wrong, feedbackd_methods, sizeof(wrong[0]) * feedbackd_n_methods);
	wrong[0].reply = &traction__v1__stats_reply__descriptor;
	CHECK_EQ_INT(trc_methods_check(&traction__v1__feedback_service__descriptor, wrong,
				       feedbackd_n_methods, err, sizeof(err)),
		     -1);
	CHECK_CONTAINS(err, "'publish' takes traction.v1.PublishRequest and answers "
			    "traction.v1.StatsReply in the table");
	wrong[feedbackd_n_methods] = feedbackd_methods[1];
	wrong[0] = feedbackd_methods[0];
	CHECK_EQ_INT(trc_methods_check(&traction__v1__feedback_service__descriptor, wrong,
				       feedbackd_n_methods + 1, err, sizeof(err)),
		     -1);
	CHECK_CONTAINS(err, "'list' is in the table twice");
}

int main(void)
{
	RUN(the_rule_gives_the_first_waves_names);
	RUN(every_daemon_table_agrees_with_its_block);
	DONE();
}
