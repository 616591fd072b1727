#!/bin/sh
# bench/pi_counts.sh — executed-instruction counts of the aarch64 build under qemu-user, NEON vs the
# portable C paths, for the Raspberry Pi estimate in docs/raspberry-pi.md:
#   - one MobileNetV2 inference (`facescore bench model ... --warmup 0`: the process with --reps 2
#     minus the one with --reps 1, so loading, planning and the first run cancel out);
#   - one full `facescore score samples/face.jpg` (the whole process: decode, YuNet, 4 faces x the
#     scoring backbones, model loading included) and one more photo in the same process (the same
#     photo scored twice minus once: what a running `facescore serve` pays per photo).
# Levels: neon (default), portable (FS_CPU=portable: the generic vector-C path; on aarch64 GCC still
# emits Advanced SIMD for its 4-float vectors, but no FMA and smaller tiles), scalar (FS_NN_REF=1 on
# top: conv / FC through the plain C reference loops; MobileNetV2 only, a score would take hours).
#   make cross-aarch64 && bench/pi_counts.sh [--profile] [levels...]      (default levels: neon portable scalar)
# The counter is a qemu TCG plugin (Debian's qemu-user 7.2 supports -plugin but ships no plugins):
# its C source is below, built here against the plugin API that qemu-aarch64 exports. Counts are
# exact guest A64 instructions, with SIMD/FP classes from the A64 encoding; they do not depend on
# the machine's load. --profile adds the top functions of the NEON score run.
set -eu
cd "$(dirname "$0")/.."
B=${FS_AARCH64_BUILD:-build-aarch64}
OUT=${OUT:-out/pi_counts}
PROFILE=0
if [ "${1:-}" = "--profile" ]; then PROFILE=1; shift; fi
LEVELS=${*:-neon portable scalar}
MODEL=models/mobilenet_v2_imagenet/mobilenet_v2_1.0_224_quant.tflite
[ -x "$B/facescore" ] || { echo "pi_counts: $B/facescore missing (make cross-aarch64)"; exit 2; }
mkdir -p "$OUT"

cat > "$OUT/insn_plugin.c" <<'EOF'
/* qemu linux-user TCG plugin: counts executed guest A64 instructions, in total and by class, and
 * optionally (profile=1) per translation block start address. Declarations of the qemu plugin API
 * (QEMU_PLUGIN_VERSION 1, qemu 7.2) used here; the functions are exported by qemu-aarch64. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
typedef struct {
    const char *target_name;
    struct { int min, cur; } version;
    _Bool system_emulation;
    union { struct { int smp_vcpus, max_vcpus; } system; };
} qemu_info_t;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, void (*)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *, enum qemu_plugin_op, void *, uint64_t);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, void (*)(qemu_plugin_id_t, void *), void *);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *, size_t);
const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *);
uint64_t qemu_plugin_start_code(void);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/* total, Advanced SIMD vector data processing, scalar FP / SIMD scalar, SIMD&FP loads/stores */
static uint64_t cnt[4];
static const char *out_path;
static long main_pid; /* a forked child (popen) must not overwrite the parent's result */
static int profile;
typedef struct tbc { uint64_t vaddr, n_insns, execs; struct tbc *next; } tbc;
static tbc *tbs;

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    size_t n = qemu_plugin_tb_n_insns(tb);
    uint64_t c[4] = {n, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        uint32_t w;
        memcpy(&w, qemu_plugin_insn_data(qemu_plugin_tb_get_insn(tb, i)), 4);
        unsigned op0 = (w >> 25) & 0xf;
        if ((op0 & 0x7) == 0x7) c[(w >> 28) & 1 ? 2 : 1]++;        /* x111: FP and Advanced SIMD */
        else if ((op0 & 0x5) == 0x4 && ((w >> 26) & 1)) c[3]++;  /* x1x0 with V: SIMD&FP ld/st */
    }
    for (int k = 0; k < 4; k++)
        if (c[k]) qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &cnt[k], c[k]);
    if (profile) {
        tbc *t = calloc(1, sizeof *t);
        if (!t) return;
        t->vaddr = qemu_plugin_tb_vaddr(tb), t->n_insns = n, t->next = tbs, tbs = t;
        qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &t->execs, 1);
    }
}

static void at_exit(qemu_plugin_id_t id, void *p) {
    if (getpid() != main_pid) return;
    FILE *f = out_path ? fopen(out_path, "w") : stderr;
    if (!f) return;
    fprintf(f, "insns %llu simd_vec %llu fp_scalar %llu simd_ldst %llu\n", (unsigned long long)cnt[0],
            (unsigned long long)cnt[1], (unsigned long long)cnt[2], (unsigned long long)cnt[3]);
    if (profile) {
        /* start of the main program's executable segment (the entry point would be ld.so's) */
        fprintf(f, "start_code %llx\n", (unsigned long long)qemu_plugin_start_code());
        for (tbc *t = tbs; t; t = t->next)
            if (t->execs) fprintf(f, "tb %llx %llu\n", (unsigned long long)t->vaddr,
                                  (unsigned long long)(t->execs * t->n_insns));
    }
    if (f != stderr) fclose(f);
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                                               int argc, char **argv) {
    for (int i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "out=", 4)) out_path = argv[i] + 4;
        if (!strcmp(argv[i], "profile=1")) profile = 1;
    }
    main_pid = getpid();
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
EOF
cc -O2 -shared -fPIC -fvisibility=hidden -Wall -Wextra -Wno-unused-parameter -o "$OUT/insn_plugin.so" "$OUT/insn_plugin.c"

# count NAME LEVEL [plugin options] -- facescore args...: writes $OUT/NAME.LEVEL.txt
count() {
  name=$1 level=$2 opts=$3
  shift 4
  case $level in
    neon) envs="" ;;
    portable) envs="FS_CPU=portable" ;;
    scalar) envs="FS_CPU=portable FS_NN_REF=1" ;;
    *) echo "pi_counts: unknown level $level"; exit 2 ;;
  esac
  env $envs qemu-aarch64 -L / -plugin "$OUT/insn_plugin.so,out=$OUT/$name.$level.txt$opts" \
    "$B/facescore" "$@" > "$OUT/$name.$level.stdout" 2>&1
}
insns() { awk '/^insns/ {print $2}' "$OUT/$1.txt"; }
field() { awk -v f="$2" '/^insns/ {for (i = 1; i < NF; i++) if ($i == f) print $(i + 1)}' "$OUT/$1.txt"; }

printf '%-9s %16s %16s %16s %16s %10s\n' level mnv2_inference score_process score_one_more simd_vec_share "wall_s"
for lv in $LEVELS; do
  s=$(date +%s)
  count mnv2_r1 "$lv" "" -- bench model "$MODEL" --reps 1 --warmup 0
  count mnv2_r2 "$lv" "" -- bench model "$MODEL" --reps 2 --warmup 0
  m=$(( $(insns mnv2_r2.$lv) - $(insns mnv2_r1.$lv) ))
  if [ "$lv" = scalar ]; then
    # the scalar reference runs ~20x the NEON instructions: a score would take hours under qemu
    s1=- s2=-
    share=$(awk -v a="$(( $(field mnv2_r2.$lv simd_vec) - $(field mnv2_r1.$lv simd_vec) ))" -v b="$m" 'BEGIN {printf "%.1f%% (mnv2)", 100 * a / b}')
  else
    popt=""
    [ "$PROFILE" = 1 ] && [ "$lv" = neon ] && popt=",profile=1"
    count score1 "$lv" "$popt" -- score --json samples/face.jpg
    count score2 "$lv" "" -- score --json samples/face.jpg samples/face.jpg
    s1=$(insns score1.$lv)
    s2=$(( $(insns score2.$lv) - s1 ))
    share=$(awk -v a="$(field score1.$lv simd_vec)" -v b="$s1" 'BEGIN {printf "%.1f%%", 100 * a / b}')
  fi
  printf '%-9s %16s %16s %16s %16s %10s\n' "$lv" "$m" "$s1" "$s2" "$share" "$(( $(date +%s) - s ))"
done

# the other networks of a score, one inference each on NEON (same --reps 2 minus --reps 1 method)
for m in human_faceres/faceres.json mobilefacenet/MobileFaceNet.tflite yunet/yunet_n_640_640.onnx; do
  n=$(basename "$m" | cut -d. -f1)
  count "bb_${n}_r1" neon "" -- bench model "models/$m" --reps 1 --warmup 0
  count "bb_${n}_r2" neon "" -- bench model "models/$m" --reps 2 --warmup 0
  printf '%-28s %14s instructions per inference (neon)\n' "$n" "$(( $(insns bb_${n}_r2.neon) - $(insns bb_${n}_r1.neon) ))"
done

if [ "$PROFILE" = 1 ]; then
  # top functions of the NEON score process (instructions attributed to the function a block starts in)
  # vaddr of the executable PT_LOAD segment (0 for this PIE) = what start_code points at
  entry=$(aarch64-linux-gnu-readelf -lW "$B/facescore" | awk '$1 == "LOAD" && $(NF-1) ~ /E/ {print $3; exit}')
  aarch64-linux-gnu-nm -n --defined-only "$B/facescore" > "$OUT/facescore.syms"
  /usr/bin/python3 - "$OUT/score1.neon.txt" "$OUT/facescore.syms" "$entry" <<'EOF'
import bisect, sys
lines = open(sys.argv[1]).read().split("\n")
base = int([l for l in lines if l.startswith("start_code ")][0].split()[1], 16) - int(sys.argv[3], 16)
syms = []
for l in open(sys.argv[2]):
    p = l.split()
    if len(p) == 3 and p[1] in "tTwW": syms.append((int(p[0], 16), p[2]))
addrs = [a for a, _ in syms]
by, total = {}, 0
for l in lines:
    if not l.startswith("tb "): continue
    _, va, n = l.split(); va, n = int(va, 16) - base, int(n)
    total += n
    i = bisect.bisect_right(addrs, va) - 1
    name = syms[i][1] if 0 <= i and va < (syms[i + 1][0] if i + 1 < len(syms) else 1 << 62) and va >= 0 else "[shared libraries / other]"
    if name.startswith("kx_ukr_"): name = "kx_ukr_* (conv/FC GEMM microkernels)"
    by[name] = by.get(name, 0) + n
print(f"profile of score (neon), {total} instructions:")
for name, n in sorted(by.items(), key=lambda kv: -kv[1])[:15]:
    print(f"  {100 * n / total:5.1f}%  {n:>12}  {name}")
EOF
fi
