/* Prints where its own things live, one "name 0xADDRESS" line each, then "ready",
 * and waits for stdin to close. Ground truth for `vmtop where` tests. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ipc.h>
#include <sys/shm.h>

const char const_message[] = "a named constant string";
int global_initialised = 42;
int global_uninitialised;
static int static_initialised = 7;
static int static_uninitialised;
/* Big enough that .bss spills past the file-backed page into anonymous memory. */
static char big_zeroed[256 * 1024];

int main(int argc, char **argv)
{
    int local = argc;
    const char *literal = "a string literal";
    char *small = malloc(32);
    char *big = malloc(1024 * 1024);
    int shmid = shmget(IPC_PRIVATE, 64 * 1024, IPC_CREAT | 0600);
    char *shm = shmid >= 0 ? shmat(shmid, NULL, 0) : NULL;
    if (shmid >= 0)
        shmctl(shmid, IPC_RMID, NULL); /* freed when we detach or exit */
    static_initialised += big_zeroed[argc] + static_uninitialised;
    memset(big, 1, 1024 * 1024);

    printf("main %p\n", (void *)main);
    printf("literal %p\n", (void *)literal);
    printf("const_message %p\n", (void *)const_message);
    printf("global_initialised %p\n", (void *)&global_initialised);
    printf("global_uninitialised %p\n", (void *)&global_uninitialised);
    printf("static_initialised %p\n", (void *)&static_initialised);
    printf("static_uninitialised %p\n", (void *)&static_uninitialised);
    printf("big_zeroed_end %p\n", (void *)&big_zeroed[sizeof big_zeroed - 1]);
    printf("malloc_small %p\n", (void *)small);
    printf("malloc_1mib %p\n", (void *)big);
    if (shm)
        printf("shm %p\n", (void *)shm);
    printf("local %p\n", (void *)&local);
    printf("argv0 %p\n", (void *)argv[0]);
    printf("printf %p\n", (void *)printf);
    printf("ready\n");
    fflush(stdout);

    char buf[64];
    while (read(0, buf, sizeof buf) > 0)
        ;
    return 0;
}
