/* balance/userlist.c - userlists compiled for the request path and the Authorization header
 * reader (see balance/userlist.h for the contract and the cost). */
#include "balance/userlist.h"

#include <crypt.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"

/* shared: immutable after sp_userlist_build(). */
struct ul_user {
    char *name;
    char *pass;    /* hash or clear text; NULL: this user can never log in */
    bool insecure; /* pass is the clear text */
    int *groups;   /* indexes into sp_userlist.groups */
    int ngroups;
};

/* shared: immutable after sp_userlist_build(). */
struct sp_userlist {
    char *name;
    struct ul_user *users;
    int nusers;
    char **groups;
    int ngroups;
};

struct sp_userlist *sp_userlist_free(struct sp_userlist *ul)
{
    if (!ul)
        return NULL;
    for (int i = 0; i < ul->nusers; i++) {
        free(ul->users[i].name);
        free(ul->users[i].pass);
        free(ul->users[i].groups);
    }
    for (int i = 0; i < ul->ngroups; i++)
        free(ul->groups[i]);
    free(ul->users);
    free(ul->groups);
    free(ul->name);
    free(ul);
    return NULL;
}

struct sp_userlist *sp_userlist_build(const struct sp_cfg_userlist *cul)
{
    struct sp_userlist *ul = calloc(1, sizeof(*ul));
    int nu = 0, ng = 0;

    if (!ul)
        return NULL;
    for (const struct sp_cfg_ul_user *u = cul->users; u; u = u->next)
        nu++;
    for (const struct sp_cfg_ul_group *g = cul->groups; g; g = g->next)
        ng++;
    ul->name = strdup(cul->name);
    ul->users = calloc((size_t)(nu ? nu : 1), sizeof(*ul->users));
    ul->groups = calloc((size_t)(ng ? ng : 1), sizeof(*ul->groups));
    if (!ul->name || !ul->users || !ul->groups)
        return sp_userlist_free(ul);
    for (const struct sp_cfg_ul_group *g = cul->groups; g; g = g->next)
        if (!(ul->groups[ul->ngroups++] = strdup(g->name)))
            return sp_userlist_free(ul);
    for (const struct sp_cfg_ul_user *u = cul->users; u; u = u->next) {
        struct ul_user *d = &ul->users[ul->nusers++];
        d->name = strdup(u->name);
        d->pass = u->pass ? strdup(u->pass) : NULL;
        d->insecure = u->insecure;
        d->groups = calloc((size_t)(ng ? ng : 1), sizeof(*d->groups));
        if (!d->name || (u->pass && !d->pass) || !d->groups)
            return sp_userlist_free(ul);
        int gi = 0;
        for (const struct sp_cfg_ul_group *g = cul->groups; g; g = g->next, gi++)
            if (sp_cfg_ul_member(u, g))
                d->groups[d->ngroups++] = gi;
    }
    return ul;
}

const char *sp_userlist_name(const struct sp_userlist *ul)
{
    return ul->name;
}

int sp_userlist_find_mt(const struct sp_userlist *ul, const char *name, size_t len)
{
    for (int i = 0; i < ul->nusers; i++)
        if (strlen(ul->users[i].name) == len && memcmp(ul->users[i].name, name, len) == 0)
            return i;
    return -1;
}

bool sp_userlist_in_group_mt(const struct sp_userlist *ul, int uidx, const char *g, size_t len)
{
    if (uidx < 0 || uidx >= ul->nusers)
        return false;
    const struct ul_user *u = &ul->users[uidx];
    for (int i = 0; i < u->ngroups; i++) {
        const char *n = ul->groups[u->groups[i]];
        if (strlen(n) == len && memcmp(n, g, len) == 0)
            return true;
    }
    return false;
}

/* ---- crypt_r's per-thread area: allocated on a thread's first hash check, freed when the
 * thread exits (a thread that never checks a hash never pays for it) ---- */

static pthread_key_t crypt_key;
static pthread_once_t crypt_once = PTHREAD_ONCE_INIT;
static bool crypt_key_ok;

static void crypt_key_make(void)
{
    crypt_key_ok = pthread_key_create(&crypt_key, free) == 0;
}

static struct crypt_data *crypt_area(void)
{
    pthread_once(&crypt_once, crypt_key_make);
    if (!crypt_key_ok)
        return NULL;
    struct crypt_data *cd = pthread_getspecific(crypt_key);
    if (cd)
        return cd;
    /* once per thread, never per request */
    cd = calloc(1, sizeof(*cd));
    if (cd && pthread_setspecific(crypt_key, cd) != 0) {
        free(cd);
        cd = NULL;
    }
    return cd;
}

int sp_userlist_check_mt(const struct sp_userlist *ul, const char *user, const char *pass)
{
    int i = sp_userlist_find_mt(ul, user, strlen(user));

    if (i < 0 || !ul->users[i].pass)
        return -1;
    const struct ul_user *u = &ul->users[i];
    if (u->insecure)
        return strcmp(pass, u->pass) == 0 ? i : -1;
    struct crypt_data *cd = crypt_area();
    if (!cd)
        return -1; /* out of memory: this request is refused, the next one retries */
    const char *h = crypt_r(pass, u->pass, cd);
    return h && h[0] != '*' && strcmp(h, u->pass) == 0 ? i : -1;
}

/* ---- the Authorization header ---- */

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

long sp_base64_dec(const char *in, size_t len, char *out, size_t cap)
{
    size_t o = 0;

    if (len % 4)
        return -1;
    for (size_t i = 0; i < len; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char c = (unsigned char)in[i + k];
            if (c == '=' && i + 4 == len && k >= 2) {
                v[k] = 0;
                pad++;
                continue;
            }
            if (pad) /* data after padding */
                return -1;
            if ((v[k] = b64val(c)) < 0)
                return -1;
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        size_t n = 3 - (size_t)pad;
        if (o + n > cap)
            return -1;
        out[o++] = (char)(w >> 16);
        if (n > 1)
            out[o++] = (char)(w >> 8);
        if (n > 2)
            out[o++] = (char)w;
    }
    return (long)o;
}

/* The decoded "user:pass" of the last Basic header this thread read (HAProxy decodes into a
 * trash chunk of tune.bufsize). 8 KiB is more than any browser sends. */
#define CREDS_MAX 8192
static __thread char creds[CREDS_MAX];

enum sp_auth_method sp_http_auth_get(const struct sp_acl_env *env, const char *hdr, size_t hdr_len,
                                     struct sp_auth_creds *ret)
{
    const char *v = NULL;
    size_t vl = 0;

    if (!hdr) {
        hdr = "authorization";
        hdr_len = 13;
    }
    sp_acl_env_need_req(env);
    if (!env->hdr)
        return SP_AUTH_WRONG;
    for (size_t i = 0; i < env->nhdrs; i++) {
        const char *n, *val;
        size_t nl, l;
        env->hdr(env->req, i, &n, &nl, &val, &l);
        if (nl == hdr_len && strncasecmp(n, hdr, nl) == 0) {
            v = val;
            vl = l;
            break;
        }
    }
    if (!v)
        return SP_AUTH_WRONG;
    /* http_find_header() without `full`: the first comma-separated value */
    const char *comma = memchr(v, ',', vl);
    if (comma)
        vl = (size_t)(comma - v);
    const char *sp = memchr(v, ' ', vl);
    if (!sp || sp == v)
        return SP_AUTH_WRONG;
    size_t ml = (size_t)(sp - v);
    const char *end = v + vl, *d = sp;
    while (d < end && *d == ' ')
        d++;
    memset(ret, 0, sizeof(*ret));
    ret->data = d;
    ret->data_len = (size_t)(end - d);
    if (ml == 5 && strncasecmp(v, "Basic", 5) == 0) {
        long n = sp_base64_dec(d, ret->data_len, creds, CREDS_MAX - 1);
        if (n < 0)
            return SP_AUTH_WRONG;
        creds[n] = '\0';
        char *colon = strchr(creds, ':');
        if (!colon)
            return SP_AUTH_WRONG;
        *colon = '\0';
        ret->user = creds;
        ret->pass = colon + 1;
        ret->method = SP_AUTH_BASIC;
        return SP_AUTH_BASIC;
    }
    if (ml == 6 && strncasecmp(v, "Bearer", 6) == 0) {
        ret->method = SP_AUTH_BEARER;
        return SP_AUTH_BEARER;
    }
    return SP_AUTH_WRONG;
}
