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

static int in_list(const char *const *list, const char *s, int prefix)
{
    for (; list && *list; list++) {
        if (prefix ? !strncasecmp(s, *list, strlen(*list))
                   : !strcasecmp(s, *list))
            return 1;
    }
    return 0;
}

static int family_matches(const llmp_detect_t *d, const char *family)
{
    const char *const *w;

    if (!*family) return 0;
    if (in_list(d->family_prefixes, family, 1)) return 1;
    for (w = d->family_words; w && *w; w++) {
        if (has_word(family, *w)) return 1;
    }
    return 0;
}

/* The first of d's shapes that the handle has (with flag DETECT when
 * detect is set), or NULL. */
static const llmp_shape_t *shape_of(const llmp_detect_t *d,
                                    const char *handle, size_t len,
                                    int detect)
{
    const llmp_shape_t *sh;

    for (sh = d->shapes; sh && sh->text; sh++) {
        if (detect && !(sh->flags & LLMP_SHAPE_DETECT)) continue;
        if ((sh->flags & LLMP_SHAPE_WORD) ? has_word(handle, sh->text)
                                          : ends_with(handle, len, sh->text))
            return sh;
    }
    return NULL;
}

llmp_provider_e llmp_route_provider(const char *handle, const char *family,
                                    const llmp_route_rules_t *rules)
{
    char seg[64];
    size_t len;
    const char *q;
    int i, pass;

    if (!handle) return LLMP_PROV_OPENAI;
    if (rules && rules->rules) {
        int best = -1;
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

    /* pass 0: decisive segments and families; 1: shapes; 2: segments;
     * 3: families */
    for (pass = 0; pass < 4; pass++) {
        for (i = 0; llmp_providers[i]; i++) {
            const llmp_detect_t *d = llmp_providers[i]->detect;
            int hit;

            if (!d) continue;
            switch (pass) {
            case 0:
                hit = d->decisive && (in_list(d->segments, seg, 0)
                                      || family_matches(d, family));
                break;
            case 1:
                hit = shape_of(d, handle, len, 1) != NULL;
                break;
            case 2:
                hit = in_list(d->segments, seg, 0);
                break;
            default:
                hit = family_matches(d, family);
            }
            if (hit) return (llmp_provider_e)llmp_provider_from_name(
                llmp_providers[i]->name);
        }
    }
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
    const llmp_detect_t *d = llmp_provider_ops(provider)->detect;
    const char *q = strchr(handle, '?');
    size_t len = q ? (size_t)(q - handle) : strlen(handle);
    const llmp_shape_t *sh;

    if (!d) return LLMP_KIND_ANY;
    sh = shape_of(d, handle, len, 0);
    return sh ? sh->kind : d->kind;
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
