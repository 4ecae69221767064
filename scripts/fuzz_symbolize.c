/* libFuzzer's -print_coverage asks the sanitizer runtime to describe each PC. The fuzz
 * targets are built without one (`cargo fuzz -s none`), so scripts/fuzz_coverage.py preloads
 * these two functions instead: they give the PC's offset in its module, which the script
 * then maps to functions and files with addr2line. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static int module_of(void *pc, Dl_info *info) {
    return dladdr(pc, info) && info->dli_fname && info->dli_fbase;
}

void __sanitizer_symbolize_pc(void *pc, const char *fmt, char *out, size_t len) {
    Dl_info info;
    (void)fmt;
    if (!len) return;
    snprintf(out, len, "%p", module_of(pc, &info) ? (void *)((char *)pc - (char *)info.dli_fbase) : pc);
}

int __sanitizer_get_module_and_offset_for_pc(void *pc, char *module, size_t len, void **offset) {
    Dl_info info;
    if (!module_of(pc, &info)) return 0;
    if (module && len) {
        strncpy(module, info.dli_fname, len - 1);
        module[len - 1] = 0;
    }
    if (offset) *offset = (void *)((char *)pc - (char *)info.dli_fbase);
    return 1;
}
