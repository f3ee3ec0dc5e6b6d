/* SPDX-License-Identifier: Apache-2.0 */
/*
 * libFuzzer: the configuration parser. Any text gives 0 or a clear error,
 * never a crash, and a parsed configuration dumps and parses again. The
 * configuration is made as a daemon's is: the shared sections, a section
 * of its own with a key of every type, and the set's other sections,
 * passed over.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
	char name[32];
	char where[64];
	char dir[TRC_CONFIG_PATH];
	unsigned count;
	int level;
	char peers[TRC_CONFIG_PATH];
} own_t;

#define O(member, type, min, max, def) \
	{ #member, TRC_CONF_##type, TRC_CONF_AT(own_t, member), min, max, def, #member }
static const trc_conf_key_t s_keys[] = {
	O(name, STR, 0, 0, "x"),         O(where, ENDPOINT, 0, 0, "ipc://x"),
	O(dir, PATH, 0, 0, ""),          O(count, UINT, 1, 1000, "5"),
	O(level, LOGLEVEL, 0, 0, "info"), O(peers, NAMES, 0, 0, ""),
};
static const trc_conf_section_t s_own = { "own", s_keys, 6, sizeof(own_t) };
static const trc_conf_section_t *const s_config[] = { &s_own, NULL };
#define OTHERS "bus broker store gates gateway"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static trc_config_t cfg, again;
	char err[512];
	if (trc_config_init(&cfg, s_config, OTHERS, err, sizeof(err)) != 0)
		abort();
	if (trc_config_parse(&cfg, "fuzz", (const char *)data, size, err, sizeof(err)) != 0)
		return 0;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	trc_config_dump(&cfg, f);
	fclose(f);
	if (trc_config_init(&again, s_config, OTHERS, err, sizeof(err)) != 0 ||
	    trc_config_parse(&again, "dump", text, len, err, sizeof(err)) != 0 ||
	    memcmp(&cfg, &again, sizeof(cfg)) != 0)
		abort(); /* what we dump must read back the same */
	free(text);
	return 0;
}
