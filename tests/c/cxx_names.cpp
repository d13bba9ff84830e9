// A C++ program for `where`: prints where two of its functions are, then waits.
#include <cstdio>
#include <string>
#include <unistd.h>

namespace shop {
__attribute__((noinline)) int add(const std::string &what, int count) {
    return count + static_cast<int>(what.size());
}
template <typename T> __attribute__((noinline)) T twice(T value) { return value * 2; }
}  // namespace shop

int main() {
    int (*add)(const std::string &, int) = &shop::add;
    long (*twice)(long) = &shop::twice<long>;
    std::printf("add %p\n", reinterpret_cast<void *>(add));
    std::printf("twice %p\n", reinterpret_cast<void *>(twice));
    std::printf("ready\n");
    std::fflush(stdout);
    pause();
    return twice(add("pear", 2)) > 0 ? 0 : 1;
}
