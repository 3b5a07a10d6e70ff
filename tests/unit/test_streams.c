/* Every provider's native streams, split at every byte boundary, must give
 * exactly the OpenAI chunks (and the same end) as when fed whole. */
#include "llmp_test.h"
#include "llmp_provider.h"
#include "llmp_sse.h"

typedef struct {
    apr_pool_t *pool;
    char *out;                 /* every emitted chunk, one per line */
} capture_t;

static apr_status_t capture(void *baton, const char *data, apr_size_t len)
{
    capture_t *c = baton;
    c->out = apr_pstrcat(c->pool, c->out,
                         apr_pstrmemdup(c->pool, data, len), "\n", NULL);
    return APR_SUCCESS;
}

typedef struct {
    const llmp_provider_ops_t *ops;
    llmp_xlate_t *x;
    llmp_error_t *err;
} feed_t;

static apr_status_t on_event(void *baton, const char *event,
                             const char *data, apr_size_t len)
{
    feed_t *f = baton;
    if (f->err) return APR_EGENERAL;
    f->err = f->ops->chat_stream_event(f->x, event, data, len);
    return f->err ? APR_EGENERAL : APR_SUCCESS;
}

/* Translate buf fed in two pieces split at k; returns the chunks and the
 * end ("[DONE]" or the error message) as one string. */
static const char *run(apr_pool_t *p, const llmp_provider_ops_t *ops,
                       const char *handle, const char *buf, apr_size_t len,
                       apr_size_t k)
{
    static const llmp_xlate_opts_t opts = { 4096, "search_document" };
    llmp_xlate_t x;
    capture_t c = { p, "" };
    feed_t f;
    llmp_sse_parser_t *sp;

    memset(&x, 0, sizeof(x));
    x.pool = p;
    x.model_id = "model-x";
    x.handle = handle;
    x.id = "chatcmpl-fixed";
    x.created = 1700000000;
    x.stream = 1;
    x.include_usage = 1;
    x.opts = &opts;
    x.emit = capture;
    x.emit_baton = &c;
    f.ops = ops;
    f.x = &x;
    f.err = NULL;
    sp = llmp_sse_parser_create(p, 1 << 20, on_event, &f);
    if (llmp_sse_feed(sp, buf, k) == APR_SUCCESS
        && llmp_sse_feed(sp, buf + k, len - k) == APR_SUCCESS)
        llmp_sse_finish(sp);
    if (!f.err) f.err = ops->chat_stream_end(&x, 1);
    return apr_pstrcat(p, c.out, f.err ? f.err->message : "[DONE]", NULL);
}

static void every_split(apr_pool_t *p, const llmp_provider_ops_t *ops,
                        const char *handle, const char *fixture)
{
    apr_size_t len, k;
    const char *buf = llmp_fixture(p, fixture, &len);
    const char *whole = run(p, ops, handle, buf, len, len);
    int same = 1;

    CHECK(strlen(whole) > 20);
    for (k = 0; k <= len; k++) {
        apr_pool_t *sub;
        apr_pool_create(&sub, p);
        if (strcmp(run(sub, ops, handle, buf, len, k), whole)) {
            fprintf(stderr, "%s: split at %" APR_SIZE_T_FMT " differs\n",
                    fixture, k);
            same = 0;
            apr_pool_destroy(sub);
            break;
        }
        apr_pool_destroy(sub);
    }
    CHECK(same);
}

static void t_anthropic(apr_pool_t *p)
{
    const char *h = "/anthropic/v1/messages";
    every_split(p, &llmp_anthropic_ops, h, "anthropic/stream_text.sse");
    every_split(p, &llmp_anthropic_ops, h, "anthropic/stream_tools.sse");
    every_split(p, &llmp_anthropic_ops, h, "anthropic/stream_error.sse");
    every_split(p, &llmp_anthropic_ops, h, "anthropic/stream_truncated.sse");
}

static void t_gemini(apr_pool_t *p)
{
    const char *h = "/google/v1beta/models/model-x:generateContent";
    every_split(p, &llmp_gemini_ops, h, "gemini/stream_text.sse");
    every_split(p, &llmp_gemini_ops, h, "gemini/stream_tool.sse");
    every_split(p, &llmp_gemini_ops, h, "gemini/stream_blocked.sse");
    every_split(p, &llmp_gemini_ops, h, "gemini/stream_error.sse");
    every_split(p, &llmp_gemini_ops, h, "gemini/stream_truncated.sse");
}

static void t_cohere(apr_pool_t *p)
{
    const char *h = "/cohere/v2/chat";
    every_split(p, &llmp_cohere_ops, h, "cohere/chat_stream.sse");
    every_split(p, &llmp_cohere_ops, h, "cohere/chat_stream_tools.sse");
    every_split(p, &llmp_cohere_ops, h, "cohere/chat_stream_nolines.sse");
    every_split(p, &llmp_cohere_ops, h, "cohere/chat_stream_error.sse");
    every_split(p, &llmp_cohere_ops, h, "cohere/chat_stream_truncated.sse");
}

TEST_MAIN_BEGIN("streams")
    RUN(t_anthropic);
    RUN(t_gemini);
    RUN(t_cohere);
TEST_MAIN_END
