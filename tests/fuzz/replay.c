/* tests/fuzz/replay.c - runs a harness of tests/fuzz/ over files and directories without
 * libFuzzer: the seed corpora become a regression test in every meson build, the sanitizer
 * builds included (tests/fuzz/meson.build), and a reproducer can be replayed under any
 * compiler and debugger.
 *
 *   fuzz-replay-<harness> FILE|DIR...
 *
 * Each input is read whole into an exact-size heap block (as libFuzzer gives it) and run
 * once, in name order within a directory. A finding aborts (the harness's checks) or is a
 * sanitizer report; the exit status is 0 when every input ran. */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv);

static int run_file(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) < 0) {
        perror(path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    size_t n = (size_t)st.st_size, got = 0;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        return -1;
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0) {
            perror(path);
            free(buf);
            close(fd);
            return -1;
        }
        got += (size_t)r;
    }
    close(fd);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int skip_dot(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    int failed = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) < 0) {
            perror(argv[i]);
            failed = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            failed |= run_file(argv[i]) < 0;
            count++;
            continue;
        }
        struct dirent **list;
        int n = scandir(argv[i], &list, skip_dot, alphasort);
        if (n < 0) {
            perror(argv[i]);
            failed = 1;
            continue;
        }
        for (int k = 0; k < n; k++) {
            char path[4096];
            snprintf(path, sizeof(path), "%s/%s", argv[i], list[k]->d_name);
            failed |= run_file(path) < 0;
            count++;
            free(list[k]);
        }
        free(list);
    }
    printf("replayed %u inputs%s\n", count, failed ? " (some could not be read)" : "");
    return failed ? 1 : 0;
}
