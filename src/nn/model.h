/* nn/model.h — internal access to a model's graph (for the CLI's model info / bench). */
#ifndef FS_NN_MODEL_H
#define FS_NN_MODEL_H
#include "facescore.h"
#include "nn/graph.h"

nn_graph *fs_model_graph(fs_model *m);
#endif
