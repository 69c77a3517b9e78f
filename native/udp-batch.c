// Batched UDP receive for the collector, on a thread of its own. The thread reads with
// recvmmsg(2), up to STAGE_SLOTS datagrams per call, and packs them into a ring that JS holds (a
// Buffer for the bytes, an Int32Array for lengths, offsets and senders); the event loop is woken
// (uv_async) and JS handles everything ready in one call. Node's dgram costs about 4 µs per
// datagram before our code runs (a syscall, a Buffer, an rinfo object with an address string and a
// JS call each); here the syscall is off the JS thread and the rest is paid once per batch.
//
// Why a thread: the kernel's receive buffer is what holds datagrams while nobody reads, and it
// fills in a few hundred milliseconds under a flood. The JS thread stalls longer than that (a
// major GC, a busy machine handing it little CPU), and then the kernel drops every source's
// datagrams alike. The reader thread needs little CPU (a syscall per batch, a copy per datagram)
// and sleeps otherwise, so it is scheduled promptly and empties the socket into the ring, which
// holds seconds of traffic. The ring is single-producer (the thread) single-consumer (the loop):
// two counters, no locks. When it is full the thread stops reading and the kernel buffer takes
// over, as before; what the kernel then drops it counts (SO_MEMINFO), and so does drops().
//
// After a read that emptied the socket the thread waits coalesce_ms before reading again (it is
// woken at once to stop or when the ring has room): at high rates it would otherwise wake for
// every two or three datagrams, and the wake-up costs more than the datagram. The first datagram
// after a quiet spell is read at once.
//
// The socket is ours (socket + bind here, so no node internals are touched). Linux only
// (recvmmsg, eventfd); elsewhere the build fails and the collector uses dgram.
//
// Oversized datagrams are kept out of the socket's receive buffer. That buffer is shared by every
// sender and charged a datagram's whole size until it is read: 48 KB datagrams fill 8 MiB in 150
// of them, and then the kernel drops everyone's datagrams. So the socket is bound twice on its
// port with SO_REUSEPORT, and a classic BPF program on the group steers every datagram longer than
// maxDatagram to the second socket (the sink), whose small buffer only they can fill. The sink is
// read with zero-byte buffers (MSG_TRUNC gives the length), and what overflows it is counted by the
// kernel (SO_MEMINFO drops): every oversized datagram is counted, none costs the others.
//
// JS contract (see src/receiver/udp-batch.ts):
//   bind(family 4|6, address text, port, wanted receive buffer bytes, maxDatagram)
//     -> [fd, bound port, granted, sink fd or -1 (no steering: the kernel refused it)]
//     throws Error with .code = 'EADDRINUSE' | 'EACCES' | ... on failure.
//   start(fd, sink, data Buffer, meta Int32Array (slots * 12), maxDatagram, coalesceMs, callback)
//     -> handle. callback(first, n) with n > 0: entries first..first+n-1 of meta are ready, each
//     [length, port, family, truncated, address words 0..3 (network order bytes), offset in data].
//     A datagram longer than maxDatagram (from the sink, or read truncated where there is none)
//     has its true length, truncated 1 and no bytes. The bytes of a batch stay valid until the
//     callback returns. callback(0, -errno) when the socket fails.
//     From start on, the reader owns fd and sink: they are closed by stop (before it returns), or
//     at once if start fails.
//   drops(handle) -> [datagrams the kernel dropped for the socket, for the sink] (SO_MEMINFO).
//   stop(handle): stops the thread and closes the sockets (the callback is never called again).
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <node_api.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

/** [length, port, family, truncated, address words 0..3, offset, unused x3] */
#define META_INTS 12
#define META_OFFSET 8
/** Datagrams read per recvmmsg into the thread's staging buffers. */
#define STAGE_SLOTS 64
/** Sink datagrams read per recvmmsg (no bytes are copied, only lengths and senders). */
#define SINK_SLOTS 32
/** The sink's receive buffer: a few oversized datagrams, read for their senders; the rest overflow, counted. */
#define SINK_RCVBUF (256 * 1024)
/** Entries handed to JS per loop turn; the rest in the next one, so timers and HTTP get theirs. */
#define MAX_PER_TURN 256

typedef struct {
  napi_env env;
  uv_async_t async;
  pthread_t thread;
  int thread_started;
  int fd;
  /** The oversized datagrams' socket, or -1. */
  int sink;
  /** eventfd: wakes the thread to stop, or when the ring has room again. */
  int wake;
  int coalesce_ms;
  int max_datagram;
  /** Loop thread only. */
  int stopped;
  atomic_int quit;
  /** Set by the thread when the ring is full; the loop wakes it once it has consumed. */
  atomic_int waiting;
  /** An errno the thread met, for the loop to report. */
  atomic_int error;
  uint8_t *data;
  size_t data_len;
  int32_t *meta;
  uint32_t slots;
  /** Entries written by the thread / handed back by the loop (totals; index = count % slots). */
  _Atomic uint64_t produced, consumed;
  /** Thread only: where the next datagram's bytes go in data. */
  uint32_t wpos;
  uint8_t *stage;
  struct mmsghdr msgs[STAGE_SLOTS];
  struct iovec iov[STAGE_SLOTS];
  struct sockaddr_storage addrs[STAGE_SLOTS];
  struct mmsghdr sink_msgs[SINK_SLOTS];
  struct sockaddr_storage sink_addrs[SINK_SLOTS];
  napi_ref data_ref, meta_ref, cb_ref;
  napi_async_context actx;
} reader_t;

static const char *errno_code(int e) {
  switch (e) {
    case EADDRINUSE: return "EADDRINUSE";
    case EACCES: return "EACCES";
    case EPERM: return "EPERM";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case EINVAL: return "EINVAL";
    case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE";
    case ENOMEM: return "ENOMEM";
    case ENOBUFS: return "ENOBUFS";
    default: return "EIO";
  }
}

static napi_value throw_errno(napi_env env, const char *what, int e) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(e));
  napi_throw_error(env, errno_code(e), msg);
  return NULL;
}

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "udp-batch: " #call " failed"); return NULL; } } while (0)

/** A UDP socket bound to ss, or -errno. */
static int bind_one(int family, const struct sockaddr_storage *ss, socklen_t sslen, int reuseport, int rcvbuf) {
  int fd = socket(ss->ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int one = 1;
  // As node's udp6 with ipv6Only: an IPv6 listener does not also take the IPv4 port.
  if (family == 6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) { int e = errno; close(fd); return -e; }
  if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) { int e = errno; close(fd); return -e; }
  // Capped by net.core.rmem_max; the granted size is reported, not enforced.
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (bind(fd, (const struct sockaddr *)ss, sslen) != 0) { int e = errno; close(fd); return -e; }
  return fd;
}

/** Steers datagrams longer than max to the group's second socket (index 1), the rest to the first. */
static int attach_steering(int fd, int max) {
  struct sock_filter code[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0), // the UDP payload's length (the header is pulled)
    BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)max, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, 1),
    BPF_STMT(BPF_RET | BPF_K, 0),
  };
  struct sock_fprog prog = { .len = sizeof code / sizeof code[0], .filter = code };
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog);
}

static napi_value bind_socket(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5) { napi_throw_type_error(env, NULL, "bind(family, address, port, receiveBuffer, maxDatagram)"); return NULL; }
  int32_t family, port, wanted, max_datagram;
  char text[INET6_ADDRSTRLEN + 1];
  size_t len;
  CHECK(napi_get_value_int32(env, argv[0], &family));
  CHECK(napi_get_value_string_utf8(env, argv[1], text, sizeof text, &len));
  CHECK(napi_get_value_int32(env, argv[2], &port));
  CHECK(napi_get_value_int32(env, argv[3], &wanted));
  CHECK(napi_get_value_int32(env, argv[4], &max_datagram));

  struct sockaddr_storage ss;
  socklen_t sslen;
  memset(&ss, 0, sizeof ss);
  if (family == 6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, text, &a->sin6_addr) != 1) return throw_errno(env, "bind: not an IPv6 address", EINVAL);
    sslen = sizeof *a;
  } else {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, text, &a->sin_addr) != 1) return throw_errno(env, "bind: not an IPv4 address", EINVAL);
    sslen = sizeof *a;
  }
  int steer = max_datagram > 0;
  // SO_REUSEPORT would let a socket of the same user share a port that is in use, and take part of
  // its traffic: a plain bind first keeps "already in use" an error, as without it.
  if (steer && port != 0) {
    int probe = bind_one(family, &ss, sslen, 0, 0);
    if (probe < 0) return throw_errno(env, "bind", -probe);
    close(probe);
  }
  int fd = bind_one(family, &ss, sslen, steer, wanted);
  if (fd < 0) return throw_errno(env, "bind", -fd);
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  int granted = 0;
  socklen_t glen = sizeof granted;
  if (getsockname(fd, (struct sockaddr *)&bound, &blen) != 0) { int e = errno; close(fd); return throw_errno(env, "getsockname", e); }
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &glen);
  uint16_t nport = family == 6 ? ((struct sockaddr_in6 *)&bound)->sin6_port : ((struct sockaddr_in *)&bound)->sin_port;
  int bport = ntohs(nport);
  int sink = -1;
  if (steer) {
    if (family == 6) ((struct sockaddr_in6 *)&ss)->sin6_port = nport; else ((struct sockaddr_in *)&ss)->sin_port = nport;
    sink = bind_one(family, &ss, sslen, 1, SINK_RCVBUF);
    if (sink >= 0 && attach_steering(fd, max_datagram) != 0) { close(sink); sink = -1; }
    if (sink < 0) {
      // No steering (a kernel without it): one socket, which no other may join.
      int zero = 0;
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &zero, sizeof zero);
      sink = -1;
    }
  }

  napi_value out, v;
  CHECK(napi_create_array_with_length(env, 4, &out));
  CHECK(napi_create_int32(env, fd, &v)); CHECK(napi_set_element(env, out, 0, v));
  CHECK(napi_create_int32(env, bport, &v)); CHECK(napi_set_element(env, out, 1, v));
  CHECK(napi_create_int32(env, granted, &v)); CHECK(napi_set_element(env, out, 2, v));
  CHECK(napi_create_int32(env, sink, &v)); CHECK(napi_set_element(env, out, 3, v));
  return out;
}

/** Calls the JS callback; an exception there goes to process 'uncaughtException'. */
static void call_js(reader_t *r, uint32_t first, int n) {
  napi_env env = r->env;
  napi_value cb, global, argv[2], result;
  if (napi_get_reference_value(env, r->cb_ref, &cb) != napi_ok || cb == NULL) return;
  napi_get_global(env, &global);
  napi_create_uint32(env, first, &argv[0]);
  napi_create_int32(env, n, &argv[1]);
  if (napi_make_callback(env, r->actx, global, cb, 2, argv, &result) == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
}

static void fill_meta(int32_t *m, const struct mmsghdr *msg, const struct sockaddr_storage *a, uint32_t offset) {
  m[0] = (int32_t)msg->msg_len;
  m[3] = (msg->msg_hdr.msg_flags & MSG_TRUNC) != 0;
  m[META_OFFSET] = (int32_t)offset;
  if (a->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)a;
    m[1] = ntohs(a6->sin6_port);
    m[2] = 6;
    memcpy(&m[4], &a6->sin6_addr, 16);
  } else {
    const struct sockaddr_in *a4 = (const struct sockaddr_in *)a;
    m[1] = ntohs(a4->sin_port);
    m[2] = 4;
    memcpy(&m[4], &a4->sin_addr, 4);
    m[5] = m[6] = m[7] = 0;
  }
}

static void wake_thread(reader_t *r) {
  uint64_t one = 1;
  ssize_t w = write(r->wake, &one, sizeof one);
  (void)w; // a full counter already means "wake up"
}

/**
 * Thread: where `len` contiguous bytes are free in data (at wpos, or at 0 after a wrap), or -1.
 * The oldest entry the loop still holds starts at `tail`; bytes from tail up to wpos are in use.
 */
static int64_t room_at(reader_t *r, uint64_t produced, uint64_t consumed, uint32_t len) {
  if (produced == consumed) {
    if ((size_t)r->wpos + len <= r->data_len) return r->wpos;
    return len <= r->data_len ? 0 : -1;
  }
  uint32_t tail = (uint32_t)r->meta[(consumed % r->slots) * META_INTS + META_OFFSET];
  if (r->wpos >= tail) {
    if ((size_t)r->wpos + len <= r->data_len) return r->wpos;
    return len < tail ? 0 : -1;
  }
  return r->wpos + len < tail ? r->wpos : -1;
}

/**
 * Thread: one recvmmsg from `fd` into the ring, if it has room for a whole batch (entries, and the
 * bytes of STAGE_SLOTS largest datagrams). Returns datagrams read, -1 when the ring is full, or
 * -2 on a socket error (in r->error). `sink`: no bytes are kept, only lengths and senders.
 */
static int read_into_ring(reader_t *r, int fd, int sink, uint64_t *produced, int *full_batch) {
  uint64_t consumed = atomic_load(&r->consumed);
  uint64_t free_slots = r->slots - (*produced - consumed);
  int want = sink ? SINK_SLOTS : STAGE_SLOTS;
  if (free_slots < (uint64_t)want) return -1;
  int64_t at = 0;
  if (!sink) {
    at = room_at(r, *produced, consumed, (uint32_t)(STAGE_SLOTS * r->max_datagram));
    if (at < 0) return -1;
  }
  struct mmsghdr *msgs = sink ? r->sink_msgs : r->msgs;
  for (int i = 0; i < want; i++) {
    msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
    msgs[i].msg_hdr.msg_flags = 0;
  }
  // MSG_TRUNC: msg_len is the datagram's true length even when the buffer cut it short.
  int n = recvmmsg(fd, msgs, (unsigned)want, MSG_DONTWAIT | MSG_TRUNC, NULL);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return 0;
    atomic_store(&r->error, errno);
    return -2;
  }
  uint32_t pos = (uint32_t)at;
  for (int i = 0; i < n; i++) {
    int32_t *m = r->meta + (size_t)((*produced + (uint64_t)i) % r->slots) * META_INTS;
    fill_meta(m, &msgs[i], sink ? &r->sink_addrs[i] : &r->addrs[i], sink ? r->wpos : pos);
    if (sink) { m[3] = 1; continue; }
    if (m[3]) continue; // longer than its staging slot: its length is all that is kept
    memcpy(r->data + pos, r->stage + (size_t)i * (size_t)r->max_datagram, msgs[i].msg_len);
    pos += msgs[i].msg_len;
  }
  if (!sink) r->wpos = pos;
  // The entries and their bytes are written before the loop can see them (seq_cst store).
  *produced += (uint64_t)n;
  atomic_store(&r->produced, *produced);
  *full_batch = n == want;
  return n;
}

static void *reader_main(void *arg) {
  reader_t *r = arg;
  uint64_t produced = 0;
  int pause = 0;
  while (!atomic_load(&r->quit)) {
    struct pollfd p[3] = { { r->wake, POLLIN, 0 }, { r->fd, POLLIN, 0 }, { r->sink, POLLIN, 0 } };
    // Paused (coalescing) or full: only the wake-up descriptor is watched.
    nfds_t nfds = pause || atomic_load(&r->waiting) ? 1 : r->sink >= 0 ? 3 : 2;
    int rc = poll(p, nfds, pause ? r->coalesce_ms : -1);
    if (rc < 0 && errno != EINTR) { atomic_store(&r->error, errno); uv_async_send(&r->async); break; }
    if (p[0].revents & POLLIN) { uint64_t v; ssize_t got = read(r->wake, &v, sizeof v); (void)got; }
    if (atomic_load(&r->quit)) break;
    int total = 0, more = 0, full = 0, failed = 0;
    for (int s = 0; s < 2; s++) {
      int fd = s ? r->sink : r->fd;
      if (fd < 0) continue;
      int batch = 0;
      int n = read_into_ring(r, fd, s, &produced, &batch);
      if (n == -1) full = 1;
      else if (n == -2) failed = 1;
      else { total += n; more |= !s && batch; }
    }
    if (total > 0 || failed) uv_async_send(&r->async);
    if (failed) { poll(p, 1, 100); pause = 0; continue; } // a failing socket is not spun on
    if (full) {
      // Announce, then look again: the loop may have consumed in between (it wakes us only if it
      // sees the flag, and it sees it or we see its progress).
      atomic_store(&r->waiting, 1);
      if (r->slots - (produced - atomic_load(&r->consumed)) >= STAGE_SLOTS &&
          room_at(r, produced, atomic_load(&r->consumed), (uint32_t)(STAGE_SLOTS * r->max_datagram)) >= 0) atomic_store(&r->waiting, 0);
      pause = 0;
      continue;
    }
    // More waiting (a full batch): read again at once. Emptied: pause before the next read.
    pause = !more && total > 0 && r->coalesce_ms > 0;
  }
  return NULL;
}

/** Loop thread: hands what the reader thread has put in the ring to JS, in order. */
static void on_ready(uv_async_t *handle) {
  reader_t *r = handle->data;
  if (r->stopped) return;
  napi_handle_scope scope;
  napi_open_handle_scope(r->env, &scope);
  int err = atomic_exchange(&r->error, 0);
  if (err) call_js(r, 0, -err);
  uint64_t produced = atomic_load(&r->produced);
  uint64_t consumed = atomic_load(&r->consumed);
  if (!r->stopped && produced != consumed) {
    uint64_t n = produced - consumed;
    uint32_t first = (uint32_t)(consumed % r->slots);
    if (n > MAX_PER_TURN) n = MAX_PER_TURN;
    // JS sees a contiguous run of entries: one that wraps goes in two calls.
    if (first + n > r->slots) n = r->slots - first;
    call_js(r, first, (int)n);
    if (!r->stopped) {
      atomic_store(&r->consumed, consumed + n);
      if (atomic_exchange(&r->waiting, 0)) wake_thread(r);
      if (consumed + n != produced) uv_async_send(&r->async);
    }
  }
  napi_close_handle_scope(r->env, scope);
}

static void on_closed(uv_handle_t *handle) {
  reader_t *r = handle->data;
  free(r->stage);
  free(r);
}

static void drop_js_refs(napi_env env, reader_t *r) {
  napi_delete_reference(env, r->cb_ref);
  napi_delete_reference(env, r->data_ref);
  napi_delete_reference(env, r->meta_ref);
  napi_async_destroy(env, r->actx);
}

/** Stops the thread and closes the sockets (the port is free on return); the memory is freed once libuv lets go of the handle. */
static void release(napi_env env, reader_t *r, int in_finalizer) {
  if (r->stopped) return;
  r->stopped = 1;
  atomic_store(&r->quit, 1);
  wake_thread(r);
  if (r->thread_started) pthread_join(r->thread, NULL);
  close(r->fd);
  r->fd = -1;
  if (r->sink >= 0) close(r->sink);
  r->sink = -1;
  close(r->wake);
  // A finalizer runs during GC, where JS references are not to be touched: they are left (a leak
  // only when a reader is dropped without stop(), which the JS wrapper never does).
  if (!in_finalizer) drop_js_refs(env, r);
  uv_close((uv_handle_t *)&r->async, on_closed);
}

/** The handle's finalizer: a reader garbage-collected without stop() is stopped here. */
static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  release(env, data, 1);
}

static napi_value start(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 7) { napi_throw_type_error(env, NULL, "start(fd, sink, data, meta, maxDatagram, coalesceMs, callback)"); return NULL; }
  int32_t fd, sink, max_datagram, coalesce_ms;
  void *data, *meta;
  size_t data_len, meta_len;
  napi_typedarray_type type;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[1], &sink));
  CHECK(napi_get_buffer_info(env, argv[2], &data, &data_len));
  CHECK(napi_get_typedarray_info(env, argv[3], &type, &meta_len, &meta, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[4], &max_datagram));
  CHECK(napi_get_value_int32(env, argv[5], &coalesce_ms));
  size_t slots = meta_len / META_INTS;
  if (type != napi_int32_array || max_datagram <= 0 || slots < STAGE_SLOTS || data_len < (size_t)STAGE_SLOTS * (size_t)max_datagram || data_len > INT32_MAX) {
    close(fd); if (sink >= 0) close(sink);
    napi_throw_range_error(env, NULL, "start: meta must be an Int32Array of at least 64 entries and data hold 64 datagrams of maxDatagram");
    return NULL;
  }

  reader_t *r = calloc(1, sizeof *r);
  uint8_t *stage = malloc((size_t)STAGE_SLOTS * (size_t)max_datagram);
  int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (!r || !stage || wake < 0) {
    int e = wake < 0 ? errno : ENOMEM;
    free(r); free(stage); if (wake >= 0) close(wake);
    close(fd); if (sink >= 0) close(sink);
    return throw_errno(env, "start", e);
  }
  r->env = env;
  r->fd = fd;
  r->sink = sink;
  r->wake = wake;
  r->stage = stage;
  r->max_datagram = max_datagram;
  r->coalesce_ms = coalesce_ms > 0 ? coalesce_ms : 0;
  r->data = data;
  r->data_len = data_len;
  r->meta = meta;
  r->slots = (uint32_t)slots;
  for (int i = 0; i < STAGE_SLOTS; i++) {
    r->iov[i].iov_base = stage + (size_t)i * (size_t)max_datagram;
    r->iov[i].iov_len = (size_t)max_datagram;
    r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
    r->msgs[i].msg_hdr.msg_iovlen = 1;
    r->msgs[i].msg_hdr.msg_name = &r->addrs[i];
  }
  // Sink datagrams are not copied: no buffer, only the length (MSG_TRUNC) and the sender.
  for (int i = 0; i < SINK_SLOTS; i++) r->sink_msgs[i].msg_hdr.msg_name = &r->sink_addrs[i];
  // The buffers are held by reference so they outlive every batch written into them.
  napi_value name, handle;
  CHECK(napi_create_reference(env, argv[2], 1, &r->data_ref));
  CHECK(napi_create_reference(env, argv[3], 1, &r->meta_ref));
  CHECK(napi_create_reference(env, argv[6], 1, &r->cb_ref));
  CHECK(napi_create_object(env, &handle));
  CHECK(napi_create_string_utf8(env, "netconsole-hub:udp-batch", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, handle, name, &r->actx));

  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  int rc = uv_async_init(loop, &r->async, on_ready);
  if (rc != 0) {
    drop_js_refs(env, r);
    close(fd); if (sink >= 0) close(sink); close(wake);
    free(stage); free(r);
    return throw_errno(env, "uv_async_init", -rc);
  }
  r->async.data = r;
  rc = pthread_create(&r->thread, NULL, reader_main, r);
  if (rc != 0) { release(env, r, 0); return throw_errno(env, "pthread_create", rc); }
  r->thread_started = 1;
  CHECK(napi_wrap(env, handle, r, finalize, NULL, NULL));
  return handle;
}

static napi_value stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  void *r;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  // Removing the wrap also cancels the finalizer, which would otherwise see freed memory.
  if (argc < 1 || napi_remove_wrap(env, argv[0], &r) != napi_ok) { napi_throw_type_error(env, NULL, "stop(handle): not a running reader"); return NULL; }
  release(env, r, 0);
  return NULL;
}

/** The kernel's drop count for a socket (receive buffer full, bad checksum), 0 when unknown. */
static uint32_t socket_drops(int fd) {
  uint32_t mem[SK_MEMINFO_VARS];
  socklen_t len = sizeof mem;
  if (fd < 0 || getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) != 0 || len <= SK_MEMINFO_DROPS * sizeof mem[0]) return 0;
  return mem[SK_MEMINFO_DROPS];
}

static napi_value drops(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out, v;
  reader_t *r;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_unwrap(env, argv[0], (void **)&r) != napi_ok) { napi_throw_type_error(env, NULL, "drops(handle): not a running reader"); return NULL; }
  CHECK(napi_create_array_with_length(env, 2, &out));
  CHECK(napi_create_uint32(env, socket_drops(r->fd), &v)); CHECK(napi_set_element(env, out, 0, v));
  CHECK(napi_create_uint32(env, socket_drops(r->sink), &v)); CHECK(napi_set_element(env, out, 1, v));
  return out;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "drops", NULL, drops, NULL, NULL, NULL, napi_default, NULL },
    { "bind", NULL, bind_socket, NULL, NULL, NULL, napi_default, NULL },
    { "start", NULL, start, NULL, NULL, NULL, napi_default, NULL },
    { "stop", NULL, stop, NULL, NULL, NULL, napi_default, NULL },
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(udp_batch, init)
