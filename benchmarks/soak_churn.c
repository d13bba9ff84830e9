/* A process whose memory map changes every second, for bench_soak.py (an hour in the TUI).
 *
 * It keeps N slots, each an anonymous mapping of PAGES read-write pages followed by one
 * PROT_NONE guard page (so neighbouring slots never merge: about 2*N regions). Once a
 * second, in one short burst, then asleep until the next second:
 *   - merges back the slots it split a second ago (mprotect the middle page back to RW),
 *   - splits SPLIT other slots in three (mprotect the middle page PROT_READ),
 *   - maps up to CHURN new slots, then unmaps the slots they replace (so the new ones land
 *     at other addresses, and the freed holes are filled only a second later),
 *   - touches every page of TOUCH slots (RSS up by PAGES pages each) and gives back the
 *     pages of TOUCH others with MADV_DONTNEED (RSS down), so resident sizes move by more
 *     than vmtop's default 64 KiB event threshold.
 * It writes "READY <pid>" on stdout at the start, then "TICK <n> <splits> <maps>" every
 * 60 seconds.
 *
 * usage: soak_churn [N]     (default 400)
 */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

enum { PAGES = 16, SPLIT = 20, CHURN = 20, TOUCH = 30 };

static long page;
static char **slots;
static int *split;
static long n;

static char *map_slot(void) {
    char *p = mmap(NULL, (PAGES + 1) * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    if (mprotect(p + PAGES * page, page, PROT_NONE) != 0) {
        perror("mprotect guard");
        exit(1);
    }
    p[0] = 1; /* one page resident from the start */
    return p;
}

static void set_middle(long i, int prot) {
    if (mprotect(slots[i] + (PAGES / 2) * page, page, prot) != 0) {
        perror("mprotect");
        exit(1);
    }
}

int main(int argc, char **argv) {
    n = argc > 1 ? atol(argv[1]) : 400;
    if (n < 2 * (SPLIT + CHURN + TOUCH)) {
        fprintf(stderr, "soak_churn: N must be at least %d\n", 2 * (SPLIT + CHURN + TOUCH));
        return 2;
    }
    page = sysconf(_SC_PAGESIZE);
    slots = calloc(n, sizeof *slots);
    split = calloc(n, sizeof *split);
    if (!slots || !split) return 1;
    for (long i = 0; i < n; i++) slots[i] = map_slot();
    srand(42);
    printf("READY %ld\n", (long)getpid());
    fflush(stdout);

    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    long ticks = 0, splits = 0, maps = 0;
    for (;;) {
        /* merge what was split last second */
        for (long i = 0; i < n; i++)
            if (split[i]) {
                set_middle(i, PROT_READ | PROT_WRITE);
                split[i] = 0;
            }
        /* split others */
        for (int k = 0; k < SPLIT; k++) {
            long i = rand() % n;
            if (!split[i]) {
                set_middle(i, PROT_READ);
                split[i] = 1;
                splits++;
            }
        }
        /* map new slots first, then unmap the old ones they replace: mapped after an
         * munmap, a slot would land in the hole just freed and the map would not change */
        long chosen[CHURN];
        char *old[CHURN];
        int churned = 0;
        for (int k = 0; k < CHURN; k++) {
            long i = rand() % n;
            int again = 0;
            for (int c = 0; c < churned; c++) again |= chosen[c] == i;
            if (split[i] || again) continue;
            chosen[churned] = i;
            old[churned++] = slots[i];
            slots[i] = map_slot();
            maps++;
        }
        for (int c = 0; c < churned; c++) munmap(old[c], (PAGES + 1) * page);
        /* resident memory up in some slots, down in others */
        for (int k = 0; k < TOUCH; k++) {
            long i = rand() % n;
            if (!split[i]) memset(slots[i], k + 1, PAGES * page);
            long j = rand() % n;
            madvise(slots[j], PAGES * page, MADV_DONTNEED);
        }
        ticks++;
        if (ticks % 60 == 0) {
            printf("TICK %ld %ld %ld\n", ticks, splits, maps);
            fflush(stdout);
        }
        next.tv_sec += 1;
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) != 0) {
        }
    }
}
