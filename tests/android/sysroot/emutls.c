/* __emutls_get_address: thread-local variables before Android API 29, which an
 * Android-targeted compiler lowers to emulated TLS (a control block per variable,
 * resolved through this function). The NDK takes it from compiler-rt's builtins;
 * Debian's libgcc has one too, but it decides whether threads exist from glibc's
 * weak __pthread_key_create, which bionic does not have, so every thread would
 * share one copy. This one keeps an array of per-thread copies in a pthread key. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* the layout the compiler emits for each thread-local variable */
typedef struct {
    size_t size, align;
    union {
        uintptr_t index; /* 0 until first use, then 1 + the variable's slot */
        void *address;
    } object;
    void *initial_value; /* NULL: zero-initialized */
} emutls_control;

typedef struct {
    size_t capacity;
    void *slot[];
} thread_copies;

static pthread_key_t copies_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t index_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t last_index;

static void free_copies(void *p) {
    thread_copies *copies = p;
    for (size_t i = 0; i < copies->capacity; i++) free(copies->slot[i]);
    free(copies);
}

static void make_key(void) {
    if (pthread_key_create(&copies_key, free_copies) != 0) abort();
}

static uintptr_t variable_index(emutls_control *c) {
    uintptr_t index = __atomic_load_n(&c->object.index, __ATOMIC_ACQUIRE);
    if (index) return index;
    pthread_mutex_lock(&index_lock);
    index = c->object.index;
    if (!index) {
        index = ++last_index;
        __atomic_store_n(&c->object.index, index, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&index_lock);
    return index;
}

static thread_copies *copies_with_room(uintptr_t index) {
    thread_copies *copies = pthread_getspecific(copies_key);
    if (copies && copies->capacity >= index) return copies;
    size_t old = copies ? copies->capacity : 0, capacity = index + 16;
    thread_copies *grown = realloc(copies, sizeof *grown + capacity * sizeof(void *));
    if (!grown) abort();
    memset(grown->slot + old, 0, (capacity - old) * sizeof(void *));
    grown->capacity = capacity;
    pthread_setspecific(copies_key, grown);
    return grown;
}

__attribute__((visibility("hidden"))) void *__emutls_get_address(emutls_control *c) {
    pthread_once(&key_once, make_key);
    uintptr_t index = variable_index(c);
    void **slot = &copies_with_room(index)->slot[index - 1];
    if (!*slot) {
        void *copy = NULL;
        if (posix_memalign(&copy, c->align < sizeof(void *) ? sizeof(void *) : c->align, c->size) != 0) abort();
        if (c->initial_value)
            memcpy(copy, c->initial_value, c->size);
        else
            memset(copy, 0, c->size);
        *slot = copy;
    }
    return *slot;
}
