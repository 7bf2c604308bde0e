#include "cli/cache_opts.h"

#include <stdio.h>

#include "cli/common.h"

const char CLI_CACHE_HELP[] =
    "      --group G      quantizer group: channels per group per token, tokens per group per channel\n"
    "                     (default 128, 1..4096; ignored by fp16, fp32, kv-q8_0, kv-q4_0)\n"
    "      --window W     keep the most recent W tokens in fp16 (default 0)\n"
    "      --hi-layers N  store layers 0..N-1 as plain 4-bit X (kv-E: 4-bit K and V); default 3 for xq-cl*\n"
    "      --fp16-ch0     SVD modes: keep the latents' channel 0 in fp16\n"
    "      --absorb-v     X-based modes: out_h = (p^T X)·Wv_h instead of rebuilding V\n";

const char CLI_CACHE_MODES_HELP[] = "fp16, fp32, kv-q8_0, kv-q4_0, kv-{8,4,3,2}, xq-{8,4,3,2}, xq-svd-{8,4,3,2}, "
                                    "xq-cl-{4,3,2}, xq-cl-svd-{4,3,2}";

void cli_cache_opts_init(cli_cache_opts *o) { *o = (cli_cache_opts){.group = -1, .window = -1, .hi_layers = -1}; }

bool cli_cache_opt(const char *cmd, int ch, const char *arg, cli_cache_opts *o, int *rc)
{
    *rc = 0;
    switch (ch) {
    case CLI_OPT_GROUP: *rc = cli_int(cmd, "--group", arg, 1, CACHE_GROUP_MAX, &o->group); return true;
    case CLI_OPT_WINDOW: *rc = cli_int(cmd, "--window", arg, 0, 1 << 24, &o->window); return true;
    case CLI_OPT_HI_LAYERS: *rc = cli_int(cmd, "--hi-layers", arg, 0, 4096, &o->hi_layers); return true;
    case CLI_OPT_FP16_CH0: o->fp16_ch0 = true; return true;
    case CLI_OPT_ABSORB_V: o->absorb_v = true; return true;
    default: return false;
    }
}

int cli_cache_params(const char *cmd, const char *mode, const cli_cache_opts *o, cache_params *out)
{
    xq_err err = {0};
    if (cache_params_parse(mode, out, &err)) return cli_error(XQ_EINPUT, cmd, "%s", err.msg);
    if (o->group > 0) out->group = (int)o->group;
    if (o->window >= 0) out->window = (int)o->window;
    if (o->hi_layers >= 0) out->hi_layers = (int)o->hi_layers;
    out->fp16_ch0 = o->fp16_ch0;
    out->absorb_v = o->absorb_v;
    return 0;
}

int cli_cache_check(const char *cmd, const cache_params *p, const model *m)
{
    xq_err err = {0};
    return cache_params_check(p, &m->cfg, &err) ? cli_error(XQ_EINPUT, cmd, "%s", err.msg) : 0;
}

void cli_cache_report(const char *cmd, const cache *c)
{
    char name[32];
    cache_params_name(&c->params, name, sizeof name);
    double bpt = cache_bytes_per_token(c), fp16 = (double)model_kv_bytes_per_token_fp16(&c->m->cfg);
    fprintf(stderr, "%s: cache %s: %.1f bytes/token (%.2fx smaller than fp16 K+V)", cmd, name, bpt, fp16 / bpt);
    if (c->setup_seconds > 0) fprintf(stderr, ", SVD factors (LAPACKE, double) in %.3f s", c->setup_seconds);
    fputc('\n', stderr);
}
