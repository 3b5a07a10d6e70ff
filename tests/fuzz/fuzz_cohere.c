/* Fuzz target: the Cohere translator. The first byte picks the hook:
 *   0 chat_request, 1 chat_response, 2 embeddings request + response,
 *   3 error, anything else: the bytes are a native SSE stream fed through
 *   the SSE parser into chat_stream_event, then chat_stream_end.
 * The rest of the input is the JSON (or SSE) body. */
#include <stdint.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include "fuzz_common.h"

static const llmp_xlate_opts_t opts = { 4096, "search_document" };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    apr_pool_t *p;
    llmp_xlate_t x;
    fuzz_feed_t feed = { &llmp_cohere_ops, &x };
    llmp_native_req_t nr;
    size_t total = 0;
    const char *body = (const char *)data + 1;
    size_t blen = size ? size - 1 : 0;
    cJSON *j;
    char *out;
    apr_size_t olen;

    if (!init) { apr_initialize(); init = 1; }
    if (!size) return 0;
    apr_pool_create(&p, NULL);
    memset(&x, 0, sizeof(x));
    memset(&nr, 0, sizeof(nr));
    x.pool = p;
    x.model_id = "command-r-plus";
    x.handle = "/cohere/v2/chat";
    x.id = "chatcmpl-fuzz";
    x.created = 1700000000;
    x.stream = data[0] & 0x10 ? 1 : 0;
    x.include_usage = data[0] & 0x20 ? 1 : 0;
    x.opts = &opts;
    x.emit = fuzz_count_emit;
    x.emit_baton = &total;

    switch (data[0] & 0x0f) {
    case 0:
        j = llmp_json_parse_pool(p, body, blen);
        if (j) llmp_cohere_ops.chat_request(&x, j, &nr);
        break;
    case 1:
        j = llmp_json_parse_pool(p, body, blen);
        if (j) llmp_xlate_chat_response(&llmp_cohere_ops, &x, j, &out, &olen);
        break;
    case 2:
        j = llmp_json_parse_pool(p, body, blen);
        if (j) {
            /* the same document as request, then as response */
            llmp_cohere_ops.embeddings_request(&x, j, &nr);
            llmp_cohere_ops.embeddings_response(&x, j, &out, &olen);
        }
        break;
    case 3:
        j = llmp_json_parse_pool(p, body, blen);
        llmp_cohere_ops.error(&x, 400 + (int)(blen % 200), j, body, blen);
        break;
    default: {
        llmp_sse_parser_t *sp = llmp_sse_parser_create(p, 65536,
                                                       fuzz_on_event, &feed);
        size_t step = (size_t)(data[0] % 13) + 1;
        if (fuzz_feed_steps(sp, body, blen, step) == APR_SUCCESS
            && llmp_sse_finish(sp) == APR_SUCCESS)
            llmp_cohere_ops.chat_stream_end(&x, data[0] & 0x40 ? 0 : 1);
        break;
    }
    }
    apr_pool_destroy(p);
    return 0;
}
