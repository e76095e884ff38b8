/* eseal clients: business systems (API clients) and their signed requests (LD/T 01.1 9.4;
 * docs/api-clients.md).
 *
 * A business system (人社业务系统) is registered by a business administrator with a name, the
 * roles it acts with, and an SM2 certificate issued by the site's CA. It then authenticates
 * every request by signing it with that certificate's key:
 *
 *   Authorization: ESEAL-SM2 client="NAME", timestamp="2026-11-26T19:00:00Z",
 *                  nonce="16 to 64 of A-Z a-z 0-9 _ -", signature="BASE64"
 *
 * where the signature is SM2 with SM3 and the default ID 1234567812345678 (GM/T 0009) over
 * the string to sign, seven lines joined by "\n" (no trailing newline):
 *
 *   ESEAL-SM2
 *   NAME                    the client's name, as in the header
 *   METHOD                  upper case, as sent
 *   TARGET                  the request target as sent: path and "?query" when there is one
 *   TIMESTAMP               the header's timestamp, byte for byte
 *   NONCE                   the header's nonce
 *   SM3(BODY)               lower-case hex of the SM3 of the body bytes (of "" when none)
 *
 * The signature value is DER SEQUENCE{r, s} (what `openssl dgst -sm3 -sign` makes) or raw
 * r||s, in base64. A request is refused (ES_ERR_AUTH, with the reason) when the header is
 * malformed, the client is unknown, disabled or revoked, its certificate is outside its
 * validity, the timestamp is further than the allowed skew from the server's clock, the nonce
 * was seen before from this client (a replay), or the signature does not verify. Refusals of a
 * known client are audited ("client.auth_failed", at most as fast as a rate limit allows);
 * nonces are kept for twice the skew.
 *
 * Client roles: business duties that act on documents only (operator, approver, reviewer,
 * seal_issuer); administration and audit are done by people, in the console.
 */
#ifndef ESEAL_CLIENTS_H
#define ESEAL_CLIENTS_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/accounts.h"
#include "eseal/crypto.h"
#include "eseal/err.h"
#include "eseal/pki.h"
#include "eseal/ratelimit.h"
#include "eseal/signer.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

#define ES_CLIENT_SCHEME       "ESEAL-SM2"
#define ES_CLIENT_NAME_MAX     ES_ACCOUNT_NAME_MAX
#define ES_CLIENT_NONCE_MIN    16
#define ES_CLIENT_NONCE_MAX    64
#define ES_CLIENT_SKEW_DEFAULT 300 /* seconds either side of the server's clock */
#define ES_CLIENT_HEADER_MAX   1024
#define ES_CLIENT_SUBJECT_MAX  512
/* The roles a client may hold. */
#define ES_CLIENT_ROLES                                                                            \
    (ES_ROLE_BIT(ES_ROLE_OPERATOR) | ES_ROLE_BIT(ES_ROLE_APPROVER) |                               \
     ES_ROLE_BIT(ES_ROLE_REVIEWER) | ES_ROLE_BIT(ES_ROLE_SEAL_ISSUER))

typedef struct es_client {
    int64_t id;
    char name[ES_CLIENT_NAME_MAX + 1];
    es_roles roles;
    char serial[2 * 20 + 1]; /* the certificate's serial, lower-case hex */
    char subject[ES_CLIENT_SUBJECT_MAX + 1];
    es_time not_before, not_after;
    uint8_t pub[ES_SM2_PUB_LEN];
    int disabled;
    int revoked;
    int64_t created_at;
    char created_by[ES_ACCOUNT_NAME_MAX + 8];
} es_client;

/* ES_OK when a client may hold these roles (at least one, all in ES_CLIENT_ROLES); otherwise
 * ES_ERR_ARG with a static sentence. */
es_err es_client_roles_check(es_roles roles, const char **why) ES_MUST_CHECK;

/* Registers a client with a certificate (DER) that issuer_cert (DER: the site's CA) signed,
 * valid now, with an SM2 key and digitalSignature usage when it names key usages. Needs
 * ES_PERM_CLIENTS (refusals are audited). ES_ERR_ARG (name, roles, certificate: *why says
 * which), ES_ERR_EXISTS (the name, or a client with the same certificate). */
es_err es_client_register(es_accounts *a, const es_actor *by, const char *name, es_roles roles,
                          es_slice cert, es_slice issuer_cert, es_client *out,
                          const char **why) ES_MUST_CHECK;
/* Registers a client with a certificate that ca (open, logged in, its state in a->store) issues
 * now for req (a PKCS#10 request, profile "user" for business systems): the certificate, the
 * client and both audit records are one transaction holding the CA's lock, all or nothing (no
 * certificate is ever issued for a registration that fails). ES_ERR_EXISTS for a taken name
 * before anything is signed; ES_ERR_LINT with lint's problems; ES_ERR_BUSY when another
 * process holds the CA (try again); ES_ERR_ARG (*why) as es_client_register. cert receives the
 * DER (emptied on failure). */
es_err es_client_register_issue(es_accounts *a, const es_actor *by, es_ca *ca, const char *name,
                                es_roles roles, const es_ca_request *req, es_pki_lint *lint,
                                es_buf *cert, es_client *out, const char **why) ES_MUST_CHECK;
/* One client (ES_PERM_CLIENTS); cert (may be NULL) receives its certificate DER. */
es_err es_client_get(es_accounts *a, const es_actor *by, const char *name, es_client *out,
                     es_buf *cert) ES_MUST_CHECK;
typedef es_err (*es_client_cb)(void *ctx, const es_client *c);
/* Clients in name order after `after` (NULL: from the start), at most limit (0: all). */
es_err es_client_list(es_accounts *a, const es_actor *by, const char *after, int64_t limit,
                      es_client_cb cb, void *ctx) ES_MUST_CHECK;
/* Disables or enables a client (ES_PERM_CLIENTS). A revoked client cannot be enabled
 * (ES_ERR_ARG). */
es_err es_client_set_disabled(es_accounts *a, const es_actor *by, const char *name,
                              int disabled) ES_MUST_CHECK;
/* Marks a client revoked and disabled for good (its certificate is revoked at the CA by the
 * caller, who holds the CA). ES_ERR_REVOKED when it is revoked already. */
es_err es_client_revoke(es_accounts *a, const es_actor *by, const char *name,
                        const char *reason) ES_MUST_CHECK;
/* Revokes a client and its certificate at ca (reason: an RFC 5280 code) in one transaction
 * holding the CA's lock, audited as client.revoke and ca.revoke. *cert_revoked (may be NULL)
 * is 1 when the certificate is revoked (now or before), 0 when ca's index does not hold it
 * (the client is revoked all the same). ES_ERR_REVOKED for a revoked client, ES_ERR_BUSY
 * when another process holds the CA. */
es_err es_client_revoke_ca(es_accounts *a, const es_actor *by, es_ca *ca, const char *name,
                           int reason, int *cert_revoked) ES_MUST_CHECK;

/* The parsed Authorization header of a signed request (strings NUL-terminated). */
typedef struct es_client_auth {
    char client[ES_CLIENT_NAME_MAX + 1];
    char timestamp[40];
    char nonce[ES_CLIENT_NONCE_MAX + 1];
    uint8_t r[32], s[32];
} es_client_auth;

/* 1 when header uses the ESEAL-SM2 scheme (then es_client_auth_parse decides the rest). */
int es_client_auth_is_signed(const char *header);
/* Parses the header. ES_ERR_FORMAT with a static sentence in *why. */
es_err es_client_auth_parse(const char *header, es_client_auth *out,
                            const char **why) ES_MUST_CHECK;
/* Appends the string to sign (the seven lines above). */
es_err es_client_string_to_sign(const char *client, const char *method, const char *target,
                                const char *timestamp, const char *nonce, es_slice body,
                                es_buf *out) ES_MUST_CHECK;

/* Authenticates a request: parses the header, loads the client, checks its state and
 * certificate validity, the timestamp against now within skew seconds, the signature, and
 * records the nonce (a replay is refused). ES_OK with the client in out; ES_ERR_AUTH with the
 * reason in why (a static sentence); ES_ERR_IO when the store fails. audit_limit (may be
 * NULL: audit every refusal) bounds the audited refusals per client (key "client:NAME");
 * those over it are refused all the same and counted (es_client_unaudited_refusals). */
es_err es_client_authenticate(es_accounts *a, const char *header, const char *method,
                              const char *target, es_slice body, es_time now, unsigned skew,
                              es_ratelimit *audit_limit, es_client *out,
                              const char **why) ES_MUST_CHECK;
/* Refusals not audited because of an audit_limit, since the process started. */
uint64_t es_client_unaudited_refusals(void);

/* Makes the Authorization header value of a request (for integrators, the CLI and tests):
 * timestamp NULL: now; nonce NULL: 32 random hex digits. Appends to out (no NUL). */
es_err es_client_sign_request(es_signer *key, const char *client, const char *method,
                              const char *target, es_slice body, const char *timestamp,
                              const char *nonce, es_buf *out) ES_MUST_CHECK;

/* The actor of a client: name "client:NAME", its roles. name_buf holds the name (at least
 * ES_CLIENT_NAME_MAX + 8 bytes) and must outlive the actor. */
es_actor es_actor_of_client(const es_client *c, char *name_buf, size_t cap);

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
