/*
 * collect: drains several non-blocking fds in a test and counts what each
 * delivered, for tests that check which fd (queue, socket) a packet reached.
 */
#ifndef LR_TEST_COLLECT_H
#define LR_TEST_COLLECT_H

/* Reads one item from fd: 1 if it counts for fd, 0 if it is to be ignored,
 * -1 when fd has nothing more now. May fail the test (cmocka asserts). */
typedef int (*lr_collect_take)(int fd, void *ctx);

/* Reads fds[0..n) until want items have counted or 2 s pass, then for 50 ms
 * more so that a stray item on another fd is seen too; per[i] gets fd i's
 * count. */
void lr_collect(const int *fds, unsigned n, unsigned want, lr_collect_take take, void *ctx,
		unsigned *per);

#endif
