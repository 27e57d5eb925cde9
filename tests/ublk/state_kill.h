/*
 * state_kill.h — the kill -9 round of the state tests (t_state_kill.c,
 * t_demote_kill.c): a child runs on the state in fd and is killed with
 * SIGKILL after a random 5 to 44 ms.
 */
#ifndef ZT_TESTS_STATE_KILL_H
#define ZT_TESTS_STATE_KILL_H

#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Run child(fd) in a new process and kill it; true if SIGKILL ended it. */
static inline bool state_kill_round(int fd, void (*child)(int fd))
{
	struct timespec t = { 0, (5 + rand() % 40) * 1000000L };
	pid_t pid = fork();
	int st;

	if (pid == 0)
		child(fd);
	nanosleep(&t, NULL);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL;
}

#endif
