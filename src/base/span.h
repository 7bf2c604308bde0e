/* The span-sink interface: how the engine reports work without knowing about profilers, SQLite or ncurses.
 * A sink is a struct of function pointers; the engine calls span_begin/span_end around each op with its shape.
 * A NULL sink costs one branch. src/prof implements sinks (cost model, aggregates, queue to the store). */
#ifndef XQ_BASE_SPAN_H
#define XQ_BASE_SPAN_H

#include <stdint.h>

typedef enum span_op {
    OP_STEP = 0, OP_EMBED, OP_RMSNORM, OP_MATMUL_Q, OP_MATMUL_K, OP_MATMUL_V, OP_ROPE, OP_CACHE_APPEND,
    OP_ATTEND, OP_MATMUL_O, OP_RESIDUAL, OP_MATMUL_GATE, OP_MATMUL_UP, OP_SWIGLU, OP_MATMUL_DOWN,
    OP_LM_HEAD, OP_SAMPLE, OP_REMAT, OP_DEQUANT, OP_COUNT
} span_op;

/* The shape of one op: an m×k by k×n product reads m·k weights of type dtype, for example. */
typedef struct span_shape {
    int64_t m, n, k;   /* op-specific; src/prof/cost.h gives each op's meaning */
    uint32_t dtype;    /* weight type (ggml id) when a weight is read */
    int32_t cache_mode;/* cache mode id of the session */
    int64_t ctx;       /* tokens in the cache after this step's append */
} span_shape;

typedef struct span_sink {
    void *self;
    void (*begin)(void *self, span_op op, int32_t layer, const span_shape *shape);
    void (*end)(void *self, span_op op, int32_t layer);
} span_sink;

static inline void span_begin(const span_sink *s, span_op op, int32_t layer, const span_shape *shape)
{
    if (s && s->begin) s->begin(s->self, op, layer, shape);
}
static inline void span_end(const span_sink *s, span_op op, int32_t layer)
{
    if (s && s->end) s->end(s->self, op, layer);
}

const char *span_op_name(span_op op);

#endif
