/* formats/sqz/sqz_format.h - layout constants of the native .sqz container.
 *
 * The normative description is docs/format.md; this header only names its numbers.
 * Everything on disk is little-endian; values are read and written through the
 * byte helpers below, never by casting pointers into the file. */
#ifndef SQZ_FORMATS_SQZ_FORMAT_H
#define SQZ_FORMATS_SQZ_FORMAT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "sqz/graph.h"
#include "sqz/status.h"

#define SQZF_MAGIC "SQZMODEL"
#define SQZF_MAGIC_LEN 8
#define SQZF_VERSION_MAJOR 1
#define SQZF_VERSION_MINOR 0

#define SQZF_HEADER_SIZE 64   /* fixed header written by this version */
#define SQZF_SECTION_ENTRY 32 /* bytes per section table entry */
#define SQZF_MAX_SECTIONS 1024
#define SQZF_ALIGN 64         /* DATA section start and every blob in it */

/* header field offsets */
#define SQZF_H_MAJOR 8
#define SQZF_H_MINOR 10
#define SQZF_H_FLAGS 12
#define SQZF_H_HEADER_SIZE 16
#define SQZF_H_NSECT 20
#define SQZF_H_TABLE_OFF 24
#define SQZF_H_FILE_SIZE 32
#define SQZF_H_TABLE_CRC 40

/* header flags: the low 16 bits must be understood by a reader, the high 16 may be ignored */
#define SQZF_FLAGS_REQUIRED_MASK 0x0000ffffu

/* section types */
enum {
    SQZF_SEC_STRINGS = 1,
    SQZF_SEC_GRAPH = 2,
    SQZF_SEC_DATA = 3
};
/* section flags */
#define SQZF_SECF_REQUIRED 1u /* a reader that does not know the type must refuse the file */

/* "no string" / "no blob" */
#define SQZF_NONE32 0xffffffffu
#define SQZF_NONE64 UINT64_MAX

/* record sizes written by this version (readers accept larger records and skip the tail) */
#define SQZF_GRAPH_REC 56
#define SQZF_TENSOR_FIXED 120 /* + 12 bytes per dimension, padded to 8 */
#define SQZF_NODE_FIXED 32    /* + 4 per input/output, padded to 8, + attribute records */
#define SQZF_ATTR_FIXED 24    /* + payload, padded to 8 */

/* tensor flags kept on disk; others are runtime state */
#define SQZF_TENSOR_FLAGS_KEPT (SQZ_TF_INIT | SQZ_TF_INPUT | SQZ_TF_OUTPUT)

/* blobs of a tensor record, in record order */
enum { SQZF_BLOB_DATA, SQZF_BLOB_MASK, SQZF_BLOB_SCALE, SQZF_BLOB_ZP, SQZF_BLOB_ENC, SQZF_N_BLOBS };

/* highest encoding id this reader understands (sqz_encoding) */
#define SQZF_MAX_KNOWN_ENCODING SQZ_ENC_CODEBOOK

static inline void sqzf_put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void sqzf_put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline void sqzf_put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t sqzf_get16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t sqzf_get32(const uint8_t *p) {
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}
static inline uint64_t sqzf_get64(const uint8_t *p) {
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

/* CRC-32 (zlib) over any length. */
uint32_t sqzf_crc32(uint32_t crc, const void *p, size_t n);

/* Checks what writer and reader both require of one tensor descriptor: dtype, rank,
 * dims, encoding, that a payload matches dtype and shape, mask size, quantization
 * parameters (t->quant: axis, group_size, count; its arrays are not looked at).
 * has[b] says whether blob b is present and size[b] its size in bytes. On failure
 * writes a short description into why (no tensor name, no path) and returns nonzero. */
int sqzf_check_tensor(const sqz_tensor *t, const int has[SQZF_N_BLOBS], const uint64_t size[SQZF_N_BLOBS],
                      char *why, size_t why_len);

#endif
