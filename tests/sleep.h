/*
 * sleep.h - sleep_ms(), for the C tests that give other threads time to act.
 */
#ifndef LS_TESTS_SLEEP_H
#define LS_TESTS_SLEEP_H

#include <time.h>

static inline void sleep_ms(int ms)
{
    nanosleep(&(struct timespec){ ms / 1000, (ms % 1000) * 1000000L }, NULL);
}

#endif
