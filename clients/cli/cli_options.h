/* cli_options.h - a command's options as a table, matched against argv in
 * order: flags, options with a value ("--x VALUE" or "--x=VALUE"), --help. */
#ifndef LEAKYCL_CLI_OPTIONS_H
#define LEAKYCL_CLI_OPTIONS_H

#include <stddef.h>

/* One option. Exactly one of flag, value and take is set. */
typedef struct cli_option {
  const char *name;   /* "--device" */
  const char *alias;  /* another name ("-o" for "--output"), or NULL */
  int *flag;          /* a flag: set to 1 when given */
  const char **value; /* an option with a value: stored here (borrowed from argv) */
  /* An option whose value is checked or converted at once, so that errors
   * come out in the order of the command line: returns 0, or -1 after
   * printing why. `user` is the table's. */
  int (*take)(void *user, const char *value);
} cli_option;

/* A command's whole table. */
typedef struct cli_option_table {
  const char *command; /* names the command in "<command>: unknown option ..." */
  const char *usage;   /* printed for --help */
  const cli_option *options;
  size_t count;
  void *user;        /* handed to take() */
  int help_anywhere; /* --help wins wherever it stands (else a bad option before it wins) */
  int once;          /* a value given twice is an error (else the last one counts) */
  /* What a stray argument is called in the error: "option", "argument", or
   * NULL for "option" when it starts with '-' and "argument" otherwise. */
  const char *stray;
} cli_option_table;

/* Matches argv[1..argc) against the table. Returns 1 when the command goes
 * on; else 0 with *exit_status set: 0 after --help or -h (the usage printed
 * on stdout), 2 after a usage error (printed on stderr). */
int cli_parse_options(const cli_option_table *table, int argc, char **argv, int *exit_status);

#endif
