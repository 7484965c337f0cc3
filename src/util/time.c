/* time: monotonic and wall clocks, with a fake monotonic clock for tests. */
#include "util/time.h"

#include <time.h>

static uint64_t time_fake_ns; /* 0 = real clock; tests only, single-threaded */

uint64_t time_mono_ns(void)
{
	struct timespec ts;

	if (time_fake_ns)
		return time_fake_ns;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * TIME_NS_PER_SEC + (uint64_t)ts.tv_nsec;
}

void time_wall(uint64_t *sec, uint32_t *nsec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = (uint64_t)ts.tv_sec;
	*nsec = (uint32_t)ts.tv_nsec;
}

uint64_t time_wall_ms(void)
{
	uint64_t sec;
	uint32_t nsec;

	time_wall(&sec, &nsec);
	return sec * 1000 + nsec / 1000000;
}

void time_fake_set(uint64_t mono_ns)
{
	time_fake_ns = mono_ns;
}

void time_fake_advance(uint64_t ns)
{
	time_fake_ns += ns;
}
