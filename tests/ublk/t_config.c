/*
 * t_config.c — a server's config: resolved once from a policy (sizes in
 * bytes, spill path, commit and swap taken over from the policy), checked,
 * and saved and loaded whole (what crash recovery persists).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/tap.h"
#include "ublk/ztublk.h"

static void policy_for_test(struct zt_policy *p)
{
	zt_policy_default(p);
	snprintf(p->name, sizeof(p->name), "t");
	p->device.size = (struct zt_size){ .ram_num = 1, .ram_den = 4 };
	p->device.mem_limit = (struct zt_size){ .bytes = 64u << 20 };
	p->rule[ZT_CLASS_TEXT].tier = ZT_TIER_ZRAM;
	snprintf(p->zram.algorithm, sizeof(p->zram.algorithm), "lz4");
	p->zram.size = (struct zt_size){ .bytes = (8u << 20) + 100 };
	snprintf(p->spill.target, sizeof(p->spill.target), "nvme-x");
	p->use.use = ZT_USE_SWAP;
}

static void test_resolved(void)
{
	static struct zt_policy p;
	static struct ztu_config c;
	uint64_t ram = zt_ram_bytes();

	policy_for_test(&p);
	ztu_config_from_policy(&c, &p);
	is_str(c.name, "t", "name taken from the policy");
	ok(ram && c.size == (ram / 4 & ~(uint64_t)4095), "ram/4 resolved to bytes");
	is_int((long long)c.mem_limit, 64ll << 20, "memory limit in bytes");
	is_int((long long)c.zram.disksize, 8ll << 20, "zram disksize: whole pages");
	is_str(c.zram.algorithm, "lz4", "zram algorithm");
	ok(ztu_config_wants_zram(&c), "a rule names zram: the tier is wanted");
	is_str(c.spill_path, "/dev/disk/by-id/nvme-x", "bare spill name under by-id");
	ok(c.commit_upfront, "swap: committed upfront (memory-commit auto)");
	p.use.use = ZT_USE_FS;
	ztu_config_from_policy(&c, &p);
	ok(!c.commit_upfront, "a file system commits on demand");
}

static void test_saved(void)
{
	static struct zt_policy p;
	static struct ztu_config c, back;
	char path[] = "/tmp/t_config.XXXXXX";
	int fd = mkstemp(path);

	policy_for_test(&p);
	ztu_config_from_policy(&c, &p);
	ok(fd >= 0 && ztu_config_save(fd, &c) == 0, "saved");
	ok(lseek(fd, 0, SEEK_SET) == 0 && ztu_config_load(fd, &back) == 0, "loaded");
	ok(memcmp(&c, &back, sizeof(c)) == 0, "read back whole");
	ok(lseek(fd, 8, SEEK_SET) == 8 && write(fd, "x", 1) == 1, "corrupt the header");
	ok(lseek(fd, 0, SEEK_SET) == 0 && ztu_config_load(fd, &back) == -EPROTO,
	   "another version or layout is refused (EPROTO)");
	close(fd);
	unlink(path);
}

static void test_checked(void)
{
	static struct zt_policy p;
	static struct ztu_config c;
	char msg[ZTU_MSG_MAX];

	policy_for_test(&p);
	ztu_config_from_policy(&c, &p);
	is_int(ztu_config_check(&c, msg, sizeof(msg)), 0, "a resolved policy passes");
	c.size += 512;
	is_int(ztu_config_check(&c, msg, sizeof(msg)), -EINVAL, "not whole pages: refused");
	ok(strstr(msg, "not a multiple of 4096") != NULL, "and said: %s", msg);
}

int main(void)
{
	test_resolved();
	test_saved();
	test_checked();
	return tap_done();
}
