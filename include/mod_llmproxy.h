/* mod_llmproxy glue: what the httpd-facing files share. Only files named
 * mod_llmproxy*.c include this (it pulls in httpd headers). */
#ifndef MOD_LLMPROXY_H
#define MOD_LLMPROXY_H

#include <httpd.h>
#include <http_config.h>
#include <http_log.h>
#include <apr_global_mutex.h>
#include <apr_shm.h>
#include <apr_thread_mutex.h>

#include "llmp_models.h"
#include "llmp_route.h"
#include "llmp_http.h"
#include "llmp_provider.h"
#include "llmp_buf.h"
#include "llmp_usage.h"

#define LLMP_DEFAULT_LIST_URL   "https://api.eliza.yandex.net/models"
#define LLMP_MUTEX_TYPE         "llmproxy-shm"
#define LLMP_LOG_TAG            "mod_llmproxy: "
/* Anthropic's API pings a quiet stream about every 10-15 s */
#define LLMP_PING_INTERVAL      apr_time_from_sec(10)

extern module AP_MODULE_DECLARE_DATA llmproxy_module;

typedef struct llmp_source llmp_source_t;

/* Server (and virtual host) configuration. */
typedef struct llmp_server_conf {
    const char *list_url;
    const char *token;             /* never logged or sent to a client */
    int token_set;                 /* "LLMProxyAuthToken none" sets it NULL */
    apr_interval_time_t refresh;   /* -1 unset; 0: at start-up only */
    apr_interval_time_t connect_timeout;
    apr_interval_time_t timeout;
    const char *ca_file;
    int verify;                    /* -1 unset */
    apr_size_t max_list_size;      /* 0 unset */
    apr_off_t max_body;            /* -1 unset */
    int default_max_tokens;        /* -1 unset */
    const char *embed_input_type;
    apr_array_header_t *rules;     /* llmp_route_rule_t */
    int forward_client_auth;       /* -1 unset */
    const char *anthropic_version; /* LLMProxyAnthropicVersion */
    apr_off_t max_stream_bytes;    /* LLMProxyMaxStreamBytes; -1 unset */
    apr_interval_time_t stream_max_duration; /* LLMProxyStreamMaxDuration;
                                               -1 unset, 0 off */
    int allow_empty_list;          /* LLMProxyAllowEmptyList; -1 unset */
    apr_array_header_t *reasoning_models; /* LLMProxyReasoningModels:
                                             const char * globs; NULL
                                             unset, empty: "none" */
    const char *rstore_spec;       /* LLMProxyResponseStore: "provider[:args]"
                                      or "none"; NULL: the default */
    apr_interval_time_t rstore_ttl; /* LLMProxyResponseStoreTTL; -1 unset */
    apr_array_header_t *aliases;   /* LLMProxyModelAlias: llmp_alias_t, this
                                      context's first, then the inherited
                                      ones it does not redefine; a vhost
                                      without its own shares the main
                                      server's array (pointer) */
    apr_hash_t *alias_map;         /* alias -> target (model_version) */
    apr_interval_time_t ping_interval; /* a translated Messages stream's
                                      "ping" after this much silence:
                                      LLMP_PING_INTERVAL, or
                                      LLMProxyTestPingInterval (tests);
                                      -1 unset */

    /* resolved in post_config */
    llmp_source_t *source;
    const char *origin;            /* scheme://host[:port] of list_url */
    llmp_route_rules_t route_rules;
    llmp_xlate_opts_t xlate_opts;
    int use_modproxy;              /* LLMProxyUseModProxy; -1 unset */
    int via_proxy;                 /* buffered calls go through mod_proxy */
    ap_conf_vector_t *tls_section; /* an https gateway through
                                    mod_proxy: mod_ssl's proxy settings
                                    from LLMProxySSLVerify and
                                    LLMProxyCACertificateFile, or NULL */
    const void *tls_ssl_base;      /* mod_ssl's per-directory configuration
                                    of the server's defaults, and ... */
    void *tls_ssl_merged;          /* ... that merged with tls_section's,
                                    once at start-up (or NULL) */
    module *tls_ssl;               /* mod_ssl */
    int tls_conf_len;              /* slots of a configuration vector in
                                    use: one per loaded module */
    struct llmp_rstore *rstore;    /* the response store, set in
                                      post_config; NULL: none */

    /* Each feature's own server configuration, created and merged by its
     * file (llmp_FEATURE_create_sconf / _merge_sconf, called from
     * mod_llmproxy_config.c); never NULL after create. */
    struct llmp_usage_sconf *usage;       /* mod_llmproxy_usage.c */

    struct llmp_metrics_sconf *metrics;   /* mod_llmproxy_metrics.c */

    struct llmp_usagedb_sconf *usagedb;   /* mod_llmproxy_usagedb.c */

    struct llmp_limits_sconf *limits;     /* mod_llmproxy_limits.c */

    struct llmp_pool_sconf *pool;         /* mod_llmproxy_pool.c */

    /* main server only */
    apr_array_header_t *sources;   /* llmp_source_t * */
    apr_global_mutex_t *mutex;
    llmp_http_pool_t *http;        /* per child, set in child_init */
} llmp_server_conf_t;

/* Per-directory configuration: where the handler is mounted. */
typedef struct llmp_dir_conf {
    const char *mount;             /* the <Location> path, or NULL */

    /* Each feature's own per-directory configuration, created and merged
     * by its file (llmp_FEATURE_create_dconf / _merge_dconf); never NULL
     * after create. */
    struct llmp_keys_dconf *keys;         /* mod_llmproxy_keys.c */

    struct llmp_limits_dconf *limits;     /* mod_llmproxy_limits.c */

    struct llmp_docs_dconf *docs;         /* mod_llmproxy_docs.c */
} llmp_dir_conf_t;

/* mod_llmproxy_config.c */
extern const command_rec llmp_cmds[];
void *llmp_create_server_conf(apr_pool_t *p, server_rec *s);
void *llmp_merge_server_conf(apr_pool_t *p, void *base, void *add);
void *llmp_create_dir_conf(apr_pool_t *p, char *dir);
void *llmp_merge_dir_conf(apr_pool_t *p, void *base, void *add);
/* Fill defaults (environment, built-in) and check every server. */
int llmp_config_finish(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s);

#define llmp_sconf(s) ((llmp_server_conf_t *)ap_get_module_config( \
                           (s)->module_config, &llmproxy_module))

/* mod_llmproxy_store.c: the model list in shared memory */
typedef struct llmp_snapshot {
    apr_pool_t *pool;
    llmp_source_t *source;
    llmp_models_t *models;
    apr_time_t fetched_at;
    apr_uint32_t generation;
    int refs;
    apr_hash_t *alias_json;        /* a server's aliases (the array, by
                                      pointer) -> llmp_rendered_t: its
                                      GET /v1/models body */
} llmp_snapshot_t;

typedef struct llmp_rendered {
    const char *json;
    apr_size_t len;
} llmp_rendered_t;

/* The GET /v1/models body for server configuration sc with its aliases;
 * NULL: sc has none (snap->models->models_json is the body). */
const llmp_rendered_t *llmp_store_models_json(const llmp_snapshot_t *snap,
                                              const llmp_server_conf_t *sc);

typedef struct llmp_store_status {
    int has_list;
    int models;                    /* usable entries */
    int skipped;                   /* invalid entries skipped */
    apr_time_t fetched_at;         /* last successful fetch */
    apr_time_t last_attempt;
    apr_uint32_t fetches, failures;
    char last_error[512];
} llmp_store_status_t;

int llmp_store_post_config(apr_pool_t *pconf, apr_pool_t *ptemp,
                           server_rec *s);
void llmp_store_child_init(apr_pool_t *pchild, server_rec *s);
/* Log what could not be set up in child_init and end the child. */
void llmp_store_child_fatal(server_rec *s, apr_status_t rv, const char *what)
    __attribute__((noreturn));
/* The current list for a request (NULL while none is loaded); the
 * reference is dropped with pool p. */
llmp_snapshot_t *llmp_store_acquire(llmp_source_t *src, apr_pool_t *p);
void llmp_store_status(llmp_source_t *src, llmp_store_status_t *st);
const char *llmp_source_url(const llmp_source_t *src);
void llmp_store_register_hooks(apr_pool_t *p);

/* mod_llmproxy_io.c: the backend call and what the client sees */
int llmp_io_read_body(request_rec *r, apr_off_t limit, char **body,
                      apr_size_t *len, llmp_error_t **err);
int llmp_io_send_json(request_rec *r, int status, const char *json,
                      apr_size_t len);
/* An error in the request's protocol's shape (see llmp_req_conf_t). */
int llmp_io_send_error(request_rec *r, const llmp_error_t *e);

/* The module's state of one request (r->request_config). */
typedef struct llmp_req_conf {
    /* The protocol of the request's URL when it is not OpenAI's Chat
     * Completions (set by the handler from the URL, before anything can
     * fail): every error of the request (llmp_io_send_error, on every
     * path: 404, 405, 413, a stream that fails before its first event)
     * takes this front's error shape (front->error_json). NULL: OpenAI's. */
    const llmp_front_ops_t *front;
    /* Called once when the front's answer is final (f->answer set), before
     * its last bytes are flushed to the client (llmp_io_keep): the
     * response store keeps it there, so that a client that goes on at
     * once finds it. NULL: nothing to do. */
    void (*keep)(request_rec *r, void *baton);
    void *keep_baton;
    /* What the request used (include/llmp_usage.h): filled by the handler
     * and the call paths, finished at log_transaction
     * (mod_llmproxy_usage.c) and read by the metrics, the usage database
     * and the limits. */
    llmp_usage_t usage;
    /* The pool's state while llmp_pool_call runs (mod_llmproxy_pool.c;
     * a field, not pool user data: no hashed key per call) */
    void *pool_req;
} llmp_req_conf_t;

/* A note of a backend call: added on the request's first call (it is not
 * there yet, and apr_table_addn skips apr_table_setn's scan of every
 * llmproxy- note), set (replacing the earlier call's) on a later one (a
 * retry or a fallback, mod_llmproxy_pool.c). */
static APR_INLINE void llmp_call_note(request_rec *r, int first,
                                      const char *key, const char *val)
{
    if (first) apr_table_addn(r->notes, key, val);
    else apr_table_setn(r->notes, key, val);
}

/* Run the request's keep hook, if any, once. */
void llmp_io_keep(request_rec *r);

/* The request's state, created zeroed on first use. */
llmp_req_conf_t *llmp_req_conf(request_rec *r);
/* The output filter that turns httpd's own refusal of a request body into
 * the OpenAI-shaped error (registered from the module's hooks). */
void llmp_io_register_hooks(apr_pool_t *p);

typedef enum {
    LLMP_EP_MODELS, LLMP_EP_MODEL, LLMP_EP_CHAT, LLMP_EP_EMBEDDINGS,
    LLMP_EP_IMAGES, LLMP_EP_COMPLETIONS, LLMP_EP_HEALTH, LLMP_EP_UNKNOWN,
    LLMP_EP_RESPONSES,            /* POST /v1/responses */
    LLMP_EP_RESPONSE,             /* GET /v1/responses/{id} */
    LLMP_EP_MESSAGES,             /* POST /v1/messages */
    LLMP_EP_COUNT_TOKENS          /* POST /v1/messages/count_tokens */
} llmp_endpoint_e;

/* Forward a request to the backend and answer the client. native is the
 * request to send (body, path, stream); x and ops are NULL for a
 * pass-through. */
int llmp_io_proxy(request_rec *r, llmp_server_conf_t *sc,
                  llmp_endpoint_e ep, const llmp_model_t *model,
                  const llmp_native_req_t *native,
                  const llmp_provider_ops_t *ops, llmp_xlate_t *x);

/* One buffered POST of body (JSON) to the gateway's path, with the
 * server's credentials, for the module itself (not relayed): NULL and the
 * 200 answer's body in *out, or why it failed (no credential in it). */
const char *llmp_io_call(request_rec *r, llmp_server_conf_t *sc,
                         const char *path, const char *body, apr_size_t len,
                         char **out, apr_size_t *outlen);

/* mod_llmproxy_rstore.c: Responses kept for previous_response_id and
 * GET /v1/responses/{id}, in a mod_socache provider (LLMProxyResponseStore,
 * LLMProxyResponseStoreTTL). */
/* The record stored under id, parsed and owned by r->pool; NULL when the
 * id is unknown, expired, or the server keeps no store. */
cJSON *llmp_rstore_get(request_rec *r, const char *id);
/* Keep json (len bytes) under id for the TTL. A failure (too large for the
 * cache, no store) is logged, never an error for the client. */
void llmp_rstore_put(request_rec *r, const char *id, const char *json,
                     apr_size_t len);
/* Forget the record under id (DELETE /v1/responses/{id}); a failure is
 * logged. */
void llmp_rstore_delete(request_rec *r, const char *id);
void llmp_rstore_register_hooks(apr_pool_t *p);

/* mod_llmproxy_modproxy.c: buffered calls through mod_proxy_http */
/* Filters, and a post_config hook that defines the workers (servers that
 * cannot use mod_proxy get via_proxy = 0). */
void llmp_modproxy_register_hooks(apr_pool_t *p);
/* One buffered POST of body to url with these "Name: value" headers
 * through mod_proxy_http: the answer's body goes to out (*too_big when it
 * outgrew it), its status and Content-Type to res. DECLINED when mod_proxy
 * did not take the request (use libcurl). */
int llmp_modproxy_perform(request_rec *r, const char *url,
                          const char *const *headers, const char *body,
                          apr_size_t len, llmp_buf_t *out, int *too_big,
                          llmp_http_result_t *res);

#endif
