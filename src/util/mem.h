/* mem: memory helpers for buffers that may hold secrets. */
#ifndef LR_UTIL_MEM_H
#define LR_UTIL_MEM_H

#include <stddef.h>

/* Like realloc, but realloc may leave the old block's bytes (keys) in freed
 * memory: this copies the first used bytes into a new zeroed block of new_cap
 * bytes, wipes all old_cap bytes of the old block and frees it. old may be
 * NULL. Returns the new block, or NULL with old untouched. */
void *mem_grow_wiped(void *old, size_t old_cap, size_t used, size_t new_cap);

#endif
