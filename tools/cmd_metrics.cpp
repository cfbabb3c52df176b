// shmcast metrics NAME...: the rings' figures in the Prometheus text format
// (common/prometheus.hpp), printed once or served over HTTP with --listen
// (common/http_server.hpp). Every figure comes from shared memory, so the producer is
// never asked.
#include "commands.hpp"
#include "common/advice.hpp"
#include "common/format.hpp"
#include "common/http_server.hpp"
#include "common/prometheus.hpp"
#include "common/stop.hpp"

#include <shmcast/error.hpp>
#include <shmcast/inspect.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>

namespace shmcast::cli {

namespace {

struct MetricsArgs {
  std::vector<std::string> names;
  std::optional<std::string> listen;
};

// One RingObserver per ring name, kept from scrape to scrape (--listen); a ring is mapped
// afresh when its name holds another ring (removed or recreated).
class Observers {
 public:
  RingStatus sample(const std::string& name) {
    auto it = observers_.find(name);
    if (it != observers_.end() && it->second.replaced()) {
      observers_.erase(it);
      it = observers_.end();
    }
    if (it == observers_.end()) it = observers_.emplace(name, RingObserver(name)).first;
    return it->second.sample();
  }

 private:
  std::map<std::string, RingObserver> observers_;
};

std::string ring_list(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "'" : ", '") + printable(n) + "'";
  return out;
}

void serve_metrics(const MetricsArgs& a) {
  (void)parse_listen(*a.listen);  // a usage error before anything else
  Observers observers;
  const auto metrics = [&] {
    return render(a.names, [&](const std::string& name) { return observers.sample(name); }, nullptr);
  };
  (void)metrics();  // usage errors (bad names) before serving anything
  serve(
      *a.listen,
      [&](const Listening& l) {
        std::fprintf(stderr, "shmcast metrics: serving %s%s for ring %s\n", l.url.c_str(),
                     l.all_interfaces ? " (all interfaces)" : "", ring_list(a.names).c_str());
        std::fflush(stderr);
      },
      metrics);
}

void print_metrics(const MetricsArgs& a) {
  std::vector<Error> errors;
  const std::string text = render(a.names, [](const std::string& name) { return inspect(name); }, &errors);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
  for (const Error& e : errors) std::fprintf(stderr, "shmcast metrics: %s\n", printable(error_line(e, "metrics")).c_str());
  if (!errors.empty()) throw CLI::RuntimeError(1);
}

void run_metrics(MetricsArgs a) {
  // A name given twice would repeat its series, and Prometheus rejects a whole scrape for that.
  std::vector<std::string> names;
  for (std::string& n : a.names)
    if (std::find(names.begin(), names.end(), n) == names.end()) names.push_back(std::move(n));
  a.names = std::move(names);
  install_stop_handlers();
  if (a.listen) serve_metrics(a);
  else print_metrics(a);
}

}  // namespace

void add_metrics_command(CLI::App& app) {
  auto args = std::make_shared<MetricsArgs>();
  CLI::App* sub = app.add_subcommand("metrics", "Print or serve (--listen) rings' metrics in the Prometheus text format");
  sub->footer(
      "Metric names are shmcast_* with a `ring` label; per-reader series add `reader` (the registry slot), "
      "`label` and `pid`. Printed once, or served at http://HOST:PORT/metrics with --listen until interrupted. "
      "A ring that cannot be read has shmcast_up 0 (and, when printing once, exit code 1).");
  sub->add_option("name", args->names, "Ring names")->required();
  sub->add_option("--listen", args->listen,
                  "Serve GET /metrics over HTTP on HOST:PORT (e.g. 127.0.0.1:9464), :PORT (all interfaces, e.g. "
                  ":9464) or [IPV6]:PORT; PORT is 0 to 65535, 0 picks a free one (the URL is printed on standard "
                  "error). Connections are served concurrently, each read or write limited to 10 s");
  sub->callback([args] { run_metrics(*args); });
}

}  // namespace shmcast::cli
