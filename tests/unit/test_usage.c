/* Unit tests: token counts of every usage shape, the cost and its text,
 * what a stream's chunk tells (content, a "usage": null member). */
#include <math.h>
#include "llmp_test.h"
#include "llmp_usage.h"

static cJSON *js(apr_pool_t *p, const char *text)
{
    cJSON *j = cJSON_Parse(text);

    (void)p;
    return j;
}

static void t_take_chat(apr_pool_t *p)
{
    llmp_usage_t u;
    cJSON *j;

    memset(&u, 0, sizeof(u));
    j = js(p, "{\"prompt_tokens\":120,\"completion_tokens\":30,"
              "\"total_tokens\":150,\"prompt_tokens_details\":"
              "{\"cached_tokens\":100},\"completion_tokens_details\":"
              "{\"reasoning_tokens\":10}}");
    CHECK_INT(llmp_usage_take(&u, j, LLMP_USAGE_CHAT), 1);
    CHECK_INT(u.has_tokens, 1);
    CHECK_INT(u.prompt_tokens, 120);
    CHECK_INT(u.completion_tokens, 30);
    CHECK_INT(u.cached_tokens, 100);
    cJSON_Delete(j);
    /* embeddings: no completion tokens; a later report replaces field by
     * field */
    j = js(p, "{\"prompt_tokens\":7,\"total_tokens\":7}");
    CHECK_INT(llmp_usage_take(&u, j, LLMP_USAGE_CHAT), 1);
    CHECK_INT(u.prompt_tokens, 7);
    CHECK_INT(u.completion_tokens, 30);
    cJSON_Delete(j);
    /* nothing to take */
    memset(&u, 0, sizeof(u));
    j = js(p, "{\"total_tokens\":\"x\",\"prompt_tokens\":-1}");
    CHECK_INT(llmp_usage_take(&u, j, LLMP_USAGE_CHAT), 0);
    CHECK_INT(llmp_usage_take(&u, NULL, LLMP_USAGE_CHAT), 0);
    CHECK_INT(u.has_tokens, 0);
    cJSON_Delete(j);
    j = js(p, "null");
    CHECK_INT(llmp_usage_take(&u, j, LLMP_USAGE_CHAT), 0);
    cJSON_Delete(j);
}

static void t_take_responses(apr_pool_t *p)
{
    llmp_usage_t u;
    cJSON *j;

    memset(&u, 0, sizeof(u));
    j = js(p, "{\"input_tokens\":36,\"input_tokens_details\":"
              "{\"cached_tokens\":4},\"output_tokens\":87,"
              "\"output_tokens_details\":{\"reasoning_tokens\":0},"
              "\"total_tokens\":123}");
    CHECK_INT(llmp_usage_take(&u, j, LLMP_USAGE_RESPONSES), 1);
    CHECK_INT(u.prompt_tokens, 36);
    CHECK_INT(u.completion_tokens, 87);
    CHECK_INT(u.cached_tokens, 4);
    /* not of the chat shape */
    memset(&u, 0, sizeof(u));
    CHECK_INT(llmp_usage_take(&u, j, LLMP_USAGE_CHAT), 0);
    cJSON_Delete(j);
}

static void t_take_messages(apr_pool_t *p)
{
    llmp_usage_t u;
    cJSON *j;

    memset(&u, 0, sizeof(u));
    /* message_start, then message_delta (output only) */
    j = js(p, "{\"input_tokens\":12,\"cache_creation_input_tokens\":200,"
              "\"cache_read_input_tokens\":1000,\"output_tokens\":1}");
    CHECK_INT(llmp_usage_take(&u, j, LLMP_USAGE_MESSAGES), 1);
    CHECK_INT(u.prompt_tokens, 1212);
    CHECK_INT(u.cached_tokens, 1000);
    CHECK_INT(u.completion_tokens, 1);
    cJSON_Delete(j);
    j = js(p, "{\"output_tokens\":55}");
    CHECK_INT(llmp_usage_take(&u, j, LLMP_USAGE_MESSAGES), 1);
    CHECK_INT(u.prompt_tokens, 1212);
    CHECK_INT(u.cached_tokens, 1000);
    CHECK_INT(u.completion_tokens, 55);
    cJSON_Delete(j);
    /* no cache at all */
    memset(&u, 0, sizeof(u));
    j = js(p, "{\"input_tokens\":10,\"output_tokens\":5,"
              "\"cache_read_input_tokens\":null}");
    CHECK_INT(llmp_usage_take(&u, j, LLMP_USAGE_MESSAGES), 1);
    CHECK_INT(u.prompt_tokens, 10);
    CHECK_INT(u.cached_tokens, 0);
    CHECK_INT(u.completion_tokens, 5);
    cJSON_Delete(j);
}

/* The Anthropic back translator's IR usage and the Messages shape read
 * from the same native answer agree. */
static void t_anthropic_agrees(apr_pool_t *p)
{
    static const char native[] =
        "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
        "\"model\":\"claude-3-7-sonnet-20250219\",\"content\":[{\"type\":"
        "\"text\",\"text\":\"hi\"}],\"stop_reason\":\"end_turn\","
        "\"stop_sequence\":null,\"usage\":{\"input_tokens\":12,"
        "\"cache_creation_input_tokens\":200,\"cache_read_input_tokens\":"
        "1000,\"output_tokens\":34}}";
    llmp_xlate_opts_t opts;
    llmp_xlate_t x;
    llmp_usage_t a, b;
    cJSON *n = cJSON_Parse(native), *ir = NULL;
    llmp_error_t *e;

    memset(&opts, 0, sizeof(opts));
    memset(&x, 0, sizeof(x));
    x.pool = p;
    x.model_id = "claude-3-7-sonnet-20250219";
    x.handle = "/anthropic/v1/messages";
    x.id = "chatcmpl-1";
    x.opts = &opts;
    e = llmp_anthropic_ops.chat_response(&x, n, &ir);
    CHECK(e == NULL);
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    CHECK_INT(llmp_usage_take(&a, cJSON_GetObjectItem(ir, "usage"),
                              LLMP_USAGE_CHAT), 1);
    CHECK_INT(llmp_usage_take(&b, cJSON_GetObjectItem(n, "usage"),
                              LLMP_USAGE_MESSAGES), 1);
    CHECK_INT(a.prompt_tokens, 1212);
    CHECK_INT(a.prompt_tokens, b.prompt_tokens);
    CHECK_INT(a.cached_tokens, b.cached_tokens);
    CHECK_INT(a.completion_tokens, b.completion_tokens);
    cJSON_Delete(n);
}

static void t_cost(apr_pool_t *p)
{
    llmp_usage_t u;

    memset(&u, 0, sizeof(u));
    u.prompt_tokens = 1212;
    u.completion_tokens = 34;
    u.prompt_price_1k = 0.003;
    u.completion_price_1k = 0.015;
    CHECK(llmp_usage_finish_cost(&u) == 1212 / 1000.0 * 0.003
                                        + 34 / 1000.0 * 0.015);
    CHECK(u.cost == 1212 / 1000.0 * 0.003 + 34 / 1000.0 * 0.015);
    /* no price: no cost */
    u.prompt_price_1k = u.completion_price_1k = 0;
    CHECK(llmp_usage_finish_cost(&u) == 0);
    (void)p;
}

static void t_cost_text(apr_pool_t *p)
{
    const char *t;

    CHECK_STR(llmp_usage_cost_text(p, 0), "0");
    CHECK_STR(llmp_usage_cost_text(p, -0.0), "0");
    CHECK_STR(llmp_usage_cost_text(p, NAN), "0");
    CHECK_STR(llmp_usage_cost_text(p, 12.5), "12.5");
    CHECK_STR(llmp_usage_cost_text(p, 1), "1");
    CHECK_STR(llmp_usage_cost_text(p, 100), "100");
    CHECK_STR(llmp_usage_cost_text(p, 1e21), "1000000000000000000000");
    CHECK_STR(llmp_usage_cost_text(p, 0.003702), "0.003702");
    CHECK_STR(llmp_usage_cost_text(p, 1.65e-06), "0.00000165");
    CHECK_STR(llmp_usage_cost_text(p, -0.25), "-0.25");
    /* every digit a double needs: 0.1 + 0.2 is not 0.3 */
    CHECK_STR(llmp_usage_cost_text(p, 0.1 + 0.2), "0.30000000000000004");
    /* 3 x 0.00015 / 1000 + 2 x 0.0006 / 1000 as the formula computes it */
    t = llmp_usage_cost_text(p, 3 / 1000.0 * 0.00015 + 2 / 1000.0 * 0.0006);
    CHECK(strtod(t, NULL) == 3 / 1000.0 * 0.00015 + 2 / 1000.0 * 0.0006);
    CHECK(!strchr(t, 'e') && !strchr(t, 'E'));
    CHECK_STR(llmp_usage_cost_text(p, 1e-20), "0.00000000000000000001");
    CHECK_STR(llmp_usage_cost_text(p, 123456.789), "123456.789");
    {
        /* a decimal of 15 digits or fewer comes back as itself; every
         * double reads back as itself */
        static const char *const dec[] = {
            "0.000069", "0.017808", "0.009615", "0.1", "7", "123.456",
            "0.123456789012345", "98765.4321", "0.00000000123" };
        unsigned x = 12345;
        size_t k;

        for (k = 0; k < sizeof(dec) / sizeof(dec[0]); k++)
            CHECK_STR(llmp_usage_cost_text(p, strtod(dec[k], NULL)), dec[k]);
        for (k = 0; k < 20000; k++) {
            double v;
            x = x * 1103515245u + 12345u;
            v = (double)x / 4294967296.0 * ((k % 7) ? 1e-3 : 1e3)
                * (1 + (double)(k % 13) / 7);
            t = llmp_usage_cost_text(p, v);
            if (strtod(t, NULL) != v) {
                CHECK(strtod(t, NULL) == v);
                break;
            }
        }
    }
}

/* The cost's text as llmp_usage_cost_text made it before its printf-free
 * path for short decimals: the reference that path must match. */
static const char *cost_text_ref(apr_pool_t *p, double cost)
{
    char sci[64], digits[32], *out, *o;
    const char *c;
    int prec, exp10, nd = 0, i, neg = 0;

    if (!isfinite(cost) || cost == 0) return "0";
    for (prec = 15; prec <= 17; prec++) {
        snprintf(sci, sizeof(sci), "%.*e", prec - 1, cost);
        if (prec == 17 || strtod(sci, NULL) == cost) break;
    }
    c = sci;
    if (*c == '-') {
        neg = 1;
        c++;
    }
    for (; *c && *c != 'e' && *c != 'E'; c++)
        if (*c >= '0' && *c <= '9' && nd < (int)sizeof(digits) - 1)
            digits[nd++] = *c;
    exp10 = *c ? atoi(c + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0') nd--;
    out = o = apr_palloc(p, (apr_size_t)(nd + abs(exp10) + 8));
    if (neg) *o++ = '-';
    if (exp10 < 0) {
        *o++ = '0';
        *o++ = '.';
        for (i = 0; i < -exp10 - 1; i++) *o++ = '0';
        for (i = 0; i < nd; i++) *o++ = digits[i];
    }
    else {
        for (i = 0; i <= exp10; i++) *o++ = i < nd ? digits[i] : '0';
        if (nd > exp10 + 1) {
            *o++ = '.';
            for (i = exp10 + 1; i < nd; i++) *o++ = digits[i];
        }
    }
    *o = '\0';
    return out;
}

/* The same text as before for the costs the formula makes (prices of a
 * few decimals times token counts), short decimals, and any double. */
static double ten_to(int e)
{
    double v = 1;

    for (; e > 0; e--) v *= 10;
    for (; e < 0; e++) v /= 10;
    return v;
}

static void t_cost_text_same(apr_pool_t *p)
{
    static const double prices[] = {
        0, 0.001, 0.002, 0.0015, 0.00015, 0.0006, 0.003, 0.015, 0.075,
        0.0001, 0.00003, 0.01, 0.03, 0.06, 0.12, 0.0005, 0.000125,
        0.0025, 0.01875, 1.5, 7, 0.1, 0.2, 0.3, 2.5e-7, 0.000002 };
    static const apr_int64_t counts[] = {
        0, 1, 2, 3, 7, 10, 12, 25, 99, 100, 120, 333, 1000, 1234, 4096,
        12345, 99999, 128000, 1000000, 123456789, 999999999999LL };
    size_t a, b, i, j, bad = 0, n = 0;
    unsigned x = 777;

    for (a = 0; a < sizeof(prices) / sizeof(prices[0]); a++)
    for (b = 0; b < sizeof(prices) / sizeof(prices[0]); b++)
    for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
    for (j = 0; j < sizeof(counts) / sizeof(counts[0]); j += 3) {
        llmp_usage_t u;

        memset(&u, 0, sizeof(u));
        u.prompt_tokens = counts[i];
        u.completion_tokens = counts[j];
        u.prompt_price_1k = prices[a];
        u.completion_price_1k = prices[b];
        llmp_usage_finish_cost(&u);
        n++;
        if (strcmp(llmp_usage_cost_text(p, u.cost),
                   cost_text_ref(p, u.cost)) && !bad++)
            CHECK_STR(llmp_usage_cost_text(p, u.cost),
                      cost_text_ref(p, u.cost));
    }
    for (i = 0; i < 200000; i++) {
        double v;
        x = x * 1103515245u + 12345u;
        switch (i % 4) {
        case 0:     /* a short decimal: k digits after the point */
            v = (double)(x % 1000000) / ten_to((int)(i / 4 % 23));
            break;
        case 1:     /* any double of a wide range */
            v = (double)x / 4294967296.0 * ten_to((int)(i / 4 % 40) - 25);
            break;
        case 2:     /* near 1e15, where the short path stops */
            v = 1e15 - (double)(x % 1000) * ((i / 4 % 2) ? 0.125 : 1);
            break;
        default:    /* halves and near-halves of the last digit */
            v = ((double)(x % 100000) + 0.5) / ten_to((int)(i / 4 % 18));
        }
        n++;
        if (strcmp(llmp_usage_cost_text(p, v), cost_text_ref(p, v))
            && !bad++)
            CHECK_STR(llmp_usage_cost_text(p, v), cost_text_ref(p, v));
    }
    CHECK(bad == 0);
    CHECK(n > 200000);
}

static void t_chunk_content(apr_pool_t *p)
{
    static const struct { const char *json; int content; } cases[] = {
        { "{\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
          "\"content\":\"\"}}]}", 0 },
        { "{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"}}]}", 1 },
        { "{\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":"
          "\"hm\"}}]}", 1 },
        { "{\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{"
          "\"index\":0}]}}]}", 1 },
        { "{\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
          "\"stop\"}]}", 0 },
        { "{\"choices\":[],\"usage\":{\"prompt_tokens\":1}}", 0 },
        { "{\"object\":\"text_completion\",\"choices\":[{\"index\":0,"
          "\"text\":\"do\"}]}", 1 },
        { "{}", 0 },
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        cJSON *j = js(p, cases[i].json);
        CHECK_INT(llmp_usage_chunk_has_content(j), cases[i].content);
        cJSON_Delete(j);
    }
    CHECK_INT(llmp_usage_chunk_has_content(NULL), 0);
}

static const char *without(apr_pool_t *p, const char *s)
{
    apr_size_t from = 0, to = 0;

    if (!llmp_usage_null_span(s, strlen(s), &from, &to)) return NULL;
    return apr_pstrcat(p, apr_pstrmemdup(p, s, from), s + to, NULL);
}

static void t_null_span(apr_pool_t *p)
{
    CHECK_STR(without(p, "{\"id\":\"x\",\"choices\":[],\"usage\":null}"),
              "{\"id\":\"x\",\"choices\":[]}");
    /* Python's separators */
    CHECK_STR(without(p, "{\"id\": \"x\", \"usage\": null}"),
              "{\"id\": \"x\"}");
    CHECK_STR(without(p, "{\"usage\":null,\"id\":\"x\"}"), "{\"id\":\"x\"}");
    CHECK_STR(without(p, "{ \"usage\" : null , \"id\":1}"), "{ \"id\":1}");
    CHECK_STR(without(p, "{\"usage\":null}"), "{}");
    CHECK_STR(without(p, "{\"a\":{\"usage\":null},\"usage\":null,\"b\":2}"),
              "{\"a\":{\"usage\":null},\"b\":2}");
    /* in a string, or nested: not the member */
    CHECK(without(p, "{\"a\":\"\\\"usage\\\":null\"}") == NULL);
    CHECK(without(p, "{\"a\":[{\"usage\":null}]}") == NULL);
    CHECK(without(p, "{\"a\":\"usage\",\"b\":null}") == NULL);
    CHECK(without(p, "{\"usage\":{\"prompt_tokens\":1}}") == NULL);
    CHECK(without(p, "[\"usage\",null]") == NULL);
    CHECK(without(p, "") == NULL);
}

typedef struct {
    int n;
    char last[512];
} sink_t;

static apr_status_t sink(void *baton, const char *data, apr_size_t len)
{
    sink_t *k = baton;

    k->n++;
    if (len >= sizeof(k->last)) len = sizeof(k->last) - 1;
    memcpy(k->last, data, len);
    k->last[len] = '\0';
    return APR_SUCCESS;
}

/* A translated stream's usage reaches the record, also when the client
 * did not ask for it (usage_hidden): then neither the usage chunk nor a
 * "usage": null member reaches the client. */
static void t_xlate_usage(apr_pool_t *p)
{
    llmp_xlate_t x;
    llmp_usage_t u;
    sink_t k;
    cJSON *c;
    int hidden;

    for (hidden = 0; hidden < 2; hidden++) {
        memset(&x, 0, sizeof(x));
        memset(&u, 0, sizeof(u));
        memset(&k, 0, sizeof(k));
        x.pool = p;
        x.emit = sink;
        x.emit_baton = &k;
        x.include_usage = 1;
        x.usage_hidden = hidden;
        x.usage = &u;
        c = js(p, "{\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                  "\"assistant\",\"content\":\"\"}}]}");
        CHECK_INT(llmp_xlate_emit(&x, c), APR_SUCCESS);
        cJSON_Delete(c);
        CHECK(u.first_token == 0);
        CHECK_STR(k.last, hidden ? "{\"choices\":[{\"index\":0,\"delta\":"
                  "{\"role\":\"assistant\",\"content\":\"\"}}]}"
                  : "{\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                  "\"assistant\",\"content\":\"\"}}],\"usage\":null}");
        c = js(p, "{\"choices\":[{\"index\":0,\"delta\":{\"content\":"
                  "\"Hi\"}}]}");
        CHECK_INT(llmp_xlate_emit(&x, c), APR_SUCCESS);
        cJSON_Delete(c);
        CHECK(u.first_token != 0);
        c = js(p, "{\"choices\":[],\"usage\":{\"prompt_tokens\":9,"
                  "\"completion_tokens\":2,\"prompt_tokens_details\":"
                  "{\"cached_tokens\":4}}}");
        CHECK_INT(llmp_xlate_emit(&x, c), APR_SUCCESS);
        cJSON_Delete(c);
        CHECK_INT(k.n, hidden ? 2 : 3);
        CHECK_INT(u.has_tokens, 1);
        CHECK_INT(u.prompt_tokens, 9);
        CHECK_INT(u.completion_tokens, 2);
        CHECK_INT(u.cached_tokens, 4);
    }
}

TEST_MAIN_BEGIN("usage")
    RUN(t_take_chat);
    RUN(t_take_responses);
    RUN(t_take_messages);
    RUN(t_anthropic_agrees);
    RUN(t_cost);
    RUN(t_cost_text);
    RUN(t_cost_text_same);
    RUN(t_chunk_content);
    RUN(t_null_span);
    RUN(t_xlate_usage);
TEST_MAIN_END
