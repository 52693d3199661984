/* balance/userlist.h - HAProxy's userlists compiled for the request path, and the HTTP
 * Authorization header as HAProxy 2.6's get_http_auth() reads it (http_auth, http_auth_group,
 * http_auth_type, http_auth_user, http_auth_pass, http_auth_bearer).
 *
 * shared: a compiled userlist is immutable; it lives in the routing snapshot (RCU), outlives
 * every ACL and sample expression compiled against it, and any worker reads it concurrently.
 *
 * Cost: a password given with `password HASH` is checked with crypt_r(3) at every evaluation,
 * as HAProxy 2.6 does (it keeps no cache either): about 1 ms of the worker's CPU for a
 * SHA-512 `$6$` hash with the default 5000 rounds, far more for bcrypt with a high cost, and
 * every `http_auth` term of a condition pays it again. A worker is never blocked longer than
 * one crypt_r() call per term. `insecure-password` costs a string comparison. Each thread
 * that checks a hash keeps one struct crypt_data (32 KiB with libxcrypt), allocated on its
 * first check and freed when it exits; a configuration without userlists pays nothing.
 */
#ifndef SP_BALANCE_USERLIST_H
#define SP_BALANCE_USERLIST_H

#include <stdbool.h>
#include <stddef.h>

#include "balance/acl.h"

struct sp_cfg_userlist;
struct sp_userlist;

/* owner: main. Compiles one `userlist` section; NULL when out of memory. */
struct sp_userlist *sp_userlist_build(const struct sp_cfg_userlist *cul);
/* owner: main (or the snapshot's reclaimer). Accepts NULL, returns NULL. */
struct sp_userlist *sp_userlist_free(struct sp_userlist *ul);
/* shared: any thread. The section's name. */
const char *sp_userlist_name(const struct sp_userlist *ul);

/* shared: any thread, concurrently (crypt_r on a per-thread area). The index of the user
 * whose name is `user` and whose password is `pass` (HAProxy's check_user()), or -1: no such
 * user, no password configured, or a wrong one. */
int sp_userlist_check_mt(const struct sp_userlist *ul, const char *user, const char *pass);
/* shared: any thread. The index of user `name`, or -1. */
int sp_userlist_find_mt(const struct sp_userlist *ul, const char *name, size_t len);
/* shared: any thread. Whether user `uidx` belongs to the group named g[0..len). */
bool sp_userlist_in_group_mt(const struct sp_userlist *ul, int uidx, const char *g, size_t len);

/* HAProxy's HTTP_AUTH_* methods. */
enum sp_auth_method {
    SP_AUTH_WRONG = 0, /* no Authorization header, or one spillway cannot read */
    SP_AUTH_BASIC,
    SP_AUTH_BEARER,
};

/* owner: the evaluating thread. What the Authorization header holds. Basic's user and pass
 * are NUL-terminated and live in the thread's scratch area: valid until the next
 * sp_http_auth_get() on the same thread. `data` is the text after the scheme (the request's
 * own bytes). */
struct sp_auth_creds {
    enum sp_auth_method method;
    const char *user, *pass;
    const char *data;
    size_t data_len;
};

/* shared: any thread. Reads the request's first Authorization header (or the header named
 * hdr[0..hdr_len) when hdr is not NULL: http_auth_bearer(NAME)) as HAProxy's get_http_auth()
 * does: SCHEME SP+ DATA, Basic data base64("user:pass"), Bearer data as is. Returns the
 * method (SP_AUTH_WRONG when absent or malformed); fills *ret for the others. */
enum sp_auth_method sp_http_auth_get(const struct sp_acl_env *env, const char *hdr, size_t hdr_len,
                                     struct sp_auth_creds *ret);

/* pure. HAProxy's base64dec(): standard alphabet, the length a multiple of 4, '=' padding
 * only at the end. The decoded length, or -1 when malformed or longer than `cap`. */
long sp_base64_dec(const char *in, size_t len, char *out, size_t cap);

#endif
