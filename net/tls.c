/* net/tls.c - TLS termination with OpenSSL 3 (see net/tls.h): the contexts of a bind line,
 * built on main, and the transport table sp_xprt_tls run by the workers. */
#include "net/tls.h"

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#define TLS_CHUNK 16384 /* one record's plaintext: what one SSL_write() is given at most */

/* shared: immutable after publish. One certificate: its context and the names it serves. */
struct tls_cert {
    SSL_CTX *ctx;
    char **names; /* lower case; "*.example.com" for a wildcard */
    int nnames;
};

/* shared: immutable after publish (net/tls.h) */
struct sp_tls_ctx {
    struct tls_cert *certs; /* [0]: the default */
    int n;
    unsigned char alpn[256]; /* the wire form of `alpn`: length-prefixed names */
    unsigned alpn_len;
    BIO_METHOD *bio; /* the connections' BIO (xconn_bio_*) */
};

/* owner: worker. A connection's TLS state (x->xctx). */
struct tls_conn {
    SSL *ssl;
    struct sp_xconn *x;
    bool pre_done; /* the bytes read before the handshake (x->rbuf) were handed to OpenSSL */
    /* a write OpenSSL could not finish: the same bytes must be written again (its retry
     * rule); kept here so that the caller may hand anything after them */
    char *pend;
    int pend_len;
};

/* ---------------------------------------------------------------------------------------- */
/* building (main) */

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    char ossl[160] = "";
    unsigned long e = ERR_peek_last_error();

    va_start(ap, fmt);
    int n = vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    if (e) {
        ERR_error_string_n(e, ossl, sizeof(ossl));
        if (n >= 0 && (size_t)n < errlen)
            snprintf(err + n, errlen - (size_t)n, " (%s)", ossl);
    }
    ERR_clear_error();
}

static int add_name(struct tls_cert *c, const char *s, size_t len)
{
    if (!len || len > 253 || memchr(s, 0, len))
        return 0;
    char **nn = realloc(c->names, (size_t)(c->nnames + 1) * sizeof(*nn));
    if (!nn)
        return -ENOMEM;
    c->names = nn;
    char *d = malloc(len + 1);
    if (!d)
        return -ENOMEM;
    for (size_t i = 0; i < len; i++)
        d[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
    d[len] = 0;
    c->names[c->nnames++] = d;
    return 0;
}

/* The names a certificate serves: its SAN DNS entries and its subject CN (HAProxy adds
 * both). */
static int cert_names(struct tls_cert *c, X509 *x)
{
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    int err = 0;

    for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens) && !err; i++) {
        const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
        if (g->type == GEN_DNS)
            err = add_name(c, (const char *)ASN1_STRING_get0_data(g->d.dNSName),
                           (size_t)ASN1_STRING_length(g->d.dNSName));
    }
    GENERAL_NAMES_free(gens);
    X509_NAME *subj = X509_get_subject_name(x);
    int idx = subj ? X509_NAME_get_index_by_NID(subj, NID_commonName, -1) : -1;
    if (idx >= 0 && !err) {
        ASN1_STRING *cn = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subj, idx));
        unsigned char *u = NULL;
        int len = ASN1_STRING_to_UTF8(&u, cn);
        if (len > 0)
            err = add_name(c, (const char *)u, (size_t)len);
        OPENSSL_free(u);
    }
    return err;
}

static bool name_match(const char *pat, const char *name)
{
    if (pat[0] == '*' && pat[1] == '.') { /* one label, never the bare domain */
        const char *dot = strchr(name, '.');
        return dot && dot != name && strcasecmp(dot, pat + 1) == 0;
    }
    return strcasecmp(pat, name) == 0;
}

/* SNI: an exact name first, then a wildcard, else the default certificate (HAProxy's
 * order). */
static int servername_cb(SSL *ssl, int *alert, void *arg)
{
    const struct sp_tls_ctx *tc = arg;
    const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);

    (void)alert;
    if (!name || tc->n < 2)
        return SSL_TLSEXT_ERR_OK;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < tc->n; i++)
            for (int j = 0; j < tc->certs[i].nnames; j++) {
                const char *p = tc->certs[i].names[j];
                if ((p[0] == '*') != (pass == 1) || !name_match(p, name))
                    continue;
                if (i != 0 && !SSL_set_SSL_CTX(ssl, tc->certs[i].ctx))
                    return SSL_TLSEXT_ERR_ALERT_FATAL;
                return SSL_TLSEXT_ERR_OK;
            }
    return SSL_TLSEXT_ERR_OK;
}

/* ALPN: the first of our protocols the client offers (server preference); none in common:
 * no ALPN (HAProxy's choice), the connection speaks HTTP/1.1. */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    const struct sp_tls_ctx *tc = arg;
    unsigned char *o = NULL;

    (void)ssl;
    if (SSL_select_next_proto(&o, outlen, tc->alpn, tc->alpn_len, in, inlen) !=
        OPENSSL_NPN_NEGOTIATED)
        return SSL_TLSEXT_ERR_NOACK;
    *out = o;
    return SSL_TLSEXT_ERR_OK;
}

static int set_dh(SSL_CTX *ctx, EVP_PKEY *key, int bits, char *err, size_t errlen)
{
    int kb = key && (EVP_PKEY_base_id(key) == EVP_PKEY_RSA || EVP_PKEY_base_id(key) == EVP_PKEY_DSA)
                 ? EVP_PKEY_get_bits(key)
                 : 0;
    /* HAProxy 2.6 (ssl_get_tmp_dh()): the size of an RSA/DSA key, at most the parameter's;
     * ffdhe4096 from 4096 bits, else ffdhe2048. HAProxy falls to a 1024-bit group for an EC
     * key or a smaller size: spillway never goes under ffdhe2048. */
    if (kb && kb < bits)
        bits = kb;
    const char *group = bits >= 4096 ? "ffdhe4096" : "ffdhe2048";
    EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "DH", NULL);
    EVP_PKEY *dh = NULL;
    OSSL_PARAM params[2] = {
        OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
        OSSL_PARAM_construct_end(),
    };
    if (!pc || EVP_PKEY_fromdata_init(pc) <= 0 ||
        EVP_PKEY_fromdata(pc, &dh, EVP_PKEY_KEY_PARAMETERS, params) <= 0 ||
        !SSL_CTX_set0_tmp_dh_pkey(ctx, dh)) {
        EVP_PKEY_free(dh);
        EVP_PKEY_CTX_free(pc);
        seterr(err, errlen, "cannot set the DH group %s", group);
        return -1;
    }
    EVP_PKEY_CTX_free(pc);
    return 0;
}

static int config_ctx(struct sp_tls_ctx *tc, SSL_CTX *ctx, const struct sp_cfg_tls *conf, char *err,
                      size_t errlen)
{
    uint64_t opts = SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF;

    /* the server's order of ciphers and TLS 1.3 suites, unless prefer-client-ciphers */
    if (!(conf->opts & SP_CFG_TLS_PREFER_CLIENT))
        opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;

    if (conf->opts & SP_CFG_TLS_NO_SSLV3)
        opts |= SSL_OP_NO_SSLv3;
    if (conf->opts & SP_CFG_TLS_NO_TLSV10)
        opts |= SSL_OP_NO_TLSv1;
    if (conf->opts & SP_CFG_TLS_NO_TLSV11)
        opts |= SSL_OP_NO_TLSv1_1;
    if (conf->opts & SP_CFG_TLS_NO_TLSV12)
        opts |= SSL_OP_NO_TLSv1_2;
    if (conf->opts & SP_CFG_TLS_NO_TLSV13)
        opts |= SSL_OP_NO_TLSv1_3;
    if (conf->opts & SP_CFG_TLS_NO_TICKETS) {
        opts |= SSL_OP_NO_TICKET;
        SSL_CTX_set_num_tickets(ctx, 0);
    }
    SSL_CTX_set_options(ctx, opts);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
    /* no stateful cache: it locks the SSL_CTX on every handshake (net/tls.h) */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    /* HAProxy 2.6's default minimum is TLSv1.2 */
    if (!SSL_CTX_set_min_proto_version(ctx, conf->min_ver ? conf->min_ver : TLS1_2_VERSION) ||
        !SSL_CTX_set_max_proto_version(ctx, conf->max_ver)) {
        seterr(err, errlen, "cannot set the protocol versions");
        return -1;
    }
    if (conf->ciphers && !SSL_CTX_set_cipher_list(ctx, conf->ciphers)) {
        seterr(err, errlen, "unable to set SSL cipher list to '%s'", conf->ciphers);
        return -1;
    }
    if (conf->ciphersuites && !SSL_CTX_set_ciphersuites(ctx, conf->ciphersuites)) {
        seterr(err, errlen, "unable to set TLS 1.3 cipher suites to '%s'", conf->ciphersuites);
        return -1;
    }
    if (conf->dh_param && set_dh(ctx, SSL_CTX_get0_privatekey(ctx), conf->dh_param, err, errlen))
        return -1;
    SSL_CTX_set_tlsext_servername_callback(ctx, servername_cb);
    SSL_CTX_set_tlsext_servername_arg(ctx, tc);
    if (tc->alpn_len)
        SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, tc);
    return 0;
}

/* Reads the certificate chain of `path` (and its key, there or in PATH.key) into a new
 * context. */
static int load_cert(struct sp_tls_ctx *tc, const char *path, const struct sp_cfg_tls *conf,
                     char *err, size_t errlen)
{
    BIO *in = BIO_new_file(path, "r");
    EVP_PKEY *key = NULL;
    X509 *leaf = NULL;
    SSL_CTX *ctx = NULL;
    int ret = -1;

    if (!in) {
        seterr(err, errlen, "cannot open certificate file '%s': %s", path, strerror(errno));
        return -1;
    }
    ctx = SSL_CTX_new(TLS_server_method());
    struct tls_cert *nc = realloc(tc->certs, (size_t)(tc->n + 1) * sizeof(*nc));
    if (!ctx || !nc) {
        if (nc)
            tc->certs = nc;
        seterr(err, errlen, "out of memory loading '%s'", path);
        goto out;
    }
    tc->certs = nc;
    leaf = PEM_read_bio_X509_AUX(in, NULL, NULL, NULL);
    if (!leaf) {
        seterr(err, errlen, "unable to load SSL certificate from PEM file '%s'", path);
        goto out;
    }
    if (!SSL_CTX_use_certificate(ctx, leaf)) {
        seterr(err, errlen, "unable to use the certificate of '%s'", path);
        goto out;
    }
    for (;;) { /* the chain: the other certificates of the file, in order */
        X509 *ca = PEM_read_bio_X509(in, NULL, NULL, NULL);
        if (!ca)
            break;
        if (!SSL_CTX_add0_chain_cert(ctx, ca)) {
            X509_free(ca);
            seterr(err, errlen, "unable to add a chain certificate of '%s'", path);
            goto out;
        }
    }
    ERR_clear_error();
    if (BIO_reset(in) == 0)
        key = PEM_read_bio_PrivateKey(in, NULL, NULL, NULL);
    ERR_clear_error();
    if (!key) { /* HAProxy 2.6: the key may sit beside the certificate, in PATH.key */
        char kp[4096];
        struct stat st;
        if (snprintf(kp, sizeof(kp), "%s.key", path) < (int)sizeof(kp) && stat(kp, &st) == 0) {
            BIO *kin = BIO_new_file(kp, "r");
            key = kin ? PEM_read_bio_PrivateKey(kin, NULL, NULL, NULL) : NULL;
            BIO_free(kin);
            if (!key) {
                seterr(err, errlen, "'%s' is present but cannot be read or parsed", kp);
                goto out;
            }
        }
    }
    if (!key) {
        seterr(err, errlen, "No Private Key found in '%s' (nor in '%s.key')", path, path);
        goto out;
    }
    if (!SSL_CTX_use_PrivateKey(ctx, key) || !SSL_CTX_check_private_key(ctx)) {
        seterr(err, errlen,
               "inconsistencies between private key and certificate loaded from PEM file '%s'",
               path);
        goto out;
    }
    struct tls_cert *c = &tc->certs[tc->n];
    memset(c, 0, sizeof(*c));
    c->ctx = ctx;
    tc->n++;
    if (cert_names(c, leaf)) {
        seterr(err, errlen, "out of memory loading '%s'", path);
        ctx = NULL; /* now the context's */
        goto out;
    }
    ctx = NULL;
    if (config_ctx(tc, c->ctx, conf, err, errlen))
        goto out;
    ret = 0;
out:
    SSL_CTX_free(ctx);
    EVP_PKEY_free(key);
    X509_free(leaf);
    BIO_free(in);
    return ret;
}

static int dir_filter(const struct dirent *de)
{
    const char *ext = strrchr(de->d_name, '.');

    if (de->d_name[0] == '.')
        return 0;
    /* HAProxy 2.6 skips the extra files of a certificate */
    return !ext || (strcmp(ext, ".key") && strcmp(ext, ".ocsp") && strcmp(ext, ".issuer") &&
                    strcmp(ext, ".sctl"));
}

/* A directory: every certificate file in it, in alphabetical order (the first the
 * default when the line has no certificate before it). */
static int load_dir(struct sp_tls_ctx *tc, const char *dir, const struct sp_cfg_tls *conf,
                    char *err, size_t errlen)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, dir_filter, alphasort), ret = 0, loaded = 0;

    if (n < 0) {
        seterr(err, errlen, "cannot read directory '%s': %s", dir, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        struct stat st;
        if (!ret &&
            snprintf(path, sizeof(path), "%s/%s", dir, list[i]->d_name) < (int)sizeof(path) &&
            stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
            ret = load_cert(tc, path, conf, err, errlen);
            loaded++;
        }
        free(list[i]);
    }
    free(list);
    if (!ret && !loaded) {
        seterr(err, errlen, "no certificate file in directory '%s'", dir);
        return -1;
    }
    return ret;
}

static int parse_alpn(struct sp_tls_ctx *tc, const char *s, char *err, size_t errlen)
{
    unsigned len = 0;

    for (const char *p = s;;) {
        const char *comma = strchr(p, ',');
        size_t l = comma ? (size_t)(comma - p) : strlen(p);
        if (l == 0 || l > 255 || len + 1 + l > sizeof(tc->alpn)) {
            seterr(err, errlen, "invalid ALPN protocol list '%s'", s);
            return -1;
        }
        tc->alpn[len++] = (unsigned char)l;
        memcpy(tc->alpn + len, p, l);
        len += (unsigned)l;
        if (!comma)
            break;
        p = comma + 1;
    }
    tc->alpn_len = len;
    return 0;
}

/* The BIO of a connection: the bytes already in the connection's read buffer when TLS
 * started (those that followed a PROXY header) first, then the socket. */
static int xconn_bio_read(BIO *b, char *out, int len)
{
    struct tls_conn *t = BIO_get_data(b);
    struct sp_buf *rb = &t->x->rbuf;

    BIO_clear_retry_flags(b);
    if (!t->pre_done) {
        uint32_t have = rb->data ? sp_buf_len(rb) : 0;
        if (have) {
            uint32_t n = have < (uint32_t)len ? have : (uint32_t)len;
            memcpy(out, sp_buf_head(rb), n);
            sp_buf_consume(rb, n);
            return (int)n;
        }
        t->pre_done = true; /* from now on the buffer holds decrypted bytes */
    }
    for (;;) {
        ssize_t n = recv(t->x->ev.fd, out, (size_t)len, 0);
        if (n >= 0)
            return (int)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_read(b);
        return -1;
    }
}

static int xconn_bio_write(BIO *b, const char *in, int len)
{
    struct tls_conn *t = BIO_get_data(b);

    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t n = send(t->x->ev.fd, in, (size_t)len, MSG_NOSIGNAL);
        if (n >= 0)
            return (int)n;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            BIO_set_retry_write(b);
        return -1;
    }
}

static long xconn_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b;
    (void)num;
    (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0; /* nothing is buffered here */
}

struct sp_tls_ctx *sp_tls_ctx_build(const struct sp_cfg_tls *conf, char *err, size_t errlen)
{
    struct sp_tls_ctx *tc = calloc(1, sizeof(*tc));

    if (!tc) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    tc->bio = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "spillway xconn");
    if (!tc->bio || !BIO_meth_set_read(tc->bio, xconn_bio_read) ||
        !BIO_meth_set_write(tc->bio, xconn_bio_write) ||
        !BIO_meth_set_ctrl(tc->bio, xconn_bio_ctrl)) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if (conf->alpn && parse_alpn(tc, conf->alpn, err, errlen))
        goto fail;
    if (!conf->ncrt) {
        snprintf(err, errlen, "no certificate ('crt') on an 'ssl' bind line");
        goto fail;
    }
    for (int i = 0; i < conf->ncrt; i++) {
        struct stat st;
        if (stat(conf->crt[i], &st) < 0) {
            seterr(err, errlen, "cannot open certificate '%s': %s", conf->crt[i], strerror(errno));
            goto fail;
        }
        if (S_ISDIR(st.st_mode) ? load_dir(tc, conf->crt[i], conf, err, errlen)
                                : load_cert(tc, conf->crt[i], conf, err, errlen))
            goto fail;
    }
    return tc;
fail:
    sp_tls_ctx_free(tc);
    return NULL;
}

void sp_tls_ctx_free(struct sp_tls_ctx *tc)
{
    if (!tc)
        return;
    for (int i = 0; i < tc->n; i++) {
        SSL_CTX_free(tc->certs[i].ctx);
        for (int j = 0; j < tc->certs[i].nnames; j++)
            free(tc->certs[i].names[j]);
        free(tc->certs[i].names);
    }
    free(tc->certs);
    BIO_meth_free(tc->bio);
    free(tc);
}

int sp_tls_ctx_ncerts(const struct sp_tls_ctx *tc)
{
    return tc ? tc->n : 0;
}

const char *sp_tls_ctx_name(const struct sp_tls_ctx *tc, int i, int j)
{
    if (!tc || i < 0 || i >= tc->n || j < 0 || j >= tc->certs[i].nnames)
        return NULL;
    return tc->certs[i].names[j];
}

/* ---------------------------------------------------------------------------------------- */
/* the connection (worker) */

int sp_tls_conn_new(struct sp_xconn *x, const struct sp_tls_ctx *tc)
{
    struct tls_conn *t = calloc(1, sizeof(*t));

    if (!t)
        return -ENOMEM;
    t->x = x;
    t->ssl = SSL_new(tc->certs[0].ctx);
    BIO *b = t->ssl ? BIO_new(tc->bio) : NULL;
    if (!b) {
        SSL_free(t->ssl);
        free(t);
        ERR_clear_error();
        return -ENOMEM;
    }
    BIO_set_data(b, t);
    BIO_set_init(b, 1);
    SSL_set_bio(t->ssl, b, b); /* one reference, the SSL's */
    SSL_set_accept_state(t->ssl);
    x->xctx = t;
    x->xprt = &sp_xprt_tls;
    return 0;
}

int sp_tls_handshake(struct sp_xconn *x, const char **why)
{
    struct tls_conn *t = x->xctx;
    int r = SSL_do_handshake(t->ssl);

    if (r == 1) {
        /* application bytes may have come with the client's last flight: read them now */
        x->can_read = true;
        return 1;
    }
    switch (SSL_get_error(t->ssl, r)) {
    case SSL_ERROR_WANT_READ:
        x->can_read = false;
        return 0;
    case SSL_ERROR_WANT_WRITE:
        x->can_write = false;
        return 0;
    case SSL_ERROR_ZERO_RETURN:
    case SSL_ERROR_SYSCALL:
        *why = "Connection closed during SSL handshake";
        break;
    default:
        *why = "SSL handshake failure";
        break;
    }
    ERR_clear_error();
    return -1;
}

void sp_tls_discard(struct sp_xconn *x)
{
    char sink[4096];

    for (int i = 0; i < 16; i++) {
        ssize_t n = recv(x->ev.fd, sink, sizeof(sink), MSG_DONTWAIT);
        if (n <= 0 && !(n < 0 && errno == EINTR))
            break;
    }
}

static ssize_t tls_recv(struct sp_xconn *x, char *p, size_t len)
{
    struct tls_conn *t = x->xctx;
    size_t got = 0;

    /* SSL_read() gives one record at most: go on until the room is full or the socket has
     * nothing more, so that a short read still means "drained" (net/transport.h) */
    while (got < len) {
        size_t want = len - got;
        int n = SSL_read(t->ssl, p + got, want > INT32_MAX ? INT32_MAX : (int)want);
        if (n > 0) {
            got += (size_t)n;
            continue;
        }
        switch (SSL_get_error(t->ssl, n)) {
        case SSL_ERROR_WANT_WRITE:
            x->xwant |= SP_XWANT_RD_ON_OUT;
            /* fall through */
        case SSL_ERROR_WANT_READ:
            return got ? (ssize_t)got : -EAGAIN;
        case SSL_ERROR_ZERO_RETURN: /* close_notify, or the FIN (unexpected EOF ignored) */
            x->rdhup = true;
            return (ssize_t)got;
        default:
            ERR_clear_error();
            if (got) {
                x->rdhup = true; /* the error is seen again by the next read */
                return (ssize_t)got;
            }
            return -EPROTO;
        }
    }
    return (ssize_t)got;
}

static ssize_t write_chunk(struct sp_xconn *x, struct tls_conn *t, const char *p, int len)
{
    int n = SSL_write(t->ssl, p, len);

    if (n > 0)
        return n;
    switch (SSL_get_error(t->ssl, n)) {
    case SSL_ERROR_WANT_READ:
        x->xwant |= SP_XWANT_WR_ON_IN;
        /* fall through */
    case SSL_ERROR_WANT_WRITE:
        if (p != t->pend) { /* keep the bytes for the retry */
            if (!t->pend && !(t->pend = malloc(TLS_CHUNK)))
                return -ENOMEM;
            memcpy(t->pend, p, (size_t)len);
            t->pend_len = len;
        }
        return -EAGAIN;
    default:
        ERR_clear_error();
        return -EPIPE;
    }
}

/* Whether the caller's bytes begin with the pending ones (the retry rule's contract). */
static bool starts_with_pend(const struct tls_conn *t, const struct iovec *iov, int n)
{
    size_t off = 0;

    for (int i = 0; i < n && off < (size_t)t->pend_len; i++) {
        size_t l = iov[i].iov_len;
        if (l > (size_t)t->pend_len - off)
            l = (size_t)t->pend_len - off;
        if (memcmp(t->pend + off, iov[i].iov_base, l))
            return false;
        off += l;
    }
    return off == (size_t)t->pend_len;
}

static ssize_t tls_sendv(struct sp_xconn *x, const struct iovec *iov, int n)
{
    static __thread char scratch[TLS_CHUNK]; /* owner: worker (coalesced small vectors) */
    struct tls_conn *t = x->xctx;
    ssize_t total = 0;

    if (t->pend_len) {
        if (!starts_with_pend(t, iov, n))
            return -EPROTO; /* the layer above changed bytes it had not written: a bug */
        ssize_t r = write_chunk(x, t, t->pend, t->pend_len);
        if (r < 0)
            return r;
        t->pend_len = 0;
        return r;
    }
    int i = 0;
    size_t off = 0; /* in iov[i] */
    while (i < n) {
        if (off == iov[i].iov_len) {
            i++;
            off = 0;
            continue;
        }
        const char *p = (const char *)iov[i].iov_base + off;
        size_t len = iov[i].iov_len - off;
        if (len < TLS_CHUNK && i + 1 < n) { /* several small vectors: one record */
            size_t s = 0;
            int j = i;
            size_t o = off;
            while (j < n && s < TLS_CHUNK) {
                size_t l = iov[j].iov_len - o;
                if (l > TLS_CHUNK - s)
                    l = TLS_CHUNK - s;
                memcpy(scratch + s, (const char *)iov[j].iov_base + o, l);
                s += l;
                o += l;
                if (o == iov[j].iov_len) {
                    j++;
                    o = 0;
                }
            }
            p = scratch;
            len = s;
        } else if (len > TLS_CHUNK) {
            len = TLS_CHUNK;
        }
        ssize_t r = write_chunk(x, t, p, (int)len);
        if (r < 0)
            return total ? total : r;
        total += r;
        /* advance over r bytes */
        size_t adv = (size_t)r;
        while (adv && i < n) {
            size_t l = iov[i].iov_len - off;
            if (l > adv)
                l = adv;
            off += l;
            adv -= l;
            if (off == iov[i].iov_len) {
                i++;
                off = 0;
            }
        }
    }
    return total;
}

static int tls_shutw(struct sp_xconn *x)
{
    struct tls_conn *t = x->xctx;

    if (SSL_is_init_finished(t->ssl))
        (void)SSL_shutdown(t->ssl); /* close_notify: best effort, never waited for */
    ERR_clear_error();
    return shutdown(x->ev.fd, SHUT_WR) < 0 ? -errno : 0;
}

static void tls_release(struct sp_xconn *x)
{
    struct tls_conn *t = x->xctx;

    if (!t)
        return;
    SSL_free(t->ssl);
    free(t->pend);
    free(t);
    x->xctx = NULL;
}

const struct sp_xprt_ops sp_xprt_tls = {
    .name = "tls",
    .recv = tls_recv,
    .sendv = tls_sendv,
    .shutw = tls_shutw,
    .release = tls_release,
};

static SSL *ssl_of(const struct sp_xconn *x)
{
    return x->xprt == &sp_xprt_tls && x->xctx ? ((struct tls_conn *)x->xctx)->ssl : NULL;
}

const char *sp_tls_sni(const struct sp_xconn *x)
{
    SSL *s = ssl_of(x);
    return s ? SSL_get_servername(s, TLSEXT_NAMETYPE_host_name) : NULL;
}

const char *sp_tls_version(const struct sp_xconn *x)
{
    SSL *s = ssl_of(x);
    return s ? SSL_get_version(s) : NULL;
}

const char *sp_tls_cipher(const struct sp_xconn *x)
{
    SSL *s = ssl_of(x);
    return s ? SSL_get_cipher_name(s) : NULL;
}

const char *sp_tls_alpn(const struct sp_xconn *x, size_t *len)
{
    SSL *s = ssl_of(x);
    const unsigned char *p = NULL;
    unsigned l = 0;

    if (s)
        SSL_get0_alpn_selected(s, &p, &l);
    *len = l;
    return p && l ? (const char *)p : NULL;
}

int sp_tls_keysize(const struct sp_xconn *x)
{
    SSL *s = ssl_of(x);
    return s ? SSL_get_cipher_bits(s, NULL) : 0;
}
