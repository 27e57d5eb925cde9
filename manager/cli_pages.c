/*
 * cli_pages.c — where ztierctl classify gets its pages: files and processes.
 *
 * Files are read in 1 MiB chunks; a tail shorter than a page is zero-padded,
 * as the page it would occupy in memory would be.  Only regular files
 * (zt_open_regular: a FIFO would block, /dev/zero never end), and no more
 * than the size they had when opened (one that grows meanwhile still ends).
 *
 * A process: /proc/PID/maps lists its mappings; we keep the readable
 * anonymous ones (no backing inode: heap, stacks, [anon:...] and unnamed
 * mappings).  /proc/PID/pagemap tells which of their pages are resident
 * (bit 63) or swapped (bit 62); we read only resident pages from
 * /proc/PID/mem, so we neither count never-touched memory as zero pages nor
 * swap pages back in.  Swapped pages are counted, not read.  A region that
 * cannot be read (it went away, or it is special) is skipped and counted.
 * Without pagemap we read every page of each region.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manager/cli.h"
#include "policy/common/common.h"

#define CHUNK_PAGES 256
#define CHUNK_BYTES (CHUNK_PAGES * ZT_PAGE_SIZE)

static void emit_pages(unsigned char *buf, size_t len, cli_page_fn fn, void *ctx)
{
	size_t tail = len % ZT_PAGE_SIZE;

	if (tail)
		memset(buf + len, 0, ZT_PAGE_SIZE - tail);
	for (size_t off = 0; off < len; off += ZT_PAGE_SIZE)
		fn(ctx, buf + off);
}

/* Fill buf as far as the file goes (reads may be short on pipes). */
static ssize_t read_full(int fd, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = read(fd, buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int cli_pages_file(const char *path, cli_page_fn fn, void *ctx, char *msg, size_t len)
{
	struct stat st;
	int fd = zt_open_regular(path, 0, 0, msg, len);
	int err = 0;

	if (fd < 0)
		return fd;
	unsigned char *buf = aligned_alloc(64, CHUNK_BYTES);
	if (!buf || fstat(fd, &st) < 0) {
		err = zt_fail_errno(msg, len, buf ? -errno : -ENOMEM, "cannot read");
		free(buf);
		close(fd);
		return err;
	}
	for (uint64_t left = (uint64_t)st.st_size; left; ) {
		ssize_t n = read_full(fd, buf, left < CHUNK_BYTES ? (size_t)left : CHUNK_BYTES);
		if (n <= 0) {
			err = n ? zt_fail_errno(msg, len, (int)n, "read error") : 0;
			break;
		}
		emit_pages(buf, (size_t)n, fn, ctx);
		left -= (uint64_t)n;
	}
	free(buf);
	close(fd);
	return err;
}

/* ---- processes -------------------------------------------------------------- */

struct pid_reader {
	int mem, pagemap;
	unsigned char *buf;
	cli_page_fn fn;
	void *ctx;
	struct cli_pid_stats *st;
};

#define PM_PRESENT (1ull << 63)
#define PM_SWAPPED (1ull << 62)

/* One maps line -> [start, end) if it is a readable anonymous mapping. */
static bool anon_region(const char *line, uint64_t *start, uint64_t *end)
{
	static const char *const special[] = {
		"[vdso]", "[vvar]", "[vvar_vclock]", "[vsyscall]", "[uprobes]", NULL
	};
	char perms[8];
	unsigned long long inode;
	int name_at = 0;

	if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %*x %*x:%*x %llu %n",
		   start, end, perms, &inode, &name_at) < 4)
		return false;
	if (perms[0] != 'r' || inode != 0)
		return false;
	const char *name = line + name_at;
	for (int i = 0; name_at && special[i]; i++)
		if (strncmp(name, special[i], strlen(special[i])) == 0)
			return false;
	return true;
}

/* Read [addr, addr + n pages) from mem and classify it. */
static void read_run(struct pid_reader *r, uint64_t addr, size_t n)
{
	size_t len = n * ZT_PAGE_SIZE;
	ssize_t got = pread(r->mem, r->buf, len, (off_t)addr);

	if (got != (ssize_t)len) {
		r->st->skipped++;
		return;
	}
	emit_pages(r->buf, len, r->fn, r->ctx);
}

static void read_chunk(struct pid_reader *r, uint64_t addr, size_t npages)
{
	uint64_t pm[CHUNK_PAGES];
	off_t at = (off_t)(addr / ZT_PAGE_SIZE * sizeof(uint64_t));

	if (!r->st->pagemap ||
	    pread(r->pagemap, pm, npages * sizeof(pm[0]), at) != (ssize_t)(npages * sizeof(pm[0]))) {
		read_run(r, addr, npages);
		return;
	}
	size_t run = 0;
	for (size_t i = 0; i <= npages; i++) {
		bool present = i < npages && (pm[i] & PM_PRESENT);
		if (present) {
			run++;
			continue;
		}
		if (run)
			read_run(r, addr + (i - run) * ZT_PAGE_SIZE, run);
		run = 0;
		if (i < npages && (pm[i] & PM_SWAPPED))
			r->st->swapped++;
	}
}

static void read_region(struct pid_reader *r, uint64_t start, uint64_t end)
{
	r->st->regions++;
	for (uint64_t a = start; a < end; a += CHUNK_BYTES) {
		uint64_t left = (end - a) / ZT_PAGE_SIZE;
		read_chunk(r, a, left < CHUNK_PAGES ? (size_t)left : CHUNK_PAGES);
	}
}

static int open_proc(pid_t pid, const char *what, int flags)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	return open(path, flags | O_CLOEXEC);
}

static int walk_maps(struct pid_reader *r, FILE *maps)
{
	char *line = NULL;
	size_t cap = 0;
	uint64_t start, end;

	while (getline(&line, &cap, maps) > 0)
		if (anon_region(line, &start, &end))
			read_region(r, start, end);
	free(line);
	return 0;
}

int cli_pages_pid(pid_t pid, cli_page_fn fn, void *ctx, struct cli_pid_stats *st)
{
	struct pid_reader r = { .fn = fn, .ctx = ctx, .st = st, .pagemap = -1 };
	int fd = open_proc(pid, "maps", O_RDONLY);

	memset(st, 0, sizeof(*st));
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	FILE *maps = fdopen(fd, "r");
	if (!maps) {
		close(fd);
		return -errno;
	}
	r.mem = open_proc(pid, "mem", O_RDONLY);
	if (r.mem < 0) {
		int err = errno == ENOENT ? -ESRCH : -errno;
		fclose(maps);
		return err;
	}
	r.pagemap = open_proc(pid, "pagemap", O_RDONLY);
	st->pagemap = r.pagemap >= 0;
	r.buf = aligned_alloc(64, CHUNK_BYTES);
	int err = r.buf ? walk_maps(&r, maps) : -ENOMEM;
	free(r.buf);
	if (r.pagemap >= 0)
		close(r.pagemap);
	close(r.mem);
	fclose(maps);
	return err;
}
