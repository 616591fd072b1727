/* facescore — public API.
 *
 * Every function that can fail returns an fs_status; on failure a human-readable reason
 * ("PNG: truncated IDAT chunk", "cascade: stage 3 has no weakClassifiers") is kept per
 * thread and returned by fs_last_error(). Objects are opaque and freed with their _free().
 * All names are prefixed fs_ / FS_.
 *
 * Sections (one per pipeline stage): core, image, detect, nn (runtime), score.
 */
#ifndef FACESCORE_H
#define FACESCORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FS_VERSION_STRING "0.1.0"

/* ------------------------------------------------------------------ core */

typedef enum {
    FS_OK = 0,
    FS_ERR_IO,          /* cannot open/read/write a file */
    FS_ERR_FORMAT,      /* malformed or truncated input bytes */
    FS_ERR_UNSUPPORTED, /* valid input using a feature we do not implement */
    FS_ERR_LIMIT,       /* input exceeds a configured size / pixel limit */
    FS_ERR_NOMEM,       /* allocation failed */
    FS_ERR_ARG,         /* invalid argument from the caller */
    FS_ERR_INTERNAL
} fs_status;

/* Short generic text for a status code ("malformed input"). */
const char *fs_strerror(fs_status s);
/* Detailed reason of the last failure on this thread ("" if none). */
const char *fs_last_error(void);

/* ------------------------------------------------------------------ image */

/* 8-bit interleaved image: channels 1 (gray) or 3 (RGB). Row y starts at data + y*stride.
 * Images made by fs_image_* functions have stride == width*channels; every function accepts a
 * larger stride on input (e.g. a view into a bigger image). */
typedef struct {
    int width, height;
    int channels;
    int stride;      /* bytes per row, >= width*channels */
    uint8_t *data;   /* owned when obtained from fs_image_* functions; free with fs_image_free */
} fs_image;

typedef struct {
    uint64_t max_pixels; /* width*height limit, checked from the header before decoding; 0 = default 40e6 */
    uint64_t max_bytes;  /* encoded size limit; 0 = default 64 MiB (fs_image_load: from the file size,
                            before reading) */
} fs_image_limits;

typedef enum { FS_FMT_UNKNOWN = 0, FS_FMT_JPEG, FS_FMT_PNG, FS_FMT_WEBP, FS_FMT_BMP } fs_image_format;

/* Sniff the container format from magic bytes (never the file name). */
fs_image_format fs_image_sniff(const void *buf, size_t len);

/* Decode JPEG/PNG/WebP/BMP to RGB (want_channels 3) or gray (1); 0 keeps the file's own
 * (gray stays gray, everything else RGB). The EXIF orientation of JPEG (APP1) and PNG (eXIf)
 * files is applied, as cv2.imread does (not WebP's, as cv2.imread). lim may be NULL.
 * Pixels equal OpenCV 4.6's cv2.imread(IMREAD_COLOR) (BGR there) for JPEG, PNG, BMP, WebP; gray
 * (want 1) is RGB decode + fs_image_to_gray, i.e. cvtColor(imread(f), BGR2GRAY). 16-bit PNG keeps
 * the high byte, palettes are expanded, alpha is dropped, CMYK JPEG is converted like OpenCV.
 * Truncated/corrupt input: FS_ERR_FORMAT; animated WebP, RLE/16-bit BMP: FS_ERR_UNSUPPORTED;
 * over a limit: FS_ERR_LIMIT; the reason is in fs_last_error(). On failure *out is zeroed. */
fs_status fs_image_decode(const void *buf, size_t len, int want_channels,
                          const fs_image_limits *lim, fs_image *out);
fs_status fs_image_load(const char *path, int want_channels, const fs_image_limits *lim,
                        fs_image *out);

/* Zero-filled width x height x channels (1 or 3) image with a tight stride. */
fs_status fs_image_alloc(fs_image *img, int width, int height, int channels);
void      fs_image_free(fs_image *img);

/* Encoders. quality 1..100 for JPEG. *out is malloc'ed; free() it. */
fs_status fs_image_encode_jpeg(const fs_image *img, int quality, uint8_t **out, size_t *out_len);
fs_status fs_image_encode_png(const fs_image *img, uint8_t **out, size_t *out_len);
/* Writes by extension (case-insensitive): .jpg/.jpeg (quality 90) or .png. */
fs_status fs_image_save(const fs_image *img, const char *path);

/* Image operations write a new image into dst (dst != src; free it with fs_image_free).
 * Gray conversion bit-exact with OpenCV 4.6 cvtColor(BGR2GRAY) on 8-bit input:
 * Y = (R*9798 + G*19235 + B*3735 + 2^14) >> 15. A gray input is copied. */
fs_status fs_image_to_gray(const fs_image *src, fs_image *dst);
/* cv::resize on 8-bit images, bit-exact with OpenCV 4.6: BILINEAR = INTER_LINEAR (half-pixel
 * centres, clamped borders, 11-bit fixed point); AREA = INTER_AREA (box average when shrinking;
 * OpenCV's area-mode bilinear when an axis grows). */
typedef enum { FS_RESIZE_BILINEAR = 0, FS_RESIZE_AREA } fs_resize_mode;
fs_status fs_image_resize(const fs_image *src, int width, int height, fs_resize_mode mode,
                          fs_image *dst);
/* Crop; the rectangle is clipped to the image (FS_ERR_ARG if nothing is left). */
fs_status fs_image_crop(const fs_image *src, int x, int y, int w, int h, fs_image *dst);
/* dst(x,y) = src(M * [x y 1]^T), M 2x3 row-major (inverse map), bilinear, border = constant 0:
 * cv::warpAffine(src, M, size, INTER_LINEAR | WARP_INVERSE_MAP) with its fixed-point arithmetic. */
fs_status fs_image_warp_affine(const fs_image *src, const double m[6], int width, int height,
                               fs_image *dst);

/* Drawing for annotated output, clipped to the image (any coordinates are safe). The rectangle
 * outline covers [x, x+w) x [y, y+h), `thickness` pixels inwards; the dot is a filled disc.
 * On gray images the colour's luma is drawn. */
void fs_image_draw_rect(fs_image *img, int x, int y, int w, int h, int thickness,
                        uint8_t r, uint8_t g, uint8_t b);
void fs_image_draw_dot(fs_image *img, int cx, int cy, int radius, uint8_t r, uint8_t g, uint8_t b);
/* Filled rectangle [x, x+w) x [y, y+h), clipped (e.g. a background box behind a label). */
void fs_image_fill_rect(fs_image *img, int x, int y, int w, int h, uint8_t r, uint8_t g, uint8_t b);
/* Text in the built-in 5x7 bitmap font (printable ASCII; every other byte is drawn as '?'), top-left
 * at (x, y), clipped (any x, y). Each character takes a 6x8 cell (glyph + 1 blank column and row)
 * times `scale` (clamped to 1..8): the label is fs_image_text_width() x 8*scale pixels.
 * Returns that width (also with img NULL, to measure); 0 for NULL text. */
int  fs_image_draw_text(fs_image *img, int x, int y, const char *text, int scale, uint8_t r, uint8_t g,
                        uint8_t b);
int  fs_image_text_width(const char *text, int scale);

/* ------------------------------------------------------------------ detect */

typedef struct { float x, y, w, h; } fs_rect;

typedef struct {
    fs_rect box;             /* in original image pixels */
    float   confidence;      /* detector score (Haar: neighbour count) */
    int     has_landmarks;
    float   landmarks[5][2]; /* right eye, left eye, nose, right mouth corner, left mouth corner */
} fs_face;

/* Result codes of the original system. */
enum { FS_CODE_NO_FACE = 0, FS_CODE_MANY_FACES = 1, FS_CODE_ONE_FACE = 2 };

typedef struct {
    fs_face *faces;  /* sorted, largest first for Haar; free with fs_detections_free */
    int      n;
    int      code;     /* FS_CODE_* */
    int      largest;  /* index of the largest face, -1 if none */
} fs_detections;

void fs_detections_free(fs_detections *d);

/* Haar / LBP cascades in OpenCV's XML format. */
typedef struct fs_cascade fs_cascade;
fs_status fs_cascade_load(const char *path, fs_cascade **out);
fs_status fs_cascade_load_memory(const char *xml, size_t len, fs_cascade **out);
void      fs_cascade_free(fs_cascade *c);
/* Default search: $FACESCORE_CASCADE, ./models/opencv/, <executable dir>/../models/opencv/,
 * /usr/share/opencv4/haarcascades, ... (haarcascade_frontalface_default.xml). Not thread-safe. */
const char *fs_cascade_default_path(void);

typedef struct {
    double scale_factor;   /* default 1.03 (the original design) */
    int    min_neighbors;  /* default 6 */
    int    min_w, min_h;   /* minSize, 0 = none */
    int    max_w, max_h;   /* maxSize, 0 = none */
    int    threads;        /* 0 = all cores */
} fs_haar_params;

void fs_haar_params_default(fs_haar_params *p);
/* detectMultiScale on an 8-bit image (RGB is converted to gray first). Gives the same boxes as
 * OpenCV 4.6 CascadeClassifier::detectMultiScale(gray, scale_factor, min_neighbors, 0, minSize,
 * maxSize) on the same gray image; faces are sorted largest first, confidence = neighbour count. */
fs_status fs_haar_detect(const fs_cascade *c, const fs_image *img, const fs_haar_params *p,
                         fs_detections *out);
/* Window-scan kernel fs_haar_detect uses for this cascade on this CPU ("avx2" or "portable"). */
const char *fs_haar_kernel_name(const fs_cascade *c);

/* --- detect: YuNet, alignment, one API for both detectors (issue 4) ------------------------
 *
 *   fs_detector_options o;  fs_detector_options_default(&o);   // YuNet, threshold 0.6, NMS 0.3
 *   fs_detector *det;       if (fs_detector_open(&o, &det) != FS_OK) puts(fs_last_error());
 *   fs_detections d;        fs_detector_detect(det, &img, &d); // d.faces[0..n), d.code, d.largest
 *   fs_image crop;          fs_face_align(&img, &d.faces[i], NULL, &crop);  // 224x224 aligned
 *   fs_detections_free(&d); fs_detector_free(det);
 */
typedef enum { FS_DETECTOR_YUNET = 0, FS_DETECTOR_HAAR = 1 } fs_detector_type;

/* Order of fs_detections.faces. DEFAULT: YuNet by descending confidence, Haar in its own
 * (seed-compatible, largest first) order. */
typedef enum { FS_SORT_DEFAULT = 0, FS_SORT_SCORE, FS_SORT_AREA, FS_SORT_LEFT_TO_RIGHT } fs_face_sort;

typedef struct {
    fs_detector_type type;   /* default FS_DETECTOR_YUNET */
    const char *model_path;  /* YuNet .onnx; NULL = fs_yunet_default_path() */
    const char *cascade_path;/* Haar XML; NULL = fs_cascade_default_path() */
    float score_threshold;   /* YuNet: keep faces with score >= this; default 0.6 */
    float nms_iou;           /* YuNet: suppress overlaps with IoU > this; default 0.3 */
    int   input_size;        /* YuNet dynamic model: the photo's longer side is scaled to this and the
                                input padded to a multiple of 32; default 640 (32..8192). Fixed-size
                                models (yunet_n_640_640.onnx) always use their own size. Scaling is
                                bilinear (area averaging when shrinking more than 2x); the photo sits
                                at the top-left of a black canvas. */
    int   max_faces;         /* keep the first N faces in the final order (after min_face and sort:
                                FS_SORT_AREA + 1 = the largest face); 0 = no limit */
    float min_face;          /* drop faces whose box min(w, h) < this, in photo pixels; 0 = keep all */
    fs_face_sort sort;       /* default FS_SORT_DEFAULT */
    int   threads;           /* YuNet runtime / Haar threads; default 1, <= 0 = all cores */
    int   haar_landmarks;    /* Haar: add landmarks by running YuNet inside each enlarged Haar box
                                (needs the YuNet model); default 0 */
    fs_haar_params haar;     /* Haar parameters; default fs_haar_params_default (seed) */
} fs_detector_options;

typedef struct fs_detector fs_detector;

void fs_detector_options_default(fs_detector_options *o);
/* Loads the model / cascade. o NULL = defaults. Errors (fs_last_error): FS_ERR_IO "yunet model
 * no/such.onnx: No such file or directory", FS_ERR_FORMAT "yunet model x.jpg: unknown model format
 * (...)" or "yunet: m.onnx has no output 'obj_8' (not a YuNet model?)", FS_ERR_ARG "detector: score
 * threshold 2 outside 0..1", Haar: "cannot open cascade x.xml". */
fs_status fs_detector_open(const fs_detector_options *o, fs_detector **out);
/* Detects faces in an RGB or gray image. *out is always initialised (n = 0, code NO_FACE, largest
 * -1 on failure); boxes and landmarks are in the image's pixels, boxes clipped to it. YuNet faces
 * carry confidence in [0,1] and 5 landmarks; Haar faces confidence = neighbour count, no landmarks
 * unless haar_landmarks found a YuNet face in the box. Not thread-safe per detector. */
fs_status fs_detector_detect(fs_detector *d, const fs_image *img, fs_detections *out);
void      fs_detector_free(fs_detector *d);
const char *fs_detector_name(const fs_detector *d);   /* "yunet" or "haar" */
/* Draws every face: green box (thickness min(w,h)/300, at least 1) and, with landmarks, 5 dots
 * (right eye blue, left eye red, nose green, right mouth corner magenta, left mouth corner yellow). */
void fs_detections_draw(fs_image *img, const fs_detections *d);
/* Default YuNet model: yunet_n_dynamic.onnx (else yunet_n_640_640.onnx) in $FACESCORE_MODELS/yunet/,
 * $FACESCORE_MODELS/, models/yunet/ (repo), <exe dir>/../models/yunet/, <exe dir>/../share/facescore/
 * models/yunet/, ../shared/models/yunet/, /usr/local/share/facescore/models/yunet/,
 * /usr/share/facescore/models/yunet/. NULL if none (fs_detector_open then fails with FS_ERR_IO). */
const char *fs_yunet_default_path(void);

/* Alignment. With landmarks: the least-squares 5-point similarity (rotation, uniform scale, shift)
 * onto the ArcFace template scaled to size x size and shrunk about the centre by 1/(1 + margin)
 * (size 112, margin 0 = the standard ArcFace/MobileFaceNet crop). Without landmarks (Haar): the
 * original's crop: a square of side max(w,h) * box_scale around the box centre resized to size
 * (box_scale 1 and a box inside the photo = crop + bilinear resize, as the original). Pixels outside
 * the photo are black. */
/* 0.3: the median framing of the SCUT-FBP5500 photos (YuNet landmarks on 50 of them: the photo spans
 * 1.32x the ArcFace 112 frame, margins 0.03..0.71), so aligned crops look like the training photos. */
#define FS_ALIGN_MARGIN_224 0.3f
typedef struct {
    int   size;       /* output side in pixels, 8..4096 */
    float margin;     /* see above; FS_ALIGN_MARGIN_224 by default */
    float box_scale;  /* faces without landmarks; default 1 */
} fs_align_params;

void fs_align_params_default(fs_align_params *p);  /* 224, FS_ALIGN_MARGIN_224, box_scale 1 */
void fs_align_params_arcface(fs_align_params *p);  /* 112, margin 0 */
/* The 5 template points (same order as fs_face.landmarks) for a size and margin. */
void fs_align_template(int size, float margin, float out[5][2]);
/* Writes a size x size crop (3 channels for RGB input) to *out; p NULL = defaults. */
fs_status fs_face_align(const fs_image *img, const fs_face *face, const fs_align_params *p,
                        fs_image *out);
/* Forward 2x3 matrix (photo pixels -> crop pixels) that fs_face_align uses. */
fs_status fs_face_align_matrix(const fs_face *face, const fs_align_params *p, double m[6]);
/* Least-squares similarity mapping src[i] -> dst[i] (n >= 2), as a forward 2x3 row-major matrix
 * [a -b tx; b a ty]. FS_ERR_ARG if the source points coincide. */
fs_status fs_similarity_estimate(const float (*src)[2], const float (*dst)[2], int n, double m[6]);
fs_status fs_affine_invert(const double m[6], double inv[6]);

/* ------------------------------------------------------------------ nn (runtime) */

/* A neural network loaded from TFLite (.tflite), ONNX (.onnx) or TF.js (model.json + .bin shards),
 * run in float32 on the CPU. Loading parses and checks the file; the first run (or fs_model_plan)
 * infers shapes, folds constants, picks kernels and lays out one activation arena; later runs
 * allocate nothing. Activations use the model's own layout (TFLite/TF.js NHWC, ONNX NCHW).
 * One fs_model is not safe to run from two threads at once (use one model per thread). */
typedef struct fs_model fs_model;

#define FS_MODEL_MAX_DIMS 8
typedef struct {
    const char *name;                 /* owned by the model */
    int         ndim;
    int64_t     dims[FS_MODEL_MAX_DIMS]; /* -1 = not known until planned */
    int         dtype;                /* 0 float32, 1 int64, 2 int32, 3 uint8, 4 int8, 5 bool, 6 f16 */
} fs_tensor_info;

/* Format from the magic bytes / extension: TFLite flatbuffer, ONNX protobuf, or a TF.js model.json
 * (shards read relative to it). */
fs_status fs_model_load(const char *path, fs_model **out);
/* TFLite or ONNX bytes (not TF.js, whose weights live in other files). buf is copied. */
fs_status fs_model_load_memory(const void *buf, size_t len, fs_model **out);
void      fs_model_free(fs_model *m);
const char *fs_model_format(const fs_model *m); /* "tflite", "onnx", "tfjs" */

int       fs_model_num_inputs(const fs_model *m);
int       fs_model_num_outputs(const fs_model *m);
fs_status fs_model_input_info(const fs_model *m, int i, fs_tensor_info *info);
fs_status fs_model_output_info(const fs_model *m, int i, fs_tensor_info *info);
/* Any tensor by name, or "#N" for tensor index N (TFLite tensor numbers are kept). */
fs_status fs_model_tensor_info(const fs_model *m, const char *name, fs_tensor_info *info);

/* Threads for the kernels (1 = caller only; <= 0 = all cores). Default 1. */
fs_status fs_model_set_threads(fs_model *m, int threads);
/* Fixes the dims of input i (for dynamic dims, or another batch size); replans on the next run. */
fs_status fs_model_set_input_shape(fs_model *m, int i, int ndim, const int64_t *dims);
/* Keeps an intermediate tensor (name or "#N") readable after a run: the planner will not reuse its
 * buffer. Call before running (it replans). */
fs_status fs_model_keep_tensor(fs_model *m, const char *name);
/* Plans now (otherwise the first run does it). */
fs_status fs_model_plan(fs_model *m);

/* Input buffer i inside the arena (plans if needed): write the input there, then fs_model_run.
 * *numel receives its element count. NULL on failure (fs_last_error). */
float    *fs_model_input(fs_model *m, int i, size_t *numel);
/* Copies numel floats into input i (numel must match). */
fs_status fs_model_set_input(fs_model *m, int i, const float *data, size_t numel);
fs_status fs_model_run(fs_model *m);
/* Runs n inputs of input 0 one after the other (in + k*in_stride floats each), copying the named
 * output (NULL = the first output) to out + k*out_stride. The plan is reused: no allocation. */
fs_status fs_model_run_batch(fs_model *m, int n, const float *in, size_t in_stride,
                             const char *output, float *out, size_t out_stride);
/* Output i / any kept tensor (name or "#N") after a run; *numel gets the element count.
 * Valid until the next run / replan. NULL if unknown or not kept (intermediates must be kept). */
const float *fs_model_output(const fs_model *m, int i, size_t *numel);
const float *fs_model_tensor(const fs_model *m, const char *name, size_t *numel);

/* ------------------------------------------------------------------ score (issue 5)
 *
 * Gender and attractiveness heads (our own model file, docs/model-format.md) on frozen backbone
 * features (faceres + MobileNetV2 by default), trained on SCUT-FBP5500 by `facescore train`.
 *
 *   fs_scorer *sc;  fs_scorer_open(NULL, &sc);              // shipped model, backbones next to it
 *   fs_face_score r; fs_scorer_score(sc, &img, &d.faces[i], &r);   // faces from fs_detector_detect
 *   printf("%s %.2f %s\n", r.female ? "female" : "male", r.score, r.rank_en);
 *   fs_scorer_free(sc);
 *
 * The scores are a toy (FS_SCORE_DISCLAIMER): they reproduce 60 raters' taste on one dataset. */
#define FS_SCORE_DISCLAIMER "Scores are a toy: they reproduce the taste of 60 raters of one small dataset " \
    "(SCUT-FBP5500), say nothing about anyone's worth, and must not be taken seriously."
#define FS_SCORE_CLASSES 5

typedef struct fs_scorer fs_scorer;

typedef struct {
    const char *model_path;  /* heads file; NULL = fs_scorer_default_path() */
    const char *models_dir;  /* folder of the backbone models; NULL = the heads file's folder, its
                                parent, then the models search path (see README) */
    int threads;             /* backbone runtime threads; default 1, <= 0 = all cores */
    int no_mirror;           /* 1: features of the crop only, not averaged with its mirror image (the
                                model was trained with the average): ~35 % less CPU per face; SCUT 60/40
                                PC 0.9021 instead of 0.9053 with the shipped model. Default 0. */
} fs_scorer_options;

typedef struct {
    float p_female;          /* probability the face is female (gender head, sigmoid) */
    int   female;            /* p_female >= 0.5; -1 when the model was trained without gender labels */
    float score;             /* continuous score 1.00..5.00 (regression head) */
    int   cls;               /* class 1..5 = argmax of dist */
    float dist[FS_SCORE_CLASSES]; /* softmax over classes 1..5 */
    const char *rank_ko, *rank_en; /* the original's rank message for cls, and an English one */
} fs_face_score;

void fs_scorer_options_default(fs_scorer_options *o);
/* Loads the heads file (checked: format, shapes, checksum) and the backbones it names (their
 * FNV-1a checksums must match the file's). Errors: FS_ERR_IO "no shipped model ...", FS_ERR_FORMAT
 * "model file: checksum mismatch (corrupt file)", "backbone faceres: checksum ... differs ...". */
fs_status fs_scorer_open(const fs_scorer_options *o, fs_scorer **out);
/* Scores one detected face of an RGB image (crop as the model was trained: metadata "crop"). Not
 * thread-safe per scorer. */
fs_status fs_scorer_score(fs_scorer *s, const fs_image *img, const fs_face *face, fs_face_score *out);
void fs_scorer_free(fs_scorer *s);
/* Short name of the loaded heads file ("scut60.fsh") and any metadata value (NULL if absent). */
const char *fs_scorer_model_name(const fs_scorer *s);
const char *fs_scorer_meta(const fs_scorer *s, const char *key);
/* Detector the model was trained with (metadata "detector": YuNet unless "haar"). */
fs_detector_type fs_scorer_detector(const fs_scorer *s);
/* Rank message of class 1..5 (NULL outside): Korean (the original's) or English. */
const char *fs_rank_message(int cls, int korean);
/* The shipped model: facescore/scut60.fsh under $FACESCORE_MODELS, ./models, <exe>/../models, ...
 * (NULL if none). */
const char *fs_scorer_default_path(void);

#ifdef __cplusplus
}
#endif
#endif /* FACESCORE_H */
