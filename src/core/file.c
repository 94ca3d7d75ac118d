#define _GNU_SOURCE
#include "core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Opens path read-only and checks that it is a regular file; on success the caller owns *fd. */
static sqz_status open_regular(const char *path, int *fd, struct stat *st, sqz_err *err) {
    *fd = open(path, O_RDONLY | O_CLOEXEC);
    if (*fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR) return sqz_err_set(err, SQZ_ERR_NOTFOUND, "%s: no such file", path);
        return sqz_err_set(err, SQZ_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    if (fstat(*fd, st) != 0 || !S_ISREG(st->st_mode)) {
        close(*fd);
        *fd = -1;
        return sqz_err_set(err, SQZ_ERR_IO, "%s: not a regular file", path);
    }
    return SQZ_OK;
}

sqz_status sqz_file_open_read(const char *path, FILE **f, uint64_t *size, sqz_err *err) {
    *f = NULL;
    int fd;
    struct stat st;
    sqz_status s = open_regular(path, &fd, &st, err);
    if (s) return s;
    *f = fdopen(fd, "rb");
    if (!*f) {
        int e = errno;
        close(fd);
        return sqz_err_set(err, SQZ_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    *size = (uint64_t)st.st_size;
    return SQZ_OK;
}

sqz_status sqz_file_read_all(const char *path, size_t max_bytes, void **buf, size_t *len,
                             sqz_err *err) {
    *buf = NULL;
    *len = 0;
    int fd;
    struct stat st;
    sqz_status os = open_regular(path, &fd, &st, err);
    if (os) return os;
    if (st.st_size < 0 || (uint64_t)st.st_size > SIZE_MAX - 1 ||
        (max_bytes && (size_t)st.st_size > max_bytes)) {
        close(fd);
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: file too large (%lld bytes)", path, (long long)st.st_size);
    }
    size_t n = (size_t)st.st_size;
    char *b = malloc(n + 1);
    if (!b) {
        close(fd);
        return sqz_err_set(err, SQZ_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, n);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != n) {
        free(b);
        return sqz_err_set(err, SQZ_ERR_IO, "%s: short read (%zu of %zu bytes)", path, got, n);
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return SQZ_OK;
}

sqz_status sqz_file_map(const char *path, void **base, size_t *len, sqz_err *err) {
    *base = NULL;
    *len = 0;
    int fd;
    struct stat st;
    sqz_status os = open_regular(path, &fd, &st, err);
    if (os) return os;
    if (st.st_size == 0) {
        close(fd);
        return sqz_err_set(err, SQZ_ERR_DATA, "%s: empty file", path);
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) return sqz_err_set(err, SQZ_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
    *base = p;
    *len = (size_t)st.st_size;
    return SQZ_OK;
}

void sqz_file_unmap(void *base, size_t len) {
    if (base) munmap(base, len);
}

int sqz_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

char *sqz_path_dirname(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

int sqz_path_has_suffix(const char *path, const char *suffix) {
    size_t a = strlen(path), b = strlen(suffix);
    return a >= b && strcasecmp(path + a - b, suffix) == 0;
}

sqz_status sqz_afile_open(sqz_afile *a, const char *path, sqz_err *err) {
    memset(a, 0, sizeof *a);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return sqz_err_set(err, SQZ_ERR_WRITE, "%s: is a folder", path);
    char *dir = sqz_path_dirname(path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(dir) + strlen(base) + 32;
    a->tmp_path = malloc(n);
    a->path = strdup(path);
    if (!dir || !a->tmp_path || !a->path) {
        free(dir);
        sqz_afile_abort(a);
        return sqz_err_set(err, SQZ_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(a->tmp_path, n, "%s/.%s.tmpXXXXXX", dir, base);
    free(dir);
    int fd = mkostemp(a->tmp_path, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        free(a->tmp_path);
        a->tmp_path = NULL;
        sqz_afile_abort(a);
        return sqz_err_set(err, SQZ_ERR_WRITE, "%s: cannot create output: %s", path, strerror(e));
    }
    fchmod(fd, 0644);
    a->f = fdopen(fd, "wb");
    if (!a->f) {
        close(fd);
        sqz_afile_abort(a);
        return sqz_err_set(err, SQZ_ERR_WRITE, "%s: cannot open output stream", path);
    }
    return SQZ_OK;
}

sqz_status sqz_afile_write(sqz_afile *a, const void *data, size_t n, sqz_err *err) {
    if (!a->f || a->failed) return sqz_err_set(err, SQZ_ERR_WRITE, "%s: write after failure", a->path ? a->path : "?");
    if (n && fwrite(data, 1, n, a->f) != n) {
        a->failed = 1;
        return sqz_err_set(err, SQZ_ERR_WRITE, "%s: write failed: %s", a->path, strerror(errno));
    }
    return SQZ_OK;
}

sqz_status sqz_afile_commit(sqz_afile *a, sqz_err *err) {
    if (!a->f || a->failed) {
        sqz_afile_abort(a);
        return sqz_err_set(err, SQZ_ERR_WRITE, "output not written");
    }
    int ok = fflush(a->f) == 0 && fsync(fileno(a->f)) == 0;
    ok = (fclose(a->f) == 0) && ok;
    a->f = NULL;
    if (!ok || rename(a->tmp_path, a->path) != 0) {
        int e = errno;
        char path[4096];
        snprintf(path, sizeof path, "%s", a->path);
        sqz_afile_abort(a);
        return sqz_err_set(err, SQZ_ERR_WRITE, "%s: cannot write: %s", path, strerror(e));
    }
    char *dir = sqz_path_dirname(a->path);
    if (dir) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
        free(dir);
    }
    free(a->tmp_path);
    free(a->path);
    memset(a, 0, sizeof *a);
    return SQZ_OK;
}

void sqz_afile_abort(sqz_afile *a) {
    if (a->f) fclose(a->f);
    if (a->tmp_path) unlink(a->tmp_path);
    free(a->tmp_path);
    free(a->path);
    memset(a, 0, sizeof *a);
}
