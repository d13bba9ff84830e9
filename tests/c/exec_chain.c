/* Execs itself N times (argument N), then prints DONE and waits: a process whose
   memory map is replaced over and over, for reads that land in the middle of exec. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 0;
    if (n > 0) {
        char next[16];
        snprintf(next, sizeof next, "%d", n - 1);
        execl("/proc/self/exe", argv[0], next, (char *)NULL);
        return 1;
    }
    puts("DONE");
    fflush(stdout);
    pause();
    return 0;
}
