// sendChunk on socketpairs: framing, partial writes, a vanished peer.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "common/util/strings.h"
#include "worker/http/chunk_writer.h"

using cosp::worker::sendChunk;

namespace {

struct SocketPair {
  int writer = -1;
  int reader = -1;
  SocketPair() {
    int fds[2];
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    writer = fds[0];
    reader = fds[1];
    timeval tv{5, 0};  // every wait in these tests has a deadline
    ::setsockopt(writer, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::setsockopt(reader, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~SocketPair() {
    if (writer >= 0) ::close(writer);
    if (reader >= 0) ::close(reader);
  }
  // Everything readable until the writer side is closed (or a read times out).
  std::string readAll() {
    std::string out;
    char buf[65536];
    for (;;) {
      ssize_t n = ::recv(reader, buf, sizeof buf, 0);
      if (n <= 0) return out;
      out.append(buf, static_cast<size_t>(n));
    }
  }
};

}  // namespace

TEST(ChunkWriter, FramesDataAsOneChunk) {
  SocketPair pair;
  ASSERT_TRUE(sendChunk(pair.writer, "data: {\"a\":1}\n\n"));
  ASSERT_TRUE(sendChunk(pair.writer, std::string(300, 'x')));
  ::shutdown(pair.writer, SHUT_WR);
  EXPECT_EQ(pair.readAll(), "f\r\ndata: {\"a\":1}\n\n\r\n12c\r\n" + std::string(300, 'x') + "\r\n");
}

TEST(ChunkWriter, EmptyDataWritesNothingBecauseAnEmptyChunkEndsTheBody) {
  SocketPair pair;
  ASSERT_TRUE(sendChunk(pair.writer, ""));
  ::shutdown(pair.writer, SHUT_WR);
  EXPECT_EQ(pair.readAll(), "");
}

TEST(ChunkWriter, ContinuesPartialWritesUntilEverythingIsSent) {
  SocketPair pair;
  int small = 4096;  // far below the data: sendmsg must return short several times
  ::setsockopt(pair.writer, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  std::string data;
  for (int i = 0; i < 200000; ++i) data.push_back(static_cast<char>('a' + i % 26));
  std::string received;
  std::thread reader([&] { received = pair.readAll(); });
  const bool ok = sendChunk(pair.writer, data);
  ::shutdown(pair.writer, SHUT_WR);
  reader.join();
  ASSERT_TRUE(ok);
  EXPECT_EQ(received, "30d40\r\n" + data + "\r\n");
}

TEST(ChunkWriter, AVanishedPeerIsAFailureNotASignal) {
  SocketPair pair;
  ::close(pair.reader);
  pair.reader = -1;
  // MSG_NOSIGNAL: EPIPE comes back as a return value instead of killing the process.
  EXPECT_FALSE(sendChunk(pair.writer, "data: x\n\n"));
}

TEST(ClearAndTrim, GivesBackLargeBuffersAndKeepsSmallOnes) {
  std::string small(100, 'a');
  const auto small_capacity = small.capacity();
  cosp::common::clearAndTrim(small);
  EXPECT_TRUE(small.empty());
  EXPECT_EQ(small.capacity(), small_capacity);
  std::string large(64 * 1024, 'b');
  cosp::common::clearAndTrim(large);
  EXPECT_TRUE(large.empty());
  EXPECT_LE(large.capacity(), 2048u);
}
