/*
 * HTTP/1.x per-flow dissector, compiled: the twin of flowradar.engine.dissect.http.HttpDissector.
 *
 * HttpFlow keeps the same state as the Python class (two reassembled directions with the semantics
 * of tcpstream.TcpStream, bytes of body to skip, resynchronisation, done flags) and writes the same
 * http_* facts, raises the same DissectError messages and answers feed()/directions the same on
 * every input; tests/engine/dissect/test_http_kernel.py checks that differentially. Any change to
 * http.py must be mirrored here. Every read is bounded by the buffered length; the module holds no
 * mutable global state (interned names and DissectError live in the module state).
 */
#include "kernel_common.h"
#include <stdlib.h>

enum {
    MAX_REQUESTS = 100,
    MAX_STREAM = 256 * 1024,
    MAX_HEAD = 32 * 1024,
    LONGEST_METHOD = 16,
    MAX_PENDING = 64,
    RESYNC_KEEP = 8192,
    SNIFF_LIMIT = 16384,
    MAX_INTERIM = 8,
};

#define M(s) {s, sizeof(s) - 1}
static const struct {
    const char *name;
    Py_ssize_t len;
} METHODS[] = {
    M("GET"), M("HEAD"), M("POST"), M("PUT"), M("DELETE"), M("CONNECT"), M("OPTIONS"), M("TRACE"),
    M("PATCH"), M("PROPFIND"), M("PROPPATCH"), M("MKCOL"), M("COPY"), M("MOVE"), M("LOCK"),
    M("UNLOCK"), M("SEARCH"), M("REPORT"), M("CHECKIN"), M("CHECKOUT"), M("UNCHECKOUT"),
    M("MKACTIVITY"), M("MKWORKSPACE"), M("VERSION-CONTROL"), M("BASELINE-CONTROL"), M("MERGE"),
    M("LABEL"), M("UPDATE"), M("ORDERPATCH"), M("ACL"), M("MKCALENDAR"), M("BIND"), M("UNBIND"),
    M("REBIND"), M("POLL"), M("BCOPY"), M("BDELETE"), M("BMOVE"), M("BPROPFIND"), M("BPROPPATCH"),
    M("SUBSCRIBE"), M("UNSUBSCRIBE"), M("NOTIFY"), M("M-SEARCH"), M("CCM_POST"), M("RPC_CONNECT"),
    M("RPC_IN_DATA"), M("RPC_OUT_DATA"),
};
#define N_METHODS ((int)(sizeof(METHODS) / sizeof(METHODS[0])))

enum { F_HOST, F_USER_AGENT, F_REFERER, F_CONTENT_LENGTH, F_TRANSFER_ENCODING, F_CONTENT_TYPE, F_COUNT };
static const struct {
    const char *name;
    Py_ssize_t len;
} WANTED[F_COUNT] = {
    M("host"), M("user-agent"), M("referer"), M("content-length"), M("transfer-encoding"), M("content-type"),
};
#undef M

/* Attribute names, in the order of ATTR_NAMES. */
enum {
    A_REQUESTS, A_HOSTS, A_AGENTS, A_METHOD, A_PATH, A_HOST, A_AGENT, A_REFERER, A_STATUS, A_CTYPE,
    A_DIRECTION, A_TRANSPORT, A_PAYLOAD, A_SEQ, A_LOWER, A_APPEND, A_COUNT
};
static const char *const ATTR_NAMES[A_COUNT] = {
    "http_requests", "http_hosts", "http_user_agents", "http_method", "http_path", "http_host",
    "http_user_agent", "http_referer", "http_status", "http_content_type", "direction", "transport",
    "payload", "seq", "lower", "append",
};

typedef struct {
    PyObject *dissect_error;
    PyObject *tcp;
    PyObject *attr[A_COUNT];
} State;

/* (the attribute names are visited too: harmless for strings, and every reference is listed) */
#define STATE_REFS(X)  \
    X(dissect_error) X(tcp) for (int i = 0; i < A_COUNT; i++) X(attr[i])
KC_MODULE_GC(State, STATE_REFS)

#include "httpc_stream.h"

#include "httpc_head.h"

#include "httpc_flow.h"

static int flow_feed_impl(Flow *f, State *st, PyObject *pkt, PyObject *facts) {
    PyObject *direction, *transport, *payload, *seq, *owned[4] = {NULL, NULL, NULL, NULL};
    int rc = -1;
    if (PyTuple_Check(pkt) && PyTuple_GET_SIZE(pkt) == 8) {
        direction = PyTuple_GET_ITEM(pkt, 0);
        transport = PyTuple_GET_ITEM(pkt, 2);
        payload = PyTuple_GET_ITEM(pkt, 5);
        seq = PyTuple_GET_ITEM(pkt, 6);
    } else {
        const int names[4] = {A_DIRECTION, A_TRANSPORT, A_PAYLOAD, A_SEQ};
        for (int i = 0; i < 4; i++) {
            owned[i] = PyObject_GetAttr(pkt, st->attr[names[i]]);
            if (owned[i] == NULL) goto out;
        }
        direction = owned[0], transport = owned[1], payload = owned[2], seq = owned[3];
    }
    int tcp = transport == st->tcp ? 1 : PyObject_RichCompareBool(transport, st->tcp, Py_EQ);
    if (tcp <= 0) {
        rc = tcp < 0 ? -1 : 0;
        goto out;
    }
    int orig;
    if (PyLong_CheckExact(direction)) {
        int overflow;
        long v = PyLong_AsLongAndOverflow(direction, &overflow);
        orig = !overflow && v == 0;
    } else {
        PyObject *zero = PyLong_FromLong(0);
        orig = zero ? PyObject_RichCompareBool(direction, zero, Py_EQ) : -1;
        Py_XDECREF(zero);
        if (orig < 0) goto out;
    }
    Py_buffer view;
    if (PyBytes_CheckExact(payload)) { /* the usual case, without the buffer protocol's cost */
        view.obj = NULL;
        view.buf = PyBytes_AS_STRING(payload);
        view.len = PyBytes_GET_SIZE(payload);
    } else if (PyObject_GetBuffer(payload, &view, PyBUF_SIMPLE) < 0) {
        goto out;
    }
    Ctx c = {st, facts, 0, 0};
    int dir = orig ? 0 : 1, failed = 0;
    f->seen[dir] += view.len;
    if (dir == 0 && !f->orig_done) {
        failed = side_add(&f->orig, seq, view.buf, view.len) < 0 || load_requests(&c) < 0 ||
                 read_requests(f, &c) < 0;
    } else if (dir == 1 && !f->resp_done) {
        failed = side_add(&f->resp, seq, view.buf, view.len) < 0 || read_response(f, &c) < 0;
    }
    for (int d = 0; d < 2; d++) { /* before the segment goes: a done side is never read again */
        Side *s = d ? &f->resp : &f->orig;
        if (d ? f->resp_done : f->orig_done) {
            side_free(s);
        } else if (side_own(s) < 0) {
            failed = 1;
        }
    }
    if (view.obj != NULL) PyBuffer_Release(&view);
    if (failed) goto out;
    rc = 0;
    if (!f->orig_done) {
        if (load_requests(&c) < 0) {
            rc = -1;
            goto out;
        }
        int64_t seen = f->seen[0] > f->seen[1] ? f->seen[0] : f->seen[1];
        rc = c.requests < MAX_REQUESTS && seen <= MAX_STREAM && !f->orig.overflow;
    }
out:
    for (int i = 0; i < 4; i++) Py_XDECREF(owned[i]);
    return rc;
}

static PyObject *flow_feed(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames) {
    static const char *const names[2] = {"pkt", "facts"};
    PyObject *argv[2] = {NULL, NULL};
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    if (nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "feed() takes 2 arguments");
        return NULL;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) argv[i] = args[i];
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, k);
        int at = PyUnicode_CompareWithASCIIString(key, names[0]) == 0   ? 0
                 : PyUnicode_CompareWithASCIIString(key, names[1]) == 0 ? 1
                                                                        : -1;
        if (at < 0 || argv[at] != NULL) {
            PyErr_Format(PyExc_TypeError, "feed() got an unexpected or repeated argument %R", key);
            return NULL;
        }
        argv[at] = args[nargs + k];
    }
    if (argv[0] == NULL || argv[1] == NULL) {
        PyErr_SetString(PyExc_TypeError, "feed() missing an argument: pkt and facts are required");
        return NULL;
    }
    State *st = PyType_GetModuleState(Py_TYPE(self));
    if (st == NULL) return NULL;
    int rc = flow_feed_impl((Flow *)self, st, argv[0], argv[1]);
    if (rc < 0) return NULL;
    return PyBool_FromLong(rc);
}

static PyObject *flow_directions(PyObject *self, void *closure) {
    return PyLong_FromLong(((Flow *)self)->resp_done ? 1 : 3);
}

static PyObject *flow_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    if (PyTuple_GET_SIZE(args) || (kwds && PyDict_GET_SIZE(kwds))) {
        PyErr_SetString(PyExc_TypeError, "HttpFlow() takes no arguments");
        return NULL;
    }
    Flow *f = (Flow *)type->tp_alloc(type, 0);
    if (f == NULL) return NULL;
    side_init(&f->orig, MAX_STREAM);
    side_init(&f->resp, MAX_HEAD);
    f->seen[0] = f->seen[1] = 0;
    f->skip = 0;
    f->synced = 1;
    f->orig_done = f->resp_done = 0;
    return (PyObject *)f;
}

static void flow_dealloc(PyObject *self) {
    Flow *f = (Flow *)self;
    PyTypeObject *type = Py_TYPE(self);
    side_free(&f->orig);
    side_free(&f->resp);
    type->tp_free(self);
    Py_DECREF(type);
}

static PyMethodDef flow_methods[] = {
    {"feed", (PyCFunction)(void (*)(void))flow_feed, METH_FASTCALL | METH_KEYWORDS,
     "Read what this segment completes; True while more requests may come."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef flow_getset[] = {
    {"directions", flow_directions, NULL,
     "Directions still wanted: once the first response head is read, only the client's (1).", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyType_Slot flow_slots[] = {
    {Py_tp_doc, "Fills the http_* facts of a flow from its requests (all of them) and its first response."},
    {Py_tp_new, flow_new},
    {Py_tp_dealloc, flow_dealloc},
    {Py_tp_methods, flow_methods},
    {Py_tp_getset, flow_getset},
    {0, NULL},
};

static PyType_Spec flow_spec = {
    "flowradar.engine.dissect._httpc.HttpFlow", sizeof(Flow), 0, Py_TPFLAGS_DEFAULT, flow_slots,
};

/* ------------------------------------------------------------------ module */

static int module_exec(PyObject *m) {
    State *st = PyModule_GetState(m);
    PyObject *base = PyImport_ImportModule("flowradar.engine.dissect.base");
    if (base == NULL) return -1;
    st->dissect_error = PyObject_GetAttrString(base, "DissectError");
    Py_DECREF(base);
    if (st->dissect_error == NULL) return -1;
    st->tcp = PyUnicode_InternFromString("tcp");
    if (st->tcp == NULL) return -1;
    for (int i = 0; i < A_COUNT; i++) {
        st->attr[i] = PyUnicode_InternFromString(ATTR_NAMES[i]);
        if (st->attr[i] == NULL) return -1;
    }
    PyObject *type = PyType_FromModuleAndSpec(m, &flow_spec, NULL);
    if (type == NULL || PyModule_AddObjectRef(m, "HttpFlow", type) < 0) {
        Py_XDECREF(type);
        return -1;
    }
    Py_DECREF(type);
    PyObject *methods = PyTuple_New(N_METHODS);
    if (methods == NULL) return -1;
    for (int i = 0; i < N_METHODS; i++) {
        PyObject *name = PyBytes_FromStringAndSize(METHODS[i].name, METHODS[i].len);
        if (name == NULL) {
            Py_DECREF(methods);
            return -1;
        }
        PyTuple_SET_ITEM(methods, i, name);
    }
    if (PyModule_AddObject(m, "METHODS", methods) < 0) {
        Py_DECREF(methods);
        return -1;
    }
    const KcInt ints[] = {{"MAX_REQUESTS", MAX_REQUESTS}, {"MAX_STREAM", MAX_STREAM}, {"MAX_HEAD", MAX_HEAD},
                          {NULL, 0}};
    return kc_add_ints(m, ints);
}

static PyModuleDef_Slot module_slots[] = {
    {Py_mod_exec, module_exec},
    {0, NULL},
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "_httpc", "HTTP/1.x dissector kernel (the compiled twin of http.HttpDissector).",
    sizeof(State), NULL, module_slots, module_traverse, module_clear, module_free,
};

PyMODINIT_FUNC PyInit__httpc(void) { return PyModuleDef_Init(&moduledef); }
