/* What every front translator shares (core, no httpd). */
#include <string.h>
#include <apr_strings.h>

#include "llmp_front.h"

llmp_front_t *llmp_front_create(apr_pool_t *p, const llmp_front_ops_t *ops,
                                const char *model_id, apr_int64_t created,
                                int stream, const cJSON *req)
{
    llmp_front_t *f = apr_pcalloc(p, sizeof(*f));

    f->pool = p;
    f->ops = ops;
    f->model_id = model_id;
    f->created = created;
    f->stream = stream;
    f->req = req;
    if (ops->state_size) f->state = apr_pcalloc(p, ops->state_size);
    return f;
}

void llmp_ir_strip(cJSON *ir)
{
    cJSON *msgs, *m;

    if (!cJSON_IsObject(ir)) return;
    cJSON_DeleteItemFromObjectCaseSensitive(ir, "x_llmp");
    msgs = cJSON_GetObjectItemCaseSensitive(ir, "messages");
    cJSON_ArrayForEach(m, msgs) {
        if (!cJSON_IsObject(m)) continue;
        cJSON_DeleteItemFromObjectCaseSensitive(m, "reasoning_content");
        cJSON_DeleteItemFromObjectCaseSensitive(m, "reasoning_signature");
    }
}
