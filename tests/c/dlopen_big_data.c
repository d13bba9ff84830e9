/* dlopen of a library with a big .data (argv[1]: its path; argv[2]: the name of that
 * array, argv[3]: its size in bytes), and writes into it: the pages of the library's
 * file written become the process's own copies (copy-on-write).
 *
 * Prints "ready", then reads commands on stdin, one a line:
 *   load   dlopen the library: answers "loaded 0x..." (the array's address)
 *   write  write a byte of each page of the array: answers "ok write"
 * Ground truth for the test is the kernel's smaps of the library's data mapping.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    size_t size = strtoul(argv[3], NULL, 0);
    char *data = NULL;
    printf("ready\n");
    fflush(stdout);
    char word[32];
    while (scanf("%31s", word) == 1) {
        if (!strcmp(word, "load")) {
            void *library = dlopen(argv[1], RTLD_NOW);
            if (library == NULL) return 1;
            data = dlsym(library, argv[2]);
            if (data == NULL) return 1;
            printf("loaded %p\n", (void *)data);
        } else if (!strcmp(word, "write") && data != NULL) {
            for (size_t i = 0; i < size; i += 4096) data[i] = 7;
            printf("ok write\n");
        }
        fflush(stdout);
    }
    return 0;
}
