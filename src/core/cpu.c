/* core/cpu.c — see cpu.h. x86 via cpuid/xgetbv (GCC/Clang builtins); aarch64 always has NEON. */
#include "core/cpu.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
static unsigned long long cpu_xgetbv(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}
#endif

static int cpu_detect(void) {
    int f = 0;
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1, f16c = (c >> 29) & 1;
    unsigned long long xcr0 = osxsave ? cpu_xgetbv() : 0;
    int ymm_ok = (xcr0 & 0x6) == 0x6, zmm_ok = (xcr0 & 0xe6) == 0xe6;
    if (!avx || !ymm_ok) return 0;
    if (fma) f |= FS_CPU_FMA;
    if (f16c) f |= FS_CPU_F16C;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        if ((b >> 5) & 1) f |= FS_CPU_AVX2;
        /* AVX-512 F, DQ, BW, VL */
        if (zmm_ok && ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1))
            f |= FS_CPU_AVX512;
    }
    if (!(f & FS_CPU_AVX2) || !(f & FS_CPU_FMA)) f &= ~(FS_CPU_AVX2 | FS_CPU_AVX512);
#elif defined(__aarch64__)
    f |= FS_CPU_NEON;
#endif
    const char *cap = getenv("FS_CPU");
    if (cap) {
        if (!strcmp(cap, "portable")) f = 0;
        else if (!strcmp(cap, "avx2")) f &= ~FS_CPU_AVX512;
    }
    return f;
}

int fs_cpu_features(void) {
    static atomic_int cached = -1; /* every thread computes the same value */
    int v = atomic_load(&cached);
    if (v < 0) atomic_store(&cached, v = cpu_detect());
    return v;
}

const char *fs_cpu_level_name(void) {
    int f = fs_cpu_features();
    if (f & FS_CPU_AVX512) return "avx512";
    if (f & FS_CPU_AVX2) return "avx2";
    if (f & FS_CPU_NEON) return "neon";
    return "portable";
}
