/*
 * blast: the load generator's sending loop in C (bench only; load.ts builds it with `cc` when one is
 * installed and falls back to node's dgram otherwise).
 *
 * Why: on this 2-core machine the load process shares the CPU with the collector it measures. node
 * spends ~6 us of CPU per dgram send (JS, libuv, a SendWrap); a bare send(2) costs what the kernel
 * costs. Less CPU for the generator means the figure is the collector's, not the generator's.
 *
 *   blast <host> <port> <bind-addr> <sources> <rate> <max-ms> <file>
 *
 * <file>: the run's datagrams, prepared by load.ts, as records in send order:
 *   u16 datagram count, then per datagram u16 length + bytes (little endian).
 * Record i goes out on socket i % sources (one socket per source, bound to <bind-addr>:0 and
 * connected to <host>:<port>), paced to <rate> records/s: everything due is sent, then the loop
 * sleeps 1 ms, as load.ts's node loop does. Bounded by the record count and by <max-ms>.
 *
 * stdout: "ready\n" once the sockets are up and the file is read; then it waits for a line on stdin
 * and sends; at the end one JSON line with the LoadResult fields.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double mono_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double wall_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void die(const char *what) {
  fprintf(stderr, "blast: %s: %s\n", what, strerror(errno));
  exit(2);
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: blast <host> <port> <bind-addr> <sources> <rate> <max-ms> <file>\n");
    return 2;
  }
  const char *host = argv[1], *bind_addr = argv[3], *path = argv[7];
  int port = atoi(argv[2]), sources = atoi(argv[4]);
  double rate = atof(argv[5]), max_ms = atof(argv[6]);
  if (sources < 1 || sources > 65536 || rate <= 0 || port < 1 || port > 65535) {
    fprintf(stderr, "blast: bad arguments\n");
    return 2;
  }

  FILE *f = fopen(path, "rb");
  if (!f) die(path);
  if (fseek(f, 0, SEEK_END) != 0) die("seek");
  long size = ftell(f);
  rewind(f);
  uint8_t *buf = malloc(size > 0 ? size : 1);
  if (!buf || (size > 0 && fread(buf, 1, size, f) != (size_t)size)) die("read");
  fclose(f);

  /* Index the records: offset of each record's first byte. */
  size_t cap = 1 << 16, count = 0;
  size_t *rec = malloc(cap * sizeof *rec);
  for (size_t off = 0; off + 2 <= (size_t)size;) {
    if (count == cap) rec = realloc(rec, (cap *= 2) * sizeof *rec);
    if (!rec) die("realloc");
    rec[count++] = off;
    unsigned n = buf[off] | buf[off + 1] << 8;
    off += 2;
    for (unsigned k = 0; k < n; k++) {
      if (off + 2 > (size_t)size) { fprintf(stderr, "blast: truncated file\n"); return 2; }
      off += 2 + (buf[off] | buf[off + 1] << 8);
    }
    if (off > (size_t)size) { fprintf(stderr, "blast: truncated file\n"); return 2; }
  }

  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
  struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = 0};
  if (inet_pton(AF_INET, host, &to.sin_addr) != 1 || inet_pton(AF_INET, bind_addr, &from.sin_addr) != 1) {
    fprintf(stderr, "blast: bad address\n");
    return 2;
  }
  int *fds = malloc(sources * sizeof *fds);
  for (int s = 0; s < sources; s++) {
    fds[s] = socket(AF_INET, SOCK_DGRAM, 0);
    if (fds[s] < 0) die("socket");
    if (bind(fds[s], (struct sockaddr *)&from, sizeof from) != 0) die("bind");
    if (connect(fds[s], (struct sockaddr *)&to, sizeof to) != 0) die("connect");
  }
  printf("ready\n");
  fflush(stdout);
  char line[16];
  if (!fgets(line, sizeof line, stdin)) return 0;

  size_t sent = 0, datagrams = 0, bytes = 0, errors = 0;
  int timed_out = 0;
  double t0 = mono_ms(), first_at = wall_ms(), last_at = first_at;
  while (sent < count) {
    double el = mono_ms() - t0;
    if (el > max_ms) { timed_out = 1; break; }
    size_t due = (size_t)(rate * el / 1000) + 1;
    if (due > count) due = count;
    for (; sent < due; sent++) {
      size_t off = rec[sent];
      unsigned n = buf[off] | buf[off + 1] << 8;
      off += 2;
      int fd = fds[sent % sources];
      for (unsigned k = 0; k < n; k++) {
        unsigned len = buf[off] | buf[off + 1] << 8;
        if (send(fd, buf + off + 2, len, 0) < 0) errors++;
        datagrams++;
        bytes += len;
        off += 2 + len;
      }
    }
    last_at = wall_ms();
    if (sent < count) {
      /* Caught up: yield the CPU (the collector shares it). */
      struct timespec nap = {0, 1000000};
      nanosleep(&nap, NULL);
    }
  }
  double elapsed = mono_ms() - t0;
  printf("{\"sent\":%zu,\"datagrams\":%zu,\"bytes\":%zu,\"errors\":%zu,\"firstAt\":%.3f,\"lastAt\":%.3f,"
         "\"elapsedMs\":%.3f,\"achievedRate\":%.1f,\"timedOut\":%s}\n",
         sent, datagrams, bytes, errors, first_at, last_at, elapsed, sent / (elapsed / 1000), timed_out ? "true" : "false");
  return 0;
}
