/* balance/sample-int.h - what balance/sample.c (expressions, casts), balance/conv.c
 * (converters), balance/vars.c, balance/map.c and balance/acl-fetch.c (fetches) share. Not for
 * use outside balance/.
 *
 * shared: a compiled expression is immutable; evaluation keeps its values in the evaluating
 * thread's scratch buffers (sp__smp_tmp()) and allocates nothing. */
#ifndef SP_BALANCE_SAMPLE_INT_H
#define SP_BALANCE_SAMPLE_INT_H

#include "balance/acl-int.h"
#include "balance/sample.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* HAProxy's ADDR pseudo-type (IPv4 or IPv6, whichever comes) and "any type" (a variable's
 * value): compile-time types only, a value never carries them. */
#define SP__SMP_ADDR 6
#define SP__SMP_ANY  7

/* Size of one scratch buffer (HAProxy's trash chunk, tune.bufsize). A converter whose output
 * does not fit fails, as HAProxy's does. */
#define SP__SMP_BUFSZ 16384

/* owner: the calling thread. The next of the thread's two scratch buffers (SP__SMP_BUFSZ
 * bytes): a step writes into the one its input does not live in. */
char *sp__smp_tmp(void);

/* shared: any thread. The single value of the fetch of `e` (HAProxy's sample semantics:
 * hdr() the last occurrence...). False: the fetch failed. */
bool sp__smp_fetch(const struct sp__acl_expr *e, const struct sp_acl_env *env, struct sp_smp *out);

/* shared: any thread. Applies the expression's converters (not its fetch) to v: false when
 * one fails. */
bool sp__smp_convert(const struct sp_smp_expr *e, const struct sp_acl_env *env, struct sp_smp *v);

/* pure. The static output type of a compiled expression (as sp__smp_fetch_type()). */
int sp__smp_expr_type(const struct sp_smp_expr *e);

/* pure. The compile-time output type of the fetch of `e` (enum sp_smp_type, SP__SMP_ADDR or
 * SP__SMP_ANY). */
int sp__smp_fetch_type(const struct sp__acl_expr *e);

/* owner: main. Parses the fetch at the start of text[0..len) into e; *ret_used is the number of
 * bytes it took (converters begin there). forced: as in sp__acl_criterion_parse(). */
int sp__acl_fetch_parse(struct sp__acl_expr *e, const struct sp_acl_resolver *res, const char *text,
                        size_t len, int *ret_forced, size_t *ret_used, char *err, size_t errlen);

/* owner: the calling thread (scratch). Casts v in place to `to` (a type of enum sp_smp_type, or
 * SP__SMP_ADDR / SP__SMP_ANY) with HAProxy's rules (sample.c sample_casts[]). False when that cast
 * does not exist or fails. */
bool sp__smp_cast(struct sp_smp *v, int to);
/* pure. Whether a value of static type `from` may be cast to `to` (the compile-time check). */
bool sp__smp_castable(int from, int to);
/* pure. A string as HAProxy casts it to an integer (c_str2int). False when empty. */
bool sp__smp_str2int(const char *s, size_t n, int64_t *ret);

/* ---- arguments ---- */

/* pure. Splits the argument list that opens at text[0] == '(' into at most `max` arguments written,
 * NUL-terminated, into buf[0..bufsz): quotes ("..." and '...') and backslash escapes are
 * honoured, commas outside quotes separate. Returns the number of arguments, with *ret_used
 * the bytes consumed including ')', or -1 with a message. "()" gives 0 arguments. */
int sp__smp_args(const char *text, size_t len, char *buf, size_t bufsz, char **argv, int max,
                 size_t *ret_used, char *err, size_t errlen);

/* ---- converters (conv.c) ---- */

/* shared: immutable after compilation. One converter and its arguments. */
struct sp__conv;

/* owner: main. Compiles the converter `name` with its arguments; in_type is the type it receives.
 * Returns NULL with a message. */
struct sp__conv *sp__conv_compile(const char *name, size_t nlen, char **argv, int argc, int in_type,
                                  char *err, size_t errlen);
/* table_*(T) and in_table(T) (stick tables), resolving T through res. */
struct sp__conv *sp__conv_compile_table(const char *name, size_t nlen, char **argv, int argc,
                                        int in_type, const struct sp_acl_resolver *res, char *err,
                                        size_t errlen);
/* stkfetch.c: a table converter's table, operation and data type; its application to v (the
 * key) */
int sp__stk_conv_parse(const char *name, size_t nlen, const char *arg, int argc,
                       const struct sp_acl_resolver *res, struct sp_stktable **ret_t, int *ret_op,
                       int *ret_dt, char *err, size_t errlen);
bool sp__stk_conv(struct sp_stktable *t, int op, int dt, struct sp_smp *v);
void sp__conv_free(struct sp__conv *c);
/* The type a converter produces (may be SP__SMP_ANY for set-var's pass-through: its input). */
int sp__conv_out_type(const struct sp__conv *c, int in_type);
/* shared: any thread (variables: the env's owner). Applies it: false when it fails. */
bool sp__conv_apply(const struct sp__conv *c, const struct sp_acl_env *env, struct sp_smp *v);

/* ---- maps (map.c) ---- */

/* shared: immutable after load. A map file's entries. */
struct sp__map;

/* owner: main. Loads a map file for a match kind (map, map_str, map_beg...) and output type
 * (SP_SMP_STR, SP_SMP_SINT, SP_SMP_IPV4 standing for "ip"). NULL with a message naming the file and
 * line. */
struct sp__map *sp__map_load(const char *path, int match, int out, char *err, size_t errlen);
void sp__map_free(struct sp__map *m); /* owner: main; accepts NULL */
/* shared: any thread. Looks the key up; true with the value (a borrowed string, or an integer /
 * address). */
bool sp__map_lookup(const struct sp__map *m, const struct sp_smp *key, struct sp_smp *ret);
/* pure. The key type a map of this match kind wants (SP_SMP_STR, SP_SMP_SINT or SP__SMP_ADDR). */
int sp__map_key_type(int match);

/* ---- variables (vars.c) ---- */

/* owner: main. Frees the intern table (end of the process, tests). */
void sp__vars_names_free(void);

#endif
