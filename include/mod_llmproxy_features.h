/* mod_llmproxy glue: the features that hang off the handler (issue 12 and
 * after). Each has its own file and its own configuration (a pointer in
 * llmp_server_conf_t / llmp_dir_conf_t that only its file reads), its
 * directives listed under its own marker in mod_llmproxy_config.c, and
 * registers its own hooks. Only files named mod_llmproxy*.c include this. */
#ifndef MOD_LLMPROXY_FEATURES_H
#define MOD_LLMPROXY_FEATURES_H

#include "mod_llmproxy.h"

/* ---- mod_llmproxy_usage.c: token counts, cost, notes ---- */
void *llmp_usage_create_sconf(apr_pool_t *p);
void *llmp_usage_merge_sconf(apr_pool_t *p, void *base, void *add);
void llmp_usage_register_hooks(apr_pool_t *p);
/* The request's usage record (in llmp_req_conf(r)). */
llmp_usage_t *llmp_usage_of(request_rec *r);
/* Run first at log_transaction, once per request the handler served (its
 * usage.endpoint is set): the cost, the request notes (llmproxy-prompt-
 * tokens, -completion-tokens, -cached-tokens, -cost, -ttft-ms, -user),
 * then llmp_metrics_record, llmp_usagedb_record and llmp_limits_charge. */
void llmp_usage_log(request_rec *r);
/* LLMProxyStreamUsage on|off (the cmds table's setter). */
const char *llmp_usage_set_stream_usage(cmd_parms *cmd, void *d, int flag);
/* Does the server ask an OpenAI-compatible backend for the usage of a
 * pass-through stream whose client did not (LLMProxyStreamUsage, default
 * on)? */
int llmp_usage_stream_usage(const llmp_server_conf_t *sc);


/* ---- mod_llmproxy_keys.c: AuthType llmproxy-key, LLMProxyKeyFile ---- */
void *llmp_keys_create_dconf(apr_pool_t *p);
void *llmp_keys_merge_dconf(apr_pool_t *p, void *base, void *add);
void llmp_keys_register_hooks(apr_pool_t *p);
/* LLMProxyKeyFile (its line in llmp_cmds). */
const char *llmp_keys_set_file(cmd_parms *cmd, void *d, const char *arg);


/* ---- mod_llmproxy_metrics.c: SetHandler llmproxy-metrics ---- */
void *llmp_metrics_create_sconf(apr_pool_t *p);
void *llmp_metrics_merge_sconf(apr_pool_t *p, void *base, void *add);
void llmp_metrics_register_hooks(apr_pool_t *p);
/* Count one finished request (from llmp_usage_log). */
void llmp_metrics_record(request_rec *r, const llmp_usage_t *u);
/* A stream's response headers went out: llmproxy_active_streams counts it
 * until r->pool is cleaned up. */
void llmp_metrics_stream_begin(request_rec *r);
/* LLMProxyMetricsPerUser, LLMProxyMetricsModels, LLMProxyMetricsUsers */
const char *llmp_metrics_set_per_user(cmd_parms *cmd, void *dc, int on);
const char *llmp_metrics_set_models(cmd_parms *cmd, void *dc,
                                    const char *arg);
const char *llmp_metrics_set_users(cmd_parms *cmd, void *dc,
                                   const char *arg);


/* ---- mod_llmproxy_usagedb.c: LLMProxyUsageDB (mod_dbd) ---- */
void *llmp_usagedb_create_sconf(apr_pool_t *p);
void *llmp_usagedb_merge_sconf(apr_pool_t *p, void *base, void *add);
void llmp_usagedb_register_hooks(apr_pool_t *p);
/* Write the request's row (from llmp_usage_log; after the answer). */
void llmp_usagedb_record(request_rec *r, const llmp_usage_t *u);
/* LLMProxyUsageDB on|off, LLMProxyUsageTable name (llmp_cmds). */
const char *llmp_usagedb_set_on(cmd_parms *cmd, void *d, int flag);
const char *llmp_usagedb_set_table(cmd_parms *cmd, void *d, const char *v);
/* Rows that could not be written since start-up, every child counted (for
 * the metrics: llmproxy_usagedb_failures_total). */
apr_uint32_t llmp_usagedb_failures(void);


/* ---- mod_llmproxy_limits.c: LLMProxyLimit, budgets (issue 13) ---- */
void *llmp_limits_create_sconf(apr_pool_t *p);
void *llmp_limits_merge_sconf(apr_pool_t *p, void *base, void *add);
void *llmp_limits_create_dconf(apr_pool_t *p);
void *llmp_limits_merge_dconf(apr_pool_t *p, void *base, void *add);
void llmp_limits_register_hooks(apr_pool_t *p);
/* Before a backend call for model: DECLINED to go on; else the status of
 * the refusal (429) it has sent, in the request's protocol's shape. */
int llmp_limits_check(request_rec *r, const llmp_model_t *model);
/* Charge what the call used (from llmp_usage_log). */
void llmp_limits_charge(request_rec *r, const llmp_usage_t *u);
/* The directives' setters (mod_llmproxy_config.c lists them). */
const char *llmp_limits_set_limit(cmd_parms *cmd, void *d, const char *what,
                                  const char *amount, const char *scope);
const char *llmp_limits_set_store(cmd_parms *cmd, void *d, const char *v);
const char *llmp_limits_set_failure(cmd_parms *cmd, void *d, const char *v);
const char *llmp_limits_set_state_file(cmd_parms *cmd, void *d,
                                       const char *v);
/* /health: a "limits" object (store, state) when the server uses limits. */
void llmp_limits_health(request_rec *r, cJSON *j);


/* ---- mod_llmproxy_pool.c: pools, back-off, retries, fallbacks (issue
 * 14) ---- */
void *llmp_pool_create_sconf(apr_pool_t *p);
void *llmp_pool_merge_sconf(apr_pool_t *p, void *base, void *add);
void llmp_pool_register_hooks(apr_pool_t *p);
/* The directives (in llmp_cmds). */
const char *llmp_pool_set_backoff(cmd_parms *cmd, void *d, const char *v);
const char *llmp_pool_set_retries(cmd_parms *cmd, void *d, const char *v);
const char *llmp_pool_set_max_wait(cmd_parms *cmd, void *d, const char *v);
const char *llmp_pool_set_fallback(cmd_parms *cmd, void *d, int argc,
                                   char *const argv[]);
const char *llmp_pool_set_backend_url(cmd_parms *cmd, void *d,
                                      const char *prefix, const char *url);
const char *llmp_pool_set_backend_token(cmd_parms *cmd, void *d,
                                        const char *prefix, const char *tok);
/* What the call of one candidate returns when llmp_io_proxy was told to
 * try another (nothing was sent to the client). */
#define LLMP_POOL_RETRY (-1400)
/* Call one candidate model m (the attempt-th backend call of the request,
 * from 0): the handler's whole "call one model" path, which ends in
 * llmp_io_proxy. Returns the handler's status, or LLMP_POOL_RETRY. */
typedef int llmp_pool_call_fn(request_rec *r, const llmp_model_t *m,
                              int attempt, void *baton);
/* Run fn over the candidates for model m: the members of m's pool (round
 * robin, skipping members in back-off), then those of each
 * LLMProxyFallback alternative, until one answers or the retry budget
 * (LLMProxyRetries + 1 calls) is spent. */
int llmp_pool_call(request_rec *r, llmp_server_conf_t *sc,
                   const llmp_models_t *models, const llmp_model_t *m,
                   llmp_pool_call_fn *fn, void *baton);
struct llmp_pool_call;
/* From llmp_io_proxy after each backend call, before anything of the
 * answer is sent: records the member's health (back-off), sets the notes
 * llmproxy-attempts and llmproxy-served-by, and says whether the caller
 * should send nothing and return LLMP_POOL_RETRY (1) or answer (0).
 * retry_after: the answer's Retry-After, -1: none. */
int llmp_pool_after_call(request_rec *r, llmp_server_conf_t *sc,
                         const llmp_model_t *m,
                         const struct llmp_pool_call *call,
                         apr_interval_time_t retry_after);
/* Where a backend path goes: the LLMProxyBackendURL of its longest
 * matching prefix, else the list URL's origin (base without the path). */
const char *llmp_pool_base(const llmp_server_conf_t *sc, const char *path);
/* base + path; *own: the base is an LLMProxyBackendURL (such calls go
 * through libcurl: mod_proxy has workers for list origins only). */
const char *llmp_pool_url(request_rec *r, const llmp_server_conf_t *sc,
                          const char *path, int *own);
/* The Authorization line for path: its LLMProxyBackendToken ("none":
 * NULL), else dflt. */
const char *llmp_pool_auth(request_rec *r, const llmp_server_conf_t *sc,
                           const char *path, const char *dflt);
/* s (NULL-terminated) with every LLMProxyBackendToken added. */
const char *const *llmp_pool_secrets(request_rec *r,
                                     const llmp_server_conf_t *sc,
                                     const char *const *s);
/* Members in back-off now (for the metrics). */
int llmp_pool_backoff_count(server_rec *s);
/* /health: adds "members_in_backoff": [{member, reason, failures,
 * retry_in_seconds}]. */
void llmp_pool_health(request_rec *r, cJSON *j);
/* mod_status: the members in back-off (a table, or ?auto lines). */
void llmp_pool_status(request_rec *r, int flags);


/* ---- mod_llmproxy_docs.c: SetHandler llmproxy-docs (/openapi.json,
 * /docs), LLMProxyDocsDir (issue 15) ---- */
void *llmp_docs_create_dconf(apr_pool_t *p);
void *llmp_docs_merge_dconf(apr_pool_t *p, void *base, void *add);
void llmp_docs_register_hooks(apr_pool_t *p);
/* LLMProxyDocsDir path (the directive's setter; dconf: llmp_dir_conf_t) */
const char *llmp_docs_set_dir(cmd_parms *cmd, void *dconf, const char *arg);

#endif
