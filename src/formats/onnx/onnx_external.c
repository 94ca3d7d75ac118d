/* formats/onnx/onnx_external.c - tensor data stored outside the .onnx file.
 *
 * A TensorProto with data_location EXTERNAL names a file by `location`, relative
 * to the model's folder, and a byte range by `offset` / `length`. The location
 * comes from an untrusted file, so it must stay inside the model folder: absolute
 * paths, ".." components and symbolic links anywhere on the way are refused. The
 * walk opens one component at a time with O_NOFOLLOW relative to the folder it
 * has already opened, so nothing can swap a link in between check and use.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "formats/onnx/onnx_internal.h"

/* Strict unsigned decimal; 0 on success. */
static int parse_u64(const char *s, uint64_t *out) {
    if (!s || !*s) return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static sqz_status escapes(sqz_err *err, const char *name, const char *loc) {
    return sqz_err_set(err, SQZ_ERR_DATA, "external data for '%s': location '%s' escapes the model folder", name, loc);
}

static sqz_status is_link(sqz_err *err, const char *name, const char *loc, const char *comp) {
    if (!strcmp(loc, comp))
        return sqz_err_set(err, SQZ_ERR_DATA, "external data for '%s': location '%s' is a symbolic link", name, loc);
    return sqz_err_set(err, SQZ_ERR_DATA, "external data for '%s': location '%s' is a symbolic link (at '%s')", name,
                       loc, comp);
}

static sqz_status open_fail(sqz_err *err, const char *name, const char *loc, int e) {
    if (e == ENOENT || e == ENOTDIR)
        return sqz_err_set(err, SQZ_ERR_NOTFOUND, "external data for '%s': file '%s' not found in the model folder",
                           name, loc);
    return sqz_err_set(err, SQZ_ERR_IO, "external data for '%s': cannot open '%s': %s", name, loc, strerror(e));
}

/* Opens base_dir/loc for reading, refusing anything that leaves base_dir. */
static sqz_status open_inside(const char *base_dir, const char *loc, const char *name, int *fd_out,
                              sqz_err *err) {
    *fd_out = -1;
    if (!loc || !*loc) return sqz_err_set(err, SQZ_ERR_DATA, "external data for '%s' has no location", name);
    if (loc[0] == '/') return escapes(err, name, loc);
    char *path = strdup(loc);
    if (!path) return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory");
    /* Split into components and refuse ".." before touching the file system. */
    int ncomp = 0;
    for (char *p = path;; p++) {
        char *start = p;
        while (*p && *p != '/') p++;
        int last = !*p;
        *p = '\0';
        if (!strcmp(start, "..")) {
            free(path);
            return escapes(err, name, loc);
        }
        ncomp++;
        if (last) break;
    }
    int dfd = open(base_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        int e = errno;
        free(path);
        return sqz_err_set(err, e == ENOENT ? SQZ_ERR_NOTFOUND : SQZ_ERR_IO,
                           "external data for '%s': cannot open the model folder '%s': %s", name, base_dir,
                           strerror(e));
    }
    sqz_status st = SQZ_OK;
    char *comp = path;
    for (int i = 0; i < ncomp; i++) {
        char *next = comp + strlen(comp) + 1;
        int last = i == ncomp - 1;
        if (!last && (!*comp || !strcmp(comp, "."))) {
            comp = next;
            continue;
        }
        if (last && (!*comp || !strcmp(comp, "."))) {
            st = sqz_err_set(err, SQZ_ERR_DATA, "external data for '%s': location '%s' names a folder, not a file",
                             name, loc);
            break;
        }
        struct stat sb;
        if (fstatat(dfd, comp, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
            st = open_fail(err, name, loc, errno);
            break;
        }
        if (S_ISLNK(sb.st_mode)) {
            /* name the path up to this component */
            char *upto = strndup(loc, (size_t)(comp - path) + strlen(comp));
            st = is_link(err, name, loc, upto ? upto : comp);
            free(upto);
            break;
        }
        int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (last ? 0 : O_DIRECTORY);
        int fd = openat(dfd, comp, flags);
        if (fd < 0) {
            int e = errno;
            st = e == ELOOP ? is_link(err, name, loc, loc) : open_fail(err, name, loc, e);
            break;
        }
        close(dfd);
        dfd = fd;
        comp = next;
    }
    free(path);
    if (st) {
        close(dfd);
        return st;
    }
    *fd_out = dfd;
    return SQZ_OK;
}

sqz_status sqz_onnx_external_read(const Onnx__TensorProto *tp, const sqz_tensor *t, size_t nbytes,
                                  const char *base_dir, sqz_onnx_alloc_fn alloc, void *ctx,
                                  sqz_err *err) {
    const char *name = t->name ? t->name : "";
    if (tp->has_raw_data)
        return sqz_err_set(err, SQZ_ERR_DATA, "tensor '%s' has both raw_data and external data", name);
    const char *loc = NULL;
    uint64_t offset = 0, length = 0;
    int has_length = 0;
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const Onnx__StringStringEntryProto *kv = tp->external_data[i];
        const char *k = kv->key ? kv->key : "", *v = kv->value ? kv->value : "";
        if (!strcmp(k, "location")) {
            loc = v;
        } else if (!strcmp(k, "offset")) {
            if (parse_u64(v, &offset))
                return sqz_err_set(err, SQZ_ERR_DATA, "external data for '%s': offset '%s' is not a number", name, v);
        } else if (!strcmp(k, "length")) {
            if (parse_u64(v, &length))
                return sqz_err_set(err, SQZ_ERR_DATA, "external data for '%s': length '%s' is not a number", name, v);
            has_length = 1;
        }
        /* "checksum" and unknown keys are ignored */
    }
    if (!loc) return sqz_err_set(err, SQZ_ERR_DATA, "external data for '%s' has no location", name);
    if (!base_dir)
        return sqz_err_set(err, SQZ_ERR_DATA,
                           "external data for '%s': model was not loaded from a file, so location '%s' cannot be "
                           "resolved",
                           name, loc);
    int fd;
    sqz_status st = open_inside(base_dir, loc, name, &fd, err);
    if (st) return st;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return sqz_err_set(err, SQZ_ERR_DATA, "external data for '%s': '%s' is not a regular file", name, loc);
    }
    uint64_t fsize = (uint64_t)sb.st_size;
    if (offset > fsize) {
        close(fd);
        return sqz_err_set(err, SQZ_ERR_DATA, "external data for '%s': offset %llu is past the end of '%s' (%llu bytes)",
                           name, (unsigned long long)offset, loc, (unsigned long long)fsize);
    }
    if (has_length) {
        if (length > fsize - offset) {
            close(fd);
            return sqz_err_set(err, SQZ_ERR_DATA,
                               "external data for '%s': offset %llu + length %llu runs past the end of '%s' (%llu "
                               "bytes)",
                               name, (unsigned long long)offset, (unsigned long long)length, loc,
                               (unsigned long long)fsize);
        }
    } else {
        length = fsize - offset;
    }
    if (length != (uint64_t)nbytes) {
        close(fd);
        return sqz_onnx_size_mismatch(err, t, name, nbytes, length, "bytes");
    }
    void *dst = alloc(ctx, nbytes);
    if (!dst) {
        close(fd);
        return sqz_err_set(err, SQZ_ERR_NOMEM, "out of memory for %zu bytes of tensor '%s'", nbytes, name);
    }
    size_t got = 0;
    while (got < nbytes) {
        ssize_t r = pread(fd, (char *)dst + got, nbytes - got, (off_t)(offset + got));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got != nbytes)
        return sqz_err_set(err, SQZ_ERR_IO, "external data for '%s': short read from '%s' (%zu of %zu bytes)", name,
                           loc, got, nbytes);
    return SQZ_OK;
}
