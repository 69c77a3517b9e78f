// Batched UDP receive for the collector: one recvmmsg(2) fills up to SLOTS datagrams into a buffer
// JS already holds, then one call into JS handles the whole batch. Node's dgram costs about 4 µs per
// datagram before our code runs (a syscall, a Buffer, an rinfo object with an address string and a
// JS call each); here those costs are paid once per batch.
//
// The socket is ours (socket + bind here, so no node internals are touched); readiness comes from a
// uv_poll handle on node's own event loop, so everything runs on the JS thread, in order, with no
// locks. Linux only (recvmmsg); elsewhere the build fails and the collector uses dgram.
//
// JS contract (see src/receiver/udp-batch.ts):
//   bind(family 4|6, address text, port, wanted receive buffer bytes) -> [fd, bound port, granted]
//     throws Error with .code = 'EADDRINUSE' | 'EACCES' | ... on failure.
//   start(fd, data Buffer (slots * slotSize), meta Int32Array (slots * 8), slotSize, coalesceMs, callback)
//     -> handle. callback(n) after each batch: n > 0 datagrams, slot i at data[i*slotSize], its
//     meta at meta[i*8..]: [length, port, family, truncated, address words 0..3 (network order bytes)].
//     A datagram longer than slotSize is read truncated (only slotSize bytes are copied); its length
//     is still the true one and `truncated` is 1.
//     callback(-errno) when the socket fails.
//     From start on, the reader owns fd: it is closed by stop (before it returns), or at once if
//     start fails.
//   stop(handle): stops reading and closes the socket (the callback is never called again).
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define META_INTS 8
/** Batches handled per readiness callback before the loop gets a turn (timers, HTTP). */
#define MAX_ROUNDS 4

typedef struct {
  napi_env env;
  uv_poll_t poll;
  uv_timer_t timer;
  int fd;
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

static napi_value bind_socket(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) { napi_throw_type_error(env, NULL, "bind(family, address, port, receiveBuffer)"); return NULL; }
  int32_t family, port, wanted;
  char text[INET6_ADDRSTRLEN + 1];
  size_t len;
  CHECK(napi_get_value_int32(env, argv[0], &family));
  CHECK(napi_get_value_string_utf8(env, argv[1], text, sizeof text, &len));
  CHECK(napi_get_value_int32(env, argv[2], &port));
  CHECK(napi_get_value_int32(env, argv[3], &wanted));

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
  int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1;
  // As node's udp6 with ipv6Only: an IPv6 listener does not also take the IPv4 port.
  if (family == 6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) {
    int e = errno; close(fd); return throw_errno(env, "setsockopt(IPV6_V6ONLY)", e);
  }
  // Capped by net.core.rmem_max; the granted size is reported, not enforced.
  if (wanted > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &wanted, sizeof wanted);
  if (bind(fd, (struct sockaddr *)&ss, sslen) != 0) { int e = errno; close(fd); return throw_errno(env, "bind", e); }
  struct sockaddr_storage bound;
  socklen_t blen = sizeof bound;
  int granted = 0;
  socklen_t glen = sizeof granted;
  if (getsockname(fd, (struct sockaddr *)&bound, &blen) != 0) { int e = errno; close(fd); return throw_errno(env, "getsockname", e); }
  getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &granted, &glen);
  int bport = ntohs(family == 6 ? ((struct sockaddr_in6 *)&bound)->sin6_port : ((struct sockaddr_in *)&bound)->sin_port);

  napi_value out, v;
  CHECK(napi_create_array_with_length(env, 3, &out));
  CHECK(napi_create_int32(env, fd, &v)); CHECK(napi_set_element(env, out, 0, v));
  CHECK(napi_create_int32(env, bport, &v)); CHECK(napi_set_element(env, out, 1, v));
  CHECK(napi_create_int32(env, granted, &v)); CHECK(napi_set_element(env, out, 2, v));
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
    for (int i = 0; i < n; i++) {
      int32_t *m = r->meta + i * META_INTS;
      const struct sockaddr_storage *a = &r->addrs[i];
      m[0] = (int32_t)r->msgs[i].msg_len;
      m[3] = (r->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
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

/** Called once for each of the two handles; the second frees the reader. */
static void on_closed(uv_handle_t *handle) {
  reader_t *r = handle->data;
  if (--r->pending_close > 0) return;
  if (r->fd >= 0) close(r->fd);
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
  // Safe once the poll is stopped (libuv has forgotten the fd), and the port is free on return.
  close(r->fd);
  r->fd = -1;
  // A finalizer runs during GC, where JS references are not to be touched: they are left (a leak
  // only when a reader is dropped without stop(), which the JS wrapper never does).
  if (!in_finalizer) drop_js_refs(env, r);
  r->pending_close = 2;
  uv_close((uv_handle_t *)&r->poll, on_closed);
  uv_close((uv_handle_t *)&r->timer, on_closed);
}

/** The handle's finalizer: a reader garbage-collected without stop() is stopped here. */
static void finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  release(env, data, 1);
}

static napi_value start(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6) { napi_throw_type_error(env, NULL, "start(fd, data, meta, slotSize, coalesceMs, callback)"); return NULL; }
  int32_t fd, slot_size, coalesce_ms;
  void *data, *meta;
  size_t data_len, meta_len;
  napi_typedarray_type type;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  CHECK(napi_get_buffer_info(env, argv[1], &data, &data_len));
  CHECK(napi_get_typedarray_info(env, argv[2], &type, &meta_len, &meta, NULL, NULL));
  CHECK(napi_get_value_int32(env, argv[3], &slot_size));
  CHECK(napi_get_value_int32(env, argv[4], &coalesce_ms));
  if (type != napi_int32_array || slot_size <= 0) { napi_throw_type_error(env, NULL, "start: meta must be an Int32Array and slotSize > 0"); return NULL; }
  int slots = (int)(data_len / (size_t)slot_size);
  if (slots < 1 || meta_len < (size_t)slots * META_INTS) { napi_throw_range_error(env, NULL, "start: buffers too small for one slot"); return NULL; }

  reader_t *r = calloc(1, sizeof *r);
  if (!r) { close(fd); return throw_errno(env, "start", ENOMEM); }
  r->env = env;
  r->fd = fd;
  r->slots = slots;
  r->slot_size = slot_size;
  r->coalesce_ms = coalesce_ms > 0 ? coalesce_ms : 0;
  r->data = data;
  r->meta = meta;
  r->msgs = calloc((size_t)slots, sizeof *r->msgs);
  r->iov = calloc((size_t)slots, sizeof *r->iov);
  r->addrs = calloc((size_t)slots, sizeof *r->addrs);
  if (!r->msgs || !r->iov || !r->addrs) { free(r->msgs); free(r->iov); free(r->addrs); free(r); close(fd); return throw_errno(env, "start", ENOMEM); }
  for (int i = 0; i < slots; i++) {
    r->iov[i].iov_base = r->data + (size_t)i * (size_t)slot_size;
    r->iov[i].iov_len = (size_t)slot_size;
    r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
    r->msgs[i].msg_hdr.msg_iovlen = 1;
    r->msgs[i].msg_hdr.msg_name = &r->addrs[i];
  }
  // The buffers are held by reference so they outlive every batch written into them.
  napi_value name, handle;
  CHECK(napi_create_reference(env, argv[1], 1, &r->data_ref));
  CHECK(napi_create_reference(env, argv[2], 1, &r->meta_ref));
  CHECK(napi_create_reference(env, argv[5], 1, &r->cb_ref));
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

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    { "bind", NULL, bind_socket, NULL, NULL, NULL, napi_default, NULL },
    { "start", NULL, start, NULL, NULL, NULL, napi_default, NULL },
    { "stop", NULL, stop, NULL, NULL, NULL, napi_default, NULL },
  };
  CHECK(napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(udp_batch, init)
