/* Fuzz target: the Responses API front (src/llmp_responses.c). The first
 * byte picks the hook:
 *   % 4 == 0  request on the rest as a Responses request (bit 2: the
 *             front is a stream's), then response on a fixed answer
 *   % 4 == 1  request on a fixed request (function, custom, tool_search
 *             and namespace tools), then response on the rest as an IR
 *             chat.completion,
 *             then llmp_responses_record
 *   % 4 == 2  the same fixed request, then the rest as IR chunks (one
 *             JSON object a line) into stream_chunk, then stream_end (bit
 *             2: with an error), then llmp_responses_record
 *   % 4 == 3  the rest as {"req":<request>,"history":[items]}:
 *             llmp_responses_expand, request, response on a fixed answer,
 *             llmp_responses_record */
#include <stdint.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include "llmp_front.h"
#include "llmp_responses.h"

static const char fixed_req[] =
    "{\"model\":\"m\",\"input\":\"hi\",\"stream\":true,\"tools\":["
    "{\"type\":\"function\",\"name\":\"get_weather\",\"parameters\":"
    "{\"type\":\"object\",\"properties\":{}}},"
    "{\"type\":\"custom\",\"name\":\"apply_patch\"},"
    "{\"type\":\"tool_search\",\"execution\":\"client\"},"
    "{\"type\":\"namespace\",\"name\":\"ns\",\"description\":\"d\","
    "\"tools\":[{\"type\":\"function\",\"name\":\"f\"},"
    "{\"type\":\"custom\",\"name\":\"c\"}]}]}";

static const char fixed_answer[] =
    "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
    "\"content\":\"ok\",\"reasoning_content\":\"r\",\"tool_calls\":[{\"id\":"
    "\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"apply_patch\","
    "\"arguments\":\"{\\\"input\\\":\\\"x\\\"}\"}}]},\"finish_reason\":"
    "\"tool_calls\"}],\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":"
    "2,\"total_tokens\":3}}";

static apr_status_t count_emit(void *baton, const char *event,
                               const char *data, apr_size_t len)
{
    size_t *total = baton;
    (void)event;
    (void)data;
    *total += len;
    return APR_SUCCESS;
}

static void answer(apr_pool_t *p, llmp_front_t *f, const char *text,
                   size_t len)
{
    cJSON *c = llmp_json_parse_pool(p, text, len);
    char *out;
    apr_size_t olen;

    if (c) f->ops->response(f, c, &out, &olen);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    apr_pool_t *p;
    llmp_front_t *f;
    size_t total = 0;
    const char *body;
    size_t len;
    uint8_t mode;
    cJSON *req, *ir = NULL;
    apr_size_t rlen;

    if (!init) { apr_initialize(); init = 1; }
    if (size < 1) return 0;
    mode = data[0];
    body = (const char *)data + 1;
    len = size - 1;
    apr_pool_create(&p, NULL);

    switch (mode % 4) {
    case 0:
        req = llmp_json_parse_pool(p, body, len);
        f = llmp_front_create(p, &llmp_front_responses, "model-x",
                              1700000000, (mode & 4) != 0, req);
        if (req && !f->ops->request(f, req, &ir)) {
            llmp_ir_strip(ir);
            answer(p, f, fixed_answer, sizeof(fixed_answer) - 1);
            llmp_responses_record(f, &rlen);
        }
        break;
    case 1:
    case 2:
        req = llmp_json_parse_pool(p, fixed_req, sizeof(fixed_req) - 1);
        f = llmp_front_create(p, &llmp_front_responses, "model-x",
                              1700000000, mode % 4 == 2, req);
        f->emit = count_emit;
        f->emit_baton = &total;
        if (f->ops->request(f, req, &ir)) break;
        if (mode % 4 == 1) {
            answer(p, f, body, len);
        }
        else {
            size_t off = 0;
            while (off < len) {
                const char *nl = memchr(body + off, '\n', len - off);
                size_t n = nl ? (size_t)(nl - (body + off)) : len - off;
                cJSON *chunk = llmp_json_parse_pool(p, body + off, n);
                if (chunk && f->ops->stream_chunk(f, chunk)) break;
                off += n + 1;
            }
            f->ops->stream_end(f, (mode & 4)
                               ? llmp_error_make(p, 502, NULL, "x", NULL,
                                                 "cut")
                               : NULL);
        }
        llmp_responses_record(f, &rlen);
        break;
    default: {
        cJSON *in = llmp_json_parse_pool(p, body, len), *exp = NULL;
        if (!in) break;
        if (llmp_responses_expand(p, llmp_json_get(in, "req"),
                                  llmp_json_get(in, "history"), &exp))
            break;
        f = llmp_front_create(p, &llmp_front_responses, "model-x",
                              1700000000, 0, exp);
        if (!f->ops->request(f, exp, &ir)) {
            answer(p, f, fixed_answer, sizeof(fixed_answer) - 1);
            llmp_responses_record(f, &rlen);
        }
        break;
    }
    }
    apr_pool_destroy(p);
    return 0;
}
