/* A library whose section and symbol names the test renames (objcopy) to hostile ones:
 * ESC sequences, OSC 52, CR, DEL, C1, U+202E, TAB, bytes that are not UTF-8.
 * hostile_where() says where its code and data are, so the test can ask `vmtop where`.
 */
__attribute__((section(".hostile_text"), noinline, used)) static int hostile_code(int x) {
    return x * 3 + 1;
}

__attribute__((section(".hostile_data"), used)) static int hostile_value = 42;

void hostile_where(unsigned long *code, unsigned long *data) {
    *code = (unsigned long)&hostile_code;
    *data = (unsigned long)&hostile_value;
    hostile_value = hostile_code(hostile_value);
}
