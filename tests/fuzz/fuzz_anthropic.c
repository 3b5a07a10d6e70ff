/* Fuzz target: the Anthropic translator. The first byte picks the hook:
 *   % 4 == 0  chat_request on the rest as an OpenAI request (bit 2: stream)
 *   % 4 == 1  chat_response on the rest as a native message
 *   % 4 == 2  the rest as a native SSE stream, through the SSE parser into
 *             chat_stream_event, then chat_stream_end (bit 2: include_usage,
 *             bit 3: the upstream was cut)
 *   % 4 == 3  error on the rest, with a status from the second byte */
#include <stdint.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    static const llmp_xlate_opts_t opts = { 256, "search_document" };
    apr_pool_t *p;
    llmp_xlate_t x;
    fuzz_feed_t feed = { &llmp_anthropic_ops, &x };
    size_t total = 0;
    const char *body;
    size_t len;
    uint8_t mode;

    if (!init) { apr_initialize(); init = 1; }
    if (size < 1) return 0;
    mode = data[0];
    body = (const char *)data + 1;
    len = size - 1;
    apr_pool_create(&p, NULL);
    memset(&x, 0, sizeof(x));
    x.pool = p;
    x.model_id = "claude-3-7-sonnet-20250219";
    x.handle = "/anthropic/v1/messages";
    x.id = "chatcmpl-fuzz";
    x.created = 1700000000;
    x.opts = &opts;
    x.emit = fuzz_count_emit;
    x.emit_baton = &total;

    switch (mode % 4) {
    case 0: {
        cJSON *req = llmp_json_parse_pool(p, body, len);
        llmp_native_req_t out;
        memset(&out, 0, sizeof(out));
        x.stream = (mode & 4) != 0;
        if (req) llmp_anthropic_ops.chat_request(&x, req, &out);
        break;
    }
    case 1: {
        cJSON *native = llmp_json_parse_pool(p, body, len);
        char *out = NULL;
        apr_size_t outlen = 0;
        if (native)
            llmp_xlate_chat_response(&llmp_anthropic_ops, &x, native, &out, &outlen);
        break;
    }
    case 2: {
        llmp_sse_parser_t *sp = llmp_sse_parser_create(p, 65536,
                                                       fuzz_on_event, &feed);
        x.stream = 1;
        x.include_usage = (mode & 4) != 0;
        if (llmp_sse_feed(sp, body, len) == APR_SUCCESS)
            llmp_sse_finish(sp);
        llmp_anthropic_ops.chat_stream_end(&x, (mode & 8) == 0);
        break;
    }
    default: {
        int status = len ? 300 + (unsigned char)body[0] * 2 : 500;
        cJSON *native = len > 1 ? llmp_json_parse_pool(p, body + 1, len - 1)
                                : NULL;
        llmp_error_t *e = llmp_anthropic_ops.error(&x, status, native,
                                                   len > 1 ? body + 1 : NULL,
                                                   len > 1 ? len - 1 : 0);
        if (e) llmp_error_json(p, e);
        break;
    }
    }
    apr_pool_destroy(p);
    return 0;
}
