/* A tiny shared library for the ELF tests: one function, one initialised global. */
int where_lib_data = 42;

int where_lib_func(void)
{
    return where_lib_data;
}
