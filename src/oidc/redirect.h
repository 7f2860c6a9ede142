/* Validation of the address a browser is sent to after sign-in
 * (`target_link_uri` on the initiate-login endpoint).
 *
 * A target is accepted when it is either a path on this service ("/" followed
 * by anything but a second "/" or a "\") or an absolute http(s) URL whose
 * origin is this service's own origin or one of the allowed origins. Anything
 * a browser or proxy could read as another host is rejected: "//host",
 * "/\host", "https:host", userinfo ("https://good@evil"), backslashes,
 * control characters, spaces, non-ASCII bytes, and percent-encoded slashes,
 * backslashes, percent signs or control characters.
 */
#ifndef IDGATE_OIDC_REDIRECT_H
#define IDGATE_OIDC_REDIRECT_H

#include <stddef.h>

/* Maximum length of a target, in bytes. */
#define OIDC_TARGET_MAX 2048
/* Room for a normalized origin ("https://" + host + ":" + port). */
#define OIDC_ORIGIN_MAX 300

/* Normalizes the origin of an absolute http or https URL: lower-case scheme
 * and host, default port removed, no path. Writes it to `out`. Returns 0, or
 * -1 when `url` has no valid http(s) origin or carries userinfo. */
int oidc_origin_normalize(const char *url, char out[OIDC_ORIGIN_MAX]);

/* Writes the normalized origin of an absolute http or https URL that may
 * have a path, query or fragment (an issuer or a Referer, for example).
 * Returns 0, or -1 when `url` has no valid http(s) origin or carries
 * userinfo. */
int oidc_origin_of(const char *url, char out[OIDC_ORIGIN_MAX]);

/* Checks `target` as described above. `self_origin` (may be NULL) and
 * `allowed` (an array of `nallowed` origins, each normalized or not) are the
 * origins absolute targets may name. Returns 0 when the target is safe, or -1
 * with `*reason` set to a static English phrase for the log. An empty target
 * is safe (the caller substitutes "/"). */
int oidc_target_check(const char *target, const char *self_origin, const char *const *allowed,
                      size_t nallowed, const char **reason);

#endif
