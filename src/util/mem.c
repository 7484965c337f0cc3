/* mem: see mem.h. */
#include "util/mem.h"

#include <stdlib.h>
#include <string.h>

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
