/* eseal config: the daemon's one configuration file (docs/esealsd.md, etc/esealsd.conf).
 *
 * INI-like (es_ini_parse). Every key has an embedded default, so esealsd runs with no file
 * at all: SQLite under ./var/, the software key store under ./var/keys, listening on
 * 127.0.0.1:8440, tier "province", every system of that tier enabled. Unknown sections and
 * keys are errors that name the line: a typo never silently falls back to a default.
 */
#ifndef ESEAL_CONFIG_H
#define ESEAL_CONFIG_H

#include <stddef.h>

#include "eseal/err.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

typedef enum es_tier {
    ES_TIER_MINISTRY = 0,
    ES_TIER_PROVINCE,
    ES_TIER_CITY,
    ES_TIER_NATIONAL_SIMULATOR, /* stands in for the unreachable national platform (tests) */
} es_tier;

/* The systems of LD/T 01.1 6 / 7.2 a daemon may run. */
enum {
    ES_SYS_MAKING = 1 << 0,      /* 制作系统 */
    ES_SYS_STATUS = 1 << 1,      /* 状态发布系统 */
    ES_SYS_APP = 1 << 2,         /* 应用系统 */
    ES_SYS_MGMT = 1 << 3,        /* 服务管理系统 (ministry) */
    ES_SYS_CONFORMANCE = 1 << 4, /* 接入测试系统 (ministry) */
};

#define ES_CONFIG_PATH 1024

typedef struct es_config {
    /* [server] */
    char listen[128]; /* ADDR:PORT; port 0 = any free port */
    es_tier tier;
    unsigned systems;             /* ES_SYS_* */
    char site_name[256];          /* e.g. 福建省人力资源和社会保障电子印章系统 */
    char division[8];             /* 6-digit GB/T 2260 division code of the site */
    char web_dir[ES_CONFIG_PATH]; /* console files; empty: the copy built into esealsd */
    int secure_cookies;           /* 1: session cookies carry Secure (served behind TLS) */
    char public_url[512];         /* how other systems reach this one (the system certificate's
                                     URI); empty: http://LISTEN/ with the port in use */
    char province[64];            /* ST of the system certificate; empty: from the division */
    int metrics;                  /* GET /metrics: ES_CONFIG_METRICS_* (docs/http.md) */
    char metrics_token_env[64];   /* token mode: the environment variable holding the token */
    /* [store] */
    char store_url[ES_CONFIG_PATH];
    /* [keys] key references (keydev.h) and where their PINs come from */
    char var_dir[ES_CONFIG_PATH];
    char key_root[ES_CONFIG_PATH + 64];   /* the seal root (CA) key */
    char key_system[ES_CONFIG_PATH + 64]; /* the daemon's system key (signed messages) */
    char key_audit[ES_CONFIG_PATH + 64];  /* signs the audit trail */
    char key_status[ES_CONFIG_PATH + 64]; /* the status system's key (signs status answers) */
    char pin_env[64];                     /* environment variable holding the key PIN(s) */
    char pin_file[ES_CONFIG_PATH]; /* else this file (0600); the embedded default makes one */
    /* [limits] */
    unsigned threads;
    unsigned max_connections;
    unsigned timeout_seconds;
    unsigned long max_body;                /* bytes */
    unsigned page_max;                     /* largest page a list returns */
    unsigned per_address;                  /* connections at once from one address (IPv6: a /64) */
    unsigned head_timeout_seconds;         /* a request's line and headers, from its first byte */
    unsigned request_timeout_seconds;      /* a request's body, from the end of its head */
    unsigned long body_memory;             /* bytes of request bodies held at once */
    unsigned long body_memory_per_address; /* of which one address's requests */
    /* [accounts] */
    unsigned session_minutes;
    unsigned lockout_failures;
    unsigned lockout_minutes;
    unsigned signin_rate_address; /* sign-in attempts a minute from one client address */
    unsigned signin_rate_account; /* sign-in attempts a minute for one account name */
    unsigned signin_parallel;     /* password hashes (64 MiB each) running at once */
    /* [api] */
    unsigned clock_skew_seconds; /* a signed request's timestamp: at most this far off */
    /* [audit] a signed checkpoint at least every checkpoint_records records or
     * checkpoint_ms milliseconds (docs/audit.md) */
    unsigned audit_checkpoint_records;
    unsigned audit_checkpoint_ms;
    /* [audit] witness: where the signed checkpoints go outside the site (docs/audit.md
     * "Witness"): "" none, "file:PATH" an append-only file (on another host: an NFS mount),
     * "http://HOST:PORT/" the parent tier's esealsd, where this site is the registered client
     * witness_client whose requests are signed with witness_key (a key reference). Sent
     * every witness_ms and at stop; retried at the next time when the witness is down. */
    char audit_witness[ES_CONFIG_PATH];
    unsigned audit_witness_ms;
    char audit_witness_client[64];
    char audit_witness_key[ES_CONFIG_PATH + 64];
    /* [log] */
    char log_level[16];             /* error | warn | info | debug */
    unsigned log_access_rate;       /* access lines a second for answers below 400 */
    unsigned log_access_error_rate; /* and for errors, refusals, requests not answered */
    unsigned log_summary_seconds;   /* "N requests not logged" at most this often */
    /* [factors] the second factor of staff accounts (docs/accounts.md, "Second factor") */
    int factor_enforce;                   /* false: password alone for all (test sites only) */
    int factor_operator_password_only;    /* true: operators may sign in by password alone */
    unsigned factor_step;                 /* seconds per dynamic-password time step */
    unsigned factor_digits;               /* digits of a dynamic password (6..8) */
    unsigned factor_window;               /* time steps of drift accepted either way */
    unsigned factor_challenge_seconds;    /* an SM2 sign-in challenge lives this long */
    char key_factor[ES_CONFIG_PATH + 64]; /* [keys] factor: the seeds key (decrypts) */
    /* [making] tables: the making tables file (etc/making.conf, docs/national.md); empty: the
     * built-in tables */
    char making_tables[ES_CONFIG_PATH];
    /* [making] renewal_window_days: a seal may be renewed online (self-service, signed with
     * its key) this many days before its validity ends (docs/making.md) */
    unsigned making_renewal_window_days;
    /* [status] rate_address: status queries a client address may make a minute (the public
     * GET /api/v1/status/...; burst a tenth of it, at least 1; docs/status.md) */
    unsigned status_rate_address;
    /* [keys] decisions: the node's half of people's signing keys (decrypts; docs/decisions.md) */
    char key_decisions[ES_CONFIG_PATH + 64];
    /* [keys] protect: the key-encryption key of personal data at rest (docs/protect.md) */
    char key_protect[ES_CONFIG_PATH + 64];
    unsigned protect_reencrypt_seconds; /* [protect] how often the re-encryption pass runs */
    /* [upstream] the parent tier (docs/upstream.md): url "" none (requests wait in the outbox),
     * else http://HOST:PORT/ of the parent's esealsd (the national platform simulator at the
     * ministry), where this site is the registered business system `client`, its requests
     * signed with key (a key reference; "": [keys] system, the site's system key). The job
     * looks every poll_ms; a failed attempt is retried after retry_min_ms, doubling up to
     * retry_max_ms, with jitter. */
    char upstream_url[512];
    char upstream_client[64];
    char upstream_key[ES_CONFIG_PATH + 64];
    unsigned upstream_poll_ms;
    unsigned upstream_retry_min_ms;
    unsigned upstream_retry_max_ms;
    /* The parent's system certificate (PEM or DER file): its 2xx answers must be signed with
     * that key (docs/upstream.md, "Signed answers"); "": answers are taken unsigned. */
    char upstream_parent_cert[ES_CONFIG_PATH];
} es_config;

/* es_config.metrics */
#define ES_CONFIG_METRICS_LOCAL 0 /* loopback clients only */
#define ES_CONFIG_METRICS_OFF   1
#define ES_CONFIG_METRICS_TOKEN 2 /* Authorization: Bearer $metrics_token_env */

/* Fills every field with the embedded defaults, with var_dir (NULL: "var") as the base of the
 * store, key and PIN paths. */
void es_config_defaults(es_config *c, const char *var_dir);
/* Reads a configuration file over the defaults already in *c. ES_ERR_CONFIG with a sentence
 * naming the line in why; ES_ERR_IO / ES_ERR_NOT_FOUND when the file cannot be read. */
es_err es_config_load(const char *path, es_config *c, char *why, size_t whylen) ES_MUST_CHECK;
/* Parses configuration text (what es_config_load reads). */
es_err es_config_parse(const char *text, size_t len, es_config *c, char *why,
                       size_t whylen) ES_MUST_CHECK;
const char *es_tier_name(es_tier t);
/* "making,status,app" for a mask; out at least 64 bytes. */
void es_systems_format(unsigned systems, char *out, size_t outlen);

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
