/* A runtime's uncommit: 8 MiB mapped and touched, then on command ("uncommit") the top
 * 6 MiB made no-access and given back together (mprotect PROT_NONE + MADV_DONTNEED, in
 * one sample). Prints the mapping's address, then "ok" after the command. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#define MiB (1UL << 20)

int main(void) {
    char *p = mmap(NULL, 8 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    memset(p, 1, 8 * MiB);
    printf("%p\n", (void *)p);
    fflush(stdout);
    char word[32];
    while (scanf("%31s", word) == 1) {
        mprotect(p + 2 * MiB, 6 * MiB, PROT_NONE);
        madvise(p + 2 * MiB, 6 * MiB, MADV_DONTNEED);
        printf("ok\n");
        fflush(stdout);
    }
    return 0;
}
