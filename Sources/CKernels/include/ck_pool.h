// A fixed set of worker threads that run the parts of one parallel region at a time.
//
// A decode step of the embedded model is about 150 short parallel regions (a few dozen
// microseconds each); handing each to libdispatch costs tens of microseconds of wake-up, so
// two threads decoded slower than one. Here the workers spin briefly between regions, and
// sleep once idle for longer, so a region starts in well under a microsecond while the
// engine is busy and costs nothing while it is not.
#ifndef CK_POOL_H
#define CK_POOL_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ck_pool ck_pool;

/// One part of a region: `part` counts from 0.
typedef void (*ck_pool_task)(void *context, size_t part);

/// A pool for regions of up to `threads` parts: `threads - 1` workers plus the caller.
/// NULL when a thread cannot be created (callers then run the parts themselves).
ck_pool *ck_pool_create(size_t threads);

/// Stops and joins the workers.
void ck_pool_destroy(ck_pool *pool);

/// Runs `task(context, part)` for every part in [0, parts), part 0 on the calling thread,
/// and returns when all are done. Parts beyond the pool's threads, and every part of a
/// region started while another is running on the same pool (a nested or concurrent
/// call), run on the calling thread, in order.
void ck_pool_run(ck_pool *pool, size_t parts, ck_pool_task task, void *context);

#ifdef __cplusplus
}
#endif

#endif
