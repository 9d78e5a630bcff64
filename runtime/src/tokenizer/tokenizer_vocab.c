/* tokenizer_vocab.c: the token text -> id hash map, built once at load. Open
 * addressing with linear probing at a load factor of at most 1/2; a slot keeps part of
 * the hash so most probes of other tokens are rejected without comparing bytes. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tokenizer_internal.h"

/* FNV-1a, 64 bit. */
static uint64_t hash_bytes(const char *text, size_t len) {
    uint64_t h = 0xcbf29ce484222325u;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)text[i];
        h *= 0x100000001b3u;
    }
    return h;
}

static bool token_equals(const ibert_strview *token, const char *text, size_t len) {
    return token->len == len && (len == 0 || memcmp(token->data, text, len) == 0);
}

ibert_status vocab_map_build(vocab_map *map, const ibert_strview *tokens, uint32_t n_tokens) {
    size_t n_slots = 16;
    while (n_slots < 2 * (size_t)n_tokens) n_slots *= 2;
    map->slots = calloc(n_slots, sizeof *map->slots);
    if (!map->slots) return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "tokenizer: out of memory for the vocabulary map");
    map->mask = n_slots - 1;
    map->tokens = tokens;
    for (uint32_t id = 0; id < n_tokens; id++) {
        uint64_t h = hash_bytes(tokens[id].data, (size_t)tokens[id].len);
        for (size_t slot = (size_t)h & map->mask;; slot = (slot + 1) & map->mask) {
            vocab_slot *s = &map->slots[slot];
            if (s->id_plus_one == 0) {
                s->id_plus_one = id + 1;
                s->hash = (uint32_t)h;
                break;
            }
            const ibert_strview *other = &tokens[s->id_plus_one - 1];
            if (s->hash == (uint32_t)h && token_equals(other, tokens[id].data, (size_t)tokens[id].len)) {
                uint32_t first = s->id_plus_one - 1;
                vocab_map_free(map);
                return ibert_fail(IBERT_ERR_FORMAT,
                                  "tokenizer.ggml.tokens: ids %u and %u are the same token \"%.*s\"; "
                                  "lookup by text needs unique tokens",
                                  first, id, (int)(tokens[id].len > 64 ? 64 : tokens[id].len),
                                  tokens[id].data);
            }
        }
    }
    return IBERT_OK;
}

int32_t vocab_map_find(const vocab_map *map, const char *text, size_t len) {
    uint64_t h = hash_bytes(text, len);
    for (size_t slot = (size_t)h & map->mask;; slot = (slot + 1) & map->mask) {
        const vocab_slot *s = &map->slots[slot];
        if (s->id_plus_one == 0) return -1;
        if (s->hash == (uint32_t)h && token_equals(&map->tokens[s->id_plus_one - 1], text, len)) {
            return (int32_t)(s->id_plus_one - 1);
        }
    }
}

void vocab_map_free(vocab_map *map) {
    free(map->slots);
    map->slots = NULL;
}
