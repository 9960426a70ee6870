// The one config loader (SPEC §8, API §18.1): defaults < YAML file < ANNALS_* environment <
// --set/flags. Unknown keys are warnings; a wrong type or out-of-range value is an error naming
// the key.
#pragma once

#include <expected>
#include <string>
#include <utility>
#include <vector>

#include "domain/config.h"

namespace annals::server {

struct ConfigSources {
  std::string file;  // empty: config/annals.yaml when it exists, else defaults only
  std::vector<std::pair<std::string, std::string>> environment;  // ANNALS_* pairs
  std::vector<std::pair<std::string, std::string>> overrides;    // --set, --data, --listen, ...
};

struct LoadedConfig {
  Config config;
  std::vector<std::string> warnings;
};

std::expected<LoadedConfig, std::string> load_config(const ConfigSources& sources);

// The ANNALS_* variables of the process environment.
std::vector<std::pair<std::string, std::string>> annals_environment();

// The effective knobs as YAML (tokens shown by name and role only).
std::string describe_config(const Config& c);

// "host:port" → parts; false when malformed.
bool split_listen(const std::string& listen, std::string& host, unsigned short& port);
bool is_loopback_host(const std::string& host);

}  // namespace annals::server
