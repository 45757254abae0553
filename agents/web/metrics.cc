#include "agents/web/metrics.h"

#include <cstdio>
#include <sstream>

namespace dutyhub::web {
namespace {

// Label values are inbox names and field paths; escaped as the format requires anyway.
std::string Label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

std::string Number(double value) {
  char text[64];
  std::snprintf(text, sizeof text, "%.6g", value);
  return text;
}

void Head(std::ostringstream& out, const char* name, const char* type, const char* help) {
  out << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n";
}

void HistogramLines(std::ostringstream& out, const char* name, const v1::Histogram& h) {
  for (int i = 0; i < h.counts_size() && i < h.upper_bounds_seconds_size(); ++i) {
    out << name << "_bucket{le=\"" << Number(h.upper_bounds_seconds(i)) << "\"} " << h.counts(i)
        << "\n";
  }
  out << name << "_bucket{le=\"+Inf\"} " << h.count() << "\n";
  out << name << "_sum " << Number(h.sum_seconds()) << "\n";
  out << name << "_count " << h.count() << "\n";
}

}  // namespace

std::string PrometheusText(const v1::MetricsReply& m) {
  std::ostringstream out;
  Head(out, "dutyhub_publishes_total", "counter",
       "Notifications accepted and stored since the broker started.");
  out << "dutyhub_publishes_total " << m.publishes() << "\n";
  Head(out, "dutyhub_duplicate_publishes_total", "counter",
       "Retries of a stored notification, answered with the first answer.");
  out << "dutyhub_duplicate_publishes_total " << m.duplicates() << "\n";
  Head(out, "dutyhub_rejections_total", "counter", "Notifications refused, by reason.");
  for (const char* reason : {"invalid", "not_permitted", "unreadable"}) {
    int64_t count = 0;
    for (const auto& r : m.rejections()) {
      if (r.label() == reason) count = r.count();
    }
    out << "dutyhub_rejections_total{reason=\"" << reason << "\"} " << count << "\n";
  }
  Head(out, "dutyhub_rejected_fields_total", "counter",
       "Rule violations in refused notifications, by field.");
  for (const auto& r : m.rejected_fields()) {
    out << "dutyhub_rejected_fields_total{field=\"" << Label(r.label()) << "\"} " << r.count()
        << "\n";
  }
  Head(out, "dutyhub_outstanding_items", "gauge",
       "Items not yet acknowledged, by inbox and escalation level.");
  for (const auto& o : m.outstanding()) {
    out << "dutyhub_outstanding_items{inbox=\"" << Label(o.inbox()) << "\",level=\""
        << o.escalation_level() << "\"} " << o.count() << "\n";
  }
  Head(out, "dutyhub_time_to_acknowledge_seconds", "histogram",
       "From delivery to acknowledgement, for each acknowledgement committed since the broker "
       "started.");
  HistogramLines(out, "dutyhub_time_to_acknowledge_seconds", m.time_to_acknowledge());
  Head(out, "dutyhub_escalation_steps_total", "counter",
       "Escalation steps (escalations, re-notifications, hand-overs) since the broker started.");
  out << "dutyhub_escalation_steps_total " << m.escalations() << "\n";
  Head(out, "dutyhub_engine_lag_seconds", "gauge",
       "How late the latest escalation step fired against its deadline.");
  out << "dutyhub_engine_lag_seconds " << Number(static_cast<double>(m.engine_lag_ms()) / 1000.0)
      << "\n";
  Head(out, "dutyhub_store_commit_seconds", "histogram",
       "How long each store transaction's COMMIT (its fsync) took, since the broker started.");
  HistogramLines(out, "dutyhub_store_commit_seconds", m.commit_latency());
  Head(out, "dutyhub_write_transactions_total", "counter",
       "Store transactions committed since the broker started.");
  out << "dutyhub_write_transactions_total " << m.write_transactions() << "\n";
  return out.str();
}

}  // namespace dutyhub::web
