/*
 * cli_classify.c — `ztierctl classify`: what kind of pages, and where to.
 *
 * Pages come from files or a process's anonymous memory (cli_pages.c); each
 * goes through zt_classify with the policy's thresholds and is tallied by
 * class.  The report maps the class counts through the policy's rules to
 * pages and bytes per tier — what the policy would do with this memory.
 * Human output is a small table; --json prints one object with the same
 * numbers (pages, zero, classes{...}, tiers{...}).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build/paths.h"        /* generated: ZT_VERSION, ZT_SYSCONFDIR, ... */
#include "manager/cli.h"

struct tally {
	const struct zt_thresholds *thresholds;
	uint64_t pages, zero;
	uint64_t cls[ZT_CLASS_COUNT];
	double entropy_sum;           /* over non-samefill pages */
};

struct classify_opts {
	bool json;
	const char *policy_file;
	long pid;                     /* -1: files */
};

static void tally_page(void *ctx, const void *page)
{
	struct tally *t = ctx;
	struct zt_page_class pc;

	zt_classify(page, t->thresholds, &pc);
	t->pages++;
	t->cls[pc.cls]++;
	if (pc.cls == ZT_CLASS_SAMEFILL)
		t->zero += pc.fill == 0;
	else
		t->entropy_sum += pc.entropy;
}

static double mean_entropy(const struct tally *t)
{
	uint64_t n = t->pages - t->cls[ZT_CLASS_SAMEFILL];
	return n ? t->entropy_sum / (double)n : 0;
}

static double share(uint64_t part, uint64_t whole)
{
	return whole ? 100.0 * (double)part / (double)whole : 0;
}

static const char *human_bytes(uint64_t b, char *buf, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", v, units[u]);
	return buf;
}

static void tier_totals(const struct zt_policy *p, const struct tally *t,
			uint64_t pages[ZT_TIER_COUNT])
{
	memset(pages, 0, sizeof(uint64_t) * ZT_TIER_COUNT);
	for (int c = 0; c < ZT_CLASS_COUNT; c++)
		pages[p->rule[c].tier] += t->cls[c];
}

/* ---- output ------------------------------------------------------------------- */

static void print_human(const struct tally *t, const struct zt_policy *p,
			const char *origin, const char *source)
{
	uint64_t tier_pages[ZT_TIER_COUNT];
	char b1[32], b2[32];

	printf("source         %s\n", source);
	printf("pages          %" PRIu64 " (%s)\n", t->pages,
	       human_bytes(t->pages * ZT_PAGE_SIZE, b1, sizeof(b1)));
	printf("zero pages     %" PRIu64 " (%.1f%%)\n", t->zero, share(t->zero, t->pages));
	printf("mean entropy   %.2f bits/byte (estimated, non-samefill pages)\n\n",
	       mean_entropy(t));
	printf("policy %s (%s)\n", p->name, origin);
	printf("%-9s %10s %7s  %s\n", "class", "pages", "share", "tier");
	for (int c = 0; c < ZT_CLASS_COUNT; c++) {
		const struct zt_class_rule *r = &p->rule[c];
		printf("%-9s %10" PRIu64 " %6.1f%%  %s", zt_class_name((enum zt_class)c),
		       t->cls[c], share(t->cls[c], t->pages), zt_tier_name(r->tier));
		if (r->tier == ZT_TIER_STORE)
			printf(" (%s)", zt_codec_format(&r->codec, b2, sizeof(b2)));
		printf("\n");
	}
	tier_totals(p, t, tier_pages);
	printf("\n%-9s %10s %12s\n", "tier", "pages", "data");
	for (int i = ZT_TIER_META; i < ZT_TIER_COUNT; i++)
		printf("%-9s %10" PRIu64 " %12s\n", zt_tier_name((enum zt_tier)i), tier_pages[i],
		       human_bytes(tier_pages[i] * ZT_PAGE_SIZE, b1, sizeof(b1)));
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void print_json(const struct tally *t, const struct zt_policy *p,
		       const char *origin)
{
	uint64_t tier_pages[ZT_TIER_COUNT];
	char codec[32];

	printf("{\"pages\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"zero\":%" PRIu64
	       ",\"zero_share\":%.4f,\"mean_entropy\":%.3f,\"classes\":{",
	       t->pages, t->pages * ZT_PAGE_SIZE, t->zero,
	       t->pages ? (double)t->zero / (double)t->pages : 0, mean_entropy(t));
	for (int c = 0; c < ZT_CLASS_COUNT; c++)
		printf("%s\"%s\":%" PRIu64, c ? "," : "", zt_class_name((enum zt_class)c), t->cls[c]);
	printf("},\"policy\":{\"name\":");
	json_string(p->name);
	printf(",\"origin\":");
	json_string(origin);
	printf(",\"rules\":{");
	for (int c = 0; c < ZT_CLASS_COUNT; c++)
		printf("%s\"%s\":{\"tier\":\"%s\",\"codec\":\"%s\"}", c ? "," : "",
		       zt_class_name((enum zt_class)c), zt_tier_name(p->rule[c].tier),
		       zt_codec_format(&p->rule[c].codec, codec, sizeof(codec)));
	printf("}},\"tiers\":{");
	tier_totals(p, t, tier_pages);
	for (int i = ZT_TIER_META; i < ZT_TIER_COUNT; i++)
		printf("%s\"%s\":{\"pages\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
		       i > ZT_TIER_META ? "," : "", zt_tier_name((enum zt_tier)i),
		       tier_pages[i], tier_pages[i] * ZT_PAGE_SIZE);
	printf("}}\n");
}

/* ---- sources -------------------------------------------------------------------- */

static int classify_files(char **files, int n, struct tally *t)
{
	char msg[200];

	for (int i = 0; i < n; i++) {
		if (cli_pages_file(files[i], tally_page, t, msg, sizeof(msg))) {
			cli_error("%s: %s", files[i], msg);
			return -1;
		}
	}
	return 0;
}

static int classify_pid(long pid, struct tally *t, char *source, size_t len)
{
	struct cli_pid_stats st;
	int err = cli_pages_pid((pid_t)pid, tally_page, t, &st);

	if (err == -ESRCH) {
		cli_error("pid %ld: no such process", pid);
		return -1;
	}
	if (err) {
		cli_error("pid %ld: cannot read its memory: %s", pid, strerror(-err));
		return -1;
	}
	snprintf(source, len, "pid %ld: %" PRIu64 " anonymous regions, %s%"
		 PRIu64 " unreadable skipped, %" PRIu64 " pages in swap not read",
		 pid, st.regions, st.pagemap ? "resident pages, " : "all pages, ",
		 st.skipped, st.swapped);
	return 0;
}

/* ---- options --------------------------------------------------------------------- */

static int classify_usage(FILE *out)
{
	fprintf(out, "Usage: ztierctl classify [--json] [--policy FILE] FILE...\n"
		"       ztierctl classify [--json] [--policy FILE] --pid PID\n\n"
		"Classify 4 KiB pages as samefill, text, mixed or random, and show\n"
		"where the policy would put them.  A file's tail shorter than a page\n"
		"is classified as a zero-padded page.  With --pid, the resident\n"
		"anonymous memory of the process is read (needs ptrace rights).\n\n"
		"  -j, --json          print one JSON object\n"
		"  -p, --policy FILE   use FILE instead of the active policy: default.conf\n"
		"                      (and default.conf.d/) of /run/ztier/policy.d,\n"
		"                      " ZT_SYSCONFDIR "/ztier/policy.d or\n"
		"                      " ZT_DATADIR "/ztier/policy.d, else built-in\n"
		"      --pid PID       read process PID instead of files\n"
		"  -h, --help          show this help\n\n"
		"Exit status: 0 success, 1 bad input or invalid policy, 2 usage error.\n");
	return out == stdout ? CLI_OK : CLI_USAGE;
}

static int parse_pid(const char *s, long *pid)
{
	char *end;

	errno = 0;
	*pid = strtol(s, &end, 10);
	return (end == s || *end || errno || *pid <= 0 || *pid > 0x3fffffff) ? -1 : 0;
}

/* Returns -1 to go on, else the exit status (help, usage error). */
static int parse_options(int argc, char **argv, struct classify_opts *o)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "policy", required_argument, NULL, 'p' },
		{ "pid", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 }
	};
	int c;

	*o = (struct classify_opts){ .pid = -1 };
	optind = 1;
	while ((c = getopt_long(argc, argv, "jp:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			o->json = true;
			break;
		case 'p':
			o->policy_file = optarg;
			break;
		case 'P':
			if (parse_pid(optarg, &o->pid))
				return cli_usage_error("classify", "bad pid '%s'", optarg);
			break;
		case 'h':
			return classify_usage(stdout);
		default:
			return cli_usage_error("classify", "bad option");
		}
	}
	if (o->pid > 0 && optind < argc)
		return cli_usage_error("classify", "give files or --pid, not both");
	if (o->pid < 0 && optind == argc)
		return cli_usage_error("classify", "no file or --pid given");
	return -1;
}

int cli_classify(int argc, char **argv)
{
	struct classify_opts o;
	char origin[ZT_PATH_MAX + 32], source[256];
	int status = parse_options(argc, argv, &o);

	if (status >= 0)
		return status;
	struct zt_policy *p = malloc(sizeof(*p));
	if (!p) {
		cli_error("%s", strerror(ENOMEM));
		return CLI_FAIL;
	}
	struct tally t = { .thresholds = &p->thresholds };
	int err = cli_policy_active(p, o.policy_file, origin, sizeof(origin));
	if (!err && o.pid > 0)
		err = classify_pid(o.pid, &t, source, sizeof(source));
	else if (!err)
		err = classify_files(argv + optind, argc - optind, &t);
	if (!err && o.pid < 0)
		snprintf(source, sizeof(source), "%d file%s", argc - optind,
			 argc - optind == 1 ? "" : "s");
	if (!err && o.json)
		print_json(&t, p, origin);
	else if (!err)
		print_human(&t, p, origin, source);
	free(p);
	return err ? CLI_FAIL : CLI_OK;
}
