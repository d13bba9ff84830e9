/* 32 MiB of private anonymous memory freed with MADV_FREE, as jemalloc or Go's runtime
 * free it, on command.
 *
 * Prints "ADDR 0x..." (the region, mapped and not touched yet), then reads commands on
 * stdin, one a line, answering "DONE <command>":
 *   touch  write every page of the 32 MiB
 *   free   madvise(MADV_FREE) all of it: it stays resident until the kernel needs it.
 *          The kernel counts the last pages freed in smaps' LazyFree only once their
 *          per-CPU batch is drained (up to 64 kB late, measured on 6.18: until any
 *          drain, khugepaged's every 10 s say): mlock of a page of its own drains every
 *          CPU's batches, so that LazyFree says all of it when the test reads it.
 *   reuse  write its first 8 MiB again (those pages are the program's own again)
 *   fork   fork a child that shares every page: the lazily freed ones turn Shared_Clean
 *          in the parent, still lazily freed (LazyFree unmoved)
 *   childwrite  the child writes the first 8 MiB (copy on write: the parent's pages
 *          are its own again, still lazily freed); the child exits when the parent does
 * Small pages only (a huge page freed whole stays one, part of it splits it: the test
 * asks for 4 KiB pages). Ground truth for the test is the kernel's smaps.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MADV_FREE
#define MADV_FREE 8
#endif

#ifndef MADV_COLD
#define MADV_COLD 20
#endif

#define SIZE (32u << 20)

static void drain_page_batches(char *page) {
    if (mlock(page, 4096) == 0) {
        munlock(page, 4096);
        return;
    }
    madvise(page, 4096, MADV_COLD); /* (drains this CPU's batches only) */
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) return 1;
    page[0] = 1;
    char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    madvise(p, SIZE, 15 /* MADV_NOHUGEPAGE */);
    printf("ADDR %p\n", (void *)p);
    char line[64];
    int to_child[2] = {-1, -1}, from_child[2] = {-1, -1};
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        if (!strcmp(line, "touch")) {
            memset(p, 1, SIZE);
        } else if (!strcmp(line, "free")) {
            if (madvise(p, SIZE, MADV_FREE)) return 2;
            drain_page_batches(page);
        } else if (!strcmp(line, "reuse")) {
            memset(p, 2, 8u << 20);
        } else if (!strcmp(line, "fork")) {
            if (pipe(to_child) || pipe(from_child)) return 3;
            if (fork() == 0) {
                char c;
                close(to_child[1]);
                while (read(to_child[0], &c, 1) == 1) {
                    memset(p, 3, 8u << 20);
                    if (write(from_child[1], "w", 1) != 1) _exit(1);
                }
                _exit(0); /* the parent is gone */
            }
            close(to_child[0]);
        } else if (!strcmp(line, "childwrite")) {
            char c;
            if (write(to_child[1], "w", 1) != 1 || read(from_child[0], &c, 1) != 1) return 4;
        }
        printf("DONE %s\n", line);
    }
    return 0;
}
