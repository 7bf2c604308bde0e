#include "base/ticks.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool xq_ticks_tsc;

static void decide(void)
{
#if defined(__x86_64__) || defined(__i386__)
    char source[32] = "";
    FILE *f = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (f && fgets(source, sizeof source, f)) source[strcspn(source, "\n")] = 0;
    if (f) fclose(f);
    xq_ticks_tsc = !strcmp(source, "tsc") && !getenv("XQ_NO_TSC");
#endif
}

bool xq_ticks_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, decide);
    return xq_ticks_tsc;
}
