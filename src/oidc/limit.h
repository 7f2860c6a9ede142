/* Sliding-window counters that bound how much anonymous requests can make
 * the service do: sign-in starts per client address and audited sign-in
 * failures per account. Counts are kept in memory per key (a client address
 * or an account id) and in total, for the current and the previous window. A count is the
 * sum of both, so an event is remembered for one to two windows. */
#ifndef IDGATE_OIDC_LIMIT_H
#define IDGATE_OIDC_LIMIT_H

#include <stdint.h>

typedef struct oidc_limit oidc_limit;

/* Creates a limiter: at most `per_key` events per key and `total` events in
 * all within a window of `window` seconds. NULL when out of memory. */
oidc_limit *oidc_limit_new(long window, unsigned per_key, unsigned total);
void oidc_limit_free(oidc_limit *l);

/* Makes oidc_limit_take allow keys it cannot track because too many are
 * active at once, instead of refusing them. For keys that strangers can
 * make up in large numbers, such as client addresses. */
void oidc_limit_allow_untracked(oidc_limit *l);

/* Counts one event for `key` at `now` (seconds). Returns 1 when it is within
 * both limits, 0 when a limit is reached (the event is then not counted).
 * Also 0 when more keys are active at once than the limiter can track,
 * unless oidc_limit_allow_untracked was called. */
int oidc_limit_take(oidc_limit *l, const char *key, int64_t now);

#endif
