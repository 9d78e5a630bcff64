/* model_load.c: ibert_model_load_file / _buffer / _free. Maps or borrows the
 * bytes, chooses the kernel set (IBERT_KERNELS or the CPU's best), parses the
 * container, validates metadata and tensors, builds the tokenizer, packs the
 * linear weights for the kernel set and plans the context arena; any failure
 * frees everything. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "error.h"
#include "model_validate.h"

/* The number of tokens the tokenizer was built from (tokenizer.ggml.tokens,
 * which tokenizer_from_gguf has already read and validated). */
static ibert_status check_vocab_size(const gguf_file *file, uint32_t vocab_size) {
    ibert_strview *tokens;
    uint64_t n_tokens;
    ibert_status st = gguf_get_str_array(file, "tokenizer.ggml.tokens", &tokens, &n_tokens);
    if (st != IBERT_OK) return st;
    free(tokens);
    if (n_tokens != vocab_size)
        return ibert_fail(IBERT_ERR_FORMAT, "ibert.vocab_size is %" PRIu32 " but the tokenizer has %" PRIu64 " tokens",
                          vocab_size, n_tokens);
    return IBERT_OK;
}

static ibert_status build_model(struct ibert_model *m) {
    ibert_status st;
    if ((st = kernels_select(&m->kernels)) != IBERT_OK || (st = gguf_parse(m->data, m->size, &m->gguf)) != IBERT_OK ||
        (st = model_read_metadata(m->gguf, m)) != IBERT_OK || (st = model_bind_tensors(m->gguf, m)) != IBERT_OK ||
        (st = tokenizer_from_gguf(m->gguf, &m->tok)) != IBERT_OK ||
        (st = check_vocab_size(m->gguf, m->hp.vocab_size)) != IBERT_OK || (st = model_pack_linears(m)) != IBERT_OK)
        return st;
    m->context_bytes = arena_bytes_for(&m->hp, 1);
    if (m->context_bytes == 0)
        return ibert_fail(IBERT_ERR_UNSUPPORTED,
                          "the context for %" PRIu32 " tokens would need more memory than this platform can address",
                          m->hp.max_tokens);
    return IBERT_OK;
}

/* Takes ownership of the bytes when mapped (they are unmapped on failure). */
static ibert_status load(const uint8_t *data, size_t size, int mapped, ibert_model **out_model) {
    struct ibert_model *m = calloc(1, sizeof *m);
    if (!m) {
        if (mapped) munmap((void *)data, size);
        return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "out of memory for the model");
    }
    m->data = data;
    m->size = size;
    m->mapped = mapped;
    ibert_status st = build_model(m);
    if (st != IBERT_OK) {
        ibert_model_free(m);
        return st;
    }
    *out_model = m;
    return IBERT_OK;
}

ibert_status ibert_model_load_buffer(const void *data, size_t size, ibert_model **out_model) {
    if (!out_model) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_model_load_buffer: out_model is NULL");
    *out_model = NULL;
    if (!data) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_model_load_buffer: data is NULL");
    if ((uintptr_t)data % 8)
        return ibert_fail(IBERT_ERR_INVALID_ARGUMENT,
                          "ibert_model_load_buffer: the buffer at %p is not 8-byte aligned", data);
    return load(data, size, 0, out_model);
}

ibert_status ibert_model_load_file(const char *path, ibert_model **out_model) {
    if (!out_model) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_model_load_file: out_model is NULL");
    *out_model = NULL;
    if (!path) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "ibert_model_load_file: path is NULL");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ibert_fail(IBERT_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    struct stat info;
    if (fstat(fd, &info) != 0) {
        int err = errno;
        close(fd);
        return ibert_fail(IBERT_ERR_IO, "cannot stat %s: %s", path, strerror(err));
    }
    if (!S_ISREG(info.st_mode)) {
        close(fd);
        return ibert_fail(IBERT_ERR_IO, "%s is not a regular file", path);
    }
    if (info.st_size == 0) {
        close(fd);
        return ibert_fail(IBERT_ERR_FORMAT, "%s is empty, not a model file", path);
    }
    if ((uint64_t)info.st_size > SIZE_MAX) {
        close(fd);
        return ibert_fail(IBERT_ERR_IO, "%s is too large to map (%" PRIu64 " bytes)", path, (uint64_t)info.st_size);
    }
    size_t size = (size_t)info.st_size;
    void *data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd); /* the mapping keeps the file's pages */
    if (data == MAP_FAILED) return ibert_fail(IBERT_ERR_IO, "cannot map %s: %s", path, strerror(err));
    ibert_status st = load(data, size, 1, out_model);
    /* name the file in the message of a file that loaded but is invalid */
    if (st == IBERT_ERR_FORMAT || st == IBERT_ERR_UNSUPPORTED) {
        char message[512];
        snprintf(message, sizeof message, "%s", ibert_last_error());
        ibert_fail(st, "%s: %s", path, message);
    }
    return st;
}

void ibert_model_free(ibert_model *model) {
    if (!model) return;
    tokenizer_free(model->tok);
    if (model->labels)
        for (uint32_t i = 0; i < model->hp.num_labels; i++) free(model->labels[i]);
    free(model->labels);
    free(model->layers);
    free(model->packed);
    gguf_free(model->gguf);
    if (model->mapped) munmap((void *)model->data, model->size);
    free(model);
}
