#include <stdio.h>
#include <string.h>
#include <unistd.h>
static char *deepest;
static void dig(int n) {
    char pad[4096];
    memset(pad, n, sizeof pad);
    if (n == 0) { deepest = pad; return; }
    dig(n - 1);
    if (pad[0] != (char)n) deepest = 0;  /* keep the frame */
}
int main(void) {
    char local = 1;
    printf("MAIN %p\n", (void *)&local);
    fflush(stdout);
    char line[8];
    if (!fgets(line, sizeof line, stdin)) return 1;
    dig(512);  /* 2 MiB of frames */
    printf("DEEP %p\n", (void *)deepest);
    fflush(stdout);
    pause();
    return 0;
}
