#include "base/span.h"

const char *span_op_name(span_op op)
{
    static const char *const names[OP_COUNT] = {
        "step", "embed", "rmsnorm", "matmul_q", "matmul_k", "matmul_v", "rope", "cache_append", "attend",
        "matmul_o", "residual", "matmul_gate", "matmul_up", "swiglu", "matmul_down", "lm_head", "sample",
        "remat", "dequant"};
    return (op >= 0 && op < OP_COUNT) ? names[op] : "?";
}
