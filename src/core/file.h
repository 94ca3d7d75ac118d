/* core/file.h - file helpers: whole-file reads, memory maps, atomic writes. */
#ifndef SQZ_CORE_FILE_H
#define SQZ_CORE_FILE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sqz/status.h"

/* Reads a whole regular file into a malloc'd buffer (NUL appended, not counted).
 * SQZ_ERR_NOTFOUND if missing, SQZ_ERR_IO if unreadable or not a regular file,
 * SQZ_ERR_DATA if larger than max_bytes (0 = no limit). */
sqz_status sqz_file_read_all(const char *path, size_t max_bytes, void **buf, size_t *len,
                             sqz_err *err);
/* Opens a regular file for reading (binary); *size receives its length. Errors as
 * sqz_file_read_all: SQZ_ERR_NOTFOUND if missing, SQZ_ERR_IO if unreadable or not a file. */
sqz_status sqz_file_open_read(const char *path, FILE **f, uint64_t *size, sqz_err *err);
/* Maps a regular file read-only. */
sqz_status sqz_file_map(const char *path, void **base, size_t *len, sqz_err *err);
void sqz_file_unmap(void *base, size_t len);
int sqz_file_exists(const char *path);
/* Returns a malloc'd copy of the folder part of path ("." if none). */
char *sqz_path_dirname(const char *path);
/* 1 if path ends with suffix (case-insensitive). */
int sqz_path_has_suffix(const char *path, const char *suffix);

/* Atomic output: data goes to a temporary file in the target's folder; commit
 * flushes, fsyncs and renames it over the target; abort removes it. A file that
 * already exists at the target is untouched unless commit succeeds. */
typedef struct sqz_afile {
    FILE *f;
    char *tmp_path;
    char *path;
    int failed;
} sqz_afile;

sqz_status sqz_afile_open(sqz_afile *a, const char *path, sqz_err *err);
sqz_status sqz_afile_write(sqz_afile *a, const void *data, size_t n, sqz_err *err);
sqz_status sqz_afile_commit(sqz_afile *a, sqz_err *err);
void sqz_afile_abort(sqz_afile *a); /* safe to call after commit (no-op) */

#endif
