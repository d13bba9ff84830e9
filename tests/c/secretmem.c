/* 4 MiB of secret memory (memfd_secret, Linux 5.14+), 1 MiB of it touched.
 * Prints "ADDR 0x...", or "UNSUPPORTED <errno>" where the kernel refuses (not built
 * in, or secretmem.enable=0); then waits for stdin to close. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447
#endif

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    int fd = (int)syscall(SYS_memfd_secret, 0);
    char *p = MAP_FAILED;
    if (fd >= 0 && ftruncate(fd, 4 << 20) == 0)
        p = mmap(NULL, 4 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        printf("UNSUPPORTED %d\n", errno);
    } else {
        memset(p, 7, 1 << 20);
        printf("ADDR %p\n", (void *)p);
    }
    char buf[16];
    while (fread(buf, 1, sizeof buf, stdin) > 0) {
    }
    return 0;
}
