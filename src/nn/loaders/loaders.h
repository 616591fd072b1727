/* nn/loaders/loaders.h — each loader parses untrusted bytes into an nn_graph (see nn/graph.h).
 * Every read is bounds-checked; on malformed input they return an fs_status with fs_error() set
 * ("ONNX: node 12 (Conv): attribute 'pads' has 3 values, expected 4") and leave g to be freed. */
#ifndef FS_NN_LOADERS_H
#define FS_NN_LOADERS_H
#include <stddef.h>
#include <stdint.h>

#include "nn/graph.h"

fs_status nn_load_tflite(nn_graph *g, const uint8_t *buf, size_t len);   /* nn/loaders/tflite.c */
fs_status nn_load_onnx(nn_graph *g, const uint8_t *buf, size_t len);     /* nn/loaders/onnx.c */
/* model.json text; shards are read through read_shard(path relative to the json, ctx). */
typedef fs_status (*nn_shard_reader)(const char *rel_path, uint8_t **data, size_t *len, void *ctx);
fs_status nn_load_tfjs(nn_graph *g, const char *json, size_t json_len, nn_shard_reader read_shard,
                       void *ctx);                                         /* nn/loaders/tfjs.c */
#endif
