/* cli/cli_outset.c - all-or-nothing output of several files. */
#include "cli/cli_outset.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/file.h"

void cli_outset_init(cli_outset *o) { memset(o, 0, sizeof *o); }

/* "<dir>/.<base>.sqz-<pid>-<k>.<ext>" */
static char *temp_name(const char *path, int k, const char *ext) {
    char *dir = sqz_path_dirname(path);
    if (!dir) return NULL;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(dir) + strlen(base) + 64;
    char *t = malloc(n);
    if (t) snprintf(t, n, "%s/.%s.sqz-%ld-%d.%s", dir, base, (long)getpid(), k, ext);
    free(dir);
    return t;
}

sqz_status cli_outset_add(cli_outset *o, const char *path, const char **tmp, sqz_err *err) {
    if (o->n == o->cap) {
        int cap = o->cap ? o->cap * 2 : 8;
        char **f = realloc(o->final, (size_t)cap * sizeof *f);
        if (!f) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
        o->final = f;
        char **t = realloc(o->tmp, (size_t)cap * sizeof *t);
        if (!t) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
        o->tmp = t;
        o->cap = cap;
    }
    char *f = strdup(path);
    char *t = temp_name(path, o->n, "tmp");
    if (!f || !t) {
        free(f);
        free(t);
        return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
    }
    o->final[o->n] = f;
    o->tmp[o->n] = t;
    o->n++;
    *tmp = t;
    return SQZ_OK;
}

sqz_status cli_check_writable(const char *path, sqz_err *err) {
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return sqz_err_set(err, SQZ_ERR_WRITE, "cannot write %s: it is a folder", path);
    char *dir = sqz_path_dirname(path);
    if (!dir) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
    sqz_status rc = SQZ_OK;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        rc = sqz_err_set(err, SQZ_ERR_WRITE, "cannot write %s: folder %s does not exist", path, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        rc = sqz_err_set(err, SQZ_ERR_WRITE, "cannot write %s: folder %s is not writable", path, dir);
    free(dir);
    return rc;
}

sqz_status cli_outset_commit(cli_outset *o, sqz_err *err) {
    char **backup = calloc((size_t)(o->n ? o->n : 1), sizeof *backup);
    if (!backup) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
    sqz_status rc = SQZ_OK;
    int done = 0;
    for (; done < o->n; done++) {
        const char *f = o->final[done];
        if (o->n > 1 && sqz_file_exists(f)) {
            /* keep the old content reachable in case a later rename fails */
            char *b = temp_name(f, done, "bak");
            if (b && link(f, b) == 0)
                backup[done] = b;
            else
                free(b);
        }
        if (rename(o->tmp[done], f) != 0) {
            rc = sqz_err_set(err, SQZ_ERR_WRITE, "cannot write %s: %s", f, strerror(errno));
            break;
        }
    }
    if (rc) {
        for (int i = 0; i < done; i++) {
            if (backup[i])
                rename(backup[i], o->final[i]);
            else
                unlink(o->final[i]);
        }
        for (int i = done; i < o->n; i++) unlink(o->tmp[i]);
    }
    for (int i = 0; i < o->n; i++) {
        if (backup[i]) unlink(backup[i]); /* no-op when it was renamed back */
        free(backup[i]);
    }
    free(backup);
    if (!rc) {
        for (int i = 0; i < o->n; i++) {
            free(o->tmp[i]);
            o->tmp[i] = NULL;
        }
    }
    return rc;
}

void cli_outset_abort(cli_outset *o) {
    for (int i = 0; i < o->n; i++)
        if (o->tmp[i]) unlink(o->tmp[i]);
    cli_outset_free(o);
}

void cli_outset_free(cli_outset *o) {
    for (int i = 0; i < o->n; i++) {
        free(o->final[i]);
        free(o->tmp[i]);
    }
    free(o->final);
    free(o->tmp);
    memset(o, 0, sizeof *o);
}
