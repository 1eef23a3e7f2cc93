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
#include <arpa/inet.h>
#include <string.h>

#define MAX_RECORDS 1000 /* dns.MAX_RECORDS */
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
    PyObject *fields[5]; /* DnsAnswer's member descriptors, or NULL: call answer_type */
    PyObject *empty;
    PyObject *root, *too_long, *loop, *unknown;
    PyObject *s_queries, *s_qtypes, *s_answers, *s_rcode;
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

static PyObject *new_answer(Kernel *k, PyObject *const values[5]) {
    if (k->fields[0] == NULL) return PyObject_Vectorcall(k->answer_type, values, 5, NULL);
    PyTypeObject *tp = (PyTypeObject *)k->answer_type;
    PyObject *obj = tp->tp_new(tp, k->empty, NULL);
    if (obj == NULL) return NULL;
    for (int i = 0; i < 5; i++) {
        if (Py_TYPE(k->fields[i])->tp_descr_set(k->fields[i], obj, values[i]) < 0) {
            Py_DECREF(obj);
            return NULL;
        }
    }
    return obj;
}

/* Add key to seen when new and the set holds fewer than MAX_RECORDS: 1 added, 0 not, -1 error. */
static int remember(PyObject *seen, PyObject *key) {
    int has = PySet_Contains(seen, key);
    if (has != 0) return has < 0 ? -1 : 0;
    return PySet_Add(seen, key) < 0 ? -1 : 1;
}

static int append_new(PyObject *facts, PyObject *attr, PyObject *item) {
    PyObject *list = PyObject_GetAttr(facts, attr);
    if (list == NULL) return -1;
    int rc = PyList_Check(list) ? PyList_Append(list, item) : -1;
    if (rc < 0 && !PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "L7Facts lists expected");
    Py_DECREF(list);
    return rc;
}

static int record_questions(Kernel *k, Question *qs, int nq, PyObject *seen, PyObject *facts) {
    for (int i = 0; i < nq; i++) {
        if (PySet_GET_SIZE(seen) >= MAX_RECORDS) return 0;
        PyObject *qtype = PyLong_FromUnsignedLong(qs[i].type);
        PyObject *key = qtype == NULL ? NULL : PyTuple_Pack(2, qs[i].name, qtype);
        Py_XDECREF(qtype);
        int added = key == NULL ? -1 : remember(seen, key);
        Py_XDECREF(key);
        if (added < 0) return -1;
        if (added) {
            PyObject *tname = type_name(k, qs[i].type);
            if (tname == NULL) return -1;
            int rc = append_new(facts, k->s_queries, qs[i].name);
            if (rc == 0) rc = append_new(facts, k->s_qtypes, tname);
            Py_DECREF(tname);
            if (rc < 0) return -1;
        }
    }
    return 0;
}

/* _record_answers: each answer once per distinct question name (the first four), else its owner. */
static int record_answers(Kernel *k, Question *qs, int nq, Answer *as, int na, PyObject *seen,
                          PyObject *facts) {
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
            PyObject *key = PyTuple_Pack(4, query, tname, as[i].value, as[i].owner);
            int added = key == NULL ? -1 : remember(seen, key);
            Py_XDECREF(key);
            if (added <= 0) {
                rc = added;
                continue;
            }
            PyObject *const values[5] = {query, tname, as[i].value, ttl, as[i].owner};
            PyObject *answer = new_answer(k, values);
            rc = answer == NULL ? -1 : append_new(facts, k->s_answers, answer);
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

static PyObject *Kernel_message(Kernel *k, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "message(data, questions, answers, facts)");
        return NULL;
    }
    PyObject *data = args[0], *qseen = args[1], *aseen = args[2], *facts = args[3];
    if (k->empty == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Kernel not initialised");
        return NULL;
    }
    if (!PyBytes_CheckExact(data) || PyBytes_GET_SIZE(data) < 12) Py_RETURN_NONE;
    if (!PySet_CheckExact(qseen) || !PySet_CheckExact(aseen)) {
        PyErr_SetString(PyExc_TypeError, "questions and answers must be sets");
        return NULL;
    }
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
    PyObject *result = NULL;
    if (rc == OK || rc == CUT) {
        if (!(nq || na || (response && !(d[4] | d[5] | d[6] | d[7])))) {
            result = Py_NewRef(Py_None); /* garbage: the Python parser counts it */
        } else if (record_questions(k, qs, nq, qseen, facts) == 0) {
            int ok = !response || PyObject_SetAttr(facts, k->s_rcode, PyTuple_GET_ITEM(k->rcode_table, d[3] & 0xF)) == 0;
            if (ok && (!response || !na || record_answers(k, qs, nq, as, na, aseen, facts) == 0))
                result = PyLong_FromLong(MESSAGE_STEPS - (r.steps > 0 ? r.steps : 0));
        }
    } else if (rc == DECLINE) {
        result = Py_NewRef(Py_None);
    }
    for (int i = 0; i < nq; i++) Py_DECREF(qs[i].name);
    for (int i = 0; i < na; i++) {
        Py_DECREF(as[i].owner);
        Py_DECREF(as[i].value);
    }
    for (int i = 0; i < r.ncache; i++) Py_DECREF(r.cache_name[i]);
    return result;
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
    /* A plain slotted record type (no __post_init__) is filled slot by slot, skipping __init__. */
    int plain = PyType_Check(answer_type) && !PyObject_HasAttrString(answer_type, "__post_init__");
    for (int i = 0; i < 5; i++) {
        Py_CLEAR(k->fields[i]);
        if (!plain) continue;
        PyObject *f = PyObject_GetAttrString(answer_type, ANSWER_FIELDS[i]);
        if (f == NULL) return -1;
        if (Py_TYPE(f) == &PyMemberDescr_Type)
            k->fields[i] = f;
        else {
            Py_DECREF(f);
            plain = 0;
        }
    }
    if (!plain)
        for (int i = 0; i < 5; i++) Py_CLEAR(k->fields[i]);
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
    X(type_names) X(rcode_names) X(answer_type) X(render) X(rdata_text) X(fields[0]) X(fields[1]) \
        X(fields[2]) X(fields[3]) X(fields[4]) X(empty) X(root) X(too_long) X(loop) X(unknown)    \
            X(s_queries) X(s_qtypes) X(s_answers) X(s_rcode) X(type_table) X(rcode_table)

static int Kernel_traverse(Kernel *k, visitproc visit, void *arg) {
#define VISIT(f) Py_VISIT(k->f);
    KERNEL_REFS(VISIT)
#undef VISIT
    return 0;
}

static int Kernel_clear(Kernel *k) {
#define CLEAR(f) Py_CLEAR(k->f);
    KERNEL_REFS(CLEAR)
#undef CLEAR
    return 0;
}

static void Kernel_dealloc(Kernel *k) {
    PyObject_GC_UnTrack(k);
    Kernel_clear(k);
    Py_TYPE(k)->tp_free((PyObject *)k);
}

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

static struct PyModuleDef moduledef = {PyModuleDef_HEAD_INIT, "_dnsc", "Compiled DNS message kernel", -1,
                                       NULL};

PyMODINIT_FUNC PyInit__dnsc(void) {
    if (PyType_Ready(&KernelType) < 0) return NULL;
    PyObject *m = PyModule_Create(&moduledef);
    if (m == NULL) return NULL;
    if (PyModule_AddObjectRef(m, "Kernel", (PyObject *)&KernelType) < 0 ||
        PyModule_AddIntConstant(m, "MAX_RECORDS", MAX_RECORDS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
