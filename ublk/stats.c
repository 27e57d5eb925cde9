/*
 * stats.c — the shared statistics file of a ublk server (see stats.h).
 *
 * /run/ztier/ublk/ID.stats is created by the server (mode 0644), sized to one
 * struct ztu_stats_shm and mapped MAP_SHARED; the server unlinks it when it
 * stops.  ztu_stats_read() maps it read-only and folds the per-queue blocks
 * into one struct ztu_stats.  A file whose pid is gone is stale: reported as
 * -ESRCH so `list` can say "no server".
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ublk/stats.h"

static void stats_path(int dev_id, char *buf, size_t len)
{
	snprintf(buf, len, ZTU_RUN_DIR "/%d.stats", dev_id);
}

static int mkdir_p(const char *dir)
{
	char tmp[256];
	snprintf(tmp, sizeof(tmp), "%s", dir);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

struct ztu_stats_shm *ztu_stats_create(int dev_id, int *err)
{
	char path[128];
	struct ztu_stats_shm *shm;
	int fd;

	*err = mkdir_p(ZTU_RUN_DIR);
	if (*err)
		return NULL;
	stats_path(dev_id, path, sizeof(path));
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || ftruncate(fd, sizeof(*shm)) < 0) {
		*err = -errno;
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	shm = mmap(NULL, sizeof(*shm), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (shm == MAP_FAILED) {
		*err = -errno;
		return NULL;
	}
	shm->magic = ZTU_STATS_MAGIC;
	shm->version = ZTU_STATS_VERSION;
	shm->dev_id = dev_id;
	shm->pid = getpid();
	return shm;
}

void ztu_stats_remove(int dev_id, struct ztu_stats_shm *shm)
{
	char path[128];

	if (shm)
		munmap(shm, sizeof(*shm));
	stats_path(dev_id, path, sizeof(path));
	unlink(path);
}

static void fold_queue(struct ztu_stats *o, const struct ztu_qstats *q)
{
	for (int t = 0; t < ZT_TIER_COUNT; t++)
		o->pages[t] += ztu_ctr_get(&q->pages[t]);
	for (int c = 0; c < ZT_CLASS_COUNT; c++)
		o->class_writes[c] += ztu_ctr_get(&q->class_writes[c]);
	o->reads += ztu_ctr_get(&q->reads);
	o->writes += ztu_ctr_get(&q->writes);
	o->discards += ztu_ctr_get(&q->discards);
	o->flushes += ztu_ctr_get(&q->flushes);
	o->write_zeroes += ztu_ctr_get(&q->write_zeroes);
	o->errors += ztu_ctr_get(&q->errors);
	o->enospc += ztu_ctr_get(&q->enospc);
	o->store_pages += ztu_ctr_get(&q->store_pages);
	o->store_bytes += ztu_ctr_get(&q->store_bytes);
	o->demoted += ztu_ctr_get(&q->demoted);
	o->demoted_bytes += ztu_ctr_get(&q->demoted_bytes);
	o->promoted += ztu_ctr_get(&q->promoted);
	o->zc_reads += ztu_ctr_get(&q->zc_reads);
}

static void fold(struct ztu_stats *o, const struct ztu_stats_shm *s)
{
	memset(o, 0, sizeof(*o));
	o->dev_id = s->dev_id;
	o->pid = s->pid;
	memcpy(o->target, s->target, sizeof(o->target) - 1);
	memcpy(o->policy, s->policy, sizeof(o->policy) - 1);
	o->size = s->size;
	for (unsigned i = 0; i < s->nr_queues && i < ZTU_MAX_QUEUES; i++)
		fold_queue(o, &s->q[i]);
	fold_queue(o, &s->hk);
	o->demote_age = ztu_ctr_get(&s->demote_age);
	o->demote_budget_left = ztu_ctr_get(&s->demote_budget_left);
	o->mem_used = ztu_ctr_get(&s->mem_used);
	o->mem_limit = ztu_ctr_get(&s->mem_limit);
	o->mem_in_use = ztu_ctr_get(&s->mem_in_use);
	o->mem_reserve = ztu_ctr_get(&s->mem_reserve);
	o->mem_meta = ztu_ctr_get(&s->mem_meta);
	o->fallback_reserve = ztu_ctr_get(&s->fallback_reserve);
	o->fallback_limit = ztu_ctr_get(&s->fallback_limit);
	o->compactions = ztu_ctr_get(&s->compactions);
	o->compact_pages = ztu_ctr_get(&s->compact_pages);
	o->compact_bytes = ztu_ctr_get(&s->compact_bytes);
	o->compact_freed = ztu_ctr_get(&s->compact_freed);
	o->compact_raced = ztu_ctr_get(&s->compact_raced);
	o->spill_slots_used = ztu_ctr_get(&s->spill_used);
	o->spill_slots_total = ztu_ctr_get(&s->spill_total);
}

bool ztu_stats_dead(const struct ztu_stats_shm *s)
{
	return kill(s->pid, 0) < 0 && errno == ESRCH;
}

int ztu_stats_map(int dev_id, const struct ztu_stats_shm **out, bool dead_ok)
{
	char path[128];
	const struct ztu_stats_shm *s;
	struct stat st;
	int fd, ret = 0;

	stats_path(dev_id, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || (size_t)st.st_size < sizeof(*s)) {
		close(fd);
		return -ENODATA;
	}
	s = mmap(NULL, sizeof(*s), PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (s == MAP_FAILED)
		return -errno;
	if (s->magic != ZTU_STATS_MAGIC || s->version != ZTU_STATS_VERSION)
		ret = -EPROTO;
	else if (!dead_ok && ztu_stats_dead(s))
		ret = -ESRCH;
	if (ret)
		ztu_stats_unmap(s);
	else
		*out = s;
	return ret;
}

void ztu_stats_unmap(const struct ztu_stats_shm *s)
{
	munmap((void *)s, sizeof(*s));
}

int ztu_stats_read(int dev_id, struct ztu_stats *out)
{
	const struct ztu_stats_shm *s;
	int ret = ztu_stats_map(dev_id, &s, false);

	if (ret)
		return ret;
	fold(out, s);
	ztu_stats_unmap(s);
	return 0;
}
