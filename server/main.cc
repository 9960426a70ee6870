// annalsd: the annals server (API §18.1).
#include <signal.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <thread>

#include "server/app.h"
#include "server/config_loader.h"
#include "server/http_server.h"

using namespace annals;

namespace {

constexpr const char* kUsage =
    "usage: annalsd [--config PATH] [--data DIR] [--listen HOST:PORT] [--log-level LEVEL]\n"
    "               [--set KNOB=VALUE]... [--check-config]\n";

void setup_logging(const Config& c) {
  auto logger = spdlog::stderr_color_mt("annals");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(c.log_level == "warning" ? "warn" : c.log_level));
  if (c.log_format == "json") {
    spdlog::set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%f+00:00","level":"%l","msg":"%v"})",
                        spdlog::pattern_time_type::utc);
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %v", spdlog::pattern_time_type::utc);
  }
}

}  // namespace

int main(int argc, char** argv) {
  server::ConfigSources sources;
  sources.environment = server::annals_environment();
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "annalsd: " << a << " needs a value\n" << kUsage;
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      return 0;
    } else if (a == "--version") {
      std::cout << "annalsd 0.1.0\n";
      return 0;
    } else if (a == "--config") {
      sources.file = value();
    } else if (a == "--data") {
      sources.overrides.emplace_back("data_dir", value());
    } else if (a == "--listen") {
      sources.overrides.emplace_back("listen", value());
    } else if (a == "--log-level") {
      sources.overrides.emplace_back("log_level", value());
    } else if (a == "--set") {
      const std::string kv = value();
      const auto eq = kv.find('=');
      if (eq == std::string::npos) {
        std::cerr << "annalsd: --set expects KNOB=VALUE\n";
        return 2;
      }
      sources.overrides.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
    } else if (a == "--check-config") {
      check_only = true;
    } else {
      std::cerr << "annalsd: unknown argument '" << a << "'\n" << kUsage;
      return 2;
    }
  }
  auto loaded = server::load_config(sources);
  if (!loaded) {
    std::cerr << "annalsd: invalid configuration: " << loaded.error() << "\n";
    return 2;
  }
  for (const auto& w : loaded->warnings) std::cerr << "annalsd: warning: " << w << "\n";
  const Config& config = loaded->config;
  if (check_only) {
    std::cout << server::describe_config(config);
    return 0;
  }
  setup_logging(config);

  // Signals are taken by one thread with sigwait; every other thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<server::App> app;
  try {
    app = std::make_unique<server::App>(config);
  } catch (const std::exception& e) {
    std::cerr << "annalsd: " << e.what() << "\n";
    return 3;
  }
  server::HttpServer http(*app);
  std::string host;
  unsigned short port = 0;
  server::split_listen(config.listen, host, port);
  try {
    port = http.bind(host, port);
  } catch (const std::exception& e) {
    std::cerr << "annalsd: cannot listen on " << config.listen << ": " << e.what() << "\n";
    return 1;
  }
  std::printf("annalsd listening on %s:%u (data %s, position %llu)\n", host.c_str(), port,
              config.data_dir.c_str(), static_cast<unsigned long long>(app->store().head()));
  std::fflush(stdout);
  spdlog::info("listening on {}:{} data={} position={}", host, port, config.data_dir,
               app->store().head());

  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (sig == 0) return;
    spdlog::info("signal {}: draining the writer and stopping", sig);
    app->shutdown();  // commits and replies to everything already queued
    http.stop();
  });
  const int threads = config.http_threads > 0
                          ? static_cast<int>(config.http_threads)
                          : static_cast<int>(std::thread::hardware_concurrency());
  http.run(std::max(1, threads));
  pthread_kill(signal_thread.native_handle(), SIGTERM);  // no-op if it already returned
  signal_thread.join();
  app.reset();
  spdlog::info("stopped");
  return 0;
}
