/* Background removal of a deleted group's membership records.
 *
 * scim_store_group_delete removes a large group at once but leaves its
 * memberships to scim_store_group_cleanup jobs (see scim_store.h). This
 * module runs those jobs one after another on the event loop, so that every
 * other write waits for at most one chunk, and resumes the pending clean-ups
 * recorded in the store when the service starts. Everything here runs on
 * the event loop thread.
 */
#ifndef IDGATE_SCIM_CLEANUP_H
#define IDGATE_SCIM_CLEANUP_H

struct app;
struct conf;

/* Reads [scim] group_delete_chunk, the most memberships one job removes. */
void scim_cleanup_configure(struct conf *c);
/* The configured number of memberships per job. */
unsigned scim_cleanup_limit(void);

/* Starts removing the memberships of a deleted group in the background. */
void scim_cleanup_start(struct app *a, const char *account, const char *group_id);

/* Starts every clean-up pending in the store. Returns 0, or a STORE_* error
 * when the pending entries cannot be read. */
int scim_cleanup_resume(struct app *a);

/* Stops starting new jobs; called when shutdown begins. A clean-up that is
 * stopped resumes at the next start. */
void scim_cleanup_stop(void);

#endif
