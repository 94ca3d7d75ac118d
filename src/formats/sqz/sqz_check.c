/* formats/sqz/sqz_check.c - rules a tensor descriptor of a .sqz file must satisfy.
 *
 * The writer and the reader apply the same checks, so the writer never produces a
 * file the reader refuses, and the reader never hands out a tensor whose payload,
 * mask or quantization arrays are smaller than its shape says. */
#include <stdio.h>
#include <zlib.h>

#include "formats/sqz/sqz_format.h"

uint32_t sqzf_crc32(uint32_t crc, const void *p, size_t n) {
    const unsigned char *b = p;
    while (n) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = (uint32_t)crc32(crc, b, chunk);
        b += chunk;
        n -= chunk;
    }
    return crc;
}

#define WHY(...)                              \
    do {                                      \
        snprintf(why, why_len, __VA_ARGS__);  \
        return 1;                             \
    } while (0)

static int check_quant(const sqz_tensor *t, int64_t numel, const int has[SQZF_N_BLOBS],
                       const uint64_t size[SQZF_N_BLOBS], char *why, size_t why_len) {
    const sqz_qparams *q = t->quant;
    if (!q) {
        if (has[SQZF_BLOB_SCALE] || has[SQZF_BLOB_ZP]) WHY("quantization arrays without quantization parameters");
        return 0;
    }
    if (q->count < 1 || q->count > (int64_t)(UINT64_MAX / 8))
        WHY("quantization count %lld is not positive", (long long)q->count);
    if (!has[SQZF_BLOB_SCALE]) WHY("quantization parameters without a scale array");
    uint64_t need = (uint64_t)q->count * 4;
    if (size[SQZF_BLOB_SCALE] != need)
        WHY("quantization scale array has %llu bytes, count %lld needs %llu", (unsigned long long)size[SQZF_BLOB_SCALE],
            (long long)q->count, (unsigned long long)need);
    if (has[SQZF_BLOB_ZP] && size[SQZF_BLOB_ZP] != need)
        WHY("quantization zero-point array has %llu bytes, count %lld needs %llu",
            (unsigned long long)size[SQZF_BLOB_ZP], (long long)q->count, (unsigned long long)need);
    if (q->group_size < 0) WHY("negative quantization group size %d", q->group_size);
    if (q->axis == -1) {
        if (q->count != 1) WHY("per-tensor quantization with %lld scales", (long long)q->count);
        return 0;
    }
    if (q->axis < 0 || t->ndim < 0 || q->axis >= t->ndim)
        WHY("quantization axis %d outside the tensor's rank %d", q->axis, t->ndim);
    if (q->group_size == 0) {
        int64_t d = t->dims[q->axis];
        if (d >= 0 && q->count != d)
            WHY("per-channel quantization with %lld scales along axis %d of size %lld", (long long)q->count, q->axis,
                (long long)d);
    } else if (numel >= 0) {
        /* every element must have a group: count * group_size >= numel, and no more groups than elements */
        if ((uint64_t)q->count * (uint64_t)q->group_size < (uint64_t)numel ||
            (numel > 0 && q->count > numel) || (numel == 0 && q->count > 1))
            WHY("group-wise quantization with %lld groups of %d does not cover %lld elements", (long long)q->count,
                q->group_size, (long long)numel);
    }
    return 0;
}

int sqzf_check_tensor(const sqz_tensor *t, const int has[SQZF_N_BLOBS], const uint64_t size[SQZF_N_BLOBS],
                      char *why, size_t why_len) {
    if (t->dtype != SQZ_DT_UNDEF && !sqz_dtype_is_valid((int)t->dtype)) WHY("unknown dtype %d", (int)t->dtype);
    if (t->ndim < -1 || t->ndim > SQZ_MAX_DIMS) WHY("rank %d outside -1..%d", t->ndim, SQZ_MAX_DIMS);
    int64_t numel = t->ndim < 0 ? -1 : 1;
    for (int i = 0; i < t->ndim; i++) {
        if (t->dims[i] < -1) WHY("dimension %d is %lld", i, (long long)t->dims[i]);
        if (t->dims[i] < 0 || numel < 0) {
            numel = -1;
            continue;
        }
        if (t->dims[i] && numel > INT64_MAX / t->dims[i]) WHY("element count overflows at dimension %d", i);
        numel *= t->dims[i];
    }
    if ((unsigned)t->encoding > SQZF_MAX_KNOWN_ENCODING) WHY("unknown encoding %d", (int)t->encoding);
    if (t->encoding == SQZ_ENC_DENSE && has[SQZF_BLOB_ENC]) WHY("dense tensor with an encoding block");
    if (t->encoding != SQZ_ENC_DENSE && !has[SQZF_BLOB_ENC]) WHY("encoding %d without an encoding block", (int)t->encoding);
    if (has[SQZF_BLOB_DATA]) {
        if (numel < 0) WHY("data for a tensor of unknown shape");
        int bits = sqz_dtype_bits(t->dtype);
        if (bits <= 0) WHY("data for dtype %s, which has no fixed size", sqz_dtype_name(t->dtype));
        uint64_t n = (uint64_t)numel;
        if (n > (UINT64_MAX - 7) / (uint64_t)bits) WHY("payload size overflows");
        uint64_t need = (n * (uint64_t)bits + 7) / 8;
        if (size[SQZF_BLOB_DATA] != need)
            WHY("%llu bytes of data, shape and dtype %s need %llu", (unsigned long long)size[SQZF_BLOB_DATA],
                sqz_dtype_name(t->dtype), (unsigned long long)need);
    }
    if (has[SQZF_BLOB_MASK]) {
        if (numel < 0) WHY("mask for a tensor of unknown shape");
        if (size[SQZF_BLOB_MASK] != (uint64_t)numel)
            WHY("mask has %llu bytes for %lld elements", (unsigned long long)size[SQZF_BLOB_MASK], (long long)numel);
    }
    return check_quant(t, numel, has, size, why, why_len);
}
