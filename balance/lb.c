/* balance/lb.c - picking a server: HAProxy 2.6's load-balancing algorithms (src/backend.c,
 * src/lb_map.c, src/lb_chash.c, src/lb_fwlc.c, src/lb_fas.c, src/hash.c) over the servers'
 * live usable weights. The contract, and which state is per worker and why, are in
 * balance/balance.h; roundrobin itself is sp_backend_pick_rr() in balance/routing.c.
 *
 * owner: worker (a struct sp_lb_worker and everything it points to); the snapshot and the
 * servers' state are only read.
 */
#include "balance/balance.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define WEIGHT_SCALE 16   /* HAProxy's BE_WEIGHT_SCALE: ring points per unit of weight */
#define EWGHT_RANGE  4096 /* SRV_EWGHT_RANGE: server id i has ring keys full_hash(i*4096+j) */

/* One point of a consistent-hash ring. */
struct node {
    uint32_t key;
    int pos; /* the server's position in be->srv */
    int j;   /* which of its points */
};

/* owner: worker. One backend's map or ring, built from the usable weights in `seen`. */
struct lb_be {
    int *seen; /* by position in be->srv; valid when `built` */
    bool built;
    /* map: static-rr and map-based hashing (HAProxy's lbprm.map) */
    const struct sp_server **map;
    int tot, map_cap;
    int cursor; /* the round-robin walk's next slot (lbprm.map.rr_idx) */
    /* ring: consistent hashing and random (lbprm.chash) */
    struct node *ring;
    int nring, ring_cap;
    int last; /* the round-robin fallback's last node (chash.last), -1: none */
};

/* owner: worker */
struct sp_lb_worker {
    const struct sp_routing *r;
    int64_t *rr_cw;   /* roundrobin's current weights, by server idx */
    uint64_t *lc_seq; /* leastconn: when this worker last picked each server, by server idx */
    uint64_t lc_clock;
    uint32_t rng;     /* random's xorshift32 state (HAProxy's statistical_prng) */
    int *w;           /* scratch: the usable weights of the backend being picked, by position */
    int *score;       /* scratch: map building */
    struct lb_be *be; /* by backend idx */
};

/* ---- hash functions ------------------------------------------------------------------- */

/* A hash fed piece by piece: the same value as the one-shot functions of HAProxy's
 * src/hash.c over the concatenation (an HTTP/2 URI is hashed as scheme://authority+path
 * without being copied together). */
struct hstate {
    enum sp_hash_fn fn;
    uint32_t h, h1, s0, s1;
};

static void h_init(struct hstate *st, enum sp_hash_fn fn)
{
    *st = (struct hstate){.fn = fn};
    if (fn == SP_HASH_DJB2)
        st->h = 5381;
    else if (fn == SP_HASH_CRC32)
        st->h = ~0u;
    else if (fn == SP_HASH_WT6)
        *st = (struct hstate){.fn = fn, .h = 0xa53c965au, .h1 = 0x5ca6953au, .s0 = 6, .s1 = 18};
}

/* HAProxy's wt6 rotates by 0 on x86 where C leaves `x >> 32` undefined: mask the count */
static inline uint32_t rotl(uint32_t x, uint32_t s)
{
    return (x << s) | (x >> ((32 - s) & 31));
}

static void h_feed(struct hstate *st, const void *p, size_t len)
{
    const unsigned char *k = p;
    uint32_t h = st->h;

    switch (st->fn) {
    case SP_HASH_SDBM:
        for (size_t i = 0; i < len; i++)
            h = k[i] + (h << 6) + (h << 16) - h;
        break;
    case SP_HASH_DJB2:
        for (size_t i = 0; i < len; i++)
            h = ((h << 5) + h) + k[i];
        break;
    case SP_HASH_CRC32:
        for (size_t i = 0; i < len; i++) {
            h ^= k[i];
            for (int bit = 0; bit < 8; bit++)
                h = (h >> 1) ^ ((h & 1) ? 0xedb88320u : 0);
        }
        break;
    case SP_HASH_WT6: {
        uint32_t h0 = h, h1 = st->h1, s0 = st->s0, s1 = st->s1;
        for (size_t i = 0; i < len; i++) {
            uint32_t t = k[i];
            h0 = ~(h0 ^ t);
            h1 = ~(h1 + t);
            t = rotl(h1, s0);
            h1 = rotl(h0, s1);
            h0 = t;
            t = ((h0 >> 16) ^ h1) & 0xffff;
            s0 = t & 0x1f;
            s1 = t >> 11;
        }
        h = h0;
        st->h1 = h1;
        st->s0 = s0;
        st->s1 = s1;
        break;
    }
    }
    st->h = h;
}

static uint32_t h_final(const struct hstate *st)
{
    if (st->fn == SP_HASH_CRC32)
        return ~st->h;
    if (st->fn == SP_HASH_WT6)
        return st->h ^ st->h1;
    return st->h;
}

uint32_t sp_lb_hash(enum sp_hash_fn fn, const void *p, size_t len)
{
    struct hstate st;

    h_init(&st, fn);
    h_feed(&st, p, len);
    return h_final(&st);
}

uint32_t sp_lb_full_hash(uint32_t a)
{
    a = (a + 0x7ed55d16) + (a << 12);
    a = (a ^ 0xc761c23c) ^ (a >> 19);
    a = (a + 0x165667b1) + (a << 5);
    a = (a + 0xd3a2646c) ^ (a << 9);
    a = (a + 0xfd7046c5) + (a << 3);
    a = (a ^ 0xb55a4f09) ^ (a >> 16);
    return a * 3221225473u;
}

bool sp_balance_rr_kind(enum sp_balance algo)
{
    return algo == SP_BALANCE_ROUNDROBIN || algo == SP_BALANCE_STATIC_RR ||
           algo == SP_BALANCE_RANDOM;
}

/* ---- request keys ----------------------------------------------------------------------- */

struct seg {
    const char *p;
    size_t n;
};

/* The pieces of the URI HAProxy hashes for `balance uri`; returns their number. */
static int uri_segs(const struct sp_lb_req *q, bool path_only, struct seg *s)
{
    const char *u = q->uri;
    size_t n = q->uri_len;

    if (q->authority && !path_only) {
        /* HTTP/2 with :authority: the absolute form, without the path of OPTIONS * */
        s[0] = (struct seg){q->scheme ? q->scheme : "http", q->scheme ? q->scheme_len : 4};
        s[1] = (struct seg){"://", 3};
        s[2] = (struct seg){q->authority, q->authority_len};
        s[3] = (struct seg){u, (n == 1 && u[0] == '*') ? 0 : n};
        return 4;
    }
    if (path_only && !q->authority && n && u[0] != '/') {
        /* http_parse_path(): an absolute form loses scheme://authority, an asterisk or an
         * authority form has no path */
        size_t i = 0;
        while (i < n && u[i] != ':' && u[i] != '/')
            i++;
        if (i + 2 < n && u[i] == ':' && u[i + 1] == '/' && u[i + 2] == '/') {
            i += 3;
            while (i < n && u[i] != '/' && u[i] != '?' && u[i] != '#')
                i++;
            u += i;
            n -= i;
        } else {
            n = 0;
        }
    }
    s[0] = (struct seg){u, n};
    return 1;
}

/* get_server_uh(): the URI up to `len` bytes, stopping before the first '?' (unless
 * `whole`) and before the (depth+1)th '/'. */
static uint32_t hash_uri(const struct sp_be_lb *lb, const struct sp_lb_req *q)
{
    struct seg s[4];
    int ns = uri_segs(q, lb->arg.uri_path_only, s);
    size_t limit = lb->arg.uri_len > 0 ? (size_t)lb->arg.uri_len : SIZE_MAX, count = 0;
    int slashes = 0, stop_at = lb->arg.uri_depth > 0 ? lb->arg.uri_depth + 1 : 0;
    struct hstate st;
    bool done = false;

    for (int i = 0; i < ns && !done; i++) {
        for (size_t k = 0; k < s[i].n; k++, count++) {
            char c = s[i].p[k];
            if (count >= limit || (c == '/' && ++slashes == stop_at) ||
                (c == '?' && !lb->arg.uri_whole)) {
                done = true;
                break;
            }
        }
    }
    h_init(&st, lb->arg.hash_fn);
    for (int i = 0; i < ns && count; i++) {
        size_t n = s[i].n < count ? s[i].n : count;
        h_feed(&st, s[i].p, n);
        count -= n;
    }
    return h_final(&st);
}

/* get_server_ph(): the value of the first `name=` query parameter; false when absent. */
static bool hash_param(const struct sp_be_lb *lb, const struct sp_lb_req *q, uint32_t *ret)
{
    const char *name = lb->arg.name;
    size_t plen = strlen(name);
    const char *p = q->uri ? memchr(q->uri, '?', q->uri_len) : NULL;

    if (!p)
        return false;
    p++;
    size_t left = q->uri_len - (size_t)(p - q->uri);
    const char *params = p;
    while (left > plen) {
        if (params[plen] == '=' && memcmp(params, name, plen) == 0) {
            const char *start = params + plen + 1, *end = start;
            left -= plen + 1;
            while (left && *end != '&') {
                left--;
                end++;
            }
            *ret = sp_lb_hash(lb->arg.hash_fn, start, (size_t)(end - start));
            return true;
        }
        p = memchr(params, '&', left);
        if (!p)
            return false;
        p++;
        left -= (size_t)(p - params);
        params = p;
    }
    return false;
}

static bool lws(char c)
{
    return c == ' ' || c == '\t';
}

/* The first comma-separated value of the first `name` field, trimmed (quoted strings kept
 * whole, as HAProxy's http_find_hdr_value_end()); false when there is no such field. */
static bool find_hdr(const struct sp_lb_req *q, const char *name, const char **ret_v, size_t *ret_n)
{
    const char *p = q->hdrs, *end = q->hdrs ? q->hdrs + q->hdrs_len : NULL;
    size_t nlen = strlen(name);

    while (p && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol ? eol : end;
        if (le > p && le[-1] == '\r')
            le--;
        if (le == p)
            break; /* the blank line: end of the head */
        const char *colon = memchr(p, ':', (size_t)(le - p));
        if (colon && (size_t)(colon - p) == nlen && strncasecmp(p, name, nlen) == 0) {
            const char *v = colon + 1, *ve;
            bool quoted = false;
            while (v < le && lws(*v))
                v++;
            for (ve = v; ve < le && (quoted || *ve != ','); ve++) {
                if (*ve == '"')
                    quoted = !quoted;
                else if (quoted && *ve == '\\' && ve + 1 < le)
                    ve++;
            }
            while (ve > v && lws(ve[-1]))
                ve--;
            *ret_v = v;
            *ret_n = (size_t)(ve - v);
            return true;
        }
        p = eol ? eol + 1 : end;
    }
    return false;
}

/* get_server_hh(): false when the field is absent or its value empty. */
static bool hash_hdr(const struct sp_be_lb *lb, const struct sp_lb_req *q, uint32_t *ret)
{
    const char *v;
    size_t len;

    if (!find_hdr(q, lb->arg.name, &v, &len) || !len)
        return false;
    if (!lb->arg.domain_only) {
        *ret = sp_lb_hash(lb->arg.hash_fn, v, len);
        return true;
    }
    /* use_domain_only: walking back from the end, the label before the last dot ("example"
     * of www.example.com and of example.org); a name without a dot is hashed whole. The
     * walk is HAProxy's, byte for byte (which first looks one byte past the value: never a
     * dot here). */
    size_t i = len, e = len;
    bool dohash = false;
    while (i) {
        if (dohash) {
            if (v[i - 1] == '.')
                break;
        } else if (i < len && v[i] == '.') {
            e = i;
            dohash = true;
        }
        i--;
    }
    *ret = sp_lb_hash(lb->arg.hash_fn, v + i, e - i);
    return true;
}

/* get_server_sh(): an IPv4 address as a host-order integer, an IPv6 one as the XOR of its
 * four words; false for other families. */
static bool hash_src(const struct sockaddr_storage *ss, uint32_t *ret)
{
    if (!ss)
        return false;
    if (ss->ss_family == AF_INET) {
        *ret = ntohl(((const struct sockaddr_in *)ss)->sin_addr.s_addr);
        return true;
    }
    if (ss->ss_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
        uint32_t h = 0, w;
        for (int i = 0; i < 16; i += 4) {
            memcpy(&w, a + i, 4);
            h ^= ntohl(w);
        }
        *ret = h;
        return true;
    }
    return false;
}

/* The request's hash for the backend's algorithm, avalanche applied; false: no key. */
static bool req_hash(const struct sp_be_lb *lb, const struct sp_lb_req *q, uint32_t *ret)
{
    bool found = false;

    if (!q)
        return false;
    switch (lb->algo) {
    case SP_BALANCE_SOURCE:
        found = hash_src(q->src, ret);
        break;
    case SP_BALANCE_URI:
        if ((found = q->uri != NULL))
            *ret = hash_uri(lb, q);
        break;
    case SP_BALANCE_URL_PARAM:
        found = hash_param(lb, q, ret);
        break;
    case SP_BALANCE_HDR:
        found = hash_hdr(lb, q, ret);
        break;
    default:
        break;
    }
    if (found && lb->arg.avalanche)
        *ret = sp_lb_full_hash(*ret);
    return found;
}

/* ---- load --------------------------------------------------------------------------------- */

static void load_of(const struct sp_lb_load *l, const struct sp_server *s, int64_t *served,
                    int64_t *queued)
{
    *served = *queued = 0;
    if (l && l->get)
        l->get(l->ctx, s, served, queued);
}

/* HAProxy's "no free slot": lb_map, lb_chash and lb_fas pass such a server */
static bool saturated(const struct sp_lb_load *l, const struct sp_server *s)
{
    int64_t served, queued;

    if (!s->maxconn)
        return false;
    load_of(l, s, &served, &queued);
    return queued > 0 || served >= s->maxconn;
}

/* ---- the usable set ---------------------------------------------------------------------- */

/* Which servers take traffic now (HAProxy's recount_servers()/update_backend_weight()). */
struct group {
    bool backup;                /* the backups (no active server is usable) */
    const struct sp_server *fb; /* the single first backup, without `option allbackups` */
    int n;                      /* members: 0 = none usable */
};

static struct group load_weights(const struct sp_backend *be, int *w)
{
    struct group g = {0};
    int act = 0, bck = 0;

    for (int i = 0; i < be->nsrv; i++) {
        w[i] = sp_srv_lbw(be->srv[i]->h);
        if (w[i] <= 0) {
            w[i] = 0;
            continue;
        }
        if (!be->srv[i]->backup)
            act++;
        else if (!bck++)
            g.fb = be->srv[i];
    }
    if (act) {
        g.fb = NULL;
        g.n = act;
    } else if (bck) {
        g.backup = true;
        g.n = bck;
        if (be->allbackups)
            g.fb = NULL;
    }
    return g;
}

static inline bool member(const struct sp_backend *be, const int *w, const struct group *g, int i)
{
    return w[i] > 0 && be->srv[i]->backup == g->backup;
}

/* When every server is saturated, HAProxy queues the request in its backend; spillway has
 * no backend queue: the member with the shortest queue (then the lowest id), other than
 * `exclude` when possible. */
static struct sp_server *least_queued(const struct sp_backend *be, const int *w,
                                      const struct group *g, const struct sp_lb_load *l,
                                      const struct sp_server *exclude)
{
    struct sp_server *best = NULL;
    int64_t bq = 0;

    for (int pass = 0; pass < 2 && !best; pass++) {
        for (int i = 0; i < be->nsrv; i++) {
            int64_t served, queued;
            if (!member(be, w, g, i) || (pass == 0 && be->srv[i] == exclude))
                continue;
            load_of(l, be->srv[i], &served, &queued);
            if (!best || queued < bq) {
                best = be->srv[i];
                bq = queued;
            }
        }
    }
    return best;
}

/* ---- map (lb_map.c) ------------------------------------------------------------------------ */

/* recalc_server_map(): tot slots over the GCD-reduced weights; in each slot every member
 * adds its weight to its score, the highest score/tot wins (declaration order on ties) and
 * pays tot. */
static int map_build(struct sp_lb_worker *lw, struct lb_be *lbe, const struct sp_backend *be,
                     const int *w, const struct group *g)
{
    int tot = 0, gcd = be->lb.wgcd;

    for (int i = 0; i < be->nsrv; i++) {
        lw->score[i] = 0;
        if (member(be, w, g, i))
            tot += (w[i] + gcd - 1) / gcd;
    }
    if (tot > lbe->map_cap) {
        const struct sp_server **m = realloc(lbe->map, (size_t)tot * sizeof(*m));
        if (!m)
            return -ENOMEM;
        lbe->map = m;
        lbe->map_cap = tot;
    }
    for (int o = 0; o < tot; o++) {
        int best = -1, max = 0;
        for (int i = 0; i < be->nsrv; i++) {
            if (!member(be, w, g, i))
                continue;
            if (tot == 1) {
                best = i;
                break;
            }
            lw->score[i] += (w[i] + gcd - 1) / gcd;
            int v = (lw->score[i] + tot) / tot;
            if (best < 0 || v > max) {
                max = v;
                best = i;
            }
        }
        lbe->map[o] = be->srv[best];
        lw->score[best] -= tot;
    }
    lbe->tot = tot;
    return 0;
}

/* map_get_server_rr(): from the cursor, the first slot whose server is not saturated,
 * `exclude` taken only when nothing else is. */
static struct sp_server *map_rr(struct lb_be *lbe, const struct sp_backend *be, const int *w,
                                const struct group *g, const struct sp_lb_load *l,
                                const struct sp_server *exclude)
{
    const struct sp_server *avoided = NULL;
    int idx, avoididx = 0;

    if (!lbe->tot)
        return NULL;
    if (lbe->cursor < 0 || lbe->cursor >= lbe->tot)
        lbe->cursor = 0;
    idx = lbe->cursor;
    do {
        const struct sp_server *s = lbe->map[idx++];
        if (!saturated(l, s)) {
            avoided = s;
            avoididx = idx;
            if (s != exclude) {
                lbe->cursor = idx;
                return (struct sp_server *)s;
            }
        }
        if (idx == lbe->tot)
            idx = 0;
    } while (idx != lbe->cursor);
    if (avoided) {
        lbe->cursor = avoididx;
        return (struct sp_server *)avoided;
    }
    return least_queued(be, w, g, l, exclude);
}

/* map_get_server_hash(): map[h % tot]. HAProxy ignores the server to avoid here (a
 * redispatch lands on the same server); spillway takes the next slot holding another one, so
 * that `option redispatch` can move the request, the same way on every worker. */
static struct sp_server *map_hash(const struct lb_be *lbe, uint32_t h,
                                  const struct sp_server *exclude)
{
    int o;

    if (!lbe->tot)
        return NULL;
    o = (int)(h % (uint32_t)lbe->tot);
    for (int k = 0; k < lbe->tot && lbe->map[o] == exclude; k++)
        o = o + 1 == lbe->tot ? 0 : o + 1;
    return (struct sp_server *)lbe->map[o];
}

/* ---- ring (lb_chash.c) --------------------------------------------------------------------- */

static int node_cmp(const void *a, const void *b)
{
    const struct node *x = a, *y = b;

    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->pos != y->pos)
        return x->pos < y->pos ? -1 : 1;
    return x->j < y->j ? -1 : x->j > y->j;
}

/* chash_init_server_tree() for the usable members: weight*16 points each, at
 * full_hash(id*4096 + j). Equal keys keep HAProxy's first insertion order (declaration
 * order, then j). */
static int ring_build(struct lb_be *lbe, const struct sp_backend *be, const int *w,
                      const struct group *g)
{
    int n = 0;

    for (int i = 0; i < be->nsrv; i++)
        if (member(be, w, g, i))
            n += w[i] * WEIGHT_SCALE;
    if (n > lbe->ring_cap) {
        struct node *r = realloc(lbe->ring, (size_t)n * sizeof(*r));
        if (!r)
            return -ENOMEM;
        lbe->ring = r;
        lbe->ring_cap = n;
    }
    n = 0;
    for (int i = 0; i < be->nsrv; i++) {
        if (!member(be, w, g, i))
            continue;
        for (int j = 0; j < w[i] * WEIGHT_SCALE; j++)
            lbe->ring[n++] = (struct node){
                .key = sp_lb_full_hash((uint32_t)be->srv[i]->id * EWGHT_RANGE + (uint32_t)j),
                .pos = i,
                .j = j,
            };
    }
    qsort(lbe->ring, (size_t)n, sizeof(*lbe->ring), node_cmp);
    lbe->nring = n;
    lbe->last = -1;
    return 0;
}

/* chash_get_server_hash(): the nearest point, before or after `h` (the one before on a
 * tie); `exclude` passed by walking on to the next points. */
static struct sp_server *ring_hash(const struct lb_be *lbe, const struct sp_backend *be, uint32_t h,
                                   const struct sp_server *exclude)
{
    int n = lbe->nring, lo = 0, hi = n, next, prev, loop = 0;
    struct sp_server *s;

    if (!n)
        return NULL;
    while (lo < hi) { /* the first point >= h */
        int mid = lo + (hi - lo) / 2;
        if (lbe->ring[mid].key < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    next = lo == n ? 0 : lo;
    prev = next == 0 ? n - 1 : next - 1;
    if (h - lbe->ring[prev].key <= lbe->ring[next].key - h)
        next = prev;
    s = be->srv[lbe->ring[next].pos];
    while (s == exclude) {
        if (++next == n) {
            next = 0;
            if (++loop > 1)
                break;
        }
        s = be->srv[lbe->ring[next].pos];
    }
    return s;
}

/* chash_get_next_server(): the round-robin walk over the ring when there is no key. */
static struct sp_server *ring_rr(struct lb_be *lbe, const struct sp_backend *be, const int *w,
                                 const struct group *g, const struct sp_lb_load *l,
                                 const struct sp_server *exclude)
{
    int n = lbe->nring, node = lbe->last, avoided_node = -1;

    if (!n)
        return NULL;
    for (int k = 0; k < n; k++) {
        node = node + 1 >= n ? 0 : node + 1;
        struct sp_server *s = be->srv[lbe->ring[node].pos];
        if (saturated(l, s))
            continue;
        if (s != exclude) {
            lbe->last = node;
            return s;
        }
        if (avoided_node < 0)
            avoided_node = node;
    }
    if (avoided_node >= 0) {
        lbe->last = avoided_node;
        return (struct sp_server *)exclude;
    }
    return least_queued(be, w, g, l, exclude);
}

/* ---- the per-worker state --------------------------------------------------------------- */

struct sp_lb_worker *sp_lb_worker_new(const struct sp_routing *r, uint32_t seed)
{
    struct sp_lb_worker *lw = calloc(1, sizeof(*lw));
    int nsrv = r->nsrv ? r->nsrv : 1, maxbe = 1;

    if (!lw)
        return NULL;
    lw->r = r;
    lw->rng = seed ? seed : 2463534242u;
    for (int i = 0; i < r->nbe; i++)
        if (r->be[i]->nsrv > maxbe)
            maxbe = r->be[i]->nsrv;
    lw->rr_cw = calloc((size_t)nsrv, sizeof(*lw->rr_cw));
    lw->lc_seq = calloc((size_t)nsrv, sizeof(*lw->lc_seq));
    lw->w = calloc((size_t)maxbe, sizeof(*lw->w));
    lw->score = calloc((size_t)maxbe, sizeof(*lw->score));
    lw->be = calloc((size_t)(r->nbe ? r->nbe : 1), sizeof(*lw->be));
    if (!lw->rr_cw || !lw->lc_seq || !lw->w || !lw->score || !lw->be)
        return sp_lb_worker_free(lw);
    return lw;
}

struct sp_lb_worker *sp_lb_worker_free(struct sp_lb_worker *lw)
{
    if (!lw)
        return NULL;
    for (int i = 0; lw->be && i < lw->r->nbe; i++) {
        free(lw->be[i].seen);
        free(lw->be[i].map);
        free(lw->be[i].ring);
    }
    free(lw->be);
    free(lw->rr_cw);
    free(lw->lc_seq);
    free(lw->w);
    free(lw->score);
    free(lw);
    return NULL;
}

/* The backend's map or ring for the weights in lw->w, rebuilt when one changed since it was
 * built; NULL when memory ran out. */
static struct lb_be *structure(struct sp_lb_worker *lw, const struct sp_backend *be,
                               const struct group *g, bool ring)
{
    struct lb_be *lbe = &lw->be[be->idx];
    const int *w = lw->w;

    if (!lbe->seen && !(lbe->seen = calloc((size_t)(be->nsrv ? be->nsrv : 1), sizeof(int))))
        return NULL;
    if (lbe->built && memcmp(lbe->seen, w, (size_t)be->nsrv * sizeof(int)) == 0)
        return lbe;
    lbe->built = false;
    if ((ring ? ring_build(lbe, be, w, g) : map_build(lw, lbe, be, w, g)) < 0)
        return NULL;
    memcpy(lbe->seen, w, (size_t)be->nsrv * sizeof(int));
    lbe->built = true;
    return lbe;
}

/* ---- the algorithms ------------------------------------------------------------------------ */

/* leastconn's order: the smaller key first, then the server this worker picked least
 * recently (HAProxy puts a repositioned server after the others of its key) */
static bool lc_before(const struct sp_lb_worker *lw, uint64_t key, const struct sp_server *s,
                      uint64_t bkey, const struct sp_server *b)
{
    return !b || key < bkey || (key == bkey && lw->lc_seq[s->idx] < lw->lc_seq[b->idx]);
}

/* fwlc_get_next_server(): the smallest (inflight+1)*4096/eweight, 0 when idle */
static struct sp_server *leastconn(struct sp_lb_worker *lw, const struct sp_backend *be,
                                   const struct group *g, const struct sp_lb_load *l,
                                   const struct sp_server *exclude)
{
    struct sp_server *best = NULL, *avoided = NULL, *any = NULL, *only = NULL;
    uint64_t bkey = 0, akey = 0;
    const int *w = lw->w;

    for (int i = 0; i < be->nsrv; i++) {
        struct sp_server *s = be->srv[i];
        int64_t served, queued;
        if (!member(be, w, g, i))
            continue;
        load_of(l, s, &served, &queued);
        uint64_t inflight = (uint64_t)(served + queued > 0 ? served + queued : 0);
        uint64_t key =
            inflight ? (inflight + 1) * EWGHT_RANGE / ((uint64_t)w[i] * WEIGHT_SCALE) : 0;
        if (s == exclude)
            only = s;
        else if (lc_before(lw, key, s, akey, any)) {
            any = s; /* spillway's answer when every server is saturated */
            akey = key;
        }
        if (s->maxconn && served + queued >= (int64_t)s->maxconn + s->maxqueue)
            continue; /* saturated */
        if (s == exclude)
            avoided = s;
        else if (lc_before(lw, key, s, bkey, best)) {
            best = s;
            bkey = key;
        }
    }
    if (!best)
        best = avoided ? avoided : any ? any : only;
    if (best)
        lw->lc_seq[best->idx] = ++lw->lc_clock;
    return best;
}

/* fas_get_next_server() */
static struct sp_server *first(struct sp_lb_worker *lw, const struct sp_backend *be,
                               const struct group *g, const struct sp_lb_load *l,
                               const struct sp_server *exclude)
{
    struct sp_server *avoided = NULL;

    for (int i = 0; i < be->nsrv; i++) { /* be->srv is in id order */
        struct sp_server *s = be->srv[i];
        if (!member(be, lw->w, g, i) || saturated(l, s))
            continue;
        if (s != exclude)
            return s;
        avoided = s;
    }
    return avoided ? avoided : least_queued(be, lw->w, g, l, exclude);
}

static uint32_t prng(struct sp_lb_worker *lw)
{
    uint32_t x = lw->rng;

    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return lw->rng = x;
}

/* get_server_rnd(): `draws` random points on the ring, the least loaded kept */
static struct sp_server *rnd(struct sp_lb_worker *lw, const struct lb_be *lbe,
                             const struct sp_backend *be, const struct sp_lb_load *l,
                             const struct sp_server *exclude)
{
    struct sp_server *curr = NULL, *prev;
    int64_t cserved = 0, pserved, queued;
    int draws = be->lb.arg.draws;

    do {
        prev = curr;
        pserved = cserved;
        curr = ring_hash(lbe, be, prng(lw), exclude);
        if (!curr)
            break;
        load_of(l, curr, &cserved, &queued);
        /* weights by position in be->srv, which is the server's id - 1 */
        if (prev && prev != curr && cserved * lw->w[prev->id - 1] > pserved * lw->w[curr->id - 1]) {
            curr = prev;
            cserved = pserved;
        }
    } while (--draws > 0);
    return curr;
}

struct sp_server *sp_backend_pick(const struct sp_backend *be, struct sp_lb_worker *lw,
                                  const struct sp_lb_req *req, const struct sp_lb_load *load,
                                  const struct sp_server *exclude)
{
    const struct sp_be_lb *lb = &be->lb;
    struct group g;
    struct lb_be *lbe;
    uint32_t h;

    assert(be->idx < lw->r->nbe && lw->r->be[be->idx] == be);
    if (lb->algo == SP_BALANCE_ROUNDROBIN)
        return sp_backend_pick_rr(be, lw->rr_cw, exclude);
    g = load_weights(be, lw->w);
    if (!g.n)
        return NULL;
    if (g.fb)
        return (struct sp_server *)g.fb; /* the single backup in use, whatever `exclude` is */
    switch (lb->algo) {
    case SP_BALANCE_LEASTCONN:
        return leastconn(lw, be, &g, load, exclude);
    case SP_BALANCE_FIRST:
        return first(lw, be, &g, load, exclude);
    case SP_BALANCE_STATIC_RR:
        lbe = structure(lw, be, &g, false);
        return lbe ? map_rr(lbe, be, lw->w, &g, load, exclude) : NULL;
    case SP_BALANCE_RANDOM:
        lbe = structure(lw, be, &g, true);
        return lbe ? rnd(lw, lbe, be, load, exclude) : NULL;
    default: /* the hash algorithms */
        break;
    }
    bool ring = lb->arg.hash_type == SP_HASH_CONSISTENT;
    lbe = structure(lw, be, &g, ring);
    if (!lbe)
        return NULL;
    if (!req_hash(lb, req, &h)) /* no key: round-robin on the same map or ring */
        return ring ? ring_rr(lbe, be, lw->w, &g, load, exclude)
                    : map_rr(lbe, be, lw->w, &g, load, exclude);
    return ring ? ring_hash(lbe, be, h, exclude) : map_hash(lbe, h, exclude);
}
