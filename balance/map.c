/* balance/map.c - HAProxy's map files (src/map.c, src/pattern.c): `key value` lines loaded at
 * configuration time, looked up by the map converters.
 *
 * Format: per line, optional blanks, the key up to the next blank, blanks, then the value up
 * to the end of the line (trailing blanks kept, as HAProxy does); blank lines and lines whose
 * first non-blank character is '#' are skipped. Lookup follows HAProxy's indexes: exact keys
 * (map_str) by binary search, the first entry in file order; map_beg and map_ip the longest
 * matching prefix; every other kind the first entry in file order that matches. Keys compare
 * case-sensitively. shared: a loaded map is immutable. */
#include "balance/sample-int.h"
#include "core/regexcost.h"

#include <arpa/inet.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* match kinds, in map_kind()'s order (conv.c) */
enum { M_STR, M_BEG, M_SUB, M_DIR, M_DOM, M_END, M_REG, M_REGM, M_INT, M_IP };

/* shared: immutable after load. One line of a map file. */
struct ent {
    char *key; /* NUL-terminated */
    size_t klen;
    size_t line;    /* file order */
    int64_t lo, hi; /* M_INT: inclusive range */
    bool v6;
    uint8_t plen;     /* M_IP: prefix length */
    uint8_t addr[16]; /* M_IP: network (v4 in the first 4 bytes) */
    regex_t re;
    bool has_re;
    struct sp_smp val; /* STR values point into `vs` */
    char *vs;
};

/* shared: immutable after load. */
struct sp__map {
    int match, out;
    size_t n;
    struct ent *e;
};

int sp__map_key_type(int match)
{
    return match == M_INT ? SP_SMP_SINT : match == M_IP ? SP__SMP_ADDR : SP_SMP_STR;
}

void sp__map_free(struct sp__map *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->e[i].key);
        free(m->e[i].vs);
        if (m->e[i].has_re)
            regfree(&m->e[i].re);
    }
    free(m->e);
    free(m);
}

static int cmp_key(const void *a, const void *b)
{
    const struct ent *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int r = memcmp(x->key, y->key, n);
    if (r)
        return r;
    if (x->klen != y->klen)
        return x->klen < y->klen ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static bool parse_ip_key(const char *k, struct ent *e)
{
    char buf[INET6_ADDRSTRLEN + 8];
    const char *slash = strchr(k, '/');
    size_t al = slash ? (size_t)(slash - k) : strlen(k);
    long plen = -1;

    if (al >= sizeof(buf) - 1)
        return false;
    memcpy(buf, k, al);
    buf[al] = '\0';
    if (slash) {
        char *end;
        struct in_addr mask;
        plen = strtol(slash + 1, &end, 10);
        if (*end || end == slash + 1) {
            /* a dotted mask */
            if (inet_pton(AF_INET, slash + 1, &mask) != 1)
                return false;
            uint32_t m = ntohl(mask.s_addr);
            plen = 0;
            while (m & 0x80000000u) {
                plen++;
                m <<= 1;
            }
            if (m)
                return false;
        }
    }
    if (inet_pton(AF_INET, buf, e->addr) == 1) {
        if (plen > 32)
            return false;
        e->v6 = false;
        e->plen = (uint8_t)(plen < 0 ? 32 : plen);
    } else if (inet_pton(AF_INET6, buf, e->addr) == 1) {
        if (plen > 128)
            return false;
        e->v6 = true;
        e->plen = (uint8_t)(plen < 0 ? 128 : plen);
    } else {
        return false;
    }
    for (int b = e->plen; b < (e->v6 ? 128 : 32); b++)
        e->addr[b / 8] &= (uint8_t) ~(0x80 >> (b % 8));
    return true;
}

static bool parse_int_key(const char *k, struct ent *e)
{
    /* N, or a range N:M, N:, :M (HAProxy's pat_parse_int) */
    const char *colon = strchr(k, ':');
    char *end;
    if (!*k)
        return false;
    e->lo = INT64_MIN;
    e->hi = INT64_MAX;
    if (colon != k) {
        e->lo = strtoll(k, &end, 10);
        if (end != (colon ? colon : k + strlen(k)))
            return false;
    }
    if (!colon) {
        e->hi = e->lo;
        return true;
    }
    if (colon[1]) {
        e->hi = strtoll(colon + 1, &end, 10);
        if (*end)
            return false;
    }
    return true;
}

static int add_entry(struct sp__map *m, size_t *cap, const char *path, size_t line, char *key,
                     char *val, char *err, size_t errlen)
{
    char why[200];
    if (m->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        struct ent *ne = realloc(m->e, nc * sizeof(*ne));
        if (!ne)
            return sp__acl_fail(err, errlen, "out of memory");
        m->e = ne;
        *cap = nc;
    }
    struct ent *e = &m->e[m->n];
    memset(e, 0, sizeof(*e));
    e->line = line;
    e->klen = strlen(key);
    e->key = strdup(key);
    e->vs = strdup(val);
    if (!e->key || !e->vs) {
        free(e->key);
        free(e->vs);
        return sp__acl_fail(err, errlen, "out of memory");
    }
    m->n++; /* freed with the map from here on */
    switch (m->match) {
    case M_INT:
        if (!parse_int_key(key, e))
            return sp__acl_fail(err, errlen, "map file '%s' line %zu: '%s' is not an integer", path,
                                line, key);
        break;
    case M_IP:
        if (!parse_ip_key(key, e))
            return sp__acl_fail(err, errlen,
                                "map file '%s' line %zu: '%s' is not an IP address or network",
                                path, line, key);
        break;
    case M_REG:
    case M_REGM: {
        if (sp_regex_cost(key, SP_REGEX_MAX_COPIES, why, sizeof(why)) < 0)
            return sp__acl_fail(err, errlen,
                                "map file '%s' line %zu: regex '%s' is too complex: %s", path, line,
                                key, why);
        int rc = regcomp(&e->re, key, REG_EXTENDED | (m->match == M_REG ? REG_NOSUB : 0));
        if (rc) {
            regerror(rc, &e->re, why, sizeof(why));
            return sp__acl_fail(err, errlen, "map file '%s' line %zu: bad regex '%s': %s", path,
                                line, key, why);
        }
        e->has_re = true;
        break;
    }
    default:
        break;
    }
    e->val.type = SP_SMP_STR;
    e->val.u.str.ptr = e->vs;
    e->val.u.str.len = strlen(e->vs);
    if (m->out != SP_SMP_STR) {
        bool ok;
        if (m->out == SP_SMP_SINT) {
            /* the whole value must be a number (HAProxy's map_parse_int) */
            char *end;
            errno = 0;
            long long v = strtoll(e->vs, &end, 10);
            ok = *e->vs && !*end && !errno;
            e->val.type = SP_SMP_SINT;
            e->val.u.sint = v;
        } else {
            ok = sp__smp_cast(&e->val, SP__SMP_ADDR);
        }
        if (!ok)
            return sp__acl_fail(err, errlen, "map file '%s' line %zu: value '%s' is not %s", path,
                                line, e->vs,
                                m->out == SP_SMP_SINT ? "an integer" : "an IP address");
    }
    return 0;
}

struct sp__map *sp__map_load(const char *path, int match, int out, char *err, size_t errlen)
{
    struct sp__map *m = calloc(1, sizeof(*m));
    FILE *f = NULL;
    char *line = NULL;
    size_t lcap = 0, cap = 0, lineno = 0;
    ssize_t r;

    if (!m) {
        sp__acl_fail(err, errlen, "out of memory");
        return NULL;
    }
    m->match = match;
    m->out = out;
    f = fopen(path, "r");
    if (!f) {
        sp__acl_fail(err, errlen, "failed to open map file '%s': %s", path, strerror(errno));
        goto fail;
    }
    while ((r = getline(&line, &lcap, f)) >= 0) {
        lineno++;
        char *k = line;
        while (*k == ' ' || *k == '\t')
            k++;
        if (*k == '#' || *k == '\0' || *k == '\n' || *k == '\r')
            continue;
        char *ke = k;
        while (*ke && *ke != ' ' && *ke != '\t' && *ke != '\n' && *ke != '\r')
            ke++;
        char *v = ke;
        while (*v == ' ' || *v == '\t')
            v++;
        char *ve = v;
        while (*ve && *ve != '\n' && *ve != '\r')
            ve++;
        *ke = '\0';
        *ve = '\0';
        if (add_entry(m, &cap, path, lineno, k, v, err, errlen))
            goto fail;
    }
    if (ferror(f)) {
        sp__acl_fail(err, errlen, "failed to read map file '%s': %s", path, strerror(errno));
        goto fail;
    }
    if (match == M_STR && m->n)
        qsort(m->e, m->n, sizeof(m->e[0]), cmp_key);
    free(line);
    fclose(f);
    return m;

fail:
    free(line);
    if (f)
        fclose(f);
    sp__map_free(m);
    return NULL;
}

static bool word_at(const char *s, size_t n, const struct ent *e, const char *delims)
{
    size_t pl = e->klen;
    for (size_t i = 0; i + pl <= n; i++) {
        if (i && !strchr(delims, s[i - 1]))
            continue;
        if (i + pl < n && !strchr(delims, s[i + pl]))
            continue;
        if (!memcmp(s + i, e->key, pl))
            return true;
    }
    return false;
}

static bool ip_in(const struct ent *e, const uint8_t *a, bool v6)
{
    if (e->v6 != v6)
        return false;
    int full = e->plen / 8, rest = e->plen % 8;
    if (memcmp(a, e->addr, (size_t)full))
        return false;
    return !rest || (a[full] & (uint8_t)(0xff << (8 - rest))) == e->addr[full];
}

/* regexec() on a NUL-terminated copy of the subject (see reg_match() in acl-fetch.c) */
static bool reg_exec(const struct ent *e, const char *s, size_t n, regmatch_t *m, size_t nm,
                     const char **ret_copy)
{
    char *buf = sp__smp_tmp();
    if (n >= SP__SMP_BUFSZ)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    *ret_copy = buf;
    return regexec(&e->re, buf, nm, m, 0) == 0;
}

bool sp__map_lookup(const struct sp__map *m, const struct sp_smp *key, struct sp_smp *ret)
{
    const struct ent *best = NULL;
    const char *s = key->u.str.ptr;
    size_t n = key->u.str.len;

    switch (m->match) {
    case M_STR: {
        size_t lo = 0, hi = m->n;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            const struct ent *e = &m->e[mid];
            size_t c = e->klen < n ? e->klen : n;
            int r = memcmp(e->key, s, c);
            if (!r)
                r = e->klen < n ? -1 : e->klen > n;
            if (r < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < m->n && m->e[lo].klen == n && !memcmp(m->e[lo].key, s, n))
            best = &m->e[lo];
        break;
    }
    case M_BEG:
        for (size_t i = 0; i < m->n; i++) {
            const struct ent *e = &m->e[i];
            if (e->klen <= n && !memcmp(e->key, s, e->klen) && (!best || e->klen > best->klen))
                best = e;
        }
        break;
    case M_IP: {
        uint8_t a4[4], a6[16];
        bool has4 = false, has6 = false;
        if (key->type == SP_SMP_IPV4) {
            memcpy(a4, &key->u.v4, 4);
            has4 = true;
        } else {
            static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
            memcpy(a6, key->u.v6.s6_addr, 16);
            has6 = true;
            if (!memcmp(a6, mapped, 12)) {
                memcpy(a4, a6 + 12, 4);
                has4 = true;
            }
        }
        for (size_t i = 0; i < m->n; i++) {
            const struct ent *e = &m->e[i];
            bool hit = e->v6 ? has6 && ip_in(e, a6, true) : has4 && ip_in(e, a4, false);
            if (hit && (!best || e->plen > best->plen))
                best = e;
        }
        break;
    }
    case M_REGM: {
        for (size_t i = 0; i < m->n; i++) {
            regmatch_t g[10];
            const char *subj;
            if (!reg_exec(&m->e[i], s, n, g, 10, &subj))
                continue;
            /* the value with \1..\9 replaced by the subject's groups (exp_replace()); the
             * next scratch buffer is not the one holding the subject */
            char *out = sp__smp_tmp();
            size_t o = 0;
            for (const char *r = m->e[i].vs; *r; r++) {
                if (*r == '\\' && r[1] >= '0' && r[1] <= '9') {
                    const regmatch_t *gm = &g[r[1] - '0'];
                    size_t l = gm->rm_so >= 0 ? (size_t)(gm->rm_eo - gm->rm_so) : 0;
                    if (o + l >= SP__SMP_BUFSZ)
                        return false;
                    memcpy(out + o, subj + (gm->rm_so >= 0 ? gm->rm_so : 0), l);
                    o += l;
                    r++;
                } else if (*r == '\\' && r[1]) {
                    if (o + 1 >= SP__SMP_BUFSZ)
                        return false;
                    out[o++] = *++r;
                } else {
                    if (o + 1 >= SP__SMP_BUFSZ)
                        return false;
                    out[o++] = *r;
                }
            }
            ret->type = SP_SMP_STR;
            ret->u.str.ptr = out;
            ret->u.str.len = o;
            return true;
        }
        return false;
    }
    default:
        for (size_t i = 0; i < m->n && !best; i++) {
            const struct ent *e = &m->e[i];
            bool hit = false;
            switch (m->match) {
            case M_SUB:
                hit = n >= e->klen && memmem(s, n, e->key, e->klen);
                break;
            case M_DIR:
                hit = word_at(s, n, e, "/?");
                break;
            case M_DOM:
                hit = word_at(s, n, e, "/?.:");
                break;
            case M_END:
                hit = n >= e->klen && !memcmp(s + n - e->klen, e->key, e->klen);
                break;
            case M_REG: {
                regmatch_t g;
                const char *copy;
                hit = reg_exec(e, s, n, &g, 1, &copy);
                break;
            }
            case M_INT:
                hit = key->u.sint >= e->lo && key->u.sint <= e->hi;
                break;
            }
            if (hit)
                best = e;
        }
        break;
    }
    if (!best)
        return false;
    *ret = best->val;
    return true;
}
