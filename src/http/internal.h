/* http: private declarations shared by the files of src/http. */
#ifndef ESEAL_HTTP_INTERNAL_H
#define ESEAL_HTTP_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include "eseal/http.h"

/* Files embedded at build time by cmake/http.cmake (web/ and docs/openapi.json). path is
 * relative to web/ ("index.html", "css/console.css"); the table ends with {NULL}. */
struct es_http_asset {
    const char *path;
    const unsigned char *data;
    size_t len;
};
extern const struct es_http_asset es_http_web_assets[];
extern const unsigned char es_http_openapi_json[];
extern const size_t es_http_openapi_json_len;

/* Methods a route can have, as bits (the Allow header is built from them). */
enum {
    M_GET = 0,
    M_HEAD,
    M_POST,
    M_PUT,
    M_PATCH,
    M_DELETE,
    M_OTHER, /* anything else: never routed, one metrics label */
    M_COUNT
};
int http_method_index(const char *method);
const char *http_method_name(int m);

/* A parsed route. segs are literals or, for "{name}" segments, the name with is_param set. */
typedef struct http_route {
    char *pattern;
    int method;
    char **segs;
    unsigned char *is_param;
    size_t nsegs;
    es_http_handler fn;
    void *arg;
    unsigned flags;
    size_t max_body; /* 0: the server's */
} http_route;

typedef struct http_router {
    http_route *routes;
    size_t n;
} http_router;

void http_router_cleanup(http_router *rt);
es_err http_router_add(http_router *rt, const char *method, const char *pattern, es_http_handler fn,
                       void *arg, unsigned flags);
/* Finds the route for method and the decoded path segments: the most specific one (literal
 * segments before parameters); *allow gets the methods of every route whose pattern matches
 * the path (bits 1 << M_*; GET adds HEAD). NULL when none matches the method. */
const http_route *http_router_match(const http_router *rt, int method, char *const *segs,
                                    size_t nsegs, unsigned *allow);

/* Percent-decodes in[0..len) into a new NUL-terminated string; plus: '+' is a space (query).
 * NULL for a bad escape, a decoded NUL or no memory (*bad tells which: 1 bad input). */
char *http_pct_decode(const char *in, size_t len, int plus, int *bad);

/* Metrics (metrics.c). Labels: a route index 0..nroutes-1, then "static", then "unmatched". */
typedef struct http_series {
    unsigned status;
    uint64_t count;
} http_series;

#define HTTP_BUCKETS      13
#define HTTP_MAX_STATUSES 24
typedef struct http_hist {
    uint64_t bucket[HTTP_BUCKETS]; /* cumulative at print time, per-bucket while counting */
    uint64_t count;
    double sum;
    http_series status[HTTP_MAX_STATUSES];
    size_t nstatus;
} http_hist;

typedef struct http_metrics {
    pthread_mutex_t lock;
    http_hist *hist; /* [label * M_COUNT + method] */
    size_t nlabels;
    long in_flight;
    uint64_t aborted;
} http_metrics;

es_err http_metrics_init(http_metrics *m, size_t nroutes);
void http_metrics_cleanup(http_metrics *m);
void http_metrics_begin(http_metrics *m);
/* status 0: no response was sent. */
void http_metrics_end(http_metrics *m, size_t label, int method, unsigned status, double seconds);
long http_metrics_in_flight(http_metrics *m);
es_err http_metrics_print(http_metrics *m, const http_router *rt, es_buf *out);

/* 1 when a peer address (as es_http_req_client gives it) is a loopback one: 127.0.0.0/8,
 * ::1, ::ffff:127.0.0.0/104 (server.c; GET /metrics in its default mode). */
int http_client_is_local(const char *client);

/* Static files (static.c). */
const char *http_content_type(const char *name);
/* Resolves decoded segments to an embedded asset or a file under dir (NULL: embedded). On
 * ES_OK either *asset is set, or *fd is an open regular file of *size bytes. ES_ERR_NOT_FOUND
 * for anything that is not a servable file (missing, directory, hidden, outside dir). */
es_err http_static_open(const char *dir, char *const *segs, size_t nsegs,
                        const struct es_http_asset **asset, int *fd, uint64_t *size,
                        const char **name);

/* What we keep per connection (see on_connection): its request in progress, and for the
 * limits of docs/http.md ("Limits") its socket, its address key and the phase and start of
 * the request it is on. The http_conn list and the counts are guarded by es_http.conn_lock. */
enum { CONN_HEAD, CONN_BODY, CONN_REPLY };
typedef struct http_conn {
    es_http_req *cur;
    struct http_conn *prev, *next;
    int fd;
    unsigned char key[16]; /* the address (IPv4 as ::ffff:a.b.c.d; IPv6 its /64) */
    int phase;   /* CONN_*: HEAD, BODY: waiting for the client; REPLY: the server's turn */
    int dropped; /* shut down by us (limit or deadline): no longer counted */
    struct timespec t_req; /* start of the current phase (HEAD: of the wait for a request) */
    /* The reaper's passes in a row that saw it past its deadline with nothing unread (cleared by
     * conn_phase and by unread bytes). libmicrohttpd reads a request, then parses it: a reaper
     * that looked in between (the socket empty, the phase not yet moved) would drop a request
     * that had arrived whole, long ago, and waited for a busy worker; its answer never sent
     * (CI: a user created, its client answered by the connection's end). */
    int overdue;
} http_conn;

/* Connections of one address key. */
typedef struct http_addr {
    unsigned char key[16];
    unsigned count; /* connections counted */
    size_t held;    /* bytes of the body budget its requests hold (the entry stays while > 0) */
} http_addr;

/* A token bucket of access-log lines. */
typedef struct http_logbucket {
    double tokens;
    uint64_t suppressed;
} http_logbucket;

struct es_http {
    es_http_config cfg;
    char *listen;
    char *metrics_token;
    char *static_dir; /* realpath of cfg.static_dir */
    struct sockaddr_storage addr;
    unsigned addr_len;
    int ipv6;
    http_router router;
    http_metrics metrics;
    int metrics_ready;
    es_http_auth_fn auth;
    void *auth_arg;
    es_http_health_fn health;
    void *health_arg;
    const char *const *health_warnings; /* borrowed (es_http_set_health_warnings) */
    size_t n_health_warnings;
    struct MHD_Daemon *d;
    unsigned port;

    /* Limits (server.c): the connections, their addresses, the bodies in memory, the reaper
     * thread that ends requests past their deadline and writes the log summary. */
    pthread_mutex_t conn_lock;
    pthread_cond_t reaper_cv;
    int locks_ready;
    pthread_t reaper;
    int reaper_running, reaper_stop;
    http_conn *conns, *conns_tail;
    size_t active; /* counted connections (not dropped) */
    http_addr *addrs;
    size_t naddrs, addrs_cap;
    size_t body_held; /* bytes reserved for request bodies */
    uint64_t dropped_limit, dropped_deadline, refused_budget;

    pthread_mutex_t log_lock;
    struct timespec log_t, log_summary_t;
    http_logbucket log_ok, log_err;
};

/* A header of the response. */
typedef struct http_kv {
    char *name;
    char *value;
} http_kv;

typedef struct http_param {
    const char *name;  /* the route's */
    const char *value; /* a decoded segment */
} http_param;

struct es_http_req {
    es_http *h;
    http_conn *conn_ctx;
    struct MHD_Connection *conn;
    struct timespec t0;
    int started; /* the access handler has seen the headers */
    int queued;  /* a response is queued */
    char *uri;   /* raw, as received (path and query) */
    char *path;  /* raw path, without the query */
    char *method;
    int method_idx;
    char client[64];

    char **segs; /* decoded path segments */
    size_t nsegs;
    int bad_path;
    http_kv *query;
    size_t nquery;
    int bad_query;

    const http_route *route;
    unsigned allow;
    int is_static;
    http_param *params;
    size_t nparams;

    es_buf body;
    uint64_t body_len;
    size_t reserved;       /* bytes of es_http.body_budget this request holds */
    unsigned char key[16]; /* its connection's address key (has_key), for the budget's share */
    int has_key;
    int auth_deferred; /* the hook asked to be called again with the body */
    int body_ready;    /* the body is in (the last access call) */

    void *user;
    void (*user_free)(void *);

    /* the reply */
    int replied;
    unsigned status;
    char *ctype;
    es_buf out;
    const unsigned char *out_static; /* an embedded file (not owned) */
    size_t out_static_len;
    int out_fd; /* a static file (owned until handed to the response) */
    uint64_t out_fd_len;
    int cache_console; /* console file: Cache-Control no-cache instead of no-store */
    /* A cacheable public answer: its Cache-Control instead of no-store (es_http_set_cache). */
    char cache_control[64];
    http_kv *hdrs;
    size_t nhdrs;
    unsigned sent_status;
};

/* Resets the reply part of r (not the extra headers). */
void http_reply_reset(es_http_req *r);
/* Starts a reply with an empty body: status (100..599) and content type (NULL: none). */
es_err http_reply_start(es_http_req *r, unsigned status, const char *ctype);

#endif
