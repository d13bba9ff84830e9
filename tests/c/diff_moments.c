/* Steps on stdin lines, for comparing two moments of one process (vmtop diff, the
   replay's marks A and B); each prints what it did, with the addresses:
   "big"     : malloc(100 MiB) and touch it      -> "big ADDR SIZE"
   "free"    : free it (glibc unmaps it)          -> "freed ADDR"
   "file"    : mmap argv[1] read-only, read it    -> "file ADDR SIZE"
   "anon"    : mmap 32 MiB anonymous, touch it    -> "anon ADDR SIZE"
   "threads" : start 4 threads that wait          -> "threads 4"
   "dlopen"  : dlopen libm                        -> "dlopen HANDLE" ("(nil)": none) */
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void *wait_forever(void *arg) {
    (void)arg;
    pthread_mutex_lock(&mu);
    for (;;) pthread_cond_wait(&cv, &mu);
    return NULL;
}

int main(int argc, char **argv) {
    char line[64];
    char *big = NULL;
    printf("ready\n");
    fflush(stdout);
    while (fgets(line, sizeof line, stdin)) {
        if (!strncmp(line, "big", 3)) {
            size_t size = 100u << 20;
            big = malloc(size);
            memset(big, 1, size);
            printf("big %p %zu\n", (void *)big, size);
        } else if (!strncmp(line, "free", 4)) {
            printf("freed %p\n", (void *)big);
            free(big);
        } else if (!strncmp(line, "file", 4) && argc > 1) {
            int fd = open(argv[1], O_RDONLY);
            off_t size = lseek(fd, 0, SEEK_END);
            char *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
            volatile char sum = 0;
            for (off_t i = 0; i < size; i += 4096) sum += p[i];
            printf("file %p %ld\n", (void *)p, (long)size);
        } else if (!strncmp(line, "anon", 4)) {
            size_t size = 32u << 20;
            char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            memset(p, 2, size);
            printf("anon %p %zu\n", (void *)p, size);
        } else if (!strncmp(line, "threads", 7)) {
            pthread_t t;
            for (int i = 0; i < 4; i++) pthread_create(&t, NULL, wait_forever, NULL);
            printf("threads 4\n");
        } else if (!strncmp(line, "dlopen", 6)) {
            printf("dlopen %p\n", dlopen("libm.so.6", RTLD_NOW));
        }
        fflush(stdout);
    }
    return 0;
}
