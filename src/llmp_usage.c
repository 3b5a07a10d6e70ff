/* Usage and cost of one call: see include/llmp_usage.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <apr_strings.h>
#include "llmp_usage.h"

/* A token count: a number from 0 to 1e15 (larger is no count); the
 * translators' own trees hold integers as raw items (their digits). */
static int count_of(const cJSON *o, const char *name, apr_int64_t *out)
{
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);

    if (cJSON_IsRaw(n) && n->valuestring) {
        const char *c = n->valuestring;
        apr_int64_t v = 0;

        if (!*c || strlen(c) > 15) return 0;
        for (; *c; c++) {
            if (*c < '0' || *c > '9') return 0;
            v = v * 10 + (*c - '0');
        }
        *out = v;
        return 1;
    }
    if (!cJSON_IsNumber(n) || !(n->valuedouble >= 0)
        || n->valuedouble > 1e15)
        return 0;
    *out = (apr_int64_t)n->valuedouble;
    return 1;
}

int llmp_usage_take(llmp_usage_t *u, const cJSON *usage,
                    llmp_usage_shape_e shape)
{
    const char *in_name, *out_name, *details;
    apr_int64_t v, read = 0, created = 0;
    int got = 0;

    if (!u || !cJSON_IsObject(usage)) return 0;
    if (shape == LLMP_USAGE_MESSAGES) {
        /* input_tokens counts neither the cache reads nor the cache
         * writes: the prompt is the three together (as the Anthropic back
         * translator puts it in the IR); they are read together */
        if (count_of(usage, "input_tokens", &v)) {
            count_of(usage, "cache_read_input_tokens", &read);
            count_of(usage, "cache_creation_input_tokens", &created);
            u->prompt_tokens = v + read + created;
            u->cached_tokens = read;
            got = 1;
        }
        if (count_of(usage, "output_tokens", &v)) {
            u->completion_tokens = v;
            got = 1;
        }
        if (got) u->has_tokens = 1;
        return got;
    }
    if (shape == LLMP_USAGE_RESPONSES) {
        in_name = "input_tokens";
        out_name = "output_tokens";
        details = "input_tokens_details";
    }
    else {
        in_name = "prompt_tokens";
        out_name = "completion_tokens";
        details = "prompt_tokens_details";
    }
    if (count_of(usage, in_name, &v)) {
        u->prompt_tokens = v;
        got = 1;
    }
    if (count_of(usage, out_name, &v)) {
        u->completion_tokens = v;
        got = 1;
    }
    if (count_of(cJSON_GetObjectItemCaseSensitive(usage, details),
                 "cached_tokens", &v)) {
        u->cached_tokens = v;
        got = 1;
    }
    if (got) u->has_tokens = 1;
    return got;
}

double llmp_usage_finish_cost(llmp_usage_t *u)
{
    u->cost = (double)u->prompt_tokens / 1000.0 * u->prompt_price_1k
              + (double)u->completion_tokens / 1000.0
                * u->completion_price_1k;
    return u->cost;
}

/* The common case without printf: a positive cost that is the double
 * nearest to v / 10^k, v an integer of 15 digits or fewer and k at most
 * 22 (both exact as doubles, so the division is the rounding strtod does
 * of that decimal). That decimal is then the one of 15 significant digits
 * nearest to the cost (the cost lies within half an ulp of it, 1.1e-16
 * relative, and such decimals are at least 1e-15 relative apart), so it
 * is what the general path below finds at its first format: the same
 * text. NULL when the cost is not such a quotient. */
static const char *cost_text_short(apr_pool_t *p, double cost)
{
    static const double p10[23] = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22
    };
    char digits[24], *out, *o;
    apr_uint64_t v = 0;
    int k, nd = 0, i;

    if (!(cost > 0) || cost >= 1e15) return NULL;
    for (k = 0; k <= 22; k++) {
        double s = cost * p10[k];

        if (s >= 1e15) return NULL;
        v = (apr_uint64_t)(s + 0.5);
        if (v && (double)v / p10[k] == cost) break;
    }
    if (k > 22) return NULL;
    while (k > 0 && v % 10 == 0) {
        v /= 10;
        k--;
    }
    for (; v; v /= 10) digits[nd++] = (char)('0' + v % 10);   /* reversed */
    out = o = apr_palloc(p, (apr_size_t)(nd + k + 3));
    if (nd <= k) {
        *o++ = '0';
        *o++ = '.';
        for (i = 0; i < k - nd; i++) *o++ = '0';
        for (i = nd - 1; i >= 0; i--) *o++ = digits[i];
    }
    else {
        for (i = nd - 1; i >= k; i--) *o++ = digits[i];
        if (k) {
            *o++ = '.';
            for (; i >= 0; i--) *o++ = digits[i];
        }
    }
    *o = '\0';
    return out;
}

const char *llmp_usage_cost_text(apr_pool_t *p, double cost)
{
    char sci[64], digits[32], *out, *o;
    const char *c;
    int prec, exp10, nd = 0, i, neg = 0;

    if (!isfinite(cost) || cost == 0) return "0";
    if ((c = cost_text_short(p, cost)) != NULL) return c;
    /* the fewest significant digits that read back as the same double
     * (17 always do): 15 (DBL_DIG) first, whose trailing zeros, cut
     * below, leave the shortest form of any double that has one of 15
     * digits or fewer (a price times a count, nearly always); else 16,
     * else 17. (One to three formats, not up to seventeen.) */
    for (prec = 15; prec <= 17; prec++) {
        snprintf(sci, sizeof(sci), "%.*e", prec - 1, cost);
        if (prec == 17 || strtod(sci, NULL) == cost) break;
    }
    /* "-d.ddde-XX": the digits and the exponent */
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
    /* value = d.ddd x 10^exp10 */
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

int llmp_usage_chunk_has_content(const cJSON *chunk)
{
    static const char *const kinds[] = {
        "content", "reasoning_content", "refusal", "tool_calls", "text",
        NULL };
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(chunk, "choices"),
                *c;

    cJSON_ArrayForEach(c, choices) {
        const cJSON *d = cJSON_GetObjectItemCaseSensitive(c, "delta"), *v;
        int i;

        if (!d) d = c;                  /* a legacy completion's "text" */
        for (i = 0; kinds[i]; i++) {
            v = cJSON_GetObjectItemCaseSensitive(d, kinds[i]);
            if ((cJSON_IsString(v) && *v->valuestring)
                || (cJSON_IsArray(v) && v->child))
                return 1;
        }
    }
    return 0;
}

/* What cJSON skips between tokens: every byte up to the space (it reads
 * "null\x04," as null and a comma, so the span must too). */
static int is_ws(char c)
{
    return (unsigned char)c <= 32 && c != '\0';
}

int llmp_usage_null_span(const char *json, apr_size_t len, apr_size_t *from,
                         apr_size_t *to)
{
    apr_size_t i = 0, key = 0, prev = 0;
    int depth = 0, in_str = 0, esc = 0, expect_key = 0;
    char prev_sig = 0;

    for (i = 0; i < len; i++) {
        char ch = json[i];

        if (in_str) {
            if (esc) esc = 0;
            else if (ch == '\\') esc = 1;
            else if (ch == '"') {
                in_str = 0;
                if (depth == 1 && expect_key == 2) {
                    apr_size_t j = i + 1;

                    expect_key = 0;
                    if (i - key - 1 != 5 || memcmp(json + key + 1, "usage", 5))
                        continue;
                    while (j < len && is_ws(json[j])) j++;
                    if (j >= len || json[j] != ':') return 0;
                    j++;
                    while (j < len && is_ws(json[j])) j++;
                    if (len - j < 4 || memcmp(json + j, "null", 4)) return 0;
                    j += 4;
                    if (prev_sig == ',') {
                        /* ', "usage": null' */
                        *from = prev;
                        *to = j;
                    }
                    else {
                        /* '"usage": null, ' (the first member) */
                        apr_size_t k = j;

                        while (k < len && is_ws(json[k])) k++;
                        if (k < len && json[k] == ',') {
                            k++;
                            while (k < len && is_ws(json[k])) k++;
                            j = k;
                        }
                        *from = key;
                        *to = j;
                    }
                    return 1;
                }
            }
            continue;
        }
        if (is_ws(ch)) continue;
        if (ch == '"') {
            in_str = 1;
            if (depth == 1 && expect_key == 1) {
                expect_key = 2;
                key = i;
            }
            continue;
        }
        if (ch == '{' || ch == '[') {
            depth++;
            if (depth == 1) {
                if (ch != '{') return 0;
                expect_key = 1;
                prev_sig = '{';
                prev = i;
            }
            continue;
        }
        if (ch == '}' || ch == ']') {
            if (--depth <= 0) return 0;
            continue;
        }
        if (depth == 1 && ch == ',') {
            expect_key = 1;
            prev_sig = ',';
            prev = i;
        }
    }
    return 0;
}
