/*
 * ztublk.h — ztier's tiered ublk device: the public API of ublk/.
 *
 * One server process serves one /dev/ublkbN.  Its pages live where the policy
 * says: same-filled pages only in the page table (meta), compressible pages in
 * a userspace compressed store or a kernel zram device the server creates
 * for itself, incompressible ones on a spill device (NVMe or file).  The
 * server core (control commands,
 * one thread + one io_uring per queue) knows nothing about tiers: a target
 * ("tiered" or the no-store "null" plumbing baseline) plugs in behind one ops
 * table, like the kernel's kublk selftest server.
 *
 * The API has four parts:
 *   - struct ztu_config: what one server serves, resolved once from a
 *     policy (ztu_config_from_policy), flat so that it can be saved.
 *   - ztu_server_run(): run a device in this process until it is stopped;
 *     reports LIVE (or the first error) through a callback, so the CLI can
 *     daemonize and return only once the device is usable.
 *   - ztu_dev_del() / ztu_dev_info(): control commands from any process.
 *   - ztu_stats_read() / ztu_dev_sections() / ztu_dev_owned(): the live
 *     statistics a server publishes in a small shared file
 *     /run/ztier/ublk/ID.stats, readable from any process; what is the
 *     target's own (the zram tier) comes from the target's hooks.
 * The library never prints: programs render its data.
 *
 * Errors are negative errno values; *msg (when given) gets a short context
 * such as the path or the control command that failed.
 */
#ifndef ZT_UBLK_H
#define ZT_UBLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "policy/policy.h"
#include "zramctl-glue/zramctl_glue.h"

#define ZTU_CONTROL_PATH "/dev/ublk-control"
#define ZTU_RUN_DIR      "/run/ztier/ublk"
#define ZTU_MAX_QUEUES   16
#define ZTU_MSG_MAX      256

enum ztu_target_kind { ZTU_TARGET_TIERED, ZTU_TARGET_NULL };

/* Exactly what one server serves, resolved once (RAM fractions against one
 * reading of MemTotal, on the machine that runs it): no policy, no file
 * names, nothing to resolve again downstream.  Saved and read back by
 * ztu_config_save/ztu_config_load: a field added here needs its key in
 * config_text.c. */
struct ztu_config {
	char name[ZT_NAME_MAX];       /* the policy's name (list, stats)       */
	enum ztu_target_kind target;
	uint64_t size;                /* bytes, multiple of 4 KiB              */
	unsigned queues;              /* 1..ZTU_MAX_QUEUES                     */
	unsigned depth;               /* 1..4096                               */
	uint32_t io_buf_bytes;        /* per-tag buffer, ztu_io_buf_bytes(queues,
	                                 depth): the largest request but on a
	                                 zero-copy device (ztier-ublk(8))      */
	uint64_t mem_limit;           /* store memory limit in bytes           */
	bool commit_upfront;          /* store and table committed at start    */
	struct zt_thresholds thresholds;
	struct zt_class_rule rule[ZT_CLASS_COUNT];
	struct zg_spec zram;          /* used when a rule names the zram tier
	                                 (disksize 0: [zram] size unset)       */
	char spill_path[ZT_PATH_MAX]; /* "" = no spill tier                    */
	uint64_t spill_size;          /* bytes for a file spill (0: file size) */
	bool spill_encrypt;           /* through dm-crypt, a key of this setup
	                                 (spill_crypt.c); false: plaintext     */
	char state_path[ZT_PATH_MAX]; /* "": table, store and slot maps in the
	                                 process; else a new shared state there
	                                 (state.h; ztier-ublk add --state)     */
	unsigned demote_age;          /* seconds a store page stays unread
	                                 before it moves to spill (the policy's
	                                 writeback-idle-age; 0: never; demote.h) */
	uint64_t demote_budget;       /* bytes a day (writeback-budget; 0: any) */
};

/* Does a spill target name a device: a path in /dev, by name or because its
 * directory resolves there?  Such a target is opened, never created: absent,
 * it is "not present" (ENOENT; ztierd looks first, and waits for it). */
bool ztu_path_is_device(const char *path);

/* Request buffers.  A queue keeps one buffer per tag, locked (mlockall) and
 * faulted in before the device starts (a swap server must never allocate
 * while it serves), so they are a fixed cost whatever the device stores:
 * all of a device's buffers together stay within ZTU_IO_BUF_BUDGET.  The
 * buffer, and with it the largest request (max_sectors; a zero-copy device
 * of 256 tags or fewer takes 1 MiB requests whatever its buffer), is the largest
 * power of two up to ZTU_IO_BUF_MAX that fits queues x depth of them in
 * the budget, at least one page: 1 x 128 tags get 128 KiB, 2 x 128 get
 * 64 KiB, 4 x 256 get 16 KiB; larger requests are split by the kernel.
 * More than ZTU_IO_BUF_BUDGET / 4096 = 4096 tags is refused (config check).
 * The other fixed costs of a server, per device, queue and tag, are in
 * srv.h. */
#define ZTU_IO_BUF_BUDGET (16u << 20)
#define ZTU_IO_BUF_MAX    (512u << 10)
/* The per-tag buffer for queues x depth tags; 0 if even a page each would
 * pass the budget (or queues or depth is 0). */
uint32_t ztu_io_buf_bytes(unsigned queues, unsigned depth);

/* Resolve a validated policy into *cfg (the only place a policy's sizes are
 * resolved for a server); command-line flags may override fields after. */
void ztu_config_from_policy(struct ztu_config *cfg, const struct zt_policy *p);

/* Check a config before anything is created; on error *msg says why. */
int ztu_config_check(const struct ztu_config *cfg, char *msg, size_t len);

/* A zram spec as written (a policy's [zram], a ztier.conf [zram-swap])
 * resolved against ram bytes of RAM: what zg_create() takes.  The one place
 * such a spec is resolved, for the zram tier and for ztierd's zram swap. */
void ztu_zram_resolve(const struct zt_zram_spec *s, uint64_t ram, struct zg_spec *out);

/* Does any class (tier or fallback) go to the zram tier? */
bool ztu_config_wants_zram(const struct ztu_config *cfg);

/* Write cfg to fd / read it back (config_text.c): `key=value` lines that
 * any later ztier-ublk reads, for a server to be restarted, recovered or
 * adopted with exactly what it served, by this build or a newer one.  Load:
 * 0, or -EPROTO (not a config this build reads: *msg says FILE:LINE and
 * why) or another -errno with *msg; path only names the file in *msg. */
int ztu_config_save(int fd, const struct ztu_config *cfg);
int ztu_config_load(int fd, const char *path, struct ztu_config *cfg, char *msg, size_t len);
/* The config's identity, kept in its state's header: a hash of its saved
 * lines, so the same config gives the same identity in every version. */
uint64_t ztu_config_id(const struct ztu_config *cfg);

/* spill_crypt.c: a block device (or file) used only through a dm-crypt
 * mapping with a key of this setup (the spill tier; ztierd's zram backing
 * devices).  The mapping's identity (from the backing fd: device number,
 * or a file's device and inode; 0 on error), its name, its setup (mapped:
 * the /dev/mapper path; recovering: keep an existing one and its key) and
 * its removal. */
uint64_t ztu_crypt_id_of(int backing_fd);
void ztu_crypt_name(uint64_t id, char *name, size_t len);
int ztu_crypt_setup(int backing_fd, bool recovering, char *mapped, size_t mlen,
		    char *msg, size_t len);
int ztu_crypt_remove(uint64_t id, char *msg, size_t len);

/* Called once: dev_id >= 0 when the device is LIVE, or err < 0 and a message
 * when starting failed (the device was deleted again). */
typedef void (*ztu_ready_fn)(void *ctx, int dev_id, int err, const char *msg);

/* Create, start and serve a device until it is stopped (ztu_dev_del from
 * another process, or SIGTERM/SIGINT to this one).  Returns 0 after a clean
 * stop, or a negative errno. */
int ztu_server_run(const struct ztu_config *cfg, ztu_ready_fn ready, void *ctx);

/* Run ztu_server_run() in a detached child (own session, stdin/stdout on
 * /dev/null, stderr too unless keep_stderr, no inherited fds).  Returns the
 * child's pid, *report_fd the pipe it reports on; or a negative errno. */
pid_t ztu_server_spawn(const struct ztu_config *cfg, bool keep_stderr, int *report_fd);
/* Take over /dev/ublkbID after its server died: the device must have been
 * made with a state file (cfg->state_path, ztier-ublk add --state) and be
 * quiesced; cfg is the one saved when it was added (ztu_recover_config).
 * The same contract as ztu_server_run / ztu_server_spawn otherwise. */
int ztu_server_recover(const struct ztu_config *cfg, int dev_id, ztu_ready_fn ready, void *ctx);
pid_t ztu_server_spawn_recover(const struct ztu_config *cfg, int dev_id, int *report_fd);
/* The config saved for /dev/ublkbID when it was added with a state file:
 * 0, or -errno with msg (-EOPNOTSUPP: no state file, nothing to recover). */
int ztu_recover_load_config(int dev_id, struct ztu_config *cfg, char *msg, size_t len);
/* Could this binary take /dev/ublkbID over: does it read the device's
 * saved config, and do its state's header and its spill (the disk there,
 * its size) fit that config?  Nothing is changed, so it is safe while the
 * device's server runs (a live upgrade asks before it ends the old
 * server).  0, or -errno with msg. */
int ztu_recover_check(int dev_id, char *msg, size_t len);

/* Read the child's report (closes report_fd): 0 and *dev_id once LIVE;
 * -EIO with *msg the server's error; -ETIMEDOUT after timeout_ms. */
int ztu_server_wait_live(int report_fd, int timeout_ms, int *dev_id, char *msg, size_t len);

/* ---- control commands from any process ------------------------------------ */

struct ztu_dev_info {
	int dev_id;
	unsigned queues, depth;
	unsigned state;               /* UBLK_S_DEV_*                          */
	uint32_t max_io_buf_bytes;
	int pid;                      /* server pid                            */
	uint64_t flags;               /* negotiated UBLK_F_*                   */
	uint64_t size;                /* bytes (GET_PARAMS; 0 if none set)     */
};

bool ztu_control_present(void);
/* The running kernel's UBLK_F_* bits (GET_FEATURES, 6.5+): 0 or -errno. */
int ztu_features(uint64_t *features);
int ztu_dev_info(int dev_id, struct ztu_dev_info *out);
/* STOP_DEV, wait for the server process to exit, reap what a killed
 * server's target left (its zram device), DEL_DEV.  On error *msg says
 * which step failed. */
int ztu_dev_del(int dev_id, char *msg, size_t len);
/* The graceful handover (6.16+): ask /dev/ublkbID's server to go with
 * QUIESCE_DEV.  It finishes and commits the requests it holds and exits on
 * its own, its state kept; the kernel holds new I/O and the device ends up
 * QUIESCED, for ztu_server_recover.  Waits up to timeout_ms for the
 * command and again for the server to exit; *server_pid is the pid that
 * was asked (0: the device already waited for a server).  0, or -errno
 * with *msg: -EOPNOTSUPP when the device was not made with UBLK_F_QUIESCE
 * (a 6.12 kernel: use the kill-based handover); after any other error the
 * device holds its I/O until its server is gone, so the caller kills it. */
int ztu_dev_quiesce(int dev_id, int timeout_ms, int *server_pid, char *msg, size_t len);
/* Ids of existing devices (from /sys/class/ublk-char), ascending. */
int ztu_dev_list(int *ids, int max);
const char *ztu_state_name(unsigned state);

/* ---- statistics -------------------------------------------------------------- */

/* Pages currently held per tier (ZT_TIER_NONE: never written/discarded is not
 * counted), writes per class, request counters, store and spill usage. */
struct ztu_stats {
	int dev_id, pid;
	char target[16];
	char policy[ZT_NAME_MAX];
	uint64_t size;
	int64_t pages[ZT_TIER_COUNT];
	uint64_t class_writes[ZT_CLASS_COUNT];
	uint64_t reads, writes, discards, flushes, write_zeroes, errors;
	uint64_t enospc;              /* writes failed for the memory limit     */
	uint64_t store_pages;         /* pages in the compressed store          */
	uint64_t store_bytes;         /* their compressed bytes                 */
	uint64_t mem_used;            /* store memory in use (arenas)           */
	uint64_t mem_limit;
	uint64_t mem_in_use;          /* store segments holding pages or open   */
	uint64_t mem_reserve;         /* empty committed segments (reserve)     */
	uint64_t mem_meta;            /* the store's own tables                 */
	uint64_t fallback_reserve;    /* store puts refused: reserve empty      */
	uint64_t fallback_limit;      /* ... at the memory limit                */
	uint64_t compactions;         /* compaction passes that moved pages     */
	uint64_t compact_pages;       /* pages moved                            */
	uint64_t compact_bytes;       /* bytes copied by those moves            */
	uint64_t compact_freed;       /* bytes of segments compaction emptied   */
	uint64_t compact_raced;       /* moves dropped: the page was rewritten  */
	uint64_t spill_slots_used, spill_slots_total;
	uint64_t demoted;             /* store pages moved to spill, idle      */
	uint64_t demoted_bytes;       /* their stored (compressed) bytes       */
	uint64_t promoted;            /* spill pages put back in the store     */
	uint64_t zc_reads;            /* block-tier pages read with no copy    */
	int64_t demote_age;           /* seconds; -1: no demotion              */
	int64_t demote_budget_left;   /* bytes today; -1: no limit             */
};

int ztu_stats_read(int dev_id, struct ztu_stats *out);

/* ---- a device's figures as data, for `list` and ztierctl -------------------- */

/* One figure.  The library never prints: a program renders each section
 * as one text line ("\tNAME key value ...") or one JSON member
 * ("NAME":{"key":value,...}) from the same data (ublk/main.c). */
enum ztu_field_type {
	ZTU_F_NUM,                    /* num                                   */
	ZTU_F_PAIR,                   /* num/num2: text "used/total", JSON
	                                 key_used and key_total                */
	ZTU_F_RATIO,                  /* ratio, two decimals                   */
	ZTU_F_TEXT,                   /* text                                  */
	ZTU_F_LABEL,                  /* text, shown without its key in text   */
};

struct ztu_field {
	const char *key;              /* a static string                       */
	enum ztu_field_type type;
	int64_t num, num2;
	double ratio;
	char text[64];
};

#define ZTU_FIELDS_MAX   16
#define ZTU_SECTIONS_MAX 10

struct ztu_section {
	const char *name;             /* "pages", "store", "zram", ...         */
	unsigned n;
	struct ztu_field f[ZTU_FIELDS_MAX];
};

/* The live device's sections: the core's (target, pages, writes, store,
 * spill, requests), then its target's own (the tiered target: zram).
 * Count, or -errno (-ESRCH: no server). */
int ztu_dev_sections(int dev_id, struct ztu_section *out, unsigned max);

/* Block devices a device's target made for itself (the zram tier's
 * "zram3"), so that tools show them as part of it.  Count or -errno. */
#define ZTU_DEVNAME_MAX 32
int ztu_dev_owned(int dev_id, char names[][ZTU_DEVNAME_MAX], int max);

#endif
