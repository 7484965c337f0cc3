/* mem: see mem.h. */
#include "util/mem.h"

#include <jansson.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void *mem_grow_wiped(void *old, size_t old_cap, size_t used, size_t new_cap)
{
	void *n = calloc(1, new_cap);

	if (!n)
		return NULL;
	if (old) {
		memcpy(n, old, used);
		explicit_bzero(old, old_cap);
		free(old);
	}
	return n;
}

void mem_wipe_block(void *p)
{
	/* the usable size covers what the caller asked for and the slack after
	 * it, where an older, longer content of a reused block may linger */
	if (p)
		explicit_bzero(p, malloc_usable_size(p));
}

void mem_free_wiped(void *p)
{
	mem_wipe_block(p);
	free(p);
}

void mem_json_wipe_install(void)
{
	json_set_alloc_funcs(malloc, mem_free_wiped);
}

void mem_secure_process(void)
{
	umask(077);
	mem_json_wipe_install();
}
