#include "sqz/status.h"

#include <stdio.h>
#include <string.h>

sqz_status sqz_err_vset(sqz_err *e, sqz_status code, const char *fmt, va_list ap) {
    if (!e) return code;
    e->code = code;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    /* keep messages on one line */
    for (char *p = e->msg; *p; p++)
        if (*p == '\n' || *p == '\r') *p = ' ';
    return code;
}

sqz_status sqz_err_set(sqz_err *e, sqz_status code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    sqz_err_vset(e, code, fmt, ap);
    va_end(ap);
    return code;
}

void sqz_err_prefix(sqz_err *e, const char *fmt, ...) {
    if (!e) return;
    char old[SQZ_ERR_MSG_MAX];
    memcpy(old, e->msg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    if (k < 0) k = 0;
    size_t used = (size_t)k < sizeof e->msg ? (size_t)k : sizeof e->msg - 1;
    size_t room = sizeof e->msg - used;
    if (room > 2) {
        memcpy(e->msg + used, ": ", 2);
        used += 2;
        room -= 2;
        size_t ol = strlen(old);
        if (ol >= room) ol = room - 1;
        memcpy(e->msg + used, old, ol);
        e->msg[used + ol] = '\0';
    }
}

void sqz_err_clear(sqz_err *e) {
    if (!e) return;
    e->code = SQZ_OK;
    e->msg[0] = '\0';
}

const char *sqz_status_str(sqz_status s) {
    switch (s) {
    case SQZ_OK: return "ok";
    case SQZ_ERR_NOMEM: return "out of memory";
    case SQZ_ERR_ARG: return "invalid argument";
    case SQZ_ERR_DATA: return "bad input data";
    case SQZ_ERR_NOTFOUND: return "not found";
    case SQZ_ERR_IO: return "read error";
    case SQZ_ERR_WRITE: return "cannot write output";
    case SQZ_ERR_UNSUPPORTED: return "unsupported";
    case SQZ_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

int sqz_status_exit_code(sqz_status s) {
    switch (s) {
    case SQZ_OK: return 0;
    case SQZ_ERR_ARG: return 2;
    case SQZ_ERR_DATA:
    case SQZ_ERR_UNSUPPORTED: return 65;
    case SQZ_ERR_NOTFOUND:
    case SQZ_ERR_IO: return 66;
    case SQZ_ERR_WRITE: return 73;
    default: return 1;
    }
}
