/* The model list: parse, validate, index by id, render /v1/models (core). */
#ifndef LLMP_MODELS_H
#define LLMP_MODELS_H

#include <apr_pools.h>
#include <apr_tables.h>
#include <apr_hash.h>
#include "llmp_provider.h"
#include "llmp_route.h"

typedef struct llmp_model {
    const char *id;            /* model_version */
    const char *family;        /* model_family, may be "" */
    const char *handle;        /* backend path, validated */
    const char *owned_by;      /* first handle segment, else family */
    double prompt_price_1k;
    double completion_price_1k;
    llmp_provider_e provider;  /* decided once, at load */
} llmp_model_t;

typedef struct llmp_models {
    apr_pool_t *pool;
    apr_array_header_t *list;      /* llmp_model_t *, in list order */
    apr_hash_t *by_id;             /* id -> apr_array_header_t of llmp_model_t * */
    apr_array_header_t *warnings;  /* const char *: skipped entries and why */
    int entries;                   /* entries in the document */
    int skipped_unavailable;       /* entries with handle "unavailable" */
    const char *models_json;       /* pre-rendered GET /v1/models body */
    apr_size_t models_json_len;
} llmp_models_t;

/* Parse a gateway list {"models":[...]} into pool p. created is the "created"
 * timestamp reported for every model. rules may be NULL. Returns NULL and
 * sets *err when the document as a whole is unusable. What the index needs
 * is copied into p: the parsed document is not kept. */
llmp_models_t *llmp_models_parse(apr_pool_t *p, const char *json,
                                 apr_size_t len, apr_int64_t created,
                                 const llmp_route_rules_t *rules,
                                 const char **err);

/* NULL when the list has at least one usable model; else why it has none
 * ("it has no entries", "none of its 3 entries is usable (2 refused, 1
 * unavailable)"), in pool p. */
const char *llmp_models_empty_reason(apr_pool_t *p, const llmp_models_t *m);

/* First entry for an id (NULL if unknown). O(1). */
const llmp_model_t *llmp_models_find(const llmp_models_t *m, const char *id);
/* All entries for an id (NULL if unknown). */
const apr_array_header_t *llmp_models_find_all(const llmp_models_t *m,
                                               const char *id);
/* {"id","object":"model","created","owned_by"} for GET /v1/models/{id}. */
char *llmp_model_json(apr_pool_t *p, const llmp_model_t *m,
                      apr_int64_t created);
/* The same for a model asked for under another name (an alias). */
char *llmp_model_json_as(apr_pool_t *p, const llmp_model_t *m,
                         const char *id, apr_int64_t created);

/* LLMProxyModelAlias alias model_version */
typedef struct llmp_alias {
    const char *name;              /* what clients ask for */
    const char *target;            /* a model_version of the list */
} llmp_alias_t;

/* The GET /v1/models body of m with the aliases (llmp_alias_t) added as
 * models of their own (owned_by of their target), in p: m's pre-rendered
 * body with one entry appended per alias whose target is in the list and
 * whose name is not a list id itself. Each alias whose target is missing
 * is pushed (const llmp_alias_t *) to missing when it is not NULL. */
char *llmp_models_render_aliases(apr_pool_t *p, const llmp_models_t *m,
                                 const apr_array_header_t *aliases,
                                 apr_int64_t created, apr_size_t *len,
                                 apr_array_header_t *missing);

#endif
