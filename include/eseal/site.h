/* eseal site: what a daemon needs before it serves, made on first start when missing.
 *
 *   VAR/                      the site's directory (0750)
 *   VAR/keys/                 the soft key store (0700): root.key, system.key, audit.key
 *   VAR/keys/passphrase       the key passphrase (0600) when no PIN is in the environment
 *                             and every key is a soft key (a test site; production keeps keys
 *                             in a crypto card and the PIN in the service's environment)
 *   VAR/keys/audit.pub        the audit key's public key (PEM): `eseal audit verify --pub`
 *   VAR/ca/                   the seal root CA (pki.h): ca.crt, profiles, index, CRL number
 *
 * Keys named by sdf: or skf: references are never generated: they must exist. Everything is
 * idempotent: a second start finds the files and changes nothing.
 */
#ifndef ESEAL_SITE_H
#define ESEAL_SITE_H

#include <stddef.h>

#include "eseal/config.h"
#include "eseal/keydev.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*es_site_log)(void *ctx, const char *line);

typedef struct es_site {
    es_config cfg;
    es_secret_src pin;           /* the keys' PIN: environment or passphrase file */
    char pin_buf[ES_SECRET_MAX]; /* the passphrase read from the file (wiped at cleanup) */
    char ca_dir[ES_CONFIG_PATH + 8];
    char audit_pub_path[ES_CONFIG_PATH + 32];
    uint8_t audit_pub[ES_SM2_PUB_LEN];
    int created; /* 1 when this start created anything */
} es_site;

/* Makes what is missing (keys, passphrase, CA) and checks what exists (every key opens with
 * the PIN). log (may be NULL) gets one line per thing made. ES_ERR_CONFIG / ES_ERR_PIN /
 * ES_ERR_IO / key device errors, with a sentence in why. */
es_err es_site_prepare(const es_config *c, es_site *s, es_site_log log, void *ctx, char *why,
                       size_t whylen) ES_MUST_CHECK;
void es_site_cleanup(es_site *s);

#ifdef __cplusplus
}
#endif
#endif
