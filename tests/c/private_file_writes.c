/* Writes into a file mapped MAP_PRIVATE, as a program writing a .data page, a data file
 * mapped writable, or a JIT patching code does: each page written becomes the process's
 * own copy (copy-on-write), anonymous memory in the file's mapping.
 *
 * Maps the first 8 MiB of the file argv[1] private and writable (4 KiB pages), prints
 * its address ("0x..."), then reads commands on stdin, one a line, answering
 * "ok <command>":
 *   read   read a byte of each page of the first 4 MiB: the file's page cache, mapped
 *   write  write a byte of each page of the first 2 MiB (read before): copied on write,
 *          each copy taking the place of a page of the file that was resident
 *   cold   write a byte of each page of 4..6 MiB (never touched here): copied at the
 *          first fault, new memory
 *   drop   madvise(MADV_DONTNEED) of the first 2 MiB: those copies are dropped
 * Ground truth for the test is the kernel's smaps of the mapping.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define MiB (1UL << 20)
#define PAGE 4096

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) return 1;
    char *p = mmap(NULL, 8 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) return 1;
    madvise(p, 8 * MiB, 15 /* MADV_NOHUGEPAGE: the test counts 4 KiB pages */);
    printf("%p\n", (void *)p);
    fflush(stdout);
    char word[32];
    volatile char sink = 0;
    while (scanf("%31s", word) == 1) {
        int rc = 0;
        if (!strcmp(word, "read"))
            for (size_t i = 0; i < 4 * MiB; i += PAGE) sink += p[i];
        else if (!strcmp(word, "write"))
            for (size_t i = 0; i < 2 * MiB; i += PAGE) p[i] = 7;
        else if (!strcmp(word, "cold"))
            for (size_t i = 4 * MiB; i < 6 * MiB; i += PAGE) p[i] = 7;
        else if (!strcmp(word, "drop"))
            rc = madvise(p, 2 * MiB, MADV_DONTNEED);
        printf("%s %s\n", rc ? "failed" : "ok", word);
        fflush(stdout);
    }
    return 0;
}
