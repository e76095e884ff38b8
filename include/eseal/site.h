/* eseal site: what a daemon needs before it serves, made on first start when missing.
 *
 *   VAR/                      the site's directory (0750)
 *   VAR/keys/                 the soft key store (0700): root.key, system.key, audit.key
 *   VAR/keys/passphrase       the key passphrase (0600) when no PIN is in the environment
 *                             and every key is a soft key (a test site; production keeps keys
 *                             in a crypto card and the PIN in the service's environment)
 *   VAR/keys/audit.pub        the audit key's public key (PEM): `eseal audit verify --pub`
 *   VAR/keys/system.crt       the daemon's system certificate (PEM), issued by the seal root
 *                             for the system key (es_site_system_cert)
 *   VAR/keys/status.crt       the status system's certificate (status-system profile) for its
 *                             own key, [keys] status (es_site_status_cert)
 *   VAR/ca/                   the seal root CA (pki.h, castore.h): ca.crt, profiles, its state
 *                             in VAR/ca/ca.db
 *
 * Keys named by sdf: or skf: references are never generated: they must exist. Everything is
 * idempotent: a second start finds the files and changes nothing.
 */
#ifndef ESEAL_SITE_H
#define ESEAL_SITE_H

#include <stddef.h>

#include "eseal/castore.h"
#include "eseal/config.h"
#include "eseal/keydev.h"
#include "eseal/err.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

typedef void (*es_site_log)(void *ctx, const char *line);

#define ES_SITE_MAX_WARNINGS 4
#define ES_SITE_WARNING_MAX  (ES_CONFIG_PATH + 128)

typedef struct es_site {
    es_config cfg;
    es_secret_src pin;           /* the keys' PIN: environment or passphrase file */
    char pin_buf[ES_SECRET_MAX]; /* the passphrase read from the file (wiped at cleanup) */
    char ca_dir[ES_CONFIG_PATH + 8];
    char audit_pub_path[ES_CONFIG_PATH + 32];
    uint8_t audit_pub[ES_SM2_PUB_LEN];
    uint8_t system_pub[ES_SM2_PUB_LEN];
    char system_cert_path[ES_CONFIG_PATH + 32];
    es_buf system_cert; /* DER, after es_site_system_cert */
    /* What es_site_system_cert did: issued (1) the certificate of serial system_serial, and
     * revoked the one of system_replaced (empty: none). */
    int system_issued;
    char system_serial[41], system_replaced[41];
    /* The status system's key ([keys] status) and certificate (status-system profile) at
     * VAR/keys/status.crt, when the status system runs (es_site_status_cert). */
    int has_status_key;
    uint8_t status_pub[ES_SM2_PUB_LEN];
    char status_cert_path[ES_CONFIG_PATH + 32];
    es_buf status_cert;
    int status_issued;
    char status_serial[41], status_replaced[41];
    int created; /* 1 when this start created anything */
    /* Set by the caller of es_site_system_cert when the configured port is ephemeral (0): a
     * certificate naming the same URL with another port is kept (it would otherwise be issued
     * again at every start); [server] public_url names the real address. */
    int system_any_port;
    /* Set by a daemon whose seal root keeps its state in the daemon's store (es_castore_open,
     * logged in): es_site_system_cert issues and revokes there, on ca_state, instead of opening
     * ca_dir with its state in ca_dir/ca.db. Not owned. */
    es_ca *ca;
    const es_ca_state *ca_state;
    /* What es_site_prepare found that an operator must fix before the site holds real seals
     * (issue 13, item 3 b): the root or audit key's passphrase in the key's own directory, or
     * anywhere under var (whoever has the site's files then has the keys: the audit trail can
     * be rewritten and signed again). Short English sentences, e.g. "audit key passphrase
     * beside the key in var/keys"; the daemon says them at start (stderr, the audit trail,
     * GET /healthz "warnings"). docs/esealsd.md "Keys in production". */
    size_t n_warnings;
    char warnings[ES_SITE_MAX_WARNINGS][ES_SITE_WARNING_MAX];
    const char *warning_list[ES_SITE_MAX_WARNINGS]; /* pointers to warnings[], for es_http */
} es_site;

/* Makes what is missing (keys, passphrase, CA) and checks what exists (every key opens with
 * the PIN). log (may be NULL) gets one line per thing made. ES_ERR_CONFIG / ES_ERR_PIN /
 * ES_ERR_IO / key device errors, with a sentence in why. */
es_err es_site_prepare(const es_config *c, es_site *s, es_site_log log, void *ctx, char *why,
                       size_t whylen) ES_MUST_CHECK;
void es_site_cleanup(es_site *s);

/* The daemon's system certificate (LD/T 01.1 7.3.2, 7.3.3): kept when VAR/keys/system.crt is
 * for the system key, names url in its subjectAltName and is valid for 30 days more;
 * otherwise issued from the seal root (profile maker-system when the making system runs,
 * else status-system; subject C=CN, ST=the province, O=the site name, CN=the site name and
 * the system) and written there, the certificate it replaces revoked as superseded. url is
 * how other systems reach this one, with its port ("http://10.1.2.3:8440/"). The DER is left
 * in s->system_cert. */
es_err es_site_system_cert(es_site *s, const char *url, es_site_log log, void *ctx, char *why,
                           size_t whylen) ES_MUST_CHECK;
/* The status system's certificate (LD/T 01.1 7.3.3; ST10), as es_site_system_cert does for the
 * system key: kept or issued (profile status-system) for the status key at VAR/keys/status.crt,
 * naming url; the DER left in s->status_cert. ES_ERR_ARG when the status system does not run. */
es_err es_site_status_cert(es_site *s, const char *url, es_site_log log, void *ctx, char *why,
                           size_t whylen) ES_MUST_CHECK;
/* The province (ST) named by the first two digits of a GB/T 2260 division code; NULL when
 * they name none (000000). */
const char *es_division_province(const char *division);

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
