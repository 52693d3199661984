/* tests/http/test_normuri.c - the normalize-uri normalizers (http/normuri.c), each on the
 * cases HAProxy's reg-tests (reg-tests/http-rules/normalize_uri.vtc) exercise. */
#include "http/normuri.h"
#include "tests/unit.h"

#include <errno.h>
#include <string.h>

static void check(const char *name, const char *opt, const char *in, const char *want)
{
    char out[256];
    int code = sp__normuri_parse(name, opt);
    CU_ASSERT_FATAL(code > 0);
    long n = sp__normuri_apply(code, in, strlen(in), out, sizeof(out));
    CU_ASSERT_EQUAL(n, (long)strlen(want));
    if (n == (long)strlen(want))
        CU_ASSERT_EQUAL(memcmp(out, want, (size_t)n), 0);
}

static void test_path(void)
{
    check("path-merge-slashes", NULL, "//a///b/c?x=//y", "/a/b/c?x=//y");
    check("path-strip-dot", NULL, "/a/./b/.", "/a/b/");
    check("path-strip-dot", NULL, "/./?q=./", "/?q=./");
    check("path-strip-dotdot", NULL, "/a/b/../c", "/a/c");
    check("path-strip-dotdot", NULL, "/a/b/..", "/a/");
    check("path-strip-dotdot", NULL, "/../a", "/../a");
    check("path-strip-dotdot", "full", "/../a/../../b", "/b");
}

static void test_percent(void)
{
    check("percent-decode-unreserved", NULL, "/%41%2f%7e?x=%61", "/A%2f~?x=a");
    check("percent-decode-unreserved", NULL, "/%zz", "/%zz");
    check("percent-to-uppercase", NULL, "/%2f%aa", "/%2F%AA");
    char out[64];
    int code = sp__normuri_parse("percent-decode-unreserved", "strict");
    CU_ASSERT_TRUE(code & SP_NORMURI_OPT);
    CU_ASSERT_EQUAL(sp__normuri_apply(code, "/%zz", 4, out, sizeof(out)), -EINVAL);
    CU_ASSERT_EQUAL(sp__normuri_apply(code, "/%4", 3, out, sizeof(out)), -EINVAL);
}

static void test_fragment_query(void)
{
    check("fragment-strip", NULL, "/a?b#c", "/a?b");
    check("fragment-encode", NULL, "/a#b#c", "/a%23b%23c");
    check("query-sort-by-name", NULL, "/?b=1&a=2&b=0&aa=3", "/?a=2&aa=3&b=1&b=0");
    check("query-sort-by-name", NULL, "/nothing", "/nothing");
    CU_ASSERT_EQUAL(sp__normuri_parse("nope", NULL), -1);
    char out[4];
    int code = sp__normuri_parse("fragment-encode", NULL);
    CU_ASSERT_EQUAL(sp__normuri_apply(code, "/a#b#c", 6, out, sizeof(out)), -ENOSPC);
}

void test_normuri_register(void)
{
    CU_pSuite s = sp_unit_suite("normuri");

    sp_unit_test(s, "path: slashes, dot, dotdot [full]", test_path);
    sp_unit_test(s, "percent: decode unreserved, uppercase, strict", test_percent);
    sp_unit_test(s, "fragment and query", test_fragment_query);
}
