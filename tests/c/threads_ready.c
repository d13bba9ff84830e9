/* A small ordinary process: heap, a big malloc (its own mmap), a dirty private
 * mapping, two threads with their stacks. Prints READY and waits to be looked at.
 *
 * usage: threads_ready     (prints "HEAP <addr>", "BIG <addr> <len>", "THREAD <tid>"
 *                           lines before READY; the tests use them as ground truth)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static pthread_barrier_t started;

static void *worker(void *arg) {
    (void)arg;
    printf("THREAD %d\n", gettid());
    pthread_barrier_wait(&started);
    for (;;) pause();
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    char *small = malloc(1000);
    memset(small, 1, 1000);
    printf("HEAP %lx\n", (unsigned long)small);
    size_t big_len = 1 << 20; /* above M_MMAP_THRESHOLD: glibc mmaps it */
    char *big = malloc(big_len);
    memset(big, 2, big_len / 2); /* half of it resident */
    printf("BIG %lx %lx\n", (unsigned long)big, (unsigned long)big_len);
    pthread_barrier_init(&started, NULL, 3);
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) pthread_create(&threads[i], NULL, worker, NULL);
    pthread_barrier_wait(&started);
    printf("READY\n");
    for (;;) pause();
}
