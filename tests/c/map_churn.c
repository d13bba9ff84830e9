/* map_churn: maps a few pages and unmaps them again, over and over (a page every
 * 2 ms), so that every sample of a recording has something to write. Prints READY. */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    printf("READY\n");
    fflush(stdout);
    for (unsigned k = 0;; k++) {
        size_t len = (1 + k % 7) * page;
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return 1;
        p[0] = 1;
        usleep(2000);
        munmap(p, len);
    }
}
