/*
 * t_list.c — `ztier-ublk list` rendering: one section, as the text line the
 * VM scripts parse (tests/vm/ublk-lib.sh stats, zram-suite.sh zstats) and
 * as the JSON member, from the same fields; and a whole device's sections
 * from a stats file (as root: /run/ztier/ublk), line by line as the VM
 * scripts read them.  The renderer belongs to the program, not the library,
 * so it is compiled in here.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"
#include "ublk/cli_list.c"
#include "ublk/srv.h"
#include "ublk/stats.h"
#include "ublk/tier_zram.h"

static const char *render(const struct ztu_section *s, bool json)
{
	static char buf[1024];
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	ztu_cli_section(f, s, json);
	fclose(f);
	return buf;
}

#define FAKE_ID 4093              /* a ublk id no test VM reaches */

static void fill(struct ztu_stats_shm *shm)
{
	snprintf(shm->target, sizeof(shm->target), "tiered");
	snprintf(shm->policy, sizeof(shm->policy), "db");
	shm->size = 1 << 20;
	shm->nr_queues = 1;
	ztu_ctr_set(&shm->q[0].pages[ZT_TIER_STORE], 5);
	ztu_ctr_set(&shm->q[0].class_writes[ZT_CLASS_TEXT], 7);
	ztu_ctr_set(&shm->q[0].reads, 11);
	ztu_ctr_set(&shm->q[0].enospc, 2);
	ztu_ctr_set(&shm->q[0].store_pages, 5);
	ztu_ctr_set(&shm->mem_limit, 262144);
	ztu_ctr_set(&shm->q[0].store_bytes, 2000);
	ztu_ctr_set(&shm->mem_used, 196608);
	ztu_ctr_set(&shm->mem_in_use, 131072);
	ztu_ctr_set(&shm->mem_reserve, 65536);
	ztu_ctr_set(&shm->mem_meta, 900);
	ztu_ctr_set(&shm->fallback_reserve, 3);
	ztu_ctr_set(&shm->fallback_limit, 1);
	ztu_ctr_set(&shm->compactions, 1);
	ztu_ctr_set(&shm->compact_pages, 4);
	ztu_ctr_set(&shm->compact_bytes, 1600);
	ztu_ctr_set(&shm->compact_freed, 65536);
	ztu_ctr_set(&shm->compact_raced, 1);
	ztu_ctr_set(&shm->spill_total, 64);
	ztu_ctr_set(&shm->hk.demoted, 3);          /* the housekeeper's block */
	ztu_ctr_set(&shm->hk.demoted_bytes, 900);
	ztu_ctr_set(&shm->q[0].promoted, 1);
	ztu_ctr_set(&shm->demote_age, 7200);
	ztu_ctr_set(&shm->demote_budget_left, -1);
	ztu_ctr_set(&((struct ztu_tiered_stats *)shm->tgt)->rereads, 6);
}

/* What tests/vm/ublk-lib.sh stats() reads: these lines, these columns. */
static void test_device(void)
{
	static struct ztu_section sec[ZTU_SECTIONS_MAX];
	static char buf[4096];
	int err, n;
	struct ztu_stats_shm *shm = ztu_stats_create(FAKE_ID, &err);
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	if (!shm) {
		tap_diag("no stats file (%s): device sections not tested", strerror(-err));
		fclose(f);
		return;
	}
	fill(shm);
	n = ztu_dev_sections(FAKE_ID, sec, ZTU_SECTIONS_MAX);
	for (int k = 0; k < n; k++)
		ztu_cli_section(f, &sec[k], false);
	fclose(f);
	ztu_stats_remove(FAKE_ID, shm);
	is_int(n, 9, "eight core sections and the target's races (no zram tier)");
	is_str(buf, "\ttarget tiered policy db size 1048576\n"
	       "\tpages meta 0 store 5 zram 0 spill 0\n"
	       "\twrites samefill 0 text 7 mixed 0 random 0\n"
	       "\tstore pages 5 bytes 2000 mem_used 196608 mem_limit 262144 mem_in_use 131072 "
	       "mem_reserve 65536 mem_meta 900 fallback_reserve 3 fallback_limit 1 segments 2 "
	       "overhead_pct 9730.40 mem_per_stored 9.60\n"
	       "\tspill slots 0/64\n"
	       "\trequests read 11 write 0 flush 0 discard 0 write_zeroes 0 errors 0 enospc 2 zero_copy_pages 0\n"
	       "\tcompaction passes 1 pages 4 bytes 1600 freed 65536 raced 1\n"
	       "\tdemotion idle_age 7200 pages 3 bytes 900 promoted 1 budget_left -1\n"
	       "\traces rereads 6\n",
	       "the lines and columns the VM scripts parse");
}

/* The tiered target's block: a zram tier shows as its own section (the
 * line zram-suite.sh reads) and is named to ztierctl as owned. */
static void test_zram_block(void)
{
	static struct ztu_section sec[ZTU_SECTIONS_MAX];
	static char buf[1024];
	char names[2][ZTU_DEVNAME_MAX];
	int err, n;
	struct ztu_stats_shm *shm = ztu_stats_create(FAKE_ID, &err);
	struct ztu_tiered_stats *st = shm ? (struct ztu_tiered_stats *)shm->tgt : NULL;
	FILE *f = fmemopen(buf, sizeof(buf), "w");

	if (!shm) {
		fclose(f);
		return;
	}
	fill(shm);
	ztu_ctr_set(&st->zram_id1, 3999 + 1);      /* no such device: no mm_stat */
	ztu_ctr_set(&st->zram_used, 3);
	ztu_ctr_set(&st->zram_total, 32);
	ztu_ctr_set(&st->zram_fallbacks, 1);
	n = ztu_dev_sections(FAKE_ID, sec, ZTU_SECTIONS_MAX);
	if (n == 9)
		ztu_cli_section(f, &sec[8], false);
	fclose(f);
	is_int(n, 9, "the target adds its zram section");
	is_str(buf, "\tzram /dev/zram3999 slots 3/32 fallbacks 1 rereads 6 discarded 0 "
	       "discard batched\n", "as one line");
	is_int(ztu_dev_owned(FAKE_ID, names, 2), 1, "one device owned");
	is_str(names[0], "zram3999", "named as sysfs names it");
	ztu_stats_remove(FAKE_ID, shm);
}

int main(void)
{
	test_device();
	test_zram_block();
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
	s = (struct ztu_section){ .name = "target" };
	ztu_field_text(&s, "policy", "a\033[2Jb", false);
	is_str(render(&s, false), "\ttarget policy a\\x1b[2Jb\n",
	       "text: a control byte in a policy name is escaped");
	is_str(render(&s, true), ",\"target\":{\"policy\":\"a\\u001b[2Jb\"}",
	       "JSON: escaped as \\u001b");
	return tap_done();
}
