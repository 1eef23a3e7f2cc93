/* The text signature checks of appid_text.py: status and request lines, syslog, mail and FTP.
 * Part of _appidc.c: included once, by it, after what it uses. */
#ifndef FLOWRADAR_APPIDC_TEXT_H
#define FLOWRADAR_APPIDC_TEXT_H

/* --- text protocols (appid_text) -------------------------------------------------------------------- */

static const char *const HTTP_METHODS[] = {"GET", "POST", "HEAD", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH",
                                           "CONNECT", "PROPFIND", "MKCOL", NULL};
static const char *const SIP_METHODS[] = {"INVITE", "REGISTER", "OPTIONS", "ACK", "BYE", "CANCEL", "SUBSCRIBE",
                                          "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE", "PRACK", NULL};
static const char *const RTSP_METHODS[] = {"OPTIONS", "DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "ANNOUNCE",
                                           "RECORD", "GET_PARAMETER", "SET_PARAMETER", NULL};
static int header_c(int c) { return ALPHA(c) || c == '-'; }
static int token_c(int c) { return UPPER(c) || c == '_' || c == '-'; }
static int tag_c(int c) { return ALPHA(c) || DIGIT(c) || c == '.'; }
static int print_c(int c) { return IN(c, 0x21, 0x7E); }
static int hex_c(int c) { return DIGIT(c) || IN(c, 'a', 'f') || IN(c, 'A', 'F'); }

static int status_line(V line) {  /* _STATUS: (HTTP/1\.[01]|RTSP/[12]\.0|SIP/2\.0) [1-6][0-9][0-9] */
    int kind = NONE;
    int64_t o = 0;
    if (STARTS(line, "HTTP/1.") && (get(line, 7) == '0' || get(line, 7) == '1')) kind = P_HTTP, o = 8;
    else if (STARTS(line, "RTSP/") && IN(get(line, 5), '1', '2') && eq_at(line, 6, ".0", 2)) kind = P_RTSP, o = 8;
    else if (STARTS(line, "SIP/2.0")) kind = P_SIP, o = 7;
    if (kind == NONE || get(line, o) != ' ' || !IN(get(line, o + 1), '1', '6') || !DIGIT(get(line, o + 2)) ||
        !DIGIT(get(line, o + 3)))
        return NONE;
    return kind;
}

static int64_t pri(V p, int64_t o) {  /* _PRI at o: <0-191> without leading zeros; offset after '>' or -1 */
    if (get(p, o) != '<') return -1;
    int d1 = get(p, o + 1), d2 = get(p, o + 2), d3 = get(p, o + 3);
    if (DIGIT(d1) && d2 == '>') return o + 3;
    if (IN(d1, '1', '9') && DIGIT(d2) && d3 == '>') return o + 4;
    if (d1 == '1' && get(p, o + 4) == '>' && ((d2 == '9' && (d3 == '0' || d3 == '1')) || (IN(d2, '0', '8') && DIGIT(d3))))
        return o + 5;
    return -1;
}

static int syslog_header(V p) {  /* _SYSLOG.match(p) */
    int64_t o = 0;
    if (p.n && IN(p.b[0], '1', '9')) {
        int64_t k = run(p, 0, digit_c, 7);
        if (k > 6 || get(p, k) != ' ') return 0;
        o = k + 1;
    }
    int64_t a = pri(p, o);
    if (a < 0) return 0;
    if (get(p, a) == '1' && get(p, a + 1) == ' ' && (DIGIT(get(p, a + 2)) || get(p, a + 2) == '-')) return 1;
    int c4 = get(p, a + 4);
    return UPPER(get(p, a)) && LOWER(get(p, a + 1)) && LOWER(get(p, a + 2)) && get(p, a + 3) == ' ' &&
           (c4 == ' ' || IN(c4, '0', '3')) && DIGIT(get(p, a + 5)) && get(p, a + 6) == ' ';
}

static int request_line(V line, const V *after, Q *q) {  /* appid_text._request_line */
    V method = line, rest = {line.b, 0}, target = {line.b, 0}, version;
    for (int64_t i = 0; i < line.n; i++)
        if (line.b[i] == ' ') { method = cut(line, i); rest = sub(line, i + 1); break; }
    version = rest;
    for (int64_t i = rest.n - 1; i >= 0; i--)
        if (rest.b[i] == ' ') { target = cut(rest, i); version = sub(rest, i + 1); break; }
    int http = STARTS(version, "HTTP/") || (line.n >= 8 && (eq_at(line, line.n - 8, "HTTP/1.1", 8) ||
                                                            eq_at(line, line.n - 8, "HTTP/1.0", 8)));
    int slash = rest.n && rest.b[0] == '/';
    int bare = 0, cut_short = slash && (after == NULL || memchr(rest.b, ' ', (size_t)rest.n) == NULL);
    if (rest.n == 0 && after != NULL) {  /* _HEADER: [A-Za-z-]{2,40}: */
        int64_t k = run(*after, 0, header_c, 41);
        bare = IN(k, 2, 40) && eq_at(*after, k, ": ", 2);
    }
    if (http || (in_words(method, HTTP_METHODS) && (cut_short || bare))) {
        if (IS(method, "M-SEARCH") || (IS(method, "NOTIFY") && IS(target, "*")) || (q->udp && HAS(q, 1900)))
            return P_SSDP;
        if (IS(method, "BT-SEARCH") || (CONTAINS(target, "/announce?") && CONTAINS(target, "info_hash=")))
            return P_BITTORRENT;
        if ((IS(method, "CONNECT") && !slash) || STARTS(target, "http://") || STARTS(target, "https://"))
            return P_HTTP_PROXY;
        return IN(method.n, 2, 20) && UPPER(method.b[0]) && run(method, 1, token_c, 20) == method.n - 1 ? P_HTTP : NONE;
    }
    if ((IS(version, "RTSP/1.0") || IS(version, "RTSP/2.0")) && in_words(method, RTSP_METHODS)) return P_RTSP;
    int sip_uri = STARTS(target, "sip:") || STARTS(target, "sips:") || STARTS(target, "tel:");
    return IS(version, "SIP/2.0") && in_words(method, SIP_METHODS) && sip_uri ? P_SIP : NONE;
}

static int mail_port(long long port) {
    switch (port) {
    case 21: case 990: return P_FTP;
    case 25: case 465: case 587: return P_SMTP;
    case 110: case 995: return P_POP3;
    default: return NONE;
    }
}

static int ftp_port_command(V r) {  /* [0-9]+(?:,[0-9]+){5}$ */
    int64_t o = 0;
    for (int g = 0; g < 6; g++) {
        if (g && get(r, o++) != ',') return 0;
        int64_t k = run(r, o, digit_c, r.n);
        if (k == 0) return 0;
        o += k;
    }
    return o == r.n;
}

static int imap_command(V line) {  /* _IMAP, case-insensitive */
    int64_t i = 0;
    while (i < line.n && (ALPHA(line.b[i]) || line.b[i] == '.')) i++;
    if (!DIGIT(get(line, i))) return 0;
    int64_t k = run(line, 0, tag_c, 17);
    if (!IN(k, 1, 16) || get(line, k) != ' ') return 0;
    V r = sub(line, k + 1);
    return ieq(r, "CAPABILITY") || ieq(r, "STARTTLS") || ieq(r, "LOGOUT") || ieq(r, "NOOP") ||
           ieq_at(r, 0, "LOGIN ") || ieq_at(r, 0, "AUTHENTICATE ") || ieq_at(r, 0, "ID ");
}

static int mail_ftp(V line, Q *q) {  /* appid_text._mail_ftp */
    int hint = mail_port(q->resp);
    if (hint == NONE) hint = mail_port(q->orig);
    if (STARTS(line, "220 ") || STARTS(line, "220-")) {
        if (icontains(line, "SMTP") || icontains(line, "MAIL")) return P_SMTP;
        return icontains(line, "FTP") ? P_FTP : hint == P_FTP || hint == P_SMTP ? hint : NONE;
    }
    if (STARTS(line, "+OK")) return (get(line, 3) == ' ' && !HAS(q, 6379)) || hint == P_POP3 ? P_POP3 : NONE;
    if (STARTS(line, "* OK") || STARTS(line, "* PREAUTH")) return P_IMAP;
    if (((ieq_at(line, 0, "EHLO ") || ieq_at(line, 0, "HELO ")) && line.n > 5 && run(line, 5, print_c, line.n) == line.n - 5) ||
        ieq_at(line, 0, "MAIL FROM:<") || ieq_at(line, 0, "MAIL FROM: <") || ieq(line, "STARTTLS"))
        return P_SMTP;
    if (ieq(line, "AUTH TLS") || ieq(line, "AUTH SSL") || ieq(line, "FEAT") || ieq(line, "SYST") ||
        ieq(line, "PASV") || ieq(line, "EPSV") || (ieq_at(line, 0, "PORT ") && ftp_port_command(sub(line, 5))))
        return P_FTP;
    if (ieq(line, "CAPA") || ieq(line, "STLS")) return P_POP3;
    if (ieq_at(line, 0, "APOP ")) {  /* APOP [!-~]+ [0-9a-f]{32}$ */
        int64_t k = run(line, 5, print_c, line.n);
        if (k >= 1 && get(line, 5 + k) == ' ' && line.n == 5 + k + 1 + 32 && run(line, 6 + k, hex_c, 32) == 32)
            return P_POP3;
    }
    if (ieq_at(line, 0, "USER ") || ieq_at(line, 0, "PASS ") || ieq_at(line, 0, "AUTH ") || ieq(line, "QUIT"))
        return hint;
    return imap_command(line) ? P_IMAP : NONE;
}

static int c_text(V p, Q *q) {  /* appid_text._text */
    if (p.n < 4 || !(0x20 < p.b[0] && p.b[0] < 0x7F)) return NONE;
    if (STARTS(p, "SSH-") && DIGIT(get(p, 4))) return P_SSH;
    V head = cut(p, 1024);
    const uint8_t *nl = memchr(head.b, '\n', (size_t)head.n);
    int64_t end = nl ? nl - p.b : -1;
    V line = head;
    if (end >= 0) {
        line = cut(p, end);
        while (line.n && line.b[line.n - 1] == '\r') line.n--;
    }
    int kind = status_line(line);
    if (kind != NONE) return kind == P_HTTP && q->udp ? P_SSDP : kind;
    if (syslog_header(p) || (HAS(q, 514) && pri(p, 0) >= 0 && IN(get(p, pri(p, 0)), 0x20, 0x7E))) return P_SYSLOG;
    V after = sub(p, end + 1);
    int found = request_line(line, end >= 0 ? &after : NULL, q);
    return found != NONE || q->udp || end < 0 ? found : mail_ftp(line, q);
}

#endif /* FLOWRADAR_APPIDC_TEXT_H */
