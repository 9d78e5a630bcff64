/* bpe.c: byte-level BPE (GPT-2 / RoBERTa) as Hugging Face does it. Each pre-tokenized
 * word is turned into one symbol per byte (the token of the byte's printable unicode
 * stand-in), then adjacent symbols are merged, always the pair of lowest merge rank
 * and, among equal ranks, the leftmost, until no adjacent pair has a merge. A min-heap
 * of candidate merges keeps this O(n log n) on long words; heap entries made stale by
 * an earlier merge are recognised (their pair no longer yields the same token) and
 * skipped, as HF's Word::merge_all does. */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "tokenizer_internal.h"
#include "utf8.h"

/* GPT-2's bytes_to_unicode: printable bytes stand for themselves, the other 68 bytes
 * (controls, space, DEL, NBSP..., soft hyphen) for U+0100 onwards in byte order. */
static bool byte_is_printable(unsigned char byte) {
    return (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) || byte >= 0xAE;
}

static uint32_t byte_stand_in(unsigned char byte) {
    if (byte_is_printable(byte)) return byte;
    uint32_t n = 0; /* non-printable bytes before this one */
    for (unsigned b = 0; b < byte; b++) n += !byte_is_printable((unsigned char)b);
    return 256 + n;
}

static uint64_t hash_pair(uint64_t pair) {
    /* splitmix64 finalizer: spreads nearby id pairs over the table */
    pair ^= pair >> 30;
    pair *= 0xbf58476d1ce4e5b9u;
    pair ^= pair >> 27;
    pair *= 0x94d049bb133111ebu;
    return pair ^ (pair >> 31);
}

static merge_slot *merge_slot_for(const merge_map *map, uint64_t pair) {
    for (size_t slot = (size_t)hash_pair(pair) & map->mask;; slot = (slot + 1) & map->mask) {
        merge_slot *s = &map->slots[slot];
        if (s->merged_id < 0 || s->pair == pair) return s;
    }
}

static const merge_slot *merge_find(const merge_map *map, int32_t left, int32_t right) {
    const merge_slot *s = merge_slot_for(map, (uint64_t)(uint32_t)left << 32 | (uint32_t)right);
    return s->merged_id >= 0 ? s : NULL;
}

/* Looks up the two halves of "left right" and their concatenation. */
static ibert_status parse_merge(const tokenizer *tok, uint32_t index, ibert_strview merge,
                                byte_list *joined, int32_t *left, int32_t *right, int32_t *merged) {
    const char *space = merge.data ? memchr(merge.data, ' ', (size_t)merge.len) : NULL;
    size_t left_len = space ? (size_t)(space - merge.data) : 0;
    size_t right_len = space ? (size_t)merge.len - left_len - 1 : 0;
    if (!space || left_len == 0 || right_len == 0 || memchr(space + 1, ' ', right_len)) {
        return ibert_fail(IBERT_ERR_FORMAT,
                          "tokenizer.ggml.merges[%u] = \"%.*s\" is not two tokens separated by one space",
                          index, (int)(merge.len > 64 ? 64 : merge.len), merge.data ? merge.data : "");
    }
    *left = vocab_map_find(&tok->vocab, merge.data, left_len);
    *right = vocab_map_find(&tok->vocab, space + 1, right_len);
    joined->len = 0;
    ibert_status status = byte_list_append(joined, merge.data, left_len);
    if (status == IBERT_OK) status = byte_list_append(joined, space + 1, right_len);
    if (status != IBERT_OK) return status;
    *merged = vocab_map_find(&tok->vocab, joined->data, joined->len);
    if (*left < 0 || *right < 0 || *merged < 0) {
        return ibert_fail(IBERT_ERR_FORMAT,
                          "tokenizer.ggml.merges[%u] = \"%.*s\": %s is not in tokenizer.ggml.tokens",
                          index, (int)(merge.len > 64 ? 64 : merge.len), merge.data,
                          *left < 0 ? "the left part" : *right < 0 ? "the right part" : "the merged token");
    }
    return IBERT_OK;
}

ibert_status bpe_build(tokenizer *tok, const ibert_strview *merges, uint32_t n_merges) {
    for (unsigned b = 0; b < 256; b++) {
        char bytes[4];
        size_t n = utf8_encode(byte_stand_in((unsigned char)b), bytes);
        tok->byte_ids[b] = vocab_map_find(&tok->vocab, bytes, n);
    }
    size_t n_slots = 16;
    while (n_slots < 2 * (size_t)n_merges) n_slots *= 2;
    tok->merges.slots = malloc(n_slots * sizeof *tok->merges.slots);
    if (!tok->merges.slots) return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "tokenizer: out of memory for the merges map");
    for (size_t i = 0; i < n_slots; i++) tok->merges.slots[i].merged_id = -1;
    tok->merges.mask = n_slots - 1;
    if (n_merges > 0 && !merges) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "tokenizer: merges is NULL");

    byte_list joined = {0};
    ibert_status status = IBERT_OK;
    for (uint32_t rank = 0; rank < n_merges && status == IBERT_OK; rank++) {
        int32_t left = -1, right = -1, merged = -1;
        status = parse_merge(tok, rank, merges[rank], &joined, &left, &right, &merged);
        if (status != IBERT_OK) break;
        /* A repeated pair keeps its last rank, as HF's map of merges does. */
        merge_slot *slot = merge_slot_for(&tok->merges, (uint64_t)(uint32_t)left << 32 | (uint32_t)right);
        *slot = (merge_slot){(uint64_t)(uint32_t)left << 32 | (uint32_t)right, rank, merged};
    }
    free(joined.data);
    return status;
}

void bpe_free(tokenizer *tok) {
    free(tok->merges.slots);
    tok->merges.slots = NULL;
}

static bool candidate_before(const bpe_candidate *a, const bpe_candidate *b) {
    return a->rank != b->rank ? a->rank < b->rank : a->pos < b->pos;
}

static void heap_push(bpe_candidate *heap, size_t *size, bpe_candidate item) {
    size_t i = (*size)++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!candidate_before(&item, &heap[parent])) break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = item;
}

static bpe_candidate heap_pop(bpe_candidate *heap, size_t *size) {
    bpe_candidate top = heap[0];
    bpe_candidate last = heap[--*size];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= *size) break;
        if (child + 1 < *size && candidate_before(&heap[child + 1], &heap[child])) child++;
        if (!candidate_before(&heap[child], &last)) break;
        heap[i] = heap[child];
        i = child;
    }
    if (*size > 0) heap[i] = last;
    return top;
}

/* Queues the merge of the pair starting at symbol pos, if the pair has one. */
static void queue_pair(const tokenizer *tok, encode_scratch *scratch, size_t *heap_size, int32_t pos) {
    const bpe_symbol *left = &scratch->symbols[pos];
    if (left->next < 0) return;
    const merge_slot *m = merge_find(&tok->merges, left->id, scratch->symbols[left->next].id);
    if (m) heap_push(scratch->heap, heap_size, (bpe_candidate){m->rank, (uint32_t)pos, m->merged_id});
}

/* UTF-8 bytes of byte b's stand-in character: only ASCII stands for itself. */
static uint32_t stand_in_len(unsigned char byte) { return byte >= '!' && byte <= '~' ? 1 : 2; }

/* Pushes the tokens of the merged symbols. As HF's Word does, a token's place in the
 * word is the sum of the stand-in lengths of the symbols before it (so a byte dropped
 * for want of a token shifts the tokens after it); that place in the word's stand-in
 * text maps back to a byte of the word, and align gives its original bytes. */
static ibert_status push_word_tokens(const char *word, size_t len, const byte_range *align,
                                     const bpe_symbol *symbols, encode_scratch *scratch) {
    size_list *byte_of = &scratch->standin_bytes;
    ibert_status status = size_list_reserve(byte_of, 2 * len);
    if (status != IBERT_OK) return status;
    byte_of->len = 0;
    for (size_t i = 0; i < len; i++) {
        for (uint32_t k = stand_in_len((unsigned char)word[i]); k > 0; k--) byte_of->data[byte_of->len++] = i;
    }
    size_t place = 0;
    for (int32_t pos = 0; pos >= 0 && status == IBERT_OK; pos = symbols[pos].next) {
        size_t first = byte_of->data[place], last = byte_of->data[place + symbols[pos].len - 1];
        status = token_list_push(&scratch->tokens, symbols[pos].id, false, range_of(align, first, last + 1));
        place += symbols[pos].len;
    }
    return status;
}

static ibert_status encode_word(const tokenizer *tok, const char *word, size_t len, const byte_range *align,
                                encode_scratch *scratch) {
    if (len > INT32_MAX / 3) return ibert_fail(IBERT_ERR_INVALID_ARGUMENT, "tokenizer: a word of %zu bytes is too long", len);
    /* Each merge queues at most two pairs, so 3 * len bounds the heap. */
    bpe_symbol *symbols = scratch_grow(scratch->symbols, &scratch->symbols_cap, len, sizeof *symbols);
    if (!symbols) return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "tokenizer: out of memory for BPE symbols");
    scratch->symbols = symbols;
    bpe_candidate *heap = scratch_grow(scratch->heap, &scratch->heap_cap, 3 * len, sizeof *heap);
    if (!heap) return ibert_fail(IBERT_ERR_OUT_OF_MEMORY, "tokenizer: out of memory for BPE merges");
    scratch->heap = heap;

    int32_t n = 0;
    for (size_t i = 0; i < len; i++) {
        int32_t id = tok->byte_ids[(unsigned char)word[i]];
        if (id < 0) id = tok->config.unk_id; /* HF: unknown symbol -> unk, or dropped without one */
        if (id < 0) continue;
        symbols[n] = (bpe_symbol){id, n - 1, n + 1, stand_in_len((unsigned char)word[i]), false};
        n++;
    }
    if (n == 0) return IBERT_OK;
    symbols[n - 1].next = -1;

    size_t heap_size = 0;
    for (int32_t pos = 0; pos + 1 < n; pos++) queue_pair(tok, scratch, &heap_size, pos);
    while (heap_size > 0) {
        bpe_candidate top = heap_pop(heap, &heap_size);
        bpe_symbol *left = &symbols[top.pos];
        if (left->removed || left->next < 0) continue;
        bpe_symbol *right = &symbols[left->next];
        const merge_slot *m = merge_find(&tok->merges, left->id, right->id);
        if (!m || m->merged_id != top.merged_id) continue; /* stale entry */
        left->id = top.merged_id;
        left->len += right->len;
        right->removed = true;
        left->next = right->next;
        if (right->next >= 0) symbols[right->next].prev = (int32_t)top.pos;
        if (left->prev >= 0) queue_pair(tok, scratch, &heap_size, left->prev);
        queue_pair(tok, scratch, &heap_size, (int32_t)top.pos);
    }
    return push_word_tokens(word, len, align, symbols, scratch);
}

/* The prefix space is aligned to the first character (HF's NormalizedString::prepend). */
static ibert_status prepend_space(const char *text, size_t len, const byte_range *align, encode_scratch *scratch) {
    scratch->normalized.len = 0;
    ibert_status status = byte_list_append(&scratch->normalized, " ", 1);
    if (status == IBERT_OK) status = byte_list_append(&scratch->normalized, text, len);
    if (status == IBERT_OK) status = range_list_reserve(&scratch->normalized_align, len + 1);
    if (status != IBERT_OK) return status;
    scratch->normalized_align.data[0] = align[0];
    memcpy(scratch->normalized_align.data + 1, align, len * sizeof *align);
    scratch->normalized_align.len = len + 1;
    return IBERT_OK;
}

ibert_status bpe_encode_text(const tokenizer *tok, const char *text, size_t len,
                             const byte_range *align, encode_scratch *scratch) {
    if (len == 0) return IBERT_OK;
    if (tok->config.add_prefix_space && text[0] != ' ') {
        ibert_status status = prepend_space(text, len, align, scratch);
        if (status != IBERT_OK) return status;
        text = scratch->normalized.data;
        len = scratch->normalized.len;
        align = scratch->normalized_align.data;
    }
    ibert_status status = pretokenize_gpt2(text, len, &scratch->words);
    for (size_t i = 0; i < scratch->words.len && status == IBERT_OK; i++) {
        const text_span *w = &scratch->words.data[i];
        status = encode_word(tok, text + w->start, w->end - w->start, align + w->start, scratch);
    }
    return status;
}
