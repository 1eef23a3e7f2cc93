/* Compiled DNS kernel: parse one whole message (header, questions, answer records, with name
 * compression and the step budget; dnsc_wire.h) exactly as the Python parser of dns_wire.py does,
 * and record it into a flow's L7Facts exactly as dns.DnsDissector does.
 *
 * Kernel(type_names, rcode_names, answer_type, render, rdata_text).message(data, questions,
 * answers, facts) returns the steps the message cost once it is recorded, or None (nothing
 * touched) when the message is anything unusual: shorter than a header, not a DNS message
 * (garbage), a bitstring label, more questions, answers or distinct names than the fixed tables
 * hold. The Python parser then handles it. Names that are not printable ASCII are rendered by the
 * Python `render` (dns_text._render), text records that are not printable ASCII by `rdata_text`.
 *
 * Flow is the base of dns.DnsDissector: a flow's counters and seen sets, and feed, which takes a UDP
 * message through the class's _kernel (or, declined, the subclass's _parse) and hands anything else
 * to the subclass's _feed_py.
 *
 * Nothing here is global and mutable. */
#include "dnsc_wire.h"
#include <structmember.h>

#define MAX_RECORDS 1000 /* dns.MAX_RECORDS */
#define MAX_MESSAGES 10000 /* dns.MAX_MESSAGES */
#define MAX_FLOW_STEPS 250000 /* dns.MAX_FLOW_STEPS */
#define TYPE_TABLE 260 /* record types up to CAA (257) are looked up once, at init */

static const char *const ANSWER_FIELDS[5] = {"query", "type", "value", "ttl", "owner"};
static const char *const FACTS_FIELDS[4] = {"dns_queries", "dns_qtypes", "dns_answers", "dns_rcode"};

#include "dnsc_record.h"

static PyObject *Kernel_message(Kernel *k, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "message(data, questions, answers, facts)");
        return NULL;
    }
    if (k->empty == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Kernel not initialised");
        return NULL;
    }
    if (!PySet_CheckExact(args[1]) || !PySet_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "questions and answers must be sets");
        return NULL;
    }
    Py_ssize_t spent = record_message(k, args[0], args[1], args[2], args[3]);
    if (spent == FAILED) return NULL;
    if (spent == DECLINED) Py_RETURN_NONE;
    return PyLong_FromSsize_t(spent);
}

/* The offsets of fields `names` of a plain slotted record type (object's __new__, no __post_init__,
 * writable object slots of its own) into out, or all 0 (use the attributes): 1, or 0 on error. */
static int slot_offsets(PyObject *type, const char *const *names, int n, Py_ssize_t *out) {
    int plain = PyType_Check(type) && ((PyTypeObject *)type)->tp_new == PyBaseObject_Type.tp_new;
    if (plain && (plain = !PyObject_HasAttrString(type, "__post_init__")) == 0 && PyErr_Occurred()) return 0;
    for (int i = 0; i < n && plain; i++) {
        PyObject *f = PyObject_GetAttrString(type, names[i]);
        if (f == NULL) {
            PyErr_Clear();
            plain = 0;
            break;
        }
        PyMemberDef *m = Py_IS_TYPE(f, &PyMemberDescr_Type) ? ((PyMemberDescrObject *)f)->d_member : NULL;
        plain = m != NULL && m->type == T_OBJECT_EX && !(m->flags & READONLY) &&
                PyDescr_TYPE(f) == (PyTypeObject *)type && m->offset > 0;
        out[i] = plain ? m->offset : 0;
        Py_DECREF(f);
    }
    if (!plain) memset(out, 0, n * sizeof *out);
    return 1;
}

static int Kernel_init(Kernel *k, PyObject *args, PyObject *kwds) {
    PyObject *type_names, *rcode_names, *answer_type, *facts_type, *render_fn, *rdata_fn;
    static char *kwlist[] = {"type_names", "rcode_names", "answer_type", "facts_type", "render", "rdata_text", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!OOOO:Kernel", kwlist, &PyDict_Type, &type_names,
                                     &PyDict_Type, &rcode_names, &answer_type, &facts_type, &render_fn, &rdata_fn))
        return -1;
    Py_XSETREF(k->type_names, Py_NewRef(type_names));
    Py_XSETREF(k->rcode_names, Py_NewRef(rcode_names));
    Py_XSETREF(k->answer_type, Py_NewRef(answer_type));
    Py_XSETREF(k->facts_type, Py_NewRef(facts_type));
    Py_XSETREF(k->render, Py_NewRef(render_fn));
    Py_XSETREF(k->rdata_text, Py_NewRef(rdata_fn));
    /* DnsAnswer is filled slot by slot, skipping its __init__, which only assigns them */
    if (!slot_offsets(answer_type, ANSWER_FIELDS, 5, k->slots) ||
        !slot_offsets(facts_type, FACTS_FIELDS, 4, k->facts_slots))
        return -1;
    struct {
        PyObject **slot;
        const char *text;
        int intern;
    } strings[] = {
        {&k->root, "<root>", 0},
        {&k->too_long, "<name too long>", 0},
        {&k->loop, "<name contains a pointer that loops>", 0},
        {&k->unknown, "<unknown extended label>", 0},
        {&k->s_queries, "dns_queries", 1},
        {&k->s_qtypes, "dns_qtypes", 1},
        {&k->s_answers, "dns_answers", 1},
        {&k->s_rcode, "dns_rcode", 1},
        {&k->s_parse, "_parse", 1},
        {&k->s_too_costly, "_too_costly", 1},
    };
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        PyObject *s = strings[i].intern ? PyUnicode_InternFromString(strings[i].text)
                                        : PyUnicode_FromString(strings[i].text);
        if (s == NULL) return -1;
        Py_XSETREF(*strings[i].slot, s);
    }
    Py_CLEAR(k->empty); /* unusable until initialised completely */
    Py_XSETREF(k->type_table, mnemonics(type_names, TYPE_TABLE, "TYPE"));
    Py_XSETREF(k->rcode_table, mnemonics(rcode_names, 16, "RCODE"));
    if (k->type_table == NULL || k->rcode_table == NULL) return -1;
    k->empty = PyTuple_New(0);
    return k->empty == NULL ? -1 : 0;
}

#define KERNEL_REFS(X)                                                                            \
    X(type_names) X(rcode_names) X(answer_type) X(facts_type) X(render) X(rdata_text) X(empty) X(root) X(too_long) X(loop) X(unknown)    \
            X(s_queries) X(s_qtypes) X(s_answers) X(s_rcode) X(s_parse) X(s_too_costly)    \
                X(type_table) X(rcode_table)

KC_GC_METHODS(Kernel, KERNEL_REFS)

static PyMethodDef Kernel_methods[] = {
    {"message", (PyCFunction)(void (*)(void))Kernel_message, METH_FASTCALL,
     "message(data, questions, answers, facts) -> steps, or None to let the Python parser decide"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject KernelType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "flowradar.engine.dissect._dnsc.Kernel",
    .tp_doc = "Parses and records whole DNS messages (see the module docstring).",
    .tp_basicsize = sizeof(Kernel),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Kernel_init,
    .tp_dealloc = (destructor)Kernel_dealloc,
    .tp_traverse = (traverseproc)Kernel_traverse,
    .tp_clear = (inquiry)Kernel_clear,
    .tp_methods = Kernel_methods,
};

/* ---- Flow: a DNS flow's state, and feed for UDP messages through the kernel ---- */

typedef struct {
    PyObject_HEAD
    Kernel *kernel; /* the class's _kernel, or NULL: the Python methods do all */
    PyObject *questions, *answers, *streams;
    Py_ssize_t messages, steps, bad;
    char stopped;
} Flow;

static PyTypeObject FlowType;

static PyObject *Flow_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    PyObject *kernel = PyObject_GetAttrString((PyObject *)type, "_kernel");
    if (kernel == NULL) return NULL;
    Flow *f = (Flow *)type->tp_alloc(type, 0);
    if (f == NULL) {
        Py_DECREF(kernel);
        return NULL;
    }
    if (Py_IS_TYPE(kernel, &KernelType) && ((Kernel *)kernel)->empty != NULL)
        f->kernel = (Kernel *)kernel;
    else
        Py_DECREF(kernel);
    f->questions = PySet_New(NULL);
    f->answers = PySet_New(NULL);
    if (f->questions == NULL || f->answers == NULL) Py_CLEAR(f);
    return (PyObject *)f;
}

#define FLOW_REFS(X) X(kernel) X(questions) X(answers) X(streams)

KC_GC_METHODS(Flow, FLOW_REFS)

/* Record one message through the kernel and count it: 1, or 0 when the kernel declines, -1 error. */
static int compiled(Flow *f, PyObject *data, PyObject *facts) {
    if (f->kernel == NULL || !PySet_CheckExact(f->questions) || !PySet_CheckExact(f->answers)) return 0;
    Py_ssize_t spent = record_message(f->kernel, data, f->questions, f->answers, facts);
    if (spent < 0) return spent == FAILED ? -1 : 0;
    f->messages++;
    f->steps += spent;
    return 1;
}

static PyObject *Flow_compiled(Flow *f, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "_compiled(data, facts)");
        return NULL;
    }
    int rc = compiled(f, args[0], args[1]);
    return rc < 0 ? NULL : PyBool_FromLong(rc);
}

static int is_udp(PyObject *s) {
    return PyUnicode_CheckExact(s) && PyUnicode_GET_LENGTH(s) == 3 && PyUnicode_KIND(s) == PyUnicode_1BYTE_KIND &&
           memcmp(PyUnicode_1BYTE_DATA(s), "udp", 3) == 0;
}

/* feed: a UDP payload through the kernel (else _parse), as _handle does; anything else by _feed_py. */
static PyObject *Flow_feed(Flow *f, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "feed(pkt, facts)");
        return NULL;
    }
    PyObject *pkt = args[0], *facts = args[1], *payload;
    if (f->kernel == NULL || !PyTuple_Check(pkt) || PyTuple_GET_SIZE(pkt) < 6 ||
        !is_udp(PyTuple_GET_ITEM(pkt, 2)) || !PyBytes_CheckExact(payload = PyTuple_GET_ITEM(pkt, 5)))
        return PyObject_CallMethod((PyObject *)f, "_feed_py", "OO", pkt, facts);
    if (PyBytes_GET_SIZE(payload)) {
        int rc = compiled(f, payload, facts);
        if (rc < 0) return NULL;
        if (rc == 0) {
            PyObject *spent = PyObject_CallMethodObjArgs((PyObject *)f, f->kernel->s_parse, payload, facts, NULL);
            if (spent == NULL) return NULL;
            Py_ssize_t n = PyLong_AsSsize_t(spent);
            Py_DECREF(spent);
            if (n == -1 && PyErr_Occurred()) return NULL;
            f->steps += n;
        }
        if (f->steps > MAX_FLOW_STEPS) {
            PyObject *done = PyObject_CallMethodNoArgs((PyObject *)f, f->kernel->s_too_costly);
            if (done == NULL) return NULL;
            Py_DECREF(done);
        }
    }
    return PyBool_FromLong(!f->stopped && f->messages + f->bad < MAX_MESSAGES);
}

static PyMethodDef Flow_methods[] = {
    {"feed", (PyCFunction)(void (*)(void))Flow_feed, METH_FASTCALL,
     "feed(pkt, facts) -> bool: a UDP message through the kernel, anything else by _feed_py"},
    {"_compiled", (PyCFunction)(void (*)(void))Flow_compiled, METH_FASTCALL,
     "_compiled(data, facts) -> bool: record and count one message, or decline (False)"},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef Flow_members[] = {
    {"_messages", T_PYSSIZET, offsetof(Flow, messages), 0, "messages recorded"},
    {"_steps", T_PYSSIZET, offsetof(Flow, steps), 0, "name steps walked"},
    {"_bad", T_PYSSIZET, offsetof(Flow, bad), 0, "payloads that were no DNS message"},
    {"_stopped", T_BOOL, offsetof(Flow, stopped), 0, "the flow is given up"},
    {"_questions", T_OBJECT_EX, offsetof(Flow, questions), READONLY, "(name, qtype) recorded"},
    {"_answers", T_OBJECT_EX, offsetof(Flow, answers), READONLY, "(query, type, value, owner) recorded"},
    {"_streams", T_OBJECT, offsetof(Flow, streams), 0, "TCP reassembly, both directions"},
    {NULL, 0, 0, 0, NULL},
};

static PyTypeObject FlowType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "flowradar.engine.dissect._dnsc.Flow",
    .tp_doc = "A DNS flow's state; feed parses UDP messages with the class's _kernel.",
    .tp_basicsize = sizeof(Flow),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE,
    .tp_new = Flow_new,
    .tp_dealloc = (destructor)Flow_dealloc,
    .tp_traverse = (traverseproc)Flow_traverse,
    .tp_clear = (inquiry)Flow_clear,
    .tp_methods = Flow_methods,
    .tp_members = Flow_members,
};

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "_dnsc", "Compiled DNS message kernel", -1,
                                       NULL};

PyMODINIT_FUNC PyInit__dnsc(void) {
    PyTypeObject *const types[] = {&KernelType, &FlowType, NULL};
    const KcInt ints[] = {{"MAX_RECORDS", MAX_RECORDS}, {"MAX_MESSAGES", MAX_MESSAGES},
                          {"MAX_FLOW_STEPS", MAX_FLOW_STEPS}, {NULL, 0}};
    return kc_module_create(&moduledef, types, ints);
}
