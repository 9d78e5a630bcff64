/* ibert_jni.c: the JNI glue of org.pyibert.IbertModel (android/java/). A handle is a
 * model with the one context its calls share (the Java class serializes them);
 * every failure becomes an org.pyibert.IbertException carrying the runtime's status
 * name and message. Strings arrive as UTF-8 byte arrays (see IbertModel.utf8). */
#include <jni.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ibert.h"

typedef struct {
    ibert_model *model;
    ibert_context *context;
} handle;

static handle *from_jlong(jlong h) { return (handle *)(intptr_t)h; }

/* Throws IbertException(status name, message); returns so the caller can return. */
static void throw_ibert(JNIEnv *env, ibert_status status, const char *message) {
    jclass cls = (*env)->FindClass(env, "org/pyibert/IbertException");
    if (!cls) return; /* NoClassDefFoundError is pending */
    jmethodID init = (*env)->GetMethodID(env, cls, "<init>", "(Ljava/lang/String;Ljava/lang/String;)V");
    if (!init) return;
    jstring name = (*env)->NewStringUTF(env, ibert_status_name(status));
    jstring text = name ? (*env)->NewStringUTF(env, message) : NULL;
    if (!text) return; /* OutOfMemoryError is pending */
    jobject exception = (*env)->NewObject(env, cls, init, name, text);
    if (exception) (*env)->Throw(env, (jthrowable)exception);
}

static void throw_last_error(JNIEnv *env, ibert_status status) { throw_ibert(env, status, ibert_last_error()); }

/* A NUL-terminated copy of a Java byte array (NULL with an exception pending). */
static char *c_string(JNIEnv *env, jbyteArray bytes) {
    jsize n = (*env)->GetArrayLength(env, bytes);
    char *s = malloc((size_t)n + 1);
    if (!s) {
        throw_ibert(env, IBERT_ERR_OUT_OF_MEMORY, "out of memory for a string");
        return NULL;
    }
    (*env)->GetByteArrayRegion(env, bytes, 0, n, (jbyte *)s);
    s[n] = '\0';
    return s;
}

static jintArray int_array(JNIEnv *env, const int32_t *values, size_t n) {
    jintArray array = (*env)->NewIntArray(env, (jsize)n);
    if (array) (*env)->SetIntArrayRegion(env, array, 0, (jsize)n, (const jint *)values);
    return array;
}

JNIEXPORT jlong JNICALL Java_org_pyibert_IbertModel_open(JNIEnv *env, jclass cls, jbyteArray path, jint threads) {
    (void)cls;
    char *c_path = c_string(env, path);
    if (!c_path) return 0;
    if (threads < 1 || threads > IBERT_MAX_THREADS) {
        free(c_path);
        throw_ibert(env, IBERT_ERR_INVALID_ARGUMENT, "threads must be 1 ... 64");
        return 0;
    }
    handle *h = calloc(1, sizeof *h);
    if (!h) {
        free(c_path);
        throw_ibert(env, IBERT_ERR_OUT_OF_MEMORY, "out of memory for a model handle");
        return 0;
    }
    ibert_status status = ibert_model_load_file(c_path, &h->model);
    free(c_path);
    if (status == IBERT_OK) status = ibert_context_new_threads(h->model, (size_t)threads, &h->context);
    if (status != IBERT_OK) {
        throw_last_error(env, status);
        ibert_model_free(h->model);
        free(h);
        return 0;
    }
    return (jlong)(intptr_t)h;
}

JNIEXPORT void JNICALL Java_org_pyibert_IbertModel_close(JNIEnv *env, jclass cls, jlong h) {
    (void)env, (void)cls;
    handle *p = from_jlong(h);
    ibert_context_free(p->context);
    ibert_model_free(p->model);
    free(p);
}

JNIEXPORT jint JNICALL Java_org_pyibert_IbertModel_numLabels(JNIEnv *env, jclass cls, jlong h) {
    (void)env, (void)cls;
    return (jint)ibert_model_num_labels(from_jlong(h)->model);
}

JNIEXPORT jbyteArray JNICALL Java_org_pyibert_IbertModel_label(JNIEnv *env, jclass cls, jlong h, jint i) {
    (void)cls;
    const char *label = ibert_model_label(from_jlong(h)->model, (uint32_t)i);
    size_t n = label ? strlen(label) : 0;
    jbyteArray bytes = (*env)->NewByteArray(env, (jsize)n);
    if (bytes) (*env)->SetByteArrayRegion(env, bytes, 0, (jsize)n, (const jbyte *)label);
    return bytes;
}

JNIEXPORT jdouble JNICALL Java_org_pyibert_IbertModel_outputScale(JNIEnv *env, jclass cls, jlong h) {
    (void)env, (void)cls;
    ibert_scale scale = ibert_model_output_scale(from_jlong(h)->model);
    /* multiplier * 2^-shift, exactly (a power of two scales a double exactly) */
    double value = scale.multiplier;
    for (int32_t s = 0; s < scale.shift; s++) value /= 2;
    for (int32_t s = 0; s > scale.shift; s--) value *= 2;
    return value;
}

JNIEXPORT jint JNICALL Java_org_pyibert_IbertModel_maxTokens(JNIEnv *env, jclass cls, jlong h) {
    (void)env, (void)cls;
    return (jint)ibert_model_max_tokens(from_jlong(h)->model);
}

JNIEXPORT jstring JNICALL Java_org_pyibert_IbertModel_kernels(JNIEnv *env, jclass cls, jlong h) {
    (void)cls;
    return (*env)->NewStringUTF(env, ibert_model_kernels(from_jlong(h)->model));
}

JNIEXPORT jintArray JNICALL Java_org_pyibert_IbertModel_tokenize(JNIEnv *env, jclass cls, jlong h, jbyteArray text) {
    (void)cls;
    const ibert_model *model = from_jlong(h)->model;
    size_t capacity = ibert_model_max_tokens(model), n_ids = 0;
    jsize text_len = (*env)->GetArrayLength(env, text);
    jbyte *bytes = (*env)->GetByteArrayElements(env, text, NULL);
    int32_t *ids = malloc(capacity * sizeof *ids);
    if (!bytes || !ids) {
        if (bytes) (*env)->ReleaseByteArrayElements(env, text, bytes, JNI_ABORT);
        free(ids);
        throw_ibert(env, IBERT_ERR_OUT_OF_MEMORY, "out of memory for token ids");
        return NULL;
    }
    ibert_status status = ibert_tokenize(model, (const char *)bytes, (size_t)text_len, ids, capacity, &n_ids);
    (*env)->ReleaseByteArrayElements(env, text, bytes, JNI_ABORT);
    jintArray result = NULL;
    if (status == IBERT_OK)
        result = int_array(env, ids, n_ids < capacity ? n_ids : capacity); /* cut to max_tokens */
    else
        throw_last_error(env, status);
    free(ids);
    return result;
}

JNIEXPORT jintArray JNICALL Java_org_pyibert_IbertModel_forward(JNIEnv *env, jclass cls, jlong h, jintArray ids) {
    (void)cls;
    handle *p = from_jlong(h);
    size_t n = (size_t)(*env)->GetArrayLength(env, ids);
    size_t out_n = ibert_model_output_size(p->model, n);
    jint *in = (*env)->GetIntArrayElements(env, ids, NULL);
    int32_t *out = malloc((out_n ? out_n : 1) * sizeof *out);
    if (!in || !out) {
        if (in) (*env)->ReleaseIntArrayElements(env, ids, in, JNI_ABORT);
        free(out);
        throw_ibert(env, IBERT_ERR_OUT_OF_MEMORY, "out of memory for a forward pass");
        return NULL;
    }
    /* the runtime checks n (1 ... max_tokens) and every id, and says what is wrong */
    ibert_status status = ibert_forward(p->context, (const int32_t *)in, NULL, NULL, n, out);
    (*env)->ReleaseIntArrayElements(env, ids, in, JNI_ABORT);
    jintArray result = NULL;
    if (status == IBERT_OK)
        result = int_array(env, out, out_n);
    else
        throw_last_error(env, status);
    free(out);
    return result;
}
