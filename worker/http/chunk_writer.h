#pragma once

#include <string_view>

namespace cosp::worker {

// Writes `data` as one HTTP/1.1 chunk ("<hex size>\r\n<data>\r\n") straight to the connected
// socket `fd`: the framing and the data leave in one sendmsg(2), without first being copied into
// a buffer together. Partial writes are continued; a blocking socket's SO_SNDTIMEO bounds each
// wait. Empty data writes nothing (an empty chunk would end the body). False when the peer is
// gone or the send timed out: the connection is then unusable.
//
// Why not POCO's HTTPChunkedOutputStream for streamed events: it copies every byte twice (its
// 4 KiB stream buffer, then a std::string that joins framing and data, which keeps the capacity
// of the largest write for the rest of the connection) and reports a dead client only as a bad
// stream state after a later write (ARCHITECTURE §5 #3).
bool sendChunk(int fd, std::string_view data);

}  // namespace cosp::worker
