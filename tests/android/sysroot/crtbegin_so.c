/* The project's stand-in for the NDK's crtbegin_so.o (tests/android: Android-targeted
 * builds without the NDK). What an NDK-built shared library gets from it: */

extern void __cxa_finalize(void *);
extern int __cxa_atexit(void (*)(void *), void *, void *);
extern int __register_atfork(void (*)(void), void (*)(void), void (*)(void), void *);

/* this library's handle for its atexit and atfork handlers */
__attribute__((visibility("hidden"))) void *__dso_handle = &__dso_handle;

/* run this library's atexit handlers when it is unloaded */
__attribute__((destructor, used)) static void run_atexit_handlers(void) { __cxa_finalize(&__dso_handle); }

__attribute__((visibility("hidden"))) int atexit(void (*fn)(void)) {
    return __cxa_atexit((void (*)(void *))fn, 0, &__dso_handle);
}

/* bionic's pthread_atfork lives in crtbegin (hidden), so that the handlers are
 * registered against this library and go away on dlclose */
__attribute__((visibility("hidden"))) int pthread_atfork(void (*prepare)(void), void (*parent)(void),
                                                         void (*child)(void)) {
    return __register_atfork(prepare, parent, child, &__dso_handle);
}

/* The note Android's tools read the library's API level from (.note.android.ident:
 * name "Android", type 1, the API level, then the NDK's version and build number,
 * here the project's marker that no NDK built it). */
__attribute__((section(".note.android.ident"), aligned(4), used)) static const struct {
    int name_size, desc_size, type;
    char name[8];
    int api_level;
    char ndk_version[64];
    char ndk_build_number[64];
} android_ident = {8, 4 + 64 + 64, 1, "Android", __ANDROID_MIN_SDK_VERSION__, "pyibert-compat (not the NDK)", "0"};
