/* Byte views with Python's slice semantics, and the small readers the checks share.
 * Part of _appidc.c: included once, by it, after what it uses. */
#ifndef FLOWRADAR_APPIDC_VIEW_H
#define FLOWRADAR_APPIDC_VIEW_H

typedef struct { const uint8_t *b; int64_t n; } V;               /* bytes b[0:n] */
typedef struct { long long orig, resp; int udp; } Q;             /* one call: ports, transport */

#define HAS(q, port) ((q)->orig == (port) || (q)->resp == (port))
#define IN(x, lo, hi) ((lo) <= (x) && (x) <= (hi))
#define DIGIT(c) IN((c), '0', '9')
#define UPPER(c) IN((c), 'A', 'Z')
#define LOWER(c) IN((c), 'a', 'z')
#define ALPHA(c) (UPPER(c) || LOWER(c))

static inline V sub(V v, int64_t o) { return o >= v.n ? (V){v.b, 0} : (V){v.b + o, v.n - o}; }
static inline V cut(V v, int64_t k) { return (V){v.b, k < v.n ? k : v.n}; }  /* v[:k] */
static inline int get(V v, int64_t i) { return 0 <= i && i < v.n ? v.b[i] : -1; }  /* -1: past the end */
/* int.from_bytes(p[o:o+k], "big"): a short slice gives the bytes that are there */
static inline uint64_t be(V v, int64_t o, int k) { return kc_be(v.b, v.n, o, k); }
static inline int64_t u16(V v, int64_t o) { return (int64_t)be(v, o, 2); }
static inline int64_t u32(V v, int64_t o) { return (int64_t)be(v, o, 4); }
static inline int eq_at(V v, int64_t o, const char *s, int64_t k) {  /* p[o:o+k] == s */
    return o >= 0 && o + k <= v.n && memcmp(v.b + o, s, (size_t)k) == 0;
}
#define STARTS(v, lit) eq_at((v), 0, (lit), (int64_t)sizeof(lit) - 1)
#define IS(v, lit) ((v).n == (int64_t)sizeof(lit) - 1 && STARTS((v), lit))
static int64_t find(V v, const char *s, int64_t k) {
    for (int64_t i = 0; i + k <= v.n; i++)
        if (v.b[i] == (uint8_t)s[0] && memcmp(v.b + i, s, (size_t)k) == 0) return i;
    return -1;
}
#define CONTAINS(v, lit) (find((v), (lit), (int64_t)sizeof(lit) - 1) >= 0)
static inline int up(int c) { return LOWER(c) ? c - 32 : c; }
static int ieq_at(V v, int64_t o, const char *s) {  /* case-insensitive prefix at o; s in upper case */
    for (int64_t i = 0; s[i]; i++)
        if (o + i >= v.n || up(v.b[o + i]) != (uint8_t)s[i]) return 0;
    return 1;
}
static int ieq(V v, const char *s) { return v.n == (int64_t)strlen(s) && ieq_at(v, 0, s); }
static int icontains(V v, const char *s) {
    for (int64_t i = 0; i < v.n; i++)
        if (ieq_at(v, i, s)) return 1;
    return 0;
}
static int in_words(V v, const char *const *words) {
    for (; *words; words++)
        if (v.n == (int64_t)strlen(*words) && memcmp(v.b, *words, (size_t)v.n) == 0) return 1;
    return 0;
}
static int64_t run(V v, int64_t o, int (*cls)(int), int64_t cap) {  /* length of a run of cls, <= cap */
    int64_t i = o;
    while (i < v.n && i - o < cap && cls(v.b[i])) i++;
    return i - o;
}
static int digit_c(int c) { return DIGIT(c); }

static int looks_random(V b) {
    uint8_t seen[256] = {0};
    int64_t distinct = 0, high = 0, odd = 0;
    for (int64_t i = 0; i < b.n; i++) {
        int c = b.b[i];
        distinct += !seen[c];
        seen[c] = 1;
        high |= c >= 0x80;
        odd |= c >= 0x7F || c < 0x20;
    }
    if (distinct * 2 <= b.n) return 0;
    return b.n >= 16 ? (int)high : (int)odd;
}

/* QUIC varint at o: value (-1 if cut), *o advanced */
static int64_t varint(V p, int64_t *o) {
    int64_t k = *o < p.n ? 1 << (p.b[*o] >> 6) : 9;
    if (*o + k > p.n) return -1;
    uint64_t x = be(p, *o, (int)k) & ((UINT64_C(1) << (8 * k - 2)) - 1);
    *o += k;
    return (int64_t)x;
}

static int ber_len(V p, int64_t o, int64_t *val, int64_t *next) {  /* 0 when malformed */
    int first = o < p.n ? p.b[o] : 0x80;
    if (first < 0x80) { *val = first; *next = o + 1; return 1; }
    int k = first & 0x7F;
    if (!IN(k, 1, 4) || o + 1 + k > p.n) return 0;
    *val = (int64_t)be(p, o + 1, k);
    *next = o + 1 + k;
    return 1;
}

#endif /* FLOWRADAR_APPIDC_VIEW_H */
