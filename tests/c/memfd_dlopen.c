/* Loads a library from a memfd, as a program that has no file for it does (runc's clone
 * of itself, loaders of in-memory plugins): the library's bytes are copied into a memfd
 * and dlopen'ed through /proc/self/fd/N. Its segments are then private mappings of
 * "/memfd:NAME (deleted)".
 *
 * usage: memfd_dlopen LIBRARY SYMBOL   (prints "READY <address of SYMBOL>" and waits)
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    int fd = memfd_create("vmtop_plugin", 0), in = open(argv[1], O_RDONLY);
    if (fd < 0 || in < 0) return 3;
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        if (write(fd, buf, (size_t)n) != n) return 4;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    void *handle = dlopen(path, RTLD_NOW);
    if (!handle) {
        fprintf(stderr, "%s\n", dlerror());
        return 5;
    }
    printf("READY %p\n", dlsym(handle, argv[2]));
    fflush(stdout);
    for (;;) pause();
}
