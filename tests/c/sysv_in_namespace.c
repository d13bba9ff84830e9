/* A SysV segment of its own, with a chosen shmid: run in an IPC namespace of its own
 * (unshare --ipc) with the shmid a segment of the outer namespace has, so that the two
 * namespaces' tables both list that number.
 *
 * usage: sysv_in_namespace SHMID   (prints "READY <shmid> <address>" and waits)
 */
#include <stdio.h>
#include <sys/shm.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    FILE *f = fopen("/proc/sys/kernel/shm_next_id", "w");
    if (!f || fprintf(f, "%s\n", argv[1]) < 0 || fclose(f)) return 3;
    int id = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
    if (id < 0) return 4;
    char *p = shmat(id, NULL, 0);
    if (p == (void *)-1) return 5;
    p[0] = 1;
    printf("READY %d %lx\n", id, (unsigned long)p);
    fflush(stdout);
    pause();
    return 0;
}
