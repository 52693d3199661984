/* balance/resolver.c - see resolver.h. owner: main, all of it. */
#include "balance/resolver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "balance/dns.h"
#include "balance/dnstcp.h"

struct ns {
    int fd; /* a connected UDP socket: the kernel drops datagrams from anyone else; -1: TCP */
    struct sp_dnstcp *tcp; /* `tcp@`: its sessions (balance/dnstcp.h), NULL for UDP */
};

struct section {
    const struct sp_cfg_resolvers *cfg;
    struct ns ns[SP_CFG_MAX_NAMESERVERS];
    int nns;
    uint64_t bad_log_ms; /* the last "malformed answer" line (one per second at most) */
    unsigned bad_suppressed;
};

/* an address of the last answers, and when an answer last had it */
struct entry {
    int family;
    uint8_t addr[16];
    uint64_t seen_ms;
    int nown; /* the slots holding it during an assignment */
};

/* a server of a resolution, and the address it holds (its live one) */
struct slot {
    const struct sp_server *s;
    bool has;
    bool kept; /* during an assignment: its address is still in the answer */
    int family;
    uint8_t addr[16];
    int rec; /* SRV: the record it holds, -1 none */
};

/* a question in flight: its type, id and tries */
struct query {
    bool waiting;
    int qtype;
    bool fallback; /* the preferred type answered nothing: the other one was asked */
    uint16_t id;
    int tries;
    uint64_t sent_ms;
};

/* SRV: a record of the last answers (target and port are its identity), its address (from
 * the Additional section, or from the target's own A/AAAA question), and the slot holding it */
struct srvrec {
    bool used;
    char target[256];
    uint16_t port, weight;
    uint64_t seen_ms;
    bool ar;  /* the last answer's Additional section had its address */
    bool has; /* an address is known */
    int family;
    uint8_t addr[16];
    uint64_t addr_ms; /* when the address was last confirmed */
    int owner;        /* slot, -1 none */
    struct query q;   /* the target's own question (no Additional address) */
};

struct resolution {
    struct section *sec;
    const char *fqdn;
    const struct sp_backend *be;
    bool srv;   /* an SRV record (the name starts with '_') */
    int prefer; /* AF_INET or AF_INET6 */
    struct slot *slots;
    int nslots;
    struct entry e[SP_DNS_MAX_ADDRS];
    int ne;
    struct srvrec *recs; /* SRV: SP_DNS_MAX_SRV of them */
    struct query q;
    uint64_t next_ms, last_valid_ms;
};

struct sp_resolvers {
    struct section *secs;
    int nsecs;
    struct resolution *res;
    int nres;
    sp_resolv_event_fn fn;
    void *arg;
    uint32_t rnd;
    struct sp_dns_answer ans; /* the answer being read (kept off the stack: about 12 KiB) */
};

static uint16_t next_id(struct sp_resolvers *rs)
{
    /* xorshift32: unpredictable enough to not collide with our own queries; spoofing is
     * answered by the connected sockets and the question check */
    rs->rnd ^= rs->rnd << 13;
    rs->rnd ^= rs->rnd >> 17;
    rs->rnd ^= rs->rnd << 5;
    return (uint16_t)rs->rnd;
}

static void addr_text(int family, const uint8_t *a, char *buf, size_t size)
{
    if (!inet_ntop(family, a, buf, (socklen_t)size))
        snprintf(buf, size, "?");
}

static void slot_from_sockaddr(struct slot *sl, const struct sockaddr_storage *ss)
{
    sl->has = false;
    if (ss->ss_family == AF_INET) {
        sl->family = AF_INET;
        memcpy(sl->addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
        sl->has = true;
    } else if (ss->ss_family == AF_INET6) {
        sl->family = AF_INET6;
        memcpy(sl->addr, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
        sl->has = true;
    }
}

static bool same_addr(int fa, const uint8_t *a, int fb, const uint8_t *b)
{
    return fa == fb && memcmp(a, b, fa == AF_INET ? 4 : 16) == 0;
}

static void send_query(struct sp_resolvers *rs, struct section *sec, const char *name,
                       struct query *q, uint64_t now_ms)
{
    uint8_t pkt[512];
    int len;

    q->id = next_id(rs);
    q->waiting = true;
    q->sent_ms = now_ms;
    len = sp_dns_query_build(q->id, name, q->qtype, sec->cfg->accepted_payload_size, pkt,
                             sizeof(pkt));
    if (len < 0) {
        q->waiting = false; /* an SRV target too long for a question: it stays unresolved */
        return;
    }
    /* to every nameserver: the first valid answer wins (HAProxy does the same) */
    for (int i = 0; i < sec->nns; i++) {
        if (sec->ns[i].tcp)
            (void)sp_dnstcp_send(sec->ns[i].tcp, pkt, (size_t)len, q->id, now_ms);
        else
            (void)send(sec->ns[i].fd, pkt, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
    }
}

static void start_query(struct sp_resolvers *rs, struct resolution *r, uint64_t now_ms)
{
    r->q.qtype = r->srv ? SP_DNS_T_SRV : r->prefer == AF_INET ? SP_DNS_T_A : SP_DNS_T_AAAA;
    r->q.fallback = false;
    r->q.tries = r->sec->cfg->resolve_retries;
    send_query(rs, r->sec, r->fqdn, &r->q, now_ms);
}

/* the live address of a server (what it connects to now: the resolver's, or an operator's
 * `set server addr`) */
static bool live_addr(const struct sp_server *s, int *family, uint8_t *addr, int *port)
{
    struct sp_srv_hstate st;

    sp_srv_health_read(s->h, &st);
    *port = 0;
    if (st.addr.ss_family == AF_INET) {
        *family = AF_INET;
        memcpy(addr, &((const struct sockaddr_in *)&st.addr)->sin_addr, 4);
        *port = ntohs(((const struct sockaddr_in *)&st.addr)->sin_port);
        return true;
    }
    if (st.addr.ss_family == AF_INET6) {
        *family = AF_INET6;
        memcpy(addr, &((const struct sockaddr_in6 *)&st.addr)->sin6_addr, 16);
        *port = ntohs(((const struct sockaddr_in6 *)&st.addr)->sin6_port);
        return true;
    }
    return false;
}

static bool in_net(const struct sp_cfg_resolv_opts *o, int family, const uint8_t *a)
{
    for (int j = 0; j < o->nnet; j++) {
        if (o->net[j].family != family)
            continue;
        bool in = true;
        for (int b = 0; b < (family == AF_INET ? 4 : 16) && in; b++)
            in = (a[b] & o->net[j].mask[b]) == o->net[j].addr[b];
        if (in)
            return true;
    }
    return false;
}

/* Publishes (family, addr):port as the server's address, with HAProxy's log line. */
static void publish_addr(struct sp_resolvers *rs, const struct sp_server *s, int family,
                         const uint8_t *addr, int port, const char *by)
{
    struct sockaddr_storage ss;
    socklen_t len;
    char from[64], to[64], msg[400];
    int ofam, oport;
    uint8_t old[16];

    memset(&ss, 0, sizeof(ss));
    if (family == AF_INET) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        memcpy(&v4->sin_addr, addr, 4);
        len = sizeof(*v4);
    } else {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        memcpy(&v6->sin6_addr, addr, 16);
        len = sizeof(*v6);
    }
    if (live_addr(s, &ofam, old, &oport)) {
        if (same_addr(ofam, old, family, addr) && oport == port)
            return;
        addr_text(ofam, old, from, sizeof(from));
    } else {
        snprintf(from, sizeof(from), "(none)");
    }
    addr_text(family, addr, to, sizeof(to));
    sp_srv_set_addr(s->h, &ss, (uint32_t)len);
    if (strcmp(from, to) != 0) {
        snprintf(msg, sizeof(msg), "%s/%s changed its IP from %s to %s by %s.", s->be->name,
                 s->name, from, to, by);
        rs->fn(rs->arg, NULL, SP_SRV_CH_NONE, msg);
    }
}

static void set_rmaint(struct sp_resolvers *rs, const struct sp_server *s, bool on, const char *why,
                       uint64_t now_ms)
{
    enum sp_srv_change ch = sp_srv_set_rmaint(s->h, on, now_ms);
    if (ch != SP_SRV_CH_NONE)
        rs->fn(rs->arg, s, ch, on ? why : NULL);
}

/* Gives the addresses of r->e to its slots, as HAProxy's resolv_get_ip_from_response(): a
 * slot whose address is still in the answer keeps it (one slot per address unless
 * allow-dup-ip); any other takes the best by score: the preferred family 8, a `resolve-net`
 * network 4, no other slot of the backend on it 2 (with prevent-dup-ip, the default, an
 * address another slot holds is not taken at all), the server's live address 1 (so that an
 * operator's `set server addr` that the answer also has is kept). A slot left without one
 * enters maintenance (resolution), `why` in its log line. The port is the live one (an
 * operator's `port` sticks, as with HAProxy), else the configured one. */
static void assign(struct sp_resolvers *rs, struct resolution *r, const char *why, uint64_t now_ms)
{
    for (int i = 0; i < r->ne; i++)
        r->e[i].nown = 0;
    for (int k = 0; k < r->nslots; k++) {
        struct slot *sl = &r->slots[k];
        sl->kept = false;
        for (int i = 0; sl->has && i < r->ne && !sl->kept; i++) {
            if ((r->e[i].nown == 0 || sl->s->ropts.allow_dup) &&
                same_addr(sl->family, sl->addr, r->e[i].family, r->e[i].addr)) {
                r->e[i].nown++;
                sl->kept = true;
            }
        }
    }
    for (int k = 0; k < r->nslots; k++) {
        struct slot *sl = &r->slots[k];
        const struct sp_server *s = sl->s;
        const struct sp_cfg_resolv_opts *o = &s->ropts;
        struct entry *pick = NULL;
        int best = -1, lfam = 0, lport = 0;
        uint8_t laddr[16];
        if (sl->kept) {
            set_rmaint(rs, s, false, NULL, now_ms);
            continue;
        }
        bool live = live_addr(s, &lfam, laddr, &lport);
        for (int i = 0; i < r->ne; i++) {
            struct entry *e = &r->e[i];
            int sc = (e->family == r->prefer ? 8 : 0) + (in_net(o, e->family, e->addr) ? 4 : 0);
            if (e->nown && !o->allow_dup)
                continue;
            sc += e->nown ? 0 : 2;
            sc += live && same_addr(lfam, laddr, e->family, e->addr);
            if (sc > best) {
                best = sc;
                pick = e;
            }
        }
        if (!pick) {
            sl->has = false;
            set_rmaint(rs, s, true, why, now_ms);
            continue;
        }
        pick->nown++;
        publish_addr(rs, s, pick->family, pick->addr, live ? lport : s->dns_port, "DNS cache");
        sl->has = true;
        sl->family = pick->family;
        memcpy(sl->addr, pick->addr, 16);
        set_rmaint(rs, s, false, NULL, now_ms);
    }
}

static void addr_clear(const struct sp_server *s)
{
    struct sockaddr_storage none = {.ss_family = AF_UNSPEC};
    sp_srv_set_addr(s->h, &none, 0);
}

/* SRV: gives the records to the slots (HAProxy's resolv_check_response()): a slot keeps the
 * record it holds while the answers have it; a free record goes to the first free slot. A
 * slot with a record takes its port, its weight scaled to 0..256 as (w + 255) / 256 (unless
 * ignore-weight), its target as srv_fqdn, and its address once known (from the Additional
 * section, else from the target's own question), in maintenance (resolution) until then; a
 * slot without one enters it, its address, name and port cleared. */
static void assign_srv(struct sp_resolvers *rs, struct resolution *r, const char *why,
                       uint64_t now_ms)
{
    for (int i = 0; i < SP_DNS_MAX_SRV; i++)
        r->recs[i].owner = -1;
    for (int k = 0; k < r->nslots; k++) {
        struct slot *sl = &r->slots[k];
        if (sl->rec >= 0 && r->recs[sl->rec].used && r->recs[sl->rec].owner < 0)
            r->recs[sl->rec].owner = k;
        else
            sl->rec = -1;
    }
    /* a slot the server state file gave a target takes that record back (its port: the live
     * one) */
    for (int k = 0; k < r->nslots; k++) {
        struct slot *sl = &r->slots[k];
        int fam, port;
        uint8_t addr[16];
        if (sl->rec >= 0 || !sl->s->srv_target[0] || !live_addr(sl->s, &fam, addr, &port))
            continue;
        for (int i = 0; i < SP_DNS_MAX_SRV && sl->rec < 0; i++) {
            struct srvrec *rec = &r->recs[i];
            if (rec->used && rec->owner < 0 && rec->port == port &&
                !strcasecmp(rec->target, sl->s->srv_target)) {
                sl->rec = i;
                rec->owner = k;
            }
        }
    }
    for (int i = 0, k = 0; i < SP_DNS_MAX_SRV; i++) {
        if (!r->recs[i].used || r->recs[i].owner >= 0)
            continue;
        while (k < r->nslots && r->slots[k].rec >= 0)
            k++;
        if (k == r->nslots)
            break;
        r->slots[k].rec = i;
        r->recs[i].owner = k;
    }
    for (int k = 0; k < r->nslots; k++) {
        struct slot *sl = &r->slots[k];
        const struct sp_server *s = sl->s;
        if (sl->rec < 0) {
            set_rmaint(rs, s, true, why, now_ms);
            if (s->srv_target[0] || sl->has)
                addr_clear(s);
            s->srv_target[0] = '\0';
            sl->has = false;
            continue;
        }
        struct srvrec *rec = &r->recs[sl->rec];
        int lfam, lport;
        uint8_t laddr[16];
        bool had = live_addr(s, &lfam, laddr, &lport);
        /* an address the slot has for another target, or another record of the same
         * target, is not this record's */
        bool live = had && !strcmp(s->srv_target, rec->target) && lport == rec->port;
        if (strcmp(s->srv_target, rec->target) != 0) {
            char msg[600];
            snprintf(msg, sizeof(msg), "%s/%s changed its FQDN from %s to %s by 'SRV record'",
                     s->be->name, s->name, s->srv_target[0] ? s->srv_target : "(null)",
                     rec->target);
            rs->fn(rs->arg, NULL, SP_SRV_CH_NONE, msg);
            snprintf(s->srv_target, 256, "%s", rec->target);
        }
        if (!s->ropts.ignore_weight) {
            struct sp_srv_hstate st;
            int w = (rec->weight + 255) / 256;
            sp_srv_health_read(s->h, &st);
            if (st.uweight != w && sp_srv_set_weight(s->h, w, now_ms) != SP_SRV_CH_NONE)
                rs->fn(rs->arg, s, SP_SRV_CH_WEIGHT, NULL);
        }
        if (!rec->has) {
            /* the target's own question has not answered yet: a slot that has an address
             * for this target (an earlier answer's, or the state file's) keeps it, as
             * HAProxy's srvrq_update_srv_status() */
            if (!live) {
                set_rmaint(rs, s, true, "(No IP for server )", now_ms);
                if (had) /* in maintenance first: no worker connects to nothing */
                    addr_clear(s);
                sl->has = false;
            }
            continue;
        }
        publish_addr(rs, s, rec->family, rec->addr, rec->port,
                     rec->ar ? "DNS additional record" : "DNS cache");
        sl->has = true;
        sl->family = rec->family;
        memcpy(sl->addr, rec->addr, 16);
        set_rmaint(rs, s, false, NULL, now_ms);
    }
}

static void reassign(struct sp_resolvers *rs, struct resolution *r, const char *why,
                     uint64_t now_ms)
{
    if (r->srv)
        assign_srv(rs, r, why, now_ms);
    else
        assign(rs, r, why, now_ms);
}

static void resolution_failed(struct sp_resolvers *rs, struct resolution *r, int64_t hold,
                              const char *status, uint64_t now_ms)
{
    char why[64];

    r->q.waiting = false;
    r->next_ms = now_ms + (uint64_t)r->sec->cfg->timeout_resolve;
    if (now_ms - r->last_valid_ms < (uint64_t)hold)
        return; /* the last answer still holds */
    r->ne = 0;
    for (int i = 0; r->srv && i < SP_DNS_MAX_SRV; i++)
        r->recs[i].used = r->recs[i].q.waiting = false;
    snprintf(why, sizeof(why), "(DNS %s status)", status);
    reassign(rs, r, why, now_ms);
}

static int64_t hold_for(const struct sp_cfg_resolvers *c, int rcode, const char **status)
{
    *status = rcode == SP_DNS_RC_NX ? "NX" : rcode == SP_DNS_RC_REFUSED ? "refused" : "other";
    return rcode == SP_DNS_RC_NX        ? c->hold_nx
           : rcode == SP_DNS_RC_REFUSED ? c->hold_refused
                                        : c->hold_other;
}

/* SRV: the records of an answer (rcode OK) */
static void answered_srv(struct sp_resolvers *rs, struct resolution *r,
                         const struct sp_dns_answer *a, uint64_t now_ms)
{
    const struct sp_cfg_resolvers *c = r->sec->cfg;

    for (int i = 0; i < a->nsrv; i++) {
        const struct sp_dns_srv *d = &a->srv[i];
        struct srvrec *rec = NULL, *free_rec = NULL;
        for (int k = 0; k < SP_DNS_MAX_SRV && !rec; k++) {
            struct srvrec *x = &r->recs[k];
            if (x->used && x->port == d->port && !strcasecmp(x->target, d->target))
                rec = x;
            else if (!x->used && !free_rec)
                free_rec = x;
        }
        if (!rec) {
            if (!free_rec)
                continue;
            rec = free_rec;
            memset(rec, 0, sizeof(*rec));
            rec->used = true;
            snprintf(rec->target, sizeof(rec->target), "%s", d->target);
            rec->port = d->port;
        }
        rec->weight = d->weight; /* priority: read, and ignored, as by HAProxy 2.6 */
        rec->seen_ms = now_ms;
        rec->ar = d->family != 0;
        if (rec->ar) {
            rec->has = true;
            rec->family = d->family;
            memcpy(rec->addr, d->addr, 16);
            rec->addr_ms = now_ms;
            rec->q.waiting = false;
        } else if (!rec->q.waiting) { /* the target's own question, as often as the SRV one */
            rec->q.qtype = r->prefer == AF_INET ? SP_DNS_T_A : SP_DNS_T_AAAA;
            rec->q.fallback = false;
            rec->q.tries = c->resolve_retries;
            send_query(rs, r->sec, rec->target, &rec->q, now_ms);
        }
    }
    for (int k = 0; k < SP_DNS_MAX_SRV; k++) /* `hold obsolete`, as for addresses */
        if (r->recs[k].used && now_ms - r->recs[k].seen_ms > (uint64_t)c->hold_obsolete)
            r->recs[k].used = r->recs[k].q.waiting = false;
    r->q.waiting = false;
    r->last_valid_ms = now_ms;
    r->next_ms = now_ms + (uint64_t)c->timeout_resolve;
    assign_srv(rs, r, "(entry removed from SRV record)", now_ms);
}

/* SRV: the answer to a target's own question. The slot's live address is kept when the
 * answer has it, else the first address is taken. A failure past its `hold` forgets the
 * address (the slot enters maintenance (resolution)). */
static void answered_target(struct sp_resolvers *rs, struct resolution *r, struct srvrec *rec,
                            const struct sp_dns_answer *a, uint64_t now_ms)
{
    const struct sp_cfg_resolvers *c = r->sec->cfg;
    const char *status;

    if (a && a->rcode == SP_DNS_RC_OK && !a->naddr && !rec->q.fallback) {
        rec->q.fallback = true;
        rec->q.qtype = rec->q.qtype == SP_DNS_T_A ? SP_DNS_T_AAAA : SP_DNS_T_A;
        send_query(rs, r->sec, rec->target, &rec->q, now_ms);
        return;
    }
    rec->q.waiting = false;
    if (!a || a->rcode != SP_DNS_RC_OK || !a->naddr) {
        int64_t hold = !a                         ? c->hold_timeout
                       : a->rcode == SP_DNS_RC_OK ? c->hold_nx
                                                  : hold_for(c, a->rcode, &status);
        if (rec->has && now_ms - rec->addr_ms < (uint64_t)hold)
            return;
        rec->has = false;
    } else {
        int pick = 0;
        for (int i = 0; rec->has && i < a->naddr; i++)
            if (same_addr(rec->family, rec->addr, a->addr[i].family, a->addr[i].addr))
                pick = i;
        rec->has = true;
        rec->family = a->addr[pick].family;
        memcpy(rec->addr, a->addr[pick].addr, 16);
        rec->addr_ms = now_ms;
    }
    assign_srv(rs, r, "(No IP for server )", now_ms);
}

static void answered(struct sp_resolvers *rs, struct resolution *r, const struct sp_dns_answer *a,
                     uint64_t now_ms)
{
    const struct sp_cfg_resolvers *c = r->sec->cfg;
    const char *status;

    if (a->rcode != SP_DNS_RC_OK) {
        int64_t hold = hold_for(c, a->rcode, &status);
        resolution_failed(rs, r, hold, status, now_ms);
        return;
    }
    if (r->srv) {
        if (!a->nsrv) {
            resolution_failed(rs, r, c->hold_nx, "NX", now_ms);
            return;
        }
        answered_srv(rs, r, a, now_ms);
        return;
    }
    if (!a->naddr) {
        if (!r->q.fallback) { /* HAProxy: the other family, before giving up */
            r->q.fallback = true;
            r->q.qtype = r->q.qtype == SP_DNS_T_A ? SP_DNS_T_AAAA : SP_DNS_T_A;
            send_query(rs, r->sec, r->fqdn, &r->q, now_ms);
            return;
        }
        resolution_failed(rs, r, c->hold_nx, "NX", now_ms);
        return;
    }
    for (int i = 0; i < a->naddr; i++) {
        int k;
        for (k = 0; k < r->ne; k++)
            if (same_addr(r->e[k].family, r->e[k].addr, a->addr[i].family, a->addr[i].addr))
                break;
        if (k == r->ne) {
            if (r->ne >= SP_DNS_MAX_ADDRS)
                continue;
            r->e[r->ne].family = a->addr[i].family;
            memcpy(r->e[r->ne].addr, a->addr[i].addr, 16);
            r->ne++;
        }
        r->e[k].seen_ms = now_ms;
    }
    /* `hold obsolete`: an address the answers no longer have is kept that long */
    for (int k = 0; k < r->ne;) {
        if (now_ms - r->e[k].seen_ms > (uint64_t)c->hold_obsolete)
            r->e[k] = r->e[--r->ne];
        else
            k++;
    }
    r->q.waiting = false;
    r->last_valid_ms = now_ms;
    r->next_ms = now_ms + (uint64_t)c->timeout_resolve;
    assign(rs, r, "(No IP for server )", now_ms); /* HAProxy's words, its space included */
}

static void bad_answer(struct sp_resolvers *rs, struct section *sec, uint64_t now_ms)
{
    char msg[200];

    if (sec->bad_log_ms && now_ms - sec->bad_log_ms < 1000) {
        sec->bad_suppressed++;
        return;
    }
    snprintf(msg, sizeof(msg),
             "resolvers %s: malformed DNS answer ignored (%u more since the last "
             "line)",
             sec->cfg->name, sec->bad_suppressed);
    sec->bad_log_ms = now_ms;
    sec->bad_suppressed = 0;
    rs->fn(rs->arg, NULL, SP_SRV_CH_NONE, msg);
}

/* One message from a nameserver of `sec` (a datagram, or a TCP session's message): the
 * answer to the question in flight with its id, if any. */
static void handle_packet(struct sp_resolvers *rs, struct section *sec, const uint8_t *pkt,
                          size_t len, uint64_t now_ms)
{
    int id = sp_dns_packet_id(pkt, len);

    if (id < 0) {
        bad_answer(rs, sec, now_ms);
        return;
    }
    for (int i = 0; i < rs->nres; i++) {
        struct resolution *r = &rs->res[i];
        if (r->sec != sec)
            continue;
        struct query *q = &r->q;
        const char *name = r->fqdn;
        struct srvrec *rec = NULL;
        for (int k = 0; r->srv && !(q->waiting && q->id == id) && k < SP_DNS_MAX_SRV; k++) {
            if (r->recs[k].used && r->recs[k].q.waiting && r->recs[k].q.id == id) {
                rec = &r->recs[k];
                q = &rec->q;
                name = rec->target;
            }
        }
        if (!q->waiting || q->id != id)
            continue;
        int err = sp_dns_answer_parse(pkt, len, q->id, name, q->qtype, &rs->ans);
        if (err == -EINVAL)
            bad_answer(rs, sec, now_ms);
        else if (err == 0 && rec)
            answered_target(rs, r, rec, &rs->ans, now_ms);
        else if (err == 0)
            answered(rs, r, &rs->ans, now_ms);
        return;
    }
}

static void read_socket(struct sp_resolvers *rs, struct section *sec, int fd, uint64_t now_ms)
{
    uint8_t pkt[65536];

    for (int n = 0; n < SP_RESOLV_BURST; n++) {
        ssize_t len = recv(fd, pkt, sizeof(pkt), MSG_DONTWAIT);
        if (len < 0)
            return; /* EAGAIN, or an ICMP error (ECONNREFUSED): the retry timer handles it */
        handle_packet(rs, sec, pkt, (size_t)len, now_ms);
    }
}

/* a TCP session's message (sp_dnstcp_run()'s callback) */
struct tcp_ctx {
    struct sp_resolvers *rs;
    struct section *sec;
    uint64_t now_ms;
};

static void tcp_message(void *arg, const uint8_t *msg, size_t len)
{
    struct tcp_ctx *c = arg;

    handle_packet(c->rs, c->sec, msg, len, c->now_ms);
}

static struct section *find_section(struct sp_resolvers *rs, const char *name)
{
    for (int i = 0; i < rs->nsecs; i++)
        if (strcmp(rs->secs[i].cfg->name, name) == 0)
            return &rs->secs[i];
    return NULL;
}

struct sp_resolvers *sp_resolvers_start(const struct sp_config *cfg,
                                        const struct sp_routing *routing, sp_resolv_event_fn fn,
                                        void *arg, uint64_t now_ms, int *ret_err, char *why,
                                        size_t whysize)
{
    struct sp_resolvers *rs;
    int nsec = 0, nsrv = 0;

    *ret_err = 0;
    for (int i = 0; i < routing->nsrv; i++)
        nsrv += routing->srv[i]->fqdn != NULL;
    if (!nsrv)
        return NULL;
    for (const struct sp_cfg_resolvers *c = cfg->resolvers; c; c = c->next)
        nsec++;
    rs = calloc(1, sizeof(*rs));
    if (!rs)
        goto fail_oom;
    rs->fn = fn;
    rs->arg = arg;
    rs->rnd = (uint32_t)(now_ms ^ ((uint64_t)getpid() << 16)) | 1;
    rs->secs = calloc((size_t)nsec, sizeof(*rs->secs));
    rs->res = calloc((size_t)nsrv, sizeof(*rs->res));
    if (!rs->secs || !rs->res)
        goto fail_oom;
    for (const struct sp_cfg_resolvers *c = cfg->resolvers; c; c = c->next) {
        struct section *sec = &rs->secs[rs->nsecs++];
        sec->cfg = c;
        for (int i = 0; i < c->nns; i++) {
            if (c->ns[i].ss_family && c->ns_tcp[i]) { /* connected when a query needs it */
                sec->ns[sec->nns].fd = -1;
                sec->ns[sec->nns].tcp = sp_dnstcp_new(&c->ns[i], c->nslen[i], now_ms);
                if (!sec->ns[sec->nns].tcp)
                    goto fail_oom;
                sec->nns++;
                continue;
            }
            int fd = socket(c->ns[i].ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0 || connect(fd, (const struct sockaddr *)&c->ns[i], c->nslen[i]) < 0) {
                *ret_err = -errno;
                snprintf(why, whysize, "resolvers %s: nameserver socket: %s", c->name,
                         strerror(errno));
                if (fd >= 0)
                    close(fd);
                return sp_resolvers_free(rs);
            }
            sec->ns[sec->nns++].fd = fd;
        }
    }
    /* two passes: each server finds (or opens) its resolution, then the slots are allocated
     * to the size of each (a backend of 1,000 names costs 1,000 slots, not a million) */
    int *gid = calloc((size_t)routing->nsrv, sizeof(*gid));
    if (!gid)
        goto fail_oom;
    for (int i = 0; i < routing->nsrv; i++) {
        const struct sp_server *s = routing->srv[i];
        int k;
        gid[i] = -1;
        if (!s->fqdn)
            continue;
        for (k = 0; k < rs->nres; k++)
            if (rs->res[k].be == s->be && !strcmp(rs->res[k].fqdn, s->fqdn) &&
                !strcmp(rs->res[k].sec->cfg->name, s->resolvers))
                break;
        if (k == rs->nres) {
            struct resolution *r = &rs->res[rs->nres++];
            r->sec = find_section(rs, s->resolvers);
            if (!r->sec) { /* the loader checked it */
                *ret_err = -ENOENT;
                snprintf(why, whysize, "server %s/%s: no resolvers '%s'", s->be->name, s->name,
                         s->resolvers);
                free(gid);
                return sp_resolvers_free(rs);
            }
            r->fqdn = s->fqdn;
            r->be = s->be;
            r->srv = s->fqdn[0] == '_';
            if (r->srv && !(r->recs = calloc(SP_DNS_MAX_SRV, sizeof(*r->recs)))) {
                free(gid);
                goto fail_oom;
            }
            r->prefer = s->resolve_family;
            r->next_ms = now_ms; /* the first query goes at once */
            r->last_valid_ms = now_ms;
        }
        gid[i] = k;
        rs->res[k].nslots++; /* counted here, filled below */
    }
    for (int k = 0; k < rs->nres; k++) {
        rs->res[k].slots = calloc((size_t)rs->res[k].nslots, sizeof(struct slot));
        rs->res[k].nslots = 0;
        if (!rs->res[k].slots) {
            free(gid);
            goto fail_oom;
        }
    }
    for (int i = 0; i < routing->nsrv; i++) {
        const struct sp_server *s = routing->srv[i];
        if (gid[i] < 0)
            continue;
        struct resolution *r = &rs->res[gid[i]];
        struct slot *sl = &r->slots[r->nslots++];
        struct sp_srv_hstate st;
        sl->s = s;
        sl->rec = -1;
        sp_srv_health_read(s->h, &st);
        if (!(st.admin & SP_SRV_RMAINT))
            slot_from_sockaddr(sl, &st.addr);
    }
    free(gid);
    return rs;

fail_oom:
    *ret_err = -ENOMEM;
    snprintf(why, whysize, "out of memory");
    return sp_resolvers_free(rs);
}

int sp_resolvers_pollfds(const struct sp_resolvers *rs, struct pollfd *pfd, int max)
{
    int n = 0;

    for (int i = 0; rs && i < rs->nsecs; i++) {
        for (int k = 0; k < rs->secs[i].nns && n < max; k++) {
            const struct ns *ns = &rs->secs[i].ns[k];
            if (ns->tcp)
                n += sp_dnstcp_pollfds(ns->tcp, pfd + n, max - n);
            else
                pfd[n++] = (struct pollfd){.fd = ns->fd, .events = POLLIN};
        }
    }
    return n;
}

int sp_resolvers_timeout(const struct sp_resolvers *rs, uint64_t now_ms, int cap)
{
    int64_t t = cap;

    for (int i = 0; rs && i < rs->nsecs; i++)
        for (int k = 0; k < rs->secs[i].nns; k++)
            if (rs->secs[i].ns[k].tcp)
                t = sp_dnstcp_timeout(rs->secs[i].ns[k].tcp, now_ms, (int)t);
    for (int i = 0; rs && i < rs->nres; i++) {
        const struct resolution *r = &rs->res[i];
        uint64_t retry = (uint64_t)r->sec->cfg->timeout_retry;
        uint64_t due = r->q.waiting ? r->q.sent_ms + retry : r->next_ms;
        for (int k = 0; r->srv && k < SP_DNS_MAX_SRV; k++)
            if (r->recs[k].used && r->recs[k].q.waiting && r->recs[k].q.sent_ms + retry < due)
                due = r->recs[k].q.sent_ms + retry;
        int64_t d = due > now_ms ? (int64_t)(due - now_ms) : 0;
        if (d < t)
            t = d;
    }
    return (int)t;
}

void sp_resolvers_run(struct sp_resolvers *rs, uint64_t now_ms)
{
    if (!rs)
        return;
    for (int i = 0; i < rs->nsecs; i++) {
        for (int k = 0; k < rs->secs[i].nns; k++) {
            struct ns *ns = &rs->secs[i].ns[k];
            if (ns->tcp) {
                struct tcp_ctx c = {rs, &rs->secs[i], now_ms};
                sp_dnstcp_run(ns->tcp, now_ms, tcp_message, &c);
            } else {
                read_socket(rs, &rs->secs[i], ns->fd, now_ms);
            }
        }
    }
    for (int i = 0; i < rs->nres; i++) {
        struct resolution *r = &rs->res[i];
        uint64_t retry = (uint64_t)r->sec->cfg->timeout_retry;
        for (int k = 0; r->srv && k < SP_DNS_MAX_SRV; k++) {
            struct srvrec *rec = &r->recs[k];
            if (!rec->used || !rec->q.waiting || now_ms < rec->q.sent_ms + retry)
                continue;
            if (--rec->q.tries > 0)
                send_query(rs, r->sec, rec->target, &rec->q, now_ms);
            else
                answered_target(rs, r, rec, NULL, now_ms);
        }
        if (r->q.waiting && now_ms >= r->q.sent_ms + retry) {
            if (--r->q.tries > 0)
                send_query(rs, r->sec, r->fqdn, &r->q, now_ms);
            else
                resolution_failed(rs, r, r->sec->cfg->hold_timeout, "timeout", now_ms);
        } else if (!r->q.waiting && now_ms >= r->next_ms) {
            start_query(rs, r, now_ms);
        }
    }
}

struct sp_resolvers *sp_resolvers_free(struct sp_resolvers *rs)
{
    if (!rs)
        return NULL;
    for (int i = 0; i < rs->nsecs; i++) {
        for (int k = 0; k < rs->secs[i].nns; k++) {
            if (rs->secs[i].ns[k].tcp)
                sp_dnstcp_free(rs->secs[i].ns[k].tcp);
            else
                close(rs->secs[i].ns[k].fd);
        }
    }
    for (int i = 0; rs->res && i < rs->nres; i++) {
        free(rs->res[i].slots);
        free(rs->res[i].recs);
    }
    free(rs->secs);
    free(rs->res);
    free(rs);
    return NULL;
}
