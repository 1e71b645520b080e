/* main.c - the leakycl command-line tool: the table of subcommands, the
 * overview usage and dispatch. */
#include <string.h>

#include "cli.h"
#include "commands.h"

/* In the order leakycl --help lists them. */
static const cli_command *const commands[] = {
    &cli_command_devices, &cli_command_run,     &cli_command_bench,
    &cli_command_tune,    &cli_command_compile, &cli_command_check,
};
#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void print_overview(FILE *f) {
  fputs("usage: leakycl <command> [options]\n"
        "\n"
        "commands:\n",
        f);
  for (size_t i = 0; i < COMMAND_COUNT; i++)
    fprintf(f, "  %-21s %s\n", commands[i]->synopsis, commands[i]->summary);
  fputs("\n"
        "  leakycl <command> --help   the options of one command\n"
        "  leakycl --version          the library version\n"
        "\n"
        "exit status: 0 success, 2 bad usage or input, 1 device or runtime failure\n",
        f);
}

static int is_help(const char *arg) {
  return strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0 || strcmp(arg, "help") == 0;
}

static int unknown_command(const char *command) {
  char names[256] = "";
  for (size_t i = 0; i < COMMAND_COUNT; i++)
    snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? ", " : "",
             commands[i]->name);
  cli_error("unknown command \"%s\" (%s; see leakycl --help)", command, names);
  return CLI_EXIT_USAGE;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    print_overview(stderr);
    return CLI_EXIT_USAGE;
  }
  const char *command = argv[1];
  if (is_help(command)) {
    print_overview(stdout);
    return CLI_EXIT_OK;
  }
  if (strcmp(command, "--version") == 0) {
    printf("leakycl %s\n", LEAKYCL_VERSION);
    return CLI_EXIT_OK;
  }
  for (size_t i = 0; i < COMMAND_COUNT; i++)
    if (strcmp(command, commands[i]->name) == 0)
      return commands[i]->run(argc - 1, argv + 1);
  return unknown_command(command);
}
