/* The site's side of a witness daemon (include/eseal/witness.h): one signed HTTP/1.1
 * request per connection, plain sockets, bounded in time and size. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "eseal/clients.h"
#include "eseal/witness.h"
#include "node/internal.h"

/* The error reply's message ({"error":..., "message":..., "detail":...}) into why. */
static void reply_reason(const es_buf *answer, unsigned status, char *why, size_t whylen)
{
    const char *d = NULL, *m = NULL;
    size_t dl = 0, ml = 0;
    const char *p = answer->p ? (const char *)answer->p : "";
    const char *dk = strstr(p, "\"detail\":\""), *mk = strstr(p, "\"message\":\"");
    if (dk) {
        d = dk + 10;
        dl = strcspn(d, "\"");
    }
    if (mk) {
        m = mk + 11;
        ml = strcspn(m, "\"");
    }
    snprintf(why, whylen, "HTTP %u: %.*s%s%.*s", status, (int)(ml < 200 ? ml : 200), m ? m : "",
             d ? ": " : "", (int)(dl < 400 ? dl : 400), d ? d : "");
}

es_err es_witness_http_send(const char *base, const char *client, es_signer *key,
                            const es_audit_head *h, const uint8_t pub[ES_SM2_PUB_LEN], char *why,
                            size_t whylen)
{
    char scratch[8];
    if (!why || !whylen) why = scratch, whylen = sizeof scratch;
    why[0] = 0;
    if (!base || !client || !key || !h || !pub) return ES_ERR_ARG;
    es_buf body, answer;
    es_buf_init(&body, 2048);
    es_buf_init(&answer, 64u << 10);
    char pubhex[2 * ES_SM2_PUB_LEN + 1];
    es_hex_encode(pub, ES_SM2_PUB_LEN, pubhex);
    unsigned status = 0;
    es_err rv = es_audit_witness_line(h, pub, &body);
    /* The line with "pub" added: replace its closing "}\n". */
    if (rv == ES_OK && body.len >= 2) {
        body.len -= 2;
        rv = es_buf_printf(&body, ",\"pub\":\"%s\"}", pubhex);
    }
    if (rv == ES_OK)
        rv = node_http_exchange(base, ES_WITNESS_PATH, NULL, client, key, "POST",
                                es_slice_make(body.p, body.len), &status, &answer, NULL, NULL, 0,
                                why, whylen);
    if (rv == ES_OK && status != 200 && status != 201) {
        reply_reason(&answer, status, why, whylen);
        rv = status == 409 ? ES_ERR_WITNESS : ES_ERR_UNAVAILABLE;
    }
    es_buf_cleanup(&body);
    es_buf_cleanup(&answer);
    return rv;
}

static es_err fetch(const char *base, const char *client, es_signer *key, const char *query,
                    es_audit_witness *w, char *why, size_t whylen)
{
    char scratch[8];
    if (!why || !whylen) why = scratch, whylen = sizeof scratch;
    why[0] = 0;
    if (!w) return ES_ERR_ARG;
    memset(w, 0, sizeof *w);
    if (!base || !client || !key) return ES_ERR_ARG;
    es_buf answer;
    es_buf_init(&answer, ES_WITNESS_MAX_ANSWER);
    unsigned status = 0;
    es_err rv =
        node_http_exchange(base, ES_WITNESS_PATH, query, client, key, "GET", es_slice_make(NULL, 0),
                           &status, &answer, NULL, NULL, 0, why, whylen);
    if (rv == ES_OK && status != 200) {
        reply_reason(&answer, status, why, whylen);
        rv = status == 401 ? ES_ERR_AUTH : ES_ERR_UNAVAILABLE;
    }
    if (rv == ES_OK) rv = es_audit_witness_parse(answer.p, answer.len, w, why, whylen);
    es_buf_cleanup(&answer);
    return rv;
}

es_err es_witness_http_fetch(const char *base, const char *client, es_signer *key,
                             es_audit_witness *w, char *why, size_t whylen)
{
    return fetch(base, client, key, NULL, w, why, whylen);
}

es_err es_witness_http_newest(const char *base, const char *client, es_signer *key,
                              es_audit_witnessed *out, int *found, char *why, size_t whylen)
{
    if (!out || !found) return ES_ERR_ARG;
    *found = 0;
    es_audit_witness w;
    es_err rv = fetch(base, client, key, "newest=1", &w, why, whylen);
    if (rv == ES_OK && w.n) {
        *out = w.cp[w.n - 1];
        *found = 1;
    }
    es_audit_witness_cleanup(&w);
    return rv;
}
