/* A target whose names are hostile: it dlopens a library (hostile file, section and
 * symbol names) and maps a data file (hostile file name).
 *
 * usage: hostile_target LIBRARY DATAFILE
 *
 * Prints "CODE <hex> DATA <hex>" (addresses inside the library's renamed sections),
 * then READY. Each line read on stdin after that maps DATAFILE once more and prints
 * "MAPPED <hex>". Exits at the end of stdin.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: hostile_target LIBRARY DATAFILE\n");
        return 2;
    }
    prctl(PR_SET_NAME, "ev\x1b[2J\x9b\x7f", 0, 0, 0); /* a hostile comm too */
    void *lib = dlopen(argv[1], RTLD_NOW);
    if (lib == NULL) {
        printf("ERROR %s\n", dlerror());
        return 1;
    }
    void (*where)(unsigned long *, unsigned long *) =
        (void (*)(unsigned long *, unsigned long *))dlsym(lib, "hostile_where");
    if (where == NULL) {
        printf("ERROR %s\n", dlerror());
        return 1;
    }
    unsigned long code = 0, data = 0;
    where(&code, &data);
    int fd = open(argv[2], O_RDONLY);
    if (fd < 0) {
        perror("open");
        return 1;
    }
    volatile char *first = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    (void)first[0];
    printf("CODE %lx DATA %lx\nREADY\n", code, data);
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin) != NULL) {
        volatile char *more = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
        (void)more[0];
        printf("MAPPED %lx\n", (unsigned long)more);
        fflush(stdout);
    }
    return 0;
}
