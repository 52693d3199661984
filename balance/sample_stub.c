/* TEMPORARY (not committed): link stubs until the sample engine lands */
#include "balance/sample.h"
#include <stdio.h>
#include <errno.h>
struct sp_smp_expr *sp_smp_compile(const char *t, size_t l, const struct sp_acl_resolver *r, char *err, size_t el){(void)t;(void)l;(void)r;snprintf(err,el,"samples not built yet");return NULL;}
struct sp_smp_expr *sp_smp_free(struct sp_smp_expr *e){(void)e;return NULL;}
bool sp_smp_eval(const struct sp_smp_expr *e, const struct sp_acl_env *env, struct sp_smp *out){(void)e;(void)env;(void)out;return false;}
int sp_var_ref_parse(const char *t, size_t l, struct sp_var_ref *r, char *err, size_t el){(void)t;(void)l;(void)r;snprintf(err,el,"vars not built yet");return -EINVAL;}
int sp_var_set(const struct sp_acl_env *env, const struct sp_var_ref *ref, const struct sp_smp *v){(void)env;(void)ref;(void)v;return -1;}
void sp_var_unset(const struct sp_acl_env *env, const struct sp_var_ref *ref){(void)env;(void)ref;}
bool sp_smp_eval_str(const struct sp_smp_expr *e, const struct sp_acl_env *env, const char **p, size_t *l){(void)e;(void)env;(void)p;(void)l;return false;}
