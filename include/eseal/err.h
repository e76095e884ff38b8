/* eseal: error codes shared by every layer, and the one table that names them.
 *
 * One enum for the whole library, grouped in ranges so that a code tells which layer
 * refused. ES_OK is 0; every other value is an error. Each code has exactly one row in the
 * table of src/util/err.c: a stable machine name (the "error" of an HTTP reply, the name the
 * CLI prints with --json), the HTTP status the API answers it with, an English text and a
 * Chinese text. One condition has one code; no code means two things.
 *
 * Detail travels one way: a function returns the code, and the detail that names the
 * particular thing at fault (a field, a line, a serial) in an optional caller buffer
 * (`char *why, size_t whylen`, English, no secrets). The CLI prints "text: detail"; the API
 * replies {"error": name, "message": English, "message_zh": Chinese, "detail": detail}.
 * docs/errors.md lists the table.
 */
#ifndef ESEAL_ERR_H
#define ESEAL_ERR_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define ES_MUST_CHECK __attribute__((warn_unused_result))
#else
#define ES_MUST_CHECK
#endif

/* The library is built with -fvisibility=hidden: what a public header declares between
 * ES_API_BEGIN and ES_API_END is exported, everything else stays inside its layer. */
#if defined(__GNUC__) || defined(__clang__)
#define ES_API_BEGIN _Pragma("GCC visibility push(default)")
#define ES_API_END   _Pragma("GCC visibility pop")
#else
#define ES_API_BEGIN
#define ES_API_END
#endif

ES_API_BEGIN

typedef enum es_err {
    ES_OK = 0,

    /* 1xx: API use and resources */
    ES_ERR_ARG = 100, /* a parameter is invalid (NULL, out of range) */
    ES_ERR_NOMEM = 101,
    ES_ERR_LIMIT = 102, /* a named size limit was exceeded */
    ES_ERR_IO = 103,    /* a file could not be read or written */
    ES_ERR_NOT_FOUND = 104,
    ES_ERR_UNSUPPORTED = 105,
    ES_ERR_BUFFER = 106,      /* the caller's buffer is too small */
    ES_ERR_INTERNAL = 107,    /* a bug or an unexpected failure (HTTP 500, no detail shown) */
    ES_ERR_BUSY = 108,        /* a shared resource is taken (lock, gate): try again shortly */
    ES_ERR_UNAVAILABLE = 109, /* a service the operation needs is not ready or unreachable */

    /* 2xx: encoded data */
    ES_ERR_DER = 200,          /* malformed DER/BER: bad tag, length past input */
    ES_ERR_DER_DEPTH = 201,    /* nesting past ES_DER_MAX_DEPTH */
    ES_ERR_DER_TAG = 202,      /* an element has another tag than the structure requires */
    ES_ERR_DER_TRAILING = 203, /* bytes after the last element where none are allowed */
    ES_ERR_FORMAT = 204,       /* well-formed DER but not the structure expected */
    ES_ERR_TIME = 205,         /* a time value that cannot be read */
    ES_ERR_BASE64 = 206,
    ES_ERR_HEX = 207,
    ES_ERR_PEM = 208,

    /* 3xx: cryptography */
    ES_ERR_CRYPTO = 300,       /* the crypto library failed for an internal reason */
    ES_ERR_KEY = 301,          /* a key could not be read or is not SM2 */
    ES_ERR_CERT = 302,         /* a certificate could not be read */
    ES_ERR_SIG_FORMAT = 303,   /* a signature value that is neither DER nor raw r||s */
    ES_ERR_VERIFY = 304,       /* a signature does not verify */
    ES_ERR_KEY_MISMATCH = 305, /* a private key does not belong to the certificate */
    ES_ERR_SIGNER = 306,       /* a signer device refused or failed */

    /* 4xx: key devices (keydev) */
    ES_ERR_PIN = 400,        /* wrong PIN or passphrase (retries may remain) */
    ES_ERR_PIN_LOCKED = 401, /* the PIN is locked: unlock with the SO PIN */
    ES_ERR_DEVICE = 402,     /* the device or its library reported a failure */
    ES_ERR_LOAD = 403,       /* the device library could not be loaded */
    ES_ERR_SYMBOL = 404,     /* the device library lacks a function the operation needs */
    ES_ERR_KEYREF = 405,     /* a key reference that cannot be parsed */
    ES_ERR_NO_KEY = 406,     /* no key at that index, container or name */
    ES_ERR_EXISTS = 407,     /* something already exists where it would be created */
    ES_ERR_LOGIN = 408,      /* the operation needs a login first */

    /* 5xx: certification authority (pki) */
    ES_ERR_LINT = 500,    /* a certificate request fails the CA's checks (see the lint list) */
    ES_ERR_CONFIG = 501,  /* a configuration or profiles file that cannot be used */
    ES_ERR_REVOKED = 502, /* the certificate (or client) is revoked already */

    /* 6xx: accounts and access (auth.h, accounts.h) */
    ES_ERR_AUTH = 600,        /* sign-in or request authentication failed (HTTP 401) */
    ES_ERR_DENIED = 601,      /* authenticated, but the roles do not allow it (HTTP 403) */
    ES_ERR_LOCKED = 602,      /* the account is locked after failed sign-ins, or disabled */
    ES_ERR_PASSWORD = 603,    /* a wrong password (a person's; PINs of devices are ES_ERR_PIN) */
    ES_ERR_RATE = 604,        /* too many attempts: wait (HTTP 429 with Retry-After) */
    ES_ERR_MUST_CHANGE = 605, /* a one-time password must be changed before anything else */
    ES_ERR_FACTOR_REQUIRED = 620, /* a second factor must be enrolled before anything else */
    ES_ERR_FACTOR_CODE = 621,     /* a wrong code while enrolling a second factor */
    ES_ERR_ORIGIN = 611,          /* a cookie-authenticated change from another site (CSRF): 403 */

    /* 7xx: the HTTP exchange (http) */
    ES_ERR_JSON = 700,       /* the body is not the JSON the route takes */
    ES_ERR_MEDIA_TYPE = 701, /* the body's content type is not one the route takes */
    ES_ERR_METHOD = 702,     /* the resource exists, but not with this method */

    /* 8xx: the audit trail (audit.h) */
    ES_ERR_WITNESS = 800, /* a checkpoint disagrees with, or is behind, what the witness holds */

    /* 9xx: the making system (issue 10). Ranges: making core 900-929, national conventions
     * 930-939, decisions 940-949, data protection 950-959, upstream 960-969, delivery 970-979,
     * pictures 980-989. */
    ES_ERR_MK_STATE = 900,      /* the application's state does not allow this step */
    ES_ERR_MK_DUPLICATE = 901,  /* an open application for the same unit and seal name exists */
    ES_ERR_MK_FOUR_EYES = 902,  /* the one who entered an application may not review it */
    ES_ERR_MK_MATERIALS = 903,  /* a required material is missing */
    ES_ERR_MK_VERSION = 904,    /* the application changed since it was read (version) */
    ES_ERR_MK_INCOMPLETE = 905, /* the application lacks what this step needs (picture, key) */
    ES_ERR_MK_SEAL_STATE = 906, /* the seal's state does not allow this change */
    ES_ERR_MK_INTEGRITY = 907,  /* a stored application fails its integrity check */
    /* the making system's edges (914-919) */
    ES_ERR_MK_CERT_REVOKED = 914, /* restore: the seal's certificate is revoked, not on hold */
    /* decisions (decision.h) */
    ES_ERR_DECISION_SIGNER = 940,     /* a decision signed by another than its actor */
    ES_ERR_SIGNING_KEY_KIND = 941,    /* a PIN for a USBKey's key (or the reverse) */
    ES_ERR_SIGNING_KEY_DAMAGED = 942, /* a stored signing key that the node's key cannot open */
    /* 950-959: data protection at rest (protect.h) */
    ES_ERR_PROTECT_NO_KEY = 950, /* no data protection key in the store (setup not run) */
    ES_ERR_PROTECT_KEK = 951,    /* the keys are wrapped by another key-encryption key */
    ES_ERR_PROTECT_CHECK = 952,  /* protected data failed its check (the failures listed) */
    /* upstream (upstream.h) */
    ES_ERR_UPSTREAM_REFUSED = 960, /* the parent tier refused the request (4xx): not retried */
    ES_ERR_UPSTREAM_ANSWER = 961,  /* the parent tier's answer is not what the request needs */
    ES_ERR_IDEMPOTENCY = 962,      /* a request key used before with another body */
    ES_ERR_NOT_NATIONAL = 963,     /* this daemon does not answer the national link */
    /* delivery (package.h) */
    ES_ERR_PACKAGE_USED = 970,      /* the seal key of a server package was enveloped and wiped */
    ES_ERR_PACKAGE_RECIPIENT = 971, /* a server package for another key device's key */
    ES_ERR_PACKAGE_EXPIRED = 972,   /* a request package outside its validity */
    ES_ERR_SEAL_CERT = 973,         /* the seal does not name the certificate delivered with it */
    ES_ERR_TOKEN_NO_SEAL = 974,     /* the token's application holds no seal file */
    /* pictures (picture.h) */
    ES_ERR_PICTURE_FORMAT = 980, /* an image that is neither JPEG nor PNG (picture.h) */
    ES_ERR_PICTURE_DECODE = 981, /* a JPEG or PNG that is damaged, truncated or unusual */
    ES_ERR_PICTURE_SIZE = 982,   /* an image with more pixels than the named limits */
    ES_ERR_PICTURE_BOX = 983,    /* the seal's box is not inside the scan */
    ES_ERR_PICTURE_NO_INK = 984, /* no seal ink (red) in the box of a scan */
    ES_ERR_PICTURE_TEXT = 985,   /* seal text that is not valid or does not fit */
    ES_ERR_PICTURE_FONT = 986,   /* no installed font has a character of the seal text */
    /* 990-999: import of other vendors' seals, self-service renewal (making.h) */
    ES_ERR_MK_IMPORT_BATCH = 990,   /* a resumed import batch with other files or another person */
    ES_ERR_RENEWAL_FORMAT = 991,    /* a self-service renewal request that cannot be read */
    ES_ERR_RENEWAL_SIGNATURE = 992, /* not signed by the key of the seal's current certificate */
    ES_ERR_RENEWAL_CERT = 993,      /* the certificate named is not the seal's current one */
    ES_ERR_RENEWAL_TIME = 994,      /* the request's time is not within 10 minutes of now */
    ES_ERR_RENEWAL_REPLAY = 995,    /* the request's nonce was used before */
    ES_ERR_RENEWAL_WINDOW = 996,    /* the seal is not within its renewal window */
    ES_ERR_MK_NO_PICTURE = 997,     /* an imported seal whose picture cannot go into a new seal */
    ES_ERR_MK_NO_USCC = 998,        /* an imported seal without a unit credit code: not online */
    /* 1000-1049: the status publishing system (status.h, docs/status.md) */
    ES_ERR_STATUS_CODE = 1000,   /* a malformed seal code in a status query */
    ES_ERR_STATUS_SERIAL = 1001, /* a malformed certificate serial in a status query */
    ES_ERR_STATUS_TIME = 1002,   /* a malformed time (at) in a status query */
    ES_ERR_STATUS_NONCE = 1003,  /* a malformed nonce in a status query */
} es_err;

/* A reason a person reads: English and Chinese, static storage. */
typedef struct es_reason {
    const char *en;
    const char *zh;
} es_reason;

/* Returns a short English description of rv; never NULL, static storage. */
const char *es_err_str(es_err rv);

/* Returns the Chinese description of rv; never NULL, static storage (UTF-8). */
const char *es_err_str_zh(es_err rv);

/* Returns a stable machine name for rv ("der", "verify", ...); never NULL. */
const char *es_err_name(es_err rv);

/* Returns the HTTP status the API answers rv with (500 for a code not in the table). */
unsigned es_err_http_status(es_err rv);

/* Finds the code named name (es_err_name's inverse); ES_ERR_INTERNAL when unknown. */
es_err es_err_from_name(const char *name);

/* Iterates over the table: *rv gets the i-th code; returns 0 past the end. */
int es_err_at(size_t i, es_err *rv);

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
