/* http/normuri.c - see normuri.h. */
#include "http/normuri.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"

int sp__normuri_parse(const char *name, const char *opt)
{
    static const struct {
        const char *name;
        int code;
        const char *opt;
    } t[] = {
        {"fragment-encode", SP_NORMURI_FRAGMENT_ENCODE, NULL},
        {"fragment-strip", SP_NORMURI_FRAGMENT_STRIP, NULL},
        {"path-merge-slashes", SP_NORMURI_MERGE_SLASHES, NULL},
        {"path-strip-dot", SP_NORMURI_STRIP_DOT, NULL},
        {"path-strip-dotdot", SP_NORMURI_STRIP_DOTDOT, "full"},
        {"percent-decode-unreserved", SP_NORMURI_PERCENT_DECODE, "strict"},
        {"percent-to-uppercase", SP_NORMURI_PERCENT_UPPER, "strict"},
        {"query-sort-by-name", SP_NORMURI_QUERY_SORT, NULL},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (!strcmp(name, t[i].name))
            return t[i].code | (t[i].opt && opt && !strcmp(opt, t[i].opt) ? SP_NORMURI_OPT : 0);
    return -1;
}

struct out {
    char *p;
    size_t n, cap;
    bool full;
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->full || n > o->cap - o->n) {
        o->full = true;
        return;
    }
    memcpy(o->p + o->n, s, n);
    o->n += n;
}

static bool unreserved(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

/* the path's segments: `.` and `..` handling over in[0..plen) */
static void segments(int kind, bool full, const char *in, size_t plen, struct out *o)
{
    /* segment starts of what was written, to step back over for ".." */
    size_t *starts = malloc(sizeof(size_t) * (plen + 1));
    size_t nseg = 0, i = 0;

    if (!starts) {
        o->full = true;
        return;
    }
    while (i < plen) {
        size_t j = i + 1;
        if (in[i] != '/') { /* a relative path: copied as is */
            put(o, in + i, plen - i);
            break;
        }
        while (j < plen && in[j] != '/')
            j++;
        const char *seg = in + i + 1;
        size_t sl = j - i - 1;
        bool last = j == plen;
        if (sl == 1 && seg[0] == '.' && kind == SP_NORMURI_STRIP_DOT) {
            if (last)
                put(o, "/", 1); /* "/a/." is "/a/" */
        } else if (sl == 2 && seg[0] == '.' && seg[1] == '.' && kind == SP_NORMURI_STRIP_DOTDOT) {
            if (nseg) {
                o->n = starts[--nseg];
                if (last)
                    put(o, "/", 1);
            } else if (!full) {
                put(o, in + i, j - i); /* above the root: kept unless `full` */
            } else if (last) {
                put(o, "/", 1);
            }
        } else {
            starts[nseg++] = o->n;
            put(o, in + i, j - i);
        }
        i = j;
    }
    free(starts);
}

struct param {
    const char *p;
    size_t len, nlen;
};

static int param_cmp(const void *a, const void *b)
{
    const struct param *x = a, *y = b;
    size_t n = x->nlen < y->nlen ? x->nlen : y->nlen;
    int c = memcmp(x->p, y->p, n);
    if (c)
        return c;
    if (x->nlen != y->nlen)
        return x->nlen < y->nlen ? -1 : 1;
    return x->p < y->p ? -1 : x->p > y->p; /* stable: by position */
}

long sp__normuri_apply(int code, const char *in, size_t len, char *outp, size_t cap)
{
    struct out o = {.p = outp, .cap = cap};
    int kind = code & SP_NORMURI_KIND;
    bool opt = (code & SP_NORMURI_OPT) != 0;
    const char *q = memchr(in, '?', len), *h = memchr(in, '#', len);
    size_t plen = q ? (size_t)(q - in) : h ? (size_t)(h - in) : len;

    switch (kind) {
    case SP_NORMURI_FRAGMENT_ENCODE:
        for (size_t i = 0; i < len; i++)
            put(&o, in[i] == '#' ? "%23" : in + i, in[i] == '#' ? 3 : 1);
        break;
    case SP_NORMURI_FRAGMENT_STRIP:
        put(&o, in, h ? (size_t)(h - in) : len);
        break;
    case SP_NORMURI_MERGE_SLASHES:
        for (size_t i = 0; i < plen; i++)
            if (!(in[i] == '/' && i && in[i - 1] == '/'))
                put(&o, in + i, 1);
        put(&o, in + plen, len - plen);
        break;
    case SP_NORMURI_STRIP_DOT:
    case SP_NORMURI_STRIP_DOTDOT:
        segments(kind, opt, in, plen, &o);
        put(&o, in + plen, len - plen);
        break;
    case SP_NORMURI_PERCENT_DECODE:
    case SP_NORMURI_PERCENT_UPPER:
        for (size_t i = 0; i < len; i++) {
            if (in[i] != '%') {
                put(&o, in + i, 1);
                continue;
            }
            int hi = i + 2 < len ? sp_hexval(in[i + 1]) : -1;
            int lo = i + 2 < len ? sp_hexval(in[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                if (opt)
                    return -EINVAL;
                put(&o, in + i, 1);
                continue;
            }
            char c = (char)(hi * 16 + lo);
            if (kind == SP_NORMURI_PERCENT_DECODE && unreserved((unsigned char)c)) {
                put(&o, &c, 1);
            } else if (kind == SP_NORMURI_PERCENT_UPPER) {
                static const char hx[] = "0123456789ABCDEF";
                char e[3] = {'%', hx[hi], hx[lo]};
                put(&o, e, 3);
            } else {
                put(&o, in + i, 3);
            }
            i += 2;
        }
        break;
    case SP_NORMURI_QUERY_SORT: {
        if (!q) {
            put(&o, in, len);
            break;
        }
        const char *qs = q + 1, *qe = h ? h : in + len;
        size_t n = 1;
        for (const char *p = qs; p < qe; p++)
            n += *p == '&';
        struct param *ps = malloc(sizeof(*ps) * n);
        if (!ps)
            return -ENOMEM;
        size_t k = 0;
        for (const char *p = qs; p <= qe && k < n;) {
            const char *amp = memchr(p, '&', (size_t)(qe - p));
            const char *end = amp ? amp : qe;
            const char *eq = memchr(p, '=', (size_t)(end - p));
            ps[k].p = p;
            ps[k].len = (size_t)(end - p);
            ps[k].nlen = eq ? (size_t)(eq - p) : ps[k].len;
            k++;
            if (!amp)
                break;
            p = amp + 1;
        }
        qsort(ps, k, sizeof(*ps), param_cmp);
        put(&o, in, (size_t)(qs - in));
        for (size_t i = 0; i < k; i++) {
            if (i)
                put(&o, "&", 1);
            put(&o, ps[i].p, ps[i].len);
        }
        put(&o, qe, (size_t)(in + len - qe));
        free(ps);
        break;
    }
    default:
        put(&o, in, len);
    }
    return o.full ? -ENOSPC : (long)o.n;
}
