/* A target for "what does watching cost the watched process": N separate regions (as
 * many_regions.c), then mmap + munmap of one page in a loop, printing how many pairs
 * it did in each second and the longest single pair in microseconds.
 *
 * usage: churn_rate N     prints "READY" then "RATE <pairs/s> <max us>" every second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: churn_rate N\n");
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
    for (long i = 0; i < n; i++) base[i * page] = 1;
    for (long i = 0; i < n; i += 2)
        if (mprotect(base + i * page, page, PROT_READ) != 0) {
            perror("mprotect (raise vm.max_map_count?)");
            return 1;
        }
    printf("READY\n");
    fflush(stdout);
    double second = now() + 1.0, worst = 0;
    long pairs = 0;
    for (;;) {
        double t0 = now();
        char *p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) return 1;
        p[0] = 1;
        munmap(p, page);
        double t1 = now();
        if (t1 - t0 > worst) worst = t1 - t0;
        pairs++;
        if (t1 >= second) {
            printf("RATE %ld %.0f\n", pairs, worst * 1e6);
            fflush(stdout);
            pairs = 0;
            worst = 0;
            second += 1.0;
        }
    }
}
