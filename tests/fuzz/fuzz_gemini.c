/* Fuzz target: the Gemini translator. Every input is used four ways: as an
 * OpenAI request (chat, streaming chat, embeddings), as a native answer
 * (chat, embeddings, error), as a native SSE stream through the real SSE
 * parser, and line by line as stream event data. */
#include <stdint.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include "fuzz_common.h"

static const llmp_xlate_opts_t opts = { 4096, "search_document" };

static llmp_xlate_t *mkx(apr_pool_t *p, int stream, size_t *total)
{
    llmp_xlate_t *x = apr_pcalloc(p, sizeof(*x));
    x->pool = p;
    x->model_id = "gemini-2.0-flash";
    x->handle = stream & 2 ? "/google/v1beta/models"
                : "/google/v1beta/models/gemini-2.0-flash:generateContent";
    x->id = "chatcmpl-fuzz";
    x->created = 1;
    x->stream = stream & 1;
    x->include_usage = 1;
    x->opts = &opts;
    x->emit = fuzz_count_emit;
    x->emit_baton = total;
    return x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    apr_pool_t *p;
    size_t total = 0;
    cJSON *j;
    llmp_native_req_t out;
    llmp_xlate_t *x;
    char *body;
    apr_size_t len;
    const char *s = (const char *)data;

    if (!init) { apr_initialize(); init = 1; }
    apr_pool_create(&p, NULL);

    j = llmp_json_parse_pool(p, s, size);
    if (j) {
        int st;
        for (st = 0; st < 4; st++) {
            memset(&out, 0, sizeof(out));
            llmp_gemini_ops.chat_request(mkx(p, st, &total), j, &out);
        }
        memset(&out, 0, sizeof(out));
        x = mkx(p, 0, &total);
        llmp_gemini_ops.embeddings_request(x, j, &out);
        llmp_gemini_ops.embeddings_response(x, j, &body, &len);
        llmp_gemini_ops.embeddings_response(mkx(p, 0, &total), j, &body,
                                            &len);
        llmp_xlate_chat_response(&llmp_gemini_ops, mkx(p, 0, &total), j, &body, &len);
        llmp_gemini_ops.error(mkx(p, 0, &total), 400, j, s, size);
    }
    llmp_gemini_ops.error(mkx(p, 0, &total), 200 + (size % 400), NULL, s,
                          size);

    {
        /* as an SSE stream */
        fuzz_feed_t f;
        llmp_sse_parser_t *sp;
        f.ops = &llmp_gemini_ops;
        f.x = mkx(p, 1, &total);
        sp = llmp_sse_parser_create(p, 65536, fuzz_on_event, &f);
        if (llmp_sse_feed(sp, s, size) == APR_SUCCESS)
            llmp_sse_finish(sp);
        llmp_gemini_ops.chat_stream_end(f.x, size & 1);
    }
    {
        /* each line as the data of one event */
        size_t off = 0;
        x = mkx(p, 1, &total);
        while (off < size) {
            const char *nl = memchr(s + off, '\n', size - off);
            size_t n = nl ? (size_t)(nl - (s + off)) : size - off;
            if (llmp_gemini_ops.chat_stream_event(x, "", s + off, n))
                break;
            off += n + 1;
        }
        llmp_gemini_ops.chat_stream_end(x, 1);
    }
    apr_pool_destroy(p);
    return 0;
}
