/* Three threads that each print their TID, wait for a line on stdin, then exit one by
   one when told: "exit N" ends thread N and main joins it, then prints "joined N". */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int go[3];

static void *worker(void *arg) {
    int n = (int)(long)arg;
    printf("thread %d %d\n", n, gettid());
    fflush(stdout);
    pthread_mutex_lock(&lock);
    while (!go[n]) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    return NULL;
}

int main(void) {
    pthread_t t[3];
    for (long i = 0; i < 3; i++) pthread_create(&t[i], NULL, worker, (void *)i);
    char line[64];
    usleep(100000);
    printf("ready\n");
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
        int n;
        if (sscanf(line, "exit %d", &n) == 1 && n >= 0 && n < 3) {
            pthread_mutex_lock(&lock);
            go[n] = 1;
            pthread_cond_broadcast(&cond);
            pthread_mutex_unlock(&lock);
            pthread_join(t[n], NULL);
            printf("joined %d\n", n);
            fflush(stdout);
        }
    }
    return 0;
}
