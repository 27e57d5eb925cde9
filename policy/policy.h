/*
 * policy.h — ztier's policy engine: the public API of policy/.
 *
 * Two halves, both pure (no I/O in the classifier, only file reading in the
 * parser), so both are unit-tested and fuzzable on the host:
 *
 *  1. The page classifier.  Every 4 KiB page is one of four classes:
 *       SAMEFILL  one 64-bit word repeated (zero pages included; value kept)
 *       TEXT      low entropy or a small byte set (text-like)
 *       MIXED     everything else (compressible binary data)
 *       RANDOM    high entropy / near-uniform bytes: not worth compressing
 *     Entropy is estimated from a sample of the page.  Same-fill detection
 *     and the sample's histogram are vectorised (AVX2/AVX-512, chosen at
 *     run time) with scalar twins that give the same results.
 *
 *  2. Policy files.  One INI file per workload (libinih) maps classes to
 *     tiers and codecs and sets thresholds, sizes, limits, queues, the zram
 *     and spill tiers and swap.  Errors are reported as FILE:LINE: message.
 *
 * Errors are negative errno values; only the CLI/daemon turns them into text.
 */
#ifndef ZT_POLICY_H
#define ZT_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZT_PAGE_SIZE  4096u
#define ZT_PAGE_SHIFT 12

/* ---- page classes ------------------------------------------------------ */

enum zt_class {
	ZT_CLASS_SAMEFILL,
	ZT_CLASS_TEXT,
	ZT_CLASS_MIXED,
	ZT_CLASS_RANDOM,
	ZT_CLASS_COUNT
};

/* Thresholds that decide TEXT and RANDOM (defaults in brackets). */
struct zt_thresholds {
	double text_entropy;    /* < this many bits/byte is TEXT [5.0]       */
	double random_entropy;  /* >= this many bits/byte is RANDOM [7.5]    */
	unsigned text_byteset;  /* fewer distinct bytes than this is TEXT [64] */
};

struct zt_page_class {
	enum zt_class cls;
	uint64_t fill;          /* the repeated word when cls == SAMEFILL    */
	float entropy;          /* estimated bits/byte (0 for SAMEFILL)      */
};

void zt_thresholds_default(struct zt_thresholds *t);

/* Classify one ZT_PAGE_SIZE page.  Never fails; cheap (see make bench). */
void zt_classify(const void *page, const struct zt_thresholds *t,
		 struct zt_page_class *out);

/* True when the page is one 64-bit word repeated; *fill gets the word.
 * Uses the best vector path this CPU has; exits at the first mismatch. */
bool zt_page_samefill(const void *page, uint64_t *fill);

/* Exact Shannon entropy (bits/byte) of len bytes: a full histogram. */
double zt_entropy_exact(const void *buf, size_t len);
/* The sampled estimate zt_classify uses, for one page (bits/byte). */
double zt_entropy_estimate(const void *page);

const char *zt_class_name(enum zt_class c);             /* "samefill", ... */
int zt_class_from_name(const char *name);               /* -EINVAL if unknown */

/* ---- tiers and codecs ----------------------------------------------------- */

enum zt_tier {
	ZT_TIER_NONE,     /* no fallback: fail the write (the kernel sees EIO/ENOSPC) */
	ZT_TIER_META,     /* same-filled pages: page-table entry only   */
	ZT_TIER_STORE,    /* userspace compressed store                 */
	ZT_TIER_ZRAM,     /* kernel zram device owned by the ztier device */
	ZT_TIER_SPILL,    /* NVMe device or file                        */
	ZT_TIER_COUNT
};

enum zt_codec_kind { ZT_CODEC_RAW, ZT_CODEC_LZ4, ZT_CODEC_ZSTD };

struct zt_codec {
	enum zt_codec_kind kind;
	int level;            /* zstd level (1..19); for lz4, 1..12 is
	                         lz4hc's (same format, smaller, slower to
	                         write); 0 otherwise                        */
};

const char *zt_tier_name(enum zt_tier t);               /* "meta", ... "none" */
int zt_tier_from_name(const char *name);                /* -EINVAL if unknown */
/* "lz4", "lz4hc", "lz4hc:N", "zstd", "zstd:N", "raw" -> codec; -EINVAL /
 * -ERANGE on bad input. */
int zt_codec_parse(const char *s, struct zt_codec *out);
/* Format a codec as the parser accepts it ("zstd:3"). Returns buf. */
const char *zt_codec_format(const struct zt_codec *c, char *buf, size_t len);

/* ---- sizes ---------------------------------------------------------------- */

/* A size as written in a policy: absolute bytes ("4G", "512M", "4096"), a
 * fraction of RAM ("ram/4", "ram*3/4", "ram") or an expression in
 * zram-generator's grammar with ztier's units ("min(ram / 2, 4G)",
 * "ram * 0.5"; size_expr.c); 0 bytes means "unset". */
#define ZT_SIZE_EXPR_MAX 128
struct zt_size {
	uint64_t bytes;
	uint32_t ram_num, ram_den;   /* ram_den != 0: size = ram * num / den */
	char expr[ZT_SIZE_EXPR_MAX]; /* != "": an expression, evaluated at resolve */
};

int zt_size_parse(const char *s, struct zt_size *out);   /* -EINVAL / -ERANGE */
/* The same, with why it was refused in msg ("'4096' in min() has no unit..."). */
int zt_size_parse_msg(const char *s, struct zt_size *out, char *msg, size_t len);
/* Evaluate an expression against ram bytes: 0 with *out in bytes (may be
 * negative or fractional), or -EINVAL with the reason in msg.  Pure. */
int zt_size_eval(const char *expr, uint64_t ram, long double *out, char *msg, size_t len);
/* Resolve against ram_bytes (0: read /proc/meminfo now).  Resolve a whole
 * configuration against one zt_ram_bytes(): RAM is read once. */
uint64_t zt_size_resolve(const struct zt_size *s, uint64_t ram_bytes);
uint64_t zt_ram_bytes(void);                /* MemTotal in bytes, 0 unknown */
/* buf of ZT_SIZE_EXPR_MAX holds every size. */
const char *zt_size_format(const struct zt_size *s, char *buf, size_t len);
bool zt_size_is_set(const struct zt_size *s);
/* Rounded for people, as zramctl prints sizes: 0, 512B, 4K, 1.5M, 2G. */
const char *zt_size_human(int64_t bytes, char *buf, size_t len);

/* ---- a policy --------------------------------------------------------------- */

#define ZT_NAME_MAX   64
#define ZT_PATH_MAX   4096

/* Where one class of page goes, and where it goes when that tier is full. */
struct zt_class_rule {
	enum zt_tier tier;
	enum zt_tier fallback;        /* ZT_TIER_NONE: fail the write          */
	struct zt_codec codec;        /* for the store tier                    */
};

enum zt_use { ZT_USE_SWAP, ZT_USE_FS, ZT_USE_NONE };

/* A kernel zram device as written: a policy's [zram] (the zram tier) and a
 * ztier.conf [zram-swap NAME] (a plain zram swap device) alike.  Sizes stay
 * unresolved here; whoever creates the device resolves them once. */
struct zt_zram_spec {
	char algorithm[32];           /* kernel comp_algorithm name, "": default */
	char params[128];             /* algorithm_params, e.g. level=3        */
	struct zt_size size;          /* disksize                              */
	struct zt_size mem_limit;     /* mem_limit (0: none)                   */
};

/* Keeping a zram device healthy over time ([maintenance] in a policy, the
 * same keys in ztier.conf's [zram-swap NAME]; policy/maint.c).  zram only
 * acts when told: these say when pages count as idle, where idle pages go
 * (writeback to a block device within a daily budget) and which are
 * recompressed with a stronger algorithm.  Ages and periods in seconds. */
enum zt_wb_pages {                    /* writeback-pages, written in this order */
	ZT_WB_HUGE_IDLE      = 1u << 0,   /* stored raw and idle: the most to gain */
	ZT_WB_IDLE           = 1u << 1,
	ZT_WB_HUGE           = 1u << 2,   /* also pages in use                     */
	ZT_WB_INCOMPRESSIBLE = 1u << 3,   /* recompression could not shrink them   */
};
#define ZT_WB_KINDS 4

struct zt_maint {
	char writeback_device[ZT_PATH_MAX]; /* backing_dev; "": no writeback      */
	unsigned wb_idle_age;         /* writeback-idle-age; 0: off              */
	unsigned wb_pages;            /* enum zt_wb_pages mask                   */
	uint64_t wb_budget;           /* writeback-budget, bytes a day; 0: none  */
	char recomp_algorithm[32];    /* recompress-algorithm; "": off           */
	unsigned recomp_idle_age;     /* recompress-idle-age; 0: off             */
	uint64_t recomp_threshold;    /* recompress-threshold, bytes; 0: any     */
	unsigned interval;            /* maintenance-interval                    */
	unsigned backoff;             /* maintenance-backoff: least time between
	                                 two passes when pressure triggers them */
	unsigned pressure;            /* pressure-trigger, % (PSI memory some
	                                 avg10); 0: off                         */
};

/* The built-in values (each explained in policy/maint.c). */
void zt_maint_default(struct zt_maint *m);
/* Parse one key ("writeback-idle-age", ...) into *m: 0, -ENOENT when key is
 * not a maintenance key (msg untouched), -EINVAL with msg filled. */
int zt_maint_set(struct zt_maint *m, const char *key, const char *v, char *msg, size_t len);
/* Checks across keys; 0 or -EINVAL with msg. */
int zt_maint_check(const struct zt_maint *m, char *msg, size_t len);
/* The maintenance keys, "a, b or c" (for unknown-key hints). */
extern const char *const zt_maint_keys[];
/* "huge_idle" ... for one bit of enum zt_wb_pages. */
const char *zt_wb_kind_name(unsigned bit);
/* A duration: "90", "90s", "10m", "2h", "1d"; "off" and "0" give 0.
 * 0 or -EINVAL. */
int zt_duration_parse(const char *v, unsigned *secs);
/* "some avg10=1.25 ..." (the first line of /proc/pressure/memory): the
 * avg10 percentage, or -1 if the text is not in that format. */
double zt_psi_some_avg10(const char *text);

/* When the store's memory is committed ([device] memory-commit). */
enum zt_commit {
	ZT_COMMIT_AUTO,       /* upfront for swap, on-demand for a file system */
	ZT_COMMIT_UPFRONT,    /* all of memory-limit at start, locked         */
	ZT_COMMIT_ON_DEMAND,  /* chunk by chunk as pages arrive               */
};

/* Keys that zt_policy_validate checks against other keys.  The parser
 * records where each was last set (struct zt_origin) so that a cross-key
 * problem is still reported as FILE:LINE of the key that causes it. */
enum zt_policy_key {
	ZT_KEY_TIER,                                    /* + class */
	ZT_KEY_FALLBACK = ZT_KEY_TIER + ZT_CLASS_COUNT, /* + class */
	ZT_KEY_CODEC = ZT_KEY_FALLBACK + ZT_CLASS_COUNT,/* + class */
	ZT_KEY_TEXT_ENTROPY = ZT_KEY_CODEC + ZT_CLASS_COUNT,
	ZT_KEY_RANDOM_ENTROPY,
	ZT_KEY_ZRAM_SIZE,
	ZT_KEY_SPILL_TARGET,
	ZT_KEY_SPILL_SIZE,
	ZT_KEY_FS_TYPE,
	ZT_KEY_FS_MOUNT_POINT,
	ZT_KEY_MEMORY_COMMIT,
	ZT_KEY_USE,                   /* the [swap] or [fs] section header   */
	ZT_KEY_MAINTENANCE,           /* the last [maintenance] key set      */
	ZT_KEY_WB_DEVICE,             /* [maintenance] writeback-device      */
	ZT_KEY_COUNT
};

#define ZT_POLICY_FILES_MAX 8   /* files stacked into one policy (drop-ins) */

/* Where a key was last set: files[file], line; line 0 = built-in default. */
struct zt_origin {
	unsigned file;
	int line;
};

struct zt_policy {
	char name[ZT_NAME_MAX];       /* [policy] name; default: file's basename */
	char source[ZT_PATH_MAX];     /* file it was read from (for messages)    */

	struct zt_thresholds thresholds;              /* [classify]            */
	struct zt_class_rule rule[ZT_CLASS_COUNT];    /* [samefill] [text] ... */

	struct {                                      /* [device]              */
		struct zt_size size;          /* block device size               */
		struct zt_size mem_limit;     /* store memory limit              */
		unsigned queues;              /* 1..16                           */
		unsigned depth;               /* 1..4096, queue depth            */
		enum zt_commit commit;        /* memory-commit                   */
	} device;

	struct zt_zram_spec zram;                     /* [zram] (the zram tier) */

	struct {                                      /* [spill]               */
		char target[ZT_PATH_MAX];     /* /dev/..., by-id name or a file  */
		struct zt_size size;          /* for a file target               */
		bool encrypt;                 /* through dm-crypt, a random key  */
	} spill;

	struct {                                      /* [swap] / [fs]          */
		enum zt_use use;
		int priority;                 /* -1 or 0..32767                  */
		bool discard;
		char fs_type[16];             /* for ZT_USE_FS                   */
		char mount_point[ZT_PATH_MAX];
	} use;

	struct zt_maint maint;                        /* [maintenance]          */

	/* Filled by zt_policy_load: the files read, in order, and where each
	 * cross-checked key was last set (for zt_policy_validate's messages). */
	unsigned nfiles;
	char files[ZT_POLICY_FILES_MAX][ZT_PATH_MAX];
	struct zt_origin origin[ZT_KEY_COUNT];
};

/* Fill *p with the built-in defaults (a sensible general-purpose policy). */
void zt_policy_default(struct zt_policy *p);

/* Called once per problem found while reading a policy. line is 0 when the
 * problem is not tied to one line (e.g. the file cannot be opened).  The
 * library never prints: with no reporter (NULL) problems are only counted. */
typedef void (*zt_policy_report_fn)(void *ctx, const char *file, int line,
				    const char *msg);

/* Read path on top of *p (call zt_policy_default first; calling again with a
 * drop-in overrides the keys it sets).  Every problem goes to report (NULL:
 * counted only).  Returns the number of problems, 0
 * when valid, or a negative errno if the file cannot be read at all. */
int zt_policy_load(struct zt_policy *p, const char *path,
		   zt_policy_report_fn report, void *ctx);

/* Checks that span keys (e.g. a tier that cannot take a class, zram tier
 * used but no zram size).  Same reporting; returns the number of problems. */
int zt_policy_validate(const struct zt_policy *p, zt_policy_report_fn report,
		       void *ctx);

/* What is valid but risky (e.g. not safe as swap), one report per warning
 * with its message starting "warning: "; returns how many. */
int zt_policy_warnings(const struct zt_policy *p, zt_policy_report_fn report, void *ctx);

/* Do a and b set the same things?  Every setting counts, in every section
 * (a new field included without being listed); where each was set (files,
 * lines) does not.  ztierd: a reload changed a running stack's policy. */
bool zt_policy_same(const struct zt_policy *a, const struct zt_policy *b);

/* Is the store's memory committed at start?  memory-commit, and for auto:
 * yes for a swap device (its I/O path must never allocate: reclaim would
 * wait for swap-out to the device itself), no for a file system. */
bool zt_policy_commits_upfront(const struct zt_policy *p);

/* The path a policy's [spill] target names: a path as written, a bare name
 * under /dev/disk/by-id/, or "" for none.  Returns out. */
const char *zt_spill_path(const struct zt_policy *p, char *out, size_t len);

/* Can this tier hold pages of this class?  (meta holds only SAMEFILL.) */
bool zt_tier_accepts(enum zt_tier t, enum zt_class c);


#endif
