/* Maps 8 hugetlb pages (MAP_HUGETLB, shared, as PostgreSQL's huge_pages=on maps its
 * shared buffers), says where, then touches the first 4 of them when a line arrives on
 * stdin, says so, unmaps them all when another line arrives, says so, and waits. Ground
 * truth for the hugetlb events: the address and the bytes touched. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HUGE (2UL << 20)

int main(void) {
    size_t size = 8 * HUGE;
    char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | MAP_HUGETLB,
                   -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    printf("READY %p %zu\n", (void *)p, size);
    fflush(stdout);
    char line[16];
    if (!fgets(line, sizeof line, stdin))
        return 0;
    memset(p, 1, 4 * HUGE);
    printf("TOUCHED %zu\n", 4 * HUGE);
    fflush(stdout);
    /* A second line unmaps them all (the hugetlb pages touched go with the mapping). */
    if (fgets(line, sizeof line, stdin)) {
        munmap(p, size);
        printf("UNMAPPED\n");
        fflush(stdout);
    }
    while (fgets(line, sizeof line, stdin)) {
    }
    return 0;
}
