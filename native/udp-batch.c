// Batched UDP receive for the collector: one recvmmsg(2) fills up to SLOTS datagrams into a buffer
// JS already holds, then one call into JS handles the whole batch. Node's dgram costs about 4 µs per
// datagram before our code runs (a syscall, a Buffer, an rinfo object with an address string and a
// JS call each); here those costs are paid once per batch.
//
// The socket is ours (socket + bind here, so no node internals are touched); readiness comes from a
// uv_poll handle on node's own event loop, so everything runs on the JS thread, in order, with no
// locks. Linux only (recvmmsg); elsewhere the build fails and the collector uses dgram.
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
//   start(fd, sink, data Buffer (slots * slotSize), meta Int32Array (slots * 8), slotSize, coalesceMs, callback)
//     -> handle. callback(n) after each batch: n > 0 datagrams, slot i at data[i*slotSize], its
//     meta at meta[i*8..]: [length, port, family, truncated, address words 0..3 (network order bytes)].
//     A datagram longer than slotSize is read truncated (only slotSize bytes are copied); its length
//     is still the true one and `truncated` is 1. Datagrams from the sink come as truncated batches
//     with no bytes copied at all.
//     callback(-errno) when the socket fails.
//     From start on, the reader owns fd and sink: they are closed by stop (before it returns), or
//     at once if start fails.
//   drops(handle) -> [datagrams the kernel dropped for the socket, for the sink] (SO_MEMINFO).
//   stop(handle): stops reading and closes the sockets (the callback is never called again).
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <linux/filter.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define META_INTS 8
/** Sink datagrams read per recvmmsg (no bytes are copied, only lengths and senders). */
#define SINK_SLOTS 32
/** The sink's receive buffer: a few oversized datagrams, read for their senders; the rest overflow, counted. */
#define SINK_RCVBUF (256 * 1024)
/** Batches handled per readiness callback before the loop gets a turn (timers, HTTP). */
#define MAX_ROUNDS 4

typedef struct {
  napi_env env;
  uv_poll_t poll;
  uv_timer_t timer;
  uv_poll_t sink_poll;
  int fd;
  /** The oversized datagrams' socket, or -1. */
  int sink;
  /** Pause after a drained read (ms; 0 = never pause): see on_readable. */
  int coalesce_ms;
  int pending_close;
  /** Whether the last read emptied the socket (a full last batch means more is waiting). */
  int drained;
  int slots;
  int slot_size;
  int stopped;
  uint8_t *data;
  int32_t *meta;
  napi_ref data_ref, meta_ref, cb_ref;
  napi_async_context async;
  struct mmsghdr *msgs;
  struct iovec *iov;
  struct sockaddr_storage *addrs;
  struct mmsghdr sink_msgs[SINK_SLOTS];
  struct sockaddr_storage sink_addrs[SINK_SLOTS];
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

/** Calls the JS callback with one number; an exception there goes to process 'uncaughtException'. */
static void call_js(reader_t *r, int n) {
  napi_env env = r->env;
  napi_value cb, global, arg, result;
  if (napi_get_reference_value(env, r->cb_ref, &cb) != napi_ok || cb == NULL) return;
  napi_get_global(env, &global);
  napi_create_int32(env, n, &arg);
  if (napi_make_callback(env, r->async, global, cb, 1, &arg, &result) == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
}

static void fill_meta(int32_t *m, const struct mmsghdr *msg, const struct sockaddr_storage *a) {
  m[0] = (int32_t)msg->msg_len;
  m[3] = (msg->msg_hdr.msg_flags & MSG_TRUNC) != 0;
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

/** Reads until the socket is drained (or MAX_ROUNDS batches); returns how many datagrams. */
static int read_batches(reader_t *r) {
  int total = 0;
  r->drained = 1;
  for (int round = 0; round < MAX_ROUNDS && !r->stopped; round++) {
    for (int i = 0; i < r->slots; i++) {
      r->msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
      r->msgs[i].msg_hdr.msg_flags = 0;
    }
    // MSG_TRUNC: msg_len is the datagram's true length even when the slot cut it short, so an
    // oversized datagram costs one short copy and is still counted by its size.
    int n = recvmmsg(r->fd, r->msgs, (unsigned)r->slots, MSG_DONTWAIT | MSG_TRUNC, NULL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) call_js(r, -errno);
      break;
    }
    for (int i = 0; i < n; i++) fill_meta(r->meta + i * META_INTS, &r->msgs[i], &r->addrs[i]);
    total += n;
    if (n > 0) call_js(r, n);
    if (n < r->slots) break;
    r->drained = round + 1 < MAX_ROUNDS;
  }
  return total;
}

static void on_readable(uv_poll_t *handle, int status, int events);

/**
 * Coalescing. A sender at a high rate wakes an idle reader for nearly every datagram (2.5 per
 * wake-up at 100 000/s on loopback), and the wake-up costs more than the datagram. So after a read,
 * the reader stops watching the socket for coalesce_ms and then reads what piled up, as long as
 * something keeps arriving; a read that finds nothing goes back to waiting. The first datagram after
 * a quiet spell is read at once; later ones wait at most coalesce_ms (plus timer slack). A read
 * that leaves datagrams waiting (MAX_ROUNDS full batches) does not pause: the poll, level-
 * triggered, fires again on the next loop iteration, so the pause never caps the rate.
 */
static void on_timer(uv_timer_t *timer) {
  reader_t *r = timer->data;
  if (r->stopped) return;
  napi_handle_scope scope;
  napi_open_handle_scope(r->env, &scope);
  int n = read_batches(r);
  napi_close_handle_scope(r->env, scope);
  if (r->stopped) return;
  if (n > 0 && r->drained) {
    uv_timer_start(&r->timer, on_timer, (uint64_t)r->coalesce_ms, 0);
    return;
  }
  int rc = uv_poll_start(&r->poll, UV_READABLE, on_readable);
  if (rc != 0) {
    // Reading has stopped: say so rather than go quiet.
    napi_open_handle_scope(r->env, &scope);
    call_js(r, rc);
    napi_close_handle_scope(r->env, scope);
  }
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  reader_t *r = handle->data;
  if (r->stopped) return;
  napi_handle_scope scope;
  napi_open_handle_scope(r->env, &scope);
  if (status < 0) call_js(r, status);
  else read_batches(r);
  napi_close_handle_scope(r->env, scope);
  if (!r->stopped && status >= 0 && r->coalesce_ms > 0 && r->drained) {
    uv_poll_stop(&r->poll);
    uv_timer_start(&r->timer, on_timer, (uint64_t)r->coalesce_ms, 0);
  }
}

/** The sink: lengths and senders only (zero-byte buffers), handed to JS as truncated datagrams. */
static void on_sink_readable(uv_poll_t *handle, int status, int events) {
  (void)events;
  reader_t *r = handle->data;
  if (r->stopped) return;
  napi_handle_scope scope;
  napi_open_handle_scope(r->env, &scope);
  if (status < 0) call_js(r, status);
  int slots = r->slots < SINK_SLOTS ? r->slots : SINK_SLOTS;
  for (int round = 0; status >= 0 && round < MAX_ROUNDS && !r->stopped; round++) {
    for (int i = 0; i < slots; i++) {
      r->sink_msgs[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
      r->sink_msgs[i].msg_hdr.msg_flags = 0;
    }
    int n = recvmmsg(r->sink, r->sink_msgs, (unsigned)slots, MSG_DONTWAIT | MSG_TRUNC, NULL);
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) call_js(r, -errno);
      break;
    }
    for (int i = 0; i < n; i++) {
      int32_t *m = r->meta + i * META_INTS;
      fill_meta(m, &r->sink_msgs[i], &r->sink_addrs[i]);
      m[3] = 1;
    }
    if (n > 0) call_js(r, n);
    if (n < slots) break;
  }
  napi_close_handle_scope(r->env, scope);
}

/** Called once for each handle; the last one frees the reader. */
static void on_closed(uv_handle_t *handle) {
  reader_t *r = handle->data;
  if (--r->pending_close > 0) return;
  if (r->fd >= 0) close(r->fd);
  if (r->sink >= 0) close(r->sink);
  free(r->msgs);
  free(r->iov);
  free(r->addrs);
  free(r);
}

static void drop_js_refs(napi_env env, reader_t *r) {
  napi_delete_reference(env, r->cb_ref);
  napi_delete_reference(env, r->data_ref);
  napi_delete_reference(env, r->meta_ref);
  napi_async_destroy(env, r->async);
}

/** Stops reading; the socket is closed and the memory freed once libuv has let go of the handle. */
static void release(napi_env env, reader_t *r, int in_finalizer) {
  if (r->stopped) return;
  r->stopped = 1;
  uv_poll_stop(&r->poll);
  uv_timer_stop(&r->timer);
  if (r->sink >= 0) uv_poll_stop(&r->sink_poll);
  // Safe once the polls are stopped (libuv has forgotten the fds), and the port is free on return.
  close(r->fd);
  r->fd = -1;
  int sink = r->sink >= 0;
  if (sink) close(r->sink);
  r->sink = -1;
  // A finalizer runs during GC, where JS references are not to be touched: they are left (a leak
  // only when a reader is dropped without stop(), which the JS wrapper never does).
  if (!in_finalizer) drop_js_refs(env, r);
  r->pending_close = 2 + sink;
  uv_close((uv_handle_t *)&r->poll, on_closed);
  uv_close((uv_handle_t *)&r->timer, on_closed);
  if (sink) uv_close((uv_handle_t *)&r->sink_poll, on_closed);
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
  if (argc < 7) { napi_throw_type_error(env, NULL, "start(fd, sink, data, meta, slotSize, coalesceMs, callback)"); return NULL; }
  int32_t fd, sink, slot_size, coalesce_ms;
  void *data, *meta;
  size_t data_len, meta_len;
  napi_typedarray_type type;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_value_int32(env, argv[1], &sink));
  CHECK(napi_get_buffer_info(env, argv[2], &data, &data_len));
  CHECK(napi_get_typedarray_info(env, argv[3], &type, &meta_len, &meta, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[4], &slot_size));
  CHECK(napi_get_value_int32(env, argv[5], &coalesce_ms));
  if (type != napi_int32_array || slot_size <= 0) { napi_throw_type_error(env, NULL, "start: meta must be an Int32Array and slotSize > 0"); return NULL; }
  int slots = (int)(data_len / (size_t)slot_size);
  if (slots < 1 || meta_len < (size_t)slots * META_INTS) { napi_throw_range_error(env, NULL, "start: buffers too small for one slot"); return NULL; }

  reader_t *r = calloc(1, sizeof *r);
  if (!r) { close(fd); if (sink >= 0) close(sink); return throw_errno(env, "start", ENOMEM); }
  r->env = env;
  r->fd = fd;
  r->sink = sink;
  r->slots = slots;
  r->slot_size = slot_size;
  r->coalesce_ms = coalesce_ms > 0 ? coalesce_ms : 0;
  r->data = data;
  r->meta = meta;
  r->msgs = calloc((size_t)slots, sizeof *r->msgs);
  r->iov = calloc((size_t)slots, sizeof *r->iov);
  r->addrs = calloc((size_t)slots, sizeof *r->addrs);
  if (!r->msgs || !r->iov || !r->addrs) { free(r->msgs); free(r->iov); free(r->addrs); free(r); close(fd); if (sink >= 0) close(sink); return throw_errno(env, "start", ENOMEM); }
  for (int i = 0; i < slots; i++) {
    r->iov[i].iov_base = r->data + (size_t)i * (size_t)slot_size;
    r->iov[i].iov_len = (size_t)slot_size;
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
  CHECK(napi_async_init(env, handle, name, &r->async));

  uv_loop_t *loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  int rc = uv_timer_init(loop, &r->timer);
  if (rc != 0) {
    drop_js_refs(env, r);
    free(r->msgs); free(r->iov); free(r->addrs); free(r);
    close(fd);
    if (sink >= 0) close(sink);
    return throw_errno(env, "uv_timer_init", -rc);
  }
  r->timer.data = r;
  rc = uv_poll_init(loop, &r->poll, fd);
  if (rc != 0) {
    // Only the timer is a live handle: closing it frees the reader and the socket.
    r->stopped = 1;
    r->pending_close = 1;
    drop_js_refs(env, r);
    uv_close((uv_handle_t *)&r->timer, on_closed);
    return throw_errno(env, "uv_poll_init", -rc);
  }
  r->poll.data = r;
  if (r->sink >= 0) {
    if (uv_poll_init(loop, &r->sink_poll, r->sink) != 0) {
      // Without a poll the sink is closed: the group then has one socket, which gets everything
      // (oversized datagrams are still read truncated and counted, only no longer kept apart).
      close(r->sink);
      r->sink = -1;
    } else {
      r->sink_poll.data = r;
      // Should this fail, the unread sink overflows and its kernel drop count still counts them.
      uv_poll_start(&r->sink_poll, UV_READABLE, on_sink_readable);
    }
  }
  rc = uv_poll_start(&r->poll, UV_READABLE, on_readable);
  if (rc != 0) { release(env, r, 0); return throw_errno(env, "uv_poll_start", -rc); }
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
