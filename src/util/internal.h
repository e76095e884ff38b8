/* Private to the util layer and its tests. */
#ifndef ESEAL_UTIL_INTERNAL_H
#define ESEAL_UTIL_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* Test-only: when set, es_buf calls it with each block it gives up while growing, after
 * wiping it and before freeing it, so a test can check that no copy of a secret is left in
 * freed memory. NULL (the default) in every program; not thread-safe to change. */
extern void (*buf_release_hook)(const uint8_t *p, size_t n);

#endif
