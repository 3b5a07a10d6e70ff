/* Routing: is a handle a safe path, where does it go, which provider speaks
 * there. Core: no httpd header. */
#include <stdlib.h>
#include <string.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <apr_lib.h>

#include "llmp_route.h"

int llmp_handle_is_safe(const char *h)
{
    const char *s;

    if (!h || h[0] != '/' || h[1] == '/') return 0;
    if (strlen(h) > 2048) return 0;
    for (s = h; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= 0x20 || c == 0x7f || c == '\\' || c == '@' || c == '#')
            return 0;
        if (c == '.' && s[1] == '.') return 0;
        if (c == '/' && s[1] == '/') return 0;
        if (c == '%' && s[1] && s[2]) {
            /* encoded dot, slash, backslash or control: refuse */
            char hex[3] = { s[1], s[2], 0 };
            long v = strtol(hex, NULL, 16);
            if (apr_isxdigit(s[1]) && apr_isxdigit(s[2])
                && (v == '.' || v == '/' || v == '\\' || v < 0x20 || v == '@'))
                return 0;
        }
    }
    return 1;
}

const char *llmp_url_origin(apr_pool_t *p, const char *url, const char **err)
{
    apr_uri_t u;
    const char *host;

    if (!url || apr_uri_parse(p, url, &u) != APR_SUCCESS || !u.scheme
        || !u.hostname || !*u.hostname) {
        *err = "not an absolute URL with a host";
        return NULL;
    }
    if (strcasecmp(u.scheme, "http") && strcasecmp(u.scheme, "https")) {
        *err = "only http and https URLs are supported";
        return NULL;
    }
    host = strchr(u.hostname, ':') ? apr_pstrcat(p, "[", u.hostname, "]", NULL)
                                   : u.hostname;
    return apr_pstrcat(p, apr_pstrdup(p, u.scheme), "://", host,
                       u.port_str ? ":" : "", u.port_str ? u.port_str : "",
                       NULL);
}

const char *llmp_backend_url(apr_pool_t *p, const char *origin,
                             const char *path)
{
    return apr_pstrcat(p, origin, path, NULL);
}

/* The first path segment, skipping a leading "raw"; copies into buf. */
static const char *first_segment(const char *handle, char *buf, size_t cap)
{
    const char *s = handle, *e;
    size_t n;

    for (;;) {
        while (*s == '/') s++;
        e = s;
        while (*e && *e != '/' && *e != '?') e++;
        n = (size_t)(e - s);
        if (n == 3 && !strncasecmp(s, "raw", 3) && *e == '/') {
            s = e;
            continue;
        }
        break;
    }
    if (n >= cap) n = cap - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return buf;
}

static int ends_with(const char *s, size_t len, const char *suffix)
{
    size_t n = strlen(suffix);
    return len >= n && !strncasecmp(s + len - n, suffix, n);
}

static int has_word(const char *s, const char *w)
{
    size_t n = strlen(w);
    for (; s && *s; s++) {
        if (!strncasecmp(s, w, n)) return 1;
    }
    return 0;
}

llmp_provider_e llmp_route_provider(const char *handle, const char *family,
                                    const llmp_route_rules_t *rules)
{
    char seg[64];
    size_t len;
    const char *q;

    if (!handle) return LLMP_PROV_OPENAI;
    if (rules && rules->rules) {
        int i, best = -1;
        size_t best_len = 0;
        for (i = 0; i < rules->rules->nelts; i++) {
            const llmp_route_rule_t *r = &APR_ARRAY_IDX(rules->rules, i,
                                                        llmp_route_rule_t);
            size_t n = strlen(r->prefix);
            if (!strncmp(handle, r->prefix, n) && (best < 0 || n > best_len)) {
                best = i;
                best_len = n;
            }
        }
        if (best >= 0)
            return APR_ARRAY_IDX(rules->rules, best, llmp_route_rule_t).provider;
    }
    first_segment(handle, seg, sizeof(seg));
    q = strchr(handle, '?');
    len = q ? (size_t)(q - handle) : strlen(handle);
    if (!family) family = "";

    if (!strcasecmp(seg, "recraft") || !strncasecmp(family, "recraft", 7))
        return LLMP_PROV_RECRAFT;
    if (!strcasecmp(seg, "ideogram") || !strncasecmp(family, "ideogram", 8))
        return LLMP_PROV_IDEOGRAM;
    if (ends_with(handle, len, "/chat/completions")
        || ends_with(handle, len, "/embeddings")
        || ends_with(handle, len, "/images/generations")
        || ends_with(handle, len, "/completions")
        || ends_with(handle, len, "/responses"))
        return LLMP_PROV_OPENAI;
    if (has_word(handle, ":generateContent")
        || has_word(handle, ":streamGenerateContent")
        || has_word(handle, ":embedContent")
        || has_word(handle, ":batchEmbedContents"))
        return LLMP_PROV_GEMINI;
    if (ends_with(handle, len, "/messages"))
        return LLMP_PROV_ANTHROPIC;
    if (ends_with(handle, len, "/v2/chat") || ends_with(handle, len, "/v2/embed"))
        return LLMP_PROV_COHERE;
    if (!strcasecmp(seg, "google") || !strcasecmp(seg, "gemini"))
        return LLMP_PROV_GEMINI;
    if (!strcasecmp(seg, "anthropic") || has_word(family, "claude"))
        return LLMP_PROV_ANTHROPIC;
    if (!strcasecmp(seg, "cohere") || !strncasecmp(family, "command", 7))
        return LLMP_PROV_COHERE;
    if (has_word(family, "gemini"))
        return LLMP_PROV_GEMINI;
    return LLMP_PROV_OPENAI;
}

const char *llmp_route_owner(apr_pool_t *p, const char *handle,
                             const char *family)
{
    char seg[64];

    if (handle) {
        first_segment(handle, seg, sizeof(seg));
        if (*seg && !strchr(seg, ':')) return apr_pstrdup(p, seg);
    }
    if (family && *family) return family;
    return "system";
}

llmp_kind_e llmp_route_kind(const char *handle, llmp_provider_e provider)
{
    const char *q = strchr(handle, '?');
    size_t len = q ? (size_t)(q - handle) : strlen(handle);

    switch (provider) {
    case LLMP_PROV_IDEOGRAM:
    case LLMP_PROV_RECRAFT:
        return LLMP_KIND_IMAGES;
    case LLMP_PROV_ANTHROPIC:
        return LLMP_KIND_CHAT;
    case LLMP_PROV_COHERE:
        if (ends_with(handle, len, "/embed")) return LLMP_KIND_EMBEDDINGS;
        if (ends_with(handle, len, "/chat")) return LLMP_KIND_CHAT;
        return LLMP_KIND_ANY;
    case LLMP_PROV_GEMINI:
        if (has_word(handle, ":embedContent")
            || has_word(handle, ":batchEmbedContents"))
            return LLMP_KIND_EMBEDDINGS;
        if (has_word(handle, "generateContent")
            || has_word(handle, "GenerateContent"))
            return LLMP_KIND_CHAT;
        return LLMP_KIND_ANY;
    default:
        if (ends_with(handle, len, "/chat/completions")) return LLMP_KIND_CHAT;
        if (ends_with(handle, len, "/embeddings")) return LLMP_KIND_EMBEDDINGS;
        if (ends_with(handle, len, "/images/generations"))
            return LLMP_KIND_IMAGES;
        if (ends_with(handle, len, "/completions"))
            return LLMP_KIND_COMPLETIONS;
        if (ends_with(handle, len, "/responses")) return LLMP_KIND_RESPONSES;
        return LLMP_KIND_ANY;
    }
}

const char *llmp_kind_endpoint(llmp_kind_e kind)
{
    switch (kind) {
    case LLMP_KIND_CHAT: return "/v1/chat/completions";
    case LLMP_KIND_EMBEDDINGS: return "/v1/embeddings";
    case LLMP_KIND_IMAGES: return "/v1/images/generations";
    case LLMP_KIND_COMPLETIONS: return "/v1/completions";
    case LLMP_KIND_RESPONSES: return "/v1/responses";
    default: return "any endpoint";
    }
}
