/* One of the two libraries dlopen_needs_top.c needs. */
char a_bss[1 << 20];
int a_value = 7;
const char a_rodata[12288] = "a";

int needs_a(int x) {
    a_bss[x & 4095] = (char)x;
    return x + a_value + a_rodata[x & 7];
}
