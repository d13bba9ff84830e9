/* Known private, shared and file memory, then a fork on command: USS and SHR's truth.
 *
 * argv[1]: a file of at least 4 MiB. Maps and touches 16 MiB of private anonymous
 * memory (written), 2 MiB of shared anonymous memory (written: shmem, RssShmem) and
 * the file's first 4 MiB (read: page cache, RssFile), then prints
 * "READY <private address> <shared address> <file address>" and reads commands on
 * stdin, one a line, answering "DONE <command>":
 *   fork   fork a child that maps all of it too (prints "CHILD <pid>" before DONE):
 *          it reads a byte of each page of the shared and the file mapping (a fork
 *          copies the page tables of private anonymous memory only: the others are
 *          faulted in again), says so on a pipe, then blocks on another and exits
 *          when the parent does
 * Ground truth for the test is the kernel's smaps, smaps_rollup, status and statm.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PRIVATE_SIZE (16u << 20)
#define SHARED_SIZE (2u << 20)
#define FILE_SIZE (4u << 20)

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    char *private = mmap(NULL, PRIVATE_SIZE, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    char *shared = mmap(NULL, SHARED_SIZE, PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) return 1;
    char *file = mmap(NULL, FILE_SIZE, PROT_READ, MAP_PRIVATE, fd, 0);
    if (private == MAP_FAILED || shared == MAP_FAILED || file == MAP_FAILED) return 1;
    /* Small pages only: the test counts 4 KiB pages. */
    madvise(private, PRIVATE_SIZE, 15 /* MADV_NOHUGEPAGE */);
    memset(private, 1, PRIVATE_SIZE);
    memset(shared, 2, SHARED_SIZE);
    volatile char sum = 0;
    for (size_t i = 0; i < FILE_SIZE; i += 4096) sum += file[i];
    printf("READY %p %p %p\n", (void *)private, (void *)shared, (void *)file);
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
                for (size_t i = 0; i < SHARED_SIZE; i += 4096) sum += shared[i];
                for (size_t i = 0; i < FILE_SIZE; i += 4096) sum += file[i];
                if (write(from_child[1], &byte, 1) != 1) _exit(1);
                while (read(to_child[0], &byte, 1) == 1) {
                }
                _exit(0);
            }
            close(to_child[0]);
            close(from_child[1]);
            if (read(from_child[0], &byte, 1) != 1) return 1;
            printf("CHILD %d\n", (int)child);
        }
        printf("DONE %s\n", line);
    }
    if (child > 0) {
        close(to_child[1]);
        waitpid(child, NULL, 0);
    }
    return 0;
}
