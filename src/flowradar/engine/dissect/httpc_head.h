/* HTTP head parsing: the first line, the wanted header fields, and their text.
 * Part of _httpc.c: included once, by it, after what it uses. */
#ifndef FLOWRADAR_HTTPC_HEAD_H
#define FLOWRADAR_HTTPC_HEAD_H

/* ------------------------------------------------------------------ head parsing */

typedef struct {
    const unsigned char *p;
    Py_ssize_t len;
} Span;

static int is_method(const unsigned char *p, Py_ssize_t n) {
    for (int i = 0; i < N_METHODS; i++) {
        if (METHODS[i].len == n && METHODS[i].name[0] == p[0] && memcmp(METHODS[i].name, p, (size_t)n) == 0) {
            return 1;
        }
    }
    return 0;
}

static Span strip_blanks(Span s) {
    while (s.len && (s.p[0] == ' ' || s.p[0] == '\t')) {
        s.p++;
        s.len--;
    }
    while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t')) s.len--;
    return s;
}

static Span next_line(const unsigned char *head, Py_ssize_t n, Py_ssize_t *pos) {
    const unsigned char *nl = memchr(head + *pos, '\n', (size_t)(n - *pos));
    Py_ssize_t end = nl ? nl - head : n;
    Span line = {head + *pos, end - *pos};
    *pos = end + 1;
    while (line.len && line.p[line.len - 1] == '\r') line.len--;
    return line;
}

/* The head's first line, and the first value of each wanted header (http._head_fields). */
static Span parse_head(const unsigned char *head, Py_ssize_t n, Span fields[F_COUNT]) {
    for (int f = 0; f < F_COUNT; f++) fields[f].p = NULL;
    Py_ssize_t pos = 0;
    Span first = next_line(head, n, &pos);
    while (pos <= n) {
        Span line = next_line(head, n, &pos);
        if (line.len == 0 || line.p[0] == ' ' || line.p[0] == '\t') continue;
        const unsigned char *colon = memchr(line.p, ':', (size_t)line.len);
        if (colon == NULL) continue;
        Span name = strip_blanks((Span){line.p, colon - line.p});
        for (int f = 0; f < F_COUNT; f++) {
            if (fields[f].p != NULL || WANTED[f].len != name.len) continue;
            Py_ssize_t k = 0;
            while (k < name.len && Py_TOLOWER(name.p[k]) == (unsigned char)WANTED[f].name[k]) k++;
            if (k == name.len) {
                fields[f] = (Span){colon + 1, line.p + line.len - colon - 1};
                break;
            }
        }
    }
    return first;
}

/* http._text: blanks stripped, UTF-8 with replacement; lower-cased like str.lower() if asked. */
static PyObject *text(State *st, Span raw, int lower) {
    Span s = strip_blanks(raw);
    if (!lower) return PyUnicode_DecodeUTF8((const char *)s.p, s.len, "replace");
    int ascii = 1, upper = 0;
    for (Py_ssize_t i = 0; i < s.len; i++) {
        ascii &= s.p[i] < 0x80;
        upper |= s.p[i] >= 'A' && s.p[i] <= 'Z';
    }
    if (!ascii) {
        PyObject *decoded = PyUnicode_DecodeUTF8((const char *)s.p, s.len, "replace");
        if (decoded == NULL) return NULL;
        PyObject *out = PyObject_CallMethodNoArgs(decoded, st->attr[A_LOWER]);
        Py_DECREF(decoded);
        return out;
    }
    if (!upper) return PyUnicode_DecodeASCII((const char *)s.p, s.len, NULL);
    PyObject *out = PyUnicode_New(s.len, 127);
    if (out == NULL) return NULL;
    Py_UCS1 *w = PyUnicode_1BYTE_DATA(out);
    for (Py_ssize_t i = 0; i < s.len; i++) w[i] = (Py_UCS1)Py_TOLOWER(s.p[i]);
    return out;
}

static PyObject *text_or_none(State *st, Span raw) {
    if (raw.p == NULL) Py_RETURN_NONE;
    return text(st, raw, 0);
}

#endif /* FLOWRADAR_HTTPC_HEAD_H */
