/* Pages of its own to swap and back, on command (one word a line on stdin):
 *   out  - madvise(MADV_PAGEOUT) of the 16 MiB region (to swap, when there is swap)
 *   in   - read every page of it again (back from swap)
 *   free - madvise(MADV_DONTNEED) of it (freed: no swap either)
 * It prints "READY <address>" first and "DONE <word>" after each command.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define SIZE (16UL << 20)

int main(void) {
    char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 2;
    for (size_t i = 0; i < SIZE; i += 4096) p[i] = (char)(i >> 12 | 1);
    printf("READY %lx\n", (unsigned long)p);
    fflush(stdout);
    char word[32];
    volatile unsigned long sum = 0;
    while (scanf("%31s", word) == 1) {
        if (!strcmp(word, "out")) {
            if (madvise(p, SIZE, MADV_PAGEOUT)) return 3;
        } else if (!strcmp(word, "in")) {
            for (size_t i = 0; i < SIZE; i += 4096) sum += (unsigned char)p[i];
        } else if (!strcmp(word, "free")) {
            if (madvise(p, SIZE, MADV_DONTNEED)) return 4;
        }
        printf("DONE %s\n", word);
        fflush(stdout);
    }
    return 0;
}
