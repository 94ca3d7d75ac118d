/* runtime/planner.c - best-fit reuse of activation buffers. */
#include <stdint.h>
#include <stdlib.h>

#include "runtime/planner.h"

void sqz_planner_init(sqz_planner *p, int no_reuse) {
    p->blocks = NULL;
    p->n_blocks = p->cap_blocks = 0;
    p->no_reuse = no_reuse;
    p->next_fresh = 0;
    p->live = p->peak = 0;
}

void sqz_planner_reset(sqz_planner *p) {
    for (int i = 0; i < p->n_blocks; i++) p->blocks[i].in_use = 0;
    p->next_fresh = 0;
    p->live = p->peak = 0;
}

static int new_block(sqz_planner *p) {
    if (p->n_blocks == p->cap_blocks) {
        int nc = p->cap_blocks ? p->cap_blocks * 2 : 16;
        sqz_planner_block *b = realloc(p->blocks, sizeof *b * (size_t)nc);
        if (!b) return -1;
        p->blocks = b;
        p->cap_blocks = nc;
    }
    p->blocks[p->n_blocks] = (sqz_planner_block){NULL, 0, 0};
    return p->n_blocks++;
}

/* Makes block b hold at least cap bytes (its old contents are not kept). */
static int fit_block(sqz_planner_block *b, size_t cap) {
    if (b->cap >= cap) return 0;
    void *q = aligned_alloc(64, cap);
    if (!q) return -1;
    free(b->p);
    b->p = q;
    b->cap = cap;
    return 0;
}

int sqz_planner_alloc(sqz_planner *p, size_t nbytes, void **data) {
    if (nbytes > SIZE_MAX - 128) return -1;
    size_t cap = nbytes ? (nbytes + 63) & ~(size_t)63 : 64;
    int best = -1;
    if (p->no_reuse) {
        /* blocks are handed out in order, one per request, never twice in a run */
        best = p->next_fresh < p->n_blocks ? p->next_fresh : new_block(p);
        if (best < 0) return -1;
        p->next_fresh++;
    } else {
        int largest = -1;
        for (int i = 0; i < p->n_blocks; i++) {
            sqz_planner_block *b = &p->blocks[i];
            if (b->in_use) continue;
            if (b->cap >= cap && (best < 0 || b->cap < p->blocks[best].cap)) best = i;
            if (largest < 0 || b->cap > p->blocks[largest].cap) largest = i;
        }
        if (best < 0) best = largest >= 0 ? largest : new_block(p);
        if (best < 0) return -1;
    }
    if (fit_block(&p->blocks[best], cap)) return -1;
    p->blocks[best].in_use = 1;
    p->live += nbytes;
    if (p->live > p->peak) p->peak = p->live;
    *data = p->blocks[best].p;
    return best;
}

void sqz_planner_release(sqz_planner *p, int b, size_t nbytes) {
    if (b < 0 || b >= p->n_blocks || p->no_reuse) return; /* no_reuse: everything stays held */
    p->live -= nbytes <= p->live ? nbytes : p->live;
    p->blocks[b].in_use = 0;
}

size_t sqz_planner_bytes(const sqz_planner *p) {
    size_t s = 0;
    for (int i = 0; i < p->n_blocks; i++) s += p->blocks[i].cap;
    return s;
}

void sqz_planner_free(sqz_planner *p) {
    for (int i = 0; i < p->n_blocks; i++) free(p->blocks[i].p);
    free(p->blocks);
    sqz_planner_init(p, p->no_reuse);
}
