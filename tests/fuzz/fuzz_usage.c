/* Fuzz target: a backend's chunk as a pass-through stream reads it (its
 * top-level "usage": null member cut out, the bytes around it joined),
 * and the usage of every shape taken from it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <cjson/cJSON.h>
#include "llmp_usage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    apr_pool_t *p;
    const char *in = (const char *)data;
    apr_size_t from = 0, to = 0;
    llmp_usage_t u;
    cJSON *j;

    if (!init) { apr_initialize(); init = 1; }
    apr_pool_create(&p, NULL);
    if (llmp_usage_null_span(in, size, &from, &to)) {
        char *cut;
        cJSON *k;

        if (from > to || to > size) abort();
        cut = apr_palloc(p, size - (to - from) + 1);
        memcpy(cut, in, from);
        memcpy(cut + from, in + to, size - to);
        cut[size - (to - from)] = '\0';
        /* a JSON object without the member stays one without it (text
         * with a NUL is never relayed: not compared) */
        j = memchr(in, '\0', size) ? NULL : cJSON_ParseWithLength(in, size);
        k = cJSON_ParseWithLength(cut, size - (to - from));
        if (cJSON_IsObject(j) && cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(
                j, "usage"))) {
            if (!cJSON_IsObject(k)) abort();
            char *a, *b;

            cJSON_DeleteItemFromObjectCaseSensitive(j, "usage");
            /* (printed: cJSON_Compare is lost with duplicate names) */
            a = cJSON_PrintUnformatted(j);
            b = cJSON_PrintUnformatted(k);
            if (a && b && strcmp(a, b)) abort();
            cJSON_free(a);
            cJSON_free(b);
        }
        cJSON_Delete(j);
        cJSON_Delete(k);
    }
    j = cJSON_ParseWithLength(in, size);
    memset(&u, 0, sizeof(u));
    llmp_usage_take(&u, cJSON_GetObjectItemCaseSensitive(j, "usage"),
                    LLMP_USAGE_CHAT);
    llmp_usage_take(&u, j, LLMP_USAGE_RESPONSES);
    llmp_usage_take(&u, j, LLMP_USAGE_MESSAGES);
    (void)llmp_usage_chunk_has_content(j);
    if (u.prompt_tokens < 0 || u.completion_tokens < 0) abort();
    (void)llmp_usage_cost_text(p, (double)u.prompt_tokens / 7.0);
    cJSON_Delete(j);
    apr_pool_destroy(p);
    return 0;
}
