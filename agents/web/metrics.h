// The broker's counters in Prometheus' text exposition format (version 0.0.4), for
// dutyhub-web's /metrics. Ids, inbox names and field paths only: never a child's details.
#pragma once

#include <string>

#include "hub.pb.h"

namespace dutyhub::web {

std::string PrometheusText(const v1::MetricsReply& metrics);

}  // namespace dutyhub::web
