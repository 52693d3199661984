/* tests/balance/test_lb.c - the load-balancing algorithms of balance/lb.c against the
 * sequences and choices HAProxy 2.6 produces: static-rr's map, leastconn's rotation, first,
 * random's least loaded draw, the hash functions, map-based and consistent lookups of
 * source, uri, url_param and hdr(), backups, `exclude`, the per-worker state's agreement
 * across workers, and the configuration errors of `balance` and `hash-type`. */
#include "balance/balance.h"

#include "core/config.h"
#include "tests/unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ------------------------------------------------------------------------------- */

#define TMO "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n"

static struct sp_routing *build(const char *text)
{
    struct sp_config *cfg = NULL;
    int nerr = -1;
    struct sp_routing *r = NULL;

    CU_ASSERT_EQUAL(sp_config_parse_string(text, "t.cfg", stderr, &cfg), 0);
    if (cfg)
        r = sp_routing_build(cfg, stderr, &nerr);
    sp_config_free(cfg);
    CU_ASSERT_PTR_NOT_NULL(r);
    return r;
}

/* A backend "b" with `lines` after its servers a, b, c (weight 1 unless `srv` says). */
static struct sp_routing *build_be(const char *srv, const char *lines)
{
    char text[2048];
    snprintf(text, sizeof(text), TMO "backend b\n%s%s",
             srv ? srv : " server a 127.0.0.1:1\n server b 127.0.0.1:2\n server c 127.0.0.1:3\n",
             lines);
    return build(text);
}

/* the live load the balancer reads, by server idx */
static struct {
    int64_t served[16], queued[16];
} L;

static void fake_load(void *ctx, const struct sp_server *s, int64_t *served, int64_t *queued)
{
    (void)ctx;
    *served = L.served[s->idx];
    *queued = L.queued[s->idx];
}

static const struct sp_lb_load LOAD = {.get = fake_load};

static struct sp_lb_req uri_req(const char *uri)
{
    return (struct sp_lb_req){.uri = uri, .uri_len = strlen(uri)};
}

static const char *pick_name(const struct sp_backend *be, struct sp_lb_worker *lw,
                             const struct sp_lb_req *q, const struct sp_server *exclude)
{
    const struct sp_server *s = sp_backend_pick(be, lw, q, &LOAD, exclude);
    return s ? s->name : "-";
}

/* `n` picks without a key, names separated by spaces */
static void sequence(const struct sp_backend *be, struct sp_lb_worker *lw, int n, char *out,
                     size_t size)
{
    size_t off = 0;
    out[0] = '\0';
    for (int i = 0; i < n && off < size; i++)
        off += (size_t)snprintf(out + off, size - off, "%s%s", i ? " " : "",
                                pick_name(be, lw, NULL, NULL));
}

static const char *uri_pick(const struct sp_backend *be, struct sp_lb_worker *lw, const char *uri)
{
    struct sp_lb_req q = uri_req(uri);
    return pick_name(be, lw, &q, NULL);
}

/* with n servers of weight 1 and map-based sdbm, the map is the servers in order */
static const char *map_expect(const struct sp_backend *be, const char *key)
{
    return be->srv[sp_lb_hash(SP_HASH_SDBM, key, strlen(key)) % (uint32_t)be->nsrv]->name;
}

/* ---- hash functions ----------------------------------------------------------------------- */

static void test_hash_functions(void)
{
    /* values of HAProxy's src/hash.c, computed with its own code */
    CU_ASSERT_EQUAL(sp_lb_hash(SP_HASH_SDBM, "/foo", 4), 0xbd699c37u);
    CU_ASSERT_EQUAL(sp_lb_hash(SP_HASH_DJB2, "/foo", 4), 0x7c7895f8u);
    CU_ASSERT_EQUAL(sp_lb_hash(SP_HASH_CRC32, "123456789", 9), 0xcbf43926u);
    CU_ASSERT_EQUAL(sp_lb_hash(SP_HASH_WT6, "/foo", 4), 0x37869e87u);
    CU_ASSERT_EQUAL(sp_lb_hash(SP_HASH_WT6, "123456789", 9), 0x84a16c1du);
    CU_ASSERT_EQUAL(sp_lb_hash(SP_HASH_WT6, "www.example.com", 15), 0x248109f7u);
    CU_ASSERT_EQUAL(sp_lb_hash(SP_HASH_SDBM, "", 0), 0);
    CU_ASSERT_EQUAL(sp_lb_full_hash(0), 0xab4ed927u);
    CU_ASSERT_EQUAL(sp_lb_full_hash(0x7f000001u), 0x8a1b584bu);
    CU_ASSERT_EQUAL(sp_lb_full_hash(0xbd699c37u), 0x8a718e01u);
}

static void test_rr_kind(void)
{
    CU_ASSERT(sp_balance_rr_kind(SP_BALANCE_ROUNDROBIN));
    CU_ASSERT(sp_balance_rr_kind(SP_BALANCE_STATIC_RR));
    CU_ASSERT(sp_balance_rr_kind(SP_BALANCE_RANDOM));
    CU_ASSERT(!sp_balance_rr_kind(SP_BALANCE_LEASTCONN));
    CU_ASSERT(!sp_balance_rr_kind(SP_BALANCE_FIRST));
    CU_ASSERT(!sp_balance_rr_kind(SP_BALANCE_SOURCE));
    CU_ASSERT(!sp_balance_rr_kind(SP_BALANCE_URI));
    CU_ASSERT(!sp_balance_rr_kind(SP_BALANCE_URL_PARAM));
    CU_ASSERT(!sp_balance_rr_kind(SP_BALANCE_HDR));
}

/* ---- static-rr --------------------------------------------------------------------------------
 */

static void test_static_rr(void)
{
    struct sp_routing *r = build_be(" server a 127.0.0.1:1 weight 3\n"
                                    " server b 127.0.0.1:2 weight 2\n"
                                    " server c 127.0.0.1:3 weight 1\n",
                                    " balance static-rr\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const struct sp_backend *be = r->be[0];
    struct sp_lb_worker *lw = sp_lb_worker_new(r, 1);
    char seq[256];

    memset(&L, 0, sizeof(L));
    CU_ASSERT_EQUAL(be->lb.algo, SP_BALANCE_STATIC_RR);
    sequence(be, lw, 12, seq, sizeof(seq));
    CU_ASSERT_STRING_EQUAL(seq, "a a b a b c a a b a b c"); /* HAProxy 2.6, observed */
    /* b goes down: the map is rebuilt from the usable set (3,1: a a a c) */
    sp_srv_set_admin(be->srv[1]->h, SP_SRV_FMAINT, 0);
    sequence(be, lw, 8, seq, sizeof(seq));
    CU_ASSERT_STRING_EQUAL(seq, "a a a c a a a c");
    /* back up: the 3,2,1 map again, the cursor where it was (slot 4), as HAProxy's rr_idx */
    sp_srv_set_admin(be->srv[1]->h, 0, 0);
    sequence(be, lw, 6, seq, sizeof(seq));
    CU_ASSERT_STRING_EQUAL(seq, "b c a a b a");
    sp_lb_worker_free(lw);
    sp_routing_discard(r);

    r = build_be(" server a 127.0.0.1:1 maxconn 5\n server b 127.0.0.1:2\n"
                 " server c 127.0.0.1:3\n",
                 " balance static-rr\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    be = r->be[0];
    lw = sp_lb_worker_new(r, 1);
    memset(&L, 0, sizeof(L));
    /* a saturated server is passed over, `exclude` too while another one can take it */
    L.served[be->srv[0]->idx] = 5; /* a at its maxconn */
    sequence(be, lw, 4, seq, sizeof(seq));
    CU_ASSERT_STRING_EQUAL(seq, "b c b c");
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, NULL, be->srv[1]), "c");
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, NULL, be->srv[2]), "b");
    sp_lb_worker_free(lw);
    sp_routing_discard(r);
}

/* ---- leastconn ----------------------------------------------------------------------------------
 */

static void test_leastconn(void)
{
    struct sp_routing *r = build_be(NULL, " balance leastconn\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const struct sp_backend *be = r->be[0];
    struct sp_lb_worker *lw = sp_lb_worker_new(r, 1);
    char seq[256];

    memset(&L, 0, sizeof(L));
    /* idle servers rotate: HAProxy puts a repositioned server after its equals */
    sequence(be, lw, 6, seq, sizeof(seq));
    CU_ASSERT_STRING_EQUAL(seq, "a b c a b c");
    /* the fewest requests (served + queued) wins */
    L.served[be->srv[0]->idx] = 3;
    L.served[be->srv[1]->idx] = 1;
    L.served[be->srv[2]->idx] = 2;
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, NULL, NULL), "b");
    L.queued[be->srv[1]->idx] = 2; /* b: 3 in flight */
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, NULL, NULL), "c");
    /* `exclude` is passed over */
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, NULL, be->srv[2]), "a");
    sp_lb_worker_free(lw);
    sp_routing_discard(r);

    /* weights: key = (inflight+1)*256/weight: a (weight 4) with 3 in flight (256) beats b
     * (weight 1) with 1 (512) */
    r = build_be(" server a 127.0.0.1:1 weight 4\n server b 127.0.0.1:2\n", " balance leastconn\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    be = r->be[0];
    lw = sp_lb_worker_new(r, 1);
    memset(&L, 0, sizeof(L));
    L.served[be->srv[0]->idx] = 3;
    L.served[be->srv[1]->idx] = 1;
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, NULL, NULL), "a");
    /* a saturated server (maxconn+maxqueue reached) is passed over */
    sp_lb_worker_free(lw);
    sp_routing_discard(r);
    r = build_be(" server a 127.0.0.1:1 maxconn 1\n server b 127.0.0.1:2\n",
                 " balance leastconn\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    be = r->be[0];
    lw = sp_lb_worker_new(r, 1);
    memset(&L, 0, sizeof(L));
    L.served[be->srv[0]->idx] = 1;
    L.served[be->srv[1]->idx] = 5;
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, NULL, NULL), "b");
    sp_lb_worker_free(lw);
    sp_routing_discard(r);
}

/* ---- first ----------------------------------------------------------------------------------- */

static void test_first(void)
{
    struct sp_routing *r = build_be(" server a 127.0.0.1:1 maxconn 2\n"
                                    " server b 127.0.0.1:2 maxconn 2 weight 7\n"
                                    " server c 127.0.0.1:3 maxconn 2\n",
                                    " balance first\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const struct sp_backend *be = r->be[0];
    struct sp_lb_worker *lw = sp_lb_worker_new(r, 1);
    const char *want[] = {"a", "a", "b", "b", "c", "c"};

    memset(&L, 0, sizeof(L));
    /* fills the lowest id up to its maxconn, then the next one */
    for (int i = 0; i < 6; i++) {
        const struct sp_server *s = sp_backend_pick(be, lw, NULL, &LOAD, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_STRING_EQUAL(s->name, want[i]);
        L.served[s->idx]++;
    }
    /* all full: spillway has no backend queue; the shortest server queue, lowest id */
    L.queued[be->srv[0]->idx] = 2;
    L.queued[be->srv[1]->idx] = 1;
    L.queued[be->srv[2]->idx] = 1;
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, NULL, NULL), "b");
    /* a slot frees on a: back to a; excluding a, the next with room */
    memset(&L, 0, sizeof(L));
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, NULL, NULL), "a");
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, NULL, be->srv[0]), "b");
    /* a down: b first */
    sp_srv_set_op(be->srv[0]->h, SP_SRV_STOPPED, 0);
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, NULL, NULL), "b");
    /* weight 0: not usable */
    sp_srv_set_weight(be->srv[1]->h, 0, 0);
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, NULL, NULL), "c");
    sp_lb_worker_free(lw);
    sp_routing_discard(r);
}

/* ---- random -------------------------------------------------------------------------------- */

static void test_random(void)
{
    struct sp_routing *r = build_be(" server a 127.0.0.1:1\n server b 127.0.0.1:2\n",
                                    " balance random\n hash-type map-based\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const struct sp_backend *be = r->be[0];
    struct sp_lb_worker *lw = sp_lb_worker_new(r, 12345);
    int hits[2] = {0};

    CU_ASSERT_EQUAL(be->lb.arg.draws, 2);
    memset(&L, 0, sizeof(L));
    /* idle: both get their share (the ring, whatever hash-type says) */
    for (int i = 0; i < 1000; i++)
        hits[sp_backend_pick(be, lw, NULL, &LOAD, NULL)->id - 1]++;
    CU_ASSERT(hits[0] > 300 && hits[1] > 300);
    /* a loaded: of two draws, the less loaded is kept; a wins only when both land on it
     * (its arc is 43% of the ring: about 19% of the picks) */
    L.served[be->srv[0]->idx] = 10;
    hits[0] = hits[1] = 0;
    for (int i = 0; i < 1000; i++)
        hits[sp_backend_pick(be, lw, NULL, &LOAD, NULL)->id - 1]++;
    CU_ASSERT(hits[1] > 700 && hits[0] > 100 && hits[0] < 300);
    /* `exclude`: never picked while another is usable */
    for (int i = 0; i < 50; i++)
        CU_ASSERT_STRING_EQUAL(pick_name(be, lw, NULL, be->srv[1]), "a");
    sp_lb_worker_free(lw);
    sp_routing_discard(r);

    /* random(10): ten draws, the loaded one almost never kept */
    r = build_be(" server a 127.0.0.1:1\n server b 127.0.0.1:2\n", " balance random(10)\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    be = r->be[0];
    lw = sp_lb_worker_new(r, 777);
    CU_ASSERT_EQUAL(be->lb.arg.draws, 10);
    memset(&L, 0, sizeof(L));
    L.served[be->srv[1]->idx] = 3;
    hits[0] = hits[1] = 0;
    for (int i = 0; i < 1000; i++)
        hits[sp_backend_pick(be, lw, NULL, &LOAD, NULL)->id - 1]++;
    CU_ASSERT(hits[0] > 980);
    sp_lb_worker_free(lw);
    sp_routing_discard(r);
}

/* ---- source -----------------------------------------------------------------------------------
 */

static void test_source(void)
{
    struct sp_routing *r = build_be(NULL, " balance source\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const struct sp_backend *be = r->be[0];
    struct sp_lb_worker *lw = sp_lb_worker_new(r, 1);
    struct sockaddr_storage ss = {0};
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    struct sp_lb_req q = {.src = &ss};

    s4->sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &s4->sin_addr);
    /* 0x7f000001 % 3 = 2: c (HAProxy 2.6, observed), on every pick */
    for (int i = 0; i < 5; i++)
        CU_ASSERT_STRING_EQUAL(pick_name(be, lw, &q, NULL), "c");
    inet_pton(AF_INET, "10.0.0.6", &s4->sin_addr); /* 0x0a000006 % 3 = 1 */
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, &q, NULL), "b");
    /* IPv6: the XOR of the four words: 2001:db8::1 gives 0x20010db8 ^ 1 = 0x20010db9, % 3 = 0 */
    memset(&ss, 0, sizeof(ss));
    s6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, "2001:db8::1", &s6->sin6_addr);
    CU_ASSERT_EQUAL(0x20010db9u % 3, 0);
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, &q, NULL), "a");
    /* no IP address (a unix socket): round-robin on the map */
    memset(&ss, 0, sizeof(ss));
    ss.ss_family = AF_UNIX;
    char seq[64];
    size_t off = 0;
    for (int i = 0; i < 3; i++)
        off += (size_t)snprintf(seq + off, sizeof(seq) - off, "%s", pick_name(be, lw, &q, NULL));
    CU_ASSERT_STRING_EQUAL(seq, "abc");
    sp_lb_worker_free(lw);
    sp_routing_discard(r);

    /* hash-type consistent: full_hash(0x7f000001) on the ring */
    r = build_be(NULL, " balance source\n hash-type consistent\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    be = r->be[0];
    lw = sp_lb_worker_new(r, 1);
    CU_ASSERT_TRUE(be->lb.arg.avalanche);
    memset(&ss, 0, sizeof(ss));
    s4->sin_family = AF_INET;
    inet_pton(AF_INET, "127.0.0.1", &s4->sin_addr);
    const char *first = pick_name(be, lw, &q, NULL);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_STRING_EQUAL(pick_name(be, lw, &q, NULL), first);
    sp_lb_worker_free(lw);
    sp_routing_discard(r);
}

/* ---- uri --------------------------------------------------------------------------------------
 */

static void test_uri_map(void)
{
    struct sp_routing *r = build_be(" server a 127.0.0.1:1\n server b 127.0.0.1:2\n"
                                    " server c 127.0.0.1:3\n server d 127.0.0.1:4\n"
                                    " server e 127.0.0.1:5\n",
                                    " balance uri\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const struct sp_backend *be = r->be[0];
    struct sp_lb_worker *lw = sp_lb_worker_new(r, 1);
    const char *keys[] = {"/foo", "/bar", "/baz/qux", "/a", "/b", "/c", "/index.html", "/x/y/z"};

    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, keys[i]), map_expect(be, keys[i]));
    /* the query string is not hashed: /foo and /foo?x=1 alike */
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/foo?x=1"), map_expect(be, "/foo"));
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/bar?y"), map_expect(be, "/bar"));
    /* an absolute URI is hashed whole (scheme and authority), HTTP/2's :authority too */
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "http://h.example/p?q=1"),
                           map_expect(be, "http://h.example/p"));
    struct sp_lb_req q = {.uri = "/p?q=1",
                          .uri_len = 6,
                          .scheme = "http",
                          .scheme_len = 4,
                          .authority = "h.example",
                          .authority_len = 9};
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, &q, NULL), map_expect(be, "http://h.example/p"));
    sp_lb_worker_free(lw);
    sp_routing_discard(r);

    /* whole: the query string too */
    r = build_be(" server a 127.0.0.1:1\n server b 127.0.0.1:2\n server c 127.0.0.1:3\n"
                 " server d 127.0.0.1:4\n server e 127.0.0.1:5\n",
                 " balance uri whole\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    be = r->be[0];
    lw = sp_lb_worker_new(r, 1);
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/foo?x=1"), map_expect(be, "/foo?x=1"));
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/foo?x=2"), map_expect(be, "/foo?x=2"));
    sp_lb_worker_free(lw);
    sp_routing_discard(r);

    /* depth 1: /a/b hashes /a; depth 2: /a/b/c hashes /a/b */
    r = build_be(" server a 127.0.0.1:1\n server b 127.0.0.1:2\n server c 127.0.0.1:3\n"
                 " server d 127.0.0.1:4\n server e 127.0.0.1:5\n",
                 " balance uri depth 1\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    be = r->be[0];
    lw = sp_lb_worker_new(r, 1);
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/a/b"), map_expect(be, "/a"));
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/img/1.png"), map_expect(be, "/img"));
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/img/2.png"), map_expect(be, "/img"));
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/img?z/z"), map_expect(be, "/img"));
    sp_lb_worker_free(lw);
    sp_routing_discard(r);
    r = build_be(" server a 127.0.0.1:1\n server b 127.0.0.1:2\n server c 127.0.0.1:3\n"
                 " server d 127.0.0.1:4\n server e 127.0.0.1:5\n",
                 " balance uri depth 2 len 6\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    be = r->be[0];
    lw = sp_lb_worker_new(r, 1);
    CU_ASSERT_EQUAL(be->lb.arg.uri_depth, 2);
    CU_ASSERT_EQUAL(be->lb.arg.uri_len, 6);
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/a/b/c"), map_expect(be, "/a/b"));
    /* len first: /abcdefgh is cut to /abcde */
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/abcdefgh"), map_expect(be, "/abcde"));
    sp_lb_worker_free(lw);
    sp_routing_discard(r);

    /* path-only: scheme and authority dropped */
    r = build_be(" server a 127.0.0.1:1\n server b 127.0.0.1:2\n server c 127.0.0.1:3\n"
                 " server d 127.0.0.1:4\n server e 127.0.0.1:5\n",
                 " balance uri path-only\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    be = r->be[0];
    lw = sp_lb_worker_new(r, 1);
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "http://h.example/p?q=1"), map_expect(be, "/p"));
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, &q, NULL), map_expect(be, "/p"));
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/p"), map_expect(be, "/p"));
    sp_lb_worker_free(lw);
    sp_routing_discard(r);
}

/* consistent hashing of the URI: HAProxy 2.6's choices, and only a down server's keys move */
static void test_uri_consistent(void)
{
    struct sp_routing *r = build_be(NULL, " balance uri\n hash-type consistent\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const struct sp_backend *be = r->be[0];
    struct sp_lb_worker *lw = sp_lb_worker_new(r, 1), *lw2 = sp_lb_worker_new(r, 2);
    char key[32];
    const char *before[200];

    CU_ASSERT_EQUAL(be->lb.arg.hash_type, SP_HASH_CONSISTENT);
    CU_ASSERT_EQUAL(be->lb.arg.hash_fn, SP_HASH_SDBM);
    CU_ASSERT_TRUE(be->lb.arg.avalanche);
    /* observed with HAProxy 2.6 */
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/foo"), "b");
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/bar"), "a");
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/baz/qux"), "b");
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/foo?x=1"), "b");
    int per[3] = {0};
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof(key), "/k%d", i);
        before[i] = uri_pick(be, lw, key);
        per[before[i][0] - 'a']++;
        /* the ring is the same on every worker */
        CU_ASSERT_STRING_EQUAL(uri_pick(be, lw2, key), before[i]);
    }
    CU_ASSERT(per[0] > 20 && per[1] > 20 && per[2] > 20);
    /* b goes down: its keys move to the others, no other key moves */
    sp_srv_set_op(be->srv[1]->h, SP_SRV_STOPPED, 0);
    int moved = 0;
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof(key), "/k%d", i);
        const char *now = uri_pick(be, lw, key);
        CU_ASSERT_STRING_NOT_EQUAL(now, "b");
        if (strcmp(before[i], "b") != 0)
            CU_ASSERT_STRING_EQUAL(now, before[i]);
        moved += strcmp(now, before[i]) != 0;
        CU_ASSERT_STRING_EQUAL(uri_pick(be, lw2, key), now);
    }
    CU_ASSERT_EQUAL(moved, per[1]);
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/bar"), "a");
    /* back up: every key goes home */
    sp_srv_set_op(be->srv[1]->h, SP_SRV_RUNNING, 0);
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof(key), "/k%d", i);
        CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, key), before[i]);
    }
    /* `exclude` (a redispatch): the next point of another server */
    struct sp_lb_req q = uri_req("/foo");
    const char *other = pick_name(be, lw, &q, be->srv[1]);
    CU_ASSERT_STRING_NOT_EQUAL(other, "b");
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw2, &q, be->srv[1]), other);
    /* weight: a server of weight 0 has no point */
    sp_srv_set_weight(be->srv[0]->h, 0, 0);
    CU_ASSERT_STRING_NOT_EQUAL(uri_pick(be, lw, "/bar"), "a");
    sp_lb_worker_free(lw);
    sp_lb_worker_free(lw2);
    sp_routing_discard(r);
}

/* map-based: a down server leaves the map (most keys move), and `exclude` moves a key to
 * another server the same way on every worker */
static void test_map_state(void)
{
    struct sp_routing *r = build_be(NULL, " balance uri\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const struct sp_backend *be = r->be[0];
    struct sp_lb_worker *lw = sp_lb_worker_new(r, 1), *lw2 = sp_lb_worker_new(r, 2);
    char key[32];

    sp_srv_set_admin(be->srv[0]->h, SP_SRV_FMAINT, 0);
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "/k%d", i);
        uint32_t h = sp_lb_hash(SP_HASH_SDBM, key, strlen(key));
        const char *now = uri_pick(be, lw, key);
        CU_ASSERT_STRING_EQUAL(now, h % 2 ? "c" : "b"); /* map b c */
        CU_ASSERT_STRING_EQUAL(uri_pick(be, lw2, key), now);
        struct sp_lb_req q = uri_req(key);
        const struct sp_server *ex = strcmp(now, "b") == 0 ? be->srv[1] : be->srv[2];
        CU_ASSERT_STRING_NOT_EQUAL(pick_name(be, lw, &q, ex), now);
    }
    sp_lb_worker_free(lw);
    sp_lb_worker_free(lw2);
    sp_routing_discard(r);

    /* map-based with another function and avalanche */
    r = build_be(NULL, " balance uri\n hash-type map-based djb2 avalanche\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    be = r->be[0];
    lw = sp_lb_worker_new(r, 1);
    uint32_t h = sp_lb_full_hash(sp_lb_hash(SP_HASH_DJB2, "/foo", 4));
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/foo"), be->srv[h % 3]->name);
    sp_lb_worker_free(lw);
    sp_routing_discard(r);
}

/* ---- url_param
 * ------------------------------------------------------------------------------------ */

static void test_url_param(void)
{
    struct sp_routing *r = build_be(" server a 127.0.0.1:1\n server b 127.0.0.1:2\n"
                                    " server c 127.0.0.1:3\n server d 127.0.0.1:4\n"
                                    " server e 127.0.0.1:5\n",
                                    " balance url_param user\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const struct sp_backend *be = r->be[0];
    struct sp_lb_worker *lw = sp_lb_worker_new(r, 1);

    CU_ASSERT_STRING_EQUAL(be->lb.arg.name, "user");
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/x?user=bob"), map_expect(be, "bob"));
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/y?a=1&user=bob&z=2"), map_expect(be, "bob"));
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/?user=alice"), map_expect(be, "alice"));
    CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/?user="), map_expect(be, ""));
    /* absent (or only as a longer name, or in the path): round-robin on the map */
    char seq[64] = "";
    size_t off = 0;
    const char *nokey[] = {"/?userx=1", "/user=1", "/?xuser=2", "/", "/?a=1&b=2"};
    for (int i = 0; i < 5; i++)
        off += (size_t)snprintf(seq + off, sizeof(seq) - off, "%s", uri_pick(be, lw, nokey[i]));
    CU_ASSERT_STRING_EQUAL(seq, "abcde");
    sp_lb_worker_free(lw);
    sp_routing_discard(r);
}

/* ---- hdr()
 * ----------------------------------------------------------------------------------------- */

static void test_hdr(void)
{
    struct sp_routing *r = build_be(" server a 127.0.0.1:1\n server b 127.0.0.1:2\n"
                                    " server c 127.0.0.1:3\n server d 127.0.0.1:4\n"
                                    " server e 127.0.0.1:5\n",
                                    " balance hdr(X-User)\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const struct sp_backend *be = r->be[0];
    struct sp_lb_worker *lw = sp_lb_worker_new(r, 1);
    struct sp_lb_req q = {.uri = "/", .uri_len = 1};

    CU_ASSERT_EQUAL(be->lb.algo, SP_BALANCE_HDR);
    CU_ASSERT_STRING_EQUAL(be->lb.arg.name, "X-User");
#define HDRS(s) (q.hdrs = (s), q.hdrs_len = strlen(s))
    HDRS("Host: x\r\nx-user:   alice  \r\n\r\n");
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, &q, NULL), map_expect(be, "alice"));
    /* the first value of the first field */
    HDRS("X-User: bob, carol\r\nX-User: dave\r\n\r\n");
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, &q, NULL), map_expect(be, "bob"));
    HDRS("X-User: \"b,o\", carol\r\n");
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, &q, NULL), map_expect(be, "\"b,o\""));
    /* absent or empty: round-robin */
    char seq[64] = "";
    size_t off = 0;
    const char *nokey[] = {"Host: x\r\n\r\n", "X-User:\r\n", "X-User: , bob\r\n", "X-Users: a\r\n",
                           ""};
    for (int i = 0; i < 5; i++) {
        HDRS(nokey[i]);
        off += (size_t)snprintf(seq + off, sizeof(seq) - off, "%s", pick_name(be, lw, &q, NULL));
    }
    CU_ASSERT_STRING_EQUAL(seq, "abcde");
    sp_lb_worker_free(lw);
    sp_routing_discard(r);

    /* use_domain_only: www.example.com and example.org both hash "example" */
    r = build_be(" server a 127.0.0.1:1\n server b 127.0.0.1:2\n server c 127.0.0.1:3\n"
                 " server d 127.0.0.1:4\n server e 127.0.0.1:5\n",
                 " balance hdr(host) use_domain_only\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    be = r->be[0];
    lw = sp_lb_worker_new(r, 1);
    CU_ASSERT_TRUE(be->lb.arg.domain_only);
    HDRS("Host: www.example.com\r\n");
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, &q, NULL), map_expect(be, "example"));
    HDRS("host: example.org\r\n");
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, &q, NULL), map_expect(be, "example"));
    HDRS("host: a.b.example.co:8080\r\n");
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, &q, NULL), map_expect(be, "example"));
    HDRS("host: localhost\r\n");
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, &q, NULL), map_expect(be, "localhost"));
#undef HDRS
    sp_lb_worker_free(lw);
    sp_routing_discard(r);
}

/* ---- backups
 * ----------------------------------------------------------------------------------------- */

static void test_backups(void)
{
    static const char *const algos[] = {
        " balance uri\n",       " balance uri\n hash-type consistent\n",
        " balance static-rr\n", " balance leastconn\n",
        " balance first\n",     " balance random\n",
        " balance source\n"};
    for (size_t k = 0; k < sizeof(algos) / sizeof(algos[0]); k++) {
        struct sp_routing *r = build_be(" server a 127.0.0.1:1\n server k1 127.0.0.1:2 backup\n"
                                        " server k2 127.0.0.1:3 backup\n",
                                        algos[k]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(r);
        const struct sp_backend *be = r->be[0];
        struct sp_lb_worker *lw = sp_lb_worker_new(r, 1);
        memset(&L, 0, sizeof(L));
        /* the active server while it is usable, whatever the key */
        CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/x"), "a");
        CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/y"), "a");
        /* none: the first usable backup only, even when excluded (HAProxy's fbck) */
        sp_srv_set_op(be->srv[0]->h, SP_SRV_STOPPED, 0);
        for (int i = 0; i < 4; i++) {
            char key[8];
            snprintf(key, sizeof(key), "/%d", i);
            CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, key), "k1");
        }
        CU_ASSERT_STRING_EQUAL(pick_name(be, lw, NULL, be->srv[1]), "k1");
        sp_srv_set_admin(be->srv[1]->h, SP_SRV_FDRAIN, 0);
        CU_ASSERT_STRING_EQUAL(uri_pick(be, lw, "/x"), "k2");
        sp_srv_set_admin(be->srv[2]->h, SP_SRV_FMAINT, 0);
        CU_ASSERT_PTR_NULL(sp_backend_pick(be, lw, NULL, &LOAD, NULL));
        sp_lb_worker_free(lw);
        sp_routing_discard(r);
    }

    /* option allbackups: the backups share the load */
    struct sp_routing *r = build_be(" server a 127.0.0.1:1\n server k1 127.0.0.1:2 backup\n"
                                    " server k2 127.0.0.1:3 backup\n",
                                    " balance static-rr\n option allbackups\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const struct sp_backend *be = r->be[0];
    struct sp_lb_worker *lw = sp_lb_worker_new(r, 1);
    char seq[64];
    sp_srv_set_op(be->srv[0]->h, SP_SRV_STOPPED, 0);
    sequence(be, lw, 4, seq, sizeof(seq));
    CU_ASSERT_STRING_EQUAL(seq, "k1 k2 k1 k2");
    sp_lb_worker_free(lw);
    sp_routing_discard(r);
}

/* roundrobin stays the smooth weighted round-robin, through sp_backend_pick() too */
static void test_roundrobin(void)
{
    struct sp_routing *r = build_be(" server a 127.0.0.1:1 weight 3\n server b 127.0.0.1:2\n", "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const struct sp_backend *be = r->be[0];
    struct sp_lb_worker *lw = sp_lb_worker_new(r, 1);
    int hits[2] = {0};
    for (int i = 0; i < 400; i++)
        hits[sp_backend_pick(be, lw, NULL, &LOAD, NULL)->id - 1]++;
    CU_ASSERT_EQUAL(hits[0], 300);
    CU_ASSERT_EQUAL(hits[1], 100);
    CU_ASSERT_STRING_EQUAL(pick_name(be, lw, NULL, be->srv[0]), "b");
    sp_lb_worker_free(lw);
    sp_routing_discard(r);
}

/* ---- configuration ----------------------------------------------------------------------------
 */

/* `text` must fail to load with one error whose line contains `msg` */
static void expect_error(const char *text, const char *msg)
{
    struct sp_config *cfg = NULL;
    char *buf = NULL;
    size_t len = 0;
    FILE *diag = open_memstream(&buf, &len);
    int rc = sp_config_parse_string(text, "t.cfg", diag, &cfg);
    fclose(diag);
    CU_ASSERT_NOT_EQUAL(rc, 0);
    CU_ASSERT_PTR_NULL(cfg);
    if (!buf || !strstr(buf, msg)) {
        printf("\n    expected: %s\n    got: %s\n", msg, buf ? buf : "");
        CU_FAIL("expected message missing");
    }
    sp_config_free(cfg);
    free(buf);
}

static void test_config(void)
{
    /* TMO is 5 lines: the backend is line 6, its first keyword line 7 */
    expect_error(TMO "backend b\n balance uri len abc\n",
                 "t.cfg:7: 'balance': uri : 'len' expects a positive integer (got 'abc')");
    expect_error(TMO "backend b\n balance uri depth 0\n",
                 "t.cfg:7: 'balance': uri : 'depth' expects a positive integer (got '0')");
    expect_error(TMO "backend b\n balance uri len\n", "'len' expects a positive integer (got '')");
    expect_error(TMO "backend b\n balance uri deep 1\n",
                 "t.cfg:7: 'balance': uri only accepts parameters 'len', 'depth', 'path-only', "
                 "and 'whole' (got 'deep')");
    expect_error(TMO "backend b\n balance random(0)\n",
                 "t.cfg:7: 'balance': random : number of draws must be at least 1");
    expect_error(TMO "backend b\n balance random(x)\n", "random : unexpected character 'x'");
    expect_error(TMO "backend b\n balance random(3\n", "random : missing closing parenthesis");
    expect_error(TMO "backend b\n balance hdr\n",
                 "t.cfg:7: 'balance': hdr requires an http header field name");
    expect_error(TMO "backend b\n balance hdr()\n", "hdr requires an http header field name");
    expect_error(TMO "backend b\n balance hdr(host) use_domain\n",
                 "hdr(host) only accepts 'use_domain_only' modifier (got 'use_domain')");
    expect_error(TMO "backend b\n balance url_param\n",
                 "t.cfg:7: 'balance': url_param requires an URL parameter name");
    expect_error(TMO "backend b\n balance url_param u check_post\n",
                 "'check_post' (a parameter in a POST body) not supported by spillway");
    expect_error(TMO "backend b\n balance url_param u other\n",
                 "url_param only accepts 'check_post' modifier (got 'other')");
    expect_error(TMO "backend b\n balance leastconn x\n", "t.cfg:7: 'balance': too many arguments");
    expect_error(TMO "backend b\n balance rdp-cookie\n",
                 "t.cfg:7: 'balance': algorithm 'rdp-cookie' not supported by spillway");
    expect_error(TMO "backend b\n balance hash req.cook(x)\n",
                 "algorithm 'hash' not supported by spillway");
    expect_error(TMO "backend b\n balance nosuch\n",
                 "t.cfg:7: 'balance': unknown algorithm 'nosuch'");
    expect_error(TMO "backend b\n hash-type ring\n",
                 "t.cfg:7: 'hash-type': only supports 'consistent' and 'map-based' (got 'ring')");
    expect_error(TMO "backend b\n hash-type\n", "t.cfg:7: 'hash-type': missing argument");
    expect_error(TMO "backend b\n hash-type avalanche\n",
                 "please use 'hash-type map-based sdbm avalanche' instead");
    expect_error(TMO "backend b\n hash-type consistent md5\n",
                 "t.cfg:7: 'hash-type': only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash "
                 "functions (got 'md5')");
    expect_error(TMO "backend b\n hash-type map-based avalanche\n",
                 "only supports 'sdbm', 'djb2', 'crc32', or 'wt6' hash functions (got "
                 "'avalanche')");
    expect_error(TMO "backend b\n hash-type consistent sdbm x\n",
                 "t.cfg:7: 'hash-type': only supports 'avalanche' as a modifier for hash "
                 "functions (got 'x')");
    expect_error(TMO "backend b\n hash-type consistent sdbm avalanche x\n",
                 "'hash-type': too many arguments");
    expect_error(TMO "backend b\n hash-balance-factor 150\n",
                 "t.cfg:7: 'hash-balance-factor': keyword not supported by spillway");

    /* what loads: the arguments, hash-type in either order, inheritance from defaults */
    struct sp_config *cfg = NULL;
    int rc = sp_config_parse_string(TMO " balance hdr(X-Id) use_domain_only\n"
                                        " hash-type consistent wt6\n"
                                        "backend b\n server a 127.0.0.1:1\n"
                                        "backend u\n hash-type map-based crc32 avalanche\n"
                                        " balance uri len 10 depth 3 whole path-only\n"
                                        "backend r\n balance random(7)\n balance static-rr\n"
                                        "backend s\n balance url_param sid\n",
                                    "t.cfg", stderr, &cfg);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    const struct sp_cfg_proxy *b = cfg->proxies, *u = b->next, *rr = u->next, *s = rr->next;
    CU_ASSERT_EQUAL(b->balance, SP_BALANCE_HDR);
    CU_ASSERT_STRING_EQUAL(b->lb.name, "X-Id");
    CU_ASSERT_TRUE(b->lb.domain_only);
    CU_ASSERT_EQUAL(b->lb.hash_type, SP_HASH_CONSISTENT);
    CU_ASSERT_EQUAL(b->lb.hash_fn, SP_HASH_WT6);
    CU_ASSERT_FALSE(b->lb.avalanche); /* a function given: avalanche only when asked */
    CU_ASSERT_EQUAL(u->balance, SP_BALANCE_URI);
    CU_ASSERT_PTR_NULL(u->lb.name);
    CU_ASSERT_EQUAL(u->lb.uri_len, 10);
    CU_ASSERT_EQUAL(u->lb.uri_depth, 3);
    CU_ASSERT_TRUE(u->lb.uri_whole && u->lb.uri_path_only);
    CU_ASSERT_EQUAL(u->lb.hash_type, SP_HASH_MAP_BASED);
    CU_ASSERT_EQUAL(u->lb.hash_fn, SP_HASH_CRC32);
    CU_ASSERT_TRUE(u->lb.avalanche);
    CU_ASSERT_EQUAL(rr->balance, SP_BALANCE_STATIC_RR); /* the last line wins */
    CU_ASSERT_EQUAL(rr->lb.draws, 2);
    CU_ASSERT_EQUAL(s->balance, SP_BALANCE_URL_PARAM);
    CU_ASSERT_STRING_EQUAL(s->lb.name, "sid");
    CU_ASSERT_EQUAL(s->lb.hash_type, SP_HASH_CONSISTENT); /* from the defaults */
    sp_config_free(cfg);

    /* an L7 hash in a tcp backend falls back to roundrobin, with HAProxy's warning */
    cfg = NULL;
    CU_ASSERT_EQUAL(sp_config_parse_string("defaults\n mode tcp\n timeout client 1s\n"
                                           " timeout server 1s\n timeout connect 1s\n"
                                           "backend t\n balance uri\n server a 127.0.0.1:1\n",
                                           "t.cfg", stderr, &cfg),
                    0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    char *buf = NULL;
    size_t len = 0;
    FILE *diag = open_memstream(&buf, &len);
    int nerr = -1;
    struct sp_routing *r = sp_routing_build(cfg, diag, &nerr);
    fclose(diag);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->be[0]->lb.algo, SP_BALANCE_ROUNDROBIN);
    CU_ASSERT_PTR_NOT_NULL(buf && strstr(buf, "Layer 7 hash not possible for backend 't'"));
    free(buf);
    sp_routing_discard(r);
    sp_config_free(cfg);

    /* the map's GCD comes from the configured weights */
    r = build_be(" server a 127.0.0.1:1 weight 4\n server b 127.0.0.1:2 weight 6\n"
                 " server c 127.0.0.1:3 weight 0\n",
                 " balance static-rr\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    CU_ASSERT_EQUAL(r->be[0]->lb.wgcd, 2);
    struct sp_lb_worker *lw = sp_lb_worker_new(r, 1);
    char seq[64];
    sequence(r->be[0], lw, 5, seq, sizeof(seq));
    CU_ASSERT_STRING_EQUAL(seq, "a b a b b"); /* 2,3 */
    sp_lb_worker_free(lw);
    sp_routing_discard(r);
}

void test_lb_register(void)
{
    CU_pSuite s = sp_unit_suite("balance/lb");
    sp_unit_test(s, "hash functions and avalanche", test_hash_functions);
    sp_unit_test(s, "round-robin kinds", test_rr_kind);
    sp_unit_test(s, "roundrobin through sp_backend_pick", test_roundrobin);
    sp_unit_test(s, "static-rr map 3,2,1 and live changes", test_static_rr);
    sp_unit_test(s, "leastconn: rotation, load, weights", test_leastconn);
    sp_unit_test(s, "first: lowest id up to maxconn", test_first);
    sp_unit_test(s, "random: the less loaded of N draws", test_random);
    sp_unit_test(s, "source: IPv4, IPv6, map and ring", test_source);
    sp_unit_test(s, "uri: query, whole, depth, len, path-only", test_uri_map);
    sp_unit_test(s, "uri consistent: HAProxy's choices, only a down server's keys move",
                 test_uri_consistent);
    sp_unit_test(s, "map-based: live set, exclude, function", test_map_state);
    sp_unit_test(s, "url_param", test_url_param);
    sp_unit_test(s, "hdr() and use_domain_only", test_hdr);
    sp_unit_test(s, "backups under every algorithm", test_backups);
    sp_unit_test(s, "balance and hash-type configuration", test_config);
}
