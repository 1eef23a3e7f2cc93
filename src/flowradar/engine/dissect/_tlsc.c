/* Compiled TLS kernel: the TLS-over-TCP dissector of tls.py (TlsDissector, its per-direction
 * reassembly, TcpStream) and the ClientHello / ServerHello parsers of tls_hello.py, ported line for
 * line, so that a flow gets exactly the facts (and the same DissectError messages) as the Python
 * reference.
 *
 * Kernel(dissect_error, client_prints, server_prints, hello_facts).dissector() makes one flow's
 * Dissector, whose feed(pkt, facts) is TlsDissector.feed. A hello is parsed here; the fingerprints
 * (versions offered, JA3, JA4, JA3S) come from the Python functions client_prints / server_prints
 * (tls._client_prints / tls._server_prints, called with the same key tuple as the Python path) and
 * are remembered per distinct hello in the kernel's bounded caches (keyed by the bytes those prints
 * depend on, each field behind its length). A hello the C parser finds malformed goes to the Python
 * hello_facts (tls.hello_facts), which raises the DissectError naming the defect.
 *
 * Every read is bounded by the buffer length; nothing here is global and mutable. */
#include "kernel_common.h"

#define MAX_PACKETS 32     /* tls.MAX_PACKETS */
#define MAX_HELLO 32768    /* tls.MAX_HELLO */
#define HANDSHAKE 22
#define ALERT 21
#define MAX_RECORD (16384 + 2048)
#define MAX_HELD 4
#define STREAM_LIMIT (MAX_HELLO + 8192)
#define MAX_PENDING 64     /* TcpStream: out-of-order segments kept */
#define MOD32 4294967296LL
#define MAX_CACHE 4096     /* distinct hellos remembered per kernel before the cache restarts */

typedef const unsigned char *Bytes;

#define U16(b, i) kc_u16((b) + (i))
#define U24(b, i) kc_u24((b) + (i))

/* ------------------------------------------------------------------------------------------ */
/* Kernel: the Python callables and the fingerprint caches shared by a run's dissectors.        */

typedef struct {
    PyObject_HEAD
    PyObject *error, *client_prints, *server_prints, *hello_facts;
    PyObject *client_cache, *server_cache;
    PyObject *t; /* "t" */
    PyObject *s_sni, *s_alpn, *s_ech, *s_versions, *s_ja3, *s_ja4, *s_version, *s_cipher, *s_ja3s;
} Kernel;

#include "tlsc_hello.h"

#include "tlsc_stream.h"

#include "tlsc_records.h"

static PyObject *Dissector_feed(Dissector *self, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "feed(pkt, facts)");
        return NULL;
    }
    PyObject *pkt = args[0], *facts = args[1];
    if (self->finished) Py_RETURN_FALSE;
    if (!PyTuple_Check(pkt) || PyTuple_GET_SIZE(pkt) < 8) {
        PyErr_SetString(PyExc_TypeError, "pkt must be an L7Packet");
        return NULL;
    }
    self->packets++;
    long direction = PyLong_AsLong(PyTuple_GET_ITEM(pkt, 0));
    if (direction == -1 && PyErr_Occurred()) return NULL;
    Direction *side = &self->dirs[direction & 1];
    PyObject *payload = PyTuple_GET_ITEM(pkt, 5);
    int nonempty = PyBytes_CheckExact(payload) ? PyBytes_GET_SIZE(payload) > 0 : PyObject_IsTrue(payload);
    if (nonempty < 0) return NULL;
    if (!side->done && nonempty) {
        unsigned long long seq = PyLong_AsUnsignedLongLongMask(PyTuple_GET_ITEM(pkt, 6)) & 0xFFFFFFFFULL;
        if (seq == (unsigned long long)-1 && PyErr_Occurred()) return NULL;
        PyObject *bytes = PyBytes_CheckExact(payload) ? Py_NewRef(payload) : PyBytes_FromObject(payload);
        if (bytes == NULL) return NULL;
        int rc = feed_side(self, side, seq, bytes, facts);
        Py_DECREF(bytes);
        if (rc < 0) {
            if (PyErr_ExceptionMatches(self->k->error)) self->finished = 1;
            return NULL;
        }
    }
    int both = self->dirs[0].done && self->dirs[1].done;
    if (both || self->hellos == 6 || self->packets >= MAX_PACKETS) self->finished = 1;
    return PyBool_FromLong(!self->finished);
}

static void Dissector_dealloc(Dissector *self) {
    for (int d = 0; d < 2; d++) {
        Direction *side = &self->dirs[d];
        for (int i = 0; i < side->nheld; i++) Py_CLEAR(side->held[i]);
        stream_free(&side->stream);
        PyMem_Free(side->hs);
    }
    Py_XDECREF(self->k);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *Dissector_directions(PyObject *self, void *closure) { return PyLong_FromLong(3); }

static PyMethodDef Dissector_methods[] = {
    {"feed", (PyCFunction)(void (*)(void))Dissector_feed, METH_FASTCALL,
     "feed(pkt, facts) -> bool: TlsDissector.feed (raises DissectError on malformed TLS)"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Dissector_getset[] = {
    {"directions", Dissector_directions, NULL, "Both directions are dissected (3).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject DissectorType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "flowradar.engine.dissect._tlsc.Dissector",
    .tp_doc = "One flow's TLS dissector (see the module docstring); made by Kernel.dissector().",
    .tp_basicsize = sizeof(Dissector),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)Dissector_dealloc,
    .tp_methods = Dissector_methods,
    .tp_getset = Dissector_getset,
};

/* ------------------------------------------------------------------------------------------ */

static PyObject *Kernel_dissector(Kernel *k, PyObject *unused) {
    Dissector *d = PyObject_New(Dissector, &DissectorType);
    if (d == NULL) return NULL;
    d->k = (Kernel *)Py_NewRef(k);
    d->packets = d->finished = d->hellos = 0;
    for (int i = 0; i < 2; i++) {
        Direction *side = &d->dirs[i];
        side->fresh = 1;
        side->done = side->synced = side->replay = side->nheld = 0;
        stream_init(&side->stream);
        side->hs = NULL, side->hs_len = side->hs_cap = 0;
    }
    return (PyObject *)d;
}

#define KERNEL_REFS(X)                                                                                \
    X(error) X(client_prints) X(server_prints) X(hello_facts) X(client_cache) X(server_cache) X(t)  \
        X(s_sni) X(s_alpn) X(s_ech) X(s_versions) X(s_ja3) X(s_ja4) X(s_version) X(s_cipher) X(s_ja3s)

static int Kernel_init(Kernel *k, PyObject *args, PyObject *kwds) {
    PyObject *error, *client_prints, *server_prints, *hello_facts;
    static char *names[] = {"dissect_error", "client_prints", "server_prints", "hello_facts", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOO", names, &error, &client_prints, &server_prints,
                                     &hello_facts))
        return -1;
    Py_XSETREF(k->error, Py_NewRef(error));
    Py_XSETREF(k->client_prints, Py_NewRef(client_prints));
    Py_XSETREF(k->server_prints, Py_NewRef(server_prints));
    Py_XSETREF(k->hello_facts, Py_NewRef(hello_facts));
    Py_XSETREF(k->client_cache, PyDict_New());
    Py_XSETREF(k->server_cache, PyDict_New());
#define INTERN(f, s) Py_XSETREF(k->f, PyUnicode_InternFromString(s));
    INTERN(t, "t") INTERN(s_sni, "tls_sni") INTERN(s_alpn, "tls_alpn") INTERN(s_ech, "tls_ech");
    INTERN(s_versions, "tls_versions_offered") INTERN(s_ja3, "tls_ja3") INTERN(s_ja4, "tls_ja4");
    INTERN(s_version, "tls_version") INTERN(s_cipher, "tls_cipher") INTERN(s_ja3s, "tls_ja3s");
#undef INTERN
#define CHECK(f) if (k->f == NULL) return -1;
    KERNEL_REFS(CHECK)
#undef CHECK
    return 0;
}

KC_GC_METHODS(Kernel, KERNEL_REFS)

static PyMethodDef Kernel_methods[] = {
    {"dissector", (PyCFunction)Kernel_dissector, METH_NOARGS,
     "dissector() -> a fresh Dissector for one flow"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject KernelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "flowradar.engine.dissect._tlsc.Kernel",
    .tp_doc = "Makes TLS dissectors sharing the Python fingerprint functions and their caches.",
    .tp_basicsize = sizeof(Kernel),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Kernel_init,
    .tp_dealloc = (destructor)Kernel_dealloc,
    .tp_traverse = (traverseproc)Kernel_traverse,
    .tp_clear = (inquiry)Kernel_clear,
    .tp_methods = Kernel_methods,
};

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "_tlsc", "Compiled TLS dissector kernel", -1,
                                       NULL};

PyMODINIT_FUNC PyInit__tlsc(void) {
    PyTypeObject *const types[] = {&KernelType, &DissectorType, NULL};
    const KcInt ints[] = {{"MAX_PACKETS", MAX_PACKETS}, {"MAX_HELLO", MAX_HELLO}, {NULL, 0}};
    return kc_module_create(&moduledef, types, ints);
}
