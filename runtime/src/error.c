/* error.c: per-thread error messages and status names. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char last_error[512];

ibert_status ibert_fail(ibert_status status, const char *fmt, ...) {
    va_list args;
    va_start(args, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, args);
    va_end(args);
    return status;
}

const char *ibert_last_error(void) { return last_error; }

const char *ibert_status_name(ibert_status status) {
    switch (status) {
    case IBERT_OK: return "IBERT_OK";
    case IBERT_ERR_IO: return "IBERT_ERR_IO";
    case IBERT_ERR_FORMAT: return "IBERT_ERR_FORMAT";
    case IBERT_ERR_UNSUPPORTED: return "IBERT_ERR_UNSUPPORTED";
    case IBERT_ERR_INVALID_ARGUMENT: return "IBERT_ERR_INVALID_ARGUMENT";
    case IBERT_ERR_OUT_OF_MEMORY: return "IBERT_ERR_OUT_OF_MEMORY";
    case IBERT_ERR_INVALID_TEXT: return "IBERT_ERR_INVALID_TEXT";
    }
    return "IBERT_ERR_UNKNOWN";
}
