/* balance/fetch-raw.c - the extractors of balance/acl-fetch.c that read raw bytes or build
 * a value (TLS hello fields, the address of an absolute URL, header names): shared by ACL
 * criteria and samples. shared: any thread; allocates nothing. */
#include "balance/acl-int.h"
#include "balance/sample-int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

/* HAProxy's smp_fetch_ssl_hello_type(): the handshake type of an SSLv3/TLS record holding a
 * whole handshake message. 1: found; 0: not an SSL hello; -1: too short for now. */
int sp__ssl_hello_type(const struct sp_acl_env *env, int64_t *ret)
{
    const unsigned char *d = (const unsigned char *)env->payload;
    size_t left = env->payload_len;

    if (!d || !left)
        return -1;
    if (!((d[0] >= 0x14 && d[0] <= 0x17) || d[0] == 0xff))
        return 0;
    if (left < 9)
        return -1;
    if ((d[1] << 16) + d[2] < 0x00030000)
        return 0;
    if ((d[3] << 8) + d[4] < 4)
        return 0;
    size_t hs_len = ((size_t)d[6] << 16) + ((size_t)d[7] << 8) + d[8];
    if (left < 9 + hs_len)
        return -1;
    *ret = d[5];
    return 1;
}

/* HAProxy's smp_fetch_ssl_hello_sni(): the host_name of the server_name extension of a
 * complete TLS ClientHello at the start of the request. 1: found (*ret, *ret_len); 0: not
 * a hello or no name; -1: too short for now. */
int sp__ssl_sni(const struct sp_acl_env *env, const char **ret, size_t *ret_len)
{
    const unsigned char *d = (const unsigned char *)env->payload;
    long left = (long)env->payload_len;
    long hs_len, ext_len;

    if (!d || !left)
        return -1;
    if (d[0] != 0x16)
        return 0;
    if (left < 3)
        return -1;
    if (d[1] < 0x03)
        return 0;
    if (left < 5)
        return -1;
    hs_len = (d[3] << 8) + d[4];
    if (hs_len < 1 + 3 + 2 + 32 + 1 + 2 + 2 + 1 + 1 + 2 + 2)
        return 0;
    d += 5;
    left -= 5;
    if (left < 1)
        return -1;
    if (d[0] != 0x01)
        return 0;
    if (left < 4)
        return -1;
    hs_len = ((long)d[1] << 16) + (d[2] << 8) + d[3];
    if (hs_len < 2 + 32 + 1 + 2 + 2 + 1 + 1 + 2 + 2)
        return 0;
    /* HAProxy compares with hs_len alone and may parse up to 4 bytes past what arrived;
     * spillway waits for the whole message, its 4-byte header included */
    if (left < hs_len + 4)
        return -1;
    d += 4;
    if (d[0] < 0x03 || d[1] < 0x01)
        return 0;
    ext_len = d[34];
    if (ext_len > 32 || ext_len > hs_len - 35)
        return 0;
    hs_len -= 35 + ext_len;
    d += 35 + ext_len;
    if (hs_len < 4 || (ext_len = (d[0] << 8) + d[1]) < 2 || ext_len > hs_len)
        return 0;
    hs_len -= 2 + ext_len;
    d += 2 + ext_len;
    if (hs_len < 2 || d[0] < 1 || d[0] > hs_len)
        return 0;
    hs_len -= 1 + d[0];
    d += 1 + d[0];
    if (hs_len < 2 || (ext_len = (d[0] << 8) + d[1]) > hs_len - 2)
        return 0;
    hs_len = ext_len;
    d += 2;
    while (hs_len >= 4) {
        long type = (d[0] << 8) + d[1];
        ext_len = (d[2] << 8) + d[3];
        if (ext_len > hs_len - 4)
            return 0;
        if (type == 0) {
            if (ext_len < 2)
                return 0;
            long srv_len = (d[4] << 8) + d[5];
            if (srv_len < 4 || srv_len > hs_len - 6)
                return 0;
            if (d[6] == 0) {
                /* as HAProxy: the name's length is trusted within the hello it came in */
                *ret = (const char *)d + 9;
                *ret_len = (size_t)((d[7] << 8) + d[8]);
                if ((const char *)d + 9 + *ret_len > env->payload + env->payload_len)
                    return 0;
                return 1;
            }
        }
        hs_len -= 4 + ext_len;
        d += 4 + ext_len;
    }
    return 0;
}

/* The names of every header joined by the delimiter, in a scratch buffer. */
bool sp__hdr_names(const struct sp__acl_expr *e, const struct sp_acl_env *env, bool res,
                   struct sp_smp *out)
{
    char *buf = sp__smp_tmp();
    size_t len = 0, nh = res ? env->res_nhdrs : env->nhdrs;
    void (*get)(const void *, size_t, const char **, size_t *, const char **, size_t *) =
        res ? env->res_hdr : env->hdr;
    const void *obj = res ? env->res : env->req;

    for (size_t i = 0; get && i < nh; i++) {
        const char *hn, *hv;
        size_t hnl, hvl;
        get(obj, i, &hn, &hnl, &hv, &hvl);
        if (len + hnl + (i ? e->arg_len : 0) > SP__SMP_BUFSZ)
            return false;
        if (i) {
            memcpy(buf + len, e->arg, e->arg_len);
            len += e->arg_len;
        }
        memcpy(buf + len, hn, hnl);
        len += hnl;
    }
    out->type = SP_SMP_STR;
    out->u.str.ptr = buf;
    out->u.str.len = len;
    return true;
}

/* The host and port of an absolute http:// or https:// URL, as HAProxy's url2sa() reads
 * them: an IPv4 literal only (a name is not resolved), port 80 or 443 when absent. */
bool sp__url_addr(const struct sp_acl_env *env, struct in_addr *ret_ip, int64_t *ret_port)
{
    const char *u = env->uri;
    size_t n = env->uri_len, i;
    int64_t port;
    if (!u)
        return false;
    if (n >= 7 && !strncasecmp(u, "http://", 7)) {
        i = 7;
        port = 80;
    } else if (n >= 8 && !strncasecmp(u, "https://", 8)) {
        i = 8;
        port = 443;
    } else {
        return false;
    }
    char host[INET_ADDRSTRLEN];
    size_t h = 0;
    for (; i < n && u[i] != ':' && u[i] != '/' && u[i] != '?'; i++) {
        if (h + 1 >= sizeof(host))
            return false;
        host[h++] = u[i];
    }
    host[h] = '\0';
    if (inet_pton(AF_INET, host, ret_ip) != 1)
        return false;
    if (i < n && u[i] == ':') {
        int64_t p = 0;
        size_t digits = 0;
        for (i++; i < n && u[i] >= '0' && u[i] <= '9' && digits < 6; i++, digits++)
            p = p * 10 + (u[i] - '0');
        if (!digits || p > 65535)
            return false;
        port = p;
    }
    *ret_port = port;
    return true;
}
