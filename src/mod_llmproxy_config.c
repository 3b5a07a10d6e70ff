/* mod_llmproxy: directives, create/merge of configuration, checks at
 * start-up (glue). */
#include <errno.h>
#include <stdlib.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <http_core.h>

#include "mod_llmproxy_features.h"

APLOG_USE_MODULE(llmproxy);

#define UNSET_TIME ((apr_interval_time_t)-1)

void *llmp_create_server_conf(apr_pool_t *p, server_rec *s)
{
    llmp_server_conf_t *c = apr_pcalloc(p, sizeof(*c));

    (void)s;
    c->refresh = UNSET_TIME;
    c->connect_timeout = UNSET_TIME;
    c->timeout = UNSET_TIME;
    c->verify = -1;
    c->max_body = -1;
    c->default_max_tokens = -1;
    c->forward_client_auth = -1;
    c->use_modproxy = -1;
    c->max_stream_bytes = -1;
    c->stream_max_duration = UNSET_TIME;
    c->ping_interval = UNSET_TIME;
    c->allow_empty_list = -1;
    c->rstore_ttl = UNSET_TIME;
    c->rules = apr_array_make(p, 2, sizeof(llmp_route_rule_t));
    c->usage = llmp_usage_create_sconf(p);
    c->metrics = llmp_metrics_create_sconf(p);
    c->usagedb = llmp_usagedb_create_sconf(p);
    c->limits = llmp_limits_create_sconf(p);
    c->pool = llmp_pool_create_sconf(p);
    return c;
}

#define MERGE_PTR(f) c->f = add->f ? add->f : base->f
#define MERGE_VAL(f, unset) c->f = (add->f != (unset)) ? add->f : base->f

void *llmp_merge_server_conf(apr_pool_t *p, void *basev, void *addv)
{
    llmp_server_conf_t *base = basev, *add = addv;
    llmp_server_conf_t *c = apr_pcalloc(p, sizeof(*c));

    MERGE_PTR(list_url);
    c->token_set = add->token_set || base->token_set;
    c->token = add->token_set ? add->token : base->token;
    MERGE_VAL(refresh, UNSET_TIME);
    MERGE_VAL(connect_timeout, UNSET_TIME);
    MERGE_VAL(timeout, UNSET_TIME);
    MERGE_PTR(ca_file);
    MERGE_VAL(verify, -1);
    MERGE_VAL(max_list_size, 0);
    MERGE_VAL(max_body, -1);
    MERGE_VAL(default_max_tokens, -1);
    MERGE_PTR(embed_input_type);
    MERGE_VAL(forward_client_auth, -1);
    MERGE_VAL(use_modproxy, -1);
    MERGE_PTR(anthropic_version);
    MERGE_VAL(max_stream_bytes, -1);
    MERGE_VAL(stream_max_duration, UNSET_TIME);
    MERGE_VAL(ping_interval, UNSET_TIME);
    MERGE_VAL(allow_empty_list, -1);
    MERGE_PTR(reasoning_models);
    MERGE_PTR(rstore_spec);
    MERGE_VAL(rstore_ttl, UNSET_TIME);
    if (!add->aliases || !add->aliases->nelts) {
        /* the same array: /v1/models is rendered once per alias set */
        c->aliases = base->aliases;
        c->alias_map = base->alias_map;
    }
    else if (!base->aliases || !base->aliases->nelts) {
        c->aliases = add->aliases;
        c->alias_map = add->alias_map;
    }
    else {
        int i;

        /* the context's own first; inherited ones it does not redefine */
        c->aliases = apr_array_copy(p, add->aliases);
        c->alias_map = apr_hash_copy(p, add->alias_map);
        for (i = 0; i < base->aliases->nelts; i++) {
            const llmp_alias_t *a = &APR_ARRAY_IDX(base->aliases, i,
                                                   llmp_alias_t);
            if (apr_hash_get(c->alias_map, a->name, APR_HASH_KEY_STRING))
                continue;
            APR_ARRAY_PUSH(c->aliases, llmp_alias_t) = *a;
            apr_hash_set(c->alias_map, a->name, APR_HASH_KEY_STRING,
                         a->target);
        }
    }
    c->rules = apr_array_append(p, base->rules, add->rules);
    c->usage = llmp_usage_merge_sconf(p, base->usage, add->usage);
    c->metrics = llmp_metrics_merge_sconf(p, base->metrics, add->metrics);
    c->usagedb = llmp_usagedb_merge_sconf(p, base->usagedb, add->usagedb);
    c->limits = llmp_limits_merge_sconf(p, base->limits, add->limits);
    c->pool = llmp_pool_merge_sconf(p, base->pool, add->pool);
    return c;
}

void *llmp_create_dir_conf(apr_pool_t *p, char *dir)
{
    llmp_dir_conf_t *d = apr_pcalloc(p, sizeof(*d));

    if (dir && *dir == '/') {
        apr_size_t n = strlen(dir);
        while (n > 1 && dir[n - 1] == '/') n--;
        d->mount = apr_pstrmemdup(p, dir, n);
    }
    d->keys = llmp_keys_create_dconf(p);
    d->limits = llmp_limits_create_dconf(p);
    d->docs = llmp_docs_create_dconf(p);
    return d;
}

void *llmp_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    llmp_dir_conf_t *base = basev, *add = addv;
    llmp_dir_conf_t *d = apr_pcalloc(p, sizeof(*d));

    d->mount = add->mount ? add->mount : base->mount;
    d->keys = llmp_keys_merge_dconf(p, base->keys, add->keys);
    d->limits = llmp_limits_merge_dconf(p, base->limits, add->limits);
    d->docs = llmp_docs_merge_dconf(p, base->docs, add->docs);
    return d;
}

static llmp_server_conf_t *conf_of(cmd_parms *cmd)
{
    return llmp_sconf(cmd->server);
}

static const char *set_list_url(cmd_parms *cmd, void *d, const char *v)
{
    const char *err = NULL;

    if (!llmp_url_origin(cmd->pool, v, &err))
        return apr_psprintf(cmd->pool, "%s: '%s' is %s", cmd->cmd->name, v,
                            err);
    conf_of(cmd)->list_url = v;
    return NULL;
}

static const char *set_token(cmd_parms *cmd, void *d, const char *v)
{
    llmp_server_conf_t *c = conf_of(cmd);

    if (strpbrk(v, "\r\n"))
        return "LLMProxyAuthToken must not contain line breaks";
    c->token_set = 1;
    c->token = !strcasecmp(v, "none") ? NULL : v;
    return NULL;
}

static const char *parse_seconds(cmd_parms *cmd, const char *v, int allow0,
                                 apr_interval_time_t *out)
{
    char *end;
    double d = strtod(v, &end);

    if (end == v || *end || d != d || d < 0 || (!allow0 && d == 0)
        || d > 86400.0 * 365)
        return apr_psprintf(cmd->pool, "%s: '%s' is not a valid number of "
                            "seconds%s", cmd->cmd->name, v,
                            allow0 ? "" : " (must be > 0)");
    *out = (apr_interval_time_t)(d * APR_USEC_PER_SEC);
    return NULL;
}

static const char *set_refresh(cmd_parms *cmd, void *d, const char *v)
{
    return parse_seconds(cmd, v, 1, &conf_of(cmd)->refresh);
}

static const char *set_connect_timeout(cmd_parms *cmd, void *d, const char *v)
{
    return parse_seconds(cmd, v, 0, &conf_of(cmd)->connect_timeout);
}

static const char *set_timeout(cmd_parms *cmd, void *d, const char *v)
{
    return parse_seconds(cmd, v, 0, &conf_of(cmd)->timeout);
}

static const char *set_ca_file(cmd_parms *cmd, void *d, const char *v)
{
    const char *path = ap_server_root_relative(cmd->pool, v);
    apr_finfo_t fi;

    if (!path || apr_stat(&fi, path, APR_FINFO_TYPE, cmd->pool) != APR_SUCCESS
        || fi.filetype != APR_REG)
        return apr_psprintf(cmd->pool, "%s: cannot read file '%s'",
                            cmd->cmd->name, v);
    conf_of(cmd)->ca_file = path;
    return NULL;
}

static const char *set_verify(cmd_parms *cmd, void *d, int flag)
{
    conf_of(cmd)->verify = flag;
    return NULL;
}

static const char *set_forward_auth(cmd_parms *cmd, void *d, int flag)
{
    conf_of(cmd)->forward_client_auth = flag;
    return NULL;
}

static const char *set_use_modproxy(cmd_parms *cmd, void *d, int flag)
{
    conf_of(cmd)->use_modproxy = flag;
    return NULL;
}

static const char *parse_size(cmd_parms *cmd, const char *v, apr_off_t min,
                              apr_off_t *out)
{
    char *end;
    apr_int64_t n, mult = 1;

    errno = 0;
    n = apr_strtoi64(v, &end, 10);
    if (end == v || n < 0 || errno == ERANGE || !apr_isdigit(*v)) goto bad;
    switch (*end) {
    case 'k': case 'K': mult = 1024; end++; break;
    case 'm': case 'M': mult = 1024 * 1024; end++; break;
    case 'g': case 'G': mult = 1024 * 1024 * 1024; end++; break;
    default: break;
    }
    /* no overflow: the largest size accepted is 1 TiB */
    if (*end || n > ((apr_int64_t)1 << 40) / mult) goto bad;
    n *= mult;
    if (n < min) goto bad;
    *out = (apr_off_t)n;
    return NULL;
bad:
    return apr_psprintf(cmd->pool, "%s: '%s' is not a valid size (bytes, or "
                        "a number with K, M or G; at least %" APR_OFF_T_FMT
                        ")", cmd->cmd->name, v, min);
}

static const char *set_max_list(cmd_parms *cmd, void *d, const char *v)
{
    apr_off_t n;
    const char *err = parse_size(cmd, v, 1024, &n);

    if (!err) conf_of(cmd)->max_list_size = (apr_size_t)n;
    return err;
}

static const char *set_max_body(cmd_parms *cmd, void *d, const char *v)
{
    return parse_size(cmd, v, 1, &conf_of(cmd)->max_body);
}

static const char *set_max_stream_bytes(cmd_parms *cmd, void *d,
                                        const char *v)
{
    return parse_size(cmd, v, 1024, &conf_of(cmd)->max_stream_bytes);
}

static const char *set_stream_max_duration(cmd_parms *cmd, void *d,
                                           const char *v)
{
    if (!strcasecmp(v, "off")) {
        conf_of(cmd)->stream_max_duration = 0;
        return NULL;
    }
    /* 0 is off too */
    return parse_seconds(cmd, v, 1, &conf_of(cmd)->stream_max_duration);
}

static const char *set_anthropic_version(cmd_parms *cmd, void *d,
                                         const char *v)
{
    const char *c;

    for (c = v; *c; c++)
        if (!apr_isalnum(*c) && *c != '-' && *c != '.' && *c != '_')
            return "LLMProxyAnthropicVersion: letters, digits, '-', '.' and "
                   "'_' only (e.g. 2023-06-01)";
    if (!*v) return "LLMProxyAnthropicVersion must not be empty";
    conf_of(cmd)->anthropic_version = v;
    return NULL;
}

static const char *set_allow_empty_list(cmd_parms *cmd, void *d, int flag)
{
    conf_of(cmd)->allow_empty_list = flag;
    return NULL;
}

/* LLMProxyReasoningModels PATTERN...: model ids (fnmatch globs, case
 * blind) to treat as taking thinking settings, besides the ones each
 * family knows; "none" clears the list (also an inherited one). */
static const char *add_reasoning_model(cmd_parms *cmd, void *d,
                                       const char *v)
{
    llmp_server_conf_t *c = conf_of(cmd);

    if (!*v || strpbrk(v, "\r\n"))
        return "LLMProxyReasoningModels: a pattern must not be empty or "
               "contain line breaks";
    if (!strcasecmp(v, "none") || !c->reasoning_models)
        c->reasoning_models = apr_array_make(cmd->pool, 4,
                                             sizeof(const char *));
    if (strcasecmp(v, "none"))
        APR_ARRAY_PUSH(c->reasoning_models, const char *) = v;
    return NULL;
}

/* LLMProxyModelAlias alias model_version: clients may ask for the model
 * model_version by the name alias, on every endpoint. */
static const char *add_alias(cmd_parms *cmd, void *d, const char *name,
                             const char *target)
{
    llmp_server_conf_t *c = conf_of(cmd);
    llmp_alias_t *a;

    if (!*name || !*target || strpbrk(name, "\r\n\t ")
        || strpbrk(target, "\r\n\t "))
        return "LLMProxyModelAlias: the alias and the model must be "
               "non-empty names without spaces";
    if (!strcmp(name, target))
        return apr_psprintf(cmd->pool, "LLMProxyModelAlias: the alias "
                            "'%s' names itself", name);
    if (!c->aliases) {
        c->aliases = apr_array_make(cmd->pool, 4, sizeof(llmp_alias_t));
        c->alias_map = apr_hash_make(cmd->pool);
    }
    if (apr_hash_get(c->alias_map, name, APR_HASH_KEY_STRING))
        return apr_psprintf(cmd->pool, "LLMProxyModelAlias: the alias '%s' "
                            "is defined twice here", name);
    a = apr_array_push(c->aliases);
    a->name = name;
    a->target = target;
    apr_hash_set(c->alias_map, name, APR_HASH_KEY_STRING, target);
    return NULL;
}

/* LLMProxyTestPingInterval seconds: for tests only (a short silence). */
static const char *set_ping_interval(cmd_parms *cmd, void *d, const char *v)
{
    return parse_seconds(cmd, v, 0, &conf_of(cmd)->ping_interval);
}

static const char *set_rstore(cmd_parms *cmd, void *d, const char *v)
{
    const char *c;

    if (!strcasecmp(v, "none")) {
        conf_of(cmd)->rstore_spec = "none";
        return NULL;
    }
    /* the provider's name; its arguments (after ':') are its own */
    for (c = v; *c && *c != ':'; c++)
        if (!apr_isalnum(*c) && *c != '_' && *c != '-')
            break;
    if (c == v || (*c && *c != ':'))
        return "LLMProxyResponseStore: a mod_socache provider, optionally "
               "with its arguments (shmcb, shmcb:/path(bytes), "
               "redis:host:port, memcache:host:port, dbm:/path), or none";
    conf_of(cmd)->rstore_spec = v;
    return NULL;
}

static const char *set_rstore_ttl(cmd_parms *cmd, void *d, const char *v)
{
    llmp_server_conf_t *c = conf_of(cmd);
    const char *err = parse_seconds(cmd, v, 0, &c->rstore_ttl);

    /* the caches count whole seconds */
    if (!err && c->rstore_ttl < apr_time_from_sec(1))
        err = "LLMProxyResponseStoreTTL: at least 1 second";
    return err;
}

static const char *set_max_tokens(cmd_parms *cmd, void *d, const char *v)
{
    char *end;
    long n = strtol(v, &end, 10);

    if (end == v || *end || n < 1 || n > 10000000)
        return "LLMProxyDefaultMaxTokens must be a positive whole number";
    conf_of(cmd)->default_max_tokens = (int)n;
    return NULL;
}

static const char *set_embed_input_type(cmd_parms *cmd, void *d,
                                        const char *v)
{
    conf_of(cmd)->embed_input_type = v;
    return NULL;
}

static const char *add_rule(cmd_parms *cmd, void *d, const char *prefix,
                            const char *prov)
{
    int pv = llmp_provider_from_name(prov);
    llmp_route_rule_t *r;

    if (*prefix != '/')
        return "LLMProxyProviderRule: the handle prefix must start with '/'";
    if (pv < 0)
        return apr_psprintf(cmd->pool, "LLMProxyProviderRule: unknown "
                            "provider '%s' (openai, anthropic, gemini, "
                            "cohere, ideogram, recraft)", prov);
    r = apr_array_push(conf_of(cmd)->rules);
    r->prefix = prefix;
    r->provider = (llmp_provider_e)pv;
    return NULL;
}

const command_rec llmp_cmds[] = {
    AP_INIT_TAKE1("LLMProxyModelListURL", set_list_url, NULL, RSRC_CONF,
        "URL of the gateway's model list (default: $MODEL_LIST_URL, else "
        LLMP_DEFAULT_LIST_URL ")"),
    AP_INIT_TAKE1("LLMProxyAuthToken", set_token, NULL, RSRC_CONF,
        "token sent as 'Authorization: OAuth <token>' to the list URL and the "
        "backends (default: $MODEL_LIST_AUTH_TOKEN; 'none' for no header)"),
    AP_INIT_TAKE1("LLMProxyRefreshInterval", set_refresh, NULL, RSRC_CONF,
        "seconds between model list refreshes (default 300; 0: at start-up "
        "only)"),
    AP_INIT_TAKE1("LLMProxyConnectTimeout", set_connect_timeout, NULL,
        RSRC_CONF, "seconds to connect to a backend (default 10)"),
    AP_INIT_TAKE1("LLMProxyTimeout", set_timeout, NULL, RSRC_CONF,
        "seconds for a whole backend call; for a stream, the longest silence "
        "between events (default 300)"),
    AP_INIT_TAKE1("LLMProxyCACertificateFile", set_ca_file, NULL, RSRC_CONF,
        "PEM bundle of CAs to trust for the list URL and backends"),
    AP_INIT_FLAG("LLMProxySSLVerify", set_verify, NULL, RSRC_CONF,
        "verify the backends' TLS certificates (default on)"),
    AP_INIT_TAKE1("LLMProxyModelListMaxSize", set_max_list, NULL, RSRC_CONF,
        "largest model list accepted, in bytes (default 4M; shared memory "
        "holds twice this)"),
    AP_INIT_TAKE1("LLMProxyMaxRequestBody", set_max_body, NULL, RSRC_CONF,
        "largest client request body (default 10M; LimitRequestBody applies "
        "too)"),
    AP_INIT_TAKE1("LLMProxyDefaultMaxTokens", set_max_tokens, NULL,
        RSRC_CONF, "max_tokens sent to providers that require it when the "
        "client gives none (default 4096)"),
    AP_INIT_TAKE1("LLMProxyEmbedInputType", set_embed_input_type, NULL,
        RSRC_CONF, "Cohere embed input_type when the client gives none "
        "(default search_document)"),
    AP_INIT_TAKE2("LLMProxyProviderRule", add_rule, NULL, RSRC_CONF,
        "handle prefix and provider (openai, anthropic, gemini, cohere, "
        "ideogram, recraft): overrides the built-in detection"),
    AP_INIT_FLAG("LLMProxyForwardClientAuth", set_forward_auth, NULL,
        RSRC_CONF, "forward the client's Authorization header to backends "
        "when no token is configured (default off)"),
    AP_INIT_FLAG("LLMProxyUseModProxy", set_use_modproxy, NULL, RSRC_CONF,
        "send buffered calls to an http gateway through mod_proxy_http, "
        "when it is loaded (default on)"),
    AP_INIT_TAKE1("LLMProxyAnthropicVersion", set_anthropic_version, NULL,
        RSRC_CONF, "anthropic-version header sent on every call to an "
        "Anthropic backend (default 2023-06-01)"),
    AP_INIT_TAKE1("LLMProxyMaxStreamBytes", set_max_stream_bytes, NULL,
        RSRC_CONF, "largest streamed backend answer, in bytes (K, M, G); "
        "a longer stream ends with an error event (default 256M)"),
    AP_INIT_TAKE1("LLMProxyStreamMaxDuration", set_stream_max_duration, NULL,
        RSRC_CONF, "seconds a stream may last in all, or 'off' (default); "
        "a longer stream ends with an error event"),
    AP_INIT_ITERATE("LLMProxyReasoningModels", add_reasoning_model, NULL,
        RSRC_CONF, "model ids (globs such as my-claude* or *-thinking) to "
        "send thinking settings (reasoning_effort) to besides the known "
        "thinking models; 'none' clears the list"),
    AP_INIT_FLAG("LLMProxyAllowEmptyList", set_allow_empty_list, NULL,
        RSRC_CONF, "accept a model list with no usable entry (default off: "
        "an empty list is a failed refresh and the last good list stays)"),
    AP_INIT_TAKE1("LLMProxyResponseStore", set_rstore, NULL, RSRC_CONF,
        "where /v1/responses answers are kept for previous_response_id and "
        "GET /v1/responses/{id}: a mod_socache provider[:args] (default "
        "shmcb, 32M in shared memory; redis:host:port or memcache:host:port "
        "for several servers), or none"),
    AP_INIT_TAKE1("LLMProxyResponseStoreTTL", set_rstore_ttl, NULL,
        RSRC_CONF, "seconds a stored response is kept (default 3600)"),
    AP_INIT_TAKE1("LLMProxyTestPingInterval", set_ping_interval, NULL,
        RSRC_CONF, "for tests: seconds of silence after which a translated "
        "/v1/messages stream gets a ping event (default 10)"),
    AP_INIT_TAKE2("LLMProxyModelAlias", add_alias, NULL, RSRC_CONF,
        "alias model_version: clients may ask for the list's model "
        "model_version by the name alias (repeated; listed in /v1/models)"),

    /* ---- usage and cost (mod_llmproxy_usage.c) ---- */
    AP_INIT_FLAG("LLMProxyStreamUsage", llmp_usage_set_stream_usage, NULL,
        RSRC_CONF, "ask an OpenAI-compatible backend for the usage of a "
        "stream whose client did not (stream_options.include_usage), and "
        "keep what that adds from the client (default on)"),


    /* ---- API keys (mod_llmproxy_keys.c) ---- */
    AP_INIT_TAKE1("LLMProxyKeyFile", llmp_keys_set_file, NULL,
        RSRC_CONF | ACCESS_CONF, "file of the API keys for AuthType "
        "llmproxy-key: lines 'user sha256-hex-of-the-key [comment]' (made "
        "with llmproxy-keys); read again when it changes"),


    /* ---- metrics (mod_llmproxy_metrics.c) ---- */
    AP_INIT_FLAG("LLMProxyMetricsPerUser", llmp_metrics_set_per_user, NULL,
        RSRC_CONF, "On: the metrics carry a user label (r->user, or -); "
        "default Off"),
    AP_INIT_TAKE1("LLMProxyMetricsModels", llmp_metrics_set_models, NULL,
        RSRC_CONF, "Model slots of the metrics table (main server; default "
        "64); more models are counted under model=\"other\""),
    AP_INIT_TAKE1("LLMProxyMetricsUsers", llmp_metrics_set_users, NULL,
        RSRC_CONF, "User slots of the metrics table with "
        "LLMProxyMetricsPerUser on (main server; default 32); more users "
        "are counted under user=\"other\""),


    /* ---- usage database (mod_llmproxy_usagedb.c) ---- */
    AP_INIT_FLAG("LLMProxyUsageDB", llmp_usagedb_set_on, NULL, RSRC_CONF,
        "on: one row per call in a database through mod_dbd (its DBDriver "
        "and DBDParams); default off"),
    AP_INIT_TAKE1("LLMProxyUsageTable", llmp_usagedb_set_table, NULL,
        RSRC_CONF, "the usage database's table, created if missing "
        "(default llmproxy_usage)"),


    /* ---- limits and budgets (mod_llmproxy_limits.c) ---- */
    AP_INIT_TAKE23("LLMProxyLimit", llmp_limits_set_limit, NULL,
        RSRC_CONF | ACCESS_CONF, "requests|tokens|cost AMOUNT/PERIOD "
        "[user|model|server]: PERIOD second, minute, hour, day or month "
        "(UTC); the scope defaults to user (else the client address)"),
    AP_INIT_TAKE1("LLMProxyLimitStore", llmp_limits_set_store, NULL,
        RSRC_CONF, "shm (default: this server) or redis://host:port[/db] "
        "(several servers share the counters)"),
    AP_INIT_TAKE1("LLMProxyLimitStoreFailure", llmp_limits_set_failure,
        NULL, RSRC_CONF, "open (default: serve and count in this server) "
        "or closed (refuse with 503) while Redis is unreachable"),
    AP_INIT_TAKE1("LLMProxyLimitStateFile", llmp_limits_set_state_file,
        NULL, RSRC_CONF, "a file the shm counters are kept in across a "
        "stop (written every 10 s and at stop)"),


    /* ---- pools, retries, fallbacks (mod_llmproxy_pool.c) ---- */
    AP_INIT_TAKE1("LLMProxyBackoff", llmp_pool_set_backoff, NULL, RSRC_CONF,
        "seconds a failing pool member is left alone (default 30; doubles "
        "while it keeps failing, at most 600; 0: never)"),
    AP_INIT_TAKE1("LLMProxyRetries", llmp_pool_set_retries, NULL, RSRC_CONF,
        "further backend calls a request may make after a retryable "
        "failure (default 2)"),
    AP_INIT_TAKE1("LLMProxyRetryMaxWait", llmp_pool_set_max_wait, NULL,
        RSRC_CONF, "the longest Retry-After waited for before calling a "
        "pool's only member again (seconds, default 2)"),
    AP_INIT_TAKE_ARGV("LLMProxyFallback", llmp_pool_set_fallback, NULL,
        RSRC_CONF, "MODEL ALT1 [ALT2 ...]: models tried in order when "
        "MODEL's pool fails"),
    AP_INIT_TAKE2("LLMProxyBackendURL", llmp_pool_set_backend_url, NULL,
        RSRC_CONF, "HANDLE-PREFIX URL: handles that start with the prefix "
        "are called at URL + handle"),
    AP_INIT_TAKE2("LLMProxyBackendToken", llmp_pool_set_backend_token, NULL,
        RSRC_CONF, "HANDLE-PREFIX TOKEN|none: the gateway token for those "
        "handles (never logged)"),


    /* ---- docs: /openapi.json and /docs (mod_llmproxy_docs.c) ---- */
    AP_INIT_TAKE1("LLMProxyDocsDir", llmp_docs_set_dir, NULL,
        RSRC_CONF | ACCESS_CONF,
        "directory of the /docs page's files and openapi-base.json "
        "(default " "/usr/share/mod_llmproxy/docs" ")"),

    { NULL }
};

int llmp_config_finish(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s)
{
    server_rec *v;

    for (v = s; v; v = v->next) {
        llmp_server_conf_t *c = llmp_sconf(v);
        const char *err = NULL;

        if (!c->list_url) {
            const char *env = getenv("MODEL_LIST_URL");
            c->list_url = (env && *env) ? apr_pstrdup(pconf, env)
                                        : LLMP_DEFAULT_LIST_URL;
        }
        if (!c->token_set) {
            const char *env = getenv("MODEL_LIST_AUTH_TOKEN");
            c->token = (env && *env) ? apr_pstrdup(pconf, env) : NULL;
        }
        if (c->token && strpbrk(c->token, "\r\n")) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, v, LLMP_LOG_TAG
                         "the auth token (MODEL_LIST_AUTH_TOKEN) contains a "
                         "line break");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        c->origin = llmp_url_origin(pconf, c->list_url, &err);
        if (!c->origin) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, v, LLMP_LOG_TAG
                         "model list URL '%s' (from %s) is %s", c->list_url,
                         getenv("MODEL_LIST_URL") ? "MODEL_LIST_URL"
                         : "LLMProxyModelListURL", err);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        if (c->refresh == UNSET_TIME) c->refresh = apr_time_from_sec(300);
        if (c->connect_timeout == UNSET_TIME)
            c->connect_timeout = apr_time_from_sec(10);
        if (c->timeout == UNSET_TIME) c->timeout = apr_time_from_sec(300);
        if (c->verify < 0) c->verify = 1;
        if (!c->max_list_size) c->max_list_size = 4 * 1024 * 1024;
        if (c->max_body < 0) c->max_body = 10 * 1024 * 1024;
        if (c->default_max_tokens < 0) c->default_max_tokens = 4096;
        if (!c->embed_input_type) c->embed_input_type = "search_document";
        if (c->forward_client_auth < 0) c->forward_client_auth = 0;
        if (!c->anthropic_version) c->anthropic_version = "2023-06-01";
        if (c->max_stream_bytes < 0)
            c->max_stream_bytes = (apr_off_t)256 * 1024 * 1024;
        if (c->stream_max_duration == UNSET_TIME) c->stream_max_duration = 0;
        if (c->ping_interval == UNSET_TIME)
            c->ping_interval = LLMP_PING_INTERVAL;
        if (c->allow_empty_list < 0) c->allow_empty_list = 0;
        if (c->rstore_ttl == UNSET_TIME)
            c->rstore_ttl = apr_time_from_sec(3600);
        c->route_rules.rules = c->rules;
        if (c->use_modproxy < 0) c->use_modproxy = 1;
        /* https needs mod_ssl too: checked in llmp_modproxy's post_config */
        c->via_proxy = c->use_modproxy
                       && (!strncmp(c->origin, "http://", 7)
                           || !strncmp(c->origin, "https://", 8));
        c->tls_section = NULL;
        c->xlate_opts.default_max_tokens = c->default_max_tokens;
        c->xlate_opts.embed_input_type = c->embed_input_type;
        c->xlate_opts.anthropic_version = c->anthropic_version;
        c->xlate_opts.reasoning_models = c->reasoning_models;
        if (!c->verify)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, v, LLMP_LOG_TAG
                         "LLMProxySSLVerify off: backend certificates are not "
                         "checked");
    }
    return OK;
}
