/* What the files of src/api/ share (common.c implements it). Not installed: nothing outside
 * src/api/ includes this. */
#ifndef ESEAL_API_INTERNAL_H
#define ESEAL_API_INTERNAL_H

#include <jansson.h>

#include "eseal/accounts.h"
#include "eseal/api.h"
#include "eseal/audit.h"
#include "eseal/auth.h"
#include "eseal/castore.h"
#include "eseal/clients.h"
#include "eseal/otp.h"

#define API_COOKIE     "eseal_session"
#define API_PAGE_USERS 50
#define API_PAGE_AUDIT 100
/* An audit export is built in memory before it is sent. */
#define API_MAX_EXPORT (256u << 20)

/* Body limits by route: what a valid request can need, with room (the server's [limits]
 * max_body applies to routes not listed). */
enum { API_BODY_SMALL = 1024, API_BODY_FORM = 8192, API_BODY_PEM = 65536 };

/* The authenticated account of a request (es_http_req_user): a signed-in user, or a business
 * system whose request was signed (is_client; u holds its name and roles). */
typedef struct api_user {
    es_user u;
    char token[ES_SESSION_TOKEN_HEX + 1];
    int is_client;
    es_client client;
    char actor[ES_CLIENT_NAME_MAX + 8]; /* the audit trail's name: "alice", "client:erp" */
} api_user;

/* One row of a family's route table. */
typedef struct api_route {
    const char *method, *pattern;
    es_http_handler fn;
    unsigned flags;
    size_t max_body;
} api_route;

/* Registers n routes with their body limits. */
es_err api_routes(es_http *h, es_api_ctx *ctx, const api_route *r, size_t n) ES_MUST_CHECK;

/* Returns the error of a reply that could not be made, else code (the refusal replied). */
#define REFUSE(reply, code)                                                                        \
    do {                                                                                           \
        es_err r_ = (reply);                                                                       \
        return r_ != ES_OK ? r_ : (code);                                                          \
    } while (0)

/* The first lines of a handler: the context app_ and the accounts service a_ on the thread's
 * store, with es_err rv declared. */
#define BEGIN(app_, a_)                                                                            \
    es_api_ctx *app_ = arg;                                                                        \
    es_accounts a_;                                                                                \
    es_err rv = api_accounts(app_, &a_);                                                           \
    if (rv != ES_OK) return rv

/* Who acts in a request, for the services. */
es_actor api_actor(const api_user *su);
void api_user_free(void *p);
const api_user *api_user_of(es_http_req *req);

/* The accounts service on the calling thread's store; ES_ERR_IO without a store. */
es_err api_accounts(es_api_ctx *ctx, es_accounts *a) ES_MUST_CHECK;

/* The permission check of an endpoint family: ES_OK when the roles allow p; otherwise records
 * the refusal in the audit trail (up to ES_API_REFUSAL_AUDIT_RATE a minute per account, then
 * logged only), replies 403 and returns ES_ERR_DENIED. */
es_err api_require(es_http_req *req, es_api_ctx *ctx, es_accounts *a, es_perm p,
                   const char *what) ES_MUST_CHECK;

/* Replies for a service error rv with the service's sentence why (the reply's "detail");
 * returns rv. */
es_err api_fail(es_http_req *req, es_err rv, const char *why);

/* A POST without a body: nothing, or an empty JSON object. */
es_err api_no_body(es_http_req *req) ES_MUST_CHECK;

/* The roles of a JSON array of names. On a bad element it has replied 400. */
es_err api_roles_of(es_http_req *req, const json_t *arr, es_roles *out) ES_MUST_CHECK;

/* Sessions and passwords are for people: a business system signs each request instead. */
es_err api_people_only(es_http_req *req) ES_MUST_CHECK;

/* 503 while the node is starting. */
es_err api_not_ready(es_http_req *req) ES_MUST_CHECK;

/* JSON of the service objects. */
json_t *api_time_json(int64_t seconds);
json_t *api_roles_json(es_roles roles);
json_t *api_perms_json(es_roles roles);
json_t *api_pem_json(const char *label, const uint8_t *der, size_t len);

/* A page of a list in name order: the service is asked for limit + 1 items; the extra one only
 * says there is a next page, whose cursor is the last name kept. */
/* One route by method and pattern, as in a route table ("GET", "/api/v1/users/{name}"). */
typedef struct api_route_name {
    const char *method, *route;
} api_route_name;

/* 1 when the request's route is one of names (HEAD counts as GET), or has no route at all (a
 * 404 or 405: nothing to protect). For the states in which a session may do a few things only
 * (a password to change, a second factor to enrol). */
int api_route_in(es_http_req *req, const api_route_name *names, size_t n);

typedef struct api_page {
    json_t *items;
    unsigned limit, n;
    char last[ES_ACCOUNT_NAME_MAX + 1];
    int more;
} api_page;

/* Adds obj (taking the reference) unless the page is full. */
es_err api_page_add(api_page *p, const char *name, json_t *obj) ES_MUST_CHECK;

/* After authentication (auth.c): sets u->factor_needed (es_factor_state); when a second factor
 * is required and none is active, only the routes that enrol one, change the password, read or
 * end the session are allowed: anything else is refused 403 factor_enrolment_required. */
es_err api_factor_gate(es_http_req *req, es_accounts *a, es_user *u) ES_MUST_CHECK;

/* The status answers' cache and rate limit (status.c), made and freed with the context. */
es_err api_status_init(es_api_ctx *ctx) ES_MUST_CHECK;
void api_status_cleanup(es_api_ctx *ctx);

/* The authentication hook (auth.c). */
es_err api_authenticate(es_http_req *req, void *arg);

#endif
