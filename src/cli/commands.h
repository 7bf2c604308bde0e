/* One function per subcommand, one file per subcommand (src/cli/cmd_<name>.c). Each parses its own arguments
 * (argv[0] is the subcommand name), prints --help to stdout with exit 0, and returns the process exit code:
 * 0 success, 1 runtime failure, 2 bad usage or bad input. Errors are one line: "xqprof: <what>: <why>". */
#ifndef XQ_CLI_COMMANDS_H
#define XQ_CLI_COMMANDS_H

int cmd_generate(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_view(int argc, char **argv);
int cmd_ppl(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_synth(int argc, char **argv);
int cmd_logits(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_gpus(int argc, char **argv);
int cmd_project(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_compare(int argc, char **argv);

#endif
