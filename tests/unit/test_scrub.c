/* Unit tests: secrets scrubbed from backend bytes, UTF-8 validity,
 * printable excerpts, base64 embeddings of a pass-through answer. */
#include "llmp_test.h"
#include "llmp_scrub.h"
#include "llmp_openai.h"

static const char *scrub(apr_pool_t *p, const char *in,
                         const char *const *secrets, apr_size_t *n)
{
    return llmp_scrub(p, in, strlen(in), secrets, n);
}

static void t_scrub(apr_pool_t *p)
{
    const char *const tok[] = { "tok-SECRET", NULL };
    const char *const two[] = { "Bearer sk-abc", "sk-abc", "", NULL };
    const char *const one[] = { "x", NULL };
    const char *const none[] = { NULL };
    const char *in = "no secret here", *out;
    apr_size_t n;
    char raw[] = "a\0tok-SECRET\0b";

    out = scrub(p, in, tok, &n);
    CHECK(out == in);                      /* nothing found: no copy */
    CHECK_INT(n, strlen(in));
    CHECK(scrub(p, in, none, &n) == in);
    CHECK(llmp_scrub(p, in, strlen(in), NULL, &n) == in);

    CHECK_STR(scrub(p, "tok-SECRET", tok, &n), "[redacted]");
    CHECK_INT(n, 10);
    CHECK_STR(scrub(p, "Authorization: OAuth tok-SECRET", tok, &n),
              "Authorization: OAuth [redacted]");
    CHECK_STR(scrub(p, "tok-SECRETtok-SECRET!tok-SECRE", tok, &n),
              "[redacted][redacted]!tok-SECRE");
    CHECK_INT(n, strlen("[redacted][redacted]!tok-SECRE"));
    /* the longest of the secrets that start at one place */
    CHECK_STR(scrub(p, "h: Bearer sk-abc; k: sk-abc", two, &n),
              "h: [redacted]; k: [redacted]");
    /* a short secret: the text grows */
    CHECK_STR(scrub(p, "xyx", one, &n), "[redacted]y[redacted]");
    CHECK_INT(n, 21);
    /* binary data around the secret */
    out = llmp_scrub(p, raw, sizeof(raw) - 1, tok, &n);
    CHECK_INT(n, 14);
    CHECK(!memcmp(out, "a\0[redacted]\0b", 14));
    /* the empty buffer */
    CHECK(llmp_scrub(p, "", 0, tok, &n) != NULL);
    CHECK_INT(n, 0);
}

/* A body made of one secret repeated, while another secret never occurs:
 * every secret is searched once over the body, not again after each
 * replacement (that took minutes for a 64 MB body). */
static void t_scrub_linear(apr_pool_t *p)
{
    const char *const two[] = { "Bearer sk-0123456789abcdef",
                                "sk-0123456789abcdef", NULL };
    const apr_size_t sl = strlen(two[1]), reps = 200000;
    char *buf = apr_palloc(p, sl * reps + 1);
    const char *out;
    apr_size_t i, n;
    double t0;

    for (i = 0; i < reps; i++) memcpy(buf + i * sl, two[1], sl);
    buf[sl * reps] = '\0';
    t0 = llmp_test_cpu_seconds();
    out = llmp_scrub(p, buf, sl * reps, two, &n);
    CHECK(llmp_test_cpu_seconds() - t0 < 1.0 * LLMP_TEST_SLOW);
    CHECK_INT(n, reps * 10);
    CHECK(!memcmp(out, "[redacted][redacted]", 20));
    CHECK(!memcmp(out + n - 10, "[redacted]", 10));
    /* overlapping occurrences: the leftmost longest first, then on */
    CHECK_STR(scrub(p, "x Bearer sk-0123456789abcdefsk-0123456789abcdef",
                    two, &n), "x [redacted][redacted]");
}

static void t_utf8(apr_pool_t *p)
{
    static const struct { const char *s; int ok; } cases[] = {
        { "", 1 }, { "plain ascii", 1 }, { "h\xc3\xa9llo", 1 },
        { "\xe2\x9c\x93", 1 }, { "\xf0\x9f\x98\x80", 1 },
        { "\xf4\x8f\xbf\xbf", 1 },            /* U+10FFFF */
        { "\xed\x9f\xbf", 1 },                /* U+D7FF */
        { "\xee\x80\x80", 1 },                /* U+E000 */
        { "\xff", 0 }, { "\xfe", 0 }, { "\x80", 0 }, { "a\xbf", 0 },
        { "\xc3", 0 }, { "\xc3\x28", 0 }, { "\xe2\x9c", 0 },
        { "\xc0\xaf", 0 }, { "\xc1\xbf", 0 },  /* overlong */
        { "\xe0\x80\xaf", 0 }, { "\xe0\x9f\xbf", 0 },
        { "\xf0\x80\x80\xaf", 0 }, { "\xf0\x8f\xbf\xbf", 0 },
        { "\xed\xa0\x80", 0 }, { "\xed\xbf\xbf", 0 },  /* surrogates */
        { "\xf4\x90\x80\x80", 0 },            /* above U+10FFFF */
        { "\xf5\x80\x80\x80", 0 }, { "\xf0\x9f\x98", 0 },
        { "\xf0\x9f\x98\x28", 0 }, { "\xe2\x28\xa1", 0 },
    };
    apr_size_t i;

    (void)p;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (llmp_utf8_valid(cases[i].s, strlen(cases[i].s)) != cases[i].ok) {
            fprintf(stderr, "  utf8 case %u\n", (unsigned)i);
            CHECK(0);
        }
        else CHECK(1);
    }
    /* a NUL is valid UTF-8 (JSON checks refuse it elsewhere) */
    CHECK(llmp_utf8_valid("a\0b", 3));
    /* a truncated sequence at the very end of the length given */
    CHECK(!llmp_utf8_valid("ab\xc3\xa9", 3));
}

static void t_excerpt(apr_pool_t *p)
{
    const char html[] = "<html><head><title>502 Bad Gateway</title></head>"
                        "<body>\n<h1>502   Bad\tGateway</h1>\x00\xff\x1b[31m"
                        "<hr>nginx</body></html>\n";
    char *e;

    CHECK_STR(llmp_excerpt(p, html, sizeof(html) - 1, 200),
              "502 Bad Gateway 502 Bad Gateway [31m nginx");
    CHECK_STR(llmp_excerpt(p, "", 0, 200), "");
    CHECK_STR(llmp_excerpt(p, NULL, 5, 200), "");
    CHECK_STR(llmp_excerpt(p, "\x01\x02  \xff", 5, 200), "");
    CHECK_STR(llmp_excerpt(p, "abcdefghij", 10, 8), "abcde...");
    CHECK_STR(llmp_excerpt(p, "abcdefgh", 8, 8), "abcdefgh");
    e = llmp_excerpt(p, "0123456789 0123456789 0123456789", 32, 12);
    CHECK(strlen(e) <= 12);
    CHECK(!strcmp(e + strlen(e) - 3, "..."));
    {
        /* only printable ASCII, whatever comes in */
        char all[256];
        int i, ok = 1;
        for (i = 0; i < 256; i++) all[i] = (char)(255 - i);
        e = llmp_excerpt(p, all, sizeof(all), 500);
        for (i = 0; e[i]; i++)
            if ((unsigned char)e[i] < 0x20 || (unsigned char)e[i] > 0x7e) ok = 0;
        CHECK(ok);
    }
}

static void t_embeddings_b64(apr_pool_t *p)
{
    const char *in = "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\","
        "\"index\":0,\"embedding\":[0.5,-0.25]},{\"object\":\"embedding\","
        "\"index\":1,\"embedding\":\"AAAAPwAAgL4=\"},{\"index\":2,"
        "\"embedding\":[1,\"x\"]}],\"model\":\"m\"}";
    cJSON *j = llmp_json_parse_pool(p, in, strlen(in));
    const cJSON *d;

    CHECK_INT(llmp_embeddings_to_base64(p, j), 1);
    d = cJSON_GetObjectItem(j, "data");
    CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 0), "embedding")
              ->valuestring, "AAAAPwAAgL4=");
    CHECK_INT(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 0), "index")
              ->valueint, 0);
    CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 1), "embedding")
              ->valuestring, "AAAAPwAAgL4=");
    CHECK(cJSON_IsArray(cJSON_GetObjectItem(cJSON_GetArrayItem(d, 2),
                                            "embedding")));
    CHECK_INT(llmp_embeddings_to_base64(p, NULL), 0);
}

TEST_MAIN_BEGIN("scrub")
    RUN(t_scrub);
    RUN(t_scrub_linear);
    RUN(t_utf8);
    RUN(t_excerpt);
    RUN(t_embeddings_b64);
TEST_MAIN_END
