#include "base/progress.h"

#include <stddef.h>

static xq_progress_fn hook;
static void *hook_ctx;

xq_progress_fn xq_progress_hook(xq_progress_fn fn, void *ctx, void **old_ctx)
{
    xq_progress_fn old = hook;
    if (old_ctx) *old_ctx = hook_ctx;
    hook = fn;
    hook_ctx = ctx;
    return old;
}

void xq_progress(const char *what, int64_t done, int64_t total)
{
    if (hook) hook(hook_ctx, what, done, total);
}
