/* Verification of seals and SES_Signatures into a report (docs/verification.md).
 *
 * Every cryptographic check works on the bytes as stored: SES_SealInfo and TBS_Sign are
 * hashed exactly as they appear in the file. The one exception is GM/T 0031, whose maker
 * signature covers a SEQUENCE that does not exist in the file and must be assembled (in DER,
 * as every verified sample shows).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/der.h"
#include "eseal/seal.h"
#include "seal/internal.h"

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((rv = (x)) != ES_OK) goto out;                                                         \
    } while (0)

es_err seal_tbs(const es_seal *s, es_buf *out)
{
    if (s->layout != ES_LAYOUT_GMT0031) return es_buf_append(out, s->seal_info.p, s->seal_info.len);
    /* GM/T 0031:
     * "制章人对...印章信息、制章人证书、签名算法标识符按SEQUENCE方式组成的信息内容的数字签名" */
    es_der_w w;
    es_err rv;
    es_der_w_init(&w, out);
    es_der_w_begin(&w, ES_DER_SEQUENCE);
    /* The writer appends to out, so canonical copies land inside the open SEQUENCE. */
    if (w.err == ES_OK && (rv = es_der_canonical(s->seal_info, out)) != ES_OK) w.err = rv;
    if (w.err == ES_OK && (rv = es_der_canonical(s->sign_info_cert_tlv, out)) != ES_OK) w.err = rv;
    if (w.err == ES_OK && (rv = es_der_canonical(s->sign_alg_tlv, out)) != ES_OK) w.err = rv;
    es_der_w_end(&w);
    return es_der_w_finish(&w);
}

static int alg_is_sm2_sm3(es_slice oid)
{
    return es_oid_is(oid, ES_OID_ID_SM2_SM3) || es_oid_is(oid, ES_OID_ID_SM2_1) ||
           es_oid_is(oid, ES_OID_ID_SM2);
}

static const char *id_of(const es_verify_opts *o)
{
    return o && o->sm2_id ? o->sm2_id : ES_SM2_DEFAULT_ID;
}

/* Verifies value (DER or raw r||s) over msg with the key of a certificate. On failure,
 * *why says which step refused. */
static es_result verify_with_cert(es_slice cert, const es_cert_info *ci, int ci_ok, es_slice alg,
                                  es_slice value, es_slice msg, const char *id, es_quirks *q,
                                  const char **why)
{
    uint8_t e[ES_SM3_LEN], r[32], s[32];
    (void)cert;
    if (alg.len && !alg_is_sm2_sm3(alg)) {
        *why = "signature algorithm is not SM2-with-SM3";
        return ES_FAILED;
    }
    if (!ci_ok) {
        *why = "certificate cannot be read";
        return ES_FAILED;
    }
    if (!ci->is_sm2) {
        *why = "certificate key is not an SM2 key";
        return ES_FAILED;
    }
    if (es_sm2_sig_decode(value, r, s, q) != ES_OK) {
        *why = "signature value is neither DER SEQUENCE{r,s} nor raw r||s";
        return ES_FAILED;
    }
    if (es_sm2_digest(ci->pub, id, strlen(id), msg.p, msg.len, e) != ES_OK) {
        *why = "digest computation failed";
        return ES_FAILED;
    }
    es_err rv = es_sm2_verify_digest(ci->pub, e, r, s);
    if (rv != ES_OK) {
        *why = rv == ES_ERR_KEY ? "certificate key is not a point on the SM2 curve"
                                : "signature does not verify";
        return ES_FAILED;
    }
    return ES_PASSED;
}

static es_err describe_seal(es_kvlist *l, const es_seal *s, const es_cert_info *maker, int ok)
{
    es_err rv;
    CHECK(es_kv_add(l, "layout", es_layout_name(s->layout)));
    CHECK(es_kv_add_num(l, "version", s->version));
    CHECK(es_kv_add_slice(l, "vid", s->vid));
    CHECK(es_kv_add_slice(l, "es_id", s->es_id));
    CHECK(es_kv_add_slice(l, "name", s->name));
    CHECK(es_kv_add_num(l, "type", s->type));
    CHECK(es_kv_add_num(l, "cert_list_type", s->cert_list_type));
    CHECK(es_kv_add_num(l, "certs", (long long)s->n_certs));
    CHECK(es_kv_add_time(l, "create_date", s->create_date));
    CHECK(es_kv_add_time(l, "valid_start", s->valid_start));
    CHECK(es_kv_add_time(l, "valid_end", s->valid_end));
    CHECK(es_kv_add_slice(l, "picture_type", s->picture_type));
    CHECK(es_kv_add_num(l, "picture_width", s->picture_width));
    CHECK(es_kv_add_num(l, "picture_height", s->picture_height));
    CHECK(es_kv_add_num(l, "picture_bytes", (long long)s->picture.len));
    CHECK(es_kv_add(l, "maker", ok ? maker->subject : "(unreadable certificate)"));
    CHECK(es_kv_add(l, "maker_issuer", ok ? maker->issuer : ""));
    CHECK(es_kv_add(l, "maker_serial", ok ? maker->serial : ""));
out:
    return rv;
}

/* Chain result for one certificate: PASSED, INDETERMINATE (no path to an anchor) or FAILED. */
/* The checks about the seal itself: seal_signature and seal_validity at time at. */
static es_err check_seal(es_entry *e, const es_seal *s, const es_verify_opts *o, es_time at,
                         int at_is_signing, es_cert_info *maker, int maker_ok)
{
    es_err rv = ES_OK;
    es_buf tbs;
    es_buf_init(&tbs, ES_MAX_SEAL_DER + 64);
    char a[32], b[32], c[32];

    if (!s->has_signature) {
        CHECK(es_entry_set(e, ES_CHECK_SEAL_SIGNATURE, ES_FAILED,
                           "the seal holds no maker signature (only its to-be-signed part)"));
    } else {
        const char *why = "";
        es_err enc = seal_tbs(s, &tbs);
        if (enc == ES_ERR_NOMEM) {
            rv = enc;
            goto out;
        }
        if (enc != ES_OK) {
            /* The tolerant reader took a part (GM/T 0031: the certificate, the algorithm) that
             * has no canonical DER: what the maker signed cannot be rebuilt. */
            CHECK(es_entry_set(e, ES_CHECK_SEAL_SIGNATURE, ES_FAILED,
                               "maker signature: the signed part cannot be re-encoded as DER (%s)",
                               es_err_name(enc)));
            goto validity;
        }
        es_result r = verify_with_cert(s->maker_cert, maker, maker_ok, s->sign_alg, s->signed_value,
                                       es_slice_make(tbs.p, tbs.len), id_of(o), &e->quirks, &why);
        if (r == ES_PASSED)
            CHECK(es_entry_set(e, ES_CHECK_SEAL_SIGNATURE, ES_PASSED,
                               "maker signature over %s verifies with the maker certificate",
                               s->layout == ES_LAYOUT_GMT0031 ? "SEQUENCE{SealInfo, cert, alg}"
                                                              : "SES_SealInfo"));
        else
            CHECK(es_entry_set(e, ES_CHECK_SEAL_SIGNATURE, ES_FAILED, "maker signature: %s", why));
    }

validity:
    seal_fmt_time(s->valid_start, a);
    seal_fmt_time(s->valid_end, b);
    seal_fmt_time(at, c);
    const char *when = at_is_signing ? "signing time" : "now";
    if (s->valid_start > s->valid_end) {
        CHECK(es_entry_set(e, ES_CHECK_SEAL_VALIDITY, ES_FAILED,
                           "validity period is empty: %s to %s", a, b));
    } else if (at == ES_TIME_NONE) {
        CHECK(es_entry_set(e, ES_CHECK_SEAL_VALIDITY, ES_INDETERMINATE,
                           "signing time unknown; seal valid %s to %s", a, b));
    } else if (!at_is_signing && (at < s->valid_start || at > s->valid_end)) {
        /* A bare seal outside its period is still a genuine seal: it only cannot be used. */
        CHECK(es_entry_set(e, ES_CHECK_SEAL_VALIDITY, ES_WARNING,
                           "%s %s is outside the seal's validity %s to %s", when, c, a, b));
    } else if (at < s->valid_start) {
        CHECK(es_entry_set(e, ES_CHECK_SEAL_VALIDITY, ES_FAILED,
                           "signing time %s is before the seal's validity %s to %s", c, a, b));
    } else if (at > s->valid_end) {
        /* As for certificates: expired at the claimed time, no proof of an earlier use. */
        CHECK(es_entry_set(e, ES_CHECK_SEAL_VALIDITY, ES_INDETERMINATE,
                           "signing time %s is after the seal expired (%s to %s); no proof that "
                           "the signature existed while it was valid",
                           c, a, b));
    } else if (maker_ok && s->create_date != ES_TIME_NONE &&
               (s->create_date < maker->not_before || s->create_date > maker->not_after)) {
        char d[32];
        seal_fmt_time(s->create_date, d);
        CHECK(es_entry_set(e, ES_CHECK_SEAL_VALIDITY, ES_WARNING,
                           "%s %s is within %s to %s, but the seal was made (%s) outside its "
                           "maker certificate's validity",
                           when, c, a, b, d));
    } else {
        CHECK(es_entry_set(e, ES_CHECK_SEAL_VALIDITY, ES_PASSED, "%s %s is within %s to %s", when,
                           c, a, b));
    }
out:
    es_buf_cleanup(&tbs);
    return rv;
}

/* The status check. ref is the time the seal was relied on: the signing time of a signature
 * (at_is_signing), or the time a bare seal is verified at. A revocation that took effect after
 * ref does not undo what was signed before it, as for certificates (RFC 5280 6.3, ETSI EN
 * 319 102-1); one before it (or at an unknown time) means the seal was used when it must not
 * have been. A suspension (report of loss) may be lifted, so one before ref is INDETERMINATE. */
static es_err check_status(es_entry *e, const es_seal *s, const es_verify_opts *o, es_time ref,
                           int at_is_signing)
{
    if (!o || !o->status)
        return es_entry_set(e, ES_CHECK_STATUS, ES_SKIPPED,
                            "seal status not consulted: no status source (offline verification)");
    es_seal_status st;
    memset(&st, 0, sizeof st);
    st.since = ES_TIME_NONE;
    es_time at = o->status_at != ES_TIME_NONE ? o->status_at : es_time_now();
    char when[32], since[32], asked[32];
    seal_fmt_time(at, asked);
    es_err rv = o->status(o->status_ctx, s, at, &st);
    if (rv != ES_OK)
        return es_entry_set(e, ES_CHECK_STATUS, ES_INDETERMINATE,
                            "status source gave no answer (as of %s): %s", asked, es_err_str(rv));
    /* The reason is the source's text: cut at the field's end whatever it wrote, and cleaned
     * (invalid UTF-8 and control characters replaced) before it enters the report. */
    st.reason[sizeof st.reason - 1] = 0;
    char *reason = es_slice_strdup(es_slice_make(st.reason, strlen(st.reason)));
    if (!reason) return ES_ERR_NOMEM;
    const char *sep = reason[0] ? ", reason: " : "";
    const char *what = at_is_signing ? "signing time" : "verification time";
    seal_fmt_time(ref, when);
    seal_fmt_time(st.since, since);
    int before = st.since == ES_TIME_NONE || ref == ES_TIME_NONE || st.since <= ref;
    switch (st.state) {
    case ES_SEAL_GOOD:
        rv = es_entry_set(e, ES_CHECK_STATUS, ES_PASSED, "seal is in force (as of %s)", asked);
        break;
    case ES_SEAL_REVOKED:
        if (before)
            rv = es_entry_set(
                e, ES_CHECK_STATUS, ES_FAILED, "seal revoked at %s, %s %s%s%s%s", since,
                st.since == ES_TIME_NONE || ref == ES_TIME_NONE ? "not provably after the"
                                                                : "not after the",
                what, when, sep, reason);
        else
            rv = es_entry_set(e, ES_CHECK_STATUS, ES_PASSED,
                              "seal revoked at %s, after the %s %s: what it signed before "
                              "stands%s%s",
                              since, what, when, sep, reason);
        break;
    case ES_SEAL_SUSPENDED:
        if (before)
            rv = es_entry_set(e, ES_CHECK_STATUS, ES_INDETERMINATE,
                              "seal suspended (reported lost) since %s, %s %s %s%s%s", since,
                              st.since == ES_TIME_NONE || ref == ES_TIME_NONE
                                  ? "not provably after the"
                                  : "not after the",
                              what, when, sep, reason);
        else
            rv = es_entry_set(e, ES_CHECK_STATUS, ES_PASSED,
                              "seal suspended (reported lost) since %s, after the %s %s%s%s", since,
                              what, when, sep, reason);
        break;
    case ES_SEAL_UNKNOWN:
        rv = es_entry_set(e, ES_CHECK_STATUS, ES_INDETERMINATE,
                          "the status source does not know this seal (as of %s)", asked);
        break;
    default:
        rv = es_entry_set(e, ES_CHECK_STATUS, ES_INDETERMINATE,
                          "status source answered an unknown state %d", (int)st.state);
        break;
    }
    free(reason);
    return rv;
}

static es_err check_format(es_entry *e, es_layout layout, es_quirks q, const char *what)
{
    if (q & ES_QUIRK(ES_QUIRK_TRAILING_BYTES))
        return es_entry_set(e, ES_CHECK_FORMAT, ES_WARNING,
                            "%s %s, followed by bytes that belong to no structure",
                            es_layout_name(layout), what);
    return es_entry_set(e, ES_CHECK_FORMAT, ES_PASSED, "%s %s", es_layout_name(layout), what);
}

static es_err format_failed(es_report *rep, const char *kind, es_err why)
{
    es_entry *e;
    es_err rv = es_report_add_entry(rep, "-", kind, &e);
    if (rv == ES_OK)
        rv = es_entry_set(e, ES_CHECK_FORMAT, ES_FAILED, "cannot be read: %s", es_err_str(why));
    return rv;
}

es_err es_seal_verify(es_slice in, const es_verify_opts *o, es_report *rep)
{
    es_seal s;
    es_entry *e;
    es_cert_info maker;
    int maker_ok = 0;
    es_err rv = es_seal_from_der(in, 1, &s);
    if (rv != ES_OK) return format_failed(rep, "seal", rv);
    CHECK(es_report_add_entry(rep, "-", "seal", &e));
    e->quirks = s.quirks;
    maker_ok = es_cert_parse(s.maker_cert, &maker) == ES_OK;
    CHECK(check_format(e, s.layout, s.quirks, "seal"));
    es_time now = o && o->now != ES_TIME_NONE ? o->now : es_time_now();
    CHECK(check_seal(e, &s, o, now, 0, &maker, maker_ok));
    if (!o || !o->trust) {
        CHECK(es_entry_set(e, ES_CHECK_CHAIN_TRUST, ES_INDETERMINATE,
                           "no trust anchors configured (--trust)"));
    } else {
        char why[160];
        es_result r = seal_chain_one(o->trust, s.maker_cert, &s, s.create_date, why, sizeof why);
        CHECK(es_entry_set(e, ES_CHECK_CHAIN_TRUST, r,
                           r == ES_PASSED ? "maker certificate chains to a trust anchor"
                                          : "maker certificate: %s",
                           why));
    }
    CHECK(check_status(e, &s, o, now, 0));
    CHECK(seal_check_policy(e, &s, es_slice_make(NULL, 0), o));
    CHECK(describe_seal(&e->seal, &s, &maker, maker_ok));
    e->quirks |= s.quirks; /* verify_with_cert may add signature-encoding quirks */
out:
    if (maker_ok) es_cert_info_cleanup(&maker);
    return rv;
}

/* signer_cert_match: the signer's certificate must be one the seal names, by value
 * (certListType 1 and GM/T 0031) or by digest (certListType 2). */
static es_err check_cert_match(es_entry *e, const es_seal *s, es_slice cert)
{
    size_t usable = 0;
    for (size_t i = 0; i < s->n_certs; i++) {
        es_slice c = s->certs[i];
        if (c.len == 0) continue;
        usable++;
        if (es_slice_eq(c, cert))
            return es_entry_set(e, ES_CHECK_SIGNER_CERT_MATCH, ES_PASSED,
                                "signer certificate is entry %zu of the seal's certificate list",
                                i + 1);
        if (c.len == ES_SM3_LEN) {
            uint8_t d[ES_SM3_LEN];
            if (es_sm3(cert.p, cert.len, d) == ES_OK && memcmp(d, c.p, ES_SM3_LEN) == 0)
                return es_entry_set(e, ES_CHECK_SIGNER_CERT_MATCH, ES_PASSED,
                                    "SM3 of the signer certificate is entry %zu of the seal's "
                                    "digest list",
                                    i + 1);
        }
    }
    if (!usable)
        return es_entry_set(e, ES_CHECK_SIGNER_CERT_MATCH, ES_INDETERMINATE,
                            "the seal's certificate list holds no certificate or digest to "
                            "compare with");
    return es_entry_set(e, ES_CHECK_SIGNER_CERT_MATCH, ES_FAILED,
                        "signer certificate is not in the seal's certificate list (%zu entries)",
                        usable);
}

static es_err ses_verify(es_slice in, const es_verify_opts *o, es_report *rep)
{
    es_signature s;
    es_entry *e;
    es_cert_info signer, maker;
    int signer_ok = 0, maker_ok = 0;
    es_err rv = es_signature_from_der(in, 1, &s);
    if (rv != ES_OK) return format_failed(rep, "ses_signature", rv);
    CHECK(es_report_add_entry(rep, "-", "ses_signature", &e));
    e->quirks = s.quirks | s.seal.quirks;
    signer_ok = es_cert_parse(s.cert, &signer) == ES_OK;
    maker_ok = es_cert_parse(s.seal.maker_cert, &maker) == ES_OK;
    if (s.seal.layout != s.layout && !(s.layout == ES_LAYOUT_V5 && s.seal.layout == ES_LAYOUT_V4))
        e->quirks |= ES_QUIRK(ES_QUIRK_VERSION_LAYOUT);
    CHECK(check_format(e, s.layout, s.quirks, "signature"));
    CHECK(seal_check_data_hash(e, s.data_hash, o));
    const char *why = "";
    es_result r = verify_with_cert(s.cert, &signer, signer_ok, s.sign_alg, s.signature, s.tbs,
                                   id_of(o), &e->quirks, &why);
    if (r == ES_PASSED)
        CHECK(es_entry_set(e, ES_CHECK_SIGNATURE, ES_PASSED,
                           "signature over TBS_Sign verifies with the signer certificate"));
    else
        CHECK(es_entry_set(e, ES_CHECK_SIGNATURE, ES_FAILED, "%s", why));
    CHECK(check_seal(e, &s.seal, o, s.time_info, 1, &maker, maker_ok));
    CHECK(check_cert_match(e, &s.seal, s.cert));
    CHECK(seal_check_cert_validity(e, &signer, signer_ok, s.time_info, "signing time"));
    CHECK(seal_check_chain(e, o, s.cert, s.time_info, &s.seal));
    CHECK(check_status(e, &s.seal, o, s.time_info, 1));
    CHECK(seal_check_policy(e, &s.seal, s.cert, o));
    CHECK(describe_seal(&e->seal, &s.seal, &maker, maker_ok));
    CHECK(seal_describe_signer(
        &e->signer, &signer, signer_ok, s.time_info,
        s.timestamp.len ? "claimed by the signer (timeInfo); a timestamp token is attached, not "
                          "verified yet"
                        : "claimed by the signer (timeInfo), not proven: no timestamp token"));
    CHECK(es_kv_add_slice(&e->signer, "property_info", s.property_info));
    {
        es_buf hex;
        es_buf_init(&hex, 256);
        rv = es_buf_append_hex(&hex, s.data_hash.p, s.data_hash.len > 64 ? 64 : s.data_hash.len);
        if (rv == ES_OK) rv = es_buf_nul(&hex);
        if (rv == ES_OK) rv = es_kv_add(&e->signer, "data_hash", hex.p ? (char *)hex.p : "");
        es_buf_cleanup(&hex);
        if (rv != ES_OK) goto out;
    }
out:
    if (signer_ok) es_cert_info_cleanup(&signer);
    if (maker_ok) es_cert_info_cleanup(&maker);
    return rv;
}

es_err es_signature_verify(es_slice in, const es_verify_opts *o, es_report *rep)
{
    es_kind k = es_detect(in);
    if (k == ES_KIND_CMS) return seal_cms_verify(in, o, rep);
    return ses_verify(in, o, rep);
}

es_err es_verify_any(es_slice in, const es_verify_opts *o, es_report *rep)
{
    switch (es_detect(in)) {
    case ES_KIND_SEAL:
        return es_seal_verify(in, o, rep);
    case ES_KIND_SIGNATURE:
        return ses_verify(in, o, rep);
    case ES_KIND_CMS:
        return seal_cms_verify(in, o, rep);
    default: {
        /* Say why the most likely reading failed. */
        es_seal s;
        es_err why = es_seal_from_der(in, 1, &s);
        return format_failed(rep, "unknown", why);
    }
    }
}
