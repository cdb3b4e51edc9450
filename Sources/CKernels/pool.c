// The worker pool behind `Parallel` (see ck_pool.h for why it exists).
//
// A region is one 64-bit word: its number, its part count and the next unclaimed part.
// The caller publishes the task, installs a new word and wakes sleeping workers; then every
// thread, the caller included, claims parts from the word (compare-and-swap, so a worker
// that wakes late can never claim a part of a later region) and counts each finished part.
// The caller returns once all parts are finished. A part is claimed by whichever thread
// asks first, so when the machine is busy and a worker is not scheduled, the caller simply
// runs the parts itself instead of waiting for it.
//
// Both sides wait by spinning for a short while (the gaps between a decode step's regions
// are microseconds; after a few pauses a spinning thread yields its core instead, which on
// a busy machine is often to the very thread it waits for), then sleep on a condition
// variable. Each sleeper announces itself (a
// counter or flag, raised under the mutex before its last look) and the other side reads
// that after its own update: one of the two always sees the other, so no wake-up is lost.
#define _GNU_SOURCE
#include "ck_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CK_PAUSE() _mm_pause()
#else
#define CK_PAUSE() ((void)0)
#endif

/// How long a waiting thread spins before it sleeps.
static const long spin_nanoseconds = 50000;

/// region number (32 bits) | part count (16 bits) | next unclaimed part (16 bits).
static inline uint64_t region_word(uint64_t region, uint64_t parts, uint64_t next) {
    return (region << 32) | (parts << 16) | next;
}
static inline uint32_t region_of(uint64_t word) { return (uint32_t)(word >> 32); }
static inline size_t parts_of(uint64_t word) { return (size_t)((word >> 16) & 0xFFFF); }
static inline size_t next_of(uint64_t word) { return (size_t)(word & 0xFFFF); }

struct ck_pool {
    size_t threads;
    size_t worker_count;
    pthread_t *workers;
    _Atomic uint64_t region;
    atomic_size_t finished;
    atomic_int busy;
    atomic_int stopping;
    atomic_int sleepers;
    atomic_int caller_sleeps;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    pthread_cond_t done;
    /// The region in progress, written before its word is installed.
    ck_pool_task task;
    void *context;
};

static long elapsed_since(const struct timespec *start) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - start->tv_sec) * 1000000000L + (now.tv_nsec - start->tv_nsec);
}

/// Spins until `ready(pool, argument)` or for `spin_nanoseconds`; whether it became ready.
static int spin_until(int (*ready)(ck_pool *, size_t), ck_pool *pool, size_t argument) {
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (unsigned spins = 1;; spins++) {
        if (ready(pool, argument)) return 1;
        if (spins < 64) {
            CK_PAUSE();
        } else {
            // A thread that has waited a while lets any other runnable thread have its core
            // (on a busy machine, often the very thread it waits for).
            sched_yield();
        }
        if ((spins & 255) == 0 && elapsed_since(&start) > spin_nanoseconds) return 0;
    }
}

static int region_changed(ck_pool *pool, size_t seen) {
    return region_of(atomic_load_explicit(&pool->region, memory_order_acquire)) != (uint32_t)seen;
}

static int all_finished(ck_pool *pool, size_t parts) {
    return atomic_load_explicit(&pool->finished, memory_order_acquire) == parts;
}

/// Claims and runs parts of region `number` until none is left; returns when it finds none.
static void run_parts(ck_pool *pool, uint32_t number) {
    uint64_t word = atomic_load(&pool->region);
    for (;;) {
        if (region_of(word) != number || next_of(word) >= parts_of(word)) return;
        if (!atomic_compare_exchange_weak(&pool->region, &word, word + 1)) continue;
        pool->task(pool->context, next_of(word));
        atomic_fetch_add(&pool->finished, 1);
        if (atomic_load(&pool->caller_sleeps)) {
            pthread_mutex_lock(&pool->mutex);
            pthread_cond_signal(&pool->done);
            pthread_mutex_unlock(&pool->mutex);
        }
        word = atomic_load(&pool->region);
    }
}

static void *worker_main(void *argument) {
    ck_pool *pool = argument;
    uint32_t seen = 0;
    for (;;) {
        if (!spin_until(region_changed, pool, seen)) {
            pthread_mutex_lock(&pool->mutex);
            atomic_fetch_add(&pool->sleepers, 1);
            while (region_of(atomic_load(&pool->region)) == seen) pthread_cond_wait(&pool->wake, &pool->mutex);
            atomic_fetch_sub(&pool->sleepers, 1);
            pthread_mutex_unlock(&pool->mutex);
        }
        if (atomic_load(&pool->stopping)) return NULL;
        seen = region_of(atomic_load(&pool->region));
        run_parts(pool, seen);
    }
}

ck_pool *ck_pool_create(size_t threads) {
    if (threads < 2) return NULL;
    ck_pool *pool = calloc(1, sizeof(ck_pool));
    if (!pool) return NULL;
    pool->threads = threads;
    pool->workers = calloc(threads - 1, sizeof(pthread_t));
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->done, NULL);
    if (!pool->workers) {
        ck_pool_destroy(pool);
        return NULL;
    }
    for (size_t i = 1; i < threads; i++) {
        if (pthread_create(&pool->workers[i - 1], NULL, worker_main, pool) != 0) break;
        pool->worker_count++;
    }
    if (pool->worker_count != threads - 1) {
        ck_pool_destroy(pool);
        return NULL;
    }
    return pool;
}

void ck_pool_destroy(ck_pool *pool) {
    if (!pool) return;
    atomic_store(&pool->stopping, 1);
    pthread_mutex_lock(&pool->mutex);
    uint64_t word = atomic_load(&pool->region);
    atomic_store(&pool->region, region_word(region_of(word) + 1, 0, 0));
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (size_t i = 0; i < pool->worker_count; i++) pthread_join(pool->workers[i], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_cond_destroy(&pool->done);
    pthread_mutex_destroy(&pool->mutex);
    free(pool->workers);
    free(pool);
}

void ck_pool_run(ck_pool *pool, size_t parts, ck_pool_task task, void *context) {
    int idle = 0;
    if (!pool || parts < 2 || parts > 0xFFFF || !atomic_compare_exchange_strong(&pool->busy, &idle, 1)) {
        for (size_t part = 0; part < parts; part++) task(context, part);
        return;
    }
    pool->task = task;
    pool->context = context;
    atomic_store_explicit(&pool->finished, 0, memory_order_relaxed);
    uint32_t number = region_of(atomic_load(&pool->region)) + 1;
    atomic_store(&pool->region, region_word(number, parts, 0));
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->mutex);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->mutex);
    }
    run_parts(pool, number);
    if (!spin_until(all_finished, pool, parts)) {
        pthread_mutex_lock(&pool->mutex);
        atomic_store(&pool->caller_sleeps, 1);
        while (atomic_load(&pool->finished) != parts) pthread_cond_wait(&pool->done, &pool->mutex);
        atomic_store(&pool->caller_sleeps, 0);
        pthread_mutex_unlock(&pool->mutex);
    }
    atomic_store_explicit(&pool->busy, 0, memory_order_release);
}
