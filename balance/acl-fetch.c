/* balance/acl-fetch.c - the evaluation of fetches: an ACL expression against a request (every
 * value its fetch yields), and a fetch's single value as a sample (sp__smp_fetch()). The
 * keywords and their arguments are balance/acl-kw.c's; balance/acl.c compiles the flags and
 * patterns.
 *
 * Evaluation allocates nothing. A fetch yields one value (load, path, src...) or several (each
 * comma-separated value of each occurrence of a header, each cookie or URL parameter of that
 * name); the expression is true when one value matches one pattern, and false when the fetch
 * yields nothing (HAProxy's failed sample). Conversions a match method needs (an integer or an
 * address as text, text as an address) use small buffers on the evaluating thread's stack. */
#include "balance/acl-int.h"
#include "balance/sample-int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Whether a fetch reads the request view that env->prepare() may fill late. */
static inline bool reads_req(int f)
{
    return (f >= SP__F_PATH && f < SP__F_REQ_LEN) || (f >= SP__F_HDR_NAMES && f <= SP__F_PATHQ);
}

/* ---- evaluation: matching ------------------------------------------------------------ */

static inline char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

static bool same(const char *a, const char *b, size_t n, bool icase)
{
    if (!icase)
        return !memcmp(a, b, n);
    for (size_t i = 0; i < n; i++)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

static bool in_ranges(const struct sp__acl_expr *e, int64_t v)
{
    for (size_t i = 0; i < e->npat; i++)
        if (v >= e->pat[i].u.range.min && v <= e->pat[i].u.range.max)
            return true;
    return false;
}

/* The pattern as a whole word of s: preceded by a delimiter or the start, followed by one or
 * the end. */
static bool word_in(const char *s, size_t n, const struct sp__acl_pat *p, const char *delims)
{
    size_t pl = p->u.str.len;
    for (size_t i = 0; i + pl <= n; i++) {
        if (i && !memchr(delims, s[i - 1], strlen(delims)))
            continue;
        if (i + pl < n && !memchr(delims, s[i + pl], strlen(delims)))
            continue;
        if (same(s + i, p->u.str.s, pl, p->icase))
            return true;
    }
    return false;
}

static bool sub_in(const char *s, size_t n, const struct sp__acl_pat *p)
{
    size_t pl = p->u.str.len;
    for (size_t i = 0; i + pl <= n; i++)
        if (same(s + i, p->u.str.s, pl, p->icase))
            return true;
    return false;
}

/* Text methods (str sub reg beg end dir dom bin) over s[0..n). */

/* regexec() on exactly s[0..n), through a NUL-terminated copy: on the stack up to 512 bytes,
 * else on the heap (a value is at most a request head, tune.bufsize; without memory it does
 * not match). REG_STARTEND would spare the copy, but the sanitizers' regexec interceptor
 * (clang 14's ASan among them) ignores it and reads the subject up to a NUL that need not be
 * there, a heap overflow report on every regex ACL of a live request; HAProxy's
 * regex_exec_match2() makes the same copy for libc's regex. A NUL inside the value ends the
 * subject there. glibc's regexec takes a lock inside the compiled regex: concurrent
 * evaluations of one pattern serialize on it. */
static bool reg_match(const regex_t *re, const char *s, size_t n)
{
    char stack[512], *buf = stack;
    bool hit;

    if (n >= sizeof(stack) && !(buf = malloc(n + 1)))
        return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    regmatch_t m; /* unused (REG_NOSUB), but nmatch 0 is a zero-length VLA bound to UBSan */
    hit = regexec(re, buf, 1, &m, 0) == 0;
    if (buf != stack)
        free(buf);
    return hit;
}
static bool match_text(const struct sp__acl_expr *e, const char *s, size_t n)
{
    for (size_t i = 0; i < e->npat; i++) {
        const struct sp__acl_pat *p = &e->pat[i];
        size_t pl = p->u.str.len;
        switch (e->match) {
        case SP__ACL_M_STR:
            if (n == pl && same(s, p->u.str.s, n, p->icase))
                return true;
            break;
        case SP__ACL_M_BIN:
            if (n == pl && !memcmp(s, p->u.str.s, n))
                return true;
            break;
        case SP__ACL_M_BEG:
            if (n >= pl && same(s, p->u.str.s, pl, p->icase))
                return true;
            break;
        case SP__ACL_M_END:
            if (n >= pl && same(s + n - pl, p->u.str.s, pl, p->icase))
                return true;
            break;
        case SP__ACL_M_SUB:
            if (sub_in(s, n, p))
                return true;
            break;
        case SP__ACL_M_DIR:
            if (word_in(s, n, p, SP__ACL_DIR_DELIMS))
                return true;
            break;
        case SP__ACL_M_DOM:
            if (word_in(s, n, p, SP__ACL_DOM_DELIMS))
                return true;
            break;
        case SP__ACL_M_REG:
            if (reg_match(&p->u.re, s, n))
                return true;
            break;
        default:
            return false;
        }
    }
    return false;
}

static bool match_ip4(const struct sp__acl_expr *e, uint32_t a)
{
    for (size_t i = 0; i < e->npat; i++) {
        const struct sp__acl_pat *p = &e->pat[i];
        if (!p->u.ip.v6) {
            if ((a & p->u.ip.m4) == p->u.ip.v4)
                return true;
        } else {
            /* an IPv4 source is compared as ::ffff:a.b.c.d against IPv6 networks */
            uint8_t m[16] = {[10] = 0xff, [11] = 0xff};
            m[12] = (uint8_t)(a >> 24);
            m[13] = (uint8_t)(a >> 16);
            m[14] = (uint8_t)(a >> 8);
            m[15] = (uint8_t)a;
            int plen = p->u.ip.plen, k;
            for (k = 0; k < 16 && plen > 0; k++, plen -= 8) {
                uint8_t mask = plen >= 8 ? 0xff : (uint8_t)(0xff << (8 - plen));
                if ((m[k] & mask) != p->u.ip.a6[k])
                    break;
            }
            if (k == 16 || plen <= 0)
                return true;
        }
    }
    return false;
}

static bool match_ip6(const struct sp__acl_expr *e, const uint8_t *a)
{
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    bool is_mapped = !memcmp(a, mapped, 12);
    for (size_t i = 0; i < e->npat; i++) {
        const struct sp__acl_pat *p = &e->pat[i];
        if (!p->u.ip.v6) {
            /* an IPv4 network also matches a v4-mapped IPv6 source */
            uint32_t v4 =
                (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
            if (is_mapped && (v4 & p->u.ip.m4) == p->u.ip.v4)
                return true;
            continue;
        }
        int plen = p->u.ip.plen, k;
        for (k = 0; k < 16 && plen > 0; k++, plen -= 8) {
            uint8_t mask = plen >= 8 ? 0xff : (uint8_t)(0xff << (8 - plen));
            if ((a[k] & mask) != p->u.ip.a6[k])
                break;
        }
        if (k == 16 || plen <= 0)
            return true;
    }
    return false;
}

static bool match_str(const struct sp__acl_expr *e, const char *s, size_t n);

/* A value that is an address (src, dst). */
static bool match_addr(const struct sp__acl_expr *e, const struct sockaddr_storage *ss)
{
    const void *raw;
    if (e->match == SP__ACL_M_FOUND)
        return true;
    if (ss->ss_family == AF_INET) {
        raw = &((const struct sockaddr_in *)ss)->sin_addr;
        if (e->match == SP__ACL_M_IP)
            return match_ip4(e, ntohl(((const struct in_addr *)raw)->s_addr));
    } else {
        raw = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (e->match == SP__ACL_M_IP)
            return match_ip6(e, ((const struct in6_addr *)raw)->s6_addr);
    }
    char buf[INET6_ADDRSTRLEN];
    if (!inet_ntop(ss->ss_family, raw, buf, sizeof(buf)))
        return false;
    return match_str(e, buf, strlen(buf));
}

/* A value that is text (every request fetch). */
static bool match_str(const struct sp__acl_expr *e, const char *s, size_t n)
{
    int64_t v;
    switch (e->match) {
    case SP__ACL_M_FOUND:
        return true;
    case SP__ACL_M_BOOL:
        return sp__smp_str2int(s, n, &v) && v != 0;
    case SP__ACL_M_INT:
        return sp__smp_str2int(s, n, &v) && in_ranges(e, v);
    case SP__ACL_M_LEN:
        return in_ranges(e, (int64_t)n);
    case SP__ACL_M_IP: {
        char buf[INET6_ADDRSTRLEN];
        struct in6_addr a6;
        struct in_addr a4;
        if (n >= sizeof(buf))
            return false;
        memcpy(buf, s, n);
        buf[n] = '\0';
        if (inet_pton(AF_INET, buf, &a4) == 1)
            return match_ip4(e, ntohl(a4.s_addr));
        if (inet_pton(AF_INET6, buf, &a6) == 1)
            return match_ip6(e, a6.s6_addr);
        return false;
    }
    default:
        return match_text(e, s, n);
    }
}

/* A value that is an integer or a boolean; -m int is the hot case and stays inline. */
__attribute__((noinline)) static bool match_int_slow(const struct sp__acl_expr *e, int64_t v)
{
    char buf[24];
    switch (e->match) {
    case SP__ACL_M_FOUND:
        return true;
    case SP__ACL_M_BOOL:
        return v != 0;
    default: {
        int n = snprintf(buf, sizeof(buf), "%lld", (long long)v);
        return match_str(e, buf, (size_t)n);
    }
    }
}

static inline bool match_int(const struct sp__acl_expr *e, int64_t v)
{
    if (e->match == SP__ACL_M_INT)
        return in_ranges(e, v);
    return match_int_slow(e, v);
}

/* ---- evaluation: fetches ------------------------------------------------------------- */

/* The path of a request target: from the first '/' (after scheme://authority in absolute
 * form) up to '?'. False when there is none ("*", authority form, "http://host"). */
static bool uri_path(const struct sp_acl_env *env, const char **ret, size_t *ret_len)
{
    const char *u = env->uri;
    size_t n = env->uri_len, i = 0;
    if (!u || !n)
        return false;
    if (u[0] != '/') {
        while (i < n && u[i] != ':' && u[i] != '/' && u[i] != '?')
            i++;
        if (i + 3 > n || memcmp(u + i, "://", 3))
            return false;
        for (i += 3; i < n && u[i] != '/' && u[i] != '?' && u[i] != '#'; i++)
            ;
        if (i == n || u[i] != '/')
            return false;
    }
    const char *q = memchr(u + i, '?', n - i);
    *ret = u + i;
    *ret_len = (size_t)((q ? q : u + n) - (u + i));
    return true;
}

static bool get_query(const struct sp_acl_env *env, const char **ret, size_t *ret_len)
{
    const char *q = env->uri ? memchr(env->uri, '?', env->uri_len) : NULL;
    if (!q)
        return false;
    *ret = q + 1;
    *ret_len = env->uri_len - (size_t)(q + 1 - env->uri);
    return true;
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* The end of one element of a comma-separated list that starts at p: the next comma that is
 * not inside a quoted string (RFC 9110 5.6.4, backslash pairs included), or end. HAProxy's
 * http_find_hdr_value_end() draws the same line; with `semi`, ';' ends an element too, as in
 * its http_find_cookie_value_end(). */
static const char *elem_end(const char *p, const char *end, bool semi)
{
    bool quoted = false, pair = false;

    for (; p < end; p++) {
        if (pair)
            pair = false;
        else if (quoted && *p == '\\')
            pair = true;
        else if (quoted)
            quoted = *p != '"';
        else if (*p == '"')
            quoted = true;
        else if (*p == ',' || (semi && *p == ';'))
            return p;
    }
    return end;
}

/* Whether a header fetch reads the response: the res.* ones, and HAProxy's direction-free
 * hdr(), fhdr(), hdr_cnt() and fhdr_cnt() in a response rule (an env with a response view
 * and no request view: http-response and http-after-response rules). */
static bool res_dir(const struct sp__acl_expr *e, const struct sp_acl_env *env)
{
    if (e->fetch == SP__F_RES_HDR || e->fetch == SP__F_RES_FHDR || e->fetch == SP__F_RES_HDR_CNT ||
        e->fetch == SP__F_RES_FHDR_CNT)
        return true;
    return (e->kw[0] == 'h' || e->kw[0] == 'f') && env->res_hdr && !env->hdr;
}

/* Walks the values of the headers called `name` (every header when name is NULL): each
 * comma-separated element when split, else each whole occurrence. */
struct hdr_it {
    size_t i;
    const char *p, *end;
    bool in;
    bool res; /* the response's headers (set before the first call) */
};

static bool hdr_next(const struct sp_acl_env *env, const char *name, size_t name_len, bool split,
                     struct hdr_it *it, const char **ret, size_t *ret_len)
{
    for (;;) {
        if (!it->in) {
            const char *hn, *hv;
            size_t hnl, hvl;
            if (it->res) {
                if (!env->res_hdr || it->i >= env->res_nhdrs)
                    return false;
                env->res_hdr(env->res, it->i++, &hn, &hnl, &hv, &hvl);
            } else {
                if (!env->hdr || it->i >= env->nhdrs)
                    return false;
                env->hdr(env->req, it->i++, &hn, &hnl, &hv, &hvl);
            }
            if (name && (hnl != name_len || !same(hn, name, hnl, true)))
                continue;
            if (!split) {
                *ret = hv;
                *ret_len = hvl;
                return true;
            }
            it->p = hv;
            it->end = hv + hvl;
            it->in = true;
        }
        const char *stop = elem_end(it->p, it->end, false);
        *ret = it->p;
        *ret_len = (size_t)(stop - it->p);
        trim(ret, ret_len);
        if (stop < it->end)
            it->p = stop + 1;
        else
            it->in = false;
        return true;
    }
}

/* The occ-th value (from the first when occ > 0, from the last when occ < 0) of the headers
 * called e->arg (the response's with `res`). */
static bool hdr_pick(const struct sp__acl_expr *e, const struct sp_acl_env *env, bool split,
                     bool res, int occ, const char **ret, size_t *ret_len)
{
    struct hdr_it it = {.res = res};
    const char *v;
    size_t vl;

    if (occ < 0) {
        int total = 0;
        while (hdr_next(env, e->arg, e->arg_len, split, &it, &v, &vl))
            total++;
        occ = total + occ + 1;
        if (occ < 1)
            return false;
        it = (struct hdr_it){.res = res};
    }
    for (int n = 1; hdr_next(env, e->arg, e->arg_len, split, &it, &v, &vl); n++) {
        if (n == occ) {
            *ret = v;
            *ret_len = vl;
            return true;
        }
    }
    return false;
}

/* A visitor of the values a fetch yields: returns true to stop. */
typedef bool (*visit_fn)(void *ctx, const char *s, size_t n);

static bool visit_match(void *ctx, const char *s, size_t n)
{
    return match_str(ctx, s, n);
}

/* Each value of the headers called e->arg (the one at e->occ when set), until fn returns
 * true. */
static bool exec_hdr(const struct sp__acl_expr *e, const struct sp_acl_env *env, bool split,
                     bool res, visit_fn fn, void *ctx)
{
    struct hdr_it it = {.res = res};
    const char *v;
    size_t vl;

    if (e->occ)
        return hdr_pick(e, env, split, res, e->occ, &v, &vl) && fn(ctx, v, vl);
    while (hdr_next(env, e->arg, e->arg_len, split, &it, &v, &vl))
        if (fn(ctx, v, vl))
            return true;
    return false;
}

/* hdr_cnt counts list elements, req.fhdr_cnt whole fields. */
static int64_t hdr_cnt(const struct sp__acl_expr *e, const struct sp_acl_env *env, bool split,
                       bool res)
{
    struct hdr_it it = {.res = res};
    const char *v;
    size_t vl;
    int64_t n = 0;
    while (hdr_next(env, e->arg, e->arg_len, split, &it, &v, &vl))
        n++;
    return n;
}

static inline bool spht(char c)
{
    return c == ' ' || c == '\t';
}

/* The next cookie called name[0..nl) in p[0..end), as HAProxy reads a request's Cookie
 * elements (http.c http_extract_cookie_value() with its list flag): `NAME = VALUE` pairs
 * separated by ';' or ',', blanks around names and values dropped, a quoted value kept
 * whole with its quotes, attributes beginning with '$' and words without '=' skipped, names
 * compared case-sensitively. A cookie is looked for only while name and '=' and one more
 * byte fit in what is left, so an empty value at the very end is not found. Returns where
 * to go on from, or NULL when there is none. */
static const char *cookie_next(const char *p, const char *end, const char *name, size_t nl,
                               const char **ret, size_t *ret_len)
{
    for (const char *next; (size_t)(end - p) > nl + 1; p = next < end ? next + 1 : end) {
        while (p < end && spht(*p))
            p++;
        const char *eq = p, *name_end = p;
        while (eq < end && *eq != '=' && *eq != ';' && *eq != ',')
            if (!spht(*eq++))
                name_end = eq;
        const char *vb = eq, *ve = eq;
        next = eq;
        if (eq < end && *eq == '=') {
            for (vb = eq + 1; vb < end && spht(*vb); vb++)
                ;
            next = elem_end(vb, end, true);
            for (ve = next; ve > vb && spht(ve[-1]); ve--)
                ;
        }
        if (p < end && *p == '$')
            continue;
        if (eq == next) /* no '=' */
            continue;
        if ((size_t)(name_end - p) == nl && !memcmp(p, name, nl)) {
            *ret = vb;
            *ret_len = (size_t)(ve - vb);
            return next < end ? next + 1 : end;
        }
    }
    return NULL;
}

/* Each value of each cookie of that name, in every element of every Cookie field (HAProxy
 * http_fetch.c smp_fetch_cookie(): a Cookie field is split on commas like any list, and an
 * element shorter than the name and '=' is skipped), until fn returns true. */
static bool cook_each(const struct sp__acl_expr *e, const struct sp_acl_env *env, visit_fn fn,
                      void *ctx)
{
    struct hdr_it it = {0};
    const char *v, *cv;
    size_t vl, cvl;
    if (e->fetch == SP__F_RES_COOK) {
        /* res.cook: each Set-Cookie header's own cookie, its first pair (the attributes
         * after ';' are not cookies) */
        it.res = true;
        while (hdr_next(env, "set-cookie", 10, false, &it, &v, &vl)) {
            const char *semi = memchr(v, ';', vl);
            const char *end = semi ? semi : v + vl;
            if (cookie_next(v, end, e->arg, e->arg_len, &cv, &cvl) && fn(ctx, cv, cvl))
                return true;
        }
        return false;
    }
    while (hdr_next(env, "cookie", 6, true, &it, &v, &vl)) {
        if (vl < e->arg_len + 1)
            continue;
        for (const char *p = v; (p = cookie_next(p, v + vl, e->arg, e->arg_len, &cv, &cvl));)
            if (fn(ctx, cv, cvl))
                return true;
    }
    return false;
}

/* the sample's value: the last one (keeps going) or the first one (stops) */
struct pick {
    const char *s;
    size_t n;
    bool found;
};

static bool visit_last(void *ctx, const char *s, size_t n)
{
    struct pick *p = ctx;
    *p = (struct pick){s, n, true};
    return false;
}

static bool visit_first(void *ctx, const char *s, size_t n)
{
    visit_last(ctx, s, n);
    return true;
}

/* '&' and ';' separate URL parameters, and so does the fetch's own delimiter. */
static inline bool param_delim(char c, char delim)
{
    return c == '&' || c == ';' || c == delim;
}

/* Where the parameter called name[0..nl) begins in p[0..end), or NULL. A parameter counts
 * only when its name is followed by '=' (HAProxy http.c http_find_url_param_pos(): a word
 * that is followed by '=' but is not the name is skipped with its '=' before the next
 * delimiter is looked for). */
static const char *param_find(const char *p, const char *end, const char *name, size_t nl,
                              char delim)
{
    while (p < end) {
        if ((size_t)(end - p) <= nl)
            return NULL;
        if (p[nl] == '=') {
            if (!memcmp(p, name, nl))
                return p;
            p += nl + 1;
        }
        while (p < end && !param_delim(*p, delim))
            p++;
        if (p == end)
            return NULL;
        p++;
    }
    return NULL;
}

/* Each value of the URL parameter named by the argument (HAProxy http_fetch.c
 * smp_fetch_url_param()), until fn returns true: the parameter list begins after the first
 * '?' of the URL, or after the first occurrence of the delimiter given as second argument (its
 * first character), which also separates parameters; values end at the next delimiter. */
static bool urlp_each(const struct sp__acl_expr *e, const struct sp_acl_env *env, visit_fn fn,
                      void *ctx)
{
    char delim = e->delims ? e->delims[0] : '?';
    const char *start = env->uri ? memchr(env->uri, delim, env->uri_len) : NULL;
    if (!start)
        return false;
    const char *p = start + 1, *end = env->uri + env->uri_len;
    while (p < end && (p = param_find(p, end, e->arg, e->arg_len, delim))) {
        const char *vb = p + e->arg_len + 1, *ve = vb;
        while (ve < end && !param_delim(*ve, delim))
            ve++;
        if (fn(ctx, vb, (size_t)(ve - vb)))
            return true;
        p = ve;
    }
    return false;
}

/* Host (first occurrence) followed by the path, into buf (at least 8192 bytes). */
static bool get_base(const struct sp_acl_env *env, char *buf, size_t bufsz, const char **ret,
                     size_t *ret_len)
{
    struct hdr_it it = {0};
    const char *host = NULL, *path = NULL;
    size_t hl = 0, pl = 0;
    bool has_path = uri_path(env, &path, &pl);

    if (!hdr_next(env, "host", 4, false, &it, &host, &hl) || !hl) {
        *ret = path;
        *ret_len = pl;
        return has_path;
    }
    if (hl + pl > bufsz)
        return false;
    memcpy(buf, host, hl);
    if (has_path)
        memcpy(buf + hl, path, pl);
    *ret = buf;
    *ret_len = hl + pl;
    return true;
}

/* The concatenation needs a buffer: it lives on this frame only, so that the other fetches do
 * not pay for its size. */
__attribute__((noinline)) static bool exec_base(const struct sp__acl_expr *e,
                                                const struct sp_acl_env *env)
{
    char buf[8192];
    const char *s;
    size_t n;
    return get_base(env, buf, sizeof(buf), &s, &n) && match_str(e, s, n);
}

static bool port_of(const struct sockaddr_storage *ss, int64_t *ret)
{
    if (!ss)
        return false;
    if (ss->ss_family == AF_INET)
        *ret = ntohs(((const struct sockaddr_in *)ss)->sin_port);
    else if (ss->ss_family == AF_INET6)
        *ret = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    else
        return false;
    return true;
}

/* req.payload(off,len): the bytes, or false: too short for now (*ret_short) or never (beyond
 * the buffer). len 0 means up to the end of what arrived. */
static bool payload_get(const struct sp__acl_expr *e, const struct sp_acl_env *env,
                        const char **ret, size_t *ret_len, bool *ret_short)
{
    uint64_t end = (uint64_t)e->poff + e->plen;

    *ret_short = false;
    if (!env->payload || e->plen > env->payload_cap || end > env->payload_cap)
        return false; /* will never match */
    if (end > env->payload_len) {
        *ret_short = true;
        return false;
    }
    *ret = env->payload + e->poff;
    *ret_len = e->plen ? e->plen : env->payload_len - e->poff;
    return true;
}

/* res.len and res.payload(off,len): a tcp-response rule's env carries the response bytes in
 * its payload view (HAProxy's fetches read the channel of the rule's direction the same
 * way), so they are req.len and req.payload over that view. */
static bool res_bytes_exec(const struct sp__acl_expr *e, const struct sp_acl_env *env)
{
    const char *s;
    size_t n;
    bool shrt;

    if (e->fetch == SP__F_RES_LEN)
        return env->payload && match_int(e, (int64_t)env->payload_len);
    return payload_get(e, env, &s, &n, &shrt) && match_str(e, s, n);
}

/* The three-valued answer of a res.* fetch that did not pass (see sp__acl_expr_exec3()). */
static int res_bytes_exec3(const struct sp__acl_expr *e, const struct sp_acl_env *env)
{
    const char *s;
    size_t n;
    bool shrt;

    if (e->fetch == SP__F_RES_LEN)
        return SP__ACL_MISS;
    if (!payload_get(e, env, &s, &n, &shrt))
        return shrt ? SP__ACL_MISS : SP__ACL_FAIL;
    return e->plen ? SP__ACL_FAIL : SP__ACL_MISS;
}

int sp__acl_expr_exec3(const struct sp__acl_expr *e, const struct sp_acl_env *env)
{
    const char *s;
    size_t n;
    int64_t v;
    bool shrt;

    if (sp__acl_expr_exec(e, env))
        return SP__ACL_PASS;
    if (!env->partial)
        return SP__ACL_FAIL;
    /* did not pass: would more bytes change the answer? (HAProxy's SMP_F_MAY_CHANGE) */
    switch (e->fetch) {
    case SP__F_REQ_LEN:
        return SP__ACL_MISS;
    case SP__F_PAYLOAD:
        if (!payload_get(e, env, &s, &n, &shrt))
            return shrt ? SP__ACL_MISS : SP__ACL_FAIL;
        return e->plen ? SP__ACL_FAIL : SP__ACL_MISS;
    case SP__F_SSL_SNI:
        return sp__ssl_sni(env, &s, &n) < 0 ? SP__ACL_MISS : SP__ACL_FAIL;
    case SP__F_SSL_HELLO:
        return sp__ssl_hello_type(env, &v) < 0 ? SP__ACL_MISS : SP__ACL_FAIL;
    case SP__F_RES_LEN:
    case SP__F_RES_PAYLOAD:
        return res_bytes_exec3(e, env);
    default:
        return SP__ACL_FAIL;
    }
}

/* The proxy a load fetch reads: resolved at compile time, or the env's (SP_SMP_SELF_ENV). */
static inline int load_idx(const struct sp__acl_expr *e, const struct sp_acl_env *env)
{
    if (e->idx != SP_SMP_SELF_ENV)
        return e->idx;
    switch (e->load) {
    case SP_LOAD_FE_CONN:
    case SP_LOAD_FE_REQ_RATE:
    case SP_LOAD_FE_SESS_RATE:
        return env->fe_idx;
    default:
        return env->be_idx;
    }
}

/* A single value of any type (a sample), matched as its type asks. */
static bool match_smp(const struct sp__acl_expr *e, const struct sp_smp *v)
{
    char buf[INET6_ADDRSTRLEN];
    switch (v->type) {
    case SP_SMP_BOOL:
    case SP_SMP_SINT:
        return match_int(e, v->u.sint);
    case SP_SMP_IPV4:
        if (e->match == SP__ACL_M_FOUND)
            return true;
        if (e->match == SP__ACL_M_IP)
            return match_ip4(e, ntohl(v->u.v4.s_addr));
        inet_ntop(AF_INET, &v->u.v4, buf, sizeof(buf));
        return match_str(e, buf, strlen(buf));
    case SP_SMP_IPV6:
        if (e->match == SP__ACL_M_FOUND)
            return true;
        if (e->match == SP__ACL_M_IP)
            return match_ip6(e, v->u.v6.s6_addr);
        inet_ntop(AF_INET6, &v->u.v6, buf, sizeof(buf));
        return match_str(e, buf, strlen(buf));
    default:
        return match_str(e, v->u.str.ptr, v->u.str.len);
    }
}

/* Each value of a fetch that yields several, converted, then matched (HAProxy's
 * acl_exec_cond() iterates the fetch and runs the converters on each value). */
struct conv_ctx {
    const struct sp__acl_expr *e;
    const struct sp_acl_env *env;
};

static bool visit_conv(void *ctx, const char *s, size_t n)
{
    const struct conv_ctx *c = ctx;
    struct sp_smp v = {.type = SP_SMP_STR, .u.str = {s, n}};
    return sp__smp_convert(c->e->conv, c->env, &v) && match_smp(c->e, &v);
}

static bool exec_conv(const struct sp__acl_expr *e, const struct sp_acl_env *env)
{
    struct sp_smp val;
    struct conv_ctx c = {e, env};

    if (reads_req(e->fetch))
        sp_acl_env_need_req(env);
    switch (e->fetch) {
    case SP__F_HDR:
    case SP__F_FHDR:
    case SP__F_RES_HDR:
    case SP__F_RES_FHDR:
        return exec_hdr(e, env, e->fetch == SP__F_HDR || e->fetch == SP__F_RES_HDR, res_dir(e, env),
                        visit_conv, &c);
    case SP__F_COOK:
    case SP__F_RES_COOK:
        return cook_each(e, env, visit_conv, &c);
    case SP__F_URLP:
        return urlp_each(e, env, visit_conv, &c);
    case SP__F_BODY_PARAM:
        return sp__body_param_each(e, env, visit_conv, &c);
    default:
        return sp_smp_eval(e->conv, env, &val) && match_smp(e, &val);
    }
}

bool sp__acl_expr_exec(const struct sp__acl_expr *e, const struct sp_acl_env *env)
{
    const char *s;
    size_t n;
    int64_t v;

    if (e->conv)
        return exec_conv(e, env);
    if (reads_req(e->fetch))
        sp_acl_env_need_req(env);
    switch (e->fetch) {
    case SP__F_UNIQUE_ID: {
        struct sp_smp val;
        return sp__smp_fetch(e, env, &val) && match_smp(e, &val);
    }
    case SP__F_AUTH: {
        struct sp_smp val;
        if (e->auth_grp)
            return sp__auth_grp_match(e, env);
        return sp__auth_fetch(e, e->load, env, &val) && match_smp(e, &val);
    }
    case SP__F_TRUE:
        return match_int(e, 1);
    case SP__F_FALSE:
        return match_int(e, 0);
    case SP__F_LOAD:
        if (!env->load)
            return false;
        v = env->load(env->load_ctx, (enum sp_acl_load)e->load, load_idx(e, env));
        return v >= 0 && match_int(e, v);
    case SP__F_PATH:
        return uri_path(env, &s, &n) && match_str(e, s, n);
    case SP__F_URL:
        return env->uri && match_str(e, env->uri, env->uri_len);
    case SP__F_BASE:
        return exec_base(e, env);
    case SP__F_QUERY:
        return get_query(env, &s, &n) && match_str(e, s, n);
    case SP__F_URLP:
        return urlp_each(e, env, visit_match, (void *)e);
    case SP__F_BODY_PARAM:
        return sp__body_param_each(e, env, visit_match, (void *)e);
    case SP__F_HDR:
    case SP__F_RES_HDR:
        return exec_hdr(e, env, true, res_dir(e, env), visit_match, (void *)e);
    case SP__F_FHDR:
    case SP__F_RES_FHDR:
        return exec_hdr(e, env, false, res_dir(e, env), visit_match, (void *)e);
    case SP__F_HDR_CNT:
    case SP__F_RES_HDR_CNT:
        return match_int(e, hdr_cnt(e, env, true, res_dir(e, env)));
    case SP__F_FHDR_CNT:
    case SP__F_RES_FHDR_CNT:
        return match_int(e, hdr_cnt(e, env, false, res_dir(e, env)));
    case SP__F_METHOD:
        return env->method && match_str(e, env->method, env->method_len);
    case SP__F_COOK:
    case SP__F_RES_COOK:
        return cook_each(e, env, visit_match, (void *)e);
    case SP__F_SRC:
    case SP__F_DST: {
        const struct sockaddr_storage *ss = e->fetch == SP__F_SRC ? env->src : env->dst;
        if (!ss || (ss->ss_family != AF_INET && ss->ss_family != AF_INET6))
            return false;
        return match_addr(e, ss);
    }
    case SP__F_SRC_PORT:
        return port_of(env->src, &v) && match_int(e, v);
    case SP__F_DST_PORT:
        return port_of(env->dst, &v) && match_int(e, v);
    case SP__F_PROTO_HTTP:
        return match_int(e, 1);
    case SP__F_SSL_FC:
        return match_int(e, env->ssl_fc);
    case SP__F_PRIO_CLASS:
    case SP__F_PRIO_OFFSET:
        return env->prio && match_int(e, env->prio[e->fetch == SP__F_PRIO_OFFSET]);
    case SP__F_REQ_LEN:
        return env->payload && match_int(e, (int64_t)env->payload_len);
    case SP__F_PAYLOAD: {
        bool shrt;
        return payload_get(e, env, &s, &n, &shrt) && match_str(e, s, n);
    }
    case SP__F_SSL_SNI:
        return sp__ssl_sni(env, &s, &n) > 0 && match_str(e, s, n);
    case SP__F_SSL_HELLO:
        return sp__ssl_hello_type(env, &v) > 0 && match_int(e, v);
    case SP__F_RES_LEN:
    case SP__F_RES_PAYLOAD:
        return res_bytes_exec(e, env);
    default: {
        /* the fetches of one value: as a sample */
        struct sp_smp val;
        return sp__smp_fetch(e, env, &val) && match_smp(e, &val);
    }
    }
}

/* ---- evaluation: single values (samples) --------------------------------------------- */

static const char *ver_text(int version)
{
    switch (version) {
    case 10:
        return "1.0";
    case 11:
        return "1.1";
    case 20:
        return "2.0";
    case 30:
        return "3.0";
    default:
        return NULL;
    }
}

static bool smp_str(struct sp_smp *out, const char *s, size_t n)
{
    out->type = SP_SMP_STR;
    out->u.str.ptr = s;
    out->u.str.len = n;
    return true;
}

static bool smp_int(struct sp_smp *out, enum sp_smp_type t, int64_t v)
{
    out->type = t;
    out->u.sint = v;
    return true;
}

bool sp__smp_fetch(const struct sp__acl_expr *e, const struct sp_acl_env *env, struct sp_smp *out)
{
    const char *s;
    size_t n;
    int64_t v;
    struct pick pk = {0};

    if (reads_req(e->fetch))
        sp_acl_env_need_req(env);
    switch (e->fetch) {
    case SP__F_TRUE:
    case SP__F_FALSE:
    case SP__F_PROTO_HTTP:
        return smp_int(out, SP_SMP_BOOL, e->fetch != SP__F_FALSE);
    case SP__F_SSL_FC:
        return smp_int(out, SP_SMP_BOOL, env->ssl_fc);
    case SP__F_SSL_INFO:
        if (!env->tls)
            return false;
        s = env->tls(env->tls_ctx, (enum sp_acl_tls)e->load, &n, &v);
        if (e->load == SP_ACL_TLS_KEYSIZE)
            return v > 0 && smp_int(out, SP_SMP_SINT, v);
        return s && smp_str(out, s, n);
    case SP__F_PRIO_CLASS:
    case SP__F_PRIO_OFFSET:
        return env->prio && smp_int(out, SP_SMP_SINT, env->prio[e->fetch == SP__F_PRIO_OFFSET]);
    case SP__F_LOAD:
        if (!env->load)
            return false;
        v = env->load(env->load_ctx, (enum sp_acl_load)e->load, load_idx(e, env));
        return v >= 0 && smp_int(out, e->out == SP__ACL_T_BOOL ? SP_SMP_BOOL : SP_SMP_SINT, v);
    case SP__F_PATH:
        return uri_path(env, &s, &n) && smp_str(out, s, n);
    case SP__F_URL:
        return env->uri && smp_str(out, env->uri, env->uri_len);
    case SP__F_BASE:
        return get_base(env, sp__smp_tmp(), SP__SMP_BUFSZ, &s, &n) && smp_str(out, s, n);
    case SP__F_QUERY:
        return get_query(env, &s, &n) && smp_str(out, s, n);
    case SP__F_URLP:
        /* the first occurrence */
        return urlp_each(e, env, visit_first, &pk) && smp_str(out, pk.s, pk.n);
    case SP__F_HDR:
    case SP__F_FHDR:
    case SP__F_RES_HDR:
    case SP__F_RES_FHDR:
        /* HAProxy's smp_fetch_hdr() / smp_fetch_fhdr(): the last occurrence by default */
        return hdr_pick(e, env, e->fetch == SP__F_HDR || e->fetch == SP__F_RES_HDR, res_dir(e, env),
                        e->occ ? e->occ : -1, &s, &n) &&
               smp_str(out, s, n);
    case SP__F_HDR_CNT:
    case SP__F_FHDR_CNT:
    case SP__F_RES_HDR_CNT:
    case SP__F_RES_FHDR_CNT:
        return smp_int(out, SP_SMP_SINT,
                       hdr_cnt(e, env, e->fetch == SP__F_HDR_CNT || e->fetch == SP__F_RES_HDR_CNT,
                               res_dir(e, env)));
    case SP__F_METHOD:
        return env->method && smp_str(out, env->method, env->method_len);
    case SP__F_VER:
    case SP__F_RES_VER:
        s = ver_text(e->fetch == SP__F_VER ? env->version : env->res_version);
        return s && smp_str(out, s, 3);
    case SP__F_COOK:
    case SP__F_RES_COOK:
        /* the last occurrence, as HAProxy's smp_fetch_cookie() with a name */
        cook_each(e, env, visit_last, &pk);
        return pk.found && smp_str(out, pk.s, pk.n);
    case SP__F_SRC:
    case SP__F_DST: {
        const struct sockaddr_storage *ss = e->fetch == SP__F_SRC ? env->src : env->dst;
        if (ss && ss->ss_family == AF_INET) {
            out->type = SP_SMP_IPV4;
            out->u.v4 = ((const struct sockaddr_in *)ss)->sin_addr;
            return true;
        }
        if (ss && ss->ss_family == AF_INET6) {
            out->type = SP_SMP_IPV6;
            out->u.v6 = ((const struct sockaddr_in6 *)ss)->sin6_addr;
            return true;
        }
        return false;
    }
    case SP__F_SRC_PORT:
        return port_of(env->src, &v) && smp_int(out, SP_SMP_SINT, v);
    case SP__F_DST_PORT:
        return port_of(env->dst, &v) && smp_int(out, SP_SMP_SINT, v);
    case SP__F_REQ_LEN:
        return env->payload && smp_int(out, SP_SMP_SINT, (int64_t)env->payload_len);
    case SP__F_PAYLOAD: {
        bool shrt;
        if (!payload_get(e, env, &s, &n, &shrt))
            return false;
        smp_str(out, s, n);
        out->type = SP_SMP_BIN;
        return true;
    }
    case SP__F_SSL_SNI:
        return sp__ssl_sni(env, &s, &n) > 0 && smp_str(out, s, n);
    case SP__F_SSL_HELLO:
        return sp__ssl_hello_type(env, &v) > 0 && smp_int(out, SP_SMP_SINT, v);
    case SP__F_STR:
        return smp_str(out, e->arg, e->arg_len);
    case SP__F_INT:
        return smp_int(out, SP_SMP_SINT, e->cint);
    case SP__F_CAP_REQ:
    case SP__F_CAP_RES: {
        /* HAProxy: the slot's value, the fetch fails when nothing was captured there */
        int64_t k = e->cint + (e->fetch == SP__F_CAP_RES ? env->ncap_req : 0);
        int64_t lim = e->fetch == SP__F_CAP_RES ? env->ncap_req + env->ncap_res : env->ncap_req;
        if (!env->caps || e->cint < 0 || k >= lim || !env->caps[k])
            return false;
        return smp_str(out, env->caps[k], strlen(env->caps[k]));
    }
    case SP__F_BOOL:
        return smp_int(out, SP_SMP_BOOL, e->cint);
    case SP__F_VAR:
        if (sp_var_get(env, &e->var, out))
            return true;
        return e->has_default && smp_str(out, e->arg, e->arg_len);
    case SP__F_HDR_NAMES:
    case SP__F_RES_HDR_NAMES:
        return sp__hdr_names(e, env, e->fetch == SP__F_RES_HDR_NAMES, out);
    case SP__F_URL_IP:
    case SP__F_URL_PORT: {
        struct in_addr a;
        if (!sp__url_addr(env, &a, &v))
            return false;
        if (e->fetch == SP__F_URL_PORT)
            return smp_int(out, SP_SMP_SINT, v);
        out->type = SP_SMP_IPV4;
        out->u.v4 = a;
        return true;
    }
    case SP__F_PATHQ:
        /* from the path to the end of the target */
        return uri_path(env, &s, &n) && smp_str(out, s, env->uri_len - (size_t)(s - env->uri));
    case SP__F_STATUS:
        return env->status > 0 && smp_int(out, SP_SMP_SINT, env->status);
    case SP__F_AUTH:
        return sp__auth_fetch(e, e->load, env, out);
    case SP__F_UNIQUE_ID:
        if (!env->unique_id || !(s = env->unique_id(env, &n)))
            return false;
        return smp_str(out, s, n);
    case SP__F_STK:
        return sp__stk_fetch(e, env, out);
    case SP__F_BODY:
    case SP__F_BODY_LEN:
    case SP__F_BODY_SIZE:
    case SP__F_BODY_PARAM:
        return sp__body_fetch(e, env, out);
    }
    return false;
}

bool sp__acl_is_auth_grp(const struct sp__acl_expr *e)
{
    return e->fetch == SP__F_AUTH && e->load == SP__AUTH_GRP && !e->conv;
}
