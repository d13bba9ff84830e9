/* A library with each part a loader maps: text (functions), rodata (a constant table),
 * relro (a table of pointers, written by relocation then made read-only), data (an
 * initialised array) and a big .bss (zeroed array, past the file's last page). */
#include <stddef.h>

const char library_table[256 * 1024] = {1};
int library_data[64 * 1024] = {1};
char library_zeroes[4 * 1024 * 1024];
const char *const library_names[] = {library_table, (const char *)library_data,
                                     library_zeroes};

size_t library_touch(size_t i) {
    library_zeroes[i % sizeof library_zeroes] = 1;
    return (size_t)library_names[i % 3][0] + (size_t)library_table[i % sizeof library_table];
}
