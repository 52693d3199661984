/* tests/core/cfgtest.h - helpers of the configuration suites (test_config_checks.c,
 * test_config_deploy.c): parse a configuration text as "t.cfg" and assert on the loader's
 * diagnostics. CUnit assertions fail the calling test.
 *
 * owner: the test thread (CUnit runs one test at a time); no state is kept between calls.
 */
#ifndef SP_TESTS_CORE_CFGTEST_H
#define SP_TESTS_CORE_CFGTEST_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/config.h"

/* timeouts that keep the "missing timeouts" warning out of the way */
#define TMO                                                                                        \
    "defaults\n"                                                                                   \
    "    mode http\n"                                                                              \
    "    timeout client 5s\n"                                                                      \
    "    timeout server 5s\n"                                                                      \
    "    timeout connect 1s\n"

/* Occurrences of `needle` in `hay` (NULL: 0). */
int cfgt_count(const char *hay, const char *needle);
/* Parses `text` as "t.cfg"; returns the loader's result, the model and the diagnostics
 * (malloc'd, the caller frees them). */
int cfgt_run(const char *text, struct sp_config **cfg, char **diag);
/* A configuration that must load without errors, with exactly `nwarn` warnings, each of the
 * NULL-terminated substrings in the diagnostics. Returns the model (the caller frees it) or
 * NULL after failing the test. */
struct sp_config *cfgt_load_ok_w(const char *text, int nwarn, ...);
#define cfgt_load_ok(text) cfgt_load_ok_w((text), 0, NULL)
/* A configuration that must fail with exactly `nerr` errors, every one of the NULL-terminated
 * substrings appearing in the diagnostics. */
void cfgt_expect_errors(const char *text, int nerr, ...);
/* The proxy or server of that name (fails the test and returns NULL when there is none). */
const struct sp_cfg_proxy *cfgt_proxy(const struct sp_config *cfg, const char *name);
const struct sp_cfg_server *cfgt_server(const struct sp_cfg_proxy *p, const char *name);

/* Two strings equal, NULL only with NULL; prints both when not. */
#define ASSERT_STR(got, want)                                                                      \
    do {                                                                                           \
        const char *g_ = (got), *w_ = (want);                                                      \
        bool ok_ = (g_ == NULL && w_ == NULL) || (g_ && w_ && strcmp(g_, w_) == 0);                \
        if (!ok_)                                                                                  \
            fprintf(stderr, "\n  %s:%d: got \"%s\", expected \"%s\"\n", __FILE__, __LINE__,        \
                    g_ ? g_ : "(null)", w_ ? w_ : "(null)");                                       \
        CU_ASSERT(ok_);                                                                            \
    } while (0)

#endif
