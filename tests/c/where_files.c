/* Maps files the way the ELF tests need, prints "NAME 0xADDRESS" for each, then
 * "ready", and waits for stdin to close (the test changes the files meanwhile).
 *
 * usage: where_files SPEC...
 *   dl:PATH   dlopen PATH; prints dlN_func and dlN_data (where_lib_func, where_lib_data)
 *   x:PATH    mmap PATH private, PROT_READ|PROT_EXEC; prints xN
 *   r:PATH    mmap PATH private, PROT_READ; prints rN
 * N is the argument's position.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *spec = argv[i];
        const char *path = spec + 2;
        if (strncmp(spec, "dl:", 3) == 0) {
            path = spec + 3;
            void *handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
            if (!handle) {
                fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
                return 1;
            }
            printf("dl%d_func %p\n", i, dlsym(handle, "where_lib_func"));
            printf("dl%d_data %p\n", i, dlsym(handle, "where_lib_data"));
            continue;
        }
        int fd = open(path, O_RDONLY);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0) {
            perror(path);
            return 1;
        }
        int prot = spec[0] == 'x' ? PROT_READ | PROT_EXEC : PROT_READ;
        void *p = mmap(NULL, st.st_size, prot, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            perror("mmap");
            return 1;
        }
        close(fd);
        printf("%c%d %p\n", spec[0], i, p);
    }
    printf("ready\n");
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0)
        ;
    return 0;
}
