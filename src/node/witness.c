/* The node's audit witness (node/internal.h, docs/audit.md "Witness"): the signed head of the
 * audit trail sent outside the site, to an append-only file or to another esealsd. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eseal/audit.h"
#include "eseal/clients.h"
#include "eseal/keydev.h"
#include "eseal/witness.h"
#include "node/internal.h"

struct node_witness {
    es_api_ctx *x;
    es_sched *sched;
    es_signer *key;       /* http: signs the requests as witness_client */
    int64_t sent_seq;     /* the newest checkpoint the witness holds (acknowledged) */
    int64_t next_ms;      /* when to send next (monotonic ms) */
    int64_t alarm_seq;    /* the witnessed seq an alarm was recorded for (once each) */
    int64_t alarm_logged; /* when it was last logged (monotonic ms) */
    pthread_mutex_t mu;   /* the scheduler thread and the stopping thread */
};

static int64_t mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

es_err node_audit(es_api_ctx *x, const char *action, const char *object, const char *detail)
{
    es_store *s = es_api_store(x);
    if (!s || !x->audit) return ES_ERR_UNAVAILABLE;
    es_audit_record r = {0};
    r.actor = "system";
    r.action = action;
    r.object = object;
    r.detail = detail;
    es_err rv = es_audit_prepare(x->audit, &r);
    if (rv != ES_OK) return rv;
    if ((rv = es_store_begin(s)) != ES_OK) return rv;
    if ((rv = es_audit_append(s, NULL, &r)) == ES_OK) rv = es_store_commit(s);
    if (rv != ES_OK) es_store_rollback(s);
    return rv;
}

/* The witness refused the site's head: it disagrees with, or is behind, what the witness
 * holds. Said loudly once per head: the log (error) and the trail. */
static void alarm(node_witness *w, const es_audit_head *h, int64_t about, const char *why)
{
    es_api_ctx *x = w->x;
    /* Logged when it starts, then once a minute while it lasts. */
    int64_t now = mono_ms();
    if (w->alarm_seq == about && now - w->alarm_logged < 60000) return;
    w->alarm_logged = now;
    es_api_log(x, ES_LOG_ERROR,
               "AUDIT WITNESS ALARM: checkpoint %lld not accepted by the witness %s: %s (verify "
               "the trail with eseal audit verify --witness)",
               (long long)h->seq, x->cfg.audit_witness, why);
    /* Recorded once for each witnessed checkpoint the trail disagrees with: the record moves
     * the head, and its checkpoint would be refused again. */
    if (w->alarm_seq == about) return;
    w->alarm_seq = about;
    char detail[700];
    snprintf(detail, sizeof detail, "{\"witness\":\"%.200s\",\"seq\":%lld,\"reason\":\"%.400s\"}",
             x->cfg.audit_witness, (long long)h->seq, why);
    for (char *c = detail; *c; c++)
        if (*c == '\\') *c = '/'; /* keep the JSON simple: no escapes in the reason */
    es_err rv = node_audit(x, "audit.witness_refused", "audit:head", detail);
    if (rv != ES_OK)
        es_api_log(x, ES_LOG_ERROR, "cannot record the witness alarm: %s", es_err_str(rv));
}

es_err node_witness_send(node_witness *w)
{
    if (!w) return ES_OK;
    es_api_ctx *x = w->x;
    es_store *s = es_api_store(x);
    if (!s) return ES_ERR_UNAVAILABLE;
    es_audit_head h;
    es_err rv = es_audit_head_get(s, &h);
    if (rv != ES_OK) return rv;
    pthread_mutex_lock(&w->mu);
    if (h.seq <= 0 || h.seq == w->sent_seq) goto out; /* nothing new to send */
    char why[600] = "";
    int written = 0, found = 0;
    const char *dest = x->cfg.audit_witness;
    es_audit_witnessed held;
    /* What the witness holds must still be in the trail as it was: a trail rewritten or
     * set back is an alarm even when its head is newer than the witness's. */
    if (strncmp(dest, "file:", 5) == 0)
        rv = es_audit_witness_file_newest(dest + 5, &held, &found, why, sizeof why);
    else
        rv = es_witness_http_newest(dest, x->cfg.audit_witness_client, w->key, &held, &found, why,
                                    sizeof why);
    int64_t about = h.seq;
    if (rv == ES_OK && found && (rv = es_audit_witness_check(s, &held, why, sizeof why)) != ES_OK)
        about = held.seq;
    if (rv != ES_OK) {
        /* not sent: an alarm or a witness that cannot be reached, below */
    } else if (strncmp(dest, "file:", 5) == 0)
        rv = es_audit_witness_file_append(dest + 5, &h, x->site.audit_pub, &written, why,
                                          sizeof why);
    else
        rv = es_witness_http_send(dest, x->cfg.audit_witness_client, w->key, &h, x->site.audit_pub,
                                  why, sizeof why);
    if (rv == ES_OK) {
        w->sent_seq = h.seq;
        es_api_log(x, ES_LOG_DEBUG, "audit witness: checkpoint %lld sent", (long long)h.seq);
    } else if (rv == ES_ERR_WITNESS) {
        alarm(w, &h, about, why);
    } else {
        /* Down or unreachable: tried again at the next time; writes go on meanwhile. */
        es_api_log(x, ES_LOG_WARN, "audit witness %s: checkpoint %lld not sent: %s", dest,
                   (long long)h.seq, why[0] ? why : es_err_str(rv));
    }
out:
    pthread_mutex_unlock(&w->mu);
    return rv;
}

/* The scheduler's job: looks often, sends every witness_ms. */
static es_err job_witness(void *arg)
{
    node_witness *w = arg;
    int64_t now = mono_ms();
    if (now < w->next_ms) return ES_OK;
    w->next_ms = now + w->x->cfg.audit_witness_ms;
    return node_witness_send(w);
}

es_err node_witness_start(es_api_ctx *x, node_witness **out, char *why, size_t whylen)
{
    *out = NULL;
    const es_config *c = &x->cfg;
    if (!c->audit_witness[0]) return ES_OK;
    node_witness *w = calloc(1, sizeof *w);
    if (!w) return ES_ERR_NOMEM;
    es_err rv = ES_OK;
    w->x = x;
    pthread_mutex_init(&w->mu, NULL);
    if (strncmp(c->audit_witness, "http://", 7) == 0) {
        if (!c->audit_witness_client[0] || !c->audit_witness_key[0]) {
            snprintf(why, whylen,
                     "[audit] witness %s needs witness_client (the name this site is registered "
                     "under there) and witness_key (its key)",
                     c->audit_witness);
            rv = ES_ERR_CONFIG;
            goto fail;
        }
        if ((rv = es_keydev_signer(c->audit_witness_key, &x->site.pin, &w->key)) != ES_OK) {
            snprintf(why, whylen, "[audit] witness_key %s: %s", c->audit_witness_key,
                     es_err_str(rv));
            goto fail;
        }
    }
    /* Its own thread: a witness that is slow to answer delays no checkpoint. */
    unsigned tick = c->audit_witness_ms < 500 ? c->audit_witness_ms : 500;
    if ((rv = es_sched_new(&w->sched)) != ES_OK ||
        (rv = es_sched_add(w->sched, "audit-witness", tick, job_witness, w)) != ES_OK ||
        (rv = es_sched_start(w->sched, NULL, NULL)) != ES_OK) {
        snprintf(why, whylen, "cannot start the audit witness: %s", es_err_str(rv));
        goto fail;
    }
    *out = w;
    return ES_OK;
fail:
    es_sched_free(w->sched);
    es_signer_free(w->key);
    pthread_mutex_destroy(&w->mu);
    free(w);
    return rv;
}

void node_witness_stop(node_witness *w)
{
    if (!w) return;
    es_sched_free(w->sched);
    w->sched = NULL;
    es_err rv = node_witness_send(w);        /* the checkpoint written at stop */
    if (rv != ES_OK && rv != ES_ERR_WITNESS) /* an alarm was logged and recorded already */
        es_api_log(w->x, ES_LOG_WARN, "audit witness: the last checkpoint was not sent: %s",
                   es_err_str(rv));
    es_signer_free(w->key);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
