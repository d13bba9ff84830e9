/* A process with N separate regions, for benchmarks: one anonymous area of N pages,
 * every other page mprotect'ed read-only so the kernel cannot merge neighbours, and
 * every page touched once so smaps has resident pages to count.
 *
 * usage: many_regions N      prints "READY <first address> <N>" and waits for a signal.
 * N can be at most about vm.max_map_count (65530 by default) minus what libc maps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: many_regions N\n");
        return 2;
    }
    long n = atol(argv[1]);
    long page = sysconf(_SC_PAGESIZE);
    char *base = mmap(NULL, n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    if (base == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    for (long i = 0; i < n; i++) base[i * page] = 1; /* resident, dirty */
    for (long i = 0; i < n; i += 2) {
        if (mprotect(base + i * page, page, PROT_READ) != 0) {
            perror("mprotect (raise vm.max_map_count?)");
            return 1;
        }
    }
    printf("READY %lx %ld\n", (unsigned long)base, n);
    fflush(stdout);
    for (;;) pause();
}
