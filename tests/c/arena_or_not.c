/* Two regions with a glibc arena heap's shape, made two ways: a thread's malloc makes
 * glibc map an arena heap (a MAP_NORESERVE reservation committed with mprotect), and
 * the program maps 64 MiB read-write at a 64 MiB boundary itself (as HotSpot commits a
 * metaspace node, as Go maps a heap arena: no MAP_NORESERVE). Prints
 * "READY <arena block> <own 64 MiB>" and sleeps. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define HEAP (64UL << 20)

static void *block;

static void *in_thread(void *unused) {
    (void)unused;
    block = malloc(1000); /* a non-main thread's first malloc: its own arena */
    memset(block, 1, 1000);
    return NULL;
}

int main(void) {
    pthread_t t;
    pthread_create(&t, NULL, in_thread, NULL);
    pthread_join(t, NULL);
    /* Reserve twice the size, keep the 64 MiB-aligned half, commit it whole. */
    char *raw = mmap(NULL, 2 * HEAP, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) return 1;
    uintptr_t aligned = ((uintptr_t)raw + HEAP - 1) & ~(HEAP - 1);
    if (aligned > (uintptr_t)raw) munmap(raw, aligned - (uintptr_t)raw);
    munmap((char *)aligned + HEAP, (uintptr_t)raw + 2 * HEAP - aligned - HEAP);
    char *own = mmap((void *)aligned, HEAP, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    if (own == MAP_FAILED) return 1;
    own[0] = 1;
    printf("READY %p %p\n", block, (void *)own);
    fflush(stdout);
    pause();
    return 0;
}
