/* error.h: setting the per-thread error message that ibert_last_error() returns. */
#ifndef IBERT_ERROR_H
#define IBERT_ERROR_H

#include "ibert.h"

/* Records a printf-style message for the calling thread and returns status, so a
 * failure reads as `return ibert_fail(IBERT_ERR_FORMAT, "tensor %s: ...", name);`. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
ibert_status ibert_fail(ibert_status status, const char *fmt, ...);

#endif
