/*
 * t_config.c — a server's config: resolved once from a policy (sizes in
 * bytes, spill path, commit and swap taken over from the policy), checked,
 * saved and loaded as text by any later version (what crash recovery and a
 * live upgrade read), and whether a state fits it; the locked
 * request buffers of every accepted queues x depth within their budget.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/tap.h"
#include "ublk/state.h"
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

/* n bytes of a file, loaded as a config: 0 or the -errno, the message in msg. */
static int load_bytes(const char *bytes, size_t n, struct ztu_config *out, char *msg, size_t len)
{
	int fd = memfd_create("t_config", MFD_CLOEXEC);
	int ret;

	if (fd < 0 || write(fd, bytes, n) != (ssize_t)n || lseek(fd, 0, SEEK_SET) != 0)
		return -EIO;
	ret = ztu_config_load(fd, "t.config", out, msg, len);
	close(fd);
	return ret;
}

static int load_text(const char *text, struct ztu_config *out, char *msg, size_t len)
{
	return load_bytes(text, strlen(text), out, msg, len);
}

/* cfg's saved text into buf (ZT_CFG_TEXT bytes). */
#define ZT_CFG_TEXT (64u << 10)
static void saved_text(const struct ztu_config *cfg, char *buf)
{
	int fd = memfd_create("t_config", MFD_CLOEXEC);
	ssize_t n = -1;

	if (fd >= 0 && ztu_config_save(fd, cfg) == 0 && lseek(fd, 0, SEEK_SET) == 0)
		n = read(fd, buf, ZT_CFG_TEXT - 1);
	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
}

/* text with the first line that starts with key replaced by line ("" drops it). */
static void edit(char *text, const char *key, const char *line)
{
	static char out[ZT_CFG_TEXT];
	char *at = strstr(text, key), *end;

	if (!at)
		return;
	end = strchr(at, '\n') + 1;
	snprintf(out, sizeof(out), "%.*s%s%s", (int)(at - text), text, line, end);
	strcpy(text, out);
}

/* Saved as key=value lines and read back to the same struct and the same
 * identity, whatever version wrote them; anything else is refused with
 * FILE:LINE and why. */
static void test_saved(void)
{
	static struct zt_policy p;
	static struct ztu_config c, back;
	static char text[ZT_CFG_TEXT], t2[ZT_CFG_TEXT];
	char msg[ZTU_MSG_MAX];

	policy_for_test(&p);
	ztu_config_from_policy(&c, &p);
	/* every kind of value, and bytes a line could not hold as they are */
	snprintf(c.state_path, sizeof(c.state_path), "/run/a dir/%%50\n\tstate");
	snprintf(c.zram.backing_dev, sizeof(c.zram.backing_dev), "/dev/loop7");
	c.thresholds.text_entropy = 4.1 + 1e-12;
	c.rule[ZT_CLASS_MIXED].codec = (struct zt_codec){ ZT_CODEC_ZSTD, 19 };
	c.spill_encrypt = true;
	c.demote_age = 600;
	c.demote_budget = UINT64_MAX;
	saved_text(&c, text);
	ok(!strncmp(text, "# ztier-ublk device config, written by ztier ", 45) &&
	   strstr(text, "\nformat=1\nname=t\n"), "a comment, then format=1, then the keys");
	ok(strstr(text, "\nstate-path=/run/a%20dir/%2550%0A%09state\n") != NULL,
	   "space, %%, newline and tab escaped as %%XX");
	is_int(load_text(text, &back, msg, sizeof(msg)), 0, "loaded");
	ok(memcmp(&c, &back, sizeof(c)) == 0, "read back whole: every field, exact doubles");
	ok(ztu_config_id(&c) == ztu_config_id(&back), "the same identity");
	edit(text, "# ztier-ublk", "# written by ztier 0.0.0-other\n");
	is_int(load_text(text, &back, msg, sizeof(msg)), 0,
	       "another version's config of the same format is read");
	ok(memcmp(&c, &back, sizeof(c)) == 0, "... to the same config");

	strcpy(t2, text);
	edit(t2, "format=", "format=2\n");
	is_int(load_text(t2, &back, msg, sizeof(msg)), -EPROTO, "a newer format is refused");
	is_str(msg, "t.config:2: format '2': this ztier-ublk reads format 1 (a newer ztier wrote it)",
	       "... saying where and why");
	strcpy(t2, text);
	edit(t2, "depth=", "depth=128\nhuge-pages=yes\n");
	is_int(load_text(t2, &back, msg, sizeof(msg)), -EPROTO, "an unknown key is refused");
	is_str(msg, "t.config:8: unknown key 'huge-pages' (a newer ztier's?)", "... by FILE:LINE");
	strcpy(t2, text);
	edit(t2, "spill-size=", "");
	is_int(load_text(t2, &back, msg, sizeof(msg)), -EPROTO, "a missing key is refused");
	is_str(msg, "t.config: no spill-size= (cut short?)", "... naming it");
	strcpy(t2, text);
	edit(t2, "queues=", "queues=2\nqueues=3\n");
	is_int(load_text(t2, &back, msg, sizeof(msg)), -EPROTO, "a key twice is refused");
	strcpy(t2, text);
	t2[strlen(t2) - 1] = '\0';
	is_int(load_text(t2, &back, msg, sizeof(msg)), -EPROTO, "a last line without its newline");
	static const char *const bad_values[] = {
		"queues=-1\n", "queues=4294967296\n", "size=12x\n", "size=\n",
		"commit-upfront=1\n", "text-entropy=five\n", "text-entropy=nan\n",
		"random-entropy=inf\n", "target=loop\n", "rule.text=store spill zstd 23\n",
		"rule.text=store spill zstd -1\n", "rule.text=store spill zstd 99999999999\n",
		"rule.text=store spill zstd\n", "rule.text=store disk zstd 3\n",
		"rule.text=store spill brotli 3\n", "state-path=/a%0\n", "state-path=/a%00b\n",
		"zram.algorithm=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	};
	for (size_t i = 0; i < sizeof(bad_values) / sizeof(bad_values[0]); i++) {
		char key[32];

		snprintf(key, sizeof(key), "%.*s", (int)strcspn(bad_values[i], "=") + 1,
			 bad_values[i]);
		strcpy(t2, text);
		edit(t2, key, bad_values[i]);
		ok(load_text(t2, &back, msg, sizeof(msg)) == -EPROTO && strstr(msg, "bad value"),
		   "refused: %.*s (%s)", (int)strlen(bad_values[i]) - 1, bad_values[i], msg);
	}
	/* what an older ztier-ublk saved: its magic, then the struct's bytes */
	static const char older[] = "fctz\x50\x22\0\0" "0.9.0\0\0\0\0\0\0\0\0\0\0\0";
	is_int(load_bytes(older, sizeof(older) - 1, &back, msg, sizeof(msg)), -EPROTO,
	       "an older binary config is refused");
	is_str(msg, "t.config: holds a NUL byte: not a config (an older ztier's?)",
	       "... as an older ztier's");
	is_int(load_text("", &back, msg, sizeof(msg)), -EPROTO, "an empty file is refused");
	is_str(msg, "t.config: not a ztier-ublk config (no format=)", "... as not a config");
	c.rule[ZT_CLASS_TEXT].codec.level = 4;
	ok(ztu_config_id(&c) != ztu_config_id(&back), "a codec level changes the identity");
}

/* A state made for a config fits it (zu_state_check: the header only, the
 * file untouched) and stops fitting when the config or this binary's fill
 * capacity differ, or the file is cut short: what `ztier-ublk recover
 * --check` asks before a live upgrade ends a server. */
static void test_state_fits(void)
{
	static struct zt_policy p;
	static struct ztu_config c;
	struct zu_state_geom g;
	struct zu_state *s = NULL;
	char msg[ZTU_MSG_MAX];
	int fd = memfd_create("t_config", MFD_CLOEXEC);
	off_t size;

	policy_for_test(&p);
	p.device.size = (struct zt_size){ .bytes = 64u << 20 };
	p.device.mem_limit = (struct zt_size){ .bytes = 4u << 20 };
	ztu_config_from_policy(&c, &p);
	zu_state_geom_of(&c, 100, 64, &g);
	ok(fd >= 0 && zu_state_create(fd, &g, &s, msg, sizeof(msg)) == 0, "a state made for it");
	if (s)
		zu_state_detach(s);
	size = lseek(fd, 0, SEEK_END);
	is_int(zu_state_check(fd, &c, 100, 64, msg, sizeof(msg)), 0, "it fits the config");
	is_int(zu_state_check(fd, &c, 100, 128, msg, sizeof(msg)), -ESTALE,
	       "not with another fill capacity");
	tap_diag("%s", msg);
	is_int(zu_state_check(fd, &c, 99, 64, msg, sizeof(msg)), -ESTALE,
	       "not with a spill of another size");
	tap_diag("%s", msg);
	c.demote_age++;                   /* any field: the identity hashes them all */
	is_int(zu_state_check(fd, &c, 100, 64, msg, sizeof(msg)), -ESTALE,
	       "not for another config (its identity)");
	tap_diag("%s", msg);
	ok(ftruncate(fd, size - 4096) == 0, "cut the file short");
	ztu_config_from_policy(&c, &p);
	is_int(zu_state_check(fd, &c, 100, 64, msg, sizeof(msg)), -EBADMSG, "a short file is refused");
	tap_diag("%s", msg);
	close(fd);
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

/* Every queues x depth the check accepts keeps its request buffers within
 * ZTU_IO_BUF_BUDGET, with at least a page a tag; the rest is refused. */
static void test_buffers_bounded(void)
{
	static struct zt_policy p;
	static struct ztu_config c;
	char msg[ZTU_MSG_MAX];
	unsigned bad = 0, accepted = 0;

	policy_for_test(&p);
	ztu_config_from_policy(&c, &p);
	for (c.queues = 1; c.queues <= ZTU_MAX_QUEUES; c.queues++)
		for (c.depth = 1; c.depth <= 4096; c.depth++) {
			uint64_t tags = (uint64_t)c.queues * c.depth;
			uint32_t b = ztu_io_buf_bytes(c.queues, c.depth);
			bool fits = tags * b <= ZTU_IO_BUF_BUDGET && b >= ZT_PAGE_SIZE &&
				    b <= ZTU_IO_BUF_MAX && (b & (b - 1)) == 0;

			c.io_buf_bytes = b;
			if (ztu_config_check(&c, msg, sizeof(msg)) == 0)
				bad += !fits, accepted++;
			else
				bad += tags <= ZTU_IO_BUF_BUDGET / ZT_PAGE_SIZE;
		}
	ok(bad == 0 && accepted > 0, "every accepted queues x depth: buffers <= %u MiB "
	   "(%u accepted, %u wrong)", ZTU_IO_BUF_BUDGET >> 20, accepted, bad);
	is_int(ztu_io_buf_bytes(1, 128), 128 << 10, "1 x 128 tags: 128 KiB requests");
	is_int(ztu_io_buf_bytes(2, 128), 64 << 10, "2 x 128 tags: 64 KiB (16 MiB, was 128)");
	is_int(ztu_io_buf_bytes(1, 16), 512 << 10, "few tags: the 512 KiB maximum");
	is_int(ztu_io_buf_bytes(16, 256), 4096, "4096 tags: one page each");
	is_int(ztu_io_buf_bytes(16, 257), 0, "4112 tags: no buffer fits");
	c.queues = 16;
	c.depth = 4096;
	c.io_buf_bytes = ztu_io_buf_bytes(c.queues, c.depth);
	is_int(ztu_config_check(&c, msg, sizeof(msg)), -EINVAL, "16 x 4096: refused");
	ok(strstr(msg, "at most 16 MiB") != NULL, "and said: %s", msg);
	p.device.queues = 2;
	p.device.depth = 128;
	ztu_config_from_policy(&c, &p);
	is_int(c.io_buf_bytes, 64 << 10, "from a policy: sized for its queues and depth");
}

int main(void)
{
	test_resolved();
	test_saved();
	test_state_fits();
	test_checked();
	test_buffers_bounded();
	return tap_done();
}
