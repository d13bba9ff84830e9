/* Changes an 8 MiB mapping, written whole, on command (a word a line on stdin): calls
 * that change only a VmFlag of its middle, "lock" (mlock 2 MiB at 2 MiB), "unlock",
 * "dontdump" (MADV_DONTDUMP of 1 MiB at 2 MiB), "dodump", "seal" (mseal of 1 MiB at
 * 6 MiB; kernel 6.10+, answers "nosys" where it fails); and a runtime's uncommit,
 * "uncommit" (the top 6 MiB made no-access and given back together: mprotect
 * PROT_NONE + MADV_DONTNEED). Prints the mapping's address first, then "ok WORD" after
 * each call. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MiB (1UL << 20)

int main(void) {
    char *p = mmap(NULL, 8 * MiB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return 1;
    memset(p, 1, 8 * MiB);
    printf("%p\n", (void *)p);
    fflush(stdout);
    char word[32];
    while (scanf("%31s", word) == 1) {
        int rc = 0;
        if (!strcmp(word, "lock")) rc = mlock(p + 2 * MiB, 2 * MiB);
        else if (!strcmp(word, "unlock")) rc = munlock(p + 2 * MiB, 2 * MiB);
        else if (!strcmp(word, "dontdump")) rc = madvise(p + 2 * MiB, MiB, MADV_DONTDUMP);
        else if (!strcmp(word, "dodump")) rc = madvise(p + 2 * MiB, MiB, MADV_DODUMP);
        else if (!strcmp(word, "seal")) rc = (int)syscall(462, p + 6 * MiB, MiB, 0);
        else if (!strcmp(word, "uncommit")) {
            rc = mprotect(p + 2 * MiB, 6 * MiB, PROT_NONE);
            rc |= madvise(p + 2 * MiB, 6 * MiB, MADV_DONTNEED);
        }
        printf("%s %s\n", rc ? "nosys" : "ok", word);
        fflush(stdout);
    }
    return 0;
}
