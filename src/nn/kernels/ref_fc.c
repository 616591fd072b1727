/* nn/kernels/ref_fc.c — portable reference fully connected layer: y[m][n] = x[m][:]·w[n][:] + b[n],
 * then clamp. */
#include "nn/kernels/kernels.h"
#include "nn/kernels/kernels_internal.h"

/* Output columns [n0, n1) of every row. */
void nn_fc_ref_cols(const nn_fc_params *p, const float *in, const float *w, const float *bias,
                    float *out, int n0, int n1) {
    for (int i = 0; i < p->m; i++) {
        const float *x = in + (size_t)i * p->k;
        for (int j = n0; j < n1; j++) {
            const float *wj = w + (size_t)j * p->k;
            float acc = bias ? bias[j] : 0.0f;
            for (int c = 0; c < p->k; c++) acc += x[c] * wj[c];
            out[(size_t)i * p->n + j] = nn_clampf(acc, p->act_min, p->act_max);
        }
    }
}

void nn_fc_ref(const nn_fc_params *p, const float *in, const float *w, const float *bias, float *out) {
    nn_fc_ref_cols(p, in, w, bias, out, 0, p->n);
}
