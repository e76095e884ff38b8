/* GB/T 2260 division codes: the table of data/divisions.tsv, built in (cmake/national.cmake
 * generates divisions_data.h from it), searched by binary search. */
#include <stdio.h>
#include <string.h>

#include "eseal/national.h"
#include "svc/national/internal.h"

#include "divisions_data.h"

#define N_DIVISIONS (sizeof division_rows / sizeof division_rows[0])

static int six_digits(const char *s)
{
    if (!s || strnlen(s, 7) != 6) return 0;
    for (int i = 0; i < 6; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static void fill(const division_row *r, es_division *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->code, r->code, 7);
    snprintf(out->name, sizeof out->name, "%s", r->name);
    snprintf(out->full, sizeof out->full, "%s", r->full);
    out->level = r->level;
}

/* The index of the first row whose code is >= key (a prefix of 0-6 digits compares as the
 * code it starts). */
static size_t lower_bound(const char *key)
{
    size_t lo = 0, hi = N_DIVISIONS, klen = strlen(key);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strncmp(division_rows[mid].code, key, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

es_err es_division_find(const char *code, es_division *out, es_reason *why)
{
    if (why) why->en = why->zh = NULL;
    if (!six_digits(code)) {
        if (why) {
            why->en = "a division code has 6 digits (GB/T 2260)";
            why->zh = "行政区划代码应为 6 位数字（GB/T 2260）";
        }
        return ES_ERR_ARG;
    }
    size_t i = lower_bound(code);
    if (i == N_DIVISIONS || strcmp(division_rows[i].code, code) != 0) {
        if (why) {
            why->en = "no such division code (GB/T 2260)";
            why->zh = "行政区划代码不存在（GB/T 2260）";
        }
        return ES_ERR_NOT_FOUND;
    }
    if (out) fill(&division_rows[i], out);
    return ES_OK;
}

size_t es_division_count(void)
{
    return N_DIVISIONS;
}

es_err es_division_at(size_t i, es_division *out)
{
    if (!out) return ES_ERR_ARG;
    if (i >= N_DIVISIONS) return ES_ERR_NOT_FOUND;
    fill(&division_rows[i], out);
    return ES_OK;
}

es_err es_division_list(const char *prefix, es_division *out, size_t max, size_t *n, size_t *total)
{
    if (!prefix || !n || (max && !out)) return ES_ERR_ARG;
    size_t plen = strnlen(prefix, 7);
    if (plen > 6) return ES_ERR_ARG;
    for (size_t k = 0; k < plen; k++)
        if (prefix[k] < '0' || prefix[k] > '9') return ES_ERR_ARG;
    *n = 0;
    size_t i = lower_bound(prefix), all = 0;
    for (; i < N_DIVISIONS && strncmp(division_rows[i].code, prefix, plen) == 0; i++, all++)
        if (*n < max) fill(&division_rows[i], &out[(*n)++]);
    if (total) *total = all;
    return ES_OK;
}

const char *es_division_source(void)
{
    return division_source;
}
