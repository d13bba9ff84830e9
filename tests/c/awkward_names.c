/* Map every awkward region name this kernel can produce, and say what was mapped.
 *
 * usage: awkward_names DIR      (DIR: an absolute, symlink-free, writable directory)
 *
 * For each region it creates it prints one line, independently of /proc:
 *
 *   REGION <start> <end> <perms> <offset> <dev> <inode> <name>
 *
 * start, end, offset in hex; dev as the kernel prints it ("fe:00") or "-" when the
 * program cannot know it (shmem's internal mount); inode in decimal or "-"; name as hex bytes of exactly what
 * the kernel should print in maps (a newline in a path is printed as the four bytes
 * \012), or "-" for no name. Lines starting with SKIP say what this kernel refused.
 * Then it prints READY and waits for a signal.
 *
 * Every region is placed at a fixed address inside one reserved arena, with an
 * unmapped page between neighbours, so the kernel cannot merge them with each other or
 * with anything else: the arena holds exactly the regions printed here.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#ifndef PR_SET_VMA
#define PR_SET_VMA 0x53564d41
#define PR_SET_VMA_ANON_NAME 0
#endif

#define ANON_PRIVATE (-2) /* report(): private anonymous memory */
#define UNKNOWN (-1)      /* report(): inode not known to the program */

static long page;
static char *arena;
static size_t arena_next; /* in pages */
static const char *dir;

static char *slot(size_t pages) {
    char *at = arena + arena_next * page;
    arena_next += pages + 1; /* one unmapped page after each region */
    return at;
}

static void print_hex(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++) printf("%02x", (unsigned char)s[i]);
}

/* The name as the kernel prints it: a newline becomes the four bytes \012. */
static void print_kernel_name(const char *name) {
    if (name == NULL) {
        printf("-");
        return;
    }
    for (const char *p = name; *p; p++) {
        if (*p == '\n')
            print_hex("\\012", 4);
        else
            print_hex(p, 1);
    }
}

static void report(void *start, size_t len, const char *perms, unsigned long long offset,
                   const struct stat *st, long long inode, const char *name) {
    printf("REGION %lx %lx %s %llx ", (unsigned long)start, (unsigned long)start + len, perms,
           offset);
    if (st)
        printf("%02x:%02x %llu ", major(st->st_dev), minor(st->st_dev),
               (unsigned long long)st->st_ino);
    else if (inode == ANON_PRIVATE) /* no file: the kernel prints device 00:00, inode 0 */
        printf("00:00 0 ");
    else if (inode >= 0)
        printf("- %lld ", inode);
    else
        printf("- - ");
    print_kernel_name(name);
    printf("\n");
}

static void die(const char *what) {
    fprintf(stderr, "awkward_names: %s: %s\n", what, strerror(errno));
    exit(1);
}

/* Create DIR/NAME with `pages` pages of content, map page `first` of it privately. */
static void map_file_at(int dirfd, const char *shown_path, const char *name, int pages,
                        int first, int unlink_after) {
    int fd = openat(dirfd, name, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) die(name);
    if (ftruncate(fd, (off_t)pages * page) < 0) die("ftruncate");
    struct stat st;
    if (fstat(fd, &st) < 0) die("fstat");
    char *at = slot(1);
    char *p = mmap(at, page, PROT_READ, MAP_PRIVATE | MAP_FIXED_NOREPLACE, fd,
                   (off_t)first * page);
    if (p == MAP_FAILED) die("mmap file");
    volatile char touch = p[0]; /* one resident page */
    (void)touch;
    close(fd);
    char full[16384];
    snprintf(full, sizeof full, "%s/%s%s", shown_path, name, unlink_after ? " (deleted)" : "");
    if (unlink_after && unlinkat(dirfd, name, 0) < 0) die("unlink");
    report(p, page, "r--p", (unsigned long long)first * page, &st, UNKNOWN, full);
}

static void map_file(const char *name, int pages, int first, int unlink_after) {
    int dirfd = open(dir, O_DIRECTORY | O_RDONLY);
    if (dirfd < 0) die(dir);
    map_file_at(dirfd, dir, name, pages, first, unlink_after);
    close(dirfd);
}

/* A file whose full path is longer than 4 KiB: build it one directory at a time. */
static void map_long_path(void) {
    char component[201];
    memset(component, 'd', 200);
    component[200] = 0;
    static char shown[16384];
    int dirfd = open(dir, O_DIRECTORY | O_RDONLY);
    if (dirfd < 0) die(dir);
    snprintf(shown, sizeof shown, "%s", dir);
    for (int depth = 0; depth < 22; depth++) {
        component[0] = 'a' + depth;
        if (mkdirat(dirfd, component, 0755) < 0 && errno != EEXIST) die("mkdirat");
        int next = openat(dirfd, component, O_DIRECTORY | O_RDONLY);
        if (next < 0) die("openat dir");
        close(dirfd);
        dirfd = next;
        strcat(shown, "/");
        strcat(shown, component);
    }
    map_file_at(dirfd, shown, "long name at the end", 1, 0, 0);
    close(dirfd);
}

static void map_memfd(void) {
    int fd = memfd_create("vmtop memfd", 0);
    if (fd < 0) {
        printf("SKIP memfd_create: %s\n", strerror(errno));
        return;
    }
    if (ftruncate(fd, page) < 0) die("ftruncate memfd");
    struct stat st;
    if (fstat(fd, &st) < 0) die("fstat memfd");
    char *p = mmap(slot(1), page, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
    if (p == MAP_FAILED) die("mmap memfd");
    p[0] = 1;
    close(fd);
    report(p, page, "rw-s", 0, &st, UNKNOWN, "/memfd:vmtop memfd (deleted)");
}

static void map_sysv(void) {
    int id = shmget(IPC_PRIVATE, page, IPC_CREAT | 0600);
    if (id < 0) {
        printf("SKIP shmget: %s\n", strerror(errno));
        return;
    }
    char *at = slot(1);
    char *p = shmat(id, at, 0);
    if (p == (void *)-1) die("shmat");
    shmctl(id, IPC_RMID, NULL); /* goes away with the process; the mapping stays */
    p[0] = 1;
    /* The SysV key is printed as %08x; IPC_PRIVATE is key 0. The inode is the shmid. */
    report(p, page, "rw-s", 0, NULL, id, "/SYSV00000000 (deleted)");
}

static void map_shared_anon(void) {
    char *p = mmap(slot(2), 2 * page, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, UNKNOWN, 0);
    if (p == MAP_FAILED) die("mmap shared anon");
    p[0] = 1;
    report(p, 2 * page, "rw-s", 0, NULL, UNKNOWN, "/dev/zero (deleted)");
}

static void map_named_anon(void) {
    char *p = mmap(slot(1), page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, UNKNOWN, 0);
    if (p == MAP_FAILED) die("mmap anon");
    if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, p, page, "vmtop name") < 0) {
        printf("SKIP PR_SET_VMA_ANON_NAME: %s\n", strerror(errno));
        report(p, page, "rw-p", 0, NULL, ANON_PRIVATE, NULL);
        return;
    }
    report(p, page, "rw-p", 0, NULL, ANON_PRIVATE, "[anon:vmtop name]");

    char *s = mmap(slot(1), page, PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, UNKNOWN, 0);
    if (s == MAP_FAILED) die("mmap shared anon");
    if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, s, page, "vmtop shared") < 0) {
        printf("SKIP PR_SET_VMA_ANON_NAME on shared memory: %s\n", strerror(errno));
        report(s, page, "rw-s", 0, NULL, UNKNOWN, "/dev/zero (deleted)");
        return;
    }
    report(s, page, "rw-s", 0, NULL, UNKNOWN, "[anon_shmem:vmtop shared]");
}

/* One anonymous mapping, mprotect'd in the middle: the kernel splits it into three. */
static void map_split(void) {
    char *p = mmap(slot(3), 3 * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, UNKNOWN, 0);
    if (p == MAP_FAILED) die("mmap split");
    memset(p, 1, 3 * page);
    if (mprotect(p + page, page, PROT_READ) < 0) die("mprotect");
    report(p, page, "rw-p", 0, NULL, ANON_PRIVATE, NULL);
    report(p + page, page, "r--p", 0, NULL, ANON_PRIVATE, NULL);
    report(p + 2 * page, page, "rw-p", 0, NULL, ANON_PRIVATE, NULL);
}

/* io_uring rings: named anon_inode:[io_uring]; the SQE array sits at a wide offset.
 * io_uring refuses MAP_FIXED, so these go where the kernel puts them (mapped before the
 * arena is reserved, so they cannot land in it). */
static void map_io_uring(void) {
    struct io_uring_params params;
    memset(&params, 0, sizeof params);
    int fd = (int)syscall(__NR_io_uring_setup, 4, &params);
    if (fd < 0) {
        printf("SKIP io_uring_setup: %s\n", strerror(errno));
        return;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) die("fstat io_uring");
    size_t ring_len = params.sq_off.array + params.sq_entries * sizeof(unsigned);
    size_t cq_len = params.cq_off.cqes + params.cq_entries * sizeof(struct io_uring_cqe);
    if (cq_len > ring_len) ring_len = cq_len;
    ring_len = (ring_len + page - 1) / page * page;
    char *ring = mmap(NULL, ring_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                      IORING_OFF_SQ_RING);
    if (ring == MAP_FAILED) die("mmap io_uring ring");
    report(ring, ring_len, "rw-s", IORING_OFF_SQ_RING, &st, UNKNOWN, "anon_inode:[io_uring]");
    size_t sqes_len = params.sq_entries * sizeof(struct io_uring_sqe);
    sqes_len = (sqes_len + page - 1) / page * page;
    char *sqes = mmap(NULL, sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd,
                      IORING_OFF_SQES);
    if (sqes == MAP_FAILED) die("mmap io_uring sqes");
    report(sqes, sqes_len, "rw-s", IORING_OFF_SQES, &st, UNKNOWN, "anon_inode:[io_uring]");
    /* fd stays open for the life of the process: the ring stays as it was mapped. */
}

static void on_signal(int sig) { (void)sig; }

int main(int argc, char **argv) {
    if (argc != 2 || argv[1][0] != '/') {
        fprintf(stderr, "usage: awkward_names ABSOLUTE_DIR\n");
        return 2;
    }
    dir = argv[1];
    setvbuf(stdout, NULL, _IOLBF, 0); /* line by line: the test reads as we go */
    page = sysconf(_SC_PAGESIZE);
    map_io_uring();
    size_t arena_pages = 256;
    arena = mmap(NULL, arena_pages * page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, UNKNOWN, 0);
    if (arena == MAP_FAILED) die("reserve arena");
    munmap(arena, arena_pages * page); /* keep the range, drop the mapping */
    printf("ARENA %lx %lx\n", (unsigned long)arena, (unsigned long)(arena + arena_pages * page));

    map_file("with two  spaces", 2, 1, 0); /* second page: offset 0x1000 */
    map_file("trailing space ", 1, 0, 0);
    map_file("new\nline", 1, 0, 0);
    map_file("back\\012slash", 1, 0, 0); /* prints exactly like the newline one */
    map_file("esc\x1b[31mred", 1, 0, 0);
    map_file("cr\rname", 1, 0, 0);
    map_file("tab\tname", 1, 0, 0);
    map_file("bad\xff\xfeutf8", 1, 0, 0);
    map_file("utf8 caf\xc3\xa9 \xe2\x9c\x93", 1, 0, 0); /* valid UTF-8 */
    map_file("looks (deleted)", 1, 0, 0); /* not deleted: the name says so */
    map_file("gone", 1, 0, 1);            /* deleted after mapping */
    map_file("7f0000000000-7f0000001000 r-xp 00000000 00:00 0 [fake]", 1, 0, 0);
    map_long_path();
    map_memfd();
    map_sysv();
    map_shared_anon();
    map_named_anon();
    map_split();
    if (arena_next > arena_pages) {
        fprintf(stderr, "awkward_names: arena too small\n");
        return 1;
    }
    printf("READY\n");
    fflush(stdout);
    signal(SIGTERM, on_signal);
    for (;;) pause();
}
