/*
 * options.c: parsing ibert-cli's arguments. Options may come before or after
 * MODEL, as "--name value" or "--name=value"; "--" ends the options.
 */
#include "options.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "ibert.h"

void cli_print_help(FILE *stream) {
    fputs("usage: ibert-cli MODEL (--text TEXT)... [--stdin] [--pair TEXT] [--threads T] [--seq-len L] [--repeat N]\n"
          "\n"
          "Run texts through a .ibert model (integer-only inference with libibert).\n"
          "Prints one line per text (then, with --pair, a tab and the pair's text), by the\n"
          "model's task, in fixed point from the integer outputs:\n"
          "  sequence classification   label<TAB>score<TAB>text (score: softmax probability)\n"
          "  regression, multiple choice  score<TAB>value<TAB>text\n"
          "  token classification      label start-end token, tab-separated per token<TAB>text\n"
          "  question answering        answer<TAB>start-end<TAB>span (--text QUESTION --pair\n"
          "                            CONTEXT; the best span of the context, bytes)<TAB>text\n"
          "\n"
          "  --text TEXT    a text to run (repeatable)\n"
          "  --pair TEXT    run every text as the pair [CLS] text [SEP] TEXT [SEP] (a question\n"
          "                 and its context, a prompt and a choice, two sentences)\n"
          "  --stdin        also classify the lines of standard input, one text per line\n"
          "                 (blank lines are skipped)\n"
          "  --threads T    split each forward pass over T threads (1 to 64, default 1); the\n"
          "                 results are the same for any T; more threads than CPU cores only\n"
          "                 slow it down\n"
          "  --seq-len L    benchmarking: pass exactly L tokens per text. Longer inputs are cut\n"
          "                 (keeping the closing special token); shorter ones are padded with\n"
          "                 positions whose attention mask is 0, which attention ignores (the\n"
          "                 label and score do not change) and a classifier skips: to time L\n"
          "                 tokens, give a text of at least L tokens\n"
          "  --repeat N     benchmarking: run the forward pass N times per text, print once\n"
          "  --help         show this help\n"
          "\n"
          "Texts longer than the model's maximum length are cut, with a warning on stderr.\n"
          "Exit status: 0 on success, 2 on any error (the message is on stderr).\n",
          stream);
}

static bool usage_error(const char *message, const char *detail) {
    fprintf(stderr, "ibert-cli: %s%s\nTry 'ibert-cli --help'.\n", message, detail);
    return false;
}

/* A decimal integer in [min, max], the whole string. */
static bool parse_count(const char *name, const char *text, long min, long max, long *out) {
    char *end;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (end == text || *end != '\0' || errno == ERANGE || value < min || value > max) {
        fprintf(stderr, "ibert-cli: %s needs an integer from %ld to %ld, not '%s'\n", name, min, max, text);
        return false;
    }
    *out = value;
    return true;
}

/* If argv[*i] is the option `name`, sets *value to its argument (from "--name=v"
 * or the next argument, advancing *i) and returns 1; returns 0 if it is another
 * argument, -1 if the option's argument is missing. */
static int option_value(const char *name, int argc, char **argv, int *i, const char **value) {
    size_t length = strlen(name);
    const char *arg = argv[*i];
    if (strncmp(arg, name, length) != 0) return 0;
    if (arg[length] == '=') {
        *value = arg + length + 1;
        return 1;
    }
    if (arg[length] != '\0') return 0;
    if (*i + 1 >= argc) return -1;
    *value = argv[++*i];
    return 1;
}

bool cli_options_parse(int argc, char **argv, cli_options *options) {
    *options = (cli_options){.threads = 1, .repeat = 1};
    options->texts = malloc(sizeof *options->texts * (size_t)(argc > 0 ? argc : 1));
    if (!options->texts) return usage_error("out of memory", "");

    bool options_ended = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char *value = NULL;
        int found;
        if (options_ended || arg[0] != '-' || strcmp(arg, "-") == 0) {
            if (options->model_path) return usage_error("unexpected argument: ", arg);
            options->model_path = arg;
        } else if (strcmp(arg, "--") == 0) {
            options_ended = true;
        } else if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            options->help = true;
        } else if (strcmp(arg, "--stdin") == 0) {
            options->read_stdin = true;
        } else if ((found = option_value("--text", argc, argv, &i, &value)) != 0) {
            if (found < 0) return usage_error("--text needs a TEXT", "");
            options->texts[options->n_texts++] = value;
        } else if ((found = option_value("--pair", argc, argv, &i, &value)) != 0) {
            if (found < 0) return usage_error("--pair needs a TEXT", "");
            options->pair = value;
        } else if ((found = option_value("--threads", argc, argv, &i, &value)) != 0) {
            if (found < 0) return usage_error("--threads needs a number", "");
            if (!parse_count("--threads", value, 1, IBERT_MAX_THREADS, &options->threads)) return false;
        } else if ((found = option_value("--seq-len", argc, argv, &i, &value)) != 0) {
            if (found < 0) return usage_error("--seq-len needs a number", "");
            if (!parse_count("--seq-len", value, 1, INT_MAX, &options->seq_len)) return false;
        } else if ((found = option_value("--repeat", argc, argv, &i, &value)) != 0) {
            if (found < 0) return usage_error("--repeat needs a number", "");
            if (!parse_count("--repeat", value, 1, INT_MAX, &options->repeat)) return false;
        } else {
            return usage_error("unknown option: ", arg);
        }
    }
    if (options->help) return true;
    if (!options->model_path) return usage_error("no MODEL given", "");
    if (options->n_texts == 0 && !options->read_stdin) return usage_error("no text: give --text TEXT or --stdin", "");
    return true;
}

void cli_options_free(cli_options *options) {
    free(options->texts);
    options->texts = NULL;
}
