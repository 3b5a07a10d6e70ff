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


/* ---- mod_llmproxy_keys.c: AuthType llmproxy-key, LLMProxyKeyFile ---- */
void *llmp_keys_create_dconf(apr_pool_t *p);
void *llmp_keys_merge_dconf(apr_pool_t *p, void *base, void *add);
void llmp_keys_register_hooks(apr_pool_t *p);


/* ---- mod_llmproxy_metrics.c: SetHandler llmproxy-metrics ---- */
void *llmp_metrics_create_sconf(apr_pool_t *p);
void *llmp_metrics_merge_sconf(apr_pool_t *p, void *base, void *add);
void llmp_metrics_register_hooks(apr_pool_t *p);
/* Count one finished request (from llmp_usage_log). */
void llmp_metrics_record(request_rec *r, const llmp_usage_t *u);
/* A stream's response headers went out: llmproxy_active_streams counts it
 * until r->pool is cleaned up. */
void llmp_metrics_stream_begin(request_rec *r);


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


/* ---- mod_llmproxy_pool.c: pools, back-off, retries, fallbacks (issue
 * 14) ---- */
void *llmp_pool_create_sconf(apr_pool_t *p);
void *llmp_pool_merge_sconf(apr_pool_t *p, void *base, void *add);
void llmp_pool_register_hooks(apr_pool_t *p);

#endif
