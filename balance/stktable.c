/* balance/stktable.c - see stktable.h for the threading contract and its accuracy bound. */
#include "balance/stktable.h"

#include "balance/sample-int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <urcu/urcu-qsbr.h>

#include <urcu/rculfhash.h>

#define DEAD              UINT64_MAX
#define SP_STK_READ_TRIES 64

/* One data word. A frequency counter (HAProxy's struct freq_ctr) takes two: h[0] of the
 * first is the tick its current period began at (bit 0: a rotation is under way), h[1] the
 * current period's count, h[0] of the second the previous period's. */
union word {
    uint64_t u;
    uint32_t h[2];
};

/* shared: see stktable.h. */
struct sp_stkentry {
    struct cds_lfht_node node;
    struct rcu_head rcu;
    struct sp_stkentry *grave; /* ThreadSanitizer builds: the next parked entry */
    uint64_t ref;              /* atomic: trackers, DEAD once purged */
    uint32_t touched;          /* atomic: last touch, ms tick */
    uint32_t pub;              /* 1, stored with release once the entry is built: readers acquire it
                                * before the rest (the hash table's own publication lives in liburcu,
                                * which sanitizers cannot see into) */
    union word w[];            /* the key (rounded up to 8 bytes), then the data words */
};

/* shared: immutable after creation, but for the hash table and the count. */
struct sp_stktable {
    char *name;
    struct sp_cfg_stktable c;
    struct cds_lfht *ht;
    int off[SP_STK_NDT];        /* word offset of each stored type in w[], -1 when not stored */
    unsigned keywords;          /* words of key */
    size_t esize;               /* bytes of one entry */
    int64_t count;              /* atomic: entries linked and not killed */
    struct sp_stkentry *graves; /* ThreadSanitizer builds only: killed entries, freed with
                                 * the table (see retire()) */
};

uint32_t sp_stk_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

struct sp_stktable *sp_stktable_new(const char *name, const struct sp_cfg_stktable *c)
{
    struct sp_stktable *t = calloc(1, sizeof(*t));
    unsigned words;

    if (!t)
        return NULL;
    t->c = *c;
    t->name = strdup(name);
    t->keywords = (c->keylen + 7) / 8;
    words = t->keywords;
    for (int dt = 0; dt < SP_STK_NDT; dt++) {
        t->off[dt] = -1;
        if (!(c->store & (1u << dt)))
            continue;
        t->off[dt] = (int)words;
        words += sp_stk_dt_is_rate(dt) ? 2 : 1;
    }
    t->esize = sizeof(struct sp_stkentry) + words * 8;
    unsigned long buckets = 1;
    while (buckets < c->size && buckets < (1ul << 20))
        buckets <<= 1;
    /* a fixed bucket count: no resize thread, destruction from any thread */
    t->ht = cds_lfht_new_flavor(buckets, buckets, buckets, 0, &urcu_qsbr_flavor, NULL);
    if (!t->name || !t->ht)
        return sp_stktable_free(t);
    return t;
}

#if defined(__SANITIZE_THREAD__)
#define SP_STK_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SP_STK_TSAN 1
#endif
#endif

#ifndef SP_STK_TSAN
static void entry_free_rcu(struct rcu_head *h)
{
    free(caa_container_of(h, struct sp_stkentry, rcu));
}
#endif

/* Frees an unlinked entry after a grace period. liburcu's grace periods happen inside the
 * library, where ThreadSanitizer cannot see them: its builds park the entry until the table
 * goes instead (more memory in those builds only, the same code path up to here). */
static void retire(struct sp_stktable *t, struct sp_stkentry *e)
{
#ifdef SP_STK_TSAN
    struct sp_stkentry *head = __atomic_load_n(&t->graves, __ATOMIC_RELAXED);
    do
        e->grave = head;
    while (!__atomic_compare_exchange_n(&t->graves, &head, e, true, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED));
#else
    (void)t;
    urcu_qsbr_call_rcu(&e->rcu, entry_free_rcu);
#endif
}

struct sp_stktable *sp_stktable_free(struct sp_stktable *t)
{
    if (!t)
        return NULL;
    if (t->ht) {
        struct cds_lfht_iter it;
        struct sp_stkentry *e;
        /* no reader is left: unlink and free at once (dead entries were handed to call_rcu
         * by their killer and are no longer linked, or are and get skipped) */
        cds_lfht_for_each_entry(t->ht, &it, e, node)
        {
            if (!cds_lfht_del(t->ht, &e->node) &&
                __atomic_load_n(&e->ref, __ATOMIC_ACQUIRE) != DEAD)
                free(e);
        }
        cds_lfht_destroy(t->ht, NULL);
    }
    for (struct sp_stkentry *g = t->graves, *n; g; g = n) {
        n = g->grave;
        free(g);
    }
    free(t->name);
    free(t);
    return NULL;
}

const char *sp_stktable_name(const struct sp_stktable *t)
{
    return t->name;
}

const struct sp_cfg_stktable *sp_stktable_conf(const struct sp_stktable *t)
{
    return &t->c;
}

bool sp_stktable_stores(const struct sp_stktable *t, enum sp_stk_dt dt)
{
    return dt < SP_STK_NDT && t->off[dt] >= 0;
}

int64_t sp_stktable_count_mt(const struct sp_stktable *t)
{
    return __atomic_load_n(&t->count, __ATOMIC_RELAXED);
}

bool sp_stktable_key_mt(const struct sp_stktable *t, const struct sp_smp *v, struct sp_stkkey *k)
{
    memset(k->b, 0, t->c.keylen);
    k->len = t->c.keylen;
    switch (t->c.type) {
    case SP_STK_T_IP:
        if (v->type == SP_SMP_IPV4) {
            memcpy(k->b, &v->u.v4, 4);
            return true;
        }
        if (v->type == SP_SMP_IPV6 && IN6_IS_ADDR_V4MAPPED(&v->u.v6)) {
            memcpy(k->b, &v->u.v6.s6_addr[12], 4);
            return true;
        }
        if (v->type == SP_SMP_STR) {
            char buf[64];
            snprintf(buf, sizeof(buf), "%.*s", (int)v->u.str.len, v->u.str.ptr);
            return inet_pton(AF_INET, buf, k->b) == 1;
        }
        return false;
    case SP_STK_T_IPV6:
        if (v->type == SP_SMP_IPV6) {
            memcpy(k->b, &v->u.v6, 16);
            return true;
        }
        if (v->type == SP_SMP_IPV4) {
            k->b[10] = k->b[11] = 0xff;
            memcpy(k->b + 12, &v->u.v4, 4);
            return true;
        }
        if (v->type == SP_SMP_STR) {
            char buf[64];
            snprintf(buf, sizeof(buf), "%.*s", (int)v->u.str.len, v->u.str.ptr);
            return inet_pton(AF_INET6, buf, k->b) == 1;
        }
        return false;
    case SP_STK_T_INT: {
        int64_t n;
        if (v->type == SP_SMP_SINT || v->type == SP_SMP_BOOL)
            n = v->u.sint;
        else if (v->type == SP_SMP_STR || v->type == SP_SMP_BIN) {
            if (!sp__smp_str2int(v->u.str.ptr, v->u.str.len, &n))
                return false;
        } else if (v->type == SP_SMP_IPV4)
            n = ntohl(v->u.v4.s_addr);
        else
            return false;
        uint32_t u = (uint32_t)n;
        memcpy(k->b, &u, 4);
        return true;
    }
    case SP_STK_T_STR:
    case SP_STK_T_BIN: {
        char buf[64];
        const char *p;
        size_t n;
        if (v->type == SP_SMP_STR || v->type == SP_SMP_BIN) {
            p = v->u.str.ptr;
            n = v->u.str.len;
        } else if (v->type == SP_SMP_SINT || v->type == SP_SMP_BOOL) {
            n = (size_t)snprintf(buf, sizeof(buf), "%lld", (long long)v->u.sint);
            p = buf;
        } else if (v->type == SP_SMP_IPV4) {
            inet_ntop(AF_INET, &v->u.v4, buf, sizeof(buf));
            p = buf;
            n = strlen(buf);
        } else {
            inet_ntop(AF_INET6, &v->u.v6, buf, sizeof(buf));
            p = buf;
            n = strlen(buf);
        }
        /* HAProxy truncates a longer key to the table's length */
        memcpy(k->b, p, n < t->c.keylen ? n : t->c.keylen);
        return true;
    }
    }
    return false;
}

/* FNV-1a, then a final mix: keys are short */
static unsigned long key_hash(const struct sp_stkkey *k)
{
    uint64_t h = 0xcbf29ce484222325ull;

    for (unsigned i = 0; i < k->len; i++)
        h = (h ^ k->b[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (unsigned long)h;
}

/* The entry behind a node found in the hash table, its construction seen. */
static struct sp_stkentry *seen(struct cds_lfht_node *node)
{
    struct sp_stkentry *e = caa_container_of(node, struct sp_stkentry, node);

    (void)__atomic_load_n(&e->pub, __ATOMIC_ACQUIRE);
    return e;
}

static int key_match(struct cds_lfht_node *node, const void *key)
{
    const struct sp_stkkey *k = key;
    const struct sp_stkentry *e = seen(node);

    return !memcmp(e->w, k->b, k->len);
}

static bool expired(const struct sp_stktable *t, const struct sp_stkentry *e, uint32_t now)
{
    return t->c.expire > 0 &&
           (int32_t)(now - __atomic_load_n(&e->touched, __ATOMIC_RELAXED)) >= t->c.expire;
}

static struct sp_stkentry *find(struct sp_stktable *t, const struct sp_stkkey *k)
{
    struct cds_lfht_iter it;

    cds_lfht_lookup(t->ht, key_hash(k), key_match, k, &it);
    struct cds_lfht_node *n = cds_lfht_iter_get_node(&it);
    return n ? seen(n) : NULL;
}

/* Marks an unreferenced entry dead, unlinks it, frees it after a grace period. */
static bool kill(struct sp_stktable *t, struct sp_stkentry *e)
{
    uint64_t zero = 0;

    if (!__atomic_compare_exchange_n(&e->ref, &zero, DEAD, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED))
        return false;
    cds_lfht_del(t->ht, &e->node);
    __atomic_fetch_sub(&t->count, 1, __ATOMIC_RELAXED);
    retire(t, e);
    return true;
}

bool sp_stkentry_kill_mt(struct sp_stktable *t, struct sp_stkentry *e)
{
    return kill(t, e);
}

/* Frees one slot for a new key: an expired entry, or (without nopurge) the least recently
 * touched unreferenced one among the first SP_STK_PURGE_SCAN. */
static bool purge_one(struct sp_stktable *t, uint32_t now)
{
    struct cds_lfht_iter it;
    struct sp_stkentry *e, *best = NULL;
    int32_t best_age = -1;
    int n = 0;

    for (int pass = 0; pass < 2; pass++) {
        n = 0;
        best = NULL;
        best_age = -1;
        cds_lfht_for_each_entry(t->ht, &it, e, node)
        {
            if (++n > SP_STK_PURGE_SCAN)
                break;
            seen(&e->node);
            if (__atomic_load_n(&e->ref, __ATOMIC_ACQUIRE) != 0)
                continue;
            if (expired(t, e, now) && kill(t, e))
                return true;
            int32_t age = (int32_t)(now - __atomic_load_n(&e->touched, __ATOMIC_RELAXED));
            if (!t->c.nopurge && age > best_age) {
                best = e;
                best_age = age;
            }
        }
        if (best && kill(t, best))
            return true;
    }
    return false;
}

struct sp_stkentry *sp_stktable_lookup_mt(struct sp_stktable *t, const struct sp_stkkey *k,
                                          uint32_t now)
{
    struct sp_stkentry *e = find(t, k);
    uint64_t r;

    if (!e)
        return NULL;
    r = __atomic_load_n(&e->ref, __ATOMIC_ACQUIRE);
    if (r == DEAD || (r == 0 && expired(t, e, now)))
        return NULL;
    return e;
}

void sp_stkentry_touch_mt(struct sp_stktable *t, struct sp_stkentry *e, uint32_t now)
{
    (void)t;
    __atomic_store_n(&e->touched, now, __ATOMIC_RELAXED);
}

struct sp_stkentry *sp_stktable_get_mt(struct sp_stktable *t, const struct sp_stkkey *k,
                                       uint32_t now)
{
    for (int tries = 0; tries < 8; tries++) {
        struct sp_stkentry *e = find(t, k);
        if (e) {
            uint64_t r = __atomic_load_n(&e->ref, __ATOMIC_ACQUIRE);
            for (;;) {
                if (r == DEAD) {
                    cds_lfht_del(t->ht, &e->node); /* its killer frees it */
                    break;
                }
                if (r == 0 && expired(t, e, now)) {
                    kill(t, e); /* a fresh entry replaces it */
                    break;
                }
                if (__atomic_compare_exchange_n(&e->ref, &r, r + 1, false, __ATOMIC_ACQ_REL,
                                                __ATOMIC_ACQUIRE)) {
                    sp_stkentry_touch_mt(t, e, now);
                    return e;
                }
            }
            continue;
        }
        int64_t n = __atomic_add_fetch(&t->count, 1, __ATOMIC_RELAXED);
        if (n > (int64_t)t->c.size && !purge_one(t, now)) {
            __atomic_fetch_sub(&t->count, 1, __ATOMIC_RELAXED);
            return NULL;
        }
        struct sp_stkentry *ne = calloc(1, t->esize);
        if (!ne) {
            __atomic_fetch_sub(&t->count, 1, __ATOMIC_RELAXED);
            return NULL;
        }
        memcpy(ne->w, k->b, k->len);
        ne->ref = 1;
        ne->touched = now;
        for (int dt = 0; dt < SP_STK_NDT; dt++)
            if (t->off[dt] >= 0 && sp_stk_dt_is_rate(dt))
                ne->w[t->off[dt]].h[0] = now & ~1u;
        cds_lfht_node_init(&ne->node);
        __atomic_store_n(&ne->pub, 1, __ATOMIC_RELEASE);
        struct cds_lfht_node *got =
            cds_lfht_add_unique(t->ht, key_hash(k), key_match, k, &ne->node);
        if (got == &ne->node)
            return ne;
        /* another worker inserted it first: use theirs */
        free(ne);
        __atomic_fetch_sub(&t->count, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

void sp_stkentry_unref_mt(struct sp_stktable *t, struct sp_stkentry *e, uint32_t now)
{
    sp_stkentry_touch_mt(t, e, now);
    __atomic_fetch_sub(&e->ref, 1, __ATOMIC_RELEASE);
}

const unsigned char *sp_stkentry_key(const struct sp_stkentry *e)
{
    return (const unsigned char *)e->w;
}

int64_t sp_stkentry_refs_mt(const struct sp_stkentry *e)
{
    uint64_t r = __atomic_load_n(&e->ref, __ATOMIC_RELAXED);
    return r == DEAD ? 0 : (int64_t)r;
}

/* HAProxy's update_freq_ctr_period(), without its wait: an add that meets a rotation under
 * way lands in whichever period the rotation's exchange leaves it in. */
static void frq_add(union word *f, uint32_t period, uint32_t inc, uint32_t now)
{
    uint32_t tick = __atomic_load_n(&f[0].h[0], __ATOMIC_ACQUIRE);

    if (now - (tick & ~1u) < period || (tick & 1u) ||
        !__atomic_compare_exchange_n(&f[0].h[0], &tick, tick | 1u, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_RELAXED)) {
        __atomic_add_fetch(&f[0].h[1], inc, __ATOMIC_RELAXED);
        return;
    }
    /* we rotate: the others only add to curr meanwhile */
    __atomic_store_n(&f[1].h[0], __atomic_exchange_n(&f[0].h[1], inc, __ATOMIC_ACQ_REL),
                     __ATOMIC_RELAXED);
    tick += period;
    if (now - tick >= period) {
        /* two periods or more went by */
        __atomic_store_n(&f[1].h[0], 0, __ATOMIC_RELAXED);
        tick = now;
    }
    __atomic_store_n(&f[0].h[0], tick & ~1u, __ATOMIC_RELEASE);
}

/* HAProxy's read_freq_ctr_period(): curr + prev * remaining / period. */
static uint64_t frq_read(const union word *f, uint32_t period, uint32_t now)
{
    uint32_t tick;
    uint64_t curr, past;

    /* a stable view, as HAProxy's freq_ctr_total(): the three words read twice alike and no
     * rotation under way. Bounded: a reader does not wait for a rotating worker that was
     * preempted mid-rotation; after SP_STK_READ_TRIES it takes what it saw. */
    for (int tries = 0;; tries++) {
        tick = __atomic_load_n(&f[0].h[0], __ATOMIC_ACQUIRE);
        curr = __atomic_load_n(&f[0].h[1], __ATOMIC_ACQUIRE);
        past = __atomic_load_n(&f[1].h[0], __ATOMIC_ACQUIRE);
        if (tries >= SP_STK_READ_TRIES ||
            (!(tick & 1u) && tick == __atomic_load_n(&f[0].h[0], __ATOMIC_ACQUIRE) &&
             curr == __atomic_load_n(&f[0].h[1], __ATOMIC_ACQUIRE) &&
             past == __atomic_load_n(&f[1].h[0], __ATOMIC_ACQUIRE)))
            break;
        caa_cpu_relax();
    }
    tick &= ~1u;
    int64_t remain = (int64_t)(int32_t)(tick + period - now);

    if (remain < 0) {
        remain += period;
        past = remain >= 0 ? curr : 0;
        curr = 0;
    }
    if (!curr && past <= 1)
        return past; /* HAProxy's flapping correction at very low rates */
    return (past * (uint64_t)remain + curr * period) / period;
}

bool sp_stk_add_mt(struct sp_stktable *t, struct sp_stkentry *e, enum sp_stk_dt dt, uint64_t n,
                   uint32_t now)
{
    if (!sp_stktable_stores(t, dt))
        return false;
    union word *p = &e->w[t->off[dt]];
    if (sp_stk_dt_is_rate(dt))
        frq_add(p, t->c.period[dt], (uint32_t)n, now);
    else
        __atomic_add_fetch(&p->u, n, __ATOMIC_RELAXED);
    return true;
}

bool sp_stk_set_mt(struct sp_stktable *t, struct sp_stkentry *e, enum sp_stk_dt dt, uint64_t v)
{
    if (!sp_stktable_stores(t, dt) || sp_stk_dt_is_rate(dt))
        return false;
    __atomic_store_n(&e->w[t->off[dt]].u, v, __ATOMIC_RELAXED);
    return true;
}

bool sp_stk_get_mt(const struct sp_stktable *t, const struct sp_stkentry *e, enum sp_stk_dt dt,
                   uint32_t now, uint64_t *ret)
{
    if (!sp_stktable_stores(t, dt))
        return false;
    const union word *p = &e->w[t->off[dt]];
    if (sp_stk_dt_is_rate(dt))
        *ret = frq_read(p, t->c.period[dt], now);
    else
        *ret = __atomic_load_n(&p->u, __ATOMIC_RELAXED);
    return true;
}

void sp_stkctr_track(struct sp_stkctr *c, struct sp_stktable *t, struct sp_stkentry *e, bool http,
                     uint32_t now)
{
    c->t = t;
    c->e = e;
    c->sess = false;
    sp_stk_add_mt(t, e, SP_STK_CONN_CUR, 1, now);
    sp_stk_add_mt(t, e, SP_STK_CONN_CNT, 1, now);
    sp_stk_add_mt(t, e, SP_STK_CONN_RATE, 1, now);
    if (http) {
        sp_stk_add_mt(t, e, SP_STK_HTTP_REQ_CNT, 1, now);
        sp_stk_add_mt(t, e, SP_STK_HTTP_REQ_RATE, 1, now);
    }
}

void sp_stkctr_end(struct sp_stkctr *c, int status, uint64_t bytes_in, uint64_t bytes_out)
{
    uint32_t now = sp_stk_now_ms();

    for (int i = 0; i < SP_STK_NCTR; i++) {
        struct sp_stktable *t = c[i].t;
        struct sp_stkentry *e = c[i].e;
        if (!e)
            continue;
        if (status >= 400 && status < 500) {
            sp_stk_add_mt(t, e, SP_STK_HTTP_ERR_CNT, 1, now);
            sp_stk_add_mt(t, e, SP_STK_HTTP_ERR_RATE, 1, now);
        }
        if (bytes_in) {
            sp_stk_add_mt(t, e, SP_STK_BYTES_IN_CNT, bytes_in, now);
            sp_stk_add_mt(t, e, SP_STK_BYTES_IN_RATE, bytes_in, now);
        }
        if (bytes_out) {
            sp_stk_add_mt(t, e, SP_STK_BYTES_OUT_CNT, bytes_out, now);
            sp_stk_add_mt(t, e, SP_STK_BYTES_OUT_RATE, bytes_out, now);
        }
    }
}

void sp_stkctr_release(struct sp_stkctr *c)
{
    uint32_t now = sp_stk_now_ms();

    for (int i = 0; i < SP_STK_NCTR; i++) {
        struct sp_stktable *t = c[i].t;
        struct sp_stkentry *e = c[i].e;
        if (!e)
            continue;
        if (c[i].sess) { /* the session's: it releases it */
            c[i].t = NULL;
            c[i].e = NULL;
            c[i].sess = false;
            continue;
        }
        if (sp_stktable_stores(t, SP_STK_CONN_CUR))
            __atomic_sub_fetch(&e->w[t->off[SP_STK_CONN_CUR]].u, 1, __ATOMIC_RELAXED);
        sp_stkentry_unref_mt(t, e, now);
        c[i].t = NULL;
        c[i].e = NULL;
    }
}

void sp_stkctr_count_session(struct sp_stkctr *c)
{
    uint32_t now = sp_stk_now_ms();

    for (int i = 0; i < SP_STK_NCTR; i++) {
        if (!c[i].e)
            continue;
        sp_stk_add_mt(c[i].t, c[i].e, SP_STK_SESS_CNT, 1, now);
        sp_stk_add_mt(c[i].t, c[i].e, SP_STK_SESS_RATE, 1, now);
    }
}

bool sp_stkctr_inherit(struct sp_stkctr *dst, const struct sp_stkctr *src)
{
    bool any = false;

    for (int i = 0; i < SP_STK_NCTR; i++) {
        if (!src[i].e)
            continue;
        dst[i] = (struct sp_stkctr){.t = src[i].t, .e = src[i].e, .sess = true};
        any = true;
    }
    return any;
}

void sp_stkctr_count_http_req(struct sp_stkctr *c)
{
    uint32_t now = sp_stk_now_ms();

    for (int i = 0; i < SP_STK_NCTR; i++) {
        if (!c[i].e)
            continue;
        sp_stk_add_mt(c[i].t, c[i].e, SP_STK_HTTP_REQ_CNT, 1, now);
        sp_stk_add_mt(c[i].t, c[i].e, SP_STK_HTTP_REQ_RATE, 1, now);
    }
}

/* ---- the stats socket ---- */

static const char *const type_names[] = {"ip", "ipv6", "integer", "string", "binary"};

static bool key_parse(const struct sp_stktable *t, const char *text, struct sp_stkkey *k)
{
    struct sp_smp v = {.type = SP_SMP_STR};

    v.u.str.ptr = text;
    v.u.str.len = strlen(text);
    if (t->c.type == SP_STK_T_INT) {
        char *end;
        long long n = strtoll(text, &end, 10);
        if (!*text || *end)
            return false;
        v.type = SP_SMP_SINT;
        v.u.sint = n;
    } else if (t->c.type == SP_STK_T_BIN) {
        /* HAProxy takes a binary key in hexadecimal */
        static unsigned char raw[SP_STK_MAXKEY];
        size_t n = strlen(text);
        if (n % 2 || n / 2 > t->c.keylen)
            return false;
        for (size_t i = 0; i < n / 2; i++) {
            unsigned b;
            if (sscanf(text + 2 * i, "%2x", &b) != 1)
                return false;
            raw[i] = (unsigned char)b;
        }
        v.type = SP_SMP_BIN;
        v.u.str.ptr = (const char *)raw;
        v.u.str.len = n / 2;
    }
    return sp_stktable_key_mt(t, &v, k);
}

int sp_stkfilter_parse(const struct sp_stktable *t, char **w, int n, struct sp_stkfilter *f,
                       char *err, size_t errlen)
{
    static const char *const ops[] = {"eq", "ne", "le", "lt", "ge", "gt"};

    memset(f, 0, sizeof(*f));
    f->dt = -1;
    for (int i = 0; i < n; i++) {
        if (!strcmp(w[i], "key") && i + 1 < n) {
            if (!key_parse(t, w[i + 1], &f->key)) {
                snprintf(err, errlen, "Invalid key\n");
                return -1;
            }
            f->has_key = true;
            i++;
        } else if (!strncmp(w[i], "data.", 5) && i + 2 < n) {
            int dt = sp_stk_dt_find(w[i] + 5, strlen(w[i] + 5));
            if (dt < 0 || !sp_stktable_stores(t, (enum sp_stk_dt)dt)) {
                snprintf(err, errlen, "Data type not stored in this table\n");
                return -1;
            }
            int op = -1;
            for (int k = 0; k < 6; k++)
                if (!strcmp(w[i + 1], ops[k]))
                    op = k;
            char *end;
            long long v = strtoll(w[i + 2], &end, 10);
            if (op < 0 || !*w[i + 2] || *end) {
                snprintf(err, errlen, "Require a valid integer value to compare against\n");
                return -1;
            }
            f->dt = dt;
            f->op = op;
            f->value = v;
            i += 2;
        } else {
            snprintf(err, errlen,
                     "Optional argument only supports \"data.<store_data_type>\" <operator> "
                     "<value> and key <key>\n");
            return -1;
        }
    }
    return 0;
}

void sp_stktable_head(const struct sp_stktable *t, char *buf, size_t cap)
{
    snprintf(buf, cap, "# table: %s, type: %s, size:%llu, used:%lld\n", t->name,
             type_names[t->c.type], (unsigned long long)t->c.size,
             (long long)sp_stktable_count_mt(t));
}

static bool pass(struct sp_stktable *t, struct sp_stkentry *e, const struct sp_stkfilter *f,
                 uint32_t now)
{
    uint64_t r = __atomic_load_n(&e->ref, __ATOMIC_ACQUIRE);

    if (r == DEAD || (r == 0 && expired(t, e, now)))
        return false;
    if (f->has_key && memcmp(e->w, f->key.b, t->c.keylen))
        return false;
    if (f->dt >= 0) {
        uint64_t u;
        sp_stk_get_mt(t, e, (enum sp_stk_dt)f->dt, now, &u);
        int64_t v = (int64_t)u;
        bool ok[] = {v == f->value, v != f->value, v <= f->value,
                     v<f->value, v >= f->value, v> f->value};
        if (!ok[f->op])
            return false;
    }
    return true;
}

static void key_text(const struct sp_stktable *t, const struct sp_stkentry *e, char *out,
                     size_t cap)
{
    const unsigned char *k = (const unsigned char *)e->w;
    size_t o = 0;

    switch (t->c.type) {
    case SP_STK_T_IP:
        inet_ntop(AF_INET, k, out, (socklen_t)cap);
        return;
    case SP_STK_T_IPV6:
        inet_ntop(AF_INET6, k, out, (socklen_t)cap);
        return;
    case SP_STK_T_INT: {
        uint32_t u;
        memcpy(&u, k, 4);
        snprintf(out, cap, "%u", u);
        return;
    }
    case SP_STK_T_STR:
        /* HAProxy's dump_text(): printable characters as is, others escaped, up to NUL */
        for (unsigned i = 0; i < t->c.keylen && k[i] && o + 5 < cap; i++) {
            if (k[i] >= 0x20 && k[i] < 0x7f && k[i] != '\\' && k[i] != ' ')
                out[o++] = (char)k[i];
            else
                o += (size_t)snprintf(out + o, cap - o, "\\x%02x", k[i]);
        }
        out[o] = '\0';
        return;
    case SP_STK_T_BIN:
        for (unsigned i = 0; i < t->c.keylen && o + 3 < cap; i++)
            o += (size_t)snprintf(out + o, cap - o, "%02x", k[i]);
        out[o] = '\0';
        return;
    }
}

void sp_stktable_dump(struct sp_stktable *t, const struct sp_stkfilter *f,
                      void (*emit)(void *ctx, const char *line), void *ctx)
{
    struct cds_lfht_iter it;
    struct sp_stkentry *e;
    uint32_t now = sp_stk_now_ms();
    char key[SP_STK_MAXKEY * 4 + 8], line[SP_STK_MAXKEY * 4 + 1024];

    cds_lfht_for_each_entry(t->ht, &it, e, node)
    {
        seen(&e->node);
        if (!pass(t, e, f, now))
            continue;
        key_text(t, e, key, sizeof(key));
        int64_t exp = 0;
        if (t->c.expire > 0) {
            exp = (int64_t)(int32_t)(__atomic_load_n(&e->touched, __ATOMIC_RELAXED) +
                                     (uint32_t)t->c.expire - now);
            if (exp < 0)
                exp = 0;
        }
        size_t o = (size_t)snprintf(line, sizeof(line), "%p: key=%s use=%lld exp=%lld", (void *)e,
                                    key, (long long)sp_stkentry_refs_mt(e), (long long)exp);
        for (int dt = 0; dt < SP_STK_NDT && o < sizeof(line) - 64; dt++) {
            uint64_t v;
            if (!sp_stk_get_mt(t, e, (enum sp_stk_dt)dt, now, &v))
                continue;
            if (sp_stk_dt_is_rate(dt))
                o += (size_t)snprintf(line + o, sizeof(line) - o, " %s(%u)=%llu",
                                      sp_stk_dt_name(dt), t->c.period[dt], (unsigned long long)v);
            else if (dt == SP_STK_SERVER_ID)
                o += (size_t)snprintf(line + o, sizeof(line) - o, " %s=%d", sp_stk_dt_name(dt),
                                      (int)v);
            else
                o += (size_t)snprintf(line + o, sizeof(line) - o, " %s=%llu", sp_stk_dt_name(dt),
                                      (unsigned long long)v);
        }
        snprintf(line + o, sizeof(line) - o, "\n");
        emit(ctx, line);
    }
}

int sp_stktable_clear(struct sp_stktable *t, const struct sp_stkfilter *f)
{
    struct cds_lfht_iter it;
    struct sp_stkentry *e;
    uint32_t now = sp_stk_now_ms();
    int n = 0;

    cds_lfht_for_each_entry(t->ht, &it, e, node)
    {
        seen(&e->node);
        if (pass(t, e, f, now) && kill(t, e))
            n++;
    }
    return n;
}
