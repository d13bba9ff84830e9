/* vmtop's demo workloads as one small C program, so the watched map is a lab's map
 * (the program, libc, the loader, heap, stack, vDSO: about 20 regions) with nothing
 * of an interpreter in it.
 *
 * usage: demo malloc | mmap [MIB] | stack | threads
 *
 * Each demo does one classic memory thing a step at a time and prints a line per step
 * on stdout, in the words and format of the Python versions (malloc.py, ...): vmtop's
 * runner shows the lines as narration, and the tests read the addresses in them as
 * ground truth. Built once by vmtop.demo.build into the user's cache directory.
 *
 * Like the Python versions, it never outlives the vmtop that started it: SIGTERM when
 * its parent dies (PR_SET_PDEATHSIG), and a check of the parent at every pause. The
 * environment says the parent (VMTOP_DEMO_PARENT), seconds per step (VMTOP_DEMO_PACE)
 * and the delay before the first step (VMTOP_DEMO_START_DELAY; SIGUSR1 ends it early).
 * SIGTERM and SIGINT end it at the next pause, through exit(), so the mmap demo removes
 * its file.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double pace = 0.8;
static double start_delay = 1.6;
static pid_t parent;
static volatile sig_atomic_t stopping;
static volatile sig_atomic_t go;

static void on_stop(int sig) { (void)sig; stopping = 1; }
static void on_go(int sig) { (void)sig; go = 1; }

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check_parent(void) {
    if (stopping || getppid() != parent) exit(0);
}

static void nap(double seconds) {
    struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL); /* a signal cuts it short: the caller checks */
}

/* Wait `steps` paces, leaving if the vmtop that started the demo is gone. */
static void pause_steps(double steps) {
    double deadline = now() + steps * pace;
    for (;;) {
        check_parent();
        double left = deadline - now();
        if (left <= 0) return;
        nap(left < 0.25 ? left : 0.25);
    }
}

static void wait_to_start(void) {
    double deadline = now() + start_delay;
    while (!go) {
        check_parent();
        double left = deadline - now();
        if (left <= 0) return;
        nap(left < 0.05 ? left : 0.05);
    }
}

static double env_seconds(const char *name, double fallback) {
    const char *text = getenv(name);
    if (!text || !*text) return fallback;
    char *end;
    double value = strtod(text, &end);
    return (*end || value != value) ? fallback : value;
}

static void setup(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop; /* no SA_RESTART: a sleep ends at once */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_go;
    sigaction(SIGUSR1, &sa, NULL);
    prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0);
    const char *expected = getenv("VMTOP_DEMO_PARENT");
    parent = (expected && *expected) ? (pid_t)atol(expected) : getppid();
    check_parent(); /* the parent may have died before the prctl */
    pace = env_seconds("VMTOP_DEMO_PACE", pace);
    if (pace < 0.05) pace = 0.05;
    start_delay = env_seconds("VMTOP_DEMO_START_DELAY", 2 * pace);
}

/* -- malloc ------------------------------------------------------------------------ */

#define MMAP_THRESHOLD (128 * 1024)
#define SMALL (100 * 1024)
#define SMALL_COUNT 5

static unsigned long heap_end(void) { return (unsigned long)sbrk(0); }

static void *touched_malloc(size_t size) {
    void *p = malloc(size);
    if (!p) {
        printf("malloc(%zu) failed\n", size);
        exit(1);
    }
    memset(p, 0xA5, size); /* every page becomes resident */
    return p;
}

static int demo_malloc(void) {
    static const size_t big_sizes[] = {1 << 20, 4 << 20};
    printf("malloc demo (C program), PID %d: libc malloc/free, one step every %g s\n",
           getpid(), pace);
    mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    printf("mallopt(M_MMAP_THRESHOLD, %d): blocks of 128 KiB and more get their own mmap; "
           "free() leaves the heap alone until malloc_trim()\n", MMAP_THRESHOLD);
    wait_to_start();
    for (int round = 1;; round++) {
        printf("-- round %d: heap end (sbrk(0)) = 0x%lx\n", round, heap_end());
        void *small[SMALL_COUNT];
        for (int i = 0; i < SMALL_COUNT; i++) {
            unsigned long before = heap_end();
            small[i] = touched_malloc(SMALL);
            unsigned long after = heap_end();
            if (after != before)
                printf("malloc(%d) = %p  heap end = 0x%lx  (brk moved the heap end up by %lu)\n",
                       SMALL, small[i], after, after - before);
            else
                printf("malloc(%d) = %p  heap end = 0x%lx  (fits in the heap's free space)\n",
                       SMALL, small[i], after);
            pause_steps(1);
        }
        void *big[2];
        for (int i = 0; i < 2; i++) {
            big[i] = touched_malloc(big_sizes[i]);
            printf("malloc(%zu) = %p  (at least %d: its own anonymous mapping, by mmap)\n",
                   big_sizes[i], big[i], MMAP_THRESHOLD);
            pause_steps(1);
        }
        for (int i = 0; i < 2; i++) {
            unsigned long address = (unsigned long)big[i];
            free(big[i]);
            printf("free(0x%lx)  (a %zu-byte block: its mapping is unmapped)\n", address,
                   big_sizes[i]);
            pause_steps(1);
        }
        for (int i = SMALL_COUNT - 1; i >= 0; i--) free(small[i]);
        printf("free() of the %d small blocks: heap end = 0x%lx  (still there: free memory at "
               "the top of the heap)\n", SMALL_COUNT, heap_end());
        pause_steps(1);
        int released = malloc_trim(0);
        printf("malloc_trim(0) = %d  heap end = 0x%lx  (brk moved the heap end down: memory "
               "given back)\n", released, heap_end());
        pause_steps(2);
    }
    return 0;
}

/* -- mmap ---------------------------------------------------------------------------- */

#define MMAP_STEPS 8
static char mmap_dir[PATH_MAX];
static char mmap_path[PATH_MAX + 16];

static void remove_mmap_file(void) {
    if (mmap_path[0]) unlink(mmap_path);
    if (mmap_dir[0]) rmdir(mmap_dir);
}

static int demo_mmap(long mib) {
    size_t size = (size_t)mib << 20;
    long page = sysconf(_SC_PAGESIZE);
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    snprintf(mmap_dir, sizeof mmap_dir, "%s/vmtop-demo-mmap-%d-XXXXXX", tmp, getpid());
    if (!mkdtemp(mmap_dir)) {
        printf("mkdtemp(%s) failed: %s\n", mmap_dir, strerror(errno));
        return 1;
    }
    atexit(remove_mmap_file); /* exit() from any pause removes it */
    snprintf(mmap_path, sizeof mmap_path, "%s/data.bin", mmap_dir);
    int fd = open(mmap_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)size) != 0) {
        printf("creating %s failed: %s\n", mmap_path, strerror(errno));
        return 1;
    }
    printf("mmap demo (C program), PID %d: one step every %g s\n", getpid(), pace);
    printf("created %s: %zu bytes (%ld MiB), sparse: no disk blocks yet\n", mmap_path, size, mib);
    wait_to_start();
    for (int round = 1;; round++) {
        char *address = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (address == MAP_FAILED) {
            printf("mmap of %s failed: %s\n", mmap_path, strerror(errno));
            return 1;
        }
        printf("-- round %d: mmap(%zu, PROT_READ, MAP_PRIVATE, %s) = %p: %ld MiB of address "
               "space, nothing resident yet\n", round, size, mmap_path, (void *)address, mib);
        pause_steps(2);
        size_t step = size / MMAP_STEPS;
        volatile unsigned long sum = 0;
        for (int k = 0; k < MMAP_STEPS; k++) {
            char *lo = address + k * step;
            char *hi = k < MMAP_STEPS - 1 ? address + (k + 1) * step : address + size;
            for (char *p = lo; p < hi; p += page) sum += *(volatile unsigned char *)p;
            size_t done = (size_t)(hi - address);
            printf("read %zu MiB of %ld MiB, pages %p-%p now resident (%zu MiB)\n", done >> 20,
                   mib, (void *)lo, (void *)hi, done >> 20);
            pause_steps(1);
        }
        pause_steps(1);
        munmap(address, size);
        printf("munmap(%p, %zu): the range is gone, and its resident pages with it (the file "
               "stays in the page cache)\n", (void *)address, size);
        pause_steps(2);
    }
}

/* -- stack --------------------------------------------------------------------------- */

#define FRAME (72 * 1024)
#define LEVELS_PER_STEP 4

static unsigned long top_sp, lowest_sp;

static unsigned long stack_pointer(void) {
#if defined(__x86_64__)
    unsigned long sp;
    __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
    return sp;
#elif defined(__aarch64__)
    unsigned long sp;
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    return sp;
#else
    volatile char here;
    return (unsigned long)&here;
#endif
}

static void report(int level) {
    unsigned long sp = stack_pointer();
    unsigned long used = top_sp - sp;
    int deeper = sp < lowest_sp;
    if (deeper) lowest_sp = sp;
    printf("depth %d: stack pointer 0x%lx, %lu KiB below the start (%s)\n", level, sp,
           used >> 10,
           deeper ? "deeper than ever: [stack] grows down to here"
                  : "within what [stack] already holds");
    pause_steps(1);
}

/* Each level holds a 72 KiB array on the stack and writes to every page of it. */
__attribute__((noinline)) static int descend(int level, int depth) {
    volatile char frame[FRAME];
    for (size_t i = 0; i < sizeof frame; i += 256) frame[i] = (char)level; /* every page */
    if (level % LEVELS_PER_STEP == 0 || level == depth) report(level);
    int below = level < depth ? descend(level + 1, depth) : 0;
    return below + frame[level % FRAME]; /* the frame is live across the call */
}

static int demo_stack(void) {
    static const int rounds[] = {16, 32, 64};
    printf("stack demo (C program), PID %d: recursion with %d KiB frames, one step every %g s\n",
           getpid(), FRAME >> 10, pace);
    top_sp = lowest_sp = stack_pointer();
    struct rlimit limit;
    unsigned long soft = 8ul << 20;
    if (getrlimit(RLIMIT_STACK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY)
        soft = limit.rlim_cur;
    int max_depth = soft > (2ul << 20) ? (int)((soft - (1ul << 20)) / (FRAME + 4096)) : 4;
    wait_to_start();
    for (int round = 1;; round++) {
        int deepest = rounds[(round - 1) % 3];
        int depth = deepest < max_depth ? deepest : max_depth;
        printf("-- round %d: recursing %d levels deep\n", round, depth);
        descend(1, depth);
        printf("returned from depth %d: [stack] keeps its size (the kernel never shrinks it) "
               "and its pages stay resident\n", depth);
        pause_steps(2);
    }
    return 0;
}

/* -- threads ------------------------------------------------------------------------- */

#define THREADS 4
#define ARENA_MALLOC (64 * 1024)

struct worker {
    int number;
    pthread_t thread;
    sem_t ready, stop;
    pid_t tid;
    unsigned long stack, size, guard;
    void *block;
};

static void *work(void *arg) {
    struct worker *w = arg;
    pthread_attr_t attr;
    void *stack = NULL;
    size_t size = 0, guard = 0;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        pthread_attr_getstack(&attr, &stack, &size);
        pthread_attr_getguardsize(&attr, &guard);
        pthread_attr_destroy(&attr);
    }
    w->tid = gettid();
    w->stack = (unsigned long)stack;
    w->size = size;
    w->guard = guard;
    w->block = malloc(ARENA_MALLOC);
    if (w->block) memset(w->block, 0x5A, ARENA_MALLOC);
    sem_post(&w->ready);
    while (sem_wait(&w->stop) != 0) {
    }
    free(w->block);
    return NULL;
}

static int demo_threads(void) {
    const char *tunables = getenv("GLIBC_TUNABLES");
    int cache_off = tunables && strstr(tunables, "glibc.pthread.stack_cache_size=0");
    printf("threads demo (C program), PID %d: %d threads started one by one, then ended; one "
           "step every %g s\n", getpid(), THREADS, pace);
    wait_to_start();
    for (int round = 1;; round++) {
        printf("-- round %d\n", round);
        struct worker workers[THREADS];
        for (int i = 0; i < THREADS; i++) {
            struct worker *w = &workers[i];
            memset(w, 0, sizeof *w);
            w->number = i + 1;
            sem_init(&w->ready, 0, 0);
            sem_init(&w->stop, 0, 0);
            if (pthread_create(&w->thread, NULL, work, w) != 0) {
                printf("pthread_create failed\n");
                return 1;
            }
            while (sem_wait(&w->ready) != 0) check_parent();
            printf("thread %d started (TID %d): stack 0x%lx-0x%lx (%lu KiB) above a %lu KiB "
                   "guard page\n", w->number, w->tid, w->stack, w->stack + w->size,
                   w->size >> 10, w->guard >> 10);
            printf("thread %d: malloc(%d) = %p (its malloc arena)\n", w->number, ARENA_MALLOC,
                   w->block);
            pause_steps(1);
        }
        pause_steps(2);
        for (int i = 0; i < THREADS; i++) {
            struct worker *w = &workers[i];
            sem_post(&w->stop);
            pthread_join(w->thread, NULL);
            printf("thread %d ended (TID %d): its stack 0x%lx-0x%lx is %s\n", w->number, w->tid,
                   w->stack, w->stack + w->size,
                   cache_off ? "unmapped now: pthread_join freed it (glibc's stack cache is off)"
                             : "kept by glibc for the next thread (its stack cache)");
            sem_destroy(&w->ready);
            sem_destroy(&w->stop);
            pause_steps(1);
        }
        pause_steps(2);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s malloc | mmap [MIB] | stack | threads\n", argv[0]);
        return 2;
    }
    setup();
    if (strcmp(argv[1], "malloc") == 0) return demo_malloc();
    if (strcmp(argv[1], "mmap") == 0) {
        long mib = argc > 2 ? atol(argv[2]) : 256;
        return demo_mmap(mib > 0 ? mib : 256);
    }
    if (strcmp(argv[1], "stack") == 0) return demo_stack();
    if (strcmp(argv[1], "threads") == 0) return demo_threads();
    fprintf(stderr, "%s: unknown demo %s\n", argv[0], argv[1]);
    return 2;
}
