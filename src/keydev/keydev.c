/* Key references, PIN sources, dispatch to the backends, and signers over device keys. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eseal/der.h"
#include "keydev/internal.h"

struct es_keydev {
    const es_keydev_ops *ops;
    void *st;
};

static _Thread_local char last_error[512];

void keydev_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

const char *es_keydev_last_error(void)
{
    return last_error;
}

es_err keydev_dlopen(const char *path, const es_keydev_sym *syms, size_t n, void *fns, void **lib,
                     const char **missing)
{
    /* RTLD_LOCAL: a vendor library's own symbols must not leak into the process or into a
     * second vendor library loaded next to it. */
    *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!*lib) {
        const char *why = dlerror();
        keydev_set_error("%s", why ? why : path);
        return ES_ERR_LOAD;
    }
    for (size_t i = 0; i < n; i++) {
        void *p = dlsym(*lib, syms[i].name);
        if (!p && syms[i].required) {
            *missing = syms[i].name;
            return ES_ERR_SYMBOL;
        }
        /* dlsym returns a data pointer; POSIX guarantees it converts to a function pointer. */
        memcpy((char *)fns + syms[i].off, &p, sizeof p);
    }
    return ES_OK;
}

/* Copies [p, p+n) into out (cap bytes) or fails. */
static int copy_part(char *out, size_t cap, const char *p, size_t n)
{
    if (n >= cap) return 0;
    memcpy(out, p, n);
    out[n] = 0;
    return 1;
}

es_err es_keyref_parse(const char *s, es_keyref *out)
{
    memset(out, 0, sizeof *out);
    if (!s) return ES_ERR_KEYREF;
    const char *colon = strchr(s, ':');
    const char *hash = colon ? strrchr(colon, '#') : NULL;
    if (!colon || !hash || hash == colon + 1 || !hash[1]) return ES_ERR_KEYREF;
    size_t kl = (size_t)(colon - s);
    if (kl == 4 && memcmp(s, "soft", 4) == 0)
        out->kind = ES_KEYDEV_SOFT;
    else if (kl == 3 && memcmp(s, "sdf", 3) == 0)
        out->kind = ES_KEYDEV_SDF;
    else if (kl == 3 && memcmp(s, "skf", 3) == 0)
        out->kind = ES_KEYDEV_SKF;
    else
        return ES_ERR_KEYREF;
    if (!copy_part(out->path, sizeof out->path, colon + 1, (size_t)(hash - colon - 1)))
        return ES_ERR_KEYREF;
    const char *rest = hash + 1;
    switch (out->kind) {
    case ES_KEYDEV_SOFT:
        /* A plain file name: no separators, no leading dot. */
        if (strpbrk(rest, "/\\") || rest[0] == '.' ||
            !copy_part(out->name, sizeof out->name, rest, strlen(rest)))
            return ES_ERR_KEYREF;
        return ES_OK;
    case ES_KEYDEV_SDF: {
        char *end = NULL;
        unsigned long v = strtoul(rest, &end, 10);
        if (!end || *end || rest[0] < '0' || rest[0] > '9' || v == 0 || v > 0xffffu)
            return ES_ERR_KEYREF;
        out->index = (unsigned)v;
        return copy_part(out->name, sizeof out->name, rest, strlen(rest)) ? ES_OK : ES_ERR_KEYREF;
    }
    case ES_KEYDEV_SKF: {
        const char *s1 = strchr(rest, '/');
        const char *s2 = s1 ? strchr(s1 + 1, '/') : NULL;
        if (!s1 || !s2 || strchr(s2 + 1, '/') || s2 == s1 + 1 || !s2[1]) return ES_ERR_KEYREF;
        if (!copy_part(out->device, sizeof out->device, rest, (size_t)(s1 - rest)) ||
            !copy_part(out->application, sizeof out->application, s1 + 1, (size_t)(s2 - s1 - 1)) ||
            !copy_part(out->container, sizeof out->container, s2 + 1, strlen(s2 + 1)) ||
            !copy_part(out->name, sizeof out->name, rest, strlen(rest)))
            return ES_ERR_KEYREF;
        return ES_OK;
    }
    }
    return ES_ERR_KEYREF;
}

void es_keyref_format(const es_keyref *r, char *out, size_t outlen)
{
    const char *kind = r->kind == ES_KEYDEV_SOFT  ? "soft"
                       : r->kind == ES_KEYDEV_SDF ? "sdf"
                                                  : "skf";
    if (r->kind == ES_KEYDEV_SDF)
        snprintf(out, outlen, "%s:%s#%u", kind, r->path, r->index);
    else if (r->kind == ES_KEYDEV_SKF)
        snprintf(out, outlen, "%s:%s#%s/%s/%s", kind, r->path, r->device, r->application,
                 r->container);
    else
        snprintf(out, outlen, "%s:%s#%s", kind, r->path, r->name);
}

static es_err env_get(void *ctx, const char *what, char *buf, size_t cap)
{
    (void)what;
    const char *v = getenv(ctx ? (const char *)ctx : "ESEAL_PIN");
    if (!v) return ES_ERR_PIN;
    size_t n = strlen(v);
    if (n >= cap) return ES_ERR_LIMIT;
    memcpy(buf, v, n + 1);
    return ES_OK;
}

es_secret_src es_secret_env(const char *name)
{
    es_secret_src s = {env_get, (void *)name};
    return s;
}

static const es_keydev_ops *ops_for(es_keydev_kind k)
{
    switch (k) {
    case ES_KEYDEV_SOFT:
        return &keydev_soft_ops;
    case ES_KEYDEV_SDF:
        return &keydev_sdf_ops;
    case ES_KEYDEV_SKF:
        return &keydev_skf_ops;
    }
    return NULL;
}

es_err es_keydev_open(const es_keyref *ref, es_keydev **out)
{
    const es_keydev_ops *ops = ref ? ops_for(ref->kind) : NULL;
    if (!ops || !out) return ES_ERR_ARG;
    last_error[0] = 0;
    es_keydev *d = calloc(1, sizeof *d);
    if (!d) return ES_ERR_NOMEM;
    d->ops = ops;
    es_err rv = ops->open(ref, &d->st);
    if (rv != ES_OK) {
        free(d);
        return rv;
    }
    *out = d;
    return ES_OK;
}

void es_keydev_close(es_keydev *d)
{
    if (!d) return;
    if (d->ops->close) d->ops->close(d->st);
    free(d);
}

es_err es_keydev_info_get(es_keydev *d, es_keydev_info *out)
{
    memset(out, 0, sizeof *out);
    snprintf(out->kind, sizeof out->kind, "%s", d->ops->kind);
    return d->ops->info ? d->ops->info(d->st, out) : ES_OK;
}

/* Fetches a secret, runs f with it, wipes it. */
static es_err with_secret(const es_secret_src *src, const char *what, char *buf, size_t cap)
{
    if (!src || !src->get) return ES_ERR_PIN;
    return src->get(src->ctx, what, buf, cap);
}

es_err es_keydev_login(es_keydev *d, const es_keyref *ref, const es_secret_src *src, int *retries)
{
    char pin[ES_SECRET_MAX], what[ES_KEYREF_MAX_PATH * 2 + 32], name[ES_KEYREF_MAX_PATH * 2];
    if (retries) *retries = -1;
    if (!d->ops->login) return ES_ERR_UNSUPPORTED;
    es_keyref_format(ref, name, sizeof name);
    snprintf(what, sizeof what, "%s of %s", ref->kind == ES_KEYDEV_SOFT ? "passphrase" : "PIN",
             name);
    es_err rv = with_secret(src, what, pin, sizeof pin);
    if (rv == ES_OK) rv = d->ops->login(d->st, ref, pin, retries);
    es_wipe(pin, sizeof pin);
    return rv;
}

es_err es_keydev_list(es_keydev *d, es_buf *out)
{
    return d->ops->list ? d->ops->list(d->st, out) : ES_ERR_UNSUPPORTED;
}

es_err es_keydev_public_key(es_keydev *d, const es_keyref *ref, uint8_t pub[ES_SM2_PUB_LEN])
{
    return d->ops->public_key ? d->ops->public_key(d->st, ref, pub) : ES_ERR_UNSUPPORTED;
}

es_err es_keydev_enc_public_key(es_keydev *d, const es_keyref *ref, uint8_t pub[ES_SM2_PUB_LEN])
{
    return d->ops->enc_public_key ? d->ops->enc_public_key(d->st, ref, pub) : ES_ERR_UNSUPPORTED;
}

es_err es_keydev_generate(es_keydev *d, const es_keyref *ref, const es_secret_src *src,
                          uint8_t pub[ES_SM2_PUB_LEN])
{
    if (!d->ops->generate) return ES_ERR_UNSUPPORTED;
    char pin[ES_SECRET_MAX] = "";
    es_err rv = ES_OK;
    if (ref->kind == ES_KEYDEV_SOFT)
        rv = with_secret(src, "passphrase for the new key", pin, sizeof pin);
    if (rv == ES_OK) rv = d->ops->generate(d->st, ref, pin, pub);
    es_wipe(pin, sizeof pin);
    return rv;
}

es_err es_keydev_sign(es_keydev *d, const es_keyref *ref, const uint8_t e[ES_SM3_LEN],
                      uint8_t r[32], uint8_t s[32])
{
    return d->ops->sign ? d->ops->sign(d->st, ref, e, r, s) : ES_ERR_UNSUPPORTED;
}

es_err es_keydev_decrypt(es_keydev *d, const es_keyref *ref, const uint8_t *in, size_t len,
                         es_buf *out)
{
    return d->ops->decrypt ? d->ops->decrypt(d->st, ref, in, len, out) : ES_ERR_UNSUPPORTED;
}

es_err es_keydev_import_envelope(es_keydev *d, const es_keyref *ref, const uint8_t *blob,
                                 size_t len)
{
    return d->ops->import_envelope ? d->ops->import_envelope(d->st, ref, blob, len)
                                   : ES_ERR_UNSUPPORTED;
}

es_err es_keydev_put_cert(es_keydev *d, const es_keyref *ref, es_slice der)
{
    return d->ops->put_cert ? d->ops->put_cert(d->st, ref, der) : ES_ERR_UNSUPPORTED;
}

es_err es_keydev_get_cert(es_keydev *d, const es_keyref *ref, es_buf *out)
{
    return d->ops->get_cert ? d->ops->get_cert(d->st, ref, out) : ES_ERR_UNSUPPORTED;
}

/* --- signers over device keys --- */

typedef struct dev_signer {
    es_keydev *dev;
    es_keyref ref;
} dev_signer;

static es_err dev_sign(es_signer *self, const uint8_t e[ES_SM3_LEN], uint8_t r[32], uint8_t s[32])
{
    dev_signer *ds = self->ctx;
    return es_keydev_sign(ds->dev, &ds->ref, e, r, s);
}

static void dev_destroy(es_signer *self)
{
    dev_signer *ds = self->ctx;
    if (!ds) return;
    es_keydev_close(ds->dev);
    free(ds);
}

es_err es_keydev_signer(const char *text, const es_secret_src *src, es_signer **out)
{
    es_keyref ref;
    es_keydev *dev = NULL;
    es_err rv = es_keyref_parse(text, &ref);
    if (rv != ES_OK) return rv;
    if ((rv = es_keydev_open(&ref, &dev)) != ES_OK) return rv;
    dev_signer *ds = calloc(1, sizeof *ds);
    es_signer *s = calloc(1, sizeof *s);
    if (!ds || !s) {
        rv = ES_ERR_NOMEM;
        goto fail;
    }
    if ((rv = es_keydev_login(dev, &ref, src, NULL)) != ES_OK ||
        (rv = es_keydev_public_key(dev, &ref, s->pub)) != ES_OK)
        goto fail;
    ds->dev = dev;
    ds->ref = ref;
    s->ctx = ds;
    s->sign_digest = dev_sign;
    s->destroy = dev_destroy;
    *out = s;
    return ES_OK;
fail:
    free(ds);
    free(s);
    es_keydev_close(dev);
    return rv;
}

/* --- a pool of sessions of one key (es_keydev_signer_pool) ---
 * A device handle is used by one thread at a time; the CA key, the audit key and the maker key
 * sign for every request at once, so each is opened once per core. */

typedef struct key_pool {
    es_signer *inner[ES_KEYDEV_SESSIONS_MAX];
    int busy[ES_KEYDEV_SESSIONS_MAX];
    int n;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} key_pool;

static es_err key_pool_sign(es_signer *self, const uint8_t e[ES_SM3_LEN], uint8_t r[32],
                            uint8_t s[32])
{
    key_pool *p = self->ctx;
    int i = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        for (i = 0; i < p->n && p->busy[i]; i++) continue;
        if (i < p->n) break;
        pthread_cond_wait(&p->cv, &p->mu);
    }
    p->busy[i] = 1;
    pthread_mutex_unlock(&p->mu);
    es_err rv = es_signer_sign_digest(p->inner[i], e, r, s);
    pthread_mutex_lock(&p->mu);
    p->busy[i] = 0;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    return rv;
}

static void key_pool_destroy(es_signer *self)
{
    key_pool *p = self->ctx;
    for (int i = 0; i < p->n; i++) es_signer_free(p->inner[i]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p);
}

es_err es_keydev_signer_pool(es_signer *first, const char *ref, const es_secret_src *pin,
                             es_signer **out)
{
    es_signer *s = calloc(1, sizeof *s);
    key_pool *p = calloc(1, sizeof *p);
    if (!s || !p || pthread_mutex_init(&p->mu, NULL) != 0) {
        free(s);
        free(p);
        return ES_ERR_NOMEM;
    }
    if (pthread_cond_init(&p->cv, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        free(s);
        free(p);
        return ES_ERR_NOMEM;
    }
    p->inner[p->n++] = first;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int want = cores < 1 ? 1 : cores > ES_KEYDEV_SESSIONS_MAX ? ES_KEYDEV_SESSIONS_MAX : (int)cores;
    while (p->n < want) {
        es_signer *more = NULL;
        if (es_keydev_signer(ref, pin, &more) != ES_OK) break;
        if (memcmp(more->pub, first->pub, sizeof first->pub) != 0) {
            es_signer_free(more);
            break;
        }
        p->inner[p->n++] = more;
    }
    memcpy(s->pub, first->pub, sizeof s->pub);
    s->sign_digest = key_pool_sign;
    s->destroy = key_pool_destroy;
    s->ctx = p;
    *out = s;
    return ES_OK;
}

/* --- SM2 ciphertext conversions --- */

es_err sm2_cipher_from_der(es_slice der, es_sm2_cipher_parts *out)
{
    es_der d, seq;
    es_der_tlv t;
    es_slice x, y, h;
    es_der_init(&d, der, NULL);
    if (es_der_open(&d, ES_DER_SEQUENCE, &t, &seq) != ES_OK ||
        es_der_read_int_bytes(&seq, &x) != ES_OK || es_der_read_int_bytes(&seq, &y) != ES_OK ||
        es_der_read_octets(&seq, &h) != ES_OK || es_der_read_octets(&seq, &out->c) != ES_OK ||
        es_der_done(&seq) != ES_OK || h.len != 32 ||
        es_der_uint32_bytes(x, out->x, NULL) != ES_OK ||
        es_der_uint32_bytes(y, out->y, NULL) != ES_OK)
        return ES_ERR_FORMAT;
    memcpy(out->hash, h.p, 32);
    return ES_OK;
}

es_err sm2_cipher_to_der(const uint8_t x[32], const uint8_t y[32], const uint8_t hash[32],
                         const uint8_t *c, size_t clen, es_buf *out)
{
    es_der_w w;
    es_der_w_init(&w, out);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    es_der_w_uint(&w, x, 32);
    es_der_w_uint(&w, y, 32);
    es_der_w_prim(&w, ES_DER_OCTET_STRING, hash, 32);
    es_der_w_prim(&w, ES_DER_OCTET_STRING, c, clen);
    es_der_w_end(&w);
    return es_der_w_finish(&w);
}
