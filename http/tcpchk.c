/* http/tcpchk.c - runs a backend's tcp-check sequence on a check connection, HAProxy 2.6's
 * tcpcheck_main() (src/tcpcheck.c): after the connect, each `send` empties the input and
 * writes its bytes; each `expect` reads what came (once after a send) and matches the
 * input gathered so far, waiting for more while a match may still come; a run of expects
 * is evaluated again from its first one when more data arrives. The statuses and messages
 * are HAProxy's (L7OK "(tcp-check)", L7RSP "TCPCHK did not match content ... at step N",
 * L7TOUT " at step N of tcp-check (expect string '...')", L6* for ssl-hello-chk, the server's
 * version or error for mysql-check).
 *
 * owner: worker (the worker that owns the server's check; see check.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http/check-int.h"

enum { EVAL_CONTINUE, EVAL_WAIT, EVAL_STOP };

static const struct sp_tcpchk_step *cur_step(const struct sp_check *c)
{
    const struct sp_be_check *k = &c->s->be->chk;

    return c->step < k->nsteps ? &k->steps[c->step] : &k->steps[k->nsteps - 1];
}

/* chk_report_conn_err()'s context: " at step N of tcp-check (expect string 'x')", for a
 * plain tcp-check only (the protocol checks say nothing more). */
static void where(const struct sp_check *c, char *buf, size_t size)
{
    const struct sp_tcpchk_step *st = cur_step(c);
    static const char *const kinds[] = {[SP_TCPM_STRING] = "string",
                                        [SP_TCPM_BINARY] = "binary",
                                        [SP_TCPM_RSTRING] = "regex",
                                        [SP_TCPM_RBINARY] = "binary regex",
                                        [SP_TCPM_MYSQL_INIT] = "custom function",
                                        [SP_TCPM_MYSQL_OK] = "custom function"};
    int n;

    buf[0] = '\0';
    if (c->s->be->chk.proto != SP_CHK_PROTO_TCP)
        return;
    if (!st->step_id) {
        snprintf(buf, size, " at initial connection step of tcp-check");
        return;
    }
    n = snprintf(buf, size, " at step %d of tcp-check", st->step_id);
    if (n < 0 || (size_t)n >= size)
        return;
    if (st->act == SP_TCPCHK_CONNECT && st->port)
        n += snprintf(buf + n, size - (size_t)n, " (connect port %d)", st->port);
    else if (st->act == SP_TCPCHK_CONNECT)
        n += snprintf(buf + n, size - (size_t)n, " (connect)");
    else if (st->act == SP_TCPCHK_SEND)
        n += snprintf(buf + n, size - (size_t)n, " (send)");
    else if (st->match == SP_TCPM_STRING || st->match == SP_TCPM_BINARY)
        n += snprintf(buf + n, size - (size_t)n, " (expect %s '%.*s')", kinds[st->match],
                      (int)st->len, st->data);
    else
        n += snprintf(buf + n, size - (size_t)n, " (expect %s)", kinds[st->match]);
    if (st->comment && n > 0 && (size_t)n < size)
        snprintf(buf + n, size - (size_t)n, " comment: '%s'", st->comment);
}

void sp__tcpchk_conn_failed(struct sp_check *c, int err)
{
    char w[160], msg[224];

    where(c, w, sizeof(w));
    snprintf(msg, sizeof(msg), "%s%s", strerror(err), w);
    sp__check_done(c, SP_CHK_L4CON, 0, msg);
}

void sp__tcpchk_timeout(struct sp_check *c)
{
    const struct sp_tcpchk_step *st = cur_step(c);
    char w[160];

    where(c, w, sizeof(w));
    if (!c->connected) {
        sp__check_done(c, SP_CHK_L4TOUT, 0, w);
        return;
    }
    int status = SP_CHK_L7TOUT;
    if (st->act == SP_TCPCHK_EXPECT && st->tout_status)
        status = st->tout_status;
    sp__check_done(c, status, 0, w);
}

/* HAProxy's tcpcheck_expect_onerror_message() without log-format: the generic message for
 * a plain tcp-check, nothing for a protocol check; then the comment. */
static void fail_expect(struct sp_check *c, const struct sp_tcpchk_step *st, bool match, int status,
                        int code, const char *desc)
{
    static const char *const kinds[] = {[SP_TCPM_STRING] = "",
                                        [SP_TCPM_BINARY] = " (binary)",
                                        [SP_TCPM_RSTRING] = " (regex)",
                                        [SP_TCPM_RBINARY] = " (binary regex)",
                                        [SP_TCPM_MYSQL_INIT] = " (custom function)",
                                        [SP_TCPM_MYSQL_OK] = " (custom function)"};
    char msg[256];
    int n = 0;

    msg[0] = '\0';
    if (desc) {
        n = snprintf(msg, sizeof(msg), "%s", desc);
    } else if (c->s->be->chk.proto == SP_CHK_PROTO_TCP) {
        n = snprintf(msg, sizeof(msg), "%s",
                     match ? "TCPCHK matched unwanted content" : "TCPCHK did not match content");
        if (st->match == SP_TCPM_STRING)
            n += snprintf(msg + n, sizeof(msg) - (size_t)n, " '%s' at step %d", st->data,
                          st->step_id);
        else
            n += snprintf(msg + n, sizeof(msg) - (size_t)n, "%s at step %d", kinds[st->match],
                          st->step_id);
    }
    if (st->comment && n >= 0 && (size_t)n < sizeof(msg))
        snprintf(msg + n, sizeof(msg) - (size_t)n, " comment: %s", st->comment);
    sp__check_done(c, status ? status : st->err_status ? st->err_status : SP_CHK_L7RSP, code, msg);
}

/* A MySQL packet at `off` of the input: HAProxy's tcpcheck_mysql_expect_packet(). */
static int mysql_packet(struct sp_check *c, const struct sp_tcpchk_step *st, size_t off, bool last)
{
    const unsigned char *b = (const unsigned char *)sp_buf_head(&c->x.rbuf);
    size_t len = sp_buf_len(&c->x.rbuf);

    if (len < off + 4 ||
        len < off + 4 + (b[off] | (size_t)b[off + 1] << 8 | (size_t)b[off + 2] << 16)) {
        if (!last)
            return EVAL_WAIT;
        fail_expect(c, st, false, SP_CHK_L7RSP, 0, ""); /* truncated */
        return EVAL_STOP;
    }
    if (b[off + 4] == 0xff) { /* an error packet: code, then the message */
        char desc[128];
        size_t dl = len > off + 7 ? len - off - 7 : 0;
        int err = len > off + 6 ? b[off + 5] | b[off + 6] << 8 : 0;
        if (dl >= sizeof(desc))
            dl = sizeof(desc) - 1;
        memcpy(desc, b + off + 7, dl);
        desc[dl] = '\0';
        fail_expect(c, st, false, SP_CHK_L7STS, err, desc);
        return EVAL_STOP;
    }
    return EVAL_CONTINUE;
}

/* HAProxy's tcpcheck_eval_expect(). */
static int eval_expect(struct sp_check *c, const struct sp_tcpchk_step *st)
{
    struct sp_buf *rb = &c->x.rbuf;
    const char *b = sp_buf_head(rb);
    size_t len = sp_buf_len(rb);
    bool last = c->last_read || !sp_buf_room(rb), match = false;

    if (st->match == SP_TCPM_MYSQL_INIT)
        return mysql_packet(c, st, 0, last);
    if (st->match == SP_TCPM_MYSQL_OK) {
        const unsigned char *u = (const unsigned char *)b;
        size_t hs = len >= 3 ? 4 + (u[0] | (size_t)u[1] << 8 | (size_t)u[2] << 16) : 4;
        return mysql_packet(c, st, hs, last);
    }
    if (!last) {
        if ((st->match == SP_TCPM_STRING || st->match == SP_TCPM_BINARY) && len < st->len)
            return EVAL_WAIT;
        if (st->min_recv > 0 && len < (size_t)st->min_recv)
            return EVAL_WAIT;
    }
    switch (st->match) {
    case SP_TCPM_STRING:
    case SP_TCPM_BINARY:
        match = len && memmem(b, len, st->data, st->len) != NULL;
        break;
    case SP_TCPM_RSTRING: {
        char *s = strndup(b, len); /* as a string: the match stops at a NUL, as HAProxy's */
        if (!s) {
            sp__check_done(c, SP_CHK_SOCKERR, 0, "out of memory");
            return EVAL_STOP;
        }
        match = regexec(&st->re, s, 0, NULL, 0) == 0;
        free(s);
        break;
    }
    default: { /* rbinary: the regex runs on the input's hex dump (upper case) */
        static const char hex[] = "0123456789ABCDEF";
        char *s = malloc(2 * len + 1);
        if (!s) {
            sp__check_done(c, SP_CHK_SOCKERR, 0, "out of memory");
            return EVAL_STOP;
        }
        for (size_t i = 0; i < len; i++) {
            s[2 * i] = hex[(unsigned char)b[i] >> 4];
            s[2 * i + 1] = hex[(unsigned char)b[i] & 15];
        }
        s[2 * len] = '\0';
        match = regexec(&st->re, s, 0, NULL, 0) == 0;
        free(s);
        break;
    }
    }
    if (!match && !last && st->min_recv == -1)
        return EVAL_WAIT;
    if (match != st->neg)
        return EVAL_CONTINUE;
    fail_expect(c, st, match, 0, 0, NULL);
    return EVAL_STOP;
}

/* HAProxy's tcpcheck_eval_recv(): reads what is there. EVAL_WAIT when nothing came yet. */
static int recv_input(struct sp_check *c, const struct sp_tcpchk_step *st)
{
    struct sp_xconn *x = &c->x;
    struct sp_buf *rb = &x->rbuf;
    bool got = false;

    if (!rb->data && sp_buf_alloc(rb, &c->hw->bufs)) {
        sp__check_done(c, SP_CHK_SOCKERR, 0, "out of memory");
        return EVAL_STOP;
    }
    int err = 0;
    for (int i = 0; i < 64 && (x->can_read || x->rdhup) && !x->rd_eof && sp_buf_room(rb); i++) {
        ssize_t n = sp_xconn_read(x);
        if (n == -EAGAIN)
            break;
        if (n < 0)
            err = (int)-n;
        if (n > 0)
            got = true;
    }
    c->last_read = x->rd_eof;
    if (err && !sp_buf_len(rb)) { /* an error with nothing read: the connection's */
        char w[160], msg[224];
        where(c, w, sizeof(w));
        snprintf(msg, sizeof(msg), "%s%s", strerror(err), w);
        sp__check_done(c, SP_CHK_SOCKERR, 0, msg);
        return EVAL_STOP;
    }
    if (!got && !x->rd_eof)
        return EVAL_WAIT;
    if (!sp_buf_len(rb)) {
        char msg[224];
        int n = snprintf(msg, sizeof(msg), "TCPCHK got an empty response at step %d", st->step_id);
        if (st->comment && n > 0 && (size_t)n < sizeof(msg))
            snprintf(msg + n, sizeof(msg) - (size_t)n, " comment: '%s'", st->comment);
        sp__check_done(c, st->err_status ? st->err_status : SP_CHK_L7RSP, 0, msg);
        return EVAL_STOP;
    }
    return EVAL_CONTINUE;
}

/* HAProxy's tcpcheck_eval_send(): empties the input, writes the step's bytes. */
static int eval_send(struct sp_check *c, const struct sp_tcpchk_step *st)
{
    struct sp_xconn *x = &c->x;

    if (!c->sending) {
        if (x->rbuf.data)
            x->rbuf.head = x->rbuf.tail = 0;
        if (sp_buf_alloc(&x->wbuf, &c->hw->bufs) || st->len >= x->wbuf.size) {
            char msg[160];
            snprintf(msg, sizeof(msg),
                     "tcp-check send : string too large (%zu) for buffer size (%u) at step %d",
                     st->len, x->wbuf.size, st->step_id);
            sp__check_done(c, SP_CHK_L7RSP, 0, msg);
            return EVAL_STOP;
        }
        if (sp_buf_append(&x->wbuf, st->data, (uint32_t)st->len) != st->len) {
            sp__check_done(c, SP_CHK_SOCKERR, 0, "out of buffer room");
            return EVAL_STOP;
        }
        if (st->ssl3_hello) { /* gmt_unix_time at offset 11, big endian */
            uint32_t now = (uint32_t)time(NULL);
            unsigned char *p = (unsigned char *)sp_buf_tail(&x->wbuf) - st->len + 11;
            p[0] = (unsigned char)(now >> 24);
            p[1] = (unsigned char)(now >> 16);
            p[2] = (unsigned char)(now >> 8);
            p[3] = (unsigned char)now;
        }
        c->sending = true;
    }
    if (sp_buf_len(&x->wbuf) && x->can_write) {
        ssize_t n = sp_xconn_flush(x);
        if (n < 0 && n != -EAGAIN) {
            char w[160], msg[224];
            where(c, w, sizeof(w));
            snprintf(msg, sizeof(msg), "%s%s", strerror((int)-n), w);
            sp__check_done(c, SP_CHK_SOCKERR, 0, msg);
            return EVAL_STOP;
        }
    }
    if (sp_buf_len(&x->wbuf))
        return EVAL_WAIT; /* the rest when the socket takes it */
    c->sending = false;
    c->must_read = true;
    return EVAL_CONTINUE;
}

/* Every step passed: the status the last one gives (HAProxy's end of tcpcheck_main()). */
static void passed(struct sp_check *c)
{
    const struct sp_be_check *k = &c->s->be->chk;
    const struct sp_tcpchk_step *st = &k->steps[k->nsteps - 1];

    if (st->act == SP_TCPCHK_CONNECT) {
        sp__check_done(c, SP_CHK_L4OK, 0, st->implicit ? NULL : "(tcp-check)");
        return;
    }
    if (st->act == SP_TCPCHK_EXPECT && k->proto != SP_CHK_PROTO_TCP) {
        /* a protocol check's own success message is empty */
        sp__check_done(c, st->ok_status ? st->ok_status : SP_CHK_L7OK, 0, NULL);
        return;
    }
    sp__check_done(c, st->act == SP_TCPCHK_EXPECT && st->ok_status ? st->ok_status : SP_CHK_L7OK, 0,
                   "(tcp-check)");
}

void sp__tcpchk_run(struct sp_check *c)
{
    const struct sp_be_check *k = &c->s->be->chk;

    while (c->step < k->nsteps) {
        const struct sp_tcpchk_step *st = &k->steps[c->step];
        int r = EVAL_CONTINUE;
        switch (st->act) {
        case SP_TCPCHK_SEND:
            r = eval_send(c, st);
            break;
        case SP_TCPCHK_EXPECT:
            if (c->must_read) {
                r = recv_input(c, st);
                if (r != EVAL_CONTINUE)
                    break;
                c->must_read = false;
            }
            r = eval_expect(c, st);
            if (r == EVAL_WAIT) {
                c->step = st->head; /* from the first expect of the run, with more input */
                c->must_read = true;
            }
            break;
        default: /* the connect: done when we get here */
            break;
        }
        if (r != EVAL_CONTINUE)
            return; /* waiting for an event, or ended (sp__check_done) */
        c->step++;
    }
    passed(c);
}
