/* Errors as status codes plus a one-line message. No exit() below src/cli. */
#ifndef XQ_BASE_STATUS_H
#define XQ_BASE_STATUS_H

#include <stdarg.h>

/* Exit-code compatible status: 0 ok, 1 runtime failure, 2 bad input/usage. */
enum { XQ_OK = 0, XQ_ERUN = 1, XQ_EINPUT = 2 };

typedef struct xq_err {
    int code;       /* XQ_OK, XQ_ERUN or XQ_EINPUT */
    char msg[512];  /* "<what>: <why>", printed by the CLI as "xqprof: <msg>" */
} xq_err;

/* Records code and a printf-style message into err (may be NULL); returns code. */
int xq_fail(xq_err *err, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int xq_vfail(xq_err *err, int code, const char *fmt, va_list ap);
/* Prefixes an existing message with "<prefix>: " (e.g. a file name). Returns err->code. */
int xq_err_prefix(xq_err *err, const char *prefix);

#endif
