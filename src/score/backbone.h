/* score/backbone.h — frozen pretrained feature extractors and the face crops they need.
 *
 * A backbone set ("faceres+mnv2") turns one detected face into one feature vector: for each
 * backbone in turn, crop the face the way that backbone expects, preprocess (each model's
 * SOURCES.md rule), run it, read the feature tensor, and average with the mirrored crop's feature;
 * the vectors are concatenated in the order named.
 *
 *   name     file (under the models folder)                     input        preprocessing       feature
 *   mnv2     mobilenet_v2_imagenet/mobilenet_v2_1.0_224_quant.tflite 224 crop RGB/127.5-1   #169 (1280)
 *   faceres  human_faceres/faceres.json                          224 crop     BGR - ImageNet mean global_pooling/Mean (1024)
 *   mfn      mobilefacenet/MobileFaceNet.tflite                  112 ArcFace  (RGB-127.5)/128    embeddings (192)
 *
 * Crops of the 224 backbones (bb_crop): ALIGN = fs_face_align defaults (5-point similarity, margin
 * 0.3; faces without landmarks fall back to the box crop), BOX15 = square of 1.5 x max(w,h) around the
 * detector box, BOX10 = the original's square box crop (Haar seed mode). mfn always uses the ArcFace
 * 112 alignment when landmarks exist. One bb_set is not thread-safe (open one per thread). */
#ifndef FS_SCORE_BACKBONE_H
#define FS_SCORE_BACKBONE_H
#include <stdint.h>
#include "facescore.h"
#include "score/model_file.h"


typedef enum { BB_CROP_ALIGN = 0, BB_CROP_BOX15 = 1, BB_CROP_BOX10 = 2 } bb_crop;

#define BB_MAX 4
typedef struct {
    const char *name, *file;
    int size;          /* input side */
    int pre;           /* BB_PRE_* */
    const char *tensor;
    int dim;
} bb_spec;

typedef struct {
    int n;
    const bb_spec *spec[BB_MAX];
    fs_model *model[BB_MAX];
    int dim;           /* sum of dims */
    bb_crop crop;
    int flip;          /* average with the mirrored crop (default 1) */
    float *buf;        /* preprocessing scratch */
    uint64_t wkey[BB_MAX]; /* 0: stock weights; else FNV-1a 64 of backbone k's override tensors */
    int n_override[BB_MAX];
} bb_set;

const bb_spec *bb_find(const char *name);
const char *bb_crop_name(bb_crop c);
/* The preprocessing in words, for model-file metadata ("RGB/127.5-1", ...). */
const char *bb_input_desc(const bb_spec *sp);
/* FNV-1a of a backbone's file(s) under dir (TF.js: the .json and its .bin): files = "a.json,a.bin",
 * sums = "h1[,h2]" (hex), *combined = one number of both; each output may be NULL. */
fs_status bb_files_hash(const char *dir, const bb_spec *sp, char *files, size_t nf, char *sums, size_t ns, uint64_t *combined);
int bb_crop_parse(const char *s, bb_crop *out);
/* Checks "a+b+..." names and returns the total feature dimension (0 and an error if unknown). */
int bb_names_dim(const char *names);
/* Opens the models; models_dir is the folder holding mobilenet_v2_imagenet/ etc. */
fs_status bb_open(bb_set *s, const char *names, const char *models_dir, bb_crop crop, int threads);
/* Same, then replaces constants of the loaded graphs (before planning) by the model file's tensors
 * named "backbone.<name>.<graph tensor name>" (fine-tuned weights, `facescore finetune`): each must
 * name a float32 constant of that backbone's graph with exactly its shape, and <name> must be one of
 * the opened backbones — anything else is FS_ERR_FORMAT with the tensor's name. w NULL = stock. */
fs_status bb_open_weights(bb_set *s, const char *names, const char *models_dir, bb_crop crop, int threads,
                          const mf_file *w);
/* FNV-1a 64 over the names and bytes of w's override tensors of backbone `name` (0 if none). */
uint64_t bb_weights_key(const mf_file *w, const char *name, int *count);
void bb_close(bb_set *s);
/* The crop backbone k gets for this face (RGB, size x size). */
fs_status bb_face_crop(const bb_set *s, int k, const fs_image *img, const fs_face *face, fs_image *crop);
/* The crop a backbone of spec sp gets with crop mode `mode` (what bb_face_crop does, without a set). */
fs_status bb_crop_for(const bb_spec *sp, bb_crop mode, const fs_image *img, const fs_face *face, fs_image *crop);
/* Crop (RGB, sp->size square) -> the network's float NHWC input x[size][size][3] with the spec's
 * preprocessing (table above), mirrored left-right when flip. */
void bb_preprocess(const bb_spec *sp, const fs_image *crop, int flip, float *x);
/* Feature of one face of an RGB image: out[dim]. */
fs_status bb_features(bb_set *s, const fs_image *img, const fs_face *face, float *out);
/* Feature of one ready crop for backbone k (size x size RGB): out[spec->dim]. */
fs_status bb_features_crop(bb_set *s, int k, const fs_image *crop, float *out);
#endif
