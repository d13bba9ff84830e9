/* glibc's dynamic mmap threshold, step by step on stdin lines:
   "big"  : malloc(256 KiB) and touch it (above the 128 KiB threshold: its own mmap)
   "free" : free it (munmap; glibc raises the threshold to 256 KiB)
   "again": malloc(256 KiB) again (now below the threshold: from the heap, through brk)
   Each step prints what it did and the block's address. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    char line[64];
    char *block = NULL;
    void *small = malloc(16); /* make the heap exist */
    printf("ready %p\n", small);
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
        if (!strncmp(line, "big", 3) || !strncmp(line, "again", 5)) {
            block = malloc(256 * 1024);
            memset(block, 1, 256 * 1024);
            printf("block %p\n", (void *)block);
        } else if (!strncmp(line, "free", 4)) {
            free(block);
            printf("freed\n");
        }
        fflush(stdout);
    }
    return 0;
}
