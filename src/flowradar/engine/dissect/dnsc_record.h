/* Recording a parsed DNS message into a flow's L7Facts, as dns.DnsDissector does: questions, rcode, answers.
 * Part of _dnsc.c: included once, by it, after what it uses. */
#ifndef FLOWRADAR_DNSC_RECORD_H
#define FLOWRADAR_DNSC_RECORD_H

/* TYPE_NAMES.get(rtype) or f"TYPE{rtype}" (and the same for response codes). */
static PyObject *mnemonic(PyObject *names, unsigned value, const char *fallback) {
    PyObject *key = PyLong_FromUnsignedLong(value);
    if (key == NULL) return NULL;
    PyObject *s = PyDict_GetItemWithError(names, key);
    Py_DECREF(key);
    if (s != NULL && PyObject_IsTrue(s) == 1) return Py_NewRef(s);
    if (PyErr_Occurred()) return NULL;
    return PyUnicode_FromFormat("%s%u", fallback, value);
}

/* The mnemonics of values 0 .. count-1, a tuple. */
static PyObject *mnemonics(PyObject *names, unsigned count, const char *fallback) {
    PyObject *table = PyTuple_New(count);
    for (unsigned i = 0; table != NULL && i < count; i++) {
        PyObject *s = mnemonic(names, i, fallback);
        if (s == NULL) Py_CLEAR(table);
        else PyTuple_SET_ITEM(table, i, s);
    }
    return table;
}

static PyObject *type_name(Kernel *k, unsigned rtype) {
    if (rtype < TYPE_TABLE) return Py_NewRef(PyTuple_GET_ITEM(k->type_table, rtype));
    return mnemonic(k->type_names, rtype, "TYPE");
}

/* DnsAnswer(*values): a plain slotted record is filled as its __init__ would, slot by slot. */
static PyObject *new_answer(Kernel *k, PyObject *const values[5]) {
    if (k->slots[0] == 0) return PyObject_Vectorcall(k->answer_type, values, 5, NULL);
    PyTypeObject *tp = (PyTypeObject *)k->answer_type;
    PyObject *obj = tp->tp_alloc(tp, 0);
    if (obj != NULL)
        for (int i = 0; i < 5; i++) *(PyObject **)((char *)obj + k->slots[i]) = Py_NewRef(values[i]);
    return obj;
}

/* Add key (a new tuple of str and int) to seen unless there: 1 added, 0 there, -1 error. */
static int remember(PyObject *seen, PyObject *key) {
    if (key == NULL) return -1;
    PyObject_GC_UnTrack(key); /* it cannot be part of a cycle (what the collector would find out) */
    int has = PySet_Contains(seen, key);
    int rc = has != 0 ? (has < 0 ? -1 : 0) : (PySet_Add(seen, key) < 0 ? -1 : 1);
    Py_DECREF(key);
    return rc;
}

/* The facts' lists dns_queries, dns_qtypes and dns_answers, fetched once per message when needed. */
typedef struct {
    PyObject *facts;
    PyObject *lists[3];
} Sink;

enum { QUERIES, QTYPES, ANSWERS, RCODE };

/* The facts' field `which` (a new reference): read from its slot when facts is an L7Facts. */
static PyObject *facts_field(Kernel *k, PyObject *facts, int which) {
    if (k->facts_slots[0] && Py_IS_TYPE(facts, (PyTypeObject *)k->facts_type)) {
        PyObject *value = *(PyObject **)((char *)facts + k->facts_slots[which]);
        if (value != NULL) return Py_NewRef(value);
    }
    PyObject *attr = which == QUERIES ? k->s_queries : which == QTYPES ? k->s_qtypes : k->s_answers;
    return PyObject_GetAttr(facts, attr);
}

static int set_rcode(Kernel *k, PyObject *facts, PyObject *rcode) {
    if (k->facts_slots[0] && Py_IS_TYPE(facts, (PyTypeObject *)k->facts_type)) {
        Py_XSETREF(*(PyObject **)((char *)facts + k->facts_slots[RCODE]), Py_NewRef(rcode));
        return 0;
    }
    return PyObject_SetAttr(facts, k->s_rcode, rcode);
}

static int append_to(Kernel *k, Sink *sink, int which, PyObject *item) {
    if (sink->lists[which] == NULL) {
        PyObject *list = facts_field(k, sink->facts, which);
        if (list == NULL) return -1;
        if (!PyList_Check(list)) {
            Py_DECREF(list);
            PyErr_SetString(PyExc_TypeError, "L7Facts lists expected");
            return -1;
        }
        sink->lists[which] = list;
    }
    return PyList_Append(sink->lists[which], item);
}

static int record_questions(Kernel *k, Question *qs, int nq, PyObject *seen, Sink *sink) {
    for (int i = 0; i < nq; i++) {
        if (PySet_GET_SIZE(seen) >= MAX_RECORDS) return 0;
        PyObject *qtype = PyLong_FromUnsignedLong(qs[i].type);
        int added = qtype == NULL ? -1 : remember(seen, PyTuple_Pack(2, qs[i].name, qtype));
        Py_XDECREF(qtype);
        if (added < 0) return -1;
        if (added) {
            PyObject *tname = type_name(k, qs[i].type);
            if (tname == NULL) return -1;
            int rc = append_to(k, sink, QUERIES, qs[i].name);
            if (rc == 0) rc = append_to(k, sink, QTYPES, tname);
            Py_DECREF(tname);
            if (rc < 0) return -1;
        }
    }
    return 0;
}

/* _record_answers: each answer once per distinct question name (the first four), else its owner. */
static int record_answers(Kernel *k, Question *qs, int nq, Answer *as, int na, PyObject *seen,
                          Sink *sink) {
    PyObject *names[4];
    int nn = 0;
    for (int i = 0; i < nq && nn < 4; i++) {
        int dup = 0;
        for (int j = 0; j < nn && !dup; j++) {
            dup = PyObject_RichCompareBool(names[j], qs[i].name, Py_EQ);
            if (dup < 0) return -1;
        }
        if (!dup) names[nn++] = qs[i].name;
    }
    for (int i = 0; i < na; i++) {
        if (PySet_GET_SIZE(seen) >= MAX_RECORDS) return 0;
        PyObject *tname = type_name(k, as[i].type);
        PyObject *ttl = tname == NULL ? NULL : PyLong_FromUnsignedLong(as[i].ttl);
        int rc = ttl == NULL ? -1 : 0;
        for (int j = 0; j < (nn ? nn : 1) && rc == 0 && PySet_GET_SIZE(seen) < MAX_RECORDS; j++) {
            PyObject *query = nn ? names[j] : as[i].owner;
            int added = remember(seen, PyTuple_Pack(4, query, tname, as[i].value, as[i].owner));
            if (added <= 0) {
                rc = added;
                continue;
            }
            PyObject *const values[5] = {query, tname, as[i].value, ttl, as[i].owner};
            PyObject *answer = new_answer(k, values);
            rc = answer == NULL ? -1 : append_to(k, sink, ANSWERS, answer);
            Py_XDECREF(answer);
        }
        Py_XDECREF(tname);
        Py_XDECREF(ttl);
        if (rc < 0) return -1;
    }
    return 0;
}

/* Parse one message and record it: the steps it cost, DECLINED (nothing touched) or FAILED. */
#define DECLINED (-1)
#define FAILED (-2)
static Py_ssize_t record_message(Kernel *k, PyObject *data, PyObject *qseen, PyObject *aseen,
                                 PyObject *facts) {
    if (!PyBytes_CheckExact(data) || PyBytes_GET_SIZE(data) < 12) return DECLINED;
    Reader r;
    r.k = k;
    r.d = (const unsigned char *)PyBytes_AS_STRING(data);
    r.n = PyBytes_GET_SIZE(data);
    r.steps = MESSAGE_STEPS;
    r.ncache = 0;
    Question qs[MAX_QUESTIONS];
    Answer as[MAX_ANSWERS];
    int nq = 0, na = 0;
    int rc = read_message(&r, qs, &nq, as, &na);
    const unsigned char *d = r.d;
    int response = d[2] >= 0x80;
    Py_ssize_t result = rc == ERR ? FAILED : DECLINED;
    /* garbage (nothing parsed, and not an empty response) is left to the Python parser to count */
    if ((rc == OK || rc == CUT) && (nq || na || (response && !(d[4] | d[5] | d[6] | d[7])))) {
        Sink sink = {facts, {NULL, NULL, NULL}};
        result = FAILED;
        if (record_questions(k, qs, nq, qseen, &sink) == 0 &&
            (!response ||
             set_rcode(k, facts, PyTuple_GET_ITEM(k->rcode_table, d[3] & 0xF)) == 0) &&
            (!response || !na || record_answers(k, qs, nq, as, na, aseen, &sink) == 0))
            result = MESSAGE_STEPS - (r.steps > 0 ? r.steps : 0);
        for (int i = 0; i < 3; i++) Py_XDECREF(sink.lists[i]);
    }
    for (int i = 0; i < nq; i++) Py_DECREF(qs[i].name);
    for (int i = 0; i < na; i++) {
        Py_DECREF(as[i].owner);
        Py_DECREF(as[i].value);
    }
    for (int i = 0; i < r.ncache; i++) Py_DECREF(r.cache_name[i]);
    return result;
}

#endif /* FLOWRADAR_DNSC_RECORD_H */
