/* The witness of the audit trail: signed checkpoints kept outside the site, as lines of
 * JSON (include/eseal/audit.h, docs/audit.md "Witness"): formatting, reading, and the
 * append-only file. Comparing them with a trail is verify.c's. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit/internal.h"

/* The tail of a witness file read to find its last line: longer than any line. */
#define WITNESS_TAIL 4096

static const uint8_t zero_hash[ES_SM3_LEN];

es_err es_audit_key_id(const uint8_t pub[ES_SM2_PUB_LEN], uint8_t out[ES_SM3_LEN])
{
    if (!pub || !out) return ES_ERR_ARG;
    return es_sm3(pub, ES_SM2_PUB_LEN, out);
}

es_err es_audit_witness_line(const es_audit_head *h, const uint8_t pub[ES_SM2_PUB_LEN], es_buf *out)
{
    if (!h || !pub || !out || h->seq <= 0 || h->sig_len == 0 || h->sig_len > sizeof h->sig)
        return ES_ERR_ARG;
    uint8_t id[ES_SM3_LEN];
    char hash[2 * ES_SM3_LEN + 1], key[2 * ES_SM3_LEN + 1], sig[2 * ES_AUDIT_MAX_SIG + 1];
    char iso[40];
    es_err rv = es_audit_key_id(pub, id);
    if (rv != ES_OK) return rv;
    es_hex_encode(h->hash, ES_SM3_LEN, hash);
    es_hex_encode(id, ES_SM3_LEN, key);
    es_hex_encode(h->sig, h->sig_len, sig);
    audit_time_iso(h->at, iso);
    return es_buf_printf(out,
                         "{\"type\":\"checkpoint\",\"seq\":%lld,\"hash\":\"%s\",\"at\":%lld,"
                         "\"time\":\"%s\",\"sig\":\"%s\",\"key\":\"%s\"}\n",
                         (long long)h->seq, hash, (long long)h->at, iso, sig, key);
}

es_err es_audit_witness_add(es_audit_witness *w, const es_audit_witnessed *c)
{
    if (!w || !c) return ES_ERR_ARG;
    if (w->n >= ES_AUDIT_WITNESS_MAX) return ES_ERR_LIMIT;
    if (w->n == w->cap) {
        size_t cap = w->cap ? 2 * w->cap : 64;
        es_audit_witnessed *p = realloc(w->cp, cap * sizeof *p);
        if (!p) return ES_ERR_NOMEM;
        w->cp = p;
        w->cap = cap;
    }
    w->cp[w->n++] = *c;
    return ES_OK;
}

es_err es_audit_witnessed_verify(const es_audit_witnessed *c, const uint8_t pub[ES_SM2_PUB_LEN])
{
    if (!c || !pub) return ES_ERR_ARG;
    uint8_t id[ES_SM3_LEN];
    es_err rv = es_audit_key_id(pub, id);
    if (rv != ES_OK) return rv;
    if (memcmp(id, c->key_id, ES_SM3_LEN) != 0) return ES_ERR_VERIFY;
    es_buf tbs;
    es_buf_init(&tbs, 128);
    rv = audit_head_tbs(c->seq, c->hash, c->at, &tbs);
    if (rv == ES_OK)
        rv = audit_sig_verify(pub, tbs.p, tbs.len, es_slice_make(c->sig, c->sig_len)) == ES_OK
                 ? ES_OK
                 : ES_ERR_VERIFY;
    es_buf_cleanup(&tbs);
    return rv;
}

void es_audit_witnessed_head(const es_audit_witnessed *c, es_audit_head *h)
{
    memset(h, 0, sizeof *h);
    h->seq = c->seq;
    h->at = c->at;
    memcpy(h->hash, c->hash, ES_SM3_LEN);
    memcpy(h->sig, c->sig, c->sig_len);
    h->sig_len = c->sig_len;
    h->tip_seq = -1;
}

void es_audit_witness_cleanup(es_audit_witness *w)
{
    if (!w) return;
    free(w->cp);
    memset(w, 0, sizeof *w);
}

/* Exactly n bytes of hex in the string member k of o. */
static int hex_field(json_t *o, const char *k, uint8_t *out, size_t min, size_t max, size_t *len)
{
    json_t *v = json_object_get(o, k);
    if (!json_is_string(v)) return 0;
    size_t n = json_string_length(v);
    if (n % 2 || n / 2 < min || n / 2 > max) return 0;
    es_buf b;
    es_buf_init(&b, max);
    int good = es_hex_decode(json_string_value(v), n, &b) == ES_OK && b.len == n / 2;
    if (good) memcpy(out, b.p, b.len);
    if (good && len) *len = b.len;
    es_buf_cleanup(&b);
    return good;
}

/* One witness line into c; 0 with *why when it is not one. */
static int parse_line(const char *p, size_t len, es_audit_witnessed *c, const char **why)
{
    static const char *const keys[] = {"type", "seq", "at", "time", "hash", "sig", "key", NULL};
    json_error_t jerr;
    json_t *o = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);
    int good = 0;
    memset(c, 0, sizeof *c);
    *why = "not JSON";
    if (!json_is_object(o)) goto out;
    const char *k;
    json_t *v;
    json_object_foreach(o, k, v)
    {
        int known = 0;
        for (const char *const *x = keys; *x && !known; x++) known = strcmp(*x, k) == 0;
        if (!known) {
            *why = "an unknown field";
            goto out;
        }
    }
    json_t *type = json_object_get(o, "type"), *seq = json_object_get(o, "seq"),
           *at = json_object_get(o, "at");
    *why = "not a checkpoint (type, seq, at, hash, sig, key)";
    if (!json_is_string(type) || strcmp(json_string_value(type), "checkpoint") != 0 ||
        !json_is_integer(seq) || !json_is_integer(at) || json_integer_value(seq) <= 0)
        goto out;
    c->seq = json_integer_value(seq);
    c->at = json_integer_value(at);
    if (!hex_field(o, "hash", c->hash, ES_SM3_LEN, ES_SM3_LEN, NULL) ||
        !hex_field(o, "key", c->key_id, ES_SM3_LEN, ES_SM3_LEN, NULL) ||
        !hex_field(o, "sig", c->sig, 1, ES_AUDIT_MAX_SIG, &c->sig_len))
        goto out;
    good = 1;
out:
    json_decref(o);
    return good;
}

es_err es_audit_witness_parse(const uint8_t *p, size_t len, es_audit_witness *w, char *why,
                              size_t whylen)
{
    if (!w || (!p && len)) return ES_ERR_ARG;
    memset(w, 0, sizeof *w);
    size_t off = 0;
    for (long n = 1; off < len; n++) {
        const uint8_t *s = p + off, *nl = memchr(s, '\n', len - off);
        size_t l = nl ? (size_t)(nl - s) : len - off;
        off += l + (nl ? 1 : 0);
        if (l && s[l - 1] == '\r') l--;
        if (l == 0) continue;
        es_audit_witnessed c;
        const char *reason = NULL;
        if (l > ES_AUDIT_MAX_LINE || !parse_line((const char *)s, l, &c, &reason)) {
            if (why && whylen)
                snprintf(why, whylen, "line %ld: %s", n,
                         l > ES_AUDIT_MAX_LINE ? "too long" : reason);
            return ES_ERR_FORMAT;
        }
        c.line = n;
        es_err rv = es_audit_witness_add(w, &c);
        if (rv != ES_OK) {
            if (why && whylen) snprintf(why, whylen, "line %ld: %s", n, es_err_str(rv));
            return rv;
        }
    }
    return ES_OK;
}

/* The last line of the open file fd (at most WITNESS_TAIL bytes from its end) parsed into
 * c: 1 when there is one, 0 when the file is empty, -1 when it cannot be read. */
static int last_line(int fd, es_audit_witnessed *c, char *why, size_t whylen)
{
    struct stat st;
    if (fstat(fd, &st) != 0) return -1;
    if (st.st_size == 0) return 0;
    char buf[WITNESS_TAIL + 1];
    off_t from = st.st_size > WITNESS_TAIL ? st.st_size - WITNESS_TAIL : 0;
    ssize_t n = pread(fd, buf, (size_t)(st.st_size - from), from);
    if (n <= 0) return -1;
    size_t end = (size_t)n;
    while (end && (buf[end - 1] == '\n' || buf[end - 1] == '\r')) end--;
    if (end == 0) return 0;
    size_t start = end;
    while (start && buf[start - 1] != '\n') start--;
    if (start == 0 && from > 0) {
        snprintf(why, whylen, "its last line is longer than %d bytes", WITNESS_TAIL);
        return -1;
    }
    const char *reason = NULL;
    if (!parse_line(buf + start, end - start, c, &reason)) {
        snprintf(why, whylen, "its last line cannot be read (%s)", reason);
        return -1;
    }
    return 1;
}

es_err es_audit_witness_file_append(const char *path, const es_audit_head *h,
                                    const uint8_t pub[ES_SM2_PUB_LEN], int *written, char *why,
                                    size_t whylen)
{
    char scratch[8];
    if (!why || !whylen) why = scratch, whylen = sizeof scratch;
    why[0] = 0;
    if (written) *written = 0;
    if (!path || !h || !pub) return ES_ERR_ARG;
    if (h->seq <= 0 || !memcmp(h->hash, zero_hash, ES_SM3_LEN)) return ES_OK; /* genesis */
    es_buf line;
    es_buf_init(&line, 1024);
    es_err rv = es_audit_witness_line(h, pub, &line);
    if (rv != ES_OK) {
        es_buf_cleanup(&line);
        return rv;
    }
    int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        es_buf_cleanup(&line);
        return ES_ERR_IO;
    }
    /* One writer at a time (several daemons of a site may share one witness file): the
     * last line read is the last line when this one is written. */
    struct flock lk = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    while (fcntl(fd, F_SETLKW, &lk) != 0) {
        if (errno == EINTR) continue;
        snprintf(why, whylen, "%s: cannot lock: %s", path, strerror(errno));
        rv = ES_ERR_IO;
        goto out;
    }
    es_audit_witnessed last;
    char inner[160] = "";
    int got = last_line(fd, &last, inner, sizeof inner);
    if (got < 0) {
        snprintf(why, whylen, "%s: %s", path, inner[0] ? inner : strerror(errno));
        rv = ES_ERR_IO;
        goto out;
    }
    if (got == 1 && last.seq == h->seq) {
        if (memcmp(last.hash, h->hash, ES_SM3_LEN) != 0) {
            snprintf(why, whylen,
                     "%s holds checkpoint %lld with another hash: the site's trail disagrees "
                     "with what was witnessed",
                     path, (long long)h->seq);
            rv = ES_ERR_WITNESS;
        }
        goto out; /* held already */
    }
    if (got == 1 && last.seq > h->seq) {
        snprintf(why, whylen,
                 "%s holds checkpoint %lld, newer than the site's head %lld: the site's trail "
                 "is shorter than what was witnessed",
                 path, (long long)last.seq, (long long)h->seq);
        rv = ES_ERR_WITNESS;
        goto out;
    }
    const uint8_t *p = line.p;
    size_t left = line.len;
    while (left) {
        ssize_t k = write(fd, p, left);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) {
            snprintf(why, whylen, "%s: cannot write: %s", path, strerror(errno));
            rv = ES_ERR_IO;
            goto out;
        }
        p += k;
        left -= (size_t)k;
    }
    if (fsync(fd) != 0) {
        snprintf(why, whylen, "%s: cannot sync: %s", path, strerror(errno));
        rv = ES_ERR_IO;
        goto out;
    }
    if (written) *written = 1;
out:
    close(fd); /* releases the lock */
    es_buf_cleanup(&line);
    return rv;
}

es_err es_audit_witness_file_newest(const char *path, es_audit_witnessed *out, int *found,
                                    char *why, size_t whylen)
{
    char scratch[8];
    if (!why || !whylen) why = scratch, whylen = sizeof scratch;
    why[0] = 0;
    if (!path || !out || !found) return ES_ERR_ARG;
    *found = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return ES_OK;
    if (fd < 0) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return ES_ERR_IO;
    }
    es_err rv = ES_OK;
    struct flock lk = {.l_type = F_RDLCK, .l_whence = SEEK_SET};
    while (fcntl(fd, F_SETLKW, &lk) != 0) {
        if (errno == EINTR) continue;
        snprintf(why, whylen, "%s: cannot lock: %s", path, strerror(errno));
        rv = ES_ERR_IO;
        goto out;
    }
    char inner[160] = "";
    int got = last_line(fd, out, inner, sizeof inner);
    if (got < 0) {
        snprintf(why, whylen, "%s: %s", path, inner[0] ? inner : strerror(errno));
        rv = ES_ERR_IO;
    }
    *found = got == 1;
out:
    close(fd);
    return rv;
}

typedef struct hash_of {
    int found;
    uint8_t hash[ES_SM3_LEN];
    size_t len;
} hash_of;

static es_err hash_row(void *ctx, const es_row *row)
{
    hash_of *h = ctx;
    es_slice b = es_row_blob(row, 0);
    h->found = 1;
    h->len = b.len;
    if (b.len == ES_SM3_LEN) memcpy(h->hash, b.p, ES_SM3_LEN);
    return ES_OK;
}

es_err es_audit_witness_check(es_store *s, const es_audit_witnessed *c, char *why, size_t whylen)
{
    char scratch[8];
    if (!why || !whylen) why = scratch, whylen = sizeof scratch;
    why[0] = 0;
    if (!s || !c) return ES_ERR_ARG;
    hash_of h = {0};
    es_value p = es_v_int(c->seq);
    es_err rv = es_store_query(s, "SELECT hash FROM audit WHERE seq = ?", &p, 1, hash_row, &h);
    if (rv != ES_OK) return rv;
    char at[40];
    audit_time_iso(c->at, at);
    if (!h.found) {
        snprintf(why, whylen,
                 "the witness holds checkpoint %lld of %s, and the trail has no record %lld: it "
                 "is shorter than what was witnessed",
                 (long long)c->seq, at, (long long)c->seq);
        return ES_ERR_WITNESS;
    }
    if (h.len != ES_SM3_LEN || memcmp(h.hash, c->hash, ES_SM3_LEN) != 0) {
        snprintf(why, whylen,
                 "record %lld is not the record witnessed at %s (another hash): the trail was "
                 "rewritten",
                 (long long)c->seq, at);
        return ES_ERR_WITNESS;
    }
    return ES_OK;
}
