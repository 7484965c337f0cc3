/* collect: see collect.h. */
#include "collect.h"

#include <stdbool.h>
#include <string.h>
#include <unistd.h>

void lr_collect(const int *fds, unsigned n, unsigned want, lr_collect_take take, void *ctx,
		unsigned *per)
{
	unsigned total = 0;
	int idle_ms = 0;

	memset(per, 0, sizeof(*per) * n);
	for (int waited = 0; waited < 2000 && idle_ms < 50; waited++) {
		bool any = false;

		for (unsigned i = 0; i < n; i++) {
			int r;

			while ((r = take(fds[i], ctx)) >= 0) {
				per[i] += (unsigned)r;
				total += (unsigned)r;
				any = true;
			}
		}
		if (!any && total >= want)
			idle_ms++;
		if (!any)
			usleep(1000);
	}
}
