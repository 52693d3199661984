/* tests/balance/test_userlist.c - `userlist` sections (core/cfguserlist.c), their compiled
 * form (balance/userlist.c) and the http_auth* fetches (balance/fetch-auth.c) over a fake
 * request. */
#include "balance/acl.h"
#include "balance/sample.h"
#include "balance/userlist.h"
#include "core/config.h"

#include "tests/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "s3cret" under SHA-512 crypt (openssl passwd -6 -salt abcdefgh s3cret) */
#define HASH6                                                                                      \
    "$6$abcdefgh$Z7KfoKnKTSZrzo5VZ0YubGLQOj9ov6sHo9TmE3zIU/LHKhpE30zCnZ0mcIXYf9r9rQ4DYaXoxAF"      \
    "SPFlcWdxjB."

static const char *auth_hdr; /* the request's Authorization value, or NULL */

static void fake_hdr(const void *req, size_t i, const char **name, size_t *name_len,
                     const char **value, size_t *value_len)
{
    (void)req;
    static const char *const names[] = {"Host", "Authorization"};
    const char *v = i == 0 ? "example.test" : auth_hdr;
    *name = names[i];
    *name_len = strlen(names[i]);
    *value = v;
    *value_len = strlen(v);
}

static struct sp_acl_env env_with(const char *auth)
{
    auth_hdr = auth;
    struct sp_acl_env env = {
        .method = "GET",
        .method_len = 3,
        .uri = "/",
        .uri_len = 1,
        .version = 11,
        .nhdrs = auth ? 2 : 1,
        .hdr = fake_hdr,
        .req = &auth_hdr,
    };
    return env;
}

static struct sp_userlist *UL;

static const struct sp_userlist *fake_ul(const void *ctx, const char *name)
{
    (void)ctx;
    return UL && !strcmp(name, sp_userlist_name(UL)) ? UL : NULL;
}

static const struct sp_acl_resolver RES = {
    .self_fe = 0, .self_be = 0, .what = SP_ACL_CTX_HTTP, .userlist = fake_ul};

static struct sp_config *load(const char *text, char *diag, size_t size)
{
    FILE *f = fmemopen(diag, size, "w");
    struct sp_config *cfg = NULL;
    CU_ASSERT_FATAL(f != NULL);
    sp_config_parse_string(text, "t.cfg", f, &cfg);
    fclose(f);
    return cfg;
}

static const char *const GOOD = "userlist users\n"
                                "  group admins users alice\n"
                                "  group ops\n"
                                "  user alice password " HASH6 "\n"
                                "  user bob insecure-password hunter2 groups ops\n"
                                "  user carol\n"
                                "frontend f\n"
                                "  mode http\n"
                                "  bind 127.0.0.1:1\n"
                                "  default_backend b\n"
                                "backend b\n"
                                "  mode http\n"
                                "  server s 127.0.0.1:2\n";

static void test_parse(void)
{
    char diag[2048] = "";
    struct sp_config *cfg = load(GOOD, diag, sizeof(diag));
    CU_ASSERT_FATAL(cfg != NULL);
    const struct sp_cfg_userlist *ul = sp_config_find_userlist(cfg, "users");
    CU_ASSERT_FATAL(ul != NULL);
    CU_ASSERT_STRING_EQUAL(ul->users->name, "alice");
    CU_ASSERT(!ul->users->insecure);
    CU_ASSERT_STRING_EQUAL(ul->users->next->pass, "hunter2");
    CU_ASSERT(ul->users->next->insecure);
    CU_ASSERT_PTR_NULL(ul->users->next->next->pass);
    CU_ASSERT_STRING_EQUAL(ul->groups->users, "alice");
    CU_ASSERT(sp_cfg_ul_member(ul->users, ul->groups));             /* alice in admins */
    CU_ASSERT(!sp_cfg_ul_member(ul->users, ul->groups->next));      /* alice not in ops */
    CU_ASSERT(sp_cfg_ul_member(ul->users->next, ul->groups->next)); /* bob in ops */
    CU_ASSERT_PTR_NULL(sp_config_find_userlist(cfg, "nope"));
    sp_config_free(cfg);
}

static void expect_error(const char *text, const char *msg)
{
    char diag[2048] = "";
    struct sp_config *cfg = load(text, diag, sizeof(diag));
    CU_ASSERT_PTR_NULL(cfg);
    if (!strstr(diag, msg))
        fprintf(stderr, "\nexpected '%s' in:\n%s\n", msg, diag);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, msg));
    sp_config_free(cfg);
}

static void test_parse_errors(void)
{
    expect_error("userlist u\n  user a password $9$nothing\n",
                 "t.cfg:2: 'user': the encrypted password used for user 'a' is not supported "
                 "by crypt(3)");
    expect_error("userlist u\n  user a password $2b$31$abcdefghijklmnopqrstuu\n",
                 "t.cfg:2: 'user': the password hash of user 'a' costs 31");
    expect_error("userlist u\n  user a password $6$rounds=999999999$salt$x\n", "costs 999999999");
    expect_error("userlist u\n  user a insecure-password x groups g1\n",
                 "t.cfg:2: 'user': userlist 'u': no such group 'g1' specified in user 'a'");
    expect_error("userlist u\n  group g users zed\n",
                 "t.cfg:2: 'group': userlist 'u': no such user 'zed' specified in group 'g'");
    expect_error("userlist u\n  group g members a\n", "'group' only supports 'users' option");
    expect_error("userlist u\n  user a password\n",
                 "'user' only supports 'password', 'insecure-password' and 'groups'");
    expect_error("userlist u\n  secret x\n", "unknown keyword 'secret' in 'userlist' section");
    expect_error("userlist\n", "'userlist': expects exactly one NAME");
}

static bool cond(const char *acl, const char *auth)
{
    char err[512] = "";
    struct sp_acl_set *set = sp_acl_set_new();
    char buf[512], *words[16];
    int n = 0;
    snprintf(buf, sizeof(buf), "%s", acl);
    for (char *t = strtok(buf, " "); t && n < 16; t = strtok(NULL, " "))
        words[n++] = t;
    int r = sp_acl_declare(set, &RES, words, n, err, sizeof(err));
    if (r)
        fprintf(stderr, "\n%s: %s\n", acl, err);
    CU_ASSERT_FATAL(r == 0);
    char *cw[] = {"if", words[0]};
    struct sp_acl_cond *c = sp_acl_cond_parse(set, &RES, cw, 2, err, sizeof(err));
    CU_ASSERT_FATAL(c != NULL);
    struct sp_acl_env env = env_with(auth);
    bool v = sp_acl_cond_eval(c, &env);
    sp_acl_cond_free(c);
    sp_acl_set_free(set);
    return v;
}

static void test_fetches(void)
{
    char diag[2048] = "";
    struct sp_config *cfg = load(GOOD, diag, sizeof(diag));
    CU_ASSERT_FATAL(cfg != NULL);
    UL = sp_userlist_build(sp_config_find_userlist(cfg, "users"));
    CU_ASSERT_FATAL(UL != NULL);

    /* alice:s3cret, bob:hunter2, alice:wrong, carol:x (no password) */
    const char *alice = "Basic YWxpY2U6czNjcmV0", *bob = "Basic Ym9iOmh1bnRlcjI=",
               *wrong = "Basic YWxpY2U6d3Jvbmc=", *carol = "Basic Y2Fyb2w6eA==";
    CU_ASSERT(cond("ok http_auth(users)", alice));
    CU_ASSERT(cond("ok http_auth(users)", bob));
    CU_ASSERT(!cond("ok http_auth(users)", wrong));
    CU_ASSERT(!cond("ok http_auth(users)", carol));
    CU_ASSERT(!cond("ok http_auth(users)", NULL));
    CU_ASSERT(!cond("ok http_auth(users)", "Basic !!!!"));
    CU_ASSERT(!cond("ok http_auth(users)", "Basic Ym9i")); /* "bob": no colon */
    CU_ASSERT(cond("ok http_auth(users)", "basic   Ym9iOmh1bnRlcjI="));
    /* groups: by the group's users list and by the user's groups */
    CU_ASSERT(cond("g http_auth_group(users) admins", alice));
    CU_ASSERT(!cond("g http_auth_group(users) admins", bob));
    CU_ASSERT(cond("g http_auth_group(users) admins ops", bob));
    CU_ASSERT(!cond("g http_auth_group(users) ops", wrong));
    /* -m str compares the user name, as in HAProxy */
    CU_ASSERT(cond("g http_auth_group(users) -m str bob", bob));
    CU_ASSERT(!cond("g http_auth_group(users) -m str ops", bob));
    CU_ASSERT(cond("t http_auth_type Basic", bob));
    CU_ASSERT(cond("t http_auth_type Bearer", "Bearer abc.def"));
    CU_ASSERT(cond("t http_auth_bearer abc.def", "Bearer abc.def"));
    CU_ASSERT(!cond("t http_auth_type -m found", "Digest x=y"));
    CU_ASSERT(cond("u http_auth_user bob", bob));
    CU_ASSERT(cond("p http_auth_pass hunter2", bob));
    CU_ASSERT(cond("p http_auth_pass wrong", wrong)); /* the fetch does not check */

    /* as samples */
    char err[256];
    struct sp_smp_expr *e = sp_smp_compile("http_auth_user,upper", 20, &RES, err, sizeof(err));
    CU_ASSERT_FATAL(e != NULL);
    struct sp_acl_env env = env_with(alice);
    const char *p;
    size_t len;
    CU_ASSERT(sp_smp_eval_str(e, &env, &p, &len) && len == 5 && !memcmp(p, "ALICE", 5));
    sp_smp_free(e);

    /* unknown userlist, missing argument */
    struct sp_acl_set *set = sp_acl_set_new();
    char *w1[] = {"x", "http_auth(nope)"}, *w2[] = {"x", "http_auth"};
    CU_ASSERT(sp_acl_declare(set, &RES, w1, 2, err, sizeof(err)) != 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no such userlist 'nope'"));
    CU_ASSERT(sp_acl_declare(set, &RES, w2, 2, err, sizeof(err)) != 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "expects a userlist name"));
    sp_acl_set_free(set);

    UL = sp_userlist_free(UL);
    sp_config_free(cfg);
}

/* unique-id-format / unique-id-header: defaults inherited, "" clears, a backend refuses */
static void test_unique_id_keywords(void)
{
    char diag[2048] = "";
    struct sp_config *cfg = load("defaults\n  mode http\n"
                                 "  unique-id-format %{+X}o\\ %ci:%cp_%rt\n"
                                 "  unique-id-header X-ID\n"
                                 "frontend f1\n  bind 127.0.0.1:1\n  default_backend b\n"
                                 "frontend f2\n  bind 127.0.0.1:2\n  unique-id-format \"\"\n"
                                 "  default_backend b\n"
                                 "backend b\n  server s 127.0.0.1:3\n",
                                 diag, sizeof(diag));
    CU_ASSERT_FATAL(cfg != NULL);
    const struct sp_cfg_proxy *f1 = sp_config_find_proxy(cfg, "f1", SP_CAP_FE);
    const struct sp_cfg_proxy *f2 = sp_config_find_proxy(cfg, "f2", SP_CAP_FE);
    CU_ASSERT_FATAL(f1 && f2);
    CU_ASSERT_STRING_EQUAL(f1->unique_id_format, "%{+X}o %ci:%cp_%rt");
    CU_ASSERT_STRING_EQUAL(f1->unique_id_header, "X-ID");
    CU_ASSERT_PTR_NULL(f2->unique_id_format);
    CU_ASSERT_STRING_EQUAL(f2->unique_id_header, "X-ID");
    sp_config_free(cfg);
    expect_error("backend b\n  unique-id-format %ci\n",
                 "t.cfg:2: 'unique-id-format': not allowed in a 'backend' section");
    expect_error("frontend f\n  unique-id-header\n",
                 "t.cfg:2: 'unique-id-header': expects exactly 1 argument");
    expect_error("defaults\n  stats admin if TRUE\n",
                 "t.cfg:2: 'stats admin': not allowed in 'defaults' section");
    expect_error("backend b\n  stats http-request deny\n",
                 "t.cfg:2: 'stats http-request': not supported by spillway in a backend");
}

static void test_base64(void)
{
    char out[16];
    CU_ASSERT(sp_base64_dec("YWJj", 4, out, sizeof(out)) == 3 && !memcmp(out, "abc", 3));
    CU_ASSERT(sp_base64_dec("YQ==", 4, out, sizeof(out)) == 1 && out[0] == 'a');
    CU_ASSERT(sp_base64_dec("YWI=", 4, out, sizeof(out)) == 2);
    CU_ASSERT(sp_base64_dec("YQ=", 3, out, sizeof(out)) == -1);
    CU_ASSERT(sp_base64_dec("Y=Q=", 4, out, sizeof(out)) == -1);
    CU_ASSERT(sp_base64_dec("YQ==YQ==", 8, out, sizeof(out)) == -1);
    CU_ASSERT(sp_base64_dec("YWJjYWJj", 8, out, 5) == -1);
}

void test_userlist_register(void)
{
    CU_pSuite s = CU_add_suite("userlist", NULL, NULL);
    CU_add_test(s, "parse", test_parse);
    CU_add_test(s, "parse errors", test_parse_errors);
    CU_add_test(s, "http_auth fetches", test_fetches);
    CU_add_test(s, "base64", test_base64);
    CU_add_test(s, "unique-id keywords", test_unique_id_keywords);
}
