/* A process with one more thread, which ends when a line comes on stdin; the process
 * goes on and then maps a region of its own.
 *
 * prints: "PID <pid>", "THREAD <tid>" (gettid of the other thread), READY; after a line
 * on stdin: "JOINED" once the thread has exited and was joined, then
 * "MAPPED <addr> <len>" (a private anonymous region, written), and waits.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static pthread_barrier_t started;

static void *worker(void *arg) {
    (void)arg;
    printf("THREAD %d\n", gettid());
    pthread_barrier_wait(&started);
    char line[64];
    (void)fgets(line, sizeof line, stdin);  /* ends with the line (or stdin's end) */
    return NULL;
}

int main(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("PID %d\n", getpid());
    pthread_barrier_init(&started, NULL, 2);
    usleep(50000); /* the thread's start time (in 1/100 s) is then not the process's */
    pthread_t thread;
    pthread_create(&thread, NULL, worker, NULL);
    pthread_barrier_wait(&started);
    printf("READY\n");
    pthread_join(thread, NULL);
    printf("JOINED\n");
    size_t len = 4 << 20;
    char *region = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED) return 1;
    memset(region, 1, len);
    printf("MAPPED %lx %lx\n", (unsigned long)region, (unsigned long)len);
    for (;;) pause();
}
