/* http/h1.c - HTTP/1.x message head parser and chunked-coding decoder (see h1.h).
 *
 * Two phases for a head: find_end() looks for the blank line, resuming where the previous
 * call stopped, and checks only what can be judged early (line endings, the two size
 * limits); parse_*() then walks the complete head once. Because find_end() has proved
 * that every CR in the head is followed by LF, that no LF stands alone and that the head
 * ends in CRLF CRLF, the second phase treats CR as "end of line" and needs no bounds check
 * inside its loops: every class table lookup stops at the final CR at the latest.
 */
#include "http/h1.h"

#include <string.h>

int sp_h1_max_hdrs = SP_H1_MAX_HDRS;

/* Octet classes, one table load per byte in every inner loop. */
enum {
    C_TOK = 0x01, /* tchar (RFC 9110 5.6.2) */
    C_VAL = 0x02, /* field-value octet: VCHAR, obs-text, SP, HTAB */
    C_URI = 0x04, /* request-target octet: VCHAR but '#' (no CTL, SP, non-ASCII, fragment) */
    C_REG = 0x08, /* reg-name octet: unreserved / sub-delims (RFC 3986) */
    C_HEX = 0x10,
    C_DIG = 0x20,
    C_QD = 0x40,  /* qdtext */
    C_EOL = 0x80, /* CR or LF */
};

/* Generated from the RFC 9110 / RFC 3986 ABNF; each row is 8 octets, from the one in the
 * comment. '#' (0x23) is left out of C_URI: a fragment never belongs in a request-target
 * (RFC 9112 3.2) and HAProxy refuses it (CVE-2023-45539: "path_end .png" matched "/x#.png"). */
static const uint8_t ctab[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 00 */
    0x00, 0x42, 0x80, 0x00, 0x00, 0x80, 0x00, 0x00, /* 08 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 10 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 18 */
    0x42, 0x4f, 0x06, 0x43, 0x4f, 0x47, 0x4f, 0x4f, /* 20 */
    0x4e, 0x4e, 0x4f, 0x4f, 0x4e, 0x4f, 0x4f, 0x46, /* 28 */
    0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, 0x7f, /* 30 */
    0x7f, 0x7f, 0x46, 0x4e, 0x46, 0x4e, 0x46, 0x46, /* 38 */
    0x46, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x4f, /* 40 */
    0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, /* 48 */
    0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, /* 50 */
    0x4f, 0x4f, 0x4f, 0x46, 0x06, 0x46, 0x47, 0x4f, /* 58 */
    0x47, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x5f, 0x4f, /* 60 */
    0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, /* 68 */
    0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, 0x4f, /* 70 */
    0x4f, 0x4f, 0x4f, 0x46, 0x47, 0x46, 0x4f, 0x00, /* 78 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* 80 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* 88 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* 90 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* 98 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* a0 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* a8 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* b0 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* b8 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* c0 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* c8 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* d0 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* d8 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* e0 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* e8 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* f0 */
    0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, 0x42, /* f8 */
};

#define NUM_MAX         (UINT64_C(1) << 62) /* Content-Length and chunk-size ceiling */
#define CHUNK_LINE_MAX  4096
#define CHUNK_TRAIL_MAX 16384
#define CHUNK_OVH_MIN   16384
#define CHUNK_OVH_RATIO 8 /* framing bytes allowed per data byte past CHUNK_OVH_MIN */

/* Word-at-a-time skipping (SWAR): the common bytes of a head are plain printable ASCII, so
 * 8 of them are tested at once and the byte loop only runs near a special octet. The tests
 * are exact for "some byte matches"; a hit just hands over to the table loop. */
#define ONES UINT64_C(0x0101010101010101)
#define HIGH UINT64_C(0x8080808080808080)

static inline uint64_t load8(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
    return w;
}

/* some byte of w is below n (n <= 128) */
static inline bool has_less(uint64_t w, unsigned n)
{
    return ((w - ONES * n) & ~w & HIGH) != 0;
}

/* some byte of w is above n (n <= 127) */
static inline bool has_more(uint64_t w, unsigned n)
{
    return (((w + ONES * (127 - n)) | w) & HIGH) != 0;
}

static inline unsigned lc(unsigned char c)
{
    return (unsigned)(c - 'A') < 26u ? c | 0x20u : c;
}

/* p[0..n) equals the literal `lit`, ignoring ASCII case. `lit` holds only a-z, 0-9 and '-'
 * (every one of them has bit 0x20 set), and p holds no control byte: then setting bit 0x20 in
 * p folds exactly upper case to lower case (a control byte could turn into a digit or '-',
 * HTAB into ')'). Eight bytes at a time. Callers pass names (tokens) or checked values. */
static inline bool ieq(const unsigned char *p, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    if (n != l)
        return false;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        if ((load8(p + i) | ONES * 0x20) != load8((const unsigned char *)lit + i))
            return false;
    for (; i < n; i++)
        if ((p[i] | 0x20u) != (unsigned char)lit[i])
            return false;
    return true;
}

/* a[0..n) equals b[0..n), ignoring ASCII case */
static bool same_ci(const unsigned char *a, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lc(a[i]) != lc(b[i]))
            return false;
    return true;
}

static inline bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t';
}

bool sp_h1_name_is(const char *buf, const struct sp_h1_hdr *h, const char *lower)
{
    /* any lower-case literal: byte by byte */
    const unsigned char *p = (const unsigned char *)buf + h->name_off;
    size_t n = strlen(lower);
    if (h->name_len != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (lc(p[i]) != (unsigned char)lower[i])
            return false;
    return true;
}

enum sp_h1_meth sp_h1_meth_from(const char *p, size_t len)
{
    static const struct {
        const char *s;
        size_t n;
        enum sp_h1_meth m;
    } tab[] = {
        {"GET", 3, SP_METH_GET},       {"HEAD", 4, SP_METH_HEAD},
        {"POST", 4, SP_METH_POST},     {"PUT", 3, SP_METH_PUT},
        {"DELETE", 6, SP_METH_DELETE}, {"OPTIONS", 7, SP_METH_OPTIONS},
        {"TRACE", 5, SP_METH_TRACE},   {"CONNECT", 7, SP_METH_CONNECT},
        {"PATCH", 5, SP_METH_PATCH},
    };
    for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
        if (tab[i].n == len && memcmp(tab[i].s, p, len) == 0)
            return tab[i].m;
    return SP_METH_OTHER;
}

/* ---- end-of-head search ---- */

enum {
    S_LEAD,     /* before the start line: empty lines are skipped */
    S_LEAD_LF,  /* CR seen in a leading empty line */
    S_FIRST,    /* inside the start line, line_len counts its bytes */
    S_FIRST_LF, /* CR seen at the end of the start line */
    S_BOL,      /* at the start of a field line or of the blank line */
    S_END_LF,   /* CR of the blank line seen */
    S_LINE,     /* inside a field line */
    S_LINE_LF,  /* CR seen at the end of a field line */
    S_DONE,     /* pos is the head length */
};

/* Scans p[s->pos .. len) for the end of the head. Everything decided here is decided on
 * the byte that settles it, so that a byte-at-a-time sender gets the same answer, at the
 * same byte, as one sending the head in one piece. Errors stick in s->state. */
static long find_end(struct sp_h1_scan *s, const unsigned char *p, size_t len, size_t max_line,
                     size_t max_head, long bad, long too_long, long too_big)
{
    if (s->state < 0)
        return s->state;
    if (s->state == S_DONE && s->pos <= len)
        return (long)s->pos;
    if (s->pos > len) /* the caller restarted with a shorter buffer */
        sp_h1_scan_init(s);

    size_t i = s->pos, ll = s->line_len;
    size_t end = len < max_head ? len : max_head; /* never look past the limit */
    int st = s->state;
    long ret = 0;

    while (i < end) {
        unsigned char c;
        switch (st) {
        case S_FIRST:
        case S_LINE: {
            size_t from = i;
            while (end - i >= 8 && !has_less(load8(p + i), '\r' + 1))
                i += 8;
            while (i < end && !(ctab[p[i]] & C_EOL))
                i++;
            if (st == S_FIRST) {
                ll += i - from;
                if (ll > max_line) {
                    ret = too_long;
                    goto fail;
                }
            }
            if (i == end)
                continue;
            if (p[i++] == '\n')
                goto fail_bad; /* bare LF */
            st = st == S_FIRST ? S_FIRST_LF : S_LINE_LF;
            break;
        }
        case S_LEAD:
        case S_BOL:
            c = p[i];
            if (c == '\r') {
                st = st == S_LEAD ? S_LEAD_LF : S_END_LF;
                i++;
            } else if (c == '\n') {
                goto fail_bad;
            } else {
                st = st == S_LEAD ? S_FIRST : S_LINE; /* counted by the fast loop */
            }
            break;
        default: /* one of the *_LF states: the byte after a CR must be LF */
            if (p[i++] != '\n')
                goto fail_bad; /* bare CR */
            if (st == S_END_LF) {
                s->pos = i;
                s->state = S_DONE;
                s->line_len = ll;
                return (long)i;
            }
            st = st == S_LEAD_LF ? S_LEAD : S_BOL;
            break;
        }
    }
    s->pos = i;
    s->state = st;
    s->line_len = ll;
    if (i >= max_head) { /* max_head bytes and still no blank line: it is longer */
        ret = too_big;
        goto fail;
    }
    return 0;

fail_bad:
    ret = bad;
fail:
    s->pos = i;
    s->state = (int)ret;
    return ret;
}

/* ---- field lines ---- */

enum {
    F_OTHER,
    F_HOST,
    F_CL,
    F_TE,
    F_CONN,
    F_HOP,      /* Keep-Alive, Proxy-Connection */
    F_TECODING, /* TE (the codings a client accepts, not Transfer-Encoding) */
    F_UPGRADE,
    F_H2SET,
    F_EXPECT,
};

/* Dispatch on length first: most names are rejected by one switch and no byte compare. */
static int classify(const unsigned char *n, size_t len)
{
    switch (len) {
    case 2:
        return ieq(n, len, "te") ? F_TECODING : F_OTHER;
    case 4:
        return ieq(n, len, "host") ? F_HOST : F_OTHER;
    case 6:
        return ieq(n, len, "expect") ? F_EXPECT : F_OTHER;
    case 7:
        return ieq(n, len, "upgrade") ? F_UPGRADE : F_OTHER;
    case 10:
        if (ieq(n, len, "connection"))
            return F_CONN;
        return ieq(n, len, "keep-alive") ? F_HOP : F_OTHER;
    case 14:
        if (ieq(n, len, "content-length"))
            return F_CL;
        return ieq(n, len, "http2-settings") ? F_H2SET : F_OTHER;
    case 16:
        return ieq(n, len, "proxy-connection") ? F_HOP : F_OTHER;
    case 17:
        return ieq(n, len, "transfer-encoding") ? F_TE : F_OTHER;
    }
    return F_OTHER;
}

/* Whether a TE value asks for trailers: its first "trailers" (as written) ends the value or is
 * followed by a comma. */
static bool te_trailers(const unsigned char *v, size_t n)
{
    static const char tr[] = "trailers";
    const size_t tl = sizeof(tr) - 1;

    for (size_t i = 0; i + tl <= n; i++) {
        if (memcmp(v + i, tr, tl))
            continue;
        return i + tl == n || v[i + tl] == ',';
    }
    return false;
}

/* Next member of a comma-separated list in v[*pos..n), without OWS; empty members are
 * skipped as RFC 9110 5.6.1 asks of recipients. False at the end of the list. */
static bool list_next(const unsigned char *v, size_t n, size_t *pos, size_t *off, size_t *len)
{
    size_t i = *pos;
    for (;;) {
        while (i < n && (is_ws(v[i]) || v[i] == ','))
            i++;
        if (i == n) {
            *pos = i;
            return false;
        }
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && is_ws(v[e - 1]))
            e--;
        *pos = i;
        *off = s;
        *len = e - s;
        return true;
    }
}

static bool all_tok(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(ctab[p[i]] & C_TOK))
            return false;
    return n > 0;
}

/* Content-Length = 1*DIGIT, at most 2^62 so that sums of lengths cannot overflow. */
static bool parse_cl(const unsigned char *v, size_t n, uint64_t *out)
{
    uint64_t x = 0;
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(v[i] - '0');
        if (d > 9 || x > (NUM_MAX - d) / 10)
            return false;
        x = x * 10 + d;
    }
    *out = x;
    return true;
}

/* uri-host [":" port] where uri-host is an IP-literal in brackets, or reg-name/IPv4 made of
 * unreserved, sub-delims and pct-encoded octets (RFC 3986 3.2.2). A plain character check
 * would let "a:b:c" or "x]" through, which different backends split differently, so the
 * shape is checked too. The port is *DIGIT only where it matters to us (CONNECT's
 * authority, `need_port`); elsewhere it may hold any reg-name octet, because HAProxy 2.6
 * checks nothing in a Host value and forwards "a.com:80x" (a second ':' still fails). */
static bool host_ok(const unsigned char *p, size_t n, bool need_host, bool need_port)
{
    size_t i = 0;
    if (n > 0 && p[0] == '[') {
        for (i = 1; i < n && p[i] != ']'; i++)
            if (!(ctab[p[i]] & C_REG) && p[i] != ':')
                return false;
        if (i == n || i == 1)
            return false;
        i++;
    } else {
        while (i < n && p[i] != ':') {
            if (p[i] == '%') {
                if (n - i < 3 || !(ctab[p[i + 1]] & C_HEX) || !(ctab[p[i + 2]] & C_HEX))
                    return false;
                i += 3;
            } else if (ctab[p[i]] & C_REG) {
                i++;
            } else {
                return false;
            }
        }
        if (i == 0 && need_host)
            return false;
    }
    if (i == n)
        return !need_port;
    if (p[i++] != ':' || (need_port && i == n))
        return false;
    unsigned port_class = need_port ? C_DIG : C_REG;
    for (; i < n; i++)
        if (!(ctab[p[i]] & port_class))
            return false;
    return true;
}

bool sp_h1_host_ok(const char *v, size_t n)
{
    return host_ok((const unsigned char *)v, n, false, false);
}

/* Cross-field facts gathered during the walk and checked once it is over. */
struct fstate {
    int cl_idx, te_idx;
    unsigned h2s;  /* HTTP2-Settings fields seen */
    bool conn_tok; /* some Connection field lists at least one token */
};

/* Whether a Connection token names a field that frames or routes the message: dropping it
 * as hop-by-hop would let the next hop see another message than the one we parsed. */
static bool conn_names_framing(const unsigned char *t, size_t len)
{
    switch (classify(t, len)) {
    case F_HOST:
    case F_CL:
    case F_TE:
        return true;
    }
    return false;
}

/* Records one field line. Returns 0 or the error code. */
static long on_field(const unsigned char *p, struct sp_h1_msg *m, struct fstate *f, bool req,
                     long bad)
{
    struct sp_h1_hdr *h = &m->hdrs[m->nhdrs];
    const unsigned char *v = p + h->val_off;
    size_t vn = h->val_len, pos = 0, off, len;
    uint16_t fl = 0;

    switch (classify(p + h->name_off, h->name_len)) {
    case F_HOST:
        fl = SP_H1_HF_HOST;
        if (m->host_idx >= 0 && req)
            return bad;
        if (req && !host_ok(v, vn, false, false))
            return bad;
        m->host_idx = (int)m->nhdrs;
        break;
    case F_CL:
        fl = SP_H1_HF_CL;
        /* any repetition, even identical, is refused: simpler than proving equality and
         * no legitimate sender needs it (nginx does the same) */
        if (f->cl_idx >= 0 || !parse_cl(v, vn, &m->content_length))
            return bad;
        f->cl_idx = (int)m->nhdrs;
        break;
    case F_TE:
        fl = SP_H1_HF_TE | SP_H1_HF_HOP;
        if (f->te_idx >= 0) /* split over two lines */
            return bad;
        f->te_idx = (int)m->nhdrs;
        break;
    case F_CONN:
        fl = SP_H1_HF_HOP;
        while (list_next(v, vn, &pos, &off, &len)) {
            /* a malformed Connection could hide a hop-by-hop name from us but not from
             * the next hop: refuse it rather than guess */
            if (!all_tok(v + off, len))
                return bad;
            /* keep-alive and upgrade name fields that are hop-by-hop anyway: only other
             * tokens make the fields they name hop-by-hop (mark_conn_named()) */
            if (ieq(v + off, len, "keep-alive")) {
                m->flags |= SP_H1_MF_CONN_KEEPALIVE;
            } else if (ieq(v + off, len, "upgrade")) {
                m->flags |= SP_H1_MF_CONN_UPGRADE;
            } else if (conn_names_framing(v + off, len)) {
                /* "Connection: Content-Length" would strip the framing and send the body
                 * as the next request (HAProxy ignores such tokens; a request is refused,
                 * a response keeps its fields, see mark_conn_named()) */
                if (req)
                    return bad;
            } else {
                f->conn_tok = true;
                if (ieq(v + off, len, "close"))
                    m->flags |= SP_H1_MF_CONN_CLOSE;
            }
        }
        break;
    case F_HOP:
        fl = SP_H1_HF_HOP;
        break;
    case F_TECODING:
        /* hop-by-hop, but "trailers" goes on toward the server (gRPC needs it), HAProxy's
         * rule: the first "trailers" in the value, ending it or followed by a comma */
        fl = SP_H1_HF_HOP;
        if (te_trailers(v, vn))
            m->flags |= SP_H1_MF_TE_TRAILERS;
        break;
    case F_UPGRADE:
        fl = SP_H1_HF_UPGRADE | SP_H1_HF_HOP;
        while (list_next(v, vn, &pos, &off, &len))
            if (ieq(v + off, len, "h2c"))
                m->flags |= SP_H1_MF_UPGRADE_H2C;
        break;
    case F_H2SET:
        fl = SP_H1_HF_H2SETTINGS;
        f->h2s++;
        break;
    case F_EXPECT:
        fl = SP_H1_HF_EXPECT;
        if (ieq(v, vn, "100-continue"))
            m->flags |= SP_H1_MF_EXPECT_100;
        break;
    }
    h->flags = fl;
    return 0;
}

/* Marks every field named by a Connection token as hop-by-hop. Runs after the walk since
 * Connection may come after the fields it names; at most SP_H1_MAX_HDRS^2 length compares
 * per token, almost all of them failing on the length. */
static void mark_conn_named(const unsigned char *p, struct sp_h1_msg *m)
{
    for (uint32_t c = 0; c < m->nhdrs; c++) {
        const struct sp_h1_hdr *ch = &m->hdrs[c];
        if (ch->name_len != 10 || !ieq(p + ch->name_off, 10, "connection"))
            continue;
        const unsigned char *v = p + ch->val_off;
        size_t pos = 0, off, len;
        while (list_next(v, ch->val_len, &pos, &off, &len)) {
            for (uint32_t j = 0; j < m->nhdrs; j++) {
                struct sp_h1_hdr *h = &m->hdrs[j];
                /* a response's Content-Length stays whatever Connection says: it frames
                 * what we relay (requests naming it were refused already) */
                if (h->name_len != len || (h->flags & (SP_H1_HF_HOP | SP_H1_HF_CL | SP_H1_HF_HOST)))
                    continue;
                /* v + off holds only tchars, so lc() on both sides is exact */
                size_t k = 0;
                while (k < len && lc(p[h->name_off + k]) == lc(v[off + k]))
                    k++;
                if (k == len)
                    h->flags |= SP_H1_HF_HOP;
            }
        }
    }
}

/* Walks the field lines from p[i] to the blank line. Returns the head length or an error. */
static long parse_fields(const unsigned char *p, size_t i, size_t hlen, struct sp_h1_msg *m,
                         struct fstate *f, bool req, long bad, long big)
{
    for (;;) {
        if (p[i] == '\r') /* the blank line; find_end() proved the LF follows */
            return (long)(i + 2);
        /* a line starting with whitespace is obs-fold, or a whitespace line between the
         * start line and the first field: both are refused */
        size_t ns = i;
        while (ctab[p[i]] & C_TOK)
            i++;
        if (p[i] != ':' || i == ns)
            return bad;
        size_t nl = i - ns;
        i++;
        while (is_ws(p[i]))
            i++;
        size_t vs = i;
        while (hlen - i >= 8) {
            uint64_t w = load8(p + i);
            if (has_less(w, 0x20) || has_less(w ^ (ONES * 0x7f), 1))
                break;
            i += 8;
        }
        while (ctab[p[i]] & C_VAL)
            i++;
        if (p[i] != '\r') /* NUL, other CTLs, DEL */
            return bad;
        size_t ve = i;
        while (ve > vs && is_ws(p[ve - 1]))
            ve--;
        i += 2;

        if (m->nhdrs >= (uint32_t)sp_h1_max_hdrs || nl > UINT16_MAX || ve - vs > UINT16_MAX)
            return big;
        struct sp_h1_hdr *h = &m->hdrs[m->nhdrs];
        h->name_off = (uint32_t)ns;
        h->name_len = (uint16_t)nl;
        h->val_off = (uint32_t)vs;
        h->val_len = (uint16_t)(ve - vs);
        long r = on_field(p, m, f, req, bad);
        if (r)
            return r;
        m->nhdrs++;
    }
}

/* Decides the body framing from Content-Length / Transfer-Encoding (RFC 9112 6.1, 6.3).
 * Returns 0, or the error code; 501 is only returned when nothing else is wrong. */
static long framing(const unsigned char *p, struct sp_h1_msg *m, const struct fstate *f, long bad,
                    long unknown)
{
    if (f->te_idx >= 0) {
        const struct sp_h1_hdr *h = &m->hdrs[f->te_idx];
        /* CL with TE invites smuggling; TE in HTTP/1.0 is framing 1.0 cannot express */
        if (f->cl_idx >= 0 || m->version == 10)
            return bad;
        if (ieq(p + h->val_off, h->val_len, "chunked")) {
            m->body = SP_H1_BODY_CHUNKED;
            return 0;
        }
        /* lists, parameters, empty members: ambiguous whatever they contain */
        return all_tok(p + h->val_off, h->val_len) ? unknown : bad;
    }
    if (f->cl_idx >= 0)
        m->body = SP_H1_BODY_CL;
    return 0;
}

static void msg_reset(struct sp_h1_msg *m, struct fstate *f)
{
    m->method_off = m->uri_off = 0;
    m->method_len = 0;
    m->uri_len = 0;
    m->meth = SP_METH_OTHER;
    m->status = 0;
    m->reason_off = 0;
    m->reason_len = 0;
    m->version = 0;
    m->flags = 0;
    m->body = SP_H1_BODY_NONE;
    m->content_length = 0;
    m->host_idx = -1;
    m->authority_off = m->authority_len = 0;
    m->nhdrs = 0;
    f->cl_idx = f->te_idx = -1;
    f->h2s = 0;
    f->conn_tok = false;
}

/* Checks the request-target form (RFC 9112 3.2) and finds the authority of an absolute-form
 * target. Returns false for a target that is none of the four forms. */
static bool target(const unsigned char *p, struct sp_h1_msg *m)
{
    const unsigned char *t = p + m->uri_off;
    size_t n = m->uri_len, i = 0;

    if (m->meth == SP_METH_CONNECT) /* authority-form only, with a port */
        return host_ok(t, n, true, true);
    if (t[0] == '/')
        return true;
    if (n == 1 && t[0] == '*')
        return m->meth == SP_METH_OPTIONS;
    /* absolute-form: scheme "://" authority [path-abempty] ["?" query] */
    if ((unsigned)(lc(t[0]) - 'a') >= 26u)
        return false;
    while (i < n && ((unsigned)(lc(t[i]) - 'a') < 26u || (ctab[t[i]] & C_DIG) || t[i] == '+' ||
                     t[i] == '-' || t[i] == '.'))
        i++;
    if (n - i < 3 || memcmp(t + i, "://", 3) != 0)
        return false;
    i += 3;
    size_t a = i;
    while (i < n && t[i] != '/' && t[i] != '?')
        i++;
    /* userinfo ('@' fails host_ok) is an error for http(s) URIs (RFC 9110 4.2.4); an empty
     * host must be rejected (4.2.1). "http://h?q" (a query but no path) is refused as
     * HAProxy 2.6 refuses it: its authority runs to the first '/', so "h?q" never matches
     * the Host field, and servers disagree on where such a target's path starts. */
    if (!host_ok(t + a, i - a, true, false) || (i < n && t[i] == '?'))
        return false;
    m->flags |= SP_H1_MF_ABSOLUTE_URI;
    m->authority_off = (uint32_t)(m->uri_off + a);
    m->authority_len = (uint32_t)(i - a);
    return true;
}

/* The head is complete in p[0..hlen) and ends in CRLF CRLF. */
static long parse_req(const unsigned char *p, size_t hlen, struct sp_h1_msg *m)
{
    struct fstate f;
    size_t i = 0;

    msg_reset(m, &f);
    while (p[i] == '\r')
        i += 2;

    size_t ms = i;
    while (ctab[p[i]] & C_TOK)
        i++;
    if (i == ms || p[i] != ' ')
        return SP_H1_E400;
    if (i - ms > UINT16_MAX)
        return SP_H1_E414;
    m->method_off = (uint32_t)ms;
    m->method_len = (uint16_t)(i - ms);
    m->meth = sp_h1_meth_from((const char *)p + ms, i - ms);

    size_t us = ++i;
    while (hlen - i >= 8) {
        uint64_t w = load8(p + i);
        /* below 0x24 stops at SP and CTLs, and at '#' too (with the rare '!' and '"',
         * which the table loop then accepts) */
        if (has_less(w, 0x24) || has_more(w, 0x7e))
            break;
        i += 8;
    }
    while (ctab[p[i]] & C_URI)
        i++;
    if (i == us || p[i] != ' ')
        return SP_H1_E400;
    m->uri_off = (uint32_t)us;
    m->uri_len = (uint32_t)(i - us);

    i++;
    if (hlen - i < 9 || memcmp(p + i, "HTTP/1.", 7) != 0 || (p[i + 7] != '0' && p[i + 7] != '1') ||
        p[i + 8] != '\r')
        return SP_H1_E400;
    m->version = p[i + 7] == '1' ? 11 : 10;
    if (!target(p, m))
        return SP_H1_E400;

    long r = parse_fields(p, i + 10, hlen, m, &f, true, SP_H1_E400, SP_H1_E431);
    if (r < 0)
        return r;
    if (m->version == 11 && m->host_idx < 0)
        return SP_H1_E400;
    /* RFC 9112 3.2.2 lets the target's authority override Host; HAProxy 2.6 (h1.c) instead
     * refuses a Host that differs from it (ASCII case aside), so that what routing reads in
     * Host is what the server will use */
    if ((m->flags & SP_H1_MF_ABSOLUTE_URI) && m->host_idx >= 0) {
        const struct sp_h1_hdr *h = &m->hdrs[m->host_idx];
        if (h->val_len != m->authority_len ||
            !same_ci(p + h->val_off, p + m->authority_off, h->val_len))
            return SP_H1_E400;
    }
    long e = framing(p, m, &f, SP_H1_E400, SP_H1_E501);
    if (e)
        return e;
    if (f.h2s == 1)
        m->flags |= SP_H1_MF_HAS_H2SETTINGS;
    if (f.conn_tok)
        mark_conn_named(p, m);
    return r;
}

long sp_h1_parse_request(const char *buf, size_t len, size_t max_line, size_t max_head,
                         struct sp_h1_scan *scan, struct sp_h1_msg *msg)
{
    struct sp_h1_scan local = {0};
    const unsigned char *p = (const unsigned char *)buf;
    if (!scan)
        scan = &local;
    if (max_head > UINT32_MAX) /* offsets are 32-bit */
        max_head = UINT32_MAX;
    long r = find_end(scan, p, len, max_line, max_head, SP_H1_E400, SP_H1_E414, SP_H1_E431);
    if (r <= 0)
        return r;
    return parse_req(p, (size_t)r, msg);
}

static long parse_resp(const unsigned char *p, size_t hlen, enum sp_h1_meth req_meth,
                       struct sp_h1_msg *m)
{
    const long bad = SP_H1_E502;
    struct fstate f;
    size_t i = 0;

    msg_reset(m, &f);
    m->meth = req_meth;
    while (p[i] == '\r')
        i += 2;

    /* "HTTP/1.x 200" + CRLF CRLF at least, so every read below is inside the head */
    if (hlen - i < 16 || memcmp(p + i, "HTTP/1.", 7) != 0 || (p[i + 7] != '0' && p[i + 7] != '1') ||
        p[i + 8] != ' ')
        return bad;
    m->version = p[i + 7] == '1' ? 11 : 10;
    i += 9;
    if (p[i] < '1' || p[i] > '9' || !(ctab[p[i + 1]] & C_DIG) || !(ctab[p[i + 2]] & C_DIG))
        return bad;
    m->status = (p[i] - '0') * 100 + (p[i + 1] - '0') * 10 + (p[i + 2] - '0');
    i += 3;
    /* the SP before an empty reason is often left out; accepting that is unambiguous */
    if (p[i] == ' ') {
        size_t rs = ++i;
        while (ctab[p[i]] & C_VAL)
            i++;
        if (i - rs > UINT16_MAX)
            return bad;
        m->reason_off = (uint32_t)rs;
        m->reason_len = (uint16_t)(i - rs);
    } else {
        m->reason_off = (uint32_t)i;
    }
    if (p[i] != '\r')
        return bad;

    long r = parse_fields(p, i + 2, hlen, m, &f, false, bad, bad);
    if (r < 0)
        return r;
    long e = framing(p, m, &f, bad, bad);
    if (e)
        return e;
    if (f.h2s == 1)
        m->flags |= SP_H1_MF_HAS_H2SETTINGS;
    if (f.conn_tok)
        mark_conn_named(p, m);

    /* RFC 9112 6.3 rules 1 and 2: these never have a body whatever the fields say. The
     * fields were still validated above: a malformed one is malformed everywhere. */
    if (req_meth == SP_METH_HEAD || m->status < 200 || m->status == 204 || m->status == 304 ||
        (req_meth == SP_METH_CONNECT && m->status < 300))
        m->body = SP_H1_BODY_NONE;
    else if (m->body == SP_H1_BODY_NONE)
        m->body = SP_H1_BODY_CLOSE;
    return r;
}

long sp_h1_parse_response(const char *buf, size_t len, size_t max_head, enum sp_h1_meth req_meth,
                          struct sp_h1_scan *scan, struct sp_h1_msg *msg)
{
    struct sp_h1_scan local = {0};
    const unsigned char *p = (const unsigned char *)buf;
    if (!scan)
        scan = &local;
    if (max_head > UINT32_MAX)
        max_head = UINT32_MAX;
    long r = find_end(scan, p, len, SIZE_MAX, max_head, SP_H1_E502, SP_H1_E502, SP_H1_E502);
    if (r <= 0)
        return r;
    return parse_resp(p, (size_t)r, req_meth, msg);
}

/* ---- chunked transfer coding ---- */

enum {
    CS_SIZE0,       /* first HEXDIG of a chunk-size */
    CS_SIZE,        /* further HEXDIG */
    CS_SIZE_WS,     /* BWS that must lead to ';' */
    CS_EXT_PRE,     /* after ';': BWS, then an extension name */
    CS_EXT_NAME,    /* inside a name */
    CS_EXT_NAME_WS, /* BWS after a name: '=' or ';' must follow */
    CS_EXT_VAL_PRE, /* after '=': BWS, then token or quoted-string */
    CS_EXT_VAL,     /* inside a token value */
    CS_EXT_QS,      /* inside a quoted-string */
    CS_EXT_QP,      /* after a backslash in a quoted-string */
    CS_EXT_QEND,    /* after the closing quote */
    CS_LF,          /* CR of the size line seen */
    CS_DATA,        /* `remaining` data bytes */
    CS_DATA_CR,     /* CRLF after the data */
    CS_DATA_LF,
    CS_TR_BOL, /* start of a trailer line or of the final blank line */
    CS_TR_NAME,
    CS_TR_VAL,
    CS_TR_LF,
    CS_END_LF,
    CS_DONE,
    CS_ERR,
};

int sp_h1_chunk_parse(struct sp_h1_chunk *c, const char *in, size_t len, size_t *ret_consumed,
                      size_t *ret_data_off, size_t *ret_data_len)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t i = 0;
    int st = c->state, ret = SP_H1_CHUNK_MORE;

    *ret_data_off = 0;
    *ret_data_len = 0;
    if (st == CS_DONE || st == CS_ERR) {
        *ret_consumed = 0;
        return st == CS_DONE ? SP_H1_CHUNK_DONE : SP_H1_CHUNK_ERR;
    }

    while (i < len) {
        unsigned char ch = p[i];

        if (st == CS_DATA) {
            size_t n = len - i;
            if (n > c->remaining)
                n = (size_t)c->remaining;
            *ret_data_off = i;
            *ret_data_len = n;
            i += n;
            c->remaining -= n;
            c->data_total += n;
            if (c->remaining == 0)
                st = CS_DATA_CR;
            goto out; /* one data run per call */
        }

        i++;
        if (st >= CS_TR_BOL) {
            if (++c->trailer_len > CHUNK_TRAIL_MAX)
                goto fail;
        } else {
            /* framing only. Limits protect memory and time, not chunk counts: the smallest
             * chunk, one data byte, costs 5 framing bytes ("1" CRLF and CRLF), so plain
             * chunking of any size stays under 8 per data byte and passes however many
             * chunks it takes. What this refuses is framing that carries next to nothing
             * (long extensions, zero-padded sizes) beyond the first 16 KiB. */
            if (++c->overhead > CHUNK_OVH_MIN &&
                (c->overhead - CHUNK_OVH_MIN) / CHUNK_OVH_RATIO > c->data_total)
                goto fail;
            if (st < CS_LF && ch != '\r' && ++c->line_len > CHUNK_LINE_MAX)
                goto fail;
        }

        switch (st) {
        case CS_SIZE0:
        case CS_SIZE:
            if (ctab[ch] & C_HEX) {
                unsigned d = ch <= '9' ? (unsigned)(ch - '0') : lc(ch) - 'a' + 10u;
                if (c->size > (NUM_MAX - d) >> 4)
                    goto fail;
                c->size = (c->size << 4) | d;
                st = CS_SIZE;
                break;
            }
            if (st == CS_SIZE0)
                goto fail;
            if (ch == '\r')
                st = CS_LF;
            else if (ch == ';')
                st = CS_EXT_PRE;
            else if (is_ws(ch))
                st = CS_SIZE_WS;
            else
                goto fail;
            break;
        case CS_SIZE_WS:
            if (ch == ';')
                st = CS_EXT_PRE;
            else if (!is_ws(ch))
                goto fail;
            break;
        case CS_EXT_PRE:
            if (ctab[ch] & C_TOK)
                st = CS_EXT_NAME;
            else if (!is_ws(ch))
                goto fail;
            break;
        case CS_EXT_NAME:
        case CS_EXT_VAL:
        case CS_EXT_QEND:
            if (st != CS_EXT_QEND && (ctab[ch] & C_TOK))
                break;
            if (ch == '\r')
                st = CS_LF;
            else if (ch == ';')
                st = CS_EXT_PRE;
            else if (ch == '=' && st == CS_EXT_NAME)
                st = CS_EXT_VAL_PRE;
            else if (is_ws(ch))
                st = st == CS_EXT_NAME ? CS_EXT_NAME_WS : CS_SIZE_WS;
            else
                goto fail;
            break;
        case CS_EXT_NAME_WS:
            if (ch == '=')
                st = CS_EXT_VAL_PRE;
            else if (ch == ';')
                st = CS_EXT_PRE;
            else if (!is_ws(ch))
                goto fail;
            break;
        case CS_EXT_VAL_PRE:
            if (ch == '"')
                st = CS_EXT_QS;
            else if (ctab[ch] & C_TOK)
                st = CS_EXT_VAL;
            else if (!is_ws(ch))
                goto fail;
            break;
        case CS_EXT_QS:
            if (ch == '"')
                st = CS_EXT_QEND;
            else if (ch == '\\')
                st = CS_EXT_QP;
            else if (!(ctab[ch] & C_QD))
                goto fail;
            break;
        case CS_EXT_QP: /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
            if (!(ctab[ch] & C_VAL))
                goto fail;
            st = CS_EXT_QS;
            break;
        case CS_LF:
            if (ch != '\n')
                goto fail;
            c->line_len = 0;
            if (c->size == 0) {
                st = CS_TR_BOL;
            } else {
                c->remaining = c->size;
                c->size = 0;
                st = CS_DATA;
            }
            break;
        case CS_DATA_CR:
            if (ch != '\r')
                goto fail;
            st = CS_DATA_LF;
            break;
        case CS_DATA_LF:
            if (ch != '\n')
                goto fail;
            st = CS_SIZE0;
            break;
        case CS_TR_BOL: /* trailer fields obey the header field rules; no obs-fold */
            if (ch == '\r')
                st = CS_END_LF;
            else if (ctab[ch] & C_TOK)
                st = CS_TR_NAME;
            else
                goto fail;
            break;
        case CS_TR_NAME:
            if (ch == ':')
                st = CS_TR_VAL;
            else if (!(ctab[ch] & C_TOK))
                goto fail;
            break;
        case CS_TR_VAL:
            if (ch == '\r')
                st = CS_TR_LF;
            else if (!(ctab[ch] & C_VAL))
                goto fail;
            break;
        case CS_TR_LF:
            if (ch != '\n')
                goto fail;
            st = CS_TR_BOL;
            break;
        case CS_END_LF:
            if (ch != '\n')
                goto fail;
            st = CS_DONE;
            ret = SP_H1_CHUNK_DONE;
            goto out;
        default:
            goto fail;
        }
    }
out:
    c->state = st;
    *ret_consumed = i;
    return ret;
fail:
    c->state = CS_ERR;
    *ret_consumed = i;
    *ret_data_len = 0;
    return SP_H1_CHUNK_ERR;
}
