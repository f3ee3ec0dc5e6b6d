/*
 * libFuzzer: the configuration parser. Any text gives 0 or a clear error,
 * never a crash, and a parsed configuration dumps and parses again.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	trc_config_t cfg;
	char err[512];
	trc_config_defaults(&cfg);
	if (trc_config_parse(&cfg, "fuzz", (const char *)data, size, err, sizeof(err)) != 0)
		return 0;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	trc_config_dump(&cfg, f);
	fclose(f);
	trc_config_t again;
	trc_config_defaults(&again);
	if (trc_config_parse(&again, "dump", text, len, err, sizeof(err)) != 0 ||
	    memcmp(&cfg, &again, sizeof(cfg)) != 0)
		abort(); /* what we dump must read back the same */
	free(text);
	return 0;
}
