/* runtime/planner.h - activation buffers for a session (private).
 *
 * The planner owns 64-byte aligned blocks that live as long as the session and are
 * reused across runs. alloc() takes the smallest free block that fits (best fit);
 * when none fits it replaces the largest free block, or adds a new one, so the
 * number of blocks never exceeds the most buffers live at once. With no_reuse every
 * request gets a block of its own that is never handed out twice within a run.
 */
#ifndef SQZ_RUNTIME_PLANNER_H
#define SQZ_RUNTIME_PLANNER_H

#include <stddef.h>

typedef struct sqz_planner_block {
    void *p;
    size_t cap;    /* bytes at p (multiple of 64) */
    int in_use;
} sqz_planner_block;

typedef struct sqz_planner {
    sqz_planner_block *blocks;
    int n_blocks, cap_blocks;
    int no_reuse;
    int next_fresh;  /* no_reuse: blocks below this index were handed out this run */
    size_t live;     /* bytes of live tensors */
    size_t peak;     /* most live bytes since the last reset */
} sqz_planner;

void sqz_planner_init(sqz_planner *p, int no_reuse);
/* Marks every block free and zeroes live/peak: the start of a run. */
void sqz_planner_reset(sqz_planner *p);
/* A block of at least nbytes; returns its index, or -1 on OOM. *data receives its address. */
int sqz_planner_alloc(sqz_planner *p, size_t nbytes, void **data);
/* Returns block b (which held nbytes) to the free list. */
void sqz_planner_release(sqz_planner *p, int b, size_t nbytes);
size_t sqz_planner_bytes(const sqz_planner *p);
void sqz_planner_free(sqz_planner *p);

#endif
