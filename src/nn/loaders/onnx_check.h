/* nn/loaders/onnx_check.h — running one ONNX backend test case (a folder with model.onnx and
 * test_data_set_N/{input_K.pb, output_K.pb}) and comparing with its expected outputs. Used by
 * `facescore model check` (cli/model_check.c) and tests/nn/test_onnx_conformance.c.
 *
 * Per data set: the inputs are read; int/bool inputs (the public run API feeds float32) and float
 * inputs an op needs as a load-time constant (Conv W, Clip bounds, ...) are bound to their values
 * (nn/loaders/onnx.h), the others are fed at run time; the model is loaded, planned for the input
 * shapes, run, and every output compared: same dtype, same shape, |got - want| <= atol + rtol |want|
 * (NaN matches NaN, inf matches the same inf; integer/bool outputs exactly). */
#ifndef FS_NN_ONNX_CHECK_H
#define FS_NN_ONNX_CHECK_H

enum { OXC_PASS = 0, OXC_FAIL, OXC_UNSUPPORTED, OXC_ERROR };

typedef struct {
    int    status;        /* OXC_* */
    char   detail[480];   /* why, for anything but a pass ("" for a pass) */
    double max_abs_diff;  /* over every float output compared (0 if none) */
    int    n_sets;        /* data sets run */
} nn_onnx_case_result;

/* Never fails as a function: every outcome is in r. */
void nn_onnx_check_case(const char *dir, double rtol, double atol, nn_onnx_case_result *r);
const char *nn_onnx_status_name(int status); /* "pass", "fail", "unsupported", "error" */

#endif
