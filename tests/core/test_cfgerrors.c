/* tests/core/test_cfgerrors.c - core/cfgerrors.c: errorfile, errorloc[302|303], errorfiles,
 * http-error and http-errors sections: what each line leaves in a proxy's messages, which
 * one wins, and the errors (with file:line) for missing, malformed or refused ones. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "tests/core/cfgtest.h"
#include "tests/unit.h"

static char dir[64];

/* Writes `text` to dir/name; returns the path (static storage, one per name slot). */
static const char *file(int slot, const char *name, const char *text)
{
    static char paths[8][128];
    FILE *f;

    snprintf(paths[slot], sizeof(paths[slot]), "%s/%s", dir, name);
    f = fopen(paths[slot], "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    return paths[slot];
}

static int setup(void)
{
    snprintf(dir, sizeof(dir), "/tmp/sp-cfgerr-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

#define R503                                                                                       \
    "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: "             \
    "5\r\n\r\nsorry"

static const struct sp_cfg_reply *reply(const struct sp_cfg_proxy *p, int status)
{
    int i = sp_cfg_err_idx(status);
    CU_ASSERT_TRUE_FATAL(i >= 0);
    return p->replies[i];
}

static void test_codes(void)
{
    static const int ok[] = {200, 400, 401, 403, 404, 405, 407, 408, 410, 413,
                             421, 422, 425, 429, 500, 501, 502, 503, 504};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        CU_ASSERT_EQUAL(sp_cfg_err_idx(ok[i]), (int)i);
    CU_ASSERT_EQUAL(sp_cfg_err_idx(302), -1);
    CU_ASSERT_EQUAL(sp_cfg_err_idx(418), -1);
    CU_ASSERT_EQUAL(sp_cfg_err_idx(0), -1);
}

/* every kind of line, defaults inherited, later lines and backends' own lines winning */
static void lines(void);
static void test_lines(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    lines();
    CU_ASSERT_EQUAL(teardown(), 0);
}

static void lines(void)
{
    const char *f503 = file(0, "503.http", R503);
    const char *f502 = file(1, "502.http", "HTTP/1.0 502 Bad\r\n\r\nclose-delimited body");
    const char *fempty = file(2, "empty.http", "");
    const char *f400 = file(3, "400.http", "HTTP/1.1 400 Bad\nContent-Length: 0\n\n");
    char text[4096];

    snprintf(text, sizeof(text),
             "http-errors site\n"
             " errorfile 503 %s\n"
             " errorfile 502 %s\n"
             "global\n"
             " nbthread 1\n" TMO " errorfile 400 %s\n"
             "frontend fe\n"
             " bind :1\n"
             " errorfile 503 %s\n"
             " errorloc302 403 http://a.test/denied\n"
             " errorloc303 404 /nf\n"
             " errorloc 405 /m\n"
             " errorfiles site 502\n"
             " http-error status 500 content-type text/plain string \"oops\" hdr X-A \"%%ci\"\n"
             " http-error status 429 content-type text/html lf-string \"%%ci\"\n"
             " http-error status 408\n"
             " http-error status 504 errorfiles site\n"
             " http-error status 400 default-errorfiles\n"
             " default_backend be\n"
             "backend be\n"
             " errorfiles site\n"
             " errorfile 503 %s\n",
             f503, f502, f400, f503, fempty);
    struct sp_config *cfg = cfgt_load_ok_w(text, 1,
                                           "status '504' not declared in http-errors "
                                           "section 'site'",
                                           NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    const struct sp_cfg_proxy *fe = cfgt_proxy(cfg, "fe"), *be = cfgt_proxy(cfg, "be");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fe);
    CU_ASSERT_PTR_NOT_NULL_FATAL(be);
    const struct sp_cfg_reply *r = reply(fe, 503);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->type, SP_CFG_REPLY_RAW);
    CU_ASSERT_EQUAL(r->rawlen, strlen(R503));
    CU_ASSERT_EQUAL(memcmp(r->raw, R503, r->rawlen), 0);
    r = reply(fe, 403);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    ASSERT_STR(r->raw, "HTTP/1.1 302 Found\r\nCache-Control: no-cache\r\nContent-length: "
                       "0\r\nLocation: http://a.test/denied\r\n\r\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(reply(fe, 404));
    CU_ASSERT_PTR_NOT_NULL(strstr(reply(fe, 404)->raw, "303 See Other\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(reply(fe, 404)->raw, "Location: /nf\r\n"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(reply(fe, 405));
    CU_ASSERT_PTR_NOT_NULL(strstr(reply(fe, 405)->raw, "302 Found\r\n"));
    /* errorfiles with a list: 502 only, from the section */
    CU_ASSERT_PTR_NOT_NULL_FATAL(reply(fe, 502));
    CU_ASSERT_PTR_NOT_NULL(strstr(reply(fe, 502)->raw, "close-delimited"));
    r = reply(fe, 500);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->type, SP_CFG_REPLY_BUILT);
    ASSERT_STR(r->ctype, "text/plain");
    ASSERT_STR(r->body, "oops");
    CU_ASSERT_FALSE(r->body_lf);
    CU_ASSERT_EQUAL_FATAL(r->nhdrs, 1);
    ASSERT_STR(r->hdr_names[0], "X-A");
    ASSERT_STR(r->hdr_fmts[0], "%ci");
    r = reply(fe, 429);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_TRUE(r->body_lf);
    r = reply(fe, 408); /* status alone: an empty response */
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->type, SP_CFG_REPLY_BUILT);
    CU_ASSERT_EQUAL(r->bodylen, 0);
    CU_ASSERT_PTR_NULL(reply(fe, 504)); /* not in the section: nothing */
    /* default-errorfiles after the defaults' errorfile 400: back to the built-in page */
    CU_ASSERT_PTR_NULL(reply(fe, 400));
    /* the backend: its defaults' 400, the whole section, then its own empty 503 */
    CU_ASSERT_PTR_NOT_NULL_FATAL(reply(be, 400));
    /* its bare LF line ends became CRLF */
    ASSERT_STR(reply(be, 400)->raw, "HTTP/1.1 400 Bad\r\nContent-Length: 0\r\n\r\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(reply(be, 502));
    r = reply(be, 503);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->rawlen, 0);
    CU_ASSERT_PTR_NULL(reply(be, 403));
    sp_config_free(cfg);
}

static void errors(void);
static void test_errors(void)
{
    CU_ASSERT_EQUAL_FATAL(setup(), 0);
    errors();
    CU_ASSERT_EQUAL(teardown(), 0);
}

static void errors(void)
{
    char text[2048], msg[256];
    const char *bad1 = file(0, "bad1.http", "HTTP/1.1 503\r\nContent-Length: 10\r\n\r\nshort");
    const char *bad2 = file(1, "bad2.http", "HTTP/1.1 503 X\r\nTransfer-Encoding: chunked\r\n\r\n");
    const char *bad3 = file(2, "bad3.http", "<html>not a response</html>");
    const char *bad4 = file(3, "bad4.http", "HTTP/1.1 503 X\r\nContent-Length: 0\r\n");
    const char *bad5 = file(4, "bad5.http", "HTTP/1.1 100 Continue\r\n\r\n");
    const char *good = file(5, "good.http", R503);

    snprintf(text, sizeof(text), TMO "frontend fe\n bind :1\n errorfile 503 %s/missing.http\n",
             dir);
    snprintf(msg, sizeof(msg), "t.cfg:8: 'errorfile': error opening file '%s/missing.http'", dir);
    cfgt_expect_errors(text, 1, msg, NULL);

    snprintf(text, sizeof(text), TMO "frontend fe\n bind :1\n errorfile 418 %s\n", good);
    cfgt_expect_errors(text, 1, "t.cfg:8: 'errorfile': status code '418' not handled", NULL);

    snprintf(text, sizeof(text),
             TMO "backend be\n errorfile 503 %s\n errorfile 503 %s\n errorfile 503 %s\n"
                 " errorfile 503 %s\n errorfile 503 %s\n",
             bad1, bad2, bad3, bad4, bad5);
    cfgt_expect_errors(text, 5, "t.cfg:7: 'errorfile': ",
                       "payload size does not match the announced "
                       "content-length (5 != 10)",
                       "t.cfg:8: 'errorfile': ", "chunk-encoded payload not supported",
                       "t.cfg:9: 'errorfile': ", "invalid status line",
                       "t.cfg:10: 'errorfile': ", "no end of headers", "t.cfg:11: 'errorfile': ",
                       "invalid http status code for an error message (100)", NULL);

    /* larger than tune.bufsize less the 1024 bytes kept for rewriting */
    static char big[20000];
    int n = snprintf(big, sizeof(big), "HTTP/1.1 503 X\r\nContent-Length: 15500\r\n\r\n");
    memset(big + n, 'x', 15500);
    big[n + 15500] = 0;
    const char *fbig = file(6, "big.http", big);
    snprintf(text, sizeof(text), TMO "backend be\n errorfile 503 %s\n", fbig);
    cfgt_expect_errors(text, 1, "t.cfg:7: 'errorfile': file '", "exceeds the buffer size", NULL);
    snprintf(text, sizeof(text),
             "global\n tune.bufsize 32768\n" TMO "backend be\n errorfile 503 %s\n", fbig);
    struct sp_config *cfg = cfgt_load_ok(text);
    sp_config_free(cfg);
    /* the sizes are judged with the global section as the whole file sets it */
    snprintf(text, sizeof(text), TMO "backend be\n errorfile 503 %s\nglobal\n tune.bufsize 32768\n",
             fbig);
    cfg = cfgt_load_ok(text);
    sp_config_free(cfg);
    snprintf(text, sizeof(text),
             "global\n tune.bufsize 20000\n tune.maxrewrite 8000\n" TMO "backend be\n"
             " errorfile 503 %s\n http-error status 503 content-type t/p file %s\n",
             fbig, fbig);
    cfgt_expect_errors(text, 2, "t.cfg:10: 'errorfile': file '", "t.cfg:11: 'http-error': file '",
                       "exceeds the buffer size (15541 > 12000", NULL);

    cfgt_expect_errors(TMO "backend be\n errorloc 302 /x\n errorloc302 503\n", 2,
                       "t.cfg:7: 'errorloc': status code '302' not handled",
                       "t.cfg:8: 'errorloc302': expects <status_code> and <url> as arguments",
                       NULL);
    cfgt_expect_errors(TMO "backend be\n errorfiles nope\n errorfiles\n errorfiles x 999\n", 3,
                       "t.cfg:7: 'errorfiles': proxy 'be': unknown http-errors section 'nope'",
                       "t.cfg:8: 'errorfiles': expects <name> as argument",
                       "t.cfg:9: 'errorfiles': status code '999' not handled", NULL);
    cfgt_expect_errors(TMO "backend be\n http-error content-type text/plain string x\n"
                           " http-error status 503 string x\n"
                           " http-error status 503 content-type t/p lf-file\n"
                           " http-error status 302\n"
                           " http-error status 503 lf-string x\n"
                           " http-error status 503 string a file b\n"
                           " http-error status 503 bogus\n",
                       7, "t.cfg:7: 'http-error': expects at least a <status> as arguments",
                       "t.cfg:8: 'http-error': a content type must be defined when non-empty "
                       "payload is configured",
                       "t.cfg:9: 'http-error': 'lf-file' expects an argument",
                       "t.cfg:10: 'http-error': status code '302' not handled",
                       "t.cfg:11: 'http-error': a content type must be defined with a "
                       "log-format payload",
                       "t.cfg:12: 'http-error': unexpected 'file' argument, 'string' already "
                       "defined",
                       "t.cfg:13: 'http-error': unknown keyword 'bogus'", NULL);
    cfgt_expect_errors("http-errors a\n errorfile 503 /nonexistent/x\n option foo\n"
                       "http-errors a\n" TMO "backend be\n",
                       3, "t.cfg:2: 'errorfile': error opening file '/nonexistent/x'",
                       "t.cfg:3: 'option': unknown keyword 'option' in 'http-errors' section",
                       "t.cfg:4: 'http-errors': http-errors section 'a' already exists", NULL);
    /* ignored parts are warned about */
    cfg = cfgt_load_ok_w(TMO "backend be\n http-error status 503 hdr Content-Length 3\n"
                             " http-error status 503 content-type text/plain\n",
                         2, "header 'Content-Length' always ignored",
                         "content-type 'text/plain' ignored", NULL);
    sp_config_free(cfg);
}

void test_cfgerrors_register(void)
{
    CU_pSuite s = sp_unit_suite("core/cfgerrors");
    sp_unit_test(s, "the status codes HAProxy 2.6 handles", test_codes);
    sp_unit_test(s, "every line, defaults, sections, later and backend lines win", test_lines);
    sp_unit_test(s, "missing, malformed, refused: errors with file:line", test_errors);
}
