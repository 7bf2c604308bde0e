#include "base/status.h"

#include <stdio.h>
#include <string.h>

int xq_vfail(xq_err *err, int code, const char *fmt, va_list ap)
{
    if (err) {
        err->code = code;
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    }
    return code;
}

int xq_fail(xq_err *err, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    xq_vfail(err, code, fmt, ap);
    va_end(ap);
    return code;
}

int xq_err_prefix(xq_err *err, const char *prefix)
{
    if (!err) return XQ_ERUN;
    /* Truncation of an over-long message is acceptable; the size is checked, not warned about. */
    char tmp[sizeof err->msg];
    size_t n = strlen(prefix);
    if (n > sizeof tmp - 3) n = sizeof tmp - 3;
    memcpy(tmp, prefix, n);
    memcpy(tmp + n, ": ", 2);
    size_t rest = sizeof tmp - n - 3;
    size_t m = strnlen(err->msg, rest);
    memcpy(tmp + n + 2, err->msg, m);
    tmp[n + 2 + m] = 0;
    memcpy(err->msg, tmp, sizeof tmp);
    return err->code;
}
