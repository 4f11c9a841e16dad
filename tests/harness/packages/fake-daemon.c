/*
 * fake-daemon.c -- multi-call TEST DOUBLE for the fleetsec.divest test harness.
 *
 * It contains NO vendor code and does nothing useful: it only lets the fake vendor packages
 * run processes whose names look exactly like the real ones.  build_packages.py compiles it
 * once (static) and installs a copy under every daemon or tool name a package needs, e.g.
 * /opt/kaspersky/kesl/libexec/kesl or /opt/kaspersky/kesl/bin/kesl-control.  The kernel then
 * sets comm, /proc/PID/exe and argv[0] from that real path, so `pgrep -x kesl` and
 * `readlink /proc/PID/exe` see what they would see on a real host.
 *
 * Each copy carries its behaviour in a trailer appended to the ELF file (the ELF loader
 * ignores trailing bytes):
 *
 *     <payload> <uint32 little-endian payload length> "DIVESTH1"
 *
 * The payload is text, one "key<TAB>value" per line, values escaped with \n, \t and \\.
 *
 *   mode           daemon | tool
 *   listen         TCP port to listen on (repeatable; daemon only)
 *   log            file to append "started"/"stopped" lines to (daemon only)
 *   resp.args      an argument line ("--app-info", "-v", "*" = anything); starts a response
 *   resp.out       text for stdout          resp.err   text for stderr
 *   resp.rc        exit code (default 0)
 *   resp.running   process name (comm) that must be running, else not_running.* is used
 *   not_running.out / not_running.err / not_running.rc   (rc defaults to 64)
 *   default.out / default.err / default.rc               (tool without a matching response)
 *
 * A daemon copy runs in the foreground until SIGTERM/SIGINT (systemd units use it directly,
 * SysV init scripts start it with start-stop-daemon --background).  A daemon copy given an
 * argument line that matches a response answers it and exits (e.g. kav4proxy-kavicapserver -v).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC "DIVESTH1"
#define MAX_KV 256
#define MAX_LISTEN 8

struct kv {
    char *key;
    char *value;
};

static struct kv kvs[MAX_KV];
static int nkv;
static volatile sig_atomic_t stop_requested;

static char *unescape(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    size_t i;
    if (!out)
        exit(70);
    for (i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            i++;
            *o++ = s[i] == 'n' ? '\n' : s[i] == 't' ? '\t' : s[i];
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* Read the trailer of our own executable into kvs[]. */
static int load_trailer(void)
{
    unsigned char tail[12];
    struct stat st;
    uint32_t len;
    char *buf, *p, *end;
    int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);

    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < 12)
        return -1;
    if (pread(fd, tail, sizeof tail, st.st_size - 12) != 12 || memcmp(tail + 4, MAGIC, 8) != 0) {
        close(fd);
        return -1;
    }
    len = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 | (uint32_t)tail[3] << 24;
    if ((off_t)len > st.st_size - 12) {
        close(fd);
        return -1;
    }
    buf = malloc(len + 1);
    if (!buf || pread(fd, buf, len, st.st_size - 12 - len) != (ssize_t)len) {
        close(fd);
        return -1;
    }
    close(fd);
    buf[len] = '\0';
    for (p = buf; p < buf + len && nkv < MAX_KV; p = end + 1) {
        char *tab;
        end = memchr(p, '\n', buf + len - p);
        if (!end)
            end = buf + len;
        tab = memchr(p, '\t', end - p);
        if (tab) {
            kvs[nkv].key = unescape(p, tab - p);
            kvs[nkv].value = unescape(tab + 1, end - tab - 1);
            nkv++;
        }
    }
    return 0;
}

/* First value of a top-level key. */
static const char *get(const char *key)
{
    int i;
    for (i = 0; i < nkv; i++)
        if (strcmp(kvs[i].key, key) == 0)
            return kvs[i].value;
    return NULL;
}

/* Value of key inside the response block that starts at index start. */
static const char *resp_get(int start, const char *key)
{
    int i;
    for (i = start + 1; i < nkv && strcmp(kvs[i].key, "resp.args") != 0; i++)
        if (strcmp(kvs[i].key, key) == 0)
            return kvs[i].value;
    return NULL;
}

static int process_running(const char *comm)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int found = 0;
    if (!d)
        return 0;
    while (!found && (e = readdir(d)) != NULL) {
        char path[300], name[64];
        FILE *f;
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        snprintf(path, sizeof path, "/proc/%s/comm", e->d_name);
        f = fopen(path, "r");
        if (!f)
            continue;
        if (fgets(name, sizeof name, f)) {
            name[strcspn(name, "\n")] = '\0';
            found = strcmp(name, comm) == 0;
        }
        fclose(f);
    }
    closedir(d);
    return found;
}

static int answer(const char *out, const char *err, const char *rc, int default_rc)
{
    if (out)
        fputs(out, stdout);
    if (err)
        fputs(err, stderr);
    fflush(stdout);
    return rc ? atoi(rc) : default_rc;
}

/* Answer argv if a response matches it; returns -1 when none does. */
static int respond(int argc, char **argv)
{
    char line[4096] = "";
    size_t used = 0;
    int i;

    for (i = 1; i < argc; i++) {
        size_t l = strlen(argv[i]);
        if (used + l + 2 >= sizeof line)
            break;
        if (i > 1)
            line[used++] = ' ';
        memcpy(line + used, argv[i], l);
        used += l;
        line[used] = '\0';
    }
    for (i = 0; i < nkv; i++) {
        const char *need;
        if (strcmp(kvs[i].key, "resp.args") != 0)
            continue;
        if (strcmp(kvs[i].value, "*") != 0 && strcmp(kvs[i].value, line) != 0)
            continue;
        need = resp_get(i, "resp.running");
        if (need && !process_running(need))
            return answer(get("not_running.out"), get("not_running.err"), get("not_running.rc"), 64);
        return answer(resp_get(i, "resp.out"), resp_get(i, "resp.err"), resp_get(i, "resp.rc"), 0);
    }
    return -1;
}

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void log_line(const char *argv0, const char *what)
{
    const char *path = get("log");
    char stamp[32];
    time_t now = time(NULL);
    FILE *f;
    if (!path)
        return;
    f = fopen(path, "a");
    if (!f)
        return;
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", localtime(&now));
    fprintf(f, "%s %s[%ld]: %s\n", stamp, argv0, (long)getpid(), what);
    fclose(f);
}

static int run_daemon(const char *argv0)
{
    struct pollfd fds[MAX_LISTEN];
    struct sigaction sa;
    int nfds = 0, i;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);

    for (i = 0; i < nkv && nfds < MAX_LISTEN; i++) {
        struct sockaddr_in addr;
        int one = 1, fd;
        if (strcmp(kvs[i].key, "listen") != 0)
            continue;
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        memset(&addr, 0, sizeof addr);
        addr.sin_family = AF_INET;
        addr.sin_port = htons((uint16_t)atoi(kvs[i].value));
        addr.sin_addr.s_addr = htonl(INADDR_ANY);
        if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 16) < 0) {
            fprintf(stderr, "%s: cannot listen on port %s: %s\n", argv0, kvs[i].value, strerror(errno));
            close(fd);
            continue;
        }
        fds[nfds].fd = fd;
        fds[nfds].events = POLLIN;
        nfds++;
    }

    log_line(argv0, "started");
    while (!stop_requested) {
        if (nfds == 0) {
            pause();
            continue;
        }
        if (poll(fds, nfds, -1) > 0) {
            for (i = 0; i < nfds; i++) {
                if (fds[i].revents & POLLIN) {
                    int c = accept(fds[i].fd, NULL, NULL);
                    if (c >= 0)
                        close(c);   /* a test double serves nobody */
                }
            }
        }
    }
    log_line(argv0, "stopped");
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode;
    int rc;

    if (load_trailer() < 0) {
        fprintf(stderr, "%s: TEST DOUBLE without configuration trailer\n", argv[0]);
        return 70;
    }
    mode = get("mode");
    if (mode && strcmp(mode, "daemon") == 0) {
        if (argc > 1 && (rc = respond(argc, argv)) >= 0)
            return rc;
        return run_daemon(argv[0]);
    }
    if ((rc = respond(argc, argv)) >= 0)
        return rc;
    return answer(get("default.out"), get("default.err"), get("default.rc"), 1);
}
