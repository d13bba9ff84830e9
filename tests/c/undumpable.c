/* A process vmtop may no longer read, though it runs as the same user.
 *
 *   undumpable hide        prctl(PR_SET_DUMPABLE, 0), prints "READY", waits.
 *   undumpable PROGRAM     prints "READY", waits for SIGUSR1, then exec's PROGRAM (a
 *                          copy of this one under another name) with "hide": the same
 *                          process, a new name, not dumpable. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "hide") == 0) {
        prctl(PR_SET_DUMPABLE, 0);
        printf("READY\n");
        fflush(stdout);
        for (;;)
            pause();
    }
    if (argc < 2)
        return 2;
    sigset_t set;
    int sig;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    printf("READY\n");
    fflush(stdout);
    sigwait(&set, &sig);
    execl(argv[1], argv[1], "hide", (char *)NULL);
    perror("execl");
    return 1;
}
