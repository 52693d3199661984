/* core/cfgcomp.c - `compression algo|type|offload` in defaults, frontend, backend and listen
 * sections, and the global `tune.comp.maxlevel`, `tune.zlib.memlevel`,
 * `tune.zlib.windowsize`, with HAProxy 2.6's semantics (src/flt_http_comp.c,
 * src/compression.c):
 *  - each `algo` or `type` word is prepended to the proxy's list, which a proxy first takes
 *    from its defaults section: the last word written comes first, the defaults' words last;
 *  - `offload` in a defaults section is warned about and ignored;
 *  - an unknown algorithm is an error; `identity`, `gzip`, `deflate`, `raw-deflate` are known.
 *
 * owner: main (the configuration loader).
 */
#include "core/config-int.h"

#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    enum sp_comp_algo algo;
} algo_names[] = {
    {"identity", SP_COMP_IDENTITY},
    {"gzip", SP_COMP_GZIP},
    {"deflate", SP_COMP_DEFLATE},
    {"raw-deflate", SP_COMP_RAW_DEFLATE},
};

static void add_algo(struct sp__cfg_parser *ps, struct sp_cfg_comp *c, const char *word)
{
    enum sp_comp_algo a = SP_COMP_NONE;

    for (size_t i = 0; i < sizeof(algo_names) / sizeof(algo_names[0]); i++)
        if (!strcmp(word, algo_names[i].name))
            a = algo_names[i].algo;
    if (a == SP_COMP_NONE) {
        sp__cfg_alert(ps, "compression", "'%s' is not a supported algorithm.", word);
        return;
    }
    if (c->nalgos == SP_COMP_MAX_ALGOS) {
        sp__cfg_alert(ps, "compression", "more than %d algorithms are not supported by spillway",
                      SP_COMP_MAX_ALGOS);
        return;
    }
    memmove(c->algos + 1, c->algos, (size_t)c->nalgos);
    c->algos[0] = (uint8_t)a;
    c->nalgos++;
}

static void add_type(struct sp__cfg_parser *ps, struct sp_cfg_comp *c, const char *word)
{
    char **n = realloc(c->types, (size_t)(c->ntypes + 1) * sizeof(*n));
    if (!n) {
        ps->oom = true;
        return;
    }
    c->types = n;
    char *t = sp__cfg_xstrdup(ps, word);
    if (!t)
        return;
    memmove(c->types + 1, c->types, (size_t)c->ntypes * sizeof(*n));
    c->types[0] = t;
    c->ntypes++;
}

void sp__cfg_kw_compression(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_comp *c = &ps->cur->comp;

    if (argc < 2) {
        sp__cfg_alert(ps, argv[0], "expects 'algo', 'type' or 'offload'");
        return;
    }
    if (!strcmp(argv[1], "algo")) {
        if (argc < 3) {
            sp__cfg_alert(ps, argv[0], "expects <algorithm>.");
            return;
        }
        c->set = true;
        for (int i = 2; i < argc; i++)
            add_algo(ps, c, argv[i]);
    } else if (!strcmp(argv[1], "type")) {
        if (argc < 3) {
            sp__cfg_alert(ps, argv[0], "expects <type>.");
            return;
        }
        c->set = true;
        for (int i = 2; i < argc && !ps->oom; i++)
            add_type(ps, c, argv[i]);
    } else if (!strcmp(argv[1], "offload")) {
        if (argc > 2)
            sp__cfg_warn(ps, argv[0], "'offload' takes no argument: '%s' and after ignored",
                         argv[2]);
        c->set = true;
        if (ps->sec == SP__CFG_SEC_DEFAULTS) {
            /* HAProxy sets it on the defaults section, whose offload no proxy inherits */
            sp__cfg_warn(ps, argv[0], "'offload' ignored in 'defaults' section.");
            return;
        }
        c->offload = true;
    } else {
        sp__cfg_alert(ps, argv[0], "expects 'algo', 'type' or 'offload'");
    }
}

void sp__cfg_kw_comp_tune(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_global *g = &ps->cfg->global;
    int lo = 1, hi = 9, *dst = &g->comp_maxlevel;

    if (!strcmp(argv[0], "tune.zlib.memlevel")) {
        dst = &g->zlib_memlevel;
    } else if (!strcmp(argv[0], "tune.zlib.windowsize")) {
        lo = 8;
        hi = 15;
        dst = &g->zlib_windowsize;
    }
    if (sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        sp__cfg_get_int(ps, argv[0], "value", argv[1], lo, hi, dst);
}

void sp__cfg_comp_clear(struct sp_cfg_comp *c)
{
    for (int i = 0; i < c->ntypes; i++)
        free(c->types[i]);
    free(c->types);
    memset(c, 0, sizeof(*c));
}

/* copies algorithms and types into a zeroed `dst`; false when memory ran out */
static bool copy(struct sp_cfg_comp *dst, const struct sp_cfg_comp *src)
{
    dst->set = src->set;
    dst->nalgos = src->nalgos;
    memcpy(dst->algos, src->algos, sizeof(dst->algos));
    if (!src->ntypes)
        return true;
    dst->types = calloc((size_t)src->ntypes, sizeof(*dst->types));
    if (!dst->types)
        return false;
    for (int i = 0; i < src->ntypes; i++) {
        if (!(dst->types[i] = strdup(src->types[i])))
            return false;
        dst->ntypes = i + 1;
    }
    return true;
}

void sp__cfg_comp_inherit(struct sp_cfg_comp *dst, const struct sp_cfg_comp *src, bool *oom)
{
    sp__cfg_comp_clear(dst);
    if (!copy(dst, src))
        *oom = true;
}

struct sp_cfg_comp *sp_cfg_comp_dup(const struct sp_cfg_comp *c, bool *ret_oom)
{
    *ret_oom = false;
    if (!c->set)
        return NULL;
    struct sp_cfg_comp *d = calloc(1, sizeof(*d));
    if (!d || !copy(d, c)) {
        *ret_oom = true;
        return sp_cfg_comp_free(d);
    }
    d->offload = c->offload;
    return d;
}

struct sp_cfg_comp *sp_cfg_comp_free(struct sp_cfg_comp *c)
{
    if (c) {
        sp__cfg_comp_clear(c);
        free(c);
    }
    return NULL;
}
