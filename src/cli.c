#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "conf.h"
#include "json.h"
#include "log.h"
#include "store.h"

#define MAX_COMMANDS 128

typedef struct command {
    const char *noun;
    const char *verb;
    cli_fn fn;
    const char *usage;
    const char *help;
} command;

static command commands[MAX_COMMANDS];
static size_t ncommands;

int cli_register(const char *noun, const char *verb, cli_fn fn, const char *usage,
                 const char *help)
{
    if (ncommands == MAX_COMMANDS)
        return -1;
    commands[ncommands++] = (command){noun, verb, fn, usage ? usage : "", help ? help : ""};
    return 0;
}

static const command *find_command(const char *noun, const char *verb)
{
    for (size_t i = 0; i < ncommands; i++) {
        if (strcmp(commands[i].noun, noun) == 0 && strcmp(commands[i].verb, verb) == 0)
            return &commands[i];
    }
    return NULL;
}

static int noun_known(const char *noun)
{
    for (size_t i = 0; i < ncommands; i++) {
        if (strcmp(commands[i].noun, noun) == 0)
            return 1;
    }
    return 0;
}

const char *cli_flag(cli_ctx *c, const char *name)
{
    size_t n = strlen(name);
    const char *value = NULL;

    for (int i = 0; i < c->argc; i++) {
        const char *a = c->argv[i];
        if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0)
            continue;
        if (a[2 + n] == '=')
            value = a + 3 + n;
        else if (a[2 + n] == '\0' && i + 1 < c->argc)
            value = c->argv[++i];
    }
    return value;
}

int cli_has_flag(cli_ctx *c, const char *name)
{
    for (int i = 0; i < c->argc; i++) {
        if (strncmp(c->argv[i], "--", 2) == 0 && strcmp(c->argv[i] + 2, name) == 0)
            return 1;
    }
    return 0;
}

int cli_store(cli_ctx *c, store **out)
{
    store_options opt = {0};
    int rc;

    if (c->store) {
        *out = c->store;
        return 0;
    }
    opt.path = c->conf->store_path;
    opt.map_size = c->conf->map_size;
    rc = store_open(&opt, NULL, &c->store);
    if (rc != 0) {
        cli_fail(c, "cannot open the store at %s: %s", c->conf->store_path, store_strerror(rc));
        return -1;
    }
    *out = c->store;
    return 0;
}

/* Prints "usage: idgate NOUN VERB USAGE" without a trailing space. */
static void print_usage_line(FILE *out, const char *noun, const char *verb, const char *usage)
{
    fprintf(out, "usage: idgate %s %s%s%s\n", noun, verb, usage && *usage ? " " : "",
            usage ? usage : "");
}

int cli_usage(cli_ctx *c)
{
    print_usage_line(stderr, c->noun, c->verb, c->usage);
    return 2;
}

/* Looks up the option `--name` (`len` bytes of `name`) in a usage string
 * such as "--account ID [--tier basic|pro] [--no-check]". Returns 1 when
 * the usage lists it, and sets `*takes_value` when a placeholder follows
 * it there, else returns 0. */
static int usage_option(const char *usage, const char *name, size_t len, int *takes_value)
{
    const char *p = usage;

    while (p && *p) {
        while (*p == ' ' || *p == '[')
            p++;
        if (strncmp(p, "--", 2) == 0 && strncmp(p + 2, name, len) == 0 &&
            (p[2 + len] == ' ' || p[2 + len] == ']' || p[2 + len] == '\0')) {
            const char *next = p + 2 + len;
            *takes_value = *next == ' ' && next[1] != '[' && strncmp(next + 1, "--", 2) != 0;
            return 1;
        }
        p = strchr(p, ' ');
    }
    return 0;
}

/* Prints a usage error about one argument, with the command's usage on the
 * same line, and returns 2. */
__attribute__((format(printf, 4, 5))) static int
reject_argument(const char *noun, const char *verb, const char *usage, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "idgate %s %s: ", noun, verb);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (usage && *usage)
        fprintf(stderr, "; usage: idgate %s %s %s\n", noun, verb, usage);
    else
        fprintf(stderr, "; idgate %s %s takes no options\n", noun, verb);
    return 2;
}

/* Returns 1 when `argv` contains the option `--name` (`len` bytes of
 * `name`), alone or as `--name=VALUE`, else 0. */
static int has_option(int argc, char **argv, const char *name, size_t len)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) == 0 && strncmp(a + 2, name, len) == 0 &&
            (a[2 + len] == '\0' || a[2 + len] == '='))
            return 1;
    }
    return 0;
}

/* Checks that every option outside square brackets in the usage string is
 * present. Returns 0, or 2 after naming the first one missing. */
static int check_required(const char *noun, const char *verb, const char *usage, int argc,
                          char **argv)
{
    int depth = 0;

    for (const char *p = usage; p && *p;) {
        size_t token = strcspn(p, " ");
        size_t name = strcspn(p + 2, " []");

        if (depth == 0 && strncmp(p, "--", 2) == 0 && !has_option(argc, argv, p + 2, name))
            return reject_argument(noun, verb, usage, "missing option --%.*s", (int)name, p + 2);
        for (size_t i = 0; i < token; i++) {
            if (p[i] == '[')
                depth++;
            else if (p[i] == ']')
                depth--;
        }
        p += token;
        p += strspn(p, " ");
    }
    return 0;
}

/* Checks the arguments after the verb against the options that the
 * command's usage string lists. Returns 0, or 2 after printing the first
 * unknown option, stray argument, missing value, value given to a switch
 * or missing required option. */
static int check_arguments(const char *noun, const char *verb, const char *usage, int argc,
                           char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *eq;
        size_t len;
        int takes_value = 0;

        if (strncmp(a, "--", 2) != 0 || a[2] == '\0')
            return reject_argument(noun, verb, usage, "unexpected argument \"%s\"", a);
        eq = strchr(a, '=');
        len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (!usage_option(usage, a + 2, len, &takes_value))
            return reject_argument(noun, verb, usage, "unknown option %.*s", (int)len + 2, a);
        if (eq && !takes_value)
            return reject_argument(noun, verb, usage, "option %.*s takes no value", (int)len + 2,
                                   a);
        if (!eq && takes_value && ++i == argc)
            return reject_argument(noun, verb, usage, "option %s needs a value", a);
    }
    return check_required(noun, verb, usage, argc, argv);
}

int cli_fail(cli_ctx *c, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "idgate %s %s: ", c->noun, c->verb);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return 1;
}

int cli_print_json(const json *j)
{
    size_t len;
    char *text = json_dump(j, &len);
    if (!text) {
        fprintf(stderr, "idgate: out of memory\n");
        return 1;
    }
    fwrite(text, 1, len, stdout);
    fputc('\n', stdout);
    free(text);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* Orders commands by noun, then by registration, so that the help lists
 * each noun's verbs together whichever source files registered them. */
static int compare_commands(const void *x, const void *y)
{
    const command *a = *(const command *const *)x;
    const command *b = *(const command *const *)y;
    int by_noun = strcmp(a->noun, b->noun);

    if (by_noun != 0)
        return by_noun;
    return a < b ? -1 : a > b;
}

/* Prints one command's usage line and description, indented. */
static void print_command(FILE *out, const command *cmd)
{
    fprintf(out, "  %s %s%s%s\n      %s\n", cmd->noun, cmd->verb, *cmd->usage ? " " : "",
            cmd->usage, cmd->help);
}

/* Prints the commands of `noun`, or of every noun when it is NULL, grouped
 * by noun with a blank line between groups. */
static void print_commands(FILE *out, const char *noun)
{
    const command *sorted[MAX_COMMANDS];
    const char *previous = NULL;

    for (size_t i = 0; i < ncommands; i++)
        sorted[i] = &commands[i];
    qsort(sorted, ncommands, sizeof(sorted[0]), compare_commands);
    for (size_t i = 0; i < ncommands; i++) {
        if (noun && strcmp(sorted[i]->noun, noun) != 0)
            continue;
        if (previous && strcmp(previous, sorted[i]->noun) != 0)
            fputc('\n', out);
        print_command(out, sorted[i]);
        previous = sorted[i]->noun;
    }
}

void cli_print_help(void *file)
{
    FILE *out = file;
    fprintf(out,
            "usage: idgate <noun> <verb> [--flags] [--config FILE]\n\n"
            "  serve [--config FILE]   run the service in the foreground\n"
            "  version                 print the version\n"
            "  help [NOUN]             print this help, or the commands of one noun\n"
            "\n");
    print_commands(out, NULL);
    fprintf(out, "\n"
                 "`idgate NOUN --help` lists a noun's commands, and `idgate NOUN VERB --help`\n"
                 "prints one command's options. The configuration file can also be given in\n"
                 "IDGATE_CONFIG, and every key can be overridden by IDGATE_<SECTION>_<KEY>.\n");
}

/* Prints the usage and commands of one noun to `out`. */
static void print_noun_help(FILE *out, const char *noun)
{
    fprintf(out, "usage: idgate %s <verb> [--flags] [--config FILE]\n\n", noun);
    print_commands(out, noun);
}

/* Prints a comma-separated list of the verbs of `noun` to `out`. */
static void print_verbs(FILE *out, const char *noun)
{
    const char *separator = "";

    for (size_t i = 0; i < ncommands; i++) {
        if (strcmp(commands[i].noun, noun) == 0) {
            fprintf(out, "%s%s", separator, commands[i].verb);
            separator = ", ";
        }
    }
}

static int is_help_request(const char *arg)
{
    return strcmp(arg, "help") == 0 || strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0;
}

/* Returns 1 when the arguments after the verb ask for help, else 0. A
 * value of an option such as `--name --help` is not a help request. */
static int wants_verb_help(const command *cmd, int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int takes_value = 0;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        if (strncmp(a, "--", 2) == 0 && !strchr(a, '=') &&
            usage_option(cmd->usage, a + 2, strlen(a + 2), &takes_value) && takes_value)
            i++;
    }
    return 0;
}

/* Handles `idgate help [NOUN]`, `--help` and `-h`. Returns the exit code. */
static int run_help(int argc, char **argv)
{
    if (argc < 3) {
        cli_print_help(stdout);
        return 0;
    }
    if (!noun_known(argv[2])) {
        fprintf(stderr, "idgate: unknown command \"%s\"; run \"idgate help\" for the list\n",
                argv[2]);
        return 2;
    }
    print_noun_help(stdout, argv[2]);
    return 0;
}

const char *cli_take_config(int *argc, char **argv)
{
    const char *found = NULL;
    int o = 1;

    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < *argc) {
            found = argv[++i];
            continue;
        }
        if (strncmp(argv[i], "--config=", 9) == 0) {
            found = argv[i] + 9;
            continue;
        }
        argv[o++] = argv[i];
    }
    *argc = o;
    argv[o] = NULL;
    return found ? found : getenv("IDGATE_CONFIG");
}

static int run_command(const command *cmd, conf *cf, int argc, char **argv)
{
    cli_ctx c = {
        .conf = cf,
        .noun = cmd->noun,
        .verb = cmd->verb,
        .argc = argc,
        .argv = argv,
        .usage = cmd->usage,
    };
    int rc = cmd->fn(&c);
    store_close(c.store);
    return rc;
}

void cli_print_conf_errors(const char *errors)
{
    const char *newline = strchr(errors, '\n');

    if (!newline || newline[1] == '\0')
        fprintf(stderr, "idgate: %s%s", errors, newline ? "" : "\n");
    else
        fprintf(stderr, "idgate: invalid configuration:\n%s", errors);
}

/* Loads the configuration for a tool: log lines go to stderr like the
 * service's, at warn level so that they do not mix with results. */
static conf *load_conf(const char *path)
{
    const char *errors;
    conf *cf = conf_load(path);

    if (!cf) {
        fprintf(stderr, "idgate: out of memory\n");
        return NULL;
    }
    if (!conf_ok(cf, &errors)) {
        cli_print_conf_errors(errors);
        conf_free(cf);
        return NULL;
    }
    log_setup(cf->log_level < LOG_WARN ? cf->log_level : LOG_WARN, cf->log_format);
    return cf;
}

int cli_main(int argc, char **argv)
{
    const char *config = cli_take_config(&argc, argv);
    const command *cmd;
    conf *cf;
    int rc;

    if (argc < 2) {
        cli_print_help(stderr);
        return 2;
    }
    if (is_help_request(argv[1]))
        return run_help(argc, argv);
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("idgate %s\n", PACKAGE_VERSION);
        return 0;
    }
    if (!noun_known(argv[1])) {
        fprintf(stderr, "idgate: unknown command \"%s\"; run \"idgate help\" for the list\n",
                argv[1]);
        return 2;
    }
    if (argc < 3) {
        fprintf(stderr, "idgate %s: missing verb\n", argv[1]);
        print_noun_help(stderr, argv[1]);
        return 2;
    }
    if (is_help_request(argv[2])) {
        print_noun_help(stdout, argv[1]);
        return 0;
    }
    cmd = find_command(argv[1], argv[2]);
    if (!cmd) {
        fprintf(stderr, "idgate %s: unknown verb \"%s\"; the verbs are ", argv[1], argv[2]);
        print_verbs(stderr, argv[1]);
        fprintf(stderr, " (idgate %s --help describes them)\n", argv[1]);
        return 2;
    }
    if (wants_verb_help(cmd, argc - 3, argv + 3)) {
        print_usage_line(stdout, cmd->noun, cmd->verb, cmd->usage);
        fprintf(stdout, "\n  %s\n", cmd->help);
        return 0;
    }
    rc = check_arguments(cmd->noun, cmd->verb, cmd->usage, argc - 3, argv + 3);
    if (rc != 0)
        return rc;
    cf = load_conf(config);
    if (!cf)
        return 1;
    rc = run_command(cmd, cf, argc - 3, argv + 3);
    conf_free(cf);
    return rc;
}
