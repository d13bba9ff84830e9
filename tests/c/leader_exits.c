/* The main thread calls pthread_exit() while another thread goes on: the process is
 * alive, but /proc/PID/maps (the main thread's) is empty and its state is Z.
 * Prints "worker TID BLOCK_ADDRESS" (a 4 MiB malloc: its own mmap), then "READY". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

static pthread_barrier_t printed;

static void *worker(void *arg)
{
    (void)arg;
    char *block = malloc(4 << 20);
    memset(block, 1, 4 << 20);
    printf("worker %ld %p\n", (long)syscall(SYS_gettid), (void *)block);
    fflush(stdout);
    pthread_barrier_wait(&printed);
    for (;;)
        pause();
    return NULL;
}

int main(void)
{
    pthread_t thread;
    pthread_barrier_init(&printed, NULL, 2);
    pthread_create(&thread, NULL, worker, NULL);
    pthread_barrier_wait(&printed);
    printf("READY\n");
    fflush(stdout);
    pthread_exit(NULL);
}
