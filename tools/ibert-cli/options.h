/*
 * options.h: ibert-cli's command line.
 */
#ifndef IBERT_CLI_OPTIONS_H
#define IBERT_CLI_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct cli_options {
    const char *model_path;
    const char **texts;     /* the --text values, in order (they point into argv) */
    size_t n_texts;
    bool read_stdin;        /* --stdin: then one text per line of standard input */
    const char *pair;       /* --pair: the second text of every text's pair, or NULL */
    long threads;           /* --threads: threads per forward pass, 1 if not given */
    long seq_len;           /* --seq-len, 0 if not given */
    long repeat;            /* --repeat, 1 if not given */
    bool help;
} cli_options;

/* Fills options from argv. On a usage error prints it to stderr and returns
 * false. options->texts is allocated: free it with cli_options_free. */
bool cli_options_parse(int argc, char **argv, cli_options *options);
void cli_options_free(cli_options *options);
void cli_print_help(FILE *stream);

#endif
