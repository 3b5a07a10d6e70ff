/* bench/micro.c: microbenchmark of the core translators (no httpd).
 *
 * Times, per operation, what the handler does per request: parse the
 * client's ~2 KB chat request and translate it (Anthropic), parse and
 * translate a native answer, parse a 50-event SSE stream and translate each
 * event into an OpenAI chunk ("data: ...\n\n"), and look a model up in lists
 * of 10 and 10,000 entries. Providers whose translators are not written yet
 * (NULL hooks) are skipped. Prints one "MICRO name value unit" line each.
 *
 *   micro [ITERATIONS_SCALE]     (default 1.0)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "llmp_models.h"
#include "llmp_openai.h"
#include "llmp_provider.h"
#include "llmp_sse.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *slurp(apr_pool_t *p, const char *path, apr_size_t *len)
{
    FILE *f = fopen(path, "rb");
    long n;
    char *buf;

    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = apr_palloc(p, (apr_size_t)n + 1);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) { fclose(f); return NULL; }
    buf[n] = '\0';
    fclose(f);
    *len = (apr_size_t)n;
    return buf;
}

static void report(const char *name, double secs, long n, double per)
{
    printf("MICRO %-40s %9.2f us/%s  (%ld iterations)\n", name,
           secs * 1e6 / (double)n / per, per > 1 ? "event" : "op", n);
}

/* ---- stream plumbing: count and size of what the translator emits ---- */
typedef struct {
    llmp_xlate_t *x;
    const llmp_provider_ops_t *ops;
    apr_size_t out_bytes, chunks;
    int failed;
} sctx_t;

static apr_status_t emit(void *baton, const char *data, apr_size_t len)
{
    sctx_t *s = baton;
    apr_size_t n;
    char *ev = llmp_sse_data(s->x->pool, data, len, &n);

    (void)ev;
    s->out_bytes += n;
    s->chunks++;
    return APR_SUCCESS;
}

static apr_status_t on_event(void *baton, const char *event, const char *data,
                             apr_size_t len)
{
    sctx_t *s = baton;
    llmp_error_t *e = s->ops->chat_stream_event(s->x, event, data, len);

    if (e) { s->failed = 1; return APR_EGENERAL; }
    return APR_SUCCESS;
}

static apr_status_t count_event(void *baton, const char *event,
                                const char *data, apr_size_t len)
{
    (void)event; (void)data; (void)len;
    (*(long *)baton)++;
    return APR_SUCCESS;
}

static llmp_xlate_t *new_xlate(apr_pool_t *p, const llmp_xlate_opts_t *o,
                               int stream)
{
    llmp_xlate_t *x = apr_pcalloc(p, sizeof(*x));
    x->pool = p;
    x->model_id = "claude-bench";
    x->handle = "/anthropic/v1/messages";
    x->id = "chatcmpl-bench";
    x->created = 1732000000;
    x->stream = stream;
    x->opts = o;
    return x;
}

/* A 50-event Anthropic stream like the mock's. */
static char *anthropic_stream(apr_pool_t *p, int events, apr_size_t *len)
{
    char *s = apr_pstrdup(p,
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
        "{\"id\":\"msg_bench01\",\"type\":\"message\",\"role\":\"assistant\","
        "\"content\":[],\"model\":\"claude-bench\",\"stop_reason\":null,"
        "\"stop_sequence\":null,\"usage\":{\"input_tokens\":25,"
        "\"output_tokens\":1}}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\","
        "\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
    int i;

    for (i = 0; i < events; i++)
        s = apr_psprintf(p, "%sevent: content_block_delta\ndata: {\"type\":"
                         "\"content_block_delta\",\"index\":0,\"delta\":"
                         "{\"type\":\"text_delta\",\"text\":\"ts:%d tok%d \"}}"
                         "\n\n", s, 1000000 + i, i);
    s = apr_pstrcat(p, s,
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\","
        "\"index\":0}\n\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":"
        "{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":"
        "{\"output_tokens\":50}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", NULL);
    *len = strlen(s);
    return s;
}

static char *model_list(apr_pool_t *p, int n, apr_size_t *len)
{
    apr_array_header_t *parts = apr_array_make(p, n + 2, sizeof(char *));
    int i;

    APR_ARRAY_PUSH(parts, char *) = "{\"models\":[";
    for (i = 0; i < n; i++)
        APR_ARRAY_PUSH(parts, char *) = apr_psprintf(p,
            "%s{\"model_version\":\"%s%05d\",\"model_family\":\"x\","
            "\"handle\":\"%s\"}", i ? "," : "", i == n - 1 ? "gpt-bench-" :
            "filler-model-", i, (i % 2) ? "/anthropic/v1/messages"
                                        : "/openai/v1/chat/completions");
    APR_ARRAY_PUSH(parts, char *) = "]}";
    {
        char *s = apr_array_pstrcat(p, parts, 0);
        *len = strlen(s);
        return s;
    }
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
    apr_pool_t *root, *it;
    llmp_xlate_opts_t opts = {4096, "search_document"};
    const llmp_provider_ops_t *ops = llmp_provider_ops(LLMP_PROV_ANTHROPIC);
    apr_size_t reqlen = 0, resplen = 0, slen;
    char *reqbody, *respbody, *stream;
    long i, n;
    double t0;

    if (scale <= 0) scale = 1.0;
    apr_initialize();
    apr_pool_create(&root, NULL);
    apr_pool_create(&it, root);

    reqbody = slurp(root, "bench/wrk/body-anthropic.json", &reqlen);
    respbody = slurp(root, "tests/fixtures/anthropic/messages_response.json",
                     &resplen);
    if (!reqbody || !respbody) {
        fprintf(stderr, "micro: run from the repository root (bench/wrk/"
                "body-anthropic.json, tests/fixtures/anthropic/)\n");
        return 1;
    }
    printf("MICRO request body %lu bytes; stream of 50 text deltas\n",
           (unsigned long)reqlen);

    /* baseline: parse the request JSON only (what pass-through costs) */
    n = (long)(20000 * scale);
    t0 = now_s();
    for (i = 0; i < n; i++) {
        cJSON *j = llmp_json_parse_pool(it, reqbody, reqlen);
        if (!j) { fprintf(stderr, "parse failed\n"); return 1; }
        apr_pool_clear(it);
    }
    report("json parse 2KB request (pass-through)", now_s() - t0, n, 1);

    if (ops && ops->chat_request) {
        t0 = now_s();
        for (i = 0; i < n; i++) {
            llmp_native_req_t out;
            llmp_xlate_t *x = new_xlate(it, &opts, 0);
            cJSON *j = llmp_json_parse_pool(it, reqbody, reqlen);
            memset(&out, 0, sizeof(out));
            if (ops->chat_request(x, j, &out)) {
                fprintf(stderr, "anthropic chat_request failed\n");
                return 1;
            }
            apr_pool_clear(it);
        }
        report("anthropic request: parse+translate", now_s() - t0, n, 1);
    }
    else printf("MICRO anthropic chat_request not written yet: skipped\n");

    if (ops && ops->chat_response) {
        t0 = now_s();
        for (i = 0; i < n; i++) {
            llmp_xlate_t *x = new_xlate(it, &opts, 0);
            cJSON *j = llmp_json_parse_pool(it, respbody, resplen);
            char *out;
            apr_size_t outlen;
            if (llmp_xlate_chat_response(ops, x, j, &out, &outlen)) {
                fprintf(stderr, "anthropic chat_response failed\n");
                return 1;
            }
            apr_pool_clear(it);
        }
        report("anthropic response: parse+translate", now_s() - t0, n, 1);
    }
    else printf("MICRO anthropic chat_response not written yet: skipped\n");

    /* SSE parsing alone, fed in 512-byte pieces */
    stream = anthropic_stream(root, 50, &slen);
    n = (long)(4000 * scale);
    t0 = now_s();
    for (i = 0; i < n; i++) {
        long count = 0;
        apr_size_t off;
        llmp_sse_parser_t *sp = llmp_sse_parser_create(it, 1 << 20,
                                                       count_event, &count);
        for (off = 0; off < slen; off += 512)
            llmp_sse_feed(sp, stream + off, slen - off < 512 ? slen - off : 512);
        llmp_sse_finish(sp);
        if (count != 55) { fprintf(stderr, "sse: %ld events\n", count); return 1; }
        apr_pool_clear(it);
    }
    report("sse parse (per event, 55/stream)", now_s() - t0, n, 55);

    /* OpenAI chunk building + printing + SSE framing */
    n = (long)(200000 * scale);
    t0 = now_s();
    for (i = 0; i < n; i++) {
        cJSON *c = llmp_chunk_new("chatcmpl-bench", 1732000000, "claude-bench");
        cJSON *d = llmp_chunk_add_choice(c, 0, NULL);
        apr_size_t len, n2;
        char *s;
        cJSON_AddStringToObject(d, "content", "ts:1234567 tok12 ");
        s = llmp_json_print(it, c, &len);
        llmp_sse_data(it, s, len, &n2);
        cJSON_Delete(c);
        if ((i & 255) == 255) apr_pool_clear(it);
    }
    apr_pool_clear(it);
    report("openai chunk build+print+frame", now_s() - t0, n, 1);

    if (ops && ops->chat_stream_event && ops->chat_stream_end) {
        n = (long)(4000 * scale);
        t0 = now_s();
        for (i = 0; i < n; i++) {
            sctx_t s;
            apr_size_t off;
            llmp_sse_parser_t *sp;
            memset(&s, 0, sizeof(s));
            s.ops = ops;
            s.x = new_xlate(it, &opts, 1);
            s.x->emit = emit;
            s.x->emit_baton = &s;
            sp = llmp_sse_parser_create(it, 1 << 20, on_event, &s);
            for (off = 0; off < slen; off += 512)
                llmp_sse_feed(sp, stream + off,
                              slen - off < 512 ? slen - off : 512);
            llmp_sse_finish(sp);
            if (s.failed || ops->chat_stream_end(s.x, 1)) {
                fprintf(stderr, "anthropic stream translation failed\n");
                return 1;
            }
            apr_pool_clear(it);
        }
        report("anthropic stream: parse+translate", now_s() - t0, n, 55);
    }
    else printf("MICRO anthropic stream translator not written yet: skipped\n");

    /* model lookup: 10 vs 10,000 entries */
    {
        int sizes[2] = {10, 10000}, k;
        for (k = 0; k < 2; k++) {
            apr_pool_t *mp;
            apr_size_t llen;
            const char *err = NULL;
            char *list, name[64];
            llmp_models_t *m;
            apr_pool_create(&mp, root);
            list = model_list(mp, sizes[k], &llen);
            t0 = now_s();
            m = llmp_models_parse(mp, list, llen, 1732000000, NULL, &err);
            if (!m) { fprintf(stderr, "models: %s\n", err); return 1; }
            printf("MICRO %-40s %9.2f ms  (%d models, %lu bytes)\n",
                   "model list parse+index", (now_s() - t0) * 1e3, sizes[k],
                   (unsigned long)llen);
            snprintf(name, sizeof(name), "gpt-bench-%05d", sizes[k] - 1);
            n = (long)(2000000 * scale);
            t0 = now_s();
            for (i = 0; i < n; i++)
                if (!llmp_models_find(m, name)) {
                    fprintf(stderr, "lookup failed\n");
                    return 1;
                }
            printf("MICRO %-40s %9.3f us/op  (%d models)\n", "model lookup",
                   (now_s() - t0) * 1e6 / (double)n, sizes[k]);
            apr_pool_destroy(mp);
        }
    }
    apr_pool_destroy(root);
    apr_terminate();
    return 0;
}
