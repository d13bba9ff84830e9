/* A parent and, on command, a forked child sharing 16 MiB of private memory.
 *
 * Prints "ADDR 0x..." (the 16 MiB region, written before any fork), then reads
 * commands on stdin, one a line, answering "DONE <command>":
 *   fork   fork a child (prints "CHILD <pid>" before DONE); the child waits on a pipe
 *   write  the child writes the region's first 8 MiB (each page copied on write)
 * At the end of input (or the parent's death) the child exits.
 * Ground truth for the test is the kernel's smaps of both processes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE (16u << 20)

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    char *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    /* Small pages only: a 2 MiB page is copied whole or split; the test asks for 4 KiB. */
    madvise(p, SIZE, 15 /* MADV_NOHUGEPAGE */);
    memset(p, 1, SIZE);
    printf("ADDR %p\n", (void *)p);
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
                    memset(p, 2, SIZE / 2);
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
        }
        printf("DONE %s\n", line);
    }
    if (child > 0) {
        close(to_child[1]);
        waitpid(child, NULL, 0);
    }
    return 0;
}
