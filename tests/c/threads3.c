/* Starts three threads; each prints "thread TID 0xADDRESS_OF_A_LOCAL" and blocks; the
 * first two name themselves "worker-0" and "worker-1" (pthread_setname_np), the third
 * does not. Then prints "ready" and waits for stdin to close. Ground truth for thread
 * stacks. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>

static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t started;

static void *worker(void *arg)
{
    volatile int local = (int)(long)arg;
    char name[16];
    if ((long)arg < 2) {
        snprintf(name, sizeof name, "worker-%ld", (long)arg);
        pthread_setname_np(pthread_self(), name);
    }
    pthread_mutex_lock(&print_lock);
    printf("thread %ld %p\n", (long)syscall(SYS_gettid), (void *)&local);
    fflush(stdout);
    pthread_mutex_unlock(&print_lock);
    pthread_barrier_wait(&started);
    for (;;)
        pause();
    return NULL;
}

int main(void)
{
    pthread_t threads[3];
    int local = 0;
    pthread_barrier_init(&started, NULL, 4);
    for (long i = 0; i < 3; i++)
        pthread_create(&threads[i], NULL, worker, (void *)i);
    pthread_barrier_wait(&started);
    printf("main %ld %p\n", (long)syscall(SYS_gettid), (void *)&local);
    printf("ready\n");
    fflush(stdout);
    char buf[64];
    while (read(0, buf, sizeof buf) > 0)
        ;
    return 0;
}
