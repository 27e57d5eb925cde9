/*
 * daemon.h — internal header of ztierd (manager/ztierd.c + manager/daemon_*.c).
 *
 * ztierd turns configuration into swap stacks and keeps them running:
 *
 *   ztier.conf (daemon_ztierconf.c) [ztierd] paths and log level, and the
 *                                plain zram swap devices as [zram-swap NAME]
 *   loading    (daemon_load.c)   ztier.conf + policies -> the list of stacks
 *   policy.d   (daemon_dropin.c) one ztier device per NAME.conf, drop-ins in
 *                                NAME.conf.d/ *.conf, /usr < /etc < /run, masking
 *   stacks     (daemon_stack.c)  build in order, tear down in reverse; a failed
 *                                step undoes the steps before it
 *   swap/fs    (daemon_swap.c)   mkswap + swapon(2), mkfs + mount(2)
 *   servers    (daemon_ublk.c)   one forked ztu_server_run() child per device,
 *                                supervised through a pidfd
 *   udev       (daemon_udev.c)   monitor before enumeration; spill devices come
 *                                and go; generated rules for declared targets
 *   control    (daemon_ctl.c, daemon_request.c)  /run/ztier/ztierd.sock, one
 *                                text request per connection, root only
 *   jobs       (daemon_job.c)    the job thread; the snapshot (daemon_snap.c)
 *   actions    (daemon_actions.c) all up/down, reload, add, del
 *   fd registry (daemon_watch.c) what the epoll loop waits on
 *   notify     (daemon_notify.c) the summary line, sd_notify READY/STATUS
 *
 * Two threads (daemon_job.c).  The loop (ztierd.c) answers: signals, the
 * control clients (daemon_ctl.c: many at once, each with its own buffer
 * and deadline), ping and status.  Everything that touches the stacks, which
 * can take minutes (swapoff, mkfs, a server's start, teardown), is a job run
 * by one job thread: a request (up, down, add, del, attach, detach, reload),
 * a SIGHUP reload, the stacks' events (udev, a server's pidfd) and the
 * teardown at SIGTERM.  One job at a time: a second request meanwhile is
 * refused with "busy: JOB"; a SIGHUP, the events and SIGTERM wait for it.
 *
 * Ownership (the one rule for shared state):
 *   - d->stacks, d->nstacks, d->conf, d->udev/mon, d->have_ublk and every
 *     fd in d->epfd belong to the job thread while a job runs, to the main
 *     thread otherwise (start-up, and after the last job).  The handover is
 *     pthread_create / pthread_join, which order the memory; the loop never
 *     reads a stack, it only starts and joins jobs.
 *   - d->epfd (udev monitor, server pidfds) is in the loop's set only while
 *     no job runs; readable, it starts the events job.
 *   - What the loop shows of the stacks is the snapshot (d->snap, the status
 *     lines; "starting"/"stopping" for the stack a job works on), written by
 *     the owner through zd_publish() and read by the loop, both under
 *     d->snap_lock; nothing else is shared.
 * Every event is one log line naming the stack, the step and the reason.
 * Calls go one way, ztierd.c -> daemon_ctl.c -> daemon_job.c ->
 * daemon_actions.c -> daemon_load.c -> daemon_udev.c -> daemon_stack.c ->
 * leaves (ublk, swap, watch, publish, ...): no file calls one before it.
 */
#ifndef ZT_MANAGER_DAEMON_H
#define ZT_MANAGER_DAEMON_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "policy/policy.h"

struct udev;
struct udev_monitor;

/* ZT_RUNSTATEDIR is in build/paths.h, which the users of these include. */
#define ZD_DEATHS_MAX    32     /* recover-limit's count at most          */
#define ZD_RUN_DIR       ZT_RUNSTATEDIR "/ztier"
#define ZD_SOCKET_PATH   ZD_RUN_DIR "/ztierd.sock"
#define ZD_RULES_PATH    "/run/udev/rules.d/61-ztier-spill.rules"
#define ZD_REQUEST_MAX   1024      /* bytes of one request line, newline included */
#define ZD_STACKS_MAX    32
#define ZD_DIRS_MAX      8
#define ZD_CLIENTS_MAX   64        /* control clients served at once */
#define ZD_MAINT_KEYS    16        /* zt_maint_keys fit (10 today)   */

/* ---- logging (daemon_log.c) ------------------------------------------------ */

enum zd_level { ZD_ERR = 3, ZD_WARN = 4, ZD_INFO = 6, ZD_DEBUG = 7 };

void zd_log_set_level(enum zd_level l);
/* What starts each line in a terminal: "ztierd" (default); "" for none
 * (ztierctl config check prints FILE:LINE: message as it is). */
void zd_log_set_tag(const char *tag);
int zd_level_parse(const char *s);               /* -EINVAL if unknown */
/* One line on stderr; with a "<N>" prefix under systemd (JOURNAL_STREAM). */
void zd_log(enum zd_level l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A zt_policy_report_fn: "FILE:LINE: message" as an error line. */
void zd_log_problem(void *ctx, const char *file, int line, const char *msg);

/* ---- drop-in directories (daemon_dropin.c, pure: only reads directories) --- */

struct zd_file {
	char name[256];              /* basename, e.g. "10-db.conf"            */
	char path[ZT_PATH_MAX];      /* the winning file                       */
};

struct zd_filelist {
	unsigned n, cap;
	struct zd_file *v;
};

/* The *.conf files of dirs[0..ndirs) (lowest precedence first), in lexical
 * order of name; a name in a later dir replaces the earlier one; a name whose
 * winner is a symlink to /dev/null is masked and left out.  Names must end in
 * suffix.  Missing directories are skipped.  0 or -errno. */
int zd_dropins_collect(const char *const *dirs, unsigned ndirs, const char *suffix,
		       struct zd_filelist *out);
void zd_filelist_free(struct zd_filelist *l);
/* True when path is a symlink to /dev/null (a mask). */
bool zd_is_masked(const char *path);

/* ---- ztier.conf (daemon_ztierconf.c) ----------------------------------------- */

struct zd_zswap {                /* [zram-swap NAME] in ztier.conf          */
	char name[ZT_NAME_MAX];
	struct zt_zram_spec zram;     /* size required; mem_limit 0: none       */
	int priority;                 /* -1: kernel default                     */
	bool discard;
	uint64_t host_memory_limit;   /* not created with more RAM; 0: none     */
	struct zt_maint maint;        /* idle writeback, recompression         */
	int line;                     /* for messages                           */
	int maint_line;               /* the last maintenance key (0: none)     */
	int maint_key_line[ZD_MAINT_KEYS]; /* where each of zt_maint_keys was set */
};

struct zd_conf {
	char path[ZT_PATH_MAX];       /* the file read ("" = none found)        */
	char socket[108];
	char policy_dirs[ZD_DIRS_MAX][ZT_PATH_MAX];
	unsigned npolicy_dirs;
	int level;
	unsigned recover_deaths;      /* recover-limit: this many server deaths */
	unsigned recover_seconds;     /* within this long is a crash loop       */
	bool zswap_keep;              /* zswap = keep (default disable: off while
	                                 swap stacks are up; daemon_zswap.c)    */
	int page_cluster;             /* page-cluster = N, -1: keep (default;
	                                 daemon_pagecluster.c)                  */
	unsigned nzswap;
	struct zd_zswap zswap[ZD_STACKS_MAX];
};

void zd_conf_default(struct zd_conf *c);
/* Read path on top of *c.  Problems are logged as FILE:LINE: message; returns
 * the number of problems, or -errno when the file cannot be read (logged
 * too: not a regular file, too large, a read error). */
int zd_conf_load(struct zd_conf *c, const char *path);

/* ---- control requests (daemon_request.c, pure) ---------------------------- */

enum zd_verb {
	ZD_REQ_STATUS, ZD_REQ_UP, ZD_REQ_DOWN, ZD_REQ_ADD, ZD_REQ_DEL,
	ZD_REQ_ATTACH, ZD_REQ_DETACH, ZD_REQ_RELOAD, ZD_REQ_PING, ZD_REQ_RESTART,
	ZD_REQ_COUNT
};

struct zd_request {
	enum zd_verb verb;
	char arg[ZT_PATH_MAX];        /* "" when the verb takes none / none given */
};

/* Parse one request line ("down db\n").  buf holds len bytes (no NUL needed).
 * Returns 0, or -EMSGSIZE (too long / no newline within ZD_REQUEST_MAX),
 * -EINVAL (unknown verb, bad characters, missing or extra argument); *why
 * gets a short reason for the error reply. */
int zd_request_parse(const char *buf, size_t len, struct zd_request *r,
		     const char **why);
const char *zd_verb_name(enum zd_verb v);

/* ---- stacks (daemon_stack.c) ------------------------------------------------- */

enum zd_kind { ZD_KIND_ZRAM, ZD_KIND_ZTIER };

/* A zram device's maintenance (daemon_maint.c), reset when it is built. */
#define ZD_SUSP_SAMPLES 32
struct zd_maint {
	bool probed;                  /* features read at the first pass        */
	bool can_wb, can_recomp;      /* configured and the kernel has it       */
	bool wb_built, recomp_built;  /* a backing device / second algorithm set
	                                 at creation (only then can they be)   */
	bool aged_idle;               /* the kernel takes "idle SECS"           */
	bool recompressed;            /* in this mark-all epoch                 */
	long long mark_ms;            /* mark-all epoch start, monotonic; 0 none */
	long long last_ms;            /* the last pass, monotonic; 0 none       */
	long long day_ms;             /* budget last granted, boottime; 0 never */
	/* (monotonic, suspended) ms at the passes: ages discount suspend */
	long long susp_mono[ZD_SUSP_SAMPLES], susp_ms[ZD_SUSP_SAMPLES];
	unsigned nsusp;
	/* what the passes measured, for status and the metrics */
	time_t last_wall;             /* the last pass, wall clock; 0 none      */
	int64_t idle_marked;          /* pages the last mark-all marked; -1: not
	                                 counted (marked by age, or none yet)   */
	uint64_t wb_pages;            /* written back since built (bd_stat)     */
	uint64_t wb_today;            /* ... since today's budget was granted   */
	int64_t budget_left;          /* writeback_limit after the last pass,
	                                 pages; -1: not enforced / not read     */
	unsigned recompressions;      /* recompress passes that ran             */
	uint64_t recomp_saved;        /* bytes compr_data_size shrank by in them */
	char note[200];               /* what the kernel lacks, for status      */
	uint64_t crypt_id;            /* the backing device's dm-crypt mapping  */
};

enum zd_state {
	ZD_ST_DOWN,       /* not built (stopped or never started)         */
	ZD_ST_WAITING,    /* waiting for its spill device to appear        */
	ZD_ST_UP,
	ZD_ST_DEGRADED,   /* its server died; the device is not served     */
	ZD_ST_FAILED,     /* a build step failed; nothing of it remains    */
};

struct zd_stack {
	enum zd_kind kind;
	char name[ZT_NAME_MAX];
	enum zd_state state;
	char reason[256];             /* why FAILED / DEGRADED / WAITING        */
	enum zd_busy { ZD_IDLE, ZD_STARTING, ZD_STOPPING } busy; /* a job's step */
	bool unavailable;             /* FAILED: the kernel has no driver for it */
	bool removed;                 /* config no longer declares it           */
	bool added;                   /* from `ztierctl add`: kept on reload    */
	bool detached;                /* detached on request: no auto-attach
	                                 until the device goes away            */

	/* configuration */
	struct zd_zswap zswap;        /* ZD_KIND_ZRAM (read only when built)    */
	struct zt_policy *policy;     /* ZD_KIND_ZTIER (heap: it is large); of
	                                 an UP/DEGRADED stack: the one in force */
	char spill[ZT_PATH_MAX];      /* resolved spill path, "" = none         */
	/* A reload while the stack is built does not replace its policy: the
	 * new one waits here and is applied at the next up (NULL with
	 * has_pending: the new policy is invalid, pending_reason says why). */
	bool has_pending;
	struct zt_policy *pending;
	char pending_reason[256];

	/* what was built (undone in reverse) */
	int zram_id;                  /* -1 none                                */
	int ublk_id;                  /* -1 none                                */
	pid_t server_pid;             /* 0 none                                 */
	int pidfd;                    /* -1 none                                */
	char dev[64];                 /* /dev/zramN, /dev/ublkbN                */
	dev_t rdev;                   /* its device number (swapoff if deleted) */
	bool swap_on;
	bool mounted;
	int prio;                     /* swap priority in force (swap_on)       */
	char mnt[ZT_PATH_MAX];        /* where it is mounted (mounted)          */
	/* the shared state its pages live in (daemon_recover.c) */
	char state_path[ZT_PATH_MAX]; /* "" none: pages die with the server   */
	void *state_map;              /* ztierd's locked mapping of it         */
	size_t state_len;
	unsigned recoveries;          /* servers replaced since it was built    */
	time_t last_recovery;
	time_t deaths[ZD_DEATHS_MAX]; /* the last deaths: a crash loop stops    */
	struct zd_super *super;       /* its supervising thread (a server with a
	                                 state): it holds server_pid, pidfd and
	                                 the recovery fields meanwhile          */
	struct zd_maint maint;        /* its zram device's (a ztier: its tier's) */
};

/* What a supervising thread shows of its server (daemon_supervise.c). */
struct zd_super_view {
	pid_t pid;                    /* 0: dead, not served again              */
	int pidfd;
	unsigned recoveries;
	time_t last_recovery;
	bool gave_up;                 /* a crash loop, or a recovery failed     */
	char reason[160];
};

/* What an event of the loop's epoll set is (its data.u64). */
enum zd_tag { ZD_TAG_SIGNAL, ZD_TAG_LISTEN, ZD_TAG_STACKS, ZD_TAG_JOB, ZD_TAG_SUPER,
	      ZD_TAG_CLIENT = 16 };

/* One control connection (daemon_ctl.c), owned by the loop. */
struct zd_client {
	int fd;                       /* -1: free slot                          */
	enum { ZD_CL_READ, ZD_CL_JOB, ZD_CL_WRITE } phase;
	long long deadline;           /* ms, CLOCK_MONOTONIC: READ and WRITE    */
	size_t got, drained;          /* drained: bytes dropped past buf        */
	char buf[ZD_REQUEST_MAX];
	char *out;                    /* the reply (malloc'd), out_len bytes    */
	size_t out_len, sent;
};

enum zd_job_kind { ZD_JOB_REQUEST, ZD_JOB_RELOAD, ZD_JOB_EVENTS, ZD_JOB_STOP, ZD_JOB_MAINT };

/* The job in progress (daemon_job.c).  The loop fills it before
 * pthread_create and reads reply after pthread_join; the job thread writes
 * reply only. */
struct zd_job {
	bool running;
	bool threaded;                /* false: ran inline (no thread could start) */
	enum zd_job_kind kind;
	int result;                   /* ZD_JOB_STOP: stacks left up            */
	struct zd_request req;        /* ZD_JOB_REQUEST                         */
	struct zd_client *client;     /* who waits for the reply, or NULL      */
	char what[ZT_PATH_MAX + 32];  /* for "busy: ..." and the log            */
	long long since;              /* ms, CLOCK_MONOTONIC                    */
	pthread_t thread;
	int donefd;                   /* eventfd: the thread is done           */
	char *reply;                  /* malloc'd "ok\n..." / "error ...\n"    */
	size_t reply_len;
};

/* The kernel's zswap as ztierd found and left it (daemon_zswap.c). */
struct zd_kzswap {
	bool present;                 /* /sys/module/zswap/parameters exists    */
	bool enabled;                 /* as last read                           */
	int max_pool_percent;         /* -1: not read                           */
	bool ours;                    /* ztierd turned it off: restored at stop */
	bool said_keep;               /* "kept" logged once                     */
};

struct zd_daemon {
	struct zd_conf conf;
	const char *conf_path;        /* --config or the default search          */
	const char *policy_file;      /* --policy FILE: this one policy only     */
	const char *opt_policy_dir;   /* --policy-dir DIR: instead of the list   */
	const char *opt_socket;       /* --socket PATH                           */
	const char *root;             /* the system's paths under this (tests)   */
	int opt_level;                /* --log-level, -1: from ztier.conf        */
	uint64_t ram;                 /* MemTotal sizes resolve against; 0: read
	                                 /proc/meminfo at each load (tests set it) */
	bool stopping;
	bool have_ublk;
	bool said_no_ublk;
	bool reload_pending;          /* SIGHUP while a job ran                  */
	struct zd_kzswap kzswap;      /* the stacks' owner's; published as the
	                                 snapshot's "@zswap" line              */
	bool page_cluster_ours;       /* ztierd set vm.page-cluster: restored  */
	int page_cluster_was;         /* to this value (page_cluster_ours)     */
	long long maint_due;          /* ms monotonic of the next maintenance
	                                 job, 0: none; written by the stacks'
	                                 owner, read by the loop between jobs  */
	int epfd;                     /* the stacks' fds: udev, server pidfds    */
	int loopfd;                   /* the loop's epoll: signals, clients, ... */
	int super_fd;                 /* eventfd: a supervisor recovered a server
	                                 (the loop then publishes, by a job)     */
	int sigfd, lfd;
	struct zd_client clients[ZD_CLIENTS_MAX];
	struct zd_job job;
	pthread_mutex_t snap_lock;    /* guards snap, snap_len                   */
	char *snap;                   /* status lines, published by the owner   */
	size_t snap_len;
	struct udev *udev;
	struct udev_monitor *mon;
	unsigned nstacks;
	struct zd_stack stacks[ZD_STACKS_MAX];
};

/* ---- loading (daemon_load.c) ---------------------------------------------------- */

/* Read ztier.conf and the policies into d->stacks (new stacks DOWN; a stack
 * that exists keeps its built state; live-changeable settings are applied,
 * the rest is logged as needing a restart).  Returns problems found; at
 * start (!reload) a ztier.conf that cannot be read or has a problem is
 * -EINVAL, with the problems logged and nothing read. */
int zd_config_read(struct zd_daemon *d, bool reload);
/* One policy file (and, with fname, its drop-ins) loaded and validated
 * into a heap policy; NULL with the problems logged. */
struct zt_policy *zd_policy_load(const struct zd_conf *c, const char *path,
				 const char *fname);

/* ---- what would be built (daemon_plan.c) ------------------------------------ */

/* One line for --dry-run and `ztierctl config check`: the stack with its
 * sizes resolved against ram bytes, priority, class -> tier rules. */
void zd_plan_line(const struct zd_stack *s, uint64_t ram, char *buf, size_t len);
/* ztierd --dry-run: read the configuration as at start, print the plan on
 * out (NULL: nothing), the problems on stderr; 0, or 1 when the
 * configuration has one. */
int zd_dry_run(struct zd_daemon *d, FILE *out);

/* ---- one stack (daemon_stack.c) ------------------------------------------------- */

int zd_stack_up(struct zd_daemon *d, struct zd_stack *s);   /* 0 or -errno */
/* Free a stack's policies (in force and pending). */
void zd_stack_free(struct zd_stack *s);
/* Tear down in reverse.  -EBUSY (with s->reason) when swapoff cannot move the
 * pages back (no room): the stack stays up. */
int zd_stack_down(struct zd_daemon *d, struct zd_stack *s);
struct zd_stack *zd_stack_find(struct zd_daemon *d, const char *name);
const char *zd_state_name(enum zd_state s);
const char *zd_kind_name(enum zd_kind k);
/* One status line (no newline) for `ztierctl status`: name, kind, state,
 * device, spill, priority in force, server pid, reason; tab-separated. */
void zd_stack_status(const struct zd_stack *s, char *buf, size_t len);

/* ---- swap and file systems (daemon_swap.c) --------------------------------- */

int zd_mkswap(const char *dev, const char *label);                 /* 0 / -errno */
int zd_swapon(const char *dev, int priority, bool discard);
int zd_swapoff(const char *dev, dev_t rdev);   /* rdev: when the node is gone */
dev_t zd_rdev(const char *dev);                /* 0 if not a block device */
int zd_mkfs_mount(const char *dev, const char *type, const char *dir);
/* Mount what is on dev already (an adopted file system's device). */
int zd_mount(const char *dev, const char *type, const char *dir);
int zd_umount(const char *dir);
/* daemon_tool.c: run argv (stdout to /dev/null, stderr to ours) and wait
 * for it at most timeout_ms, killing it then: 0 when it exits 0, else -EIO,
 * -ETIMEDOUT or -errno.  With err_text (len >= 1) its stderr is read
 * instead, and the first line kept there: a reason to pass on rather than
 * only log.  zd_run and zd_run_err wait ZD_TOOL_TIMEOUT_MS. */
#define ZD_TOOL_TIMEOUT_MS (300 * 1000)     /* mkfs of a large device */
int zd_run_for(char *const argv[], int timeout_ms, char *err_text, size_t len);
int zd_run(char *const argv[]);
/* A child that SIGKILL did not end (stuck in the kernel) is handed over
 * here, and the loop's zd_child_reap_abandoned reaps it once it exits. */
void zd_child_abandon(pid_t pid);
void zd_child_reap_abandoned(void);
int zd_run_err(char *const argv[], char *err_text, size_t len);
/* PATH for zd_run's programs: fixed, or ZTIERD_TOOL_PATH (ztierd.8). */
void zd_tool_path(void);

/* ---- ublk servers (daemon_ublk.c) ---------------------------------------- */

/* Fork a server for s (policy + spill), wait until it reports LIVE or fails;
 * fills ublk_id, server_pid, pidfd, dev.  *why gets the reason on error. */
int zd_server_start(struct zd_daemon *d, struct zd_stack *s, char *why, size_t len);
/* STOP_DEV + wait + DEL_DEV, reap the child. */
int zd_server_stop(struct zd_stack *s);
/* The pidfd of s became readable: reap, log, mark degraded. */
void zd_server_died(struct zd_daemon *d, struct zd_stack *s);
/* daemon_recover.c: a ztier device's pages outlive its server. */
void zd_state_file(const struct zd_stack *s, char *path, size_t len);
struct ztu_config;
bool zd_state_fits(const struct ztu_config *cfg);
int zd_state_hold(struct zd_stack *s);
void zd_state_release(struct zd_stack *s);
/* Spawn a server that takes over ublk device id (its saved config); the
 * new pid (and *pidfd), or -errno with *why. */
pid_t zd_spawn_recovery(int ublk_id, int *pidfd, char *why, size_t len);

/* daemon_supervise.c: a thread per server with a state recovers it when it
 * dies, whatever job runs.  stop: the thread's fields back into s (before
 * the server is stopped on purpose); view: what it shows (false: none). */
int zd_supervise_start(struct zd_daemon *d, struct zd_stack *s);
/* daemon_restart.c: a new server takes over a live ztier stack's device
 * (the installed ztier-ublk when there is one): 0, or -errno with *why. */
int zd_stack_restart(struct zd_daemon *d, const char *name, char *why, size_t len);
/* daemon_adopt.c: the device an earlier (killed) ztierd left for this swap
 * or [fs] stack, taken over with its server and its swap or mount: 0,
 * -ENOENT (none: build it), or -errno (s->reason says why). */
int zd_adopt(struct zd_daemon *d, struct zd_stack *s);
/* daemon_adopt_fs.c: an [fs] stack's device an earlier ztierd left (mounted
 * on its mount point, or served under its name): -EEXIST with s->reason and
 * one log line saying what to do; -ENOENT when there is none. */
int zd_adopt_fs(struct zd_stack *s);
/* The source of what is mounted on mnt (the topmost mount): 0, -ENOENT. */
int zd_mounted_on(const char *mnt, char *src, size_t len);
/* The first device of ZTU_RUN_DIR that has a file ID<suffix> (".config",
 * ".stats") and that match(ID, arg) accepts: its id, or -1. */
int zd_device_find(const char *suffix, bool (*match)(int id, void *arg), void *arg);
void zd_supervise_stop(struct zd_stack *s);
bool zd_supervise_view(const struct zd_stack *s, struct zd_super_view *v);

/* ---- udev (daemon_udev.c) ----------------------------------------------- */

int zd_udev_start(struct zd_daemon *d);          /* create the monitor      */
void zd_udev_enumerate(struct zd_daemon *d);      /* then the present devices */
void zd_udev_event(struct zd_daemon *d);          /* monitor fd readable      */
void zd_udev_stop(struct zd_daemon *d);
/* Does the block device (devnode + devlinks) match target? */
bool zd_target_matches(const char *target, const char *devnode,
		       const char *const *links, unsigned nlinks);
/* Rewrite ZD_RULES_PATH from the stacks' spill targets (best effort). */
void zd_udev_write_rules(struct zd_daemon *d);
/* attach: the stack waiting for dev (a /dev path or name) builds now. */
int zd_attach(struct zd_daemon *d, const char *dev, char *msg, size_t len);
int zd_detach(struct zd_daemon *d, const char *dev, char *msg, size_t len);

/* ---- control socket (daemon_ctl.c, the loop's) ------------------------------ */

int zd_ctl_listen(const char *path);             /* fd or -errno             */
void zd_ctl_accept(struct zd_daemon *d);          /* lfd readable             */
/* A client's fd is ready (ev: epoll events); ms until the nearest client
 * deadline (-1: none) after serving the clients whose deadline passed. */
void zd_ctl_event(struct zd_daemon *d, struct zd_client *c, unsigned ev);
int zd_ctl_expire(struct zd_daemon *d);
/* After zd_job_done: the job's reply to the client that waits for it. */
void zd_ctl_job_reply(struct zd_daemon *d);
void zd_ctl_close(struct zd_daemon *d);

/* ---- jobs (daemon_job.c; the loop's side) ------------------------------------ */

/* Start a job of kind (req and client for a request); false when one runs
 * (*busy gets "busy: WHAT"). */
bool zd_job_start(struct zd_daemon *d, enum zd_job_kind kind, const struct zd_request *req,
		  struct zd_client *client, char *busy, size_t len);
/* donefd readable: join the thread (its reply stays in d->job for
 * zd_ctl_job_reply).  True when the teardown job finished: the loop ends. */
bool zd_job_done(struct zd_daemon *d);
/* Start what waits (reload, stop, events) if no job runs. */
void zd_job_next(struct zd_daemon *d, bool events_ready);
/* After the loop: wait for the job in progress, tear down unless that was
 * done (torn_down); the number of stacks left up. */
int zd_job_finish(struct zd_daemon *d, bool torn_down);

/* ---- the snapshot (daemon_snap.c) --------------------------------------------- */

/* The owner of the stacks: write the status lines for the loop. */
void zd_publish(struct zd_daemon *d);
/* The loop: "ok\n" + the status lines, malloc'd (NULL: no memory). */
char *zd_snapshot(struct zd_daemon *d, size_t *len);
long long zd_now_ms(void);                       /* CLOCK_MONOTONIC, ms */
/* ---- summary and systemd notification (daemon_notify.c) ------------------ */

/* "2 stack(s) up, 1 waiting for a spill device, ...": zero counts left out. */
void zd_summary(const struct zd_daemon *d, char *buf, size_t len);
void zd_notify_ready(const struct zd_daemon *d);    /* READY=1 and STATUS=   */
void zd_notify_status(const struct zd_daemon *d);   /* STATUS= when changed  */
void zd_notify_stopping(void);                      /* STOPPING=1            */

/* ---- the fd registry (daemon_watch.c) ------------------------------------- */

/* Add fd (>= 0) to the loop's epoll set (errors logged). */
void zd_watch(struct zd_daemon *d, int fd);
/* epoll registration of a stack's pidfd. */
void zd_watch_pidfd(struct zd_daemon *d, struct zd_stack *s);

/* ---- zram maintenance (daemon_maint.c) ------------------------------------- */

struct zg_spec;
struct zg_dev;
/* zram_build's zg_create: the backing device and secondary algorithm from
 * the maintenance keys; one the kernel refuses is dropped and said. */
void zd_maint_destroyed(struct zd_stack *s);
int zd_maint_create(struct zd_stack *s, struct zg_spec *spec, struct zg_dev *dev);
/* The maintenance job: a pass on each zram stack that is due (by its
 * interval, or sooner under memory pressure), then zd_maint_schedule. */
void zd_maint_run(struct zd_daemon *d);
/* The stacks' owner, after any change: when the next job is due. */
void zd_maint_schedule(struct zd_daemon *d);
/* The loop: ms until the maintenance job is due (-1: none, 0: now). */
int zd_maint_wait_ms(const struct zd_daemon *d);
/* Suspended time (ms) to add to an idle age of age_ms for the kernel
 * (which counts it): what was suspended since the pass age_ms ago. */
long long zd_maint_discount(const struct zd_maint *m, long long mono, long long susp,
			    long long age_ms);
/* Record a (monotonic, suspended) sample, the oldest dropped. */
void zd_maint_sample(struct zd_maint *m, long long mono, long long susp);
long long zd_maint_clock(clockid_t c);          /* ms of clock c */
/* Say once what this kernel cannot do for s: the log, the status note. */
void zd_maint_lacks(struct zd_stack *s, const char *what, const char *why);
/* daemon_maint_pass.c: writeback / recompression configured and possible;
 * either, or a first pass still to probe (the job runs for s). */
bool zd_maint_wb_on(const struct zd_stack *s);
bool zd_maint_recomp_on(const struct zd_stack *s);
bool zd_maint_active(const struct zd_stack *s);
/* When s's next pass is due (monotonic ms): by its interval, or (with
 * by_pressure and a pressure trigger) when PSI is looked at next. */
long long zd_maint_next(const struct zd_stack *s, bool by_pressure);
/* daemon_maint.c: a new device's maintenance reset, spec given what the
 * kernel takes before disksize from m; then what it was made with. */
void zd_maint_begin(struct zd_stack *s, const struct zt_maint *m, struct zg_spec *spec);
void zd_maint_built(struct zd_stack *s, const struct zg_spec *spec);
/* Both paths name the same block device (by its device number). */
bool zd_same_blockdev(const char *a, const char *b);
/* daemon_maint_tier.c: the keys s is kept with (a [zram-swap]'s, a
 * policy's [maintenance]; NULL: none), whether its zram device exists
 * (a ztier stack: its server is up and a class goes to zram), which one
 * (-1: none published), and "zramN" -> N (-1: not such a name). */
const struct zt_maint *zd_maint_keys(const struct zd_stack *s);
bool zd_maint_up(const struct zd_stack *s);
bool zd_maint_tier_wanted(const struct zd_stack *s);
int zd_maint_zram(const struct zd_stack *s);
int zd_zram_id_of(const char *name);
/* A ztier stack's server config: its zram tier made with what the policy's
 * [maintenance] needs; a stack adopted with its server: what its tier has. */
void zd_maint_tier_spec(struct zd_stack *s, struct ztu_config *cfg);
void zd_maint_tier_adopted(struct zd_stack *s);
/* daemon_maint_live.c: a reload's maintenance keys z on the built stack
 * s: applied live, or (FILE:LINE) said to need down + up. */
void zd_maint_reload(struct zd_stack *s, const struct zd_zswap *z, const char *file);
/* The maintenance fields of s's status line: tab-led, "" when s has no
 * maintenance (cli_rows.c reads them). */
void zd_maint_status(const struct zd_stack *s, char *buf, size_t len);

/* ---- zswap in front of the swap stacks (daemon_zswap.c) ------------------- */

/* The stacks' owner, after any change: with swap stacks up and zswap =
 * disable, turn an enabled zswap off (its earlier state saved next to the
 * socket, so a ztierd killed meanwhile is followed by one that restores
 * it); with none up, or at stop, restore it.  One log line per change. */
void zd_zswap_apply(struct zd_daemon *d);
void zd_zswap_restore(struct zd_daemon *d);
/* The snapshot's line: "@zswap\tENABLED\tMAX_POOL\tACTION\tNOTE". */
void zd_zswap_status(const struct zd_daemon *d, char *buf, size_t len);
/* A file named name next to the control socket (state a restarted ztierd
 * must find), and whether any swap stack has its swap on. */
void zd_run_file(const struct zd_daemon *d, const char *name, char *buf, size_t len);
bool zd_swap_stacks_up(const struct zd_daemon *d);

/* vm.page-cluster (daemon_pagecluster.c): with page-cluster = N and a swap
 * stack up, set N (the earlier value saved next to the socket); with none
 * up, or at stop, restore it.  Untouched with page-cluster = keep. */
void zd_pagecluster_apply(struct zd_daemon *d);
void zd_pagecluster_restore(struct zd_daemon *d);

/* ---- actions on the stacks as a whole (daemon_actions.c) ------------------ */

/* Build every stack that is down, in order. */
void zd_all_up(struct zd_daemon *d);
/* Take every stack down in reverse order; how many could not be. */
int zd_all_down(struct zd_daemon *d);
/* Re-read the configuration, take down removed stacks, build new ones.
 * Returns the number of configuration problems. */
int zd_reload(struct zd_daemon *d);
/* `add FILE`: one more policy as a stack, built now. */
int zd_add_policy(struct zd_daemon *d, const char *path, char *msg, size_t len);
/* `del NAME`: take the stack down and forget it. */
int zd_del_stack(struct zd_daemon *d, const char *name, char *msg, size_t len);

#endif
