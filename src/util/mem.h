/* mem: memory helpers for buffers that may hold secrets. */
#ifndef LR_UTIL_MEM_H
#define LR_UTIL_MEM_H

#include <stddef.h>

/* Like realloc, but realloc may leave the old block's bytes (keys) in freed
 * memory: this copies the first used bytes into a new zeroed block of new_cap
 * bytes, wipes all old_cap bytes of the old block and frees it. old may be
 * NULL. Returns the new block, or NULL with old untouched. */
void *mem_grow_wiped(void *old, size_t old_cap, size_t used, size_t new_cap);

/* Zeroes the whole of a block of malloc's (malloc_usable_size bytes: what
 * was asked for and the slack after it). NULL is fine. */
void mem_wipe_block(void *p);
/* mem_wipe_block, then free. */
void mem_free_wiped(void *p);

/* Makes jansson allocate with malloc and free with mem_free_wiped, so the
 * copies it makes of tokens, secrets and keys (object keys and string
 * values, parser and dump buffers) are wiped when it frees them. Called
 * first thing in main() of every program that handles secrets (the daemon,
 * lanrage-control, lanrage-relay), before any JSON exists. A string that
 * json_dumps returns is still the caller's to wipe. */
void mem_json_wipe_install(void);

/* The two process-wide settings of a program that handles secrets, in one
 * call for main(): umask 077 (every file it creates, including the SQLite
 * databases and their journals, is private to its user unless the code asks
 * for a wider mode with fchmod) and mem_json_wipe_install. */
void mem_secure_process(void);

#endif
