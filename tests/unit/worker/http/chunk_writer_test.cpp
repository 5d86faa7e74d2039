// sendChunk on socketpairs: framing, partial writes, a vanished peer, and the total deadline
// that a peer which stops reading (or reads a trickle) cannot stretch.
#include "worker/http/chunk_writer.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

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

TEST(ChunkWriter, APeerThatDoesNotReadIsGivenUpAtTheDeadline) {
  SocketPair pair;  // SO_SNDTIMEO is 5 s: it must play no part
  int small = 4096;
  ::setsockopt(pair.writer, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  ::setsockopt(pair.reader, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  const std::string data(4 << 20, 'x');
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(sendChunk(pair.writer, data, std::chrono::milliseconds(200)));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, std::chrono::milliseconds(200));
  EXPECT_LT(took, std::chrono::milliseconds(1500));
}

TEST(ChunkWriter, ATrickleReaderCannotStretchTheDeadline) {
  // With a per-write timeout (SO_SNDTIMEO) every partial write restarts the clock: a reader
  // taking 1 KiB every 10 ms would hold this 4 MiB chunk for 40 s. The deadline is for the
  // whole chunk.
  SocketPair pair;
  int small = 4096;
  ::setsockopt(pair.writer, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  ::setsockopt(pair.reader, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  std::atomic<std::size_t> received{0};
  std::thread reader([&] {
    char buf[1024];
    for (;;) {
      const ssize_t n = ::recv(pair.reader, buf, sizeof buf, 0);  // SO_RCVTIMEO bounds it
      if (n <= 0) return;
      received += static_cast<std::size_t>(n);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the trickle, not a sync
    }
  });
  const std::string data(4 << 20, 'x');
  const auto start = std::chrono::steady_clock::now();
  const bool ok = sendChunk(pair.writer, data, std::chrono::milliseconds(300));
  const auto took = std::chrono::steady_clock::now() - start;
  ::shutdown(pair.writer, SHUT_RDWR);  // the reader sees EOF once the buffers are drained
  reader.join();
  EXPECT_FALSE(ok);
  EXPECT_GE(took, std::chrono::milliseconds(300));
  EXPECT_LT(took, std::chrono::milliseconds(1500));
  EXPECT_GT(received.load(), 0u);  // it did make progress, and it did not help
  EXPECT_LT(received.load(), data.size());
}

TEST(ChunkWriter, AReaderThatKeepsUpFinishesWithinTheDeadline) {
  SocketPair pair;
  int small = 4096;
  ::setsockopt(pair.writer, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
  std::string received;
  std::thread reader([&] { received = pair.readAll(); });
  const std::string data(1 << 20, 'y');
  const bool ok = sendChunk(pair.writer, data, std::chrono::milliseconds(5000));
  ::shutdown(pair.writer, SHUT_WR);
  reader.join();
  ASSERT_TRUE(ok);
  EXPECT_EQ(received, "100000\r\n" + data + "\r\n");
}
