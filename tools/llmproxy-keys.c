/* llmproxy-keys: add, revoke and list the API keys of mod_llmproxy's
 * LLMProxyKeyFile (AuthType llmproxy-key). The file holds only SHA-256
 * hashes: a new key is shown once, on the last line of "add"'s output.
 * Every change writes a temporary file in the same directory, syncs it and
 * renames it over the file (keeping its mode and, when allowed, its owner),
 * so that httpd reads either the old file or the new one, never half. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "llmp_keys.h"

#define KEY_BYTES 32                       /* 256 bits */

static const char *prog = "llmproxy-keys";

static void usage(FILE *to)
{
    fprintf(to,
"Usage: %s add FILE USER [COMMENT]\n"
"       %s revoke FILE USER\n"
"       %s list FILE\n"
"\n"
"Manage the API keys of mod_llmproxy (LLMProxyKeyFile, AuthType llmproxy-key).\n"
"\n"
"  add      make a new random key (256 bits) for USER and append its SHA-256\n"
"           to FILE (created when missing); the key is printed once, as the\n"
"           last line on standard output, and is stored nowhere\n"
"  revoke   remove every key of USER from FILE (exit status 1 when USER\n"
"           has none)\n"
"  list     show the users, the first 8 hex digits of each key's hash and\n"
"           the comments\n"
"\n"
"USER: no blank, no control character, not starting with '#'. httpd reads\n"
"FILE again when it changes: no restart is needed. Changes are atomic\n"
"(temporary file in the same directory, then rename).\n", prog, prog, prog);
}

/* Open path and take its lock: the file's descriptor, with its stat in
 * *st, or -1 (errno). Changes are serialized by an flock() of the file
 * itself: a change replaces the file, so the lock taken on a file that was
 * replaced meanwhile is dropped and taken again on the new one. create: a
 * missing file is created empty (mode 0644 less the umask). */
static int lock_file(const char *path, int create, struct stat *st)
{
    for (;;) {
        struct stat now;
        int fd = open(path, O_RDONLY | (create ? O_CREAT : 0), 0644);

        if (fd < 0) return -1;
        if (flock(fd, LOCK_EX) < 0 || fstat(fd, st) < 0) {
            int e = errno;
            close(fd);
            errno = e;
            return -1;
        }
        if (stat(path, &now) == 0 && now.st_ino == st->st_ino
            && now.st_dev == st->st_dev)
            return fd;
        close(fd);
    }
}

/* The text of the locked file fd (NULL: errno). */
static char *read_file(apr_pool_t *p, int fd, const struct stat *st,
                       apr_size_t *len)
{
    char *buf;
    apr_size_t n = 0;

    *len = 0;
    if (st->st_size > LLMP_KEYS_MAX_FILE) {
        errno = EFBIG;
        return NULL;
    }
    buf = apr_palloc(p, (apr_size_t)st->st_size + 1);
    while (n < (apr_size_t)st->st_size) {
        ssize_t got = read(fd, buf + n, (apr_size_t)st->st_size - n);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return NULL;
        if (got == 0) break;
        n += (apr_size_t)got;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

/* Write text over path atomically, with the mode and owner of st (the
 * old file's). */
static int write_atomic(apr_pool_t *p, const char *path, const char *text,
                        apr_size_t len, const struct stat *st)
{
    const char *slash = strrchr(path, '/');
    const char *dir = slash ? (slash == path ? "/"
                               : apr_pstrmemdup(p, path, slash - path)) : ".";
    char *tmp = apr_pstrcat(p, path, ".tmp.XXXXXX", NULL);
    apr_size_t off = 0;
    mode_t mode;
    int fd, dfd;

    fd = mkstemp(tmp);
    if (fd < 0) {
        fprintf(stderr, "%s: cannot create a temporary file next to %s: %s\n",
                prog, path, strerror(errno));
        return -1;
    }
    mode = st->st_mode & 07777;
    /* the owner and group of the old file, when we may (root) */
    if (fchown(fd, st->st_uid, st->st_gid) < 0) { /* kept as ours */ }
    if (fchmod(fd, mode) < 0) goto fail;
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) goto fail;
        off += (apr_size_t)n;
    }
    if (fsync(fd) < 0) goto fail;
    if (close(fd) < 0) { fd = -1; goto fail; }
    fd = -1;
    if (rename(tmp, path) < 0) goto fail;
    if ((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    return 0;
fail:
    fprintf(stderr, "%s: cannot write %s: %s\n", prog, path, strerror(errno));
    if (fd >= 0) close(fd);
    unlink(tmp);
    return -1;
}

/* Lock and read path (created when create says so), and parse it when
 * keys is not NULL: the locked descriptor (closing it unlocks), or -1
 * (said on stderr). */
static int load(apr_pool_t *p, const char *path, int create, char **text,
                apr_size_t *len, struct stat *st, llmp_keys_t **keys)
{
    const char *why;
    int fd = lock_file(path, create, st);

    if (fd < 0 || !(*text = read_file(p, fd, st, len))) {
        fprintf(stderr, "%s: cannot read %s: %s\n", prog, path,
                strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    if (keys && (why = llmp_keys_parse(p, *text, *len, keys)) != NULL) {
        fprintf(stderr, "%s: %s: %s (fix the file first)\n", prog, path, why);
        close(fd);
        return -1;
    }
    return fd;
}

static int cmd_add(apr_pool_t *p, const char *path, const char *user,
                   const char *comment)
{
    char *text, *key, *line, hex[2 * LLMP_KEYS_DIGEST_LEN + 1];
    unsigned char d[LLMP_KEYS_DIGEST_LEN];
    apr_size_t len;
    struct stat st;
    int fd, rc = 1;
    llmp_keys_t *keys;

    if (!llmp_keys_user_valid(user)) {
        fprintf(stderr, "%s: invalid user name (1 to %d bytes, no blank, no "
                "control character, not starting with '#')\n", prog,
                LLMP_KEYS_MAX_USER);
        return 2;
    }
    if (comment && !llmp_keys_comment_valid(comment)) {
        fprintf(stderr, "%s: the comment holds a control character\n", prog);
        return 2;
    }
    if ((fd = load(p, path, 1, &text, &len, &st, &keys)) < 0) return 1;
    key = llmp_keys_generate(p, KEY_BYTES);
    if (!key || !llmp_keys_digest(key, strlen(key), d)) {
        fprintf(stderr, "%s: no random bytes for a key\n", prog);
        goto done;
    }
    llmp_keys_hex(d, sizeof(d), hex);
    line = apr_pstrcat(p, len && text[len - 1] != '\n' ? "\n" : "", user, " ",
                       hex, comment && *comment ? " " : "",
                       comment ? comment : "", "\n", NULL);
    text = apr_pstrcat(p, text, line, NULL);
    if (write_atomic(p, path, text, strlen(text), &st) < 0) goto done;
    fprintf(stderr, "%s: new key of %s added to %s (hash %.8s...); it is "
            "shown once, here:\n", prog, user, path, hex);
    printf("%s\n", key);
    rc = fflush(stdout) ? 1 : 0;
done:
    close(fd);
    return rc;
}

static int cmd_revoke(apr_pool_t *p, const char *path, const char *user)
{
    char *text, *out;
    apr_size_t len, outlen;
    struct stat st;
    int fd, n, rc = 1;

    if (!llmp_keys_user_valid(user)) {
        fprintf(stderr, "%s: invalid user name\n", prog);
        return 2;
    }
    if ((fd = load(p, path, 0, &text, &len, &st, NULL)) < 0) return 1;
    n = llmp_keys_remove_user(p, text, len, user, &out, &outlen);
    if (!n)
        fprintf(stderr, "%s: %s has no key in %s\n", prog, user, path);
    else if (write_atomic(p, path, out, outlen, &st) == 0) {
        printf("%d key%s of %s revoked\n", n, n == 1 ? "" : "s", user);
        rc = 0;
    }
    close(fd);
    return rc;
}

static int cmd_list(apr_pool_t *p, const char *path)
{
    char *text, hex[2 * LLMP_KEYS_DIGEST_LEN + 1];
    apr_size_t len;
    struct stat st;
    int fd, i;
    llmp_keys_t *keys;

    if ((fd = load(p, path, 0, &text, &len, &st, &keys)) < 0) return 1;
    close(fd);
    for (i = 0; i < keys->entries->nelts; i++) {
        const llmp_key_entry_t *e = APR_ARRAY_IDX(keys->entries, i,
                                                  llmp_key_entry_t *);
        llmp_keys_hex(e->digest, sizeof(e->digest), hex);
        printf("%s\t%.8s\t%s\n", e->user, hex, e->comment ? e->comment : "");
    }
    return 0;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    int rc;

    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")
                      || !strcmp(argv[1], "help"))) {
        usage(stdout);
        return 0;
    }
    if (apr_app_initialize(&argc, &argv, NULL) != APR_SUCCESS) return 1;
    apr_pool_create(&p, NULL);
    if (argc >= 4 && argc <= 5 && !strcmp(argv[1], "add"))
        rc = cmd_add(p, argv[2], argv[3], argc == 5 ? argv[4] : NULL);
    else if (argc == 4 && !strcmp(argv[1], "revoke"))
        rc = cmd_revoke(p, argv[2], argv[3]);
    else if (argc == 3 && !strcmp(argv[1], "list"))
        rc = cmd_list(p, argv[2]);
    else {
        usage(stderr);
        rc = 2;
    }
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
