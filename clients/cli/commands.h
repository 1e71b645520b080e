/* commands.h - the subcommands of leakycl: each cmd_*.c defines its own
 * descriptor (name, entry point, usage text) and main.c lists them. */
#ifndef LEAKYCL_COMMANDS_H
#define LEAKYCL_COMMANDS_H

typedef struct cli_command {
  const char *name;     /* "run": the word after leakycl */
  const char *synopsis; /* its line in leakycl --help ("run ...") */
  const char *summary;  /* beside it there: what it does */
  /* argv[0] is the command's name. Returns an exit status, having printed
   * its own one-line error on stderr. */
  int (*run)(int argc, char **argv);
  const char *usage; /* the whole text of leakycl <command> --help */
} cli_command;

extern const cli_command cli_command_devices; /* cmd_devices.c */
extern const cli_command cli_command_run;     /* cmd_run.c */
extern const cli_command cli_command_bench;   /* cmd_bench.c */
extern const cli_command cli_command_tune;    /* cmd_tune.c */
extern const cli_command cli_command_compile; /* cmd_compile.c */
extern const cli_command cli_command_check;   /* cmd_check.c */

#endif
