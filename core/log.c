#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>

int sp_log_verbosity = SP_LOG_NOTICE;

static const char *const level_names[] = {"[ALERT]", "[WARNING]", "[NOTICE]", "[DEBUG]"};

void sp_log(enum sp_log_level lvl, const char *fmt, ...)
{
    char line[1024];
    va_list ap;

    if (!sp_log_enabled(lvl))
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s %s\n", level_names[lvl], line);
}
