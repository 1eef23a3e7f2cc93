/* Compiled DNS kernel: parse one whole message (header, questions, answer records, with name
 * compression and the step budget) exactly as the Python parser of dns_wire.py does, and record it
 * into a flow's L7Facts exactly as dns.DnsDissector does.
 *
 * Kernel(type_names, rcode_names, answer_type, render, rdata_text).message(data, questions,
 * answers, facts) returns the steps the message cost once it is recorded, or None (nothing
 * touched) when the message is anything unusual: shorter than a header, not a DNS message
 * (garbage), a bitstring label, more questions, answers or distinct names than the fixed tables
 * hold. The Python parser then handles it. Names that are not printable ASCII are rendered by the
 * Python `render` (dns_text._render), text records that are not printable ASCII by `rdata_text`.
 *
 * Every read is bounded by the message length; nothing here is global and mutable. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <arpa/inet.h>
#include <string.h>

#define MAX_RECORDS 1000 /* dns.MAX_RECORDS */
#define MAX_MESSAGES 10000 /* dns.MAX_MESSAGES */
#define MAX_FLOW_STEPS 250000 /* dns.MAX_FLOW_STEPS */
#define MESSAGE_STEPS 4096
#define NAME_STEPS 512
#define MAX_NAME 253
#define MAX_TEXT 1024
#define MAX_QUESTIONS 64
#define MAX_ANSWERS 64
#define MAX_CACHE 64
#define TYPE_TABLE 260 /* record types up to CAA (257) are looked up once, at init */
#define NAME_BUF 384 /* parts are kept while the name is at most 253 bytes: at most 253 + 64 */

enum { OK = 0, CUT = 1, DECLINE = 2, ERR = -1 };

static const char *const ANSWER_FIELDS[5] = {"query", "type", "value", "ttl", "owner"};

typedef struct {
    PyObject_HEAD
    PyObject *type_names, *rcode_names, *answer_type, *render, *rdata_text;
    Py_ssize_t slots[5]; /* offsets of DnsAnswer's slots by field, or 0: call answer_type */
    PyObject *empty;
    PyObject *root, *too_long, *loop, *unknown;
    PyObject *s_queries, *s_qtypes, *s_answers, *s_rcode, *s_parse, *s_too_costly;
    PyObject *type_table, *rcode_table; /* tuples of the mnemonics by value */
} Kernel;

typedef struct {
    PyObject *name;
    unsigned type;
} Question;

typedef struct {
    PyObject *owner, *value;
    unsigned type;
    unsigned long ttl;
} Answer;

typedef struct {
    Kernel *k;
    const unsigned char *d;
    Py_ssize_t n;
    int steps;
    int ncache;
    Py_ssize_t cache_pos[MAX_CACHE];
    PyObject *cache_name[MAX_CACHE];
} Reader;

static inline unsigned u16(const unsigned char *p) { return ((unsigned)p[0] << 8) | p[1]; }

/* A name's joined labels as shown: printable ASCII lower-cased here, anything else by render. */
static PyObject *render(Kernel *k, const char *buf, Py_ssize_t len) {
    for (Py_ssize_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c < 0x20 || c > 0x7e) {
            PyObject *raw = PyBytes_FromStringAndSize(buf, len);
            if (raw == NULL) return NULL;
            PyObject *out = PyObject_CallOneArg(k->render, raw);
            Py_DECREF(raw);
            if (out != NULL && !PyUnicode_Check(out)) {
                Py_DECREF(out);
                PyErr_SetString(PyExc_TypeError, "render must return str");
                return NULL;
            }
            return out;
        }
    }
    PyObject *s = PyUnicode_New(len, 127);
    if (s == NULL) return NULL;
    Py_UCS1 *out = PyUnicode_1BYTE_DATA(s);
    for (Py_ssize_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        out[i] = (c >= 'A' && c <= 'Z') ? (Py_UCS1)(c + 32) : c;
    }
    return s;
}

static int marker(PyObject *m, PyObject **out, Py_ssize_t *endp, Py_ssize_t end) {
    Py_INCREF(m);
    *out = m;
    *endp = end;
    return OK;
}

/* _Reader._walk: follow labels and pointers from start (within limit bytes when limit > 0). */
static int walk(Reader *r, Py_ssize_t start, Py_ssize_t limit, PyObject **out, Py_ssize_t *endp) {
    const unsigned char *d = r->d;
    const Py_ssize_t n = r->n;
    Kernel *k = r->k;
    Py_ssize_t pos = start, end = -1, size = -1, blen = 0;
    int pointers = 0, nparts = 0, i, steps = r->steps, rc = -2;
    char buf[NAME_BUF];
    for (i = 0; i < NAME_STEPS; i++) {
        if (limit && pos - start >= limit) break;
        steps--;
        if (steps < 0 || pos >= n) {
            rc = CUT;
            break;
        }
        unsigned length = d[pos++];
        if (length < 0x40) {
            if (!length) break;
            Py_ssize_t after = pos + length;
            if (after > n || (limit && after - start > limit)) {
                rc = CUT;
                break;
            }
            if (size <= MAX_NAME) {
                if (nparts) buf[blen++] = '.';
                memcpy(buf + blen, d + pos, length);
                blen += length;
                nparts++;
            }
            size += length + 1;
            pos = after;
        } else if (length >= 0xC0) {
            if (pos >= n) {
                rc = CUT;
                break;
            }
            Py_ssize_t target = ((Py_ssize_t)(length & 0x3F) << 8) | d[pos];
            pos++;
            pointers++;
            if (end < 0) end = pos;
            if (target == pos + 2 || pointers > 255) {
                rc = marker(k->loop, out, endp, end);
                break;
            }
            pos = target;
        } else if (length == 0x41) { /* a bitstring label: left to Python */
            rc = DECLINE;
            break;
        } else if (length < 0x80) {
            rc = marker(k->unknown, out, endp, end < 0 ? pos : end);
            break;
        } else {
            rc = CUT;
            break;
        }
    }
    r->steps = steps;
    if (rc != -2) return rc;
    if (i == NAME_STEPS) { /* too many labels: without a pointer, where the name ends is unknown */
        if (end < 0) return CUT;
        return marker(size > MAX_NAME ? k->too_long : k->loop, out, endp, end);
    }
    if (end < 0) end = pos;
    if (!nparts) {
        if (end - start > 1) return CUT; /* a compressed root: tshark gives up on the message */
        return marker(k->root, out, endp, end);
    }
    if (size > MAX_NAME) return marker(k->too_long, out, endp, end);
    *out = render(k, buf, blen);
    *endp = end;
    return *out == NULL ? ERR : OK;
}

static int is_root(Kernel *k, PyObject *s) {
    return s == k->root ||
           (PyUnicode_GET_LENGTH(s) == 6 && PyUnicode_CompareWithASCIIString(s, "<root>") == 0);
}

/* _Reader.name: reuse a name read before when a pointer targets it, else walk (and remember). */
static int name(Reader *r, Py_ssize_t pos, Py_ssize_t limit, PyObject **out, Py_ssize_t *endp) {
    if (pos + 1 < r->n && r->d[pos] >= 0xC0) {
        Py_ssize_t target = ((Py_ssize_t)(r->d[pos] & 0x3F) << 8) | r->d[pos + 1];
        if (target < pos) {
            for (int i = r->ncache - 1; i >= 0; i--) {
                if (r->cache_pos[i] == target) {
                    Py_INCREF(r->cache_name[i]);
                    *out = r->cache_name[i];
                    *endp = pos + 2;
                    return OK;
                }
            }
        }
    }
    int rc = walk(r, pos, limit, out, endp);
    if (rc != OK || limit || is_root(r->k, *out)) return rc;
    for (int i = 0; i < r->ncache; i++) {
        if (r->cache_pos[i] == pos) {
            Py_INCREF(*out);
            Py_SETREF(r->cache_name[i], *out);
            return OK;
        }
    }
    if (r->ncache == MAX_CACHE) {
        Py_CLEAR(*out);
        return DECLINE;
    }
    Py_INCREF(*out);
    r->cache_pos[r->ncache] = pos;
    r->cache_name[r->ncache++] = *out;
    return OK;
}

static const char HEX[] = "0123456789abcdef";

/* A str of len ASCII bytes. */
static PyObject *ascii(const char *text, Py_ssize_t len) {
    PyObject *s = PyUnicode_New(len, 127);
    if (s != NULL) memcpy(PyUnicode_1BYTE_DATA(s), text, len);
    return s;
}

/* _rdata_text: record data that holds no name as text. */
static PyObject *rdata_text(Kernel *k, unsigned rtype, const unsigned char *p, Py_ssize_t len) {
    if (rtype == 1 && len == 4) {
        char text[16];
        int at = 0;
        for (int i = 0; i < 4; i++) {
            unsigned v = p[i];
            if (i) text[at++] = '.';
            if (v >= 100) text[at++] = (char)('0' + v / 100);
            if (v >= 10) text[at++] = (char)('0' + v / 10 % 10);
            text[at++] = (char)('0' + v % 10);
        }
        return ascii(text, at);
    }
    if (rtype == 28 && len == 16) {
        char text[INET6_ADDRSTRLEN];
        if (inet_ntop(AF_INET6, p, text, sizeof text) == NULL) return PyErr_SetFromErrno(PyExc_OSError);
        return ascii(text, (Py_ssize_t)strlen(text));
    }
    if (rtype == 16 || rtype == 99) { /* character-strings, concatenated: printable ASCII here */
        char text[MAX_TEXT];
        Py_ssize_t tlen = 0, i = 0;
        int plain = 1;
        while (i < len && i < 4 * MAX_TEXT && plain) {
            Py_ssize_t ln = p[i], from = i + 1, to = i + 1 + ln;
            if (to > len) to = len;
            for (Py_ssize_t j = from; j < to && tlen < MAX_TEXT; j++) {
                if (p[j] < 0x20 || p[j] > 0x7e) plain = 0;
                text[tlen++] = (char)p[j];
            }
            i += 1 + ln;
        }
        if (plain) return ascii(text, tlen);
        PyObject *blob = PyBytes_FromStringAndSize((const char *)p, len);
        if (blob == NULL) return NULL;
        PyObject *out = PyObject_CallFunction(k->rdata_text, "IO", rtype, blob);
        Py_DECREF(blob);
        return out;
    }
    Py_ssize_t shown = len <= 64 ? len : 64;
    char text[32 + 2 * 64 + 3];
    int at = snprintf(text, 32, "\\# %zd ", len);
    for (Py_ssize_t i = 0; i < shown; i++) {
        text[at++] = HEX[p[i] >> 4];
        text[at++] = HEX[p[i] & 15];
    }
    if (len > 64) {
        memcpy(text + at, "...", 3);
        at += 3;
    }
    return ascii(text, at);
}

/* _Reader.rdata: names for NS CNAME SOA PTR DNAME, 'pref name' (MX), 'prio weight port target'. */
static int rdata(Reader *r, unsigned rtype, Py_ssize_t pos, Py_ssize_t rdlen, PyObject **out) {
    const unsigned char *p = r->d + pos;
    PyObject *nm;
    Py_ssize_t end;
    int rc;
    int named = rtype == 2 || rtype == 5 || rtype == 6 || rtype == 12 || rtype == 39;
    if (rtype == 15 && rdlen > 2) {
        if ((rc = name(r, pos + 2, rdlen - 2, &nm, &end)) != OK) return rc;
        *out = PyUnicode_FromFormat("%u %U", u16(p), nm);
    } else if (rtype == 33 && rdlen > 6) {
        if ((rc = name(r, pos + 6, rdlen - 6, &nm, &end)) != OK) return rc;
        *out = PyUnicode_FromFormat("%u %u %u %U", u16(p), u16(p + 2), u16(p + 4), nm);
    } else if (named && rdlen > 0) {
        return name(r, pos, rdlen, out, &end);
    } else {
        *out = rdata_text(r->k, rtype, p, rdlen);
        return *out == NULL ? ERR : OK;
    }
    Py_DECREF(nm);
    return *out == NULL ? ERR : OK;
}

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

enum { QUERIES, QTYPES, ANSWERS };

static int append_to(Kernel *k, Sink *sink, int which, PyObject *item) {
    if (sink->lists[which] == NULL) {
        PyObject *attr = which == QUERIES ? k->s_queries : which == QTYPES ? k->s_qtypes : k->s_answers;
        PyObject *list = PyObject_GetAttr(sink->facts, attr);
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

/* _Reader.read: questions, then answer records, until the counts or a cut. */
static int read_message(Reader *r, Question *qs, int *nq, Answer *as, int *na) {
    const unsigned char *d = r->d;
    const Py_ssize_t n = r->n;
    unsigned qdcount = u16(d + 4), ancount = u16(d + 6);
    Py_ssize_t pos = 12;
    PyObject *nm, *value;
    int rc;
    for (unsigned i = 0; i < qdcount; i++) {
        if ((rc = name(r, pos, 0, &nm, &pos)) != OK) return rc;
        if (pos + 4 > n || *nq == MAX_QUESTIONS) {
            Py_DECREF(nm);
            return pos + 4 > n ? CUT : DECLINE;
        }
        qs[*nq].name = nm;
        qs[(*nq)++].type = u16(d + pos);
        pos += 4;
    }
    for (unsigned i = 0; i < ancount; i++) {
        if ((rc = name(r, pos, 0, &nm, &pos)) != OK) return rc;
        if (pos + 10 > n || pos + 10 + u16(d + pos + 8) > n) {
            Py_DECREF(nm);
            return CUT;
        }
        unsigned rtype = u16(d + pos);
        unsigned long ttl = ((unsigned long)u16(d + pos + 4) << 16) | u16(d + pos + 6);
        Py_ssize_t rdlen = u16(d + pos + 8);
        pos += 10;
        if ((rc = rdata(r, rtype, pos, rdlen, &value)) != OK || *na == MAX_ANSWERS) {
            if (rc == OK) Py_DECREF(value);
            Py_DECREF(nm);
            return rc == OK ? DECLINE : rc;
        }
        as[*na] = (Answer){nm, value, rtype, ttl};
        (*na)++;
        pos += rdlen;
    }
    return OK;
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
             PyObject_SetAttr(facts, k->s_rcode, PyTuple_GET_ITEM(k->rcode_table, d[3] & 0xF)) == 0) &&
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

static int Kernel_init(Kernel *k, PyObject *args, PyObject *kwds) {
    PyObject *type_names, *rcode_names, *answer_type, *render_fn, *rdata_fn;
    static char *kwlist[] = {"type_names", "rcode_names", "answer_type", "render", "rdata_text", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O!O!OOO:Kernel", kwlist, &PyDict_Type, &type_names,
                                     &PyDict_Type, &rcode_names, &answer_type, &render_fn, &rdata_fn))
        return -1;
    Py_XSETREF(k->type_names, Py_NewRef(type_names));
    Py_XSETREF(k->rcode_names, Py_NewRef(rcode_names));
    Py_XSETREF(k->answer_type, Py_NewRef(answer_type));
    Py_XSETREF(k->render, Py_NewRef(render_fn));
    Py_XSETREF(k->rdata_text, Py_NewRef(rdata_fn));
    /* A plain slotted record type (object's __new__, no __post_init__, writable object slots) is
     * filled slot by slot, skipping __init__, which only assigns them. */
    int plain = PyType_Check(answer_type) && ((PyTypeObject *)answer_type)->tp_new == PyBaseObject_Type.tp_new &&
                !PyObject_HasAttrString(answer_type, "__post_init__");
    for (int i = 0; i < 5; i++) {
        k->slots[i] = 0;
        PyObject *f = plain ? PyObject_GetAttrString(answer_type, ANSWER_FIELDS[i]) : NULL;
        if (f == NULL) {
            PyErr_Clear();
            plain = 0;
            continue;
        }
        PyMemberDef *m = Py_IS_TYPE(f, &PyMemberDescr_Type) ? ((PyMemberDescrObject *)f)->d_member : NULL;
        if (m != NULL && m->type == T_OBJECT_EX && !(m->flags & READONLY) &&
            PyDescr_TYPE(f) == (PyTypeObject *)answer_type && m->offset > 0)
            k->slots[i] = m->offset;
        else
            plain = 0;
        Py_DECREF(f);
    }
    if (!plain) memset(k->slots, 0, sizeof k->slots);
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
    X(type_names) X(rcode_names) X(answer_type) X(render) X(rdata_text) X(empty) X(root) X(too_long) X(loop) X(unknown)    \
            X(s_queries) X(s_qtypes) X(s_answers) X(s_rcode) X(s_parse) X(s_too_costly)    \
                X(type_table) X(rcode_table)

/* tp_traverse, tp_clear and tp_dealloc of a GC type T whose owned references REFS lists. */
#define VISIT_REF(m) Py_VISIT(o->m);
#define CLEAR_REF(m) Py_CLEAR(o->m);
#define GC_METHODS(T, REFS)                                                         \
    static int T##_traverse(T *o, visitproc visit, void *arg) {                     \
        REFS(VISIT_REF)                                                             \
        return 0;                                                                   \
    }                                                                               \
    static int T##_clear(T *o) {                                                    \
        REFS(CLEAR_REF)                                                             \
        return 0;                                                                   \
    }                                                                               \
    static void T##_dealloc(T *o) {                                                 \
        PyObject_GC_UnTrack(o);                                                     \
        T##_clear(o);                                                               \
        Py_TYPE(o)->tp_free((PyObject *)o);                                         \
    }

GC_METHODS(Kernel, KERNEL_REFS)

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

GC_METHODS(Flow, FLOW_REFS)

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
    if (PyType_Ready(&KernelType) < 0 || PyType_Ready(&FlowType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moduledef);
    if (m == NULL) return NULL;
    if (PyModule_AddObjectRef(m, "Kernel", (PyObject *)&KernelType) < 0 ||
        PyModule_AddObjectRef(m, "Flow", (PyObject *)&FlowType) < 0 ||
        PyModule_AddIntConstant(m, "MAX_RECORDS", MAX_RECORDS) < 0 ||
        PyModule_AddIntConstant(m, "MAX_MESSAGES", MAX_MESSAGES) < 0 ||
        PyModule_AddIntConstant(m, "MAX_FLOW_STEPS", MAX_FLOW_STEPS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
