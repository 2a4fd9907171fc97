/*
 * fuzz_replay.c: runs inputs through a libFuzzer target without libFuzzer,
 * so that every build (gcc, no fuzzing runtime) replays the seed corpus and
 * any crash reproducer under `make check`.
 *
 * Usage: <target>_replay [FILE|DIR]...
 * Without arguments it replays $FUZZ_CORPUS, else the target's seed corpus
 * $FUZZ_CORPUS_ROOT/<target> (FUZZ_TARGET, set when compiling), else the
 * seeds the target builds itself (fuzz_replay_builtin, when linked in).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Optional, as for libFuzzer: the target's set-up, its built-in seeds. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
void fuzz_replay_builtin(void) __attribute__((weak));

static unsigned int ran;

static int run_file(const char *path)
{
    uint8_t *buf = NULL;
    size_t len = 0, cap = 0, n;
    FILE *f = fopen(path, "rb");
    int rc;

    if (!f) {
        fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (;;) {
        if (len == cap) {
            uint8_t *nb;

            cap = cap ? cap * 2 : 4096;
            nb = realloc(buf, cap);
            if (!nb) {
                fprintf(stderr, "fuzz_replay: %s: out of memory\n", path);
                rc = -1;
                goto out;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        if (!n)
            break;
        len += n;
    }
    if (ferror(f)) {
        fprintf(stderr, "fuzz_replay: reading %s failed\n", path);
        rc = -1;
        goto out;
    }
    LLVMFuzzerTestOneInput(buf, len);
    ran++;
    rc = 0;
out:
    free(buf);
    fclose(f);
    return rc;
}

static int run_path(const char *path)
{
    struct dirent *de;
    struct stat st;
    char sub[4096];
    DIR *d;
    int rc = 0;

    if (stat(path, &st) < 0) {
        fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return run_file(path);
    d = opendir(path);
    if (!d) {
        fprintf(stderr, "fuzz_replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
        if (run_path(sub))
            rc = -1;
    }
    closedir(d);
    return rc;
}

#ifndef FUZZ_TARGET
#error "FUZZ_TARGET names the target (its corpus folder)"
#endif

int main(int argc, char **argv)
{
    const char *corpus = getenv("FUZZ_CORPUS");
    const char *root = getenv("FUZZ_CORPUS_ROOT");
    char dir[4096];
    int i, rc = 0;

    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    if (argc < 2) {
        struct stat st;

        if (!corpus && root) {
            snprintf(dir, sizeof(dir), "%s/%s", root, FUZZ_TARGET);
            corpus = dir;
        }
        if (fuzz_replay_builtin && (!corpus || stat(corpus, &st) < 0)) {
            fuzz_replay_builtin();
            ran++;
            printf("fuzz_replay: %s: its built-in seeds run\n", FUZZ_TARGET);
            return 0;
        }
        if (!corpus) {
            fprintf(stderr, "usage: %s FILE|DIR... (or set FUZZ_CORPUS "
                    "or FUZZ_CORPUS_ROOT)\n", argv[0]);
            return 2;
        }
        rc = run_path(corpus);
    }
    for (i = 1; i < argc; i++)
        if (run_path(argv[i]))
            rc = -1;
    printf("fuzz_replay: %s: %u inputs run\n", FUZZ_TARGET, ran);
    if (!ran)
        return 1;
    return rc ? 1 : 0;
}
