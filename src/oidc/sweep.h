/* Periodic removal of expired records: used sign-in states (T_LOGINS, and
 * login transactions that older versions stored there), replay records of
 * ID tokens, and sessions, so that they do not accumulate in the store. */
#ifndef IDGATE_OIDC_SWEEP_H
#define IDGATE_OIDC_SWEEP_H

#include <stdint.h>

#include "oidc/oidc.h"

/* Seconds between sweeps, and most records removed per table per sweep. */
#define OIDC_SWEEP_INTERVAL 300
#define OIDC_SWEEP_BATCH 1000

/* Removes expired records as of `now` (a write job). `*removed` counts them. */
int oidc_sweep_run(store_txn *t, int64_t now, unsigned *removed);

void oidc_sweep_start(oidc_state *st);
void oidc_sweep_stop(oidc_state *st);

#endif
