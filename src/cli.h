/* Command-line subcommands: `idgate <noun> <verb> [--flags]`.
 *
 * Each area registers its commands without touching src/main.c, either by
 * calling cli_register before cli_main runs or, simplest, with the
 * CLI_COMMAND macro at file scope in any source file of libidgate.a:
 *
 *   static int cmd_domain_add(cli_ctx *c)
 *   {
 *       const char *account = cli_flag(c, "account");
 *       if (!account)
 *           return cli_usage(c);
 *       store *s;
 *       if (cli_store(c, &s) != 0)
 *           return 1;
 *       ...
 *       return cli_print_json(result);   // 0
 *   }
 *   CLI_COMMAND(domain_add, "domain", "add", "--account ID --domain NAME",
 *               "Claims an email domain for an account.", cmd_domain_add)
 *
 * Conventions: results go to stdout as JSON (an object, or an array for
 * list verbs) with cli_print_json; errors go to stderr as one readable line
 * through cli_fail (exit code 1); a missing or malformed flag returns
 * cli_usage (exit code 2). Never print a secret except the one a create
 * command exists to hand out once.
 *
 * The dispatcher rejects with exit code 2 any option that the registered
 * usage string does not list, so the usage must name every option the
 * command reads. An option followed there by a placeholder (`--account ID`)
 * takes a value, and one followed by `]` or another option is a switch. An
 * option outside square brackets is required, and its absence exits 2.
 *
 * The dispatcher loads the configuration (`--config FILE` anywhere on the
 * command line, else the IDGATE_CONFIG environment variable, else defaults
 * and IDGATE_* overrides) before calling the command, and closes the store
 * after it returns.
 */
#ifndef IDGATE_CLI_H
#define IDGATE_CLI_H

struct conf;
struct store;
struct json;

typedef struct cli_ctx {
    struct conf *conf;          /* loaded and valid */
    const char *noun;
    const char *verb;
    int argc;                   /* arguments after the verb, without --config */
    char **argv;
    const char *usage;          /* the registered usage string */
    struct store *store;        /* opened on demand by cli_store */
} cli_ctx;

/* A command returns the process exit code: 0, 1 (failed) or 2 (usage). */
typedef int (*cli_fn)(cli_ctx *c);

/* Registers `noun verb`. All strings must stay valid for the whole run
 * (string literals). Returns 0, or -1 when the table is full. */
int cli_register(const char *noun, const char *verb, cli_fn fn, const char *usage,
                 const char *help);

#define CLI_COMMAND(id, noun, verb, usage, help, fn)                                      \
    __attribute__((constructor)) static void cli_register_##id(void)                      \
    {                                                                                     \
        cli_register(noun, verb, fn, usage, help);                                        \
    }

/* Value of `--name VALUE` or `--name=VALUE` (name without dashes); NULL
 * when absent. The last occurrence wins. Borrowed from argv. */
const char *cli_flag(cli_ctx *c, const char *name);
/* 1 when the boolean flag `--name` is present. */
int cli_has_flag(cli_ctx *c, const char *name);
/* Opens the configured store once (read-write, no event loop, so writes go
 * through store_run) and returns it in `*out`. On failure prints the reason
 * and returns -1. */
int cli_store(cli_ctx *c, struct store **out);
/* Prints the usage line of the command to stderr and returns 2. */
int cli_usage(cli_ctx *c);
/* Prints "idgate <noun> <verb>: <message>" to stderr and returns 1. */
int cli_fail(cli_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints `j` and a newline to stdout. Returns 0, or 1 when it cannot. */
int cli_print_json(const struct json *j);

/* Runs the command line. `argv[0]` is the program name. Returns the exit
 * code. Handles `help [NOUN]`, `version`, `--help` or `-h` after the
 * program, a noun or a verb, and registered commands; `serve` is
 * dispatched by main. */
int cli_main(int argc, char **argv);
/* Prints every registered command with its usage and help to `file` (a
 * FILE *), grouped by noun. */
void cli_print_help(void *file);

/* Prints configuration errors (conf_ok's text, one error a line) to
 * stderr: a single error on one line after "idgate: ", several under an
 * "idgate: invalid configuration:" heading. */
void cli_print_conf_errors(const char *errors);

/* Finds `--config FILE`/`--config=FILE` in argv, removes it and returns
 * the file, else IDGATE_CONFIG from the environment, else NULL. */
const char *cli_take_config(int *argc, char **argv);

#endif
