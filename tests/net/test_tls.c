/* tests/net/test_tls.c - the TLS contexts of net/tls.c: certificates made here with OpenSSL
 * (EC P-256, self-signed) are loaded from a file, a file with its key beside it, and a
 * directory; their names (SAN and CN, lower case) are what SNI matches; every bad input (no
 * file, no key, a key of another certificate, an empty directory, a bad ALPN list, a bad
 * cipher list) fails with a message naming it. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/tls.h"
#include "tests/unit.h"

static char dir[64];

/* A self-signed certificate for CN `cn` with SAN DNS `san` (may be NULL), and its key. */
static void make(const char *cn, const char *san, X509 **ret_x, EVP_PKEY **ret_k)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    X509 *x = X509_new();

    CU_ASSERT_PTR_NOT_NULL_FATAL(k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 3600);
    X509_set_pubkey(x, k);
    X509_NAME *n = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, n);
    if (san) {
        X509V3_CTX v3;
        X509V3_set_ctx_nodb(&v3);
        X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
        X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        X509_add_ext(x, e, -1);
        X509_EXTENSION_free(e);
    }
    CU_ASSERT_TRUE(X509_sign(x, k, EVP_sha256()) > 0);
    *ret_x = x;
    *ret_k = k;
}

static void write_pem(const char *path, X509 *x, EVP_PKEY *k)
{
    FILE *f = fopen(path, "w");

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    if (x)
        PEM_write_X509(f, x);
    if (k)
        PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL);
    fclose(f);
}

static char *path(const char *name)
{
    static char p[4][128];
    static int i;
    char *r = p[i++ % 4];

    snprintf(r, sizeof(p[0]), "%s/%s", dir, name);
    return r;
}

/* Builds a context from one `crt` path; NULL and `err` on failure. */
static struct sp_tls_ctx *build(const char *crt, const char *alpn, const char *ciphers, char *err,
                                size_t errlen)
{
    char *crts[1] = {(char *)crt};
    struct sp_cfg_tls conf = {
        .crt = crts, .ncrt = 1, .alpn = (char *)alpn, .ciphers = (char *)ciphers};

    err[0] = 0;
    return sp_tls_ctx_build(&conf, err, errlen);
}

static void test_load(void)
{
    X509 *xa, *xb;
    EVP_PKEY *ka, *kb;
    char err[512];

    snprintf(dir, sizeof(dir), "/tmp/sp-test-tls-XXXXXX");
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    make("A.Example.com", "DNS:a.example.com,DNS:*.a.example.org", &xa, &ka);
    make("b.example.com", NULL, &xb, &kb);

    /* a PEM with the certificate and its key: names from SAN and CN, lower case */
    write_pem(path("a.pem"), xa, ka);
    struct sp_tls_ctx *c = build(path("a.pem"), "h2,http/1.1", NULL, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(sp_tls_ctx_ncerts(c), 1);
    CU_ASSERT_STRING_EQUAL(sp_tls_ctx_name(c, 0, 0), "a.example.com");
    CU_ASSERT_STRING_EQUAL(sp_tls_ctx_name(c, 0, 1), "*.a.example.org");
    CU_ASSERT_STRING_EQUAL(sp_tls_ctx_name(c, 0, 2), "a.example.com"); /* the CN */
    CU_ASSERT_PTR_NULL(sp_tls_ctx_name(c, 0, 3));
    sp_tls_ctx_free(c);

    /* the key beside the certificate, in FILE.key (HAProxy 2.6) */
    write_pem(path("b.crt"), xb, NULL);
    write_pem(path("b.crt.key"), NULL, kb);
    c = build(path("b.crt"), NULL, NULL, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL(c);
    CU_ASSERT_STRING_EQUAL(sp_tls_ctx_name(c, 0, 0), "b.example.com");
    sp_tls_ctx_free(c);

    /* a directory: every certificate file, in name order; FILE.key beside is no certificate */
    CU_ASSERT_EQUAL(mkdir(path("d"), 0700), 0);
    write_pem(path("d/2-a.pem"), xa, ka);
    write_pem(path("d/1-b.pem"), xb, NULL);
    write_pem(path("d/1-b.pem.key"), NULL, kb);
    write_pem(path("d/.hidden"), NULL, NULL);
    c = build(path("d"), NULL, NULL, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(sp_tls_ctx_ncerts(c), 2);
    CU_ASSERT_STRING_EQUAL(sp_tls_ctx_name(c, 0, 0), "b.example.com"); /* the default */
    CU_ASSERT_STRING_EQUAL(sp_tls_ctx_name(c, 1, 0), "a.example.com");
    sp_tls_ctx_free(c);

    /* errors, each naming its file */
    CU_ASSERT_PTR_NULL(build(path("none.pem"), NULL, NULL, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot open certificate"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "none.pem"));
    write_pem(path("nokey.pem"), xa, NULL);
    CU_ASSERT_PTR_NULL(build(path("nokey.pem"), NULL, NULL, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "No Private Key found in"));
    write_pem(path("mism.pem"), xa, kb);
    CU_ASSERT_PTR_NULL(build(path("mism.pem"), NULL, NULL, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "inconsistencies between private key and certificate"));
    write_pem(path("empty.pem"), NULL, NULL);
    CU_ASSERT_PTR_NULL(build(path("empty.pem"), NULL, NULL, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unable to load SSL certificate from PEM file"));
    CU_ASSERT_EQUAL(mkdir(path("e"), 0700), 0);
    CU_ASSERT_PTR_NULL(build(path("e"), NULL, NULL, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no certificate file in directory"));
    CU_ASSERT_PTR_NULL(build(path("a.pem"), "h2,,http/1.1", NULL, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "invalid ALPN protocol list"));
    CU_ASSERT_PTR_NULL(build(path("a.pem"), NULL, "NO-SUCH-CIPHER", err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "unable to set SSL cipher list to 'NO-SUCH-CIPHER'"));

    X509_free(xa);
    X509_free(xb);
    EVP_PKEY_free(ka);
    EVP_PKEY_free(kb);
    const char *files[] = {"a.pem",         "b.crt",     "b.crt.key", "d/2-a.pem", "d/1-b.pem",
                           "d/1-b.pem.key", "d/.hidden", "nokey.pem", "mism.pem",  "empty.pem"};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(path(files[i]));
    rmdir(path("d"));
    rmdir(path("e"));
    rmdir(dir);
}

void test_tls_register(void)
{
    CU_pSuite s = sp_unit_suite("tls");

    sp_unit_test(s, "certificates: file, FILE.key, directory, names, errors", test_load);
}
