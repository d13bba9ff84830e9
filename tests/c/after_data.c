/* Maps 1 MiB of anonymous rw- memory right after this program's data, where a bss
 * region would be (MAP_FIXED_NOREPLACE), and prints "placed 0xADDRESS", then "READY".
 * Built with -DBSS_BYTES=N: with a big N the program has a real bss region there
 * instead, and nothing is placed ("placed 0x0"). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef BSS_BYTES
#define BSS_BYTES 16
#endif
static volatile char zeroed[BSS_BYTES];

int main(void)
{
    char exe[4096], line[8192], perms[8], path[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0)
        return 1;
    exe[n] = 0;
    unsigned long lo, hi, data_end = 0;
    FILE *maps = fopen("/proc/self/maps", "r");
    while (fgets(line, sizeof line, maps)) {
        path[0] = 0;
        if (sscanf(line, "%lx-%lx %7s %*s %*s %*s %4095s", &lo, &hi, perms, path) >= 3
            && strcmp(path, exe) == 0 && perms[1] == 'w')
            data_end = hi;
    }
    fclose(maps);
    zeroed[0] = 1;
    void *placed = NULL;
    if (BSS_BYTES < 4096) {
        placed = mmap((void *)data_end, 1 << 20, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (placed == MAP_FAILED || placed != (void *)data_end)
            return 2;
        memset(placed, 1, 1 << 20);
    }
    printf("placed %p\nREADY\n", placed);
    fflush(stdout);
    pause();
    return 0;
}
