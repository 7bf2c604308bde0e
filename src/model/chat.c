/* ChatML prompt formatting (see chat.h). The Jinja template is not interpreted: we only recognise ChatML by
 * its markers and lift the default system message out of the literal "<|im_start|>system\n…<|im_end|>" the
 * template writes for conversations without one (SmolLM2). */
#include "model/chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IM_START "<|im_start|>"
#define IM_END "<|im_end|>"

static bool template_text(const gguf_file *f, gguf_str *out)
{
    return gguf_get_str(f, "tokenizer.chat_template", out) && out->len > 0;
}

static const char *find_in(gguf_str s, const char *from, const char *needle)
{
    const char *end = s.ptr + s.len;
    return from < end ? memmem(from, (size_t)(end - from), needle, strlen(needle)) : NULL;
}

bool chat_template_is_chatml(const gguf_file *f)
{
    gguf_str tpl;
    return template_text(f, &tpl) && find_in(tpl, tpl.ptr, IM_START) && find_in(tpl, tpl.ptr, IM_END);
}

/* Copies s[0..len) turning the Jinja escape "\n" into a newline (templates write either form). */
static char *unescape_newlines(const char *s, size_t len)
{
    char *out = malloc(len + 1);
    if (!out) return NULL;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\\' && i + 1 < len && s[i + 1] == 'n') {
            out[n++] = '\n';
            i++;
        } else
            out[n++] = s[i];
    }
    out[n] = '\0';
    return out;
}

char *chat_template_default_system(const gguf_file *f)
{
    gguf_str tpl;
    if (!template_text(f, &tpl)) return NULL;
    static const char *const heads[] = {IM_START "system\n", IM_START "system\\n"};
    for (size_t i = 0; i < sizeof heads / sizeof *heads; i++) {
        const char *head = find_in(tpl, tpl.ptr, heads[i]);
        if (!head) continue;
        const char *body = head + strlen(heads[i]);
        const char *end = find_in(tpl, body, IM_END);
        /* "<|im_start|>system\n' + message['content']" is the generic turn, not a literal default */
        if (!end || memchr(body, '\'', (size_t)(end - body)) || memchr(body, '{', (size_t)(end - body))) continue;
        return unescape_newlines(body, (size_t)(end - body));
    }
    return NULL;
}

char *chat_format_chatml(const char *system, const char *user)
{
    static const char sys_fmt[] = IM_START "system\n%s" IM_END "\n";
    static const char user_fmt[] = IM_START "user\n%s" IM_END "\n" IM_START "assistant\n";
    size_t len = (system ? strlen(system) + sizeof sys_fmt : 0) + strlen(user) + sizeof user_fmt;
    char *out = malloc(len);
    if (!out) return NULL;
    int n = system ? snprintf(out, len, sys_fmt, system) : 0;
    snprintf(out + n, len - (size_t)n, user_fmt, user);
    return out;
}

int chat_format_for_model(const gguf_file *f, const char *system, const char *user, char **out, xq_err *err)
{
    *out = NULL;
    if (!chat_template_is_chatml(f))
        return xq_fail(err, XQ_EINPUT, "chat: the model has no ChatML chat template (tokenizer.chat_template)");
    char *dflt = system ? NULL : chat_template_default_system(f);
    *out = chat_format_chatml(system ? system : dflt, user);
    free(dflt);
    return *out ? XQ_OK : xq_fail(err, XQ_ERUN, "chat: out of memory");
}
