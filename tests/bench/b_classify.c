/*
 * b_classify.c — `make bench`: classifier cost against compressing the page.
 *
 * The classifier is only worth running before compression if it is much
 * cheaper than compression.  On the same pages, in one run, this measures
 * the throughput of: zt_classify, the same-fill scan alone, the exact
 * (full-histogram) entropy, the sampled entropy estimate, LZ4_compress_default
 * and zstd level 1 (ZSTD_compressCCtx with a reused context), and reports
 * classify/lz4.  It also reports, per class, how much lz4 and zstd-1 shrink
 * those pages — the evidence behind the example policies' codec choices.
 *
 * Page sets (each one is benchmarked separately, then all together):
 *   heap    the resident anonymous memory of a real perl process that has
 *           loaded modules and read source files into hashes and arrays
 *           (read through /proc/PID/mem like ztierctl classify --pid);
 *   binary  pages of installed executables and shared libraries;
 *   text    pages of headers and documentation.
 * The working set (tens of MiB) is larger than the CPU caches, so every
 * method pays for fetching the page, as it would at swap-out time.
 * Two timings per method (see measure()): whole passes over the set, and
 * the per-page best of HOT_RUNS runs with the page in cache — the second is
 * the compute cost alone, and stable on a shared, noisy machine.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <lz4.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "policy/policy.h"
#include "policy/samefill_isa.h"

#define ROUNDS       5
#define HOT_RUNS     3
#define HEAP_PAGES   4096
#define BINARY_PAGES 4096
#define TEXT_PAGES   2048

struct pageset {
	const char *name;
	unsigned char *pages;
	size_t n, cap;
};

static void add_page(struct pageset *s, const void *page)
{
	if (s->n < s->cap)
		memcpy(s->pages + s->n++ * ZT_PAGE_SIZE, page, ZT_PAGE_SIZE);
}

static void pageset_init(struct pageset *s, const char *name, size_t cap)
{
	s->name = name;
	s->n = 0;
	s->cap = cap;
	s->pages = aligned_alloc(4096, cap * ZT_PAGE_SIZE);
	if (!s->pages) {
		fprintf(stderr, "b_classify: out of memory\n");
		exit(1);
	}
}

/* ---- page sources ------------------------------------------------------------ */

static void add_file(struct pageset *s, const char *path)
{
	unsigned char page[ZT_PAGE_SIZE];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return;
	while (s->n < s->cap && (n = read(fd, page, sizeof(page))) > 0) {
		if (n < (ssize_t)sizeof(page))
			memset(page + n, 0, sizeof(page) - (size_t)n);
		add_page(s, page);
	}
	close(fd);
}

/* Regular files of dir whose names end in suffix ("" for any), sorted by
 * readdir order, up to the set's capacity. */
static void add_dir(struct pageset *s, const char *dir, const char *suffix)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t sl = strlen(suffix);

	while (d && s->n < s->cap && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len < sl || strcmp(e->d_name + len - sl, suffix))
			continue;
		char path[1024];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		add_file(s, path);
	}
	if (d)
		closedir(d);
}

/* A perl that builds a realistic interpreter heap, then stops itself. */
static const char perl_script[] =
	"use strict; use POSIX (); use Data::Dumper; use File::Find; use Storable;"
	"my (%src, %words, @lines);"
	"find({ no_chdir => 1, wanted => sub {"
	"  return unless /\\.p[ml]$/ && -f $_ && keys(%src) < 1500;"
	"  open(my $f, '<', $_) or return; local $/; my $t = <$f>; $src{$_} = $t;"
	"  push @lines, split /\\n/, $t;"
	"  $words{$_}++ for $t =~ /(\\w+)/g; } }, '/usr/share/perl', '/usr/share/perl5');"
	"my @nums = map { $_ * 3.14159 } 1 .. 200000;"
	"my $clone = Storable::dclone(\\%words);"
	"kill 'STOP', $$; exit 0;";

static uint64_t load64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* Resident pages of the readable anonymous mappings of pid. */
static void add_process(struct pageset *s, pid_t pid)
{
	char path[64], line[512];
	unsigned char *buf = malloc(ZT_PAGE_SIZE);
	uint64_t start, end;
	unsigned long long inode;
	char perms[8];
	int name_at;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	FILE *maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int mem = open(path, O_RDONLY);
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	int pm = open(path, O_RDONLY);

	while (maps && mem >= 0 && pm >= 0 && buf && s->n < s->cap &&
	       fgets(line, sizeof(line), maps)) {
		name_at = 0;
		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %*x %*x:%*x %llu %n",
			   &start, &end, perms, &inode, &name_at) < 4 ||
		    perms[0] != 'r' || inode || strncmp(line + name_at, "[v", 2) == 0)
			continue;
		for (uint64_t a = start; a < end && s->n < s->cap; a += ZT_PAGE_SIZE) {
			unsigned char e[8];
			if (pread(pm, e, 8, (off_t)(a / ZT_PAGE_SIZE * 8)) != 8 ||
			    !(load64(e) >> 63))
				continue;
			if (pread(mem, buf, ZT_PAGE_SIZE, (off_t)a) == ZT_PAGE_SIZE)
				add_page(s, buf);
		}
	}
	if (maps)
		fclose(maps);
	if (mem >= 0)
		close(mem);
	if (pm >= 0)
		close(pm);
	free(buf);
}

static void add_perl_heap(struct pageset *s)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int null = open("/dev/null", O_WRONLY);
		dup2(null, 1);
		dup2(null, 2);
		execlp("perl", "perl", "-e", perl_script, (char *)NULL);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, WUNTRACED) != pid)
		return;
	if (WIFSTOPPED(status))
		add_process(s, pid);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* ---- methods ------------------------------------------------------------------- */

struct method {
	const char *name;
	size_t (*run)(const unsigned char *page, void *ctx);
};

static struct zt_thresholds thresholds;
static size_t m_classify(const unsigned char *p, void *ctx)
{
	struct zt_page_class pc;
	zt_classify(p, &thresholds, &pc);
	return pc.cls;
}

static size_t m_samefill(const unsigned char *p, void *ctx)
{
	uint64_t fill;
	return zt_page_samefill(p, &fill);
}

static size_t m_samefill_scalar(const unsigned char *p, void *ctx)
{
	uint64_t fill;
	return zt_samefill_impl(ZT_ISA_SCALAR)(p, &fill);
}

static size_t m_entropy_exact(const unsigned char *p, void *ctx)
{
	return (size_t)(zt_entropy_exact(p, ZT_PAGE_SIZE) * 1000);
}

static size_t m_entropy_estimate(const unsigned char *p, void *ctx)
{
	return (size_t)(zt_entropy_estimate(p) * 1000);
}

static char out_buf[LZ4_COMPRESSBOUND(ZT_PAGE_SIZE) + 1024];
static size_t m_lz4(const unsigned char *p, void *ctx)
{
	return (size_t)LZ4_compress_default((const char *)p, out_buf, ZT_PAGE_SIZE,
					    (int)sizeof(out_buf));
}

static size_t m_zstd1(const unsigned char *p, void *ctx)
{
	return ZSTD_compressCCtx(ctx, out_buf, sizeof(out_buf), p, ZT_PAGE_SIZE, 1);
}

enum { M_CLASSIFY, M_SAMEFILL, M_SAMEFILL_SCALAR, M_EXACT, M_ESTIMATE, M_LZ4, M_ZSTD, M_COUNT };
static const struct method methods[M_COUNT] = {
	{ "classify", m_classify },
	{ "same-fill scan", m_samefill },
	{ "same-fill scan (scalar)", m_samefill_scalar },
	{ "exact entropy", m_entropy_exact },
	{ "sampled entropy", m_entropy_estimate },
	{ "lz4 compress", m_lz4 },
	{ "zstd-1 compress", m_zstd1 },
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static volatile size_t sink;

/* Seconds for one pass of method m over the whole set. */
static double one_pass(const struct pageset *s, const struct method *m, void *ctx)
{
	double t0 = now();
	size_t acc = 0;

	for (size_t i = 0; i < s->n; i++)
		acc += m->run(s->pages + i * ZT_PAGE_SIZE, ctx);
	sink = acc;
	return now() - t0;
}

/*
 * Seconds for the whole set when each page is run HOT_RUNS times in a row
 * and only its fastest run counts: the page is then in cache, and a burst
 * of load elsewhere on the machine hits one run, not the minimum.  This is
 * the compute cost of each method, free of memory and of noise.
 */
static double hot_pass(const struct pageset *s, const struct method *m, void *ctx)
{
	double total = 0;
	size_t acc = 0;

	for (size_t i = 0; i < s->n; i++) {
		const unsigned char *page = s->pages + i * ZT_PAGE_SIZE;
		double best = 1e30;
		for (int r = 0; r < HOT_RUNS; r++) {
			double t0 = now();
			acc += m->run(page, ctx);
			double t = now() - t0;
			if (t < best)
				best = t;
		}
		total += best;
	}
	sink = acc;
	return total;
}

/*
 * MiB/s of page data through every method, two ways:
 *  pass: whole passes over the set (pages mostly not in L1/L2); the
 *        methods take turns pass by pass for ROUNDS rounds and each keeps
 *        its fastest pass, so a burst of load elsewhere favours none;
 *  hot:  hot_pass() above.
 */
static void measure(const struct pageset *s, void *ctx, double pass[M_COUNT],
		    double hot[M_COUNT])
{
	double best[M_COUNT];
	const double bytes = (double)(s->n * ZT_PAGE_SIZE) * (1.0 / (1 << 20));

	for (int m = 0; m < M_COUNT; m++)
		best[m] = 1e30;
	for (int r = 0; r < ROUNDS; r++) {
		for (int m = 0; m < M_COUNT; m++) {
			double t = one_pass(s, &methods[m], ctx);
			if (t < best[m])
				best[m] = t;
		}
	}
	for (int m = 0; m < M_COUNT; m++) {
		pass[m] = bytes / best[m];
		hot[m] = bytes / hot_pass(s, &methods[m], ctx);
	}
}

/* ---- report ---------------------------------------------------------------------- */

struct class_sizes {
	uint64_t pages, lz4, zstd;
};

static void class_mix(const struct pageset *s, ZSTD_CCtx *z, struct class_sizes cs[ZT_CLASS_COUNT])
{
	memset(cs, 0, sizeof(*cs) * ZT_CLASS_COUNT);
	for (size_t i = 0; i < s->n; i++) {
		const unsigned char *p = s->pages + i * ZT_PAGE_SIZE;
		struct zt_page_class pc;
		zt_classify(p, &thresholds, &pc);
		cs[pc.cls].pages++;
		cs[pc.cls].lz4 += m_lz4(p, NULL);
		cs[pc.cls].zstd += m_zstd1(p, z);
	}
}

static double ns_per_page(double mibs)
{
	return 1e9 / (mibs * (1 << 20) / ZT_PAGE_SIZE);
}

static void report(const struct pageset *s, ZSTD_CCtx *z)
{
	struct class_sizes cs[ZT_CLASS_COUNT];
	double mibs[M_COUNT], hot[M_COUNT];

	if (s->n == 0) {
		printf("\n[%s] no pages: skipped\n", s->name);
		return;
	}
	class_mix(s, z, cs);
	printf("\n[%s] %zu pages (%.1f MiB)\n", s->name, s->n,
	       (double)s->n * ZT_PAGE_SIZE / (1 << 20));
	printf("  %-9s %7s %7s %13s %13s\n", "class", "pages", "share",
	       "lz4 size", "zstd-1 size");
	for (int c = 0; c < ZT_CLASS_COUNT; c++) {
		double in = (double)cs[c].pages * ZT_PAGE_SIZE;
		printf("  %-9s %7" PRIu64 " %6.1f%%", zt_class_name((enum zt_class)c),
		       cs[c].pages, 100.0 * (double)cs[c].pages / (double)s->n);
		if (cs[c].pages)
			printf(" %12.1f%% %12.1f%%\n", 100.0 * (double)cs[c].lz4 / in,
			       100.0 * (double)cs[c].zstd / in);
		else
			printf(" %13s %13s\n", "-", "-");
	}
	measure(s, z, mibs, hot);
	printf("  %-24s %12s %10s %12s %10s\n", "method", "pass MiB/s", "ns/page",
	       "hot MiB/s", "ns/page");
	for (int m = 0; m < M_COUNT; m++)
		printf("  %-24s %12.0f %10.0f %12.0f %10.0f\n", methods[m].name, mibs[m],
		       ns_per_page(mibs[m]), hot[m], ns_per_page(hot[m]));
	printf("  classify / lz4:    pass %.1fx   hot %.1fx\n",
	       mibs[M_CLASSIFY] / mibs[M_LZ4], hot[M_CLASSIFY] / hot[M_LZ4]);
	printf("  classify / zstd-1: pass %.1fx   hot %.1fx\n",
	       mibs[M_CLASSIFY] / mibs[M_ZSTD], hot[M_CLASSIFY] / hot[M_ZSTD]);
}

static void cpu_name(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256];

	snprintf(buf, len, "unknown CPU");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) == 0) {
			char *v = strchr(line, ':');
			snprintf(buf, len, "%s", v ? v + 2 : line);
			buf[strcspn(buf, "\n")] = 0;
			break;
		}
	}
	if (f)
		fclose(f);
}

int main(void)
{
	struct pageset heap, binary, text, all;
	ZSTD_CCtx *z = ZSTD_createCCtx();
	char cpu[256];
	const char *isa = "scalar";

	zt_thresholds_default(&thresholds);
	for (int i = ZT_ISA_COUNT - 1; i > 0; i--) {
		if (zt_samefill_impl((enum zt_isa)i)) {
			isa = zt_isa_name((enum zt_isa)i);
			break;
		}
	}
	cpu_name(cpu, sizeof(cpu));
	printf("b_classify: %s, same-fill path %s, lz4 %s, zstd %s\n", cpu, isa,
	       LZ4_versionString(), ZSTD_versionString());

	pageset_init(&heap, "heap: resident anonymous memory of a perl process", HEAP_PAGES);
	add_perl_heap(&heap);
	pageset_init(&binary, "binary: /usr/bin and /usr/lib executables", BINARY_PAGES);
	add_file(&binary, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	add_dir(&binary, "/usr/lib/x86_64-linux-gnu", ".so");
	add_dir(&binary, "/usr/bin", "");
	pageset_init(&text, "text: /usr/include headers and man pages", TEXT_PAGES);
	add_dir(&text, "/usr/include", ".h");
	add_dir(&text, "/usr/include/linux", ".h");
	add_dir(&text, "/usr/share/common-licenses", "");

	pageset_init(&all, "all of the above", heap.n + binary.n + text.n + 1);
	for (size_t i = 0; i < heap.n; i++)
		add_page(&all, heap.pages + i * ZT_PAGE_SIZE);
	for (size_t i = 0; i < binary.n; i++)
		add_page(&all, binary.pages + i * ZT_PAGE_SIZE);
	for (size_t i = 0; i < text.n; i++)
		add_page(&all, text.pages + i * ZT_PAGE_SIZE);

	report(&heap, z);
	report(&binary, z);
	report(&text, z);
	report(&all, z);

	ZSTD_freeCCtx(z);
	free(heap.pages);
	free(binary.pages);
	free(text.pages);
	free(all.pages);
	return 0;
}
