/* Unit tests: the Gemini translator (chat request/response/stream,
 * embeddings, errors) against the wire fixtures in tests/fixtures/gemini. */
#include "llmp_test.h"
#include "llmp_provider.h"
#include "llmp_sse.h"

#define MAXCH 64

typedef struct {
    int n;
    cJSON *chunk[MAXCH];
    int fail_after;      /* emit fails after this many chunks (0: never) */
} sink_t;

static apr_status_t sink_emit(void *baton, const char *data, apr_size_t len)
{
    sink_t *s = baton;

    if (s->fail_after && s->n >= s->fail_after) return APR_EGENERAL;
    if (s->n < MAXCH) s->chunk[s->n] = cJSON_ParseWithLength(data, len);
    s->n++;
    return APR_SUCCESS;
}

static void sink_free(sink_t *s)
{
    int i;
    for (i = 0; i < s->n && i < MAXCH; i++) cJSON_Delete(s->chunk[i]);
}

static const llmp_xlate_opts_t opts = { 4096, "search_document" };

static llmp_xlate_t *mkx(apr_pool_t *p, const char *handle, const char *model,
                         int stream, sink_t *s)
{
    llmp_xlate_t *x = apr_pcalloc(p, sizeof(*x));
    x->pool = p;
    x->model_id = model;
    x->handle = handle;
    x->id = "chatcmpl-test";
    x->created = 1700000000;
    x->stream = stream;
    x->opts = &opts;
    x->emit = sink_emit;
    x->emit_baton = s;
    return x;
}

static cJSON *parse(apr_pool_t *p, const char *s)
{
    return llmp_json_parse_pool(p, s, strlen(s));
}

static cJSON *fixture_json(apr_pool_t *p, const char *name)
{
    return llmp_fixture_json(p, apr_pstrcat(p, "gemini/", name, NULL));
}

/* ---- request ---- */

static cJSON *native_of(apr_pool_t *p, llmp_native_req_t *out)
{
    return llmp_json_parse_pool(p, out->body, out->len);
}

static void t_paths(apr_pool_t *p)
{
    llmp_native_req_t out;
    cJSON *req = parse(p, "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
                          "\"content\":\"hi\"}]}");
    struct { const char *handle, *model; int stream; const char *path; }
    cases[] = {
        { "/google/v1beta/models/gemini-2.0-flash:generateContent",
          "gemini-2.0-flash", 0,
          "/google/v1beta/models/gemini-2.0-flash:generateContent" },
        { "/google/v1beta/models/gemini-2.0-flash:generateContent",
          "gemini-2.0-flash", 1,
          "/google/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse" },
        { "/google/v1beta/models", "gemini-1.5-pro", 0,
          "/google/v1beta/models/gemini-1.5-pro:generateContent" },
        { "/google/v1beta/models/", "models/gemini-1.5-pro", 1,
          "/google/v1beta/models/gemini-1.5-pro:streamGenerateContent?alt=sse" },
        { "/gemini/v1beta/models/x:streamGenerateContent", "x", 0,
          "/gemini/v1beta/models/x:generateContent" },
        { "/gemini/v1beta/models/x:streamGenerateContent?alt=sse", "x", 1,
          "/gemini/v1beta/models/x:streamGenerateContent?alt=sse" },
        { "/raw/google/v1beta/models/x:generateContent?tag=a", "x", 1,
          "/raw/google/v1beta/models/x:streamGenerateContent?alt=sse&tag=a" },
        { "/raw/google/v1beta/models/x:streamGenerateContent?alt=sse&t=b",
          "x", 0, "/raw/google/v1beta/models/x:generateContent?t=b" },
        { NULL, NULL, 0, NULL }
    };
    int i;

    for (i = 0; cases[i].handle; i++) {
        llmp_xlate_t *x = mkx(p, cases[i].handle, cases[i].model,
                              cases[i].stream, NULL);
        memset(&out, 0, sizeof(out));
        CHECK(llmp_gemini_ops.chat_request(x, req, &out) == NULL);
        CHECK_STR(out.path, cases[i].path);
        CHECK_INT(out.stream, cases[i].stream);
    }
}

static void t_request_full(apr_pool_t *p)
{
    llmp_xlate_t *x = mkx(p, "/google/v1beta/models/gemini-2.0-flash:"
                          "generateContent", "gemini-2.0-flash", 0, NULL);
    cJSON *req = fixture_json(p, "request_chat.json"), *n;
    llmp_native_req_t out;
    const cJSON *c, *params;

    memset(&out, 0, sizeof(out));
    CHECK(llmp_gemini_ops.chat_request(x, req, &out) == NULL);
    n = native_of(p, &out);
    CHECK(n != NULL);
    /* exactly the allowed top-level members */
    cJSON_ArrayForEach(c, n) {
        CHECK(!strcmp(c->string, "contents")
              || !strcmp(c->string, "systemInstruction")
              || !strcmp(c->string, "generationConfig")
              || !strcmp(c->string, "tools")
              || !strcmp(c->string, "toolConfig"));
    }
    CHECK_STR(at_str(n, "systemInstruction.parts.0.text"), "You are terse.");
    CHECK_STR(at_str(n, "systemInstruction.parts.1.text"),
              "Answer in English.");
    /* user, user merged */
    CHECK_INT(cJSON_GetArraySize(at(n, "contents")), 5);
    CHECK_STR(at_str(n, "contents.0.role"), "user");
    CHECK_STR(at_str(n, "contents.0.parts.0.text"),
              "What is the weather in Paris?");
    CHECK_STR(at_str(n, "contents.0.parts.1.text"), "Also look at these.");
    CHECK_STR(at_str(n, "contents.0.parts.2.inlineData.mimeType"),
              "image/png");
    CHECK_STR(at_str(n, "contents.0.parts.2.inlineData.data"),
              "iVBORw0KGgo=");
    CHECK_STR(at_str(n, "contents.0.parts.3.fileData.mimeType"),
              "image/webp");
    CHECK_STR(at_str(n, "contents.0.parts.3.fileData.fileUri"),
              "https://example.com/pics/cat.webp?size=2");
    CHECK_STR(at_str(n, "contents.0.parts.4.fileData.mimeType"),
              "image/jpeg");
    /* assistant tool calls */
    CHECK_STR(at_str(n, "contents.1.role"), "model");
    CHECK_STR(at_str(n, "contents.1.parts.0.functionCall.name"),
              "get_weather");
    CHECK_STR(at_str(n, "contents.1.parts.0.functionCall.args.location"),
              "Paris");
    CHECK_STR(at_str(n, "contents.1.parts.0.thoughtSignature"), "c2ln");
    CHECK_STR(at_str(n, "contents.1.parts.1.functionCall.name"), "get_time");
    CHECK(cJSON_IsObject(at(n, "contents.1.parts.1.functionCall.args")));
    CHECK(at(n, "contents.1.parts.1.thoughtSignature") == NULL);
    /* tool results, names found from the ids */
    CHECK_STR(at_str(n, "contents.2.role"), "user");
    CHECK_STR(at_str(n, "contents.2.parts.0.functionResponse.name"),
              "get_weather");
    CHECK_INT(at_num(n, "contents.2.parts.0.functionResponse.response.temp"),
              21);
    CHECK_STR(at_str(n, "contents.2.parts.1.functionResponse.name"),
              "get_time");
    CHECK_STR(at_str(n, "contents.2.parts.1.functionResponse.response."
                     "content"), "12:00");
    CHECK_STR(at_str(n, "contents.3.role"), "model");
    CHECK_STR(at_str(n, "contents.3.parts.0.text"), "It is 21C at noon.");
    CHECK_STR(at_str(n, "contents.4.role"), "user");
    /* generationConfig */
    CHECK(at_num(n, "generationConfig.temperature") == 0.2);
    CHECK(at_num(n, "generationConfig.topP") == 0.9);
    CHECK_INT(at_num(n, "generationConfig.maxOutputTokens"), 256);
    CHECK_STR(at_str(n, "generationConfig.stopSequences.0"), "END");
    CHECK_INT(at_num(n, "generationConfig.candidateCount"), 2);
    CHECK_INT(at_num(n, "generationConfig.seed"), 42);
    CHECK_STR(at_str(n, "generationConfig.responseMimeType"),
              "application/json");
    CHECK_STR(at_str(n, "generationConfig.responseSchema.type"), "object");
    CHECK(at(n, "generationConfig.responseSchema.additionalProperties")
          == NULL);
    CHECK_STR(at_str(n, "generationConfig.responseSchema.required.0"),
              "answer");
    CHECK(at(n, "generationConfig.presencePenalty") == NULL);
    /* tools, schema cleaned */
    CHECK_STR(at_str(n, "tools.0.functionDeclarations.0.name"),
              "get_weather");
    CHECK_STR(at_str(n, "tools.0.functionDeclarations.0.description"),
              "Weather for a place");
    params = at(n, "tools.0.functionDeclarations.0.parameters");
    CHECK(params != NULL);
    CHECK(at(params, "$schema") == NULL);
    CHECK(at(params, "additionalProperties") == NULL);
    CHECK(at(params, "$defs") == NULL);
    CHECK(at(params, "properties.location.format") == NULL);
    CHECK_STR(at_str(params, "properties.location.description"), "City");
    CHECK_STR(at_str(params, "properties.unit.type"), "string");
    CHECK(cJSON_IsTrue(at(params, "properties.unit.nullable")));
    CHECK_STR(at_str(params, "properties.unit.enum.1"), "fahrenheit");
    CHECK(at(params, "properties.unit.anyOf") == NULL);
    CHECK_STR(at_str(params, "properties.days.type"), "integer");
    CHECK(cJSON_IsTrue(at(params, "properties.days.nullable")));
    CHECK_INT(at_num(params, "properties.days.minimum"), 1);
    CHECK_STR(at_str(params, "properties.place.type"), "object");
    CHECK_STR(at_str(params, "properties.place.properties.lat.type"),
              "number");
    CHECK(at(params, "properties.place.additionalProperties") == NULL);
    CHECK_STR(at_str(params, "required.0"), "location");
    /* empty object parameters omitted */
    CHECK_STR(at_str(n, "tools.0.functionDeclarations.1.name"), "get_time");
    CHECK(at(n, "tools.0.functionDeclarations.1.parameters") == NULL);
    CHECK_STR(at_str(n, "toolConfig.functionCallingConfig.mode"), "ANY");
    CHECK_STR(at_str(n, "toolConfig.functionCallingConfig."
                     "allowedFunctionNames.0"), "get_weather");
}

static void t_request_choices(apr_pool_t *p)
{
    static const struct { const char *tc, *mode; } cases[] = {
        { "\"auto\"", "AUTO" }, { "\"none\"", "NONE" },
        { "\"required\"", "ANY" }, { NULL, NULL } };
    int i;

    for (i = 0; cases[i].tc; i++) {
        llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "g", 0, NULL);
        llmp_native_req_t out;
        cJSON *req = parse(p, apr_psprintf(p,
            "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
            "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
            "\"parameters\":{\"type\":\"object\",\"properties\":{\"a\":"
            "{\"type\":\"string\"}}}}}],\"tool_choice\":%s,"
            "\"response_format\":{\"type\":\"json_object\"}}", cases[i].tc));
        cJSON *n;
        memset(&out, 0, sizeof(out));
        CHECK(llmp_gemini_ops.chat_request(x, req, &out) == NULL);
        n = native_of(p, &out);
        CHECK_STR(at_str(n, "toolConfig.functionCallingConfig.mode"),
                  cases[i].mode);
        CHECK(at(n, "toolConfig.functionCallingConfig.allowedFunctionNames")
              == NULL);
        CHECK_STR(at_str(n, "tools.0.functionDeclarations.0.parameters."
                         "properties.a.type"), "string");
        CHECK_STR(at_str(n, "generationConfig.responseMimeType"),
                  "application/json");
        CHECK(at(n, "generationConfig.responseSchema") == NULL);
        CHECK(at(n, "generationConfig.candidateCount") == NULL);
        CHECK(at(n, "systemInstruction") == NULL);
    }
}

static void t_request_errors(apr_pool_t *p)
{
    static const char *const bad[] = {
        "{}",
        "{\"messages\":[]}",
        "{\"messages\":\"hi\"}",
        "{\"messages\":[{\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":42}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"video\"}]}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
            "\"image_url\",\"image_url\":{\"url\":\"ftp://x/y.png\"}}]}]}",
        "{\"messages\":[{\"role\":\"system\",\"content\":[{\"type\":"
            "\"image_url\",\"image_url\":{\"url\":\"https://x/y.png\"}}]}]}",
        "{\"messages\":[{\"role\":\"tool\",\"tool_call_id\":\"nope\","
            "\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\","
            "\"function\":{\"name\":\"f\",\"arguments\":\"[1]\"}}]}]}",
        "{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\","
            "\"function\":{\"arguments\":\"{}\"}}]}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":0}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
            "\"tool_choice\":\"required\"}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
            "\"tools\":[{\"type\":\"function\",\"function\":{}}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
            "\"response_format\":{\"type\":\"yaml\"}}",
        /* $ref fan-out: 2^32 nodes if expanded */
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
            "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
            "\"f\",\"parameters\":{\"$ref\":\"#/$defs/A\",\"$defs\":{\"A\":"
            "{\"type\":\"object\",\"properties\":{\"a\":{\"$ref\":"
            "\"#/$defs/A\"},\"b\":{\"$ref\":\"#/$defs/A\"}}}}}}}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
            "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
            "{\"schema\":{\"$ref\":\"#/definitions/A\",\"definitions\":{\"A\":"
            "{\"type\":\"array\",\"anyOf\":[{\"$ref\":\"#/definitions/A\"},"
            "{\"$ref\":\"#/definitions/A\"},{\"$ref\":\"#/definitions/A\"}]}}}}}}",
        NULL };
    int i;

    for (i = 0; bad[i]; i++) {
        llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "g", 0, NULL);
        llmp_native_req_t out;
        llmp_error_t *e;
        memset(&out, 0, sizeof(out));
        e = llmp_gemini_ops.chat_request(x, parse(p, bad[i]), &out);
        CHECK(e != NULL);
        if (e) CHECK_INT(e->status, 400);
        else fprintf(stderr, "  accepted: %s\n", bad[i]);
    }
}

static void t_request_misc(apr_pool_t *p)
{
    llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "g", 0, NULL);
    llmp_native_req_t out;
    cJSON *n;

    /* legacy function role, audio and file parts, assistant text parts */
    memset(&out, 0, sizeof(out));
    CHECK(llmp_gemini_ops.chat_request(x, parse(p,
        "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":"
        "\"input_audio\",\"input_audio\":{\"data\":\"UklGRg==\",\"format\":"
        "\"wav\"}},{\"type\":\"file\",\"file\":{\"file_data\":"
        "\"data:application/pdf;base64,JVBERi0=\",\"filename\":\"a.pdf\"}}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"ok\"}]},{\"role\":\"function\",\"name\":\"f\",\"content\":"
        "\"[1,2]\"}],\"stop\":\"S\",\"max_tokens\":10}"), &out) == NULL);
    n = native_of(p, &out);
    CHECK_STR(at_str(n, "contents.0.parts.0.inlineData.mimeType"),
              "audio/wav");
    CHECK_STR(at_str(n, "contents.0.parts.1.inlineData.mimeType"),
              "application/pdf");
    CHECK_STR(at_str(n, "contents.0.parts.1.inlineData.data"), "JVBERi0=");
    CHECK_STR(at_str(n, "contents.1.parts.0.text"), "ok");
    CHECK_STR(at_str(n, "contents.2.parts.0.functionResponse.name"), "f");
    CHECK_STR(at_str(n, "contents.2.parts.0.functionResponse.response."
                     "content"), "[1,2]");
    CHECK_STR(at_str(n, "generationConfig.stopSequences.0"), "S");
    CHECK_INT(at_num(n, "generationConfig.maxOutputTokens"), 10);
}

/* ---- response ---- */

static cJSON *respond(apr_pool_t *p, const char *fixture, llmp_error_t **e)
{
    llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "gemini-2.0-flash", 0,
                          NULL);
    char *out = NULL;
    apr_size_t len = 0;

    *e = llmp_gemini_ops.chat_response(x, fixture_json(p, fixture), &out,
                                       &len);
    return *e ? NULL : llmp_json_parse_pool(p, out, len);
}

static void t_response(apr_pool_t *p)
{
    llmp_error_t *e;
    cJSON *r = respond(p, "response_text.json", &e);

    CHECK(r != NULL);
    CHECK_STR(at_str(r, "id"), "chatcmpl-test");
    CHECK_STR(at_str(r, "object"), "chat.completion");
    CHECK_STR(at_str(r, "model"), "gemini-2.0-flash");
    CHECK_INT(at_num(r, "created"), 1700000000);
    CHECK_STR(at_str(r, "choices.0.message.role"), "assistant");
    CHECK_STR(at_str(r, "choices.0.message.content"),
              "Hello! How can I help you today?");
    CHECK_STR(at_str(r, "choices.0.finish_reason"), "stop");
    CHECK_INT(at_num(r, "usage.prompt_tokens"), 12);
    CHECK_INT(at_num(r, "usage.completion_tokens"), 29);
    CHECK_INT(at_num(r, "usage.total_tokens"), 41);
    CHECK_INT(at_num(r, "usage.prompt_tokens_details.cached_tokens"), 4);
    CHECK_INT(at_num(r, "usage.completion_tokens_details.reasoning_tokens"),
              20);

    r = respond(p, "response_tool.json", &e);
    CHECK(r != NULL);
    CHECK(cJSON_IsNull(at(r, "choices.0.message.content")));
    CHECK_STR(at_str(r, "choices.0.finish_reason"), "tool_calls");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.id"),
              "call_0_get_weather__thought__CiQB0e2Kb+sig/AA==");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.type"), "function");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.function.name"),
              "get_weather");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.0.function.arguments"),
              "{\"location\":\"Paris\",\"unit\":\"celsius\"}");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.1.id"),
              "call_1_get_time");
    CHECK_STR(at_str(r, "choices.0.message.tool_calls.1.function.arguments"),
              "{\"tz\":\"Europe/Paris\"}");
    CHECK_INT(at_num(r, "usage.total_tokens"), 65);
    CHECK(at(r, "usage.prompt_tokens_details") == NULL);

    r = respond(p, "response_blocked.json", &e);
    CHECK(r != NULL);
    CHECK_INT(cJSON_GetArraySize(at(r, "choices")), 1);
    CHECK(cJSON_IsNull(at(r, "choices.0.message.content")));
    CHECK_STR(at_str(r, "choices.0.finish_reason"), "content_filter");
    CHECK_INT(at_num(r, "usage.prompt_tokens"), 8);

    r = respond(p, "response_multi.json", &e);
    CHECK(r != NULL);
    CHECK_INT(cJSON_GetArraySize(at(r, "choices")), 3);
    CHECK_STR(at_str(r, "choices.1.message.content"), "Two is a long");
    CHECK_STR(at_str(r, "choices.1.finish_reason"), "length");
    CHECK_INT(at_num(r, "choices.2.index"), 2);
    CHECK(cJSON_IsNull(at(r, "choices.2.message.content")));
    CHECK_STR(at_str(r, "choices.2.finish_reason"), "content_filter");

    /* an error body in a 2xx, or garbage */
    {
        llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "g", 0, NULL);
        char *out;
        apr_size_t len;
        e = llmp_gemini_ops.chat_response(x, fixture_json(p, "error_503.json"),
                                          &out, &len);
        CHECK(e && e->status == 503);
        e = llmp_gemini_ops.chat_response(x, parse(p, "[1]"), &out, &len);
        CHECK(e && e->status == 502);
        e = llmp_gemini_ops.chat_response(x, parse(p, "{\"candidates\":7}"),
                                          &out, &len);
        CHECK(e && e->status == 502);
        e = llmp_gemini_ops.chat_response(x, parse(p,
                "{\"candidates\":[{\"index\":1e9}]}"), &out, &len);
        CHECK(e && e->status == 502);
    }
}

/* ---- stream ---- */

/* Feeds a fixture stream through the real SSE parser; returns the error
 * of the event or of the end. */
static llmp_error_t *run_stream(apr_pool_t *p, const char *fixture,
                                int include_usage, int complete, sink_t *s)
{
    apr_size_t len;
    char *buf = llmp_fixture(p, apr_pstrcat(p, "gemini/", fixture, NULL),
                             &len);
    llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "gemini-2.0-flash", 1,
                          s);
    llmp_error_t *err;

    x->include_usage = include_usage;
    err = llmp_feed_sse(p, &llmp_gemini_ops, x, buf, len, 0, 1 << 20);
    if (err) return err;
    return llmp_gemini_ops.chat_stream_end(x, complete);
}

static void t_stream_text(apr_pool_t *p)
{
    sink_t s;
    llmp_error_t *e;

    memset(&s, 0, sizeof(s));
    e = run_stream(p, "stream_text.sse", 1, 1, &s);
    CHECK(e == NULL);
    CHECK_INT(s.n, 6);
    CHECK_STR(at_str(s.chunk[0], "object"), "chat.completion.chunk");
    CHECK_STR(at_str(s.chunk[0], "id"), "chatcmpl-test");
    CHECK_STR(at_str(s.chunk[0], "model"), "gemini-2.0-flash");
    CHECK_STR(at_str(s.chunk[0], "choices.0.delta.role"), "assistant");
    CHECK_STR(at_str(s.chunk[0], "choices.0.delta.content"), "");
    CHECK(cJSON_IsNull(at(s.chunk[0], "choices.0.finish_reason")));
    CHECK_STR(at_str(s.chunk[1], "choices.0.delta.content"), "The");
    CHECK(at(s.chunk[1], "choices.0.delta.role") == NULL);
    CHECK_STR(at_str(s.chunk[2], "choices.0.delta.content"), " sky is blue");
    CHECK_STR(at_str(s.chunk[3], "choices.0.delta.content"),
              " because of Rayleigh scattering.");
    CHECK_INT(cJSON_GetArraySize(at(s.chunk[4], "choices.0.delta")), 0);
    CHECK_STR(at_str(s.chunk[4], "choices.0.finish_reason"), "stop");
    CHECK_INT(cJSON_GetArraySize(at(s.chunk[5], "choices")), 0);
    CHECK_INT(at_num(s.chunk[5], "usage.prompt_tokens"), 6);
    CHECK_INT(at_num(s.chunk[5], "usage.completion_tokens"), 11);
    CHECK_INT(at_num(s.chunk[5], "usage.total_tokens"), 17);
    sink_free(&s);

    /* no usage chunk unless asked */
    memset(&s, 0, sizeof(s));
    CHECK(run_stream(p, "stream_text.sse", 0, 1, &s) == NULL);
    CHECK_INT(s.n, 5);
    sink_free(&s);
}

static void t_stream_tool(apr_pool_t *p)
{
    sink_t s;

    memset(&s, 0, sizeof(s));
    CHECK(run_stream(p, "stream_tool.sse", 1, 1, &s) == NULL);
    CHECK_INT(s.n, 6);
    CHECK_STR(at_str(s.chunk[1], "choices.0.delta.content"), "Checking.");
    CHECK_INT(at_num(s.chunk[2], "choices.0.delta.tool_calls.0.index"), 0);
    CHECK_STR(at_str(s.chunk[2], "choices.0.delta.tool_calls.0.id"),
              "call_0_get_weather__thought__c2lnbmF0dXJl");
    CHECK_STR(at_str(s.chunk[2], "choices.0.delta.tool_calls.0.type"),
              "function");
    CHECK_STR(at_str(s.chunk[2], "choices.0.delta.tool_calls.0.function."
                     "name"), "get_weather");
    CHECK_STR(at_str(s.chunk[2], "choices.0.delta.tool_calls.0.function."
                     "arguments"), "{\"location\":\"Paris\"}");
    CHECK_INT(at_num(s.chunk[3], "choices.0.delta.tool_calls.0.index"), 1);
    CHECK_STR(at_str(s.chunk[3], "choices.0.delta.tool_calls.0.id"),
              "call_1_get_time");
    CHECK_STR(at_str(s.chunk[3], "choices.0.delta.tool_calls.0.function."
                     "arguments"), "{}");
    CHECK_STR(at_str(s.chunk[4], "choices.0.finish_reason"), "tool_calls");
    CHECK_INT(at_num(s.chunk[5], "usage.completion_tokens"), 37);
    CHECK_INT(at_num(s.chunk[5], "usage.completion_tokens_details."
                     "reasoning_tokens"), 25);
    sink_free(&s);
}

static void t_stream_errors(apr_pool_t *p)
{
    sink_t s;
    llmp_error_t *e;

    memset(&s, 0, sizeof(s));
    e = run_stream(p, "stream_error.sse", 1, 1, &s);
    CHECK(e != NULL);
    if (e) {
        CHECK_INT(e->status, 503);
        CHECK_STR(e->message, "The model is overloaded. Please try again "
                  "later.");
        CHECK_STR(e->code, "UNAVAILABLE");
    }
    CHECK_INT(s.n, 2);
    sink_free(&s);

    memset(&s, 0, sizeof(s));
    e = run_stream(p, "stream_truncated.sse", 1, 1, &s);
    CHECK(e != NULL && e->status == 502);
    sink_free(&s);

    memset(&s, 0, sizeof(s));
    e = run_stream(p, "stream_truncated.sse", 1, 0, &s);
    CHECK(e != NULL && e->status == 502);
    sink_free(&s);

    /* a drop after the finish is a complete answer */
    memset(&s, 0, sizeof(s));
    CHECK(run_stream(p, "stream_text.sse", 0, 0, &s) == NULL);
    sink_free(&s);

    memset(&s, 0, sizeof(s));
    CHECK(run_stream(p, "stream_blocked.sse", 1, 1, &s) == NULL);
    CHECK_INT(s.n, 3);
    CHECK_STR(at_str(s.chunk[1], "choices.0.finish_reason"),
              "content_filter");
    CHECK_INT(at_num(s.chunk[2], "usage.prompt_tokens"), 9);
    sink_free(&s);

    /* no events at all */
    {
        llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "g", 1, &s);
        memset(&s, 0, sizeof(s));
        e = llmp_gemini_ops.chat_stream_end(x, 1);
        CHECK(e != NULL && e->status == 502);
        /* garbage and unknown events */
        CHECK(llmp_gemini_ops.chat_stream_event(x, "", "nope", 4) != NULL);
        CHECK(llmp_gemini_ops.chat_stream_event(x, "ping", "nope", 4)
              == NULL);
        CHECK(llmp_gemini_ops.chat_stream_event(x, "", "", 0) == NULL);
        CHECK(llmp_gemini_ops.chat_stream_event(x, "", "{\"x\":1}", 7)
              == NULL);
        CHECK_INT(s.n, 0);
    }
    /* client gone: emit fails */
    memset(&s, 0, sizeof(s));
    s.fail_after = 1;
    e = run_stream(p, "stream_text.sse", 0, 1, &s);
    CHECK(e != NULL);
    sink_free(&s);
}

/* ---- embeddings ---- */

static void t_embeddings(apr_pool_t *p)
{
    llmp_xlate_t *x = mkx(p, "/google/v1beta/models/text-embedding-004:"
                          "embedContent", "text-embedding-004", 0, NULL);
    llmp_native_req_t out;
    cJSON *n, *r;
    char *body;
    apr_size_t len;

    memset(&out, 0, sizeof(out));
    CHECK(llmp_gemini_ops.embeddings_request(x, parse(p,
        "{\"model\":\"text-embedding-004\",\"input\":[\"a\",\"b\"],"
        "\"dimensions\":4}"), &out) == NULL);
    CHECK_STR(out.path, "/google/v1beta/models/text-embedding-004:"
              "batchEmbedContents");
    n = native_of(p, &out);
    CHECK_INT(cJSON_GetArraySize(at(n, "requests")), 2);
    CHECK_STR(at_str(n, "requests.0.model"), "models/text-embedding-004");
    CHECK_STR(at_str(n, "requests.1.content.parts.0.text"), "b");
    CHECK_INT(at_num(n, "requests.1.outputDimensionality"), 4);
    CHECK(llmp_gemini_ops.embeddings_response(x, fixture_json(p,
              "embed_response.json"), &body, &len) == NULL);
    r = parse(p, body);
    CHECK_STR(at_str(r, "object"), "list");
    CHECK_STR(at_str(r, "model"), "text-embedding-004");
    CHECK_INT(at_num(r, "data.1.index"), 1);
    CHECK(at_num(r, "data.1.embedding.1") == -0.25);
    CHECK_INT(at_num(r, "usage.prompt_tokens"), 0);

    /* base64, collection handle, one input */
    x = mkx(p, "/google/v1beta/models", "models/embedding-001", 0, NULL);
    memset(&out, 0, sizeof(out));
    CHECK(llmp_gemini_ops.embeddings_request(x, parse(p,
        "{\"input\":\"hello\",\"encoding_format\":\"base64\"}"), &out)
          == NULL);
    CHECK_STR(out.path, "/google/v1beta/models/embedding-001:"
              "batchEmbedContents");
    n = native_of(p, &out);
    CHECK_STR(at_str(n, "requests.0.model"), "models/embedding-001");
    CHECK(at(n, "requests.0.outputDimensionality") == NULL);
    CHECK(llmp_gemini_ops.embeddings_response(x, parse(p,
        "{\"embeddings\":[{\"values\":[1.0,-2.0]}]}"), &body, &len) == NULL);
    r = parse(p, body);
    /* 1.0f = 00 00 80 3f, -2.0f = 00 00 00 c0 */
    CHECK_STR(at_str(r, "data.0.embedding"), "AACAPwAAAMA=");
    /* count mismatch, bad vectors */
    CHECK(llmp_gemini_ops.embeddings_response(x, fixture_json(p,
              "embed_response.json"), &body, &len) != NULL);
    CHECK(llmp_gemini_ops.embeddings_response(x, parse(p,
        "{\"embeddings\":[{\"values\":[\"x\"]}]}"), &body, &len) != NULL);
    CHECK(llmp_gemini_ops.embeddings_response(x, parse(p, "{}"), &body,
                                              &len) != NULL);

    /* client mistakes */
    CHECK(llmp_gemini_ops.embeddings_request(x, parse(p,
        "{\"input\":\"a\",\"encoding_format\":\"hex\"}"), &out)->status
          == 400);
    CHECK(llmp_gemini_ops.embeddings_request(x, parse(p,
        "{\"input\":[1,2]}"), &out)->status == 400);
    CHECK(llmp_gemini_ops.embeddings_request(x, parse(p,
        "{\"input\":\"a\",\"dimensions\":0}"), &out)->status == 400);
    CHECK(llmp_gemini_ops.embeddings_request(x, parse(p, "{}"), &out)->status
          == 400);
}

/* ---- errors ---- */

static void t_errors(apr_pool_t *p)
{
    llmp_xlate_t *x = mkx(p, "/google/v1beta/models", "g", 0, NULL);
    llmp_error_t *e;
    const char *raw = "<html>Bad Gateway</html>";

    e = llmp_gemini_ops.error(x, 400, fixture_json(p, "error_400.json"),
                              "", 0);
    CHECK_INT(e->status, 400);
    CHECK_STR(e->type, "invalid_request_error");
    CHECK_STR(e->code, "INVALID_ARGUMENT");
    CHECK(strstr(e->message, "contents is not specified") != NULL);
    e = llmp_gemini_ops.error(x, 429, fixture_json(p, "error_429.json"),
                              "", 0);
    CHECK_INT(e->status, 429);
    CHECK_STR(e->type, "rate_limit_error");
    CHECK_STR(e->message, "Resource has been exhausted (e.g. check quota).");
    e = llmp_gemini_ops.error(x, 503, fixture_json(p, "error_503.json"),
                              "", 0);
    CHECK_INT(e->status, 503);
    /* array-wrapped, and a status only in the body */
    e = llmp_gemini_ops.error(x, 0, parse(p, "[{\"error\":{\"code\":404,"
        "\"message\":\"models/x is not found\",\"status\":\"NOT_FOUND\"}}]"),
        "", 0);
    CHECK_INT(e->status, 404);
    CHECK_STR(e->message, "models/x is not found");
    e = llmp_gemini_ops.error(x, 200, parse(p, "{\"error\":{\"message\":"
        "\"m\",\"status\":\"RESOURCE_EXHAUSTED\"}}"), "", 0);
    CHECK_INT(e->status, 429);
    e = llmp_gemini_ops.error(x, 529, NULL, raw, strlen(raw));
    CHECK_INT(e->status, 503);
    CHECK(strstr(e->message, "Bad Gateway") != NULL);
    e = llmp_gemini_ops.error(x, 418, NULL, NULL, 0);
    CHECK_INT(e->status, 418);
    e = llmp_gemini_ops.error(x, 507, parse(p, "{\"message\":\"x\"}"), "", 0);
    CHECK_INT(e->status, 502);
    CHECK_STR(e->message, "x");
}

TEST_MAIN_BEGIN("gemini")
    RUN(t_paths);
    RUN(t_request_full);
    RUN(t_request_choices);
    RUN(t_request_errors);
    RUN(t_request_misc);
    RUN(t_response);
    RUN(t_stream_text);
    RUN(t_stream_tool);
    RUN(t_stream_errors);
    RUN(t_embeddings);
    RUN(t_errors);
TEST_MAIN_END
