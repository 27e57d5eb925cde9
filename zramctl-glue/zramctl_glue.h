/*
 * zramctl_glue.h — the public API of zramctl-glue/: the kernel's zram sysfs ABI
 * and module loading (libkmod), nothing else.
 *
 * Design:
 *  - A device is a small handle (struct zg_dev) holding its id and the last
 *    error's context.  Every function returns 0 (or a count/fd) or a negative
 *    errno; on failure it also records WHAT failed in dev->err (attribute,
 *    value, errno, hint) so that the CLI/daemon can print one line with
 *    zg_strerror() without the library printing anything itself.
 *  - Features are probed (which attributes exist, what comp_algorithm lists)
 *    instead of assuming a kernel version.  Optional attributes that are absent
 *    give -EOPNOTSUPP for triggers and are skipped by zg_apply() as documented.
 *  - The kernel's real behaviour is handled here once: configuration order,
 *    reset wiping the configuration (zg_reconfigure), udev's probe lock making
 *    reset/hot_remove fail with EBUSY for a moment (flock + bounded retry, as
 *    zramctl does), no uevent on disksize (we read initstate instead), and
 *    the /dev node appearing after hot_add (bounded inotify wait).
 *  - Always the real /sys and /dev: there is no alternative root to point at
 *    a fake tree; tests run against the host's or the VM's kernel.
 */
#ifndef ZT_ZRAMCTL_GLUE_H
#define ZT_ZRAMCTL_GLUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- errors ------------------------------------------------------------ */

/* What failed, for one-line messages.  id < 0 means the zram-control class. */
struct zg_err {
	int id;
	int err;              /* negative errno, 0 when nothing failed */
	bool wrote;           /* true: writing value to attr; false: reading */
	char attr[32];
	char value[128];
	char hint[256];       /* e.g. "kernel offers: lzo lzo-rle [lz4]" */
};

/*
 * Format e as one line, e.g.
 *   "zram3: writing 'foo' to comp_algorithm: Invalid argument (kernel offers: lzo [lz4])"
 * Returns buf.
 */
const char *zg_strerror(const struct zg_err *e, char *buf, size_t len);

/* ---- devices ----------------------------------------------------------- */

#define ZG_BUSY_TIMEOUT_MS 3000   /* default bound for the EBUSY retries    */
#define ZG_NODE_TIMEOUT_MS 2000   /* bound for /dev/zramN to appear         */

struct zg_dev {
	int id;               /* N of zramN; -1 when not attached */
	int busy_timeout_ms;  /* 0: ZG_BUSY_TIMEOUT_MS */
	struct zg_err err;    /* context of the last failure */
};

/* zg_attach and zg_hot_add initialise every field of *dev (an uninitialised
 * struct is fine); set busy_timeout_ms after them to change the bound. */

/* Attach to an existing zramN (checks /sys/block/zramN exists). */
int zg_attach(struct zg_dev *dev, int id);

/* Read zram-control/hot_add: creates a device, fills dev->id; returns the id.
 * Needs the zram-control class (zram loaded or built in) and root. */
int zg_hot_add(struct zg_dev *dev);

/* Write dev->id to zram-control/hot_remove, retrying EBUSY (udev's probe
 * lock) within the busy bound.  On success dev->id becomes -1.  The caller
 * must hold no fd on /dev/zramN: any opener keeps it busy. */
int zg_hot_remove(struct zg_dev *dev);

/* Write 1 to reset, the same way (flock(LOCK_EX) on the node to wait out
 * udev, release it, write; retry EBUSY within the bound).  Reset wipes the
 * whole configuration: algorithm, params, backing device, mem_limit. */
int zg_reset(struct zg_dev *dev);

/* Wait (bounded, inotify on /dev) for /dev/zramN, then open it with flags
 * (e.g. O_RDWR | O_DIRECT); returns the fd.  O_CLOEXEC is always added. */
int zg_open_node(struct zg_dev *dev, int flags);

/* "/dev/zramN" into buf; returns buf. */
const char *zg_node_path(const struct zg_dev *dev, char *buf, size_t len);

/* ---- configuration ----------------------------------------------------- */

struct zg_config {
	const char *algorithm;        /* NULL: keep the kernel's default */
	const char *algorithm_params; /* e.g. "level=3"; NULL: none.  Written
	                                 only when the kernel has the attribute */
	const char *backing_dev;      /* NULL: none.  -EOPNOTSUPP when the
	                                 kernel has no backing_dev (WRITEBACK) */
	const char *recomp_algorithm; /* NULL: none.  Written as "algo=NAME
	                                 priority=1"; -EOPNOTSUPP without
	                                 recomp_algorithm (MULTI_COMP)        */
	uint64_t disksize;            /* bytes, > 0 */
	uint64_t mem_limit;           /* bytes, 0 = unlimited */
};

/*
 * Apply cfg to an uninitialised device in the kernel's order:
 * comp_algorithm, algorithm_params, recomp_algorithm, backing_dev (and with
 * it compressed_writeback=1 where the kernel has it: 7.0+), disksize,
 * mem_limit; then
 * check initstate (no uevent comes for disksize).  An unknown algorithm
 * fails with -EINVAL and the hint lists what the kernel offers; an
 * initialised device fails with -EBUSY (reset first, or zg_reconfigure).
 */
int zg_apply(struct zg_dev *dev, const struct zg_config *cfg);

/* A device as its users describe it: resolved (bytes), flat (it can be
 * saved whole), "" for the kernel's default algorithm / no params. */
struct zg_spec {
	char algorithm[32];
	char params[128];
	uint64_t disksize;            /* bytes, > 0                            */
	uint64_t mem_limit;           /* bytes, 0 = unlimited                  */
	char backing_dev[256];        /* "": none (writeback target)           */
	char recomp_algorithm[32];    /* "": none (recompression, priority 1)  */
};

/* The whole creation (lifecycle.c): zram made available (zg_module_load,
 * num_devices=0), hot_add, zg_apply(spec).  On failure the device is reset
 * and removed again and dev->err says what failed (a module that cannot
 * be loaded: zram-control, with zg_module_message's line as the hint).
 * 0 or negative errno; dev->id is the new device. */
int zg_create(struct zg_dev *dev, const struct zg_spec *spec);

/* zg_create, but an optional part the kernel refuses (backing_dev: no
 * CONFIG_ZRAM_WRITEBACK, or a device it will not take; recomp_algorithm:
 * no MULTI_COMP or an unknown algorithm) is first told to refused (may be
 * NULL) with the error, cleared from *spec, and the device made without
 * it.  Other failures as zg_create's. */
typedef void (*zg_refused_fn)(void *ctx, const struct zg_err *err);
int zg_create_optional(struct zg_dev *dev, struct zg_spec *spec, zg_refused_fn refused,
		       void *ctx);

/* zg_reset() then zg_hot_remove(); 0 at once when dev->id < 0. */
int zg_destroy(struct zg_dev *dev);

/* zg_reset() then zg_apply(): reset wipes the configuration, re-apply it. */
int zg_reconfigure(struct zg_dev *dev, const struct zg_config *cfg);

/* Change mem_limit at run time (bytes, 0 = unlimited). */
int zg_set_mem_limit(struct zg_dev *dev, uint64_t bytes);

/* Write disksize alone (bytes); -EBUSY once initialised. */
int zg_set_disksize(struct zg_dev *dev, uint64_t bytes);

/* initstate: 1 initialised, 0 not, or negative errno. */
int zg_initstate(struct zg_dev *dev);

/* ---- statistics -------------------------------------------------------- */

/* Fields the running kernel does not report hold ZG_ABSENT; a whole
 * attribute that is absent sets present = false.  Neither is an error. */
#define ZG_ABSENT UINT64_MAX

struct zg_mm_stat {
	bool present;
	uint64_t orig_data_size;   /* bytes */
	uint64_t compr_data_size;  /* bytes */
	uint64_t mem_used_total;   /* bytes */
	uint64_t mem_limit;        /* bytes */
	uint64_t mem_used_max;     /* bytes */
	uint64_t same_pages;
	uint64_t pages_compacted;
	uint64_t huge_pages;
	uint64_t huge_pages_since;
};

struct zg_io_stat {
	bool present;
	uint64_t failed_reads;
	uint64_t failed_writes;
	uint64_t invalid_io;       /* always 0 on recent kernels */
	uint64_t notify_free;
};

struct zg_bd_stat {           /* counts in 4 KiB units */
	bool present;
	uint64_t bd_count;
	uint64_t bd_reads;
	uint64_t bd_writes;
};

struct zg_stats {
	struct zg_mm_stat mm;
	struct zg_io_stat io;
	struct zg_bd_stat bd;
};

/* Read and parse mm_stat, io_stat and bd_stat. */
int zg_read_stats(struct zg_dev *dev, struct zg_stats *st);

/* ---- features ---------------------------------------------------------- */

enum zg_feature {
	ZG_F_ALGORITHM_PARAMS  = 1u << 0,
	ZG_F_RECOMP_ALGORITHM  = 1u << 1,
	ZG_F_RECOMPRESS        = 1u << 2,
	ZG_F_WRITEBACK         = 1u << 3,
	ZG_F_BACKING_DEV       = 1u << 4,
	ZG_F_WRITEBACK_LIMIT   = 1u << 5,
	ZG_F_IDLE              = 1u << 6,
	ZG_F_COMPACT           = 1u << 7,
	ZG_F_MM_STAT           = 1u << 8,
	ZG_F_IO_STAT           = 1u << 9,
	ZG_F_BD_STAT           = 1u << 10,
	ZG_F_DEBUG_STAT        = 1u << 11,
	ZG_F_MEM_USED_MAX      = 1u << 12,
	ZG_F_MAX_COMP_STREAMS  = 1u << 13,
	ZG_F_WRITEBACK_BATCH   = 1u << 14,   /* writeback_batch_size (≈6.19)   */
	ZG_F_COMPRESSED_WB     = 1u << 15,   /* compressed_writeback (7.0) or
	                                        writeback_compressed: renamed */
};
#define ZG_F_COUNT 16

/* Bit mask of the features (attributes) zramN has; negative errno if the
 * device does not exist. */
int zg_features(struct zg_dev *dev, unsigned *mask);

/* The attribute name of one feature bit, or NULL. */
const char *zg_feature_name(unsigned bit);

#define ZG_ALGOS_MAX 16
#define ZG_ALGO_NAME_MAX 32

struct zg_algorithms {
	int count;
	int active;                        /* index of the [active] one, or -1 */
	char name[ZG_ALGOS_MAX][ZG_ALGO_NAME_MAX];
};

/* Parse comp_algorithm: the algorithms the kernel offers and the active one. */
int zg_algorithms(struct zg_dev *dev, struct zg_algorithms *out);

/* ---- triggers (-EOPNOTSUPP when the kernel lacks the attribute) -------- */

int zg_mark_idle(struct zg_dev *dev, const char *arg);   /* "all" or secs */
int zg_writeback(struct zg_dev *dev, const char *arg);   /* "idle", "huge"... */
int zg_recompress(struct zg_dev *dev, const char *arg);  /* "type=idle ..." */
int zg_compact(struct zg_dev *dev);

/* ---- maintenance (maint.c) ----------------------------------------------
 * What a kernel lacks is -EOPNOTSUPP with the Kconfig option in the hint,
 * never a silent no-op: the caller says it once. */

/* Mark slots not accessed for secs seconds idle ("idle SECS").  Needs
 * CONFIG_ZRAM_TRACK_ENTRY_ACTIME (or MEMORY_TRACKING); without it the
 * kernel refuses the number: -EOPNOTSUPP here (mark "all" instead). */
int zg_mark_idle_age(struct zg_dev *dev, unsigned secs);

/* Writeback budget: writeback_limit_enable = 1 and writeback_limit = pages
 * (4 KiB units; once enabled, the kernel writes nothing until it is set). */
int zg_set_writeback_limit(struct zg_dev *dev, uint64_t pages);
/* No budget: writeback_limit_enable = 0 (writeback unbounded). */
int zg_writeback_limit_off(struct zg_dev *dev);
/* The backing device the kernel holds ("" for none) into buf.
 * -EOPNOTSUPP without CONFIG_ZRAM_WRITEBACK. */
int zg_backing_dev(struct zg_dev *dev, char *buf, size_t len);
/* What is left of the budget (4 KiB units), and whether it is enforced. */
int zg_writeback_limit(struct zg_dev *dev, uint64_t *pages, bool *enabled);

/* Recompress slots of type ("idle", "huge", "huge_idle") larger than
 * threshold bytes (0: any) with the secondary algorithm (priority 1);
 * max_pages 0: no bound.  -EOPNOTSUPP without MULTI_COMP. */
int zg_recompress_pages(struct zg_dev *dev, const char *type, uint64_t threshold,
			uint64_t max_pages);

/* ---- kernel modules (libkmod) ------------------------------------------ */

enum zg_mod_state {
	ZG_MOD_UNKNOWN,
	ZG_MOD_BUILTIN,      /* compiled into the kernel: nothing to load     */
	ZG_MOD_LIVE,         /* a module, already loaded                      */
	ZG_MOD_LOADED,       /* a module, loaded by this call                 */
	ZG_MOD_UNAVAILABLE,  /* not present and cannot be loaded             */
};

struct zg_module {
	char name[64];
	char options[128];
	char release[65];          /* uname -r */
	char modules_dir[128];     /* /lib/modules/<release> */
	enum zg_mod_state state;
	bool have_modules_dir;     /* /lib/modules/<release> exists */
	bool kernel_modules;       /* kernel has module support (/proc/modules) */
	int err;                   /* 0, or the negative errno returned */
};

/*
 * Make module name available: 0 when it is built in, already loaded or
 * loaded now with options (options apply only when we load it).  Errors:
 *   -ENOPKG  loading is impossible on this kernel: no module support or no
 *            /lib/modules/<release> (and the module is not built in)
 *   -ENOENT  the modules directory exists but has no such module
 *   -EPERM   blacklisted in modprobe.d
 *   other    from the kernel's init_module
 * info (may be NULL) receives the details for zg_module_message().
 */
int zg_module_load(const char *name, const char *options, struct zg_module *info);

/* One line describing info, e.g. "zram: cannot load module: no modules for
 * kernel 6.18.1 (/lib/modules/6.18.1 missing); zram is built in". */
const char *zg_module_message(const struct zg_module *info, char *buf, size_t len);

#endif
