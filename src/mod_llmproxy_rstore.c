/* Stored Responses (previous_response_id, GET /v1/responses/{id}) in a
 * mod_socache provider (glue).
 *
 * LLMProxyResponseStore names the provider and its arguments (default:
 * shmcb, 32 MiB of shared memory), or "none". One store per distinct
 * setting: the virtual hosts that do not set it share the main server's;
 * hosts that name the same provider and arguments share one too. Records
 * are kept under their response id for LLMProxyResponseStoreTTL (set by the
 * host that stores them). The provider is created and initialised in
 * post_config (before the fork: shmcb's segment is inherited), destroyed
 * with pconf; providers that are not safe across processes and threads
 * (shmcb, dbm: AP_SOCACHE_FLAG_NOTMPSAFE) are called under a global mutex
 * of ours (Mutex llmproxy-rstore). */
#include <openssl/evp.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <ap_provider.h>
#include <ap_socache.h>
#include <http_core.h>
#include <util_mutex.h>

#include "mod_llmproxy.h"

APLOG_USE_MODULE(llmproxy);

#define RSTORE_MUTEX_TYPE   "llmproxy-rstore"
/* the consumer's name for the provider (at most 14 characters: redis and
 * memcache prefix their keys with it) */
#define RSTORE_NAMESPACE    "llmp-resp"
#define RSTORE_DEFAULT      "shmcb"
#define RSTORE_DEFAULT_SIZE (32 * 1024 * 1024)
#define RSTORE_SHMCB_SIZE   (512 * 1024)       /* shmcb's own default */
/* a shmcb cache must keep records of 64K at least (a size of 128K
 * does) */
#define RSTORE_SHMCB_MIN    (128 * 1024)
#define RSTORE_SHMCB_MIN_RECORD (64 * 1024)
/* what shmcb is told to expect: few, large records (whole turns) */
#define RSTORE_AVG_ID       32
#define RSTORE_AVG_OBJ      16384
/* memcached's longest relative expiry (30 days, in seconds) */
#define RSTORE_MEMCACHE_MAX_TTL 2592000
/* "resp_" and at most this many more characters */
#define RSTORE_ID_MAX       96

typedef struct llmp_rstore {
    const char *spec;                      /* provider[:args] */
    const char *name;                      /* provider name */
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *inst;
    apr_global_mutex_t *mutex;             /* NOTMPSAFE providers only */
    apr_size_t max_record;                 /* key + bytes, at most */
    server_rec *s;                         /* for the provider's logs */
    int child_ready;                       /* (per process) */
} llmp_rstore_t;

/* Ids this server makes ("resp_" and letters, digits, '_' or '-'): other
 * strings are never looked up. */
static int id_ok(const char *id)
{
    const char *c;

    if (!id || strncmp(id, "resp_", 5)) return 0;
    for (c = id + 5; *c; c++) {
        if (c - id - 5 >= RSTORE_ID_MAX) return 0;
        if (!apr_isalnum(*c) && *c != '_' && *c != '-') return 0;
    }
    return c > id + 5;
}

/* The key: one byte of a hash of the id, then the id. shmcb picks the
 * sub-cache from a key's first byte, which would be 'r' for every id. */
static unsigned int make_key(const char *id, unsigned char *key)
{
    apr_size_t n = strlen(id), i;
    apr_uint32_t h = 2166136261u;           /* FNV-1a */

    for (i = 0; i < n; i++) h = (h ^ (unsigned char)id[i]) * 16777619u;
    key[0] = (unsigned char)(h ^ (h >> 8) ^ (h >> 16) ^ (h >> 24));
    memcpy(key + 1, id, n);
    return (unsigned int)(n + 1);
}

/* The largest record (key and bytes) shmcb takes: its layout (every 2.4
 * release) is a header, then sub-caches of an index array and a data
 * area; a record must fit in one data area. shmcb logs an [error] for a
 * larger one: such a record is never handed to it. */
static apr_size_t shmcb_max_record(apr_size_t size)
{
    apr_size_t hdr = 8 * sizeof(unsigned long) + 5 * sizeof(unsigned int);
    apr_size_t idx = sizeof(apr_time_t) + 3 * sizeof(unsigned int) + 1;
    apr_size_t seg, num_idx, sub, used;
    unsigned int n = 256;

    /* the structures' alignment: unsigned long, and apr_time_t */
    hdr = (hdr + sizeof(unsigned long) - 1) & ~(sizeof(unsigned long) - 1);
    idx = (idx + sizeof(apr_time_t) - 1) & ~(sizeof(apr_time_t) - 1);
    if (size <= hdr) return 0;
    seg = size - hdr;
    num_idx = seg / (RSTORE_AVG_OBJ + RSTORE_AVG_ID);
    while (n > 1 && num_idx / n < 2 * n) n /= 2;
    num_idx /= n;
    if (num_idx < 5) return 0;              /* shmcb refuses to start */
    sub = (seg / n) & ~(sizeof(unsigned long) - 1);
    used = 4 * sizeof(unsigned int) + num_idx * idx;
    /* a margin, should a build lay it out a little differently */
    return sub > used + 256 ? sub - used - 256 : 0;
}

static apr_size_t provider_max_record(const char *name, const char *args)
{
    if (!strcmp(name, "shmcb")) {
        apr_size_t size = RSTORE_SHMCB_SIZE;
        const char *open = args ? strrchr(args, '(') : NULL;

        if (open) size = (apr_size_t)apr_atoi64(open + 1);
        return shmcb_max_record(size);
    }
    /* memcached's default item limit is 1 MiB, key and overhead included;
     * apr-util's memcache and Redis clients send a record in one write
     * that may not take all of a larger one (a partial command times out:
     * not stored) */
    if (!strcmp(name, "memcache")) return 1024 * 1024 - 1024;
    return 1024 * 1024;
}

static apr_status_t rstore_cleanup(void *data)
{
    llmp_rstore_t *st = data;

    if (st->inst) st->provider->destroy(st->inst, st->s);
    st->inst = NULL;
    return APR_SUCCESS;
}

static const char *spec_of(const llmp_server_conf_t *c)
{
    return c->rstore_spec ? c->rstore_spec : RSTORE_DEFAULT;
}

/* The provider named by spec ("name" or "name:args"), or NULL. */
static const ap_socache_provider_t *lookup(apr_pool_t *p, const char *spec,
                                           const char **name,
                                           const char **args)
{
    const char *colon = strchr(spec, ':');

    *name = colon ? apr_pstrmemdup(p, spec, (apr_size_t)(colon - spec))
                  : spec;
    *args = colon ? colon + 1 : NULL;
    return ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, *name,
                              AP_SOCACHE_PROVIDER_VERSION);
}

static llmp_rstore_t *rstore_open(apr_pool_t *pconf, apr_pool_t *ptemp,
                                  server_rec *s, const char *spec, int n,
                                  const char **err)
{
    llmp_rstore_t *st = apr_pcalloc(pconf, sizeof(*st));
    struct ap_socache_hints hints;
    const char *args;
    apr_status_t rv;

    st->spec = spec;
    st->s = s;
    st->provider = lookup(pconf, spec, &st->name, &args);
    if (!st->provider) {
        *err = apr_psprintf(ptemp, "LLMProxyResponseStore: no mod_socache "
                            "provider '%s' (LoadModule socache_%s_module)",
                            st->name, st->name);
        return NULL;
    }
    /* shmcb without arguments: ours (its own default is 512K) */
    if ((!args || !*args) && !strcmp(st->name, "shmcb"))
        args = apr_psprintf(pconf, "%s(%d)", ap_runtime_dir_relative(pconf,
                            "llmproxy-responses"), RSTORE_DEFAULT_SIZE);
    *err = st->provider->create(&st->inst, args, ptemp, pconf);
    if (*err) {
        *err = apr_psprintf(ptemp, "LLMProxyResponseStore %s: %s", spec,
                            *err);
        return NULL;
    }
    st->max_record = provider_max_record(st->name, args);
    memset(&hints, 0, sizeof(hints));
    hints.avg_id_len = RSTORE_AVG_ID;
    hints.avg_obj_size = RSTORE_AVG_OBJ;
    hints.expiry_interval = apr_time_from_sec(60);
    rv = st->provider->init(st->inst, RSTORE_NAMESPACE, &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        char buf[120];
        *err = apr_psprintf(ptemp, "LLMProxyResponseStore %s: the cache "
                            "could not be set up: %s", spec,
                            apr_strerror(rv, buf, sizeof(buf)));
        st->inst = NULL;
        return NULL;
    }
    apr_pool_cleanup_register(pconf, st, rstore_cleanup,
                              apr_pool_cleanup_null);
    if (st->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&st->mutex, NULL, RSTORE_MUTEX_TYPE,
                                    apr_itoa(ptemp, n), s, pconf, 0);
        if (rv != APR_SUCCESS) {
            *err = "LLMProxyResponseStore: could not create its mutex";
            return NULL;
        }
    }
    ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, LLMP_LOG_TAG
                 "response store %s: records up to %" APR_SIZE_T_FMT
                 " bytes", st->name, st->max_record);
    return st;
}

static int rstore_pre_config(apr_pool_t *pconf, apr_pool_t *plog,
                             apr_pool_t *ptemp)
{
    return ap_mutex_register(pconf, RSTORE_MUTEX_TYPE, NULL,
                             APR_LOCK_DEFAULT, 0) == APR_SUCCESS
           ? OK : HTTP_INTERNAL_SERVER_ERROR;
}

/* A provider named but not loaded is a configuration error (also for
 * `apachectl configtest`); the default one missing is only a warning. */
static int rstore_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    server_rec *v;

    for (v = s; v; v = v->next) {
        const llmp_server_conf_t *c = llmp_sconf(v);
        const char *name, *args;

        const ap_socache_provider_t *prov;
        ap_socache_instance_t *inst = NULL;
        const char *err;

        if (!c->rstore_spec || !strcmp(c->rstore_spec, "none")) continue;
        prov = lookup(ptemp, c->rstore_spec, &name, &args);
        /* memcached reads an expiry above 30 days as an absolute time
         * (long past): every record would expire at once */
        if (!strcmp(name, "memcache")
            && c->rstore_ttl > apr_time_from_sec(RSTORE_MEMCACHE_MAX_TTL)) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, v, LLMP_LOG_TAG
                         "LLMProxyResponseStoreTTL: at most %d seconds (30 "
                         "days) with LLMProxyResponseStore memcache: "
                         "memcached takes a longer TTL for a date",
                         RSTORE_MEMCACHE_MAX_TTL);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (!prov) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, v, LLMP_LOG_TAG
                         "LLMProxyResponseStore: no mod_socache provider "
                         "'%s' (LoadModule socache_%s_module)", name, name);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        /* the provider's own check of its arguments (it parses them;
         * nothing is opened before init) */
        err = args && *args ? prov->create(&inst, args, ptemp, ptemp) : NULL;
        if (!err && !strcmp(name, "shmcb") && args && *args
            && provider_max_record(name, args) < RSTORE_SHMCB_MIN_RECORD)
            err = apr_psprintf(ptemp, "too small to keep responses (give "
                               "it at least %d bytes)", RSTORE_SHMCB_MIN);
        if (err) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, v, LLMP_LOG_TAG
                         "LLMProxyResponseStore %s: %s", c->rstore_spec,
                         err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

static int rstore_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    apr_hash_t *made;
    server_rec *v;
    int n = 0, warned = 0;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    made = apr_hash_make(ptemp);
    for (v = s; v; v = v->next) {
        llmp_server_conf_t *c = llmp_sconf(v);
        const char *spec = spec_of(c), *err = NULL, *name, *args;
        llmp_rstore_t *st;

        c->rstore = NULL;
        if (!strcmp(spec, "none")) continue;
        st = apr_hash_get(made, spec, APR_HASH_KEY_STRING);
        if (!st && !c->rstore_spec
            && !lookup(ptemp, spec, &name, &args)) {
            if (!warned++)
                ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, LLMP_LOG_TAG
                             "mod_socache_shmcb is not loaded: Responses "
                             "are not stored (previous_response_id and GET "
                             "/v1/responses/{id} answer 404); load it, or "
                             "set LLMProxyResponseStore");
            continue;
        }
        if (!st) {
            st = rstore_open(pconf, ptemp, s, spec, n++, &err);
            if (!st) {
                ap_log_error(APLOG_MARK, APLOG_CRIT, 0, v, LLMP_LOG_TAG
                             "%s", err);
                return HTTP_INTERNAL_SERVER_ERROR;
            }
            apr_hash_set(made, spec, APR_HASH_KEY_STRING, st);
        }
        c->rstore = st;
    }
    return OK;
}

static void rstore_child_init(apr_pool_t *pchild, server_rec *s)
{
    server_rec *v;

    for (v = s; v; v = v->next) {
        llmp_rstore_t *st = llmp_sconf(v)->rstore;
        apr_status_t rv;

        if (!st || !st->mutex || st->child_ready) continue;
        st->child_ready = 1;
        rv = apr_global_mutex_child_init(&st->mutex,
                 apr_global_mutex_lockfile(st->mutex), pchild);
        if (rv != APR_SUCCESS)
            llmp_store_child_fatal(s, rv, "attach the response store's "
                                   "mutex");
    }
}

static int rstore_lock(request_rec *r, llmp_rstore_t *st)
{
    apr_status_t rv;

    if (!st->mutex) return 1;
    rv = apr_global_mutex_lock(st->mutex);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, LLMP_LOG_TAG
                      "response store: could not take its mutex");
        return 0;
    }
    return 1;
}

static void rstore_unlock(llmp_rstore_t *st)
{
    if (st->mutex) apr_global_mutex_unlock(st->mutex);
}

/* Who may read, continue or delete what this request stores: "user:" and
 * the user Apache authenticated, else "key:" and the SHA-256 (hex) of the
 * credential the client sent (Authorization, else x-api-key; never the
 * credential itself), else NULL (an open gateway: anyone with the id). */
static const char *rstore_owner(request_rec *r)
{
    const char *cred;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0, i;
    char *hex;

    if (r->user && *r->user) return apr_pstrcat(r->pool, "user:", r->user,
                                                NULL);
    cred = apr_table_get(r->headers_in, "Authorization");
    if (!cred || !*cred) cred = apr_table_get(r->headers_in, "x-api-key");
    if (!cred || !*cred) return NULL;
    if (!EVP_Digest(cred, strlen(cred), md, &n, EVP_sha256(), NULL)) {
        /* no hash: an owner no request matches (never none) */
        return "key:?";
    }
    hex = apr_palloc(r->pool, 4 + 2 * n + 1);
    memcpy(hex, "key:", 4);
    for (i = 0; i < n; i++) {
        hex[4 + 2 * i] = "0123456789abcdef"[md[i] >> 4];
        hex[4 + 2 * i + 1] = "0123456789abcdef"[md[i] & 15];
    }
    hex[4 + 2 * n] = '\0';
    return hex;
}

cJSON *llmp_rstore_get(request_rec *r, const char *id)
{
    llmp_rstore_t *st = llmp_sconf(r->server)->rstore;
    unsigned char key[RSTORE_ID_MAX + 8];
    unsigned int klen, dlen;
    unsigned char *buf;
    apr_status_t rv;
    cJSON *j;

    if (!st || !id_ok(id)) return NULL;
    klen = make_key(id, key);
    dlen = (unsigned int)st->max_record;
    buf = apr_palloc(r->pool, st->max_record + 1);
    if (!rstore_lock(r, st)) return NULL;
    rv = st->provider->retrieve(st->inst, r->server, key, klen, buf, &dlen,
                                r->pool);
    rstore_unlock(st);
    if (rv != APR_SUCCESS) {
        if (!APR_STATUS_IS_NOTFOUND(rv))
            ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, LLMP_LOG_TAG
                          "response store (%s): could not read response "
                          "%s", st->name, id);
        return NULL;
    }
    j = llmp_json_parse_pool(r->pool, (const char *)buf, dlen);
    if (!cJSON_IsObject(j)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMP_LOG_TAG
                      "response store (%s): the record of response %s is "
                      "not a JSON object", st->name, id);
        return NULL;
    }
    {
        /* another owner's record is as unknown as a missing one */
        const char *owner = llmp_json_str(j, "owner");
        const char *me = owner ? rstore_owner(r) : NULL;

        if (owner && (!me || strcmp(owner, me))) return NULL;
    }
    return j;
}

void llmp_rstore_put(request_rec *r, const char *id, const char *json,
                     apr_size_t len)
{
    llmp_server_conf_t *sc = llmp_sconf(r->server);
    llmp_rstore_t *st = sc->rstore;
    unsigned char key[RSTORE_ID_MAX + 8];
    unsigned int klen;
    apr_status_t rv;
    const char *owner;

    if (!st || !json || !len) return;
    owner = rstore_owner(r);
    if (owner && json[0] == '{' && len > 2) {
        /* the owner as the record's first member */
        cJSON *o = cJSON_CreateString(owner);
        apr_size_t on = 0;
        char *q = o ? llmp_json_print(r->pool, o, &on) : NULL;
        char *rec;

        cJSON_Delete(o);
        if (!q) return;
        rec = apr_palloc(r->pool, 9 + on + 1 + len);
        memcpy(rec, "{\"owner\":", 9);
        memcpy(rec + 9, q, on);
        rec[9 + on] = ',';
        memcpy(rec + 10 + on, json + 1, len - 1);
        json = rec;
        len += 9 + on;
    }
    if (!id_ok(id)) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, 0, r, LLMP_LOG_TAG
                      "response store: not an id of ours: not stored");
        return;
    }
    klen = make_key(id, key);
    if (len > st->max_record || klen + len > st->max_record) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, LLMP_LOG_TAG
                      "response %s (%" APR_SIZE_T_FMT " bytes) is larger "
                      "than the response store (%s) takes (%" APR_SIZE_T_FMT
                      "): not stored", id, len, st->name, st->max_record);
        apr_table_setn(r->notes, "llmproxy-rstore", "too-large");
        return;
    }
    if (!rstore_lock(r, st)) return;
    rv = st->provider->store(st->inst, r->server, key, klen,
                             apr_time_now() + sc->rstore_ttl,
                             (unsigned char *)json, (unsigned int)len,
                             r->pool);
    rstore_unlock(st);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, LLMP_LOG_TAG
                      "response store (%s): could not store response %s",
                      st->name, id);
        return;
    }
    apr_table_setn(r->notes, "llmproxy-rstore", "stored");
}

void llmp_rstore_delete(request_rec *r, const char *id)
{
    llmp_rstore_t *st = llmp_sconf(r->server)->rstore;
    unsigned char key[RSTORE_ID_MAX + 8];
    unsigned int klen;
    apr_status_t rv;

    if (!st || !id_ok(id)) return;
    klen = make_key(id, key);
    if (!rstore_lock(r, st)) return;
    rv = st->provider->remove(st->inst, r->server, key, klen, r->pool);
    rstore_unlock(st);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_NOTFOUND(rv))
        ap_log_rerror(APLOG_MARK, APLOG_WARNING, rv, r, LLMP_LOG_TAG
                      "response store (%s): could not delete response %s",
                      st->name, id);
}

void llmp_rstore_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_pre_config(rstore_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(rstore_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(rstore_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(rstore_child_init, NULL, NULL, APR_HOOK_MIDDLE);
}
