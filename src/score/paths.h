/* score/paths.h — where the shipped models live.
 * Search order for the models folder: $FACESCORE_MODELS, ./models (repo root), <exe dir>/../models,
 * <exe dir>/../share/facescore/models, /usr/local/share/facescore/models, /usr/share/facescore/models.
 * A backbone file named in a heads file is looked up next to the heads file first. */
#ifndef FS_SCORE_PATHS_H
#define FS_SCORE_PATHS_H
#include <stddef.h>

/* First models folder holding rel (e.g. "human_faceres/faceres.json"); 0 if found. */
int sc_models_dir_for(const char *rel, char *out, size_t n);
/* Folder of path (".") */
void sc_dirname(const char *path, char *out, size_t n);
#define SC_DEFAULT_MODEL "facescore/scut60.fsh"
#endif
