/*
 * daemon_snap.c — what the loop may show of the stacks: a snapshot.
 *
 * The stacks belong to one thread at a time (daemon.h: the main thread, or
 * the job thread while a job runs); the loop that answers `status` must
 * not read them while a job swaps a device off.  So whoever owns them
 * writes their status lines here after every change it makes (a step
 * starting or ending, a job's end), and the loop copies the text under the
 * same mutex.  A status therefore shows the state of the last step, and a
 * stack in the middle of one as "starting" or "stopping".  A leaf: it
 * calls nothing of the daemon but the status line makers (zd_stack_status,
 * zd_maint_status, zd_zswap_status).  The loop's clock
 * (zd_now_ms) is here too, for the same reason: everyone may call it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "manager/daemon.h"

void zd_publish(struct zd_daemon *d)
{
	char line[ZT_PATH_MAX + 1024], maint[512];
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;                 /* the old snapshot stays */
	for (unsigned i = 0; i < d->nstacks; i++) {
		zd_stack_status(&d->stacks[i], line, sizeof(line));
		zd_maint_status(&d->stacks[i], maint, sizeof(maint));
		fprintf(f, "%s%s\n", line, maint);
	}
	zd_zswap_status(d, line, sizeof(line));
	fprintf(f, "%s\n", line);
	if (fclose(f)) {
		free(buf);
		return;
	}
	pthread_mutex_lock(&d->snap_lock);
	char *old = d->snap;
	d->snap = buf;
	d->snap_len = len;
	pthread_mutex_unlock(&d->snap_lock);
	free(old);
	zd_notify_status(d);          /* systemd's STATUS=, when it changed */
}

long long zd_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

char *zd_snapshot(struct zd_daemon *d, size_t *len)
{
	pthread_mutex_lock(&d->snap_lock);
	size_t n = d->snap ? d->snap_len : 0;
	char *out = malloc(n + 4);
	if (out) {
		memcpy(out, "ok\n", 3);
		if (n)
			memcpy(out + 3, d->snap, n);
		out[3 + n] = '\0';
		*len = n + 3;
	}
	pthread_mutex_unlock(&d->snap_lock);
	return out;
}
