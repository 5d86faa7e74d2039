#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/os/unique_fd.h"
#include "worker/http/request_head.h"

namespace cosp::worker {

// One accepted client connection: its socket (always non-blocking, so every wait is a poll(2)
// with a deadline of our choosing), the bytes received and not yet used, and what the accept
// loop needs to police it. Owned by exactly one place at a time: the accept loop while it waits
// for a request head, a connection thread while a request runs.
class ClientConnection {
 public:
  using Clock = std::chrono::steady_clock;

  ClientConnection(int fd, std::string peer_address);

  int fd() const { return fd_.get(); }
  const std::string& peerAddress() const { return peer_; }

  // Received bytes not yet consumed: the rest of a head, a body, pipelined requests.
  std::string& buffer() { return buffer_; }
  void consume(std::size_t n);

  enum class ReadResult { Data, Eof, WouldBlock, Error };
  // One non-blocking recv(2) of at most `max_bytes`, appended to buffer() through a buffer on
  // the caller's stack: for the accept loop, whose thousands of idle connections must not each
  // keep the room of a read.
  ReadResult readOnce(std::size_t max_bytes = 16384);
  // Waits until readable (or the peer leaves) and reads once, appended to buffer(); WouldBlock
  // on the deadline. For connection threads: the read lands in buffer() itself (its room goes
  // when consumed), since a thread keeps every stack page it ever touched while it then holds a
  // stream, and a 16 KiB stack buffer here was 2 of its 6 pages (issue 17).
  ReadResult readUntil(Clock::time_point deadline, std::size_t max_bytes = 16384);
  // The same into dst[0, capacity), straight where the bytes belong (a request body); `got` is
  // what arrived.
  ReadResult readUntil(Clock::time_point deadline, char* dst, std::size_t capacity, std::size_t& got);
  // Writes all of `data` before the deadline (one total deadline, however the kernel splits the
  // writes: a client that reads a byte now and then cannot stretch it). False when the peer is
  // gone or the deadline passed.
  bool writeAll(std::string_view data, Clock::time_point deadline);
  // The same for two pieces sent as one (a response head and its body leave in one segment).
  bool writeAll(std::string_view first, std::string_view second, Clock::time_point deadline);

  // The read side saw end of file: the client half-closed (or closed) after sending.
  bool peerClosed() const { return peer_closed_; }
  void shutdown();  // both directions; wakes a thread blocked on this socket

  int served = 0;                                    // requests answered on this connection
  Clock::time_point opened;                          // accepted
  Clock::time_point deadline;                        // while parked: when the accept loop closes it
  bool keep_alive_idle = false;                      // parked after a request, no byte of the next one yet
  bool request_line_checked = false;                 // the first line of the pending head was validated early
  std::optional<RequestHead> pending_head;           // parsed by the accept loop, run by a thread
  std::size_t scanned = 0;                           // bytes of buffer() searched for the end of the head
  std::list<ClientConnection*>::iterator parked_at;  // the accept loop's LRU position

 private:
  // One non-blocking recv(2) into dst[0, capacity) (EINTR retried); `got` is what arrived.
  ReadResult receive(char* dst, std::size_t capacity, std::size_t& got);

  common::UniqueFd fd_;
  std::string peer_;
  std::string buffer_;
  bool peer_closed_ = false;
};

// Where the head that starts `buffer` ends ("\r\n\r\n"), searching from `from` (what an earlier
// call already searched, less 3): the parser only runs once a whole head is there, so a client
// that trickles its head byte by byte costs linear time, not quadratic.
std::size_t findHeadEnd(std::string_view buffer, std::size_t from);

}  // namespace cosp::worker
