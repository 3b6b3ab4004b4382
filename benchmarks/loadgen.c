/*
 * loadgen: a neutral, single-threaded (epoll) TCP echo load generator.
 *
 * Modes
 *   pingpong  -c N connections, each sends a -s byte message and waits for the
 *             whole echo before sending the next.  Reports round trips/s and
 *             p50/p99/max latency (microseconds).
 *   bulk      -c N connections, each streams a deterministic byte pattern
 *             (-s bytes per write, at most --window bytes unechoed) and checks
 *             every echoed byte against the pattern by stream offset.
 *             Reports MB/s of verified echo.
 *   churn     keeps -c N connections in flight: connect, send -s bytes, read
 *             the echo, half-close, wait for the server's FIN, close, repeat.
 *             Reports connections/s and p50/p99 connection lifetime.
 *   idle      opens -c N connections (--inflight at a time), pings each once,
 *             prints {"phase":"holding",...} and holds them until stdin is
 *             readable (a line or EOF) or -t seconds pass; then pings every
 *             connection again (all must still echo) and closes them.
 *
 * Every byte received is checked against what was sent on that connection (a
 * pattern indexed by stream offset, shifted per connection), so reordering,
 * cross-talk, loss or corruption are reported as errors.
 *
 * Output: one JSON line on stdout (idle also prints the "holding" line first).
 * Exit status: 0 when no error, 1 when any protocol/socket error happened,
 * 2 on bad usage, 3 on an internal setup failure.  alarm() bounds the run.
 * Loopback only: the target host must be a loopback address.  --source A binds
 * every connection to local address A first (another 127.x.y.z: a fresh set of
 * ephemeral ports, so that several processes can hold 100,000 connections).
 *
 * Build: gcc -O2 -o loadgen loadgen.c
 * Usage: loadgen --mode pingpong --host 127.0.0.1 --port 9000 -c 100 -t 5
 *
 * TLS: gcc -O2 -DLOADGEN_TLS -o loadgen_tls loadgen.c -lssl -lcrypto builds a
 * loadgen that speaks TLS (OpenSSL, no certificate check: it measures the
 * server) on every connection: a full handshake after connect (no session
 * resumption, so churn counts full handshakes), SSL_read/SSL_write for the
 * echo, and close_notify before the FIN.  Same modes, same checks.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef LOADGEN_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#endif

enum { M_PINGPONG, M_BULK, M_CHURN, M_IDLE };
static const char *mode_names[] = {"pingpong", "bulk", "churn", "idle"};

/* Connection states. */
enum {
    S_FREE,       /* slot unused */
    S_CONNECTING, /* non-blocking connect in progress */
    S_SENDING,    /* message partly written (pingpong/churn/idle) */
    S_WAITING,    /* message sent, waiting for its echo */
    S_STREAMING,  /* bulk: writing and reading concurrently */
    S_HOLDING,    /* idle: established, pinged, held */
    S_CLOSING,    /* our FIN sent, reading until the server's FIN */
    S_HANDSHAKING, /* TLS: connected, handshake in progress */
};

#define PLEN 65521u                /* pattern period (prime) */
#define MAXCHUNK (256u * 1024u)    /* largest single read/write */
#define HIST_US 1000000u           /* latency histogram: 1 us buckets up to 1 s */
#define STDIN_TAG 0xffffffffu

typedef struct {
    int fd;
    int state;
    uint32_t events;     /* interest currently registered */
    uint64_t shift;      /* pattern offset of this connection's byte 0 */
    uint64_t sent;       /* stream bytes written */
    uint64_t recvd;      /* stream bytes read and verified */
    uint64_t msg_end;    /* pingpong: stream offset where the current message ends */
    double t0;           /* start of the current round trip / connection */
#ifdef LOADGEN_TLS
    SSL *ssl;
#endif
} conn_t;

#ifdef LOADGEN_TLS
static SSL_CTX *tls_ctx;
#endif

/* Options. */
static int mode = -1;
static const char *host = "127.0.0.1";
static int port = 0;
static int nconns = 1;
static double seconds = 5.0;
static double warmup = 0.5;
static size_t size = 0;
static uint64_t window = 4u << 20;
static int inflight = 256;
static double connect_timeout = 30.0;
static double drain_timeout = 5.0;

/* State. */
static int ep = -1;
static conn_t *conns;
static unsigned char *pat; /* PLEN + MAXCHUNK bytes: pat[i] == pat[i % PLEN] */
static unsigned char *rbuf;
static struct sockaddr_storage addr;
static socklen_t addrlen;
static struct sockaddr_storage source_addr; /* --source: bind here before connect */
static socklen_t source_len;
static uint32_t *hist;
static uint64_t hist_over, hist_n;
static double lat_max;
static uint64_t n_errors;
static char first_error[256];
static uint64_t counted_ops;    /* round trips / connections completed in the window */
static uint64_t counted_bytes;  /* verified bytes received in the window */
static uint64_t verified_total; /* every verified byte */
static uint64_t conn_counter;   /* connections ever opened (churn: for the shift) */
static double t_warm, t_end;
static int measuring_stopped;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void error_at(conn_t *c, const char *fmt, ...) {
    n_errors++;
    if (!first_error[0]) {
        va_list ap;
        va_start(ap, fmt);
        int n = snprintf(first_error, sizeof first_error, "conn %ld: ", c ? (long)(c - conns) : -1L);
        vsnprintf(first_error + n, sizeof first_error - n, fmt, ap);
        va_end(ap);
    }
}

static void die(const char *what) {
    fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
    exit(3);
}

static void record_latency(double seconds_) {
    double us = seconds_ * 1e6;
    if (us > lat_max) lat_max = us;
    if (us < HIST_US) hist[(uint32_t)us]++;
    else hist_over++;
    hist_n++;
}

static double percentile(double p) {
    if (!hist_n) return 0;
    uint64_t want = (uint64_t)(p * hist_n);
    if (want >= hist_n) want = hist_n - 1;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < HIST_US; i++) {
        seen += hist[i];
        if (seen > want) return i + 0.5;
    }
    return lat_max;
}

static void set_interest(conn_t *c, uint32_t events) {
    if (c->events == events) return;
    struct epoll_event ev = {.events = events, .data.u32 = (uint32_t)(c - conns)};
    if (epoll_ctl(ep, c->events ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
    c->events = events;
}

static void close_conn(conn_t *c) {
#ifdef LOADGEN_TLS
    if (c->ssl) SSL_free(c->ssl);
    c->ssl = NULL;
#endif
    if (c->fd >= 0) close(c->fd); /* also leaves the epoll set */
    c->fd = -1;
    c->events = 0;
    c->state = S_FREE;
}

static void fail_conn(conn_t *c, const char *what, int err) {
    error_at(c, "%s: %s", what, strerror(err));
    close_conn(c);
}

/* Start a non-blocking connect in slot c. */
static void open_conn(conn_t *c) {
    int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fail_conn(c, "socket", errno);
        return;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (source_len) {
#ifdef IP_BIND_ADDRESS_NO_PORT
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one); /* the port at connect() */
#endif
        if (bind(fd, (struct sockaddr *)&source_addr, source_len) < 0) {
            c->fd = fd;
            fail_conn(c, "bind", errno);
            return;
        }
    }
    c->fd = fd;
    c->events = 0;
    c->sent = c->recvd = c->msg_end = 0;
    c->shift = (conn_counter++ * 7919u + 17u) % PLEN;
    c->t0 = now();
    c->state = S_CONNECTING;
    if (connect(fd, (struct sockaddr *)&addr, addrlen) < 0 && errno != EINPROGRESS) {
        fail_conn(c, "connect", errno);
        return;
    }
    set_interest(c, EPOLLOUT);
}

/* Write stream bytes [c->sent, limit) as far as the kernel takes them.  0 ok, -1 failed. */
static int write_upto(conn_t *c, uint64_t limit) {
    while (c->sent < limit) {
        uint64_t n = limit - c->sent;
        if (n > MAXCHUNK) n = MAXCHUNK;
        if (n > size && mode == M_BULK) n = size;
#ifdef LOADGEN_TLS
        int tw = SSL_write(c->ssl, pat + (c->shift + c->sent) % PLEN, (int)n);
        if (tw <= 0) {
            int e = SSL_get_error(c->ssl, tw);
            if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) return 0;
            fail_conn(c, "SSL_write", e == SSL_ERROR_SYSCALL ? errno : EPROTO);
            return -1;
        }
        ssize_t w = tw;
#else
        ssize_t w = send(c->fd, pat + (c->shift + c->sent) % PLEN, n, MSG_NOSIGNAL);
#endif
        if (w < 0) {
            if (errno == EAGAIN || errno == EINTR) return 0;
            fail_conn(c, "send", errno);
            return -1;
        }
        c->sent += (uint64_t)w;
    }
    return 0;
}

/* Read what is there and verify it.  Returns bytes read, 0 on EOF, -1 on EAGAIN, -2 failed. */
static ssize_t read_verify(conn_t *c) {
#ifdef LOADGEN_TLS
    int tr = SSL_read(c->ssl, rbuf, (int)MAXCHUNK);
    if (tr <= 0) {
        int e = SSL_get_error(c->ssl, tr);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) return -1;
        if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && errno == 0)) return 0; /* the end */
        fail_conn(c, "SSL_read", e == SSL_ERROR_SYSCALL ? errno : EPROTO);
        return -2;
    }
    ssize_t r = tr;
#else
    ssize_t r = recv(c->fd, rbuf, MAXCHUNK, 0);
#endif
    if (r < 0) {
        if (errno == EAGAIN || errno == EINTR) return -1;
        fail_conn(c, "recv", errno);
        return -2;
    }
    if (r == 0) return 0;
    if (c->recvd + (uint64_t)r > c->sent) {
        error_at(c, "received %lld bytes more than sent", (long long)(c->recvd + r - c->sent));
        close_conn(c);
        return -2;
    }
    if (memcmp(rbuf, pat + (c->shift + c->recvd) % PLEN, (size_t)r) != 0) {
        size_t i = 0;
        while (i < (size_t)r && rbuf[i] == pat[(c->shift + c->recvd + i) % PLEN]) i++;
        error_at(c, "echo mismatch at stream offset %llu", (unsigned long long)(c->recvd + i));
        close_conn(c);
        return -2;
    }
    c->recvd += (uint64_t)r;
    verified_total += (uint64_t)r;
    return r;
}

/* Half-close and wait for the server's FIN. */
static void start_closing(conn_t *c) {
#ifdef LOADGEN_TLS
    SSL_shutdown(c->ssl); /* our close_notify (the server's comes with its FIN) */
#endif
    if (shutdown(c->fd, SHUT_WR) < 0) {
        fail_conn(c, "shutdown", errno);
        return;
    }
    c->state = S_CLOSING;
    set_interest(c, EPOLLIN);
}

/* Send the next message of pingpong/churn/idle. */
static void send_message(conn_t *c) {
    c->msg_end = c->sent + size;
    c->t0 = now();
    c->state = S_SENDING;
    if (write_upto(c, c->msg_end) < 0) return;
    if (c->sent == c->msg_end) {
        c->state = S_WAITING;
        set_interest(c, EPOLLIN);
    } else {
        set_interest(c, EPOLLIN | EPOLLOUT);
    }
}

static int in_window(double t) { return t >= t_warm && t <= t_end; }

/* A pingpong/churn/idle message came back whole. */
static void message_done(conn_t *c, double t) {
    if (mode == M_PINGPONG) {
        if (in_window(t)) {
            counted_ops++;
            counted_bytes += size;
            record_latency(t - c->t0);
        }
        if (measuring_stopped) start_closing(c);
        else send_message(c);
    } else if (mode == M_CHURN) {
        start_closing(c);
    } else { /* idle */
        c->state = S_HOLDING;
        set_interest(c, EPOLLIN);
    }
}

static void connection_closed_cleanly(conn_t *c, double t) {
    if (mode == M_CHURN) {
        if (in_window(t)) {
            counted_ops++;
            record_latency(t - c->t0);
        }
        close_conn(c);
        if (!measuring_stopped) open_conn(c);
    } else {
        close_conn(c);
    }
}

#ifdef LOADGEN_TLS
/* Connected: start the TLS handshake.  0 ok, -1 failed (the slot is closed). */
static int tls_begin(conn_t *c) {
    c->ssl = SSL_new(tls_ctx);
    if (!c->ssl || !SSL_set_fd(c->ssl, c->fd)) {
        fail_conn(c, "SSL_new", ENOMEM);
        return -1;
    }
    SSL_set_connect_state(c->ssl);
    c->state = S_HANDSHAKING;
    return 0;
}

/* One handshake step: 1 done, 0 waiting (interest set), -1 failed (the slot is closed). */
static int tls_step(conn_t *c) {
    int h = SSL_do_handshake(c->ssl);
    if (h == 1) return 1;
    int e = SSL_get_error(c->ssl, h);
    if (e == SSL_ERROR_WANT_READ) {
        set_interest(c, EPOLLIN);
        return 0;
    }
    if (e == SSL_ERROR_WANT_WRITE) {
        set_interest(c, EPOLLOUT);
        return 0;
    }
    char text[160];
    ERR_error_string_n(ERR_get_error(), text, sizeof text);
    error_at(c, "TLS handshake: %s", text);
    close_conn(c);
    return -1;
}
#endif

static void handle(conn_t *c, uint32_t ev, double t) {
    if (c->state == S_CONNECTING) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err) {
            fail_conn(c, "connect", err);
            return;
        }
#ifdef LOADGEN_TLS
        if (tls_begin(c) < 0) return;
    }
    if (c->state == S_HANDSHAKING) {
        if (tls_step(c) <= 0) return;
#endif
        if (mode == M_BULK) {
            c->state = S_STREAMING;
            set_interest(c, EPOLLIN | EPOLLOUT);
            ev = EPOLLOUT;
        } else {
            send_message(c);
            return;
        }
    }
    if (c->state == S_SENDING && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        if (write_upto(c, c->msg_end) < 0) return;
        if (c->sent == c->msg_end) {
            c->state = S_WAITING;
            set_interest(c, EPOLLIN);
        }
    }
    if (c->state == S_STREAMING && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)) && !measuring_stopped) {
        uint64_t limit = c->recvd + window;
        if (write_upto(c, limit) < 0) return;
        if (c->sent >= limit) set_interest(c, EPOLLIN); /* window full: wait for echoes */
    }
    if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        for (;;) {
            if (c->state == S_FREE) return;
            ssize_t r = read_verify(c);
            if (r == -2) return;
            if (r == -1) break;
            if (r == 0) { /* EOF */
                if (c->state == S_CLOSING && c->recvd == c->sent) {
                    connection_closed_cleanly(c, t);
                } else {
                    error_at(c, "server closed the connection early (%llu of %llu bytes echoed)",
                             (unsigned long long)c->recvd, (unsigned long long)c->sent);
                    close_conn(c);
                }
                return;
            }
            if (mode == M_BULK) {
                if (in_window(t)) counted_bytes += (uint64_t)r;
                if (measuring_stopped) {
                    if (c->recvd == c->sent && c->state == S_STREAMING) start_closing(c);
                } else if (c->events == EPOLLIN && c->sent < c->recvd + window / 2) {
                    set_interest(c, EPOLLIN | EPOLLOUT);
                }
            } else if (c->state == S_WAITING && c->recvd == c->msg_end) {
                message_done(c, t);
                break; /* level-triggered epoll reports the next echo */
            } else if (c->state == S_HOLDING) {
                error_at(c, "unexpected data on a held connection");
            }
#ifdef LOADGEN_TLS
            (void)0; /* read until SSL says WANT_READ: a record it holds is invisible to epoll */
#else
            if ((size_t)r < MAXCHUNK) break; /* likely drained: let epoll say */
#endif
        }
    }
}

static void usage(void) {
    fprintf(stderr,
            "usage: loadgen --mode pingpong|bulk|churn|idle [--host 127.0.0.1] --port P\n"
            "               [-c connections] [-t seconds] [-s size] [-w warmup-seconds]\n"
            "               [--window bytes] [--inflight n] [--connect-timeout s] [--source addr]\n");
    exit(2);
}

static void print_result(const char *extra) {
    double span = t_end - t_warm;
    if (span <= 0) span = 1e-9;
    printf("{\"mode\":\"%s\",\"connections\":%d,\"size\":%zu,\"seconds\":%.3f,"
           "\"ops\":%llu,\"rt_per_s\":%.1f,\"conns_per_s\":%.1f,\"mb_per_s\":%.2f,"
           "\"p50_us\":%.1f,\"p99_us\":%.1f,\"max_us\":%.1f,\"verified_bytes\":%llu,"
           "\"errors\":%llu,\"error\":\"",
           mode_names[mode], nconns, size, span, (unsigned long long)counted_ops,
           mode == M_PINGPONG ? counted_ops / span : 0.0, mode == M_CHURN ? counted_ops / span : 0.0,
           mode == M_BULK ? counted_bytes / span / 1e6 : counted_bytes / span / 1e6, percentile(0.50),
           percentile(0.99), lat_max, (unsigned long long)verified_total, (unsigned long long)n_errors);
    for (const char *p = first_error; *p; p++) {
        if (*p == '"' || *p == '\\') putchar('\\');
        putchar(*p);
    }
    printf("\"%s}\n", extra ? extra : "");
    fflush(stdout);
}

/* Run the event loop until done() or the deadline; returns 0 if done. */
static int loop_until(int (*done)(void), double deadline, int watch_stdin) {
    struct epoll_event evs[512];
    while (!done()) {
        double t = now();
        if (t >= deadline) return -1;
        int ms = (int)((deadline - t) * 1000) + 1;
        if (ms > 100) ms = 100;
        int n = epoll_wait(ep, evs, 512, ms);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        t = now();
        if (!measuring_stopped && t >= t_end && mode != M_IDLE) measuring_stopped = 1;
        for (int i = 0; i < n; i++) {
            uint32_t k = evs[i].data.u32;
            if (k == STDIN_TAG) {
                if (watch_stdin) return 1;
                continue;
            }
            conn_t *c = &conns[k];
            if (c->state != S_FREE) handle(c, evs[i].events, t);
        }
        if (measuring_stopped && mode != M_IDLE) {
            /* Wind down idle-in-the-pipe connections: pingpong ones waiting for
               nothing, bulk ones fully echoed. */
            for (int i = 0; i < nconns; i++) {
                conn_t *c = &conns[i];
                if (mode == M_BULK && c->state == S_STREAMING && c->recvd == c->sent) start_closing(c);
            }
        }
    }
    return 0;
}

static int count_state(int s) {
    int n = 0;
    for (int i = 0; i < nconns; i++) n += conns[i].state == s;
    return n;
}
static int all_free(void) { return count_state(S_FREE) == nconns; }
static int never(void) { return 0; }

/* idle: how many are established and pinged. */
static int idle_opened, idle_target;
static int idle_all_holding(void) {
    int holding = 0, busy = 0;
    for (int i = 0; i < idle_opened; i++) {
        int s = conns[i].state;
        holding += s == S_HOLDING;
        busy += s == S_CONNECTING || s == S_SENDING || s == S_WAITING;
    }
    /* top up: keep at most `inflight` connects/pings outstanding */
    while (busy < inflight && idle_opened < idle_target) {
        open_conn(&conns[idle_opened++]);
        busy++;
    }
    (void)holding;
    return idle_opened == idle_target && busy == 0;
}
static int idle_none_waiting(void) {
    for (int i = 0; i < nconns; i++)
        if (conns[i].state == S_SENDING || conns[i].state == S_WAITING) return 0;
    return 1;
}

int main(int argc, char **argv) {
    static struct option longopts[] = {
        {"mode", required_argument, 0, 'm'},     {"host", required_argument, 0, 'H'},
        {"port", required_argument, 0, 'p'},     {"connections", required_argument, 0, 'c'},
        {"seconds", required_argument, 0, 't'},  {"size", required_argument, 0, 's'},
        {"warmup", required_argument, 0, 'w'},   {"window", required_argument, 0, 'W'},
        {"inflight", required_argument, 0, 'i'}, {"connect-timeout", required_argument, 0, 'T'},
        {"source", required_argument, 0, 'S'},   {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0}};
    const char *source = NULL;
    int o;
    while ((o = getopt_long(argc, argv, "m:H:p:c:t:s:w:W:i:T:S:h", longopts, 0)) != -1) {
        switch (o) {
        case 'm':
            for (int i = 0; i < 4; i++)
                if (!strcmp(optarg, mode_names[i])) mode = i;
            break;
        case 'H': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'c': nconns = atoi(optarg); break;
        case 't': seconds = atof(optarg); break;
        case 's': size = (size_t)atoll(optarg); break;
        case 'w': warmup = atof(optarg); break;
        case 'W': window = (uint64_t)atoll(optarg); break;
        case 'i': inflight = atoi(optarg); break;
        case 'T': connect_timeout = atof(optarg); break;
        case 'S': source = optarg; break;
        default: usage();
        }
    }
    if (mode < 0 || port <= 0 || port > 65535 || nconns < 1 || seconds <= 0 || warmup < 0 || inflight < 1)
        usage();
    if (!size) size = mode == M_BULK ? 65536 : (mode == M_IDLE ? 16 : 64);
    if (size > MAXCHUNK) size = MAXCHUNK;
    if (window < size) window = size;

    /* Resolve and insist on loopback. */
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai;
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    int gai = getaddrinfo(host, portstr, &hints, &ai);
    if (gai) {
        fprintf(stderr, "loadgen: %s: %s\n", host, gai_strerror(gai));
        return 2;
    }
    memcpy(&addr, ai->ai_addr, ai->ai_addrlen);
    addrlen = ai->ai_addrlen;
    freeaddrinfo(ai);
    int loopback = 0;
    if (addr.ss_family == AF_INET)
        loopback = (ntohl(((struct sockaddr_in *)&addr)->sin_addr.s_addr) >> 24) == 127;
    else if (addr.ss_family == AF_INET6)
        loopback = IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&addr)->sin6_addr);
    if (!loopback) {
        fprintf(stderr, "loadgen: %s is not a loopback address; refusing\n", host);
        return 2;
    }
    if (source) {
        struct addrinfo shints = {.ai_socktype = SOCK_STREAM, .ai_family = addr.ss_family, .ai_flags = AI_NUMERICHOST};
        if (getaddrinfo(source, "0", &shints, &ai)) {
            fprintf(stderr, "loadgen: --source %s: not a numeric address of the target's family\n", source);
            return 2;
        }
        memcpy(&source_addr, ai->ai_addr, ai->ai_addrlen);
        source_len = ai->ai_addrlen;
        freeaddrinfo(ai);
    }

    /* Bounded in time, whatever happens. */
    double budget = warmup + seconds + connect_timeout + drain_timeout + 10;
    if (mode == M_IDLE) budget = connect_timeout * 2 + seconds + drain_timeout + 10;
    alarm((unsigned)budget + 1);
    signal(SIGPIPE, SIG_IGN);

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    pat = malloc(PLEN + MAXCHUNK);
    rbuf = malloc(MAXCHUNK);
    hist = calloc(HIST_US, sizeof *hist);
    conns = calloc((size_t)nconns, sizeof *conns);
    if (!pat || !rbuf || !hist || !conns) die("malloc");
    uint32_t x = 2463534242u;
    for (uint32_t i = 0; i < PLEN; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        pat[i] = (unsigned char)(x >> 24);
    }
    for (uint32_t i = PLEN; i < PLEN + MAXCHUNK; i++) pat[i] = pat[i % PLEN];
    for (int i = 0; i < nconns; i++) conns[i].fd = -1;
    ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) die("epoll_create1");
#ifdef LOADGEN_TLS
    tls_ctx = SSL_CTX_new(TLS_client_method());
    if (!tls_ctx) die("SSL_CTX_new");
    SSL_CTX_set_verify(tls_ctx, SSL_VERIFY_NONE, NULL); /* it measures the server, it does not trust it */
    SSL_CTX_set_session_cache_mode(tls_ctx, SSL_SESS_CACHE_OFF); /* every connection: a full handshake */
    SSL_CTX_set_mode(tls_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
#endif

    double start = now();
    if (mode == M_IDLE) {
        idle_target = nconns;
        t_warm = start;
        t_end = start + 1e9;
        int rc = loop_until(idle_all_holding, start + connect_timeout, 0);
        double established = now();
        int holding = count_state(S_HOLDING);
        if (rc < 0) error_at(NULL, "only %d of %d connections established in %.0f s", holding, nconns, connect_timeout);
        t_end = established;
        printf("{\"phase\":\"holding\",\"connections\":%d,\"held\":%d,\"errors\":%llu,\"setup_s\":%.3f}\n", nconns,
               holding, (unsigned long long)n_errors, established - start);
        fflush(stdout);
        /* Hold until told (stdin) or until -t seconds pass. */
        struct epoll_event sev = {.events = EPOLLIN, .data.u32 = STDIN_TAG};
        int watch = epoll_ctl(ep, EPOLL_CTL_ADD, 0, &sev) == 0;
        loop_until(never, now() + seconds, watch);
        if (watch) epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL);
        /* Every held connection must still echo. */
        double t2 = now();
        for (int i = 0; i < nconns; i++)
            if (conns[i].state == S_HOLDING) send_message(&conns[i]);
        if (loop_until(idle_none_waiting, t2 + connect_timeout, 0) < 0)
            error_at(NULL, "held connections did not echo within %.0f s", connect_timeout);
        int alive = count_state(S_HOLDING);
        if (alive != nconns) error_at(NULL, "%d of %d held connections alive at the end", alive, nconns);
        for (int i = 0; i < nconns; i++)
            if (conns[i].state == S_HOLDING) start_closing(&conns[i]);
        if (loop_until(all_free, now() + drain_timeout, 0) < 0) {
            error_at(NULL, "%d connections not closed by the server", nconns - count_state(S_FREE));
        }
        counted_ops = (uint64_t)alive;
        char extra[160];
        snprintf(extra, sizeof extra, ",\"held\":%d,\"setup_s\":%.3f,\"conns_per_s\":%.1f", alive,
                 established - start, holding / (established - start > 0 ? established - start : 1e-9));
        /* print_result's conns_per_s is for churn; idle's setup rate goes in extra. */
        t_warm = start;
        t_end = established;
        printf("{\"mode\":\"idle\",\"connections\":%d,\"size\":%zu,\"ops\":%llu,\"verified_bytes\":%llu,"
               "\"errors\":%llu,\"error\":\"",
               nconns, size, (unsigned long long)counted_ops, (unsigned long long)verified_total,
               (unsigned long long)n_errors);
        for (const char *p = first_error; *p; p++) {
            if (*p == '"' || *p == '\\') putchar('\\');
            putchar(*p);
        }
        printf("\"%s}\n", extra);
        return n_errors ? 1 : 0;
    }

    t_warm = start + warmup;
    t_end = t_warm + seconds;
    if (mode == M_CHURN) {
        for (int i = 0; i < nconns; i++) open_conn(&conns[i]);
    } else {
        /* Connect everything first; the clock starts when all are up. */
        for (int i = 0; i < nconns; i++) open_conn(&conns[i]);
        struct epoll_event evs[512];
        double deadline = now() + connect_timeout;
        while (count_state(S_CONNECTING) + count_state(S_HANDSHAKING) > 0 && now() < deadline) {
            int n = epoll_wait(ep, evs, 512, 100);
            for (int i = 0; i < n; i++) {
                conn_t *c = &conns[evs[i].data.u32];
#ifdef LOADGEN_TLS
                if (c->state == S_HANDSHAKING) {
                    if (tls_step(c) == 1) {
                        c->state = S_WAITING; /* parked until the start */
                        set_interest(c, EPOLLIN);
                    }
                    continue;
                }
#endif
                if (c->state != S_CONNECTING) continue;
                int err = 0;
                socklen_t len = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
                if (err) fail_conn(c, "connect", err);
                else {
#ifdef LOADGEN_TLS
                    if (tls_begin(c) == 0 && tls_step(c) == 1) {
                        c->state = S_WAITING;
                        set_interest(c, EPOLLIN);
                    }
                    continue;
#endif
                    c->state = S_WAITING; /* parked until the start */
                    set_interest(c, EPOLLIN);
                }
            }
        }
        if (count_state(S_CONNECTING) + count_state(S_HANDSHAKING) > 0) {
            error_at(NULL, "connections not established within %.0f s", connect_timeout);
            print_result(NULL);
            return 1;
        }
        start = now();
        t_warm = start + warmup;
        t_end = t_warm + seconds;
        for (int i = 0; i < nconns; i++) {
            conn_t *c = &conns[i];
            if (c->state == S_FREE) continue;
            if (mode == M_BULK) {
                c->state = S_STREAMING;
                set_interest(c, EPOLLIN | EPOLLOUT);
            } else {
                send_message(c);
            }
        }
    }
    /* Measure, then let in-flight work finish and close gracefully. */
    loop_until(never, t_end, 0);
    measuring_stopped = 1;
    for (int i = 0; i < nconns; i++) {
        conn_t *c = &conns[i];
        if (mode == M_BULK && c->state == S_STREAMING && c->recvd == c->sent) start_closing(c);
        if (mode == M_BULK && c->state == S_STREAMING) set_interest(c, EPOLLIN);
    }
    if (loop_until(all_free, now() + drain_timeout, 0) < 0) {
        int left = nconns - count_state(S_FREE);
        error_at(NULL, "%d connections did not finish within %.0f s after the run", left, drain_timeout);
    }
    print_result(NULL);
    return n_errors ? 1 : 0;
}
