/* runtime/microbatch.h - running a large batch in slices of a few samples (private).
 *
 * When every node computes sample i of its outputs from sample i of its inputs alone (axis 0 is
 * the batch everywhere), a session may run a batch of N as N / mb runs of mb samples and copy
 * each slice's outputs into place: each slice's activations then stay in cache from one layer to
 * the next instead of streaming through memory (a batch of 64 MobileNetV2 images holds 300 MB per
 * layer; one image 4.8 MB). Every kernel computes a sample the same way at any batch, so the
 * results are the same bits. */
#ifndef SQZ_RUNTIME_MICROBATCH_H
#define SQZ_RUNTIME_MICROBATCH_H

#include <stddef.h>

#include "sqz/graph.h"

/* Bytes of the largest activation of one sample by g's static shapes when every node of g is
 * per-sample (a known operator whose attributes keep axis 0 the batch, constants broadcast
 * without a batch axis, every activation and graph input and output with a symbolic first
 * dimension); 0 when g cannot run in slices. *intensity (may be NULL) gets the multiply-adds per
 * byte of activations written, per sample: compute-bound graphs (ResNet-18: ~150) gain nothing
 * from slices, memory-bound ones (MobileNetV2: ~10) do. */
size_t sqz_microbatch_sample_bytes(const sqz_graph *g, double *intensity);

/* Graphs with fewer multiply-adds than this per activation byte are sliced automatically. */
#define SQZ_MICROBATCH_MAX_INTENSITY 32.0

/* Samples per slice for a batch of n with sample_bytes (from above) per largest activation:
 * 0 (run the batch whole) unless the batch's largest activation (n * sample_bytes) exceeds
 * 32 MiB, the last-level cache; else as many samples as fit in 4 MiB, at least 1. */
int64_t sqz_microbatch_slice(int64_t n, size_t sample_bytes);

#endif
