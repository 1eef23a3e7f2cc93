/* Compiled application-protocol classifier: appid.guess_by_payload and guess_by_port in one call each.
 *
 * A line-by-line port of the signature checks in appid_binary.py and appid_text.py (the readable
 * reference and the specification; tests/engine/dissect/test_appid_kernel.py holds the two to the
 * same answer on every input). The checks run in the reference's order and keep its Python
 * semantics: a slice past the end is short (be() reads what is there, as int.from_bytes does). No
 * check of the reference raises (each subscript is guarded), so the chain always runs on to the next
 * check, here as there. The regular expressions of the reference are written out as the
 * deterministic scans they amount to.
 *
 * Every read goes through the view's length. No global mutable state: the protocol names live in
 * the module state. Inputs the kernel does not take (payload not exactly bytes, a port not an int
 * that fits a C long long, transport not a str) raise TypeError, and appid falls back to Python. */
#include "kernel_common.h"

enum { NONE = -1, P_BITTORRENT, P_DHCP, P_DHCPV6, P_DNS, P_DTLS, P_FTP, P_HTTP, P_HTTP_PROXY, P_IMAP,
       P_IPSEC, P_KERBEROS, P_LDAP, P_LLMNR, P_MDNS, P_MQTT, P_MYSQL, P_NETBIOS, P_NTP, P_OPENVPN, P_POP3,
       P_POSTGRESQL, P_QUIC, P_RDP, P_REDIS, P_RTSP, P_SIP, P_SMB, P_SMTP, P_SNMP, P_SOCKS, P_SSDP,
       P_SSH, P_STUN, P_SYSLOG, P_TELNET, P_TLS, P_WEBRTC, P_WIREGUARD, N_PROTOCOLS };
static const char *const NAMES[N_PROTOCOLS] = {
    "bittorrent", "dhcp", "dhcpv6", "dns", "dtls", "ftp", "http", "http-proxy", "imap", "ipsec",
    "kerberos", "ldap", "llmnr", "mdns", "mqtt", "mysql", "netbios", "ntp", "openvpn", "pop3",
    "postgresql", "quic", "rdp", "redis", "rtsp", "sip", "smb", "smtp", "snmp", "socks", "ssdp", "ssh",
    "stun", "syslog", "telnet", "tls", "webrtc", "wireguard"};

#include "appidc_view.h"   /* byte views with Python's slice semantics */
#include "appidc_binary.h" /* the checks of appid_binary.py */
#include "appidc_text.h"   /* the checks of appid_text.py */

/* --- dispatch ----------------------------------------------------------------------------------------- */

typedef int (*Check)(V, Q *);
static const Check TCP_CHECKS[] = {c_tls, c_text, c_magic, c_rdp, c_postgresql, c_mysql, c_kerberos,
                                   c_ldap, c_snmp, c_dns, c_openvpn, c_stun, c_socks, NULL};
static const Check UDP_CHECKS[] = {c_quic, c_dtls, c_stun, c_dns, c_magic, c_dhcpv6, c_ntp, c_ipsec,
                                   c_snmp, c_ldap, c_kerberos, c_text, c_openvpn, c_wireguard, NULL};

static int tcp_port(long long port) {  /* appid_ports.TCP_PORTS */
    switch (port) {
    case 20: case 21: case 989: case 990: return P_FTP;
    case 22: return P_SSH;
    case 23: case 992: return P_TELNET;
    case 25: case 465: case 587: case 2525: return P_SMTP;
    case 53: return P_DNS;
    case 80: case 8000: case 8008: case 8080: return P_HTTP;
    case 88: return P_KERBEROS;
    case 110: case 995: return P_POP3;
    case 139: return P_NETBIOS;
    case 143: case 993: return P_IMAP;
    case 389: case 636: case 3268: case 3269: return P_LDAP;
    case 443: case 853: case 8443: return P_TLS;
    case 445: return P_SMB;
    case 554: case 8554: return P_RTSP;
    case 601: case 6514: return P_SYSLOG;
    case 1080: case 9050: return P_SOCKS;
    case 1194: return P_OPENVPN;
    case 1883: case 8883: return P_MQTT;
    case 3128: case 8118: return P_HTTP_PROXY;
    case 3306: return P_MYSQL;
    case 3389: return P_RDP;
    case 3478: case 5349: return P_STUN;
    case 5060: case 5061: return P_SIP;
    case 5432: return P_POSTGRESQL;
    case 5355: return P_LLMNR;
    case 6379: return P_REDIS;
    case 6881: case 6882: case 6883: case 6884: case 6885: case 6886: case 6887: case 6888: case 6889:
        return P_BITTORRENT;
    default: return NONE;
    }
}

static int udp_port(long long port) {  /* appid_ports.UDP_PORTS */
    switch (port) {
    case 53: return P_DNS;
    case 67: case 68: return P_DHCP;
    case 88: return P_KERBEROS;
    case 123: return P_NTP;
    case 137: case 138: return P_NETBIOS;
    case 161: case 162: return P_SNMP;
    case 389: return P_LDAP;
    case 443: return P_QUIC;
    case 500: case 4500: return P_IPSEC;
    case 514: return P_SYSLOG;
    case 546: case 547: return P_DHCPV6;
    case 1194: return P_OPENVPN;
    case 1900: return P_SSDP;
    case 3389: return P_RDP;
    case 3478: case 5349: case 19302: return P_STUN;
    case 5060: return P_SIP;
    case 5353: return P_MDNS;
    case 5355: return P_LLMNR;
    case 6771: case 6881: return P_BITTORRENT;
    case 51820: return P_WIREGUARD;
    default: return NONE;
    }
}

/* --- the module ----------------------------------------------------------------------------------------- */

typedef struct { PyObject *names; } State;  /* tuple of interned protocol names, by enum value */
#define STATE_REFS(X) X(names)
KC_MODULE_GC(State, STATE_REFS)

/* 0 tcp, 1 udp, 2 another str; -1 (TypeError set) when the arguments are not what the kernel takes */
static int parse(PyObject *const *args, Py_ssize_t nargs, Py_ssize_t want, Q *q) {
    if (nargs != want) {
        PyErr_Format(PyExc_TypeError, "expected %zd arguments", want);
        return -1;
    }
    for (int i = 1; i <= 2; i++)
        if (!PyLong_CheckExact(args[i]) && !PyBool_Check(args[i])) {
            PyErr_SetString(PyExc_TypeError, "ports must be int");
            return -1;
        }
    q->orig = PyLong_AsLongLong(args[1]);
    q->resp = q->orig == -1 && PyErr_Occurred() ? -1 : PyLong_AsLongLong(args[2]);
    if (q->resp == -1 && PyErr_Occurred()) {
        PyErr_SetString(PyExc_TypeError, "port out of range");
        return -1;
    }
    PyObject *t = args[0];
    if (!PyUnicode_CheckExact(t)) {
        PyErr_SetString(PyExc_TypeError, "transport must be str");
        return -1;
    }
    q->udp = PyUnicode_CompareWithASCIIString(t, "udp") == 0;
    return q->udp ? 1 : PyUnicode_CompareWithASCIIString(t, "tcp") == 0 ? 0 : 2;
}

static PyObject *name(PyObject *module, int proto) {
    if (proto == NONE) Py_RETURN_NONE;
    PyObject *s = PyTuple_GET_ITEM(((State *)PyModule_GetState(module))->names, proto);
    return Py_NewRef(s);
}

static PyObject *guess(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    Q q;
    int transport = parse(args, nargs, 4, &q);
    if (transport < 0) return NULL;
    if (!PyBytes_CheckExact(args[3])) {
        PyErr_SetString(PyExc_TypeError, "payload must be bytes");
        return NULL;
    }
    V p = {(const uint8_t *)PyBytes_AS_STRING(args[3]), PyBytes_GET_SIZE(args[3])};
    if (p.n == 0 || transport == 2) Py_RETURN_NONE;
    for (const Check *c = transport ? UDP_CHECKS : TCP_CHECKS; *c; c++) {
        int found = (*c)(p, &q);
        if (found != NONE) return name(module, found);
    }
    Py_RETURN_NONE;
}

static PyObject *by_port(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    Q q;
    int transport = parse(args, nargs, 3, &q);
    if (transport < 0) return NULL;
    if (transport == 2) Py_RETURN_NONE;
    int (*table)(long long) = transport ? udp_port : tcp_port;
    int resp = table(q.resp), orig = table(q.orig);
    if (resp == NONE || orig == NONE) return name(module, resp == NONE ? orig : resp);
    int orig_first = (q.orig >= 1024) < (q.resp >= 1024) || ((q.orig >= 1024) == (q.resp >= 1024) && q.orig < q.resp);
    return name(module, orig_first ? orig : resp);  /* the well-known port (below 1024), then the lower */
}

static PyMethodDef METHODS[] = {
    {"guess_by_payload", (PyCFunction)(void (*)(void))guess, METH_FASTCALL,
     "guess_by_payload(transport, orig_port, resp_port, payload) -> str | None\n\n"
     "appid.guess_by_payload's signature checks in one call; TypeError for inputs it does not take."},
    {"guess_by_port", (PyCFunction)(void (*)(void))by_port, METH_FASTCALL,
     "guess_by_port(transport, orig_port, resp_port) -> str | None\n\n"
     "appid_ports.guess_by_port over the same tables; TypeError for inputs it does not take."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {
    PyModuleDef_HEAD_INIT, "_appidc", "Compiled application-protocol classifier (see appid.py).",
    sizeof(State), METHODS, NULL, module_traverse, module_clear, module_free,
};

PyMODINIT_FUNC PyInit__appidc(void) {
    PyObject *m = PyModule_Create(&MODULE);
    if (m == NULL) return NULL;
    State *st = PyModule_GetState(m);
    st->names = PyTuple_New(N_PROTOCOLS);
    for (int i = 0; st->names && i < N_PROTOCOLS; i++) {
        PyObject *s = PyUnicode_InternFromString(NAMES[i]);
        if (s == NULL) Py_CLEAR(st->names);
        else PyTuple_SET_ITEM(st->names, i, s);
    }
    if (st->names == NULL || PyModule_AddObjectRef(m, "PROTOCOLS", st->names) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
