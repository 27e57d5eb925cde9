/*
 * fz_policy.c — libFuzzer harness: a policy file and one drop-in on top of
 * it (policy/policy_load.c through the shared INI line reader), then what
 * the daemon and ztierctl do with a policy that was read: the cross-key
 * checks, the warnings, the comparison of a reload, the spill path.
 *
 * The input is the main file, then optionally "\n%%\n" and the drop-in: the
 * seeds of tests/fuzz/corpus/policy/ are shipped policies, some with one.
 */
#include "tests/fuzz/fuzz.h"
#include "policy/common/common.h"
#include "policy/policy.h"

static void problem(void *ctx, const char *file, int line, const char *msg)
{
	char where[ZT_PATH_MAX + 16], out[1024];

	(void)ctx;
	snprintf(out, sizeof(out), "%s: %s", zt_where(where, sizeof(where), file, line), msg);
}

static void after_load(const struct zt_policy *p)
{
	char spill[ZT_PATH_MAX];

	(void)zt_policy_validate(p, problem, NULL);
	(void)zt_policy_warnings(p, problem, NULL);
	(void)zt_policy_commits_upfront(p);
	if (!zt_policy_same(p, p))
		abort();
	if (strlen(zt_spill_path(p, spill, sizeof(spill))) >= sizeof(spill))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct zt_policy p;
	const uint8_t *sep = memmem(data, size, "\n%%\n", 4);
	size_t main_len = sep ? (size_t)(sep - data) + 1 : size;

	zt_policy_default(&p);
	if (zt_policy_load(&p, fz_file("policy", data, main_len), problem, NULL) < 0)
		return 0;
	if (sep && zt_policy_load(&p, fz_file("policy", sep + 4, size - main_len - 3),
				  problem, NULL) < 0)
		return 0;
	after_load(&p);
	return 0;
}
