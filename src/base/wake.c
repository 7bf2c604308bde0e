/* The futex wrapper of wake.h. */
#include "base/wake.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

void xq_wake_wait(xq_wake *w, uint32_t seen, int64_t timeout_ns)
{
    if (timeout_ns <= 0) return;
    struct timespec ts = {(time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000)};
    /* The kernel sleeps only while seq still equals seen; EAGAIN, EINTR and ETIMEDOUT all mean "look again". */
    syscall(SYS_futex, &w->seq, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
}

void xq_wake_signal(xq_wake *w)
{
    atomic_fetch_add_explicit(&w->seq, 1, memory_order_release);
    syscall(SYS_futex, &w->seq, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
