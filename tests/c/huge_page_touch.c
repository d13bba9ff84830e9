/* A 16 MiB anonymous region, 2 MiB aligned, with MADV_HUGEPAGE; on "touch" (stdin) one
 * byte written every 2 MiB: where THP backs the range, each fault brings a 2 MiB page.
 * Prints "ADDR 0x..." first, "DONE touch" after. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define HUGE (2u << 20)
#define SIZE (8 * HUGE)

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    char *raw = mmap(NULL, SIZE + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return 1;
    char *p = (char *)(((uintptr_t)raw + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
    madvise(p, SIZE, 14 /* MADV_HUGEPAGE */);
    printf("ADDR %p\n", (void *)p);
    char line[32];
    while (fgets(line, sizeof line, stdin)) {
        for (size_t at = 0; at < SIZE; at += HUGE) p[at] = 1;
        printf("DONE touch\n");
    }
    return 0;
}
