/* http: request metrics in Prometheus text format (docs/http.md, "Metrics").
 *
 * Labels are bounded: a route is its pattern (never the path), a method outside the routed
 * ones is "other", and a request no route took is "static" or "unmatched". One mutex guards
 * the counters; a request takes it twice (begin, end) for a few additions.
 */
#include <stdlib.h>
#include <string.h>

#include "http/internal.h"

/* Upper bounds of the latency buckets, seconds (the +Inf bucket is the count). */
static const double bucket_le[HTTP_BUCKETS] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,    0.25,  0.5,    1,     2.5,  5};
static const char *const bucket_txt[HTTP_BUCKETS] = {"0.0005", "0.001", "0.0025", "0.005", "0.01",
                                                     "0.025",  "0.05",  "0.1",    "0.25",  "0.5",
                                                     "1",      "2.5",   "5"};

es_err http_metrics_init(http_metrics *m, size_t nroutes)
{
    memset(m, 0, sizeof *m);
    m->nlabels = nroutes + 2;
    m->hist = calloc(m->nlabels * M_COUNT, sizeof *m->hist);
    if (!m->hist) return ES_ERR_NOMEM;
    if (pthread_mutex_init(&m->lock, NULL) != 0) {
        free(m->hist);
        m->hist = NULL;
        return ES_ERR_NOMEM;
    }
    return ES_OK;
}

void http_metrics_cleanup(http_metrics *m)
{
    if (!m->hist) return;
    pthread_mutex_destroy(&m->lock);
    free(m->hist);
    m->hist = NULL;
}

void http_metrics_begin(http_metrics *m)
{
    pthread_mutex_lock(&m->lock);
    m->in_flight++;
    pthread_mutex_unlock(&m->lock);
}

void http_metrics_end(http_metrics *m, size_t label, int method, unsigned status, double seconds)
{
    if (label >= m->nlabels) label = m->nlabels - 1;
    if (method < 0 || method >= M_COUNT) method = M_OTHER;
    pthread_mutex_lock(&m->lock);
    m->in_flight--;
    if (status == 0) {
        m->aborted++;
        goto out;
    }
    http_hist *hs = &m->hist[label * M_COUNT + (size_t)method];
    hs->count++;
    hs->sum += seconds;
    for (size_t b = 0; b < HTTP_BUCKETS; b++) {
        if (seconds <= bucket_le[b]) {
            hs->bucket[b]++;
            break;
        }
    }
    size_t k;
    for (k = 0; k < hs->nstatus; k++)
        if (hs->status[k].status == status) break;
    if (k == hs->nstatus) {
        /* Statuses are the server's own, a handful per route; past the table they share the
         * last row's count under its status rather than growing without bound. */
        if (hs->nstatus < HTTP_MAX_STATUSES)
            hs->status[hs->nstatus++].status = status;
        else
            k = HTTP_MAX_STATUSES - 1;
    }
    hs->status[k].count++;
out:
    pthread_mutex_unlock(&m->lock);
}

long http_metrics_in_flight(http_metrics *m)
{
    pthread_mutex_lock(&m->lock);
    long n = m->in_flight;
    pthread_mutex_unlock(&m->lock);
    return n;
}

static const char *label_name(const http_router *rt, size_t label)
{
    if (label < rt->n) return rt->routes[label].pattern;
    return label == rt->n ? "static" : "unmatched";
}

/* Label values are patterns we validated (no quote, backslash or newline) or fixed words. */
es_err http_metrics_print(http_metrics *m, const http_router *rt, es_buf *out)
{
    es_err rv = ES_OK;
    http_hist *snap = NULL;
    long in_flight;
    uint64_t aborted;
    size_t n = m->nlabels * M_COUNT;

    if (!(snap = malloc(n * sizeof *snap))) return ES_ERR_NOMEM;
    pthread_mutex_lock(&m->lock);
    memcpy(snap, m->hist, n * sizeof *snap);
    in_flight = m->in_flight;
    aborted = m->aborted;
    pthread_mutex_unlock(&m->lock);

#define P(...)                                                                                     \
    do {                                                                                           \
        if ((rv = es_buf_printf(out, __VA_ARGS__)) != ES_OK) goto out;                             \
    } while (0)

    P("# HELP eseal_http_requests_total HTTP requests answered, by route, method and status.\n"
      "# TYPE eseal_http_requests_total counter\n");
    for (size_t i = 0; i < n; i++) {
        const http_hist *hs = &snap[i];
        for (size_t k = 0; k < hs->nstatus; k++)
            P("eseal_http_requests_total{route=\"%s\",method=\"%s\",status=\"%u\"} %llu\n",
              label_name(rt, i / M_COUNT), http_method_name((int)(i % M_COUNT)),
              hs->status[k].status, (unsigned long long)hs->status[k].count);
    }
    P("# HELP eseal_http_request_duration_seconds Time from the request line to the end of the "
      "response.\n"
      "# TYPE eseal_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < n; i++) {
        const http_hist *hs = &snap[i];
        if (!hs->count) continue;
        const char *route = label_name(rt, i / M_COUNT);
        const char *method = http_method_name((int)(i % M_COUNT));
        uint64_t cum = 0;
        for (size_t b = 0; b < HTTP_BUCKETS; b++) {
            cum += hs->bucket[b];
            P("eseal_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"%s\"} "
              "%llu\n",
              route, method, bucket_txt[b], (unsigned long long)cum);
        }
        P("eseal_http_request_duration_seconds_bucket{route=\"%s\",method=\"%s\",le=\"+Inf\"} "
          "%llu\n",
          route, method, (unsigned long long)hs->count);
        P("eseal_http_request_duration_seconds_sum{route=\"%s\",method=\"%s\"} %.6f\n", route,
          method, hs->sum);
        P("eseal_http_request_duration_seconds_count{route=\"%s\",method=\"%s\"} %llu\n", route,
          method, (unsigned long long)hs->count);
    }
    P("# HELP eseal_http_requests_in_flight Requests received and not yet answered.\n"
      "# TYPE eseal_http_requests_in_flight gauge\n"
      "eseal_http_requests_in_flight %ld\n",
      in_flight);
    P("# HELP eseal_http_requests_aborted_total Requests that ended without a response (client "
      "gone, timeout, body over the limit in chunked encoding).\n"
      "# TYPE eseal_http_requests_aborted_total counter\n"
      "eseal_http_requests_aborted_total %llu\n",
      (unsigned long long)aborted);
#undef P
out:
    free(snap);
    return rv;
}
