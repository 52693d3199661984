/* http/httplog.c - log-format compiler and renderer (see httplog.h for the rules it keeps). */
#include "http/httplog.h"
#include "balance/balance.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* HAProxy 2.6's default_tcp_log_format (src/log.c) */
const char sp_logfmt_tcplog[] = "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts "
                                "%ac/%fc/%bc/%sc/%rc %sq/%bq";
const char sp_logfmt_httplog[] = "%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS "
                                 "%tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r";
const char sp_logfmt_httplog_clf[] = "%{+Q}o %{-Q}ci - - [%trg] %r %ST %B \"\" \"\" %cp %ms %ft %b "
                                     "%s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq "
                                     "%CC %CS %hrl %hsl";

enum node_type {
    N_TEXT,
    N_SEP,
    N_CI,
    N_CP,
    N_FI,
    N_FP,
    N_BI,
    N_BP,
    N_SI,
    N_SP,
    N_F,
    N_FT,
    N_B,
    N_S,
    N_T_LOCAL_MS,  /* %t */
    N_T_GMT,       /* %T */
    N_T_LOCAL,     /* %Tl */
    N_TS,          /* %Ts */
    N_MS,          /* %ms */
    N_TR_LOCAL_MS, /* %tr */
    N_TR_GMT,      /* %trg */
    N_TR_LOCAL,    /* %trl */
    N_TIM_TH,
    N_TIM_TI,
    N_TIM_TRQ, /* %TR */
    N_TIM_TQ,
    N_TIM_TW,
    N_TIM_TC,
    N_TIM_TRS, /* %Tr */
    N_TIM_TA,
    N_TIM_TT,
    N_TIM_TU,
    N_TIM_TD,
    N_ST,
    N_BYTES_OUT,
    N_BYTES_IN,
    N_CC,
    N_CS,
    N_TERM,
    N_TERM_CK,
    N_AC,
    N_FC,
    N_BC,
    N_SC,
    N_RC,
    N_SQ,
    N_BQ,
    N_HR,
    N_HS,
    N_HRL,
    N_HSL,
    N_REQ,
    N_HM,
    N_HU,
    N_HP,
    N_HPO,
    N_HQ,
    N_HV,
    N_ID,
    N_PID,
    N_HOST,
    N_RT,
    N_LC,
    N_EXPR, /* %[sample]: off indexes the format's expressions */
    N_SSLV, /* %sslv */
    N_SSLC, /* %sslc */
};

/* the variables; those absent here are a compile error */
static const struct var {
    const char *name;
    uint8_t type;
} vars[] = {
    {"B", N_BYTES_OUT}, {"CC", N_CC},        {"CS", N_CS},
    {"H", N_HOST},      {"HM", N_HM},        {"HP", N_HP},
    {"HPO", N_HPO},     {"HQ", N_HQ},        {"HU", N_HU},
    {"HV", N_HV},       {"ID", N_ID},        {"ST", N_ST},
    {"T", N_T_GMT},     {"Ta", N_TIM_TA},    {"Tc", N_TIM_TC},
    {"Td", N_TIM_TD},   {"Th", N_TIM_TH},    {"Ti", N_TIM_TI},
    {"Tl", N_T_LOCAL},  {"Tq", N_TIM_TQ},    {"TR", N_TIM_TRQ},
    {"Tr", N_TIM_TRS},  {"Ts", N_TS},        {"Tt", N_TIM_TT},
    {"Tu", N_TIM_TU},   {"Tw", N_TIM_TW},    {"U", N_BYTES_IN},
    {"ac", N_AC},       {"b", N_B},          {"bc", N_BC},
    {"bi", N_BI},       {"bp", N_BP},        {"bq", N_BQ},
    {"ci", N_CI},       {"cp", N_CP},        {"f", N_F},
    {"fc", N_FC},       {"fi", N_FI},        {"fp", N_FP},
    {"ft", N_FT},       {"hr", N_HR},        {"hrl", N_HRL},
    {"hs", N_HS},       {"hsl", N_HSL},      {"lc", N_LC},
    {"ms", N_MS},       {"pid", N_PID},      {"r", N_REQ},
    {"rc", N_RC},       {"rt", N_RT},        {"s", N_S},
    {"sc", N_SC},       {"si", N_SI},        {"sp", N_SP},
    {"sq", N_SQ},       {"t", N_T_LOCAL_MS}, {"tr", N_TR_LOCAL_MS},
    {"trg", N_TR_GMT},  {"trl", N_TR_LOCAL}, {"ts", N_TERM},
    {"tsc", N_TERM_CK}, {"sslv", N_SSLV},    {"sslc", N_SSLC},
};

#define OPT_QUOTE 1u
#define OPT_HEX   2u /* %{+X}: addresses, ports, %Ts, %pid, %rt and %lc in hexadecimal */

struct node {
    uint8_t type;
    uint8_t opts;
    uint32_t off, len; /* N_TEXT: bytes in the format's text area */
};

struct sp_logfmt {
    unsigned n;
    const char *text;
    struct sp_smp_expr **exprs; /* %[...] */
    unsigned nexpr;
    struct node nodes[];
};

/* ---------------------------------------------------------------------------------------- */
/* compiler (main thread, allocates freely) */

struct builder {
    struct node *nodes;
    unsigned n, cap;
    struct sp_smp_expr **exprs;
    unsigned nexpr, ecap;
    char *text;
    size_t tlen, tcap;
    bool oom;
};

static struct node *add_node(struct builder *b, uint8_t type, uint8_t opts)
{
    if (b->n == b->cap) {
        unsigned cap = b->cap ? b->cap * 2 : 32;
        struct node *nn = realloc(b->nodes, cap * sizeof(*nn));
        if (!nn) {
            b->oom = true;
            return NULL;
        }
        b->nodes = nn;
        b->cap = cap;
    }
    struct node *nd = &b->nodes[b->n++];
    memset(nd, 0, sizeof(*nd));
    nd->type = type;
    nd->opts = opts;
    return nd;
}

/* appends literal bytes, merging with a preceding text node */
static void add_text(struct builder *b, const char *s, size_t len)
{
    if (b->tlen + len + 1 > b->tcap) {
        size_t cap = (b->tcap ? b->tcap * 2 : 128) + len;
        char *nt = realloc(b->text, cap);
        if (!nt) {
            b->oom = true;
            return;
        }
        b->text = nt;
        b->tcap = cap;
    }
    memcpy(b->text + b->tlen, s, len);
    if (b->n && b->nodes[b->n - 1].type == N_TEXT &&
        b->nodes[b->n - 1].off + b->nodes[b->n - 1].len == b->tlen) {
        b->nodes[b->n - 1].len += (uint32_t)len;
    } else {
        struct node *nd = add_node(b, N_TEXT, 0);
        if (!nd)
            return;
        nd->off = (uint32_t)b->tlen;
        nd->len = (uint32_t)len;
    }
    b->tlen += len;
}

/* fmt holds one "%.*s" taking (alen, a) */
static void seterr(char *err, size_t errlen, const char *fmt, const char *a, size_t alen)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, (int)alen, a);
}

static void seterr0(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* "%{+Q,-Q}": applies the options between the braces to *opts. Returns false on an unknown
 * or unsupported option (error written). */
static bool parse_opts(const char *s, size_t len, uint8_t *opts, char *err, size_t errlen)
{
    size_t i = 0;

    while (i < len) {
        size_t j;
        char sign = s[i];
        if (sign == ',') {
            i++;
            continue;
        }
        if (sign != '+' && sign != '-') {
            seterr(err, errlen, "option '%.*s' in '%%{}' must start with '+' or '-'", s + i,
                   len - i);
            return false;
        }
        for (j = i + 1; j < len && s[j] != ',' && s[j] != '+' && s[j] != '-'; j++)
            ;
        if (j - i - 1 == 1 && s[i + 1] == 'Q') {
            if (sign == '+')
                *opts |= OPT_QUOTE;
            else
                *opts &= (uint8_t)~OPT_QUOTE;
        } else if (j - i - 1 == 1 && s[i + 1] == 'X') {
            if (sign == '+')
                *opts |= OPT_HEX;
            else
                *opts &= (uint8_t)~OPT_HEX;
        } else if (j - i - 1 == 1 && s[i + 1] == 'M') {
            /* "mandatory": only changes what HAProxy does with missing sample fetches */
        } else {
            seterr(err, errlen, "log-format option '%.*s' not supported by spillway", s + i, j - i);
            return false;
        }
        i = j;
    }
    return true;
}

static int var_lookup(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
        if (strlen(vars[i].name) == len && memcmp(vars[i].name, name, len) == 0)
            return vars[i].type;
    return -1;
}

/* "[expr]" at s: compiles it into a node. False on error (written). */
static bool add_expr(struct builder *b, const char **pp, uint8_t opts,
                     const struct sp_acl_resolver *res, char *err, size_t errlen)
{
    const char *s = *pp + 1, *p = s;
    int depth = 0;
    char quote = 0;

    /* the closing ']' outside the expression's quotes and parentheses */
    for (; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
            continue;
        }
        if (*p == '"' || *p == '\'')
            quote = *p;
        else if (*p == '(')
            depth++;
        else if (*p == ')' && depth)
            depth--;
        else if (*p == ']' && !depth)
            break;
    }
    if (!*p) {
        seterr(err, errlen, "missing ']' after '%%[%.*s'", s, (size_t)(p - s));
        return false;
    }
    char msg[400];
    struct sp_acl_resolver dflt = {
        .self_fe = SP_SMP_SELF_ENV, .self_be = SP_SMP_SELF_ENV, .what = SP_ACL_CTX_HTTP_RES};
    struct sp_smp_expr *e = sp_smp_compile(s, (size_t)(p - s), res ? res : &dflt, msg, sizeof(msg));
    if (!e) {
        if (err && errlen)
            snprintf(err, errlen, "sample expression '%%[%.*s]': %s", (int)(p - s), s, msg);
        return false;
    }
    if (b->nexpr == b->ecap) {
        unsigned cap = b->ecap ? b->ecap * 2 : 4;
        struct sp_smp_expr **ne = realloc(b->exprs, cap * sizeof(*ne));
        if (!ne) {
            sp_smp_free(e);
            b->oom = true;
            return true;
        }
        b->exprs = ne;
        b->ecap = cap;
    }
    b->exprs[b->nexpr] = e;
    struct node *nd = add_node(b, N_EXPR, opts);
    if (nd)
        nd->off = b->nexpr;
    b->nexpr++;
    *pp = p + 1;
    return true;
}

static void builder_free(struct builder *b)
{
    for (unsigned i = 0; i < b->nexpr; i++)
        sp_smp_free(b->exprs[i]);
    free(b->exprs);
    free(b->nodes);
    free(b->text);
}

struct sp_logfmt *sp_logfmt_compile(const char *fmt, char *err, size_t errlen)
{
    return sp_logfmt_compile_res(fmt, NULL, err, errlen);
}

struct sp_logfmt *sp_logfmt_compile_res(const char *fmt, const struct sp_acl_resolver *res,
                                        char *err, size_t errlen)
{
    struct builder b = {0};
    struct sp_logfmt *f = NULL;
    uint8_t defopts = 0; /* set by %o for every following variable */
    const char *p = fmt;

    if (err && errlen)
        err[0] = '\0';
    while (*p && !b.oom) {
        if (*p == ' ') {
            while (*p == ' ')
                p++;
            /* spaces fold into one separator; two separators never follow each other */
            if (!b.n || b.nodes[b.n - 1].type != N_SEP)
                add_node(&b, N_SEP, 0);
            continue;
        }
        if (*p != '%') {
            const char *s = p;
            while (*p && *p != ' ' && *p != '%')
                p++;
            add_text(&b, s, (size_t)(p - s));
            continue;
        }
        p++; /* after '%' */
        if (*p == '%') {
            add_text(&b, "%", 1);
            p++;
            continue;
        }
        uint8_t opts = defopts;
        if (*p == '{') {
            const char *s = ++p;
            while (*p && *p != '}')
                p++;
            if (!*p) {
                seterr(err, errlen, "missing '}' after '%%{%.*s'", s, (size_t)(p - s));
                goto fail;
            }
            if (!parse_opts(s, (size_t)(p - s), &opts, err, errlen))
                goto fail;
            p++;
        }
        if (*p == '[') {
            if (!add_expr(&b, &p, opts, res, err, errlen))
                goto fail;
            continue;
        }
        const char *name = p;
        while (is_alnum(*p))
            p++;
        size_t nlen = (size_t)(p - name);
        if (nlen == 0) {
            if (*name)
                seterr(err, errlen,
                       "unexpected character '%.*s' after '%%' (write '%%%%' for a '%%')", name, 1);
            else
                seterr0(err, errlen, "truncated line after '%'");
            goto fail;
        }
        if (nlen == 1 && name[0] == 'o') {
            defopts = opts; /* global options: apply to what follows */
            continue;
        }
        int type = var_lookup(name, nlen);
        if (type < 0) {
            seterr(err, errlen, "unknown log-format variable '%%%.*s' (write '%%%%' for a '%%')",
                   name, nlen);
            goto fail;
        }
        add_node(&b, (uint8_t)type, opts);
    }
    if (b.oom)
        goto oom;

    f = malloc(sizeof(*f) + b.n * sizeof(struct node) + b.tlen + 1);
    if (!f)
        goto oom;
    f->n = b.n;
    f->exprs = b.exprs;
    f->nexpr = b.nexpr;
    b.exprs = NULL;
    b.nexpr = 0;
    if (b.n)
        memcpy(f->nodes, b.nodes, b.n * sizeof(struct node));
    char *text = (char *)&f->nodes[b.n];
    if (b.tlen)
        memcpy(text, b.text, b.tlen);
    text[b.tlen] = '\0';
    f->text = text;
    free(b.nodes);
    free(b.text);
    return f;

oom:
    seterr0(err, errlen, "out of memory");
fail:
    builder_free(&b);
    return NULL;
}

struct sp_logfmt *sp_logfmt_tcp(void)
{
    return sp_logfmt_compile(sp_logfmt_tcplog, NULL, 0);
}

struct sp_logfmt *sp_logfmt_default(bool clf)
{
    return sp_logfmt_compile(clf ? sp_logfmt_httplog_clf : sp_logfmt_httplog, NULL, 0);
}

bool sp_logfmt_has_samples(const struct sp_logfmt *f)
{
    return f && f->nexpr;
}

struct sp_logfmt *sp_logfmt_free(struct sp_logfmt *f)
{
    if (!f)
        return NULL;
    for (unsigned i = 0; i < f->nexpr; i++)
        sp_smp_free(f->exprs[i]);
    free(f->exprs);
    free(f);
    return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* renderer (any thread, no allocation) */

void sp_log_ctx_init(struct sp_log_ctx *ctx, int pid, const char *hostname)
{
    memset(ctx, 0, sizeof(*ctx));
    ctx->pid = pid;
    ctx->hostname = hostname;
    ctx->_loc_sec = INT64_MIN;
    ctx->_gmt_sec = INT64_MIN;
}

void sp_log_rec_init(struct sp_log_rec *r)
{
    memset(r, 0, sizeof(*r));
    r->t_handshake = r->t_idle = r->t_request = r->t_queue = r->t_connect = r->t_response =
        r->t_active = r->t_total = -1;
    r->status = -1;
}

/* the output cursor: end leaves room for the NUL */
struct out {
    char *p, *end;
};

static inline void put_c(struct out *o, char c)
{
    if (o->p < o->end)
        *o->p++ = c;
}

static inline void put_s(struct out *o, const char *s, size_t n)
{
    size_t room = (size_t)(o->end - o->p);
    if (n > room)
        n = room;
    memcpy(o->p, s, n);
    o->p += n;
}

static inline void put_cstr(struct out *o, const char *s)
{
    put_s(o, s, strlen(s));
}

static void put_u64(struct out *o, uint64_t v)
{
    char buf[20];
    int i = (int)sizeof(buf);
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put_s(o, buf + i, sizeof(buf) - (size_t)i);
}

static void put_i64(struct out *o, int64_t v)
{
    if (v < 0) {
        put_c(o, '-');
        put_u64(o, (uint64_t)0 - (uint64_t)v);
    } else {
        put_u64(o, (uint64_t)v);
    }
}

static inline void put_2d(char *d, int v)
{
    d[0] = (char)('0' + v / 10 % 10);
    d[1] = (char)('0' + v % 10);
}

/* a text field: "-" when absent, quoted on demand */
static void put_text(struct out *o, const char *s, size_t n, uint8_t opts)
{
    if (opts & OPT_QUOTE)
        put_c(o, '"');
    if (s)
        put_s(o, s, n);
    else if (!(opts & OPT_QUOTE))
        put_c(o, '-');
    if (opts & OPT_QUOTE)
        put_c(o, '"');
}

static void put_ctext(struct out *o, const char *s, uint8_t opts)
{
    put_text(o, s, s ? strlen(s) : 0, opts);
}

/* escape maps: bit set = write as '#' and two upper-case hex digits */
enum { ESC_URL = 1, ESC_HDR = 2 };

static bool needs_esc(unsigned char c, int map)
{
    if (c < 32 || c >= 127 || c == '"' || c == '#')
        return true;
    return map == ESC_HDR && (c == '{' || c == '|' || c == '}');
}

static void put_escaped(struct out *o, const char *s, size_t n, int map)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i = 0;

    while (i < n) {
        size_t j = i;
        while (j < n && !needs_esc((unsigned char)s[j], map))
            j++;
        put_s(o, s + i, j - i);
        if (j < n) {
            unsigned char c = (unsigned char)s[j];
            char e[3] = {'#', hex[c >> 4], hex[c & 15]};
            put_s(o, e, 3);
            j++;
        }
        i = j;
    }
}

static void put_ipv4(struct out *o, const struct in_addr *a)
{
    const uint8_t *b = (const uint8_t *)&a->s_addr;
    char buf[16];
    size_t n = 0;

    for (int i = 0; i < 4; i++) {
        unsigned v = b[i];
        if (i)
            buf[n++] = '.';
        if (v >= 100)
            buf[n++] = (char)('0' + v / 100);
        if (v >= 10)
            buf[n++] = (char)('0' + v / 10 % 10);
        buf[n++] = (char)('0' + v % 10);
    }
    put_s(o, buf, n);
}

/* HAProxy's "%04X" of a number (+X): at least four upper-case hex digits */
static void put_hex(struct out *o, uint64_t v)
{
    char buf[17];
    int n = 0;

    do {
        buf[n++] = "0123456789ABCDEF"[v & 15];
        v >>= 4;
    } while (v || n < 4);
    while (n)
        put_c(o, buf[--n]);
}

/* +X on an address: its bytes in network order, two upper-case hex digits each (HAProxy's
 * lf_ip()); a port: its two bytes the same way (lf_port()) */
static void put_hex_bytes(struct out *o, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        put_c(o, "0123456789ABCDEF"[b[i] >> 4]);
        put_c(o, "0123456789ABCDEF"[b[i] & 15]);
    }
}

static void put_ip(struct out *o, const struct sockaddr_storage *ss, uint8_t opts)
{
    if (!ss ||
        (ss->ss_family != AF_INET && ss->ss_family != AF_INET6 && ss->ss_family != AF_UNIX)) {
        put_text(o, NULL, 0, opts);
        return;
    }
    if ((opts & OPT_HEX) && ss->ss_family == AF_INET) {
        put_hex_bytes(o, (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr, 4);
        return;
    }
    if ((opts & OPT_HEX) && ss->ss_family == AF_INET6) {
        put_hex_bytes(o, ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr, 16);
        return;
    }
    if (opts & OPT_QUOTE)
        put_c(o, '"');
    if (ss->ss_family == AF_INET) {
        put_ipv4(o, &((const struct sockaddr_in *)ss)->sin_addr);
    } else if (ss->ss_family == AF_INET6) {
        char buf[INET6_ADDRSTRLEN];
        if (inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, sizeof(buf)))
            put_cstr(o, buf);
    } else {
        put_cstr(o, "unix");
    }
    if (opts & OPT_QUOTE)
        put_c(o, '"');
}

static void put_port(struct out *o, const struct sockaddr_storage *ss, int listener_id,
                     uint8_t opts)
{
    if (!ss || (ss->ss_family != AF_INET && ss->ss_family != AF_INET6 && ss->ss_family != AF_UNIX))
        put_text(o, NULL, 0, opts);
    else if ((opts & OPT_HEX) && ss->ss_family == AF_INET)
        put_hex_bytes(o, (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_port, 2);
    else if ((opts & OPT_HEX) && ss->ss_family == AF_INET6)
        put_hex_bytes(o, (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_port, 2);
    else if (ss->ss_family == AF_INET)
        put_u64(o, ntohs(((const struct sockaddr_in *)ss)->sin_port));
    else if (ss->ss_family == AF_INET6)
        put_u64(o, ntohs(((const struct sockaddr_in6 *)ss)->sin6_port));
    else
        put_i64(o, listener_id);
}

/* dates */

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* "dd/Mon/yyyy:HH:MM:SS" (20 bytes, NUL added) */
static void fmt_clf_date(char *d, const struct tm *tm)
{
    int y = tm->tm_year + 1900;
    put_2d(d, tm->tm_mday);
    d[2] = '/';
    memcpy(d + 3, months[tm->tm_mon], 3);
    d[6] = '/';
    d[7] = (char)('0' + y / 1000 % 10);
    d[8] = (char)('0' + y / 100 % 10);
    put_2d(d + 9, y % 100);
    d[11] = ':';
    put_2d(d + 12, tm->tm_hour);
    d[14] = ':';
    put_2d(d + 15, tm->tm_min);
    d[17] = ':';
    put_2d(d + 18, tm->tm_sec);
    d[20] = '\0';
}

static void fmt_tz(char *d, long gmtoff)
{
    long a = gmtoff < 0 ? -gmtoff : gmtoff;
    d[0] = gmtoff < 0 ? '-' : '+';
    put_2d(d + 1, (int)(a / 3600 % 100));
    put_2d(d + 3, (int)(a / 60 % 60));
    d[5] = '\0';
}

static int64_t floor_sec(int64_t us)
{
    return us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);
}

/* Writes "dd/Mon/yyyy:HH:MM:SS" in local time (tz: "+hhmm") or UTC. The cache makes a
 * line cost one localtime_r() per second per worker instead of one per date field. */
static void put_date(struct out *o, struct sp_log_ctx *ctx, int64_t us, bool local, bool tz)
{
    struct sp_log_ctx tmp;
    int64_t sec = floor_sec(us);

    if (!ctx) {
        sp_log_ctx_init(&tmp, 0, NULL);
        ctx = &tmp;
    }
    if (local && ctx->_loc_sec != sec) {
        struct tm tm;
        time_t t = (time_t)sec;
        localtime_r(&t, &tm);
        fmt_clf_date(ctx->_loc, &tm);
        fmt_tz(ctx->_loc_tz, tm.tm_gmtoff);
        ctx->_loc_sec = sec;
    } else if (!local && ctx->_gmt_sec != sec) {
        struct tm tm;
        time_t t = (time_t)sec;
        gmtime_r(&t, &tm);
        fmt_clf_date(ctx->_gmt, &tm);
        ctx->_gmt_sec = sec;
    }
    put_s(o, local ? ctx->_loc : ctx->_gmt, 20);
    if (tz) {
        put_c(o, ' ');
        put_s(o, local ? ctx->_loc_tz : "+0000", 5);
    }
}

static void put_ms3(struct out *o, int64_t us)
{
    int64_t ms = (us - floor_sec(us) * 1000000) / 1000;
    char d[3] = {(char)('0' + ms / 100), (char)('0' + ms / 10 % 10), (char)('0' + ms % 10)};
    put_s(o, d, 3);
}

/* the request line as HAProxy keeps it: "METHOD URI VERSION", at most SP_LOG_REQLINE_MAX
 * bytes. Returns its length; 0 with no request (then every request variable is <BADREQ>). */
static size_t build_reqline(const struct sp_log_rec *r, char *buf)
{
    struct out o = {buf, buf + SP_LOG_REQLINE_MAX};

    if (!r->method)
        return 0;
    put_s(&o, r->method, r->method_len);
    put_c(&o, ' ');
    if (r->authority) {
        put_cstr(&o, r->scheme ? r->scheme : "https");
        put_s(&o, "://", 3);
        put_s(&o, r->authority, r->authority_len);
    }
    put_s(&o, r->target, r->target_len);
    if (r->version) {
        put_c(&o, ' ');
        put_cstr(&o, r->version);
    }
    return (size_t)(o.p - buf);
}

static bool is_spht(char c)
{
    return c == ' ' || c == '\t';
}

/* one part of the request line, escaped and optionally quoted */
static void put_reqpart(struct out *o, const char *s, size_t n, uint8_t opts)
{
    if (opts & OPT_QUOTE)
        put_c(o, '"');
    put_escaped(o, s, n, ESC_URL);
    if (opts & OPT_QUOTE)
        put_c(o, '"');
}

static void put_reqvar(struct out *o, int type, const char *line, size_t len, uint8_t opts)
{
    const char *p = line, *end = line + len, *s;

    if (!len) {
        put_reqpart(o, "<BADREQ>", 8, opts);
        return;
    }
    switch (type) {
    case N_REQ:
        put_reqpart(o, line, len, opts);
        return;
    case N_HM:
        while (p < end && !is_spht(*p))
            p++;
        put_reqpart(o, line, (size_t)(p - line), opts);
        return;
    case N_HQ:
        while (p < end && *p != '?')
            p++;
        s = p;
        while (p < end && !is_spht(*p))
            p++;
        put_reqpart(o, s, (size_t)(p - s), opts);
        return;
    default:
        break;
    }
    /* skip the method and the blanks after it */
    while (p < end && !is_spht(*p))
        p++;
    while (p < end && is_spht(*p))
        p++;
    if (type == N_HV) {
        while (p < end && !is_spht(*p))
            p++;
        while (p < end && is_spht(*p))
            p++;
        if (p == end)
            put_reqpart(o, "HTTP/0.9", 8, opts);
        else
            put_reqpart(o, p, (size_t)(end - p), opts);
        return;
    }
    if (p == end) {
        put_reqpart(o, "<BADREQ>", 8, opts);
        return;
    }
    if (type == N_HPO && *p != '/') {
        /* absolute form: skip "scheme://authority" */
        const char *q = p;
        while (q < end && !is_spht(*q) && *q != ':')
            q++;
        if (q + 2 < end && q[0] == ':' && q[1] == '/' && q[2] == '/') {
            q += 3;
            while (q < end && !is_spht(*q) && *q != '/' && *q != '?')
                q++;
            p = q;
        }
    }
    s = p;
    while (p < end && !is_spht(*p) && (type == N_HU || *p != '?'))
        p++;
    put_reqpart(o, s, (size_t)(p - s), opts);
}

static void put_caps(struct out *o, const char *const *caps, unsigned n, bool list, uint8_t opts)
{
    if (!list) {
        if (opts & OPT_QUOTE)
            put_c(o, '"');
        put_c(o, '{');
        for (unsigned i = 0; i < n; i++) {
            if (i)
                put_c(o, '|');
            if (caps[i])
                put_escaped(o, caps[i], strlen(caps[i]), ESC_HDR);
        }
        put_c(o, '}');
        if (opts & OPT_QUOTE)
            put_c(o, '"');
        return;
    }
    for (unsigned i = 0; i < n; i++) {
        if (i)
            put_c(o, ' ');
        if (opts & OPT_QUOTE)
            put_c(o, '"');
        if (caps[i])
            put_escaped(o, caps[i], strlen(caps[i]), ESC_HDR);
        else if (!(opts & OPT_QUOTE))
            put_c(o, '-');
        if (opts & OPT_QUOTE)
            put_c(o, '"');
    }
}

static inline char term_char(char c)
{
    return c ? c : '-';
}

static int32_t sum_or_neg(const int32_t *t, int n)
{
    int64_t s = 0;
    for (int i = 0; i < n; i++) {
        if (t[i] < 0)
            return -1;
        s += t[i];
    }
    return (int32_t)s;
}

size_t sp_logfmt_render(const struct sp_logfmt *f, const struct sp_log_rec *r, char *out,
                        size_t len)
{
    struct out o;
    bool last_sep = true; /* no separator at the start of a line */
    char reqline[SP_LOG_REQLINE_MAX];
    size_t reqlen = 0;
    bool reqline_done = false;

    if (!len)
        return 0;
    o.p = out;
    o.end = out + len - 1;

    for (unsigned i = 0; i < f->n; i++) {
        const struct node *nd = &f->nodes[i];
        uint8_t q = nd->opts;

        switch (nd->type) {
        case N_SEP:
            if (!last_sep) {
                put_c(&o, ' ');
                last_sep = true;
            }
            continue;
        case N_TEXT:
            put_s(&o, f->text + nd->off, nd->len);
            break;
        case N_EXPR: {
            /* HAProxy's lf_text_len(): a failed or empty sample prints "-" (or "" quoted),
             * a value stops at a NUL byte */
            const char *v = NULL;
            size_t vl = 0;
            if (r->env && sp_smp_eval_str(f->exprs[nd->off], r->env, &v, &vl)) {
                const char *z = memchr(v, 0, vl);
                if (z)
                    vl = (size_t)(z - v);
            }
            put_text(&o, vl ? v : NULL, vl, q);
            break;
        }
        case N_CI:
            put_ip(&o, r->cli, q);
            break;
        case N_CP:
            put_port(&o, r->cli, r->listener_id, q);
            break;
        case N_FI:
            put_ip(&o, r->fe, q);
            break;
        case N_FP:
            put_port(&o, r->fe, r->listener_id, q);
            break;
        case N_BI:
            put_ip(&o, r->bsrc, q);
            break;
        case N_BP:
            put_port(&o, r->bsrc, r->listener_id, q);
            break;
        case N_SI:
            put_ip(&o, r->srv, q);
            break;
        case N_SP:
            put_port(&o, r->srv, r->listener_id, q);
            break;
        case N_F:
            put_ctext(&o, r->frontend, q);
            break;
        case N_SSLV:
        case N_SSLC: {
            const char *v = nd->type == N_SSLV ? r->sslv : r->sslc;
            if (q & OPT_QUOTE)
                put_c(&o, '"');
            put_cstr(&o, v ? v : "-");
            if (q & OPT_QUOTE)
                put_c(&o, '"');
            break;
        }
        case N_FT:
            if (q & OPT_QUOTE)
                put_c(&o, '"');
            put_cstr(&o, r->frontend ? r->frontend : "-");
            if (r->fe_ssl)
                put_c(&o, '~');
            if (q & OPT_QUOTE)
                put_c(&o, '"');
            break;
        case N_B:
            put_ctext(&o, r->backend ? r->backend : r->frontend, q);
            break;
        case N_S:
            put_ctext(&o, r->server ? r->server : "<NOSRV>", q);
            break;
        case N_T_LOCAL_MS:
        case N_TR_LOCAL_MS: {
            int64_t us = nd->type == N_T_LOCAL_MS ? r->accept_us : r->request_us;
            put_date(&o, r->ctx, us, true, false);
            put_c(&o, '.');
            put_ms3(&o, us);
            break;
        }
        case N_T_GMT:
            put_date(&o, r->ctx, r->accept_us, false, true);
            break;
        case N_T_LOCAL:
            put_date(&o, r->ctx, r->accept_us, true, true);
            break;
        case N_TR_GMT:
            put_date(&o, r->ctx, r->request_us, false, true);
            break;
        case N_TR_LOCAL:
            put_date(&o, r->ctx, r->request_us, true, true);
            break;
        case N_TS:
            if (q & OPT_HEX)
                put_hex(&o, (uint64_t)floor_sec(r->accept_us));
            else
                put_i64(&o, floor_sec(r->accept_us));
            break;
        case N_MS:
            put_ms3(&o, r->accept_us);
            break;
        case N_TIM_TH:
            put_i64(&o, r->t_handshake);
            break;
        case N_TIM_TI:
            put_i64(&o, r->t_idle);
            break;
        case N_TIM_TRQ:
            put_i64(&o, r->t_request);
            break;
        case N_TIM_TQ: {
            int32_t t[3] = {r->t_handshake < 0 ? 0 : r->t_handshake, r->t_idle < 0 ? 0 : r->t_idle,
                            r->t_request};
            put_i64(&o, sum_or_neg(t, 3));
            break;
        }
        case N_TIM_TW:
            put_i64(&o, r->t_queue);
            break;
        case N_TIM_TC:
            put_i64(&o, r->t_connect);
            break;
        case N_TIM_TRS:
            put_i64(&o, r->t_response);
            break;
        case N_TIM_TA:
            if (r->logasap)
                put_c(&o, '+');
            put_i64(&o, r->t_active);
            break;
        case N_TIM_TT:
            if (r->logasap)
                put_c(&o, '+');
            put_i64(&o, r->t_total);
            break;
        case N_TIM_TU:
            if (r->logasap)
                put_c(&o, '+');
            put_i64(&o, r->t_total < 0 ? -1 : r->t_total - (r->t_idle < 0 ? 0 : r->t_idle));
            break;
        case N_TIM_TD: {
            /* Td = Tt - (Tq + Tw + Tc + Tr): the data transfer after the headers */
            int32_t t[5] = {r->t_request, r->t_queue, r->t_connect, r->t_response, r->t_total};
            int32_t all = sum_or_neg(t, 5);
            if (all < 0) {
                put_i64(&o, -1);
            } else {
                int64_t tq = (int64_t)(r->t_handshake < 0 ? 0 : r->t_handshake) +
                             (r->t_idle < 0 ? 0 : r->t_idle) + r->t_request;
                put_i64(&o, (int64_t)r->t_total - (tq + r->t_queue + r->t_connect + r->t_response));
            }
            break;
        }
        case N_ST:
            put_i64(&o, r->status);
            break;
        case N_BYTES_OUT:
            if (r->logasap)
                put_c(&o, '+');
            put_u64(&o, r->bytes_out);
            break;
        case N_BYTES_IN:
            put_u64(&o, r->bytes_in);
            break;
        case N_CC:
            put_ctext(&o, r->cli_cookie, q);
            break;
        case N_CS:
            put_ctext(&o, r->srv_cookie, q);
            break;
        case N_TERM:
        case N_TERM_CK: {
            char t[4] = {term_char(r->term[0]), term_char(r->term[1]), term_char(r->term[2]),
                         term_char(r->term[3])};
            put_s(&o, t, nd->type == N_TERM ? 2 : 4);
            break;
        }
        case N_AC:
            put_u64(&o, r->actconn);
            break;
        case N_FC:
            put_u64(&o, r->feconn);
            break;
        case N_BC:
            put_u64(&o, r->beconn);
            break;
        case N_SC:
            put_u64(&o, r->srvconn);
            break;
        case N_RC:
            if (r->redispatched)
                put_c(&o, '+');
            put_u64(&o, r->retries);
            break;
        case N_SQ:
            put_u64(&o, r->srv_queue);
            break;
        case N_BQ:
            put_u64(&o, r->be_queue);
            break;
        case N_HR:
        case N_HRL:
            if (!r->n_req_caps)
                continue; /* prints nothing: the separator state is left as it was */
            put_caps(&o, r->req_caps, r->n_req_caps, nd->type == N_HRL, q);
            break;
        case N_HS:
        case N_HSL:
            if (!r->n_res_caps)
                continue;
            put_caps(&o, r->res_caps, r->n_res_caps, nd->type == N_HSL, q);
            break;
        case N_REQ:
        case N_HM:
        case N_HU:
        case N_HP:
        case N_HPO:
        case N_HQ:
        case N_HV:
            if (!reqline_done) {
                reqlen = build_reqline(r, reqline);
                reqline_done = true;
            }
            put_reqvar(&o, nd->type, reqline, reqlen, q);
            break;
        case N_ID:
            put_ctext(&o, r->unique_id, q);
            break;
        case N_PID:
            if (q & OPT_HEX)
                put_hex(&o, (uint64_t)(r->ctx ? r->ctx->pid : getpid()));
            else
                put_i64(&o, r->ctx ? r->ctx->pid : (int64_t)getpid());
            break;
        case N_HOST:
            put_ctext(&o, r->ctx ? r->ctx->hostname : NULL, q);
            break;
        case N_RT:
            if (q & OPT_HEX)
                put_hex(&o, r->req_counter);
            else
                put_u64(&o, r->req_counter);
            break;
        case N_LC:
            if (q & OPT_HEX)
                put_hex(&o, r->log_counter);
            else
                put_u64(&o, r->log_counter);
            break;
        default:
            break;
        }
        last_sep = false;
    }
    *o.p = '\0';
    return (size_t)(o.p - out);
}

size_t sp_log_conn_error(const struct sp_log_rec *r, const char *bind_name, const char *msg,
                         char *out, size_t len)
{
    struct out o;

    if (!len)
        return 0;
    o.p = out;
    o.end = out + len - 1;
    /* HAProxy's session_prepare_log_prefix(): "ip:port [date] frontend/bind: message", the
     * address "unknown" when there is none, the listener's id for a UNIX-socket client */
    const struct sockaddr_storage *ss = r->cli;
    if (!ss ||
        (ss->ss_family != AF_INET && ss->ss_family != AF_INET6 && ss->ss_family != AF_UNIX)) {
        put_cstr(&o, "unknown");
    } else {
        put_ip(&o, ss, 0);
        put_c(&o, ':');
        put_port(&o, ss, r->listener_id, 0);
    }
    put_cstr(&o, " [");
    put_date(&o, r->ctx, r->accept_us, true, false);
    put_c(&o, '.');
    put_ms3(&o, r->accept_us);
    put_cstr(&o, "] ");
    put_cstr(&o, r->frontend ? r->frontend : "");
    put_c(&o, '/');
    put_cstr(&o, bind_name);
    put_cstr(&o, ": ");
    put_cstr(&o, msg);
    *o.p = 0;
    return (size_t)(o.p - out);
}
