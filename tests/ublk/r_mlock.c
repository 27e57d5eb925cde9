/*
 * r_mlock.c — (release build only) the store and page table under mlockall(MCL_FUTURE), as the
 * server runs them: reserving a large store must not populate the whole
 * limit, committed chunks are resident, and freed chunks really go back
 * (MADV_DONTNEED fails on locked memory; mapping over it works).  Measured
 * in VmRSS: VmRSS counts the size of every VM_LOCKED mapping, resident or
 * not, so the PROT_NONE reservation shows up there in full.
 * Skips under ASan (its mlockall is a no-op) and when locking is refused.
 */
#include <errno.h>
#include <sys/mman.h>

#include "tests/tap.h"
#include "ublk/pagetable.h"
#include "ublk/store.h"

#define MIB (UINT64_C(1) << 20)

/* A "Vm...:" line of /proc/self/status, in bytes. */
static uint64_t vm_kib(const char *key)
{
	char line[256];
	unsigned long long v = 0;
	size_t n = strlen(key);
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && sscanf(line + n, ": %llu", &v) == 1)
			break;
	if (f)
		fclose(f);
	return (uint64_t)v * 1024;
}

int main(void)
{
	static unsigned char buf[ZT_PAGE_SIZE];
	static uint64_t h[8192];
	struct zu_store *st;
	struct zu_pt *pt;
	uint64_t lck0, lck1, lck2, lck3, cur;
	unsigned i;

#if defined(__SANITIZE_ADDRESS__)
	tap_skip_all("ASan makes mlockall a no-op (run the release build)");
#endif
	if (mlockall(MCL_FUTURE))
		tap_skip_all("mlockall(MCL_FUTURE) not permitted here");
	lck0 = vm_kib("VmRSS");
	st = zu_store_create(1024 * MIB);
	ok(st != NULL, "1 GiB store under MCL_FUTURE");
	lck1 = vm_kib("VmRSS");
	tap_diag("VmRSS: %llu KiB before, %llu KiB after reserving a 1 GiB store",
		 (unsigned long long)lck0 >> 10, (unsigned long long)lck1 >> 10);
	ok(lck1 < lck0 + 8 * MIB, "reserving the limit populates nothing");
	memset(buf, 0x3c, sizeof(buf));
	for (i = 0; i < 8192; i++)
		zu_store_put(st, buf, 2048, &h[i]);
	lck2 = vm_kib("VmRSS");
	ok(lck2 >= lck1 + 15 * MIB, "16 MiB stored: resident memory grows with it");
	for (i = 0; i < 8192; i++)
		zu_store_free(st, h[i]);
	zu_store_trim(st);
	lck3 = vm_kib("VmRSS");
	tap_diag("VmRSS: %llu KiB with 16 MiB stored, %llu KiB after free + trim",
		 (unsigned long long)lck2 >> 10, (unsigned long long)lck3 >> 10);
	ok(lck3 + 15 * MIB <= lck2, "freed chunks are given back although locked");
	zu_store_destroy(st);

	pt = zu_pt_create(UINT64_C(1) << 28, 2 * MIB);
	ok(pt != NULL, "1 TiB page table under MCL_FUTURE");
	ok(zu_pt_lock(pt, 12345, 0, &cur) == 0, "lock a page (leaf from the locked pool)");
	zu_pt_unlock(pt, 12345, zu_pte_meta(0));
	tap_diag("VmRSS with the page table: %llu KiB, VmLck %llu KiB",
		 (unsigned long long)vm_kib("VmRSS") >> 10,
		 (unsigned long long)vm_kib("VmLck") >> 10);
	zu_pt_destroy(pt);
	munlockall();
	return tap_done();
}
