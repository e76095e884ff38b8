/* The CA (docs/ca.md): what does not change is read from its directory,
 *
 *   DIR/config         [ca] key = REF, crl_days, crl_url, crl_sm2_id (written last by init)
 *   DIR/profiles.conf  the certificate profiles this CA issues under (read at every start)
 *   DIR/ca.crt         the CA certificate (PEM); DIR/chain.crt its issuers (intermediates)
 *
 * and everything that changes (certificates issued, revocations, CRL numbers) goes through
 * an es_ca_state the caller binds (svc keeps it in the store). Nothing here writes a file
 * but es_ca_init. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pki/internal.h"

#define CA_PATH_MAX 4096
#define DAY         86400
#define SERIAL_HEX  (2 * ES_PKI_SERIAL_MAX + 1)

typedef struct ca_config {
    char key_ref[2 * ES_KEYREF_MAX_PATH];
    char crl_url[1024];
    long crl_days;
    char crl_sm2_id[256];
} ca_config;

struct es_ca {
    char dir[CA_PATH_MAX];
    char id[2 * ES_PKI_KEY_ID_LEN + 1];
    ca_config cfg;
    es_buf cert; /* DER */
    es_pki_cert ci;
    es_buf chain; /* PEM */
    es_buf profiles_text;
    es_profiles profiles;
    uint8_t key_id[ES_PKI_KEY_ID_LEN];
    size_t key_id_len;
    es_signer *signer; /* a pool of device sessions of the CA key (es_keydev_signer_pool):
                          thread-safe; issuance signs outside any lock (es_ca_issue_prepare) */
    es_ca_state state; /* the default state; ops NULL: none */
    int state_owned;
    int mutexes;              /* 1 once the one below is initialised */
    pthread_mutex_t write_mu; /* one write unit of this es_ca at a time in the process */
};

static es_err path_of(const char *dir, const char *name, char out[CA_PATH_MAX])
{
    int n = snprintf(out, CA_PATH_MAX, "%s/%s", dir, name);
    return n < 0 || n >= CA_PATH_MAX ? ES_ERR_LIMIT : ES_OK;
}

static int exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* --- config --- */

static es_err config_key(void *ctx, const char *section, const char *key, const char *v, char *why,
                         size_t whylen)
{
    ca_config *c = ctx;
    if (strcmp(section, "ca") != 0) {
        snprintf(why, whylen, "unknown section [%s] (only [ca])", section);
        return ES_ERR_CONFIG;
    }
    if (!key) return ES_OK;
    size_t l = strlen(v);
    if (!strcmp(key, "key") && l < sizeof c->key_ref) {
        memcpy(c->key_ref, v, l + 1);
    } else if (!strcmp(key, "crl_url") && l < sizeof c->crl_url) {
        memcpy(c->crl_url, v, l + 1);
    } else if (!strcmp(key, "crl_sm2_id") && l < sizeof c->crl_sm2_id) {
        memcpy(c->crl_sm2_id, v, l + 1);
    } else if (!strcmp(key, "crl_days")) {
        char *end = NULL;
        c->crl_days = strtol(v, &end, 10);
        if (!*v || *end || c->crl_days < 1 || c->crl_days > 3650) {
            snprintf(why, whylen, "crl_days: 1 to 3650");
            return ES_ERR_CONFIG;
        }
    } else {
        snprintf(why, whylen, "unknown or too long key '%s'", key);
        return ES_ERR_CONFIG;
    }
    return ES_OK;
}

static es_err config_write(const char *dir, const ca_config *c)
{
    char path[CA_PATH_MAX];
    es_buf b;
    es_buf_init(&b, 16384);
    es_err rv = path_of(dir, "config", path);
    if (rv == ES_OK)
        rv = es_buf_printf(&b,
                           "# eseal CA configuration, written by `eseal ca init` (docs/ca.md).\n"
                           "[ca]\n"
                           "# the CA key: soft:DIR#NAME, sdf:LIB#INDEX or skf:LIB#DEV/APP/CON\n"
                           "key = %s\n"
                           "# days from thisUpdate to nextUpdate of the CRLs\n"
                           "crl_days = %ld\n"
                           "# where the CRL is published (cRLDistributionPoints); empty: none\n"
                           "crl_url = %s\n"
                           "# SM2 ID of CRL signatures: the GB/T 35276 default; empty signs\n"
                           "# with the empty ID, the only one OpenSSL 3.0 verifies CRLs with\n"
                           "crl_sm2_id = %s\n",
                           c->key_ref, c->crl_days, c->crl_url, c->crl_sm2_id);
    if (rv == ES_OK) rv = es_file_write_mode(path, b.p, b.len, 0644);
    es_buf_cleanup(&b);
    return rv;
}

/* --- serials and the old index --- */

static int hex_ok(const char *s)
{
    if (!*s || strlen(s) % 2 || strlen(s) > 2 * (ES_PKI_SERIAL_MAX + 1)) return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f'))) return 0;
    return 1;
}

int es_ca_serial_norm(const char *in, char out[SERIAL_HEX])
{
    char t[2 * ES_PKI_SERIAL_MAX + 8];
    size_t k = 0;
    if (!in || !out) return 0;
    if (in[0] == '0' && (in[1] == 'x' || in[1] == 'X')) in += 2;
    for (; *in; in++) {
        char c = *in;
        if (c == ':') continue;
        if (c >= 'A' && c <= 'F') c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) || k + 2 >= sizeof t) return 0;
        t[k++] = c;
    }
    t[k] = 0;
    if (!k) return 0;
    const char *p = t;
    if (k % 2) { /* "abc" is 0x0abc */
        memmove(t + 1, t, k + 1);
        t[0] = '0';
        k++;
    }
    /* No leading zero octets; a sign octet before a first octet >= 0x80 (INTEGER content). */
    while (p[0] == '0' && p[1] == '0' && p[2]) p += 2;
    size_t sign = p[0] >= '8' ? 2 : 0, len = strlen(p);
    if (len + sign > 2 * ES_PKI_SERIAL_MAX) return 0;
    memcpy(out, "00", sign);
    memcpy(out + sign, p, len + 1);
    return 1;
}

static es_err parse_gentime(const char *s, es_time *out)
{
    if (strlen(s) != 15) return ES_ERR_TIME;
    return es_der_parse_time(es_slice_make(s, 15), ES_DER_GEN_TIME, out, NULL);
}

es_err es_ca_index_read(es_slice text, es_ca_entry_cb cb, void *ctx, char *why, size_t whylen)
{
    const uint8_t *p = text.p, *end = text.p + text.len;
    int lineno = 0;
    char *line = NULL;
    es_err rv = ES_OK;
    if (why && whylen) why[0] = 0;
    if (!cb || (!p && text.len)) return ES_ERR_ARG;
    while (rv == ES_OK && p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lineno++;
        free(line);
        if (!(line = malloc(n + 1))) return ES_ERR_NOMEM;
        memcpy(line, p, n);
        line[n] = 0;
        p += n + (nl ? 1 : 0);
        if (!line[0] || line[0] == '#') continue;
        char *f[7];
        int k = 0;
        for (char *s = line; k < 7; k++) {
            f[k] = s;
            char *tab = strchr(s, '\t');
            if (!tab) {
                k++;
                break;
            }
            *tab = 0;
            s = tab + 1;
        }
        es_ca_entry e;
        memset(&e, 0, sizeof e);
        e.revoked_at = ES_TIME_NONE;
        e.issued_at = ES_TIME_NONE;
        if (k != 7 || !hex_ok(f[0]) || !es_ca_serial_norm(f[0], e.serial) || f[1][1] ||
            (f[1][0] != 'V' && f[1][0] != 'R') || parse_gentime(f[2], &e.not_after) != ES_OK ||
            strlen(f[5]) >= sizeof e.profile || !f[5][0]) {
            rv = ES_ERR_CONFIG;
            break;
        }
        e.status = f[1][0];
        if (e.status == ES_CA_REVOKED) {
            if (parse_gentime(f[3], &e.revoked_at) != ES_OK ||
                (e.reason = es_pki_reason_from_name(f[4])) < 0) {
                rv = ES_ERR_CONFIG;
                break;
            }
        } else if (strcmp(f[3], "-") || strcmp(f[4], "-")) {
            rv = ES_ERR_CONFIG;
            break;
        }
        memcpy(e.profile, f[5], strlen(f[5]) + 1);
        e.subject = f[6];
        if ((rv = cb(ctx, &e)) != ES_OK) break;
    }
    free(line);
    if (rv == ES_ERR_CONFIG && why) snprintf(why, whylen, "index.txt line %d: unreadable", lineno);
    return rv;
}

/* --- open, close, login --- */

/* Reads DIR/name; on failure why names the file. */
static es_err read_file(const char *dir, const char *name, size_t max, es_buf *b, char *why,
                        size_t whylen)
{
    char path[CA_PATH_MAX];
    es_buf_init(b, max);
    es_err rv = path_of(dir, name, path);
    if (rv == ES_OK) rv = es_file_read(path, b);
    if (rv != ES_OK && why)
        snprintf(why, whylen, "%s: %s", name,
                 rv == ES_ERR_NOT_FOUND ? "missing"
                 : rv == ES_ERR_LIMIT   ? "too large"
                                        : "cannot be read");
    return rv;
}

static es_err load_cert(es_ca *ca, es_slice pem)
{
    es_err rv = es_pki_pem_decode(pem.p, pem.len, "CERTIFICATE", &ca->cert);
    if (rv != ES_OK) return rv;
    if (es_pki_cert_parse(es_slice_make(ca->cert.p, ca->cert.len), &ca->ci) != ES_OK ||
        !ca->ci.is_sm2)
        return ES_ERR_CERT;
    if (ca->ci.ski.len && ca->ci.ski.len <= ES_PKI_KEY_ID_LEN) {
        memcpy(ca->key_id, ca->ci.ski.p, ca->ci.ski.len);
        ca->key_id_len = ca->ci.ski.len;
    } else {
        if ((rv = es_pki_key_id(ca->ci.pub, ca->key_id)) != ES_OK) return rv;
        ca->key_id_len = ES_PKI_KEY_ID_LEN;
    }
    return ES_OK;
}

es_err es_ca_load(const char *dir, es_ca **out, char *why, size_t whylen)
{
    char path[CA_PATH_MAX];
    es_buf b;
    es_err rv;
    if (why && whylen) why[0] = 0;
    if (!dir || !out) return ES_ERR_ARG;
    if (strlen(dir) >= CA_PATH_MAX - 64) return ES_ERR_LIMIT;
    if ((rv = path_of(dir, "config", path)) != ES_OK) return rv;
    if (!exists(path)) return ES_ERR_NOT_FOUND;
    es_ca *ca = calloc(1, sizeof *ca);
    if (!ca) return ES_ERR_NOMEM;
    snprintf(ca->dir, sizeof ca->dir, "%s", dir);
    es_buf_init(&ca->cert, ES_MAX_CERT_DER);
    es_buf_init(&ca->chain, ES_MAX_CERT_DER * 16);
    es_buf_init(&ca->profiles_text, ES_PKI_MAX_PROFILES_FILE);
    es_buf_init(&b, 0);
    ca->cfg.crl_days = 7;
    snprintf(ca->cfg.crl_sm2_id, sizeof ca->cfg.crl_sm2_id, "%s", ES_SM2_DEFAULT_ID);
    if (pthread_mutex_init(&ca->write_mu, NULL) != 0) {
        free(ca);
        return ES_ERR_NOMEM;
    }
    ca->mutexes = 1;

    if ((rv = read_file(dir, "config", 65536, &b, why, whylen)) != ES_OK) goto out;
    char inner[256];
    if ((rv = es_ini_parse(es_slice_make(b.p, b.len), config_key, &ca->cfg, inner, sizeof inner)) !=
        ES_OK) {
        if (why) snprintf(why, whylen, "config: %s", inner);
        goto out;
    }
    if (!ca->cfg.key_ref[0]) {
        if (why) snprintf(why, whylen, "config: no key = REF");
        rv = ES_ERR_CONFIG;
        goto out;
    }
    es_buf_cleanup(&b);

    if ((rv = read_file(dir, "profiles.conf", ES_PKI_MAX_PROFILES_FILE, &ca->profiles_text, why,
                        whylen)) != ES_OK)
        goto out;
    if ((rv = es_pki_profiles_parse(es_slice_make(ca->profiles_text.p, ca->profiles_text.len),
                                    &ca->profiles, inner, sizeof inner)) != ES_OK) {
        if (why) snprintf(why, whylen, "profiles.conf: %s", inner);
        goto out;
    }

    if ((rv = read_file(dir, "ca.crt", ES_MAX_CERT_DER * 4, &b, why, whylen)) != ES_OK) goto out;
    if ((rv = load_cert(ca, es_slice_make(b.p, b.len))) != ES_OK) {
        if (why) snprintf(why, whylen, "ca.crt: not an SM2 certificate");
        rv = ES_ERR_CONFIG;
        goto out;
    }
    es_buf_cleanup(&b);

    if ((rv = path_of(dir, "chain.crt", path)) != ES_OK) goto out;
    if (exists(path) && (rv = es_file_read(path, &ca->chain)) != ES_OK) goto out;

    es_hex_encode(ca->key_id, ca->key_id_len, ca->id);
out:
    es_buf_cleanup(&b);
    if (rv != ES_OK) {
        es_ca_close(ca);
        return rv;
    }
    *out = ca;
    return ES_OK;
}

void es_ca_close(es_ca *ca)
{
    if (!ca) return;
    if (ca->state_owned && ca->state.ops && ca->state.ops->close)
        ca->state.ops->close(ca->state.ctx);
    es_signer_free(ca->signer);
    es_buf_cleanup(&ca->cert);
    es_buf_cleanup(&ca->chain);
    es_buf_cleanup(&ca->profiles_text);
    if (ca->mutexes) pthread_mutex_destroy(&ca->write_mu);
    free(ca);
}

es_err es_ca_login(es_ca *ca, const es_secret_src *pin)
{
    if (!ca) return ES_ERR_ARG;
    if (ca->signer) return ES_OK;
    es_signer *s = NULL, *pooled = NULL;
    es_err rv = es_keydev_signer(ca->cfg.key_ref, pin, &s);
    if (rv != ES_OK) return rv;
    if (memcmp(s->pub, ca->ci.pub, ES_SM2_PUB_LEN) != 0) {
        es_signer_free(s);
        return ES_ERR_KEY_MISMATCH;
    }
    if ((rv = es_keydev_signer_pool(s, ca->cfg.key_ref, pin, &pooled)) != ES_OK) {
        es_signer_free(s);
        return rv;
    }
    ca->signer = pooled;
    return ES_OK;
}

es_slice es_ca_cert(const es_ca *ca)
{
    return es_slice_make(ca->cert.p, ca->cert.len);
}

es_slice es_ca_chain(const es_ca *ca)
{
    return es_slice_make(ca->chain.p, ca->chain.len);
}

const es_profiles *es_ca_profiles(const es_ca *ca)
{
    return &ca->profiles;
}

const char *es_ca_key_ref(const es_ca *ca)
{
    return ca->cfg.key_ref;
}

const char *es_ca_dir(const es_ca *ca)
{
    return ca->dir;
}

const char *es_ca_id(const es_ca *ca)
{
    return ca->id;
}

void es_ca_set_state(es_ca *ca, const es_ca_state *st, int owned)
{
    if (!ca) return;
    if (ca->state_owned && ca->state.ops && ca->state.ops->close)
        ca->state.ops->close(ca->state.ctx);
    memset(&ca->state, 0, sizeof ca->state);
    ca->state_owned = 0;
    if (st && st->ops) {
        ca->state = *st;
        ca->state_owned = owned;
    }
}

/* --- issuing --- */

/* 16 random octets, the top two bits 01: positive, 16 octets long in the encoding, and never
 * zero. 126 random bits (RFC 5280 4.1.2.2 asks for at most 20 octets; CA/B for 64 bits). */
static es_err random_serial(uint8_t s[ES_PKI_SERIAL_LEN])
{
    es_err rv = es_random(s, ES_PKI_SERIAL_LEN);
    s[0] = (uint8_t)(0x40 | (s[0] & 0x3f));
    return rv;
}

/* The hex of an INTEGER's content octets as es_der_w_uint writes a magnitude. */
static void serial_hex(const uint8_t *s, size_t len, char out[SERIAL_HEX + 2])
{
    while (len > 1 && s[0] == 0) {
        s++;
        len--;
    }
    size_t k = 0;
    if (s[0] & 0x80) {
        out[k++] = '0';
        out[k++] = '0';
    }
    es_hex_encode(s, len, out + k);
}

typedef struct issue_args {
    const es_profile *profile;
    const es_name *subject;
    const uint8_t *pub;
    const es_pki_san *san;
    size_t n_san;
    int seal_source;
    long days;
    es_time not_before;
    const uint8_t *serial;
    size_t serial_len;
} issue_args;

/* Whether a serial is recorded (get answering at all). */
static es_err seen_cb(void *ctx, const es_ca_entry *e)
{
    (void)e;
    *(int *)ctx = 1;
    return ES_OK;
}

static es_err serial_taken(es_ca *ca, const es_ca_state *st, const char *hex, int *taken)
{
    *taken = 0;
    es_err rv = st->ops->get(st->ctx, ca->id, hex, seen_cb, taken);
    return rv == ES_ERR_NOT_FOUND ? ES_OK : rv;
}

static int state_ok(const es_ca_state *st)
{
    return st && st->ops && st->ops->begin && st->ops->commit && st->ops->rollback &&
           st->ops->get && st->ops->list && st->ops->record && st->ops->revoke &&
           st->ops->crl_next && st->ops->crl_record;
}

/* One write unit: the process's writers of this CA in turn, then the state's lock, which is
 * never waited for (ES_ERR_BUSY). */
static es_err write_begin(es_ca *ca, const es_ca_state *st)
{
    pthread_mutex_lock(&ca->write_mu);
    es_err rv = st->ops->begin(st->ctx, ca->id, 1);
    if (rv != ES_OK) pthread_mutex_unlock(&ca->write_mu);
    return rv;
}

static es_err write_end(es_ca *ca, const es_ca_state *st, es_err rv)
{
    if (rv == ES_OK)
        rv = st->ops->commit(st->ctx);
    else
        st->ops->rollback(st->ctx);
    pthread_mutex_unlock(&ca->write_mu);
    return rv;
}

void es_ca_issued_init(es_ca_issued *p)
{
    memset(p, 0, sizeof *p);
    es_buf_init(&p->cert, ES_MAX_CERT_DER);
    es_buf_init(&p->subject, 16384);
}

void es_ca_issued_free(es_ca_issued *p)
{
    if (!p) return;
    es_buf_cleanup(&p->cert);
    es_buf_cleanup(&p->subject);
    memset(&p->entry, 0, sizeof p->entry);
}

/* Lints, signs and checks one certificate issued by ca into p (nothing recorded). st: the
 * state to look a given serial up in (a->serial; NULL for a random serial, which needs no
 * state: 126 random bits, and the state's record refuses a taken one). */
static es_err ca_prepare(es_ca *ca, const es_ca_state *st, const issue_args *a, es_pki_lint *lint,
                         es_ca_issued *p)
{
    es_pki_tbs t;
    char hex[SERIAL_HEX + 2];
    es_err rv = ES_OK;
    es_time now = es_time_now();
    memset(&t, 0, sizeof t);
    p->cert.len = 0;
    p->subject.len = 0;
    memset(&p->entry, 0, sizeof p->entry);
    if (!ca->signer) return ES_ERR_LOGIN;
    t.profile = a->profile;
    t.subject = a->subject;
    memcpy(t.pub, a->pub, ES_SM2_PUB_LEN);
    t.issuer = ca->ci.subject;
    memcpy(t.issuer_key_id, ca->key_id, ca->key_id_len);
    t.issuer_key_id_len = ca->key_id_len;
    t.san = a->san;
    t.n_san = a->n_san;
    t.seal_source = a->seal_source;
    if (t.seal_source == ES_SEAL_SOURCE_NONE && a->profile->seal_source != ES_PRESENCE_NONE)
        t.seal_source = a->profile->seal_source_default;
    t.crl_url = ca->cfg.crl_url[0] ? ca->cfg.crl_url : NULL;
    /* Whole seconds: the encodings carry no fractions. */
    t.not_before = a->not_before == ES_TIME_NONE ? now : a->not_before;
    long days = a->days ? a->days : a->profile->days;
    t.not_after = t.not_before + (es_time)days * DAY;

    int taken = 0;
    if (a->serial && a->serial_len > ES_PKI_SERIAL_MAX)
        pki_lint_add(lint, "serial: longer than 20 octets (RFC 5280 4.1.2.2)");
    if (a->serial && a->serial_len <= ES_PKI_SERIAL_MAX) {
        memcpy(t.serial, a->serial, a->serial_len);
        t.serial_len = a->serial_len;
        if (t.serial_len) {
            serial_hex(t.serial, t.serial_len, hex);
            if (!st) return ES_ERR_ARG;
            if ((rv = serial_taken(ca, st, hex, &taken)) != ES_OK) return rv;
        }
    } else {
        /* A collision of 126 random bits is not expected; the state's record is the judge
         * (ES_ERR_EXISTS: the caller prepares again). */
        if ((rv = random_serial(t.serial)) != ES_OK) return rv;
        t.serial_len = ES_PKI_SERIAL_LEN;
        serial_hex(t.serial, t.serial_len, hex);
    }

    pki_lint_in in = {a->profile, &t, &ca->ci, 0, now, taken};
    pki_lint(&in, lint);
    if ((rv = es_pki_name_print(a->subject, &p->subject)) != ES_OK) return rv;
    if (memchr(p->subject.p, '\t', p->subject.len) || memchr(p->subject.p, '\n', p->subject.len))
        pki_lint_add(lint, "subject: holds a tab or line break");
    if (lint->n) return ES_ERR_LINT;
    if ((rv = es_buf_nul(&p->subject)) != ES_OK) return rv;

    if ((rv = es_pki_cert_make(&t, ca->signer, &p->cert)) != ES_OK) return rv;
    /* Check the signature before the certificate leaves: a faulty device must not put a
     * certificate that does not verify into the world. */
    es_pki_cert made;
    if ((rv = es_pki_cert_parse(es_slice_make(p->cert.p, p->cert.len), &made)) != ES_OK ||
        (rv = es_pki_cert_verify(&made, ca->ci.pub)) != ES_OK) {
        p->cert.len = 0;
        return ES_ERR_SIGNER;
    }

    es_ca_entry *e = &p->entry;
    /* Lint allowed at most 20 content octets: 40 hex digits. */
    snprintf(e->serial, sizeof e->serial, "%.40s", hex);
    e->status = ES_CA_VALID;
    e->not_after = t.not_after;
    e->revoked_at = ES_TIME_NONE;
    e->issued_at = now;
    snprintf(e->profile, sizeof e->profile, "%s", a->profile->name);
    e->subject = (const char *)p->subject.p;
    e->cert = es_slice_make(p->cert.p, p->cert.len);
    return ES_OK;
}

es_err es_ca_issue_record(es_ca *ca, const es_ca_state *st, const es_ca_issued *p)
{
    if (!ca || !p || !p->entry.cert.len || !p->entry.subject) return ES_ERR_ARG;
    if (!state_ok(st)) return ES_ERR_ARG;
    /* Only what this CA signed is recorded under its name. */
    es_pki_cert c;
    if (es_pki_cert_parse(p->entry.cert, &c) != ES_OK || c.issuer.len != ca->ci.subject.len ||
        memcmp(c.issuer.p, ca->ci.subject.p, c.issuer.len) != 0)
        return ES_ERR_ARG;
    return st->ops->record(st->ctx, ca->id, &p->entry);
}

/* A whole issuance in one write unit. A random serial is signed before the unit (no lock
 * held: the SM2 signature and its check run while other issuances record) and drawn again
 * when the state refuses it as taken; a given serial is looked up inside the unit. */
static es_err ca_issue_unit(es_ca *ca, const es_ca_state *st, const issue_args *a,
                            es_pki_lint *lint, es_buf *out, char *serial_out)
{
    es_err rv = ES_OK;
    es_ca_issued p;
    if (!ca->signer) return ES_ERR_LOGIN;
    if (!state_ok(st)) return ES_ERR_ARG;
    es_ca_issued_init(&p);
    for (int attempt = 0; attempt < 3; attempt++) {
        if (!a->serial) {
            if ((rv = ca_prepare(ca, NULL, a, lint, &p)) != ES_OK) break;
            if ((rv = write_begin(ca, st)) != ES_OK) break;
        } else {
            if ((rv = write_begin(ca, st)) != ES_OK) break;
            rv = ca_prepare(ca, st, a, lint, &p);
        }
        if (rv == ES_OK) rv = st->ops->record(st->ctx, ca->id, &p.entry);
        rv = write_end(ca, st, rv);
        if (rv != ES_ERR_EXISTS || a->serial) break;
    }
    if (rv == ES_OK && serial_out) snprintf(serial_out, SERIAL_HEX, "%s", p.entry.serial);
    if (rv == ES_OK) rv = es_buf_append(out, p.cert.p, p.cert.len);
    es_ca_issued_free(&p);
    return rv;
}

/* The request as issue_args (pointing into r). */
typedef struct parsed_req {
    es_name subject;
    es_pki_san san[ES_PKI_SAN_MAX];
    uint8_t pub[ES_SM2_PUB_LEN];
    es_buf csr_der;
    issue_args a;
} parsed_req;

/* Parses req (its CSR checked) into r; failures of the request go to lint (ca_prepare adds
 * the rest and refuses when there is any). r->csr_der is the caller's to clean up. */
static es_err parse_req(es_ca *ca, const es_ca_request *req, es_pki_lint *lint, parsed_req *r)
{
    es_pki_csr csr;
    size_t n_san = 0;
    es_err rv = ES_OK;
    es_buf_init(&r->csr_der, ES_MAX_CERT_DER);
    const es_profile *p = es_pki_profile_find(&ca->profiles, req->profile);
    if (!p) return ES_ERR_NOT_FOUND;
    if (req->csr) {
        if ((rv = es_pki_csr_parse(req->csr, req->csr_len, &r->csr_der, &csr)) != ES_OK) return rv;
        if ((rv = es_pki_csr_verify(&csr)) != ES_OK) return rv;
        memcpy(r->pub, csr.pub, ES_SM2_PUB_LEN);
        if (!req->subject && es_pki_name_from_der(csr.subject, &r->subject) != ES_OK)
            return ES_ERR_FORMAT;
        if (!req->n_san && csr.san.len) {
            es_err r2 = es_pki_san_from_der(csr.san, r->san, ES_PKI_SAN_MAX, &n_san);
            if (r2 == ES_ERR_UNSUPPORTED)
                pki_lint_add(lint, "subjectAltName: the request asks for a name type this CA "
                                   "does not issue (only DNS, IP, URI, email)");
            else if (r2 == ES_ERR_LIMIT)
                pki_lint_add(lint, "subjectAltName: more than %d entries", ES_PKI_SAN_MAX);
            else if (r2 != ES_OK)
                pki_lint_add(lint, "subjectAltName: the request's cannot be read");
        }
    } else {
        memcpy(r->pub, req->pub, ES_SM2_PUB_LEN);
    }
    if (req->subject) r->subject = *req->subject;
    if (req->n_san) {
        if (req->n_san > ES_PKI_SAN_MAX) return ES_ERR_ARG;
        memcpy(r->san, req->san, req->n_san * sizeof *r->san);
        n_san = req->n_san;
    }
    issue_args a = {p,           &r->subject,      r->pub,    r->san,
                    n_san,       req->seal_source, req->days, req->not_before,
                    req->serial, req->serial_len};
    r->a = a;
    return ES_OK;
}

es_err es_ca_issue_in(es_ca *ca, const es_ca_state *st, const es_ca_request *req, es_pki_lint *lint,
                      es_buf *out, char serial[2 * ES_PKI_SERIAL_MAX + 1])
{
    es_pki_lint local;
    es_err rv = ES_OK;
    if (!lint) lint = &local;
    lint->n = 0;
    if (!ca || !req || !out || !req->profile || (!req->csr && !req->pub)) return ES_ERR_ARG;
    if (!state_ok(st)) return ES_ERR_ARG;
    if (!ca->signer) return ES_ERR_LOGIN;
    parsed_req *r = calloc(1, sizeof *r);
    if (!r) return ES_ERR_NOMEM;
    if ((rv = parse_req(ca, req, lint, r)) == ES_OK)
        rv = ca_issue_unit(ca, st, &r->a, lint, out, serial);
    es_buf_cleanup(&r->csr_der);
    free(r);
    return rv;
}

es_err es_ca_issue_prepare(es_ca *ca, const es_ca_request *req, es_pki_lint *lint,
                           es_ca_issued *out)
{
    es_pki_lint local;
    es_err rv = ES_OK;
    if (!lint) lint = &local;
    lint->n = 0;
    if (!ca || !req || !out || !req->profile || (!req->csr && !req->pub)) return ES_ERR_ARG;
    if (req->serial) return ES_ERR_ARG; /* a given serial is looked up: es_ca_issue_in */
    if (!ca->signer) return ES_ERR_LOGIN;
    parsed_req *r = calloc(1, sizeof *r);
    if (!r) return ES_ERR_NOMEM;
    if ((rv = parse_req(ca, req, lint, r)) == ES_OK) rv = ca_prepare(ca, NULL, &r->a, lint, out);
    es_buf_cleanup(&r->csr_der);
    free(r);
    return rv;
}

es_err es_ca_issue(es_ca *ca, const es_ca_request *req, es_pki_lint *lint, es_buf *out,
                   char serial[2 * ES_PKI_SERIAL_MAX + 1])
{
    return es_ca_issue_in(ca, ca ? &ca->state : NULL, req, lint, out, serial);
}

/* --- revocation, CRLs, reading --- */

static es_err copy_cb(void *ctx, const es_ca_entry *e)
{
    es_ca_entry *c = ctx;
    *c = *e;
    c->subject = NULL;
    c->cert = ES_SLICE_NULL;
    return ES_OK;
}

es_err es_ca_revoke_in(es_ca *ca, const es_ca_state *st, const char *serial, int reason, es_time at)
{
    char hex[SERIAL_HEX];
    es_ca_entry e;
    if (!ca || !serial || !es_pki_reason_name(reason) || !state_ok(st)) return ES_ERR_ARG;
    if (!es_ca_serial_norm(serial, hex)) return ES_ERR_ARG;
    es_err rv = write_begin(ca, st);
    if (rv != ES_OK) return rv;
    memset(&e, 0, sizeof e);
    if ((rv = st->ops->get(st->ctx, ca->id, hex, copy_cb, &e)) != ES_OK) goto out;
    if (e.status == ES_CA_REVOKED && e.reason != ES_REASON_CERTIFICATE_HOLD) {
        rv = ES_ERR_REVOKED;
        goto out;
    }
    /* removeFromCRL (RFC 5280 5.3.1) releases a hold: the certificate is valid again and the
     * next full CRL leaves it out (this CA issues no delta CRLs, where the reason itself would
     * be listed). Only a certificate on hold can be released. */
    if (reason == ES_REASON_REMOVE_FROM_CRL) {
        if (e.status != ES_CA_REVOKED) {
            rv = ES_ERR_ARG;
            goto out;
        }
        e.status = ES_CA_VALID;
        e.revoked_at = ES_TIME_NONE;
        e.reason = ES_REASON_REMOVE_FROM_CRL;
        rv = st->ops->revoke(st->ctx, ca->id, &e);
        goto out;
    }
    /* A certificate taken off hold keeps its revocation date. */
    if (e.status != ES_CA_REVOKED) e.revoked_at = at == ES_TIME_NONE ? es_time_now() : at;
    e.status = ES_CA_REVOKED;
    e.reason = reason;
    rv = st->ops->revoke(st->ctx, ca->id, &e);
out:
    return write_end(ca, st, rv);
}

es_err es_ca_revoke(es_ca *ca, const char *serial, int reason, es_time at)
{
    return es_ca_revoke_in(ca, ca ? &ca->state : NULL, serial, reason, at);
}

typedef struct revoked_list {
    es_pki_revoked *r;
    size_t n, cap;
} revoked_list;

static es_err revoked_cb(void *ctx, const es_ca_entry *e)
{
    revoked_list *l = ctx;
    es_buf tmp;
    if (e->status != ES_CA_REVOKED) return ES_OK;
    if (l->n == l->cap) {
        if (l->cap >= ES_PKI_MAX_CRL_ENTRIES) return ES_ERR_LIMIT;
        size_t ncap = l->cap ? l->cap * 2 : 64;
        es_pki_revoked *n = realloc(l->r, ncap * sizeof *n);
        if (!n) return ES_ERR_NOMEM;
        l->r = n;
        l->cap = ncap;
    }
    es_buf_init(&tmp, ES_PKI_SERIAL_MAX + 1);
    es_err rv = es_hex_decode(e->serial, strlen(e->serial), &tmp);
    if (rv == ES_OK && (tmp.len > ES_PKI_SERIAL_MAX + 1 || tmp.len == 0)) rv = ES_ERR_CONFIG;
    if (rv == ES_OK) {
        es_pki_revoked *r = &l->r[l->n++];
        size_t skip = tmp.len > ES_PKI_SERIAL_MAX ? 1 : 0;
        memcpy(r->serial, tmp.p + skip, tmp.len - skip);
        r->serial_len = tmp.len - skip;
        r->when = e->revoked_at;
        r->reason = e->reason;
    }
    es_buf_cleanup(&tmp);
    return rv;
}

/* The to-be-signed CRL of number with the entries of l, issued now (full or delta alike). */
static void crl_tbs(const es_ca *ca, long days, const char *sm2_id, uint64_t number,
                    const revoked_list *l, es_pki_tbs_crl *t)
{
    memset(t, 0, sizeof *t);
    t->issuer = ca->ci.subject;
    memcpy(t->issuer_key_id, ca->key_id, ca->key_id_len);
    t->issuer_key_id_len = ca->key_id_len;
    t->this_update = es_time_now();
    t->next_update = t->this_update + (es_time)(days ? days : ca->cfg.crl_days) * DAY;
    t->crl_number = number;
    t->revoked = l->r;
    t->n_revoked = l->n;
    t->sm2_id = sm2_id ? sm2_id : ca->cfg.crl_sm2_id;
}

es_err es_ca_crl_in(es_ca *ca, const es_ca_state *st, long days, const char *sm2_id, es_buf *out)
{
    revoked_list l = {NULL, 0, 0};
    es_buf crl;
    uint64_t number = 0;
    if (!ca || !out || days < 0 || !state_ok(st)) return ES_ERR_ARG;
    if (!ca->signer) return ES_ERR_LOGIN;
    es_buf_init(&crl, ES_PKI_MAX_CRL);
    es_err rv = write_begin(ca, st);
    if (rv != ES_OK) return rv;
    /* Every revoked certificate stays listed, expired or not: seals made and documents
     * signed long ago are still verified against it. */
    if ((rv = st->ops->list(st->ctx, ca->id, 1, revoked_cb, &l)) != ES_OK) goto out;
    /* Taken in the same unit as the CRL is recorded: numbers only grow (RFC 5280 5.2.3),
     * and a CRL that was not recorded was never handed out. */
    if ((rv = st->ops->crl_next(st->ctx, ca->id, &number)) != ES_OK) goto out;
    es_pki_tbs_crl t;
    crl_tbs(ca, days, sm2_id, number, &l, &t);
    rv = es_pki_crl_make(&t, ca->signer, &crl);
    if (rv != ES_OK) goto out;
    rv = st->ops->crl_record(st->ctx, ca->id, number, es_slice_make(crl.p, crl.len), t.this_update);
out:
    rv = write_end(ca, st, rv);
    if (rv == ES_OK) rv = es_buf_append(out, crl.p, crl.len);
    free(l.r);
    es_buf_cleanup(&crl);
    return rv;
}

es_err es_ca_crl(es_ca *ca, long days, const char *sm2_id, es_buf *out)
{
    return es_ca_crl_in(ca, ca ? &ca->state : NULL, days, sm2_id, out);
}

static int same_serial(const es_pki_revoked *a, const es_pki_revoked *b)
{
    return a->serial_len == b->serial_len && memcmp(a->serial, b->serial, a->serial_len) == 0;
}

es_err es_ca_delta_crl_in(es_ca *ca, const es_ca_state *st, long days, const char *sm2_id,
                          es_buf *out)
{
    revoked_list l = {NULL, 0, 0}, d = {NULL, 0, 0};
    es_buf crl, base_der, parsed;
    es_pki_crl base;
    int have_base = 0;
    uint64_t number = 0;
    if (!ca || !out || days < 0 || !state_ok(st)) return ES_ERR_ARG;
    if (!st->ops->crl_base || !st->ops->crl_delta_record) return ES_ERR_UNSUPPORTED;
    if (!ca->signer) return ES_ERR_LOGIN;
    es_buf_init(&crl, ES_PKI_MAX_CRL);
    es_buf_init(&base_der, ES_PKI_MAX_CRL);
    es_buf_init(&parsed, ES_PKI_MAX_CRL);
    memset(&base, 0, sizeof base);
    es_err rv = write_begin(ca, st);
    if (rv != ES_OK) return rv;
    if ((rv = st->ops->crl_base(st->ctx, ca->id, &base_der)) != ES_OK) goto out;
    if ((rv = es_pki_crl_parse(base_der.p, base_der.len, &parsed, &base)) != ES_OK) goto out;
    have_base = 1;
    if (!base.has_crl_number || base.delta) {
        rv = ES_ERR_FORMAT;
        goto out;
    }
    if ((rv = st->ops->list(st->ctx, ca->id, 1, revoked_cb, &l)) != ES_OK) goto out;
    d.cap = l.n + base.n_revoked + 1;
    if (!(d.r = calloc(d.cap, sizeof *d.r))) {
        rv = ES_ERR_NOMEM;
        goto out;
    }
    /* Revoked now and not in the base (a hold made a revocation keeps its date). */
    for (size_t i = 0; i < l.n; i++) {
        size_t j = 0;
        while (j < base.n_revoked && !same_serial(&l.r[i], &base.revoked[j])) j++;
        if (j == base.n_revoked || base.revoked[j].reason != l.r[i].reason) d.r[d.n++] = l.r[i];
    }
    /* In the base and valid again: removeFromCRL (RFC 5280 5.3.1), its date the base's. */
    for (size_t j = 0; j < base.n_revoked; j++) {
        size_t i = 0;
        while (i < l.n && !same_serial(&l.r[i], &base.revoked[j])) i++;
        if (i == l.n) {
            d.r[d.n] = base.revoked[j];
            d.r[d.n++].reason = ES_REASON_REMOVE_FROM_CRL;
        }
    }
    if ((rv = st->ops->crl_next(st->ctx, ca->id, &number)) != ES_OK) goto out;
    es_pki_tbs_crl t;
    crl_tbs(ca, days, sm2_id, number, &d, &t);
    t.delta = 1;
    t.base_number = base.crl_number;
    if ((rv = es_pki_crl_make(&t, ca->signer, &crl)) != ES_OK) goto out;
    rv = st->ops->crl_delta_record(st->ctx, ca->id, number, base.crl_number, t.this_update);
out:
    rv = write_end(ca, st, rv);
    if (rv == ES_OK) rv = es_buf_append(out, crl.p, crl.len);
    if (have_base) es_pki_crl_cleanup(&base);
    free(l.r);
    free(d.r);
    es_buf_cleanup(&crl);
    es_buf_cleanup(&base_der);
    es_buf_cleanup(&parsed);
    return rv;
}

es_err es_ca_delta_crl(es_ca *ca, long days, const char *sm2_id, es_buf *out)
{
    return es_ca_delta_crl_in(ca, ca ? &ca->state : NULL, days, sm2_id, out);
}

/* Reads run over one snapshot and take no lock: they never wait for a writer. */
es_err es_ca_list(es_ca *ca, const es_ca_state *st, es_ca_entry_cb cb, void *ctx)
{
    if (ca && !st) st = &ca->state;
    if (!ca || !cb || !state_ok(st)) return ES_ERR_ARG;
    es_err rv = st->ops->begin(st->ctx, ca->id, 0);
    if (rv != ES_OK) return rv;
    rv = st->ops->list(st->ctx, ca->id, 0, cb, ctx);
    st->ops->rollback(st->ctx);
    return rv;
}

es_err es_ca_get(es_ca *ca, const es_ca_state *st, const char *serial, es_ca_entry_cb cb, void *ctx)
{
    char hex[SERIAL_HEX];
    if (ca && !st) st = &ca->state;
    if (!ca || !serial || !cb || !state_ok(st)) return ES_ERR_ARG;
    if (!es_ca_serial_norm(serial, hex)) return ES_ERR_ARG;
    es_err rv = st->ops->begin(st->ctx, ca->id, 0);
    if (rv != ES_OK) return rv;
    rv = st->ops->get(st->ctx, ca->id, hex, cb, ctx);
    st->ops->rollback(st->ctx);
    return rv;
}

/* --- init --- */

/* A soft key reference with a relative directory is made absolute, so that the CA works from
 * any working directory. */
static es_err canonical_ref(const char *ref, char *out, size_t outlen)
{
    es_keyref r;
    es_err rv = es_keyref_parse(ref, &r);
    if (rv != ES_OK) return rv;
    if (r.kind == ES_KEYDEV_SOFT && r.path[0] != '/') {
        char cwd[ES_KEYREF_MAX_PATH], abs[ES_KEYREF_MAX_PATH];
        if (!getcwd(cwd, sizeof cwd)) return ES_ERR_IO;
        int n = snprintf(abs, sizeof abs, "%s/%s", cwd, r.path);
        if (n < 0 || (size_t)n >= sizeof abs) return ES_ERR_LIMIT;
        memcpy(r.path, abs, (size_t)n + 1);
    }
    es_keyref_format(&r, out, outlen);
    return ES_OK;
}

static es_err generate_key(const char *ref, const es_secret_src *pin)
{
    es_keyref r;
    es_keydev *dev = NULL;
    uint8_t pub[ES_SM2_PUB_LEN];
    es_err rv = es_keyref_parse(ref, &r);
    if (rv != ES_OK) return rv;
    if (r.kind == ES_KEYDEV_SOFT && mkdir(r.path, 0700) != 0 && errno != EEXIST) return ES_ERR_IO;
    if ((rv = es_keydev_open(&r, &dev)) != ES_OK) return rv;
    rv = es_keydev_generate(dev, &r, pin, pub);
    es_keydev_close(dev);
    return rv;
}

static es_err write_text(const char *dir, const char *name, const void *p, size_t len)
{
    char path[CA_PATH_MAX];
    es_err rv = path_of(dir, name, path);
    return rv == ES_OK ? es_file_write_mode(path, p, len, 0644) : rv;
}

es_err es_ca_init(const es_ca_init_params *p, es_pki_lint *lint)
{
    es_pki_lint local;
    char path[CA_PATH_MAX];
    es_profiles profiles;
    ca_config cfg;
    es_signer *signer = NULL;
    es_buf der, pem, subj;
    es_err rv;
    if (!lint) lint = &local;
    lint->n = 0;
    if (!p || !p->dir || !p->key_ref || !p->subject) return ES_ERR_ARG;
    if (strlen(p->dir) >= CA_PATH_MAX - 64) return ES_ERR_LIMIT;
    if ((rv = path_of(p->dir, "config", path)) != ES_OK) return rv;
    if (exists(path)) return ES_ERR_EXISTS;
    es_buf_init(&der, ES_MAX_CERT_DER);
    es_buf_init(&pem, ES_MAX_CERT_DER * 32);
    es_buf_init(&subj, 16384);

    es_slice text = p->profiles.len ? p->profiles : es_pki_profiles_builtin();
    char why[256];
    if ((rv = es_pki_profiles_parse(text, &profiles, why, sizeof why)) != ES_OK) {
        pki_lint_add(lint, "profiles: %s", why);
        goto out;
    }
    const char *pname = p->profile ? p->profile : p->parent ? "intermediate" : "root";
    const es_profile *prof =
        es_pki_profile_find(p->parent ? &p->parent->profiles : &profiles, pname);
    if (!prof) {
        pki_lint_add(lint, "profile: no [%s] in the %s profiles", pname,
                     p->parent ? "issuing CA's" : "new CA's");
        rv = ES_ERR_NOT_FOUND;
        goto out;
    }
    if (!prof->is_ca) {
        pki_lint_add(lint, "profile: [%s] is not a CA profile (ca = yes)", pname);
        rv = ES_ERR_LINT;
        goto out;
    }

    if (mkdir(p->dir, 0700) != 0 && errno != EEXIST) {
        rv = ES_ERR_IO;
        goto out;
    }
    if (p->generate_key && (rv = generate_key(p->key_ref, p->pin)) != ES_OK) goto out;
    memset(&cfg, 0, sizeof cfg);
    if ((rv = canonical_ref(p->key_ref, cfg.key_ref, sizeof cfg.key_ref)) != ES_OK) goto out;
    if ((rv = es_keydev_signer(cfg.key_ref, p->pin, &signer)) != ES_OK) goto out;

    if (p->parent) {
        /* An intermediate: the parent issues (and records) it under its own profile. */
        issue_args a = {prof,    p->subject,   signer->pub, NULL, 0, ES_SEAL_SOURCE_NONE,
                        p->days, ES_TIME_NONE, NULL,        0};
        if ((rv = ca_issue_unit(p->parent, &p->parent->state, &a, lint, &der, NULL)) != ES_OK)
            goto out;
    } else {
        es_pki_tbs t;
        memset(&t, 0, sizeof t);
        if ((rv = es_pki_name_to_der(p->subject, &subj)) != ES_OK) goto out;
        t.profile = prof;
        t.subject = p->subject;
        t.issuer = es_slice_make(subj.p, subj.len);
        memcpy(t.pub, signer->pub, ES_SM2_PUB_LEN);
        if ((rv = es_pki_key_id(signer->pub, t.issuer_key_id)) != ES_OK) goto out;
        t.issuer_key_id_len = ES_PKI_KEY_ID_LEN;
        t.not_before = es_time_now();
        t.not_after = t.not_before + (es_time)(p->days ? p->days : prof->days) * DAY;
        if ((rv = random_serial(t.serial)) != ES_OK) goto out;
        t.serial_len = ES_PKI_SERIAL_LEN;
        pki_lint_in in = {prof, &t, NULL, 1, t.not_before, 0};
        pki_lint(&in, lint);
        if (lint->n) {
            rv = ES_ERR_LINT;
            goto out;
        }
        if ((rv = es_pki_cert_make(&t, signer, &der)) != ES_OK) goto out;
        es_pki_cert made;
        if (es_pki_cert_parse(es_slice_make(der.p, der.len), &made) != ES_OK ||
            es_pki_cert_verify(&made, signer->pub) != ES_OK) {
            rv = ES_ERR_SIGNER;
            goto out;
        }
    }

    if ((rv = es_pki_pem_encode("CERTIFICATE", es_slice_make(der.p, der.len), &pem)) != ES_OK ||
        (rv = write_text(p->dir, "ca.crt", pem.p, pem.len)) != ES_OK)
        goto out;
    if (p->parent) {
        /* The issuers, nearest first: the parent's certificate, then its own chain. */
        pem.len = 0;
        if ((rv = es_pki_pem_encode("CERTIFICATE", es_ca_cert(p->parent), &pem)) != ES_OK ||
            (rv = es_buf_append(&pem, p->parent->chain.p, p->parent->chain.len)) != ES_OK ||
            (rv = write_text(p->dir, "chain.crt", pem.p, pem.len)) != ES_OK)
            goto out;
    }
    if ((rv = write_text(p->dir, "profiles.conf", text.p, text.len)) != ES_OK) goto out;
    cfg.crl_days = p->crl_days ? p->crl_days : 7;
    snprintf(cfg.crl_url, sizeof cfg.crl_url, "%s", p->crl_url ? p->crl_url : "");
    snprintf(cfg.crl_sm2_id, sizeof cfg.crl_sm2_id, "%s", ES_SM2_DEFAULT_ID);
    /* Last: a directory with a config is a CA. */
    rv = config_write(p->dir, &cfg);
out:
    es_signer_free(signer);
    es_buf_cleanup(&der);
    es_buf_cleanup(&pem);
    es_buf_cleanup(&subj);
    return rv;
}
