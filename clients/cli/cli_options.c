/* cli_options.c - matches a command's argv against its option table, in
 * order, with one wording for every command's usage errors. */
#include "cli_options.h"

#include <string.h>

#include "cli.h"

static int is_help(const char *arg) { return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0; }

/* Matches argv[*i] against option `name` ("--x"), written either as
 * "--x VALUE" (consuming the next argument) or "--x=VALUE". Returns 1 with
 * *value set on a match, 0 when argv[*i] is another option, and -1 (after
 * printing the error) when the value is missing. */
static int option_value(int argc, char **argv, int *i, const char *name, const char **value) {
  const char *arg = argv[*i];
  const size_t n = strlen(name);
  if (strncmp(arg, name, n) != 0)
    return 0;
  if (arg[n] == '=') {
    *value = arg + n + 1;
    return 1;
  }
  if (arg[n] != '\0')
    return 0;
  if (*i + 1 >= argc) {
    cli_error("%s needs a value", name);
    return -1;
  }
  *value = argv[++*i];
  return 1;
}

/* Whether arg is flag o, by its name or its alias. */
static int names_flag(const cli_option *o, const char *arg) {
  return strcmp(arg, o->name) == 0 || (o->alias && strcmp(arg, o->alias) == 0);
}

/* Applies one option with its value; returns 0 or -1 (printed). */
static int store_value(const cli_option_table *t, const cli_option *o, const char *value) {
  if (o->take)
    return o->take(t->user, value);
  if (t->once && *o->value) {
    cli_error("%s is given twice", o->name);
    return -1;
  }
  *o->value = value;
  return 0;
}

/* Matches argv[*i] against every option: 1 matched and applied, 0 none
 * matched, -1 a usage error (printed). */
static int match_one(const cli_option_table *t, int argc, char **argv, int *i) {
  for (size_t k = 0; k < t->count; k++) {
    const cli_option *o = &t->options[k];
    if (o->flag) {
      if (!names_flag(o, argv[*i]))
        continue;
      *o->flag = 1;
      return 1;
    }
    const char *value = NULL;
    int m = option_value(argc, argv, i, o->name, &value);
    if (m == 0 && o->alias)
      m = option_value(argc, argv, i, o->alias, &value);
    if (m < 0)
      return -1;
    if (m > 0)
      return store_value(t, o, value) == 0 ? 1 : -1;
  }
  return 0;
}

/* Returns 1 on --help, 0 when the whole line matched, -1 on a usage error
 * (printed). */
static int match_all(const cli_option_table *t, int argc, char **argv) {
  for (int i = 1; t->help_anywhere && i < argc; i++)
    if (is_help(argv[i]))
      return 1;
  for (int i = 1; i < argc; i++) {
    if (is_help(argv[i]))
      return 1;
    const int m = match_one(t, argc, argv, &i);
    if (m < 0)
      return -1;
    if (m == 0) {
      const char *stray = t->stray ? t->stray : argv[i][0] == '-' ? "option" : "argument";
      cli_error("%s: unknown %s \"%s\" (see leakycl %s --help)", t->command, stray, argv[i],
                t->command);
      return -1;
    }
  }
  return 0;
}

int cli_parse_options(const cli_option_table *t, int argc, char **argv, int *exit_status) {
  const int matched = match_all(t, argc, argv);
  if (matched > 0)
    fputs(t->usage, stdout);
  *exit_status = matched > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
  return matched == 0;
}
