/* Many regions of one mapping changed alike, on command, for the event log's folds.
 *
 * At the start: one anonymous read-write mapping of 1 000 pages, every page written;
 * and four blocks of 16 MiB, each with a no-access page before and after it so that the
 * kernel keeps them four regions of their own (as a thread's stack and its guard). Prints "ready PAGES_AT
 * BLOCKS_AT", the two addresses in hex.
 *
 * Commands on stdin, one a line:
 *   protect  mprotect every other page of the 1 000 read-only (500 calls): answers
 *            "protected N" (N: the pages made read-only)
 *   grow     write the next 256 KiB of each block: answers "grown BYTES" (BYTES: what
 *            each block has had written so far)
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGES 1000
#define BLOCKS 4
#define BLOCK (16UL << 20)
#define STEP (256UL << 10)

int main(void) {
    long page = sysconf(_SC_PAGESIZE);
    char *pages = mmap(NULL, PAGES * page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    size_t stride = BLOCK + page;
    char *blocks = mmap(NULL, page + BLOCKS * stride, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (pages == MAP_FAILED || blocks == MAP_FAILED) return 1;
    if (mprotect(blocks, page, PROT_NONE) != 0) return 1;
    blocks += page;
    memset(pages, 1, PAGES * page);
    for (int b = 0; b < BLOCKS; b++)
        if (mprotect(blocks + b * stride + BLOCK, page, PROT_NONE) != 0) return 1;
    printf("ready %lx %lx\n", (unsigned long)pages, (unsigned long)blocks);
    fflush(stdout);
    size_t grown = 0;
    char word[32];
    while (scanf("%31s", word) == 1) {
        if (!strcmp(word, "protect")) {
            int n = 0;
            for (int i = 0; i < PAGES; i += 2, n++)
                if (mprotect(pages + i * page, page, PROT_READ) != 0) return 1;
            printf("protected %d\n", n);
        } else if (!strcmp(word, "grow") && grown + STEP <= BLOCK) {
            for (int b = 0; b < BLOCKS; b++)
                memset(blocks + b * stride + grown, 2, STEP);
            grown += STEP;
            printf("grown %zu\n", grown);
        }
        fflush(stdout);
    }
    return 0;
}
