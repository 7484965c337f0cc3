/*
 * time: the one clock helper. Monotonic nanoseconds for timers and ages,
 * wall-clock for TAI64N and "last handshake" (WireGuard compares TAI64N across
 * reboots, so it must never come from the monotonic clock).
 * Tests may freeze the monotonic clock with time_fake_set(); 0 releases it.
 */
#ifndef LR_UTIL_TIME_H
#define LR_UTIL_TIME_H

#include <stdint.h>

#define TIME_NS_PER_SEC 1000000000ULL
#define TIME_NS_PER_MS 1000000ULL

uint64_t time_mono_ns(void);
/* Wall clock: seconds and nanoseconds since the Unix epoch. */
void time_wall(uint64_t *sec, uint32_t *nsec);
/* Wall clock in milliseconds since the Unix epoch. */
uint64_t time_wall_ms(void);
void time_fake_set(uint64_t mono_ns);
void time_fake_advance(uint64_t ns);

#endif
