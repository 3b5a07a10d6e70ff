/* Replays fuzz corpora without libFuzzer: every file named on the command
 * line (or found in a directory named there) is passed once to
 * LLVMFuzzerTestOneInput. Used by `make test` (and its ASan variant) so the
 * corpora stay green; `make fuzz` builds the same targets with libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;
    uint8_t *buf;

    if (!f) { perror(path); return 1; }
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
        fclose(f);
        free(buf);
        return 1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int i, count = 0, errors = 0;

    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    for (i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st)) { perror(argv[i]); errors++; continue; }
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;
            while (d && (e = readdir(d))) {
                char path[4096];
                if (e->d_name[0] == '.') continue;
                snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
                errors += run_file(path);
                count++;
            }
            if (d) closedir(d);
        }
        else {
            errors += run_file(argv[i]);
            count++;
        }
    }
    printf("replayed %d inputs, %d unreadable\n", count, errors);
    return errors ? 1 : 0;
}
