/* Fuzz target: the Anthropic Messages front (llmp_front_messages). The
 * first byte picks the hook:
 *   % 4 == 0  request on the rest as a Messages request (the IR printed),
 *             and llmp_messages_count_tokens on it
 *   % 4 == 1  response on the rest as an IR chat.completion
 *   % 4 == 2  the rest as IR chunks, one JSON object a line, into
 *             stream_chunk (a ping after each odd-length line), then
 *             stream_end (bit 2: with an error; bit 3:
 *             the emit fails after a few events)
 *   % 4 == 3  error_json for a status from the second byte */
#include <stdint.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include "llmp_messages.h"

typedef struct {
    size_t total;
    int events;
    int fail_after;            /* -1: never */
} fuzz_sink_t;

static apr_status_t fuzz_emit(void *baton, const char *event,
                              const char *data, apr_size_t len)
{
    fuzz_sink_t *s = baton;

    if (s->fail_after >= 0 && s->events >= s->fail_after)
        return APR_EGENERAL;
    s->events++;
    s->total += len + (event ? strlen(event) : 0);
    return APR_SUCCESS;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    apr_pool_t *p;
    llmp_front_t *f;
    fuzz_sink_t sink = { 0, 0, -1 };
    const char *body;
    size_t len;
    uint8_t mode;

    if (!init) { apr_initialize(); init = 1; }
    if (size < 1) return 0;
    mode = data[0];
    body = (const char *)data + 1;
    len = size - 1;
    apr_pool_create(&p, NULL);
    f = llmp_front_create(p, &llmp_front_messages, "fuzz-model", 1700000000,
                          (mode % 4) == 2, NULL);
    f->emit = fuzz_emit;
    f->emit_baton = &sink;

    switch (mode % 4) {
    case 0: {
        cJSON *req = llmp_json_parse_pool(p, body, len), *ir = NULL;
        long tokens;
        if (req) {
            f->req = req;
            if (!llmp_front_messages.request(f, req, &ir) && ir)
                llmp_json_print(p, ir, NULL);
            llmp_messages_count_tokens(p, req, &tokens);
        }
        break;
    }
    case 1: {
        cJSON *ir = llmp_json_parse_pool(p, body, len);
        char *out = NULL;
        apr_size_t outlen = 0;
        if (ir) llmp_front_messages.response(f, ir, &out, &outlen);
        break;
    }
    case 2: {
        size_t off = 0;
        llmp_error_t *err = NULL;
        if (mode & 8) sink.fail_after = 3;
        while (off < len && !err) {
            const char *nl = memchr(body + off, '\n', len - off);
            size_t n = nl ? (size_t)(nl - (body + off)) : len - off;
            cJSON *chunk = n ? cJSON_ParseWithLength(body + off, n) : NULL;
            if (chunk) {
                err = llmp_front_messages.stream_chunk(f, chunk);
                cJSON_Delete(chunk);
                if (!err && (n & 1)) err = llmp_messages_ping(f);
            }
            off += n + 1;
        }
        if (!err && (mode & 4))
            err = llmp_error_make(p, 502, "api_error", NULL, NULL, "cut");
        llmp_front_messages.stream_end(f, err);
        llmp_front_messages.stream_end(f, NULL);
        break;
    }
    default: {
        int status = len ? 300 + (unsigned char)body[0] * 2 : 500;
        llmp_error_t *e = llmp_error_make(p, status, len > 1 ? "x" : NULL,
                                          NULL, NULL, "%.*s",
                                          (int)(len > 1 ? len - 1 : 0),
                                          len > 1 ? body + 1 : "");
        llmp_front_messages.error_json(p, e);
        llmp_messages_error_status(e);
        break;
    }
    }
    apr_pool_destroy(p);
    return 0;
}
