/* Unit tests: Anthropic Messages translation (request, response, stream,
 * errors), against the native fixtures in tests/fixtures/anthropic/. */
#include "llmp_test.h"
#include "llmp_provider.h"
#include "llmp_sse.h"
#include <time.h>

static const llmp_xlate_opts_t opts = { 1024, "search_document" };

/* ---- helpers ---- */

typedef struct {
    apr_pool_t *p;
    cJSON *chunks;                 /* array of the emitted chunks, parsed */
    int fail_after;                /* emit fails after that many; -1 never */
} sink_t;

static apr_status_t sink_emit(void *baton, const char *data, apr_size_t len)
{
    sink_t *s = baton;
    cJSON *j;

    if (s->fail_after >= 0 && cJSON_GetArraySize(s->chunks) >= s->fail_after)
        return APR_EGENERAL;
    j = cJSON_ParseWithLength(data, len);
    if (!j) j = cJSON_CreateString("<not json>");
    cJSON_AddItemToArray(s->chunks, j);
    return APR_SUCCESS;
}

static llmp_xlate_t *xlate(apr_pool_t *p, int stream, sink_t *sink)
{
    llmp_xlate_t *x = apr_pcalloc(p, sizeof(*x));

    x->pool = p;
    x->model_id = "claude-3-7-sonnet-20250219";
    x->handle = "/anthropic/v1/messages";
    x->id = "chatcmpl-test";
    x->created = 1700000000;
    x->stream = stream;
    x->opts = &opts;
    if (sink) {
        sink->p = p;
        sink->chunks = cJSON_CreateArray();
        llmp_json_pool_own(p, sink->chunks);
        sink->fail_after = -1;
        x->emit = sink_emit;
        x->emit_baton = sink;
    }
    return x;
}

/* Translate an OpenAI request; the native body parsed, or NULL and *err. */
static cJSON *xreq(apr_pool_t *p, llmp_xlate_t *x, const char *json,
                   llmp_native_req_t *out, llmp_error_t **err)
{
    cJSON *req = llmp_json_parse_pool(p, json, strlen(json));
    llmp_native_req_t dummy;

    if (!req) { fprintf(stderr, "bad test JSON: %s\n", json); return NULL; }
    if (!out) out = &dummy;
    memset(out, 0, sizeof(*out));
    *err = llmp_anthropic_ops.chat_request(x, req, out);
    if (*err) return NULL;
    return llmp_json_parse_pool(p, out->body, out->len);
}

static cJSON *req_ok(apr_pool_t *p, const char *json)
{
    llmp_error_t *err = NULL;
    cJSON *n = xreq(p, xlate(p, 0, NULL), json, NULL, &err);
    if (err) fprintf(stderr, "unexpected error: %s\n", err->message);
    return n;
}

static llmp_error_t *req_err(apr_pool_t *p, const char *json)
{
    llmp_error_t *err = NULL;
    xreq(p, xlate(p, 0, NULL), json, NULL, &err);
    return err;
}

static cJSON *pj(apr_pool_t *p, const char *s)
{
    return llmp_json_parse_pool(p, s, strlen(s));
}

static char *print(apr_pool_t *p, const cJSON *j)
{
    return j ? llmp_json_print(p, j, NULL) : "(null)";
}

/* Feed a fixture through the SSE parser into the translator. */
static llmp_error_t *run_stream(apr_pool_t *p, llmp_xlate_t *x,
                                const char *text, apr_size_t len,
                                int complete, int *ended_with_error)
{
    llmp_error_t *err;

    *ended_with_error = 0;
    /* in small pieces, as the network delivers it */
    err = llmp_feed_sse(p, &llmp_anthropic_ops, x, text, len, 7, 1 << 20);
    if (err) return err;
    err = llmp_anthropic_ops.chat_stream_end(x, complete);
    if (err) *ended_with_error = 1;
    return err;
}

static llmp_error_t *stream_fixture(apr_pool_t *p, llmp_xlate_t *x,
                                    const char *name, int complete,
                                    int *ended_with_error)
{
    apr_size_t len;
    char *text = llmp_fixture(p, name, &len);
    return run_stream(p, x, text, len, complete, ended_with_error);
}

/* ---- request ---- */

static void t_req_basic(apr_pool_t *p)
{
    llmp_native_req_t out;
    llmp_error_t *err = NULL;
    cJSON *n;
    llmp_xlate_t *x = xlate(p, 0, NULL);

    n = xreq(p, x,
        "{\"model\":\"claude\",\"messages\":["
        "{\"role\":\"system\",\"content\":\"Be brief.\"},"
        "{\"role\":\"developer\",\"content\":[{\"type\":\"text\","
        "\"text\":\"Use French.\"}]},"
        "{\"role\":\"user\",\"content\":\"Hello\"}],"
        "\"max_tokens\":50,\"temperature\":1.5,\"top_p\":0.9,"
        "\"stop\":\"END\",\"user\":\"u-42\",\"seed\":7,\"n\":1,"
        "\"logprobs\":true,\"frequency_penalty\":0.5,"
        "\"presence_penalty\":0.1,\"logit_bias\":{\"1\":2},"
        "\"stream_options\":{\"include_usage\":true},\"store\":true,"
        "\"service_tier\":\"auto\",\"metadata\":{\"a\":\"b\"}}",
        &out, &err);
    CHECK(err == NULL);
    CHECK(n != NULL);
    if (!n) return;
    CHECK_STR(out.path, "/anthropic/v1/messages");
    CHECK_INT(out.stream, 0);
    CHECK_STR(at_str(n, "model"), "claude-3-7-sonnet-20250219");
    CHECK_STR(at_str(n, "system.0.type"), "text");
    CHECK_STR(at_str(n, "system.0.text"), "Be brief.");
    CHECK_STR(at_str(n, "system.1.text"), "Use French.");
    CHECK_INT(cJSON_GetArraySize(at(n, "messages")), 1);
    CHECK_STR(at_str(n, "messages.0.role"), "user");
    CHECK_STR(at_str(n, "messages.0.content.0.text"), "Hello");
    CHECK_INT(at_num(n, "max_tokens"), 50);
    CHECK(at_num(n, "temperature") == 1.0);
    CHECK(at_num(n, "top_p") == 0.9);
    CHECK_STR(at_str(n, "stop_sequences.0"), "END");
    CHECK_STR(at_str(n, "metadata.user_id"), "u-42");
    CHECK(!at(n, "stream"));
    /* nothing OpenAI-only is forwarded */
    {
        static const char *const allowed[] = {
            "model", "messages", "max_tokens", "system", "stop_sequences",
            "stream", "temperature", "top_p", "top_k", "tools",
            "tool_choice", "metadata", NULL };
        const cJSON *m;
        cJSON_ArrayForEach(m, n) {
            int i, ok = 0;
            for (i = 0; allowed[i]; i++) ok |= !strcmp(m->string, allowed[i]);
            if (!ok) fprintf(stderr, "  forwarded: %s\n", m->string);
            CHECK(ok);
        }
    }
}

static void t_req_defaults(apr_pool_t *p)
{
    llmp_native_req_t out;
    llmp_error_t *err = NULL;
    llmp_xlate_t *x = xlate(p, 1, NULL);
    cJSON *n = xreq(p, x,
        "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
        "\"stream\":true,\"max_completion_tokens\":null,\"temperature\":0.2,"
        "\"stop\":[\"a\",\" \",\"\",\"b\"]}", &out, &err);

    CHECK(n != NULL);
    if (!n) return;
    CHECK_INT(at_num(n, "max_tokens"), 1024);   /* the configured default */
    CHECK(cJSON_IsTrue(at(n, "stream")));
    CHECK_INT(out.stream, 1);
    CHECK(at_num(n, "temperature") == 0.2);
    CHECK(!at(n, "system"));
    CHECK_INT(cJSON_GetArraySize(at(n, "stop_sequences")), 2);
    CHECK_STR(at_str(n, "stop_sequences.1"), "b");
    /* max_completion_tokens wins over max_tokens */
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
               "\"max_tokens\":10,\"max_completion_tokens\":20}");
    CHECK_INT(at_num(n, "max_tokens"), 20);
    /* no opts: the built-in default */
    x = xlate(p, 0, NULL);
    x->opts = NULL;
    n = xreq(p, x, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}",
             NULL, &err);
    CHECK_INT(at_num(n, "max_tokens"), 4096);
}

static void t_req_merge(apr_pool_t *p)
{
    cJSON *n = req_ok(p,
        "{\"messages\":["
        "{\"role\":\"user\",\"content\":\"one\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"two\"},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":"
        "\"data:image/png;base64,iVBORw0KGgo=\"}},"
        "{\"type\":\"image_url\",\"image_url\":{\"url\":"
        "\"https://example.com/cat.jpg\",\"detail\":\"high\"}}]},"
        "{\"role\":\"system\",\"content\":\"late system\"},"
        "{\"role\":\"assistant\",\"content\":\"a1\"},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\","
        "\"text\":\"a2\"}]},"
        "{\"role\":\"assistant\",\"content\":\"\"},"
        "{\"role\":\"user\",\"content\":\"three\"},"
        "{\"role\":\"user\",\"content\":\"\"}]}");

    CHECK(n != NULL);
    if (!n) return;
    CHECK_INT(cJSON_GetArraySize(at(n, "messages")), 3);
    CHECK_STR(at_str(n, "messages.0.role"), "user");
    CHECK_INT(cJSON_GetArraySize(at(n, "messages.0.content")), 4);
    CHECK_STR(at_str(n, "messages.0.content.1.text"), "two");
    CHECK_STR(at_str(n, "messages.0.content.2.type"), "image");
    CHECK_STR(at_str(n, "messages.0.content.2.source.type"), "base64");
    CHECK_STR(at_str(n, "messages.0.content.2.source.media_type"),
              "image/png");
    CHECK_STR(at_str(n, "messages.0.content.2.source.data"), "iVBORw0KGgo=");
    CHECK_STR(at_str(n, "messages.0.content.3.source.type"), "url");
    CHECK_STR(at_str(n, "messages.0.content.3.source.url"),
              "https://example.com/cat.jpg");
    CHECK_STR(at_str(n, "messages.1.role"), "assistant");
    CHECK_INT(cJSON_GetArraySize(at(n, "messages.1.content")), 2);
    CHECK_STR(at_str(n, "messages.2.content.0.text"), "three");
    CHECK_INT(cJSON_GetArraySize(at(n, "messages.2.content")), 1);
    CHECK_STR(at_str(n, "system.0.text"), "late system");
}

/* The Messages API refuses a call without an anthropic-version header: every
 * request carries it, the configured value or 2023-06-01. */
static void t_req_version_header(apr_pool_t *p)
{
    static const llmp_xlate_opts_t old = { 1024, NULL, "2023-01-01" };
    static const char body[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}";
    llmp_native_req_t out;
    llmp_error_t *err = NULL;
    llmp_xlate_t *x;
    int stream;

    for (stream = 0; stream <= 1; stream++) {
        x = xlate(p, stream, NULL);
        CHECK(xreq(p, x, body, &out, &err) != NULL);
        CHECK(out.headers != NULL);
        if (!out.headers) continue;
        CHECK_STR(out.headers[0], "anthropic-version: 2023-06-01");
        CHECK(out.headers[1] == NULL);
    }
    /* no opts (as here in unit tests): the default */
    x = xlate(p, 0, NULL);
    x->opts = NULL;
    CHECK(xreq(p, x, body, &out, &err) != NULL);
    CHECK(out.headers && out.headers[0]
          && !strcmp(out.headers[0], "anthropic-version: 2023-06-01"));
    /* LLMProxyAnthropicVersion */
    x = xlate(p, 1, NULL);
    x->opts = &old;
    CHECK(xreq(p, x, body, &out, &err) != NULL);
    CHECK(out.headers && out.headers[0]
          && !strcmp(out.headers[0], "anthropic-version: 2023-01-01"));
    CHECK(out.headers && !out.headers[1]);
}

/* 100,000 messages are translated in linear time (the merge of turns, the
 * tool results placed first in a user turn). */

static void t_req_many_messages(apr_pool_t *p)
{
    enum { N = 100000 };
    llmp_native_req_t out;
    llmp_error_t *err;
    llmp_xlate_t *x;
    cJSON *req, *msgs, *m, *calls, *c, *fn, *n;
    double t;
    int i;

    /* alternating user / assistant */
    req = cJSON_CreateObject();
    llmp_json_pool_own(p, req);
    msgs = cJSON_AddArrayToObject(req, "messages");
    for (i = 0; i < N; i++) {
        m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", i % 2 ? "assistant" : "user");
        cJSON_AddStringToObject(m, "content", i % 2 ? "an answer"
                                                    : "a question");
        cJSON_AddItemToArray(msgs, m);
    }
    x = xlate(p, 0, NULL);
    err = llmp_test_timed_request(&llmp_anthropic_ops, x, req, &out,
                                  "alternating", &t);
    CHECK(err == NULL);
    CHECK(t < 2);
    n = err ? NULL : llmp_json_parse_pool(p, out.body, out.len);
    CHECK_INT(cJSON_GetArraySize(at(n, "messages")), N);
    CHECK_STR(at_str(n, "messages.99999.role"), "assistant");
    CHECK_STR(at_str(n, "messages.99998.content.0.text"), "a question");

    /* one user turn of N merged messages */
    req = cJSON_CreateObject();
    llmp_json_pool_own(p, req);
    msgs = cJSON_AddArrayToObject(req, "messages");
    for (i = 0; i < N; i++) {
        m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "user");
        cJSON_AddStringToObject(m, "content", i % 3 ? "more" : "");
        cJSON_AddItemToArray(msgs, m);
    }
    x = xlate(p, 0, NULL);
    err = llmp_test_timed_request(&llmp_anthropic_ops, x, req, &out,
                                  "merged", &t);
    CHECK(err == NULL);
    CHECK(t < 2);
    n = err ? NULL : llmp_json_parse_pool(p, out.body, out.len);
    CHECK_INT(cJSON_GetArraySize(at(n, "messages")), 1);
    CHECK_INT(cJSON_GetArraySize(at(n, "messages.0.content")), N - N / 3 - 1);

    /* an assistant turn with N/2 calls, then N/2 tool results mixed with
     * user text: the results come first, in order */
    req = cJSON_CreateObject();
    llmp_json_pool_own(p, req);
    msgs = cJSON_AddArrayToObject(req, "messages");
    m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "user");
    cJSON_AddStringToObject(m, "content", "go");
    cJSON_AddItemToArray(msgs, m);
    m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "assistant");
    calls = cJSON_AddArrayToObject(m, "tool_calls");
    cJSON_AddItemToArray(msgs, m);
    for (i = 0; i < N / 2; i++) {
        c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "id", apr_psprintf(p, "call_%d", i));
        cJSON_AddStringToObject(c, "type", "function");
        fn = cJSON_AddObjectToObject(c, "function");
        cJSON_AddStringToObject(fn, "name", "f");
        cJSON_AddStringToObject(fn, "arguments", "{}");
        cJSON_AddItemToArray(calls, c);
    }
    for (i = 0; i < N / 2; i++) {
        m = cJSON_CreateObject();
        if (i % 2) {
            cJSON_AddStringToObject(m, "role", "user");
            cJSON_AddStringToObject(m, "content",
                                    apr_psprintf(p, "text %d", i));
        }
        else {
            cJSON_AddStringToObject(m, "role", "tool");
            cJSON_AddStringToObject(m, "tool_call_id",
                                    apr_psprintf(p, "call_%d", i));
            cJSON_AddStringToObject(m, "content", "ok");
        }
        cJSON_AddItemToArray(msgs, m);
    }
    x = xlate(p, 0, NULL);
    err = llmp_test_timed_request(&llmp_anthropic_ops, x, req, &out,
                                  "tool results", &t);
    CHECK(err == NULL);
    CHECK(t < 2);
    n = err ? NULL : llmp_json_parse_pool(p, out.body, out.len);
    CHECK_INT(cJSON_GetArraySize(at(n, "messages")), 3);
    CHECK_INT(cJSON_GetArraySize(at(n, "messages.1.content")), N / 2);
    CHECK_INT(cJSON_GetArraySize(at(n, "messages.2.content")), N / 2);
    CHECK_STR(at_str(n, "messages.2.content.0.tool_use_id"), "call_0");
    CHECK_STR(at_str(n, "messages.2.content.1.tool_use_id"), "call_2");
    CHECK_STR(at_str(n, "messages.2.content.24999.tool_use_id"),
              "call_49998");
    CHECK_STR(at_str(n, "messages.2.content.25000.type"), "text");
    CHECK_STR(at_str(n, "messages.2.content.25000.text"), "text 1");
    CHECK_STR(at_str(n, "messages.2.content.49999.text"), "text 49999");
}

static void t_req_tools(apr_pool_t *p)
{
    cJSON *n = req_ok(p,
        "{\"messages\":["
        "{\"role\":\"user\",\"content\":\"weather?\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
        "{\"id\":\"call_1\",\"type\":\"function\",\"function\":"
        "{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}},"
        "{\"id\":\"call_2\",\"type\":\"function\",\"function\":"
        "{\"name\":\"get_time\",\"arguments\":\"\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"18C\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":"
        "[{\"type\":\"text\",\"text\":\"noon\"}]},"
        "{\"role\":\"user\",\"content\":\"thanks\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
        "\"get_weather\",\"description\":\"Weather\",\"strict\":true,"
        "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":"
        "{\"type\":\"string\"}},\"required\":[\"city\"]}}},"
        "{\"type\":\"function\",\"function\":{\"name\":\"get_time\"}}],"
        "\"tool_choice\":\"required\",\"parallel_tool_calls\":false}");

    CHECK(n != NULL);
    if (!n) return;
    CHECK_INT(cJSON_GetArraySize(at(n, "messages")), 3);
    CHECK_STR(at_str(n, "messages.1.role"), "assistant");
    CHECK_INT(cJSON_GetArraySize(at(n, "messages.1.content")), 2);
    CHECK_STR(at_str(n, "messages.1.content.0.type"), "tool_use");
    CHECK_STR(at_str(n, "messages.1.content.0.id"), "call_1");
    CHECK_STR(at_str(n, "messages.1.content.0.name"), "get_weather");
    CHECK_STR(at_str(n, "messages.1.content.0.input.city"), "Paris");
    CHECK(cJSON_IsObject(at(n, "messages.1.content.1.input")));
    CHECK_INT(cJSON_GetArraySize(at(n, "messages.1.content.1.input")), 0);
    /* both results and the text in one user turn, results first */
    CHECK_STR(at_str(n, "messages.2.role"), "user");
    CHECK_INT(cJSON_GetArraySize(at(n, "messages.2.content")), 3);
    CHECK_STR(at_str(n, "messages.2.content.0.type"), "tool_result");
    CHECK_STR(at_str(n, "messages.2.content.0.tool_use_id"), "call_1");
    CHECK_STR(at_str(n, "messages.2.content.0.content"), "18C");
    CHECK_STR(at_str(n, "messages.2.content.1.tool_use_id"), "call_2");
    CHECK_STR(at_str(n, "messages.2.content.1.content.0.text"), "noon");
    CHECK_STR(at_str(n, "messages.2.content.2.text"), "thanks");
    /* tools */
    CHECK_STR(at_str(n, "tools.0.name"), "get_weather");
    CHECK_STR(at_str(n, "tools.0.description"), "Weather");
    CHECK_STR(at_str(n, "tools.0.input_schema.type"), "object");
    CHECK_STR(at_str(n, "tools.0.input_schema.required.0"), "city");
    CHECK(!at(n, "tools.0.strict"));
    CHECK(!at(n, "tools.1.description"));
    CHECK_STR(at_str(n, "tools.1.input_schema.type"), "object");
    CHECK_STR(at_str(n, "tool_choice.type"), "any");
    CHECK(cJSON_IsTrue(at(n, "tool_choice.disable_parallel_tool_use")));

    /* user text then a late tool result: the result goes first */
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
        "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\",\"type\":"
        "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
        "{\"role\":\"user\",\"content\":\"more\"},"
        "{\"role\":\"tool\",\"tool_call_id\":\"c\",\"content\":\"r\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
        "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"f\"}}}");
    CHECK_STR(at_str(n, "messages.2.content.0.type"), "tool_result");
    CHECK_STR(at_str(n, "messages.2.content.1.text"), "more");
    CHECK_STR(at_str(n, "tool_choice.type"), "tool");
    CHECK_STR(at_str(n, "tool_choice.name"), "f");

    /* result, text, result: both results go before the text */
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
        "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c1\",\"type\":"
        "\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}},"
        "{\"id\":\"c2\",\"type\":\"function\",\"function\":{\"name\":\"f\","
        "\"arguments\":\"{}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"r1\"},"
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"t1\"},"
        "{\"type\":\"text\",\"text\":\"t2\"}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"c2\",\"content\":\"r2\"}]}");
    CHECK_INT(cJSON_GetArraySize(at(n, "messages.2.content")), 4);
    CHECK_STR(at_str(n, "messages.2.content.0.tool_use_id"), "c1");
    CHECK_STR(at_str(n, "messages.2.content.1.tool_use_id"), "c2");
    CHECK_STR(at_str(n, "messages.2.content.2.text"), "t1");
    CHECK_STR(at_str(n, "messages.2.content.3.text"), "t2");

    /* auto / none; tool_choice without tools is dropped */
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
        "\"tool_choice\":\"none\",\"parallel_tool_calls\":false}");
    CHECK_STR(at_str(n, "tool_choice.type"), "none");
    CHECK(!at(n, "tool_choice.disable_parallel_tool_use"));
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],"
        "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
        "\"parallel_tool_calls\":false}");
    CHECK_STR(at_str(n, "tool_choice.type"), "auto");
    CHECK(cJSON_IsTrue(at(n, "tool_choice.disable_parallel_tool_use")));
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],"
        "\"tools\":[],\"tool_choice\":\"auto\"}");
    CHECK(n && !at(n, "tools") && !at(n, "tool_choice"));
}

static void t_req_json_mode(apr_pool_t *p)
{
    cJSON *n = req_ok(p,
        "{\"messages\":[{\"role\":\"system\",\"content\":\"S\"},"
        "{\"role\":\"user\",\"content\":\"q\"}],\"response_format\":"
        "{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\",\"schema\":"
        "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}}}}");
    const char *s;

    CHECK_STR(at_str(n, "system.0.text"), "S");
    s = at_str(n, "system.1.text");
    CHECK(s && strstr(s, "JSON Schema") && strstr(s, "\"a\""));
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],"
               "\"response_format\":{\"type\":\"json_object\"}}");
    s = at_str(n, "system.0.text");
    CHECK(s && strstr(s, "JSON object"));
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"q\"}],"
               "\"response_format\":{\"type\":\"text\"}}");
    CHECK(n && !at(n, "system"));
    /* a PDF file part */
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
               "\"file\",\"file\":{\"filename\":\"a.pdf\",\"file_data\":"
               "\"data:application/pdf;base64,JVBERi0=\"}}]}]}");
    CHECK_STR(at_str(n, "messages.0.content.0.type"), "document");
    CHECK_STR(at_str(n, "messages.0.content.0.source.data"), "JVBERi0=");
}

static void t_req_errors(apr_pool_t *p)
{
    llmp_error_t *e;

    e = req_err(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                "\"n\":2}");
    CHECK(e && e->status == 400);
    CHECK_STR(e ? e->param : NULL, "n");
    e = req_err(p, "{\"messages\":[]}");
    CHECK(e && e->status == 400);
    CHECK_STR(e ? e->param : NULL, "messages");
    e = req_err(p, "{}");
    CHECK(e && e->status == 400);
    e = req_err(p, "{\"messages\":[{\"role\":\"system\",\"content\":\"s\"}]}");
    CHECK(e && e->status == 400);
    e = req_err(p, "{\"messages\":[{\"role\":\"assistant\",\"content\":\"hi\"},"
                "{\"role\":\"user\",\"content\":\"x\"}]}");
    CHECK(e && e->status == 400);
    e = req_err(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
                "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\","
                "\"type\":\"function\",\"function\":{\"name\":\"f\","
                "\"arguments\":\"{not json\"}}]}]}");
    CHECK(e && e->status == 400);
    CHECK_STR(e ? e->param : NULL,
              "messages[1].tool_calls[0].function.arguments");
    e = req_err(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
                "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"c\","
                "\"type\":\"function\",\"function\":{\"name\":\"f\","
                "\"arguments\":\"[1,2]\"}}]}]}");
    CHECK(e && e->status == 400);
    e = req_err(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
                "{\"role\":\"assistant\",\"tool_calls\":[{\"type\":"
                "\"function\",\"function\":{\"name\":\"f\"}}]}]}");
    CHECK(e && e->status == 400);
    e = req_err(p, "{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}");
    CHECK(e && e->status == 400);
    e = req_err(p, "{\"messages\":[{\"role\":\"function\",\"name\":\"f\","
                "\"content\":\"x\"}]}");
    CHECK(e && e->status == 400);
    e = req_err(p, "{\"messages\":[{\"role\":\"user\",\"content\":42}]}");
    CHECK(e && e->status == 400);
    e = req_err(p, "{\"messages\":[{\"role\":\"user\",\"content\":"
                "[{\"type\":\"input_audio\",\"input_audio\":{}}]}]}");
    CHECK(e && e->status == 400);
    e = req_err(p, "{\"messages\":[{\"role\":\"user\",\"content\":"
                "[{\"type\":\"image_url\",\"image_url\":{\"url\":"
                "\"ftp://x/y.png\"}}]}]}");
    CHECK(e && e->status == 400);
    e = req_err(p, "{\"messages\":[{\"role\":\"system\",\"content\":"
                "[{\"type\":\"image_url\",\"image_url\":{\"url\":"
                "\"https://x/y.png\"}}]},{\"role\":\"user\",\"content\":\"x\"}]}");
    CHECK(e && e->status == 400);
    e = req_err(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                "\"temperature\":3}");
    CHECK(e && e->status == 400);
    CHECK_STR(e ? e->param : NULL, "temperature");
    e = req_err(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                "\"max_tokens\":0}");
    CHECK(e && e->status == 400);
    e = req_err(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                "\"max_tokens\":\"ten\"}");
    CHECK(e && e->status == 400);
    e = req_err(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                "\"tools\":[{\"type\":\"web_search\"}]}");
    CHECK(e && e->status == 400);
    e = req_err(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
                "\"f\"}}],\"tool_choice\":\"sometimes\"}");
    CHECK(e && e->status == 400);
    CHECK_STR(e ? e->param : NULL, "tool_choice");
    e = req_err(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                "\"response_format\":{\"type\":\"yaml\"}}");
    CHECK(e && e->status == 400);
    e = req_err(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
                "\"stop\":5}");
    CHECK(e && e->status == 400);
    e = req_err(p, "[1]");
    CHECK(e && e->status == 400);
}

/* ---- response ---- */

static cJSON *resp(apr_pool_t *p, const char *fixture, llmp_error_t **err)
{
    char *out = NULL;
    cJSON *native = llmp_fixture_json(p, fixture);
    apr_size_t outlen = 0;
    llmp_xlate_t *x = xlate(p, 0, NULL);

    *err = llmp_xlate_chat_response(&llmp_anthropic_ops, x, native, &out, &outlen);
    return *err ? NULL : llmp_json_parse_pool(p, out, outlen);
}

static void t_response(apr_pool_t *p)
{
    llmp_error_t *err = NULL;
    cJSON *r = resp(p, "anthropic/messages_response.json", &err);

    CHECK(r != NULL);
    if (!r) return;
    CHECK_STR(at_str(r, "id"), "chatcmpl-test");
    CHECK_STR(at_str(r, "object"), "chat.completion");
    CHECK_STR(at_str(r, "model"), "claude-3-7-sonnet-20250219");
    CHECK_INT(at_num(r, "created"), 1700000000);
    CHECK_STR(at_str(r, "choices.0.message.role"), "assistant");
    CHECK_STR(at_str(r, "choices.0.message.content"),
              "Hello! How can I help you today?");
    CHECK_STR(at_str(r, "choices.0.finish_reason"), "stop");
    CHECK(!at(r, "choices.0.message.tool_calls"));
    CHECK_INT(at_num(r, "usage.prompt_tokens"), 12);
    CHECK_INT(at_num(r, "usage.completion_tokens"), 9);
    CHECK_INT(at_num(r, "usage.total_tokens"), 21);

    r = resp(p, "anthropic/messages_response_tools.json", &err);
    CHECK(r != NULL);
    if (!r) return;
    CHECK_STR(at_str(r, "choices.0.message.content"),
              "I'll check the weather in both cities.");
    CHECK_STR(at_str(r, "choices.0.finish_reason"), "tool_calls");
    CHECK_INT(cJSON_GetArraySize(at(r, "choices.0.message.tool_calls")), 2);
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.id"),
              "toolu_01A09q90qw90lq917835lq9");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.type"), "function");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.function.name"),
              "get_weather");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.function.arguments"),
              "{\"location\":\"San Francisco, CA\",\"unit\":\"celsius\"}");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.1.function.arguments"),
              "{\"location\":\"Paris\"}");
    CHECK_INT(at_num(r, "usage.prompt_tokens"), 472 + 100 + 2048);
    CHECK_INT(at_num(r, "usage.completion_tokens"), 91);
    CHECK_INT(at_num(r, "usage.prompt_tokens_details.cached_tokens"), 2048);

    r = resp(p, "anthropic/messages_response_max_tokens.json", &err);
    CHECK_STR(at_str(r, "choices.0.finish_reason"), "length");
    r = resp(p, "anthropic/messages_response_refusal.json", &err);
    CHECK_STR(at_str(r, "choices.0.finish_reason"), "content_filter");
    CHECK_STR(at_str(r, "choices.0.message.content"), "");

    /* broken answers -> 502 */
    {
        llmp_xlate_t *x = xlate(p, 0, NULL);
        char *out;
        apr_size_t len;
        cJSON *bad = pj(p, "{\"type\":\"message\"}");
        err = llmp_xlate_chat_response(&llmp_anthropic_ops, x, bad, &out, &len);
        CHECK(err && err->status == 502);
        bad = pj(p, "{\"content\":[{\"type\":\"tool_use\"}]}");
        err = llmp_xlate_chat_response(&llmp_anthropic_ops, x, bad, &out, &len);
        CHECK(err && err->status == 502);
        bad = pj(p, "[]");
        err = llmp_xlate_chat_response(&llmp_anthropic_ops, x, bad, &out, &len);
        CHECK(err && err->status == 502);
        bad = pj(p, "{\"type\":\"error\",\"error\":{\"type\":"
                                   "\"overloaded_error\",\"message\":\"O\"}}");
        err = llmp_xlate_chat_response(&llmp_anthropic_ops, x, bad, &out, &len);
        CHECK(err && err->status == 503);
        /* a tool_use whose input is null or missing: "{}" arguments */
        bad = pj(p, "{\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\","
                 "\"name\":\"f\",\"input\":null},{\"type\":\"tool_use\","
                 "\"id\":\"t2\",\"name\":\"g\"}],\"stop_reason\":"
                 "\"tool_use\"}");
        err = llmp_xlate_chat_response(&llmp_anthropic_ops, x, bad, &out, &len);
        CHECK(err == NULL);
        r = err ? NULL : llmp_json_parse_pool(p, out, len);
        CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.function."
                         "arguments"), "{}");
        CHECK_STR(at_str(r, "choices.0.message.tool_calls.1.function."
                         "arguments"), "{}");
    }
}

/* ---- errors ---- */

static llmp_error_t *xerr(apr_pool_t *p, int status, const char *fixture)
{
    apr_size_t len;
    char *body = llmp_fixture(p, fixture, &len);
    cJSON *native = llmp_json_parse_pool(p, body, len);
    return llmp_anthropic_ops.error(xlate(p, 0, NULL), status, native, body,
                                    len);
}

static void t_errors(apr_pool_t *p)
{
    llmp_error_t *e = xerr(p, 400, "anthropic/error_400.json");
    const char *body = "<html>Bad Gateway</html>";

    CHECK_INT(e->status, 400);
    CHECK_STR(e->type, "invalid_request_error");
    CHECK(e->message && strstr(e->message, "roles must alternate"));
    e = xerr(p, 529, "anthropic/error_529.json");
    CHECK_INT(e->status, 503);
    CHECK_STR(e->type, "overloaded_error");
    CHECK_STR(e->message, "Overloaded");
    e = xerr(p, 404, "anthropic/error_404.json");
    CHECK_INT(e->status, 404);
    CHECK_STR(e->type, "invalid_request_error");
    CHECK_STR(e->message, "model: claude-nope");
    {
        char *j = llmp_error_json(p, e);
        CHECK(strstr(j, "\"error\":{") != NULL);
    }
    e = llmp_anthropic_ops.error(xlate(p, 0, NULL), 502, NULL, body,
                                 strlen(body));
    CHECK_INT(e->status, 502);
    CHECK(e->message && strstr(e->message, "Bad Gateway"));
    e = llmp_anthropic_ops.error(xlate(p, 0, NULL), 429,
        pj(p, "{\"response\":{\"type\":\"error\",\"error\":"
                             "{\"type\":\"rate_limit_error\",\"message\":"
                             "\"slow down\"}}}"), NULL, 0);
    CHECK_INT(e->status, 429);
    CHECK_STR(e->type, "rate_limit_error");
    CHECK_STR(e->message, "slow down");
    e = llmp_anthropic_ops.error(xlate(p, 0, NULL), 500,
        pj(p, "{\"type\":\"error\",\"error\":{\"type\":"
                             "\"api_error\",\"message\":\"Internal\"}}"),
        NULL, 0);
    CHECK_INT(e->status, 500);
    CHECK_STR(e->type, "api_error");
    e = llmp_anthropic_ops.error(xlate(p, 0, NULL), 200, NULL, NULL, 0);
    CHECK_INT(e->status, 502);
}

/* ---- stream ---- */

static void t_stream_text(apr_pool_t *p)
{
    sink_t s;
    llmp_xlate_t *x = xlate(p, 1, &s);
    int ended = 0;
    llmp_error_t *err;
    const cJSON *c;

    x->include_usage = 1;
    err = stream_fixture(p, x, "anthropic/stream_text.sse", 1, &ended);
    CHECK(err == NULL);
    CHECK_INT(cJSON_GetArraySize(s.chunks), 5);
    c = cJSON_GetArrayItem(s.chunks, 0);
    CHECK_STR(at_str(c, "object"), "chat.completion.chunk");
    CHECK_STR(at_str(c, "id"), "chatcmpl-test");
    CHECK_STR(at_str(c, "model"), "claude-3-7-sonnet-20250219");
    CHECK_STR(at_str(c, "choices.0.delta.role"), "assistant");
    CHECK_STR(at_str(c, "choices.0.delta.content"), "");
    CHECK(cJSON_IsNull(at(c, "choices.0.finish_reason")));
    CHECK_STR(at_str(cJSON_GetArrayItem(s.chunks, 1),
                     "choices.0.delta.content"),
              "Hello");
    CHECK_STR(at_str(cJSON_GetArrayItem(s.chunks, 2),
                     "choices.0.delta.content"),
              "!");
    c = cJSON_GetArrayItem(s.chunks, 3);
    CHECK_STR(at_str(c, "choices.0.finish_reason"), "stop");
    CHECK_INT(cJSON_GetArraySize(at(c, "choices.0.delta")), 0);
    CHECK(cJSON_IsNull(at(c, "usage")));
    c = cJSON_GetArrayItem(s.chunks, 4);
    CHECK_INT(cJSON_GetArraySize(at(c, "choices")), 0);
    CHECK_INT(at_num(c, "usage.prompt_tokens"), 30);
    CHECK_INT(at_num(c, "usage.completion_tokens"), 15);
    CHECK_INT(at_num(c, "usage.total_tokens"), 45);
    CHECK_INT(at_num(c, "usage.prompt_tokens_details.cached_tokens"), 5);

    /* without include_usage: no usage chunk */
    x = xlate(p, 1, &s);
    err = stream_fixture(p, x, "anthropic/stream_text.sse", 1, &ended);
    CHECK(err == NULL);
    CHECK_INT(cJSON_GetArraySize(s.chunks), 4);
}

static void t_stream_tools(apr_pool_t *p)
{
    sink_t s;
    llmp_xlate_t *x = xlate(p, 1, &s);
    int ended = 0, i, n;
    llmp_error_t *err;
    const cJSON *c;
    const char *args0 = "", *args1 = "";

    x->include_usage = 1;
    err = stream_fixture(p, x, "anthropic/stream_tools.sse", 1, &ended);
    CHECK(err == NULL);
    n = cJSON_GetArraySize(s.chunks);
    /* role, text, call 0 start, 2 pieces, call 1 start, "{}", final, usage */
    CHECK_INT(n, 9);
    CHECK_STR(at_str(cJSON_GetArrayItem(s.chunks, 1),
                     "choices.0.delta.content"),
              "Okay, let's check the weather.");
    c = cJSON_GetArrayItem(s.chunks, 2);
    CHECK_INT(at_num(c, "choices.0.delta.tool_calls.0.index"), 0);
    CHECK_STR(at_str(c, "choices.0.delta.tool_calls.0.id"),
              "toolu_01T1x1fJ34qAmk2tNTrN7Up6");
    CHECK_STR(at_str(c, "choices.0.delta.tool_calls.0.type"), "function");
    CHECK_STR(at_str(c, "choices.0.delta.tool_calls.0.function.name"),
              "get_weather");
    CHECK_STR(at_str(c, "choices.0.delta.tool_calls.0.function.arguments"),
              "");
    c = cJSON_GetArrayItem(s.chunks, 3);
    CHECK(!at(c, "choices.0.delta.tool_calls.0.id"));
    CHECK(!at(c, "choices.0.delta.tool_calls.0.function.name"));
    c = cJSON_GetArrayItem(s.chunks, 5);
    CHECK_INT(at_num(c, "choices.0.delta.tool_calls.0.index"), 1);
    CHECK_STR(at_str(c, "choices.0.delta.tool_calls.0.id"),
              "toolu_02U2y2gK45rBnl3uOUsO8Vq7");
    for (i = 0; i < n; i++) {
        const cJSON *tc = at(cJSON_GetArrayItem(s.chunks, i),
                             "choices.0.delta.tool_calls.0");
        const char *a = at_str(tc, "function.arguments");
        if (!a) continue;
        if (at_num(tc, "index") == 0) args0 = apr_pstrcat(p, args0, a, NULL);
        else args1 = apr_pstrcat(p, args1, a, NULL);
    }
    CHECK_STR(args0, "{\"location\": \"San Francisco, CA\"}");
    CHECK_STR(args1, "{}");
    c = cJSON_GetArrayItem(s.chunks, 7);
    CHECK_STR(at_str(c, "choices.0.finish_reason"), "tool_calls");
    c = cJSON_GetArrayItem(s.chunks, 8);
    CHECK_INT(at_num(c, "usage.prompt_tokens"), 472);
    CHECK_INT(at_num(c, "usage.completion_tokens"), 89);
    /* thinking never reaches the client */
    for (i = 0; i < n; i++) {
        char *j = print(p, cJSON_GetArrayItem(s.chunks, i));
        CHECK(!strstr(j, "I need the weather") && !strstr(j, "EqQB"));
    }
}

static void t_stream_errors(apr_pool_t *p)
{
    sink_t s;
    llmp_xlate_t *x = xlate(p, 1, &s);
    int ended = 0;
    llmp_error_t *err;
    static const char ev[] = "{\"type\":\"content_block_delta\",\"index\":0,"
                             "\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}";

    /* an error event mid-stream */
    err = stream_fixture(p, x, "anthropic/stream_error.sse", 1, &ended);
    CHECK(err != NULL);
    CHECK_INT(ended, 0);
    CHECK_INT(err ? err->status : 0, 503);
    CHECK_STR(err ? err->type : NULL, "overloaded_error");
    CHECK_STR(err ? err->message : NULL, "Overloaded");
    CHECK_INT(cJSON_GetArraySize(s.chunks), 2);      /* role, "Partial" */
    /* nothing more after it; end does not add a second error */
    CHECK(llmp_anthropic_ops.chat_stream_event(x, "content_block_delta", ev,
                                               strlen(ev)) == NULL);
    CHECK_INT(cJSON_GetArraySize(s.chunks), 2);
    CHECK(llmp_anthropic_ops.chat_stream_end(x, 1) == NULL);

    /* the stream ends without message_stop */
    x = xlate(p, 1, &s);
    err = stream_fixture(p, x, "anthropic/stream_truncated.sse", 1, &ended);
    CHECK(err && ended && err->status == 502);
    CHECK(err && strstr(err->message, "message_stop"));
    x = xlate(p, 1, &s);
    err = stream_fixture(p, x, "anthropic/stream_truncated.sse", 0, &ended);
    CHECK(err && ended && err->status == 502);
    /* an empty stream */
    x = xlate(p, 1, &s);
    CHECK(llmp_anthropic_ops.chat_stream_end(x, 1) != NULL);
    /* everything up to message_delta with its stop_reason, a clean close,
     * but no message_stop: still incomplete, no finish chunk */
    x = xlate(p, 1, &s);
    err = stream_fixture(p, x, "anthropic/stream_no_stop.sse", 1, &ended);
    CHECK(err && ended && err->status == 502);
    CHECK(err && strstr(err->message, "message_stop"));
    CHECK_INT(cJSON_GetArraySize(s.chunks), 2);      /* role, "All done" */
    CHECK(cJSON_IsNull(at(cJSON_GetArrayItem(s.chunks, 1),
                          "choices.0.finish_reason")));

    /* unknown events and non-JSON noise are skipped; a known event with a
     * broken payload is an error */
    x = xlate(p, 1, &s);
    CHECK(llmp_anthropic_ops.chat_stream_event(x, "brand_new",
          "{\"type\":\"brand_new\"}", 20) == NULL);
    CHECK(llmp_anthropic_ops.chat_stream_event(x, "", "hello", 5) == NULL);
    CHECK(llmp_anthropic_ops.chat_stream_event(x, "ping", "", 0) == NULL);
    CHECK_INT(cJSON_GetArraySize(s.chunks), 0);
    err = llmp_anthropic_ops.chat_stream_event(x, "content_block_delta",
                                               "{oops", 5);
    CHECK(err && err->status == 502);
    /* a non-JSON error event */
    x = xlate(p, 1, &s);
    err = llmp_anthropic_ops.chat_stream_event(x, "error", "boom\n!", 6);
    CHECK(err && err->status == 502 && strstr(err->message, "boom"));
    /* a tool_use block without an id: no placeholder, an error */
    x = xlate(p, 1, &s);
    {
        static const char noid[] = "{\"type\":\"content_block_start\","
            "\"index\":0,\"content_block\":{\"type\":\"tool_use\","
            "\"name\":\"f\",\"input\":{}}}";
        err = llmp_anthropic_ops.chat_stream_event(x, "content_block_start",
                                                   noid, strlen(noid));
    }
    CHECK(err && err->status == 502);
    /* the client went away: emit fails */
    x = xlate(p, 1, &s);
    s.fail_after = 0;
    err = stream_fixture(p, x, "anthropic/stream_text.sse", 1, &ended);
    CHECK(err != NULL);
}

static void t_stream_misc(apr_pool_t *p)
{
    sink_t s;
    llmp_xlate_t *x = xlate(p, 1, &s);
    int ended = 0;
    llmp_error_t *err;
    /* event names missing (type only), tool input given at start only,
     * max_tokens, a server tool's input deltas skipped */
    static const char sse[] =
        "data: {\"type\":\"message_start\",\"message\":{\"usage\":"
        "{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
        "data: {\"type\":\"content_block_start\",\"index\":0,"
        "\"content_block\":{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\","
        "\"name\":\"web_search\",\"input\":{}}}\n\n"
        "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":"
        "{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"q\\\":1}\"}}\n\n"
        "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
        "data: {\"type\":\"content_block_start\",\"index\":1,"
        "\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_9\","
        "\"name\":\"f\",\"input\":{\"a\":1}}}\n\n"
        "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
        "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
        "\"max_tokens\"},\"usage\":{\"output_tokens\":7}}\n\n"
        "data: {\"type\":\"message_stop\"}\n\n"
        "data: {\"type\":\"message_stop\"}\n\n";

    err = run_stream(p, x, sse, strlen(sse), 1, &ended);
    CHECK(err == NULL);
    CHECK_INT(cJSON_GetArraySize(s.chunks), 4);
    CHECK_INT(at_num(cJSON_GetArrayItem(s.chunks, 1),
                  "choices.0.delta.tool_calls.0.index"), 0);
    CHECK_STR(at_str(cJSON_GetArrayItem(s.chunks, 2),
                  "choices.0.delta.tool_calls.0.function.arguments"),
              "{\"a\":1}");
    CHECK_STR(at_str(cJSON_GetArrayItem(s.chunks, 3),
                     "choices.0.finish_reason"),
              "length");
}

/* ---- reasoning ---- */

/* reasoning_effort -> thinking, budget_tokens below max_tokens. */
static void t_req_thinking(apr_pool_t *p)
{
    cJSON *n;
    llmp_error_t *err;

    /* no max_tokens from the client: raised above the budget; sampling
     * settings dropped silently */
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
               "\"reasoning_effort\":\"high\",\"temperature\":0.2,"
               "\"top_p\":0.5,\"top_k\":5}");
    CHECK_STR(at_str(n, "thinking.type"), "enabled");
    CHECK_INT(at_num(n, "thinking.budget_tokens"), 16384);
    CHECK_INT(at_num(n, "max_tokens"), 16384 + 1024);
    CHECK(!at(n, "temperature") && !at(n, "top_p") && !at(n, "top_k"));
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
               "\"reasoning_effort\":\"minimal\"}");
    CHECK_INT(at_num(n, "thinking.budget_tokens"), 1024);
    CHECK_INT(at_num(n, "max_tokens"), 2048);
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
               "\"reasoning_effort\":\"low\"}");
    CHECK_INT(at_num(n, "thinking.budget_tokens"), 1024);
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
               "\"reasoning_effort\":\"medium\",\"max_tokens\":50000}");
    CHECK_INT(at_num(n, "thinking.budget_tokens"), 4096);
    CHECK_INT(at_num(n, "max_tokens"), 50000);
    /* the client's max_tokens: the budget is lowered under it */
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
               "\"reasoning_effort\":\"medium\","
               "\"max_completion_tokens\":2000}");
    CHECK_INT(at_num(n, "thinking.budget_tokens"), 1999);
    CHECK_INT(at_num(n, "max_tokens"), 2000);
    /* ... and left out below 1024; the sampling settings stay then */
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
               "\"reasoning_effort\":\"high\",\"max_tokens\":1024,"
               "\"temperature\":0.2}");
    CHECK(!at(n, "thinking"));
    CHECK_INT(at_num(n, "max_tokens"), 1024);
    CHECK(at_num(n, "temperature") == 0.2);
    /* none, null, absent: no thinking */
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
               "\"reasoning_effort\":\"none\",\"temperature\":0.2}");
    CHECK(!at(n, "thinking"));
    CHECK(at_num(n, "temperature") == 0.2);
    CHECK_INT(at_num(n, "max_tokens"), 1024);
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
               "\"reasoning_effort\":null}");
    CHECK(n && !at(n, "thinking"));
    err = req_err(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                  "\"reasoning_effort\":\"huge\"}");
    CHECK(err && err->status == 400);
    CHECK_STR(err ? err->param : NULL, "reasoning_effort");
    err = req_err(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
                  "\"reasoning_effort\":3}");
    CHECK(err && err->status == 400);

    /* a forced tool: no thinking (Anthropic allows only auto/none) */
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
               "\"reasoning_effort\":\"high\",\"tool_choice\":\"required\","
               "\"tools\":[{\"type\":\"function\",\"function\":"
               "{\"name\":\"f\"}}]}");
    CHECK(n && !at(n, "thinking"));
    CHECK_STR(at_str(n, "tool_choice.type"), "any");
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
               "\"reasoning_effort\":\"high\",\"tool_choice\":\"auto\","
               "\"tools\":[{\"type\":\"function\",\"function\":"
               "{\"name\":\"f\"}}]}");
    CHECK_STR(at_str(n, "thinking.type"), "enabled");
    /* a tool_use turn without its reasoning: no thinking (Anthropic
     * would refuse the turn) */
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
               "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{"
               "\"id\":\"t1\",\"type\":\"function\",\"function\":{"
               "\"name\":\"f\",\"arguments\":\"{}\"}}]},"
               "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"ok\"}],"
               "\"reasoning_effort\":\"high\","
               "\"tools\":[{\"type\":\"function\",\"function\":"
               "{\"name\":\"f\"}}]}");
    CHECK(n && !at(n, "thinking"));
    /* a prefill (the last turn the assistant's): no thinking either */
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
               "{\"role\":\"assistant\",\"content\":\"{\"}],"
               "\"reasoning_effort\":\"high\"}");
    CHECK(n && !at(n, "thinking"));
    CHECK_STR(at_str(n, "messages.1.role"), "assistant");
}

/* Thinking only for models that have it (Anthropic answers 400 "thinking
 * is not supported for this model" otherwise): Claude 3.7 and 4 or later by
 * the version in the id; an alias only when LLMProxyReasoningModels names
 * it. Elsewhere the effort is dropped and so is signed reasoning. */
static void t_req_thinking_models(apr_pool_t *p)
{
    static const char *const yes[] = { "claude-3-7-sonnet-20250219",
        "claude-sonnet-4-20250514", "claude-opus-4-1-20250805",
        "claude-opus-4-5", "claude-haiku-4-5-20251001", "claude-4-sonnet",
        "claude-sonnet-5", "claude-opus-4@20250514",
        "anthropic.claude-sonnet-4-5-20250929-v1:0", "Claude-Sonnet-4",
        NULL };
    static const char *const no[] = { "claude-3-5-haiku-20241022",
        "claude-3-5-sonnet-latest", "claude-3-opus-20240229",
        "claude-3-haiku-20240307", "claude-2.1", "claude-2",
        "claude-instant-1.2", "claude-v2", "my-claude", "sonnet", NULL };
    static const char *const pats[] = { "my-claude*", "*-thinking" };
    const char *body = "{\"messages\":[{\"role\":\"user\",\"content\":"
                       "\"Hi\"}],\"reasoning_effort\":\"high\","
                       "\"temperature\":0.2}";
    const char *signed_turn = "{\"messages\":[{\"role\":\"user\","
        "\"content\":\"Hi\"},{\"role\":\"assistant\",\"content\":\"Hello\","
        "\"reasoning_content\":\"T\",\"reasoning_signature\":\"EqQBsig\"},"
        "{\"role\":\"user\",\"content\":\"More\"}],"
        "\"reasoning_effort\":\"low\"}";
    apr_array_header_t *a = apr_array_make(p, 2, sizeof(const char *));
    llmp_xlate_opts_t o = opts;
    llmp_xlate_t *x;
    llmp_error_t *err;
    cJSON *n;
    int i;

    for (i = 0; yes[i]; i++) {
        x = xlate(p, 0, NULL);
        x->model_id = yes[i];
        err = NULL;
        n = xreq(p, x, body, NULL, &err);
        CHECK(!err);
        CHECK_STR(at_str(n, "thinking.type"), "enabled");
        if (!at(n, "thinking")) fprintf(stderr, "  model %s\n", yes[i]);
    }
    for (i = 0; no[i]; i++) {
        x = xlate(p, 0, NULL);
        x->model_id = no[i];
        err = NULL;
        n = xreq(p, x, body, NULL, &err);
        CHECK(!err && n && !at(n, "thinking"));
        if (at(n, "thinking")) fprintf(stderr, "  model %s\n", no[i]);
        /* without thinking the sampling settings stay */
        CHECK(at_num(n, "temperature") > 0.19 && at_num(n, "temperature") < 0.21);
        CHECK_INT(at_num(n, "max_tokens"), 1024);
        /* and signed reasoning is not sent back */
        x = xlate(p, 0, NULL);
        x->model_id = no[i];
        n = xreq(p, x, signed_turn, NULL, &err);
        CHECK_STR(at_str(n, "messages.1.content.0.type"), "text");
        CHECK_INT(cJSON_GetArraySize(at(n, "messages.1.content")), 1);
    }
    /* an invalid value is still refused */
    x = xlate(p, 0, NULL);
    x->model_id = "claude-3-5-haiku-20241022";
    err = NULL;
    xreq(p, x, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
         "\"reasoning_effort\":\"huge\"}", NULL, &err);
    CHECK(err && err->status == 400);
    /* aliases the administrator names */
    for (i = 0; i < 2; i++) APR_ARRAY_PUSH(a, const char *) = pats[i];
    o.reasoning_models = a;
    x = xlate(p, 0, NULL);
    x->model_id = "my-claude";
    x->opts = &o;
    n = xreq(p, x, body, NULL, &err);
    CHECK_INT(at_num(n, "thinking.budget_tokens"), 16384);
    x = xlate(p, 0, NULL);
    x->model_id = "house-model-thinking";
    x->opts = &o;
    n = xreq(p, x, signed_turn, NULL, &err);
    CHECK_INT(at_num(n, "thinking.budget_tokens"), 1024);
    CHECK_STR(at_str(n, "messages.1.content.0.type"), "thinking");
    x = xlate(p, 0, NULL);
    x->model_id = "house-model";
    x->opts = &o;
    n = xreq(p, x, body, NULL, &err);
    CHECK(n && !at(n, "thinking"));
}

/* The reasoning of an earlier turn goes back as a signed thinking block. */
static void t_req_thinking_roundtrip(apr_pool_t *p)
{
    cJSON *n;

    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
               "{\"role\":\"assistant\",\"content\":\"Let me check.\","
               "\"reasoning_content\":\"Think first.\","
               "\"reasoning_signature\":\"EqQBsig\",\"tool_calls\":[{"
               "\"id\":\"t1\",\"type\":\"function\",\"function\":{"
               "\"name\":\"f\",\"arguments\":\"{}\"}}]},"
               "{\"role\":\"tool\",\"tool_call_id\":\"t1\",\"content\":\"ok\"}],"
               "\"reasoning_effort\":\"high\","
               "\"tools\":[{\"type\":\"function\",\"function\":"
               "{\"name\":\"f\"}}]}");
    CHECK_STR(at_str(n, "thinking.type"), "enabled");
    CHECK_STR(at_str(n, "messages.1.role"), "assistant");
    CHECK_STR(at_str(n, "messages.1.content.0.type"), "thinking");
    CHECK_STR(at_str(n, "messages.1.content.0.thinking"), "Think first.");
    CHECK_STR(at_str(n, "messages.1.content.0.signature"), "EqQBsig");
    CHECK_STR(at_str(n, "messages.1.content.1.text"), "Let me check.");
    CHECK_STR(at_str(n, "messages.1.content.2.type"), "tool_use");
    CHECK_INT(cJSON_GetArraySize(at(n, "messages.1.content")), 3);
    /* no signature: no thinking block (Anthropic refuses unsigned ones) */
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
               "{\"role\":\"assistant\",\"content\":\"Hello\","
               "\"reasoning_content\":\"Think first.\"},"
               "{\"role\":\"user\",\"content\":\"More\"}]}");
    CHECK_STR(at_str(n, "messages.1.content.0.type"), "text");
    CHECK_INT(cJSON_GetArraySize(at(n, "messages.1.content")), 1);
    CHECK(!at(n, "thinking"));
    /* a signature with an empty text is kept: the signature is the proof */
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"},"
               "{\"role\":\"assistant\",\"content\":\"Hello\","
               "\"reasoning_signature\":\"EqQBsig\"},"
               "{\"role\":\"user\",\"content\":\"More\"}]}");
    CHECK_STR(at_str(n, "messages.1.content.0.type"), "thinking");
    CHECK_STR(at_str(n, "messages.1.content.0.thinking"), "");
}

/* The IR extras of the Responses front: dropped or mapped, never sent as
 * they are (the strict API refuses unknown members). */
static void t_req_ir_extras(apr_pool_t *p)
{
    cJSON *n, *m;

    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":["
               "{\"type\":\"text\",\"text\":\"Read\"},"
               "{\"type\":\"file\",\"file\":{\"file_data\":"
               "\"data:application/pdf;base64,JVBERi0x\",\"filename\":"
               "\"a.pdf\"}}],\"x_llmp\":{\"id\":\"msg_1\"}}],"
               "\"x_llmp\":{\"item\":1},\"verbosity\":\"low\","
               "\"prompt_cache_key\":\"k\",\"store\":false,"
               "\"metadata\":{\"user_id\":\"u-7\",\"other\":\"x\"}}");
    CHECK(n != NULL);
    for (m = n ? n->child : NULL; m; m = m->next) {
        CHECK(!strcmp(m->string, "model") || !strcmp(m->string, "messages")
              || !strcmp(m->string, "max_tokens")
              || !strcmp(m->string, "metadata"));
    }
    CHECK_STR(at_str(n, "metadata.user_id"), "u-7");
    CHECK_INT(cJSON_GetArraySize(at(n, "metadata")), 1);
    CHECK_INT(cJSON_GetArraySize(at(n, "messages.0")), 2);
    CHECK_STR(at_str(n, "messages.0.content.1.type"), "document");
    CHECK_STR(at_str(n, "messages.0.content.1.source.media_type"),
              "application/pdf");
    CHECK_STR(at_str(n, "messages.0.content.1.source.data"), "JVBERi0x");
    CHECK_STR(at_str(n, "messages.0.content.1.title"), "a.pdf");
    /* user wins over metadata.user_id; metadata without it: none */
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
               "\"user\":\"u-1\",\"metadata\":{\"user_id\":\"u-7\"}}");
    CHECK_STR(at_str(n, "metadata.user_id"), "u-1");
    n = req_ok(p, "{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}],"
               "\"metadata\":{\"other\":\"x\"}}");
    CHECK(n && !at(n, "metadata"));
}

static cJSON *resp_x(apr_pool_t *p, llmp_xlate_t *x, const char *fixture)
{
    cJSON *out = NULL;
    llmp_error_t *err = llmp_anthropic_ops.chat_response(
        x, llmp_fixture_json(p, fixture), &out);
    apr_size_t len;
    char *text = err ? NULL : llmp_json_print(p, out, &len);

    /* printed and read back, as the front sees it */
    return text ? llmp_json_parse_pool(p, text, len) : NULL;
}

static void t_response_thinking(apr_pool_t *p)
{
    llmp_xlate_t *x = xlate(p, 0, NULL);
    cJSON *r;

    /* the chat front: reasoning dropped, as before */
    r = resp_x(p, x, "anthropic/messages_response_thinking.json");
    CHECK(r != NULL);
    CHECK_STR(at_str(r, "choices.0.message.content"), "Let me check.");
    CHECK(!at(r, "choices.0.message.reasoning_content"));
    CHECK(!at(r, "choices.0.message.reasoning_signature"));
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.function.name"),
              "get_weather");
    /* a front that wants it: texts joined, the last signature */
    x = xlate(p, 0, NULL);
    x->want_reasoning = 1;
    r = resp_x(p, x, "anthropic/messages_response_thinking.json");
    CHECK(r != NULL);
    CHECK_STR(at_str(r, "choices.0.message.content"), "Let me check.");
    CHECK_STR(at_str(r, "choices.0.message.reasoning_content"),
              "The user wants the weather. Call the tool.");
    CHECK_STR(at_str(r, "choices.0.message.reasoning_signature"),
              "EuYBCkQYAiJAsig2");
    CHECK_STR(at_str(r, "choices.0.finish_reason"), "tool_calls");
    CHECK_INT(at_num(r, "usage.completion_tokens"), 120);
    /* without thinking blocks: no reasoning members */
    x = xlate(p, 0, NULL);
    x->want_reasoning = 1;
    r = resp_x(p, x, "anthropic/messages_response.json");
    CHECK(r && !at(r, "choices.0.message.reasoning_content"));
}

static void t_stream_thinking(apr_pool_t *p)
{
    sink_t s;
    llmp_xlate_t *x = xlate(p, 1, &s);
    int ended = 0, i;
    llmp_error_t *err;

    /* the chat front: the same chunks as without thinking */
    err = stream_fixture(p, x, "anthropic/stream_thinking.sse", 1, &ended);
    CHECK(err == NULL);
    CHECK_INT(cJSON_GetArraySize(s.chunks), 3);
    CHECK_STR(at_str(cJSON_GetArrayItem(s.chunks, 1),
                     "choices.0.delta.content"), "Done.");
    for (i = 0; i < cJSON_GetArraySize(s.chunks); i++) {
        const cJSON *d = at(cJSON_GetArrayItem(s.chunks, i),
                            "choices.0.delta");
        CHECK(!llmp_json_get(d, "reasoning_content"));
        CHECK(!llmp_json_get(d, "reasoning_signature"));
    }

    /* a front that wants it: pieces as they come, the signature once */
    x = xlate(p, 1, &s);
    x->want_reasoning = 1;
    err = stream_fixture(p, x, "anthropic/stream_thinking.sse", 1, &ended);
    CHECK(err == NULL);
    CHECK_INT(cJSON_GetArraySize(s.chunks), 6);
    CHECK_STR(at_str(cJSON_GetArrayItem(s.chunks, 0),
                     "choices.0.delta.role"), "assistant");
    CHECK_STR(at_str(cJSON_GetArrayItem(s.chunks, 1),
                     "choices.0.delta.reasoning_content"), "Let me ");
    CHECK_STR(at_str(cJSON_GetArrayItem(s.chunks, 2),
                     "choices.0.delta.reasoning_content"), "think.");
    CHECK_STR(at_str(cJSON_GetArrayItem(s.chunks, 3),
                     "choices.0.delta.reasoning_signature"),
              "EqQBCgIYAhIM1gbcDa9GJwZA2b3h");
    CHECK(!at(cJSON_GetArrayItem(s.chunks, 3), "choices.0.delta.content"));
    CHECK_STR(at_str(cJSON_GetArrayItem(s.chunks, 4),
                     "choices.0.delta.content"), "Done.");
    CHECK_STR(at_str(cJSON_GetArrayItem(s.chunks, 5),
                     "choices.0.finish_reason"), "stop");
}

TEST_MAIN_BEGIN("anthropic")
    RUN(t_req_basic);
    RUN(t_req_defaults);
    RUN(t_req_merge);
    RUN(t_req_version_header);
    RUN(t_req_many_messages);
    RUN(t_req_tools);
    RUN(t_req_json_mode);
    RUN(t_req_errors);
    RUN(t_response);
    RUN(t_errors);
    RUN(t_stream_text);
    RUN(t_stream_tools);
    RUN(t_stream_errors);
    RUN(t_stream_misc);
    RUN(t_req_thinking);
    RUN(t_req_thinking_models);
    RUN(t_req_thinking_roundtrip);
    RUN(t_req_ir_extras);
    RUN(t_response_thinking);
    RUN(t_stream_thinking);
TEST_MAIN_END
