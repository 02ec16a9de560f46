/*
 * Replays corpus directories (or single files) through a fuzz target without
 * libFuzzer, so every build runs the seeds and any saved crashers as a plain
 * test. A crash aborts the process, which is the failure meson reports.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (1u << 20) /* libFuzzer's default -max_len is far smaller */

/* Feed one file; -1 if it cannot be read. */
static int
replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf;
    size_t len;

    if (f == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    buf = malloc(INPUT_MAX);
    if (buf == NULL) {
        fclose(f);
        return -1;
    }
    len = fread(buf, 1, INPUT_MAX, f);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

/* Feed every regular file of dir; the count, or -1 if dir cannot be read. */
static int
replay_dir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[4096];
    struct stat st;
    int n = 0;

    if (d == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", dir);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        if (replay_file(path) < 0) {
            closedir(d);
            return -1;
        }
        n++;
    }
    closedir(d);
    return n;
}

int
main(int argc, char **argv)
{
    int total = 0;
    struct stat st;

    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        int n;
        if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode)) {
            n = replay_file(argv[i]) == 0 ? 1 : -1;
        } else {
            n = replay_dir(argv[i]);
        }
        if (n < 0) {
            return 1;
        }
        printf("replayed %d inputs from %s\n", n, argv[i]);
        total += n;
    }
    printf("replayed %d inputs in total\n", total);
    return 0;
}
