/* A library that needs two others (dlopen_needs_a.c, dlopen_needs_b.c; linked with
 * -lvmtopneedsa -lvmtopneedsb): a dlopen of it maps the three in one call, and its
 * dlclose unmaps them. Each has text, rodata, relro, data and a .bss of its own. */
int needs_a(int);
int needs_b(int);
char top_bss[3 << 20];
int top_value = 3;
const char top_rodata[8192] = "top";
int (*const top_calls[])(int) = {needs_a, needs_b};

int needs_top(int x) {
    top_bss[x & 4095] = (char)x;
    return top_calls[0](x) + top_calls[1](x) + top_value + top_rodata[x & 7];
}
