/* http/tlsconn.c - the first protocol of a connection accepted on a `bind ... ssl` (after the
 * PROXY header on an `accept-proxy` bind): the TLS handshake (net/tls.h), then HTTP/2 when
 * ALPN chose "h2" (or on a `proto h2` bind), HTTP/1.1 otherwise (HAProxy 2.6's default
 * without ALPN), or the tcp relay in a tcp frontend. The protocols that follow run unchanged:
 * the transport table (sp_xprt_tls) hides the encryption from them.
 *
 * owner: worker.
 *
 * The handshake is driven by the connection's readiness (edge-triggered: each edge moves it
 * on once, no loop) and bounded like a request's first bytes: by the smaller of `timeout
 * http-request` and `timeout client` (SP_TLS_WAIT_MS when neither is set), so that a client
 * that stops in the middle (a TLS slowloris) is closed. A failure closes the connection
 * without an answer; the frontend's log gets HAProxy's line ("ip:port [date] fe/bind: SSL
 * handshake failure"), dropped by `option dontlognull` for a connection closed or timed out
 * during the handshake.
 */
#include <string.h>

#include "core/log.h"
#include "http/http-int.h"
#include "net/tls.h"

#define SP_TLS_WAIT_MS 10000

static int64_t wait_ms(const struct sp_frontend *fe)
{
    int64_t c = fe->t_client, h = fe->t_http_request;

    if (c != SP_TIME_UNSET && h != SP_TIME_UNSET)
        return c < h ? c : h;
    if (c != SP_TIME_UNSET)
        return c;
    if (h != SP_TIME_UNSET)
        return h;
    return SP_TLS_WAIT_MS;
}

static void tls_update_timer(struct sp_conn *c)
{
    struct sp_worker *w = c->hw->w;

    sp_timer_arm(&w->tw, &c->x.timer, c->t_req_start + (uint64_t)wait_ms(c->fe));
}

static void fail(struct sp_conn *c, const char *msg, bool null)
{
    sp_debug("worker %d: frontend %s: %s", c->hw->w->id, c->fe->name, msg);
    sp__accesslog_conn_error(c, msg, null);
    sp_tls_discard(&c->x); /* a FIN, not a reset over the bytes OpenSSL did not read */
    sp__conn_close(c);
}

static void tls_start(struct sp_conn *c)
{
    c->t_req_start = c->hw->w->now;
    if (sp_tls_conn_new(&c->x, c->bind->tls) < 0)
        fail(c, "Out of memory during SSL handshake", false);
}

/* The handshake is done: the protocol the connection speaks from now on. */
static void established(struct sp_conn *c)
{
    size_t alen;
    const char *alpn = sp_tls_alpn(&c->x, &alen);

    c->t_req_start = c->hw->w->now;
    sp__conn_start_proto(c, c->bind->h2_only || (alpn && alen == 2 && memcmp(alpn, "h2", 2) == 0));
}

static void tls_io(struct sp_conn *c, uint32_t events)
{
    const char *why = NULL;

    (void)events;
    int r = sp_tls_handshake(&c->x, &why);
    if (r < 0)
        fail(c, why, why[0] == 'C');
    else if (r > 0)
        established(c);
}

static void tls_flush(struct sp_conn *c)
{
    (void)c; /* the handshake writes by itself */
}

static void tls_timeout(struct sp_conn *c)
{
    fail(c, "Timeout during SSL handshake", true);
}

static void tls_stop(struct sp_conn *c)
{
    sp__conn_close(c); /* no request yet: nothing to finish */
}

static void tls_release(struct sp_conn *c)
{
    (void)c; /* the SSL object is the transport's: sp_xconn_close() frees it */
}

const struct sp_cproto sp__tls_cproto = {
    .name = "TLS",
    .start = tls_start,
    .io = tls_io,
    .flush = tls_flush,
    .timeout = tls_timeout,
    .update_timer = tls_update_timer,
    .stop = tls_stop,
    .release = tls_release,
};
