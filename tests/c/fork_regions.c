/* 500 private anonymous regions of 256 KiB each, apart (a hole between two), written;
 * then, on command, a forked child that shares them all.
 *
 * Prints "REGIONS 0x<first> <count> <size> <stride>", then reads commands on stdin, one
 * a line, answering "DONE <command>":
 *   fork   fork a child (prints "CHILD <pid>" first); it waits on a pipe
 *   write  the child writes every page of every region (each copied on write)
 *   free   this process frees every region with MADV_FREE (still mapped, lazily freed)
 * At the end of input the child exits and is reaped. Ground truth for the test is the
 * kernel's smaps of this process.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define COUNT 500
#define SIZE (256u << 10)
#define STRIDE (2 * SIZE)

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    /* One reserve, then each region mapped at its place and the hole after it given
     * back: 500 regions the kernel cannot merge. */
    char *base = mmap(NULL, (size_t)COUNT * STRIDE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    if (base == MAP_FAILED) return 1;
    for (int i = 0; i < COUNT; i++) {
        char *r = base + (size_t)i * STRIDE;
        if (mmap(r, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
                 0) == MAP_FAILED)
            return 1;
        munmap(r + SIZE, STRIDE - SIZE);
        madvise(r, SIZE, 15 /* MADV_NOHUGEPAGE: 4 KiB pages, copied one by one */);
        memset(r, 1, SIZE);
    }
    printf("REGIONS %p %d %u %u\n", (void *)base, COUNT, SIZE, STRIDE);
    int to_child[2], from_child[2];
    pid_t child = -1;
    char line[64], byte = 0;
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = 0;
        if (!strcmp(line, "fork") && child < 0) {
            if (pipe(to_child) || pipe(from_child)) return 1;
            child = fork();
            if (child == 0) {
                close(to_child[1]);
                close(from_child[0]);
                while (read(to_child[0], &byte, 1) == 1) {
                    for (int i = 0; i < COUNT; i++) memset(base + (size_t)i * STRIDE, 2, SIZE);
                    if (write(from_child[1], &byte, 1) != 1) _exit(1);
                }
                _exit(0);
            }
            close(to_child[0]);
            close(from_child[1]);
            printf("CHILD %d\n", (int)child);
        } else if (!strcmp(line, "write") && child > 0) {
            if (write(to_child[1], &byte, 1) != 1 || read(from_child[0], &byte, 1) != 1)
                return 1;
        } else if (!strcmp(line, "free")) {
            for (int i = 0; i < COUNT; i++) madvise(base + (size_t)i * STRIDE, SIZE, MADV_FREE);
        }
        printf("DONE %s\n", line);
    }
    if (child > 0) {
        close(to_child[1]);
        waitpid(child, NULL, 0);
    }
    return 0;
}
