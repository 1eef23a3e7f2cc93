/* DNS wire format for the compiled kernel (_dnsc.c): one message's questions and answer records,
 * read exactly as dns_wire._Reader does (name compression with its memo of names read before, the
 * step budgets, tshark's markers, rendering, record data as text), or declined (DECLINE) for what
 * the fixed tables here do not hold. Every read is bounded by the message length. */
#ifndef FLOWRADAR_DNSC_WIRE_H
#define FLOWRADAR_DNSC_WIRE_H

#include "kernel_common.h"
#include <arpa/inet.h>

#define MESSAGE_STEPS 4096
#define NAME_STEPS 512
#define MAX_NAME 253
#define MAX_TEXT 1024
#define MAX_QUESTIONS 64
#define MAX_ANSWERS 64
#define MAX_CACHE 64
#define NAME_BUF 384 /* parts are kept while the name is at most 253 bytes: at most 253 + 64 */

enum { OK = 0, CUT = 1, DECLINE = 2, ERR = -1 };

typedef struct {
    PyObject_HEAD
    PyObject *type_names, *rcode_names, *answer_type, *facts_type, *render, *rdata_text;
    Py_ssize_t slots[5];       /* offsets of DnsAnswer's slots by field, or 0: call answer_type */
    Py_ssize_t facts_slots[4]; /* offsets of L7Facts' dns fields, or 0: use the attributes */
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
        *out = PyUnicode_FromFormat("%u %U", kc_u16(p), nm);
    } else if (rtype == 33 && rdlen > 6) {
        if ((rc = name(r, pos + 6, rdlen - 6, &nm, &end)) != OK) return rc;
        *out = PyUnicode_FromFormat("%u %u %u %U", kc_u16(p), kc_u16(p + 2), kc_u16(p + 4), nm);
    } else if (named && rdlen > 0) {
        return name(r, pos, rdlen, out, &end);
    } else {
        *out = rdata_text(r->k, rtype, p, rdlen);
        return *out == NULL ? ERR : OK;
    }
    Py_DECREF(nm);
    return *out == NULL ? ERR : OK;
}

/* _Reader.read: questions, then answer records, until the counts or a cut. */
static int read_message(Reader *r, Question *qs, int *nq, Answer *as, int *na) {
    const unsigned char *d = r->d;
    const Py_ssize_t n = r->n;
    unsigned qdcount = kc_u16(d + 4), ancount = kc_u16(d + 6);
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
        qs[(*nq)++].type = kc_u16(d + pos);
        pos += 4;
    }
    for (unsigned i = 0; i < ancount; i++) {
        if ((rc = name(r, pos, 0, &nm, &pos)) != OK) return rc;
        if (pos + 10 > n || pos + 10 + kc_u16(d + pos + 8) > n) {
            Py_DECREF(nm);
            return CUT;
        }
        unsigned rtype = kc_u16(d + pos);
        unsigned long ttl = ((unsigned long)kc_u16(d + pos + 4) << 16) | kc_u16(d + pos + 6);
        Py_ssize_t rdlen = kc_u16(d + pos + 8);
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

#endif
