/* eseal castore: the CA's state in the store (docs/ca.md "State"; LD/T 01.1 §9.3: the CA's
 * state is backed up with the rest). pki keeps the certificate logic and defines the state it
 * needs (es_ca_state_ops, include/eseal/pki.h); this is its implementation on es_store, one
 * SQL text for both backends (tables ca_certs and ca_state, docs/store.md version 3).
 *
 *   - a write unit takes the CA's lock without waiting: es_store_begin_try on the lock
 *     "eseal.ca:<id>" (SQLite: the database's write lock, PostgreSQL: an advisory
 *     transaction lock); another holder gives ES_ERR_BUSY at once;
 *   - a read (list, get) runs in es_store_begin_read's snapshot and never waits;
 *   - with an audit signer each change appends its audit record in the same transaction:
 *     ca.issue (object cert:SERIAL), ca.revoke (cert:SERIAL), ca.release (cert:SERIAL: a hold
 *     released), ca.crl (crl:CA-ID/NUMBER),
 *     ca.import (ca:CA-ID); a rollback leaves neither.
 *
 * Thread safety: an es_castore is one binding of one store connection: one thread at a time
 * (as the connection). Threads sharing one es_ca each bind their own connection. */
#ifndef ESEAL_CASTORE_H
#define ESEAL_CASTORE_H

#include "eseal/audit.h"
#include "eseal/err.h"
#include "eseal/pki.h"
#include "eseal/signer.h"
#include "eseal/store.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

/* A binding of the CA state to the caller's store connection (migrated to version 3 or
 * later). Caller storage; nothing is owned. */
typedef struct es_castore {
    es_store *store;
    es_signer *audit;                 /* the audit key; NULL: no audit records */
    const char *actor;                /* who acts (NULL: "system") */
    const char *role;                 /* the role acted in (NULL: "") */
    struct es_castore_issued *issued; /* NULL, or the ca.issue record of the next record op,
                                         signed beforehand (es_castore_issue_prepare) */
} es_castore;

/* The ca.issue audit record of a prepared certificate (es_ca_issue_prepare), signed before the
 * write unit so that no SM2 signature happens under the CA's lock (issue 10): set cs->issued
 * to it, and the record op of that certificate appends it instead of signing one (a record op
 * of another serial or CA is refused, ES_ERR_ARG, nothing written). Without cs->audit nothing
 * is prepared (ready stays 0). One record: appended once (again only after a rollback). */
typedef struct es_castore_issued {
    es_audit_record rec;
    char ca[2 * ES_PKI_KEY_ID_LEN + 1];
    char object[64];
    char *actor, *role, *detail;
    int ready;
} es_castore_issued;

/* Signs the ca.issue record of p for cs (its audit key, actor and role) into out (zeroed, or
 * freed first). Thread-safe if the audit signer is. */
es_err es_castore_issue_prepare(es_castore *cs, const es_ca *ca, const es_ca_issued *p,
                                es_castore_issued *out) ES_MUST_CHECK;
void es_castore_issued_free(es_castore_issued *p);

/* The operations on es_store. */
extern const es_ca_state_ops es_castore_ops;

/* The state binding of cs, for es_ca_issue_in & co. */
es_ca_state es_castore_state(es_castore *cs);

/* A CA change inside the caller's own transaction, so that it and the caller's rows (a client
 * registered with the certificate just issued, a client revoked with its certificate) commit
 * or roll back together: es_castore_begin_joined begins the write unit holding ca's lock
 * (ES_ERR_BUSY at once when another holds it); es_ca_issue_in & co. with
 * es_castore_joined_state(cs) then work inside it without beginning or ending it; the caller
 * ends it with es_store_commit or es_store_rollback on cs->store. */
es_err es_castore_begin_joined(es_castore *cs, const es_ca *ca) ES_MUST_CHECK;
es_ca_state es_castore_joined_state(es_castore *cs);

/* Imports the index of a CA directory made before the state moved into the store
 * (DIR/index.txt, DIR/crlnumber, DIR/certs/SERIAL.pem where present) into cs's store in one
 * write unit (every row, status, revocation, the CRL number; audited as ca.import), then
 * renames index.txt to index.txt.migrated. Nothing to do (*imported 0) without index.txt.
 * A CA already in the store (its ca_state row exists) is not imported again: the file is
 * only renamed. ES_ERR_CONFIG (why: the file and line) for an index that cannot be read,
 * ES_ERR_EXISTS for a serial twice; nothing is stored then. ES_ERR_BUSY when another
 * process holds the CA. imported may be NULL. */
es_err es_castore_import(es_castore *cs, es_ca *ca, int *imported, char *why,
                         size_t whylen) ES_MUST_CHECK;

/* For a daemon whose workers each bind their own connection: reads the CA in dir
 * (es_ca_load, no key, no default state) and imports an old index.txt into cs's store
 * (es_castore_import, audited with cs->audit). Then, per call, es_castore_state of the
 * worker's own es_castore with es_ca_issue_in & co. Marks dir (DIR/state-in-store) so that a
 * directory open of it (es_ca_open, eseal ca --dir) is refused from then on rather than
 * starting a second state beside the store's. */
es_err es_castore_open(const char *dir, es_castore *cs, es_ca **out, char *why,
                       size_t whylen) ES_MUST_CHECK;

/* Opens the CA in dir with its state in DIR/ca.db (a SQLite store, created and migrated on
 * first use; an old index.txt is imported, es_castore_import). The state is the CA's default
 * (es_ca_issue, es_ca_revoke, es_ca_crl, es_ca_list(ca, NULL, ...)), owned and closed with
 * the CA; without audit records. Errors as es_ca_load, plus ES_ERR_IO when ca.db cannot be
 * opened and ES_ERR_BUSY as above; ES_ERR_CONFIG (why says to use --store) for a CA whose
 * state is in a daemon's store (es_castore_open marked it). */
es_err es_ca_open(const char *dir, es_ca **out, char *why, size_t whylen) ES_MUST_CHECK;

/* Opens the CA in dir with its state in the store at url (a daemon's store; migrated to the
 * newest schema first): the default state is a connection of its own, owned by the CA;
 * with audit (may be NULL, not owned: it must outlive the CA) each change is audited as
 * actor. An old index.txt in dir is imported into that store. */
es_err es_ca_open_url(const char *dir, const char *url, es_signer *audit, const char *actor,
                      es_ca **out, char *why, size_t whylen) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
