/* The ClientHello / ServerHello parsers of tls_hello.py, and the facts and cached prints they give.
 * Part of _tlsc.c: included once, by it, after what it uses. */
#ifndef FLOWRADAR_TLSC_HELLO_H
#define FLOWRADAR_TLSC_HELLO_H

/* ------------------------------------------------------------------------------------------ */
/* Hello parsers: 1 parsed and facts written, 0 declined (nothing touched), -1 error set.        */

typedef struct {
    Py_ssize_t p, q;
    int present;
} Range;

static int hello_start(Bytes b, Py_ssize_t n, unsigned type, Py_ssize_t *p, Py_ssize_t *end) {
    if (n < 4 || b[0] != type) return 0;
    *end = 4 + U24(b, 1);
    if (*end > n || *end < 39 || b[38] > 32) return 0;
    *p = 39 + b[38];
    return 1;
}

/* The extensions vector at p: its data range, framing of every extension checked. */
static int extensions(Bytes b, Py_ssize_t p, Py_ssize_t end, Py_ssize_t *start, Py_ssize_t *stop) {
    if (p + 2 > end || p + 2 + (Py_ssize_t)U16(b, p) > end) return 0;
    *start = p + 2;
    *stop = p + 2 + U16(b, p);
    for (p = *start; p < *stop;) {
        if (p + 4 > *stop) return 0;
        Py_ssize_t q = p + 4 + U16(b, p + 2);
        if (q > *stop) return 0;
        p = q;
    }
    return 1;
}

/* tls_hello._server_name: 1 with the host name's range, 2 without one, 0 on a defect. */
static int server_name(Bytes b, Py_ssize_t p, Py_ssize_t e, Range *out) {
    if (p + 2 > e) return 0;
    Py_ssize_t end = p + 2 + U16(b, p);
    if (end > e) return 0;
    for (p += 2; p < end;) {
        if (p + 3 > end) return 0;
        Py_ssize_t q = p + 3 + U16(b, p + 1);
        if (q > end) return 0;
        if (b[p] == 0) {
            out->p = p + 3, out->q = q, out->present = 1;
            return 1;
        }
        p = q;
    }
    return 2;
}

/* tls_hello._alpn: the protocol list's range (entries checked), and the first entry's range. */
static int alpn(Bytes b, Py_ssize_t p, Py_ssize_t e, Range *list, Range *first) {
    if (p + 2 > e) return 0;
    Py_ssize_t end = p + 2 + U16(b, p);
    if (end > e) return 0;
    list->p = p + 2, list->q = end, list->present = 1;
    first->present = 0;
    for (p += 2; p < end;) {
        Py_ssize_t q = p + 1 + b[p];
        if (q > end) return 0;
        if (!first->present) first->p = p + 1, first->q = q, first->present = 1;
        p = q;
    }
    return 1;
}

/* tls_hello._list16: a vector of two-byte values with a two-byte (wide) or one-byte length. */
static int list16(Bytes b, Py_ssize_t p, Py_ssize_t e, int wide, Range *out) {
    Py_ssize_t q;
    if (wide) {
        if (p + 2 > e) return 0;
        q = p + 2 + U16(b, p), p += 2;
    } else {
        if (p >= e) return 0;
        q = p + 1 + b[p], p += 1;
    }
    if (q > e || ((q - p) & 1)) return 0;
    out->p = p, out->q = q, out->present = 1;
    return 1;
}

static PyObject *u16_tuple(Bytes b, Range r) {
    PyObject *t = PyTuple_New(r.present ? (r.q - r.p) / 2 : 0);
    if (t == NULL) return NULL;
    for (Py_ssize_t i = 0; r.present && r.p + 2 * i < r.q; i++) {
        PyObject *v = PyLong_FromLong((long)U16(b, r.p + 2 * i));
        if (v == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, v);
    }
    return t;
}

static PyObject *u8_tuple(Bytes b, Range r) {
    PyObject *t = PyTuple_New(r.present ? r.q - r.p : 0);
    if (t == NULL) return NULL;
    for (Py_ssize_t i = 0; r.present && r.p + i < r.q; i++)
        PyTuple_SET_ITEM(t, i, PyLong_FromLong(b[r.p + i])); /* small ints: cached, never NULL */
    return t;
}

static PyObject *ext_tuple(Bytes b, Py_ssize_t p, Py_ssize_t stop, Py_ssize_t count) {
    PyObject *t = PyTuple_New(count);
    if (t == NULL) return NULL;
    for (Py_ssize_t i = 0; p < stop; i++, p += 4 + U16(b, p + 2)) {
        PyObject *v = PyLong_FromLong((long)U16(b, p));
        if (v == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, v);
    }
    return t;
}

/* Cache key bytes: the ranges' bytes, each behind its 4-byte length (so the key is injective). */
static unsigned char *put_range(unsigned char *w, Bytes b, Range r) {
    Py_ssize_t n = r.present ? r.q - r.p : 0;
    *w++ = (unsigned char)(n >> 24), *w++ = (unsigned char)(n >> 16);
    *w++ = (unsigned char)(n >> 8), *w++ = (unsigned char)n;
    if (n) memcpy(w, b + r.p, (size_t)n);
    return w + n;
}

static unsigned char *put_exts(unsigned char *w, Bytes b, Py_ssize_t p, Py_ssize_t stop, Py_ssize_t count) {
    *w++ = (unsigned char)(count >> 8), *w++ = (unsigned char)count;
    for (; p < stop; p += 4 + U16(b, p + 2)) *w++ = b[p], *w++ = b[p + 1];
    return w;
}

/* The prints compute(pykey) gives, remembered in cache under key (a miss). New ref. */
static PyObject *remember(PyObject *cache, PyObject *key, PyObject *compute, PyObject *pykey) {
    PyObject *value = PyObject_CallOneArg(compute, pykey);
    if (value == NULL) return NULL;
    if (!PyTuple_Check(value) || PyTuple_GET_SIZE(value) != 3) {
        Py_DECREF(value);
        PyErr_SetString(PyExc_TypeError, "prints must be a 3-tuple");
        return NULL;
    }
    if (PyDict_GET_SIZE(cache) >= MAX_CACHE) PyDict_Clear(cache);
    if (PyDict_SetItem(cache, key, value) < 0) Py_CLEAR(value);
    return value;
}

/* str of the server name bytes as tls_hello does: decode (utf-8, backslashreplace), then lower(). */
static PyObject *sni_text(Bytes s, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n && s[i] < 0x80) i++;
    if (i < n) {
        PyObject *raw = PyUnicode_DecodeUTF8((const char *)s, n, "backslashreplace");
        if (raw == NULL) return NULL;
        PyObject *low = PyObject_CallMethod(raw, "lower", NULL);
        Py_DECREF(raw);
        return low;
    }
    PyObject *text = PyUnicode_New(n, 127);
    if (text == NULL) return NULL;
    Py_UCS1 *w = PyUnicode_1BYTE_DATA(text);
    for (i = 0; i < n; i++) w[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (Py_UCS1)(s[i] + 32) : s[i];
    return text;
}

static PyObject *alpn_list(Bytes b, Range r) {
    PyObject *list = PyList_New(0);
    if (list == NULL || !r.present) return list;
    for (Py_ssize_t p = r.p; p < r.q; p += 1 + b[p]) {
        PyObject *name = PyUnicode_DecodeUTF8((const char *)b + p + 1, b[p], "backslashreplace");
        if (name == NULL || PyList_Append(list, name) < 0) {
            Py_XDECREF(name);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(name);
    }
    return list;
}

/* tls_hello._client_hello, then tls.client_hello_facts(..., "t"). */
static int client_hello(Kernel *k, Bytes b, Py_ssize_t n, PyObject *facts) {
    Py_ssize_t p, end, q;
    if (!hello_start(b, n, 1, &p, &end) || p + 2 > end) return 0;
    q = p + 2 + U16(b, p);
    if (q > end || ((q - p) & 1)) return 0;
    Range ciphers = {p + 2, q, 1};
    if (q >= end || q + 1 + b[q] > end) return 0;
    p = q + 1 + b[q];
    Range sni = {0}, alpn_all = {0}, alpn0 = {0}, versions = {0}, groups = {0}, formats = {0}, sigs = {0};
    Py_ssize_t ext_start = 0, ext_stop = 0, count = 0;
    int ech = 0, sni_none = 1;
    if (p != end) {
        if (!extensions(b, p, end, &ext_start, &ext_stop)) return 0;
        for (p = ext_start; p < ext_stop; p = q, count++) {
            unsigned type = U16(b, p);
            Py_ssize_t d = p + 4;
            q = d + U16(b, p + 2);
            switch (type) {
            case 0x0000:
                if (sni_none && d < q) {
                    int r = server_name(b, d, q, &sni);
                    if (!r) return 0;
                    sni_none = r == 2;
                }
                break;
            case 0x0010:
                if (!alpn(b, d, q, &alpn_all, &alpn0)) return 0;
                break;
            case 0x002B:
                if (!list16(b, d, q, 0, &versions)) return 0;
                break;
            case 0x000A:
                if (!list16(b, d, q, 1, &groups)) return 0;
                break;
            case 0x000B:
                if (d >= q || d + 1 + b[d] > q) return 0;
                formats.p = d + 1, formats.q = d + 1 + b[d], formats.present = 1;
                break;
            case 0x000D:
                if (!list16(b, d, q, 1, &sigs)) return 0;
                break;
            case 0xFE0D:
            case 0xFFCE:
                ech = 1;
                break;
            }
        }
    }
    Range legacy = {4, 6, 1};
    Range *parts[] = {&legacy, &ciphers, &groups, &formats, &sigs, &versions, &alpn0};
    Py_ssize_t size = 2 + 1 + 2 * count;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
        size += 4 + (parts[i]->present ? parts[i]->q - parts[i]->p : 0);
    PyObject *key = PyBytes_FromStringAndSize(NULL, size);
    if (key == NULL) return -1;
    unsigned char *w = (unsigned char *)PyBytes_AS_STRING(key);
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) w = put_range(w, b, *parts[i]);
    *w++ = (unsigned char)alpn0.present;
    put_exts(w, b, ext_start, ext_stop, count);
    PyObject *prints = PyDict_GetItemWithError(k->client_cache, key);
    if (prints != NULL) {
        Py_INCREF(prints);
    } else if (!PyErr_Occurred()) {
        /* the key tuple of tls.client_hello_facts */
        PyObject *alpn_first = alpn0.present
                                   ? PyBytes_FromStringAndSize((const char *)b + alpn0.p, alpn0.q - alpn0.p)
                                   : Py_NewRef(Py_None);
        PyObject *pykey = alpn_first == NULL
                              ? NULL
                              : Py_BuildValue("(OiNNNNNNN)", k->t, (int)U16(b, 4), u16_tuple(b, ciphers),
                                              ext_tuple(b, ext_start, ext_stop, count), u16_tuple(b, groups),
                                              u8_tuple(b, formats), u16_tuple(b, sigs), u16_tuple(b, versions),
                                              alpn_first);
        if (pykey != NULL) {
            prints = remember(k->client_cache, key, k->client_prints, pykey);
            Py_DECREF(pykey);
        }
    }
    Py_DECREF(key);
    if (prints == NULL) return -1;
    PyObject *name = sni.present ? sni_text(b + sni.p, sni.q - sni.p) : Py_NewRef(Py_None);
    int rc = kc_set_attr(facts, k->s_sni, name);
    rc = rc < 0 ? rc : kc_set_attr(facts, k->s_alpn, alpn_list(b, alpn_all));
    rc = rc < 0 ? rc : PyObject_SetAttr(facts, k->s_ech, ech ? Py_True : Py_False);
    rc = rc < 0 ? rc : kc_set_attr(facts, k->s_versions, PySequence_List(PyTuple_GET_ITEM(prints, 0)));
    rc = rc < 0 ? rc : PyObject_SetAttr(facts, k->s_ja3, PyTuple_GET_ITEM(prints, 1));
    rc = rc < 0 ? rc : PyObject_SetAttr(facts, k->s_ja4, PyTuple_GET_ITEM(prints, 2));
    Py_DECREF(prints);
    return rc < 0 ? -1 : 1;
}

/* tls_hello._server_hello, then tls._server_hello_facts. */
static int server_hello(Kernel *k, Bytes b, Py_ssize_t n, PyObject *facts) {
    Py_ssize_t p, end, ext_start = 0, ext_stop = 0, count = 0;
    if (!hello_start(b, n, 2, &p, &end) || p + 3 > end) return 0;
    unsigned cipher = U16(b, p), selected = 0;
    int has_selected = 0;
    p += 3;
    if (p != end) {
        if (!extensions(b, p, end, &ext_start, &ext_stop)) return 0;
        for (p = ext_start; p < ext_stop; p += 4 + U16(b, p + 2), count++) {
            if (U16(b, p) == 0x002B) {
                if (U16(b, p + 2) < 2) return 0;
                selected = U16(b, p + 4), has_selected = 1;
            }
        }
    }
    PyObject *key = PyBytes_FromStringAndSize(NULL, 7 + 2 + 2 * count);
    if (key == NULL) return -1;
    unsigned char *w = (unsigned char *)PyBytes_AS_STRING(key);
    w[0] = b[4], w[1] = b[5], w[2] = (unsigned char)(cipher >> 8), w[3] = (unsigned char)cipher;
    w[4] = (unsigned char)has_selected, w[5] = (unsigned char)(selected >> 8), w[6] = (unsigned char)selected;
    put_exts(w + 7, b, ext_start, ext_stop, count);
    PyObject *prints = PyDict_GetItemWithError(k->server_cache, key);
    if (prints != NULL) {
        Py_INCREF(prints);
    } else if (!PyErr_Occurred()) {
        PyObject *sel = has_selected ? PyLong_FromLong((long)selected) : Py_NewRef(Py_None);
        PyObject *pykey = sel == NULL ? NULL
                                      : Py_BuildValue("(iNiN)", (int)U16(b, 4), sel, (int)cipher,
                                                      ext_tuple(b, ext_start, ext_stop, count));
        if (pykey != NULL) {
            prints = remember(k->server_cache, key, k->server_prints, pykey);
            Py_DECREF(pykey);
        }
    }
    Py_DECREF(key);
    if (prints == NULL) return -1;
    int rc = PyObject_SetAttr(facts, k->s_version, PyTuple_GET_ITEM(prints, 0));
    rc = rc < 0 ? rc : PyObject_SetAttr(facts, k->s_cipher, PyTuple_GET_ITEM(prints, 1));
    rc = rc < 0 ? rc : PyObject_SetAttr(facts, k->s_ja3s, PyTuple_GET_ITEM(prints, 2));
    Py_DECREF(prints);
    return rc < 0 ? -1 : 1;
}

#endif /* FLOWRADAR_TLSC_HELLO_H */
