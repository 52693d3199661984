/* tests/balance/test_sample.c - sample expressions of balance/sample.c: fetch single-value
 * semantics, every converter with HAProxy 2.6's results (reg-tests/converter/ where it has
 * them), variables, map files of each match kind, and compile errors. */
#include "balance/sample.h"

#include "tests/unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXHDR 16

/* the request and response the next evaluation sees; reset() before each test */
static struct {
    const char *uri;
    const char *hname[MAXHDR], *hval[MAXHDR];
    size_t nhdrs;
    const char *rname[MAXHDR], *rval[MAXHDR];
    size_t nres;
    int status;
    struct sockaddr_storage src;
    struct sp_vars sess, txn;
    const char *body; /* the request body the fetches see, NULL: no body callback */
    uint64_t body_size;
} F;

static char err[512];
static enum sp_acl_ctx ctx = SP_ACL_CTX_HTTP;

static void reset(void)
{
    sp_vars_clear(&F.sess);
    sp_vars_clear(&F.txn);
    memset(&F, 0, sizeof(F));
    F.uri = "/";
    ctx = SP_ACL_CTX_HTTP;
}

static void add_hdr(const char *n, const char *v)
{
    F.hname[F.nhdrs] = n;
    F.hval[F.nhdrs++] = v;
}

static void add_res(const char *n, const char *v)
{
    F.rname[F.nres] = n;
    F.rval[F.nres++] = v;
}

static void get_hdr(const void *req, size_t i, const char **name, size_t *name_len,
                    const char **value, size_t *value_len)
{
    (void)req;
    *name = F.hname[i];
    *name_len = strlen(F.hname[i]);
    *value = F.hval[i];
    *value_len = strlen(F.hval[i]);
}

static void get_res(const void *res, size_t i, const char **name, size_t *name_len,
                    const char **value, size_t *value_len)
{
    (void)res;
    *name = F.rname[i];
    *name_len = strlen(F.rname[i]);
    *value = F.rval[i];
    *value_len = strlen(F.rval[i]);
}

static bool get_body(const struct sp_acl_env *e, const char **p, size_t *len, uint64_t *size)
{
    (void)e;
    *p = F.body;
    *len = strlen(F.body);
    *size = F.body_size ? F.body_size : *len;
    return true;
}

static struct sp_acl_env env(void)
{
    struct sp_acl_env e = {
        .method = "GET",
        .method_len = 3,
        .uri = F.uri,
        .uri_len = strlen(F.uri),
        .version = 11,
        .nhdrs = F.nhdrs,
        .hdr = get_hdr,
        .req = &F,
        .src = F.src.ss_family ? &F.src : NULL,
        .status = F.status,
        .res_nhdrs = F.nres,
        .res_hdr = get_res,
        .res = &F,
        .res_version = 11,
        .sess_vars = &F.sess,
        .txn_vars = &F.txn,
        .body = F.body ? get_body : NULL,
    };
    return e;
}

static void set_src(const char *ip, int port)
{
    memset(&F.src, 0, sizeof(F.src));
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&F.src;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, ip, &s6->sin6_addr);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&F.src;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, ip, &s4->sin_addr);
    }
}

static struct sp_smp_expr *compile(const char *text)
{
    struct sp_acl_resolver res = {.self_fe = 0, .self_be = 0, .what = ctx};
    err[0] = '\0';
    return sp_smp_compile(text, strlen(text), &res, err, sizeof(err));
}

/* The expression's value as text, "<fail>" when the sample fails, "<err: ...>" when it does
 * not compile. */
static const char *ev(const char *text)
{
    static char out[4096];
    struct sp_smp_expr *e = compile(text);
    if (!e) {
        snprintf(out, sizeof(out), "<err: %s>", err);
        return out;
    }
    struct sp_acl_env en = env();
    const char *p;
    size_t n;
    if (sp_smp_eval_str(e, &en, &p, &n))
        snprintf(out, sizeof(out), "%.*s", (int)n, p);
    else
        snprintf(out, sizeof(out), "<fail>");
    sp_smp_free(e);
    return out;
}

/* The compile error of text ("" when it compiles). */
static const char *cerr(const char *text)
{
    struct sp_smp_expr *e = compile(text);
    if (e) {
        sp_smp_free(e);
        return "";
    }
    return err;
}

#define EV(text, want) CU_ASSERT_STRING_EQUAL(ev(text), want)
#define CERR(text, sub)                                                                            \
    do {                                                                                           \
        const char *m_ = cerr(text);                                                               \
        CU_ASSERT_PTR_NOT_NULL(strstr(m_, sub));                                                   \
        if (!strstr(m_, sub))                                                                      \
            fprintf(stderr, "\n%s: got '%s', want '%s'\n", text, m_, sub);                         \
    } while (0)

static void set_var(const char *name, const char *value)
{
    struct sp_var_ref ref;
    CU_ASSERT_FATAL(sp_var_ref_parse(name, strlen(name), &ref, err, sizeof(err)) == 0);
    struct sp_smp v = {.type = SP_SMP_STR, .u.str = {value, strlen(value)}};
    struct sp_acl_env en = env();
    CU_ASSERT(sp_var_set(&en, &ref, &v) == 0);
}

/* ---- fetches ---- */

static void test_fetch_single(void)
{
    reset();
    F.uri = "/a/b.html?x=1&y=2&x=3";
    add_hdr("Host", "Example.COM");
    add_hdr("X-L", "a, b");
    add_hdr("x-l", "c");
    add_hdr("Cookie", "s=1; t=2");
    add_hdr("Cookie", "s=3");
    /* hdr(): the last occurrence by default, of comma-separated values */
    EV("hdr(x-l)", "c");
    EV("hdr(x-l,1)", "a");
    EV("hdr(x-l,-2)", "b");
    EV("req.hdr(x-l,2)", "b");
    EV("req.fhdr(x-l,1)", "a, b");
    EV("req.fhdr(x-l)", "c");
    EV("hdr(nope)", "<fail>");
    EV("hdr_cnt(x-l)", "3");
    EV("req.fhdr_cnt(x-l)", "2");
    EV("hdr_cnt", "6");
    /* cookies: the last one; URL parameters: the first */
    EV("req.cook(s)", "3");
    EV("cook(t)", "2");
    EV("url_param(x)", "1");
    EV("urlp(y)", "2");
    EV("path", "/a/b.html");
    EV("query", "x=1&y=2&x=3");
    EV("pathq", "/a/b.html?x=1&y=2&x=3");
    EV("base", "Example.COM/a/b.html");
    EV("url", "/a/b.html?x=1&y=2&x=3");
    EV("method", "GET");
    EV("req.ver", "1.1");
    EV("req.hdr_names", "Host,X-L,x-l,Cookie,Cookie");
    EV("req.hdr_names(;)", "Host;X-L;x-l;Cookie;Cookie");
    EV("url_ip", "<fail>");
    F.uri = "http://10.1.2.3:8080/p?q";
    EV("url_ip", "10.1.2.3");
    EV("url_port", "8080");
    EV("pathq", "/p?q");
    F.uri = "http://10.1.2.3/";
    EV("url_port", "80");
    set_src("192.0.2.7", 4321);
    EV("src", "192.0.2.7");
    EV("src_port", "4321");
    EV("src,ipmask(24)", "192.0.2.0");
    set_src("2001:db8::1", 1);
    EV("src", "2001:db8::1");
    EV("src,ipmask(24)", "<fail>");
    EV("src,ipmask(24,32)", "2001:db8::");
    EV("str(abc)", "abc");
    EV("int(-42)", "-42");
    EV("bool(true)", "1");
    EV("bool(0)", "0");
    EV("str(\"a,b\")", "a,b");
    EV("str(a\\ b)", "a b");
    EV("always_true", "1");
    reset();
}

static void test_fetch_response(void)
{
    reset();
    F.status = 404;
    add_res("Set-Cookie", "a=1");
    add_res("X-R", "p, q");
    add_res("X-R", "r");
    ctx = SP_ACL_CTX_HTTP_RES;
    EV("status", "404");
    EV("res.hdr(x-r)", "r");
    EV("res.hdr(x-r,1)", "p");
    EV("res.fhdr(x-r,1)", "p, q");
    EV("res.hdr_cnt(x-r)", "3");
    EV("res.fhdr_cnt(x-r)", "2");
    EV("res.hdr_names", "Set-Cookie,X-R,X-R");
    EV("res.ver", "1.1");
    ctx = SP_ACL_CTX_HTTP;
    CERR("status", "extracts information from 'HTTP response headers', none of which is "
                   "available here");
    CERR("res.hdr(x)", "none of which is available here");
    ctx = SP_ACL_CTX_CONN;
    CERR("hdr(host)", "reads an HTTP request");
    reset();
}

/* ---- converters ---- */

static void test_conv_strings(void)
{
    reset();
    EV("str(MiXed),lower", "mixed");
    EV("str(MiXed),upper", "MIXED");
    EV("str(hello),length", "5");
    EV("str(hello),bytes(1,3)", "ell");
    EV("str(hello),bytes(2)", "llo");
    EV("str(hello),bytes(9)", "");
    /* reg-tests/converter/field.vtc */
    EV("str(/foo/bar/baz),field(3,/)", "bar");
    EV("str(/foo),field(3,/)", "<fail>");
    EV("str(a.b.c.d),field(-2,.)", "c");
    EV("str(a.b.c.d),field(2,.,2)", "b.c");
    EV("str(a.b.c.d),field(-3,.,0)", "a.b");
    EV("str(//a//b/),word(2,/)", "b");
    EV("str(//a//b/),word(-1,/)", "b");
    EV("str(//a//b/),word(3,/)", "");
    EV("str(a/b/c/d),word(2,/,2)", "b/c");
    EV("str(  x y  ),ltrim(\" \")", "x y  ");
    EV("str(  x y  ),rtrim(\" \")", "  x y");
    EV("str(ab\r\ncd),cut_crlf", "ab");
    /* regsub, the documented examples */
    EV("str(/////a///b/c/xzxyz/),regsub('/+','/','g')", "/a/b/c/xzxyz/");
    EV("str(/////a///b/c/xzxyz/),regsub('/+','/')", "/a///b/c/xzxyz/");
    EV("str(??&a=1),regsub([?;&]*,'')", "a=1");
    EV("str(/Foo12),regsub(\"(foo|bar)([0-9]+)?\",\"\\2\\1\",i)", "/12Foo");
    EV("str(abc),regsub(x*,-,g)", "-a-b-c-");
    /* json, reg-tests/converter/json.vtc */
    EV("str(foo 1/2),json", "foo 1\\/2");
    EV("str(\xE0),json(utf8)", "<fail>");
    EV("str(-\xE0-),json(utf8s)", "--");
    EV("str(\"a\\\"b\"),json", "a\\\"b");
    EV("str(\xC3\xA9),json(utf8)", "\\u00e9");
    EV("str(\t),json(ascii)", "\\t");
    /* url_dec / url_enc, reg-tests/converter/url_enc.vtc and url_dec.vtc */
    EV("str(foo=bar+42 42 ),url_enc", "foo%3Dbar%2B42%2042%20");
    EV("str(foo=bar+42 42 ),url_enc(query)", "foo%3Dbar%2B42%2042%20");
    EV("str(foo%3Dbar%2B42%2042%20),url_dec", "foo=bar+42 42 ");
    EV("str(a+b),url_dec(1)", "a b");
    EV("str(a+b?c+d),url_dec", "a+b?c d");
    EV("str(%4),url_dec", "<fail>");
    EV("str(hello world!?),base64", "aGVsbG8gd29ybGQhPw==");
    EV("str(aGVsbG8gd29ybGQhPw==),b64dec", "hello world!?");
    EV("str(aGVsbG8),b64dec", "<fail>");
    EV("str(\xfb\xff\xfe),ub64enc", "-__-");
    EV("str(-__-),ub64dec,hex", "FBFFFE");
    EV("str(AZ),hex", "415A");
    EV("str(ff),hex2i", "255");
    EV("str(fg),hex2i", "<fail>");
    EV("int(258),hex", "0000000000000102");
    EV("int(258),htonl,hex", "00000102");
    EV("str(ab),concat(<,,>)", "ab<>");
    set_var("txn.v", "VV");
    EV("str(ab),concat(<,txn.v,>)", "ab<VV>");
    EV("str(ab),concat(<,txn.none,>)", "ab<>");
    EV("str(ab),add_item(\",\",txn.v)", "ab,VV");
    EV("str(\"\"),add_item(\",\",txn.v)", "VV");
    EV("str(ab),add_item(\",\",,suf)", "ab,suf");
    EV("str(VV),strcmp(txn.v)", "0");
    EV("str(VA),strcmp(txn.v)", "-1");
    EV("str(VVV),strcmp(txn.v)", "1");
    EV("str(VV),secure_memcmp(txn.v)", "1");
    EV("str(VW),secure_memcmp(txn.v)", "0");
    EV("bool(1),iif(yes,no)", "yes");
    EV("int(0),iif(yes,no)", "no");
    reset();
}

static void test_conv_numbers(void)
{
    reset();
    EV("int(7),add(3)", "10");
    EV("int(9223372036854775807),add(1)", "9223372036854775807");
    EV("int(-9223372036854775807),sub(10)", "-9223372036854775808");
    EV("int(7),sub(10)", "-3");
    EV("int(7),mul(-3)", "-21");
    EV("int(4611686018427387904),mul(4)", "9223372036854775807");
    EV("int(4611686018427387904),mul(-4)", "-9223372036854775808");
    EV("int(7),div(2)", "3");
    EV("int(7),div(0)", "9223372036854775807");
    EV("int(7),mod(4)", "3");
    EV("int(7),mod(0)", "0");
    EV("int(-9223372036854775808),neg", "9223372036854775807");
    EV("int(5),neg", "-5");
    EV("int(12),and(10)", "8");
    EV("int(12),or(3)", "15");
    EV("int(12),xor(10)", "6");
    EV("int(0),cpl", "-1");
    EV("int(3),bool", "1");
    EV("int(0),not", "1");
    EV("int(3),odd", "1");
    EV("int(3),even", "0");
    set_var("txn.n", "5");
    EV("int(7),add(txn.n)", "12");
    EV("int(7),mul(txn.none)", "<fail>");
    EV("str(12abc),add(1)", "13");
    EV("str(''),add(1)", "<fail>");
    /* hashes: HAProxy's src/hash.c functions and full_hash() */
    EV("str(abc),sdbm", "807794786");
    EV("str(abc),djb2", "193485963");
    EV("str(\"\"),djb2", "5381");
    EV("str(abc),crc32", "891568578");
    EV("str(www.example.com),sdbm", "2718216582");
    EV("str(\"\"),xxh32", "46947589");
    EV("str(abc),xxh32", "852579327");
    CU_ASSERT_STRING_NOT_EQUAL(ev("str(abc),djb2(1)"), "193485963");
    reset();
}

static void test_conv_vars(void)
{
    struct sp_var_ref ref, r2;
    struct sp_smp v;
    reset();
    struct sp_acl_env en = env();

    /* set-var as a converter passes its input through */
    EV("str(x1),set-var(txn.a)", "x1");
    EV("var(txn.a)", "x1");
    EV("var(txn.a),set-var(txn.a)", "x1"); /* a value set from its own bytes */
    EV("var(txn.a),bytes(1),set-var(txn.a)", "1");
    EV("var(txn.a)", "1");
    EV("str(x1),set-var(txn.a)", "x1");
    EV("var(txn.a),unset-var(txn.a)", "x1");
    EV("var(txn.a)", "<fail>");
    EV("var(txn.a,dflt)", "dflt");
    EV("int(42),set-var(sess.i)", "42");
    EV("var(sess.i),add(1)", "43");
    /* types are kept */
    CU_ASSERT(sp_var_ref_parse("sess.i", 6, &ref, err, sizeof(err)) == 0);
    CU_ASSERT(sp_var_get(&en, &ref, &v) && v.type == SP_SMP_SINT && v.u.sint == 42);
    /* the same name in two scopes is two variables, with one id */
    CU_ASSERT(sp_var_ref_parse("txn.i", 5, &r2, err, sizeof(err)) == 0);
    CU_ASSERT_EQUAL(ref.id, r2.id);
    CU_ASSERT_STRING_EQUAL(r2.name, "txn.i");
    CU_ASSERT_FALSE(sp_var_get(&en, &r2, &v));
    /* bounded store */
    static char big[SP_VARS_MAX_BYTES];
    memset(big, 'a', sizeof(big));
    struct sp_smp bv = {.type = SP_SMP_STR, .u.str = {big, sizeof(big)}};
    CU_ASSERT_EQUAL(sp_var_set(&en, &r2, &bv), 0);
    bv.u.str.len = 1;
    CU_ASSERT(sp_var_ref_parse("txn.other", 9, &ref, err, sizeof(err)) == 0);
    CU_ASSERT_EQUAL(sp_var_set(&en, &ref, &bv), -ENOSPC);
    /* replacing a value frees its bytes first */
    CU_ASSERT_EQUAL(sp_var_set(&en, &r2, &bv), 0);
    CU_ASSERT_EQUAL(sp_var_set(&en, &ref, &bv), 0);
    sp_var_unset(&en, &r2);
    CU_ASSERT_FALSE(sp_var_get(&en, &r2, &v));
    /* no store */
    struct sp_acl_env none = {0};
    CU_ASSERT(sp_var_set(&none, &r2, &bv) < 0);
    CU_ASSERT_FALSE(sp_var_get(&none, &r2, &v));
    /* proc.* lives in the process */
    CU_ASSERT(sp_var_ref_parse("proc.p", 6, &ref, err, sizeof(err)) == 0);
    CU_ASSERT_EQUAL(sp_var_set(&none, &ref, &bv), 0);
    CU_ASSERT(sp_var_get(&en, &ref, &v) && v.u.str.len == 1 && v.u.str.ptr[0] == 'a');
    sp_var_unset(&en, &ref);
    /* names */
    CU_ASSERT(sp_var_ref_parse("foo", 3, &ref, err, sizeof(err)) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "must start with its scope"));
    CU_ASSERT(sp_var_ref_parse("txn.", 4, &ref, err, sizeof(err)) == -EINVAL);
    CU_ASSERT(sp_var_ref_parse("txn.a b", 7, &ref, err, sizeof(err)) == -EINVAL);
    CU_ASSERT(sp_var_ref_parse("check.x", 7, &ref, err, sizeof(err)) == -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not supported by spillway"));
    reset();
}

/* ---- maps ---- */

static char map_path[64];

static void write_map(const char *text)
{
    snprintf(map_path, sizeof(map_path), "/tmp/sp-test-map-%d.map", (int)getpid());
    FILE *f = fopen(map_path, "w");
    CU_ASSERT_FATAL(f != NULL);
    fputs(text, f);
    fclose(f);
}

static const char *evm(const char *fmt, const char *arg)
{
    char text[256];
    snprintf(text, sizeof(text), fmt, map_path, arg);
    return ev(text);
}

static void test_maps(void)
{
    reset();
    write_map("# comment\n\n  /api   be_api\n/api/v2 be_v2\n/static\tbe_static  \n"
              "/ x\nexample.com dom\nkeyonly\n");
    CU_ASSERT_STRING_EQUAL(evm("str(/api),map_str(%s)%s", ""), "be_api");
    CU_ASSERT_STRING_EQUAL(evm("str(/api),map(%s)%s", ""), "be_api");
    CU_ASSERT_STRING_EQUAL(evm("str(/apix),map_str(%s)%s", ""), "<fail>");
    CU_ASSERT_STRING_EQUAL(evm("str(/apix),map_str(%s,%s)", "dflt"), "dflt");
    CU_ASSERT_STRING_EQUAL(evm("str(/static),map(%s)%s", ""), "be_static  ");
    CU_ASSERT_STRING_EQUAL(evm("str(keyonly),map(%s)%s", ""), "");
    /* beg: the longest prefix */
    CU_ASSERT_STRING_EQUAL(evm("str(/api/v2/x),map_beg(%s)%s", ""), "be_v2");
    CU_ASSERT_STRING_EQUAL(evm("str(/api/v1),map_beg(%s)%s", ""), "be_api");
    CU_ASSERT_STRING_EQUAL(evm("str(/other),map_beg(%s)%s", ""), "x");
    /* the others: the first in file order */
    CU_ASSERT_STRING_EQUAL(evm("str(x/static/y),map_sub(%s)%s", ""), "be_static  ");
    CU_ASSERT_STRING_EQUAL(evm("str(/y/static),map_end(%s)%s", ""), "be_static  ");
    CU_ASSERT_STRING_EQUAL(evm("str(www.example.com),map_dom(%s)%s", ""), "dom");
    CU_ASSERT_STRING_EQUAL(evm("str(www.example.comx),map_dom(%s)%s", ""), "<fail>");
    write_map("^/a([0-9]+)$ num\\1\n^/b one\n");
    CU_ASSERT_STRING_EQUAL(evm("str(/a12),map_reg(%s)%s", ""), "num\\1");
    CU_ASSERT_STRING_EQUAL(evm("str(/a12),map_regm(%s)%s", ""), "num12");
    CU_ASSERT_STRING_EQUAL(evm("str(/bx),map_regm(%s)%s", ""), "one");
    CU_ASSERT_STRING_EQUAL(evm("str(/c),map_reg(%s)%s", ""), "<fail>");
    write_map("10.0.0.0/8 ten\n10.1.0.0/16 ten-one\n192.168.1.1 host\n2001:db8::/32 v6\n");
    CU_ASSERT_STRING_EQUAL(evm("str(10.1.2.3),map_ip(%s)%s", ""), "ten-one");
    CU_ASSERT_STRING_EQUAL(evm("str(10.2.2.3),map_ip(%s)%s", ""), "ten");
    CU_ASSERT_STRING_EQUAL(evm("str(192.168.1.1),map_ip(%s)%s", ""), "host");
    CU_ASSERT_STRING_EQUAL(evm("str(192.168.1.2),map_ip(%s)%s", ""), "<fail>");
    CU_ASSERT_STRING_EQUAL(evm("str(2001:db8::5),map_ip(%s)%s", ""), "v6");
    set_src("10.9.9.9", 1);
    CU_ASSERT_STRING_EQUAL(evm("src,map_ip(%s)%s", ""), "ten");
    write_map("1 one\n5:9 five-nine\n");
    CU_ASSERT_STRING_EQUAL(evm("int(1),map_int(%s)%s", ""), "one");
    CU_ASSERT_STRING_EQUAL(evm("int(7),map_int(%s)%s", ""), "five-nine");
    CU_ASSERT_STRING_EQUAL(evm("int(4),map_int(%s,%s)", "none"), "none");
    write_map("a 10\nb 20\n");
    CU_ASSERT_STRING_EQUAL(evm("str(b),map_str_int(%s)%s", ""), "20");
    CU_ASSERT_STRING_EQUAL(evm("str(b),map_str_int(%s),add(1)%s", ""), "21");
    CU_ASSERT_STRING_EQUAL(evm("str(c),map_str_int(%s,%s)", "7"), "7");
    write_map("a 10.0.0.1\n");
    CU_ASSERT_STRING_EQUAL(evm("str(a),map_str_ip(%s)%s", ""), "10.0.0.1");
    /* errors name the file and the line */
    write_map("a 10\nb twenty\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(evm("str(b),map_str_int(%s)%s", ""), "line 2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(evm("str(b),map_str_int(%s)%s", ""), "not an integer"));
    write_map("x\n10.0.0.300 bad\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(evm("str(b),map_ip(%s)%s", ""), "line 1"));
    write_map("(unclosed x\n");
    CU_ASSERT_PTR_NOT_NULL(strstr(evm("str(b),map_reg(%s)%s", ""), "bad regex"));
    unlink(map_path);
    CU_ASSERT_PTR_NOT_NULL(strstr(evm("str(b),map(%s)%s", ""), "failed to open map file"));
    reset();
}

/* ---- compile errors ---- */

static void test_errors(void)
{
    reset();
    CERR("nosuch", "unknown fetch method 'nosuch'");
    CERR("path_beg", "unknown fetch method 'path_beg'");
    CERR("str(a),nosuch", "unknown converter 'nosuch'");
    CERR("str(a),table_http_req_rate(t)", "converter 'table_http_req_rate': no stick-table 't'");
    CERR("str(a),in_table(t)", "converter 'in_table': no stick-table 't'");
    CERR("str(a),sha1", "converter 'sha1' is not supported by spillway");
    CERR("str(a),json_query('$.a')", "'json_query' is not supported by spillway");
    CERR("str(a),lower(x)", "converter 'lower' expects 0 arguments");
    CERR("str(a),field(0,/)", "Unexpected value 0 for index");
    CERR("str(a),field(1,)", "Empty separators list");
    CERR("str(a),field(x,/)", "expects an integer");
    CERR("str(a),regsub((,x)", "bad regex");
    CERR("str(a),regsub('a{1,8000}',x)", "too complex");
    CERR("str(a),regsub(a,b,q)", "invalid regex flag 'q'");
    CERR("str(a),json(latin1)", "unexpected input code type 'latin1'");
    CERR("str(a),url_enc(path)", "Allowed value is 'query'");
    CERR("str(a),add(x)", "expects an integer or a variable name");
    CERR("str(a),strcmp(foo)", "must start with its scope");
    CERR("str(a),set-var(txn.x,ifexists)", "not supported by spillway");
    CERR("str(a),ipmask(33)", "invalid IPv4 mask");
    CERR("bool(1),hex", "converter 'hex' cannot be applied");
    CERR("bool(1),ipmask(8)", "converter 'ipmask' cannot be applied");
    CERR("str(a),bytes(0),lower,b64dec,ipmask(8)", "converter 'ipmask' cannot be applied");
    CU_ASSERT_STRING_EQUAL(cerr("src,bool"), ""); /* an address casts to an integer */
    CERR("str(a", "missing ')'");
    CERR("str(a)x", "unexpected 'x'");
    CERR("str(a),lower(", "missing ')'");
    CERR("str(a),,lower", "missing converter name");
    CERR("int(x)", "expects an integer argument");
    CERR("str()", "'str' expects one argument");
    CERR("bool(maybe)", "Expects 'true', 'false', '0' or '1'");
    CERR("var(foo)", "must start with its scope");
    CERR("fe_conn(nosuch)", "no such frontend 'nosuch'");
    CU_ASSERT_STRING_EQUAL(cerr("hdr(host),lower,map_beg(/dev/null,x),upper"), "");
    reset();
}

static int64_t load_x10(const void *c, enum sp_acl_load what, int idx)
{
    (void)c;
    return what == SP_LOAD_ACT_CONN ? 7 : idx * 10;
}

/* SP_SMP_SELF_ENV: load fetches without a name read the env's proxies (log-format) */
static void test_self_env(void)
{
    reset();
    struct sp_acl_resolver res = {.self_fe = SP_SMP_SELF_ENV, .self_be = SP_SMP_SELF_ENV};
    struct sp_acl_env en = env();
    const char *p;
    size_t n;
    en.load = load_x10;
    en.fe_idx = 3;
    en.be_idx = 5;
    static const char *const exprs[][2] = {
        {"fe_conn", "30"}, {"be_conn", "50"}, {"nbsrv,add(1)", "51"}, {"act_conn", "7"}};
    for (size_t i = 0; i < 4; i++) {
        struct sp_smp_expr *e =
            sp_smp_compile(exprs[i][0], strlen(exprs[i][0]), &res, err, sizeof(err));
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        CU_ASSERT(sp_smp_eval_str(e, &en, &p, &n));
        CU_ASSERT(n == strlen(exprs[i][1]) && !memcmp(p, exprs[i][1], n));
        sp_smp_free(e);
    }
    res.self_fe = -1;
    CU_ASSERT_PTR_NULL(sp_smp_compile("fe_conn", 7, &res, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "needs a frontend"));
    reset();
}

/* casts between types, through sp_smp_eval() */
static void test_casts(void)
{
    reset();
    struct sp_smp_expr *e = compile("str(10.0.0.1),ipmask(8)");
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    struct sp_acl_env en = env();
    struct sp_smp v;
    CU_ASSERT(sp_smp_eval(e, &en, &v));
    CU_ASSERT_EQUAL(v.type, SP_SMP_IPV4);
    CU_ASSERT_EQUAL(ntohl(v.u.v4.s_addr), 0x0a000000u);
    sp_smp_free(e);
    e = compile("str(7),length");
    CU_ASSERT(sp_smp_eval(e, &en, &v) && v.type == SP_SMP_SINT && v.u.sint == 1);
    sp_smp_free(e);
    EV("str(1.2.3.4),ipmask(32),add(0)", "16909060");
    EV("int(16909060),ipmask(32)", "1.2.3.4");
    EV("str(abc),lower,length,mul(2)", "6");
    /* a binary value prints as is through sp_smp_eval_str() */
    EV("str(AB),bytes(0,1)", "A");
    sp_smp_free(NULL);
    reset();
}

/* ACL criteria with converters match the converted single value (balance/acl.c) */
static bool acl_true(const char *decl)
{
    char buf[512], *words[16];
    int n = 0;
    snprintf(buf, sizeof(buf), "x %s", decl);
    for (char *t = strtok(buf, " "); t && n < 16; t = strtok(NULL, " "))
        words[n++] = t;
    struct sp_acl_resolver res = {.self_fe = 0, .self_be = 0, .what = ctx};
    struct sp_acl_set *set = sp_acl_set_new();
    err[0] = '\0';
    bool hit = false;
    if (sp_acl_declare(set, &res, words, n, err, sizeof(err)) == 0) {
        char w0[] = "if", w1[] = "x";
        char *cw[] = {w0, w1};
        struct sp_acl_cond *c = sp_acl_cond_parse(set, &res, cw, 2, err, sizeof(err));
        struct sp_acl_env en = env();
        hit = c && sp_acl_cond_eval(c, &en);
        sp_acl_cond_free(c);
    }
    sp_acl_set_free(set);
    return hit;
}

static void test_acl_conv(void)
{
    reset();
    add_hdr("Host", "Example.COM");
    add_hdr("X-N", "6");
    CU_ASSERT(acl_true("hdr(host),lower -m str example.com"));
    CU_ASSERT(acl_true("hdr(host),lower example.com"));
    CU_ASSERT_FALSE(acl_true("hdr(host) example.com"));
    CU_ASSERT(acl_true("req.hdr(x-n),mul(2) gt 10"));
    CU_ASSERT_FALSE(acl_true("req.hdr(x-n),mul(2) gt 12"));
    CU_ASSERT(acl_true("req.hdr(x-n),mul(2),odd -m bool") == false);
    CU_ASSERT(acl_true("hdr(host),lower,length 11"));
    CU_ASSERT(acl_true("hdr(host),field(2,.) -m beg CO"));
    /* a fetch of several values: each one is converted and matched (HAProxy iterates) */
    add_hdr("X-L", "a, b");
    add_hdr("x-l", "c");
    add_hdr("Cookie", "s=1; t=2");
    add_hdr("Cookie", "s=3");
    F.uri = "/p?u=x&u=Y";
    CU_ASSERT(acl_true("hdr(x-l),upper -m str A"));
    CU_ASSERT(acl_true("hdr(x-l),upper -m str C"));
    CU_ASSERT_FALSE(acl_true("hdr(x-l,1),upper -m str B"));
    CU_ASSERT(acl_true("hdr(x-l,-2),upper -m str B"));
    CU_ASSERT(acl_true("req.fhdr(x-l),length eq 4"));
    CU_ASSERT(acl_true("req.cook(s),add(1) eq 2"));
    CU_ASSERT(acl_true("req.cook(s),add(1) eq 4"));
    CU_ASSERT(acl_true("url_param(u),lower -m str y"));
    CU_ASSERT_FALSE(acl_true("url_param(u),lower -m str z"));
    set_var("txn.foo", "bar");
    CU_ASSERT(acl_true("var(txn.foo) -m str bar"));
    CU_ASSERT_FALSE(acl_true("var(txn.foo) -m str baz"));
    CU_ASSERT(acl_true("var(txn.foo),upper -m str BAR"));
    CU_ASSERT(acl_true("var(txn.none) -m found") == false);
    CU_ASSERT(acl_true("str(x),set-var(txn.none) -m found"));
    CU_ASSERT(acl_true("var(txn.none) -m found"));
    CU_ASSERT_FALSE(acl_true("var(txn.foo) bar"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "matching method must be specified first (using '-m')"));
    CU_ASSERT_FALSE(acl_true("path_beg,lower /a"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "takes no converter"));
    CU_ASSERT_FALSE(acl_true("hdr(host),nosuch x"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown converter 'nosuch'"));
    reset();
}

/* req.body, req.body_len, req.body_size and req.body_param (balance/fetch-body.c): HAProxy
 * 2.6's http_fetch.c over the body the env shows */
static void test_body(void)
{
    reset();
    EV("req.body", "<fail>"); /* no body to read: the fetches fail */
    EV("req.body_len", "<fail>");
    F.body = "";
    EV("req.body_len", "0");
    EV("req.body_param(a)", "<fail>");
    F.body = "a=1&user=alice&x=2";
    EV("req.body", "a=1&user=alice&x=2");
    EV("req.body_len", "18");
    EV("req.body_size", "18");
    F.body_size = 1000; /* a content-length announcing more than arrived */
    EV("req.body_size", "1000");
    EV("req.body_len", "18");
    EV("req.body_param(user)", "alice");
    EV("req.body_param(x)", "2");
    EV("req.body_param(nope)", "<fail>");
    EV("req.body_param", "1"); /* no name: the first parameter's value */
    EV("req.body_param(user),upper", "ALICE");
    /* a name matches only whole and followed by '='; ';' separates too; case matters */
    F.body = "xuser=1&user&User=2;user=3&user=4";
    EV("req.body_param(user)", "3");
    EV("req.body_param(User)", "2");
    F.body = "user=&b=1";
    EV("req.body_param(user)", "");
    F.body = "user";
    EV("req.body_param(user)", "<fail>");
    F.body = "q=a%20b";
    EV("req.body_param(q),url_dec", "a b");
    /* ACLs see every value */
    F.body = "a=1&a=2&b=3";
    CU_ASSERT_TRUE(acl_true("req.body_param(a) 2"));
    CU_ASSERT_FALSE(acl_true("req.body_param(a) 3"));
    CU_ASSERT_TRUE(acl_true("req.body_param 3"));
    CU_ASSERT_TRUE(acl_true("req.body -m sub a=2"));
    CU_ASSERT_TRUE(acl_true("req.body_len gt 10"));
    CU_ASSERT_TRUE(acl_true("req.body_param(a),add(10) 12"));
    /* HAProxy 2.6's req.body_param takes one argument (no case-insensitive flag yet) */
    CERR("req.body_param(a,i)", "too many arguments");
    CERR("req.body(1)", "takes no argument");
    /* an HTTP fetch: refused where only the connection is known */
    ctx = SP_ACL_CTX_TCP;
    CU_ASSERT_STRING_NOT_EQUAL(cerr("req.body_len"), "");
    reset();
}

/* tune.vars.*-max-size: each scope's limit, hierarchical (sess includes its transactions',
 * proc and global everything), released when a store is cleared */
static void test_var_limits(void)
{
    char err[256], ten[10];
    struct sp_vars sess, txn;
    struct sp_var_ref t1, t2, rq, s1, p1;

    memset(ten, 'x', sizeof(ten));
    sp_vars_init(&sess);
    sp_vars_init(&txn);
    struct sp_acl_env en = {.sess_vars = &sess, .txn_vars = &txn};
    struct sp_smp v = {.type = SP_SMP_STR, .u.str = {ten, 10}};
    CU_ASSERT(sp_var_ref_parse("txn.t1", 6, &t1, err, sizeof(err)) == 0);
    CU_ASSERT(sp_var_ref_parse("txn.t2", 6, &t2, err, sizeof(err)) == 0);
    CU_ASSERT(sp_var_ref_parse("req.rq", 6, &rq, err, sizeof(err)) == 0);
    CU_ASSERT(sp_var_ref_parse("sess.s1", 7, &s1, err, sizeof(err)) == 0);
    CU_ASSERT(sp_var_ref_parse("proc.p1", 7, &p1, err, sizeof(err)) == 0);

    /* an entry's own cost, measured */
    sp_vars_limits_set(&(struct sp_vars_limits){.txn = 1 << 20});
    CU_ASSERT_EQUAL_FATAL(sp_var_set(&en, &t1, &v), 0);
    size_t e = txn._acct - 10;
    CU_ASSERT(e >= 16 && e <= 256);
    CU_ASSERT_EQUAL(sess._acct, e + 10); /* sess includes its transactions */
    sp_vars_clear_txn(&txn, &sess);
    CU_ASSERT_EQUAL(sess._acct, 0);

    /* txn: the second variable fits exactly, one more byte does not */
    sp_vars_limits_set(&(struct sp_vars_limits){.txn = 2 * e + 20});
    CU_ASSERT_EQUAL(sp_var_set(&en, &t1, &v), 0);
    CU_ASSERT_EQUAL(sp_var_set(&en, &t2, &v), 0);
    struct sp_smp v11 = {.type = SP_SMP_STR, .u.str = {"xxxxxxxxxxx", 11}}, got;
    CU_ASSERT_EQUAL(sp_var_set(&en, &t2, &v11), -ENOSPC);
    CU_ASSERT(sp_var_get(&en, &t2, &got) && got.u.str.len == 10); /* left as it was */
    sp_var_unset(&en, &t2);
    CU_ASSERT_EQUAL(txn._acct, e + 10);
    CU_ASSERT_EQUAL(sp_var_set(&en, &t2, &v), 0);
    sp_vars_clear_txn(&txn, &sess);

    /* reqres */
    sp_vars_limits_set(&(struct sp_vars_limits){.reqres = e + 5});
    CU_ASSERT_EQUAL(sp_var_set(&en, &rq, &v), -ENOSPC);
    v.u.str.len = 5;
    CU_ASSERT_EQUAL(sp_var_set(&en, &rq, &v), 0);
    CU_ASSERT_EQUAL(sp_var_set(&en, &t1, &v), 0); /* txn.* is not reqres */
    v.u.str.len = 10;
    sp_vars_clear_txn(&txn, &sess);

    /* sess counts the transaction's variables */
    sp_vars_limits_set(&(struct sp_vars_limits){.sess = 2 * e + 20});
    CU_ASSERT_EQUAL(sp_var_set(&en, &t1, &v), 0);
    CU_ASSERT_EQUAL(sp_var_set(&en, &s1, &v), 0);
    CU_ASSERT_EQUAL(sp_var_set(&en, &t2, &v), -ENOSPC);
    sp_vars_clear_txn(&txn, &sess);
    CU_ASSERT_EQUAL(sess._acct, e + 10);
    CU_ASSERT_EQUAL(sp_var_set(&en, &t2, &v), 0);
    sp_vars_clear_txn(&txn, &sess);
    sp_vars_clear(&sess);

    /* global: every scope of the process, proc.* included; released at clear */
    sp_vars_limits_set(&(struct sp_vars_limits){.global = 2 * e + 20});
    CU_ASSERT_EQUAL(sp_var_set(&en, &p1, &v), 0);
    CU_ASSERT_EQUAL(sp_var_set(&en, &s1, &v), 0);
    CU_ASSERT_EQUAL(sp_var_set(&en, &t1, &v), -ENOSPC);
    sp_vars_clear(&sess);
    CU_ASSERT_EQUAL(sp_var_set(&en, &t1, &v), 0);
    sp_vars_clear_txn(&txn, &sess);
    sp_var_unset(&en, &p1);
    /* proc: the same count */
    sp_vars_limits_set(&(struct sp_vars_limits){.proc = e + 10});
    CU_ASSERT_EQUAL(sp_var_set(&en, &t1, &v), 0);
    CU_ASSERT_EQUAL(sp_var_set(&en, &p1, &v), -ENOSPC);
    sp_vars_clear_txn(&txn, &sess);
    CU_ASSERT_EQUAL(sp_var_set(&en, &p1, &v), 0);
    sp_var_unset(&en, &p1);
    sp_vars_clear(&sess);
    sp_vars_limits_set(&(struct sp_vars_limits){0});
    /* without limits nothing is counted */
    CU_ASSERT_EQUAL(sp_var_set(&en, &t1, &v), 0);
    CU_ASSERT_EQUAL(txn._acct, 0);
    sp_vars_clear_txn(&txn, &sess);
}

void test_sample_register(void)
{
    CU_pSuite s = sp_unit_suite("balance/sample");
    sp_unit_test(s, "fetches as samples: one value each, HAProxy's occurrence rules",
                 test_fetch_single);
    sp_unit_test(s, "response fetches: http-response context only", test_fetch_response);
    sp_unit_test(s, "string converters (field, word, regsub, json, url_*, base64...)",
                 test_conv_strings);
    sp_unit_test(s, "arithmetic, boolean and hash converters", test_conv_numbers);
    sp_unit_test(s, "variables: set-var/unset-var converters, scopes, bounds", test_conv_vars);
    sp_unit_test(s, "map files of each match kind and output type", test_maps);
    sp_unit_test(s, "compile errors name the fetch or converter", test_errors);
    sp_unit_test(s, "casts between sample types", test_casts);
    sp_unit_test(s, "ACL criteria with converters", test_acl_conv);
    sp_unit_test(s, "load fetches of the env's own proxies (SP_SMP_SELF_ENV)", test_self_env);
    sp_unit_test(s, "request body fetches (req.body, req.body_param...)", test_body);
    sp_unit_test(s, "tune.vars.*-max-size limits", test_var_limits);
}
