/* Industry-internal seal codes (LD/T 01.1 §7.4; docs/national.md "Industry seal codes"):
 * "RS" + the 6-digit division + an 8-digit serial, the pattern the CA's seal profile accepts
 * (etc/profiles.conf code_pattern ^RS[0-9]{14}$). Starting with letters, such a code is never
 * one of the 14-digit national codes. */
#include <stdio.h>
#include <string.h>

#include "eseal/national.h"

es_err es_code_next_in(es_store *st, const char *division6, char out[ES_SEAL_CODE_MAX])
{
    if (!st || !division6 || !out) return ES_ERR_ARG;
    out[0] = 0;
    if (strnlen(division6, 7) != 6) return ES_ERR_ARG;
    for (int i = 0; i < 6; i++)
        if (division6[i] < '0' || division6[i] > '9') return ES_ERR_ARG;
    if (!es_store_in_tx(st)) return ES_ERR_ARG;
    /* One statement takes the division's next serial and holds its row until the caller's
     * transaction ends: a concurrent transaction of the same division waits for it (the row
     * lock on PostgreSQL, the write lock on SQLite) and then reads the committed value, so a
     * rollback leaves no gap. A new division's first row is inserted the same way (ON
     * CONFLICT waits for a concurrent insert of it). At the last serial the WHERE refuses the
     * update: no row changes. */
    es_value p[2] = {es_v_text(division6), es_v_int(ES_SEAL_SERIAL_MAX)};
    int64_t changes = 0, serial = 0;
    es_err rv = es_store_exec(st,
                              "INSERT INTO seal_code_serials (division, last_serial) VALUES (?, 1) "
                              "ON CONFLICT (division) DO UPDATE SET last_serial = "
                              "seal_code_serials.last_serial + 1 WHERE "
                              "seal_code_serials.last_serial < ?",
                              p, 2, &changes);
    if (rv != ES_OK) return rv;
    if (changes != 1) return ES_ERR_LIMIT;
    rv = es_store_query_int(st, "SELECT last_serial FROM seal_code_serials WHERE division = ?", p,
                            1, &serial);
    if (rv != ES_OK) return rv;
    if (serial < 1 || serial > ES_SEAL_SERIAL_MAX) return ES_ERR_INTERNAL;
    snprintf(out, ES_SEAL_CODE_MAX, "RS%s%08lld", division6, (long long)serial);
    return ES_OK;
}
