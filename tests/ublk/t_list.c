/*
 * t_list.c — `ztier-ublk list` rendering: one section, as the text line the
 * VM scripts parse (tests/vm/ublk-lib.sh stats, zram-suite.sh zstats) and
 * as the JSON member, from the same fields.  The renderer belongs to the
 * program, not the library, so it is compiled in here.
 */
#include <stdlib.h>

#include "tests/tap.h"
#include "ublk/cli_list.c"
#include "ublk/srv.h"

static const char *render(const struct ztu_section *s, bool json)
{
	static char buf[1024];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	ztu_cli_section(f, s, json);
	fclose(f);
	return buf;
}

int main(void)
{
	struct ztu_section s = { .name = "zram" };

	ztu_field_text(&s, "device", "/dev/zram3", true);
	ztu_field_pair(&s, "slots", 5, 64);
	ztu_field_num(&s, "fallbacks", 2);
	ztu_field_ratio(&s, "ratio", 2.5);
	is_str(render(&s, false), "\tzram /dev/zram3 slots 5/64 fallbacks 2 ratio 2.50\n",
	       "text: label, used/total, numbers, ratios");
	is_str(render(&s, true), ",\"zram\":{\"device\":\"/dev/zram3\",\"slots_used\":5,"
	       "\"slots_total\":64,\"fallbacks\":2,\"ratio\":2.50}", "JSON: the same fields");
	s = (struct ztu_section){ .name = "target" };
	ztu_field_text(&s, "name", "tiered", true);
	ztu_field_text(&s, "policy", "a\"b", false);
	is_str(render(&s, true), ",\"target\":{\"name\":\"tiered\",\"policy\":\"a\\\"b\"}",
	       "JSON strings escaped");
	return tap_done();
}
