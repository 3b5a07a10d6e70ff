/* Stored Responses (previous_response_id, GET /v1/responses/{id}) in a
 * mod_socache provider. Placeholder: no store yet (every id is unknown). */
#include "mod_llmproxy.h"

cJSON *llmp_rstore_get(request_rec *r, const char *id)
{
    (void)r;
    (void)id;
    return NULL;
}

void llmp_rstore_put(request_rec *r, const char *id, const char *json,
                     apr_size_t len)
{
    (void)r;
    (void)id;
    (void)json;
    (void)len;
}

void llmp_rstore_register_hooks(apr_pool_t *p)
{
    (void)p;
}
