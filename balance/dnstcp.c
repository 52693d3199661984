/* balance/dnstcp.c - see dnstcp.h. owner: main, all of it. */
#include "balance/dnstcp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"

#define QUERY_MAX 512 /* what the resolver builds (balance/resolver.c) */
#define IN_SIZE   (2 + 65535)
#define READS     4 /* recv() calls per session per run */

struct sess {
    int fd; /* -1: unused */
    bool connecting;
    uint64_t opened_ms;
    uint8_t out[SP_DNSTCP_PIPELINE * (2 + QUERY_MAX)];
    size_t outlen, outoff;
    uint8_t *in; /* IN_SIZE bytes, allocated at the first connection */
    size_t inlen;
    struct {
        bool used;
        uint16_t id;
        uint64_t sent_ms;
    } q[SP_DNSTCP_PIPELINE];
    int nq;
};

struct sp_dnstcp {
    struct sockaddr_storage ss;
    socklen_t sslen;
    struct sess s[SP_CFG_DNS_TCP_SESSIONS];
    int max_active; /* busy sessions at the peak of this idle period */
    uint64_t idle_next_ms;
};

static void sess_close(struct sess *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->connecting = false;
    s->outlen = s->outoff = s->inlen = 0;
    memset(s->q, 0, sizeof(s->q));
    s->nq = 0;
}

static int active(const struct sp_dnstcp *t)
{
    int n = 0;

    for (int i = 0; i < SP_CFG_DNS_TCP_SESSIONS; i++)
        n += t->s[i].fd >= 0 && t->s[i].nq > 0;
    return n;
}

struct sp_dnstcp *sp_dnstcp_new(const struct sockaddr_storage *ss, socklen_t len, uint64_t now_ms)
{
    struct sp_dnstcp *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL;
    t->ss = *ss;
    t->sslen = len;
    t->idle_next_ms = now_ms + SP_DNSTCP_IDLE_PERIOD_MS;
    for (int i = 0; i < SP_CFG_DNS_TCP_SESSIONS; i++)
        t->s[i].fd = -1;
    return t;
}

static int sess_open(struct sp_dnstcp *t, struct sess *s, uint64_t now_ms)
{
    if (!s->in && !(s->in = malloc(IN_SIZE)))
        return -ENOMEM;
    int fd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (const struct sockaddr *)&t->ss, t->sslen) < 0 && errno != EINPROGRESS) {
        int err = -errno;
        close(fd);
        return err;
    }
    s->fd = fd;
    s->connecting = true; /* confirmed by the first run that sees it writable */
    s->opened_ms = now_ms;
    return 0;
}

int sp_dnstcp_send(struct sp_dnstcp *t, const uint8_t *pkt, size_t len, uint16_t id,
                   uint64_t now_ms)
{
    struct sess *s = NULL, *free_slot = NULL;

    if (len > QUERY_MAX)
        return -EMSGSIZE;
    /* an open session with room first (the busiest: idle ones may then close), else a new
     * one */
    for (int i = 0; i < SP_CFG_DNS_TCP_SESSIONS; i++) {
        struct sess *x = &t->s[i];
        if (x->fd < 0) {
            if (!free_slot)
                free_slot = x;
        } else if (x->nq < SP_DNSTCP_PIPELINE && (!s || x->nq > s->nq)) {
            s = x;
        }
    }
    if (!s) {
        if (!free_slot)
            return -EAGAIN;
        int err = sess_open(t, free_slot, now_ms);
        if (err < 0)
            return err;
        s = free_slot;
    }
    if (s->outoff == s->outlen)
        s->outoff = s->outlen = 0;
    if (s->outlen + 2 + len > sizeof(s->out)) { /* unsent bytes of answered queries: compact */
        memmove(s->out, s->out + s->outoff, s->outlen - s->outoff);
        s->outlen -= s->outoff;
        s->outoff = 0;
    }
    if (s->outlen + 2 + len > sizeof(s->out))
        return -EAGAIN; /* not reached: the pipeline bounds what waits */
    s->out[s->outlen] = (uint8_t)(len >> 8);
    s->out[s->outlen + 1] = (uint8_t)len;
    memcpy(s->out + s->outlen + 2, pkt, len);
    s->outlen += 2 + len;
    for (int k = 0; k < SP_DNSTCP_PIPELINE; k++) {
        if (!s->q[k].used) {
            s->q[k].used = true;
            s->q[k].id = id;
            s->q[k].sent_ms = now_ms;
            s->nq++;
            break;
        }
    }
    int a = active(t);
    if (a > t->max_active)
        t->max_active = a;
    return 0;
}

int sp_dnstcp_pollfds(const struct sp_dnstcp *t, struct pollfd *pfd, int max)
{
    int n = 0;

    for (int i = 0; t && i < SP_CFG_DNS_TCP_SESSIONS && n < max; i++) {
        const struct sess *s = &t->s[i];
        if (s->fd < 0)
            continue;
        pfd[n++] = (struct pollfd){
            .fd = s->fd,
            .events = (short)(POLLIN | (s->connecting || s->outoff < s->outlen ? POLLOUT : 0)),
        };
    }
    return n;
}

int sp_dnstcp_timeout(const struct sp_dnstcp *t, uint64_t now_ms, int cap)
{
    uint64_t due = t->idle_next_ms;

    for (int i = 0; i < SP_CFG_DNS_TCP_SESSIONS; i++) {
        const struct sess *s = &t->s[i];
        if (s->fd < 0)
            continue;
        if (s->connecting && s->opened_ms + SP_DNSTCP_QUERY_TIMEOUT_MS < due)
            due = s->opened_ms + SP_DNSTCP_QUERY_TIMEOUT_MS;
        for (int k = 0; k < SP_DNSTCP_PIPELINE; k++)
            if (s->q[k].used && s->q[k].sent_ms + SP_DNSTCP_QUERY_TIMEOUT_MS < due)
                due = s->q[k].sent_ms + SP_DNSTCP_QUERY_TIMEOUT_MS;
    }
    if (due <= now_ms)
        return 0;
    return due - now_ms < (uint64_t)cap ? (int)(due - now_ms) : cap;
}

/* Whether a connecting session is connected now: false while in progress, -1 on failure. */
static int connected(struct sess *s)
{
    struct pollfd p = {.fd = s->fd, .events = POLLOUT};
    int err = 0;
    socklen_t len = sizeof(err);

    if (poll(&p, 1, 0) != 1)
        return 0;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err)
        return -1;
    return 1;
}

/* Writes what waits; false when the session failed. */
static bool flush(struct sess *s)
{
    while (s->outoff < s->outlen) {
        ssize_t n =
            send(s->fd, s->out + s->outoff, s->outlen - s->outoff, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        s->outoff += (size_t)n;
    }
    return true;
}

/* Reads and delivers whole messages; false when the session ended (closed by the peer,
 * failed, or sent a zero-length message). */
static bool input(struct sess *s, sp_dnstcp_msg_fn fn, void *arg)
{
    for (int r = 0; r < READS; r++) {
        ssize_t n = recv(s->fd, s->in + s->inlen, IN_SIZE - s->inlen, MSG_DONTWAIT);
        if (n == 0)
            return false;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
        s->inlen += (size_t)n;
        size_t off = 0;
        while (s->inlen - off >= 2) {
            size_t mlen = (size_t)s->in[off] << 8 | s->in[off + 1];
            if (!mlen)
                return false;
            if (s->inlen - off < 2 + mlen)
                break;
            const uint8_t *msg = s->in + off + 2;
            if (mlen >= 2) { /* the query it answers leaves the pipeline */
                uint16_t id = (uint16_t)(msg[0] << 8 | msg[1]);
                for (int k = 0; k < SP_DNSTCP_PIPELINE; k++) {
                    if (s->q[k].used && s->q[k].id == id) {
                        s->q[k].used = false;
                        s->nq--;
                        break;
                    }
                }
            }
            fn(arg, msg, mlen);
            off += 2 + mlen;
        }
        memmove(s->in, s->in + off, s->inlen - off);
        s->inlen -= off;
    }
    return true;
}

void sp_dnstcp_run(struct sp_dnstcp *t, uint64_t now_ms, sp_dnstcp_msg_fn fn, void *arg)
{
    for (int i = 0; i < SP_CFG_DNS_TCP_SESSIONS; i++) {
        struct sess *s = &t->s[i];
        if (s->fd < 0)
            continue;
        if (s->connecting) {
            int c = connected(s);
            if (c < 0 || (!c && now_ms >= s->opened_ms + SP_DNSTCP_QUERY_TIMEOUT_MS)) {
                sess_close(s);
                continue;
            }
            if (!c)
                continue;
            s->connecting = false;
        }
        if (!flush(s) || !input(s, fn, arg)) {
            sess_close(s);
            continue;
        }
        for (int k = 0; k < SP_DNSTCP_PIPELINE; k++) {
            if (s->q[k].used && now_ms >= s->q[k].sent_ms + SP_DNSTCP_QUERY_TIMEOUT_MS) {
                s->q[k].used = false;
                s->nq--;
            }
        }
    }
    if (now_ms >= t->idle_next_ms) { /* HAProxy's dns_process_idle_exp() */
        int cur = active(t), target = (t->max_active - cur) / 2;
        for (int i = 0; i < SP_CFG_DNS_TCP_SESSIONS && target > 0; i++) {
            if (t->s[i].fd >= 0 && !t->s[i].nq && !t->s[i].connecting) {
                sess_close(&t->s[i]);
                target--;
            }
        }
        t->max_active = cur;
        t->idle_next_ms = now_ms + SP_DNSTCP_IDLE_PERIOD_MS;
    }
}

int sp_dnstcp_sessions(const struct sp_dnstcp *t)
{
    int n = 0;

    for (int i = 0; i < SP_CFG_DNS_TCP_SESSIONS; i++)
        n += t->s[i].fd >= 0;
    return n;
}

struct sp_dnstcp *sp_dnstcp_free(struct sp_dnstcp *t)
{
    if (!t)
        return NULL;
    for (int i = 0; i < SP_CFG_DNS_TCP_SESSIONS; i++) {
        sess_close(&t->s[i]);
        free(t->s[i].in);
    }
    free(t);
    return NULL;
}
