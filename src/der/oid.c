/* The OID table (der.h): {id, name, der}. The octets were computed from the dotted forms
 * once; test_der checks each row against es_oid_from_text (and, for the 128-bit UUID arc of
 * ES_OID_SEAL_SOURCE, which es_oid_from_text cannot hold, against its arcs decoded by hand). */
#include <string.h>

#include "eseal/der.h"

static const es_oid_info table[] = {
    {ES_OID_ID_SM2, "sm2", ES_OID_SM2, "\x2a\x81\x1c\xcf\x55\x01\x82\x2d", 8},
    {ES_OID_ID_SM2_1, "sm2sign", ES_OID_SM2_1, "\x2a\x81\x1c\xcf\x55\x01\x82\x2d\x01", 9},
    {ES_OID_ID_SM3, "sm3", ES_OID_SM3, "\x2a\x81\x1c\xcf\x55\x01\x83\x11", 8},
    {ES_OID_ID_SM2_SM3, "SM2-with-SM3", ES_OID_SM2_SM3, "\x2a\x81\x1c\xcf\x55\x01\x83\x75", 8},
    {ES_OID_ID_GM_DATA, "gmData", ES_OID_GM_DATA, "\x2a\x81\x1c\xcf\x55\x06\x01\x04\x02\x01", 10},
    {ES_OID_ID_GM_SIGNED, "gmSignedData", ES_OID_GM_SIGNED,
     "\x2a\x81\x1c\xcf\x55\x06\x01\x04\x02\x02", 10},
    {ES_OID_ID_PKCS7_DATA, "pkcs7-data", ES_OID_PKCS7_DATA, "\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01",
     9},
    {ES_OID_ID_PKCS7_SIGNED, "pkcs7-signedData", ES_OID_PKCS7_SIGNED,
     "\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02", 9},
    {ES_OID_ID_CONTENT_TYPE, "contentType", ES_OID_CONTENT_TYPE,
     "\x2a\x86\x48\x86\xf7\x0d\x01\x09\x03", 9},
    {ES_OID_ID_MSG_DIGEST, "messageDigest", ES_OID_MSG_DIGEST,
     "\x2a\x86\x48\x86\xf7\x0d\x01\x09\x04", 9},
    {ES_OID_ID_SIGNING_TIME, "signingTime", ES_OID_SIGNING_TIME,
     "\x2a\x86\x48\x86\xf7\x0d\x01\x09\x05", 9},
    {ES_OID_ID_EXT_REQUEST, "extensionRequest", ES_OID_EXT_REQUEST,
     "\x2a\x86\x48\x86\xf7\x0d\x01\x09\x0e", 9},
    {ES_OID_ID_EC_PUBLIC_KEY, "id-ecPublicKey", ES_OID_EC_PUBLIC_KEY,
     "\x2a\x86\x48\xce\x3d\x02\x01", 7},
    {ES_OID_ID_CE_SKI, "subjectKeyIdentifier", ES_OID_CE_SKI, "\x55\x1d\x0e", 3},
    {ES_OID_ID_CE_KU, "keyUsage", ES_OID_CE_KU, "\x55\x1d\x0f", 3},
    {ES_OID_ID_CE_SAN, "subjectAltName", ES_OID_CE_SAN, "\x55\x1d\x11", 3},
    {ES_OID_ID_CE_BC, "basicConstraints", ES_OID_CE_BC, "\x55\x1d\x13", 3},
    {ES_OID_ID_CE_CRL_NUMBER, "cRLNumber", ES_OID_CE_CRL_NUMBER, "\x55\x1d\x14", 3},
    {ES_OID_ID_CE_DELTA_CRL, "deltaCRLIndicator", ES_OID_CE_DELTA_CRL, "\x55\x1d\x1b", 3},
    {ES_OID_ID_CE_REASON, "cRLReason", ES_OID_CE_REASON, "\x55\x1d\x15", 3},
    {ES_OID_ID_CE_CRL_DP, "cRLDistributionPoints", ES_OID_CE_CRL_DP, "\x55\x1d\x1f", 3},
    {ES_OID_ID_CE_AKI, "authorityKeyIdentifier", ES_OID_CE_AKI, "\x55\x1d\x23", 3},
    {ES_OID_ID_CE_EKU, "extKeyUsage", ES_OID_CE_EKU, "\x55\x1d\x25", 3},
    {ES_OID_ID_KP_SERVER_AUTH, "serverAuth", ES_OID_KP_SERVER_AUTH,
     "\x2b\x06\x01\x05\x05\x07\x03\x01", 8},
    {ES_OID_ID_KP_CLIENT_AUTH, "clientAuth", ES_OID_KP_CLIENT_AUTH,
     "\x2b\x06\x01\x05\x05\x07\x03\x02", 8},
    {ES_OID_ID_KP_CODE_SIGNING, "codeSigning", ES_OID_KP_CODE_SIGNING,
     "\x2b\x06\x01\x05\x05\x07\x03\x03", 8},
    {ES_OID_ID_KP_EMAIL, "emailProtection", ES_OID_KP_EMAIL, "\x2b\x06\x01\x05\x05\x07\x03\x04", 8},
    {ES_OID_ID_KP_TIME_STAMPING, "timeStamping", ES_OID_KP_TIME_STAMPING,
     "\x2b\x06\x01\x05\x05\x07\x03\x08", 8},
    {ES_OID_ID_KP_OCSP_SIGNING, "OCSPSigning", ES_OID_KP_OCSP_SIGNING,
     "\x2b\x06\x01\x05\x05\x07\x03\x09", 8},
    {ES_OID_ID_AT_CN, "CN", ES_OID_AT_CN, "\x55\x04\x03", 3},
    {ES_OID_ID_AT_SN, "SN", ES_OID_AT_SN, "\x55\x04\x04", 3},
    {ES_OID_ID_AT_SERIAL, "serialNumber", ES_OID_AT_SERIAL, "\x55\x04\x05", 3},
    {ES_OID_ID_AT_C, "C", ES_OID_AT_C, "\x55\x04\x06", 3},
    {ES_OID_ID_AT_L, "L", ES_OID_AT_L, "\x55\x04\x07", 3},
    {ES_OID_ID_AT_ST, "ST", ES_OID_AT_ST, "\x55\x04\x08", 3},
    {ES_OID_ID_AT_STREET, "street", ES_OID_AT_STREET, "\x55\x04\x09", 3},
    {ES_OID_ID_AT_O, "O", ES_OID_AT_O, "\x55\x04\x0a", 3},
    {ES_OID_ID_AT_OU, "OU", ES_OID_AT_OU, "\x55\x04\x0b", 3},
    {ES_OID_ID_AT_TITLE, "title", ES_OID_AT_TITLE, "\x55\x04\x0c", 3},
    {ES_OID_ID_AT_DESCRIPTION, "description", ES_OID_AT_DESCRIPTION, "\x55\x04\x0d", 3},
    {ES_OID_ID_AT_BUSINESS_CATEGORY, "businessCategory", ES_OID_AT_BUSINESS_CATEGORY,
     "\x55\x04\x0f", 3},
    {ES_OID_ID_AT_POSTAL_CODE, "postalCode", ES_OID_AT_POSTAL_CODE, "\x55\x04\x11", 3},
    {ES_OID_ID_AT_GN, "GN", ES_OID_AT_GN, "\x55\x04\x2a", 3},
    {ES_OID_ID_AT_INITIALS, "initials", ES_OID_AT_INITIALS, "\x55\x04\x2b", 3},
    {ES_OID_ID_AT_DN_QUALIFIER, "dnQualifier", ES_OID_AT_DN_QUALIFIER, "\x55\x04\x2e", 3},
    {ES_OID_ID_AT_PSEUDONYM, "pseudonym", ES_OID_AT_PSEUDONYM, "\x55\x04\x41", 3},
    {ES_OID_ID_AT_ORG_ID, "organizationIdentifier", ES_OID_AT_ORG_ID, "\x55\x04\x61", 3},
    {ES_OID_ID_AT_EMAIL, "emailAddress", ES_OID_AT_EMAIL, "\x2a\x86\x48\x86\xf7\x0d\x01\x09\x01",
     9},
    {ES_OID_ID_AT_DC, "DC", ES_OID_AT_DC, "\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x19", 10},
    {ES_OID_ID_AT_UID, "UID", ES_OID_AT_UID, "\x09\x92\x26\x89\x93\xf2\x2c\x64\x01\x01", 10},
    {ES_OID_ID_SEAL_SOURCE, "sealSource", ES_OID_SEAL_SOURCE,
     "\x69\x81\x93\xa4\xb3\xc2\x9d\xa4\xaa\xaf\xc1\x90\xe6\x86\x8f\x8f\xea\xcc\x87\x4b\x01\x01",
     22},
};

const es_oid_info *es_oid_info_of(es_oid_id id)
{
    if (id <= ES_OID_ID_NONE || id >= ES_OID_ID_COUNT) return NULL;
    return &table[id - 1];
}

const es_oid_info *es_oid_find(es_slice oid)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].der_len == oid.len && oid.len && memcmp(table[i].der, oid.p, oid.len) == 0)
            return &table[i];
    return NULL;
}

int es_oid_is(es_slice oid, es_oid_id id)
{
    const es_oid_info *o = es_oid_info_of(id);
    return o && o->der_len == oid.len && memcmp(o->der, oid.p, oid.len) == 0;
}

es_slice es_oid_der(es_oid_id id)
{
    const es_oid_info *o = es_oid_info_of(id);
    return o ? es_slice_make(o->der, o->der_len) : ES_SLICE_NULL;
}

void es_der_w_oid(es_der_w *w, es_oid_id id)
{
    const es_oid_info *o = es_oid_info_of(id);
    if (!o) {
        if (w->err == ES_OK) w->err = ES_ERR_ARG;
        return;
    }
    es_der_w_prim(w, ES_DER_OID, o->der, o->der_len);
}
