/* eseal ratelimit: bounded, thread-safe, in-memory limits for expensive requests (sign-in:
 * each attempt costs an argon2id hash of 64 MiB).
 *
 * es_ratelimit is a table of token buckets keyed by a string ("ip:192.0.2.1", "user:alice").
 * A key starts with burst tokens; each attempt takes one; tokens come back at per_minute a
 * minute, up to burst. The table has a fixed number of slots, allocated at creation and never
 * grown: when a new key finds no free slot, the entry with the most tokens (after refill) is
 * evicted, the oldest among equals. An entry at a full bucket says nothing a fresh one would
 * not, so evicting it loses nothing; a key that is being limited (few tokens) goes last.
 * The slots are grouped in sets of ES_RATELIMIT_WAYS chosen by a keyed hash (SipHash-2-4, with
 * a random key per table), so an eviction looks at one set only and outsiders cannot aim
 * their keys at a given set.
 *
 * es_gate bounds how many expensive operations run at once (a counting semaphore with a
 * timeout).
 *
 * Time is passed in as milliseconds of a monotonic clock (es_ratelimit_clock_ms), so tests
 * can run on virtual time. State lives in this process only: several daemons behind a load
 * balancer each limit on their own.
 *
 * Thread safety: every function may be called from any number of threads at once on the same
 * object (each object has its own mutex), except _free, which needs all other calls to have
 * returned.
 */
#ifndef ESEAL_RATELIMIT_H
#define ESEAL_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/err.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

/* Longest key (bytes, without the NUL): "ip:" and an IPv6 address, or "user:" and an account
 * name, fit with room to spare. */
#define ES_RATELIMIT_MAX_KEY 63u
/* Slots per set (the capacity is rounded up to a multiple of it). */
#define ES_RATELIMIT_WAYS 8u
/* Largest table (slots); about 100 bytes each. */
#define ES_RATELIMIT_MAX_SLOTS (1u << 20)

typedef struct es_ratelimit es_ratelimit;

typedef struct es_ratelimit_stats {
    size_t capacity; /* slots */
    size_t used;     /* slots holding a key */
    uint64_t granted, refused, evicted;
} es_ratelimit_stats;

/* Creates a table of slots slots (rounded up to a multiple of ES_RATELIMIT_WAYS), each key
 * allowed burst attempts at once and per_minute a minute after that. All memory is allocated
 * here. ES_ERR_ARG when a number is 0, slots is over ES_RATELIMIT_MAX_SLOTS or out is NULL;
 * ES_ERR_NOMEM. *out is owned by the caller (es_ratelimit_free). */
es_err es_ratelimit_new(size_t slots, unsigned burst, unsigned per_minute,
                        es_ratelimit **out) ES_MUST_CHECK;
/* Frees the table. NULL: no-op. */
void es_ratelimit_free(es_ratelimit *rl);

/* Takes one token of key (NUL-terminated, at most ES_RATELIMIT_MAX_KEY bytes) at time now_ms
 * (es_ratelimit_clock_ms, or virtual time; a time earlier than the key's last is read as the
 * last). ES_OK: a token was taken, *retry_after is 0. ES_ERR_LIMIT: none left, nothing
 * changes but the refusal count, and *retry_after is the whole seconds (at least 1) until one
 * is back (for an HTTP 429 Retry-After). retry_after may be NULL. ES_ERR_ARG for a NULL or
 * too long key. */
es_err es_ratelimit_take(es_ratelimit *rl, const char *key, int64_t now_ms,
                         unsigned *retry_after) ES_MUST_CHECK;
/* es_ratelimit_take at es_ratelimit_clock_ms(). */
es_err es_ratelimit_take_now(es_ratelimit *rl, const char *key,
                             unsigned *retry_after) ES_MUST_CHECK;
/* Forgets key: its bucket is full again (after a successful sign-in, say). No-op when the key
 * is not held or is invalid. */
void es_ratelimit_reset(es_ratelimit *rl, const char *key);
/* A snapshot of the counters (for metrics). */
void es_ratelimit_stats_get(es_ratelimit *rl, es_ratelimit_stats *out);

/* Milliseconds of CLOCK_MONOTONIC. */
int64_t es_ratelimit_clock_ms(void);

/* A gate that lets at most max callers inside at once. */
typedef struct es_gate es_gate;

/* Creates a gate for max callers at once. ES_ERR_ARG when max is 0 or out NULL; ES_ERR_NOMEM.
 * *out is owned by the caller (es_gate_free). */
es_err es_gate_new(unsigned max, es_gate **out) ES_MUST_CHECK;
/* Frees the gate; nobody may be inside or waiting. NULL: no-op. */
void es_gate_free(es_gate *g);
/* Enters, waiting up to timeout_ms milliseconds (monotonic) for a place; 0 does not wait.
 * ES_OK: inside, the caller must call es_gate_leave once. ES_ERR_LIMIT: no place within the
 * timeout (for an HTTP 503 with Retry-After). */
es_err es_gate_enter(es_gate *g, unsigned timeout_ms) ES_MUST_CHECK;
/* Leaves after a successful es_gate_enter and wakes one waiter. */
void es_gate_leave(es_gate *g);
/* How many callers are inside now (for metrics). */
unsigned es_gate_inside(es_gate *g);
/* How many callers are blocked in es_gate_enter waiting for a place now (a test's barrier:
 * once it says 1, that caller is waiting). Thread-safe. */
unsigned es_gate_waiting(es_gate *g);

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
