/* Many sleeping processes, cheaply: fork N children that only wait, print READY, and
 * kill them all when stdin closes or on SIGTERM (each child also dies with its parent:
 * PR_SET_PDEATHSIG). For bench_picker.py.
 *
 * usage: sleepers N
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile sig_atomic_t stop;
static void on_term(int sig) { (void)sig; stop = 1; }

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 2000, made = 0;
    pid_t parent = getpid();
    pid_t *children = calloc((size_t)n, sizeof *children);
    if (!children) return 1;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    for (; made < n && !stop; made++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            break;
        }
        if (pid == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            if (getppid() != parent) _exit(0);
            for (;;) pause();
        }
        children[made] = pid;
    }
    printf("READY %ld\n", made);
    fflush(stdout);
    char buf[64];
    while (!stop) {
        ssize_t r = read(0, buf, sizeof buf);
        if (r == 0 || (r < 0 && errno != EINTR)) break;
    }
    for (long i = 0; i < made; i++) kill(children[i], SIGKILL);
    for (long i = 0; i < made; i++) waitpid(children[i], NULL, 0);
    return 0;
}
