/* The OpenAPI 3.1 document of the API the module serves (/openapi.json,
 * SetHandler llmproxy-docs): a static base (docs/openapi-base.json, made by
 * scripts/gen-openapi-base.py from OpenAI's published description) with the
 * live parts put in at each request (core). */
#ifndef LLMP_OPENAPI_H
#define LLMP_OPENAPI_H

#include <apr_pools.h>
#include <apr_tables.h>
#include "llmp_provider.h"

/* A model clients may name (a list model or an alias). */
typedef struct llmp_openapi_model {
    const char *id;
    llmp_kind_e kind;              /* LLMP_KIND_ANY when it cannot tell */
} llmp_openapi_model_t;

typedef struct llmp_openapi_opts {
    /* servers[0].url: where the API's paths (/v1/..., /health) start, as
     * the client sees it ("/" or "/prefix"); relative to the server. */
    const char *server_url;
    /* The location requires a key (AuthType llmproxy-key): the document's
     * security becomes required instead of optional. */
    int auth_required;
    /* llmp_openapi_model_t in list order (duplicates are listed once);
     * NULL while no list is loaded. */
    const apr_array_header_t *models;
} llmp_openapi_opts_t;

/* The document: base (len bytes of JSON) with the servers, the security
 * requirement, the model ids as the enum of the LLMProxyModelId schema and
 * in info.description, and a live model id in each request example whose
 * model is "MODEL" (one of the kind the endpoint needs when the list has
 * one). The text in p, its length in *outlen; NULL and *err when base is
 * not a usable OpenAPI 3.1 base. */
char *llmp_openapi_build(apr_pool_t *p, const char *base, apr_size_t len,
                         const llmp_openapi_opts_t *o, apr_size_t *outlen,
                         const char **err);

/* The server URL of a document served at uri (a request path) by a
 * handler mounted at mount (NULL when unknown): the parent of the mount
 * when the document sits inside it (/docs/openapi.json under /docs), else
 * the parent of uri (/llm/openapi.json: "/llm"); "/" at the top. */
const char *llmp_openapi_server_url(apr_pool_t *p, const char *uri,
                                    const char *mount);

#endif
