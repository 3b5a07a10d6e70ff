/* Unit tests: the one-pass JSON writer (llmp_json_print), against
 * cJSON_PrintUnformatted on random trees; valid UTF-8 out of any input;
 * exact numbers; embeddings that refer to the native vectors; "usage":null
 * on translated chunks. */
#include <math.h>
#include <apr_base64.h>
#include "llmp_test.h"
#include "llmp_openai.h"
#include "llmp_provider.h"
#include "llmp_buf.h"

/* A fixed-seed generator (xorshift64*): the same trees on every run. */
typedef struct { apr_uint64_t s; } rng_t;

static apr_uint64_t rnd(rng_t *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * APR_UINT64_C(2685821657736338717);
}

static unsigned rndn(rng_t *r, unsigned n)
{
    return (unsigned)(rnd(r) % n);
}

/* Append code point cp as UTF-8. */
static char *put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) *o++ = (char)cp;
    else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 63));
    }
    else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 63));
        *o++ = (char)(0x80 | (cp & 63));
    }
    else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 63));
        *o++ = (char)(0x80 | ((cp >> 6) & 63));
        *o++ = (char)(0x80 | (cp & 63));
    }
    return o;
}

/* A random valid UTF-8 string: controls, quotes, backslashes, ASCII, and
 * two-, three- and four-byte characters (no surrogates, no NUL). */
static char *rnd_string(apr_pool_t *p, rng_t *r)
{
    unsigned n = rndn(r, 4) == 0 ? rndn(r, 200) : rndn(r, 12), i;
    char *s = apr_palloc(p, n * 4 + 1), *o = s;

    for (i = 0; i < n; i++) {
        unsigned cp;
        switch (rndn(r, 8)) {
        case 0: cp = 1 + rndn(r, 0x1f); break;
        case 1: cp = "\"\\/\b\f\n\r\t\x7f"[rndn(r, 9)]; break;
        case 2: cp = 0x80 + rndn(r, 0x780); break;
        case 3:
            do cp = 0x800 + rndn(r, 0xF800);
            while (cp >= 0xD800 && cp <= 0xDFFF);
            break;
        case 4: cp = 0x10000 + rndn(r, 0x100000); break;
        default: cp = 0x20 + rndn(r, 0x5f); break;
        }
        o = put_utf8(o, cp);
    }
    *o = '\0';
    return s;
}

/* Numbers both printers write the same way: integers, short decimals,
 * large integral values, exact binary fractions, NaN and infinities. */
static double rnd_number(rng_t *r)
{
    long v = (long)(rnd(r) % 2000001) - 1000000;

    switch (rndn(r, 8)) {
    case 0: return (double)v;
    case 1: return (double)v / 1000.0;
    case 2: return (double)v / 1e9;
    case 3: return (double)v * 1e10;
    case 4: return ldexp((double)v, -(int)rndn(r, 11));
    case 5: return (double)(int)rnd(r);
    case 6: {
        static const double odd[] = { 0.0, -0.0, 1e300, -1e-300, 0.1, 2.5e-7,
                                      4294967296.0, -2147483648.0,
                                      2147483647.0, 123456789012345.0 };
        return odd[rndn(r, sizeof(odd) / sizeof(odd[0]))];
    }
    default: {
        unsigned k = rndn(r, 3);
        return k == 0 ? NAN : k == 1 ? INFINITY : -INFINITY;
    }
    }
}

static cJSON *rnd_tree(apr_pool_t *p, rng_t *r, int depth)
{
    unsigned kind = rndn(r, depth > 5 ? 7 : 9), n, i;
    cJSON *j;

    switch (kind) {
    case 0: return cJSON_CreateNull();
    case 1: return cJSON_CreateBool(rndn(r, 2));
    case 2: return cJSON_CreateNumber(rnd_number(r));
    case 3: case 4: return cJSON_CreateString(rnd_string(p, r));
    case 5: {
        /* a raw integer as llmp_json_add_int makes it */
        cJSON *o = cJSON_CreateObject(), *item;
        llmp_json_add_int(o, "x", (apr_int64_t)rnd(r) >> rndn(r, 64));
        item = cJSON_DetachItemFromObject(o, "x");
        cJSON_Delete(o);
        return item;
    }
    case 6: return cJSON_CreateStringReference("a \"constant\"\n");
    case 7:
        j = cJSON_CreateArray();
        n = rndn(r, 6);
        for (i = 0; i < n; i++)
            cJSON_AddItemToArray(j, rnd_tree(p, r, depth + 1));
        return j;
    default:
        j = cJSON_CreateObject();
        n = rndn(r, 6);
        for (i = 0; i < n; i++)
            cJSON_AddItemToObject(j, rnd_string(p, r),
                                  rnd_tree(p, r, depth + 1));
        return j;
    }
}

/* Is s (n bytes) well-formed UTF-8? */
static int utf8_ok(const unsigned char *s, apr_size_t n)
{
    apr_size_t i = 0;

    while (i < n) {
        unsigned c = s[i], cp, need, k;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 0x07; }
        else return 0;
        for (k = 1; k <= need; k++) {
            if (i + k >= n || (s[i + k] & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000)
            || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += need + 1;
    }
    return 1;
}

static void t_differential(apr_pool_t *p)
{
    rng_t r = { APR_UINT64_C(0x9E3779B97F4A7C15) };
    int i, same = 0;

    for (i = 0; i < 3000; i++) {
        cJSON *t = rnd_tree(p, &r, 0);
        char *want = cJSON_PrintUnformatted(t);
        apr_size_t len = 0;
        char *got = llmp_json_print(p, t, &len);

        if (want && got && !strcmp(want, got) && len == strlen(got)) same++;
        else if (llmp_t_failed < 5) CHECK_STR(got, want);
        cJSON_free(want);
        cJSON_Delete(t);
    }
    CHECK_INT(same, 3000);
}

static cJSON *raw_without_text(void)
{
    cJSON *r = cJSON_CreateRaw("1");
    cJSON_free(r->valuestring);
    r->valuestring = NULL;
    return r;
}

static void t_fixed(apr_pool_t *p)
{
    cJSON *o = cJSON_CreateObject(), *a;

    CHECK_STR(llmp_json_print(p, o, NULL), "{}");
    a = cJSON_AddArrayToObject(o, "a");
    CHECK_STR(llmp_json_print(p, o, NULL), "{\"a\":[]}");
    cJSON_AddItemToArray(a, cJSON_CreateString("\x01\x1f\"\\/\b\f\n\r\t\x7f"));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(1.5));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(-0.0));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(1e21));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(NAN));
    cJSON_AddItemToArray(a, cJSON_CreateNumber(-INFINITY));
    cJSON_AddItemToArray(a, cJSON_CreateTrue());
    cJSON_AddItemToArray(a, cJSON_CreateFalse());
    cJSON_AddItemToArray(a, cJSON_CreateNull());
    llmp_json_add_int(o, "i", APR_INT64_C(-9007199254740993));
    CHECK_STR(llmp_json_print(p, o, NULL),
              "{\"a\":[\"\\u0001\\u001f\\\"\\\\/\\b\\f\\n\\r\\t\x7f\",1.5,-0,"
              "1e+21,null,null,true,false,null],\"i\":-9007199254740993}");
    /* what cJSON refuses, the writer refuses: a raw item without text, an
     * invalid item */
    cJSON_AddItemToArray(a, raw_without_text());
    CHECK(cJSON_PrintUnformatted(o) == NULL);
    CHECK(llmp_json_print(p, o, NULL) == NULL);
    cJSON_Delete(o);
    o = cJSON_CreateArray();
    a = cJSON_CreateNull();
    a->type = cJSON_Invalid;
    cJSON_AddItemToArray(o, a);
    CHECK(llmp_json_print(p, o, NULL) == NULL);
    CHECK(llmp_json_print(p, NULL, NULL) == NULL);
    cJSON_Delete(o);
    {
        /* appending to a buffer: a failed write leaves it as it was */
        llmp_buf_t b;
        cJSON *ok = cJSON_CreateString("x");
        llmp_buf_init(&b, p, 1 << 20);
        CHECK_INT(llmp_buf_append(&b, "pre:", 4), APR_SUCCESS);
        CHECK_INT(llmp_json_write(&b, ok), APR_SUCCESS);
        CHECK_STR(b.data, "pre:\"x\"");
        o = cJSON_CreateArray();
        cJSON_AddItemToArray(o, cJSON_CreateString("abc"));
        cJSON_AddItemToArray(o, raw_without_text());
        CHECK_INT(llmp_json_write(&b, o), APR_ENOMEM);
        CHECK_STR(b.data, "pre:\"x\"");
        CHECK_INT(b.len, 7);
        CHECK_INT(llmp_json_write(&b, NULL), APR_EINVAL);
        cJSON_Delete(o);
        cJSON_Delete(ok);
        /* past max: refused */
        llmp_buf_init(&b, p, 5);
        o = cJSON_CreateString("abcdef");
        CHECK_INT(llmp_json_write(&b, o), APR_ENOMEM);
        CHECK_INT(b.len, 0);
        cJSON_Delete(o);
    }
}

/* Numbers: every finite double reads back exactly, in at most 17
 * significant digits; when cJSON's 15-digit text is exact, the same text. */
static void t_numbers(apr_pool_t *p)
{
    rng_t r = { 12345 };
    int i, exact = 0, same = 0, cjson_exact = 0;

    for (i = 0; i < 20000; i++) {
        apr_uint64_t bits = rnd(&r);
        double d;
        cJSON *n;
        char *got, *want;

        if (i & 1) {
            memcpy(&d, &bits, sizeof(d));
            if (isnan(d) || isinf(d)) continue;
        }
        else {
            /* float32 values, as embeddings are */
            float f = (float)((double)(bits >> 11) / 9007199254740992.0
                              * (rndn(&r, 2) ? 1 : -1));
            d = f;
        }
        n = cJSON_CreateNumber(d);
        got = llmp_json_print(p, n, NULL);
        want = cJSON_PrintUnformatted(n);
        if (got && strtod(got, NULL) == d && strlen(got) <= 24) exact++;
        else if (llmp_t_failed < 5) CHECK_STR(got, "an exact number");
        if (want && strtod(want, NULL) == d) {
            char t15[32];
            /* cJSON's exact %.15g text: the same text */
            snprintf(t15, sizeof(t15), "%1.15g", d);
            if (!strcmp(want, t15)) {
                cjson_exact++;
                if (got && !strcmp(got, want)) same++;
                else if (llmp_t_failed < 5) CHECK_STR(got, want);
            }
            /* never longer than cJSON's exact text */
            CHECK(got && strlen(got) <= strlen(want));
        }
        cJSON_free(want);
        cJSON_Delete(n);
    }
    CHECK(exact > 15000);
    CHECK_INT(same, cjson_exact);
    {
        /* 0.1 + 0.2 needs 17 digits; cJSON's 15 lose it */
        cJSON *n = cJSON_CreateNumber(0.1 + 0.2);
        CHECK_STR(llmp_json_print(p, n, NULL), "0.30000000000000004");
        cJSON_Delete(n);
        n = cJSON_CreateNumber(9007199254740993.0);
        CHECK_STR(llmp_json_print(p, n, NULL), "9007199254740992");
        cJSON_Delete(n);
    }
}

/* One string through the writer; the text between the quotes. */
static const char *wstr(apr_pool_t *p, const char *in)
{
    cJSON *s = cJSON_CreateString(in);
    char *out = llmp_json_print(p, s, NULL);
    apr_size_t n;

    cJSON_Delete(s);
    if (!out) return NULL;
    n = strlen(out);
    return n >= 2 ? apr_pstrmemdup(p, out + 1, n - 2) : NULL;
}

#define FFFD "\xEF\xBF\xBD"

static void t_utf8(apr_pool_t *p)
{
    rng_t r = { 777 };
    int i, ok = 0, parsed = 0, kept = 0;

    /* valid text is kept byte for byte */
    CHECK_STR(wstr(p, "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF"
                      "\xEF\xBF\xBF\xED\x9F\xBF\xEE\x80\x80"),
              "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF"
              "\xEF\xBF\xBF\xED\x9F\xBF\xEE\x80\x80");
    /* each maximal ill-formed subpart becomes one U+FFFD */
    CHECK_STR(wstr(p, "\xC0\xAF"), FFFD FFFD);              /* overlong / */
    CHECK_STR(wstr(p, "\xC1\xBF"), FFFD FFFD);
    CHECK_STR(wstr(p, "\xE0\x80\xAF"), FFFD FFFD FFFD);     /* overlong */
    CHECK_STR(wstr(p, "\xF0\x80\x80\xAF"), FFFD FFFD FFFD FFFD);
    CHECK_STR(wstr(p, "\xED\xA0\x80"), FFFD FFFD FFFD);     /* surrogate */
    CHECK_STR(wstr(p, "\xED\xBF\xBF"), FFFD FFFD FFFD);
    CHECK_STR(wstr(p, "\xF4\x90\x80\x80"), FFFD FFFD FFFD FFFD); /* >10FFFF */
    CHECK_STR(wstr(p, "\xF5\x80\x80\x80"), FFFD FFFD FFFD FFFD);
    CHECK_STR(wstr(p, "\xFF\xFE"), FFFD FFFD);
    CHECK_STR(wstr(p, "\x80x\xBF"), FFFD "x" FFFD);         /* lone tails */
    CHECK_STR(wstr(p, "a\xF0\x9F\x98"), "a" FFFD);          /* truncated */
    CHECK_STR(wstr(p, "\xF0\x9F\x98z"), FFFD "z");
    CHECK_STR(wstr(p, "\xE2\x82"), FFFD);
    CHECK_STR(wstr(p, "\xE2\x82\xE2\x82\xAC"), FFFD "\xE2\x82\xAC");
    CHECK_STR(wstr(p, "\xC3\n"), FFFD "\\n");
    CHECK_STR(wstr(p, "\xF1\x80\x80\xF1\x80\x80\x80"),
              FFFD "\xF1\x80\x80\x80");
    /* object keys too */
    {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNullToObject(o, "k\xFF");
        CHECK_STR(llmp_json_print(p, o, NULL), "{\"k" FFFD "\":null}");
        cJSON_Delete(o);
    }
    /* random bytes: valid UTF-8 that cJSON reads back; text that was valid
     * UTF-8 comes back unchanged */
    for (i = 0; i < 5000; i++) {
        unsigned n = 1 + rndn(&r, 40), k;
        char *in = apr_palloc(p, n + 1), *out;
        cJSON *s, *back;

        for (k = 0; k < n; k++) {
            unsigned c = rndn(&r, 4) ? 0x80 + rndn(&r, 0x80)
                                     : 1 + rndn(&r, 0x7f);
            in[k] = (char)c;
        }
        in[n] = '\0';
        s = cJSON_CreateString(in);
        out = llmp_json_print(p, s, NULL);
        if (out && utf8_ok((const unsigned char *)out, strlen(out))) ok++;
        else if (llmp_t_failed < 5) CHECK_STR(out, "valid UTF-8");
        back = out ? cJSON_Parse(out) : NULL;
        if (cJSON_IsString(back)) {
            parsed++;
            if (utf8_ok((const unsigned char *)in, n)
                && !strcmp(back->valuestring, in))
                kept++;
            else if (!utf8_ok((const unsigned char *)in, n))
                kept++;
        }
        cJSON_Delete(back);
        cJSON_Delete(s);
    }
    CHECK_INT(ok, 5000);
    CHECK_INT(parsed, 5000);
    CHECK_INT(kept, 5000);
}

/* A big document: one pass, the buffer grows by doubling only. */
static void t_big(apr_pool_t *p)
{
    cJSON *a = cJSON_CreateArray();
    char *want, *got;
    apr_size_t len;
    int i;
    llmp_buf_t b;

    for (i = 0; i < 200000; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)(i % 2000 - 1000)
                                                   / 1024.0));
    want = cJSON_PrintUnformatted(a);
    got = llmp_json_print(p, a, &len);
    CHECK(want && got && len == strlen(want) && !strcmp(got, want));
    cJSON_free(want);
    llmp_buf_init(&b, p, LLMP_JSON_MAX);
    b.first = 1024;
    CHECK_INT(llmp_json_write(&b, a), APR_SUCCESS);
    CHECK_INT(b.len, len);
    CHECK(b.cap < 2 * (b.len + 1) && b.cap >= b.len + 1);
    cJSON_Delete(a);
}

static void t_embeddings_ref(apr_pool_t *p)
{
    cJSON *native = cJSON_Parse("{\"v\":[[0.5,-1.25,3],[],[1],[1,2],[1,2,3]]}");
    const cJSON *vecs = cJSON_GetObjectItem(native, "v"), *v;
    cJSON *r = llmp_embeddings_new("m", 2), *e;
    const cJSON *data;
    char *out;
    int i = 0;

    cJSON_ArrayForEach(v, vecs) CHECK(llmp_embeddings_add(p, r, i++, v, 0));
    data = cJSON_GetObjectItem(r, "data");
    /* no copy: the answer's array is the native vector's items */
    e = cJSON_GetObjectItem(cJSON_GetArrayItem(data, 0), "embedding");
    CHECK(e && (e->type & cJSON_IsReference) && cJSON_IsArray(e));
    CHECK(e && e->child == cJSON_GetArrayItem(vecs, 0)->child);
    out = llmp_json_print(p, r, NULL);
    CHECK_STR(out, "{\"object\":\"list\",\"data\":["
              "{\"object\":\"embedding\",\"index\":0,\"embedding\":[0.5,-1.25,3]},"
              "{\"object\":\"embedding\",\"index\":1,\"embedding\":[]},"
              "{\"object\":\"embedding\",\"index\":2,\"embedding\":[1]},"
              "{\"object\":\"embedding\",\"index\":3,\"embedding\":[1,2]},"
              "{\"object\":\"embedding\",\"index\":4,\"embedding\":[1,2,3]}],"
              "\"model\":\"m\",\"usage\":{\"prompt_tokens\":2,"
              "\"total_tokens\":2}}");
    /* deleting the answer leaves the native tree whole */
    cJSON_Delete(r);
    CHECK_INT(cJSON_GetArraySize(cJSON_GetArrayItem(vecs, 0)), 3);
    CHECK_INT(cJSON_GetArraySize(vecs), 5);

    /* base64: every padding case, as apr_base64 encodes the float32s */
    r = llmp_embeddings_new("m", 0);
    i = 0;
    cJSON_ArrayForEach(v, vecs) {
        const cJSON *x;
        unsigned char raw[64];
        char want[128];
        int n = 0;

        CHECK(llmp_embeddings_add(p, r, i, v, 1));
        cJSON_ArrayForEach(x, v) {
            float f = (float)x->valuedouble;
            apr_uint32_t u;
            int k;
            memcpy(&u, &f, 4);
            for (k = 0; k < 4; k++) raw[n++] = (unsigned char)(u >> (8 * k));
        }
        apr_base64_encode_binary(want, raw, n);
        e = cJSON_GetArrayItem(cJSON_GetObjectItem(r, "data"), i);
        CHECK_STR(llmp_json_str(e, "embedding"), want);
        i++;
    }
    CHECK_STR(llmp_json_str(cJSON_GetArrayItem(cJSON_GetObjectItem(r, "data"),
                                               0), "embedding"),
              "AAAAPwAAoL8AAEBA");
    CHECK(strstr(llmp_json_print(p, r, NULL),
                 "\"index\":1,\"embedding\":\"\"}") != NULL);
    cJSON_Delete(r);
    /* not numbers: refused */
    r = llmp_embeddings_new("m", 0);
    cJSON_Delete(native);
    native = cJSON_Parse("[1,\"x\"]");
    CHECK(!llmp_embeddings_add(p, r, 0, native, 0));
    CHECK(!llmp_embeddings_add(p, r, 0, native, 1));
    CHECK(!llmp_embeddings_add(p, r, 0, cJSON_GetArrayItem(native, 0), 0));
    CHECK_INT(cJSON_GetArraySize(cJSON_GetObjectItem(r, "data")), 0);
    cJSON_Delete(r);
    cJSON_Delete(native);
}

typedef struct { int n; char buf[8][700]; } rec_t;

static apr_status_t rec_emit(void *baton, const char *data, apr_size_t len)
{
    rec_t *r = baton;
    if (r->n >= 8 || len >= sizeof(r->buf[0])) return APR_EGENERAL;
    memcpy(r->buf[r->n], data, len);
    r->buf[r->n++][len] = '\0';
    return APR_SUCCESS;
}

static void t_usage_null(apr_pool_t *p)
{
    llmp_xlate_t x;
    rec_t rec;
    cJSON *c = llmp_chunk_new("id", 1, "m"), *u;
    cJSON *done = cJSON_Parse(
        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":7,"
        "\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
        "\"assistant\",\"content\":\"hi\"},\"finish_reason\":\"stop\"}],"
        "\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2,"
        "\"total_tokens\":3}}");
    int i;

    memset(&x, 0, sizeof(x));
    memset(&rec, 0, sizeof(rec));
    x.pool = p;
    x.emit = rec_emit;
    x.emit_baton = &rec;
    llmp_chunk_add_choice(c, 0, NULL);
    /* without include_usage: no "usage" */
    CHECK_INT(llmp_xlate_emit(&x, c), APR_SUCCESS);
    CHECK_STR(rec.buf[0], "{\"id\":\"id\",\"object\":\"chat.completion.chunk\","
              "\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
              "\"delta\":{},\"logprobs\":null,\"finish_reason\":null}]}");
    /* with it: "usage":null, last */
    x.include_usage = 1;
    CHECK_INT(llmp_xlate_emit(&x, c), APR_SUCCESS);
    CHECK_STR(rec.buf[1], "{\"id\":\"id\",\"object\":\"chat.completion.chunk\","
              "\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,"
              "\"delta\":{},\"logprobs\":null,\"finish_reason\":null}],"
              "\"usage\":null}");
    /* the usage chunk keeps its object; the chunk itself is not changed */
    u = llmp_usage_new(1, 2, -1);
    cJSON_AddItemToObject(c, "usage", u);
    CHECK_INT(llmp_xlate_emit(&x, c), APR_SUCCESS);
    CHECK(strstr(rec.buf[2], "],\"usage\":{\"prompt_tokens\":1,"
                 "\"completion_tokens\":2,\"total_tokens\":3}}") != NULL);
    CHECK(strstr(rec.buf[2], "\"usage\":null") == NULL);
    cJSON_Delete(c);
    c = cJSON_CreateObject();
    CHECK_INT(llmp_xlate_emit(&x, c), APR_SUCCESS);
    CHECK_STR(rec.buf[3], "{\"usage\":null}");
    cJSON_Delete(c);

    /* a completion replayed as a stream: the same rule */
    memset(&rec, 0, sizeof(rec));
    CHECK_INT(llmp_xlate_stream_completion(&x, done), APR_SUCCESS);
    CHECK_INT(rec.n, 3);
    for (i = 0; i < rec.n; i++) {
        cJSON *j = cJSON_Parse(rec.buf[i]);
        const cJSON *us = cJSON_GetObjectItem(j, "usage");
        if (i < rec.n - 1) CHECK(cJSON_IsNull(us));
        else CHECK(cJSON_IsObject(us)
                   && cJSON_GetObjectItem(us, "total_tokens"));
        cJSON_Delete(j);
    }
    memset(&rec, 0, sizeof(rec));
    x.include_usage = 0;
    CHECK_INT(llmp_xlate_stream_completion(&x, done), APR_SUCCESS);
    CHECK_INT(rec.n, 2);
    CHECK(strstr(rec.buf[0], "usage") == NULL
          && strstr(rec.buf[1], "usage") == NULL);
    cJSON_Delete(done);
}

static void t_buf_growth(apr_pool_t *p)
{
    llmp_buf_t b;
    char chunk[1000];
    int i;

    memset(chunk, 'q', sizeof(chunk));
    llmp_buf_init(&b, p, 1 << 24);
    b.first = 100;
    CHECK_INT(llmp_buf_reserve(&b, 10), APR_SUCCESS);
    CHECK_INT(b.cap, 100);
    CHECK_INT(llmp_buf_reserve(&b, 99), APR_SUCCESS);
    CHECK_INT(b.cap, 100);
    CHECK_INT(llmp_buf_reserve(&b, 100), APR_SUCCESS);
    CHECK_INT(b.cap, 200);
    for (i = 0; i < 3000; i++) llmp_buf_append(&b, chunk, sizeof(chunk));
    CHECK_INT(b.len, 3000000);
    CHECK(b.cap >= b.len + 1 && b.cap <= 2 * (b.len + 1));
    CHECK(b.data[b.len] == '\0');
    CHECK_INT(llmp_buf_reserve(&b, 1 << 24), APR_ENOSPC);
    for (i = 0; i < 3000; i++) {
        if (memcmp(b.data + (apr_size_t)i * 1000, chunk, 1000)) break;
    }
    CHECK_INT(i, 3000);

    /* a big buffer up to a max that is no page multiple: the capacity
     * stays within max + 1, whatever the pages */
    llmp_buf_init(&b, p, 1500003);
    for (i = 0; i < 1500; i++)
        CHECK_INT(llmp_buf_append(&b, chunk, sizeof(chunk)), APR_SUCCESS);
    CHECK_INT(llmp_buf_append(&b, "abc", 3), APR_SUCCESS);
    CHECK_INT(llmp_buf_append(&b, "d", 1), APR_ENOSPC);
    CHECK(b.cap <= 1500004);
    CHECK_INT(b.len, 1500003);
    CHECK(b.data[b.len] == '\0' && !memcmp(b.data + 1500000, "abc", 3));
    {
        /* a writer that checks the capacity alone stays within max */
        cJSON *s = cJSON_CreateString("x");
        CHECK_INT(llmp_json_write(&b, s), APR_ENOMEM);
        CHECK_INT(b.len, 1500003);
        cJSON_Delete(s);
    }
}

TEST_MAIN_BEGIN("writer")
    RUN(t_fixed);
    RUN(t_differential);
    RUN(t_numbers);
    RUN(t_utf8);
    RUN(t_big);
    RUN(t_embeddings_ref);
    RUN(t_usage_null);
    RUN(t_buf_growth);
TEST_MAIN_END
