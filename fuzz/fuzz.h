/* Helpers shared by the libFuzzer targets (fuzz/fuzz_<name>.c). Not part of the library.
 *
 * Every target frees everything it allocates so that LeakSanitizer stays quiet, and renders
 * whatever the library produced (text and JSON) so the printers are exercised too.
 */
#ifndef ESEAL_FUZZ_H
#define ESEAL_FUZZ_H

#include <stdint.h>
#include <stdlib.h>

#include "eseal/report.h"
#include "eseal/seal.h"

/* A fixed "now" keeps runs reproducible: 2024-01-01T00:00:00Z. */
#define FUZZ_NOW ((es_time)1704067200)

/* Finishes a report and renders it both ways; a report that cannot be rendered (other than
 * for hitting the named size limit) is a bug. */
static inline void fuzz_render_report(es_report *rep)
{
    es_buf out;
    es_report_finish(rep);
    es_buf_init(&out, ES_MAX_REPORT);
    if (es_report_json(rep, &out) != ES_OK) abort();
    es_buf_cleanup(&out);
    if (es_report_text(rep, &out) != ES_OK) abort();
    es_buf_cleanup(&out);
}

#endif
