/* cli/cli_outset.h - all-or-nothing output of several files.
 *
 * Each output is first written (atomically) to a hidden temporary name in its target's
 * folder; commit renames them all into place only after every write succeeded. If a
 * rename fails, the files already moved are rolled back: a file that existed before the
 * command gets its old content back (kept via a hard link), a new one is removed. */
#ifndef SQZ_CLI_OUTSET_H
#define SQZ_CLI_OUTSET_H

#include "sqz/status.h"

typedef struct cli_outset {
    int n, cap;
    char **final;  /* (n) target paths */
    char **tmp;    /* (n) temporary paths in the same folders */
} cli_outset;

void cli_outset_init(cli_outset *o);
/* Registers a target; *tmp receives the temporary path to write to (owned by o). */
sqz_status cli_outset_add(cli_outset *o, const char *path, const char **tmp, sqz_err *err);
/* SQZ_ERR_WRITE naming path when its folder is missing or not writable, or path is a folder. */
sqz_status cli_check_writable(const char *path, sqz_err *err);
sqz_status cli_outset_commit(cli_outset *o, sqz_err *err);
/* Removes the temporaries that exist (after a failure); then frees. */
void cli_outset_abort(cli_outset *o);
void cli_outset_free(cli_outset *o);

#endif
