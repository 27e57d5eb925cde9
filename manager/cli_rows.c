/*
 * cli_rows.c — the rows `ztierctl status` and `metrics` show.
 *
 * Works without the daemon: every zram device (sysfs, zramctl-glue), every
 * ublk device with its server's stats file (ublk/ztublk.h), swap priorities
 * from /proc/swaps.  When ztierd answers, its stacks add the stack name, its
 * state (degraded, waiting, failed...) and the reason, and stacks that have
 * no device yet appear as rows named "-".
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manager/cli_status.h"
#include "ublk/ztublk.h"
#include "zramctl-glue/zramctl_glue.h"

/* Priority of dev in /proc/swaps, or CLI_NA when it is not swap. */
static int64_t swap_priority(const char *dev)
{
	FILE *f = fopen("/proc/swaps", "re");
	char line[512], name[256];
	long long prio;
	int64_t r = CLI_NA;

	if (!f)
		return CLI_NA;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%255s %*s %*s %*s %lld", name, &prio) == 2 && !strcmp(name, dev))
			r = prio;
	fclose(f);
	return r;
}

static bool is_mounted(const char *dev)
{
	FILE *f = fopen("/proc/self/mounts", "re");
	char line[1024], name[256];
	bool r = false;

	if (!f)
		return false;
	while (!r && fgets(line, sizeof(line), f))
		r = sscanf(line, "%255s", name) == 1 && !strcmp(name, dev);
	fclose(f);
	return r;
}

static int64_t read_u64(const char *path)
{
	FILE *f = fopen(path, "re");
	unsigned long long v;
	int n;

	if (!f)
		return CLI_NA;
	n = fscanf(f, "%llu", &v);
	fclose(f);
	return n == 1 ? (int64_t)v : CLI_NA;
}

static void use_state(struct cli_row *r, const char *fallback)
{
	char dev[48];

	snprintf(dev, sizeof(dev), "/dev/%s", r->name);
	r->prio = swap_priority(dev);
	snprintf(r->state, sizeof(r->state), "%s",
		 r->prio != CLI_NA ? "swap" : is_mounted(dev) ? "mounted" : fallback);
}

/* ---- zram -------------------------------------------------------------------- */

static void zram_row(struct cli_rows *rows, int id)
{
	struct zg_dev dev = { .id = -1 };   /* zeroed: busy_timeout_ms = default */
	struct zg_stats st;
	struct zg_algorithms al;
	char path[64];
	struct cli_row *r;

	if (zg_attach(&dev, id) || !(r = cli_rows_add(rows)))
		return;
	snprintf(r->name, sizeof(r->name), "zram%d", id);
	strcpy(r->tier, "zram");
	snprintf(path, sizeof(path), "/sys/block/zram%d/disksize", id);
	r->disksize = read_u64(path);
	if (zg_algorithms(&dev, &al) >= 0 && al.active >= 0)
		snprintf(r->algorithm, sizeof(r->algorithm), "%s", al.name[al.active]);
	if (zg_read_stats(&dev, &st) == 0 && st.mm.present) {
		r->data = (int64_t)st.mm.orig_data_size;
		r->compr = (int64_t)st.mm.compr_data_size;
		r->total = (int64_t)st.mm.mem_used_total;
		if (st.mm.same_pages != ZG_ABSENT) {
			r->pages[ZT_TIER_META] = (int64_t)st.mm.same_pages;
			r->pages[ZT_TIER_ZRAM] = r->data / ZT_PAGE_SIZE - r->pages[ZT_TIER_META];
		}
	}
	use_state(r, zg_initstate(&dev) == 1 ? "init" : "idle");
}

static int by_id(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void zram_rows(struct cli_rows *rows)
{
	DIR *d = opendir("/sys/block");
	struct dirent *e;
	int ids[256], n = 0;

	if (!d)
		return;
	while ((e = readdir(d)) && n < 256)
		if (!strncmp(e->d_name, "zram", 4) && e->d_name[4] >= '0' && e->d_name[4] <= '9')
			ids[n++] = atoi(e->d_name + 4);
	closedir(d);
	qsort(ids, (size_t)n, sizeof(ids[0]), by_id);
	for (int i = 0; i < n; i++)
		zram_row(rows, ids[i]);
}

/* ---- ztier (ublk) -------------------------------------------------------------- */

static void store_fields(struct cli_row *r, const struct ztu_stats *st)
{
	r->store_bytes = (int64_t)st->store_bytes;
	r->store_mem = (int64_t)st->mem_used;
	r->compactions = (int64_t)st->compactions;
	r->compact_pages = (int64_t)st->compact_pages;
	r->compact_freed = (int64_t)st->compact_freed;
	r->fallback_reserve = (int64_t)st->fallback_reserve;
	r->fallback_limit = (int64_t)st->fallback_limit;
}

static void ublk_row(struct cli_rows *rows, int id)
{
	struct ztu_stats st;
	struct ztu_dev_info info;
	struct cli_row *r = cli_rows_add(rows);

	if (!r)
		return;
	snprintf(r->name, sizeof(r->name), "ublkb%d", id);
	strcpy(r->tier, "ztier");
	const char *kstate = ztu_dev_info(id, &info) == 0 ? ztu_state_name(info.state) : "unknown";
	if (ztu_stats_read(id, &st) == 0) {
		snprintf(r->stack, sizeof(r->stack), "%s", st.policy[0] ? st.policy : "-");
		r->disksize = (int64_t)st.size;
		int64_t held = 0;
		for (int t = ZT_TIER_META; t < ZT_TIER_COUNT; t++) {
			r->pages[t] = st.pages[t];
			held += st.pages[t];
		}
		for (int c = 0; c < ZT_CLASS_COUNT; c++)
			r->writes[c] = (int64_t)st.class_writes[c];
		r->data = held * ZT_PAGE_SIZE;
		r->compr = (int64_t)st.store_bytes +
			   (st.pages[ZT_TIER_ZRAM] + st.pages[ZT_TIER_SPILL]) * ZT_PAGE_SIZE;
		r->total = (int64_t)st.mem_used;
		store_fields(r, &st);
	}
	use_state(r, kstate);
	for (char *p = r->state; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
}

/* A device a ztier device's target made for itself (its zram tier) is not
 * a device of its own: its row says whose tier it is ("tier of ublkbN") and
 * carries that device's stack (ztu_dev_owned: the target names them). */
static void mark_zram_tier(struct cli_rows *rows, int ublk_id, const struct cli_row *owner)
{
	char names[4][ZTU_DEVNAME_MAX];
	int n = ztu_dev_owned(ublk_id, names, 4);

	for (unsigned i = 0; i < rows->n; i++) {
		struct cli_row *r = &rows->v[i];
		bool owned = false;
		for (int k = 0; k < n; k++)
			owned |= strcmp(r->name, names[k]) == 0;
		if (!owned)
			continue;
		snprintf(r->state, sizeof(r->state), "tier of ublkb%d", ublk_id);
		snprintf(r->stack, sizeof(r->stack), "%s", owner->stack);
	}
}

static void ublk_rows(struct cli_rows *rows)
{
	int ids[256];
	int n = ztu_dev_list(ids, 256);

	for (int i = 0; i < n; i++) {
		ublk_row(rows, ids[i]);
		if (rows->n)
			mark_zram_tier(rows, ids[i], &rows->v[rows->n - 1]);
	}
}

/* ---- ztierd's view -------------------------------------------------------------- */

/* A stack's line: 8 fields, and 9 of its zram maintenance when it has
 * some (daemon_maint_show.c). */
#define MAINT_FIELDS 9
struct stack_line {
	char name[ZT_NAME_MAX], kind[8], state[16], dev[64], spill[256], reason[160];
	bool maint;
	int64_t m[MAINT_FIELDS - 1];   /* last .. recompress-saved, CLI_NA: "-" */
	char lacks[160];
};

static int64_t field_num(const char *f)
{
	char *end;
	long long v = strtoll(f, &end, 10);

	return end == f || *end ? CLI_NA : (int64_t)v;
}

static int parse_stack_line(char *line, struct stack_line *s)
{
	char *f[8 + MAINT_FIELDS], *save = NULL;
	int n = 0;

	for (char *p = strtok_r(line, "\t", &save); p && n < 8 + MAINT_FIELDS;
	     p = strtok_r(NULL, "\t", &save))
		f[n++] = p;
	if (n < 8)
		return -1;
	snprintf(s->name, sizeof(s->name), "%s", f[0]);
	snprintf(s->kind, sizeof(s->kind), "%s", f[1]);
	snprintf(s->state, sizeof(s->state), "%s", f[2]);
	snprintf(s->dev, sizeof(s->dev), "%s", f[3]);
	snprintf(s->spill, sizeof(s->spill), "%s", f[4]);
	snprintf(s->reason, sizeof(s->reason), "%s", f[7]);
	if ((s->maint = n == 8 + MAINT_FIELDS)) {
		for (int i = 0; i < MAINT_FIELDS - 1; i++)
			s->m[i] = field_num(f[8 + i]);
		snprintf(s->lacks, sizeof(s->lacks), "%s", f[8 + MAINT_FIELDS - 1]);
	}
	return 0;
}

static int64_t times_page(int64_t pages)
{
	return pages == CLI_NA ? CLI_NA : pages * ZT_PAGE_SIZE;
}

static void merge_maint(struct cli_row *r, const struct stack_line *s)
{
	if (!s->maint)
		return;
	r->m_last = s->m[0];
	r->m_next = s->m[1];
	r->idle_marked = s->m[2];
	r->wb_pages = s->m[3];
	r->wb_bytes = times_page(s->m[3]);
	r->wb_today = times_page(s->m[4]);
	r->wb_left = times_page(s->m[5]);
	r->recomp_passes = s->m[6];
	r->recomp_saved = s->m[7];
	snprintf(r->m_lacks, sizeof(r->m_lacks), "%s", s->lacks);
}

static void merge_stack(struct cli_rows *rows, const struct stack_line *s)
{
	struct cli_row *r = NULL;

	for (unsigned i = 0; i < rows->n && strcmp(s->dev, "-"); i++)
		if (!strcmp(s->dev + 5, rows->v[i].name))
			r = &rows->v[i];
	if (!r) {
		if (!(r = cli_rows_add(rows)))
			return;
		snprintf(r->tier, sizeof(r->tier), "%s", s->kind);
	}
	snprintf(r->stack, sizeof(r->stack), "%s", s->name);
	snprintf(r->reason, sizeof(r->reason), "%s", s->reason);
	merge_maint(r, s);
	if (strcmp(s->state, "up") || !strcmp(r->state, "-"))
		snprintf(r->state, sizeof(r->state), "%s", s->state);
}

/* "@zswap\tENABLED\tMAX_POOL\tACTION\tNOTE" (daemon_zswap.c). */
static void parse_zswap(char *line, struct cli_zswap *z)
{
	char *f[5], *save = NULL;
	int n = 0;

	for (char *p = strtok_r(line, "\t", &save); p && n < 5; p = strtok_r(NULL, "\t", &save))
		f[n++] = p;
	if (n < 5)
		return;
	z->known = true;
	snprintf(z->enabled, sizeof(z->enabled), "%s", f[1]);
	z->max_pool_percent = field_num(f[2]) < 0 ? CLI_NA : field_num(f[2]);
	snprintf(z->action, sizeof(z->action), "%s", f[3]);
	snprintf(z->note, sizeof(z->note), "%s", f[4]);
}

static void merge_daemon(struct cli_rows *rows)
{
	char *reply = NULL, *save = NULL;

	if ((rows->daemon_err = cli_daemon_request("status\n", &reply)))
		goto out;
	rows->daemon = true;
	for (char *line = strtok_r(reply, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct stack_line s;
		if (!strncmp(line, "@zswap\t", 7))
			parse_zswap(line, &rows->zswap);
		else if (line[0] != '@' && parse_stack_line(line, &s) == 0)
			merge_stack(rows, &s);
	}
out:
	free(reply);
}

int cli_rows_gather(struct cli_rows *rows)
{
	memset(rows, 0, sizeof(*rows));
	zram_rows(rows);
	ublk_rows(rows);
	merge_daemon(rows);
	return 0;
}
