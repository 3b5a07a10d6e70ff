/* Unit tests: the Cohere v2 translator (chat, stream, tools, embeddings,
 * errors), driven by the native fixtures in tests/fixtures/cohere/. */
#include "llmp_test.h"
#include "llmp_provider.h"
#include "llmp_sse.h"
#include "llmp_openai.h"
#include <time.h>

static const llmp_xlate_opts_t opts = { 4096, "search_document" };

/* Emitted chunks, kept as parsed JSON in an array. */
typedef struct {
    apr_pool_t *pool;
    apr_array_header_t *chunks;   /* cJSON * (pool-owned) */
} sink_t;

static apr_status_t sink_emit(void *baton, const char *data, apr_size_t len)
{
    sink_t *s = baton;
    cJSON *j = llmp_json_parse_pool(s->pool, data, len);
    if (!j) return APR_EGENERAL;
    APR_ARRAY_PUSH(s->chunks, cJSON *) = j;
    return APR_SUCCESS;
}

static llmp_xlate_t *new_x(apr_pool_t *p, int stream, sink_t *s)
{
    llmp_xlate_t *x = apr_pcalloc(p, sizeof(*x));

    x->pool = p;
    x->model_id = "command-r-plus";
    x->handle = "/cohere/v2/chat";
    x->id = "chatcmpl-test1";
    x->created = 1700000000;
    x->stream = stream;
    x->opts = &opts;
    if (s) {
        s->pool = p;
        s->chunks = apr_array_make(p, 8, sizeof(cJSON *));
        x->emit = sink_emit;
        x->emit_baton = s;
    }
    return x;
}

static cJSON *parse(apr_pool_t *p, const char *s)
{
    cJSON *j = llmp_json_parse_pool(p, s, strlen(s));
    if (!j) fprintf(stderr, "bad JSON in test: %s\n", s);
    return j;
}

static const llmp_provider_ops_t *ops(void)
{
    return llmp_provider_ops(LLMP_PROV_COHERE);
}

/* Translate an OpenAI request; returns the native body as JSON. */
static cJSON *xreq(apr_pool_t *p, llmp_xlate_t *x, const char *req,
                   llmp_error_t **err, llmp_native_req_t *nr)
{
    llmp_native_req_t local;
    if (!nr) nr = &local;
    memset(nr, 0, sizeof(*nr));
    *err = ops()->chat_request(x, parse(p, req), nr);
    if (*err) return NULL;
    return llmp_json_parse_pool(p, nr->body, nr->len);
}

static void t_request_basic(apr_pool_t *p)
{
    llmp_xlate_t *x = new_x(p, 0, NULL);
    llmp_native_req_t nr;
    llmp_error_t *err;
    cJSON *n = xreq(p, x,
        "{\"model\":\"command-r-plus\",\"messages\":["
        "{\"role\":\"developer\",\"content\":\"be brief\"},"
        "{\"role\":\"system\",\"content\":[{\"type\":\"text\",\"text\":\"s2\"}]},"
        "{\"role\":\"user\",\"content\":\"hi\"}],"
        "\"max_completion_tokens\":100,\"temperature\":0.5,\"top_p\":1,"
        "\"stop\":\"END\",\"seed\":42,\"frequency_penalty\":0.1,"
        "\"presence_penalty\":0.2,\"user\":\"u1\",\"logprobs\":false,"
        "\"logit_bias\":{},\"parallel_tool_calls\":true,\"store\":false,"
        "\"n\":1,\"stream_options\":{\"include_usage\":true}}", &err, &nr);

    CHECK(err == NULL);
    CHECK(n != NULL);
    if (!n) return;
    CHECK_STR(nr.path, "/cohere/v2/chat");
    CHECK_INT(nr.stream, 0);
    CHECK_STR(at_str(n, "model"), "command-r-plus");
    CHECK_STR(at_str(n, "messages.0.role"), "system");
    CHECK_STR(at_str(n, "messages.0.content"), "be brief");
    CHECK_STR(at_str(n, "messages.1.content.0.type"), "text");
    CHECK_STR(at_str(n, "messages.1.content.0.text"), "s2");
    CHECK_STR(at_str(n, "messages.2.role"), "user");
    CHECK_STR(at_str(n, "messages.2.content"), "hi");
    CHECK_INT(at_num(n, "max_tokens"), 100);
    CHECK(at_num(n, "temperature") == 0.5);
    CHECK(at_num(n, "p") == 0.99);
    CHECK_STR(at_str(n, "stop_sequences.0"), "END");
    CHECK_INT(at_num(n, "seed"), 42);
    CHECK(at_num(n, "frequency_penalty") == 0.1);
    CHECK(at_num(n, "presence_penalty") == 0.2);
    CHECK(at(n, "user") == NULL);
    CHECK(at(n, "logprobs") == NULL);
    CHECK(at(n, "logit_bias") == NULL);
    CHECK(at(n, "parallel_tool_calls") == NULL);
    CHECK(at(n, "store") == NULL);
    CHECK(at(n, "n") == NULL);
    CHECK(at(n, "stream_options") == NULL);
    CHECK(at(n, "stream") == NULL);
    CHECK(at(n, "top_p") == NULL);
    CHECK(at(n, "stop") == NULL);
    CHECK(at(n, "tools") == NULL);
    CHECK(at(n, "max_completion_tokens") == NULL);
}

static void t_request_stream_and_images(apr_pool_t *p)
{
    llmp_xlate_t *x = new_x(p, 1, NULL);
    llmp_native_req_t nr;
    llmp_error_t *err;
    cJSON *n = xreq(p, x,
        "{\"model\":\"m\",\"stream\":true,\"max_tokens\":7,"
        "\"messages\":[{\"role\":\"user\",\"content\":["
        "{\"type\":\"text\",\"text\":\"what is this\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":"
        "\"data:image/png;base64,iVBORw0KGgo=\",\"detail\":\"low\"}}]}],"
        "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
        "{\"name\":\"x\",\"schema\":{\"type\":\"object\"}}}}", &err, &nr);

    CHECK(err == NULL);
    if (!n) { CHECK(n != NULL); return; }
    CHECK_INT(nr.stream, 1);
    CHECK(cJSON_IsTrue(at(n, "stream")));
    CHECK_INT(at_num(n, "max_tokens"), 7);
    CHECK_STR(at_str(n, "messages.0.content.0.type"), "text");
    CHECK_STR(at_str(n, "messages.0.content.1.type"), "image_url");
    CHECK_STR(at_str(n, "messages.0.content.1.image_url.url"),
              "data:image/png;base64,iVBORw0KGgo=");
    CHECK_STR(at_str(n, "messages.0.content.1.image_url.detail"), "low");
    CHECK_STR(at_str(n, "response_format.type"), "json_object");
    CHECK_STR(at_str(n, "response_format.json_schema.type"), "object");

    /* json_object without schema */
    n = xreq(p, new_x(p, 0, NULL), "{\"messages\":[{\"role\":\"user\","
             "\"content\":\"j\"}],\"response_format\":{\"type\":"
             "\"json_object\"}}", &err, NULL);
    CHECK(err == NULL);
    CHECK_STR(at_str(n, "response_format.type"), "json_object");
    CHECK(at(n, "response_format.json_schema") == NULL);
}

static void t_request_tools(apr_pool_t *p)
{
    llmp_error_t *err;
    const char *tools =
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
        "\"description\":\"Weather\",\"strict\":true,\"parameters\":{\"type\":"
        "\"object\",\"properties\":{\"location\":{\"type\":\"string\"}}}}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"now\"}}]";
    const char *msgs =
        "\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"},"
        "{\"role\":\"assistant\",\"content\":\"Let me check.\",\"tool_calls\":"
        "[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":"
        "\"get_weather\",\"arguments\":\"{\\\"location\\\":\\\"Paris\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"20C\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
        "[{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":"
        "\"now\",\"arguments\":\"{}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":"
        "[{\"type\":\"text\",\"text\":\"noon\"}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"ok\"}]}]";
    cJSON *n;

    n = xreq(p, new_x(p, 0, NULL), apr_psprintf(p, "{%s,%s,\"tool_choice\":"
             "\"auto\"}", msgs, tools), &err, NULL);
    CHECK(err == NULL);
    if (!n) { CHECK(n != NULL); return; }
    CHECK_STR(at_str(n, "tools.0.type"), "function");
    CHECK_STR(at_str(n, "tools.0.function.name"), "get_weather");
    CHECK_STR(at_str(n, "tools.0.function.description"), "Weather");
    CHECK_STR(at_str(n, "tools.0.function.parameters.type"), "object");
    CHECK(at(n, "tools.0.function.strict") == NULL);
    CHECK_STR(at_str(n, "tools.1.function.name"), "now");
    CHECK_STR(at_str(n, "tools.1.function.parameters.type"), "object");
    CHECK(cJSON_IsTrue(at(n, "strict_tools")));
    CHECK(at(n, "tool_choice") == NULL);
    CHECK_STR(at_str(n, "messages.1.role"), "assistant");
    CHECK_STR(at_str(n, "messages.1.tool_plan"), "Let me check.");
    CHECK(at(n, "messages.1.content") == NULL);
    CHECK_STR(at_str(n, "messages.1.tool_calls.0.id"), "call_1");
    CHECK_STR(at_str(n, "messages.1.tool_calls.0.type"), "function");
    CHECK_STR(at_str(n, "messages.1.tool_calls.0.function.name"),
              "get_weather");
    CHECK_STR(at_str(n, "messages.1.tool_calls.0.function.arguments"),
              "{\"location\":\"Paris\"}");
    CHECK_STR(at_str(n, "messages.2.role"), "tool");
    CHECK_STR(at_str(n, "messages.2.tool_call_id"), "call_1");
    CHECK_STR(at_str(n, "messages.2.content"), "20C");
    CHECK(at(n, "messages.3.tool_plan") == NULL);
    CHECK(at(n, "messages.3.content") == NULL);
    CHECK_STR(at_str(n, "messages.3.tool_calls.0.id"), "call_2");
    CHECK_STR(at_str(n, "messages.4.content.0.text"), "noon");
    CHECK_STR(at_str(n, "messages.5.content"), "ok");

    n = xreq(p, new_x(p, 0, NULL), apr_psprintf(p, "{%s,%s,\"tool_choice\":"
             "\"required\"}", msgs, tools), &err, NULL);
    CHECK(err == NULL);
    CHECK_STR(at_str(n, "tool_choice"), "REQUIRED");
    n = xreq(p, new_x(p, 0, NULL), apr_psprintf(p, "{%s,%s,\"tool_choice\":"
             "\"none\"}", msgs, tools), &err, NULL);
    CHECK(err == NULL);
    CHECK_STR(at_str(n, "tool_choice"), "NONE");
    n = xreq(p, new_x(p, 0, NULL), apr_psprintf(p, "{%s,%s,\"tool_choice\":"
             "{\"type\":\"function\",\"function\":{\"name\":\"now\"}}}", msgs,
             tools), &err, NULL);
    CHECK(err == NULL);
    CHECK_STR(at_str(n, "tool_choice"), "REQUIRED");
    CHECK_INT(cJSON_GetArraySize(at(n, "tools")), 1);
    CHECK_STR(at_str(n, "tools.0.function.name"), "now");
    CHECK(at(n, "strict_tools") == NULL);

    n = xreq(p, new_x(p, 0, NULL), apr_psprintf(p, "{%s,%s,\"tool_choice\":"
             "{\"type\":\"function\",\"function\":{\"name\":\"nope\"}}}", msgs,
             tools), &err, NULL);
    CHECK(err && err->status == 400);
    n = xreq(p, new_x(p, 0, NULL), apr_psprintf(p, "{%s,\"tool_choice\":"
             "\"required\"}", msgs), &err, NULL);
    CHECK(err && err->status == 400);
    n = xreq(p, new_x(p, 0, NULL), apr_psprintf(p, "{%s,\"tools\":[{\"type\":"
             "\"code_interpreter\"}]}", msgs), &err, NULL);
    CHECK(err && err->status == 400);
}

static void t_request_errors(apr_pool_t *p)
{
    static const char *const bad[] = {
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2}",
        "{\"messages\":[]}",
        "{}",
        "{\"messages\":\"hi\"}",
        "{\"messages\":[{\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":\"function\",\"name\":\"f\",\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":\"wizard\",\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":\"user\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":42}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"input_audio\","
            "\"input_audio\":{}}]}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\"}]}]}",
        "{\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":\"image_url\","
            "\"image_url\":{\"url\":\"http://x/y.png\"}}]}]}",
        "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"type\":"
            "\"function\",\"function\":{\"name\":\"f\"}}]}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":\"hot\"}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":-5}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"seed\":1.5}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stop\":5}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":"
            "{\"type\":\"json_schema\"}}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"response_format\":"
            "{\"type\":\"yaml\"}}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tool_choice\":\"maybe\"}",
        NULL
    };
    int i;

    for (i = 0; bad[i]; i++) {
        llmp_error_t *err;
        xreq(p, new_x(p, 0, NULL), bad[i], &err, NULL);
        CHECK(err != NULL);
        if (err) {
            CHECK_INT(err->status, 400);
            CHECK_STR(err->type, "invalid_request_error");
        }
        else fprintf(stderr, "  accepted: %s\n", bad[i]);
    }
}

static cJSON *xresp(apr_pool_t *p, const char *fixture, llmp_error_t **err)
{
    llmp_xlate_t *x = new_x(p, 0, NULL);
    char *out = NULL;
    apr_size_t len = 0;

    *err = llmp_xlate_chat_response(ops(), x, llmp_fixture_json(p, fixture), &out, &len);
    if (*err) return NULL;
    return llmp_json_parse_pool(p, out, len);
}

static void t_response(apr_pool_t *p)
{
    llmp_error_t *err;
    cJSON *r = xresp(p, "cohere/chat_response.json", &err);

    CHECK(err == NULL);
    if (!r) { CHECK(r != NULL); return; }
    CHECK_STR(at_str(r, "id"), "chatcmpl-test1");
    CHECK_STR(at_str(r, "object"), "chat.completion");
    CHECK_STR(at_str(r, "model"), "command-r-plus");
    CHECK_INT(at_num(r, "created"), 1700000000);
    CHECK_STR(at_str(r, "choices.0.message.role"), "assistant");
    CHECK_STR(at_str(r, "choices.0.message.content"),
              "Hello! How can I help you today?");
    CHECK_STR(at_str(r, "choices.0.finish_reason"), "stop");
    CHECK_INT(at_num(r, "usage.prompt_tokens"), 71);
    CHECK_INT(at_num(r, "usage.completion_tokens"), 9);
    CHECK_INT(at_num(r, "usage.total_tokens"), 80);

    r = xresp(p, "cohere/chat_response_tools.json", &err);
    CHECK(err == NULL);
    if (!r) { CHECK(r != NULL); return; }
    CHECK(cJSON_IsNull(at(r, "choices.0.message.content")));
    CHECK_STR(at_str(r, "choices.0.finish_reason"), "tool_calls");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.id"),
              "get_weather_p1t92w7gfgq7");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.type"), "function");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.function.name"),
              "get_weather");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.function.arguments"),
              "{\"location\":\"Madrid\"}");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.1.id"),
              "get_weather_ay6nmvjgp9vn");
    CHECK_INT(at_num(r, "usage.prompt_tokens"), 913);
    CHECK_INT(at_num(r, "usage.completion_tokens"), 83);

    r = xresp(p, "cohere/chat_response_billed_only.json", &err);
    CHECK(err == NULL);
    CHECK_STR(at_str(r, "choices.0.finish_reason"), "length");
    CHECK_INT(at_num(r, "usage.prompt_tokens"), 4);
    CHECK_INT(at_num(r, "usage.completion_tokens"), 2);
}

/* Tool calls without arguments ("", null, "null", blank, missing) reach the
 * client as "{}": OpenAI clients parse arguments as a JSON object. */
static void t_response_noargs(apr_pool_t *p)
{
    llmp_error_t *err;
    cJSON *r = xresp(p, "cohere/chat_response_tools_noargs.json", &err);
    int i;

    CHECK(err == NULL);
    if (!r) { CHECK(r != NULL); return; }
    CHECK_STR(at_str(r, "choices.0.finish_reason"), "tool_calls");
    CHECK_INT(cJSON_GetArraySize(at(r, "choices.0.message.tool_calls")), 5);
    for (i = 0; i < 5; i++) {
        CHECK_STR(at_str(r, apr_psprintf(p, "choices.0.message.tool_calls.%d"
                                         ".function.arguments", i)), "{}");
    }
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.1.function.name"),
              "get_news");
}

/* usage.cached_tokens -> usage.prompt_tokens_details.cached_tokens */
static void t_response_cached(apr_pool_t *p)
{
    llmp_error_t *err;
    cJSON *r = xresp(p, "cohere/chat_response_cached.json", &err);

    CHECK(err == NULL);
    CHECK_INT(at_num(r, "usage.prompt_tokens"), 1276);
    CHECK_INT(at_num(r, "usage.completion_tokens"), 5);
    CHECK_INT(at_num(r, "usage.total_tokens"), 1281);
    CHECK_INT(at_num(r, "usage.prompt_tokens_details.cached_tokens"), 1024);
    /* none reported: no details */
    r = xresp(p, "cohere/chat_response.json", &err);
    CHECK(err == NULL);
    CHECK(at(r, "usage.prompt_tokens_details") == NULL);
}

static void t_response_odd(apr_pool_t *p)
{
    llmp_xlate_t *x = new_x(p, 0, NULL);
    char *out;
    apr_size_t len;
    llmp_error_t *err;
    cJSON *r;

    err = llmp_xlate_chat_response(ops(), x, parse(p, "{\"id\":\"x\"}"), &out, &len);
    CHECK(err && err->status == 502);
    err = llmp_xlate_chat_response(ops(), x, parse(p, "[1,2]"), &out, &len);
    CHECK(err && err->status == 502);
    err = llmp_xlate_chat_response(ops(), x, parse(p,
        "{\"finish_reason\":\"ERROR\",\"message\":{\"role\":\"assistant\"}}"),
        &out, &len);
    CHECK(err && err->status == 502);
    err = llmp_xlate_chat_response(ops(), x, parse(p,
        "{\"finish_reason\":\"TIMEOUT\",\"message\":{}}"), &out, &len);
    CHECK(err && err->status == 504);
    err = llmp_xlate_chat_response(ops(), x, parse(p,
        "{\"finish_reason\":\"ERROR_TOXIC\",\"message\":{\"content\":[]}}"),
        &out, &len);
    CHECK(err == NULL);
    r = llmp_json_parse_pool(p, out, len);
    CHECK_STR(at_str(r, "choices.0.finish_reason"), "content_filter");
    CHECK_INT(at_num(r, "usage.total_tokens"), 0);
    /* thinking parts are dropped, lowercase reasons accepted */
    err = llmp_xlate_chat_response(ops(), x, parse(p,
        "{\"finish_reason\":\"stop_sequence\",\"message\":{\"content\":["
        "{\"type\":\"thinking\",\"thinking\":\"hmm\"},"
        "{\"type\":\"text\",\"text\":\"A\"}]}}"), &out, &len);
    CHECK(err == NULL);
    r = llmp_json_parse_pool(p, out, len);
    CHECK_STR(at_str(r, "choices.0.message.content"), "A");
    CHECK_STR(at_str(r, "choices.0.finish_reason"), "stop");
    err = llmp_xlate_chat_response(ops(), x, parse(p,
        "{\"finish_reason\":\"TOOL_CALL\",\"message\":{\"tool_calls\":["
        "{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]}}"),
        &out, &len);
    CHECK(err && err->status == 502);
}

/* Feed an SSE fixture through the real parser into the stream hooks. */
static llmp_error_t *run_stream(apr_pool_t *p, llmp_xlate_t *x,
                                const char *fixture, int complete)
{
    apr_size_t len;
    const char *body = llmp_fixture(p, fixture, &len);
    llmp_error_t *err;

    /* feed in small pieces to exercise splitting */
    err = llmp_feed_sse(p, ops(), x, body, len, 7, 65536);
    if (err) return err;
    return ops()->chat_stream_end(x, complete);
}

static llmp_error_t *sev(llmp_xlate_t *x, const char *event,
                         const char *data)
{
    return ops()->chat_stream_event(x, event, data, strlen(data));
}

static cJSON *chunk(sink_t *s, int i)
{
    return i < s->chunks->nelts ? APR_ARRAY_IDX(s->chunks, i, cJSON *) : NULL;
}

static void t_stream_text(apr_pool_t *p)
{
    sink_t s;
    llmp_xlate_t *x = new_x(p, 1, &s);
    llmp_error_t *err;
    int i;

    x->include_usage = 1;
    err = run_stream(p, x, "cohere/chat_stream.sse", 1);
    CHECK(err == NULL);
    CHECK_INT(s.chunks->nelts, 5);
    if (s.chunks->nelts != 5) return;
    for (i = 0; i < 5; i++) {
        CHECK_STR(at_str(chunk(&s, i), "id"), "chatcmpl-test1");
        CHECK_STR(at_str(chunk(&s, i), "object"), "chat.completion.chunk");
        CHECK_STR(at_str(chunk(&s, i), "model"), "command-r-plus");
    }
    CHECK_STR(at_str(chunk(&s, 0), "choices.0.delta.role"), "assistant");
    CHECK_STR(at_str(chunk(&s, 0), "choices.0.delta.content"), "");
    CHECK(cJSON_IsNull(at(chunk(&s, 0), "choices.0.finish_reason")));
    CHECK_STR(at_str(chunk(&s, 1), "choices.0.delta.content"), "Hello");
    CHECK_STR(at_str(chunk(&s, 2), "choices.0.delta.content"), " world");
    CHECK_STR(at_str(chunk(&s, 3), "choices.0.finish_reason"), "stop");
    CHECK_INT(cJSON_GetArraySize(at(chunk(&s, 3), "choices.0.delta")), 0);
    CHECK_INT(cJSON_GetArraySize(at(chunk(&s, 4), "choices")), 0);
    CHECK_INT(at_num(chunk(&s, 4), "usage.prompt_tokens"), 69);
    CHECK_INT(at_num(chunk(&s, 4), "usage.completion_tokens"), 2);
    CHECK_INT(at_num(chunk(&s, 4), "usage.total_tokens"), 71);

    /* without include_usage: no usage chunk */
    x = new_x(p, 1, &s);
    err = run_stream(p, x, "cohere/chat_stream.sse", 1);
    CHECK(err == NULL);
    CHECK_INT(s.chunks->nelts, 4);
}

static void t_stream_tools(apr_pool_t *p)
{
    sink_t s;
    llmp_xlate_t *x = new_x(p, 1, &s);
    llmp_error_t *err;
    const cJSON *c;

    x->include_usage = 1;
    err = run_stream(p, x, "cohere/chat_stream_tools.sse", 1);
    CHECK(err == NULL);
    /* role, start0, 2 deltas, start1, 1 delta, finish, usage */
    CHECK_INT(s.chunks->nelts, 8);
    if (s.chunks->nelts != 8) return;
    CHECK_STR(at_str(chunk(&s, 0), "choices.0.delta.role"), "assistant");
    c = at(chunk(&s, 1), "choices.0.delta.tool_calls.0");
    CHECK_INT(at_num(c, "index"), 0);
    CHECK_STR(at_str(c, "id"), "get_weather_p1t92w7gfgq7");
    CHECK_STR(at_str(c, "type"), "function");
    CHECK_STR(at_str(c, "function.name"), "get_weather");
    CHECK_STR(at_str(c, "function.arguments"), "");
    c = at(chunk(&s, 2), "choices.0.delta.tool_calls.0");
    CHECK_INT(at_num(c, "index"), 0);
    CHECK(at(c, "id") == NULL);
    CHECK(at(c, "function.name") == NULL);
    CHECK_STR(at_str(c, "function.arguments"), "{\n    \"");
    c = at(chunk(&s, 3), "choices.0.delta.tool_calls.0");
    CHECK_STR(at_str(c, "function.arguments"), "location\": \"Madrid\"\n}");
    c = at(chunk(&s, 4), "choices.0.delta.tool_calls.0");
    CHECK_INT(at_num(c, "index"), 1);
    CHECK_STR(at_str(c, "id"), "get_weather_ay6nmvjgp9vn");
    c = at(chunk(&s, 5), "choices.0.delta.tool_calls.0");
    CHECK_INT(at_num(c, "index"), 1);
    CHECK_STR(at_str(c, "function.arguments"), "{\"location\": \"Brasilia\"}");
    CHECK_STR(at_str(chunk(&s, 6), "choices.0.finish_reason"), "tool_calls");
    CHECK_INT(at_num(chunk(&s, 7), "usage.prompt_tokens"), 913);
    CHECK_INT(at_num(chunk(&s, 7), "usage.completion_tokens"), 83);
}

static void t_stream_variants(apr_pool_t *p)
{
    sink_t s;
    llmp_xlate_t *x;
    llmp_error_t *err;

    /* data-only events, citations, unknown events, [DONE] */
    x = new_x(p, 1, &s);
    err = run_stream(p, x, "cohere/chat_stream_nolines.sse", 1);
    CHECK(err == NULL);
    CHECK_INT(s.chunks->nelts, 3);
    CHECK_STR(at_str(chunk(&s, 1), "choices.0.delta.content"), "Hi");
    CHECK_STR(at_str(chunk(&s, 2), "choices.0.finish_reason"), "length");

    /* message-end with ERROR: error after the partial text */
    x = new_x(p, 1, &s);
    err = run_stream(p, x, "cohere/chat_stream_error.sse", 1);
    CHECK(err != NULL);
    if (err) {
        CHECK(err->status >= 500);
        CHECK(strstr(err->message, "internal error during generation") != NULL);
    }
    CHECK_INT(s.chunks->nelts, 2);

    /* no message-end: error at the end, both for a clean close and a drop */
    x = new_x(p, 1, &s);
    err = run_stream(p, x, "cohere/chat_stream_truncated.sse", 1);
    CHECK(err != NULL && err->status == 502);
    CHECK_INT(s.chunks->nelts, 2);
    x = new_x(p, 1, &s);
    err = run_stream(p, x, "cohere/chat_stream_truncated.sse", 0);
    CHECK(err != NULL && err->status == 502);

    /* event name used when the data has no type; error objects */
    x = new_x(p, 1, &s);
    err = sev(x, "content-delta",
        "{\"delta\":{\"message\":{\"content\":{\"text\":\"Z\"}}}}");
    CHECK(err == NULL);
    CHECK_INT(s.chunks->nelts, 2);
    CHECK_STR(at_str(chunk(&s, 1), "choices.0.delta.content"), "Z");
    err = sev(x, "", "{\"message\":\"boom\"}");
    CHECK(err != NULL && err->status == 502);
    CHECK(err && strstr(err->message, "boom"));

    /* tool-call-delta without start is an upstream error */
    x = new_x(p, 1, &s);
    err = sev(x, "tool-call-delta",
        "{\"type\":\"tool-call-delta\",\"index\":0,\"delta\":{\"message\":"
        "{\"tool_calls\":{\"function\":{\"arguments\":\"{}\"}}}}}");
    CHECK(err != NULL && err->status == 502);

    /* events after message-end are ignored */
    x = new_x(p, 1, &s);
    err = run_stream(p, x, "cohere/chat_stream.sse", 1);
    CHECK(err == NULL);
    err = sev(x, "content-delta",
        "{\"type\":\"content-delta\",\"delta\":{\"message\":{\"content\":"
        "{\"text\":\"late\"}}}}");
    CHECK(err == NULL);
    CHECK_INT(s.chunks->nelts, 4);
}

/* The arguments of each streamed call, joined, by OpenAI index. */
static const char *joined_args(apr_pool_t *p, sink_t *s, int index)
{
    const char *all = NULL;
    int i;

    for (i = 0; i < s->chunks->nelts; i++) {
        const cJSON *tc = at(chunk(s, i), "choices.0.delta.tool_calls.0");
        const char *a = at_str(tc, "function.arguments");
        if (!tc || at_num(tc, "index") != index || !a) continue;
        all = all ? apr_pstrcat(p, all, a, NULL) : a;
    }
    return all;
}

static void t_stream_noargs(apr_pool_t *p)
{
    sink_t s;
    llmp_xlate_t *x = new_x(p, 1, &s);
    llmp_error_t *err;
    int i;

    x->include_usage = 1;
    err = run_stream(p, x, "cohere/chat_stream_tools_noargs.sse", 1);
    CHECK(err == NULL);
    CHECK_STR(joined_args(p, &s, 0), "{}");          /* "" */
    CHECK_STR(joined_args(p, &s, 1), "{}");          /* "nu" "ll" */
    CHECK_STR(joined_args(p, &s, 2), " {\"location\": \"Oslo\"}");
    CHECK_STR(joined_args(p, &s, 3), "{}");          /* no end, no delta */
    for (i = 0; i < s.chunks->nelts; i++) {
        const char *a = at_str(chunk(&s, i),
                               "choices.0.delta.tool_calls.0.function."
                               "arguments");
        CHECK(!a || !strstr(a, "null"));
    }
    /* the "{}" of the last call comes before the finish chunk */
    CHECK_INT(s.chunks->nelts, 12);
    if (s.chunks->nelts != 12) return;
    CHECK_STR(at_str(chunk(&s, 9), "choices.0.delta.tool_calls.0."
                     "function.arguments"), "{}");
    CHECK_STR(at_str(chunk(&s, 10), "choices.0.finish_reason"), "tool_calls");
    CHECK_INT(at_num(chunk(&s, 11), "usage.prompt_tokens"), 640);
    CHECK_INT(at_num(chunk(&s, 11), "usage.prompt_tokens_details."
                     "cached_tokens"), 512);
}

/* A stream that closes cleanly after content-end but without message-end is
 * incomplete: an error, never a clean end. */
static void t_stream_no_end(apr_pool_t *p)
{
    sink_t s;
    llmp_xlate_t *x = new_x(p, 1, &s);
    llmp_error_t *err;

    err = run_stream(p, x, "cohere/chat_stream_no_end.sse", 1);
    CHECK(err != NULL && err->status == 502);
    CHECK(err && strstr(err->message, "message-end"));
    CHECK_INT(s.chunks->nelts, 3);
    CHECK_STR(at_str(chunk(&s, 2), "choices.0.delta.content"), " done");
    x = new_x(p, 1, &s);
    err = run_stream(p, x, "cohere/chat_stream_no_end.sse", 0);
    CHECK(err != NULL && err->status == 502);
    /* nothing at all */
    x = new_x(p, 1, &s);
    CHECK(ops()->chat_stream_end(x, 1) != NULL);
}


/* 100,000 messages are translated in linear time. */
static void t_request_many_messages(apr_pool_t *p)
{
    enum { N = 100000 };
    llmp_native_req_t nr;
    llmp_error_t *err;
    llmp_xlate_t *x = new_x(p, 0, NULL);
    cJSON *req, *msgs, *m, *calls, *c, *fn, *n;
    double t;
    int i;

    req = cJSON_CreateObject();
    llmp_json_pool_own(p, req);
    msgs = cJSON_AddArrayToObject(req, "messages");
    for (i = 0; i < N; i++) {
        m = cJSON_CreateObject();
        switch (i % 4) {
        case 0:
            cJSON_AddStringToObject(m, "role", "user");
            cJSON_AddStringToObject(m, "content", "a question");
            break;
        case 1:
            cJSON_AddStringToObject(m, "role", "assistant");
            calls = cJSON_AddArrayToObject(m, "tool_calls");
            c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "id", apr_psprintf(p, "call_%d", i));
            cJSON_AddStringToObject(c, "type", "function");
            fn = cJSON_AddObjectToObject(c, "function");
            cJSON_AddStringToObject(fn, "name", "f");
            cJSON_AddStringToObject(fn, "arguments", "{}");
            cJSON_AddItemToArray(calls, c);
            break;
        case 2:
            cJSON_AddStringToObject(m, "role", "tool");
            cJSON_AddStringToObject(m, "tool_call_id",
                                    apr_psprintf(p, "call_%d", i - 1));
            cJSON_AddStringToObject(m, "content", "ok");
            break;
        default:
            cJSON_AddStringToObject(m, "role", "assistant");
            cJSON_AddStringToObject(m, "content", "an answer");
        }
        cJSON_AddItemToArray(msgs, m);
    }
    err = llmp_test_timed_request(ops(), x, req, &nr, "100000 messages", &t);
    CHECK(err == NULL);
    CHECK(t < 2);
    n = err ? NULL : llmp_json_parse_pool(p, nr.body, nr.len);
    CHECK_INT(cJSON_GetArraySize(at(n, "messages")), N);
    CHECK_STR(at_str(n, "messages.99998.role"), "tool");
    CHECK_STR(at_str(n, "messages.99998.tool_call_id"), "call_99997");
    CHECK_STR(at_str(n, "messages.99999.content"), "an answer");
}

static void t_embeddings(apr_pool_t *p)
{
    llmp_xlate_t *x = new_x(p, 0, NULL);
    llmp_native_req_t nr;
    llmp_error_t *err;
    char *out;
    apr_size_t len;
    cJSON *n, *r;

    x->handle = "/cohere/v2/embed";
    x->model_id = "embed-english-v3.0";
    memset(&nr, 0, sizeof(nr));
    err = ops()->embeddings_request(x, parse(p,
        "{\"model\":\"embed-english-v3.0\",\"input\":[\"hello\",\"world\"],"
        "\"dimensions\":256,\"user\":\"u\"}"), &nr);
    CHECK(err == NULL);
    n = llmp_json_parse_pool(p, nr.body, nr.len);
    CHECK_STR(nr.path, "/cohere/v2/embed");
    CHECK_STR(at_str(n, "model"), "embed-english-v3.0");
    CHECK_STR(at_str(n, "texts.0"), "hello");
    CHECK_STR(at_str(n, "texts.1"), "world");
    CHECK_STR(at_str(n, "input_type"), "search_document");
    CHECK_STR(at_str(n, "embedding_types.0"), "float");
    CHECK_INT(at_num(n, "output_dimension"), 256);
    CHECK(at(n, "user") == NULL);
    CHECK(at(n, "input") == NULL);

    err = ops()->embeddings_response(x, llmp_fixture_json(p,
        "cohere/embed_response.json"), &out, &len);
    CHECK(err == NULL);
    r = llmp_json_parse_pool(p, out, len);
    CHECK_STR(at_str(r, "object"), "list");
    CHECK_STR(at_str(r, "model"), "embed-english-v3.0");
    CHECK_INT(cJSON_GetArraySize(at(r, "data")), 2);
    CHECK_STR(at_str(r, "data.1.object"), "embedding");
    CHECK_INT(at_num(r, "data.1.index"), 1);
    CHECK(at_num(r, "data.0.embedding.1") == -0.25);
    CHECK(at_num(r, "data.1.embedding.2") == -1.5);
    CHECK_INT(at_num(r, "usage.prompt_tokens"), 2);

    /* base64 (the Node SDK's default) and a configured input_type */
    {
        static const llmp_xlate_opts_t q = { 4096, "search_query" };
        x = new_x(p, 0, NULL);
        x->opts = &q;
        err = ops()->embeddings_request(x, parse(p,
            "{\"input\":\"one\",\"encoding_format\":\"base64\"}"), &nr);
        CHECK(err == NULL);
        n = llmp_json_parse_pool(p, nr.body, nr.len);
        CHECK_STR(at_str(n, "input_type"), "search_query");
        CHECK_STR(at_str(n, "texts.0"), "one");
        CHECK(at(n, "output_dimension") == NULL);
        err = ops()->embeddings_response(x, parse(p,
            "{\"embeddings\":{\"float\":[[1.0,-2.0]]},\"meta\":{}}"), &out,
            &len);
        CHECK(err == NULL);
        r = llmp_json_parse_pool(p, out, len);
        /* 1.0f = 00 00 80 3f, -2.0f = 00 00 00 c0 */
        CHECK_STR(at_str(r, "data.0.embedding"), "AACAPwAAAMA=");
        CHECK_INT(at_num(r, "usage.prompt_tokens"), 0);
    }
    /* legacy embeddings_floats shape */
    err = ops()->embeddings_response(x, parse(p,
        "{\"embeddings\":[[0.5]],\"response_type\":\"embeddings_floats\"}"),
        &out, &len);
    CHECK(err == NULL);

    err = ops()->embeddings_request(new_x(p, 0, NULL), parse(p,
        "{\"input\":\"x\",\"encoding_format\":\"int8\"}"), &nr);
    CHECK(err && err->status == 400);
    err = ops()->embeddings_request(new_x(p, 0, NULL), parse(p,
        "{\"input\":[1,2,3]}"), &nr);
    CHECK(err && err->status == 400);
    err = ops()->embeddings_request(new_x(p, 0, NULL), parse(p,
        "{\"input\":[]}"), &nr);
    CHECK(err && err->status == 400);
    err = ops()->embeddings_request(new_x(p, 0, NULL), parse(p,
        "{\"input\":\"x\",\"dimensions\":-3}"), &nr);
    CHECK(err && err->status == 400);
    err = ops()->embeddings_response(new_x(p, 0, NULL), parse(p,
        "{\"embeddings\":{\"int8\":[[1]]}}"), &out, &len);
    CHECK(err && err->status == 502);
    err = ops()->embeddings_response(new_x(p, 0, NULL), parse(p,
        "{\"embeddings\":{\"float\":[[\"a\"]]}}"), &out, &len);
    CHECK(err && err->status == 502);
}

static void t_errors(apr_pool_t *p)
{
    llmp_xlate_t *x = new_x(p, 0, NULL);
    const char *b400 = llmp_fixture(p, "cohere/error_400.json", NULL);
    const char *b429 = llmp_fixture(p, "cohere/error_429.json", NULL);
    llmp_error_t *e;

    e = ops()->error(x, 400, parse(p, b400), b400, strlen(b400));
    CHECK_INT(e->status, 400);
    CHECK_STR(e->type, "invalid_request_error");
    CHECK(strstr(e->message, "invalid request: message must be") != NULL);
    e = ops()->error(x, 429, parse(p, b429), b429, strlen(b429));
    CHECK_INT(e->status, 429);
    CHECK_STR(e->type, "rate_limit_error");
    CHECK(strstr(e->message, "Trial key") != NULL);
    e = ops()->error(x, 498, parse(p, "{\"message\":\"invalid api token\"}"),
                     "", 0);
    CHECK_INT(e->status, 401);
    CHECK_STR(e->message, "invalid api token");
    e = ops()->error(x, 503, NULL, "upstream down", 13);
    CHECK_INT(e->status, 503);
    CHECK(strstr(e->message, "upstream down") != NULL);
    e = ops()->error(x, 500, parse(p, "{\"message\":\"internal\"}"), "", 0);
    CHECK(e->status >= 500);
    CHECK(ops()->images_request == NULL);
    CHECK_STR(ops()->name, "cohere");
}

/* ---- reasoning ---- */

/* A reasoning model (the ones that take "thinking"). */
static llmp_xlate_t *new_rx(apr_pool_t *p)
{
    llmp_xlate_t *x = new_x(p, 0, NULL);

    x->model_id = "command-a-reasoning-08-2025";
    return x;
}

static void t_request_thinking(apr_pool_t *p)
{
    static const struct { const char *effort; int budget; } m[] = {
        { "minimal", 1024 }, { "low", 1024 }, { "medium", 4096 },
        { "high", 16384 }, { "xhigh", 16384 }, { NULL, 0 } };
    llmp_error_t *err;
    cJSON *n;
    int i;

    for (i = 0; m[i].effort; i++) {
        n = xreq(p, new_rx(p), apr_psprintf(p,
                 "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                 "\"reasoning_effort\":\"%s\"}", m[i].effort), &err, NULL);
        CHECK_STR(at_str(n, "thinking.type"), "enabled");
        CHECK_INT(at_num(n, "thinking.token_budget"), m[i].budget);
        CHECK_INT(cJSON_GetArraySize(at(n, "thinking")), 2);
    }
    n = xreq(p, new_rx(p),
             "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
             "\"reasoning_effort\":\"none\"}", &err, NULL);
    CHECK_STR(at_str(n, "thinking.type"), "disabled");
    CHECK_INT(cJSON_GetArraySize(at(n, "thinking")), 1);
    /* under the client's max_tokens */
    n = xreq(p, new_rx(p),
             "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
             "\"reasoning_effort\":\"high\",\"max_tokens\":2000}", &err,
             NULL);
    CHECK_INT(at_num(n, "thinking.token_budget"), 1999);
    CHECK_INT(at_num(n, "max_tokens"), 2000);
    n = xreq(p, new_rx(p),
             "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
             "\"reasoning_effort\":\"high\",\"max_tokens\":1}", &err, NULL);
    CHECK_STR(at_str(n, "thinking.type"), "enabled");
    CHECK(!at(n, "thinking.token_budget"));
    /* absent or null: nothing, as before */
    n = xreq(p, new_rx(p),
             "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
             "\"reasoning_effort\":null}", &err, NULL);
    CHECK(n && !at(n, "thinking"));
    xreq(p, new_rx(p),
         "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
         "\"reasoning_effort\":\"lots\"}", &err, NULL);
    CHECK(err && err->status == 400);
    CHECK_STR(err ? err->param : NULL, "reasoning_effort");
}

/* Only reasoning models get "thinking" (Cohere answers 400 to it for the
 * others): the effort is dropped for them, unless LLMProxyReasoningModels
 * names the model id. */
static void t_request_thinking_models(apr_pool_t *p)
{
    static const char *const pats[] = { "my-cohere-*", "*-thinks" };
    apr_array_header_t *a = apr_array_make(p, 2, sizeof(const char *));
    llmp_xlate_opts_t o = opts;
    llmp_xlate_t *x;
    llmp_error_t *err;
    cJSON *n;
    int i;

    for (i = 0; i < 2; i++) APR_ARRAY_PUSH(a, const char *) = pats[i];
    n = xreq(p, new_x(p, 0, NULL),
             "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
             "\"reasoning_effort\":\"high\"}", &err, NULL);
    CHECK(n && !at(n, "thinking"));
    n = xreq(p, new_x(p, 0, NULL),
             "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
             "\"reasoning_effort\":\"none\"}", &err, NULL);
    CHECK(n && !at(n, "thinking"));
    /* an invalid value is still refused */
    xreq(p, new_x(p, 0, NULL),
         "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
         "\"reasoning_effort\":\"lots\"}", &err, NULL);
    CHECK(err && err->status == 400);
    /* case blind */
    x = new_x(p, 0, NULL);
    x->model_id = "Command-A-Reasoning";
    n = xreq(p, x, "{\"messages\":[{\"role\":\"user\",\"content\":"
             "\"hi\"}],\"reasoning_effort\":\"low\"}", &err, NULL);
    CHECK_STR(at_str(n, "thinking.type"), "enabled");
    /* an alias: nothing, unless a pattern names it */
    x = new_x(p, 0, NULL);
    x->model_id = "my-cohere-alias";
    n = xreq(p, x, "{\"messages\":[{\"role\":\"user\",\"content\":"
             "\"hi\"}],\"reasoning_effort\":\"low\"}", &err, NULL);
    CHECK(n && !at(n, "thinking"));
    o.reasoning_models = a;
    x = new_x(p, 0, NULL);
    x->model_id = "my-cohere-alias";
    x->opts = &o;
    n = xreq(p, x, "{\"messages\":[{\"role\":\"user\",\"content\":"
             "\"hi\"}],\"reasoning_effort\":\"low\"}", &err, NULL);
    CHECK_STR(at_str(n, "thinking.type"), "enabled");
    CHECK_INT(at_num(n, "thinking.token_budget"), 1024);
    x = new_x(p, 0, NULL);
    x->model_id = "other-alias";
    x->opts = &o;
    n = xreq(p, x, "{\"messages\":[{\"role\":\"user\",\"content\":"
             "\"hi\"}],\"reasoning_effort\":\"low\"}", &err, NULL);
    CHECK(n && !at(n, "thinking"));
}

/* The IR's extras are not sent; a file part is a clear 400. */
static void t_request_ir_extras(apr_pool_t *p)
{
    llmp_error_t *err;
    cJSON *n, *m;

    n = xreq(p, new_x(p, 0, NULL),
             "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\","
             "\"x_llmp\":{\"a\":1}},{\"role\":\"assistant\",\"content\":"
             "\"hello\",\"reasoning_content\":\"hm\","
             "\"reasoning_signature\":\"sig\"},{\"role\":\"user\","
             "\"content\":\"more\"}],\"x_llmp\":{\"a\":1},"
             "\"verbosity\":\"low\",\"prompt_cache_key\":\"k\","
             "\"store\":true,\"metadata\":{\"user_id\":\"u\"}}", &err, NULL);
    CHECK(err == NULL);
    for (m = n ? n->child : NULL; m; m = m->next)
        CHECK(!strcmp(m->string, "model") || !strcmp(m->string, "messages"));
    CHECK_INT(cJSON_GetArraySize(at(n, "messages.0")), 2);
    CHECK_INT(cJSON_GetArraySize(at(n, "messages.1")), 2);
    CHECK_STR(at_str(n, "messages.1.content"), "hello");
    xreq(p, new_x(p, 0, NULL),
         "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"file\","
         "\"file\":{\"file_data\":\"data:application/pdf;base64,JVBERi0=\","
         "\"filename\":\"a.pdf\"}}]}]}", &err, NULL);
    CHECK(err && err->status == 400);
    CHECK(err && strstr(err->message, "no file parts") != NULL);
}

static void t_response_thinking(apr_pool_t *p)
{
    llmp_xlate_t *x;
    llmp_error_t *err;
    cJSON *r;
    char *out;
    apr_size_t len;

    r = xresp(p, "cohere/chat_response_thinking.json", &err);
    CHECK_STR(at_str(r, "choices.0.message.content"),
              "Alice's brother has 3 sisters.");
    CHECK(!at(r, "choices.0.message.reasoning_content"));
    x = new_x(p, 0, NULL);
    x->want_reasoning = 1;
    err = llmp_xlate_chat_response(ops(), x, llmp_fixture_json(p,
                                   "cohere/chat_response_thinking.json"),
                                   &out, &len);
    CHECK(err == NULL);
    r = err ? NULL : llmp_json_parse_pool(p, out, len);
    CHECK_STR(at_str(r, "choices.0.message.content"),
              "Alice's brother has 3 sisters.");
    CHECK_STR(at_str(r, "choices.0.message.reasoning_content"),
              "Alice has 2 sisters. Her brother has 3.");
    CHECK(!at(r, "choices.0.message.reasoning_signature"));
}

static void t_stream_thinking(apr_pool_t *p)
{
    sink_t s;
    llmp_xlate_t *x;
    int i;

    /* the chat front: role, text, finish, as before */
    x = new_x(p, 1, &s);
    CHECK(run_stream(p, x, "cohere/chat_stream_thinking.sse", 1) == NULL);
    CHECK_INT(s.chunks->nelts, 3);
    for (i = 0; i < s.chunks->nelts; i++)
        CHECK(!at(chunk(&s, i), "choices.0.delta.reasoning_content"));
    CHECK_STR(at_str(chunk(&s, 1), "choices.0.delta.content"), "3 sisters.");
    /* a front that wants reasoning */
    x = new_x(p, 1, &s);
    x->want_reasoning = 1;
    CHECK(run_stream(p, x, "cohere/chat_stream_thinking.sse", 1) == NULL);
    CHECK_INT(s.chunks->nelts, 5);
    CHECK_STR(at_str(chunk(&s, 0), "choices.0.delta.role"), "assistant");
    CHECK_STR(at_str(chunk(&s, 1), "choices.0.delta.reasoning_content"),
              "Alice has ");
    CHECK_STR(at_str(chunk(&s, 2), "choices.0.delta.reasoning_content"),
              "2 sisters.");
    CHECK(!at(chunk(&s, 2), "choices.0.delta.content"));
    CHECK_STR(at_str(chunk(&s, 3), "choices.0.delta.content"), "3 sisters.");
    CHECK_STR(at_str(chunk(&s, 4), "choices.0.finish_reason"), "stop");
}

TEST_MAIN_BEGIN("cohere")
    RUN(t_request_basic);
    RUN(t_request_stream_and_images);
    RUN(t_request_tools);
    RUN(t_request_errors);
    RUN(t_request_many_messages);
    RUN(t_response);
    RUN(t_response_odd);
    RUN(t_response_noargs);
    RUN(t_response_cached);
    RUN(t_stream_text);
    RUN(t_stream_tools);
    RUN(t_stream_variants);
    RUN(t_stream_noargs);
    RUN(t_stream_no_end);
    RUN(t_embeddings);
    RUN(t_errors);
    RUN(t_request_thinking);
    RUN(t_request_thinking_models);
    RUN(t_request_ir_extras);
    RUN(t_response_thinking);
    RUN(t_stream_thinking);
TEST_MAIN_END
