/* Run chroot'ed by tests/test_chroot_files_live.py: the main thread exits while another
 * thread goes on, so /proc/PID/map_files is empty and vmtop reaches the program's files
 * by their names. With an argument, first maps that file shared (as a JVM maps its
 * hsperfdata). Prints "marker ADDRESS" (a function of its own), then "READY".
 * The main thread ends by the exit system call, as pthread_exit() does in the end:
 * pthread_exit() would first dlopen libgcc_s to unwind, which the bare root lacks. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static pthread_barrier_t printed;

__attribute__((noinline)) void chroot_marker_function(void)
{
    __asm__ volatile("" ::: "memory");
}

static void *worker(void *arg)
{
    (void)arg;
    pthread_barrier_wait(&printed);
    for (;;)
        pause();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc > 1) {
        int fd = open(argv[1], O_RDWR);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) != 0 ||
            mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED) {
            perror(argv[1]);
            return 1;
        }
    }
    pthread_t thread;
    pthread_barrier_init(&printed, NULL, 2);
    pthread_create(&thread, NULL, worker, NULL);
    chroot_marker_function();
    printf("marker %p\n", (void *)chroot_marker_function);
    printf("READY\n");
    fflush(stdout);
    pthread_barrier_wait(&printed);
    syscall(SYS_exit, 0); /* this thread only, unlike exit() */
    return 0;
}
