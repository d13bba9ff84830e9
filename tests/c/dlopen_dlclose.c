/* dlopen and dlclose of a library (argv[1]: its path), on command: the loader maps its
 * text, rodata, relro, data and .bss in one call, and dlclose unmaps them all.
 *
 * Prints "ready", then reads commands on stdin, one a line:
 *   load   dlopen the library: answers "loaded"
 *   close  dlclose it: answers "closed"
 */
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    void *library = NULL;
    printf("ready\n");
    fflush(stdout);
    char word[32];
    while (scanf("%31s", word) == 1) {
        if (!strcmp(word, "load") && library == NULL) {
            library = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
            if (library == NULL) return 1;
            printf("loaded\n");
        } else if (!strcmp(word, "close") && library != NULL) {
            if (dlclose(library) != 0) return 1;
            library = NULL;
            printf("closed\n");
        }
        fflush(stdout);
    }
    return 0;
}
