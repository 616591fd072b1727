/* detect/detections.c — freeing detection results (shared by all detectors). */
#include <stdlib.h>
#include <string.h>

#include "facescore.h"

void fs_detections_free(fs_detections *d) {
    if (!d) return;
    free(d->faces);
    memset(d, 0, sizeof *d);
    d->largest = -1;
}
