/* mod_llmproxy: one row per call through mod_dbd, LLMProxyUsageDB (issue
 * 12).
 *
 * The admin's own DBDriver/DBDParams (SQLite, PostgreSQL, MySQL) give the
 * connections; this file only borrows one at log_transaction, after the
 * answer was sent (llmp_usage_log calls llmp_usagedb_record), and writes
 * one row with a prepared statement. mod_dbd is reached through its
 * optional functions, so the module loads without it; LLMProxyUsageDB on
 * without mod_dbd stops the start-up (check_config, so `httpd -t` says so).
 *
 * The table (LLMProxyUsageTable, default llmproxy_usage) is created if
 * missing the first time a child writes to it, and again after a failed
 * INSERT (CREATE TABLE IF NOT EXISTS, portable SQL); the INSERT is prepared once per database connection and
 * kept in mod_dbd's per-connection hash of prepared statements.
 *
 * A failure (no connection, no table, a refused row) never reaches the
 * client: it is counted in shared memory (llmp_usagedb_failures(), for
 * every child of the server) and logged at most once a minute per child. */
#include "mod_llmproxy_features.h"
#include <apr_atomic.h>
#include <apr_dbd.h>
#include <apr_lib.h>
#include <apr_optional.h>
#include <apr_shm.h>
#include <apr_strings.h>
#include <http_log.h>
#include <mod_dbd.h>

APLOG_USE_MODULE(llmproxy);

#define USAGEDB_DEFAULT_TABLE "llmproxy_usage"
/* one log line per child at most this often (seconds) */
#define USAGEDB_LOG_EVERY 60

struct llmp_usagedb_sconf {
    int on;                        /* LLMProxyUsageDB; -1 unset */
    const char *table;             /* LLMProxyUsageTable; NULL unset */
    /* per child process (each has its own copy after the fork): the
     * table was created or found; read and set with apr_atomic */
    apr_uint32_t ready;
    apr_uint32_t last_log;         /* the second a failure was last logged */
    const char *insert_label;      /* the INSERT's key in ap_dbd_t.prepared */
    const char *create_sql;
    const char *insert_sql;
};

/* Shared by every child: failures since start-up (not reset by a graceful
 * restart). last_log is per child (see usagedb_failed). */
typedef struct {
    apr_uint32_t failures;
} usagedb_shared_t;

/* Set in post_config, before the children exist; read-only after. */
static usagedb_shared_t *usagedb_shared;

static APR_OPTIONAL_FN_TYPE(ap_dbd_acquire) *usagedb_acquire;

apr_uint32_t llmp_usagedb_failures(void)
{
    return usagedb_shared ? apr_atomic_read32(&usagedb_shared->failures) : 0;
}

/* ---- configuration ---- */

void *llmp_usagedb_create_sconf(apr_pool_t *p)
{
    struct llmp_usagedb_sconf *c = apr_pcalloc(p, sizeof(*c));
    c->on = -1;
    return c;
}

void *llmp_usagedb_merge_sconf(apr_pool_t *p, void *basev, void *addv)
{
    struct llmp_usagedb_sconf *b = basev, *a = addv, *c = apr_pcalloc(p, sizeof(*c));
    c->on = a->on >= 0 ? a->on : b->on;
    c->table = a->table ? a->table : b->table;
    return c;
}

static struct llmp_usagedb_sconf *usagedb_conf(server_rec *s)
{
    return llmp_sconf(s)->usagedb;
}

const char *llmp_usagedb_set_on(cmd_parms *cmd, void *d, int flag)
{
    (void)d;
    usagedb_conf(cmd->server)->on = flag ? 1 : 0;
    return NULL;
}

/* A table name goes into the SQL text (statements take no identifier as a
 * parameter): letters, digits and '_', one optional "schema." before. */
const char *llmp_usagedb_set_table(cmd_parms *cmd, void *d, const char *v)
{
    const char *c;
    int dots = 0;

    (void)d;
    if (!*v || strlen(v) > 63 || !(apr_isalpha(*v) || *v == '_'))
        goto bad;
    for (c = v; *c; c++) {
        if (*c == '.') {
            if (++dots > 1 || !(apr_isalpha(c[1]) || c[1] == '_'))
                goto bad;
        }
        else if (!apr_isalnum(*c) && *c != '_') {
            goto bad;
        }
    }
    usagedb_conf(cmd->server)->table = v;
    return NULL;
bad:
    return apr_psprintf(cmd->pool, "%s: '%s' is not a table name (letters, "
                        "digits and '_', at most 63, optionally schema.table)",
                        cmd->cmd->name, v);
}

/* The SQL of one server's table (the same text for sqlite3, pgsql and
 * mysql: the types below are understood by all three). */
static void usagedb_sql(apr_pool_t *p, struct llmp_usagedb_sconf *c)
{
    const char *t = c->table ? c->table : USAGEDB_DEFAULT_TABLE;

    c->insert_label = apr_pstrcat(p, "llmproxy-usage:", t, NULL);
    c->create_sql = apr_pstrcat(p, "CREATE TABLE IF NOT EXISTS ", t, " ("
        "ts TIMESTAMP NOT NULL, "
        "request_id VARCHAR(64), "
        "username VARCHAR(255), "
        "model VARCHAR(255), "
        "provider VARCHAR(32), "
        "endpoint VARCHAR(32) NOT NULL, "
        "status INTEGER NOT NULL, "
        "stream INTEGER NOT NULL, "
        "prompt_tokens BIGINT, "
        "completion_tokens BIGINT, "
        "cached_tokens BIGINT, "
        "cost DOUBLE PRECISION, "
        "latency_ms BIGINT, "
        "ttft_ms BIGINT)", NULL);
    /* apr_dbd's own placeholders: each driver makes them ?, $n, ... */
    c->insert_sql = apr_pstrcat(p, "INSERT INTO ", t, " (ts, request_id, "
        "username, model, provider, endpoint, status, stream, prompt_tokens, "
        "completion_tokens, cached_tokens, cost, latency_ms, ttft_ms) VALUES "
        "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", NULL);
}

#define USAGEDB_NARGS 14

/* LLMProxyUsageDB on needs mod_dbd: said at start-up (and by httpd -t). */
static int usagedb_check_config(apr_pool_t *pconf, apr_pool_t *plog,
                                apr_pool_t *ptemp, server_rec *s)
{
    server_rec *v;

    (void)plog; (void)ptemp;
    usagedb_acquire = APR_RETRIEVE_OPTIONAL_FN(ap_dbd_acquire);
    for (v = s; v; v = v->next) {
        struct llmp_usagedb_sconf *c = usagedb_conf(v);
        if (c->on <= 0) continue;
        if (!usagedb_acquire) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, v, LLMP_LOG_TAG
                         "LLMProxyUsageDB on (%s:%u) needs mod_dbd: load "
                         "it (LoadModule dbd_module) and give it a DBDriver "
                         "and DBDParams",
                         v->server_hostname ? v->server_hostname : "",
                         (unsigned)v->port);
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        usagedb_sql(pconf, c);
    }
    return OK;
}

/* The failure counter, once per process lifetime (it survives a graceful
 * restart: the process pool keeps it). */
static int usagedb_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                               apr_pool_t *ptemp, server_rec *s)
{
    static const char key[] = "llmproxy-usagedb-shared";
    apr_pool_t *pp = s->process->pool;
    void *data = NULL;
    apr_shm_t *shm;

    (void)pconf; (void)plog; (void)ptemp;
    apr_pool_userdata_get(&data, key, pp);
    if (!data) {
        if (apr_shm_create(&shm, sizeof(usagedb_shared_t), NULL, pp)
            == APR_SUCCESS) {
            data = apr_shm_baseaddr_get(shm);
            memset(data, 0, sizeof(usagedb_shared_t));
        }
        else {
            /* no anonymous shared memory: each process counts its own */
            data = apr_pcalloc(pp, sizeof(usagedb_shared_t));
        }
        apr_pool_userdata_set(data, key, apr_pool_cleanup_null, pp);
    }
    usagedb_shared = data;
    return OK;
}

void llmp_usagedb_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_check_config(usagedb_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(usagedb_post_config, NULL, NULL, APR_HOOK_MIDDLE);
}

/* ---- one row ---- */

/* The calls that get a row; count_tokens costs nothing (no generation)
 * and is left out, as are the model list, a stored response, health. */
static int usagedb_is_call(const char *endpoint)
{
    static const char *const calls[] = {
        "chat.completions", "completions", "embeddings",
        "images.generations", "responses", "messages", NULL
    };
    const char *const *e;

    for (e = calls; *e; e++)
        if (!strcmp(endpoint, *e)) return 1;
    return 0;
}

/* v as text for a column of at most max bytes: cut at a character
 * boundary, control characters and bytes that are not UTF-8 as '?' (a
 * PostgreSQL database refuses invalid UTF-8); NULL stays NULL. */
static const char *usagedb_text(apr_pool_t *p, const char *v, apr_size_t max)
{
    const unsigned char *s = (const unsigned char *)v;
    char *out, *o;

    if (!v) return NULL;
    o = out = apr_palloc(p, max + 1);
    while (*s) {
        apr_size_t n = 1, i;
        int ok = 1;
        if (*s >= 0xC2 && *s <= 0xDF) n = 2;
        else if (*s >= 0xE0 && *s <= 0xEF) n = 3;
        else if (*s >= 0xF0 && *s <= 0xF4) n = 4;
        else if (*s >= 0x80 || *s < 0x20 || *s == 0x7F) ok = 0;
        for (i = 1; ok && i < n; i++)
            if ((s[i] & 0xC0) != 0x80) ok = 0;
        /* no overlong form, no surrogate, nothing past U+10FFFF */
        if (ok && ((*s == 0xE0 && s[1] < 0xA0) || (*s == 0xED && s[1] > 0x9F)
                   || (*s == 0xF0 && s[1] < 0x90)
                   || (*s == 0xF4 && s[1] > 0x8F)))
            ok = 0;
        if (!ok) n = 1;
        if ((apr_size_t)(o - out) + (ok ? n : 1) > max) break;
        if (ok) {
            memcpy(o, s, n);
            o += n;
        }
        else {
            *o++ = '?';
        }
        s += n;
    }
    *o = '\0';
    return out;
}

/* The request id: mod_unique_id's UNIQUE_ID, else the log id (%L). */
static const char *usagedb_request_id(request_rec *r)
{
    const char *id = apr_table_get(r->subprocess_env, "UNIQUE_ID");

    if (id && *id) return id;
    if (!r->log_id) {
        const char *gen = NULL;
        ap_run_generate_log_id(r->connection, r, &gen);
        r->log_id = gen;
    }
    return r->log_id;
}

/* A failure: counted for the metrics; logged once a minute per child at
 * most (the first one at once), with the database's words and no value of
 * the row. */
static void usagedb_failed(request_rec *r, struct llmp_usagedb_sconf *c,
                           const char *what, const char *detail)
{
    apr_uint32_t n = apr_atomic_inc32(&usagedb_shared->failures) + 1;
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_uint32_t last = apr_atomic_read32(&c->last_log);

    if (last && now - last < USAGEDB_LOG_EVERY) return;
    if (apr_atomic_cas32(&c->last_log, now ? now : 1, last) != last) return;
    if (detail) {
        /* the database's words on one line */
        char *d = apr_pstrdup(r->pool, detail), *q;
        apr_size_t len;
        for (q = d; *q; q++)
            if (*q == '\n' || *q == '\r' || *q == '\t') *q = ' ';
        len = strlen(d);
        while (len && d[len - 1] == ' ') d[--len] = '\0';
        detail = d;
    }
    ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, LLMP_LOG_TAG
                  "usage database: %s (table %s)%s%s; the answer was not "
                  "affected; %u failure(s) since start-up, reported at most "
                  "once a minute",
                  what, c->table ? c->table : USAGEDB_DEFAULT_TABLE,
                  detail ? ": " : "",
                  detail ? usagedb_text(r->pool, detail, 300) : "", n);
}

static const char *usagedb_dbd_error(ap_dbd_t *db, int rv)
{
    const char *e = apr_dbd_error(db->driver, db->handle, rv);
    return e && *e ? e : "unknown error";
}

/* The table, once per child. CREATE TABLE IF NOT EXISTS is not safe
 * against itself: two children creating it at once, PostgreSQL refuses one
 * ("duplicate key value violates unique constraint"). So a failure here is
 * only said when the INSERT fails too; *err keeps the database's words. */
static int usagedb_ensure_table(struct llmp_usagedb_sconf *c, ap_dbd_t *db,
                                apr_pool_t *p, const char **err)
{
    int nrows = 0, rv;

    if (apr_atomic_read32(&c->ready)) return 1;
    rv = apr_dbd_query(db->driver, db->handle, &nrows, c->create_sql);
    if (rv) {
        /* a copy: the driver's text is overwritten by its next call */
        *err = apr_pstrdup(p, usagedb_dbd_error(db, rv));
        return 0;
    }
    apr_atomic_set32(&c->ready, 1);
    return 1;
}

/* The INSERT of this connection, prepared on its first use. */
static apr_dbd_prepared_t *usagedb_insert(request_rec *r,
                                          struct llmp_usagedb_sconf *c,
                                          ap_dbd_t *db, const char *create_err)
{
    apr_dbd_prepared_t *st = NULL;
    int rv;

    if (db->prepared) {
        st = apr_hash_get(db->prepared, c->insert_label, APR_HASH_KEY_STRING);
        if (st) return st;
    }
    /* label NULL: a driver that names statements makes up its own name */
    rv = apr_dbd_prepare(db->driver, db->pool, db->handle, c->insert_sql,
                         NULL, &st);
    if (rv) {
        const char *e = usagedb_dbd_error(db, rv);
        usagedb_failed(r, c, "cannot prepare the INSERT", create_err
                       ? apr_pstrcat(r->pool, e, " (creating the table: ",
                                     create_err, ")", NULL) : e);
        return NULL;
    }
    if (db->prepared)
        apr_hash_set(db->prepared, c->insert_label, APR_HASH_KEY_STRING, st);
    return st;
}

void llmp_usagedb_record(request_rec *r, const llmp_usage_t *u)
{
    struct llmp_usagedb_sconf *c = usagedb_conf(r->server);
    const char *args[USAGEDB_NARGS];
    const char *model, *provider;
    apr_dbd_prepared_t *st;
    apr_time_exp_t tm;
    apr_size_t len;
    char ts[32];
    const char *create_err = NULL;
    ap_dbd_t *db;
    int nrows = 0, rv, i = 0, created;

    if (c->on <= 0 || !usagedb_acquire || !c->insert_sql || !u
        || !u->endpoint || !usagedb_is_call(u->endpoint))
        return;

    /* the values first: no connection is held longer than the write */
    apr_time_exp_gmt(&tm, r->request_time);
    apr_strftime(ts, &len, sizeof(ts), "%Y-%m-%d %H:%M:%S", &tm);
    /* the list's model called; before a call, the name the client asked
     * for (an unknown model's row still says which) */
    model = u->model ? u->model
            : apr_table_get(r->notes, "llmproxy-model-target");
    if (!model) model = apr_table_get(r->notes, "llmproxy-model");
    provider = u->provider ? u->provider
               : apr_table_get(r->notes, "llmproxy-provider");

    args[i++] = apr_pstrdup(r->pool, ts);
    args[i++] = usagedb_text(r->pool, usagedb_request_id(r), 64);
    args[i++] = usagedb_text(r->pool, r->user, 255);
    args[i++] = usagedb_text(r->pool, model, 255);
    args[i++] = usagedb_text(r->pool, provider, 32);
    args[i++] = usagedb_text(r->pool, u->endpoint, 32);
    args[i++] = apr_itoa(r->pool, r->status);
    /* asked for a stream; or answered with one */
    args[i++] = u->stream || (r->content_type && !strncasecmp(
        r->content_type, "text/event-stream", 17)) ? "1" : "0";
    if (u->has_tokens) {
        args[i++] = llmp_int_pstr(r->pool, u->prompt_tokens);
        args[i++] = llmp_int_pstr(r->pool, u->completion_tokens);
        args[i++] = llmp_int_pstr(r->pool, u->cached_tokens);
        args[i++] = llmp_usage_cost_text(r->pool, u->cost);
    }
    else {
        /* unknown (the backend reported no usage): NULL, not 0 */
        args[i++] = NULL;
        args[i++] = NULL;
        args[i++] = NULL;
        args[i++] = NULL;
    }
    /* the backend call's duration; none without a call */
    if (u->call_start && u->call_end >= u->call_start)
        args[i++] = llmp_int_pstr(r->pool,
                                apr_time_as_msec(u->call_end - u->call_start));
    else
        args[i++] = NULL;
    if (u->first_token && u->call_start && u->first_token >= u->call_start)
        args[i++] = llmp_int_pstr(r->pool, apr_time_as_msec(u->first_token
                                                          - u->call_start));
    else
        args[i++] = NULL;

    db = usagedb_acquire(r);
    if (!db) {
        usagedb_failed(r, c, "no database connection (see mod_dbd's "
                       "messages)", NULL);
        return;
    }
    created = usagedb_ensure_table(c, db, r->pool, &create_err);
    if (!(st = usagedb_insert(r, c, db, create_err))) return;
    rv = apr_dbd_pquery(db->driver, r->pool, db->handle, &nrows, st,
                        USAGEDB_NARGS, args);
    if (rv) {
        const char *e = usagedb_dbd_error(db, rv);
        usagedb_failed(r, c, "the row was not written", create_err
                       ? apr_pstrcat(r->pool, e, " (creating the table: ",
                                     create_err, ")", NULL) : e);
        /* the table may be gone: the next row makes it again. The
         * statement stays (a driver keeps every statement prepared on a
         * connection until it closes: preparing it anew for each refused
         * row would grow the connection's memory while the database
         * refuses rows); the databases re-plan it for a table made
         * again. */
        apr_atomic_set32(&c->ready, 0);
        return;
    }
    /* another child made the table meanwhile */
    if (!created) apr_atomic_set32(&c->ready, 1);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, LLMP_LOG_TAG
                  "usage database: one row in %s",
                  c->table ? c->table : USAGEDB_DEFAULT_TABLE);
}
