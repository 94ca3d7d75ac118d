/* sqz/status.h - status codes and error context.
 *
 * Every public function that can fail returns sqz_status and, when given a
 * non-NULL sqz_err, leaves a one-line message with context (file, node,
 * tensor, byte offset). There is no global error state.
 */
#ifndef SQZ_STATUS_H
#define SQZ_STATUS_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum sqz_status {
    SQZ_OK = 0,
    SQZ_ERR_NOMEM,       /* allocation failed                          -> exit 1  */
    SQZ_ERR_ARG,         /* impossible option / API misuse             -> exit 2  */
    SQZ_ERR_DATA,        /* malformed model or data file               -> exit 65 */
    SQZ_ERR_NOTFOUND,    /* missing input file                         -> exit 66 */
    SQZ_ERR_IO,          /* read error on an existing file             -> exit 66 */
    SQZ_ERR_WRITE,       /* cannot write output                        -> exit 73 */
    SQZ_ERR_UNSUPPORTED, /* valid model using something sqz lacks      -> exit 65 */
    SQZ_ERR_INTERNAL     /* bug: internal invariant broken             -> exit 1  */
} sqz_status;

#define SQZ_ERR_MSG_MAX 1024

typedef struct sqz_err {
    sqz_status code;
    char msg[SQZ_ERR_MSG_MAX]; /* one line, no trailing newline */
} sqz_err;

/* Records code and a printf-style message in e (if e != NULL); returns code. */
sqz_status sqz_err_set(sqz_err *e, sqz_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
sqz_status sqz_err_vset(sqz_err *e, sqz_status code, const char *fmt, va_list ap);
/* Prepends context to the existing message: "<context>: <old message>". */
void sqz_err_prefix(sqz_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sqz_err_clear(sqz_err *e);

const char *sqz_status_str(sqz_status s);
/* Process exit code for a status, as in DESIGN.md: 0, 1, 2, 65, 66, 73. */
int sqz_status_exit_code(sqz_status s);

#ifdef __cplusplus
}
#endif
#endif
