// The connection loop of `nomaly serve` (http_connection.hpp): deadlines, refusals that close, and idle
// keep-alive connections that give way to waiting clients.
#include "http_connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <sstream>

namespace nomaly::serve::detail {

namespace {

using Clock = std::chrono::steady_clock;

thread_local ConnectionState* tl_connection = nullptr;

/// An idle keep-alive connection gives its worker to a waiting client after this much silence: long enough for
/// a client's next request on a busy connection, short enough that a new client hardly notices.
constexpr auto kIdleGrace = std::chrono::milliseconds(20);
/// After a refusal the server stops writing, then reads and drops what the client still sends for at most this
/// long, so that the client reads the answer instead of a connection reset.
constexpr auto kLinger = std::chrono::milliseconds(1000);

/// poll() for `events` until `deadline`; false on timeout or error.
bool wait_for(int sock, short events, Clock::time_point deadline) {
  while (true) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{sock, events, 0};
    const int r = ::poll(&p, 1, static_cast<int>(std::max<long long>(left, 0)));
    if (r > 0) return true;
    if (r == 0 || errno != EINTR) return false;
  }
}

/// "ip", port of a socket address (IPv4 or IPv6).
void address_of(const sockaddr_storage& a, std::string& ip, int& port) {
  char buf[INET6_ADDRSTRLEN] = {};
  if (a.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
    ::inet_ntop(AF_INET, &v4.sin_addr, buf, sizeof buf);
    port = ntohs(v4.sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
    ::inet_ntop(AF_INET6, &v6.sin6_addr, buf, sizeof buf);
    port = ntohs(v6.sin6_port);
  }
  ip = buf;
}

/// A buffered socket stream for cpp-httplib's parser. Every read waits at most until the deadline of the
/// request in flight; request line + headers are counted against max_header_bytes.
class SocketStream final : public httplib::Stream {
 public:
  SocketStream(int sock, const ConnectionLimits& limits, ConnectionState& state)
      : sock_(sock), limits_(limits), state_(state) {}

  bool is_readable() const override { return off_ < len_ || wait_for(sock_, POLLIN, deadline_); }
  bool is_writable() const override { return wait_for(sock_, POLLOUT, Clock::now() + limits_.read_timeout); }

  ssize_t read(char* ptr, size_t size) override {
    if (off_ == len_) {
      if (!wait_for(sock_, POLLIN, deadline_)) {
        state_.timed_out = true;
        return -1;
      }
      ssize_t got;
      do got = ::recv(sock_, buf_.data(), buf_.size(), 0);
      while (got < 0 && errno == EINTR);
      if (got <= 0) return got;
      off_ = 0;
      len_ = static_cast<std::size_t>(got);
    }
    const std::size_t n = std::min(size, len_ - off_);
    if (state_.in_headers && (header_bytes_ += n) > limits_.max_header_bytes) {
      state_.headers_too_large = true;
      return -1;
    }
    std::memcpy(ptr, buf_.data() + off_, n);
    off_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    ssize_t sent;
    do sent = ::send(sock_, ptr, size, MSG_NOSIGNAL);
    while (sent < 0 && errno == EINTR);
    return sent;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { peer(ip, port, true); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { peer(ip, port, false); }
  socket_t socket() const override { return sock_; }

  /// Waits for the first byte of the next request: true when there is one (or the peer closed, which the parser
  /// then sees). False after `idle`, when the server stops, or - past a short grace - when a client waits for a worker.
  bool wait_next_request(std::chrono::milliseconds idle, const std::atomic<int>& waiting,
                         const std::atomic<socket_t>& listener) const {
    const auto start = Clock::now(), end = start + idle;
    while (off_ == len_) {
      const auto now = Clock::now();
      if (now >= end || listener == INVALID_SOCKET || (waiting > 0 && now - start >= kIdleGrace)) return false;
      if (wait_for(sock_, POLLIN, std::min(end, now + kIdleGrace))) return true;
    }
    return true;
  }

  void begin_request(Clock::time_point deadline) {
    deadline_ = deadline;
    header_bytes_ = 0;
  }

  /// Stops writing (the client sees the answer, then end of stream) and drops what it still sends, briefly.
  void linger() {
    ::shutdown(sock_, SHUT_WR);
    const auto end = Clock::now() + std::min<Clock::duration>(kLinger, limits_.read_timeout);
    while (wait_for(sock_, POLLIN, end))
      if (::recv(sock_, buf_.data(), buf_.size(), 0) <= 0) break;
  }

 private:
  void peer(std::string& ip, int& port, bool remote) const {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    const int r = remote ? ::getpeername(sock_, reinterpret_cast<sockaddr*>(&a), &len)
                         : ::getsockname(sock_, reinterpret_cast<sockaddr*>(&a), &len);
    if (r == 0) address_of(a, ip, port);
  }

  int sock_;
  const ConnectionLimits& limits_;
  ConnectionState& state_;
  Clock::time_point deadline_ = Clock::now();
  std::size_t header_bytes_ = 0, off_ = 0, len_ = 0;
  std::array<char, 64 << 10> buf_{};
};

/// A whole 408 or 431 response in the protocol's shape, for when cpp-httplib has no request to answer.
void answer_raw(httplib::Stream& strm, int status, const std::string& message) {
  std::string body = "{\"error\":\"" + message + "\"}";  // messages are ours: nothing to escape
  std::string head = "HTTP/1.1 " + std::to_string(status) + (status == 408 ? " Request Timeout" : " Request Header Fields Too Large") +
                     "\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: " +
                     std::to_string(body.size()) + "\r\n\r\n";
  strm.write(head + body);
}

/// cpp-httplib's pool, counting the connections accepted but not yet picked up by a worker.
class CountingPool final : public httplib::ThreadPool {
 public:
  CountingPool(std::size_t n, std::atomic<int>& waiting) : ThreadPool(n), waiting_(waiting) {}
  void enqueue(std::function<void()> fn) override {
    ++waiting_;
    ThreadPool::enqueue([this, fn = std::move(fn)] {
      --waiting_;
      fn();
    });
  }

 private:
  std::atomic<int>& waiting_;
};

}  // namespace

ConnectionState* current_connection() { return tl_connection; }

std::string timeout_message(const ConnectionLimits& limits) {
  std::ostringstream o;
  o << "request not received in time: the server waits " << limits.read_timeout.count() / 1000.0
    << " s for a whole request (--read-timeout)";
  return o.str();
}

std::string headers_too_large_message(const ConnectionLimits& limits) {
  return "request line and headers are larger than " + std::to_string(limits.max_header_bytes) + " bytes";
}

HttpServer::HttpServer(std::size_t workers, ConnectionLimits limits) : limits_(limits) {
  // cpp-httplib owns the queue it gets from this factory (it wraps the pointer in a unique_ptr).
  new_task_queue = [this, workers] { return new CountingPool(workers, waiting_); };
  // Only the keep-alive count is cpp-httplib's; its timeouts are replaced by the deadlines above.
  set_keep_alive_max_count(1000);
  set_keep_alive_timeout(std::chrono::ceil<std::chrono::seconds>(limits_.keep_alive).count());  // its Keep-Alive header
}

bool HttpServer::process_and_close_socket(socket_t sock) {
  ConnectionState state;
  // The stream's 64 KiB buffer lives on the heap: worker stacks stay small.
  const auto strm = std::make_unique<SocketStream>(sock, limits_, state);
  tl_connection = &state;
  bool ok = true, first = true;
  for (std::size_t left = keep_alive_max_count_; left > 0; --left) {
    if (!strm->wait_next_request(first ? limits_.read_timeout : limits_.keep_alive, waiting_, svr_sock_)) break;
    first = false;
    state = ConnectionState{};
    strm->begin_request(Clock::now() + limits_.read_timeout);
    bool client_closes = false;
    ok = process_request(*strm, left == 1, client_closes, nullptr);
    // A request line that never ended in time (or within the header limit) makes cpp-httplib give up without
    // an answer: answer here.
    if (!ok && (state.timed_out || state.headers_too_large)) {
      answer_raw(*strm, state.timed_out ? 408 : 431, state.timed_out ? timeout_message(limits_) : headers_too_large_message(limits_));
      state.close_after = true;
    }
    if (!ok || client_closes || state.close_after) break;
  }
  tl_connection = nullptr;
  if (state.close_after) strm->linger();
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace nomaly::serve::detail
