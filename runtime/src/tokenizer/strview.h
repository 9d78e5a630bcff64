/* strview.h: a byte string that points into the model file (not NUL-terminated). */
#ifndef IBERT_STRVIEW_H
#define IBERT_STRVIEW_H

#include <stdint.h>

typedef struct ibert_strview {
    const char *data;
    uint64_t len;
} ibert_strview;

#endif
