/*
 * t_policy_same.c — zt_policy_same (policy/policy_same.c): a change in any
 * section, [zram] included, makes two policies differ; where a setting was
 * made (files, lines, drop-ins) and the stale bytes a shorter value leaves
 * after its NUL do not.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "policy/policy.h"
#include "tests/tap.h"

static struct zt_policy a, b;
static char dir[] = "/tmp/t_policy_same.XXXXXX";

/* b = a with one change made by the caller; they must differ. */
#define DIFFERS(change, what) do {                                            \
		b = a;                                                        \
		change;                                                       \
		ok(!zt_policy_same(&a, &b) && !zt_policy_same(&b, &a), "%s", what); \
	} while (0)

static void test_fields(void)
{
	zt_policy_default(&a);
	zt_policy_default(&b);
	ok(zt_policy_same(&a, &b), "two defaults are the same");

	DIFFERS(b.thresholds.text_entropy = 4, "[classify] text-entropy");
	DIFFERS(b.rule[ZT_CLASS_TEXT].codec.level = 9, "[text] codec level");
	DIFFERS(b.rule[ZT_CLASS_RANDOM].fallback = ZT_TIER_SPILL, "[random] fallback");
	DIFFERS(b.device.queues = 2, "[device] queues");
	DIFFERS(b.device.commit = ZT_COMMIT_ON_DEMAND, "[device] memory-commit");
	DIFFERS(strcpy(b.zram.algorithm, "zstd"), "[zram] algorithm");
	DIFFERS(strcpy(b.zram.params, "level=3"), "[zram] params");
	DIFFERS(b.zram.size.bytes = 64 << 20, "[zram] size");
	DIFFERS(b.zram.mem_limit.ram_den = 4, "[zram] memory-limit");
	DIFFERS(strcpy(b.spill.target, "nvme-x"), "[spill] target");
	DIFFERS(b.spill.size.bytes = 1 << 30, "[spill] size");
	DIFFERS(b.use.priority = 5, "[swap] priority");
	DIFFERS(b.use.discard = false, "[swap] discard");
	DIFFERS(strcpy(b.use.mount_point, "/mnt"), "[fs] mount-point");
	DIFFERS(strcpy(b.name, "other"), "[policy] name");

	b = a;
	strcpy(b.source, "/etc/ztier/policy.d/x.conf");
	b.nfiles = 2;
	strcpy(b.files[1], "/run/ztier/policy.d/x.conf.d/10.conf");
	b.origin[ZT_KEY_ZRAM_SIZE] = (struct zt_origin){ 1, 7 };
	ok(zt_policy_same(&a, &b), "provenance (source, files, origins) does not count");

	b = a;
	snprintf(b.zram.algorithm, sizeof(b.zram.algorithm), "lzo-rle");
	snprintf(b.zram.algorithm, sizeof(b.zram.algorithm), "lz4");
	snprintf(b.spill.target, sizeof(b.spill.target), "/dev/disk/by-id/long");
	snprintf(b.spill.target, sizeof(b.spill.target), "%s", a.spill.target);
	ok(zt_policy_same(&a, &b), "bytes after a string's NUL do not count");
}

static const char *write_file(const char *name, const char *text)
{
	static char path[4][128];
	static int i;
	char *p = path[i++ % 4];
	FILE *f;

	snprintf(p, sizeof(path[0]), "%s/%s", dir, name);
	if ((f = fopen(p, "w"))) {
		fputs(text, f);
		fclose(f);
	}
	return p;
}

/* The same settings from other files, lines and a drop-in. */
static void test_loaded(void)
{
	const char *one = write_file("one.conf", "[zram]\nsize = 64M\nalgorithm = lz4\n");
	const char *two = write_file("two.conf", "# two\n[zram]\nalgorithm = lzo-rle\n\nsize = 64M\n");
	const char *drop = write_file("drop.conf", "[zram]\nalgorithm = lz4\n");
	const char *zstd = write_file("zstd.conf", "[zram]\nsize = 64M\nalgorithm = zstd\n");

	zt_policy_default(&a);
	zt_policy_default(&b);
	ok(zt_policy_load(&a, one, NULL, NULL) == 0 && zt_policy_load(&b, two, NULL, NULL) == 0 &&
	   zt_policy_load(&b, drop, NULL, NULL) == 0, "three files read");
	strcpy(b.name, a.name);       /* the name defaults to the file's */
	ok(zt_policy_same(&a, &b), "same settings from other files, lines and a drop-in");
	zt_policy_default(&b);
	ok(zt_policy_load(&b, zstd, NULL, NULL) == 0, "zstd.conf read");
	strcpy(b.name, a.name);
	ok(!zt_policy_same(&a, &b), "only [zram] algorithm differs: not the same");
	unlink(one);
	unlink(two);
	unlink(drop);
	unlink(zstd);
}

int main(void)
{
	test_fields();
	if (mkdtemp(dir)) {
		test_loaded();
		rmdir(dir);
	}
	return tap_done();
}
