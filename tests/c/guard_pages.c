/* A 16-page anonymous region with its pages 2 and 3 made guard pages
 * (MADV_GUARD_INSTALL, Linux 6.13+), the rest touched.
 *
 * Prints "ADDR 0x..." and "FAULT <signal>": the signal a forked child got touching
 * page 2 (the ground truth that it is a guard page), or "UNSUPPORTED <errno>" when
 * the kernel refuses the advice. Then waits for stdin to close.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    long page = sysconf(_SC_PAGESIZE);
    char *p = mmap(NULL, 16 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    memset(p, 1, 16 * page);
    printf("ADDR %p\n", (void *)p);
    if (madvise(p + 2 * page, 2 * page, MADV_GUARD_INSTALL) != 0) {
        printf("UNSUPPORTED %d\n", errno);
    } else {
        pid_t child = fork();
        if (child == 0) {
            volatile char c = p[2 * page];
            (void)c;
            _exit(0);
        }
        int status = 0;
        waitpid(child, &status, 0);
        printf("FAULT %d\n", WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
    char buf[16];
    while (fread(buf, 1, sizeof buf, stdin) > 0) {
    }
    return 0;
}
