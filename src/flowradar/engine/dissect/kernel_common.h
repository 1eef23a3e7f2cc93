/* What every compiled dissector kernel (_appidc.c, _dnsc.c, _httpc.c, _tlsc.c) shares: the
 * includes, big-endian readers, the GC slots of a type or module state whose owned references an
 * X-macro lists, a stealing setattr, and the creation of a single-phase module with its types and
 * int constants. Only static functions and macros: each kernel includes it once, in its own
 * translation unit, and nothing here is global and mutable. */
#ifndef FLOWRADAR_KERNEL_COMMON_H
#define FLOWRADAR_KERNEL_COMMON_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* --- big-endian readers ------------------------------------------------------------------------ */

/* p[0:2], p[0:3] as unsigned big-endian numbers: the caller has checked that the bytes are there. */
static inline unsigned kc_u16(const unsigned char *p) { return ((unsigned)p[0] << 8) | p[1]; }
static inline Py_ssize_t kc_u24(const unsigned char *p) {
    return ((Py_ssize_t)p[0] << 16) | ((Py_ssize_t)p[1] << 8) | p[2];
}

/* int.from_bytes(b[o:o+k], "big") over the n bytes at b, bounds-checked: a slice that runs past
 * the end gives the bytes that are there (Python's slice semantics), one starting past it 0. */
static inline uint64_t kc_be(const uint8_t *b, int64_t n, int64_t o, int k) {
    uint64_t x = 0;
    for (int64_t i = o < 0 ? n : o; i < o + k && i < n; i++) x = x << 8 | b[i];
    return x;
}

/* --- garbage collection ------------------------------------------------------------------------ */

/* REFS(X) names the owned references of a struct o points to: X(field) for each one. */
#define KC_VISIT_REF(field) Py_VISIT(o->field);
#define KC_CLEAR_REF(field) Py_CLEAR(o->field);

/* tp_traverse, tp_clear and tp_dealloc (T_traverse, T_clear, T_dealloc) of a GC type T. */
#define KC_GC_METHODS(T, REFS)                                                                     \
    static int T##_traverse(T *o, visitproc visit, void *arg) {                                     \
        REFS(KC_VISIT_REF)                                                                         \
        return 0;                                                                                  \
    }                                                                                              \
    static int T##_clear(T *o) {                                                                   \
        REFS(KC_CLEAR_REF)                                                                         \
        return 0;                                                                                  \
    }                                                                                              \
    static void T##_dealloc(T *o) {                                                                \
        PyObject_GC_UnTrack(o);                                                                    \
        T##_clear(o);                                                                              \
        Py_TYPE(o)->tp_free((PyObject *)o);                                                        \
    }

/* m_traverse, m_clear and m_free (module_traverse, module_clear, module_free) of a module whose
 * state is a struct S. */
#define KC_MODULE_GC(S, REFS)                                                                      \
    static int module_traverse(PyObject *m, visitproc visit, void *arg) {                          \
        S *o = PyModule_GetState(m);                                                               \
        if (o != NULL) {                                                                           \
            REFS(KC_VISIT_REF)                                                                     \
        }                                                                                          \
        return 0;                                                                                  \
    }                                                                                              \
    static int module_clear(PyObject *m) {                                                         \
        S *o = PyModule_GetState(m);                                                               \
        if (o != NULL) {                                                                           \
            REFS(KC_CLEAR_REF)                                                                     \
        }                                                                                          \
        return 0;                                                                                  \
    }                                                                                              \
    static void module_free(void *m) { module_clear((PyObject *)m); }

/* --- objects ----------------------------------------------------------------------------------- */

/* setattr(obj, name, value), stealing value; a NULL value (its making failed) gives -1. */
static inline int kc_set_attr(PyObject *obj, PyObject *name, PyObject *value) {
    if (value == NULL) return -1;
    int rc = PyObject_SetAttr(obj, name, value);
    Py_DECREF(value);
    return rc;
}

typedef struct {
    const char *name;
    long value;
} KcInt;

/* Module int constants, up to an entry without a name: 0, or -1 with an error set. */
static inline int kc_add_ints(PyObject *m, const KcInt *ints) {
    for (; ints->name; ints++)
        if (PyModule_AddIntConstant(m, ints->name, ints->value) < 0) return -1;
    return 0;
}

/* A single-phase module: its static types readied and added under their short names (up to a
 * NULL), then its int constants. New reference, or NULL with an error set. */
static inline PyObject *kc_module_create(struct PyModuleDef *def, PyTypeObject *const *types, const KcInt *ints) {
    for (PyTypeObject *const *t = types; *t; t++)
        if (PyType_Ready(*t) < 0) return NULL;
    PyObject *m = PyModule_Create(def);
    if (m == NULL) return NULL;
    for (PyTypeObject *const *t = types; *t; t++) {
        const char *dot = strrchr((*t)->tp_name, '.');
        if (PyModule_AddObjectRef(m, dot ? dot + 1 : (*t)->tp_name, (PyObject *)*t) < 0) {
            Py_DECREF(m);
            return NULL;
        }
    }
    if (kc_add_ints(m, ints) < 0) Py_CLEAR(m);
    return m;
}

#endif /* FLOWRADAR_KERNEL_COMMON_H */
