/* Unit tests: the OpenAPI document (/openapi.json) built from the base
 * docs/openapi-base.json and the live parts (src/llmp_openapi.c). */
#include "llmp_test.h"
#include "llmp_openapi.h"
#include "llmp_openai.h"

static const char *SMALL =
    "{\"openapi\":\"3.1.0\",\"info\":{\"title\":\"t\",\"version\":\"1\","
    "\"description\":\"base\"},\"servers\":[{\"url\":\"/\"}],"
    "\"paths\":{\"/v1/chat/completions\":{\"post\":{\"requestBody\":{"
    "\"content\":{\"application/json\":{\"example\":{\"model\":\"MODEL\"}}}}"
    "}},\"/v1/embeddings\":{\"post\":{\"requestBody\":{\"content\":{"
    "\"application/json\":{\"example\":{\"model\":\"MODEL\"}}}}}},"
    "\"/v1/images/generations\":{\"post\":{\"requestBody\":{\"content\":{"
    "\"application/json\":{\"example\":{\"model\":\"fixed\"}}}}}}},"
    "\"components\":{\"schemas\":{\"LLMProxyModelId\":{\"type\":\"string\"},"
    "\"A\":{\"example\":{\"model\":\"MODEL\"}}},"
    "\"securitySchemes\":{\"bearerAuth\":{\"type\":\"http\","
    "\"scheme\":\"bearer\"},\"apiKeyHeader\":{\"type\":\"apiKey\","
    "\"in\":\"header\",\"name\":\"x-api-key\"}}}}";

static apr_array_header_t *models(apr_pool_t *p)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(llmp_openapi_model_t));
    llmp_openapi_model_t *m;

    m = apr_array_push(a); m->id = "text-embedding-3-small";
    m->kind = LLMP_KIND_EMBEDDINGS;
    m = apr_array_push(a); m->id = "gpt-4o-mini"; m->kind = LLMP_KIND_CHAT;
    m = apr_array_push(a); m->id = "gpt-4o-mini"; m->kind = LLMP_KIND_CHAT;
    m = apr_array_push(a); m->id = "claude-3-7"; m->kind = LLMP_KIND_CHAT;
    return a;
}

static cJSON *build(apr_pool_t *p, const char *base, llmp_openapi_opts_t *o)
{
    const char *err = NULL;
    apr_size_t n = 0;
    char *out = llmp_openapi_build(p, base, strlen(base), o, &n, &err);

    CHECK(out != NULL);
    if (!out) { fprintf(stderr, "  err: %s\n", err); return NULL; }
    CHECK_INT(n, strlen(out));
    return llmp_json_parse_pool(p, out, n);
}

#define AT(o, k) cJSON_GetObjectItemCaseSensitive((o), (k))

static void test_live_parts(apr_pool_t *p)
{
    llmp_openapi_opts_t o = { "/llm", 0, models(p) };
    cJSON *d = build(p, SMALL, &o), *e, *sec;
    const char *desc;

    if (!d) return;
    CHECK_STR(AT(AT(d, "servers")->child, "url")->valuestring, "/llm");
    CHECK_INT(cJSON_GetArraySize(AT(d, "servers")), 1);
    e = AT(AT(AT(AT(d, "components"), "schemas"), "LLMProxyModelId"), "enum");
    CHECK_INT(cJSON_GetArraySize(e), 3);          /* duplicate listed once */
    CHECK_STR(cJSON_GetArrayItem(e, 0)->valuestring, "text-embedding-3-small");
    CHECK_STR(cJSON_GetArrayItem(e, 2)->valuestring, "claude-3-7");
    /* examples: a model of the kind the endpoint needs */
    CHECK_STR(AT(AT(AT(AT(AT(AT(AT(d, "paths"), "/v1/chat/completions"),
        "post"), "requestBody"), "content"), "application/json"),
        "example")->child->valuestring, "gpt-4o-mini");
    CHECK_STR(AT(AT(AT(AT(AT(AT(AT(d, "paths"), "/v1/embeddings"),
        "post"), "requestBody"), "content"), "application/json"),
        "example")->child->valuestring, "text-embedding-3-small");
    /* no image model: the first one; a fixed example stays */
    CHECK_STR(AT(AT(AT(AT(AT(AT(AT(d, "paths"), "/v1/images/generations"),
        "post"), "requestBody"), "content"), "application/json"),
        "example")->child->valuestring, "fixed");
    CHECK_STR(AT(AT(AT(AT(d, "components"), "schemas"), "A"),
                 "example")->child->valuestring, "gpt-4o-mini");
    desc = AT(AT(d, "info"), "description")->valuestring;
    CHECK(!strncmp(desc, "base\n\nModels served now (3 ", 26));
    CHECK(strstr(desc, "`claude-3-7`") != NULL);
    /* optional security: {} first, then each scheme */
    sec = AT(d, "security");
    CHECK_INT(cJSON_GetArraySize(sec), 3);
    CHECK(cJSON_IsObject(sec->child) && !sec->child->child);
    CHECK(AT(cJSON_GetArrayItem(sec, 1), "bearerAuth") != NULL);
    CHECK(AT(cJSON_GetArrayItem(sec, 2), "apiKeyHeader") != NULL);
}

static void test_required_and_no_list(apr_pool_t *p)
{
    llmp_openapi_opts_t o = { NULL, 1, NULL };
    cJSON *d = build(p, SMALL, &o), *sec;

    if (!d) return;
    CHECK_STR(AT(AT(d, "servers")->child, "url")->valuestring, "/");
    sec = AT(d, "security");
    CHECK_INT(cJSON_GetArraySize(sec), 2);
    CHECK(AT(sec->child, "bearerAuth") != NULL);
    CHECK(AT(AT(AT(AT(d, "components"), "schemas"), "LLMProxyModelId"),
             "enum") == NULL);
    CHECK(strstr(AT(AT(d, "info"), "description")->valuestring,
                 "no model list yet") != NULL);
    /* the placeholder stays without models */
    CHECK_STR(AT(AT(AT(AT(d, "components"), "schemas"), "A"),
                 "example")->child->valuestring, "MODEL");
}

static void test_bad_base(apr_pool_t *p)
{
    llmp_openapi_opts_t o = { "/", 0, NULL };
    const char *err = NULL;
    apr_size_t n;

    CHECK(llmp_openapi_build(p, "[1]", 3, &o, &n, &err) == NULL);
    CHECK(err != NULL);
    err = NULL;
    CHECK(llmp_openapi_build(p, "{\"openapi\":\"3.0.3\",\"paths\":{}}", 30,
                             &o, &n, &err) == NULL);
    CHECK(err && strstr(err, "3.1"));
    err = NULL;
    CHECK(llmp_openapi_build(p, "{\"openapi\":\"3.1.0\",\"paths\":{}}", 30,
                             &o, &n, &err) == NULL);
    CHECK(err && strstr(err, "LLMProxyModelId"));
    CHECK(llmp_openapi_build(p, "{\"openapi\":", 11, &o, &n, &err) == NULL);
}

/* The shipped base: every endpoint, the models of each request, the error
 * shapes of both protocols. */
static void test_shipped_base(apr_pool_t *p)
{
    static const char *const paths[] = {
        "/v1/chat/completions", "/v1/responses", "/v1/messages",
        "/v1/messages/count_tokens", "/v1/embeddings",
        "/v1/images/generations", "/v1/completions", "/v1/models",
        "/v1/models/{model}", "/v1/responses/{response_id}", "/health"
    };
    static const char *const reqs[] = {
        "CreateChatCompletionRequest", "CreateResponse",
        "AnthropicMessagesRequest", "CreateEmbeddingRequest",
        "CreateImageRequest", "CreateCompletionRequest"
    };
    apr_size_t len;
    char *base = llmp_fixture(p, "../../docs/openapi-base.json", &len);
    llmp_openapi_opts_t o = { "/", 1, models(p) };
    cJSON *d, *schemas, *resp;
    char *text;
    unsigned i;

    d = build(p, base, &o);
    if (!d) return;
    for (i = 0; i < sizeof(paths) / sizeof(*paths); i++) {
        llmp_t_current = paths[i];
        CHECK(AT(AT(d, "paths"), paths[i]) != NULL);
    }
    llmp_t_current = "test_shipped_base";
    schemas = AT(AT(d, "components"), "schemas");
    for (i = 0; i < sizeof(reqs) / sizeof(*reqs); i++) {
        /* the request's model refers to the live enum */
        text = cJSON_PrintUnformatted(AT(schemas, reqs[i]));
        CHECK(text && strstr(text, "\"model\":{\"$ref\":"
                             "\"#/components/schemas/LLMProxyModelId\""));
        free(text);
    }
    CHECK(AT(schemas, "ErrorResponse") != NULL);
    CHECK(AT(schemas, "AnthropicErrorResponse") != NULL);
    resp = AT(AT(AT(AT(d, "paths"), "/v1/messages"), "post"), "responses");
    CHECK_STR(AT(AT(resp, "429"), "$ref")->valuestring,
              "#/components/responses/AnthropicError429");
    resp = AT(AT(AT(AT(d, "paths"), "/v1/chat/completions"), "post"),
              "responses");
    CHECK_STR(AT(AT(resp, "404"), "$ref")->valuestring,
              "#/components/responses/OpenAIError404");
    CHECK_INT(cJSON_GetArraySize(AT(d, "security")), 2);
    CHECK_INT(cJSON_GetArraySize(AT(AT(schemas, "LLMProxyModelId"), "enum")),
              3);
    /* /health needs no key */
    CHECK_INT(cJSON_GetArraySize(AT(AT(AT(AT(d, "paths"), "/health"), "get"),
                                    "security")), 0);
}

static void test_server_url(apr_pool_t *p)
{
    CHECK_STR(llmp_openapi_server_url(p, "/openapi.json", "/openapi.json"),
              "/");
    CHECK_STR(llmp_openapi_server_url(p, "/docs/openapi.json", "/docs"), "/");
    CHECK_STR(llmp_openapi_server_url(p, "/docs/openapi.json", "/docs/"),
              "/");
    CHECK_STR(llmp_openapi_server_url(p, "/llm/docs/openapi.json",
                                      "/llm/docs"), "/llm");
    CHECK_STR(llmp_openapi_server_url(p, "/llm/openapi.json", NULL), "/llm");
    CHECK_STR(llmp_openapi_server_url(p, "/llm/openapi.json",
                                      "/llm/openapi.json"), "/llm");
    CHECK_STR(llmp_openapi_server_url(p, "/openapi.json", "/"), "/");
    CHECK_STR(llmp_openapi_server_url(p, "openapi.json", NULL), "/");
}

TEST_MAIN_BEGIN("openapi")
    RUN(test_live_parts);
    RUN(test_required_and_no_list);
    RUN(test_bad_base);
    RUN(test_shipped_base);
    RUN(test_server_url);
TEST_MAIN_END
