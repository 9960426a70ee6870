// Runs a real annalsd (or another server binary) as a child process on an ephemeral loopback
// port, reads the port from its first stdout line, and stops it with SIGTERM when done.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace annals::testing {

class ServerProcess {
 public:
  // Starts `binary args...`; waits for the "listening on HOST:PORT" line.
  ServerProcess(const std::string& binary, std::vector<std::string> args);
  ~ServerProcess();

  unsigned short port() const { return port_; }
  pid_t pid() const { return pid_; }
  // SIGTERM, then waits; returns the exit status (or -signal).
  int stop();
  // SIGKILL, then waits.
  void kill();

 private:
  pid_t pid_ = -1;
  unsigned short port_ = 0;
};

// Runs a command to completion; returns its exit code and stdout.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
CommandResult run_command(const std::string& binary, const std::vector<std::string>& args);

}  // namespace annals::testing
