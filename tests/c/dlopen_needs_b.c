/* The other library dlopen_needs_top.c needs. */
char b_bss[2 << 20];
int b_value = 9;
const char b_rodata[4096] = "b";

int needs_b(int x) {
    b_bss[x & 4095] = (char)x;
    return x * b_value + b_rodata[x & 7];
}
