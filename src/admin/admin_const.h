/* Protocol strings of the admin area. */
#ifndef IDGATE_ADMIN_CONST_H
#define IDGATE_ADMIN_CONST_H

/* DNS TXT record that proves control of a claimed domain:
 * _idgate-challenge.<domain> with the value idgate-verification=<token>. */
#define ADMIN_CHALLENGE_LABEL "_idgate-challenge."
#define ADMIN_CHALLENGE_PREFIX "idgate-verification="

#define ADMIN_API_PREFIX "/admin/v1"
#define ADMIN_CONSOLE_PATH "/console"
#define ADMIN_JSON "application/json"

/* Messages shown to administrators. */
#define ADMIN_GROUP_NOT_FOUND                                                                      \
    "group not found: the directory may not have finished syncing; try again in a few minutes"

#endif
