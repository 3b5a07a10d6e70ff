/* Routing: handle safety, backend URL, provider family of a handle (core). */
#ifndef LLMP_ROUTE_H
#define LLMP_ROUTE_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "llmp_provider.h"

/* Handle prefix -> provider overrides (LLMProxyProviderRule). */
typedef struct llmp_route_rule {
    const char *prefix;
    llmp_provider_e provider;
} llmp_route_rule_t;

typedef struct llmp_route_rules {
    apr_array_header_t *rules;   /* llmp_route_rule_t, checked in order */
} llmp_route_rules_t;

/* 1 when handle is a plain absolute path: starts with a single "/", no
 * scheme, no "//", no "@", no "\\", no "..", no control characters or
 * spaces, no "#". A query ("?...") is allowed. */
int llmp_handle_is_safe(const char *handle);

/* "scheme://host[:port]" of an http(s) URL, or NULL (with *err) when the
 * URL is not an absolute http/https URL with a host. */
const char *llmp_url_origin(apr_pool_t *p, const char *url, const char **err);

/* origin + path. */
const char *llmp_backend_url(apr_pool_t *p, const char *origin,
                             const char *path);

/* Provider of a handle: rules first (longest matching prefix wins), then the
 * built-in rules (see README "Which translation applies"). */
llmp_provider_e llmp_route_provider(const char *handle, const char *family,
                                    const llmp_route_rules_t *rules);

/* owned_by: the handle's first path segment ("/openai/..." -> "openai"),
 * skipping a leading "raw" segment, else the family, else "system". */
const char *llmp_route_owner(apr_pool_t *p, const char *handle,
                             const char *family);

/* Which OpenAI endpoint a model serves, judged from its handle by its
 * provider's table (llmp_detect_t). */
llmp_kind_e llmp_route_kind(const char *handle, llmp_provider_e provider);
/* "/v1/chat/completions", "/v1/responses", ... for messages. */
const char *llmp_kind_endpoint(llmp_kind_e kind);

#endif
