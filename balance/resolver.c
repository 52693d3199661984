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
#include <sys/socket.h>
#include <unistd.h>

#include "balance/dns.h"

struct ns {
    int fd; /* a connected UDP socket: the kernel drops datagrams from anyone else */
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
    int owner; /* the slot holding it during an assignment, -1 none */
};

/* a server of a resolution, and the address it holds (its live one) */
struct slot {
    const struct sp_server *s;
    bool has;
    bool kept; /* during an assignment: its address is still in the answer */
    int family;
    uint8_t addr[16];
};

struct resolution {
    struct section *sec;
    const char *fqdn;
    const struct sp_backend *be;
    bool tmpl;  /* a server-template's slots: never two on one address */
    int prefer; /* AF_INET or AF_INET6 */
    struct slot *slots;
    int nslots;
    struct entry e[SP_DNS_MAX_ADDRS];
    int ne;
    /* the query in flight */
    bool waiting;
    int qtype;
    bool fallback; /* the preferred type answered nothing: the other one was asked */
    uint16_t id;
    int tries;
    uint64_t sent_ms, next_ms, last_valid_ms;
};

struct sp_resolvers {
    struct section *secs;
    int nsecs;
    struct resolution *res;
    int nres;
    sp_resolv_event_fn fn;
    void *arg;
    uint32_t rnd;
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

static void send_query(struct sp_resolvers *rs, struct resolution *r, uint64_t now_ms)
{
    uint8_t pkt[512];
    int len;

    r->id = next_id(rs);
    r->waiting = true;
    r->sent_ms = now_ms;
    len = sp_dns_query_build(r->id, r->fqdn, r->qtype, r->sec->cfg->accepted_payload_size, pkt,
                             sizeof(pkt));
    if (len < 0)
        return; /* the loader refuses such a name: not reached */
    /* to every nameserver: the first valid answer wins (HAProxy does the same) */
    for (int i = 0; i < r->sec->nns; i++)
        (void)send(r->sec->ns[i].fd, pkt, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL);
}

static void start_query(struct sp_resolvers *rs, struct resolution *r, uint64_t now_ms)
{
    r->qtype = r->prefer == AF_INET ? SP_DNS_T_A : SP_DNS_T_AAAA;
    r->fallback = false;
    r->tries = r->sec->cfg->resolve_retries;
    send_query(rs, r, now_ms);
}

/* Gives the addresses of r->e to its slots (see resolver.h); `why`: the reason a slot left
 * without an address gets in the log line. */
static void assign(struct sp_resolvers *rs, struct resolution *r, const char *why, uint64_t now_ms)
{
    char from[64], to[64], msg[400];

    for (int i = 0; i < r->ne; i++)
        r->e[i].owner = -1;
    for (int k = 0; k < r->nslots; k++) {
        struct slot *sl = &r->slots[k];
        sl->kept = false;
        for (int i = 0; sl->has && i < r->ne && !sl->kept; i++) {
            if (r->e[i].owner < 0 &&
                same_addr(sl->family, sl->addr, r->e[i].family, r->e[i].addr)) {
                r->e[i].owner = k;
                sl->kept = true;
            }
        }
    }
    for (int k = 0; k < r->nslots; k++) {
        struct slot *sl = &r->slots[k];
        const struct sp_server *s = sl->s;
        struct entry *pick = NULL;
        if (sl->kept) {
            enum sp_srv_change ch = sp_srv_set_rmaint(s->h, false, now_ms);
            if (ch != SP_SRV_CH_NONE)
                rs->fn(rs->arg, s, ch, NULL);
            continue;
        }
        for (int i = 0; i < r->ne && !pick; i++)
            if (r->e[i].owner < 0)
                pick = &r->e[i];
        if (!pick && !r->tmpl && r->ne)
            pick = &r->e[0]; /* plain servers of one name may share an address */
        if (!pick) {
            sl->has = false;
            enum sp_srv_change ch = sp_srv_set_rmaint(s->h, true, now_ms);
            if (ch != SP_SRV_CH_NONE)
                rs->fn(rs->arg, s, ch, why);
            continue;
        }
        if (pick->owner < 0)
            pick->owner = k;
        if (sl->has && same_addr(sl->family, sl->addr, pick->family, pick->addr)) {
            continue; /* a shared address it already has */
        }
        struct sockaddr_storage ss;
        socklen_t len;
        memset(&ss, 0, sizeof(ss));
        if (pick->family == AF_INET) {
            struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
            v4->sin_family = AF_INET;
            v4->sin_port = htons(s->dns_port);
            memcpy(&v4->sin_addr, pick->addr, 4);
            len = sizeof(*v4);
        } else {
            struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
            v6->sin6_family = AF_INET6;
            v6->sin6_port = htons(s->dns_port);
            memcpy(&v6->sin6_addr, pick->addr, 16);
            len = sizeof(*v6);
        }
        if (sl->has)
            addr_text(sl->family, sl->addr, from, sizeof(from));
        else
            snprintf(from, sizeof(from), "(none)");
        addr_text(pick->family, pick->addr, to, sizeof(to));
        sp_srv_set_addr(s->h, &ss, (uint32_t)len);
        sl->has = true;
        sl->family = pick->family;
        memcpy(sl->addr, pick->addr, 16);
        snprintf(msg, sizeof(msg), "%s/%s changed its IP from %s to %s by DNS cache.", s->be->name,
                 s->name, from, to);
        rs->fn(rs->arg, NULL, SP_SRV_CH_NONE, msg);
        enum sp_srv_change ch = sp_srv_set_rmaint(s->h, false, now_ms);
        if (ch != SP_SRV_CH_NONE)
            rs->fn(rs->arg, s, ch, NULL);
    }
}

static void resolution_failed(struct sp_resolvers *rs, struct resolution *r, int64_t hold,
                              const char *status, uint64_t now_ms)
{
    char why[64];

    r->waiting = false;
    r->next_ms = now_ms + (uint64_t)r->sec->cfg->timeout_resolve;
    if (now_ms - r->last_valid_ms < (uint64_t)hold)
        return; /* the last answer still holds */
    r->ne = 0;
    snprintf(why, sizeof(why), "(DNS %s status)", status);
    assign(rs, r, why, now_ms);
}

static void answered(struct sp_resolvers *rs, struct resolution *r, const struct sp_dns_answer *a,
                     uint64_t now_ms)
{
    const struct sp_cfg_resolvers *c = r->sec->cfg;

    if (a->rcode == SP_DNS_RC_NX) {
        resolution_failed(rs, r, c->hold_nx, "NX", now_ms);
        return;
    }
    if (a->rcode == SP_DNS_RC_REFUSED) {
        resolution_failed(rs, r, c->hold_refused, "refused", now_ms);
        return;
    }
    if (a->rcode != SP_DNS_RC_OK) {
        resolution_failed(rs, r, c->hold_other, "other", now_ms);
        return;
    }
    if (!a->naddr) {
        if (!r->fallback) { /* HAProxy: the other family, before giving up */
            r->fallback = true;
            r->qtype = r->qtype == SP_DNS_T_A ? SP_DNS_T_AAAA : SP_DNS_T_A;
            send_query(rs, r, now_ms);
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
    r->waiting = false;
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

static void read_socket(struct sp_resolvers *rs, struct section *sec, int fd, uint64_t now_ms)
{
    uint8_t pkt[65536];

    for (int n = 0; n < SP_RESOLV_BURST; n++) {
        ssize_t len = recv(fd, pkt, sizeof(pkt), MSG_DONTWAIT);
        if (len < 0)
            return; /* EAGAIN, or an ICMP error (ECONNREFUSED): the retry timer handles it */
        int id = sp_dns_packet_id(pkt, (size_t)len);
        if (id < 0) {
            bad_answer(rs, sec, now_ms);
            continue;
        }
        for (int i = 0; i < rs->nres; i++) {
            struct resolution *r = &rs->res[i];
            if (r->sec != sec || !r->waiting || r->id != id)
                continue;
            struct sp_dns_answer a;
            int err = sp_dns_answer_parse(pkt, (size_t)len, r->id, r->fqdn, r->qtype, &a);
            if (err == -EINVAL)
                bad_answer(rs, sec, now_ms);
            else if (err == 0)
                answered(rs, r, &a, now_ms);
            break;
        }
    }
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
        r->tmpl = r->tmpl || s->tmpl;
        struct slot *sl = &r->slots[r->nslots++];
        struct sp_srv_hstate st;
        sl->s = s;
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

    for (int i = 0; rs && i < rs->nsecs; i++)
        for (int k = 0; k < rs->secs[i].nns && n < max; k++)
            pfd[n++] = (struct pollfd){.fd = rs->secs[i].ns[k].fd, .events = POLLIN};
    return n;
}

int sp_resolvers_timeout(const struct sp_resolvers *rs, uint64_t now_ms, int cap)
{
    int64_t t = cap;

    for (int i = 0; rs && i < rs->nres; i++) {
        const struct resolution *r = &rs->res[i];
        uint64_t due = r->waiting ? r->sent_ms + (uint64_t)r->sec->cfg->timeout_retry : r->next_ms;
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
    for (int i = 0; i < rs->nsecs; i++)
        for (int k = 0; k < rs->secs[i].nns; k++)
            read_socket(rs, &rs->secs[i], rs->secs[i].ns[k].fd, now_ms);
    for (int i = 0; i < rs->nres; i++) {
        struct resolution *r = &rs->res[i];
        if (r->waiting && now_ms >= r->sent_ms + (uint64_t)r->sec->cfg->timeout_retry) {
            if (--r->tries > 0)
                send_query(rs, r, now_ms);
            else
                resolution_failed(rs, r, r->sec->cfg->hold_timeout, "timeout", now_ms);
        } else if (!r->waiting && now_ms >= r->next_ms) {
            start_query(rs, r, now_ms);
        }
    }
}

struct sp_resolvers *sp_resolvers_free(struct sp_resolvers *rs)
{
    if (!rs)
        return NULL;
    for (int i = 0; i < rs->nsecs; i++)
        for (int k = 0; k < rs->secs[i].nns; k++)
            close(rs->secs[i].ns[k].fd);
    for (int i = 0; rs->res && i < rs->nres; i++)
        free(rs->res[i].slots);
    free(rs->secs);
    free(rs->res);
    free(rs);
    return NULL;
}
