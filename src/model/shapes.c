/* The named model shapes: real architectures' hyper-parameters (from each model's published config.json), used
 * by `xqprof synth` to write random-weight models of real size and by the GPU projection.
 *
 * Choices worth knowing:
 * - llama3-8b is Llama-3.1-8B's shape. Its config says 131072 positions, reached through "llama3" RoPE scaling
 *   (factor 8 over 8192 original positions). synth writes no scaling, so the table keeps the native 8192.
 *   llama3-70b likewise (Llama-3.1-70B shape, 8192).
 * - mistral-7b is Mistral-7B-v0.1: rope 10000 and a 4096-token sliding window (not modelled: xqprof attends
 *   over the whole context). v0.2 has the same matrices but rope 1e6 and no window; v0.3 has vocab 32768.
 * - K-quant types need rows that are multiples of 256: smollm2-135m (d 576) can only be written in F32/F16/
 *   BF16/Q8_0/Q4_x/Q5_x, or as the Q4_K_M mix (whose rule falls back to Q5_0/Q8_0 there, as llama.cpp's does);
 *   tiny uses d 256, ff 512 so that every type works. */
#include <string.h>

#include "model/synth.h"

static const model_shape shapes[] = {
    /* name              layers  d     ff  heads kv  vocab   ctx   rope_base  eps   tied */
    {"llama2-7b",        32, 4096, 11008, 32, 32, 32000,  4096, 10000.0f,  1e-5f, false},
    {"llama2-13b",       40, 5120, 13824, 40, 40, 32000,  4096, 10000.0f,  1e-5f, false},
    {"llama3-8b",        32, 4096, 14336, 32,  8, 128256, 8192, 500000.0f, 1e-5f, false},
    {"llama3-70b",       80, 8192, 28672, 64,  8, 128256, 8192, 500000.0f, 1e-5f, false},
    {"mistral-7b",       32, 4096, 14336, 32,  8, 32000, 32768, 10000.0f,  1e-5f, false},
    {"smollm2-135m",     30,  576,  1536,  9,  3, 49152,  8192, 100000.0f, 1e-5f, true},
    {"tinyllama-1.1b",   22, 2048,  5632, 32,  4, 32000,  2048, 10000.0f,  1e-5f, false},
    {"tiny",              2,  256,   512,  4,  2,   512,   256, 10000.0f,  1e-5f, false},
    {"tiny-tied",         2,  256,   512,  4,  2,   512,   256, 10000.0f,  1e-5f, true},
};

int model_shape_count(void) { return (int)(sizeof shapes / sizeof shapes[0]); }

const model_shape *model_shape_at(int i)
{
    return i >= 0 && i < model_shape_count() ? &shapes[i] : NULL;
}

const model_shape *model_shape_find(const char *name)
{
    for (int i = 0; name && i < model_shape_count(); i++)
        if (strcmp(shapes[i].name, name) == 0) return &shapes[i];
    return NULL;
}
