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
    char tmp[sizeof err->msg];
    snprintf(tmp, sizeof tmp, "%s: %s", prefix, err->msg);
    memcpy(err->msg, tmp, sizeof tmp);
    return err->code;
}
