/* train/linear.c — fully connected layer (see layers.h). */
#include "train/layers.h"

void lin_forward(float *y, const float *x, const float *w, const float *b, int B, int in, int out) {
    for (int r = 0; r < B; r++) {
        const float *xr = x + (size_t)r * in;
        for (int o = 0; o < out; o++) {
            const float *wo = w + (size_t)o * in;
            float s = b ? b[o] : 0.0f;
            for (int i = 0; i < in; i++) s += wo[i] * xr[i];
            y[(size_t)r * out + o] = s;
        }
    }
}

void lin_backward(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w,
                  int B, int in, int out) {
    for (int r = 0; r < B; r++) {
        const float *xr = x + (size_t)r * in;
        const float *dyr = dy + (size_t)r * out;
        for (int o = 0; o < out; o++) {
            float g = dyr[o];
            if (g == 0.0f) continue;
            float *dwo = dw + (size_t)o * in;
            for (int i = 0; i < in; i++) dwo[i] += g * xr[i];
            if (db) db[o] += g;
            if (dx) {
                const float *wo = w + (size_t)o * in;
                float *dxr = dx + (size_t)r * in;
                for (int i = 0; i < in; i++) dxr[i] += g * wo[i];
            }
        }
    }
}
