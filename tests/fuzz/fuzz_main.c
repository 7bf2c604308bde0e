/* libFuzzer entry point. The target is chosen at build time, so every fuzz target reuses this file:
 * -DXQ_FUZZ_TARGET=xq_fuzz_tok builds the tokenizer fuzzer (scripts/fuzz passes it). */
#include <stddef.h>
#include <stdint.h>

#ifndef XQ_FUZZ_TARGET
#define XQ_FUZZ_TARGET xq_fuzz_gguf
#endif

int XQ_FUZZ_TARGET(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    XQ_FUZZ_TARGET(data, size);
    return 0;
}
