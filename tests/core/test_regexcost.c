/* tests/core/test_regexcost.c - the bound on a regex's expansion checked before regcomp()
 * (core/regexcost.c): real-world patterns pass, the ones glibc needs gigabytes for do not,
 * and a refused one costs nothing to refuse. */
#include "core/regexcost.h"

#include "tests/unit.h"

#include <regex.h>
#include <string.h>
#include <time.h>

static int cost(const char *p)
{
    char why[200];
    return sp_regex_cost(p, SP_REGEX_MAX_COPIES, why, sizeof(why));
}

static void test_real_world(void)
{
    static const char *const ok[] = {
        "^/api/v[0-9]+/users/[^/]+/?$",
        "^(www\\.)?example\\.(com|org)$",
        "\\.(jpg|jpeg|png|gif|css|js|woff2?)$",
        "[0-9]{1,255}\\.[0-9]{1,255}",
        ".{1,1024}",
        "^[a-f0-9]{8}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{4}-[a-f0-9]{12}$",
        "(Mozilla|Chrome|Safari|curl|Wget)/[0-9.]+",
        "((a|b)+)+c",
        "(.*)*(.*)*",
        "[]a-z{]+\\{x\\}",
        "[[:alpha:]]{2,3}[^]]*",
        "a{",
        "a{1",
        "x{1,100}y{1,100}z{1,100}",
        "a++++++++++", /* 10 stacked: 1023 copies */
        ")(",
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int c = cost(ok[i]);
        if (c < 0)
            fprintf(stderr, "refused: %s\n", ok[i]);
        CU_ASSERT_TRUE(c >= 0);
    }
    CU_ASSERT_EQUAL(cost("abc"), 0);
    CU_ASSERT_EQUAL(cost("a*b?c"), 0);
    CU_ASSERT_EQUAL(cost("a+"), 1);
    CU_ASSERT_EQUAL(cost("(ab){3}"), 4);
    CU_ASSERT_EQUAL(cost("a{2,}"), 2);
    /* ten thousand alternatives: long, but nothing repeated */
    static char big[60000];
    for (size_t i = 0; i + 6 < sizeof(big); i += 6)
        memcpy(big + i, "word|", 6);
    big[sizeof(big) - 1] = 0;
    CU_ASSERT_EQUAL(cost(big), 0);
}

static void test_hostile(void)
{
    static const char *const bad[] = {
        "a++++++++++++++++++++++++++",
        "a++++++++++++", /* 12 stacked: 4095 copies */
        "a{1,8000}",
        "(a{1,1000}){1,100}",
        "(a|b|c|d|e|f|g|h){1,4000}",
        "((a{1,10}){1,10}){1,300}",
        "(((a{99999}){99999}){99999}){99999}",
        "[a-z]{1,32767}",
    };
    char why[200];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct timespec a, b;
        clock_gettime(CLOCK_MONOTONIC, &a);
        int c = sp_regex_cost(bad[i], SP_REGEX_MAX_COPIES, why, sizeof(why));
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (c >= 0)
            fprintf(stderr, "accepted: %s (%d)\n", bad[i], c);
        CU_ASSERT_EQUAL(c, -1);
        CU_ASSERT_PTR_NOT_NULL(strstr(why, "copies"));
        CU_ASSERT_TRUE((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 50000000L);
    }
    /* deep nesting */
    static char deep[1000];
    memset(deep, '(', 300);
    deep[300] = 'a';
    memset(deep + 301, ')', 300);
    deep[601] = 0;
    CU_ASSERT_EQUAL(sp_regex_cost(deep, SP_REGEX_MAX_COPIES, why, sizeof(why)), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(why, "nested"));
}

/* what passes compiles fast: the bound is below glibc's slow region */
static void test_bound_is_cheap(void)
{
    static const char *const edge[] = {"a{1,2048}", "a++++++++++", "(a{1,64}){1,32}"};
    for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
        regex_t re;
        struct timespec a, b;
        CU_ASSERT_TRUE(cost(edge[i]) >= 0);
        clock_gettime(CLOCK_MONOTONIC, &a);
        CU_ASSERT_EQUAL(regcomp(&re, edge[i], REG_EXTENDED | REG_NOSUB), 0);
        clock_gettime(CLOCK_MONOTONIC, &b);
        regfree(&re);
        CU_ASSERT_TRUE((b.tv_sec - a.tv_sec) < 2);
    }
}

void test_regexcost_register(void)
{
    CU_pSuite s = sp_unit_suite("core/regexcost");
    sp_unit_test(s, "real-world patterns pass", test_real_world);
    sp_unit_test(s, "expanding patterns are refused at once", test_hostile);
    sp_unit_test(s, "the bound's edge compiles quickly", test_bound_is_cheap);
}
