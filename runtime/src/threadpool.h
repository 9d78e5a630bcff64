/* threadpool.h: the worker threads of one context. A pool of T threads is the
 * caller plus T - 1 persistent workers, started when the context is made and
 * joined when it is freed; a parallel_for hands them tasks without allocating. */
#ifndef IBERT_THREADPOOL_H
#define IBERT_THREADPOOL_H

#include <stddef.h>

#include "ibert.h"

typedef struct threadpool threadpool;

/* One task of a parallel_for: task < n_tasks, worker < the pool's thread count
 * (0 is the calling thread). A worker runs one task at a time, so worker can index
 * per-thread scratch. */
typedef void (*threadpool_task_fn)(void *arg, size_t task, size_t worker);

/* A pool of n_threads threads (n_threads >= 1; 1 starts no thread). Fails with
 * IBERT_ERR_OUT_OF_MEMORY, and a message, if the system refuses a thread. */
ibert_status threadpool_new(size_t n_threads, threadpool **out_pool);
/* Stops and joins the workers (in a forked child, which has none, only frees the
 * memory). NULL is allowed. Not during a parallel_for. */
void threadpool_free(threadpool *pool);
size_t threadpool_threads(const threadpool *pool);

/* Runs fn(arg, task, worker) once for every task in 0 ... n_tasks - 1, spread over
 * the pool's threads, the caller included; returns when all have finished, and
 * everything they wrote is then visible to the caller. Tasks may run in any order
 * on any thread, so each must write only its own outputs. One caller at a time.
 * In a child process forked after the pool was made, the caller runs every task. */
void threadpool_parallel_for(threadpool *pool, size_t n_tasks, threadpool_task_fn fn, void *arg);

#endif
