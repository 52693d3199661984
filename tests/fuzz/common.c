/* tests/fuzz/common.c - see common.h. */
/* fopen() and fopen64() are both defined below: with 64-bit offsets asked for (meson's
 * default), <stdio.h> would name the first one fopen64 too */
#undef _FILE_OFFSET_BITS
#include "tests/fuzz/common.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/poison.h" /* SP_POISON_ASAN: built with AddressSanitizer */

/* ---- failures ---- */

void fz_fail(const char *file, int line, const char *cond, const char *fmt, ...)
{
    va_list ap;

    fz_guard = false; /* libFuzzer writes the crash file next */
    fprintf(stderr, "\n==FUZZ CHECK FAILED== %s:%d: %s: ", file, line, cond);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

/* ---- the sandbox ---- */

bool fz_guard;
static const char *allowed_path;
static char scratch[64]; /* the pattern files' directory */

void fz_allow_path(const char *path)
{
    allowed_path = path;
}

static void scratch_rm(void)
{
    static const char *const names[] = {"pats", "ips", "ints", "empty"};
    char p[128];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", scratch, names[i]);
        unlink(p);
    }
    rmdir(scratch);
}

/* Sets `fn` to `name` as the next object defines it: a sanitizer runtime's interceptor, or
 * libc's. (A memcpy, as ISO C has no conversion from an object pointer to a function.) */
#define NEXT(fn, name)                                                                             \
    do {                                                                                           \
        if (!(fn)) {                                                                               \
            void *p_ = dlsym(RTLD_NEXT, name);                                                     \
            if (!p_) {                                                                             \
                fprintf(stderr, "fuzz: no %s after this executable\n", name);                      \
                abort();                                                                           \
            }                                                                                      \
            memcpy(&(fn), &p_, sizeof(fn));                                                        \
        }                                                                                          \
    } while (0)

static FILE *(*real_fopen(void))(const char *, const char *)
{
    static FILE *(*fn)(const char *, const char *);
    NEXT(fn, "fopen");
    return fn;
}

/* Pattern files for `-f NAME`: made once, removed at exit. */
static void scratch_init(void)
{
    static const struct {
        const char *name, *text;
    } files[] = {
        {"pats", "/api\n# a comment\n\n  /static  \r\n/x\\ y\n.php\n"},
        {"ips", "10.0.0.0/8\n192.168.1.1\n::1\n2001:db8::/32\n127.0.0.1/255.0.0.0\n"},
        {"ints", "1\n10:20\n-5\n300\n"},
        {"empty", ""},
    };

    if (scratch[0])
        return;
    snprintf(scratch, sizeof(scratch), "/tmp/spillway-fuzz.XXXXXX");
    if (!mkdtemp(scratch)) {
        perror("mkdtemp");
        abort();
    }
    atexit(scratch_rm);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char p[128];
        snprintf(p, sizeof(p), "%s/%s", scratch, files[i].name);
        FILE *f = real_fopen()(p, "w");
        if (!f || fputs(files[i].text, f) < 0 || fclose(f)) {
            perror(p);
            abort();
        }
    }
}

static FILE *guarded_fopen(const char *path, const char *mode)
{
    /* spillway only reads files while guarded; a write is libFuzzer saving a crash, a leak,
     * an out-of-memory or a timeout input from its handlers, possibly in the middle of an
     * input */
    if (!fz_guard || strchr(mode, 'w') || strchr(mode, 'a'))
        return real_fopen()(path, mode);
    if (allowed_path && !strcmp(path, allowed_path))
        return real_fopen()(path, mode);
    /* a bare name in the scratch directory, nothing else */
    if (path[0] && path[0] != '.' && !strchr(path, '/') && strlen(path) < 32 &&
        !strchr(mode, 'w') && !strchr(mode, 'a') && !strchr(mode, '+')) {
        char p[128];
        scratch_init();
        snprintf(p, sizeof(p), "%s/%s", scratch, path);
        return real_fopen()(p, mode);
    }
    errno = ENOENT;
    return NULL;
}

FILE *fopen(const char *path, const char *mode)
{
    return guarded_fopen(path, mode);
}

FILE *fopen64(const char *path, const char *mode)
{
    return guarded_fopen(path, mode);
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                struct addrinfo **res)
{
    static int (*fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
    struct addrinfo h = {0};

    NEXT(fn, "getaddrinfo");
    if (!fz_guard)
        return fn(node, service, hints, res);
    if (hints)
        h = *hints;
    /* no DNS, no /etc/hosts, no service names: the same answer on every machine */
    h.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
    if (node && !strcmp(node, "localhost"))
        node = h.ai_family == AF_INET6 ? "::1" : "127.0.0.1";
    return fn(node, service, &h, res);
}

/* glibc's regcomp() is exponential in nested repetitions ("a++++..." takes 40 MB at 16 plus
 * signs, 700 MB at 20) and regexec() in back-references. A configuration is trusted input
 * and HAProxy's regex engines have the same cost, so instead of reporting glibc's, the
 * harness refuses such patterns as glibc does when it runs out of memory (REG_ESPACE), which
 * runs spillway's error path. */
int regcomp(regex_t *re, const char *pattern, int cflags)
{
    static int (*fn)(regex_t *, const char *, int);
    int reps = 0, braces = 0;

    NEXT(fn, "regcomp");
    if (fz_guard) {
        for (const char *p = pattern; *p; p++) {
            reps += *p == '*' || *p == '+' || *p == '?';
            braces += *p == '{';
            if (*p == '\\' && p[1] >= '1' && p[1] <= '9')
                reps = 1000;
        }
        if (reps > 12 || braces > 3) {
            memset(re, 0, sizeof(*re)); /* as glibc leaves a pattern it failed to compile */
            return REG_ESPACE;
        }
    }
    return fn(re, pattern, cflags);
}

/* The sanitizers' regexec() interceptor checks the subject up to its NUL even with
 * REG_STARTEND, which says where it ends: a false report on balance/acl-fetch.c's match
 * without a copy. glibc reads only [rm_so, rm_eo) then, so that range is what is checked here
 * (under ASan) before glibc's own regexec() runs; other calls go to the interceptor. */
int regexec(const regex_t *_Restrict_ re, const char *_Restrict_ s, size_t nmatch,
            regmatch_t pm[_Restrict_arr_ _REGEX_NELTS(nmatch)], int eflags) /* as <regex.h> */
{
    static int (*next)(const regex_t *, const char *, size_t, regmatch_t *, int);
    static int (*libc)(const regex_t *, const char *, size_t, regmatch_t *, int);

    NEXT(next, "regexec");
    if (!(eflags & REG_STARTEND))
        return next(re, s, nmatch, pm, eflags);
    if (!libc) {
        void *h = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD), *p = h ? dlsym(h, "regexec") : NULL;
        if (!p)
            abort();
        memcpy(&libc, &p, sizeof(libc));
    }
    FZ_CHECK(pm && pm[0].rm_so >= 0 && pm[0].rm_eo >= pm[0].rm_so, "REG_STARTEND range %ld..%ld",
             pm ? (long)pm[0].rm_so : -1L, pm ? (long)pm[0].rm_eo : -1L);
#ifdef SP_POISON_ASAN
    size_t len = (size_t)(pm[0].rm_eo - pm[0].rm_so);
    if (len && __asan_region_is_poisoned((void *)(uintptr_t)(s + pm[0].rm_so), len)) {
        __sanitizer_print_stack_trace();
        fz_fail(__FILE__, __LINE__, "regexec", "REG_STARTEND subject [%ld, %ld) not addressable",
                (long)pm[0].rm_so, (long)pm[0].rm_eo);
    }
#endif
    return libc(re, s, nmatch, pm, eflags);
}

/* ---- input ---- */

uint8_t fz_u8(struct fz_in *in)
{
    if (!in->n)
        return 0;
    in->n--;
    return *in->p++;
}

uint16_t fz_u16(struct fz_in *in)
{
    uint16_t hi = fz_u8(in);
    return (uint16_t)(hi << 8 | fz_u8(in));
}

char *fz_dup(const void *p, size_t n)
{
    char *d = malloc(n ? n : 1);
    if (!d)
        abort();
    if (n)
        memcpy(d, p, n);
    return d;
}

/* ---- probe ACLs ---- */

static const char *const fe_names[] = {"webserver", "fe2"};
static const char *const be_names[] = {"ade", "pbcoffee"};

static int find_name(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return i;
    return -1;
}

static int fake_fe(const void *ctx, const char *name)
{
    (void)ctx;
    return find_name(fe_names, 2, name);
}

static int fake_be(const void *ctx, const char *name)
{
    (void)ctx;
    return find_name(be_names, 2, name);
}

static int fake_srv(const void *ctx, const char *be, const char *srv)
{
    (void)ctx;
    if (!strcmp(be, "ade") && !strcmp(srv, "s1"))
        return 0;
    if (!strcmp(be, "pbcoffee") && !strcmp(srv, "s2"))
        return 1;
    return -1;
}

const struct sp_acl_resolver fz_resolver = {fake_fe, fake_be,        fake_srv, NULL, 0,
                                            0,       SP_ACL_CTX_ANY, NULL,     NULL};

int64_t fz_load(const void *ctx, enum sp_acl_load what, int idx)
{
    (void)ctx;
    if (idx > 1)
        return -1; /* no such proxy: the fetch fails, as route.c's load() answers */
    if (what == SP_LOAD_SRV_IS_UP)
        return idx >= 0;
    return (int64_t)what * 100 + idx + 250; /* fe_conn(webserver) = 250, be_conn(ade) = 350 */
}

static struct sockaddr_storage addr(const char *ip, int port)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(ip, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, ip, &s6->sin6_addr);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, ip, &s4->sin_addr);
    }
    return ss;
}

const struct sockaddr_storage *fz_peer(bool v6)
{
    static struct sockaddr_storage a4, a6;
    if (!a4.ss_family) {
        a4 = addr("10.1.2.3", 40000);
        a6 = addr("2001:db8::7", 40001);
    }
    return v6 ? &a6 : &a4;
}

const struct sockaddr_storage *fz_local(bool v6)
{
    static struct sockaddr_storage a4, a6;
    if (!a4.ss_family) {
        a4 = addr("127.0.0.1", 80);
        a6 = addr("::1", 8080);
    }
    return v6 ? &a6 : &a4;
}

/* One criterion per fetch and match method that reads the request; a declaration this build
 * does not know (a fetch not written yet) is left out, so the set grows with acl-fetch.c. */
static const char *const probe_acls[] = {
    "p_path path_beg /api /static",
    "p_path2 path -m end .php .html",
    "p_pathreg path_reg ^/[a-z]+/[0-9]{1,4}$",
    "p_pathdir path_dir img",
    "p_url url_sub ?x=",
    "p_urldom url_dom example.com",
    "p_urllen url_len gt 64",
    "p_base base -i example.com/x",
    "p_basebeg base_beg example",
    "p_query query -m found",
    "p_querylen query -m len ge 3",
    "p_param url_param(id) -m int gt 5",
    "p_param2 url_param(q,;) -m beg a",
    "p_param3 urlp(x) -m str y",
    "p_param4 url_param(id) -m found",
    "p_host hdr(host) -i example.com www.example.com",
    "p_hostend hdr_end(host) -i .example.com",
    "p_hostdom hdr_dom(host) example",
    "p_hdrocc hdr(x-forwarded-for,-1) -m ip 10.0.0.0/8 2001:db8::/32",
    "p_hdrocc2 req.hdr(accept,2) -m sub json",
    "p_hdrip hdr(x-real-ip) -m ip 192.168.0.0/16",
    "p_fhdr req.fhdr(user-agent) -m sub bot",
    "p_fhdr2 req.fhdr(cookie,1) -m len gt 3",
    "p_hcnt hdr_cnt(cookie) gt 1",
    "p_hcnt2 req.hdr_cnt gt 10",
    "p_hcnt3 hdr_cnt(x) eq 0",
    "p_fhcnt req.fhdr_cnt(accept) gt 1",
    "p_hint hdr(content-length) -m int gt 1000",
    "p_hint2 req.hdr(x-n) -m int lt 0",
    "p_hbool req.hdr(x-b) -m bool",
    "p_hreg hdr_reg(accept) ^text/.*",
    "p_hlen hdr_len(host) gt 20",
    "p_cook req.cook(sid) -m found",
    "p_cook2 cook(sid) -m beg abc",
    "p_cook3 req.cook(a) -m int gt 2",
    "p_cook4 cook_sub(x) y",
    "p_cookcnt req.cook(sid) -m len gt 8",
    "p_meth method GET HEAD",
    "p_meth2 method -i post",
    "p_ver req.ver 1.1",
    "p_ver2 req_ver 2.0",
    "p_src src 10.0.0.0/8 ::1",
    "p_dst dst 127.0.0.1",
    "p_sport src_port 1024:65535",
    "p_dport dst_port 80 443",
    "p_fe fe_conn(webserver) gt 300",
    "p_be be_conn(ade) ge 0",
    "p_up srv_is_up(ade/s1)",
    "p_bin req.hdr(x) -m bin 414243",
    "p_mult hdr(host) -m reg -i ^(www\\.)?ex.*$",
};

static const char *const probe_conds[] = {
    "if p_path p_host || p_meth !p_ver",
    "unless { path_beg /x } or { hdr_cnt(host) eq 1 }",
    "if HTTP_1.1 METH_GET LOCALHOST or HTTP_2.0 or HTTP_URL_ABS HTTP_URL_SLASH",
    "if HTTP HTTP_URL_STAR HTTP_1.0 METH_HEAD METH_CONNECT METH_OPTIONS METH_POST METH_PUT",
    "if TRUE !FALSE { url_param(z) -m found } || { req.cook(n) -m int gt 1 } METH_DELETE",
};

static struct sp_acl_set *probe_set;
static struct sp_acl_cond *probe[sizeof(probe_acls) / sizeof(probe_acls[0]) +
                                 sizeof(probe_conds) / sizeof(probe_conds[0])];
static size_t nprobe;

static void probe_free(void)
{
    for (size_t i = 0; i < nprobe; i++)
        probe[i] = sp_acl_cond_free(probe[i]);
    probe_set = sp_acl_set_free(probe_set);
}

static int words(char *line, char **w, int max)
{
    int n = 0;
    for (char *tok = strtok(line, " "); tok && n < max; tok = strtok(NULL, " "))
        w[n++] = tok;
    return n;
}

static void probe_add(const char *text)
{
    char buf[512], err[256], *w[32];
    snprintf(buf, sizeof(buf), "%s", text);
    int n = words(buf, w, 32);
    struct sp_acl_cond *c = sp_acl_cond_parse(probe_set, &fz_resolver, w, n, err, sizeof(err));
    if (c)
        probe[nprobe++] = c;
    else if (getenv("FZ_VERBOSE"))
        fprintf(stderr, "probe condition left out: %s: %s\n", text, err);
}

void fz_probe_init(void)
{
    char buf[512], err[256], *w[32];

    if (probe_set)
        return;
    probe_set = sp_acl_set_new();
    if (!probe_set)
        abort();
    atexit(probe_free);
    fz_guard = true;
    for (size_t i = 0; i < sizeof(probe_acls) / sizeof(probe_acls[0]); i++) {
        snprintf(buf, sizeof(buf), "%s", probe_acls[i]);
        int n = words(buf, w, 32);
        if (sp_acl_declare(probe_set, &fz_resolver, w, n, err, sizeof(err)) == 0) {
            char cond[64];
            snprintf(cond, sizeof(cond), "if %s", w[0]);
            probe_add(cond);
        } else if (getenv("FZ_VERBOSE")) {
            fprintf(stderr, "probe ACL left out: %s: %s\n", probe_acls[i], err);
        }
    }
    for (size_t i = 0; i < sizeof(probe_conds) / sizeof(probe_conds[0]); i++)
        probe_add(probe_conds[i]);
    fz_guard = false;
    if (getenv("FZ_VERBOSE"))
        fprintf(stderr, "probe ACLs: %zu of %zu compiled\n", nprobe,
                sizeof(probe) / sizeof(probe[0]));
}

void fz_probe_eval(struct sp_acl_env *env)
{
    env->load = fz_load;
    env->load_ctx = NULL;
    if (!env->src) {
        env->src = fz_peer(false);
        env->dst = fz_local(false);
    }
    for (size_t i = 0; i < nprobe; i++) {
        (void)sp_acl_cond_eval(probe[i], env);
        (void)sp_acl_cond_text(probe[i]);
    }
}

/* ---- chunked bodies ---- */

struct chunk_run {
    int status; /* SP_H1_CHUNK_DONE, SP_H1_CHUNK_ERR, or SP_H1_CHUNK_MORE: unfinished */
    size_t end; /* bytes consumed */
    uint8_t *data;
    size_t dlen;
    uint64_t data_total;
};

/* Runs the decoder over buf[pos, avail) until it stops; returns true when it wants more. */
static bool chunk_step(struct sp_h1_chunk *c, const char *buf, size_t avail, struct chunk_run *r)
{
    for (unsigned guard = 0;; guard++) {
        size_t cons = 0, doff = 0, dlen = 0;
        size_t left = avail - r->end;
        int st = sp_h1_chunk_parse(c, buf + r->end, left, &cons, &doff, &dlen);

        FZ_CHECK(guard <= 2 * avail + 4, "chunk decoder loops without progress at %zu", r->end);
        FZ_CHECK(st == SP_H1_CHUNK_MORE || st == SP_H1_CHUNK_DONE || st == SP_H1_CHUNK_ERR,
                 "chunk decoder returned %d", st);
        if (st == SP_H1_CHUNK_ERR) {
            r->status = st;
            return false;
        }
        FZ_CHECK(cons <= left, "consumed %zu of %zu", cons, left);
        if (dlen) {
            FZ_CHECK(doff + dlen <= cons, "data %zu+%zu outside the %zu consumed", doff, dlen,
                     cons);
            memcpy(r->data + r->dlen, buf + r->end + doff, dlen);
            r->dlen += dlen;
        }
        r->end += cons;
        if (st == SP_H1_CHUNK_DONE) {
            r->status = st;
            return false;
        }
        if (!cons)
            return true;
    }
}

static void chunk_run(const uint8_t *p, size_t n, const size_t *cuts, int ncuts,
                      struct chunk_run *r)
{
    struct sp_h1_chunk c;

    sp_h1_chunk_init(&c);
    r->status = SP_H1_CHUNK_MORE;
    r->end = 0;
    r->dlen = 0;
    for (int i = 0; i <= ncuts; i++) {
        size_t avail = i < ncuts ? cuts[i] : n;
        if (avail < r->end)
            continue;
        /* an exact-size copy of what has arrived: a read past it is an ASan report */
        char *buf = fz_dup(p, avail);
        bool more = chunk_step(&c, buf, avail, r);
        free(buf);
        if (!more)
            break;
    }
    r->data_total = c.data_total;
    FZ_CHECK(r->status == SP_H1_CHUNK_ERR || c.data_total == r->dlen,
             "data_total %llu, data reported %zu", (unsigned long long)c.data_total, r->dlen);
}

long fz_chunk_check(const uint8_t *p, size_t n, size_t cut1, size_t cut2)
{
    struct chunk_run one = {.data = malloc(n + 1)}, pieces = {.data = malloc(n + 1)};
    size_t cuts[2] = {cut1 < cut2 ? cut1 : cut2, cut1 < cut2 ? cut2 : cut1};
    long ret = -1;

    if (!one.data || !pieces.data)
        abort();
    chunk_run(p, n, NULL, 0, &one);
    chunk_run(p, n, cuts, 2, &pieces);
    FZ_CHECK(one.status == pieces.status, "one read: %d at %zu, in pieces (%zu, %zu): %d at %zu",
             one.status, one.end, cuts[0], cuts[1], pieces.status, pieces.end);
    if (one.status != SP_H1_CHUNK_ERR) {
        FZ_CHECK(one.end == pieces.end, "end %zu vs %zu in pieces", one.end, pieces.end);
        FZ_CHECK(one.dlen == pieces.dlen && !memcmp(one.data, pieces.data, one.dlen),
                 "decoded %zu bytes, %zu in pieces, or different bytes", one.dlen, pieces.dlen);
    }
    if (one.status == SP_H1_CHUNK_DONE)
        ret = (long)one.end;
    free(one.data);
    free(pieces.data);
    return ret;
}

/* ---- parsed messages ---- */

void fz_msg_check(const struct sp_h1_msg *m, long headlen, bool request)
{
    uint64_t hl = (uint64_t)headlen;

    FZ_CHECK(m->version == 10 || m->version == 11, "version %d", m->version);
    FZ_CHECK(m->nhdrs <= SP_H1_MAX_HDRS, "nhdrs %u", m->nhdrs);
    FZ_CHECK(m->host_idx >= -1 && m->host_idx < (int)m->nhdrs, "host_idx %d of %u", m->host_idx,
             m->nhdrs);
    if (request) {
        FZ_CHECK(m->method_len > 0 && (uint64_t)m->method_off + m->method_len <= hl, "method %u+%u",
                 m->method_off, m->method_len);
        FZ_CHECK(m->uri_len > 0 && (uint64_t)m->uri_off + m->uri_len <= hl, "uri %u+%u", m->uri_off,
                 m->uri_len);
        FZ_CHECK(m->body != SP_H1_BODY_CLOSE, "a request with a close-delimited body");
        if (m->flags & SP_H1_MF_ABSOLUTE_URI)
            FZ_CHECK((uint64_t)m->authority_off + m->authority_len <= hl, "authority %u+%u",
                     m->authority_off, m->authority_len);
    } else {
        FZ_CHECK(m->status >= 100 && m->status <= 999, "status %d", m->status);
        FZ_CHECK((uint64_t)m->reason_off + m->reason_len <= hl, "reason %u+%u", m->reason_off,
                 m->reason_len);
    }
    FZ_CHECK(m->body >= SP_H1_BODY_NONE && m->body <= SP_H1_BODY_CLOSE, "body %d", (int)m->body);
    for (uint32_t i = 0; i < m->nhdrs; i++) {
        const struct sp_h1_hdr *h = &m->hdrs[i];
        FZ_CHECK(h->name_len > 0 && (uint64_t)h->name_off + h->name_len <= hl, "field %u name", i);
        FZ_CHECK((uint64_t)h->val_off + h->val_len <= hl, "field %u value %u+%u", i, h->val_off,
                 h->val_len);
    }
}
