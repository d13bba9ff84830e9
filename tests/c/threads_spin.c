/* Two threads that block until told, then spin on a CPU (no system call: their stack
 * pointers cannot be read). Each prints "thread TID 0xADDRESS_OF_A_LOCAL"; then main
 * prints "ready", and on a line on stdin lets them spin ("spinning"). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static int spin;
static pthread_barrier_t started;

static void *worker(void *arg)
{
    volatile long local = (long)arg;
    pthread_mutex_lock(&lock);
    printf("thread %ld %p\n", (long)syscall(SYS_gettid), (void *)&local);
    fflush(stdout);
    pthread_mutex_unlock(&lock);
    pthread_barrier_wait(&started);
    pthread_mutex_lock(&lock);
    while (!spin)
        pthread_cond_wait(&go, &lock);
    pthread_mutex_unlock(&lock);
    for (;;)
        local++;
    return NULL;
}

int main(void)
{
    pthread_t threads[2];
    char buf[64];
    pthread_barrier_init(&started, NULL, 3);
    for (long i = 0; i < 2; i++)
        pthread_create(&threads[i], NULL, worker, (void *)i);
    pthread_barrier_wait(&started);
    printf("ready\n");
    fflush(stdout);
    if (read(0, buf, sizeof buf) <= 0)
        return 1;
    pthread_mutex_lock(&lock);
    spin = 1;
    pthread_cond_broadcast(&go);
    pthread_mutex_unlock(&lock);
    printf("spinning\n");
    fflush(stdout);
    while (read(0, buf, sizeof buf) > 0)
        ;
    return 0;
}
