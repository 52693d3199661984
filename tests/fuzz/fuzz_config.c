/* tests/fuzz/fuzz_config.c - libFuzzer harness: the configuration parser (core/cfgparse.c,
 * cfgproxy.c, cfgserver.c, cfgrules.c, config.c) and, for a configuration it accepts, the
 * routing snapshot built from it (balance/routing.c: every `acl` and `use_backend` compiled).
 *
 * Input: the configuration file. Without a NUL byte it goes through sp_config_parse_string();
 * with one, through sp_config_load() on a memfd, which reads the bytes as they are (a binary
 * file given with -f). Errors are expected and fine; a crash, a leak, a sanitizer report, or
 * a success that comes with error diagnostics is not.
 *
 * Diagnostics are collected and checked against core/config.h's promise: one line per error
 * or warning, in HAProxy's "[ALERT] file:line: ..." / "[WARNING] ..." shape about the file
 * parsed, and what the parser quotes from the file escaped (no raw ESC). The routing
 * snapshot's lines are escaped by main, a line at a time: a newline inside one of its messages
 * still makes a line of its own (a forged diagnostic), so that is checked there.
 *
 * The sandbox of common.h keeps it hermetic: server and log addresses resolve only when
 * numeric (or "localhost"), and `-f` pattern files open only the harness's own.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "balance/balance.h"
#include "core/config.h"
#include "tests/fuzz/common.h"

static int memfd = -1;
static char memfd_path[64];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    memfd = memfd_create("spillway-fuzz.cfg", MFD_CLOEXEC);
    if (memfd < 0) {
        perror("memfd_create");
        abort();
    }
    snprintf(memfd_path, sizeof(memfd_path), "/proc/self/fd/%d", memfd);
    fz_allow_path(memfd_path);
    return 0;
}

/* One diagnostic per line, each an alert or a warning about `file`, `lines` of them (-1: not
 * known). `escaped`: what the parser prints goes to the terminal as it is and must hold no raw
 * control byte; the routing snapshot's lines are escaped by main (put_escaped_lines()), one
 * line at a time, so only their newlines count: one inside a message makes a second
 * diagnostic, about whatever file and line the configuration chose to write. */
static void check_diag(const char *d, size_t len, bool escaped, const char *who, const char *file,
                       int lines)
{
    size_t line = 0, flen = strlen(file);
    int n = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)d[i];
        if (i == line) {
            size_t k = !strncmp(d + i, "[ALERT] ", 8)      ? 8
                       : !strncmp(d + i, "[WARNING] ", 10) ? 10
                                                           : 0;
            FZ_CHECK(k && len - i > k + flen && !memcmp(d + i + k, file, flen) &&
                         d[i + k + flen] == ':',
                     "%s: a diagnostic line that is not an alert or a warning about %s (a raw "
                     "newline inside a message?):\n%.*s",
                     who, file, (int)(len - line < 400 ? len - line : 400), d + line);
            n++;
        }
        if (c == '\n') {
            line = i + 1;
            continue;
        }
        if (escaped)
            FZ_CHECK(c >= 0x20 && c != 0x7f, "%s: raw control byte 0x%02x in a diagnostic:\n%.*s",
                     who, c, (int)(i - line + 1), d + line);
    }
    FZ_CHECK(len == 0 || d[len - 1] == '\n', "%s: a diagnostic without its newline", who);
    FZ_CHECK(lines < 0 || n == lines, "%s: %d diagnostic lines for %d diagnostics:\n%.*s", who, n,
             lines, (int)(len < 600 ? len : 600), d);
}

static void use(struct sp_config *cfg, const char *file)
{
    FZ_CHECK(cfg->nerrors == 0, "loaded with %d errors", cfg->nerrors);
    (void)sp_config_count_listeners(cfg);
    for (struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next) {
        FZ_CHECK(p->name != NULL, "a proxy without a name");
        FZ_CHECK(sp_config_find_proxy(cfg, p->name, p->cap) != NULL, "proxy %s not found", p->name);
    }
    int errors = 0;
    char *dbuf = NULL;
    size_t dlen = 0;
    FILE *diag = open_memstream(&dbuf, &dlen);
    if (!diag)
        abort();
    struct sp_routing *rt = sp_routing_build(cfg, diag, &errors);
    FZ_CHECK(!rt || errors == 0, "a snapshot with %d errors", errors);
    if (rt) {
        for (int i = 0; i < rt->nfe; i++)
            FZ_CHECK(rt->fe[i]->idx == i, "frontend index");
        for (int i = 0; i < rt->nsrv; i++)
            FZ_CHECK(rt->srv[i]->idx == i, "server index");
    }
    sp_routing_discard(rt);
    fclose(diag);
    check_diag(dbuf, dlen, false, "routing snapshot", file, rt ? 0 : errors);
    free(dbuf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_config *cfg = NULL;
    char *dbuf = NULL;
    size_t dlen = 0;
    FILE *diag = open_memstream(&dbuf, &dlen);
    int rc;

    if (!diag)
        abort();
    fz_guard = true;
    const char *file = memchr(data, 0, size) ? memfd_path : "fuzz.cfg";
    if (memchr(data, 0, size)) {
        if (ftruncate(memfd, 0) || pwrite(memfd, data, size, 0) != (ssize_t)size) {
            perror("memfd");
            abort();
        }
        rc = sp_config_load(memfd_path, diag, &cfg);
    } else {
        char *text = malloc(size + 1);
        if (!text)
            abort();
        memcpy(text, data, size);
        text[size] = '\0';
        rc = sp_config_parse_string(text, "fuzz.cfg", diag, &cfg);
        free(text);
    }
    FZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM || rc == -EFBIG, "load returned %d", rc);
    FZ_CHECK((rc == 0) == (cfg != NULL), "rc %d with cfg %p", rc, (void *)cfg);
    fclose(diag);
    check_diag(dbuf, dlen, true, "configuration parser", file,
               cfg ? cfg->nerrors + cfg->nwarnings : -1);
    free(dbuf);
    if (cfg)
        use(cfg, file);
    sp_config_free(cfg);
    fz_guard = false;
    return 0;
}
