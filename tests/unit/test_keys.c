/* The API key file (src/llmp_keys.c): parsing, lookups, the key a client
 * sent, new keys, revocation. */
#include "llmp_test.h"
#include <apr_lib.h>
#include "llmp_keys.h"

static const char *hex_of(apr_pool_t *p, const char *key)
{
    unsigned char d[LLMP_KEYS_DIGEST_LEN];
    char *hex = apr_palloc(p, 2 * LLMP_KEYS_DIGEST_LEN + 1);

    if (!llmp_keys_digest(key, strlen(key), d)) return NULL;
    llmp_keys_hex(d, sizeof(d), hex);
    return hex;
}

static void t_digest(apr_pool_t *p)
{
    /* sha256("abc") */
    CHECK_STR(hex_of(p, "abc"), "ba7816bf8f01cfea414140de5dae2223"
              "b00361a396177a9cb410ff61f20015ad");
}

static void t_parse(apr_pool_t *p)
{
    const char *a = hex_of(p, "key-of-alice"), *b = hex_of(p, "key-of-bob");
    const char *b2 = hex_of(p, "second-key-of-bob");
    char *up = apr_pstrdup(p, b2), *c;
    const char *text, *why;
    llmp_keys_t *k;
    const llmp_key_entry_t *e;

    for (c = up; *c; c++) *c = (char)apr_toupper(*c);
    text = apr_pstrcat(p, "# keys\n\n   \t\n", "alice ", a, " laptop, 2026\r\n",
                       "  bob\t", b, "\n", "bob ", up, "  \n",
                       "# bob again, same key: fine\n", "bob ", b, " dup",
                       NULL);
    why = llmp_keys_parse(p, text, strlen(text), &k);
    CHECK(why == NULL);
    if (!k) return;
    CHECK_INT(k->entries->nelts, 3);
    e = llmp_keys_lookup(k, "key-of-alice", 12);
    CHECK(e && !strcmp(e->user, "alice"));
    CHECK(e && e->comment && !strcmp(e->comment, "laptop, 2026"));
    CHECK(e && e->line == 4);
    e = llmp_keys_lookup(k, "key-of-bob", 10);
    CHECK(e && !strcmp(e->user, "bob") && !e->comment);
    e = llmp_keys_lookup(k, "second-key-of-bob", 17);
    CHECK(e && !strcmp(e->user, "bob"));
    CHECK(llmp_keys_lookup(k, "key-of-alicE", 12) == NULL);
    CHECK(llmp_keys_lookup(k, "key-of-alice", 11) == NULL);
    CHECK(llmp_keys_lookup(k, "", 0) == NULL);
    /* the hash itself is not a key */
    CHECK(llmp_keys_lookup(k, a, strlen(a)) == NULL);
    CHECK(llmp_keys_lookup(NULL, "key-of-alice", 12) == NULL);

    /* an empty file: no key, not an error */
    CHECK(llmp_keys_parse(p, "", 0, &k) == NULL && k && !k->entries->nelts);
    CHECK(llmp_keys_parse(p, "# none\n", 7, &k) == NULL && k
          && !k->entries->nelts);
}

#define REFUSED(p, text, expect) \
    do { const char *t_ = (text); check_refused(p, t_, strlen(t_), expect); } \
    while (0)

static void check_refused(apr_pool_t *p, const char *text, apr_size_t len,
                          const char *expect)
{
    llmp_keys_t *k = (llmp_keys_t *)1;
    const char *why = llmp_keys_parse(p, text, len, &k);

    CHECK(why != NULL);
    CHECK(k == NULL);
    if (why && !strstr(why, expect)) {
        CHECK_STR(why, expect);
    }
    /* the error never shows the line (a key pasted by mistake) */
    if (why) CHECK(!strstr(why, "sk-llmp-"));
}

static void t_refused(apr_pool_t *p)
{
    const char *a = hex_of(p, "key-of-alice");
    char nul[80];

    REFUSED(p, "alice sk-llmp-pasted-by-mistake\n",
            "line 1: the key hash is not 64 hex digits");
    REFUSED(p, apr_pstrcat(p, "# x\nalice ", a, "0\n", NULL),
            "line 2: the key hash is not 64 hex");
    {
        char *bad = apr_pstrcat(p, "alice ", a, "\n", NULL);
        bad[6 + 10] = 'g';
        REFUSED(p, bad, "line 1: the key hash is not");
    }
    REFUSED(p, "alice\n", "line 1: no key hash");
    REFUSED(p, apr_pstrcat(p, "al\x01ice ", a, "\n", NULL),
            "line 1: a control character");
    REFUSED(p, apr_pstrcat(p, "alice ", a, " bell\x07\n", NULL),
            "line 1: a control character");
    /* the same key for two users: whose would it be? */
    REFUSED(p, apr_pstrcat(p, "alice ", a, "\n\nbob ", a, "\n", NULL),
            "line 3: the same key as line 1");
    memset(nul, 0, sizeof(nul));
    memcpy(nul, "alice ", 6);
    memcpy(nul + 6, a, 64);
    nul[70] = '\n';
    check_refused(p, nul, 75, "NUL byte");
    {
        char *longuser = apr_palloc(p, 300);
        memset(longuser, 'u', 299);
        longuser[299] = '\0';
        REFUSED(p, apr_pstrcat(p, longuser, " ", a, NULL),
                "line 1: the user name is too long");
    }
}

static void t_headers(apr_pool_t *p)
{
    apr_size_t n;
    const char *k;

    k = llmp_keys_from_headers("Bearer sk-llmp-abc", NULL, &n);
    CHECK(k && n == 11 && !strncmp(k, "sk-llmp-abc", n));
    k = llmp_keys_from_headers("  bearer   sk-llmp-abc  ", "other", &n);
    CHECK(k && n == 11 && !strncmp(k, "sk-llmp-abc", n));
    /* Basic or anything else: x-api-key */
    k = llmp_keys_from_headers("Basic YWxpY2U6cHc=", " sk-x ", &n);
    CHECK(k && n == 4 && !strncmp(k, "sk-x", n));
    k = llmp_keys_from_headers("Basic YWxpY2U6cHc=", NULL, &n);
    CHECK(k == NULL && n == 0);
    k = llmp_keys_from_headers("Bearer   ", NULL, &n);
    CHECK(k == NULL);
    k = llmp_keys_from_headers("Bearersk-llmp-abc", NULL, &n);
    CHECK(k == NULL);
    k = llmp_keys_from_headers(NULL, "sk-llmp-abc", &n);
    CHECK(k && n == 11);
    k = llmp_keys_from_headers(NULL, "   ", &n);
    CHECK(k == NULL);
    k = llmp_keys_from_headers(NULL, NULL, &n);
    CHECK(k == NULL);
    (void)p;
}

static void t_names(apr_pool_t *p)
{
    CHECK(llmp_keys_user_valid("alice"));
    CHECK(llmp_keys_user_valid("alice@example.com"));
    CHECK(llmp_keys_user_valid("\xc3\xa9lise"));
    CHECK(!llmp_keys_user_valid(""));
    CHECK(!llmp_keys_user_valid(NULL));
    CHECK(!llmp_keys_user_valid("a b"));
    CHECK(!llmp_keys_user_valid("a\tb"));
    CHECK(!llmp_keys_user_valid("a\nb"));
    CHECK(!llmp_keys_user_valid("a\x7f"));
    CHECK(!llmp_keys_user_valid("#alice"));
    CHECK(llmp_keys_comment_valid("laptop key\tof alice"));
    CHECK(llmp_keys_comment_valid(NULL));
    CHECK(!llmp_keys_comment_valid("two\nlines"));
    (void)p;
}

static void t_generate(apr_pool_t *p)
{
    char *k1 = llmp_keys_generate(p, 32), *k2 = llmp_keys_generate(p, 32);
    const char *c;
    llmp_keys_t *k;
    const char *text;

    CHECK(k1 && k2 && strcmp(k1, k2));
    if (!k1 || !k2) return;
    CHECK(!strncmp(k1, LLMP_KEYS_PREFIX, 8));
    CHECK_INT(strlen(k1), 8 + 43);
    for (c = k1 + 8; *c; c++)
        CHECK(apr_isalnum(*c) || *c == '-' || *c == '_');
    CHECK(llmp_keys_generate(p, 8) == NULL);   /* under 128 bits */
    CHECK_INT(strlen(llmp_keys_generate(p, 16)), 8 + 22);
    text = apr_pstrcat(p, "alice ", hex_of(p, k1), "\n", NULL);
    CHECK(llmp_keys_parse(p, text, strlen(text), &k) == NULL);
    CHECK(llmp_keys_lookup(k, k1, strlen(k1)) != NULL);
    CHECK(llmp_keys_lookup(k, k2, strlen(k2)) == NULL);
}

static void t_remove(apr_pool_t *p)
{
    const char *text = "# keys\nalice aa c1\nalicex bb\n  alice\tcc\nbob dd\n"
                       "#alice ee\nalice";
    char *out;
    apr_size_t n;

    CHECK_INT(llmp_keys_remove_user(p, text, strlen(text), "alice", &out, &n),
              3);
    CHECK_STR(out, "# keys\nalicex bb\nbob dd\n#alice ee\n");
    CHECK_INT(n, strlen(out));
    CHECK_INT(llmp_keys_remove_user(p, text, strlen(text), "carol", &out, &n),
              0);
    CHECK_STR(out, text);
    CHECK_INT(llmp_keys_remove_user(p, "bob dd\r\nbob\r\n", 13, "bob", &out,
                                    &n), 2);
    CHECK_STR(out, "");
}

TEST_MAIN_BEGIN("keys")
    RUN(t_digest);
    RUN(t_parse);
    RUN(t_refused);
    RUN(t_headers);
    RUN(t_names);
    RUN(t_generate);
    RUN(t_remove);
TEST_MAIN_END
