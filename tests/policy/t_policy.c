/*
 * t_policy.c — policy files: every error kind with its exact FILE:LINE,
 * the shipped examples, drop-ins and the syntax corners (comments,
 * indentation, CRLF, BOM).
 *
 * Each case writes a small file into a temporary directory, loads it on
 * top of the defaults, validates it, and compares the collected messages
 * ("FILE:LINE: message") with what is expected.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy/common/common.h"
#include "policy/policy.h"
#include "tests/tap.h"

#define MAX_MSGS 16

struct msgs {
	int n;
	char text[MAX_MSGS][600];
};

static char dir[] = "/tmp/zt-policy-XXXXXX";

static void collect(void *ctx, const char *file, int line, const char *msg)
{
	struct msgs *m = ctx;
	const char *base = strrchr(file, '/');

	if (m->n < MAX_MSGS)
		snprintf(m->text[m->n], sizeof(m->text[0]), "%s:%d: %s",
			 base ? base + 1 : file, line, msg);
	m->n++;
}

static const char *write_file(const char *name, const char *text)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return path;
	fputs(text, f);
	fclose(f);
	return path;
}

/* Load + validate one file; returns the messages. */
static struct msgs check(const char *name, const char *text, struct zt_policy *p)
{
	struct msgs m = { 0 };
	const char *path = write_file(name, text);

	zt_policy_default(p);
	if (zt_policy_load(p, path, collect, &m) >= 0)
		zt_policy_validate(p, collect, &m);
	return m;
}

/* Exactly one problem, starting with want ("t.conf:3: unknown key ..."). */
static void one_error(const char *text, const char *want, const char *what)
{
	struct zt_policy p;
	struct msgs m = check("t.conf", text, &p);

	if (!ok(m.n == 1 && strncmp(m.text[0], want, strlen(want)) == 0, "%s", what)) {
		tap_diag("  want: %s", want);
		for (int i = 0; i < m.n && i < MAX_MSGS; i++)
			tap_diag("  got:  %s", m.text[i]);
	}
}

/* A bad value that leaves a required key unset also fails validation:
 * the first problem is the bad value, at its line, then the missing key. */
static void first_of_two(const char *text, const char *want, const char *then,
			 const char *what)
{
	struct zt_policy p;
	struct msgs m = check("t.conf", text, &p);

	if (!ok(m.n == 2 && strncmp(m.text[0], want, strlen(want)) == 0 &&
		strncmp(m.text[1], then, strlen(then)) == 0, "%s", what))
		for (int i = 0; i < m.n && i < MAX_MSGS; i++)
			tap_diag("  got:  %s", m.text[i]);
}

static void test_error_kinds(void)
{
	one_error("[policy]\nname = x\n[bogus]\nkey = 1\nother = 2\n",
		  "t.conf:3: unknown section [bogus]", "unknown section, reported once");
	one_error("[device]\nsize = 4G\nsise = 4G\n",
		  "t.conf:3: unknown key 'sise' in [device] (expected size, memory-limit, queues, depth or memory-commit)",
		  "unknown key, with the section's keys");
	one_error("name = x\n[policy]\n", "t.conf:1: key 'name' outside any section",
		  "key before any section");
	one_error("[classify]\n\ntext-entropy = lots\n",
		  "t.conf:3: bad value 'lots' for text-entropy", "bad number");
	one_error("[classify]\ntext-entropy = 9\n",
		  "t.conf:2: text-entropy 9 out of range (0 to 8", "entropy out of range");
	one_error("[classify]\nrandom-entropy = -1\n",
		  "t.conf:2: random-entropy -1 out of range", "negative entropy");
	one_error("[classify]\ntext-byteset = 300\n",
		  "t.conf:2: text-byteset 300 out of range (0 to 256)", "byteset out of range");
	one_error("[classify]\ntext-entropy = 7.6\n",
		  "t.conf:2: text-entropy (7.6) must be below random-entropy (7.5)",
		  "thresholds out of order");
	one_error("[device]\nqueues = 0\n", "t.conf:2: queues 0 out of range (1 to 16)",
		  "queues out of range");
	one_error("[device]\ndepth = 5000\n", "t.conf:2: depth 5000 out of range (1 to 4096)",
		  "depth out of range");
	one_error("[device]\ndepth = 12x\n", "t.conf:2: bad value '12x' for depth",
		  "bad integer");
	one_error("[device]\nsize = 4Q\n", "t.conf:2: bad size '4Q' for size",
		  "bad size");
	one_error("[device]\nsize = 0\n", "t.conf:2: size must not be 0", "zero size");
	one_error("[device]\nmemory-limit = ram*2\n",
		  "t.conf:2: memory-limit ram*2 out of range (at most ram)", "memory limit above RAM");
	one_error("[device]\nsize = ram/0\n", "t.conf:2: bad size 'ram/0' for size: division "
		  "by zero ('0' is 0)", "ram/0");
	one_error("[zram]\nsize = min(ram / 2, 4096)\n", "t.conf:2: bad size 'min(ram / 2, "
		  "4096)' for size: '4096' in min() has no unit", "zram-generator's MiB");
	one_error("[device]\nsize = ram * 4096\n", "t.conf:2: size 'ram * 4096' out of range",
		  "expression above 1024 x RAM");
	one_error("[text]\ntier = disk\n",
		  "t.conf:2: unknown tier 'disk' (expected meta, store, zram, spill or none)",
		  "unknown tier");
	one_error("[text]\ncodec = gzip\n", "t.conf:2: unknown codec 'gzip'", "unknown codec");
	one_error("[text]\ncodec = zstd:25\n",
		  "t.conf:2: level in 'zstd:25' out of range (zstd 1 to 19, lz4hc 1 to 12)", "zstd level out of range");
	one_error("[samefill]\ntier = meta\n[text]\n# meta keeps one word\ntier = meta\n",
		  "t.conf:5: tier meta cannot take text pages", "meta for text");
	one_error("[mixed]\nfallback = meta\n",
		  "t.conf:2: fallback meta cannot take mixed pages", "meta as fallback for mixed");
	one_error("[random]\ntier = none\n",
		  "t.conf:2: [random] tier none cannot hold pages", "tier none");
	one_error("[text]\ntier = store\nfallback = store\n",
		  "t.conf:3: [text] fallback is the same tier as tier (store)", "fallback = tier");
	one_error("[policy]\nname = zr\n[mixed]\ntier = zram\n",
		  "t.conf:4: tier zram is used but [zram] has no size", "zram tier without [zram] size");
	one_error("[random]\ntier = store\nfallback = spill\n",
		  "t.conf:3: tier spill is used but [spill] has no target", "spill without target");
	one_error("[spill]\ntarget = /var/lib/ztier/spill.img\n",
		  "t.conf:2: spill target /var/lib/ztier/spill.img is a file: [spill] needs a size",
		  "spill file without size");
	one_error("[spill]\ntarget = relative/path\n", "t.conf:2: bad spill target 'relative/path'",
		  "relative spill path");
	one_error("[spill]\ntarget = /dev/disk/by-id/nvme-*\n",
		  "t.conf:2: bad spill target '/dev/disk/by-id/nvme-*': only letters, digits "
		  "and / . _ - + : @ , = can go into a udev rule",
		  "glob in a spill target (it goes into a udev rule)");
	one_error("[spill]\ntarget = /dev/disk/by-id/nvme-a|nvme-b\n",
		  "t.conf:2: bad spill target '/dev/disk/by-id/nvme-a|nvme-b': only letters",
		  "'|' in a spill target (udev's \"or\": the rule would tag another disk)");
	one_error("[spill]\ntarget = /dev/disk/by-id/$kernel\n",
		  "t.conf:2: bad spill target '/dev/disk/by-id/$kernel': only letters",
		  "'$' in a spill target (a udev substitution)");
	one_error("[random]\ntier = zram\ncodec = lz4\n[zram]\nsize = 1G\n",
		  "t.conf:3: [random] codec applies only to the store tier", "codec without store");
	one_error("[zram]\nalgorithm = gzip\n", "t.conf:2: unknown zram algorithm 'gzip'",
		  "unknown zram algorithm");
	one_error("[zram]\nparams = level\n", "t.conf:2: bad zram params 'level'", "bad zram params");
	one_error("[swap]\npriority = 40000\n",
		  "t.conf:2: priority 40000 out of range (-1 to 32767)", "priority out of range");
	one_error("[swap]\ndiscard = maybe\n",
		  "t.conf:2: bad value 'maybe' for discard: expected yes or no", "bad boolean");
	one_error("[spill]\nencrypt = later\n",
		  "t.conf:2: bad value 'later' for encrypt: expected yes or no", "bad encrypt");
	one_error("[swap]\n[fs]\ntype = ext4\nmount-point = /mnt\n",
		  "t.conf:2: [fs] conflicts with [swap] on line 1", "swap and fs together");
	one_error("[fs]\ntype = ext4\n", "t.conf:1: [fs] needs a mount-point", "fs without mount point");
	first_of_two("[fs]\ntype = vfat\nmount-point = /mnt\n", "t.conf:2: unknown fs type 'vfat'",
		     "t.conf:1: [fs] needs a type", "unknown fs type");
	first_of_two("[fs]\ntype = ext4\nmount-point = mnt\n",
		     "t.conf:3: bad mount-point 'mnt': expected an absolute path",
		     "t.conf:1: [fs] needs a mount-point", "relative mount point");
	one_error("[policy]\nname = has space\n", "t.conf:2: bad policy name 'has space'",
		  "bad policy name");
	one_error("[device]\nqueues =\n", "t.conf:2: empty value for 'queues'", "empty value");
	one_error("[device\nqueues = 2\n", "t.conf:1: expected ']' to close the section name",
		  "unclosed section; its keys are skipped");
	one_error("[device]\njust words\n", "t.conf:2: expected 'key = value'", "line without =");

	char longline[400];
	snprintf(longline, sizeof(longline), "[spill]\ntarget = /%0250d\n", 0);
	one_error(longline, "t.conf:2: line too long", "line longer than inih's buffer");
}

static void test_many_errors(void)
{
	struct zt_policy p;
	struct msgs m = check("many.conf",
		"[classify]\n"                  /* 1 */
		"text-entropy = 9\n"            /* 2 */
		"[device]\n"                    /* 3 */
		"queues = 99\n"                 /* 4 */
		"[text]\n"                      /* 5 */
		"tier = meta\n"                 /* 6 */
		"[nope]\n",                     /* 7 */
		&p);

	is_int(m.n, 4, "every problem of a file is reported");
	is_str(m.text[0], "many.conf:2: text-entropy 9 out of range (0 to 8 bits/byte)", "first");
	ok(strncmp(m.text[1], "many.conf:4: queues 99", 22) == 0, "second");
	ok(strncmp(m.text[2], "many.conf:7: unknown section [nope]", 35) == 0, "third");
	ok(strncmp(m.text[3], "many.conf:6: tier meta cannot take text", 39) == 0,
	   "cross-key problem at the key's own line");
}

static int load_bytes(const char *text, size_t len, struct msgs *m);

/* A name from the file name gets the [policy] name key's check. */
static void test_name_from_file(void)
{
	struct zt_policy p;
	struct msgs m = check("sp ace.conf", "[device]\nsize = 1G\n", &p);

	ok(m.n == 1 && strstr(m.text[0], "sp ace.conf:0: bad policy name 'sp ace' (the file's name)"),
	   "a file name with a space is no policy name: %s", m.n ? m.text[0] : "");
	m = check("a%b.conf", "[policy]\nname = ab\n", &p);
	is_int(m.n, 0, "a [policy] name key makes the file name irrelevant");
	m = check("db-1.conf", "[device]\nsize = 1G\n", &p);
	is_int(m.n, 0, "letters, digits, '-' from the file name are fine");
}

static void test_unreadable(void)
{
	struct zt_policy p;
	struct msgs m = { 0 };
	char path[300];

	zt_policy_default(&p);
	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	is_int(zt_policy_load(&p, path, collect, &m), -ENOENT, "missing file: -ENOENT");
	ok(m.n == 1 && strstr(m.text[0], "missing.conf:0: cannot read: No such file"),
	   "missing file: one message, no line");
	m.n = 0;
	is_int(zt_policy_load(&p, dir, collect, &m), -EISDIR, "a directory: -EISDIR");
}

/* Review of issue #13: a FIFO named as a policy blocked ztierd in open(),
 * /dev/zero read until memory ran out and then passed as valid. */
static void test_not_a_file(void)
{
	struct zt_policy p;
	struct msgs m = { 0 };
	char path[300];

	snprintf(path, sizeof(path), "%s/fifo.conf", dir);
	if (mkfifo(path, 0600) == 0) {
		zt_policy_default(&p);
		is_int(zt_policy_load(&p, path, collect, &m), -EINVAL, "a FIFO: -EINVAL, not blocked");
		ok(m.n == 1 && strstr(m.text[0], "fifo.conf:0: not a regular file (a FIFO)"),
		   "a FIFO: one message: %s", m.n ? m.text[0] : "");
		unlink(path);
	}
	m.n = 0;
	is_int(zt_policy_load(&p, "/dev/zero", collect, &m), -EINVAL, "/dev/zero: -EINVAL");
	ok(m.n == 1 && strstr(m.text[0], "a character device"), "/dev/zero: a character device");

	static char big[ZT_CONFIG_MAX + 2];
	memset(big, '#', sizeof(big) - 1);
	m.n = 0;
	is_int(load_bytes(big, sizeof(big) - 1, &m), -EFBIG, "over ZT_CONFIG_MAX: -EFBIG");
	ok(m.n == 1 && strstr(m.text[0], "too large"), "too large: one message");
	/* inih cut " ;x = 99" as a comment and dropped the rest unreported. */
	one_error("[device]\nqueues ;x = 99\n", "t.conf:2: expected 'key = value'",
		  "a key cut short by a ';' comment is reported, not dropped");
}

static void test_syntax(void)
{
	struct zt_policy p;
	struct msgs m = check("syntax.conf",
		"\xEF\xBB\xBF# byte order mark, then a comment\r\n"
		"; another comment\r\n"
		"[ text ]\r\n"
		"   tier = store    # indented, with a comment\r\n"
		"codec = zstd:5 ; inih's own inline comment\r\n"
		"[device]\r\n"
		"size: 2G\r\n",
		&p);

	is_int(m.n, 0, "BOM, CRLF, comments, indentation and ':' are accepted");
	ok(p.rule[ZT_CLASS_TEXT].codec.kind == ZT_CODEC_ZSTD &&
	   p.rule[ZT_CLASS_TEXT].codec.level == 5, "values read through comments");
	is_int(p.device.size.bytes, 2ull << 30, "size: 2G");
	is_str(p.name, "syntax", "name defaults to the file's base name");
}

/* Load len bytes (NULs included) as t.conf; returns zt_policy_load's result. */
static int load_bytes(const char *text, size_t len, struct msgs *m)
{
	static struct zt_policy p;
	char path[300];
	FILE *f;

	snprintf(path, sizeof(path), "%s/t.conf", dir);
	f = fopen(path, "w");
	if (!f || fwrite(text, 1, len, f) != len)
		return -999;
	fclose(f);
	zt_policy_default(&p);
	m->n = 0;
	return zt_policy_load(&p, path, collect, m);
}

/* Exactly one problem, equal to want, for the len bytes of text. */
static void bytes_error(const char *text, size_t len, const char *want, const char *what)
{
	struct msgs m;
	int n = load_bytes(text, len, &m);

	if (!ok(n == 1 && m.n == 1 && strcmp(m.text[0], want) == 0, "%s", what)) {
		tap_diag("  want: %s (returns 1, got %d)", want, n);
		for (int i = 0; i < m.n && i < MAX_MSGS; i++)
			tap_diag("  got:  %s", m.text[i]);
	}
}

/* A string literal and its length without the final NUL. */
#define BYTES(s) s, sizeof(s) - 1

/* A file that is not text is refused line by line, never read as the C
 * string before its first NUL. */
static void test_bad_bytes(void)
{
	static char zeros[4096];
	struct msgs m;

	bytes_error(zeros, sizeof(zeros), "t.conf:1: line holds a NUL byte",
		    "4096 zero bytes: a NUL on line 1");
	bytes_error(BYTES("[device]\nsize = 64M\0garbage\n"), "t.conf:2: line holds a NUL byte",
		    "size = 64M\\0garbage: a NUL on line 2");
	bytes_error(BYTES("# a\0b\n"), "t.conf:1: line holds a NUL byte", "a NUL in a comment too");
	bytes_error(BYTES("[device]\nqueues = 2\a\n"), "t.conf:2: control character 0x07",
		    "a BEL in a value");
	bytes_error(BYTES("[device]\nqueues = 2\rdepth = 8\n"),
		    "t.conf:2: control character 0x0d", "a CR that does not end the line");
	bytes_error(BYTES("[device]\x7f\n"), "t.conf:1: control character 0x7f", "DEL");
	bytes_error(BYTES("[device]\nqueues = 2\n\x1b[1m\n"), "t.conf:3: control character 0x1b",
		    "an escape sequence on its own line");
	is_int(load_bytes(BYTES("# caf\xc3\xa9\r\n[device]\r\nqueues\t=\t2\t\r\n"), &m), 0,
	       "tabs, UTF-8 and CRLF are text");
}

static int count_warnings(const char *text)
{
	struct zt_policy p;
	struct msgs m = check("w.conf", text, &p);
	struct msgs w = { 0 };

	if (m.n)
		return -1;
	zt_policy_warnings(&p, collect, &w);
	return w.n;
}

/* What would make a swap device's server allocate on its I/O path is
 * refused for a declared [swap] policy and a warning otherwise. */
static void test_swap_safety(void)
{
	struct zt_policy p;

	one_error("[device]\nmemory-commit = on-demand\n[swap]\npriority = 5\n",
		  "t.conf:2: memory-commit = on-demand cannot serve swap", "on-demand for [swap]: refused");
	one_error("[device]\nmemory-limit = none\n[swap]\n",
		  "t.conf:", "memory-limit none for swap (upfront): refused");
	one_error("[device]\nmemory-limit = ram\n", "t.conf:",
		  "memory-limit above ram/2 for swap (upfront): refused");
	one_error("[mixed]\ntier = zram\n[zram]\nsize = 1G\n[swap]\n",
		  "t.conf:2: the zram tier cannot serve swap", "the zram tier in a [swap] policy: refused");
	is_int(count_warnings("[text]\ntier = store\nfallback = zram\n[zram]\nsize = 1G\n"), 1,
	       "the zram tier without [swap]: valid, one warning");
	is_int(count_warnings("[device]\nmemory-commit = on-demand\n"), 1,
	       "on-demand without a [swap] section: valid, one warning");
	is_int(count_warnings("[device]\nmemory-commit = on-demand\nmemory-limit = none\n"
			      "[fs]\ntype = ext4\nmount-point = /x\n"), 0,
	       "a file system grows its store on demand: no warning");
	is_int(count_warnings("[random]\ntier = spill\n[spill]\ntarget = /var/x.img\nsize = 1G\n"), 1,
	       "a spill file without [swap]: one warning");
	one_error("[random]\ntier = spill\n[spill]\ntarget = /var/x.img\nsize = 1G\n[swap]\n",
		  "t.conf:4: spill target /var/x.img is a file: it cannot serve swap",
		  "a spill file in a [swap] policy: refused");
	is_int(count_warnings("[random]\ntier = spill\n[spill]\ntarget = /dev/sdz\n"), 0,
	       "a spill device: no warning");
	check("d.conf", "[swap]\n", &p);
	ok(zt_policy_commits_upfront(&p), "swap commits upfront by default");
	check("d.conf", "[fs]\ntype = ext4\nmount-point = /x\n", &p);
	ok(!zt_policy_commits_upfront(&p), "a file system on demand");
	check("d.conf", "[device]\nmemory-commit = upfront\n[fs]\ntype = ext4\nmount-point = /x\n", &p);
	ok(zt_policy_commits_upfront(&p), "unless it says upfront");
	one_error("[device]\nmemory-commit = later\n", "t.conf:2: bad memory-commit 'later'",
		  "a bad memory-commit value");
}

static void test_values(void)
{
	struct zt_policy p;
	struct msgs m = check("values.conf",
		"[policy]\nname = vals\n"
		"[classify]\ntext-entropy = 4.5\nrandom-entropy = 7.25\ntext-byteset = 0\n"
		"[mixed]\ntier = zram\nfallback = store\ncodec = lz4\n"
		"[zram]\nalgorithm = zstd\nparams = level=3\nsize = ram/4\nmemory-limit = 1G\n"
		"[spill]\ntarget = nvme-Samsung_SSD_980\n"
		"[random]\ntier = spill\nfallback = store\n"
		"[device]\nqueues = 4\ndepth = 256\nmemory-limit = 2G\n"
		"memory-commit = upfront\n"
		"[fs]\ntype = xfs\nmount-point = /srv/scratch\n", &p);

	is_int(m.n, 0, "a full policy is valid");
	is_str(p.name, "vals", "name");
	ok(p.thresholds.text_entropy == 4.5 && p.thresholds.random_entropy == 7.25 &&
	   p.thresholds.text_byteset == 0, "thresholds");
	ok(p.rule[ZT_CLASS_MIXED].tier == ZT_TIER_ZRAM &&
	   p.rule[ZT_CLASS_MIXED].fallback == ZT_TIER_STORE, "mixed: zram, then store");
	is_str(p.zram.algorithm, "zstd", "zram algorithm");
	is_str(p.zram.params, "level=3", "zram params");
	ok(p.zram.size.ram_num == 1 && p.zram.size.ram_den == 4, "zram size ram/4");
	is_int(p.zram.mem_limit.bytes, 1ull << 30, "zram memory limit");
	is_str(p.spill.target, "nvme-Samsung_SSD_980", "by-id spill target");
	ok(p.device.queues == 4 && p.device.depth == 256, "queues and depth");
	ok(p.device.mem_limit.bytes == 2ull << 30 && p.device.commit == ZT_COMMIT_UPFRONT,
	   "memory-limit 2G, committed upfront");
	ok(p.use.use == ZT_USE_FS && !strcmp(p.use.fs_type, "xfs") &&
	   !strcmp(p.use.mount_point, "/srv/scratch"), "fs settings");
	m = check("swap.conf", "[swap]\npriority = -1\ndiscard = no\n", &p);
	ok(m.n == 0 && p.use.use == ZT_USE_SWAP && p.use.priority == -1 && !p.use.discard,
	   "swap settings");
	m = check("plain.conf", "[spill]\ntarget = /dev/sdz\nencrypt = no\n", &p);
	ok(m.n == 0 && !p.spill.encrypt, "spill encrypt = no");
	m = check("crypt.conf", "[spill]\ntarget = /dev/sdz\n", &p);
	ok(m.n == 0 && p.spill.encrypt, "spill encrypted unless it says otherwise");
}

static void test_dropins(void)
{
	struct zt_policy p;
	struct msgs m = { 0 };
	char base[300], drop[300];

	snprintf(base, sizeof(base), "%s", write_file("10-base.conf",
		"[policy]\nname = base\n[text]\ncodec = zstd:9\n[mixed]\ncodec = lz4\n"));
	snprintf(drop, sizeof(drop), "%s", write_file("50-drop.conf",
		"[text]\ncodec = lz4\n\n[samefill]\ntier = store\n[mixed]\nfallback = mixed\n"));
	zt_policy_default(&p);
	is_int(zt_policy_load(&p, base, collect, &m), 0, "base file");
	is_int(zt_policy_load(&p, drop, collect, &m), 1, "drop-in with one bad key");
	ok(m.n == 1 && strstr(m.text[0], "50-drop.conf:7: unknown tier 'mixed'"),
	   "drop-in error names the drop-in and its line");
	is_int(p.rule[ZT_CLASS_TEXT].codec.kind, ZT_CODEC_LZ4, "drop-in overrides a key");
	is_int(p.rule[ZT_CLASS_MIXED].codec.kind, ZT_CODEC_LZ4, "other keys stay");
	is_str(p.name, "base", "name comes from the first file");
	is_int(p.nfiles, 2, "two files recorded");
	is_int(p.origin[ZT_KEY_TIER + ZT_CLASS_SAMEFILL].file, 1, "origin: the drop-in");
	is_int(p.origin[ZT_KEY_TIER + ZT_CLASS_SAMEFILL].line, 5, "origin: its line");
	m.n = 0;
	is_int(zt_policy_validate(&p, collect, &m), 0, "samefill in store is valid");
}

static void test_examples(void)
{
	DIR *d = opendir("policy/examples");
	struct dirent *e;
	int files = 0;
	bool have_default = false;

	if (!d) {
		tap_diag("policy/examples not found (run from the repository root): skipped");
		return;
	}
	while ((e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (len < 6 || strcmp(e->d_name + len - 5, ".conf"))
			continue;
		char path[512];
		struct zt_policy p;
		struct msgs m = { 0 };
		snprintf(path, sizeof(path), "policy/examples/%s", e->d_name);
		zt_policy_default(&p);
		int n = zt_policy_load(&p, path, collect, &m);
		if (n >= 0)
			n += zt_policy_validate(&p, collect, &m);
		if (!ok(n == 0 && m.n == 0, "example %s is valid", e->d_name))
			for (int i = 0; i < m.n && i < MAX_MSGS; i++)
				tap_diag("  %s", m.text[i]);
		have_default |= strcmp(e->d_name, "default.conf") == 0;
		files++;
	}
	closedir(d);
	ok(files >= 5 && have_default, "%d example policies, default.conf among them", files);
}

static void test_defaults(void)
{
	struct zt_policy p;
	struct msgs m = { 0 };

	zt_policy_default(&p);
	is_int(zt_policy_validate(&p, collect, &m), 0, "built-in policy is valid");
	is_int(p.rule[ZT_CLASS_SAMEFILL].tier, ZT_TIER_META, "samefill -> meta");
	is_int(p.rule[ZT_CLASS_RANDOM].codec.kind, ZT_CODEC_RAW, "random stored raw");
	ok(!p.spill.target[0] && !zt_size_is_set(&p.zram.size), "no zram, no spill by default");
}

int main(void)
{
	if (!mkdtemp(dir))
		tap_skip_all("cannot create a temporary directory");
	test_defaults();
	test_error_kinds();
	test_many_errors();
	test_unreadable();
	test_not_a_file();
	test_name_from_file();
	test_syntax();
	test_bad_bytes();
	test_values();
	test_swap_safety();
	test_dropins();
	test_examples();

	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		char path[512];
		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(dir);
	return tap_done();
}
