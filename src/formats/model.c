/* formats/model.c - load or save a model in whichever format its path names.
 *
 * ".onnx" is ONNX and ".sqz" the native container. For any other name, loading
 * looks at the content: a native file starts with the 8 bytes "SQZMODEL",
 * anything else is tried as ONNX. Saving needs one of the two extensions.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/file.h"
#include "sqz/io.h"

#define NATIVE_MAGIC "SQZMODEL"

sqz_status sqz_model_load(const char *path, sqz_graph **out, sqz_err *err) {
    *out = NULL;
    if (!path || !*path) return sqz_err_set(err, SQZ_ERR_ARG, "no model path given");
    if (sqz_path_has_suffix(path, ".onnx")) return sqz_onnx_load(path, out, err);
    if (sqz_path_has_suffix(path, ".sqz")) return sqz_native_load(path, out, err);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENOTDIR) return sqz_err_set(err, SQZ_ERR_NOTFOUND, "%s: no such file", path);
        return sqz_err_set(err, SQZ_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    char head[8];
    size_t got = 0;
    while (got < sizeof head) {
        ssize_t r = read(fd, head + got, sizeof head - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        got += (size_t)r;
    }
    close(fd);
    if (got == sizeof head && !memcmp(head, NATIVE_MAGIC, sizeof head)) return sqz_native_load(path, out, err);
    return sqz_onnx_load(path, out, err);
}

sqz_status sqz_model_save(const sqz_graph *g, const char *path, sqz_err *err) {
    if (!path || !*path) return sqz_err_set(err, SQZ_ERR_ARG, "no output path given");
    if (!g) return sqz_err_set(err, SQZ_ERR_ARG, "%s: no model to save", path);
    if (sqz_path_has_suffix(path, ".onnx")) return sqz_onnx_save(g, path, err);
    if (sqz_path_has_suffix(path, ".sqz")) return sqz_native_save(g, path, err);
    return sqz_err_set(err, SQZ_ERR_ARG, "%s: cannot tell the output format; name the file .onnx or .sqz", path);
}
