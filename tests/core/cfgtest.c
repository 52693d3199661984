/* tests/core/cfgtest.c - the configuration-test helpers several core suites share (see
 * cfgtest.h). */
#include "tests/core/cfgtest.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit.h"

int cfgt_count(const char *hay, const char *needle)
{
    int n = 0;
    size_t nl = strlen(needle);

    for (const char *p = hay; p && (p = strstr(p, needle)); p += nl)
        n++;
    return n;
}

/* Parses `text` as "t.cfg"; returns the loader's result, the model and the diagnostics. */
int cfgt_run(const char *text, struct sp_config **cfg, char **diag)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int rc;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    *cfg = NULL;
    rc = sp_config_parse_string(text, "t.cfg", f, cfg);
    fclose(f);
    *diag = buf;
    return rc;
}

/* A configuration that must load without errors, with exactly `nwarn` warnings, each of the
 * NULL-terminated substrings in the diagnostics. Returns the model (the caller frees it) or
 * NULL after failing the test. */
struct sp_config *cfgt_load_ok_w(const char *text, int nwarn, ...)
{
    struct sp_config *cfg;
    char *diag;
    int rc = cfgt_run(text, &cfg, &diag);
    bool bad = false;
    va_list ap;

    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(cfgt_count(diag, "[ALERT]"), 0);
    CU_ASSERT_EQUAL(cfgt_count(diag, "[WARNING]"), nwarn);
    if (rc == 0) {
        CU_ASSERT_EQUAL(cfg->nerrors, 0);
        CU_ASSERT_EQUAL(cfg->nwarnings, nwarn);
    }
    bad = rc != 0 || cfgt_count(diag, "[WARNING]") != nwarn;
    va_start(ap, nwarn);
    for (const char *s; (s = va_arg(ap, const char *));) {
        if (!strstr(diag, s)) {
            CU_FAIL("expected message missing");
            fprintf(stderr, "\nmissing: %s", s);
            bad = true;
        }
    }
    va_end(ap);
    if (bad)
        fprintf(stderr, "\nunexpected diagnostics (rc %d) for:\n%s\ngot:\n%s", rc, text, diag);
    free(diag);
    return rc == 0 ? cfg : NULL;
}

/* A configuration that must fail with exactly `nerr` errors, every one of the NULL-terminated
 * substrings appearing in the diagnostics. */
void cfgt_expect_errors(const char *text, int nerr, ...)
{
    struct sp_config *cfg;
    char *diag;
    int rc = cfgt_run(text, &cfg, &diag);
    bool bad = false;
    va_list ap;

    CU_ASSERT_EQUAL(rc, -EINVAL);
    CU_ASSERT_PTR_NULL(cfg);
    if (rc == 0)
        sp_config_free(cfg);
    if (cfgt_count(diag, "[ALERT]") != nerr) {
        CU_FAIL("wrong error count");
        bad = true;
    }
    va_start(ap, nerr);
    for (const char *s; (s = va_arg(ap, const char *));) {
        if (!strstr(diag, s)) {
            CU_FAIL("expected message missing");
            fprintf(stderr, "\nmissing: %s", s);
            bad = true;
        }
    }
    va_end(ap);
    if (bad)
        fprintf(stderr, "\nexpected %d error(s) in:\n%s\ngot:\n%s", nerr, text, diag);
    free(diag);
}

const struct sp_cfg_proxy *cfgt_proxy(const struct sp_config *cfg, const char *name)
{
    for (const struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next)
        if (strcmp(p->name, name) == 0)
            return p;
    CU_FAIL("no such proxy");
    return NULL;
}

const struct sp_cfg_server *cfgt_server(const struct sp_cfg_proxy *p, const char *name)
{
    for (const struct sp_cfg_server *s = p ? p->servers : NULL; s; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s;
    CU_FAIL("no such server");
    return NULL;
}
