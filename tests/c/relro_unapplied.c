/* A static program with no C library: nothing applies its RELRO (no loader, no libc
 * start-up), so its read-only segment below the data is rodata whatever the linker's
 * PT_GNU_RELRO header says. Prints READY and waits. */
static long call3(long n, long a, long b, long c) {
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(n), "D"(a), "S"(b), "d"(c)
                     : "rcx", "r11", "memory");
    return ret;
}

static const char ready[] = "READY\n";
const char table[8192] = "read-only data";
char data[4096] = {1};
char *const pointers[2] = {data, (char *)table}; /* relocated data: .data.rel.ro in a PIE */

void _start(void) {
    call3(1, 1, (long)ready, sizeof ready - 1); /* write */
    for (;;)
        call3(34, 0, 0, 0); /* pause */
}
