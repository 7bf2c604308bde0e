/* Chat prompts in the ChatML format used by SmolLM2-Instruct (and Qwen, Hermes …):
 *   <|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n
 * SmolLM2's tokenizer.chat_template adds a default system message when the conversation has none; that text
 * is read from the template itself, so other ChatML models get theirs (or none). */
#ifndef XQ_MODEL_CHAT_H
#define XQ_MODEL_CHAT_H

#include <stdbool.h>

#include "base/status.h"
#include "model/gguf.h"

/* SmolLM2-Instruct's default system message, as its chat template writes it. */
#define CHAT_SMOLLM2_DEFAULT_SYSTEM "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

/* True when the model's tokenizer.chat_template is ChatML (uses <|im_start|> and <|im_end|>). */
bool chat_template_is_chatml(const gguf_file *f);

/* The system message the template inserts when the conversation has none (malloc'd), or NULL if it inserts
 * none or there is no template. */
char *chat_template_default_system(const gguf_file *f);

/* The ChatML prompt for one user turn, ending with "<|im_start|>assistant\n" (malloc'd; NULL if out of memory).
 * system NULL: no system turn. Neither text is escaped: special-token text inside them stays as typed. */
char *chat_format_chatml(const char *system, const char *user);

/* The prompt the model's own template would produce for one user turn: system when given, else the template's
 * default system message. XQ_EINPUT when the model has no ChatML template; *out is malloc'd. */
int chat_format_for_model(const gguf_file *f, const char *system, const char *user, char **out, xq_err *err);

#endif
