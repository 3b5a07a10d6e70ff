/* The OpenAI schema: errors, completion and chunk objects, usage, and
 * helpers that read an OpenAI request. Core: no httpd header. */
#include <stdarg.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <math.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <apr_random.h>
#include <apr_atomic.h>

#include "llmp_openai.h"

#if defined(__SSE2__)
#include <emmintrin.h>     /* SSE2: part of every x86-64 */
#endif

const char *llmp_error_type_for_status(int status)
{
    switch (status) {
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "invalid_request_error";
    case 408: return "timeout_error";
    case 429: return "rate_limit_error";
    default:
        if (status >= 500) return "api_error";
        return "invalid_request_error";
    }
}

llmp_error_t *llmp_error_make(apr_pool_t *p, int status, const char *type,
                              const char *code, const char *param,
                              const char *fmt, ...)
{
    llmp_error_t *e = apr_pcalloc(p, sizeof(*e));
    va_list ap;

    e->status = status;
    e->type = type ? type : llmp_error_type_for_status(status);
    e->code = code;
    e->param = param;
    va_start(ap, fmt);
    e->message = apr_pvsprintf(p, fmt, ap);
    va_end(ap);
    return e;
}

static void json_cleanup_reg(apr_pool_t *p, cJSON *j);

/* ---- the JSON writer ----
 * One pass over the tree straight into a growing pool buffer. It prints
 * what cJSON_PrintUnformatted prints, except that strings are always valid
 * UTF-8 and numbers always read back as the same double. */

/* Room for n more bytes (and the NUL); 0 when there is none. */
static APR_INLINE int jw_room(llmp_buf_t *b, apr_size_t n)
{
    return b->cap - b->len > n || llmp_buf_reserve(b, n) == APR_SUCCESS;
}

static APR_INLINE int jw_put(llmp_buf_t *b, const char *s, apr_size_t n)
{
    if (!jw_room(b, n)) return 0;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    return 1;
}

/* The length of the well-formed UTF-8 sequence at s (lead byte >= 0x80),
 * or minus the length of its longest ill-formed prefix (the "maximal
 * subpart" that one U+FFFD replaces). Never reads past a NUL. */
static int utf8_seq(const unsigned char *s)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    int need, i;

    if (c >= 0xC2 && c <= 0xDF) need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0) lo = 0xA0;          /* overlong */
        else if (c == 0xED) hi = 0x9F;     /* surrogates */
    }
    else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0) lo = 0x90;          /* overlong */
        else if (c == 0xF4) hi = 0x8F;     /* above U+10FFFF */
    }
    else return -1;                        /* C0, C1, F5-FF, continuation */
    if (s[1] < lo || s[1] > hi) return -1;
    for (i = 2; i <= need; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) return -i;
    }
    return need + 1;
}

/* Bytes that print as they are: printable ASCII but '"' and '\\'. */
#define JW_PLAIN(c) ((c) >= 0x20 && (c) < 0x80 && (c) != '"' && (c) != '\\')
#define JW_ONES UINT64_C(0x0101010101010101)

static int jw_string(llmp_buf_t *b, const char *str)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)str, *run;

    if (!jw_put(b, "\"", 1)) return 0;
    if (s) {
        const unsigned char *end = s + strlen(str);

        for (;;) {
            unsigned char c;
            char *o;

            run = s;
#if defined(__SSE2__)
            /* sixteen bytes at a time while all are plain: a signed
             * compare below 0x20 flags the control bytes and, negative,
             * those >= 0x80; the first flagged byte ends the run (about
             * half a instruction a byte, against three for the SWAR loop
             * below, which then only sees the last 8-15 bytes) */
            while ((apr_size_t)(end - s) >= 16) {
                __m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
                int m = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(
                    _mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                    _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                    _mm_cmplt_epi8(v, _mm_set1_epi8(0x20))));

                if (m) {
                    s += __builtin_ctz((unsigned)m);
                    break;
                }
                s += 16;
            }
#endif
            /* eight bytes at a time while all are plain (SWAR: a byte
             * < 0x20, >= 0x80, '"' or '\\' flags its word, maybe with a
             * false alarm; the byte loop below is exact) */
            while ((apr_size_t)(end - s) >= 8) {
                apr_uint64_t v, q, k;

                memcpy(&v, s, 8);
                q = v ^ (JW_ONES * '"');
                k = v ^ (JW_ONES * '\\');
                if (((v - JW_ONES * 0x20) | v | ((q - JW_ONES) & ~q)
                     | ((k - JW_ONES) & ~k)) & (JW_ONES * 0x80))
                    break;
                s += 8;
            }
            for (; JW_PLAIN(*s); s++)
                ;
            if (s > run && !jw_put(b, (const char *)run,
                                   (apr_size_t)(s - run)))
                return 0;
            c = *s;
            if (!c) break;
            if (!jw_room(b, 6)) return 0;
            o = b->data + b->len;
            if (c < 0x80) {
                o[0] = '\\';
                switch (c) {
                case '"':  o[1] = '"'; break;
                case '\\': o[1] = '\\'; break;
                case '\b': o[1] = 'b'; break;
                case '\f': o[1] = 'f'; break;
                case '\n': o[1] = 'n'; break;
                case '\r': o[1] = 'r'; break;
                case '\t': o[1] = 't'; break;
                default:
                    o[1] = 'u'; o[2] = '0'; o[3] = '0';
                    o[4] = hex[c >> 4]; o[5] = hex[c & 15];
                    b->len += 6;
                    s++;
                    continue;
                }
                b->len += 2;
                s++;
            }
            else {
                int n = utf8_seq(s);

                if (n > 0) {
                    memcpy(o, s, (apr_size_t)n);
                    b->len += (apr_size_t)n;
                    s += n;
                }
                else {
                    memcpy(o, "\xEF\xBF\xBD", 3);      /* U+FFFD */
                    b->len += 3;
                    s += -n;
                }
            }
        }
    }
    return jw_put(b, "\"", 1);
}

/* d as %.15g when that reads back as d exactly (what cJSON prints then),
 * else the shorter of %.16g (when exact) and %.17g (always exact); with '.'
 * as the decimal point whatever the locale. buf holds 32 bytes. */
static int jw_double(char *buf, double d)
{
    char alt[32];
    int n, m, i;

    n = snprintf(buf, 32, "%1.15g", d);
    if (n <= 0 || n >= 32) return 0;
    if (strtod(buf, NULL) != d) {
        n = snprintf(buf, 32, "%1.16g", d);
        if (n <= 0 || n >= 32) return 0;
        m = snprintf(alt, sizeof(alt), "%1.17g", d);
        if (m <= 0 || m >= 32) return 0;
        if (strtod(buf, NULL) != d || m < n) {
            memcpy(buf, alt, (apr_size_t)m + 1);
            n = m;
        }
    }
    for (i = 0; i < n; i++) {
        char c = buf[i];
        if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e'
              || c == 'E' || c == '.'))
            buf[i] = '.';
    }
    return n;
}

static int jw_number(llmp_buf_t *b, const cJSON *item)
{
    double d = item->valuedouble;
    char buf[32], *e = buf + sizeof(buf), *s = e;
    int n;

    if (isnan(d) || isinf(d)) return jw_put(b, "null", 4);
    if (d == (double)item->valueint && (d != 0 || !signbit(d))) {
        /* integers as integers: the text %.15g gives, faster */
        long v = item->valueint;
        unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
        do { *--s = (char)('0' + u % 10); u /= 10; } while (u);
        if (v < 0) *--s = '-';
        return jw_put(b, s, (apr_size_t)(e - s));
    }
    n = jw_double(buf, d);
    return n > 0 && jw_put(b, buf, (apr_size_t)n);
}

static int jw_value(llmp_buf_t *b, const cJSON *item)
{
    const cJSON *c;

    switch (item->type & 0xFF) {
    case cJSON_NULL:   return jw_put(b, "null", 4);
    case cJSON_False:  return jw_put(b, "false", 5);
    case cJSON_True:   return jw_put(b, "true", 4);
    case cJSON_Number: return jw_number(b, item);
    case cJSON_String: return jw_string(b, item->valuestring);
    case cJSON_Raw:
        /* llmp_json_add_int's decimal text; cJSON fails without text */
        return item->valuestring
               && jw_put(b, item->valuestring, strlen(item->valuestring));
    case cJSON_Array:
        if (!jw_put(b, "[", 1)) return 0;
        for (c = item->child; c; c = c->next) {
            if (c != item->child && !jw_put(b, ",", 1)) return 0;
            if (!jw_value(b, c)) return 0;
        }
        return jw_put(b, "]", 1);
    case cJSON_Object:
        if (!jw_put(b, "{", 1)) return 0;
        for (c = item->child; c; c = c->next) {
            if (c != item->child && !jw_put(b, ",", 1)) return 0;
            if (!jw_string(b, c->string) || !jw_put(b, ":", 1)
                || !jw_value(b, c))
                return 0;
        }
        return jw_put(b, "}", 1);
    default:
        return 0;              /* cJSON_Invalid: cJSON refuses it too */
    }
}

apr_status_t llmp_json_write(llmp_buf_t *b, const cJSON *j)
{
    apr_size_t start = b->len;

    if (!j) return APR_EINVAL;
    if (!jw_value(b, j) || !jw_room(b, 0)) {
        b->len = start;
        if (b->data) b->data[start] = '\0';
        return APR_ENOMEM;
    }
    b->data[b->len] = '\0';
    return APR_SUCCESS;
}

char *llmp_json_print(apr_pool_t *p, const cJSON *j, apr_size_t *len)
{
    llmp_buf_t b;

    if (!j) return NULL;
    llmp_buf_init(&b, p, LLMP_JSON_MAX);
    b.first = 1024;
    if (llmp_json_write(&b, j) != APR_SUCCESS) return NULL;
    if (len) *len = b.len;
    return b.data;
}

const char *llmp_int_text(char *buf, apr_int64_t v)
{
    char *o = buf + LLMP_INT_TEXT_SIZE - 1;
    apr_uint64_t u = v < 0 ? 0 - (apr_uint64_t)v : (apr_uint64_t)v;

    *o = '\0';
    do {
        *--o = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0) *--o = '-';
    return o;
}

const char *llmp_int_pstr(apr_pool_t *p, apr_int64_t v)
{
    char buf[LLMP_INT_TEXT_SIZE];
    const char *s = llmp_int_text(buf, v);

    return apr_pstrmemdup(p, s, (apr_size_t)(buf + sizeof(buf) - 1 - s));
}

/* v as a raw item: its decimal digits (no formatter per number) */
static cJSON *int_item(apr_int64_t v)
{
    char buf[LLMP_INT_TEXT_SIZE];

    return cJSON_CreateRaw(llmp_int_text(buf, v));
}

cJSON *llmp_json_add_int(cJSON *obj, const char *name, apr_int64_t v)
{
    cJSON *item = int_item(v);

    if (!item) return NULL;
    if (!cJSON_AddItemToObject(obj, name, item)) {
        cJSON_Delete(item);
        return NULL;
    }
    return item;
}

llmp_error_t *llmp_json_out(apr_pool_t *p, const cJSON *j, char **out,
                            apr_size_t *len)
{
    *out = llmp_json_print(p, j, len);
    if (!*out)
        return llmp_error_make(p, 500, NULL, NULL, NULL, "out of memory");
    return NULL;
}

char *llmp_error_json(apr_pool_t *p, const llmp_error_t *e)
{
    cJSON *root = cJSON_CreateObject(), *err = cJSON_CreateObject();
    char *s;

    cJSON_AddItemToObject(root, "error", err);
    cJSON_AddStringToObject(err, "message", e->message ? e->message : "");
    cJSON_AddStringToObject(err, "type", e->type ? e->type
                            : llmp_error_type_for_status(e->status));
    if (e->param) cJSON_AddStringToObject(err, "param", e->param);
    else cJSON_AddNullToObject(err, "param");
    if (e->code) cJSON_AddStringToObject(err, "code", e->code);
    else cJSON_AddNullToObject(err, "code");
    s = llmp_json_print(p, root, NULL);
    cJSON_Delete(root);
    return s ? s : apr_pstrdup(p, "{\"error\":{\"message\":\"out of memory\","
                               "\"type\":\"api_error\",\"param\":null,"
                               "\"code\":null}}");
}

llmp_error_t *llmp_bad_request(apr_pool_t *p, const char *param,
                               const char *msg)
{
    return llmp_error_make(p, 400, "invalid_request_error", NULL, param,
                           "%s", msg);
}

llmp_error_t *llmp_bad_upstream(apr_pool_t *p, const char *provider,
                                const char *msg)
{
    return llmp_error_make(p, 502, "api_error", NULL, NULL,
                           "invalid response from %s: %s", provider, msg);
}

static apr_status_t json_cleanup(void *data)
{
    cJSON_Delete(data);
    return APR_SUCCESS;
}

static void json_cleanup_reg(apr_pool_t *p, cJSON *j)
{
    apr_pool_cleanup_register(p, j, json_cleanup, apr_pool_cleanup_null);
}

void llmp_json_pool_own(apr_pool_t *p, cJSON *j)
{
    if (j) json_cleanup_reg(p, j);
}

cJSON *llmp_json_parse_strict(const char *buf, apr_size_t len)
{
    const char *end = NULL;
    cJSON *j;

    if (!buf || !len) return NULL;
    /* cJSON stops after the first value: what follows it must be white
     * space only ("{} <html>" is not JSON) */
    j = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!j) return NULL;
    while (end && end < buf + len
           && (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r'))
        end++;
    if (!end || end != buf + len) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

cJSON *llmp_json_parse_pool(apr_pool_t *p, const char *buf, apr_size_t len)
{
    cJSON *j = llmp_json_parse_strict(buf, len);

    if (j) json_cleanup_reg(p, j);
    return j;
}

/* Members that mark a body as a provider's own answer, not an envelope. */
static const char *const native_fields[] = {
    "id", "object", "choices", "candidates", "content", "message", "data",
    "embeddings", "error", "type", "model", NULL
};

cJSON *llmp_envelope_unwrap(cJSON *root)
{
    cJSON *inner;
    int i;

    if (!cJSON_IsObject(root)) return root;
    inner = cJSON_GetObjectItemCaseSensitive(root, "response");
    if (!cJSON_IsObject(inner)) return root;
    for (i = 0; native_fields[i]; i++) {
        if (cJSON_GetObjectItemCaseSensitive(root, native_fields[i]))
            return root;
    }
    return inner;
}

int llmp_json_looks_like_object(const char *b, apr_size_t len)
{
    apr_size_t i = 0;

    while (i < len && apr_isspace(b[i])) i++;
    while (len > i && apr_isspace(b[len - 1])) len--;
    return len - i >= 2 && b[i] == '{' && b[len - 1] == '}';
}

int llmp_envelope_unwrap_body(apr_pool_t *p, const char *body, apr_size_t len,
                              char **out, apr_size_t *outlen)
{
    cJSON *root, *inner;
    apr_size_t i;
    int found = 0;

    /* Cheap checks first: an object that mentions "response" at all. */
    if (!llmp_json_looks_like_object(body, len)) return 0;
    for (i = 0; i + 10 <= len; i++) {
        if (body[i] == '"' && !memcmp(body + i, "\"response\"", 10)) {
            found = 1;
            break;
        }
    }
    if (!found) return 0;
    root = cJSON_ParseWithLength(body, len);
    if (!root) return 0;
    inner = llmp_envelope_unwrap(root);
    if (inner == root) {
        cJSON_Delete(root);
        return 0;
    }
    *out = llmp_json_print(p, inner, outlen);
    cJSON_Delete(root);
    return *out != NULL;
}

const cJSON *llmp_json_get(const cJSON *obj, const char *name)
{
    return cJSON_IsObject(obj) ? cJSON_GetObjectItemCaseSensitive(obj, name)
                               : NULL;
}

const char *llmp_json_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

llmp_error_t *llmp_req_opt_str(apr_pool_t *p, const cJSON *req,
                               const char *name, const char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, name);

    *out = NULL;
    if (!v || cJSON_IsNull(v)) return NULL;
    if (!cJSON_IsString(v) || !v->valuestring) {
        return llmp_error_make(p, 400, NULL, NULL, name,
                               "'%s' must be a string", name);
    }
    *out = v->valuestring;
    return NULL;
}

const char *llmp_content_text(apr_pool_t *p, const cJSON *content)
{
    const cJSON *part;
    const char *acc = NULL;

    if (cJSON_IsString(content)) return content->valuestring;
    if (!cJSON_IsArray(content)) return NULL;
    cJSON_ArrayForEach(part, content) {
        const char *type = llmp_json_str(part, "type");
        const char *text = llmp_json_str(part, "text");
        if (cJSON_IsString(part)) text = part->valuestring;
        else if (!text || (type && strcmp(type, "text")
                           && strcmp(type, "input_text")))
            continue;
        acc = acc ? apr_pstrcat(p, acc, text, NULL) : text;
    }
    return acc ? acc : "";
}

apr_array_header_t *llmp_stop_list(apr_pool_t *p, const cJSON *stop)
{
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));
    const cJSON *s;

    if (cJSON_IsString(stop)) {
        APR_ARRAY_PUSH(a, const char *) = stop->valuestring;
    }
    else if (cJSON_IsArray(stop)) {
        cJSON_ArrayForEach(s, stop) {
            if (cJSON_IsString(s))
                APR_ARRAY_PUSH(a, const char *) = s->valuestring;
        }
    }
    return a;
}

int llmp_data_url_parse(apr_pool_t *p, const char *url, const char **mime,
                        const char **b64)
{
    const char *comma, *meta;
    apr_size_t mlen;

    if (!url || strncasecmp(url, "data:", 5)) return 0;
    comma = strchr(url + 5, ',');
    if (!comma) return 0;
    meta = url + 5;
    mlen = (apr_size_t)(comma - meta);
    if (mlen < 7 || strncasecmp(comma - 7, ";base64", 7)) return 0;
    mlen -= 7;
    {
        /* drop parameters like ;charset=... from the media type */
        const char *semi = memchr(meta, ';', mlen);
        if (semi) mlen = (apr_size_t)(semi - meta);
    }
    *mime = mlen ? apr_pstrmemdup(p, meta, mlen) : "text/plain";
    *b64 = comma + 1;
    return 1;
}

int llmp_req_max_tokens(const cJSON *req)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req,
                                                      "max_completion_tokens");
    if (!cJSON_IsNumber(v))
        v = cJSON_GetObjectItemCaseSensitive(req, "max_tokens");
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e9)
        return -1;
    return (int)v->valuedouble;
}

/* prefix and the hex of 12 random bytes; NULL without random bytes unless
 * predictable may do. */
static const char *make_id(apr_pool_t *p, const char *prefix,
                           int predictable)
{
    unsigned char rnd[12];
    static const char hex[] = "0123456789abcdef";
    char out[sizeof(rnd) * 2 + 1];
    apr_size_t i;

    if (apr_generate_random_bytes(rnd, sizeof(rnd)) != APR_SUCCESS) {
        /* fall back on time and address entropy: ids need not be secret */
        apr_uint64_t t = (apr_uint64_t)apr_time_now() ^ (apr_uintptr_t)p;

        if (!predictable) return NULL;
        for (i = 0; i < sizeof(rnd); i++) rnd[i] = (unsigned char)(t >> (i % 8 * 8));
    }
    for (i = 0; i < sizeof(rnd); i++) {
        out[2 * i] = hex[rnd[i] >> 4];
        out[2 * i + 1] = hex[rnd[i] & 15];
    }
    out[sizeof(out) - 1] = '\0';
    return apr_pstrcat(p, prefix, out, NULL);
}

const char *llmp_make_id(apr_pool_t *p, const char *prefix)
{
    return make_id(p, prefix, 1);
}

const char *llmp_make_key_id(apr_pool_t *p, const char *prefix)
{
    return make_id(p, prefix, 0);
}

/* Members of the answers this module builds: constant names (and constant
 * values) as references, not copies (fewer allocations per answer; cJSON
 * frees neither). */
static void add_cs(cJSON *o, const char *name, cJSON *v)
{
    if (!cJSON_AddItemToObjectCS(o, name, v)) cJSON_Delete(v);
}
#define ADD_STR(o, k, v)   add_cs(o, k, cJSON_CreateString(v))
#define ADD_CONST(o, k, v) add_cs(o, k, cJSON_CreateStringReference(v))
#define ADD_NULL(o, k)     add_cs(o, k, cJSON_CreateNull())
#define ADD_INT(o, k, v)   add_cs(o, k, int_item(v))
/* an object or array added under a constant name; returned */
static cJSON *add_cs_ret(cJSON *o, const char *name, cJSON *v)
{
    return cJSON_AddItemToObjectCS(o, name, v) ? v : (cJSON_Delete(v), NULL);
}

cJSON *llmp_completion_new(const char *id, apr_int64_t created,
                           const char *model)
{
    cJSON *c = cJSON_CreateObject();

    ADD_STR(c, "id", id);
    ADD_CONST(c, "object", "chat.completion");
    ADD_INT(c, "created", created);
    ADD_STR(c, "model", model);
    add_cs(c, "choices", cJSON_CreateArray());
    return c;
}

cJSON *llmp_completion_add_choice(cJSON *completion, int index,
                                  const char *content,
                                  const char *finish_reason)
{
    cJSON *choices = cJSON_GetObjectItemCaseSensitive(completion, "choices");
    cJSON *choice = cJSON_CreateObject(), *msg = cJSON_CreateObject();

    ADD_INT(choice, "index", index);
    ADD_CONST(msg, "role", "assistant");
    if (content) ADD_STR(msg, "content", content);
    else ADD_NULL(msg, "content");
    ADD_NULL(msg, "refusal");
    cJSON_AddItemToObjectCS(choice, "message", msg);   /* (returned) */
    ADD_NULL(choice, "logprobs");
    if (finish_reason) ADD_STR(choice, "finish_reason", finish_reason);
    else ADD_NULL(choice, "finish_reason");
    cJSON_AddItemToArray(choices, choice);
    return msg;
}

void llmp_message_add_tool_call(cJSON *message, const char *id,
                                const char *name, const char *arguments)
{
    cJSON *calls = cJSON_GetObjectItemCaseSensitive(message, "tool_calls");
    cJSON *call = cJSON_CreateObject(), *fn = cJSON_CreateObject();

    if (!calls) calls = add_cs_ret(message, "tool_calls", cJSON_CreateArray());
    ADD_STR(call, "id", id ? id : "");
    ADD_CONST(call, "type", "function");
    ADD_STR(fn, "name", name ? name : "");
    ADD_STR(fn, "arguments", arguments ? arguments : "{}");
    add_cs(call, "function", fn);
    cJSON_AddItemToArray(calls, call);
}

cJSON *llmp_usage_new(long prompt, long completion, long cached)
{
    cJSON *u = cJSON_CreateObject();

    ADD_INT(u, "prompt_tokens", prompt);
    ADD_INT(u, "completion_tokens", completion);
    ADD_INT(u, "total_tokens", prompt + completion);
    if (cached >= 0) {
        cJSON *d = add_cs_ret(u, "prompt_tokens_details",
                              cJSON_CreateObject());
        if (d) ADD_INT(d, "cached_tokens", cached);
    }
    return u;
}

cJSON *llmp_chunk_new(const char *id, apr_int64_t created, const char *model)
{
    cJSON *c = cJSON_CreateObject();

    ADD_STR(c, "id", id);
    ADD_CONST(c, "object", "chat.completion.chunk");
    ADD_INT(c, "created", created);
    ADD_STR(c, "model", model);
    add_cs(c, "choices", cJSON_CreateArray());
    return c;
}

cJSON *llmp_chunk_add_choice(cJSON *chunk, int index,
                             const char *finish_reason)
{
    cJSON *choices = cJSON_GetObjectItemCaseSensitive(chunk, "choices");
    cJSON *choice = cJSON_CreateObject(), *delta = cJSON_CreateObject();

    ADD_INT(choice, "index", index);
    cJSON_AddItemToObjectCS(choice, "delta", delta);   /* (returned) */
    ADD_NULL(choice, "logprobs");
    if (finish_reason) ADD_STR(choice, "finish_reason", finish_reason);
    else ADD_NULL(choice, "finish_reason");
    cJSON_AddItemToArray(choices, choice);
    return delta;
}

void llmp_delta_add_tool_call(cJSON *delta, int index, const char *id,
                              const char *name, const char *arguments)
{
    cJSON *calls = cJSON_GetObjectItemCaseSensitive(delta, "tool_calls");
    cJSON *call = cJSON_CreateObject(), *fn = cJSON_CreateObject();

    if (!calls) calls = add_cs_ret(delta, "tool_calls", cJSON_CreateArray());
    ADD_INT(call, "index", index);
    if (id) {
        ADD_STR(call, "id", id);
        ADD_CONST(call, "type", "function");
    }
    if (name) ADD_STR(fn, "name", name);
    if (arguments) ADD_STR(fn, "arguments", arguments);
    add_cs(call, "function", fn);
    cJSON_AddItemToArray(calls, call);
}

apr_array_header_t *llmp_embeddings_input(apr_pool_t *p, const cJSON *req,
                                          llmp_error_t **err)
{
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(req, "input"), *s;
    apr_array_header_t *a = apr_array_make(p, 4, sizeof(const char *));

    if (cJSON_IsString(in)) {
        APR_ARRAY_PUSH(a, const char *) = in->valuestring;
    }
    else if (cJSON_IsArray(in)) {
        cJSON_ArrayForEach(s, in) {
            if (!cJSON_IsString(s)) {
                *err = llmp_error_make(p, 400, NULL, NULL, "input",
                    "'input' must be a string or an array of strings for this "
                    "model (token arrays are only accepted by OpenAI models)");
                return NULL;
            }
            APR_ARRAY_PUSH(a, const char *) = s->valuestring;
        }
    }
    if (!a->nelts) {
        *err = llmp_error_make(p, 400, NULL, NULL, "input",
                               "'input' is required and must not be empty");
        return NULL;
    }
    return a;
}

int llmp_embeddings_base64(const cJSON *req)
{
    const char *f = llmp_json_str(req, "encoding_format");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(req, "encoding_format");

    if (!v || cJSON_IsNull(v)) return 0;
    if (!f) return -1;
    if (!strcmp(f, "base64")) return 1;
    if (!strcmp(f, "float")) return 0;
    return -1;
}

cJSON *llmp_embeddings_new(const char *model, long prompt_tokens)
{
    cJSON *r = cJSON_CreateObject(), *u;

    cJSON_AddStringToObject(r, "object", "list");
    cJSON_AddArrayToObject(r, "data");
    cJSON_AddStringToObject(r, "model", model);
    u = cJSON_AddObjectToObject(r, "usage");
    llmp_json_add_int(u, "prompt_tokens", prompt_tokens);
    llmp_json_add_int(u, "total_tokens", prompt_tokens);
    return r;
}

/* The vector as little-endian float32, base64 encoded, in one pass into
 * one pool buffer. */
static char *embedding_base64(apr_pool_t *p, const cJSON *vector,
                              apr_size_t n)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = apr_palloc(p, (n * 4 + 2) / 3 * 4 + 1), *o = out;
    unsigned char g[3];
    const cJSON *x;
    int k = 0, i;

    cJSON_ArrayForEach(x, vector) {
        float f = (float)x->valuedouble;
        apr_uint32_t u;

        memcpy(&u, &f, 4);
        for (i = 0; i < 4; i++) {
            g[k++] = (unsigned char)(u >> (8 * i));
            if (k == 3) {
                *o++ = tab[g[0] >> 2];
                *o++ = tab[((g[0] & 3) << 4) | (g[1] >> 4)];
                *o++ = tab[((g[1] & 15) << 2) | (g[2] >> 6)];
                *o++ = tab[g[2] & 63];
                k = 0;
            }
        }
    }
    if (k) {
        *o++ = tab[g[0] >> 2];
        if (k == 1) {
            *o++ = tab[(g[0] & 3) << 4];
            *o++ = '=';
        }
        else {
            *o++ = tab[((g[0] & 3) << 4) | (g[1] >> 4)];
            *o++ = tab[(g[1] & 15) << 2];
        }
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

int llmp_embeddings_add(apr_pool_t *p, cJSON *resp, int index,
                        const cJSON *vector, int base64)
{
    cJSON *data = cJSON_GetObjectItemCaseSensitive(resp, "data");
    cJSON *e, *v;
    const cJSON *x;
    apr_size_t n = 0;

    if (!cJSON_IsArray(vector)) return 0;
    cJSON_ArrayForEach(x, vector) {
        if (!cJSON_IsNumber(x)) return 0;
        n++;
    }
    /* Neither is a copy of the vector: the base64 text is pool memory, and
     * the float array refers to the native tree's numbers. */
    if (base64)
        v = cJSON_CreateStringReference(embedding_base64(p, vector, n));
    else
        v = cJSON_CreateArrayReference(vector->child);
    e = cJSON_CreateObject();
    if (!v || !e) {
        cJSON_Delete(v);
        cJSON_Delete(e);
        return 0;
    }
    cJSON_AddStringToObject(e, "object", "embedding");
    llmp_json_add_int(e, "index", index);
    cJSON_AddItemToObject(e, "embedding", v);
    cJSON_AddItemToArray(data, e);
    return 1;
}

llmp_error_t *llmp_images_prompt(apr_pool_t *p, const cJSON *req,
                                 const char **prompt)
{
    llmp_error_t *e = llmp_req_opt_str(p, req, "prompt", prompt);

    if (e) return e;
    if (!*prompt || !**prompt) {
        return llmp_error_make(p, 400, NULL, NULL, "prompt",
                               "'prompt' is required and must not be empty");
    }
    return NULL;
}

llmp_error_t *llmp_images_n(apr_pool_t *p, const cJSON *req, int max,
                            long *n)
{
    const cJSON *jn = cJSON_GetObjectItemCaseSensitive(req, "n");

    if (!jn || cJSON_IsNull(jn)) return NULL;
    if (!cJSON_IsNumber(jn) || jn->valuedouble < 1 || jn->valuedouble > max
        || jn->valuedouble != (double)(long)jn->valuedouble) {
        return llmp_error_make(p, 400, NULL, NULL, "n",
                               "'n' must be an integer from 1 to %d", max);
    }
    *n = (long)jn->valuedouble;
    return NULL;
}

/* "1024x1792" or "16:9" -> w, h. Returns 0 for anything else. */
static int images_parse_size(const char *s, long *w, long *h)
{
    char *end;

    if (!apr_isdigit((unsigned char)*s)) return 0;
    *w = strtol(s, &end, 10);
    if ((*end != 'x' && *end != 'X' && *end != ':') || end - s > 5) return 0;
    s = end + 1;
    if (!apr_isdigit((unsigned char)*s)) return 0;
    *h = strtol(s, &end, 10);
    if (*end || end - s > 5) return 0;
    return *w > 0 && *h > 0;
}

llmp_error_t *llmp_images_size(apr_pool_t *p, const cJSON *req,
                               const char **size, long *w, long *h)
{
    llmp_error_t *e = llmp_req_opt_str(p, req, "size", size);

    if (e) return e;
    if (*size && !strcmp(*size, "auto")) *size = NULL;
    if (*size && !images_parse_size(*size, w, h)) {
        return llmp_error_make(p, 400, NULL, NULL, "size",
                               "Invalid size '%s': expected WIDTHxHEIGHT "
                               "or 'auto'", *size);
    }
    return NULL;
}

cJSON *llmp_images_new(apr_int64_t created)
{
    cJSON *r = cJSON_CreateObject();

    llmp_json_add_int(r, "created", created);
    cJSON_AddArrayToObject(r, "data");
    return r;
}

void llmp_images_add(cJSON *resp, const char *url, const char *b64_json,
                     const char *revised_prompt)
{
    cJSON *data = cJSON_GetObjectItemCaseSensitive(resp, "data");
    cJSON *e = cJSON_CreateObject();

    if (url) cJSON_AddStringToObject(e, "url", url);
    if (b64_json) cJSON_AddStringToObject(e, "b64_json", b64_json);
    if (revised_prompt) cJSON_AddStringToObject(e, "revised_prompt",
                                                revised_prompt);
    cJSON_AddItemToArray(data, e);
}

int llmp_embeddings_to_base64(apr_pool_t *p, cJSON *resp)
{
    cJSON *data = cJSON_GetObjectItemCaseSensitive(resp, "data"), *item;
    int n = 0;

    if (!cJSON_IsArray(data)) return 0;
    cJSON_ArrayForEach(item, data) {
        cJSON *vec = cJSON_GetObjectItemCaseSensitive(item, "embedding");
        cJSON *tmp, *added, *enc;

        if (!cJSON_IsArray(vec)) continue;
        /* llmp_embeddings_add encodes it, into a scratch answer */
        tmp = cJSON_CreateObject();
        if (!tmp || !cJSON_AddArrayToObject(tmp, "data")
            || !llmp_embeddings_add(p, tmp, 0, vec, 1)) {
            cJSON_Delete(tmp);
            continue;
        }
        added = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(tmp,
                                                                    "data"), 0);
        enc = cJSON_DetachItemFromObjectCaseSensitive(added, "embedding");
        cJSON_Delete(tmp);
        if (enc && cJSON_ReplaceItemInObjectCaseSensitive(item, "embedding",
                                                          enc))
            n++;
        else
            cJSON_Delete(enc);
    }
    return n;
}
