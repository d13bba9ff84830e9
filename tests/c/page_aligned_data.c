/* Data that starts on a page of its own, right after the read-only data: built with
 * -Wl,-z,norelro, the linker lays the segments out as Go's does, the read-only one's
 * file offsets running on into the data's at the next address, with no RELRO. */
#include <stdio.h>
#include <unistd.h>

__attribute__((aligned(4096))) int table[1024] = {1};
const char text[8192] = "read-only";

int main(void) {
    printf("READY\n");
    fflush(stdout);
    pause();
    return table[0] + text[0];
}
