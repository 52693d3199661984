/* balance/tcpchk.c - compiles a backend's check protocol into tcp-check steps, as HAProxy
 * 2.6's check_proxy_tcpcheck() and its option parsers do: an implicit connect first when the
 * sequence does not start with one, comments folded into the steps they precede, and the
 * fixed sequences of `option mysql-check` and `option ssl-hello-chk`.
 *
 * owner: main (the snapshot is built and freed there).
 */
#include "balance/tcpchk.h"

#include <errno.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "balance/health.h"

/* The SSLv3 CLIENT HELLO of `option ssl-hello-chk` (RFC 2246 A.3, A.4): 0x7e bytes; the
 * four bytes at offset 11 get the current time when it is sent. */
static const unsigned char ssl3_hello[] = {
    0x16, 0x03, 0x00, 0x00, 0x79,       /* handshake, SSLv3, 0x79 bytes */
    0x01, 0x00, 0x00, 0x75, 0x03, 0x00, /* client hello, 0x75 bytes, v3 */
    0,    0,    0,    0,                /* gmt_unix_time (at send) */
    'H',  'A',  'P',  'R',  'O',  'X',  'Y',  'S',  'S',  'L',  'C',  'H',  'K',  '\n', /* random:
                                                                                           28 */
    'H',  'A',  'P',  'R',  'O',  'X',  'Y',  'S',  'S',  'L',  'C',  'H',  'K',  '\n', /* bytes */
    0x00,       /* no session id */
    0x00, 0x4e, /* 39 cipher suites */
    0x00, 0x01, 0x00, 0x02, 0x00, 0x03, 0x00, 0x04, 0x00, 0x05, 0x00, 0x06, 0x00, 0x07, 0x00, 0x08,
    0x00, 0x09, 0x00, 0x0a, 0x00, 0x0b, 0x00, 0x0c, 0x00, 0x0d, 0x00, 0x0e, 0x00, 0x0f, 0x00, 0x10,
    0x00, 0x11, 0x00, 0x12, 0x00, 0x13, 0x00, 0x14, 0x00, 0x15, 0x00, 0x16, 0x00, 0x17, 0x00, 0x18,
    0x00, 0x19, 0x00, 0x1a, 0x00, 0x1b, 0x00, 0x2f, 0x00, 0x30, 0x00, 0x31, 0x00, 0x32, 0x00, 0x33,
    0x00, 0x34, 0x00, 0x35, 0x00, 0x36, 0x00, 0x37, 0x00, 0x38, 0x00, 0x39, 0x00, 0x3a, /* */
    0x01, 0x00, /* NULL compression only */
};

void sp__tcpchk_free(struct sp_be_check *c)
{
    for (int i = 0; i < c->nsteps; i++) {
        free(c->steps[i].data);
        free(c->steps[i].comment);
        if (c->steps[i].has_re)
            regfree(&c->steps[i].re);
    }
    free(c->steps);
    c->steps = NULL;
    c->nsteps = 0;
}

static struct sp_tcpchk_step *add(struct sp_be_check *c, enum sp_cfg_tcpchk_act act, int index,
                                  const void *data, size_t len)
{
    struct sp_tcpchk_step *st = &c->steps[c->nsteps++];

    memset(st, 0, sizeof(*st));
    st->act = act;
    st->step_id = index + 1;
    st->min_recv = -1;
    st->head = c->nsteps - 1;
    if (act == SP_TCPCHK_EXPECT && c->nsteps > 1 && st[-1].act == SP_TCPCHK_EXPECT)
        st->head = st[-1].head;
    if (data) {
        st->data = malloc(len + 1);
        if (!st->data)
            return NULL;
        memcpy(st->data, data, len);
        st->data[len] = '\0';
        st->len = len;
    }
    return st;
}

static int compile_re(struct sp_tcpchk_step *st)
{
    if (regcomp(&st->re, st->data, REG_EXTENDED | REG_NOSUB) != 0)
        return -EINVAL; /* checked by the parser */
    st->has_re = true;
    return 0;
}

/* `tcp-check` lines: HAProxy's implicit connect and comment folding. */
static int compile_tcp(struct sp_be_check *c, const struct sp_cfg_tcpchk *t)
{
    const struct sp_cfg_tcpchk_rule *first = t->rules;
    const char *comment = NULL;
    int prev = SP_TCPCHK_COMMENT;

    while (first && first->act == SP_TCPCHK_COMMENT)
        first = first->next;
    if (!first || first->act != SP_TCPCHK_CONNECT) {
        struct sp_tcpchk_step *st = add(c, SP_TCPCHK_CONNECT, -1, NULL, 0);
        st->implicit = st->def = true;
        st->step_id = 0; /* "at initial connection step" */
    }
    for (const struct sp_cfg_tcpchk_rule *r = t->rules; r; r = r->next) {
        if ((int)r->act != prev && prev != SP_TCPCHK_COMMENT)
            comment = NULL;
        prev = r->act;
        if (r->act == SP_TCPCHK_COMMENT) {
            comment = r->comment;
            continue;
        }
        struct sp_tcpchk_step *st = add(c, r->act, r->index, r->data, r->len);
        if (!st)
            return -ENOMEM;
        st->port = r->port;
        st->send_proxy = r->send_proxy;
        st->def = r->def;
        st->match = r->match;
        st->neg = r->neg;
        st->min_recv = r->min_recv;
        st->ok_status = r->ok_status;
        st->err_status = r->err_status;
        st->tout_status = r->tout_status;
        const char *cm = r->comment ? r->comment : comment;
        if (cm && !(st->comment = strdup(cm)))
            return -ENOMEM;
        if (r->act == SP_TCPCHK_CONNECT)
            comment = NULL;
        if (r->act == SP_TCPCHK_EXPECT &&
            (r->match == SP_TCPM_RSTRING || r->match == SP_TCPM_RBINARY) && compile_re(st) < 0)
            return -EINVAL;
    }
    return 0;
}

/* `option mysql-check [user U [post-41|pre-41]]`: connect, the auth packet and a QUIT when
 * there is a user, the server's handshake, and then (with a user) the packet after it. */
static int compile_mysql(struct sp_be_check *c, const struct sp_cfg_tcpchk *t)
{
    int idx = 0;
    struct sp_tcpchk_step *st = add(c, SP_TCPCHK_CONNECT, idx++, NULL, 0);

    st->def = true;
    if (t->mysql_user) {
        unsigned char pkt[320];
        size_t ulen = strlen(t->mysql_user), n = 0;
        size_t plen = t->mysql_pre41 ? ulen + 7 : ulen + 7 + 27;
        pkt[n++] = (unsigned char)(plen & 0xff);
        pkt[n++] = (unsigned char)((plen >> 8) & 0xff);
        pkt[n++] = (unsigned char)((plen >> 16) & 0xff);
        pkt[n++] = 1; /* sequence id */
        if (t->mysql_pre41) {
            static const unsigned char caps[] = {0x00, 0x80, 0x00, 0x00, 0x01};
            memcpy(pkt + n, caps, sizeof(caps));
            n += sizeof(caps);
        } else {
            static const unsigned char caps[] = {0x00, 0x82, 0x00, 0x00, 0x00,
                                                 0x80, 0x00, 0x01, 0x21};
            memcpy(pkt + n, caps, sizeof(caps));
            n += sizeof(caps);
            memset(pkt + n, 0, 23);
            n += 23;
        }
        memcpy(pkt + n, t->mysql_user, ulen);
        n += ulen;
        pkt[n++] = 0; /* end of the user name */
        pkt[n++] = 0; /* filler */
        static const unsigned char quit[] = {0x01, 0x00, 0x00, 0x00, 0x01};
        memcpy(pkt + n, quit, sizeof(quit));
        n += sizeof(quit);
        if (!add(c, SP_TCPCHK_SEND, idx++, pkt, n))
            return -ENOMEM;
    }
    st = add(c, SP_TCPCHK_EXPECT, idx++, NULL, 0);
    st->match = SP_TCPM_MYSQL_INIT;
    if (t->mysql_user) {
        st = add(c, SP_TCPCHK_EXPECT, idx++, NULL, 0);
        st->match = SP_TCPM_MYSQL_OK;
    }
    return 0;
}

/* `option ssl-hello-chk`: the hello, then `expect rbinary "^1[56]" min-recv 5` with L6
 * statuses (a handshake or an alert record: the server speaks SSL/TLS). */
static int compile_ssl3(struct sp_be_check *c)
{
    struct sp_tcpchk_step *st = add(c, SP_TCPCHK_CONNECT, -1, NULL, 0);

    st->implicit = st->def = true;
    st->step_id = 0;
    st = add(c, SP_TCPCHK_SEND, 0, ssl3_hello, sizeof(ssl3_hello));
    if (!st)
        return -ENOMEM;
    st->ssl3_hello = true;
    st = add(c, SP_TCPCHK_EXPECT, 1, "^1[56]", 6);
    if (!st)
        return -ENOMEM;
    st->match = SP_TCPM_RBINARY;
    st->min_recv = 5;
    st->ok_status = SP_CHK_L6OK;
    st->err_status = SP_CHK_L6RSP;
    st->tout_status = SP_CHK_L6TOUT;
    return compile_re(st);
}

int sp__tcpchk_compile(struct sp_be_check *c, const struct sp_cfg_proxy *p, FILE *diag)
{
    const struct sp_cfg_tcpchk *t = &p->tcpchk;
    int err;

    c->proto = t->proto;
    if (t->proto == SP_CHK_PROTO_NONE || (t->proto != SP_CHK_PROTO_TCP && t->rules)) {
        if (t->rules && diag)
            fprintf(diag,
                    "[WARNING] %s:%d: backend '%s' uses tcp-check rules without 'option "
                    "tcp-check', so the rules are ignored.\n",
                    p->where.file, p->where.line, p->name);
        if (t->proto == SP_CHK_PROTO_NONE)
            return 0;
    }
    c->steps = calloc((size_t)t->nrules + 4, sizeof(*c->steps));
    if (!c->steps)
        return -ENOMEM;
    switch (t->proto) {
    case SP_CHK_PROTO_MYSQL:
        err = compile_mysql(c, t);
        break;
    case SP_CHK_PROTO_SSL3:
        err = compile_ssl3(c);
        break;
    default:
        err = compile_tcp(c, t);
        break;
    }
    return err;
}
