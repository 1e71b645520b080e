/* routes.h - every request's protocol, route and error body, from one table
 * of protocols (/v2 first, then /v1, which takes every other path). */
#ifndef LEAKYCLD_ROUTES_H
#define LEAKYCLD_ROUTES_H

#include "route.h"

/* The route of (method, path) in the protocol that owns path; NULL with
 * *code LKD_NOT_FOUND or LKD_METHOD_NOT_ALLOWED (*allow set). */
const lkd_route *lkd_route_find(const char *method, const char *path, lkd_error_code *code,
                                const char **allow);

/* Replaces r with e's answer in the error body of path's protocol. */
void lkd_respond_error(lkd_response *r, const lkd_error *e, const char *path);

#endif
