/*
 * list.c — `ztier-ublk list`: every ublk device, from any process.
 *
 * The kernel's view (GET_DEV_INFO: queues, depth, state, server pid, flags)
 * in kublk's two-line format, then the server's statistics from its shared
 * file when it has one (a device whose server is gone shows only the kernel
 * line).  --json prints the same as one array, one object per device.
 * A device with a zram tier also shows that kernel device's own mm_stat
 * (tier_zram.c), read live from sysfs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ublk/tier_zram.h"
#include "ublk/ztublk.h"

#define MAX_DEVS 256

static void print_stats_text(FILE *o, const struct ztu_stats *s)
{
	fprintf(o, "\ttarget %s policy %s size %llu\n", s->target, s->policy,
		(unsigned long long)s->size);
	fprintf(o, "\tpages meta %lld store %lld zram %lld spill %lld\n",
		(long long)s->pages[ZT_TIER_META], (long long)s->pages[ZT_TIER_STORE],
		(long long)s->pages[ZT_TIER_ZRAM], (long long)s->pages[ZT_TIER_SPILL]);
	fprintf(o, "\twrites samefill %llu text %llu mixed %llu random %llu\n",
		(unsigned long long)s->class_writes[ZT_CLASS_SAMEFILL],
		(unsigned long long)s->class_writes[ZT_CLASS_TEXT],
		(unsigned long long)s->class_writes[ZT_CLASS_MIXED],
		(unsigned long long)s->class_writes[ZT_CLASS_RANDOM]);
	fprintf(o, "\tstore pages %llu bytes %llu mem_used %llu mem_limit %llu\n",
		(unsigned long long)s->store_pages, (unsigned long long)s->store_bytes,
		(unsigned long long)s->mem_used, (unsigned long long)s->mem_limit);
	fprintf(o, "\tspill slots %llu/%llu\n", (unsigned long long)s->spill_slots_used,
		(unsigned long long)s->spill_slots_total);
	fprintf(o, "\trequests read %llu write %llu flush %llu discard %llu "
		"write_zeroes %llu errors %llu enospc %llu\n",
		(unsigned long long)s->reads, (unsigned long long)s->writes,
		(unsigned long long)s->flushes, (unsigned long long)s->discards,
		(unsigned long long)s->write_zeroes, (unsigned long long)s->errors,
		(unsigned long long)s->enospc);
}

static void print_text(FILE *o, const struct ztu_dev_info *i, const struct ztu_stats *s)
{
	fprintf(o, "dev id %d: nr_hw_queues %u queue_depth %u block size 512 dev_capacity %llu\n",
		i->dev_id, i->queues, i->depth, (unsigned long long)(i->size >> 9));
	fprintf(o, "\tmax rq size %u daemon pid %d flags 0x%llx state %s\n",
		i->max_io_buf_bytes, i->pid, (unsigned long long)i->flags,
		ztu_state_name(i->state));
	if (s) {
		print_stats_text(o, s);
		ztu_zram_print(o, i->dev_id, false);
	}
}

static void print_json_stats(FILE *o, const struct ztu_stats *s)
{
	fprintf(o, ",\"target\":\"%s\",\"policy\":\"%s\",\"size\":%llu", s->target,
		s->policy, (unsigned long long)s->size);
	fprintf(o, ",\"pages\":{\"meta\":%lld,\"store\":%lld,\"zram\":%lld,\"spill\":%lld}",
		(long long)s->pages[ZT_TIER_META], (long long)s->pages[ZT_TIER_STORE],
		(long long)s->pages[ZT_TIER_ZRAM], (long long)s->pages[ZT_TIER_SPILL]);
	fprintf(o, ",\"writes\":{\"samefill\":%llu,\"text\":%llu,\"mixed\":%llu,\"random\":%llu}",
		(unsigned long long)s->class_writes[ZT_CLASS_SAMEFILL],
		(unsigned long long)s->class_writes[ZT_CLASS_TEXT],
		(unsigned long long)s->class_writes[ZT_CLASS_MIXED],
		(unsigned long long)s->class_writes[ZT_CLASS_RANDOM]);
	fprintf(o, ",\"store_pages\":%llu,\"store_bytes\":%llu,\"mem_used\":%llu,"
		"\"mem_limit\":%llu,\"spill_slots_used\":%llu,\"spill_slots_total\":%llu",
		(unsigned long long)s->store_pages, (unsigned long long)s->store_bytes,
		(unsigned long long)s->mem_used, (unsigned long long)s->mem_limit,
		(unsigned long long)s->spill_slots_used,
		(unsigned long long)s->spill_slots_total);
	fprintf(o, ",\"requests\":{\"read\":%llu,\"write\":%llu,\"flush\":%llu,"
		"\"discard\":%llu,\"write_zeroes\":%llu,\"errors\":%llu,\"enospc\":%llu}",
		(unsigned long long)s->reads, (unsigned long long)s->writes,
		(unsigned long long)s->flushes, (unsigned long long)s->discards,
		(unsigned long long)s->write_zeroes, (unsigned long long)s->errors,
		(unsigned long long)s->enospc);
}

static void print_json(FILE *o, const struct ztu_dev_info *i, const struct ztu_stats *s,
		       bool first)
{
	fprintf(o, "%s{\"id\":%d,\"node\":\"/dev/ublkb%d\",\"state\":\"%s\",\"pid\":%d,"
		"\"queues\":%u,\"depth\":%u,\"max_io_buf_bytes\":%u,\"flags\":%llu,"
		"\"capacity\":%llu",
		first ? "" : ",", i->dev_id, i->dev_id, ztu_state_name(i->state), i->pid,
		i->queues, i->depth, i->max_io_buf_bytes, (unsigned long long)i->flags,
		(unsigned long long)i->size);
	if (s) {
		print_json_stats(o, s);
		ztu_zram_print(o, i->dev_id, true);
	}
	fputs("}", o);
}

int ztu_list_print(FILE *o, bool json)
{
	int ids[MAX_DEVS], n = ztu_dev_list(ids, MAX_DEVS), shown = 0;

	if (n < 0)
		return n;
	if (json)
		fputs("[", o);
	for (int k = 0; k < n; k++) {
		struct ztu_dev_info info;
		struct ztu_stats st;
		bool have;

		if (ztu_dev_info(ids[k], &info) < 0)
			continue;
		have = ztu_stats_read(ids[k], &st) == 0;
		if (json)
			print_json(o, &info, have ? &st : NULL, shown == 0);
		else
			print_text(o, &info, have ? &st : NULL);
		shown++;
	}
	if (json)
		fputs("]\n", o);
	return 0;
}
