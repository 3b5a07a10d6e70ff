/* mod_llmproxy: rate limits and budgets, LLMProxyLimit (issue 13) (glue).
 *
 * Counters live in a store: "shm" (a fixed table in shared memory, one
 * server; kept by the parent process across graceful and ordinary
 * restarts, and in LLMProxyLimitStateFile across a stop) or Redis (several
 * servers share one counter set; hiredis, connections kept per child). A
 * request limit is counted when the request is checked (atomically: the
 * increment decides), tokens and cost when the call has ended
 * (llmp_limits_charge, at log_transaction). The windows, keys and decisions
 * are the core's (llmp_limits.c). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <hiredis/hiredis.h>
#include <apr_atomic.h>
#include <apr_lib.h>
#include <apr_optional.h>
#include <apr_strings.h>
#include <apr_uri.h>
#include <ap_expr.h>
#include <http_core.h>
#include <http_main.h>
#include <http_protocol.h>
#include <http_request.h>
#include <mod_status.h>
#include <mod_watchdog.h>

#include "mod_llmproxy_features.h"
#include "llmp_limits.h"
#include "llmp_openai.h"

APLOG_USE_MODULE(llmproxy);

/* The shared table: slots of this many key bytes, this many slots (about
 * 1 MiB), probed this far from a key's hash. */
#define LIM_KEYLEN      104
#define LIM_SLOTS       8192
#define LIM_PROBE       64
#define LIM_SHM_KEY     "llmproxy-limits-shm"
#define LIM_WD_NAME     "_llmproxy_limits_"
#define LIM_WD_INTERVAL apr_time_from_sec(10)
/* Redis: connect and command timeout; after a failure, a child waits this
 * long before it tries again */
#define LIM_REDIS_TIMEOUT_MS 500
#define LIM_REDIS_RETRY      apr_time_from_sec(1)
#define LIM_STATE_MAGIC      "llmproxy-limits 1"

typedef struct lim_redis lim_redis_t;
typedef struct lim_main lim_main_t;

struct llmp_limits_sconf {
    const char *store;             /* LLMProxyLimitStore; NULL: shm */
    int closed;                    /* LLMProxyLimitStoreFailure closed;
                                      -1 unset */
    const char *state_file;        /* LLMProxyLimitStateFile (main) */
    int used;                      /* a limit or a store is configured */
    lim_redis_t *redis;            /* resolved in post_config, or NULL */
    lim_main_t *main;              /* main server: set in post_config */
};

struct llmp_limits_dconf {
    apr_array_header_t *limits;    /* LLMProxyLimit: llmp_limit_t; NULL:
                                      inherit */
};

/* ---- the shared table ---- */

typedef struct {
    char key[LIM_KEYLEN];          /* "" free */
    apr_int64_t expires;           /* the window's end (s); after it the
                                      slot is free */
    apr_int64_t value;
} lim_slot_t;

typedef struct {
    pthread_mutex_t mutex;         /* robust, process-shared */
    apr_uint32_t nslots;
    apr_uint32_t used;             /* slots ever taken */
    apr_uint32_t evictions;        /* live counters pushed out */
    apr_uint32_t refusals;
    /* Redis, as the children last saw it */
    apr_uint32_t redis_failures;
    apr_uint32_t redis_down;       /* the last attempt failed */
    apr_int64_t redis_last_failure; /* apr_time_t */
    char redis_error[200];
    lim_slot_t slots[1];
} lim_table_t;

/* What the parent keeps across restarts (process pool). */
typedef struct {
    apr_shm_t *shm;
    lim_table_t *t;
    pid_t parent;
} lim_shared_t;

/* ---- Redis ---- */

struct lim_redis {
    const char *url;               /* as configured */
    const char *host;
    int port;
    int db;
    /* per child */
    apr_thread_mutex_t *mutex;
    apr_array_header_t *idle;      /* lim_conn_t * */
    apr_time_t retry_at;           /* no attempt before (after a failure) */
    lim_table_t *t;                /* where charges Redis missed go */
};

/* A charge (tokens or cost at the end of a call, or a refused request's
 * increment taken back) is written without waiting for its replies: the
 * next command on the same connection (a check, which waits anyway) reads
 * them first. So a limited call costs one round trip to Redis, the check,
 * with the charge of an earlier call pipelined before it. A connection
 * keeps what it owes replies for, so that a connection found dead sends
 * those charges again on a new one, or they are counted in this server. */
#define LIM_OWED_MAX 16

typedef struct {
    char key[LIM_KEYLEN];
    apr_int64_t inc;
    apr_time_t end;
} lim_owed_t;

typedef struct {
    redisContext *c;
    int nowed;                     /* charges written; two replies each */
    int got;                       /* replies read of owed[0] (0 or 1) */
    lim_owed_t owed[LIM_OWED_MAX];
} lim_conn_t;

/* Server-wide state, on the main server's configuration. */
struct lim_main {
    lim_shared_t *sh;
    apr_array_header_t *redis;     /* lim_redis_t * */
};

/* A request's limits as checked (r->pool user data). */
typedef struct {
    int n;
    llmp_limit_state_t *st;
    const char **keys;
    lim_redis_t *redis;            /* where they were counted, or NULL */
} lim_req_t;

#define LIM_REQ_KEY "llmproxy-limits-req"
/* idle Redis connections a child keeps per store URL */
#define LIM_REDIS_IDLE 64

static lim_main_t *main_of(void)
{
    return llmp_sconf(ap_server_conf)->limits->main;
}

/* ---- configuration ---- */

void *llmp_limits_create_sconf(apr_pool_t *p)
{
    struct llmp_limits_sconf *c = apr_pcalloc(p, sizeof(*c));
    c->closed = -1;
    return c;
}

void *llmp_limits_merge_sconf(apr_pool_t *p, void *basev, void *addv)
{
    struct llmp_limits_sconf *b = basev, *a = addv;
    struct llmp_limits_sconf *c = apr_pcalloc(p, sizeof(*c));
    c->store = a->store ? a->store : b->store;
    c->closed = a->closed >= 0 ? a->closed : b->closed;
    c->state_file = b->state_file;
    c->used = a->used || b->used;
    return c;
}

void *llmp_limits_create_dconf(apr_pool_t *p)
{
    return apr_pcalloc(p, sizeof(struct llmp_limits_dconf));
}

void *llmp_limits_merge_dconf(apr_pool_t *p, void *basev, void *addv)
{
    struct llmp_limits_dconf *b = basev, *a = addv;
    struct llmp_limits_dconf *c = apr_pcalloc(p, sizeof(*c));
    if (a->limits && b->limits)
        c->limits = llmp_limits_merge(p, b->limits, a->limits);
    else
        c->limits = a->limits ? a->limits : b->limits;
    return c;
}

const char *llmp_limits_set_limit(cmd_parms *cmd, void *dv, const char *what,
                                  const char *amount, const char *scope)
{
    llmp_dir_conf_t *d = dv;
    llmp_limit_t l;
    const char *err = llmp_limit_parse(cmd->pool, what, amount, scope, &l);

    if (err) return apr_pstrcat(cmd->pool, "LLMProxyLimit: ", err, NULL);
    if (!d->limits->limits)
        d->limits->limits = apr_array_make(cmd->pool, 2, sizeof(l));
    APR_ARRAY_PUSH(d->limits->limits, llmp_limit_t) = l;
    llmp_sconf(cmd->server)->limits->used = 1;
    return NULL;
}

static const char *redis_parse(apr_pool_t *p, const char *url,
                               lim_redis_t **out)
{
    apr_uri_t u;
    lim_redis_t *rd;

    if (apr_uri_parse(p, url, &u) != APR_SUCCESS || !u.scheme
        || strcasecmp(u.scheme, "redis") || !u.hostname || !*u.hostname
        || u.user || u.query || u.fragment)
        return apr_psprintf(p, "'%s' is not shm or redis://host:port[/db]",
                            url);
    rd = apr_pcalloc(p, sizeof(*rd));
    rd->url = url;
    rd->host = u.hostname;
    rd->port = u.port ? u.port : 6379;
    if (u.path && strcmp(u.path, "/") && *u.path) {
        char *end;
        long db = strtol(u.path + 1, &end, 10);
        if (*end || db < 0 || db > 65535 || end == u.path + 1)
            return apr_psprintf(p, "'%s': the database '%s' is not a "
                                "number", url, u.path + 1);
        rd->db = (int)db;
    }
    *out = rd;
    return NULL;
}

const char *llmp_limits_set_store(cmd_parms *cmd, void *dv, const char *v)
{
    struct llmp_limits_sconf *c = llmp_sconf(cmd->server)->limits;
    lim_redis_t *rd;
    const char *err;

    if (strcasecmp(v, "shm")) {
        err = redis_parse(cmd->pool, v, &rd);
        if (err) return apr_pstrcat(cmd->pool, "LLMProxyLimitStore: ", err,
                                    NULL);
    }
    c->store = v;
    c->used = 1;
    return NULL;
}

const char *llmp_limits_set_failure(cmd_parms *cmd, void *dv, const char *v)
{
    struct llmp_limits_sconf *c = llmp_sconf(cmd->server)->limits;

    if (!strcasecmp(v, "open")) c->closed = 0;
    else if (!strcasecmp(v, "closed")) c->closed = 1;
    else return "LLMProxyLimitStoreFailure: open or closed";
    return NULL;
}

const char *llmp_limits_set_state_file(cmd_parms *cmd, void *dv,
                                       const char *v)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err) return err;
    llmp_sconf(cmd->server)->limits->state_file =
        ap_server_root_relative(cmd->pool, v);
    if (!llmp_sconf(cmd->server)->limits->state_file)
        return apr_pstrcat(cmd->pool, "LLMProxyLimitStateFile: bad path ",
                           v, NULL);
    return NULL;
}

/* ---- the shared table ---- */

static void table_lock(lim_table_t *t)
{
    if (pthread_mutex_lock(&t->mutex) == EOWNERDEAD)
        /* a child died holding it: the counters are whole values */
        pthread_mutex_consistent(&t->mutex);
}

static void table_unlock(lim_table_t *t)
{
    pthread_mutex_unlock(&t->mutex);
}

static apr_uint64_t key_hash(const char *k)
{
    apr_uint64_t h = APR_UINT64_C(14695981039346656037);
    for (; *k; k++) {
        h ^= (unsigned char)*k;
        h *= APR_UINT64_C(1099511628211);
    }
    return h;
}

/* The slot of key (taken for it when absent), under the lock. */
static lim_slot_t *table_slot(lim_table_t *t, const char *key,
                              apr_int64_t expires, apr_int64_t now_s)
{
    apr_uint32_t i, idx = (apr_uint32_t)(key_hash(key) % t->nslots);
    lim_slot_t *free_slot = NULL, *oldest = NULL;

    for (i = 0; i < LIM_PROBE; i++) {
        lim_slot_t *s = &t->slots[(idx + i) % t->nslots];
        if (!s->key[0]) {
            if (!free_slot) free_slot = s;
            break;                 /* never taken: the key is not further */
        }
        if (s->expires <= now_s) {
            if (!free_slot) free_slot = s;
            continue;
        }
        if (!strcmp(s->key, key)) return s;
        if (!oldest || s->expires < oldest->expires) oldest = s;
    }
    if (!free_slot) {
        /* full around here: the counter that ends first goes */
        free_slot = oldest;
        t->evictions++;
    }
    else if (!free_slot->key[0]) {
        t->used++;
    }
    apr_cpystrn(free_slot->key, key, sizeof(free_slot->key));
    free_slot->expires = expires;
    free_slot->value = 0;
    return free_slot;
}

/* Add incs[i] (negative: take back) to the counters keys[i] (windows
 * ending at ends[i]) and, unless vals is NULL, put their values after it
 * in vals[i]. */
static void table_apply(lim_table_t *t, int n, const char *const *keys,
                        const apr_int64_t *incs, const apr_time_t *ends,
                        apr_int64_t *vals)
{
    apr_int64_t now_s = apr_time_sec(apr_time_now());
    int i;

    table_lock(t);
    for (i = 0; i < n; i++) {
        lim_slot_t *s = table_slot(t, keys[i], apr_time_sec(ends[i]), now_s);
        s->value += incs[i];
        if (vals) vals[i] = s->value;
    }
    table_unlock(t);
}

/* Counters whose window is not over, under the lock. */
static apr_uint32_t table_live(const lim_table_t *t)
{
    apr_int64_t now_s = apr_time_sec(apr_time_now());
    apr_uint32_t i, n = 0;
    for (i = 0; i < t->nslots; i++)
        if (t->slots[i].key[0] && t->slots[i].expires > now_s) n++;
    return n;
}

static apr_status_t table_create(lim_shared_t *sh, apr_pool_t *p)
{
    apr_size_t size = sizeof(lim_table_t)
                      + (LIM_SLOTS - 1) * sizeof(lim_slot_t);
    pthread_mutexattr_t a;
    apr_status_t rv = apr_shm_create(&sh->shm, size, NULL, p);

    if (rv != APR_SUCCESS) return rv;
    sh->t = apr_shm_baseaddr_get(sh->shm);
    memset(sh->t, 0, size);
    sh->t->nslots = LIM_SLOTS;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    rv = pthread_mutex_init(&sh->t->mutex, &a);
    pthread_mutexattr_destroy(&a);
    return rv;
}

/* ---- the state file: "key expires value" lines ---- */

static void state_load(lim_table_t *t, const char *path, server_rec *s,
                       apr_pool_t *p)
{
    FILE *f = fopen(path, "r");
    char line[LIM_KEYLEN + 64];
    apr_int64_t now_s = apr_time_sec(apr_time_now());
    int n = 0;

    if (!f) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, LLMP_LOG_TAG
                     "limits: no state file %s yet", path);
        return;
    }
    if (!fgets(line, sizeof(line), f)
        || strncmp(line, LIM_STATE_MAGIC, strlen(LIM_STATE_MAGIC))) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, LLMP_LOG_TAG
                     "limits: %s is not a state file; ignored", path);
        fclose(f);
        return;
    }
    table_lock(t);
    while (fgets(line, sizeof(line), f)) {
        char key[LIM_KEYLEN];
        long long exp, val;
        lim_slot_t *sl;
        if (sscanf(line, "%103s %lld %lld", key, &exp, &val) != 3
            || exp <= now_s || strncmp(key, "llmp:", 5))
            continue;
        sl = table_slot(t, key, exp, now_s);
        sl->value = val;
        n++;
    }
    table_unlock(t);
    fclose(f);
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, LLMP_LOG_TAG
                 "limits: %d counters read from %s", n, path);
}

static apr_status_t state_write(lim_table_t *t, const char *path,
                                apr_pool_t *p)
{
    const char *tmp = apr_psprintf(p, "%s.%" APR_PID_T_FMT, path, getpid());
    apr_int64_t now_s = apr_time_sec(apr_time_now());
    lim_slot_t *copy;
    apr_uint32_t i, n = 0;
    FILE *f;
    int bad;

    /* copy the live counters under the lock, write without it */
    copy = apr_palloc(p, sizeof(lim_slot_t) * t->nslots);
    table_lock(t);
    for (i = 0; i < t->nslots; i++)
        if (t->slots[i].key[0] && t->slots[i].expires > now_s)
            copy[n++] = t->slots[i];
    table_unlock(t);
    f = fopen(tmp, "w");
    if (!f) return APR_FROM_OS_ERROR(errno);
    fprintf(f, "%s\n", LIM_STATE_MAGIC);
    for (i = 0; i < n; i++)
        fprintf(f, "%s %" APR_INT64_T_FMT " %" APR_INT64_T_FMT "\n",
                copy[i].key, copy[i].expires, copy[i].value);
    bad = ferror(f);
    if (fclose(f) || bad) {
        unlink(tmp);
        return APR_EGENERAL;
    }
    if (rename(tmp, path)) {
        apr_status_t rv = APR_FROM_OS_ERROR(errno);
        unlink(tmp);
        return rv;
    }
    return APR_SUCCESS;
}

typedef struct {
    lim_shared_t *sh;
    const char *path;
    server_rec *s;
} lim_state_job_t;

/* pconf cleanup: the parent writes the file at every stop and restart */
static apr_status_t state_at_stop(void *data)
{
    lim_state_job_t *j = data;
    apr_pool_t *p;
    apr_status_t rv;

    if (getpid() != j->sh->parent) return APR_SUCCESS;
    apr_pool_create(&p, NULL);
    rv = state_write(j->sh->t, j->path, p);
    apr_pool_destroy(p);
    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, j->s, LLMP_LOG_TAG
                     "limits: cannot write the state file %s", j->path);
    return APR_SUCCESS;
}

static apr_status_t state_watchdog(int state, void *data, apr_pool_t *pool)
{
    lim_state_job_t *j = data;
    apr_status_t rv = state_write(j->sh->t, j->path, pool);

    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, j->s, LLMP_LOG_TAG
                     "limits: cannot write the state file %s", j->path);
    return APR_SUCCESS;
}

/* ---- Redis ---- */

static void redis_note(lim_table_t *t, const char *err)
{
    table_lock(t);
    if (err) {
        t->redis_failures++;
        t->redis_down = 1;
        t->redis_last_failure = apr_time_now();
        apr_cpystrn(t->redis_error, err, sizeof(t->redis_error));
    }
    else {
        t->redis_down = 0;
    }
    table_unlock(t);
}

/* Charges Redis missed (their connection failed before their replies
 * came): counted in this server, as every charge Redis misses is. A
 * refused request's increment taken back is not (this server did not
 * count the request). */
static void lose_keys(lim_redis_t *rd, int n, const char *const *keys,
                      const apr_int64_t *incs, const apr_time_t *ends)
{
    int i;
    for (i = 0; i < n; i++)
        if (incs[i] > 0 && rd->t)
            table_apply(rd->t, 1, keys + i, incs + i, ends + i, NULL);
}

static void lose(lim_redis_t *rd, const lim_owed_t *o, int n)
{
    int i;
    for (i = 0; i < n; i++) {
        const char *key = o[i].key;
        lose_keys(rd, 1, &key, &o[i].inc, &o[i].end);
    }
}

/* What lc owes with no reply yet, taken out of it: the charges a dead
 * connection may not have delivered (one whose INCRBY was answered is
 * counted and not taken). */
static int take_owed(lim_conn_t *lc, lim_owed_t *to)
{
    int skip = lc->got ? 1 : 0, n = lc->nowed - skip;
    if (n > 0) memcpy(to, lc->owed + skip, n * sizeof(*to));
    lc->nowed = lc->got = 0;
    return n > 0 ? n : 0;
}

static void conn_free(lim_conn_t *lc)
{
    if (!lc) return;
    if (lc->c) redisFree(lc->c);
    free(lc);
}

static int read_owed(lim_conn_t *lc, int nowait);

/* Close a connection that works: the replies it owes are read first (a
 * socket closed with unread data is reset, and Redis could lose a charge
 * it had not read yet); when they do not come, the charges are counted
 * here. */
static void conn_retire(lim_redis_t *rd, lim_conn_t *lc)
{
    lim_owed_t o[LIM_OWED_MAX];

    if (!lc) return;
    if (lc->nowed && read_owed(lc, 0) < 0)
        lose(rd, o, take_owed(lc, o));
    conn_free(lc);
}

/* A connection: an idle one of this child (*reused set), else a new one
 * (unless one failed less than LIM_REDIS_RETRY ago). */
static lim_conn_t *redis_get(lim_redis_t *rd, int fresh, int *reused,
                             const char **err)
{
    lim_conn_t *lc = NULL;
    redisContext *c = NULL;
    struct timeval tv = { 0, LIM_REDIS_TIMEOUT_MS * 1000 };
    apr_time_t now = apr_time_now();

    *reused = 0;
    apr_thread_mutex_lock(rd->mutex);
    if (rd->idle->nelts && !fresh)
        lc = *(lim_conn_t **)apr_array_pop(rd->idle);
    else if (now < rd->retry_at && !fresh) {
        apr_thread_mutex_unlock(rd->mutex);
        *err = "not tried again yet after a failure";
        return NULL;
    }
    apr_thread_mutex_unlock(rd->mutex);
    if (lc) {
        *reused = 1;
        return lc;
    }
    c = redisConnectWithTimeout(rd->host, rd->port, tv);
    if (!c || c->err || redisSetTimeout(c, tv) != REDIS_OK)
        goto fail;
    if (rd->db) {
        redisReply *rep = redisCommand(c, "SELECT %d", rd->db);
        int ok = rep && rep->type == REDIS_REPLY_STATUS;
        if (rep) freeReplyObject(rep);
        if (!ok) goto fail;
    }
    /* (malloc, like the context: connections come and go for the child's
     * life, and its pool would keep each) */
    lc = calloc(1, sizeof(*lc));
    if (!lc) goto fail;
    lc->c = c;
    return lc;
fail:
    /* (a static text: it outlives the context) */
    *err = !c ? "out of memory"
         : c->err == REDIS_ERR_IO ? "cannot connect (I/O error)"
         : c->err == REDIS_ERR_EOF ? "connection closed"
         : !c->err && !lc ? "out of memory"
         : "cannot connect or select the database";
    if (c) redisFree(c);
    apr_thread_mutex_lock(rd->mutex);
    rd->retry_at = apr_time_now() + LIM_REDIS_RETRY;
    apr_thread_mutex_unlock(rd->mutex);
    return NULL;
}

/* Give a connection back; a failed one is closed with every idle one
 * (they lead to the same server; the charges they owe a reply for are
 * counted here), and with retry set no new one is made for
 * LIM_REDIS_RETRY. */
static void redis_put(lim_redis_t *rd, lim_conn_t *lc, int ok, int retry)
{
    lim_owed_t o[LIM_OWED_MAX];

    if (!ok) {
        /* on the stack: nothing is allocated from the child's pool
         * (shared by every thread) however often Redis fails */
        lim_conn_t *drop[LIM_REDIS_IDLE];
        int i, n = 0;
        if (lc) lose(rd, o, take_owed(lc, o));
        conn_free(lc);
        apr_thread_mutex_lock(rd->mutex);
        while (rd->idle->nelts && n < LIM_REDIS_IDLE)
            drop[n++] = *(lim_conn_t **)apr_array_pop(rd->idle);
        if (retry) rd->retry_at = apr_time_now() + LIM_REDIS_RETRY;
        apr_thread_mutex_unlock(rd->mutex);
        for (i = 0; i < n; i++) {
            lose(rd, o, take_owed(drop[i], o));
            conn_free(drop[i]);
        }
        return;
    }
    apr_thread_mutex_lock(rd->mutex);
    /* never beyond the array's first allocation (LIM_REDIS_IDLE) */
    if (rd->idle->nelts < LIM_REDIS_IDLE) {
        APR_ARRAY_PUSH(rd->idle, lim_conn_t *) = lc;
        lc = NULL;
    }
    apr_thread_mutex_unlock(rd->mutex);
    conn_retire(rd, lc);
}

static void append_incr(redisContext *c, const char *key, apr_int64_t inc,
                        apr_time_t end, apr_time_t now)
{
    long long ttl = llmp_limit_retry_after(now, end) + 1;
    redisAppendCommand(c, "INCRBY %s %lld", key, (long long)inc);
    redisAppendCommand(c, "EXPIRE %s %lld", key, ttl);
}

/* Charges on lc, owed a reply (there is room: the caller saw to it). */
static void add_owed(lim_conn_t *lc, const lim_owed_t *o, int n,
                     apr_time_t now)
{
    int i;
    for (i = 0; i < n; i++) {
        append_incr(lc->c, o[i].key, o[i].inc, o[i].end, now);
        lc->owed[lc->nowed++] = o[i];
    }
}

/* One reply of owed[0] came. */
static void owed_reply(lim_conn_t *lc)
{
    if (++lc->got < 2) return;
    lc->got = 0;
    if (--lc->nowed > 0)
        memmove(lc->owed, lc->owed + 1, lc->nowed * sizeof(*lc->owed));
}

/* Read the replies lc owes: wait for them, or (nowait) only take those
 * that came. 0, or -1 when the connection failed or was closed (what has
 * no reply yet stays owed). (An error reply, a key of another type: the
 * charge is lost, nothing else to do.) */
static int read_owed(lim_conn_t *lc, int nowait)
{
    char buf[512];

    while (lc->nowed) {
        void *rep = NULL;
        ssize_t k;

        if (!nowait) {
            if (redisGetReply(lc->c, &rep) != REDIS_OK || !rep) return -1;
            freeReplyObject(rep);
            owed_reply(lc);
            continue;
        }
        if (redisReaderGetReply(lc->c->reader, &rep) != REDIS_OK)
            return -1;
        if (rep) {
            freeReplyObject(rep);
            owed_reply(lc);
            continue;
        }
        k = recv(lc->c->fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (k > 0) {
            if (redisReaderFeed(lc->c->reader, buf, (size_t)k) != REDIS_OK)
                return -1;
            continue;
        }
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK
                      || errno == EINTR))
            return 0;
        return -1;                 /* closed (0), or an error */
    }
    return 0;
}

/* -1 when the server has closed an idle connection (or sent what nobody
 * asked for), without waiting */
static int conn_closed(lim_conn_t *lc)
{
    char b;
    ssize_t k = recv(lc->c->fd, &b, 1, MSG_DONTWAIT | MSG_PEEK);
    return k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK
                     || errno == EINTR) ? 0 : -1;
}

static const char *conn_error(const redisContext *c)
{
    return c->err == REDIS_ERR_IO && errno == EAGAIN ? "timeout"
         : c->err == REDIS_ERR_EOF ? "connection closed"
         : c->err ? "connection failed (I/O error)"
         : "unexpected reply";
}

/* The same as table_apply, in one pipelined round trip: INCRBY and EXPIRE
 * for a key to add to, GET for one only read, after which the connection
 * reads the replies it owes for earlier charges (they come first). NULL,
 * or why it failed. */
static const char *redis_apply(lim_redis_t *rd, int n,
                               const char *const *keys,
                               const apr_int64_t *incs,
                               const apr_time_t *ends, apr_int64_t *vals)
{
    const char *err = NULL;
    apr_time_t now = apr_time_now();
    lim_owed_t carry[LIM_OWED_MAX];
    int i, ok, reused, attempt = 0, ncarry = 0, own;
    lim_conn_t *lc;

again:
    lc = redis_get(rd, attempt, &reused, &err);
    if (!lc) {
        lose(rd, carry, ncarry);
        return err;
    }
    /* what a dead connection owed, first, on this new one */
    add_owed(lc, carry, ncarry, now);
    ncarry = 0;
    for (i = 0; i < n; i++) {
        if (incs[i])
            append_incr(lc->c, keys[i], incs[i], ends[i], now);
        else
            redisAppendCommand(lc->c, "GET %s", keys[i]);
    }
    own = 0;
    ok = read_owed(lc, 0) == 0;
    for (i = 0; ok && i < n; i++) {
        redisReply *rep = NULL;
        if (redisGetReply(lc->c, (void **)&rep) != REDIS_OK || !rep) {
            ok = 0;
            break;
        }
        own = 1;
        if (incs[i]) {
            if (rep->type != REDIS_REPLY_INTEGER) ok = 0;
            else if (vals) vals[i] = rep->integer;
            freeReplyObject(rep);
            rep = NULL;
            if (ok && (redisGetReply(lc->c, (void **)&rep) != REDIS_OK
                       || !rep))
                ok = 0;
            if (rep) freeReplyObject(rep);
        }
        else {
            if (rep->type == REDIS_REPLY_NIL) { if (vals) vals[i] = 0; }
            else if (rep->type == REDIS_REPLY_STRING) {
                if (vals) vals[i] = apr_atoi64(rep->str);
            }
            else ok = 0;
            freeReplyObject(rep);
        }
    }
    if (!ok && reused && lc->c->err && !own && !attempt++) {
        /* an idle connection the server closed (a restart): once more on
         * a new one (none of this call's commands was answered, so none
         * was counted), with the charges it had no reply for */
        ncarry = take_owed(lc, carry);
        redis_put(rd, lc, 0, 0);
        goto again;
    }
    if (!ok) err = conn_error(lc->c);
    redis_put(rd, lc, ok, 1);
    return ok ? NULL : err;
}

/* A charge: INCRBY and EXPIRE of each key, written without waiting for
 * the replies (see LIM_OWED_MAX). NULL, or why it failed (then the charge,
 * and what the connection owed, are counted here). */
static const char *redis_charge(lim_redis_t *rd, int n,
                                const char *const *keys,
                                const apr_int64_t *incs,
                                const apr_time_t *ends)
{
    const char *err = NULL;
    apr_time_t now = apr_time_now();
    lim_owed_t carry[LIM_OWED_MAX];
    int i, m = 0, reused, attempt = 0, ncarry = 0, done = 0;
    lim_conn_t *lc;

    for (i = 0; i < n; i++) {
        if (strlen(keys[i]) >= LIM_KEYLEN) break;
        if (incs[i]) m++;
    }
    if (m > LIM_OWED_MAX || i < n) {
        /* (too much to keep: applied, and waited for) */
        err = redis_apply(rd, n, keys, incs, ends, NULL);
        if (err) lose_keys(rd, n, keys, incs, ends);
        return err;
    }
again:
    lc = redis_get(rd, attempt, &reused, &err);
    if (!lc) {
        lose(rd, carry, ncarry);
        lose_keys(rd, n, keys, incs, ends);
        return err;
    }
    add_owed(lc, carry, ncarry, now);
    ncarry = 0;
    /* the replies that came for earlier charges; a connection the server
     * has closed (a restart) is seen here, before a charge is lost on it */
    if ((lc->nowed ? read_owed(lc, 1) : conn_closed(lc)) < 0) {
        if (reused && !attempt++) {
            ncarry = take_owed(lc, carry);
            redis_put(rd, lc, 0, 0);
            goto again;
        }
        goto failed;
    }
    /* no room: wait for the rest */
    if (lc->nowed + m > LIM_OWED_MAX && read_owed(lc, 0) < 0)
        goto failed;
    for (i = 0; i < n; i++) {
        lim_owed_t o;
        if (!incs[i]) continue;
        apr_cpystrn(o.key, keys[i], sizeof(o.key));
        o.inc = incs[i];
        o.end = ends[i];
        add_owed(lc, &o, 1, now);
    }
    while (!done)
        if (redisBufferWrite(lc->c, &done) != REDIS_OK) {
            err = conn_error(lc->c);
            redis_put(rd, lc, 0, 1);   /* (counts the charge here) */
            return err;
        }
    redis_put(rd, lc, 1, 1);
    return NULL;
failed:
    err = lc->c->err ? conn_error(lc->c) : "connection closed";
    lose_keys(rd, n, keys, incs, ends);
    redis_put(rd, lc, 0, 1);
    return err;
}

/* ---- check and charge ---- */

static const struct llmp_limits_dconf *dconf_of(request_rec *r)
{
    llmp_dir_conf_t *dc = ap_get_module_config(r->per_dir_config,
                                               &llmproxy_module);
    return dc ? dc->limits : NULL;
}

/* httpd evaluates <If> sections before authentication: a condition on
 * %{REMOTE_USER} (Basic, a key) is false then. Once the user is known,
 * evaluate them again for the limits alone (nested ones too) and merge
 * the limits of those that hold over the location's. */
static apr_array_header_t *limits_of_ifs(request_rec *r,
                                         ap_conf_vector_t *dir,
                                         apr_array_header_t *lims,
                                         int depth)
{
    core_dir_config *cd = ap_get_core_module_config(dir);
    ap_conf_vector_t **sec;
    int i, prev = -1;

    if (!cd || !cd->sec_if || depth > 8) return lims;
    sec = (ap_conf_vector_t **)cd->sec_if->elts;
    for (i = 0; i < cd->sec_if->nelts; i++) {
        core_dir_config *ec = ap_get_core_module_config(sec[i]);
        llmp_dir_conf_t *d;
        const char *err = NULL;

        if (!ec) continue;
        if ((ec->condition_ifelse & AP_CONDITION_ELSE) && prev == 1)
            continue;
        if (ec->condition_ifelse & AP_CONDITION_IF) {
            int rc = ap_expr_exec(r, ec->condition, &err);
            if (rc <= 0) {
                prev = 0;
                continue;
            }
            prev = 1;
        }
        else {
            prev = -1;
        }
        d = ap_get_module_config(sec[i], &llmproxy_module);
        if (d && d->limits && d->limits->limits)
            lims = llmp_limits_merge(r->pool, lims, d->limits->limits);
        lims = limits_of_ifs(r, sec[i], lims, depth + 1);
    }
    return lims;
}

static const char *scope_value(request_rec *r, const llmp_limit_t *l,
                               const llmp_model_t *model)
{
    switch (l->scope) {
    case LLMP_SCOPE_USER:
        return r->user && *r->user ? r->user
             : r->useragent_ip ? r->useragent_ip : "-";
    case LLMP_SCOPE_MODEL:
        return model && model->id ? model->id : "-";
    default:
        return "";
    }
}

/* Apply to the server's store: Redis, else (no Redis, or it failed and
 * local is set) the table; *failed set when Redis failed. Without vals, a
 * charge: pipelined (redis_charge), and counted in this server when Redis
 * misses it, whatever local says. */
static void store_apply(request_rec *r, lim_main_t *m, lim_redis_t *rd,
                        int n, const char *const *keys,
                        const apr_int64_t *incs, const apr_time_t *ends,
                        apr_int64_t *vals, int local, int *failed)
{
    *failed = 0;
    if (rd) {
        const char *err = vals ? redis_apply(rd, n, keys, incs, ends, vals)
                               : redis_charge(rd, n, keys, incs, ends);
        if (!err) {
            if (apr_atomic_read32(&m->sh->t->redis_down)) {
                redis_note(m->sh->t, NULL);
                ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, r, LLMP_LOG_TAG
                              "limits: Redis %s answers again", rd->url);
            }
            return;
        }
        *failed = 1;
        /* once when it goes away, then at debug level */
        ap_log_rerror(APLOG_MARK, apr_atomic_read32(&m->sh->t->redis_down)
                      ? APLOG_DEBUG
                      : APLOG_ERR, 0, r, LLMP_LOG_TAG
                      "limits: Redis %s: %s; %s", rd->url, err,
                      llmp_sconf(r->server)->limits->closed > 0
                      ? "refusing calls (LLMProxyLimitStoreFailure closed)"
                      : "counting in this server");
        redis_note(m->sh->t, apr_psprintf(r->pool, "%s: %s", rd->url, err));
        if (!local || !vals) return;
    }
    table_apply(m->sh->t, n, keys, incs, ends, vals);
}

static void set_headers(request_rec *r, const llmp_limit_state_t *st,
                        int n, apr_time_t now)
{
    int messages = llmp_req_conf(r)->front == &llmp_front_messages;
    static const char *const kinds[] = { "requests", "tokens" };
    int k;

    for (k = 0; k < 2; k++) {
        int i = llmp_limits_tightest(st, n, k);
        const char *lim, *rem;
        if (i < 0) continue;
        lim = apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                           st[i].limit->amount);
        rem = apr_psprintf(r->pool, "%" APR_INT64_T_FMT,
                           llmp_limit_remaining(&st[i]));
        apr_table_setn(r->err_headers_out,
                       apr_pstrcat(r->pool, "x-ratelimit-limit-", kinds[k],
                                   NULL), lim);
        apr_table_setn(r->err_headers_out,
                       apr_pstrcat(r->pool, "x-ratelimit-remaining-",
                                   kinds[k], NULL), rem);
        apr_table_setn(r->err_headers_out,
                       apr_pstrcat(r->pool, "x-ratelimit-reset-", kinds[k],
                                   NULL),
                       llmp_limit_reset_text(r->pool, st[i].end - now));
        if (messages) {
            const char *pre = apr_pstrcat(r->pool, "anthropic-ratelimit-",
                                          kinds[k], "-", NULL);
            apr_table_setn(r->err_headers_out,
                           apr_pstrcat(r->pool, pre, "limit", NULL), lim);
            apr_table_setn(r->err_headers_out,
                           apr_pstrcat(r->pool, pre, "remaining", NULL), rem);
            apr_table_setn(r->err_headers_out,
                           apr_pstrcat(r->pool, pre, "reset", NULL),
                           llmp_limit_rfc3339(r->pool, st[i].end));
        }
    }
}

static const char *amount_text(apr_pool_t *p, const llmp_limit_t *l)
{
    if (l->what == LLMP_LIMIT_COST)
        return llmp_usage_cost_text(p, l->amount / LLMP_LIMIT_COST_UNIT);
    return apr_psprintf(p, "%" APR_INT64_T_FMT, l->amount);
}

int llmp_limits_check(request_rec *r, const llmp_model_t *model)
{
    const struct llmp_limits_dconf *dc = dconf_of(r);
    struct llmp_limits_sconf *sc = llmp_sconf(r->server)->limits;
    lim_main_t *m = main_of();
    apr_time_t now = apr_time_now();
    lim_req_t *q;
    apr_time_t *ends;
    apr_int64_t *incs, *vals;
    apr_array_header_t *lims;
    int i, n, bad, failed;

    if (!dc || !m || !m->sh) return DECLINED;
    /* a request is counted once: a retry on another member of a pool or
     * a fallback (mod_llmproxy_pool.c calls llmp_io_proxy again) was
     * already checked */
    q = NULL;
    apr_pool_userdata_get((void **)&q, LIM_REQ_KEY, r->pool);
    if (q) return DECLINED;
    lims = dc->limits;
    if (r->user)
        lims = limits_of_ifs(r, r->per_dir_config, lims, 0);
    if (!lims || !lims->nelts) return DECLINED;
    n = lims->nelts;
    q = apr_pcalloc(r->pool, sizeof(*q));
    q->n = n;
    q->st = apr_pcalloc(r->pool, n * sizeof(*q->st));
    q->keys = apr_pcalloc(r->pool, n * sizeof(*q->keys));
    q->redis = sc->redis;
    ends = apr_pcalloc(r->pool, n * sizeof(*ends));
    incs = apr_pcalloc(r->pool, n * sizeof(*incs));
    vals = apr_pcalloc(r->pool, n * sizeof(*vals));
    for (i = 0; i < n; i++) {
        const llmp_limit_t *l = &APR_ARRAY_IDX(lims, i, llmp_limit_t);
        apr_time_t start;
        llmp_limit_window(l->period, now, &start, &ends[i]);
        q->keys[i] = llmp_limit_key(r->pool, l, scope_value(r, l, model),
                                    start);
        incs[i] = l->what == LLMP_LIMIT_REQUESTS;
        q->st[i].limit = l;
        q->st[i].inc = incs[i];
        q->st[i].end = ends[i];
    }
    store_apply(r, m, sc->redis, n, q->keys, incs, ends, vals,
                sc->closed <= 0, &failed);
    if (failed && sc->closed > 0) {
        /* closed: refuse */
        apr_table_setn(r->err_headers_out, "Retry-After", "1");
        return llmp_io_send_error(r, llmp_error_make(r->pool, 503,
            "api_error", "limit_store_unavailable", NULL,
            "the rate limit store is unavailable; try again later"));
    }
    for (i = 0; i < n; i++) q->st[i].value = vals[i];
    bad = llmp_limits_decide(q->st, n);
    if (bad < 0) {
        set_headers(r, q->st, n, now);
        apr_pool_userdata_setn(q, LIM_REQ_KEY, NULL, r->pool);
        return DECLINED;
    }
    {
        const llmp_limit_t *l = q->st[bad].limit;
        apr_int64_t after = llmp_limits_retry_after(q->st, n, now);
        int cost = l->what == LLMP_LIMIT_COST;

        /* a refused request does not count: take its increments back */
        for (i = 0; i < n; i++) incs[i] = -incs[i];
        if (!failed && sc->redis) {
            int again;
            store_apply(r, m, sc->redis, n, q->keys, incs, ends, NULL, 0,
                        &again);
        }
        else {
            table_apply(m->sh->t, n, q->keys, incs, ends, NULL);
        }
        for (i = 0; i < n; i++) {
            q->st[i].value += incs[i];
            q->st[i].inc = 0;
        }
        set_headers(r, q->st, n, now);
        apr_table_setn(r->err_headers_out, "Retry-After",
                       apr_psprintf(r->pool, "%" APR_INT64_T_FMT, after));
        apr_atomic_inc32(&m->sh->t->refusals);
        apr_table_setn(r->notes, "llmproxy-limit",
                       apr_psprintf(r->pool, "%s/%s/%s",
                                    llmp_limit_what_name(l->what),
                                    llmp_limit_period_name(l->period),
                                    llmp_limit_scope_name(l->scope)));
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, LLMP_LOG_TAG
                      "limits: refused (%s %s per %s per %s), retry after %"
                      APR_INT64_T_FMT " s", llmp_limit_what_name(l->what),
                      amount_text(r->pool, l),
                      llmp_limit_period_name(l->period),
                      llmp_limit_scope_name(l->scope), after);
        if (cost)
            return llmp_io_send_error(r, llmp_error_make(r->pool, 429,
                "insufficient_quota", "insufficient_quota", NULL,
                "You exceeded your budget of %s per %s (per %s). Retry "
                "after %" APR_INT64_T_FMT " s.", amount_text(r->pool, l),
                llmp_limit_period_name(l->period),
                llmp_limit_scope_name(l->scope), after));
        return llmp_io_send_error(r, llmp_error_make(r->pool, 429,
            "rate_limit_exceeded", "rate_limit_exceeded", NULL,
            "Rate limit reached for %s: %s per %s (per %s). Retry after %"
            APR_INT64_T_FMT " s.", llmp_limit_what_name(l->what),
            amount_text(r->pool, l), llmp_limit_period_name(l->period),
            llmp_limit_scope_name(l->scope), after));
    }
}

void llmp_limits_charge(request_rec *r, const llmp_usage_t *u)
{
    lim_req_t *q = NULL;
    lim_main_t *m = main_of();
    const char **keys;
    apr_int64_t *incs;
    apr_time_t *ends;
    int i, n = 0, failed;

    apr_pool_userdata_get((void **)&q, LIM_REQ_KEY, r->pool);
    if (!q || !m || !m->sh || !u) return;
    keys = apr_pcalloc(r->pool, q->n * sizeof(*keys));
    incs = apr_pcalloc(r->pool, q->n * sizeof(*incs));
    ends = apr_pcalloc(r->pool, q->n * sizeof(*ends));
    for (i = 0; i < q->n; i++) {
        const llmp_limit_t *l = q->st[i].limit;
        apr_int64_t v = 0;
        if (l->what == LLMP_LIMIT_TOKENS && u->has_tokens)
            v = u->prompt_tokens + u->completion_tokens;
        else if (l->what == LLMP_LIMIT_COST && u->cost > 0)
            v = (apr_int64_t)(u->cost * LLMP_LIMIT_COST_UNIT + 0.5);
        if (v <= 0) continue;
        keys[n] = q->keys[i];
        incs[n] = v;
        ends[n] = q->st[i].end;
        n++;
    }
    /* (a charge Redis misses is counted here, whatever the policy) */
    if (n)
        store_apply(r, m, q->redis, n, keys, incs, ends, NULL, 1, &failed);
}

/* ---- /health and mod_status ---- */

void llmp_limits_health(request_rec *r, cJSON *j)
{
    struct llmp_limits_sconf *sc = llmp_sconf(r->server)->limits;
    lim_main_t *m = main_of();
    lim_table_t *t;
    cJSON *o;
    int down;

    if (!sc->used || !m || !m->sh) return;
    t = m->sh->t;
    o = cJSON_AddObjectToObject(j, "limits");
    cJSON_AddStringToObject(o, "store", sc->redis ? "redis" : "shm");
    table_lock(t);
    down = sc->redis && t->redis_down;
    cJSON_AddStringToObject(o, "state", down ? "unreachable" : "ok");
    if (sc->redis) {
        cJSON_AddStringToObject(o, "failure_policy",
                                sc->closed > 0 ? "closed" : "open");
        cJSON_AddNumberToObject(o, "store_failures", t->redis_failures);
        if (t->redis_error[0])
            cJSON_AddStringToObject(o, "last_error", t->redis_error);
    }
    cJSON_AddNumberToObject(o, "refusals", t->refusals);
    cJSON_AddNumberToObject(o, "shm_slots_used", table_live(t));
    cJSON_AddNumberToObject(o, "shm_slots", t->nslots);
    table_unlock(t);
}

static int limits_status_hook(request_rec *r, int flags)
{
    lim_main_t *m = main_of();
    lim_table_t *t;
    apr_uint32_t used, nslots, ev, ref, fails, down;
    char err[sizeof(((lim_table_t *)0)->redis_error)];

    if (!m || !m->sh || !llmp_sconf(ap_server_conf)->limits) return OK;
    t = m->sh->t;
    table_lock(t);
    used = table_live(t); nslots = t->nslots; ev = t->evictions;
    ref = t->refusals; fails = t->redis_failures; down = t->redis_down;
    apr_cpystrn(err, t->redis_error, sizeof(err));
    table_unlock(t);
    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(r, "LLMProxyLimitRefusals: %u\nLLMProxyLimitSlotsUsed: "
                   "%u\nLLMProxyLimitStoreFailures: %u\n"
                   "LLMProxyLimitStoreDown: %u\n", ref, used, fails, down);
        return OK;
    }
    ap_rprintf(r, "<h3>mod_llmproxy limits</h3>\n<table border=\"1\">"
               "<tr><th>refusals</th><th>shm slots used</th><th>evictions"
               "</th><th>Redis failures</th><th>Redis</th><th>last Redis "
               "error</th></tr>\n<tr><td>%u</td><td>%u / %u</td><td>%u</td>"
               "<td>%u</td><td>%s</td><td>%s</td></tr>\n</table>\n", ref,
               used, nslots, ev, fails, down ? "unreachable" : "ok",
               ap_escape_html(r->pool, err));
    return OK;
}

/* ---- hooks ---- */

static apr_status_t redis_close_all(void *data)
{
    lim_redis_t *rd = data;
    while (rd->idle->nelts)
        conn_retire(rd, *(lim_conn_t **)apr_array_pop(rd->idle));
    return APR_SUCCESS;
}

static int limits_post_config(apr_pool_t *pconf, apr_pool_t *plog,
                              apr_pool_t *ptemp, server_rec *s)
{
    apr_pool_t *pproc = s->process->pool;
    struct llmp_limits_sconf *mc = llmp_sconf(s)->limits;
    lim_main_t *m = NULL;
    lim_shared_t *sh = NULL;
    apr_hash_t *byurl = apr_hash_make(ptemp);
    server_rec *v;
    apr_status_t rv;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return OK;
    /* the table is the parent's: created once, kept across restarts */
    apr_pool_userdata_get((void **)&sh, LIM_SHM_KEY, pproc);
    if (!sh) {
        sh = apr_pcalloc(pproc, sizeof(*sh));
        rv = table_create(sh, pproc);
        if (rv != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, LLMP_LOG_TAG
                         "limits: cannot create the shared table of "
                         "counters");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
        sh->parent = getpid();
        apr_pool_userdata_set(sh, LIM_SHM_KEY, apr_pool_cleanup_null, pproc);
        if (mc->state_file) state_load(sh->t, mc->state_file, s, ptemp);
    }
    m = apr_pcalloc(pconf, sizeof(*m));
    m->sh = sh;
    m->redis = apr_array_make(pconf, 2, sizeof(lim_redis_t *));
    for (v = s; v; v = v->next) {
        struct llmp_limits_sconf *c = llmp_sconf(v)->limits;
        lim_redis_t *rd;
        c->redis = NULL;
        if (!c->store || !strcasecmp(c->store, "shm")) continue;
        rd = apr_hash_get(byurl, c->store, APR_HASH_KEY_STRING);
        if (!rd) {
            if (redis_parse(pconf, c->store, &rd)) continue;
            apr_hash_set(byurl, c->store, APR_HASH_KEY_STRING, rd);
            APR_ARRAY_PUSH(m->redis, lim_redis_t *) = rd;
        }
        c->redis = rd;
    }
    mc->main = m;
    if (mc->state_file) {
        lim_state_job_t *j = apr_pcalloc(pconf, sizeof(*j));
        APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *wd_get =
            APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
        APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *wd_reg =
            APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
        ap_watchdog_t *wd;

        j->sh = sh;
        j->path = mc->state_file;
        j->s = s;
        apr_pool_cleanup_register(pconf, j, state_at_stop,
                                  apr_pool_cleanup_null);
        if (!wd_get || !wd_reg
            || (rv = wd_get(&wd, LIM_WD_NAME, 0, 1, pconf)) != APR_SUCCESS
            || (rv = wd_reg(wd, LIM_WD_INTERVAL, j, state_watchdog))
               != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, LLMP_LOG_TAG
                         "limits: cannot set up the watchdog that writes "
                         "LLMProxyLimitStateFile");
            return HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    return OK;
}

static void limits_child_init(apr_pool_t *pchild, server_rec *s)
{
    lim_main_t *m = main_of();
    int i;

    if (!m) return;
    for (i = 0; i < m->redis->nelts; i++) {
        lim_redis_t *rd = APR_ARRAY_IDX(m->redis, i, lim_redis_t *);
        if (apr_thread_mutex_create(&rd->mutex, APR_THREAD_MUTEX_DEFAULT,
                                    pchild) != APR_SUCCESS)
            llmp_store_child_fatal(s, APR_ENOMEM, "create the limits' "
                                   "Redis mutex");
        rd->idle = apr_array_make(pchild, LIM_REDIS_IDLE,
                                  sizeof(lim_conn_t *));
        rd->retry_at = 0;
        rd->t = m->sh ? m->sh->t : NULL;
        apr_pool_cleanup_register(pchild, rd, redis_close_all,
                                  apr_pool_cleanup_null);
    }
}

void llmp_limits_register_hooks(apr_pool_t *p)
{
    (void)p;
    ap_hook_post_config(limits_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(limits_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, limits_status_hook, NULL, NULL,
                      APR_HOOK_LAST);
}
