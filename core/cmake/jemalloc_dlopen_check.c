/*
 * jemalloc_dlopen_check.c -- configure-time probe (core/CMakeLists.txt).
 *
 * dlopen()s the shared library named by argv[1], which links jemalloc, the
 * way the Python interpreter loads an extension module.  Debian's
 * libjemalloc uses initial-exec TLS, and loading it after startup can fail
 * with "cannot allocate memory in static TLS block".  Exit 0 if it loads.
 */
#include <dlfcn.h>
#include <stdio.h>

int main(int argc, char **argv) {
    void *h;

    if (argc < 2) {
        return 2;
    }
    h = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        fprintf(stderr, "%s\n", dlerror());
        return 1;
    }
    dlclose(h);
    return 0;
}
