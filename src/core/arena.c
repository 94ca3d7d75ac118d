/* core/arena.c - a bump allocator owned by one graph; freed all at once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sqz/graph.h"

typedef struct arena_block {
    struct arena_block *next;
    size_t cap, used;
    /* payload follows, aligned to 64 */
} arena_block;

struct sqz_arena {
    arena_block *head;  /* current small-allocation block */
    arena_block *big;   /* dedicated blocks for large allocations */
    size_t block_size;
    size_t reserved;
};

#define HDR ((sizeof(arena_block) + 63) & ~(size_t)63)

static arena_block *block_new(size_t cap) {
    if (cap > SIZE_MAX - HDR - 64) return NULL;
    arena_block *b = aligned_alloc(64, ((HDR + cap) + 63) & ~(size_t)63);
    if (!b) return NULL;
    b->next = NULL;
    b->cap = cap;
    b->used = 0;
    return b;
}

sqz_arena *sqz_arena_new(size_t block_size) {
    sqz_arena *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    a->block_size = block_size ? block_size : (1u << 20);
    return a;
}

void *sqz_arena_alloc(sqz_arena *a, size_t n, size_t align) {
    if (!a) return NULL;
    if (align < 8) align = 8;
    if (align > 64 || (align & (align - 1))) return NULL;
    if (n == 0) n = 1;
    if (n > a->block_size / 4) {
        arena_block *b = block_new(n);
        if (!b) return NULL;
        b->used = n;
        b->next = a->big;
        a->big = b;
        a->reserved += n;
        void *p = (char *)b + HDR;
        memset(p, 0, n);
        return p;
    }
    arena_block *b = a->head;
    size_t off = b ? (b->used + align - 1) & ~(align - 1) : 0;
    if (!b || off + n > b->cap) {
        b = block_new(a->block_size);
        if (!b) return NULL;
        b->next = a->head;
        a->head = b;
        a->reserved += a->block_size;
        off = 0;
    }
    void *p = (char *)b + HDR + off;
    b->used = off + n;
    memset(p, 0, n);
    return p;
}

char *sqz_arena_strndup(sqz_arena *a, const char *s, size_t n) {
    char *d = sqz_arena_alloc(a, n + 1, 1);
    if (!d) return NULL;
    if (n) memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *sqz_arena_strdup(sqz_arena *a, const char *s) {
    if (!s) s = "";
    return sqz_arena_strndup(a, s, strlen(s));
}

size_t sqz_arena_bytes(const sqz_arena *a) { return a ? a->reserved : 0; }

void sqz_arena_free(sqz_arena *a) {
    if (!a) return;
    for (int k = 0; k < 2; k++) {
        arena_block *b = k ? a->big : a->head;
        while (b) {
            arena_block *n = b->next;
            free(b);
            b = n;
        }
    }
    free(a);
}
