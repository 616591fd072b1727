/* core/cpu.h — runtime CPU feature detection for kernel dispatch.
 * FS_CPU=portable|avx2|avx512 in the environment caps what is used (for tests and benchmarks). */
#ifndef FS_CORE_CPU_H
#define FS_CORE_CPU_H
enum { FS_CPU_AVX2 = 1, FS_CPU_FMA = 2, FS_CPU_AVX512 = 4, FS_CPU_NEON = 8, FS_CPU_F16C = 16 };
int fs_cpu_features(void);          /* detected & FS_CPU cap */
const char *fs_cpu_level_name(void); /* "avx512", "avx2", "neon", "portable" */
#endif
