/* cli/bench_train.c — `facescore bench train [--backbone faceres|mnv2|FILE --feature T] [--batch N]
 *   [--threads N] [--train-from B] [--steps N] [--warmup N] [--seed S]`.
 *
 * Opens the fine-tuning engine (train/ft) on the backbone with random inputs in [-1, 1] and random
 * targets, runs `warmup` untimed training steps, then times `steps` steps split into forward
 * (training forward: graph + heads), backward (losses + gradients) and update (clip, optimiser,
 * repack), and an evaluation forward. Prints per-image times, the backward/forward ratio,
 * images/s for whole steps, the peak RSS, and last the line `images_per_s <number>`. With
 * FS_FT_PROFILE=1 the backward time per kernel kind goes to stderr. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "facescore.h"
#include "score/backbone.h"
#include "score/paths.h"
#include "train/ft/ft.h"

static void usage(void) {
    fprintf(stderr, "usage: facescore bench train [--backbone faceres|mnv2|FILE] [--feature TENSOR] [--batch N]\n"
                    "         [--threads N] [--train-from B] [--steps N] [--warmup N] [--seed S] [--optim adamw|sgd]\n"
                    "  times fine-tuning steps (forward, backward, update) on random inputs; --train-from B freezes\n"
                    "  blocks 0..B-1 (default 0: the whole backbone trains)\n");
}

/* process CPU time (all threads), ms: less disturbed than wall time by other load on the machine */
static double cpu_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static uint64_t lcg(uint64_t *s) { return *s = *s * 6364136223846793005ULL + 1442695040888963407ULL; }

static int open_model(const char *bb, const char *feature, fs_model **m, const char **feat) {
    const bb_spec *sp = bb_find(bb);
    char path[4096];
    if (sp) {
        char dir[2048];
        if (sc_models_dir_for(sp->file, dir, sizeof dir)) {
            fprintf(stderr, "bench train: %s not found in any models folder (set FACESCORE_MODELS)\n", sp->file);
            return -1;
        }
        snprintf(path, sizeof path, "%s/%s", dir, sp->file);
        *feat = feature ? feature : sp->tensor;
    } else {
        snprintf(path, sizeof path, "%s", bb);
        *feat = feature;
        if (!feature) { fprintf(stderr, "bench train: --feature is needed with a model file\n"); return -1; }
    }
    if (fs_model_load(path, m) != FS_OK) {
        fprintf(stderr, "bench train: %s\n", fs_last_error());
        return -1;
    }
    return 0;
}

int fs_cli_bench_train(int argc, char **argv) {
    const char *bb = "faceres", *feature = NULL;
    int batch = 16, threads = 1, train_from = 0, steps = 5, warmup = 1, seed = 1, sgd = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1;
        if (!strcmp(a, "--backbone") && v) bb = v, i++;
        else if (!strcmp(a, "--feature") && v) feature = v, i++;
        else if (!strcmp(a, "--batch") && v) ok = !fs_cli_parse_int(a, v, 1, 1024, &batch), i++;
        else if (!strcmp(a, "--threads") && v) ok = !fs_cli_parse_int(a, v, 1, 256, &threads), i++;
        else if (!strcmp(a, "--train-from") && v) ok = !fs_cli_parse_int(a, v, 0, 1000, &train_from), i++;
        else if (!strcmp(a, "--steps") && v) ok = !fs_cli_parse_int(a, v, 1, 100000, &steps), i++;
        else if (!strcmp(a, "--warmup") && v) ok = !fs_cli_parse_int(a, v, 0, 1000, &warmup), i++;
        else if (!strcmp(a, "--seed") && v) ok = !fs_cli_parse_int(a, v, 0, 1 << 30, &seed), i++;
        else if (!strcmp(a, "--optim") && v) {
            if (strcmp(v, "adamw") && strcmp(v, "sgd")) ok = 0;
            sgd = !strcmp(v, "sgd");
            i++;
        } else {
            usage();
            return 2;
        }
        if (!ok) { usage(); return 2; }
    }
    fs_model *m;
    const char *feat;
    if (open_model(bb, feature, &m, &feat)) return 1;
    ft_config c;
    ft_config_default(&c);
    c.batch = batch, c.threads = threads, c.train_from = train_from, c.feature = feat;
    c.seed = (uint64_t)seed, c.optim = sgd ? FT_OPT_SGD : FT_OPT_ADAMW;
    c.warmup_steps = 2, c.total_steps = warmup + steps + 1;
    ft_engine *e;
    double t0 = fs_cli_now_ms();
    if (ft_open(&e, m, &c) != FS_OK) {
        fprintf(stderr, "bench train: %s\n", fs_last_error());
        fs_model_free(m);
        return 1;
    }
    double t_open = fs_cli_now_ms() - t0;
    ft_state st;
    ft_get_state(e, &st);
    size_t n_train = 0;
    for (int k = 0; k < st.n_info; k++) n_train += st.info[k].count;
    int S = ft_input_size(e);
    size_t nin = (size_t)batch * S * S * 3;
    float *y = malloc(sizeof(float) * (size_t)batch), *g = malloc(sizeof(float) * (size_t)batch);
    uint64_t rs = (uint64_t)seed;
    double *tf = calloc((size_t)steps, sizeof(double)), *tb = calloc((size_t)steps, sizeof(double));
    double *tu = calloc((size_t)steps, sizeof(double)), *te = calloc((size_t)steps, sizeof(double));
    if (!y || !g || !tf || !tb || !tu || !te) { fprintf(stderr, "bench train: out of memory\n"); return 1; }
    int rc = 0;
    double total = 0, cpu_f = 0, cpu_b = 0;
    for (int s = 0; s < warmup + steps && !rc; s++) {
        float *x = ft_input(e);
        for (size_t i = 0; i < nin; i++) x[i] = (float)((double)(lcg(&rs) >> 11) / 4503599627370496.0 - 1.0);
        for (int r = 0; r < batch; r++) {
            y[r] = 1.0f + 4.0f * (float)((lcg(&rs) >> 11) / 9007199254740992.0);
            g[r] = (float)(lcg(&rs) >> 63);
        }
        ft_step_stats ss;
        double a = fs_cli_now_ms(), ca = cpu_ms();
        if (ft_forward(e, 1)) rc = 1;
        double b = fs_cli_now_ms(), cb = cpu_ms();
        if (!rc && ft_backward(e, batch, y, g, &ss)) rc = 1;
        double c2 = fs_cli_now_ms(), cc = cpu_ms();
        if (!rc && ft_update(e, &ss)) rc = 1;
        double d = fs_cli_now_ms();
        if (!rc && ft_forward(e, 0)) rc = 1; /* evaluation forward, for the ratio */
        double f = fs_cli_now_ms();
        if (rc) break;
        if (s >= warmup) {
            int k = s - warmup;
            tf[k] = b - a, tb[k] = c2 - b, tu[k] = d - c2, te[k] = f - d;
            total += d - a;
            cpu_f += cb - ca, cpu_b += cc - cb;
        }
        fprintf(stderr, "step %d: loss %.4f grad norm %.3g  fwd %.0f ms  bwd %.0f ms  update %.0f ms\n", s, ss.loss,
                ss.grad_norm, b - a, c2 - b, d - c2);
    }
    if (rc) fprintf(stderr, "bench train: %s\n", fs_last_error());
    else {
        double nf = tf[0], nb = tb[0]; /* minima: the least disturbed runs on a loaded machine */
        for (int k = 1; k < steps; k++) nf = tf[k] < nf ? tf[k] : nf, nb = tb[k] < nb ? tb[k] : nb;
        double mf = fs_cli_median(tf, steps), mb = fs_cli_median(tb, steps), mu = fs_cli_median(tu, steps);
        double me = fs_cli_median(te, steps);
        printf("backbone: %s  feature: %s (%d)  input %dx%d  blocks %d  train-from %d\n", bb, feat, ft_feature_dim(e), S,
               S, ft_num_blocks(e), train_from);
        printf("batch %d  threads %d  optimiser %s  trainable parameters %zu (%d tensors)  open %.0f ms\n", batch,
               threads, sgd ? "sgd" : "adamw", n_train, st.n_info, t_open);
        printf("median per step: forward %.1f ms  backward %.1f ms  update %.1f ms  (eval forward %.1f ms)\n", mf, mb, mu,
               me);
        printf("per image: forward %.2f ms  backward %.2f ms  update %.2f ms\n", mf / batch, mb / batch, mu / batch);
        printf("backward/forward ratio %.2f (medians), %.2f (minima: forward %.2f, backward %.2f ms per image)\n",
               mb / mf, nb / nf, nf / batch, nb / batch);
        printf("process CPU time per image: forward %.2f ms, backward %.2f ms (ratio %.2f)\n", cpu_f / steps / batch,
               cpu_b / steps / batch, cpu_f > 0 ? cpu_b / cpu_f : 0);
        printf("peak RSS %.1f MiB\n", fs_cli_peak_rss_kib() / 1024.0);
        ft_profile_print(e, stderr);
        printf("images_per_s %.2f\n", 1000.0 * batch * steps / total);
    }
    free(y), free(g), free(tf), free(tb), free(tu), free(te);
    ft_close(e);
    fs_model_free(m);
    return rc;
}
