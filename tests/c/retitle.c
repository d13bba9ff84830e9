/* A process that rewrites its title over its argv, as postgres' children do
 * ("postgres: checkpointer "): the title ends in a space, and what is left of the old
 * arguments is NUL padding, so /proc/PID/cmdline ends in a run of NULs.
 *
 * usage: retitle TITLE ARG...   (the ARGs only make room; prints READY and waits)
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 3) return 2;
    char title[256];
    snprintf(title, sizeof title, "%s", argv[1]);
    char *end = argv[argc - 1] + strlen(argv[argc - 1]);
    size_t room = (size_t)(end - argv[0]);
    if (strlen(title) >= room) return 3;
    memset(argv[0], 0, room);
    memcpy(argv[0], title, strlen(title));
    printf("READY\n");
    fflush(stdout);
    for (;;) pause();
}
