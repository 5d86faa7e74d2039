#pragma once

#include <chrono>
#include <string_view>

namespace cosp::worker {

// What a chunk write may take when the caller gives no limit (SEND_TIMEOUT's default).
inline constexpr std::chrono::milliseconds kDefaultChunkSendTimeout{60000};

// Writes `data` as one HTTP/1.1 chunk ("<hex size>\r\n<data>\r\n") straight to the connected
// socket `fd`: the framing and the data leave in one sendmsg(2), without first being copied into
// a buffer together. Partial writes are continued until the whole chunk is out or `timeout` has
// passed, counted across all of them: a client that reads a trickle cannot keep the stream (and
// its upstream connection) forever. The socket's own SO_SNDTIMEO plays no part (every send is
// MSG_DONTWAIT; waits are poll(2) with the time left), because it restarts with each partial
// write. Empty data writes nothing (an empty chunk would end the body). False when the peer is
// gone or the time ran out: the connection is then unusable (part of a chunk may have been sent).
//
// Why not POCO's HTTPChunkedOutputStream for streamed events: it copies every byte twice (its
// 4 KiB stream buffer, then a std::string that joins framing and data, which keeps the capacity
// of the largest write for the rest of the connection) and reports a dead client only as a bad
// stream state after a later write (docs/ARCHITECTURE.md §6.3).
bool sendChunk(int fd, std::string_view data, std::chrono::milliseconds timeout = kDefaultChunkSendTimeout);

}  // namespace cosp::worker
