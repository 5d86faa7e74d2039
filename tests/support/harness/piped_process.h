#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace cosp::test {

// A program started with pipes on its stdin and stdout (stderr is the test's), for the contract
// of the fakes' standalone programs: they print "LISTENING <port>" and stop at stdin EOF or on
// SIGTERM. Every wait has a deadline.
class PipedProcess {
 public:
  // Starts `binary` with `args` and the test's environment; pid() is -1 when it could not.
  PipedProcess(const std::string& binary, std::vector<std::string> args);
  ~PipedProcess();  // SIGKILLs and reaps the program if it still runs
  PipedProcess(const PipedProcess&) = delete;
  PipedProcess& operator=(const PipedProcess&) = delete;

  pid_t pid() const { return pid_; }
  // One line of its stdout without the '\n'; at the deadline or EOF, what came so far.
  std::string readLine(std::chrono::milliseconds timeout);
  // The port of a whole "LISTENING <port>" line, or 0.
  int waitListening(std::chrono::milliseconds timeout);
  void closeStdin();
  // The exit code (128 + the signal when one ended it), or -1 while it still runs at the deadline.
  int waitExit(std::chrono::milliseconds timeout);

 private:
  // Appends to `line` up to a '\n' (not kept); true when the line ended before the deadline.
  bool readLineInto(std::string& line, std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int stdin_ = -1;
  int stdout_ = -1;
};

}  // namespace cosp::test
